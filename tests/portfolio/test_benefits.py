"""Benefit achievement, status and planned vs realised, with hand-computed expectations."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from veiviser.errors import VeiviserError
from veiviser.portfolio.benefits import (
    BenefitRules,
    achievement,
    analyse_benefits,
    clamp_for_drawing,
    planned_vs_realised,
)
from veiviser.portfolio.frames import FrameError
from veiviser.portfolio.words import NO_YEAR


@pytest.mark.parametrize(
    ("start", "desired", "measured", "pct", "achieved", "direction"),
    [
        (60_000, 50_000, 59_000, 10.0, False, "decrease"),  # model section 6 example
        (100, 0, 10, 90.0, False, "decrease"),
        (0, 100, 115, 115.0, True, "increase"),  # over-delivery kept
        (20, 60, 15, -12.5, False, "increase"),  # wrong way kept
        (10, 20, 20, 100.0, True, "increase"),
        (80, 40, 30, 125.0, True, "decrease"),
    ],
)
def test_achievement_formula(start, desired, measured, pct, achieved, direction):
    a = achievement(start, desired, measured)
    assert a.status == "measured"
    assert a.pct == pytest.approx(pct)
    assert a.achieved is achieved
    assert a.direction == direction


@pytest.mark.parametrize(
    ("measured", "direction", "achieved"),
    [
        (55, "increase", True),
        (50, "increase", True),
        (45, "increase", False),
        (45, "decrease", True),
        (55, "decrease", False),
        (50, "hold", True),
        (55, "hold", False),
    ],
)
def test_target_equals_baseline_never_inf_or_nan(measured, direction, achieved):
    a = achievement(50, 50, measured, equal_target_direction=direction)
    assert a.status == "target equals baseline"
    assert a.pct is None
    assert a.achieved is achieved


@pytest.mark.parametrize("values", [(None, 10, 5), (0, float("nan"), 5), (0, 10, None), ("", 10, 5)])
def test_missing_values_not_measurable(values):
    a = achievement(*values)
    assert a.status == "not measurable"
    assert a.pct is None and a.achieved is None


def test_clamp_only_for_drawing():
    s = pd.Series([115.0, -12.5, 50.0])
    assert clamp_for_drawing(s).tolist() == [100.0, 0.0, 50.0]
    assert s.tolist() == [115.0, -12.5, 50.0]
    assert clamp_for_drawing(130.0) == 100.0


def _frames():
    benefits = pd.DataFrame(
        [
            # b1: two indicators, one achieved, one on track (no realisation time)
            dict(
                project_key="p1",
                project_title="P1",
                source_key="b1",
                item_id="1",
                Title="Spart tid",
                GtGainsType="Indirekte",
                GtGainsOwner={"Title": "Kari"},
                GtGainsResponsible=None,
                GtRealizationTime=None,
            ),
            # b2: no indicators, no owner
            dict(
                project_key="p1",
                project_title="P1",
                source_key="b2",
                item_id="2",
                Title="Omdømme",
                GtGainsType="Kvalitativ",
                GtGainsOwner=None,
                GtGainsResponsible=None,
                GtRealizationTime=None,
            ),
            # b3: realisation time passed, not achieved -> behind
            dict(
                project_key="p2",
                project_title="P2",
                source_key="b3",
                item_id="1",
                Title="Kroner spart",
                GtGainsType="Direkte",
                GtGainsOwner=None,
                GtGainsResponsible="Ola",
                GtRealizationTime="2024-06-30",
            ),
            # b4: indicator without measurements
            dict(
                project_key="p2",
                project_title="P2",
                source_key="b4",
                item_id="2",
                Title="Færre klager",
                GtGainsType="Kvalitativ",
                GtGainsOwner="Ola",
                GtGainsResponsible=None,
                GtRealizationTime="2026-12-31",
            ),
            # b5: stale indicator
            dict(
                project_key="p3",
                project_title="P3",
                source_key="b5",
                item_id="1",
                Title="Stille",
                GtGainsType="Direkte",
                GtGainsOwner="Kari",
                GtGainsResponsible=None,
                GtRealizationTime=None,
            ),
        ]
    )
    indicators = pd.DataFrame(
        [
            dict(
                project_key="p1",
                source_key="i1",
                item_id="1",
                Title="Timer",
                benefit_key="b1",
                GtStartValue=100,
                GtDesiredValue=200,
                GtMeasurementUnit="Timer",
            ),
            dict(
                project_key="p1",
                source_key="i2",
                item_id="2",
                Title="Saksbehandlingstid",
                benefit_key="b1",
                GtStartValue=60_000,
                GtDesiredValue=50_000,
                GtMeasurementUnit="Kroner",
            ),
            dict(
                project_key="p2",
                source_key="i3",
                item_id="1",
                Title="Kostnad",
                benefit_key="b3",
                GtStartValue=1000,
                GtDesiredValue=500,
                GtMeasurementUnit="Kroner",
            ),
            dict(
                project_key="p2",
                source_key="i4",
                item_id="2",
                Title="Klager",
                benefit_key="b4",
                GtStartValue=40,
                GtDesiredValue=20,
                GtMeasurementUnit="Antall",
            ),
            dict(
                project_key="p3",
                source_key="i5",
                item_id="1",
                Title="Gammel",
                benefit_key="b5",
                GtStartValue=0,
                GtDesiredValue=10,
                GtMeasurementUnit="Antall",
            ),
        ]
    )
    measurements = pd.DataFrame(
        [
            # i1: latest by date is 2025-03-01 (250 -> 150 %), listed out of order on purpose
            dict(
                project_key="p1",
                source_key="m2",
                item_id="2",
                indicator_key="i1",
                GtMeasurementDate="2025-03-01",
                GtMeasurementValue=250,
            ),
            dict(
                project_key="p1",
                source_key="m1",
                item_id="1",
                indicator_key="i1",
                GtMeasurementDate="2025-01-01",
                GtMeasurementValue=150,
            ),
            # a future measurement (after as_of) is ignored
            dict(
                project_key="p1",
                source_key="m9",
                item_id="9",
                indicator_key="i1",
                GtMeasurementDate="2025-12-01",
                GtMeasurementValue=90,
            ),
            # i2: 59 000 -> 10 %, no realisation time, positive -> on track
            dict(
                project_key="p1",
                source_key="m3",
                item_id="3",
                indicator_key="i2",
                GtMeasurementDate="2025-04-01",
                GtMeasurementValue=59_000,
            ),
            # i3: 900 -> 20 %, due 2024-06-30 < as_of -> behind
            dict(
                project_key="p2",
                source_key="m4",
                item_id="4",
                indicator_key="i3",
                GtMeasurementDate="2025-04-01",
                GtMeasurementValue=900,
            ),
            # i5: last measured 2024-01-01, 8 -> 80 %, > 180 days before as_of -> stale
            dict(
                project_key="p3",
                source_key="m5",
                item_id="5",
                indicator_key="i5",
                GtMeasurementDate="2024-01-01",
                GtMeasurementValue=8,
            ),
        ]
    )
    return benefits, indicators, measurements


AS_OF = "2025-06-01"


def test_analyse_statuses():
    a = analyse_benefits(*_frames(), as_of=AS_OF)
    ind = a.indicators.set_index("source_key")
    assert ind.loc["i1", "current_pct"] == pytest.approx(150.0)
    assert ind.loc["i1", "current_date"] == pd.Timestamp("2025-03-01")
    assert ind.loc["i1", "measurement_count"] == 2  # the 2025-12-01 one is after as_of
    assert ind.loc["i1", "status"] == "achieved"
    assert ind.loc["i2", "current_pct"] == pytest.approx(10.0)
    assert ind.loc["i2", "status"] == "on track"
    assert ind.loc["i3", "status"] == "behind"
    assert ind.loc["i4", "status"] == "no measurements"
    assert ind.loc["i5", "status"] == "stale"
    ben = a.benefits.set_index("source_key")
    assert ben["status"].to_dict() == {
        "b1": "on track",  # worst of achieved + on track
        "b2": "no indicators",
        "b3": "behind",
        "b4": "no measurements",
        "b5": "stale",
    }
    assert ben.loc["b1", "owner"] == "Kari"
    assert ben.loc["b3", "owner"] == "Ola"  # falls back to Gevinstansvarlig
    gaps = {(g, k) for g, k in zip(a.gaps["gap"], a.gaps["source_key"], strict=True)}
    assert gaps == {
        ("benefit without indicators", "b2"),
        ("benefit without owner", "b2"),
        ("indicator without measurements", "i4"),
        ("stale indicator", "i5"),
    }


def test_stale_threshold_configurable():
    a = analyse_benefits(*_frames(), as_of=AS_OF, rules=BenefitRules(stale_after_days=1000))
    assert a.indicators.set_index("source_key").loc["i5", "status"] == "on track"


def test_trend_and_series_kept():
    a = analyse_benefits(*_frames(), as_of=AS_OF)
    m = a.measurements[a.measurements["indicator_key"] == "i1"]
    assert m["source_key"].tolist() == ["m1", "m2"]
    assert m["achievement_pct"].tolist() == [pytest.approx(50.0), pytest.approx(150.0)]
    assert m["trend"].tolist() == [None, "up"]
    assert m["is_current"].tolist() == [False, True]


def test_behind_linear_expectation():
    ben = pd.DataFrame(
        [dict(project_key="p", source_key="b", item_id="1", Title="B", GtRealizationTime="2025-12-31")]
    )
    ind = pd.DataFrame(
        [
            dict(
                project_key="p",
                source_key="i",
                item_id="1",
                Title="I",
                benefit_key="b",
                GtStartValue=0,
                GtDesiredValue=100,
                GtMeasurementUnit="Antall",
            )
        ]
    )

    def status(second_value):
        meas = pd.DataFrame(
            [
                dict(
                    project_key="p",
                    source_key="m1",
                    item_id="1",
                    indicator_key="i",
                    GtMeasurementDate="2025-01-01",
                    GtMeasurementValue=0,
                ),
                dict(
                    project_key="p",
                    source_key="m2",
                    item_id="2",
                    indicator_key="i",
                    GtMeasurementDate="2025-07-02",
                    GtMeasurementValue=second_value,
                ),
            ]
        )
        return analyse_benefits(ben, ind, meas, as_of="2025-07-03").indicators.loc[0, "status"]

    # 182 of 364 days elapsed -> expected 50 %, tolerance 10 -> behind below 40 %
    assert status(41) == "on track"
    assert status(39) == "behind"


def test_not_measurable_is_finding():
    ben, ind, meas = _frames()
    ind.loc[ind["source_key"] == "i2", "GtStartValue"] = None
    a = analyse_benefits(ben, ind, meas, as_of=AS_OF)
    assert a.indicators.set_index("source_key").loc["i2", "status"] == "not measurable"
    codes = a.findings_frame
    hit = codes[(codes["code"] == "not-measurable") & (codes["item"] == "m3")]
    assert hit["field"].tolist() == ["GtStartValue"]
    assert not any(math.isinf(x) for x in a.measurements["achievement_pct"].dropna())


def test_planned_vs_realised_by_unit():
    a = analyse_benefits(*_frames(), as_of=AS_OF)
    t = planned_vs_realised(a, by=("owner",))
    rows = {
        (o, u): r for o, u, r in zip(t["owner"], t["GtMeasurementUnit"], t.to_dict("records"), strict=True)
    }
    # Kari, Kroner: i2 planned -10 000, realised -1 000
    assert rows[("Kari", "Kroner")]["planned"] == -10_000
    assert rows[("Kari", "Kroner")]["realised"] == -1_000
    assert rows[("Kari", "Kroner")]["realised_pct"] == pytest.approx(10.0)
    # Kari, Timer (i1) and Kari, Antall (i5) are separate rows: units never added
    assert rows[("Kari", "Timer")]["realised"] == 150
    assert rows[("Kari", "Antall")]["planned"] == 10
    # Ola, Antall: i4 has no measurement: planned 20→ -20, realised empty
    assert rows[("Ola", "Antall")]["planned"] == -20
    assert pd.isna(rows[("Ola", "Antall")]["realised"])
    assert rows[("Ola", "Kroner")]["realised_pct"] == pytest.approx(20.0)


def test_planned_vs_realised_by_year():
    a = analyse_benefits(*_frames(), as_of=AS_OF)
    t = planned_vs_realised(a, by=("year",))
    years = set(t["year"])
    assert years == {2024, 2026, NO_YEAR}


def test_empty_portfolio():
    a = analyse_benefits(None, None, None, as_of=AS_OF)
    assert a.benefits.empty and a.indicators.empty and a.gaps.empty
    assert planned_vs_realised(a).empty


def test_missing_required_column_names_frame_and_column():
    ben, ind, meas = _frames()
    with pytest.raises(FrameError, match=r"'indicators' lacks required column\(s\): benefit_key"):
        analyse_benefits(ben, ind.drop(columns="benefit_key"), meas, as_of=AS_OF)


def test_bad_as_of():
    with pytest.raises(VeiviserError, match="as_of"):
        analyse_benefits(*_frames(), as_of="not a date")

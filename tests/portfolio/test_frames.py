"""Input-frame validation: required/optional columns, coercion findings, phases, people, renames."""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio import frames
from veiviser.portfolio.frames import FrameError, normalise_phase, person_name, prepare


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("Gjennomføre", "Gjennomføre"),
        ({"Label": "Konsept", "TermGuid": "99e85650-33de-4af4-b8db-edffbc8a310b", "WssId": 3}, "Konsept"),
        ("Planlegge|cda4f1e1-3488-4e57-8a04-6973df239689", "Planlegge"),
        ("-1;#Realisere|b7ba84f0-70b9-45c4-8c50-8f73bf15bbec", "Realisere"),
        (None, None),
        ("", None),
    ],
)
def test_normalise_phase(value, label):
    assert normalise_phase(value) == label


def test_person_name():
    assert person_name({"Title": "Kari Nordmann", "EMail": "k@x"}) == "Kari Nordmann"
    assert person_name({"EMail": "k@x"}) == "k@x"
    assert person_name(None) is None


def test_prepare_projects_optional_and_phase():
    df = prepare(
        "projects",
        pd.DataFrame([{"project_key": "p1", "project_title": "P1", "GtProjectPhase": {"Label": "Idé"}}]),
    )
    assert df.loc[0, "GtProjectPhase"] == "Idé"
    assert "GtProjectLifecycleStatus" in df.columns and pd.isna(df.loc[0, "GtProjectLifecycleStatus"])


def test_unreadable_values_become_findings():
    findings = []
    df = prepare(
        "indicators",
        pd.DataFrame(
            [
                dict(
                    project_key="p",
                    source_key="i1",
                    item_id="1",
                    Title="T",
                    benefit_key="b",
                    GtStartValue="ti",
                    GtDesiredValue="12",
                )
            ]
        ),
        findings=findings,
    )
    assert pd.isna(df.loc[0, "GtStartValue"]) and df.loc[0, "GtDesiredValue"] == 12
    assert [(f.code, f.item, f.field) for f in findings] == [("unreadable-value", "i1", "GtStartValue")]


def test_missing_required_and_renames(monkeypatch):
    raw = pd.DataFrame([dict(site_id="p", source_key="s", item_id="1", Title="T")])
    with pytest.raises(FrameError, match="'stakeholders' lacks required column\\(s\\): project_key") as exc:
        prepare("stakeholders", raw)
    assert "COLUMN_RENAMES" in exc.value.hint
    monkeypatch.setitem(frames.COLUMN_RENAMES, "stakeholders", {"site_id": "project_key"})
    assert prepare("stakeholders", raw).loc[0, "project_key"] == "p"
    assert (
        prepare("stakeholders", raw.rename(columns={"site_id": "x"}), renames={"x": "project_key"}).loc[
            0, "project_key"
        ]
        == "p"
    )
    with pytest.raises(FrameError, match="must be a pandas DataFrame"):
        prepare("risks", [1, 2])


def test_source_frames_derive_from_the_catalogue():
    """The frames of the five source kinds, as the field catalogue derives them from the template."""
    risks = frames.FRAME_SPECS["risks"]
    assert risks.text == (
        "project_title",
        "GtRiskDescription",
        "GtRiskProximity",
        "GtRiskAction",
        "GtRiskStrategy",
        "GtRiskStatus",
    )
    assert risks.numbers == (
        "GtRiskProbability",
        "GtRiskConsequence",
        "GtRiskFactor",
        "GtRiskProbabilityPostAction",
        "GtRiskConsequencePostAction",
        "GtRiskFactorPostAction",
    )
    assert (risks.booleans, risks.people, risks.phases) == (
        ("GtShowInPortfolio",),
        ("GtActionResponsible",),
        ("GtProjectPhase",),
    )
    benefits = frames.FRAME_SPECS["benefits"]
    assert benefits.text == (
        "project_title",
        "GtGainsType",
        "GtPrereqProfitAchievement",
        "GtGainsTurnover",
        "GtGainsGoal",  # the optional goal of the benefit tree (docs/portfolio.md)
    )
    assert (benefits.dates, benefits.people) == (
        ("GtRealizationTime",),
        ("GtGainsResponsible", "GtGainsOwner"),
    )
    indicators = frames.FRAME_SPECS["indicators"]
    assert (indicators.text, indicators.numbers) == (
        ("project_title", "GtMeasurementUnit"),
        ("GtStartValue", "GtDesiredValue"),
    )
    measurements = frames.FRAME_SPECS["measurements"]
    assert measurements.text == ("project_title", "Title", "benefit_key", "GtMeasurementComment")
    assert (measurements.numbers, measurements.dates) == (("GtMeasurementValue",), ("GtMeasurementDate",))
    assert len(frames.FRAME_SPECS["stakeholders"].text) == 8
    assert all(type(c) is str for spec in frames.FRAME_SPECS.values() for c in (spec.name, *spec.optional))


def test_numbers_in_norwegian_format_are_read():
    row = {"project_key": "p", "source_key": "i1", "item_id": "1", "Title": "T", "benefit_key": "b"}
    df = prepare(
        "indicators", pd.DataFrame([{**row, "GtStartValue": "1 151,5", "GtDesiredValue": "1.151,5"}])
    )
    assert (df.loc[0, "GtStartValue"], df.loc[0, "GtDesiredValue"]) == (1151.5, 1151.5)

"""Change over time on a small hand-written history frame."""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio.frames import FrameError
from veiviser.portfolio.history import changes_since, target_moves, value_series

NaT = None


def _v(key, kind, start, end, *, deleted=False, **values):
    return dict(
        source_key=key,
        kind=kind,
        project_key="p1",
        project_title="P1",
        valid_from=start,
        valid_to=end,
        deleted=deleted,
        **values,
    )


def _history():
    return pd.DataFrame(
        [
            # r1: existed before, changed probability after since
            _v(
                "r1",
                "risks",
                "2025-01-01",
                "2025-03-01",
                Title="Leverandør",
                GtRiskProbability=2,
                GtRiskStatus="Identifisert",
            ),
            _v(
                "r1",
                "risks",
                "2025-03-01",
                NaT,
                Title="Leverandør",
                GtRiskProbability=4,
                GtRiskStatus="Identifisert",
            ),
            # r2: closed after since
            _v(
                "r2",
                "risks",
                "2025-01-01",
                "2025-03-05",
                Title="Nøkkelperson",
                GtRiskProbability=3,
                GtRiskStatus="Identifisert",
            ),
            _v(
                "r2",
                "risks",
                "2025-03-05",
                NaT,
                Title="Nøkkelperson",
                GtRiskProbability=3,
                GtRiskStatus="Ikke lenger aktuell",
            ),
            # r3: new after since
            _v(
                "r3", "risks", "2025-03-10", NaT, Title="Ny", GtRiskProbability=1, GtRiskStatus="Identifisert"
            ),
            # r4: unchanged since before since
            _v(
                "r4",
                "risks",
                "2025-01-01",
                NaT,
                Title="Stille",
                GtRiskProbability=1,
                GtRiskStatus="Identifisert",
            ),
            # b1: benefit deleted after since
            _v("b1", "benefits", "2025-01-01", "2025-04-01", Title="Gevinst"),
            _v("b1", "benefits", "2025-04-01", NaT, deleted=True, Title="Gevinst"),
            # i1: indicator target moved 100 -> 120 -> 120 (owner edit of other field) -> 90
            _v(
                "i1",
                "indicators",
                "2025-01-01",
                "2025-02-01",
                Title="Timer",
                benefit_key="b1",
                GtDesiredValue=100,
                GtStartValue=0,
            ),
            _v(
                "i1",
                "indicators",
                "2025-02-01",
                "2025-02-15",
                Title="Timer",
                benefit_key="b1",
                GtDesiredValue=120,
                GtStartValue=0,
            ),
            _v(
                "i1",
                "indicators",
                "2025-02-15",
                "2025-05-01",
                Title="Timer",
                benefit_key="b1",
                GtDesiredValue=120,
                GtStartValue=5,
            ),
            _v(
                "i1",
                "indicators",
                "2025-05-01",
                NaT,
                Title="Timer",
                benefit_key="b1",
                GtDesiredValue=90,
                GtStartValue=5,
            ),
            _v(
                "i2",
                "indicators",
                "2025-01-01",
                NaT,
                Title="Fast",
                benefit_key="b1",
                GtDesiredValue=10,
                GtStartValue=0,
            ),
        ]
    )


def test_changes_since():
    c = changes_since(_history(), "2025-02-20")
    got = {(k, ch): f for k, ch, f in zip(c["source_key"], c["change"], c["changed_fields"], strict=True)}
    assert got == {
        ("r1", "changed"): ["GtRiskProbability"],
        ("r2", "closed"): ["GtRiskStatus"],
        ("r3", "new"): [],
        ("b1", "deleted"): [],
    }
    row = c[c["source_key"] == "r1"].iloc[0]
    assert row["before"] == {"GtRiskProbability": 2} and row["after"] == {"GtRiskProbability": 4}


def test_changes_since_with_as_of_and_kinds():
    c = changes_since(_history(), "2025-02-20", as_of="2025-03-06")
    assert sorted(c["source_key"]) == ["r1", "r2"]  # r3 (03-10) and b1 deletion (04-01) are later
    c = changes_since(_history(), "2025-01-15", kinds=["indicator"])
    assert c[["source_key", "change"]].values.tolist() == [["i1", "changed"]]
    assert sorted(c.iloc[0]["changed_fields"]) == ["GtDesiredValue", "GtStartValue"]


def test_target_series_and_moves():
    s = value_series(_history(), kind="indicators", field="GtDesiredValue")
    i1 = s[s["source_key"] == "i1"]
    assert i1["value"].tolist() == [100, 120, 90]  # the 02-15 version did not move the target
    assert i1["valid_from"].dt.strftime("%Y-%m-%d").tolist() == ["2025-01-01", "2025-02-01", "2025-05-01"]
    m = target_moves(_history()).set_index("source_key")
    assert (
        m.loc["i1", "first_target"],
        m.loc["i1", "latest_target"],
        m.loc["i1", "change"],
        m.loc["i1", "moves"],
    ) == (100, 90, -10, 2)
    assert m.loc["i1", "benefit_key"] == "b1"
    assert m.loc["i2", "moves"] == 0 and pd.isna(m.loc["i2", "last_moved"])


def test_empty_and_bad_history():
    assert changes_since(None, "2025-01-01").empty
    assert target_moves(None).empty
    with pytest.raises(FrameError, match="'history' lacks required column"):
        changes_since(pd.DataFrame({"source_key": ["x"]}), "2025-01-01")

"""Empty selections in the risk, stakeholder and benefit analytics.

``Series.map`` on an empty series returns dtype object, and ``df[object_series]`` selects columns,
not rows; every function must still return its usual columns when a selection is empty.
"""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio.benefits import analyse_benefits, planned_vs_realised
from veiviser.portfolio.risks import (
    matrix_grid,
    opportunities,
    risk_matrix,
    risk_summary,
    risks_without_owner,
    unacceptable_risks,
)
from veiviser.portfolio.stakeholders import influence_grid, shared_stakeholders, stakeholder_counts

SUMMARY_COLUMNS = [
    "project_key",
    "project_title",
    "open_risks",
    "unacceptable",
    "without_owner",
    "not_assessed",
    "open_opportunities",
    "max_factor",
]


def _row(key, s, k, *, ct, project="p1", status="Identifisert", owner="Per"):
    return dict(
        project_key=project,
        project_title=project.upper(),
        source_key=key,
        item_id=key[-1],
        Title=f"T{key}",
        ContentType=ct,
        GtRiskProbability=s,
        GtRiskConsequence=k,
        GtRiskStatus=status,
        GtActionResponsible=owner,
    )


def _only_opportunities():
    return pd.DataFrame(
        [_row("r1", 4, 4, ct="Mulighet"), _row("r2", 2, 3, ct="Mulighet", project="p2", owner=None)]
    )


def test_summary_with_only_opportunities():
    s = risk_summary(_only_opportunities())
    assert list(s.columns) == SUMMARY_COLUMNS
    by = s.set_index("project_key")
    assert sorted(by.index) == ["p1", "p2"]
    assert by["open_risks"].tolist() == [0, 0]
    assert by["unacceptable"].sum() == 0 and by["without_owner"].sum() == 0 and by["not_assessed"].sum() == 0
    assert by.loc["p1", "open_opportunities"] == 1 and by.loc["p2", "open_opportunities"] == 1
    assert by["max_factor"].isna().all()


@pytest.mark.parametrize(
    "rows",
    [
        [_row("r1", 4, 4, ct="Risiko", status="Ikke lenger aktuell")],  # every risk closed
        [_row("r1", 4, 4, ct="Element")],  # unknown content type only (left out, with a finding)
    ],
    ids=["all-closed", "unknown-content-type"],
)
def test_summary_with_no_open_risk(rows):
    s = risk_summary(pd.DataFrame(rows))
    assert list(s.columns) == SUMMARY_COLUMNS
    assert (
        s["project_key"].tolist() == ["p1"]
        and s.loc[0, "open_risks"] == 0
        and s.loc[0, "open_opportunities"] == 0
    )


@pytest.mark.parametrize(
    "frame", [None, pd.DataFrame(columns=list(_row("r1", 1, 1, ct="Risiko")))], ids=["none", "zero-rows"]
)
def test_zero_rows_everywhere(frame):
    assert list(risk_summary(frame).columns) == SUMMARY_COLUMNS and risk_summary(frame).empty
    for fn in (unacceptable_risks, risks_without_owner, opportunities):
        out = fn(frame)
        assert out.empty and "project_key" in out.columns
    for kind in ("Risiko", "Mulighet"):
        m = risk_matrix(frame, kind=kind, by_project=True)
        assert m.cells.empty and m.outside.empty and "project_key" in m.outside.columns
        assert matrix_grid(risk_matrix(frame, kind=kind)).values.sum() == 0


def test_lists_and_matrices_with_only_opportunities():
    df = _only_opportunities()
    assert unacceptable_risks(df).empty and risks_without_owner(df).empty
    assert opportunities(df)["source_key"].tolist() == ["r1", "r2"]
    m = risk_matrix(df, kind="Risiko", stage="after", by_project=True)
    assert m.cells.empty and m.outside.empty
    grid = matrix_grid(risk_matrix(df, kind="Mulighet"))
    assert grid.loc[4, 4] == 1 and grid.loc[2, 3] == 1
    # Post-action values are all missing: nothing placed, both listed outside as not assessed.
    after = risk_matrix(df, kind="Mulighet", stage="after")
    assert after.cells["count"].sum() == 0 and sorted(after.outside["source_key"]) == ["r1", "r2"]


def _stakeholder(key, title):
    return dict(project_key="p1", project_title="P1", source_key=key, item_id=key[-1], Title=title)


@pytest.mark.parametrize(
    "frame",
    [None, pd.DataFrame([_stakeholder("s1", None), _stakeholder("s2", "  ")])],
    ids=["none", "blank-titles"],
)
def test_stakeholders_empty_selections(frame):
    assert list(shared_stakeholders(frame).columns)[:2] == ["stakeholder", "projects"]
    assert shared_stakeholders(frame).empty
    assert influence_grid(frame, project_key="other").values.sum() == 0
    counts = stakeholder_counts(frame)
    assert list(counts.columns) == ["GtStakeholderGroup", "stakeholders", "projects"]


def test_benefits_with_only_orphan_or_future_measurements():
    k = dict(project_key="p1", project_title="P1", item_id="1")
    ben = pd.DataFrame([{**k, "source_key": "b1", "Title": "B", "GtGainsOwner": "Ola"}])
    ind = pd.DataFrame(
        [
            {
                **k,
                "source_key": "i1",
                "Title": "I",
                "benefit_key": "b1",
                "GtStartValue": 0,
                "GtDesiredValue": 10,
                "GtMeasurementUnit": "Antall",
            }
        ]
    )
    for indicator_key, date in (("missing", "2024-01-01"), ("i1", "2030-01-01")):
        meas = pd.DataFrame(
            [
                {
                    **k,
                    "source_key": "m1",
                    "indicator_key": indicator_key,
                    "GtMeasurementValue": 5,
                    "GtMeasurementDate": date,
                }
            ]
        )
        a = analyse_benefits(ben, ind, meas, as_of="2025-01-01")
        assert a.indicators["status"].tolist() == ["no measurements"]
        assert a.benefits["status"].tolist() == ["no measurements"]
        assert "owner" in planned_vs_realised(a).columns

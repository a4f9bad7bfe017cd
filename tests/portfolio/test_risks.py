"""Risk matrix placement and colours, unacceptable risks, owners, opportunities, stakeholders."""

from __future__ import annotations

import pandas as pd
import pytest

from veiviser.portfolio.risks import (
    cell_colour,
    matrix_grid,
    opportunities,
    risk_matrix,
    risk_summary,
    risks_without_owner,
    unacceptable_risks,
)
from veiviser.portfolio.stakeholders import influence_grid, shared_stakeholders, stakeholder_counts


@pytest.mark.parametrize(
    ("s", "k", "risk", "opportunity"),
    [
        (5, 1, "#FFB54C", "#7ABD7E"),
        (5, 3, "#FF6961", "#009756"),
        (4, 1, "#F8D66D", "#A0DAA1"),
        (3, 1, "#7ABD7E", "#F8D66D"),
        (1, 4, "#F8D66D", "#A0DAA1"),  # S×K = 4 but S+K = 5: yellow
        (2, 2, "#7ABD7E", "#F8D66D"),
        (1, 5, "#FFB54C", "#7ABD7E"),
        (2, 4, "#FFB54C", "#7ABD7E"),
        (3, 5, "#FF6961", "#009756"),
        (1, 1, "#7ABD7E", "#F8D66D"),
        (5, 5, "#FF6961", "#009756"),
    ],
)
def test_cell_colours_match_model_tables(s, k, risk, opportunity):
    assert cell_colour(s, k, "Risiko") == risk
    assert cell_colour(s, k, "Mulighet") == opportunity


def _risk(
    key, s, k, *, ct="Risiko", status="Identifisert", owner="Per", project="p1", s2=None, k2=None, factor=None
):
    return dict(
        project_key=project,
        project_title=project.upper(),
        source_key=key,
        item_id=key[-1],
        Title=f"T{key}",
        ContentType=ct,
        GtRiskProbability=s,
        GtRiskConsequence=k,
        GtRiskFactor=factor,
        GtRiskProbabilityPostAction=s2,
        GtRiskConsequencePostAction=k2,
        GtRiskStatus=status,
        GtActionResponsible=owner,
    )


def _risks():
    return pd.DataFrame(
        [
            _risk("r1", 5, 3, s2=2, k2=3),  # factor 15
            _risk("r2", 2, 5),  # factor 10: not unacceptable
            _risk("r3", 0, 4),  # not assessed
            _risk("r4", 4, 3, status="Ikke lenger aktuell"),  # 12 but closed
            _risk("r5", 3, 4, owner=None, project="p2"),  # 12, unacceptable, no owner
            _risk("r6", 5, 5, ct="Mulighet", project="p2"),  # opportunity 25: never "unacceptable"
            _risk("r7", None, None, owner={"Title": ""}, project="p2"),
            _risk("r8", 7, 2, project="p2"),  # out of range
            _risk("r9", None, None, factor=11, project="p2", ct="Risk"),  # factor only, en-US content type
        ]
    )


def test_matrix_placement_before_and_after():
    m = risk_matrix(_risks())
    cells = m.cells.set_index(["probability", "consequence"])
    assert len(m.cells) == 25 and m.cells["count"].sum() == 3  # r1, r2, r5
    assert cells.loc[(5, 3), "items"] == ["r1"] and cells.loc[(5, 3), "colour"] == "#FF6961"
    assert cells.loc[(2, 5), "items"] == ["r2"]
    assert cells.loc[(3, 4), "items"] == ["r5"]
    assert sorted(m.outside["source_key"]) == ["r3", "r7", "r8", "r9"]
    reasons = dict(zip(m.outside["source_key"], m.outside["reason"], strict=True))
    assert reasons["r3"] == "not assessed (0 or empty)" and reasons["r8"] == "out of range"
    assert any(f.code == "out-of-range" and f.item == "r8" for f in m.findings)
    after = risk_matrix(_risks(), stage="after")
    assert after.cells.set_index(["probability", "consequence"]).loc[(2, 3), "items"] == ["r1"]
    grid = matrix_grid(m)
    assert grid.loc[5, 3] == 1 and grid.values.sum() == 3 and list(grid.index) == [5, 4, 3, 2, 1]


def test_matrix_per_project_and_opportunities():
    m = risk_matrix(_risks(), by_project=True)
    assert len(m.cells) == 50
    per = m.cells.groupby("project_key")["count"].sum().to_dict()
    assert per == {"p1": 2, "p2": 1}
    assert matrix_grid(m, "p2").loc[3, 4] == 1
    o = risk_matrix(_risks(), kind="Mulighet")
    assert o.cells.set_index(["probability", "consequence"]).loc[(5, 5), "colour"] == "#009756"
    assert o.cells["count"].sum() == 1


def test_closed_included_on_request():
    m = risk_matrix(_risks(), include_closed=True)
    assert m.cells.set_index(["probability", "consequence"]).loc[(4, 3), "items"] == ["r4"]


def test_unacceptable_threshold_exactly_10_vs_11_and_closed():
    u = unacceptable_risks(_risks())
    # 15, 14 (S=7 is bad data but not hidden), 12, 11 (GtRiskFactor used when S/K missing); r2 = 10 is not > 10
    assert u["source_key"].tolist() == ["r1", "r8", "r5", "r9"]
    assert u["factor"].tolist() == [15, 14, 12, 11]
    assert unacceptable_risks(_risks(), threshold=11)["source_key"].tolist() == ["r1", "r8", "r5"]


def test_without_owner_and_opportunities():
    assert risks_without_owner(_risks())["source_key"].tolist() == ["r5", "r7"]
    assert opportunities(_risks())["source_key"].tolist() == ["r6"]


def test_summary_and_empty():
    s = risk_summary(_risks()).set_index("project_key")
    assert s.loc["p1", "open_risks"] == 3 and s.loc["p1", "unacceptable"] == 1
    assert s.loc["p2", "without_owner"] == 2 and s.loc["p2", "open_opportunities"] == 1
    assert risk_summary(None).empty
    assert risk_matrix(None).cells["count"].sum() == 0
    assert unacceptable_risks(None).empty


def _stakeholders():
    rows = [
        ("p1", "Brukerrådet", "Brukere", "Stor", "Middels"),
        ("p2", "  brukerrådet ", "Brukere", "Stor", "Stor"),
        ("p3", "BRUKERRÅDET", None, "Liten", None),
        ("p1", "IT-tjenesten", "Medarbeidere", "Middels", "Stor"),
        ("p1", "it-tjenesten", "Medarbeidere", "Middels", "Stor"),  # same project twice: not shared
        ("p2", "Fagforbundet", "Fagforening", None, "Liten"),
    ]
    return pd.DataFrame(
        [
            dict(
                project_key=p,
                project_title=p.upper(),
                source_key=f"{p}:{i}",
                item_id=str(i),
                Title=t,
                GtStakeholderGroup=g,
                GtStakeholderInfluence=inf,
                GtStakeholderInfluencePossibilty=pos,
            )
            for i, (p, t, g, inf, pos) in enumerate(rows)
        ]
    )


def test_stakeholder_counts_and_grid():
    c = stakeholder_counts(_stakeholders()).set_index("GtStakeholderGroup")
    assert c.loc["Brukere", "stakeholders"] == 2 and c.loc["Brukere", "projects"] == 2
    assert c.loc["(blank)", "stakeholders"] == 1
    g = influence_grid(_stakeholders())
    assert g.loc["Stor", "Stor"] == 1 and g.loc["Middels", "Stor"] == 2 and g.loc["Liten", "(blank)"] == 1
    assert g.values.sum() == 6
    assert influence_grid(None).values.sum() == 0


def test_shared_stakeholders_case_insensitive():
    s = shared_stakeholders(_stakeholders())
    assert s["stakeholder"].tolist() == ["Brukerrådet"]
    assert s.loc[0, "projects"] == 3 and s.loc[0, "project_keys"] == ["p1", "p2", "p3"]
    assert s.loc[0, "spellings"] == ["BRUKERRÅDET", "Brukerrådet", "brukerrådet"]
    assert shared_stakeholders(None).empty

"""The demo data generator: determinism and realism against the standard templates."""

from __future__ import annotations

from datetime import date

import pytest

from veiviser.demo.data import (
    DEMO_LIST_KEYS,
    ITPOSMO_FIELDS,
    Person,
    Ref,
    generate_portfolio,
    generate_project,
    plan_changes,
)
from veiviser.demo.tour import portfolio_csv
from veiviser.provisioning.bulk_input import read_projects
from veiviser.schemas.template_loader import load_bundle

TODAY = date(2025, 6, 1)
BUNDLE = load_bundle()
CRITERIA = tuple(str(s.values["GtCriterionKey"]) for s in BUNDLE.hub.get_list("priority_criteria").seed_items)


@pytest.fixture(scope="module")
def portfolio():
    specs = read_projects(portfolio_csv()).projects
    return generate_portfolio([(s.title, s.unit, s.alias) for s in specs], today=TODAY, criteria=CRITERIA)


def _plain(data):
    return (
        {
            k: [(r.key, r.content_type, sorted(r.values.items(), key=lambda kv: kv[0])) for r in rows]
            for k, rows in data.rows.items()
        },
        data.itposmo,
        data.priorities,
        data.phase,
    )


def test_same_seed_same_data_and_subset_is_stable(portfolio):
    again = generate_project(
        portfolio[5].title,
        index=5,
        unit=portfolio[5].unit,
        alias=portfolio[5].alias,
        today=TODAY,
        criteria=CRITERIA,
    )
    assert repr(_plain(again)) == repr(_plain(portfolio[5]))
    other = generate_project(
        portfolio[5].title, index=5, unit=portfolio[5].unit, seed=7, today=TODAY, criteria=CRITERIA
    )
    assert repr(_plain(other)) != repr(_plain(portfolio[5]))
    assert repr(plan_changes(portfolio[0], today=TODAY)) == repr(plan_changes(portfolio[0], today=TODAY))


def test_values_are_valid_against_the_project_template(portfolio):
    tpl = BUNDLE.project
    for data in portfolio:
        for kind in DEMO_LIST_KEYS:
            ldef = tpl.get_list(kind)
            for row in data.rows[kind]:
                for name, value in row.values.items():
                    if name == "Title":
                        assert value and len(value) <= 255
                        continue
                    fdef = ldef.field(name)  # KeyError = unknown internal name
                    if value is None:
                        continue
                    if fdef.choices:
                        assert value in fdef.choices, (data.title, kind, name, value)
                    if fdef.min is not None:
                        assert fdef.min <= value <= (fdef.max if fdef.max is not None else value), (
                            name,
                            value,
                        )
                    if fdef.type.value in ("User",):
                        assert isinstance(value, Person) and value.email.endswith(".example")
                    if fdef.type.value in ("Lookup", "LookupMulti"):
                        refs = value if isinstance(value, list) else [value]
                        assert all(isinstance(r, Ref) and r.kind == fdef.lookup_list for r in refs)
                        keys = {r.key for r in data.rows[fdef.lookup_list]}
                        assert all(r.key in keys for r in refs), (data.title, name)
                if kind == "risks":
                    assert row.content_type in ("Risiko", "Mulighet")
        if data.itposmo:
            assert set(data.itposmo) == set(ITPOSMO_FIELDS) and all(
                0 <= v <= 10 for v in data.itposmo.values()
            )
        assert all(k in CRITERIA and 0 <= v <= 5 for k, v in data.priorities.items())


def test_portfolio_is_varied_and_covers_the_data_quality_cases(portfolio):
    phases = {d.phase for d in portfolio}
    assert len(phases) >= 5
    risks = [r.values for d in portfolio for r in d.rows["risks"] if r.content_type == "Risiko"]
    assert any(
        r["GtRiskProbability"] * r["GtRiskConsequence"] > 10 and r["GtRiskStatus"] != "Ikke lenger aktuell"
        for r in risks
    )
    assert any(r["GtRiskProbability"] == 0 for r in risks)
    assert any(r["GtActionResponsible"] is None for r in risks)
    assert any(
        d.rows["risks"] and any(r.content_type == "Mulighet" for r in d.rows["risks"]) for d in portfolio
    )
    shared = [{s.values["Title"] for s in d.rows["stakeholders"]} for d in portfolio]
    assert all({"Kommunedirektørens ledergruppe", "Tillitsvalgte"} <= s for s in shared)
    first = portfolio[:3]  # the cases a short demo must show
    ind = [r.values for d in first for r in d.rows["indicators"]]
    assert any(i["GtStartValue"] is not None and i["GtStartValue"] == i["GtDesiredValue"] for i in ind)
    assert any(i["GtStartValue"] is None for i in ind)
    assert any(i["GtStartValue"] is not None and i["GtDesiredValue"] < i["GtStartValue"] for i in ind)
    benefits = [r.values for d in first for r in d.rows["benefits"]]
    assert any(b["GtGainsOwner"] is None for b in benefits)
    # goals: most benefits serve one, some share it, and a short demo shows one missing too
    goals = [b["GtGainsGoal"] for b in benefits]
    assert None in goals and sum(g is not None for g in goals) > len(goals) / 2
    every = [r.values["GtGainsGoal"] for d in portfolio for r in d.rows["benefits"]]
    assert any(every.count(g) > 1 for g in set(every) - {None})
    with_ind = {r.values["GtGainLookup"].key for r in portfolio[2].rows["indicators"]}
    assert any(b.key not in with_ind for b in portfolio[2].rows["benefits"])
    # over-delivery: a measurement beyond the target in the target's direction
    d0 = portfolio[0]
    inds = {r.key: r.values for r in d0.rows["indicators"]}
    over = [
        m.values
        for m in d0.rows["measurements"]
        if (i := inds[m.values["GtMeasureIndicatorLookup"].key])["GtStartValue"]
        not in (None, i["GtDesiredValue"])
        and (m.values["GtMeasurementValue"] - i["GtStartValue"]) / (i["GtDesiredValue"] - i["GtStartValue"])
        > 1
    ]
    assert over
    dates = [m.values["GtMeasurementDate"] for d in portfolio for m in d.rows["measurements"]]
    assert max(dates) <= TODAY and (max(dates) - min(dates)).days > 90  # several months
    assert all(i.get("GtMeasurementUnit") in ("Antall", "Kroner", "Prosent", "Timer") for i in ind)


def test_change_step_deletes_a_measured_indicator_and_adds_content(portfolio):
    changes = plan_changes(portfolio[0], today=TODAY)
    (deleted,) = changes.deletes["indicators"]
    assert any(m.values["GtMeasureIndicatorLookup"].key == deleted for m in portfolio[0].rows["measurements"])
    assert changes.updates["risks"] and changes.creates["risks"] and changes.creates["measurements"]
    assert all(m.values["GtMeasureIndicatorLookup"].key != deleted for m in changes.creates["measurements"])
    assert changes.updates["indicators"]
    assert sum(not plan_changes(d, today=TODAY).empty for d in portfolio) >= len(portfolio) // 2

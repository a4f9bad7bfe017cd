"""The plan engine is pure: these tests need no SharePoint."""

from __future__ import annotations

import json

from veiviser.provisioning.plan import DataItem, plan
from veiviser.provisioning.state import FieldState, ListState, SiteState, encode_leaf, expected_entity_type
from veiviser.schemas.template_loader import load_template


def test_empty_site_plans_everything_in_dependency_order() -> None:
    t = load_template("standard", kind="project")
    p = plan(t, SiteState(url="http://x/sites/a"))
    rounds = [s.round for s in p.steps]
    assert rounds == sorted(rounds)
    creates = [s for s in p.steps if s.action == "create_list"]
    assert {s.data["body"]["Title"] for s in creates} >= {"Mleindikatorer", "Gevinstoppflging"}
    renames = {s.target for s in p.steps if s.action == "update_list"}
    assert renames == {"Måleindikatorer", "Gevinstoppfølging"}
    fields = [(s.list, s.target) for s in p.steps if s.action == "create_field"]
    order = {key: i for i, key in enumerate(fields)}
    assert order[("risks", "GtRiskProbability")] < order[("risks", "GtRiskFactor")]
    assert order[("indicators", "GtGainLookup")] < order[("indicators", "GtGainLookup_ID")]
    assert len([s for s in p.steps if s.action == "create_item" and s.list == "checklist"]) == 44
    assert json.loads(p.to_json())["steps"]


def test_existing_fields_are_never_recreated_and_drift_is_reported() -> None:
    t = load_template("standard", kind="project")
    risks = ListState(id="1" * 32, title="Usikkerhet", entity_type="SP.Data.UsikkerhetListItem", details=True, items=[])
    risks.fields["GtRiskProbability"] = FieldState("a", "GtRiskProbability", "Text")
    risks.fields["GtRiskStrategy"] = FieldState("b", "GtRiskStrategy", "Choice", choices=["Unngå"])
    benefits = ListState(id="2" * 32, title="Gevinstanalyse og gevinstrealiseringsplan", entity_type="x", details=True)
    benefits.fields["GtChangeLookup"] = FieldState("c", "GtChangeLookup", "LookupMulti", lookup_list="9" * 32)
    changes = ListState(id="3" * 32, title="Endringsanalyse", entity_type="y", details=True)
    state = SiteState(url="u", lists={"risks": risks, "benefits": benefits, "changes": changes})
    p = plan(t, state)
    targets = {(s.action, s.list, s.target) for s in p.steps}
    assert ("create_field", "risks", "GtRiskProbability") not in targets
    assert ("create_field", "risks", "GtRiskFactor") not in targets  # operand in drift
    assert ("create_field", "benefits", "GtChangeLookup") not in targets  # never re-created
    assert any(d.target == "GtRiskProbability" and "Text" in d.message for d in p.drift)
    assert any(d.target == "GtChangeLookup" and "never re-created" in d.message for d in p.drift)
    ext = next(s for s in p.steps if s.action == "extend_choices")
    assert ext.data["choices"][0] == "Unngå" and len(ext.data["choices"]) > 1
    assert not any(s.action.startswith(("delete", "remove")) for s in p.steps)


def test_seed_items_and_singleton_are_keyed() -> None:
    t = load_template("standard", kind="project")
    checklist = t.get_list("checklist")
    existing = [{"Id": i + 1, "GtSortOrder": float(s.values["GtSortOrder"])} for i, s in enumerate(checklist.seed_items[:40])]
    ls = ListState(id="4" * 32, title="Fasesjekkliste", entity_type="e", details=True, items=existing)
    props = ListState(id="5" * 32, title="Prosjektegenskaper", entity_type="p", details=True,
                      items=[{"Id": 1, "Title": "Alfa", "GtProjectUnit": "IKT"}])
    state = SiteState(url="u", lists={"checklist": ls, "properties": props})
    p = plan(t, state, data=[DataItem("properties", {"Title": "Alfa", "GtProjectUnit": "Kultur"})])
    seeds = [s for s in p.steps if s.action == "create_item" and s.list == "checklist"]
    assert len(seeds) == 4
    upd = [s for s in p.steps if s.action == "update_item"]
    assert [(s.data["id"], s.data["values"]) for s in upd] == [(1, {"GtProjectUnit": "Kultur"})]


def test_entity_type_follows_ascii_url_leaf() -> None:
    t = load_template("standard", kind="project")
    assert expected_entity_type(t.get_list("indicators")) == "SP.Data.MleindikatorerListItem"
    assert encode_leaf("Gevinstanalyse og") == "Gevinstanalyse_x0020_og"

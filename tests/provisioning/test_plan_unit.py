"""The plan engine is pure: these tests need no SharePoint."""

from __future__ import annotations

import json

from veiviser.provisioning.plan import DataItem, plan
from veiviser.provisioning.state import FieldState, ListState, SiteState, expected_entity_type
from veiviser.schemas.template_loader import load_template
from veiviser.sharepoint.schema import encode_leaf


def test_empty_site_plans_everything_in_dependency_order() -> None:
    t = load_template("standard", kind="project")
    p = plan(t, SiteState(url="http://x/sites/a"))
    rounds = [s.round for s in p.steps]
    assert rounds == sorted(rounds)
    creates = [s for s in p.steps if s.action == "create_list"]
    assert {s.data["values"]["Title"] for s in creates} >= {"Mleindikatorer", "Gevinstoppflging"}
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
    risks = ListState(
        id="1" * 32, title="Usikkerhet", entity_type="SP.Data.UsikkerhetListItem", details=True, items=[]
    )
    risks.fields["GtRiskProbability"] = FieldState("a", "GtRiskProbability", "Text")
    risks.fields["GtRiskStrategy"] = FieldState("b", "GtRiskStrategy", "Choice", choices=["Unngå"])
    benefits = ListState(
        id="2" * 32, title="Gevinstanalyse og gevinstrealiseringsplan", entity_type="x", details=True
    )
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
    # The only removal: the generic Item content type, on lists this plan creates (never on existing data).
    removals = [s for s in p.steps if s.action.startswith(("delete", "remove"))]
    assert removals and all(
        s.action == "remove_content_type" and s.data["id"] is None and s.list not in state.lists
        for s in removals
    )


def test_seed_items_and_singleton_are_keyed() -> None:
    t = load_template("standard", kind="project")
    checklist = t.get_list("checklist")
    existing = [
        {"Id": i + 1, "GtSortOrder": float(s.values["GtSortOrder"])}
        for i, s in enumerate(checklist.seed_items[:40])
    ]
    ls = ListState(id="4" * 32, title="Fasesjekkliste", entity_type="e", details=True, items=existing)
    props = ListState(
        id="5" * 32,
        title="Prosjektegenskaper",
        entity_type="p",
        details=True,
        items=[{"Id": 1, "Title": "Alfa", "GtProjectUnit": "IKT"}],
    )
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


RISIKO_LIST_CT = "0x0100A87AE71CBF2643A6BC9D0948BD2EE89701" + "00" + "A" * 32
MULIGHET_LIST_CT = "0x0100A87AE71CBF2643A6BC9D0948BD2EE89702" + "00" + "B" * 32
ITEM_LIST_CT = "0x0100" + "C" * 32


def _risk_list(cts: list[tuple[str, str]], in_use: dict[str, bool | None]) -> SiteState:
    risks = ListState(
        id="1" * 32,
        title="Usikkerhet",
        entity_type="SP.Data.UsikkerhetListItem",
        details=True,
        items=[],
        content_types_enabled=True,
        content_types=cts,
        generic_ct_in_use=in_use,
    )
    return SiteState(url="u", lists={"risks": risks})


def _risk_steps(p) -> list[tuple[str, str | None]]:
    return [(s.action, s.data.get("id")) for s in p.steps if s.list == "risks" and "content_type" in s.action]


def test_generic_item_content_type_is_removed_when_unused_and_after_the_bindings() -> None:
    t = load_template("standard", kind="project")
    p = plan(t, _risk_list([(ITEM_LIST_CT, "Element")], {ITEM_LIST_CT: False}))
    steps = _risk_steps(p)
    assert [a for a, _ in steps] == ["bind_content_type", "bind_content_type", "remove_content_type"]
    assert steps[0][1].endswith("01") and steps[1][1].endswith("02") and steps[2][1] == ITEM_LIST_CT
    # Removal before any item is written in the same round (seed items then get the template's type).
    new = plan(t, SiteState(url="u"))
    order = [(s.action, s.list) for s in new.steps]
    assert order.index(("remove_content_type", "checklist")) < order.index(("create_item", "checklist"))
    assert order.index(("bind_content_type", "risks")) < order.index(("remove_content_type", "risks"))
    # Converged: nothing to do.
    assert (
        _risk_steps(plan(t, _risk_list([(RISIKO_LIST_CT, "Risiko"), (MULIGHET_LIST_CT, "Mulighet")], {})))
        == []
    )


def test_generic_item_content_type_in_use_or_unreadable_is_kept() -> None:
    t = load_template("standard", kind="project")
    cts = [(ITEM_LIST_CT, "Element"), (RISIKO_LIST_CT, "Risiko"), (MULIGHET_LIST_CT, "Mulighet")]
    used = plan(t, _risk_list(cts, {ITEM_LIST_CT: True}))
    assert _risk_steps(used) == []
    assert any(d.list == "risks" and "Element" in d.message for d in used.drift)
    unknown = plan(t, _risk_list(cts, {ITEM_LIST_CT: None}))
    assert _risk_steps(unknown) == [] and any("could not check" in n for n in unknown.notes)


def test_content_types_in_another_order_are_reported() -> None:
    t = load_template("standard", kind="project")
    p = plan(t, _risk_list([(MULIGHET_LIST_CT, "Mulighet"), (RISIKO_LIST_CT, "Risiko")], {}))
    assert _risk_steps(p) == []
    assert any(d.target == "content type order" and "'Mulighet'" in d.message for d in p.drift)


def test_short_summary_is_one_line_for_a_result_table() -> None:
    template = load_template("standard", kind="project")
    p = plan(template, SiteState(url="https://x/sites/a"))
    lists = {s.list for s in p.steps if s.list}
    assert p.short_summary().startswith(f"{len(p.steps)} steps on {len(lists)} lists")
    assert "\n" not in p.short_summary() and len(p.short_summary()) < 40

"""``apply.build_operation``: one plan step → one request, with ids known from the state or round 1."""

from __future__ import annotations

import pytest

from veiviser.errors import VeiviserError
from veiviser.provisioning.apply import _AlreadyDone, _Ids, build_operation
from veiviser.provisioning.plan import ROUND_CONTENT, ROUND_CREATE, Step, plan
from veiviser.provisioning.state import ListState, SiteState
from veiviser.schemas.template_loader import load_template
from veiviser.sharepoint import Operation

RISKS_ID = "11111111-1111-4111-8111-111111111111"
GAINS_ID = "22222222-2222-4222-8222-222222222222"
RISKS = f"Web/lists(guid'{RISKS_ID}')"


def ids() -> _Ids:
    state = SiteState(url="http://x/sites/a")
    state.lists["risks"] = ListState(
        id=RISKS_ID, title="Usikkerhet", entity_type="SP.Data.UsikkerhetListItem"
    )
    state.lists["gains"] = ListState(id=GAINS_ID, title="Gevinster", entity_type="SP.Data.GevinsterListItem")
    return _Ids(state)


def build(action: str, target: str = "T", data: dict | None = None, lst: str | None = "risks") -> Operation:
    return build_operation(Step(action, ROUND_CONTENT, lst, target, "", data or {}), ids(), 4)


def test_site_level_steps() -> None:
    op = build("create_list", data={"values": {"Title": "Usikkerhet", "BaseTemplate": 100}}, lst="risks")
    assert (op.verb, op.path, op.key, op.list) == ("POST", "Web/lists", 4, "risks")
    assert op.body == {"Title": "Usikkerhet", "BaseTemplate": 100, "__metadata": {"type": "SP.List"}}

    ct = {"id": "0x0100AB", "name": "Risiko", "description": "", "group": "Prosjektportalen"}
    op = build("create_content_type", "Risiko", ct, lst=None)
    assert (op.path, op.body["Id"]["StringValue"], op.body["Name"]) == (
        "Web/ContentTypes",
        "0x0100AB",
        "Risiko",
    )

    op = build("create_site_field", "GtX", {"schema_xml": "<Field Name='GtX'/>"}, lst=None)
    assert op.path == "Web/Fields/CreateFieldAsXml"
    assert op.body["parameters"]["SchemaXml"] == "<Field Name='GtX'/>"

    assert build("add_field_link", data={"ct": "0x0100AB", "field": "GtX"}, lst=None).path == (
        "Web/ContentTypes('0x0100AB')/FieldLinks"
    )
    assert build("add_field_link", data={"ct": "0x0100AB00", "field": "GtX"}).path == (
        f"{RISKS}/ContentTypes('0x0100AB00')/FieldLinks"
    )


def test_list_steps_address_the_list_by_id() -> None:
    assert build("update_list", "Usikkerhet", {"values": {"Title": "Usikkerhet"}}).path == RISKS
    lookup = build(
        "create_field",
        "GtGainLookup",
        {"schema_xml": "<Field List='{listid:gains}'/>", "lookup_list": "gains"},
    )
    assert lookup.path == f"{RISKS}/Fields/CreateFieldAsXml"
    assert lookup.body["parameters"]["SchemaXml"] == "<Field List='{" + GAINS_ID + "}'/>"
    choices = build("extend_choices", "GtRiskStrategy", {"choices": ["A", "B"], "multi": True})
    assert choices.verb == "MERGE"
    assert choices.path == f"{RISKS}/Fields/getByInternalNameOrTitle('GtRiskStrategy')"
    assert choices.body["__metadata"] == {"type": "SP.FieldMultiChoice"}
    assert build("set_indexed", "GtSiteId").body == {"Indexed": True, "__metadata": {"type": "SP.Field"}}
    assert build("bind_content_type", "Risiko", {"id": "0x0100AB"}).path == (
        f"{RISKS}/ContentTypes/AddAvailableContentType('0x0100AB')"
    )


def test_views() -> None:
    data = {"fields": ["LinkTitle"], "row_limit": 30, "query": "", "default": True}
    view = build("create_view", "Mine", data)
    assert view.path == f"{RISKS}/Views/Add" and view.body["parameters"]["Title"] == "Mine"
    assert view.body["parameters"]["SetAsDefaultView"] is True
    update = build("update_view", "Alle elementer", {"values": {"RowLimit": 100}})
    assert (update.verb, update.path) == ("MERGE", f"{RISKS}/Views/GetByTitle('Alle elementer')")
    assert build("add_view_field", "Alle elementer", {"field": "GtX"}).path == (
        f"{RISKS}/Views/GetByTitle('Alle elementer')/ViewFields/AddViewField('GtX')"
    )


def test_items_use_the_list_entity_type_and_created_ids() -> None:
    create = build("create_item", "Ny", {"values": {"Title": "Ny"}})
    assert (create.verb, create.path) == ("POST", f"{RISKS}/items")
    assert create.body == {"Title": "Ny", "__metadata": {"type": "SP.Data.UsikkerhetListItem"}}

    update = build("update_item", "Gammel", {"values": {"Title": "B"}, "id": "9"})
    assert (update.verb, update.path, update.item) == ("MERGE", f"{RISKS}/items(9)", 9)

    known = ids()
    known.items[("risks", "Ny")] = 31
    stamp = build_operation(
        Step("stamp_item", 3, "risks", "Ny", "", {"values": {"GtVersion": "1"}, "created": "Ny"}), known, 0
    )
    assert (stamp.path, stamp.item) == (f"{RISKS}/items(31)", 31)


def test_content_type_removal() -> None:
    assert build("remove_content_type", data={"id": "0x0100FF"}).path == f"{RISKS}/ContentTypes('0x0100FF')"
    known = ids()
    known.generic_ct["risks"] = None  # read at apply time: the list has no generic content type
    with pytest.raises(_AlreadyDone):
        build_operation(
            Step("remove_content_type", ROUND_CONTENT, "risks", "Element", "", {"id": None}), known, 0
        )
    known.generic_ct["risks"] = ""  # could not be read
    with pytest.raises(VeiviserError, match="could not read"):
        build_operation(
            Step("remove_content_type", ROUND_CONTENT, "risks", "Element", "", {"id": None}), known, 0
        )


def test_missing_lists_and_unknown_actions() -> None:
    with pytest.raises(KeyError):
        build("set_indexed", lst="not-created")
    with pytest.raises(KeyError):
        build("create_field", data={"schema_xml": "", "lookup_list": "not-created"})
    with pytest.raises(ValueError, match="unknown step action"):
        build("rename_everything")


def test_every_step_of_a_new_site_plan_builds() -> None:
    """A new site's plan, with the ids round 1 would return: every step becomes a request."""
    template = load_template("standard", kind="project")
    p = plan(template, SiteState(url="http://x/sites/a"))
    known = _Ids(SiteState(url="http://x/sites/a"))
    for n, lst in enumerate(template.lists):
        known.ids[lst.key] = f"{n:08d}-0000-4000-8000-000000000000"
        known.types[lst.key] = f"SP.Data.L{n}ListItem"
        known.generic_ct[lst.key] = "0x0100" + "a" * 32
    for step in p.steps:
        if step.action == "create_item":
            known.items[(step.list or "", step.target)] = 1
    ops = [build_operation(s, known, i) for i, s in enumerate(p.steps)]
    assert len(ops) == len(p.steps)
    assert all("{listid:" not in str(op.body) for op in ops)
    assert {op.verb for op in ops} <= {"POST", "MERGE", "DELETE"}
    assert all(op.key == i for i, op in enumerate(ops))
    first_round = [op for op, s in zip(ops, p.steps, strict=True) if s.round == ROUND_CREATE]
    assert all(op.path.startswith("Web/") for op in first_round)

"""The pure parts of one site's sync: folding reads into rows, central values and the typed actions."""

from __future__ import annotations

from datetime import UTC, datetime

from veiviser.sync import diff
from veiviser.sync.diff import Create, Delete, Forget, Keep, RemoveDuplicate, Update
from veiviser.sync.discovery import ProjectSite
from veiviser.sync.history import content_hash
from veiviser.sync.lists import KIND_ORDER, PROPERTIES, CentralList
from veiviser.sync.read import ListState, _apply_changes
from veiviser.sync.rows import json_safe

SITE = "s1"
LIST_IDS = {name: f"l-{name}" for name in [*KIND_ORDER, PROPERTIES]}


def key(name: str, item_id: int) -> str:
    return f"{SITE}:{LIST_IDS[name]}:{item_id}"


def states(**per_kind: ListState) -> dict[str, ListState]:
    out = {}
    for name in [*KIND_ORDER, PROPERTIES]:
        st = per_kind.get(name) or ListState(name, name, new_token=None)
        st.list_id = LIST_IDS[name]
        out[name] = st
    return out


def full(name: str, items: list[dict]) -> ListState:
    return ListState(name, name, full=True, items=items)


def changes(name: str, items: list[dict], deleted: set[int] = frozenset()) -> ListState:
    return ListState(name, name, items=items, changed_ids={i["ID"] for i in items}, deleted_ids=set(deleted))


def test_full_read_replaces_rows_and_marks_known_keys_gone():
    previous = {"risks": {key("risks", 1): {"Title": "old"}, key("risks", 2): {"Title": "gone"}}}
    cmap = {"risks": {key("risks", 3): (30, "h")}}  # written to the hub, never recorded in the history
    current, deleted = diff.new_rows(
        states(risks=full("risks", [{"ID": 1, "Title": "R1"}])), previous, cmap, SITE
    )
    assert list(current["risks"]) == [key("risks", 1)]
    assert current["risks"][key("risks", 1)]["Title"] == "R1"
    assert deleted["risks"] == {key("risks", 2), key("risks", 3)}
    assert deleted["stakeholders"] == set()


def test_changes_patch_previous_rows_without_touching_them():
    before = {key("risks", 1): {"Title": "keep", "source_key": key("risks", 1)}}
    previous = {"risks": dict(before)}
    st = changes("risks", [{"ID": 2, "Title": "new"}], deleted={5, 1})
    current, deleted = diff.new_rows(states(risks=st), previous, {}, SITE)
    assert set(current["risks"]) == {key("risks", 2)}
    # 5 was never recorded, but a killed run may have written it to the hub: looked up there too.
    assert deleted["risks"] == {key("risks", 1), key("risks", 5)}
    assert previous["risks"] == before  # the input is not changed


def test_lookups_resolve_to_source_keys_across_kinds():
    st = states(
        benefits=full("benefits", [{"ID": 4, "Title": "B"}]),
        indicators=full("indicators", [{"ID": 6, "Title": "I", "GtGainLookupId": 4}]),
        measurements=full("measurements", [{"ID": 9, "Title": "M", "GtMeasureIndicatorLookupId": 6}]),
    )
    current, _ = diff.new_rows(st, {}, {}, SITE)
    m = current["measurements"][key("measurements", 9)]
    assert m["indicator_key"] == key("indicators", 6)
    assert m["benefit_key"] == key("benefits", 4)


def test_properties_item_now_or_as_last_stored():
    st = full(PROPERTIES, [{"ID": 1, "Title": "Alfa", "GtProjectNumber": "P1", "Other": "x"}])
    assert diff.properties_item(st, {}) == {"ID": 1, "Title": "Alfa", "GtProjectNumber": "P1"}
    stored = {"k": {"Title": "Stored"}}
    assert diff.properties_item(ListState(PROPERTIES, "p"), stored) == {"Title": "Stored"}
    assert diff.properties_item(ListState(PROPERTIES, "p", deleted_ids={1}), stored) is None
    assert diff.properties_item(full(PROPERTIES, []), stored) is None


def test_project_facts_fall_back_to_the_register():
    site = ProjectSite("https://t/sites/a", "", 3, {"Title": "Reg", "GtProjectPhaseText": "Konsept"})
    assert diff.project_facts(SITE, site, None) == {
        "site_id": SITE,
        "url": "https://t/sites/a",
        "title": "Reg",
        "phase": "Konsept",
    }
    facts = diff.project_facts(SITE, site, {"Title": "Own", "GtProjectPhase": "Gjennomføre"})
    assert (facts["title"], facts["phase"]) == ("Own", "Gjennomføre")


def _central(**fields: str) -> dict[str, CentralList]:
    base = {"Title": "Text", "GtSourceKey": "Text", "GtGainKey": "Text", "GtGainTitle": "Text"}
    return {name: CentralList(name, f"C-{name}", {**base, **fields}) for name in KIND_ORDER}


def test_central_rows_add_looked_up_titles_and_people():
    st = states(
        risks=full(
            "risks", [{"ID": 1, "Title": "R", "GtActionResponsible": {"EMail": "a@k.no", "Title": "A"}}]
        ),
        benefits=full("benefits", [{"ID": 4, "Title": "Gevinst"}]),
        indicators=full("indicators", [{"ID": 6, "Title": "I", "GtGainLookupId": 4}]),
    )
    current, _ = diff.new_rows(st, {}, {}, SITE)
    central = _central(GtActionResponsible="User")
    assert diff.people_to_resolve(current, central) == {"a@k.no"}
    assert diff.people_to_resolve(current, _central()) == set()  # not a person column on the hub
    planned = diff.central_rows(current, {"site_id": SITE}, central, {"a@k.no": 17})
    assert planned["risks"][key("risks", 1)]["GtActionResponsibleId"] == 17
    indicator = planned["indicators"][key("indicators", 6)]
    assert indicator["GtGainKey"] == key("benefits", 4) and indicator["GtGainTitle"] == "Gevinst"


def _planned(**rows: dict[str, dict]) -> dict[str, dict[str, dict]]:
    return {name: rows.get(name, {}) for name in KIND_ORDER}


def _deleted(**keys: set[str]) -> dict[str, set[str]]:
    return {name: keys.get(name, set()) for name in KIND_ORDER}


def test_diff_keeps_updates_creates_and_deletes():
    same, changed, new = {"Title": "same"}, {"Title": "changed"}, {"Title": "new"}
    cmap = {
        "risks": {"k1": (11, content_hash(json_safe(same))), "k2": (12, "old hash"), "k4": (14, "h")},
    }
    actions = diff.diff(
        _planned(risks={"k1": same, "k2": changed, "k3": new}), _deleted(risks={"k4", "k5"}), cmap
    )
    assert actions[:3] == [
        Keep("risks", "k1"),
        Update("risks", "k2", 12, changed, content_hash(json_safe(changed))),
        Create("risks", "k3", new, content_hash(json_safe(new))),
    ]
    assert sorted(actions[3:], key=repr) == [Delete("risks", "k4", 14), Forget("risks", "k5")]


def test_diff_uses_found_ids_and_removes_duplicates():
    values = {"Title": "x"}
    found = {"stakeholders": {"k1": [31, 30], "gone": [40]}}
    actions = diff.diff(_planned(stakeholders={"k1": values}), _deleted(stakeholders={"gone"}), {}, found)
    digest = content_hash(json_safe(values))
    assert actions == [
        Update("stakeholders", "k1", 30, values, digest),
        RemoveDuplicate("stakeholders", "k1", 31),
        Delete("stakeholders", "gone", 40),
    ]


def test_unknown_keys_are_those_the_map_lacks():
    cmap = {"risks": {"k1": (1, "h")}}
    unknown = diff.unknown_keys(_planned(risks={"k2": {}, "k1": {}}), _deleted(risks={"k0"}), cmap)
    assert unknown == {"risks": ["k0", "k2"]}
    assert diff.unknown_keys(_planned(), _deleted(), {}) == {}


def test_kinds_are_diffed_in_dependency_order():
    planned = _planned(measurements={"m": {"a": 1}}, risks={"r": {"a": 1}})
    assert [a.kind for a in diff.diff(planned, _deleted(), {})] == ["risks", "measurements"]


def test_register_changes_only_what_differs():
    site = ProjectSite("https://t/sites/a", register={"GtSiteId": SITE, "GtSiteUrl": "https://t/sites/a"})
    fields = {
        "Title": "Text",
        "GtProjectNumber": "Text",
        "GtProjectPhase": "Choice",
        "GtProjectPhaseText": "Text",
    }
    project = {"site_id": SITE}
    assert diff.register_changes(None, project, site, fields) == {}
    changed = diff.register_changes({"Title": "Alfa", "GtProjectNumber": 7}, project, site, fields)
    assert changed == {"Title": "Alfa", "GtProjectNumber": "7"}
    phase = diff.register_changes({"GtProjectPhase": "Konsept"}, project, site, fields)
    assert phase == {"GtProjectPhase": "Konsept", "GtProjectPhaseText": "Konsept"}


def test_same_value_rules():
    assert diff.same_value(None, "")
    assert diff.same_value(1, 1.0)
    assert diff.same_value(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "2026-01-02T03:04:05Z")
    assert not diff.same_value("2026-01-02T03:04:05Z", "2026-01-02T03:04:06Z")
    assert not diff.same_value("a", "b")


def test_change_log_folds_into_ids_and_the_last_token():
    st = ListState("risks", "Usikkerhet")
    _apply_changes(
        st,
        [
            {"ItemId": 1, "ChangeType": 1, "ChangeToken": {"StringValue": "t1"}},
            {"ItemId": 2, "ChangeType": 2, "ChangeToken": {"StringValue": "t2"}},
            {"ItemId": 1, "ChangeType": 3, "ChangeToken": {"StringValue": "t3"}},
            {"ChangeType": 2, "ChangeToken": {"StringValue": "t4"}},  # not an item change
        ],
    )
    assert (st.changed_ids, st.deleted_ids, st.new_token) == ({2}, {1}, "t4")
    assert st.changed and st.token_to_store == "t4"
    quiet = ListState("risks", "Usikkerhet", current_token="now")
    _apply_changes(quiet, [])
    assert not quiet.changed and quiet.token_to_store is None  # keep the stored token and its age
    assert ListState("risks", "U", full=True, current_token="now").token_to_store == "now"


def test_orphans_are_hub_rows_of_a_fully_read_kind_that_nothing_else_names():
    found = {"risks": {"a": [1], "b": [2], "c": [3]}, "stakeholders": {"x": [9]}}
    planned = {name: {} for name in KIND_ORDER}
    planned["risks"] = {"a": {}}
    deleted = {name: set() for name in KIND_ORDER}
    deleted["risks"] = {"b"}
    assert diff.orphans(found, planned, deleted, {"risks"}) == {"risks": {"c"}}
    assert diff.orphans(found, planned, deleted, set()) == {}


def test_values_outside_the_hubs_choices_are_left_out_and_named():
    central = {
        "risks": CentralList(
            "risks",
            "Porteføljeusikkerhet",
            {"Title": "Text", "GtRiskStatus": "Choice", "GtTags": "MultiChoice"},
            choices={"GtRiskStatus": frozenset({"Identifisert", "Lukket"}), "GtTags": frozenset({"a", "b"})},
        )
    }
    current = {"risks": {"k1": {"item_id": 1}, "k2": {"item_id": 2}, "k3": {"item_id": 3}}}
    planned = {
        "risks": {
            "k1": {"Title": "OK", "GtRiskStatus": "Identifisert", "GtTags": ["a"]},
            "k2": {"Title": "Feil", "GtRiskStatus": "Kanskje lukket", "GtTags": ["a", "x", "y"]},
            "k3": {"Title": "Tom", "GtRiskStatus": "", "GtTags": None},
        }
    }
    fixed, dropped = diff.drop_outside_choices(planned, current, central)
    assert fixed["risks"]["k1"] == planned["risks"]["k1"]
    assert fixed["risks"]["k2"] == {"Title": "Feil", "GtRiskStatus": None, "GtTags": ["a"]}
    assert fixed["risks"]["k3"] == planned["risks"]["k3"]
    assert planned["risks"]["k2"]["GtRiskStatus"] == "Kanskje lukket"  # the input is not changed
    assert [(d.key, d.item_id, d.field, d.value) for d in dropped] == [
        ("k2", 2, "GtRiskStatus", "Kanskje lukket"),
        ("k2", 2, "GtTags", "x"),
        ("k2", 2, "GtTags", "y"),
    ]
    assert dropped[0].choices == ("Identifisert", "Lukket")

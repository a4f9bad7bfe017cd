"""Applying the diff's actions through a fake hub: counts, the central item map, re-creation, failures."""

from __future__ import annotations

import pytest

from veiviser.sharepoint.batch import Operation, OperationResult
from veiviser.sharepoint.errors import NotFoundError, ValidationError
from veiviser.sync.diff import Create, Delete, Forget, Keep, RemoveDuplicate, Update
from veiviser.sync.lists import KIND_ORDER, CentralList
from veiviser.sync.report import SiteFailure
from veiviser.sync.write import apply_actions


class FakeHub:
    """Answers batches with a function of each operation; records what was sent."""

    url = "https://t/sites/hub"

    def __init__(self, answer):
        self.answer = answer
        self.batches: list[list[Operation]] = []

    def batch(self, ops):
        ops = list(ops)
        self.batches.append(ops)
        return [self.answer(op) for op in ops]


class FakeStore:
    def __init__(self, etags=None):
        self.calls: list[tuple] = []
        self.etags = etags or {}  # (kind, central id) -> the ETag our last write got
        self.written: dict[str, dict] = {}

    def central_etags(self, site_id):
        return dict(self.etags)

    def set_central(self, kind, entries, etags=None):
        self.calls.append(("set", kind, list(entries)))
        self.written.setdefault(kind, {}).update(etags or {})

    def drop_central(self, kind, keys):
        self.calls.append(("drop", kind, list(keys)))


def central():
    return {name: CentralList(name, f"C-{name}", {}, entity_type=f"T{name}") for name in KIND_ORDER}


def ok(op, value=None):
    return OperationResult(op.key, 201 if op.method == "POST" else 204, value)


def test_keep_and_forget_need_no_requests():
    hub, store = FakeHub(ok), FakeStore()
    counts = apply_actions(hub, store, central(), "s1", [Keep("risks", "a"), Forget("risks", "b")])
    assert counts == {"created": 0, "updated": 0, "deleted": 0, "unchanged": 1}
    assert hub.batches == [] and store.calls == [("drop", "risks", ["b"])]


def etags(op):
    """The ETag read before updates: every asked item at version 3."""
    ids = [int(n) for n in op.path.split("ID eq ")[1:] for n in [n.split(" ")[0].split("&")[0]]]
    return OperationResult(op.key, 200, [{"ID": i, "__metadata": {"etag": '"3"'}} for i in ids])


def test_writes_go_in_one_batch_after_the_etags_and_update_the_map():
    def answer(op):
        if op.method == "GET":
            return etags(op)
        return ok(op, {"Id": 90} if op.method == "POST" else None)

    hub, store = FakeHub(answer), FakeStore()
    actions = [
        Create("risks", "new", {"Title": "N"}, "h1"),
        Update("risks", "chg", 12, {"Title": "C"}, "h2"),
        RemoveDuplicate("risks", "chg", 13),
        Delete("benefits", "gone", 40),
    ]
    counts = apply_actions(hub, store, central(), "s1", actions)
    assert counts == {"created": 1, "updated": 1, "deleted": 1, "unchanged": 0}
    [reads, ops] = hub.batches
    assert [(o.method, o.path) for o in reads] == [
        ("GET", "Web/lists/GetByTitle('C-risks')/items?$select=ID&$filter=ID eq 12&$top=1")
    ]
    assert [o.if_match for o in ops] == [None, '"3"', None, None]  # the update: IF-MATCH its ETag
    assert [(o.method, o.path) for o in ops] == [
        ("POST", "Web/lists/GetByTitle('C-risks')/items"),
        ("MERGE", "Web/lists/GetByTitle('C-risks')/items(12)"),
        ("DELETE", "Web/lists/GetByTitle('C-risks')/items(13)"),
        ("DELETE", "Web/lists/GetByTitle('C-benefits')/items(40)"),
    ]
    assert ops[0].body == {"Title": "N", "__metadata": {"type": "Trisks"}}
    assert store.calls == [
        ("set", "risks", [("new", "s1", 90, "h1"), ("chg", "s1", 12, "h2")]),
        ("drop", "benefits", ["gone"]),
    ]


def test_an_update_with_a_kept_etag_is_sent_without_a_read_and_keeps_the_new_one():
    def answer(op):
        assert op.method != "GET", "no ETag read: the store has it"
        if op.method == "MERGE":
            return OperationResult(op.key, 204, None, headers={"etag": '"8"'})
        return ok(op, {"Id": 91, "__metadata": {"etag": '"1"'}})

    hub, store = FakeHub(answer), FakeStore(etags={("risks", 12): '"7"'})
    actions = [Update("risks", "chg", 12, {"Title": "C"}, "h2"), Create("risks", "new", {"Title": "N"}, "h1")]
    counts = apply_actions(hub, store, central(), "s1", actions)
    assert counts["updated"] == 1 and counts["created"] == 1
    [ops] = hub.batches
    assert [o.if_match for o in ops] == ['"7"', None]
    assert store.written == {"risks": {"chg": '"8"', "new": '"1"'}}  # what the next update sends


def test_a_removed_hub_item_is_created_again_and_missing_deletes_are_fine():
    def answer(op):
        if op.method == "GET":
            return OperationResult(op.key, 200, [])  # the item is gone: no ETag
        if op.method in ("MERGE", "DELETE"):
            return OperationResult(op.key, 404, error=NotFoundError("gone"))
        return ok(op, {"ID": 77})

    hub, store = FakeHub(answer), FakeStore()
    actions = [
        Update("risks", "k", 12, {"Title": "C"}, "h"),
        Delete("risks", "d", 5),
        RemoveDuplicate("risks", "k", 6),
    ]
    counts = apply_actions(hub, store, central(), "s1", actions)
    assert counts["created"] == 1 and counts["updated"] == 0 and counts["deleted"] == 0
    assert [o.method for o in hub.batches[2]] == ["POST"]
    assert hub.batches[2][0].body == {"Title": "C", "__metadata": {"type": "Trisks"}}
    assert store.calls == [("drop", "risks", ["k", "d"]), ("set", "risks", [("k", "s1", 77, "h")])]


def test_a_failed_write_fails_the_site_after_the_others_were_recorded():
    def answer(op):
        if op.key.key == "bad":
            return OperationResult(op.key, 400, error=ValidationError("bad value"))
        return ok(op, {"Id": 1})

    hub, store = FakeHub(answer), FakeStore()
    actions = [Create("risks", "bad", {}, "h"), Create("risks", "good", {}, "h")]
    with pytest.raises(SiteFailure, match=r"writing to the hub failed: .*bad value"):
        apply_actions(hub, store, central(), "s1", actions)
    assert store.calls == [("set", "risks", [("good", "s1", 1, "h")])]

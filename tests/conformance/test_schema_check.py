"""The $metadata checker itself: it refuses what SPO would never send, accepts what it does, and is
installed on every emulator while a test runs (docs/emulator.md, "Conformance")."""

from __future__ import annotations

import json

import pytest

from tests.conformance.schema_check import (
    DATA,
    KNOWN_DIFFERENCES,
    ConformanceRecorder,
    check_document,
    item_type,
    metadata,
)
from tests.conformance.spo import NOMETADATA, add_list, new_site
from veiviser.emulator.api import ApiResponse
from veiviser.emulator.app import SharePointApp
from veiviser.emulator.server import EmulatorServer

DEFERRED = {"__deferred": {"uri": "http://x/_api/Web/Lists"}}


def test_subset_names_its_origin_and_holds_the_types_the_emulator_emits():
    origin = json.loads(DATA.read_text(encoding="utf-8"))["origin"]
    assert origin["repository"] == "vgrem/Office365-REST-Python-Client"
    assert len(origin["commit"]) == 40
    for name in ("SP.Web", "SP.List", "SP.ListItem", "SP.FieldUser", "SP.ChangeItem", "SP.ChangeToken"):
        assert name in metadata()


@pytest.mark.parametrize(
    ("name", "ok"),
    [
        ("SP.Data.Prosjekt_x0020_StatusListItem", True),
        ("SP.Data.SharedDocumentsItem", True),
        ("SP.Data.PNP_x005f_SDK_x005f_TESTListItem", True),
        ("SP.Data.Prosjekt StatusListItem", False),
        ("SP.Data.Prosjekt_StatusListItem", False),  # '_' itself is written _x005f_
        ("SP.Data.ListItemX", False),
        ("SP.List", False),
    ],
)
def test_item_type_names(name, ok):
    assert item_type(name) is ok


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"d": {"__metadata": {"type": "SP.List"}, "Title": 5}}, "d.Title: Edm.String expected"),
        ({"d": {"__metadata": {"type": "SP.List"}, "Invented": 1}}, "d.Invented: not a property of SP.List"),
        ({"d": {"__metadata": {"type": "SP.Lists"}}}, "unknown type 'SP.Lists'"),
        ({"d": {"Title": "x", "Id": 1}}, "d: an object without __metadata"),
        ({"d": {"__metadata": {"type": "SP.List"}, "BaseTemplate": "100"}}, "Edm.Int32 expected"),
        ({"d": {"__metadata": {"type": "SP.List"}, "Hidden": None}}, "null for a non-nullable Edm.Boolean"),
        ({"d": {"__metadata": {"type": "SP.List"}, "Id": "not-a-guid"}}, "Edm.Guid expected"),
        ({"d": {"__metadata": {"type": "SP.List"}, "Created": "07.12.2026"}}, "Edm.DateTime expected"),
        (
            {"d": {"__metadata": {"type": "SP.RecycleBinItem"}, "Size": 12}},
            "d.Size: Edm.Int64 expected",
        ),
        (
            {"d": {"__metadata": {"type": "SP.Site"}, "CurrentChangeToken": {"StringValue": "1;1;x;1;1"}}},
            "SP.ChangeToken value without __metadata.type",
        ),
        (
            {"d": {"__metadata": {"type": "SP.FieldChoice"}, "Choices": ["a"]}},
            "Collection(Edm.String) must be",
        ),
        (
            {"d": {"__metadata": {"type": "SP.Data.XListItem"}, "Tags": ["a"]}},
            "bare JSON array",
        ),
        (
            {"d": {"__metadata": {"type": "SP.Data.XListItem"}, "Url": {"Url": "u", "Description": "d"}}},
            "object value without __metadata.type",
        ),
        ({"d": {"__metadata": {"type": "SP.Web"}, "Lists": {"__deferred": {}}}}, "deferred without uri"),
        ({"error": {"code": "-1, X", "message": "text"}}, "error: must be"),
    ],
)
def test_checker_refuses_what_spo_would_not_send(doc, expected):
    problems = check_document(doc)
    assert any(expected in p for p in problems), problems


def test_checker_accepts_spo_shapes():
    doc = {
        "d": {
            "__metadata": {"id": "u", "uri": "u", "type": "SP.Data.Risk_x0020_LogListItem"},
            "FileSystemObjectType": 0,
            "Id": 3,
            "ID": 3,
            "Title": "r",
            "GtTags": {"__metadata": {"type": "Collection(Edm.String)"}, "results": ["a"]},
            "GtLink": {"__metadata": {"type": "SP.FieldUrlValue"}, "Url": "u", "Description": "d"},
            "GtOwner": {"__metadata": {"id": "x", "type": "SP.Data.UserInfoItem"}, "Title": "Anne"},
            "ParentList": DEFERRED,
            "Versions": {"results": []},
        }
    }
    assert check_document(doc) == []
    site = {
        "d": {
            "__metadata": {"type": "SP.Site"},
            "CurrentChangeToken": {"__metadata": {"type": "SP.ChangeToken"}, "StringValue": "1;1;x;1;1"},
        }
    }
    assert check_document(site) == []
    error = {"error": {"code": "-1, X", "message": {"lang": "en-US", "value": "v"}}}
    assert check_document(error) == []


def test_every_emulator_is_observed_while_a_test_runs(server):
    recorders = [o for o in EmulatorServer.all_observers if isinstance(o, ConformanceRecorder)]
    assert len(recorders) == 1
    before = recorders[0].checked
    rest = new_site(server)
    rest.ok("GET", "/_api/web/lists")
    rest.call("GET", "/_api/web", accept=NOMETADATA)  # light answers are not verbose: not checked
    assert recorders[0].checked >= before + 2
    assert recorders[0].problems == []


def test_known_differences_are_set_aside_with_their_reason(monkeypatch):
    monkeypatch.setitem(KNOWN_DIFFERENCES, "Foo: not a property of SP.List", "a reason")
    recorder = ConformanceRecorder()
    answer = ApiResponse.json({"d": {"__metadata": {"type": "SP.List"}, "Foo": 1, "Bar": 2}})

    class Server:
        app = SharePointApp()

    try:
        recorder(Server(), "request", "GET", "/_api/x", "", answer)
    finally:
        Server.app.close()
    assert [p.split(": ", 1)[1] for p in recorder.known] == ["d.Foo: not a property of SP.List"]
    assert [p.split(": ", 1)[1] for p in recorder.problems] == ["d.Bar: not a property of SP.List"]


def test_form_values_that_are_not_text_are_echoed_as_text(server):
    """SP.ListItemFormUpdateValue holds strings: a number, boolean, list or object sent as a form value
    comes back as its text, and the answer conforms to $metadata (docs/emulator.md, "Conformance")."""
    rest = new_site(server)
    lst = add_list(rest, "Skjema")
    rest.ok(
        "POST",
        "/_api/web/lists/getbytitle('Skjema')/items",
        {"__metadata": {"type": lst["ListItemEntityTypeFullName"]}, "Title": "a"},
    )
    answer = rest.call(
        "POST",
        "/_api/web/lists/getbytitle('Skjema')/items(1)/ValidateUpdateListItem",
        {
            "formValues": [
                {"FieldName": 5, "FieldValue": "x"},
                {"FieldName": "Title", "FieldValue": [1, "b"]},
                {"FieldName": "Title", "FieldValue": 12.0},
                {"FieldName": "Title", "FieldValue": True},
                {"FieldName": "Title", "FieldValue": {"a": 1}},
            ],
            "bNewDocumentUpdate": False,
        },
    )
    assert check_document(answer.json()) == []
    rows = answer.json()["d"]["ValidateUpdateListItem"]["results"]
    assert [(r["FieldName"], r["FieldValue"]) for r in rows] == [
        ("5", "x"),
        ("Title", '[1,"b"]'),
        ("Title", "12"),
        ("Title", "True"),
        ("Title", '{"a":1}'),
    ]
    assert rows[0]["HasException"] and "Column '5' does not exist" in rows[0]["ErrorMessage"]

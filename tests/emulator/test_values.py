"""The per-type value converters (``veiviser.emulator.values``) and the router's dispatch tables."""

from __future__ import annotations

from typing import Any

import pytest

from veiviser.emulator.api import RestError
from veiviser.emulator.fields import BAD_QUERY, VALIDATION, new_field
from veiviser.emulator.model.router import FINISHES, STEPS
from veiviser.emulator.model.state import Node, NodeKind
from veiviser.emulator.values import CONVERTERS, convert, parse_taxonomy_text


def _field(type_name: str, **extra: Any) -> dict[str, Any]:
    return new_field(type_name, "Felt", "Felt", **extra)


@pytest.mark.parametrize(
    ("type_name", "extra", "value", "expected"),
    [
        ("Text", {}, "abc", "abc"),
        ("Text", {}, 12, "12"),
        ("Note", {}, None, None),
        ("Choice", {"Choices": ["A", "B"]}, "B", "B"),
        ("Choice", {"Choices": ["A"]}, "", ""),
        ("MultiChoice", {"Choices": ["A", "B"]}, {"results": ["A", "B"]}, ["A", "B"]),
        ("Number", {}, "1.5", 1.5),
        ("Number", {}, 3.0, 3),
        ("Integer", {}, 7, 7),
        ("Boolean", {}, "TRUE", True),
        ("Boolean", {}, "0", False),
        ("DateTime", {}, "2026-03-01", "2026-03-01T00:00:00Z"),
        ("DateTime", {}, "2026-03-01T12:00:00+01:00", "2026-03-01T11:00:00Z"),
        ("DateTime", {}, "", None),
        ("URL", {}, {"Url": "http://x"}, {"Url": "http://x", "Description": "http://x"}),
        ("Lookup", {}, "4", 4),
        ("User", {}, -1, None),
        ("LookupMulti", {}, {"results": [1, "2"]}, [1, 2]),
        ("TaxonomyFieldType", {}, {"Label": "L", "TermGuid": "ABC"}, {"Label": "L", "TermGuid": "abc"}),
        (
            "TaxonomyFieldTypeMulti",
            {},
            {"results": [{"Label": "L", "TermGuid": "ABC"}]},
            [{"Label": "L", "TermGuid": "abc"}],
        ),
    ],
)
def test_accepted_values_are_normalised(type_name, extra, value, expected):
    assert convert(_field(type_name, **extra), value, "Felt") == expected


@pytest.mark.parametrize(
    ("type_name", "extra", "value", "code"),
    [
        ("Text", {}, True, BAD_QUERY),
        ("Text", {"MaxLength": 3}, "abcd", VALIDATION),
        ("Choice", {"Choices": ["A"]}, "C", VALIDATION),
        ("Choice", {"Choices": ["A"]}, 1, BAD_QUERY),
        ("MultiChoice", {"Choices": ["A"]}, ["A"], BAD_QUERY),  # a bare array is refused
        ("MultiChoice", {"Choices": ["A"]}, {"results": ["C"]}, VALIDATION),
        ("Number", {}, "1 151,5", BAD_QUERY),
        ("Number", {}, True, BAD_QUERY),
        ("Number", {"MinimumValue": 0, "MaximumValue": 10}, 11, VALIDATION),
        ("Boolean", {}, "ja", BAD_QUERY),
        ("DateTime", {}, "01.03.2026", BAD_QUERY),
        ("URL", {}, "http://x", BAD_QUERY),
        ("Lookup", {}, "x", BAD_QUERY),
        ("LookupMulti", {}, {"results": [True]}, BAD_QUERY),
        ("TaxonomyFieldType", {}, {"Label": "L"}, BAD_QUERY),
        ("Calculated", {}, 1, BAD_QUERY),  # read-only
    ],
)
def test_refused_values_raise_the_sharepoint_error(type_name, extra, value, code):
    with pytest.raises(RestError) as info:
        convert(_field(type_name, **extra), value, "Felt")
    assert info.value.status == 400 and info.value.code == code


def test_taxonomy_text_is_split_into_terms():
    assert parse_taxonomy_text("-1;#Konsept|AB;#-1;#Planlegge|CD") == [
        {"Label": "Konsept", "TermGuid": "ab"},
        {"Label": "Planlegge", "TermGuid": "cd"},
    ]
    assert parse_taxonomy_text("") == []


def test_every_writable_field_type_has_a_converter():
    assert set(CONVERTERS) == {
        "Text", "Note", "Choice", "Guid", "MultiChoice", "Number", "Currency", "Integer", "Boolean",
        "DateTime", "URL", "Lookup", "User", "LookupMulti", "UserMulti", "TaxonomyFieldType",
        "TaxonomyFieldTypeMulti",
    }  # fmt: skip


def test_every_node_kind_is_routed_somewhere():
    assert set(STEPS) | set(FINISHES) == set(NodeKind)
    assert NodeKind.ROOT in STEPS and NodeKind.ROOT not in FINISHES


def test_a_node_without_a_list_says_so():
    node = Node(NodeKind.FIELDS, {"Id": "s"})
    assert node.parent_list is None
    with pytest.raises(AssertionError, match="has no list"):
        _ = node.lst

"""Item values in the shapes SPO returns (docs/emulator.md, "Item values" and "Calculated fields").

The expected shapes come from a recorded SPO answer: pnp/pnpcore,
src/sdk/PnP.Core.Test/SharePoint/MockData/ListItemTests/SpecialFieldCsomTest-2-00002.response.json and
RegularFieldCsomTest-2-00002.response.json (commit 95f18404): a calculated number is
"0.500000000000000", a single term's Label is its WssId as text, a multi-value field's terms carry
their labels, hidden taxonomy note fields and AuthorStringId/EditorStringId are not in the item.
"""

from __future__ import annotations

import pytest
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.list import List

from veiviser.emulator.fields import calculated_text

DUTCH = "108b34b1-87af-452d-be13-881a29477965"
ENGLISH = "8246e3c1-19ea-4b22-8ae3-df9cbc150a74"
TERMSET = "abcfc9d9-a263-4abb-8234-be973c46258a"


def _tax_xml(name: str, multi: bool) -> str:
    kind = "TaxonomyFieldTypeMulti" if multi else "TaxonomyFieldType"
    mult = ' Mult="TRUE"' if multi else ""
    return (
        f'<Field Type="{kind}" Name="{name}" DisplayName="{name}"{mult}><Customization><ArrayOfProperty>'
        f"<Property><Name>TermSetId</Name><Value>{TERMSET}</Value></Property>"
        "</ArrayOfProperty></Customization></Field>"
    )


@pytest.fixture
def lst(ctx: ClientContext) -> List:
    target = ctx.web.lists.add(ListCreationInformation("Verdiformer", None, 100)).execute_query()
    for xml in (
        '<Field Type="Number" Name="Del" DisplayName="Del" />',
        '<Field Type="Number" Name="Helhet" DisplayName="Helhet" />',
        '<Field Type="Calculated" Name="Andel" DisplayName="Andel" ResultType="Number">'
        "<Formula>=Del/Helhet</Formula><FieldRefs><FieldRef Name='Del'/><FieldRef Name='Helhet'/></FieldRefs></Field>",
        '<Field Type="Calculated" Name="Sum" DisplayName="Sum" ResultType="Number">'
        "<Formula>=Del+Helhet</Formula><FieldRefs><FieldRef Name='Del'/><FieldRef Name='Helhet'/></FieldRefs></Field>",
        _tax_xml("Spraak", multi=False),
        _tax_xml("Spraakene", multi=True),
        '<Field Type="User" Name="Ansvarlig" DisplayName="Ansvarlig" />',
    ):
        target.fields.create_field_as_xml(xml).execute_query()
    return target


def test_calculated_numbers_are_text_with_15_significant_digits(lst: List) -> None:
    item = lst.add_item({"Title": "a", "Del": 1, "Helhet": 2}).execute_query()
    got = lst.get_item_by_id(item.id).get().execute_query().properties
    assert got["Andel"] == "0.500000000000000"
    assert got["Sum"] == "3.00000000000000"
    empty = lst.add_item({"Title": "b", "Del": 1, "Helhet": 0}).execute_query()  # #DIV/0!
    assert lst.get_item_by_id(empty.id).get().execute_query().properties["Andel"] is None


@pytest.mark.parametrize(
    ("output", "value", "text"),
    [
        (9, 0.5, "0.500000000000000"),
        (9, 12, "12.0000000000000"),
        (9, -1234.5, "-1234.50000000000"),
        (9, 0.05, "0.0500000000000000"),
        (9, 0, "0"),
        (10, 99.5, "99.5000000000000"),
        (8, True, "1"),
        (8, False, "0"),
        (2, "Høy", "Høy"),
        (4, "2026-03-01T00:00:00Z", "2026-03-01T00:00:00Z"),
        (9, None, None),
    ],
)
def test_calculated_text_by_output_type(output: int, value: object, text: str | None) -> None:
    assert calculated_text({"OutputType": output}, value) == text


def test_taxonomy_labels_hidden_notes_and_string_ids(ctx: ClientContext, lst: List) -> None:
    kari = ctx.web.ensure_user("kari@kommune.no").execute_query()
    fields = {f.title: f for f in lst.fields.get().execute_query()}
    single_note, multi_note = fields["Spraak_0"], fields["Spraakene_0"]  # hidden, named like SPO
    item = lst.add_item(
        {
            "Title": "t",
            single_note.internal_name: f"-1;#Dutch|{DUTCH}",
            multi_note.internal_name: f"-1;#Dutch|{DUTCH};#-1;#English|{ENGLISH}",
            "AnsvarligId": kari.id,
        }
    ).execute_query()
    got = lst.get_item_by_id(item.id).get().execute_query().properties
    single = got["Spraak"]
    assert single["TermGuid"] == DUTCH and single["Label"] == str(single["WssId"])
    terms = list(got["Spraakene"].values())  # the client turns results into {index: value}
    assert [(t["Label"], t["TermGuid"]) for t in terms] == [("Dutch", DUTCH), ("English", ENGLISH)]
    assert single_note.internal_name not in got and multi_note.internal_name not in got
    assert got["AnsvarligStringId"] == str(kari.id)
    assert "AuthorId" in got and "AuthorStringId" not in got and "EditorStringId" not in got
    selected = lst.get_item_by_id(item.id).select([multi_note.internal_name]).get().execute_query()
    assert selected.properties[multi_note.internal_name] == f"Dutch|{DUTCH};English|{ENGLISH}"

"""ValidateUpdateListItem takes every value form SPO accepts and reports bad values per field with
HTTP 200 (docs/emulator.md, "ValidateUpdateListItem"). Real office365 client over HTTP.

The error entry's shape is recorded from SPO: pnp/pnpcore,
src/sdk/PnP.Core.Test/SharePoint/MockData/ListItemTests/UpdateWithWrongValuesInteractive-0-00008.response.json
(commit 95f18404): ErrorCode -2146232832, "Enter a date like this: 2/23/2012".
"""

from __future__ import annotations

from typing import Any

import pytest
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.list import List

from tests.support.emulator_model import client, create_site
from veiviser.emulator.model.forms import FormValueError, parse_form_date, parse_form_number
from veiviser.emulator.server import EmulatorServer

TERMSET = "abcfc9d9-a263-4abb-8234-be973c46258a"
KONSEPT = "99e85650-33de-4af4-b8db-edffbc8a310b"
PLAN = "cda4f1e1-3488-4e57-8a04-6973df239689"


@pytest.fixture
def lst(ctx: ClientContext) -> List:
    target = ctx.web.lists.add(ListCreationInformation("Skjema", None, 100)).execute_query()
    other = ctx.web.lists.add(ListCreationInformation("Oppslag", None, 100)).execute_query()
    other.add_item({"Title": "En"}).execute_query()
    other.add_item({"Title": "To"}).execute_query()
    tax = (
        '<Field Type="{t}" Name="{n}" DisplayName="{n}"{m}><Customization><ArrayOfProperty><Property>'
        f"<Name>TermSetId</Name><Value>{TERMSET}</Value></Property></ArrayOfProperty></Customization></Field>"
    )
    for xml in (
        '<Field Type="Number" Name="Tall" DisplayName="Tall" />',
        '<Field Type="Boolean" Name="JaNei" DisplayName="JaNei" />',
        '<Field Type="DateTime" Name="Dato" DisplayName="Dato" />',
        '<Field Type="URL" Name="Lenke" DisplayName="Lenke" />',
        '<Field Type="MultiChoice" Name="Valg" DisplayName="Valg"><CHOICES><CHOICE>a</CHOICE>'
        "<CHOICE>b</CHOICE><CHOICE>c</CHOICE></CHOICES></Field>",
        '<Field Type="User" Name="Eier" DisplayName="Eier" />',
        '<Field Type="UserMulti" Name="Deltakere" DisplayName="Deltakere" Mult="TRUE" />',
        f'<Field Type="Lookup" Name="Ett" DisplayName="Ett" List="{{{other.id}}}" ShowField="Title" />',
        f'<Field Type="LookupMulti" Name="Flere" DisplayName="Flere" List="{{{other.id}}}" ShowField="Title" Mult="TRUE" />',
        tax.format(t="TaxonomyFieldType", n="Fase", m=""),
        tax.format(t="TaxonomyFieldTypeMulti", n="Faser", m=' Mult="TRUE"'),
    ):
        target.fields.create_field_as_xml(xml).execute_query()
    return target


def _validate(lst: List, item_id: int, values: dict[str, str]) -> dict[str, Any]:
    result = lst.get_item_by_id(item_id).validate_update_list_item(values).execute_query()
    return {v.FieldName: v for v in result.value}


def test_every_form_value_form_is_taken(ctx: ClientContext, lst: List) -> None:
    item = lst.add_item({"Title": "a"}).execute_query()
    results = _validate(
        lst,
        item.id,
        {
            "Title": "b",
            "Tall": "1 234,5",
            "JaNei": "1",
            "Dato": "23.02.2012",
            "Lenke": "https://kommune.no, Kommunen",
            "Valg": "a;#c",
            "Eier": '[{"Key":"i:0#.f|membership|kari@kommune.no"}]',
            "Deltakere": '[{"Key":"i:0#.f|membership|ola@kommune.no"},{"Key":"per@kommune.no"}]',
            "Ett": "2;#",
            "Flere": "1;#;#2;#",
            "Fase": f"Konsept|{KONSEPT};",
            "Faser": f"Konsept|{KONSEPT};Planlegge|{PLAN}",
        },
    )
    assert not [r for r in results.values() if r.HasException], results
    got = lst.get_item_by_id(item.id).get().execute_query().properties
    kari = ctx.web.ensure_user("kari@kommune.no").execute_query()
    assert got["Title"] == "b" and got["Tall"] == 1234.5 and got["JaNei"] is True
    assert got["Dato"] == "2012-02-23T00:00:00Z"
    assert got["Lenke"]["Url"] == "https://kommune.no" and got["Lenke"]["Description"] == "Kommunen"
    assert list(got["Valg"].values()) == ["a", "c"]
    assert got["EierId"] == kari.id and len(got["DeltakereId"]) == 2
    assert got["EttId"] == 2 and list(got["FlereId"].values()) == [1, 2]
    assert got["Fase"]["TermGuid"] == KONSEPT
    assert [t["Label"] for t in got["Faser"].values()] == ["Konsept", "Planlegge"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("Dato", "2024-33-33", "Enter a date like this: 2/23/2012"),
        ("Tall", "mange", "Only numbers can go here."),
        ("JaNei", "kanskje", "'kanskje' is not a yes/no value; use 1 or 0."),
        ("Eier", '[{"Key":"i:0#.f|membership|ukjent@kommune.no"}]', "The specified user "),
        ("Eier", "[{", "is not a valid list of people"),
        ("Ett", "9;#", "does not exist in the target list"),
        ("Ett", "x;#", "is not a lookup value"),
        ("Valg", "z", "z"),
        ("Fase", "bare tekst", "is not a term"),
        ("Finnes ikke", "x", "Column 'Finnes ikke' does not exist."),
    ],
)
def test_bad_values_are_reported_per_field_and_nothing_is_written(
    lst: List, field: str, value: str, message: str
) -> None:
    item = lst.add_item({"Title": "a"}).execute_query()
    results = _validate(lst, item.id, {"Title": "endret", field: value})
    assert results["Title"].HasException is False and results["Title"].ErrorMessage is None
    bad = results[field]
    assert bad.HasException is True and bad.ErrorCode == -2146232832 and bad.FieldValue == value
    assert message in bad.ErrorMessage
    got = lst.get_item_by_id(item.id).get().execute_query().properties
    assert got["Title"] == "a"  # one bad field: the item is not written


def test_english_site_takes_us_dates() -> None:
    with EmulatorServer() as server:
        host = server.url.split("://", 1)[1]
        ctx = client(server, server.url + create_site(server.app, lcid=1033, host=host))
        lst = ctx.web.lists.add(ListCreationInformation("Forms", None, 100)).execute_query()
        lst.fields.create_field_as_xml(
            '<Field Type="DateTime" Name="When" DisplayName="When" />'
        ).execute_query()
        item = lst.add_item({"Title": "a"}).execute_query()
        results = _validate(lst, item.id, {"When": "2/23/2012 3:30 PM", "Title": "1,234"})
        assert not any(r.HasException for r in results.values())
        assert lst.get_item_by_id(item.id).get().execute_query().properties["When"] == "2012-02-23T15:30:00Z"


@pytest.mark.parametrize(
    ("raw", "lcid", "iso"),
    [
        ("2012-02-23", 1044, "2012-02-23T00:00:00Z"),
        ("2012-02-23T10:15:00Z", 1033, "2012-02-23T10:15:00Z"),
        ("23.2.2012 10:15", 1044, "2012-02-23T10:15:00Z"),
        ("2/23/2012", 1033, "2012-02-23T00:00:00Z"),
        ("12/1/2012 12:05 AM", 1033, "2012-12-01T00:05:00Z"),
    ],
)
def test_form_dates(raw: str, lcid: int, iso: str) -> None:
    assert parse_form_date(raw, lcid) == iso


@pytest.mark.parametrize("raw", ["30.02.2012", "2012-13-01", "i morgen", "2/30/2012"])
def test_impossible_form_dates(raw: str) -> None:
    with pytest.raises(FormValueError, match="Enter a date like this"):
        parse_form_date(raw, 1044)


def test_form_numbers() -> None:
    assert parse_form_number("1.234,5", 1044) == 1234.5
    assert parse_form_number("1,234.5", 1033) == 1234.5
    assert parse_form_number("0.5", 1044) == 0.5

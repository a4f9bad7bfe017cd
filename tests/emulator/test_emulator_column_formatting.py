"""Column formatting: fields store ``CustomFormatter`` (JSON as text) from SchemaXml and MERGE and
return it (docs/emulator.md, "Column formatting"). Real office365 client over HTTP."""

from __future__ import annotations

import json

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

FORMAT = {
    "$schema": "https://developer.microsoft.com/json-schemas/sp/v2/column-formatting.schema.json",
    "elmType": "div",
    "txtContent": "@currentField",
    "style": {"color": "=if(@currentField > 12, '#a4262c', '')"},
}


def test_custom_formatter_from_schema_xml_and_merge(ctx: ClientContext) -> None:
    lst = ctx.web.lists.add(ListCreationInformation("Formatert", None, 100)).execute_query()
    text = json.dumps(FORMAT)
    quoted = text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")
    made = lst.fields.create_field_as_xml(
        f'<Field Type="Number" Name="Score" DisplayName="Score" CustomFormatter="{quoted}" />'
    ).execute_query()
    field = lst.fields.get_by_id(made.id).get().execute_query()
    assert json.loads(field.properties["CustomFormatter"]) == FORMAT
    assert "CustomFormatter=" in field.properties["SchemaXml"]
    plain = lst.fields.add_text_field("Uformatert").execute_query()
    assert lst.fields.get_by_id(plain.id).get().execute_query().properties["CustomFormatter"] is None
    # MERGE sets it, and null clears it
    new = json.dumps({**FORMAT, "txtContent": "=@currentField + ' poeng'"})
    lst.fields.get_by_id(plain.id).set_property("CustomFormatter", new).update().execute_query()
    assert lst.fields.get_by_id(plain.id).get().execute_query().properties["CustomFormatter"] == new
    lst.fields.get_by_id(plain.id).set_property("CustomFormatter", None).update().execute_query()
    assert lst.fields.get_by_id(plain.id).get().execute_query().properties["CustomFormatter"] is None


def test_custom_formatter_must_be_text(ctx: ClientContext) -> None:
    lst = ctx.web.lists.add(ListCreationInformation("Formatert2", None, 100)).execute_query()
    fld = lst.fields.add_text_field("Felt").execute_query()
    with pytest.raises(ClientRequestException) as err:
        lst.fields.get_by_id(fld.id).set_property("CustomFormatter", FORMAT).update().execute_query()
    assert err.value.response.status_code == 400
    assert "'CustomFormatter'" in err.value.message and "Edm.String" in err.value.message

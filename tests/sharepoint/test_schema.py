"""The schema request builders: exact paths, bodies and resend safety (no SharePoint needed)."""

from __future__ import annotations

import json

from veiviser.sharepoint import ListTarget
from veiviser.sharepoint import schema as sp
from veiviser.sharepoint.batch import operation_body, render_part
from veiviser.sharepoint.paths import title_segment

BY_ID = ListTarget.by_id("0f0e0d0c-0000-4000-8000-000000000001")
BY_TITLE = ListTarget.by_title("Interessent's register")


def test_list_targets() -> None:
    assert BY_ID.path == "Web/lists(guid'0f0e0d0c-0000-4000-8000-000000000001')"
    assert BY_TITLE.path == "Web/lists/GetByTitle('Interessent''s register')"
    assert BY_TITLE.title == "Interessent's register" and BY_ID.title is None
    assert title_segment("O'Brien") == "'O''Brien'"


def test_site_reads() -> None:
    assert sp.read_site(key="site").path == "Site?$select=Id,IsHubSite,HubSiteId,Url"
    assert sp.read_site("HubSiteId").path == "Site?$select=HubSiteId"
    assert sp.read_web().path == "Web?$select=Id,Title,Url"
    assert sp.read_lists().path.startswith("Web/lists?$select=Id,Title,BaseTemplate,")
    assert sp.read_site_content_types().path == "Web/ContentTypes?$select=StringId,Name"
    assert sp.read_hub_sites().path == "hubSites"
    assert sp.read_site_fields().path == "Web/Fields?$select=InternalName"
    assert sp.read_field_links("0x0100AB").path == "Web/ContentTypes('0x0100AB')/FieldLinks?$select=Name"
    for op in (sp.read_site(), sp.read_lists(), sp.read_field_links("0x01")):
        assert op.verb == "GET" and op.is_read and op.body is None


def test_list_reads() -> None:
    assert sp.read_list_fields(BY_ID).path == f"{BY_ID.path}/Fields"
    assert sp.read_views(BY_ID).path == f"{BY_ID.path}/Views?$select=Id,Title"
    assert sp.read_view_fields(BY_ID, "Alle elementer").path == (
        f"{BY_ID.path}/Views/GetByTitle('Alle elementer')/ViewFields"
    )


def test_list_and_content_type_writes() -> None:
    op = sp.create_list({"Title": "Mleindikatorer", "BaseTemplate": 100}, key=0)
    assert (op.verb, op.path) == ("POST", "Web/lists")
    assert list(op.body) == ["Title", "BaseTemplate", "__metadata"]  # entity type last
    assert op.body["__metadata"] == {"type": "SP.List"}
    assert not op.safe_to_resend  # a create may already have been applied

    op = sp.update_list(BY_ID, {"Title": "Måleindikatorer"})
    assert (op.verb, op.path, op.body) == (
        "MERGE",
        BY_ID.path,
        {"Title": "Måleindikatorer", "__metadata": {"type": "SP.List"}},
    )
    assert op.safe_to_resend

    op = sp.create_content_type("0x0100AB", "Risiko", "", "Prosjektportalen")
    assert (op.verb, op.path) == ("POST", "Web/ContentTypes")
    assert op.body == {
        "Id": {"StringValue": "0x0100AB", "__metadata": {"type": "SP.ContentTypeId"}},
        "Name": "Risiko",
        "Description": "",
        "Group": "Prosjektportalen",
        "__metadata": {"type": "SP.ContentType"},
    }

    web_link = sp.add_field_link("0x0100AB", "GtRiskProbability")
    list_link = sp.add_field_link("0x0100AB00CD", "GtRiskProbability", BY_ID)
    assert web_link.path == "Web/ContentTypes('0x0100AB')/FieldLinks"
    assert list_link.path == f"{BY_ID.path}/ContentTypes('0x0100AB00CD')/FieldLinks"
    assert web_link.body == {"FieldInternalName": "GtRiskProbability", "__metadata": {"type": "SP.FieldLink"}}

    bind = sp.bind_content_type(BY_ID, "0x0100AB")
    assert (bind.verb, bind.path, bind.body) == (
        "POST",
        f"{BY_ID.path}/ContentTypes/AddAvailableContentType('0x0100AB')",
        None,
    )
    remove = sp.remove_content_type(BY_ID, "0x0100FF")
    assert (remove.verb, remove.path) == ("DELETE", f"{BY_ID.path}/ContentTypes('0x0100FF')")


def test_field_writes() -> None:
    xml = '<Field Type="Text" Name="GtX" DisplayName="X"/>'
    site_column = sp.create_field_as_xml(xml)
    on_list = sp.create_field_as_xml(xml, BY_ID)
    assert site_column.path == "Web/Fields/CreateFieldAsXml"
    assert on_list.path == f"{BY_ID.path}/Fields/CreateFieldAsXml"
    assert on_list.body == {
        "parameters": {
            "SchemaXml": xml,
            "Options": sp.ADD_FIELD_INTERNAL_NAME_HINT,
            "__metadata": {"type": "SP.XmlSchemaFieldCreationInformation"},
        }
    }
    choices = sp.set_choices(BY_ID, "GtRiskStrategy", ["Unngå", "Redusere"])
    assert choices.verb == "MERGE"
    assert choices.path == f"{BY_ID.path}/Fields/getByInternalNameOrTitle('GtRiskStrategy')"
    assert choices.body == {
        "Choices": {"__metadata": {"type": "Collection(Edm.String)"}, "results": ["Unngå", "Redusere"]},
        "__metadata": {"type": "SP.FieldChoice"},
    }
    assert sp.set_choices(BY_ID, "F", ["a"], multi=True).body["__metadata"] == {"type": "SP.FieldMultiChoice"}
    indexed = sp.set_indexed(BY_ID, "GtSiteId")
    assert indexed.body == {"Indexed": True, "__metadata": {"type": "SP.Field"}}


def test_view_writes() -> None:
    op = sp.create_view(
        BY_ID, "Mine", fields=["LinkTitle", "GtX"], row_limit=30, query="<Where/>", default=False
    )
    assert (op.verb, op.path) == ("POST", f"{BY_ID.path}/Views/Add")
    assert op.body == {
        "parameters": {
            "Title": "Mine",
            "ViewFields": {"__metadata": {"type": "Collection(Edm.String)"}, "results": ["LinkTitle", "GtX"]},
            "RowLimit": 30,
            "Query": "<Where/>",
            "SetAsDefaultView": False,
            "__metadata": {"type": "SP.ViewCreationInformation"},
        }
    }
    update = sp.update_view(BY_ID, "Alle elementer", {"RowLimit": 100})
    assert (update.verb, update.path) == ("MERGE", f"{BY_ID.path}/Views/GetByTitle('Alle elementer')")
    assert update.body == {"RowLimit": 100, "__metadata": {"type": "SP.View"}}
    add = sp.add_view_field(BY_ID, "Alle elementer", "GtRisk'Factor")
    assert add.path == (
        f"{BY_ID.path}/Views/GetByTitle('Alle elementer')/ViewFields/AddViewField('GtRisk''Factor')"
    )


def test_hub_operations() -> None:
    assert sp.register_hub_site().path == "Site/RegisterHubSite"
    assert sp.join_hub_site("abc").path == "Site/JoinHubSite('abc')"


def test_naming() -> None:
    assert sp.encode_leaf("Gevinstanalyse og") == "Gevinstanalyse_x0020_og"
    assert sp.encode_leaf("Må") == "M_x00e5_"
    assert sp.item_entity_type("Mleindikatorer", 100) == "SP.Data.MleindikatorerListItem"
    assert sp.item_entity_type("Dokumenter", 101) == "SP.Data.DokumenterItem"
    assert sp.is_generic_item_ct("0x0100" + "a" * 32)
    assert not sp.is_generic_item_ct("0x0100" + "a" * 32 + "00" + "b" * 32)


def test_a_built_operation_renders_as_a_batch_part() -> None:
    op = sp.set_choices(BY_TITLE, "Status", ["Åpen"])
    text = render_part(op, "https://x/sites/a/_api", {}).decode()
    assert text.splitlines()[3] == (
        "MERGE https://x/sites/a/_api/Web/lists/GetByTitle('Interessent''s%20register')"
        "/Fields/getByInternalNameOrTitle('Status') HTTP/1.1"
    )
    assert json.loads(operation_body(op)) == op.body

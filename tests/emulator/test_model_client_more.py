"""Contract tests, continued: the object model parts issue 9 added (the User Information List,
AvailableFields, GetLookupFieldChoices, a Tasks list's views, ContentType.Update,
AddValidateUpdateItem[UsingPath], void hub answers), driven by the real office365 client over HTTP."""

from __future__ import annotations

import json

import pytest
import requests  # the raw answer body is what the hub test compares
from office365.runtime.client_request_exception import ClientRequestException
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.contenttypes.creation_information import ContentTypeCreationInformation
from office365.sharepoint.listitems.creation_information import ListItemCreationInformation
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.templates.type import ListTemplateType

from tests.support.emulator_model import client, create_site

CT_ID = "0x0100AB12CD34EF5600"


def generic_list(ctx: ClientContext, title: str):
    return ctx.web.lists.add(
        ListCreationInformation(title, None, ListTemplateType.GenericList)
    ).execute_query()


def test_user_information_list_by_title_id_and_siteuserinfolist(server, ctx):
    server.add_user("kari@kommune.no", "Kari Nordmann")
    ctx.web.ensure_user("kari@kommune.no").execute_query()
    by_title = ctx.web.lists.get_by_title("User Information List").get().execute_query()
    assert by_title.properties["BaseTemplate"] == 112 and by_title.properties["Hidden"] is True
    items = ctx.web.lists.get_by_title("User Information List").items.get_all(page_size=1000).execute_query()
    names = [i.properties["Name"] for i in items]
    assert "i:0#.f|membership|kari@kommune.no" in names and all(
        i.properties["ContentTypeId"] == "0x010A" for i in items
    )
    by_id = ctx.web.lists.get_by_id(by_title.id).items.get().execute_query()
    assert [i.properties["Name"] for i in by_id] == names
    same = ctx.web.site_user_info_list.get().execute_query()
    assert same.id == by_title.id
    with pytest.raises(ClientRequestException) as err:
        ctx.web.lists.get_by_title("User Information List").get_item_by_id(9999).get().execute_query()
    assert err.value.response.status_code == 404 and err.value.code.startswith("-2130575338")


def test_a_stored_list_named_like_the_user_information_list_wins(ctx):
    own = generic_list(ctx, "User Information List")
    found = ctx.web.lists.get_by_title("User Information List").get().execute_query()
    assert found.id == own.id and found.properties["BaseTemplate"] == 100


def test_web_available_fields_are_the_site_columns(ctx):
    available = ctx.web.available_fields.get().execute_query()
    fields = ctx.web.fields.get().execute_query()
    assert {f.internal_name for f in available} == {f.internal_name for f in fields}
    assert "Title" in {f.internal_name for f in available}


def test_lookup_field_choices_page_through_the_target_list(ctx):
    target = generic_list(ctx, "Mål")
    for n in range(1, 106):
        target.add_item({"Title": f"Mål {n}"})
    ctx.execute_batch()
    lst = generic_list(ctx, "Tiltak")
    lst.fields.add_lookup_field("Maal", target.id, "Title").execute_query()
    first = json.loads(lst.get_lookup_field_choices("Maal").execute_query().value)
    assert len(first["Items"]) == 100 and first["Items"][0] == {"LookupId": 1, "LookupValue": "Mål 1"}
    assert first["NextPagingInfo"] == "100"
    rest = json.loads(lst.get_lookup_field_choices("Maal", first["NextPagingInfo"]).execute_query().value)
    assert [r["LookupId"] for r in rest["Items"]] == [101, 102, 103, 104, 105]
    assert rest["NextPagingInfo"] is None


def test_lookup_field_choices_of_a_choice_column_and_the_errors(ctx):
    lst = generic_list(ctx, "Valg")
    lst.fields.add_choice_field("Status", ["Ny", "Pågår", "Ferdig"], multiple_values=True).execute_query()
    got = json.loads(lst.get_lookup_field_choices("Status").execute_query().value)
    assert [r["LookupValue"] for r in got["Items"]] == ["Ny", "Pågår", "Ferdig"]
    with pytest.raises(ClientRequestException) as err:
        lst.get_lookup_field_choices("Finnesikke").execute_query()
    assert err.value.response.status_code == 400 and "Finnesikke" in str(err.value)
    with pytest.raises(ClientRequestException) as err:
        lst.get_lookup_field_choices("Title").execute_query()
    assert "has no choices" in str(err.value)


@pytest.mark.parametrize(
    ("lcid", "titles"),
    [
        (
            1033,
            ["All Tasks", "Calendar", "Completed", "Gantt Chart", "Late Tasks", "My Tasks", "Upcoming"],
        ),
        (
            1044,
            [
                "Alle oppgaver",
                "Fullført",
                "Forsinkede oppgaver",
                "Gantt-diagram",
                "Kalender",
                "Kommende",
                "Mine oppgaver",
            ],
        ),
    ],
)
def test_a_tasks_list_gets_the_template_views(server, lcid, titles):
    host = server.url.split("://", 1)[1]
    ctx = client(server, server.url + create_site(server.app, host=host, lcid=lcid))
    for template in (ListTemplateType.Tasks, ListTemplateType.TasksWithTimelineAndHierarchy):
        lst = ctx.web.lists.add(
            ListCreationInformation(f"Oppgaver {template}", None, template)
        ).execute_query()
        views = lst.views.get().execute_query()
        assert sorted(v.title for v in views) == sorted(titles)
        default = [v for v in views if v.properties["DefaultView"]]
        assert [v.title for v in default] == [titles[0]]
        assert default[0].properties["ServerRelativeUrl"].endswith("/AllItems.aspx")
        late = next(v for v in views if v.title in ("Late Tasks", "Forsinkede oppgaver"))
        assert late.properties["ServerRelativeUrl"].endswith("/late.aspx")
        assert "<Today/>" in late.properties["ViewQuery"]
    generic = generic_list(ctx, "Vanlig")
    assert len(generic.views.get().execute_query()) == 1


def test_content_type_update_pushes_to_the_list_content_types(ctx):
    ct = ctx.web.content_types.add(
        ContentTypeCreationInformation("Risiko", "Før", CT_ID, "Veiviser")
    ).execute_query()
    lst = generic_list(ctx, "Risikoer")
    lst.set_property("ContentTypesEnabled", True).update().execute_query()
    lst.content_types.add_available_content_type(CT_ID).execute_query()
    ct.set_property("Description", "Etter")
    ct.update(update_children=False).execute_query()
    children = [c for c in lst.content_types.get().execute_query() if c.name == "Risiko"]
    assert [c.description for c in children] == ["Før"]  # not pushed without updateChildren
    ct.set_property("Description", "Etter")
    ct.update(update_children=True).execute_query()
    children = [c for c in lst.content_types.get().execute_query() if c.name == "Risiko"]
    assert [c.description for c in children] == ["Etter"]
    assert ctx.web.content_types.get_by_id(CT_ID).get().execute_query().description == "Etter"


def test_add_validate_update_item_makes_the_item_only_when_every_value_is_valid(ctx):
    lst = generic_list(ctx, "Skjema")
    lst.fields.add_number("Antall").execute_query()
    info = ListItemCreationInformation()
    result = lst.add_validate_update_item(info, {"Title": "Først", "Antall": "12,5"}).execute_query()
    rows = [r.to_json() for r in result.value]
    assert [(r["FieldName"], r["FieldValue"], r["ItemId"]) for r in rows] == [
        ("Title", "Først", 0),
        ("Antall", "12,5", 0),
        ("Id", "1", 0),
    ]
    item = lst.get_item_by_id(1).get().execute_query()
    assert item.properties["Title"] == "Først" and item.properties["Antall"] == 12.5
    bad = lst.add_validate_update_item(info, {"Title": "Andre", "Antall": "mange"}).execute_query()
    rows = [r.to_json() for r in bad.value]
    assert [r["FieldName"] for r in rows] == ["Title", "Antall"]  # no Id: nothing was made
    assert rows[1]["HasException"] and rows[1]["ErrorMessage"] == "Only numbers can go here."
    assert len(lst.items.get().execute_query()) == 1


def test_add_validate_update_item_refuses_another_folder(ctx):
    lst = generic_list(ctx, "Mappe")
    info = ListItemCreationInformation()
    info.FolderUrl = "/sites/annet/Lists/X"
    with pytest.raises(ClientRequestException) as err:
        lst.add_validate_update_item(info, {"Title": "x"}).execute_query()
    assert err.value.response.status_code == 400 and "root folder" in str(err.value)
    assert len(lst.items.get().execute_query()) == 0


def test_hub_join_and_unregister_answer_the_void_result(server):
    host = server.url.split("://", 1)[1]
    hub = client(server, server.url + create_site(server.app, host=host))
    project = client(server, server.url + create_site(server.app, host=host))
    hub.site.register_hub_site().execute_query()
    hub_id = hub.site.select(["Id"]).get().execute_query().id
    verbose = {"Accept": "application/json;odata=verbose"}

    def post(ctx: ClientContext, op: str) -> dict:
        url = f"{ctx.base_url}/_api/site/{op}"
        token = {"Authorization": f"Bearer {server.token}"}
        info = requests.post(f"{ctx.base_url}/_api/contextinfo", headers=token | verbose).json()
        digest = info["d"]["GetContextWebInformation"]["FormDigestValue"]
        r = requests.post(url, headers=token | verbose | {"X-RequestDigest": digest})
        assert r.status_code == 200, r.text
        return r.json()

    assert post(project, f"JoinHubSite('{hub_id}')") == {"d": {"JoinHubSite": None}}
    assert project.site.select(["HubSiteId"]).get().execute_query().properties["HubSiteId"] == hub_id
    project.site.join_hub_site("00000000-0000-0000-0000-000000000000").execute_query()  # the client takes it
    assert post(hub, "UnRegisterHubSite") == {"d": {"UnRegisterHubSite": None}}

"""Fidelity details the client's own tests rely on (docs/emulator.md, "Upstream fidelity tests"), with
the real client over HTTP.

Recycle bin restore, RootFolder/Folders/add, getRelatedFields, GetUserEffectivePermissions, the
Tasks templates' columns and base view, ``$expand=ViewFields``, item navigation properties,
content type changes on the web and the doubled ``FolderUrl`` of ``addItem`` (docs/emulator.md,
"Client quirks").
"""

from __future__ import annotations

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.sharepoint.changes.query import ChangeQuery
from office365.sharepoint.contenttypes.creation_information import ContentTypeCreationInformation
from office365.sharepoint.listitems.creation_information import ListItemCreationInformation
from office365.sharepoint.listitems.listitem import ListItem
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.templates.type import ListTemplateType
from office365.sharepoint.permissions.base_permissions import BasePermissions
from office365.sharepoint.views.create_information import ViewCreationInformation


def _type(change) -> int:
    value = change.properties["ChangeType"]
    return int(getattr(value, "value", value))


def _generic(ctx, title="Liste"):
    return ctx.web.lists.add(ListCreationInformation(title, None, 100)).execute_query()


def test_recycle_then_restore_from_the_web_recycle_bin(ctx):
    lst = _generic(ctx)
    item = lst.add_item({"Title": "a"}).execute_query()
    item_id = item.id
    rb_id = item.recycle().execute_query().value
    assert len(rb_id) == 36
    assert len(lst.items.get().execute_query()) == 0
    bin_items = ctx.web.recycle_bin.get().execute_query()
    assert [b.properties["Id"] for b in bin_items] == [rb_id]
    ctx.web.recycle_bin.get_by_id(rb_id).restore().execute_query()
    restored = lst.items.get().execute_query()
    assert [(i.id, i.properties["Title"]) for i in restored] == [(item_id, "a")]
    assert len(ctx.web.recycle_bin.get().execute_query()) == 0
    with pytest.raises(ClientRequestException) as info:  # already restored: no longer in the bin
        ctx.web.recycle_bin.get_by_id(rb_id).restore().execute_query()
    assert info.value.response.status_code == 404
    query = ChangeQuery(Item=True, Restore=True)
    types = [_type(c) for c in lst.get_changes(query).execute_query()]
    assert types == [1, 3, 7]  # Add, DeleteObject, Restore
    # ChangeQuery's defaults ask for Add/Update/SystemUpdate/DeleteObject only, so no Restore
    types = [_type(c) for c in lst.get_changes(ChangeQuery(Item=True)).execute_query()]
    assert types == [1, 3]


def test_folders_added_to_a_list_root_folder_are_not_items(ctx):
    lst = _generic(ctx)
    lst.set_property("EnableFolderCreation", True).update().execute_query()
    assert lst.get().execute_query().properties["EnableFolderCreation"] is True
    folder = lst.root_folder.folders.add("Arkiv").execute_query()
    assert folder.server_relative_url.endswith("/Lists/Liste/Arkiv")
    assert [f.name for f in lst.root_folder.folders.get().execute_query()] == ["Arkiv"]
    assert len(lst.items.get().execute_query()) == 0


def test_tasks_template_columns_related_fields_and_base_view(ctx):
    lst = ctx.web.lists.add_tasks("Oppgaver").execute_query()
    names = {f.internal_name for f in lst.fields.get().execute_query()}
    assert {
        "Predecessors",
        "Priority",
        "Status",
        "PercentComplete",
        "AssignedTo",
        "DueDate",
        "Checkmark",
    } <= names
    related = lst.get_related_fields().get().execute_query()
    assert [r.properties["FieldId"] for r in related] == ["c3a92d97-2b77-4a25-9698-3ab54874bc6f"]
    generic = _generic(ctx, "Uten oppslag")
    assert len(generic.get_related_fields().get().execute_query()) == 0
    # a view created without ViewFields gets the template's base view fields
    info = ViewCreationInformation()
    info.Title = "Mine"
    view = lst.views.add(info).execute_query()
    expanded = view.expand(["ViewFields"]).get().execute_query()
    assert list(expanded.view_fields) == ["Checkmark", "LinkTitle", "DueDate", "AssignedTo"]
    assert list(view.view_fields.get().execute_query()) == ["Checkmark", "LinkTitle", "DueDate", "AssignedTo"]


def test_user_effective_permissions(ctx):
    lst = _generic(ctx)
    result = lst.get_user_effective_permissions(ctx.web.current_user).execute_query()
    assert isinstance(result.value, BasePermissions)
    assert int(result.value.Low) == 4294967295 and int(result.value.High) == 2147483647  # full control
    with pytest.raises(ClientRequestException):
        lst.get_user_effective_permissions("i:0#.f|membership|nobody@nowhere.example").execute_query()


def test_item_navigation_properties_are_deferred_and_attachments_expand(ctx):
    lst = _generic(ctx)
    lst.add_item({"Title": "a"}).execute_query()
    items = lst.items.top(5)
    ctx.load(items, ["Id", "AttachmentFiles"])
    ctx.execute_query()
    assert len(items) == 1 and items[0].properties["Id"] == 1
    item = lst.get_item_by_id(1).expand(["AttachmentFiles"]).get().execute_query()
    assert len(item.attachment_files) == 0
    with pytest.raises(ClientRequestException):  # a lookup column still needs $expand (SPO's rule)
        lst.items.select(["Author"]).get().execute_query()


def test_content_type_changes_are_logged_on_the_web(ctx):
    token = ctx.web.get_changes(ChangeQuery(ContentType=True)).execute_query()
    before = len(token)
    ct = ctx.web.content_types.add(ContentTypeCreationInformation("Gevinst")).execute_query()
    ct.description = "ny"
    ct.update(True).execute_query()
    ct.delete_object().execute_query()
    changes = ctx.web.get_changes(ChangeQuery(ContentType=True)).execute_query()
    assert [_type(c) for c in changes][before:] == [1, 2, 3]


def test_add_item_with_creation_information_is_refused_with_a_clear_error(ctx):
    lst = _generic(ctx, "AddItem")
    with pytest.raises(ClientRequestException) as info:
        lst.add_item(ListItemCreationInformation()).execute_query()
    assert info.value.response.status_code == 400
    message = info.value.response.json()["error"]["message"]["value"]
    assert "/sites/" in message and "docs/emulator.md" in message
    assert len(lst.items.get().execute_query()) == 0  # nothing was written
    # with a correct FolderUrl, addItem itself works (an empty item in the root folder)
    root = lst.root_folder.get().execute_query().server_relative_url
    new_item = ListItem(ctx, None, lst)
    lst.items.add_child(new_item)
    info_ok = ListItemCreationInformation()
    info_ok.FolderUrl = root
    ctx.add_query(ServiceOperationQuery(lst, "addItem", None, {"parameters": info_ok}, None, new_item))
    ctx.execute_query()
    assert new_item.id == 1
    assert [i.id for i in lst.items.get().execute_query()] == [1]


def test_list_template_171_is_what_the_upstream_list_test_creates(ctx):
    lst = ctx.web.lists.add_list(
        "Tidslinje", template_type=ListTemplateType.TasksWithTimelineAndHierarchy, allow_content_types=True
    ).execute_query()
    assert lst.properties["BaseTemplate"] == 171
    assert len(lst.get_related_fields().get().execute_query()) == 1


def test_site_pages_events_default_library_and_list_paths(ctx):
    pages = ctx.web.get_list_by_title("Områdesider").get().execute_query()  # an Lcid 1044 site
    assert pages.properties["BaseTemplate"] == 119
    assert pages.properties["ListItemEntityTypeFullName"] == "SP.Data.SitePagesItem"
    assert ctx.web.get_list("SitePages").get().execute_query().id == pages.id
    assert ctx.web.get_list_using_path("SitePages").execute_query().id == pages.id
    assert pages.root_folder.get().execute_query().server_relative_url.endswith("/SitePages")
    docs = ctx.web.default_document_library().get().execute_query()
    assert docs.properties["BaseTemplate"] == 101
    events = ctx.web.lists.ensure_events_list().execute_query()
    again = ctx.web.lists.ensure_events_list().execute_query()
    assert events.properties["BaseTemplate"] == 106 and again.id == events.id
    with pytest.raises(ClientRequestException) as info:
        ctx.web.get_list("Lists/Finnes ikke").get().execute_query()
    assert info.value.response.status_code == 404


def test_versions_comments_and_name_resource(ctx):
    lst = _generic(ctx)
    item = lst.add_item({"Title": "a"}).execute_query()
    item.set_property("Title", "b").update().execute_query()
    versions = item.versions.get().execute_query()
    assert [v.properties["VersionLabel"] for v in versions] == ["2.0"]
    assert len(item.get_comments().execute_query()) == 0
    item.set_comments_disabled(True).execute_query()
    ct = ctx.web.content_types.add(ContentTypeCreationInformation("Usikkerhet")).execute_query()
    ct.name_resource.set_value_for_ui_culture("nb-NO", "Usikkerhet (bokmål)").execute_query()
    assert ct.name_resource.get_value_for_ui_culture("nb-NO").execute_query().value == "Usikkerhet (bokmål)"
    assert ct.name_resource.get_value_for_ui_culture("fi-FI").execute_query().value == "Usikkerhet"


def test_user_information_list_is_a_hidden_list_of_the_site_users(ctx):
    ctx.web.ensure_user("kari@kommune.no").execute_query()
    users = ctx.web.site_users.get().execute_query()
    info = ctx.web.site_user_info_list.get().execute_query()
    assert info.properties["BaseTemplate"] == 112 and info.properties["Hidden"] is True
    assert info.item_count == len(users)
    items = info.items.top(1000).get().execute_query()
    assert sorted(i.id for i in items) == sorted(u.id for u in users)
    kari = next(i for i in items if i.properties["EMail"] == "kari@kommune.no")
    assert kari.properties["Name"] == "i:0#.f|membership|kari@kommune.no"

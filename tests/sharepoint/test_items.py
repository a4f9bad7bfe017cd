"""The typed request builders of ``veiviser.sharepoint.items``: exact paths, bodies and flags."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from veiviser.sharepoint import ListTarget, ValidationError
from veiviser.sharepoint import items as rest
from veiviser.sharepoint.batch import operation_body, render_part
from veiviser.sharepoint.values import LookupValue

BY_ID = ListTarget.by_id("0f0e0d0c-0000-4000-8000-000000000001")
BY_TITLE = ListTarget.by_title("Interessent's register")


def test_get_items_orders_options_and_quotes_titles():
    op = rest.get_items(
        "O'Brien", select=["ID", "Title"], expand=["Owner"], filter="ID eq 1", top=10, key="k"
    )
    assert op.method == "GET" and op.key == "k" and op.list == "O'Brien"
    assert op.path == (
        "Web/lists/GetByTitle('O''Brien')/items?$select=ID,Title&$expand=Owner&$filter=ID eq 1&$top=10"
    )
    assert op.is_read and op.safe_to_resend


def test_get_items_leaves_out_empty_options():
    op = rest.get_items("Usikkerhet", select=["ID"])
    assert op.path == "Web/lists/GetByTitle('Usikkerhet')/items?$select=ID"


def test_items_by_ids_and_where():
    op = rest.get_items_by_ids(
        "Måleindikatorer", [3, 7], select=["ID"], expand=["GtGainLookup"], key=("x", 0)
    )
    assert op.path == (
        "Web/lists/GetByTitle('Måleindikatorer')/items?$select=ID&$expand=GtGainLookup"
        "&$filter=ID eq 3 or ID eq 7&$top=2"
    )
    where = rest.get_items_where("Sentral", "GtSourceKey", ["a:b:1", "it's"], select=["ID", "GtSourceKey"])
    assert where.path == (
        "Web/lists/GetByTitle('Sentral')/items?$select=ID,GtSourceKey"
        "&$filter=GtSourceKey eq 'a:b:1' or GtSourceKey eq 'it''s'&$top=5000"
    )


def test_list_site_and_type_reads():
    assert rest.get_lists_with_change_tokens().path == "Web/lists?$select=Id,Title,CurrentChangeToken"
    assert rest.get_site(["Id", "Url"]).path == "Site?$select=Id,Url"
    assert (
        rest.get_list_entity_type("Prosjekter").path
        == "Web/lists/GetByTitle('Prosjekter')?$select=ListItemEntityTypeFullName"
    )
    assert rest.get_content_types("Usikkerhet").path == (
        "Web/lists/GetByTitle('Usikkerhet')/ContentTypes?$select=StringId,Name,Parent/StringId&$expand=Parent"
    )


def test_get_list_changes_is_a_resendable_change_query():
    op = rest.get_list_changes("Usikkerhet", "1;3;abc;638000000000000000;100", key=("changes", "risks"))
    assert op.method == "POST" and op.path == "Web/lists/GetByTitle('Usikkerhet')/getChanges"
    assert op.safe_to_resend and not op.is_read
    query = op.body["query"]
    assert query["__metadata"] == {"type": "SP.ChangeQuery"}
    assert all(query[k] is True for k in ("Item", "Add", "Update", "SystemUpdate", "DeleteObject", "Restore"))
    assert query["ChangeTokenStart"] == {
        "__metadata": {"type": "SP.ChangeToken"},
        "StringValue": "1;3;abc;638000000000000000;100",
    }


def test_change_types_and_token_text():
    assert rest.ChangeType.DELETE_OBJECT == 3 and rest.ChangeType.ADD == 1 and rest.ChangeType.UPDATE == 2
    assert rest.token_text({"StringValue": "t1"}) == "t1"
    assert rest.token_text("t2") == "t2"
    assert rest.token_text(None) == ""


def test_item_writes_carry_the_entity_type_last():
    create = rest.create_item("Sentral", {"Title": "A", "GtOwner": LookupValue(7)}, "SP.Data.SentralListItem")
    assert create.method == "POST" and create.path == "Web/lists/GetByTitle('Sentral')/items"
    assert create.body == {"Title": "A", "GtOwnerId": 7, "__metadata": {"type": "SP.Data.SentralListItem"}}
    assert list(create.body)[-1] == "__metadata"
    assert json.loads(operation_body(create))["GtOwnerId"] == 7

    merge = rest.merge_item("Sentral", 12, {"Title": "B"}, "T", key="m")
    assert (merge.method, merge.path, merge.item, merge.key) == (
        "MERGE",
        "Web/lists/GetByTitle('Sentral')/items(12)",
        12,
        "m",
    )
    assert merge.body == {"Title": "B", "__metadata": {"type": "T"}}

    delete = rest.delete_item("Sentral", 12)
    assert (delete.method, delete.path, delete.body, delete.item) == (
        "DELETE",
        "Web/lists/GetByTitle('Sentral')/items(12)",
        None,
        12,
    )


def test_ensure_user_is_safe_to_resend():
    op = rest.ensure_user("o'hara@kommune.no", key="u")
    assert op.method == "POST" and op.path == "Web/EnsureUser('o''hara@kommune.no')"
    assert op.safe_to_resend


def test_item_queries_by_target_keep_the_callers_option_order() -> None:
    assert rest.get_items(BY_ID, top=5000).path == f"{BY_ID.path}/items?$top=5000"
    assert rest.get_items(BY_ID).path == f"{BY_ID.path}/items"
    assert rest.get_items(BY_ID, filter="GtSiteUrl eq 'x'", top=50).path == (
        f"{BY_ID.path}/items?$filter=GtSiteUrl eq 'x'&$top=50"
    )
    assert rest.get_items(BY_ID, top=1, orderby="Id", order=("top", "orderby")).path == (
        f"{BY_ID.path}/items?$top=1&$orderby=Id"
    )
    assert (
        rest.get_items(BY_ID, select="Id,GtSiteId", top=5).path
        == f"{BY_ID.path}/items?$select=Id,GtSiteId&$top=5"
    )
    assert rest.items_with_content_type(BY_ID, "0x0100AA").path == (
        f"{BY_ID.path}/items?$select=Id&$top=1&$filter=startswith(ContentTypeId,'0x0100AA')"
    )
    op = rest.get_items(BY_TITLE, select="Id", key="k", list="Register")
    assert (op.key, op.list) == ("k", "Register")
    assert rest.get_items(BY_TITLE, select=["Id"]).list == "Interessent's register"  # the title by default
    assert rest.get_items(BY_ID, select=["Id"]).list is None


def test_item_writes_by_target_convert_values_and_put_the_entity_type_last() -> None:
    when = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    op = rest.create_item(
        BY_ID,
        {"Title": "Ny", "GtOwner": LookupValue(7), "GtDue": when},
        "SP.Data.UsikkerhetListItem",
        key=3,
        list="risks",
    )
    assert (op.verb, op.path, op.key, op.list) == ("POST", f"{BY_ID.path}/items", 3, "risks")
    assert op.body == {
        "Title": "Ny",
        "GtOwnerId": 7,
        "GtDue": "2024-05-01T12:00:00Z",
        "__metadata": {"type": "SP.Data.UsikkerhetListItem"},
    }
    assert list(op.body)[-1] == "__metadata"
    merge = rest.merge_item(BY_ID, 12, {"Title": "B"}, "SP.Data.XListItem")
    assert (merge.verb, merge.path, merge.item) == ("MERGE", f"{BY_ID.path}/items(12)", 12)
    with pytest.raises(ValidationError, match="risks"):
        rest.create_item(BY_ID, {"GtDue": datetime(2024, 5, 1)}, "T", context="list 'risks', new")  # naive
    with pytest.raises(ValidationError, match="Sentral"):
        rest.create_item("Sentral", {"GtDue": datetime(2024, 5, 1)}, "T")  # the title names the list


def test_writes_send_the_etag_they_were_given_or_any_version() -> None:
    root = "https://x.sharepoint.com/sites/a/_api"
    blind = render_part(rest.merge_item("Sentral", 3, {"Title": "B"}, "T"), root, {})
    assert b"IF-MATCH: *\r\n" in blind
    guarded = rest.merge_item("Sentral", 3, {"Title": "B"}, "T", if_match='"4"')
    assert guarded.if_match == '"4"' and b'IF-MATCH: "4"\r\n' in render_part(guarded, root, {})
    delete = rest.delete_item(BY_ID, 3, if_match='"2"')
    assert b'IF-MATCH: "2"\r\n' in render_part(delete, root, {})

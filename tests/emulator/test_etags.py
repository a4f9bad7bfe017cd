"""ETags on list items and IF-MATCH on writes (docs/emulator.md, "ETags"). Real client over HTTP."""

from __future__ import annotations

import json
from typing import Any

import pytest
from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.http.request_options import RequestOptions
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.listitems.listitem import ListItem
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.lists.list import List

STALE = "-1, Microsoft.SharePoint.Client.ClientServiceException"


@pytest.fixture
def lst(ctx: ClientContext) -> List:
    return ctx.web.lists.add(ListCreationInformation("Etag-liste", None, 100)).execute_query()


def _headers_of_last_query(ctx: ClientContext) -> dict[str, str]:
    """The response headers of the query queued last (filled in when it runs)."""
    seen: dict[str, str] = {}

    def grab(response: Any) -> None:
        seen.update({k.lower(): v for k, v in response.headers.items()})
        seen["body"] = response.content.decode()

    ctx.after_execute(grab, include_response=True)
    return seen


def _if_match(ctx: ClientContext, value: str) -> None:
    """Send ``IF-MATCH: value`` with the query queued last (the client would send ``*``)."""

    def put(request: RequestOptions) -> None:
        request.set_header("IF-MATCH", value)

    ctx.before_execute(put)


def test_create_get_and_merge_carry_the_version_etag(ctx: ClientContext, lst: List) -> None:
    item = lst.add_item({"Title": "a"})
    created = _headers_of_last_query(ctx)
    ctx.execute_query()
    assert created["etag"] == '"1"'
    again = lst.get_item_by_id(item.id).get()
    got = _headers_of_last_query(ctx)
    ctx.execute_query()
    assert got["etag"] == '"1"'
    assert json.loads(got["body"])["d"]["__metadata"]["etag"] == '"1"'
    again.set_property("Title", "b").update()  # the client sends IF-MATCH: *
    merged = _headers_of_last_query(ctx)
    ctx.execute_query()
    assert merged["etag"] == '"2"'


def test_stale_if_match_is_refused_with_412_and_nothing_changes(ctx: ClientContext, lst: List) -> None:
    item = lst.add_item({"Title": "a"}).execute_query()
    item.set_property("Title", "b").update().execute_query()  # now version 2
    lst.get_item_by_id(item.id).set_property("Title", "c").update()
    _if_match(ctx, '"1"')
    with pytest.raises(ClientRequestException) as err:
        ctx.execute_query()
    assert err.value.response.status_code == 412
    assert err.value.code == STALE
    assert err.value.message == (
        "The request ETag value '\"1\"' does not match the object's ETag value '\"2\"'."
    )
    assert lst.get_item_by_id(item.id).get().execute_query().properties["Title"] == "b"
    lst.get_item_by_id(item.id).set_property("Title", "d").update()
    _if_match(ctx, '"2"')
    ctx.execute_query()
    assert lst.get_item_by_id(item.id).get().execute_query().properties["Title"] == "d"


def test_stale_if_match_on_delete_keeps_the_item(ctx: ClientContext, lst: List) -> None:
    item = lst.add_item({"Title": "a"}).execute_query()
    lst.get_item_by_id(item.id).delete_object()
    _if_match(ctx, '"7"')
    with pytest.raises(ClientRequestException) as err:
        ctx.execute_query()
    assert err.value.response.status_code == 412
    assert lst.get_item_by_id(item.id).get().execute_query().properties["Title"] == "a"
    lst.get_item_by_id(item.id).delete_object()
    _if_match(ctx, '"1"')
    ctx.execute_query()
    assert len(lst.items.get().execute_query()) == 0


def test_batch_parts_carry_etags(ctx: ClientContext, lst: List) -> None:
    item = lst.add_item({"Title": "a"}).execute_query()
    one: ListItem = lst.get_item_by_id(item.id).get()
    read = _headers_of_last_query(ctx)
    lst.add_item({"Title": "b"})
    created = _headers_of_last_query(ctx)
    ctx.execute_batch()
    assert one.properties["Title"] == "a"
    assert read["etag"] == '"1"' and created["etag"] == '"1"'

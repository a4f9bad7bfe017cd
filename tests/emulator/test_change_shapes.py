"""GetChanges entries in SPO's shape (docs/emulator.md, "Change tokens"). Real client over HTTP.

The property sets per kind are those of SPO's verbose answers recorded in pnp/pnpcore (commit
95f18404): src/sdk/PnP.Core.Test/SharePoint/MockData/{SiteTests/GetSiteChangesAsyncTest-0-00002,
ListTests/GetListChangesOnlyAsyncTest-0-00005, FoldersTests/GetFolderChangesAsyncTest-0-00003,
WebTests/GetWebChangesAsyncTest-0-00002, WebTests/GetWebChangesContentTypeAsyncTest-0-00003}.response.json;
SP.ChangeField and SP.ChangeUser (not recorded) follow the CSDL.
"""

from __future__ import annotations

import json
import re
from typing import Any

from office365.sharepoint.changes.query import ChangeQuery
from office365.sharepoint.client_context import ClientContext
from office365.sharepoint.lists.creation_information import ListCreationInformation

BASE = ["ChangeToken", "ChangeType", "SiteId", "Time"]
RECORDED_KEYS = {
    "SP.ChangeItem": [
        *BASE,
        "Editor",
        "EditorEmailHint",
        "ItemId",
        "ListId",
        "ServerRelativeUrl",
        "SharedByUser",
        "SharedWithUsers",
        "UniqueId",
        "WebId",
    ],
    "SP.ChangeList": ["Creator", *BASE, "BaseTemplate", "Editor", "Hidden", "ListId", "Title", "WebId"],
    "SP.ChangeSite": BASE,
    "SP.ChangeWeb": [*BASE, "WebId"],
    "SP.ChangeFolder": [*BASE, "UniqueId", "WebId"],
    "SP.ChangeView": [*BASE, "ViewId", "ListId", "WebId"],
    "SP.ChangeContentType": [*BASE, "ContentTypeId", "WebId"],
    "SP.ChangeField": [*BASE, "FieldId", "WebId"],
    "SP.ChangeUser": [*BASE, "Activate", "UserId"],
}


def _raw_changes(ctx: ClientContext, scope: Any) -> list[dict[str, Any]]:
    query = ChangeQuery(
        Item=True,
        List=True,
        Web=True,
        Site=True,
        Field=True,
        ContentType=True,
        View=True,
        User=True,
        Folder=True,
    )
    seen: list[bytes] = []
    scope.get_changes(query)
    ctx.after_execute(lambda response: seen.append(response.content), include_response=True)
    ctx.execute_query()
    return list(json.loads(seen[0])["d"]["results"])


def test_every_change_is_a_concrete_kind_with_spo_properties(ctx: ClientContext, site: str) -> None:
    lst = ctx.web.lists.add(ListCreationInformation("Endringer", None, 100)).execute_query()
    lst.fields.add_text_field("Notat").execute_query()
    item = lst.add_item({"Title": "a"}).execute_query()
    item.set_property("Title", "b").update().execute_query()
    ctx.web.ensure_user("kari@kommune.no").execute_query()
    kinds: set[str] = set()
    pattern = re.compile(re.escape(site) + r"/_api/(SP\.Change[A-Za-z]+)[0-9a-f-]{36}$")
    for scope in (ctx.site, ctx.web, lst):
        changes = _raw_changes(ctx, scope)
        assert changes
        for change in changes:
            meta = change["__metadata"]
            kind = meta["type"]
            assert kind != "SP.Change" and kind in RECORDED_KEYS, kind
            assert meta["id"] == meta["uri"]
            match = pattern.match(meta["uri"])
            assert match and match.group(1) == kind, meta["uri"]
            assert [k for k in change if k != "__metadata"] == RECORDED_KEYS[kind], kind
            kinds.add(kind)
    assert {"SP.ChangeItem", "SP.ChangeList", "SP.ChangeField", "SP.ChangeUser", "SP.ChangeSite"} <= kinds


def test_change_ids_are_stable_between_reads(ctx: ClientContext) -> None:
    ctx.web.lists.add(ListCreationInformation("Stabil", None, 100)).execute_query()
    first = [c["__metadata"]["id"] for c in _raw_changes(ctx, ctx.web)]
    again = [c["__metadata"]["id"] for c in _raw_changes(ctx, ctx.web)]
    assert first == again and len(set(first)) == len(first)


def test_the_client_reads_the_typed_changes(ctx: ClientContext) -> None:
    lst = ctx.web.lists.add(ListCreationInformation("Typet", None, 100)).execute_query()
    lst.add_item({"Title": "a"}).execute_query()
    changes = lst.get_changes(ChangeQuery(Item=True)).execute_query()
    assert [type(c).__name__ for c in changes] == ["ChangeItem"]

"""Typed request builders for list items, change logs and users: the REST dialect in one place.

Callers outside the gateway (the sync, the demo writer) speak in list titles, item ids and plain
values; these functions turn that into the :class:`~veiviser.sharepoint.batch.Operation` a
``SiteClient.batch`` call sends. Nothing here does I/O. The paths are the ones SharePoint Online
answers (see ``docs/sync.md``, "What the sync relies on in SharePoint"):

- a list by title is ``Web/lists/GetByTitle('…')`` (quotes doubled; SharePoint ignores case);
- query options go in the order ``$select``, ``$expand``, ``$filter``, ``$top``, unencoded — the
  batch renderer percent-encodes the whole path once;
- an item body carries its list's entity type as ``__metadata`` — the last key;
- ``getChanges`` takes an ``SP.ChangeQuery`` for item changes since a ``SP.ChangeToken``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from veiviser.sharepoint.batch import Operation
from veiviser.sharepoint.client import title_segment
from veiviser.sharepoint.values import odata_literal, row_to_sharepoint

#: The most items one request may return (SharePoint's list view threshold for one page).
MAX_PAGE = 5000


class ChangeType(IntEnum):
    """``SP.ChangeType``: the kind of a change in a change log entry."""

    NONE = 0
    ADD = 1
    UPDATE = 2
    DELETE_OBJECT = 3
    RENAME = 4
    MOVE_AWAY = 5
    MOVE_INTO = 6
    RESTORE = 7
    SYSTEM_UPDATE = 14


def list_path(title: str) -> str:
    """``Web/lists/GetByTitle('…')`` for a list title."""
    return f"Web/lists/GetByTitle({title_segment(title)})"


def _query(
    select: Sequence[str],
    *,
    expand: Sequence[str] = (),
    filter: str | None = None,
    top: int | None = None,
) -> str:
    params = [f"$select={','.join(select)}"]
    if expand:
        params.append(f"$expand={','.join(expand)}")
    if filter:
        params.append(f"$filter={filter}")
    if top is not None:
        params.append(f"$top={top}")
    return "&".join(params)


def get_items(
    title: str,
    *,
    select: Sequence[str],
    expand: Sequence[str] = (),
    filter: str | None = None,
    top: int | None = None,
    key: Any = None,
) -> Operation:
    """GET items of a list (one page; follow ``result.next_url`` for the rest)."""
    path = f"{list_path(title)}/items?{_query(select, expand=expand, filter=filter, top=top)}"
    return Operation("GET", path, key=key, list=title)


def get_items_by_ids(
    title: str, ids: Sequence[int], *, select: Sequence[str], expand: Sequence[str] = (), key: Any = None
) -> Operation:
    """GET the items with these ids (``ID eq 1 or ID eq 2 …``; keep ``ids`` short, ~40)."""
    flt = " or ".join(f"ID eq {int(n)}" for n in ids)
    return get_items(title, select=select, expand=expand, filter=flt, top=len(ids), key=key)


def get_items_where(
    title: str,
    field: str,
    values: Iterable[Any],
    *,
    select: Sequence[str],
    top: int = MAX_PAGE,
    key: Any = None,
) -> Operation:
    """GET items whose ``field`` equals one of ``values`` (``F eq 'a' or F eq 'b' …``)."""
    flt = " or ".join(f"{field} eq {odata_literal(v)}" for v in values)
    return get_items(title, select=select, filter=flt, top=top, key=key)


def get_list_entity_type(title: str, *, key: Any = None) -> Operation:
    """GET a list's ``ListItemEntityTypeFullName`` (the type item bodies must carry)."""
    return Operation("GET", f"{list_path(title)}?$select=ListItemEntityTypeFullName", key=key, list=title)


def get_content_types(title: str, *, key: Any = None) -> Operation:
    """GET a list's content types: ``StringId``, ``Name`` and the parent's ``StringId``."""
    path = f"{list_path(title)}/ContentTypes?$select=StringId,Name,Parent/StringId&$expand=Parent"
    return Operation("GET", path, key=key, list=title)


def get_lists_with_change_tokens(*, key: Any = None) -> Operation:
    """GET every list of the web with its id, title and ``CurrentChangeToken`` (one request for all)."""
    return Operation("GET", "Web/lists?$select=Id,Title,CurrentChangeToken", key=key)


def get_site(select: Sequence[str], *, key: Any = None) -> Operation:
    """GET the site collection's properties (``Site?$select=Id,Url`` …)."""
    return Operation("GET", f"Site?$select={','.join(select)}", key=key)


def change_query(token: str) -> dict[str, Any]:
    """The ``getChanges`` body: item adds, updates, deletions and restores since ``token``."""
    return {
        "query": {
            "__metadata": {"type": "SP.ChangeQuery"},
            "Item": True,
            "Add": True,
            "Update": True,
            "SystemUpdate": True,
            "DeleteObject": True,
            "Restore": True,
            "ChangeTokenStart": {"__metadata": {"type": "SP.ChangeToken"}, "StringValue": token},
        }
    }


def get_list_changes(title: str, token: str, *, key: Any = None) -> Operation:
    """POST ``getChanges`` on a list since a change token (a read: safe to re-send)."""
    return Operation(
        "POST", f"{list_path(title)}/getChanges", change_query(token), key=key, list=title, idempotent=True
    )


def get_site_changes(token: str, *, key: Any = None) -> Operation:
    """POST ``getChanges`` on the site collection since a site-scope token: item changes as for a
    list, and any change to a list itself (added, renamed, deleted, restored). A read: safe to re-send."""
    body = change_query(token)
    body["query"]["List"] = True
    return Operation("POST", "Site/getChanges", body, key=key, idempotent=True)


def token_text(value: Any) -> str:
    """A change token as text, from ``{"StringValue": "…"}`` or the bare string ("" when absent)."""
    return str(value.get("StringValue") if isinstance(value, dict) else value or "")


def item_body(values: Mapping[str, Any], entity_type: str, *, where: str) -> dict[str, Any]:
    """An item's JSON body: values in SharePoint's form, then ``__metadata`` (the last key)."""
    body = row_to_sharepoint(values, where=where)
    body["__metadata"] = {"type": entity_type}
    return body


def create_item(title: str, values: Mapping[str, Any], entity_type: str, *, key: Any = None) -> Operation:
    """POST a new item into a list."""
    body = item_body(values, entity_type, where=f"list {title!r}")
    return Operation("POST", f"{list_path(title)}/items", body, key=key, list=title)


def merge_item(
    title: str, item_id: int, values: Mapping[str, Any], entity_type: str, *, key: Any = None
) -> Operation:
    """MERGE values into an item."""
    body = item_body(values, entity_type, where=f"list {title!r}")
    return Operation("MERGE", f"{list_path(title)}/items({item_id})", body, key=key, list=title, item=item_id)


def delete_item(title: str, item_id: int, *, key: Any = None) -> Operation:
    """DELETE an item (it goes to the recycle bin)."""
    return Operation("DELETE", f"{list_path(title)}/items({item_id})", key=key, list=title, item=item_id)


def ensure_user(email: str, *, key: Any = None) -> Operation:
    """POST ``EnsureUser``: the site's user for an e-mail/UPN (a read in effect: safe to re-send)."""
    return Operation("POST", f"Web/EnsureUser({title_segment(email)})", key=key, idempotent=True)


__all__ = [
    "MAX_PAGE",
    "ChangeType",
    "change_query",
    "create_item",
    "delete_item",
    "ensure_user",
    "get_content_types",
    "get_items",
    "get_items_by_ids",
    "get_items_where",
    "get_list_changes",
    "get_list_entity_type",
    "get_lists_with_change_tokens",
    "get_site",
    "get_site_changes",
    "item_body",
    "list_path",
    "merge_item",
    "token_text",
]

"""Typed request builders for list items, change logs and users: the REST dialect in one place.

Callers (the sync, provisioning, the demo writer, :class:`~veiviser.sharepoint.client.SiteClient`)
name a list by title or by :class:`~veiviser.sharepoint.paths.ListTarget` and speak in item ids and
plain values; these functions turn that into the :class:`~veiviser.sharepoint.batch.Operation` a
``SiteClient.batch`` call sends. Nothing here does I/O. The facts (docs/sharepoint.md, "Item
requests"):

- a list is ``Web/lists/GetByTitle('…')`` (quotes doubled; SharePoint ignores case) or
  ``Web/lists(guid'…')``;
- query options go in the order ``$select``, ``$expand``, ``$filter``, ``$orderby``, ``$top``
  unless a caller fixes another (``order``), unencoded — the batch renderer percent-encodes the
  whole path once; the text of a request stays stable, which request-log tests rely on;
- an item body carries its list's entity type as ``__metadata`` — the last key;
- a MERGE/DELETE sends ``IF-MATCH: *`` unless given an item's ETag (then SharePoint answers 412
  when the item changed since it was read);
- ``getChanges`` takes an ``SP.ChangeQuery`` for item changes since a ``SP.ChangeToken``.

``key`` is echoed in the operation's result; ``list`` names the list in errors (default: the
title the list is addressed by).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum
from typing import Any

from veiviser.sharepoint.batch import Operation
from veiviser.sharepoint.paths import ListTarget, target, title_segment
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


#: The order of query options unless a caller fixes another.
DEFAULT_ORDER = ("select", "expand", "filter", "orderby", "top")


def list_path(title: str) -> str:
    """``Web/lists/GetByTitle('…')`` for a list title."""
    return ListTarget.by_title(title).path


def _names(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def _where(t: ListTarget, list: str | None) -> str | None:
    return list if list is not None else t.title


def get_items(
    lst: ListTarget | str,
    *,
    select: str | Sequence[str] = (),
    expand: Sequence[str] = (),
    filter: str | None = None,
    orderby: str | None = None,
    top: int | None = None,
    order: Sequence[str] = DEFAULT_ORDER,
    key: Any = None,
    list: str | None = None,
) -> Operation:
    """GET one page of a list's items (follow ``result.next_url`` for the rest).

    ``filter`` is OData text (build literals with ``odata_literal``); empty options are left out;
    ``order`` fixes the order of the options in the URL.
    """
    t = target(lst)
    given = {
        "select": _names(select),
        "expand": _names(expand),
        "filter": filter,
        "orderby": orderby,
        "top": None if top is None else str(top),
    }
    params = "&".join(f"${name}={given[name]}" for name in order if given[name])
    path = f"{t.path}/items" + (f"?{params}" if params else "")
    return Operation("GET", path, key=key, list=_where(t, list))


def get_items_by_ids(
    lst: ListTarget | str,
    ids: Sequence[int],
    *,
    select: Sequence[str],
    expand: Sequence[str] = (),
    key: Any = None,
    list: str | None = None,
) -> Operation:
    """GET the items with these ids (``ID eq 1 or ID eq 2 …``; keep ``ids`` short, ~40)."""
    flt = " or ".join(f"ID eq {int(n)}" for n in ids)
    return get_items(lst, select=select, expand=expand, filter=flt, top=len(ids), key=key, list=list)


def get_items_where(
    lst: ListTarget | str,
    field: str,
    values: Iterable[Any],
    *,
    select: Sequence[str],
    top: int = MAX_PAGE,
    key: Any = None,
    list: str | None = None,
) -> Operation:
    """GET items whose ``field`` equals one of ``values`` (``F eq 'a' or F eq 'b' …``)."""
    flt = " or ".join(f"{field} eq {odata_literal(v)}" for v in values)
    return get_items(lst, select=select, filter=flt, top=top, key=key, list=list)


def items_with_content_type(
    lst: ListTarget | str, ct_id: str, *, key: Any = None, list: str | None = None
) -> Operation:
    """At most one item (its ``Id``) whose content type is ``ct_id`` or derived from it."""
    return get_items(
        lst,
        select="Id",
        top=1,
        filter=f"startswith(ContentTypeId,'{ct_id}')",
        order=("select", "top", "filter"),
        key=key,
        list=list,
    )


def get_list_entity_type(title: str, *, key: Any = None, with_id: bool = False) -> Operation:
    """GET a list's ``ListItemEntityTypeFullName`` (the type item bodies must carry), and its
    ``Id`` with ``with_id``."""
    select = "Id,ListItemEntityTypeFullName" if with_id else "ListItemEntityTypeFullName"
    return Operation("GET", f"{list_path(title)}?$select={select}", key=key, list=title)


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


def item_body(values: Mapping[str, Any], entity_type: str, *, where: str = "") -> dict[str, Any]:
    """An item's JSON body: values in SharePoint's form, then ``__metadata`` (the last key).

    ``where`` names the list and row in conversion errors.
    """
    body = row_to_sharepoint(values, where=where)
    body["__metadata"] = {"type": entity_type}
    return body


def _context(name: str | None, context: str | None) -> str:
    if context is not None:
        return context
    return f"list {name!r}" if name else ""


def create_item(
    lst: ListTarget | str,
    values: Mapping[str, Any],
    entity_type: str,
    *,
    key: Any = None,
    list: str | None = None,
    context: str | None = None,
) -> Operation:
    """POST a new item into a list; ``context`` names the row in conversion errors."""
    t = target(lst)
    name = _where(t, list)
    body = item_body(values, entity_type, where=_context(name, context))
    return Operation("POST", f"{t.path}/items", body, key=key, list=name)


def merge_item(
    lst: ListTarget | str,
    item_id: int,
    values: Mapping[str, Any],
    entity_type: str,
    *,
    key: Any = None,
    list: str | None = None,
    context: str | None = None,
    if_match: str | None = None,
) -> Operation:
    """MERGE values into an item; ``if_match`` is the ETag it was read with (``None``: overwrite)."""
    t = target(lst)
    name = _where(t, list)
    body = item_body(values, entity_type, where=_context(name, context))
    return Operation(
        "MERGE", f"{t.path}/items({item_id})", body, key=key, list=name, item=item_id, if_match=if_match
    )


def delete_item(
    lst: ListTarget | str,
    item_id: int,
    *,
    key: Any = None,
    list: str | None = None,
    if_match: str | None = None,
) -> Operation:
    """DELETE an item (it goes to the recycle bin)."""
    t = target(lst)
    return Operation(
        "DELETE", f"{t.path}/items({item_id})", key=key, list=_where(t, list), item=item_id, if_match=if_match
    )


def ensure_user(email: str, *, key: Any = None) -> Operation:
    """POST ``EnsureUser``: the site's user for an e-mail/UPN (a read in effect: safe to re-send)."""
    return Operation("POST", f"Web/EnsureUser({title_segment(email)})", key=key, idempotent=True)


__all__ = [
    "DEFAULT_ORDER",
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
    "items_with_content_type",
    "list_path",
    "merge_item",
    "token_text",
]

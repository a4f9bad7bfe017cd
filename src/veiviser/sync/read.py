"""Reading one project site: what changed in each source list since its stored change token.

Round zero, when the site's own change token and every list's are stored and fresh, is **one**
``getChanges`` on the site collection: an empty answer settles an unchanged site in one request of
one resource unit; item changes of known lists are taken from it as they are. Anything else (a
list added, renamed, deleted or re-created, an old token) goes to round one.

Round one is **one** ``$batch``: the site id and change token, every list's id and current change
token, and per list either ``getChanges`` since the stored token or, with no usable token, the
first page of all items. Round two (only when needed) fetches the changed
items together (``ID eq … or …``) and the pages after the first of any full read. See
docs/sync.md, "One site, step by step" and "Change tokens".
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from veiviser.sharepoint import items as rest
from veiviser.sharepoint.batch import Operation, OperationResult
from veiviser.sharepoint.client import SiteClient
from veiviser.sharepoint.errors import SharePointError
from veiviser.sharepoint.values import normalise_item
from veiviser.sync.feedback import STATE_NAME as FEEDBACK_STATE
from veiviser.sync.kinds import PROPERTIES_LIST_TITLE, SOURCE_KINDS
from veiviser.sync.lists import KIND_ORDER, PROPERTIES, PROPERTY_FIELDS
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import site_error
from veiviser.sync.rows import select_clause
from veiviser.sync.state import TokenRecord


@dataclass
class ListState:
    """What the reads found out about one source list."""

    name: str
    title: str
    list_id: str = ""
    current_token: str = ""
    token: TokenRecord | None = None
    full: bool = False  # a full read is needed / was done
    items: list[dict[str, Any]] | None = None  # full read result (or, after round two, the changed items)
    next_url: str | None = None  # the full read's second page, when the first did not hold all
    changed_ids: set[int] = field(default_factory=set)
    deleted_ids: set[int] = field(default_factory=set)
    new_token: str | None = None
    #: The site has no list with this title (and none with the stored list id): nothing was read.
    missing: bool = False
    #: The list was found by its stored id under another title (renamed): it is read by that title.
    found_as: str | None = None
    #: Template columns the site's list lacks (an older Prosjektportalen site): read without them.
    missing_columns: set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        """Anything to do for this list (a full read, or changes since its token)?"""
        return self.full or bool(self.changed_ids) or bool(self.deleted_ids)

    @property
    def token_to_store(self) -> str | None:
        """The token to keep after this run; None keeps the stored one (and its age)."""
        return self.current_token if self.full else self.new_token


SITE_TOKEN = "@site"  # the name the site collection's own change token is stored under
SITE_CHANGES_PAGE = 1000  # getChanges answers at most this many by default: a full page may have more


def select_for(name: str, missing: Collection[str] = ()) -> tuple[list[str], list[str]]:
    """``$select`` and ``$expand`` of a source list (a kind, or the project properties), without
    the ``missing`` columns (a person column's ``/Title`` and ``/EMail``, a lookup's ``Id`` too)."""
    if name == PROPERTIES:
        select, expand = ["ID", "Title", "Modified", *PROPERTY_FIELDS], list[str]()
    else:
        select, expand = select_clause(SOURCE_KINDS[name])
    if not missing:
        return select, expand

    def gone(column: str) -> bool:
        head = column.split("/", 1)[0]
        return head in missing or (head.endswith("Id") and head[:-2] in missing)

    return [c for c in select if not gone(c)], [c for c in expand if not gone(c)]


#: SharePoint's answer to a ``$select`` of a column the list lacks (docs/sync.md, "A missing column").
_MISSING_COLUMN = re.compile(r"(?:Column|field or property) '([^']+)' does not exist", re.IGNORECASE)


def missing_column(error: object) -> str | None:
    """The column a failed read names as missing, if that is why it failed."""
    found = _MISSING_COLUMN.search(str(getattr(error, "detail", None) or error or ""))
    return found.group(1) if found else None


def _without(st: ListState, name: str, column: str) -> bool:
    """Note ``column`` as missing from ``st``'s list; False when that changes nothing (a real error)."""
    select, expand = select_for(name, st.missing_columns)
    heads = {c.split("/", 1)[0] for c in [*select, *expand]}
    # a lookup is selected as its id column (GtGainLookupId): the finding names the lookup itself
    lookup_id = column.endswith("Id") and column in heads and column != "ContentTypeId"
    bare = column[:-2] if lookup_id else column
    if bare in st.missing_columns or bare == "ID" or bare == "Title":
        return False
    if bare not in heads and f"{bare}Id" not in heads:
        return False
    st.missing_columns.add(bare)
    return True


def list_title(name: str) -> str:
    return PROPERTIES_LIST_TITLE if name == PROPERTIES else SOURCE_KINDS[name].list_title


def _fresh(token: TokenRecord | None, options: SyncOptions, now: datetime) -> bool:
    return token is not None and now - token.issued_at <= options.token_max_age


def read_site_changes(
    site: SiteClient,
    tokens: dict[str, TokenRecord],
    options: SyncOptions,
    now: datetime,
) -> tuple[str, dict[str, ListState], str | None] | None:
    """Round zero: the site collection's changes since its stored token (one request).

    Returns the site id, a :class:`ListState` per source list and the site token to store (None:
    keep the stored one), or None when round one must run: no fresh site token, a list without a
    fresh token, any change to a list itself, a full page of changes, or an error (round one
    reports it). Item changes of lists the sync does not read are skipped.
    """
    site_token = tokens.get(SITE_TOKEN)
    names = [*KIND_ORDER, PROPERTIES]
    if site_token is None or not _fresh(site_token, options, now):
        return None
    lists: dict[str, TokenRecord] = {}
    for name in names:
        tok = tokens.get(name)
        if tok is None or not _fresh(tok, options, now) or tok.site_id != site_token.site_id:
            return None
        lists[name] = tok
    res = site.batch([rest.get_site_changes(site_token.token, key="site")])[0]
    changes = res.value if res.ok and isinstance(res.value, list) else None
    if changes is None or len(changes) >= SITE_CHANGES_PAGE:
        return None
    states = {
        name: ListState(name, list_title(name), list_id=tok.list_id, token=tok) for name, tok in lists.items()
    }
    # The sync's own feedback list (docs/sync.md, "Feedback to the project") is no source: its
    # creation and its item's updates must not send the site to round one.
    own = tokens[FEEDBACK_STATE].list_id if FEEDBACK_STATE in tokens else ""
    by_list: dict[str, list[dict[str, Any]]] = {}
    for change in changes:
        list_id = str(change.get("ListId") or "").strip("{}").lower()
        if own and list_id == own:
            continue
        if change.get("ItemId") is None:
            return None  # a list itself changed: round one compares ids and titles
        by_list.setdefault(list_id, []).append(change)
    for st in states.values():
        _apply_changes(st, by_list.get(st.list_id, []))
        st.new_token = None  # the list tokens stay; the site token moves on
    new_site_token = rest.token_text(changes[-1].get("ChangeToken")) if changes else None
    return site_token.site_id, states, new_site_token or None


def read_changes(
    site: SiteClient,
    site_url: str,
    tokens: dict[str, TokenRecord],
    options: SyncOptions,
    now: datetime,
) -> tuple[str, dict[str, ListState], str | None]:
    """Round one: the site id, a :class:`ListState` per source list and the site's change token
    (one ``$batch``)."""
    states: dict[str, ListState] = {}
    # Every list's id and current token in one operation: the list collection read with
    # $select=CurrentChangeToken carries each list's token (a GET per list would cost six).
    ops: list[Operation] = [
        rest.get_site(["Id", "Url", "CurrentChangeToken"], key="site"),
        rest.get_lists_with_change_tokens(key="lists"),
    ]
    for name in [*KIND_ORDER, PROPERTIES]:
        st = ListState(name, list_title(name), token=tokens.get(name))
        states[name] = st
        tok = st.token
        if tok is not None and now - tok.issued_at <= options.token_max_age:
            ops.append(rest.get_list_changes(st.title, tok.token, key=("changes", name)))
        else:
            st.full = True
            select, expand = select_for(name)
            ops.append(
                rest.get_items(
                    st.title, select=select, expand=expand, top=options.page_size, key=("items", name)
                )
            )
    results = {r.key: r for r in site.batch(ops)}
    site_res = results["site"]
    if not site_res.ok:
        raise site_error(site_res, site_url, "read the site")
    site_id = str(site_res.value["Id"]).strip("{}").lower()
    site_token = rest.token_text(site_res.value.get("CurrentChangeToken")) or None
    lists_res = results["lists"]
    if not lists_res.ok:
        raise site_error(lists_res, site_url, "read the site's lists")
    rows = lists_res.value if isinstance(lists_res.value, list) else []
    by_title = {
        str(row.get("Title") or "").lower(): row for row in rows
    }  # list titles match without case, as in SharePoint
    by_id = {str(row.get("Id") or "").strip("{}").lower(): row for row in rows}
    for name, st in states.items():
        meta = by_title.get(st.title.lower())
        if meta is None:
            # Missing, or renamed: a list keeps its id when renamed, so the stored token's list id
            # finds it under its new title (docs/sync.md, "A missing list").
            meta = by_id.get(st.token.list_id) if st.token is not None else None
            if meta is None:
                st.missing, st.full, st.items = True, False, None  # nothing to read
                # Rows kept from the history still name the list by its last known id.
                st.list_id = st.token.list_id if st.token is not None else ""
                continue
            st.found_as = str(meta.get("Title") or "")
            st.title, st.full, st.items = st.found_as, True, None  # read in full by its new title
        st.list_id = str(meta["Id"]).strip("{}").lower()
        st.current_token = rest.token_text(meta.get("CurrentChangeToken"))
        if st.found_as:
            continue  # round one asked for it by its template title; round two reads it
        tok = st.token
        if not st.full and tok is not None and (tok.list_id != st.list_id or tok.site_id != site_id):
            st.full = True  # list (or site) re-created: the old token means nothing here
            st.items = None
            continue
        if st.full:
            res = results.get(("items", name))
            if res is not None:
                column = None if res.ok else missing_column(res.error)
                if column is not None and _without(st, name, column):
                    st.items = None  # read again in round two, without the column
                    continue
                if not res.ok:
                    raise site_error(res, site_url, f"read items of {st.title!r}")
                page = res.value if isinstance(res.value, list) else []
                st.items = [normalise_item(i) for i in page]
                st.next_url = res.next_url
            continue
        res = results[("changes", name)]
        if not res.ok:
            raise site_error(res, site_url, f"read changes of {st.title!r}")
        _apply_changes(st, res.value if isinstance(res.value, list) else [])
    return site_id, states, site_token


def _read_all(site: SiteClient, st: ListState, name: str, options: SyncOptions) -> list[dict[str, Any]]:
    """Every item of a list, leaving out each template column the list turns out to lack."""
    while True:
        select, expand = select_for(name, st.missing_columns)
        try:
            return list(
                site.iter_items(
                    st.title,
                    select=select,
                    expand=expand or None,
                    page_size=min(options.page_size, rest.MAX_PAGE),
                )
            )
        except SharePointError as exc:
            column = missing_column(exc)
            if column is None or not _without(st, name, column):
                raise


def _apply_changes(st: ListState, changes: list[dict[str, Any]]) -> None:
    """Fold a change log into changed and deleted item ids (the last change of an item wins)."""
    for change in changes:
        item_id = change.get("ItemId")
        if item_id is None:
            continue
        if int(change.get("ChangeType", 0)) == rest.ChangeType.DELETE_OBJECT:
            st.deleted_ids.add(int(item_id))
            st.changed_ids.discard(int(item_id))
        else:
            st.changed_ids.add(int(item_id))
            st.deleted_ids.discard(int(item_id))
    if changes:
        st.new_token = rest.token_text(changes[-1].get("ChangeToken")) or None


def read_rest(site: SiteClient, site_url: str, states: dict[str, ListState], options: SyncOptions) -> None:
    """Round two: fetch changed items together; finish full reads that did not fit one page."""
    fetched: dict[str, dict[int, dict[str, Any]]] = {}
    pending = [name for name, st in states.items() if not st.full and st.changed_ids]
    while pending:
        ops: list[Operation] = []
        for name in pending:
            st = states[name]
            ids = sorted(st.changed_ids)
            select, expand = select_for(name, st.missing_columns)
            for i in range(0, len(ids), options.ids_per_filter):
                chunk = ids[i : i + options.ids_per_filter]
                ops.append(
                    rest.get_items_by_ids(st.title, chunk, select=select, expand=expand, key=(name, i))
                )
        again: list[str] = []
        for res in site.batch(ops):
            name = res.key[0]
            if not res.ok:
                column = missing_column(res.error)
                if column is not None and (name in again or _without(states[name], name, column)):
                    if name not in again:
                        again.append(name)
                        fetched.pop(name, None)
                    continue
                raise site_error(res, site_url, f"read changed items of {states[name].title!r}")
            if name in again:
                continue
            for raw in res.value if isinstance(res.value, list) else []:
                item = normalise_item(raw)
                fetched.setdefault(name, {})[int(item.get("ID") or item["Id"])] = item
        pending = again
    for name, st in states.items():
        if st.full:
            if st.items is None:  # re-created (its token is void) or lacking a column: read it all
                st.items = _read_all(site, st, name, options)
            elif st.next_url:  # only the pages after the batched first one
                st.items += site.rest_of_pages(
                    OperationResult(key=name, status=200, next_url=st.next_url), list=st.title
                )
            continue
        got = fetched.get(name, {})
        # A changed item that is gone by now was deleted after the change was logged.
        st.deleted_ids |= {i for i in st.changed_ids if i not in got}
        st.items = list(got.values())

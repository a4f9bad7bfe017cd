"""Writing one site's actions to the hub: central items, the central item map, the register.

Writes go in ``$batch`` requests (≤ 100 operations each; the gateway splits). Each write is
idempotent and the central item map is updated from each result, so a run killed at any point
and started again converges (see docs/sync.md, "One site, step by step").
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from veiviser.sharepoint import items as rest
from veiviser.sharepoint.batch import Operation
from veiviser.sharepoint.client import SiteClient
from veiviser.sharepoint.errors import NotFoundError
from veiviser.sharepoint.values import item_etag, odata_literal
from veiviser.sync.diff import (
    Action,
    CentralMap,
    Create,
    Delete,
    Forget,
    Keep,
    RemoveDuplicate,
    Update,
    Write,
)
from veiviser.sync.discovery import ProjectSite
from veiviser.sync.kinds import PROJECTS_LIST_TITLE
from veiviser.sync.lists import KIND_ORDER, CentralList
from veiviser.sync.report import SiteFailure, site_error
from veiviser.sync.state import StateStore

_ENTITY_LOCK = threading.Lock()


class PeopleCache:
    """E-mail -> hub user id, shared by the workers (person ids are per site collection)."""

    def __init__(self) -> None:
        self._ids: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def resolve(self, hub: SiteClient, emails: Iterable[str]) -> dict[str, int | None]:
        """E-mail -> the hub's user id; None for a person the hub does not know (SharePoint answers
        400 "The specified user … could not be found."; docs/sync.md, "People"). Any other failure
        raises :class:`SiteFailure` and is not cached: the next run tries again."""
        wanted = {e.lower() for e in emails if e}
        with self._lock:
            missing = sorted(e for e in wanted if e not in self._ids)
        if missing:
            failed = None
            for result in hub.batch([rest.ensure_user(e, key=e) for e in missing]):
                value = result.value if result.ok and isinstance(result.value, dict) else None
                if value is None and result.status not in (400, 404):
                    failed = failed or result
                    continue
                with self._lock:
                    self._ids[result.key] = int(value["Id"]) if value and "Id" in value else None
            if failed is not None:
                raise site_error(failed, hub.url, f"look up the person {failed.key!r} on the hub")
        with self._lock:
            return {e: self._ids.get(e) for e in wanted}


def find_central_ids(
    hub: SiteClient,
    central: Mapping[str, CentralList],
    site_id: str,
    unknown: Mapping[str, Sequence[str]],
    cmap: CentralMap,
    keys_per_filter: int,
    whole: Collection[str] = (),
) -> dict[str, dict[str, list[int]]]:
    """Hub item ids of keys the central map does not know, looked up by the indexed source key
    (or, when the map knows nothing of the site or the kind is in ``whole``, all of the site's
    rows): ``{kind: {key: [ids]}}``."""
    select = ["ID", "GtSourceKey"]
    lookups: list[Operation] = []
    for name in KIND_ORDER:
        keys = list(unknown.get(name) or [])
        if not keys and name not in whole:
            continue
        title = central[name].title
        if not cmap.get(name) or name in whole:
            lookups.append(
                rest.get_items_where(title, "GtSiteId", [site_id], select=select, key=(name, "site"))
            )
            continue
        for i in range(0, len(keys), keys_per_filter):
            chunk = keys[i : i + keys_per_filter]
            lookups.append(rest.get_items_where(title, "GtSourceKey", chunk, select=select, key=(name, i)))
    found: dict[str, dict[str, list[int]]] = {}
    if not lookups:
        return found
    for res in hub.batch(lookups):
        name = res.key[0]
        if not res.ok:
            raise site_error(res, hub.url, f"look up central rows in {central[name].title!r}")
        page = res.value if isinstance(res.value, list) else []
        if res.key[1] == "site" and len(page) >= rest.MAX_PAGE:
            page = list(
                hub.iter_items(
                    central[name].title, select=select, filter=f"GtSiteId eq {odata_literal(site_id)}"
                )
            )
        for raw in page:
            found.setdefault(name, {}).setdefault(str(raw.get("GtSourceKey")), []).append(int(raw["ID"]))
    return found


def entity_types(hub: SiteClient, central: Mapping[str, CentralList]) -> dict[str, str]:
    """Item entity type names of the central lists by title: one ``$batch`` per run, shared by the workers."""
    with _ENTITY_LOCK:
        missing = [c for c in central.values() if not c.entity_type]
        if missing:
            ops = [rest.get_list_entity_type(c.title, key=c.kind) for c in missing]
            for res in hub.batch(ops):
                if not res.ok or not isinstance(res.value, dict):
                    raise site_error(res, hub.url, f"read the central list {central[res.key].title!r}")
                central[res.key].entity_type = str(res.value.get("ListItemEntityTypeFullName") or "")
        return {c.title: c.entity_type for c in central.values()}


#: How often an update that met 412 (the hub item changed since its ETag was read) is read and
#: sent again before the site fails (docs/sync.md, "ETags").
ETAG_RETRIES = 3


def read_etags(
    hub: SiteClient, central: Mapping[str, CentralList], updates: Sequence[Update], ids_per_filter: int = 40
) -> dict[tuple[str, int], str]:
    """The current ETag of each hub item an update will MERGE into: ``{(kind, central id): etag}``
    (one ``$batch``; an item that is gone has none, and its update meets 404 and is created again)."""
    ids: dict[str, list[int]] = {}
    for action in updates:
        ids.setdefault(action.kind, []).append(action.central_id)
    ops = [
        rest.get_items_by_ids(central[name].title, chunk, select=["ID"], key=(name, i))
        for name, wanted in ids.items()
        for i in range(0, len(wanted), ids_per_filter)
        if (chunk := sorted(set(wanted))[i : i + ids_per_filter])
    ]
    etags: dict[tuple[str, int], str] = {}
    for res in hub.batch(ops) if ops else []:
        name = res.key[0]
        if not res.ok:
            raise site_error(res, hub.url, f"read the versions of items in {central[name].title!r}")
        for raw in res.value if isinstance(res.value, list) else []:
            etag = item_etag(raw)
            if etag:
                etags[(name, int(raw.get("ID") or raw["Id"]))] = str(etag)
    return etags


def _operation(
    action: Write, title: str, entity_type: str, etags: Mapping[tuple[str, int], str]
) -> Operation:
    if isinstance(action, Create):
        return rest.create_item(title, action.values, entity_type, key=action)
    if isinstance(action, Update):
        # IF-MATCH with the ETag just read: a concurrent change answers 412, never a blind overwrite.
        etag = etags.get((action.kind, action.central_id))
        return rest.merge_item(
            title, action.central_id, action.values, entity_type, key=action, if_match=etag
        )
    return rest.delete_item(title, action.central_id, key=action)


def apply_actions(
    hub: SiteClient,
    store: StateStore,
    central: Mapping[str, CentralList],
    site_id: str,
    actions: Sequence[Action],
) -> dict[str, Any]:
    """Apply the diff's actions to the hub and the central item map; returns the counts.

    A hub item someone removed is created again; an update whose item changed since its ETag was
    read (412) is read and sent again, at most :data:`ETAG_RETRIES` times. A failed write raises
    :class:`SiteFailure` after every other write was applied (the next run retries it).
    """
    counts: dict[str, Any] = {"created": 0, "updated": 0, "deleted": 0, "unchanged": 0}
    writes: list[Write] = []
    for action in actions:
        if isinstance(action, Keep):
            counts["unchanged"] += 1
        elif isinstance(action, Forget):
            store.drop_central(action.kind, [action.key])
        else:
            writes.append(action)
    if not writes:
        return counts
    types = entity_types(hub, central)  # item bodies need the central lists' entity type names
    failures: list[str] = []
    # The ETags our last writes got (docs/sync.md, "ETags"): an update whose item has one needs no
    # read first; a stale one answers 412 and is read and sent again below.
    kept = store.central_etags(site_id)
    for round_no in range(ETAG_RETRIES + 1):
        updates = [a for a in writes if isinstance(a, Update)]
        etags = {
            (a.kind, a.central_id): kept[(a.kind, a.central_id)]
            for a in updates
            if (a.kind, a.central_id) in kept
        }
        etags.update(read_etags(hub, central, [a for a in updates if (a.kind, a.central_id) not in etags]))
        kept = {}  # a retry reads what is there now
        ops = [
            _operation(a, central[a.kind].title, types.get(central[a.kind].title, ""), etags) for a in writes
        ]
        mapped: dict[str, list[tuple[str, str, int, str]]] = {}
        written: dict[str, dict[str, str | None]] = {}  # the ETags the writes answered, by source key
        dropped: dict[str, list[str]] = {}
        again: list[Write] = []
        for res in hub.batch(ops):
            action = res.key
            name, key = action.kind, action.key
            if res.ok:
                # a create answers the item (its __metadata.etag), a MERGE an ETag header
                value = res.value if isinstance(res.value, dict) else {}
                if isinstance(action, Create | Update):
                    written.setdefault(name, {})[key] = res.headers.get("etag") or item_etag(value)
                if isinstance(action, Create):
                    new_id = int(value.get("Id") or value["ID"])
                    mapped.setdefault(name, []).append((key, site_id, new_id, action.digest))
                    counts["created"] += 1
                elif isinstance(action, Update):
                    mapped.setdefault(name, []).append((key, site_id, action.central_id, action.digest))
                    counts["updated"] += 1
                elif isinstance(action, Delete):
                    dropped.setdefault(name, []).append(key)
                    counts["deleted"] += 1
            elif isinstance(res.error, NotFoundError) and isinstance(action, Delete | RemoveDuplicate):
                if isinstance(action, Delete):
                    dropped.setdefault(name, []).append(key)
            elif isinstance(res.error, NotFoundError) and isinstance(action, Update):
                # Someone removed the central item: create it again.
                dropped.setdefault(name, []).append(key)
                again.append(Create(name, key, action.values, action.digest))
            elif res.status == 412 and isinstance(action, Update) and round_no < ETAG_RETRIES:
                again.append(action)  # changed since its ETag was read: read it again, then write
                counts["etag_retries"] = counts.get("etag_retries", 0) + 1
            else:
                failures.append(str(res.error) if res.error else f"HTTP {res.status}")
        for name, entries in mapped.items():
            store.set_central(name, entries, written.get(name))
        for name, keys in dropped.items():
            store.drop_central(name, keys)
        if not again:
            break
        writes = again
    if failures:
        more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
        raise SiteFailure(
            f"writing to the hub failed: {failures[0]}{more}",
            hint="The next run retries; nothing was lost at the source.",
        )
    return counts


def update_register(
    hub: SiteClient, site: ProjectSite, changes: Mapping[str, Any], project_title: str, counts: dict[str, Any]
) -> None:
    """Write :func:`~veiviser.sync.diff.register_changes` to the site's Prosjekter item (or create it)."""
    if not changes:
        return
    typed = dict(changes)
    info = hub.resolve_list(PROJECTS_LIST_TITLE)
    if site.register_id:
        results = hub.update_items(info, {site.register_id: typed})
    else:
        typed.setdefault("Title", project_title or site.url)
        results = hub.create_items(info, [typed])
    for res in results:
        if not res.ok:
            raise SiteFailure(f"updating the project register failed: {res.error}")
    counts["register_updated" if site.register_id else "register_created"] = 1

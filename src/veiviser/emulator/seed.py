"""Fast seeding: thousands of sites written straight into the emulator's store, without HTTP.

A benchmark of 5 000 project sites cannot build them one REST call at a time. :class:`Seeder`
builds one *prototype* site the ordinary way (through the object model, so every rule of the
emulator applies to it) and then copies it: the site, its lists, fields, content types, views,
users and items, and its change log, under new ids. The copies are indistinguishable from sites
built by REST calls; docs/emulator.md, "Fast seeding", says what is copied and how ids and change
tokens stay consistent.

Only tests, benchmarks and the demo use this module (like the rest of the emulator).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .api import ApiRequest, Headers
from .app import SharePointApp
from .model.common import ZERO_GUID, ticks_now

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_CHANGE_COLUMNS = "site_id, web_id, list_id, item_id, change_type, ticks, object, extra"


class SeedError(RuntimeError):
    """A seeding step the object model refused (the message names the call and the answer)."""


@dataclass
class _Prototype:
    """The source site as text, ready to be copied under new ids."""

    site_id: str
    path: str
    title: str
    objects: list[tuple[str, str]]  # (kind, JSON text), parents before children
    items: dict[str, list[str]]  # list id -> item JSON texts
    changes: list[tuple[Any, ...]]  # change rows without their number, in order
    owned: set[str]  # the GUIDs that belong to this site alone (get fresh ones per copy)


class Seeder:
    """Writes into a :class:`SharePointApp` directly: REST calls in process, and site copies.

    Hold no HTTP request against the same app meanwhile: the seeder takes the app's lock for each
    step, so a running server simply waits.
    """

    def __init__(self, app: SharePointApp, host: str = "127.0.0.1") -> None:
        self.app = app
        self.host = host

    # ------------------------------------------------------------------ in-process REST
    def call(self, method: str, site_path: str, api_path: str, body: Any = None) -> Any:
        """One REST call answered by the object model (no HTTP, no latency, no meter).

        ``api_path`` is relative to the site's ``/_api/`` (``Web/lists``); returns the ``d`` of the
        answer. A refusal raises :class:`SeedError` with the status and SharePoint's message.
        """
        path, _, query = api_path.partition("?")
        request = ApiRequest(
            method=method.upper(),
            host=self.host,
            path=f"{site_path.rstrip('/')}/_api/{path}",
            query=query,
            headers=Headers({"Accept": "application/json;odata=verbose"}),
            body=b"" if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8"),
        )
        response = self.app.handle(request)
        text = response.body.decode("utf-8", "replace") if response.body else ""
        if response.status >= 400:
            raise SeedError(f"{method} {request.path} was refused ({response.status}): {text[:300]}")
        if not text or not text.lstrip().startswith("{"):
            return None
        return json.loads(text).get("d")

    # ------------------------------------------------------------------ copies of a site
    def clone_site(self, source_path: str, paths: Sequence[str], titles: Sequence[str] | None = None) -> int:
        """Copy the site at ``source_path`` to each of ``paths`` (``/sites/<alias>``); returns the count.

        ``titles`` (default: the alias) name the copies. A path that already holds a site is refused
        before anything is written.
        """
        with self.app.lock:
            proto = self._prototype(source_path)
            taken = {s["Path"].lower() for s in self.app.store.under("site", "")}
            clash = [p for p in paths if p.rstrip("/").lower() in taken]
            if clash:
                raise SeedError(f"a site already exists at {clash[0]}; choose new paths for the copies")
            titles = titles or [p.rstrip("/").rsplit("/", 1)[-1] for p in paths]
            for start in range(0, len(paths), 200):  # one transaction per 200 sites
                self.app.store.begin()
                try:
                    for path, title in zip(
                        paths[start : start + 200], titles[start : start + 200], strict=True
                    ):
                        self._copy(proto, path.rstrip("/"), title)
                except BaseException:
                    self.app.store.rollback()
                    raise
                self.app.store.commit()
        return len(paths)

    def clone_item(
        self, site_path: str, list_title: str, item_id: int, replacements: Iterable[Mapping[str, str]]
    ) -> list[int]:
        """Copies of one item in the same list, each with its own text replacements; returns the new ids.

        Every copy gets the next item id, a new ``GUID`` and an "add" record in the change log, as a
        ``POST …/items`` would.
        """
        app = self.app
        with app.lock:
            site = app._site_by_path(site_path)
            if site is None:
                raise SeedError(f"no site at {site_path}")
            lst = app._find_list_by_title(site, list_title)
            if lst is None:
                raise SeedError(f"no list {list_title!r} at {site_path}")
            source = app.store.items(lst["Id"]).get(item_id)
            if source is None:
                raise SeedError(f"no item {item_id} in {list_title!r} at {site_path}")
            text = json.dumps(source, ensure_ascii=False)
            ids: list[int] = []
            app.store.begin()
            try:
                for pairs in replacements:
                    copy_text = text
                    for old, new in pairs.items():
                        copy_text = copy_text.replace(old, new)
                    item = json.loads(copy_text)
                    item["ID"] = new_id = int(lst["NextItemId"])
                    item["GUID"] = str(uuid.uuid4())
                    lst["NextItemId"] = new_id + 1
                    app.store.put_item(lst["Id"], item)
                    app._log(site, lst, new_id, 1, "Item")
                    ids.append(new_id)
                app.store.put("list", lst)
            except BaseException:
                app.store.rollback()
                raise
            app.store.commit()
        return ids

    # ------------------------------------------------------------------ internals
    def _prototype(self, source_path: str) -> _Prototype:
        store = self.app.store
        site = self.app._site_by_path(source_path)
        if site is None:
            raise SeedError(f"no site at {source_path} to copy")
        web_id = site["WebId"]
        lists = store.under("list", web_id)
        objects: list[tuple[str, str]] = [("site", json.dumps(site, ensure_ascii=False))]
        for kind, parents in (
            ("user", [site["Id"]]),
            ("field", [web_id]),
            ("ctype", [web_id]),
            ("list", [web_id]),
            ("field", [lst["Id"] for lst in lists]),
            ("ctype", [lst["Id"] for lst in lists]),
            ("view", [lst["Id"] for lst in lists]),
            ("recycle", [web_id]),
        ):
            for parent in parents:
                objects += [(kind, json.dumps(o, ensure_ascii=False)) for o in store.under(kind, parent)]
        items = {
            lst["Id"]: [json.dumps(i, ensure_ascii=False) for i in store.items(lst["Id"]).values()]
            for lst in lists
        }
        changes = [
            row[1:]
            for row in store.db.execute(
                f"SELECT no, {_CHANGE_COLUMNS} FROM changes WHERE site_id=? ORDER BY no", (site["Id"],)
            )
        ]
        # A GUID is the site's own when no object outside the site mentions it: built-in field and
        # content type ids, template field ids and the hub's id are shared and stay as they are.
        mine = {m.group(0).lower() for _, text in objects for m in _GUID.finditer(text)}
        shared = {ZERO_GUID, str(site.get("HubSiteId", ZERO_GUID)).lower()}
        own_parents = {site["Id"], web_id, *(lst["Id"] for lst in lists)}
        for kind in store.objects:
            for obj in store.objects[kind].values():
                if obj is site or obj.get("_parent") in own_parents:
                    continue
                shared |= {m.group(0).lower() for m in _GUID.finditer(json.dumps(obj))} & mine
        return _Prototype(
            site_id=site["Id"],
            path=site["Path"],
            title=site["Title"],
            objects=objects,
            items=items,
            changes=changes,
            owned=mine - shared,
        )

    def _copy(self, proto: _Prototype, path: str, title: str) -> None:
        app, store = self.app, self.app.store
        mapping = {g: str(uuid.uuid4()) for g in proto.owned}

        def remap(text: str) -> str:
            text = _GUID.sub(lambda m: mapping.get(m.group(0).lower(), m.group(0)), text)
            return text.replace(f"{proto.path}/", f"{path}/").replace(f'{proto.path}"', f'{path}"')

        for kind, text in proto.objects:
            obj = json.loads(remap(text))
            if kind == "site":
                obj["Title"] = title
            store.put(kind, obj)
        for list_id, texts in proto.items.items():
            new_list = mapping.get(list_id.lower(), list_id)
            for text in texts:
                item = json.loads(remap(text))
                item["GUID"] = str(uuid.uuid4())
                store.put_item(new_list, item)
        ticks = max(ticks_now(), app._last_ticks + 1)
        rows = []
        for site_id, web_id, list_id, item_id, change_type, _, obj, extra in proto.changes:
            rows.append(
                (
                    mapping.get(site_id.lower(), site_id),
                    mapping.get(str(web_id).lower(), web_id),
                    mapping.get(list_id.lower(), list_id) if list_id else list_id,
                    item_id,
                    change_type,
                    ticks,
                    obj,
                    remap(extra) if extra else extra,
                )
            )
            ticks += 1
        store.db.executemany(f"INSERT INTO changes({_CHANGE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?)", rows)
        app._last_ticks = ticks

"""SQLite persistence for the emulator's object model, with an in-memory write-through cache.

Metadata objects (sites, lists, fields, content types, views, users) are small and kept in memory
entirely; list items are loaded per list on first use, so a request never scans unrelated lists.
The change log stays in SQLite and is queried by index.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

# The kinds of object the store keeps (rows of the `objects` table, cached in memory by kind).
OBJECT_KINDS = ("site", "list", "field", "ctype", "view", "user", "recycle")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    kind TEXT NOT NULL, id TEXT NOT NULL, parent TEXT, data TEXT NOT NULL,
    PRIMARY KEY (kind, id));
CREATE TABLE IF NOT EXISTS items (
    list_id TEXT NOT NULL, item_id INTEGER NOT NULL, data TEXT NOT NULL,
    PRIMARY KEY (list_id, item_id));
CREATE TABLE IF NOT EXISTS changes (
    no INTEGER PRIMARY KEY AUTOINCREMENT, site_id TEXT, web_id TEXT, list_id TEXT,
    item_id INTEGER, change_type INTEGER, ticks INTEGER, object TEXT, extra TEXT);
CREATE INDEX IF NOT EXISTS changes_list ON changes(list_id, no);
CREATE INDEX IF NOT EXISTS changes_site ON changes(site_id, no);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


class Store:
    """Objects by kind and id, an index by parent, items per list, and the change log."""

    def __init__(self, db_path: str | None) -> None:
        self.db = sqlite3.connect(db_path or ":memory:", check_same_thread=False, isolation_level=None)
        if db_path:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in OBJECT_KINDS}
        self.children: dict[str, dict[str, dict[str, dict[str, Any]]]] = {k: {} for k in OBJECT_KINDS}
        self._items: dict[str, dict[int, dict[str, Any]]] = {}
        # list id -> column -> text value -> item ids; built on first use, kept up to date by writes
        self._indexes: dict[str, dict[str, dict[str | None, set[int]]]] = {}
        self._in_tx = False
        self._wrote = False  # whether the open transaction wrote anything
        self.site_generation = 0  # changes whenever a site is added, replaced or removed (for indexes)
        self._load_objects()

    def _load_objects(self) -> None:
        self.site_generation += 1
        self.objects = {k: {} for k in OBJECT_KINDS}
        self.children = {k: {} for k in OBJECT_KINDS}
        for kind, oid, parent, data in self.db.execute(
            "SELECT kind, id, parent, data FROM objects ORDER BY rowid"
        ):
            obj = json.loads(data)
            self.objects[kind][oid] = obj
            self.children[kind].setdefault(parent or "", {})[oid] = obj

    # ------------------------------------------------------------------ transactions
    def begin(self) -> None:
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True
            self._wrote = False

    def commit(self) -> None:
        if self._in_tx:
            self.db.execute("COMMIT")
            self._in_tx = False

    def rollback(self, *, may_have_mutated: bool = True) -> None:
        """Undo the SQLite side and make memory match disk again.

        Handlers may change cached objects in place before they fail, so after a write request the
        caches are rebuilt from disk. A read (``may_have_mutated=False``) that wrote nothing leaves
        them untouched: reloading every object after each failed GET (a plain 404) made requests
        slower as the tenant grew.
        """
        if self._in_tx:
            self.db.execute("ROLLBACK")
            self._in_tx = False
            if may_have_mutated or self._wrote:
                self._items.clear()
                self._indexes.clear()
                self._load_objects()

    # ------------------------------------------------------------------ objects
    def get(self, kind: str, oid: str) -> dict[str, Any] | None:
        return self.objects[kind].get(oid)

    def under(self, kind: str, parent: str) -> list[dict[str, Any]]:
        return list(self.children[kind].get(parent, {}).values())

    def put(self, kind: str, obj: dict[str, Any]) -> None:
        """Insert or update ``obj`` (needs ``_id`` and ``_parent``)."""
        self._wrote = True
        if kind == "site":
            self.site_generation += 1
        oid, parent = obj["_id"], obj.get("_parent") or ""
        self.objects[kind][oid] = obj
        self.children[kind].setdefault(parent, {})[oid] = obj
        self.db.execute(
            "INSERT INTO objects(kind, id, parent, data) VALUES (?,?,?,?) "
            "ON CONFLICT(kind, id) DO UPDATE SET data=excluded.data, parent=excluded.parent",
            (kind, oid, parent, json.dumps(obj, ensure_ascii=False)),
        )

    def delete(self, kind: str, oid: str) -> None:
        self._wrote = True
        if kind == "site":
            self.site_generation += 1
        obj = self.objects[kind].pop(oid, None)
        if obj is not None:
            self.children[kind].get(obj.get("_parent") or "", {}).pop(oid, None)
        self.db.execute("DELETE FROM objects WHERE kind=? AND id=?", (kind, oid))

    def meta(self, key: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self._wrote = True
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?,?)", (key, value))

    # ------------------------------------------------------------------ items
    def items(self, list_id: str) -> dict[int, dict[str, Any]]:
        """All items of one list, in ID order (loaded on first use)."""
        cached = self._items.get(list_id)
        if cached is None:
            cached = {
                iid: json.loads(data)
                for iid, data in self.db.execute(
                    "SELECT item_id, data FROM items WHERE list_id=? ORDER BY item_id", (list_id,)
                )
            }
            self._items[list_id] = cached
        return cached

    def text_index(self, list_id: str, column: str) -> dict[str | None, set[int]]:
        """Item ids by the value of a text column (values that are not text are left out): what an
        indexed column gives SharePoint, an equality filter without a scan (docs/emulator.md,
        "Indexed columns")."""
        by_column = self._indexes.setdefault(list_id, {})
        index = by_column.get(column)
        if index is None:
            index = {}
            for iid, item in self.items(list_id).items():
                value = item.get(column)
                if value is None or isinstance(value, str):
                    index.setdefault(value, set()).add(iid)
            by_column[column] = index
        return index

    def _unindex(self, list_id: str, item: dict[str, Any] | None) -> None:
        if item is None:
            return
        for column, index in self._indexes.get(list_id, {}).items():
            index.get(item.get(column), set()).discard(int(item["ID"]))

    def put_item(self, list_id: str, item: dict[str, Any]) -> None:
        self._wrote = True
        items = self.items(list_id)
        iid = int(item["ID"])
        if list_id in self._indexes:
            self._unindex(list_id, items.get(iid))
            for column, index in self._indexes[list_id].items():
                value = item.get(column)
                if value is None or isinstance(value, str):
                    index.setdefault(value, set()).add(iid)
        items[iid] = item
        self.db.execute(
            "INSERT OR REPLACE INTO items(list_id, item_id, data) VALUES (?,?,?)",
            (list_id, iid, json.dumps(item, ensure_ascii=False)),
        )

    def delete_item(self, list_id: str, item_id: int) -> None:
        self._wrote = True
        self._unindex(list_id, self.items(list_id).pop(item_id, None))
        self.db.execute("DELETE FROM items WHERE list_id=? AND item_id=?", (list_id, item_id))

    def drop_items(self, list_id: str) -> None:
        self._wrote = True
        self._items.pop(list_id, None)
        self._indexes.pop(list_id, None)
        self.db.execute("DELETE FROM items WHERE list_id=?", (list_id,))

    # ------------------------------------------------------------------ changes
    def add_change(
        self,
        site_id: str,
        web_id: str,
        list_id: str | None,
        item_id: int | None,
        change_type: int,
        ticks: int,
        obj: str,
        extra: dict[str, Any] | None = None,
    ) -> int:
        self._wrote = True
        cur = self.db.execute(
            "INSERT INTO changes(site_id, web_id, list_id, item_id, change_type, ticks, object, extra) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (site_id, web_id, list_id, item_id, change_type, ticks, obj, json.dumps(extra or {})),
        )
        return int(cur.lastrowid or 0)

    def last_change_no(self) -> int:
        row = self.db.execute("SELECT MAX(no) FROM changes").fetchone()
        return int(row[0] or 0)

    def changes(
        self, column: str, value: str, after: int, until: int | None, limit: int
    ) -> list[tuple[Any, ...]]:
        assert column in ("site_id", "list_id", "web_id")
        sql = f"SELECT no, site_id, web_id, list_id, item_id, change_type, ticks, object, extra FROM changes WHERE {column}=? AND no>?"
        args: list[Any] = [value, after]
        if until is not None:
            sql += " AND no<=?"
            args.append(until)
        sql += " ORDER BY no LIMIT ?"
        args.append(limit)
        return list(self.db.execute(sql, args))

    def close(self) -> None:
        self.commit()
        self.db.close()

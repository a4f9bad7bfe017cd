"""The sync's history: a versioned copy of every synced row, and the frames analytics read.

``sync_versions`` holds one row per version of a source row (``valid_from``/``valid_to``, and a
tombstone for a deletion), so "what did this look like on date D" (:func:`history_frame`) and
"what changed since D" (:func:`changes_since`) are queries. Every write is idempotent: recording
the same row twice, or a deletion twice, changes nothing (see docs/sync.md, "The state store").
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from veiviser.sync.schema import (
    Database,
    chunks,
    from_db,
    last_finished_run_id,
    to_db,
    utcnow,
    versions_table,
)


def content_hash(values: dict[str, Any]) -> str:
    """A stable hash of a row's values (key order does not matter)."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RowSnapshot:
    """One synced row as it is now at its source."""

    kind: str
    source_key: str
    site_id: str
    values: dict[str, Any]
    project_url: str = ""
    project_title: str = ""


@dataclass
class VersionCounts:
    """What a history write did."""

    added: int = 0
    changed: int = 0
    deleted: int = 0
    unchanged: int = 0

    def __iadd__(self, other: VersionCounts) -> VersionCounts:
        self.added += other.added
        self.changed += other.changed
        self.deleted += other.deleted
        self.unchanged += other.unchanged
        return self


class History(Database):
    """Row versions in the state store database (the history half of :class:`~veiviser.sync.state.StateStore`)."""

    def current_rows(self, site_id: str) -> dict[str, dict[str, dict[str, Any]]]:
        """``{kind: {source_key: values}}`` of the live current versions of one site."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(
                    versions_table.c.kind, versions_table.c.source_key, versions_table.c["values"]
                ).where(
                    versions_table.c.site_id == site_id,
                    versions_table.c.valid_to.is_(None),
                    versions_table.c.deleted.is_(False),
                )
            ).all()
        out: dict[str, dict[str, dict[str, Any]]] = {}
        for r in rows:
            out.setdefault(r.kind, {})[r.source_key] = dict(r[2] or {})
        return out

    def record_versions(
        self,
        rows: Iterable[RowSnapshot],
        *,
        run_id: int | None = None,
        at: datetime | None = None,
    ) -> VersionCounts:
        """Store rows as seen now: a new version where the values changed, nothing where they did not.

        A row whose current version is a deletion tombstone is recorded as re-added.
        """
        at_db = to_db(at or utcnow())
        counts = VersionCounts()
        by_kind: dict[str, dict[str, RowSnapshot]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, {})[row.source_key] = row  # last one wins
        with self._begin() as conn:
            for kind, snapshots in by_kind.items():
                current = _current_versions(conn, kind, list(snapshots))
                closes: list[int] = []
                inserts: list[dict[str, Any]] = []
                for key, snap in snapshots.items():
                    digest = content_hash(snap.values)
                    cur = current.get(key)
                    if (
                        cur is not None
                        and not cur.deleted
                        and cur.content_hash == digest
                        and (cur.project_url, cur.project_title) == (snap.project_url, snap.project_title)
                    ):
                        counts.unchanged += 1
                        continue
                    if cur is None or cur.deleted:
                        counts.added += 1
                    else:
                        counts.changed += 1
                    if cur is not None:
                        closes.append(cur.id)
                    inserts.append(
                        {
                            "kind": kind,
                            "source_key": key,
                            "site_id": snap.site_id,
                            "project_url": snap.project_url,
                            "project_title": snap.project_title,
                            "values": snap.values,
                            "content_hash": digest,
                            "valid_from": at_db,
                            "valid_to": None,
                            "deleted": False,
                            "run_id": run_id,
                        }
                    )
                _close(conn, closes, at_db)
                if inserts:
                    conn.execute(versions_table.insert(), inserts)
        return counts

    def record_deletions(
        self,
        kind: str,
        source_keys: Iterable[str],
        *,
        run_id: int | None = None,
        at: datetime | None = None,
    ) -> int:
        """Close the current version of each key and add a deletion tombstone. Idempotent."""
        at_db = to_db(at or utcnow())
        keys = list(dict.fromkeys(source_keys))
        deleted = 0
        with self._begin() as conn:
            current = _current_versions(conn, kind, keys)
            closes, inserts = [], []
            for key in keys:
                cur = current.get(key)
                if cur is None or cur.deleted:
                    continue
                closes.append(cur.id)
                inserts.append(
                    {
                        "kind": kind,
                        "source_key": key,
                        "site_id": cur.site_id,
                        "project_url": cur.project_url,
                        "project_title": cur.project_title,
                        "values": cur.values,
                        "content_hash": cur.content_hash,
                        "valid_from": at_db,
                        "valid_to": None,
                        "deleted": True,
                        "run_id": run_id,
                    }
                )
                deleted += 1
            _close(conn, closes, at_db)
            if inserts:
                conn.execute(versions_table.insert(), inserts)
        return deleted

    def current_keys(self, kind: str, site_id: str | None = None) -> set[str]:
        """Keys whose current version is alive (not deleted), optionally for one site."""
        stmt = sa.select(versions_table.c.source_key).where(
            versions_table.c.kind == kind,
            versions_table.c.valid_to.is_(None),
            versions_table.c.deleted.is_(False),
        )
        if site_id is not None:
            stmt = stmt.where(versions_table.c.site_id == site_id)
        with self._begin() as conn:
            return set(conn.execute(stmt).scalars())

    def history_frame(self, kind: str, as_of: datetime | None = None) -> pd.DataFrame:
        """The rows of ``kind`` as they were at ``as_of`` (default: now), one row per live item.

        Columns: ``source_key``, ``kind``, ``project_key`` (= ``site_id``), ``site_id``,
        ``project_url``, ``project_title``, ``valid_from``, ``valid_to``, ``deleted``, then one column
        per synced field (internal names, plus ``item_id`` and resolved ``*_key`` lookups).
        """
        stmt = sa.select(versions_table).where(
            versions_table.c.kind == kind, versions_table.c.deleted.is_(False)
        )
        if as_of is None:
            stmt = stmt.where(versions_table.c.valid_to.is_(None))
        else:
            point = to_db(as_of)
            stmt = stmt.where(
                versions_table.c.valid_from <= point,
                sa.or_(versions_table.c.valid_to.is_(None), versions_table.c.valid_to > point),
            )
        stmt = stmt.order_by(versions_table.c.source_key)
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
        return _frame(rows, extra=[])

    def versions_frame(self, kind: str | None = None) -> pd.DataFrame:
        """Every stored version (tombstones included), oldest first: the full history for trends."""
        stmt = sa.select(versions_table).order_by(versions_table.c.valid_from, versions_table.c.id)
        if kind is not None:
            stmt = stmt.where(versions_table.c.kind == kind)
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
        return _frame(rows, extra=[])

    def changes_since(self, kind: str, since: datetime | int | None = None) -> pd.DataFrame:
        """Versions of ``kind`` recorded after ``since``, oldest first, with a ``change`` column.

        ``since`` is a datetime (changes strictly after it), a run id (changes made by that run and
        later ones), or ``None`` for the changes made by the latest finished run. ``change`` is
        ``added``, ``changed`` or ``deleted``; for deletions the values are the last ones known.
        """
        stmt = sa.select(versions_table).where(versions_table.c.kind == kind)
        if since is None:
            with self._begin() as conn:
                last = last_finished_run_id(conn)
            if last is None:
                return _frame([], extra=["change", "changed_at"])
            stmt = stmt.where(versions_table.c.run_id == last)
        elif isinstance(since, int):
            stmt = stmt.where(versions_table.c.run_id >= since)
        else:
            stmt = stmt.where(versions_table.c.valid_from > to_db(since))
        stmt = stmt.order_by(versions_table.c.valid_from, versions_table.c.id)
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
            if not rows:
                return _frame([], extra=["change", "changed_at"])
            # Was there a live version just before each new one? Then it is a change, not an add.
            first_ids: dict[str, Any] = {}
            for r in rows:
                first_ids.setdefault(r["source_key"], r)
            prev_alive = _previous_alive(conn, kind, list(first_ids.values()))
        out = []
        seen_alive: dict[str, bool] = {}
        for r in rows:
            key = r["source_key"]
            alive_before = seen_alive.get(key, prev_alive.get(key, False))
            change = "deleted" if r["deleted"] else "changed" if alive_before else "added"
            seen_alive[key] = not r["deleted"]
            out.append({**dict(r), "change": change, "changed_at": r["valid_from"]})
        return _frame(out, extra=["change", "changed_at"])


def history_frame(kind: str, as_of: datetime | None = None, *, state_url: str | None = None) -> pd.DataFrame:
    """The synced rows of ``kind`` as they were at ``as_of`` (default now); see History.history_frame."""
    with History(state_url) as store:
        frame: pd.DataFrame = store.history_frame(kind, as_of)
    return frame


def changes_since(
    kind: str, since: datetime | int | None = None, *, state_url: str | None = None
) -> pd.DataFrame:
    """What changed in ``kind`` since a datetime / run id / the last run; see History.changes_since."""
    with History(state_url) as store:
        frame: pd.DataFrame = store.changes_since(kind, since)
    return frame


def _current_versions(conn: Connection, kind: str, keys: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for chunk in chunks(list(keys)):
        rows = conn.execute(
            sa.select(versions_table).where(
                versions_table.c.kind == kind,
                versions_table.c.source_key.in_(chunk),
                versions_table.c.valid_to.is_(None),
            )
        ).all()
        for row in rows:
            out[row.source_key] = row
    return out


def _close(conn: Connection, ids: Sequence[int], at_db: datetime | None) -> None:
    for chunk in chunks(list(ids)):
        conn.execute(versions_table.update().where(versions_table.c.id.in_(chunk)).values(valid_to=at_db))


def _previous_alive(conn: Connection, kind: str, firsts: Sequence[Any]) -> dict[str, bool]:
    """For each first version in a window: was the version it replaced alive (not a tombstone)?"""
    out: dict[str, bool] = {}
    for chunk in chunks(list(firsts)):
        keys = [r["source_key"] for r in chunk]
        rows = conn.execute(
            sa.select(
                versions_table.c.source_key,
                versions_table.c.id,
                versions_table.c.valid_to,
                versions_table.c.deleted,
            ).where(versions_table.c.kind == kind, versions_table.c.source_key.in_(keys))
        ).all()
        by_key: dict[str, list[Any]] = {}
        for row in rows:
            by_key.setdefault(row.source_key, []).append(row)
        for first in chunk:
            earlier = [r for r in by_key.get(first["source_key"], []) if r.id < first["id"]]
            if earlier:
                out[first["source_key"]] = not max(earlier, key=lambda r: r.id).deleted
    return out


_META = [
    "source_key",
    "kind",
    "project_key",
    "site_id",
    "project_url",
    "project_title",
    "valid_from",
    "valid_to",
    "deleted",
]


def _frame(rows: Sequence[Any], extra: list[str]) -> pd.DataFrame:
    records = []
    value_cols: dict[str, None] = {}
    for r in rows:
        values = r["values"] or {}
        for col in values:
            value_cols.setdefault(col, None)
        rec = {c: r[c] for c in _META if c != "project_key"}
        rec["project_key"] = r["site_id"]
        rec["deleted"] = bool(r["deleted"])
        rec["valid_from"] = from_db(rec["valid_from"])
        rec["valid_to"] = from_db(rec["valid_to"])
        for c in extra:
            rec[c] = from_db(r[c]) if isinstance(r[c], datetime) else r[c]
        rec.update({f: v for f, v in values.items() if f not in _META and f not in extra})
        records.append(rec)
    columns = _META + extra + [c for c in value_cols if c not in _META and c not in extra]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in ("valid_from", "valid_to", "changed_at"):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame

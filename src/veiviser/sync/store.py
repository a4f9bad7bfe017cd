"""State and history store of the portfolio sync, through SQLAlchemy 2 (Core).

One database (a SQLite file by default, any SQLAlchemy URL by setting, e.g. PostgreSQL) holds:

- ``sync_tokens``: the change token per (site, list) with the list id it belongs to and when it
  was issued (SharePoint Online never says a token expired, so the age is tracked here);
- ``sync_runs``, ``sync_run_sites``, ``sync_findings``: the run log;
- ``sync_versions``: a versioned copy of every synced row (valid_from/valid_to, tombstones for
  deletions), so "what did this look like on date D" and "what changed since D" are queries;
- ``sync_locks``: an inter-process run lock (owner, heartbeat, expiry) that works on any database;
- ``veiviser_schema``: the schema version, for later migrations.

Every write is idempotent: recording the same row twice, or a deletion twice, changes nothing.
Times are stored as naive UTC and returned as aware UTC.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError, SQLAlchemyError

from veiviser.errors import VeiviserError
from veiviser.sync.quality import Finding

log = logging.getLogger(__name__)

#: The schema version this code writes. Bump it and add a step to ``_MIGRATIONS`` on changes.
SCHEMA_VERSION = 1

#: The lock name used by ``veiviser sync run``.
RUN_LOCK = "sync-run"


class StoreError(VeiviserError):
    """The state store cannot be opened or used."""

    exit_code = 5


#: Exit code when another run holds (or took over) the run lock: sysexits' EX_TEMPFAIL, "try again
#: later", distinct from every failure code so a scheduler can tell "busy" from "broken".
EXIT_LOCK_HELD = 75


class LockHeldError(VeiviserError):
    """Another run holds the run lock."""

    exit_code = EXIT_LOCK_HELD


class LockLostError(VeiviserError):
    """This run's lock was taken over by another process (our heartbeat stopped for too long)."""

    exit_code = EXIT_LOCK_HELD


def default_state_url() -> str:
    """``$VEIVISER_STATE_URL``, else a SQLite file under ``$XDG_STATE_HOME/veiviser`` (~/.local/state)."""
    url = os.environ.get("VEIVISER_STATE_URL")
    if url:
        return url
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return f"sqlite:///{base / 'veiviser' / 'sync-state.sqlite'}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _to_db(ts: datetime | None) -> datetime | None:
    """An aware (or naive-UTC) datetime as naive UTC for storage."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


def _from_db(ts: datetime | None) -> datetime | None:
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def content_hash(values: dict[str, Any]) -> str:
    """A stable hash of a row's values (key order does not matter)."""
    text = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- schema --------------------------------------------------------------------------------------

metadata = sa.MetaData()

schema_table = sa.Table(
    "veiviser_schema",
    metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("applied_at", sa.DateTime, nullable=False),
)

tokens_table = sa.Table(
    "sync_tokens",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("list_name", sa.String(255), primary_key=True),
    sa.Column("list_id", sa.String(64), nullable=False),
    sa.Column("token", sa.Text, nullable=False),
    sa.Column("issued_at", sa.DateTime, nullable=False),
    sa.Column("site_url", sa.String(1024), nullable=False, default=""),
    sa.Column("run_id", sa.Integer, nullable=True),
)

runs_table = sa.Table(
    "sync_runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("hub_url", sa.String(1024), nullable=False),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    # running | ok | partial | failed | abandoned
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("counts", sa.JSON, nullable=False, default=dict),
    sa.Column("message", sa.Text, nullable=True),
)

run_sites_table = sa.Table(
    "sync_run_sites",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_runs.id"), primary_key=True),
    sa.Column("site_url", sa.String(1024), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=True),
    sa.Column("title", sa.String(512), nullable=True),
    # ok | failed | skipped
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("counts", sa.JSON, nullable=False, default=dict),
    sa.Column("requests", sa.Integer, nullable=False, default=0),
    sa.Column("started_at", sa.DateTime, nullable=True),
    sa.Column("finished_at", sa.DateTime, nullable=True),
)

findings_table = sa.Table(
    "sync_findings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_runs.id"), nullable=False, index=True),
    sa.Column("site_url", sa.String(1024), nullable=False),
    sa.Column("list_title", sa.String(255), nullable=False),
    sa.Column("item_id", sa.Integer, nullable=True),
    sa.Column("field", sa.String(255), nullable=True),
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("rule", sa.String(128), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
)

versions_table = sa.Table(
    "sync_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("source_key", sa.String(255), nullable=False),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("project_url", sa.String(1024), nullable=False, default=""),
    sa.Column("project_title", sa.String(512), nullable=False, default=""),
    sa.Column("values", sa.JSON, nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("valid_from", sa.DateTime, nullable=False),
    sa.Column("valid_to", sa.DateTime, nullable=True),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("run_id", sa.Integer, nullable=True),
    sa.Index("ix_sync_versions_key", "kind", "source_key", "valid_to"),
    sa.Index("ix_sync_versions_site", "kind", "site_id", "valid_to"),
    sa.Index("ix_sync_versions_from", "kind", "valid_from"),
)

central_table = sa.Table(
    "sync_central",
    metadata,
    sa.Column("kind", sa.String(64), primary_key=True),
    sa.Column("source_key", sa.String(255), primary_key=True),
    sa.Column("site_id", sa.String(64), nullable=False),
    sa.Column("central_id", sa.Integer, nullable=False),
    sa.Column("central_hash", sa.String(64), nullable=False),
    sa.Index("ix_sync_central_site", "kind", "site_id"),
)

#: Per site: row counts and data-quality findings of its current rows, written with its history,
#: so an unchanged site's outcome needs one small read instead of loading every row.
summaries_table = sa.Table(
    "sync_site_summary",
    metadata,
    sa.Column("site_id", sa.String(64), primary_key=True),
    sa.Column("site_url", sa.String(1024), nullable=False, default=""),
    sa.Column("title", sa.String(512), nullable=True),
    sa.Column("rows", sa.Integer, nullable=False, default=0),
    sa.Column("findings", sa.JSON, nullable=False, default=list),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

locks_table = sa.Table(
    "sync_locks",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("owner", sa.String(255), nullable=False),
    sa.Column("acquired_at", sa.DateTime, nullable=False),
    sa.Column("heartbeat_at", sa.DateTime, nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
)

# version -> function(conn) that upgrades from version-1. Version 1 is created by create_all.
_MIGRATIONS: dict[int, Any] = {}


# --- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRecord:
    """A stored change token."""

    site_id: str
    list_name: str
    list_id: str
    token: str
    issued_at: datetime
    site_url: str = ""


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


@dataclass(frozen=True)
class SiteRunResult:
    """One site's outcome in a run."""

    site_url: str
    status: str  # ok | failed | skipped
    site_id: str | None = None
    title: str | None = None
    error: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


# --- the store -----------------------------------------------------------------------------------


class StateStore:
    """The sync's state and history database. Create tables on first use; safe to share by threads."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = url or default_state_url()
        self.engine = _make_engine(self.url, echo=echo)
        self._ensure_schema()

    # -- lifecycle --

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> StateStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(
                f"State store {self._safe_url()} failed: {exc.orig}",
                hint="Check that the database is reachable and not locked by another tool.",
            ) from exc

    def _safe_url(self) -> str:
        try:
            return sa.make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<invalid URL>"

    def _ensure_schema(self) -> None:
        with self._begin() as conn:
            metadata.create_all(conn)
            row = conn.execute(
                sa.select(schema_table.c.version).where(schema_table.c.component == "sync")
            ).first()
            if row is None:
                conn.execute(
                    schema_table.insert().values(
                        component="sync", version=SCHEMA_VERSION, applied_at=_to_db(utcnow())
                    )
                )
                return
            version = int(row.version)
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"State store {self._safe_url()} has schema version {version}, newer than this "
                    f"veiviser understands ({SCHEMA_VERSION}).",
                    hint="Upgrade veiviser, or point --state at another database.",
                )
            while version < SCHEMA_VERSION:
                version += 1
                _MIGRATIONS[version](conn)
                conn.execute(
                    schema_table.update()
                    .where(schema_table.c.component == "sync")
                    .values(version=version, applied_at=_to_db(utcnow()))
                )

    def schema_version(self) -> int:
        with self._begin() as conn:
            return int(
                conn.execute(
                    sa.select(schema_table.c.version).where(schema_table.c.component == "sync")
                ).scalar_one()
            )

    # -- change tokens --

    def get_token(self, site_id: str, list_name: str) -> TokenRecord | None:
        with self._begin() as conn:
            row = conn.execute(
                sa.select(tokens_table).where(
                    tokens_table.c.site_id == site_id, tokens_table.c.list_name == list_name
                )
            ).first()
        return _token_from_row(row) if row else None

    def tokens_for_site(self, site_id: str) -> dict[str, TokenRecord]:
        """All stored tokens of a site, by list name."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(tokens_table).where(tokens_table.c.site_id == site_id)).all()
        return {row.list_name: _token_from_row(row) for row in rows}

    def tokens_for_url(self, site_url: str) -> dict[str, TokenRecord]:
        """All stored tokens of the site at a URL, by list name (the site id is checked by the caller)."""
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(tokens_table).where(tokens_table.c.site_url == site_url.rstrip("/").lower())
            ).all()
        return {row.list_name: _token_from_row(row) for row in rows}

    def set_tokens(self, records: Iterable[TokenRecord], *, run_id: int | None = None) -> None:
        """Store (insert or replace) tokens in one transaction."""
        records = list(records)
        if not records:
            return
        with self._begin() as conn:
            for rec in records:
                key = (tokens_table.c.site_id == rec.site_id) & (tokens_table.c.list_name == rec.list_name)
                values = {
                    "list_id": rec.list_id,
                    "token": rec.token,
                    "issued_at": _to_db(rec.issued_at),
                    "site_url": rec.site_url.rstrip("/").lower(),
                    "run_id": run_id,
                }
                updated = conn.execute(tokens_table.update().where(key).values(**values)).rowcount
                if not updated:
                    conn.execute(
                        tokens_table.insert().values(site_id=rec.site_id, list_name=rec.list_name, **values)
                    )

    def all_tokens(self) -> dict[str, dict[str, TokenRecord]]:
        """Every stored token by site URL (lower case) and list name: one query for a whole run."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(tokens_table)).all()
        out: dict[str, dict[str, TokenRecord]] = {}
        for row in rows:
            out.setdefault((row.site_url or "").rstrip("/").lower(), {})[row.list_name] = _token_from_row(row)
        return out

    def set_site_summary(
        self, site_id: str, *, site_url: str, title: str | None, rows: int, findings: list[dict[str, Any]]
    ) -> None:
        """Store the row count and findings of a site's current rows (call before its tokens)."""
        values = {
            "site_url": site_url.rstrip("/").lower(),
            "title": title,
            "rows": rows,
            "findings": findings,
            "updated_at": _to_db(utcnow()),
        }
        with self._begin() as conn:
            if not conn.execute(
                summaries_table.update().where(summaries_table.c.site_id == site_id).values(**values)
            ).rowcount:
                conn.execute(summaries_table.insert().values(site_id=site_id, **values))

    def site_summary(self, site_id: str) -> dict[str, Any] | None:
        """``{"title", "rows", "findings"}`` stored by :meth:`set_site_summary`, or None."""
        with self._begin() as conn:
            row = (
                conn.execute(sa.select(summaries_table).where(summaries_table.c.site_id == site_id))
                .mappings()
                .first()
            )
        return (
            None
            if row is None
            else {"title": row["title"], "rows": int(row["rows"]), "findings": list(row["findings"] or [])}
        )

    def record_site_results(
        self, run_id: int, results: Sequence[tuple[SiteRunResult, Iterable[Finding]]]
    ) -> None:
        """Several sites' outcomes and findings in one transaction (see :meth:`record_site_result`)."""
        if not results:
            return
        with self._begin() as conn:
            for result, findings in results:
                self._site_result(conn, run_id, result)
                rows = _finding_rows(run_id, findings)
                if rows:
                    conn.execute(findings_table.insert(), rows)

    def set_token(self, record: TokenRecord, *, run_id: int | None = None) -> None:
        self.set_tokens([record], run_id=run_id)

    def delete_tokens(self, site_id: str, list_names: Sequence[str] | None = None) -> None:
        """Forget tokens of a site (all, or the named lists): the next run re-reads them fully."""
        stmt = tokens_table.delete().where(tokens_table.c.site_id == site_id)
        if list_names is not None:
            stmt = stmt.where(tokens_table.c.list_name.in_(list(list_names)))
        with self._begin() as conn:
            conn.execute(stmt)

    # -- central item map (source key -> hub item id and the hash of what was written) --

    def central_map(self, site_id: str) -> dict[str, dict[str, tuple[int, str]]]:
        """``{kind: {source_key: (central_id, central_hash)}}`` for one site."""
        with self._begin() as conn:
            rows = conn.execute(sa.select(central_table).where(central_table.c.site_id == site_id)).all()
        out: dict[str, dict[str, tuple[int, str]]] = {}
        for r in rows:
            out.setdefault(r.kind, {})[r.source_key] = (int(r.central_id), r.central_hash)
        return out

    def set_central(self, kind: str, entries: Iterable[tuple[str, str, int, str]]) -> None:
        """Store ``(source_key, site_id, central_id, central_hash)`` entries (insert or replace)."""
        entries = list(entries)
        if not entries:
            return
        with self._begin() as conn:
            for chunk in _chunks(entries):
                conn.execute(
                    central_table.delete().where(
                        central_table.c.kind == kind, central_table.c.source_key.in_([e[0] for e in chunk])
                    )
                )
                conn.execute(
                    central_table.insert(),
                    [
                        {"kind": kind, "source_key": k, "site_id": s, "central_id": c, "central_hash": h}
                        for k, s, c, h in chunk
                    ],
                )

    def drop_central(self, kind: str, source_keys: Iterable[str]) -> None:
        keys = list(source_keys)
        with self._begin() as conn:
            for chunk in _chunks(keys):
                conn.execute(
                    central_table.delete().where(
                        central_table.c.kind == kind, central_table.c.source_key.in_(chunk)
                    )
                )

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

    # -- run log --

    def start_run(self, hub_url: str, *, owner: str = "", at: datetime | None = None) -> int:
        with self._begin() as conn:
            result = conn.execute(
                runs_table.insert().values(
                    hub_url=hub_url,
                    owner=owner,
                    started_at=_to_db(at or utcnow()),
                    status="running",
                    counts={},
                )
            )
            return int(result.inserted_primary_key[0])

    def record_site_result(self, run_id: int, result: SiteRunResult) -> None:
        """Store (or replace) one site's outcome for a run."""
        with self._begin() as conn:
            self._site_result(conn, run_id, result)

    @staticmethod
    def _site_result(conn: Connection, run_id: int, result: SiteRunResult) -> None:
        values = {
            "site_id": result.site_id,
            "title": result.title,
            "status": result.status,
            "error": result.error,
            "counts": result.counts,
            "requests": result.requests,
            "started_at": _to_db(result.started_at),
            "finished_at": _to_db(result.finished_at or utcnow()),
        }
        key = (run_sites_table.c.run_id == run_id) & (run_sites_table.c.site_url == result.site_url)
        if not conn.execute(run_sites_table.update().where(key).values(**values)).rowcount:
            conn.execute(run_sites_table.insert().values(run_id=run_id, site_url=result.site_url, **values))

    def add_findings(self, run_id: int, findings: Iterable[Finding]) -> int:
        rows = _finding_rows(run_id, findings)
        if rows:
            with self._begin() as conn:
                conn.execute(findings_table.insert(), rows)
        return len(rows)

    def finish_run(
        self,
        run_id: int,
        status: str,
        *,
        counts: dict[str, Any] | None = None,
        message: str | None = None,
        at: datetime | None = None,
    ) -> None:
        with self._begin() as conn:
            conn.execute(
                runs_table.update()
                .where(runs_table.c.id == run_id)
                .values(
                    status=status,
                    finished_at=_to_db(at or utcnow()),
                    counts=counts or {},
                    message=message,
                )
            )

    def abandon_runs(self, owner: str, message: str) -> int:
        """Mark runs of a vanished owner that are still 'running' as abandoned."""
        with self._begin() as conn:
            return conn.execute(
                runs_table.update()
                .where(runs_table.c.owner == owner, runs_table.c.status == "running")
                .values(status="abandoned", finished_at=_to_db(utcnow()), message=message)
            ).rowcount

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The latest runs, newest first."""
        with self._begin() as conn:
            rows = (
                conn.execute(sa.select(runs_table).order_by(runs_table.c.id.desc()).limit(limit))
                .mappings()
                .all()
            )
            failed = dict(
                conn.execute(
                    sa.select(run_sites_table.c.run_id, sa.func.count())
                    .where(run_sites_table.c.status == "failed")
                    .group_by(run_sites_table.c.run_id)
                ).all()
            )
        return [
            {
                "id": r["id"],
                "hub_url": r["hub_url"],
                "owner": r["owner"],
                "started_at": _from_db(r["started_at"]),
                "finished_at": _from_db(r["finished_at"]),
                "status": r["status"],
                "counts": r["counts"] or {},
                "message": r["message"],
                "failed_sites": int(failed.get(r["id"], 0)),
            }
            for r in rows
        ]

    def last_run(self, *, finished: bool = True) -> dict[str, Any] | None:
        """The newest run (only finished ones when ``finished``)."""
        stmt = sa.select(runs_table.c.id).order_by(runs_table.c.id.desc()).limit(1)
        if finished:
            stmt = stmt.where(runs_table.c.finished_at.is_not(None), runs_table.c.status != "abandoned")
        with self._begin() as conn:
            run_id = conn.execute(stmt).scalar()
        if run_id is None:
            return None
        return next(r for r in self.runs(limit=10_000) if r["id"] == run_id)

    def site_results(self, run_id: int) -> list[dict[str, Any]]:
        with self._begin() as conn:
            rows = (
                conn.execute(
                    sa.select(run_sites_table)
                    .where(run_sites_table.c.run_id == run_id)
                    .order_by(run_sites_table.c.site_url)
                )
                .mappings()
                .all()
            )
        return [
            {
                **dict(r),
                "started_at": _from_db(r["started_at"]),
                "finished_at": _from_db(r["finished_at"]),
            }
            for r in rows
        ]

    def findings(self, run_id: int) -> list[dict[str, Any]]:
        with self._begin() as conn:
            rows = (
                conn.execute(
                    sa.select(findings_table)
                    .where(findings_table.c.run_id == run_id)
                    .order_by(findings_table.c.id)
                )
                .mappings()
                .all()
            )
        out = []
        for r in rows:
            item = dict(r)
            item["value"] = None if r["value"] is None else json.loads(r["value"])
            out.append(item)
        return out

    def site_lag(self, now: datetime | None = None) -> pd.DataFrame:
        """Per site: last successful sync, lag since then, and the latest outcome (with its error)."""
        now = now or utcnow()
        ok = (
            sa.select(
                run_sites_table.c.site_url,
                sa.func.max(run_sites_table.c.finished_at).label("last_ok"),
            )
            .where(run_sites_table.c.status == "ok")
            .group_by(run_sites_table.c.site_url)
            .subquery()
        )
        latest = (
            sa.select(
                run_sites_table.c.site_url,
                sa.func.max(run_sites_table.c.run_id).label("run_id"),
            )
            .group_by(run_sites_table.c.site_url)
            .subquery()
        )
        stmt = (
            sa.select(
                run_sites_table.c.site_url,
                run_sites_table.c.title,
                run_sites_table.c.status,
                run_sites_table.c.error,
                run_sites_table.c.run_id,
                ok.c.last_ok,
            )
            .join(
                latest,
                (latest.c.site_url == run_sites_table.c.site_url)
                & (latest.c.run_id == run_sites_table.c.run_id),
            )
            .outerjoin(ok, ok.c.site_url == run_sites_table.c.site_url)
            .order_by(run_sites_table.c.site_url)
        )
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
        records = []
        for r in rows:
            last_ok = _from_db(r["last_ok"])
            records.append(
                {
                    "site_url": r["site_url"],
                    "title": r["title"],
                    "last_status": r["status"],
                    "last_error": r["error"],
                    "last_run_id": r["run_id"],
                    "last_ok": last_ok,
                    "lag": (now - last_ok) if last_ok else None,
                }
            )
        return pd.DataFrame.from_records(
            records,
            columns=["site_url", "title", "last_status", "last_error", "last_run_id", "last_ok", "lag"],
        )

    # -- history --

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
        at_db = _to_db(at or utcnow())
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
        at_db = _to_db(at or utcnow())
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
            point = _to_db(as_of)
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
            last = self.last_run(finished=True)
            if last is None:
                return _frame([], extra=["change", "changed_at"])
            stmt = stmt.where(versions_table.c.run_id == last["id"])
        elif isinstance(since, int):
            stmt = stmt.where(versions_table.c.run_id >= since)
        else:
            stmt = stmt.where(versions_table.c.valid_from > _to_db(since))
        stmt = stmt.order_by(versions_table.c.valid_from, versions_table.c.id)
        with self._begin() as conn:
            rows = conn.execute(stmt).mappings().all()
            if not rows:
                return _frame([], extra=["change", "changed_at"])
            # Was there a live version just before each new one? Then it is a change, not an add.
            first_ids = {}
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

    # -- run lock --

    def acquire_lock(
        self,
        name: str = RUN_LOCK,
        *,
        owner: str | None = None,
        ttl: timedelta = timedelta(minutes=10),
        now: datetime | None = None,
    ) -> RunLock:
        """Take the named lock, or raise :class:`LockHeldError` if a live holder has it.

        A lock whose expiry has passed (its holder was killed and stopped its heartbeat) is taken
        over; the takeover is logged and the previous holder's runs are marked abandoned.
        """
        owner = owner or make_owner()
        now_db = _to_db(now or utcnow())
        expires = now_db + ttl
        taken_over: dict[str, Any] | None = None
        try:
            with self._begin() as conn:
                conn.execute(
                    locks_table.insert().values(
                        name=name, owner=owner, acquired_at=now_db, heartbeat_at=now_db, expires_at=expires
                    )
                )
        except IntegrityError:
            with self._begin() as conn:
                row = (
                    conn.execute(sa.select(locks_table).where(locks_table.c.name == name)).mappings().first()
                )
                if row is None:  # released between our insert and select: try once more
                    return self.acquire_lock(name, owner=owner, ttl=ttl, now=now)
                if row["expires_at"] > now_db:
                    raise LockHeldError(
                        f"Another sync run holds the lock '{name}' (owner {row['owner']}, since "
                        f"{_from_db(row['acquired_at']):%Y-%m-%d %H:%M:%S} UTC, alive until "
                        f"{_from_db(row['expires_at']):%Y-%m-%d %H:%M:%S} UTC).",
                        hint="Wait for that run to finish; a killed run's lock is taken over after it expires.",
                    ) from None
                # Compare-and-swap on the stale holder, so two racing takeovers cannot both win.
                swapped = conn.execute(
                    locks_table.update()
                    .where(
                        locks_table.c.name == name,
                        locks_table.c.owner == row["owner"],
                        locks_table.c.expires_at == row["expires_at"],
                    )
                    .values(owner=owner, acquired_at=now_db, heartbeat_at=now_db, expires_at=expires)
                ).rowcount
                if not swapped:
                    raise LockHeldError(
                        f"Another sync run took the lock '{name}' just now.",
                        hint="Wait for that run to finish.",
                    ) from None
                taken_over = dict(row)
        lock = RunLock(self, name, owner, ttl)
        if taken_over is not None:
            lock.takeover_message = (
                f"Took over the stale sync lock '{name}' from {taken_over['owner']} (last heartbeat "
                f"{_from_db(taken_over['heartbeat_at']):%Y-%m-%d %H:%M:%S} UTC, expired "
                f"{_from_db(taken_over['expires_at']):%Y-%m-%d %H:%M:%S} UTC); that run was killed "
                "or lost its database connection."
            )
            log.warning(lock.takeover_message)
            self.abandon_runs(taken_over["owner"], lock.takeover_message)
        return lock

    def lock_holder(self, name: str = RUN_LOCK) -> dict[str, Any] | None:
        with self._begin() as conn:
            row = conn.execute(sa.select(locks_table).where(locks_table.c.name == name)).mappings().first()
        if row is None:
            return None
        return {k: (_from_db(v) if isinstance(v, datetime) else v) for k, v in row.items()}

    def _heartbeat(self, name: str, owner: str, ttl: timedelta) -> bool:
        now = _to_db(utcnow())
        with self._begin() as conn:
            return bool(
                conn.execute(
                    locks_table.update()
                    .where(locks_table.c.name == name, locks_table.c.owner == owner)
                    .values(heartbeat_at=now, expires_at=now + ttl)
                ).rowcount
            )

    def _release(self, name: str, owner: str) -> bool:
        with self._begin() as conn:
            return bool(
                conn.execute(
                    locks_table.delete().where(locks_table.c.name == name, locks_table.c.owner == owner)
                ).rowcount
            )


class RunLock:
    """A held run lock; keep it alive with :meth:`start_heartbeat` and let go with :meth:`release`."""

    def __init__(self, store: StateStore, name: str, owner: str, ttl: timedelta) -> None:
        self.store = store
        self.name = name
        self.owner = owner
        self.ttl = ttl
        self.takeover_message: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.lost = False

    def heartbeat(self) -> None:
        """Extend the expiry; raises :class:`LockLostError` if someone else took the lock."""
        if not self.store._heartbeat(self.name, self.owner, self.ttl):
            self.lost = True
            raise LockLostError(
                f"The sync lock '{self.name}' is no longer held by this run ({self.owner}).",
                hint="Another run took it over after our heartbeat lapsed; this run stops. Re-run later.",
            )

    def check(self) -> None:
        """Raise :class:`LockLostError` if the heartbeat thread found the lock taken."""
        if self.lost:
            raise LockLostError(
                f"The sync lock '{self.name}' was taken over by another process.",
                hint="This run stops to avoid overlapping writes. Re-run later.",
            )

    def start_heartbeat(self, interval: float | None = None) -> None:
        """Renew the lock in a daemon thread every ``interval`` seconds (default ttl / 3)."""
        if self._thread is not None:
            return
        period = interval if interval is not None else max(self.ttl.total_seconds() / 3, 0.05)

        def beat() -> None:
            while not self._stop.wait(period):
                try:
                    self.heartbeat()
                except LockLostError:
                    log.error("sync lock %s lost; the run will stop", self.name)
                    return
                except (VeiviserError, SQLAlchemyError) as exc:  # transient DB trouble: try again
                    log.warning("sync lock heartbeat failed: %s", exc)

        self._thread = threading.Thread(target=beat, name=f"lock-heartbeat-{self.name}", daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if not self.lost:
            self.store._release(self.name, self.owner)

    def __enter__(self) -> RunLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def make_owner() -> str:
    """A lock owner id: host, process id and a random suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# --- module-level helpers for analytics ----------------------------------------------------------


def history_frame(kind: str, as_of: datetime | None = None, *, state_url: str | None = None) -> pd.DataFrame:
    """The synced rows of ``kind`` as they were at ``as_of`` (default now); see StateStore.history_frame."""
    with StateStore(state_url) as store:
        return store.history_frame(kind, as_of)


def changes_since(
    kind: str, since: datetime | int | None = None, *, state_url: str | None = None
) -> pd.DataFrame:
    """What changed in ``kind`` since a datetime / run id / the last run; see StateStore.changes_since."""
    with StateStore(state_url) as store:
        return store.changes_since(kind, since)


# --- internals -----------------------------------------------------------------------------------


def _make_engine(url: str, *, echo: bool) -> Engine:
    try:
        parsed = sa.make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"State store URL {url!r} is not a valid SQLAlchemy URL.",
            hint="Use e.g. sqlite:////var/lib/veiviser/state.sqlite or postgresql+psycopg://user@host/db.",
        ) from exc
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            try:
                Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the folder for the state store {database}: {exc}",
                    hint="Choose a writable location with --state sqlite:///PATH.",
                ) from exc
        kwargs["connect_args"] = {"timeout": 60, "check_same_thread": False}
    try:
        engine = sa.create_engine(url, **kwargs)
    except (ArgumentError, ImportError, SQLAlchemyError) as exc:
        raise StoreError(
            f"Cannot open state store {parsed.render_as_string(hide_password=True)}: {exc}",
            hint="Check the URL and that its database driver is installed.",
        ) from exc
    if parsed.get_backend_name() == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

    return engine


def _finding_rows(run_id: int, findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run_id,
            "site_url": f.site_url,
            "list_title": f.list_title,
            "item_id": f.item_id,
            "field": f.field,
            "value": None if f.value is None else json.dumps(f.value, ensure_ascii=False, default=str),
            "rule": f.rule,
            "message": f.message,
        }
        for f in findings
    ]


def _token_from_row(row: Any) -> TokenRecord:
    return TokenRecord(
        site_id=row.site_id,
        list_name=row.list_name,
        list_id=row.list_id,
        token=row.token,
        issued_at=_from_db(row.issued_at),  # type: ignore[arg-type]
        site_url=row.site_url or "",
    )


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _current_versions(conn: Connection, kind: str, keys: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for chunk in _chunks(list(keys)):
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
    for chunk in _chunks(list(ids)):
        conn.execute(versions_table.update().where(versions_table.c.id.in_(chunk)).values(valid_to=at_db))


def _previous_alive(conn: Connection, kind: str, firsts: Sequence[Any]) -> dict[str, bool]:
    """For each first version in a window: was the version it replaced alive (not a tombstone)?"""
    out: dict[str, bool] = {}
    for chunk in _chunks(list(firsts)):
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
        rec["valid_from"] = _from_db(rec["valid_from"])
        rec["valid_to"] = _from_db(rec["valid_to"])
        for c in extra:
            rec[c] = _from_db(r[c]) if isinstance(r[c], datetime) else r[c]
        rec.update({f: v for f, v in values.items() if f not in _META and f not in extra})
        records.append(rec)
    columns = _META + extra + [c for c in value_cols if c not in _META and c not in extra]
    frame = pd.DataFrame.from_records(records, columns=columns)
    for col in ("valid_from", "valid_to", "changed_at"):
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame

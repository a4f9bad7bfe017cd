"""The state store's database: tables, schema version and migrations, engine and transactions.

One database (a SQLite file by default, any SQLAlchemy URL by setting, e.g. PostgreSQL) holds the
sync's state (:mod:`veiviser.sync.state`: change tokens, run log, the central item map, site
summaries; :mod:`veiviser.sync.lock`: the run lock) and its history (:mod:`veiviser.sync.history`:
row versions). This module defines the tables they share and :class:`Database`, the base that
opens the engine, creates the tables and applies migrations (see docs/sync.md, "The state store").
Times are stored as naive UTC and returned as aware UTC.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self, overload

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from veiviser.errors import VeiviserError
from veiviser.sync.report import EXIT_STORE_UNUSABLE

#: The schema version this code writes. Bump it and add a step to ``sync/migrations.py`` on changes.
#: 1: veiviser 0.1.0. 2: the lock holder's host, process id and process start (sync_locks), the
#: per-run site queue ``sync_claims`` for several workers. 3: the ETag of each central item as the
#: sync last wrote it (``sync_central.etag``), so an update needs no read first. 4: the per-site
#: indexes of ``sync_versions`` and ``sync_central`` lead with ``site_id``, and ``sync_tokens`` has
#: one on ``site_url`` (each per-site read was a scan of the whole table, once per site and run).
SCHEMA_VERSION = 4


class StoreError(VeiviserError):
    """The state store cannot be opened or used."""

    exit_code = EXIT_STORE_UNUSABLE


def default_state_url() -> str:
    """``$VEIVISER_STATE_URL``, else a SQLite file under ``$XDG_STATE_HOME/veiviser`` (~/.local/state)."""
    url = os.environ.get("VEIVISER_STATE_URL")
    if url:
        return url
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    return f"sqlite:///{base / 'veiviser' / 'sync-state.sqlite'}"


def utcnow() -> datetime:
    return datetime.now(UTC)


@overload
def to_db(ts: datetime) -> datetime: ...
@overload
def to_db(ts: None) -> None: ...
def to_db(ts: datetime | None) -> datetime | None:
    """An aware (or naive-UTC) datetime as naive UTC for storage."""
    if ts is None:
        return None
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


@overload
def from_db(ts: datetime) -> datetime: ...
@overload
def from_db(ts: None) -> None: ...
def from_db(ts: datetime | None) -> datetime | None:
    """A stored (naive UTC) datetime as aware UTC."""
    if ts is None:
        return None
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


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
    sa.Index("ix_sync_tokens_url", "site_url"),  # v4: a site's tokens are found by its URL
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
    sa.Index("ix_sync_versions_site_kind", "site_id", "kind", "valid_to"),  # v4
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
    sa.Column("etag", sa.String(64), nullable=True),  # as the hub answered our last write (v3)
    sa.Index("ix_sync_central_site_kind", "site_id", "kind"),  # v4
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
    # Since schema 2: who holds it, so a holder on this host that died is seen at once.
    sa.Column("host", sa.String(255), nullable=True),
    sa.Column("pid", sa.Integer, nullable=True),
    sa.Column("process_started", sa.Float, nullable=True),
)

#: Since schema 2: the sites of a run shared by several worker processes, one row per site. A
#: worker claims pending rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), keeps its claims alive
#: with its heartbeat, and marks them done; a claim whose expiry passed is taken by another worker.
claims_table = sa.Table(
    "sync_claims",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("sync_runs.id"), primary_key=True),
    sa.Column("site_url", sa.String(1024), primary_key=True),
    sa.Column("hub_url", sa.String(1024), nullable=False),
    sa.Column("site", sa.JSON, nullable=False, default=dict),  # title, source, register values
    # pending | claimed | done | failed
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("worker", sa.String(255), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("claimed_at", sa.DateTime, nullable=True),
    sa.Column("expires_at", sa.DateTime, nullable=True),
    sa.Column("finished_at", sa.DateTime, nullable=True),
    sa.Index("ix_sync_claims_status", "run_id", "status"),
)


class Database:
    """An open state store database: the engine, transactions and the schema check on open."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = url or default_state_url()
        self.engine = make_engine(self.url, echo=echo)
        self._ensure_schema()

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise self._unusable(exc) from exc

    def _unusable(self, exc: SQLAlchemyError) -> StoreError:
        detail = getattr(exc, "orig", None) or exc
        return StoreError(
            f"State store {self._safe_url()} failed: {detail}",
            hint="Check that the database is reachable and not locked by another tool.",
        )

    def _safe_url(self) -> str:
        try:
            return sa.make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return "<invalid URL>"

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def _ensure_schema(self) -> None:
        from veiviser.sync.migrations import upgrade  # the steps use this module's tables

        with self._begin() as conn:
            upgrade(conn, self._safe_url())

    def schema_version(self) -> int:
        with self._begin() as conn:
            return int(
                conn.execute(
                    sa.select(schema_table.c.version).where(schema_table.c.component == "sync")
                ).scalar_one()
            )


def last_finished_run_id(conn: Connection) -> int | None:
    """The id of the newest run that finished (abandoned runs do not count)."""
    stmt = (
        sa.select(runs_table.c.id)
        .where(runs_table.c.finished_at.is_not(None), runs_table.c.status != "abandoned")
        .order_by(runs_table.c.id.desc())
        .limit(1)
    )
    run_id = conn.execute(stmt).scalar()
    return None if run_id is None else int(run_id)


def advisory_key(conn: Connection, name: str) -> int:
    """A PostgreSQL advisory lock key for ``name`` in this database schema (signed 64 bits).

    The key includes the current schema, so two stores in one database never share a lock.
    """
    current = conn.execute(sa.select(sa.func.current_schema())).scalar() or ""
    digest = hashlib.sha256(f"veiviser:{current}:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    """``items`` in slices of ``size`` (bounded ``IN (…)`` lists)."""
    for i in range(0, len(items), size):
        yield items[i : i + size]


def make_engine(url: str, *, echo: bool) -> Engine:
    try:
        parsed = sa.make_url(url)
    except ArgumentError as exc:
        raise StoreError(
            f"State store URL {url!r} is not a valid SQLAlchemy URL.",
            hint="Use e.g. sqlite:////var/lib/veiviser/state.sqlite or postgresql+psycopg://user@host/db.",
        ) from exc
    kwargs: dict[str, Any] = {"echo": echo, "future": True}
    if parsed.get_backend_name() == "postgresql":
        # A server restart or an idle timeout closes pooled connections: test each before use.
        kwargs["pool_pre_ping"] = True
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

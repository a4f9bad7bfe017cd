"""Versioned migrations of the state store, from the schema veiviser 0.1.0 wrote (version 1) on.

``veiviser_schema`` records the version a store was last brought to. On open (:func:`upgrade`):
a new database gets every table and the current version; an older one gets each step after its
version, in order, in the same transaction; a newer one is refused, because this code would not
know what it may break. On PostgreSQL the check runs under a transaction-level advisory lock, so
workers opening one store at the same moment migrate it once. See docs/sync.md, "Schema versions".
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from veiviser.sync.schema import (
    SCHEMA_VERSION,
    StoreError,
    advisory_key,
    central_table,
    claims_table,
    locks_table,
    metadata,
    schema_table,
    to_db,
    tokens_table,
    utcnow,
    versions_table,
)


def _add_column(conn: Connection, table: sa.Table, name: str) -> None:
    """``ALTER TABLE … ADD COLUMN`` for a nullable column of ``table`` as this code defines it."""
    prep = conn.dialect.identifier_preparer
    column_type = table.c[name].type.compile(dialect=conn.dialect)
    conn.execute(
        sa.text(f"ALTER TABLE {prep.format_table(table)} ADD COLUMN {prep.quote(name)} {column_type}")
    )


def _to_v2(conn: Connection) -> None:
    """The lock holder's host, pid and process start; the per-run site queue for several workers."""
    for name in ("host", "pid", "process_started"):
        _add_column(conn, locks_table, name)
    claims_table.create(conn, checkfirst=True)


def _to_v3(conn: Connection) -> None:
    """The ETag of each central item as last written (empty: the next update reads it first)."""
    _add_column(conn, central_table, "etag")


def _to_v4(conn: Connection) -> None:
    """Per-site indexes that lead with the site: a site's current rows and central items are read
    by ``site_id`` alone, which an index led by ``kind`` cannot serve, and its tokens by its URL."""
    for old, table, new in (
        ("ix_sync_versions_site", versions_table, "ix_sync_versions_site_kind"),
        ("ix_sync_central_site", central_table, "ix_sync_central_site_kind"),
        (None, tokens_table, "ix_sync_tokens_url"),
    ):
        if old is not None:
            conn.execute(sa.text(f"DROP INDEX IF EXISTS {conn.dialect.identifier_preparer.quote(old)}"))
        next(ix for ix in table.indexes if ix.name == new).create(conn, checkfirst=True)


#: version -> the step that brings a store from the version before it to this one.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {2: _to_v2, 3: _to_v3, 4: _to_v4}


def upgrade(conn: Connection, where: str) -> int:
    """Bring the store on ``conn`` to :data:`SCHEMA_VERSION`; returns the version it had (0: new)."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(advisory_key(conn, "schema"))))
    elif conn.dialect.name == "sqlite":
        # SQLite's write lock from the first statement: the tables and the steps' DDL are part of
        # this transaction, and one process creates or migrates the store at a time.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    found = None
    if sa.inspect(conn).has_table(schema_table.name):
        found = conn.execute(
            sa.select(schema_table.c.version).where(schema_table.c.component == "sync")
        ).scalar()
    if found is None:
        metadata.create_all(conn)
        conn.execute(
            schema_table.insert().values(component="sync", version=SCHEMA_VERSION, applied_at=to_db(utcnow()))
        )
        return 0
    version = int(found)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"State store {where} has schema version {version}, newer than this veiviser "
            f"understands ({SCHEMA_VERSION}).",
            hint="Upgrade veiviser on this machine (every worker and host sharing the store needs the "
            "same or a newer version), or point --state at another database.",
        )
    for step in range(version + 1, SCHEMA_VERSION + 1):
        MIGRATIONS[step](conn)
        conn.execute(
            schema_table.update()
            .where(schema_table.c.component == "sync")
            .values(version=step, applied_at=to_db(utcnow()))
        )
    return version

"""Versioned migrations, from the schema veiviser 0.1.0 created (a frozen copy of its DDL in
``schema_v1.<database>.sql``) to the current one, on SQLite and on PostgreSQL (``store_url``)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from veiviser.sync.history import RowSnapshot
from veiviser.sync.schema import SCHEMA_VERSION, StoreError, metadata
from veiviser.sync.state import StateStore

HERE = Path(__file__).parent
T0 = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)


def create_v1(url: str) -> None:
    """A store as 0.1.0 left it: its tables, schema version 1 and a little of everything (times in
    the text form SQLAlchemy writes them to SQLite)."""
    engine = sa.create_engine(url)
    lines = (HERE / f"schema_v1.{engine.dialect.name}.sql").read_text(encoding="utf-8").splitlines()
    ddl = "\n".join(line for line in lines if not line.startswith("--"))
    with engine.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.exec_driver_sql(statement)
        conn.exec_driver_sql(
            "INSERT INTO veiviser_schema (component, version, applied_at) VALUES ('sync', 1, '2026-11-01 02:00:00.000000')"
        )
        conn.exec_driver_sql(
            "INSERT INTO sync_tokens (site_id, list_name, list_id, token, issued_at, site_url, run_id) "
            "VALUES ('S1', 'Usikkerhet', 'L1', '1;3;L1;1;5', '2026-11-01 02:00:00.000000', 'http://x/s1', 1)"
        )
        conn.exec_driver_sql(
            "INSERT INTO sync_runs (hub_url, owner, started_at, finished_at, status, counts) "
            "VALUES ('http://hub', 'gammel:1:ab', '2026-11-01 02:00:00.000000', '2026-11-01 02:05:00.000000', 'ok', '{}')"
        )
        conn.exec_driver_sql(
            "INSERT INTO sync_locks (name, owner, acquired_at, heartbeat_at, expires_at) VALUES "
            "('sync-run', 'gammel:1:ab', '2026-11-01 02:00:00.000000', '2026-11-01 02:00:00.000000', '2026-11-01 02:10:00.000000')"
        )
    engine.dispose()


def per_table(url: str, describe: Callable[[sa.Inspector, str], set[Any]]) -> dict[str, set[Any]]:
    """``describe(inspector, table)`` for every table the database reports."""
    engine = sa.create_engine(url)
    inspector = sa.inspect(engine)
    out = {table: describe(inspector, table) for table in inspector.get_table_names()}
    engine.dispose()
    return out


def columns(url: str) -> dict[str, set[Any]]:
    """Every table's columns (name, nullable) as the database reports them."""
    return per_table(url, lambda i, t: {(c["name"], bool(c["nullable"])) for c in i.get_columns(t)})


def indexes(url: str) -> dict[str, set[Any]]:
    """Every table's declared indexes (name, columns) as the database reports them."""
    return per_table(url, lambda i, t: {(ix["name"], tuple(ix["column_names"])) for ix in i.get_indexes(t)})


def test_a_0_1_0_store_is_migrated_to_the_current_schema_and_keeps_its_data(store_url, tmp_path):
    create_v1(store_url)
    with StateStore(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION > 1
        token = store.get_token("S1", "Usikkerhet")
        assert token is not None and token.token == "1;3;L1;1;5" and token.issued_at == T0
        assert [r["status"] for r in store.runs()] == ["ok"]
        # the old lock row (no host, no pid) expired long ago: taken over, not refused
        lock = store.acquire_lock()
        assert "heartbeat expired" in lock.takeover_message or "session ended" in lock.takeover_message
        lock.release()
        store.record_versions([RowSnapshot("risks", "k", "S1", {"a": 1})], at=T0)
        assert list(store.history_frame("risks")["a"]) == [1]
    with StateStore(store_url) as again:  # reopening changes nothing
        assert again.schema_version() == SCHEMA_VERSION
    # the migrated tables are exactly what a new store gets
    fresh = f"sqlite:///{tmp_path / 'fresh.sqlite'}" if store_url.startswith("sqlite") else None
    migrated = columns(store_url)
    assert set(migrated) == set(metadata.tables)
    if fresh is not None:
        StateStore(fresh).close()
        assert columns(fresh) == migrated
    for table in metadata.sorted_tables:
        assert {(c.name, bool(c.nullable)) for c in table.columns} == migrated[table.name], table.name
    # … and so are its indexes (version 4 replaced two): the old ones are gone, the new ones there
    migrated_indexes = indexes(store_url)
    for table in metadata.sorted_tables:
        declared = {(ix.name, tuple(c.name for c in ix.columns)) for ix in table.indexes}
        assert migrated_indexes[table.name] == declared, table.name


def test_a_store_newer_than_the_code_is_refused_with_what_to_do(store_url):
    create_v1(store_url)
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE veiviser_schema SET version = {SCHEMA_VERSION + 1}")
    engine.dispose()
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer") as info:
        StateStore(store_url)
    assert "Upgrade veiviser" in (info.value.hint or "")


def _open(url: str, queue: multiprocessing.Queue) -> None:  # in a child process
    try:
        with StateStore(url) as store:
            queue.put(store.schema_version())
    except Exception as exc:
        queue.put(repr(exc))


def _open_at_once(url: str, workers: int = 3) -> list[object]:
    """What each of ``workers`` processes opening the store at the same moment found (sorted)."""
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_open, args=(url, queue)) for _ in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    return sorted(queue.get(timeout=5) for _ in procs)


def test_workers_opening_an_old_store_at_once_migrate_it_once(store_url):
    create_v1(store_url)
    assert _open_at_once(store_url) == [SCHEMA_VERSION] * 3


def test_workers_opening_a_new_store_at_once_create_it_once(store_url):
    assert _open_at_once(store_url) == [SCHEMA_VERSION] * 3


def test_migration_steps_cover_every_version():
    from veiviser.sync.migrations import MIGRATIONS

    assert sorted(MIGRATIONS) == list(range(2, SCHEMA_VERSION + 1))


def test_an_interrupted_migration_leaves_the_old_version(store_url, monkeypatch):
    create_v1(store_url)
    from veiviser.sync import migrations

    def boom(conn: sa.Connection) -> None:
        migrations._to_v2(conn)
        raise RuntimeError("power cut")

    monkeypatch.setitem(migrations.MIGRATIONS, 2, boom)
    with pytest.raises(RuntimeError, match="power cut"):
        StateStore(store_url)
    monkeypatch.undo()
    assert ("host", True) not in columns(store_url)["sync_locks"]  # rolled back, DDL included
    with StateStore(store_url) as store:
        assert store.schema_version() == SCHEMA_VERSION

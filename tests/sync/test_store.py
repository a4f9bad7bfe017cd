"""Unit tests of the sync state and history store, on SQLite and PostgreSQL (``any_store``; no
SharePoint needed). The fake-clock lock test stays on SQLite: on PostgreSQL a live session's advisory
lock decides, whatever the clock says (tests/sync/test_lock_dead.py)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from veiviser.sync.history import RowSnapshot, changes_since, history_frame
from veiviser.sync.lock import LockHeldError, LockLostError
from veiviser.sync.quality import QualityFinding
from veiviser.sync.schema import SCHEMA_VERSION, StoreError
from veiviser.sync.state import SiteRunResult, StateStore, TokenRecord

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def snap(key: str, site: str = "s1", **values) -> RowSnapshot:
    return RowSnapshot(
        kind="risks",
        source_key=key,
        site_id=site,
        values=values,
        project_url=f"http://x/{site}",
        project_title=site,
    )


def test_creates_tables_and_schema_version_on_first_use(tmp_path):
    url = f"sqlite:///{tmp_path / 'state' / 'sync.sqlite'}"  # the folder is created on first use
    StateStore(url).close()
    assert (tmp_path / "state" / "sync.sqlite").exists()
    with StateStore(url) as again:  # reopening is harmless
        assert again.schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(tmp_path / "state" / "sync.sqlite")
    names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"veiviser_schema", "sync_tokens", "sync_runs", "sync_versions", "sync_locks"} <= names


def test_newer_schema_is_refused(store_url):
    StateStore(store_url).close()
    engine = sa.create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(sa.text("update veiviser_schema set version = 99"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 99"):
        StateStore(store_url)


def test_invalid_url_is_a_clear_error():
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        StateStore("not a url")


def test_tokens_roundtrip_replace_and_forget(any_store):
    assert any_store.get_token("s1", "Usikkerhet") is None
    any_store.set_token(TokenRecord("s1", "Usikkerhet", "L1", "1;3;L1;1;5", T0, "http://x/s1"))
    any_store.set_token(TokenRecord("s1", "Interessentregister", "L2", "1;3;L2;1;7", T0))
    rec = any_store.get_token("s1", "Usikkerhet")
    assert rec.token == "1;3;L1;1;5" and rec.list_id == "L1" and rec.issued_at == T0
    any_store.set_token(TokenRecord("s1", "Usikkerhet", "L9", "1;3;L9;1;1", T0 + timedelta(days=1)))
    assert any_store.get_token("s1", "Usikkerhet").list_id == "L9"
    assert set(any_store.tokens_for_site("s1")) == {"Usikkerhet", "Interessentregister"}
    any_store.delete_tokens("s1", ["Usikkerhet"])
    assert set(any_store.tokens_for_site("s1")) == {"Interessentregister"}
    any_store.delete_tokens("s1")
    assert any_store.tokens_for_site("s1") == {}


def test_record_versions_is_idempotent_and_versions_changes(any_store):
    c = any_store.record_versions([snap("k1", a=1), snap("k2", a=2)], at=T0)
    assert (c.added, c.changed, c.unchanged) == (2, 0, 0)
    c = any_store.record_versions([snap("k1", a=1), snap("k2", a=2)], at=T0 + timedelta(hours=1))
    assert (c.added, c.changed, c.unchanged) == (0, 0, 2)
    c = any_store.record_versions([snap("k1", a=10)], at=T0 + timedelta(days=1))
    assert (c.added, c.changed) == (0, 1)
    now = any_store.history_frame("risks")
    assert list(now["source_key"]) == ["k1", "k2"]
    assert list(now["a"]) == [10, 2]
    before = any_store.history_frame("risks", as_of=T0 + timedelta(hours=12))
    assert list(before["a"]) == [1, 2]
    assert any_store.history_frame("risks", as_of=T0 - timedelta(seconds=1)).empty


def test_key_order_does_not_create_a_version(any_store):
    any_store.record_versions([RowSnapshot("risks", "k", "s", {"a": 1, "b": 2})], at=T0)
    c = any_store.record_versions([RowSnapshot("risks", "k", "s", {"b": 2, "a": 1})], at=T0 + timedelta(1))
    assert c.unchanged == 1


def test_deletions_close_history_and_are_idempotent(any_store):
    any_store.record_versions([snap("k1", a=1), snap("k2", a=2)], at=T0)
    assert any_store.record_deletions("risks", ["k1", "missing"], at=T0 + timedelta(days=1)) == 1
    assert any_store.record_deletions("risks", ["k1"], at=T0 + timedelta(days=2)) == 0
    assert list(any_store.history_frame("risks")["source_key"]) == ["k2"]
    assert list(any_store.history_frame("risks", as_of=T0 + timedelta(hours=1))["source_key"]) == [
        "k1",
        "k2",
    ]
    assert any_store.current_keys("risks") == {"k2"}
    assert any_store.current_keys("risks", site_id="other") == set()
    # the item comes back (e.g. restored from the recycle bin): a new live version
    c = any_store.record_versions([snap("k1", a=1)], at=T0 + timedelta(days=3))
    assert c.added == 1
    assert any_store.current_keys("risks") == {"k1", "k2"}


def test_changes_since_date_and_run(any_store):
    run1 = any_store.start_run("http://hub", at=T0)
    any_store.record_versions([snap("k1", a=1), snap("k2", a=2)], run_id=run1, at=T0)
    any_store.finish_run(run1, "ok", at=T0)
    run2 = any_store.start_run("http://hub", at=T0 + timedelta(days=1))
    any_store.record_versions(
        [snap("k1", a=5), snap("k2", a=2), snap("k3", a=3)], run_id=run2, at=T0 + timedelta(days=1)
    )
    any_store.record_deletions("risks", ["k2"], run_id=run2, at=T0 + timedelta(days=1))
    any_store.finish_run(run2, "ok", at=T0 + timedelta(days=1))

    last = any_store.changes_since("risks")  # changes made by the last run
    assert sorted(zip(last["source_key"], last["change"], strict=True)) == [
        ("k1", "changed"),
        ("k2", "deleted"),
        ("k3", "added"),
    ]
    deleted = last[last["change"] == "deleted"].iloc[0]
    assert deleted["a"] == 2  # last known values travel with the deletion
    all_changes = any_store.changes_since("risks", T0 - timedelta(seconds=1))
    assert len(all_changes) == 5
    assert list(all_changes[all_changes.source_key == "k1"]["change"]) == ["added", "changed"]
    assert any_store.changes_since("risks", T0 + timedelta(days=2)).empty
    assert len(any_store.changes_since("risks", run2)) == 3
    assert str(all_changes["changed_at"].dt.tz) == "UTC"


def test_changes_since_without_runs_is_empty(any_store):
    frame = any_store.changes_since("risks")
    assert frame.empty and "change" in frame.columns


def test_module_level_frames(store_url):
    with StateStore(store_url) as s:
        s.record_versions([snap("k1", a=1)], at=T0)
    assert list(history_frame("risks", state_url=store_url)["a"]) == [1]
    assert list(changes_since("risks", T0 - timedelta(1), state_url=store_url)["change"]) == ["added"]


def test_run_log_site_results_findings_and_lag(any_store):
    run = any_store.start_run("http://hub", owner="me", at=T0)
    any_store.record_site_result(
        run, SiteRunResult("http://x/a", "ok", site_id="A", counts={"risks": 3}, finished_at=T0)
    )
    any_store.record_site_result(run, SiteRunResult("http://x/b", "failed", error="HTTP 404", finished_at=T0))
    any_store.add_findings(
        run,
        [QualityFinding("http://x/a", "Usikkerhet", 3, "GtRiskProbability", 7, "probability-range", "7 > 5")],
    )
    any_store.finish_run(run, "partial", counts={"sites": 2}, at=T0)
    run2 = any_store.start_run("http://hub", at=T0 + timedelta(days=1))
    any_store.record_site_result(
        run2, SiteRunResult("http://x/a", "failed", error="boom", finished_at=T0 + timedelta(1))
    )
    any_store.record_site_result(
        run2, SiteRunResult("http://x/a", "ok", finished_at=T0 + timedelta(1))
    )  # replaced

    runs = any_store.runs()
    assert [r["id"] for r in runs] == [run2, run]
    assert (
        runs[1]["status"] == "partial" and runs[1]["failed_sites"] == 1 and runs[1]["counts"] == {"sites": 2}
    )
    assert any_store.last_run()["id"] == run
    assert any_store.last_run(finished=False)["id"] == run2
    assert [s["status"] for s in any_store.site_results(run)] == ["ok", "failed"]
    f = any_store.findings(run)
    assert f[0]["value"] == 7 and f[0]["item_id"] == 3 and f[0]["rule"] == "probability-range"
    lag = any_store.site_lag(now=T0 + timedelta(days=2)).set_index("site_url")
    assert lag.loc["http://x/a", "lag"] == timedelta(days=1)
    assert lag.loc["http://x/b", "last_status"] == "failed" and pd.isna(lag.loc["http://x/b", "last_ok"])


def test_lock_excludes_second_holder_and_is_released(any_store):
    lock = any_store.acquire_lock(owner="one")
    with pytest.raises(LockHeldError, match="owner one"):
        any_store.acquire_lock(owner="two")
    lock.release()
    any_store.acquire_lock(owner="two").release()
    assert any_store.lock_holder() is None


def test_stale_lock_is_taken_over_with_message_and_old_run_abandoned(state_store):
    state_store.acquire_lock(owner="dead", ttl=timedelta(minutes=5), now=T0)
    run = state_store.start_run("http://hub", owner="dead", at=T0)
    with pytest.raises(LockHeldError):
        state_store.acquire_lock(owner="new", now=T0 + timedelta(minutes=4))
    lock = state_store.acquire_lock(owner="new", now=T0 + timedelta(minutes=6))
    assert (
        "Took over the sync lock" in lock.takeover_message
        and "heartbeat expired" in lock.takeover_message
        and "dead" in lock.takeover_message
    )
    assert state_store.runs()[0]["id"] == run and state_store.runs()[0]["status"] == "abandoned"
    assert state_store.lock_holder()["owner"] == "new"
    lock.release()


def test_heartbeat_keeps_lock_alive_and_detects_loss(any_store):
    lock = any_store.acquire_lock(owner="a", ttl=timedelta(seconds=30), now=T0)
    lock.heartbeat()  # refreshes relative to the real clock, far past T0
    with pytest.raises(LockHeldError):
        any_store.acquire_lock(owner="b")
    # someone forcibly takes it (simulates a takeover after a long stall)
    with any_store.engine.begin() as conn:
        conn.execute(sa.text("update sync_locks set owner='b'"))
    with pytest.raises(LockLostError):
        lock.heartbeat()
    with pytest.raises(LockLostError):
        lock.check()
    lock.release()  # does not remove b's lock
    assert any_store.lock_holder()["owner"] == "b"


def test_heartbeat_thread_renews(any_store):
    import time

    lock = any_store.acquire_lock(owner="a", ttl=timedelta(seconds=0.6))
    lock.start_heartbeat(interval=0.1)
    time.sleep(1.0)
    with pytest.raises(LockHeldError):  # still held although the ttl passed
        any_store.acquire_lock(owner="b")
    lock.release()
    assert any_store.lock_holder() is None


def _try_lock(store_url: str, queue) -> None:  # runs in a child process

    with StateStore(store_url) as s:
        try:
            s.acquire_lock(owner="child").release()
        except LockHeldError:
            queue.put("held")
        else:
            queue.put("got")


def _children(store_url: str, n: int) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_try_lock, args=(store_url, queue)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return sorted(queue.get(timeout=5) for _ in procs)


def test_lock_across_processes(store_url):
    with StateStore(store_url) as s:
        lock = s.acquire_lock(owner="parent")
        assert _children(store_url, 2) == ["held", "held"]
        lock.release()
        assert _children(store_url, 1) == ["got"]


def test_versions_frame_has_the_analytics_history_columns(any_store):
    any_store.record_versions([snap("k1", a=1)], at=T0)
    any_store.record_versions([snap("k1", a=2)], at=T0 + timedelta(1))
    any_store.record_deletions("risks", ["k1"], at=T0 + timedelta(2))
    frame = any_store.versions_frame("risks")
    assert {"source_key", "kind", "valid_from", "valid_to", "deleted", "project_key"} <= set(frame.columns)
    assert list(frame["a"]) == [1, 2, 2]
    assert list(frame["deleted"]) == [False, False, True]
    assert frame["valid_to"].isna().tolist() == [False, False, True]
    assert (frame["project_key"] == "s1").all()


def test_central_map_and_current_rows(any_store):
    any_store.set_central("risks", [("k1", "s1", 10, "h1"), ("k2", "s1", 11, "h2"), ("k3", "s2", 12, "h3")])
    any_store.set_central("risks", [("k1", "s1", 10, "h1b")])
    assert any_store.central_map("s1") == {"risks": {"k1": (10, "h1b"), "k2": (11, "h2")}}
    any_store.drop_central("risks", ["k2"])
    assert any_store.central_map("s1") == {"risks": {"k1": (10, "h1b")}}
    any_store.record_versions([snap("k1", a=1), snap("k9", site="s2", a=2)], at=T0)
    any_store.record_deletions("risks", ["k9"], at=T0)
    assert any_store.current_rows("s1") == {"risks": {"k1": {"a": 1}}}
    assert any_store.current_rows("s2") == {}


def test_postgres_sessions_ended_by_the_server_are_replaced():
    """A PostgreSQL restart (or an idle timeout) ends the pooled sessions; the store reconnects."""
    from tests.support.postgres import fresh_schema

    with fresh_schema() as url, StateStore(url) as store:
        store.set_token(TokenRecord("s1", "Usikkerhet", "L1", "1;3;L1;1;5", T0))
        name = sa.make_url(url).query["application_name"]
        killer = sa.create_engine(url)
        with killer.begin() as conn:
            ended = conn.execute(
                sa.text(
                    "select count(pg_terminate_backend(pid)) from pg_stat_activity "
                    "where application_name = :name and pid <> pg_backend_pid()"
                ),
                {"name": name},
            ).scalar()
        killer.dispose()
        assert ended >= 1
        assert store.get_token("s1", "Usikkerhet").token == "1;3;L1;1;5"


def test_per_site_reads_use_an_index_not_a_scan(tmp_path):
    """Every run reads each site's current rows and central map by ``site_id``; a scan of the whole
    table there makes a run grow with the square of the portfolio (docs/sync.md, "Schema
    versions", version 4). SQLite's own plan for each statement those reads send."""
    url = f"sqlite:///{tmp_path / 'plans.sqlite'}"
    statements: list[tuple[str, object]] = []
    with StateStore(url) as store:
        store.record_versions([snap("k1", a=1), snap("k2", site="s2", a=2)], at=T0)

        def capture(conn, cursor, statement, parameters, context, executemany):
            if statement.lstrip().upper().startswith("SELECT"):
                statements.append((statement, parameters))

        sa.event.listen(store.engine, "before_cursor_execute", capture)
        try:
            assert store.current_rows("s1")["risks"]["k1"] == {"a": 1}
            store.central_map("s1")
            store.central_etags("s1")
            store.site_summary("s1")
            store.tokens_for_url("http://x/s1")
            store.tokens_for_site("s1")
            store.current_keys("risks", "s1")
        finally:
            sa.event.remove(store.engine, "before_cursor_execute", capture)
    assert len(statements) >= 3
    db = sqlite3.connect(tmp_path / "plans.sqlite")
    try:
        for statement, parameters in statements:
            plan = " / ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "SCAN" not in plan, (statement, plan)
    finally:
        db.close()

"""Unit tests of the sync state and history store on SQLite temp files (no SharePoint needed)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from veiviser.sync.store import (
    SCHEMA_VERSION,
    Finding,
    LockHeldError,
    LockLostError,
    RowSnapshot,
    SiteRunResult,
    StateStore,
    StoreError,
    TokenRecord,
    changes_since,
    history_frame,
)

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path / 'state' / 'sync.sqlite'}"


@pytest.fixture
def store(url):
    with StateStore(url) as s:
        yield s


def snap(key: str, site: str = "s1", **values) -> RowSnapshot:
    return RowSnapshot(
        kind="risks",
        source_key=key,
        site_id=site,
        values=values,
        project_url=f"http://x/{site}",
        project_title=site,
    )


def test_creates_tables_and_schema_version_on_first_use(url, tmp_path):
    StateStore(url).close()
    assert (tmp_path / "state" / "sync.sqlite").exists()
    with StateStore(url) as again:  # reopening is harmless
        assert again.schema_version() == SCHEMA_VERSION
    con = sqlite3.connect(tmp_path / "state" / "sync.sqlite")
    names = {r[0] for r in con.execute("select name from sqlite_master where type='table'")}
    assert {"veiviser_schema", "sync_tokens", "sync_runs", "sync_versions", "sync_locks"} <= names


def test_newer_schema_is_refused(url):
    StateStore(url).close()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("update veiviser_schema set version = 99"))
    engine.dispose()
    with pytest.raises(StoreError, match="schema version 99"):
        StateStore(url)


def test_invalid_url_is_a_clear_error():
    with pytest.raises(StoreError, match="not a valid SQLAlchemy URL"):
        StateStore("not a url")


def test_tokens_roundtrip_replace_and_forget(store):
    assert store.get_token("s1", "Usikkerhet") is None
    store.set_token(TokenRecord("s1", "Usikkerhet", "L1", "1;3;L1;1;5", T0, "http://x/s1"))
    store.set_token(TokenRecord("s1", "Interessentregister", "L2", "1;3;L2;1;7", T0))
    rec = store.get_token("s1", "Usikkerhet")
    assert rec.token == "1;3;L1;1;5" and rec.list_id == "L1" and rec.issued_at == T0
    store.set_token(TokenRecord("s1", "Usikkerhet", "L9", "1;3;L9;1;1", T0 + timedelta(days=1)))
    assert store.get_token("s1", "Usikkerhet").list_id == "L9"
    assert set(store.tokens_for_site("s1")) == {"Usikkerhet", "Interessentregister"}
    store.delete_tokens("s1", ["Usikkerhet"])
    assert set(store.tokens_for_site("s1")) == {"Interessentregister"}
    store.delete_tokens("s1")
    assert store.tokens_for_site("s1") == {}


def test_record_versions_is_idempotent_and_versions_changes(store):
    c = store.record_versions([snap("k1", a=1), snap("k2", a=2)], at=T0)
    assert (c.added, c.changed, c.unchanged) == (2, 0, 0)
    c = store.record_versions([snap("k1", a=1), snap("k2", a=2)], at=T0 + timedelta(hours=1))
    assert (c.added, c.changed, c.unchanged) == (0, 0, 2)
    c = store.record_versions([snap("k1", a=10)], at=T0 + timedelta(days=1))
    assert (c.added, c.changed) == (0, 1)
    now = store.history_frame("risks")
    assert list(now["source_key"]) == ["k1", "k2"]
    assert list(now["a"]) == [10, 2]
    before = store.history_frame("risks", as_of=T0 + timedelta(hours=12))
    assert list(before["a"]) == [1, 2]
    assert store.history_frame("risks", as_of=T0 - timedelta(seconds=1)).empty


def test_key_order_does_not_create_a_version(store):
    store.record_versions([RowSnapshot("risks", "k", "s", {"a": 1, "b": 2})], at=T0)
    c = store.record_versions([RowSnapshot("risks", "k", "s", {"b": 2, "a": 1})], at=T0 + timedelta(1))
    assert c.unchanged == 1


def test_deletions_close_history_and_are_idempotent(store):
    store.record_versions([snap("k1", a=1), snap("k2", a=2)], at=T0)
    assert store.record_deletions("risks", ["k1", "missing"], at=T0 + timedelta(days=1)) == 1
    assert store.record_deletions("risks", ["k1"], at=T0 + timedelta(days=2)) == 0
    assert list(store.history_frame("risks")["source_key"]) == ["k2"]
    assert list(store.history_frame("risks", as_of=T0 + timedelta(hours=1))["source_key"]) == ["k1", "k2"]
    assert store.current_keys("risks") == {"k2"}
    assert store.current_keys("risks", site_id="other") == set()
    # the item comes back (e.g. restored from the recycle bin): a new live version
    c = store.record_versions([snap("k1", a=1)], at=T0 + timedelta(days=3))
    assert c.added == 1
    assert store.current_keys("risks") == {"k1", "k2"}


def test_changes_since_date_and_run(store):
    run1 = store.start_run("http://hub", at=T0)
    store.record_versions([snap("k1", a=1), snap("k2", a=2)], run_id=run1, at=T0)
    store.finish_run(run1, "ok", at=T0)
    run2 = store.start_run("http://hub", at=T0 + timedelta(days=1))
    store.record_versions(
        [snap("k1", a=5), snap("k2", a=2), snap("k3", a=3)], run_id=run2, at=T0 + timedelta(days=1)
    )
    store.record_deletions("risks", ["k2"], run_id=run2, at=T0 + timedelta(days=1))
    store.finish_run(run2, "ok", at=T0 + timedelta(days=1))

    last = store.changes_since("risks")  # changes made by the last run
    assert sorted(zip(last["source_key"], last["change"], strict=True)) == [
        ("k1", "changed"),
        ("k2", "deleted"),
        ("k3", "added"),
    ]
    deleted = last[last["change"] == "deleted"].iloc[0]
    assert deleted["a"] == 2  # last known values travel with the deletion
    all_changes = store.changes_since("risks", T0 - timedelta(seconds=1))
    assert len(all_changes) == 5
    assert list(all_changes[all_changes.source_key == "k1"]["change"]) == ["added", "changed"]
    assert store.changes_since("risks", T0 + timedelta(days=2)).empty
    assert len(store.changes_since("risks", run2)) == 3
    assert str(all_changes["changed_at"].dt.tz) == "UTC"


def test_changes_since_without_runs_is_empty(store):
    frame = store.changes_since("risks")
    assert frame.empty and "change" in frame.columns


def test_module_level_frames(url):
    with StateStore(url) as s:
        s.record_versions([snap("k1", a=1)], at=T0)
    assert list(history_frame("risks", state_url=url)["a"]) == [1]
    assert list(changes_since("risks", T0 - timedelta(1), state_url=url)["change"]) == ["added"]


def test_run_log_site_results_findings_and_lag(store):
    run = store.start_run("http://hub", owner="me", at=T0)
    store.record_site_result(
        run, SiteRunResult("http://x/a", "ok", site_id="A", counts={"risks": 3}, finished_at=T0)
    )
    store.record_site_result(run, SiteRunResult("http://x/b", "failed", error="HTTP 404", finished_at=T0))
    store.add_findings(
        run,
        [Finding("http://x/a", "Usikkerhet", 3, "GtRiskProbability", 7, "probability-range", "7 > 5")],
    )
    store.finish_run(run, "partial", counts={"sites": 2}, at=T0)
    run2 = store.start_run("http://hub", at=T0 + timedelta(days=1))
    store.record_site_result(
        run2, SiteRunResult("http://x/a", "failed", error="boom", finished_at=T0 + timedelta(1))
    )
    store.record_site_result(
        run2, SiteRunResult("http://x/a", "ok", finished_at=T0 + timedelta(1))
    )  # replaced

    runs = store.runs()
    assert [r["id"] for r in runs] == [run2, run]
    assert (
        runs[1]["status"] == "partial" and runs[1]["failed_sites"] == 1 and runs[1]["counts"] == {"sites": 2}
    )
    assert store.last_run()["id"] == run
    assert store.last_run(finished=False)["id"] == run2
    assert [s["status"] for s in store.site_results(run)] == ["ok", "failed"]
    f = store.findings(run)
    assert f[0]["value"] == 7 and f[0]["item_id"] == 3 and f[0]["rule"] == "probability-range"
    lag = store.site_lag(now=T0 + timedelta(days=2)).set_index("site_url")
    assert lag.loc["http://x/a", "lag"] == timedelta(days=1)
    assert lag.loc["http://x/b", "last_status"] == "failed" and pd.isna(lag.loc["http://x/b", "last_ok"])


def test_lock_excludes_second_holder_and_is_released(store):
    lock = store.acquire_lock(owner="one")
    with pytest.raises(LockHeldError, match="owner one"):
        store.acquire_lock(owner="two")
    lock.release()
    store.acquire_lock(owner="two").release()
    assert store.lock_holder() is None


def test_stale_lock_is_taken_over_with_message_and_old_run_abandoned(store):
    store.acquire_lock(owner="dead", ttl=timedelta(minutes=5), now=T0)
    run = store.start_run("http://hub", owner="dead", at=T0)
    with pytest.raises(LockHeldError):
        store.acquire_lock(owner="new", now=T0 + timedelta(minutes=4))
    lock = store.acquire_lock(owner="new", now=T0 + timedelta(minutes=6))
    assert "Took over the stale sync lock" in lock.takeover_message and "dead" in lock.takeover_message
    assert store.runs()[0]["id"] == run and store.runs()[0]["status"] == "abandoned"
    assert store.lock_holder()["owner"] == "new"
    lock.release()


def test_heartbeat_keeps_lock_alive_and_detects_loss(store):
    lock = store.acquire_lock(owner="a", ttl=timedelta(seconds=30), now=T0)
    lock.heartbeat()  # refreshes relative to the real clock, far past T0
    with pytest.raises(LockHeldError):
        store.acquire_lock(owner="b")
    # someone forcibly takes it (simulates a takeover after a long stall)
    with store.engine.begin() as conn:
        conn.execute(sa.text("update sync_locks set owner='b'"))
    with pytest.raises(LockLostError):
        lock.heartbeat()
    with pytest.raises(LockLostError):
        lock.check()
    lock.release()  # does not remove b's lock
    assert store.lock_holder()["owner"] == "b"


def test_heartbeat_thread_renews(store):
    import time

    lock = store.acquire_lock(owner="a", ttl=timedelta(seconds=0.6))
    lock.start_heartbeat(interval=0.1)
    time.sleep(1.0)
    with pytest.raises(LockHeldError):  # still held although the ttl passed
        store.acquire_lock(owner="b")
    lock.release()
    assert store.lock_holder() is None


def _try_lock(url: str, queue) -> None:  # runs in a child process
    from veiviser.sync.store import LockHeldError, StateStore

    with StateStore(url) as s:
        try:
            s.acquire_lock(owner="child").release()
        except LockHeldError:
            queue.put("held")
        else:
            queue.put("got")


def _children(url: str, n: int) -> list[str]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_try_lock, args=(url, queue)) for _ in range(n)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    return sorted(queue.get(timeout=5) for _ in procs)


def test_lock_across_processes(url):
    with StateStore(url) as s:
        lock = s.acquire_lock(owner="parent")
        assert _children(url, 2) == ["held", "held"]
        lock.release()
        assert _children(url, 1) == ["got"]


def test_versions_frame_has_the_analytics_history_columns(store):
    store.record_versions([snap("k1", a=1)], at=T0)
    store.record_versions([snap("k1", a=2)], at=T0 + timedelta(1))
    store.record_deletions("risks", ["k1"], at=T0 + timedelta(2))
    frame = store.versions_frame("risks")
    assert {"source_key", "kind", "valid_from", "valid_to", "deleted", "project_key"} <= set(frame.columns)
    assert list(frame["a"]) == [1, 2, 2]
    assert list(frame["deleted"]) == [False, False, True]
    assert frame["valid_to"].isna().tolist() == [False, False, True]
    assert (frame["project_key"] == "s1").all()


def test_central_map_and_current_rows(store):
    store.set_central("risks", [("k1", "s1", 10, "h1"), ("k2", "s1", 11, "h2"), ("k3", "s2", 12, "h3")])
    store.set_central("risks", [("k1", "s1", 10, "h1b")])
    assert store.central_map("s1") == {"risks": {"k1": (10, "h1b"), "k2": (11, "h2")}}
    store.drop_central("risks", ["k2"])
    assert store.central_map("s1") == {"risks": {"k1": (10, "h1b")}}
    store.record_versions([snap("k1", a=1), snap("k9", site="s2", a=2)], at=T0)
    store.record_deletions("risks", ["k9"], at=T0)
    assert store.current_rows("s1") == {"risks": {"k1": {"a": 1}}}
    assert store.current_rows("s2") == {}

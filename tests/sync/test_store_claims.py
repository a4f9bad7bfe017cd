"""A run's site queue shared by workers (``sync_claims``), on SQLite and PostgreSQL: one claim per
site however many workers ask at once, expired claims taken again, the run finished once, and
shared runs kept apart from exclusive runs and from runs of other hubs."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from veiviser.sync.claims import QueuedSite
from veiviser.sync.lock import LockHeldError
from veiviser.sync.schema import claims_table, to_db, utcnow
from veiviser.sync.state import SiteRunResult, StateStore

HUBS = ["http://x/sites/hub"]
TTL = timedelta(minutes=1)


def queue(n: int, hub: str = HUBS[0]) -> list[QueuedSite]:
    return [QueuedSite(f"http://x/sites/p{i:02}", hub, f"P{i}") for i in range(n)]


def test_first_worker_starts_the_run_others_join_it(any_store):
    first = any_store.start_or_join_run(HUBS, queue(3), ttl=TTL)
    second = any_store.start_or_join_run(HUBS, queue(5), ttl=TTL)  # its own discovery is ignored
    assert first.created and not second.created and first.run_id == second.run_id
    assert any_store.queue_counts(first.run_id) == {"pending": 3, "claimed": 0, "done": 0, "failed": 0}
    assert any_store.runs()[0]["hub_url"] == HUBS[0] and any_store.runs()[0]["status"] == "running"
    second.lock.release()  # a worker leaving keeps the shared run's lock row
    assert any_store.lock_holder()["owner"] == f"shared-run:{first.run_id}"
    first.lock.release()


def test_a_shared_run_refuses_other_hubs_and_exclusive_runs(any_store):
    run = any_store.start_or_join_run(HUBS, queue(1), ttl=TTL)
    with pytest.raises(LockHeldError, match="other hubs") as info:
        any_store.start_or_join_run(["http://x/sites/annen"], [], ttl=TTL)
    assert "same --hub list" in (info.value.hint or "")
    with pytest.raises(LockHeldError):
        any_store.acquire_lock()
    with pytest.raises(LockHeldError):
        any_store.start_or_join_run(HUBS, [], ttl=TTL, shared=False)
    run.lock.release()


def test_an_exclusive_run_refuses_workers(any_store):
    lock = any_store.acquire_lock()
    with pytest.raises(LockHeldError, match="holds the lock"):
        any_store.start_or_join_run(HUBS, queue(1), ttl=TTL)
    lock.release()


def test_claims_done_and_the_run_finished_once(any_store):
    run = any_store.start_or_join_run(HUBS, queue(2), ttl=TTL)
    a = any_store.claim_site(run.run_id, "w1", TTL)
    b = any_store.claim_site(run.run_id, "w2", TTL)
    assert {a.url, b.url} == {q.url for q in queue(2)} and any_store.claim_site(run.run_id, "w3", TTL) is None
    assert any_store.finish_shared_run(run.run_id, run.lock.owner) is None  # two still claimed
    any_store.record_site_result(run.run_id, SiteRunResult(a.url, "ok", counts={"created": 3}))
    any_store.record_site_result(run.run_id, SiteRunResult(b.url, "failed", error="HTTP 404"))
    assert any_store.finish_claim(run.run_id, a.url, "w1", "ok")
    assert not any_store.finish_claim(run.run_id, b.url, "w1", "failed")  # not w1's claim
    assert any_store.finish_claim(run.run_id, b.url, "w2", "failed")
    assert any_store.finish_shared_run(run.run_id, run.lock.owner) == "partial"
    assert any_store.finish_shared_run(run.run_id, run.lock.owner) is None  # once
    finished = any_store.runs()[0]
    assert finished["status"] == "partial" and finished["counts"] == {
        "created": 3,
        "sites": 2,
        "failed_sites": 1,
    }
    assert any_store.lock_holder() is None
    run.lock.release()
    assert any_store.start_or_join_run(HUBS, queue(1), ttl=TTL).created  # the next night: a new run


def test_a_dead_workers_claim_expires_and_is_taken(any_store):
    run = any_store.start_or_join_run(HUBS, queue(2), ttl=TTL)
    dead = any_store.claim_site(run.run_id, "dead", TTL)
    alive = any_store.claim_site(run.run_id, "alive", TTL)
    assert any_store.claim_site(run.run_id, "alive", TTL) is None
    assert any_store.renew_claims(run.run_id, "alive", TTL) == 1
    with any_store.engine.begin() as conn:  # "dead" stopped renewing a minute ago
        conn.execute(
            claims_table.update()
            .where(claims_table.c.worker == "dead")
            .values(expires_at=to_db(utcnow()) - timedelta(seconds=1))
        )
    again = any_store.claim_site(run.run_id, "alive", TTL)
    assert again is not None and again.url == dead.url and again.url != alive.url
    with any_store.engine.begin() as conn:
        attempts = dict(conn.execute(sa.select(claims_table.c.site_url, claims_table.c.attempts)).all())
    assert attempts == {dead.url: 2, alive.url: 1}
    assert not any_store.finish_claim(run.run_id, dead.url, "dead", "ok")  # the dead one lost it
    run.lock.release()


def test_a_shared_run_whose_workers_all_died_is_abandoned_by_the_next(any_store):
    run = any_store.start_or_join_run(HUBS, queue(2), ttl=timedelta(seconds=1))
    run.lock.release()  # the process is gone; nobody renews the row
    with any_store.engine.begin() as conn:
        conn.execute(
            sa.text("update sync_locks set expires_at = :t"), {"t": to_db(utcnow()) - timedelta(seconds=5)}
        )
    nxt = any_store.start_or_join_run(HUBS, queue(1), ttl=TTL)
    assert nxt.created and nxt.run_id != run.run_id and "heartbeat expired" in nxt.lock.takeover_message
    assert {r["id"]: r["status"] for r in any_store.runs()} == {
        run.run_id: "abandoned",
        nxt.run_id: "running",
    }
    nxt.lock.release()


def _claim_all(url: str, run_id: int, name: str, out) -> None:  # in a child process
    got = []
    with StateStore(url) as store:
        while (site := store.claim_site(run_id, name, TTL)) is not None:
            got.append(site.url)
    out.put(got)


def test_workers_claiming_at_once_never_share_a_site(store_url):
    with StateStore(store_url) as store:
        run = store.start_or_join_run(HUBS, queue(40), ttl=TTL)
        ctx = multiprocessing.get_context("spawn")
        out = ctx.Queue()
        procs = [ctx.Process(target=_claim_all, args=(store_url, run.run_id, f"w{i}", out)) for i in range(3)]
        for p in procs:
            p.start()
        got = [out.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(30)
        claimed = [url for worker in got for url in worker]
        assert sorted(claimed) == sorted(q.url for q in queue(40))  # each exactly once
        run.lock.release()


def test_a_shared_run_outlives_the_process_that_started_it(state_store):
    """The lock row of a shared run has no single holder: its creator's pid dying proves nothing."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    run = state_store.start_or_join_run(HUBS, queue(2), ttl=TTL)
    with state_store.engine.begin() as conn:
        conn.execute(sa.text("update sync_locks set pid = :pid"), {"pid": gone.pid})
    with pytest.raises(LockHeldError):
        state_store.acquire_lock()  # the other workers still renew the row
    assert state_store.start_or_join_run(HUBS, [], ttl=TTL).run_id == run.run_id
    run.lock.release()

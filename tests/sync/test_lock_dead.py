"""The run lock knows the dead: a killed holder is taken over at once on the same host and on
PostgreSQL, a live one still refuses (exit 75), and across hosts the heartbeat expiry decides.

Every case runs on SQLite and on PostgreSQL (``store_url``); the end-to-end case kills a real
``veiviser sync run`` against the emulator with SIGKILL and starts the next one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from tests.support.emulator import connection_settings
from tests.support.postgres import fresh_schema
from tests.support.sync import cli_env, portfolio, seed

from veiviser.cli import main
from veiviser.sync.lock import LockHeldError, LockLostError
from veiviser.sync.report import EXIT_LOCK_HELD, EXIT_OK
from veiviser.sync.run import sync_portfolio
from veiviser.sync.schema import advisory_key, locks_table, to_db, utcnow
from veiviser.sync.state import StateStore

HOLDER = textwrap.dedent(
    """
    import sys, time
    from veiviser.sync.state import StateStore
    store = StateStore(sys.argv[1])
    lock = store.acquire_lock()
    lock.start_heartbeat()
    run = store.start_run("http://hub", owner=lock.owner)
    print(lock.owner, run, flush=True)
    time.sleep(120)
    """
)


def start_holder(url: str) -> tuple[subprocess.Popen[str], str, int]:
    """A child process that takes the run lock, starts a run and then just waits."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, url], stdout=subprocess.PIPE, text=True, env=env)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    assert len(line) == 2, "the holder did not start"
    return proc, line[0], int(line[1])


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def acquire_soon(store: StateStore, seconds: float = 5.0):
    """The lock, retried briefly: PostgreSQL ends a killed client's session when it sees the socket close."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return store.acquire_lock()
        except LockHeldError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_killed_holder_is_taken_over_at_once_and_its_run_abandoned(store_url, caplog):
    proc, owner, run = start_holder(store_url)
    try:
        with StateStore(store_url) as store:
            with pytest.raises(LockHeldError, match=owner.split(":")[0]) as info:
                store.acquire_lock()
            assert info.value.exit_code == EXIT_LOCK_HELD == 75
            kill9(proc)
            started = time.monotonic()
            lock = acquire_soon(store)
            assert time.monotonic() - started < 5  # not the minute of the heartbeat expiry
            reason = "session ended" if store.is_postgres else f"process {proc.pid} on this host is gone"
            assert reason in lock.takeover_message and owner in lock.takeover_message
            assert lock.takeover_message in caplog.text
            old = next(r for r in store.runs() if r["id"] == run)
            assert old["status"] == "abandoned" and old["message"] == lock.takeover_message
            assert store.lock_holder()["owner"] == lock.owner
            lock.release()
            assert store.lock_holder() is None
    finally:
        proc.kill()
        proc.wait(10)


def test_live_holder_in_another_process_refuses_the_cli_with_75(store_url):
    proc, owner, _run = start_holder(store_url)
    try:
        result = CliRunner().invoke(
            main, ["sync", "run", "--hub", "http://127.0.0.1:9/sites/hub", "--state", store_url]
        )
        assert result.exit_code == EXIT_LOCK_HELD, result.output
        assert owner in result.output and "holds the lock" in result.output
        assert "Traceback" not in result.output
    finally:
        kill9(proc)


def fake_holder(store: StateStore, *, expires_in: timedelta, host: str = "annen-vert", pid: int = 4242):
    now = to_db(utcnow())
    with store.engine.begin() as conn:
        conn.execute(
            locks_table.insert().values(
                name="sync-run",
                owner=f"{host}:{pid}:feedbeef",
                acquired_at=now - timedelta(hours=1),
                heartbeat_at=now + expires_in - timedelta(minutes=1),
                expires_at=now + expires_in,
                host=host,
                pid=pid,
                process_started=None,
            )
        )
    return store.start_run("http://hub", owner=f"{host}:{pid}:feedbeef")


def test_other_host_heartbeat_expiry_decides_on_sqlite(state_store):
    run = fake_holder(state_store, expires_in=timedelta(seconds=40))
    with pytest.raises(LockHeldError, match="annen-vert, process 4242"):
        state_store.acquire_lock()  # pid 4242 may be dead here, but it is another host's pid
    with state_store.engine.begin() as conn:
        conn.execute(locks_table.update().values(expires_at=to_db(utcnow()) - timedelta(seconds=1)))
    lock = state_store.acquire_lock()
    assert "heartbeat expired" in lock.takeover_message
    assert state_store.runs()[0]["id"] == run and state_store.runs()[0]["status"] == "abandoned"
    lock.release()


def test_same_host_pid_reused_by_a_younger_process_is_dead(state_store):
    import socket

    import psutil

    own = psutil.Process(os.getpid())
    fake_holder(state_store, expires_in=timedelta(minutes=1), host=socket.gethostname(), pid=own.pid)
    with state_store.engine.begin() as conn:  # the recorded holder started an hour before this process
        conn.execute(locks_table.update().values(process_started=own.create_time() - 3600))
    lock = state_store.acquire_lock()
    assert "belongs to another process" in lock.takeover_message
    lock.release()


def test_postgres_advisory_lock_decides_across_hosts():
    with fresh_schema() as url, StateStore(url) as store:
        # A live holder on another host: its session holds the advisory lock, its row looks stale.
        holder = store.engine.connect()
        key = advisory_key(holder, "lock:sync-run")
        holder.execute(sa.select(sa.func.pg_advisory_lock(key)))
        holder.commit()
        fake_holder(store, expires_in=-timedelta(minutes=5))
        with pytest.raises(LockHeldError, match="annen-vert"):
            store.acquire_lock()
        holder.close()  # the other host's session ends: the lock is free at once, expiry or not
        with store.engine.begin() as conn:
            conn.execute(locks_table.update().values(expires_at=to_db(utcnow()) + timedelta(minutes=5)))
        lock = store.acquire_lock()
        assert "session ended" in lock.takeover_message
        # our own session dies (e.g. the server restarted it): the heartbeat notices, the run stops
        backend = lock.session[0].execute(sa.select(sa.func.pg_backend_pid())).scalar()
        lock.session[0].commit()
        with store.engine.begin() as conn:
            conn.execute(sa.select(sa.func.pg_terminate_backend(backend)))
        with pytest.raises(LockLostError, match="session"):
            lock.heartbeat()
        with pytest.raises(LockLostError):
            lock.check()
        lock.release()


@pytest.mark.slow
def test_sync_run_killed_with_sigkill_does_not_block_the_next(server, provisioned_hub, state_url):
    pf = portfolio(provisioned_hub)
    seed(pf.project("drept1"), 2)
    server.faults.add(path=r"/_api/\$batch", status=None, delay_s=60, count=1)  # the run hangs here
    env = {**os.environ, **cli_env(server), "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from veiviser.cli import main; main()",
            "sync",
            "run",
            "--hub",
            pf.hub.url,
            "--state",
            state_url,
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        with StateStore(state_url) as store:
            deadline = time.monotonic() + 60
            while not store.runs() and time.monotonic() < deadline:
                time.sleep(0.1)
            assert store.runs() and store.runs()[0]["status"] == "running"
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            server.faults.clear()
            report = sync_portfolio(pf.hub.url, settings=connection_settings(server), state=store)
            assert report.exit_code == EXIT_OK and len(report.sites) == 1
            first, second = sorted(store.runs(), key=lambda r: r["id"])
            assert first["status"] == "abandoned" and second["status"] == "ok"
            assert f"process {proc.pid} on this host is gone" in first["message"]
    finally:
        proc.kill()
        proc.wait(10)

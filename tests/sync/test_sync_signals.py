"""SIGINT and SIGTERM stop a sync run gently: the writes under way finish, the lock is released,
the run is logged as interrupted, the exit code is 128 + the signal, and the next run is exact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.emulator import connection_settings
from tests.support.sync import assert_exact, cli_env, portfolio, run_sync, seed
from veiviser.emulator.server import EmulatorServer
from veiviser.sync.report import EXIT_OK, EXIT_SIGNAL_BASE
from veiviser.sync.run import sync_portfolio
from veiviser.sync.signals import Stop

SRC = str(Path(__file__).resolve().parents[2] / "src")


def sync_process(server: EmulatorServer, hub_url: str, state_url: str) -> subprocess.Popen[str]:
    """``veiviser sync run`` in its own process (the CLI's own signal handling is under test)."""
    env = {**os.environ, **cli_env(server), "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1"}
    argv = ["sync", "run", "--hub", hub_url, "--state", state_url, "--workers", "1", "--json-logs"]
    code = "import sys; from veiviser.cli import main; main(sys.argv[1:])"
    return subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_sigterm_finishes_the_writes_under_way_and_releases_the_lock(
    server, provisioned_hub, state_url, state_store
):
    pf = portfolio(provisioned_hub)
    sites = [pf.project(f"signal{i}") for i in range(4)]
    for site in sites:
        seed(site, 2)
    server.faults.latency_ms = 100  # long enough a run (4 sites, one worker) to be stopped in the middle
    proc = sync_process(server, pf.hub.url, state_url)
    try:
        deadline = time.monotonic() + 60
        while state_store.last_run(finished=False) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # inside the first site's reads or writes
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == EXIT_SIGNAL_BASE + signal.SIGTERM == 143, (out, err)
    assert "SIGTERM received" in err and "Traceback" not in err
    run = state_store.last_run()
    assert run is not None and run["status"] == "interrupted"
    assert state_store.lock_holder() is None  # released: the next run starts at once
    server.faults.latency_ms = 0
    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert_exact(pf.hub, sites, state_store)


def test_a_stop_requested_before_any_site_writes_nothing(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("stoppet")
    seed(site, 2)
    stop = Stop()
    stop.request(signal.SIGINT)
    report = sync_portfolio(pf.hub.url, settings=connection_settings(server), state=state_store, stop=stop)
    assert report.exit_code == 130 and report.status == "interrupted"
    assert [s.status for s in report.sites] == ["skipped"] and report.to_dict()["skipped"] == [site.url]
    assert state_store.lock_holder() is None
    assert not state_store.history_frame("risks").shape[0]
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    assert_exact(pf.hub, [site], state_store)

"""The emulator itself killed with SIGKILL in the middle of a sync run and started again on its
data file: the run retries or fails the sites it could not finish, clearly, and the next run is
exact (the real client over HTTP, the emulator a separate `veiviser emulator serve` process)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.support.emulator import connection_settings, make_provisioner
from tests.support.sync import Portfolio, assert_exact, seed
from veiviser.sharepoint.sites import register_hub
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import EXIT_OK, EXIT_SITES_FAILED
from veiviser.sync.run import sync_portfolio

pytestmark = pytest.mark.slow

SRC = str(Path(__file__).resolve().parents[2] / "src")
TOKEN = "kaos-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(db: Path, port: int, latency_ms: int) -> subprocess.Popen[str]:
    """``veiviser emulator serve`` on ``port`` with ``db``; returns once it listens."""
    code = "import sys; from veiviser.cli import main; main(sys.argv[1:])"
    argv = ["emulator", "serve", "--port", str(port), "--data", str(db), "--token", TOKEN]
    argv += ["--latency-ms", str(latency_ms)]
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline() if proc.stdout else ""
    assert re.match(r"Emulator listening on http://127\.0\.0\.1:\d+", line), line
    return proc


def test_emulator_killed_and_restarted_mid_run(tmp_path, state_store):
    db, port = tmp_path / "emulator.sqlite", free_port()
    emulator = serve(db, port, latency_ms=0)
    target = SimpleNamespace(url=f"http://127.0.0.1:{port}", token=TOKEN)
    try:
        prov = make_provisioner(target)
        assert prov.hub().ok
        hub = prov.client(prov.hub_url)
        pf = Portfolio(prov, hub, register_hub(hub))
        sites = [pf.project(f"omstart{i}") for i in range(4)]
        for i, site in enumerate(sites):
            seed(site, 3, tag=str(i))
        emulator.send_signal(signal.SIGTERM)
        emulator.wait(timeout=30)
        emulator = serve(db, port, latency_ms=150)  # slow enough to be killed in the middle

        killed: list[datetime] = []

        def kill_and_restart() -> None:
            nonlocal emulator
            deadline = time.monotonic() + 60
            while state_store.last_run(finished=False) is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.4)  # the run has started: kill the emulator under it
            killed.append(datetime.now(UTC))
            emulator.send_signal(signal.SIGKILL)
            emulator.wait(timeout=30)
            time.sleep(0.5)  # down for a moment: requests meet a refused connection
            emulator = serve(db, port, latency_ms=150)

        chaos = threading.Thread(target=kill_and_restart)
        chaos.start()
        settings = connection_settings(target, retry_max_total_seconds=20, retry_max_attempts=10)
        report = sync_portfolio(hub.url, settings=settings, state=state_store, options=SyncOptions(workers=2))
        chaos.join()
        assert report.finished_at is not None and report.finished_at > killed[0]  # killed mid-run
        print(f"restart: {len(report.failed_sites)} of {len(sites)} sites failed, {report.requests} requests")
        assert report.exit_code in (EXIT_OK, EXIT_SITES_FAILED), report.to_dict()
        for failed in report.failed_sites:  # what failed says where
            assert failed.url in [s.url for s in sites] and failed.error
        assert state_store.lock_holder() is None

        again = sync_portfolio(hub.url, settings=settings, state=state_store)
        assert again.exit_code == EXIT_OK, again.to_dict()
        assert_exact(hub, sites, state_store)
    finally:
        if emulator.poll() is None:
            emulator.kill()
            emulator.wait(timeout=30)

"""Several hubs in one run, and several worker processes sharing one run: every site synced exactly
once even when a worker is killed midway (the real client against the emulator over HTTP).

The worker processes share the store on SQLite (its file lock serialises the claims) and on
PostgreSQL (``FOR UPDATE SKIP LOCKED``), through ``store_url``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from tests.support.emulator import connection_settings
from tests.support.sync import assert_exact, cli_env, portfolio, seed

from veiviser.cli import main
from veiviser.sync.report import EXIT_OK
from veiviser.sync.schema import claims_table
from veiviser.sync.state import StateStore
from veiviser.sync.workers import sync_hubs


def test_two_hubs_in_one_run(server, provisioned_hub, state_store):
    south = portfolio(provisioned_hub)
    north = portfolio(provisioned_hub, hub_alias="nord")
    sites_south = [south.project("sor1"), south.project("sor2")]
    sites_north = [north.project("nord1")]
    for i, site in enumerate([*sites_south, *sites_north]):
        seed(site, 2 + i)
    hubs = [south.hub.url, north.hub.url]
    report = sync_hubs(hubs, settings=connection_settings(server), state=state_store)
    assert report.exit_code == EXIT_OK, [s.error for s in report.failed_sites]
    assert sorted(s.url for s in report.sites) == sorted(s.url for s in [*sites_south, *sites_north])
    assert_exact(south.hub, sites_south)  # each project's rows land in its own hub only
    assert_exact(north.hub, sites_north)
    run = state_store.runs()[0]
    assert run["hub_url"] == " ".join(hubs) and run["status"] == "ok" and run["counts"]["sites"] == 3
    assert run["counts"]["created"] == report.totals()["created"] > 0
    again = sync_hubs(hubs, settings=connection_settings(server), state=state_store)
    assert again.exit_code == EXIT_OK and again.totals().get("created", 0) == 0
    assert state_store.lock_holder() is None


def test_cli_takes_several_hubs(server, provisioned_hub, state_url):
    south = portfolio(provisioned_hub)
    north = portfolio(provisioned_hub, hub_alias="nord")
    seed(south.project("clisor"), 1)
    seed(north.project("clinord"), 1)
    result = CliRunner().invoke(
        main,
        ["sync", "run", "--hub", south.hub.url, "--hub", north.hub.url, "--state", state_url],
        env=cli_env(server),
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "2 sites, 0 failed" in result.output


WORKER = textwrap.dedent(
    """
    import json, sys
    from datetime import timedelta
    from veiviser.sync.options import SyncOptions
    from veiviser.sync.workers import sync_hubs
    report = sync_hubs(
        [sys.argv[2]], state=sys.argv[1], shared=True, poll_seconds=0.2,
        options=SyncOptions(workers=1, lock_ttl=timedelta(seconds=3)),
    )
    print(json.dumps({"run": report.run_id, "sites": [s.url for s in report.sites], "status": report.status}))
    """
)


@pytest.mark.slow
def test_three_workers_one_killed_midway_sync_every_site_once(server, provisioned_hub, store_url):
    pf = portfolio(provisioned_hub)
    sites = [pf.project(f"arb{i}") for i in range(6)]
    for site in sites:
        seed(site, 2)
    StateStore(store_url).close()  # the schema exists before the workers race to open it
    server.faults.latency_ms = 40  # slow enough that the sites spread over the workers
    env = {
        **os.environ,
        **cli_env(server),
        "VEIVISER_RU_PER_MINUTE": "1000000000",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_url, pf.hub.url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    victim = procs[0]
    engine = sa.create_engine(store_url)
    try:
        # Kill the first worker while it holds a claim (in the middle of syncing a site).
        deadline = time.monotonic() + 120
        claimed = None
        while claimed is None and time.monotonic() < deadline:
            with engine.connect() as conn:
                claimed = conn.execute(
                    sa.select(claims_table.c.site_url).where(
                        claims_table.c.status == "claimed",
                        claims_table.c.worker.like(f"%:{victim.pid}:%"),
                    )
                ).scalar()
            time.sleep(0.05)
        assert claimed is not None, "the first worker never claimed a site"
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        outputs = []
        for proc in procs[1:]:
            out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err[-2000:]
            outputs.append(json.loads(out.strip().splitlines()[-1]))
        server.faults.clear()
        with engine.connect() as conn:
            claims = conn.execute(sa.select(claims_table)).mappings().all()
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        engine.dispose()
    # one run, every site claimed once, except the victim's which was claimed again after it expired
    assert len({o["run"] for o in outputs}) == 1
    assert sorted(c["site_url"] for c in claims) == sorted(s.url for s in sites)
    assert all(c["status"] == "done" for c in claims)
    assert {c["site_url"]: c["attempts"] for c in claims if c["attempts"] > 1} == {claimed: 2}
    synced_by_survivors = Counter(url for o in outputs for url in o["sites"])
    assert claimed in synced_by_survivors and max(synced_by_survivors.values()) == 1
    with StateStore(store_url) as store:
        run = store.runs()[0]
        assert run["status"] == "ok" and run["counts"]["sites"] == 6 and store.lock_holder() is None
        assert [r["status"] for r in store.site_results(run["id"])] == ["ok"] * 6
        assert_exact(pf.hub, sites, store)  # nothing lost, nothing written twice on the hub

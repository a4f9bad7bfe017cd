"""`veiviser sync run` (a forked child process) killed with SIGKILL at seeded random moments while the emulator fails 30 %
of requests with 429/503 and the sources change between kills; then one clean run must leave
every central list and the history exactly equal to the sources (the real client over HTTP).

Every run after a kill must start at once: the dead run's lock is taken over (docs/sync.md, "The
run lock"), never answered with 75.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from multiprocessing.process import BaseProcess

import pytest

from tests.support.sync import add_items, assert_exact, central_state, cli_env, portfolio, run_sync, seed
from veiviser.cli import main
from veiviser.sharepoint import SiteClient
from veiviser.sync.kinds import SOURCE_KINDS
from veiviser.sync.report import EXIT_LOCK_HELD, EXIT_OK
from veiviser.sync.state import StateStore

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SEED = 20261207
KILLS = 20


def _cli(argv: list[str], env: dict[str, str]) -> None:
    os.environ.update(env)
    main(argv)  # exits with the run's code


def sync_process(env: dict[str, str], hub_url: str, state_url: str) -> BaseProcess:
    """``veiviser sync run`` in a child process, forked so that a start costs no imports (the
    machine is shared; a fresh interpreter would spend its kill window importing)."""
    argv = ["sync", "run", "--hub", hub_url, "--state", state_url, "--workers", "2", "--json-logs"]
    proc = multiprocessing.get_context("fork").Process(target=_cli, args=(argv, env), daemon=True)
    proc.start()
    return proc


def change_sources(rng: random.Random, sites: list[SiteClient], step: int) -> None:
    """A few adds, edits and deletes in the risk and stakeholder lists of random sites."""
    for site in rng.sample(sites, 2):
        title = rng.choice(["Usikkerhet", "Interessentregister"])
        ids = [int(i["ID"]) for i in site.iter_items(title, select=["ID"])]
        site.forget_list(title)
        add_items(site, title, [{"Title": f"Ny {step}.{n}"} for n in range(rng.randint(1, 2))])
        if ids:
            edit = rng.choice(ids)
            assert site.update_items(title, {edit: {"Title": f"Endret {step}"}})[0].ok
        if len(ids) > 2 and rng.random() < 0.6:
            assert all(r.ok for r in site.delete_items(title, [rng.choice(ids)]))


def assert_history_sound(store: StateStore) -> None:
    """One current version per key, and no open version for a row whose last version is a deletion."""
    for name in SOURCE_KINDS:
        frame = store.versions_frame(name)
        if not len(frame):
            continue
        open_rows = frame[frame["valid_to"].isna()]
        per_key = open_rows.groupby("source_key").size()
        assert (per_key <= 1).all(), f"{name}: several open versions for {list(per_key[per_key > 1].index)}"
        assert not open_rows.duplicated("source_key").any()


def test_sigkill_at_random_moments_under_faults_then_exact(server, provisioned_hub, state_url, state_store):
    pf = portfolio(provisioned_hub)
    sites = [pf.project(f"kaos{i}") for i in range(3)]
    for i, site in enumerate(sites):
        seed(site, 3, tag=str(i))
    env = {
        **cli_env(server),
        "VEIVISER_RETRY_MAX_TOTAL_SECONDS": "30",
        "VEIVISER_RETRY_MAX_ATTEMPTS": "30",
    }
    rng = random.Random(SEED)
    started = time.monotonic()
    # Seconds after a run starts in which it is killed: the window follows the machine's pace, so
    # that the kills land inside runs (not before their writes, not after their end).
    window = 0.8
    finished_runs = 0
    for step in range(KILLS):
        server.faults.set_random(0.0)
        if step >= 3 and not any(central_state(pf.hub).values()):
            window = min(window * 1.5, 10.0)  # a loaded machine: no run reached its writes yet
        change_sources(rng, sites, step)
        server.faults.set_random(0.3, (429, 503), retry_after=0, seed=SEED + step)
        runs_before = len(state_store.runs(limit=1000))
        proc = sync_process(env, pf.hub.url, state_url)
        deadline = time.monotonic() + 60
        while (
            proc.is_alive()
            and len(state_store.runs(limit=1000)) == runs_before
            and time.monotonic() < deadline
        ):
            time.sleep(0.01)
        proc.join(timeout=rng.uniform(0.0, window))  # a seeded random moment of the run
        if proc.is_alive():
            assert proc.pid is not None
            os.kill(proc.pid, signal.SIGKILL)
            proc.join(timeout=30)
        else:
            finished_runs += 1
            assert proc.exitcode != EXIT_LOCK_HELD, f"run {step} refused by a dead run's lock"
            window = max(window * 0.5, 0.05)  # a fast machine: runs end sooner than the window
    server.faults.set_random(0.0)
    # The kills fell inside runs, not only before them: runs were started and rows written.
    started_runs = len(state_store.runs(limit=1000))
    written = sum(len(rows) for rows in central_state(pf.hub).values())
    assert started_runs >= KILLS // 2 and written > 0, (started_runs, written)
    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert_exact(pf.hub, sites, state_store)
    assert_history_sound(state_store)
    assert finished_runs <= KILLS // 2, (
        f"{finished_runs} runs finished before their kill: the kills hit too little"
    )
    print(
        f"chaos: {KILLS} kills, {started_runs} runs started, {finished_runs} finished first, "
        f"{written} central rows before the clean run, {time.monotonic() - started:.0f} s"
    )

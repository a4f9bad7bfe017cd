"""More sync runs on the emulator with the real client: PP365-style sites, kills at random points,
overlapping runs, token age, re-created lists, the CLI."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from datetime import timedelta

import pytest
import requests
from click.testing import CliRunner

from tests.support.emulator import connection_settings
from tests.support.sync import (
    CENTRAL,
    GJENNOMFORE,
    PLANLEGGE,
    Killed,
    Killer,
    RetryWatch,
    add_benefit_chain,
    add_items,
    apply_lists,
    assert_exact,
    cli_env,
    install_killer,
    make_pp365_project,
    portfolio,
    run_sync,
    seed,
    seeded_points,
    taxonomy_value,
)
from veiviser.cli import main
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint.sites import site_info
from veiviser.sync.lock import LockHeldError
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import EXIT_LOCK_HELD, EXIT_OK, EXIT_RUN_FAILED, EXIT_SITES_FAILED
from veiviser.sync.run import sync_portfolio
from veiviser.sync.state import StateStore


def test_pp365_style_site_syncs(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    hub, hub_id = pf.hub, pf.hub_id
    site = make_pp365_project(server, hub, hub_id, "pp365")
    r = add_items(
        site,
        "Usikkerhet",
        [
            {
                "Title": "Leverandør svikter",
                "GtRiskProbability": 7,
                "GtRiskConsequence": 2,
                "GtProjectPhase": taxonomy_value("Planlegge", PLANLEGGE),
            },
            {"Title": "Forsinket", "GtRiskProbability": 3, "GtRiskConsequence": 4},
        ],
    )
    # PP365 forms write the phase through the hidden note field ("-1;#Label|guid").
    note = site.get(
        f"Web/lists(guid'{site.resolve_list('Usikkerhet').id}')/Fields/getByTitle('GtProjectPhase_0')",
        {"$select": "EntityPropertyName"},
    )["EntityPropertyName"]
    assert site.update_items("Usikkerhet", {r[1]: {note: f"-1;#Gjennomføre|{GJENNOMFORE}"}})[0].ok
    add_benefit_chain(
        site,
        [{"Title": "Færre manuelle timer"}],
        {"Title": "Timer per uke", "GtStartValue": 40, "GtDesiredValue": 10},
        [{"Title": "Mars", "GtMeasurementValue": 30}],
    )
    add_items(site, "Interessentregister", [{"Title": "Brukerne"}])

    report = run_sync(server, hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert_exact(hub, [site], state_store)

    risks = {x["Title"]: x for x in hub.iter_items(CENTRAL["risks"])}
    assert risks["Leverandør svikter"]["GtProjectPhase"] == "Planlegge"  # taxonomy value -> its label
    assert risks["Forsinket"]["GtProjectPhase"] == "Gjennomføre"  # written through the hidden note field
    assert {x["GtProjectPhaseText"] for x in risks.values()} == {"Gjennomføre"}  # the project's phase
    assert risks["Leverandør svikter"]["GtRiskProbability"] == 7  # carried over as it is ...
    rules = {(f.item_id, f.field, f.rule) for f in report.findings}
    assert any(item == r[0] and field == "GtRiskProbability" for item, field, _ in rules), (
        rules
    )  # ... and found
    history = state_store.history_frame("risks").set_index("Title")
    assert float(history.loc["Forsinket", "GtRiskFactor"]) == 12  # the calculated column, as a number

    meas = next(iter(hub.iter_items(CENTRAL["measurements"])))
    ind = next(iter(hub.iter_items(CENTRAL["indicators"])))
    ben = next(iter(hub.iter_items(CENTRAL["benefits"])))
    assert meas["GtIndicatorKey"] == ind["GtSourceKey"] and meas["GtIndicatorTitle"] == "Timer per uke"
    assert meas["GtGainKey"] == ind["GtGainKey"] == ben["GtSourceKey"]
    register = next(iter(hub.iter_items("Prosjekter", select=["Title", "GtProjectPhaseText", "GtSiteId"])))
    assert register["GtProjectPhaseText"] == "Gjennomføre"
    assert register["GtSiteId"] == site_info(site).site_id.strip("{}").lower()


# --- kill at random points -------------------------------------------------------------------------


def _mutate(site, step):
    lst = site.resolve_list("Usikkerhet")
    ids = [x["ID"] for x in site.iter_items(lst, select=["ID"])]
    if ids:
        assert site.update_items(lst, {ids[0]: {"Title": f"endret {step}"}})[0].ok
    if len(ids) > 1:
        assert site.delete_items(lst, [ids[-1]])[0].ok
    add_items(site, "Usikkerhet", [{"Title": f"ny {step}"}])
    add_items(site, "Interessentregister", [{"Title": f"ny {step}"}])
    mlist = site.resolve_list("Gevinstoppfølging")
    mids = [x["ID"] for x in site.iter_items(mlist, select=["ID"])]
    if mids:
        assert site.delete_items(mlist, [mids[0]])[0].ok


def test_kill_at_random_points_then_rerun_is_exact(server, provisioned_hub, state_store, monkeypatch):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    sites = [pf.project(f"kill{n}") for n in range(2)]
    for n, site in enumerate(sites):
        seed(site, 3, tag=str(n))
    fired = 0
    # A run with work on both sites is 34-40 events (HTTP out, HTTP back, state_store writes): kill inside it.
    for step, point in enumerate(seeded_points(seed=2024, count=6, high=34)):
        if step:
            _mutate(sites[0], step)
            _mutate(sites[1], step + 100)
        killer = Killer(at=point)
        with monkeypatch.context() as patch:
            install_killer(patch, killer)
            with contextlib.suppress(Killed):
                run_sync(server, hub, state_store, workers=2)
        fired += killer.fired
        state_store.engine.dispose()  # a new process would open fresh connections
        report = run_sync(server, hub, state_store, workers=2)
        assert report.exit_code == EXIT_OK, (point, report.to_dict())
        assert_exact(hub, sites, state_store)
    assert fired == 6  # every point really interrupted a run


# --- lock, token age, re-created list ---------------------------------------------------------------


def test_overlapping_runs_refuse(server, provisioned_hub, state_store, state_url):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    seed(pf.project("lock1"), 2)
    server.faults.add(path=r"/_api/\$batch", status=None, delay_s=1.5, count=1)  # hold the first run a while
    first: dict[str, object] = {}
    thread = threading.Thread(target=lambda: first.setdefault("report", run_sync(server, hub, state_store)))
    thread.start()
    time.sleep(0.5)
    with StateStore(state_url) as other, pytest.raises(LockHeldError, match="holds the lock") as info:
        sync_portfolio(hub.url, settings=connection_settings(server), state=other)
    assert info.value.hint and info.value.exit_code == EXIT_LOCK_HELD == 75
    thread.join(30)
    assert first["report"].exit_code == EXIT_OK
    assert len(state_store.runs()) == 1  # the refused run left no trace besides the error
    assert run_sync(server, hub, state_store).exit_code == EXIT_OK  # the lock is free again


def test_old_token_and_recreated_list_give_full_reads(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    site = pf.project("tok")
    seed(site, 3)
    assert run_sync(server, hub, state_store).exit_code == EXIT_OK
    quiet = run_sync(server, hub, state_store)
    assert quiet.sites[0].counts["full_reads"] == 0

    # Tokens older than the configured age are not trusted: everything is read again, nothing written.
    report = run_sync(server, hub, state_store, token_max_age=timedelta(0))
    counts = report.sites[0].counts
    assert counts["full_reads"] == 6 and counts["created"] == counts["updated"] == counts["deleted"] == 0
    assert_exact(hub, [site], state_store)

    # The list deleted and created again (new id, item ids start over): its old token means nothing.
    old = site.resolve_list("Usikkerhet")
    site.call("DELETE", f"Web/lists(guid'{old.id}')")
    site.forget_list("Usikkerhet")
    apply_lists(site, load_bundle().project, ("risks",))
    add_items(site, "Usikkerhet", [{"Title": "Etter gjenoppretting"}])
    report = run_sync(server, hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    counts = report.sites[0].counts
    assert counts["full_reads"] == 1 and counts["deleted"] == 3 and counts["created"] == 1
    assert_exact(hub, [site], state_store)
    closed = state_store.versions_frame("risks")
    assert closed["deleted"].sum() == 3  # the old rows are closed in history, not lost


def test_long_list_reads_only_remaining_pages(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    site = pf.project("long")
    add_items(site, "Interessentregister", [{"Title": f"S{n}"} for n in range(23)])
    from veiviser.sharepoint import RequestCounter

    counter = RequestCounter()
    report = sync_portfolio(
        hub.url,
        settings=connection_settings(server),
        state=state_store,
        counter=counter,
        options=SyncOptions(page_size=10),
    )
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert_exact(hub, [site], state_store)
    # Pages 2 and 3 of Interessentregister only; the batched first page is not read again.
    assert counter.count("GET", "/items") == 2  # the hub register (Prosjekter) comes in a $batch


# --- the Retry-After watch itself -------------------------------------------------------------------


def test_retry_watch_catches_an_early_resend(server):
    watch = RetryWatch(server).install()
    server.faults.add(path="/_api/web", status=429, retry_after=1, count=1, scope="top")
    headers = {
        "Authorization": f"Bearer {server.token}",
        "Accept": "application/json;odata=verbose",
        "client-request-id": "same",
    }
    url = f"{server.url}/_api/web"
    assert requests.get(url, headers=headers, timeout=5).status_code == 429
    requests.get(url, headers=headers, timeout=5)  # at once: too early
    assert len(watch.early_retries()) == 1 and watch.throttled == 1


# --- the CLI ---------------------------------------------------------------------------------------


def test_cli_run_and_status(server, provisioned_hub, state_url, tmp_path):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    seed(pf.project("cli1"), 2)
    runner = CliRunner()
    report_file = tmp_path / "rapport.json"
    result = runner.invoke(
        main,
        [
            "sync",
            "run",
            "--hub",
            hub.url,
            "--state",
            state_url,
            "--workers",
            "2",
            "--report",
            str(report_file),
        ],
        env=cli_env(server),
    )
    assert result.exit_code == EXIT_OK, result.output
    assert "1 sites, 0 failed" in result.output
    data = json.loads(report_file.read_text(encoding="utf-8"))
    assert (
        data["exit_code"] == 0 and data["sites_total"] == 1 and data["totals"]["created"] == 2 + 2 + 2 + 1 + 2
    )

    # A site missing a source list syncs the others and reports the list; a site that is gone fails.
    broken = pf.project("cli2")
    broken.call("DELETE", f"Web/lists(guid'{broken.resolve_list('Måleindikatorer').id}')")
    gone = f"{server.url}/sites/nedlagt"
    add_items(hub, "Prosjekter", [{"Title": "Nedlagt", "GtSiteUrl": gone}])
    result = runner.invoke(
        main,
        ["sync", "run", "--hub", hub.url, "--state", state_url, "--report", str(report_file), "--json-logs"],
        env=cli_env(server),
    )
    assert result.exit_code == EXIT_SITES_FAILED, result.output
    assert f"LIST MISSING The list 'Måleindikatorer' is missing at {broken.url} (run 1 of 3)" in result.output
    data = json.loads(report_file.read_text(encoding="utf-8"))
    assert [f["url"] for f in data["failed"]] == [gone] and "nedlagt" in data["failed"][0]["error"]
    missing = [f for f in data["findings"] if f["rule"] == "list-missing"]
    assert [(f["site_url"], f["list"], f["value"]) for f in missing] == [(broken.url, "Måleindikatorer", 1)]

    result = runner.invoke(main, ["sync", "status", "--state", state_url], env=cli_env(server))
    assert result.exit_code == 0, result.output
    assert "partial" in result.output and "failed" in result.output and gone in result.output
    assert "Måleindikatorer" in result.output  # the missing list is shown with what to do
    status = json.loads(
        runner.invoke(main, ["sync", "status", "--state", state_url, "--format", "json"]).output
    )
    assert [s["site_url"] for s in status["failing"]] == [gone] and len(status["runs"]) == 2
    assert [(f["site_url"], f["rule"]) for f in status["site_findings"]] == [(broken.url, "list-missing")]

    result = runner.invoke(
        main,
        ["sync", "run", "--hub", f"{server.url}/sites/finnesikke", "--state", state_url],
        env=cli_env(server),
    )
    assert result.exit_code == EXIT_RUN_FAILED, result.output
    assert "finnesikke" in result.output


def test_unchanged_sites_cost_one_request_each_and_keep_findings(server, provisioned_hub, state_store):
    from veiviser.sharepoint import RequestCounter

    pf = portfolio(provisioned_hub)
    hub = pf.hub
    sites = [pf.project(f"quiet{n}") for n in range(3)]
    for site in sites:
        seed(site, 2)
        add_items(site, "Gevinstanalyse og gevinstrealiseringsplan", [{"Title": "Uten eier"}])
    first = run_sync(server, hub, state_store, workers=2)
    assert first.exit_code == EXIT_OK, first.to_dict()
    counter = RequestCounter()
    report = sync_portfolio(
        hub.url,
        settings=connection_settings(server),
        state=state_store,
        counter=counter,
        options=SyncOptions(workers=2),
    )
    assert report.exit_code == EXIT_OK
    # Per run: the hub register with the hub's id (1 $batch), the hub's form digest (shared by
    # every site) and the tenant's site list (sites joined to the hub); then one $batch per site:
    # no contextinfo of its own, no hub writes.
    assert counter.total == 3 + len(sites), (counter.snapshot(), [s.counts for s in report.sites])
    assert counter.count("POST", "_api/contextinfo") == 1 and counter.count("POST", "_api/$batch") == 1 + len(
        sites
    )
    assert counter.count("POST", "getsitepropertiesfromsharepointbyfilters") == 1
    assert sorted((f.item_id, f.rule) for f in report.findings) == sorted(
        (f.item_id, f.rule) for f in first.findings
    )
    assert report.findings and report.totals()["unchanged"] == first.totals()["created"]

    _mutate(sites[0], 1)
    counter.reset()
    report = sync_portfolio(
        hub.url,
        settings=connection_settings(server),
        state=state_store,
        counter=counter,
        options=SyncOptions(workers=2),
    )
    assert report.exit_code == EXIT_OK
    # The changed site: + its changed items, + a hub look-up of the new items' keys, + the hub write
    # (the updates' ETags are the ones the first run's writes got: no read); the run: + the central
    # lists' entity types.
    assert counter.total == 3 + len(sites) + 3 + 1, counter.snapshot()
    assert_exact(hub, sites, state_store)

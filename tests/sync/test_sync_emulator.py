"""The sync against the emulator over HTTP with the real office365 client."""

from __future__ import annotations

import pytest

from tests.support.emulator import connection_settings
from tests.support.sync import RetryWatch, add_benefit_chain, add_items, assert_exact, portfolio, run_sync
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import EXIT_OK
from veiviser.sync.run import sync_portfolio
from veiviser.sync.state import StateStore

CENTRAL = {
    "risks": "Porteføljeusikkerhet",
    "stakeholders": "Porteføljeinteressenter",
    "benefits": "Porteføljegevinster",
    "indicators": "Porteføljemåleindikatorer",
    "measurements": "Porteføljegevinstoppfølging",
}


def central(hub, kind):
    return {r["GtSourceKey"]: r for r in hub.iter_items(CENTRAL[kind])}


def seed(site, n=3):
    add_items(
        site,
        "Usikkerhet",
        [{"Title": f"R{i}", "GtRiskProbability": i % 6, "GtRiskConsequence": 2} for i in range(n)],
    )
    add_items(
        site, "Interessentregister", [{"Title": f"S{i}", "GtStakeholderInfluence": "Stor"} for i in range(n)]
    )
    add_benefit_chain(
        site,
        [{"Title": "B1"}],
        {"Title": "I1", "GtStartValue": 10, "GtDesiredValue": 20},
        [{"Title": "M1", "GtMeasurementValue": 15}],
    )


def test_initial_sync_then_edits_deletions_and_new_items(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    p1 = pf.project("p1", title="Prosjekt En")
    p2 = pf.project("p2", title="Prosjekt To")
    seed(p1)
    seed(p2, 2)
    report = run_sync(server, hub, state_store, workers=2)
    assert report.exit_code == EXIT_OK, report.to_dict()
    risks = central(hub, "risks")
    assert len(risks) == 5
    assert {r["Title"] for r in risks.values()} == {"R0", "R1", "R2"}
    assert {r["GtProjectTitle"] for r in risks.values()} == {"Prosjekt En", "Prosjekt To"}
    meas = central(hub, "measurements")
    assert len(meas) == 2 and all(m["GtIndicatorKey"] and m["GtGainKey"] for m in meas.values())
    assert len(state_store.history_frame("risks")) == 5

    # unchanged re-run: nothing written
    report = run_sync(server, hub, state_store)
    assert report.totals().get("created", 0) == 0 and report.totals().get("updated", 0) == 0

    # edit, delete, add
    lst = p1.resolve_list("Usikkerhet")
    items = list(p1.iter_items(lst, select=["ID", "Title"]))
    p1.update_items(lst, {items[0]["ID"]: {"Title": "R0 endret"}})
    p1.delete_items(lst, [items[1]["ID"]])
    add_items(p1, "Usikkerhet", [{"Title": "Ny", "GtRiskProbability": 4}])
    report = run_sync(server, hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    risks = central(hub, "risks")
    assert sorted(r["Title"] for r in risks.values()) == sorted(["R0 endret", "R2", "Ny", "R0", "R1"])
    changes = state_store.changes_since("risks")
    assert sorted(changes["change"]) == ["added", "changed", "deleted"]


@pytest.mark.slow
def test_failing_site_is_isolated_and_faults_give_exact_result(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    healthy = [pf.project(f"ok{n}") for n in range(3)]
    for n, site in enumerate(healthy):
        seed(site, 2 + n)
    broken = pf.project("broken")
    broken.call("DELETE", f"Web/lists(guid'{broken.resolve_list('Interessentregister').id}')")
    add_items(hub, "Prosjekter", [{"Title": "Nedlagt", "GtSiteUrl": f"{server.url}/sites/nedlagt"}])
    watch = RetryWatch(server).install()
    server.faults.set_random(0.3, (429, 503), retry_after=1, seed=11)
    report = sync_portfolio(
        hub.url,
        settings=connection_settings(server, retry_max_attempts=20, retry_max_total_seconds=120),
        state=state_store,
        options=SyncOptions(workers=3),
    )
    server.faults.set_random(0.0)
    assert report.exit_code == 4, report.to_dict()
    # The site that is gone fails; the one missing a list syncs the others and names the list.
    assert [s.url.rsplit("/", 1)[-1] for s in report.failed_sites] == ["nedlagt"]
    missing = [(f.site_url, f.list_title) for f in report.findings if f.rule == "list-missing"]
    assert missing == [(broken.url, "Interessentregister")]
    assert watch.throttled > 10  # the faults really happened ...
    assert watch.early_retries() == []  # ... and nothing was re-sent before its Retry-After
    assert_exact(hub, healthy, state_store)
    status = state_store.runs()[0]
    assert status["status"] == "partial" and status["failed_sites"] == 1


def test_kill_after_central_write_then_rerun_converges(server, provisioned_hub, state_store, monkeypatch):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    p1 = pf.project("k1")
    seed(p1, 3)
    original = StateStore.record_versions

    def boom(self, *a, **k):
        raise KeyboardInterrupt  # killed between the hub write and the history write

    monkeypatch.setattr(StateStore, "record_versions", boom)
    with pytest.raises(KeyboardInterrupt):
        run_sync(server, hub, state_store)
    monkeypatch.setattr(StateStore, "record_versions", original)
    state_store.engine.dispose()
    report = run_sync(server, hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert len(central(hub, "risks")) == 3  # nothing duplicated
    assert len(state_store.history_frame("risks")) == 3

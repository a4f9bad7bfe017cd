"""Central updates send IF-MATCH with the ETag the sync's last write got (kept in the state store);
a 412 (the hub item changed since) is read again and retried, never overwritten blindly (the real
client, the emulator's ETags; docs/sync.md, "ETags")."""

from __future__ import annotations

from tests.support.sync import add_items, assert_exact, central_state, portfolio, run_sync
from veiviser.sync import write
from veiviser.sync.report import EXIT_OK, EXIT_SITES_FAILED

CENTRAL_RISKS = "Porteføljeusikkerhet"


def _edit_after_reading(monkeypatch, hub, times):
    """Someone edits the central item between the sync's ETag read and its MERGE, ``times`` times."""
    original = write.read_etags
    edits = []

    def read_then_edit(hub_client, central, updates, *a, **k):
        etags = original(hub_client, central, updates, *a, **k)
        if updates and len(edits) < times:
            cid = updates[0].central_id
            assert hub.update_items(CENTRAL_RISKS, {cid: {"GtRiskProbability": 1}})[0].ok
            edits.append(cid)
        return etags

    monkeypatch.setattr(write, "read_etags", read_then_edit)
    return edits


def test_update_meets_412_reads_again_and_retries(server, provisioned_hub, state_store, monkeypatch):
    pf = portfolio(provisioned_hub)
    site = pf.project("etag")
    (rid,) = add_items(site, "Usikkerhet", [{"Title": "Før", "GtRiskProbability": 2}])
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    (central,) = pf.hub.iter_items(CENTRAL_RISKS, select=["ID"])
    # Someone edits the central item by hand: the ETag the sync kept is stale now.
    assert pf.hub.update_items(CENTRAL_RISKS, {central["ID"]: {"GtRiskProbability": 5}})[0].ok
    site.update_items("Usikkerhet", {rid: {"Title": "Etter", "GtRiskProbability": 4}})
    edits = _edit_after_reading(monkeypatch, pf.hub, times=1)  # and again between the read and the MERGE

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert len(edits) == 1 and report.sites[0].counts["etag_retries"] == 2  # two real 412s were met
    assert_exact(pf.hub, [site], state_store)
    (item,) = pf.hub.iter_items(CENTRAL_RISKS, select=["Title", "GtRiskProbability"])
    assert (item["Title"], item["GtRiskProbability"]) == ("Etter", 4)


def test_an_item_that_keeps_changing_fails_the_site_clearly(
    server, provisioned_hub, state_store, monkeypatch
):
    pf = portfolio(provisioned_hub)
    site = pf.project("etag2")
    (rid,) = add_items(site, "Usikkerhet", [{"Title": "Før"}])
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    (central,) = pf.hub.iter_items(CENTRAL_RISKS, select=["ID"])
    assert pf.hub.update_items(CENTRAL_RISKS, {central["ID"]: {"GtRiskProbability": 1}})[0].ok
    site.update_items("Usikkerhet", {rid: {"Title": "Etter"}})
    _edit_after_reading(monkeypatch, pf.hub, times=write.ETAG_RETRIES)  # every read is overtaken

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_SITES_FAILED, report.to_dict()
    assert "412" in report.sites[0].error or "ETag" in report.sites[0].error
    assert [t for _, t in central_state(pf.hub)["risks"]] == ["Før"]  # not overwritten blindly
    monkeypatch.undo()
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK  # the next run converges
    assert_exact(pf.hub, [site], state_store)


def test_updates_with_the_right_etags_need_no_retry(server, provisioned_hub, state_store, monkeypatch):
    n = 3
    pf = portfolio(provisioned_hub)
    site = pf.project("etag3")
    ids = add_items(site, "Usikkerhet", [{"Title": f"R{i}"} for i in range(n)])
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    site.update_items("Usikkerhet", {i: {"Title": f"R{i} endret"} for i in ids})
    reads = []
    original = write.read_etags
    monkeypatch.setattr(
        write,
        "read_etags",
        lambda hub, c, updates, *a, **k: reads.extend(updates) or original(hub, c, updates, *a, **k),
    )
    report = run_sync(server, pf.hub, state_store)
    assert report.sites[0].counts["updated"] == n and "etag_retries" not in report.sites[0].counts
    assert reads == []  # the ETags the first run's writes got were kept: no read before the MERGEs
    assert_exact(pf.hub, [site], state_store)

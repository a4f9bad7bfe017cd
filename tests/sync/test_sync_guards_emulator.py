"""Missing, renamed and re-created source lists, and the mass-deletion guard, with the real client
against the emulator: one missing list never blocks the others, and nothing large is deleted
without a person saying so."""

from __future__ import annotations

from tests.support.sync import (
    add_items,
    apply_lists,
    assert_exact,
    central_state,
    make_pp365_project,
    portfolio,
    run_sync,
    seed,
)
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint.sites import site_info
from veiviser.sync.report import EXIT_DELETIONS_HELD, EXIT_OK


def _findings(report, rule):
    return [f for f in report.findings if f.rule == rule]


def test_site_without_prosjektegenskaper_syncs_every_other_list(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = make_pp365_project(server, pf.hub, pf.hub_id, "uten-egenskaper")
    site.call("DELETE", f"Web/lists(guid'{site.resolve_list('Prosjektegenskaper').id}')")
    site.forget_list("Prosjektegenskaper")
    add_items(site, "Usikkerhet", [{"Title": "Risiko uten egenskaper"}])
    add_items(site, "Interessentregister", [{"Title": "Innbyggerne"}])

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert_exact(pf.hub, [site], state_store)
    (missing,) = _findings(report, "list-missing")
    assert (missing.site_url, missing.list_title, missing.value) == (site.url, "Prosjektegenskaper", 1)
    assert "recycle bin" in missing.message and "3 runs" in missing.message
    assert report.sites[0].title == "PP365-prosjektet"  # from the register meanwhile


def test_deleted_list_is_kept_for_three_runs_then_removed(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site, other = pf.project("borte"), pf.project("andre")
    seed(site, 3)
    seed(other, 2)
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    stakeholders = central_state(pf.hub)["stakeholders"]
    site.call("DELETE", f"Web/lists(guid'{site.resolve_list('Interessentregister').id}')")
    site.forget_list("Interessentregister")

    for run in (1, 2):
        add_items(site, "Usikkerhet", [{"Title": f"Ny risiko {run}"}])
        report = run_sync(server, pf.hub, state_store)
        assert report.exit_code == EXIT_OK, report.to_dict()
        (missing,) = _findings(report, "list-missing")
        assert missing.value == run and f"run {run} of 3" in missing.message
        hub_now = central_state(pf.hub)
        assert hub_now["stakeholders"] == stakeholders  # kept on the hub
        assert f"Ny risiko {run}" in {t for _, t in hub_now["risks"]}  # the other lists sync

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    (missing,) = _findings(report, "list-missing")
    assert missing.value == 3 and "removed from the portfolio" in missing.message
    outcome = next(s for s in report.sites if s.url == site.url)
    assert outcome.counts["deleted"] == 3
    site_id = site_info(site).site_id.strip("{}").lower()
    left = {k for k, _ in central_state(pf.hub)["stakeholders"]}
    assert left and not any(k.startswith(site_id) for k in left)  # only the other site's
    frame = state_store.history_frame("stakeholders")
    assert not any(frame["source_key"].str.startswith(site_id))  # closed in history too
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK  # and stays so


def test_renamed_list_is_synced_under_its_new_title(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("omdopt")
    seed(site, 2)
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    info = site.resolve_list("Usikkerhet")
    site.call(
        "MERGE", f"Web/lists(guid'{info.id}')", {"Title": "Risikoer", "__metadata": {"type": "SP.List"}}
    )
    site.forget_list("Usikkerhet")
    add_items(site, "Risikoer", [{"Title": "Etter omdøping"}])

    for _ in range(2):  # read in full every run while renamed; nothing deleted, nothing duplicated
        report = run_sync(server, pf.hub, state_store)
        assert report.exit_code == EXIT_OK, report.to_dict()
        (renamed,) = _findings(report, "list-renamed")
        assert renamed.list_title == "Usikkerhet" and renamed.value == "Risikoer"
        titles = sorted(t for _, t in central_state(pf.hub)["risks"])
        assert titles == ["Etter omdøping", "R0", "R1"]
        assert report.sites[0].counts["deleted"] == 0


def test_mass_deletion_is_held_until_allowed(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("massesletting")
    ids = add_items(site, "Usikkerhet", [{"Title": f"Risiko {i}"} for i in range(12)])
    add_items(site, "Interessentregister", [{"Title": "Brukerne"}])
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    before = central_state(pf.hub)

    # Someone empties the risk list (12 rows), and edits a stakeholder.
    assert all(r.ok for r in site.delete_items("Usikkerhet", ids))
    site.update_items("Interessentregister", {1: {"Title": "Brukerne (endret)"}})
    for _ in range(2):  # held every run until someone decides: the deletions stay in the change log
        report = run_sync(server, pf.hub, state_store)
        assert report.exit_code == EXIT_DELETIONS_HELD, report.to_dict()
        (held,) = _findings(report, "mass-delete-held")
        assert held.value == 12 and "--allow-mass-delete" in held.message and "'Usikkerhet'" in held.message
        assert report.to_dict()["deletions_held"] == [{"url": site.url, "rows": 12}]
        hub_now = central_state(pf.hub)
        assert hub_now["risks"] == before["risks"]  # nothing deleted
        assert [t for _, t in hub_now["stakeholders"]] == ["Brukerne (endret)"]  # the rest synced
        assert len(state_store.history_frame("risks")) == 12

    report = run_sync(server, pf.hub, state_store, allow_mass_delete=True)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert report.sites[0].counts["deleted"] == 12
    assert_exact(pf.hub, [site], state_store)
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK


def test_list_recreated_empty_is_a_mass_deletion(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("gjenskapt")
    add_items(site, "Usikkerhet", [{"Title": f"Risiko {i}"} for i in range(10)])
    assert run_sync(server, pf.hub, state_store).exit_code == EXIT_OK
    site.call("DELETE", f"Web/lists(guid'{site.resolve_list('Usikkerhet').id}')")
    site.forget_list("Usikkerhet")
    apply_lists(site, load_bundle().project, ("risks",))

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_DELETIONS_HELD, report.to_dict()
    assert len(central_state(pf.hub)["risks"]) == 10
    # Rows typed in again are new rows (a new list, new ids): they are synced, the old ones held.
    add_items(site, "Usikkerhet", [{"Title": f"Risiko {i}"} for i in range(10)])
    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_DELETIONS_HELD, report.to_dict()
    assert len(central_state(pf.hub)["risks"]) == 20
    report = run_sync(server, pf.hub, state_store, allow_mass_delete=True)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert report.sites[0].counts["deleted"] == 10
    assert_exact(pf.hub, [site], state_store)

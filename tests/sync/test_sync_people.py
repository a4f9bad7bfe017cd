"""People the hub cannot resolve are findings, never a failed site (the real client, the emulator's
tenant directory answering 400 for an unknown person)."""

from __future__ import annotations

from tests.support.sync import add_items, assert_exact, portfolio, run_sync
from veiviser.emulator.model.directory import Directory
from veiviser.sharepoint.sites import ensure_user
from veiviser.sync.report import EXIT_OK

BENEFITS = "Gevinstanalyse og gevinstrealiseringsplan"


def test_person_unknown_on_the_hub_is_a_finding_and_the_row_is_written_without_them(
    server, provisioned_hub, state_store
):
    pf = portfolio(provisioned_hub)
    site = pf.project("personer")
    server.add_user("sluttet@kommune.no", "Sluttet Person")
    server.add_user("blir@kommune.no", "Blir Person")
    gone, stays = ensure_user(site, "sluttet@kommune.no"), ensure_user(site, "blir@kommune.no")
    add_items(
        site,
        BENEFITS,
        [
            {"Title": "Raskere saksbehandling", "GtGainsOwnerId": gone, "GtGainsResponsibleId": stays},
            {"Title": "Færre klager", "GtGainsOwnerId": stays},
        ],
    )
    # The person leaves the organisation before the hub ever saw them: the directory forgets them.
    server.app.directory = Directory(u for u in server.app.directory if u.upn != "sluttet@kommune.no")

    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert_exact(pf.hub, [site], state_store)
    (finding,) = [f for f in report.findings if f.rule == "person-unknown"]
    assert (finding.site_url, finding.list_title, finding.item_id, finding.field, finding.value) == (
        site.url,
        BENEFITS,
        1,
        "GtGainsOwner",
        "sluttet@kommune.no",
    )
    hub_items = {
        i["Title"]: i
        for i in pf.hub.iter_items(
            "Porteføljegevinster", select=["Title", "GtGainsOwnerId", "GtGainsResponsibleId"]
        )
    }
    hub_stays = ensure_user(pf.hub, "blir@kommune.no")
    assert hub_items["Raskere saksbehandling"]["GtGainsOwnerId"] is None  # written without them
    assert hub_items["Raskere saksbehandling"]["GtGainsResponsibleId"] == hub_stays
    assert hub_items["Færre klager"]["GtGainsOwnerId"] == hub_stays

    # Unchanged next run: the finding is still reported (from the site's summary), nothing written.
    again = run_sync(server, pf.hub, state_store)
    assert again.exit_code == EXIT_OK and again.totals()["updated"] == 0
    assert [f.value for f in again.findings if f.rule == "person-unknown"] == ["sluttet@kommune.no"]

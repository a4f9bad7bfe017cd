"""A benefit's changes (the multi-value lookup GtChangeLookup) reach the hub as the changes'
titles in GtChangeTitles, which the benefit tree draws (docs/sync.md, "Multi-value lookups")."""

from __future__ import annotations

from tests.support.sync import add_items, central_state, portfolio, run_sync


def _titles(hub):
    rows = hub.iter_items("Porteføljegevinster", select=["Title", "GtChangeTitles"])
    return {r["Title"]: r.get("GtChangeTitles") for r in rows}


def test_change_titles_of_a_benefit_reach_the_hub(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    site = pf.project("endringer", title="Ny byggesak")
    a, b = add_items(site, "Endringsanalyse", [{"Title": "Digital søknad"}, {"Title": "Ny saksflyt"}])
    add_items(
        site,
        "Gevinstanalyse og gevinstrealiseringsplan",
        [
            {"Title": "Kortere saksbehandling", "GtChangeLookupId": [a, b]},
            {"Title": "Uten endring"},
        ],
    )
    report = run_sync(server, pf.hub, state_store)
    assert report.exit_code == 0, report.to_dict()
    assert not [f for f in report.findings if f.rule == "column-missing"]
    assert _titles(pf.hub) == {"Kortere saksbehandling": "Digital søknad; Ny saksflyt", "Uten endring": None}

    # The benefit points at one change less: the next run carries that.
    (benefit,) = [
        r
        for r in site.iter_items("Gevinstanalyse og gevinstrealiseringsplan", select=["ID", "Title"])
        if r["Title"] == "Kortere saksbehandling"
    ]
    site.update_items("Gevinstanalyse og gevinstrealiseringsplan", {benefit["ID"]: {"GtChangeLookupId": [b]}})
    assert run_sync(server, pf.hub, state_store).exit_code == 0
    assert _titles(pf.hub)["Kortere saksbehandling"] == "Ny saksflyt"
    assert {t for _, t in central_state(pf.hub)["benefits"]} == {"Kortere saksbehandling", "Uten endring"}

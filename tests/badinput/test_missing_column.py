"""A project site whose source list lacks a column the template has (an older Prosjektportalen 365
site, or one provisioned before a template upgrade added an optional field): the sync reads what
the list has, names the missing column once, and copies every row."""

from __future__ import annotations

import pytest

from tests.support.sync import (
    PROJECT_LISTS,
    add_items,
    apply_lists,
    central_state,
    make_site,
    portfolio,
    run_sync,
)
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint.sites import join_hub


@pytest.mark.parametrize(
    ("title", "field", "row"),
    [
        ("Usikkerhet", "GtRiskFactor", {"Title": "Risiko uten faktor", "GtRiskProbability": 3}),
        ("Gevinstanalyse og gevinstrealiseringsplan", "GtGainsOwner", {"Title": "Gevinst uten eierkolonne"}),
        ("Måleindikatorer", "GtGainLookup", {"Title": "Indikator uten gevinstkolonne", "GtStartValue": 1}),
    ],
    ids=["risk factor", "benefit owner (a person)", "indicator's benefit (a lookup)"],
)
def test_a_missing_column_is_named_and_the_list_still_syncs(
    server, provisioned_hub, state_store, title, field, row
):
    pf = portfolio(provisioned_hub)
    site = make_site(server, "pp365-eldre")
    join_hub(site, pf.hub_id)
    # a lookup's projected column (GtGainLookup_ID) goes with it
    apply_lists(site, load_bundle().project, PROJECT_LISTS, skip_fields={field, f"{field}_ID"})
    add_items(site, "Prosjektegenskaper", [{"Title": "Eldre PP365"}])
    assert all(
        r.ok for r in pf.hub.create_items("Prosjekter", [{"Title": "Eldre PP365", "GtSiteUrl": site.url}])
    )
    add_items(site, title, [row])

    report = run_sync(server, pf.hub, state_store)

    assert report.exit_code == 0, report.to_dict()
    kind = {
        "Usikkerhet": "risks",
        "Gevinstanalyse og gevinstrealiseringsplan": "benefits",
        "Måleindikatorer": "indicators",
    }[title]
    assert {t for _, t in central_state(pf.hub)[kind]} == {row["Title"]}
    hits = [f for f in report.findings if f.field == field and f.rule == "column-missing"]
    assert len(hits) == 1, [f.to_dict() for f in report.findings]
    (hit,) = hits
    assert hit.list_title == title and site.url in hit.message and "provision upgrade" in hit.message

    # A changed item is read by its id without the column too; an unchanged run keeps the finding.
    (item,) = site.iter_items(title, select=["ID"])
    site.update_items(title, {item["ID"]: {"Title": row["Title"] + " (endret)"}})
    again = run_sync(server, pf.hub, state_store)
    assert again.exit_code == 0, again.to_dict()
    assert {t for _, t in central_state(pf.hub)[kind]} == {row["Title"] + " (endret)"}
    assert [f.field for f in again.findings if f.rule == "column-missing"] == [field]
    quiet = run_sync(server, pf.hub, state_store)
    assert [f.field for f in quiet.findings if f.rule == "column-missing"] == [field]

"""Bad list content on Prosjektportalen 365-style project sites, through the sync against the
emulator (issue 10 §5, the list-content part of the catalogue).

A site whose lists were built by hand (or by an older PP365) can hold what the template never
allows: text in a number field, a status outside the choices, text longer than the hub's field
(not yet here: the emulator, like SharePoint, refuses it at the source already).
The sync must name site, list, item and field in a finding, copy nothing invalid into the hub and
still copy every valid row.
"""

from __future__ import annotations

import pytest

from tests.support.sync import (
    PROJECT_LISTS,
    _xml_field,
    add_items,
    apply_lists,
    central_state,
    make_site,
    portfolio,
    run_sync,
)
from veiviser.schemas.template_loader import load_bundle
from veiviser.sharepoint.sites import join_hub

CASES = [
    # (field, SchemaXml of the site's own field, bad value, words the finding must hold)
    (
        "GtRiskProbability",
        '<Field Type="Text" Name="GtRiskProbability" StaticName="GtRiskProbability" DisplayName="Sannsynlighet (S)" />',
        "høy",
        ("GtRiskProbability", "høy"),
    ),
    pytest.param(
        "GtRiskStatus",
        '<Field Type="Text" Name="GtRiskStatus" StaticName="GtRiskStatus" DisplayName="Status usikkerhet" />',
        "Kanskje lukket",
        ("GtRiskStatus", "Kanskje lukket", "Identifisert"),
    ),
]


@pytest.mark.parametrize(
    ("field", "xml", "bad", "words"), CASES, ids=["text in a number field", "status outside the choices"]
)
def test_bad_list_content_is_named_and_not_copied(
    server, provisioned_hub, state_store, field, xml, bad, words
):
    pf = portfolio(provisioned_hub)
    site = make_site(server, "pp365-feil")
    join_hub(site, pf.hub_id)
    skip = {field, "GtRiskFactor"} if field in ("GtRiskProbability", "GtRiskConsequence") else {field}
    apply_lists(site, load_bundle().project, PROJECT_LISTS, skip_fields=skip)
    _xml_field(site, "Usikkerhet", xml)
    if "GtRiskFactor" in skip:  # PP365's calculated factor cannot multiply text: a plain number here
        _xml_field(
            site,
            "Usikkerhet",
            '<Field Type="Number" Name="GtRiskFactor" StaticName="GtRiskFactor" DisplayName="Risikofaktor" />',
        )
    add_items(site, "Prosjektegenskaper", [{"Title": "PP365-feil"}])
    assert all(
        r.ok for r in pf.hub.create_items("Prosjekter", [{"Title": "PP365-feil", "GtSiteUrl": site.url}])
    )
    good = {"GtRiskProbability": "2", "GtRiskConsequence": "3", "GtRiskStatus": "Identifisert"}
    add_items(
        site, "Usikkerhet", [{"Title": "Gyldig", **{field: good[field]}}, {"Title": "Ugyldig", field: bad}]
    )

    report = run_sync(server, pf.hub, state_store)

    hits = [f for f in report.findings if f.field == field and f.item_id == 2]
    assert hits, [f.to_dict() for f in report.findings]
    text = " ".join(str(v) for v in hits[0].to_dict().values())
    assert site.url in text and "Usikkerhet" in text, text
    for word in words:
        assert word[:80] in text, (word[:80], text)
    central = central_state(pf.hub)["risks"]
    assert {t for _, t in central} >= {"Gyldig"}, central  # the valid row is copied
    rows = list(pf.hub.iter_items("Porteføljeusikkerhet", select=["Title", field]))
    for row in rows:  # nothing invalid reached the hub's typed field
        assert row.get(field) in (None, "", *good.values(), 2, 3, 2.0, 3.0), row

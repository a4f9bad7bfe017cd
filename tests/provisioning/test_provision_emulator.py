"""Hub and project provisioning against the emulator with the real office365 client."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.emulator import OWNER
from veiviser.emulator.faults import FaultRule
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.apply import ProvisionError
from veiviser.provisioning.bulk import upgrade
from veiviser.provisioning.engine import ForeignSiteError, ProjectRequest, Provisioner
from veiviser.schemas.template_loader import load_template
from veiviser.sharepoint import connect
from veiviser.sharepoint.sites import create_site, wait_until_ready

ALFA = ProjectRequest(
    title="Alfa (digitalt løft)",
    alias="alfa",
    owner="eier@kommune.no",
    leader="leder@kommune.no",
    phase="Konsept",
    unit="IKT",
    start_year=2020,
    service_area="Administrasjon og IKT",
)


def _items(prov: Provisioner, url: str, title: str) -> list[dict]:
    return list(prov.client(url).iter_items(title))


def test_hub_is_created_registered_and_idempotent(server: EmulatorServer, factory, count_writes) -> None:
    prov = factory()
    first = prov.hub()
    assert first.outcome == "created"
    hub = prov.client(prov.hub_url)
    assert hub.get("Site", {"$select": "IsHubSite"})["IsHubSite"] is True
    titles = {lst["Title"] for lst in hub.get("Web/lists", {"$select": "Title"})}
    assert {"Prosjekter", "Prosjektstatus", "Driftskostnader", "Porteføljeusikkerhet"} <= titles
    server.log.reset()
    again = prov.hub()
    assert again.outcome == "up to date" and again.plan is not None and again.plan.empty
    assert count_writes() == 0


def test_project_end_to_end(prov: Provisioner, server: EmulatorServer, factory, count_writes) -> None:
    server.log.reset()
    result = prov.project(ALFA)
    assert result.outcome == "created", result
    assert server.log.totals()["http"] <= 30
    url = result.url
    site = prov.client(url)
    lists = {lst["Title"]: lst for lst in site.get("Web/lists", {"$select": "Id,Title,Hidden"})}
    for title in (
        "Usikkerhet",
        "Interessentregister",
        "Gevinstanalyse og gevinstrealiseringsplan",
        "Måleindikatorer",
        "Gevinstoppfølging",
        "Endringsanalyse",
        "Prosjektleveranser",
        "Kommunikasjonsplan",
        "Prosjektlogg",
        "Fasesjekkliste",
        "Prosjektegenskaper",
    ):
        assert title in lists, title
    assert lists["Prosjektegenskaper"]["Hidden"] is True
    root = site.get(f"Web/lists(guid'{lists['Måleindikatorer']['Id']}')/RootFolder")
    assert root["ServerRelativeUrl"].endswith("/Lists/Mleindikatorer")  # ASCII URL, Norwegian title
    fields = {f["InternalName"]: f for f in site.get("Web/lists/GetByTitle('Gevinstoppfølging')/Fields")}
    assert (
        fields["GtMeasureIndicatorLookup"]["LookupList"].strip("{}").lower()
        == lists["Måleindikatorer"]["Id"].lower()
    )
    assert "GtMeasureIndicatorLookup_GtDesiredValue" in fields
    cts = {c["Name"] for c in site.get("Web/lists/GetByTitle('Usikkerhet')/ContentTypes")}
    assert {"Risiko", "Mulighet"} <= cts
    views = {v["Title"] for v in site.get("Web/lists/GetByTitle('Usikkerhet')/Views")}
    assert {"Alle elementer", "Uakseptable risikoer"} <= views
    assert len(_items(prov, url, "Fasesjekkliste")) == 44
    props = _items(prov, url, "Prosjektegenskaper")
    assert (
        len(props) == 1 and props[0]["GtSiteId"] == result.site_id and props[0]["GtProjectPhase"] == "Konsept"
    )
    created = site.create_items(
        "Usikkerhet", [{"Title": "R1", "GtRiskProbability": 3, "GtRiskConsequence": 4}]
    )
    item = site.get(f"Web/lists/GetByTitle('Usikkerhet')/items({created[0].value['Id']})")
    assert float(item["GtRiskFactor"]) == 12
    register = _items(prov, prov.hub_url, "Prosjekter")
    assert [r["GtSiteId"] for r in register] == [result.site_id]
    assert register[0]["GtTemplateVersion"] == prov.project_template.stamp


def test_second_run_writes_nothing(prov: Provisioner, server: EmulatorServer, factory, count_writes) -> None:
    prov.project(ALFA)
    server.log.reset()
    again = prov.project(ALFA)
    assert again.outcome == "up to date"
    assert count_writes() == 0
    assert server.log.totals()["http"] <= 5


def test_plan_writes_nothing(prov: Provisioner, server: EmulatorServer, factory, count_writes) -> None:
    server.log.reset()
    planned = prov.project(ALFA, dry_run=True)
    assert planned.outcome == "planned" and planned.plan is not None
    assert planned.plan.counts()["create_list"] == 12
    assert count_writes() == 0
    prov.project(ALFA)
    server.log.reset()
    changed = ProjectRequest(**{**ALFA.__dict__, "unit": "Kultur"})
    planned = prov.project(changed, dry_run=True)
    assert [s.action for s in planned.plan.steps] == ["update_item"]  # type: ignore[union-attr]
    assert count_writes() == 0


def test_foreign_site_is_refused_unless_adopted(
    prov: Provisioner, server: EmulatorServer, factory, count_writes
) -> None:
    root = connect(server.url, prov.settings)
    create_site(root, "fremmed", "Noen andres område", OWNER)
    wait_until_ready(root, f"{server.url}/sites/fremmed", interval=0.05)
    other = prov.client(f"{server.url}/sites/fremmed")
    other.call(
        "POST", "Web/lists", {"Title": "Mine data", "BaseTemplate": 100, "__metadata": {"type": "SP.List"}}
    )
    server.log.reset()
    with pytest.raises(ForeignSiteError, match="someone else's content"):
        prov.project(ProjectRequest(title="Fremmed", alias="fremmed"))
    assert count_writes() == 0
    adopted = factory(adopt=True).project(ProjectRequest(title="Fremmed", alias="fremmed"))
    assert adopted.outcome == "updated"
    titles = {lst["Title"] for lst in other.get("Web/lists", {"$select": "Title"})}
    assert "Mine data" in titles and "Usikkerhet" in titles


def test_interrupted_apply_is_completed_without_duplicates(
    prov: Provisioner, server: EmulatorServer, factory, count_writes
) -> None:
    rule = server.faults.add(
        FaultRule(path=r"/items$", method="POST", status=500, nth=20, scope="batch-part")
    )
    with pytest.raises(ProvisionError, match="failed"):
        prov.project(ALFA)
    assert rule.fired == 1
    server.faults.clear()
    again = prov.project(ALFA)
    assert again.ok
    assert len(_items(prov, again.url, "Fasesjekkliste")) == 44
    assert len(_items(prov, again.url, "Prosjektegenskaper")) == 1
    assert len(_items(prov, prov.hub_url, "Prosjekter")) == 1
    server.log.reset()
    assert prov.project(ALFA).outcome == "up to date" and count_writes() == 0


def test_upgrade_adds_extension_field_to_every_site_and_nothing_else(
    prov: Provisioner, server: EmulatorServer, factory, count_writes, tmp_path: Path
) -> None:
    for alias in ("alfa", "beta"):
        prov.project(ProjectRequest(title=f"Prosjekt {alias}", alias=alias, leader="leder@kommune.no"))
    ext = tmp_path / "tillegg.yaml"
    ext.write_text(
        "extension: tillegg\nversion: 1.0.0\nkind: project\nlists:\n  - key: risks\n    fields:\n"
        "      - {name: GtRiskOwnerUnit, display_name: Eierenhet, type: Text}\n",
        encoding="utf-8",
    )
    newer = factory(project_template=load_template("standard", kind="project", extensions=[ext]))
    result = upgrade(newer, workers=2)
    assert result.ok and len(result.results) == 2
    for res in result.results:
        assert res.plan is not None
        template_steps = [
            (s.action, s.list, s.target)
            for s in res.plan.steps
            if s.action not in ("update_item", "stamp_item")
        ]
        assert template_steps == [("create_field", "risks", "GtRiskOwnerUnit")]
        fields = {
            f["InternalName"] for f in prov.client(res.url).get("Web/lists/GetByTitle('Usikkerhet')/Fields")
        }
        assert "GtRiskOwnerUnit" in fields
    register = _items(prov, prov.hub_url, "Prosjekter")
    assert {r["GtTemplateVersion"] for r in register} == {newer.project_template.stamp}
    server.log.reset()
    assert all(r.outcome == "up to date" for r in upgrade(newer).results) and count_writes() == 0


def test_invalid_template_fails_before_any_write(server: EmulatorServer, tmp_path: Path) -> None:
    from veiviser.cli import main

    bad = tmp_path / "feil.yaml"
    bad.write_text(
        "extension: feil\nversion: 1.0.0\nkind: project\nlists:\n  - key: risks\n    fields:\n"
        "      - {name: GtX, display_name: X, type: Tekst}\n",
        encoding="utf-8",
    )
    server.log.reset()
    env = {"VEIVISER_ACCESS_TOKEN": server.token, "VEIVISER_AUTH": "token"}
    out = CliRunner().invoke(
        main,
        [
            "provision",
            "project",
            "--hub",
            f"{server.url}/sites/portefolje",
            "--title",
            "X",
            "--owner",
            OWNER,
            "--extension",
            str(bad),
        ],
        env=env,
    )
    assert out.exit_code == 2, out.output
    assert "feil.yaml:7" in out.output and "Tekst" in out.output
    assert server.log.totals()["http"] == 0


def _extension(tmp_path: Path) -> Path:
    ext = tmp_path / "tillegg.yaml"
    ext.write_text(
        "extension: tillegg\nversion: 1.0.0\nkind: project\nlists:\n  - key: risks\n    fields:\n"
        "      - {name: GtRiskOwnerUnit, display_name: Eierenhet, type: Text}\n",
        encoding="utf-8",
    )
    return ext


def test_version_is_stamped_only_after_a_clean_apply(
    prov: Provisioner, server: EmulatorServer, factory, tmp_path: Path
) -> None:
    site_url = prov.project(ALFA).url
    old = prov.project_template.stamp
    newer = factory(
        project_template=load_template("standard", kind="project", extensions=[_extension(tmp_path)])
    )
    assert newer.project_template.stamp != old
    server.faults.add(
        FaultRule(path=r"CreateFieldAsXml", method="POST", status=500, count=1, scope="batch-part")
    )
    failed = upgrade(newer)
    assert not failed.ok and "GtRiskOwnerUnit" in (failed.results[0].error or "")
    assert "not stamped" in (failed.results[0].error or "")
    props = _items(prov, site_url, "Prosjektegenskaper")
    assert props[0]["GtTemplateVersion"] == old  # the failed version is not claimed ...
    assert _items(prov, prov.hub_url, "Prosjekter")[0]["GtTemplateVersion"] == old  # ... here either
    server.faults.clear()
    assert upgrade(newer).ok
    assert (
        _items(prov, site_url, "Prosjektegenskaper")[0]["GtTemplateVersion"] == newer.project_template.stamp
    )
    assert _items(prov, prov.hub_url, "Prosjekter")[0]["GtTemplateVersion"] == newer.project_template.stamp


def test_new_site_with_a_failed_step_carries_no_version(prov: Provisioner, server: EmulatorServer) -> None:
    server.faults.add(FaultRule(path=r"AddViewField", method="POST", status=500, count=1, scope="batch-part"))
    with pytest.raises(ProvisionError, match=r"add_view_field"):
        prov.project(ALFA)
    props = _items(prov, prov.project_url("alfa"), "Prosjektegenskaper")
    assert len(props) == 1 and not props[0].get("GtTemplateVersion")
    assert _items(prov, prov.hub_url, "Prosjekter")[0]["GtTemplateVersion"] == "0.0.0"  # claimed, not stamped
    server.faults.clear()
    assert prov.project(ALFA).ok
    assert (
        _items(prov, prov.project_url("alfa"), "Prosjektegenskaper")[0]["GtTemplateVersion"]
        == prov.project_template.stamp
    )


def _links(site, owner: str, ct_id: str) -> list[str]:
    return [x["Name"] for x in site.get(f"{owner}/ContentTypes('{ct_id}')/FieldLinks")]


def test_content_types_carry_their_field_links_in_order(
    prov: Provisioner, server: EmulatorServer, count_writes
) -> None:
    url = prov.project(ALFA).url
    site = prov.client(url)
    t = prov.project_template
    uncertainty = t.content_type("Usikkerhet")
    want = [link.name for link in uncertainty.field_links]
    assert _links(site, "Web", uncertainty.id) == want  # the template's order
    assert _links(site, "Web", t.content_type("Risiko").id) == want  # inherited
    stakeholders = "Web/lists/GetByTitle('Interessentregister')"
    list_ct = next(
        c["StringId"] for c in site.get(f"{stakeholders}/ContentTypes") if c["Name"] == "Interessent"
    )
    assert _links(site, stakeholders, list_ct) == [
        link.name for link in t.content_type("Interessent").field_links
    ]
    # A site provisioned before field links were managed: links missing on the site and list content types.
    for owner, ct_id in (("Web", t.content_type("Interessent").id), (stakeholders, list_ct)):
        for name in ("GtStakeholderActions", "GtStakeholderInfluence"):
            site.call("DELETE", f"{owner}/ContentTypes('{ct_id}')/FieldLinks/GetById('{name}')")
    planned = prov.project(ALFA, dry_run=True).plan
    assert planned is not None
    assert sorted((s.list or "site", s.detail) for s in planned.steps) == [
        ("site", "GtStakeholderActions"),
        ("site", "GtStakeholderInfluence"),
        ("stakeholders", "GtStakeholderActions"),
        ("stakeholders", "GtStakeholderInfluence"),
    ]
    assert prov.project(ALFA).outcome == "updated"
    for owner, ct_id in (("Web", t.content_type("Interessent").id), (stakeholders, list_ct)):
        assert set(_links(site, owner, ct_id)) == {
            link.name for link in t.content_type("Interessent").field_links
        }
    server.log.reset()
    assert prov.project(ALFA).outcome == "up to date" and count_writes() == 0


def test_upgrade_covers_joined_sites_missing_from_the_register(
    prov: Provisioner, server: EmulatorServer
) -> None:
    url = prov.project(ALFA).url
    hub = prov.client(prov.hub_url)
    row = _items(prov, prov.hub_url, "Prosjekter")[0]
    assert all(r.ok for r in hub.delete_items("Prosjekter", [int(row["Id"])]))
    root = connect(server.url, prov.settings)
    create_site(root, "utenfor", "Ikke i huben", OWNER)
    wait_until_ready(root, f"{server.url}/sites/utenfor", interval=0.05)
    result = upgrade(prov, sites=[url, f"{server.url}/sites/utenfor"])
    assert result.ok, [r.error for r in result.results]
    assert [r.url for r in result.results] == [url]
    assert "not in the register" in result.results[0].notes[0]
    assert any("utenfor is not joined" in n for n in result.notes)
    register = _items(prov, prov.hub_url, "Prosjekter")
    assert [(r["GtSiteUrl"], r["Title"]) for r in register] == [(url, ALFA.title)]
    assert register[0]["GtTemplateVersion"] == prov.project_template.stamp


def test_upgrade_finds_joined_sites_through_the_tenant_site_list(
    prov: Provisioner, server: EmulatorServer
) -> None:
    """No --site: a project site dropped from the register is found by its HubSiteId in the tenant's
    site list (Tenant/getSitePropertiesFromSharePointByFilters), upgraded and registered again;
    a foreign site joined to the hub is refused, never overwritten."""
    url = prov.project(ALFA).url
    hub = prov.client(prov.hub_url)
    row = _items(prov, prov.hub_url, "Prosjekter")[0]
    assert all(r.ok for r in hub.delete_items("Prosjekter", [int(row["Id"])]))
    root = connect(server.url, prov.settings)
    create_site(root, "fremmed", "Noen andres område", OWNER)
    foreign_url = f"{server.url}/sites/fremmed"
    wait_until_ready(root, foreign_url, interval=0.05)
    foreign = connect(foreign_url, prov.settings)
    foreign.call("POST", f"Site/JoinHubSite('{prov.hub_id()}')")
    lists_before = {lst["Title"] for lst in foreign.get("Web/lists", {"$select": "Title"})}

    result = upgrade(prov)

    by_url = {r.url: r for r in result.results}
    assert by_url[url].ok and "not in the register" in by_url[url].notes[0]
    assert not by_url[foreign_url].ok and "someone else's content" in (by_url[foreign_url].error or "")
    assert {lst["Title"] for lst in foreign.get("Web/lists", {"$select": "Title"})} == lists_before
    register = _items(prov, prov.hub_url, "Prosjekter")
    assert [r["GtSiteUrl"] for r in register] == [url]


def test_unknown_phase_is_refused_before_any_request(server: EmulatorServer) -> None:
    """A choice value the template does not have is an error (exit 2, nothing sent), never dropped."""
    from veiviser.cli import main

    env = {"VEIVISER_ACCESS_TOKEN": server.token, "VEIVISER_AUTH": "token", "VEIVISER_RU_PER_MINUTE": "1e9"}
    server.log.reset()
    out = CliRunner().invoke(
        main,
        [
            "provision",
            "project",
            "--hub",
            f"{server.url}/sites/portefolje",
            "--title",
            "X",
            "--owner",
            OWNER,
            "--phase",
            "Feil",
        ],
        env=env,
    )
    assert out.exit_code == 2, out.output
    assert "--phase 'Feil'" in out.output and "GtProjectPhase" in out.output and "Konsept" in out.output
    assert server.log.totals()["http"] == 0


def test_phase_is_matched_case_insensitively_and_stored_as_the_template_spells_it(prov: Provisioner) -> None:
    result = prov.project(ProjectRequest(title="Gamma", alias="gamma", phase="konsept"))
    assert result.ok, result.error
    props = _items(prov, result.url, "Prosjektegenskaper")
    assert [p["GtProjectPhase"] for p in props] == ["Konsept"]


def test_plan_for_a_new_site_reports_no_drift_for_the_libraries_that_come_with_it(
    prov: Provisioner, count_writes, server: EmulatorServer
) -> None:
    server.log.reset()
    result = prov.project(ProjectRequest(title="Delta", alias="delta"), dry_run=True)
    assert result.outcome == "planned" and result.plan is not None
    assert result.plan.drift == []
    assert any("Dokumenter" in n for n in result.plan.notes)
    assert count_writes() == 0

"""``veiviser report --hub`` end to end on the emulator with the real client: sites → sync → report;
the dataset builder (register, people, ratings, history); sites joined to the hub but not registered."""

from __future__ import annotations

import pandas as pd
from click.testing import CliRunner

from tests.support.emulator import connection_settings
from tests.support.sync import add_items, cli_env, portfolio, seed
from veiviser.cli import main
from veiviser.sharepoint.sites import ensure_user
from veiviser.sync.dataset import load_dataset
from veiviser.sync.kinds import RISK_CT_PREFIX
from veiviser.sync.options import SyncOptions
from veiviser.sync.report import EXIT_LOCK_HELD, EXIT_OK
from veiviser.sync.run import sync_portfolio


def test_report_command_on_a_synced_hub(server, provisioned_hub, state_url, tmp_path):
    """Provision (hub + two projects) → add items → ``sync run`` → ``report --hub``: three outputs."""
    from veiviser.provisioning.engine import ProjectRequest

    prov = provisioned_hub(wait_timeout=30, wait_interval=0.02)
    urls = {}
    for title, alias, unit in (
        ("Digitale politikere", "alfa", "Oppvekst"),
        ("Velferdsteknologi", "beta", "Helse"),
    ):
        res = prov.project(
            ProjectRequest(
                title=title,
                alias=alias,
                owner="eier@kommune.no",
                leader="leder@kommune.no",
                phase="Gjennomføre",
                unit=unit,
                service_area="Skole og oppvekst",
            )
        )
        assert res.ok, res.error
        urls[title] = res.url
    alpha, beta = prov.client(urls["Digitale politikere"]), prov.client(urls["Velferdsteknologi"])
    seed(alpha, 3, tag="a")
    cts = alpha.get("Web/lists/GetByTitle('Usikkerhet')/ContentTypes", {"$select": "StringId,Name"})
    risk_ct = next(c["StringId"] for c in cts if c["StringId"].upper().startswith(RISK_CT_PREFIX.upper()))
    add_items(
        alpha,
        "Usikkerhet",
        [
            {
                "Title": "Leverandøren går konkurs",
                "GtRiskProbability": 4,
                "ContentTypeId": risk_ct,
                "GtRiskConsequence": 5,
                "GtRiskStatus": "Identifisert",
            }
        ],
    )
    seed(beta, 2, tag="b")
    hub = prov.client(prov.hub_url)
    reg = {r["Title"]: r["ID"] for r in hub.iter_items("Prosjekter", select=["ID", "Title"])}
    assert all(
        r.ok
        for r in hub.update_items(
            "Prosjekter", {reg["Digitale politikere"]: {"GtItposmoInformation": 7, "GtItposmoTechnology": 3}}
        )
    )
    runner = CliRunner()
    result = runner.invoke(main, ["sync", "run", "--hub", hub.url, "--state", state_url], env=cli_env(server))
    assert result.exit_code == EXIT_OK, result.output

    out = tmp_path / "rapport"
    result = runner.invoke(
        main,
        ["report", "--hub", hub.url, "--state", state_url, "--out", str(out), "--since", "2020-01-01"],
        env=cli_env(server),
    )
    assert result.exit_code == 0, result.output
    html = (out / "portefoljerapport.html").read_text(encoding="utf-8")
    assert (
        "Digitale politikere" in html and "Velferdsteknologi" in html and "Leverandøren går konkurs" in html
    )
    assert (out / "portefoljerapport.xlsx").stat().st_size > 5000
    risks = pd.read_parquet(out / "powerbi" / "fact_risks.parquet")
    assert len(risks) == 3 + 1 + 2
    dim = (out / "powerbi" / "dim_project.csv").read_text(encoding="utf-8")
    assert "Digitale politikere" in dim and "Velferdsteknologi" in dim

    # --hub and --dataset are alternatives; neither or both is a usage error, not a traceback.
    for args in (
        ["report", "--out", str(out)],
        ["report", "--hub", hub.url, "--dataset", str(out), "--out", str(out)],
    ):
        bad = runner.invoke(main, args, env=cli_env(server))
        assert bad.exit_code == 2 and "exactly one of --hub" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(
        main,
        [
            "report",
            "--hub",
            f"{server.url}/sites/finnesikke",
            "--state",
            state_url,
            "--out",
            str(tmp_path / "x"),
        ],
        env=cli_env(server),
    )
    assert missing.exit_code != 0 and "finnesikke" in missing.output and "Traceback" not in missing.output


def test_load_dataset_projects_people_ratings_and_joined_sites(server, provisioned_hub, state_store):
    pf = portfolio(provisioned_hub)
    hub = pf.hub
    registered = pf.project("reg", title="Registrert", phase="Planlegge")
    seed(registered, 2)
    # Joined to the hub, but the register does not know it: synced all the same, and reported.
    loose = pf.joined_only(server, "loes", title="Bare tilknyttet")
    seed(loose, 1, tag="x")
    manager = ensure_user(hub, "leder@kommune.no")
    reg_id = next(r["ID"] for r in hub.iter_items("Prosjekter", select=["ID"]))
    assert all(
        r.ok
        for r in hub.update_items(
            "Prosjekter", {reg_id: {"GtProjectManagerId": manager, "GtProjectUnit": "Helse"}}
        )
    )
    report = sync_portfolio(
        hub.url, settings=connection_settings(server), state=state_store, options=SyncOptions(workers=2)
    )
    assert report.exit_code == EXIT_OK, report.to_dict()
    assert [s.url for s in report.joined_unregistered] == [loose.url], report.notes
    data = report.to_dict()
    assert data["joined_not_in_register"] == [loose.url]
    assert next(s for s in data["sites"] if s["url"] == loose.url)["source"] == "joined"

    # The first run added the joined site to the register; the next one finds it there.
    titles = sorted(r["Title"] for r in hub.iter_items("Prosjekter", select=["Title"]))
    assert titles == ["Bare tilknyttet", "Registrert"]
    again = sync_portfolio(
        hub.url, settings=connection_settings(server), state=state_store, options=SyncOptions(workers=2)
    )
    assert again.exit_code == EXIT_OK and again.joined_unregistered == []

    dataset = load_dataset(state_store, hub)
    projects = dataset.projects.set_index("project_title")
    assert projects.loc["Registrert", "GtProjectPhase"] == "Planlegge"
    assert projects.loc["Registrert", "GtProjectUnit"] == "Helse"
    assert projects.loc["Registrert", "GtProjectManager"]["EMail"] == "leder@kommune.no"
    assert projects.loc["Registrert", "GtSiteUrl"] == registered.url
    assert set(dataset.risks["project_title"]) == {"Registrert", "Bare tilknyttet"}
    assert len(dataset.risks) == 2 + 1 and len(dataset.measurements) == 2 + 2
    assert set(dataset.history["kind"]) >= {"risks", "measurements"}

    # as_of before the first sync: nothing had been synced yet.
    past = load_dataset(state_store, hub, as_of="2001-01-01")
    assert past.risks.empty and str(past.as_of.date()) == "2001-01-01"


def test_cli_exit_code_when_another_run_holds_the_lock(server, provisioned_hub, state_store, state_url):
    hub = portfolio(provisioned_hub).hub
    with state_store.acquire_lock(owner="nattjobb:1"):
        result = CliRunner().invoke(
            main, ["sync", "run", "--hub", hub.url, "--state", state_url], env=cli_env(server)
        )
    assert result.exit_code == EXIT_LOCK_HELD == 75, result.output
    assert "nattjobb:1" in result.output and "Traceback" not in result.output
    help_text = CliRunner().invoke(main, ["sync", "run", "--help"]).output
    assert "75" in help_text and "lock" in help_text

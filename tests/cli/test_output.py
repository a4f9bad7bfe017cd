"""``--output table|json|csv`` on the commands that list things: JSON is exactly the dict the
Python API returns, CSV has a header and one row per thing, and the old ``--format`` still works."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tests.support.emulator import OWNER
from tests.support.sync import cli_env
from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer
from veiviser.portfolio.console import itposmo_data, itposmo_from_file, prioritise_from_file, priority_data
from veiviser.provisioning.bulk import provision_bulk
from veiviser.provisioning.engine import ProjectRequest, Provisioner
from veiviser.sync.commands import sync_status

RATINGS = "prosjekt;I;T;P;O1;S;M;O2\nA;1;2;3;4;5;6;7\nB;1;1;1;1;1;1;1\n"
CRITERIA = "project;Risiko;Kvalitet\nBest;0;5\nHalf;5;5\n"
BULK = "Søknader for 2018-2021;Enhet;Drift 2018;Drift 2019;Drift 2020;Drift 2021;Kommentar\n" + (
    "Pågående prosjekter;;;;;;\nDigitale politikere;IT-tjenesten;474,6;419,6;379,6;369,6;\n"
    "Ny skoleportal;Oppvekst;10;20;30;40;\n"
)


def _plain(data: Any) -> Any:
    """What the library's dict looks like after a JSON round trip (tuples become lists, …)."""
    return json.loads(json.dumps(data, ensure_ascii=False, default=str))


def _cli(args: list[str], env: dict[str, str] | None = None, code: int = 0) -> str:
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == code, result.output
    return result.stdout


def test_itposmo_json_is_the_library_dict_and_csv_has_a_row_per_project(tmp_path: Path) -> None:
    f = tmp_path / "it.csv"
    f.write_text(RATINGS, encoding="utf-8")
    assert json.loads(_cli(["itposmo", str(f), "--output", "json"])) == _plain(
        itposmo_data(itposmo_from_file(f))
    )
    assert json.loads(_cli(["itposmo", str(f), "--format", "json"])) == _plain(
        itposmo_data(itposmo_from_file(f))
    )
    rows = list(csv.DictReader(io.StringIO(_cli(["itposmo", str(f), "--output", "csv"]))))
    assert [r["project"] for r in rows] == ["A", "B"]


def test_prioritise_json_is_the_library_dict(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text(CRITERIA, encoding="utf-8")
    out = json.loads(_cli(["prioritise", str(f), "--output", "json"]))
    assert out == _plain(priority_data(prioritise_from_file(f)))
    assert [
        r["project"] for r in csv.DictReader(io.StringIO(_cli(["prioritise", str(f), "--output", "csv"])))
    ]


def test_sync_status_json_csv_and_the_old_format_names(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], state_url: str
) -> None:
    prov = provisioned_hub()
    prov.project(ProjectRequest(title="Alfa", alias="alfa"))
    env = cli_env(server)
    out = _cli(["sync", "run", "--hub", prov.hub_url, "--state", state_url], env)
    assert re.search(r"pacing: \d+ RU/min learned from the tenant", out)  # the run states its learned budget

    as_json = json.loads(_cli(["sync", "status", "--state", state_url, "--output", "json"], env))
    assert as_json == _plain(sync_status(state_url))
    assert json.loads(_cli(["sync", "status", "--state", state_url, "--format", "json"], env)) == as_json

    rows = list(
        csv.DictReader(io.StringIO(_cli(["sync", "status", "--state", state_url, "--output", "csv"], env)))
    )
    assert [r["site_url"] for r in rows] == [f"{server.url}/sites/alfa"] and rows[0]["last_status"] == "ok"

    for args in (["--format", "text"], ["--output", "table"], []):
        table = _cli(["sync", "status", "--state", state_url, *args], env)
        assert "Last runs" in table and f"{server.url}/sites/alfa" in table


def test_provision_plan_json_is_the_site_result_of_the_library(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner]
) -> None:
    prov = provisioned_hub()
    env = cli_env(server) | {"VEIVISER_RU_PER_MINUTE": "1e9"}
    args = ["provision", "plan", "project", "--hub", prov.hub_url, "--title", "Beta", "--owner", OWNER]
    out = json.loads(_cli([*args, "--output", "json"], env))
    library = prov.project(ProjectRequest(title="Beta", alias="beta", owner=OWNER), dry_run=True).to_dict()
    assert out == _plain(library) and out["outcome"] == "planned"

    steps = list(csv.DictReader(io.StringIO(_cli([*args, "--output", "csv"], env))))
    assert len(steps) == len(library["plan"]["steps"]) and steps[0]["site"] == f"{server.url}/sites/beta"
    assert "/sites/beta — Standardmal" in _cli(args, env)  # the table names the site and its template

    hub_plan = json.loads(_cli(["provision", "plan", "hub", "--url", prov.hub_url, "--output", "json"], env))
    assert hub_plan["outcome"] == "planned" and hub_plan["plan"]["summary"] == "up to date"


def test_provision_plan_bulk_json_is_the_bulk_result_of_the_library(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], tmp_path: Path
) -> None:
    prov = provisioned_hub()
    f = tmp_path / "portefolje.csv"
    f.write_text(BULK, encoding="utf-8")
    env = cli_env(server) | {"VEIVISER_RU_PER_MINUTE": "1e6"}  # the pace the library provisioner is given
    out = json.loads(
        _cli(["provision", "plan", "bulk", str(f), "--hub", prov.hub_url, "--output", "json"], env)
    )
    library = provision_bulk(prov, f, dry_run=True).to_dict()
    assert out == _plain(library)
    assert [r["outcome"] for r in out["results"]] == ["planned", "planned"]


@pytest.mark.parametrize("command", [["itposmo"], ["prioritise"], ["sync", "status"], ["doctor"]])
def test_every_listing_command_offers_the_three_outputs(command: list[str]) -> None:
    help_text = _cli([*command, "--help"])
    assert "--output, --format [table|json|csv|text]" in help_text


def test_sync_run_names_the_budget_the_tenant_announces(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], state_url: str
) -> None:
    """Past 80 % of its budget the tenant sends ``RateLimit-Limit``; the summary puts the learned
    pace beside it (docs/sharepoint.md, "Pacing")."""
    prov = provisioned_hub()
    prov.project(ProjectRequest(title="Alfa", alias="alfa"))
    env = cli_env(server)
    args = ["sync", "run", "--hub", prov.hub_url, "--state", state_url]
    server.set_throttle(10**9)  # counts only
    assert server.meter is not None
    out = _cli(args, env)
    assert "it announces" not in out  # nothing announced far under the budget
    first_ru = server.meter.totals()[0]
    prov.project(ProjectRequest(title="Beta", alias="beta"))
    budget = first_ru + 5  # Beta's first read and Alfa's unchanged one pass 80 % of it, not 100 %
    server.set_throttle(budget)
    # The product's default start; the pace never drops under a tenth of it, so against this tiny
    # budget the percentage is large: the line is about naming the budget.
    out = _cli(args, {**env, "VEIVISER_RU_PER_MINUTE": "1250"})
    assert server.meter.totals()[2] == 0, server.meter.totals()
    assert re.search(
        rf"pacing: \d+ RU/min learned from the tenant \(\d+% of the {budget} RU/min it announces\)", out
    )

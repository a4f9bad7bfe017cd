"""People the tenant does not know, and what a command refuses before its first request.

docs/provisioning.md, "People" and "Preflights"; the emulator's tenant directory refuses unknown
people as SharePoint Online does (docs/emulator.md, "Tenant directory").
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.emulator import OWNER, connection_settings
from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.bulk import provision_bulk, upgrade
from veiviser.provisioning.engine import ProjectRequest, Provisioner, RequestError
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import UnknownUserError, connect
from veiviser.sharepoint.auth import is_app_only
from veiviser.sharepoint.sites import site_status

UNKNOWN = "ukjent.person@kommune.no"
LEADER = "leder@kommune.no"


def _exists(server: EmulatorServer, prov: Provisioner, alias: str) -> bool:
    root = connect(server.url, connection_settings(server))
    return site_status(root, prov.project_url(alias)).ready


def _ensure_user_parts(server: EmulatorServer) -> int:
    return sum(
        n
        for (kind, _, endpoint), n in server.log.counts().items()
        if "ensureuser" in endpoint and kind == "batch-part"
    )


def _batches(server: EmulatorServer) -> int:
    return sum(n for (kind, _, endpoint), n in server.log.counts().items() if kind == "batch")


# --- the gateway ----------------------------------------------------------------------------------


def test_ensure_users_batches_and_names_the_unknown(server: EmulatorServer) -> None:
    site = connect(server.url, connection_settings(server))
    server.log.reset()
    ids, unknown = site.ensure_users([OWNER, LEADER, UNKNOWN, OWNER.upper()])
    assert set(ids) == {OWNER, LEADER} and all(isinstance(i, int) for i in ids.values())
    assert list(unknown) == [UNKNOWN]
    assert str(unknown[UNKNOWN]).startswith(f"[site {server.url}] {UNKNOWN} is not a user in the tenant")
    assert _batches(server) == 1 and _ensure_user_parts(server) == 3
    server.log.reset()
    assert site.ensure_users([LEADER])[0] == {LEADER: ids[LEADER]}  # cached: no request
    assert server.log.totals()["http"] == 0
    with pytest.raises(UnknownUserError, match=f"{UNKNOWN} is not a user in the tenant"):
        site.ensure_user(UNKNOWN)


# --- provision project ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("owner", "leader", "said"),
    [(UNKNOWN, LEADER, f"--owner {UNKNOWN}"), (OWNER, UNKNOWN, f"--leader {UNKNOWN}")],
)
def test_an_unknown_person_stops_the_project_before_anything_is_created(
    prov: Provisioner, server: EmulatorServer, owner: str, leader: str, said: str
) -> None:
    with pytest.raises(RequestError, match=f"project 'Ukjent': {said} is not a user in the tenant"):
        prov.project(ProjectRequest(title="Ukjent", alias="ukjent", owner=owner, leader=leader))
    assert not _exists(server, prov, "ukjent")
    hub = prov.client(prov.hub_url)
    assert list(hub.iter_items("Prosjekter")) == []


def test_a_new_unknown_leader_on_an_existing_project_writes_nothing(
    prov: Provisioner, server: EmulatorServer, count_writes
) -> None:
    base = ProjectRequest(title="Alfa", alias="alfa", owner=OWNER, leader=LEADER)
    assert prov.project(base).outcome == "created"
    server.log.reset()
    assert prov.project(base).outcome == "up to date"
    assert count_writes() == 0 and _ensure_user_parts(server) == 0  # a no-op re-run checks nobody
    server.log.reset()
    with pytest.raises(RequestError, match=f"--leader {UNKNOWN}"):
        prov.project(ProjectRequest(title="Alfa", alias="alfa", owner=OWNER, leader=UNKNOWN))
    assert count_writes() == _ensure_user_parts(server)  # only the check itself


# --- provision bulk -------------------------------------------------------------------------------


def test_bulk_checks_every_person_of_the_file_in_one_batch_and_goes_on(
    prov: Provisioner, server: EmulatorServer, tmp_path: Path
) -> None:
    file = tmp_path / "prosjekter.csv"
    file.write_text(
        "Tittel;Prosjekteier;Prosjektleder\n"
        f"Alfa;{OWNER};{UNKNOWN}\n"
        f"Beta;ukjent.eier@kommune.no;{LEADER}\n"
        f"Gamma;{OWNER};{LEADER}\n"
        f"Delta;{OWNER};{LEADER}\n",
        encoding="utf-8",
    )
    server.log.reset()
    result = provision_bulk(prov, file, workers=2)
    by_title = {r.title: r for r in result.results}
    assert by_title["Alfa"].outcome == "invalid"
    assert by_title["Alfa"].error == (
        f"{file}:2: leader {UNKNOWN} is not a user in the tenant; nothing was created for this row"
    )
    assert by_title["Beta"].error is not None and by_title["Beta"].error.startswith(
        f"{file}:3: owner ukjent.eier@kommune.no is not a user in the tenant"
    )
    assert by_title["Gamma"].outcome == by_title["Delta"].outcome == "created"
    assert not result.ok and result.counts() == {"invalid": 2, "created": 2}
    assert not _exists(server, prov, "alfa") and not _exists(server, prov, "beta")
    assert _ensure_user_parts(server) == 4  # four distinct people, each asked once, on the hub, in one batch
    assert result.learned_ru_per_minute is not None


# --- preflights -----------------------------------------------------------------------------------


def _cli(server: EmulatorServer, *args: str, admin: bool = True) -> tuple[int, str]:
    env = {
        "VEIVISER_ACCESS_TOKEN": server.token,
        "VEIVISER_AUTH": "token",
        "VEIVISER_RU_PER_MINUTE": "1000000",
    }
    env["VEIVISER_ADMIN_URL"] = server.url if admin else ""
    out = CliRunner().invoke(main, list(args), env=env)
    return out.exit_code, out.output


def test_hub_and_project_without_owner_are_refused_before_the_first_request(server: EmulatorServer) -> None:
    hub = f"{server.url}/sites/portefolje"
    server.log.reset()
    code, output = _cli(server, "provision", "hub", "--url", hub)
    assert code == 2 and "--owner is needed" in output and "nothing was sent" in output
    code, output = _cli(server, "provision", "project", "--hub", hub, "--title", "Alfa")
    assert code == 2 and "--owner is needed" in output
    assert server.log.totals()["http"] == 0
    code, output = _cli(server, "provision", "plan", "hub", "--url", hub)  # a plan creates nothing
    assert code == 0, output


def test_bulk_without_owner_is_refused_once_naming_the_rows(
    prov: Provisioner, server: EmulatorServer, tmp_path: Path
) -> None:
    file = tmp_path / "prosjekter.csv"
    file.write_text(f"Tittel;Prosjekteier\nAlfa;\nBeta;{OWNER}\nGamma;\n", encoding="utf-8")
    server.log.reset()
    code, output = _cli(server, "provision", "bulk", str(file), "--hub", prov.hub_url)
    assert code == 2, output
    assert output.count("--owner is needed") == 1
    assert f"{file}:2" in output and f"{file}:4" in output and f"{file}:3" not in output
    assert server.log.totals()["http"] == 0


def test_upgrade_without_admin_url_says_what_it_skips_before_asking(
    prov: Provisioner, server: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    prov.project(ProjectRequest(title="Alfa", alias="alfa", owner=OWNER))
    prov.settings = connection_settings(server, admin_url=None)
    server.log.reset()
    result = upgrade(prov)
    assert result.ok and [r.outcome for r in result.results] == ["up to date"]
    assert any("VEIVISER_ADMIN_URL is not set" in n for n in result.notes)
    assert not any("getsitepropertiesfromsharepointbyfilters" in e for (_, _, e) in server.log.counts())


def _jwt(claims: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part(claims)}.c2ln"


def test_which_tokens_are_app_only() -> None:
    def token(value: str) -> ConnectionSettings:
        return ConnectionSettings(auth="token", access_token=value)  # type: ignore[arg-type]

    assert is_app_only(token("opaque-emulator-token"))
    assert is_app_only(token(_jwt({"roles": ["Sites.FullControl.All"], "idtyp": "app"})))
    assert not is_app_only(token(_jwt({"scp": "AllSites.FullControl", "upn": "a@kommune.no"})))
    assert not is_app_only(
        ConnectionSettings(auth="device-code", tenant_id="t", client_id="c")  # type: ignore[arg-type]
    )

"""``veiviser doctor`` against the emulator with the real client: a ready hub passes every check;
a refused token, a missing hub, an unusable state store and a used-up RU budget each fail their
check with a fix, and the CLI exits 1."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from tests.support.emulator import writes
from tests.support.sync import cli_env
from veiviser.cli import main
from veiviser.doctor import DoctorReport, run_doctor
from veiviser.emulator.server import EmulatorServer
from veiviser.emulator.throttle import ResourceMeter
from veiviser.provisioning.engine import Provisioner
from veiviser.schemas.catalog import catalogue
from veiviser.schemas.names import Kind


def _by_name(report: DoctorReport) -> dict[str, tuple[bool, str, str]]:
    return {c.name: (c.ok, c.detail, c.fix) for c in report.checks}


def _env(server: EmulatorServer, monkeypatch, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = cli_env(server) | {"VEIVISER_STATE_URL": f"sqlite:///{tmp_path / 'state.sqlite'}"} | extra
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_a_ready_hub_passes_every_check_and_leaves_the_register_as_it_was(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], monkeypatch, tmp_path: Path
) -> None:
    prov = provisioned_hub()
    _env(server, monkeypatch, tmp_path)
    register = catalogue().central(Kind.PROJECTS).title
    before = list(prov.client(prov.hub_url).iter_items(register))
    server.log.reset()

    report = run_doctor(prov.hub_url)

    checks = _by_name(report)
    assert report.ok, report.to_dict()
    assert list(checks) == [
        "config file",
        "settings",
        "token",
        "hub",
        "hub registration",
        "hub lists: read",
        "hub lists: write",
        "tenant site list",
        "RU budget",
        "state store",
    ]
    assert writes(server) == 2  # the write check: one item created, the same item deleted
    assert list(prov.client(prov.hub_url).iter_items(register)) == before
    assert "Portefølje" in checks["hub"][1] and "is a hub site" in checks["hub registration"][1]


def test_cli_prints_one_line_per_check_and_json_is_the_library_dict(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], monkeypatch, tmp_path: Path
) -> None:
    prov = provisioned_hub()
    env = _env(server, monkeypatch, tmp_path)
    runner = CliRunner()

    table = runner.invoke(main, ["doctor", "--hub", prov.hub_url], env=env)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert sum(line.startswith("✓ ") for line in lines) == 10 and "✗" not in table.output
    assert lines[-1] == "10 of 10 checks passed."

    out = runner.invoke(main, ["doctor", "--hub", prov.hub_url, "--output", "json"], env=env)
    library = run_doctor(prov.hub_url).to_dict()
    data = json.loads(out.output)
    assert [c["name"] for c in data["checks"]] == [c["name"] for c in library["checks"]]
    assert data.keys() == library.keys() and data["ok"] is True

    csv_out = runner.invoke(main, ["doctor", "--hub", prov.hub_url, "--output", "csv"], env=env)
    assert csv_out.output.splitlines()[0] == "name,ok,detail,fix" and len(csv_out.output.splitlines()) == 11


def test_a_refused_token_fails_with_the_fix_and_exit_1(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], monkeypatch, tmp_path: Path
) -> None:
    prov = provisioned_hub()
    env = _env(server, monkeypatch, tmp_path, VEIVISER_ACCESS_TOKEN="not-the-emulators-token")

    checks = _by_name(run_doctor(prov.hub_url))
    ok, detail, fix = checks["hub"]
    assert not ok and "refused" in detail and "401" in detail and "VEIVISER_ACCESS_TOKEN" in fix
    assert checks["hub lists: write"] == (False, "not checked: hub", "Fix the hub first.")
    assert checks["state store"][0]  # the checks that need no SharePoint still run

    result = CliRunner().invoke(main, ["doctor", "--hub", prov.hub_url], env=env)
    assert result.exit_code == 1
    assert "✗ hub: " in result.output and "    fix: The token was refused" in result.output
    assert "not-the-emulators-token" not in result.output  # never a secret in the output


def test_a_hub_that_does_not_exist(server: EmulatorServer, monkeypatch, tmp_path: Path) -> None:
    _env(server, monkeypatch, tmp_path)
    report = run_doctor(f"{server.url}/sites/finnesikke")
    ok, detail, fix = _by_name(report)["hub"]
    assert not report.ok and not ok
    assert detail.endswith("/sites/finnesikke does not exist") and "veiviser provision hub" in fix


def test_a_site_that_is_not_a_hub_and_a_missing_admin_url(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], monkeypatch, tmp_path: Path
) -> None:
    from veiviser.provisioning.engine import ProjectRequest

    prov = provisioned_hub()
    project = prov.project(ProjectRequest(title="Ikke hub", alias="ikkehub"))
    _env(server, monkeypatch, tmp_path)
    monkeypatch.delenv("VEIVISER_ADMIN_URL")
    checks = _by_name(run_doctor(project.url))
    assert (
        checks["hub registration"][0] is False and "veiviser provision hub" in checks["hub registration"][2]
    )
    assert checks["tenant site list"][0] is False and "admin_url" in checks["tenant site list"][2]


def test_a_state_url_that_cannot_be_opened(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], monkeypatch, tmp_path: Path
) -> None:
    prov = provisioned_hub()
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    _env(server, monkeypatch, tmp_path, VEIVISER_STATE_URL=f"sqlite:///{blocker / 'state.sqlite'}")
    checks = _by_name(run_doctor(prov.hub_url))
    ok, detail, fix = checks["state store"]
    assert not ok and "cannot open" in detail and "state_url" in fix and detail.startswith("sqlite:///")
    assert all(ok for name, (ok, _, _) in checks.items() if name != "state store")


def test_the_rate_limit_headers_are_reported(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], monkeypatch, tmp_path: Path
) -> None:
    prov = provisioned_hub()
    _env(server, monkeypatch, tmp_path)
    server.meter = ResourceMeter(1000)
    server.meter.charge(900)  # 90 % used: SharePoint sends the RateLimit-* headers from 80 %
    report = run_doctor(prov.hub_url)
    ok, detail, _ = _by_name(report)["RU budget"]
    assert ok and "RateLimit-Limit 1000" in detail
    assert int(report.rate_limit["RateLimit-Remaining"]) < 100


def test_incomplete_settings_skip_the_remote_checks(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VEIVISER_AUTH", "certificate")
    monkeypatch.setenv("VEIVISER_STATE_URL", f"sqlite:///{tmp_path / 'state.sqlite'}")
    report = run_doctor("https://contoso.sharepoint.com/sites/portefolje")
    checks = _by_name(report)
    ok, detail, fix = checks["settings"]
    assert not ok and "VEIVISER_TENANT_ID" in detail and "VEIVISER_" in fix
    assert checks["token"] == (
        False,
        "not checked: connection settings",
        "Fix the connection settings first.",
    )
    assert checks["state store"][0]


def _certificate_env(monkeypatch, tmp_path: Path, key: Path) -> None:
    for name, value in {
        "VEIVISER_AUTH": "certificate",
        "VEIVISER_TENANT_ID": "00000000-0000-0000-0000-000000000001",
        "VEIVISER_CLIENT_ID": "00000000-0000-0000-0000-000000000002",
        "VEIVISER_CERT_PATH": str(key),
        "VEIVISER_CERT_THUMBPRINT": "AB" * 20,
        "VEIVISER_STATE_URL": f"sqlite:///{tmp_path / 'state.sqlite'}",
    }.items():
        monkeypatch.setenv(name, value)


def test_a_certificate_key_that_cannot_be_read(monkeypatch, tmp_path: Path) -> None:
    _certificate_env(monkeypatch, tmp_path, tmp_path / "mangler.pem")
    checks = _by_name(run_doctor("https://contoso.sharepoint.com/sites/portefolje"))
    ok, detail, fix = checks["token"]
    assert not ok and "mangler.pem" in detail and "thumbprint" in fix
    assert checks["hub"] == (False, "not checked: token", "Fix the token first.")


def test_an_unreachable_sign_in_service_says_so(monkeypatch, tmp_path: Path) -> None:
    """The network error MSAL meets (a unit: the provider is replaced, SharePoint is not involved)."""
    import veiviser.doctor as doctor

    def unreachable(settings, url):
        def provide():
            raise ConnectionError("Failed to resolve 'login.microsoftonline.com'")

        return provide

    _certificate_env(monkeypatch, tmp_path, tmp_path / "key.pem")
    monkeypatch.setattr(doctor, "token_provider", unreachable)
    ok, detail, fix = _by_name(run_doctor("https://contoso.sharepoint.com/sites/portefolje"))["token"]
    assert not ok and "cannot reach the sign-in service" in detail and "proxy" in fix


def test_every_hub_of_the_profile_is_checked(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], isolated: Path, monkeypatch
) -> None:
    first = provisioned_hub()
    second = f"{server.url}/sites/finnesikke"
    (isolated / "veiviser.toml").write_text(
        f'[profiles.to]\nhubs = ["{first.hub_url}", "{second}"]\n', encoding="utf-8"
    )
    _env(server, monkeypatch, isolated)
    checks = _by_name(run_doctor(profile="to"))
    assert checks[f"hub lists: write [{first.hub_url}]"][0] is True
    assert checks[f"hub [{second}]"][0] is False and "does not exist" in checks[f"hub [{second}]"][1]
    assert checks["state store"][0] is True


def test_doctor_warns_about_a_secret_in_the_config_file(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], isolated: Path, monkeypatch
) -> None:
    prov = provisioned_hub()
    env = _env(server, monkeypatch, isolated)
    (isolated / "veiviser.toml").write_text(
        f'[profiles.default]\nhub = "{prov.hub_url}"\naccess_token = "{server.token}"\n', encoding="utf-8"
    )
    report = run_doctor()
    assert report.ok and len(report.warnings) == 1 and "veiviser.toml:3" in report.warnings[0]
    result = CliRunner().invoke(main, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    assert "! " in result.output and "a secret (access_token)" in result.output
    assert server.token not in result.output


def test_a_state_url_password_is_never_shown(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VEIVISER_STATE_URL", "postgresql://veiviser:hemmelig@127.0.0.1:1/veiviser")
    report = run_doctor()
    ok, detail, _ = _by_name(report)["state store"]
    assert not ok and detail.startswith("postgresql://veiviser:***@127.0.0.1:1/veiviser: cannot open")
    assert "hemmelig" not in json.dumps(report.to_dict())

"""The config file: named profiles, the environment overriding them, secrets refused, errors with
file and line — and the commands taking the hub, owner and state from the profile."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.support.emulator import OWNER
from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import Provisioner
from veiviser.schemas.settings import ConfigError, load_profile

CONFIG = """\
[profiles.default]
hub = "https://contoso.sharepoint.com/sites/portefolje"
admin_url = "https://contoso-admin.sharepoint.com/"
auth = "certificate"
tenant_id = "00000000-0000-0000-0000-000000000001"
client_id = "00000000-0000-0000-0000-000000000002"
cert_path = "/etc/veiviser/app.pem"
cert_thumbprint = "ABCDEF"
state_url = "sqlite:///state.sqlite"
workers = 6
ru_per_minute = 2500
org = "Trondheim kommune"

[profiles.to-huber]
hubs = ["https://contoso.sharepoint.com/sites/a", "https://contoso.sharepoint.com/sites/b/"]
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_profile_from_the_working_directory(isolated: Path) -> None:
    _write(isolated / "veiviser.toml", CONFIG)
    loaded = load_profile()
    assert loaded.name == "default" and loaded.file == isolated / "veiviser.toml"
    assert loaded.available == ["default", "to-huber"] and loaded.warnings == []
    p = loaded.profile
    assert p.hub_urls == ["https://contoso.sharepoint.com/sites/portefolje"]
    assert (p.workers, p.ru_per_minute, p.state_url) == (6, 2500, "sqlite:///state.sqlite")
    settings = p.connection_settings()
    assert settings.auth == "certificate" and settings.admin_url == "https://contoso-admin.sharepoint.com"
    assert settings.org == "Trondheim kommune" and settings.ru_per_minute == 2500


def test_several_hubs_and_the_xdg_location(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(isolated / "config" / "veiviser" / "veiviser.toml", CONFIG)
    assert load_profile("to-huber").profile.hub_urls == [
        "https://contoso.sharepoint.com/sites/a",
        "https://contoso.sharepoint.com/sites/b",
    ]
    monkeypatch.setenv("VEIVISER_PROFILE", "to-huber")
    assert load_profile().name == "to-huber"


def test_the_environment_overrides_the_file(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write(isolated / "veiviser.toml", CONFIG)
    monkeypatch.setenv("VEIVISER_WORKERS", "2")
    monkeypatch.setenv("VEIVISER_ADMIN_URL", "https://other-admin.sharepoint.com")
    monkeypatch.setenv("VEIVISER_CERT_PASSPHRASE", "hemmelig")
    p = load_profile().profile
    assert p.workers == 2
    settings = p.connection_settings()
    assert settings.admin_url == "https://other-admin.sharepoint.com"
    assert settings.cert_passphrase is not None and settings.cert_passphrase.get_secret_value() == "hemmelig"


def test_a_secret_in_the_file_is_ignored_with_a_warning_that_names_the_line(isolated: Path) -> None:
    _write(
        isolated / "veiviser.toml", '[profiles.default]\nhub = "https://x/sites/a"\naccess_token = "s3cr3t"\n'
    )
    loaded = load_profile()
    assert len(loaded.warnings) == 1
    warning = loaded.warnings[0]
    assert "veiviser.toml:3" in warning and "VEIVISER_ACCESS_TOKEN" in warning and "s3cr3t" not in warning
    assert "access_token" not in loaded.profile.model_dump()


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ('[profiles.default]\nhub = "x"\nhubb = "y"\n', None, ["veiviser.toml:3", "hubb", "unknown key"]),
        ("[profiles.default]\nworkers = 0\n", None, ["veiviser.toml:2", "workers"]),
        ("[profiles.default]\nhub = \n", None, ["not valid TOML", "line 2"]),
        ('[profiles.prod]\nhub = "x"\n', "test", ["no profile 'test'", "prod"]),
    ],
)
def test_bad_config_files_say_where(isolated: Path, text: str, name: str | None, expected: list[str]) -> None:
    _write(isolated / "veiviser.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_profile(name)
    assert all(part in str(caught.value) for part in expected), str(caught.value)
    assert caught.value.exit_code == 2


def test_a_named_profile_without_a_config_file(isolated: Path) -> None:
    with pytest.raises(ConfigError, match="no config file"):
        load_profile("prod")
    assert load_profile().profile.hub_urls == []  # no file and no name: the environment alone


def test_the_cli_refuses_a_broken_profile_with_exit_2(isolated: Path) -> None:
    _write(isolated / "veiviser.toml", '[profiles.default]\nhubb = "x"\n')
    result = CliRunner().invoke(main, ["sync", "status"])
    assert result.exit_code == 2
    assert "veiviser.toml:2" in result.output and "Traceback" not in result.output


def test_a_retired_variable_is_named_with_what_replaced_it(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VEIVISER_RU_COST_PER_REQUEST", "3")
    (warning,) = load_profile().warnings  # no config file: the environment alone
    assert "VEIVISER_RU_COST_PER_REQUEST" in warning and "no longer used" in warning
    _write(isolated / "veiviser.toml", CONFIG)
    assert load_profile().warnings == [warning]
    monkeypatch.setenv("VEIVISER_STATE_URL", f"sqlite:///{isolated / 's.sqlite'}")
    result = CliRunner().invoke(main, ["sync", "status"])  # every command that reads the profile
    assert "Warning: VEIVISER_RU_COST_PER_REQUEST is set but no longer used" in result.output
    assert "Traceback" not in result.output


def test_commands_take_hub_owner_and_state_from_the_profile(
    server: EmulatorServer, provisioned_hub: Callable[..., Provisioner], isolated: Path
) -> None:
    prov = provisioned_hub()
    state = isolated / "state.sqlite"
    _write(
        isolated / "veiviser.toml",
        f'[profiles.emulator]\nhub = "{prov.hub_url}"\nadmin_url = "{server.url}"\nauth = "token"\n'
        f'owner = "{OWNER}"\nstate_url = "sqlite:///{state}"\nworkers = 2\nru_per_minute = 1e9\n',
    )
    env = {"VEIVISER_ACCESS_TOKEN": server.token}
    runner = CliRunner()

    project = runner.invoke(
        main, ["--profile", "emulator", "provision", "project", "--title", "Fra profilen"], env=env
    )
    assert project.exit_code == 0, project.output
    assert f"{server.url}/sites/fra-profilen: created" in project.output.replace("\n", "")

    sync = runner.invoke(main, ["--profile", "emulator", "sync", "run"], env=env)
    assert sync.exit_code == 0, sync.output
    assert "1 sites, 0 failed" in sync.output and state.exists()

    status = runner.invoke(main, ["--profile", "emulator", "sync", "status", "--output", "json"], env=env)
    assert [s["site_url"] for s in json.loads(status.output)["sites"]] == [f"{server.url}/sites/fra-profilen"]

    doctor = runner.invoke(main, ["doctor", "--profile", "emulator"], env=env)
    assert doctor.exit_code == 0, doctor.output

    report = runner.invoke(main, ["--profile", "emulator", "report", "--out", "rapport"], env=env)
    assert report.exit_code == 0, report.output
    assert (isolated / "rapport" / "portefoljerapport.html").exists()


def test_without_hub_anywhere_the_cli_says_what_to_give(isolated: Path) -> None:
    result = CliRunner().invoke(main, ["sync", "run"], env={"VEIVISER_ACCESS_TOKEN": "x"})
    assert result.exit_code == 2 and "Give --hub URL" in result.output


def test_veiviser_config_names_the_file(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = _write(isolated / "etc" / "veiviser.toml", CONFIG)
    _write(isolated / "veiviser.toml", '[profiles.default]\nhub = "https://x/sites/lokal"\n')
    monkeypatch.setenv("VEIVISER_CONFIG", str(elsewhere))
    assert load_profile().file == elsewhere
    monkeypatch.setenv("VEIVISER_CONFIG", str(isolated / "finnes-ikke.toml"))
    with pytest.raises(ConfigError, match=r"finnes-ikke\.toml: cannot read the config file"):
        load_profile()

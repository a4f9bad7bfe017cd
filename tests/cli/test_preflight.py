"""The provisioning preflights reach the user the same way from every command: ``Error: …`` and a
``Hint: …`` on stderr, a non-zero exit, no traceback and nothing written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from tests.support.emulator import writes
from tests.support.sync import cli_env
from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer


def _refused(server: EmulatorServer, args: list[str], env: dict[str, str]) -> str:
    server.log.reset()
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and "\nHint: " in result.stderr, result.stderr
    assert writes(server) == 0
    return result.stderr


def test_a_site_to_create_without_an_owner(server: EmulatorServer) -> None:
    env = cli_env(server)
    hub = f"{server.url}/sites/portefolje"
    text = _refused(server, ["provision", "hub", "--url", hub], env)
    assert "owner" in text and "--owner" in text


def test_an_extension_of_unknown_kind_is_refused_with_file_and_line(
    server: EmulatorServer, tmp_path: Path
) -> None:
    ext = tmp_path / "rar.yaml"
    ext.write_text("extension: rar\nversion: 1.0.0\nkind: portal\nlists: []\n", encoding="utf-8")
    args = ["provision", "plan", "hub", "--url", f"{server.url}/sites/portefolje", "--extension", str(ext)]
    server.log.reset()
    result = CliRunner().invoke(main, args, env=cli_env(server))
    assert result.exit_code == 2
    assert f"{ext}:3" in result.stderr and "kind must be project or hub" in result.stderr
    assert server.log.counts() == {}  # refused before any request


def test_incomplete_settings_name_the_missing_variables(server: EmulatorServer) -> None:
    env = {"VEIVISER_AUTH": "certificate"}
    text = _refused(server, ["provision", "plan", "hub", "--url", f"{server.url}/sites/portefolje"], env)
    assert "VEIVISER_TENANT_ID" in text and "veiviser doctor" in text

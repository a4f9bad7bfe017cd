"""No secret leaves veiviser (docs/operations.md, settings): the access token and the certificate
passphrase never appear in any command's output, log line (``--json-logs`` too), report file,
state store row or error message.

Every command runs in-process through click against a real emulator whose token is the sentinel,
with ``VEIVISER_ACCESS_TOKEN`` and ``VEIVISER_CERT_PASSPHRASE`` set; the log is captured at DEBUG
from the root logger as well. The error paths run too: a wrong token (401 from the emulator) and a
certificate mode whose certificate does not exist. The emulator command is exempt (it holds the
token by design).
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer

TOKEN = "SENTINEL-TOKEN-7f3a9c1e-do-not-print"
PASSPHRASE = "SENTINEL-PASSPHRASE-b41d0e77-do-not-print"
SECRETS = (TOKEN, PASSPHRASE)
OWNER = "eier@kommune.no"


def _no_secret(where: str, text: str | bytes) -> None:
    data = text.encode("utf-8", "replace") if isinstance(text, str) else text
    for secret in SECRETS:
        for form in (secret.encode(), secret.encode("utf-16-le"), secret[8:24].encode()):
            assert form not in data, f"a secret appears in {where}"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "VEIVISER_AUTH": "token",
        "VEIVISER_ACCESS_TOKEN": TOKEN,
        "VEIVISER_CERT_PASSPHRASE": PASSPHRASE,
        "VEIVISER_ORG": "Testkommune",
        "VEIVISER_RETRY_MAX_TOTAL_SECONDS": "5",
        "VEIVISER_RU_PER_MINUTE": "1e9",
        "VEIVISER_STATE_URL": f"sqlite:///{tmp_path / 'state.sqlite'}",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }


def _files(tmp_path: Path) -> list[Path]:
    return [p for p in tmp_path.rglob("*") if p.is_file()]


def _commands(url: str, tmp_path: Path) -> list[list[str]]:
    hub = f"{url}/sites/portefolje"
    bulk = tmp_path / "prosjekter.csv"
    bulk.write_text("Tittel;Prosjekteier\nLegevakt;eier@kommune.no\nDigisos;\n", encoding="utf-8")
    itposmo = tmp_path / "itposmo.csv"
    itposmo.write_text("prosjekt;I;T;P;O1;S;M;O2\nA;1;2;3;4;5;6;7\n", encoding="utf-8")
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("prosjekt;Strategi;Volum\nA;3;4\nB;1;2\n", encoding="utf-8")
    template = Path(__file__).parents[1] / "src/veiviser/templates/standard-project.yaml"
    state = f"sqlite:///{tmp_path / 'state.sqlite'}"
    out = tmp_path / "rapport"
    return [
        ["provision", "plan", "hub", "--url", hub],
        ["provision", "hub", "--url", hub, "--owner", OWNER],
        ["provision", "plan", "project", "--hub", hub, "--title", "Alfa"],
        ["provision", "project", "--hub", hub, "--title", "Alfa", "--owner", OWNER],
        ["provision", "plan", "bulk", "--hub", hub, str(bulk)],
        ["provision", "bulk", "--hub", hub, "--owner", OWNER, "--state-dir", str(tmp_path / "j"), str(bulk)],
        ["provision", "upgrade", "--hub", hub, "--dry-run"],
        ["provision", "upgrade", "--hub", hub],
        ["sync", "run", "--hub", hub, "--state", state, "--report", str(tmp_path / "run.json")],
        ["sync", "run", "--hub", hub, "--state", state, "--json-logs"],
        ["sync", "status", "--state", state],
        ["sync", "status", "--state", state, "--format", "json"],
        ["report", "--hub", hub, "--state", state, "--out", str(out)],
        ["template", "check", str(template)],
        ["template", "show", str(template)],
        ["template", "schema"],
        ["itposmo", str(itposmo)],
        ["prioritise", str(ratings)],
    ]


def _run(args: list[str], env: dict[str, str], caplog: pytest.LogCaptureFixture) -> tuple[int, str]:
    caplog.clear()
    res = CliRunner().invoke(main, args, env=env)
    text = res.output + (res.stderr if res.stderr_bytes is not None else "")
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        text += repr(res.exception) + str(res.exception)
    text += "\n".join(r.getMessage() + repr(r.args) + str(r.exc_info) for r in caplog.records)
    return res.exit_code, text


def test_no_command_prints_logs_or_stores_a_secret(env, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with EmulatorServer(token=TOKEN) as server:
        env = {**env, "VEIVISER_ADMIN_URL": server.url}
        codes = {}
        for args in _commands(server.url, tmp_path):
            code, text = _run(args, env, caplog)
            codes[" ".join(args[:2])] = code
            _no_secret(" ".join(args), text)
        # the commands really ran against the emulator (a secret-free failure proves nothing)
        assert codes["provision hub"] == 0 and codes["provision project"] == 0, codes
        assert codes["sync run"] in (0, 1) and codes["report --hub"] == 0, codes
    for path in _files(tmp_path):
        _no_secret(str(path.relative_to(tmp_path)), path.read_bytes())
    db = sqlite3.connect(tmp_path / "state.sqlite")
    try:
        tables = [r[0] for r in db.execute("select name from sqlite_master where type='table'")]
        assert tables
        for table in tables:
            for row in db.execute(f'select * from "{table}"'):
                _no_secret(f"state store table {table}", repr(row))
    finally:
        db.close()


def test_error_paths_name_no_secret(env, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    with EmulatorServer(token="a-different-token") as server:  # every request answers 401
        env = {**env, "VEIVISER_ADMIN_URL": server.url}
        hub = f"{server.url}/sites/portefolje"
        for args in (
            ["provision", "hub", "--url", hub, "--owner", OWNER],
            ["sync", "run", "--hub", hub, "--json-logs"],
            ["report", "--hub", hub, "--out", str(tmp_path / "r")],
        ):
            code, text = _run(args, env, caplog)
            assert code != 0, (args, text)
            _no_secret(" ".join(args), text)
        cert_env = {
            **env,
            "VEIVISER_AUTH": "certificate",
            "VEIVISER_TENANT_ID": "00000000-0000-0000-0000-000000000001",
            "VEIVISER_CLIENT_ID": "00000000-0000-0000-0000-000000000002",
            "VEIVISER_CERT_PATH": str(tmp_path / "missing.pem"),
            "VEIVISER_CERT_THUMBPRINT": "AB" * 20,
        }
        code, text = _run(["provision", "hub", "--url", hub], cert_env, caplog)
        assert code != 0
        _no_secret("provision hub with a missing certificate", text)
    for path in _files(tmp_path):
        _no_secret(str(path.relative_to(tmp_path)), path.read_bytes())

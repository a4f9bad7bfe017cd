"""Every README example marked ``<!-- runnable -->`` runs as written against the emulator.

The test writes the blocks marked ``<!-- file: NAME -->`` into an empty working directory, then runs
each command of the runnable blocks in order through the real CLI, with the tenant's URLs replaced
by the emulator's and its token in the environment. A command that fails fails the test with the
command and its output.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from importlib import resources
from pathlib import Path

import pytest
from click.testing import CliRunner

from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer

README = Path(__file__).resolve().parents[1] / "README.md"
TENANT = "https://kommune.sharepoint.com"
ADMIN = "https://kommune-admin.sharepoint.com"
MARK = re.compile(r"^<!-- (runnable|file: (?P<name>[\w.-]+)) -->$")


def readme_blocks(text: str) -> tuple[list[tuple[int, str]], dict[str, str]]:
    """The runnable commands (README line, command) and the files (name → content)."""
    commands: list[tuple[int, str]] = []
    files: dict[str, str] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        mark = MARK.match(lines[i].strip())
        if not mark:
            i += 1
            continue
        assert lines[i + 1].startswith("```"), (
            f"README.md:{i + 1}: a mark must stand right above a code block"
        )
        end = lines.index("```", i + 2)
        body = lines[i + 2 : end]
        if mark.group("name"):
            files[mark.group("name")] = "\n".join(body) + "\n"
        else:
            pending = ""
            for offset, line in enumerate(body):
                if not pending and (not line.strip() or line.lstrip().startswith("#")):
                    continue
                pending += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
                if not line.endswith("\\"):
                    commands.append((i + 3 + offset, pending.strip()))
                    pending = ""
        i = end + 1
    return commands, files


def test_the_readme_marks_are_well_formed() -> None:
    commands, files = readme_blocks(README.read_text(encoding="utf-8"))
    assert {"veiviser.toml", "tillegg.yaml"} <= set(files)
    assert len(commands) >= 8
    bad = [f"README.md:{line}: {cmd}" for line, cmd in commands if not cmd.startswith("veiviser ")]
    assert bad == [], "runnable blocks hold veiviser commands only"
    assert any("provision hub --url" in cmd and "--owner" in cmd for _, cmd in commands)


@pytest.mark.slow
def test_every_runnable_readme_example_runs_against_the_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("VEIVISER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    commands, files = readme_blocks(README.read_text(encoding="utf-8"))
    data = resources.files("veiviser").joinpath("data", "trondheim-portefolje-2018-2021.csv")
    with resources.as_file(data) as src:
        shutil.copyfile(src, tmp_path / src.name)

    with EmulatorServer() as server:

        def local(text: str) -> str:
            return text.replace(ADMIN, server.url).replace(TENANT, server.url)

        for name, content in files.items():
            (tmp_path / name).write_text(local(content), encoding="utf-8")
        env = {
            "VEIVISER_ACCESS_TOKEN": server.token,
            "VEIVISER_ADMIN_URL": server.url,
            "VEIVISER_STATE_URL": f"sqlite:///{tmp_path / 'state.sqlite'}",
            "VEIVISER_RU_PER_MINUTE": "1e9",
            "VEIVISER_RETRY_MAX_TOTAL_SECONDS": "30",
        }
        runner = CliRunner()
        for line, command in commands:
            result = runner.invoke(main, shlex.split(local(command))[1:], env=env)
            assert result.exit_code == 0, f"README.md:{line}: {command}\n{result.output}"
    assert (tmp_path / "veiviser-cert" / "veiviser-app.key.pem").exists()
    assert (tmp_path / "sync-rapport.json").exists() and (tmp_path / "rapport").is_dir()

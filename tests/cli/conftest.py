"""The CLI tests run in a clean working directory with no config file and no ``VEIVISER_*``
variables of the machine: each test states the environment and the profile it uses."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``tmp_path`` as working directory and ``$XDG_CONFIG_HOME``; no ``VEIVISER_*`` variables."""
    for name in list(os.environ):
        if name.startswith("VEIVISER_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path

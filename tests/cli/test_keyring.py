"""Secrets from the OS keyring (the optional ``keyring`` extra): used when the environment lacks
them, never when it has them, and the commands see them too."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend

from veiviser.cli import main
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import Provisioner
from veiviser.schemas.settings import KEYRING_SERVICE, load_profile


class MemoryKeyring(KeyringBackend):
    """A keyring held in a dict (the machine's own keyring stays untouched)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(before)


def test_the_keyring_fills_a_missing_secret_only(
    isolated: Path, memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated / "veiviser.toml").write_text('[profiles.prod]\nauth = "token"\n', encoding="utf-8")
    memory_keyring.set_password(KEYRING_SERVICE, "prod:access_token", "fra-nokkelringen")
    settings = load_profile("prod").connection_settings()
    assert settings.access_token is not None
    assert settings.access_token.get_secret_value() == "fra-nokkelringen"

    monkeypatch.setenv("VEIVISER_ACCESS_TOKEN", "fra-miljoet")
    settings = load_profile("prod").connection_settings()
    assert settings.access_token is not None and settings.access_token.get_secret_value() == "fra-miljoet"


def test_doctor_and_the_commands_use_the_keyring_token(
    server: EmulatorServer,
    provisioned_hub: Callable[..., Provisioner],
    isolated: Path,
    memory_keyring: MemoryKeyring,
) -> None:
    prov = provisioned_hub()
    (isolated / "veiviser.toml").write_text(
        f'[profiles.emulator]\nauth = "token"\nhub = "{prov.hub_url}"\nadmin_url = "{server.url}"\n'
        f'state_url = "sqlite:///{isolated / "state.sqlite"}"\n',
        encoding="utf-8",
    )
    memory_keyring.set_password(KEYRING_SERVICE, "emulator:access_token", server.token)
    runner = CliRunner()
    doctor = runner.invoke(main, ["--profile", "emulator", "doctor"])
    assert doctor.exit_code == 0, doctor.output
    sync = runner.invoke(main, ["--profile", "emulator", "sync", "run"])
    assert sync.exit_code == 0, sync.output
    assert server.token not in doctor.output + sync.output


def test_without_a_backend_the_keyring_is_silent(isolated: Path) -> None:
    from keyring.backends import fail

    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        (isolated / "veiviser.toml").write_text('[profiles.prod]\nauth = "token"\n', encoding="utf-8")
        with pytest.raises(Exception, match="VEIVISER_ACCESS_TOKEN"):
            load_profile("prod").connection_settings()
    finally:
        keyring.set_keyring(before)

"""Provisioning fixtures over the shared ``server`` and ``provisioned_hub`` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.emulator import make_provisioner, writes
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import Provisioner


@pytest.fixture
def prov(provisioned_hub: Callable[..., Provisioner]) -> Provisioner:
    """A real Provisioner whose hub is provisioned on the test's emulator."""
    return provisioned_hub()


@pytest.fixture
def factory(server: EmulatorServer) -> Callable[..., Provisioner]:
    """``factory(**kwargs)`` → another Provisioner for the test's emulator (the hub is not touched)."""

    def make(**kwargs: Any) -> Provisioner:
        return make_provisioner(server, **kwargs)

    return make


@pytest.fixture
def count_writes(server: EmulatorServer) -> Callable[[], int]:
    """``count_writes()`` → write requests served since the last log reset."""
    return lambda: writes(server)

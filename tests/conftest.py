"""Fixtures shared by every test folder.

- ``server``: a fresh in-process emulator (the real object model) on a free loopback port;
- ``state_url`` / ``state_store``: the sync's state and history store in a temporary SQLite file;
- ``store_url`` / ``any_store``: the same on SQLite and on PostgreSQL (a fresh schema per test);
- ``provisioned_hub``: a factory returning a real :class:`Provisioner` whose hub is provisioned;
- ``browser``: one headless Chromium for the whole session (skips only when none is installed).

Helper functions live in ``tests/support/``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.emulator import make_provisioner
from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import Provisioner
from veiviser.sync.state import StateStore

# --- the emulator -----------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    """A fresh emulator over the real object model, in memory, on 127.0.0.1:<free port>."""
    with EmulatorServer() as srv:
        yield srv


# --- provisioning -----------------------------------------------------------------------------


@pytest.fixture
def provisioned_hub(server: EmulatorServer) -> Callable[..., Provisioner]:
    """``provisioned_hub(**provisioner_kwargs)`` → a real Provisioner whose hub exists and carries
    the hub template (``.hub_url``; ``.project(ProjectRequest(…))`` adds project sites)."""

    def factory(**kwargs: Any) -> Provisioner:
        prov = make_provisioner(server, **kwargs)
        result = prov.hub()
        assert result.ok, result.error
        return prov

    return factory


# --- the sync's state store -------------------------------------------------------------------


@pytest.fixture
def state_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'state.sqlite'}"


@pytest.fixture
def state_store(state_url: str) -> Iterator[StateStore]:
    with StateStore(state_url) as store:
        yield store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The state store's URL on each database: a SQLite file, then a fresh PostgreSQL schema
    (``tests/support/postgres.py``: skipped with the reason outside CI when none is configured)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite'}"
        return
    from tests.support.postgres import fresh_schema

    with fresh_schema() as url:
        yield url


@pytest.fixture
def any_store(store_url: str) -> Iterator[StateStore]:
    """The state store on each database (see ``store_url``)."""
    with StateStore(store_url) as store:
        yield store


# --- the browser ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium for the session; skips with the install hint when none exists."""
    from tests.support.browser import CHROMIUM, NO_CHROMIUM, Browser

    if CHROMIUM is None:
        pytest.skip(NO_CHROMIUM)
    b = Browser()
    yield b
    b.close()

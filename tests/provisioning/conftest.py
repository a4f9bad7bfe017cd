"""Emulator fixtures for provisioning tests: the real office365 client over HTTP, port 0."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("veiviser.emulator.app")

from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import Provisioner
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import RateLimiter

OWNER = "admin@kommune.no"


def settings_for(server: EmulatorServer) -> ConnectionSettings:
    return ConnectionSettings(
        auth="token",
        access_token=server.token,
        org="Testkommune",
        admin_url=server.url,
        retry_max_total_seconds=10,
        ru_per_minute=1e9,
    )  # the emulator throttles only when a test asks it to


def make_provisioner(server: EmulatorServer, **kwargs: object) -> Provisioner:
    return Provisioner(
        f"{server.url}/sites/portefolje",
        settings=settings_for(server),
        owner=OWNER,
        limiter=RateLimiter(1e6, 1),
        wait_interval=0.05,
        **kwargs,
    )  # type: ignore[arg-type]


#: POSTs that only read (SharePoint's query verbs).
READ_ONLY_POSTS = ("/contextinfo", "/getsitepropertiesfromsharepointbyfilters")


def writes(server: EmulatorServer) -> int:
    """Write requests served: non-GET calls and batch parts, except read-only POSTs and $batch envelopes."""
    n = 0
    for (kind, method, endpoint), count in server.log.counts().items():
        if kind == "batch" or method in ("GET", "HEAD") or endpoint.lower().endswith(READ_ONLY_POSTS):
            continue
        n += count
    return n


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as srv:
        yield srv


@pytest.fixture
def prov(server: EmulatorServer) -> Provisioner:
    p = make_provisioner(server)
    p.hub()
    return p


@pytest.fixture
def factory(server: EmulatorServer):
    """``factory(**kwargs)`` → a Provisioner for the test's emulator."""
    return lambda **kwargs: make_provisioner(server, **kwargs)


@pytest.fixture
def count_writes(server: EmulatorServer):
    """``count_writes()`` → write requests served since the last log reset."""
    return lambda: writes(server)

"""Connection settings and provisioners for tests that drive the real client against the emulator."""

from __future__ import annotations

from typing import Any

from veiviser.emulator.server import EmulatorServer
from veiviser.provisioning.engine import Provisioner
from veiviser.schemas.settings import ConnectionSettings
from veiviser.sharepoint import RateLimiter

OWNER = "admin@kommune.no"
HUB_ALIAS = "portefolje"


def connection_settings(server: EmulatorServer, **extra: Any) -> ConnectionSettings:
    """Settings for ``server``: its static token, its root as admin URL, no client-side pacing
    (the emulator throttles only when a test asks it to)."""
    values: dict[str, Any] = {
        "auth": "token",
        "access_token": server.token,
        "org": "Testkommune",
        "admin_url": server.url,
        "retry_max_total_seconds": 60,
        "ru_per_minute": 1e9,
    }
    values.update(extra)
    return ConnectionSettings(**values)


def make_provisioner(server: EmulatorServer, *, hub_alias: str = HUB_ALIAS, **kwargs: Any) -> Provisioner:
    """A real :class:`Provisioner` for the hub ``/sites/<hub_alias>`` on ``server``."""
    kwargs.setdefault("owner", OWNER)
    kwargs.setdefault("limiter", RateLimiter(1e6, 1))
    kwargs.setdefault("wait_interval", 0.05)
    settings = kwargs.pop("settings", None) or connection_settings(server, retry_max_total_seconds=10)
    return Provisioner(f"{server.url}/sites/{hub_alias}", settings=settings, **kwargs)


#: POSTs that only read (SharePoint's query verbs): not counted as writes.
QUERY_POSTS = ("/contextinfo", "/getsitepropertiesfromsharepointbyfilters")


def writes(server: EmulatorServer) -> int:
    """Write requests served since the last log reset: non-GET calls and ``$batch`` parts, except
    query POSTs (:data:`QUERY_POSTS`) and the ``$batch`` envelopes themselves."""
    n = 0
    for (kind, method, endpoint), count in server.log.counts().items():
        if kind == "batch" or method in ("GET", "HEAD") or endpoint.lower().endswith(QUERY_POSTS):
            continue
        n += count
    return n

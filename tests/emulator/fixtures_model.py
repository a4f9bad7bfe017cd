"""Fixtures for the object-model tests: the real SharePointApp, direct calls and real-client contexts.

Import them explicitly in ``test_model_*.py``: ``from fixtures_model import model_server, site, call``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from office365.sharepoint.client_context import ClientContext

from veiviser.emulator.api import ApiRequest, Headers
from veiviser.emulator.app import SharePointApp
from veiviser.emulator.server import EmulatorServer

HOST = "127.0.0.1:5999"


@dataclass
class Reply:
    status: int
    body: Any
    raw: bytes

    @property
    def d(self) -> Any:
        return self.body["d"]

    @property
    def code(self) -> str:
        return self.body["error"]["code"]

    @property
    def message(self) -> str:
        return self.body["error"]["message"]["value"]


def call_app(
    app: SharePointApp, method: str, path: str, body: Any = None, query: str = "", host: str = HOST
) -> Reply:
    """One REST call through ``app.handle`` (JSON body encoded like the client does)."""
    raw = json.dumps(body).encode() if body is not None else b""
    resp = app.handle(
        ApiRequest(method, host, path, query, Headers({"Accept": "application/json;odata=verbose"}), raw)
    )
    try:
        parsed = json.loads(resp.body) if resp.body else None
    except ValueError:
        parsed = None
    return Reply(resp.status, parsed, resp.body)


def create_site(
    app: SharePointApp, alias: str | None = None, lcid: int = 1044, template: str = "STS#3", host: str = HOST
) -> str:
    """Create ``/sites/<alias>`` through spSiteManager/Create; returns its server-relative path."""
    alias = alias or "t" + uuid.uuid4().hex[:10]
    reply = call_app(
        app,
        "POST",
        "/_api/spSiteManager/Create",
        {
            "request": {
                "Title": alias,
                "Url": f"http://{host}/sites/{alias}",
                "Owner": "eier@kommune.no",
                "Lcid": lcid,
                "WebTemplate": template,
                "__metadata": {"type": "Microsoft.SharePoint.Portal.SPSiteCreationRequest"},
            }
        },
        host=host,
    )
    assert reply.status == 200 and reply.d["Create"]["SiteStatus"] == 2, reply.body
    return f"/sites/{alias}"


@pytest.fixture
def app() -> Iterator[SharePointApp]:
    """A fresh in-memory object model."""
    model = SharePointApp()
    yield model
    model.close()


@pytest.fixture
def call(app: SharePointApp) -> Callable[..., Reply]:
    """``call(method, path, body=None, query="")`` against the fresh ``app``."""

    def _call(method: str, path: str, body: Any = None, query: str = "") -> Reply:
        return call_app(app, method, path, body, query)

    return _call


@pytest.fixture(scope="module")
def model_server() -> Iterator[EmulatorServer]:
    """A running emulator over the real object model (in memory), shared by one test module."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def site(model_server: EmulatorServer) -> str:
    """A new, empty team site on ``model_server``; returns its absolute URL."""
    host = model_server.url.split("://", 1)[1]
    path = create_site(model_server.app, host=host)  # type: ignore[arg-type]
    return model_server.url + path


def client(server: EmulatorServer, url: str) -> ClientContext:
    """A real office365 ClientContext for ``url`` on ``server``."""
    return ClientContext(url).with_access_token(server.access_token).with_transport(timeout=(10, 60))


@pytest.fixture
def ctx(model_server: EmulatorServer, site: str) -> ClientContext:
    return client(model_server, site)

"""Helpers for the object-model tests: direct calls to the real SharePointApp, site creation and
real-client contexts. The fixtures built on them (``app``, ``call``, ``site``, ``ctx``) are in
``tests/emulator/conftest.py``.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from office365.sharepoint.client_context import ClientContext

from veiviser.emulator.api import ApiRequest, Headers, ObjectModel
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
    app: ObjectModel, method: str, path: str, body: Any = None, query: str = "", host: str = HOST
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
    app: ObjectModel, alias: str | None = None, lcid: int = 1044, template: str = "STS#3", host: str = HOST
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


def client(server: EmulatorServer, url: str) -> ClientContext:
    """A real office365 ClientContext for ``url`` on ``server``."""
    return ClientContext(url).with_access_token(server.access_token).with_transport(timeout=(10, 60))

"""Emulator fixtures.

- ``emulator``: :class:`EmulatorServer` over :class:`MiniApp`, a tiny test-only stand-in that
  speaks just enough REST for the HTTP-layer tests (web, one list per title, items);
  ``make_context`` builds real client contexts for it;
- ``app`` / ``call``: the real object model in memory, called directly through ``handle``;
- ``site`` / ``ctx``: a new team site on the shared ``server`` fixture (tests/conftest.py) and a
  real client context for it.

Helper functions are in ``tests/support/emulator_model.py``.
"""

from __future__ import annotations

import itertools
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from office365.sharepoint.client_context import ClientContext

from tests.support.emulator_model import Reply, call_app, client, create_site
from veiviser.emulator.api import ApiRequest, ApiResponse, RestError, SiteLocation
from veiviser.emulator.app import SharePointApp
from veiviser.emulator.server import EmulatorServer

SITE = "/sites/demo"


class MiniApp:
    """A test-only object model: sites under /sites/<name>, lists created on first use, items."""

    _LIST = re.compile(
        r"/_api/web/lists(?:/getbytitle\('(?P<title>(?:[^']|'')*)'\)|\('(?P<id>[0-9a-f-]{36})'\))"
        r"(?P<rest>/.*)?$",
        re.IGNORECASE,
    )
    _ITEM = re.compile(r"^/items\((?P<n>\d+)\)$|^/getitembyid\((?P<m>\d+)\)$", re.IGNORECASE)

    def __init__(self, db_path: str | None = None) -> None:
        self._lock = threading.Lock()
        self.lists: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)

    def close(self) -> None:
        pass

    def locate(self, host: str, path: str, scheme: str = "http") -> SiteLocation:
        m = re.match(r"^(/sites/[^/]+)", path, re.IGNORECASE)
        prefix = m.group(1) if m else ""
        if prefix.lower() == "/sites/missing":
            raise RestError(404, "-2147024894, System.IO.FileNotFoundException", "File Not Found.")
        url = f"{scheme}://{host}{prefix}"
        return SiteLocation(
            url, url, str(uuid.uuid5(uuid.NAMESPACE_URL, url)), str(uuid.uuid5(uuid.NAMESPACE_URL, url))
        )

    def handle(self, req: ApiRequest) -> ApiResponse:
        try:
            with self._lock:
                return self._handle(req)
        except RestError as exc:
            return exc.to_response()

    def _list(self, title: str | None, list_id: str | None) -> dict[str, Any]:
        if list_id:
            for lst in self.lists.values():
                if lst["Id"] == list_id:
                    return lst
            raise RestError(404, "-1, System.ArgumentException", f"List '{list_id}' does not exist.")
        assert title is not None
        title = title.replace("''", "'")
        if title not in self.lists:
            self.lists[title] = {
                "Id": str(uuid.uuid4()),
                "Title": title,
                "items": {},
                "ListItemEntityTypeFullName": "SP.Data.MiniListItem",
            }
        return self.lists[title]

    @staticmethod
    def _list_json(lst: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in lst.items() if k != "items"} | {"__metadata": {"type": "SP.List"}}

    def _handle(self, req: ApiRequest) -> ApiResponse:
        path = req.path
        i = path.lower().find("/_api/")
        api = path[i:] if i >= 0 else path
        if api.lower() == "/_api/web":
            return ApiResponse.json(
                {"d": {"__metadata": {"type": "SP.Web"}, "Title": "Demo", "Url": req.base_url}}
            )
        m = self._LIST.match(api)
        if not m:
            raise RestError(
                404, "-1, Microsoft.SharePoint.Client.InvalidClientQueryException", f"No endpoint '{api}'."
            )
        lst = self._list(m.group("title"), m.group("id"))
        rest = (m.group("rest") or "").rstrip("/")
        if not rest and req.method == "GET":
            return ApiResponse.json({"d": self._list_json(lst)})
        if rest.lower() == "/items":
            if req.method == "GET":
                rows = [dict(v) for _, v in sorted(lst["items"].items())]
                return ApiResponse.json({"d": {"results": rows}})
            if req.method == "POST":
                data = req.json() or {}
                if "Fail" in data:
                    raise RestError(
                        400,
                        "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                        "The property 'Fail' does not exist on type 'SP.Data.MiniListItem'.",
                    )
                n = next(self._ids)
                item = {k: v for k, v in data.items() if k != "__metadata"} | {"Id": n, "ID": n}
                lst["items"][n] = item
                return ApiResponse.json(
                    {"d": item | {"__metadata": {"type": lst["ListItemEntityTypeFullName"]}}}, 201
                )
        mi = self._ITEM.match(rest)
        if mi:
            n = int(mi.group("n") or mi.group("m"))
            item = lst["items"].get(n)
            if item is None:
                raise RestError(
                    404,
                    "-2130575338, System.ArgumentException",
                    "Item does not exist. It may have been deleted by another user.",
                )
            if req.method == "GET":
                return ApiResponse.json({"d": dict(item)})
            if req.method == "MERGE":
                data = req.json() or {}
                item.update({k: v for k, v in data.items() if k != "__metadata"})
                return ApiResponse.empty(204)
            if req.method == "DELETE":
                del lst["items"][n]
                return ApiResponse.empty(200)
        raise RestError(
            400,
            "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
            f"Unsupported {req.method} on '{api}'.",
        )


@pytest.fixture
def emulator() -> Iterator[EmulatorServer]:
    """A running emulator on 127.0.0.1:<free port> over the test-only MiniApp."""
    with EmulatorServer(app=MiniApp()) as server:
        yield server


@pytest.fixture
def make_context(emulator: EmulatorServer) -> Callable[..., ClientContext]:
    """``make_context(site="/sites/demo", server=None, token=None)`` → a real ClientContext."""

    def factory(
        site: str = SITE,
        server: EmulatorServer | None = None,
        token: str | None = None,
        timeout: tuple[float, float] = (10, 60),
    ) -> ClientContext:
        srv = server or emulator
        tok = token or srv.token
        ctx = ClientContext(srv.url + site).with_access_token(
            lambda: {"access_token": tok, "token_type": "Bearer", "expires_in": 3600}
        )
        return ctx.with_transport(timeout=timeout)

    return factory


@pytest.fixture
def mini_app_class() -> type[MiniApp]:
    """The test-only object model class, for tests that start their own servers."""
    return MiniApp


# --- the real object model ---------------------------------------------------------------------


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


@pytest.fixture
def site(server: EmulatorServer) -> str:
    """A new, empty team site on ``server``; returns its absolute URL."""
    host = server.url.split("://", 1)[1]
    return server.url + create_site(server.app, host=host)


@pytest.fixture
def ctx(server: EmulatorServer, site: str) -> ClientContext:
    """A real office365 ClientContext for ``site``."""
    return client(server, site)

"""The contract between the emulator's HTTP layer and its SharePoint object model.

The HTTP layer (``server.py``, ``batch.py``, ``faults.py``, ...) turns each HTTP exchange, and each
part of a ``$batch``, into an :class:`ApiRequest` and hands it to the object model's
``handle`` (:class:`veiviser.emulator.app.SharePointApp`), which answers with an :class:`ApiResponse`. Authentication, form digests,
contextinfo, ``$batch``, latency, throttling and fault injection live in the HTTP layer; sites,
webs, lists, fields, items, views, content types, users, hubs and change logs live in the app.

Anything the app raises as :class:`RestError` becomes a SharePoint-shaped error response.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

JSON_CONTENT_TYPE = "application/json;odata=verbose;charset=utf-8"


class Headers(dict[str, str]):
    """A case-insensitive header mapping (keys are stored lower-cased)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__()
        for key, value in (items or {}).items():
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


def _no_constant(name: str) -> Any:
    raise ValueError(f"'{name}' is not a JSON value.")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"The number {text} is out of range.")
    return value


@dataclass
class ApiRequest:
    """One REST call, already authenticated, as the app sees it.

    ``method`` is the effective verb: ``X-HTTP-Method`` on a POST has been applied (MERGE, PATCH,
    PUT, DELETE). ``path`` is the percent-decoded path (``/sites/demo/_api/Web/lists``);
    ``query`` is the raw query string, still percent-encoded, without the ``?``.
    ``host`` is the Host the client addressed (``127.0.0.1:8123`` or ``contoso.sharepoint.com``
    when the emulator is used as an HTTP proxy).
    """

    method: str
    host: str
    path: str
    query: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    scheme: str = "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def json(self) -> Any:
        """The body as JSON (``None`` when empty); malformed JSON is a SharePoint-shaped 400."""
        if not self.body.strip():
            return None
        try:
            value = json.loads(self.body, parse_constant=_no_constant, parse_float=_finite_float)
            if b"\\u" in self.body:  # escapes may leave lone surrogates, which no text store takes
                json.dumps(value, ensure_ascii=False).encode("utf-8")
            return value
        except (UnicodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
            raise RestError(
                400,
                "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
                f"Invalid JSON. {exc}",
            ) from exc


@dataclass
class ApiResponse:
    status: int
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> ApiResponse:
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, Headers({"Content-Type": JSON_CONTENT_TYPE}), body)

    @classmethod
    def empty(cls, status: int = 204) -> ApiResponse:
        return cls(status, Headers(), b"")


class RestError(Exception):
    """An error the emulated REST API answers with: HTTP status, ``"<hresult>, <.NET type>"``,
    message (see docs/emulator.md, "Errors"). Not the client's
    :class:`veiviser.sharepoint.errors.SharePointError`, which is what a caller sees of it."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_response(self) -> ApiResponse:
        return ApiResponse.json(
            {"error": {"code": self.code, "message": {"lang": "en-US", "value": self.message}}},
            status=self.status,
        )


@dataclass(frozen=True)
class SiteLocation:
    """Where a request path lands: the site collection and web it addresses."""

    site_url: str  # absolute, e.g. http://127.0.0.1:8123/sites/demo
    web_url: str  # absolute URL of the web (equal to site_url for root webs)
    site_id: str
    web_id: str


class ObjectModel(Protocol):
    """What the HTTP layer needs from the object model."""

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Answer one REST call (never raises; errors become SharePoint-shaped responses)."""
        ...

    def locate(self, host: str, path: str, scheme: str = "http") -> SiteLocation:
        """The site and web for a request path; raises RestError(404) if there is none."""
        ...

    def close(self) -> None: ...

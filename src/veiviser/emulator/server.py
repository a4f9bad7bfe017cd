"""The emulator's HTTP server: auth, form digests, ``$batch``, latency, faults, throttling, log.

:class:`EmulatorServer` runs in-process on a free port (threaded, keep-alive) and hands every
REST call, and every part of a ``$batch``, to :class:`veiviser.emulator.app.SharePointApp` as an
:class:`~veiviser.emulator.api.ApiRequest`. The HTTP/1.1 framing itself is in ``http11.py``. The
wire formats are described in docs/emulator.md.

    with EmulatorServer() as server:
        ctx = ClientContext(server.url + "/sites/demo").with_access_token(server.access_token)
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from veiviser.emulator.api import (
    ApiRequest,
    ApiResponse,
    Headers,
    ObjectModel,
    RestError,
    SiteLocation,
)
from veiviser.emulator.app import SharePointApp
from veiviser.emulator.auth import (
    DIGEST_TIMEOUT_S,
    DigestStore,
    bearer_ok,
    context_info,
    invalid_digest,
    new_token,
    unauthorized,
)
from veiviser.emulator.batch import MAX_BATCH_OPERATIONS, BatchOperation, build_batch_response, parse_batch
from veiviser.emulator.faults import Faults, fault_response
from veiviser.emulator.http11 import HTTPServer
from veiviser.emulator.model.directory import DirectoryUser, new_user, users_from
from veiviser.emulator.odata import render_dialect
from veiviser.emulator.requestlog import RequestLog
from veiviser.emulator.throttle import Decision, ResourceMeter, request_cost
from veiviser.errors import VeiviserError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576  # SPO request body limit (docs/emulator.md, "Throttling and limits")
_READ_METHODS = frozenset({"GET", "HEAD"})


class EmulatorError(VeiviserError):
    """The emulator cannot start or was misconfigured."""


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _internal_error() -> ApiResponse:
    return RestError(
        500,
        "-2146233088, System.InvalidOperationException",
        "An unexpected error occurred in the emulator; the request was not completed.",
    ).to_response()


def _api_root(scheme: str, host: str, path: str) -> str:
    """``<scheme>://<host><site path>/_api/`` of a request path (for ``odata.metadata``)."""
    head = path.split("/_api", 1)[0] if "/_api" in path else path.split("/_vti_bin", 1)[0]
    return f"{scheme}://{host}{head.rstrip('/')}/_api/"


def _throttled(decision: Decision) -> ApiResponse:
    resp = fault_response(429, decision.retry_after)
    for name, value in decision.headers.items():
        resp.headers[name] = value
    return resp


# An observer sees every answer before it is sent: (server, kind, method, path, query, response), kind
# "request" or "batch-part"; answers to $batch envelopes are seen part by part. The conformance
# suite (docs/emulator.md, "Conformance") checks each verbose JSON answer through one.
Observer = Callable[["EmulatorServer", str, str, str, str, ApiResponse], None]


class EmulatorServer:
    """A local SharePoint Online REST endpoint for the unmodified office365 client.

    ``data`` is the SQLite file of the object model (None = in memory); ``token`` the bearer
    token clients must send (random when None); ``latency_ms``/``jitter_ms`` delay every HTTP
    exchange; ``fault_rate`` fails that share of calls with 429/503 + ``Retry-After`` (RNG seeded
    by ``seed``); ``throttle_ru_per_minute`` enables the RU meter. A non-loopback ``host`` is
    refused unless ``allow_remote``. ``app`` injects an object model (tests).

    ``observers`` (per server) and ``EmulatorServer.all_observers`` (every server in the process)
    are called with each answer in verbose form; an observer that raises is logged and ignored.
    """

    all_observers: ClassVar[list[Observer]] = []

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        data: str | None = None,
        token: str | None = None,
        latency_ms: float = 0,
        jitter_ms: float = 0,
        fault_rate: float = 0.0,
        throttle_ru_per_minute: int | None = None,
        allow_remote: bool = False,
        seed: int | None = 0,
        *,
        app: ObjectModel | None = None,
        throttle_window_s: float = 60.0,
        digest_timeout_s: int = DIGEST_TIMEOUT_S,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_batch_operations: int = MAX_BATCH_OPERATIONS,
        users: Iterable[DirectoryUser | str | Mapping[str, Any]] | None = None,
    ) -> None:
        if not allow_remote and not _is_loopback(host):
            raise EmulatorError(
                f"Refusing to bind the emulator to {host!r}: it is not a loopback address and the emulator "
                "accepts any client that knows its token.",
                hint="Use --host 127.0.0.1, or pass --allow-remote (allow_remote=True) if you really mean it.",
            )
        if not 0.0 <= fault_rate <= 1.0:
            raise EmulatorError(
                f"The fault rate must be between 0 and 1, not {fault_rate}.",
                hint="Use e.g. --fault-rate 0.05 for 5 % failures.",
            )
        if throttle_ru_per_minute is not None and throttle_ru_per_minute <= 0:
            raise EmulatorError(
                f"The RU budget must be a positive number, not {throttle_ru_per_minute}.",
                hint="SPO allows 1250 RU per minute for tenants up to 1000 licences.",
            )
        self.host = host
        self.port = port
        self.data = data
        self.token = token or new_token()
        self.faults = Faults(latency_ms, jitter_ms, fault_rate, seed)
        self.log = RequestLog()
        self.digests = DigestStore(digest_timeout_s)
        self.meter: ResourceMeter | None = None
        if throttle_ru_per_minute:
            self.meter = ResourceMeter(throttle_ru_per_minute, throttle_window_s)
        self.max_body_bytes = max_body_bytes
        self.max_batch_operations = max_batch_operations
        self.observers: list[Observer] = []
        self._local = threading.local()  # .injected: the answer came from a fault rule
        # the tenant directory (None: the default one; docs/emulator.md, "Tenant directory")
        self.users = None if users is None else users_from(users)
        self._app = app
        self._own_app = app is None
        self._httpd: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def app(self) -> ObjectModel:
        if self._app is None:
            self._app = SharePointApp(self.data, users=self.users)
        return self._app

    def add_user(self, upn: str, name: str = "", *, email: str = "", object_id: str = "") -> DirectoryUser:
        """Add a person to the tenant directory, so that EnsureUser and person values resolve them."""
        app = self.app
        if not isinstance(app, SharePointApp):
            raise EmulatorError("This server's object model keeps no tenant directory.")
        return app.add_user(new_user(upn, name, email, object_id))

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the running server (no trailing slash)."""
        if self._httpd is None:
            raise EmulatorError("The emulator is not running.", hint="Call start() first.")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._httpd is not None

    def start(self) -> EmulatorServer:
        """Bind and serve in a background thread; returns self."""
        if self._httpd is not None:
            return self
        _ = self.app  # open the object model before accepting connections
        self.faults.stopping.clear()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            httpd = HTTPServer((self.host, self.port), family, self)
        except OSError as exc:
            raise EmulatorError(
                f"Cannot listen on {self.host}:{self.port}: {exc.strerror or exc}.",
                hint="Pick another --port (0 chooses a free one).",
            ) from exc
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"veiviser-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join the server's threads."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self.faults.stopping.set()
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._own_app and self._app is not None:
            with contextlib.suppress(Exception):
                self._app.close()
            self._app = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- helpers for tests and tools ------------------------------------------------------------

    def access_token(self) -> dict[str, Any]:
        """A token callback for ``ClientContext(url).with_access_token(server.access_token)``."""
        return {"access_token": self.token, "token_type": "Bearer", "expires_in": 3600}

    def expire_digests(self) -> None:
        """Invalidate every form digest: the next write gets 403 ``-2130575251``."""
        self.digests.expire_all()

    def set_throttle(self, ru_per_minute: int | None, window_s: float = 60.0) -> None:
        """Switch the RU meter on (a fresh, empty window) or off (None)."""
        self.meter = ResourceMeter(ru_per_minute, window_s) if ru_per_minute else None

    # --- request pipeline -----------------------------------------------------------------------

    def handle_http(
        self,
        method: str,
        scheme: str,
        host: str,
        path: str,
        query: str,
        headers: Headers,
        body: bytes,
        too_large: bool = False,
    ) -> ApiResponse:
        """Answer one top-level HTTP request (never raises)."""
        started = time.perf_counter()
        self.faults.delay()
        lowered = path.lower().rstrip("/")
        is_batch = lowered.endswith("/_api/$batch")
        effective = method.upper()
        self._local.injected = False
        override = headers.get("X-HTTP-Method")
        if effective == "POST" and override:
            effective = override.strip().upper()
        try:
            resp = self._top(
                effective, scheme, host, path, lowered, query, headers, body, too_large, is_batch
            )
        except RestError as exc:
            resp = exc.to_response()
        except Exception:
            log.exception("emulator: unhandled error on %s %s", method, path)
            resp = _internal_error()
        elapsed = (time.perf_counter() - started) * 1000.0
        self.log.record("batch" if is_batch else "request", effective, path, resp.status, elapsed)
        if not is_batch:
            self._observe("request", effective, path, query, resp)
        return render_dialect(resp, headers.get("Accept"), _api_root(scheme, host, path))

    def _top(
        self,
        method: str,
        scheme: str,
        host: str,
        path: str,
        lowered: str,
        query: str,
        headers: Headers,
        body: bytes,
        too_large: bool,
        is_batch: bool,
    ) -> ApiResponse:
        if not bearer_ok(headers, self.token):
            return unauthorized()
        if too_large:
            raise RestError(
                413,
                "-2130575339, Microsoft.SharePoint.SPException",
                f"The request message is too big. A maximum of {self.max_body_bytes} bytes is allowed.",
            )
        injected = self.faults.apply(method, path, body, "top")
        if injected is not None:
            self._local.injected = True
            return injected
        rate_headers: dict[str, str] = {}
        meter = self.meter
        if meter is not None:
            decision = meter.blocked() if is_batch else meter.charge(request_cost(method, path, query, body))
            if decision is not None and not decision.allowed:
                return _throttled(decision)
            if decision is not None:
                rate_headers = decision.headers
        if method == "POST" and lowered.endswith("/_api/contextinfo"):
            location = self.app.locate(host, path, scheme)
            resp = context_info(self.digests.issue(), location, self.digests.timeout_s)
        else:
            if method not in _READ_METHODS and not self.digests.valid(headers.get("X-RequestDigest")):
                raise invalid_digest()
            if is_batch:
                if method != "POST":
                    raise RestError(
                        405,
                        "-1, Microsoft.SharePoint.Client.ClientServiceException",
                        "$batch accepts POST only.",
                    )
                resp = self._batch(scheme, host, path, headers, body)
                if meter is not None:  # the envelope reports the window after its members' charges
                    rate_headers = meter.headers()
            else:
                resp = self.app.handle(ApiRequest(method, host, path, query, headers, body, scheme))
        for name, value in rate_headers.items():
            resp.headers.setdefault(name, value)
        return resp

    def _batch(self, scheme: str, host: str, path: str, headers: Headers, body: bytes) -> ApiResponse:
        operations = parse_batch(body, headers.get("Content-Type"), scheme, host, self.max_batch_operations)
        envelope = self.app.locate(host, path, scheme)
        auth = headers.get("Authorization") or ""
        return build_batch_response([self._part(op, envelope, auth) for op in operations])

    def _part(self, op: BatchOperation, envelope: SiteLocation, auth: str) -> ApiResponse:
        started = time.perf_counter()
        method = op.method
        self._local.injected = False
        override = op.headers.get("X-HTTP-Method")
        if method == "POST" and override:
            method = override.strip().upper()
        try:
            resp = self._run_part(op, method, envelope, auth)
        except RestError as exc:
            resp = exc.to_response()
        except Exception:
            log.exception("emulator: unhandled error in $batch part %s %s", method, op.path)
            resp = _internal_error()
        elapsed = (time.perf_counter() - started) * 1000.0
        self.log.record("batch-part", method, op.path, resp.status, elapsed)
        self._observe("batch-part", method, op.path, op.query, resp)
        return render_dialect(resp, op.headers.get("Accept"), _api_root(op.scheme, op.host, op.path))

    def _observe(self, kind: str, method: str, path: str, query: str, resp: ApiResponse) -> None:
        if self._local.injected:
            return  # a fault rule's answer is the test's own, not the emulator's
        for observer in (*self.all_observers, *self.observers):
            try:
                observer(self, kind, method, path, query, resp)
            except Exception:
                log.exception("emulator: response observer failed on %s %s", method, path)

    def _run_part(self, op: BatchOperation, method: str, envelope: SiteLocation, auth: str) -> ApiResponse:
        lowered = op.path.lower().rstrip("/")
        if lowered.endswith(("/_api/$batch", "/_api/contextinfo")):
            raise RestError(
                400,
                "-1, Microsoft.Data.OData.ODataException",
                f"$batch operation {op.index + 1}: {op.path} cannot be used inside a $batch.",
            )
        location = self.app.locate(op.host, op.path, op.scheme)
        if location.site_url.rstrip("/").lower() != envelope.site_url.rstrip("/").lower():
            raise RestError(
                400,
                "-1, System.InvalidOperationException",
                f"$batch operation {op.index + 1} targets {location.site_url}, but all operations in a batch "
                f"must target the site of the $batch request ({envelope.site_url}).",
            )
        injected = self.faults.apply(method, op.path, op.body, "batch-part")
        if injected is not None:
            self._local.injected = True
            return injected
        rate_headers: dict[str, str] = {}
        if self.meter is not None:
            decision = self.meter.charge(request_cost(method, op.path, op.query, op.body))
            if not decision.allowed:
                return _throttled(decision)
            rate_headers = decision.headers
        headers = Headers(op.headers)
        headers["Authorization"] = auth  # parts inherit the envelope's authentication
        resp = self.app.handle(ApiRequest(method, op.host, op.path, op.query, headers, op.body, op.scheme))
        for name, value in rate_headers.items():
            resp.headers.setdefault(name, value)
        return resp


def serve_until_signal(server: EmulatorServer, announce: Any = print) -> None:
    """Start ``server``, announce ``Emulator listening on URL (token: TOKEN)``, serve until
    SIGINT/SIGTERM, then stop cleanly. Must run in the main thread (signal handlers)."""
    import signal

    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        announce(f"Emulator listening on {server.url} (token: {server.token})")
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)

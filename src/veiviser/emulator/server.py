"""The emulator's HTTP server: auth, form digests, ``$batch``, latency, faults, throttling, log.

:class:`EmulatorServer` runs in-process on a free port (threaded, keep-alive) and hands every
REST call, and every part of a ``$batch``, to :class:`veiviser.emulator.app.SharePointApp` as an
:class:`~veiviser.emulator.api.ApiRequest`. The wire formats are described in docs/emulator.md.

    with EmulatorServer() as server:
        ctx = ClientContext(server.url + "/sites/demo").with_access_token(server.access_token)
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import re
import socket
import threading
import time
import uuid
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

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
from veiviser.emulator.requestlog import RequestLog
from veiviser.emulator.throttle import Decision, ResourceMeter, request_cost
from veiviser.errors import VeiviserError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_048_576  # SPO request body limit (docs/emulator.md, "Throttling and limits")
_DISCARD_LIMIT = 64 * 1024 * 1024  # above this an oversized body is not even read
_READ_METHODS = frozenset({"GET", "HEAD"})
_ABSOLUTE = re.compile(r"^https?://", re.IGNORECASE)
_MAX_HEADERS = 100
_PHRASES = {status.value: status.phrase for status in HTTPStatus}
_date_cache: list[Any] = [0, ""]


def _http_date() -> str:
    """The ``Date`` header, formatted once per second (formatdate costs more than a small GET's routing)."""
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[:] = [now, formatdate(now, usegmt=True)]
    return str(_date_cache[1])


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


def _throttled(decision: Decision) -> ApiResponse:
    resp = fault_response(429, decision.retry_after)
    for name, value in decision.headers.items():
        resp.headers[name] = value
    return resp


class EmulatorServer:
    """A local SharePoint Online REST endpoint for the unmodified office365 client.

    ``data`` is the SQLite file of the object model (None = in memory); ``token`` the bearer
    token clients must send (random when None); ``latency_ms``/``jitter_ms`` delay every HTTP
    exchange; ``fault_rate`` fails that share of calls with 429/503 + ``Retry-After`` (RNG seeded
    by ``seed``); ``throttle_ru_per_minute`` enables the RU meter. A non-loopback ``host`` is
    refused unless ``allow_remote``. ``app`` injects an object model (tests).
    """

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
        self._app = app
        self._own_app = app is None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------------

    @property
    def app(self) -> ObjectModel:
        if self._app is None:
            self._app = SharePointApp(self.data)
        return self._app

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
            httpd = _HTTPServer((self.host, self.port), _Handler, family, self)
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
        return resp

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
        return resp

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


class _HTTPServer(ThreadingHTTPServer):
    """A threaded server that tracks its connections so stop() can close idle keep-alives."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], handler: type, family: int, emulator: EmulatorServer
    ) -> None:
        self.address_family = family
        self.emulator = emulator
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__(address, handler)

    def track(self, conn: socket.socket, add: bool) -> None:
        with self._conn_lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("emulator: connection error from %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    """Parses HTTP/1.1 (origin-form and absolute-form request lines) and writes responses."""

    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this many seconds
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("emulator: " + format, *args)

    def handle_one_request(self) -> None:
        try:
            self.raw_requestline = self.rfile.readline(65537)
        except (TimeoutError, OSError):
            self.close_connection = True
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414, "Request-URI Too Long")
            return
        if not self.parse_request():
            return
        try:
            self._serve()
            self.wfile.flush()
        except (TimeoutError, OSError):
            self.close_connection = True

    def parse_request(self) -> bool:
        """Request line and headers, without the stdlib's email parser (a third of a small GET's cost).

        Same rules as ``BaseHTTPRequestHandler.parse_request`` for what the emulator serves: HTTP/1.0
        and 1.1, keep-alive by version and ``Connection``, ``Expect: 100-continue``, at most 100
        header lines of at most 64 KiB; ``self.headers`` is a case-insensitive :class:`Headers`.
        """
        self.command = None  # type: ignore[assignment]
        self.request_version = self.default_request_version
        self.close_connection = True
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline = line
        words = line.split()
        if len(words) != 3:
            self.send_error(400, f"Bad request syntax ({line[:200]!r})")
            return False
        command, target, version = words
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            if version.startswith("HTTP/"):
                self.send_error(505, f"Invalid HTTP version ({version[:20]})")
            else:
                self.send_error(400, f"Bad request version ({version[:20]!r})")
            return False
        self.command, self.path, self.request_version = command, target, version
        headers = Headers()
        last: str | None = None
        for _ in range(_MAX_HEADERS + 1):
            raw = self.rfile.readline(65537)
            if len(raw) > 65536:
                self.send_error(431, "Line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            text = raw.decode("iso-8859-1").rstrip("\r\n")
            if text[:1] in (" ", "\t") and last is not None:  # obsolete line folding
                headers[last] = headers[last] + " " + text.strip()
                continue
            name, sep, value = text.partition(":")
            name = name.strip()
            if not sep or not name:
                self.send_error(400, "Malformed header line")
                return False
            if name not in headers:  # the first occurrence wins, as with the stdlib's message.get()
                headers[name] = value.strip()
            last = name
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers  # type: ignore[assignment]
        conntype = (headers.get("Connection") or "").lower()
        if version == "HTTP/1.1":
            self.close_connection = conntype == "close"
        else:
            self.close_connection = conntype != "keep-alive"
        if version == "HTTP/1.1" and (headers.get("Expect") or "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Malformed HTTP gets a SharePoint-shaped error too (never an HTML page)."""
        self.close_connection = True
        text = message or HTTPStatus(code).phrase
        resp = RestError(
            code,
            "-1, Microsoft.SharePoint.Client.InvalidClientQueryException",
            f"Malformed HTTP request: {text}.",
        ).to_response()
        with contextlib.suppress(OSError):
            self._write(resp, 0.0, head_only=False)

    def _read_body(self) -> tuple[bytes, bool] | None:
        """The request body and whether it exceeded the limit; None after answering an error."""
        limit = self.server.emulator.max_body_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(1024).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    self.send_error(400, "Bad chunked transfer encoding")
                    return None
                if size == 0:
                    while self.rfile.readline(1024).strip():
                        pass
                    break
                total += size
                if total > _DISCARD_LIMIT:
                    self.send_error(413, "Request body too large")
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
            body = b"".join(chunks)
            return (b"", True) if len(body) > limit else (body, False)
        raw = self.headers.get("Content-Length")
        if raw is None:
            return b"", False
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self.send_error(400, "Bad Content-Length")
            return None
        if length > _DISCARD_LIMIT:
            self.send_error(413, "Request body too large")
            return None
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return None
        return (b"", True) if length > limit else (body, False)

    def _serve(self) -> None:
        started = time.perf_counter()
        emulator = self.server.emulator
        target = self.path
        if self.command.upper() == "CONNECT":
            self.send_error(
                405,
                "the emulator proxies plain http:// URLs only (no CONNECT/https); "
                "use http:// site URLs with proxies={'http': ...}",
            )
            return
        if _ABSOLUTE.match(target):  # absolute-form: the emulator used as an HTTP proxy
            parts = urlsplit(target)
            scheme, host, raw_path, query = parts.scheme.lower(), parts.netloc, parts.path or "/", parts.query
        else:
            scheme = "http"
            host = self.headers.get("Host") or f"{self.server.server_address[0]!s}:{emulator.port}"
            raw_path, _, query = target.partition("?")
        read = self._read_body()
        if read is None:
            return
        body, too_large = read
        try:
            path = unquote(raw_path, errors="strict")
        except UnicodeDecodeError:
            self.send_error(400, "The request path is not valid UTF-8 after percent-decoding")
            return
        headers: Headers = self.headers  # type: ignore[assignment]  # parse_request builds a Headers
        resp = emulator.handle_http(self.command, scheme, host, path, query, headers, body, too_large)
        self._write(resp, started, head_only=self.command.upper() == "HEAD")

    def _write(self, resp: ApiResponse, started: float, head_only: bool) -> None:
        phrase = _PHRASES.get(resp.status, "Unknown")
        request_id = str(uuid.uuid4())
        duration = int((time.perf_counter() - started) * 1000) if started else 0
        lines = [f"HTTP/1.1 {resp.status} {phrase}"]
        for name, value in resp.headers.items():
            if name not in ("content-length", "connection"):
                lines.append(f"{name}: {value}")
        lines += [
            f"Content-Length: {len(resp.body)}",
            f"Date: {_http_date()}",
            f"Server: {self.server_version}",
            f"request-id: {request_id}",
            f"SPRequestGuid: {request_id}",
            f"SPRequestDuration: {duration}",
            "X-SharePointHealthScore: 0",
            "MicrosoftSharePointTeamServices: 16.0.0.25919",
            "X-Content-Type-Options: nosniff",
            "Connection: close" if self.close_connection else "Connection: keep-alive",
        ]
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        self.wfile.write(head if head_only else head + resp.body)


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

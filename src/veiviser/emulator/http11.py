"""HTTP/1.1 framing for the emulator: a threaded server and a request handler on the standard
library's ``http.server``.

The handler parses request lines (origin-form, and absolute-form when the emulator is used as a
plain-http proxy) and headers itself, reads bodies (``Content-Length`` or chunked), hands every
request to :meth:`EmulatorServer.handle_http <veiviser.emulator.server.EmulatorServer.handle_http>`
and writes the answer with the headers SharePoint Online sends. Malformed HTTP is answered with a
SharePoint-shaped error too.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
import uuid
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from .api import ApiResponse, Headers, RestError

if TYPE_CHECKING:
    from .server import EmulatorServer

log = logging.getLogger(__name__)

_DISCARD_LIMIT = 64 * 1024 * 1024  # above this an oversized body is not even read
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


class HTTPServer(ThreadingHTTPServer):
    """A threaded server that tracks its connections so stop() can close idle keep-alives."""

    daemon_threads = False
    block_on_close = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], family: int, emulator: EmulatorServer) -> None:
        self.address_family = family
        self.emulator = emulator
        self._conn_lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        super().__init__(address, _Handler)

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
    server: HTTPServer

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

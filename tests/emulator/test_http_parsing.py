"""The server's own request-line and header parser (it replaces the stdlib's email-based one)."""

from __future__ import annotations

import json
import socket

from veiviser.emulator.server import EmulatorServer

SITE = "/sites/demo"


def _exchange(server: EmulatorServer, data: bytes, wait_close: bool = True) -> bytes:
    with socket.create_connection((server.host, server.port), timeout=5) as sock:
        sock.sendall(data)
        sock.settimeout(1.5)
        chunks = []
        try:
            while chunk := sock.recv(65536):
                chunks.append(chunk)
                if not wait_close and b"\r\n\r\n" in b"".join(chunks):
                    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
                    length = int(
                        next(
                            (
                                ln.split(b":")[1]
                                for ln in head.split(b"\r\n")
                                if ln.lower().startswith(b"content-length:")
                            ),
                            b"0",
                        )
                    )
                    if len(body) >= length:
                        break
        except TimeoutError:
            pass
    return b"".join(chunks)


def _get(server: EmulatorServer, extra: bytes = b"", version: bytes = b"HTTP/1.1") -> bytes:
    return (
        b"GET "
        + SITE.encode()
        + b"/_api/Web "
        + version
        + b"\r\nHost: 127.0.0.1\r\n"
        + b"Authorization: Bearer "
        + server.token.encode()
        + b"\r\n"
        + extra
        + b"\r\n"
    )


def test_headers_are_case_insensitive_folded_and_first_wins(emulator):
    data = (
        b"GET /sites/demo/_api/Web HTTP/1.1\r\nhost: 127.0.0.1\r\nAUTHORIZATION: Bearer "
        + emulator.token.encode()
        + b"\r\nX-Folded: a\r\n  b\r\nAuthorization: Bearer wrong\r\n\r\n"
    )
    reply = _exchange(emulator, data, wait_close=False)
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n"), reply[:100]
    assert b"Connection: keep-alive" in reply


def test_keep_alive_by_version_and_connection_header(emulator):
    assert b"Connection: close" in _exchange(emulator, _get(emulator, b"Connection: close\r\n"))
    assert b"Connection: close" in _exchange(emulator, _get(emulator, version=b"HTTP/1.0"))
    reply = _exchange(emulator, _get(emulator, b"Connection: keep-alive\r\n", b"HTTP/1.0"), wait_close=False)
    assert b"Connection: keep-alive" in reply
    # two pipelined requests on one keep-alive connection get two answers
    reply = _exchange(emulator, _get(emulator) + _get(emulator, b"Connection: close\r\n"))
    assert reply.count(b"HTTP/1.1 200 OK") == 2


def test_expect_100_continue(emulator):
    reply = _exchange(emulator, _get(emulator, b"Expect: 100-continue\r\nConnection: close\r\n"))
    assert reply.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")


def test_bad_versions_header_lines_and_too_many_headers_get_sharepoint_errors(emulator):
    cases = [
        (b"GET /x HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /x FTP/1.0\r\n\r\n", b"400"),
        (b"GET /x HTTP/1.1\r\nno-colon-here\r\n\r\n", b"400"),
        (b"GET /x HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(120)) + b"\r\n", b"431"),
        (b"GET /x HTTP/1.1\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
    ]
    for data, status in cases:
        reply = _exchange(emulator, data)
        assert reply.startswith(b"HTTP/1.1 " + status), (data[:40], reply[:80])
        head, _, body = reply.partition(b"\r\n\r\n")
        assert b"Connection: close" in head
        assert json.loads(body)["error"]["code"].startswith("-1, ")
    assert _exchange(emulator, _get(emulator, b"Connection: close\r\n")).startswith(b"HTTP/1.1 200")


def test_date_header_is_http_date(emulator):
    reply = _exchange(emulator, _get(emulator, b"Connection: close\r\n"))
    date = next(ln for ln in reply.split(b"\r\n") if ln.startswith(b"Date: "))
    assert date.endswith(b" GMT") and len(date) == len(b"Date: Sun, 22 Nov 2026 11:00:00 GMT")

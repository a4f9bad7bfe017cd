"""``parse_batch_response``: the client's reading of ``$batch`` answers in the shapes servers send."""

from __future__ import annotations

import json

import pytest

from veiviser.sharepoint.batch import parse_batch_response
from veiviser.sharepoint.errors import SharePointError


def _http(status: str, headers: dict[str, str], body: bytes = b"") -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


def _part(http: bytes, boundary: str) -> bytes:
    return (
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n".encode()
        + http
        + b"\r\n"
    )


JSON = {"Content-Type": "application/json;odata=verbose;charset=utf-8"}


def test_nested_changesets_are_flattened_in_order() -> None:
    changeset = (
        _part(_http("201 Created", JSON, b'{"d":{"Id":1}}'), "changesetresponse_a")
        + _part(_http("204 No Content", {}), "changesetresponse_a")
        + b"--changesetresponse_a--\r\n"
    )
    body = (
        _part(_http("200 OK", JSON, b'{"d":{"Title":"A"}}'), "batchresponse_x")
        + b"--batchresponse_x\r\nContent-Type: multipart/mixed; boundary=changesetresponse_a\r\n\r\n"
        + changeset
        + _part(_http("404 Not Found", JSON, b'{"error":{"code":"-1"}}'), "batchresponse_x")
        + b"--batchresponse_x--\r\n"
    )
    parts = parse_batch_response("multipart/mixed; boundary=batchresponse_x", body)
    assert [p.status for p in parts] == [200, 201, 204, 404]
    assert parts[0].json() == {"d": {"Title": "A"}}
    assert parts[1].json() == {"d": {"Id": 1}}
    assert parts[2].body == b"" and parts[2].json() is None
    assert parts[3].headers["content-type"].startswith("application/json")


def test_lf_line_ends_read_like_crlf() -> None:
    crlf = (
        _part(_http("201 Created", {**JSON, "ETag": '"1"'}, b'{"d":{"Id":7}}'), "b1")
        + _part(_http("429 Too Many Requests", {"Retry-After": "4"}), "b1")
        + b"--b1--\r\n"
    )
    lf = crlf.replace(b"\r\n", b"\n")
    for body in (crlf, lf):
        parts = parse_batch_response('multipart/mixed; boundary="b1"', body)
        assert [(p.status, p.headers.get("retry-after"), p.body) for p in parts] == [
            (201, None, b'{"d":{"Id":7}}'),
            (429, "4", b""),
        ]
        assert parts[0].headers["etag"] == '"1"'


def test_preamble_and_epilogue_are_ignored() -> None:
    body = (
        b"This is a preamble that servers may send.\r\n"
        + _part(_http("200 OK", JSON, b'{"d":{"results":[]}}'), "b2")
        + b"--b2--\r\nand an epilogue\r\n"
    )
    parts = parse_batch_response("multipart/mixed; boundary=b2", body)
    assert [p.status for p in parts] == [200]
    assert parts[0].json() == {"d": {"results": []}}


def test_empty_bodies_and_headerless_answers() -> None:
    body = (
        _part(b"HTTP/1.1 204 No Content\r\n\r\n", "b3")
        + _part(b"HTTP/1.1 200 OK\r\n\r\n", "b3")
        + _part(_http("500 Internal Server Error", JSON), "b3")
        + b"--b3--\r\n"
    )
    parts = parse_batch_response("multipart/mixed; boundary=b3", body)
    assert [(p.status, p.body, p.headers) for p in parts[:2]] == [(204, b"", {}), (200, b"", {})]
    assert parts[2].status == 500 and parts[2].body == b""


def test_utf8_multiline_bodies_survive_byte_for_byte() -> None:
    payload = json.dumps({"d": {"Title": "Møte på Ås"}}, ensure_ascii=False, indent=1).encode("utf-8")
    body = _part(_http("200 OK", JSON, payload), "b4") + b"--b4--\r\n"
    parts = parse_batch_response("multipart/mixed; boundary=b4", body)
    assert parts[0].body == payload
    assert parts[0].json() == {"d": {"Title": "Møte på Ås"}}


def test_parts_that_are_not_http_answers_are_skipped() -> None:
    body = (
        b"--b5\r\nContent-Type: text/plain\r\n\r\nnot an answer\r\n"
        + _part(_http("200 OK", JSON, b"{}"), "b5")
        + b"--b5--\r\n"
    )
    assert [p.status for p in parse_batch_response("multipart/mixed; boundary=b5", body)] == [200]


@pytest.mark.parametrize("content_type", ["application/json", "multipart/mixed", ""])
def test_answers_without_a_boundary_are_refused(content_type: str) -> None:
    with pytest.raises(SharePointError, match="not multipart"):
        parse_batch_response(content_type, b"{}")

"""The SharePoint REST ``$batch`` wire format: operations in, per-operation results out.

veiviser builds the multipart body itself and sends it through the client's request pipeline
(``execute_request_direct``: the client's auth, form digest and digest-expiry recovery still
apply, and our transport retries the envelope on 429/503). We do not queue client queries and call
``execute_batch`` because that path re-orders reads after writes (one changeset first, GETs after,
docs/sharepoint.md, "$batch"), raises on the first permanent failure, sends ``add_item`` as one batch per
item and ``item.update()`` as N+1 batches, and gives no result per row. Building the
body gives: the caller's order, one HTTP request per 100 operations, and a result for every row.

Layout: consecutive writes share one changeset, reads stand alone between them, all in the given
order; SharePoint answers flat ``application/http`` parts positionally, and
changesets are not transactional, so every row succeeds or fails on its own.
"""

from __future__ import annotations

import email
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from veiviser.sharepoint.errors import SharePointError

READ_METHODS = frozenset({"GET"})
#: Service operations called with POST that only read, so they may be re-sent after a 5xx.
SAFE_TO_RESEND_POSTS = ("getchanges", "getitems", "ensureuser", "getlistitemchangessincetoken", "gethubsites")

_URL_SAFE = ":/?#[]@!$&'()*+,;=%"


@dataclass(frozen=True)
class Operation:
    """One REST call relative to the site's ``_api/``: ``Operation("MERGE", "Web/lists(guid'…')/items(5)", {...})``.

    ``key`` is echoed in the result (defaults to the position). ``list``/``item`` only serve error
    messages. ``idempotent`` overrides the guess (GET/MERGE/DELETE and read-only POSTs are).
    """

    method: str
    path: str
    body: Any = None
    key: Any = None
    list: str | None = None
    item: int | str | None = None
    idempotent: bool | None = None
    if_match: str | None = None
    """The ETag a MERGE/DELETE must match (``None``: ``*``, any version; docs/sharepoint.md, "ETags")."""

    @property
    def verb(self) -> str:
        return self.method.upper()

    @property
    def is_read(self) -> bool:
        return self.verb in READ_METHODS

    @property
    def safe_to_resend(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        if self.verb in ("GET", "MERGE", "DELETE", "PUT", "PATCH"):
            return True
        tail = self.path.split("?")[0].rstrip("/").rsplit("/", 1)[-1].split("(")[0].lower()
        return tail in SAFE_TO_RESEND_POSTS


@dataclass
class OperationResult:
    """The outcome of one operation: ``ok`` with ``value`` (unwrapped JSON or ``None``), or an ``error``.

    ``next_url`` is the collection's ``__next`` link when the answer was one page of several:
    continue with :meth:`SiteClient.iter_pages(result.next_url) <veiviser.sharepoint.SiteClient.iter_pages>`
    (or :meth:`~veiviser.sharepoint.SiteClient.rest_of_pages`).
    """

    key: Any
    status: int
    value: Any = None
    error: SharePointError | None = None
    attempts: int = 1
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    next_url: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and 200 <= self.status < 300


@dataclass
class RawPart:
    """One sub-response: status, headers (lower-case keys) and body bytes."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        if not self.body.strip():
            return None
        return json.loads(self.body.decode("utf-8"))


def encode_url(url: str) -> str:
    """Percent-encode spaces and non-ASCII (already-encoded ``%xx`` is kept)."""
    return quote(url, safe=_URL_SAFE)


def operation_body(op: Operation) -> bytes:
    if op.body is None:
        return b""
    if isinstance(op.body, bytes | bytearray):
        return bytes(op.body)
    if isinstance(op.body, str):
        return op.body.encode("utf-8")
    return json.dumps(op.body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def render_part(op: Operation, service_root: str, extra_headers: Mapping[str, str]) -> bytes:
    """The ``application/http`` part of one operation (headers and body, CRLF line ends)."""
    url = encode_url(f"{service_root}/{op.path.lstrip('/')}")
    lines = [
        "Content-Type: application/http",
        "Content-Transfer-Encoding: binary",
        "",
        f"{op.verb} {url} HTTP/1.1",
        "Accept: application/json;odata=verbose",
    ]
    body = operation_body(op)
    if not op.is_read:
        lines.append("Content-Type: application/json;odata=verbose")
    if op.verb in ("MERGE", "DELETE", "PUT", "PATCH"):
        lines += [f"X-HTTP-Method: {op.verb}", f"IF-MATCH: {op.if_match or '*'}"]
    lines += [f"{name}: {value}" for name, value in extra_headers.items()]
    head = "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n"
    return head + body + (b"\r\n" if body else b"")


def render_batch(
    ops: list[Operation], service_root: str, extra_headers: Mapping[str, str] | None = None
) -> tuple[str, bytes]:
    """``(boundary, body)``: consecutive writes grouped into changesets, all in the given order."""
    boundary = f"batch_{uuid.uuid4()}"
    extra = dict(extra_headers or {})
    out: list[bytes] = []
    i = 0
    while i < len(ops):
        if ops[i].is_read:
            out.append(f"--{boundary}\r\n".encode() + render_part(ops[i], service_root, extra))
            i += 1
            continue
        changeset = f"changeset_{uuid.uuid4()}"
        chunk = [f'--{boundary}\r\nContent-Type: multipart/mixed; boundary="{changeset}"\r\n\r\n'.encode()]
        while i < len(ops) and not ops[i].is_read:
            chunk.append(f"--{changeset}\r\n".encode() + render_part(ops[i], service_root, extra))
            i += 1
        chunk.append(f"--{changeset}--\r\n".encode())
        out.append(b"".join(chunk))
    out.append(f"--{boundary}--\r\n".encode())
    return boundary, b"".join(out)


def part_size(op: Operation, service_root: str) -> int:
    """Approximate bytes one operation adds to a batch (for splitting by size)."""
    return len(render_part(op, service_root, {})) + 600  # boundaries, auth and digest headers


def parse_batch_response(content_type: str, body: bytes) -> list[RawPart]:
    """The sub-responses of a ``$batch`` answer, in order (nested changeset answers flattened).

    The MIME structure is read by the standard library's :mod:`email` parser (CRLF or LF line
    ends, preambles and epilogues, nested changesets); each ``application/http`` part then holds
    one HTTP response: a status line, headers and the body.
    """
    envelope = email.message_from_bytes(
        b"Content-Type: " + (content_type or "").encode("latin-1") + b"\r\n\r\n" + body
    )
    if not envelope.is_multipart() or envelope.get_boundary() is None:
        raise SharePointError(f"$batch answer is not multipart (Content-Type {content_type!r})")
    parts: list[RawPart] = []
    for part in envelope.walk():
        if part.is_multipart() or part.get_content_type() != "application/http":
            continue
        payload = part.get_payload(decode=True)
        parts.append(_http_response(payload if isinstance(payload, bytes) else b""))
    return parts


def _http_response(blob: bytes) -> RawPart:
    """Status, headers (lower-case keys) and body of one ``application/http`` part."""
    status_line, _, rest = blob.lstrip(b"\r\n").partition(b"\n")
    fields = status_line.decode("utf-8", "replace").split()
    status = int(fields[1]) if len(fields) > 1 and fields[1].isdigit() else 0
    message = email.message_from_bytes(rest)
    headers = {name.lower(): str(value).strip() for name, value in message.items()}
    content = message.get_payload(decode=True)
    return RawPart(status, headers, (content if isinstance(content, bytes) else b"").rstrip(b"\r\n"))


def operation_name(path: str) -> str:
    """The last path segment's name: ``spSiteManager/Create`` → ``Create``."""
    tail = path.split("?")[0].rstrip("/").rsplit("/", 1)[-1]
    return tail.split("(")[0]


def next_link(payload: Any) -> str | None:
    """A verbose collection answer's ``__next`` URL (``d.__next``), or ``None`` on the last page."""
    if not isinstance(payload, dict):
        return None
    d = payload.get("d", payload)
    link = d.get("__next") if isinstance(d, dict) else None
    return str(link) if link else None


def unwrap(payload: Any, path: str = "") -> Any:
    """``d`` of a verbose answer; a collection's ``results`` list; a service operation's wrapper removed."""
    if not isinstance(payload, dict):
        return payload
    d = payload.get("d", payload)
    if isinstance(d, dict):
        if isinstance(d.get("results"), list) and "__metadata" not in d:
            return d["results"]
        name = operation_name(path)
        keys = [k for k in d if k != "__metadata"]
        if name and keys == [name]:
            return d[name]
    return d

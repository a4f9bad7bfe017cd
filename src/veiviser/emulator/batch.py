"""``$batch``: parse the OData v3 multipart request dialect and write SPO's flat response.

Request dialect (docs/emulator.md, "$batch"): a MIME header
preamble may precede the first boundary; lines may end in bare LF; sub-request headers may be
``Name:value``; an extra blank line may precede the body; absolute URLs may carry raw UTF-8 and
spaces (method = text before the first space, URL = text between the first and the last space);
changesets are nested ``multipart/mixed`` parts, flattened here in order.

Response: ``multipart/mixed; boundary=batchresponse_<guid>`` with **flat**
``application/http`` parts in request order, CRLF inside every part.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import quote, unquote, urlsplit

from veiviser.emulator.api import ApiResponse, Headers, RestError

MAX_BATCH_OPERATIONS = 1000
_BOUNDARY = re.compile(r"""boundary\s*=\s*(?:"([^"]+)"|([^;\s]+))""", re.IGNORECASE)
_QUERY_SAFE = "=&$%'(),/:;@!*+?~-._"


def bad_batch(message: str) -> RestError:
    """A SharePoint-shaped 400 for a malformed ``$batch`` request."""
    return RestError(400, "-1, Microsoft.Data.OData.ODataException", message)


@dataclass
class BatchOperation:
    """One operation of a batch: the verb and absolute URL parts as the client sent them."""

    index: int
    method: str
    scheme: str
    host: str
    path: str  # percent-decoded
    query: str  # percent-encoded, without '?'
    headers: Headers
    body: bytes
    in_changeset: bool


def boundary_of(content_type: str | None) -> str | None:
    """The ``boundary`` parameter of a ``multipart/mixed`` content type, or None."""
    if not content_type or "multipart/mixed" not in content_type.lower():
        return None
    m = _BOUNDARY.search(content_type)
    return (m.group(1) or m.group(2)) if m else None


def _split_parts(text: str, boundary: str) -> list[str]:
    """The parts between ``--boundary`` delimiter lines (preamble and epilogue dropped).

    A delimiter line is ``--boundary`` or ``--boundary--`` at the start of a line, followed only by
    spaces or tabs. Scanned with ``str.find``: every batch has its own boundary, so a regex per
    boundary was compiled anew for each batch and changeset and dominated the parse.
    """
    marker = "--" + boundary
    parts: list[str] = []
    start: int | None = None
    pos = 0
    while True:
        at = text.find(marker, pos)
        if at < 0:
            break
        end = text.find("\n", at)
        end = len(text) if end < 0 else end
        rest = text[at + len(marker) : end]
        closing = rest.startswith("--")
        if (at > 0 and text[at - 1] != "\n") or (rest[2:] if closing else rest).strip(" \t"):
            pos = at + 1  # the marker inside a line, or followed by more text: not a delimiter
            continue
        if start is not None:
            parts.append(text[start:at])
        if closing:
            return parts
        start = pos = end
    raise bad_batch(f"The batch body has no closing delimiter '--{boundary}--'.")


def _split_head(block: str) -> tuple[list[str], str]:
    """Header lines and the rest of a MIME entity (leading blank lines skipped)."""
    block = block.lstrip("\n")
    head, sep, rest = block.partition("\n\n")
    if not sep:
        head, rest = block.rstrip("\n"), ""
    return [line for line in head.split("\n") if line.strip()], rest


def _headers(lines: list[str], where: str) -> Headers:
    headers = Headers()
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()  # a folded (continued) MIME header line
        else:
            unfolded.append(line)
    for line in unfolded:
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise bad_batch(f"{where}: malformed header line {line[:80]!r}; expected 'Name: value'.")
        headers[name.strip()] = value.strip()
    return headers


def _operation(block: str, index: int, in_changeset: bool, scheme: str, host: str) -> BatchOperation:
    where = f"$batch operation {index + 1}"
    lines, rest = _split_head(block)
    mime = _headers(lines, where)
    if "application/http" not in (mime.get("Content-Type") or "").lower():
        raise bad_batch(f"{where}: the part's Content-Type must be application/http.")
    rest = rest.lstrip("\n")
    request_line, _, after = rest.partition("\n")
    request_line = request_line.strip()
    first, last = request_line.find(" "), request_line.rfind(" ")
    if first <= 0:
        raise bad_batch(
            f"{where}: malformed request line {request_line[:120]!r}; expected 'METHOD URL HTTP/1.1'."
        )
    method = request_line[:first].upper()
    if last > first and request_line[last + 1 :].upper().startswith("HTTP/"):
        url = request_line[first + 1 : last].strip()
    else:
        url = request_line[first + 1 :].strip()
    head, sep, body = after.partition("\n\n")
    if not sep:
        head, body = after, ""
    headers = _headers([h for h in head.split("\n") if h.strip()], where)
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        scheme, host = parts.scheme.lower(), parts.netloc
    elif not url.startswith("/"):
        raise bad_batch(f"{where}: the URL {url[:120]!r} is neither absolute nor server-relative.")
    try:
        path = unquote(parts.path, errors="strict")
    except UnicodeDecodeError as exc:
        raise bad_batch(f"{where}: the URL path is not valid UTF-8 after percent-decoding.") from exc
    # Raw spaces/UTF-8 in the query: encode them as requests does at top level; keep %XX as is.
    query = quote(parts.query, safe=_QUERY_SAFE)
    data = body.strip().encode("utf-8")
    return BatchOperation(index, method, scheme, host, path, query, headers, data, in_changeset)


def parse_batch(
    body: bytes, content_type: str | None, scheme: str, host: str, max_operations: int = MAX_BATCH_OPERATIONS
) -> list[BatchOperation]:
    """The operations of a ``$batch`` body in request order (changesets flattened).

    Raises :class:`RestError` (400) with a message saying what is wrong.
    """
    boundary = boundary_of(content_type)
    if not boundary:
        raise bad_batch("A $batch request needs 'Content-Type: multipart/mixed; boundary=...'.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise bad_batch(f"The batch body is not valid UTF-8 (byte {exc.start}).") from exc
    text = text.replace("\r\n", "\n")
    ops: list[BatchOperation] = []
    for part in _split_parts(text, boundary):
        lines, rest = _split_head(part)
        mime = _headers(lines, f"$batch part {len(ops) + 1}")
        inner = boundary_of(mime.get("Content-Type"))
        if inner:
            for sub in _split_parts(rest, inner):
                ops.append(_operation(sub, len(ops), True, scheme, host))
        else:
            ops.append(_operation(part, len(ops), False, scheme, host))
        if len(ops) > max_operations:
            raise bad_batch(
                f"The batch has more than {max_operations} operations; split it into smaller batches."
            )
    if not ops:
        raise bad_batch("The batch contains no operations.")
    return ops


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def build_batch_response(responses: list[ApiResponse]) -> ApiResponse:
    """SPO's flat multipart answer, one ``application/http`` part per operation, in order."""
    boundary = f"batchresponse_{uuid.uuid4()}"
    chunks: list[bytes] = []
    for resp in responses:
        head = [
            f"--{boundary}",
            "Content-Type: application/http",
            "Content-Transfer-Encoding: binary",
            "",
            f"HTTP/1.1 {resp.status} {_reason(resp.status)}",
        ]
        for name, value in resp.headers.items():
            if name == "content-type":
                head.append(f"CONTENT-TYPE: {value}")
            elif name != "content-length":
                head.append(f"{name}: {value}")
        head += ["", ""]
        chunks.append("\r\n".join(head).encode("utf-8") + resp.body + b"\r\n")
    chunks.append(f"--{boundary}--\r\n".encode("ascii"))
    return ApiResponse(
        200, Headers({"Content-Type": f"multipart/mixed; boundary={boundary}"}), b"".join(chunks)
    )

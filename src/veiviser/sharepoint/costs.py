"""What a request will cost in resource units (RU), before it is sent, so the rate limiter paces in
the tenant's own unit (docs/sharepoint.md, "Resource units per request").

SharePoint charges every call, and every member of a ``$batch`` one by one: a read of one entity
1 RU, a read of a collection or a query 2, a change feed read from a token 1, a write 2, a
permission operation 5. An estimate that is too high leaves budget unused (an unchanged site's
change-log read costs 1 RU, not 2); one that is too low is corrected by the tenant's
``RateLimit-*`` headers.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import requests

SINGLE_READ = 1
MULTI_READ = 2
CHANGES_FROM_TOKEN = 1
WRITE = 2
PERMISSION = 5

#: Path segments (lower case, without a key) that name a collection: reading one costs 2.
_COLLECTIONS = frozenset(
    [
        "items",
        "lists",
        "fields",
        "views",
        "contenttypes",
        "siteusers",
        "sitegroups",
        "users",
        "webs",
        "hubsites",
        "viewfields",
        "roleassignments",
        "folders",
        "files",
    ]
)
#: Operations that return many entities, whatever the method.
_QUERIES = frozenset(["getitems", "getchanges", "getlistitemchangessincetoken", "renderlistdataasstream"])
#: Permission operations in the path, and what ``$expand`` may pull in that is about permissions.
_PERMISSION_OPS = (
    "roleassignments",
    "breakroleinheritance",
    "resetroleinheritance",
    "addroleassignment",
    "removeroleassignment",
    "getusereffectivepermissions",
)
_PERMISSION_EXPANDS = ("permissions", "roleassignments")
_QUERY_OPTIONS = ("$filter", "$top", "$skiptoken")
#: A member's request line inside a ``$batch`` body.
_MEMBER_LINE = re.compile(rb"^(GET|HEAD|POST|PUT|PATCH|MERGE|DELETE) (\S+) HTTP/1\.1\r?$", re.MULTILINE)


def call_ru(method: str, url: str, body: bytes = b"") -> int:
    """The RU of one call (a ``$batch`` member is one call)."""
    parts = urlsplit(url)
    path = unquote(parts.path).lower().rstrip("/")
    query = unquote(parts.query).lower()
    segment = path.rsplit("/", 1)[-1]
    name = segment.split("(", 1)[0]
    expand = next((v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "$expand"), "")
    if any(op in path for op in _PERMISSION_OPS) or any(word in expand for word in _PERMISSION_EXPANDS):
        return PERMISSION
    if name == "contextinfo":
        return SINGLE_READ
    if name == "getchanges" and b"changetokenstart" in body.lower():
        return CHANGES_FROM_TOKEN
    if name in _QUERIES:
        return MULTI_READ
    if method.upper() not in ("GET", "HEAD"):
        return WRITE
    if (name == segment and name in _COLLECTIONS) or any(opt in query for opt in _QUERY_OPTIONS):
        return MULTI_READ
    return SINGLE_READ


def request_ru(request: requests.PreparedRequest) -> int:
    """The RU of a prepared request: its members' sum for a ``$batch``, else its own cost."""
    url = request.url or ""
    body = request.body or b""
    if isinstance(body, str):
        body = body.encode("utf-8", "replace")
    if not isinstance(body, bytes | bytearray):
        body = b""
    if not urlsplit(url).path.endswith("/$batch"):
        return call_ru(request.method or "GET", url, bytes(body))
    lines = list(_MEMBER_LINE.finditer(body))
    if not lines:  # not a body we can read: charge each part as a write
        return WRITE * max(1, body.count(b"application/http"))
    ends = [m.start() for m in lines[1:]] + [len(body)]
    return sum(
        # a member's text runs to the next member's request line: its headers and its own body
        call_ru(m.group(1).decode(), m.group(2).decode("utf-8", "replace"), bytes(body[m.end() : end]))
        for m, end in zip(lines, ends, strict=True)
    )

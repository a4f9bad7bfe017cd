"""OData v3 query options as SharePoint's list item endpoint understands them.

``parse_filter`` turns a ``$filter`` string into a small AST; :func:`evaluate` runs it against a
resolver callback (``name -> value``) so the object model decides what a field path means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from .api import ApiResponse, RestError

_BAD_QUERY = "-1, Microsoft.SharePoint.Client.InvalidClientQueryException"


def bad_query(message: str) -> RestError:
    return RestError(400, _BAD_QUERY, message)


@dataclass
class QueryOptions:
    """The OData options of one request (names lower-cased, ``$`` stripped)."""

    raw: list[tuple[str, str]]
    select: list[str]
    expand: list[str]
    filter: str | None
    orderby: str | None
    top: int | None
    skiptoken: dict[str, str]

    def get(self, name: str) -> str | None:
        for key, value in self.raw:
            if key.lower() == name.lower():
                return value
        return None


def parse_query(query: str) -> QueryOptions:
    """Parse the raw (percent-encoded) query string."""
    raw = parse_qsl(query, keep_blank_values=True)
    opts: dict[str, str] = {}
    skiptoken: dict[str, str] = {}
    for key, value in raw:
        low = key.lower()
        if low == "$skiptoken":
            skiptoken.update(parse_qsl(value, keep_blank_values=True))
        elif low.startswith("p_") or low == "paged":
            skiptoken[key] = value  # a hand-built, unencoded skiptoken
        else:
            opts[low] = value
    top = None
    if "$top" in opts:
        try:
            top = int(opts["$top"])
        except ValueError as exc:
            raise bad_query(f"Invalid $top value '{opts['$top']}'.") from exc
        if top < 0:
            raise bad_query("The $top query option must be a non-negative integer.")
    return QueryOptions(
        raw=raw,
        select=[s.strip() for s in opts.get("$select", "").split(",") if s.strip()],
        expand=[s.strip() for s in opts.get("$expand", "").split(",") if s.strip()],
        filter=opts.get("$filter") or None,
        orderby=opts.get("$orderby") or None,
        top=top,
        skiptoken=skiptoken,
    )


def parse_orderby(text: str) -> list[tuple[str, bool]]:
    """``"Modified asc,Id desc"`` → ``[("Modified", False), ("Id", True)]`` (True = descending)."""
    keys: list[tuple[str, bool]] = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        if len(bits) > 2 or (len(bits) == 2 and bits[1].lower() not in ("asc", "desc")):
            raise bad_query(f"Syntax error in $orderby at '{part.strip()}'.")
        keys.append((bits[0], len(bits) == 2 and bits[1].lower() == "desc"))
    return keys


# --------------------------------------------------------------------------- $filter

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<dt>datetime'[^']*')|
        (?P<guid>guid'[^']*')|
        (?P<str>'(?:[^']|'')*')|
        (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?[mMdDfFlL]?)|
        (?P<punc>[(),])|
        (?P<name>[A-Za-z_][A-Za-z0-9_/\.]*)
    )""",
    re.VERBOSE,
)

_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


@dataclass
class Field:
    name: str


@dataclass
class Literal:
    value: Any
    kind: str  # str, num, bool, null, datetime, guid


@dataclass
class Compare:
    op: str
    left: Any
    right: Any


@dataclass
class Logical:
    op: str  # and / or
    left: Any
    right: Any


@dataclass
class Not:
    operand: Any


@dataclass
class Call:
    name: str
    args: list[Any]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise bad_query(f"Syntax error at position {pos} in $filter '{text}'.")
        kind = m.lastgroup or ""
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise bad_query(f"Unexpected end of $filter '{self.text}'.")
        self.i += 1
        return tok

    def keyword(self, *words: str) -> str | None:
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1].lower() in words:
            self.i += 1
            return tok[1].lower()
        return None

    def expect(self, punc: str) -> None:
        tok = self.take()
        if tok != ("punc", punc):
            raise bad_query(f"Expected '{punc}' in $filter '{self.text}'.")

    def parse(self) -> Any:
        node = self.or_expr()
        if self.peek() is not None:
            raise bad_query(f"Syntax error near '{self.peek()[1]}' in $filter '{self.text}'.")  # type: ignore[index]
        return node

    def or_expr(self) -> Any:
        node = self.and_expr()
        while self.keyword("or"):
            node = Logical("or", node, self.and_expr())
        return node

    def and_expr(self) -> Any:
        node = self.unary()
        while self.keyword("and"):
            node = Logical("and", node, self.unary())
        return node

    def unary(self) -> Any:
        if self.keyword("not"):
            return Not(self.unary())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.primary()
        tok = self.peek()
        if tok and tok[0] == "name" and tok[1].lower() in _COMPARE:
            self.i += 1
            return Compare(tok[1].lower(), left, self.primary())
        return left

    def primary(self) -> Any:
        kind, text = self.take()
        if kind == "punc" and text == "(":
            node = self.or_expr()
            self.expect(")")
            return node
        if kind == "str":
            return Literal(text[1:-1].replace("''", "'"), "str")
        if kind == "dt":
            return Literal(normalize_datetime(text[9:-1]), "datetime")
        if kind == "guid":
            return Literal(text[5:-1].lower(), "guid")
        if kind == "num":
            num = text.rstrip("mMdDfFlL")
            return Literal(float(num) if any(c in num for c in ".eE") else int(num), "num")
        if kind == "name":
            low = text.lower()
            if low in ("true", "false"):
                return Literal(low == "true", "bool")
            if low == "null":
                return Literal(None, "null")
            nxt = self.peek()
            if nxt == ("punc", "("):
                self.i += 1
                args = [self.or_expr()]
                while self.peek() == ("punc", ","):
                    self.i += 1
                    args.append(self.or_expr())
                self.expect(")")
                if low not in ("startswith", "substringof", "endswith"):
                    raise bad_query(f"Unsupported function '{text}' in $filter.")
                return Call(low, args)
            return Field(text)
        raise bad_query(f"Syntax error near '{text}' in $filter '{self.text}'.")


def parse_filter(text: str) -> Any:
    """Parse a ``$filter`` expression; raises a SharePoint-shaped 400 on bad syntax."""
    return _Parser(text).parse()


def filter_fields(node: Any) -> list[str]:
    """The field paths a filter refers to."""
    if isinstance(node, Field):
        return [node.name]
    if isinstance(node, (Compare, Logical)):
        return filter_fields(node.left) + filter_fields(node.right)
    if isinstance(node, Not):
        return filter_fields(node.operand)
    if isinstance(node, Call):
        return [n for a in node.args for n in filter_fields(a)]
    return []


def normalize_datetime(text: str) -> str:
    """``2026-03-01T11:00:00(.000)(Z|+00:00)`` or a date → ``2026-03-01T11:00:00Z``."""
    text = text.strip()
    if len(text) == 10:
        return text + "T00:00:00Z"
    core = text.replace("Z", "").split("+")[0]
    if "." in core:
        core = core.split(".")[0]
    if len(core) == 16:
        core += ":00"
    return core[:19] + "Z"


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, bool) or isinstance(right, bool):

        def as_bool(v: Any) -> Any:
            return bool(v) if isinstance(v, (int, float)) else v

        return as_bool(left), as_bool(right)
    if isinstance(left, (int, float)) and isinstance(right, str):
        try:
            return left, float(right)
        except ValueError:
            return str(left), right
    if isinstance(right, (int, float)) and isinstance(left, str):
        try:
            return float(left), right
        except ValueError:
            return left, str(right)
    return left, right


def evaluate(node: Any, resolve: Callable[[str], Any]) -> Any:
    """Evaluate a parsed filter; ``resolve`` maps a field path to the item's value."""
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Field):
        return resolve(node.name)
    if isinstance(node, Logical):
        if node.op == "and":
            return bool(evaluate(node.left, resolve)) and bool(evaluate(node.right, resolve))
        return bool(evaluate(node.left, resolve)) or bool(evaluate(node.right, resolve))
    if isinstance(node, Not):
        return not evaluate(node.operand, resolve)
    if isinstance(node, Call):
        args = [evaluate(a, resolve) for a in node.args]
        if any(a is None for a in args):
            return False
        a0, a1 = (str(a) for a in args[:2])
        if node.name == "startswith":
            return a0.startswith(a1)
        if node.name == "endswith":
            return a0.endswith(a1)
        return a0 in a1  # substringof(needle, haystack)
    if isinstance(node, Compare):
        left, right = evaluate(node.left, resolve), evaluate(node.right, resolve)
        if isinstance(left, list):  # multi-value fields match when any value matches
            return any(_compare(node.op, v, right) for v in left)
        return _compare(node.op, left, right)
    raise bad_query("Unsupported $filter expression.")


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "eq":
        left, right = _coerce(left, right)
        return bool(left == right)
    if op == "ne":
        left, right = _coerce(left, right)
        return bool(left != right)
    if left is None or right is None:
        return False
    left, right = _coerce(left, right)
    try:
        if op == "gt":
            return bool(left > right)
        if op == "ge":
            return bool(left >= right)
        if op == "lt":
            return bool(left < right)
        return bool(left <= right)
    except TypeError:
        return False


# --- answer dialects (docs/emulator.md, "Dialects") -------------------------------------------

VERBOSE = "verbose"
NOMETADATA = "nometadata"
MINIMALMETADATA = "minimalmetadata"
_DROP = object()


def dialect_of(accept: str | None) -> str:
    """The JSON flavour an ``Accept`` header asks for: ``odata=nometadata``/``minimalmetadata``
    as named, bare ``application/json`` is minimal metadata (SPO's default), anything else
    (``odata=verbose``, ``*/*``, none) is verbose."""
    text = (accept or "").lower()
    if "odata=nometadata" in text:
        return NOMETADATA
    if "odata=minimalmetadata" in text or "odata=fullmetadata" in text:
        return MINIMALMETADATA
    if "odata=verbose" in text:
        return VERBOSE
    if any(part.split(";")[0].strip() == "application/json" for part in text.split(",")):
        return MINIMALMETADATA
    return VERBOSE


def _is_collection(value: dict[str, Any]) -> bool:
    return "results" in value and set(value) <= {"__metadata", "results", "__next", "__count"}


def _light(value: Any, minimal: bool) -> Any:
    """One verbose value in JSON light form (no ``d``, no ``__metadata``, no deferred links)."""
    if isinstance(value, list):
        return [_light(v, minimal) for v in value]
    if not isinstance(value, dict):
        return value
    if "__deferred" in value:
        return _DROP
    if _is_collection(value):
        return [_light(v, minimal) for v in value["results"]]
    out: dict[str, Any] = {}
    meta = value.get("__metadata")
    if minimal and isinstance(meta, dict) and ("uri" in meta or "id" in meta):
        out["odata.type"] = meta.get("type")
        out["odata.id"] = meta.get("uri") or meta.get("id")
        if "etag" in meta:
            out["odata.etag"] = meta["etag"]
        uri = str(meta.get("uri") or meta.get("id"))
        out["odata.editLink"] = uri.split("/_api/", 1)[1] if "/_api/" in uri else uri
    for key, inner in value.items():
        if key == "__metadata":
            continue
        converted = _light(inner, minimal)
        if converted is not _DROP:
            out[key] = converted
    return out


def _light_document(doc: Any, minimal: bool, api_root: str) -> Any:
    """A whole verbose answer (``{"d": …}`` or ``{"error": …}``) in JSON light form."""
    if not isinstance(doc, dict):
        return doc
    if "error" in doc and "d" not in doc:
        return {"odata.error": doc["error"]}
    data = doc.get("d")
    if not isinstance(data, dict):
        return doc
    context = ""
    if _is_collection(data):
        results = data["results"]
        out: dict[str, Any] = {"value": _light(results, minimal)}
        if "__next" in data:
            out["odata.nextLink"] = data["__next"]
        first = results[0] if results and isinstance(results[0], dict) else {}
        kind = (first.get("__metadata") or {}).get("type") if first else None
        context = f"Collection({kind})" if kind else "Collection(Edm.Untyped)"
    elif "__metadata" in data:
        out = _light(data, minimal)
        context = f"{data['__metadata'].get('type')}/@Element"
    elif len(data) == 1:
        # A service operation's result, wrapped in the operation's name.
        (inner,) = data.values()
        if inner is None:
            return {"odata.null": True}  # a void or null result
        if isinstance(inner, dict) and "__metadata" in inner and not _is_collection(inner):
            out = _light(inner, minimal)
            context = f"{inner['__metadata'].get('type')}"
        else:
            out = {"value": _light(inner, minimal)}
            if isinstance(inner, dict):
                context = str((inner.get("__metadata") or {}).get("type", "Edm.Untyped"))
            else:
                context = "Edm.String" if isinstance(inner, str) else "Edm.Untyped"
    else:
        out = _light(data, minimal)
    if minimal and isinstance(out, dict):
        out = {"odata.metadata": f"{api_root}$metadata#{context}", **out}
    return out


def render_dialect(resp: ApiResponse, accept: str | None, api_root: str = "") -> ApiResponse:
    """``resp`` (an ApiResponse in verbose JSON) in the dialect ``accept`` asks for; other
    answers (XML, multipart, empty) unchanged. ``api_root`` is ``<site url>/_api/``."""
    dialect = dialect_of(accept)
    if dialect == VERBOSE or not resp.body:
        return resp
    ctype = str(resp.headers.get("Content-Type") or "")
    if not ctype.startswith("application/json"):
        return resp
    try:
        doc = json.loads(resp.body)
    except ValueError:
        return resp  # not JSON after all: left as it is
    light = _light_document(doc, dialect == MINIMALMETADATA, api_root)
    resp.body = json.dumps(light, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    resp.headers["Content-Type"] = f"application/json;odata={dialect};streaming=true;charset=utf-8"
    return resp

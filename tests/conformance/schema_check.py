"""Checks a verbose JSON answer of the emulator against SharePoint Online's ``$metadata``.

The types come from ``data/spo-metadata-subset.json`` (derived from the real ``$metadata`` by
``make_metadata_subset.py``; its origin is inside the file). :func:`check_document` returns a list
of problems, each naming the JSON path, for one answer body:

- every ``__metadata.type`` is a known entity/complex type, or an item type
  ``SP.Data.<name>ListItem`` / ``SP.Data.<name>Item`` whose name is SharePoint's ``_xHHHH_``
  encoding (items are open types based on ``SP.ListItem``);
- every property of a closed type is declared on the type or its base types;
- navigation properties are deferred (``{"__deferred": {"uri": …}}``) or expanded;
- complex values carry their type; collections are
  ``{"__metadata": {"type": "Collection(…)"}, "results": […]}``;
- primitive values have the JSON form of their Edm type (Int64 and Decimal as strings, as the
  verbose dialect writes them) and a non-nullable property is never ``null``.

:class:`ConformanceRecorder` is the observer the test suite installs on every emulator
(``tests/conftest.py``); see docs/emulator.md, "Conformance".
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from veiviser.emulator.app import SharePointApp
from veiviser.emulator.server import EmulatorServer

DATA = Path(__file__).resolve().parent / "data" / "spo-metadata-subset.json"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")
_ITEM_TYPE = re.compile(r"^SP\.Data\.((?:[A-Za-z0-9]|_x[0-9a-f]{4}_)+?)(ListItem|Item)$")
_INT_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
}


@cache
def metadata() -> dict[str, dict[str, Any]]:
    types: dict[str, dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["types"]
    return types


def item_type(name: str) -> bool:
    """Whether ``name`` is a list item entity type SharePoint would derive (``SP.Data.…``)."""
    return name not in metadata() and _ITEM_TYPE.match(name) is not None


def _resolved(name: str) -> tuple[dict[str, Any], dict[str, Any], set[str], bool] | None:
    """(properties, kind info, navigation names, open) of a type including its base types."""
    types = metadata()
    if item_type(name):
        name = "SP.ListItem"
    if name not in types:
        return None
    props: dict[str, Any] = {}
    nav: set[str] = set()
    info = types[name]
    is_open = False
    current: str | None = name
    while current and current in types:
        t = types[current]
        props = {**t["properties"], **props}
        nav |= set(t["navigation"])
        is_open = is_open or t["open"]
        current = t["base"]
    return props, info, nav, is_open


def _derives_from(name: str, ancestor: str) -> bool:
    types = metadata()
    if item_type(name):
        return ancestor in ("SP.ListItem", "SP.SecurableObject") or name == ancestor
    current: str | None = name
    while current:
        if current == ancestor:
            return True
        current = types.get(current, {}).get("base")
    return False


def _check_primitive(edm: str, value: Any, where: str, problems: list[str]) -> None:
    ok = True
    if edm in _INT_RANGES:
        low, high = _INT_RANGES[edm]
        ok = isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    elif edm in ("Edm.Int64", "Edm.Decimal"):
        ok = isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    elif edm in ("Edm.Double", "Edm.Single"):
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)) or value in (
            "INF",
            "-INF",
            "NaN",
        )
    elif edm == "Edm.Boolean":
        ok = isinstance(value, bool)
    elif edm == "Edm.Guid":
        ok = isinstance(value, str) and _GUID.match(value) is not None
    elif edm in ("Edm.DateTime", "Edm.DateTimeOffset"):
        ok = isinstance(value, str) and _DATETIME.match(value) is not None
    elif edm in ("Edm.String", "Edm.Binary", "Edm.Time"):
        ok = isinstance(value, str)
    if not ok:
        problems.append(f"{where}: {edm} expected, got {json.dumps(value)[:80]}")


def check_value(declared: str, value: Any, nullable: bool, where: str, problems: list[str]) -> None:
    """Check one property value against its declared type."""
    if value is None:
        if not nullable:
            problems.append(f"{where}: null for a non-nullable {declared}")
        return
    if declared.startswith("Collection("):
        inner = declared[len("Collection(") : -1]
        if not isinstance(value, dict) or "results" not in value or not isinstance(value["results"], list):
            problems.append(f"{where}: {declared} must be {{'__metadata': …, 'results': [...]}}")
            return
        kind = (value.get("__metadata") or {}).get("type")
        if kind != declared:
            problems.append(f"{where}: collection typed {kind!r}, {declared!r} expected")
        for i, element in enumerate(value["results"]):
            check_value(inner, element, True, f"{where}[{i}]", problems)
        return
    if declared.startswith("Edm."):
        _check_primitive(declared, value, where, problems)
        return
    info = metadata().get(declared)
    if info is None:
        return  # a type outside the subset: nothing to compare with
    if not isinstance(value, dict):
        problems.append(f"{where}: {declared} value expected, got {json.dumps(value)[:80]}")
        return
    kind = (value.get("__metadata") or {}).get("type")
    if kind is None:
        problems.append(f"{where}: {declared} value without __metadata.type")
        return
    if not _derives_from(kind, declared):
        problems.append(f"{where}: typed {kind!r}, which is not a {declared}")
    check_object(value, where, problems)


def _check_open_value(value: Any, where: str, problems: list[str]) -> None:
    """A value of an open (dynamic) property, e.g. an item's field value."""
    if isinstance(value, dict):
        if "__deferred" in value:
            return
        if "results" in value:
            kind = (value.get("__metadata") or {}).get("type")
            if kind is not None and not str(kind).startswith("Collection("):
                problems.append(f"{where}: a collection typed {kind!r}")
            if kind is None:
                # An expanded multi-valued navigation property ({"results": [entities]}).
                for i, element in enumerate(value["results"]):
                    _check_open_value(element, f"{where}[{i}]", problems)
                return
            inner = str(kind)[len("Collection(") : -1]
            for i, element in enumerate(value["results"]):
                if inner.startswith("Edm."):
                    _check_primitive(inner, element, f"{where}[{i}]", problems)
                else:
                    _check_open_value(element, f"{where}[{i}]", problems)
            return
        if "__metadata" not in value:
            problems.append(f"{where}: an object value without __metadata.type")
            return
        check_object(value, where, problems)
    elif isinstance(value, list):
        problems.append(f"{where}: a bare JSON array (verbose collections are {{'results': [...]}})")


def check_object(obj: dict[str, Any], where: str, problems: list[str]) -> None:
    """Check one entity or complex value that carries ``__metadata``."""
    meta = obj.get("__metadata")
    if not isinstance(meta, dict) or not isinstance(meta.get("type"), str):
        problems.append(f"{where}: no __metadata.type")
        return
    name = meta["type"]
    resolved = _resolved(name)
    if resolved is None:
        problems.append(f"{where}: unknown type {name!r}")
        return
    props, _info, nav, is_open = resolved
    for key, value in obj.items():
        if key == "__metadata":
            continue
        here = f"{where}.{key}"
        if key in nav:
            if isinstance(value, dict) and "__deferred" in value:
                if not isinstance(value["__deferred"], dict) or "uri" not in value["__deferred"]:
                    problems.append(f"{here}: deferred without uri")
            elif value is not None:
                _check_open_value(value, here, problems)
            continue
        if key in props:
            check_value(props[key]["type"], value, props[key]["nullable"], here, problems)
        elif is_open:
            _check_open_value(value, here, problems)
        else:
            problems.append(f"{here}: not a property of {name}")


def check_document(doc: Any) -> list[str]:
    """All problems of one verbose answer body (``{"d": …}`` or ``{"error": …}``)."""
    problems: list[str] = []
    if not isinstance(doc, dict):
        return ["answer: not a JSON object"]
    if "error" in doc:
        err = doc["error"]
        msg = err.get("message") if isinstance(err, dict) else None
        if (
            not isinstance(err, dict)
            or not isinstance(err.get("code"), str)
            or not isinstance(msg, dict)
            or not isinstance(msg.get("value"), str)
        ):
            problems.append("error: must be {'code': str, 'message': {'lang': str, 'value': str}}")
        return problems
    data = doc.get("d")
    if not isinstance(data, dict):
        return ["answer: no 'd' object"]
    if "__metadata" in data and "results" not in data:
        check_object(data, "d", problems)
    elif "results" in data and set(data) <= {"results", "__next", "__metadata", "__count"}:
        if not isinstance(data["results"], list):
            return ["d.results: not a list"]
        for i, row in enumerate(data["results"]):
            if isinstance(row, dict) and "__metadata" in row:
                check_object(row, f"d.results[{i}]", problems)
            else:
                _check_open_value(row, f"d.results[{i}]", problems)
    elif len(data) == 1:
        for key, value in data.items():  # a service operation's result, wrapped in its name
            _check_open_value(value, f"d.{key}", problems)
    else:
        problems.append("d: an object without __metadata (nor a service operation's result)")
    return problems


# Differences the checker finds in parts of the emulator owned elsewhere: a fragment of the
# problem text and the reason. The recorder sets them aside (``known``); each entry needs a strict
# expected failure in tests/conformance/test_schema_check.py that provokes it, so a fix is noticed
# (docs/emulator.md, "Conformance").
KNOWN_DIFFERENCES: dict[str, str] = {}  # none today


def known(problem: str) -> str | None:
    """The reason when ``problem`` is a known difference, else None."""
    return next((reason for pattern, reason in KNOWN_DIFFERENCES.items() if pattern in problem), None)


class ConformanceRecorder:
    """An emulator observer collecting the problems of every verbose JSON answer it sees from the
    real object model (servers running a test-only model are not SharePoint's to judge)."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.known: list[str] = []
        self.checked = 0
        self._lock = threading.Lock()

    def __call__(self, server: Any, kind: str, method: str, path: str, query: str, resp: Any) -> None:
        if not isinstance(server.app, SharePointApp):
            return
        ctype = str(resp.headers.get("Content-Type") or "")
        if not resp.body or "odata=verbose" not in ctype:
            return
        found = check_document(json.loads(resp.body))
        with self._lock:
            self.checked += 1
            where = f"{method} {path}{'?' + query if query else ''} ({resp.status})"
            for p in found:
                (self.known if known(p) else self.problems).append(f"{where}: {p}")


@contextlib.contextmanager
def recording() -> Iterator[ConformanceRecorder]:
    """Check every answer of every emulator in the process while the block runs."""
    recorder = ConformanceRecorder()
    EmulatorServer.all_observers.append(recorder)
    try:
        yield recorder
    finally:
        EmulatorServer.all_observers.remove(recorder)

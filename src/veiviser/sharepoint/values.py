"""Value conversion between Python/pandas and SharePoint's verbose JSON (docs/sharepoint.md, "Verbose OData" and "List names").

Writes (:func:`to_sharepoint`, :func:`row_to_sharepoint`):

* ``None``, ``NaN``, ``pd.NA``, ``pd.NaT`` → ``null``;
* numpy scalars → the Python value; ``Decimal`` → ``float`` (SharePoint Number and Currency
  fields are ``Edm.Double``; a non-finite Decimal is an error);
* datetimes must be **timezone-aware** and are sent as UTC ``YYYY-MM-DDTHH:MM:SSZ``. A naive
  datetime is an error rather than a guess: Norwegian local time and UTC differ by one or two hours
  and a silent guess would shift deadlines. ``date`` values are sent as UTC midnight;
* lists/tuples/sets → ``{"results": [...], "__metadata": {"type": "Collection(Edm.Int32|String)"}}``;
* lookup and person values (:class:`LookupValue`, or an expanded ``{"Id": …}`` dict read back) are
  written to ``<Field>Id`` by :func:`row_to_sharepoint`.

Reads (:func:`from_sharepoint`, :func:`normalise_item`): ``{"results": [...]}`` and the client's
``{0: …, 1: …}`` dicts → lists; ISO date-time strings → aware UTC ``datetime``; ``__metadata`` and
deferred navigation properties are dropped; expanded lookups/users and taxonomy values stay dicts.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from veiviser.sharepoint.errors import ValidationError


@dataclass(frozen=True)
class LookupValue:
    """A lookup or person value by id (a person's id is per site collection: use ``ensure_user``)."""

    id: int


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        import pandas as pd

        if value is pd.NaT or value is pd.NA:
            return True
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    # numpy.float64('nan'), numpy.datetime64('NaT')
    if type(value).__module__ == "numpy":
        try:
            import numpy as np

            if isinstance(value, np.floating) and np.isnan(value):
                return True
            if isinstance(value, np.datetime64 | np.timedelta64) and np.isnat(value):
                return True
        except ImportError:  # pragma: no cover
            pass
    return False


def format_datetime(value: datetime | date, *, where: str = "value") -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; naive datetimes are refused."""
    if not isinstance(value, datetime):
        return f"{value.isoformat()}T00:00:00Z"
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise ValidationError(
            f"{where}: naive datetime {value.isoformat()} has no timezone",
            hint="Give datetimes a timezone (e.g. ZoneInfo('Europe/Oslo') or UTC) before writing.",
        )
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _collection(values: list[Any], where: str) -> dict[str, Any]:
    items = [to_sharepoint(v, where=where) for v in values]
    items = [v for v in items if v is not None]
    kind = (
        "Edm.Int32"
        if items and all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        else "Edm.String"
    )
    if kind == "Edm.String":
        items = [v if isinstance(v, str) else str(v) for v in items]
    return {"results": items, "__metadata": {"type": f"Collection({kind})"}}


def to_sharepoint(value: Any, *, where: str = "value") -> Any:
    """A JSON-safe SharePoint value for ``value`` (see the module docstring for the rules)."""
    if _is_missing(value):
        return None
    if type(value).__module__ == "numpy":
        import numpy as np

        if isinstance(value, np.datetime64):
            import pandas as pd

            return format_datetime(pd.Timestamp(value).tz_localize(UTC), where=where)
        if isinstance(value, np.generic):
            return to_sharepoint(value.item(), where=where)
        if isinstance(value, np.ndarray):
            return _collection(value.tolist(), where)
    if isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        if math.isinf(value):
            raise ValidationError(f"{where}: infinite number cannot be stored in SharePoint")
        return value
    if isinstance(value, Decimal):
        if not value.is_finite():
            if value.is_nan():
                return None
            raise ValidationError(f"{where}: infinite number cannot be stored in SharePoint")
        return float(value)
    if isinstance(value, datetime | date):
        return format_datetime(value, where=where)
    if isinstance(value, LookupValue):
        return value.id
    if isinstance(value, list | tuple | set | frozenset):
        return _collection(
            list(value) if not isinstance(value, set | frozenset) else sorted(value, key=str), where
        )
    if isinstance(value, Mapping):
        if "results" in value and isinstance(value["results"], list):
            return dict(value)
        return {str(k): to_sharepoint(v, where=f"{where}.{k}") for k, v in value.items()}
    raise ValidationError(
        f"{where}: cannot send a {type(value).__name__} to SharePoint",
        hint="Convert it to str, int, float, bool, datetime, date or a list of those.",
    )


def _lookup_id(value: Any) -> int | None:
    if isinstance(value, LookupValue):
        return value.id
    if isinstance(value, Mapping) and ("Id" in value or "ID" in value) and "Label" not in value:
        raw = value.get("Id", value.get("ID"))
        return int(raw) if raw is not None else None
    return None


def row_to_sharepoint(row: Mapping[str, Any], *, where: str = "row") -> dict[str, Any]:
    """Convert a whole item: values via :func:`to_sharepoint`, lookup/person values to ``<Field>Id``."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "__metadata":
            continue
        here = f"{where}, field {key!r}"
        lookup = _lookup_id(value)
        if lookup is not None:
            out[key if key.endswith("Id") else f"{key}Id"] = lookup
            continue
        if isinstance(value, list | tuple) and value and all(_lookup_id(v) is not None for v in value):
            ids = [_lookup_id(v) for v in value]
            out[key if key.endswith("Id") else f"{key}Id"] = {
                "results": ids,
                "__metadata": {"type": "Collection(Edm.Int32)"},
            }
            continue
        out[key] = to_sharepoint(value, where=here)
    return out


_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_datetime(value: str) -> datetime:
    """An aware UTC datetime from SharePoint's ISO text (naive text is UTC, as SharePoint sends it)."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def from_sharepoint(value: Any) -> Any:
    """Normalise one value read from SharePoint (see the module docstring)."""
    if isinstance(value, str):
        if _ISO_DATETIME.match(value):
            try:
                return parse_datetime(value)
            except ValueError:
                return value
        return value
    if isinstance(value, list):
        return [from_sharepoint(v) for v in value]
    if isinstance(value, Mapping):
        if "__deferred" in value:
            return None
        if "results" in value and isinstance(value["results"], list):
            return [from_sharepoint(v) for v in value["results"]]
        if value and all(isinstance(k, int) for k in value):
            return [from_sharepoint(value[k]) for k in sorted(value)]
        return {k: from_sharepoint(v) for k, v in value.items() if k != "__metadata"}
    return value


#: The key under which :func:`normalise_item` keeps an item's ETag when asked to.
ETAG = "__etag"


def item_etag(item: Mapping[str, Any]) -> str | None:
    """An item's ETag (``"3"``, quotes included) from its raw ``__metadata``, or from a normalised
    item read with ``etag=True``; ``None`` when the answer carried none (docs/sharepoint.md, "ETags")."""
    meta = item.get("__metadata")
    value = meta.get("etag") if isinstance(meta, Mapping) else item.get(ETAG)
    return str(value) if value else None


def normalise_item(item: Mapping[str, Any], *, etag: bool = False) -> dict[str, Any]:
    """A list item as plain Python: no ``__metadata``, no deferred links, lists and UTC datetimes.

    ``etag=True`` keeps the item's ETag under :data:`ETAG` for a later ``IF-MATCH`` write.
    """
    out: dict[str, Any] = {}
    for key, value in item.items():
        if key == "__metadata" or (isinstance(value, Mapping) and "__deferred" in value):
            continue
        out[key] = from_sharepoint(value)
    if etag and (tag := item_etag(item)):
        out[ETAG] = tag
    return out


def odata_literal(value: Any) -> str:
    """An OData (v3, verbose) literal for ``$filter``: ``'O''Brien'``, ``datetime'2026-01-01T00:00:00Z'``."""
    if _is_missing(value):
        return "null"
    if type(value).__module__ == "numpy":
        return odata_literal(value.item())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, datetime | date):
        return f"datetime'{format_datetime(value, where='filter')}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise ValidationError(f"filter: cannot express a {type(value).__name__} as an OData literal")

"""Written item values: how SharePoint checks and normalises a value for each field type.

:func:`convert` takes the value a client sent for one field of an item and returns what is
stored, or raises the :class:`RestError` SPO would answer with (a 400 for a value of the wrong
JSON type, the field-validation code for a value the field does not allow). One converter per
field type, chosen from :data:`CONVERTERS`. See docs/emulator.md, "Item values".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from .api import RestError
from .fields import BAD_QUERY, VALIDATION
from .odata import normalize_datetime

Converter = Callable[[dict[str, Any], Any, str], Any]
"""``(field, value, key)`` → the stored value; ``key`` is the JSON property the value came in."""

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$")


def convert(field: dict[str, Any], value: Any, key: str) -> Any:
    """Check and normalise one written value for ``field`` (the JSON key was ``key``)."""
    converter = CONVERTERS.get(field["TypeAsString"])
    if converter is None:
        raise _fail(BAD_QUERY, f"The property '{key}' is read-only and cannot be set.")
    return converter(field, value, key)


def parse_taxonomy_text(text: str) -> list[dict[str, str]]:
    """``-1;#Label|guid;#-1;#Other|guid`` or ``Label|guid`` → terms."""
    terms = []
    for part in re.split(r";#", text or ""):
        if "|" in part:
            label, guid = part.rsplit("|", 1)
            terms.append({"Label": label, "TermGuid": guid.strip().lower()})
    return terms


# --------------------------------------------------------------------------- converters


def _text(field: dict[str, Any], value: Any, key: str) -> Any:
    t, title = field["TypeAsString"], field["Title"]
    if value is None:
        return None
    if not isinstance(value, str):
        if isinstance(value, (int, float)) and not isinstance(value, bool) and t != "Choice":
            value = str(value)
        else:
            raise _fail(
                BAD_QUERY,
                f"Cannot convert a primitive value to the expected type 'Edm.String' for property '{key}'.",
            )
    if t == "Text" and len(value) > int(field.get("MaxLength") or 255):
        raise _fail(
            VALIDATION, f"The value of field '{title}' exceeds {field.get('MaxLength', 255)} characters."
        )
    if (
        t == "Choice"
        and value != ""
        and value not in field.get("Choices", [])
        and not field.get("FillInChoice")
    ):
        raise _fail(
            VALIDATION,
            f"Value '{value}' is not one of the choices of field '{title}' "
            f"({', '.join(field.get('Choices', []))}).",
        )
    return value


def _multi_choice(field: dict[str, Any], value: Any, key: str) -> Any:
    values = _results(value, key)
    if values is None:
        return None
    for v in values:
        if not isinstance(v, str):
            raise _fail(BAD_QUERY, f"Cannot convert a value in '{key}' to 'Edm.String'.")
        if v not in field.get("Choices", []) and not field.get("FillInChoice"):
            raise _fail(VALIDATION, f"Value '{v}' is not one of the choices of field '{field['Title']}'.")
    return values


def _number(field: dict[str, Any], value: Any, key: str) -> Any:
    if value is None:
        return None
    wrong_type = (
        f"Cannot convert a primitive value to the expected type '{_edm(field)}' for property '{key}'."
    )
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError as exc:
            raise _fail(BAD_QUERY, wrong_type) from exc
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _fail(BAD_QUERY, wrong_type)
    lo, hi = field.get("MinimumValue"), field.get("MaximumValue")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise _fail(
            VALIDATION,
            f"The value of field '{field['Title']}' must be between {_fmt(lo)} and {_fmt(hi)} "
            f"(got {_fmt(value)}).",
        )
    return int(value) if float(value).is_integer() else float(value)


def _boolean(field: dict[str, Any], value: Any, key: str) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    raise _fail(
        BAD_QUERY,
        f"Cannot convert a primitive value to the expected type 'Edm.Boolean' for property '{key}'.",
    )


def _date_time(field: dict[str, Any], value: Any, key: str) -> Any:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise _fail(
            BAD_QUERY, f"Cannot convert '{value}' to the expected type 'Edm.DateTime' for property '{key}'."
        )
    return _to_utc(value)


def _url(field: dict[str, Any], value: Any, key: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict) or "Url" not in value:
        raise _fail(BAD_QUERY, f'Property \'{key}\' expects an SP.FieldUrlValue {{"Url", "Description"}}.')
    return {"Url": value.get("Url"), "Description": value.get("Description") or value.get("Url")}


def _lookup(field: dict[str, Any], value: Any, key: str) -> Any:
    if value is None or value == "" or value == -1:
        return None
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(
            BAD_QUERY,
            f"Cannot convert a primitive value to the expected type 'Edm.Int32' for property '{key}'.",
        )
    return value


def _lookup_multi(field: dict[str, Any], value: Any, key: str) -> Any:
    values = _results(value, key)
    if values is None:
        return None
    ids = []
    for v in values:
        if isinstance(v, str) and v.isdigit():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int):
            raise _fail(BAD_QUERY, f"Cannot convert a value in '{key}' to 'Edm.Int32'.")
        ids.append(v)
    return ids


def _term(field: dict[str, Any], value: Any, key: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, dict) or "TermGuid" not in value:
        raise _fail(
            BAD_QUERY,
            f'Property \'{key}\' expects an SP.Taxonomy.TaxonomyFieldValue {{"Label", "TermGuid", "WssId"}}.',
        )
    return {"Label": str(value.get("Label") or ""), "TermGuid": str(value["TermGuid"]).lower()}


def _terms(field: dict[str, Any], value: Any, key: str) -> Any:
    values = _results(value, key)
    if values is None:
        return None
    terms: list[dict[str, str]] = []
    for v in values:
        if not isinstance(v, dict) or "TermGuid" not in v:
            raise _fail(BAD_QUERY, f"Property '{key}' expects SP.Taxonomy.TaxonomyFieldValue entries.")
        terms.append({"Label": str(v.get("Label") or ""), "TermGuid": str(v["TermGuid"]).lower()})
    return terms


# The converter for each field type (TypeAsString) a client may write; any other type is read-only.
CONVERTERS: dict[str, Converter] = {
    "Text": _text,
    "Note": _text,
    "Choice": _text,
    "Guid": _text,
    "MultiChoice": _multi_choice,
    "Number": _number,
    "Currency": _number,
    "Integer": _number,
    "Boolean": _boolean,
    "DateTime": _date_time,
    "URL": _url,
    "Lookup": _lookup,
    "User": _lookup,
    "LookupMulti": _lookup_multi,
    "UserMulti": _lookup_multi,
    "TaxonomyFieldType": _term,
    "TaxonomyFieldTypeMulti": _terms,
}


# --------------------------------------------------------------------------- helpers


def _fail(code: str, message: str, status: int = 400) -> RestError:
    return RestError(status, code, message)


def _edm(field: dict[str, Any]) -> str:
    return {
        "Number": "Edm.Double",
        "Currency": "Edm.Double",
        "Integer": "Edm.Int32",
        "Boolean": "Edm.Boolean",
        "DateTime": "Edm.DateTime",
    }.get(field["TypeAsString"], "Edm.String")


def _results(value: Any, key: str) -> list[Any] | None:
    """Unwrap ``{"results": [...]}`` (the only multi-value shape SharePoint accepts in verbose mode)."""
    if value is None:
        return None
    if isinstance(value, list):
        raise _fail(
            BAD_QUERY,
            f"An unexpected 'StartArray' node was found when reading from the JSON reader for "
            f"property '{key}'. A 'StartObject' node was expected; send multiple values as "
            f'{{"results": [...]}}.',
        )
    if not isinstance(value, dict) or not isinstance(value.get("results"), list):
        raise _fail(
            BAD_QUERY,
            f"Cannot convert the value of property '{key}' to a collection; send {{\"results\": [...]}}.",
        )
    return list(value["results"])


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _to_utc(value: str) -> str:
    if len(value) == 10:
        return value + "T00:00:00Z"
    text = value.replace("Z", "+00:00")
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        return normalize_datetime(value)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")

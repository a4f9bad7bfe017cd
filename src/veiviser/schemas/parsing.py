"""Reading the values SharePoint, Prosjektportalen 365 and municipal spreadsheets hand us.

One place for the formats veiviser accepts (see ``docs/data-model.md``, "Value formats"):

- numbers: ints and floats, ``"3.5"``, Norwegian text with a decimal comma and space, no-break
  space or narrow no-break space as thousands separator (``"1 151,5"``), dot thousands with a
  decimal comma (``"1.151,5"``), a Unicode minus, and calculated columns as SharePoint returns
  them (``"float;#12.0000000000000"``);
- phases: the label, ``"-1;#Label|<term guid>"`` text, or a taxonomy dict (``Label``, ``TermGuid``,
  ``WssId``); the term GUID wins over the label, since SharePoint may put the WssId in ``Label``;
- people: an expanded person (``{"Title", "EMail"}``), or a display name;
- dates: ISO 8601 text through :meth:`datetime.fromisoformat` (which reads ``Z`` on Python 3.11);
- source keys: ``<site id>:<list id>:<item id>``, GUIDs lower-case without braces.

Everything here is pure and free of pandas, so the sync, the portfolio analytics, provisioning
and the demo read a value the same way.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

# --- blanks ---------------------------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    """None, NaN, a blank string or an empty collection."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, Mapping | list | tuple):
        return len(value) == 0
    return False


# --- numbers --------------------------------------------------------------------------------------

#: Separators used between groups of thousands: space, no-break, narrow no-break, thin and figure space.
THOUSANDS_SPACES = " \u00a0\u202f\u2009\u2007"
#: Cells that mean "no value" in a spreadsheet.
EMPTY_MARKERS = frozenset({"", "-", "–", "—"})

_SPACE_CLASS = f"[{THOUSANDS_SPACES}]"
_SPACES = re.compile(_SPACE_CLASS)
_SPACE_INT = rf"\d{{1,3}}(?:{_SPACE_CLASS}\d{{3}})+|\d+"
#: ``1 151,5`` / ``1151,5`` / ``200``: space thousands, optional decimal comma.
_NUMBER_COMMA = re.compile(rf"^(?P<int>{_SPACE_INT})(?:,(?P<frac>\d+))?$")
#: ``1.151,5`` / ``1.234.567``: dot thousands (two groups, or one group before a decimal comma).
_NUMBER_DOT_THOUSANDS = re.compile(
    r"^(?P<int>\d{1,3}(?:\.\d{3}){2,}|\d{1,3}(?:\.\d{3})+(?=,))(?:,(?P<frac>\d+))?$"
)
#: ``1151.5``, ``4.``, ``.5``, and (when not strict) an exponent: ``1e3``, ``2.5E-2``.
_NUMBER_DOT = re.compile(r"^(?P<int>\d+(?:\.\d*)?|\.\d+)(?P<exp>[eE][-+]?\d+)?$")
#: Strict (spreadsheets): ``1151.5`` only; ``1.151`` is ambiguous (thousands or decimals?).
_NUMBER_STRICT_DOT = re.compile(r"^\d+\.\d+$")
_AMBIGUOUS_DOT = re.compile(r"^\d+\.\d{3}$")
#: SharePoint's typed text for calculated columns: ``float;#12.0000000000000``.
_TYPED_PREFIX = re.compile(r"^[A-Za-z]+;#")


class NumberFormatError(ValueError):
    """Text that is not a number; ``ambiguous`` when only the dot-thousands reading is in doubt."""

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


def parse_decimal(value: Any, *, strict: bool = False) -> Decimal | None:
    """An exact :class:`~decimal.Decimal` from a cell or a SharePoint value; None when empty.

    Empty means None, a blank string or one of :data:`EMPTY_MARKERS` (a lone dash). ``strict``
    (spreadsheets of amounts) also rejects exponents and ``"1.151"``, which may mean 1151 or
    1.151. Raises :class:`NumberFormatError` for anything else (``"12,3,4"``, ``"abc"``, a bool).
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise NumberFormatError("a yes/no value is not a number")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise NumberFormatError(f"{value!r} is not a number")
        return Decimal(repr(value))  # the shortest repr: 1151.5 stays 1151.5, no binary noise
    if not isinstance(value, str):
        try:
            return parse_decimal(float(value), strict=strict)
        except (TypeError, ValueError):
            raise NumberFormatError(f"{value!r} is not a number") from None
    text = _TYPED_PREFIX.sub("", value.strip(), count=1).strip().replace("\u2212", "-")
    if text in EMPTY_MARKERS:
        return None
    sign = ""
    if text[:1] in "+-":
        sign, text = ("-" if text[0] == "-" else ""), text[1:].strip()
    for pattern, thousands in ((_NUMBER_COMMA, _SPACES), (_NUMBER_DOT_THOUSANDS, re.compile(r"\."))):
        match = pattern.match(text)
        if match:
            digits = thousands.sub("", match.group("int"))
            frac = match.group("frac")
            return Decimal(f"{sign}{digits}.{frac}" if frac else f"{sign}{digits}")
    if _NUMBER_STRICT_DOT.match(text) if strict else _NUMBER_DOT.match(text):
        if strict and _AMBIGUOUS_DOT.match(text):
            raise NumberFormatError(f"{value!r} may use a dot as thousands separator", ambiguous=True)
        try:
            return Decimal(sign + text)
        except InvalidOperation:  # pragma: no cover - the patterns admit only valid literals
            pass
    raise NumberFormatError(f"{value!r} is not a number")


def to_number(value: Any) -> float | None:
    """A float from any accepted number format; None when blank, NaN or not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        try:
            parsed = parse_decimal(value)
        except NumberFormatError:
            return None
        if parsed is None:
            return None
        number = float(parsed)
    return None if math.isnan(number) else number


# --- phases ---------------------------------------------------------------------------------------

#: Term set «Fase» of Prosjektportalen 365 in sort order: label -> term GUID.
PHASE_TERMS: Mapping[str, str] = {
    "Idé": "6edb42ac-9aaf-4f07-9cf5-5dfdf9ab0c32",
    "Flere faser": "777cc6ac-4639-4633-85b9-f1ef61197c4d",
    "Konsept": "99e85650-33de-4af4-b8db-edffbc8a310b",
    "Planlegge": "cda4f1e1-3488-4e57-8a04-6973df239689",
    "Gjennomføre": "99d7765a-c786-4792-a1a1-866ef0f982b9",
    "Avslutte": "30e03c52-8c3e-4cfe-9b18-ca71593ce130",
    "Realisere": "b7ba84f0-70b9-45c4-8c50-8f73bf15bbec",
}
#: The phase labels in sort order.
PHASES: tuple[str, ...] = tuple(PHASE_TERMS)
#: Term GUID -> label.
PHASE_BY_TERM: Mapping[str, str] = {guid: label for label, guid in PHASE_TERMS.items()}

_PHASE_LABEL_KEYS = ("Label", "label", "Term", "Name")


def _guid(value: Any) -> str:
    return str(value).strip().strip("{}").strip().lower()


def phase_label(value: Any) -> str | None:
    """A phase label from a Choice string, ``"[-1;#]Label|guid"`` text, or a taxonomy dict.

    A known term GUID gives the term's label. A dict's ``Label`` that is only digits is the WssId
    SharePoint Online returns on REST reads, not a label: then only the GUID can help.
    """
    if is_blank(value):
        return None
    if isinstance(value, Mapping):
        guid = _guid(value.get("TermGuid") or "")
        if guid in PHASE_BY_TERM:
            return PHASE_BY_TERM[guid]
        for key in _PHASE_LABEL_KEYS:
            label = value.get(key)
            if not is_blank(label) and not str(label).strip().lstrip("-").isdigit():
                return str(label).strip()
        return None
    text = str(value)
    if ";#" in text:
        text = text.split(";#", 1)[1]
    if "|" in text:
        label, guid = text.split("|", 1)
        return PHASE_BY_TERM.get(_guid(guid), label.strip() or None)
    return text.strip() or None


# --- people ---------------------------------------------------------------------------------------

_PERSON_NAME_KEYS = ("Title", "title", "EMail", "Email", "email", "LoginName", "Name")


def person(value: Any) -> dict[str, Any] | None:
    """``{"Title", "EMail"}`` of an expanded person value (None when empty or not a person)."""
    if is_blank(value) or not isinstance(value, Mapping):
        return None
    out = {k: value.get(k) for k in ("Title", "EMail") if not is_blank(value.get(k))}
    return out or None


def person_name(value: Any) -> str | None:
    """A display name for a person value: text, a dict (Title, EMail, LoginName…), or a list of them."""
    if is_blank(value):
        return None
    if isinstance(value, Mapping):
        for key in _PERSON_NAME_KEYS:
            if not is_blank(value.get(key)):
                return str(value[key]).strip()
        return None
    if isinstance(value, list | tuple):
        names = [n for n in (person_name(v) for v in value) if n]
        return "; ".join(names) or None
    return str(value).strip()


# --- dates ----------------------------------------------------------------------------------------


def parse_datetime(value: str | datetime | date) -> datetime:
    """An aware datetime from ISO 8601 text (``Z`` or an offset; none means UTC) or a date/datetime.

    Raises ``ValueError`` for text that is not ISO 8601.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    else:
        parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- source keys ----------------------------------------------------------------------------------


def source_key(site_id: str, list_id: str, item_id: int | str) -> str:
    """The portfolio-wide key of a source row: ``<site id>:<list id>:<item id>``.

    GUIDs lower-case without braces, so the same item always has the same key (the central lists'
    ``GtSourceKey``).
    """
    return f"{_guid(site_id)}:{_guid(list_id)}:{int(item_id)}"


def split_source_key(key: str) -> tuple[str, str, int]:
    """``(site id, list id, item id)`` of a source key; ValueError when it is not one."""
    site_id, list_id, item_id = key.split(":")
    return site_id, list_id, int(item_id)

"""Turning source list items into history rows and central-list values (pure functions).

A *row* is what the sync knows of one source item: the kind's fields under their internal names
(values normalised: numbers as numbers, phase as its label, people as ``{"Title", "EMail"}``,
lookups as target item ids under ``<Field>Id``), plus ``item_id``, ``source_key``, the resolved
lookup keys (``benefit_key``, ``indicator_key``) and ``Modified``. Rows go to the history store as
they are and to the hub's central lists through :func:`central_values`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from veiviser.schemas.catalog import catalogue
from veiviser.schemas.names import F, Kind, OtherHubField, lookup_id_column
from veiviser.schemas.parsing import is_blank, parse_datetime, person, split_source_key, to_number
from veiviser.schemas.parsing import phase_label as phase_label
from veiviser.sync.kinds import SOURCE_KINDS, SourceKind, risk_content_type, source_key
from veiviser.sync.quality import lookup_id

#: Fields read as numbers (calculated columns arrive as text on PP365 sites), from the catalogue.
NUMBER_FIELDS: frozenset[str] = frozenset(
    f.name for lst in catalogue().source_kinds for f in lst.synced_fields if f.is_number
)
#: Fields holding the project phase (a Choice here, a «Fase» taxonomy value on PP365 sites).
PHASE_FIELDS: frozenset[str] = frozenset(
    f.name for lst in catalogue().source_kinds for f in lst.synced_fields if f.phase
)


def json_safe(value: Any) -> Any:
    """Datetimes as ISO text so rows hash and store the same way every run."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, Mapping):
        return {k: json_safe(v) for k, v in value.items()}
    return value


def select_clause(kind: SourceKind) -> tuple[list[str], list[str]]:
    """``$select`` and ``$expand`` for a kind: people expanded to Title/EMail, lookups by id."""
    lookups = {f for f, _ in kind.lookups}
    select = ["ID", "Title", "Modified"]
    expand: list[str] = []
    if kind.name == Kind.RISKS:
        select.append("ContentTypeId")
    for name in kind.fields:
        if name in kind.people:
            select += [f"{name}/Title", f"{name}/EMail"]
            expand.append(name)
        elif name in lookups:
            select.append(lookup_id_column(name))
        else:
            select.append(name)
    for name, _ in kind.titles:  # the targets' titles, expanded
        select.append(f"{name}/Title")
        expand.append(name)
    return select, expand


def lookup_titles(value: Any) -> str | None:
    """The titles of an expanded multi-value lookup, joined with «; » (None when it has none)."""
    entries = value if isinstance(value, list) else [value] if isinstance(value, Mapping) else []
    titles = [str(e.get("Title")).strip() for e in entries if isinstance(e, Mapping) and e.get("Title")]
    return "; ".join(t for t in titles if t) or None


def source_row(kind: SourceKind, item: Mapping[str, Any], *, site_id: str, list_id: str) -> dict[str, Any]:
    """The normalised row of one source item (before lookups are resolved to keys)."""
    item_id = int(item.get("ID") or item.get("Id"))  # type: ignore[arg-type]
    row: dict[str, Any] = {"item_id": item_id, "Title": item.get("Title")}
    lookups = dict(kind.lookups)
    for name in kind.fields:
        if name in kind.people:
            row[name] = person(item.get(name))
        elif name in lookups:
            row[lookup_id_column(name)] = lookup_id(item, name)
        elif name in PHASE_FIELDS:
            row[name] = phase_label(item.get(name))
        elif name in NUMBER_FIELDS:
            raw = item.get(name)
            number = to_number(raw)
            row[name] = raw if number is None and not is_blank(raw) else number  # bad values carried over
        else:
            row[name] = item.get(name)
    for name, column in kind.titles:
        if name in item:  # a list without the column (an older site) carries nothing
            row[column] = lookup_titles(item.get(name))
    if kind.name == Kind.RISKS:
        row["ContentType"] = risk_content_type(item.get("ContentTypeId"))
    row["Modified"] = item.get("Modified")
    row["source_key"] = source_key(site_id, list_id, item_id)
    return {k: json_safe(v) for k, v in row.items()}


def resolve_lookups(
    kind: SourceKind,
    row: dict[str, Any],
    *,
    site_id: str,
    list_ids: Mapping[str, str],
    indicator_benefits: Mapping[int, int | None],
) -> dict[str, Any]:
    """Add ``benefit_key``/``indicator_key`` (source keys of the lookup targets) to a row."""
    if kind.name == Kind.INDICATORS:
        target = row.get(lookup_id_column(F.GAIN_LOOKUP))
        row["benefit_key"] = source_key(site_id, list_ids[Kind.BENEFITS], target) if target else None
    elif kind.name == Kind.MEASUREMENTS:
        target = row.get(lookup_id_column(F.MEASURE_INDICATOR_LOOKUP))
        row["indicator_key"] = source_key(site_id, list_ids[Kind.INDICATORS], target) if target else None
        benefit = indicator_benefits.get(int(target)) if target else None
        row["benefit_key"] = source_key(site_id, list_ids[Kind.BENEFITS], benefit) if benefit else None
    return row


def central_values(
    kind_name: str,
    row: Mapping[str, Any],
    project: Mapping[str, Any],
    fields: Mapping[str, str],
    *,
    people: Mapping[str, int | None] | None = None,
) -> dict[str, Any]:
    """Values for the central list item of a row, limited to the central list's ``fields``.

    ``fields`` maps the central list's internal names to their type (``Text``, ``User``, …).
    ``project`` carries ``site_id``, ``url``, ``title``, ``phase``. ``people`` maps e-mail to the
    hub's user id (person ids are per site collection).
    """
    site_id, list_id, item_id = split_source_key(row["source_key"])
    candidates: dict[str, Any] = {
        "Title": row.get("Title") or f"#{item_id}",
        F.SOURCE_KEY: row["source_key"],
        OtherHubField.SOURCE_SITE_ID: site_id,
        F.SOURCE_LIST_ID: list_id,
        F.SOURCE_ITEM_ID: item_id,
        F.SOURCE_MODIFIED: row.get("Modified"),
        F.SITE_ID: project.get("site_id"),
        F.SITE_URL: project.get("url"),
        F.PROJECT_TITLE: project.get("title"),
        F.PROJECT_PHASE_TEXT: project.get("phase"),
        OtherHubField.PROJECT_URL: project.get("url"),
        OtherHubField.PROJECT_NAME: project.get("title"),
        OtherHubField.BENEFIT_KEY: row.get("benefit_key"),
        F.INDICATOR_KEY: row.get("indicator_key"),
        OtherHubField.GAIN_SOURCE_KEY: row.get("benefit_key"),
        OtherHubField.MEASURE_INDICATOR_SOURCE_KEY: row.get("indicator_key"),
        "ContentType": None,
        OtherHubField.RISK_TYPE: row.get("ContentType"),
        OtherHubField.CONTENT_TYPE_NAME: row.get("ContentType"),
    }
    kind = SOURCE_KINDS.get(kind_name)
    if kind is not None:
        for _, column in kind.titles:
            candidates[column] = row.get(column)
        lookups = dict(kind.lookups)
        for name in kind.fields:
            if name in lookups:
                candidates[lookup_id_column(name)] = None  # the central list has no lookup targets
                candidates[f"{name}SourceId"] = row.get(lookup_id_column(name))
            else:
                candidates[name] = row.get(name)
    out: dict[str, Any] = {}
    for name, value in candidates.items():
        ftype = fields.get(name)
        if ftype is None:
            continue
        out.update(_typed(str(name), ftype, value, people or {}))
    return out


def _typed(name: str, ftype: str, value: Any, people: Mapping[str, int | None]) -> dict[str, Any]:
    if ftype in ("User", "UserMulti"):
        email = (value or {}).get("EMail") if isinstance(value, Mapping) else None
        user_id = people.get(email.lower()) if email else None
        return {lookup_id_column(name): user_id}
    if isinstance(value, Mapping):  # a person into a text column
        value = value.get("Title") or value.get("EMail")
    if ftype in ("Text", "Note", "Choice") and value is not None and not isinstance(value, str):
        value = str(value)
    if ftype == "Text" and isinstance(value, str) and len(value) > 255:
        value = value[:255]
    if ftype in ("Number", "Currency", "Integer") and value is not None:
        # an unparsable number cannot be stored in a Number column; the finding keeps it
        value = to_number(value)
    if ftype == "DateTime" and isinstance(value, str) and value:
        value = parse_datetime(value)  # text without an offset is UTC
    if ftype == "Boolean" and value is not None:
        value = bool(value)
    return {name: value}

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

from veiviser.sync.kinds import KINDS, SourceKind, risk_content_type, source_key
from veiviser.sync.quality import as_number, is_blank, lookup_id

#: Term set «Fase» (prosjektveiviseren-model.md 8.1): term id -> label, for PP365 taxonomy values.
PHASE_TERMS: dict[str, str] = {
    "6edb42ac-9aaf-4f07-9cf5-5dfdf9ab0c32": "Idé",
    "777cc6ac-4639-4633-85b9-f1ef61197c4d": "Flere faser",
    "99e85650-33de-4af4-b8db-edffbc8a310b": "Konsept",
    "cda4f1e1-3488-4e57-8a04-6973df239689": "Planlegge",
    "99d7765a-c786-4792-a1a1-866ef0f982b9": "Gjennomføre",
    "30e03c52-8c3e-4cfe-9b18-ca71593ce130": "Avslutte",
    "b7ba84f0-70b9-45c4-8c50-8f73bf15bbec": "Realisere",
}

#: Fields read as numbers (calculated columns arrive as text on PP365 sites).
NUMBER_FIELDS = frozenset(
    {
        "GtRiskProbability",
        "GtRiskConsequence",
        "GtRiskFactor",
        "GtRiskProbabilityPostAction",
        "GtRiskConsequencePostAction",
        "GtRiskFactorPostAction",
        "GtStartValue",
        "GtDesiredValue",
        "GtMeasurementValue",
    }
)


def phase_label(value: Any) -> str | None:
    """A phase label from text, ``"-1;#Label|guid"``, or a taxonomy value dict (PP365 sites)."""
    if is_blank(value):
        return None
    if isinstance(value, Mapping):
        guid = str(value.get("TermGuid") or "").strip("{}").lower()
        if guid in PHASE_TERMS:
            return PHASE_TERMS[guid]
        label = value.get("Label")
        # SharePoint Online returns the WssId as Label on REST reads; then only the guid helps.
        if label and not str(label).lstrip("-").isdigit():
            return str(label)
        return None
    text = str(value)
    if ";#" in text:
        text = text.split(";#", 1)[1]
    if "|" in text:
        label, guid = text.split("|", 1)
        return PHASE_TERMS.get(guid.strip("{} ").lower(), label.strip() or None)
    return text.strip() or None


def person(value: Any) -> dict[str, Any] | None:
    """``{"Title", "EMail"}`` of an expanded person value (None when empty)."""
    if is_blank(value) or not isinstance(value, Mapping):
        return None
    out = {k: value.get(k) for k in ("Title", "EMail") if not is_blank(value.get(k))}
    return out or None


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
    if kind.name == "risks":
        select.append("ContentTypeId")
    for name in kind.fields:
        if name in kind.people:
            select += [f"{name}/Title", f"{name}/EMail"]
            expand.append(name)
        elif name in lookups:
            select.append(f"{name}Id")
        else:
            select.append(name)
    return select, expand


def source_row(kind: SourceKind, item: Mapping[str, Any], *, site_id: str, list_id: str) -> dict[str, Any]:
    """The normalised row of one source item (before lookups are resolved to keys)."""
    item_id = int(item.get("ID") or item.get("Id"))
    row: dict[str, Any] = {"item_id": item_id, "Title": item.get("Title")}
    lookups = dict(kind.lookups)
    for name in kind.fields:
        if name in kind.people:
            row[name] = person(item.get(name))
        elif name in lookups:
            row[f"{name}Id"] = lookup_id(item, name)
        elif name == "GtProjectPhase":
            row[name] = phase_label(item.get(name))
        elif name in NUMBER_FIELDS:
            raw = item.get(name)
            number = as_number(raw)
            row[name] = raw if number is None and not is_blank(raw) else number  # bad values carried over
        else:
            row[name] = item.get(name)
    if kind.name == "risks":
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
    if kind.name == "indicators":
        target = row.get("GtGainLookupId")
        row["benefit_key"] = source_key(site_id, list_ids["benefits"], target) if target else None
    elif kind.name == "measurements":
        target = row.get("GtMeasureIndicatorLookupId")
        row["indicator_key"] = source_key(site_id, list_ids["indicators"], target) if target else None
        benefit = indicator_benefits.get(int(target)) if target else None
        row["benefit_key"] = source_key(site_id, list_ids["benefits"], benefit) if benefit else None
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
    site_id, list_id, item_id = row["source_key"].split(":")
    candidates: dict[str, Any] = {
        "Title": row.get("Title") or f"#{item_id}",
        "GtSourceKey": row["source_key"],
        "GtSourceSiteId": site_id,
        "GtSourceListId": list_id,
        "GtSourceItemId": int(item_id),
        "GtSourceModified": row.get("Modified"),
        "GtSiteId": project.get("site_id"),
        "GtSiteUrl": project.get("url"),
        "GtProjectTitle": project.get("title"),
        "GtProjectPhaseText": project.get("phase"),
        "GtProjectUrl": project.get("url"),
        "GtProjectName": project.get("title"),
        "GtBenefitKey": row.get("benefit_key"),
        "GtIndicatorKey": row.get("indicator_key"),
        "GtGainSourceKey": row.get("benefit_key"),
        "GtMeasureIndicatorSourceKey": row.get("indicator_key"),
        "ContentType": None,
        "GtRiskType": row.get("ContentType"),
        "GtContentTypeName": row.get("ContentType"),
    }
    kind = KINDS.get(kind_name)
    if kind is not None:
        lookups = dict(kind.lookups)
        for name in kind.fields:
            if name in lookups:
                candidates[f"{name}Id"] = None  # the central list has no lookup targets of its own
                candidates[f"{name}SourceId"] = row.get(f"{name}Id")
            else:
                candidates[name] = row.get(name)
    out: dict[str, Any] = {}
    for name, value in candidates.items():
        ftype = fields.get(name)
        if ftype is None:
            continue
        out.update(_typed(name, ftype, value, people or {}))
    return out


def _typed(name: str, ftype: str, value: Any, people: Mapping[str, int | None]) -> dict[str, Any]:
    if ftype in ("User", "UserMulti"):
        email = (value or {}).get("EMail") if isinstance(value, Mapping) else None
        user_id = people.get(email.lower()) if email else None
        return {f"{name}Id": user_id}
    if isinstance(value, Mapping):  # a person into a text column
        value = value.get("Title") or value.get("EMail")
    if ftype in ("Text", "Note", "Choice") and value is not None and not isinstance(value, str):
        value = str(value)
    if ftype == "Text" and isinstance(value, str) and len(value) > 255:
        value = value[:255]
    if ftype in ("Number", "Currency", "Integer") and value is not None:
        number = as_number(value)
        value = number  # an unparsable number cannot be stored in a Number column; the finding keeps it
    if ftype == "DateTime" and isinstance(value, str) and value:
        value = value if value.endswith("Z") or "+" in value[10:] else value + "Z"
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if ftype == "Boolean" and value is not None:
        value = bool(value)
    return {name: value}

"""Data-quality rules: values that break the Prosjektveiviseren model become findings, never rejections.

The sync carries every value over as it is and lists what breaks the model (probability 7, a
measurement pointing at a deleted indicator, an indicator without start or desired value, a
benefit without an owner, ...) in the run report. The rules are pure functions over one site's
current rows (internal field names as keys, ``item_id`` = the source item id), so they see the
whole site even when a run read only the changes.

Model facts: prosjektveiviseren-model.md sections 4.1 (S and K are 0–5, 0 = not assessed),
4.4–4.6 (benefit chain and lookups) and 6 (achievement needs start, desired and measured values).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from veiviser.sync.kinds import KINDS


@dataclass(frozen=True)
class Finding:
    """One value that breaks the model: where (site, list, item, field), what, and which rule."""

    site_url: str
    list_title: str
    item_id: int | None
    field: str | None
    value: Any
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "site_url": self.site_url,
            "list": self.list_title,
            "item_id": self.item_id,
            "field": self.field,
            "value": self.value,
            "rule": self.rule,
            "message": self.message,
        }


#: rule id -> one-line description (shown in reports and docs).
RULES: dict[str, str] = {
    "risk-scale-range": "Probability and consequence must be numbers from 0 to 5 (0 = not assessed).",
    "indicator-missing-start": "A measure indicator needs a start value (baseline).",
    "indicator-missing-desired": "A measure indicator needs a desired value (target).",
    "indicator-target-equals-baseline": "Desired value equals start value: achievement is undefined.",
    "indicator-without-benefit": "A measure indicator should point at a benefit.",
    "indicator-benefit-missing": "The indicator points at a benefit that does not exist (deleted?).",
    "measurement-without-indicator": "A measurement should point at a measure indicator.",
    "measurement-indicator-missing": "The measurement points at an indicator that does not exist (deleted?).",
    "measurement-without-value": "A measurement without a measured value cannot be followed up.",
    "benefit-without-owner": "A benefit needs an owner (Gevinsteier) who is accountable for it.",
}

_RISK_SCALES = (
    "GtRiskProbability",
    "GtRiskConsequence",
    "GtRiskProbabilityPostAction",
    "GtRiskConsequencePostAction",
)


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


def as_number(value: Any) -> float | None:
    """A number from an int/float/numeric string; None when blank or not a number."""
    if is_blank(value) or isinstance(value, bool):
        return None
    try:
        number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def lookup_id(row: Mapping[str, Any], field: str) -> int | None:
    """The target item id of a lookup/person field, whatever shape the reader delivered.

    Accepts ``<field>Id`` (REST), a dict with ``Id``/``ID``/``LookupId``, or a bare int.
    """
    for candidate in (row.get(f"{field}Id"), row.get(field)):
        if is_blank(candidate):
            continue
        if isinstance(candidate, Mapping):
            for key in ("Id", "ID", "LookupId", "lookupId"):
                if not is_blank(candidate.get(key)):
                    candidate = candidate[key]
                    break
            else:
                continue
        if isinstance(candidate, list | tuple):
            candidate = candidate[0] if candidate else None
        number = as_number(candidate)
        if number is not None and number > 0:
            return int(number)
    return None


def check_site(site_url: str, rows_by_kind: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[Finding]:
    """All findings for one site's current rows (``kind`` -> rows with ``item_id`` and values)."""
    findings: list[Finding] = []
    risks = rows_by_kind.get("risks", ())
    benefits = rows_by_kind.get("benefits", ())
    indicators = rows_by_kind.get("indicators", ())
    measurements = rows_by_kind.get("measurements", ())
    findings += check_risks(site_url, risks)
    findings += check_benefits(site_url, benefits)
    findings += check_indicators(site_url, indicators, {_item_id(b) for b in benefits})
    findings += check_measurements(site_url, measurements, {_item_id(i) for i in indicators})
    return findings


def check_risks(site_url: str, rows: Iterable[Mapping[str, Any]]) -> list[Finding]:
    out = []
    title = KINDS["risks"].list_title
    for row in rows:
        for field in _RISK_SCALES:
            value = row.get(field)
            if is_blank(value):
                continue
            number = as_number(value)
            if number is None or not 0 <= number <= 5:
                out.append(
                    Finding(
                        site_url,
                        title,
                        _item_id(row),
                        field,
                        value,
                        "risk-scale-range",
                        f"{field} is {value!r}; the scale is 0–5 (0 = not assessed).",
                    )
                )
    return out


def check_benefits(site_url: str, rows: Iterable[Mapping[str, Any]]) -> list[Finding]:
    out = []
    title = KINDS["benefits"].list_title
    for row in rows:
        if lookup_id(row, "GtGainsOwner") is None and is_blank(row.get("GtGainsOwner")):
            out.append(
                Finding(
                    site_url,
                    title,
                    _item_id(row),
                    "GtGainsOwner",
                    None,
                    "benefit-without-owner",
                    f"Benefit {row.get('Title')!r} has no owner (Gevinsteier).",
                )
            )
    return out


def check_indicators(
    site_url: str, rows: Iterable[Mapping[str, Any]], benefit_ids: set[int | None]
) -> list[Finding]:
    out = []
    title = KINDS["indicators"].list_title
    for row in rows:
        item = _item_id(row)
        start, desired = as_number(row.get("GtStartValue")), as_number(row.get("GtDesiredValue"))
        if start is None:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtStartValue",
                    row.get("GtStartValue"),
                    "indicator-missing-start",
                    f"Indicator {row.get('Title')!r} has no start value.",
                )
            )
        if desired is None:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtDesiredValue",
                    row.get("GtDesiredValue"),
                    "indicator-missing-desired",
                    f"Indicator {row.get('Title')!r} has no desired value.",
                )
            )
        if start is not None and desired is not None and start == desired:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtDesiredValue",
                    row.get("GtDesiredValue"),
                    "indicator-target-equals-baseline",
                    f"Indicator {row.get('Title')!r}: desired value equals start value ({start:g}).",
                )
            )
        benefit = lookup_id(row, "GtGainLookup")
        if benefit is None:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtGainLookup",
                    None,
                    "indicator-without-benefit",
                    f"Indicator {row.get('Title')!r} is not linked to a benefit.",
                )
            )
        elif benefit not in benefit_ids:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtGainLookup",
                    benefit,
                    "indicator-benefit-missing",
                    f"Indicator {row.get('Title')!r} points at benefit {benefit}, which does not exist.",
                )
            )
    return out


def check_measurements(
    site_url: str, rows: Iterable[Mapping[str, Any]], indicator_ids: set[int | None]
) -> list[Finding]:
    out = []
    title = KINDS["measurements"].list_title
    for row in rows:
        item = _item_id(row)
        indicator = lookup_id(row, "GtMeasureIndicatorLookup")
        if indicator is None:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtMeasureIndicatorLookup",
                    None,
                    "measurement-without-indicator",
                    f"Measurement {item} is not linked to a measure indicator.",
                )
            )
        elif indicator not in indicator_ids:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtMeasureIndicatorLookup",
                    indicator,
                    "measurement-indicator-missing",
                    f"Measurement {item} points at indicator {indicator}, which does not exist.",
                )
            )
        if as_number(row.get("GtMeasurementValue")) is None:
            out.append(
                Finding(
                    site_url,
                    title,
                    item,
                    "GtMeasurementValue",
                    row.get("GtMeasurementValue"),
                    "measurement-without-value",
                    f"Measurement {item} has no measured value.",
                )
            )
    return out


def _item_id(row: Mapping[str, Any]) -> int | None:
    for key in ("item_id", "ID", "Id"):
        number = as_number(row.get(key))
        if number is not None:
            return int(number)
    return None

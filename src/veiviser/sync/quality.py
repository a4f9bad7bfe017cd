"""Data-quality rules: values that break the Prosjektveiviseren model become findings, never rejections.

The sync carries every value over as it is and lists what breaks the model (probability 7, a
measurement pointing at a deleted indicator, an indicator without start or desired value, a
benefit without an owner, ...) in the run report. The rules are pure functions over one site's
current rows (internal field names as keys, ``item_id`` = the source item id), so they see the
whole site even when a run read only the changes.

Model facts (``docs/data-model.md``): probability and consequence are 0–5 with 0 = not assessed
("Usikkerhet"); benefits, indicators and measurements form a chain through lookups ("The benefit
chain"); achievement needs start, desired and measured values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from veiviser.schemas.names import F, Kind, lookup_id_column
from veiviser.schemas.parsing import is_blank as is_blank
from veiviser.schemas.parsing import to_number
from veiviser.sync.kinds import SOURCE_KINDS


@dataclass(frozen=True)
class QualityFinding:
    """One value that breaks the model: where (site, list, item, field), what, and which rule."""

    site_url: str
    list_title: str
    item_id: int | None
    field: str | None
    value: Any
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The report's shape: the attributes in order, ``list_title`` as ``list``."""
        return {("list" if f.name == "list_title" else f.name): getattr(self, f.name) for f in fields(self)}


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

#: rule id -> description of the findings the sync itself makes about a site (docs/sync.md).
SITE_RULES: dict[str, str] = {
    "list-missing": "A source list is missing at the site; its rows stay in the portfolio for a few runs.",
    "list-renamed": "A source list was renamed; it is synced under its new title.",
    "mass-delete-held": "A read would delete too many rows; nothing was deleted for the site.",
    "person-unknown": "A person the hub cannot resolve; the row is in the portfolio without them.",
    "column-missing": "A source list lacks a template column; its rows are synced without it.",
    "choice-outside": "A value that is not one of the portfolio's choices; the row is copied without it.",
}

_RISK_SCALES = (
    F.RISK_PROBABILITY,
    F.RISK_CONSEQUENCE,
    F.RISK_PROBABILITY_POST_ACTION,
    F.RISK_CONSEQUENCE_POST_ACTION,
)


def as_number(value: Any) -> float | None:
    """A number in any format :mod:`veiviser.schemas.parsing` reads; None when blank or not a number."""
    return to_number(value)


def lookup_id(row: Mapping[str, Any], field: str) -> int | None:
    """The target item id of a lookup/person field, whatever shape the reader delivered.

    Accepts ``<field>Id`` (REST), a dict with ``Id``/``ID``/``LookupId``, or a bare int.
    """
    for candidate in (row.get(lookup_id_column(field)), row.get(field)):
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
        number = to_number(candidate)
        if number is not None and number > 0:
            return int(number)
    return None


def check_site(
    site_url: str, rows_by_kind: Mapping[str, Sequence[Mapping[str, Any]]]
) -> list[QualityFinding]:
    """All findings for one site's current rows (``kind`` -> rows with ``item_id`` and values)."""
    findings: list[QualityFinding] = []
    risks = rows_by_kind.get(Kind.RISKS, ())
    benefits = rows_by_kind.get(Kind.BENEFITS, ())
    indicators = rows_by_kind.get(Kind.INDICATORS, ())
    measurements = rows_by_kind.get(Kind.MEASUREMENTS, ())
    findings += check_risks(site_url, risks)
    findings += check_benefits(site_url, benefits)
    findings += check_indicators(site_url, indicators, {_item_id(b) for b in benefits})
    findings += check_measurements(site_url, measurements, {_item_id(i) for i in indicators})
    return findings


@dataclass(frozen=True)
class _Site:
    """Builds the findings of one list on one site."""

    site_url: str
    kind: str

    def finding(
        self, row: Mapping[str, Any], field: str, value: Any, rule: str, message: str
    ) -> QualityFinding:
        title = SOURCE_KINDS[self.kind].list_title
        return QualityFinding(self.site_url, title, _item_id(row), str(field), value, rule, message)

    def link(
        self,
        row: Mapping[str, Any],
        field: str,
        targets: set[int | None],
        subject: str,
        target: tuple[str, str],
    ) -> list[QualityFinding]:
        """A lookup that is empty or points at no row in ``targets``.

        ``subject`` starts the message («Indicator 'X'»); ``target`` is the rule-name stem and the
        word for the target («benefit»), which name the rules ``<stem>-without-<word>`` and
        ``<stem>-<word>-missing``.
        """
        stem, word = target
        found = lookup_id(row, field)
        if found is None:
            message = f"{subject} is not linked to a {_LONG.get(word, word)}."
            return [self.finding(row, field, None, f"{stem}-without-{word}", message)]
        if found not in targets:
            message = f"{subject} points at {word} {found}, which does not exist."
            return [self.finding(row, field, found, f"{stem}-{word}-missing", message)]
        return []


#: How an empty lookup's message names its target, where it differs from the rule's word.
_LONG = {"indicator": "measure indicator"}


def check_risks(site_url: str, rows: Iterable[Mapping[str, Any]]) -> list[QualityFinding]:
    out = []
    site = _Site(site_url, Kind.RISKS)
    for row in rows:
        for field in _RISK_SCALES:
            value = row.get(field)
            if is_blank(value):
                continue
            number = to_number(value)
            if number is None or not 0 <= number <= 5:
                message = f"{field} is {value!r}; the scale is 0–5 (0 = not assessed)."
                out.append(site.finding(row, field, value, "risk-scale-range", message))
    return out


def check_benefits(site_url: str, rows: Iterable[Mapping[str, Any]]) -> list[QualityFinding]:
    out = []
    site = _Site(site_url, Kind.BENEFITS)
    for row in rows:
        if lookup_id(row, F.GAINS_OWNER) is None and is_blank(row.get(F.GAINS_OWNER)):
            message = f"Benefit {row.get('Title')!r} has no owner (Gevinsteier)."
            out.append(site.finding(row, F.GAINS_OWNER, None, "benefit-without-owner", message))
    return out


def check_indicators(
    site_url: str, rows: Iterable[Mapping[str, Any]], benefit_ids: set[int | None]
) -> list[QualityFinding]:
    out = []
    site = _Site(site_url, Kind.INDICATORS)
    for row in rows:
        title = row.get("Title")
        start_raw, desired_raw = row.get(F.START_VALUE), row.get(F.DESIRED_VALUE)
        start, desired = to_number(start_raw), to_number(desired_raw)
        if start is None:
            message = f"Indicator {title!r} has no start value."
            out.append(site.finding(row, F.START_VALUE, start_raw, "indicator-missing-start", message))
        if desired is None:
            message = f"Indicator {title!r} has no desired value."
            out.append(site.finding(row, F.DESIRED_VALUE, desired_raw, "indicator-missing-desired", message))
        if start is not None and desired is not None and start == desired:
            message = f"Indicator {title!r}: desired value equals start value ({start:g})."
            rule = "indicator-target-equals-baseline"
            out.append(site.finding(row, F.DESIRED_VALUE, desired_raw, rule, message))
        out += site.link(row, F.GAIN_LOOKUP, benefit_ids, f"Indicator {title!r}", ("indicator", "benefit"))
    return out


def check_measurements(
    site_url: str, rows: Iterable[Mapping[str, Any]], indicator_ids: set[int | None]
) -> list[QualityFinding]:
    out = []
    site = _Site(site_url, Kind.MEASUREMENTS)
    for row in rows:
        item = _item_id(row)
        subject = f"Measurement {item}"
        out += site.link(
            row, F.MEASURE_INDICATOR_LOOKUP, indicator_ids, subject, ("measurement", "indicator")
        )
        value = row.get(F.MEASUREMENT_VALUE)
        if to_number(value) is None:
            message = f"Measurement {item} has no measured value."
            out.append(site.finding(row, F.MEASUREMENT_VALUE, value, "measurement-without-value", message))
    return out


def _item_id(row: Mapping[str, Any]) -> int | None:
    for key in ("item_id", "ID", "Id"):
        number = to_number(row.get(key))
        if number is not None:
            return int(number)
    return None

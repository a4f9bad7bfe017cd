"""Feedback to the project leads on their own site: what the portfolio sees about the project.

Opt-in (``veiviser sync run --feedback``). After a site is synced, one item in the site's hidden list
«Porteføljetilbakemelding» says, in Norwegian, what the portfolio office sees: data-quality
findings, open risks without an action owner, unacceptable risks (risk factor over 10, not
closed), benefits without a measure indicator, and indicators whose last measurement is stale.
The text is derived from the site's current rows and findings only; its hash is kept in the state
store, so unchanged feedback costs no request. The sync writes only that list, never the project's
own items. See docs/sync.md, "Feedback to the project".

The pure half (:func:`feedback_text`) is here with the writer (:func:`write_feedback`), which uses
the gateway's request builders.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from veiviser.portfolio.words import describe, field_title
from veiviser.schemas.names import F
from veiviser.schemas.parsing import is_blank, to_number
from veiviser.sharepoint import items as rest
from veiviser.sharepoint import schema as lists
from veiviser.sharepoint.batch import OperationResult
from veiviser.sharepoint.client import SiteClient
from veiviser.sharepoint.paths import ListTarget
from veiviser.sync.quality import QualityFinding
from veiviser.sync.report import site_error

#: The hidden list on each project site, and its fields (besides Title).
FEEDBACK_LIST = "Porteføljetilbakemelding"
TEXT_FIELD = "GtPortfolioFeedback"
HASH_FIELD = "GtPortfolioFeedbackHash"
#: The state store keeps the hash of the feedback last written under this list name.
STATE_NAME = "feedback"
#: A risk factor (probability × consequence) above this is unacceptable (docs/portfolio.md).
UNACCEPTABLE_FACTOR = 10
#: Risk statuses that close a risk.
CLOSED_STATUSES = frozenset({"Tiltak gjennomført", "Ikke lenger aktuell"})
#: A measurement older than this is stale.
STALE_AFTER = timedelta(days=183)

#: Findings that are for the portfolio office, not the project lead (a held mass deletion).
OFFICE_ONLY_RULES = frozenset({"mass-delete-held"})


def _title(row: Mapping[str, Any]) -> str:
    return f"«{row.get('Title') or 'uten tittel'}»"


def _open(row: Mapping[str, Any]) -> bool:
    return str(row.get(F.RISK_STATUS) or "") not in CLOSED_STATUSES


def _day(value: Any) -> date | None:
    text = str(value or "")[:10]
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def feedback_lines(
    rows: Mapping[str, Mapping[str, Mapping[str, Any]]], findings: Iterable[QualityFinding], today: date
) -> dict[str, list[str]]:
    """The feedback's sections (heading -> lines), from a site's rows by kind and its findings."""
    risks = list(rows.get("risks", {}).values())
    benefits = rows.get("benefits", {})
    indicators = rows.get("indicators", {})
    measurements = list(rows.get("measurements", {}).values())
    out: dict[str, list[str]] = {}
    unacceptable = []
    for r in sorted(risks, key=lambda r: int(r.get("item_id") or 0)):
        p, c = to_number(r.get(F.RISK_PROBABILITY)), to_number(r.get(F.RISK_CONSEQUENCE))
        if p is not None and c is not None and p * c > UNACCEPTABLE_FACTOR and _open(r):
            unacceptable.append(
                f"{_title(r)} har risikofaktor {p * c:g} (sannsynlighet {p:g} × konsekvens {c:g}) og er ikke lukket."
            )
    out["Uakseptable risikoer"] = unacceptable
    out["Risikoer uten tiltaksansvarlig"] = [
        f"{_title(r)} har ingen tiltaksansvarlig."
        for r in sorted(risks, key=lambda r: int(r.get("item_id") or 0))
        if _open(r) and is_blank(r.get(F.ACTION_RESPONSIBLE))
    ]
    measured = {i.get("benefit_key") for i in indicators.values()}
    out["Gevinster uten måleindikator"] = [
        f"{_title(b)} har ingen måleindikator."
        for key, b in sorted(benefits.items(), key=lambda kv: int(kv[1].get("item_id") or 0))
        if key not in measured
    ]
    latest: dict[str, date] = {}
    for m in measurements:
        day = _day(m.get("GtMeasurementDate"))
        key = m.get("indicator_key")
        if day is not None and key:
            latest[key] = max(day, latest.get(key, day))
    out["Måleindikatorer uten ferske målinger"] = [
        f"{_title(i)}: siste måling er fra {latest[key].isoformat()}, mer enn et halvt år siden."
        for key, i in sorted(indicators.items(), key=lambda kv: int(kv[1].get("item_id") or 0))
        if key in latest and today - latest[key] > STALE_AFTER
    ]
    out["Datakvalitet"] = [finding_line(f) for f in findings if f.rule not in OFFICE_ONLY_RULES]
    return {heading: lines for heading, lines in out.items() if lines}


def finding_line(finding: QualityFinding) -> str:
    """A finding as the project lead reads it: where, what is wrong and what to do, in Norwegian
    (the wording of every rule is in :data:`veiviser.portfolio.words.FINDINGS`)."""
    text, todo = describe(
        finding.rule, {"value": finding.value, "field": finding.field, "list": finding.list_title}
    )
    where = [finding.list_title or "Prosjektområdet"]
    if finding.item_id is not None:
        where.append(f"element {finding.item_id}")
    if finding.field:
        where.append(f"felt {field_title(finding.field)}")
    return f"{', '.join(where)}: {text} {todo}"


def feedback_text(project_title: str, sections: Mapping[str, list[str]]) -> str:
    """The feedback as plain text (the item's note field): a heading, then each section's lines."""
    head = f"Porteføljekontoret ser dette om «{project_title}»:"
    if not sections:
        return f"{head}\n\nIngen avvik. Takk!"
    parts = [head]
    for heading, lines in sections.items():
        parts.append(f"\n{heading} ({len(lines)}):\n" + "\n".join(f"- {line}" for line in lines))
    return "\n".join(parts)


def feedback_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


# --- writing it to the project site --------------------------------------------------------------


def _field_xml(name: str, kind: str, display: str) -> str:
    extra = ' NumLines="12" RichText="FALSE"' if kind == "Note" else ""
    return f'<Field Type="{kind}" Name="{name}" StaticName="{name}" DisplayName="{display}"{extra} />'


@dataclass(frozen=True)
class FeedbackState:
    """What the state store keeps of the feedback last written to a site: the text's hash, and
    where the item is (list id, item id, entity type), so a changed text costs one request."""

    digest: str
    list_id: str = ""
    item_id: int = 0
    entity_type: str = ""

    def token(self) -> str:
        """Packed into the token column of the site's ``feedback`` token record."""
        return " ".join([self.digest, str(self.item_id), self.entity_type]).strip()

    @classmethod
    def from_record(cls, list_id: str, token: str) -> FeedbackState:
        digest, _, rest = token.partition(" ")
        item, _, entity = rest.partition(" ")
        return cls(digest, list_id, int(item) if item.isdigit() else 0, entity)


def write_feedback(
    site: SiteClient, site_url: str, text: str, digest: str, known: FeedbackState | None = None
) -> FeedbackState:
    """Create or update the one feedback item on ``site`` (the hidden list is created when missing).
    Only the feedback list is ever written. With ``known`` (where the item was last written) an
    update is one MERGE; when that item or list is gone, the list is looked up as on a first run."""
    values = {"Title": "Tilbakemelding fra porteføljen", TEXT_FIELD: text, HASH_FIELD: digest}
    if known is not None and known.list_id and known.item_id and known.entity_type:
        target = ListTarget.by_id(known.list_id)
        op = rest.merge_item(
            target, known.item_id, values, known.entity_type, key="write", list=FEEDBACK_LIST
        )
        (res,) = site.batch([op])
        if res.ok:
            return FeedbackState(digest, known.list_id, known.item_id, known.entity_type)
        if res.status not in (400, 404):  # 404: deleted by hand; anything else is an error
            raise site_error(res, site_url, f"write the feedback to {FEEDBACK_LIST!r}")
    results: dict[str, OperationResult | None] = {
        r.key: r
        for r in site.batch(
            [
                rest.get_list_entity_type(FEEDBACK_LIST, key="type", with_id=True),
                rest.get_items(FEEDBACK_LIST, select=["ID", HASH_FIELD], top=1, key="items"),
            ]
        )
    }
    first = results["type"]
    if first is None or not first.ok:  # the list is missing: create it, hidden, with its two fields
        created = site.run(
            lists.create_list(
                {
                    "Title": FEEDBACK_LIST,
                    "BaseTemplate": 100,
                    "Hidden": True,
                    "Description": "Fra porteføljen",
                }
            )
        )
        target = ListTarget.by_id(str(created["Id"]))
        ops = [
            lists.create_field_as_xml(_field_xml(TEXT_FIELD, "Note", "Tilbakemelding"), target),
            lists.create_field_as_xml(_field_xml(HASH_FIELD, "Text", "Innholdets fingeravtrykk"), target),
            rest.get_list_entity_type(FEEDBACK_LIST, key="type", with_id=True),
        ]
        results = {"items": None, **{r.key: r for r in site.batch(ops) if r.key == "type"}}
    type_res = results["type"]
    if type_res is None or not type_res.ok:
        raise site_error(
            type_res or OperationResult("type", 0), site_url, f"create the list {FEEDBACK_LIST!r}"
        )
    entity = str((type_res.value or {}).get("ListItemEntityTypeFullName") or "")
    list_id = str((type_res.value or {}).get("Id") or "").strip("{}").lower()
    existing = results.get("items")
    page = existing.value if existing is not None and existing.ok and isinstance(existing.value, list) else []
    if page:
        op = rest.merge_item(FEEDBACK_LIST, int(page[0]["ID"]), values, entity, key="write")
    else:
        op = rest.create_item(FEEDBACK_LIST, values, entity, key="write")
    (res,) = site.batch([op])
    if not res.ok:
        raise site_error(res, site_url, f"write the feedback to {FEEDBACK_LIST!r}")
    item_id = (
        int(page[0]["ID"]) if page else int((res.value or {}).get("Id") or (res.value or {}).get("ID") or 0)
    )
    return FeedbackState(digest, list_id, item_id, entity)

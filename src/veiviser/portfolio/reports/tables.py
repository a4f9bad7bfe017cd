"""The tabular views of the report: which columns, with which label and format.

One definition serves the Excel workbook (one sheet per :class:`ViewTable`) and the table
alternatives in the HTML report, so both always show the same figures. Labels are Norwegian
(the report's audience); formats are semantic (``int``, ``number``, ``percent``, ``date``, …)
and each writer renders them its own way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from veiviser.portfolio.benefits import (
    ACHIEVED,
    BEHIND,
    NO_MEASUREMENTS,
    NOT_MEASURABLE,
    ON_TRACK,
    STALE,
    status_count_column,
)
from veiviser.portfolio.findings import AnalysisFinding
from veiviser.portfolio.frames import is_missing
from veiviser.portfolio.itposmo import DIMENSION_KEYS
from veiviser.portfolio.reports.views import STAKEHOLDER_GROUPING, ReportViews
from veiviser.portfolio.words import NOT_GIVEN, field_title, list_title, say
from veiviser.schemas.names import F
from veiviser.schemas.parsing import person_name, split_source_key, to_number

#: ``WORD``: a code word of the analytics (or a list of them), shown through
#: :func:`veiviser.portfolio.words.say`; ``FIELDS``: internal field names (a list, or the keys of a
#: dict), shown by their display names; ``LIST``: a frame, shown by the title of its list.
WORD, FIELDS, LIST = "word", "fields", "list"
#: ``MISSING_SAYS``: text that shows «(mangler)» when empty (the benefit tree draws what is missing).
MISSING_SAYS = "missing-says"
TEXT, INT, NUMBER, PERCENT, DATE, DATETIME, BOOL = (
    "text",
    "int",
    "number",
    "percent",
    "date",
    "datetime",
    "bool",
)


@dataclass(frozen=True)
class Column:
    """One column of a view: source column, Norwegian label, semantic format."""

    key: str
    label: str
    fmt: str = TEXT


@dataclass
class ViewTable:
    """A named table view (one Excel sheet), its frame and columns; ``note`` explains it."""

    sheet: str
    title: str
    frame: pd.DataFrame | None
    columns: list[Column]
    note: str = ""

    @property
    def empty(self) -> bool:
        return self.frame is None or self.frame.empty

    def records(self) -> list[list[Any]]:
        """Rows of plain Python values (None for missing) in column order."""
        if self.frame is None or self.frame.empty:
            return []
        out = []
        for _, row in self.frame.iterrows():
            out.append([plain(row.get(c.key), c.fmt) for c in self.columns])
        return out


def plain(value: Any, fmt: str = TEXT) -> Any:
    """A cell value as plain Python: None, bool, int, float, datetime/date or str (lists joined)."""
    if fmt == FIELDS:
        if isinstance(value, dict):
            value = {field_title(k): v for k, v in value.items() if not is_missing(v)} or None
        elif isinstance(value, list | tuple):
            value = [field_title(v) for v in value]
        else:
            value = field_title(value)
    elif fmt == WORD:
        value = [say(v) for v in value] if isinstance(value, list | tuple) else say(value)
    elif fmt == LIST:
        value = list_title(value)
    elif fmt == MISSING_SAYS and (value is None or is_missing(value)):
        return NOT_GIVEN
    if isinstance(value, list | tuple):
        parts = [plain(v) for v in value]
        return "; ".join(_pair(p) for p in parts if p is not None) or None
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_text(v)}" for k, v in value.items()) or None
    if is_missing(value):
        return None
    if fmt in (DATE, DATETIME):
        ts = pd.Timestamp(value)
        return ts.date() if fmt == DATE else ts.to_pydatetime()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()  # numpy scalar
    if fmt == INT and isinstance(value, float) and value.is_integer():
        return int(value)
    if fmt in (INT, NUMBER, PERCENT) and isinstance(value, str):
        parsed = to_number(value)
        return value if parsed is None else parsed
    if fmt == BOOL:
        return bool(value)
    return value


def _pair(v: Any) -> str:
    return _text(v)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "Ja" if v else "Nei"
    if isinstance(v, dict | list):  # a person or lookup as the list stores it
        return person_name(v) or ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime | pd.Timestamp):
        return f"{v:%Y-%m-%d}"
    return str(v)


def display(value: Any, fmt: str = TEXT) -> str:
    """Norwegian display text: 1 234,5; 12,5 %; 2025-06-30; Ja/Nei; empty for missing."""
    v = plain(value, fmt)
    if v is None:
        return ""
    if isinstance(v, bool) or fmt == BOOL:
        return "Ja" if v else "Nei"
    if isinstance(v, datetime):
        return f"{v:%Y-%m-%d}" if fmt != DATETIME else f"{v:%Y-%m-%d %H:%M}"
    if isinstance(v, date):
        return f"{v:%Y-%m-%d}"
    if isinstance(v, int | float) and not isinstance(v, bool):
        if isinstance(v, float) and not math.isfinite(v):
            return ""
        if fmt == PERCENT:
            return f"{number_nb(v, 1)} %"
        if fmt == INT or (isinstance(v, int)) or float(v).is_integer():
            return number_nb(v, 0)
        return number_nb(v, 2)
    return str(v)


def number_nb(v: float, decimals: int) -> str:
    """Norwegian number: narrow no-break space as thousands separator, decimal comma."""
    text = f"{v:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",").replace("-", "−")


def nb_status(value: Any) -> Any:
    """Status values (any code word) in Norwegian for display; other values unchanged."""
    return say(value)


# Column headings for a benefit's indicator counts by status (a heading, not the lower-case cell text).
INDICATOR_STATUS_LABELS = {
    ACHIEVED: "Oppnådd",
    ON_TRACK: "I rute",
    BEHIND: "Etter plan",
    STALE: "Utdatert",
    NO_MEASUREMENTS: "Uten målinger",
    NOT_MEASURABLE: "Ikke målbar",
}

# Column headings for the stakeholder fields the report counts by.
STAKEHOLDER_LABELS: dict[str, str] = {
    F.STAKEHOLDER_GROUP: "Gruppe",
    F.STAKEHOLDER_INFLUENCE: "Påvirkes i hvilken grad",
    F.STAKEHOLDER_INTEREST: "Interesse",
}

P = Column("project_title", "Prosjekt")
T = Column("Title", "Tittel")


def view_tables(v: ReportViews) -> list[ViewTable]:
    """Every tabular view of the report, in sheet order."""
    ben = v.benefits
    tables = [
        ViewTable(
            "Prosjekter",
            "Prosjekter",
            v.projects,
            [
                Column("project_key", "Prosjekt-ID"),
                P,
                Column(F.PROJECT_NUMBER, "Prosjektnummer"),
                Column(F.PROJECT_PHASE, "Fase"),
                Column(F.PROJECT_SERVICE_AREA_TEXT, "Tjenesteområde"),
                Column(F.PROJECT_MANAGER, "Prosjektleder"),
                Column(F.PROJECT_OWNER, "Prosjekteier"),
                Column(F.START_DATE, "Startdato", DATE),
                Column(F.END_DATE, "Sluttdato", DATE),
                Column("open_risks", "Åpne risikoer", INT),
                Column("unacceptable", "Uakseptable risikoer", INT),
                Column("without_owner", "Risikoer uten tiltakseier", INT),
                Column("open_opportunities", "Åpne muligheter", INT),
                Column("max_factor", "Høyeste risikofaktor", NUMBER),
                Column("benefits", "Gevinster", INT),
                Column("benefits_behind_or_stale", "Gevinster etter plan/utdatert", INT),
            ],
        ),
        ViewTable(
            "Gevinster",
            "Gevinster: status",
            ben.benefits if ben else None,
            [
                P,
                T,
                Column(F.GAINS_TYPE, "Gevinsttype"),
                Column("owner", "Gevinsteier", WORD),
                Column(F.REALIZATION_TIME, "Realiseringstidspunkt", DATE),
                Column("status", "Status", WORD),
                Column("indicator_count", "Måleindikatorer", INT),
                *[
                    Column(status_count_column(status), label, INT)
                    for status, label in INDICATOR_STATUS_LABELS.items()
                ],
            ],
            "Status per gevinst = den dårligste statusen blant måleindikatorene.",
        ),
        ViewTable(
            "Gevinstkart",
            "Gevinstkart: endring → gevinst → måleindikator → mål",
            _tree(v),
            [
                P,
                Column("change", "Endring", MISSING_SAYS),
                Column("benefit", "Gevinst"),
                Column("benefit_type", "Gevinsttype"),
                Column("owner", "Gevinsteier", MISSING_SAYS),
                Column("benefit_status", "Status gevinst", WORD),
                Column("indicator", "Måleindikator", MISSING_SAYS),
                Column("unit", "Måleenhet"),
                Column("start", "Startverdi", NUMBER),
                Column("desired", "Ønsket verdi", NUMBER),
                Column("latest", "Siste måling", NUMBER),
                Column("indicator_status", "Status måleindikator", WORD),
                Column("goal", "Mål", MISSING_SAYS),
            ],
            "Én rad per gevinst og måleindikator. «(mangler)» = feltet er tomt i prosjektets liste.",
        ),
        ViewTable(
            "Måloppnåelse",
            "Måloppnåelse per måling",
            ben.measurements if ben else None,
            [
                P,
                Column("indicator_title", "Måleindikator"),
                Column(F.MEASUREMENT_UNIT, "Måleenhet"),
                Column(F.MEASUREMENT_DATE, "Dato for måling", DATE),
                Column(F.START_VALUE, "Startverdi", NUMBER),
                Column(F.DESIRED_VALUE, "Ønsket verdi", NUMBER),
                Column(F.MEASUREMENT_VALUE, "Målt verdi", NUMBER),
                Column("achievement_pct", "Måloppnåelse", PERCENT),
                Column("achievement_status", "Beregning", WORD),
                Column("achieved", "Oppnådd", BOOL),
                Column("trend", "Trend", WORD),
                Column("is_current", "Gjeldende måling", BOOL),
            ],
            "Måloppnåelse = (målt − start) / (ønsket − start). Verdier over 100 % og under 0 % er reelle og beholdes.",
        ),
        ViewTable(
            "Planlagt mot realisert",
            "Planlagt mot realisert per gevinsteier, år og måleenhet",
            v.planned_realised,
            [
                Column("owner", "Gevinsteier", WORD),
                Column("year", "År (realiseringstidspunkt)", WORD),
                Column(F.MEASUREMENT_UNIT, "Måleenhet"),
                Column("indicators", "Måleindikatorer", INT),
                Column("measurable", "Målbare", INT),
                Column("planned", "Planlagt endring", NUMBER),
                Column("realised", "Realisert endring", NUMBER),
                Column("realised_pct", "Realisert andel", PERCENT),
            ],
            "Måleenheter summeres aldri sammen.",
        ),
        ViewTable(
            "Avvik gevinster",
            "Gevinster og indikatorer som mangler noe",
            _gaps(v),
            [
                Column("gap", "Avvik", WORD),
                P,
                T,
                Column("frame", "Liste", LIST),
                Column("detail", "Hva må gjøres", WORD),
                Column("last_measured", "Siste måling", DATE),
                Column("days_since_measurement", "Dager siden måling", INT),
            ],
        ),
        ViewTable(
            "Risikomatrise",
            "Risikomatrise 5×5 (før og etter tiltak)",
            _matrix_cells(v),
            [
                Column("kind", "Type", WORD),
                Column("stage", "Tidspunkt", WORD),
                Column("probability", "Sannsynlighet", INT),
                Column("consequence", "Konsekvens", INT),
                Column("band", "Farge", WORD),
                Column("count", "Antall", INT),
                Column("titles", "Elementer"),
            ],
            "Lukkede elementer («Ikke lenger aktuell») er ikke med. Fargebånd etter S + K som i Prosjektportalen.",
        ),
        ViewTable(
            "Uakseptable risikoer",
            "Uakseptable risikoer (faktor > 10, ikke lukket)",
            v.unacceptable,
            _risk_columns(),
        ),
        ViewTable("Risikoer uten eier", "Risikoer uten tiltaksansvarlig", v.without_owner, _risk_columns()),
        ViewTable("Muligheter", "Muligheter", v.opportunities, _risk_columns()),
        ViewTable(
            "Interessenter",
            "Interessenter etter gruppe, påvirkning og interesse",
            v.stakeholder_counts,
            [
                *(Column(key, STAKEHOLDER_LABELS[key]) for key in STAKEHOLDER_GROUPING),
                Column("stakeholders", "Interessenter", INT),
                Column("projects", "Prosjekter", INT),
            ],
        ),
        ViewTable(
            "ITPOSMO",
            "ITPOSMO: avstand mellom design og virkelighet",
            _itposmo(v),
            [
                Column("project", "Prosjekt"),
                *[Column(k, say(k), NUMBER) for k in DIMENSION_KEYS],
                Column("total", "Sum", NUMBER),
                Column("band", "Intervall", WORD),
                Column("outcome", "Sannsynlig utfall", WORD),
                Column("concern", "Bekymring", BOOL),
                Column("concern_dimensions", "Dimensjoner over terskel", WORD),
                Column("problem", "Ikke summert fordi"),
            ],
            "Heeks: hver dimensjon 0–10; en dimensjon over 5 eller sum over 20 gir grunn til bekymring.",
        ),
        ViewTable(
            "Prioritering",
            "Prioritering: rangering med bidrag per kriterium",
            v.priority.ranking if v.priority else None,
            _priority_columns(v),
            v.priority.uncertainty if v.priority else "",
        ),
        ViewTable(
            "Endringer",
            f"Endringer siden {v.since:%Y-%m-%d}",
            _changes(v),
            [
                Column("kind", "Type", WORD),
                Column("change", "Endring", WORD),
                P,
                T,
                Column("at", "Tidspunkt", DATETIME),
                Column("changed_fields", "Endrede felt", FIELDS),
                Column("before", "Før", FIELDS),
                Column("after", "Etter", FIELDS),
            ],
        ),
        ViewTable(
            "Målendringer",
            "Endrede mål (ønsket verdi) per måleindikator",
            v.target_moves,
            [
                Column("project_key", "Prosjekt-ID"),
                T,
                Column("first_target", "Første mål", NUMBER),
                Column("latest_target", "Gjeldende mål", NUMBER),
                Column("change", "Endring", NUMBER),
                Column("moves", "Antall endringer", INT),
                Column("last_moved", "Sist endret", DATE),
            ],
        ),
        ViewTable(
            "Datakvalitet",
            "Datakvalitet: funn",
            _findings(v),
            [
                Column("severity", "Alvorlighet", WORD),
                Column("text", "Funn"),
                Column("frame", "Liste/fil", LIST),
                P,
                Column("item", "Element (ID)"),
                Column("field", "Felt", FIELDS),
                Column("todo", "Hva må gjøres"),
            ],
            "Hvert funn sier hva som er galt, hvor, og hva som må gjøres.",
        ),
    ]
    return tables


def _risk_columns() -> list[Column]:
    return [
        P,
        T,
        Column(F.RISK_PROBABILITY, "Sannsynlighet", NUMBER),
        Column(F.RISK_CONSEQUENCE, "Konsekvens", NUMBER),
        Column("factor", "Risikofaktor", NUMBER),
        Column("factor_after", "Faktor etter tiltak", NUMBER),
        Column(F.RISK_STATUS, "Status"),
        Column(F.RISK_STRATEGY, "Strategi"),
        Column(F.ACTION_RESPONSIBLE, "Tiltaksansvarlig"),
        Column(F.RISK_PROXIMITY, "Nærhet"),
    ]


def _priority_columns(v: ReportViews) -> list[Column]:
    crits = [c.name for c in v.priority.model.criteria] if v.priority else []
    return [
        Column("rank", "Rang", INT),
        Column("project", "Prosjekt"),
        Column("score", "Poeng (0–100)", NUMBER),
        Column("best_case_score", "Poeng om manglende var best", NUMBER),
        Column("complete", "Komplett", BOOL),
        Column("missing", "Mangler vurdering"),
        *[Column(c, c, NUMBER) for c in crits],
    ]


def _tree(v: ReportViews) -> pd.DataFrame:
    from veiviser.portfolio.reports.benefit_tree import tree_rows  # it draws with this module's display()

    return tree_rows(v.benefits)


def problems_by_project(findings: list[AnalysisFinding]) -> dict[str, str]:
    """Project -> the Norwegian text of its errors, joined: why it is not totalled or ranked."""
    out: dict[str, list[str]] = {}
    for f in findings:
        if f.severity == "error" and f.project_key is not None:
            out.setdefault(f.project_key, []).append(f.described()[0])
    return {project: " ".join(texts) for project, texts in out.items()}


def _itposmo(v: ReportViews) -> pd.DataFrame | None:
    """The ITPOSMO table with the reason a project is not totalled in Norwegian."""
    if v.itposmo is None:
        return None
    table = v.itposmo.table.copy()
    reasons = problems_by_project(v.itposmo.problems)
    table["problem"] = [
        reasons.get(str(p), problem) if not is_missing(problem) else None
        for p, problem in zip(table["project"], table["problem"], strict=True)
    ]
    return table


def _item(value: Any) -> Any:
    """A finding's item as its id in the list when it is a source key; anything else unchanged."""
    try:
        return split_source_key(str(value))[2]
    except ValueError:
        return value


def _findings(v: ReportViews) -> pd.DataFrame:
    """The findings in Norwegian: what is wrong, where, and what to do."""
    rows = []
    for f in v.findings:
        text, todo = f.described()
        project = None if f.project_key is None else v.project_titles.get(f.project_key, f.project_key)
        rows.append(
            {
                "severity": f.severity,
                "text": text,
                "frame": f.frame,
                "project_title": project,
                "item": None if f.item is None else _item(f.item),
                "field": f.field,
                "todo": todo,
            }
        )
    return pd.DataFrame(rows, columns=["severity", "text", "frame", "project_title", "item", "field", "todo"])


def _gaps(v: ReportViews) -> pd.DataFrame | None:
    return v.benefits.gaps if v.benefits else None


def _changes(v: ReportViews) -> pd.DataFrame | None:
    if v.changes is None or v.changes.empty:
        return v.changes
    return v.changes


def _matrix_cells(v: ReportViews) -> pd.DataFrame:
    parts = []
    for (kind, stage), m in v.matrices.items():
        cells = m.cells[m.cells["count"] > 0]
        if not cells.empty:
            parts.append(cells.assign(kind=kind, stage=stage))
    if not parts:
        return pd.DataFrame()
    return pd.concat(parts, ignore_index=True)

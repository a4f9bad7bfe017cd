"""A Power BI-ready star schema of the portfolio, as Parquet and CSV (documented in README.md).

Tables (surrogate keys are integers, stable for a given dataset: rows sorted by ``source_key``):

- ``dim_project`` (``project_sk``; 0 = «Ukjent prosjekt» for rows whose project is unknown);
- ``dim_date`` (``date_key`` = YYYYMMDD; a continuous calendar over every date in the facts);
- ``fact_risks``, ``fact_stakeholders``, ``fact_benefits``, ``fact_indicators``,
  ``fact_measurements``, ``fact_snapshots`` (one row per history version).

Facts carry ``project_sk`` and ``*_date_key`` foreign keys; indicators and measurements also
``benefit_sk``/``indicator_sk``. A foreign key to a row that does not exist is 0 (unknown), never
a dangling number. CSV files are UTF-8 with BOM (Excel and Power BI detect the encoding), comma
separated, decimal point, ISO dates; Parquet keeps the types.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from veiviser.portfolio.frames import is_missing
from veiviser.portfolio.reports.inert import csv_safe_frame
from veiviser.portfolio.reports.views import ReportViews
from veiviser.schemas.names import F

MONTHS_NB = (
    "januar",
    "februar",
    "mars",
    "april",
    "mai",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "desember",
)
WEEKDAYS_NB = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
UNKNOWN_PROJECT = "Ukjent prosjekt"
TABLES = (
    "dim_project",
    "dim_date",
    "fact_risks",
    "fact_stakeholders",
    "fact_benefits",
    "fact_indicators",
    "fact_measurements",
    "fact_snapshots",
)


def _columns(names: str) -> tuple[str, ...]:
    return tuple(names.split())


#: The columns of each fact table, in order: the published schema (README.md documents it).
FACT_COLUMNS: dict[str, tuple[str, ...]] = {
    "fact_risks": _columns(
        "risk_sk project_sk source_key item_id title kind status closed probability consequence"
        " factor probability_after consequence_after factor_after unacceptable action_responsible"
        " has_action_owner strategy proximity phase"
    ),
    "fact_stakeholders": _columns(
        "stakeholder_sk project_sk source_key item_id title group interest influence"
        " influence_possibility strategy context"
    ),
    "fact_benefits": _columns(
        "benefit_sk project_sk source_key item_id title benefit_type owner responsible"
        " realization_date_key status indicator_count"
    ),
    "fact_indicators": _columns(
        "indicator_sk benefit_sk project_sk source_key item_id title unit start_value desired_value"
        " planned_change current_value realised_change current_date_key current_achievement_pct"
        " status measurement_count days_since_measurement"
    ),
    "fact_measurements": _columns(
        "measurement_sk indicator_sk benefit_sk project_sk date_key source_key item_id value"
        " achievement_pct achievement_status achieved trend is_current comment"
    ),
    "fact_snapshots": _columns(
        "snapshot_sk project_sk kind source_key title valid_from valid_to valid_from_date_key"
        " valid_to_date_key is_current deleted values_json"
    ),
}


@dataclass
class StarSchema:
    """The tables, by name (see :data:`TABLES`)."""

    tables: dict[str, pd.DataFrame]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def date_key(value: Any) -> Any:
    """YYYYMMDD as an int for a date, ``pd.NA`` for a missing one."""
    if is_missing(value):
        return pd.NA
    ts = pd.Timestamp(value)
    return ts.year * 10000 + ts.month * 100 + ts.day


def _keys(series: pd.Series) -> pd.Series:
    return series.map(date_key).astype("Int64")


def _sk(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """Sort by source_key and number rows 1..n in column ``name``."""
    out = (
        frame.sort_values("source_key", kind="stable").reset_index(drop=True)
        if "source_key" in frame.columns
        else frame
    )
    out.insert(0, name, pd.array(range(1, len(out) + 1), dtype="Int64"))  # type: ignore[arg-type]  # pandas-stubs omit extension arrays
    return out


def _lookup(values: pd.Series, mapping: dict[str, int]) -> pd.Series:
    return values.map(lambda k: mapping.get(str(k), 0) if not is_missing(k) else 0).astype("Int64")


def _col(frame: pd.DataFrame, name: str) -> pd.Series:
    return (
        frame[name]
        if name in frame.columns
        else pd.Series([None] * len(frame), index=frame.index, dtype=object)
    )


def _text(series: pd.Series) -> pd.Series:
    return series.map(
        lambda v: (
            None
            if is_missing(v)
            else (json.dumps(v, ensure_ascii=False, default=str) if isinstance(v, dict | list) else str(v))
        )
    ).astype("string")


def _num(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").astype("Float64")


def build_star_schema(views: ReportViews) -> StarSchema:
    """All tables of the star schema for ``views``."""
    projects = views.projects
    rows = []
    if not projects.empty:
        rows = [
            {"project_key": str(k), "project_title": t}
            for k, t in zip(projects["project_key"], projects["project_title"], strict=True)
        ]
    known = {r["project_key"] for r in rows}
    ben = views.benefits
    fact_sources = [views.risks, views.stakeholders, views.history]
    if ben is not None:
        fact_sources += [ben.benefits, ben.indicators, ben.measurements]
    extra: dict[str, Any] = {}
    for frame in fact_sources:
        if frame is not None and not frame.empty and "project_key" in frame.columns:
            for k, t in zip(frame["project_key"], _col(frame, "project_title"), strict=True):
                if not is_missing(k) and str(k) not in known:
                    extra.setdefault(str(k), None if is_missing(t) else t)
    dim_project = _dim_project(projects, extra)
    psk = dict(zip(dim_project["project_key"], dim_project["project_sk"], strict=True))

    risks = _fact_risks(views, psk)
    stakeholders = _fact_stakeholders(views, psk)
    benefits, indicators, measurements = _fact_benefits(views, psk)
    snapshots = _fact_snapshots(views, psk)
    facts = {
        "fact_risks": risks,
        "fact_stakeholders": stakeholders,
        "fact_benefits": benefits,
        "fact_indicators": indicators,
        "fact_measurements": measurements,
        "fact_snapshots": snapshots,
    }
    keys = [views.as_of]
    for table in (dim_project, *facts.values()):
        for col in table.columns:
            if col.endswith("date_key"):
                keys += [pd.Timestamp(str(int(k))) for k in table[col].dropna()]
    dim_date = _dim_date(min(keys), max(keys))
    return StarSchema({"dim_project": dim_project, "dim_date": dim_date, **facts})


def _dim_project(projects: pd.DataFrame, extra: dict[str, Any]) -> pd.DataFrame:
    base = pd.DataFrame({"project_key": pd.Series(dtype=object)}) if projects.empty else projects.copy()
    base["project_key"] = base["project_key"].astype(str)
    base = base.sort_values("project_key", kind="stable").reset_index(drop=True)
    more = pd.DataFrame([{"project_key": k, "project_title": t} for k, t in sorted(extra.items())])
    base = pd.concat([base, more], ignore_index=True) if not more.empty else base
    out = pd.DataFrame(
        {
            "project_sk": pd.array(range(1, len(base) + 1), dtype="Int64"),
            "project_key": _text(base["project_key"]),
            "project_title": _text(_col(base, "project_title")),
            "project_number": _text(_col(base, F.PROJECT_NUMBER)),
            "phase": _text(_col(base, F.PROJECT_PHASE)),
            "lifecycle_status": _text(_col(base, F.PROJECT_LIFECYCLE_STATUS)),
            "service_area": _text(_col(base, F.PROJECT_SERVICE_AREA_TEXT)),
            "project_type": _text(_col(base, F.PROJECT_TYPE_TEXT)),
            "project_manager": _text(_col(base, F.PROJECT_MANAGER)),
            "project_owner": _text(_col(base, F.PROJECT_OWNER)),
            "site_url": _text(_col(base, F.SITE_URL)),
            "start_date_key": _keys(_col(base, F.START_DATE)),
            "end_date_key": _keys(_col(base, F.END_DATE)),
            "in_project_list": pd.array(
                [i < len(base) - len(more) for i in range(len(base))], dtype="boolean"
            ),
        }
    )
    unknown = pd.DataFrame(
        {
            "project_sk": pd.array([0], dtype="Int64"),
            "project_key": pd.array([None], dtype="string"),
            "project_title": pd.array([UNKNOWN_PROJECT], dtype="string"),
            "in_project_list": pd.array([False], dtype="boolean"),
        }
    )
    return pd.concat([unknown, out], ignore_index=True).astype(out.dtypes.to_dict())


def _dim_date(first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    days = pd.date_range(first.normalize(), last.normalize(), freq="D")
    iso = days.isocalendar()
    return pd.DataFrame(
        {
            "date_key": pd.array((days.year * 10000 + days.month * 100 + days.day).to_numpy(), dtype="Int64"),
            "date": days.date,
            "year": pd.array(days.year.to_numpy(), dtype="Int64"),
            "quarter": pd.array(days.quarter.to_numpy(), dtype="Int64"),
            "quarter_label": [f"{y} K{q}" for y, q in zip(days.year, days.quarter, strict=True)],
            "month": pd.array(days.month.to_numpy(), dtype="Int64"),
            "month_name": [MONTHS_NB[m - 1] for m in days.month],
            "month_short": [MONTHS_NB[m - 1][:3] for m in days.month],
            "year_month": [f"{y}-{m:02d}" for y, m in zip(days.year, days.month, strict=True)],
            "iso_year": pd.array(iso["year"].to_numpy(), dtype="Int64"),
            "iso_week": pd.array(iso["week"].to_numpy(), dtype="Int64"),
            "iso_year_week": [f"{y}-W{w:02d}" for y, w in zip(iso["year"], iso["week"], strict=True)],
            "iso_weekday": pd.array(iso["day"].to_numpy(), dtype="Int64"),
            "weekday_name": [WEEKDAYS_NB[d - 1] for d in iso["day"]],
            "day_of_month": pd.array(days.day.to_numpy(), dtype="Int64"),
            "is_weekend": pd.array(iso["day"].to_numpy() >= 6, dtype="boolean"),
        }
    ).astype(
        {
            "quarter_label": "string",
            "month_name": "string",
            "month_short": "string",
            "year_month": "string",
            "iso_year_week": "string",
            "weekday_name": "string",
        }
    )


def _fact_risks(views: ReportViews, psk: dict[str, int]) -> pd.DataFrame:
    r = views.risks
    cols = list(FACT_COLUMNS["fact_risks"])
    if r is None or r.empty:
        return _empty(cols)
    r = _sk(r.copy(), "risk_sk")
    factor = _num(r["factor"])
    return pd.DataFrame(
        {
            "risk_sk": r["risk_sk"],
            "project_sk": _lookup(r["project_key"], psk),
            "source_key": _text(r["source_key"]),
            "item_id": _text(r["item_id"]),
            "title": _text(r["Title"]),
            "kind": _text(r["kind"]),
            "status": _text(r[F.RISK_STATUS]),
            "closed": r["closed"].astype("boolean"),
            "probability": _num(r[F.RISK_PROBABILITY]),
            "consequence": _num(r[F.RISK_CONSEQUENCE]),
            "factor": factor,
            "probability_after": _num(r[F.RISK_PROBABILITY_POST_ACTION]),
            "consequence_after": _num(r[F.RISK_CONSEQUENCE_POST_ACTION]),
            "factor_after": _num(r["factor_after"]),
            "unacceptable": ((r["kind"] == "Risiko") & ~r["closed"] & (factor > 10).fillna(False)).astype(
                "boolean"
            ),
            "action_responsible": _text(r[F.ACTION_RESPONSIBLE]),
            "has_action_owner": (~r[F.ACTION_RESPONSIBLE].map(is_missing)).astype("boolean"),
            "strategy": _text(r[F.RISK_STRATEGY]),
            "proximity": _text(r[F.RISK_PROXIMITY]),
            "phase": _text(r[F.PROJECT_PHASE]),
        }
    )[cols]


def _fact_stakeholders(views: ReportViews, psk: dict[str, int]) -> pd.DataFrame:
    s = views.stakeholders
    cols = list(FACT_COLUMNS["fact_stakeholders"])
    if s is None or s.empty:
        return _empty(cols)
    s = _sk(s.copy(), "stakeholder_sk")
    return pd.DataFrame(
        {
            "stakeholder_sk": s["stakeholder_sk"],
            "project_sk": _lookup(s["project_key"], psk),
            "source_key": _text(s["source_key"]),
            "item_id": _text(s["item_id"]),
            "title": _text(s["Title"]),
            "group": _text(s[F.STAKEHOLDER_GROUP]),
            "interest": _text(s[F.STAKEHOLDER_INTEREST]),
            "influence": _text(s[F.STAKEHOLDER_INFLUENCE]),
            "influence_possibility": _text(s[F.STAKEHOLDER_INFLUENCE_POSSIBILTY]),
            "strategy": _text(s[F.STAKEHOLDER_STRATEGY]),
            "context": _text(s[F.STAKEHOLDER_CONTEXT]),
        }
    )[cols]


def _fact_benefits(
    views: ReportViews, psk: dict[str, int]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    bcols = list(FACT_COLUMNS["fact_benefits"])
    icols = list(FACT_COLUMNS["fact_indicators"])
    mcols = list(FACT_COLUMNS["fact_measurements"])
    a = views.benefits
    if a is None:
        return _empty(bcols), _empty(icols), _empty(mcols)
    b = _sk(a.benefits.copy(), "benefit_sk") if not a.benefits.empty else None
    bsk = dict(zip(b["source_key"].astype(str), b["benefit_sk"], strict=True)) if b is not None else {}
    benefits = (
        _empty(bcols)
        if b is None
        else pd.DataFrame(
            {
                "benefit_sk": b["benefit_sk"],
                "project_sk": _lookup(b["project_key"], psk),
                "source_key": _text(b["source_key"]),
                "item_id": _text(b["item_id"]),
                "title": _text(b["Title"]),
                "benefit_type": _text(b[F.GAINS_TYPE]),
                "owner": _text(b["owner"]),
                "responsible": _text(b[F.GAINS_RESPONSIBLE]),
                "realization_date_key": _keys(b[F.REALIZATION_TIME]),
                "status": _text(b["status"]),
                "indicator_count": b["indicator_count"].astype("Int64"),
            }
        )[bcols]
    )
    i = _sk(a.indicators.copy(), "indicator_sk") if not a.indicators.empty else None
    isk = dict(zip(i["source_key"].astype(str), i["indicator_sk"], strict=True)) if i is not None else {}
    indicators = (
        _empty(icols)
        if i is None
        else pd.DataFrame(
            {
                "indicator_sk": i["indicator_sk"],
                "benefit_sk": _lookup(i["benefit_key"], bsk),
                "project_sk": _lookup(i["project_key"], psk),
                "source_key": _text(i["source_key"]),
                "item_id": _text(i["item_id"]),
                "title": _text(i["Title"]),
                "unit": _text(i[F.MEASUREMENT_UNIT]),
                "start_value": _num(i[F.START_VALUE]),
                "desired_value": _num(i[F.DESIRED_VALUE]),
                "planned_change": _num(i[F.DESIRED_VALUE] - i[F.START_VALUE]),
                "current_value": _num(i["current_value"]),
                "realised_change": _num(i["current_value"] - i[F.START_VALUE]),
                "current_date_key": _keys(i["current_date"]),
                "current_achievement_pct": _num(i["current_pct"]),
                "status": _text(i["status"]),
                "measurement_count": i["measurement_count"].astype("Int64"),
                "days_since_measurement": pd.to_numeric(i["days_since_measurement"], errors="coerce").astype(
                    "Int64"
                ),
            }
        )[icols]
    )
    m = _sk(a.measurements.copy(), "measurement_sk") if not a.measurements.empty else None
    measurements = (
        _empty(mcols)
        if m is None
        else pd.DataFrame(
            {
                "measurement_sk": m["measurement_sk"],
                "indicator_sk": _lookup(m["indicator_key"], isk),
                "benefit_sk": _lookup(m["benefit_key"], bsk),
                "project_sk": _lookup(m["project_key"], psk),
                "date_key": _keys(m[F.MEASUREMENT_DATE]),
                "source_key": _text(m["source_key"]),
                "item_id": _text(m["item_id"]),
                "value": _num(m[F.MEASUREMENT_VALUE]),
                "achievement_pct": _num(m["achievement_pct"]),
                "achievement_status": _text(m["achievement_status"]),
                "achieved": m["achieved"].astype("boolean"),
                "trend": _text(m["trend"]),
                "is_current": m["is_current"].astype("boolean"),
                "comment": _text(_col(m, F.MEASUREMENT_COMMENT)),
            }
        )[mcols]
    )
    return benefits, indicators, measurements


_SNAPSHOT_META = {
    "source_key",
    "kind",
    "valid_from",
    "valid_to",
    "deleted",
    "project_key",
    "project_title",
    "Title",
}


def _fact_snapshots(views: ReportViews, psk: dict[str, int]) -> pd.DataFrame:
    h = views.history
    cols = list(FACT_COLUMNS["fact_snapshots"])
    if h is None or h.empty:
        return _empty(cols)
    h = h.sort_values(["source_key", "valid_from"], kind="stable").reset_index(drop=True)
    value_cols = [c for c in h.columns if c not in _SNAPSHOT_META]

    def values(row: pd.Series) -> str:
        data = {c: row[c] for c in value_cols if not is_missing(row[c])}
        return json.dumps(data, ensure_ascii=False, default=str, sort_keys=True)

    return pd.DataFrame(
        {
            "snapshot_sk": pd.array(range(1, len(h) + 1), dtype="Int64"),
            "project_sk": _lookup(h["project_key"], psk),
            "kind": _text(h["kind"]),
            "source_key": _text(h["source_key"]),
            "title": _text(_col(h, "Title")),
            "valid_from": pd.to_datetime(h["valid_from"]),
            "valid_to": pd.to_datetime(h["valid_to"]),
            "valid_from_date_key": _keys(h["valid_from"]),
            "valid_to_date_key": _keys(h["valid_to"]),
            "is_current": h["valid_to"].isna().astype("boolean"),
            "deleted": h["deleted"].astype("boolean"),
            "values_json": pd.array([values(r) for _, r in h.iterrows()], dtype="string"),
        }
    )[cols]


def _empty(cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.array([], dtype="Int64" if c.endswith(("_sk", "date_key")) else "string") for c in cols}
    )


def write_csv(table: pd.DataFrame, path: Path) -> None:
    """One table as CSV: UTF-8 with BOM, comma, decimal point, ISO dates, CRLF (see README).

    Every field is quoted and text that starts like a formula gets a leading apostrophe (OWASP's
    CSV-injection guidance; docs/portfolio.md, "Reports stay inert"). Parquet keeps the raw text.
    """
    csv_safe_frame(table).to_csv(
        path,
        index=False,
        encoding="utf-8-sig",
        date_format="%Y-%m-%dT%H:%M:%S",
        lineterminator="\r\n",
        quoting=csv.QUOTE_ALL,
    )

"""Benefits realisation: achievement per measurement, status per indicator and benefit,
planned vs realised, and the gaps the portfolio office follows up.

Achievement (docs/portfolio.md, "Benefit achievement")::

    achievement % = (measured − start) / (desired − start) × 100

Guards, per measurement (column ``achievement_status``):

- ``"measured"``: the formula applies; values above 100 or below 0 are kept (clamp only when
  drawing, see :func:`clamp_for_drawing`).
- ``"target equals baseline"``: desired == start, the formula is undefined. ``achievement_pct`` stays
  empty (never ±inf or NaN shown as a number); ``achieved`` is decided by
  :attr:`BenefitRules.equal_target_direction`: ``"increase"`` (default) = measured ≥ desired,
  ``"decrease"`` = measured ≤ desired, ``"hold"`` = measured == desired.
- ``"not measurable"``: start, desired or measured missing; also a data-quality finding.

Indicator status (one row per indicator, from its current = latest-dated measurement at ``as_of``;
measurements dated after ``as_of`` are ignored so every figure is reproducible), checked in order:

1. ``not measurable``: start or desired missing, or the current measurement has no value;
2. ``no measurements``: no measurement on or before ``as_of``;
3. ``achieved``: current achievement ≥ 100 % (or target-equals-baseline achieved);
4. ``stale``: the current measurement is older than ``stale_after_days`` before ``as_of``;
5. ``behind``: the benefit's realisation time (``GtRealizationTime``) is before ``as_of``; or the
   achievement is below the linear expectation minus ``behind_tolerance_pct`` (expectation = share
   of the time from the first to the realisation time elapsed at the current measurement); or,
   without a realisation time, the achievement is negative (moved the wrong way);
6. ``on track`` otherwise.

Benefit status: ``no indicators`` if none, else the first of :attr:`BenefitRules.status_priority`
found among its indicators (default worst first: behind, stale, no measurements, not measurable,
on track, achieved).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.findings import AnalysisFinding, findings_frame
from veiviser.portfolio.frames import is_missing, prepare, to_timestamp
from veiviser.portfolio.words import NO_OWNER, NO_UNIT, NO_YEAR, NOT_GIVEN
from veiviser.schemas.names import F

MEASURED = "measured"
EQUALS_BASELINE = "target equals baseline"
NOT_MEASURABLE = "not measurable"

NO_INDICATORS = "no indicators"
NO_MEASUREMENTS = "no measurements"
ACHIEVED = "achieved"
STALE = "stale"
BEHIND = "behind"
ON_TRACK = "on track"
# The indicator statuses a benefit counts, each in its column ``status_count_column(status)``.
COUNTED_STATUSES = (ACHIEVED, ON_TRACK, BEHIND, STALE, NO_MEASUREMENTS, NOT_MEASURABLE)


@dataclass(frozen=True)
class BenefitRules:
    """Configurable thresholds for benefit and indicator status."""

    stale_after_days: int = 180
    behind_tolerance_pct: float = 10.0
    equal_target_direction: str = "increase"
    status_priority: tuple[str, ...] = (BEHIND, STALE, NO_MEASUREMENTS, NOT_MEASURABLE, ON_TRACK, ACHIEVED)

    def __post_init__(self) -> None:
        if self.equal_target_direction not in {"increase", "decrease", "hold"}:
            raise VeiviserError(
                f"equal_target_direction must be increase, decrease or hold, not {self.equal_target_direction!r}"
            )
        if self.stale_after_days < 0:
            raise VeiviserError("stale_after_days must be 0 or more")


@dataclass(frozen=True)
class Achievement:
    """Achievement of one measurement against its indicator."""

    status: str
    pct: float | None
    achieved: bool | None
    direction: str | None  # "increase", "decrease", "none" (desired == start), None if unknown


def achievement(
    start: object, desired: object, measured: object, *, equal_target_direction: str = "increase"
) -> Achievement:
    """Achievement of one measured value, with the guards documented in this module."""
    if is_missing(start) or is_missing(desired) or is_missing(measured):
        return Achievement(NOT_MEASURABLE, None, None, None)
    s, d, m = float(start), float(desired), float(measured)  # type: ignore[arg-type]
    if d == s:
        if equal_target_direction == "decrease":
            ok = m <= d
        elif equal_target_direction == "hold":
            ok = m == d
        else:
            ok = m >= d
        return Achievement(EQUALS_BASELINE, None, ok, "none")
    pct = (m - s) / (d - s) * 100.0
    return Achievement(MEASURED, pct, pct >= 100.0, "increase" if d > s else "decrease")


def clamp_for_drawing(pct: pd.Series | float, low: float = 0.0, high: float = 100.0) -> pd.Series | float:
    """Clamp achievement to [low, high] for bars and gauges only; the data keeps the real value."""
    if isinstance(pct, pd.Series):
        return pct.clip(lower=low, upper=high)
    return min(max(pct, low), high)


@dataclass
class BenefitAnalysis:
    """Everything :func:`analyse_benefits` computes; each frame is ready for a report writer."""

    as_of: pd.Timestamp
    measurements: pd.DataFrame  # one row per measurement, achievement and trend
    indicators: pd.DataFrame  # one row per indicator, current status
    benefits: pd.DataFrame  # one row per benefit, status and counts
    gaps: pd.DataFrame  # benefits without indicators/owner, indicators without measurements, stale
    findings: list[AnalysisFinding] = field(default_factory=list)

    @property
    def findings_frame(self) -> pd.DataFrame:
        return findings_frame(self.findings)


def _owner(benefits: pd.DataFrame) -> pd.Series:
    owner = benefits[F.GAINS_OWNER].where(
        ~benefits[F.GAINS_OWNER].map(is_missing), benefits[F.GAINS_RESPONSIBLE]
    )
    return owner.where(~owner.map(is_missing), NO_OWNER)


def _measurement_rows(
    ind: pd.DataFrame, meas: pd.DataFrame, rules: BenefitRules, findings: list[AnalysisFinding]
) -> pd.DataFrame:
    cols = ["source_key", F.START_VALUE, F.DESIRED_VALUE, F.MEASUREMENT_UNIT, "benefit_key", "Title"]
    joined = meas.merge(
        ind[cols].rename(
            columns={"source_key": "indicator_key", "benefit_key": "_ind_benefit", "Title": "indicator_title"}
        ),
        on="indicator_key",
        how="left",
        indicator=True,
    )
    orphan = joined["_merge"] == "left_only"
    for _, row in joined[orphan].iterrows():
        findings.append(
            AnalysisFinding.on_item(
                "measurements",
                row,
                "measurement-without-indicator",
                "Measurement points to an indicator that is not in the indicators frame",
                field=F.MEASURE_INDICATOR_LOOKUP,
                hint="Set Målindikator on the measurement in Gevinstoppfølging.",
            )
        )
    joined = joined[~orphan].drop(columns="_merge")
    joined["benefit_key"] = joined["_ind_benefit"].where(
        ~joined["_ind_benefit"].map(is_missing), joined["benefit_key"]
    )
    joined = joined.drop(columns="_ind_benefit")
    results = [
        achievement(s, d, m, equal_target_direction=rules.equal_target_direction)
        for s, d, m in zip(
            joined[F.START_VALUE], joined[F.DESIRED_VALUE], joined[F.MEASUREMENT_VALUE], strict=True
        )
    ]
    joined["achievement_status"] = [r.status for r in results]
    joined["achievement_pct"] = pd.array([r.pct for r in results], dtype="Float64")
    joined["achieved"] = pd.array([r.achieved for r in results], dtype="boolean")
    joined["direction"] = [r.direction for r in results]
    for _, row in joined[joined["achievement_status"] == NOT_MEASURABLE].iterrows():
        missing = [c for c in (F.START_VALUE, F.DESIRED_VALUE, F.MEASUREMENT_VALUE) if is_missing(row[c])]
        findings.append(
            AnalysisFinding.on_item(
                "measurements",
                row,
                "not-measurable",
                f"Achievement cannot be computed: {', '.join(missing)} missing",
                field=missing[0],
                hint="Fill in Startverdi and Ønsket verdi on the indicator and Målt verdi on the measurement.",
                fields=missing,
            )
        )
    for _, row in joined[joined[F.MEASUREMENT_DATE].isna()].iterrows():
        findings.append(
            AnalysisFinding.on_item(
                "measurements",
                row,
                "undated-measurement",
                "Measurement has no date; it is never the current measurement",
                field=F.MEASUREMENT_DATE,
                hint="Set Dato for måling.",
            )
        )
    joined = joined.sort_values(
        ["indicator_key", F.MEASUREMENT_DATE, "source_key"], na_position="first", kind="stable"
    )
    # Trend against the next-older dated measurement of the same indicator.
    prev = joined.groupby("indicator_key", sort=False)[F.MEASUREMENT_VALUE].shift(1)
    delta = joined[F.MEASUREMENT_VALUE] - prev
    sign = np.where(joined["direction"] == "decrease", -1.0, 1.0)
    moved = delta * sign
    trend = np.select(  # type: ignore[type-var]  # numpy's stubs refuse an object choice (None)
        [prev.isna() | delta.isna(), moved > 0, moved < 0], [None, "up", "down"], default="unchanged"
    )
    trend_s = pd.Series(trend, index=joined.index, dtype="object")
    joined["trend"] = trend_s.where(trend_s.notna() & joined[F.MEASUREMENT_DATE].notna(), None)
    dated = joined[joined[F.MEASUREMENT_DATE].notna()]
    latest_idx = dated.groupby("indicator_key", sort=False).tail(1).index
    joined["is_current"] = joined.index.isin(latest_idx)
    return joined.reset_index(drop=True)


def _indicator_status(row: pd.Series, as_of: pd.Timestamp, rules: BenefitRules) -> str:
    if is_missing(row[F.START_VALUE]) or is_missing(row[F.DESIRED_VALUE]):
        return NOT_MEASURABLE
    if is_missing(row["current_date"]):
        return NO_MEASUREMENTS
    if row["current_status"] == NOT_MEASURABLE:
        return NOT_MEASURABLE
    if row["current_achieved"] is True or (
        not is_missing(row["current_achieved"]) and bool(row["current_achieved"])
    ):
        return ACHIEVED
    if (as_of - row["current_date"]).days > rules.stale_after_days:
        return STALE
    due = row[F.REALIZATION_TIME]
    pct = row["current_pct"]
    if not is_missing(due):
        if due < as_of:
            return BEHIND
        if is_missing(pct):  # target equals baseline, not achieved, not yet due
            return ON_TRACK
        first = row["first_date"]
        span = (due - first).total_seconds()
        elapsed = (row["current_date"] - first).total_seconds()
        expected = 100.0 * elapsed / span if span > 0 else 100.0
        return BEHIND if pct < expected - rules.behind_tolerance_pct else ON_TRACK
    if not is_missing(pct) and pct < 0:
        return BEHIND
    return ON_TRACK


def analyse_benefits(
    benefits: pd.DataFrame | None,
    indicators: pd.DataFrame | None,
    measurements: pd.DataFrame | None,
    *,
    as_of: object,
    rules: BenefitRules | None = None,
) -> BenefitAnalysis:
    """Achievement, status and gaps for all benefits, as seen on ``as_of`` (explicit, never "now")."""
    rules = rules or BenefitRules()
    as_of_ts = to_timestamp(as_of)
    findings: list[AnalysisFinding] = []
    ben = prepare("benefits", benefits, findings=findings)
    ind = prepare("indicators", indicators, findings=findings)
    meas = prepare("measurements", measurements, findings=findings)
    meas = meas[meas[F.MEASUREMENT_DATE].isna() | (meas[F.MEASUREMENT_DATE] <= as_of_ts)]

    ben["owner"] = _owner(ben)
    mrows = _measurement_rows(ind, meas, rules, findings)

    # Indicators: current (latest-dated) measurement, first date and count, joined by key.
    cur = mrows[mrows["is_current"]]
    summary = pd.DataFrame(
        {
            "source_key": cur["indicator_key"].astype("object"),
            "current_date": cur[F.MEASUREMENT_DATE].astype("datetime64[ns]"),
            "current_value": cur[F.MEASUREMENT_VALUE].astype("float64"),
            "current_status": cur["achievement_status"].astype("object"),
            "current_pct": cur["achievement_pct"].astype("Float64"),
            "current_achieved": cur["achieved"].astype("boolean"),
            "current_trend": cur["trend"].astype("object"),
        }
    )
    stats = pd.DataFrame(
        {
            "source_key": mrows["indicator_key"].astype("object"),
            "_date": mrows[F.MEASUREMENT_DATE].astype("datetime64[ns]"),
        }
    )
    stats = stats.groupby("source_key", as_index=False).agg(
        measurement_count=("_date", "size"), first_date=("_date", "min")
    )
    ind_out = ind.merge(stats, on="source_key", how="left").merge(summary, on="source_key", how="left")
    ind_out["measurement_count"] = ind_out["measurement_count"].fillna(0).astype(int)
    ind_out["first_date"] = ind_out["first_date"].astype("datetime64[ns]")
    ind_out["current_date"] = ind_out["current_date"].astype("datetime64[ns]")
    ind_out["current_trend"] = (
        ind_out["current_trend"].astype("object").where(ind_out["current_trend"].notna(), None)
    )
    ben_info = ben[["source_key", F.REALIZATION_TIME, "owner"]].rename(columns={"source_key": "benefit_key"})
    ben_info = ben_info.assign(benefit_key=ben_info["benefit_key"].astype("object"))
    ind_out = ind_out.merge(ben_info, on="benefit_key", how="left")
    ind_out[F.REALIZATION_TIME] = ind_out[F.REALIZATION_TIME].astype("datetime64[ns]")
    ben_lookup = ben.set_index("source_key")
    ind_out["days_since_measurement"] = (as_of_ts - ind_out["current_date"]).dt.days
    ind_out["status"] = (
        [_indicator_status(r, as_of_ts, rules) for _, r in ind_out.iterrows()] if len(ind_out) else []
    )
    ind_out["status"] = ind_out["status"].astype("object")

    for _, row in ind_out.iterrows():
        if is_missing(row[F.START_VALUE]) or is_missing(row[F.DESIRED_VALUE]):
            missing = [c for c in (F.START_VALUE, F.DESIRED_VALUE) if is_missing(row[c])]
            findings.append(
                AnalysisFinding.on_item(
                    "indicators",
                    row,
                    "not-measurable",
                    f"Indicator lacks {', '.join(missing)}",
                    field=missing[0],
                    hint="Fill in Startverdi and Ønsket verdi in Måleindikatorer.",
                    fields=missing,
                )
            )
        if is_missing(row[F.MEASUREMENT_UNIT]):
            findings.append(
                AnalysisFinding.on_item(
                    "indicators",
                    row,
                    "no-unit",
                    "Indicator has no measurement unit; its values are not added to any other",
                    field=F.MEASUREMENT_UNIT,
                    hint="Choose Måleenhet (Antall, Kroner, Prosent, Timer).",
                )
            )
        if is_missing(row["benefit_key"]) or row["benefit_key"] not in ben_lookup.index:
            findings.append(
                AnalysisFinding.on_item(
                    "indicators",
                    row,
                    "indicator-without-benefit",
                    "Indicator is not linked to a known benefit",
                    field=F.GAIN_LOOKUP,
                    hint="Set Gevinst on the indicator in Måleindikatorer.",
                )
            )

    # Benefits: worst indicator status by priority.
    by_benefit = (
        ind_out.groupby("benefit_key")["status"].agg(list) if len(ind_out) else pd.Series(dtype=object)
    )
    ben_out = ben.copy()
    ben_out["indicator_count"] = ben_out["source_key"].map(lambda k: len(by_benefit.get(k, []))).astype(int)

    def worst(k: str) -> str:
        statuses: list[str] = by_benefit.get(k, [])
        if not statuses:
            return NO_INDICATORS
        for status in rules.status_priority:
            if status in statuses:
                return status
        return statuses[0]

    ben_out["status"] = ben_out["source_key"].map(worst).astype("object")
    for status in COUNTED_STATUSES:
        ben_out[status_count_column(status)] = (
            ben_out["source_key"]
            .map(lambda k, s=status: sum(1 for x in by_benefit.get(k, []) if x == s))
            .astype(int)
        )

    gaps = benefit_gaps_from(ben_out, ind_out)
    return BenefitAnalysis(as_of_ts, mrows, ind_out, ben_out, gaps, findings)


def status_count_column(status: str) -> str:
    """The benefits column counting a benefit's indicators with ``status``: ``indicators_on_track``."""
    return f"indicators_{status.replace(' ', '_')}"


GAP_COLUMNS = [
    "gap",
    "project_key",
    "project_title",
    "frame",
    "source_key",
    "Title",
    "detail",
    "last_measured",
    "days_since_measurement",
]


def benefit_gaps_from(ben: pd.DataFrame, ind: pd.DataFrame) -> pd.DataFrame:
    """Benefits without indicators or owner, indicators without measurements, stale indicators
    (with the date of their last measurement and its age in days at ``as_of``)."""
    rows: list[dict[str, Any]] = []

    def add(gap: str, frame: str, r: pd.Series, detail: str, stale: bool = False) -> None:
        rows.append(
            {
                "gap": gap,
                "project_key": r["project_key"],
                "project_title": r.get("project_title"),
                "frame": frame,
                "source_key": r["source_key"],
                "Title": r["Title"],
                "detail": detail,
                "last_measured": r["current_date"] if stale else None,
                "days_since_measurement": r["days_since_measurement"] if stale else None,
            }
        )

    for _, r in ben.iterrows():
        if r["indicator_count"] == 0:
            add("benefit without indicators", "benefits", r, "add a Måleindikator linked to this Gevinst")
        if is_missing(r[F.GAINS_OWNER]) and is_missing(r[F.GAINS_RESPONSIBLE]):
            add("benefit without owner", "benefits", r, "set Gevinsteier or Gevinstansvarlig")
    for _, r in ind.iterrows():
        if r["measurement_count"] == 0:
            add(
                "indicator without measurements",
                "indicators",
                r,
                "register a measurement in Gevinstoppfølging",
            )
        elif r["status"] == STALE:
            add(
                "stale indicator",
                "indicators",
                r,
                "register a new measurement in Gevinstoppfølging",
                stale=True,
            )
    return pd.DataFrame(rows, columns=GAP_COLUMNS)


def planned_vs_realised(analysis: BenefitAnalysis, by: Sequence[str] = ("owner", "year")) -> pd.DataFrame:
    """Planned and realised change per group and measurement unit (units are never added together).

    Per indicator: planned = desired − start (the promised change); realised = current measured −
    start (the change harvested by ``as_of``; empty when not measurable). ``year`` is the year of
    the benefit's realisation time (when the change was promised). ``by`` may name ``owner``,
    ``year``, ``project_key``, ``project_title``, ``GtGainsType`` or any benefit column; the
    measurement unit ``GtMeasurementUnit`` is always a grouping key. ``realised_pct`` = realised /
    planned × 100 over the indicators that have both, empty if their planned total is 0.
    """
    ind = analysis.indicators.copy()
    ben = analysis.benefits.set_index("source_key")
    for col in by:
        if col == "year":
            due = ind[F.REALIZATION_TIME]
            ind["year"] = due.dt.year.astype("Int64").astype("object").where(due.notna(), NO_YEAR)
        elif col not in ind.columns or col in ("owner",):
            if col not in ben.columns and col != "owner":
                raise VeiviserError(
                    f"Cannot group benefits by {col!r}: no such column",
                    hint="Use owner, year, project_key, GtGainsType or a benefit column.",
                )
            if col not in ind.columns or col == "owner":
                ind[col] = ind["benefit_key"].map(ben[col]) if len(ben) else None
        ind[col] = ind[col].where(~ind[col].map(is_missing), NO_OWNER if col == "owner" else NOT_GIVEN)
    ind[F.MEASUREMENT_UNIT] = ind[F.MEASUREMENT_UNIT].where(~ind[F.MEASUREMENT_UNIT].map(is_missing), NO_UNIT)
    ind["planned"] = ind[F.DESIRED_VALUE] - ind[F.START_VALUE]
    measurable = ind["current_status"].isin([MEASURED, EQUALS_BASELINE]) & ind["planned"].notna()
    ind["realised"] = (ind["current_value"] - ind[F.START_VALUE]).where(measurable)
    ind["_planned_measured"] = ind["planned"].where(measurable)
    keys = [*by, F.MEASUREMENT_UNIT]
    columns = [*keys, "indicators", "measurable", "planned", "realised", "realised_pct"]
    if ind.empty:
        return pd.DataFrame(columns=columns)
    grouped = (
        ind.groupby(keys, dropna=False, sort=True)
        .agg(
            indicators=("source_key", "size"),
            measurable=("realised", "count"),
            planned=("planned", lambda s: s.sum(min_count=1)),
            realised=("realised", lambda s: s.sum(min_count=1)),
            _pm=("_planned_measured", lambda s: s.sum(min_count=1)),
        )
        .reset_index()
    )
    pm = grouped["_pm"]
    grouped["realised_pct"] = (grouped["realised"] / pm * 100.0).where(pm.notna() & (pm != 0))
    return grouped[columns]

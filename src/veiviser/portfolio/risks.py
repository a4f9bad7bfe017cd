"""Risk picture: the 5×5 risk and opportunity matrices, unacceptable risks, risks without an
action owner, and opportunities (list Usikkerhet; docs/portfolio.md, "Risk matrix").

Placement follows Prosjektportalen 365: x = consequence (``GtRiskConsequence``), y = probability
(``GtRiskProbability``), both 1–5; 0, missing or out-of-range values are "not assessed" and listed
outside the matrix. Post-action values are placed in a separate pass (``stage="after"``).
Cell colours are banded by x + y (not x × y), exactly as the shipped matrices; bands are
configurable via :class:`MatrixBands`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.findings import AnalysisFinding
from veiviser.portfolio.frames import is_missing, prepare
from veiviser.schemas.names import F

RISK = "Risiko"
OPPORTUNITY = "Mulighet"
CLOSED_STATUS = "Ikke lenger aktuell"

_CONTENT_TYPE_ALIASES = {
    "risiko": RISK,
    "risk": RISK,
    "mulighet": OPPORTUNITY,
    "possibility": OPPORTUNITY,
    "opportunity": OPPORTUNITY,
}

RISK_CONSEQUENCE_LABELS = {1: "Ubetydelig", 2: "Lav", 3: "Moderat", 4: "Alvorlig", 5: "Svært alvorlig"}
RISK_PROBABILITY_LABELS = {5: "Svært stor", 4: "Stor", 3: "Moderat", 2: "Liten", 1: "Meget liten"}
OPPORTUNITY_CONSEQUENCE_LABELS = {1: "Veldig liten", 2: "Liten", 3: "Middels", 4: "Stor", 5: "Veldig stor"}
OPPORTUNITY_PROBABILITY_LABELS = {5: "Svært høy", 4: "Høy", 3: "Middels", 2: "Lav", 1: "Svært lav"}


@dataclass(frozen=True)
class MatrixBands:
    """Colour bands by S + K: ``(highest sum in band, colour, name)``, ascending."""

    bands: tuple[tuple[int, str, str], ...]

    def colour(self, probability: int, consequence: int) -> tuple[str, str]:
        total = probability + consequence
        for upper, colour, name in self.bands:
            if total <= upper:
                return colour, name
        raise VeiviserError(f"No colour band covers S + K = {total}", hint="The last band must reach 10.")


RISK_BANDS = MatrixBands(
    ((4, "#7ABD7E", "green"), (5, "#F8D66D", "yellow"), (7, "#FFB54C", "orange"), (10, "#FF6961", "red"))
)
OPPORTUNITY_BANDS = MatrixBands(
    (
        (4, "#F8D66D", "yellow"),
        (5, "#A0DAA1", "light green"),
        (7, "#7ABD7E", "green"),
        (10, "#009756", "dark green"),
    )
)


def cell_colour(
    probability: int, consequence: int, kind: str = RISK, bands: MatrixBands | None = None
) -> str:
    """The hex colour of matrix cell (x = consequence, y = probability) for risks or opportunities."""
    if not (1 <= probability <= 5 and 1 <= consequence <= 5):
        raise VeiviserError(f"Cell S={probability}, K={consequence} is outside the 5×5 matrix")
    bands = bands or (OPPORTUNITY_BANDS if kind == OPPORTUNITY else RISK_BANDS)
    return bands.colour(probability, consequence)[0]


def _content_type(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("Name") or value.get("name")
    if is_missing(value):
        return None
    return _CONTENT_TYPE_ALIASES.get(str(value).strip().lower(), str(value).strip())


def prepare_risks(risks: pd.DataFrame | None, findings: list[AnalysisFinding] | None = None) -> pd.DataFrame:
    """The risks frame, validated, with ``kind`` (Risiko/Mulighet), ``factor`` and ``factor_after``.

    The factor is S × K when both are given (the list's own formula), else ``GtRiskFactor``.
    Out-of-range S or K (only possible with bad data) still give a factor, so a possibly serious
    risk is not hidden, and are reported as findings.
    """
    sink: list[AnalysisFinding] = [] if findings is None else findings
    df = prepare("risks", risks, findings=sink)
    df["kind"] = df["ContentType"].map(_content_type).astype("object")
    for _, row in df[~df["kind"].isin([RISK, OPPORTUNITY])].iterrows():
        sink.append(
            AnalysisFinding.on_item(
                "risks",
                row,
                "unknown-content-type",
                f"Content type {row['ContentType']!r} is neither Risiko nor Mulighet; left out",
                field="ContentType",
                value=row["ContentType"],
            )
        )
    for stage, s_col, k_col, f_col in (
        ("factor", F.RISK_PROBABILITY, F.RISK_CONSEQUENCE, F.RISK_FACTOR),
        (
            "factor_after",
            F.RISK_PROBABILITY_POST_ACTION,
            F.RISK_CONSEQUENCE_POST_ACTION,
            F.RISK_FACTOR_POST_ACTION,
        ),
    ):
        computed = df[s_col] * df[k_col]
        df[stage] = computed.where(computed.notna(), df[f_col])
        for col in (s_col, k_col):
            bad = df[col].notna() & ((df[col] < 0) | (df[col] > 5) | (df[col] % 1 != 0))
            for _, row in df[bad].iterrows():
                sink.append(
                    AnalysisFinding.on_item(
                        "risks",
                        row,
                        "out-of-range",
                        f"{col} = {row[col]:g} is not a whole number 0–5; the item is placed outside the matrix",
                        field=col,
                        hint="Use 1–5, or 0 for not assessed.",
                        value=row[col],
                    )
                )
    df["closed"] = (
        df[F.RISK_STATUS].map(lambda s: not is_missing(s) and str(s).strip() == CLOSED_STATUS).astype(bool)
    )
    return df


@dataclass
class RiskMatrix:
    """Cells of one 5×5 matrix (per project or portfolio) and the items placed outside it."""

    kind: str
    stage: str
    cells: pd.DataFrame  # [project_key,] probability, consequence, count, items, titles, colour, band
    outside: pd.DataFrame  # items not assessed (0/missing/out of range) with the reason
    findings: list[AnalysisFinding] = field(default_factory=list)


def _valid(v: Any) -> bool:
    return not is_missing(v) and 1 <= v <= 5 and float(v).is_integer()


def _mask(series: pd.Series, test: Any) -> pd.Series:
    """``series.map(test)`` as a boolean mask, also when ``series`` is empty.

    ``Series.map`` on an empty series returns dtype object, and ``df[object_series]`` selects
    *columns* instead of rows: the result has no ``project_key`` and later code fails with KeyError.
    """
    return series.map(test).astype(bool)


def _assessed(df: pd.DataFrame, s_col: str, k_col: str) -> pd.Series:
    """True where both probability and consequence are whole numbers 1–5 (placed in the matrix)."""
    return _mask(df[s_col], _valid) & _mask(df[k_col], _valid)


def risk_matrix(
    risks: pd.DataFrame | None,
    *,
    kind: str = RISK,
    stage: str = "before",
    by_project: bool = False,
    include_closed: bool = False,
    bands: MatrixBands | None = None,
) -> RiskMatrix:
    """Counts and items per cell for ``kind`` (Risiko or Mulighet), ``stage`` before or after action.

    All 25 cells are always present (count 0 when empty), per project when ``by_project``.
    Items with status «Ikke lenger aktuell» are left out unless ``include_closed``.
    """
    if stage not in ("before", "after"):
        raise VeiviserError(f"stage must be 'before' or 'after', not {stage!r}")
    if kind not in (RISK, OPPORTUNITY):
        raise VeiviserError(f"kind must be {RISK!r} or {OPPORTUNITY!r}, not {kind!r}")
    findings: list[AnalysisFinding] = []
    df = prepare_risks(risks, findings)
    df = df[df["kind"] == kind]
    if not include_closed:
        df = df[~df["closed"]]
    s_col, k_col = (
        (F.RISK_PROBABILITY, F.RISK_CONSEQUENCE)
        if stage == "before"
        else (F.RISK_PROBABILITY_POST_ACTION, F.RISK_CONSEQUENCE_POST_ACTION)
    )
    bands = bands or (OPPORTUNITY_BANDS if kind == OPPORTUNITY else RISK_BANDS)
    inside = _assessed(df, s_col, k_col)
    out = df[~inside].copy()
    out["reason"] = [
        "not assessed (0 or empty)"
        if (is_missing(s) or s == 0 or is_missing(k) or k == 0)
        else "out of range"
        for s, k in zip(out[s_col], out[k_col], strict=True)
    ]
    outside = out[
        ["project_key", "project_title", "source_key", "Title", s_col, k_col, "reason"]
    ].reset_index(drop=True)
    placed = df[inside].assign(
        probability=df[s_col].astype("float").astype("Int64"),
        consequence=df[k_col].astype("float").astype("Int64"),
    )

    groups = sorted(df["project_key"].dropna().unique()) if by_project else [None]
    rows = []
    for project in groups:
        part = placed if project is None else placed[placed["project_key"] == project]
        for y in range(5, 0, -1):
            for x in range(1, 6):
                hit = part[(part["probability"] == y) & (part["consequence"] == x)].sort_values("source_key")
                colour, band = bands.colour(y, x)
                row = {
                    "probability": y,
                    "consequence": x,
                    "count": len(hit),
                    "items": hit["source_key"].tolist(),
                    "titles": hit["Title"].tolist(),
                    "colour": colour,
                    "band": band,
                }
                rows.append({"project_key": project, **row} if by_project else row)
    cells = pd.DataFrame(
        rows,
        columns=(["project_key"] if by_project else [])
        + ["probability", "consequence", "count", "items", "titles", "colour", "band"],
    )
    return RiskMatrix(kind, stage, cells, outside, findings)


def matrix_grid(matrix: RiskMatrix, project_key: str | None = None) -> pd.DataFrame:
    """The counts as a 5×5 grid: rows probability 5→1, columns consequence 1→5."""
    cells = matrix.cells
    if project_key is not None:
        cells = cells[cells["project_key"] == project_key]
    elif "project_key" in cells.columns:
        cells = cells.groupby(["probability", "consequence"], as_index=False).agg(count=("count", "sum"))
    grid = cells.pivot_table(
        index="probability", columns="consequence", values="count", aggfunc="sum", fill_value=0
    )
    return grid.reindex(index=range(5, 0, -1), columns=range(1, 6), fill_value=0)


_LIST_COLUMNS = [
    "project_key",
    "project_title",
    "source_key",
    "item_id",
    "Title",
    F.RISK_PROBABILITY,
    F.RISK_CONSEQUENCE,
    "factor",
    "factor_after",
    F.RISK_STATUS,
    F.RISK_STRATEGY,
    F.ACTION_RESPONSIBLE,
    F.RISK_PROXIMITY,
]


def unacceptable_risks(risks: pd.DataFrame | None, *, threshold: float = 10) -> pd.DataFrame:
    """Risks (not opportunities) with factor > ``threshold`` and status not «Ikke lenger aktuell»,
    highest factor first (PP365 view «Uakseptable risikoer»)."""
    df = prepare_risks(risks)
    hit = df[(df["kind"] == RISK) & ~df["closed"] & (df["factor"] > threshold)]
    return hit.sort_values(["factor", "project_key", "source_key"], ascending=[False, True, True])[
        _LIST_COLUMNS
    ].reset_index(drop=True)


def risks_without_owner(risks: pd.DataFrame | None, *, include_closed: bool = False) -> pd.DataFrame:
    """Risks with no action owner (``GtActionResponsible`` empty), highest factor first."""
    df = prepare_risks(risks)
    hit = df[(df["kind"] == RISK) & _mask(df[F.ACTION_RESPONSIBLE], is_missing)]
    if not include_closed:
        hit = hit[~hit["closed"]]
    return hit.sort_values(
        ["factor", "project_key", "source_key"], ascending=[False, True, True], na_position="last"
    )[_LIST_COLUMNS].reset_index(drop=True)


def opportunities(risks: pd.DataFrame | None, *, include_closed: bool = False) -> pd.DataFrame:
    """Opportunities (content type «Mulighet»), highest factor first."""
    df = prepare_risks(risks)
    hit = df[df["kind"] == OPPORTUNITY]
    if not include_closed:
        hit = hit[~hit["closed"]]
    return hit.sort_values(
        ["factor", "project_key", "source_key"], ascending=[False, True, True], na_position="last"
    )[_LIST_COLUMNS].reset_index(drop=True)


def risk_summary(risks: pd.DataFrame | None, *, threshold: float = 10) -> pd.DataFrame:
    """Per project: open risks, unacceptable, without owner, not assessed, open opportunities."""
    df = prepare_risks(risks)
    open_ = df[~df["closed"]]
    r = open_[open_["kind"] == RISK]
    columns = [
        "project_key",
        "project_title",
        "open_risks",
        "unacceptable",
        "without_owner",
        "not_assessed",
        "open_opportunities",
        "max_factor",
    ]
    if df.empty:
        return pd.DataFrame(columns=columns)
    projects = df.groupby("project_key", dropna=False)["project_title"].first()
    out = pd.DataFrame({"project_key": projects.index, "project_title": projects.values})
    key = out["project_key"]
    out["open_risks"] = key.map(r.groupby("project_key").size()).fillna(0).astype(int)
    out["unacceptable"] = (
        key.map(r[r["factor"] > threshold].groupby("project_key").size()).fillna(0).astype(int)
    )
    out["without_owner"] = (
        key.map(r[_mask(r[F.ACTION_RESPONSIBLE], is_missing)].groupby("project_key").size())
        .fillna(0)
        .astype(int)
    )
    assessed = _assessed(r, F.RISK_PROBABILITY, F.RISK_CONSEQUENCE)
    out["not_assessed"] = key.map(r[~assessed].groupby("project_key").size()).fillna(0).astype(int)
    out["open_opportunities"] = (
        key.map(open_[open_["kind"] == OPPORTUNITY].groupby("project_key").size()).fillna(0).astype(int)
    )
    out["max_factor"] = key.map(r.groupby("project_key")["factor"].max())
    return (
        out[columns]
        .sort_values(["unacceptable", "max_factor"], ascending=False, na_position="last")
        .reset_index(drop=True)
    )

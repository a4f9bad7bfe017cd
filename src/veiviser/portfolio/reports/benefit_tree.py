"""The benefit tree per project (docs/portfolio.md, "Benefit tree"): change → benefit →
indicators, and the goal the benefit serves, drawn left to right in inline SVG.

What is missing is drawn, not left out: a benefit without a change, owner, indicator or goal, and
an indicator without measurements, get a dashed grey box that says what is missing. Status colours
are the report's own (good, warning, bad).
"""

from __future__ import annotations

from html import escape
from typing import Any

import pandas as pd

from veiviser.portfolio.benefits import ACHIEVED, BEHIND, NO_MEASUREMENTS, ON_TRACK, BenefitAnalysis
from veiviser.portfolio.frames import is_missing
from veiviser.portfolio.reports.charts import FONT
from veiviser.portfolio.reports.tables import display
from veiviser.portfolio.words import NO_OWNER, NOT_GIVEN, say
from veiviser.schemas.names import F

#: The report's status colours (the key-figure borders in ``reports/html.py``).
GOOD, WARN, BAD, MISSING = "#2E7D32", "#E69F00", "#C62828", "#9E9E9E"
STATUS_COLOURS = {ACHIEVED: GOOD, ON_TRACK: GOOD, BEHIND: BAD}

TREE_COLUMNS = [
    "project_key",
    "project_title",
    "change",
    "benefit",
    "benefit_type",
    "owner",
    "benefit_status",
    "indicator",
    "unit",
    "start",
    "desired",
    "latest",
    "indicator_status",
    "goal",
]


def _value(row: pd.Series, name: str) -> Any:
    value = row.get(name)
    return (
        None
        if value is None or is_missing(value) or (isinstance(value, str) and not value.strip())
        else value
    )


def tree_rows(analysis: BenefitAnalysis | None) -> pd.DataFrame:
    """One row per (benefit, indicator) — one row with no indicator for a benefit without any."""
    if analysis is None or analysis.benefits.empty:
        return pd.DataFrame(columns=TREE_COLUMNS)
    indicators = analysis.indicators
    rows = []
    for _, b in analysis.benefits.sort_values(["project_title", "Title"], kind="stable").iterrows():
        owner = _value(b, "owner")
        base = {
            "project_key": b["project_key"],
            "project_title": _value(b, "project_title") or b["project_key"],
            "change": _value(b, F.CHANGE_TITLES),
            "benefit": _value(b, "Title"),
            "benefit_type": _value(b, F.GAINS_TYPE),
            "owner": None if owner == NO_OWNER else owner,
            "benefit_status": _value(b, "status"),
            "goal": _value(b, F.GAINS_GOAL),
        }
        mine = (
            indicators[indicators["benefit_key"] == b["source_key"]] if not indicators.empty else indicators
        )
        if mine.empty:
            rows.append({**base, "indicator": None})
        for _, i in mine.sort_values("Title", kind="stable").iterrows():
            rows.append(
                {
                    **base,
                    "indicator": _value(i, "Title") or "(uten tittel)",
                    "unit": _value(i, F.MEASUREMENT_UNIT),
                    "start": _value(i, F.START_VALUE),
                    "desired": _value(i, F.DESIRED_VALUE),
                    "latest": _value(i, "current_value"),
                    "indicator_status": _value(i, "status"),
                }
            )
    return pd.DataFrame(rows, columns=TREE_COLUMNS)


_W, _H, _GAP, _ROW = 190, 48, 40, 58
_X = [10 + k * (_W + _GAP) for k in range(4)]


def _box(x: float, y: float, lines: list[str], colour: str, *, missing: bool = False) -> str:
    dash = ' stroke-dasharray="5 3"' if missing else ""
    fill = "#F5F5F5" if missing else "#FFFFFF"
    bold = ' font-weight="600"'
    ink = "#555" if missing else "#1b1b1b"
    text = "".join(
        f'<text x="{x + 8}" y="{y + 17 + 14 * k}" font-size="{12 if k == 0 else 11}"'
        f'{bold if k == 0 and not missing else ""} fill="{ink}">{escape(_short(line, 30))}</text>'
        for k, line in enumerate(lines[:2])
    )
    title = escape(" · ".join(lines))
    return (
        f'<g class="node{" missing" if missing else ""}"><title>{title}</title>'
        f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="6" fill="{fill}" stroke="{colour}" '
        f'stroke-width="2"{dash}/>'
        f'<rect x="{x}" y="{y}" width="6" height="{_H}" rx="2" fill="{colour}"/>{text}</g>'
    )


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _edge(x1: float, y1: float, x2: float, y2: float) -> str:
    mid = (x1 + x2) / 2
    return f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" stroke="#9aa3ad" stroke-width="1.5"/>'


def _has(value: Any) -> bool:
    return value is not None and not is_missing(value)


def _colour(status: Any) -> str:
    if not _has(status):
        return MISSING
    return STATUS_COLOURS.get(str(status), WARN)


def tree_svg(project: str, rows: pd.DataFrame) -> str:
    """The tree of one project's rows (from :func:`tree_rows`) as one inline SVG."""
    benefits = list(dict.fromkeys(rows["benefit"].tolist()))
    height = sum(max(1, int((rows["benefit"] == b).sum())) for b in benefits) * _ROW + 34
    width = _X[3] + _W + 10
    parts = [
        f'<svg class="chart benefit-tree" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" {FONT}><title>{escape(f"Gevinstkart – {project}")}</title>',
        *(
            f'<text x="{x}" y="16" font-size="12" font-weight="600" fill="#555">{label}</text>'
            for x, label in zip(_X, ("Endring", "Gevinst", "Måleindikator", "Mål"), strict=True)
        ),
    ]
    top = 28.0
    for benefit in benefits:
        part = rows[rows["benefit"] == benefit]
        band = max(1, len(part)) * _ROW
        mid = top + band / 2 - _H / 2
        first = part.iloc[0]
        change = first["change"]
        parts.append(
            _box(_X[0], mid, [str(change)], "#1F4E79")
            if _has(change)
            else _box(_X[0], mid, ["Endring mangler"], MISSING, missing=True)
        )
        owner = first["owner"]
        btype = first["benefit_type"]
        second = " · ".join(str(v) for v in (btype, owner) if _has(v))
        if not _has(owner):
            second = (second + " · " if second else "") + "eier mangler"
        parts.append(_edge(_X[0] + _W, mid + _H / 2, _X[1], mid + _H / 2))
        parts.append(
            _box(
                _X[1], mid, [str(benefit), second], _colour(first["benefit_status"]), missing=not _has(owner)
            )
        )
        for k, (_, r) in enumerate(part.iterrows()):
            y = top + k * _ROW + (_ROW - _H) / 2
            parts.append(_edge(_X[1] + _W, mid + _H / 2, _X[2], y + _H / 2))
            if not _has(r["indicator"]):
                parts.append(_box(_X[2], y, ["Måleindikator mangler"], MISSING, missing=True))
                continue
            unit = f" {r['unit']}" if _has(r["unit"]) else ""
            start, desired = (display(r[k]) if _has(r[k]) else NOT_GIVEN for k in ("start", "desired"))
            figures = f"{start} → {desired}{unit}; sist: " + (
                display(r["latest"]) if _has(r["latest"]) else "ingen måling"
            )
            no_measurement = r["indicator_status"] == NO_MEASUREMENTS or not _has(r["latest"])
            parts.append(
                _box(
                    _X[2],
                    y,
                    [str(r["indicator"]), figures],
                    _colour(r["indicator_status"]),
                    missing=no_measurement,
                )
            )
        goal = first["goal"]
        parts.append(_edge(_X[1] + _W, mid + _H / 2, _X[3], mid + _H / 2))
        parts.append(
            _box(_X[3], mid, [str(goal)], "#1F4E79")
            if _has(goal)
            else _box(_X[3], mid, ["Mål mangler"], MISSING, missing=True)
        )
        top += band
    parts.append("</svg>")
    return "".join(parts)


def tree_html(analysis: BenefitAnalysis | None) -> str:
    """Every project's tree with a heading; empty string when there are no benefits."""
    rows = tree_rows(analysis)
    if rows.empty:
        return ""
    out = [
        "<h3>Gevinstkart per prosjekt</h3>",
        '<p class="note">Endring → gevinst (type, eier) → måleindikatorer (start → ønsket, siste måling) og målet '
        "gevinsten støtter. Stiplet grå boks = mangler. Farger: grønn i rute/oppnådd, oransje usikker, "
        "rød etter plan.</p>",
    ]
    for _, part in rows.groupby("project_key", sort=False):
        out.append(f'<div class="tree">{tree_svg(str(part["project_title"].iloc[0]), part)}</div>')
    return "".join(out)


def status_words(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows with their status codes in Norwegian (for the workbook sheet)."""
    out = rows.copy()
    for col in ("benefit_status", "indicator_status"):
        out[col] = out[col].map(say)
    return out


__all__ = ["TREE_COLUMNS", "tree_html", "tree_rows", "tree_svg"]

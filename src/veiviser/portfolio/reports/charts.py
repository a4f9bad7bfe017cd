"""Inline SVG charts generated in Python (no JavaScript, no external assets).

Every chart escapes its text, carries ``role="img"`` with a title and description for screen
readers, and is drawn only from data it is given; callers show a "no data" message instead of
calling a chart with nothing to draw.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from html import escape
from itertools import count

from veiviser.portfolio.reports.tables import number_nb

#: Okabe–Ito colours (distinguishable with colour-vision deficiencies), dark enough on white.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8C6D00", "#56B4E9", "#444444", "#E69F00")
CRITERION_COLOURS = (*PALETTE, "#7F3C8D", "#11A579", "#3969AC")
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif"'
_ids = count(1)


def _uid(prefix: str) -> str:
    return f"{prefix}{next(_ids)}"


def text_colour(background: str) -> str:
    """Black or white, whichever contrasts more with ``background`` (#RRGGBB), per WCAG luminance."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#FFFFFF"


def _open(width: float, height: float, title: str, desc: str, cls: str) -> tuple[str, str]:
    tid = _uid("t")
    head = (
        f'<svg class="chart {cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{tid} {tid}d" {FONT}>'
        f'<title id="{tid}">{escape(title)}</title><desc id="{tid}d">{escape(desc)}</desc>'
    )
    return head, "</svg>"


def _fmt(v: float) -> str:
    return number_nb(v, 0) if float(v).is_integer() or abs(v) >= 100 else number_nb(v, 1)


# --- risk heat map -------------------------------------------------------------------------------


def heatmap(
    counts: dict[tuple[int, int], int],
    colours: dict[tuple[int, int], str],
    *,
    title: str,
    x_labels: dict[int, str],
    y_labels: dict[int, str],
    x_name: str = "Konsekvens",
    y_name: str = "Sannsynlighet",
) -> str:
    """A 5×5 matrix: y = probability 5 (top) → 1, x = consequence 1 → 5; count in each cell."""
    cell, left, top = 58, 118, 30
    width, height = left + 5 * cell + 10, top + 5 * cell + 62
    total = sum(counts.values())
    head, tail = _open(width, height, title, f"{total} elementer fordelt i en 5×5-matrise", "heatmap")
    parts = [
        head,
        f'<text x="{left + 2.5 * cell}" y="18" text-anchor="middle" font-size="14" font-weight="600">{escape(title)}</text>',
    ]
    for row, y in enumerate(range(5, 0, -1)):
        cy = top + row * cell
        parts.append(
            f'<text x="{left - 6}" y="{cy + cell / 2 + 4}" text-anchor="end" font-size="11">{y} {escape(y_labels.get(y, ""))}</text>'
        )
        for x in range(1, 6):
            cx = left + (x - 1) * cell
            colour = colours[(y, x)]
            n = counts.get((y, x), 0)
            parts.append(
                f'<rect x="{cx}" y="{cy}" width="{cell}" height="{cell}" fill="{colour}" stroke="#FFFFFF" stroke-width="2">'
                f"<title>S={y}, K={x}: {n}</title></rect>"
            )
            if n:
                parts.append(
                    f'<text x="{cx + cell / 2}" y="{cy + cell / 2 + 7}" text-anchor="middle" font-size="20" '
                    f'font-weight="700" fill="{text_colour(colour)}">{n}</text>'
                )
    for x in range(1, 6):
        tick_x = left + (x - 0.5) * cell
        parts.append(
            f'<text x="{tick_x}" y="{top + 5 * cell + 16}" text-anchor="middle" font-size="11">{x}</text>'
        )
        parts.append(
            f'<text x="{tick_x}" y="{top + 5 * cell + 30}" text-anchor="middle" font-size="9">{escape(x_labels.get(x, ""))}</text>'
        )
    parts.append(
        f'<text x="{left + 2.5 * cell}" y="{height - 8}" text-anchor="middle" font-size="12">{escape(x_name)} →</text>'
    )
    parts.append(
        f'<text x="12" y="{top + 2.5 * cell}" font-size="12" transform="rotate(-90 12 {top + 2.5 * cell})" '
        f'text-anchor="middle">{escape(y_name)} →</text>'
    )
    parts.append(tail)
    return "".join(parts)


# --- benefit realisation curves ------------------------------------------------------------------


@dataclass
class Series:
    """One line: label and (date, real achievement %) points, oldest first."""

    label: str
    points: list[tuple[date, float]]


def realisation_curves(series: Sequence[Series], *, title: str, low: float = 0.0, high: float = 100.0) -> str:
    """Achievement over time, one line per indicator. Values are clamped to [low, high] only for
    drawing; a point above ``high`` is drawn as ▲ (over-delivery) and below ``low`` as ▼, and each
    point's tooltip shows the real value."""
    width, height, left, right, top, bottom = 560, 300, 52, 40, 34, 40
    legend_rows = len(series)
    height += 18 * legend_rows
    plot_h = 300 - top - bottom
    dates = [d for s in series for d, _ in s.points]
    d0, d1 = min(dates), max(dates)
    span = max((d1 - d0).days, 1)
    plot_w = width - left - right

    def px(d: date) -> float:
        return left + (d - d0).days / span * plot_w if d1 != d0 else left + plot_w / 2

    def py(v: float) -> float:
        v = min(max(v, low), high)
        return top + (high - v) / (high - low) * plot_h

    head, tail = _open(
        width, height, title, f"Måloppnåelse over tid for {len(series)} måleindikatorer", "curves"
    )
    parts = [head, f'<text x="{left}" y="18" font-size="14" font-weight="600">{escape(title)}</text>']
    for pct in (0, 25, 50, 75, 100):
        y = py(pct)
        dash = ' stroke-dasharray="5 3"' if pct == 100 else ""
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="{"#555" if pct == 100 else "#DDD"}"{dash}/>'
        )
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{pct} %</text>')
    parts.append(
        f'<text x="{width - right}" y="{py(100) + 12:.1f}" text-anchor="end" font-size="10" fill="#555">mål</text>'
    )
    for d in _ticks(d0, d1):
        parts.append(
            f'<line x1="{px(d):.1f}" y1="{top + plot_h}" x2="{px(d):.1f}" y2="{top + plot_h + 4}" stroke="#555"/>'
            f'<text x="{px(d):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">{d:%m.%Y}</text>'
        )
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        pts = [(px(d), py(v), v, d) for d, v in s.points]
        if len(pts) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in pts)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2.5"/>')
        for x, y, v, d in pts:
            tip = f"{escape(s.label)}, {d:%Y-%m-%d}: {number_nb(v, 1)} %"
            if v > high:
                parts.append(
                    f'<path class="over" d="M{x:.1f},{y - 9:.1f} l6,10 h-12 z" fill="{colour}" stroke="#000" stroke-width="0.8">'
                    f"<title>{tip} (over målet)</title></path>"
                )
            elif v < low:
                parts.append(
                    f'<path class="under" d="M{x:.1f},{y + 9:.1f} l6,-10 h-12 z" fill="{colour}" stroke="#000" stroke-width="0.8">'
                    f"<title>{tip} (feil retning)</title></path>"
                )
            else:
                parts.append(
                    f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" stroke="#FFF" stroke-width="1"><title>{tip}</title></circle>'
                )
    for i, s in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        lx, ly = left, 300 + i * 18
        last = s.points[-1][1] if s.points else None
        note = f" — {number_nb(last, 0)} %" if last is not None else ""
        parts.append(
            f'<rect x="{lx:.1f}" y="{ly - 9}" width="12" height="4" fill="{colour}"/>'
            f'<text x="{lx + 16:.1f}" y="{ly - 4}" font-size="11">{escape(_short(s.label, 60))}{escape(note)}</text>'
        )
    parts.append(tail)
    return "".join(parts)


def _ticks(d0: date, d1: date, most: int = 6) -> list[date]:
    """First-of-month ticks between d0 and d1 (every n-th month so at most ``most``), or d0 alone."""
    months = []
    y, m = d0.year, d0.month
    while (y, m) <= (d1.year, d1.month):
        first = date(y, m, 1)
        if d0 <= first <= d1:
            months.append(first)
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    if not months:
        return [d0]
    step = max(1, -(-len(months) // most))
    return months[::step]


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


# --- planned vs realised -------------------------------------------------------------------------


@dataclass
class PlannedRealised:
    """One group: label, planned change and realised change (signed, in the unit of the chart)."""

    label: str
    planned: float
    realised: float | None


def planned_realised_bars(rows: Sequence[PlannedRealised], *, title: str, unit: str) -> str:
    """Horizontal bars: planned (grey) and realised (blue) per group, in the direction of the
    target (a decrease target is shown as a positive amount to reduce). Real signed values are in
    the labels; realised in the wrong direction extends left of zero."""
    label_w, width, bar_h, gap = 190, 560, 14, 14
    top = 44
    height = top + len(rows) * (2 * bar_h + gap) + 20
    oriented = []
    for r in rows:
        sign = -1.0 if r.planned < 0 else 1.0
        oriented.append((r, abs(r.planned), None if r.realised is None else r.realised * sign))
    hi = max([1e-9] + [max(p, q or 0) for _, p, q in oriented])
    lo = min([0.0] + [q for _, _, q in oriented if q is not None])
    plot_w = width - label_w - 90
    scale = plot_w / (hi - lo)
    zero = label_w + (-lo) * scale
    head, tail = _open(
        width, height, title, f"Planlagt og realisert endring i {unit} for {len(rows)} grupper", "bars"
    )
    parts = [
        head,
        f'<text x="0" y="18" font-size="14" font-weight="600">{escape(title)}</text>',
        f'<rect x="{label_w}" y="26" width="12" height="10" fill="#9E9E9E"/><text x="{label_w + 16}" y="35" font-size="11">Planlagt</text>',
        f'<rect x="{label_w + 80}" y="26" width="12" height="10" fill="#0072B2"/><text x="{label_w + 96}" y="35" font-size="11">Realisert</text>',
    ]
    for i, (r, planned, realised) in enumerate(oriented):
        y = top + i * (2 * bar_h + gap)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h + 4}" text-anchor="end" font-size="11">{escape(_short(r.label, 30))}</text>'
        )
        parts.append(
            f'<rect x="{zero:.1f}" y="{y}" width="{planned * scale:.1f}" height="{bar_h}" fill="#9E9E9E">'
            f"<title>{escape(r.label)}: planlagt {escape(_fmt(r.planned))} {escape(unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{zero + planned * scale + 4:.1f}" y="{y + bar_h - 3}" font-size="10">{escape(_fmt(r.planned))}</text>'
        )
        if realised is None:
            parts.append(
                f'<text x="{zero + 4:.1f}" y="{y + 2 * bar_h - 2}" font-size="10" font-style="italic">ikke målt</text>'
            )
            continue
        x0 = min(zero, zero + realised * scale)
        parts.append(
            f'<rect x="{x0:.1f}" y="{y + bar_h}" width="{abs(realised) * scale:.1f}" height="{bar_h}" fill="#0072B2">'
            f"<title>{escape(r.label)}: realisert {escape(_fmt(r.realised or 0))} {escape(unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{max(zero, zero + realised * scale) + 4:.1f}" y="{y + 2 * bar_h - 3}" font-size="10">{escape(_fmt(r.realised or 0))}</text>'
        )
    parts.append(f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{height - 16}" stroke="#333"/>')
    parts.append(tail)
    return "".join(parts)


# --- prioritisation ------------------------------------------------------------------------------


def stacked_scores(
    rows: Sequence[tuple[str, list[tuple[str, float]], bool]], criteria: Sequence[str], *, title: str
) -> str:
    """One horizontal bar per project (score 0–100), split into each criterion's contribution;
    ``False`` in a row marks an incomplete rating (drawn with a dashed outline)."""
    label_w, width, bar_h, gap, top = 240, 760, 20, 10, 34
    legend_rows = (len(criteria) + 3) // 4
    height = top + len(rows) * (bar_h + gap) + 28 + legend_rows * 18
    plot_w = width - label_w - 60
    colours = {c: CRITERION_COLOURS[i % len(CRITERION_COLOURS)] for i, c in enumerate(criteria)}
    head, tail = _open(
        width, height, title, f"Poeng 0–100 for {len(rows)} prosjekter, delt opp per kriterium", "stacked"
    )
    parts = [head, f'<text x="0" y="18" font-size="14" font-weight="600">{escape(title)}</text>']
    for i, (label, contributions, complete) in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 5}" text-anchor="end" font-size="12">{i + 1}. {escape(_short(label, 32))}</text>'
        )
        x: float = label_w
        for crit, value in contributions:
            w = value / 100 * plot_w
            if w > 0:
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colours[crit]}" stroke="#FFF" stroke-width="0.5">'
                    f"<title>{escape(label)}: {escape(crit)} {number_nb(value, 1)}</title></rect>"
                )
            x += w
        if not complete:
            parts.append(
                f'<rect x="{label_w}" y="{y}" width="{x - label_w:.1f}" height="{bar_h}" fill="none" stroke="#000" stroke-dasharray="4 2"/>'
            )
        total = sum(v for _, v in contributions)
        parts.append(
            f'<text x="{x + 4:.1f}" y="{y + bar_h - 5}" font-size="12" font-weight="600">{number_nb(total, 1)}{"*" if not complete else ""}</text>'
        )
    ly = top + len(rows) * (bar_h + gap) + 14
    for i, crit in enumerate(criteria):
        lx, lyy = label_w + (i % 4) * (plot_w / 4), ly + (i // 4) * 18
        parts.append(
            f'<rect x="{lx:.1f}" y="{lyy - 9}" width="10" height="10" fill="{colours[crit]}"/>'
            f'<text x="{lx + 14:.1f}" y="{lyy}" font-size="11">{escape(crit)}</text>'
        )
    parts.append(tail)
    return "".join(parts)


# --- ITPOSMO -------------------------------------------------------------------------------------

BAND_COLOURS = ("#7ABD7E", "#F8D66D", "#FFB54C", "#FF8C69", "#FF6961")


def itposmo_totals(
    rows: Sequence[tuple[str, float]],
    bands: Sequence[tuple[float, str]],
    *,
    title: str,
    max_total: float,
    concern_total: float,
) -> str:
    """Total gap per project as bars over the outcome bands (coloured zones), with the concern line."""
    label_w, width, bar_h, gap, top = 240, 760, 18, 10, 50
    height = top + len(rows) * (bar_h + gap) + 30
    plot_w = width - label_w - 50
    scale = plot_w / max_total
    head, tail = _open(
        width,
        height,
        title,
        f"Sum ITPOSMO-avstand for {len(rows)} prosjekter mot utfallsintervallene",
        "itposmo",
    )
    parts = [head, f'<text x="0" y="18" font-size="14" font-weight="600">{escape(title)}</text>']
    for i, (start, outcome) in enumerate(bands):
        end = bands[i + 1][0] if i + 1 < len(bands) else max_total
        colour = BAND_COLOURS[min(i, len(BAND_COLOURS) - 1)]
        parts.append(
            f'<rect x="{label_w + start * scale:.1f}" y="{top - 14}" width="{(end - start) * scale:.1f}" '
            f'height="{height - top - 16}" fill="{colour}" opacity="0.35"><title>{number_nb(start, 0)}+: {escape(outcome)}</title></rect>'
        )
        parts.append(
            f'<text x="{label_w + start * scale + 3:.1f}" y="{top - 3}" font-size="10">{number_nb(start, 0)}</text>'
        )
    cx = label_w + concern_total * scale
    parts.append(
        f'<line x1="{cx:.1f}" y1="{top - 14}" x2="{cx:.1f}" y2="{height - 16}" stroke="#B00020" stroke-dasharray="4 3"/>'
        f'<text x="{cx + 3:.1f}" y="32" font-size="10" fill="#B00020">bekymring &gt; {number_nb(concern_total, 0)}</text>'
    )
    for i, (label, total) in enumerate(rows):
        y = top + i * (bar_h + gap)
        parts.append(
            f'<text x="{label_w - 8}" y="{y + bar_h - 4}" text-anchor="end" font-size="12">{escape(_short(label, 32))}</text>'
        )
        parts.append(
            f'<rect x="{label_w}" y="{y}" width="{total * scale:.1f}" height="{bar_h}" fill="#1F4E79">'
            f"<title>{escape(label)}: {number_nb(total, 0)}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + total * scale + 4:.1f}" y="{y + bar_h - 4}" font-size="12" font-weight="600">{number_nb(total, 0)}</text>'
        )
    parts.append(tail)
    return "".join(parts)

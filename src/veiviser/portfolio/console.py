"""Text output (rich table, CSV, JSON) for the ``itposmo`` and ``prioritise`` commands."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from veiviser.errors import VeiviserError
from veiviser.portfolio.findings import AnalysisFinding
from veiviser.portfolio.itposmo import (
    DIMENSION_KEYS,
    DIMENSIONS,
    ItposmoResult,
    assess_itposmo,
    load_itposmo_config,
    read_itposmo_file,
)
from veiviser.portfolio.prioritisation import PriorityResult, load_model, read_priority_file, score_projects
from veiviser.portfolio.reports.inert import csv_safe_frame
from veiviser.schemas.parsing import parse_decimal

FORMATS = ("table", "csv", "json")
_LETTER = {"objectives": "O1", "other_resources": "O2"} | {
    k: letter for k, letter, _ in DIMENSIONS if k not in ("objectives", "other_resources")
}


def itposmo_from_file(path: str | Path, bands: str | Path | None = None) -> ItposmoResult:
    """Read ratings from ``path`` and assess them with the bands file (or the defaults)."""
    return assess_itposmo(read_itposmo_file(path), load_itposmo_config(bands))


def prioritise_from_file(
    path: str | Path, model: str | Path = "trondheim", weights: dict[str, float] | None = None
) -> PriorityResult:
    """Read ratings from ``path`` and score them with ``model`` and weight overrides."""
    m = load_model(model)
    if weights:
        m = m.with_weights(weights)
    ratings, warnings = read_priority_file(path, m)
    result = score_projects(ratings, m)
    result.warnings[:0] = warnings
    return result


def parse_weights(items: tuple[str, ...] | list[str]) -> dict[str, float]:
    """``["Risiko=10", …]`` → ``{"Risiko": 10.0}``; a clear error for anything else."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            number = parse_decimal(value)
            if number is None:
                raise ValueError
            out[name.strip()] = float(number)
        except ValueError:  # NumberFormatError included
            raise VeiviserError(
                f"--weight {item!r} is not CRITERION=NUMBER", hint="Example: --weight Risiko=10"
            ) from None
    return out


def problem_lines(problems: Iterable[AnalysisFinding], warnings: Iterable[str] = ()) -> list[tuple[str, str]]:
    """The lines a command prints to stderr after its output, each with its colour: the warnings
    first, then every problem (red for an error, yellow otherwise)."""
    lines = [(f"Warning: {w}", "yellow") for w in warnings]
    lines += [(f"Problem: {p}", "red" if p.severity == "error" else "yellow") for p in problems]
    return lines


def _fmt(v: object) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    return f"{v:g}" if isinstance(v, float) else str(v)


def _render(table: Table) -> str:
    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(table)
    return buf.getvalue()


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(df.to_json(orient="records", force_ascii=False))
    return records


def itposmo_output(result: ItposmoResult, fmt: str = "table") -> str:
    """The assessment as a rich table, CSV or JSON (problems are separate: ``result.problems``)."""
    t = result.table
    if fmt == "json":
        return json.dumps(
            {
                "projects": _records(
                    t.drop(columns=[f"{k}__where" for k in DIMENSION_KEYS], errors="ignore")
                ),
                "problems": [str(p) for p in result.problems],
            },
            ensure_ascii=False,
            indent=2,
        )
    flat = t.assign(
        concern_dimensions=t["concern_dimensions"].map(lambda ds: " ".join(_LETTER[d] for d in ds)),
        gaps_largest_first=t["gaps_largest_first"].map(
            lambda gs: " ".join(f"{_LETTER[k]}={v:g}" for k, v in gs)
        ),
    )
    if fmt == "csv":
        return csv_safe_frame(flat).to_csv(index=False, quoting=csv.QUOTE_ALL)  # OWASP (docs/portfolio.md)
    table = Table(title="ITPOSMO design-reality gaps (largest total first)")
    for col in (
        "Project",
        *(_LETTER[k] for k in DIMENSION_KEYS),
        "Total",
        "Band",
        "Likely outcome",
        "Concern",
        "Largest gaps first",
    ):
        table.add_column(col, overflow="fold")
    for _, r in flat.iterrows():
        if isinstance(r["problem"], str) and r["problem"]:
            concern = f"not assessed: {r['problem']}"
        elif r["concern"]:
            concern = "yes: " + ", ".join(
                filter(
                    None,
                    [
                        r["concern_dimensions"],
                        f"total > {result.config.total_concern_above:g}" if r["total_concern"] else "",
                    ],
                )
            )
        else:
            concern = "no"
        table.add_row(
            str(r["project"]),
            *(_fmt(r[k]) for k in DIMENSION_KEYS),
            _fmt(r["total"]),
            _fmt(r["band"]),
            _fmt(r["outcome"]),
            concern,
            r["gaps_largest_first"],
        )
    return _render(table)


def priority_output(result: PriorityResult, fmt: str = "table") -> str:
    """The ranking as a rich table with per-criterion contributions, CSV or JSON."""
    crit = [c.name for c in result.model.criteria]
    r = result.ranking.assign(missing=result.ranking["missing"].map(", ".join))
    if fmt == "json":
        return json.dumps(
            {
                "model": result.model.name,
                "uncertainty": result.uncertainty,
                "weights": result.weights,
                "warnings": result.warnings,
                "ranking": _records(result.ranking),
                "excluded": _records(result.excluded),
                "problems": [str(p) for p in result.problems],
            },
            ensure_ascii=False,
            indent=2,
        )
    if fmt == "csv":
        return csv_safe_frame(r).to_csv(index=False, quoting=csv.QUOTE_ALL)
    table = Table(title=f"Prioritisation: {result.model.name}")
    table.add_column("#")
    table.add_column("Project", overflow="fold")
    table.add_column("Score")
    for c in crit:
        direction = " (−)" if result.model.criterion(c).direction == "against" else ""
        table.add_column(f"{c}{direction}\nw={result.weights[c]:g}", overflow="fold")
    table.add_column("Missing")
    for _, row in r.iterrows():
        table.add_row(
            str(row["rank"]),
            str(row["project"]),
            f"{row['score']:.1f}",
            *("—" if c in row["missing"].split(", ") else f"{row[c]:.1f}" for c in crit),
            row["missing"],
        )
    out = _render(table)
    if not result.excluded.empty:
        out += "\nExcluded:\n" + "".join(
            f"  {p}: {reason} ({src})\n" for p, reason, src in result.excluded.itertuples(index=False)
        )
    if result.uncertainty:
        out += f"\nModel uncertainty: {result.uncertainty}\n"
    return out

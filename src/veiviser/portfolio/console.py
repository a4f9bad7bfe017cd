"""The ``itposmo`` and ``prioritise`` commands as library calls: read a file, assess it, return data.

:mod:`veiviser.cli_output` renders the results as tables, CSV or JSON (docs/architecture.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.itposmo import (
    DIMENSION_KEYS,
    DIMENSIONS,
    ItposmoResult,
    assess_itposmo,
    load_itposmo_config,
    read_itposmo_file,
)
from veiviser.portfolio.prioritisation import PriorityResult, load_model, read_priority_file, score_projects
from veiviser.schemas.parsing import parse_decimal

LETTER = {"objectives": "O1", "other_resources": "O2"} | {
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


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads(df.to_json(orient="records", force_ascii=False))
    return records


def itposmo_data(result: ItposmoResult) -> dict[str, Any]:
    """The assessment as plain data: one record per project and the problems as text."""
    return {
        "projects": _records(
            result.table.drop(columns=[f"{k}__where" for k in DIMENSION_KEYS], errors="ignore")
        ),
        "problems": [str(p) for p in result.problems],
    }


def priority_data(result: PriorityResult) -> dict[str, Any]:
    """The ranking as plain data: model, weights, ranked and excluded projects, warnings, problems."""
    return {
        "model": result.model.name,
        "uncertainty": result.uncertainty,
        "weights": result.weights,
        "warnings": [w.message for w in result.warnings],
        "ranking": _records(result.ranking),
        "excluded": _records(result.excluded),
        "problems": [str(p) for p in result.problems],
    }

"""Weighted-criteria prioritisation of proposals (docs/portfolio.md, "Prioritisation").

A model (YAML) has criteria with a weight and a direction (``for``: a high rating is good;
``against``: a high rating counts against, e.g. risk), and a rating scale min..max. Per project:

    n_c = (rating_c − min) / (max − min)          for a "for" criterion
    n_c = 1 − (rating_c − min) / (max − min)      for an "against" criterion
    contribution_c = 100 × w_c × n_c / Σ w        score = Σ contribution_c  (0–100)

Decisions on bad ratings (stated in every result):

- **missing rating** (empty cell, or the criterion's column absent): the project *is scored*, the
  missing criterion contributes 0 (the least favourable rating, so leaving a cell empty never raises
  a score), ``complete`` is False, ``missing`` names the criteria, and ``best_case_score`` shows the
  score if they had the most favourable rating. A warning per project says so.
- **rating outside the scale or not a number**: the project is *excluded* with the reason, since
  such a value usually means a different scale was used and no score would be comparable.

A criterion whose weight is unknown (``weight: null``) must be set by the user; otherwise its
``default_weight`` is used with a warning, and without a default the model cannot be used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

import pandas as pd

from veiviser.portfolio.config import ConfigError, load_preset, load_yaml, number
from veiviser.portfolio.findings import AnalysisFinding, is_blank
from veiviser.portfolio.inputs import (
    Cell,
    normalise_header,
    parse_number,
    read_project_records,
)
from veiviser.portfolio.words import ROW, UNNAMED_ROW

PRESETS = ("trondheim",)


@dataclass(frozen=True)
class Criterion:
    """One criterion; ``weight`` None = unknown (see module doc)."""

    name: str
    weight: float | None
    direction: str = "for"
    default_weight: float | None = None
    note: str = ""


@dataclass(frozen=True)
class PriorityModel:
    """Criteria, scale and the model's own statement of uncertainty."""

    name: str
    criteria: tuple[Criterion, ...]
    scale_min: float = 0
    scale_max: float = 5
    uncertainty: str = ""
    source: str = ""

    def criterion(self, name: str) -> Criterion:
        """The criterion called ``name`` (case-insensitive); ConfigError if none."""
        for c in self.criteria:
            if normalise_header(c.name) == normalise_header(name):
                return c
        raise ConfigError(
            f"Model {self.name!r} has no criterion {name!r}",
            hint=f"Criteria: {', '.join(c.name for c in self.criteria)}.",
        )

    def with_weights(self, weights: dict[str, float]) -> PriorityModel:
        """A copy with the given weights set (e.g. the unknown Risiko weight)."""
        updated = {self.criterion(n).name: float(w) for n, w in weights.items()}
        for n, w in updated.items():
            if w < 0:
                raise ConfigError(f"Weight of {n} must be 0 or more, not {w:g}")
        return replace(
            self, criteria=tuple(replace(c, weight=updated.get(c.name, c.weight)) for c in self.criteria)
        )

    def resolved_weights(self) -> tuple[dict[str, float], list[AnalysisFinding]]:
        """Weight per criterion, and warnings for unknown weights replaced by their default."""
        weights: dict[str, float] = {}
        warnings: list[AnalysisFinding] = []
        for c in self.criteria:
            if c.weight is not None:
                weights[c.name] = c.weight
            elif c.default_weight is not None:
                weights[c.name] = c.default_weight
                warnings.append(
                    AnalysisFinding(
                        "warning",
                        "default-weight",
                        f"The weight of {c.name} is unknown in model {self.name!r}; using the documented "
                        f"default {c.default_weight:g}. Set it with --weight {c.name}=W.",
                        frame="priorities",
                        field=c.name,
                        details={"value": c.default_weight, "model": self.name},
                    )
                )
            else:
                raise ConfigError(
                    f"The weight of {c.name} is unknown in model {self.name!r} and has no default",
                    hint=f"Set it with --weight {c.name}=W.",
                )
        if sum(weights.values()) <= 0:
            raise ConfigError(
                f"Model {self.name!r}: the weights add up to 0",
                hint="Give at least one criterion a positive weight.",
            )
        return weights, warnings


def load_model(name_or_path: str | Path = "trondheim") -> PriorityModel:
    """A model from a shipped preset name (``trondheim``) or a YAML file path."""
    if str(name_or_path) in PRESETS:
        data, name = load_preset(str(name_or_path)), f"preset {name_or_path}.yaml"
    else:
        data, name = load_yaml(name_or_path), Path(name_or_path).name
    raw = data.get("criteria")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{name}: 'criteria' must be a list of {{name, weight, direction}}")
    criteria, seen = [], set()
    for i, c in enumerate(raw, start=1):
        if not isinstance(c, dict) or not c.get("name"):
            raise ConfigError(f"{name}: criterion {i} needs a name")
        where = f"{name}, criterion {c['name']}"
        direction = str(c.get("direction", "for")).strip().lower()
        if direction not in ("for", "against"):
            raise ConfigError(f"{where}: direction must be 'for' or 'against', not {direction!r}")
        weight = None if c.get("weight") is None else number(c, "weight", where)
        default = None if c.get("default_weight") is None else number(c, "default_weight", where)
        if (weight is not None and weight < 0) or (default is not None and default < 0):
            raise ConfigError(f"{where}: weights must be 0 or more")
        key = normalise_header(c["name"])
        if key in seen:
            raise ConfigError(f"{name}: criterion {c['name']!r} appears twice")
        seen.add(key)
        criteria.append(Criterion(str(c["name"]), weight, direction, default, str(c.get("note", ""))))
    scale = data.get("scale") or {}
    if not isinstance(scale, dict):
        raise ConfigError(f"{name}: 'scale' must be a mapping with min and max")
    model = PriorityModel(
        name=str(data.get("name", name)),
        criteria=tuple(criteria),
        scale_min=number(scale, "min", name, 0),
        scale_max=number(scale, "max", name, 5),
        uncertainty=str(data.get("uncertainty", "")).strip(),
        source=str(data.get("source", "")),
    )
    if model.scale_max <= model.scale_min:
        raise ConfigError(f"{name}: scale max must be above scale min")
    return model


@dataclass
class PriorityResult:
    """Ranked projects with per-criterion contributions, excluded projects and all notes."""

    model: PriorityModel
    weights: dict[str, float]
    ranking: (
        pd.DataFrame
    )  # rank, project, score, best_case_score, complete, missing, <criterion> contributions
    breakdown: pd.DataFrame  # long: project, criterion, rating, weight, direction, normalised, contribution
    excluded: pd.DataFrame  # project, reason, source
    problems: list[AnalysisFinding] = field(default_factory=list)
    #: notes on the model and the file (severity "warning"); the command line prints their message
    warnings: list[AnalysisFinding] = field(default_factory=list)

    @property
    def uncertainty(self) -> str:
        return self.model.uncertainty


def score_projects(ratings: pd.DataFrame, model: PriorityModel) -> PriorityResult:
    """Score and rank ``ratings`` (column ``project``, one column per criterion name, optional
    ``source`` and ``<criterion>__where`` for locations) with ``model``."""
    weights, warnings = model.resolved_weights()
    total_w = sum(weights.values())
    span = model.scale_max - model.scale_min
    problems: list[AnalysisFinding] = []
    ranking_rows, breakdown_rows, excluded_rows = [], [], []
    for idx, (_, rec) in enumerate(ratings.iterrows()):
        source = rec.get("source") if "source" in ratings.columns else ROW.format(row=idx + 1)
        project = rec.get("project")
        if is_blank(project):
            problems.append(
                AnalysisFinding(
                    "error",
                    "no-project",
                    "Row has no project name; left out",
                    frame=str(source),
                    field="project",
                )
            )
            excluded_rows.append(
                {"project": UNNAMED_ROW.format(row=idx + 1), "reason": "no project name", "source": source}
            )
            continue
        project = str(project).strip()
        missing: list[str] = []
        invalid: list[str] = []
        parts: list[tuple[Criterion, float | None, float]] = []
        for c in model.criteria:
            raw = rec.get(c.name)
            if is_blank(raw):
                missing.append(c.name)
                parts.append((c, None, 0.0))
                continue
            rating_problem = partial(
                AnalysisFinding,
                "error",
                frame=str(rec.get(f"{c.name}__where") or source),
                project_key=project,
                field=c.name,
            )
            scale = f"{model.scale_min:g}–{model.scale_max:g}"
            try:
                v = parse_number(raw)
            except ValueError:
                invalid.append(f"{c.name} = {raw!r} is not a number")
                problems.append(
                    rating_problem(
                        "not-a-number",
                        f"{project}: {c.name} = {raw!r} is not a number; project excluded",
                        hint=f"Use a number {scale}.",
                        details={"value": raw, "scale": scale},
                    )
                )
                continue
            if not model.scale_min <= v <= model.scale_max:
                invalid.append(f"{c.name} = {v:g} outside {scale}")
                problems.append(
                    rating_problem(
                        "out-of-scale",
                        f"{project}: {c.name} = {v:g} is outside the scale {scale}; project excluded",
                        hint="Rate on the model's scale (or change the scale in the model file).",
                        details={"value": v, "scale": scale},
                    )
                )
                continue
            n = (v - model.scale_min) / span
            if c.direction == "against":
                n = 1.0 - n
            parts.append((c, v, n))
        if invalid:
            excluded_rows.append({"project": project, "reason": "; ".join(invalid), "source": source})
            continue
        if missing:
            problems.append(
                AnalysisFinding(
                    "warning",
                    "missing-rating",
                    f"{project}: no rating for {', '.join(missing)}; scored as the least favourable rating",
                    frame=str(source),
                    project_key=project,
                    field=missing[0],
                    hint="Rate every criterion for a comparable score.",
                    details={"fields": missing},
                )
            )
        contributions = {}
        for c, rating, n in parts:
            contrib = 100.0 * weights[c.name] * n / total_w
            contributions[c.name] = contrib
            breakdown_rows.append(
                {
                    "project": project,
                    "criterion": c.name,
                    "rating": rating,
                    "weight": weights[c.name],
                    "direction": c.direction,
                    "normalised": None if rating is None else n,
                    "contribution": contrib,
                }
            )
        score = sum(contributions.values())
        best = score + sum(100.0 * weights[m] / total_w for m in missing)
        ranking_rows.append(
            {
                "project": project,
                "score": score,
                "best_case_score": best,
                "complete": not missing,
                "missing": missing,
                **contributions,
                "source": source,
            }
        )
    crit_names = [c.name for c in model.criteria]
    ranking = pd.DataFrame(
        ranking_rows,
        columns=["project", "score", "best_case_score", "complete", "missing", *crit_names, "source"],
    )
    if not ranking.empty:
        ranking = ranking.sort_values(["score", "project"], ascending=[False, True]).reset_index(drop=True)
        ranking.insert(0, "rank", ranking["score"].round(9).rank(method="min", ascending=False).astype(int))
    else:
        ranking.insert(0, "rank", pd.Series(dtype=int))
    breakdown = pd.DataFrame(
        breakdown_rows,
        columns=["project", "criterion", "rating", "weight", "direction", "normalised", "contribution"],
    )
    excluded = pd.DataFrame(excluded_rows, columns=["project", "reason", "source"])
    return PriorityResult(model, weights, ranking, breakdown, excluded, problems, warnings)


def read_priority_file(path: str | Path, model: PriorityModel) -> tuple[pd.DataFrame, list[AnalysisFinding]]:
    """Ratings from CSV/YAML for ``model``: the frame :func:`score_projects` reads, and warnings
    for columns that match no criterion (ignored, probably a typo)."""
    name = Path(path).name
    by_norm = {normalise_header(c.name): c.name for c in model.criteria}
    unknown: dict[str, str] = {}

    def key_for(header: str, cell: Cell) -> str | None:
        crit = by_norm.get(normalise_header(header))
        if crit is None:
            unknown.setdefault(header, cell.where)
        return crit

    records = read_project_records(path, key_for)
    warnings = [
        AnalysisFinding(
            "warning",
            "unknown-column",
            f"{where}: column {h!r} matches no criterion of {model.name!r}; ignored",
            frame=where,
            details={"value": h, "model": model.name},
        )
        for h, where in unknown.items()
    ]
    absent = [c.name for c in model.criteria if not any(c.name in r for r in records)]
    if absent:
        warnings.append(
            AnalysisFinding(
                "warning",
                "missing-criteria",
                f"{name}: no column for {', '.join(absent)}; every project lacks these ratings",
                frame=name,
                details={"fields": absent},
            )
        )
    return pd.DataFrame(records), warnings

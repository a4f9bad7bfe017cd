"""ITPOSMO design-reality gap assessment (Heeks; docs/portfolio.md, "ITPOSMO").

Seven dimensions rated 0–10 per project; total = sum (0–70); the outcome band by total
(configurable, defaults in ``presets/itposmo.yaml``); concern when any dimension is above
``dimension_concern_above`` (default 5) or the total above ``total_concern_above`` (default 20).
Projects are listed largest total first; each lists its dimensions from largest gap to smallest.
A project with a missing or out-of-scale rating is not totalled: it gets a ``problem`` and is
listed last, so one bad row never stops the others.

Accepted file headers (case and punctuation ignored), Norwegian or English:

===================  ==============================================================
dimension            headers
===================  ==============================================================
project              project, prosjekt, prosjektnavn, navn, name, title, tittel
information          I, information, informasjon
technology           T, technology, teknologi
processes            P, processes, process, prosesser, prosess
objectives           O1, objectives, objectives and values, mål, mål og verdier
staffing             S, staffing, staffing and skills, bemanning, bemanning og kompetanse
management           M, management, management systems and structures, styring,
                     styringssystemer og strukturer, ledelse
other_resources      O2, other resources, other resources time and money, andre
                     ressurser, andre ressurser tid og penger, tid og penger
===================  ==============================================================

A plain «O» is ambiguous (two dimensions start with O) and is rejected with a hint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd

from veiviser.portfolio.config import ConfigError, load_preset, load_yaml, number
from veiviser.portfolio.findings import AnalysisFinding, is_blank
from veiviser.portfolio.inputs import (
    Cell,
    InputFileError,
    normalise_header,
    parse_number,
    read_project_records,
)
from veiviser.portfolio.words import ROW, UNNAMED_ROW

DIMENSIONS: tuple[tuple[str, str, str], ...] = (
    ("information", "I", "Information"),
    ("technology", "T", "Technology"),
    ("processes", "P", "Processes"),
    ("objectives", "O", "Objectives and values"),
    ("staffing", "S", "Staffing and skills"),
    ("management", "M", "Management systems and structures"),
    ("other_resources", "O", "Other resources: time and money"),
)
DIMENSION_KEYS = tuple(d[0] for d in DIMENSIONS)
DIMENSION_NAMES = {d[0]: d[2] for d in DIMENSIONS}

HEADER_ALIASES: dict[str, str] = {
    normalise_header(alias): key
    for key, aliases in {
        "information": ("i", "information", "informasjon"),
        "technology": ("t", "technology", "teknologi"),
        "processes": ("p", "processes", "process", "prosesser", "prosess"),
        "objectives": ("o1", "objectives", "objectives and values", "mål", "mål og verdier"),
        "staffing": ("s", "staffing", "staffing and skills", "bemanning", "bemanning og kompetanse"),
        "management": (
            "m",
            "management",
            "management systems and structures",
            "styring",
            "styringssystemer og strukturer",
            "ledelse",
        ),
        "other_resources": (
            "o2",
            "other resources",
            "other resources: time and money",
            "andre ressurser",
            "andre ressurser: tid og penger",
            "tid og penger",
        ),
    }.items()
    for alias in aliases
}


@dataclass(frozen=True)
class Band:
    """Totals from ``start`` up to the next band's start share one likely outcome."""

    start: float
    outcome: str


@dataclass(frozen=True)
class ItposmoConfig:
    """Scale, concern thresholds and outcome bands (ascending by ``start``)."""

    scale_min: float = 0
    scale_max: float = 10
    dimension_concern_above: float = 5
    total_concern_above: float = 20
    bands: tuple[Band, ...] = ()

    def band(self, total: float) -> tuple[str, str]:
        """(range label, outcome) of the band ``total`` falls in."""
        max_total = self.scale_max * len(DIMENSIONS)
        for i, b in enumerate(self.bands):
            upper = self.bands[i + 1].start if i + 1 < len(self.bands) else None
            if total >= b.start and (upper is None or total < upper):
                hi = f"{upper - 1:g}" if upper is not None else f"{max_total:g}"
                return f"{b.start:g}–{hi}", b.outcome
        return "outside bands", "no band covers this total"


def load_itposmo_config(path: str | Path | None = None) -> ItposmoConfig:
    """The ITPOSMO configuration from ``path``, or the shipped defaults."""
    data = load_yaml(path) if path else load_preset("itposmo")
    name = Path(path).name if path else "preset itposmo.yaml"
    scale = data.get("scale") or {}
    if not isinstance(scale, dict):
        raise ConfigError(f"{name}: 'scale' must be a mapping with min and max")
    bands_raw = data.get("bands")
    if not isinstance(bands_raw, list) or not bands_raw:
        raise ConfigError(f"{name}: 'bands' must be a list of {{from: N, outcome: text}}")
    bands = []
    for i, b in enumerate(bands_raw, start=1):
        if not isinstance(b, dict) or "outcome" not in b:
            raise ConfigError(f"{name}: band {i} must have 'from' and 'outcome'")
        bands.append(Band(number(b, "from", f"{name} band {i}"), str(b["outcome"])))
    bands.sort(key=lambda b: b.start)
    if len({b.start for b in bands}) != len(bands):
        raise ConfigError(f"{name}: two bands start at the same total")
    cfg = ItposmoConfig(
        scale_min=number(scale, "min", name, 0),
        scale_max=number(scale, "max", name, 10),
        dimension_concern_above=number(data, "dimension_concern_above", name, 5),
        total_concern_above=number(data, "total_concern_above", name, 20),
        bands=tuple(bands),
    )
    if cfg.scale_max <= cfg.scale_min:
        raise ConfigError(f"{name}: scale max must be above scale min")
    if bands[0].start > cfg.scale_min * len(DIMENSIONS):
        raise ConfigError(
            f"{name}: the lowest band must start at {cfg.scale_min * len(DIMENSIONS):g} or below"
        )
    return cfg


@dataclass
class ItposmoResult:
    """One row per project (largest total first; projects with problems last) and the problems."""

    table: pd.DataFrame
    problems: list[AnalysisFinding] = field(default_factory=list)
    config: ItposmoConfig = field(default_factory=ItposmoConfig)


RESULT_COLUMNS = [
    "project",
    *DIMENSION_KEYS,
    "total",
    "band",
    "outcome",
    "concern",
    "total_concern",
    "concern_dimensions",
    "gaps_largest_first",
    "problem",
    "source",
]


def assess_itposmo(ratings: pd.DataFrame, config: ItposmoConfig | None = None) -> ItposmoResult:
    """Totals, bands and concerns for ``ratings`` (columns ``project``, the seven dimension keys,
    optional ``source`` per row, values numbers or number text)."""
    config = config or load_itposmo_config()
    problems: list[AnalysisFinding] = []
    rows = []
    for idx, (_, rec) in enumerate(ratings.iterrows()):
        project = rec.get("project")
        source = rec.get("source") if "source" in ratings.columns else ROW.format(row=idx + 1)
        if project is None or pd.isna(project) or not str(project).strip():
            problems.append(
                AnalysisFinding(
                    "error",
                    "no-project",
                    "Row has no project name",
                    frame=str(source),
                    field="project",
                    hint="Fill in the project column.",
                )
            )
            project = UNNAMED_ROW.format(row=idx + 1)
        values: dict[str, float | None] = {}
        bad: list[str] = []
        scale = f"{config.scale_min:g}–{config.scale_max:g}"
        for key in DIMENSION_KEYS:
            raw = rec.get(key)
            name = DIMENSION_NAMES[key]
            rating_problem = partial(
                AnalysisFinding,
                "error",
                frame=str(rec.get(f"{key}__where") or source),
                project_key=str(project),
                field=key,
            )
            if is_blank(raw):
                bad.append(f"{name} missing")
                problems.append(
                    rating_problem(
                        "missing-dimension",
                        f"{project}: rating for {name} is missing",
                        hint=f"Rate every dimension {scale}.",
                        details={"scale": scale},
                    )
                )
                values[key] = None
                continue
            try:
                v = parse_number(raw)
            except ValueError:
                bad.append(f"{name} not a number")
                problems.append(
                    rating_problem(
                        "not-a-number",
                        f"{project}: {name} = {raw!r} is not a number",
                        hint=f"Use a number {scale}.",
                        details={"value": raw, "scale": scale},
                    )
                )
                values[key] = None
                continue
            if not config.scale_min <= v <= config.scale_max:
                bad.append(f"{name} = {v:g} outside {scale}")
                problems.append(
                    rating_problem(
                        "out-of-scale",
                        f"{project}: {name} = {v:g} is outside {scale}",
                        hint="Correct the rating; the project is not totalled until then.",
                        details={"value": v, "scale": scale},
                    )
                )
            values[key] = v
        row: dict[str, Any] = {"project": str(project), **values, "source": source}
        if bad:
            row.update(
                total=None,
                band=None,
                outcome=None,
                concern=None,
                total_concern=None,
                concern_dimensions=[],
                gaps_largest_first=[],
                problem="; ".join(bad),
            )
        else:
            total = sum(v for v in values.values() if v is not None)
            band, outcome = config.band(total)
            order = sorted(DIMENSION_KEYS, key=lambda k: (-(values[k] or 0), DIMENSION_KEYS.index(k)))
            concern_dims = [k for k in order if (values[k] or 0) > config.dimension_concern_above]
            total_concern = total > config.total_concern_above
            row.update(
                total=total,
                band=band,
                outcome=outcome,
                concern=bool(concern_dims) or total_concern,
                total_concern=total_concern,
                concern_dimensions=concern_dims,
                gaps_largest_first=[(k, values[k]) for k in order],
                problem=None,
            )
        rows.append(row)
    table = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    if not table.empty:
        table["_bad"] = table["problem"].notna()
        table = table.sort_values(
            ["_bad", "total", "project"], ascending=[True, False, True], na_position="last"
        ).drop(columns="_bad")
    return ItposmoResult(table.reset_index(drop=True), problems, config)


def read_itposmo_file(path: str | Path) -> pd.DataFrame:
    """Ratings from a CSV/YAML file into the frame :func:`assess_itposmo` reads.

    Unknown or missing dimension columns raise :class:`InputFileError` (the whole file is wrong);
    bad cell values are left for :func:`assess_itposmo` to report per project.
    """
    name = Path(path).name

    def key_for(header: str, cell: Cell) -> str:
        norm = normalise_header(header)
        if norm == "o":
            raise InputFileError(
                f"{cell.where}: header 'O' is ambiguous (Objectives or Other resources)",
                hint="Use O1 (objectives and values) and O2 (other resources: time and money).",
            )
        key = HEADER_ALIASES.get(norm)
        if key is None:
            raise InputFileError(
                f"{cell.where}: unknown column {header!r}",
                hint="Accepted: project, I, T, P, O1, S, M, O2 or the dimension names (see 'veiviser itposmo --help').",
            )
        return key

    records = read_project_records(path, key_for)
    for key in DIMENSION_KEYS:
        if not any(key in r for r in records):
            raise InputFileError(
                f"{name}: column for {DIMENSION_NAMES[key]} is missing",
                hint="The file needs all seven: I, T, P, O1, S, M, O2 (or their names).",
            )
    return pd.DataFrame(records)

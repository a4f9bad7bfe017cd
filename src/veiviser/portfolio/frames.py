"""The input frames the analytics read, documented and validated in one place.

The nightly sync delivers one DataFrame per kind of row, consolidated from every project site.
Columns carry the SharePoint internal names (``Gt…``, see ``docs/data-model.md``)
plus a few keys added by the sync:

- ``project_key``: the project site id (``GtSiteId``); ``project_title``: the project's title;
- ``source_key``: a portfolio-wide unique key of the row (e.g. ``<site id>:<list>:<item id>``);
- ``item_id``: the SharePoint list item id on the project site;
- resolved lookups: ``benefit_key`` on indicators (from ``GtGainLookup``), ``indicator_key`` and
  ``benefit_key`` on measurements (from ``GtMeasureIndicatorLookup``), all holding ``source_key``
  values of the target rows.

:func:`prepare` checks the required columns (a clear :class:`FrameError` naming the frame and the
column), adds missing optional columns as empty, coerces numbers, dates and phases, and reports
unreadable cell values as findings. If the sync names a column differently, add one entry to
:data:`COLUMN_RENAMES`; nothing else needs to change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.findings import AnalysisFinding
from veiviser.schemas import parsing
from veiviser.schemas.catalog import catalogue
from veiviser.schemas.names import F, Kind


class FrameError(VeiviserError):
    """An input frame lacks a required column or is not a DataFrame."""


@dataclass(frozen=True)
class FrameSpec:
    """Expected columns of one input frame, by kind of value."""

    name: str
    required: tuple[str, ...]
    text: tuple[str, ...] = ()
    numbers: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    booleans: tuple[str, ...] = ()
    people: tuple[str, ...] = ()  # User fields: a display string or a dict from the REST API
    phases: tuple[str, ...] = ()
    extra_ok: bool = True  # other columns are kept as they are
    description: str = ""

    def __post_init__(self) -> None:
        # Plain strings, so enum members never become DataFrame column labels.
        object.__setattr__(self, "name", str(self.name))
        for group in ("required", "text", "numbers", "dates", "booleans", "people", "phases"):
            object.__setattr__(self, group, tuple(str(c) for c in getattr(self, group)))

    @property
    def optional(self) -> tuple[str, ...]:
        """All documented columns that may be absent."""
        cols = self.text + self.numbers + self.dates + self.booleans + self.people + self.phases
        return tuple(c for c in dict.fromkeys(cols) if c not in self.required)


_ROW_KEYS = ("project_key", "source_key", "item_id")


def _source_spec(kind: Kind, description: str, required: tuple[str, ...], text: tuple[str, ...]) -> FrameSpec:
    """The frame of a source kind: its synced fields by type, from the field catalogue.

    ``text`` are the columns the sync adds in front of the list's own text columns; lookups are
    left out (the sync delivers their resolved keys, e.g. ``benefit_key``).
    """
    lst = catalogue().source(kind)
    synced = [f for f in lst.synced_fields if not f.is_lookup]
    return FrameSpec(
        name=str(kind),
        description=description,
        required=required,
        text=text + tuple(f.name for f in synced if f.is_text),
        numbers=tuple(f.name for f in synced if f.is_number),
        dates=tuple(f.name for f in synced if f.is_date),
        booleans=tuple(f.name for f in synced if f.is_boolean),
        people=tuple(f.name for f in synced if f.is_person),
        phases=tuple(f.name for f in synced if f.phase),
    )


_SPECS: tuple[FrameSpec, ...] = (
    FrameSpec(
        name=Kind.PROJECTS,
        description="One row per project (hub list Prosjekter / Prosjektegenskaper).",
        required=("project_key", "project_title"),
        text=(
            F.PROJECT_NUMBER,
            F.PROJECT_LIFECYCLE_STATUS,
            F.PROJECT_SERVICE_AREA_TEXT,
            F.PROJECT_TYPE_TEXT,
            F.SITE_URL,
            F.GROUP_ID,
        ),
        dates=(F.START_DATE, F.END_DATE, F.LAST_SYNC_TIME),
        people=(F.PROJECT_MANAGER, F.PROJECT_OWNER, F.GAINS_RESPONSIBLE),
        phases=(F.PROJECT_PHASE,),
    ),
    _source_spec(
        Kind.RISKS,
        "Usikkerhet: risks (ContentType «Risiko») and opportunities («Mulighet»).",
        required=(*_ROW_KEYS, "Title", "ContentType"),
        text=("project_title",),
    ),
    # GtStakeholderInfluencePossibilty is misspelt in PP365; kept.
    _source_spec(
        Kind.STAKEHOLDERS, "Interessentregister.", required=(*_ROW_KEYS, "Title"), text=("project_title",)
    ),
    _source_spec(
        Kind.BENEFITS,
        "Gevinstanalyse og gevinstrealiseringsplan.",
        required=(*_ROW_KEYS, "Title"),
        text=("project_title",),
    ),
    _source_spec(
        Kind.INDICATORS,
        "Måleindikatorer; benefit_key = resolved GtGainLookup.",
        required=(*_ROW_KEYS, "Title", "benefit_key"),
        text=("project_title",),
    ),
    _source_spec(
        Kind.MEASUREMENTS,
        "Gevinstoppfølging; indicator_key = resolved GtMeasureIndicatorLookup.",
        required=(*_ROW_KEYS, "indicator_key"),
        text=("project_title", "Title", "benefit_key"),
    ),
    FrameSpec(
        name="history",
        description=(
            "Row versions: one row per version of a row (kind = risks, benefits, indicators, …), "
            "valid_from/valid_to (NaT = current), deleted flag, and the row's values as columns."
        ),
        required=("source_key", "kind", "valid_from", "valid_to", "deleted"),
        text=("project_key", "project_title", "Title", "ContentType", F.RISK_STATUS),
        dates=("valid_from", "valid_to"),
        booleans=("deleted",),
    ),
)
FRAME_SPECS: dict[str, FrameSpec] = {spec.name: spec for spec in _SPECS}

#: Per frame: {name the sync delivers: name used here}. The one place to adapt to the sync.
COLUMN_RENAMES: dict[str, dict[str, str]] = {name: {} for name in FRAME_SPECS}

#: The phase labels in sort order (the PP365 term set «Fase»).
PHASES: tuple[str, ...] = parsing.PHASES


def is_missing(value: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and blank strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    if isinstance(value, dict | list | tuple):
        return len(value) == 0
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


#: A phase label from a Choice string, a taxonomy dict or ``"[-1;#]Label|guid"`` text.
normalise_phase = parsing.phase_label
#: A display name for a User field value: text, a dict with Title/EMail/LoginName, or a list.
person_name = parsing.person_name


def _to_bool(value: Any) -> Any:
    if is_missing(value):
        return pd.NA
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "ja", "sann"}:
        return True
    if text in {"0", "false", "no", "nei", "usann"}:
        return False
    return pd.NA


@dataclass
class _Coercer:
    spec: FrameSpec
    findings: list[AnalysisFinding] = field(default_factory=list)

    def bad(self, df: pd.DataFrame, mask: pd.Series, column: str, what: str) -> None:
        for idx in df.index[mask]:
            row = df.loc[idx]
            self.findings.append(
                AnalysisFinding(
                    "warning",
                    "unreadable-value",
                    f"{column} is not a {what}: {df.at[idx, column]!r}; treated as missing",
                    frame=self.spec.name,
                    project_key=_str_or_none(row.get("project_key")),
                    item=_str_or_none(row.get("source_key", row.get("item_id"))),
                    field=column,
                    hint=f"Correct the value in the list on the project site so that it is a {what}.",
                    details={"value": df.at[idx, column], "kind": what},
                )
            )


def _str_or_none(value: Any) -> str | None:
    return None if is_missing(value) else str(value)


def prepare(
    name: str,
    frame: pd.DataFrame | None,
    *,
    findings: list[AnalysisFinding] | None = None,
    renames: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Validate and normalise input frame ``name``; returns a new frame, never modifies the input.

    ``None`` counts as an empty frame. Missing required columns raise :class:`FrameError`; missing
    optional columns are added as empty. Unreadable numbers/dates become missing and are appended
    to ``findings`` (when given). People become display names, phases become labels.
    """
    if name not in FRAME_SPECS:
        raise FrameError(f"Unknown input frame {name!r}; expected one of {', '.join(FRAME_SPECS)}")
    spec = FRAME_SPECS[name]
    if frame is None:
        frame = pd.DataFrame()
    if not isinstance(frame, pd.DataFrame):
        raise FrameError(f"Input frame {name!r} must be a pandas DataFrame, not {type(frame).__name__}")
    df = frame.rename(columns={**COLUMN_RENAMES.get(name, {}), **(renames or {})}).copy()
    if df.empty and len(df.columns) == 0:
        df = pd.DataFrame(columns=list(spec.required))
    missing = [c for c in spec.required if c not in df.columns]
    if missing:
        raise FrameError(
            f"Input frame {name!r} lacks required column(s): {', '.join(missing)}",
            hint=(
                f"Columns present: {', '.join(map(str, df.columns)) or 'none'}. If the sync names them "
                f"differently, add the mapping to veiviser.portfolio.frames.COLUMN_RENAMES[{name!r}]."
            ),
        )
    for col in spec.optional:
        if col not in df.columns:
            df[col] = pd.NA
    coercer = _Coercer(spec)
    for col in spec.numbers:
        raw = df[col]
        blank = raw.map(is_missing)
        num = raw.where(~blank, None).map(parsing.to_number).astype("float64")  # "1 151,5" too
        coercer.bad(df, num.isna() & ~blank, col, "number")
        df[col] = num
    for col in spec.dates:
        raw = df[col]
        dates = pd.to_datetime(
            raw.where(~raw.map(is_missing), None), errors="coerce", utc=True, format="mixed"
        )
        coercer.bad(df, dates.isna() & ~raw.map(is_missing), col, "date")
        df[col] = dates.dt.tz_localize(None)
    for col in spec.booleans:
        df[col] = df[col].map(_to_bool).astype("boolean")
    for col in spec.people:
        # pd.NA first: parsing.person_name would print it as the name "<NA>"
        df[col] = df[col].map(lambda v: None if is_missing(v) else person_name(v)).astype("object")
    for col in spec.phases:
        df[col] = df[col].map(normalise_phase).astype("object")
    for col in ("project_key", "source_key", "item_id", "benefit_key", "indicator_key"):
        if col in df.columns:
            df[col] = df[col].map(_str_or_none).astype("object")
    if findings is not None:
        findings.extend(coercer.findings)
    return df.reset_index(drop=True)


def to_timestamp(value: Any, what: str = "as_of") -> pd.Timestamp:
    """A tz-naive Timestamp from a date/datetime/str; a clear error if unreadable."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise VeiviserError(f"{what} is not a date: {value!r}", hint="Use YYYY-MM-DD.") from exc
    if pd.isna(ts):
        raise VeiviserError(f"{what} is missing", hint="Give an explicit date, YYYY-MM-DD.")
    return ts.tz_convert(None) if ts.tzinfo else ts

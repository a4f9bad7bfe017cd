"""The portfolio dataset: everything the report writers read, in one object.

The nightly sync (or a test, or the demo) builds a :class:`PortfolioDataset` and hands it to
:func:`veiviser.portfolio.reports.write_reports`. It holds:

- the consolidated frames named in :data:`veiviser.portfolio.frames.FRAME_SPECS` (``projects``,
  ``risks``, ``stakeholders``, ``benefits``, ``indicators``, ``measurements``) as they are at
  ``as_of``, with the columns documented in :mod:`veiviser.portfolio.frames`;
- ``history``: every version of every row (the ``history`` frame spec: ``source_key``, ``kind``,
  ``valid_from``, ``valid_to``, ``deleted`` and the row's values);
- ``as_of``: the moment every figure is computed for (explicit, never "now");
- optional board inputs: ITPOSMO ratings (``project`` + the seven dimension keys) and
  prioritisation ratings (``project`` + one column per criterion of ``priority_model``). When they
  are not given, they are read from project columns ``itposmo_<dimension>`` and
  ``priority_<criterion>`` on the projects frame, if present.

:meth:`PortfolioDataset.from_directory` reads the same from a folder of CSV/Parquet files (one per
frame) plus ``dataset.json`` (as_of, title), e.g. an export of the sync's store.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.frames import is_missing, to_timestamp
from veiviser.portfolio.inputs import normalise_header
from veiviser.portfolio.itposmo import DIMENSION_KEYS, ItposmoConfig, load_itposmo_config
from veiviser.portfolio.prioritisation import PriorityModel, load_model

#: The frames a dataset carries besides the history.
DATA_FRAMES: tuple[str, ...] = ("projects", "risks", "stakeholders", "benefits", "indicators", "measurements")
ITPOSMO_PREFIX = "itposmo_"
PRIORITY_PREFIX = "priority_"


class DatasetError(VeiviserError):
    """A dataset (folder or object) is incomplete or unreadable; the message names the file."""

    exit_code = 2


def _empty() -> pd.DataFrame:
    return pd.DataFrame()


@dataclass
class PortfolioDataset:
    """Consolidated portfolio frames, their history and the as-of date of every figure."""

    as_of: pd.Timestamp
    projects: pd.DataFrame = field(default_factory=_empty)
    risks: pd.DataFrame = field(default_factory=_empty)
    stakeholders: pd.DataFrame = field(default_factory=_empty)
    benefits: pd.DataFrame = field(default_factory=_empty)
    indicators: pd.DataFrame = field(default_factory=_empty)
    measurements: pd.DataFrame = field(default_factory=_empty)
    history: pd.DataFrame = field(default_factory=_empty)
    itposmo: pd.DataFrame | None = None
    priorities: pd.DataFrame | None = None
    priority_model: PriorityModel | None = None
    itposmo_config: ItposmoConfig | None = None
    title: str = "Porteføljerapport"
    source: str = ""  # where the data came from (hub URL, store), shown in the report

    def __post_init__(self) -> None:
        self.as_of = to_timestamp(self.as_of)
        for name in (*DATA_FRAMES, "history"):
            value = getattr(self, name)
            if value is None:
                setattr(self, name, pd.DataFrame())
            elif not isinstance(value, pd.DataFrame):
                raise DatasetError(
                    f"Dataset frame {name!r} must be a pandas DataFrame, not {type(value).__name__}"
                )

    def model(self) -> PriorityModel:
        """The prioritisation model (default: the shipped Trondheim preset)."""
        return self.priority_model or load_model("trondheim")

    def itposmo_settings(self) -> ItposmoConfig:
        """The ITPOSMO bands and thresholds (default: the shipped preset)."""
        return self.itposmo_config or load_itposmo_config()

    def _project_titles(self) -> pd.Series:
        p = self.projects
        if p.empty or "project_title" not in p.columns:
            return pd.Series(dtype=object)
        return p["project_title"]

    def itposmo_ratings(self) -> pd.DataFrame | None:
        """ITPOSMO ratings, given or read from ``itposmo_<dimension>`` project columns; None if none."""
        if self.itposmo is not None:
            return self.itposmo
        cols = [f"{ITPOSMO_PREFIX}{k}" for k in DIMENSION_KEYS]
        p = self.projects
        if p.empty or not any(c in p.columns for c in cols):
            return None
        rated = p[[c for c in cols if c in p.columns]].apply(
            lambda r: not all(is_missing(v) for v in r), axis=1
        )
        p = p[rated]
        out = pd.DataFrame({"project": self._project_titles().loc[p.index].values})
        for key, col in zip(DIMENSION_KEYS, cols, strict=True):
            out[key] = p[col].values if col in p.columns else None
        out["source"] = "projects"  # the projects frame; each row's project names it
        return out

    def priority_ratings(self) -> pd.DataFrame | None:
        """Prioritisation ratings, given or read from ``priority_<criterion>`` project columns.

        ``<criterion>`` matches the model's criterion names without regard to case (the hub keys
        them ``strategi``; the model names them «Strategi»); a column matching none keeps its name.
        """
        if self.priorities is not None:
            return self.priorities
        p = self.projects
        cols = [c for c in p.columns if str(c).startswith(PRIORITY_PREFIX)]
        if p.empty or not cols:
            return None
        rated = p[cols].apply(lambda r: not all(is_missing(v) for v in r), axis=1)
        p = p[rated]
        out = pd.DataFrame({"project": self._project_titles().loc[p.index].values})
        names = {normalise_header(c.name): c.name for c in self.model().criteria}
        for col in cols:
            key = col[len(PRIORITY_PREFIX) :]
            out[names.get(normalise_header(key), key)] = p[col].values
        out["source"] = "projects"
        return out

    @classmethod
    def from_directory(cls, path: str | Path) -> PortfolioDataset:
        """Read ``<frame>.parquet`` or ``<frame>.csv`` (UTF-8) per frame and ``dataset.json``.

        ``dataset.json`` must give ``as_of``; it may give ``title``, ``source``, ``priority_model``
        (preset name or a YAML path relative to the folder) and ``itposmo_bands`` (YAML path).
        Optional ``itposmo.csv`` and ``priorities.csv`` hold board ratings. Absent frames are empty.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise DatasetError(
                f"{folder}: dataset folder not found",
                hint="Give a folder with dataset.json and one file per frame.",
            )
        meta_path = folder / "dataset.json"
        if not meta_path.is_file():
            raise DatasetError(
                f"{meta_path}: missing", hint='Create it with at least {"as_of": "YYYY-MM-DD"}.'
            )
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8-sig"))
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{meta_path}, line {exc.lineno}: not valid JSON: {exc.msg}") from exc
        if not isinstance(meta, dict) or "as_of" not in meta:
            raise DatasetError(
                f"{meta_path}: needs an 'as_of' date", hint='Example: {"as_of": "2025-06-30"}.'
            )
        frames = {
            name: _read_frame(folder, name) for name in (*DATA_FRAMES, "history", "itposmo", "priorities")
        }
        model = meta.get("priority_model")
        bands = meta.get("itposmo_bands")
        return cls(
            as_of=meta["as_of"],
            **{n: _or_empty(frames[n]) for n in (*DATA_FRAMES, "history")},
            itposmo=frames["itposmo"],
            priorities=frames["priorities"],
            priority_model=load_model(
                model if model in (None, "trondheim") or Path(model).is_absolute() else folder / model
            )
            if model
            else None,
            itposmo_config=load_itposmo_config(folder / bands) if bands else None,
            title=str(meta.get("title", "Porteføljerapport")),
            source=str(meta.get("source", str(folder))),
        )

    def to_directory(self, path: str | Path) -> Path:
        """Write the dataset as Parquet files plus ``dataset.json`` (readable by :meth:`from_directory`)."""
        folder = Path(path)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            for name in (*DATA_FRAMES, "history"):
                _plain(getattr(self, name)).to_parquet(folder / f"{name}.parquet", index=False)
            for name in ("itposmo", "priorities"):
                frame = getattr(self, name)
                if frame is not None:
                    _plain(frame).to_parquet(folder / f"{name}.parquet", index=False)
            meta = {"as_of": self.as_of.isoformat(), "title": self.title, "source": self.source}
            (folder / "dataset.json").write_text(
                json.dumps(meta, ensure_ascii=False, indent=2), encoding="utf-8"
            )
        except OSError as exc:
            raise DatasetError(
                f"{folder}: cannot write the dataset: {exc.strerror or exc}",
                hint="Choose a folder you can write to.",
            ) from exc
        return folder


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Nested values (dicts/lists from the REST API) as JSON text, so Parquet can store them."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object and out[col].map(lambda v: isinstance(v, dict | list | tuple)).any():
            out[col] = out[col].map(
                lambda v: (
                    json.dumps(v, ensure_ascii=False, default=str)
                    if isinstance(v, dict | list | tuple)
                    else v
                )
            )
    return out


def _or_empty(frame: pd.DataFrame | None) -> pd.DataFrame:
    return frame if frame is not None else pd.DataFrame()


def _read_frame(folder: Path, name: str) -> pd.DataFrame | None:
    parquet, csv = folder / f"{name}.parquet", folder / f"{name}.csv"
    try:
        if parquet.is_file():
            return pd.read_parquet(parquet)
        if csv.is_file():
            return pd.read_csv(csv, encoding="utf-8-sig", dtype=object, keep_default_na=False, na_values=[""])
    except (OSError, ValueError) as exc:
        target = parquet if parquet.is_file() else csv
        raise DatasetError(
            f"{target}: cannot read frame {name!r}: {exc}", hint="Re-export the file."
        ) from exc
    return None

"""Report writers for the portfolio office: Excel workbook, Power BI star schema, HTML report.

:func:`write_reports` computes every view once (:mod:`.views`) and writes, into ``out_dir``:

- ``portefoljerapport.xlsx`` (:mod:`.excel`),
- ``portefoljerapport.html`` (:mod:`.html`; one self-contained file),
- ``powerbi/<table>.parquet`` and ``powerbi/<table>.csv`` (:mod:`.starschema`).

Each file is written to a temporary name in the same folder and renamed when complete, so a
failure never leaves a half-written report next to a good old one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import pandas as pd

from veiviser.errors import VeiviserError
from veiviser.portfolio.dataset import PortfolioDataset
from veiviser.portfolio.reports.excel import build_workbook
from veiviser.portfolio.reports.html import render_html
from veiviser.portfolio.reports.starschema import TABLES, build_star_schema, write_csv
from veiviser.portfolio.reports.views import ReportViews, build_views

EXCEL_NAME = "portefoljerapport.xlsx"
HTML_NAME = "portefoljerapport.html"
STAR_DIR = "powerbi"


class OutputError(VeiviserError):
    """The output folder cannot be created or written."""

    exit_code = 2


@dataclass
class ReportPaths:
    """Where the report files were written."""

    out_dir: Path
    excel: Path
    html: Path
    star_dir: Path
    parquet: dict[str, Path] = field(default_factory=dict)
    csv: dict[str, Path] = field(default_factory=dict)
    findings: int = 0

    def all_files(self) -> list[Path]:
        return [self.excel, self.html, *self.parquet.values(), *self.csv.values()]


def _unwritable(path: Path, exc: OSError) -> OutputError:
    return OutputError(
        f"Cannot write the report to {path}: {exc.strerror or exc}",
        hint="Choose another folder with --out, or give yourself write access to this one.",
    )


def _prepare_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".veiviser-probe-", dir=path)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    if not path.is_dir():
        raise OutputError(f"{path} is not a folder", hint="Give a folder path with --out.")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    table.to_parquet(path, index=False)


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    """Write via ``write(tmp)`` to a temp file beside ``path``, then rename it into place."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        # mkstemp creates 0600; a report is an ordinary file, so give it the mode the umask allows.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _unwritable(path, exc) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_reports(
    dataset: PortfolioDataset, out_dir: str | Path, *, since: object | None = None
) -> ReportPaths:
    """Write the Excel workbook, the HTML report and the Power BI star schema for ``dataset``.

    ``since``: start of "changes since" (a date; default 30 days before ``dataset.as_of``).
    Raises :class:`OutputError` naming the path when the folder cannot be written.
    """
    views = build_views(dataset, since=since)
    return write_views(views, out_dir)


def write_views(views: ReportViews, out_dir: str | Path) -> ReportPaths:
    """Write all outputs for already computed ``views`` (see :func:`write_reports`)."""
    out = Path(out_dir)
    _prepare_dir(out)
    star = out / STAR_DIR
    _prepare_dir(star)
    paths = ReportPaths(out, out / EXCEL_NAME, out / HTML_NAME, star, findings=len(views.findings))
    schema = build_star_schema(views)
    for name in TABLES:
        table = schema.tables[name]
        paths.parquet[name] = _atomic(star / f"{name}.parquet", partial(_write_parquet, table))
        paths.csv[name] = _atomic(star / f"{name}.csv", partial(write_csv, table))
    workbook = build_workbook(views)
    _atomic(paths.excel, workbook.save)
    document = render_html(views)
    _atomic(paths.html, lambda p: p.write_text(document, encoding="utf-8"))
    return paths


__all__ = ["OutputError", "ReportPaths", "build_views", "write_reports", "write_views"]

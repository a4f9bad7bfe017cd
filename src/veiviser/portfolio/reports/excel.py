"""The Excel workbook: one sheet per view, real number/date/percent formats, frozen headers, filters.

Percentages are stored as fractions with a percent format (Excel's own convention), computed
from the analytics' unrounded value, so ``=A2*100`` gives back the exact achievement. An empty
view gets one explicit «Ingen data» row instead of a blank sheet.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from veiviser.portfolio.reports.inert import make_cells_inert
from veiviser.portfolio.reports.tables import (
    BOOL,
    DATE,
    DATETIME,
    INT,
    NUMBER,
    PERCENT,
    ViewTable,
    plain,
    view_tables,
)
from veiviser.portfolio.reports.views import ReportViews

NO_DATA = "Ingen data"
NUMBER_FORMATS = {
    INT: "#,##0",
    NUMBER: "#,##0.##########",  # no visible rounding of stored values
    PERCENT: "0.0%",
    DATE: "yyyy-mm-dd",
    DATETIME: "yyyy-mm-dd hh:mm",
}
_HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
_HEADER_FONT = Font(bold=True, color="FFFFFF")
_MAX_WIDTH = 60


def build_workbook(views: ReportViews) -> Workbook:
    """The workbook for ``views`` (not yet saved)."""
    wb = Workbook()
    about = wb.active
    about.title = "Om rapporten"
    tables = view_tables(views)
    _about_sheet(about, views, tables)
    for table in tables:
        _sheet(wb, table)
    make_cells_inert(wb)  # text from SharePoint never becomes a formula (docs/portfolio.md)
    return wb


def write_workbook(views: ReportViews, path: Path) -> Path:
    """Build and save the workbook at ``path``."""
    build_workbook(views).save(path)
    return path


def _about_sheet(ws: Worksheet, views: ReportViews, tables: list[ViewTable]) -> None:
    rows = [
        ("Rapport", views.title),
        ("Data per", views.as_of.to_pydatetime()),
        ("Endringer siden", views.since.to_pydatetime()),
        ("Kilde", views.source or ""),
        ("Laget", datetime.now().replace(microsecond=0)),
        ("Antall funn i datakvalitet", len(views.findings)),
    ]
    ws.append(["Felt", "Verdi"])
    for label, value in rows:
        ws.append([label, value])
        if isinstance(value, datetime):
            ws.cell(ws.max_row, 2).number_format = "yyyy-mm-dd hh:mm" if label == "Laget" else "yyyy-mm-dd"
    for table in tables:  # what each sheet shows, and how to read it
        ws.append([f"Ark «{table.sheet}»", f"{table.title}. {table.note}".strip()])
    _style_header(ws, 2)
    ws.column_dimensions["A"].width = 32
    ws.column_dimensions["B"].width = 100
    ws.freeze_panes = "A2"


def _style_header(ws: Worksheet, ncols: int) -> None:
    for col in range(1, ncols + 1):
        cell = ws.cell(1, col)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=False)


def _sheet(wb: Workbook, table: ViewTable) -> None:
    ws = wb.create_sheet(table.sheet[:31])
    ws.append([c.label for c in table.columns])
    _style_header(ws, len(table.columns))
    widths = [len(c.label) + 2 for c in table.columns]
    records = table.records()
    if not records:
        ws.append([NO_DATA] + [None] * (len(table.columns) - 1))
        ws.cell(2, 1).font = Font(italic=True)
        widths[0] = max(widths[0], len(NO_DATA) + 2)
    for values in records:
        row = []
        for col, value in zip(table.columns, values, strict=True):
            if col.fmt == PERCENT and isinstance(value, int | float) and not isinstance(value, bool):
                value = value / 100.0
            if col.fmt == BOOL and value is not None:
                value = bool(value)
            row.append(value)
        ws.append(row)
        r = ws.max_row
        for i, (col, value) in enumerate(zip(table.columns, row, strict=True), start=1):
            fmt = NUMBER_FORMATS.get(col.fmt)
            if fmt and value is not None:
                ws.cell(r, i).number_format = fmt
            widths[i - 1] = max(widths[i - 1], _width(value, col.fmt))
    ncols = len(table.columns)
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(ncols)}{max(ws.max_row, 2)}"
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = min(max(w, 8), _MAX_WIDTH)


def _width(value: object, fmt: str) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime | date):
        return 12 if fmt != DATETIME else 17
    if isinstance(value, float):
        return min(len(f"{value:,.2f}") + 2, 20)
    return len(str(value)) + 2


__all__ = ["NO_DATA", "build_workbook", "plain", "write_workbook"]

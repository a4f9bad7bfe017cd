"""Keeping the report files inert: text from SharePoint never runs as a formula or a script.

Titles, descriptions and names in the reports come from project sites anyone on the project can
edit, so a title like ``=HYPERLINK("http://…")`` or ``<script>`` must reach the reader as text
(``docs/portfolio.md``, "Reports stay inert"):

- the HTML report escapes all text and carries a Content-Security-Policy that forbids scripts,
  frames, forms and every network fetch (:data:`CONTENT_SECURITY_POLICY`);
- the workbook stores every cell as a value, never as a formula (:func:`make_cells_inert`), and
  marks text that starts with a formula character as text for Excel's editor too;
- the CSV files, which people open in Excel, follow OWASP's guidance on CSV injection: text that
  starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, and
  every field is quoted (:func:`csv_safe_frame`). Numbers stay numbers; Parquet keeps every value
  exactly as it was.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from openpyxl import Workbook

#: Characters that make Excel (and LibreOffice, Google Sheets) read a cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

#: The HTML report's policy: inline styles and ``data:`` images only; no script, frame, form,
#: font, connection or base URL of any kind.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
)


def starts_like_formula(value: Any) -> bool:
    """Whether ``value`` is text a spreadsheet would read as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def csv_safe(value: Any) -> Any:
    """``value`` with a leading apostrophe when it is text that starts like a formula."""
    return "'" + value if starts_like_formula(value) else value


def csv_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns are :func:`csv_safe`; numeric columns untouched."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
            out[col] = series.map(csv_safe, na_action="ignore").astype(series.dtype)
    return out


def make_cells_inert(wb: Workbook) -> None:
    """Turn every would-be formula in ``wb`` into text and mark formula-like text as text.

    openpyxl stores a string starting with ``=`` as a formula; the report never writes formulas,
    so each such cell becomes a plain string. ``quotePrefix`` is Excel's own "this is text" flag
    (what typing a leading apostrophe sets), so editing the cell keeps it text as well.
    """
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
                if starts_like_formula(cell.value):
                    cell.quotePrefix = True


__all__ = [
    "CONTENT_SECURITY_POLICY",
    "FORMULA_PREFIXES",
    "csv_safe",
    "csv_safe_frame",
    "make_cells_inert",
    "starts_like_formula",
]

"""Reading small rating files (CSV or YAML) with every value located by file, line and column.

Used by ``veiviser itposmo`` and ``veiviser prioritise``. A file is one row per project:

- CSV: a header row, then one row per project; separator ``;``, ``,`` or tab (detected from the
  header); UTF-8 (with or without BOM); blank lines and lines starting with ``#`` are skipped;
  numbers may use a decimal comma and spaces as thousands separators.
- YAML: a list of mappings (``- {project: A, Strategi: 3, …}``), or a mapping from project name to
  a mapping of ratings (``A: {Strategi: 3, …}``), optionally under a top-level ``projects:`` key.

Structural problems (unreadable file, no header, duplicate header, too many cells) raise
:class:`InputFileError` naming the file and line; cell values are returned raw for the caller to
validate per project.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from veiviser.errors import VeiviserError
from veiviser.schemas.parsing import parse_decimal


class InputFileError(VeiviserError):
    """A rating file cannot be read; the message names the file and line."""

    exit_code = 2


@dataclass(frozen=True)
class Cell:
    """One raw value and where it came from."""

    value: Any
    where: str  # e.g. "ratings.csv, line 3, column Strategi"


@dataclass(frozen=True)
class Row:
    """One project row: raw cells by header as written, and the row's location."""

    where: str  # e.g. "ratings.csv, line 3"
    cells: dict[str, Cell]


def normalise_header(text: object) -> str:
    """Header for matching: lower case, accents kept for æøå, punctuation and spacing collapsed."""
    s = unicodedata.normalize("NFC", str(text)).casefold()
    s = re.sub(r"[^\wæøå]+", " ", s).replace("_", " ")
    return " ".join(s.split())


def parse_number(value: Any) -> float:
    """A float from a number or text like ``"1 234,5"`` / ``"3.5"``; ValueError if not a number.

    The formats are those of :func:`veiviser.schemas.parsing.parse_decimal`; an empty cell is not a
    number here (the callers check for blanks first).
    """
    number = parse_decimal(value)
    if number is None:
        raise ValueError(f"{value!r} is not a number")
    return float(number)


def read_rows(path: str | Path) -> list[Row]:
    """The data rows of a CSV or YAML rating file (by suffix; ``.yml``/``.yaml`` are YAML)."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: file not found", hint="Give the path of a CSV or YAML file.")
    try:
        text = p.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{p}: not UTF-8 text (byte {exc.start})", hint="Save the file as UTF-8."
        ) from exc
    if p.suffix.lower() in (".yml", ".yaml"):
        return _read_yaml(p.name, text)
    return _read_csv(p.name, text)


def _read_csv(name: str, text: str) -> list[Row]:
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise InputFileError(f"{name}: the file is empty", hint="Add a header row and one row per project.")
    header_line_no, header_line = lines[0]
    delimiter = max(";,\t", key=header_line.count)
    if header_line.count(delimiter) == 0:
        delimiter = ";"
    parsed = []
    for n, line in lines:
        try:
            cells = next(csv.reader(io.StringIO(line), delimiter=delimiter))
        except csv.Error as exc:
            raise InputFileError(f"{name}, line {n}: {exc}", hint="Check quoting in this line.") from exc
        parsed.append((n, [c.strip() for c in cells]))
    header = parsed[0][1]
    seen: dict[str, str] = {}
    for i, h in enumerate(header, start=1):
        if not h:
            raise InputFileError(
                f"{name}, line {header_line_no}, column {i}: empty header", hint="Name every column."
            )
        key = normalise_header(h)
        if key in seen:
            raise InputFileError(
                f"{name}, line {header_line_no}: header {h!r} appears twice",
                hint="Remove or rename one column.",
            )
        seen[key] = h
    rows = []
    for n, cells in parsed[1:]:
        if len(cells) > len(header):
            raise InputFileError(
                f"{name}, line {n}: {len(cells)} cells but the header has {len(header)} columns",
                hint=f"Check the separator ({delimiter!r}) and quoting; values with the separator must be quoted.",
            )
        cells = cells + [""] * (len(header) - len(cells))
        rows.append(
            Row(
                f"{name}, line {n}",
                {h: Cell(c, f"{name}, line {n}, column {h}") for h, c in zip(header, cells, strict=True)},
            )
        )
    return rows


def _read_yaml(name: str, text: str) -> list[Row]:
    try:
        node: Any = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise InputFileError(
            f"{name}{where}: not valid YAML: {problem}", hint="Check indentation and quoting."
        ) from exc
    if isinstance(data, dict) and set(data) == {"projects"}:
        data = data["projects"]
        node = node.value[0][1]
    rows: list[Row] = []
    if isinstance(data, list):
        for entry, entry_node in zip(data, node.value, strict=True):
            line = entry_node.start_mark.line + 1
            if not isinstance(entry, dict):
                raise InputFileError(
                    f"{name}, line {line}: each entry must be a mapping of column: value",
                    hint="Write e.g. '- {project: A, I: 3}'.",
                )
            rows.append(_yaml_row(name, line, entry, entry_node))
    elif isinstance(data, dict):
        for (project, entry), (key_node, value_node) in zip(data.items(), node.value, strict=True):
            line = key_node.start_mark.line + 1
            if not isinstance(entry, dict):
                raise InputFileError(
                    f"{name}, line {line}: the ratings of {project!r} must be a mapping",
                    hint="Write e.g. 'A: {I: 3, T: 2}'.",
                )
            row = _yaml_row(name, line, entry, value_node)
            row.cells["project"] = Cell(project, f"{name}, line {line}")
            rows.append(row)
    elif data is None:
        raise InputFileError(f"{name}: the file is empty", hint="Add one entry per project.")
    else:
        raise InputFileError(
            f"{name}: expected a list or mapping of projects", hint="See 'veiviser itposmo --help'."
        )
    return rows


def _yaml_row(name: str, line: int, entry: dict[Any, Any], node: yaml.Node) -> Row:
    lines = {}
    if isinstance(node, yaml.MappingNode):
        lines = {k.value: k.start_mark.line + 1 for k, _ in node.value}
    cells = {}
    for key, value in entry.items():
        header = str(key)
        cells[header] = Cell(value, f"{name}, line {lines.get(header, line)}, key {header}")
    return Row(f"{name}, line {line}", cells)


PROJECT_HEADERS = {
    "project",
    "prosjekt",
    "prosjektnavn",
    "project name",
    "project title",
    "name",
    "navn",
    "title",
    "tittel",
}


def project_cell(row: Row) -> Cell | None:
    """The row's project-name cell, by any accepted header (project, prosjekt, navn, title, …)."""
    for header, cell in row.cells.items():
        if normalise_header(header) in PROJECT_HEADERS:
            return cell
    return None


def read_project_records(
    path: str | Path, key_for: Callable[[str, Cell], str | None]
) -> list[dict[str, Any]]:
    """One record per row of a ratings file: ``source``, ``project`` and, for every other cell that
    ``key_for(header, cell)`` maps to a key, ``key`` and ``key__where`` (``None`` skips the cell).

    Raises :class:`InputFileError` when the file has no rows or no project column.
    """
    name = Path(path).name
    records: list[dict[str, Any]] = []
    for row in read_rows(path):
        pc = project_cell(row)
        rec: dict[str, Any] = {"source": row.where, "project": pc.value if pc else None}
        for header, cell in row.cells.items():
            if pc is not None and cell is pc:
                continue
            key = key_for(header, cell)
            if key is None:
                continue
            rec[key] = cell.value
            rec[f"{key}__where"] = cell.where
        records.append(rec)
    if not records:
        raise InputFileError(f"{name}: no project rows", hint="Add one row per project below the header.")
    if all(r["project"] is None for r in records):
        raise InputFileError(f"{name}: no project column", hint="Add a column named project (or prosjekt).")
    return records

"""Bulk project input: a municipality's project spreadsheet (CSV or .xlsx) read into ``ProjectSpec`` s.

``read_projects(path)`` accepts the file as the municipality keeps it (``docs/data-model.md``,
"Municipal project spreadsheets"; e.g. ``trondheim-portefolje-2018-2021.csv``): UTF-8 with or without BOM (or UTF-16 with BOM),
CRLF or LF, ``;``, ``,`` or tab as delimiter (sniffed from the header line), Norwegian numbers
(``1 151,5``), section rows such as «Pågående prosjekter» that apply to the rows below them, a
totals row («Sum»), and columns it does not know (kept in ``ProjectSpec.extra`` with a note).

Each row is validated on its own: a bad row becomes one or more :class:`RowProblem` s and is left
out; the valid rows proceed. Problems with the file as a whole (missing, unreadable, not UTF-8, no
title column) raise :class:`veiviser.errors.VeiviserError`.

Aliases follow :mod:`veiviser.schemas.aliases`. Within one file the first row to claim an alias
keeps it; a later row with the same alias (explicit, or derived from a title that differs only in
case, accents or punctuation) is reported, never renamed, so no row's alias depends on another row.

The module is longer than most (about 780 lines) because it is one reader of one file format:
the header mapping, the cell readers and the row validation share the reader's state and messages,
and splitting them would only move that state into arguments.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from veiviser.errors import VeiviserError
from veiviser.schemas.aliases import (
    alias_problem,
    alias_with_hash,
    ascii_words,
    derive_alias,
    normalize_title,
)
from veiviser.schemas.parsing import NumberFormatError, parse_decimal
from veiviser.schemas.project import (
    DEFAULT_PHASES,
    EMAIL_RE,
    LIFECYCLE_STATUSES,
    ProjectSpec,
    SourceLocation,
)

# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """One problem in one row: where (file, line, column), the offending value, and what to do."""

    file: str
    line: int
    column: str | None
    value: str | None
    message: str
    sheet: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}[{self.sheet}]" if self.sheet else self.file
        text = f"{where}, {'row' if self.sheet else 'line'} {self.line}"
        if self.column is not None:
            text += f", column «{self.column}»"
        if self.value is not None:
            shown = self.value if len(self.value) <= 80 else self.value[:77] + "..."
            text += f" (value {shown!r})"
        return f"{text}: {self.message}"


@dataclass(frozen=True)
class Section:
    """A section row (e.g. «Pågående prosjekter») and the lifecycle status it implies, if any."""

    title: str
    line: int
    lifecycle_status: str | None


@dataclass
class BulkInput:
    """The outcome of reading one file: valid projects, per-row problems, sections and notes."""

    file: str
    projects: list[ProjectSpec] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    """Rows that were read, but not as written: short rows, formulas with a saved result."""
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    """Header text → the field it was mapped to (``title``, ``cost:2019``, ``extra``…)."""
    sheet: str | None = None

    @property
    def ok(self) -> bool:
        """True when every row was valid."""
        return not self.problems

    @property
    def rejected_lines(self) -> list[int]:
        """Lines (or spreadsheet rows) left out because of problems, in order."""
        return sorted({p.line for p in self.problems})

    def render_problems(self) -> str:
        """Human-readable problem report for the CLI (warnings too); empty string when there are none."""
        warned = [f"  - {w}" for w in self.warnings]
        if warned:
            warned.insert(
                0, f"{len(self.warnings)} warning(s) in {self.file}; those rows were read as shown:"
            )
        if not self.problems:
            return "\n".join(warned)
        n_rows = len(self.rejected_lines)
        head = (
            f"{len(self.problems)} problem(s) in {n_rows} row(s) of {self.file}; "
            f"{'that row was' if n_rows == 1 else 'those rows were'} left out "
            f"({len(self.projects)} project(s) are valid):"
        )
        lines = [head, *(f"  - {p}" for p in self.problems)]
        lines.append("Fix the rows in the file and run the command again; valid rows are not affected.")
        return "\n".join([*lines, *warned])


# --- column mapping -----------------------------------------------------------------------------

_HEADER_NAMES: dict[str, set[str]] = {
    "title": {
        "tittel",
        "title",
        "prosjektnavn",
        "prosjekt navn",
        "prosjekt",
        "prosjekttittel",
        "navn",
        "name",
        "project",
        "project name",
        "project title",
    },
    "alias": {"alias", "nettstedsalias", "site alias", "url alias", "kortnavn", "short name"},
    "phase": {"fase", "phase", "prosjektfase", "project phase"},
    "leader": {"prosjektleder", "project leader", "project manager", "leder"},
    "owner": {"prosjekteier", "project owner", "eier", "owner"},
    "service_area": {"tjenesteomrade", "tjenesteomrader", "service area"},
    "unit": {"enhet", "unit", "ansvarlig enhet", "organisasjonsenhet", "avdeling", "department"},
    "start_year": {"startar", "start ar", "start year", "oppstartsar", "oppstart ar", "oppstart"},
    "status": {"status", "prosjektstatus", "lifecycle status", "livslopsstatus"},
    "comment": {"kommentar", "kommentarer", "comment", "comments", "merknad", "merknader", "notes"},
}
# Trondheim's title column is «Søknader for 2018-2021» (applications for the plan period).
_TITLE_PATTERN = re.compile(r"^soknad(?:er)?\b")
# «Drift 2018» … «Drift 2021»: yearly operating cost in NOK thousands (docs/data-model.md).
_COST_PATTERN = re.compile(
    r"^(?:drift|driftskostnad|driftskostnader|operating cost|operating costs|opex)\b.*?\b((?:19|20)\d{2})\b"
)
_FIELD_LABELS = {
    "title": "Tittel",
    "alias": "Alias",
    "phase": "Fase",
    "leader": "Prosjektleder",
    "owner": "Prosjekteier",
    "service_area": "Tjenesteområde",
    "unit": "Enhet",
    "start_year": "Startår",
    "status": "Status",
    "comment": "Kommentar",
}


def _fold(text: str) -> str:
    """Case- and accent-insensitive key: ASCII words joined by single spaces (æ→ae, ø→o, å→a)."""
    return " ".join(ascii_words(text))


def map_header(header: str) -> str | None:
    """The field a header names (``title``, ``unit``, ``cost:2019``…), or ``None`` if unknown."""
    key = _fold(header)
    if not key:
        return None
    for name, spellings in _HEADER_NAMES.items():
        if key in spellings:
            return name
    if _TITLE_PATTERN.match(key):
        return "title"
    match = _COST_PATTERN.match(key)
    if match:
        return f"cost:{match.group(1)}"
    return None


# --- value parsing ------------------------------------------------------------------------------


class _ValueError(Exception):
    """A cell value that cannot be used; the message says what to write instead."""


def parse_number(raw: Any) -> Decimal | None:
    """An exact Decimal from a cell: ``1 151,5`` (space/NBSP thousands, decimal comma), ``1.151,5``,
    ``1151.5``, or a spreadsheet number. Empty cells and a lone dash give ``None``.

    Raises ``_ValueError`` for anything else (``12,3,4``, ``abc``, ``1e3``) and for the ambiguous
    ``1.151``. The formats are :func:`veiviser.schemas.parsing.parse_decimal`'s strict ones.
    """
    try:
        return parse_decimal(raw, strict=True)
    except NumberFormatError as exc:
        if exc.ambiguous:
            raise _ValueError(
                "ambiguous number: a dot followed by three digits may be a thousands separator; "
                "write it without the dot (1151) or with a decimal comma (1,151)"
            ) from None
        if isinstance(raw, bool | float):
            raise _ValueError("not a number") from None
        raise _ValueError(
            "not a number; write NOK thousands like 1 151,5 (space between thousands, decimal comma) "
            "or leave the cell empty"
        ) from None


def parse_year(raw: Any) -> int | None:
    """A start year from a cell (``2019``, ``2019,0``, a date); ``None`` when empty."""
    if isinstance(raw, dt.date):
        return raw.year
    message = "not a year; write a four-digit year such as 2019"
    try:
        number = parse_number(raw)
    except _ValueError:
        raise _ValueError(message) from None
    if number is None:
        return None
    if number != number.to_integral_value() or not 1900 <= number <= 2100:
        raise _ValueError(message)
    return int(number)


_ANGLE_EMAIL = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def parse_email(raw: Any) -> str | None:
    """An e-mail address from a cell: ``kari@kommune.no`` or ``Kari Nordmann <kari@kommune.no>``."""
    text = _text(raw)
    if not text:
        return None
    match = _ANGLE_EMAIL.search(text)
    if match:
        text = match.group(1)
    if text.lower().startswith("mailto:"):
        text = text[7:]
    if not EMAIL_RE.match(text):
        raise _ValueError(
            "not an e-mail address; write the person's e-mail address (their Microsoft 365 user name), "
            "e.g. kari.nordmann@kommune.no"
        )
    return text


_STATUS_WORDS = {
    "Aktivt": {
        "aktivt",
        "aktiv",
        "aktive",
        "pagaende",
        "i gang",
        "igang",
        "active",
        "ongoing",
        "in progress",
    },
    "Avventer": {
        "avventer",
        "avventes",
        "pa vent",
        "venter",
        "on hold",
        "paused",
        "pending",
        "planlagt",
        "planned",
    },
    "Avsluttet": {"avsluttet", "avsluttede", "avslutta", "ferdig", "ferdige", "closed", "completed", "done"},
}
# Words in a section row's text that imply a lifecycle status for the rows under it.
_SECTION_STATUS_WORDS = {
    "Aktivt": {"pagaende", "aktive", "aktivt", "ongoing", "active", "igangsatte"},
    "Avventer": {"planlagte", "kommende", "nye", "avventer", "planned", "upcoming", "pending"},
    "Avsluttet": {"avsluttede", "avsluttet", "ferdige", "ferdigstilte", "completed", "closed", "finished"},
}
_SECTION_GROUP_WORDS = {"prosjekter", "projects", "soknader", "tiltak"}
_SECTION_MARKERS = set().union(*_SECTION_STATUS_WORDS.values())
_TOTAL_WORDS = {"sum", "sum totalt", "totalt", "total", "totals", "sum alle", "sum alle prosjekter", "i alt"}


def parse_status(raw: Any) -> str | None:
    """A ``GtProjectLifecycleStatus`` choice (Aktivt / Avventer / Avsluttet) from a cell."""
    key = _fold(_text(raw))
    if not key:
        return None
    for status, words in _STATUS_WORDS.items():
        if key in words:
            return status
    raise _ValueError(f"unknown status; use one of {', '.join(LIFECYCLE_STATUSES)}")


def section_status(text: str) -> str | None:
    """The lifecycle status a section title implies («Pågående prosjekter» → Aktivt), if any."""
    words = set(_fold(text).split())
    for status, markers in _SECTION_STATUS_WORDS.items():
        if words & markers:
            return status
    return None


def _text(raw: Any) -> str:
    """A cell as stripped text; spreadsheet numbers without a spurious ``.0``."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    if isinstance(raw, dt.datetime) and raw.time() == dt.time():
        return raw.date().isoformat()
    return str(raw).strip()


def _one_line(raw: Any) -> str:
    """A cell as text with all whitespace runs (NBSP, line breaks) made single spaces."""
    return " ".join(_text(raw).split())


# --- reading files ------------------------------------------------------------------------------


@dataclass
class _Table:
    """Raw rows of one CSV file or one worksheet: ``(line or row number, cells)``."""

    sheet: str | None
    rows: list[tuple[int, list[Any]]]
    #: Worksheet cells holding a formula: ``(row, 0-based column) -> formula text``.
    formulas: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Worksheet ranges merged across rows: ``(range, first row, last row, first col, last col)``.
    merged: list[tuple[str, int, int, int, int]] = field(default_factory=list)


_XLSX_SUFFIXES = {".xlsx", ".xlsm"}
_TITLE_MAX_LENGTH = 255  # SharePoint's limit for Title (a single line of text)
#: A title starting like a formula (OWASP's CSV-injection list) would run as one in every export.
_FORMULA_STARTS = ("=", "+", "-", "@")
#: Invisible characters that change how text reads: C0/C1 controls, bidi embeddings and overrides,
#: bidi isolates, zero-width joiners are allowed (emoji sequences need them).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise VeiviserError(f"{path}: file not found", hint="Check the path and the file name.")
    if path.is_dir():
        raise VeiviserError(
            f"{path}: is a folder, not a file", hint="Give the path of the CSV or .xlsx file."
        )
    try:
        return path.read_bytes()
    except OSError as exc:
        raise VeiviserError(
            f"{path}: cannot be read ({exc.strerror or exc})",
            hint="Check that the file exists and that you may read it; close it in Excel if it is locked.",
        ) from None


def _decode(path: Path, data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass  # fall through to the UTF-8 error below
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise VeiviserError(
            f"{path}: line {line} is not UTF-8 text (byte 0x{data[exc.start]:02x}); "
            "the file is probably saved as Windows-1252 / ISO-8859-1",
            hint="In Excel use «Lagre som» → «CSV UTF-8 (kommadelt)», or convert it: "
            "iconv -f WINDOWS-1252 -t UTF-8 in.csv > out.csv",
        ) from None
    if "\x00" in text:
        raise VeiviserError(
            f"{path}: contains NUL bytes, so it is not a text (CSV) file",
            hint="Give a CSV file saved as UTF-8, or an .xlsx workbook with the .xlsx suffix.",
        )
    return text


def _count_outside_quotes(line: str, char: str) -> int:
    return sum(1 for i, part in enumerate(line.split('"')) if i % 2 == 0 for c in part if c == char)


def sniff_delimiter(text: str) -> str:
    """``;``, ``,`` or tab: whichever occurs most (outside quotes) in the first non-blank line."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    counts = {d: _count_outside_quotes(first, d) for d in (";", "\t", ",")}
    best = max(counts, key=lambda d: counts[d])  # ties keep the order above: ';' first
    return best if counts[best] else ";"


def _read_csv(path: Path, text: str) -> _Table:
    delimiter = sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[tuple[int, list[Any]]] = []
    start = 1
    try:
        for cells in reader:
            rows.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise VeiviserError(
            f"{path}: line {start}: the CSV cannot be read ({exc})",
            hint="A value that contains the delimiter, a quote or a line break must be in double quotes, "
            'with quotes inside it doubled (""). Check the quotes on that line.',
        ) from None
    return _Table(sheet=None, rows=rows)


def _read_xlsx(path: Path) -> list[_Table]:
    import openpyxl  # local import: only needed for workbooks
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # Twice: the values Excel saved, and the cells' formulas (docs/provisioning.md, bulk files).
        workbook = openpyxl.load_workbook(path, data_only=True)
        formulas = openpyxl.load_workbook(path, data_only=False)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise VeiviserError(
            f"{path}: cannot be opened as an Excel workbook ({type(exc).__name__}: {exc})",
            hint="Save it from Excel as .xlsx (not .xls), or export the sheet as «CSV UTF-8».",
        ) from None
    try:
        tables = []
        hidden = [s.title for s in workbook.worksheets if s.sheet_state != "visible"]
        for sheet in workbook.worksheets:
            if sheet.sheet_state != "visible":
                continue  # a hidden sheet is not what the user sees: never read projects from it
            rows = [
                (number, list(values))
                for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1)
            ]
            table = _Table(sheet=sheet.title, rows=rows)
            for row in formulas[sheet.title].iter_rows():
                for cell in row:
                    if cell.data_type == "f" or (isinstance(cell.value, str) and cell.value.startswith("=")):
                        table.formulas[(cell.row, cell.column - 1)] = str(cell.value)
            for merged in sheet.merged_cells.ranges:
                if merged.min_row != merged.max_row:
                    table.merged.append(
                        (
                            str(merged.coord),
                            merged.min_row,
                            merged.max_row,
                            merged.min_col - 1,
                            merged.max_col - 1,
                        )
                    )
            tables.append(table)
        if not tables and hidden:
            raise VeiviserError(
                f"{path}: every sheet is hidden ({', '.join(hidden)})",
                hint="Show the sheet with the projects (right-click a sheet tab → «Vis»), or move the "
                "projects to a visible sheet.",
            )
        return tables
    finally:
        workbook.close()
        formulas.close()


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(not _text(c) for c in cells)


# --- the reader -----------------------------------------------------------------------------------


def _find_header(table: _Table) -> int | None:
    """Index in ``table.rows`` of the header: the first of the first 20 non-blank rows naming a title."""
    seen = 0
    for index, (_line, cells) in enumerate(table.rows):
        if _is_blank(cells):
            continue
        if any(map_header(_text(c)) == "title" for c in cells):
            return index
        seen += 1
        if seen >= 20:
            break
    return None


def _column_letter(index: int) -> str:
    """The spreadsheet letter of a 0-based column index (0 -> A, 26 -> AA)."""
    from openpyxl.utils import get_column_letter  # local import: openpyxl is slow to import

    return str(get_column_letter(index + 1))


@dataclass
class _Claim:
    line: int
    title: str


def read_projects(
    path: str | Path,
    *,
    phases: Iterable[str] = DEFAULT_PHASES,
    existing_aliases: Mapping[str, str] | Iterable[str] = (),
) -> BulkInput:
    """Read a project spreadsheet (CSV or .xlsx) into validated :class:`ProjectSpec` s.

    ``phases`` are the allowed phase labels (matched case- and accent-insensitively, stored as given
    here). The default is the PP365 term set «Fase» (:data:`DEFAULT_PHASES`); pass the phase list of
    the template you provision.

    ``existing_aliases`` are aliases already used by sites. Pass a mapping ``alias → site title``
    (e.g. from the hub list «Prosjekter») when re-running on a file that was provisioned before: a row
    whose title matches a site's title reuses that site's alias (``alias_source="existing"``), and
    only a different project's alias counts as taken. A plain iterable means every alias in it
    belongs to some other site. A derived alias that is taken gets a hash suffix
    (:func:`~veiviser.schemas.aliases.alias_with_hash`); an explicit one that is taken is a
    :class:`RowProblem`.

    Raises :class:`VeiviserError` for problems with the file itself; row problems are in
    ``result.problems`` and those rows are not in ``result.projects``.
    """
    path = Path(path)
    data = _read_bytes(path)
    if path.suffix.lower() in _XLSX_SUFFIXES or data.startswith(b"PK\x03\x04"):
        tables = _read_xlsx(path)
    elif path.suffix.lower() == ".xls" or data.startswith(b"\xd0\xcf\x11\xe0"):
        raise VeiviserError(
            f"{path}: old Excel format (.xls) is not supported",
            hint="Open it in Excel and save it as .xlsx, or as «CSV UTF-8 (kommadelt)».",
        )
    else:
        tables = [_read_csv(path, _decode(path, data))]

    for table in tables:
        header_index = _find_header(table)
        if header_index is not None:
            return _Reader(path, table, header_index, list(phases), existing_aliases).run()

    first = next(((line, cells) for t in tables for line, cells in t.rows if not _is_blank(cells)), None)
    found = (
        ", ".join(repr(_text(c)) for c in first[1] if _text(c)) if first else "nothing (the file is empty)"
    )
    where = f"line {first[0]}" if first else "the file"
    raise VeiviserError(
        f"{path}: no project-title column found (header at {where}: {found})",
        hint="Name the column with the project titles «Tittel», «Title» or «Prosjektnavn» "
        "(Trondheim's «Søknader for …» also works) in the first row.",
    )


class _Reader:
    """Reads the rows under one header; one instance per call."""

    def __init__(
        self,
        path: Path,
        table: _Table,
        header_index: int,
        phases: list[str],
        existing_aliases: Mapping[str, str] | Iterable[str],
    ) -> None:
        self.path = path
        self.file = str(path)
        self.table = table
        self.header_index = header_index
        self.phases = {_fold(p): p for p in phases}
        self.phase_list = phases
        self.result = BulkInput(file=self.file, sheet=table.sheet)
        # alias -> normalised title of the site holding it (None: some other site, title unknown)
        self.taken: dict[str, str | None] = {}
        self.alias_by_title: dict[str, str] = {}
        if isinstance(existing_aliases, Mapping):
            for alias, title in existing_aliases.items():
                norm = normalize_title(title) if title else None
                self.taken[alias] = norm
                if norm:
                    self.alias_by_title.setdefault(norm, alias)
        else:
            self.taken = dict.fromkeys(existing_aliases)
        self.claims: dict[str, _Claim] = {}

    # header ------------------------------------------------------------------------------------

    def _map_columns(self, header: list[Any], widths: int) -> None:
        self.fields: dict[int, str] = {}
        self.names: dict[int, str] = {}
        used: dict[str, str] = {}
        for index in range(widths):
            raw = _one_line(header[index]) if index < len(header) else ""
            name = raw or f"column {_column_letter(index)}"
            self.names[index] = name
            target = map_header(raw) if raw else None
            if target is None:
                has_data = any(
                    index < len(cells) and _text(cells[index])
                    for _, cells in self.table.rows[self.header_index + 1 :]
                )
                if has_data:
                    self.fields[index] = "extra"
                    self.result.columns[name] = "extra"
                    self.result.notes.append(
                        f"column «{name}» ({_column_letter(index)}) is not a veiviser field; "
                        "its values are kept in ProjectSpec.extra"
                    )
                continue
            if target in used:
                self.result.notes.append(
                    f"column «{name}» ({_column_letter(index)}) is ignored: «{used[target]}» already gives "
                    f"the {target.replace('cost:', 'operating cost for ')}"
                )
                continue
            used[target] = name
            self.fields[index] = target
            self.result.columns[name] = target

    # rows --------------------------------------------------------------------------------------

    def run(self) -> BulkInput:
        _header_line, header = self.table.rows[self.header_index]
        for line, cells in self.table.rows[: self.header_index]:
            if not _is_blank(cells):
                self.result.notes.append(f"line {line} above the header was skipped")
        widths = len(header)
        while widths and not _text(header[widths - 1]):
            widths -= 1  # trailing empty header cells; data in them is reported per row
        self._map_columns(header, widths)
        self.title_index = next(i for i, f in self.fields.items() if f == "title")
        section: Section | None = None
        for line, cells in self.table.rows[self.header_index + 1 :]:
            if _is_blank(cells):
                continue
            filled = [i for i, c in enumerate(cells) if _text(c)]
            title = _one_line(cells[self.title_index]) if self.title_index < len(cells) else ""
            if filled == [self.title_index] and self._is_section(title):
                section = Section(title=title, line=line, lifecycle_status=section_status(title))
                self.result.sections.append(section)
                continue
            if title and _fold(title) in _TOTAL_WORDS:
                self.result.notes.append(f"line {line}: totals row «{title}» was skipped")
                continue
            self._row(line, cells, widths, title, section)
        if not (self.result.projects or self.result.problems):
            where = f"{self.file}[{self.table.sheet}]" if self.table.sheet else self.file
            raise VeiviserError(
                f"{where}: no project rows under the header (line {_header_line})",
                hint="Add one row per project below the header, then run the command again.",
            )
        return self.result

    @staticmethod
    def _is_section(title: str) -> bool:
        """A row with nothing but a title is a section row when it reads like one: it ends with ':',
        or names a group («prosjekter», «tiltak»…) with a status word («Pågående prosjekter») or in
        at most three words. Any other title-only row is a project that has no other data yet."""
        if title.endswith(":"):
            return True
        words = _fold(title).split()
        return bool(set(words) & _SECTION_GROUP_WORDS) and (
            bool(set(words) & _SECTION_MARKERS) or len(words) <= 3
        )

    def _problem(self, line: int, column: str | None, value: Any, message: str) -> None:
        shown = None if value is None else _text(value)
        self.result.problems.append(
            RowProblem(self.file, line, column, shown, message, sheet=self.table.sheet)
        )

    def _row(self, line: int, cells: list[Any], widths: int, title: str, section: Section | None) -> None:
        before = len(self.result.problems)
        self._check_cells(line, cells, widths)
        overflow = [i for i in range(widths, len(cells)) if _text(cells[i])]
        if overflow:
            self._problem(
                line,
                None,
                None,
                f"the row has {max(overflow) + 1} cells but the header only {widths}; a value probably "
                "contains the delimiter without quotes: put that value in double quotes",
            )
        values: dict[str, Any] = {}
        costs: dict[int, Decimal] = {}
        extra: dict[str, str] = {}
        for index, target in self.fields.items():
            raw = cells[index] if index < len(cells) else None
            name = self.names[index]
            try:
                if target.startswith("cost:"):
                    number = parse_number(raw)
                    if number is not None:
                        costs[int(target[5:])] = number
                elif target == "extra":
                    if _text(raw):
                        extra[name] = _text(raw)
                elif target in ("owner", "leader"):
                    values[target] = parse_email(raw)
                elif target == "start_year":
                    values[target] = parse_year(raw)
                elif target == "status":
                    values["lifecycle_status"] = parse_status(raw)
                elif target == "phase":
                    values[target] = self._phase(raw)
                elif target == "comment":
                    values[target] = _text(raw) or None
                elif target != "title":
                    values[target] = _one_line(raw) or None
            except _ValueError as exc:
                self._problem(line, name, raw, str(exc))

        title_column = self.names[self.title_index]
        if not title:
            self._problem(
                line, title_column, "", "the title is empty; every project needs a title (or delete the row)"
            )
        elif title.startswith(_FORMULA_STARTS):
            self._problem(
                line,
                title_column,
                title,
                f"the title starts with «{title[0]}», which Excel reads as a formula; remove that "
                "character (if the cell was a formula, paste its value instead)",
            )
        elif _CONTROL.search(title):
            char = _CONTROL.search(title).group()  # type: ignore[union-attr]
            self._problem(
                line,
                title_column,
                title.encode("unicode_escape").decode("ascii"),
                f"the title contains the invisible control character U+{ord(char):04X} "
                "(a direction override or similar), which can make it read differently from what it "
                "is; retype the title",
            )
        elif len(title) > _TITLE_MAX_LENGTH:
            self._problem(
                line,
                title_column,
                title,
                f"the title has {len(title)} characters; SharePoint allows at most {_TITLE_MAX_LENGTH}: shorten it",
            )
        else:
            alias, source = self._alias(line, title, values.pop("alias", None))
            if alias is not None:
                values["alias"] = alias
                values["alias_source"] = source
        if len(self.result.problems) > before:
            return

        values.setdefault("lifecycle_status", None)
        if values["lifecycle_status"] is None and section is not None:
            values["lifecycle_status"] = section.lifecycle_status
        try:
            spec = ProjectSpec(
                title=title,
                section=section.title if section else None,
                operating_costs=costs,
                extra=extra,
                source=SourceLocation(file=self.file, line=line, sheet=self.table.sheet),
                **values,
            )
        except ValidationError as exc:
            for error in exc.errors():
                loc = str(error["loc"][0]) if error["loc"] else None
                column = self._column_for(loc) if loc else None
                message = str(error["msg"]).removeprefix("Value error, ")
                self._problem(line, column, error.get("input") if loc else None, message)
            return
        self.result.projects.append(spec)

    def _check_cells(self, line: int, cells: list[Any], widths: int) -> None:
        """Short rows, formula cells and merged cells: what the row holds is not what it shows."""
        table = self.table
        mapped_missing = [self.names[i] for i in self.fields if i >= len(cells)]
        if table.sheet is None and mapped_missing:
            self.result.warnings.append(
                RowProblem(
                    self.file,
                    line,
                    None,
                    None,
                    f"the row has {len(cells)} of {widths} cells; {', '.join(f'«{n}»' for n in mapped_missing)} "
                    "were read as empty. Check that no value is missing or shifted (a delimiter too few?)",
                )
            )
        for index in self.fields:
            formula = table.formulas.get((line, index))
            if formula is None:
                continue
            value = cells[index] if index < len(cells) else None
            if value is None:
                self._problem(
                    line,
                    self.names[index],
                    formula,
                    "the cell holds a formula whose result was never saved; open the file in Excel and "
                    "save it, or copy the column and paste it back as values",
                )
            else:
                self.result.warnings.append(
                    RowProblem(
                        self.file,
                        line,
                        self.names[index],
                        formula,
                        f"the cell holds a formula; its saved result ({_text(value)!r}) was used",
                        sheet=table.sheet,
                    )
                )
        for coord, first, last, col_min, col_max in table.merged:
            if first < line <= last and any(col_min <= i <= col_max for i in self.fields):
                self._problem(
                    line,
                    None,
                    None,
                    f"cells {coord} are merged, so this row's value is empty in the file (it belongs to "
                    f"row {first} only); unmerge the cells and fill in the value on every row",
                )

    def _column_for(self, field_name: str) -> str | None:
        target = "status" if field_name == "lifecycle_status" else field_name
        for index, mapped in self.fields.items():
            if mapped == target:
                return self.names[index]
        return _FIELD_LABELS.get(target, field_name)

    def _phase(self, raw: Any) -> str | None:
        key = _fold(_text(raw))
        if not key:
            return None
        if key in self.phases:
            return self.phases[key]
        raise _ValueError(f"unknown phase; use one of {', '.join(self.phase_list)}")

    def _alias(self, line: int, title: str, explicit: str | None) -> tuple[str | None, str]:
        """The row's alias and where it came from, or ``(None, …)`` after reporting a problem."""
        norm = normalize_title(title)
        alias_column = next((self.names[i] for i, f in self.fields.items() if f == "alias"), "Alias")
        title_column = self.names[self.title_index]
        if explicit:
            alias, source, column = explicit, "explicit", alias_column
            problem = alias_problem(alias)
            if problem:
                self._problem(line, column, alias, problem)
                return None, source
            holder = self.taken.get(alias, norm) if alias in self.taken else norm
            if holder != norm:
                self._problem(
                    line,
                    column,
                    alias,
                    "this alias is already used by another site"
                    + (f" («{holder}»)" if holder else "")
                    + "; choose another alias or leave the cell empty to derive one",
                )
                return None, source
        elif norm in self.alias_by_title:
            alias, source, column = self.alias_by_title[norm], "existing", title_column
        else:
            alias, source, column = derive_alias(title), "derived", title_column
            if alias in self.taken and self.taken[alias] != norm:
                alias = alias_with_hash(alias, title)
                if alias in self.taken and self.taken[alias] != norm:
                    self._problem(
                        line,
                        column,
                        title,
                        f"the alias derived from the title ({alias!r}) is already used by another site; "
                        "add an Alias column with an unused alias for this row",
                    )
                    return None, source
        claim = self.claims.get(alias)
        if claim is not None:
            if normalize_title(claim.title) == norm:
                message = (
                    f"duplicate project: line {claim.line} has the same title and alias {alias!r}; "
                    "delete one of the rows"
                )
            else:
                message = (
                    f"duplicate alias {alias!r}: line {claim.line} («{claim.title}») already has it; "
                    "if this is a different project, give it its own value in an Alias column"
                )
            self._problem(line, column, explicit if source == "explicit" else title, message)
            return None, source
        # Claimed even if the row has other problems, so fixing that row later cannot steal an alias
        # a later row was given in the meantime.
        self.claims[alias] = _Claim(line=line, title=title)
        return alias, source

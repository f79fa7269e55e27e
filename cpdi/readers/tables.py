"""Reading the raw input tables (formats.md, "Input: a folder of CSV files, or one .xlsx
workbook").

This module only finds the tables and turns them into rows of cells; what a cell means and
whether it is valid is :mod:`cpdi.readers.inputs`' business.  What formats.md fixes here:

* ``INPUT`` is a folder holding ``instruments.csv``, ``schedule.csv``, ``payments.csv``,
  ``lots.csv`` and ``holders.csv``, or one ``.xlsx`` workbook with sheets of those names without
  ``.csv``.  ``instruments`` and ``schedule`` are required; the others may be absent and then
  read as empty tables.
* Column order is free; header names are matched case-insensitively after trimming.  Unknown
  columns are kept (holders' extra columns are carried to the workpaper cover).

Conventions that are ours, not formats.md's:

* Row numbers are the ones a user sees in a spreadsheet: the header is row 1 and the first data
  row is row 2 (for a workbook, the real sheet row, blank rows above included).  The header is
  the first non-blank row; blank rows are skipped but still counted.
* A CSV cell is text.  A workbook cell keeps its type: text, a number (``int`` or ``float``),
  ``True``/``False``, or a ``date`` for a real Excel date (a date-time becomes its date).
  :func:`cell_text` gives any cell as the text a user would type, so a whole float ``1000.0``
  used as an id reads ``"1000"``.
* CSV files are read as UTF-8 (a byte-order mark is ignored), falling back to Windows-1252,
  the encoding Excel uses for "CSV (Comma delimited)".  A file whose header line has no comma
  but has semicolons (or tabs) is read with that delimiter, as European Excel writes it.
* File names in messages: ``lots.csv`` for a folder, ``book.xlsx[lots]`` for a workbook sheet.
* Files and sheets are matched by exact name first, then ignoring case and surrounding blanks.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from cpdi.problems import InputError, Problem
from cpdi.readers.columns import REQUIRED_TABLES, TABLES

try:  # calamine (Rust) reads a 100,000-row sheet many times faster than openpyxl
    import python_calamine
except ImportError:  # pragma: no cover - exercised by monkeypatching in the tests
    python_calamine = None

Cell = str | int | float | bool | date
"""One cell as read: always text from a CSV; typed from a workbook (see the module docstring)."""

WORKBOOK_SUFFIXES = (".xlsx",)


@dataclass(frozen=True)
class RawRow:
    """One non-blank data row: its user-visible ``row`` number and its cells keyed by the
    normalised header (see :func:`header_key`).  A column the row is too short for reads ``""``."""

    row: int
    cells: dict[str, Cell]

    def cell(self, key: str) -> Cell:
        return self.cells.get(key, "")

    def text(self, key: str) -> str:
        return cell_text(self.cells.get(key, ""))


@dataclass(frozen=True)
class RawTable:
    """One input table as found: ``name`` (``lots``), ``file`` as named in messages
    (``lots.csv`` or ``book.xlsx[lots]``), whether it was ``present`` at all, its ``headers`` as
    written (trimmed, blank and repeated ones dropped, file order), the ``header_row`` number and
    the data ``rows``."""

    name: str
    file: str
    present: bool
    headers: tuple[str, ...] = ()
    header_row: int | None = None
    rows: tuple[RawRow, ...] = ()

    @property
    def keys(self) -> tuple[str, ...]:
        """The normalised headers, in file order."""
        return tuple(header_key(h) for h in self.headers)

    def has_column(self, name: str) -> bool:
        return header_key(name) in self.keys

    def extra_headers(self) -> tuple[str, ...]:
        """Headers, as written, that the table's declaration (``columns.TABLES``) lacks."""
        declared = {col.name for col in TABLES.get(self.name, ())}
        return tuple(h for h in self.headers if header_key(h) not in declared)


@dataclass(frozen=True)
class RawInput:
    """Every table of one ``INPUT`` (by table name), with the problems met finding and reading
    them (a missing required file or sheet, an unreadable file, a repeated header)."""

    source: str
    tables: dict[str, RawTable]
    problems: tuple[Problem, ...]


def header_key(header: object) -> str:
    """A header as matched: trimmed and lower-cased (formats.md)."""
    return cell_text(header).lower()


def cell_text(value: object) -> str:
    """A cell as the text a user would type: trimmed; a whole float without its ``.0``; a date
    in ISO form; ``None`` as blank."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def is_blank(value: object) -> bool:
    """Is the cell empty (nothing, or only blanks)?"""
    return value is None or (isinstance(value, str) and not value.strip())


def read_tables(path: str | Path) -> RawInput:
    """Read every table of ``INPUT``, a folder of CSV files or an ``.xlsx`` workbook.

    Problems with the data are returned, never raised.  Raises :class:`InputError` only when
    ``path`` does not exist or is neither a folder nor an ``.xlsx`` workbook.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if path.is_file() and path.suffix.lower() in WORKBOOK_SUFFIXES:
        return _read_workbook(path)
    if not path.exists():
        problem = Problem(
            str(path), None, None, "input not found",
            fix="give a folder of CSV files or an .xlsx workbook that exists",
        )
    else:
        problem = Problem(
            str(path), None, None, "input is neither a folder nor an .xlsx workbook",
            fix="give a folder holding instruments.csv and schedule.csv, or an .xlsx workbook "
            "with sheets of those names",
        )
    raise InputError([problem])


# --- CSV folder ------------------------------------------------------------------------------


def _read_folder(folder: Path) -> RawInput:
    problems: list[Problem] = []
    try:
        files = {p.name: p for p in folder.iterdir() if p.is_file()}
    except OSError as exc:
        problem = Problem(
            str(folder), None, None, f"cannot list the input folder ({exc.strerror or exc})",
            fix="check the folder's permissions",
        )
        tables = {t: RawTable(t, f"{t}.csv", False) for t in TABLES}
        return RawInput(str(folder), tables, (problem,))
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        wanted = f"{name}.csv"
        found = _match_name(wanted, files)
        if found is None:
            tables[name] = RawTable(name, wanted, False)
            if name in REQUIRED_TABLES:
                problems.append(Problem(
                    wanted, None, None, f"missing from the input folder {folder}",
                    fix=f"add {wanted} to the input folder (see formats.md)",
                ))
            continue
        label = found
        try:
            records = _csv_records(files[found])
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            problems.append(Problem(
                label, None, None, f"cannot read the file ({exc})",
                fix="save it again as CSV (UTF-8) and check its permissions",
            ))
            tables[name] = RawTable(name, label, False)  # reported once, here
            continue
        table, header_problems = _table_from_records(name, label, records)
        tables[name] = table
        problems.extend(header_problems)
    return RawInput(str(folder), tables, tuple(problems))


def _match_name(wanted: str, available: Iterable[str]) -> str | None:
    """``wanted`` itself if available, else the one name equal to it ignoring case and blanks."""
    available = list(available)
    if wanted in available:
        return wanted
    key = wanted.strip().lower()
    for name in available:
        if name.strip().lower() == key:
            return name
    return None


def _csv_records(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252")  # Excel's "CSV (Comma delimited)" on Windows
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","
    if "," not in first_line:
        if ";" in first_line:
            delimiter = ";"
        elif "\t" in first_line:
            delimiter = "\t"
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


# --- XLSX workbook ---------------------------------------------------------------------------


def _read_workbook(path: Path) -> RawInput:
    problems: list[Problem] = []
    try:
        sheets = _workbook_sheets(path)
    except Exception as exc:  # noqa: BLE001 - a damaged workbook raises library-specific errors
        problem = Problem(
            path.name, None, None, f"cannot read the workbook ({type(exc).__name__}: {exc})",
            fix="open it in Excel and save it again as .xlsx",
        )
        tables = {t: RawTable(t, f"{path.name}[{t}]", False) for t in TABLES}
        return RawInput(str(path), tables, (problem,))
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        found = _match_name(name, sheets)
        if found is None:
            label = f"{path.name}[{name}]"
            tables[name] = RawTable(name, label, False)
            if name in REQUIRED_TABLES:
                problems.append(Problem(
                    label, None, None, f"the workbook has no sheet named {name}",
                    fix=f"add a sheet named {name} (see formats.md)",
                ))
            continue
        label = f"{path.name}[{found}]"
        table, header_problems = _table_from_records(name, label, sheets[found])
        tables[name] = table
        problems.extend(header_problems)
    return RawInput(str(path), tables, tuple(problems))


def _workbook_sheets(path: Path) -> dict[str, list[list[Cell]]]:
    """Every sheet's rows from row 1 (so list index + 1 is the sheet row number)."""
    if python_calamine is not None:
        return _sheets_calamine(path)
    return _sheets_openpyxl(path)


def _sheets_calamine(path: Path) -> dict[str, list[list[Cell]]]:
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        sheets = {}
        for name in workbook.sheet_names:
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets[name] = [[_workbook_cell(v) for v in row] for row in rows]
        return sheets
    finally:
        workbook.close()


def _sheets_openpyxl(path: Path) -> dict[str, list[list[Cell]]]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets = {}
        for worksheet in workbook.worksheets:
            worksheet.reset_dimensions()  # some writers store a wrong used range
            sheets[worksheet.title] = [
                [_workbook_cell(v) for v in row] for row in worksheet.iter_rows(values_only=True)
            ]
        return sheets
    finally:
        workbook.close()


def _workbook_cell(value: object) -> Cell:
    """A workbook value as a :data:`Cell`: a date-time becomes its date, nothing becomes ``""``,
    anything unusual (a time of day, an error value) its text."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, (str, bool, int, float, date)):
        return value
    return str(value)


# --- records to table ------------------------------------------------------------------------


def _table_from_records(
    name: str, label: str, records: Iterable[Sequence[Cell]]
) -> tuple[RawTable, list[Problem]]:
    """Find the header (first non-blank record), key the data rows by it and skip blank rows.
    Record ``i`` (from 0) is user row ``i + 1``."""
    problems: list[Problem] = []
    headers: list[str] = []
    index: list[tuple[int, str]] = []  # (position in the record, header key)
    header_row: int | None = None
    rows: list[RawRow] = []
    for number, record in enumerate(records, start=1):
        if all(is_blank(v) for v in record):
            continue
        if header_row is None:
            header_row = number
            first_at: dict[str, int] = {}
            for position, value in enumerate(record):
                header = cell_text(value)
                key = header.lower()
                if not key:
                    continue  # an unlabelled column (often a trailing comma) is ignored
                if key in first_at:
                    problems.append(Problem(
                        label, number, header,
                        f"column heading appears twice (columns {first_at[key] + 1} and "
                        f"{position + 1}); the second is ignored",
                        fix="delete or rename one of the two columns",
                    ))
                    continue
                first_at[key] = position
                headers.append(header)
                index.append((position, key))
            continue
        width = len(record)
        rows.append(RawRow(number, {key: record[i] if i < width else "" for i, key in index}))
    table = RawTable(name, label, True, tuple(headers), header_row, tuple(rows))
    return table, problems

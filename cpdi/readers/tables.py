"""Reading the raw input tables (docs/formats.md, "Input: a folder of CSV files, or one .xlsx
workbook").

This module only finds the tables and turns them into rows of cells; what a cell means and
whether it is valid is :mod:`cpdi.readers.inputs`' business.  The input contract fixes here:

* ``INPUT`` is a folder holding ``instruments.csv``, ``schedule.csv``, ``payments.csv``,
  ``lots.csv`` (or ``transactions.csv``, the trades lots are derived from, or both) and
  ``holders.csv``, or one ``.xlsx`` workbook with sheets of those names without ``.csv``.
  ``instruments`` and ``schedule`` are required; the others may be absent and then read as empty
  tables (``compute`` and ``workpapers`` need lots or transactions: ``columns.LOT_TABLES``).
* Column order is free; header names are matched case-insensitively after trimming.  Unknown
  columns are kept (holders' extra columns are carried to the workpaper cover).

Further conventions (all of them in docs/formats.md too):

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
import re
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
    found: tuple[str, ...] = ()  # every file (folder) or sheet (workbook) name seen, in order


_HEADER_GAPS = re.compile(r"[\s\-_]+")


def header_key(header: object) -> str:
    """A header as matched: trimmed, lower-cased, and blanks, hyphens and underscores alike
    (``Basis Allocation`` and ``basis-allocation`` read ``basis_allocation``; docs/formats.md)."""
    return _HEADER_GAPS.sub("_", cell_text(header).lower()).strip("_")


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
    ``path`` does not exist or is neither a folder nor an ``.xlsx`` workbook (the message says
    what it is instead: one CSV file, an old ``.xls`` workbook, ...).
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
            fix=_wrong_input_fix(path),
        )
    raise InputError([problem])


def _wrong_input_fix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return (f"give the folder that holds {path.name} and the other CSV files "
                f"({path.parent or '.'}), not one file")
    if suffix in (".xls", ".xlsm", ".xlsb", ".ods"):
        return f"open {path.name} in Excel and save it as an .xlsx workbook"
    return ("give a folder holding instruments.csv and schedule.csv, or an .xlsx workbook "
            "with sheets of those names")


# --- names: exact, ignoring case, and near misses ----------------------------------------------

_NOT_TABLES = {"instructions", "readme", "notes", "read me"}
"""Sheet and file stems that are never taken for a misnamed table (``cpdi init`` writes an
Instructions sheet)."""


def _stem(name: str) -> str:
    return name.strip().lower().split(".", 1)[0].strip()


def _near_misses(table: str, names: Iterable[str]) -> list[str]:
    """Names that look like a misnamed ``table`` (``lots_2025.csv``, a sheet ``Lots1``,
    ``holder.csv``): the stem starts with the table's name or is its start (4+ letters), or is
    spelled within one or two letters of it.  Convention ours: a look-alike is reported only when
    the table itself is absent, and never an instruction or notes sheet."""
    import difflib

    hits = []
    for name in names:
        stem = _stem(name)
        if not stem or stem in _NOT_TABLES or stem == table:
            continue
        prefix = stem.startswith(table) or (len(stem) >= 4 and table.startswith(stem))
        if prefix or difflib.SequenceMatcher(None, table, stem).ratio() >= 0.8:
            hits.append(name)
    return hits


def _listing(names: Sequence[str], what: str) -> str:
    """``found files: a.csv, b.csv`` (at most eight names) or ``the folder is empty``."""
    if not names:
        return f"no {what} at all"
    shown = ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")
    return f"found {what}: {shown}"


def _missing_table_problem(
    table: str, label: str, missing: str, wanted: str, available: Sequence[str], what: str,
) -> Problem | None:
    """The problem for an absent table (``missing`` says so, e.g. "the workbook has no sheet
    named lots"): always for a required one; for an optional one only when something looks like
    it under another name, so a misnamed file is never silently read as "no lots"."""
    near = _near_misses(table, available)
    if not near and table not in REQUIRED_TABLES:
        return None
    if near:
        message = f"{missing}; {_listing(near, what)}"
        fix = f"rename {near[0]} to {wanted}" + (" and keep only one" if len(near) > 1 else "")
    else:
        message = f"{missing} ({_listing(list(available), what)})"
        fix = f"add {wanted} (see docs/formats.md)"
    return Problem(label, None, None, message, fix=fix)


def _matches(wanted: str, available: Iterable[str]) -> list[str]:
    """Every available name equal to ``wanted`` ignoring case and surrounding blanks, the
    exact spelling first."""
    key = wanted.strip().lower()
    hits = [name for name in available if name.strip().lower() == key]
    hits.sort(key=lambda name: name != wanted)
    return hits


def _ambiguous_problem(table: str, label: str, hits: Sequence[str], what: str) -> Problem:
    names = " and ".join(repr(h) for h in hits)
    return Problem(
        label, None, None,
        f"{what} {names} are both the {table} table (names are matched ignoring case); "
        f"none of them was read",
        fix=f"keep one {table} {what.rstrip('s')} and rename or delete the others",
    )


# --- CSV folder ------------------------------------------------------------------------------


def _read_folder(folder: Path) -> RawInput:
    problems: list[Problem] = []
    try:
        files = {p.name: p for p in sorted(folder.iterdir()) if p.is_file()}
    except OSError as exc:
        problem = Problem(
            str(folder), None, None, f"cannot list the input folder ({exc.strerror or exc})",
            fix="check the folder's permissions",
        )
        tables = {t: RawTable(t, f"{t}.csv", False) for t in TABLES}
        return RawInput(str(folder), tables, (problem,))
    visible = [name for name in files if not name.startswith((".", "~$"))]
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        wanted = f"{name}.csv"
        hits = _matches(wanted, files)
        if len(hits) > 1:
            problems.append(_ambiguous_problem(name, wanted, hits, "files"))
            tables[name] = RawTable(name, wanted, False)
            continue
        if not hits:
            tables[name] = RawTable(name, wanted, False)
            problem = _missing_table_problem(
                name, wanted, f"missing from the input folder {folder}", wanted, visible, "files",
            )
            if problem is not None:
                problems.append(problem)
            continue
        label = hits[0]
        try:
            records = _csv_records(files[label], label)
        except _Unreadable as exc:
            problems.append(exc.problem)
            tables[name] = RawTable(name, label, False)  # reported once, here
            continue
        except OSError as exc:
            problems.append(Problem(
                label, None, None, f"cannot read the file ({exc.strerror or exc})",
                fix="check the file's permissions, or save it again as CSV (UTF-8)",
            ))
            tables[name] = RawTable(name, label, False)
            continue
        table, header_problems = _table_from_records(name, label, records)
        tables[name] = table
        problems.extend(header_problems)
    return RawInput(str(folder), tables, tuple(problems), tuple(visible))


class _Unreadable(Exception):
    """A file or sheet that cannot be read at all, with the problem that says why."""

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls) and other OLE files
_ZIP_MAGIC = b"PK\x03\x04"  # .xlsx, .ods, .zip


def _decode_csv(data: bytes, label: str) -> str:
    """The text of a CSV file: UTF-8 (a byte-order mark ignored), UTF-16 with its byte-order
    mark (Excel's "Unicode Text"), else Windows-1252 (Excel's "CSV (Comma delimited)").  A
    workbook or other binary file saved under a .csv name is refused with what it is."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _Unreadable(Problem(
                label, None, None, "the file says it is UTF-16 but is damaged",
                fix="save it again from Excel as CSV UTF-8 (Comma delimited)",
            )) from None
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise _Unreadable(Problem(
            label, None, None, "is an Excel workbook saved under a .csv name, not CSV text",
            fix="save it from Excel as CSV UTF-8 (Comma delimited), or give the workbook "
            "itself (renamed .xlsx) as INPUT",
        ))
    head = data[:4096]
    if b"\x00" in head:
        if len(head) > 2 and head[1:2] == b"\x00" and head[0:1] != b"\x00":
            return data.decode("utf-16-le", errors="replace")
        if len(head) > 2 and head[0:1] == b"\x00" and head[1:2] != b"\x00":
            return data.decode("utf-16-be", errors="replace")
        raise _Unreadable(Problem(
            label, None, None, "holds binary data (NUL bytes), not CSV text",
            fix="save it from Excel as CSV UTF-8 (Comma delimited)",
        ))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's "CSV (Comma delimited)"


def _csv_records(path: Path, label: str | None = None) -> list[list[str]]:
    """Every record of a CSV file (see :func:`_decode_csv` for encodings).  A cell longer than
    the csv module's limit (131,072 characters: nearly always a quote opened and never closed)
    is reported with the line it starts on."""
    label = label or path.name
    text = _decode_csv(path.read_bytes(), label)
    if "\x00" in text:
        text = text.replace("\x00", "")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = ","
    if "," not in first_line:
        if ";" in first_line:
            delimiter = ";"
        elif "\t" in first_line:
            delimiter = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[list[str]] = []
    try:
        for record in reader:
            records.append(record)
    except csv.Error as exc:
        line = reader.line_num
        if "field larger than field limit" in str(exc):
            message = (f"a cell starting near line {len(records) + 1} runs past "
                       f"{csv.field_size_limit():,} characters (read up to line {line})")
            fix = "a quote (\") opened in a cell and never closed is the usual cause: check that row"
        else:
            message = f"is not valid CSV near line {line} ({exc})"
            fix = "save it again from Excel as CSV UTF-8 (Comma delimited)"
        raise _Unreadable(Problem(label, len(records) + 1, None, message, fix=fix)) from None
    return records


# --- XLSX workbook ---------------------------------------------------------------------------


def _read_workbook(path: Path) -> RawInput:
    problems: list[Problem] = []
    try:
        _check_workbook_file(path)
        sheets = _workbook_sheets(path)
    except _Unreadable as exc:
        tables = {t: RawTable(t, f"{path.name}[{t}]", False) for t in TABLES}
        return RawInput(str(path), tables, (exc.problem,))
    except Exception as exc:  # noqa: BLE001 - a damaged workbook raises library-specific errors
        problem = Problem(
            path.name, None, None, f"cannot read the workbook ({type(exc).__name__}: {exc})",
            fix="open it in Excel and save it again as .xlsx",
        )
        tables = {t: RawTable(t, f"{path.name}[{t}]", False) for t in TABLES}
        return RawInput(str(path), tables, (problem,))
    names = list(sheets)
    tables: dict[str, RawTable] = {}
    for name in TABLES:
        hits = _matches(name, names)
        label = f"{path.name}[{name}]"
        if len(hits) > 1:
            problems.append(_ambiguous_problem(name, label, hits, "sheets"))
            tables[name] = RawTable(name, label, False)
            continue
        if not hits:
            tables[name] = RawTable(name, label, False)
            problem = _missing_table_problem(
                name, label, f"the workbook has no sheet named {name}", f"a sheet named {name}",
                names, "sheets",
            )
            if problem is not None:
                problems.append(problem)
            continue
        found = hits[0]
        label = f"{path.name}[{found}]"
        if isinstance(sheets[found], Problem):
            problems.append(sheets[found])
            tables[name] = RawTable(name, label, False)
            continue
        table, header_problems = _table_from_records(name, label, sheets[found])
        tables[name] = table
        problems.extend(header_problems)
    return RawInput(str(path), tables, tuple(problems), tuple(names))


def _check_workbook_file(path: Path) -> None:
    """Refuse, with what it is, a file that is not an .xlsx package: an Excel 97-2003 workbook
    renamed .xlsx, or CSV text."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    if head.startswith(_OLE_MAGIC):
        raise _Unreadable(Problem(
            path.name, None, None,
            "cannot read the workbook: it is an Excel 97-2003 workbook (.xls) with an .xlsx name",
            fix="open it in Excel and use Save As, Excel Workbook (.xlsx)",
        ))
    if not head.startswith(_ZIP_MAGIC):
        raise _Unreadable(Problem(
            path.name, None, None, "cannot read the workbook: it is not an .xlsx (zip) package",
            fix="open it in Excel and save it again as .xlsx; for CSV files give their folder",
        ))


MAX_SHEET_CELLS = 10_000_000
"""The most cells (rows × columns of the used range) an input sheet may claim before it is read.
Convention ours: 100,000 lots of 12 columns are 1.2 million cells; a sheet claiming more is
almost always a stray cell far below or to the right of the data (which would make the xlsx
libraries allocate the whole rectangle: a cell at XFD1048576 is 17 billion cells)."""

_ROW_REF = re.compile(rb"<(?:\w+:)?row\b[^>]*?\sr=\"(\d+)\"")
_ERROR_CELL = re.compile(rb"<(?:\w+:)?c\b(?=[^>]*\st=\"e\")[^>]*?\sr=\"([A-Z]+[0-9]+)\"[^>]*>(?:.*?<(?:\w+:)?v>([^<]*))?", re.S)
_SAVED_VALUE = re.compile(rb"<(?:\w+:)?v>[^<]")  # an empty <v/> is no saved value
_FORMULA_CELL = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Z]+[0-9]+)\"[^>]*?(?<!/)>(.*?)</(?:\w+:)?c>", re.S)
_WIDE_CELL_REF = re.compile(rb"<(?:\w+:)?c\b[^>]*?\sr=\"([A-Z]{2,3})(\d+)\"")


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + (letter - 64)
    return number


def _column_letters(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet_extents(path: Path) -> dict[str, tuple[int, int, str | None, tuple[str, str] | None]]:
    """Each sheet's last row and last column as its XML claims them, read without building the
    sheet: rows from the ``<row r=...>`` tags, columns from cell references of two or more
    letters (a sheet whose cells all sit in A–Z counts 26 columns); and the first cell holding
    a formula with no saved value (written by a program that does not calculate), if any."""
    import zipfile

    extents: dict[str, tuple[int, int]] = {}
    with zipfile.ZipFile(path) as package:
        parts = _sheet_parts(package)
        for sheet, part in parts.items():
            last_row, last_column, tail, uncached, error = 0, 26, b"", None, None
            with package.open(part) as stream:
                while True:
                    chunk = stream.read(1 << 20)
                    if not chunk:
                        break
                    window = tail + chunk
                    for match in _ROW_REF.finditer(window):
                        last_row = max(last_row, int(match.group(1)))
                    for match in _WIDE_CELL_REF.finditer(window):
                        last_column = max(last_column, _column_number(match.group(1)))
                        last_row = max(last_row, int(match.group(2)))
                    if uncached is None and b"<f" in window:
                        for match in _FORMULA_CELL.finditer(window):
                            body = match.group(2)
                            if b"<f" in body and not _SAVED_VALUE.search(body):
                                uncached = match.group(1).decode()
                                break
                    if error is None and b't="e"' in window:
                        match = _ERROR_CELL.search(window)
                        if match:
                            error = (match.group(1).decode(), (match.group(2) or b"").decode())
                    tail = window[-256:]
            extents[sheet] = (last_row, last_column, uncached, error)
    return extents


def _sheet_parts(package) -> dict[str, str]:
    """Sheet name → its XML part, from the workbook's relationships."""
    import posixpath
    import xml.etree.ElementTree as ET

    ns_main = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    ns_rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
    workbook = ET.fromstring(package.read("xl/workbook.xml"))
    rels = ET.fromstring(package.read("xl/_rels/workbook.xml.rels"))
    targets = {}
    for rel in rels:
        target = rel.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join("xl", target))
        targets[rel.get("Id")] = target
    parts = {}
    for sheet in workbook.iter(f"{ns_main}sheet"):
        part = targets.get(sheet.get(f"{ns_rel}id"))
        if part and part in package.namelist():
            parts[sheet.get("name", "")] = part
    return parts


def _why_unreadable(last_row: int, last_column: int, uncached: str | None,
                    error: tuple[str, str] | None) -> tuple[str, str] | None:
    """Why a sheet must not be read, as (message, fix), or ``None``: a cell holding an Excel
    error or a formula with no saved value (either would read as a blank), or a used range
    larger than :data:`MAX_SHEET_CELLS`."""
    if error is not None:
        cell, value = error
        return (f"cell {cell} holds the Excel error {value or '(an error value)'}, which would "
                "read as a blank cell", "fix the formula in that cell, or type the value")
    if uncached is not None:
        return (f"cell {uncached} holds a formula with no saved value (the workbook was written "
                "by a program that does not calculate), and cpdi reads saved values only",
                "open the workbook in Excel or LibreOffice, let it calculate, and save it (or "
                "type the values instead of formulas)")
    if last_row * last_column > MAX_SHEET_CELLS:
        corner = f"{_column_letters(last_column)}{last_row}"
        return (f"the sheet's used range reaches cell {corner} ({last_row:,} rows × "
                f"{last_column:,} columns, more than the {MAX_SHEET_CELLS:,} cells cpdi reads)",
                "delete the stray cells below and to the right of your data (in Excel, Ctrl+End "
                "shows the last used cell), save, and run again")
    return None


def _unreadable_sheets(path: Path) -> dict[str, Problem]:
    """A problem for each sheet that must not be read (:func:`_why_unreadable`)."""
    try:
        extents = _sheet_extents(path)
    except Exception:  # noqa: BLE001 - an odd package: let the xlsx library judge it
        return {}
    problems = {}
    for sheet, (last_row, last_column, uncached, error) in extents.items():
        why = _why_unreadable(last_row, last_column, uncached, error)
        if why is not None:
            message, fix = why
            problems[sheet] = Problem(f"{path.name}[{sheet}]", None, None,
                                      f"{message}; the sheet was not read", fix=fix)
    return problems


def _workbook_sheets(path: Path) -> dict[str, list[list[Cell]] | Problem]:
    """Every sheet's rows from row 1 (so list index + 1 is the sheet row number), or the problem
    that kept a sheet from being read (an Excel error, an unsaved formula, an oversized used range)."""
    unreadable = _unreadable_sheets(path)
    if python_calamine is not None:
        return _sheets_calamine(path, unreadable)
    return _sheets_openpyxl(path, unreadable)


def _sheets_calamine(path: Path, unreadable: dict[str, Problem]) -> dict[str, list[list[Cell]] | Problem]:
    workbook = python_calamine.CalamineWorkbook.from_path(str(path))
    try:
        sheets: dict[str, list[list[Cell]] | Problem] = {}
        for name in workbook.sheet_names:
            if name in unreadable:
                sheets[name] = unreadable[name]
                continue
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            sheets[name] = [[_workbook_cell(v) for v in row] for row in rows]
        return sheets
    finally:
        workbook.close()


def _sheets_openpyxl(path: Path, unreadable: dict[str, Problem]) -> dict[str, list[list[Cell]] | Problem]:
    import openpyxl

    workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        sheets: dict[str, list[list[Cell]] | Problem] = {}
        for worksheet in workbook.worksheets:
            if worksheet.title in unreadable:
                sheets[worksheet.title] = unreadable[worksheet.title]
                continue
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
            header_width = max(i for i, v in enumerate(record) if not is_blank(v)) + 1
            first_at: dict[str, int] = {}
            for position, value in enumerate(record):
                header = cell_text(value)
                key = header_key(header)
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
        if width > header_width and not all(is_blank(v) for v in record[header_width:]) \
                and label.endswith(".csv"):
            used = header_width + max(i for i, v in enumerate(record[header_width:]) if not is_blank(v)) + 1
            problems.append(Problem(
                label, number, None,
                f"the row has {used} cells but the header has {header_width}: its values have "
                f"shifted, and the row was not read as written",
                fix="a comma inside an unquoted value is the usual cause: put that value in "
                "double quotes (\"O'Neil, Patricia\")",
            ))
        rows.append(RawRow(number, {key: record[i] if i < width else "" for i, key in index}))
    table = RawTable(name, label, True, tuple(headers), header_row, tuple(rows))
    return table, problems

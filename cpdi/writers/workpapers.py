"""Holder workpapers: one .xlsx per holder and tax year that a preparer files with the return and
a reviewer ties out cell by cell (docs/formats.md, ``cpdi workpapers``; method §3–§9).

Every computed number is a **live formula** over inputs visible in the workbook, written with
the engine's own value cached beside it, so any viewer shows numbers and a spreadsheet engine
recomputes them (the proof of the workpaper is that Excel or LibreOffice recomputes the
engine's numbers).  Inputs — schedule amounts, actual payments, the lot, values carried
from the ledger of earlier years — are blue; formulas are black.

Sheets of a holder workbook::

    Cover         holder, sign-off boxes, the year's figures by where they go on a return,
                  each a sum of the lot sheets' cells, and the holder's input problems
    Lots          one row per lot, every figure linked to its lot sheet
    <instrument>  terms, §8 validation, the projected schedule and accrual table (b)(3)(iii),
                  (b)(7)(ii), and a chart of the adjusted issue price and payments
    Lot <id>      the lot, days held (b)(3)(iii), payments and adjustments (b)(6)(i), (b)(9)(i)
                  allocations, the annual netting (b)(6)(ii)–(iii), the basis roll-forward
                  (b)(7)(iii) and the disposition (b)(7)(iv)–(v), (b)(8)

Everything read from the inputs is written as text with ``write_string`` (never parsed as a
formula, number or link), and every piece of text — cells, sheet names, headers, footers,
document properties, file names — goes through ``cpdi.writers.privacy`` on its way out, so no
full taxpayer id is ever written (``_Sheet.flush`` is the one path cell text takes).  Workbooks
are written atomically and byte-identically for the same inputs (fixed document dates, no
clock).  The layout is planned into a per-sheet buffer and
written row by row; the workbook is assembled in memory and zipped once.
"""

from __future__ import annotations

import contextlib
import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping, Sequence

import xlsxwriter
from xlsxwriter.worksheet import Worksheet
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell

from cpdi import __version__
from cpdi.engine.holding import Ending
from cpdi.engine.ledger import LotLedger, LotYear, contingent_payment_remains
from cpdi.model import DailyPortionBasis, Holder
from cpdi.problems import CpdiError, Problem
from cpdi.writers.atomic import atomic_path, atomic_text
from cpdi.writers.privacy import (  # noqa: F401  (mask_tin, _TIN_SHAPED: re-exported)
    _TIN_SHAPED, TinIndex, csv_safe, mask_tin, safe_file_stem, scrub_problem_value, scrub_text,
    short_hash, tin_index, xlsx_safe_text,
)
from cpdi.writers.template import Template, load_template

if TYPE_CHECKING:  # cpdi.api imports pandas; the writer does not need it at run time
    from cpdi.api import InstrumentBook

WORKBOOK_OPTIONS = {
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "strings_to_numbers": False,
    # Assembled in memory and zipped once at close: no temporary file per sheet and per part
    # (a workbook is tens of kilobytes; the batch keeps one per worker at a time).
    "in_memory": True,
}

# The only spreadsheet functions our formulas use.  None needs XlsxWriter's "_xlfn." future-
# function prefixes, so formulas skip its 29 regular-expression passes (a third of the batch's
# time); tests check that every formula written uses only these.
FORMULA_FUNCTIONS = frozenset({"SUM", "MIN", "MAX", "IF", "ABS", "AND", "OR", "NOT"})


class _PlainFormulaWorksheet(Worksheet):
    """A worksheet that writes formulas as given (leading ``=`` removed), without XlsxWriter's
    future-function expansion: ours use only :data:`FORMULA_FUNCTIONS`."""

    def _prepare_formula(self, formula, expand_future_functions=False):
        return formula[1:] if formula.startswith("=") else formula
FILE_NAME_LIMIT = 100  # characters, suffix included
FORMULA_LIMIT = 8000  # Excel allows 8,192 characters; longer cover sums go through 'Lots'
HEADER_FOOTER_LIMIT = 255  # Excel's limit for a page header or footer
CHECK_TOLERANCE = 0.005  # the workpaper must reproduce the engine within half a cent
EXCEPTION_COLUMNS = (
    "file", "row", "column", "value", "message", "fix", "holder_id", "lot_id", "instrument_id",
)


class WorkpaperError(CpdiError):
    """A workpaper that would not reproduce the engine's numbers (a bug: please report)."""


# -- names ----------------------------------------------------------------------------------------
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_HASHED_STEM = re.compile(r"--[0-9a-f]{12}$")
_WINDOWS_RESERVED = {
    "con", "prn", "aux", "nul", "conin$", "conout$",
    *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10)),
}


def _file_safe(text: str) -> str:
    """``text`` with only ``A-Z a-z 0-9 . _ -`` (anything else becomes ``_``), no ``..``, no
    leading dot or hyphen and no Windows device name."""
    safe = _UNSAFE_FILE_CHARS.sub("_", text)
    safe = re.sub(r"\.{2,}", lambda m: "_" * len(m.group()), safe)
    if safe[:1] in (".", "-"):
        safe = "_" + safe[1:]
    if safe.split(".")[0].lower() in _WINDOWS_RESERVED:  # CON, NUL, COM1 … even with a suffix
        safe = "_" + safe
    return safe


def holder_file_name(holder_id: str, year: int, distinguish: bool = False, *, tin: str | None = "") -> str:
    """A file name for a holder's workbook that is safe on any file system, e.g.
    ``"H-1001_2025.xlsx"``.

    Only ``A-Z a-z 0-9 . _ -`` are kept (anything else becomes ``_``); no leading dot or
    hyphen, no ``..``, no path separator, no Windows device name, at most 100 characters.  An id
    that had to be changed or shortened gets ``--`` and 12 hex digits of its SHA-256, so two
    different ids never share a name (an id that already ends like that is hashed too).  File
    systems that ignore case would still see ``h-1`` and ``H-1`` as one name: ``distinguish``
    adds the hash anyway, and the batch asks for it for ids that differ only in case.

    A file name never carries a full taxpayer id: an id that holds anything shaped like one, or
    the holder's own ``tin`` in any spelling (``cpdi.writers.privacy``), is masked first,
    ``123-45-6789`` → ``_____6789--<hash>_2025.xlsx``, and so always gets the hash that keeps it
    apart from other ids ending in the same digits.  What cleaning or shortening the id makes of
    it is masked again (``111,22,3333`` becomes ``111_22_3333``, a spelling of its holder's TIN;
    a long digit run cut to nine digits looks like a TIN)."""
    holder_id = str(holder_id)
    suffix = f"_{year}.xlsx"
    shown, masked = safe_file_stem(holder_id, tin)
    safe = _file_safe(shown)
    again = scrub_text(safe, tin)
    if again != safe:
        safe, masked = _file_safe(again), True
    changed = (
        distinguish
        or masked
        or safe != holder_id
        or not safe
        or _HASHED_STEM.search(safe) is not None
        or len(safe) + len(suffix) > FILE_NAME_LIMIT
    )
    if not changed:
        return safe + suffix
    digest = short_hash(holder_id, 12)
    room = FILE_NAME_LIMIT - len(suffix) - 2 - len(digest)
    stem = _UNSAFE_FILE_CHARS.sub("_", scrub_text(safe[:room], tin)) or "holder"
    return f"{stem}--{digest}{suffix}"


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut(text: str, limit: int) -> str:
    while _utf16_len(text) > limit:
        text = text[:-1]
    return text


class _SheetNames:
    """Excel sheet names from input ids: at most 31 characters, none of ``[]:*?/\\``, not
    starting or ending with an apostrophe, unique ignoring case (truncated plus ``~2``…)."""

    def __init__(self):
        self.used: set[str] = set()

    def make(self, wanted: str, scrub: Callable[[str], str] = xlsx_safe_text) -> str:
        """The sheet's name: ``wanted`` masked (``scrub``: the workbook's, which knows the holder's
        own TIN), cleaned, cut and made unique.  A cut can end a longer digit run on nine digits,
        so what is cut is masked again.  Formulas, links, charts and print titles all take the
        name this returns (``_Sheet.name``), so they name the masked sheet."""
        name = _BAD_SHEET_CHARS.sub("_", scrub(wanted)).strip().strip("'")
        name = _BAD_SHEET_CHARS.sub("_", scrub(_cut(name, 31))).strip().strip("'") or "Sheet"
        if name.lower() == "history":  # reserved by Excel
            name = "History_"
        candidate, number = name, 2
        while candidate.lower() in self.used:
            tail = f"~{number}"
            candidate = _BAD_SHEET_CHARS.sub("_", scrub(_cut(name, 31 - len(tail)))).rstrip("'") + tail
            number += 1
        self.used.add(candidate.lower())
        return candidate


def _quote(sheet: str) -> str:
    return "'" + sheet.replace("'", "''") + "'"


def _cell(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col)


def _range(row0: int, col: int, row1: int) -> str:
    return f"{_cell(row0, col)}:{_cell(row1, col)}"


# -- styles ---------------------------------------------------------------------------------------
INPUT_BLUE = "#1F3FBF"
_NUMBER_KINDS = ("money", "per_unit", "rate", "percent", "year_fraction", "date", "integer", "units")


class _Styles:
    """Every cell format of one workbook, made once from the template."""

    def __init__(self, book, template: Template):
        add = book.add_format
        self.title = add({"bold": True, "font_size": 14})
        self.subtitle = add({"bold": True, "font_size": 11})
        self.muted = add({"italic": True, "font_color": "#595959"})
        self.section = add({"bold": True, "font_size": 11, "font_color": "#1F3864", "bottom": 1})
        self.header = add({
            "bold": True, "text_wrap": True, "valign": "top", "bottom": 1, "bg_color": "#D9E1F2",
        })
        self.bold = add({"bold": True})
        self.paragraph = add({"font_color": "#595959"})
        self.note = add({"italic": True, "font_color": "#595959"})
        self.text = add({})
        self.text_input = add({"font_color": INPUT_BLUE})
        self.bool_input = add({"font_color": INPUT_BLUE, "align": "center"})
        self.banner_ok = add({"bold": True, "font_color": "#006100", "bg_color": "#C6EFCE"})
        self.banner_bad = add({
            "bold": True, "font_color": "#FFFFFF", "bg_color": "#C00000", "border": 1,
        })
        self.box = add({"border": 1})
        self.box_header = add({"bold": True, "align": "center"})
        self.year_input = add({"font_color": INPUT_BLUE, "num_format": "0", "align": "left"})
        self.formula, self.input, self.total = {}, {}, {}
        for kind in _NUMBER_KINDS:
            code = template.formats[kind]
            self.formula[kind] = add({"num_format": code})
            self.input[kind] = add({"num_format": code, "font_color": INPUT_BLUE})
            self.total[kind] = add({"num_format": code, "bold": True, "top": 1})
        self.result = add({"num_format": template.formats["money"], "bold": True, "top": 1, "bottom": 6})


# -- a buffered worksheet -------------------------------------------------------------------------
class _Sheet:
    """A worksheet whose cells are planned in any order and written row by row at the end.
    Text always goes through ``xlsx_safe_text`` (no full taxpayer id: any TIN shape, and the
    holder's own ``tin`` in any spelling, is masked) and then ``write_string``, in ``flush``:
    the one path every text cell takes."""

    def __init__(self, book, name: str, tin: str = ""):
        self.ws = book.add_worksheet(name, worksheet_class=_PlainFormulaWorksheet)
        self.name = name
        self.tin = tin
        self.quoted = _quote(name)
        self.rows: dict[int, dict[int, tuple]] = {}
        self.heights: dict[int, float] = {}
        self.plain = None  # a default-font format, for the rich-string escape below

    def _put(self, row: int, col: int, entry: tuple) -> None:
        self.rows.setdefault(row, {})[col] = entry

    def text(self, row: int, col: int, value, fmt=None) -> None:
        value = "" if value is None else str(value)
        if value:
            self._put(row, col, ("s", value, fmt))
        elif fmt is not None:
            self._put(row, col, ("_", fmt))

    def number(self, row: int, col: int, value: float, fmt=None) -> None:
        self._put(row, col, ("n", float(value), fmt))

    def formula(self, row: int, col: int, formula: str, value, fmt=None) -> str:
        self._put(row, col, ("f", "=" + formula.lstrip("="), fmt, value))
        return _cell(row, col)

    def date(self, row: int, col: int, value: date | None, fmt=None) -> None:
        if value is None:
            if fmt is not None:
                self._put(row, col, ("_", fmt))
            return
        self._put(row, col, ("d", value, fmt))

    def boolean(self, row: int, col: int, value: bool, fmt=None) -> None:
        self._put(row, col, ("b", bool(value), fmt))

    def blank(self, row: int, col: int, fmt) -> None:
        self._put(row, col, ("_", fmt))

    def link(self, row: int, col: int, sheet: str, text: str, fmt=None) -> None:
        self._put(row, col, ("u", f"internal:{_quote(sheet)}!A1", text, fmt))

    def start_table(self, row: int, title: str, layout, year: int, styles) -> tuple[dict, int]:
        """A section title, then the table's column headers under it.  Returns the column of
        each column id and the first data row."""
        self.text(row, 0, title, styles.section)
        self.column_headers(row + 1, layout, year, styles.header)
        return {cid: layout.index(cid) for cid in layout.order}, row + 2

    def column_headers(self, row: int, layout, year: int, fmt) -> None:
        """A table's column headers, in the template's order and wording."""
        for cid in layout.order:
            self.header_text(row, layout.index(cid), layout.label(cid, year=year), fmt)

    def header_text(self, row: int, col: int, value: str, fmt) -> None:
        """A table column header: the row is tall enough for a label wrapped on three lines."""
        self.heights[row] = max(self.heights.get(row, 0), 45)
        self.text(row, col, value, fmt)

    def merged_text(self, row: int, col0: int, col1: int, value: str, fmt) -> None:
        self._put(row, col0, ("m", col1, str(value), fmt))

    def ref(self, row: int, col: int) -> str:
        """``'Sheet'!G12``: this sheet's cell as another sheet's formula names it."""
        return f"{self.quoted}!{_cell(row, col)}"

    def flush(self, plain_format) -> None:
        ws, tin = self.ws, self.tin
        for row in sorted(self.rows):
            if row in self.heights:
                ws.set_row(row, self.heights[row])
            cells = self.rows[row]
            for col in sorted(cells):
                entry = cells[col]
                kind = entry[0]
                if kind == "s":
                    _write_text(ws, row, col, xlsx_safe_text(entry[1], tin), entry[2], plain_format)
                elif kind == "n":
                    ws.write_number(row, col, entry[1], entry[2])
                elif kind == "f":
                    ws.write_formula(row, col, entry[1], entry[2], entry[3])
                elif kind == "d":
                    ws.write_datetime(row, col, entry[1], entry[2])
                elif kind == "b":
                    ws.write_boolean(row, col, entry[1], entry[2])
                elif kind == "_":
                    ws.write_blank(row, col, None, entry[1])
                elif kind == "u":
                    text = xlsx_safe_text(entry[2], tin)
                    if text.startswith("<r>") and text.endswith("</r>"):
                        _write_text(ws, row, col, text, entry[3], plain_format)
                    else:
                        ws.write_url(row, col, entry[1], entry[3], string=text)
                elif kind == "m":
                    ws.merge_range(row, col, row, entry[1], "", entry[3])
                    _write_text(ws, row, col, xlsx_safe_text(entry[2], tin), entry[3], plain_format)
        self.rows.clear()


def _write_text(ws, row: int, col: int, text: str, fmt, plain_format) -> None:
    """Write ``text`` (already through ``xlsx_safe_text``) as literal text.  XlsxWriter copies
    a string that starts with ``<r>`` and ends with ``</r>`` into the XML unescaped (it takes it
    for a prepared rich string), so such a string is written as a two-piece rich string
    instead, which is escaped and reads back as the same text."""
    if text.startswith("<r>") and text.endswith("</r>"):
        if fmt is None:
            ws.write_rich_string(row, col, "<", plain_format, text[1:])
        else:
            ws.write_rich_string(row, col, "<", plain_format, text[1:], fmt)
        return
    ws.write_string(row, col, text, fmt)


def _header_footer(pattern: str, values: Mapping[str, object]) -> str:
    """Fill a header or footer pattern; the values are escaped (``&`` → ``&&``) and shortened
    until the result fits Excel's 255 characters."""
    from cpdi.writers.template import _fill

    for limit in (None, 60, 30, 12, 0):
        escaped = {}
        for key, value in values.items():
            text = str(value)
            if limit is not None and len(text) > limit:
                text = text[:limit] + ("…" if limit else "")
            escaped[key] = text.replace("&", "&&")
        result = _fill(pattern, escaped)
        if len(result) <= HEADER_FOOTER_LIMIT:
            return result
    return result[:HEADER_FOOTER_LIMIT].rstrip("&")


# -- what a lot sheet exposes to the cover -------------------------------------------------------
@dataclass
class _LotCells:
    """Cells of one lot sheet the Cover and Lots sheets add up (refs like ``'Lot L-1'!G40``)."""

    ledger: LotLedger
    row: LotYear
    sheet: str
    refs: dict  # figure -> (ref, value)
    days_ref: str


FIGURES_ALWAYS = ("interest_income", "ordinary_loss", "carryforward_out", "adjusted_basis_end")
FIGURES_DISPOSITION = (
    "consideration", "carryforward_applied", "amount_realized", "adjusted_basis", "gain_loss",
    "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
)


class _Workbook:
    """One holder's workbook while it is being planned."""

    def __init__(self, book, template: Template, holder_id: str, year: int, prepared: date,
                 tin: str = ""):
        self.book = book
        self.t = template
        self.holder_id = holder_id
        self.tin = tin  # the holder's own taxpayer id: masked in any spelling wherever it appears
        self.year = year
        self.prepared = prepared
        self.styles = _Styles(book, template)
        self.plain = book.add_format({})
        self.names = _SheetNames()
        self.sheets: list[_Sheet] = []
        self.ref = self.safe(template.workpaper_ref(holder_id, year))

    def safe(self, text) -> str:
        """Text for anything but a cell (sheet names, headers, properties): no full TIN."""
        return xlsx_safe_text(text, self.tin)

    def add_sheet(self, wanted: str) -> _Sheet:
        sheet = _Sheet(self.book, self.names.make(wanted, self.safe), self.tin)
        self.sheets.append(sheet)
        return sheet

    def print_setup(self, sheet: _Sheet, repeat: tuple[int, int] | None, freeze: int | None,
                    widths: Sequence[float]) -> None:
        ws = sheet.ws
        for col, width in enumerate(widths):
            ws.set_column(col, col, width)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        if repeat is not None:
            ws.repeat_rows(*repeat)
        if freeze is not None:
            ws.freeze_panes(freeze, 0)
        values = {
            "firm": self.t.firm_name, "title": self.t.title_for(self.year), "ref": self.ref,
            "sheet": sheet.name, "holder_id": self.holder_id, "year": self.year,
        }
        ws.set_header(self.safe(_header_footer(self.t.header, values)))
        ws.set_footer(self.safe(_header_footer(self.t.footer, values)))

    def title_rows(self, sheet: _Sheet, title: str) -> None:
        sheet.text(0, 0, self.t.firm_name, self.styles.title)
        sheet.text(1, 0, title, self.styles.subtitle)
        sheet.text(2, 0, f"{self.ref} · {self.t.line('tax_year')} {self.year}", self.styles.muted)

    def flush(self) -> None:
        for sheet in self.sheets:
            sheet.flush(self.plain)


def _widths(template: Template, kinds_by_column: Iterable[Sequence[str]], minimum: Mapping[int, float] = {}) -> list[float]:
    """Sheet column widths: each column as wide as the widest table column placed in it."""
    width = {}
    for kinds in kinds_by_column:
        for col, kind in enumerate(kinds):
            width[col] = max(width.get(col, 0), template.widths.get(kind, template.widths["text"]))
    for col, value in minimum.items():
        width[col] = max(width.get(col, 0), value)
    if width:
        width[0] = max(width[0], template.widths["label"])
    return [width.get(col, template.widths["text"]) for col in range(max(width) + 1 if width else 0)]


# Kinds of the table columns (for widths and formats).
SCHEDULE_KINDS = {
    "period": "integer", "period_start": "date", "period_end": "date", "days": "integer",
    "year_fraction": "year_fraction", "rate": "rate", "aip_start": "per_unit",
    "interest": "per_unit", "daily_portion": "per_unit", "projected_payment": "per_unit",
    "payment_type": "text", "aip_end": "per_unit", "actual_payment": "per_unit",
}
ACCRUAL_KINDS = {
    "period": "integer", "period_start": "date", "period_end": "date", "held_from": "date",
    "held_through": "date", "days": "integer", "daily_portion": "per_unit", "accrued": "money",
    "allocation_per_day": "per_unit", "allocation": "money", "allocation_positive": "money",
    "allocation_negative": "money",
}
PAYMENT_KINDS = {
    "date": "date", "period": "integer", "payment_type": "text", "projected_per_unit": "per_unit",
    "actual_per_unit": "per_unit", "projected": "money", "actual": "money", "adjustment": "money",
    "positive": "money", "negative": "money", "reduces_basis": "money", "note": "note",
}
ALLOCATION_KINDS = {
    "date": "date", "description": "text", "amount": "money", "positive": "money",
    "negative": "money",
}
LOTS_KINDS = {
    "lot_id": "text", "instrument_id": "text", "sheet": "text", "acquisition_date": "date",
    "ending": "text", "disposition_date": "date", "days_held": "integer",
    **{name: "money" for name in FIGURES_ALWAYS + FIGURES_DISPOSITION},
}
SUMMARY_KINDS = {
    "holder_id": "text", "name": "text", "instrument_id": "text", "lots": "integer",
    **{name: "money" for name in (
        "interest_income", "ordinary_loss", "carryforward_out", "proceeds", "amount_realized",
        "adjusted_basis", "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
        "capital_loss_on_disposition", "capital_gain_on_disposition", "adjusted_basis_end",
    )},
}

# The key-value blocks of the instrument and lot sheets: the label overflows to the value's
# left; the paragraph and a note in words follow the value.
KV_LABEL, KV_VALUE, KV_PARAGRAPH, KV_NOTE = 0, 6, 7, 9


def _day_count_days_header(sheet, row: int, columns: dict, layout, instrument, year: int, st) -> None:
    """Under the ``day_count`` daily portion basis the days columns hold day-count days
    (method §3): their header says whose."""
    if instrument.daily_portion_basis is DailyPortionBasis.CALENDAR_DAYS or "days" not in columns:
        return
    label = layout.label("days", year=year)
    sheet.header_text(row, columns["days"],
                      f"{label} ({instrument.comparable_yield.day_count.value})", st.header)


def _weight_format(st, weight: float):
    """Whole days print as days; an ACT/ACT day-count weight (method §3) shows its decimals."""
    return st.input["integer"] if float(weight).is_integer() else st.input["per_unit"]


# -- instrument sheet -----------------------------------------------------------------------------
@dataclass
class _InstrumentCells:
    sheet: _Sheet
    unit_principal: str  # ref
    daily_portion: dict  # period index -> ref
    projected: dict  # period index -> ref


def _instrument_sheet(wb: _Workbook, book) -> _InstrumentCells:
    """Terms, §8 validation, and the accrual table of method §3 as formulas (per unit)."""
    t, st = wb.t, wb.styles
    instrument = book.instrument
    schedule = book.schedule
    report = book.validation
    sheet = wb.add_sheet(t.sheet("instrument", instrument_id=instrument.instrument_id))
    layout = t.tables["schedule"]
    col = {cid: layout.index(cid) for cid in layout.order}
    ncols = len(layout.order)
    title = f"{t.section('instrument_title', wb.year)} {instrument.instrument_id}"
    if instrument.description:
        title += f" — {instrument.description}"
    wb.title_rows(sheet, title)

    # terms (left) and validation (right), side by side to keep the table near the top
    left, right = 4, 4
    sheet.text(left, 0, t.section("instrument_terms", wb.year), st.section)
    label_r, value_r = 8, ncols - 1
    sheet.text(right, label_r, t.section("instrument_validation", wb.year), st.section)

    def term(label_key, writer, *args):
        nonlocal left
        left += 1
        sheet.text(left, KV_LABEL, t.line(label_key, wb.year))
        writer(left, KV_VALUE, *args)
        return left

    term("instrument_id", sheet.text, instrument.instrument_id, st.text_input)
    if instrument.description:  # from column B, so the text has room
        left += 1
        sheet.text(left, KV_LABEL, t.line("description", wb.year))
        sheet.text(left, 1, instrument.description, st.text_input)
    term("issue_date", sheet.date, instrument.issue_date, st.input["date"])
    term("maturity_date", sheet.date, instrument.maturity_date, st.input["date"])
    issue_price_row = term("issue_price", sheet.number, instrument.issue_price, st.input["per_unit"])
    unit_row = term("unit_principal", sheet.number, instrument.unit_principal, st.input["per_unit"])
    cy = instrument.comparable_yield
    term("comparable_yield", sheet.number, cy.annual_rate, st.input["percent"])
    term("frequency", sheet.number, cy.frequency, st.input["integer"])
    term("day_count", sheet.text, cy.day_count.value, st.text_input)
    if instrument.daily_portion_basis is not DailyPortionBasis.CALENDAR_DAYS:
        # only shown when it departs from the default, so that "days" reads right (method §3)
        term("daily_portion_basis", sheet.text,
             f"{instrument.daily_portion_basis.value}: the days columns are {cy.day_count.value} days",
             st.text_input)
    actuals = book.actuals
    if actuals.call_date is not None:
        term("call_date", sheet.date, actuals.call_date, st.input["date"])
        term("redemption", sheet.number, actuals.redemption_amount or 0.0, st.input["per_unit"])
    issue_price_ref = _cell(issue_price_row, KV_VALUE)

    # the table's place is known once both blocks are laid out; validation refers to its end
    validation_lines = 7 + len(report.corrections) + len(report.problems)
    table_section = max(left, right + validation_lines) + 2
    header = table_section + 1
    first = header + 1
    periods = schedule.periods
    last = first + len(periods) - 1

    def check(label_key, writer, *args):
        nonlocal right
        right += 1
        sheet.text(right, label_r, t.line(label_key, wb.year))
        writer(right, value_r, *args)
        return right

    status = report.status
    check("validation_status", sheet.text, status,
          st.banner_ok if status == "OK" else st.banner_bad)
    pv_row = check("present_value", sheet.number, report.present_value, st.input["per_unit"])
    check("pv_difference", lambda r, c: sheet.formula(
        r, c, f"{_cell(pv_row, c)}-{issue_price_ref}", report.pv_difference, st.formula["per_unit"]))
    final = periods[-1].adjusted_issue_price_end if periods else 0.0
    check("final_aip", lambda r, c: sheet.formula(
        r, c, _cell(last, col["aip_end"]), final, st.formula["per_unit"]))
    if report.implied_yield_pct is None:
        check("implied_yield", sheet.text, "n/a", st.text_input)
    else:
        check("implied_yield", sheet.number, report.implied_yield_pct / 100.0, st.input["percent"])
    check("tolerance", sheet.number, report.tolerance, st.input["per_unit"])
    check("within_tolerance", sheet.boolean, report.within_tolerance, st.bool_input)
    for correction in report.corrections:
        text = (f"period {correction.period_number} ({correction.period_end.isoformat()}): printed "
                f"{correction.printed:.4f}, {correction.corrected:.4f} closes the schedule")
        if correction.looks_like:
            text += f" — {correction.looks_like}"
        check("correction", sheet.text, text, st.text)
    for problem in report.problems:
        check("validation_problem", sheet.text, problem, st.text)
    if status == "ACCEPTED":  # shown prominently, across the sheet under the title
        sheet.merged_text(3, 0, ncols - 1, (
            f"{t.line('accepted', wb.year)} — PV − issue price {report.pv_difference:+.6f}, "
            f"final AIP {report.final_adjusted_issue_price:+.6f} per unit "
            f"(tolerance {report.tolerance:.6f})"), st.banner_bad)
    elif status != "OK":
        sheet.merged_text(3, 0, ncols - 1, f"{status}: {t.line('failed', wb.year)}", st.banner_bad)

    # the accrual table: rate is an input, everything else chains from the issue price
    sheet.text(table_section, 0, t.section("instrument_schedule", wb.year), st.section)
    sheet.column_headers(header, layout, wb.year, st.header)
    _day_count_days_header(sheet, header, col, layout, instrument, wb.year, st)
    daily_refs, projected_refs = {}, {}
    for index, p in enumerate(periods):
        r = first + index
        c = col
        sheet.number(r, c["period"], p.number, st.input["integer"])
        sheet.date(r, c["period_start"], p.period_start, st.input["date"])
        sheet.date(r, c["period_end"], p.period_end, st.input["date"])
        sheet.number(r, c["days"], p.weight, _weight_format(st, p.weight))
        sheet.number(r, c["year_fraction"], p.year_fraction, st.input["year_fraction"])
        sheet.number(r, c["rate"], p.rate, st.input["rate"])
        start = issue_price_ref if index == 0 else _cell(r - 1, c["aip_end"])
        sheet.formula(r, c["aip_start"], start, p.adjusted_issue_price_start, st.formula["per_unit"])
        aip, rate = _cell(r, c["aip_start"]), _cell(r, c["rate"])
        sheet.formula(r, c["interest"], f"{aip}*{rate}", p.interest, st.formula["per_unit"])
        interest, days = _cell(r, c["interest"]), _cell(r, c["days"])
        sheet.formula(r, c["daily_portion"], f"{interest}/{days}", p.daily_portion, st.formula["per_unit"])
        sheet.number(r, c["projected_payment"], p.projected_payment, st.input["per_unit"])
        sheet.text(r, c["payment_type"], p.payment_type.value, st.text_input)
        projected = _cell(r, c["projected_payment"])
        sheet.formula(r, c["aip_end"], f"{aip}+{interest}-{projected}", p.adjusted_issue_price_end,
                      st.formula["per_unit"])
        actual = actuals.scheduled.get(p.period_end)
        if actual is not None:
            sheet.number(r, c["actual_payment"], actual, st.input["per_unit"])
        daily_refs[index] = sheet.ref(r, c["daily_portion"])
        projected_refs[index] = sheet.ref(r, c["projected_payment"])

    if periods:
        sheet.text(last + 2, 0, t.section("instrument_chart", wb.year), st.section)
        _aip_chart(wb, sheet, header, first, last, col, last + 2)
        sheet.ws.set_h_pagebreaks([last + 2])  # the chart prints on a page of its own
    kinds = [SCHEDULE_KINDS[cid] for cid in layout.order]
    widths = _widths(t, [kinds], {KV_VALUE: t.widths["money"], value_r: t.widths["money"]})
    wb.print_setup(sheet, (header, header), header + 1, widths)
    return _InstrumentCells(sheet, sheet.ref(unit_row, KV_VALUE), daily_refs, projected_refs)


def _aip_chart(wb: _Workbook, sheet: _Sheet, header: int, first: int, last: int, col: dict, at: int) -> None:
    """A line of the adjusted issue price with the projected (and known actual) payments as
    columns on a second axis.  Names come from the header cells, never from text."""
    name = sheet.name
    line = wb.book.add_chart({"type": "line"})
    line.add_series({
        "name": [name, header, col["aip_end"]],
        "categories": [name, first, col["period_end"], last, col["period_end"]],
        "values": [name, first, col["aip_end"], last, col["aip_end"]],
        "line": {"width": 2.0},
    })
    bars = wb.book.add_chart({"type": "column"})
    for key in ("projected_payment", "actual_payment"):
        bars.add_series({
            "name": [name, header, col[key]],
            "categories": [name, first, col["period_end"], last, col["period_end"]],
            "values": [name, first, col[key], last, col[key]],
            "y2_axis": True,
        })
    line.combine(bars)
    # a literal title (the section title from the template): LibreOffice shows a title that
    # refers to a cell as "Chart Title"
    line.set_title({"name": wb.safe(wb.t.section("instrument_chart", wb.year)), "name_font": {"size": 11}})
    line.set_x_axis({"date_axis": True, "num_format": "yyyy-mm", "num_font": {"rotation": -45}})
    line.set_y_axis({"num_format": "#,##0"})
    bars.set_y2_axis({"num_format": "#,##0"})
    line.set_legend({"position": "bottom"})
    line.set_size({"width": 960, "height": 320})
    sheet.ws.insert_chart(at + 1, 0, line)


# -- lot sheet ------------------------------------------------------------------------------------
def _lot_sheet(wb: _Workbook, ledger: LotLedger, row: LotYear, book, inst: _InstrumentCells) -> _LotCells:
    """The lot's year as the method computes it, each line a formula citing its paragraph."""
    t, st, year = wb.t, wb.styles, wb.year
    lot = ledger.lot
    schedule = book.schedule
    periods = schedule.periods
    units = ledger.units
    sheet = wb.add_sheet(t.sheet("lot", lot_id=lot.lot_id, instrument_id=lot.instrument_id))
    wb.title_rows(sheet, f"{t.section('lot_title', year)} {lot.lot_id} — {lot.instrument_id}")
    money, per_unit = st.formula["money"], st.formula["per_unit"]
    r = 4

    def kv(label, paragraph="", note=""):
        nonlocal r
        sheet.text(r, KV_LABEL, label)
        sheet.text(r, KV_PARAGRAPH, paragraph, st.paragraph)
        sheet.text(r, KV_NOTE, note, st.note)
        r += 1
        return r - 1

    def value_line(label, value, fmt, paragraph="", note=""):
        at = kv(label, paragraph, note)
        if isinstance(value, str):
            sheet.text(at, KV_VALUE, value, fmt)
        elif isinstance(value, bool):
            sheet.boolean(at, KV_VALUE, value, fmt)
        elif isinstance(value, date):
            sheet.date(at, KV_VALUE, value, fmt)
        else:
            sheet.number(at, KV_VALUE, value, fmt)
        return _cell(at, KV_VALUE)

    def formula_line(label, formula, value, fmt, paragraph="", note=""):
        at = kv(label, paragraph, note)
        return sheet.formula(at, KV_VALUE, formula, value, fmt)

    # -- the lot and its (b)(9)(i) difference ---------------------------------------------------
    sheet.text(r, 0, t.section("lot_terms", year), st.section)
    r += 1
    value_line(t.line("lot_id", year), lot.lot_id, st.text_input)
    value_line(t.line("holder", year), lot.holder_id, st.text_input)
    value_line(t.line("instrument", year), lot.instrument_id, st.text_input)
    principal = value_line(t.line("principal", year), lot.principal_amount, st.input["money"])
    unit = formula_line(t.line("unit_principal", year), inst.unit_principal,
                        book.instrument.unit_principal, per_unit, "", f"from {inst.unit_principal}")
    units_ref = formula_line(t.line("units", year), f"{principal}/{unit}", units, st.formula["units"],
                             "method §4")
    value_line(t.line("acquisition_date", year), lot.acquisition_date, st.input["date"])
    cost = value_line(t.line("cost_basis", year), lot.cost_basis, st.input["money"])
    ending = ledger.holding.ending
    value_line(t.line("ending", year), ending.value if row.disposition_date else "held", st.text_input,
               "(b)(7)", "" if row.disposition_date else f"held at the end of {year}")
    if row.disposition_date is not None:
        value_line(t.line("disposition_date", year), row.disposition_date, st.input["date"])
    proceeds = None
    if lot.proceeds is not None and ending is Ending.SALE:
        proceeds = value_line(t.line("sale_proceeds", year), lot.proceeds, st.input["money"])
    value_line(t.line("basis_allocation", year), lot.basis_allocation.value, st.text_input, "(b)(9)(i)(A)",
               "method §6")
    if ledger.allocation.holder_yield is not None:
        value_line(t.line("holder_yield", year), ledger.allocation.holder_yield, st.input["percent"],
                   "(b)(9)(i)(F)", "given" if lot.holder_yield_pct is not None else "solved: nothing left to maturity")
    if lot.allocate_to_maturity:
        value_line(t.line("allocate_to_maturity", year), lot.allocate_to_maturity, st.input["money"],
                   "(b)(9)(i)(F)")
    aip_a = schedule.adjusted_issue_price(lot.acquisition_date)
    aip_ref = value_line(t.line("aip_at_acquisition", year), aip_a, st.input["per_unit"], "(b)(7)(ii)",
                         "issue price + daily portions before A − projected payments before A")
    formula_line(t.line("basis_difference", year), f"{aip_ref}*{units_ref}-{cost}",
                 aip_a * units - lot.cost_basis, money, "(b)(9)(i)(A)",
                 "> 0 discount: positive adjustments; < 0 premium: negative adjustments")
    days_ref = value_line(t.line("days_held", year), row.days_held, st.input["integer"], "method §4",
                          "ledger days_held")
    r += 1

    # -- accrual: one row per held piece of an accrual period ----------------------------------
    layout = t.tables["accrual"]
    c, r = sheet.start_table(r, t.section("lot_accrual", year), layout, year, st)
    _day_count_days_header(sheet, r - 1, c, layout, schedule.instrument, year, st)
    segments = [s for s in ledger.segments if s.year == year]
    seg_first = r
    accrued_values, alloc_values = [], []
    for seg in segments:
        p = periods[seg.period_index]
        sheet.number(r, c["period"], p.number, st.input["integer"])
        sheet.date(r, c["period_start"], p.period_start, st.input["date"])
        sheet.date(r, c["period_end"], p.period_end, st.input["date"])
        sheet.date(r, c["held_from"], seg.first_day, st.input["date"])
        sheet.date(r, c["held_through"], seg.last_day, st.input["date"])
        sheet.number(r, c["days"], seg.weighted_days, _weight_format(st, seg.weighted_days))
        sheet.formula(r, c["daily_portion"], inst.daily_portion[seg.period_index], p.daily_portion, per_unit)
        days, daily = _cell(r, c["days"]), _cell(r, c["daily_portion"])
        accrued = p.daily_portion * seg.weighted_days * units
        accrued_values.append(accrued)
        sheet.formula(r, c["accrued"], f"{days}*{daily}*{units_ref}", accrued, money)
        per_day = ledger.allocation.per_day[seg.period_index]
        sheet.number(r, c["allocation_per_day"], per_day, st.input["per_unit"])
        share = per_day * seg.weighted_days
        alloc_values.append(share)
        sheet.formula(r, c["allocation"], f"{days}*{_cell(r, c['allocation_per_day'])}", share, money)
        alloc = _cell(r, c["allocation"])
        sheet.formula(r, c["allocation_positive"], f"MAX({alloc},0)", max(share, 0.0), money)
        sheet.formula(r, c["allocation_negative"], f"MAX(-{alloc},0)", max(-share, 0.0), money)
        r += 1
    seg_last = r - 1
    if not segments:
        sheet.text(r, 0, t.line("no_rows", year), st.note)
        r += 1

    def column_total(first_row, last_row, column, values, fmt=None):
        if last_row < first_row:
            return sheet.formula(r, column, "0", 0.0, fmt or st.total["money"])
        return sheet.formula(r, column, f"SUM({_range(first_row, column, last_row)})", sum(values),
                             fmt or st.total["money"])

    sheet.text(r, 0, t.line("total", year), st.bold)
    column_total(seg_first, seg_last, c["days"], [s.weighted_days for s in segments], st.total["integer"])
    accrued_total = column_total(seg_first, seg_last, c["accrued"], accrued_values)
    alloc_total = column_total(seg_first, seg_last, c["allocation"], alloc_values)
    alloc_pos_total = column_total(seg_first, seg_last, c["allocation_positive"],
                                   [max(v, 0.0) for v in alloc_values])
    alloc_neg_total = column_total(seg_first, seg_last, c["allocation_negative"],
                                   [max(-v, 0.0) for v in alloc_values])
    r += 2

    # -- payments received and their adjustments -------------------------------------------
    layout = t.tables["payments"]
    c, r = sheet.start_table(r, t.section("lot_payments", year), layout, year, st)
    payments = [p for p in ledger.payments if p.date.year == year]
    pay_first = r
    final_projected_ref = None
    pos_values, neg_values, reduce_values, projected_values = [], [], [], []
    maturity = book.instrument.maturity_date
    for payment in payments:
        period = periods[payment.period_index]
        actual_per_unit = book.actuals.scheduled.get(payment.date)
        if actual_per_unit is None:
            actual_per_unit = period.projected_payment
        is_final = ending is Ending.MATURITY and payment.date == maturity
        sheet.date(r, c["date"], payment.date, st.input["date"])
        sheet.number(r, c["period"], period.number, st.input["integer"])
        sheet.text(r, c["payment_type"], payment.payment_type.value, st.text_input)
        sheet.formula(r, c["projected_per_unit"], inst.projected[payment.period_index],
                      period.projected_payment, per_unit)
        sheet.number(r, c["actual_per_unit"], actual_per_unit, st.input["per_unit"])
        ppu, apu = _cell(r, c["projected_per_unit"]), _cell(r, c["actual_per_unit"])
        projected = period.projected_payment * units
        actual = actual_per_unit * units
        sheet.formula(r, c["projected"], f"{ppu}*{units_ref}", projected, money)
        sheet.formula(r, c["actual"], f"{apu}*{units_ref}", actual, money)
        proj, act = _cell(r, c["projected"]), _cell(r, c["actual"])
        adjustment = actual - projected
        sheet.formula(r, c["adjustment"], f"{act}-{proj}", adjustment, money)
        adj = _cell(r, c["adjustment"])
        sheet.formula(r, c["positive"], f"MAX({adj},0)", max(adjustment, 0.0), money)
        sheet.formula(r, c["negative"], f"MAX(-{adj},0)", max(-adjustment, 0.0), money)
        pos_values.append(max(adjustment, 0.0))
        neg_values.append(max(-adjustment, 0.0))
        projected_values.append(projected)
        notes = []
        if is_final:
            sheet.number(r, c["reduces_basis"], 0.0, st.input["money"])
            reduce_values.append(0.0)
            final_projected_ref = proj
            notes.append(t.line("final_payment", year) + " (b)(7)(iv)")
        else:
            sheet.formula(r, c["reduces_basis"], proj, projected, money)
            reduce_values.append(projected)
        if not payment.actual_supplied:
            notes.append("fixed payment with no actual row: taken as paid at its projection (method §5)")
        sheet.text(r, c["note"], "; ".join(notes), st.note)
        r += 1
    pay_last = r - 1
    if not payments:
        sheet.text(r, 0, t.line("no_rows", year), st.note)
        r += 1
    sheet.text(r, 0, t.line("total", year), st.bold)
    column_total(pay_first, pay_last, c["projected"], projected_values)
    column_total(pay_first, pay_last, c["actual"], [p.actual for p in payments])
    column_total(pay_first, pay_last, c["adjustment"], [a - b for a, b in zip([p.actual for p in payments], projected_values)])
    pay_pos_total = column_total(pay_first, pay_last, c["positive"], pos_values)
    pay_neg_total = column_total(pay_first, pay_last, c["negative"], neg_values)
    reduces_total = column_total(pay_first, pay_last, c["reduces_basis"], reduce_values)
    r += 2

    # -- (b)(9)(i) allocations to a payment ---------------------------------------------------
    point_totals = None
    point_values = []
    if ledger.allocation.at_dates:
        layout = t.tables["allocations"]
        c, r = sheet.start_table(r, t.section("lot_allocations", year), layout, year, st)
        point_first = r
        holding = ledger.holding
        for on, amount in ledger.allocation.at_dates:
            if not (holding.holds(on) and on <= holding.last_day and on.year == year):
                continue
            sheet.date(r, c["date"], on, st.input["date"])
            what = "payment at maturity" if on == maturity else "payment due"
            sheet.text(r, c["description"], f"{what} (b)(9)(i)(B)/(C)", st.text)
            sheet.number(r, c["amount"], amount, st.input["money"])
            amt = _cell(r, c["amount"])
            sheet.formula(r, c["positive"], f"MAX({amt},0)", max(amount, 0.0), money)
            sheet.formula(r, c["negative"], f"MAX(-{amt},0)", max(-amount, 0.0), money)
            point_values.append(amount)
            r += 1
        point_last = r - 1
        if point_last < point_first:
            sheet.text(r, 0, t.line("no_rows", year), st.note)
            r += 1
        sheet.text(r, 0, t.line("total", year), st.bold)
        point_totals = (
            column_total(point_first, point_last, c["amount"], point_values),
            column_total(point_first, point_last, c["positive"], [max(v, 0.0) for v in point_values]),
            column_total(point_first, point_last, c["negative"], [max(-v, 0.0) for v in point_values]),
        )
        r += 2

    # -- annual netting (b)(6)(ii)-(iii), method §5 ---------------------------------------------
    earlier = [y for y in ledger.years if y.tax_year < year]
    prior_inclusions = 0.0
    prior_losses = 0.0
    for y in earlier:  # the engine's running sums, in its order
        prior_inclusions += y.interest_income
        prior_losses += y.ordinary_loss
    disposed = row.disposition_date is not None

    sheet.text(r, 0, t.section("lot_netting", year), st.section)
    r += 1
    accrued = formula_line(t.line("interest_accrued", year), accrued_total, row.interest_accrued, money,
                           "(b)(3)(iii)", "total of the accrual table")
    pos_parts = [pay_pos_total, alloc_pos_total] + ([point_totals[1]] if point_totals else [])
    neg_parts = [pay_neg_total, alloc_neg_total] + ([point_totals[2]] if point_totals else [])
    positive = formula_line(t.line("positive_adjustments", year), "+".join(pos_parts),
                            row.positive_adjustments, money, "(b)(6)(i); (b)(9)(i)(B)",
                            "payments + daily allocations" + (" + allocations to payments" if point_totals else ""))
    negative = formula_line(t.line("negative_adjustments", year), "+".join(neg_parts),
                            row.negative_adjustments, money, "(b)(6)(i); (b)(9)(i)(C)",
                            "payments + daily allocations" + (" + allocations to payments" if point_totals else ""))
    carry_in = value_line(t.line("carryforward_in", year), row.carryforward_in, st.input["money"],
                          "(b)(6)(iii)(C)", "negative adjustment on 1 January")
    net_value = row.positive_adjustments - row.negative_adjustments - row.carryforward_in
    net = formula_line(t.line("net_adjustment", year), f"{positive}-{negative}-{carry_in}", net_value,
                       money, "(b)(6)(ii)")
    net_pos = formula_line(t.line("net_positive_adjustment", year), f"MAX({net},0)",
                           row.net_positive_adjustment, money, "(b)(6)(ii)(A)", "additional interest")
    nna = formula_line(t.line("net_negative_adjustment", year), f"MAX(-{net},0)",
                       row.net_negative_adjustment, money, "(b)(6)(iii)")
    reduction = formula_line(t.line("interest_reduction", year), f"MIN({nna},MAX({accrued},0))",
                             row.interest_reduction, money, "(b)(6)(iii)(A)",
                             "MIN(net negative, interest accrued)")
    income = formula_line(t.line("netted_interest_income", year), f"{accrued}+{net_pos}-{reduction}",
                          row.interest_income, st.result, "(b)(6)(ii)(A); (b)(6)(iii)(A)",
                          "accrued + net positive − reduction")
    prior_inc = value_line(t.line("prior_inclusions", year), prior_inclusions, st.input["money"],
                           "(b)(6)(iii)(B)", f"ledger {earlier[0].tax_year}–{year - 1}" if earlier else "none")
    prior_ol = value_line(t.line("prior_ordinary_losses", year), prior_losses, st.input["money"],
                          "(b)(6)(iii)(B)", f"ledger {earlier[0].tax_year}–{year - 1}" if earlier else "none")
    ordinary = formula_line(
        t.line("netted_ordinary_loss", year),
        f"MIN({nna}-{reduction},MAX(0,{prior_inc}+{income}-{prior_ol}))", row.ordinary_loss,
        st.result, "(b)(6)(iii)(B)", "MIN(net negative − reduction, inclusions − earlier ordinary losses)")
    carry_out_row = kv(t.line("netted_carryforward_out", year), "(b)(6)(iii)(C)",
                       "net negative − reduction − ordinary loss"
                       + (" − carryforward used in the amount realized" if disposed else ""))
    leftover_formula = f"{nna}-{reduction}-{ordinary}"
    leftover = row.net_negative_adjustment - row.interest_reduction - row.ordinary_loss
    r += 1

    # -- basis roll-forward (b)(7)(iii) --------------------------------------------------------
    sheet.text(r, 0, t.section("lot_basis", year), st.section)
    r += 1
    if year == lot.acquisition_date.year:
        start = formula_line(t.line("basis_start", year), cost, row.adjusted_basis_start, money,
                             "(b)(7)(iii)", "cost basis")
    else:
        start = value_line(t.line("basis_start", year), row.adjusted_basis_start, st.input["money"],
                           "(b)(7)(iii)", f"ledger {year - 1}: adjusted basis at the end")
    basis_accrued = formula_line(t.line("basis_accrued", year), accrued, row.interest_accrued, money,
                                 "(b)(7)(iii)")
    alloc_formula = alloc_total + (f"+{point_totals[0]}" if point_totals else "")
    basis_alloc = formula_line(t.line("basis_allocations", year), alloc_formula,
                               row.allocation_adjustments, money, "(b)(9)(i)(B)–(C)")
    basis_projected = formula_line(t.line("basis_projected", year), reduces_total,
                                   row.projected_payments_received, money, "(b)(7)(iii)",
                                   "payments received, at their projected amounts")
    basis_end = formula_line(
        t.line("basis_before_disposition" if disposed else "basis_end", year),
        f"{start}+{basis_accrued}+{basis_alloc}-{basis_projected}", row.adjusted_basis_end,
        st.result, "(b)(7)(iii)")
    r += 1

    refs = {
        "interest_income": (sheet.ref(*_rc(income)), row.interest_income),
        "ordinary_loss": (sheet.ref(*_rc(ordinary)), row.ordinary_loss),
        "carryforward_out": (sheet.ref(carry_out_row, KV_VALUE), row.carryforward_out),
        "adjusted_basis_end": (sheet.ref(*_rc(basis_end)), row.adjusted_basis_end),
    }

    # -- disposition (b)(7)(iv)-(v), (b)(6)(iii)(C), (b)(8) -----------------------------------
    mine = {}
    if disposed:
        sheet.text(r, 0, t.section("lot_disposition", year), st.section)
        r += 1
        value_line(t.line("ending", year), ending.value, st.text_input,
                   {"sale": "(b)(7)", "call": "(b)(7)(v)", "maturity": "(b)(7)(iv)"}.get(ending.value, ""))
        if ending is Ending.SALE:
            consideration = formula_line(t.line("consideration_sale", year), proceeds or "0",
                                         row.consideration, money, "(b)(7)")
        elif ending is Ending.CALL:
            rpu = value_line(t.line("redemption_per_unit", year), book.actuals.redemption_amount or 0.0,
                             st.input["per_unit"], "(b)(7)(v)", "payments file, kind redemption")
            consideration = formula_line(t.line("consideration_call", year), f"{rpu}*{units_ref}",
                                         row.consideration, money, "(b)(7)(v)")
        else:
            consideration = formula_line(t.line("consideration_maturity", year),
                                         final_projected_ref or "0", row.consideration, money,
                                         "(b)(7)(iv)", "the final payment's projected amount")
        applied = formula_line(t.line("disposition_carryforward", year), leftover_formula, leftover,
                               money, "(b)(6)(iii)(C)", "net negative − reduction − ordinary loss")
        realized = formula_line(t.line("disposition_amount_realized", year), f"{consideration}-{applied}",
                                row.amount_realized, money, "(b)(6)(iii)(C)")
        basis = formula_line(t.line("disposition_basis", year), basis_end, row.adjusted_basis_end, money,
                             "(b)(7)(iii)")
        gain = formula_line(t.line("disposition_gain_loss", year), f"{realized}-{basis}", row.gain_loss,
                            money, "(b)(8)")
        remains_value = contingent_payment_remains(schedule, row.disposition_date)
        remains = value_line(t.line("contingent_remains", year), remains_value, st.bool_input,
                             "(b)(8)(iii)", "under the projected payment schedule")
        total_inc = formula_line(t.line("total_inclusions", year), f"{prior_inc}+{income}",
                                 prior_inclusions + row.interest_income, money, "(b)(8)(ii)")
        total_ol = formula_line(t.line("total_ordinary_losses", year), f"{prior_ol}+{ordinary}",
                                prior_losses + row.ordinary_loss, money, "(b)(8)(ii)")
        oi = formula_line(t.line("disposition_ordinary_income", year), f"IF({remains},MAX({gain},0),0)",
                          row.ordinary_income_on_disposition, st.result, "(b)(8)(i)")
        ol = formula_line(
            t.line("disposition_ordinary_loss", year),
            f"IF({remains},MIN(MAX(-{gain},0),MAX(0,{total_inc}-{total_ol})),0)",
            row.ordinary_loss_on_disposition, st.result, "(b)(8)(ii)")
        cl = formula_line(t.line("disposition_capital_loss", year), f"MAX(-{gain},0)-{ol}",
                          row.capital_loss_on_disposition, st.result, "(b)(8)(ii); (b)(8)(iii)")
        cg = formula_line(t.line("disposition_capital_gain", year), f"IF({remains},0,MAX({gain},0))",
                          row.capital_gain_on_disposition, st.result, "(b)(8)(iii)")
        sheet.formula(carry_out_row, KV_VALUE, f"{leftover_formula}-{applied}", row.carryforward_out, st.result)
        for key, ref, value in (
            ("consideration", consideration, row.consideration),
            ("carryforward_applied", applied, leftover),
            ("amount_realized", realized, row.amount_realized),
            ("adjusted_basis", basis, row.adjusted_basis_end),
            ("gain_loss", gain, row.gain_loss),
            ("ordinary_income_on_disposition", oi, row.ordinary_income_on_disposition),
            ("ordinary_loss_on_disposition", ol, row.ordinary_loss_on_disposition),
            ("capital_loss_on_disposition", cl, row.capital_loss_on_disposition),
            ("capital_gain_on_disposition", cg, row.capital_gain_on_disposition),
        ):
            refs[key] = (sheet.ref(*_rc(ref)), value)
        mine = _disposition_check(row, leftover, prior_inclusions, prior_losses, remains_value,
                                  final_projected_ref is not None or ending is not Ending.MATURITY,
                                  book, units, lot)
    else:
        sheet.formula(carry_out_row, KV_VALUE, leftover_formula, row.carryforward_out, st.result)

    _check_lot(row, ledger, segments, payments, point_values, book, units, earlier, mine)

    kinds = [
        [ACCRUAL_KINDS[cid] for cid in t.tables["accrual"].order],
        [PAYMENT_KINDS[cid] for cid in t.tables["payments"].order],
        [ALLOCATION_KINDS[cid] for cid in t.tables["allocations"].order],
    ]
    widths = _widths(t, kinds, {KV_VALUE: t.widths["money"]})
    wb.print_setup(sheet, (0, 2), 3, widths)
    return _LotCells(ledger, row, sheet.name, refs, sheet.ref(*_rc(days_ref)))


def _rc(ref: str) -> tuple[int, int]:
    return xl_cell_to_rowcol(ref)


# -- the workpaper must reproduce the engine ------------------------------------------------------
def _disposition_check(row, leftover, prior_inc, prior_ol, remains, has_consideration, book, units, lot):
    """The disposition lines as the formulas compute them, from the inputs the sheet shows."""
    if not has_consideration:
        consideration = 0.0
    elif row.ending == "sale":
        consideration = lot.proceeds or 0.0
    elif row.ending == "call":
        consideration = (book.actuals.redemption_amount or 0.0) * units
    else:
        consideration = book.schedule.periods[-1].projected_payment * units
    realized = consideration - leftover
    gain = realized - row.adjusted_basis_end
    total_inc = prior_inc + row.interest_income
    total_ol = prior_ol + row.ordinary_loss
    oi = max(gain, 0.0) if remains else 0.0
    ol = min(max(-gain, 0.0), max(0.0, total_inc - total_ol)) if remains else 0.0
    return {
        "amount_realized": realized, "gain_loss": gain,
        "ordinary_income_on_disposition": oi, "ordinary_loss_on_disposition": ol,
        "capital_loss_on_disposition": max(-gain, 0.0) - ol,
        "capital_gain_on_disposition": 0.0 if remains else max(gain, 0.0),
    }


def _check_lot(row: LotYear, ledger, segments, payments, point_values, book, units, earlier, disposition) -> None:
    """Recompute the sheet's chain from the inputs it shows, exactly as its formulas do, and
    insist it lands on the engine's ledger row: a workpaper that does not tie out is never
    written."""
    periods = book.schedule.periods
    accrued = sum(periods[s.period_index].daily_portion * s.weighted_days * units for s in segments)
    allocations = [ledger.allocation.per_day[s.period_index] * s.weighted_days for s in segments]
    adjustments = []
    reduces = 0.0
    for payment in payments:
        period = periods[payment.period_index]
        actual = book.actuals.scheduled.get(payment.date, period.projected_payment)
        adjustments.append(actual * units - period.projected_payment * units)
        if not (ledger.holding.ending is Ending.MATURITY and payment.date == book.instrument.maturity_date):
            reduces += period.projected_payment * units
    parts = adjustments + allocations + list(point_values)
    positive = sum(max(v, 0.0) for v in parts)
    negative = sum(max(-v, 0.0) for v in parts)
    net = positive - negative - row.carryforward_in
    net_pos, nna = max(net, 0.0), max(-net, 0.0)
    reduction = min(nna, max(accrued, 0.0))
    income = accrued + net_pos - reduction
    prior_inc = sum(y.interest_income for y in earlier)
    prior_ol = sum(y.ordinary_loss for y in earlier)
    ordinary = min(nna - reduction, max(0.0, prior_inc + income - prior_ol))
    leftover = nna - reduction - ordinary
    basis = row.adjusted_basis_start + accrued + sum(allocations) + sum(point_values) - reduces
    mine = {
        "interest_accrued": accrued, "positive_adjustments": positive,
        "negative_adjustments": negative, "net_positive_adjustment": net_pos,
        "net_negative_adjustment": nna, "interest_reduction": reduction,
        "interest_income": income, "ordinary_loss": ordinary,
        "carryforward_out": 0.0 if row.disposition_date else leftover,
        "adjusted_basis_end": basis,
        "allocation_adjustments": sum(allocations) + sum(point_values),
        "projected_payments_received": reduces,
        **disposition,
    }
    if earlier:
        mine["adjusted_basis_start"] = earlier[-1].adjusted_basis_end
        mine["carryforward_in"] = earlier[-1].carryforward_out
    for name, value in mine.items():
        engine = getattr(row, name)
        if abs(value - engine) > CHECK_TOLERANCE:
            raise WorkpaperError(
                f"workpaper for lot {row.lot_id} ({row.tax_year}) does not reproduce the engine's "
                f"{name}: sheet {value:.6f}, engine {engine:.6f}; please report this"
            )


# -- Lots and Cover ---------------------------------------------------------------------------------
def _lots_sheet(wb: _Workbook, sheet: _Sheet, lots: list[_LotCells]) -> dict[str, str]:
    """One row per lot, each figure linked to its lot sheet; returns the total cell of each
    figure column (``'Lots'!H9``)."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["lots"]
    c = {cid: layout.index(cid) for cid in layout.order}
    wb.title_rows(sheet, t.section("lots_title", year))
    header = 4
    sheet.column_headers(header, layout, year, st.header)
    r = header + 1
    first = r
    for lot in lots:
        row = lot.row
        sheet.text(r, c["lot_id"], row.lot_id, st.text_input)
        sheet.text(r, c["instrument_id"], row.instrument_id, st.text_input)
        sheet.link(r, c["sheet"], lot.sheet, lot.sheet, st.text)
        sheet.date(r, c["acquisition_date"], lot.ledger.lot.acquisition_date, st.input["date"])
        sheet.text(r, c["ending"], row.ending or "held", st.text_input)
        sheet.date(r, c["disposition_date"], row.disposition_date, st.input["date"])
        sheet.formula(r, c["days_held"], lot.days_ref, row.days_held, st.formula["integer"])
        for key in FIGURES_ALWAYS + FIGURES_DISPOSITION:
            if key in lot.refs:
                ref, value = lot.refs[key]
                sheet.formula(r, c[key], ref, value, st.formula["money"])
        r += 1
    last = r - 1
    sheet.text(r, 0, t.line("total", year), st.bold)
    totals = {}
    for key in FIGURES_ALWAYS + FIGURES_DISPOSITION:
        values = [lot.refs[key][1] for lot in lots if key in lot.refs]
        if last >= first:
            sheet.formula(r, c[key], f"SUM({_range(first, c[key], last)})", sum(values), st.total["money"])
        else:
            sheet.formula(r, c[key], "0", 0.0, st.total["money"])
        totals[key] = sheet.ref(r, c[key])
    widths = _widths(t, [[LOTS_KINDS[cid] for cid in layout.order]])
    wb.print_setup(sheet, (header, header), header + 1, widths)
    return totals


COVER_FIGURES = (
    # (section, figure, paragraph) — method §9, in the order a return takes them
    ("cover_interest", "interest_income", "(b)(6)(ii)(A); (b)(6)(iii)(A)"),
    ("cover_losses", "ordinary_loss", "(b)(6)(iii)(B)"),
    ("cover_dispositions", "proceeds", "(b)(7)(iv)–(v)"),
    ("cover_dispositions", "carryforward_applied", "(b)(6)(iii)(C)"),
    ("cover_dispositions", "amount_realized", "(b)(7)"),
    ("cover_dispositions", "adjusted_basis", "(b)(7)(iii)"),
    ("cover_dispositions", "gain_loss", "(b)(8)"),
    ("cover_dispositions", "ordinary_income_on_disposition", "(b)(8)(i)"),
    ("cover_dispositions", "ordinary_loss_on_disposition", "(b)(8)(ii)"),
    ("cover_dispositions", "capital_loss", "(b)(8)(ii); (b)(8)(iii)"),
    ("cover_dispositions", "capital_gain", "(b)(8)(iii)"),
    ("cover_carryforward", "carryforward_out", "(b)(6)(iii)(C)"),
)
SEE_REFS = 6  # references listed in a cover line's "computed from" text before "… and n more"
# cover figure -> the lot figure it adds up
_COVER_SOURCE = {
    "proceeds": "consideration", "capital_loss": "capital_loss_on_disposition",
    "capital_gain": "capital_gain_on_disposition",
}


def _cover_sheet(wb: _Workbook, sheet: _Sheet, holder: Holder | None, lots: list[_LotCells],
                 totals: dict[str, str], problems: list[Problem]) -> None:
    """Holder, sign-off boxes, the year's figures by where they go on a return (method §9) —
    each the sum of the lot sheets' cells it names — and the holder's input problems."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["figures"]
    c = {cid: layout.index(cid) for cid in layout.order}
    wb.title_rows(sheet, t.title_for(year))
    r = 4
    sheet.text(r, 0, t.section("cover_holder", year), st.section)
    r += 1

    def info(label, writer, *args):
        nonlocal r
        sheet.text(r, 0, label)
        writer(r, 1, *args)
        r += 1

    info(t.line("holder_id", year), sheet.text, wb.holder_id, st.text_input)
    info(t.line("holder_name", year), sheet.text, holder.name if holder else "", st.text_input)
    info(t.line("tin", year), sheet.text, mask_tin(holder.tin) if holder else "", st.text_input)
    for header, value in (holder.extra if holder else ()):
        info(header, sheet.text, value, st.text_input)
    info(t.line("tax_year", year), sheet.number, year, st.year_input)
    info(t.line("prepared", year), sheet.date, wb.prepared, st.input["date"])
    info(t.line("workpaper_ref", year), sheet.text, wb.ref, st.text)
    sheet.text(r, 0, "Blue: inputs (input files, the engine's ledger of earlier years); black: formulas.",
               st.note)
    r += 2

    sheet.text(r, 0, t.section("cover_signoff", year), st.section)
    r += 1
    for col, key in enumerate(("signoff_name", "signoff_date", "signoff_initials"), start=1):
        sheet.text(r, col, t.line(key, year), st.box_header)
    r += 1
    for key in ("prepared_by", "reviewed_by"):
        sheet.text(r, 0, t.line(key, year), st.bold)
        for col in (1, 2, 3):
            sheet.blank(r, col, st.box)
        sheet.heights[r] = 24
        r += 1
    r += 1

    sheet.text(r, 0, t.section("cover_figures", year), st.section)
    r += 1
    header = r
    sheet.column_headers(r, layout, year, st.header)
    r += 1
    section = None
    for section_key, figure, paragraph in COVER_FIGURES:
        if section_key != section:
            section = section_key
            sheet.text(r, c["item"], t.section(section_key, year), st.bold)
            r += 1
        source = _COVER_SOURCE.get(figure, figure)
        parts = [lot.refs[source] for lot in lots if source in lot.refs]
        sheet.text(r, c["item"], t.line(figure, year))
        sheet.text(r, c["paragraph"], paragraph, st.paragraph)
        sheet.text(r, c["form"], t.line(f"where_{figure}", year), st.paragraph)
        value = sum(v for _, v in parts)
        fmt = st.result if figure in ("interest_income", "ordinary_loss", "carryforward_out") else st.formula["money"]
        formula = "+".join(ref for ref, _ in parts)
        if not parts:
            sheet.formula(r, c["amount"], "0", 0.0, fmt)
            see = t.line("no_disposition", year) if source in FIGURES_DISPOSITION else t.line("none", year)
        elif len(formula) <= FORMULA_LIMIT:
            sheet.formula(r, c["amount"], formula, value, fmt)
            see = "see " + ", ".join(ref for ref, _ in parts[:SEE_REFS])
            if len(parts) > SEE_REFS:
                see += f" and {len(parts) - SEE_REFS} more ({t.line('see_lots', year)}: {totals[source]})"
        else:  # too long for one formula: the total of the Lots sheet's column
            sheet.formula(r, c["amount"], totals[source], value, fmt)
            see = f"{t.line('see_lots', year)}: {totals[source]}"
        sheet.text(r, c["see"], see, st.note)
        r += 1
    r += 1

    sheet.text(r, 0, t.section("cover_problems", year), st.section)
    r += 1
    if not problems:
        sheet.text(r, 0, t.line("none", year), st.note)
    else:
        layout = t.tables["problems"]
        pc = {cid: layout.index(cid) for cid in layout.order}
        sheet.column_headers(r, layout, year, st.header)
        r += 1
        tin = holder.tin if holder else ""
        for problem in problems:
            where = problem.file
            if problem.row is not None:
                where += f" row {problem.row}"
            if problem.column:
                where += f", column {problem.column}"
            value = scrub_problem_value(problem.value, problem.column, tin)
            sheet.text(r, pc["where"], where, st.text)
            sheet.text(r, pc["value"], value, st.text_input)
            sheet.text(r, pc["message"], scrub_text(problem.message, tin), st.text)
            sheet.text(r, pc["fix"], scrub_text(problem.fix, tin), st.note)
            r += 1
    widths = list(t.widths["cover"])
    wb.print_setup(sheet, (0, 2), None, widths)


def _scrub(text: str | None, column: str | None, tin: str = "") -> str:
    """Problem text fit for a workpaper or the exceptions file: never a full taxpayer id
    (``cpdi.writers.privacy.scrub_problem_value``)."""
    return scrub_problem_value(text, column, tin)


def _holder_problems(problems: Iterable[Problem], holder_id: str, instrument_ids: set[str]) -> list[Problem]:
    """The problems that concern this holder: its own, and those of an instrument it holds
    that name no holder."""
    return [
        p for p in problems
        if p.holder_id == holder_id or (p.holder_id is None and p.instrument_id in instrument_ids)
    ]


# -- public API -----------------------------------------------------------------------------------
def _created(prepared: date) -> datetime:
    return datetime.combine(prepared, time(0, 0))


def write_holder_workbook(
    target: Path,
    holder: Holder | None,
    holder_id: str,
    year: int,
    ledgers: list[LotLedger],
    books: dict[str, "InstrumentBook"],
    template: Template | None,
    prepared: date,
    problems: Sequence[Problem] = (),
    before_rename=None,  # Callable[[Path], object] | None
) -> Path:
    """Write one holder's workpapers for tax ``year`` to ``target`` (atomically) and return it.

    ``ledgers`` are the holder's lot ledgers from :func:`cpdi.api.compute` through ``year``;
    lots without a row for ``year`` are left out (as are ledgers of other holders).  ``books``
    are the instrument books of the same computation.  ``problems`` may be every problem of a
    batch: the holder's own are listed on the cover.  ``prepared`` is the date shown and the
    document date, so the same inputs give a byte-identical file.  ``before_rename`` is
    :func:`cpdi.writers.atomic.atomic_path`'s: called with the finished temporary file just
    before it replaces ``target`` (raising abandons the write)."""
    template = template or load_template()
    target = Path(target)
    lots = []
    for ledger in ledgers:
        if ledger.lot.holder_id != holder_id:
            continue
        row = next((y for y in ledger.years if y.tax_year == year), None)
        if row is not None:
            lots.append((ledger, row))
    instrument_ids = []
    for ledger, _ in lots:
        if ledger.lot.instrument_id not in instrument_ids:
            instrument_ids.append(ledger.lot.instrument_id)
    for instrument_id in instrument_ids:
        book = books.get(instrument_id)
        if book is None or book.schedule is None:
            raise WorkpaperError(f"no usable schedule for instrument {instrument_id} of holder {holder_id}")
    mine = _holder_problems(problems, holder_id, set(instrument_ids))

    with atomic_path(target, before_rename) as tmp:
        book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            wb = _Workbook(book, template, holder_id, year, prepared, holder.tin if holder else "")
            cover = wb.add_sheet(template.sheet("cover", year=year))
            lots_sheet = wb.add_sheet(template.sheet("lots", year=year))
            instruments = {iid: _instrument_sheet(wb, books[iid]) for iid in instrument_ids}
            lot_cells = [
                _lot_sheet(wb, ledger, row, books[ledger.lot.instrument_id],
                           instruments[ledger.lot.instrument_id])
                for ledger, row in lots
            ]
            totals = _lots_sheet(wb, lots_sheet, lot_cells)
            _cover_sheet(wb, cover, holder, lot_cells, totals, mine)
            cover.ws.activate()
            book.set_properties({
                "title": wb.ref,
                "subject": wb.safe(template.title_for(year)),
                "author": wb.safe(template.firm_name),
                "company": wb.safe(template.firm_name),
                "comments": f"cpdi {__version__} workpapers, tax year {year}",
                "created": _created(prepared),
            })
            wb.flush()
        except BaseException:
            _abandon(book)
            raise
        book.close()
    return target


def _abandon(book) -> None:
    """Release a half-built workbook without storing it (storing would write the whole file only
    to discard it, and on a full disk fail again and leave its zip file open for the garbage
    collector to complain about); what was written is discarded by ``atomic_path`` and the
    original error is what the caller sees."""
    book.fileclosed = True  # XlsxWriter's own flag: a later close() stores nothing
    for sheet in book.worksheets():  # constant-memory mode's temporary files, if any
        with contextlib.suppress(Exception):
            sheet._opt_close()


SUMMARY_COLUMNS = (
    "holder_id", "name", "instrument_id", "lots", "interest_income", "ordinary_loss",
    "carryforward_out", "proceeds", "amount_realized",
    "adjusted_basis",  # basis of the lots disposed of in the year (Form 8949 column (e))
    "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
    "adjusted_basis_end",  # year-end basis of the lots still held
)


def summary_rows(
    ledgers_by_holder: Mapping[str, Iterable[LotLedger]], holders: Mapping[str, Holder], year: int
) -> list[dict]:
    """The batch summary's rows: the ledger rows of ``year`` added up per holder and
    instrument, sorted by holder and instrument.  Each row is a plain dict keyed by
    ``SUMMARY_COLUMNS`` (JSON-friendly, so a batch can keep it in its manifest); its text is
    already scrubbed (``scrub_text`` with the holder's own TIN: no full taxpayer id)."""
    rows = []
    for holder_id in sorted(ledgers_by_holder):
        by_instrument: dict[str, list[LotYear]] = {}
        for ledger in ledgers_by_holder[holder_id]:
            for y in ledger.years:
                if y.tax_year == year:
                    by_instrument.setdefault(y.instrument_id, []).append(y)
        holder = holders.get(holder_id)
        tin = holder.tin if holder else ""
        for instrument_id in sorted(by_instrument):
            ys = by_instrument[instrument_id]
            sold = [y for y in ys if y.disposition_date is not None]
            held = [y for y in ys if y.disposition_date is None]
            rows.append({
                "holder_id": scrub_text(holder_id, tin),
                "name": scrub_text(holder.name, tin) if holder else "",
                "instrument_id": scrub_text(instrument_id, tin),
                "lots": len(ys),
                "interest_income": sum(y.interest_income for y in ys),
                "ordinary_loss": sum(y.ordinary_loss for y in ys),
                "carryforward_out": sum(y.carryforward_out for y in ys),
                "proceeds": sum(y.consideration for y in sold),
                "amount_realized": sum(y.amount_realized for y in sold),
                "adjusted_basis": sum(y.adjusted_basis_end for y in sold),
                "ordinary_income_on_disposition": sum(y.ordinary_income_on_disposition for y in sold),
                "ordinary_loss_on_disposition": sum(y.ordinary_loss_on_disposition for y in sold),
                "capital_loss_on_disposition": sum(y.capital_loss_on_disposition for y in sold),
                "capital_gain_on_disposition": sum(y.capital_gain_on_disposition for y in sold),
                "adjusted_basis_end": sum(y.adjusted_basis_end for y in held),
            })
    return rows


def _field(row, name: str):
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def write_summary_workbook(
    target: Path,
    year: int,
    rows: Sequence[Mapping],
    template: Template | None,
    prepared: date,
    holders_ok: int,
    holders_failed: int,
) -> Path:
    """The batch summary: how many holders succeeded and failed, then one row per holder ×
    instrument (``summary_rows``; dicts, or objects with those attributes) with a totals row
    of SUM formulas."""
    template = template or load_template()
    target = Path(target)
    with atomic_path(target) as tmp:
        book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            wb = _Workbook(book, template, "batch", year, prepared)
            wb.ref = template.section("summary_title", year)
            t, st = template, wb.styles
            sheet = wb.add_sheet(t.sheet("summary", year=year))
            sheet.text(0, 0, t.firm_name, st.title)
            sheet.text(1, 0, t.section("summary_title", year), st.subtitle)
            sheet.text(2, 0, t.title_for(year), st.muted)
            for r, (key, value) in enumerate((("holders_ok", holders_ok), ("holders_failed", holders_failed)), 3):
                sheet.text(r, 0, t.line(key, year), st.bold)
                sheet.number(r, 3, value, st.banner_bad if key == "holders_failed" and value else st.input["integer"])
            sheet.text(5, 0, t.line("prepared", year))
            sheet.date(5, 3, prepared, st.input["date"])
            layout = t.tables["summary"]
            c = {cid: layout.index(cid) for cid in layout.order}
            sheet.text(7, 0, t.section("summary_table", year), st.section)
            header = 8
            sheet.column_headers(header, layout, year, st.header)
            r = first = header + 1
            for row in rows:
                for cid in layout.order:
                    value = _field(row, cid)
                    if isinstance(value, str):
                        sheet.text(r, c[cid], value, st.text_input)
                    elif SUMMARY_KINDS[cid] == "integer":
                        sheet.number(r, c[cid], value, st.input["integer"])
                    else:
                        sheet.number(r, c[cid], value, st.input["money"])
                r += 1
            last = r - 1
            sheet.text(r, 0, t.line("total", year), st.bold)
            for cid in layout.order:
                kind = SUMMARY_KINDS[cid]
                if kind == "text":
                    continue
                total = sum(_field(row, cid) for row in rows)
                fmt = st.total[kind]
                if last >= first:
                    sheet.formula(r, c[cid], f"SUM({_range(first, c[cid], last)})", total, fmt)
                else:
                    sheet.formula(r, c[cid], "0", 0, fmt)
            if last >= first:
                sheet.ws.autofilter(header, 0, last, len(layout.order) - 1)
            widths = _widths(t, [[SUMMARY_KINDS[cid] for cid in layout.order]])
            wb.print_setup(sheet, (header, header), header + 1, widths)
            book.set_properties({
                "title": wb.safe(t.section("summary_title", year)), "author": wb.safe(t.firm_name),
                "company": wb.safe(t.firm_name), "comments": f"cpdi {__version__} batch summary",
                "created": _created(prepared),
            })
            wb.flush()
        except BaseException:
            _abandon(book)
            raise
        book.close()
    return target


_csv_safe = csv_safe  # the name earlier code and tests know


def write_exceptions_csv(target: Path, problems: Iterable[Problem],
                         tins: Mapping[str, str | None] | TinIndex | None = None) -> Path:
    """Every problem of a batch, one per line (atomically): file, row, column, value,
    message, fix, holder_id, lot_id, instrument_id.  Every cell goes through
    ``cpdi.writers.privacy``: taxpayer ids are masked (a ``tin`` column's value whole; given
    ``tins``, ``holder_id -> tin``, the problem's holder's TIN and every holder's TIN in any
    spelling, as ``cpdi.problems.problem_text`` prints them), text that a spreadsheet would take
    for a formula is prefixed with an apostrophe, and control characters are dropped."""
    target = Path(target)
    index = tin_index(tins)
    every = index.all or None
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXCEPTION_COLUMNS)
        for p in problems:
            own = index.tin(p.holder_id)
            value = None if p.value is None else scrub_problem_value(p.value, p.column, own, every)
            texts = (p.file, p.column, value, p.message, p.fix, p.holder_id, p.lot_id, p.instrument_id)
            cells = [csv_safe(text, own, every) for text in texts]
            cells.insert(1, "" if p.row is None else p.row)
            writer.writerow(cells)
    return target

"""The small cell layer every sheet of the workpapers is written through: sheet names and
references, the formats made once per workbook, a buffered worksheet whose text always passes
``cpdi.writers.privacy``, column widths, print set-up and page headers.

A sheet module plans its cells on a :class:`_Sheet` in any order; :meth:`_Workbook.flush`
writes them row by row.  Nothing here knows the regulation.
"""

from __future__ import annotations

import contextlib
from datetime import date, datetime, time
from typing import Iterable, Mapping, Sequence

from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from cpdi.model import DailyPortionBasis
from cpdi.problems import CpdiError
from cpdi.writers.workpapers.names import _SheetNames
from cpdi.writers.privacy import xlsx_safe_text
from cpdi.writers.template import Template

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
FORMULA_LIMIT = 8000  # Excel allows 8,192 characters; longer cover sums go through 'Lots'
HEADER_FOOTER_LIMIT = 255  # Excel's limit for a page header or footer
CHECK_TOLERANCE = 0.005  # the workpaper must reproduce the engine within half a cent

class WorkpaperError(CpdiError):
    """A workpaper that would not reproduce the engine's numbers (a bug: please report)."""



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
        self.tick = add({"font_color": "#7F7F7F", "align": "center", "font_size": 9})
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

    def start_table(self, row: int, title: str, layout, year: int, styles,
                    ticks: Mapping[str, str] = {}) -> tuple[dict, int]:
        """A section title, then the table's column headers under it (with their tick marks).
        Returns the column of each column id and the first data row."""
        self.text(row, 0, title, styles.section)
        self.column_headers(row + 1, layout, year, styles.header, ticks)
        return {cid: layout.index(cid) for cid in layout.order}, row + 2

    def column_headers(self, row: int, layout, year: int, fmt, ticks: Mapping[str, str] = {}) -> None:
        """A table's column headers, in the template's order and wording; a column with a
        tick kind in ``ticks`` (column id -> kind of :data:`TICKS`) ends with its mark."""
        for cid in layout.order:
            label = layout.label(cid, year=year)
            if cid in ticks:
                label = f"{label} {tick_mark(ticks[cid])}"
            self.header_text(row, layout.index(cid), label, fmt)

    def tick(self, row: int, col: int, kind: str, styles) -> None:
        """A tick mark (:data:`TICKS`) in its own small grey cell."""
        self.text(row, col, tick_mark(kind), styles.tick)

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


# The key-value blocks of the instrument and lot sheets: the label overflows to the value's
# left; the paragraph and a note in words follow the value.
KV_LABEL, KV_VALUE, KV_TICK, KV_PARAGRAPH, KV_NOTE = 0, 6, 7, 8, 10


# -- tick marks -----------------------------------------------------------------------------------
# A reviewer's tick marks, fixed by cpdi (a template does not move them): each value of a
# key-value block has its mark in the column right of it (KV_TICK), each table column its mark
# at the end of its header, and the Cover carries the legend.
TICKS = {
    "input": ("I", "Input: typed from the input files (blue); trace it to the file named"),
    "source": ("S", "Agreed to the source document named on the instrument sheet (issuer's "
                    "comparable yield and projected payment schedule)"),
    "recomputed": ("R", "Recomputed: a live formula of the cells it names; recalculating the "
                        "workbook recomputes it"),
    "footed": ("F", "Footed: a column total (SUM formula)"),
    "check": ("C", "Check: a cell proving a typed value (a solved yield) against the figures it "
                   "must satisfy; it should read 0"),
}


def tick_mark(kind: str) -> str:
    """The printed mark of a tick kind, e.g. ``"[R]"``."""
    return f"[{TICKS[kind][0]}]"


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


def _rc(ref: str) -> tuple[int, int]:
    return xl_cell_to_rowcol(ref)



def _created(prepared: date) -> datetime:
    return datetime.combine(prepared, time(0, 0))



def _abandon(book) -> None:
    """Release a half-built workbook without storing it (storing would write the whole file only
    to discard it, and on a full disk fail again and leave its zip file open for the garbage
    collector to complain about); what was written is discarded by ``atomic_path`` and the
    original error is what the caller sees."""
    book.fileclosed = True  # XlsxWriter's own flag: a later close() stores nothing
    for sheet in book.worksheets():  # constant-memory mode's temporary files, if any
        with contextlib.suppress(Exception):
            sheet._opt_close()


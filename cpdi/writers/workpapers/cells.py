"""The small cell layer every sheet of the workpapers is written through: sheet names and
references, the formats made once per workbook, a buffered worksheet whose text always passes
``cpdi.writers.privacy``, column widths, print set-up and page headers.

A sheet module plans its cells on a :class:`_Sheet` in any order; :meth:`_Workbook.flush`
writes them row by row.  Nothing here knows the regulation.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import date, datetime, time
from typing import Iterable, Mapping, Sequence

import xlsxwriter
from xlsxwriter.utility import xl_cell_to_rowcol, xl_rowcol_to_cell
from xlsxwriter.worksheet import Worksheet

from cpdi.problems import CpdiError
from cpdi.writers.atomic import atomic_path
from cpdi.writers.privacy import xlsx_safe_text
from cpdi.writers.workpapers.names import _SheetNames
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
FORMULA_FUNCTIONS = frozenset({
    "SUM", "MIN", "MAX", "IF", "ABS", "AND", "OR", "NOT", "SUMPRODUCT", "YEAR", "MONTH", "DAY",
    "SUMIF", "COUNTIF",
})


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
        self.wrapped_input = add({"font_color": INPUT_BLUE, "text_wrap": True, "valign": "top"})
        self.wrapped_note = add({"italic": True, "font_color": "#595959", "text_wrap": True,
                                 "valign": "top"})
        self.wrapped = add({"text_wrap": True, "valign": "top"})
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
        # a check cell: ✓ (centred), or the difference in money
        self.check = add({"num_format": template.formats["money"], "align": "center"})


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
        """A link to cell A1 of another sheet of this workbook."""
        self.url(row, col, f"internal:{_quote(sheet)}!A1", text, fmt)

    def url(self, row: int, col: int, url: str, text: str, fmt=None) -> None:
        """A hyperlink cell (``external:FILE`` or ``internal:'Sheet'!A1``); the address is
        masked here, its text in ``flush``, like every text."""
        self._put(row, col, ("u", xlsx_safe_text(url, self.tin), text, fmt))

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
        # the layout the cells need (column widths, wrapped rows' heights, print titles),
        # decided from the planned cells before any is written (``_fit_layout``)
        planned = getattr(self, "widths", None)
        if planned is not None:
            _fit_layout(self, planned, getattr(self, "repeat", None))
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
        # widths and print titles are settled when the sheet is flushed, from the cells written:
        # a column is at least as wide as its numbers and texts need (``_fit_layout``), and a
        # table header repeats only when the table reaches a later page
        sheet.widths = list(widths)
        sheet.repeat = repeat
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
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


# -- widths and print titles from the cells written -----------------------------------------------
# A sheet's planned widths (``_widths``: by the kind of each table column) are a floor: at flush
# every column is widened to what its cells need, estimated in characters of the default font
# (Calibri 11, whose digit is the unit of an Excel width).  tests/workpaper_layout.py checks the
# result with the same metric and margins.
DEFAULT_WIDTH = 8.43  # Excel's width of a column with no width of its own
NUMBER_MARGIN = 1.0  # characters to spare beside a number: less prints as ###
TEXT_MARGIN = 0.5  # characters to spare after a text
FIT_SLACK = 0.25  # ours on top, so a fitted width never lands exactly on the limit
MAX_FIT_WIDTH = 64.0  # a column is never widened past this for its cells' sake
MAX_FIT_TEXT = 120.0  # a text wider than this is not given room by widening: it must wrap
_PADDING = 5 / 7  # cell padding: a spill crosses it at every column boundary
_LINE_POINTS = 15.0  # a line of 11-point text
_PAGE_POINTS = 487.0  # printable height of a landscape A4 or Letter page (0.75" margins)
_PAGE_PIXELS = 921.0  # printable width of a landscape Letter page (0.7" margins), 96 dpi

_ADVANCE: dict[str, float] = {}  # Calibri advance widths, in digit widths (approximate)
for _chars, _w in (
    ("0123456789", 1.0), (" !|il'", 0.45), ("j", 0.47), ("I", 0.50), ('"', 0.79), (".,:;", 0.50),
    ("()[]{}-", 0.60), ("/\\", 0.76), ("f", 0.60), ("t", 0.66), ("r", 0.69), ("s", 0.77),
    ("z", 0.78), ("c", 0.83), ("J", 0.63), ("x", 0.85), ("vy", 0.89), ("k", 0.90), ("L", 0.83),
    ("a", 0.95), ("g", 0.93), ("e", 0.98), ("FS", 0.91), ("Z", 0.92), ("ETY", 0.96),
    ("bdhnopqu", 1.04), ("BR", 1.07), ("PX", 1.02), ("K", 1.03), ("C", 1.05), ("A", 1.14),
    ("V", 1.12), ("D", 1.21), ("G", 1.24), ("H", 1.23), ("UN", 1.27), ("O", 1.31), ("Q", 1.33),
    ("w%", 1.41), ("&", 1.34), ("m", 1.58), ("M", 1.69), ("W", 1.76), ("@—", 1.73),
    ("#$+=<>×−±~*_§–", 0.96), ("?", 0.88), ("·•", 0.48), ("…O", 1.31), ("‘’", 0.44), ("“”", 0.79),
):
    for _c in _chars:
        _ADVANCE[_c] = _w


def _text_width(text: str, fmt=None) -> float:
    """Estimated width of ``text`` (its widest line) in characters of the default font, in the
    font size and weight of ``fmt``."""
    widest = 0.0
    for line in text.split("\n"):
        widest = max(widest, sum(_ADVANCE.get(ch, 2.0 if ord(ch) >= 0x1100 and unicodedata.east_asian_width(ch) in "WF" else 1.0)
                                 for ch in line))
    if fmt is not None:
        widest *= (float(getattr(fmt, "font_size", 11) or 11) / 11.0) * (1.07 if getattr(fmt, "bold", 0) else 1.0)
    return widest


def _shown(value, fmt) -> str:
    """``value`` as its number format prints it (the formats a template uses: decimals,
    thousands, ``%``, a negative section in parentheses, ``yyyy-mm-dd`` style dates)."""
    code = getattr(fmt, "num_format", "General") if fmt is not None else "General"
    code = code if isinstance(code, str) and code else "General"
    if isinstance(value, bool):
        return "FALSE"
    if isinstance(value, (date, datetime)):
        if not re.search(r"[ydm]", code, re.I) or "0" in code:
            code = "yyyy-mm-dd"
        return re.sub(r"yyyy|yy|mmmm|mmm|mm|m|dd|d", lambda m: {"yyyy": "0000", "mmmm": "September", "mmm": "Sep"}.get(m.group(0), "00"), code)
    value = float(value)
    if code.lower() == "general":
        return str(int(abs(value))) if abs(value) < 1e11 else "0.0000E+00"
    sections = code.split(";")
    section = sections[1] if value < 0 and len(sections) > 1 else sections[0]
    section = re.sub(r'"([^"]*)"|\\(.)|\[[^\]]*\]|_.|\*.', lambda m: m.group(1) or m.group(2) or ("" if m.group(0)[0] in "[*" else " "), section)
    run = re.search(r"[0#?][0#?,]*(\.[0#?]*)?|\.[0#?]+", section)
    if run is None:
        return section
    decimals = len(run.group(0).partition(".")[2])
    number = abs(value) * 100 ** section.count("%")
    text = f"{number:{',' if ',' in run.group(0) else ''}.{decimals}f}"
    sign = "-" if value < 0 and len(sections) == 1 and round(number, decimals) != 0 else ""
    return sign + section[:run.start()] + text + section[run.end():]


def _fit_layout(sheet, planned: Sequence[float], repeat: tuple[int, int] | None) -> None:
    """Set ``sheet``'s column widths, the heights of its wrapped rows and its print titles from
    the cells planned on it:

    * a number, date or boolean gets its column as wide as its formatted value plus
      :data:`NUMBER_MARGIN` (no ``###``);
    * a wrapped text (a table header) gets its column as wide as its longest word, and its row
      tall enough for its lines;
    * a text that does not wrap spills into the empty cells on its right up to the next
      non-empty cell (or the sheet's last used column, where the printed page ends); when
      that is not enough the columns it spans share the difference (none past
      :data:`MAX_FIT_WIDTH`; a text wider than :data:`MAX_FIT_TEXT` is left to wrap);
    * a table header (``repeat`` rows not at the top) is repeated on later pages only when a
      manual page break follows the table and the table does not fit on the page before it
      (otherwise the header would print over what follows the break: a header over nothing).
    """
    rows = sheet.rows
    width = {col: float(w) for col, w in enumerate(planned)}
    room = lambda col: width.get(col, DEFAULT_WIDTH)  # noqa: E731
    widen = lambda col, need: width.__setitem__(col, max(room(col), min(need, MAX_FIT_WIDTH)))  # noqa: E731
    filled: dict[int, set[int]] = {}
    last_col = 0
    texts = []
    for row, cells in rows.items():
        used = filled.setdefault(row, set())
        for col, entry in cells.items():
            kind = entry[0]
            if kind == "_":
                continue
            if kind == "m":
                used.update(range(col, entry[1] + 1))
                last_col = max(last_col, entry[1])
                continue
            used.add(col)
            last_col = max(last_col, col)
            if kind in "ndb" or (kind == "f" and isinstance(entry[3], (int, float))):
                value = entry[3] if kind == "f" else entry[1]
                widen(col, _text_width(_shown(value, entry[2]), entry[2]) + NUMBER_MARGIN + FIT_SLACK)
            elif kind in "su":
                text, fmt = (entry[1], entry[2]) if kind == "s" else (entry[2], entry[3])
                texts.append((row, col, xlsx_safe_text(text, sheet.tin), fmt))
    for row, col, text, fmt in sorted(texts):
        if fmt is not None and getattr(fmt, "text_wrap", 0):
            longest = max((_text_width(word, fmt) for word in text.split()), default=0.0)
            widen(col, longest + TEXT_MARGIN + FIT_SLACK)
            lines = _wrapped_lines(text, room(col), fmt)
            height = lines * _LINE_POINTS * float(getattr(fmt, "font_size", 11) or 11) / 11.0
            sheet.heights[row] = max(sheet.heights.get(row, 15.0), height)
            continue
        need = _text_width(text, fmt) + TEXT_MARGIN + FIT_SLACK
        if need > MAX_FIT_TEXT:
            continue
        align = getattr(fmt, "text_h_align", 0) if fmt is not None else 0
        span = [col]
        if align in (0, 1):  # general or left: spills right, up to a filled cell or the edge
            c = col + 1
            while c <= last_col and c not in filled[row]:
                span.append(c)
                c += 1
        have = sum(room(c) for c in span) + _PADDING * (len(span) - 1)
        if need > have:
            share = (need - have) / len(span)
            for c in span:
                widen(c, room(c) + share)
    widths = [room(col) for col in range(max(max(width, default=-1), last_col) + 1)]
    for col, value in enumerate(widths):
        sheet.ws.set_column(col, col, value)
    if repeat is not None and _repeat_needed(sheet, repeat, widths):
        sheet.ws.repeat_rows(*repeat)


def _wrapped_lines(text: str, room: float, fmt) -> int:
    lines = 0
    for paragraph in text.split("\n"):
        line, count = "", 1
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and _text_width(candidate, fmt) + TEXT_MARGIN + FIT_SLACK > room:
                count, line = count + 1, word
            else:
                line = candidate
        lines += count
    return lines


def wrapped_across(sheet: _Sheet, row: int, col0: int, col1: int, text: str, fmt,
                   widths: Sequence[float]) -> None:
    """A long text (a sentence the page is too narrow for) merged across columns ``col0`` …
    ``col1`` and wrapped there, its row as tall as its lines at the planned ``widths`` (a
    column widened when the sheet is flushed only makes room)."""
    room = sum(widths[c] if c < len(widths) else DEFAULT_WIDTH for c in range(col0, col1 + 1))
    room += _PADDING * (col1 - col0) - 1.0  # a character's slack against the estimate
    lines = _wrapped_lines(xlsx_safe_text(text, sheet.tin), room, fmt)
    sheet.heights[row] = max(sheet.heights.get(row, _LINE_POINTS), lines * _LINE_POINTS)
    sheet.merged_text(row, col0, col1, text, fmt)


def _repeat_needed(sheet, repeat: tuple[int, int], widths: Sequence[float]) -> bool:
    """Whether ``repeat`` rows should print at the top of later pages: the title rows always; a
    table header unless a manual page break follows the table and the rows before that break
    fit on one page (the header would then print only over what follows the break)."""
    first, last = repeat
    if first == 0:
        return True
    end = last
    while end + 1 in sheet.rows:
        end += 1
    after = [b for b in getattr(sheet.ws, "hbreaks", []) if b > end]
    if not after:
        return True
    pixels = sum(int(w * 7 + 5) for w in widths) or 1
    scale = min(1.0, int(100 * _PAGE_PIXELS / pixels) / 100.0)
    height = sum(sheet.heights.get(r, _LINE_POINTS) for r in range(min(after)))
    return height > _PAGE_POINTS / scale


# The key-value blocks of the instrument and lot sheets: the label overflows to the value's
# left; the paragraph and a note in words follow the value.
KV_LABEL, KV_VALUE, KV_TICK, KV_PARAGRAPH, KV_NOTE = 0, 6, 7, 8, 10


# -- tick marks -----------------------------------------------------------------------------------
# A reviewer's tick marks, fixed by cpdi (a template does not move them): each value of a
# key-value block has its mark in the column right of it (KV_TICK), each table column its mark
# at the end of its header, and the Cover carries the legend.
TICKS = {
    "input": ("I", "Input: typed from the input files, or from cpdi's ledger and forms where a "
                   "column says so (blue); trace it to the file named"),
    "source": ("S", "Agreed to the source document named on the instrument sheet (issuer's "
                    "comparable yield and projected payment schedule)"),
    "recomputed": ("R", "Recomputed: a live formula of the cells it names; recalculating the "
                        "workbook recomputes it"),
    "footed": ("F", "Footed: a column total (SUM formula; by Form 8949 box, SUMIF and COUNTIF)"),
    "check": ("C", "Check: proves a figure against what it must equal; it reads 0 or ✓ when "
                   "they agree, else the difference"),
}
CHECK_MARK = "✓"  # ✓: a check cell whose two figures agree within half a cent
FLAG_MARK = "✗"  # ✗: a broker figure whose difference nothing known explains


def check_formula(difference: str, value: float) -> tuple[str, object]:
    """A check cell's formula and cached value: ``✓`` when ``difference`` (an expression of
    cells) is within half a cent of zero, else the difference itself."""
    formula = f'IF(ABS({difference})<{CHECK_TOLERANCE},"{CHECK_MARK}",{difference})'
    return formula, (CHECK_MARK if abs(value) < CHECK_TOLERANCE else value)


def tick_mark(kind: str) -> str:
    """The printed mark of a tick kind, e.g. ``"[R]"``."""
    return f"[{TICKS[kind][0]}]"


def _weight_format(st, weight: float):
    """Whole days print as days; an ACT/ACT day-count weight (method §3) shows its decimals."""
    return st.input["integer"] if float(weight).is_integer() else st.input["per_unit"]


_EPOCH = date(1899, 12, 30)  # Excel's day 0 (the 1900 date system)


def _serial(day: date) -> float:
    """A date as the spreadsheet's serial number (the cached value of a formula giving it)."""
    return float((day - _EPOCH).days)


def _rc(ref: str) -> tuple[int, int]:
    return xl_cell_to_rowcol(ref)



def _created(prepared: date) -> datetime:
    return datetime.combine(prepared, time(0, 0))



def _write_workbook(target, fill, before_rename=None) -> None:
    """Write a workbook to ``target`` atomically: ``fill(book)`` plans its sheets on an
    XlsxWriter workbook and returns ``(wb, properties)`` (the :class:`_Workbook` and the document
    properties); its cells are then written and the file renamed into place.  Any failure
    abandons the half-built workbook (:func:`_abandon`), so nothing is left behind.
    ``before_rename`` is :func:`cpdi.writers.atomic.atomic_path`'s."""
    with atomic_path(target, before_rename) as tmp:
        book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            wb, properties = fill(book)
            book.set_properties(properties)
            wb.flush()
        except BaseException:
            _abandon(book)
            raise
        book.close()


def _table_or_none(wb, sheet, row: int, section_key: str, table_key: str, has_rows: bool,
                   ticks: Mapping[str, str] = {}) -> tuple[dict | None, int]:
    """A section title, then the table's column headers — or, when it has no rows, the
    template's "None." under the title.  Returns the column of each column id (None when there
    are no rows) and the next row to write."""
    if not has_rows:
        sheet.text(row, 0, wb.t.section(section_key, wb.year), wb.styles.section)
        sheet.text(row + 1, 0, wb.t.line("none", wb.year), wb.styles.note)
        return None, row + 2
    return sheet.start_table(row, wb.t.section(section_key, wb.year), wb.t.tables[table_key],
                             wb.year, wb.styles, ticks)


def _abandon(book) -> None:
    """Release a half-built workbook without storing it (storing would write the whole file only
    to discard it, and on a full disk fail again and leave its zip file open for the garbage
    collector to complain about); what was written is discarded by ``atomic_path`` and the
    original error is what the caller sees."""
    book.fileclosed = True  # XlsxWriter's own flag: a later close() stores nothing
    for sheet in book.worksheets():  # constant-memory mode's temporary files, if any
        with contextlib.suppress(Exception):
            sheet._opt_close()


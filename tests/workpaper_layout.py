"""Print and layout checks of a generated workbook: nothing prints as ``###``, no text is cut,
no orphan pages and no headers over nothing.  ``layout_problems(path)`` returns one line per
problem, each naming the sheet and the cell (or the set-up item); ``[]`` means the workbook
passes.  It reads the file only (openpyxl, cached values), so it checks any workbook, not
just ours.

What is measured
----------------
Widths are in Excel's unit, characters of the default font (Calibri 11: the digit ``0`` is
7 pixels).  A column's width as stored in the file includes 5 pixels of cell padding
(ECMA-376 §18.3.1.13), so the room for content is ``stored − 5/7`` characters; a column with
no width of its own has the sheet's default (8.43).

A text's width is estimated from Calibri's advance widths per character (:data:`_ADVANCE`, in
digit widths: ``i`` 0.45, ``m`` 1.58, ``W`` 1.76, a space 0.45, ``%`` 1.41, an unknown
character 1.0, a wide East Asian one 2.0), times the font size / 11, times 1.07 when bold.
LibreOffice (Carlito) and Excel on a Mac render a little differently, hence the margins:

* **(a) ``###``** — a number, date or boolean is rendered with its number format
  (:func:`render`: sections ``pos;neg;zero``, ``%``, thousands separators, decimals,
  parentheses and literals, ``yyyy-mm-dd`` style dates; ``General`` as its integer digits, the
  least Excel shows before giving up) and must fit its column with :data:`NUMBER_MARGIN`
  (1 character) to spare: ``width(rendered) + 1 ≤ room``.  Numbers never spill into
  neighbours; Excel prints ``###`` instead.  (Counting the margin as a whole digit also covers
  a bold total's slightly wider digits.)
* **(b) cut text** — a text cell (not wrapped) spills into the empty cells on its right (on its
  left when right-aligned, both sides when centred) and stops at the first non-empty one; it is
  cut when it needs more than that room with :data:`TEXT_MARGIN` (0.5 character) to spare.  A
  spill is also stopped at the sheet's last used column: the printed page (fit to one page
  wide) ends there.  A merged range has the width of all its columns and does not spill.
  A **wrapped** text (``wrap_text``) never spills: it is word-wrapped into its width (or the
  merged range's), and its row must be tall enough for the lines (15 points a line at 11
  points, scaled by font size); a single word wider than the column is reported as cut.
* **(c) print set-up** — every sheet has its orientation set (landscape or portrait), is fit
  to 1 page wide (``fitToPage`` with ``fitToWidth`` 1), and has a page header and footer;
  a print area, if set, covers every cell with content and every chart; repeated rows (print
  titles) are followed by content (they are not the last rows with content); when the
  repeated rows are a table header (they do not start at row 1), every manual page break after
  it must fall inside that table (the header's contiguous block of non-empty rows), or the
  page that break starts prints the header over something else ("headers over nothing"); a
  manual page break has content after it (no orphan page), and the page it starts is not only
  a title (one text cell and no chart) and the page it ends does not end with a lone title
  whose rows follow on the next page.  Charts count as content over the rows they cover.
* the page header and footer sections (``&L``, ``&C``, ``&R``) must fit side by side across
  the page: their estimated widths, at the header's 11 points, summed, at most
  :data:`HEADER_CHARS` characters for the orientation (landscape 120, portrait 85, letter
  paper with the default 0.7" margins; Excel scales them with the sheet by default, so this
  is the worst case).

Not detected (it needs Excel's pagination): where automatic page breaks fall, so an orphan
*automatic* page (a total row alone on the last page) and a title at the bottom of an automatic
page are not reported; the scale fit-to-width chooses is not checked either.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from datetime import date, datetime, time, timedelta
from pathlib import Path

import openpyxl
from openpyxl.utils import get_column_letter

NUMBER_MARGIN = 1.0  # characters to spare beside a rendered number
TEXT_MARGIN = 0.5  # characters to spare beside a text
DEFAULT_WIDTH = 8.43  # Excel's default column width, in characters
PADDING = 5 / 7  # the 5 pixels of cell padding included in a stored width
LINE_POINTS = 15.0  # the height of a line of 11-point Calibri
DEFAULT_ROW_POINTS = 15.0
HEADER_CHARS = {"landscape": 120.0, "portrait": 85.0}

# Calibri advance widths in units of the digit width (1038/2048 em); approximate.
_ADVANCE: dict[str, float] = {}
for _chars, _w in (
    ("0123456789", 1.0), (" ", 0.45), ("!|", 0.45), ("il", 0.45), ("j", 0.47), ("I", 0.50),
    ("'", 0.44), ('"', 0.79), (".,:;", 0.50), ("()[]{}", 0.60), ("-", 0.60), ("/\\", 0.76),
    ("f", 0.60), ("t", 0.66), ("r", 0.69), ("s", 0.77), ("z", 0.78), ("c", 0.83), ("J", 0.63),
    ("x", 0.85), ("v", 0.89), ("y", 0.89), ("k", 0.90), ("L", 0.83), ("a", 0.95), ("g", 0.93),
    ("e", 0.98), ("F", 0.91), ("S", 0.91), ("Z", 0.92), ("E", 0.96), ("T", 0.96), ("Y", 0.96),
    ("bdhnopqu", 1.04), ("B", 1.07), ("P", 1.02), ("K", 1.03), ("X", 1.02), ("R", 1.07),
    ("C", 1.05), ("A", 1.14), ("V", 1.12), ("D", 1.21), ("G", 1.24), ("H", 1.23), ("U", 1.27),
    ("N", 1.27), ("O", 1.31), ("Q", 1.33), ("w", 1.41), ("%", 1.41), ("&", 1.34), ("m", 1.58),
    ("M", 1.69), ("W", 1.76), ("@", 1.73), ("#", 0.96), ("$", 0.96), ("+=<>×−±~", 0.96),
    ("*", 0.96), ("_", 0.96), ("?", 0.88), ("§", 0.96), ("·•", 0.48), ("–", 0.96), ("—", 1.73),
    ("…", 1.31), ("‘’", 0.44), ("“”", 0.79),
):
    for _c in _chars:
        _ADVANCE[_c] = _w


def text_width(text: str, size: float = 11.0, bold: bool = False) -> float:
    """The estimated width of ``text`` in characters of the default font (the widest line)."""
    widest = 0.0
    for line in str(text).split("\n"):
        width = 0.0
        for ch in line:
            if ch in _ADVANCE:
                width += _ADVANCE[ch]
            elif unicodedata.east_asian_width(ch) in "WF":
                width += 2.0
            elif unicodedata.combining(ch) or ch in "\u200b\ufeff":
                pass
            else:
                width += 1.0
        widest = max(widest, width)
    return widest * (size / 11.0) * (1.07 if bold else 1.0)


# -- rendering a number with its format -------------------------------------------------------------
def _sections(code: str) -> list[str]:
    out, cur, quoted, escaped = [], "", False, False
    for ch in code:
        if escaped:
            cur += ch
            escaped = False
        elif ch == "\\":
            cur += ch
            escaped = True
        elif ch == '"':
            cur += ch
            quoted = not quoted
        elif ch == ";" and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    out.append(cur)
    return out


def _tokens(section: str):
    """(kind, text): 'lit' literal text, 'code' format characters."""
    i = 0
    while i < len(section):
        ch = section[i]
        if ch == '"':
            j = section.find('"', i + 1)
            j = len(section) if j < 0 else j
            yield "lit", section[i + 1:j]
            i = j + 1
        elif ch == "\\" and i + 1 < len(section):
            yield "lit", section[i + 1]
            i += 2
        elif ch == "[":  # [Red], [$-409], conditions: not printed (currency [$€-x] is rare)
            j = section.find("]", i)
            j = len(section) if j < 0 else j
            inner = section[i + 1:j]
            if inner.startswith("$") and "-" in inner:
                yield "lit", inner[1:inner.index("-")]
            i = j + 1
        elif ch == "_" and i + 1 < len(section):  # a space as wide as the next character
            yield "lit", " "
            i += 2
        elif ch == "*" and i + 1 < len(section):  # fill: no width of its own
            i += 2
        else:
            yield "code", ch
            i += 1


_DATE_CODE = re.compile(r"(yyyy|yy|mmmmm|mmmm|mmm|mm|m|dddd|ddd|dd|d|hh|h|ss|s|AM/PM|am/pm)", re.I)


def _is_date_code(section: str) -> bool:
    codes = "".join(text for kind, text in _tokens(section) if kind == "code")
    return bool(re.search(r"[ydmhs]", codes, re.I)) and not re.search(r"[0#?]", codes)


def _render_date(section: str, value) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime(1899, 12, 30) + timedelta(days=float(value))
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    elif isinstance(value, time):
        value = datetime.combine(date(1900, 1, 1), value)
    out = ""
    for kind, text in _tokens(section):
        if kind == "lit":
            out += text
            continue
        out += text
    # replace codes in the whole string (literals rarely contain date letters)
    def one(match):
        token = match.group(0)
        low = token.lower()
        if low == "yyyy":
            return f"{value.year:04d}"
        if low == "yy":
            return f"{value.year % 100:02d}"
        if low == "mmmmm":
            return value.strftime("%B")[0]
        if low == "mmmm":
            return "September"  # the widest month name
        if low == "mmm":
            return value.strftime("%b")
        if low in ("mm", "m"):
            return f"{value.month:02d}" if low == "mm" else str(value.month)
        if low == "dddd":
            return "Wednesday"
        if low == "ddd":
            return value.strftime("%a")
        if low == "dd":
            return f"{value.day:02d}"
        if low == "d":
            return str(value.day)
        if low in ("hh", "h"):
            return f"{value.hour:02d}"
        if low in ("ss", "s"):
            return f"{value.second:02d}"
        return "AM"
    return _DATE_CODE.sub(one, out)


def _render_number(section: str, value: float, negative_sign: bool) -> str:
    tokens = list(_tokens(section))
    codes = "".join(text for kind, text in tokens if kind == "code")
    percent = codes.count("%")
    if "E+" in codes.upper() or "E-" in codes.upper():
        return ("-" if negative_sign else "") + f"{abs(value):.2E}"
    number = abs(value) * (100 ** percent)
    placeholder = re.search(r"[0#?][0#?,.]*|\.[0#?]+", codes)
    if placeholder is None:  # all literal, e.g. "-"
        return "".join(text for _, text in tokens)
    run = placeholder.group(0)
    integer_part, _, decimal_part = run.partition(".")
    while integer_part.endswith(","):  # trailing commas scale by 1,000
        number /= 1000.0
        integer_part = integer_part[:-1]
    decimals = sum(1 for ch in decimal_part if ch in "0#?")
    grouped = "," in integer_part
    min_int = integer_part.count("0")
    text = f"{number:,.{decimals}f}" if grouped else f"{number:.{decimals}f}"
    whole, _, frac = text.partition(".")
    if whole.replace(",", "") == "0" and min_int == 0:
        whole = ""
    elif len(whole.replace(",", "")) < min_int:
        whole = whole.zfill(min_int)
    rendered = whole + ("." + frac if decimals else "")
    # put it back between the literals around the placeholder
    out, done, pos = "", False, 0
    for kind, text_ in tokens:
        if kind == "lit":
            out += text_
            continue
        start = pos
        pos += 1
        if placeholder.start() <= start < placeholder.end():
            if not done:
                out += rendered
                done = True
        elif text_ not in "0#?,.":
            out += text_
        elif text_ == ",":
            out += ","
    return ("-" if negative_sign else "") + out


def render(value, number_format: str | None) -> str:
    """``value`` as Excel prints it with ``number_format`` (the characters; see the module
    docstring for what is supported)."""
    code = number_format or "General"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (datetime, date, time)):
        section = _sections(code)[0]
        if code == "General" or not _is_date_code(section):
            section = "yyyy-mm-dd"
        return _render_date(section, value)
    value = float(value)
    sections = [s for s in _sections(code)]
    if code.strip().lower() == "general" or not code.strip():
        if value == int(value) and abs(value) < 1e11:
            return str(int(value))
        if abs(value) >= 1e11:
            return f"{value:.4E}"
        return ("-" if value < 0 else "") + str(int(abs(value))) if abs(value) >= 1 else ("-0.0" if value < 0 else "0.0")
    if len(sections) > 1 and sections[-1] == "" and len(sections) == 4:
        sections = sections[:3]
    if value > 0 or (value == 0 and len(sections) < 3):
        section, sign = sections[0], False
    elif value < 0:
        if len(sections) >= 2:
            section, sign = sections[1], False
        else:
            section, sign = sections[0], True
    else:
        section, sign = sections[2], False
    if section.strip().lower() == "general":
        return render(value, "General")
    if _is_date_code(section):
        return _render_date(section, value)
    if value < 0 and len(sections) >= 2:
        rendered = _render_number(section, value, False)
    else:
        rendered = _render_number(section, value, sign)
        # Excel drops the minus of a value that rounds to zero in a one-section format
        if sign and re.fullmatch(r"-[0.,]*", rendered):
            rendered = rendered[1:]
    return rendered


# -- the sheet model ----------------------------------------------------------------------------------
class _Grid:
    def __init__(self, ws):
        self.ws = ws
        self.cells: dict[tuple[int, int], object] = {}
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None and cell.value != "":
                    self.cells[(cell.row, cell.column)] = cell
        self.merged = {}
        self.covered = set()
        for rng in ws.merged_cells.ranges:
            self.merged[(rng.min_row, rng.min_col)] = rng
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    self.covered.add((r, c))
        self.charts = []  # (first row, last row, first col, last col), 1-based
        for chart in getattr(ws, "_charts", []):
            anchor = getattr(chart.anchor, "_from", None)
            if anchor is None:
                continue
            r0, c0 = anchor.row + 1, anchor.col + 1
            height_rows = int((getattr(chart, "height", 7.5) or 7.5) / 0.53) + 1  # cm / row
            width_cols = int((getattr(chart, "width", 15) or 15) / 1.8) + 1
            to = getattr(chart.anchor, "to", None)
            if to is not None:
                height_rows = to.row + 1 - r0 + 1
                width_cols = to.col + 1 - c0 + 1
            self.charts.append((r0, r0 + height_rows - 1, c0, c0 + width_cols - 1))
        self.max_col = max([c for _, c in self.cells] + [c1 for *_, c1 in self.charts] + [1])
        self.max_row = max([r for r, _ in self.cells] + [r1 for _, r1, _, _ in self.charts] + [0])
        self._widths = {}
        default = ws.sheet_format.defaultColWidth
        base = ws.sheet_format.baseColWidth
        self.default_room = (default - PADDING) if default else (DEFAULT_WIDTH if base in (None, 8) else base + 0.43)
        for key, dim in ws.column_dimensions.items():
            if dim.width is None:
                continue
            lo, hi = dim.min or openpyxl.utils.column_index_from_string(key), dim.max
            hi = hi or lo
            room = 0.0 if dim.hidden else max(dim.width - PADDING, 0.0)
            for col in range(lo, min(hi, 16384) + 1):
                self._widths[col] = room

    def room(self, col: int) -> float:
        return self._widths.get(col, self.default_room)

    def filled(self, row: int, col: int) -> bool:
        return (row, col) in self.cells or ((row, col) in self.covered and (row, col) not in self.merged)

    def row_points(self, row: int) -> float:
        dim = self.ws.row_dimensions.get(row)
        if dim is not None and dim.ht is not None:
            return float(dim.ht)
        default = self.ws.sheet_format.defaultRowHeight
        return float(default) if default else DEFAULT_ROW_POINTS


def _font(cell) -> tuple[float, bool]:
    font = cell.font
    return (float(font.sz) if font is not None and font.sz else 11.0), bool(font is not None and font.b)


def _wrapped_lines(text: str, room: float, size: float, bold: bool) -> tuple[int, str | None]:
    """Lines ``text`` needs word-wrapped into ``room``; and a word that does not fit at all."""
    lines, too_wide = 0, None
    for paragraph in str(text).split("\n"):
        line = ""
        count = 1
        for word in paragraph.split(" "):
            if text_width(word, size, bold) + TEXT_MARGIN > room and too_wide is None:
                too_wide = word
            candidate = f"{line} {word}" if line else word
            if line and text_width(candidate, size, bold) + TEXT_MARGIN > room:
                count += 1
                line = word
            else:
                line = candidate
        lines += count
    return lines, too_wide


def _cell_problems(name: str, grid: _Grid) -> list[str]:
    problems = []
    for (row, col), cell in sorted(grid.cells.items()):
        if (row, col) in grid.covered and (row, col) not in grid.merged:
            continue  # hidden under a merged range
        value = cell.value
        ref = f"{get_column_letter(col)}{row}"
        size, bold = _font(cell)
        merged = grid.merged.get((row, col))
        own = sum(grid.room(c) for c in range(col, merged.max_col + 1)) + (
            PADDING * (merged.max_col - col) if merged else 0.0) if merged else grid.room(col)
        if not isinstance(value, str):
            text = render(value, cell.number_format)
            need = text_width(text, size, bold) + NUMBER_MARGIN
            if need > own + 1e-9:
                problems.append(
                    f"{name}!{ref}: {text!r} ({cell.number_format}) needs {need:.1f} characters, "
                    f"the column has {own:.1f}: prints as ###")
            continue
        wrap = bool(cell.alignment is not None and cell.alignment.wrap_text)
        if wrap:
            lines, too_wide = _wrapped_lines(value, own, size, bold)
            if too_wide is not None:
                problems.append(f"{name}!{ref}: the word {too_wide!r} of a wrapped text is wider than "
                                f"its column ({own:.1f} characters): it is broken or cut")
            rows = range(row, (merged.max_row if merged else row) + 1)
            height = sum(grid.row_points(r) for r in rows)
            need = lines * LINE_POINTS * size / 11.0
            if need > height + 0.01:
                problems.append(f"{name}!{ref}: wrapped text {_short(value)} needs {lines} lines "
                                f"({need:.0f} points), the row is {height:.0f} points high: the last "
                                f"lines are cut")
            continue
        need = text_width(value, size, bold) + TEXT_MARGIN
        if need <= own:
            continue
        if merged:
            problems.append(f"{name}!{ref}: {_short(value)} needs {need:.1f} characters, the merged "
                            f"range {merged.coord} has {own:.1f}: cut")
            continue
        horizontal = (cell.alignment.horizontal if cell.alignment is not None else None) or "general"
        room, stopper = own, None
        right = horizontal in ("general", "left", "fill", "justify", "distributed", "center", "centerContinuous")
        left = horizontal in ("right", "center", "centerContinuous")
        if horizontal in ("center", "centerContinuous"):
            # centred text spills equally both ways: the narrower side limits it
            lspill = _spill(grid, row, col, -1)
            rspill = _spill(grid, row, col, +1)
            room = own + 2 * min(lspill[0], rspill[0])
            stopper = lspill[1] if lspill[0] <= rspill[0] else rspill[1]
        elif right:
            spill, stopper = _spill(grid, row, col, +1)
            room += spill
        elif left:
            spill, stopper = _spill(grid, row, col, -1)
            room += spill
        if need > room + 1e-9:
            where = (f"stopped by {stopper}" if stopper else "at the sheet's last used column")
            problems.append(f"{name}!{ref}: {_short(value)} needs {need:.1f} characters, it has "
                            f"{room:.1f} ({where}): cut")
    return problems


def _spill(grid: _Grid, row: int, col: int, step: int) -> tuple[float, str | None]:
    """Room in the empty cells beside (row, col) in direction ``step``, and the cell that stops
    the spill (None: the sheet's edge)."""
    room, c = 0.0, col + step
    while 1 <= c <= grid.max_col:
        if grid.filled(row, c):
            return room, f"{get_column_letter(c)}{row}"
        room += grid.room(c) + PADDING
        c += step
    return room, None


def _short(text: str, limit: int = 60) -> str:
    text = str(text)
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


# -- print set-up --------------------------------------------------------------------------------------
def _rows_with_content(grid: _Grid) -> list[int]:
    rows = {r for r, _ in grid.cells}
    for r0, r1, _, _ in grid.charts:
        rows.update(range(r0, r1 + 1))
    return sorted(rows)


def _parse_rows(spec: str | None) -> tuple[int, int] | None:
    if not spec:
        return None
    match = re.search(r"\$?(\d+):\$?(\d+)", spec)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _header_sections(hf) -> dict[str, str]:
    out = {}
    for side in ("left", "center", "right"):
        part = getattr(hf, side, None)
        text = getattr(part, "text", None) if part is not None else None
        if text:
            out[side] = text
    return out


def _visible(code_text: str) -> str:
    """A header section as printed: codes removed, &P/&N as two digits, && as &."""
    text = code_text.replace("&&", "\0")
    text = re.sub(r"&[PN]", "99", text)
    text = re.sub(r"&[DT]", "2026-01-01", text)
    text = re.sub(r"&[AF]", "Sheet name", text)
    text = re.sub(r'&"[^"]*"|&\d+|&[BIUSEXYKGHO]|&K[0-9A-Fa-f]{6}', "", text)
    return text.replace("\0", "&")


def _print_problems(name: str, grid: _Grid) -> list[str]:
    ws, problems = grid.ws, []
    setup = ws.page_setup
    if setup.orientation not in ("landscape", "portrait"):
        problems.append(f"{name}: print orientation not set (landscape or portrait)")
    fit = ws.sheet_properties.pageSetUpPr
    fit_width = setup.fitToWidth if setup.fitToWidth is not None else 1
    if not (fit is not None and fit.fitToPage) or int(fit_width) != 1:
        problems.append(f"{name}: not fit to 1 page wide")
    header = _header_sections(ws.oddHeader)
    footer = _header_sections(ws.oddFooter)
    if not header:
        problems.append(f"{name}: no page header")
    if not footer:
        problems.append(f"{name}: no page footer")
    limit = HEADER_CHARS.get(setup.orientation or "portrait", HEADER_CHARS["portrait"])
    for what, sections in (("header", header), ("footer", footer)):
        width = sum(text_width(_visible(t)) for t in sections.values())
        if len(sections) > 1 and width > limit:
            problems.append(f"{name}: the page {what}'s sections need {width:.0f} characters side "
                            f"by side, the {setup.orientation} page has about {limit:.0f}: they overlap")
    content_rows = _rows_with_content(grid)
    last = content_rows[-1] if content_rows else 0
    if ws.print_area:
        areas = ws.print_area if isinstance(ws.print_area, list) else [ws.print_area]
        max_r = max_c = 0
        for area in areas:
            match = re.search(r"\$?([A-Z]+)\$?(\d+):\$?([A-Z]+)\$?(\d+)", str(area))
            if match:
                max_c = max(max_c, openpyxl.utils.column_index_from_string(match.group(3)))
                max_r = max(max_r, int(match.group(4)))
        if max_r < last or max_c < grid.max_col:
            problems.append(f"{name}: the print area {ws.print_area} leaves out content (up to "
                            f"{get_column_letter(grid.max_col)}{last})")
    breaks = sorted(b.id for b in ws.row_breaks.brk if b.id)  # a break after row id (1-based)
    titles = _parse_rows(ws.print_title_rows)
    if titles is not None:
        t0, t1 = titles
        if last <= t1:
            problems.append(f"{name}: print titles rows {t0}:{t1} are the last rows with content: "
                            f"a header over nothing")
        elif t0 > 1:
            table_end = t1
            while table_end + 1 in grid_rows(grid):
                table_end += 1
            for b in breaks:
                if b > table_end and b < last:
                    problems.append(
                        f"{name}: print titles rows {t0}:{t1} (a table header) repeat over the page "
                        f"after the break at row {b + 1}, which does not continue the table (rows "
                        f"{t1 + 1}–{table_end}): a header over something else")
    for index, b in enumerate(breaks):
        nxt = breaks[index + 1] if index + 1 < len(breaks) else None
        after = [r for r in content_rows if r > b and (nxt is None or r <= nxt)]
        if not [r for r in content_rows if r > b]:
            problems.append(f"{name}: a manual page break after row {b}, the last content row "
                            f"({last}): an orphan page")
            continue
        if not after:
            problems.append(f"{name}: the page between the breaks after rows {b} and {nxt} is empty")
            continue
        cells_after = [k for k in grid.cells if k[0] in after]
        charts_after = [c for c in grid.charts if c[0] in after]
        if len(cells_after) <= 1 and not charts_after:
            problems.append(f"{name}: the page after the break at row {b} holds only a title "
                            f"({_short(grid.cells[cells_after[0]].value) if cells_after else 'nothing'})")
        before = [k for k in grid.cells if k[0] == b]
        if len(before) == 1 and isinstance(grid.cells[before[0]].value, str) and not any(
                c[0] <= b <= c[1] for c in grid.charts) and (b - 1, before[0][1]) not in grid.cells:
            heading = grid.cells[before[0]]
            if _font(heading)[1]:
                problems.append(f"{name}: the page ending at the break after row {b} ends with the "
                                f"title {_short(heading.value)}, whose rows follow on the next page")
    return problems


def grid_rows(grid: _Grid) -> set[int]:
    return {r for r, _ in grid.cells}


def layout_problems(path) -> list[str]:
    """Every layout and print problem of the workbook at ``path``, one line each naming the
    sheet and the cell (``[]``: none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        book = openpyxl.load_workbook(Path(path), data_only=True)
    problems = []
    for ws in book.worksheets:
        name = ws.title
        grid = _Grid(ws)
        problems += _cell_problems(name, grid)
        problems += _print_problems(name, grid)
    return problems


def sheet_kind(sheet_name: str) -> str:
    """Our sheet kinds, for counting problems: Cover, Lots, Summary, lot, instrument."""
    if sheet_name in ("Cover", "Lots", "Summary"):
        return sheet_name
    return "lot" if sheet_name.startswith("Lot ") else "instrument"

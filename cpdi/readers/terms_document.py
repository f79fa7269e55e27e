"""Read an issuer's comparable yield and projected payment schedule out of a pricing supplement.

``cpdi import-terms`` spares the preparer retyping what the issuer published under
§1.1275-4(b)(4): the comparable yield, the projected payment schedule (PPS), the issue date and
price, and the terms that give the yield its meaning (day count, periods per year).  This module
only *reads*: it returns every figure it found together with the document's own words and line,
and a list of everything it inferred rather than read.  It never fills a gap silently; a field
it cannot find is ``None``.

The approach, in four steps:

1. **Normalize.**  The file is decoded (UTF-8, UTF-16 with a BOM, Windows-1252) and refused if
   it is binary.  HTML (detected by content, also inside EDGAR ``<DOCUMENT>…<TEXT>`` wrappers) is
   turned into text with :class:`_HtmlText`: scripts and styles dropped, entities decoded, one
   line per block or table row, table cells separated by ``|``; every text line keeps the source
   line it came from.
2. **Cells.**  Each line is split into cells at ``|`` bars, tabs and gaps of three or more spaces,
   and the lines are joined into one flat string (:class:`_Flat`) whose offsets map back to
   lines.  Two views share the offsets: ``flat`` keeps the cell bars (tables, labelled terms),
   ``prose`` has them blanked (sentences that wrap across lines and cells).
3. **Labelled terms and tax prose.**  Terms printed as "Label: value" (``Issue Date: July 20,
   2007``, ``CUSIP No.: …``, ``Day Count Convention: 30/360``, ``Price to Public | 100%``) are
   found by their labels; the comparable yield, its compounding, the unit the PPS is quoted per,
   the fixed payments and a single payment at maturity are found in the sentences that state
   them.  When a figure is printed more than once with different values, the one inside the
   tax section ("United States Federal Income Tax …", "Tax Consequences") wins and the others
   are named in ``assumptions``.  A document describing several notes, each with its own
   CUSIP and comparable yield, is read for one of them — the one asked for, else the first —
   and the other notes' parts of the tax section are ignored (:func:`_find_tranche`).
4. **Tables.**  The flat text is tokenized into dates, accrual periods ("January 1, 2026 through
   June 30, 2026", "Original Issue Date through …"), calendar years printed in a cell of their
   own ("2026"), amounts ("$1,185", "U.S.$29.00", "1,004.2577") and percentages ("2.5000%"),
   and words.  A table is a run of records of one shape — a period, a date pair (from, to), a
   payment date or a calendar year, followed by the same number of amounts — ending where
   prose resumes; a table continued after a page break (a page number, the running head and
   the column headings again in between) is joined.  Tables printed side by side (two periods
   on one printed row) are records of the same shape too and come out in date order.  The
   heading above a table says what it is: a PPS ("projected payment", "Payment") or an
   accrual table ("OID", "deemed to accrue", "accrued"), and what its amounts are quoted per
   when that is not the unit principal (a percentage of the principal amount, "per $100"):
   ``PrintedRow.per``.

The field values are canonical — dates as ``datetime.date``, numbers as plain decimal strings
without ``$`` or commas (table amounts and the yield with every printed decimal) — so that the
caller decides how to check and store them.  Evidence lines are lines of the file as given: for
HTML, the line of the HTML source where the quoted text starts.

What is not read: scanned or PDF documents (refused), a projected payment schedule printed by
year only (no payment dates; said in ``assumptions``), and terms that only a picture or a chart
carries.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

__all__ = [
    "Evidence",
    "PrintedRow",
    "TermsDocument",
    "TermsDocumentError",
    "read_terms_document",
    "terms_from_text",
]


class TermsDocumentError(ValueError):
    """The file cannot be read as a document: binary, not text or HTML, or undecodable.  The
    message is one line naming the file."""


@dataclass(frozen=True)
class Evidence:
    """Where one field's value came from."""

    field: str   # e.g. "comparable_yield_pct", "issue_date", "schedule", "unit_principal"
    value: str   # what we took, canonical text ("5.46", "2007-07-20", "1000")
    quote: str   # the document's own words it came from, whitespace collapsed, <= ~200 chars
    line: int    # 1-based line of the document where the quote starts


@dataclass(frozen=True)
class PrintedRow:
    """One row of a printed table: a PPS payment or an accrual, per unit of principal."""

    period_start: date | None   # None in a table of payment dates only
    period_end: date            # the period end / payment date
    amount: str                 # as printed, digits and point only ("1004.2577", "45.0000")
    line: int
    per: str | None = None      # the principal amount ``amount`` is quoted per, when the table
                                # says it is not the unit principal: "100" for a percentage of
                                # the principal amount ("2.5000%"); None: per unit principal


@dataclass(frozen=True)
class TermsDocument:
    """What a pricing supplement says about a contingent payment debt instrument.  A field the
    document does not give is None; whatever was inferred rather than read is in
    ``assumptions``."""

    source_name: str
    instrument_id: str | None        # CUSIP (9 characters) or ISIN (12) if printed
    description: str | None          # "AIG CMS Curve Notes due July 20, 2027"
    issue_date: date | None          # original issue date / settlement date (never pricing date)
    maturity_date: date | None
    unit_principal: str | None       # the principal amount the PPS is quoted per: "1000", "10"
    issue_price: str | None          # per unit_principal: "1000"; "9.95" for 99.5% of $10
    comparable_yield_pct: str | None # "5.46", as printed
    frequency: int | None            # compounding / accrual periods per year: 1, 2, 4, 12
    day_count: str | None            # "30/360", "30E/360", "30E/360 ISDA", "ACT/ACT",
                                     # "ACT/ACT ISDA", "ACT/365F" or "ACT/360"
    schedule: tuple[PrintedRow, ...] # the PPS rows in date order
    fixed_payments: int              # leading PPS payments the text calls fixed; 0 if not said
    single_payment: str | None       # a PPS of one payment at maturity: its amount per unit
    accruals: tuple[PrintedRow, ...] # the issuer's accrual (OID) per period, if printed
    evidence: tuple[Evidence, ...]   # one per field read (a table: one, quoting its heading)
    assumptions: tuple[str, ...]     # what was inferred rather than read, one line each
    single_payment_per: str | None = None  # "100" when the single payment is printed as a
                                           # percentage of the principal amount

    def evidence_for(self, field_name: str) -> Evidence | None:
        """The evidence of one field, or None when the field was not read from the text."""
        return next((e for e in self.evidence if e.field == field_name), None)


# =============================================================================================
# 1. Reading and normalizing
# =============================================================================================

_BINARY_SIGNATURES = (
    (b"%PDF", "a PDF file"),
    (b"PK\x03\x04", "a ZIP or Office (.docx/.xlsx) file"),
    (b"\xd0\xcf\x11\xe0", "an Office (.doc/.xls) file"),
    (b"\x89PNG", "an image"),
    (b"\xff\xd8\xff", "an image"),
    (b"GIF8", "an image"),
)


def read_terms_document(path, instrument_id: str | None = None) -> TermsDocument:
    """Read a pricing supplement saved as text (``.txt``, as filed) or HTML (``.htm``,
    ``.html``, or an EDGAR submission ``.txt``); HTML is recognised by its content, not its
    name.  ``instrument_id`` (a CUSIP or ISIN) chooses the note to read when the document
    describes several.  An unreadable file raises :class:`TermsDocumentError` with one line
    naming it."""
    path = Path(path)
    name = path.name or str(path)
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise TermsDocumentError(f"{name}: is a folder, not a document") from None
    except OSError as exc:
        raise TermsDocumentError(f"{name}: cannot be read: {exc.strerror or exc}") from None
    return terms_from_text(_decode(raw, name), name, instrument_id)


def _decode(raw: bytes, name: str) -> str:
    """The text of a file: UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1252.
    Binary content (a PDF, an Office file, an image, NUL or control bytes) is refused."""
    for signature, what in _BINARY_SIGNATURES:
        if raw.startswith(signature):
            raise TermsDocumentError(
                f"{name}: is {what}, not a text or HTML document; save the pricing supplement "
                "as text or HTML (EDGAR's .htm or .txt)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise TermsDocumentError(f"{name}: is not valid UTF-16 text") from None
    head = raw[:65536]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if b"\x00" in head or controls > max(8, len(head) // 100):
        raise TermsDocumentError(
            f"{name}: is binary, not a text or HTML document; save the pricing supplement as "
            "text or HTML")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise TermsDocumentError(
        f"{name}: cannot be decoded as UTF-8 or Windows-1252 text; save it as UTF-8")


_HTML_TAG = re.compile(r"<(?:html|body|table|tr|td|p|div|font|br|span)\b[^>]*>", re.I)
_EDGAR_DOCUMENT = re.compile(r"<DOCUMENT>(.*?)(?:</DOCUMENT>|\Z)", re.S | re.I)
_EDGAR_TYPE = re.compile(r"<TYPE>\s*([^\s<]+)", re.I)
_EDGAR_TEXT = re.compile(r"<TEXT>(.*?)(?:</TEXT>|\Z)", re.S | re.I)
_SKIPPED_EDGAR_TYPES = re.compile(r"^(?:GRAPHIC|ZIP|PDF|EXCEL|XML|JSON|EX-101|XBRL)", re.I)
_SGML_TEXT_TAGS = re.compile(r"</?(?:PAGE|TABLE|CAPTION|S|C|FN|F\d+)>")


def _looks_like_html(text: str) -> bool:
    """HTML by content: a doctype, or at least two common HTML tags early in the text."""
    head = text[:200000]
    if re.match(r"\s*<!DOCTYPE\s+html", head, re.I):
        return True
    return len(_HTML_TAG.findall(head, 0, 200000)) >= 2


def _document_lines(text: str) -> list[tuple[str, int]]:
    """The document as text lines, each with the 1-based source line it came from.  EDGAR
    submissions keep only their text documents (no graphics, no exhibits of data); HTML is
    converted to text; old EDGAR plain text loses its ``<PAGE>``/``<S>``/``<C>`` markers."""
    if re.search(r"<DOCUMENT>", text[:100000], re.I):
        lines: list[tuple[str, int]] = []
        for document in _EDGAR_DOCUMENT.finditer(text):
            body = document.group(1)
            kind = _EDGAR_TYPE.search(body)
            if kind and _SKIPPED_EDGAR_TYPES.match(kind.group(1)):
                continue
            inner = _EDGAR_TEXT.search(body)
            if not inner or re.match(r"\s*begin \d{3} ", inner.group(1)):
                continue
            offset = text.count("\n", 0, document.start(1) + inner.start(1))
            lines.extend((line, number + offset)
                         for line, number in _text_or_html_lines(inner.group(1)))
        if lines:
            return lines
    return _text_or_html_lines(text)


def _text_or_html_lines(text: str) -> list[tuple[str, int]]:
    """Text lines of one document, HTML converted; each with its line in the source."""
    if _looks_like_html(text):
        parser = _HtmlText()
        parser.feed(text)
        parser.close()
        return parser.lines
    text = _SGML_TEXT_TAGS.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    # split on line feeds only: a form feed (a page break in EDGAR text) is not a new line
    return [(line, number) for number, line in enumerate(text.split("\n"), start=1)]


class _HtmlText(HTMLParser):
    """HTML to text lines: a block element or table row ends a line; table cells on one row are
    joined with `` | ``; ``<br>`` and blocks inside a cell are spaces, so a cell stays one cell;
    scripts, styles, the ``<head>`` and footnote marks in ``<sup>`` are dropped; entities are
    decoded by the parser; a paragraph is followed by a blank line.  Each line remembers the
    source line of its first text."""

    _BLOCKS = {
        "p", "div", "br", "tr", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "table",
        "thead", "tbody", "tfoot", "section", "article", "header", "footer", "center",
        "blockquote", "pre", "hr", "dl", "dt", "dd", "caption", "page", "address", "form",
    }
    _SKIP = {"script", "style", "head", "noscript", "template", "title", "ix:header"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[tuple[str, int]] = []
        self._cells: list[str] = []
        self._buffer: list[str] = []
        self._source_line: int | None = None
        self._skip = 0
        self._cell_depth = 0
        self._pre = 0
        self._sup = 0

    def handle_starttag(self, tag, attrs):
        tag = tag.lower()
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "sup":
            self._sup += 1
        elif tag in ("td", "th"):
            self._end_cell()
            self._cell_depth += 1
        elif tag in self._BLOCKS:
            if tag == "pre":
                self._pre += 1
            self._break(paragraph=tag not in ("br", "tr"))

    def handle_startendtag(self, tag, attrs):
        if tag.lower() in ("br", "hr"):
            self._break(paragraph=tag.lower() == "hr")

    def handle_endtag(self, tag):
        tag = tag.lower()
        if tag in self._SKIP:
            self._skip = max(0, self._skip - 1)
        elif tag == "sup":
            self._sup = max(0, self._sup - 1)
        elif tag in ("td", "th"):
            self._end_cell()
            self._cell_depth = max(0, self._cell_depth - 1)
        elif tag in ("tr", "table"):
            self._cell_depth = 0
            self._end_line()
            if tag == "table":
                self._paragraph()
        elif tag in self._BLOCKS:
            if tag == "pre":
                self._pre = max(0, self._pre - 1)
            self._break(paragraph=tag != "br")

    def handle_data(self, data):
        if self._skip:
            return
        if self._sup and re.fullmatch(r"[\s()\d*†‡,]*", data):
            return  # a footnote mark: "$1,187.54<sup>(1)</sup>" is 1187.54
        if self._pre and not self._cell_depth:
            parts = data.split("\n")
            for k, part in enumerate(parts):
                if k:
                    self._end_line()
                self._add(part)
            return
        # the text starts after the data's leading line breaks ("<br>\nPrincipal …")
        skipped = data[:len(data) - len(data.lstrip())].count("\n")
        self._add(re.sub(r"\s+", " ", data), skipped)

    def close(self):
        super().close()
        self._end_line()

    def _add(self, text: str, skipped_lines: int = 0) -> None:
        if text.strip() and self._source_line is None:
            self._source_line = self.getpos()[0] + skipped_lines
        self._buffer.append(text)

    def _break(self, paragraph: bool) -> None:
        """A block boundary: a space inside a table cell, a new line elsewhere, and a blank line
        after a paragraph."""
        if self._cell_depth:
            self._buffer.append(" ")
        else:
            self._end_line()
            if paragraph:
                self._paragraph()

    def _paragraph(self) -> None:
        if self.lines and self.lines[-1][0]:
            self.lines.append(("", self.getpos()[0]))

    def _end_cell(self) -> None:
        text = " ".join("".join(self._buffer).split())
        if text:
            self._cells.append(text)
        self._buffer = []

    def _end_line(self) -> None:
        self._end_cell()
        if self._cells:
            self.lines.append((" | ".join(self._cells), self._source_line or self.getpos()[0]))
        self._cells = []
        self._source_line = None


_CHARACTER_MAP = str.maketrans({
    "\u00a0": " ", "\u2002": " ", "\u2003": " ", "\u2009": " ", "\u202f": " ", "\u2007": " ",
    "\u200b": None, "\ufeff": None, "\u00ad": None,
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-",
})


def _merge_currency_cells(cells: list[str]) -> list[str]:
    """A currency sign or a percent sign printed in a cell of its own (HTML tables print
    "$ | 1,000.00" and "100.00 | %") is joined to its number."""
    merged: list[str] = []
    pending = ""
    for cell in cells:
        if re.fullmatch(r"(?:U\.?S\.?)?\$", cell):
            pending = cell
            continue
        if cell == "%" and merged:
            merged[-1] += "%"
            continue
        merged.append(pending + cell)
        pending = ""
    if pending:
        merged.append(pending)
    return merged


class _Flat:
    """The document's lines joined into one string, cells separated by `` | ``.

    ``flat`` keeps the bars; ``prose`` is the same text with the bars blanked, at the same
    offsets, for sentences that run across lines and cells.  ``line_at`` maps an offset back to
    the document's line; ``quote`` gives the document's words between two offsets."""

    _CELL_SPLIT = re.compile(r"\s*\|\s*|\t+|\s{3,}")

    def __init__(self, lines: list[tuple[str, int]]):
        parts: list[str] = []
        self.starts: list[int] = []
        self.numbers: list[int] = []
        self.line_texts: list[str] = []
        self.paragraphs: list[int] = [0]     # offsets where a paragraph starts (after a blank line)
        offset = 0
        blank = False
        for text, number in lines:
            text = text.translate(_CHARACTER_MAP).replace("\r", "").replace("\f", " ")
            cells = _merge_currency_cells([c for c in self._CELL_SPLIT.split(text.strip()) if c])
            joined = " | ".join(cells)
            if re.search(r"\|\s*$", text) and joined:
                joined += " |"
            elif not joined and "|" in text:
                joined = "|"
            if not joined:
                blank = True
                continue
            if blank:
                self.paragraphs.append(offset)
                blank = False
            self.starts.append(offset)
            self.numbers.append(number)
            self.line_texts.append(joined)
            parts.append(joined)
            offset += len(joined) + 1
        self.flat = " ".join(parts)
        self.prose = self.flat.replace("|", " ")
        self._cell_list: list[tuple[str, int, int]] | None = None
        self._table_rows: list[tuple[list[str], int, int]] | None = None

    def cells(self, index: int) -> list[str]:
        """The cells of the ``index``-th line."""
        return [c.strip() for c in self.line_texts[index].split("|") if c.strip()]

    def cell_list(self) -> list[tuple[str, int, int]]:
        """Every cell of the document in reading order, with its start and end offsets; a
        currency sign in a cell of its own is joined to the next cell."""
        if self._cell_list is None:
            merged: list[tuple[str, int, int]] = []
            for start, text in zip(self.starts, self.line_texts):
                for m in re.finditer(r"[^|]+", text):
                    cell = m.group(0).strip()
                    if not cell:
                        continue
                    begin = start + m.start() + m.group(0).index(cell)
                    if merged and re.fullmatch(r"(?:U\.?S\.?)?\$", merged[-1][0]):
                        merged[-1] = (merged[-1][0] + cell, merged[-1][1], begin + len(cell))
                    else:
                        merged.append((cell, begin, begin + len(cell)))
            self._cell_list = merged
        return self._cell_list

    def table_rows(self) -> list[tuple[list[str], int, int]]:
        """The document's rows of cells, each with its start and end offsets: a line of two or
        more cells, or — in text converted one cell per line, each cell followed by a line
        holding only a bar and rows parted by blank lines — the cells of one such group.  A
        currency sign in a cell of its own is joined to the next cell."""
        if self._table_rows is None:
            rows: list[tuple[list[str], int, int]] = []
            n, index = len(self.line_texts), 0
            while index < n:
                cells = self.cells(index)
                start, end = self.starts[index], self.starts[index] + len(self.line_texts[index])
                group, last = [], index
                if len(cells) == 1:
                    j = index
                    while j < n and len(self.cells(j)) <= 1 and (
                            j == index or not self._paragraph_between(self.starts[index],
                                                                      self.starts[j])):
                        if self.cells(j):
                            if j + 1 >= n or self.line_texts[j + 1].strip() != "|":
                                break
                            group.append(self.cells(j)[0])
                            last = j + 1
                        j += 1
                if len(group) >= 2:
                    end = self.starts[last] + len(self.line_texts[last])
                    rows.append((_merge_currency_cells(group), start, end))
                    index = last + 1
                    continue
                rows.append((cells, start, end))
                index += 1
            self._table_rows = rows
        return self._table_rows

    def _paragraph_between(self, start: int, end: int) -> bool:
        """A paragraph (a blank line) starts after ``start`` and by ``end``."""
        k = bisect.bisect_right(self.paragraphs, start)
        return k < len(self.paragraphs) and self.paragraphs[k] <= end

    def index_at(self, offset: int) -> int:
        """The index (into ``starts``, ``line_texts``) of the line holding ``offset``."""
        return max(0, bisect.bisect_right(self.starts, offset) - 1)

    def line_at(self, offset: int) -> int:
        """The document line holding ``offset``."""
        if not self.starts:
            return 1
        return self.numbers[self.index_at(offset)]

    def quote(self, start: int, end: int, limit: int = 200) -> tuple[str, int]:
        """The words between two offsets, whitespace collapsed, at most ``limit`` characters,
        and the line they start on."""
        while start < end and self.prose[start].isspace():
            start += 1
        words = " ".join(self.prose[start:end].split())
        if len(words) > limit:
            words = words[: limit - 3].rsplit(" ", 1)[0] + "..."
        return words, self.line_at(start)


# =============================================================================================
# 2. Dates, amounts and numbers
# =============================================================================================

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
          r"December|Jan\.?|Feb\.?|Mar\.?|Apr\.?|Jun\.?|Jul\.?|Aug\.?|Sept?\.?|Oct\.?|Nov\.?|"
          r"Dec\.?)")
# one date in any of the printed forms; no capturing groups, so it can be embedded anywhere
DATE = (
    rf"(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?\s*,?\s*\d{{4}}"      # July 20, 2007 / Jul. 20 2007
    rf"|\d{{1,2}}\s+{_MONTH}\s*,?\s+\d{{4}}"                        # 20 July 2007
    rf"|\d{{1,2}}-{_MONTH}-(?:\d{{4}}|\d{{2}})"                     # 20-Jul-07 / 20-July-2007
    r"|\d{1,2}/\d{1,2}/(?:\d{4}|\d{2})(?!\d)"                       # 7/20/2007 (US order)
    r"|\d{4}-\d{2}-\d{2})"                                          # 2007-07-20
)
_DATE_RE = re.compile(DATE, re.I)
_WORD_NUMBERS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
    "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    "twenty": 20, "a": 1, "an": 1,
}
_FREQUENCY_WORDS = {1: "twelve-month", 2: "six-month", 4: "three-month", 12: "one-month"}


def parse_date(text: str) -> date | None:
    """A printed date in one of the forms of :data:`DATE`, or None.  Two-digit years are
    20yy below 70 and 19yy from 70; slashed dates are month/day/year."""
    text = " ".join(text.replace(",", " , ").split()).strip()
    try:
        m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
        if m:
            return date(int(m[1]), int(m[2]), int(m[3]))
        m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", text)
        if m:
            return date(_year(m[3]), int(m[1]), int(m[2]))
        m = re.fullmatch(r"(\d{1,2})-([A-Za-z]+)\.?-(\d{2}|\d{4})", text)
        if m and m[2][:3].lower() in _MONTHS:
            return date(_year(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
        m = re.fullmatch(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?\s*,?\s*(\d{4})", text)
        if m and m[1][:3].lower() in _MONTHS:
            return date(int(m[3]), _MONTHS[m[1][:3].lower()], int(m[2]))
        m = re.fullmatch(r"(\d{1,2})\s+([A-Za-z]+)\.?\s*,?\s*(\d{4})", text)
        if m and m[2][:3].lower() in _MONTHS:
            return date(int(m[3]), _MONTHS[m[2][:3].lower()], int(m[1]))
    except (ValueError, KeyError):
        return None
    return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        year += 2000 if year < 70 else 1900
    return year


def _plain_amount(text: str) -> str:
    """A printed amount with ``$``, commas, blanks and footnote marks removed, every printed
    decimal kept: ``"$1,187.54(1)"`` → ``"1187.54"``."""
    m = re.search(r"\d[\d,]*(?:\.\d+)?|\.\d+", text)
    return m.group(0).replace(",", "") if m else ""


def _canonical(number: Decimal | str) -> str:
    """A number as plain text without trailing zeros: 1000.00 → "1000", 9.950 → "9.95"."""
    value = Decimal(str(number)).normalize()
    text = format(value, "f")
    return text


def _number(text: str) -> int | None:
    """A count printed as digits or a word ("four" → 4)."""
    text = text.lower()
    if text.isdigit():
        return int(text)
    return _WORD_NUMBERS.get(text)


# =============================================================================================
# 3. Sections: where the tax discussion is
# =============================================================================================

_TAX_HEADING = re.compile(
    r"federal\s+income\s+tax|federal\s+tax|federal\s+taxation|tax\s+consequences|"
    r"tax\s+considerations|united\s+states\s+taxation|u\.\s?s\.\s+taxation|tax\s+treatment|"
    r"taxation\s+in\s+the\s+united\s+states|tax\s+accrual",
    re.I)
_OTHER_HEADING = re.compile(
    r"^(?:supplemental\s+)?plan\s+of\s+distribution|^validity\s+of|^erisa\b|^certain\s+erisa|"
    r"^benefit\s+plan|^use\s+of\s+proceeds|^legal\s+matters|^conflicts?\s+of\s+interest|"
    r"^where\s+you\s+can\s+find|^general\s+information|^risk\s+factors|^experts\b|"
    r"^underwriting|^notice\s+to\s+investors|^summary\b|^key\s+terms|^terms\s+of\s+the|"
    r"^table\s+of\s+contents|^additional\s+terms|^hypothetical|^description\s+of\s+the|"
    r"^selected\s+risk|^information\s+about", re.I)
_TABLE_HEADING_WORDS = re.compile(r"\b(?:period|date|payment|OID|accru\w*|amount|total|per|"
                                  r"projected|coupon)\b", re.I)
_PAGE_REFERENCE = re.compile(r"(?:\.{3,}|\s)(?:[A-Z]{1,3}-)?\d{1,3}\s*\|?\s*$")


def _is_heading(text: str) -> bool:
    """A short line that reads like a heading: 1–14 words, not ending like a sentence or a
    label (".", ",", ";", ":"), and either in capitals or with most of its longer words
    capitalized."""
    text = text.replace("|", " ").strip()
    words = text.split()
    if not words or len(words) > 14 or not re.search(r"[A-Za-z]{2}", text):
        return False
    if text.endswith((",", ";", ":")) or (text.endswith(".") and not text.isupper()):
        return False
    letters = [c for c in text if c.isalpha()]
    if letters and all(c.isupper() for c in letters):
        return len(letters) >= 6
    long_words = [w for w in words if len(w) > 3 and w[0].isalpha()]
    return bool(long_words) and words[0][0].isupper() and (
        sum(w[0].isupper() for w in long_words) >= 0.6 * len(long_words))


def _tax_spans(doc: _Flat) -> list[tuple[int, int]]:
    """The offsets of the tax sections: from a heading naming federal income tax or tax
    consequences to the next heading in capitals that does not, or to a heading of another
    known section (plan of distribution, ERISA, validity of the notes, …); a table's column
    headings in capitals ("ACCRUAL PERIOD") do not end it.  Table-of-contents entries (a
    heading followed by a page number) do not open a section."""
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    for index, (start, text) in enumerate(zip(doc.starts, doc.line_texts)):
        if not _is_heading(text):
            continue
        plain = text.replace("|", " ").strip()
        if _TAX_HEADING.search(plain):
            if (_PAGE_REFERENCE.search(text) and not plain.isupper()) or \
                    _page_reference_follows(doc, index):
                continue
            if open_at is None:
                open_at = start
            continue
        letters = [c for c in plain if c.isalpha()]
        capitals = letters and all(c.isupper() for c in letters) and len(plain.split()) >= 2
        ends = (capitals and not _TABLE_HEADING_WORDS.search(plain)) or _OTHER_HEADING.search(plain)
        if open_at is not None and ends:
            spans.append((open_at, start))
            open_at = None
    if open_at is not None:
        spans.append((open_at, len(doc.flat)))
    return spans


def _page_reference_follows(doc: _Flat, index: int) -> bool:
    """The next line with text (past bar-only lines) is a page number ("PS-12", "S-9", "12"):
    the line at ``index`` is a table-of-contents entry, as text converted from HTML prints it."""
    for text in doc.line_texts[index + 1:index + 5]:
        plain = text.replace("|", " ").strip()
        if plain:
            return bool(re.fullmatch(r"(?:[A-Z]{1,3}-)?\d{1,3}", plain))
    return False


def _in_spans(offset: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= offset < b for a, b in spans)


# =============================================================================================
# 4. Collecting what was found
# =============================================================================================

@dataclass
class _Candidate:
    """One reading of a field: its value, where it was read, and how preferred it is."""

    value: object
    text: str                 # canonical text of the value
    start: int
    end: int
    rank: int = 0             # lower is preferred (label priority, wording priority)
    in_tax: bool = False
    note: str | None = None   # an assumption the reading itself carries


@dataclass
class _Found:
    evidence: list[Evidence] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    excluded: list[tuple[int, int]] = field(default_factory=list)  # other notes' tax parts

    def add(self, doc: _Flat, name: str, value_text: str, start: int, end: int) -> None:
        quote, line = doc.quote(start, end)
        self.evidence.append(Evidence(name, value_text, quote, line))

    def assume(self, text: str) -> None:
        if text not in self.assumptions:
            self.assumptions.append(text)


def _choose(doc: _Flat, found: _Found, name: str, label: str,
            candidates: list[_Candidate], prefer_tax: bool = False, rank_first: bool = False,
            quote_span=None) -> _Candidate | None:
    """The preferred candidate, recorded as evidence: the tax section first when
    ``prefer_tax`` (after the wording's rank when ``rank_first``), then the wording's rank,
    then document order.  Other values that conflict with it are named in an assumption.
    ``quote_span`` maps a candidate to the (start, end) of its quote.  Candidates in the tax
    part of another note the document describes (``found.excluded``) are not considered."""
    candidates = [c for c in candidates if not _in_spans(c.start, found.excluded)]
    if not candidates:
        return None

    def key(c: _Candidate):
        outside = (not c.in_tax) if prefer_tax else False
        return (c.rank, outside, c.start) if rank_first else (outside, c.rank, c.start)

    best = min(candidates, key=key)
    start, end = quote_span(best) if quote_span else (best.start, best.end)
    found.add(doc, name, best.text, start, end)
    if best.note:
        found.assume(best.note)
    others = sorted({c.text for c in candidates if c.text != best.text})
    if others:
        where = " in the tax section" if prefer_tax and best.in_tax else ""
        lines = sorted({doc.line_at(c.start) for c in candidates if c.text != best.text})
        found.assume(
            f"{label} {best.text} taken from line {found.evidence[-1].line}{where}; the "
            f"document also prints {', '.join(others)} (line {', '.join(map(str, lines))}), "
            "ignored")
    return best


def _sentence_bounds(doc: _Flat, start: int, end: int, back: int = 160,
                     ahead: int = 120) -> tuple[int, int]:
    """Widen (start, end) to the sentence around it: back to a sentence end, a cell bar or a
    paragraph start, forward to a sentence end or a cell bar; at most ``back``/``ahead``
    characters each way."""
    paragraph = doc.paragraphs[max(0, bisect.bisect_right(doc.paragraphs, start) - 1)]
    lo = max(0, start - back, paragraph)
    before = doc.flat[lo:start]
    cut = max((m.end() for m in re.finditer(r"(?:[.;:!?]\s+(?=[A-Z\"(])|\|)", before)),
              default=None)
    if cut is not None:
        start = lo + cut
    elif lo > 0 and lo != paragraph:
        space = before.find(" ")
        start = lo + (space + 1 if space >= 0 else 0)
    else:
        start = lo
    next_paragraph = bisect.bisect_right(doc.paragraphs, end)
    limit = end + ahead
    if next_paragraph < len(doc.paragraphs):
        limit = min(limit, doc.paragraphs[next_paragraph])
    after = doc.flat[end:limit]
    stop = re.search(r"[.;](?=\s+[A-Z(\"]|\s*$)|\|", after)
    if stop:
        end = end + stop.end() - (1 if stop.group(0) == "|" else 0)
    return start, end


# =============================================================================================
# 5. Labelled terms
# =============================================================================================

_LABEL_TAIL = (r"(?:\s*\((?:[^()|]|\([^()|]*\)){0,80}\))*\s*(?:\(\d\)|\*+|†)*[\s|:]*"
               r"(?:\.{3,}[\s|:]*)?")   # leader dots: "Issue Date ........ July 20, 2007"


class _CellMatch:
    """A value read from a column under its label (see :func:`_labelled`): the groups of the
    value's own match, the offsets of the heading row through the value's row."""

    def __init__(self, match: re.Match, start: int, end: int):
        self._match, self._start, self._end = match, start, end

    def group(self, *names):
        return self._match.group(*names)

    def start(self, *_):
        return self._start

    def end(self, *_):
        return self._end


def _labelled(doc: _Flat, labels: str, value: str) -> list:
    """Every "Label: value" of the document: the label, an optional parenthetical or footnote
    mark, then colons, bars or blanks, then the value immediately — on the label's line, or
    on a later line when the label stands alone in its row (one cell per line, as in text
    converted from HTML).  In a heading row of several labels ("Pricing Date | Issue Date |
    Maturity Date") the value is the cell in the same column of the next row."""
    pattern = re.compile(
        rf"(?<![A-Za-z])(?P<label>{labels})(?![A-Za-z]){_LABEL_TAIL}(?P<value>{value})", re.I)
    found: list = []
    for m in pattern.finditer(doc.flat):
        label_line = doc.index_at(m.start())
        if label_line != doc.index_at(m.start("value")) and _is_heading_row(doc, label_line):
            continue
        found.append(m)
    label_only = re.compile(rf"(?P<label>{labels})(?![A-Za-z]){_LABEL_TAIL}$", re.I)
    value_only = re.compile(rf"(?P<value>{value})", re.I)
    rows = doc.table_rows()
    for (heads, start, _), (row, _, end) in zip(rows, rows[1:]):
        if len(heads) < 2 or len(heads) != len(row) or any(re.search(r"\d", c) for c in heads):
            continue
        for head, cell in zip(heads, row):
            m = value_only.match(cell) if label_only.match(head) else None
            if m:
                found.append(_CellMatch(m, start, end))
    return sorted(found, key=lambda m: m.start())


def _is_heading_row(doc: _Flat, index: int) -> bool:
    """A row of two or more cells and no figures: column headings."""
    cells = doc.cells(index)
    return len(cells) >= 2 and not any(re.search(r"\d", c) for c in cells)


def _cusip_ok(code: str) -> bool:
    """The CUSIP check digit (ninth character) is right."""
    total = 0
    for i, ch in enumerate(code[:8]):
        if ch.isdigit():
            v = int(ch)
        else:
            v = ord(ch) - 55 if ch.isalpha() else {"*": 36, "@": 37, "#": 38}.get(ch, 0)
        if i % 2:
            v *= 2
        total += v // 10 + v % 10
    return code[8].isdigit() and (10 - total % 10) % 10 == int(code[8])


def _isin_ok(code: str) -> bool:
    """The ISIN check digit (Luhn over the letters as numbers) is right."""
    digits = "".join(str(int(ch, 36)) for ch in code)
    total = 0
    for i, ch in enumerate(reversed(digits)):
        v = int(ch) * (2 if i % 2 else 1)
        total += v // 10 + v % 10
    return total % 10 == 0


def _find_instrument_id(doc: _Flat, found: _Found) -> str | None:
    """The CUSIP ("CUSIP No.: 02687QCD8", "CUSIP: …", "CUSIP / ISIN: … / …") or, when no CUSIP
    is printed, the ISIN ("ISIN: US…").  A code whose check digit is wrong is still taken, with
    an assumption saying so."""
    candidates: list[_Candidate] = []
    for rank, (labels, value, check, kind) in enumerate((
            (r"CUSIP(?:\s*(?:No\.?|Number|#|Code))?(?:\s*/\s*ISIN(?:\s*(?:No\.?|Number))?)?",
             r"[0-9A-Z]{6}[0-9A-Z*@#]{2}[0-9](?![0-9A-Za-z])", _cusip_ok, "CUSIP"),
            (r"ISIN(?:\s*(?:No\.?|Number|Code))?",
             r"[A-Z]{2}[0-9A-Z]{9}[0-9](?![0-9A-Za-z])", _isin_ok, "ISIN"))):
        for m in _labelled(doc, labels, value):
            code = m.group("value").upper()
            note = None if check(code) else (
                f"instrument id {code}: its {kind} check digit is wrong; check it against the "
                "document")
            candidates.append(_Candidate(code, code, m.start(), m.end(), rank, note=note))
    cusips = {c.value for c in candidates if c.rank == 0}
    candidates = [c for c in candidates if c.rank == 0 or c.value[2:11] not in cusips]
    best = _choose(doc, found, "instrument_id", "instrument id", candidates)
    return best.value if best else None


_ISSUE_LABELS = (
    (0, r"Original\s+Issue\s+Date"),
    (0, r"Issue\s+Date"),
    (1, r"Settlement\s+Date"),
)
_MATURITY_LABELS = (
    (0, r"(?:Stated\s+)?Maturity\s+Date"),
    (1, r"(?:Stated\s+)?Maturity(?=\s*:)"),
)


def _find_labelled_date(doc: _Flat, found: _Found, name: str, label: str,
                        labels: tuple[tuple[int, str], ...]) -> date | None:
    """A date printed after one of ``labels`` ("Original Issue Date: July 20, 2007",
    "Settlement Date | 7/20/2007"); "on or about" dates are taken with an assumption."""
    candidates: list[_Candidate] = []
    for rank, labels_re in labels:
        for m in _labelled(doc, labels_re, rf"(?:on\s+or\s+about\s+)?{DATE}"):
            text = m.group("value")
            about = re.match(r"on\s+or\s+about\s+", text, re.I)
            value = parse_date(text[about.end():] if about else text)
            if value is None:
                continue
            note = f"{label} {value.isoformat()} is printed 'on or about'" if about else None
            candidates.append(_Candidate(value, value.isoformat(), m.start(), m.end(), rank,
                                         note=note))
    best = _choose(doc, found, name, label, candidates)
    return best.value if best else None


_DAY_COUNT_VALUE = (
    r"(?:30E/360\s*\(?\s*ISDA\s*\)?|30E/360\s*\(?\s*IC?MA\s*\)?|30E/360|30/360\s*\(?\s*IC?MA\s*\)?"
    r"|30/360|30U/360|360/360|Bond\s+Basis|Eurobond\s+Basis|German"
    r"|(?:Actual|Act|A)\s*/\s*(?:Actual|Act|A)"
    r"(?:\s*\(?\s*(?:ISDA|ICMA|ISMA|Historical|Bond)\s*\)?)?"
    r"|(?:Actual|Act|A)\s*/\s*365\s*\(?\s*(?:Fixed|F)\b\s*\)?|(?:Actual|Act|A)\s*/\s*365F"
    r"|(?:Actual|Act|A)\s*/\s*365|(?:Actual|Act|A)\s*/\s*360)"
)
_AMBIGUOUS_365 = ("day count {printed!r} is ambiguous: it means ACT/365F (actual days over 365) "
                  "to some issuers and ACT/ACT ISDA (leap-year days over 366) to others; it "
                  "must be given")


def _canonical_day_count(printed: str) -> tuple[str | None, str | None]:
    """(canonical day count, assumption) for a printed day-count name: ``30/360``, ``30E/360``,
    ``30E/360 ISDA``, ``ACT/ACT`` (ICMA), ``ACT/ACT ISDA``, ``ACT/365F``, ``ACT/360``; an
    unqualified Actual/365 is ambiguous (None and the reason)."""
    key = re.sub(r"[\s()]+", "", printed.upper()).replace("ACTUAL", "ACT")
    key = re.sub(r"^A/", "ACT/", key)
    if key in ("30E/360ISDA", "GERMAN"):
        return "30E/360 ISDA", None
    if key in ("30E/360", "30E/360ICMA", "30E/360IMA", "30/360ICMA", "30/360IMA", "EUROBONDBASIS"):
        return "30E/360", None
    if key in ("30/360", "30U/360", "360/360", "BONDBASIS"):
        return "30/360", None
    key = re.sub(r"^ACT/A(?!CT)", "ACT/ACT", key)
    if key in ("ACT/ACTISDA", "ACT/ACTHISTORICAL"):
        return "ACT/ACT ISDA", None
    if key in ("ACT/ACTICMA", "ACT/ACTISMA", "ACT/ACTBOND"):
        return "ACT/ACT", None
    if key == "ACT/ACT":
        return "ACT/ACT", (f"day count {printed!r} read as ACT/ACT (ICMA), cpdi's meaning of "
                           "ACT/ACT; the 2006 ISDA Definitions read it as ACT/ACT ISDA")
    if key in ("ACT/365F", "ACT/365FIXED"):
        return "ACT/365F", None
    if key == "ACT/365":
        return None, _AMBIGUOUS_365.format(printed=printed)
    if key == "ACT/360":
        return "ACT/360", None
    return None, None


def _find_day_count(doc: _Flat, found: _Found, tax: list[tuple[int, int]]) -> str | None:
    """The day count: a labelled term ("Day Count Convention: 30/360", "Day Count Fraction |
    Actual/360", "Day count basis: 30/360 (unadjusted)"), or the tax section's own wording
    ("assuming a day count convention of 30/360", "on a 30/360 basis"), or the classic "360-day
    year of twelve 30-day months".  The tax section's wording wins over a labelled coupon day
    count.  An unqualified "Actual/365" gives None and an assumption saying why."""
    candidates: list[_Candidate] = []
    for m in _labelled(doc, r"Day[\s-]+Count(?:\s+(?:Convention|Fraction|Basis))?|Accrual\s+Basis",
                       _DAY_COUNT_VALUE):
        candidates.append(_day_count_candidate(m.group("value"), m.start(), m.end(), 0, tax))
    for m in re.finditer(
            rf"(?:day[\s-]+count(?:\s+(?:convention|fraction|basis))?\s+(?:of\s+)?"
            rf"(?P<a>{_DAY_COUNT_VALUE})"
            rf"|(?:on\s+an?\s+|using\s+an?\s+)(?P<b>{_DAY_COUNT_VALUE})\s+"
            rf"(?:day[\s-]+count|basis))",
            doc.prose, re.I):
        if _in_spans(m.start(), tax):
            printed = m.group("a") or m.group("b")
            candidates.append(_day_count_candidate(printed, m.start(), m.end(), -1, tax))
    for m in re.finditer(r"360-day\s+year\s+(?:consisting\s+)?of\s+twelve\s+30-day\s+months",
                         doc.prose, re.I):
        cand = _day_count_candidate("30/360", m.start(), m.end(), 1, tax)
        cand.note = "day count 30/360 read from '360-day year of twelve 30-day months'"
        candidates.append(cand)
    readable = [c for c in candidates if c.value is not None]
    ambiguous = [c for c in candidates if c.value is None and c.note]
    if not readable:
        for c in ambiguous[:1]:
            quote, line = doc.quote(c.start, c.end)
            found.assume(f"{c.note} (line {line}: '{quote}')")
        return None
    best = _choose(doc, found, "day_count", "day count", readable, prefer_tax=True)
    return best.value if best else None


def _day_count_candidate(printed: str, start: int, end: int, rank: int,
                         tax: list[tuple[int, int]]) -> _Candidate:
    value, note = _canonical_day_count(" ".join(printed.split()))
    return _Candidate(value, value or printed, start, end, rank, _in_spans(start, tax), note)


# a currency or percent sign may sit in a cell of its own: "$ | 1,000.00", "100.00 | %"
_MONEY = r"(?:U\.\s?S\.\s?)?\$[\s|]{0,8}(?P<money>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
_PERCENT = r"(?P<pct>\d{1,3}(?:\.\d+)?)(?:\s?%|[\s|]{1,8}%)"
_UNIT_NOUNS = (r"(?:stated\s+principal\s+amount|principal\s+amount|face\s+amount|"
               r"notional\s+amount|original\s+offering\s+price|note|notes|security|securities|"
               r"certificate|unit|investment)")


def _find_unit_principal(doc: _Flat, found: _Found, tax: list[tuple[int, int]],
                         runs: list["_Run"] = ()) -> str | None:
    """The principal amount the PPS is quoted per.  Read from, in this order: "per $1,000
    principal amount (note)", "per $10 stated principal amount", "(per $1,000 note)" (the tax
    section's first); a labelled "Stated principal amount: $10 per security" or "Principal
    amount per note: $1,000", or "each note will have a face amount of $1,000"; "(assuming an
    issue price of $1,000)" and "based on an investment of $1,000" (with an assumption); and
    last the authorized denominations ("denominations of $1,000 and integral multiples"), which
    say only what a note is (with an assumption).  Aggregate amounts are never taken."""
    candidates: list[_Candidate] = []
    for m in re.finditer(rf"\bper\s+(?:each\s+)?{_MONEY}\s+(?:in\s+|of\s+)?{_UNIT_NOUNS}\b",
                         doc.prose, re.I):
        candidates.append(_money_candidate(m, 0, tax))
    for m in _labelled(doc, r"(?:Stated\s+)?Principal\s+Amount\s+per\s+(?:Note|Security|Unit|"
                            r"Certificate)|Stated\s+Principal\s+Amount|Face\s+Amount\s+per\s+"
                            r"(?:Note|Security)|Denomination\s+per\s+(?:Note|Security)",
                       rf"{_MONEY}"):
        candidates.append(_money_candidate(m, 1, tax))
    for m in _labelled(doc, r"Principal\s+Amount|Face\s+Amount",
                       rf"{_MONEY}\s+per\s+(?:note|security|unit|certificate)\b"):
        candidates.append(_money_candidate(m, 1, tax))
    for m in re.finditer(rf"\b(?:assuming\s+an?\s+issue\s+price\s+of|based\s+on\s+an?\s+"
                         rf"(?:initial\s+)?investment\s+of)\s*{_MONEY}", doc.prose, re.I):
        cand = _money_candidate(m, 2, tax)
        cand.note = (f"unit principal {cand.text} taken from '{' '.join(m.group(0).split())}': "
                     "the projected payment schedule is quoted for that amount")
        candidates.append(cand)
    for m in re.finditer(rf"\b(?:each|a|one)\s+(?:note|security|unit|certificate)\s+(?:will\s+)?"
                         rf"ha(?:s|ve)\s+an?\s+(?:face|stated\s+principal|principal)\s+amount\s+"
                         rf"of\s+{_MONEY}", doc.prose, re.I):
        candidates.append(_money_candidate(m, 1, tax))
    if not candidates:
        for m in re.finditer(rf"denominations?\b[^.|]{{0,80}}?{_MONEY}", doc.prose, re.I):
            cand = _money_candidate(m, 3, tax)
            cand.note = (f"unit principal {cand.text} taken from the authorized denominations; "
                         "the document does not say per what amount the projected payment "
                         "schedule is quoted")
            candidates.append(cand)
            break
    candidates = _outside_table_headings(
        [c for c in candidates if Decimal(c.text) > 0], [r.columns_at for r in runs])
    best = _choose(doc, found, "unit_principal", "unit principal", candidates, prefer_tax=True,
                   rank_first=True)
    return best.text if best else None


def _outside_table_headings(candidates: list[_Candidate],
                            headings: list[tuple[int, int]]) -> list[_Candidate]:
    """Drop an amount printed only in a table's column headings ("Projected Payment (per $100
    principal amount)") when the text elsewhere names another unit: it says what that table is
    quoted per (:func:`_table_basis`), not what a note is."""
    outside = [c for c in candidates if not _in_spans(c.start, headings)]
    if not outside:
        return candidates
    values = {c.text for c in outside}
    return [c for c in candidates if c in outside or c.text in values]


def _money_candidate(m: re.Match, rank: int, tax: list[tuple[int, int]]) -> _Candidate:
    text = _canonical(m.group("money").replace(",", ""))
    return _Candidate(text, text, m.start(), m.end(), rank, _in_spans(m.start(), tax))


def _find_issue_price(doc: _Flat, found: _Found, unit: str | None) -> str | None:
    """The issue price per unit of principal: a labelled "Issue Price", "Original Issue Price",
    "Price to Public", "(Initial) Public Offering Price" as a percentage ("100%", "99.50% of
    the stated principal amount") or an amount per unit ("$10.00", "$1,000 per note"); or the
    wording "offered at a fixed initial public offering price of 100% of principal amount".
    Percentages need the unit principal; an amount far above it is an aggregate and is not
    taken.  An offering-price option printed with an unchecked box is taken with an assumption."""
    candidates: list[_Candidate] = []
    value = rf"(?:{_PERCENT}|{_MONEY})"
    labels = (r"(?:Original\s+|Initial\s+)?Issue\s+Price|Price\s+to\s+(?:the\s+)?Public|"
              r"(?:Initial\s+)?Public\s+Offering\s+Price|Offering\s+Price")
    for m in _labelled(doc, labels, value):
        candidates.append(_price_candidate(doc, m, 0, unit))
    for m in re.finditer(rf"offer(?:ed|ing)\s+at\s+(?:a\s+)?(?:fixed\s+)?(?:initial\s+)?"
                         rf"(?:public\s+)?(?:offering\s+)?(?:price\s+of\s+)?{_PERCENT}\s+of\s+"
                         rf"(?:the\s+)?(?:stated\s+)?(?:principal|face)\s+amount", doc.prose, re.I):
        cand = _price_candidate(doc, m, 1, unit)
        before = doc.flat[max(0, m.start() - 60):m.start()]
        if re.search(r"(?:^|[\s|])(?:o|¨|☐|□|❑)\s+[A-Z][^.|:]{0,50}$", before):
            cand.note = ((cand.note + "; ") if cand.note else "") + (
                f"issue price {cand.text} read from an offering option printed with an "
                "unchecked box; check the price the notes were sold at")
        candidates.append(cand)
    candidates.extend(_cover_table_prices(doc, unit))
    usable = [c for c in candidates if c.value is not None]
    for c in candidates:
        if c.value is None and c.note:
            found.assume(c.note)
    best = _choose(doc, found, "issue_price", "issue price", usable)
    if best is None:
        return None
    _corroborate_price_with_proceeds(doc, found, best, unit)
    return best.text


_PRICE_HEADING = re.compile(r"^(?:(?:Original|Initial)\s+)?(?:Issue\s+Price|Price\s+to\s+"
                            r"(?:the\s+)?Public|(?:Initial\s+)?(?:Public\s+)?Offering\s+Price)"
                            r"\b", re.I)
_COVER_HEADING = re.compile(r"price|fees?\b|commissions?|discounts?|proceeds|underwriting|"
                            r"selling|concession|structuring", re.I)
_PER_UNIT_ROW = re.compile(r"^Per\s+(?:note|security|unit|certificate|\$[\d,]+)", re.I)


def _cover_table_prices(doc: _Flat, unit: str | None) -> list[_Candidate]:
    """The cover page's price table: column headings naming "Price to Public" (or "Issue
    Price") among the fees and proceeds, then a row "Per note" / "Per security" with the price
    in the same column — whether each row is a line or each cell is a line of its own."""
    cells = doc.cell_list()
    candidates = []
    for k, (text, _, _) in enumerate(cells):
        if not _PRICE_HEADING.match(text):
            continue
        first = k
        while first > 0 and k - first < 6 and _is_cover_heading(cells[first - 1][0]):
            first -= 1
        last = k
        while last + 1 < len(cells) and last - k < 6 and _is_cover_heading(cells[last + 1][0]):
            last += 1
        if last + 1 >= len(cells) or not _PER_UNIT_ROW.match(cells[last + 1][0]):
            continue
        column = k - first
        values = cells[last + 2:last + 2 + (last - first + 1)]
        if column >= len(values):
            continue
        value, _, value_end = values[column]
        m = re.fullmatch(rf"(?:{_PERCENT}|{_MONEY})(?:\s?\(\d\)|\*+)?", value)
        if m:
            cand = _price_candidate(doc, m, 0, unit)
            cand.start, cand.end = cells[first][1], value_end
            candidates.append(cand)
    return candidates


def _is_cover_heading(text: str) -> bool:
    """A column heading of the cover's price table ("Price to Public", "Fees and Commissions
    (2)", "Agent's Commission(2)", "Proceeds to Issuer"): a footnote mark after it is ignored;
    a cell ending in a colon ("Underwriting fee and issue price:") labels a row, not a column."""
    text = _FOOTNOTE_MARK.sub("", text).strip()
    return bool(_COVER_HEADING.search(text)) and not re.search(r"\d", text) \
        and len(text.split()) <= 6 and not text.endswith(":")


_FOOTNOTE_MARK = re.compile(r"\s*(?:\(\d{1,2}\)|\*+|†|‡)+\s*$")


def _price_candidate(doc: _Flat, m: re.Match, rank: int, unit: str | None) -> _Candidate:
    """A percentage times the unit principal, or an amount per unit."""
    if m.group("pct") is not None:
        pct = Decimal(m.group("pct"))
        if unit is None:
            return _Candidate(None, m.group("pct"), m.start(), m.end(), rank, note=(
                f"issue price printed as {m.group('pct')}% but the unit principal is not known"))
        text = _canonical(pct * Decimal(unit) / 100)
        return _Candidate(text, text, m.start(), m.end(), rank)
    amount = Decimal(m.group("money").replace(",", ""))
    if unit is not None and amount > 2 * Decimal(unit):
        return _Candidate(None, str(amount), m.start(), m.end(), rank)
    text = _canonical(amount)
    return _Candidate(text, text, m.start(), m.end(), rank)


def _corroborate_price_with_proceeds(doc: _Flat, found: _Found, best: _Candidate,
                                     unit: str | None) -> None:
    """When the price was read from an unchecked option, say whether the net proceeds to the
    issuer equal the principal amount (a sale at par with no discount)."""
    if not best.note or "unchecked" not in best.note or unit is None:
        return
    principal = _labelled(doc, r"Principal\s+Amount", _MONEY)
    proceeds = _labelled(doc, r"(?:Net\s+)?Proceeds\s+to\s+(?:the\s+)?Issuer", _MONEY)
    if principal and proceeds:
        p = Decimal(principal[0].group("money").replace(",", ""))
        q = Decimal(proceeds[0].group("money").replace(",", ""))
        if p > 0:
            found.assume(
                f"the net proceeds to the issuer are {_canonical(q / p * 100)}% of the principal "
                f"amount (line {doc.line_at(proceeds[0].start())}), which "
                + ("agrees with" if q / p * Decimal(unit) == Decimal(best.text) else
                   "does not agree with") + f" an issue price of {best.text}")


# =============================================================================================
# 6. The tax section's prose: comparable yield, compounding, fixed payments, single payment
# =============================================================================================

_COMPOUNDING = re.compile(
    r"(?:compounded\s+(?:on\s+an?\s+)?(?P<a>semi-?\s?annual(?:ly)?|annual(?:ly)?|quarterly|"
    r"monthly|bi-?annual(?:ly)?)|(?P<b>semi-?\s?annual|annual|quarterly|monthly)\s+compounding)",
    re.I)
_PER_YEAR = {"semi": 2, "bi": 2, "annual": 1, "quarterly": 4, "monthly": 12}
_RESTATED = re.compile(r"(?:replaced\s+(?:by|with)|amended\s+to(?:\s+read)?|corrected\s+to|"
                       r"should\s+(?:read|be)|is\s+now|instead\s+of)\s+", re.I)


def _per_year(word: str) -> int:
    word = word.lower().replace(" ", "")
    for key, count in _PER_YEAR.items():
        if word.startswith(key):
            return count
    return 0


def _find_comparable_yield(doc: _Flat, found: _Found,
                           tax: list[tuple[int, int]]) -> tuple[str | None, int | None]:
    """The comparable yield in percent and the compounding periods per year it states, from
    sentences such as "we have determined that the comparable yield is 5.46%", "the comparable
    yield is an annual rate of 4.123%, compounded semi-annually", "the comparable yield for the
    notes is 3.25% per annum (compounded annually)", "the 'comparable yield' is a rate of
    4.4385% per annum, compounded semi-annually", "Comparable yield: 4.50%".  The first
    percentage after "comparable yield" in the same sentence is taken; in a restating sentence
    ("… is replaced by 4.25%") the restated figure.  Yields in the tax section win."""
    mention = re.compile(r"comparable\s+yield", re.I)
    percent = re.compile(r"(?<![\d.])(\d{1,2}(?:\.\d+)?)(?:\s?%|\s+per\s?cent\b|\s+percent\b)",
                         re.I)
    candidates: list[_Candidate] = []
    for m in mention.finditer(doc.prose):
        sentence_end = _sentence_end(doc.prose, m.end(), 320)
        again = mention.search(doc.prose, m.end(), sentence_end)
        window_end = again.start() if again else sentence_end
        restated = _RESTATED.search(doc.prose, m.end(), window_end)
        pct = percent.search(doc.prose, restated.end() if restated else m.end(), window_end)
        if not pct:
            continue
        compounding = (_COMPOUNDING.search(doc.prose, pct.end(), sentence_end)
                       or _COMPOUNDING.search(doc.prose, m.start(), pct.start()))
        per_year = _per_year(compounding.group("a") or compounding.group("b")) \
            if compounding else None
        end = max(pct.end(), compounding.end() if compounding else 0)
        candidates.append(_Candidate((pct.group(1), per_year), pct.group(1), m.start(), end, 0,
                                     _in_spans(m.start(), tax)))
    best = _choose(doc, found, "comparable_yield_pct", "comparable yield", candidates,
                   prefer_tax=True,
                   quote_span=lambda c: _sentence_bounds(doc, c.start, c.end))
    if best is None:
        return None, None
    text, per_year = best.value
    if per_year:
        quote, line = doc.quote(*_sentence_bounds(doc, best.start, best.end))
        found.evidence.append(Evidence("frequency", str(per_year), quote, line))
    return text, per_year


def _sentence_end(text: str, start: int, limit: int) -> int:
    """The offset just after the end of the sentence that runs on from ``start``: a full stop
    or semicolon before a capital, or a colon that introduces what follows ("… is as
    follows:", "… consists of the following payments:") — but not a colon right after
    ``start`` ("Comparable yield: 4.50%"), which is a label's."""
    stop = _SENTENCE_STOP.search(text, start, start + limit)
    colon = _INTRODUCING_COLON.search(text, start, stop.start() if stop else start + limit)
    while colon and not re.search(r"[A-Za-z]{2}", text[start:colon.start()]):
        colon = _INTRODUCING_COLON.search(text, colon.end(), stop.start() if stop else
                                          start + limit)
    if colon:
        return colon.end()
    return stop.end() if stop else min(len(text), start + limit)


_SENTENCE_STOP = re.compile(r"[.;](?=\s+[A-Z(\"]|\s*$)")
_INTRODUCING_COLON = re.compile(r":(?=\s)")


def _find_fixed_payments(doc: _Flat, found: _Found, tax: list[tuple[int, int]]) -> int:
    """How many leading PPS payments the text calls fixed: "taking into account the first four
    initial fixed payments" → 4, "the first 2 fixed coupon payments", "the fixed interest
    payments on the first three interest payment dates"; 0 when not said."""
    count = r"(?P<n>\d{1,2}|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|" \
            r"thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen|twenty)"
    patterns = (
        rf"\b(?:first|initial)\s+{count}\s+(?:\w+\s+){{0,2}}?(?:fixed|non-?contingent)\s+"
        rf"(?:\w+\s+)?(?:payments|coupons|interest\s+payments)",
        rf"\b(?:fixed|non-?contingent)\s+(?:\w+\s+){{0,2}}?payments?\s+(?:on|for)\s+the\s+"
        rf"first\s+{count}\s+(?:\w+\s+){{0,3}}?(?:dates|periods|payments)",
    )
    candidates: list[_Candidate] = []
    for pattern in patterns:
        for m in re.finditer(pattern, doc.prose, re.I):
            n = _number(m.group("n"))
            if n:
                candidates.append(_Candidate(n, str(n), m.start(), m.end(), 0,
                                             _in_spans(m.start(), tax)))
    best = _choose(doc, found, "fixed_payments", "fixed payments", candidates, prefer_tax=True)
    return best.value if best else 0


def _find_single_payment(doc: _Flat, found: _Found,
                         tax: list[tuple[int, int]]) -> tuple[str | None, str | None]:
    """A PPS of one payment at maturity, and what it is quoted per when not per unit
    principal: "the 'projected payment schedule' per $1,000 principal amount note consists of
    a single payment at maturity, equal to $1,187.54"; "consists of a projected amount equal
    to $1,273.4051 due at maturity"; "with a projected payment at maturity of $1,225.17"; "a
    single payment at maturity equal to 112.3456% of the principal amount" (per 100 of
    principal).  Amounts that name the unit ("per $1,000", "an issue price of $1,000", "an
    investment of $1,000") are not the payment."""
    candidates: list[_Candidate] = []
    trigger = re.compile(
        r"single\s+(?:projected\s+)?payment|projected\s+amount\s+(?:equal\s+to|of)|"
        r"projected\s+payment\s+(?:at|on)\s+(?:the\s+)?(?:stated\s+)?maturity", re.I)
    for m in trigger.finditer(doc.prose):
        end = _sentence_end(doc.prose, m.end(), 260)
        start = max(m.start() - 200, 0)
        sentence = doc.prose[start:end]
        if not re.search(r"maturity", sentence, re.I):
            continue
        share = re.search(rf"{_PERCENT}\s+of\s+(?:the\s+|its\s+)?(?:stated\s+)?"
                          r"(?:principal|face)\s+amount", doc.prose[m.start():end], re.I)
        money_first = re.search(_MONEY, doc.prose[m.start():end])
        if share and not (money_first and money_first.start() < share.start()):
            text = share.group("pct")
            candidates.append(_Candidate((text, "100"), text + "%", m.start(),
                                         m.start() + share.end(), 0, _in_spans(m.start(), tax)))
            continue
        for money in re.finditer(_MONEY, doc.prose[m.start():end]):
            at = m.start() + money.start()
            before = doc.prose[max(0, at - 40):at]
            after = doc.prose[m.start() + money.end():m.start() + money.end() + 30]
            if re.search(r"(?:\bper\s+(?:each\s+)?|issue\s+price\s+of\s+|investment\s+of\s+|"
                         r"principal\s+amount\s+of\s+)(?:U\.\s?S\.\s?)?$", before, re.I):
                continue
            if re.match(rf"\s+(?:in\s+)?{_UNIT_NOUNS}\b", after, re.I) and \
                    not re.match(r"\s+(?:due|at|on|payable)\b", after, re.I):
                continue
            text = _plain_amount(money.group("money"))
            candidates.append(_Candidate((text, None), text, m.start(),
                                         m.start() + money.end(), 0, _in_spans(m.start(), tax)))
            break
    best = _choose(doc, found, "single_payment", "single payment", candidates, prefer_tax=True,
                   quote_span=lambda c: _sentence_bounds(doc, c.start, c.end, 200, 60))
    return best.value if best else (None, None)


# =============================================================================================
# 7. Description: issuer's short name and the notes' title
# =============================================================================================

_SECURITY_NOUN = r"(?:Notes?|Securities|Bonds?|Debentures?|Certificates?|Warrants|CDs)"
_TITLE_RE = re.compile(rf"^(?:(?:U\.?\s?S\.?\s?)?\$[\d,.]+\s+|[\d,]+\s+Units\s+)?"
                       rf"(?P<title>.*?\b{_SECURITY_NOUN}\b.*?\bdue\b\s+"
                       rf"(?:{DATE}|(?:{_MONTH}\s+)?\d{{4}}).*)$", re.I)
_SMALL_WORDS = {"a", "an", "and", "of", "on", "the", "to", "for", "in", "at", "by", "due", "or",
                "with", "from", "into", "per"}
_COMPANY_WORDS = (r"(?:Inc\.?|Incorporated|Corporation|Corp\.?|Company|Co\.|LLC|L\.L\.C\.|plc|"
                  r"PLC|N\.V\.|AG|S\.A\.|Limited|Ltd\.?|L\.P\.)")
_COMPANY_SUFFIX = re.compile(rf",?\s+{_COMPANY_WORDS}\s*$", re.I)
_ISSUER_BEFORE_AMOUNT = re.compile(
    rf"^(?P<issuer>[A-Z][^$|]{{1,60}}?\s{_COMPANY_WORDS})\s+(?=(?:U\.?\s?S\.?\s?)?\$\d)")


def _find_description(doc: _Flat, found: _Found, maturity: date | None = None) -> str | None:
    """"<issuer short name> <title>": the title is the first heading near the top naming notes
    or securities "due <date or year>" ("CMS CURVE NOTES DUE JULY 20, 2027"), printed in title
    case with acronyms kept and "due" in lower case; the issuer's short name is the acronym of
    its name when the document uses it ("AIG"), its own defined short name, or its name (see
    :func:`_issuer_short_name`).  A title whose "due …" wraps onto the next line is joined
    (:func:`_title_line`); a title printed after the issuer's name and the amount ("Alpstein
    Bank AG $7,250,000 … Notes due …") gives the issuer's name too."""
    top = list(zip(doc.starts, doc.line_texts))[:150]
    for index in range(len(top)):
        start, plain, end = _title_line(top, index)
        if len(plain.split()) > 30 or not re.search(r"\bdue\b", plain, re.I):
            continue
        named = _ISSUER_BEFORE_AMOUNT.match(plain)
        m = _TITLE_RE.match(plain[named.end():] if named else plain)
        if not m:
            continue
        title = m.group("title").strip(" ,;")
        nice = _title_case(doc, title)
        issuer = _issuer_short_name(doc, [t for _, t in top[:index]],
                                    named.group("issuer") if named else None)
        description = _one_due_date(nice, maturity)
        if issuer and not description.lower().startswith(issuer.lower()):
            description = f"{issuer} {description}"
        quote, line = doc.quote(start, end)
        found.evidence.append(Evidence("description", description, quote, line))
        return description
    return None


def _one_due_date(title: str, maturity: date | None) -> str:
    """A title naming several notes' maturities ("… due March 5, 2029 and March 5, 2031") names
    only ``maturity``'s, the note read (see :func:`_find_tranche`)."""
    if maturity is None:
        return title
    listing = re.search(rf"\bdue\s+(?P<dates>{DATE}(?:\s*(?:,|and|&)\s*(?:and\s+)?{DATE})+)",
                        title, re.I)
    if not listing:
        return title
    for m in _DATE_RE.finditer(listing.group("dates")):
        if parse_date(m.group(0)) == maturity:
            return title[:listing.start("dates")] + m.group(0) + title[listing.end("dates"):]
    return title


def _title_line(top: list[tuple[int, str]], index: int) -> tuple[int, str, int]:
    """The line at ``index`` as (start, text without bars, end); a title line naming notes or
    securities but no "due" is joined with the next line when that one starts with "due"
    ("… Principal Protected Notes" / "due September 30, 2030")."""
    start, text = top[index]
    plain = " ".join(text.replace("|", " ").split())
    end = start + len(text)
    if index + 1 < len(top) and not re.search(r"\bdue\b", plain, re.I) and \
            re.search(rf"\b{_SECURITY_NOUN}\b", plain, re.I) and len(plain.split()) <= 20 and \
            not plain.endswith((".", ",", ";", ":")):
        next_start, next_text = top[index + 1]
        following = " ".join(next_text.replace("|", " ").split())
        if re.match(r"due\b", following, re.I):
            return start, f"{plain} {following}", next_start + len(next_text)
    return start, plain, end


def _title_case(doc: _Flat, title: str) -> str:
    """A title printed in capitals, in title case: the document's own mixed-case spelling of the
    title when it prints one, else word by word — a word the document prints in capitals in
    ordinary text ("CMS", "S&P") stays in capitals, small words are lower case — with "due"
    always lower case."""
    if any(c.islower() for c in title):
        return re.sub(r"\bDue\b", "due", title)
    pattern = re.compile(r"\s+".join(re.escape(w) for w in title.split()), re.I)
    for m in pattern.finditer(doc.prose):
        if any(c.islower() for c in m.group(0)):
            return re.sub(r"\bDue\b", "due", " ".join(m.group(0).split()))
    words = []
    for k, word in enumerate(title.split()):
        bare = word.strip(",.;:()")
        if k and bare.lower() in _SMALL_WORDS:
            words.append(word.lower())
        elif _printed_in_capitals(doc, bare) or any(ch.isdigit() for ch in bare) and \
                not _DATE_RE.fullmatch(bare):
            words.append(word)
        else:
            words.append("-".join(part.capitalize() for part in word.lower().split("-")))
    return " ".join(words)


def _printed_in_capitals(doc: _Flat, word: str) -> bool:
    """The document prints ``word`` in capitals inside a line that is not all capitals."""
    if len(word) < 2 or not word.isupper():
        return False
    for text in doc.line_texts:
        if word in text and any(c.islower() for c in text) and \
                re.search(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", text):
            return True
    return False


def _issuer_short_name(doc: _Flat, lines: list[str], named: str | None = None) -> str | None:
    """The issuer's short name, from its company name: printed on a line of its own above the
    title, else before the title's amount (``named``), else after the label "Issuer:"
    (:func:`_labelled_issuer`).  See :func:`_short_name`."""
    for text in reversed(lines):
        plain = " ".join(text.replace("|", " ").split())
        if _is_company_name(plain):
            return _short_name(doc, plain)
    name = named or _labelled_issuer(doc)
    return _short_name(doc, name) if name else None


_BANK_NAME = re.compile(r"^(?:the\s+)?[A-Z][\w.&'-]*(?:\s+[\w.&'-]+){0,5}$", re.I)


def _is_company_name(plain: str) -> bool:
    """A line that is a company's name: at most eight words ending in a corporate suffix
    ("Northgate Capital Holdings, Inc.", "Harbor Chase Financial Company LLC"), or a bank's
    name of at most six words without one ("ROYAL BANK OF CANADA" style: "THE DOMINION MAPLE
    BANK")."""
    if _COMPANY_SUFFIX.search(plain) and len(plain.split()) <= 8:
        return True
    return bool(_BANK_NAME.match(plain)) and bool(re.search(r"\bBank\b", plain, re.I)) and \
        not re.search(r"\d", plain)


def _labelled_issuer(doc: _Flat) -> str | None:
    """The company named after "Issuer:": up to its corporate suffix ("Issuer: Cedar Global
    Markets Holdings Inc., a wholly owned subsidiary of …" → "Cedar Global Markets Holdings
    Inc."), or a bank's name filling the cell ("Issuer: The Dominion Maple Bank")."""
    m = re.search(rf"\bIssuer\s*[:|]\s*\|?\s*(?P<name>[A-Z][^|:;()]{{1,60}}?\s{_COMPANY_WORDS})"
                  rf"(?![A-Za-z])", doc.flat)
    if m:
        return m.group("name")
    m = re.search(r"\bIssuer\s*[:|]\s*\|?\s*(?P<name>[A-Z][^|:;(),]{1,60}?)\s*(?:\||,|\(|$)",
                  doc.flat)
    if m and _is_company_name(m.group("name").strip()):
        return m.group("name").strip()
    return None


def _short_name(doc: _Flat, plain: str) -> str:
    """A company's short name: its acronym when the document uses it as a word ("AMERICAN
    INTERNATIONAL GROUP, INC." → "AIG"), the short name it defines ("Harbor Financial"), or
    the name without "The" and its corporate suffixes ("Company LLC"), in the document's
    capitalisation."""
    name = plain
    while _COMPANY_SUFFIX.search(name):
        name = _COMPANY_SUFFIX.sub("", name).strip(" ,")
    name = re.sub(r"\s*(?:&|\band)$", "", name)
    name = re.sub(r"^the\s+", "", name, flags=re.I)
    words = [w for w in re.split(r"[\s,]+", name)
             if w and w.lower() not in ("the", "of", "and", "&")]
    acronym = "".join(w[0].upper() for w in words if w[0].isalpha())
    if len(acronym) >= 2 and re.search(rf"(?<![A-Za-z]){acronym}(?![A-Za-z])",
                                       doc.prose.replace(plain, "")):
        return acronym
    defined = re.search(rf"{re.escape(name)}[^()]{{0,20}}\(\s*(?:the\s+)?"
                        rf"\"([A-Z][\w&. -]{{1,24}})\"\s*\)", doc.prose, re.I)
    if defined and defined.group(1).lower() not in ("company", "issuer", "bank", "guarantor"):
        return defined.group(1)
    if name.isupper():
        name = " ".join(w if _printed_in_capitals(doc, w) else w.capitalize()
                        for w in name.split())
    return name


# =============================================================================================
# 7b. Several notes in one document
# =============================================================================================

@dataclass
class _Tranche:
    """One of several notes a document describes, each with its own CUSIP and tax figures."""

    instrument_id: str
    maturity: date | None
    name: str | None                   # its column heading or defined name ("2031 Notes")
    span: tuple[int, int] = (0, 0)     # its part of the tax section
    id_at: tuple[int, int] = (0, 0)    # where its CUSIP is printed
    maturity_at: tuple[int, int] = (0, 0)


def _find_tranche(doc: _Flat, found: _Found, tax: list[tuple[int, int]],
                  wanted: str | None) -> _Tranche | None:
    """The note to read when the document gives the tax figures of several notes, each with its
    own CUSIP and its own comparable yield ("2029 Notes. … the comparable yield for the 2029
    Notes is 3.95% …", then the same for the 2031 Notes).

    The notes come from a key-terms row printing several CUSIPs side by side (with the maturity
    dates, and the column headings naming each note, in the rows around it), from several
    labelled CUSIPs, or else from the tax section itself when each of its comparable yields is
    given with one CUSIP.  Each comparable yield of the tax section opens one note's part of
    it, recognised by the note's CUSIP, name or maturity year, else by order.  The note read is
    the one whose CUSIP or ISIN is ``wanted``; else, when the notes come from the tax section,
    the one with the document's own labelled CUSIP; else the first.  The other notes' parts are
    then ignored by every other rule (``found.excluded``); what was done is an assumption.
    None when the document gives one note's figures."""
    starts = _yield_paragraphs(doc, tax)
    if len(starts) < 2:
        return None
    spans = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else next(
            (b for a, b in tax if a <= start < b), len(doc.flat))
        spans.append((start, end))
    notes = _side_by_side_notes(doc) or _labelled_notes(doc)
    own_id = None
    if len(notes) < 2:
        own_id = notes[0].instrument_id if notes else None
        notes = _notes_in_tax_parts(doc, spans)
        if len(notes) < 2:
            return None
    owners = [_segment_owner(doc.prose[a:b], notes) for a, b in spans]
    ids = ", ".join(n.instrument_id for n in notes)
    if len(spans) == len(notes) and len(set(owners)) == len(owners) and None not in owners:
        for (a, b), k in zip(spans, owners):
            notes[k].span = (a, b)
    elif len(spans) == len(notes):
        for (a, b), note in zip(spans, notes):
            note.span = (a, b)
        found.assume(f"the document gives the tax figures of {len(notes)} notes ({ids}): they "
                     "are matched to the notes in the order they are printed")
    else:
        found.assume(f"the document describes {len(notes)} notes ({ids}) but its tax section "
                     f"gives {len(spans)} comparable yields: which belongs to which is not clear; "
                     "the first is read — check it against the document")
        return None
    key = (wanted or "").strip().upper()
    asked = key[2:11] if len(key) == 12 else key      # an ISIN names the CUSIP it holds
    chosen = next((n for n in notes if asked and asked == n.instrument_id), None)
    own = next((n for n in notes if own_id and own_id == n.instrument_id), None)
    said = f"the document gives the tax figures of {len(notes)} notes ({ids}), each with its own " \
           "comparable yield: "
    if chosen is not None:
        found.assume(said + f"{_note_name(chosen)}, the one asked for, is read")
    elif own is not None:
        chosen = own
        found.assume(said + f"{_note_name(chosen)}, the one whose CUSIP the document's terms "
                     "print, is read")
    else:
        chosen = min(notes, key=lambda n: n.span[0])
        found.assume(said + f"the first, {_note_name(chosen)}, is read; give another's CUSIP "
                     "(--id) to read it")
    found.excluded.extend(n.span for n in notes if n is not chosen)
    return chosen


def _notes_in_tax_parts(doc: _Flat, spans: list[tuple[int, int]]) -> list[_Tranche]:
    """Notes named in the tax section itself: each part (one comparable yield each) prints one
    valid CUSIP, a different one in each part ("For the notes with CUSIP 63318FAE1, …")."""
    notes = []
    for a, b in spans:
        codes = {m.group(0) for m in re.finditer(
            r"(?<![0-9A-Za-z])[0-9A-Z]{6}[0-9A-Z*@#]{2}[0-9](?![0-9A-Za-z])", doc.flat[a:b])
            if _cusip_ok(m.group(0)) and re.search(r"\d", m.group(0)[:6])}
        if len(codes) != 1:
            return []
        code = codes.pop()
        at = doc.flat.index(code, a)
        notes.append(_Tranche(code, None, None, id_at=(at, at + len(code))))
    return notes if len({n.instrument_id for n in notes}) == len(notes) else []


def _note_name(note: _Tranche) -> str:
    """A note as named in assumptions: "63318FAF8 (2031 Notes)"."""
    return note.instrument_id + (f" ({note.name})" if note.name else "")


def _side_by_side_notes(doc: _Flat) -> list[_Tranche]:
    """Notes printed side by side in a key-terms table: a "CUSIP" row with one valid CUSIP per
    column, the "Maturity Date" row nearby with one date per column, and the row of column
    headings above them ("2029 Notes | 2031 Notes")."""
    label = re.compile(r"^CUSIP\b", re.I)
    for index, text in enumerate(doc.line_texts):
        cells = doc.cells(index)
        if not cells or not label.match(cells[0]):
            continue
        codes = [m.group(0) for c in cells[1:]
                 for m in [re.match(r"[0-9A-Z]{6}[0-9A-Z*@#]{2}[0-9](?![0-9A-Za-z])", c)] if m]
        codes = [c for c in codes if _cusip_ok(c)]
        if len(codes) < 2 or len(codes) != len(cells) - 1:
            continue
        at = (doc.starts[index], doc.starts[index] + len(text))
        notes = [_Tranche(c, None, None, id_at=at) for c in codes]
        for other in range(max(0, index - 12), min(len(doc.line_texts), index + 12)):
            row = doc.cells(other)
            if len(row) == len(codes) + 1 and re.match(r"(?:Stated\s+)?Maturity(?:\s+Date)?\b",
                                                        row[0], re.I):
                dates = [parse_date(c) for c in row[1:]]
                if all(dates):
                    where = (doc.starts[other], doc.starts[other] + len(doc.line_texts[other]))
                    for note, d in zip(notes, dates):
                        note.maturity, note.maturity_at = d, where
            if other < index and len(row) == len(codes) and all(
                    re.search(rf"\b{_SECURITY_NOUN}\b|\b(?:Tranche|Series|Class)\b", c, re.I)
                    and len(c.split()) <= 5 for c in row):
                for note, heading in zip(notes, row):
                    note.name = heading
        return notes
    return []


def _labelled_notes(doc: _Flat) -> list[_Tranche]:
    """Notes each with a labelled CUSIP of its own ("CUSIP (2029 Notes): …" and "CUSIP (2031
    Notes): …"): the distinct valid CUSIPs, in the order printed; a parenthetical in the label
    names the note."""
    notes: list[_Tranche] = []
    pattern = r"CUSIP(?:\s*(?:No\.?|Number|#))?(?:\s*\((?P<name>[^()|]{1,30})\))?"
    for m in _labelled(doc, pattern, r"[0-9A-Z]{6}[0-9A-Z*@#]{2}[0-9](?![0-9A-Za-z])"):
        line_start = doc.starts[doc.index_at(m.start())]
        if doc.flat[line_start:m.start()].rsplit("|", 1)[-1].strip():
            continue    # "Reference stock CUSIP: …" is not a note's
        code = m.group("value").upper()
        if _cusip_ok(code) and code not in [n.instrument_id for n in notes]:
            name = m.group("name") if isinstance(m, re.Match) else None
            notes.append(_Tranche(code, None, name, id_at=(m.start(), m.end())))
    return notes


def _yield_paragraphs(doc: _Flat, tax: list[tuple[int, int]]) -> list[int]:
    """The starts of the tax section's paragraphs that state a comparable yield with a figure,
    when they state different figures."""
    starts, values = [], set()
    for m in re.finditer(r"comparable\s+yield[^.;%]{0,160}?(\d{1,2}(?:\.\d+)?)"
                         r"(?:\s?%|\s+per\s?cent\b)", doc.prose, re.I):
        if not _in_spans(m.start(), tax):
            continue
        paragraph = doc.paragraphs[max(0, bisect.bisect_right(doc.paragraphs, m.start()) - 1)]
        if paragraph not in starts:
            starts.append(paragraph)
            values.add(m.group(1))
    return starts if len(values) >= 2 else []


def _segment_owner(text: str, notes: list[_Tranche]) -> int | None:
    """The note a part of the tax section is about: the only one whose CUSIP, name or maturity
    year ("… for the 2031 Notes", "Notes due March 5, 2031") it names."""
    def names(note: _Tranche) -> bool:
        if note.instrument_id in text or (note.name and re.search(
                rf"(?<![\w]){re.escape(note.name)}(?![\w])", text, re.I)):
            return True
        if note.maturity is None:
            return False
        year = str(note.maturity.year)
        return bool(re.search(rf"\b{year}\s+{_SECURITY_NOUN}|\bdue\s+(?:{_MONTH}\s+\d{{1,2}},?\s+)?"
                              rf"{year}\b", text, re.I))
    owners = [k for k, note in enumerate(notes) if names(note)]
    return owners[0] if len(owners) == 1 else None


# =============================================================================================
# 8. Tables: tokens, records, runs
# =============================================================================================

_CONJ = r"(?:through|thru|to|until|–|—|-)"
_PERIOD_START = (rf"(?:{DATE}|(?:the\s+)?Original\s+Issue\s+Date|(?:the\s+)?Issue\s+Date|"
                 r"(?:the\s+)?Settlement\s+Date)")
_TOKEN = re.compile(
    rf"(?P<period>(?P<p1>{_PERIOD_START})\s*\|?\s*(?P<conj>{_CONJ})\s*\|?\s*(?P<p2>{DATE}))"
    rf"|(?P<date>{DATE})"
    r"|(?P<percent>(?<![\w.,/$-])\d{1,3}(?:\.\d+)?\s?%)"
    r"|(?P<amount>(?:(?:U\.\s?S\.\s?)?\$[\s|]{0,8}(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
    r"|(?<![\w.,/$-])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)))"
    rf"(?P<after>(?!\d|\s?%|,\d|\.\d)(?:\s?\(\d\)|\*+|†|‡)?)"
    r"|(?P<year>(?<![\w.,/$-])(?:19|20)\d\d(?![\w.,/%$-]))"
    r"|(?P<bar>\|)"
    r"|(?P<word>[A-Za-z][A-Za-z'.&-]*)",
    re.I)
_PROSE_RUN = 8            # this many words in a row without a cell bar is prose: a table ends
_UNIT_AFTER = re.compile(rf"\s*(?:in\s+)?{_UNIT_NOUNS}\b|\s*(?:aggregate|total\s+principal)", re.I)


@dataclass
class _Item:
    kind: str                  # "P" period, "D" date, "Y" calendar year, "A" amount, "W" words,
                               # "BREAK"
    start: int
    end: int
    value: object = None       # date, (start text, conj, end date) or amount text
    words: int = 0
    line: int = 0              # the index of its line in the flat text
    bar_before: bool = False   # a cell bar between it and the item before it


def _items(doc: _Flat) -> list[_Item]:
    """The flat text as table items: periods, dates, amounts, runs of words (a run of
    ``_PROSE_RUN`` words without a bar is a BREAK: prose).  An amount that names a unit
    ("per $1,000 note") is a word, not a figure."""
    items: list[_Item] = []
    words = 0
    word_item: _Item | None = None
    bar = False
    for m in _TOKEN.finditer(doc.flat):
        if m.group("period"):
            kind = "period"
        elif m.group("date"):
            kind = "date"
        elif m.group("amount") or m.group("percent"):
            kind = "amount"
        elif m.group("year"):
            kind = "year" if _alone_in_cell(doc, m.start(), m.end()) else "skip"
        elif m.group("bar"):
            kind = "bar"
        else:
            kind = "word"
        if kind == "skip":
            continue
        if kind == "amount":
            before = doc.flat[max(0, m.start() - 12):m.start()]
            if re.search(r"\bper\s+(?:each\s+)?(?:U\.\s?S\.\s?)?$", before, re.I) or \
                    _UNIT_AFTER.match(doc.flat, m.end()):
                kind = "word"
        if kind == "word":
            words += 1
            if word_item is None:
                word_item = _Item("W", m.start(), m.end())
                items.append(word_item)
            word_item.end = m.end()
            word_item.words += 1
            if words == _PROSE_RUN:
                items.append(_Item("BREAK", m.start(), m.end()))
                word_item = None
            continue
        words = 0
        word_item = None
        if kind == "bar":
            bar = True
            continue
        count = len(items)
        if kind == "period":
            end = parse_date(m.group("p2"))
            start_text = " ".join(m.group("p1").split())
            start = parse_date(start_text) if _DATE_RE.fullmatch(start_text) else start_text
            if end is None or start is None:
                continue
            items.append(_Item("P", m.start(), m.end(), (start, m.group("conj").lower(), end)))
        elif kind == "date":
            value = parse_date(m.group("date"))
            if value is not None:
                items.append(_Item("D", m.start(), m.end(), value))
        elif kind == "year":
            items.append(_Item("Y", m.start(), m.end(), date(int(m.group("year")), 12, 31)))
        elif m.group("percent"):
            items.append(_Item("A", m.start(), m.end(), _plain_amount(m.group("percent")) + "%"))
        else:
            items.append(_Item("A", m.start(), m.end(), _plain_amount(m.group("amount"))))
        if len(items) > count:
            items[-1].line, items[-1].bar_before = doc.index_at(m.start()), bar
        bar = False
    return items


def _alone_in_cell(doc: _Flat, start: int, end: int) -> bool:
    """The text between ``start`` and ``end`` is a cell of its own, or starts one and an amount
    follows: a calendar year printed as the first column of a table ("2026 | $0.3025", "2026
    $0.3025"), not a year inside a sentence or a label."""
    index = doc.index_at(start)
    line_start = doc.starts[index]
    line_end = line_start + len(doc.line_texts[index])
    before = doc.flat[line_start:start].rsplit("|", 1)[-1]
    after = doc.flat[end:line_end].split("|", 1)[0]
    return not before.strip() and (
        not after.strip() or bool(re.match(r"\s+(?:U\.S\.)?\$?\s?\d", after)))


@dataclass
class _Record:
    lead: str                   # "P", "DD" or "D"
    dates: tuple                # (period) / (from, to) / (date,)
    amounts: list[str]
    start: int
    end: int


@dataclass
class _Run:
    records: list[_Record]
    kind: str | None = None     # "schedule" / "accruals"
    heading: tuple[int, int] = (0, 0)
    columns: str = ""
    columns_at: tuple[int, int] = (0, 0)   # where ``columns`` is in the flat text
    intro: str = ""


def _runs(items: list[_Item]) -> list[_Run]:
    """Runs of records of one shape.  A record is a period, a (from, to) pair or a date,
    followed by one or more amounts, its parts separated by nothing but cell bars; records of
    one run have the same shape; a BREAK (prose) or a record of another shape ends a run."""
    runs: list[_Run] = []
    current: list[_Record] = []
    i = 0
    while i < len(items):
        record, after = _record_at(items, i)
        if record is None:
            if items[i].kind == "BREAK" and current:
                runs.append(_Run(current))
                current = []
            i += 1
            continue
        if current and _shape(record) != _shape(current[0]):
            runs.append(_Run(current))
            current = []
        current.append(record)
        i = after
    if current:
        runs.append(_Run(current))
    return runs


def _shape(record: _Record) -> tuple:
    """Records of one table have the same lead, the same number of amounts, and their amounts
    in the same places are percentages or not."""
    return record.lead, len(record.amounts), tuple(a.endswith("%") for a in record.amounts)


def _record_at(items: list[_Item], i: int) -> tuple[_Record | None, int]:
    item = items[i]
    if item.kind == "P":
        lead, dates, j = "P", item.value, i + 1
    elif item.kind == "Y":
        lead, dates, j = "Y", (item.value,), i + 1
    elif item.kind == "D":
        if i + 1 < len(items) and items[i + 1].kind == "D" and (
                items[i + 1].bar_before or items[i + 1].line == item.line):
            lead, dates, j = "DD", (item.value, items[i + 1].value), i + 2
        else:
            lead, dates, j = "D", (item.value,), i + 1
    else:
        return None, i + 1
    amounts = []
    while j < len(items) and items[j].kind == "A":
        amounts.append(items[j].value)
        j += 1
    if not amounts:
        return None, i + 1
    return _Record(lead, dates, amounts, item.start, items[j - 1].end), j


_ACCRUAL_WORDS = re.compile(r"\bOID\b|original\s+issue\s+discount|deemed\s+to\s+(?:have\s+)?accrue|"
                            r"\baccrued\b|to\s+accrue|interest\s+accru|accrues\b", re.I)
_PAYMENT_WORDS = re.compile(r"projected\s+payment|\bpayments?\b|\bcoupons?\b|projected\s+amount",
                            re.I)
_PPS_INTRO = re.compile(r"projected\s+payment", re.I)
_CUMULATIVE = re.compile(r"\btotal\b|cumulative|as\s+of\s+(?:the\s+)?end|"
                         r"from\s+(?:the\s+)?original\s+issue\s+date", re.I)
_DURING = re.compile(r"during|for\s+(?:the\s+|each\s+)?(?:accrual|calendar)\s+period|"
                     r"\bper\s+period", re.I)


def _classify(doc: _Flat, run: _Run, previous_end: int) -> None:
    """What a run is, from the words above it: its column headings (the text after the last
    sentence end before it) and the sentence introducing it.  Headings naming OID or amounts
    deemed to accrue make an accrual table; headings naming a payment under a sentence about
    the projected payment schedule, or headings naming a projected payment, make a PPS."""
    first = run.records[0].start
    lo = max(previous_end, first - 700)
    before = doc.prose[lo:first]
    flat_before = doc.flat[lo:first]
    sentence_ends = [m.end() for m in re.finditer(r"(?<!\bNo)(?<!\bU\.S)[.:](?=\s)", before)]
    cut = sentence_ends[-1] if sentence_ends else 0
    columns = before[cut:]
    intro_start = sentence_ends[-2] if len(sentence_ends) >= 2 else 0
    intro = before[intro_start:cut]
    run.columns = flat_before[cut:]
    run.columns_at = (lo + cut, first)
    run.intro = intro
    heading_start = lo + (intro_start if intro.strip() else cut)
    run.heading = (heading_start, first)
    if _PPS_INTRO.search(columns) and _ACCRUAL_WORDS.search(columns) and \
            len(run.records[0].amounts) >= 2:
        run.kind = "schedule"          # one table with both the payments and the accruals
    elif _ACCRUAL_WORDS.search(columns):
        run.kind = "accruals"
    elif _PPS_INTRO.search(columns) or (_PAYMENT_WORDS.search(columns)
                                        and _PPS_INTRO.search(intro)):
        run.kind = "schedule"
    elif _ACCRUAL_WORDS.search(intro) and not _PPS_INTRO.search(intro):
        run.kind = "accruals"
    elif _PPS_INTRO.search(intro) and re.search(r"following|below|table|as\s+follows", intro, re.I):
        run.kind = "schedule"


def _column_roles(run: _Run) -> list[str]:
    """The role of each amount column ("payment", "period", "cumulative", "aip", "rate"), from
    the order of the column headings, when they can be told apart; else []."""
    return [role for role, _ in _role_labels(run)]


def _column_labels(run: _Run) -> list[str]:
    """The column heading of each amount column when they can be told apart; else []."""
    return [label for _, label in _role_labels(run)]


def _role_labels(run: _Run) -> list[tuple[str, str]]:
    """(role, heading) of each amount column: a heading naming a rate ("Coupon Rate", "Interest
    Rate (%)") is a "rate", not a payment; an adjusted issue price is "aip"; an accrual is
    "period" or, when it is a running total, "cumulative"; a payment is "payment"."""
    labels = [c.strip() for c in run.columns.split("|") if re.search(r"[A-Za-z]", c)]
    pairs = []
    for label in labels:
        if re.search(r"adjusted\s+issue\s+price", label, re.I):
            pairs.append(("aip", label))
        elif re.search(r"\brates?\b", label, re.I) and not re.search(
                r"projected\s+payment|amount", label, re.I):
            pairs.append(("rate", label))
        elif _ACCRUAL_WORDS.search(label) or re.search(r"\binterest\b", label, re.I):
            pairs.append(("cumulative" if _CUMULATIVE.search(label) and
                          not _DURING.search(label) else "period", label))
        elif _CUMULATIVE.search(label) and not re.search(r"date|period", label, re.I):
            pairs.append(("cumulative", label))
        elif _PAYMENT_WORDS.search(label) and not re.search(r"\bdates?\b", label, re.I):
            pairs.append(("payment", label))
    n = len(run.records[0].amounts)
    return pairs if len(pairs) == n else []


# =============================================================================================
# 9. Tables: rows, choice, frequency
# =============================================================================================

@dataclass
class _TableTerms:
    """What reading a table's rows needs from the rest of the document."""

    issue: date | None
    maturity: date | None
    unit: str | None


def _rows(doc: _Flat, found: _Found, records: list[_Record], column: int, terms: _TableTerms,
          label: str, per: str | None = None) -> list[PrintedRow]:
    """PrintedRows of one amount column, in date order.  A period printed "X through Y"
    includes X, so its start is the day before X ("Original Issue Date through …" and a period
    starting on the issue date start on the issue date); "X to Y" and (from, to) columns are
    taken as printed, unless consecutive periods start the day after the previous one ends,
    which is the inclusive style again (assumption recorded).  Two dates per row that do not
    chain from row to row are not a period ("Observation Date | Payment Date"): the later is
    the payment date and the row has no period start (assumption recorded).  A calendar year
    ("2026") is the year to 31 December (see :func:`_calendar_year_period`).  A percentage
    keeps its digits; ``per`` says what it is quoted per."""
    issue = terms.issue
    unchained = _unchained_date_pairs(records)
    if unchained:
        found.assume(f"the {label} prints two dates per row that do not run on from row to row; "
                     "the later of each pair is taken as the payment date")
    rows: list[tuple[date | None, date, str, int, bool]] = []
    for record in records:
        line = doc.line_at(record.start)
        amount = record.amounts[column].rstrip("%")
        if record.lead == "Y":
            start, end = _calendar_year_period(found, record.dates[0].year, terms, label)
            rows.append((start, end, amount, line, False))
            continue
        if record.lead == "D" or unchained:
            rows.append((None, max(record.dates), amount, line, False))
            continue
        if record.lead == "P":
            start, conj, end = record.dates
            inclusive = conj in ("through", "thru")
        else:
            start, end = record.dates
            conj, inclusive = "from-to", False
        rows.append((start, end, amount, line, inclusive))
    rows.sort(key=lambda r: r[1])
    if rows and records[0].lead == "Y" and issue is None:
        found.assume(f"the {label} prints calendar years but the issue date is not printed: "
                     "the first year's period_start is left empty")
        rows[0] = (None,) + rows[0][1:]
    starts = [r[0] for r in rows if isinstance(r[0], date)]
    ends = [r[1] for r in rows]
    day_after = sum(1 for s, prev in zip([r[0] for r in rows[1:]], ends) if isinstance(s, date)
                    and s == prev + timedelta(days=1))
    follows_inclusive = len(rows) > 1 and day_after == len(rows) - 1
    printed_inclusive = any(r[4] for r in rows)
    if follows_inclusive and not printed_inclusive and starts:
        found.assume(f"the {label}'s periods start the day after the previous one ends, so each "
                     "printed start date is read as included: period_start is the day before it")
    result = []
    for start, end, amount, line, inclusive in rows:
        shift = inclusive or (follows_inclusive and start is not None)
        if isinstance(start, str) or (isinstance(start, date) and issue and start == issue):
            if isinstance(start, str) and issue is None:
                found.assume(f"the {label}'s first period starts at '{start}', but the issue "
                             "date is not printed: its period_start is left empty")
                period_start = None
            else:
                period_start = issue
                if isinstance(start, date) and shift:
                    found.assume(f"the {label}'s first period is printed from the issue date "
                                 f"{issue.isoformat()} 'through' its end; it starts at the "
                                 "issue date (the issue date accrues nothing)")
        elif isinstance(start, date):
            period_start = start - timedelta(days=1) if shift else start
        else:
            period_start = None
        result.append(PrintedRow(period_start, end, amount, line, per))
    return result


def _calendar_year_period(found: _Found, year: int, terms: _TableTerms,
                          label: str) -> tuple[date | None, date]:
    """The period of a row printed as a calendar year ("Calendar Year | Interest Deemed to
    Accrue" / "2026 | $35.12"): from 31 December of the year before to 31 December of the
    year, the first from the issue date and the last to the maturity date when they fall in it.
    Without an issue date the first year has no start; without a maturity date the last year
    is taken to 31 December.  Always an assumption."""
    start: date | None = date(year - 1, 12, 31)
    end = date(year, 12, 31)
    if terms.issue is not None and terms.issue.year == year:
        start = terms.issue
    if terms.maturity is not None and terms.maturity.year == year:
        end = terms.maturity
    elif terms.maturity is None:
        found.assume(f"the {label} prints calendar years but the maturity date is not printed: "
                     "its last year is taken to December 31")
    found.assume(f"the {label} prints calendar years: each year's period runs from December 31 "
                 "of the year before (the first from the issue date) to December 31 (the last to "
                 "the maturity date)")
    return start, end


def _unchained_date_pairs(records: list[_Record]) -> bool:
    """Rows of (date, date) where fewer than half of the rows start where (or the day after)
    the previous row ends: the pairs are not accrual periods."""
    pairs = sorted((r.dates for r in records if r.lead == "DD"), key=lambda d: d[1])
    if len(pairs) < 2:
        return False
    chained = sum(1 for (_, end), (start, _) in zip(pairs, pairs[1:])
                  if start in (end, end + timedelta(days=1)))
    return chained < (len(pairs) - 1) / 2


def _rows_overlap(a: list[_Record], b: list[_Record]) -> bool:
    ends_a = {_record_end(r) for r in a}
    return any(_record_end(r) in ends_a for r in b) or \
        min(_record_end(r) for r in b) <= max(_record_end(r) for r in a)


def _record_end(record: _Record) -> date:
    return record.dates[-1] if record.lead != "P" else record.dates[2]


def _merge_continuations(runs: list[_Run]) -> list[_Run]:
    """Join a table continued after a page break or a repeated heading: same kind and shape,
    later dates, and no new introductory sentence above the continuation."""
    merged: list[_Run] = []
    for run in runs:
        prev = merged[-1] if merged else None
        if prev and prev.kind == run.kind and \
                _shape(prev.records[0]) == _shape(run.records[0]) and \
                not _rows_overlap(prev.records, run.records) and \
                not re.search(r"comparable\s+yield|following\s+table|as\s+follows", run.intro,
                              re.I):
            prev.records.extend(run.records)
            continue
        merged.append(run)
    return merged


def _pick_table(doc: _Flat, found: _Found, runs: list[_Run], label: str,
                tax: list[tuple[int, int]]) -> _Run | None:
    """The table to use among several of one kind: the first inside the tax section, else the
    first; a different table also printed is named in an assumption."""
    runs = [r for r in runs if not _in_spans(r.records[0].start, found.excluded)]
    if not runs:
        return None
    ordered = sorted(runs, key=lambda r: (not _in_spans(r.records[0].start, tax),
                                          r.records[0].start))
    best = ordered[0]
    for other in ordered[1:]:
        same = [(r.dates, r.amounts) for r in other.records] == \
            [(r.dates, r.amounts) for r in best.records]
        if not same:
            where = " (in the tax section)" if _in_spans(best.records[0].start, tax) else ""
            found.assume(
                f"{label} taken from the table at line {doc.line_at(best.records[0].start)}"
                f"{where}; the table at line {doc.line_at(other.records[0].start)} "
                f"({len(other.records)} rows) was ignored")
    return best


def _table_runs(doc: _Flat, found: _Found) -> list[_Run]:
    """Every table of the document that is a PPS or an accrual table, continuations joined."""
    runs = _runs(_items(doc))
    previous_end = 0
    for run in runs:
        _classify(doc, run, previous_end)
        previous_end = run.records[-1].end
    _adopt_continuations(doc, found, runs)
    return _merge_continuations([r for r in runs if r.kind])


_SENTENCE_IN_GAP = re.compile(r"[a-z]{3,}[.;:]\s|[a-z]{3,}[.;:]$")


def _adopt_continuations(doc: _Flat, found: _Found, runs: list[_Run]) -> None:
    """A table continued after a page break without its column headings: rows of the same
    shape, later dates, right after a PPS or accrual table, with nothing but a page footer or
    running head in between (at most 40 words and no sentence) are more of that table
    (assumption recorded)."""
    for previous, run in zip(runs, runs[1:]):
        if run.kind or not previous.kind or _shape(previous.records[0]) != _shape(run.records[0]):
            continue
        if _rows_overlap(previous.records, run.records):
            continue
        gap = doc.prose[previous.records[-1].end:run.records[0].start]
        if len(gap.split()) > 40 or _SENTENCE_IN_GAP.search(gap):
            continue
        run.kind = previous.kind
        run.heading, run.columns, run.columns_at = previous.heading, previous.columns, (0, 0)
        found.assume(f"the table at line {doc.line_at(previous.records[0].start)} is taken to "
                     f"continue at line {doc.line_at(run.records[0].start)} after "
                     f"'{' '.join(gap.split())[:60]}' (a page break): its rows are joined")


def _find_tables(doc: _Flat, found: _Found, tax: list[tuple[int, int]], runs: list[_Run],
                 terms: _TableTerms) -> tuple[list[PrintedRow], list[PrintedRow]]:
    """The PPS rows and the accrual rows of the document."""
    schedule_run = _pick_table(doc, found, [r for r in runs if r.kind == "schedule"],
                               "the projected payment schedule", tax)
    accrual_run = _pick_table(doc, found, [r for r in runs if r.kind == "accruals"],
                              "the accrual table", tax)
    schedule: list[PrintedRow] = []
    accruals: list[PrintedRow] = []
    if schedule_run and schedule_run.records[0].lead == "Y":
        found.assume(f"the projected payment schedule at line "
                     f"{doc.line_at(schedule_run.records[0].start)} prints years, not payment "
                     "dates: it is not read; enter the schedule by hand")
        schedule_run = None
    if schedule_run:
        roles = _column_roles(schedule_run)
        n = len(schedule_run.records[0].amounts)
        column = _payment_column(schedule_run)
        if n > 1 and "payment" not in roles:
            found.assume("the projected payment schedule has several amount columns; the last "
                         "is taken as the projected payment")
        label = "projected payment schedule"
        schedule = _rows(doc, found, schedule_run.records, column, terms, label,
                         _table_basis(schedule_run, column, terms.unit))
        _table_evidence(doc, found, "schedule", schedule_run, schedule)
        if accrual_run is None and "period" in roles:
            column = roles.index("period")
            accruals = _rows(doc, found, schedule_run.records, column, terms, "accrual table",
                             _table_basis(schedule_run, column, terms.unit))
    if accrual_run:
        accruals = _accrual_rows(doc, found, accrual_run, terms)
        _table_evidence(doc, found, "accruals", accrual_run, accruals)
    return schedule, accruals


def _payment_column(run: _Run) -> int:
    """The projected payment's column: the heading naming a projected payment, else the first
    naming a payment, else the last column of amounts."""
    pairs = _role_labels(run)
    payments = [k for k, (role, _) in enumerate(pairs) if role == "payment"]
    projected = [k for k in payments if _PPS_INTRO.search(pairs[k][1])]
    if projected or payments:
        return (projected or payments)[0]
    return len(run.records[0].amounts) - 1


_PERCENT_BASIS = re.compile(r"%|\bper\s*cent(?:age)?\b|\bpercent(?:age)?\b", re.I)


def _table_basis(run: _Run, column: int, unit: str | None) -> str | None:
    """The principal amount a table's amounts are quoted per, when it is not the unit
    principal: "100" for percentages of the principal amount (cells printed "2.5000%", or the
    column's heading "Projected Payment (% of principal amount)", "(as a percentage of the
    principal amount)"), or P for a heading "(per $P principal amount)" naming another amount
    than the unit principal.  None when the amounts are per unit principal.  Read, not assumed:
    the caller scales the amounts and says so."""
    cells = [r.amounts[column] for r in run.records]
    labels = _column_labels(run)
    heading = labels[column] if labels else (
        run.columns if len(run.records[0].amounts) == 1 else "")
    if all(c.endswith("%") for c in cells) or (
            _PERCENT_BASIS.search(heading) and not re.search(r"\$", heading)):
        return "100"
    m = re.search(rf"\bper\s+(?:each\s+)?{_MONEY}", (heading or run.columns).replace("|", " "),
                  re.I)
    if m and unit is not None and Decimal(m.group("money").replace(",", "")) != Decimal(unit):
        return _canonical(m.group("money").replace(",", ""))
    return None


def _accrual_rows(doc: _Flat, found: _Found, run: _Run, terms: _TableTerms) -> list[PrintedRow]:
    """The accrual per period: the per-period column; when two columns are printed, the one
    whose running sum the other is; when only a cumulative column ("Total OID … as of End of
    Accrual Period") is printed, its differences (assumption recorded)."""
    n = len(run.records[0].amounts)
    roles = _column_roles(run)
    label = "accrual table"

    def rows(column: int) -> list[PrintedRow]:
        return _chained(found, _rows(doc, found, run.records, column, terms, label,
                                     _table_basis(run, column, terms.unit)),
                        terms.issue)

    if n >= 2:
        columns = [[Decimal(r.amounts[k].rstrip("%")) for r in run.records] for k in range(n)]
        for p in range(n):
            for c in range(n):
                if p != c and _is_running_sum(columns[p], columns[c]):
                    return rows(p)
        return rows(roles.index("period") if "period" in roles else 0)
    cumulative = (roles == ["cumulative"]) or (
        not roles and _CUMULATIVE.search(run.columns) and not _DURING.search(run.columns))
    printed = rows(0)
    if not cumulative:
        return printed
    found.assume("the accrual table prints only the total accrued from the original issue date; "
                 "the accrual of each period is the difference of consecutive totals")
    result, previous = [], Decimal(0)
    for row in printed:
        total = Decimal(row.amount)
        result.append(PrintedRow(row.period_start, row.period_end, format(total - previous, "f"),
                                 row.line, row.per))
        previous = total
    return result


def _chained(found: _Found, rows: list[PrintedRow], issue: date | None) -> list[PrintedRow]:
    """An accrual table printed by the end date of each period only ("Accrual Period Ending |
    Interest Deemed to Accrue"): each period runs from the previous end, the first from the
    issue date (assumption recorded; without an issue date the first is left open)."""
    if not rows or any(r.period_start is not None for r in rows):
        return rows
    found.assume("the accrual table prints only the end of each period: each period runs from "
                 "the previous end (the first from the issue date)")
    starts = [issue] + [r.period_end for r in rows[:-1]]
    return [PrintedRow(start, r.period_end, r.amount, r.line, r.per)
            for start, r in zip(starts, rows)]


def _is_running_sum(period: list[Decimal], total: list[Decimal]) -> bool:
    running = Decimal(0)
    for p, t in zip(period, total):
        running += p
        if abs(running - t) > Decimal("0.011"):
            return False
    return len(period) > 1


def _table_evidence(doc: _Flat, found: _Found, name: str, run: _Run,
                    rows: list[PrintedRow]) -> None:
    """Evidence of a table: its heading — the introducing sentence, shortened from the front
    clause by clause to fit, and the column headings."""
    start, end = run.heading
    while len(" ".join(doc.prose[start:end].split())) > 200:
        comma = doc.prose.find(", ", start, end)
        if comma < 0 or comma > end - 40:
            break
        start = comma + 2
    quote, line = doc.quote(start, end)
    first, last = rows[0].period_end, rows[-1].period_end
    found.evidence.append(Evidence(
        name, f"{len(rows)} rows, {first.isoformat()} to {last.isoformat()}", quote, line))


def _by_calendar_year(rows: list[PrintedRow]) -> bool:
    """Every period but the last ends on 31 December and they are a year apart: a table by
    calendar year."""
    ends = [r.period_end for r in rows[:-1]]
    return len(ends) >= 2 and all((e.month, e.day) == (12, 31) for e in ends) and \
        all(b.year - a.year == 1 for a, b in zip(ends, ends[1:]))


def _infer_frequency(found: _Found, schedule: list[PrintedRow], accruals: list[PrintedRow],
                     doc: _Flat) -> int | None:
    """Periods per year from the table's periods (the most common period length: about 12,
    6, 3 or 1 months), or, with no table, from the wording of the accrual or payment periods
    ("Interest Accrual Periods: The semi-annual period …", "payable quarterly").  Always an
    assumption."""
    for rows, what in ((schedule, "schedule"), (accruals, "accrual table")):
        if what == "accrual table" and _by_calendar_year(rows):
            continue  # how the issuer reports the accruals, not how the yield compounds
        spans = []
        for k, row in enumerate(rows):
            start = row.period_start or (rows[k - 1].period_end if k else None)
            if start is None:
                continue
            spans.append(round((row.period_end - start).days / 30.4375))
        counts = Counter(s for s in spans if s in (1, 3, 6, 12))
        if counts:
            months, seen = counts.most_common(1)[0]
            if seen >= 2:
                per_year = 12 // months
                found.assume(f"frequency {per_year} inferred from the {_FREQUENCY_WORDS[per_year]} "
                             f"periods of the {what}")
                return per_year
    m = re.search(r"(?:Interest\s+)?(?:Accrual|Payment)\s+Periods?\s*:?\s+(?:The\s+)?"
                  r"(semi-?\s?annual|annual|quarterly|monthly)", doc.prose, re.I) or \
        re.search(r"(?:interest|coupons?)\s+(?:is\s+|are\s+|will\s+be\s+)?(?:payable|paid)\s+"
                  r"(semi-?\s?annually|annually|quarterly|monthly)", doc.prose, re.I)
    if m:
        per_year = _per_year(m.group(1))
        quote, line = doc.quote(m.start(), m.end())
        found.assume(f"frequency {per_year} inferred from '{quote}' (line {line}); the "
                     "comparable yield's compounding is not printed")
        return per_year
    return None


# =============================================================================================
# 10. Putting it together
# =============================================================================================

def terms_from_text(text: str, source_name: str = "document",
                    instrument_id: str | None = None) -> TermsDocument:
    """Read the terms out of a document's text (plain text as filed, or HTML: detected by
    content).  ``instrument_id`` chooses the note to read when the document describes several
    (:func:`_find_tranche`); otherwise it is not used."""
    doc = _Flat(_document_lines(text))
    found = _Found()
    tax = _tax_spans(doc)

    tranche = _find_tranche(doc, found, tax, instrument_id)
    if tranche:
        instrument_id = tranche.instrument_id
        found.add(doc, "instrument_id", instrument_id, *tranche.id_at)
    else:
        instrument_id = _find_instrument_id(doc, found)
    description = _find_description(doc, found, tranche.maturity if tranche else None)
    issue_date = _find_labelled_date(doc, found, "issue_date", "issue date", _ISSUE_LABELS)
    if tranche and tranche.maturity:
        maturity_date = tranche.maturity
        found.add(doc, "maturity_date", maturity_date.isoformat(), *tranche.maturity_at)
    else:
        maturity_date = _find_labelled_date(doc, found, "maturity_date", "maturity date",
                                            _MATURITY_LABELS)
    runs = _table_runs(doc, found)
    unit_principal = _find_unit_principal(doc, found, tax, runs)
    issue_price = _find_issue_price(doc, found, unit_principal)
    comparable_yield, frequency = _find_comparable_yield(doc, found, tax)
    day_count = _find_day_count(doc, found, tax)
    fixed_payments = _find_fixed_payments(doc, found, tax)
    single_payment, single_payment_per = _find_single_payment(doc, found, tax)
    schedule, accruals = _find_tables(doc, found, tax, runs,
                                      _TableTerms(issue_date, maturity_date, unit_principal))
    if frequency is None:
        frequency = _infer_frequency(found, schedule, accruals, doc)

    order = ["instrument_id", "description", "issue_date", "maturity_date", "unit_principal",
             "issue_price", "comparable_yield_pct", "frequency", "day_count", "fixed_payments",
             "single_payment", "schedule", "accruals"]
    evidence = sorted(found.evidence, key=lambda e: order.index(e.field)
                      if e.field in order else len(order))
    return TermsDocument(
        source_name=source_name,
        instrument_id=instrument_id,
        description=description,
        issue_date=issue_date,
        maturity_date=maturity_date,
        unit_principal=unit_principal,
        issue_price=issue_price,
        comparable_yield_pct=comparable_yield,
        frequency=frequency,
        day_count=day_count,
        schedule=tuple(schedule),
        fixed_payments=fixed_payments,
        single_payment=single_payment,
        accruals=tuple(accruals),
        evidence=tuple(evidence),
        assumptions=tuple(found.assumptions),
        single_payment_per=single_payment_per,
    )

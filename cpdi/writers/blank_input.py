"""``cpdi init FILE.xlsx``: the blank input workbook a preparer fills in Excel (docs/formats.md,
"Input: a folder of CSV files, or one .xlsx workbook").

Everything about the columns comes from their declarations (:data:`cpdi.readers.columns.TABLES`):
each input sheet's header row is the declared column names in order, a required
column's header is bold on a fill, each header carries the column's meaning as a cell comment,
and each column gets the number format and data validation of its ``kind``:

* ``text`` — formatted as text (``@``), so Excel keeps ``00123``, a CUSIP such as ``02687QCD8``
  or a TIN exactly as typed instead of turning it into a number;
* ``date`` — date validation with the input message ``YYYY-MM-DD`` and the ``yyyy-mm-dd``
  number format, so the cell holds a real Excel date (the reader accepts one);
* ``decimal`` — decimal validation, with the lower bounds the reader enforces
  (:data:`DECIMAL_BOUNDS`; any number elsewhere);
* ``int`` — whole-number validation, or a drop-down list of its ``choices``;
* ``choice`` and ``bool`` — a drop-down list of the ``choices`` (``yes``/``no`` for a bool),
  formatted as text so Excel never reads ``30/360`` as anything but text.

Validation covers every data row of the sheet (rows 2 to 1,048,576).  A first sheet,
``instructions``, says what each sheet is and how to run cpdi on the workbook, and lists every
column of every sheet from the same declarations.  The readers look only for the sheets named in
``TABLES``, so ``instructions`` is ignored when the workbook is read back.

Conventions of the workbook itself, not of the input contract: the header colours, the widths, the fixed
``created`` property (2000-01-01, so the same cpdi writes the same bytes), the strict ("stop")
validation style, which offers the canonical spellings only — the reader also accepts
case variants and, for ``day_count``, market aliases such as ``Actual/360``, which can still be
pasted in.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path

from cpdi.readers.columns import TABLES, Column
from cpdi.writers.atomic import atomic_path

INSTRUCTIONS_SHEET = "instructions"
"""The first sheet; not an input table (the readers ignore any sheet not in ``TABLES``)."""

CREATED = datetime(2000, 1, 1)
"""The workbook's fixed 'created' property: the output is deterministic (convention ours)."""

EXCEL_LAST_ROW = 1_048_575
"""The last row of a sheet, 0-based: validation covers every data row below the header."""

DECIMAL_BOUNDS: dict[str, tuple[str, float]] = {
    "issue_price": (">", 0.0),
    "unit_principal": (">", 0.0),
    "principal_amount": (">", 0.0),
    "cost_basis": (">", 0.0),
    "comparable_yield_pct": (">", -100.0),
    "holder_yield_pct": (">", -100.0),
    "proceeds": (">=", 0.0),
    "allocate_to_maturity": (">=", 0.0),
    "commission": (">=", 0.0),
}
"""Decimal columns (by name) whose Excel validation has a lower bound: the same bounds
``cpdi.readers.inputs`` checks.  A decimal column not listed accepts any number."""

ANY_NUMBER = 1e15
"""The bound of an otherwise unbounded decimal validation (Excel needs one)."""

SHEET_PURPOSE: dict[str, str] = {
    "instruments": "one row per debt instrument (required)",
    "schedule": "the projected payment schedule, one row per accrual period (required)",
    "payments": "what was actually paid, per unit of principal (optional)",
    "lots": "one row per tax lot, in whole-lot dollars",
    "transactions": "optional, in place of or beside lots: one row per buy or sell; cpdi derives "
    "the lots (first in, first out, or the lot a sell names)",
    "holders": "optional: holder_id, name, tin, filer_type; extra columns you add are carried "
    "to the workpaper cover",
    "issuer_accruals": "optional: the issuer's published OID table, as printed (checked by "
    "validate)",
    "broker_1099": "optional: the broker's Form 1099-OID, 1099-INT and 1099-B figures, "
    "reconciled by cpdi forms",
}
"""What each input sheet is (the headings of docs/formats.md), for the instructions sheet."""

_KIND_FORMAT = {
    "text": "text",
    "date": "date YYYY-MM-DD",
    "decimal": "number",
    "int": "whole number",
    "choice": "one of the list",
    "bool": "yes / no",
}

_REQUIRED_FILL = "#FFD966"
_OPTIONAL_FILL = "#DDEBF7"


def write_blank_input(target: str | os.PathLike) -> Path:
    """Write the blank input workbook to ``target`` (replacing it, atomically) and return its
    path."""
    import xlsxwriter

    target = Path(target)
    with atomic_path(target) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {
            "strings_to_formulas": False,
            "strings_to_urls": False,
            "in_memory": True,
        })
        try:
            book.set_properties({
                "title": "cpdi input workbook",
                "subject": "Contingent payment debt instruments, Treas. Reg. §1.1275-4(b)",
                "author": "cpdi",
                "created": CREATED,
            })
            formats = _Formats(book)
            _instructions(book, formats, target.name)
            for name, columns in TABLES.items():
                _input_sheet(book, formats, name, columns)
        finally:
            book.close()
    return target


class _Formats:
    """The workbook's cell formats, made once."""

    def __init__(self, book) -> None:
        header = {"border": 1, "text_wrap": False, "valign": "top"}
        self.required = book.add_format({**header, "bold": True, "bg_color": _REQUIRED_FILL})
        self.optional = book.add_format({**header, "bg_color": _OPTIONAL_FILL})
        self.text = book.add_format({"num_format": "@"})
        self.date = book.add_format({"num_format": "yyyy-mm-dd"})
        self.general = book.add_format({})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.bold = book.add_format({"bold": True})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})
        self.top = book.add_format({"valign": "top"})


def _plain(text: str) -> str:
    """A column's meaning (as in docs/formats.md) without its markdown backticks."""
    return text.replace("`", "")


def _allowed(col: Column) -> str:
    if col.kind == "bool":
        return "yes, no (blank = no)"
    return ", ".join(col.choices)


def _comment(col: Column) -> str:
    """The header's comment: required or not, the meaning, and what the cell takes."""
    lines = [f"{col.name} ({'required' if col.required else 'optional'})"]
    if col.meaning:
        lines.append(_plain(col.meaning))
    what = _KIND_FORMAT[col.kind]
    if col.choices or col.kind == "bool":
        what += ": " + _allowed(col)
    lines.append("Format: " + what)
    return "\n".join(lines)


def _width(col: Column) -> float:
    by_kind = {"text": 16, "date": 12, "decimal": 14, "int": 10, "choice": 12, "bool": 10}
    width = max(len(col.name) + 3, by_kind[col.kind])
    if col.choices:
        width = max(width, max(len(c) for c in col.choices) + 4)
    if col.name in ("description", "name"):
        width = max(width, 36)
    return width


def _validation(col: Column) -> dict | None:
    """The Excel data validation of a column of ``col.kind`` (None for free text)."""
    if col.kind == "date":
        return {
            "validate": "date", "criteria": "between",
            "minimum": date(1900, 1, 1), "maximum": date(9999, 12, 31),
            "input_title": col.name[:32], "input_message": "YYYY-MM-DD",
            "error_title": "Not a date",
            "error_message": "Enter a date as YYYY-MM-DD, e.g. 2024-01-15.",
        }
    if col.kind in ("choice", "bool") or (col.kind == "int" and col.choices):
        choices = list(col.choices) if col.kind != "bool" else ["yes", "no"]
        return {
            "validate": "list", "source": choices,
            "error_title": f"Not a valid {col.name}"[:32],
            "error_message": f"{col.name} must be one of: {', '.join(choices)}"[:255],
        }
    if col.kind == "int":
        return {
            "validate": "integer", "criteria": "between",
            "minimum": -2**31 + 1, "maximum": 2**31 - 1,
            "error_title": "Not a whole number", "error_message": "Enter a whole number.",
        }
    if col.kind == "decimal":
        bound = DECIMAL_BOUNDS.get(col.name)
        if bound is None:
            return {
                "validate": "decimal", "criteria": "between",
                "minimum": -ANY_NUMBER, "maximum": ANY_NUMBER,
                "error_title": "Not a number",
                "error_message": "Enter a plain number such as 1000.00 (no currency sign).",
            }
        criteria, value = bound
        words = "greater than" if criteria == ">" else "at least"
        return {
            "validate": "decimal", "criteria": criteria, "value": value,
            "input_title": col.name[:32], "input_message": f"A number {words} {value:g}",
            "error_title": "Not a valid number",
            "error_message": f"{col.name} must be a number {words} {value:g} "
            "(no currency sign, no % sign).",
        }
    return None


def _column_format(col: Column, formats: _Formats):
    if col.kind == "date":
        return formats.date
    if col.kind in ("text", "choice", "bool") or (col.kind == "int" and col.choices):
        return formats.text
    return formats.general


def _input_sheet(book, formats: _Formats, name: str, columns: tuple[Column, ...]) -> None:
    """One input sheet: the declared headers, their comments, formats and validation."""
    sheet = book.add_worksheet(name)
    sheet.freeze_panes(1, 0)
    for index, col in enumerate(columns):
        sheet.set_column(index, index, _width(col), _column_format(col, formats))
        header = formats.required if col.required else formats.optional
        sheet.write_string(0, index, col.name, header)
        comment = _comment(col)
        sheet.write_comment(0, index, comment, {
            "author": "cpdi",
            "x_scale": 2.5,
            "y_scale": 1 + comment.count("\n") * 0.3 + len(comment) / 200,
        })
        validation = _validation(col)
        if validation is not None:
            sheet.data_validation(1, index, EXCEL_LAST_ROW, index, validation)


def _instructions(book, formats: _Formats, file_name: str) -> None:
    """The first sheet: how to fill the workbook and run cpdi, and every column of every
    sheet (from ``TABLES``)."""
    sheet = book.add_worksheet(INSTRUCTIONS_SHEET)
    lines: list[tuple[str, object]] = [
        ("cpdi input workbook — contingent payment debt instruments, Treas. Reg. §1.1275-4(b)",
         formats.title),
        ("", None),
        ("Fill in the sheets below (one row per record, under the header row; do not rename the "
         "sheets or the headers).", None),
    ]
    for name in TABLES:
        lines.append((f"  {name}: {SHEET_PURPOSE.get(name, '')}", None))
    lines += [
        ("", None),
        ("Headers in bold on a yellow fill are required; the others are optional (lots: proceeds "
         "is required with a disposition_date). Hover over a header for its meaning.", None),
        ("Amounts in schedule and payments are per unit of principal (per unit_principal of the "
         "instrument, e.g. per 1000); amounts in lots are whole-lot dollars.", None),
        ("Dates are YYYY-MM-DD (e.g. 2024-01-15); a real Excel date is fine. Yields are percent: "
         "5.46 for 5.46%. No currency signs.", None),
        ("Ids and TINs are text: type them as they are (00123, 02687QCD8 keep their leading "
         "zeros and letters).", None),
        ("This instructions sheet is ignored when cpdi reads the workbook.", None),
        ("", None),
        ("Then run:", formats.bold),
        (f"  cpdi validate {file_name}                                   check every row and "
         "every instrument's schedule", None),
        (f"  cpdi compute {file_name} --through-year YYYY --out results.csv   the results "
         "ledger, one row per lot per tax year", None),
        (f"  cpdi workpapers {file_name} --year YYYY --out DIR             one workbook per "
         "holder plus a batch summary", None),
        ("", None),
        ("Every column of every sheet:", formats.bold),
    ]
    row = 0
    for text, fmt in lines:
        if text and fmt is not None:
            sheet.write_string(row, 0, text, fmt)
        elif text:
            sheet.write_string(row, 0, text)
        row += 1

    headers = ("sheet", "column", "required", "format", "allowed values", "meaning")
    widths = (14, 24, 10, 16, 44, 90)
    for index, (header, width) in enumerate(zip(headers, widths)):
        sheet.set_column(index, index, width)
        sheet.write_string(row, index, header, formats.required)
    header_row = row
    for name, columns in TABLES.items():
        for col in columns:
            row += 1
            values = (
                name, col.name, "yes" if col.required else "no", _KIND_FORMAT[col.kind],
                _allowed(col) if (col.choices or col.kind == "bool") else "", _plain(col.meaning),
            )
            for index, value in enumerate(values):
                sheet.write_string(row, index, value, formats.wrap if index == 5 else formats.top)
    sheet.autofilter(header_row, 0, row, len(headers) - 1)

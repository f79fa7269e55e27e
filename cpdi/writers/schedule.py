"""``cpdi schedule`` output: the per-period accrual table and interest per calendar year, as CSV
or a formatted .xlsx sheet (docs/formats.md, Commands).

Text goes through ``cpdi.writers.privacy``: CSV text cells through ``csv_safe`` (via
``format_cell``: no formula, no control character, no full taxpayer id), workbook text (the title,
from the instrument's id and description) through ``xlsx_safe_text`` and ``write_string``."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from cpdi.writers.atomic import atomic_path, atomic_text
from cpdi.writers.privacy import csv_safe, xlsx_safe_text
from cpdi.writers.results import format_cell

MONEY_COLUMNS = {
    "adjusted_issue_price_start", "interest", "daily_portion", "projected_payment",
    "adjusted_issue_price_end", "interest_per_unit", "fixing_adjustment",
}


def _write_csv(frame: pd.DataFrame, target: Path) -> None:
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([csv_safe(c) for c in frame.columns])
        for values in frame.itertuples(index=False):
            writer.writerow([_cell(v) for v in values])


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.10f}".rstrip("0").rstrip(".") if value == value else ""
    return format_cell(value)


def by_year_path(target: Path) -> Path:
    """Where the calendar-year table goes beside a CSV period table."""
    return target.with_name(target.stem + "-by-year" + target.suffix)


def write_schedule(periods: pd.DataFrame, years: pd.DataFrame, target: str | os.PathLike, title: str) -> list[Path]:
    """Write the tables; .xlsx → one workbook with two sheets, otherwise two CSV files
    (``F.csv`` and ``F-by-year.csv``).  Returns the paths written."""
    target = Path(target)
    if target.suffix.lower() == ".xlsx":
        _write_xlsx(periods, years, target, title)
        return [target]
    _write_csv(periods, target)
    _write_csv(years, by_year_path(target))
    return [target, by_year_path(target)]


def _write_xlsx(periods: pd.DataFrame, years: pd.DataFrame, target: Path, title: str) -> None:
    import xlsxwriter

    with atomic_path(target) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
        bold = book.add_format({"bold": True, "bottom": 1, "text_wrap": True, "valign": "top"})
        title_fmt = book.add_format({"bold": True, "font_size": 13})
        money = book.add_format({"num_format": "#,##0.0000;(#,##0.0000)"})
        rate = book.add_format({"num_format": "0.000000%"})
        day = book.add_format({"num_format": "yyyy-mm-dd"})
        plain = []  # a default-font format, made only if a text needs the rich-string escape

        def text(sheet, row, col, value, fmt=None):
            """Literal text: scrubbed, and never XlsxWriter's raw rich string (``<r>…</r>``)."""
            value = xlsx_safe_text(value)
            if value.startswith("<r>") and value.endswith("</r>"):
                if not plain:
                    plain.append(book.add_format({}))
                parts = ["<", plain[0], value[1:]] + ([fmt] if fmt is not None else [])
                sheet.write_rich_string(row, col, *parts)
            else:
                sheet.write_string(row, col, value, fmt)

        for name, frame in (("accrual schedule", periods), ("by calendar year", years)):
            sheet = book.add_worksheet(name)
            text(sheet, 0, 0, title, title_fmt)
            for col, header in enumerate(frame.columns):
                text(sheet, 2, col, header.replace("_", " "), bold)
                width = 12
                fmt = None
                if header in MONEY_COLUMNS:
                    fmt, width = money, 16
                elif header in ("rate",):
                    fmt = rate
                elif header in ("period_start", "period_end", "fixed_on"):
                    fmt = day
                sheet.set_column(col, col, width, fmt)
            for r, values in enumerate(frame.itertuples(index=False), start=3):
                for col, value in enumerate(values):
                    if value is None or (isinstance(value, float) and value != value):
                        continue  # blank: no date (a payment not fixed early)
                    if hasattr(value, "isoformat"):
                        sheet.write_datetime(r, col, pd.Timestamp(value).to_pydatetime())
                    elif isinstance(value, str):
                        text(sheet, r, col, value)
                    else:
                        sheet.write_number(r, col, float(value))
            sheet.freeze_panes(3, 0)
            sheet.set_landscape()
            sheet.fit_to_pages(1, 0)
            sheet.repeat_rows(2)
        book.close()

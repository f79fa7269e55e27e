"""The results ledger CSV (docs/formats.md, "Output: the results ledger"): one row per lot per tax
year, the contract's columns in the contract's order, dollar amounts unrounded to six decimals.

Text cells (``holder_id``, ``lot_id``, ``instrument_id``) go through
``cpdi.writers.privacy.csv_safe``: no full taxpayer id, no control characters, and an id a
spreadsheet would run as a formula (``=HYPERLINK(…)``, ``@SUM(1)``, ``+1+2``) starts with an
apostrophe.  Numbers and dates are written as they are (a plain number is never a formula)."""

from __future__ import annotations

import csv
import functools
import os
from datetime import date
from typing import Iterable

from cpdi.engine.ledger import LEDGER_COLUMNS, LotYear, ledger_row_values
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import csv_safe

_safe_text = functools.lru_cache(maxsize=1 << 16)(csv_safe)
"""``csv_safe`` remembered per text: a lot's ids repeat on every one of its rows."""


def format_cell(value) -> str:
    """Text of one ledger cell: dates ISO, money with six decimals (never ``-0.000000``), text
    made safe for a spreadsheet (``csv_safe``)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        text = f"{value:.6f}"
        return "0.000000" if text == "-0.000000" else text
    return _safe_text(value)


def write_results_csv(rows: Iterable[LotYear], target: str | os.PathLike) -> int:
    """Write the ledger atomically; returns the number of rows written."""
    count = 0
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LEDGER_COLUMNS)
        for row in rows:
            writer.writerow([format_cell(v) for v in ledger_row_values(row)])
            count += 1
    return count

"""The results ledger CSV (docs/formats.md, "Output: the results ledger"): one row per lot per tax
year, the contract's columns in the contract's order, dollar amounts unrounded to six decimals.

Text cells (``holder_id``, ``lot_id``, ``instrument_id``) go through
``cpdi.writers.privacy.csv_safe``: no full taxpayer id (any TIN shape; the row's holder's own TIN
and every other holder's TIN in any spelling, when ``write_results_csv`` is given them), no control
characters, and an id a spreadsheet would run as a formula (``=HYPERLINK(…)``, ``@SUM(1)``,
``+1+2``) starts with an apostrophe.  Numbers and dates are written as they are (a plain number is
never a formula)."""

from __future__ import annotations

import csv
import functools
import os
from datetime import date
from typing import Callable, Iterable, Mapping

from cpdi.engine.ledger import LEDGER_COLUMNS, LotYear, ledger_row_values
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import TinIndex, csv_safe, tin_index

_safe_text = functools.lru_cache(maxsize=1 << 16)(csv_safe)
"""``csv_safe`` remembered per (text, holder's TIN, every TIN): a lot's ids repeat on every one of
its rows, and every row passes the same set of TINs (a frozenset: hashed once)."""


def format_cell(value, tin: str | None = "", tins: frozenset | None = None) -> str:
    """Text of one ledger cell: dates ISO, money with six decimals (never ``-0.000000``), text
    made safe for a spreadsheet (``csv_safe``, with the row's holder's ``tin`` and every TIN of
    ``tins``)."""
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
    return _safe_text(value, tin or "", tins or None)


def write_results_csv(
    rows: Iterable[LotYear],
    target: str | os.PathLike,
    tins: Mapping[str, str | None] | TinIndex | Callable[[str], str | None] | None = None,
) -> int:
    """Write the ledger atomically; returns the number of rows written.

    ``tins`` gives the holders' taxpayer ids, ``holder_id -> tin`` (a mapping, a
    ``cpdi.writers.privacy.TinIndex`` or a function): each row's text cells are masked with its
    holder's TIN in any spelling and, given a mapping, with every holder's TIN too (a lot or
    instrument id built on someone else's id).  Without it only TIN-shaped text is masked."""
    if tins is None:
        own, every = (lambda holder_id: ""), None
    elif isinstance(tins, Mapping):
        index = tin_index(tins)
        own, every = index.tin, (index.all or None)
    else:
        own, every = tins, None
    count = 0
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LEDGER_COLUMNS)
        for row in rows:
            tin = own(row.holder_id) or ""
            writer.writerow([format_cell(v, tin, every) for v in ledger_row_values(row)])
            count += 1
    return count

"""The lots derived from a trade blotter, written as a lots.csv (docs/formats.md, "Output: `cpdi
lots`"): every column of ``cpdi.readers.columns.LOTS`` in its order, one row per lot, blank where
the lot has no value.

Numbers are written as the shortest text that reads back as the same float (``18850.2``,
``33333.333333333336``), never rounded: the file read back as lots.csv gives the very lots, and
so the very ledger, of the trades.  Text cells go through ``cpdi.writers.privacy.csv_safe`` as in
every CSV cpdi writes: no full taxpayer id (the row's holder's TIN and every other holder's, in
any spelling), no control characters, and an id a spreadsheet would run as a formula gets a
leading apostrophe.  The file is written atomically (``cpdi.writers.atomic``)."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Mapping

from cpdi.model import Lot
from cpdi.readers.columns import LOTS
from cpdi.readers.transactions import lot_values, value_text
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import TinIndex, csv_safe, tin_index

LOTS_COLUMNS: tuple[str, ...] = tuple(col.name for col in LOTS)
"""The header of the file: lots.csv's columns, in the contract's order."""

_TEXT = {col.name for col in LOTS if col.kind in ("text", "choice")}


def lot_row(lot: Lot, tin: str = "", tins: TinIndex | None = None) -> list[str]:
    """One lot as the cells of its lots.csv row (see the module docstring)."""
    values = lot_values(lot)
    every = (tins.all or None) if tins is not None else None
    return [
        csv_safe(value_text(values[name]), tin, every) if name in _TEXT and values[name] is not None
        else value_text(values[name])
        for name in LOTS_COLUMNS
    ]


def write_lots_csv(
    lots: Iterable[Lot],
    target: str | os.PathLike,
    tins: Mapping[str, str | None] | TinIndex | None = None,
) -> int:
    """Write ``lots`` as a lots.csv to ``target`` atomically; returns the number of lots written.
    ``tins`` (``holder_id -> tin``) masks each holder's TIN, and every holder's, in any spelling;
    without it only TIN-shaped text is masked."""
    index = tin_index(tins)
    count = 0
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LOTS_COLUMNS)
        for lot in lots:
            writer.writerow(lot_row(lot, index.tin(lot.holder_id) or "", index))
            count += 1
    return count

"""The forms for the return as files (docs/formats.md, "Output: `cpdi forms`"; method §12).

``cpdi forms`` writes, for one tax year, from the forms layer (:mod:`cpdi.engine.forms`):

* ``form8949_YYYY.csv`` — one row per lot disposed of in the year (:mod:`.form8949`);
* ``income_YYYY.csv`` — each holder's ordinary items per instrument, with the line each goes
  on (:mod:`.income`);
* ``cpdi_YYYY.txf`` and ``txf/<holder>_YYYY.txf`` — the same for tax software, in the Tax
  Exchange Format, version 042 (:mod:`.txf`);
* ``reconciliation_YYYY.csv`` — the broker's figures against cpdi's, when the input has them.

Amounts are presented in cents, as a return takes them; the forms layer keeps them unrounded.
Every text cell of a CSV goes through :func:`cpdi.writers.privacy.csv_safe` (no full taxpayer
id, never a formula); the helpers below are the one place the writers do it.
"""

from __future__ import annotations

import csv
import os
from typing import Iterable, Sequence

from cpdi.engine.forms import cents
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import TinIndex, csv_safe, tin_index


def money(amount: float) -> str:
    """An amount as a form takes it: cents, two decimals, no thousands separator, never
    ``-0.00`` (``1234.5`` → ``"1234.50"``)."""
    return f"{cents(amount):.2f}"


def text_cell(value, holder_id: str, tins: TinIndex) -> str:
    """A text cell of the holder ``holder_id``'s row: their own TIN masked in any spelling,
    every other holder's too, anything TIN-shaped masked, and never a formula (``csv_safe``)."""
    return csv_safe(value, tins.tin(holder_id), tins.all or None)


def tins_of(tins) -> TinIndex:
    """``holder_id -> tin`` (a mapping or an index; ``None`` for none) as a :class:`TinIndex`."""
    return tin_index(tins)


def write_table(target: str | os.PathLike, columns: Sequence[str], rows: Iterable[list[str]]) -> int:
    """Write a header and ``rows`` (cells already presented) atomically to ``target`` as CSV;
    return the number of rows."""
    count = 0
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(row)
            count += 1
    return count

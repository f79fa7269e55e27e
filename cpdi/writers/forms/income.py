"""``income_YYYY.csv``: each holder's ordinary items per instrument for the year, each beside
the form line it goes on for the holder's filer type (docs/formats.md, "Output: `cpdi forms`";
method §12).

One row per holder and instrument the holder held a lot of in the year — an instrument whose
items are all zero is still listed (a zero is an answer).  The amounts are the ledger's, each
0 or more and rounded to the cent:

    interest_income                  (b)(2)(ii), (b)(6)(ii): the year's interest
    ordinary_income_on_disposition   (b)(8)(i): a disposition's gain is interest income
    ordinary_loss                    (b)(6)(iii)(B): net negative adjustment beyond the interest
    ordinary_loss_on_disposition     (b)(8)(ii): a disposition's loss up to prior inclusions
    carryforward_out                 (b)(6)(iii)(C): on no return; carried to next year

The ``*_line`` column names the form and line; the mapping (``templates/forms.toml``) says a
loss is entered there as a negative amount.
"""

from __future__ import annotations

import os
from typing import Iterable

from cpdi.engine.forms import INCOME_ITEMS, HolderForms, IncomeLine
from cpdi.writers.forms import money, text_cell, tins_of, write_table

COLUMNS = ("holder_id", "instrument_id", "filer_type") + tuple(
    column for item in INCOME_ITEMS for column in (item, f"{item}_line")
)
"""The holder and instrument, the filer type, then each item's amount and its line."""


def income_row(line: IncomeLine, tins) -> list[str]:
    """One holder's items for one instrument, in :data:`COLUMNS` order."""
    holder = line.holder_id
    cells = [text_cell(line.holder_id, holder, tins), text_cell(line.instrument_id, holder, tins),
             line.filer_type.value]
    for item in INCOME_ITEMS:
        cells += [money(line.amount(item)), text_cell(line.lines[item].where, holder, tins)]
    return cells


def write_income_csv(holders: Iterable[HolderForms], target: str | os.PathLike, tins=None) -> int:
    """Write every holder's ordinary items per instrument atomically to ``target``; return the
    number of rows.  ``tins`` is ``holder_id -> tin``."""
    index = tins_of(tins)
    return write_table(target, COLUMNS,
                       (income_row(line, index) for forms in holders for line in forms.income))

"""``reconciliation_YYYY.csv``: each figure a broker reported on Form 1099-OID, 1099-INT or
1099-B against cpdi's, and what explains the difference (docs/formats.md, "broker_1099.csv";
method §12).

One row per broker figure of the year, in the order :func:`cpdi.engine.reconciliation.reconcile`
gives them (holder, note, form, box, lot).  The amounts are in cents, as the forms print them;
``difference = broker_amount − cpdi_amount`` is the unrounded difference rounded, so it may
differ by a cent from the difference of the two rounded amounts.  ``explained`` is ``yes`` when
the difference is rounding or the known causes add up to it, ``no`` for a flagged line whose
``explanation`` says what to check.
"""

from __future__ import annotations

import os
from typing import Iterable

from cpdi.engine.reconciliation import ReconciliationLine
from cpdi.writers.forms import money, text_cell, tins_of, write_table

COLUMNS = ("holder_id", "instrument_id", "form", "box", "broker_amount", "cpdi_amount",
           "difference", "explanation", "lot_id", "explained")
"""The issue's eight columns, then the lot (blank for a figure of every lot of the holder in
the note) and whether the line is explained."""


def reconciliation_row(line: ReconciliationLine, tins) -> list[str]:
    """One broker figure against cpdi's, in :data:`COLUMNS` order."""
    holder = line.holder_id
    return [
        text_cell(line.holder_id, holder, tins), text_cell(line.instrument_id, holder, tins),
        text_cell(line.form, holder, tins), text_cell(line.box, holder, tins),
        money(line.broker_amount), money(line.cpdi_amount), money(line.difference),
        text_cell(line.explanation, holder, tins), text_cell(line.lot_id, holder, tins),
        "yes" if line.explained else "no",
    ]


def write_reconciliation_csv(lines: Iterable[ReconciliationLine], target: str | os.PathLike,
                             tins=None) -> int:
    """Write the reconciliation atomically to ``target``; return the number of rows.
    ``tins`` is ``holder_id -> tin`` (a mapping or a ``TinIndex``): text is masked with the
    row's holder's TIN in any spelling and every other holder's, and is never a formula."""
    index = tins_of(tins)
    return write_table(target, COLUMNS, (reconciliation_row(line, index) for line in lines))

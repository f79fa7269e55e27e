"""``form8949_YYYY.csv``: one row per lot disposed of in the year — a sale, a conversion into
stock, an issuer call or a retirement at maturity — with Form 8949's columns, then the detail a
reviewer checks them against (docs/formats.md, "Output: `cpdi forms`"; method §12).

The amounts are the line as presented (:func:`cpdi.engine.forms.rounded_line`): proceeds
(column (d)), cost basis (column (e)) and column (h) are rounded to the cent, and the
adjustment (column (g)) is what makes the line add up in cents::

    proceeds − cost_basis + adjustment_amount = gain_loss

so column (h) carries only the capital part of the gain or loss; the ordinary part is on
``income_YYYY.csv`` (Treas. Reg. §1.1275-4(b)(8); Form 8949 instructions, code O).  A box A
or D line whose Form 1099-B basis is given (``broker_1099.csv`` box 1e) shows that basis in
column (e) and corrects it in (g) with code B; ``adjusted_basis`` is cpdi's basis and
``basis_adjustment`` the correction.  A conversion's row ends with the stock received: its basis
(its fair market value) and the day its holding period begins (method §7); blank on other rows.
"""

from __future__ import annotations

import os
from typing import Iterable

from cpdi.engine.forms import Form8949Line, HolderForms, rounded_line
from cpdi.writers.forms import money, text_cell, tins_of, write_table

FORM8949_COLUMNS = (
    "holder_id", "lot_id", "instrument_id", "description", "date_acquired", "date_sold",
    "proceeds", "cost_basis", "adjustment_code", "adjustment_amount", "gain_loss", "term", "box",
)
"""Form 8949's own columns (a)–(h), with the holder, lot, term and box that place the line."""

DETAIL_COLUMNS = (
    "filer_type", "schedule_d_line", "ending", "ordinary_amount", "carryforward_applied",
    "basis_reported", "adjusted_basis", "basis_adjustment", "stock_basis",
    "stock_holding_period_begins",
)
"""After the form's columns: the return the line goes on, where its box's total goes, how the
lot ended, the ordinary part taken out by the adjustment (signed: income positive, loss
negative), the carryforward that reduced the amount realized (b)(6)(iii)(C), what the
broker's 1099-B reported, cpdi's adjusted basis at disposition (b)(7)(iii), the code B part
of the adjustment (the broker's basis in column (e) less cpdi's), and for a conversion the
stock's basis (its fair market value) and the first day of its holding period (blank
otherwise; added at the end in 0.6.0 so that earlier columns keep their places)."""

COLUMNS = FORM8949_COLUMNS + DETAIL_COLUMNS


def form8949_row(line: Form8949Line, filer_type: str, tins) -> list[str]:
    """One disposed lot's cells, in :data:`COLUMNS` order: amounts in cents that add up
    (``rounded_line``), dates ISO, text made safe for a spreadsheet."""
    shown = rounded_line(line)
    holder = shown.holder_id

    def text(value) -> str:
        return text_cell(value, holder, tins)

    return [
        text(shown.holder_id), text(shown.lot_id), text(shown.instrument_id),
        text(shown.description), shown.date_acquired.isoformat(), shown.date_sold.isoformat(),
        money(shown.proceeds), money(shown.cost_basis), text(shown.adjustment_code),
        money(shown.adjustment_amount), money(shown.gain_loss), shown.term.value, shown.box,
        filer_type, text(shown.schedule_d_line), text(shown.ending),
        money(shown.ordinary_amount), money(shown.carryforward_applied),
        shown.basis_reported.value, money(shown.cpdi_basis), money(shown.basis_adjustment),
        "" if shown.stock_basis is None else money(shown.stock_basis),
        "" if shown.stock_holding_period_begins is None else shown.stock_holding_period_begins.isoformat(),
    ]


def write_form8949_csv(holders: Iterable[HolderForms], target: str | os.PathLike, tins=None) -> int:
    """Write every holder's Form 8949 lines (holders in the order given, lots in lot order)
    atomically to ``target``; return the number of rows.  ``tins`` is ``holder_id -> tin``."""
    index = tins_of(tins)
    return write_table(target, COLUMNS, (form8949_row(line, forms.filer_type.value, index)
                                         for forms in holders for line in forms.form8949))

"""The Broker reconciliation sheet: each figure the holder's broker reported on Form 1099-OID,
1099-INT or 1099-B (``broker_1099.csv``) against cpdi's own, the difference, what explains it
and a flag for what nothing known explains (method §12; :mod:`cpdi.engine.reconciliation`).

The broker's amount is typed ``[I]``.  cpdi's amount is a link where the workbook holds the
figure the reconciliation compares the box with — a 1099-B's proceeds (box 1d) or basis (box 1e)
to the Form 8949 sheet's column (d) or (e) of the lot, a 1099-OID's OID or a 1099-INT's interest
to the lot sheets' interest income (b)(6)(ii) of the instrument's lots — and typed ``[I]`` from
the reconciliation otherwise (a box cpdi reports as 0, such as stated interest or market
discount; the column "cpdi's amount from" says which).  The difference is a formula, broker − cpdi.  The flag
is the reconciliation's judgement, typed: ``✓`` explained (within rounding, or its known causes
add up to it), ``✗`` not; the Cover counts the ``✗``, so a reviewer who clears one by changing
it sees the count follow.  Text from the inputs goes the safe path of every cell (text, never a
formula; taxpayer ids masked).
"""

from __future__ import annotations

from dataclasses import dataclass

from cpdi.engine.reconciliation import BOXES, ReconciliationLine
from cpdi.writers.workpapers import cells as _cells
from cpdi.writers.workpapers.cells import (
    CHECK_MARK, CHECK_TOLERANCE, FLAG_MARK, _cell, _range, _Sheet, _table_or_none, _widths, _Workbook,
)
from cpdi.writers.workpapers.form8949_sheet import _Form8949Cells
from cpdi.writers.workpapers.lot_sheet import _LotCells

RECONCILIATION_KINDS = {
    "form": "text", "box": "integer", "instrument_id": "text", "lot_id": "text",
    "broker_amount": "money", "cpdi_amount": "money", "difference": "money", "flag": "integer",
    "explanation": "note", "source": "note",
}
RECONCILIATION_TICKS = {"broker_amount": "input", "cpdi_amount": "recomputed",
                        "difference": "recomputed", "flag": "input"}
WRAPPED_WIDTH = {"explanation": 50, "source": 26}
# the kind of a broker's box (reconciliation.BOXES) -> where the workbook holds cpdi's figure:
# a Form 8949 column of the lot, or a figure of the lot sheets
LINKED_FIGURES = {
    "proceeds": ("form8949", "proceeds", "(d)"),
    "basis": ("form8949", "cost_basis", "(e)"),
    "interest": ("lots", "interest_income", ""),
}


@dataclass
class _ReconciliationCells:
    """What the Cover shows of the reconciliation: how many broker figures, how many not
    explained, and the flag column it counts (``None`` without figures)."""

    sheet: _Sheet
    count: int
    unexplained: int
    flags: str | None


def _reconciliation_sheet(wb: _Workbook, sheet: _Sheet, lines: list[ReconciliationLine],
                          form8949: _Form8949Cells, lots: list[_LotCells]) -> _ReconciliationCells:
    """The titles, the note, then one row per broker figure."""
    t = wb.t
    wb.title_rows(sheet, t.section("reconciliation_title", wb.year))
    sheet.text(3, 0, t.line("reconciliation_note", wb.year), wb.styles.note)
    c, r = _table_or_none(wb, sheet, 5, "reconciliation_table", "reconciliation", bool(lines),
                          RECONCILIATION_TICKS)
    first = r
    for line in lines if c is not None else ():
        _reconciliation_row(wb, sheet, r, c, line, form8949, lots)
        r += 1
    layout = t.tables["reconciliation"]
    widths = _widths(t, [[RECONCILIATION_KINDS[cid] for cid in layout.order]],
                     {layout.index(cid): w for cid, w in WRAPPED_WIDTH.items()})
    wb.print_setup(sheet, (6, 6) if lines else (0, 2), 7 if lines else 3, widths)
    flags = f"{sheet.quoted}!{_range(first, c['flag'], r - 1)}" if c is not None else None
    return _ReconciliationCells(sheet, len(lines), sum(1 for x in lines if not x.explained), flags)


def _reconciliation_row(wb: _Workbook, sheet: _Sheet, r: int, c: dict, line: ReconciliationLine,
                        form8949: _Form8949Cells, lots: list[_LotCells]) -> None:
    """One broker figure: where it is from (typed), the broker's amount [I], cpdi's (a link, or
    typed), the difference broker − cpdi, the flag and the explanation."""
    st, t = wb.styles, wb.t
    sheet.text(r, c["form"], line.form, st.text_input)
    sheet.text(r, c["box"], line.box, st.text_input)
    sheet.text(r, c["instrument_id"], line.instrument_id, st.text_input)
    sheet.text(r, c["lot_id"], line.lot_id, st.text_input)
    broker = _cell(r, c["broker_amount"])
    sheet.number(r, c["broker_amount"], line.broker_amount, st.input["money"])
    linked = _cpdi_link(line, form8949, lots)
    if linked is not None:
        formula, where = linked
        cpdi = sheet.formula(r, c["cpdi_amount"], formula, line.cpdi_amount, st.formula["money"])
    else:
        sheet.number(r, c["cpdi_amount"], line.cpdi_amount, st.input["money"])
        cpdi, where = _cell(r, c["cpdi_amount"]), t.line("typed_from_reconciliation", wb.year)
    sheet.formula(r, c["difference"], f"{broker}-{cpdi}", line.broker_amount - line.cpdi_amount,
                  st.formula["money"])
    sheet.text(r, c["flag"], CHECK_MARK if line.explained else FLAG_MARK,
               st.bool_input if line.explained else st.banner_bad)
    sheet.text(r, c["explanation"], line.explanation, st.wrapped_note)
    sheet.text(r, c["source"], where, st.wrapped_note)


def _cpdi_link(line: ReconciliationLine, form8949: _Form8949Cells,
               lots: list[_LotCells]) -> tuple[str, str] | None:
    """A formula of the workbook's cells holding cpdi's amount for the broker's figure
    (:data:`LINKED_FIGURES`), and a few words saying where — when those cells add up to the
    reconciliation's amount within half a cent; ``None`` otherwise (the amount is typed)."""
    kind = LINKED_FIGURES.get(BOXES.get((line.form, line.box)))
    if kind is None:
        return None
    source, figure, column = kind
    mine = lambda instrument_id, lot_id: (instrument_id == line.instrument_id  # noqa: E731
                                         and (not line.lot_id or lot_id == line.lot_id))
    if source == "form8949":
        rows = [(row, fl) for (iid, lid), (row, fl) in form8949.rows.items() if mine(iid, lid)]
        if figure == "cost_basis" and any(fl.basis_adjustment for _, fl in rows):
            return None  # (e) shows the broker's basis (code B): cpdi's is typed beside it
        refs = [form8949.cell(row, figure) for row, _ in rows]
        value = sum(getattr(fl, "proceeds" if figure == "proceeds" else "cost_basis") for _, fl in rows)
        where = ", ".join(f"{form8949.sheet.name} row {row + 1} {column}" for row, _ in rows)
    else:
        chosen = [lot for lot in lots if mine(lot.ledger.lot.instrument_id, lot.ledger.lot.lot_id)
                  and figure in lot.refs]
        refs = [lot.refs[figure][0] for lot in chosen]
        value = sum(lot.refs[figure][1] for lot in chosen)
        where = ", ".join(lot.sheet for lot in chosen)
    formula = "+".join(refs)
    if not refs or len(formula) > _cells.FORMULA_LIMIT or abs(value - line.cpdi_amount) >= CHECK_TOLERANCE:
        return None
    return formula, where

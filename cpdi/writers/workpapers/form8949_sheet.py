"""The Form 8949 sheet: one line per lot disposed of in the year, as Form 8949 takes it (method
§12), then the totals of each box for Schedule D.

Each line links to its lot sheet — the dates, the proceeds (d) (the consideration: sale proceeds,
redemption amount (b)(7)(v), projected payment at maturity (b)(7)(iv)) and the basis (e) (the
adjusted basis at disposition (b)(7)(iii)) — and computes the rest::

    (g) adjustment = ordinary loss − ordinary income on the disposition (b)(8)(i)–(ii)
                     − the negative adjustment carryforward that reduced the amount realized
                       (b)(6)(iii)(C)
    (h) gain or (loss) = capital gain − capital loss on the disposition (b)(8)(ii)–(iii)
    check            = (d) − (e) + (g) − (h), which reads ✓

so column (h) carries the capital part only, the ordinary part beside it with the line it is
reported on (never on Form 8949's column (h): nothing is counted twice).  A conversion into stock
(method §7; Rev. Rul. 2002-31) has as (d) the stock's fair market value plus any cash, and the
stock's basis and the day its holding period begins linked beside the line.  The code (f), the term
and the box are the forms layer's (:mod:`cpdi.engine.forms`), typed ``[I]``.  Each box's totals
are ``SUMIF`` over the box column; the Cover sums the same columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cpdi.engine.forms import BOXES, FilerForms, Form8949Line, HolderForms
from cpdi.writers.workpapers.cells import (
    CHECK_TOLERANCE, WorkpaperError, _cell, _range, _serial, _Sheet, _table_or_none, _widths, _Workbook,
    check_formula,
)
from cpdi.writers.workpapers.lot_sheet import _LotCells

FORM8949_KINDS = {
    "lot_id": "text", "description": "note", "date_acquired": "date", "date_sold": "date",
    "proceeds": "money", "cost_basis": "money", "code": "integer", "adjustment": "money",
    "gain_loss": "money", "check": "money", "term": "integer", "box": "integer", "ending": "text",
    "ordinary": "money", "ordinary_where": "note", "carryforward": "money", "stock_basis": "money",
    "stock_held_from": "date", "sheet": "text",
}
TOTALS_KINDS = {
    "box": "text", "line": "note", "count": "integer", "proceeds": "money", "cost_basis": "money",
    "adjustment": "money", "gain_loss": "money", "check": "money",
}
LINE_TICKS = {
    "lot_id": "input", "description": "input", "date_acquired": "recomputed", "date_sold": "recomputed",
    "proceeds": "recomputed", "cost_basis": "recomputed", "code": "input", "adjustment": "recomputed",
    "gain_loss": "recomputed", "check": "check", "term": "input", "box": "input", "ending": "input",
    "ordinary": "recomputed", "carryforward": "recomputed", "stock_basis": "recomputed",
    "stock_held_from": "recomputed",
}
TOTALS_TICKS = {"count": "footed", "proceeds": "footed", "cost_basis": "footed", "adjustment": "footed",
                "gain_loss": "footed", "check": "check"}
SUMMED = ("proceeds", "cost_basis", "adjustment", "gain_loss")  # the columns a box's total adds up
WRAPPED_WIDTH = {"description": 36, "ordinary_where": 30}  # wrapped text columns: their width


@dataclass
class _Form8949Cells:
    """Where the Form 8949 sheet's lines are, for the Cover's per-box sums and the broker
    reconciliation's links: the data rows (``first`` … ``last``; none when nothing was
    disposed of), the column of each column id, and each lot's row."""

    sheet: _Sheet
    columns: dict = field(default_factory=dict)  # column id -> column
    first: int | None = None
    last: int | None = None
    rows: dict = field(default_factory=dict)  # (instrument_id, lot_id) -> (row, Form8949Line)

    @property
    def has_lines(self) -> bool:
        return self.first is not None

    def column(self, cid: str) -> str:
        """``'Form 8949'!I7:I9``: a column of the lines, as another sheet's formula names it."""
        return f"{self.sheet.quoted}!{_range(self.first, self.columns[cid], self.last)}"

    def cell(self, row: int, cid: str) -> str:
        return self.sheet.ref(row, self.columns[cid])


def _form8949_sheet(wb: _Workbook, sheet: _Sheet, forms: HolderForms, filer: FilerForms,
                    lots: list[_LotCells]) -> _Form8949Cells:
    """The sheet, block by block: the titles and the identity the lines obey, the lines (one
    per disposed lot, in box order), and the totals of each box."""
    t = wb.t
    wb.title_rows(sheet, t.section("form8949_title", wb.year))
    if forms.form8949:  # the identity the lines obey (nothing to say of no line)
        sheet.text(3, 0, t.line("form8949_note", wb.year), wb.styles.note)
    cells = _lines_block(wb, sheet, 5, forms, filer, lots)
    end = (cells.last + 2) if cells.has_lines else 8
    _box_totals_block(wb, sheet, end, forms, filer, cells)
    widths = _widths(t, [[FORM8949_KINDS[cid] for cid in t.tables["form8949"].order],
                         [TOTALS_KINDS[cid] for cid in t.tables["form8949_totals"].order]],
                     {t.tables["form8949"].index(cid): w for cid, w in WRAPPED_WIDTH.items()})
    header = 6
    wb.print_setup(sheet, (header, header) if cells.has_lines else (0, 2), header + 1 if cells.has_lines else 3,
                   widths)
    return cells


def _ordered(lines: tuple[Form8949Line, ...]) -> list[Form8949Line]:
    """The lines by box (a Form 8949 is filed per box), lots in their order within a box."""
    return sorted(lines, key=lambda line: BOXES.index(line.box))


def _lines_block(wb: _Workbook, sheet: _Sheet, r: int, forms: HolderForms, filer: FilerForms,
                 lots: list[_LotCells]) -> _Form8949Cells:
    """One row per disposed lot ("None." when nothing was disposed of in the year)."""
    cells = _Form8949Cells(sheet)
    c, r = _table_or_none(wb, sheet, r, "form8949_lines", "form8949", bool(forms.form8949), LINE_TICKS)
    if c is None:
        sheet.text(r, 0, wb.t.line("no_disposition", wb.year), wb.styles.note)
        return cells
    cells.columns = c
    by_lot = {(lot.ledger.lot.instrument_id, lot.ledger.lot.lot_id): lot for lot in lots}
    cells.first = r
    for line in _ordered(forms.form8949):
        lot = by_lot.get((line.instrument_id, line.lot_id))
        if lot is None or "consideration" not in lot.refs:
            raise WorkpaperError(f"Form 8949 line of lot {line.lot_id} has no disposition on a lot sheet")
        _check_line(line, lot)
        _line_row(wb, sheet, r, c, line, lot, filer)
        cells.rows[(line.instrument_id, line.lot_id)] = (r, line)
        r += 1
    cells.last = r - 1
    return cells


def _check_line(line: Form8949Line, lot: _LotCells) -> None:
    """The forms layer's line must be the lot sheet's figures (a bug otherwise: nothing is
    written)."""
    value = {key: ref_value[1] for key, ref_value in lot.refs.items()}
    sheet = {
        "proceeds": value["consideration"], "cpdi_basis": value["adjusted_basis"],
        "gain_loss": value["capital_gain_on_disposition"] - value["capital_loss_on_disposition"],
        "ordinary_amount": value["ordinary_income_on_disposition"] - value["ordinary_loss_on_disposition"],
        "carryforward_applied": value["carryforward_applied"],
    }
    if getattr(line, "stock_basis", None) is not None:  # the forms layer's, when it carries it
        sheet["stock_basis"] = value.get("stock_basis", 0.0)
    for name, figure in sheet.items():
        if abs(figure - getattr(line, name)) > CHECK_TOLERANCE:
            raise WorkpaperError(
                f"Form 8949 line of lot {line.lot_id}: {name} {getattr(line, name):.6f} is not the lot "
                f"sheet's {figure:.6f}; please report this")
    begins = getattr(line, "stock_holding_period_begins", None)
    if begins is not None and lot.dates.get("stock_held_from", ("", None))[1] != begins:
        raise WorkpaperError(f"Form 8949 line of lot {line.lot_id}: the stock's holding period begins {begins} "
                             "on the line but not on the lot sheet; please report this")


def _line_row(wb: _Workbook, sheet: _Sheet, r: int, c: dict, line: Form8949Line, lot: _LotCells,
              filer: FilerForms) -> None:
    """One lot's line: (d), (e) and the dates linked to its lot sheet, (g) and (h) computed from
    its character split (b)(8), the check (d) − (e) + (g) − (h), and the ordinary part with the
    line it is reported on."""
    st, ref = wb.styles, {key: pair[0] for key, pair in lot.refs.items()}
    sheet.text(r, c["lot_id"], line.lot_id, st.text_input)
    sheet.text(r, c["description"], line.description, st.wrapped_input)
    for cid, key, day in (("date_acquired", "acquired", line.date_acquired),
                          ("date_sold", "disposed", line.date_sold)):
        linked = _date_ref(lot, key, day)
        if linked is not None:
            sheet.formula(r, c[cid], linked, _serial(day), st.formula["date"])
        else:
            sheet.date(r, c[cid], day, st.input["date"])
    d = sheet.formula(r, c["proceeds"], ref["consideration"], line.proceeds, st.formula["money"])
    if line.basis_adjustment:  # (e) is the 1099-B's basis, corrected in (g) with code B
        sheet.number(r, c["cost_basis"], line.cost_basis, st.input["money"])
        e = _cell(r, c["cost_basis"])
        correction = f"+{e}-{ref['adjusted_basis']}"
    else:
        e = sheet.formula(r, c["cost_basis"], ref["adjusted_basis"], line.cost_basis, st.formula["money"])
        correction = ""
    sheet.text(r, c["code"], line.adjustment_code, st.text_input)
    g = sheet.formula(
        r, c["adjustment"],
        f"{ref['ordinary_loss_on_disposition']}-{ref['ordinary_income_on_disposition']}"
        f"-{ref['carryforward_applied']}{correction}",
        line.adjustment_amount, st.formula["money"])
    h = sheet.formula(r, c["gain_loss"],
                      f"{ref['capital_gain_on_disposition']}-{ref['capital_loss_on_disposition']}",
                      line.gain_loss, st.formula["money"])
    arithmetic = line.proceeds - line.cost_basis + line.adjustment_amount - line.gain_loss
    sheet.formula(r, c["check"], *check_formula(f"{d}-{e}+{g}-{h}", arithmetic), st.formula["money"])
    sheet.text(r, c["term"], line.term.value, st.text_input)
    sheet.text(r, c["box"], line.box, st.text_input)
    sheet.text(r, c["ending"], line.ending, st.text_input)
    sheet.formula(r, c["ordinary"],
                  f"{ref['ordinary_income_on_disposition']}-{ref['ordinary_loss_on_disposition']}",
                  line.ordinary_amount, st.formula["money"])
    sheet.text(r, c["ordinary_where"], _ordinary_where(line, filer), st.wrapped_note)
    sheet.formula(r, c["carryforward"], ref["carryforward_applied"], line.carryforward_applied,
                  st.formula["money"])
    if "stock_basis" in ref:  # a conversion into stock: the stock's basis and holding period
        sheet.formula(r, c["stock_basis"], ref["stock_basis"], lot.refs["stock_basis"][1], st.formula["money"])
        held_from = lot.dates["stock_held_from"]
        sheet.formula(r, c["stock_held_from"], held_from[0], _serial(held_from[1]), st.formula["date"])
    sheet.link(r, c["sheet"], lot.sheet, lot.sheet, st.text)


def _date_ref(lot: _LotCells, key: str, day: date) -> str | None:
    """The lot sheet's cell holding the line's date — its trade date or its settlement date,
    whichever the forms layer put on the line (method §12) — or None when neither is ``day``
    (the line then types it)."""
    for name in (f"{key}_trade", key):
        if name in lot.dates and lot.dates[name][1] == day:
            return lot.dates[name][0]
    return None


def _ordinary_where(line: Form8949Line, filer: FilerForms) -> str:
    """Where the disposition's ordinary part goes for the holder's filer type: the (b)(8)(i)
    gain as interest, the (b)(8)(ii) loss as an ordinary loss; nothing when there is none."""
    if line.ordinary_amount >= CHECK_TOLERANCE:
        return filer.line("ordinary_income_on_disposition").where
    if line.ordinary_amount <= -CHECK_TOLERANCE:
        return filer.line("ordinary_loss_on_disposition").where
    return ""


def _box_totals_block(wb: _Workbook, sheet: _Sheet, r: int, forms: HolderForms, filer: FilerForms,
                      cells: _Form8949Cells) -> int:
    """The totals of each box used — lines, (d), (e), (g), (h), each a ``SUMIF`` over the box
    column — with the Schedule D line they go to and the check (d) − (e) + (g) − (h)."""
    st = wb.styles
    boxes = [box for box in BOXES if any(line.box == box for line in forms.form8949)]
    c, r = _table_or_none(wb, sheet, r, "form8949_totals", "form8949_totals", bool(boxes), TOTALS_TICKS)
    if c is None:
        return r
    box_range = _range(cells.first, cells.columns["box"], cells.last)
    for box in boxes:
        lines = [line for line in forms.form8949 if line.box == box]
        sheet.text(r, c["box"], box, st.bold)
        sheet.text(r, c["line"], filer.schedule_d[box].where, st.wrapped_note)
        sheet.formula(r, c["count"], f'COUNTIF({box_range},"{box}")', len(lines), st.total["integer"])
        values = {"proceeds": sum(x.proceeds for x in lines), "cost_basis": sum(x.cost_basis for x in lines),
                  "adjustment": sum(x.adjustment_amount for x in lines),
                  "gain_loss": sum(x.gain_loss for x in lines)}
        at = {}
        for cid in SUMMED:
            column = _range(cells.first, cells.columns[cid], cells.last)
            at[cid] = sheet.formula(r, c[cid], f'SUMIF({box_range},"{box}",{column})', values[cid],
                                    st.total["money"])
        arithmetic = values["proceeds"] - values["cost_basis"] + values["adjustment"] - values["gain_loss"]
        sheet.formula(r, c["check"], *check_formula(
            f"{at['proceeds']}-{at['cost_basis']}+{at['adjustment']}-{at['gain_loss']}", arithmetic),
            st.formula["money"])
        r += 1
    return r


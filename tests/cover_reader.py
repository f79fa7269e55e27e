"""Reading a holder workbook's Cover and Form 8949 sheet back (openpyxl) for the tests: the
figures by their labels, and what the engine says they must be.

    lines, boxes = cover_figures(ws, template, year)
    lines["Interest income (OID) after adjustments"]["amount"]
    boxes["D: long term, basis reported to the IRS"]["gain_loss"]

``expected_cover(forms, filer, template, year)`` gives the same two dicts from the forms layer
(:class:`cpdi.engine.forms.HolderForms`), so a test compares them label by label.
"""

from __future__ import annotations

import re

from cpdi.engine.forms import LOSS_ITEMS, Character

TICK = re.compile(r" \[[A-Z]\]$")


def untick(text):
    return TICK.sub("", text) if isinstance(text, str) else text


def _header(ws, label: str, after: int = 0) -> int:
    for (cell,) in ws.iter_rows(min_col=1, max_col=1, min_row=after + 1):
        if untick(cell.value) == label:
            return cell.row
    raise AssertionError(f"no row labelled {label!r} on {ws.title}")


def _columns(ws, row: int) -> dict[str, int]:
    return {untick(c.value): c.column for c in ws[row] if c.value is not None}


def cover_figures(ws, t, year: int) -> tuple[dict, dict]:
    """The Cover's form-line rows (items, line totals, the carried item) and Form 8949 box rows
    (each box used, and "All boxes"), each ``{column id: value}`` by the row's label."""
    layout = t.tables["form_lines"]
    header = _header(ws, layout.labels["item"])
    cols = _columns(ws, header)
    capital = _header(ws, t.section("cover_capital", year), header)
    lines = {}
    for r in range(header + 1, capital):
        label = ws.cell(r, 1).value
        amount = ws.cell(r, cols[layout.labels["amount"]]).value
        if label is None or (amount is None and ws.cell(r, cols[layout.labels["ledger"]]).value is None):
            continue  # a line's heading, or the blank row after the block
        lines[label] = {cid: ws.cell(r, cols[layout.labels[cid]]).value for cid in layout.order if cid != "item"}
    boxes = {}
    layout = t.tables["form8949_boxes"]
    if ws.cell(capital + 1, 1).value == layout.labels["box"]:
        cols = _columns(ws, capital + 1)
        r = capital + 2
        while ws.cell(r, 2).value is not None or ws.cell(r, 3).value is not None:
            boxes[ws.cell(r, 1).value] = {cid: ws.cell(r, cols[layout.labels[cid]]).value
                                          for cid in layout.order if cid != "box"}
            r += 1
    return lines, boxes


def expected_cover(forms, filer, t, year: int) -> tuple[dict, dict]:
    """What the Cover's rows must read, from the forms layer: ``{label: {column id: value}}``
    for the amounts (form lines) and the box columns (Form 8949 / Schedule D)."""
    lines = {}
    for total in forms.totals:
        if total.character is not Character.ORDINARY:
            continue
        for item in total.items:
            negative = item in LOSS_ITEMS
            label = t.line(item, year) + (f" ({t.line('entered_negative', year)})" if negative else "")
            lines[label] = {"amount": -forms.total(item) if negative else forms.total(item)}
        lines[f"{t.line('line_total', year)} {total.where}"] = {"amount": total.amount}
    lines[t.line("carryforward_out", year)] = {"amount": forms.total("carryforward_out")}
    boxes = {}
    for total in forms.totals:
        if total.character is Character.CAPITAL:
            boxes[t.line(f"box_{total.box}", year)] = {
                "count": total.count, "proceeds": total.proceeds, "cost_basis": total.cost_basis,
                "adjustment": total.adjustment_amount, "gain_loss": total.amount, "line": total.where}
    if boxes:
        lines8949 = forms.form8949
        boxes[t.line("all_boxes", year)] = {
            "count": len(lines8949), "proceeds": sum(x.proceeds for x in lines8949),
            "cost_basis": sum(x.cost_basis for x in lines8949),
            "adjustment": sum(x.adjustment_amount for x in lines8949),
            "gain_loss": sum(x.gain_loss for x in lines8949)}
    return lines, boxes


def form8949_rows(ws, t) -> dict[str, dict]:
    """The Form 8949 sheet's lines by lot id, ``{column id: value}``."""
    layout = t.tables["form8949"]
    try:
        header = _header(ws, layout.labels["lot_id"])
    except AssertionError:
        return {}
    cols = _columns(ws, header)
    rows, r = {}, header + 1
    while ws.cell(r, cols[layout.labels["lot_id"]]).value is not None:
        rows[ws.cell(r, cols[layout.labels["lot_id"]]).value] = {
            cid: ws.cell(r, cols[layout.labels[cid]]).value for cid in layout.order}
        r += 1
    return rows

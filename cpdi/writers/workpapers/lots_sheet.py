"""The Lots sheet: one row per lot held in the year, every figure linked to its lot sheet (the
linked columns ticked ``[R]``), with the column totals the Cover falls back on when a sum of
links would be too long (the totals row footed ``[F]``).  A lot taken over mid-life shows the
year its opening balances are for (method §14); a conversion into stock reads ``conversion``,
its proceeds / consideration the stock's fair market value plus any cash."""

from __future__ import annotations

from cpdi.writers.workpapers.cells import _Sheet, _Workbook, _range, _widths, tick_mark
from cpdi.writers.workpapers.lot_sheet import FIGURES_ALWAYS, FIGURES_DISPOSITION, _LotCells

LOTS_KINDS = {
    "lot_id": "text", "instrument_id": "text", "sheet": "text", "acquisition_date": "date",
    "opening_year": "integer", "ending": "text", "disposition_date": "date", "days_held": "integer",
    **{name: "money" for name in FIGURES_ALWAYS + FIGURES_DISPOSITION},
}
# the columns that link to the lot sheets: recomputed there, ticked [R] in their headers
LINKED = ("days_held",) + FIGURES_ALWAYS + FIGURES_DISPOSITION

# -- Lots and Cover ---------------------------------------------------------------------------------
def _lots_sheet(wb: _Workbook, sheet: _Sheet, lots: list[_LotCells]) -> dict[str, str]:
    """One row per lot, each figure linked to its lot sheet (those columns ticked ``[R]``), then
    the totals row (footed ``[F]``); returns the total cell of each figure column
    (``'Lots'!H9``)."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["lots"]
    c = {cid: layout.index(cid) for cid in layout.order}
    wb.title_rows(sheet, t.section("lots_title", year))
    header = 4
    sheet.column_headers(header, layout, year, st.header,
                         ticks={cid: "recomputed" for cid in LINKED if cid in c})
    r = header + 1
    first = r
    for lot in lots:
        row = lot.row
        sheet.text(r, c["lot_id"], row.lot_id, st.text_input)
        sheet.text(r, c["instrument_id"], row.instrument_id, st.text_input)
        sheet.link(r, c["sheet"], lot.sheet, lot.sheet, st.text)
        sheet.date(r, c["acquisition_date"], lot.ledger.lot.acquisition_date, st.input["date"])
        if lot.ledger.lot.opens_later:
            sheet.number(r, c["opening_year"], lot.ledger.lot.opening_year, st.year_input)
        sheet.text(r, c["ending"], row.ending or "held", st.text_input)
        sheet.date(r, c["disposition_date"], row.disposition_date, st.input["date"])
        sheet.formula(r, c["days_held"], lot.days_ref, row.days_held, st.formula["integer"])
        for key in FIGURES_ALWAYS + FIGURES_DISPOSITION:
            if key in lot.refs:
                ref, value = lot.refs[key]
                sheet.formula(r, c[key], ref, value, st.formula["money"])
        r += 1
    last = r - 1
    _footed_total_label(sheet, r, layout, c, wb)
    totals = {}
    for key in FIGURES_ALWAYS + FIGURES_DISPOSITION:
        values = [lot.refs[key][1] for lot in lots if key in lot.refs]
        if last >= first:
            sheet.formula(r, c[key], f"SUM({_range(first, c[key], last)})", sum(values), st.total["money"])
        else:
            sheet.formula(r, c[key], "0", 0.0, st.total["money"])
        totals[key] = sheet.ref(r, c[key])
    widths = _widths(t, [[LOTS_KINDS[cid] for cid in layout.order]])
    wb.print_setup(sheet, (header, header), header + 1, widths)
    return totals


def _footed_total_label(sheet: _Sheet, row: int, layout, c: dict[str, int], wb: _Workbook) -> None:
    """The totals row's label and its ``[F]`` tick, in the first column after the label that
    holds no total (the template may order the columns); on the label itself if every column
    holds one."""
    t, st = wb.t, wb.styles
    summed = set(FIGURES_ALWAYS + FIGURES_DISPOSITION)
    free = [c[cid] for cid in layout.order if c[cid] > 0 and cid not in summed]
    if free:
        sheet.text(row, 0, t.line("total", wb.year), st.bold)
        sheet.tick(row, min(free), "footed", st)
    else:
        sheet.text(row, 0, f"{t.line('total', wb.year)} {tick_mark('footed')}", st.bold)


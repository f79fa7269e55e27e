"""The batch summary: its rows (the ledger rows of the year added up per holder and
instrument) and its workbook."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import xlsxwriter

from cpdi import __version__
from cpdi.engine.ledger import LotLedger, LotYear
from cpdi.model import Holder
from cpdi.writers.atomic import atomic_path
from cpdi.writers.privacy import scrub_text
from cpdi.writers.template import Template, load_template
from cpdi.writers.workpapers.cells import (
    WORKBOOK_OPTIONS, _abandon, _created, _range, _widths, _Workbook,
)

SUMMARY_KINDS = {
    "holder_id": "text", "name": "text", "instrument_id": "text", "lots": "integer",
    **{name: "money" for name in (
        "interest_income", "ordinary_loss", "carryforward_out", "proceeds", "amount_realized",
        "adjusted_basis", "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
        "capital_loss_on_disposition", "capital_gain_on_disposition", "adjusted_basis_end",
    )},
}


SUMMARY_COLUMNS = (
    "holder_id", "name", "instrument_id", "lots", "interest_income", "ordinary_loss",
    "carryforward_out", "proceeds", "amount_realized",
    "adjusted_basis",  # basis of the lots disposed of in the year (Form 8949 column (e))
    "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
    "adjusted_basis_end",  # year-end basis of the lots still held
)


def summary_rows(
    ledgers_by_holder: Mapping[str, Iterable[LotLedger]], holders: Mapping[str, Holder], year: int
) -> list[dict]:
    """The batch summary's rows: the ledger rows of ``year`` added up per holder and
    instrument, sorted by holder and instrument.  Each row is a plain dict keyed by
    ``SUMMARY_COLUMNS`` (JSON-friendly, so a batch can keep it in its manifest); its text is
    already scrubbed (``scrub_text`` with the holder's own TIN: no full taxpayer id)."""
    rows = []
    for holder_id in sorted(ledgers_by_holder):
        by_instrument: dict[str, list[LotYear]] = {}
        for ledger in ledgers_by_holder[holder_id]:
            for y in ledger.years:
                if y.tax_year == year:
                    by_instrument.setdefault(y.instrument_id, []).append(y)
        holder = holders.get(holder_id)
        tin = holder.tin if holder else ""
        for instrument_id in sorted(by_instrument):
            ys = by_instrument[instrument_id]
            sold = [y for y in ys if y.disposition_date is not None]
            held = [y for y in ys if y.disposition_date is None]
            rows.append({
                "holder_id": scrub_text(holder_id, tin),
                "name": scrub_text(holder.name, tin) if holder else "",
                "instrument_id": scrub_text(instrument_id, tin),
                "lots": len(ys),
                "interest_income": sum(y.interest_income for y in ys),
                "ordinary_loss": sum(y.ordinary_loss for y in ys),
                "carryforward_out": sum(y.carryforward_out for y in ys),
                "proceeds": sum(y.consideration for y in sold),
                "amount_realized": sum(y.amount_realized for y in sold),
                "adjusted_basis": sum(y.adjusted_basis_end for y in sold),
                "ordinary_income_on_disposition": sum(y.ordinary_income_on_disposition for y in sold),
                "ordinary_loss_on_disposition": sum(y.ordinary_loss_on_disposition for y in sold),
                "capital_loss_on_disposition": sum(y.capital_loss_on_disposition for y in sold),
                "capital_gain_on_disposition": sum(y.capital_gain_on_disposition for y in sold),
                "adjusted_basis_end": sum(y.adjusted_basis_end for y in held),
            })
    return rows


def _field(row, name: str):
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def write_summary_workbook(
    target: Path,
    year: int,
    rows: Sequence[Mapping],
    template: Template | None,
    prepared: date,
    holders_ok: int,
    holders_failed: int,
) -> Path:
    """The batch summary: how many holders succeeded and failed, then one row per holder ×
    instrument (``summary_rows``; dicts, or objects with those attributes) with a totals row
    of SUM formulas."""
    template = template or load_template()
    target = Path(target)
    with atomic_path(target) as tmp:
        book = xlsxwriter.Workbook(str(tmp), WORKBOOK_OPTIONS)
        try:
            wb = _Workbook(book, template, "batch", year, prepared)
            wb.ref = template.section("summary_title", year)
            t, st = template, wb.styles
            sheet = wb.add_sheet(t.sheet("summary", year=year))
            sheet.text(0, 0, t.firm_name, st.title)
            sheet.text(1, 0, t.section("summary_title", year), st.subtitle)
            sheet.text(2, 0, t.title_for(year), st.muted)
            for r, (key, value) in enumerate((("holders_ok", holders_ok), ("holders_failed", holders_failed)), 3):
                sheet.text(r, 0, t.line(key, year), st.bold)
                sheet.number(r, 3, value, st.banner_bad if key == "holders_failed" and value else st.input["integer"])
            sheet.text(5, 0, t.line("prepared", year))
            sheet.date(5, 3, prepared, st.input["date"])
            layout = t.tables["summary"]
            c = {cid: layout.index(cid) for cid in layout.order}
            sheet.text(7, 0, t.section("summary_table", year), st.section)
            header = 8
            sheet.column_headers(header, layout, year, st.header)
            r = first = header + 1
            for row in rows:
                for cid in layout.order:
                    value = _field(row, cid)
                    if isinstance(value, str):
                        sheet.text(r, c[cid], value, st.text_input)
                    elif SUMMARY_KINDS[cid] == "integer":
                        sheet.number(r, c[cid], value, st.input["integer"])
                    else:
                        sheet.number(r, c[cid], value, st.input["money"])
                r += 1
            last = r - 1
            sheet.text(r, 0, t.line("total", year), st.bold)
            for cid in layout.order:
                kind = SUMMARY_KINDS[cid]
                if kind == "text":
                    continue
                total = sum(_field(row, cid) for row in rows)
                fmt = st.total[kind]
                if last >= first:
                    sheet.formula(r, c[cid], f"SUM({_range(first, c[cid], last)})", total, fmt)
                else:
                    sheet.formula(r, c[cid], "0", 0, fmt)
            if last >= first:
                sheet.ws.autofilter(header, 0, last, len(layout.order) - 1)
            widths = _widths(t, [[SUMMARY_KINDS[cid] for cid in layout.order]])
            wb.print_setup(sheet, (header, header), header + 1, widths)
            book.set_properties({
                "title": wb.safe(t.section("summary_title", year)), "author": wb.safe(t.firm_name),
                "company": wb.safe(t.firm_name), "comments": f"cpdi {__version__} batch summary",
                "created": _created(prepared),
            })
            wb.flush()
        except BaseException:
            _abandon(book)
            raise
        book.close()
    return target



"""The instrument sheet: terms, the §8 validation of the projected payment schedule, and the
accrual table of method §3 as formulas per unit of principal ((b)(3)(iii), (b)(7)(ii)), with a
chart of the adjusted issue price and the payments."""

from __future__ import annotations

from dataclasses import dataclass, field

from cpdi.model import DailyPortionBasis
from cpdi.writers.workpapers.cells import (
    KV_LABEL, KV_VALUE, _Sheet, _Workbook, _cell, _range, _day_count_days_header, _weight_format, _widths,
)

# Kinds of the table columns (for widths and formats).
SCHEDULE_KINDS = {
    "period": "integer", "period_start": "date", "period_end": "date", "days": "integer",
    "year_fraction": "year_fraction", "rate": "rate", "aip_start": "per_unit",
    "interest": "per_unit", "daily_portion": "per_unit", "projected_payment": "per_unit",
    "payment_type": "text", "aip_end": "per_unit", "actual_payment": "per_unit",
}

# -- instrument sheet -----------------------------------------------------------------------------
@dataclass
class _InstrumentCells:
    """The cells of an instrument sheet that lot sheets and the Cover refer to (``'Sheet'!G12``
    references, by accrual period index where a dict)."""

    sheet: _Sheet
    unit_principal: str
    daily_portion: dict  # period index -> ref
    projected: dict  # period index -> ref
    comparable_yield: str = ""
    issue_price: str = ""
    aip_start: dict = field(default_factory=dict)  # AIP at the period's start, per unit
    weight: dict = field(default_factory=dict)  # the period's days (calendar or day-count)
    period_start: dict = field(default_factory=dict)
    period_end: dict = field(default_factory=dict)
    year_fraction: dict = field(default_factory=dict)
    period_ends: str = ""  # the whole period-end column, e.g. 'X'!C20:C59
    payment_types: str = ""  # the whole type column ("contingent", "fixed", …)
    # sentences for the Cover's disclosure note: where the schedule used departs from the
    # issuer's as printed (an accepted residual, a corrected figure)
    disclosures: list = field(default_factory=list)


def _instrument_sheet(wb: _Workbook, book) -> _InstrumentCells:
    """Terms, §8 validation, and the accrual table of method §3 as formulas (per unit)."""
    t, st = wb.t, wb.styles
    instrument = book.instrument
    schedule = book.schedule
    report = book.validation
    sheet = wb.add_sheet(t.sheet("instrument", instrument_id=instrument.instrument_id))
    layout = t.tables["schedule"]
    col = {cid: layout.index(cid) for cid in layout.order}
    ncols = len(layout.order)
    title = f"{t.section('instrument_title', wb.year)} {instrument.instrument_id}"
    if instrument.description:
        title += f" — {instrument.description}"
    wb.title_rows(sheet, title)

    # terms (left) and validation (right), side by side to keep the table near the top
    left, right = 4, 4
    sheet.text(left, 0, t.section("instrument_terms", wb.year), st.section)
    label_r, value_r = 8, ncols - 1
    sheet.text(right, label_r, t.section("instrument_validation", wb.year), st.section)

    def term(label_key, writer, *args):
        nonlocal left
        left += 1
        sheet.text(left, KV_LABEL, t.line(label_key, wb.year))
        writer(left, KV_VALUE, *args)
        return left

    term("instrument_id", sheet.text, instrument.instrument_id, st.text_input)
    if instrument.description:  # from column B, so the text has room
        left += 1
        sheet.text(left, KV_LABEL, t.line("description", wb.year))
        sheet.text(left, 1, instrument.description, st.text_input)
    term("issue_date", sheet.date, instrument.issue_date, st.input["date"])
    term("maturity_date", sheet.date, instrument.maturity_date, st.input["date"])
    issue_price_row = term("issue_price", sheet.number, instrument.issue_price, st.input["per_unit"])
    unit_row = term("unit_principal", sheet.number, instrument.unit_principal, st.input["per_unit"])
    cy = instrument.comparable_yield
    cy_row = term("comparable_yield", sheet.number, cy.annual_rate, st.input["percent"])
    term("frequency", sheet.number, cy.frequency, st.input["integer"])
    term("day_count", sheet.text, cy.day_count.value, st.text_input)
    if instrument.daily_portion_basis is not DailyPortionBasis.CALENDAR_DAYS:
        # only shown when it departs from the default, so that "days" reads right (method §3)
        term("daily_portion_basis", sheet.text,
             f"{instrument.daily_portion_basis.value}: the days columns are {cy.day_count.value} days",
             st.text_input)
    actuals = book.actuals
    if actuals.call_date is not None:
        term("call_date", sheet.date, actuals.call_date, st.input["date"])
        term("redemption", sheet.number, actuals.redemption_amount or 0.0, st.input["per_unit"])
    issue_price_ref = _cell(issue_price_row, KV_VALUE)

    # the table's place is known once both blocks are laid out; validation refers to its end
    validation_lines = 7 + len(report.corrections) + len(report.problems)
    table_section = max(left, right + validation_lines) + 2
    header = table_section + 1
    first = header + 1
    periods = schedule.periods
    last = first + len(periods) - 1

    def check(label_key, writer, *args):
        nonlocal right
        right += 1
        sheet.text(right, label_r, t.line(label_key, wb.year))
        writer(right, value_r, *args)
        return right

    status = report.status
    check("validation_status", sheet.text, status,
          st.banner_ok if status == "OK" else st.banner_bad)
    pv_row = check("present_value", sheet.number, report.present_value, st.input["per_unit"])
    check("pv_difference", lambda r, c: sheet.formula(
        r, c, f"{_cell(pv_row, c)}-{issue_price_ref}", report.pv_difference, st.formula["per_unit"]))
    final = periods[-1].adjusted_issue_price_end if periods else 0.0
    check("final_aip", lambda r, c: sheet.formula(
        r, c, _cell(last, col["aip_end"]), final, st.formula["per_unit"]))
    if report.implied_yield_pct is None:
        check("implied_yield", sheet.text, "n/a", st.text_input)
    else:
        check("implied_yield", sheet.number, report.implied_yield_pct / 100.0, st.input["percent"])
    check("tolerance", sheet.number, report.tolerance, st.input["per_unit"])
    check("within_tolerance", sheet.boolean, report.within_tolerance, st.bool_input)
    for correction in report.corrections:
        text = (f"period {correction.period_number} ({correction.period_end.isoformat()}): printed "
                f"{correction.printed:.4f}, {correction.corrected:.4f} closes the schedule")
        if correction.looks_like:
            text += f" — {correction.looks_like}"
        check("correction", sheet.text, text, st.text)
    for problem in report.problems:
        check("validation_problem", sheet.text, problem, st.text)
    if status == "ACCEPTED":  # shown prominently, across the sheet under the title
        sheet.merged_text(3, 0, ncols - 1, (
            f"{t.line('accepted', wb.year)} — PV − issue price {report.pv_difference:+.6f}, "
            f"final AIP {report.final_adjusted_issue_price:+.6f} per unit "
            f"(tolerance {report.tolerance:.6f})"), st.banner_bad)
    elif status != "OK":
        sheet.merged_text(3, 0, ncols - 1, f"{status}: {t.line('failed', wb.year)}", st.banner_bad)

    # the accrual table: rate is an input, everything else chains from the issue price
    sheet.text(table_section, 0, t.section("instrument_schedule", wb.year), st.section)
    sheet.column_headers(header, layout, wb.year, st.header)
    _day_count_days_header(sheet, header, col, layout, instrument, wb.year, st)
    daily_refs, projected_refs = {}, {}
    aip_refs, weight_refs, start_refs, end_refs, yf_refs = {}, {}, {}, {}, {}
    for index, p in enumerate(periods):
        r = first + index
        c = col
        sheet.number(r, c["period"], p.number, st.input["integer"])
        sheet.date(r, c["period_start"], p.period_start, st.input["date"])
        sheet.date(r, c["period_end"], p.period_end, st.input["date"])
        sheet.number(r, c["days"], p.weight, _weight_format(st, p.weight))
        sheet.number(r, c["year_fraction"], p.year_fraction, st.input["year_fraction"])
        sheet.number(r, c["rate"], p.rate, st.input["rate"])
        start = issue_price_ref if index == 0 else _cell(r - 1, c["aip_end"])
        sheet.formula(r, c["aip_start"], start, p.adjusted_issue_price_start, st.formula["per_unit"])
        aip, rate = _cell(r, c["aip_start"]), _cell(r, c["rate"])
        sheet.formula(r, c["interest"], f"{aip}*{rate}", p.interest, st.formula["per_unit"])
        interest, days = _cell(r, c["interest"]), _cell(r, c["days"])
        sheet.formula(r, c["daily_portion"], f"{interest}/{days}", p.daily_portion, st.formula["per_unit"])
        sheet.number(r, c["projected_payment"], p.projected_payment, st.input["per_unit"])
        sheet.text(r, c["payment_type"], p.payment_type.value, st.text_input)
        projected = _cell(r, c["projected_payment"])
        sheet.formula(r, c["aip_end"], f"{aip}+{interest}-{projected}", p.adjusted_issue_price_end,
                      st.formula["per_unit"])
        actual = actuals.scheduled.get(p.period_end)
        if actual is not None:
            sheet.number(r, c["actual_payment"], actual, st.input["per_unit"])
        daily_refs[index] = sheet.ref(r, c["daily_portion"])
        projected_refs[index] = sheet.ref(r, c["projected_payment"])
        aip_refs[index] = sheet.ref(r, c["aip_start"])
        weight_refs[index] = sheet.ref(r, c["days"])
        start_refs[index] = sheet.ref(r, c["period_start"])
        end_refs[index] = sheet.ref(r, c["period_end"])
        yf_refs[index] = sheet.ref(r, c["year_fraction"])

    if periods:
        sheet.text(last + 2, 0, t.section("instrument_chart", wb.year), st.section)
        _aip_chart(wb, sheet, header, first, last, col, last + 2)
        sheet.ws.set_h_pagebreaks([last + 2])  # the chart prints on a page of its own
    kinds = [SCHEDULE_KINDS[cid] for cid in layout.order]
    widths = _widths(t, [kinds], {KV_VALUE: t.widths["money"], value_r: t.widths["money"]})
    wb.print_setup(sheet, (header, header), header + 1, widths)
    column = lambda cid: f"{sheet.quoted}!{_range(first, col[cid], last)}" if periods else ""  # noqa: E731
    return _InstrumentCells(
        sheet, sheet.ref(unit_row, KV_VALUE), daily_refs, projected_refs,
        comparable_yield=sheet.ref(cy_row, KV_VALUE), issue_price=sheet.ref(issue_price_row, KV_VALUE),
        aip_start=aip_refs, weight=weight_refs, period_start=start_refs, period_end=end_refs,
        year_fraction=yf_refs, period_ends=column("period_end"), payment_types=column("payment_type"),
    )


def _aip_chart(wb: _Workbook, sheet: _Sheet, header: int, first: int, last: int, col: dict, at: int) -> None:
    """A line of the adjusted issue price with the projected (and known actual) payments as
    columns on a second axis.  Names come from the header cells, never from text."""
    name = sheet.name
    line = wb.book.add_chart({"type": "line"})
    line.add_series({
        "name": [name, header, col["aip_end"]],
        "categories": [name, first, col["period_end"], last, col["period_end"]],
        "values": [name, first, col["aip_end"], last, col["aip_end"]],
        "line": {"width": 2.0},
    })
    bars = wb.book.add_chart({"type": "column"})
    for key in ("projected_payment", "actual_payment"):
        bars.add_series({
            "name": [name, header, col[key]],
            "categories": [name, first, col["period_end"], last, col["period_end"]],
            "values": [name, first, col[key], last, col[key]],
            "y2_axis": True,
        })
    line.combine(bars)
    # a literal title (the section title from the template): LibreOffice shows a title that
    # refers to a cell as "Chart Title"
    line.set_title({"name": wb.safe(wb.t.section("instrument_chart", wb.year)), "name_font": {"size": 11}})
    line.set_x_axis({"date_axis": True, "num_format": "yyyy-mm", "num_font": {"rotation": -45}})
    line.set_y_axis({"num_format": "#,##0"})
    bars.set_y2_axis({"num_format": "#,##0"})
    line.set_legend({"position": "bottom"})
    line.set_size({"width": 960, "height": 320})
    sheet.ws.insert_chart(at + 1, 0, line)


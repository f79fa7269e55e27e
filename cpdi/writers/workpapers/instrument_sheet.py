"""The instrument sheet: terms (with the source document the issuer's figures were read from),
the §8 validation of the projected payment schedule computed on the sheet, a disclosure of
where the schedule used departs from the issuer's as printed, and the accrual table of method
§3 as formulas per unit of principal ((b)(3)(iii), (b)(7)(ii)), with a chart of the adjusted
issue price and the payments.

The model is live from the terms: a period's rate is the comparable yield cell times its year
fraction (method §2), and the year fraction is a formula of the period's dates wherever the
day count is exactly a formula of them (:func:`year_fraction_formula`); everything else chains
from the issue price.  Changing the comparable yield on the sheet recomputes the table, the
present value and the final adjusted issue price."""

from __future__ import annotations

from dataclasses import dataclass, field

from xlsxwriter.utility import xl_rowcol_to_cell

from cpdi.engine.daycount import DayCount
from cpdi.model import DailyPortionBasis, Instrument
from cpdi.writers.template import TableLayout
from cpdi.writers.workpapers.cells import (
    KV_LABEL, KV_TICK, KV_VALUE, _Sheet, _Workbook, _cell, _range, _weight_format, _widths, tick_mark,
    wrapped_across,
)

# Kinds of the table columns (for widths and formats).
SCHEDULE_KINDS = {
    "period": "integer", "period_start": "date", "period_end": "date", "days": "integer",
    "year_fraction": "year_fraction", "rate": "rate", "aip_start": "per_unit",
    "interest": "per_unit", "daily_portion": "per_unit", "projected_payment": "per_unit",
    "payment_type": "text", "aip_end": "per_unit", "actual_payment": "per_unit",
    "discount_factor": "year_fraction", "present_value": "per_unit",
    "implied_discount_factor": "year_fraction", "implied_present_value": "per_unit",
    "fixed_on": "date", "projected_before_fixing": "per_unit", "fixing_adjustment": "per_unit",
}

# Columns of an instrument with a payment fixed more than six months early (method §13); the
# table of any other instrument leaves them out.
FIXING_COLUMNS = ("fixed_on", "projected_before_fixing", "fixing_adjustment")

# The validation block, right of the terms: its labels overflow to the right of VALIDATION_LABEL
# up to the value; the tick mark follows the value.
VALIDATION_LABEL, VALIDATION_VALUE = 8, 12
VALIDATION_TICK = VALIDATION_VALUE + 1
TOP = 4  # the row of the terms' and the validation's section titles
# rows of the validation block before its corrections and problems: status, PV, PV − issue
# price, final AIP, implied yield, its check, tolerance, within tolerance
VALIDATION_FIXED_ROWS = 8
IMPLIED_YIELD_ROW = TOP + 5  # the implied yield's cell, which the implied discount factors read
CHART_HEIGHT = 360  # pixels
CHART_ROWS = CHART_HEIGHT // 20 + 2  # rows of 20 pixels (15 points) the chart covers, and a margin
DESCRIPTION_CHARACTERS = 80  # about what columns B to H hold on a line, for the row's height

# Day counts whose year fraction is a formula of the period's dates that gives, in IEEE
# doubles, exactly what cpdi/engine/daycount.py gives (an integer number of days over 360 or
# 365).  ACT/ACT ICMA and ISDA are not: their fractions are typed.
FORMULA_DAY_COUNTS = frozenset({
    DayCount.ACT_360, DayCount.ACT_365F,
    DayCount.THIRTY_360, DayCount.THIRTY_E_360, DayCount.THIRTY_E_360_ISDA,
})


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
    # (b)(9)(ii) (method §13), for an instrument with a payment fixed early
    fixed_on_column: str = ""  # the whole "fixed on" column ("" without fixings)
    discount_factor: dict = field(default_factory=dict)  # period index -> ref
    projected_before_fixing: dict = field(default_factory=dict)  # period index -> ref
    # sentences for the Cover's disclosure note: where the schedule used departs from the
    # issuer's as printed (an accepted residual, a corrected figure)
    disclosures: list = field(default_factory=list)


@dataclass
class _Terms:
    """Where the terms block put the cells the table and the validation refer to (same-sheet
    references; ``*_abs`` are absolute, for formulas copied down a column)."""

    last_row: int
    issue_price_row: int
    unit_row: int
    yield_row: int
    issue_price: str
    comparable_yield_abs: str
    maturity_abs: str


@dataclass
class _Table:
    """Where the accrual table is (rows of the sheet) and the columns the validation sums."""

    header: int
    first: int
    last: int
    col: dict  # column id -> sheet column


def schedule_layout(layout: TableLayout, fixings: bool) -> TableLayout:
    """The accrual table's columns: the template's, less the (b)(9)(ii) ones for an instrument
    with no payment fixed early."""
    if fixings:
        return layout
    return TableLayout(tuple(c for c in layout.order if c not in FIXING_COLUMNS), layout.labels)


def _split_parts(periods) -> dict[int, list[int]]:
    """For each period cut at a fixing date (b)(9)(ii)(C), the indices of all the parts of the
    period it was cut from (method §13)."""
    parts: dict[tuple, list[int]] = {}
    for index, p in enumerate(periods):
        if p.weight_bounds is not None:
            parts.setdefault(p.weight_bounds, []).append(index)
    return {index: group for group in parts.values() for index in group}


def _absolute(row: int, col: int) -> str:
    return xl_rowcol_to_cell(row, col, row_abs=True, col_abs=True)


def _instrument_sheet(wb: _Workbook, book) -> _InstrumentCells:
    """Terms, §8 validation, disclosures and the accrual table of method §3 as formulas (per
    unit), and the chart."""
    t, st = wb.t, wb.styles
    instrument, report = book.instrument, book.validation
    periods = book.schedule.periods
    sheet = wb.add_sheet(t.sheet("instrument", instrument_id=instrument.instrument_id))
    layout = schedule_layout(t.tables["schedule"], bool(book.schedule.fixings))
    col = {cid: layout.index(cid) for cid in layout.order}
    ncols = len(layout.order)
    # the description has its own wrapped row in the terms: a long one would not fit a title
    wb.title_rows(sheet, f"{t.section('instrument_title', wb.year)} {instrument.instrument_id}")
    _status_banner(wb, sheet, report, ncols)

    # terms (left) and validation (right) side by side, then the disclosures, then the table:
    # rows are planned first, since the validation's formulas refer to the table's columns
    terms = _terms_block(wb, sheet, book)
    validation_rows = VALIDATION_FIXED_ROWS + len(report.corrections) + len(report.problems)
    below = max(terms.last_row, TOP + validation_rows)
    disclosures = disclosure_sentences(instrument, report)
    disclosure_row = below + 2
    if disclosures:
        below = disclosure_row + len(disclosures)
    # the chart sits above the table, so that the table's repeated header prints over table
    # rows only and no page holds a chart under a header of nothing
    chart_row = below + 2 if periods else None
    if chart_row is not None:
        below = chart_row + CHART_ROWS
    table_section = below + 2
    typed_fractions = instrument.comparable_yield.day_count not in FORMULA_DAY_COUNTS
    header = table_section + (2 if typed_fractions else 1)
    first = header + 1
    table = _Table(header, first, first + len(periods) - 1, col)

    refs = _schedule_table(wb, sheet, book, terms, table, layout, table_section, typed_fractions)
    _validation_block(wb, sheet, book, terms, table)
    kinds = [SCHEDULE_KINDS[cid] for cid in layout.order]
    widths = _widths(t, [kinds], {KV_VALUE: t.widths["money"], VALIDATION_VALUE: t.widths["money"]})
    if disclosures:
        _disclosure_block(wb, sheet, disclosures, disclosure_row, widths)

    if chart_row is not None:
        sheet.text(chart_row, 0, t.section("instrument_chart", wb.year), st.section)
        _aip_chart(wb, sheet, table, chart_row)
    wb.print_setup(sheet, (header, header), header + 1, widths)
    column = lambda cid: f"{sheet.quoted}!{_range(first, col[cid], table.last)}" if periods else ""  # noqa: E731
    return _InstrumentCells(
        sheet, sheet.ref(terms.unit_row, KV_VALUE), refs["daily_portion"], refs["projected_payment"],
        comparable_yield=sheet.ref(terms.yield_row, KV_VALUE),
        issue_price=sheet.ref(terms.issue_price_row, KV_VALUE),
        aip_start=refs["aip_start"], weight=refs["days"], period_start=refs["period_start"],
        period_end=refs["period_end"], year_fraction=refs["year_fraction"],
        period_ends=column("period_end"), payment_types=column("payment_type"),
        disclosures=disclosures,
        fixed_on_column=column("fixed_on") if "fixed_on" in col else "",
        discount_factor=refs["discount_factor"],
        projected_before_fixing=refs.get("projected_before_fixing", {}),
    )


def _status_banner(wb: _Workbook, sheet: _Sheet, report, ncols: int) -> None:
    """A schedule accepted outside tolerance (method §8) is shown across the sheet under the
    title, with its residuals."""
    t, st = wb.t, wb.styles
    if report.status == "ACCEPTED":
        sheet.merged_text(3, 0, ncols - 1, (
            f"{t.line('accepted', wb.year)} — PV − issue price {report.pv_difference:+.6f}, "
            f"final AIP {report.final_adjusted_issue_price:+.6f} per unit "
            f"(tolerance {report.tolerance:.6f})"), st.banner_bad)
    elif report.status != "OK":
        sheet.merged_text(3, 0, ncols - 1, f"{report.status}: {t.line('failed', wb.year)}", st.banner_bad)


def _terms_block(wb: _Workbook, sheet: _Sheet, book) -> _Terms:
    """The instrument's terms, each value with its tick mark: typed from the input files
    ``[I]``, or, for the comparable yield when a source document is named, agreed to it
    ``[S]`` ((b)(4); the source rows say where)."""
    t, st = wb.t, wb.styles
    instrument, actuals = book.instrument, book.actuals
    sheet.text(TOP, 0, t.section("instrument_terms", wb.year), st.section)
    row = TOP
    issuer_figure = "source" if instrument.source_document else "input"

    def term(label_key, writer, *args, tick="input", at=KV_VALUE):
        nonlocal row
        row += 1
        sheet.text(row, KV_LABEL, t.line(label_key, wb.year))
        writer(row, at, *args)
        sheet.tick(row, KV_TICK, tick, st)
        return row

    term("instrument_id", sheet.text, instrument.instrument_id, st.text_input)
    if instrument.description:  # wrapped across columns B to H, as tall as its lines
        row += 1
        sheet.text(row, KV_LABEL, t.line("description", wb.year))
        sheet.merged_text(row, 1, VALIDATION_LABEL - 1, instrument.description, st.wrapped_input)
        lines = -(-len(instrument.description) // DESCRIPTION_CHARACTERS)
        if lines > 1:
            sheet.heights[row] = 15 * lines
    term("issue_date", sheet.date, instrument.issue_date, st.input["date"])
    maturity_row = term("maturity_date", sheet.date, instrument.maturity_date, st.input["date"])
    issue_price_row = term("issue_price", sheet.number, instrument.issue_price, st.input["per_unit"])
    unit_row = term("unit_principal", sheet.number, instrument.unit_principal, st.input["per_unit"])
    cy = instrument.comparable_yield
    yield_row = term("comparable_yield", sheet.number, cy.annual_rate, st.input["percent"], tick=issuer_figure)
    term("frequency", sheet.number, cy.frequency, st.input["integer"])
    term("day_count", sheet.text, cy.day_count.value, st.text_input)
    if instrument.daily_portion_basis is not DailyPortionBasis.CALENDAR_DAYS:
        # only shown when it departs from the default, so that "days" reads right (method §3)
        term("daily_portion_basis", sheet.text,
             f"{instrument.daily_portion_basis.value}: the days columns are {cy.day_count.value} days",
             st.text_input)
    if actuals.call_date is not None:
        term("call_date", sheet.date, actuals.call_date, st.input["date"])
        term("redemption", sheet.number, actuals.redemption_amount or 0.0, st.input["per_unit"])
    if instrument.source_document:  # from column B, like the description
        term("source_document", sheet.text, instrument.source_document, st.text_input, at=1)
    if instrument.source_page:
        term("source_page", sheet.text, instrument.source_page, st.text_input)
    return _Terms(
        last_row=row, issue_price_row=issue_price_row, unit_row=unit_row, yield_row=yield_row,
        issue_price=_cell(issue_price_row, KV_VALUE),
        comparable_yield_abs=_absolute(yield_row, KV_VALUE),
        maturity_abs=_absolute(maturity_row, KV_VALUE),
    )


# -- the accrual table ---------------------------------------------------------------------------
def year_fraction_formula(day_count: DayCount, start: str, end: str, maturity: str) -> str | None:
    """The year fraction of the period from the date in cell ``start`` to the date in cell
    ``end`` as a spreadsheet formula, for the day counts where one computes, in IEEE doubles,
    exactly ``cpdi.engine.daycount.year_fraction`` (method §2): a whole number of days over
    360 or 365.  ``maturity`` is the maturity date's cell (30E/360 ISDA's termination date).
    None for ACT/ACT (ICMA or ISDA): typed.

    * ACT/360, ACT/365F: ``(end − start) / 360`` or ``/ 365``;
    * 30/360 (US bond basis): D1 = MIN(DAY(start), 30); D2 = 30 when DAY(end) is 31 and D1 is
      30, i.e. MIN(DAY(end), IF(DAY(start) ≥ 30, 30, 31));
    * 30E/360: MIN(DAY, 30) at both ends;
    * 30E/360 ISDA: D1 = 30 on the last day of any month (DAY(start + 1) = 1: a 31st, the
      last of February, or a 30th that is 30 anyway); D2 = 30 on a 31st, or on the last of
      February unless it is the maturity date."""
    if day_count is DayCount.ACT_360:
        return f"({end}-{start})/360"
    if day_count is DayCount.ACT_365F:
        return f"({end}-{start})/365"
    if day_count is DayCount.THIRTY_360:
        d1, d2 = f"MIN(DAY({start}),30)", f"MIN(DAY({end}),IF(DAY({start})>=30,30,31))"
    elif day_count is DayCount.THIRTY_E_360:
        d1, d2 = f"MIN(DAY({start}),30)", f"MIN(DAY({end}),30)"
    elif day_count is DayCount.THIRTY_E_360_ISDA:
        d1 = f"IF(DAY({start}+1)=1,30,DAY({start}))"
        d2 = f"IF(OR(DAY({end})=31,AND(MONTH({end})=2,DAY({end}+1)=1,{end}<>{maturity})),30,DAY({end}))"
    else:
        return None
    return (f"(360*(YEAR({end})-YEAR({start}))+30*(MONTH({end})-MONTH({start}))"
            f"+{d2}-{d1})/360")


def _column_ticks(instrument: Instrument, typed_fractions: bool) -> dict[str, str]:
    """The tick mark of each table column (cells.TICKS): the issuer's projected amounts are
    ``[S]`` when a source document is named, other typed columns ``[I]``, formulas ``[R]``."""
    calendar_days = instrument.daily_portion_basis is DailyPortionBasis.CALENDAR_DAYS
    ticks = {
        "period_start": "input", "period_end": "input",
        "days": "recomputed" if calendar_days else "input",
        "year_fraction": "input" if typed_fractions else "recomputed",
        "projected_payment": "source" if instrument.source_document else "input",
        "payment_type": "input", "actual_payment": "input",
    }
    for cid in ("rate", "aip_start", "interest", "daily_portion", "aip_end", "discount_factor",
                "present_value", "implied_discount_factor", "implied_present_value"):
        ticks[cid] = "recomputed"
    return ticks


def _schedule_table(wb: _Workbook, sheet: _Sheet, book, terms: _Terms, table: _Table, layout,
                    section_row: int, typed_fractions: bool) -> dict[str, dict]:
    """The accrual table of method §3, one row per period ((b)(3)(iii), (b)(7)(ii)), with the
    present value of each payment at the comparable yield and at the implied yield (method
    §8).  Returns, per column id, the period index -> ``'Sheet'!cell`` references."""
    t, st = wb.t, wb.styles
    instrument = book.instrument
    sheet.text(section_row, 0, t.section("instrument_schedule", wb.year), st.section)
    if typed_fractions:
        sheet.text(section_row + 1, 0, f"{t.line('year_fraction_note', wb.year)} "
                   f"({instrument.comparable_yield.day_count.value}).", st.note)
    ticks = _column_ticks(instrument, typed_fractions)
    sheet.column_headers(table.header, layout, wb.year, st.header, ticks)
    _days_header(sheet, table, layout, instrument, wb.year, st, ticks["days"])
    report = book.validation
    implied = None if report.implied_yield_pct is None else report.implied_yield_pct / 100.0
    implied_ref = _absolute(IMPLIED_YIELD_ROW, VALIDATION_VALUE)
    refs: dict[str, dict] = {cid: {} for cid in (
        "daily_portion", "projected_payment", "aip_start", "days", "period_start", "period_end",
        "year_fraction", "discount_factor") + (
        ("projected_before_fixing",) if "projected_before_fixing" in table.col else ())}
    discount = implied_discount = 1.0
    parts = _split_parts(book.schedule.periods)
    for index, p in enumerate(book.schedule.periods):
        r = table.first + index
        discount, implied_discount = _schedule_row(
            wb, sheet, book, terms, table, index, p, discount, implied, implied_discount, implied_ref,
            parts.get(index))
        for cid, by_index in refs.items():
            by_index[index] = sheet.ref(r, table.col[cid])
    return refs


def _schedule_row(wb: _Workbook, sheet: _Sheet, book, terms: _Terms, table: _Table, index: int, p,
                  discount: float, implied: float | None, implied_discount: float,
                  implied_ref: str, parts: list[int] | None = None) -> tuple[float, float]:
    """One period: its dates and days, year fraction and rate (method §2), the AIP chain and
    daily portion (method §3), and its discount factors and present values (method §8:
    ``cpdi.engine.validation._present_value``, period by period).  Returns the discount
    factors at its end (the values cached beside the formulas)."""
    st = wb.styles
    instrument = book.instrument
    c, r = table.col, table.first + index
    here = lambda cid: _cell(r, c[cid])  # noqa: E731
    above = lambda cid: _cell(r - 1, c[cid])  # noqa: E731
    sheet.number(r, c["period"], p.number, st.input["integer"])
    sheet.date(r, c["period_start"], p.period_start, st.input["date"])
    sheet.date(r, c["period_end"], p.period_end, st.input["date"])
    start, end = here("period_start"), here("period_end")
    if instrument.daily_portion_basis is DailyPortionBasis.CALENDAR_DAYS:  # method §3
        sheet.formula(r, c["days"], f"{end}-{start}", p.weight, st.formula["integer"])
    else:  # the day count's days: typed (method §3)
        sheet.number(r, c["days"], p.weight, _weight_format(st, p.weight))
    formula = year_fraction_formula(instrument.comparable_yield.day_count, start, end, terms.maturity_abs)
    if formula is None:
        sheet.number(r, c["year_fraction"], p.year_fraction, st.input["year_fraction"])
    else:
        sheet.formula(r, c["year_fraction"], formula, p.year_fraction, st.formula["year_fraction"])
    if parts is None:
        sheet.formula(r, c["rate"], f"{terms.comparable_yield_abs}*{here('year_fraction')}", p.rate,
                      st.formula["rate"])  # r_k = yield × year fraction (method §2)
    else:  # a part of a period cut at a fixing date: its growth compounded (method §13)
        whole = _parts_sum(table, parts, c["year_fraction"])
        sheet.formula(r, c["rate"], f"(1+{terms.comparable_yield_abs}*{whole})"
                      f"^({here('year_fraction')}/{whole})-1", p.rate, st.formula["rate"])
    sheet.formula(r, c["aip_start"], terms.issue_price if index == 0 else above("aip_end"),
                  p.adjusted_issue_price_start, st.formula["per_unit"])
    aip, rate = here("aip_start"), here("rate")
    sheet.formula(r, c["interest"], f"{aip}*{rate}", p.interest, st.formula["per_unit"])
    sheet.formula(r, c["daily_portion"], f"{here('interest')}/{here('days')}", p.daily_portion,
                  st.formula["per_unit"])
    sheet.number(r, c["projected_payment"], p.projected_payment, st.input["per_unit"])
    sheet.text(r, c["payment_type"], p.payment_type.value, st.text_input)
    projected = here("projected_payment")
    fixings = "fixing_adjustment" in c
    # what the period pays, net of a (b)(9)(ii)(A) adjustment at its end: the AIP chain and
    # the present values treat the adjustment as a negative payment (method §13)
    net = f"({projected}-{here('fixing_adjustment')})" if fixings else projected
    net_value = p.projected_payment - p.fixing_adjustment
    aip_end = f"{aip}+{here('interest')}+{here('fixing_adjustment')}-{projected}" if fixings else \
        f"{aip}+{here('interest')}-{projected}"
    sheet.formula(r, c["aip_end"], aip_end, p.adjusted_issue_price_end, st.formula["per_unit"])
    actual = book.actuals.scheduled.get(p.period_end) if p.payment_due else None
    if actual is not None:
        sheet.number(r, c["actual_payment"], actual, st.input["per_unit"])
    if fixings:
        _fixing_cells(wb, sheet, book, table, index, p)

    previous = "1" if index == 0 else above("discount_factor")
    discount /= 1.0 + p.rate
    sheet.formula(r, c["discount_factor"], f"{previous}/(1+{rate})", discount, st.formula["year_fraction"])
    sheet.formula(r, c["present_value"], f"{net}*{here('discount_factor')}",
                  net_value * discount, st.formula["per_unit"])
    if implied is not None:  # the same discounting at the solved yield (method §8)
        previous = "1" if index == 0 else above("implied_discount_factor")
        if parts is None:
            implied_discount /= 1.0 + implied * p.year_fraction
            growth = f"(1+{implied_ref}*{here('year_fraction')})"
        else:
            whole_yf = sum(book.schedule.periods[i].year_fraction for i in parts)
            implied_discount /= (1.0 + implied * whole_yf) ** (p.year_fraction / whole_yf)
            whole = _parts_sum(table, parts, c["year_fraction"])
            growth = f"(1+{implied_ref}*{whole})^({here('year_fraction')}/{whole})"
        sheet.formula(r, c["implied_discount_factor"], f"{previous}/{growth}", implied_discount,
                      st.formula["year_fraction"])
        sheet.formula(r, c["implied_present_value"], f"{net}*{here('implied_discount_factor')}",
                      net_value * implied_discount, st.formula["per_unit"])
    return discount, implied_discount


def _parts_sum(table: _Table, parts: list[int], col: int) -> str:
    """``SUM`` of a column over the rows of the parts of a cut period (contiguous rows)."""
    return f"SUM({_range(table.first + parts[0], col, table.first + parts[-1])})"


def _fixing_cells(wb: _Workbook, sheet: _Sheet, book, table: _Table, index: int, p) -> None:
    """(b)(9)(ii) on the accrual table (method §13): a payment fixed early shows its fixing
    date and the projection it replaced (inputs); the period ending on a fixing date shows the
    adjustment, ``Σ (fixed − projected before) × discount factor at the due date / discount
    factor at the fixing date`` — the present values of (b)(9)(ii)(A) along the table."""
    st = wb.styles
    c, r = table.col, table.first + index
    if p.fixed_on is not None:
        sheet.date(r, c["fixed_on"], p.fixed_on, st.input["date"])
        sheet.number(r, c["projected_before_fixing"], p.projected_before_fixing, st.input["per_unit"])
    dues = [f.due for f in book.schedule.fixings if f.fixed_on == p.period_end]
    if not dues:
        return
    rows = {q.period_end: table.first + i for i, q in enumerate(book.schedule.periods)}
    terms = [
        f"({_cell(rows[due], c['projected_payment'])}-{_cell(rows[due], c['projected_before_fixing'])})"
        f"*{_cell(rows[due], c['discount_factor'])}" for due in dues
    ]
    sheet.formula(r, c["fixing_adjustment"], f"({'+'.join(terms)})/{_cell(r, c['discount_factor'])}",
                  p.fixing_adjustment, st.formula["per_unit"])


def _days_header(sheet: _Sheet, table: _Table, layout, instrument: Instrument, year: int, st,
                 tick: str) -> None:
    """Under the ``day_count`` daily portion basis the days column holds day-count days
    (method §3): its header says whose, and keeps its tick mark (the lot sheet's
    ``_LotSheet.days_header`` does the same)."""
    if instrument.daily_portion_basis is DailyPortionBasis.CALENDAR_DAYS:
        return
    label = layout.label("days", year=year)
    sheet.header_text(table.header, table.col["days"],
                      f"{label} ({instrument.comparable_yield.day_count.value}) {tick_mark(tick)}",
                      st.header)


# -- validation (method §8) ------------------------------------------------------------------------
def _validation_block(wb: _Workbook, sheet: _Sheet, book, terms: _Terms, table: _Table) -> None:
    """Method §8 on the sheet: the present value of the schedule at the comparable yield is
    the footing of the table's present-value column; less the issue price, and the final AIP,
    are formulas; the implied yield is solved (typed) and proved by the check beside it, the
    present value at that yield less the issue price, which should read 0."""
    t, st = wb.t, wb.styles
    report = book.validation
    periods = book.schedule.periods
    c = table.col
    sheet.text(TOP, VALIDATION_LABEL, t.section("instrument_validation", wb.year), st.section)
    row = TOP

    def check(label_key, writer, *args, tick=None):
        nonlocal row
        row += 1
        sheet.text(row, VALIDATION_LABEL, t.line(label_key, wb.year))
        writer(row, VALIDATION_VALUE, *args)
        if tick:
            sheet.tick(row, VALIDATION_TICK, tick, st)
        return row

    def formula(text, value):
        return lambda r, col: sheet.formula(r, col, text, value, st.formula["per_unit"])

    def column(cid):
        return _range(table.first, c[cid], table.last)

    status = report.status
    check("validation_status", sheet.text, status, st.banner_ok if status == "OK" else st.banner_bad)
    pv_row = check("present_value", formula(f"SUM({column('present_value')})", _footing(periods)),
                   tick="footed")
    check("pv_difference", formula(f"{_cell(pv_row, VALIDATION_VALUE)}-{terms.issue_price}",
                                   _footing(periods) - report.issue_price), tick="recomputed")
    final = periods[-1].adjusted_issue_price_end if periods else 0.0
    check("final_aip", formula(_cell(table.last, c["aip_end"]), final), tick="recomputed")
    if report.implied_yield_pct is None:
        implied_row = check("implied_yield", sheet.text, "n/a", st.text_input)
        check("implied_check", sheet.text, "n/a", st.text_input)
    else:
        implied_row = check("implied_yield", sheet.number, report.implied_yield_pct / 100.0, st.input["percent"])
        check("implied_check", formula(
            f"SUM({column('implied_present_value')})-{terms.issue_price}",
            _implied_footing(periods, report.implied_yield_pct / 100.0) - report.issue_price), tick="check")
    assert implied_row == IMPLIED_YIELD_ROW, "the table's implied discount factors refer to it"
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


def _footing(periods) -> float:
    """The present value column's total, as the engine sums it (validation._present_value);
    a (b)(9)(ii)(A) adjustment counts as a negative payment (method §13)."""
    discount, pv = 1.0, 0.0
    for p in periods:
        discount /= 1.0 + p.rate
        pv += (p.projected_payment - p.fixing_adjustment) * discount
    return pv


def _implied_footing(periods, implied: float) -> float:
    parts = _split_parts(periods)
    discount, pv = 1.0, 0.0
    for index, p in enumerate(periods):
        if index in parts:
            whole = sum(periods[i].year_fraction for i in parts[index])
            discount /= (1.0 + implied * whole) ** (p.year_fraction / whole)
        else:
            discount /= 1.0 + implied * p.year_fraction
        pv += (p.projected_payment - p.fixing_adjustment) * discount
    return pv


# -- disclosure ------------------------------------------------------------------------------------
def disclosure_sentences(instrument: Instrument, report) -> list[str]:
    """One sentence per departure of the schedule used from the issuer's as printed (method
    §8), each naming the instrument: a residual outside tolerance the user accepted (its
    present value difference and final AIP per unit), and each single payment the validation
    found would close the schedule (its period, the printed figure and the closing one)."""
    iid = instrument.instrument_id
    sentences = []
    if report.status == "ACCEPTED":
        sentences.append(
            f"{iid}: the issuer's projected payment schedule does not produce its comparable "
            f"yield of {report.comparable_yield_pct:.4f}% within the tolerance of "
            f"{report.tolerance:.6f} per unit ((b)(4)(ii)(C)): its present value less the issue "
            f"price is {report.pv_difference:+.6f} and its final adjusted issue price "
            f"{report.final_adjusted_issue_price:+.6f} per unit of {instrument.unit_principal:,.2f} "
            "principal; the residual was accepted (method §8) and the accruals use the schedule "
            "as printed."
        )
    for c in report.corrections:
        text = (f"{iid}: the projected payment of period {c.period_number} due "
                f"{c.period_end.isoformat()} is printed as {c.printed:.4f}; {c.corrected:.4f} "
                "would close the schedule (a final adjusted issue price of 0)")
        if c.looks_like:
            text += f", which looks like a typing error: {c.looks_like}"
        text += ("; the accruals keep the printed figure." if report.accepted else ".")
        sentences.append(text)
    return sentences


def _disclosure_block(wb: _Workbook, sheet: _Sheet, sentences: list[str], row: int,
                      widths: list[float]) -> None:
    """The disclosure sentences under the terms and validation, each across the sheet's
    columns, wrapped (a sentence is often wider than the page)."""
    sheet.text(row, 0, wb.t.line("disclosure", wb.year), wb.styles.section)
    last = max(0, len(widths) - 1)
    for offset, sentence in enumerate(sentences, start=1):
        wrapped_across(sheet, row + offset, 0, last, sentence, wb.styles.wrapped, widths)


# -- chart -----------------------------------------------------------------------------------------
def _aip_chart(wb: _Workbook, sheet: _Sheet, table: _Table, at: int) -> None:
    """The payment at maturity (projected, and actual where known) as columns on the left
    axis, the scale of the principal, with a line of the adjusted issue price; the projected
    and known actual payments before maturity as columns on a second axis on the right, where
    coupons of 10–30 per 1,000 are visible beside a final payment of 1,000 and more.  The
    maturity columns are series over the whole payment column with every point but the last
    left unpainted, so that every series shares the table's period-end categories.  Series
    names are the template's, never input text.

    XlsxWriter gives a combined chart's series one axis pair, so the columns, on both axes,
    are the primary chart and the line is combined onto its left axis."""
    t, name = wb.t, sheet.name
    first, last, col = table.first, table.last, table.col

    def series_range(key, row1=last):
        return [name, first, col[key], row1, col[key]]

    categories = series_range("period_end")
    bars = wb.book.add_chart({"type": "column"})
    unpainted = {"fill": {"none": True}, "border": {"none": True}}
    for key, label in (("projected_payment", "chart_final_projected"),
                       ("actual_payment", "chart_final_actual")):
        bars.add_series({
            "name": wb.safe(t.line(label, wb.year)), "categories": categories,
            "values": series_range(key), "points": [unpainted] * (last - first) + [None],
        })
    if last > first:  # payments before maturity, on the right axis
        for key, label in (("projected_payment", "chart_projected"), ("actual_payment", "chart_actual")):
            bars.add_series({
                "name": wb.safe(t.line(label, wb.year)),
                "categories": series_range("period_end", last - 1),
                "values": series_range(key, last - 1), "y2_axis": True,
            })
        bars.set_y2_axis({"num_format": "#,##0.00"})
    line = wb.book.add_chart({"type": "line"})
    line.add_series({
        "name": wb.safe(t.line("chart_aip", wb.year)), "categories": categories,
        "values": series_range("aip_end"), "line": {"width": 2.0},
    })
    bars.combine(line)
    # a literal title (the section title from the template): LibreOffice shows a title that
    # refers to a cell as "Chart Title"
    bars.set_title({"name": wb.safe(t.section("instrument_chart", wb.year)), "name_font": {"size": 11}})
    bars.set_x_axis({"date_axis": True, "num_format": "yyyy-mm", "num_font": {"rotation": -45}})
    bars.set_y_axis({"num_format": "#,##0"})
    bars.set_legend({"position": "bottom"})
    bars.set_size({"width": 960, "height": CHART_HEIGHT})
    sheet.ws.insert_chart(at + 1, 0, bars)

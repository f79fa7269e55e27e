"""A lot sheet: the lot's year as the method computes it, each line a formula citing the
paragraph it implements — days held (b)(3)(iii), payments and adjustments (b)(6)(i), (b)(9)(i)
allocations, the annual netting (b)(6)(ii)–(iii), the basis roll-forward (b)(7)(iii) and the
disposition (b)(7)(iv)–(v), (b)(8) — and the check that the sheet reproduces the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cpdi.engine.holding import Ending
from cpdi.engine.ledger import LotLedger, LotYear, contingent_payment_remains
from cpdi.writers.workpapers.cells import (
    CHECK_TOLERANCE, KV_LABEL, KV_NOTE, KV_PARAGRAPH, KV_VALUE, WorkpaperError, _Workbook, _cell,
    _day_count_days_header, _range, _rc, _weight_format, _widths,
)
from cpdi.writers.workpapers.instrument_sheet import _InstrumentCells

# -- what a lot sheet exposes to the cover -------------------------------------------------------
@dataclass
class _LotCells:
    """Cells of one lot sheet the Cover and Lots sheets add up (refs like ``'Lot L-1'!G40``)."""

    ledger: LotLedger
    row: LotYear
    sheet: str
    refs: dict  # figure -> (ref, value)
    days_ref: str


FIGURES_ALWAYS = ("interest_income", "ordinary_loss", "carryforward_out", "adjusted_basis_end")
FIGURES_DISPOSITION = (
    "consideration", "carryforward_applied", "amount_realized", "adjusted_basis", "gain_loss",
    "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
)


ACCRUAL_KINDS = {
    "period": "integer", "period_start": "date", "period_end": "date", "held_from": "date",
    "held_through": "date", "days": "integer", "daily_portion": "per_unit", "accrued": "money",
    "allocation_per_day": "per_unit", "allocation": "money", "allocation_positive": "money",
    "allocation_negative": "money",
}
PAYMENT_KINDS = {
    "date": "date", "period": "integer", "payment_type": "text", "projected_per_unit": "per_unit",
    "actual_per_unit": "per_unit", "projected": "money", "actual": "money", "adjustment": "money",
    "positive": "money", "negative": "money", "reduces_basis": "money", "note": "note",
}
ALLOCATION_KINDS = {
    "date": "date", "description": "text", "amount": "money", "positive": "money",
    "negative": "money",
}

# -- lot sheet ------------------------------------------------------------------------------------
def _lot_sheet(wb: _Workbook, ledger: LotLedger, row: LotYear, book, inst: _InstrumentCells) -> _LotCells:
    """The lot's year as the method computes it, each line a formula citing its paragraph."""
    t, st, year = wb.t, wb.styles, wb.year
    lot = ledger.lot
    schedule = book.schedule
    periods = schedule.periods
    units = ledger.units
    sheet = wb.add_sheet(t.sheet("lot", lot_id=lot.lot_id, instrument_id=lot.instrument_id))
    wb.title_rows(sheet, f"{t.section('lot_title', year)} {lot.lot_id} — {lot.instrument_id}")
    money, per_unit = st.formula["money"], st.formula["per_unit"]
    r = 4

    def kv(label, paragraph="", note=""):
        nonlocal r
        sheet.text(r, KV_LABEL, label)
        sheet.text(r, KV_PARAGRAPH, paragraph, st.paragraph)
        sheet.text(r, KV_NOTE, note, st.note)
        r += 1
        return r - 1

    def value_line(label, value, fmt, paragraph="", note=""):
        at = kv(label, paragraph, note)
        if isinstance(value, str):
            sheet.text(at, KV_VALUE, value, fmt)
        elif isinstance(value, bool):
            sheet.boolean(at, KV_VALUE, value, fmt)
        elif isinstance(value, date):
            sheet.date(at, KV_VALUE, value, fmt)
        else:
            sheet.number(at, KV_VALUE, value, fmt)
        return _cell(at, KV_VALUE)

    def formula_line(label, formula, value, fmt, paragraph="", note=""):
        at = kv(label, paragraph, note)
        return sheet.formula(at, KV_VALUE, formula, value, fmt)

    # -- the lot and its (b)(9)(i) difference ---------------------------------------------------
    sheet.text(r, 0, t.section("lot_terms", year), st.section)
    r += 1
    value_line(t.line("lot_id", year), lot.lot_id, st.text_input)
    value_line(t.line("holder", year), lot.holder_id, st.text_input)
    value_line(t.line("instrument", year), lot.instrument_id, st.text_input)
    principal = value_line(t.line("principal", year), lot.principal_amount, st.input["money"])
    unit = formula_line(t.line("unit_principal", year), inst.unit_principal,
                        book.instrument.unit_principal, per_unit, "", f"from {inst.unit_principal}")
    units_ref = formula_line(t.line("units", year), f"{principal}/{unit}", units, st.formula["units"],
                             "method §4")
    value_line(t.line("acquisition_date", year), lot.acquisition_date, st.input["date"])
    cost = value_line(t.line("cost_basis", year), lot.cost_basis, st.input["money"])
    ending = ledger.holding.ending
    value_line(t.line("ending", year), ending.value if row.disposition_date else "held", st.text_input,
               "(b)(7)", "" if row.disposition_date else f"held at the end of {year}")
    if row.disposition_date is not None:
        value_line(t.line("disposition_date", year), row.disposition_date, st.input["date"])
    proceeds = None
    if lot.proceeds is not None and ending is Ending.SALE:
        proceeds = value_line(t.line("sale_proceeds", year), lot.proceeds, st.input["money"])
    value_line(t.line("basis_allocation", year), lot.basis_allocation.value, st.text_input, "(b)(9)(i)(A)",
               "method §6")
    if ledger.allocation.holder_yield is not None:
        value_line(t.line("holder_yield", year), ledger.allocation.holder_yield, st.input["percent"],
                   "(b)(9)(i)(F)", "given" if lot.holder_yield_pct is not None else "solved: nothing left to maturity")
    if lot.allocate_to_maturity:
        value_line(t.line("allocate_to_maturity", year), lot.allocate_to_maturity, st.input["money"],
                   "(b)(9)(i)(F)")
    aip_a = schedule.adjusted_issue_price(lot.acquisition_date)
    aip_ref = value_line(t.line("aip_at_acquisition", year), aip_a, st.input["per_unit"], "(b)(7)(ii)",
                         "issue price + daily portions before A − projected payments before A")
    formula_line(t.line("basis_difference", year), f"{aip_ref}*{units_ref}-{cost}",
                 aip_a * units - lot.cost_basis, money, "(b)(9)(i)(A)",
                 "> 0 discount: positive adjustments; < 0 premium: negative adjustments")
    days_ref = value_line(t.line("days_held", year), row.days_held, st.input["integer"], "method §4",
                          "ledger days_held")
    r += 1

    # -- accrual: one row per held piece of an accrual period ----------------------------------
    layout = t.tables["accrual"]
    c, r = sheet.start_table(r, t.section("lot_accrual", year), layout, year, st)
    _day_count_days_header(sheet, r - 1, c, layout, schedule.instrument, year, st)
    segments = [s for s in ledger.segments if s.year == year]
    seg_first = r
    accrued_values, alloc_values = [], []
    for seg in segments:
        p = periods[seg.period_index]
        sheet.number(r, c["period"], p.number, st.input["integer"])
        sheet.date(r, c["period_start"], p.period_start, st.input["date"])
        sheet.date(r, c["period_end"], p.period_end, st.input["date"])
        sheet.date(r, c["held_from"], seg.first_day, st.input["date"])
        sheet.date(r, c["held_through"], seg.last_day, st.input["date"])
        sheet.number(r, c["days"], seg.weighted_days, _weight_format(st, seg.weighted_days))
        sheet.formula(r, c["daily_portion"], inst.daily_portion[seg.period_index], p.daily_portion, per_unit)
        days, daily = _cell(r, c["days"]), _cell(r, c["daily_portion"])
        accrued = p.daily_portion * seg.weighted_days * units
        accrued_values.append(accrued)
        sheet.formula(r, c["accrued"], f"{days}*{daily}*{units_ref}", accrued, money)
        per_day = ledger.allocation.per_day[seg.period_index]
        sheet.number(r, c["allocation_per_day"], per_day, st.input["per_unit"])
        share = per_day * seg.weighted_days
        alloc_values.append(share)
        sheet.formula(r, c["allocation"], f"{days}*{_cell(r, c['allocation_per_day'])}", share, money)
        alloc = _cell(r, c["allocation"])
        sheet.formula(r, c["allocation_positive"], f"MAX({alloc},0)", max(share, 0.0), money)
        sheet.formula(r, c["allocation_negative"], f"MAX(-{alloc},0)", max(-share, 0.0), money)
        r += 1
    seg_last = r - 1
    if not segments:
        sheet.text(r, 0, t.line("no_rows", year), st.note)
        r += 1

    def column_total(first_row, last_row, column, values, fmt=None):
        if last_row < first_row:
            return sheet.formula(r, column, "0", 0.0, fmt or st.total["money"])
        return sheet.formula(r, column, f"SUM({_range(first_row, column, last_row)})", sum(values),
                             fmt or st.total["money"])

    sheet.text(r, 0, t.line("total", year), st.bold)
    column_total(seg_first, seg_last, c["days"], [s.weighted_days for s in segments], st.total["integer"])
    accrued_total = column_total(seg_first, seg_last, c["accrued"], accrued_values)
    alloc_total = column_total(seg_first, seg_last, c["allocation"], alloc_values)
    alloc_pos_total = column_total(seg_first, seg_last, c["allocation_positive"],
                                   [max(v, 0.0) for v in alloc_values])
    alloc_neg_total = column_total(seg_first, seg_last, c["allocation_negative"],
                                   [max(-v, 0.0) for v in alloc_values])
    r += 2

    # -- payments received and their adjustments -------------------------------------------
    layout = t.tables["payments"]
    c, r = sheet.start_table(r, t.section("lot_payments", year), layout, year, st)
    payments = [p for p in ledger.payments if p.date.year == year]
    pay_first = r
    final_projected_ref = None
    pos_values, neg_values, reduce_values, projected_values = [], [], [], []
    maturity = book.instrument.maturity_date
    for payment in payments:
        period = periods[payment.period_index]
        actual_per_unit = book.actuals.scheduled.get(payment.date)
        if actual_per_unit is None:
            actual_per_unit = period.projected_payment
        is_final = ending is Ending.MATURITY and payment.date == maturity
        sheet.date(r, c["date"], payment.date, st.input["date"])
        sheet.number(r, c["period"], period.number, st.input["integer"])
        sheet.text(r, c["payment_type"], payment.payment_type.value, st.text_input)
        sheet.formula(r, c["projected_per_unit"], inst.projected[payment.period_index],
                      period.projected_payment, per_unit)
        sheet.number(r, c["actual_per_unit"], actual_per_unit, st.input["per_unit"])
        ppu, apu = _cell(r, c["projected_per_unit"]), _cell(r, c["actual_per_unit"])
        projected = period.projected_payment * units
        actual = actual_per_unit * units
        sheet.formula(r, c["projected"], f"{ppu}*{units_ref}", projected, money)
        sheet.formula(r, c["actual"], f"{apu}*{units_ref}", actual, money)
        proj, act = _cell(r, c["projected"]), _cell(r, c["actual"])
        adjustment = actual - projected
        sheet.formula(r, c["adjustment"], f"{act}-{proj}", adjustment, money)
        adj = _cell(r, c["adjustment"])
        sheet.formula(r, c["positive"], f"MAX({adj},0)", max(adjustment, 0.0), money)
        sheet.formula(r, c["negative"], f"MAX(-{adj},0)", max(-adjustment, 0.0), money)
        pos_values.append(max(adjustment, 0.0))
        neg_values.append(max(-adjustment, 0.0))
        projected_values.append(projected)
        notes = []
        if is_final:
            sheet.number(r, c["reduces_basis"], 0.0, st.input["money"])
            reduce_values.append(0.0)
            final_projected_ref = proj
            notes.append(t.line("final_payment", year) + " (b)(7)(iv)")
        else:
            sheet.formula(r, c["reduces_basis"], proj, projected, money)
            reduce_values.append(projected)
        if not payment.actual_supplied:
            notes.append("fixed payment with no actual row: taken as paid at its projection (method §5)")
        sheet.text(r, c["note"], "; ".join(notes), st.note)
        r += 1
    pay_last = r - 1
    if not payments:
        sheet.text(r, 0, t.line("no_rows", year), st.note)
        r += 1
    sheet.text(r, 0, t.line("total", year), st.bold)
    column_total(pay_first, pay_last, c["projected"], projected_values)
    column_total(pay_first, pay_last, c["actual"], [p.actual for p in payments])
    column_total(pay_first, pay_last, c["adjustment"], [a - b for a, b in zip([p.actual for p in payments], projected_values)])
    pay_pos_total = column_total(pay_first, pay_last, c["positive"], pos_values)
    pay_neg_total = column_total(pay_first, pay_last, c["negative"], neg_values)
    reduces_total = column_total(pay_first, pay_last, c["reduces_basis"], reduce_values)
    r += 2

    # -- (b)(9)(i) allocations to a payment ---------------------------------------------------
    point_totals = None
    point_values = []
    if ledger.allocation.at_dates:
        layout = t.tables["allocations"]
        c, r = sheet.start_table(r, t.section("lot_allocations", year), layout, year, st)
        point_first = r
        holding = ledger.holding
        for on, amount in ledger.allocation.at_dates:
            if not (holding.holds(on) and on <= holding.last_day and on.year == year):
                continue
            sheet.date(r, c["date"], on, st.input["date"])
            what = "payment at maturity" if on == maturity else "payment due"
            sheet.text(r, c["description"], f"{what} (b)(9)(i)(B)/(C)", st.text)
            sheet.number(r, c["amount"], amount, st.input["money"])
            amt = _cell(r, c["amount"])
            sheet.formula(r, c["positive"], f"MAX({amt},0)", max(amount, 0.0), money)
            sheet.formula(r, c["negative"], f"MAX(-{amt},0)", max(-amount, 0.0), money)
            point_values.append(amount)
            r += 1
        point_last = r - 1
        if point_last < point_first:
            sheet.text(r, 0, t.line("no_rows", year), st.note)
            r += 1
        sheet.text(r, 0, t.line("total", year), st.bold)
        point_totals = (
            column_total(point_first, point_last, c["amount"], point_values),
            column_total(point_first, point_last, c["positive"], [max(v, 0.0) for v in point_values]),
            column_total(point_first, point_last, c["negative"], [max(-v, 0.0) for v in point_values]),
        )
        r += 2

    # -- annual netting (b)(6)(ii)-(iii), method §5 ---------------------------------------------
    earlier = [y for y in ledger.years if y.tax_year < year]
    prior_inclusions = 0.0
    prior_losses = 0.0
    for y in earlier:  # the engine's running sums, in its order
        prior_inclusions += y.interest_income
        prior_losses += y.ordinary_loss
    disposed = row.disposition_date is not None

    sheet.text(r, 0, t.section("lot_netting", year), st.section)
    r += 1
    accrued = formula_line(t.line("interest_accrued", year), accrued_total, row.interest_accrued, money,
                           "(b)(3)(iii)", "total of the accrual table")
    pos_parts = [pay_pos_total, alloc_pos_total] + ([point_totals[1]] if point_totals else [])
    neg_parts = [pay_neg_total, alloc_neg_total] + ([point_totals[2]] if point_totals else [])
    positive = formula_line(t.line("positive_adjustments", year), "+".join(pos_parts),
                            row.positive_adjustments, money, "(b)(6)(i); (b)(9)(i)(B)",
                            "payments + daily allocations" + (" + allocations to payments" if point_totals else ""))
    negative = formula_line(t.line("negative_adjustments", year), "+".join(neg_parts),
                            row.negative_adjustments, money, "(b)(6)(i); (b)(9)(i)(C)",
                            "payments + daily allocations" + (" + allocations to payments" if point_totals else ""))
    carry_in = value_line(t.line("carryforward_in", year), row.carryforward_in, st.input["money"],
                          "(b)(6)(iii)(C)", "negative adjustment on 1 January")
    net_value = row.positive_adjustments - row.negative_adjustments - row.carryforward_in
    net = formula_line(t.line("net_adjustment", year), f"{positive}-{negative}-{carry_in}", net_value,
                       money, "(b)(6)(ii)")
    net_pos = formula_line(t.line("net_positive_adjustment", year), f"MAX({net},0)",
                           row.net_positive_adjustment, money, "(b)(6)(ii)(A)", "additional interest")
    nna = formula_line(t.line("net_negative_adjustment", year), f"MAX(-{net},0)",
                       row.net_negative_adjustment, money, "(b)(6)(iii)")
    reduction = formula_line(t.line("interest_reduction", year), f"MIN({nna},MAX({accrued},0))",
                             row.interest_reduction, money, "(b)(6)(iii)(A)",
                             "MIN(net negative, interest accrued)")
    income = formula_line(t.line("netted_interest_income", year), f"{accrued}+{net_pos}-{reduction}",
                          row.interest_income, st.result, "(b)(6)(ii)(A); (b)(6)(iii)(A)",
                          "accrued + net positive − reduction")
    prior_inc = value_line(t.line("prior_inclusions", year), prior_inclusions, st.input["money"],
                           "(b)(6)(iii)(B)", f"ledger {earlier[0].tax_year}–{year - 1}" if earlier else "none")
    prior_ol = value_line(t.line("prior_ordinary_losses", year), prior_losses, st.input["money"],
                          "(b)(6)(iii)(B)", f"ledger {earlier[0].tax_year}–{year - 1}" if earlier else "none")
    ordinary = formula_line(
        t.line("netted_ordinary_loss", year),
        f"MIN({nna}-{reduction},MAX(0,{prior_inc}+{income}-{prior_ol}))", row.ordinary_loss,
        st.result, "(b)(6)(iii)(B)", "MIN(net negative − reduction, inclusions − earlier ordinary losses)")
    carry_out_row = kv(t.line("netted_carryforward_out", year), "(b)(6)(iii)(C)",
                       "net negative − reduction − ordinary loss"
                       + (" − carryforward used in the amount realized" if disposed else ""))
    leftover_formula = f"{nna}-{reduction}-{ordinary}"
    leftover = row.net_negative_adjustment - row.interest_reduction - row.ordinary_loss
    r += 1

    # -- basis roll-forward (b)(7)(iii) --------------------------------------------------------
    sheet.text(r, 0, t.section("lot_basis", year), st.section)
    r += 1
    if year == lot.acquisition_date.year:
        start = formula_line(t.line("basis_start", year), cost, row.adjusted_basis_start, money,
                             "(b)(7)(iii)", "cost basis")
    else:
        start = value_line(t.line("basis_start", year), row.adjusted_basis_start, st.input["money"],
                           "(b)(7)(iii)", f"ledger {year - 1}: adjusted basis at the end")
    basis_accrued = formula_line(t.line("basis_accrued", year), accrued, row.interest_accrued, money,
                                 "(b)(7)(iii)")
    alloc_formula = alloc_total + (f"+{point_totals[0]}" if point_totals else "")
    basis_alloc = formula_line(t.line("basis_allocations", year), alloc_formula,
                               row.allocation_adjustments, money, "(b)(9)(i)(B)–(C)")
    basis_projected = formula_line(t.line("basis_projected", year), reduces_total,
                                   row.projected_payments_received, money, "(b)(7)(iii)",
                                   "payments received, at their projected amounts")
    basis_end = formula_line(
        t.line("basis_before_disposition" if disposed else "basis_end", year),
        f"{start}+{basis_accrued}+{basis_alloc}-{basis_projected}", row.adjusted_basis_end,
        st.result, "(b)(7)(iii)")
    r += 1

    refs = {
        "interest_income": (sheet.ref(*_rc(income)), row.interest_income),
        "ordinary_loss": (sheet.ref(*_rc(ordinary)), row.ordinary_loss),
        "carryforward_out": (sheet.ref(carry_out_row, KV_VALUE), row.carryforward_out),
        "adjusted_basis_end": (sheet.ref(*_rc(basis_end)), row.adjusted_basis_end),
    }

    # -- disposition (b)(7)(iv)-(v), (b)(6)(iii)(C), (b)(8) -----------------------------------
    mine = {}
    if disposed:
        sheet.text(r, 0, t.section("lot_disposition", year), st.section)
        r += 1
        value_line(t.line("ending", year), ending.value, st.text_input,
                   {"sale": "(b)(7)", "call": "(b)(7)(v)", "maturity": "(b)(7)(iv)"}.get(ending.value, ""))
        if ending is Ending.SALE:
            consideration = formula_line(t.line("consideration_sale", year), proceeds or "0",
                                         row.consideration, money, "(b)(7)")
        elif ending is Ending.CALL:
            rpu = value_line(t.line("redemption_per_unit", year), book.actuals.redemption_amount or 0.0,
                             st.input["per_unit"], "(b)(7)(v)", "payments file, kind redemption")
            consideration = formula_line(t.line("consideration_call", year), f"{rpu}*{units_ref}",
                                         row.consideration, money, "(b)(7)(v)")
        else:
            consideration = formula_line(t.line("consideration_maturity", year),
                                         final_projected_ref or "0", row.consideration, money,
                                         "(b)(7)(iv)", "the final payment's projected amount")
        applied = formula_line(t.line("disposition_carryforward", year), leftover_formula, leftover,
                               money, "(b)(6)(iii)(C)", "net negative − reduction − ordinary loss")
        realized = formula_line(t.line("disposition_amount_realized", year), f"{consideration}-{applied}",
                                row.amount_realized, money, "(b)(6)(iii)(C)")
        basis = formula_line(t.line("disposition_basis", year), basis_end, row.adjusted_basis_end, money,
                             "(b)(7)(iii)")
        gain = formula_line(t.line("disposition_gain_loss", year), f"{realized}-{basis}", row.gain_loss,
                            money, "(b)(8)")
        remains_value = contingent_payment_remains(schedule, row.disposition_date)
        remains = value_line(t.line("contingent_remains", year), remains_value, st.bool_input,
                             "(b)(8)(iii)", "under the projected payment schedule")
        total_inc = formula_line(t.line("total_inclusions", year), f"{prior_inc}+{income}",
                                 prior_inclusions + row.interest_income, money, "(b)(8)(ii)")
        total_ol = formula_line(t.line("total_ordinary_losses", year), f"{prior_ol}+{ordinary}",
                                prior_losses + row.ordinary_loss, money, "(b)(8)(ii)")
        oi = formula_line(t.line("disposition_ordinary_income", year), f"IF({remains},MAX({gain},0),0)",
                          row.ordinary_income_on_disposition, st.result, "(b)(8)(i)")
        ol = formula_line(
            t.line("disposition_ordinary_loss", year),
            f"IF({remains},MIN(MAX(-{gain},0),MAX(0,{total_inc}-{total_ol})),0)",
            row.ordinary_loss_on_disposition, st.result, "(b)(8)(ii)")
        cl = formula_line(t.line("disposition_capital_loss", year), f"MAX(-{gain},0)-{ol}",
                          row.capital_loss_on_disposition, st.result, "(b)(8)(ii); (b)(8)(iii)")
        cg = formula_line(t.line("disposition_capital_gain", year), f"IF({remains},0,MAX({gain},0))",
                          row.capital_gain_on_disposition, st.result, "(b)(8)(iii)")
        sheet.formula(carry_out_row, KV_VALUE, f"{leftover_formula}-{applied}", row.carryforward_out, st.result)
        for key, ref, value in (
            ("consideration", consideration, row.consideration),
            ("carryforward_applied", applied, leftover),
            ("amount_realized", realized, row.amount_realized),
            ("adjusted_basis", basis, row.adjusted_basis_end),
            ("gain_loss", gain, row.gain_loss),
            ("ordinary_income_on_disposition", oi, row.ordinary_income_on_disposition),
            ("ordinary_loss_on_disposition", ol, row.ordinary_loss_on_disposition),
            ("capital_loss_on_disposition", cl, row.capital_loss_on_disposition),
            ("capital_gain_on_disposition", cg, row.capital_gain_on_disposition),
        ):
            refs[key] = (sheet.ref(*_rc(ref)), value)
        mine = _disposition_check(row, leftover, prior_inclusions, prior_losses, remains_value,
                                  final_projected_ref is not None or ending is not Ending.MATURITY,
                                  book, units, lot)
    else:
        sheet.formula(carry_out_row, KV_VALUE, leftover_formula, row.carryforward_out, st.result)

    _check_lot(row, ledger, segments, payments, point_values, book, units, earlier, mine)

    kinds = [
        [ACCRUAL_KINDS[cid] for cid in t.tables["accrual"].order],
        [PAYMENT_KINDS[cid] for cid in t.tables["payments"].order],
        [ALLOCATION_KINDS[cid] for cid in t.tables["allocations"].order],
    ]
    widths = _widths(t, kinds, {KV_VALUE: t.widths["money"]})
    wb.print_setup(sheet, (0, 2), 3, widths)
    return _LotCells(ledger, row, sheet.name, refs, sheet.ref(*_rc(days_ref)))



# -- the workpaper must reproduce the engine ------------------------------------------------------
def _disposition_check(row, leftover, prior_inc, prior_ol, remains, has_consideration, book, units, lot):
    """The disposition lines as the formulas compute them, from the inputs the sheet shows."""
    if not has_consideration:
        consideration = 0.0
    elif row.ending == "sale":
        consideration = lot.proceeds or 0.0
    elif row.ending == "call":
        consideration = (book.actuals.redemption_amount or 0.0) * units
    else:
        consideration = book.schedule.periods[-1].projected_payment * units
    realized = consideration - leftover
    gain = realized - row.adjusted_basis_end
    total_inc = prior_inc + row.interest_income
    total_ol = prior_ol + row.ordinary_loss
    oi = max(gain, 0.0) if remains else 0.0
    ol = min(max(-gain, 0.0), max(0.0, total_inc - total_ol)) if remains else 0.0
    return {
        "amount_realized": realized, "gain_loss": gain,
        "ordinary_income_on_disposition": oi, "ordinary_loss_on_disposition": ol,
        "capital_loss_on_disposition": max(-gain, 0.0) - ol,
        "capital_gain_on_disposition": 0.0 if remains else max(gain, 0.0),
    }


def _check_lot(row: LotYear, ledger, segments, payments, point_values, book, units, earlier, disposition) -> None:
    """Recompute the sheet's chain from the inputs it shows, exactly as its formulas do, and
    insist it lands on the engine's ledger row: a workpaper that does not tie out is never
    written."""
    periods = book.schedule.periods
    accrued = sum(periods[s.period_index].daily_portion * s.weighted_days * units for s in segments)
    allocations = [ledger.allocation.per_day[s.period_index] * s.weighted_days for s in segments]
    adjustments = []
    reduces = 0.0
    for payment in payments:
        period = periods[payment.period_index]
        actual = book.actuals.scheduled.get(payment.date, period.projected_payment)
        adjustments.append(actual * units - period.projected_payment * units)
        if not (ledger.holding.ending is Ending.MATURITY and payment.date == book.instrument.maturity_date):
            reduces += period.projected_payment * units
    parts = adjustments + allocations + list(point_values)
    positive = sum(max(v, 0.0) for v in parts)
    negative = sum(max(-v, 0.0) for v in parts)
    net = positive - negative - row.carryforward_in
    net_pos, nna = max(net, 0.0), max(-net, 0.0)
    reduction = min(nna, max(accrued, 0.0))
    income = accrued + net_pos - reduction
    prior_inc = sum(y.interest_income for y in earlier)
    prior_ol = sum(y.ordinary_loss for y in earlier)
    ordinary = min(nna - reduction, max(0.0, prior_inc + income - prior_ol))
    leftover = nna - reduction - ordinary
    basis = row.adjusted_basis_start + accrued + sum(allocations) + sum(point_values) - reduces
    mine = {
        "interest_accrued": accrued, "positive_adjustments": positive,
        "negative_adjustments": negative, "net_positive_adjustment": net_pos,
        "net_negative_adjustment": nna, "interest_reduction": reduction,
        "interest_income": income, "ordinary_loss": ordinary,
        "carryforward_out": 0.0 if row.disposition_date else leftover,
        "adjusted_basis_end": basis,
        "allocation_adjustments": sum(allocations) + sum(point_values),
        "projected_payments_received": reduces,
        **disposition,
    }
    if earlier:
        mine["adjusted_basis_start"] = earlier[-1].adjusted_basis_end
        mine["carryforward_in"] = earlier[-1].carryforward_out
    for name, value in mine.items():
        engine = getattr(row, name)
        if abs(value - engine) > CHECK_TOLERANCE:
            raise WorkpaperError(
                f"workpaper for lot {row.lot_id} ({row.tax_year}) does not reproduce the engine's "
                f"{name}: sheet {value:.6f}, engine {engine:.6f}; please report this"
            )



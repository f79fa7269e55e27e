"""A lot sheet: the lot from its acquisition through the tax year as the method computes it,
every figure a formula citing the paragraph it implements, so a reviewer can re-perform it.

Blocks, top to bottom (each a method of :class:`_LotSheet`)::

    terms         the lot, the adjusted issue price on the acquisition date as a formula of the
                  instrument sheet's accrual table, and the (b)(9)(i) difference
    opening       a lot taken over mid-life (``Lot.opens_later``, method §14): the state on
                  1 January of its opening year, typed from lots.csv — adjusted basis,
                  carryforward, interest inclusions and ordinary losses before that year —
                  from which every table below starts instead of the cost and zeros
    plan          the (b)(9)(i) allocation of the difference over the remaining term, as
                  formulas of the difference and the daily portions (method §6)
    accrual       every held piece of an accrual period since acquisition (or since the
                  opening balances) (b)(3)(iii), with its daily allocation (b)(9)(i)(B)–(C)
    payments      every payment received since then and its adjustment (b)(6)(i)
    points        (b)(9)(i) allocations to a payment (the payment at maturity)
    roll-forward  one row per year since then: sums of the tables above, the netting
                  (b)(6)(ii)–(iii) and the basis (b)(7)(iii); earlier years are computed there,
                  the tax year's row links to the blocks below
    netting       the tax year's netting, its carryforward in and earlier inclusions and
                  ordinary losses taken from the roll-forward
    basis         the tax year's adjusted basis roll-forward (b)(7)(iii)
    disposition   (b)(7)(iv)–(v), (b)(6)(iii)(C), (b)(8); a conversion into stock shows the
                  stock's fair market value and the cash (inputs), their sum as the
                  consideration, and the stock's basis and the day its holding period begins
                  (method §7; Rev. Rul. 2002-31)

Nothing the Cover shows rests on a number the engine typed in: the inputs are the instrument's
terms and schedule, the lot (with its opening balances, for a lot taken over mid-life), the
actual payments and the dates of the days held.  The solved
holder yield of the ``yield`` method is the one computed value, with a check cell beside it.
Before the workbook is written, :func:`_check_lot` recomputes every year of the sheet from the
inputs it shows, as its formulas do, and insists it lands on the engine's ledger.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from cpdi.engine.basis_allocation import accruing_days
from cpdi.engine.holding import Ending, HeldSegment
from cpdi.engine.ledger import (
    LotLedger, LotYear, PaymentReceived, contingent_payment_remains, days_computed,
)
from cpdi.model import BasisAllocationMethod, DailyPortionBasis, PaymentType
from cpdi.writers.workpapers.cells import (
    CHECK_TOLERANCE, KV_LABEL, KV_NOTE, KV_PARAGRAPH, KV_TICK, KV_VALUE, WorkpaperError, _Workbook,
    _cell, _range, _rc, _serial, _weight_format, _widths, tick_mark,
)
from cpdi.writers.template import TableLayout
from cpdi.writers.workpapers.instrument_sheet import _InstrumentCells

_ONE_DAY = timedelta(days=1)


# -- what a lot sheet exposes to the cover -------------------------------------------------------
@dataclass
class _LotCells:
    """Cells of one lot sheet the Cover and Lots sheets add up (refs like ``'Lot L-1'!G40``)."""

    ledger: LotLedger
    row: LotYear
    sheet: str
    refs: dict  # figure -> (ref, value)
    days_ref: str
    # "acquired" / "disposed" (settlement dates), "acquired_trade" / "disposed_trade" (trade
    # dates, when lots.csv gives them), "stock_held_from" (a conversion) -> (ref, the date there)
    dates: dict = field(default_factory=dict)


FIGURES_ALWAYS = ("interest_income", "ordinary_loss", "carryforward_out", "adjusted_basis_end")
FIGURES_DISPOSITION = (
    "consideration", "carryforward_applied", "amount_realized", "adjusted_basis", "gain_loss",
    "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
)


# the paragraph each way of leaving cites on the disposition block (method §7)
_ENDING_PARAGRAPHS = {
    Ending.SALE: "(b)(7)", Ending.CONVERSION: "(b)(8); Rev. Rul. 2002-31", Ending.CALL: "(b)(7)(v)",
    Ending.MATURITY: "(b)(7)(iv)",
}


ACCRUAL_KINDS = {
    "tax_year": "integer", "period": "integer", "period_start": "date", "period_end": "date",
    "held_from": "date", "held_through": "date", "days": "integer", "daily_portion": "per_unit",
    "accrued": "money", "allocation_per_day": "per_unit", "allocation": "money",
    "allocation_positive": "money", "allocation_negative": "money",
}
PAYMENT_KINDS = {
    "tax_year": "integer", "date": "date", "period": "integer", "payment_type": "text",
    "projected_per_unit": "per_unit", "actual_per_unit": "per_unit", "projected": "money",
    "actual": "money", "adjustment": "money", "positive": "money", "negative": "money",
    "reduces_basis": "money", "note": "note",
}
ALLOCATION_KINDS = {
    "tax_year": "integer", "date": "date", "description": "text", "amount": "money",
    "positive": "money", "negative": "money",
}
PLAN_KINDS = {
    "period": "integer", "period_start": "date", "period_end": "date", "days": "integer",
    "daily_portion": "per_unit", "weighted_portion": "per_unit", "holder_basis_start": "money",
    "holder_accrual": "money", "projected": "money", "holder_basis_end": "money",
    "allocation": "money", "per_day": "per_unit",
}
ROLLFORWARD_KINDS = {"tax_year": "integer"} | {
    cid: "money" for cid in (
        "interest_accrued", "positive_adjustments", "negative_adjustments", "carryforward_in",
        "net_adjustment", "net_positive_adjustment", "net_negative_adjustment",
        "interest_reduction", "interest_income", "inclusions_to_date", "ordinary_loss",
        "ordinary_losses_to_date", "carryforward_out", "basis_start", "allocations",
        "fixing_adjustments", "projected_received", "basis_end",
    )
}
FIXING_KINDS = {
    "tax_year": "integer", "fixed_on": "date", "due": "date", "how": "text", "per_unit": "per_unit",
    "held_from": "date", "held_through": "date", "days": "integer", "spread_days": "integer",
    "amount": "money", "positive": "money", "negative": "money",
}


@dataclass(frozen=True)
class _FixingRow:
    """One row of the lot's (b)(9)(ii) table (method §13): an adjustment on its fixing date,
    or the days of one calendar year of a (G) spread the lot holds."""

    year: int
    fixing: object  # cpdi.engine.fixings.AppliedFixing
    held_from: date
    held_through: date

    @property
    def share(self) -> float:
        """The part of the adjustment the row takes: all of it, or its days of the spread."""
        if not self.fixing.spread:
            return 1.0
        return ((self.held_through - self.held_from).days + 1) / self.fixing.spread_days


def _fixing_rows(ledger: LotLedger, schedule, last_year: int) -> list[_FixingRow]:
    """The (b)(9)(ii) adjustments the lot takes through ``last_year``, as the engine takes them
    (``cpdi.engine.ledger.fixing_adjustments``): a lot that holds the fixing date takes the
    adjustment on that day, or — fixed together with every other remaining contingent payment
    (G) — over the days it holds from the next day through the due date."""
    holding = ledger.holding
    computed = days_computed(holding, ledger.lot)
    rows = []
    for fixing in schedule.fixings:
        if not holding.holds(fixing.fixed_on):
            continue
        if not fixing.spread:
            if computed.holds(fixing.fixed_on) and fixing.fixed_on.year <= last_year:
                rows.append(_FixingRow(fixing.fixed_on.year, fixing, fixing.fixed_on, fixing.fixed_on))
            continue
        first = max(fixing.fixed_on + _ONE_DAY, computed.first_day)
        last = min(fixing.due, computed.last_day)
        while first <= last and first.year <= last_year:
            through = min(last, date(first.year, 12, 31))
            rows.append(_FixingRow(first.year, fixing, first, through))
            first = through + _ONE_DAY
    return sorted(rows, key=lambda row: (row.held_from, row.fixing.due))


def _unaccrued(ledger: LotLedger, schedule) -> list[tuple[object, int]]:
    """The positive (G) adjustments left when the holding ends ((b)(8)(iii)(B), method §13):
    each fixing with the days of its spread still to run after the last day held."""
    holding = ledger.holding
    return [
        (fixing, (fixing.due - holding.last_day).days) for fixing in schedule.fixings
        if fixing.spread and fixing.adjustment > 0 and holding.holds(fixing.fixed_on)
        and holding.last_day < fixing.due
    ]


def _maturity_allocation_day(ledger: LotLedger, schedule) -> date:
    """Where the (b)(9)(i) allocation to the payment at maturity falls: at maturity, or on the
    day that payment was fixed if it was fixed early and the lot held that day ((b)(9)(ii)(E))."""
    maturity = schedule.instrument.maturity_date
    fixing = schedule.fixing_of(maturity)
    if fixing is not None and ledger.holding.holds(fixing.fixed_on):
        return fixing.fixed_on
    return maturity
# the plan table's columns each (b)(9)(i) method writes (method §6)
PLAN_COLUMNS = {
    BasisAllocationMethod.PROPORTIONAL: (
        "period", "period_start", "period_end", "days", "daily_portion", "weighted_portion",
        "allocation", "per_day"),
    BasisAllocationMethod.STRAIGHT_LINE: (
        "period", "period_start", "period_end", "days", "allocation", "per_day"),
    BasisAllocationMethod.YIELD: (
        "period", "period_start", "period_end", "days", "daily_portion", "holder_basis_start",
        "holder_accrual", "projected", "holder_basis_end", "allocation", "per_day"),
}


# -- the (b)(9)(i) plan as the sheet's formulas compute it ----------------------------------------
@dataclass
class _PlanRow:
    """One period of the remaining term: its days from the acquisition date and what the
    lot's method allocates to them (dollars, whole lot; method §6)."""

    index: int
    days: float
    allocation: float = 0.0
    per_day: float = 0.0
    holder_basis_start: float = 0.0
    holder_accrual: float = 0.0
    holder_basis_end: float = 0.0


@dataclass
class _Plan:
    difference: float
    requested: float  # the part to maturity the lot asks for, with the difference's sign
    part: float  # difference − requested
    rows: list[_PlanRow] = field(default_factory=list)
    at_maturity: float = 0.0
    total_weighted: float = 0.0  # Σ daily portion × days (proportional)

    def per_day(self) -> dict[int, float]:
        return {row.index: row.per_day for row in self.rows}


def _plan(schedule, lot, units: float, difference: float, holder_yield: float | None) -> _Plan:
    """The (b)(9)(i) allocation exactly as the plan block's formulas compute it (method §6;
    ``cpdi.engine.basis_allocation`` is the engine's own; the check compares the results)."""
    periods = schedule.periods
    sign = -1.0 if difference < 0 else 1.0
    requested = sign * min(lot.allocate_to_maturity or 0.0, abs(difference))
    plan = _Plan(difference, requested, difference - requested)
    plan.rows = [_PlanRow(k, n) for k, n in accruing_days(schedule, lot.acquisition_date)]
    method = lot.basis_allocation
    if method is BasisAllocationMethod.PROPORTIONAL:
        plan.total_weighted = sum(periods[r.index].daily_portion * r.days for r in plan.rows)
        for r in plan.rows:
            if plan.total_weighted > 0:
                r.per_day = plan.part * periods[r.index].daily_portion / plan.total_weighted
            r.allocation = r.per_day * r.days
        plan.at_maturity = requested if plan.total_weighted > 0 else difference
    elif method is BasisAllocationMethod.STRAIGHT_LINE:
        days = sum(r.days for r in plan.rows)
        for r in plan.rows:
            r.per_day = plan.part / days if days > 0 else 0.0
            r.allocation = r.per_day * r.days
        plan.at_maturity = requested
    elif method is BasisAllocationMethod.MATURITY:
        plan.at_maturity = difference
    else:  # YIELD: the holder's own yield track, (b)(9)(i)(F) Example 2(B)
        basis = lot.cost_basis
        for r in plan.rows:
            p = periods[r.index]
            r.holder_basis_start = basis
            r.holder_accrual = basis * holder_yield * p.year_fraction * (r.days / p.weight)
            basis = r.holder_basis_end = basis + r.holder_accrual - p.projected_payment * units
            r.allocation = r.holder_accrual - p.daily_portion * r.days * units
            r.per_day = r.allocation / r.days
        plan.at_maturity = difference - sum(r.allocation for r in plan.rows)
    return plan


def _plus(start: str, cell: str) -> str:
    """``start + cell``, or the cell alone when nothing is carried in (``start`` is ``"0"``)."""
    return cell if start == "0" else f"{start}+{cell}"


def _per_year(rows, year_of) -> dict[int, tuple[int, int]]:
    """``{year: (first row, last row)}`` of a table whose rows are in date order."""
    spans: dict[int, tuple[int, int]] = {}
    for at, item in rows:
        y = year_of(item)
        first, _ = spans.get(y, (at, at))
        spans[y] = (first, at)
    return spans


# -- the sheet ------------------------------------------------------------------------------------
class _LotSheet:
    """Plans one lot sheet block by block; each block returns the cells later blocks use."""

    def __init__(self, wb: _Workbook, ledger: LotLedger, row: LotYear, book, inst: _InstrumentCells):
        self.wb, self.t, self.st, self.year = wb, wb.t, wb.styles, wb.year
        self.ledger, self.row, self.book, self.inst = ledger, row, book, inst
        self.lot = ledger.lot
        self.schedule = book.schedule
        self.periods = book.schedule.periods
        self.instrument = book.instrument
        self.units = ledger.units
        self.calendar = self.instrument.daily_portion_basis is DailyPortionBasis.CALENDAR_DAYS
        self.years = [y for y in ledger.years if y.tax_year <= wb.year]
        self.ending = ledger.holding.ending
        self.disposed = row.disposition_date is not None
        self.opens = ledger.lot.opens_later  # starts from opening balances (method §14)
        self.computed = days_computed(ledger.holding, ledger.lot)  # the days the tables hold
        self.fixing_rows = _fixing_rows(ledger, book.schedule, wb.year)  # (b)(9)(ii), method §13
        self.fixings = {"c": {}, "spans": {}}  # the (b)(9)(ii) table, once written
        layout = self.t.tables["rollforward"]
        self.rollforward_layout = layout if self.fixing_rows else TableLayout(
            tuple(cid for cid in layout.order if cid != "fixing_adjustments"), layout.labels)
        self.money, self.per_unit = self.st.formula["money"], self.st.formula["per_unit"]
        lot = self.lot
        self.sheet = wb.add_sheet(self.t.sheet("lot", lot_id=lot.lot_id, instrument_id=lot.instrument_id))
        wb.title_rows(self.sheet, f"{self.t.section('lot_title', self.year)} {lot.lot_id} — {lot.instrument_id}")
        self.r = 4

    # -- small writers ---------------------------------------------------------------------------
    def line(self, key: str) -> str:
        return self.t.line(key, self.year)

    def section(self, key: str) -> None:
        self.sheet.text(self.r, 0, self.t.section(key, self.year), self.st.section)
        self.r += 1

    def kv(self, label: str, paragraph: str = "", note: str = "", tick: str = "") -> int:
        sheet, r = self.sheet, self.r
        sheet.text(r, KV_LABEL, label)
        if tick:
            sheet.tick(r, KV_TICK, tick, self.st)
        sheet.text(r, KV_PARAGRAPH, paragraph, self.st.paragraph)
        sheet.text(r, KV_NOTE, note, self.st.note)
        self.r += 1
        return r

    def value_line(self, label, value, fmt, paragraph="", note="", tick="input") -> str:
        at = self.kv(label, paragraph, note, tick)
        sheet = self.sheet
        if isinstance(value, str):
            sheet.text(at, KV_VALUE, value, fmt)
        elif isinstance(value, bool):
            sheet.boolean(at, KV_VALUE, value, fmt)
        elif isinstance(value, date):
            sheet.date(at, KV_VALUE, value, fmt)
        else:
            sheet.number(at, KV_VALUE, value, fmt)
        return _cell(at, KV_VALUE)

    def formula_line(self, label, formula, value, fmt, paragraph="", note="", tick="recomputed") -> str:
        at = self.kv(label, paragraph, note, tick)
        return self.sheet.formula(at, KV_VALUE, formula, value, fmt)

    def sum_of(self, spans: dict, year: int, col: int) -> str:
        """``SUM(range)`` of a table column over the rows of ``year``, or ``0``."""
        if year not in spans:
            return "0"
        first, last = spans[year]
        return f"SUM({_range(first, col, last)})"

    def table_title(self, key: str) -> str:
        """A table's section title: from acquisition, or — for a lot taken over mid-life — from
        the opening balances' 1 January (the template's ``<key>_opening``)."""
        return self.t.section(f"{key}_opening" if self.opens else key, self.year)

    def days_header(self, header_row: int, col: int, label: str, tick: str) -> None:
        """Under the ``day_count`` daily portion basis the days columns hold day-count days
        (method §3): their header says whose."""
        if self.calendar:
            return
        day_count = self.instrument.comparable_yield.day_count.value
        self.sheet.header_text(header_row, col, f"{label} ({day_count}) {tick_mark(tick)}", self.st.header)

    # -- the whole sheet ---------------------------------------------------------------------------
    def write(self) -> _LotCells:
        terms = self.terms_block()
        terms["start"] = self.opening_block(terms)
        plan = self.plan_block(terms)
        accrual = self.accrual_block(terms, plan)
        payments = self.payments_block(terms)
        points = self.points_block(plan)
        self.fixings = self.fixings_block(terms)
        rollforward = self.rollforward_block(terms, accrual, payments, points)
        netting = self.netting_block(accrual, payments, points, rollforward, terms["start"])
        basis = self.basis_block(terms, accrual, payments, points, rollforward, netting)
        refs = {
            "interest_income": (self.sheet.ref(*_rc(netting["income"])), self.row.interest_income),
            "ordinary_loss": (self.sheet.ref(*_rc(netting["ordinary"])), self.row.ordinary_loss),
            "carryforward_out": (self.sheet.ref(*_rc(netting["carry_out"])), self.row.carryforward_out),
            "adjusted_basis_end": (self.sheet.ref(*_rc(basis)), self.row.adjusted_basis_end),
        }
        if self.disposed:
            refs.update(self.disposition_block(terms, payments, netting, basis))
        else:
            self.sheet.formula(*_rc(netting["carry_out"]), netting["leftover_formula"],
                               self.row.carryforward_out, self.st.result)
        self.rollforward_current_row(rollforward, terms, netting, basis)
        _check_lot(self.ledger, self.years, self.book, self.units, plan["plan"])
        self.print_setup()
        dates = {key: (self.sheet.ref(*_rc(terms[key])), terms[f"{key}_value"])
                 for key in ("acquired", "disposed", "acquired_trade", "disposed_trade", "stock_held_from")
                 if key in terms}
        return _LotCells(self.ledger, self.row, self.sheet.name, refs,
                         self.sheet.ref(*_rc(terms["days_held"])), dates)

    # -- blocks -------------------------------------------------------------------------------------
    def terms_block(self) -> dict:
        """The lot, the AIP on its acquisition date and the (b)(9)(i) difference."""
        lot, row, st, inst, year = self.lot, self.row, self.st, self.inst, self.year
        self.section("lot_terms")
        cells = {}
        self.value_line(self.line("lot_id"), lot.lot_id, st.text_input)
        self.value_line(self.line("holder"), lot.holder_id, st.text_input)
        self.value_line(self.line("instrument"), lot.instrument_id, st.text_input)
        principal = self.value_line(self.line("principal"), lot.principal_amount, st.input["money"])
        unit = self.formula_line(self.line("unit_principal"), inst.unit_principal,
                                 self.instrument.unit_principal, self.per_unit, "",
                                 f"from {inst.unit_principal}")
        cells["units"] = self.formula_line(self.line("units"), f"{principal}/{unit}", self.units,
                                           self.st.formula["units"], "method §4")
        trade = lot.acquisition_trade_date is not None
        cells["acquired"] = self.value_line(self.line("acquisition_date"), lot.acquisition_date, st.input["date"],
                                            "method §4" if trade else "", "settlement date" if trade else "")
        cells["acquired_value"] = lot.acquisition_date
        if lot.acquisition_trade_date is not None:
            cells["acquired_trade"] = self.value_line(
                self.line("acquisition_trade_date"), lot.acquisition_trade_date, st.input["date"], "method §12",
                "lots.csv acquisition_trade_date: the holding period and Form 8949 (b) run from it")
            cells["acquired_trade_value"] = lot.acquisition_trade_date
        cells["cost"] = self.value_line(self.line("cost_basis"), lot.cost_basis, st.input["money"])
        self.value_line(self.line("ending"), self.ending.value if self.disposed else "held", st.text_input,
                        "(b)(7)", "" if self.disposed else f"held at the end of {year}")
        if self.disposed:
            converted = self.ending is Ending.CONVERSION
            cells["disposed"] = self.value_line(
                self.line("conversion_date" if converted else "disposition_date"), row.disposition_date,
                st.input["date"], "method §4",
                "held through this day: the stock is held from the next" if converted else "")
            cells["disposed_value"] = row.disposition_date
            if lot.disposition_trade_date is not None and self.ending is Ending.SALE:
                cells["disposed_trade"] = self.value_line(
                    self.line("disposition_trade_date"), lot.disposition_trade_date, st.input["date"],
                    "method §12", "lots.csv disposition_trade_date: Form 8949 (c) and the holding period end on it")
                cells["disposed_trade_value"] = lot.disposition_trade_date
        if lot.proceeds is not None and self.ending is Ending.SALE:
            cells["proceeds"] = self.value_line(self.line("sale_proceeds"), lot.proceeds, st.input["money"])
        self.value_line(self.line("basis_allocation"), lot.basis_allocation.value, st.text_input,
                        "(b)(9)(i)(A)", "method §6")
        holder_yield = self.ledger.allocation.holder_yield
        if holder_yield is not None:
            solved = lot.holder_yield_pct is None
            cells["holder_yield"] = self.value_line(
                self.line("holder_yield"), holder_yield, st.input["percent"], "(b)(9)(i)(F)",
                "solved so that nothing is left for maturity: see the check in the allocation block"
                if solved else "given", tick="check" if solved else "input")
        if lot.allocate_to_maturity:
            cells["to_maturity"] = self.value_line(self.line("allocate_to_maturity"), lot.allocate_to_maturity,
                                                   st.input["money"], "(b)(9)(i)(F)")
        cells.update(self.acquisition_aip(cells))
        cells["difference"] = self.formula_line(
            self.line("basis_difference"), f"{cells['aip']}*{cells['units']}-{cells['cost']}",
            self.ledger.allocation.difference, self.money, "(b)(9)(i)(A)",
            "> 0 discount: positive adjustments; < 0 premium: negative adjustments")
        cells["days_held"] = self.value_line(self.line("days_held"), row.days_held, st.input["integer"],
                                             "method §4", "calendar days of the year the lot holds")
        self.r += 1
        return cells

    def opening_block(self, terms: dict) -> dict:
        """Where the tables below start: ``{"basis" | "carryforward" | "inclusions" | "losses":
        (formula text, value, where it comes from)}``.  A lot computed from its acquisition
        starts from its cost with nothing carried.  A lot taken over mid-life
        (``Lot.opens_later``, method §14) starts on 1 January of its ``opening_year`` from its
        opening balances, computed before cpdi and typed here from lots.csv as inputs: the
        adjusted basis (b)(7)(iii), the negative adjustment carryforward (b)(6)(iii)(C), and
        the interest inclusions and ordinary losses of earlier years, which set the
        (b)(6)(iii)(B) and (b)(8)(ii) limits.  The acquisition date and cost above still drive
        the (b)(9)(i) plan."""
        lot = self.lot
        if not self.opens:
            none = "first year held: none"
            return {"basis": (terms["cost"], lot.cost_basis, "cost basis"), "carryforward": ("0", 0.0, none),
                    "inclusions": ("0", 0.0, none), "losses": ("0", 0.0, none)}
        st, opening = self.st, lot.opening_year
        line = lambda key: self.t.line(key, opening)  # noqa: E731  ({year}: the opening year)
        self.sheet.text(self.r, 0, self.t.section("lot_opening", opening), st.section)
        self.r += 1
        self.value_line(line("opening_year"), opening, st.year_input, "method §14",
                        f"lots.csv opening_year: the days, payments and adjustments before 1 January {opening} "
                        "were computed before cpdi")
        source = f"opening balance, 1 January {opening} (lots.csv)"
        state = {}
        for key, label, column, paragraph in (
            ("basis", "opening_adjusted_basis", "opening_adjusted_basis", "(b)(7)(iii)"),
            ("carryforward", "opening_carryforward", "opening_carryforward", "(b)(6)(iii)(C)"),
            ("inclusions", "opening_inclusions", "prior_interest_inclusions", "(b)(6)(iii)(B); (b)(8)(ii)"),
            ("losses", "opening_ordinary_losses", "prior_ordinary_losses", "(b)(6)(iii)(B); (b)(8)(ii)"),
        ):
            value = getattr(lot, column) or 0.0
            ref = self.value_line(line(label), value, st.input["money"], paragraph, f"lots.csv {column}")
            state[key] = (ref, value, source)
        self.r += 1
        return state

    def acquisition_aip(self, cells: dict) -> dict:
        """AIP at the start of the acquisition date (method §3; (b)(7)(ii)): the AIP at the start
        of the period containing it plus the daily portions of the period's days before it."""
        acquired = self.lot.acquisition_date
        k = min(self.schedule.first_period_ending_on_or_after(acquired), len(self.periods) - 1)
        period = self.periods[k]
        inst = self.inst
        self.value_line(self.line("acquisition_period"), period.number, self.st.input["integer"],
                        "method §2", f"{period.period_start.isoformat()} to {period.period_end.isoformat()}")
        before = period.weight_through(acquired - _ONE_DAY)
        if self.calendar:
            days = self.formula_line(
                self.line("days_before_acquisition"),
                f"MAX(0,{cells['acquired']}-{inst.period_start[k]}-1)", before,
                self.st.formula["integer"], "method §3", "acquisition date − period start − 1")
        else:
            days = self.value_line(self.line("days_before_acquisition"), before,
                                   _weight_format(self.st, before), "method §3",
                                   f"{self.instrument.comparable_yield.day_count.value} days")
        aip = self.formula_line(
            self.line("aip_at_acquisition"), f"{inst.aip_start[k]}+{inst.daily_portion[k]}*{days}",
            self.schedule.adjusted_issue_price(acquired), self.per_unit, "(b)(7)(ii)",
            "AIP at the period's start + daily portion × days before the acquisition date")
        return {"aip": aip}

    def plan_block(self, terms: dict) -> dict:
        """(b)(9)(i): the difference allocated over the remaining term (method §6), as
        formulas of the difference and the daily portions."""
        lot, st, t = self.lot, self.st, self.t
        method = lot.basis_allocation
        plan = _plan(self.schedule, lot, self.units, self.ledger.allocation.difference,
                     self.ledger.allocation.holder_yield)
        self.section("lot_plan")
        diff = terms["difference"]
        requested = "0"
        if "to_maturity" in terms:
            requested = self.formula_line(
                self.line("plan_maturity_requested"),
                f"IF({diff}<0,-1,1)*MIN({terms['to_maturity']},ABS({diff}))", plan.requested,
                self.money, "(b)(9)(i)(F)", "method §6")
        cells = {"plan": plan, "per_day": {}, "at_maturity": None}
        if method is not BasisAllocationMethod.MATURITY:
            part = self.formula_line(self.line("plan_part"), diff if requested == "0" else f"{diff}-{requested}",
                                     plan.part, self.money, "(b)(9)(i)(A)")
        if method is BasisAllocationMethod.MATURITY:
            self.sheet.text(self.r, 0, self.line("no_plan"), st.note)
            self.r += 1
            cells["at_maturity"] = self.formula_line(self.line("plan_maturity"), diff, plan.at_maturity,
                                                     self.money, "(b)(9)(i)(F)", "method §6")
            self.r += 1
            return cells
        layout = t.tables["plan"]
        used = [cid for cid in layout.order if cid in PLAN_COLUMNS[method]]
        c = {cid: i for i, cid in enumerate(used)}
        ticks = {cid: "recomputed" for cid in used} | {"period": "input", "period_start": "input",
                                                        "period_end": "input"}
        if not self.calendar:
            ticks["days"] = "input"
        header = self.r
        for cid in used:
            label = layout.label(cid, year=self.year)
            self.sheet.header_text(header, c[cid], f"{label} {tick_mark(ticks[cid])}", st.header)
        if "days" in c:
            self.days_header(header, c["days"], layout.label("days", year=self.year), ticks["days"])
        first = self.r = header + 1
        table = self.plan_rows(plan, c, terms, part)
        last = self.r - 1
        cells["per_day"] = table["per_day"]
        self.sheet.text(self.r, 0, self.line("total"), st.bold)
        totals = {}
        for cid, value in (("days", sum(r.days for r in plan.rows)),
                           ("weighted_portion", plan.total_weighted),
                           ("allocation", sum(r.allocation for r in plan.rows))):
            if cid in c:
                totals[cid] = self.sheet.formula(self.r, c[cid], f"SUM({_range(first, c[cid], last)})"
                                                 if last >= first else "0", value, st.total["money"]
                                                 if cid != "days" else st.total["integer"])
        table["totals"](totals)
        self.r += 1
        allocated = totals["allocation"]
        if method is BasisAllocationMethod.PROPORTIONAL:
            formula = f"IF({totals['weighted_portion']}>0,{requested},{diff})"
            note = "the part to maturity; all of the difference when no interest remains to carry it"
        elif method is BasisAllocationMethod.STRAIGHT_LINE:
            formula, note = requested, "the part to maturity asked for"
        else:
            formula, note = f"{diff}-{allocated}", self.line("plan_holder_remainder")
        cells["at_maturity"] = self.formula_line(self.line("plan_maturity"), formula, plan.at_maturity,
                                                 self.money, "(b)(9)(i)(F)", note)
        self.formula_line(self.line("plan_check"), f"{diff}-{allocated}-{cells['at_maturity']}",
                          plan.difference - sum(r.allocation for r in plan.rows) - plan.at_maturity,
                          self.money, "(b)(9)(i)(A)", "the whole difference is allocated", tick="check")
        self.r += 1
        return cells

    def plan_rows(self, plan: _Plan, c: dict, terms: dict, part: str) -> dict:
        """One row per period of the remaining term, by the lot's method (method §6)."""
        st, inst, sheet, periods = self.st, self.inst, self.sheet, self.periods
        method = self.lot.basis_allocation
        per_day_refs, rows = {}, []
        for item in plan.rows:
            r, k, p = self.r, item.index, periods[item.index]
            rows.append(r)
            sheet.number(r, c["period"], p.number, st.input["integer"])
            sheet.date(r, c["period_start"], p.period_start, st.input["date"])
            sheet.date(r, c["period_end"], p.period_end, st.input["date"])
            if self.calendar:
                days = sheet.formula(r, c["days"], f"{_cell(r, c['period_end'])}-MAX("
                                     f"{_cell(r, c['period_start'])},{terms['acquired']}-1)",
                                     item.days, st.formula["integer"])
            else:
                sheet.number(r, c["days"], item.days, _weight_format(st, item.days))
                days = _cell(r, c["days"])
            if "daily_portion" in c:
                sheet.formula(r, c["daily_portion"], inst.daily_portion[k], p.daily_portion, self.per_unit)
            if "weighted_portion" in c:
                sheet.formula(r, c["weighted_portion"], f"{_cell(r, c['daily_portion'])}*{days}",
                              p.daily_portion * item.days, self.per_unit)
            if method is BasisAllocationMethod.YIELD:
                start = terms["cost"] if r == rows[0] else _cell(r - 1, c["holder_basis_end"])
                sheet.formula(r, c["holder_basis_start"], start, item.holder_basis_start, self.money)
                accrual = sheet.formula(
                    r, c["holder_accrual"],
                    f"{_cell(r, c['holder_basis_start'])}*{terms['holder_yield']}*{inst.year_fraction[k]}"
                    f"*{days}/{inst.weight[k]}", item.holder_accrual, self.money)
                projected = sheet.formula(r, c["projected"], f"{inst.projected[k]}*{terms['units']}",
                                          p.projected_payment * self.units, self.money)
                sheet.formula(r, c["holder_basis_end"], f"{_cell(r, c['holder_basis_start'])}+{accrual}-{projected}",
                              item.holder_basis_end, self.money)
                allocation = sheet.formula(
                    r, c["allocation"], f"{accrual}-{_cell(r, c['daily_portion'])}*{days}*{terms['units']}",
                    item.allocation, self.money)
                sheet.formula(r, c["per_day"], f"{allocation}/{days}", item.per_day, self.per_unit)
            else:
                per_day = _cell(r, c["per_day"])
                sheet.formula(r, c["allocation"], f"{per_day}*{days}", item.allocation, self.money)
            per_day_refs[k] = _cell(r, c["per_day"])
            self.r += 1

        def totals(cells: dict) -> None:
            """Per-day formulas that need the table's totals (proportional, straight-line)."""
            for item, r in zip(plan.rows, rows):
                if method is BasisAllocationMethod.PROPORTIONAL:
                    total = cells["weighted_portion"]
                    formula = f"IF({total}>0,{part}*{_cell(r, c['daily_portion'])}/{total},0)"
                elif method is BasisAllocationMethod.STRAIGHT_LINE:
                    total = cells["days"]
                    formula = f"IF({total}>0,{part}/{total},0)"
                else:
                    return
                sheet.formula(r, c["per_day"], formula, item.per_day, self.per_unit)

        return {"per_day": per_day_refs, "totals": totals}

    def accrual_block(self, terms: dict, plan: dict) -> dict:
        """Every held piece of an accrual period since acquisition: days held × daily portion ×
        units (b)(3)(iii), and the day's (b)(9)(i) allocation (b)(9)(i)(B)–(C)."""
        st, sheet = self.st, self.sheet
        layout = self.t.tables["accrual"]
        days_tick = "recomputed" if self.calendar else "input"
        ticks = {"tax_year": "input", "period": "input", "period_start": "input", "period_end": "input",
                 "held_from": "input", "held_through": "input", "days": days_tick,
                 "daily_portion": "recomputed", "accrued": "recomputed", "allocation_per_day": "recomputed",
                 "allocation": "recomputed", "allocation_positive": "recomputed",
                 "allocation_negative": "recomputed"}
        c, self.r = sheet.start_table(self.r, self.table_title("lot_accrual"), layout, self.year, st, ticks)
        self.days_header(self.r - 1, c["days"], layout.label("days", year=self.year), days_tick)
        segments = [s for s in self.ledger.segments if s.year <= self.year]
        placed = []
        for seg in segments:
            placed.append((self.r, seg))
            self.accrual_row(c, seg, terms, plan)
            self.r += 1
        if not segments:
            sheet.text(self.r, 0, self.line("no_rows"), st.note)
            self.r += 1
        self.r += 1
        return {"c": c, "spans": _per_year(placed, lambda s: s.year)}

    def accrual_row(self, c: dict, seg: HeldSegment, terms: dict, plan: dict) -> None:
        st, sheet, r = self.st, self.sheet, self.r
        k, p = seg.period_index, self.periods[seg.period_index]
        sheet.number(r, c["tax_year"], seg.year, st.input["integer"])
        sheet.number(r, c["period"], p.number, st.input["integer"])
        sheet.date(r, c["period_start"], p.period_start, st.input["date"])
        sheet.date(r, c["period_end"], p.period_end, st.input["date"])
        sheet.date(r, c["held_from"], seg.first_day, st.input["date"])
        sheet.date(r, c["held_through"], seg.last_day, st.input["date"])
        if self.calendar:
            days = sheet.formula(r, c["days"], f"{_cell(r, c['held_through'])}-{_cell(r, c['held_from'])}+1",
                                 seg.weighted_days, st.formula["integer"])
        else:
            sheet.number(r, c["days"], seg.weighted_days, _weight_format(st, seg.weighted_days))
            days = _cell(r, c["days"])
        daily = sheet.formula(r, c["daily_portion"], self.inst.daily_portion[k], p.daily_portion, self.per_unit)
        sheet.formula(r, c["accrued"], f"{days}*{daily}*{terms['units']}",
                      p.daily_portion * seg.weighted_days * self.units, self.money)
        per_day_value = plan["plan"].per_day().get(k, 0.0)
        if k in plan["per_day"]:
            per_day = sheet.formula(r, c["allocation_per_day"], plan["per_day"][k], per_day_value, self.per_unit)
        else:  # the maturity method: nothing to daily portions (method §6)
            sheet.number(r, c["allocation_per_day"], 0.0, st.input["per_unit"])
            per_day = _cell(r, c["allocation_per_day"])
        share = per_day_value * seg.weighted_days
        alloc = sheet.formula(r, c["allocation"], f"{days}*{per_day}", share, self.money)
        sheet.formula(r, c["allocation_positive"], f"MAX({alloc},0)", max(share, 0.0), self.money)
        sheet.formula(r, c["allocation_negative"], f"MAX(-{alloc},0)", max(-share, 0.0), self.money)

    def payments_block(self, terms: dict) -> dict:
        """Every payment received since acquisition: actual − projected (b)(6)(i); the
        projected amount reduces basis (b)(7)(iii), except the final payment of a lot held to
        maturity, which is the amount realized (b)(7)(iv)."""
        st, sheet = self.st, self.sheet
        layout = self.t.tables["payments"]
        ticks = {"tax_year": "input", "date": "input", "period": "input", "payment_type": "input",
                 "projected_per_unit": "recomputed", "actual_per_unit": "input", "projected": "recomputed",
                 "actual": "recomputed", "adjustment": "recomputed", "positive": "recomputed",
                 "negative": "recomputed", "reduces_basis": "recomputed"}
        c, self.r = sheet.start_table(self.r, self.table_title("lot_payments"), layout, self.year,
                                      st, ticks)
        payments = [p for p in self.ledger.payments if p.date.year <= self.year]
        placed, final_projected = [], None
        for payment in payments:
            placed.append((self.r, payment))
            ref = self.payment_row(c, payment, terms)
            final_projected = ref or final_projected
            self.r += 1
        if not payments:
            sheet.text(self.r, 0, self.line("no_rows"), st.note)
            self.r += 1
        self.r += 1
        return {"c": c, "spans": _per_year(placed, lambda p: p.date.year), "final_projected": final_projected}

    def payment_row(self, c: dict, payment: PaymentReceived, terms: dict) -> str | None:
        """One payment; returns its projected-amount cell when it is the final payment of a lot
        held to maturity."""
        st, sheet, r, units = self.st, self.sheet, self.r, terms["units"]
        period = self.periods[payment.period_index]
        actual_per_unit = self.book.actuals.scheduled.get(payment.date, period.projected_payment)
        is_final = self.ending is Ending.MATURITY and payment.date == self.instrument.maturity_date
        sheet.number(r, c["tax_year"], payment.date.year, st.input["integer"])
        sheet.date(r, c["date"], payment.date, st.input["date"])
        sheet.number(r, c["period"], period.number, st.input["integer"])
        sheet.text(r, c["payment_type"], payment.payment_type.value, st.text_input)
        ppu = sheet.formula(r, c["projected_per_unit"], self.inst.projected[payment.period_index],
                            period.projected_payment, self.per_unit)
        sheet.number(r, c["actual_per_unit"], actual_per_unit, st.input["per_unit"])
        apu = _cell(r, c["actual_per_unit"])
        projected, actual = period.projected_payment * self.units, actual_per_unit * self.units
        proj = sheet.formula(r, c["projected"], f"{ppu}*{units}", projected, self.money)
        act = sheet.formula(r, c["actual"], f"{apu}*{units}", actual, self.money)
        adj = sheet.formula(r, c["adjustment"], f"{act}-{proj}", actual - projected, self.money)
        sheet.formula(r, c["positive"], f"MAX({adj},0)", max(actual - projected, 0.0), self.money)
        sheet.formula(r, c["negative"], f"MAX(-{adj},0)", max(projected - actual, 0.0), self.money)
        notes = []
        if is_final:
            sheet.number(r, c["reduces_basis"], 0.0, st.input["money"])
            notes.append(self.line("final_payment") + " (b)(7)(iv)")
        else:
            sheet.formula(r, c["reduces_basis"], proj, projected, self.money)
        if not payment.actual_supplied:
            notes.append("fixed payment with no actual row: taken as paid at its projection (method §5)")
        sheet.text(r, c["note"], "; ".join(notes), st.note)
        return proj if is_final else None

    def points_block(self, plan: dict) -> dict:
        """(b)(9)(i) allocations to a payment — the payment at maturity — when the lot holds it
        by the end of the year (method §6): a link to the plan's allocation at maturity."""
        maturity = self.instrument.maturity_date
        on = _maturity_allocation_day(self.ledger, self.schedule)  # (b)(9)(ii)(E)
        holding = self.computed  # the days the sheet computes (from the opening balances, if any)
        can_allocate = (self.lot.basis_allocation in (BasisAllocationMethod.MATURITY, BasisAllocationMethod.YIELD)
                        or self.lot.allocate_to_maturity or plan["plan"].at_maturity)
        if not can_allocate or not holding.holds(on) or on.year > self.year:
            return {"c": {}, "spans": {}}
        st, sheet = self.st, self.sheet
        layout = self.t.tables["allocations"]
        ticks = {"tax_year": "input", "date": "input", "amount": "recomputed", "positive": "recomputed",
                 "negative": "recomputed"}
        c, self.r = sheet.start_table(self.r, self.table_title("lot_allocations"), layout,
                                      self.year, st, ticks)
        amount = plan["plan"].at_maturity
        r = self.r
        sheet.number(r, c["tax_year"], on.year, st.input["integer"])
        sheet.date(r, c["date"], on, st.input["date"])
        sheet.text(r, c["description"], "payment at maturity (b)(9)(i)(B)/(C)" if on == maturity else
                   "payment at maturity, fixed on this day (b)(9)(ii)(E)", st.text)
        amt = sheet.formula(r, c["amount"], plan["at_maturity"], amount, self.money)
        sheet.formula(r, c["positive"], f"MAX({amt},0)", max(amount, 0.0), self.money)
        sheet.formula(r, c["negative"], f"MAX(-{amt},0)", max(-amount, 0.0), self.money)
        self.r += 2
        return {"c": c, "spans": {on.year: (r, r)}}

    def fixings_block(self, terms: dict) -> dict:
        """(b)(9)(ii) adjustments the lot takes (method §13), one row per adjustment on its
        fixing date, or per calendar year of a (G) spread the lot holds.  The adjustment per
        unit is the present value difference of (b)(9)(ii)(A) on the instrument sheet's table:
        (fixed − projected before the fixing) × the due date's discount factor / the fixing
        date's."""
        if not self.fixing_rows:
            return {"c": {}, "spans": {}}
        st, sheet, inst = self.st, self.sheet, self.inst
        layout = self.t.tables["fixings"]
        ticks = {"tax_year": "input", "fixed_on": "input", "due": "input", "held_from": "input",
                 "held_through": "input", "per_unit": "recomputed", "days": "recomputed",
                 "spread_days": "recomputed", "amount": "recomputed", "positive": "recomputed",
                 "negative": "recomputed"}
        c, self.r = sheet.start_table(self.r, self.table_title("lot_fixings"), layout, self.year, st, ticks)
        index_of = {p.period_end: i for i, p in enumerate(self.periods)}
        first = self.r
        for row in self.fixing_rows:
            r, fixing = self.r, row.fixing
            here = lambda cid: _cell(r, c[cid])  # noqa: E731
            due, at = index_of[fixing.due], index_of[fixing.fixed_on]
            sheet.number(r, c["tax_year"], row.year, st.input["integer"])
            sheet.date(r, c["fixed_on"], fixing.fixed_on, st.input["date"])
            sheet.date(r, c["due"], fixing.due, st.input["date"])
            sheet.text(r, c["how"], "spread (b)(9)(ii)(G)" if fixing.spread else
                       "on the fixing date (b)(9)(ii)(A)", st.text)
            sheet.formula(r, c["per_unit"],
                          f"({inst.projected[due]}-{inst.projected_before_fixing[due]})"
                          f"*{inst.discount_factor[due]}/{inst.discount_factor[at]}",
                          fixing.adjustment, self.per_unit)
            sheet.date(r, c["held_from"], row.held_from, st.input["date"])
            sheet.date(r, c["held_through"], row.held_through, st.input["date"])
            amount = fixing.adjustment * self.units * row.share
            if fixing.spread:
                held = (row.held_through - row.held_from).days + 1
                sheet.formula(r, c["days"], f"{here('held_through')}-{here('held_from')}+1", held,
                              st.formula["integer"])
                sheet.formula(r, c["spread_days"], f"{here('due')}-{here('fixed_on')}",
                              fixing.spread_days, st.formula["integer"])
                formula = f"{here('per_unit')}*{terms['units']}*{here('days')}/{here('spread_days')}"
            else:
                formula = f"{here('per_unit')}*{terms['units']}"
            amt = sheet.formula(r, c["amount"], formula, amount, self.money)
            sheet.formula(r, c["positive"], f"MAX({amt},0)", max(amount, 0.0), self.money)
            sheet.formula(r, c["negative"], f"MAX(-{amt},0)", max(-amount, 0.0), self.money)
            self.r += 1
        self.r += 1
        spans = _per_year([(first + i, row) for i, row in enumerate(self.fixing_rows)],
                          lambda row: row.year)
        return {"c": c, "spans": spans}

    def year_sums(self, y: int, accrual: dict, payments: dict, points: dict) -> dict[str, str]:
        """The year's sums of the tables above, as formula texts."""
        a, p, q = accrual["c"], payments["c"], points["c"]

        def join(*parts: str) -> str:
            kept = [part for part in parts if part != "0"]
            return "+".join(kept) if kept else "0"

        point = (lambda col: self.sum_of(points["spans"], y, q[col])) if q else (lambda col: "0")
        f = self.fixings["c"]
        fixed = (lambda col: self.sum_of(self.fixings["spans"], y, f[col])) if f else (lambda col: "0")
        return {
            "accrued": self.sum_of(accrual["spans"], y, a["accrued"]),
            "positive": join(self.sum_of(payments["spans"], y, p["positive"]),
                             self.sum_of(accrual["spans"], y, a["allocation_positive"]), point("positive"),
                             fixed("positive")),
            "negative": join(self.sum_of(payments["spans"], y, p["negative"]),
                             self.sum_of(accrual["spans"], y, a["allocation_negative"]), point("negative"),
                             fixed("negative")),
            "allocations": join(self.sum_of(accrual["spans"], y, a["allocation"]), point("amount")),
            "fixings": fixed("amount"),
            "projected": self.sum_of(payments["spans"], y, p["reduces_basis"]),
        }

    def rollforward_block(self, terms: dict, accrual: dict, payments: dict, points: dict) -> dict:
        """One row per year since acquisition (b)(6)(ii)–(iii), (b)(7)(iii).  Earlier years are
        computed in the row; the tax year's row links to the netting and basis blocks below
        (:meth:`rollforward_current_row`), which take their opening state from the row above."""
        st, sheet = self.st, self.sheet
        layout = self.rollforward_layout
        ticks = {cid: "recomputed" for cid in layout.order} | {
            "tax_year": "input", "interest_accrued": "footed", "allocations": "footed",
            "fixing_adjustments": "footed", "projected_received": "footed"}
        c, self.r = sheet.start_table(self.r, self.table_title("lot_rollforward"), layout,
                                      self.year, st, ticks)
        start = terms["start"]
        rows, inclusions, losses = {}, start["inclusions"][1], start["losses"][1]
        for index, y in enumerate(self.years):
            r = self.r
            rows[y.tax_year] = r
            sheet.number(r, c["tax_year"], y.tax_year, st.input["integer"])
            inclusions += y.interest_income
            losses += y.ordinary_loss
            if y.tax_year < self.year:
                self.rollforward_row(c, r, index, y, inclusions, losses, terms,
                                     self.year_sums(y.tax_year, accrual, payments, points))
            self.r += 1
        self.r += 1
        return {"c": c, "rows": rows, "inclusions": inclusions, "losses": losses}

    def rollforward_row(self, c, r, index, y: LotYear, inclusions, losses, terms, sums) -> None:
        """An earlier year, computed in its row (method §5; (b)(7)(iii)); the first row starts
        from the cost and nothing carried, or from a lot's opening balances (method §14)."""
        sheet, money, start = self.sheet, self.money, terms["start"]
        cell = lambda cid: _cell(r, c[cid])  # noqa: E731
        above = lambda cid: _cell(r - 1, c[cid])  # noqa: E731
        first = index == 0
        f = sheet.formula
        f(r, c["interest_accrued"], sums["accrued"], y.interest_accrued, money)
        f(r, c["positive_adjustments"], sums["positive"], y.positive_adjustments, money)
        f(r, c["negative_adjustments"], sums["negative"], y.negative_adjustments, money)
        f(r, c["carryforward_in"], start["carryforward"][0] if first else above("carryforward_out"),
          y.carryforward_in, money)
        f(r, c["net_adjustment"],
          f"{cell('positive_adjustments')}-{cell('negative_adjustments')}-{cell('carryforward_in')}",
          y.positive_adjustments - y.negative_adjustments - y.carryforward_in, money)
        f(r, c["net_positive_adjustment"], f"MAX({cell('net_adjustment')},0)", y.net_positive_adjustment, money)
        f(r, c["net_negative_adjustment"], f"MAX(-{cell('net_adjustment')},0)", y.net_negative_adjustment, money)
        nna = cell("net_negative_adjustment")
        f(r, c["interest_reduction"], f"MIN({nna},MAX({cell('interest_accrued')},0))", y.interest_reduction, money)
        f(r, c["interest_income"],
          f"{cell('interest_accrued')}+{cell('net_positive_adjustment')}-{cell('interest_reduction')}",
          y.interest_income, money)
        f(r, c["inclusions_to_date"], _plus(start["inclusions"][0], cell("interest_income")) if first
          else f"{above('inclusions_to_date')}+{cell('interest_income')}", inclusions, money)
        prior_losses = start["losses"][0] if first else above("ordinary_losses_to_date")
        f(r, c["ordinary_loss"],
          f"MIN({nna}-{cell('interest_reduction')},MAX(0,{cell('inclusions_to_date')}-{prior_losses}))",
          y.ordinary_loss, money)
        f(r, c["ordinary_losses_to_date"], _plus(start["losses"][0], cell("ordinary_loss")) if first
          else f"{above('ordinary_losses_to_date')}+{cell('ordinary_loss')}", losses, money)
        f(r, c["carryforward_out"], f"{nna}-{cell('interest_reduction')}-{cell('ordinary_loss')}",
          y.carryforward_out, money)
        f(r, c["basis_start"], start["basis"][0] if first else above("basis_end"), y.adjusted_basis_start, money)
        f(r, c["allocations"], sums["allocations"], y.allocation_adjustments, money)
        fixings = ""
        if "fixing_adjustments" in c:  # (b)(9)(ii)(D), method §13
            f(r, c["fixing_adjustments"], sums["fixings"], y.fixing_adjustments, money)
            fixings = f"+{cell('fixing_adjustments')}"
        f(r, c["projected_received"], sums["projected"], y.projected_payments_received, money)
        f(r, c["basis_end"],
          f"{cell('basis_start')}+{cell('interest_accrued')}+{cell('allocations')}{fixings}"
          f"-{cell('projected_received')}", y.adjusted_basis_end, money)

    def opening(self, rollforward: dict, cid: str) -> str | None:
        """The cell of the roll-forward row above the tax year's, or None in the first year."""
        r = rollforward["rows"].get(self.year - 1)
        return None if r is None else _cell(r, rollforward["c"][cid])

    def rollforward_current_row(self, rollforward, terms, netting, basis) -> None:
        """The tax year's roll-forward row: links to the blocks that compute it."""
        r, c, row = rollforward["rows"][self.year], rollforward["c"], self.row
        links = {
            "interest_accrued": (netting["accrued"], row.interest_accrued),
            "positive_adjustments": (netting["positive"], row.positive_adjustments),
            "negative_adjustments": (netting["negative"], row.negative_adjustments),
            "carryforward_in": (netting["carry_in"], row.carryforward_in),
            "net_adjustment": (netting["net"], row.positive_adjustments - row.negative_adjustments - row.carryforward_in),
            "net_positive_adjustment": (netting["net_pos"], row.net_positive_adjustment),
            "net_negative_adjustment": (netting["nna"], row.net_negative_adjustment),
            "interest_reduction": (netting["reduction"], row.interest_reduction),
            "interest_income": (netting["income"], row.interest_income),
            "inclusions_to_date": (f"{netting['prior_inc']}+{netting['income']}", rollforward["inclusions"]),
            "ordinary_loss": (netting["ordinary"], row.ordinary_loss),
            "ordinary_losses_to_date": (f"{netting['prior_ol']}+{netting['ordinary']}", rollforward["losses"]),
            "carryforward_out": (netting["carry_out"], row.carryforward_out),
            "basis_start": (netting["basis_start"], row.adjusted_basis_start),
            "allocations": (netting["basis_alloc"], row.allocation_adjustments),
            "projected_received": (netting["basis_projected"], row.projected_payments_received),
            "basis_end": (basis, row.adjusted_basis_end),
        }
        if "fixing_adjustments" in c:
            links["fixing_adjustments"] = (netting["basis_fixings"], row.fixing_adjustments)
        for cid, (formula, value) in links.items():
            self.sheet.formula(r, c[cid], formula, value, self.st.total["money"])

    def netting_block(self, accrual, payments, points, rollforward, start) -> dict:
        """The tax year's annual netting (b)(6)(ii)–(iii), method §5, opening from the
        roll-forward's row for the year before — or, in the first year the sheet computes, from
        ``start``: nothing, or a lot's opening balances (method §14)."""
        row, year = self.row, self.year
        line, money = self.line, self.money
        sums = self.year_sums(year, accrual, payments, points)
        cells = {}
        self.section("lot_netting")
        cells["accrued"] = accrued = self.formula_line(
            line("interest_accrued"), sums["accrued"], row.interest_accrued, money, "(b)(3)(iii)",
            f"the accrual table's {year} rows", "footed")
        cells["positive"] = positive = self.formula_line(
            line("positive_adjustments"), sums["positive"], row.positive_adjustments, money,
            "(b)(6)(i); (b)(9)(i)(B)" + ("; (b)(9)(ii)(A)" if self.fixing_rows else ""),
            f"payments, allocations{' and (b)(9)(ii) adjustments' if self.fixing_rows else ''} of {year}")
        cells["negative"] = negative = self.formula_line(
            line("negative_adjustments"), sums["negative"], row.negative_adjustments, money,
            "(b)(6)(i); (b)(9)(i)(C)" + ("; (b)(9)(ii)(A)" if self.fixing_rows else ""),
            f"payments, allocations{' and (b)(9)(ii) adjustments' if self.fixing_rows else ''} of {year}")
        opening = self.opening(rollforward, "carryforward_out")
        # the tax year's opening state: from the roll-forward, or in a lot's opening year from
        # its opening balances (their own labels), or the cost and zeros in its first year
        from_balances = self.opens and opening is None
        key = (lambda name: f"{name}_opening" if from_balances else name)  # noqa: E731
        cells["carry_in"] = carry_in = self.formula_line(
            line(key("carryforward_in")), opening or start["carryforward"][0], row.carryforward_in, money,
            "(b)(6)(iii)(C)", "roll-forward, the year before" if opening else start["carryforward"][2])
        net_value = row.positive_adjustments - row.negative_adjustments - row.carryforward_in
        cells["net"] = net = self.formula_line(line("net_adjustment"), f"{positive}-{negative}-{carry_in}",
                                               net_value, money, "(b)(6)(ii)")
        cells["net_pos"] = net_pos = self.formula_line(
            line("net_positive_adjustment"), f"MAX({net},0)", row.net_positive_adjustment, money,
            "(b)(6)(ii)(A)", "additional interest")
        cells["nna"] = nna = self.formula_line(line("net_negative_adjustment"), f"MAX(-{net},0)",
                                               row.net_negative_adjustment, money, "(b)(6)(iii)")
        cells["reduction"] = reduction = self.formula_line(
            line("interest_reduction"), f"MIN({nna},MAX({accrued},0))", row.interest_reduction, money,
            "(b)(6)(iii)(A)", "MIN(net negative, interest accrued)")
        cells["income"] = income = self.formula_line(
            line("netted_interest_income"), f"{accrued}+{net_pos}-{reduction}", row.interest_income,
            self.st.result, "(b)(6)(ii)(A); (b)(6)(iii)(A)", "accrued + net positive − reduction")
        earlier = [y for y in self.years if y.tax_year < year]
        prior_inc_value = start["inclusions"][1] + sum(y.interest_income for y in earlier)
        prior_ol_value = start["losses"][1] + sum(y.ordinary_loss for y in earlier)
        if earlier:
            span = f"roll-forward {earlier[0].tax_year}–{year - 1}"
            if self.opens:
                span = f"{span}, from the opening balance"
        cells["prior_inc"] = prior_inc = self.formula_line(
            line(key("prior_inclusions")), self.opening(rollforward, "inclusions_to_date") or start["inclusions"][0],
            prior_inc_value, money, "(b)(6)(iii)(B)", span if earlier else start["inclusions"][2])
        cells["prior_ol"] = prior_ol = self.formula_line(
            line(key("prior_ordinary_losses")), self.opening(rollforward, "ordinary_losses_to_date") or start["losses"][0],
            prior_ol_value, money, "(b)(6)(iii)(B)", span if earlier else start["losses"][2])
        cells["ordinary"] = ordinary = self.formula_line(
            line("netted_ordinary_loss"), f"MIN({nna}-{reduction},MAX(0,{prior_inc}+{income}-{prior_ol}))",
            row.ordinary_loss, self.st.result, "(b)(6)(iii)(B)",
            "MIN(net negative − reduction, inclusions − earlier ordinary losses)")
        carry_row = self.kv(line("netted_carryforward_out"), "(b)(6)(iii)(C)",
                            "net negative − reduction − ordinary loss"
                            + (" − carryforward used in the amount realized" if self.disposed else ""),
                            "recomputed")
        cells["carry_out"] = _cell(carry_row, KV_VALUE)
        cells["leftover_formula"] = f"{nna}-{reduction}-{ordinary}"
        cells["leftover"] = row.net_negative_adjustment - row.interest_reduction - row.ordinary_loss
        cells["prior_values"] = (prior_inc_value, prior_ol_value)
        cells["sums"] = sums
        self.r += 1
        return cells

    def basis_block(self, terms, accrual, payments, points, rollforward, netting) -> str:
        """The tax year's adjusted basis (b)(7)(iii): opening basis from the roll-forward (or the
        cost in the year of acquisition, or the opening balance in a lot's opening year) +
        interest accrued ± (b)(9)(i) allocations − projected payments received."""
        row, line, money, sums = self.row, self.line, self.money, netting["sums"]
        self.section("lot_basis")
        opening, first = self.opening(rollforward, "basis_end"), terms["start"]["basis"]
        netting["basis_start"] = start = self.formula_line(
            line("basis_start"), opening or first[0], row.adjusted_basis_start, money, "(b)(7)(iii)",
            "roll-forward, the year before" if opening else first[2])
        accrued = self.formula_line(line("basis_accrued"), netting["accrued"], row.interest_accrued, money,
                                    "(b)(7)(iii)")
        netting["basis_alloc"] = alloc = self.formula_line(
            line("basis_allocations"), sums["allocations"], row.allocation_adjustments, money,
            "(b)(9)(i)(B)–(C)", f"the allocation columns' {self.year} rows", "footed")
        fixings = ""
        if self.fixing_rows:  # (b)(9)(ii)(D), method §13
            netting["basis_fixings"] = fixed = self.formula_line(
                line("basis_fixings"), sums["fixings"], row.fixing_adjustments, money,
                "(b)(9)(ii)(D)", f"the (b)(9)(ii) table's {self.year} rows", "footed")
            fixings = f"+{fixed}"
        netting["basis_projected"] = projected = self.formula_line(
            line("basis_projected"), sums["projected"], row.projected_payments_received, money,
            "(b)(7)(iii)", "payments received, at their projected amounts", "footed")
        end = self.formula_line(
            line("basis_before_disposition" if self.disposed else "basis_end"),
            f"{start}+{accrued}+{alloc}{fixings}-{projected}", row.adjusted_basis_end, self.st.result,
            "(b)(7)(iii)")
        self.r += 1
        return end

    def disposition_block(self, terms, payments, netting, basis_end) -> dict:
        """(b)(7)(iv)–(v), (b)(6)(iii)(C), (b)(8): the amount realized, the gain or loss and its
        character; returns the Cover's refs.  A conversion into stock (method §7; Rev. Rul.
        2002-31) realizes the stock's fair market value plus any cash, both typed from lots.csv,
        and ends with the stock's basis (its fair market value) and the day its holding period
        begins (the day after the conversion date, which the converting holder holds)."""
        row, line, money, st = self.row, self.line, self.money, self.st
        self.section("lot_disposition")
        ending = self.ending
        self.value_line(line("ending"), ending.value, st.text_input, _ENDING_PARAGRAPHS.get(ending, ""))
        stock = None
        if ending is Ending.CONVERSION:
            stock = self.value_line(line("stock_fair_market_value"), self.lot.stock_fair_market_value or 0.0,
                                    st.input["money"], "(b)(8); Rev. Rul. 2002-31",
                                    "lots.csv stock_fair_market_value: the stock's value on the conversion date")
            cash = self.value_line(line("conversion_cash"), self.lot.proceeds or 0.0, st.input["money"],
                                   "(b)(8)", "lots.csv proceeds: the cash received with the stock (blank: none)")
            consideration = self.formula_line(line("consideration_conversion"), f"{stock}+{cash}",
                                              row.consideration, money, "(b)(8); Rev. Rul. 2002-31",
                                              "stock at its fair market value + cash")
        elif ending is Ending.SALE:
            consideration = self.formula_line(line("consideration_sale"), terms.get("proceeds", "0"),
                                              row.consideration, money, "(b)(7)")
        elif ending is Ending.CALL:
            rpu = self.value_line(line("redemption_per_unit"), self.book.actuals.redemption_amount or 0.0,
                                  st.input["per_unit"], "(b)(7)(v)", "payments file, kind redemption")
            consideration = self.formula_line(line("consideration_call"), f"{rpu}*{terms['units']}",
                                              row.consideration, money, "(b)(7)(v)")
        else:
            consideration = self.formula_line(line("consideration_maturity"), payments["final_projected"] or "0",
                                              row.consideration, money, "(b)(7)(iv)",
                                              "the final payment's projected amount")
        leftover = netting["leftover"]
        applied = self.formula_line(line("disposition_carryforward"), netting["leftover_formula"], leftover,
                                    money, "(b)(6)(iii)(C)", "net negative − reduction − ordinary loss")
        realized = self.formula_line(line("disposition_amount_realized"), f"{consideration}-{applied}",
                                     row.amount_realized, money, "(b)(6)(iii)(C)")
        basis = self.formula_line(line("disposition_basis"), basis_end, row.adjusted_basis_end, money,
                                  "(b)(7)(iii)")
        gain = self.formula_line(line("disposition_gain_loss"), f"{realized}-{basis}", row.gain_loss,
                                 money, "(b)(8)")
        remains_value = contingent_payment_remains(self.schedule, row.disposition_date)
        contingent = f'({self.inst.payment_types}="{PaymentType.CONTINGENT.value}")'
        if self.inst.fixed_on_column:  # a payment fixed early is contingent through its fixing date
            contingent = f'({contingent}+({self.inst.fixed_on_column}>={terms["disposed"]}))'
        remains = self.formula_line(
            line("contingent_remains"),
            f'SUMPRODUCT(({self.inst.period_ends}>={terms["disposed"]})*{contingent})>0',
            remains_value, st.bool_input, "(b)(8)(iii)",
            "any contingent payment of the schedule due on or after the disposition date"
            + (" (one fixed early (b)(9)(ii) is, through its fixing date)" if self.inst.fixed_on_column else ""))
        unaccrued = None
        left = _unaccrued(self.ledger, self.schedule)
        if left:  # (b)(8)(iii)(B), method §13
            index_of = {p.period_end: i for i, p in enumerate(self.periods)}
            inst = self.inst
            parts = [
                f"MAX(({inst.projected[index_of[f.due]]}-{inst.projected_before_fixing[index_of[f.due]]})"
                f"*{inst.discount_factor[index_of[f.due]]}/{inst.discount_factor[index_of[f.fixed_on]]},0)"
                f"*{terms['units']}*{days}/{f.spread_days}" for f, days in left
            ]
            unaccrued = self.formula_line(
                line("unaccrued_positive_adjustment"), "+".join(parts), row.unaccrued_positive_adjustment,
                money, "(b)(8)(iii)(B)", "per unit × units × days of the spread left after the last "
                "day held / days of the spread")
        prior_inc, prior_ol = netting["prior_values"]
        total_inc = self.formula_line(line("total_inclusions"), f"{netting['prior_inc']}+{netting['income']}",
                                      prior_inc + row.interest_income, money, "(b)(8)(ii)")
        total_ol = self.formula_line(line("total_ordinary_losses"), f"{netting['prior_ol']}+{netting['ordinary']}",
                                     prior_ol + row.ordinary_loss, money, "(b)(8)(ii)")
        kept = f"MIN(MAX({gain},0),{unaccrued})" if unaccrued else "0"  # (b)(8)(iii)(B)
        oi = self.formula_line(line("disposition_ordinary_income"), f"IF({remains},MAX({gain},0),{kept})",
                               row.ordinary_income_on_disposition, st.result,
                               "(b)(8)(i); (b)(8)(iii)(B)" if unaccrued else "(b)(8)(i)")
        ol = self.formula_line(
            line("disposition_ordinary_loss"),
            f"IF({remains},MIN(MAX(-{gain},0),MAX(0,{total_inc}-{total_ol})),0)",
            row.ordinary_loss_on_disposition, st.result, "(b)(8)(ii)")
        cl = self.formula_line(line("disposition_capital_loss"), f"MAX(-{gain},0)-{ol}",
                               row.capital_loss_on_disposition, st.result, "(b)(8)(ii); (b)(8)(iii)")
        cg = self.formula_line(line("disposition_capital_gain"), f"IF({remains},0,MAX({gain},0)-{oi})" if unaccrued
                               else f"IF({remains},0,MAX({gain},0))",
                               row.capital_gain_on_disposition, st.result, "(b)(8)(iii)")
        self.sheet.formula(*_rc(netting["carry_out"]), f"{netting['leftover_formula']}-{applied}",
                           row.carryforward_out, st.result)
        refs = {}
        if stock is not None:
            refs["stock_basis"] = (self.sheet.ref(*_rc(self.formula_line(
                line("stock_basis"), stock, row.stock_fair_market_value, money, "Rev. Rul. 2002-31",
                "the stock's fair market value on the conversion date"))), row.stock_fair_market_value)
            held_from = row.disposition_date + _ONE_DAY
            cell = self.formula_line(line("stock_held_from"), f"{terms['disposed']}+1", _serial(held_from),
                                     st.formula["date"], "method §4, §7",
                                     "the day after the conversion date: the converting holder holds that date")
            terms["stock_held_from"], terms["stock_held_from_value"] = cell, held_from
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
            refs[key] = (self.sheet.ref(*_rc(ref)), value)
        return refs

    def print_setup(self) -> None:
        t = self.t
        lot_columns = [
            [ACCRUAL_KINDS[cid] for cid in t.tables["accrual"].order],
            [PAYMENT_KINDS[cid] for cid in t.tables["payments"].order],
            [ALLOCATION_KINDS[cid] for cid in t.tables["allocations"].order],
            [ROLLFORWARD_KINDS[cid] for cid in self.rollforward_layout.order],
        ]
        if self.fixing_rows:
            lot_columns.append([FIXING_KINDS[cid] for cid in t.tables["fixings"].order])
        method = self.lot.basis_allocation
        if method in PLAN_COLUMNS:
            lot_columns.append([PLAN_KINDS[cid] for cid in t.tables["plan"].order
                                if cid in PLAN_COLUMNS[method]])
        widths = _widths(t, lot_columns, {KV_VALUE: t.widths["money"]})
        self.wb.print_setup(self.sheet, (0, 2), 3, widths)


def _lot_sheet(wb: _Workbook, ledger: LotLedger, row: LotYear, book, inst: _InstrumentCells) -> _LotCells:
    """The lot from acquisition through the tax year, each line a formula citing its paragraph."""
    return _LotSheet(wb, ledger, row, book, inst).write()


# -- the workpaper must reproduce the engine ------------------------------------------------------
def _sheet_years(ledger: LotLedger, years: list[LotYear], book, units: float, plan: _Plan) -> list[dict]:
    """Every year of the sheet as its formulas compute it, from the inputs it shows: the plan's
    allocations, the accrual and payment tables' rows, the roll-forward and the disposition."""
    periods = book.schedule.periods
    per_day = plan.per_day()
    holding = days_computed(ledger.holding, ledger.lot)  # from the opening balances, if any
    maturity = book.instrument.maturity_date
    ending = holding.ending
    accrued, parts, allocations, reduces = {}, {}, {}, {}
    for seg in ledger.segments:
        accrued[seg.year] = accrued.get(seg.year, 0.0) + periods[seg.period_index].daily_portion * seg.weighted_days * units
        share = per_day.get(seg.period_index, 0.0) * seg.weighted_days
        parts.setdefault(seg.year, []).append(share)
        allocations.setdefault(seg.year, []).append(share)
    on = _maturity_allocation_day(ledger, book.schedule)  # (b)(9)(ii)(E)
    if holding.holds(on):
        parts.setdefault(on.year, []).append(plan.at_maturity)
        allocations.setdefault(on.year, []).append(plan.at_maturity)
    fixings: dict[int, float] = {}
    for fixing_row in _fixing_rows(ledger, book.schedule, years[-1].tax_year if years else 0):
        amount = fixing_row.fixing.adjustment * units * fixing_row.share  # (b)(9)(ii), method §13
        parts.setdefault(fixing_row.year, []).append(amount)
        fixings[fixing_row.year] = fixings.get(fixing_row.year, 0.0) + amount
    final_projected = None
    for payment in ledger.payments:
        period = periods[payment.period_index]
        actual = book.actuals.scheduled.get(payment.date, period.projected_payment)
        projected = period.projected_payment * units
        parts.setdefault(payment.date.year, []).append(actual * units - projected)
        if ending is Ending.MATURITY and payment.date == maturity:
            final_projected = projected
        else:
            reduces[payment.date.year] = reduces.get(payment.date.year, 0.0) + projected
    out, (basis, carry, inclusions, losses) = [], _typed_start(ledger.lot)
    for y in years:
        year = y.tax_year
        mine = {"carryforward_in": carry, "adjusted_basis_start": basis}
        a = accrued.get(year, 0.0)
        positive = sum(max(v, 0.0) for v in parts.get(year, ()))
        negative = sum(max(-v, 0.0) for v in parts.get(year, ()))
        net = positive - negative - carry
        net_pos, nna = max(net, 0.0), max(-net, 0.0)
        reduction = min(nna, max(a, 0.0))
        income = a + net_pos - reduction
        ordinary = min(nna - reduction, max(0.0, inclusions + income - losses))
        inclusions += income
        losses += ordinary
        leftover = nna - reduction - ordinary
        allocated = sum(allocations.get(year, ()))
        basis = basis + a + allocated + fixings.get(year, 0.0) - reduces.get(year, 0.0)
        mine.update({
            "interest_accrued": a, "positive_adjustments": positive, "negative_adjustments": negative,
            "net_positive_adjustment": net_pos, "net_negative_adjustment": nna,
            "interest_reduction": reduction, "interest_income": income, "ordinary_loss": ordinary,
            "carryforward_out": leftover, "adjusted_basis_end": basis,
            "allocation_adjustments": allocated, "fixing_adjustments": fixings.get(year, 0.0), "projected_payments_received": reduces.get(year, 0.0),
        })
        if y.disposition_date is not None:
            mine["carryforward_out"] = 0.0
            mine.update(_disposition(y, ledger, book, units, leftover, basis, inclusions, losses, final_projected))
        out.append(mine)
        carry = leftover
    return out


def _typed_start(lot) -> tuple[float, float, float, float]:
    """``(basis, carryforward, inclusions, ordinary losses)`` the sheet's first year starts
    from, as it types them: the cost and zeros, or the opening balances (method §14)."""
    if not lot.opens_later:
        return lot.cost_basis, 0.0, 0.0, 0.0
    return (lot.opening_adjusted_basis or 0.0, lot.opening_carryforward or 0.0,
            lot.prior_interest_inclusions or 0.0, lot.prior_ordinary_losses or 0.0)


def _disposition(row: LotYear, ledger, book, units, leftover, basis, inclusions, losses, final_projected) -> dict:
    """The disposition lines as the formulas compute them (b)(7)–(8)."""
    ending = ledger.holding.ending
    if ending is Ending.SALE:
        consideration = ledger.lot.proceeds or 0.0
    elif ending is Ending.CONVERSION:  # stock at its fair market value + cash (Rev. Rul. 2002-31)
        consideration = (ledger.lot.stock_fair_market_value or 0.0) + (ledger.lot.proceeds or 0.0)
    elif ending is Ending.CALL:
        consideration = (book.actuals.redemption_amount or 0.0) * units
    else:
        consideration = final_projected or 0.0
    realized = consideration - leftover
    gain = realized - basis
    remains = contingent_payment_remains(book.schedule, row.disposition_date)
    ordinary_loss = min(max(-gain, 0.0), max(0.0, inclusions - losses)) if remains else 0.0
    unaccrued = sum(max(f.adjustment, 0.0) * units * days / f.spread_days
                    for f, days in _unaccrued(ledger, book.schedule))  # (b)(8)(iii)(B)
    kept = min(max(gain, 0.0), unaccrued)
    stock = (ledger.lot.stock_fair_market_value or 0.0) if ending is Ending.CONVERSION else 0.0
    return {
        "consideration": consideration, "amount_realized": realized, "gain_loss": gain,
        "stock_fair_market_value": stock,
        "ordinary_income_on_disposition": max(gain, 0.0) if remains else kept,
        "unaccrued_positive_adjustment": unaccrued,
        "ordinary_loss_on_disposition": ordinary_loss,
        "capital_loss_on_disposition": max(-gain, 0.0) - ordinary_loss,
        "capital_gain_on_disposition": 0.0 if remains else max(gain, 0.0) - kept,
    }


def _check_lot(ledger: LotLedger, years: list[LotYear], book, units: float, plan: _Plan) -> None:
    """Recompute every year of the sheet from the inputs it shows, exactly as its formulas do,
    and insist each lands on the engine's ledger row: a workpaper that does not tie out is
    never written."""
    for row, mine in zip(years, _sheet_years(ledger, years, book, units, plan)):
        for name, value in mine.items():
            engine = getattr(row, name)
            if abs(value - engine) > CHECK_TOLERANCE:
                raise WorkpaperError(
                    f"workpaper for lot {row.lot_id} ({row.tax_year}) does not reproduce the engine's "
                    f"{name}: sheet {value:.6f}, engine {engine:.6f}; please report this"
                )

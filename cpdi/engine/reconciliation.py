"""Broker reconciliation: each figure a broker reported on Form 1099-OID, 1099-INT or 1099-B
against cpdi's own, and the known causes that explain a difference (method §12).

:func:`reconcile` returns one :class:`ReconciliationLine` per broker figure of the year,
``difference = broker_amount − cpdi_amount``.  What cpdi compares each box with:

    1099-OID 1, 8, 11; 1099-INT 1, 3, 8   the year's interest_income of the lots in the figure
                                          ((b)(6)(ii)); the (b)(8)(i) gain on a disposition is
                                          left out: a broker reports the sale on the 1099-B
    1099-OID 2                            0: no payment is stated interest under the
                                          noncontingent bond method, all the interest accrues at
                                          the comparable yield ((b)(3)) and payments count only
                                          as projected payments and adjustments ((b)(6))
    1099-OID 5, 1099-B 1f                 0: the market discount rules do not apply ((b)(9)(i)(D))
    1099-OID 6, 1099-INT 11, 12, 13       0: nor do the acquisition and bond premium rules
    1099-B 1d                             the lot's Form 8949 proceeds: the sale proceeds, the
                                          redemption on a call (b)(7)(v), the projected final
                                          payment at maturity (b)(7)(iv), the stock's fair market
                                          value plus any cash on a conversion (Rev. Rul. 2002-31)
    1099-B 1e                             the lot's Form 8949 cost basis: the adjusted basis at
                                          disposition ((b)(7)(iii))
    1099-B 1g                             0: cpdi does not apply the wash sale rule (section 1091)

A difference is then explained by the known causes, each worked out from the ledger — never
guessed — as the figure a broker following that convention would print:

    allocation           the broker makes no (b)(9)(i) allocation of the difference between
                         the lot's cost and the adjusted issue price (or reports it as market
                         discount or premium, rules that do not apply: (b)(9)(i)(D))
    projected_vs_actual  at maturity the actual final payment where the holder is treated as
                         receiving the projected one ((b)(7)(iv), (b)(6)(i))
    carryforward         the negative adjustment carryforward ((b)(6)(iii)(C)): not applied to
                         the interest, or taken off the proceeds
    issuer_table         the other daily portion basis (method §3): the issuer's table spreads
                         a period's interest by the day count, the regulation by calendar days
    adjustments          the accrual at the comparable yield ((b)(3)(iii)) without the year's
                         positive and negative adjustments ((b)(6))
    payments_as_interest the payments received reported as interest
    disposition_gain     the (b)(8)(i) gain on a disposition included in the interest
    original_cost        the lot's cost instead of its adjusted basis ((b)(7)(iii))
    stock_value          on a conversion into stock, only the cash received as proceeds, not
                         the fair market value of the stock (Rev. Rul. 2002-31)

Every subset of the causes that apply to the box is tried, smallest first: the broker's figure
under that subset of conventions is recomputed, and the subset explains the difference when it
comes within the tolerance of the broker's figure.  The causes' amounts are the steps from
cpdi's figure to that one, taken in a fixed order (:data:`CAUSES_OF`), so they add up to it exactly (a
carryforward or a net negative adjustment makes the steps depend on one another: the netting
of (b)(6)(iii) is redone each time, not added up).  A subset with a step that changes nothing is
not an explanation.

**A lot taken over mid-life (method §14). Decision (cpdi).** Its ledger starts from the opening
balances; the history before them is not in the input.  The causes of the year's interest are
recomputed from the year alone (its accrual, allocation, adjustments and the carryforward into
it), so they are the same as for any lot; ``issuer_table`` recomputes the year from the same
opening state.  The figures a broker reports *to date* — the basis at disposition (``allocation``,
``issuer_table``) and 1099-B box 1f — also need the days before the opening year, and use only
what does not depend on that history: the (b)(9)(i) plan, which still follows from the
acquisition, and the accruals at the comparable yield.  The lot is computed again from its
acquisition with each payment before the opening year at its projection (actual amounts never
enter the basis or the allocations, (b)(7)(iii)); only its basis and allocations are used, as the
difference the cause makes — never its income, netting or carryforward.  ``original_cost`` is
the lot's cost, which lots.csv gives.

**Tolerance. Convention (cpdi).** A broker prints each lot's figure in cents and the form's
figure in cents again; cpdi's figures are unrounded.  A difference of at most ``$0.01`` per lot
in the figure plus ``$0.01`` is rounding.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from itertools import combinations

from cpdi.engine.adjustments import net_adjustments
from cpdi.engine.forms import cents
from cpdi.engine.holding import Ending
from cpdi.engine.ledger import ActualPayments, LotLedger, LotYear, lot_ledger
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import BrokerFigure, DailyPortionBasis
from cpdi.problems import CpdiError

# --- the boxes ------------------------------------------------------------------------------

FORMS = ("1099-OID", "1099-INT", "1099-B")
"""The information returns cpdi reconciles, in the order the reconciliation lists them."""

BOXES: dict[tuple[str, str], str] = {
    ("1099-OID", "1"): "interest",  # original issue discount for the year
    ("1099-OID", "2"): "stated_interest",  # other periodic interest
    ("1099-OID", "5"): "discount",  # market discount
    ("1099-OID", "6"): "premium",  # acquisition premium
    ("1099-OID", "8"): "interest",  # OID on U.S. Treasury obligations
    ("1099-OID", "11"): "interest",  # tax-exempt OID
    ("1099-INT", "1"): "interest",  # interest income
    ("1099-INT", "3"): "interest",  # interest on U.S. savings bonds and Treasury obligations
    ("1099-INT", "8"): "interest",  # tax-exempt interest
    ("1099-INT", "11"): "premium",  # bond premium
    ("1099-INT", "12"): "premium",  # bond premium on Treasury obligations
    ("1099-INT", "13"): "premium",  # bond premium on tax-exempt bond
    ("1099-B", "1d"): "proceeds",
    ("1099-B", "1e"): "basis",
    ("1099-B", "1f"): "accrued_discount",  # accrued market discount
    ("1099-B", "1g"): "wash_sale",  # wash sale loss disallowed
}
"""Every box cpdi reconciles, in the forms' order, with what cpdi compares it with (its kind)."""

LOT_KINDS = frozenset({"proceeds", "basis", "accrued_discount", "wash_sale"})
"""Kinds of box that report one sale: a 1099-B figure, whose lot is always given."""


def boxes_of(form: str) -> tuple[str, ...]:
    """The boxes of ``form`` cpdi reconciles, in the form's order."""
    return tuple(box for f, box in BOXES if f == form)


def box_of_figure(figure: BrokerFigure) -> str:
    """A figure's kind of box (``interest``, ``proceeds`` …; :data:`BOXES`)."""
    return BOXES[(figure.form, figure.box)]


# --- the interface ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Cause:
    """A known cause of a difference and the amount it accounts for (broker − cpdi)."""

    name: str  # e.g. "allocation", "projected_vs_actual", "carryforward", "issuer_table", "rounding"
    amount: float
    text: str  # one sentence a reviewer reads


@dataclass(frozen=True)
class ReconciliationLine:
    """One broker figure against cpdi's (``reconciliation_YYYY.csv``).  ``explained`` is true
    when the difference is within rounding or the ``causes`` add up to it; otherwise the line
    is flagged and ``explanation`` says what to check."""

    holder_id: str
    instrument_id: str
    form: str
    box: str
    broker_amount: float
    cpdi_amount: float
    difference: float
    explanation: str
    explained: bool
    lot_id: str = ""
    causes: tuple[Cause, ...] = ()
    tolerance: float = 0.0  # the rounding the difference may have (module docstring)
    lots: int = 0  # cpdi's lots in the figure
    row: int = 0  # the figure's row in broker_1099, for messages


# --- tolerance -------------------------------------------------------------------------------

ROUNDING_PER_LOT = 0.01
"""A broker rounds each lot's figure to the cent (convention ours, module docstring)."""

ROUNDING_PER_FIGURE = 0.01
"""… and the form's total to the cent again."""

HALF_CENT = 0.005
"""An amount closer to zero than this is nothing on a form: a cause that moves the figure by
less explains nothing."""


def tolerance_for(lots: int) -> float:
    """The rounding a figure of ``lots`` lots may carry: $0.01 a lot and $0.01 on the total."""
    return ROUNDING_PER_LOT * max(lots, 1) + ROUNDING_PER_FIGURE


# --- what the ledger says of one lot ---------------------------------------------------------


@dataclass(frozen=True)
class LotFacts:
    """One lot's year as the causes need it, all from its ledger: the year's row, the same row
    under the other daily portion basis (``alternative``, ``None`` when it cannot be computed),
    the (b)(9)(i) allocations to the end of the year under each, and the year's payments split
    into the final one at maturity and the rest."""

    ledger: LotLedger
    row: LotYear
    daily_portion_basis: DailyPortionBasis  # the instrument's (method §3)
    alternative: LotYear | None
    allocated_to_date: float
    alternative_allocated_to_date: float
    final_adjustment: float  # actual − projected final payment at maturity, in the year
    other_adjustments: float  # actual − projected of the year's other payments (b)(6)(i)
    periodic_payments: float  # cash received in the year, the final payment at maturity aside
    alternative_basis: float | None = None  # the year-end basis under the other daily portion basis

    @property
    def lot_id(self) -> str:
        return self.ledger.lot.lot_id


def final_payment_of(ledger: LotLedger):
    """The payment at maturity of a lot retired at maturity ((b)(7)(iv)), or ``None``."""
    if ledger.holding.ending is not Ending.MATURITY:
        return None
    return next((p for p in ledger.payments if p.date == ledger.holding.disposition_date), None)


def actuals_of(ledger: LotLedger) -> ActualPayments:
    """The instrument's actual payments as far as this lot saw them (per unit of principal),
    rebuilt from its ledger: enough to compute the same lot again on another schedule."""
    units = ledger.units
    scheduled = {p.date: p.actual / units for p in ledger.payments}
    if ledger.holding.ending is Ending.CALL:
        called = next(row for row in ledger.years if row.disposition_date is not None)
        return ActualPayments(scheduled, ledger.holding.disposition_date,
                              called.consideration / units)
    return ActualPayments(scheduled)


def other_basis(basis: DailyPortionBasis) -> DailyPortionBasis:
    """The daily portion basis the instrument does not use (method §3)."""
    if basis is DailyPortionBasis.CALENDAR_DAYS:
        return DailyPortionBasis.DAY_COUNT
    return DailyPortionBasis.CALENDAR_DAYS


class _OtherBasis:
    """Each instrument's schedule under the other daily portion basis, built once per
    reconciliation (``None`` when it cannot be built)."""

    def __init__(self, schedules: dict):
        self.schedules = schedules
        self.built: dict[str, AccrualSchedule | None] = {}

    def schedule(self, instrument_id: str) -> AccrualSchedule | None:
        if instrument_id not in self.built:
            schedule = self.schedules.get(instrument_id)
            other = None
            if schedule is not None:
                instrument = schedule.instrument
                try:
                    other = AccrualSchedule(replace(
                        instrument, daily_portion_basis=other_basis(instrument.daily_portion_basis)),
                        schedule.fixings_given)
                except (ArithmeticError, ValueError):  # pragma: no cover - validated schedules build
                    other = None
            self.built[instrument_id] = other
        return self.built[instrument_id]


def ledger_under_other_basis(ledger: LotLedger, schedule: AccrualSchedule | None,
                             year: int) -> LotLedger | None:
    """The lot's ledger through ``year`` on ``schedule`` (the instrument under the other daily
    portion basis), the lot and its payments unchanged: what the issuer's table convention
    gives (method §3, §11).  ``None`` when there is no such schedule or the engine cannot
    compute the lot on it (a (b)(9)(i) allocation that cannot be made, say)."""
    if schedule is None:
        return None
    try:
        return lot_ledger(schedule, ledger.lot, actuals_of(ledger), year)
    except (CpdiError, ArithmeticError, ValueError):
        return None


def from_acquisition(ledger: LotLedger, schedule: AccrualSchedule | None,
                     year: int) -> LotLedger | None:
    """The lot computed from its acquisition through ``year``, for the figures a broker reports
    to date: the ledger itself, unless the lot was taken over mid-life (method §14).  Then the
    lot without its opening balances, each payment due before the opening year taken at its
    projection: the basis and the (b)(9)(i) allocations do not depend on actual amounts
    ((b)(7)(iii)), so those are exact, and nothing else of it is used (module docstring).
    ``None`` when it cannot be computed."""
    lot = ledger.lot
    if not lot.opens_later:
        return ledger
    if schedule is None:
        return None
    opening = date(lot.opening_year, 1, 1)
    seen = actuals_of(ledger)
    scheduled = {p.period_end: p.projected_payment for p in schedule.periods if p.period_end < opening}
    scheduled.update(seen.scheduled)
    try:
        return lot_ledger(schedule, replace(lot, opening_year=None),
                          ActualPayments(scheduled, seen.call_date, seen.redemption_amount), year)
    except (CpdiError, ArithmeticError, ValueError):
        return None


def _row_of(ledger: LotLedger | None, year: int) -> LotYear | None:
    return None if ledger is None else next((r for r in ledger.years if r.tax_year == year), None)


def _allocated_to(ledger: LotLedger | None, year: int) -> float:
    """The (b)(9)(i) allocations through ``year`` (0 when unknown: the cause then moves nothing
    and explains nothing)."""
    return 0.0 if ledger is None else sum(r.allocation_adjustments for r in ledger.years
                                          if r.tax_year <= year)


def lot_facts(ledger: LotLedger, year: int, other: _OtherBasis) -> LotFacts | None:
    """What the causes need of ``ledger``'s year (``None`` when the lot has no row in it).  For a
    lot taken over mid-life the figures to date come from :func:`from_acquisition`."""
    row = next((r for r in ledger.years if r.tax_year == year), None)
    if row is None:
        return None
    other_schedule = other.schedule(ledger.lot.instrument_id)
    alternative = _row_of(ledger_under_other_basis(ledger, other_schedule, year), year)
    history = from_acquisition(ledger, other.schedules.get(ledger.lot.instrument_id), year)
    alternative_history = (ledger_under_other_basis(history, other_schedule, year)
                           if history is not None else None)
    history_row, alternative_history_row = _row_of(history, year), _row_of(alternative_history, year)
    alternative_basis = None
    if history_row is not None and alternative_history_row is not None:
        alternative_basis = (alternative_history_row.adjusted_basis_end if history is ledger else
                             row.adjusted_basis_end + alternative_history_row.adjusted_basis_end
                             - history_row.adjusted_basis_end)
    alternative_allocated = _allocated_to(alternative_history, year)
    final = final_payment_of(ledger)
    final_in_year = final if final is not None and final.date.year == year else None
    in_year = [p for p in ledger.payments if p.date.year == year and p is not final_in_year]
    schedule = other.schedules.get(ledger.lot.instrument_id)
    basis = (schedule.instrument.daily_portion_basis if schedule is not None
             else DailyPortionBasis.CALENDAR_DAYS)
    return LotFacts(
        ledger=ledger, row=row, daily_portion_basis=basis, alternative=alternative,
        allocated_to_date=_allocated_to(history, year),
        alternative_allocated_to_date=alternative_allocated,
        final_adjustment=final_in_year.adjustment if final_in_year is not None else 0.0,
        other_adjustments=sum(p.adjustment for p in in_year),
        periodic_payments=sum(p.actual for p in in_year),
        alternative_basis=alternative_basis,
    )


# --- the broker's figure under a set of conventions -------------------------------------------


def interest_under(facts: LotFacts, causes: frozenset) -> float:
    """The lot's interest for the year as a broker following ``causes`` reports it; with no
    cause, cpdi's ``interest_income``.  The year's netting (b)(6)(ii)–(iii) is redone on what is
    left: the accrual ((b)(3)(iii), under the other daily portion basis for ``issuer_table``),
    the (b)(9)(i) allocation, the adjustments for the payments (b)(6)(i), the final payment's
    at maturity apart, the (b)(9)(ii) adjustments of payments fixed early, and the carryforward
    from the prior year (b)(6)(iii)(C)."""
    if "payments_as_interest" in causes:
        return facts.periodic_payments
    row = facts.alternative if "issuer_table" in causes and facts.alternative else facts.row
    if "adjustments" in causes:
        income = row.interest_accrued
    else:
        allocation = 0.0 if "allocation" in causes else row.allocation_adjustments
        final = 0.0 if "projected_vs_actual" in causes else facts.final_adjustment
        carryforward = 0.0 if "carryforward" in causes else row.carryforward_in
        net = allocation + facts.other_adjustments + final + row.fixing_adjustments
        income = net_adjustments(row.interest_accrued, max(net, 0.0), max(-net, 0.0),
                                 carryforward, 0.0, 0.0).interest_income
    if "disposition_gain" in causes:
        income += facts.row.ordinary_income_on_disposition
    return income


def stated_interest_under(facts: LotFacts, causes: frozenset) -> float:
    """Other periodic interest (1099-OID box 2): none under the noncontingent bond method, the
    payments received for a broker that reports them as stated interest."""
    return facts.periodic_payments if "payments_as_interest" in causes else 0.0


def discount_under(facts: LotFacts, causes: frozenset, to_date: bool = False) -> float:
    """Market discount (1099-OID box 5 for the year, 1099-B box 1f to the sale): none for a
    contingent payment debt instrument ((b)(9)(i)(D)); the positive (b)(9)(i) allocations for a
    broker that reports a purchase discount as market discount."""
    if "allocation" not in causes:
        return 0.0
    return max(facts.allocated_to_date if to_date else facts.row.allocation_adjustments, 0.0)


def premium_under(facts: LotFacts, causes: frozenset) -> float:
    """Acquisition or bond premium for the year (1099-OID box 6, 1099-INT boxes 11–13): none
    for a contingent payment debt instrument ((b)(9)(i)(D)); the negative (b)(9)(i) allocation
    for a broker that reports a purchase premium that way."""
    if "allocation" not in causes:
        return 0.0
    return max(-facts.row.allocation_adjustments, 0.0)


def proceeds_under(facts: LotFacts, causes: frozenset) -> float:
    """The lot's proceeds (1099-B box 1d): cpdi's Form 8949 proceeds are the consideration —
    the sale proceeds, the redemption (b)(7)(v), the projected final payment (b)(7)(iv), the
    stock's fair market value plus any cash on a conversion (Rev. Rul. 2002-31); a broker may
    report the actual final payment, the amount realized after the carryforward (b)(6)(iii)(C),
    or on a conversion only the cash."""
    proceeds = facts.row.consideration
    if "projected_vs_actual" in causes:
        proceeds += facts.final_adjustment
    if "carryforward" in causes:
        proceeds -= facts.row.consideration - facts.row.amount_realized
    if "stock_value" in causes:
        proceeds -= facts.row.stock_fair_market_value
    return proceeds


def basis_under(facts: LotFacts, causes: frozenset) -> float:
    """The lot's basis at disposition (1099-B box 1e): cpdi's adjusted basis (b)(7)(iii); a
    broker may report the original cost, the basis under the other daily portion basis, or the
    basis without the (b)(9)(i) allocations to date."""
    if "original_cost" in causes:
        return facts.ledger.lot.cost_basis
    if "issuer_table" in causes and facts.alternative_basis is not None:
        basis, allocated = facts.alternative_basis, facts.alternative_allocated_to_date
    else:
        basis, allocated = facts.row.adjusted_basis_end, facts.allocated_to_date
    return basis - allocated if "allocation" in causes else basis


def figure_under(kind: str, facts: LotFacts, causes: frozenset) -> float:
    """One lot's share of a figure of ``kind`` under ``causes`` (empty: cpdi's own)."""
    if kind == "interest":
        return interest_under(facts, causes)
    if kind == "stated_interest":
        return stated_interest_under(facts, causes)
    if kind == "discount":
        return discount_under(facts, causes)
    if kind == "accrued_discount":
        return discount_under(facts, causes, to_date=True)
    if kind == "premium":
        return premium_under(facts, causes)
    if kind == "proceeds":
        return proceeds_under(facts, causes)
    if kind == "basis":
        return basis_under(facts, causes)
    return 0.0  # wash_sale: cpdi does not apply section 1091


CAUSES_OF: dict[str, tuple[str, ...]] = {
    "interest": ("payments_as_interest", "issuer_table", "allocation", "projected_vs_actual",
                 "carryforward", "adjustments", "disposition_gain"),
    "stated_interest": ("payments_as_interest",),
    "discount": ("allocation",),
    "accrued_discount": ("allocation",),
    "premium": ("allocation",),
    "proceeds": ("projected_vs_actual", "carryforward", "stock_value"),
    "basis": ("original_cost", "issuer_table", "allocation"),
    "wash_sale": (),
}
"""The causes that can explain each kind of box, in the order their steps are taken and ties
are broken: a cause that replaces the whole figure first (a later one then adds nothing to it),
the particular before the general (a year whose only adjustment is the (b)(9)(i) allocation is
explained by the allocation, not by "no adjustments")."""


# --- what each cause says --------------------------------------------------------------------


def signed_dollars(amount: float) -> str:
    """``+$1,234.56`` / ``-$0.40``: a cause's amount as the explanation shows it."""
    value = cents(amount)
    return f"{'-' if value < 0 else '+'}${abs(value):,.2f}"


def dollars(amount: float) -> str:
    return f"${abs(cents(amount)):,.2f}"


def issuer_table_words(facts: LotFacts) -> str:
    """What the other daily portion basis is, said from the instrument's own (method §3)."""
    if facts.daily_portion_basis is DailyPortionBasis.DAY_COUNT:
        return ("the broker gives every day of a period the same portion of its interest "
                "((b)(3)(iii)), where cpdi follows the issuer's table and spreads it by the day "
                "count (method §3)")
    return ("the broker follows the issuer's table and spreads each period's interest by the day "
            "count, where cpdi gives every day of a period the same portion ((b)(3)(iii); "
            "method §3)")


_WORDS: dict[tuple[str, str], str] = {
    ("payments_as_interest", "interest"): "the broker reports the payments received as interest, "
        "not the accrual at the comparable yield ((b)(3)(iii), (b)(6))",
    ("payments_as_interest", "stated_interest"): "the broker reports the payments received as "
        "stated interest; under the noncontingent bond method all the interest is accrued at the "
        "comparable yield ((b)(3)) and payments count only as projected payments and "
        "adjustments ((b)(6))",
    ("adjustments", "interest"): "the broker reports the accrual at the comparable yield "
        "((b)(3)(iii)) without the year's positive and negative adjustments ((b)(6))",
    ("allocation", "interest"): "the broker makes no (b)(9)(i) allocation of the difference "
        "between the lot's cost and the adjusted issue price",
    ("allocation", "basis"): "the broker's basis leaves out the (b)(9)(i) allocations to date",
    ("allocation", "discount"): "the broker reports the (b)(9)(i) allocation of a purchase "
        "discount as market discount, a rule that does not apply to a contingent payment debt "
        "instrument ((b)(9)(i)(D)); cpdi has it in interest",
    ("allocation", "accrued_discount"): "the broker reports the (b)(9)(i) allocations of a "
        "purchase discount to date as accrued market discount, a rule that does not apply to a "
        "contingent payment debt instrument ((b)(9)(i)(D)); cpdi has them in interest and basis",
    ("allocation", "premium"): "the broker reports the (b)(9)(i) allocation of a purchase premium "
        "as acquisition or bond premium, rules that do not apply to a contingent payment debt "
        "instrument ((b)(9)(i)(D)); cpdi takes it off interest as a negative adjustment",
    ("projected_vs_actual", "interest"): "the broker leaves out the adjustment for the actual "
        "final payment against its projection ((b)(6)(i), (b)(7)(iv))",
    ("projected_vs_actual", "proceeds"): "the broker reports the actual final payment as "
        "proceeds, where at maturity the holder is treated as receiving the projected one "
        "((b)(7)(iv)) and the difference is an adjustment ((b)(6)(i))",
    ("carryforward", "interest"): "the broker does not apply the prior year's negative "
        "adjustment carryforward ((b)(6)(iii)(C))",
    ("carryforward", "proceeds"): "the broker reports the amount realized, reduced by the "
        "negative adjustment carryforward ((b)(6)(iii)(C)), where Form 8949 shows the proceeds "
        "and takes the carryforward out in column (g)",
    ("disposition_gain", "interest"): "the broker includes the gain on the disposition, interest "
        "under (b)(8)(i) that cpdi reports on its own line",
    ("original_cost", "basis"): "the broker reports the lot's original cost, not its adjusted "
        "basis at disposition ((b)(7)(iii))",
    ("stock_value", "proceeds"): "the broker reports only the cash received on the conversion; "
        "the fair market value of the stock received is part of the amount realized (Rev. Rul. "
        "2002-31)",
}


def cause_words(name: str, kind: str, facts: tuple[LotFacts, ...]) -> str:
    """The phrase that names a cause for a box of ``kind`` (without its amount)."""
    if name == "issuer_table":
        return issuer_table_words(facts[0])
    return _WORDS[(name, kind)]


def cause(name: str, kind: str, amount: float, facts: tuple[LotFacts, ...]) -> Cause:
    words = cause_words(name, kind, facts)
    return Cause(name, amount, f"{words[0].upper()}{words[1:]} ({signed_dollars(amount)}).")


# --- the search ------------------------------------------------------------------------------


def figure_total(kind: str, facts: tuple[LotFacts, ...], causes: frozenset) -> float:
    return sum(figure_under(kind, f, causes) for f in facts)


def steps(kind: str, facts: tuple[LotFacts, ...], chosen: tuple[str, ...]) -> list[tuple[str, float]]:
    """Each cause of ``chosen`` with the amount it moves the figure by, taken one after the
    other in :data:`CAUSES_OF` order from cpdi's figure (so the amounts add up to the broker's
    figure under all of them, less cpdi's)."""
    taken: frozenset = frozenset()
    before = figure_total(kind, facts, taken)
    out = []
    for name in chosen:
        taken = taken | {name}
        after = figure_total(kind, facts, taken)
        out.append((name, after - before))
        before = after
    return out


def explaining_causes(kind: str, facts: tuple[LotFacts, ...], difference: float,
                      tolerance: float) -> list[tuple[str, float]] | None:
    """The smallest subset of the causes of ``kind`` whose steps add up to ``difference`` within
    ``tolerance`` (the closest among subsets of one size; ties by :data:`CAUSES_OF` order), each
    step at least half a cent; ``None`` when no subset does."""
    names = CAUSES_OF[kind]
    for size in range(1, len(names) + 1):
        best, best_gap = None, None
        for chosen in combinations(names, size):
            found = steps(kind, facts, chosen)
            if any(abs(amount) < HALF_CENT for _, amount in found):
                continue
            gap = round(abs(difference - sum(amount for _, amount in found)), 6)
            if gap <= tolerance and (best_gap is None or gap < best_gap):
                best, best_gap = found, gap
        if best is not None:
            return best
    return None


def single_causes(kind: str, facts: tuple[LotFacts, ...]) -> list[tuple[str, float]]:
    """Each cause of ``kind`` alone, where it moves the figure at all (shown on a flagged line:
    what was tried)."""
    found = [(name, steps(kind, facts, (name,))[0][1]) for name in CAUSES_OF[kind]]
    return [(name, amount) for name, amount in found if abs(amount) >= HALF_CENT]


# --- the lines -------------------------------------------------------------------------------


def higher_or_lower(difference: float) -> str:
    return "higher" if difference > 0 else "lower"


WHAT_TO_CHECK = ("Check the broker's figure, the lot's dates and cost in lots.csv, and the note's "
                 "rows in payments.csv.")


def agreeing_line(base: dict, difference: float, tolerance: float) -> ReconciliationLine:
    """A difference within rounding alone."""
    if abs(difference) < HALF_CENT:
        text, causes = "Agrees with cpdi's figure.", ()
    else:
        text = (f"The broker's figure is {dollars(difference)} {higher_or_lower(difference)}: "
                f"rounding (up to {dollars(tolerance)} for this figure).")
        causes = (Cause("rounding", difference, f"Rounding ({signed_dollars(difference)})."),)
    return ReconciliationLine(**base, explanation=text, explained=True, causes=causes)


def explained_line(base: dict, kind: str, facts: tuple[LotFacts, ...], difference: float,
                   found: list[tuple[str, float]]) -> ReconciliationLine:
    """A difference the causes ``found`` add up to (with rounding, if any is left)."""
    causes = [cause(name, kind, amount, facts) for name, amount in found]
    phrases = [f"{cause_words(name, kind, facts)} ({signed_dollars(amount)})" for name, amount in found]
    text = (f"The broker's figure is {dollars(difference)} {higher_or_lower(difference)}: "
            + "; and ".join(phrases) + ".")
    left = difference - sum(amount for _, amount in found)
    if abs(left) >= HALF_CENT:
        causes.append(Cause("rounding", left, f"Rounding ({signed_dollars(left)})."))
        text += f" Rounding accounts for the other {signed_dollars(left)}."
    return ReconciliationLine(**base, explanation=text, explained=True, causes=tuple(causes))


def flagged_line(base: dict, kind: str, facts: tuple[LotFacts, ...],
                 difference: float) -> ReconciliationLine:
    """A difference no combination of the known causes adds up to: flagged, with what to
    check, and the causes that were tried."""
    if kind == "wash_sale":
        text = (f"Not explained: the broker reports {dollars(difference)} of wash sale loss "
                "disallowed, and cpdi does not apply the wash sale rule (section 1091). Check "
                "for a purchase of the note within 30 days of the loss sale, and enter the "
                "disallowed loss on Form 8949 with code W.")
        return ReconciliationLine(**base, explanation=text, explained=False)
    tried = single_causes(kind, facts)
    text = (f"Not explained: the broker's figure is {dollars(difference)} "
            f"{higher_or_lower(difference)}, and no combination of the known causes adds up to it")
    if tried:
        text += " (" + ", ".join(f"{name.replace('_', ' ')} {signed_dollars(amount)}"
                                 for name, amount in tried) + ")"
    text += ". " + WHAT_TO_CHECK
    return ReconciliationLine(**base, explanation=text, explained=False)


def missing_line(base: dict, figure: BrokerFigure, kind: str, year: int) -> ReconciliationLine:
    """A figure cpdi has nothing of its own for in the year: flagged."""
    if kind in LOT_KINDS:
        text = (f"Not explained: cpdi has no disposition of lot {figure.lot_id} in {year}. Check "
                "the lot's disposition_date in lots.csv, the note's maturity and any redemption "
                "row in payments.csv, and that the lot was computed (see the input problems).")
    else:
        lots = f"lot {figure.lot_id}" if figure.lot_id else "lot"
        text = (f"Not explained: cpdi has no {lots} of {figure.holder_id} in "
                f"{figure.instrument_id} held in {year}. Check the lot's dates in lots.csv and "
                "that the lot was computed (see the input problems).")
    return ReconciliationLine(**base, explanation=text, explained=False)


def figure_facts(figure: BrokerFigure, kind: str, facts_by_holding: dict) -> tuple[LotFacts, ...]:
    """The lots a figure covers: its lot, or every lot of the holder in the note held in the
    year; a 1099-B figure only when its lot was disposed of in the year."""
    lots = facts_by_holding.get((figure.holder_id, figure.instrument_id), ())
    if figure.lot_id:
        lots = tuple(f for f in lots if f.lot_id == figure.lot_id)
    if figure.form == "1099-B":
        lots = tuple(f for f in lots if f.row.disposition_date is not None)
    return tuple(lots)


def reconcile_figure(figure: BrokerFigure, facts: tuple[LotFacts, ...],
                     year: int) -> ReconciliationLine:
    """One broker figure against cpdi's (module docstring)."""
    kind = box_of_figure(figure)
    cpdi_amount = figure_total(kind, facts, frozenset())
    difference = figure.amount - cpdi_amount
    tolerance = tolerance_for(len(facts))
    base = dict(holder_id=figure.holder_id, instrument_id=figure.instrument_id, form=figure.form,
                box=figure.box, broker_amount=figure.amount, cpdi_amount=cpdi_amount,
                difference=difference, lot_id=figure.lot_id or "", tolerance=tolerance,
                lots=len(facts), row=figure.row)
    if not facts:
        if abs(figure.amount) < HALF_CENT and kind not in LOT_KINDS:
            return agreeing_line(base, difference, tolerance)
        return missing_line(base, figure, kind, year)
    if abs(difference) <= tolerance:
        return agreeing_line(base, difference, tolerance)
    found = explaining_causes(kind, facts, difference, tolerance)
    if found is None:
        return flagged_line(base, kind, facts, difference)
    return explained_line(base, kind, facts, difference, found)


def line_order(holder_order: dict):
    """Sort key: holder in the forms' order (others after, by id), then note, form, box, lot."""
    box_order = {key: index for index, key in enumerate(BOXES)}

    def key(figure: BrokerFigure):
        return (holder_order.get(figure.holder_id, len(holder_order)), figure.holder_id,
                figure.instrument_id, FORMS.index(figure.form),
                box_order[(figure.form, figure.box)], figure.lot_id or "")
    return key


def reconcile(figures, forms: dict, ledgers, year: int,
              schedules: dict) -> tuple[ReconciliationLine, ...]:
    """Every broker figure of ``year`` against cpdi's (module docstring; method §12).

    ``figures`` are the :class:`BrokerFigure` of the input (those of other years are left
    out); ``forms`` is ``holder_id -> HolderForms`` (its order is the holders' order);
    ``ledgers`` the :class:`LotLedger` of the computation, through ``year`` or later;
    ``schedules`` ``instrument_id -> AccrualSchedule``, from which the other daily portion
    basis is built.  Pure: nothing is read or written."""
    mine = [f for f in figures if f.tax_year == year and (f.form, f.box) in BOXES]
    if not mine:
        return ()
    wanted = {(f.holder_id, f.instrument_id) for f in mine}
    other = _OtherBasis(schedules)
    facts_by_holding: dict[tuple[str, str], tuple[LotFacts, ...]] = {}
    for ledger in ledgers:
        lot = ledger.lot
        if (lot.holder_id, lot.instrument_id) not in wanted:
            continue
        facts = lot_facts(ledger, year, other)
        if facts is not None:
            key = (lot.holder_id, lot.instrument_id)
            facts_by_holding[key] = facts_by_holding.get(key, ()) + (facts,)
    holder_order = {holder_id: index for index, holder_id in enumerate(forms)}
    return tuple(
        reconcile_figure(figure, figure_facts(figure, box_of_figure(figure), facts_by_holding), year)
        for figure in sorted(mine, key=line_order(holder_order))
    )

"""The holder ledger: one lot, every tax year (method §4–7).

For each calendar (tax) year the lot is held::

    interest accrued      Σ daily portions of held days × units                (b)(3)(iii)
    positive / negative   actual − projected on payments received              (b)(6)(i)
      adjustments         + the (b)(9)(i) allocations of the year              (b)(9)(i)(B),(C)
    netting               against the carryforward from the prior year         (b)(6)(ii),(iii)
    adjusted basis        cost + accrued − projected payments ± (b)(9)(i)      (b)(7)(iii)
    disposition           sale, issuer call or retirement at maturity          (b)(7)(iv),(v), (b)(8)

The engine is pure: it gets the schedule, the lot and the instrument's actual payments, and
returns frozen rows.  Money stays unrounded.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, fields, replace
from datetime import date, timedelta

from cpdi.engine.adjustments import AnnualNetting, net_adjustments, payment_adjustment
from cpdi.engine.basis_allocation import BasisAllocation, allocate_basis_difference
from cpdi.engine.disposition import amount_realized, character_of_gain_or_loss
from cpdi.engine.holding import Ending, HeldSegment, HoldingPeriod, held_segments, holding_period
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import DispositionKind, Lot, PaymentType
from cpdi.problems import CpdiError


class MissingContingentPayment(CpdiError):
    """A contingent payment the lot received has no actual amount (method §5: never assumed)."""

    def __init__(self, instrument_id: str, due: date):
        self.instrument_id = instrument_id
        self.due = due
        super().__init__(
            f"no actual amount for the contingent payment of {instrument_id} due {due.isoformat()}"
        )


@dataclass(frozen=True)
class ActualPayments:
    """An instrument's actual payments per unit of principal: scheduled ones by date, and the
    issuer call (redemption), if any."""

    scheduled: dict  # date -> amount per unit
    call_date: date | None = None
    redemption_amount: float | None = None


NO_PAYMENTS = ActualPayments({})


@dataclass(frozen=True)
class PaymentReceived:
    """A scheduled payment the lot received (dollars, whole lot)."""

    date: date
    period_index: int
    payment_type: PaymentType
    projected: float
    actual: float
    actual_supplied: bool  # False: a fixed payment taken at its projection (method §5)

    @property
    def adjustment(self) -> float:
        return payment_adjustment(self.actual, self.projected)


# The results ledger's columns, in the order docs/formats.md fixes (a public contract).
LEDGER_COLUMNS = (
    "holder_id", "lot_id", "instrument_id", "tax_year", "days_held", "interest_accrued",
    "positive_adjustments", "negative_adjustments", "carryforward_in",
    "net_positive_adjustment", "net_negative_adjustment", "interest_reduction",
    "interest_income", "ordinary_loss", "carryforward_out", "adjusted_basis_end",
    "disposition_date", "amount_realized", "gain_loss", "ordinary_income_on_disposition",
    "ordinary_loss_on_disposition", "capital_loss_on_disposition", "capital_gain_on_disposition",
)


@dataclass(frozen=True)
class LotYear:
    """One row of the results ledger (docs/formats.md), plus the detail the workpapers show."""

    holder_id: str
    lot_id: str
    instrument_id: str
    tax_year: int
    days_held: int
    interest_accrued: float
    positive_adjustments: float
    negative_adjustments: float
    carryforward_in: float
    net_positive_adjustment: float
    net_negative_adjustment: float
    interest_reduction: float
    interest_income: float
    ordinary_loss: float
    carryforward_out: float
    adjusted_basis_end: float
    disposition_date: date | None
    amount_realized: float
    gain_loss: float
    ordinary_income_on_disposition: float
    ordinary_loss_on_disposition: float
    capital_loss_on_disposition: float
    capital_gain_on_disposition: float
    # -- detail beyond the ledger contract ------------------------------------------------
    adjusted_basis_start: float = 0.0
    projected_payments_received: float = 0.0  # reduce basis (b)(7)(iii)
    actual_payments_received: float = 0.0  # cash
    allocation_adjustments: float = 0.0  # (b)(9)(i), signed: + raises basis
    ending: str = ""  # sale / conversion / call / maturity on the disposition row
    consideration: float = 0.0  # proceeds, redemption or projected final payment (+ stock FMV)
    stock_fair_market_value: float = 0.0  # conversion: the stock received, also its basis
    fixing_adjustments: float = 0.0  # (b)(9)(ii)(A)/(G) adjustments of the year, signed: + raises basis
    unaccrued_positive_adjustment: float = 0.0  # (b)(8)(iii)(B): gain treated as interest up to this


@dataclass(frozen=True)
class LotLedger:
    """Everything the engine worked out for one lot."""

    lot: Lot
    units: float
    holding: HoldingPeriod
    allocation: BasisAllocation
    segments: tuple[HeldSegment, ...]
    payments: tuple[PaymentReceived, ...]
    years: tuple[LotYear, ...]


def units_of(lot: Lot, unit_principal: float) -> float:
    """``units = principal_amount / unit_principal`` (method §4)."""
    return lot.principal_amount / unit_principal


def payments_received(
    schedule: AccrualSchedule, holding: HoldingPeriod, actuals: ActualPayments, units: float
) -> list[PaymentReceived]:
    """Scheduled payments due on a day the lot holds (method §4), with their actual amounts.

    A fixed payment with no actual amount is taken as paid at its projection; a contingent one
    is an error (method §5, docs/formats.md)."""
    received = []
    periods = schedule.periods
    for index in range(schedule.first_period_ending_on_or_after(holding.first_day), len(periods)):
        period = periods[index]
        if period.period_end > holding.last_day:
            break
        if not period.payment_due:  # the period ends on a fixing date (b)(9)(ii)(C)
            continue
        actual = actuals.scheduled.get(period.period_end)
        supplied = actual is not None
        if actual is None:
            if period.payment_type is PaymentType.CONTINGENT:
                raise MissingContingentPayment(schedule.instrument.instrument_id, period.period_end)
            actual = period.projected_payment
        received.append(
            PaymentReceived(
                period.period_end, index, period.payment_type,
                period.projected_payment * units, actual * units, supplied,
            )
        )
    return received


def contingent_payment_remains(schedule: AccrualSchedule, on: date) -> bool:
    """Is a contingent payment still due on or after ``on`` under the projected payment
    schedule?  If not, (b)(8)(iii)(A) makes the disposition's gain or loss capital.  A payment
    fixed more than six months early is contingent only through its fixing date
    ((b)(9)(ii)(B); (b)(8)(iii)(A) refers to (b)(9)(ii))."""
    if schedule.last_contingent_due is not None and schedule.last_contingent_due >= on:
        return True
    return any(f.due >= on and f.fixed_on >= on for f in schedule.fixings)


@dataclass(frozen=True)
class FixingShare:
    """A lot's part in the (b)(9)(ii) fixings: signed adjustments by year (dollars) and the
    positive (G) adjustment still to be taken into account when its holding ends."""

    by_year: dict
    unaccrued_positive: float


def fixing_adjustments(schedule: AccrualSchedule, holding: HoldingPeriod,
                       computed: HoldingPeriod, units: float) -> FixingShare:
    """The (b)(9)(ii) adjustments a lot takes (method §13).  They belong to a lot that holds the
    fixing date (the day the adjustment is made, (b)(9)(ii)(A)): all on that day, or — for
    payments fixed together under (b)(9)(ii)(G) — evenly over the days from the day after the
    fixing through the due date that the lot goes on holding.  Only days the ledger computes
    count (an opened-later lot's earlier ones are in its opening balances).  The positive (G)
    adjustment left when the holding ends is what (b)(8)(iii)(B) treats as interest."""
    by_year: dict[int, float] = defaultdict(float)
    unaccrued = 0.0
    for fixing in schedule.fixings:
        if not holding.holds(fixing.fixed_on):
            continue
        whole = fixing.adjustment * units
        if not fixing.spread:
            if computed.holds(fixing.fixed_on):
                by_year[fixing.fixed_on.year] += whole
            continue
        first = max(fixing.fixed_on + timedelta(days=1), computed.first_day)
        last = min(fixing.due, computed.last_day)
        while first <= last:
            year_last = min(last, date(first.year, 12, 31))
            days = (year_last - first).days + 1
            by_year[first.year] += whole * days / fixing.spread_days
            first = year_last + timedelta(days=1)
        if whole > 0 and holding.last_day < fixing.due:
            unaccrued += whole - fixing.spread_through(holding.last_day) * units
    return FixingShare(by_year, unaccrued)


def _split(amount: float) -> tuple[float, float]:
    """A signed adjustment as (positive, negative) parts."""
    return (amount, 0.0) if amount >= 0.0 else (0.0, -amount)


def lot_ledger(
    schedule: AccrualSchedule,
    lot: Lot,
    actuals: ActualPayments,
    through_year: int,
) -> LotLedger:
    """Compute a lot's ledger from its acquisition year through ``through_year`` or the year
    of its disposition (docs/formats.md, results ledger)."""
    instrument = schedule.instrument
    units = units_of(lot, instrument.unit_principal)
    horizon = date(through_year, 12, 31)
    holding = holding_period(
        lot.acquisition_date, lot.disposition_date, instrument.maturity_date,
        actuals.call_date, horizon, lot.disposition_kind is DispositionKind.CONVERSION,
    )
    allocation = allocate_basis_difference(schedule, lot, units)  # from acquisition (b)(9)(i)
    computed = days_computed(holding, lot)
    segments = held_segments(
        schedule.periods, computed, schedule.first_period_ending_on_or_after(computed.first_day)
    )
    payments = payments_received(schedule, computed, actuals, units)

    # -- gather the year's amounts ----------------------------------------------------------
    accrued = defaultdict(float)
    positive = defaultdict(float)
    negative = defaultdict(float)
    allocated = defaultdict(float)
    projected_received = defaultdict(float)
    cash = defaultdict(float)
    for seg in segments:  # daily portions (b)(3)(iii) and daily allocations (b)(9)(i)
        weight = seg.weighted_days  # calendar days, or day-count days (method §3)
        accrued[seg.year] += schedule.periods[seg.period_index].daily_portion * weight * units
        share = allocation.per_day[seg.period_index] * weight
        if share:
            allocated[seg.year] += share
            pos, neg = _split(share)
            positive[seg.year] += pos
            negative[seg.year] += neg
    for on, amount in allocation.at_dates:  # allocations to a payment (b)(9)(i)
        fixing = schedule.fixing_of(on)
        if fixing is not None and holding.holds(fixing.fixed_on):
            on = fixing.fixed_on  # an adjustment on the fixing date instead (b)(9)(ii)(E)
        if computed.holds(on):  # only if the lot still holds that payment (method §6)
            allocated[on.year] += amount
            pos, neg = _split(amount)
            positive[on.year] += pos
            negative[on.year] += neg
    fixed = fixing_adjustments(schedule, holding, computed, units)
    for year, amount in fixed.by_year.items():  # (b)(9)(ii)(A), (D), (G)
        pos, neg = _split(amount)
        positive[year] += pos
        negative[year] += neg
    final_payment = None
    for payment in payments:  # actual vs projected (b)(6)(i)
        pos, neg = _split(payment.adjustment)
        positive[payment.date.year] += pos
        negative[payment.date.year] += neg
        cash[payment.date.year] += payment.actual
        if holding.ending is Ending.MATURITY and payment.date == instrument.maturity_date:
            final_payment = payment  # treated as the amount realized (b)(7)(iv)
        else:
            projected_received[payment.date.year] += payment.projected

    # -- year by year -------------------------------------------------------------------------
    first_year = computed.first_day.year
    last_year = holding.disposition_date.year if holding.disposition_date else through_year
    rows = []
    basis, carryforward, inclusions, ordinary_losses = opening_state(lot)
    for year in range(first_year, last_year + 1):
        netting: AnnualNetting = net_adjustments(
            accrued[year], positive[year], negative[year], carryforward, inclusions, ordinary_losses
        )
        inclusions += netting.interest_income
        ordinary_losses += netting.ordinary_loss
        basis_start = basis
        basis = (basis + accrued[year] + allocated[year] + fixed.by_year.get(year, 0.0)
                 - projected_received[year])  # (b)(7)(iii), (b)(9)(ii)(D)
        disposal = {}
        carryforward_out = netting.carryforward_out
        if holding.disposition_date is not None and year == holding.disposition_date.year:
            consideration = _consideration(holding, lot, actuals, final_payment, units)
            realized = amount_realized(consideration, netting.carryforward_out)
            character = character_of_gain_or_loss(
                realized - basis, inclusions, ordinary_losses,
                contingent_payment_remains(schedule, holding.disposition_date), realized,
                fixed.unaccrued_positive,
            )
            carryforward_out = 0.0  # used up in the amount realized (b)(6)(iii)(C)
            disposal = dict(
                disposition_date=holding.disposition_date,
                amount_realized=character.amount_realized,
                gain_loss=character.gain_loss,
                ordinary_income_on_disposition=character.ordinary_income,
                ordinary_loss_on_disposition=character.ordinary_loss,
                capital_loss_on_disposition=character.capital_loss,
                capital_gain_on_disposition=character.capital_gain,
                ending=holding.ending.value,
                consideration=consideration,
                stock_fair_market_value=_stock_received(holding, lot),
                unaccrued_positive_adjustment=fixed.unaccrued_positive,
            )
        rows.append(
            LotYear(
                holder_id=lot.holder_id,
                lot_id=lot.lot_id,
                instrument_id=lot.instrument_id,
                tax_year=year,
                days_held=holding.days_in_year(year),
                interest_accrued=accrued[year],
                positive_adjustments=positive[year],
                negative_adjustments=negative[year],
                carryforward_in=carryforward,
                net_positive_adjustment=netting.net_positive_adjustment,
                net_negative_adjustment=netting.net_negative_adjustment,
                interest_reduction=netting.interest_reduction,
                interest_income=netting.interest_income,
                ordinary_loss=netting.ordinary_loss,
                carryforward_out=carryforward_out,
                adjusted_basis_end=basis,
                disposition_date=disposal.get("disposition_date"),
                amount_realized=disposal.get("amount_realized", 0.0),
                gain_loss=disposal.get("gain_loss", 0.0),
                ordinary_income_on_disposition=disposal.get("ordinary_income_on_disposition", 0.0),
                ordinary_loss_on_disposition=disposal.get("ordinary_loss_on_disposition", 0.0),
                capital_loss_on_disposition=disposal.get("capital_loss_on_disposition", 0.0),
                capital_gain_on_disposition=disposal.get("capital_gain_on_disposition", 0.0),
                adjusted_basis_start=basis_start,
                projected_payments_received=projected_received[year],
                actual_payments_received=cash[year],
                allocation_adjustments=allocated[year],
                ending=disposal.get("ending", ""),
                consideration=disposal.get("consideration", 0.0),
                stock_fair_market_value=disposal.get("stock_fair_market_value", 0.0),
                fixing_adjustments=fixed.by_year.get(year, 0.0),
                unaccrued_positive_adjustment=disposal.get("unaccrued_positive_adjustment", 0.0),
            )
        )
        carryforward = netting.carryforward_out
    return LotLedger(lot, units, holding, allocation, tuple(segments), tuple(payments), tuple(rows))


def days_computed(holding: HoldingPeriod, lot: Lot) -> HoldingPeriod:
    """The part of the holding the ledger computes: all of it, or from 1 January of a lot's
    ``opening_year`` (method §14) — the days, payments and adjustments before it were computed
    elsewhere and arrive as the opening balances."""
    if not lot.opens_later:
        return holding
    start = date(lot.opening_year, 1, 1)
    return replace(holding, first_day=max(holding.first_day, start))


def opening_state(lot: Lot) -> tuple[float, float, float, float]:
    """``(adjusted basis, carryforward, total interest inclusions, total ordinary losses)`` on
    the first day the ledger computes: the cost and nothing else for a lot computed from its
    acquisition; its opening balances for a lot taken over in ``opening_year`` (method §14):
    the carryforward is the (b)(6)(iii)(C) negative adjustment on 1 January, and the prior
    inclusions and ordinary losses set the (b)(6)(iii)(B) and (b)(8)(ii) limits."""
    if not lot.opens_later:
        return lot.cost_basis, 0.0, 0.0, 0.0
    return (lot.opening_adjusted_basis, lot.opening_carryforward,
            lot.prior_interest_inclusions, lot.prior_ordinary_losses)


def _stock_received(holding: HoldingPeriod, lot: Lot) -> float:
    """The fair market value of the stock a converted lot receives: part of its amount
    realized, and the stock's basis (method §7; Rev. Rul. 2002-31)."""
    if holding.ending is not Ending.CONVERSION:
        return 0.0
    return lot.stock_fair_market_value or 0.0


def _consideration(holding, lot, actuals, final_payment, units) -> float:
    """What the lot is treated as receiving for the disposition: sale proceeds; the stock's
    fair market value plus any cash on a conversion (Rev. Rul. 2002-31); the redemption
    amount on a call (b)(7)(v); the *projected* final payment at maturity (b)(7)(iv)."""
    if holding.ending is Ending.SALE:
        return lot.proceeds or 0.0
    if holding.ending is Ending.CONVERSION:
        return _stock_received(holding, lot) + (lot.proceeds or 0.0)
    if holding.ending is Ending.CALL:
        return (actuals.redemption_amount or 0.0) * units
    return final_payment.projected if final_payment is not None else 0.0


def ledger_row_values(row: LotYear) -> tuple:
    """The ledger contract's columns of a row, in order (docs/formats.md)."""
    return tuple(getattr(row, name) for name in LEDGER_COLUMNS)


assert set(LEDGER_COLUMNS) <= {f.name for f in fields(LotYear)}

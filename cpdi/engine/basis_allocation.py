"""Basis different from the adjusted issue price, (b)(9)(i) (method §6).

(b)(9)(i)(A): if a holder's basis differs from the adjusted issue price, the holder "must
reasonably allocate any difference … to daily portions of interest or projected payments over
the remaining term".  (B): a difference allocated to a daily portion or a payment, where the basis
is *less* than the AIP, is a positive adjustment on the date the daily portion accrues or the
payment is made; (C): where the basis is *greater*, a negative adjustment.  Each moves the
holder's basis by the same amount.  (D): the premium and market discount rules do not apply.

``difference = AIP(A) × units − cost``: positive is a discount (positive adjustments, basis
rises), negative a premium (negative adjustments, basis falls).

An allocation is expressed in two shapes the ledger can sum over any days:

* ``per_day[k]`` — dollars (signed, whole lot) allocated to each held day of accrual period k;
* ``at_dates`` — dollars allocated to the payment due on a date (here: the payment at maturity).

An explicit per-date allocation supplied by a user later needs nothing more than these.
Whatever is not yet allocated when the lot is disposed of stays in basis (method §6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import BasisAllocationMethod, Lot
from cpdi.problems import CpdiError


_ONE_DAY = timedelta(days=1)


class AllocationError(CpdiError):
    """A (b)(9)(i) allocation that cannot be made as the lot asks."""


@dataclass(frozen=True)
class BasisAllocation:
    """The (b)(9)(i) allocation of one lot (dollars, whole lot, signed: + discount)."""

    difference: float
    per_day: tuple[float, ...]  # by accrual period index; 0.0 for periods before acquisition
    at_dates: tuple[tuple[date, float], ...] = ()
    holder_yield: float | None = None  # decimal, for the yield method

    @staticmethod
    def none(period_count: int) -> "BasisAllocation":
        return BasisAllocation(0.0, (0.0,) * period_count, ())


def basis_difference(schedule: AccrualSchedule, acquisition_date: date, units: float, cost: float) -> float:
    """``AIP(A) × units − cost`` (b)(9)(i)(A): positive when bought below the adjusted issue
    price (a discount), negative when bought above it (a premium)."""
    return schedule.adjusted_issue_price(acquisition_date) * units - cost


def accruing_days(schedule: AccrualSchedule, acquisition_date: date):
    """(period index, held days) for every period with days from ``acquisition_date`` to
    maturity (the remaining term), per method §2's day convention.  The days are counted as
    the instrument's daily portion basis counts them (method §3): calendar days, or their
    day-count weight, so that ``per_day × weight`` is what the ledger allocates."""
    a = acquisition_date.toordinal()
    for index, period in enumerate(schedule.periods):
        start = period.period_start.toordinal()
        end = period.period_end.toordinal()
        if end < a:
            continue
        if period.weighting is not None:
            held = period.held_weight(max(period.period_start + _ONE_DAY, acquisition_date),
                                      period.period_end)
            if held > 0:
                yield index, held
            continue
        first = max(start + 1, a)
        yield index, end - first + 1


HALF_A_CENT = 0.005
"""How far ``allocate_to_maturity`` may exceed the whole (b)(9)(i) difference and still be
read as the whole difference: money typed in cents is read as cents (method §6)."""


def _dollars(value: float, other: float) -> str:
    """``value`` with enough decimals to tell it from ``other``: six, or as many more as it
    takes (a refusal never reads "0.40 exceeds 0.40"); its repr if no number of decimals
    does."""
    for places in range(6, 18):
        text = f"{value:,.{places}f}"
        if text != f"{other:,.{places}f}":
            return text
    return repr(value)


def _maturity_part(difference: float, allocate_to_maturity: float | None) -> float:
    """The part of the difference the lot sends to the payment at maturity
    (``allocate_to_maturity``, dollars of the difference, taking its sign; method §6).

    Money typed in cents is read as cents: a user who types the difference rounded to the
    cent (0.40 when the exact difference is 0.3999999 or 0.4000004) means the whole
    difference.  So an ``allocate_to_maturity`` up to half a cent (``HALF_A_CENT``) more than
    the whole difference is accepted and clamped to the difference — nothing beyond the
    difference is ever allocated; more than half a cent over is refused with both figures and
    the excess to six decimals, or more where six would print them alike."""
    if not allocate_to_maturity:
        return 0.0
    if allocate_to_maturity < 0:
        raise AllocationError(
            f"allocate_to_maturity {allocate_to_maturity!r} must not be negative"
        )
    whole = abs(difference)
    if allocate_to_maturity > whole + HALF_A_CENT:
        raise AllocationError(
            f"allocate_to_maturity {_dollars(allocate_to_maturity, whole)} exceeds the whole "
            f"difference between basis and adjusted issue price ({_dollars(whole, allocate_to_maturity)}) "
            f"by {_dollars(allocate_to_maturity - whole, HALF_A_CENT)}, more than half a cent"
        )
    return math.copysign(min(allocate_to_maturity, whole), difference)


def allocate_proportional(schedule: AccrualSchedule, lot: Lot, difference: float) -> BasisAllocation:
    """``proportional`` (default): each remaining day gets ``part × daily portion ÷ total daily
    portions from A to maturity`` — the (b)(9)(i)(E) safe harbor for exchange-listed property
    and the pro-rata part of (b)(9)(i)(F) Example 2(A) (method §6)."""
    at_maturity = _maturity_part(difference, lot.allocate_to_maturity)
    part = difference - at_maturity
    per_day = [0.0] * len(schedule.periods)
    total = sum(schedule.periods[k].daily_portion * n for k, n in accruing_days(schedule, lot.acquisition_date))
    if part and total > 0:
        for k, _ in accruing_days(schedule, lot.acquisition_date):
            per_day[k] = part * schedule.periods[k].daily_portion / total
    elif part:
        at_maturity = difference  # no interest left to carry it: the payment at maturity
    return _with_maturity(schedule, difference, per_day, at_maturity)


def allocate_straight_line(schedule: AccrualSchedule, lot: Lot, difference: float) -> BasisAllocation:
    """``straight_line``: an equal amount per remaining (accruing) day to maturity (method §6)."""
    at_maturity = _maturity_part(difference, lot.allocate_to_maturity)
    part = difference - at_maturity
    days = sum(n for _, n in accruing_days(schedule, lot.acquisition_date))
    per_day = [0.0] * len(schedule.periods)
    if part and days:
        for k, _ in accruing_days(schedule, lot.acquisition_date):
            per_day[k] = part / days
    return _with_maturity(schedule, difference, per_day, at_maturity)


def allocate_to_maturity(schedule: AccrualSchedule, lot: Lot, difference: float) -> BasisAllocation:
    """``maturity``: the whole difference to the payment at maturity — (b)(9)(i)(F) Example 1,
    where a premium reflects a higher expected contingent payment (method §6)."""
    return _with_maturity(schedule, difference, [0.0] * len(schedule.periods), difference)


def _with_maturity(schedule, difference, per_day, at_maturity) -> BasisAllocation:
    at_dates = ((schedule.instrument.maturity_date, at_maturity),) if at_maturity else ()
    return BasisAllocation(difference, tuple(per_day), at_dates)


def _holder_track(schedule: AccrualSchedule, lot: Lot, units: float, holder_yield: float):
    """The holder's own yield track (method §6, (b)(9)(i)(F) Example 2(B)): starts at cost,
    accrues ``H × j × year_fraction`` per period (pro rata by days in the partial first
    period) and falls by the projected payments.  Returns (per-period holder accruals by index,
    basis left after the final projected payment)."""
    basis = lot.cost_basis
    accruals = {}
    for k, held in accruing_days(schedule, lot.acquisition_date):
        period = schedule.periods[k]
        accrual = basis * holder_yield * period.year_fraction * (held / period.weight)
        accruals[k] = accrual
        basis += accrual - period.projected_payment * units
    return accruals, basis


def solve_holder_yield(schedule: AccrualSchedule, lot: Lot, units: float) -> float:
    """The holder yield ``j`` at which the holder track ends at exactly zero after the final
    projected payment, so the whole difference goes to daily portions (method §6).

    The track ends at ``Π(1 + j·a_k) × (cost − PV_j)`` with ``a_k = year_fraction × held share``
    and ``PV_j`` the projected payments discounted at ``j``; while every factor ``1 + j·a_k`` is
    positive the sign is that of ``cost − PV_j``, which rises with ``j``.  So we bisect
    ``cost − PV_j`` on ``(−1 / max a_k, ∞)``.  A short remaining term can need a yield far
    outside ±100% a year; the bracket widens until it holds the root."""
    steps = []
    for k, held in accruing_days(schedule, lot.acquisition_date):
        period = schedule.periods[k]
        steps.append((period.year_fraction * held / period.weight, period.projected_payment * units))
    if not steps or max(a for a, _ in steps) <= 0:
        raise AllocationError("no accrual period remains to allocate a holder yield over")

    def gap(j: float) -> float:
        discount, pv = 1.0, 0.0
        for a, payment in steps:
            discount *= 1.0 + j * a
            if discount <= 0.0:
                return -math.inf  # at the edge of the domain the PV is unbounded
            pv += payment / discount
        return lot.cost_basis - pv

    low = -1.0 / max(a for a, _ in steps) * (1.0 - 1e-12)
    high = 1.0
    while gap(high) < 0 and high < 1e12:
        high *= 2.0
    if gap(low) > 0 or gap(high) < 0:
        raise AllocationError("no holder yield makes the projected payments repay the cost basis")
    for _ in range(300):
        mid = (low + high) / 2.0
        if gap(mid) < 0:
            low = mid
        else:
            high = mid
        if high - low <= 1e-15 * max(1.0, abs(mid)):
            break
    return (low + high) / 2.0


def allocate_by_yield(schedule: AccrualSchedule, lot: Lot, difference: float, units: float) -> BasisAllocation:
    """``yield``: each period's allocation is the holder's accrual at its own yield minus the
    comparable-yield daily portions of the held days; whatever is left goes to the payment at
    maturity ((b)(9)(i)(F) Example 2(B); method §6).  Without ``holder_yield_pct`` the yield is
    solved so nothing is left over."""
    if lot.holder_yield_pct is None:
        holder_yield = solve_holder_yield(schedule, lot, units)
    else:
        holder_yield = lot.holder_yield_pct / 100.0
    accruals, _ = _holder_track(schedule, lot, units, holder_yield)
    per_day = [0.0] * len(schedule.periods)
    allocated = 0.0
    for k, held in accruing_days(schedule, lot.acquisition_date):
        period = schedule.periods[k]
        allocation = accruals[k] - period.daily_portion * held * units
        per_day[k] = allocation / held
        allocated += allocation
    remainder = difference - allocated
    if lot.holder_yield_pct is None:
        remainder = 0.0 if abs(remainder) < 1e-6 * max(1.0, abs(difference)) else remainder
    at_dates = ((schedule.instrument.maturity_date, remainder),) if remainder else ()
    return BasisAllocation(difference, tuple(per_day), at_dates, holder_yield)


def allocate_basis_difference(schedule: AccrualSchedule, lot: Lot, units: float) -> BasisAllocation:
    """(b)(9)(i): allocate ``AIP(A) × units − cost`` by the lot's ``basis_allocation``."""
    difference = basis_difference(schedule, lot.acquisition_date, units, lot.cost_basis)
    method = lot.basis_allocation
    if method is BasisAllocationMethod.YIELD:
        return allocate_by_yield(schedule, lot, difference, units)
    if difference == 0.0:
        return BasisAllocation.none(len(schedule.periods))
    if method is BasisAllocationMethod.PROPORTIONAL:
        return allocate_proportional(schedule, lot, difference)
    if method is BasisAllocationMethod.STRAIGHT_LINE:
        return allocate_straight_line(schedule, lot, difference)
    if method is BasisAllocationMethod.MATURITY:
        return allocate_to_maturity(schedule, lot, difference)
    raise AllocationError(f"unknown basis allocation method {method!r}")  # pragma: no cover

"""Contingent payments fixed more than six months before they are due, (b)(9)(ii) (method §13).

(b)(9)(ii): a contingent payment that becomes fixed within the 6-month period ending on its due
date stays a contingent payment (its difference is an ordinary (b)(6) adjustment when paid).
One fixed *more than* six months early changes the instrument from the day it is fixed:

(A) the adjustment is ``PV(fixed amount) − PV(projected amount)``, each discounted from the due
    date to the fixing date at the comparable yield; a positive or negative adjustment on the
    fixing date;
(B) the payment is no longer contingent after that date: the projected payment schedule is
    modified prospectively to the fixed amount, so no adjustment is made when it is paid;
(C) an accrual period ends on the fixing date and a new one begins the next day;
(D) the adjustment moves the adjusted issue price and the holder's basis;
(E) an amount of a (b)(9)(i) difference allocated to the payment becomes an adjustment on the
    fixing date (done by the ledger);
(G) if all the remaining contingent payments become fixed substantially contemporaneously, the
    adjustments are taken into account in a reasonable manner over the period to which they
    relate — and (b)(8)(iii)(B) then treats gain on a disposition as interest up to the
    positive adjustment not yet taken into account.

Conventions (ours, method §13; the regulation's example (b)(9)(ii)(H) reproduces with them):

* the comparable yield is "properly adjusted for the length" of a part of an accrual period by
  compounding: the part of period k from its start to the fixing date grows by
  ``(1 + r_k)^f − 1`` and the rest by ``(1 + r_k)^(1 − f) − 1``, ``f`` the part's share of the
  period's day-count days.  Splitting a period so leaves its growth, and the yield, unchanged;
* a payment is discounted along the same schedule: ``(1 + r)^(1 − f)`` for the rest of the
  fixing date's period and ``1 + r_i`` for each later period through the due date;
* "more than six months": fixed on or before the day six calendar months before the due date
  (a payment due 31 December and fixed 30 June is; one fixed 1 July is not);
* "substantially contemporaneously" (G): fixed on the same day.  The (G) adjustment of each
  payment is spread evenly over the calendar days from the day after the fixing through the
  due date, for whoever holds those days of a lot that held the fixing date; the instrument's
  schedule and adjusted issue price are those of (A), so a holder's basis reaches the adjusted
  issue price when the spread is complete.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from dateutil.relativedelta import relativedelta

from cpdi.engine.daycount import day_count_days
from cpdi.model import PaymentType
from cpdi.problems import CpdiError

SIX_MONTHS = relativedelta(months=6)


class FixingError(CpdiError):
    """A fixing the schedule cannot take (the readers refuse these first)."""


@dataclass(frozen=True)
class Fixing:
    """A contingent payment's amount as fixed on ``fixed_on`` (per unit of principal)."""

    due: date  # the period_end the payment is due on
    fixed_on: date
    amount: float


@dataclass(frozen=True)
class AppliedFixing:
    """A (b)(9)(ii) fixing as the schedule applies it (per unit of principal)."""

    due: date
    fixed_on: date
    fixed_amount: float
    projected_amount: float  # the projection it replaces
    present_value_fixed: float  # discounted from ``due`` to ``fixed_on`` (b)(9)(ii)(A)
    present_value_projected: float
    spread: bool  # (b)(9)(ii)(G): taken into account over the days to ``due``

    @property
    def adjustment(self) -> float:
        """``PV(fixed) − PV(projected)`` (b)(9)(ii)(A): + positive, − negative adjustment."""
        return self.present_value_fixed - self.present_value_projected

    @property
    def spread_days(self) -> int:
        """The calendar days a (G) adjustment is spread over: ``fixed_on + 1 … due``."""
        return (self.due - self.fixed_on).days

    def spread_through(self, last_day: date) -> float:
        """The part of the (G) adjustment taken into account through ``last_day`` (per unit)."""
        days = min(max((last_day - self.fixed_on).days, 0), self.spread_days)
        return self.adjustment * days / self.spread_days if self.spread_days else self.adjustment


def fixed_more_than_six_months_early(fixed_on: date, due: date) -> bool:
    """Is a payment fixed on ``fixed_on`` fixed *before* the 6-month period ending on its due
    date ((b)(9)(ii))?  That period is the days after ``due − 6 months`` through ``due``."""
    return fixed_on <= due - SIX_MONTHS


def deferred_fixings(periods, fixings) -> tuple[Fixing, ...]:
    """The fixings (b)(9)(ii) applies to: of a contingent payment of the schedule, fixed after
    the issue date and more than six months before it is due.  Others are no fixing at all: a
    payment fixed within six months of its due date stays contingent ((b)(9)(ii))."""
    contingent = {p.period_end for p in periods if p.payment_type is PaymentType.CONTINGENT}
    issue = periods[0].period_start if periods else None
    return tuple(sorted(
        (f for f in fixings
         if f.due in contingent and issue is not None and f.fixed_on > issue
         and fixed_more_than_six_months_early(f.fixed_on, f.due)),
        key=lambda f: (f.fixed_on, f.due),
    ))


def period_share(period, day: date, comparable_yield, maturity: date) -> float:
    """The share of ``period``'s day-count days from its start through ``day``."""
    cy = comparable_yield
    whole = day_count_days(cy.day_count, period.period_start, period.period_end,
                           period.period_end, cy.frequency, maturity)
    part = day_count_days(cy.day_count, period.period_start, period.period_end, day,
                          cy.frequency, maturity)
    return part / whole if whole > 0 else (day - period.period_start).days / period.days


def split_rates(rate: float, share: float) -> tuple[float, float]:
    """The rates of the two parts of an accrual period split at a fixing date (b)(9)(ii)(C):
    the period's growth ``1 + r`` compounded over each part's share (method §13)."""
    growth = 1.0 + rate
    return growth ** share - 1.0, growth ** (1.0 - share) - 1.0


def apply_fixings(periods, fixings, comparable_yield, maturity: date):
    """The accrual periods modified by ``fixings`` (already :func:`deferred_fixings`):
    periods split at each fixing date (C), the fixed payments in place of their projections
    (B), the adjustments added to the adjusted issue price on the fixing date (A), (D), and
    everything after recomputed at the comparable yield.  Returns ``(periods, applied)``."""
    periods = list(periods)
    applied: list[AppliedFixing] = []
    by_day: dict[date, list[Fixing]] = {}
    for fixing in fixings:
        by_day.setdefault(fixing.fixed_on, []).append(fixing)
    fixed_dues: set[date] = set()
    for day, group in sorted(by_day.items()):
        at = _split_at(periods, day, comparable_yield, maturity)  # index of the period ending on day
        remaining = {p.period_end for p in periods[at + 1:]
                     if p.payment_type is PaymentType.CONTINGENT and p.period_end not in fixed_dues}
        dues = {f.due for f in group}
        spread = bool(dues) and remaining <= dues  # (G): all remaining fixed together
        adjustment = 0.0
        for fixing in group:
            j = next(i for i in range(at + 1, len(periods)) if periods[i].period_end == fixing.due)
            factor = 1.0
            for i in range(at + 1, j + 1):
                factor /= 1.0 + periods[i].rate
            old = periods[j]
            done = AppliedFixing(fixing.due, day, fixing.amount, old.projected_payment,
                                 fixing.amount * factor, old.projected_payment * factor, spread)
            applied.append(done)
            adjustment += done.adjustment
            periods[j] = replace(old, projected_payment=fixing.amount,
                                 payment_type=PaymentType.FIXED, fixed_on=day,
                                 projected_before_fixing=old.projected_payment)
            fixed_dues.add(fixing.due)
        periods[at] = replace(periods[at], fixing_adjustment=periods[at].fixing_adjustment + adjustment)
        _recompute_from(periods, at)
    return tuple(replace(p, number=n) for n, p in enumerate(periods, start=1)), tuple(applied)


def _split_at(periods: list, day: date, comparable_yield, maturity: date) -> int:
    """Make an accrual period end on ``day`` (b)(9)(ii)(C), splitting the one that contains it;
    returns its index."""
    for index, period in enumerate(periods):
        if period.period_end == day:
            return index
        if period.period_start < day < period.period_end:
            share = period_share(period, day, comparable_yield, maturity)
            first_rate, rest_rate = split_rates(period.rate, share)
            bounds = period.weight_bounds or (period.period_start, period.period_end)
            first = replace(
                period, period_end=day, days=(day - period.period_start).days,
                year_fraction=period.year_fraction * share,
                rate=first_rate, projected_payment=0.0, payment_type=PaymentType.FIXED,
                payment_due=False, fixed_on=None, projected_before_fixing=None,
                weight_bounds=bounds,
            )
            rest = replace(
                period, period_start=day, days=(period.period_end - day).days,
                year_fraction=period.year_fraction - first.year_fraction, rate=rest_rate,
                weight_bounds=bounds, fixing_adjustment=0.0,
            )
            periods[index:index + 1] = [_reweighed(first), _reweighed(rest)]
            return index
    raise FixingError(f"fixing date {day} is not within the schedule")


def _reweighed(period):
    """A part of a split period with its own weight (its days, or its day-count days within
    the period it was cut from)."""
    if period.weighting is None:
        return replace(period, weight=period.days)
    first, last = period.weight_bounds
    through = period.weighting.through
    return replace(period, weight=through(first, last, period.period_end)
                   - through(first, last, period.period_start))


def _recompute_from(periods: list, index: int) -> None:
    """Recompute the adjusted issue price, interest and daily portions from period ``index``
    on ((b)(3)(iii), (b)(7)(ii)), the adjustments of (b)(9)(ii)(D) included."""
    aip = periods[index].adjusted_issue_price_start
    for i in range(index, len(periods)):
        p = periods[i]
        interest = aip * p.rate
        end = aip + interest + p.fixing_adjustment - p.projected_payment
        periods[i] = replace(
            p, adjusted_issue_price_start=aip, interest=interest,
            daily_portion=interest / p.weight if p.weight > 0 else 0.0,
            adjusted_issue_price_end=end,
        )
        aip = end


def describe_fixings(schedule) -> list[str]:
    """One line per payment fixed before it was paid (what ``cpdi validate`` prints under the
    instrument, method §13): the (b)(9)(ii) adjustment it makes, or why it makes none."""
    lines = []
    for given in sorted(schedule.fixings_given, key=lambda f: (f.due, f.fixed_on)):
        applied = schedule.fixing_of(given.due)
        if applied is None:
            lines.append(
                f"  payment due {given.due} fixed on {given.fixed_on}, within the six months before "
                "it is due: it stays a contingent payment, adjusted when paid ((b)(9)(ii))")
            continue
        how = (" spread to the due date with the other payments fixed that day ((b)(9)(ii)(G))"
               if applied.spread else " on that day ((b)(9)(ii)(A))")
        lines.append(
            f"  payment due {applied.due} fixed on {applied.fixed_on} at {applied.fixed_amount:.4f} "
            f"(projected {applied.projected_amount:.4f}): adjustment {applied.adjustment:+.6f} per "
            f"unit,{how}; the accrual period ends on {applied.fixed_on}")
    return lines

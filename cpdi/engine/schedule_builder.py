"""Building the accrual period grid and the projected payment schedule from a note's terms
(method §2, "How cpdi builds the grid").  Pure: no I/O.

Preparers otherwise type a projected payment schedule period by period.  From the issue date,
the maturity date and the number of periods a year, :func:`accrual_period_dates` builds the
periods; :func:`projected_schedule` puts the projected amounts on them (one per period, or a
single payment at maturity); :func:`single_payment_for_yield` solves the one payment at maturity
that makes the schedule produce the comparable yield ((b)(4)(ii)(C)).

How the periods fall (``Anchor``):

* ``maturity`` (the default) — roll back from the maturity date in steps of 12/frequency
  months; the stub, if any, is at the start (``short_first``, or ``long_first`` to merge it
  with the first regular period);
* ``issue`` — roll forward from the issue date; the stub, if any, is at the end
  (``short_last`` or ``long_last``);
* ``calendar`` — periods end on calendar year, half-year, quarter or month ends (frequency 1,
  2, 4, 12); the first and last periods are stubs as the calendar falls (``long_first`` /
  ``long_last`` merge one into its neighbour);
* ``dates`` — the period end dates listed (maturity added if missing).

Month arithmetic is on the anchor date, never step by step (no drift): the k-th roll date is
the anchor moved by k × 12/frequency months.  **End-of-month rule**: when the anchor is the
last day of its month every roll date is a month end (30 June rolls 31 December, 30 June …);
otherwise the anchor's day, clamped to the month's length (31 August rolls 28 or 29 February).

Every period is at most one year long on the dates the terms give (§1.1272-1(b)(1)(ii): an
accrual period may be of any length up to one year); a period of zero days never appears.

Business-day adjustment (``BusinessDay``, default ``none``) moves every period end, maturity
included, by the rule and calendar asked for (``cpdi.engine.business_days``); the adjusted date
ends one period and starts the next.  Issuers' CPDI tables usually use unadjusted dates (the AIG
supplement's period end dates are "not subject to adjustment"), hence the default.
"""

from __future__ import annotations

import calendar as _calendar
import enum
import math
from dataclasses import dataclass
from datetime import date
from typing import Iterable, Sequence

from dateutil.relativedelta import relativedelta

from cpdi.engine.business_days import BusinessDay, BusinessDayError, adjust
from cpdi.engine.daycount import VALID_FREQUENCIES
from cpdi.model import ComparableYield, Instrument, PaymentType, ProjectedPayment

__all__ = [
    "Anchor", "Stub", "BusinessDay", "ScheduleBuildError", "AccrualGrid",
    "accrual_period_dates", "projected_schedule", "single_payment_for_yield",
]


class Anchor(enum.Enum):
    """What the accrual periods are rolled from."""

    ISSUE = "issue"
    MATURITY = "maturity"
    CALENDAR = "calendar"
    DATES = "dates"


class Stub(enum.Enum):
    """Where an irregular period goes, and whether it stands alone (short) or is merged with
    its neighbouring regular period (long)."""

    SHORT_FIRST = "short_first"
    LONG_FIRST = "long_first"
    SHORT_LAST = "short_last"
    LONG_LAST = "long_last"


class ScheduleBuildError(ValueError):
    """Terms no grid or schedule can be built from: a one-line message naming the term to fix
    (``term``: ``frequency``, ``maturity_date``, ``stub``, ``payment_dates``, ``amounts`` …)."""

    def __init__(self, message: str, term: str | None = None):
        super().__init__(message)
        self.term = term


@dataclass(frozen=True)
class AccrualGrid:
    """The terms that shape the accrual periods (see the module docstring).

    ``stub`` ``None``: ``short_first`` rolling back from maturity, ``short_last`` rolling
    forward from issue, stubs at both ends as the calendar falls for ``calendar``; it must be
    ``None`` for ``dates``.  ``payment_dates`` only with ``Anchor.DATES``.  ``calendar`` names
    the holiday calendar of ``business_day`` (``us`` or ``none``) and ``holidays`` adds days of
    the user's own."""

    issue_date: date
    maturity_date: date
    frequency: int  # 1, 2, 4, 12
    anchor: Anchor = Anchor.MATURITY
    stub: Stub | None = None
    payment_dates: tuple[date, ...] = ()
    business_day: BusinessDay = BusinessDay.NONE
    holidays: frozenset[date] = frozenset()
    calendar: str = "us"


# -- dates -------------------------------------------------------------------------------------
def _month_end(day: date) -> date:
    return day.replace(day=_calendar.monthrange(day.year, day.month)[1])


def _is_month_end(day: date) -> bool:
    return day.day == _calendar.monthrange(day.year, day.month)[1]


def _roll(anchor: date, months: int, end_of_month: bool) -> date:
    """``anchor`` moved by ``months`` (clamped to the month's length; a month end when the
    end-of-month rule holds)."""
    try:
        day = anchor + relativedelta(months=months)
    except (ValueError, OverflowError):
        raise ScheduleBuildError(
            f"rolling {anchor.isoformat()} by {months} month(s) leaves the calendar "
            "(0001-9999): check the issue and maturity dates", "maturity_date") from None
    return _month_end(day) if end_of_month else day


def _one_year_after(start: date) -> date:
    """The last day a period starting on ``start`` may end on (one year; month ends stay month
    ends, so 28 Feb 2027 → 29 Feb 2028 is a year)."""
    return _roll(start, 12, _is_month_end(start))


def _check_terms(grid: AccrualGrid) -> None:
    for name, kind in (("anchor", Anchor), ("business_day", BusinessDay)):
        if not isinstance(getattr(grid, name), kind):
            raise ScheduleBuildError(
                f"{name} {getattr(grid, name)!r}: use one of "
                f"{', '.join(m.value for m in kind)}", name)
    if grid.stub is not None and not isinstance(grid.stub, Stub):
        raise ScheduleBuildError(
            f"stub {grid.stub!r}: use one of {', '.join(m.value for m in Stub)}", "stub")
    if isinstance(grid.frequency, bool) or grid.frequency not in VALID_FREQUENCIES:
        raise ScheduleBuildError(
            f"frequency {grid.frequency!r}: accrual periods per year must be 1, 2, 4 or 12",
            "frequency")
    if not isinstance(grid.issue_date, date) or not isinstance(grid.maturity_date, date):
        raise ScheduleBuildError("issue_date and maturity_date must be dates", "issue_date")
    if grid.maturity_date <= grid.issue_date:
        raise ScheduleBuildError(
            f"maturity_date {grid.maturity_date.isoformat()} is not after issue_date "
            f"{grid.issue_date.isoformat()}: a note matures after it is issued", "maturity_date")
    allowed = {
        Anchor.MATURITY: (None, Stub.SHORT_FIRST, Stub.LONG_FIRST),
        Anchor.ISSUE: (None, Stub.SHORT_LAST, Stub.LONG_LAST),
        Anchor.CALENDAR: (None, Stub.LONG_FIRST, Stub.LONG_LAST),
        Anchor.DATES: (None,),
    }[grid.anchor]
    if grid.stub not in allowed:
        why = {
            Anchor.MATURITY: "rolling back from maturity leaves the stub at the start: use "
                             "short_first or long_first, or anchor issue for a stub at the end",
            Anchor.ISSUE: "rolling forward from issue leaves the stub at the end: use "
                          "short_last or long_last, or anchor maturity for a stub at the start",
            Anchor.CALENDAR: "calendar periods have their stubs at both ends as the calendar "
                             "falls: only long_first or long_last changes that",
            Anchor.DATES: "the listed dates fix every period: leave the stub out",
        }[grid.anchor]
        raise ScheduleBuildError(f"stub {grid.stub.value} with anchor {grid.anchor.value}: {why}",
                                 "stub")
    if grid.payment_dates and grid.anchor is not Anchor.DATES:
        raise ScheduleBuildError(
            f"payment_dates are listed but the anchor is {grid.anchor.value}: use anchor dates "
            "to build the periods from the listed dates", "payment_dates")


def _from_maturity(grid: AccrualGrid) -> list[date]:
    step = 12 // grid.frequency
    eom = _is_month_end(grid.maturity_date)
    ends = [grid.maturity_date]
    k = 1
    while True:
        day = _roll(grid.maturity_date, -step * k, eom)
        if day <= grid.issue_date:
            break
        ends.append(day)
        k += 1
    ends.reverse()
    stub = day != grid.issue_date
    if stub and grid.stub is Stub.LONG_FIRST and len(ends) >= 2:
        del ends[0]  # the stub and the first regular period become one long first period
    return [grid.issue_date, *ends]


def _from_issue(grid: AccrualGrid) -> list[date]:
    step = 12 // grid.frequency
    eom = _is_month_end(grid.issue_date)
    starts = [grid.issue_date]
    k = 1
    while True:
        day = _roll(grid.issue_date, step * k, eom)
        if day >= grid.maturity_date:
            break
        starts.append(day)
        k += 1
    stub = day != grid.maturity_date
    if stub and grid.stub is Stub.LONG_LAST and len(starts) >= 2:
        del starts[-1]  # the last regular period and the stub become one long last period
    return [*starts, grid.maturity_date]


def _calendar_ends(grid: AccrualGrid) -> list[date]:
    step = 12 // grid.frequency
    issue, maturity = grid.issue_date, grid.maturity_date
    ends = []
    year, month = issue.year, issue.month
    month += (-month) % step  # the first calendar period end on or after the issue month
    while True:
        if month > 12:
            year, month = year + 1, month - 12
        day = _month_end(date(year, month, 1))
        if day >= maturity:
            break
        if day > issue:
            ends.append(day)
        month += step
    first_stub = not (_is_month_end(issue) and issue.month % step == 0)
    last_stub = not (_is_month_end(maturity) and maturity.month % step == 0)
    if grid.stub is Stub.LONG_FIRST and first_stub and ends:
        del ends[0]
    if grid.stub is Stub.LONG_LAST and last_stub and ends:
        del ends[-1]
    return [issue, *ends, maturity]


def _listed(grid: AccrualGrid) -> list[date]:
    issue, maturity = grid.issue_date, grid.maturity_date
    previous = issue
    for day in grid.payment_dates:
        if not isinstance(day, date):
            raise ScheduleBuildError(f"payment date {day!r} is not a date", "payment_dates")
        text = day.isoformat()
        if day <= issue:
            raise ScheduleBuildError(
                f"payment date {text} is not after the issue date {issue.isoformat()}",
                "payment_dates")
        if day > maturity:
            raise ScheduleBuildError(
                f"payment date {text} is after the maturity date {maturity.isoformat()}",
                "payment_dates")
        if day <= previous:
            raise ScheduleBuildError(
                f"payment date {text} is not after the date listed before it "
                f"({previous.isoformat()}): list the dates strictly increasing", "payment_dates")
        previous = day
    ends = list(grid.payment_dates)
    if not ends or ends[-1] != maturity:
        ends.append(maturity)
    return [issue, *ends]


def _check_one_year(bounds: list[date], grid: AccrualGrid) -> None:
    listed = grid.anchor is Anchor.DATES
    for number, (start, end) in enumerate(zip(bounds, bounds[1:]), start=1):
        if end > _one_year_after(start):
            fix = "list more payment dates" if listed else "use a short stub"
            raise ScheduleBuildError(
                f"period {number} {start.isoformat()} → {end.isoformat()} is longer than one "
                f"year; an accrual period may be at most a year (§1.1272-1(b)(1)(ii)): {fix}",
                "payment_dates" if listed else "stub")


def _adjusted(bounds: list[date], grid: AccrualGrid) -> list[date]:
    """Every period end moved by the business-day rule; a period the move empties is merged
    into its neighbour (no zero-day period)."""
    if grid.business_day is BusinessDay.NONE:
        return bounds
    try:
        ends = [adjust(day, grid.business_day, grid.calendar, grid.holidays) for day in bounds[1:]]
    except BusinessDayError as error:
        raise ScheduleBuildError(str(error), "business_day") from None
    out = [bounds[0]]
    for day in ends[:-1]:
        if day > out[-1]:
            out.append(day)
    maturity = ends[-1]
    while len(out) > 1 and out[-1] >= maturity:
        out.pop()
    if maturity <= out[-1]:
        raise ScheduleBuildError(
            f"the business-day rule moves maturity {grid.maturity_date.isoformat()} to "
            f"{maturity.isoformat()}, not after the issue date {out[-1].isoformat()}",
            "business_day")
    out.append(maturity)
    return out


def accrual_period_dates(grid: AccrualGrid) -> tuple[tuple[date, date], ...]:
    """The accrual periods ``(period_start, period_end)`` from the issue date to the maturity
    date (the business-day-adjusted maturity when asked), contiguous, none of zero days."""
    _check_terms(grid)
    builders = {Anchor.MATURITY: _from_maturity, Anchor.ISSUE: _from_issue,
                Anchor.CALENDAR: _calendar_ends, Anchor.DATES: _listed}
    bounds = builders[grid.anchor](grid)
    _check_one_year(bounds, grid)
    bounds = _adjusted(bounds, grid)
    return tuple(zip(bounds, bounds[1:]))


# -- amounts -----------------------------------------------------------------------------------
def _ends_listing(dates: Sequence[tuple[date, date]]) -> str:
    return ", ".join(end.isoformat() for _, end in dates)


def _amount(value, what: str, term: str = "amounts") -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise ScheduleBuildError(f"{what} {value!r} is not a number", term) from None
    if not math.isfinite(amount):
        raise ScheduleBuildError(f"{what} {value!r} is not a finite number", term)
    if amount < 0:
        raise ScheduleBuildError(
            f"{what} {amount:g} is negative: the issuer pays the holder", term)
    return amount + 0.0  # -0.0 reads as 0


def projected_schedule(
    dates: Sequence[tuple[date, date]],
    amounts: Iterable[float] | None = None,
    single_payment: float | None = None,
    fixed_count: int = 0,
) -> tuple[ProjectedPayment, ...]:
    """The projected payment schedule on the periods ``dates``: ``amounts`` one per period
    (per unit of principal), or ``single_payment`` — zero in every period, then that amount at
    maturity.  The first ``fixed_count`` payments are fixed, the rest contingent; a single
    payment at maturity is contingent (so ``fixed_count`` is then below the number of
    periods)."""
    dates = tuple(dates)
    if not dates:
        raise ScheduleBuildError("no accrual periods to put payments on", "payment_dates")
    if (amounts is None) == (single_payment is None):
        raise ScheduleBuildError(
            "give either amounts (one per period) or single_payment (one payment at maturity)",
            "amounts")
    n = len(dates)
    if amounts is not None:
        values = list(amounts)
        if len(values) != n:
            raise ScheduleBuildError(
                f"{len(values)} amount(s) for {n} accrual period(s): give one projected payment "
                f"per period, the periods ending {_ends_listing(dates)}", "amounts")
        values = [_amount(v, f"the amount of period {k} (ending {dates[k - 1][1].isoformat()})")
                  for k, v in enumerate(values, start=1)]
        most_fixed = n
    else:
        values = [0.0] * (n - 1) + [_amount(single_payment, "single_payment", "single_payment")]
        most_fixed = n - 1
    if isinstance(fixed_count, bool) or not isinstance(fixed_count, int) or not (
            0 <= fixed_count <= most_fixed):
        extra = " (a single payment at maturity is contingent)" if amounts is None else ""
        raise ScheduleBuildError(
            f"fixed_count {fixed_count!r}: give a whole number from 0 to {most_fixed}{extra}",
            "fixed_count")
    return tuple(
        ProjectedPayment(start, end, amount,
                         PaymentType.FIXED if k < fixed_count else PaymentType.CONTINGENT)
        for k, ((start, end), amount) in enumerate(zip(dates, values))
    )


def single_payment_for_yield(
    issue_price: float, comparable_yield: ComparableYield, dates: Sequence[tuple[date, date]]
) -> float:
    """The one payment at maturity that makes the schedule produce the comparable yield
    ((b)(4)(ii)(C)): with nothing projected before maturity, the final adjusted issue price
    before the payment (``cpdi.engine.schedule.accrual_periods``, method §3), so that the AIP
    after it is zero.  Per unit of principal, as ``issue_price`` is."""
    from cpdi.engine.daycount import DayCountError
    from cpdi.engine.schedule import accrual_periods

    dates = tuple(dates)
    if not dates:
        raise ScheduleBuildError("no accrual periods to solve the payment on", "payment_dates")
    if isinstance(issue_price, bool) or not isinstance(issue_price, (int, float)) or not (
            math.isfinite(issue_price) and issue_price > 0):
        raise ScheduleBuildError(
            f"issue_price {issue_price!r} must be a finite number above 0", "issue_price")
    payments = projected_schedule(dates, single_payment=0.0)
    instrument = Instrument(
        instrument_id="solve", issue_date=dates[0][0], maturity_date=dates[-1][1],
        issue_price=float(issue_price), unit_principal=1.0, comparable_yield=comparable_yield,
        projected_payments=payments)
    try:
        periods = accrual_periods(instrument)
    except (DayCountError, ArithmeticError) as error:
        raise ScheduleBuildError(f"cannot solve the single payment: {error}",
                                 "comparable_yield_pct") from None
    for period in periods:
        if period.rate <= -1.0:
            raise ScheduleBuildError(
                f"comparable_yield_pct {comparable_yield.percent:g} gives period "
                f"{period.number} ({period.period_start.isoformat()} → "
                f"{period.period_end.isoformat()}) a rate of {period.rate:.2%}: no payment "
                "can be discounted at -100% or below", "comparable_yield_pct")
    payment = periods[-1].adjusted_issue_price_end
    if not math.isfinite(payment):
        raise ScheduleBuildError(
            f"the single payment at comparable_yield_pct {comparable_yield.percent:g} overflows",
            "comparable_yield_pct")
    return payment

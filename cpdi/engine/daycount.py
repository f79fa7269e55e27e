"""Day-count conventions and the accrual-period rate (method §2).

The regulation lets the comparable yield be "properly adjusted for the length of the accrual
period" ((b)(3)(iii)) and, through §1.1272-1(b)(4)(iii), allows any reasonable compounding
method.  The conventions fixed here are the project's (method §2):

    r_k = comparable_yield × year_fraction(period_start_k, period_end_k)

* ``30/360`` — US bond basis: D1=31→30; D2=31→30 when D1 is 30 or 31 (method §2).
* ``ACT/360``, ``ACT/365F`` — actual days over 360 or 365.
* ``ACT/ACT`` — ICMA (Rule 251): actual days ÷ (frequency × actual days of the regular
  (notional) period that ends on ``period_end``).  For a regular period or a short stub this is
  exactly the formula of method §2.  A *long* stub spans more than one notional period; it is split
  at the notional period boundaries, each part counted against its own notional period, as ICMA
  Rule 251 prescribes (the single-period formula is silent on long stubs; convention ours):

      notional:   |<---- regular ---->|<---- regular ---->|
      long stub:        |<-- part 1 -->|<---- part 2 ----->|
                  start ^              ^ boundary          ^ period_end
"""

from __future__ import annotations

import calendar
import enum
from datetime import date

from dateutil.relativedelta import relativedelta


class DayCount(enum.Enum):
    """Day-count conventions with their market names (the enum value is the canonical name)."""

    THIRTY_360 = "30/360"
    ACT_ACT = "ACT/ACT"
    ACT_365F = "ACT/365F"
    ACT_360 = "ACT/360"

    @classmethod
    def parse(cls, text: str) -> "DayCount":
        """Parse a day-count name or one of its market aliases (case and blanks ignored)."""
        key = "".join(str(text).upper().split())
        try:
            return _ALIASES[key]
        except KeyError:
            raise ValueError(
                f"unknown day count {text!r}; use one of {', '.join(d.value for d in cls)}"
            ) from None


_ALIASES: dict[str, DayCount] = {
    "30/360": DayCount.THIRTY_360,
    "30/360US": DayCount.THIRTY_360,
    "30U/360": DayCount.THIRTY_360,
    "BOND": DayCount.THIRTY_360,
    "BONDBASIS": DayCount.THIRTY_360,
    "ACT/ACT": DayCount.ACT_ACT,
    "ACT/ACTICMA": DayCount.ACT_ACT,
    "ACTUAL/ACTUAL": DayCount.ACT_ACT,
    "ACTUAL/ACTUAL(ICMA)": DayCount.ACT_ACT,
    "ACT/ACT(ICMA)": DayCount.ACT_ACT,
    "ICMA": DayCount.ACT_ACT,
    "ACT/365F": DayCount.ACT_365F,
    "ACT/365": DayCount.ACT_365F,
    "ACT/365FIXED": DayCount.ACT_365F,
    "ACTUAL/365": DayCount.ACT_365F,
    "ACTUAL/365F": DayCount.ACT_365F,
    "ACTUAL/365(FIXED)": DayCount.ACT_365F,
    "ACT/360": DayCount.ACT_360,
    "ACTUAL/360": DayCount.ACT_360,
}

VALID_FREQUENCIES = (1, 2, 4, 12)


class DayCountError(ValueError):
    """A year fraction the calendar cannot give (method §2): an ACT/ACT notional period that
    would start before 0001-01-01, the first day ``datetime.date`` holds.  The message names
    the period and the notional date; validation reports it as the instrument's problem."""


def thirty_360_us(start: date, end: date) -> float:
    """30/360 US bond basis year fraction (method §2): D1=31→30; D2=31→30 when D1 ≥ 30."""
    d1, d2 = start.day, end.day
    if d1 == 31:
        d1 = 30
    if d2 == 31 and d1 >= 30:
        d2 = 30
    days = 360 * (end.year - start.year) + 30 * (end.month - start.month) + (d2 - d1)
    return days / 360.0


def _is_month_end(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _add_months(day: date, months: int) -> date | None:
    """``day`` moved by ``months`` with month-end clamping (30 Aug + 6 months = 28 Feb), or
    None when that falls outside the calendar (before 0001-01-01 or after 9999-12-31)."""
    try:
        return day + relativedelta(months=months)
    except (ValueError, OverflowError):
        return None


def act_act_icma(start: date, end: date, frequency: int) -> float:
    """ACT/ACT ICMA year fraction of the period ``(start, end]`` whose regular periods end on
    ``end`` (method §2; ICMA Rule 251 for long stubs).

    A regular period (``start`` plus 12/frequency months is ``end``, month-end clamping
    included: 30 Aug → 28 Feb) is exactly ``1 / frequency``.  For a stub the notional periods
    are stepped back from ``end`` on ``end``'s day of the month, or on month ends when ``end``
    is a month end (convention ours: the two dates alone cannot tell a 30 Jun / 30 Dec roll
    from a month-end one, and month-end schedules are the common case).

    A period whose start plus 12/frequency months lies past 9999-12-31 is not regular (its
    end is on or before that day).  A stub whose notional periods would reach back before
    0001-01-01 raises :class:`DayCountError` naming it: the calendar holds no such day, and
    validation reports the instrument rather than guessing (method §2, §8)."""
    step = 12 // frequency
    if _add_months(start, step) == end:
        return 1.0 / frequency
    month_end_roll = _is_month_end(end)  # a stub ending 30 Jun rolls 31 Dec, 30 Sep, …
    fraction = 0.0
    notional_end = end
    k = 0
    while notional_end > start:
        k += 1
        notional_start = _add_months(end, -step * k)
        if notional_start is None:
            raise DayCountError(
                f"ACT/ACT: the stub {start.isoformat()} → {end.isoformat()} is counted against "
                f"notional periods of {step} month(s) stepped back from {end.isoformat()}, and "
                f"the one ending {notional_end.isoformat()} would start before 0001-01-01, the "
                "first day of the calendar"
            )
        if month_end_roll:
            notional_start = notional_start.replace(
                day=calendar.monthrange(notional_start.year, notional_start.month)[1])
        part_start = max(start, notional_start)
        fraction += (notional_end - part_start).days / (
            frequency * (notional_end - notional_start).days
        )
        notional_end = notional_start
    return fraction


def year_fraction(day_count: DayCount, start: date, end: date, frequency: int) -> float:
    """Year fraction of the accrual period from ``start`` to ``end`` under ``day_count``."""
    if day_count is DayCount.THIRTY_360:
        return thirty_360_us(start, end)
    if day_count is DayCount.ACT_360:
        return (end - start).days / 360.0
    if day_count is DayCount.ACT_365F:
        return (end - start).days / 365.0
    if day_count is DayCount.ACT_ACT:
        return act_act_icma(start, end, frequency)
    raise ValueError(f"unsupported day count {day_count!r}")  # pragma: no cover - enum is closed


def period_rate(
    annual_yield: float, day_count: DayCount, start: date, end: date, frequency: int
) -> float:
    """The comparable yield "properly adjusted for the length of the accrual period"
    ((b)(3)(iii)): ``annual_yield × year_fraction`` (method §2).  ``annual_yield`` is a
    decimal (0.0546 for 5.46%)."""
    return annual_yield * year_fraction(day_count, start, end, frequency)

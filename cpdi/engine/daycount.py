"""Day-count conventions and the accrual-period rate (method §2).

The regulation lets the comparable yield be "properly adjusted for the length of the accrual
period" ((b)(3)(iii)) and, through §1.1272-1(b)(4)(iii), allows any reasonable compounding
method.  The conventions fixed here are the project's (method §2):

    r_k = comparable_yield × year_fraction(period_start_k, period_end_k)

* ``30/360`` — US bond basis: D1=31→30; D2=31→30 when D1 is 30 or 31 (method §2).
* ``30E/360`` — Eurobond basis (2006 ISDA Definitions §4.16(g)): a 31st is the 30th at both ends.
* ``30E/360 ISDA`` — §4.16(h): a 31st, or the last day of February, is the 30th at both ends,
  except a last day of February that is the maturity (termination) date at the end.
* ``ACT/360``, ``ACT/365F`` — actual days over 360 or 365.
* ``ACT/ACT ISDA`` — §4.16(b): days falling in a leap year over 366 plus the other days over 365.
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


class AmbiguousDayCount(ValueError):
    """A day-count name the market uses for two conventions (``ACT/365``); the message names
    both (method §2)."""


class DayCount(enum.Enum):
    """Day-count conventions with their market names (the enum value is the canonical name)."""

    THIRTY_360 = "30/360"
    THIRTY_E_360 = "30E/360"
    THIRTY_E_360_ISDA = "30E/360 ISDA"
    ACT_ACT = "ACT/ACT"  # ICMA: the contract's meaning of ACT/ACT since the first release
    ACT_ACT_ISDA = "ACT/ACT ISDA"
    ACT_365F = "ACT/365F"
    ACT_360 = "ACT/360"

    @classmethod
    def parse(cls, text: str) -> "DayCount":
        """Parse a day-count name or one of its market aliases (case and blanks ignored).

        A name the market uses for two conventions is refused with both (method §2):
        ``ACT/365`` is ACT/365F to some issuers and, in the 2006 ISDA Definitions §4.16(b),
        another name for ACT/ACT ISDA."""
        key = "".join(str(text).upper().split())
        if key in _AMBIGUOUS:
            raise AmbiguousDayCount(
                f"day count {text!r} is ambiguous: it means {_AMBIGUOUS[key]}; write which"
            )
        try:
            return _ALIASES[key]
        except KeyError:
            raise ValueError(
                f"unknown day count {text!r}; use one of {', '.join(d.value for d in cls)}"
            ) from None

    @property
    def is_thirty(self) -> bool:
        """A 30-day-month convention, whose days can weigh 0 (a 31st) or more than 1."""
        return self in (DayCount.THIRTY_360, DayCount.THIRTY_E_360, DayCount.THIRTY_E_360_ISDA)


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
    "ACT/365FIXED": DayCount.ACT_365F,
    "ACT/365(FIXED)": DayCount.ACT_365F,
    "ACTUAL/365F": DayCount.ACT_365F,
    "ACTUAL/365FIXED": DayCount.ACT_365F,
    "ACTUAL/365(FIXED)": DayCount.ACT_365F,
    "ACT/360": DayCount.ACT_360,
    "ACTUAL/360": DayCount.ACT_360,
    "30E/360": DayCount.THIRTY_E_360,
    "EUROBOND": DayCount.THIRTY_E_360,
    "EUROBONDBASIS": DayCount.THIRTY_E_360,
    "30/360ICMA": DayCount.THIRTY_E_360,
    "30E/360ISDA": DayCount.THIRTY_E_360_ISDA,
    "30E/360(ISDA)": DayCount.THIRTY_E_360_ISDA,
    "ACT/ACTISDA": DayCount.ACT_ACT_ISDA,
    "ACT/ACT(ISDA)": DayCount.ACT_ACT_ISDA,
    "ACTUAL/ACTUALISDA": DayCount.ACT_ACT_ISDA,
    "ACTUAL/ACTUAL(ISDA)": DayCount.ACT_ACT_ISDA,
}

_AMBIGUOUS: dict[str, str] = {
    key: "ACT/365F (actual days over 365) or ACT/ACT ISDA (leap-year days over 366)"
    for key in ("ACT/365", "ACTUAL/365", "A/365")
}
"""Names that mean two conventions; refused with the choices (method §2)."""

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


def _thirty_days(y1: int, m1: int, d1: int, y2: int, m2: int, d2: int) -> int:
    return 360 * (y2 - y1) + 30 * (m2 - m1) + (d2 - d1)


def thirty_e_360(start: date, end: date) -> float:
    """30E/360 Eurobond basis year fraction (2006 ISDA Definitions §4.16(g); method §2): a 31st
    is the 30th at both ends; February is not stretched."""
    return _thirty_days(start.year, start.month, min(start.day, 30),
                        end.year, end.month, min(end.day, 30)) / 360.0


def _is_last_of_february(d: date) -> bool:
    return d.month == 2 and d.day == calendar.monthrange(d.year, 2)[1]


def thirty_e_360_isda(start: date, end: date, termination: date | None) -> float:
    """30E/360 ISDA year fraction (2006 ISDA Definitions §4.16(h); method §2): D1 is 30 when it
    is a 31st or the last day of February; D2 likewise, unless D2 is the last day of February
    and the maturity (termination) date."""
    d1 = 30 if start.day == 31 or _is_last_of_february(start) else start.day
    d2 = end.day
    if d2 == 31 or (_is_last_of_february(end) and end != termination):
        d2 = 30
    return _thirty_days(start.year, start.month, d1, end.year, end.month, d2) / 360.0


def act_act_isda(start: date, end: date) -> float:
    """ACT/ACT ISDA year fraction (2006 ISDA Definitions §4.16(b); method §2): the days of the
    period in a leap year over 366 plus the days not in a leap year over 365 (the first day
    counts, the last does not, as in every actual-day count)."""
    if end <= start:
        return (end - start).days / (366.0 if calendar.isleap(start.year) else 365.0)
    fraction = 0.0
    cursor = start
    while cursor < end:
        year_end = date(cursor.year + 1, 1, 1) if cursor.year < 9999 else end
        piece_end = min(end, year_end)
        fraction += (piece_end - cursor).days / (366.0 if calendar.isleap(cursor.year) else 365.0)
        cursor = piece_end
    return fraction


def _is_month_end(d: date) -> bool:
    return d.day == calendar.monthrange(d.year, d.month)[1]


def _add_months(day: date, months: int) -> date | None:
    """``day`` moved by ``months`` with month-end clamping (30 Aug + 6 months = 28 Feb), or
    None when that falls outside the calendar (before 0001-01-01 or after 9999-12-31)."""
    try:
        return day + relativedelta(months=months)
    except (ValueError, OverflowError):
        return None


def act_act_icma(start: date, end: date, frequency: int, through: date | None = None) -> float:
    """ACT/ACT ICMA year fraction of the period ``(start, end]`` whose regular periods end on
    ``end`` (method §2; ICMA Rule 251 for long stubs) — or, with ``through``, of its days
    ``start + 1 … through`` counted against the same notional periods (the ``day_count``
    daily portion basis, method §3).

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
    through = end if through is None else min(through, end)
    if _add_months(start, step) == end:
        if through == end:
            return 1.0 / frequency
        return (through - start).days / (frequency * (end - start).days)
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
        part_end = min(notional_end, through)
        if part_end > part_start:
            fraction += (part_end - part_start).days / (
                frequency * (notional_end - notional_start).days
            )
        notional_end = notional_start
    return fraction


def year_fraction(day_count: DayCount, start: date, end: date, frequency: int,
                  termination: date | None = None) -> float:
    """Year fraction of the accrual period from ``start`` to ``end`` under ``day_count``;
    ``termination`` (the maturity date) matters to ``30E/360 ISDA`` alone."""
    if day_count is DayCount.THIRTY_360:
        return thirty_360_us(start, end)
    if day_count is DayCount.THIRTY_E_360:
        return thirty_e_360(start, end)
    if day_count is DayCount.THIRTY_E_360_ISDA:
        return thirty_e_360_isda(start, end, termination)
    if day_count is DayCount.ACT_360:
        return (end - start).days / 360.0
    if day_count is DayCount.ACT_365F:
        return (end - start).days / 365.0
    if day_count is DayCount.ACT_ACT:
        return act_act_icma(start, end, frequency)
    if day_count is DayCount.ACT_ACT_ISDA:
        return act_act_isda(start, end)
    raise ValueError(f"unsupported day count {day_count!r}")  # pragma: no cover - enum is closed


def day_count_days(day_count: DayCount, period_start: date, period_end: date, through: date,
                   frequency: int, termination: date | None = None) -> float:
    """The weight of the days ``period_start + 1 … through`` of the accrual period
    ``(period_start, period_end]``, in days of the day count: what the ``day_count`` daily
    portion basis spreads a period's interest by (method §3).

    * 30-day-month conventions: the period's 30/360 days to ``through`` — a 31st can weigh 0
      and the last day of February more than 1, as in issuers' published OID tables;
    * ``ACT/360`` and ``ACT/365F``: calendar days — every day weighs the same;
    * ``ACT/ACT`` (ICMA) and ``ACT/ACT ISDA``: the year fraction to ``through`` over the
      period's, times the period's calendar days — calendar days in a regular period; a day of
      a leap year (ISDA) or of a longer notional period (ICMA long stub) weighs less.

    ``day_count_days(…, through=period_end)`` is the weight of the whole period; for a 30-day
    convention it is the year fraction × 360 exactly."""
    if day_count is DayCount.THIRTY_360:
        return round(thirty_360_us(period_start, through) * 360.0)
    if day_count is DayCount.THIRTY_E_360:
        return round(thirty_e_360(period_start, through) * 360.0)
    if day_count is DayCount.THIRTY_E_360_ISDA:
        return round(thirty_e_360_isda(period_start, through, termination) * 360.0)
    days = (through - period_start).days
    if day_count in (DayCount.ACT_360, DayCount.ACT_365F) or through <= period_start:
        return days
    total_days = (period_end - period_start).days
    if day_count is DayCount.ACT_ACT:
        whole = act_act_icma(period_start, period_end, frequency)
        part = act_act_icma(period_start, period_end, frequency, through)
    else:
        whole = act_act_isda(period_start, period_end)
        part = act_act_isda(period_start, through)
    return total_days * part / whole if whole > 0 else days


def period_rate(
    annual_yield: float, day_count: DayCount, start: date, end: date, frequency: int,
    termination: date | None = None,
) -> float:
    """The comparable yield "properly adjusted for the length of the accrual period"
    ((b)(3)(iii)): ``annual_yield × year_fraction`` (method §2).  ``annual_yield`` is a
    decimal (0.0546 for 5.46%)."""
    return annual_yield * year_fraction(day_count, start, end, frequency, termination)

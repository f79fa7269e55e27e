"""Business days and business-day adjustment for building an accrual grid (method §2, "How
cpdi builds the grid").  Pure: no I/O.

A business day is a weekday (Monday to Friday) that is not a holiday of the chosen calendar
and not one of the user's extra holidays.  Calendars:

* ``"us"`` — the days the Federal Reserve Banks (and so New York banks settling through them)
  are closed for holidays, computed by rule as the Federal Reserve Board's table K.8,
  "Holidays Observed by the Federal Reserve System", lists them:

  ========================================  ==============================================
  New Year's Day                            1 January
  Birthday of Martin Luther King, Jr.       third Monday of January (from 1986)
  Washington's Birthday                     third Monday of February
  Memorial Day                              last Monday of May
  Juneteenth National Independence Day      19 June (from 2022; see below)
  Independence Day                          4 July
  Labor Day                                 first Monday of September
  Columbus Day                              second Monday of October
  Veterans Day                              11 November (1971–1977: fourth Monday of October)
  Thanksgiving Day                          fourth Thursday of November
  Christmas Day                             25 December
  ========================================  ==============================================

  **Observance.**  K.8: "For holidays falling on Saturday, Federal Reserve Banks and Branches
  will be open the preceding Friday; however, the Board of Governors will be closed.  For
  holidays falling on Sunday, all Federal Reserve offices will be closed the following
  Monday."  So a Sunday holiday closes the Monday after it (named "… (observed)"), and a
  Saturday holiday closes nothing beyond the Saturday itself — unlike the federal
  government's own rule (5 U.S.C. 6103 moves it to the Friday), and for every holiday, New
  Year's Day included (1 January 2022 fell on a Saturday; the Reserve Banks were open on
  Friday 31 December 2021).  The Board of Governors' own Friday closures are not banking
  holidays and are not in this calendar.

  **Juneteenth** (enacted 17 June 2021) is in the calendar from 2022, the first year the
  Reserve Banks closed for it: 19 June 2021 fell on a Saturday and they operated normally on
  Friday 18 June 2021.

  **Years.**  The rules above hold from 1971 (the Uniform Monday Holiday Act moved
  Washington's Birthday, Memorial Day, Columbus Day and, until 1978, Veterans Day to
  Mondays); earlier years are refused rather than guessed.  One-off closures (a national day
  of mourning) are not rules: list them as extra holidays.

* ``"none"`` — weekends only (plus the extra holidays).

Rules (:class:`BusinessDay`), applied to a date that is not a business day:

* ``following`` — the next business day;
* ``modified_following`` — the next business day, unless that is in the next calendar month,
  then the previous business day;
* ``preceding`` — the previous business day;
* ``none`` — the date unchanged.
"""

from __future__ import annotations

import calendar as _calendar
import enum
from datetime import date, timedelta
from functools import lru_cache
from typing import Collection

CALENDARS = ("us", "none")
"""The named holiday calendars (``none``: weekends only)."""

FIRST_US_YEAR = 1971
"""The first year the ``us`` calendar's rules describe (the Uniform Monday Holiday Act)."""

_MAX_SEARCH_DAYS = 366  # no real calendar has a year without a business day


class BusinessDay(enum.Enum):
    """How a period end that is not a business day moves (``none``: it does not)."""

    NONE = "none"
    FOLLOWING = "following"
    MODIFIED_FOLLOWING = "modified_following"
    PRECEDING = "preceding"


class BusinessDayError(ValueError):
    """A calendar, rule or year the business-day functions cannot use (one line naming it)."""


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The ``n``-th ``weekday`` (0 = Monday) of the month; ``n = -1`` for the last one."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year, month, _calendar.monthrange(year, month)[1])
    return last - timedelta(days=(last.weekday() - weekday) % 7)


_MON, _THU, _SAT, _SUN = 0, 3, 5, 6


@lru_cache(maxsize=512)
def _us_holidays(year: int) -> tuple[tuple[date, str], ...]:
    if year < FIRST_US_YEAR:
        raise BusinessDayError(
            f"the 'us' holiday calendar is computed from {FIRST_US_YEAR} (the Uniform Monday "
            f"Holiday Act); {year} is earlier: list that year's holidays yourself and use the "
            f"calendar 'none'")
    if year > 9999:
        raise BusinessDayError(f"{year} is past the last year of the calendar (9999)")
    named = [
        (date(year, 1, 1), "New Year's Day"),
        (_nth_weekday(year, 2, _MON, 3), "Washington's Birthday"),
        (_nth_weekday(year, 5, _MON, -1), "Memorial Day"),
        (date(year, 7, 4), "Independence Day"),
        (_nth_weekday(year, 9, _MON, 1), "Labor Day"),
        (_nth_weekday(year, 10, _MON, 2), "Columbus Day"),
        (_nth_weekday(year, 11, _THU, 4), "Thanksgiving Day"),
        (date(year, 12, 25), "Christmas Day"),
    ]
    if year >= 1986:
        named.append((_nth_weekday(year, 1, _MON, 3), "Birthday of Martin Luther King, Jr."))
    if year >= 2022:
        named.append((date(year, 6, 19), "Juneteenth National Independence Day"))
    if year >= 1978:
        named.append((date(year, 11, 11), "Veterans Day"))
    else:
        named.append((_nth_weekday(year, 10, _MON, 4), "Veterans Day"))
    days = dict(named)
    for day, name in named:
        if day.weekday() == _SUN:  # K.8: closed the following Monday (Saturday: open Friday)
            days[day + timedelta(days=1)] = f"{name} (observed)"
    return tuple(sorted(days.items()))


def us_holidays(year: int) -> dict[date, str]:
    """The ``us`` calendar's holidays of ``year`` (date → name, in date order): every holiday
    on its date, as the Federal Reserve's table lists it (a Saturday or Sunday one included),
    plus the Monday after a Sunday holiday, on which the Reserve Banks close ("… (observed)").
    A Saturday holiday moves nowhere: the Reserve Banks are open the Friday before.  Raises
    :class:`BusinessDayError` for a year before 1971 (see the module docstring)."""
    return dict(_us_holidays(int(year)))


@lru_cache(maxsize=512)
def _us_closed(year: int) -> frozenset[date]:
    return frozenset(day for day, _ in _us_holidays(year))


def _check_calendar(calendar: str) -> str:
    name = str(calendar).strip().lower()
    if name not in CALENDARS:
        raise BusinessDayError(
            f"unknown holiday calendar {calendar!r}: use {' or '.join(CALENDARS)}")
    return name


def is_business_day(day: date, calendar: str = "us", extra: Collection[date] = frozenset()) -> bool:
    """A weekday that is neither a holiday of ``calendar`` nor one of ``extra``."""
    name = _check_calendar(calendar)
    if day.weekday() >= _SAT or day in extra:
        return False
    return not (name == "us" and day in _us_closed(day.year))


def _rule(rule: BusinessDay | str) -> BusinessDay:
    if isinstance(rule, BusinessDay):
        return rule
    try:
        return BusinessDay(str(rule).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise BusinessDayError(
            f"unknown business-day rule {rule!r}: use "
            f"{', '.join(r.value for r in BusinessDay)}") from None


def _step(day: date, direction: int, calendar: str, extra: Collection[date]) -> date:
    """The nearest business day from ``day`` (itself included) in ``direction`` (+1 / −1)."""
    for _ in range(_MAX_SEARCH_DAYS):
        if is_business_day(day, calendar, extra):
            return day
        try:
            day = day + timedelta(days=direction)
        except OverflowError:
            break
    raise BusinessDayError(
        f"no business day within {_MAX_SEARCH_DAYS} days of {day.isoformat()}: check the "
        "holidays listed")


def adjust(day: date, rule: BusinessDay | str = BusinessDay.NONE, calendar: str = "us",
           extra: Collection[date] = frozenset()) -> date:
    """``day`` moved by the business-day ``rule`` (see the module docstring); a business day,
    and any day under ``none``, is returned unchanged."""
    rule = _rule(rule)
    name = _check_calendar(calendar)
    if rule is BusinessDay.NONE or is_business_day(day, name, extra):
        return day
    if rule is BusinessDay.PRECEDING:
        return _step(day, -1, name, extra)
    moved = _step(day, +1, name, extra)
    if rule is BusinessDay.MODIFIED_FOLLOWING and moved.month != day.month:
        return _step(day, -1, name, extra)
    return moved

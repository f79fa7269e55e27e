"""Holding days and payments received (method §4; (b)(3)(iii) "for each day … on which the holder
held the debt instrument").

Conventions fixed by method §4 (the regulation counts days but does not say who holds the trade
date; these are ours):

* a lot acquired on A holds day A;
* a lot sold on D does not hold D (the buyer does): it holds ``[A, D)``;
* a lot retired at maturity or called on R holds through R: ``[A, R]``;
* a lot converted into stock on C holds through C: ``[A, C]``.  A conversion is the issuer's
  retirement of the note in exchange for stock, not a sale to another holder: nobody else holds
  day C, and the stock is held from C + 1 (method §7; Rev. Rul. 2002-31);
* the payment due on day P goes to whoever holds day P.

So one rule covers every case: the lot holds the days ``first_day … last_day`` and receives each
payment due on one of those days::

    sale on D:                    A ==================== D-1 | D (buyer)
    call / maturity / conversion: A ======================== R
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, timedelta


class Ending(enum.Enum):
    """How a lot's holding ends (method §7)."""

    SALE = "sale"
    CONVERSION = "conversion"  # into the issuer's stock: held through the conversion date
    CALL = "call"  # issuer call: a redemption payment row (b)(7)(v)
    MATURITY = "maturity"  # retirement at maturity (b)(7)(iv)
    HELD = "held"  # still held at the end of the reporting horizon


@dataclass(frozen=True)
class HoldingPeriod:
    """The days a lot holds, ``first_day … last_day`` inclusive (method §4)."""

    first_day: date
    last_day: date  # last day held (a sale's day before the sale date)
    ending: Ending
    disposition_date: date | None  # sale, call or maturity date; None while held

    @property
    def first_ordinal(self) -> int:
        return self.first_day.toordinal()

    @property
    def last_ordinal(self) -> int:
        return self.last_day.toordinal()

    def holds(self, day: date) -> bool:
        """Does the lot hold ``day`` — and so receive a payment due that day (method §4)?"""
        return self.first_day <= day <= self.last_day

    def days_in_year(self, year: int) -> int:
        """Calendar days of ``year`` the lot holds (the ledger's ``days_held``)."""
        first = max(self.first_day, date(year, 1, 1))
        last = min(self.last_day, date(year, 12, 31))
        return max(0, (last - first).days + 1)


def holding_period(
    acquisition_date: date,
    disposition_date: date | None,
    maturity_date: date,
    call_date: date | None,
    horizon: date,
    converted: bool = False,
) -> HoldingPeriod:
    """The holding period of a lot (method §4, §7).

    A sale (``disposition_date``) ends the holding the day before; otherwise an issuer call on
    ``call_date`` or the maturity date ends it on that day, if it falls on or before
    ``horizon`` (the last day of the reporting year); otherwise the lot is still held at the
    horizon.  A ``converted`` lot's ``disposition_date`` is its conversion into stock, which
    ends the holding on that day.  The readers have already rejected sales and conversions
    after a call or maturity.
    """
    if disposition_date is not None and disposition_date <= horizon:
        if converted:
            return HoldingPeriod(acquisition_date, disposition_date, Ending.CONVERSION,
                                 disposition_date)
        return HoldingPeriod(
            acquisition_date, disposition_date - timedelta(days=1), Ending.SALE, disposition_date
        )
    if call_date is not None and call_date <= horizon and (
        disposition_date is None or call_date < disposition_date
    ):
        return HoldingPeriod(acquisition_date, call_date, Ending.CALL, call_date)
    if maturity_date <= horizon:
        return HoldingPeriod(acquisition_date, maturity_date, Ending.MATURITY, maturity_date)
    return HoldingPeriod(acquisition_date, horizon, Ending.HELD, None)


@dataclass(frozen=True)
class HeldSegment:
    """The days of one accrual period that a lot holds within one calendar year: the unit the
    ledger sums daily portions over ((b)(3)(iii))."""

    period_index: int  # 0-based index into the schedule's periods
    year: int
    first_day: date
    last_day: date
    weight: float | None = None  # the days' weight under the daily portion basis (method §3)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def weighted_days(self) -> float:
        """What the period's daily portion is multiplied by for these days: their calendar
        days, or their day-count weight under the ``day_count`` basis (method §3)."""
        return self.days if self.weight is None else self.weight


def held_segments(periods, holding: HoldingPeriod, first_index: int = 0) -> list[HeldSegment]:
    """Split the lot's accruing days into (period, calendar year) pieces.

    Period k accrues the days ``period_start_k + 1 … period_end_k`` (method §2); the lot holds
    ``holding.first_day … holding.last_day`` (method §4).  ``periods`` are AccrualPeriods in order;
    ``first_index`` may skip those known to end before the holding starts.
    """
    segments = []
    one = timedelta(days=1)
    for index in range(first_index, len(periods)):
        period = periods[index]
        if period.period_end < holding.first_day:
            continue
        if period.period_start >= holding.last_day:
            break
        first = max(period.period_start + one, holding.first_day)
        last = min(period.period_end, holding.last_day)
        while first <= last:
            year_end = date(first.year, 12, 31)
            piece_last = min(last, year_end)
            weight = None if period.weighting is None else period.held_weight(first, piece_last)
            segments.append(HeldSegment(index, first.year, first, piece_last, weight))
            if piece_last >= last:  # never step past 9999-12-31, the calendar's last day
                break
            first = piece_last + one
    return segments

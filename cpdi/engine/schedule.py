"""The projected schedule, adjusted issue price and daily portions (method §2–3).

(b)(3)(iii) Step three: "The amount of interest that accrues in each accrual period is the
product of the comparable yield of the debt instrument (properly adjusted for the length of the
accrual period) and the debt instrument's adjusted issue price at the beginning of the accrual
period. … The daily portions of interest are determined by allocating to each day in the accrual
period the ratable portion of the interest that accrues in the accrual period."

(b)(7)(ii): the adjusted issue price is the issue price increased by the interest previously
accrued (determined without regard to adjustments) and decreased by the projected amount of any
payments previously made.

Day convention (method §2): period k is the days ``period_start_k + 1 … period_end_k``; its
projected payment is due on ``period_end_k``; the issue date accrues nothing::

    issue            end_1            end_2            maturity
      |----- P1 -------|----- P2 -------| ...  ---- Pn ----|
       (accrues  end_1]  (accrues  end_2]
                       ^ payment 1 due  ^ payment 2 due    ^ final payment due

How the period's interest is spread over its days is the instrument's ``daily_portion_basis``
(method §3): ``calendar_days`` gives every day the same ratable portion ((b)(3)(iii));
``day_count`` weighs each day by the day count, as issuers' OID tables do.  Either way a period
has a *weight* — its calendar days, or its day-count days — and ``daily_portion`` is the
interest per unit of weight; the interest of any run of days is ``daily_portion × their weight``.

Everything is per unit of principal.  Dates are held as ordinals internally so that the holder
ledger can ask for the interest between any two dates in O(log n).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, timedelta

from cpdi.engine.daycount import DayCount, day_count_days, year_fraction
from cpdi.engine.fixings import AppliedFixing, Fixing, apply_fixings, deferred_fixings
from cpdi.model import DailyPortionBasis, Instrument, PaymentType

_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class DayWeighting:
    """The ``day_count`` daily portion basis of one instrument (method §3): the weight of a
    run of days is what ``day_count`` counts for it (:func:`day_count_days`)."""

    day_count: DayCount
    frequency: int
    termination: date  # the maturity date (30E/360 ISDA)

    def through(self, period_start: date, period_end: date, day: date) -> float:
        """Weight of the days ``period_start + 1 … day`` of the period."""
        return day_count_days(self.day_count, period_start, period_end, day, self.frequency,
                              self.termination)


@dataclass(frozen=True)
class AccrualPeriod:
    """One accrual period of the schedule, per unit of principal (method §3)."""

    number: int  # 1-based
    period_start: date
    period_end: date
    days: int  # calendar days in the period: period_end − period_start
    year_fraction: float
    rate: float  # r_k, the comparable yield adjusted for the period's length (method §2)
    adjusted_issue_price_start: float  # AIP_{k-1}
    interest: float  # AIP_{k-1} × r_k                       (b)(3)(iii)
    daily_portion: float  # interest / days                  (b)(3)(iii)
    projected_payment: float
    payment_type: PaymentType
    adjusted_issue_price_end: float  # AIP_{k-1} + interest − projected payment   (b)(7)(ii)
    weight: float = 0.0  # the period's days as the daily portion basis counts them (method §3)
    weighting: DayWeighting | None = None  # None: calendar days, every day weighs 1
    # -- (b)(9)(ii) fixings (method §13) ------------------------------------------------------
    payment_due: bool = True  # False: the period ends on a fixing date, no payment is due
    fixed_on: date | None = None  # the payment was fixed that day, more than 6 months early
    projected_before_fixing: float | None = None  # the projection the fixed amount replaced
    fixing_adjustment: float = 0.0  # (b)(9)(ii)(A) adjustments on period_end (the fixing date)
    weight_bounds: tuple[date, date] | None = None  # a split period: the period it was cut from

    def weight_through(self, day: date) -> float:
        """Weight of the period's days up to and including ``day`` (clamped to the period)."""
        if day <= self.period_start:
            return 0
        if day >= self.period_end:
            return self.weight
        if self.weighting is None:
            return (day - self.period_start).days
        if self.weight_bounds is not None:  # a part of a period split at a fixing date
            first, last = self.weight_bounds
            return (self.weighting.through(first, last, day)
                    - self.weighting.through(first, last, self.period_start))
        return self.weighting.through(self.period_start, self.period_end, day)

    def held_weight(self, first_day: date, last_day: date) -> float:
        """Weight of the days ``first_day … last_day`` of this period: the number the daily
        portion is multiplied by for a holder of those days ((b)(3)(iii); method §3)."""
        if self.weighting is None:
            return (min(last_day, self.period_end) - max(first_day, self.period_start + _ONE_DAY)).days + 1
        return self.weight_through(last_day) - self.weight_through(first_day - _ONE_DAY)


def accrual_periods(instrument: Instrument) -> tuple[AccrualPeriod, ...]:
    """Build the accrual table of method §3 from the issuer's projected payment schedule.

    ``AIP_0 = issue price; interest_k = AIP_{k-1} × r_k; AIP_k = AIP_{k-1} + interest_k −
    projected_k`` ((b)(3)(iii), (b)(7)(ii)).  Accruals use projected payments, never actual
    ones.
    """
    cy = instrument.comparable_yield
    aip = instrument.issue_price
    weighting = None
    if instrument.daily_portion_basis is DailyPortionBasis.DAY_COUNT:
        weighting = DayWeighting(cy.day_count, cy.frequency, instrument.maturity_date)
    periods = []
    for number, pp in enumerate(instrument.projected_payments, start=1):
        days = (pp.period_end - pp.period_start).days
        yf = year_fraction(cy.day_count, pp.period_start, pp.period_end, cy.frequency,
                           instrument.maturity_date)
        rate = cy.annual_rate * yf  # method §2: r_k = yield × year_fraction
        interest = aip * rate
        end = aip + interest - pp.amount
        weight = days if weighting is None else weighting.through(
            pp.period_start, pp.period_end, pp.period_end)
        periods.append(
            AccrualPeriod(
                number=number,
                period_start=pp.period_start,
                period_end=pp.period_end,
                days=days,
                year_fraction=yf,
                rate=rate,
                adjusted_issue_price_start=aip,
                interest=interest,
                daily_portion=interest / weight if weight > 0 else 0.0,
                projected_payment=pp.amount,
                payment_type=pp.payment_type,
                adjusted_issue_price_end=end,
                weight=weight,
                weighting=weighting,
            )
        )
        aip = end
    return tuple(periods)


class AccrualSchedule:
    """An instrument's accrual table with fast queries by date (per unit of principal).

    ``interest_before(t)`` is the sum of the daily portions of all days before ``t``;
    ``adjusted_issue_price(t)`` is the AIP at the start of day ``t`` (method §3): the issue price
    plus the daily portions of all days before ``t``, minus the projected payments due before
    ``t``.
    """

    def __init__(self, instrument: Instrument, fixings: tuple[Fixing, ...] = ()):
        self.instrument = instrument
        self.periods = accrual_periods(instrument)
        self.fixings: tuple[AppliedFixing, ...] = ()
        self.fixings_given = tuple(fixings)
        deferred = deferred_fixings(self.periods, fixings)
        if deferred:  # (b)(9)(ii), method §13
            self.periods, self.fixings = apply_fixings(
                self.periods, deferred, instrument.comparable_yield, instrument.maturity_date)
        self._starts = [p.period_start.toordinal() for p in self.periods]
        self._ends = [p.period_end.toordinal() for p in self.periods]
        self._daily = [p.daily_portion for p in self.periods]
        self._weighted = any(p.weighting is not None for p in self.periods)
        cumulative = [0.0]
        for p in self.periods:
            cumulative.append(cumulative[-1] + p.interest)
        self._interest_through = cumulative  # [k] = interest of periods 1..k
        paid = [0.0]
        for p in self.periods:
            paid.append(paid[-1] + p.projected_payment)
        self._paid_through = paid  # [k] = projected payments of periods 1..k
        adjusted = [0.0]
        for p in self.periods:
            adjusted.append(adjusted[-1] + p.fixing_adjustment)
        self._adjusted_through = adjusted  # [k] = (b)(9)(ii)(A) adjustments of periods 1..k
        contingent = [p.period_end for p in self.periods if p.payment_type is PaymentType.CONTINGENT]
        # the last payment still contingent after every fixing ((b)(8)(iii)(A), method §7)
        self.last_contingent_due: date | None = contingent[-1] if contingent else None
        self.issue_ordinal = instrument.issue_date.toordinal()
        self.maturity_ordinal = self._ends[-1] if self._ends else self.issue_ordinal

    # -- daily portions -------------------------------------------------------------------
    def period_index_of_day(self, day: int) -> int | None:
        """Index (0-based) of the period that accrues ordinal ``day``, or None outside the
        schedule (the issue date itself and days after maturity accrue nothing)."""
        k = bisect.bisect_left(self._ends, day)
        if k >= len(self._ends) or day <= self._starts[k]:
            return None
        return k

    def interest_before(self, day: int) -> float:
        """Σ daily portions of the days strictly before ordinal ``day`` ((b)(3)(iii))."""
        last = day - 1
        if last <= self.issue_ordinal:
            return 0.0
        k = bisect.bisect_left(self._ends, last)
        if k >= len(self._ends):
            return self._interest_through[-1]
        if self._weighted:  # method §3: the day-count weight of the period's days to ``last``
            period = self.periods[k]
            return self._interest_through[k] + self._daily[k] * period.weight_through(
                date.fromordinal(last))
        days_in = max(0, last - self._starts[k])
        return self._interest_through[k] + self._daily[k] * days_in

    def interest_between(self, first: int, last: int) -> float:
        """Σ daily portions of the days ``first … last`` inclusive (ordinals)."""
        if last < first:
            return 0.0
        return self.interest_before(last + 1) - self.interest_before(first)

    def first_period_ending_on_or_after(self, day: date) -> int:
        """Index of the first period whose end is on or after ``day`` (len() if none)."""
        return bisect.bisect_left(self._ends, day.toordinal())

    def daily_portion_on(self, day: int) -> float:
        k = self.period_index_of_day(day)
        return 0.0 if k is None else self._daily[k]

    # -- adjusted issue price -------------------------------------------------------------
    def projected_payments_before(self, day: int) -> float:
        """Σ projected payments due strictly before ordinal ``day``."""
        k = bisect.bisect_left(self._ends, day)
        return self._paid_through[k]

    def fixing_adjustments_before(self, day: int) -> float:
        """Σ (b)(9)(ii)(A) adjustments made strictly before ordinal ``day`` (method §13)."""
        k = bisect.bisect_left(self._ends, day)
        return self._adjusted_through[k]

    def adjusted_issue_price(self, on: date) -> float:
        """AIP at the start of day ``on`` (method §3; (b)(7)(ii); (b)(9)(ii)(D)), per unit of
        principal."""
        day = on.toordinal()
        return (
            self.instrument.issue_price
            + self.interest_before(day)
            + self.fixing_adjustments_before(day)
            - self.projected_payments_before(day)
        )

    def fixing_of(self, due: date) -> AppliedFixing | None:
        """The (b)(9)(ii) fixing of the payment due on ``due``, if it was fixed early."""
        return next((f for f in self.fixings if f.due == due), None)

    @property
    def final_adjusted_issue_price(self) -> float:
        """AIP_n after the last projected payment: zero for a schedule that produces the
        comparable yield (method §3, §8)."""
        return self.periods[-1].adjusted_issue_price_end if self.periods else 0.0

    # -- calendar years ---------------------------------------------------------------------
    def interest_by_calendar_year(self) -> dict[int, float]:
        """Interest per unit of principal for each calendar year, for a holder from issue (the
        table issuers publish): Σ daily portions of the year's days."""
        if not self.periods:
            return {}
        years = {}
        first_year = self.periods[0].period_start.year
        last_year = self.periods[-1].period_end.year
        for year in range(first_year, last_year + 1):
            jan1 = date(year, 1, 1).toordinal()
            dec31 = date(year, 12, 31).toordinal()
            years[year] = self.interest_between(jan1, dec31)
        return years

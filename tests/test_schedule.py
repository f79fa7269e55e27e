"""The projected schedule, adjusted issue price and daily portions (method §2–3; (b)(3)(iii),
(b)(7)(ii)).

Golden figures: the AIG CMS Curve Notes due 2027 schedule exactly as printed
(tests/fixtures/aig-cms-curve-2027/, method §10).  Properties: Hypothesis instruments whose
final payment closes the schedule.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpdi.engine.daycount import DayCount, year_fraction
from cpdi.engine.schedule import AccrualSchedule, accrual_periods
from cpdi.engine.validation import implied_yield, present_value
from cpdi.model import ComparableYield, Instrument, PaymentType, ProjectedPayment

D = date
from builders import load_aig  # the AIG fixture read with csv only


@pytest.fixture(scope="module")
def aig() -> Instrument:
    return load_aig()


@pytest.fixture(scope="module")
def aig_schedule(aig) -> AccrualSchedule:
    return AccrualSchedule(aig)


def test_aig_fixture_is_read_as_printed(aig):
    assert aig.issue_date == D(2007, 7, 20)
    assert aig.maturity_date == D(2027, 7, 20)
    assert aig.issue_price == 1000.0 and aig.unit_principal == 1000.0
    assert aig.comparable_yield == ComparableYield(0.0546, DayCount.THIRTY_360, 2)
    assert len(aig.projected_payments) == 40
    assert aig.projected_payments[-1].amount == 1004.2577  # as printed (method §10, §8)
    assert [p.payment_type for p in aig.projected_payments[:4]] == [PaymentType.FIXED] * 4


# method §10 table, plus period 4 (hand: 945.4372 × 0.0273 = 25.8104; 945.4372 + 25.8104 − 45)
# (number, start, end, days, AIP begin, interest, projected, AIP end)
AIG_ROWS = [
    (1, D(2007, 7, 20), D(2008, 1, 20), 184, 1000.0000, 27.3000, 45.0000, 982.3000),
    (2, D(2008, 1, 20), D(2008, 7, 20), 182, 982.3000, 26.8168, 45.0000, 964.1168),
    (3, D(2008, 7, 20), D(2009, 1, 20), 184, 964.1168, 26.3204, 45.0000, 945.4372),
    (4, D(2009, 1, 20), D(2009, 7, 20), 181, 945.4372, 25.8104, 45.0000, 926.2476),
    (5, D(2009, 7, 20), D(2010, 1, 20), 184, 926.2476, 25.2866, 21.9327, 929.6015),
]


@pytest.mark.parametrize("row", AIG_ROWS, ids=[f"period {r[0]}" for r in AIG_ROWS])
def test_aig_golden_rows(aig_schedule, row):
    number, start, end, days, aip_begin, interest, projected, aip_end = row
    p = aig_schedule.periods[number - 1]
    assert p.number == number
    assert (p.period_start, p.period_end) == (start, end)
    assert p.days == days
    assert p.year_fraction == 0.5  # 30/360, every AIG period is a regular half year
    assert p.rate == pytest.approx(0.0273, abs=1e-15)
    assert round(p.adjusted_issue_price_start, 4) == aip_begin
    assert round(p.interest, 4) == interest
    assert round(p.projected_payment, 4) == projected
    assert round(p.adjusted_issue_price_end, 4) == aip_end
    # daily portions: interest spread evenly over the period's calendar days (method §3)
    assert p.daily_portion == pytest.approx(p.interest / days, rel=1e-15)


def test_aig_recursion_is_the_regulation_formula(aig, aig_schedule):
    # AIP_k = AIP_{k-1} × (1 + r_k) − projected_k, computed independently here (method §3)
    aip = 1000.0
    for p, pp in zip(aig_schedule.periods, aig.projected_payments):
        assert p.adjusted_issue_price_start == pytest.approx(aip, rel=1e-12)
        interest = aip * 0.0546 * 0.5
        assert p.interest == pytest.approx(interest, rel=1e-12)
        aip = aip + interest - pp.amount
        assert p.adjusted_issue_price_end == pytest.approx(aip, rel=1e-12)
        assert p.payment_type is pp.payment_type
    assert accrual_periods(aig) == aig_schedule.periods


def test_aig_first_period_exact(aig_schedule):
    p1 = aig_schedule.periods[0]
    assert p1.interest == pytest.approx(27.3, abs=1e-12)  # 1000 × 5.46% × 180/360
    assert p1.daily_portion == pytest.approx(27.3 / 184, abs=1e-14)


# -- adjusted_issue_price(date): AIP at the start of the day (method §3) -------------------------

P1_DAILY = 27.3 / 184  # period 1 (2007-07-20 → 2008-01-20), hand
P2_INTEREST = 982.3 * 0.0273  # period 2, hand: 26.81679
P2_DAILY = P2_INTEREST / 182


@pytest.mark.parametrize(
    "on, expected, why",
    [
        (D(2007, 7, 20), 1000.0, "issue date: nothing accrued"),
        (D(2007, 7, 21), 1000.0, "start of 21 Jul: the issue date itself accrues nothing"),
        (D(2007, 7, 22), 1000.0 + P1_DAILY, "one day (21 Jul) accrued"),
        (D(2007, 12, 31), 1000.0 + 163 * P1_DAILY, "21 Jul … 30 Dec = 163 days"),
        (D(2008, 1, 1), 1000.0 + 164 * P1_DAILY, "all of 2007: 164 days"),
        (D(2008, 1, 20), 1000.0 + 183 * P1_DAILY, "payment date, start of day: 183 days, no payment yet"),
        (D(2008, 1, 21), 1000.0 + 27.3 - 45.0, "day after the payment: AIP_1 = 982.3"),
        (D(2008, 4, 1), 982.3 + 71 * P2_DAILY, "mid-period 2: 21 Jan … 31 Mar = 71 days"),
        (D(2008, 7, 20), 982.3 + 181 * P2_DAILY, "second payment date, start of day"),
        (D(2008, 7, 21), 982.3 + P2_INTEREST - 45.0, "after the second payment: AIP_2"),
    ],
)
def test_aig_adjusted_issue_price_by_date(aig_schedule, on, expected, why):
    assert aig_schedule.adjusted_issue_price(on) == pytest.approx(expected, abs=1e-9), why


def test_aig_adjusted_issue_price_day_after_each_payment_is_aip_end(aig_schedule):
    for p in aig_schedule.periods:
        after = aig_schedule.adjusted_issue_price(p.period_end + timedelta(days=1))
        assert after == pytest.approx(p.adjusted_issue_price_end, abs=1e-9)
        on = aig_schedule.adjusted_issue_price(p.period_end)
        assert on == pytest.approx(
            p.adjusted_issue_price_end + p.projected_payment - p.daily_portion, abs=1e-9
        )


def test_aig_adjusted_issue_price_mid_period_generic(aig, aig_schedule):
    # issue price + daily portions of the days before − projected payments before (method §3)
    on = D(2013, 10, 5)
    days_before = range(aig.issue_date.toordinal() + 1, on.toordinal())
    accrued = 0.0
    for ordinal in days_before:
        for p in aig_schedule.periods:
            if p.period_start.toordinal() < ordinal <= p.period_end.toordinal():
                accrued += p.daily_portion
    paid = sum(pp.amount for pp in aig.projected_payments if pp.period_end < on)
    assert aig_schedule.adjusted_issue_price(on) == pytest.approx(1000.0 + accrued - paid, abs=1e-8)


def test_aig_final_adjusted_issue_price_is_the_printed_residual(aig_schedule):
    # method §8: the schedule as printed leaves AIP_40 = +36.0001 (validation reports it)
    assert round(aig_schedule.final_adjusted_issue_price, 4) == 36.0001
    assert aig_schedule.adjusted_issue_price(D(2027, 7, 21)) == pytest.approx(
        aig_schedule.final_adjusted_issue_price, abs=1e-8
    )


# -- daily portions and calendar years ---------------------------------------------------------


def test_aig_daily_portion_on_days(aig_schedule):
    s = aig_schedule
    assert s.daily_portion_on(D(2007, 7, 20).toordinal()) == 0.0  # issue date
    assert s.daily_portion_on(D(2007, 7, 21).toordinal()) == pytest.approx(P1_DAILY)
    assert s.daily_portion_on(D(2008, 1, 20).toordinal()) == pytest.approx(P1_DAILY)  # last day of P1
    assert s.daily_portion_on(D(2008, 1, 21).toordinal()) == pytest.approx(P2_DAILY)
    assert s.daily_portion_on(D(2027, 7, 20).toordinal()) == s.periods[-1].daily_portion
    assert s.daily_portion_on(D(2027, 7, 21).toordinal()) == 0.0  # after maturity


def test_aig_interest_by_calendar_year(aig_schedule):
    years = aig_schedule.interest_by_calendar_year()
    assert list(years) == list(range(2007, 2028))
    total = sum(p.interest for p in aig_schedule.periods)
    assert sum(years.values()) == pytest.approx(total, rel=1e-12)
    # 2007: 21 Jul … 31 Dec = 164 days of period 1's daily portion
    assert years[2007] == pytest.approx(164 * P1_DAILY, rel=1e-12)
    assert round(years[2007], 4) == 24.3326
    # 2008: the rest of period 1 (20 days), all of period 2, and 164 days of period 3
    p3 = aig_schedule.periods[2]
    expected_2008 = 20 * P1_DAILY + P2_INTEREST + 164 * p3.daily_portion
    assert years[2008] == pytest.approx(expected_2008, rel=1e-12)


# -- a buyer on 1 July of a note with periods ending 30 June / 31 December (method §3) ------------


@pytest.fixture(scope="module")
def june_december_note() -> Instrument:
    """6% 30/360 semiannual, issued 31 Dec 2023, periods ending 30 Jun / 31 Dec, maturing
    31 Dec 2025; projected payments 10 per 1000, then the amount that closes the schedule."""
    ends = [D(2024, 6, 30), D(2024, 12, 31), D(2025, 6, 30), D(2025, 12, 31)]
    starts = [D(2023, 12, 31)] + ends[:-1]
    aip = 1000.0
    amounts = []
    for k in range(4):
        grown = aip * 1.03  # every period is exactly 180/360 under 30/360 (method §2)
        amount = 10.0 if k < 3 else grown
        amounts.append(amount)
        aip = grown - amount
    return Instrument(
        "JUNDEC",
        D(2023, 12, 31),
        D(2025, 12, 31),
        1000.0,
        1000.0,
        ComparableYield(0.06, DayCount.THIRTY_360, 2),
        tuple(ProjectedPayment(s, e, a) for s, e, a in zip(starts, ends, amounts)),
    )


def test_buyer_on_1_july_sees_aip_after_june_period(june_december_note):
    s = AccrualSchedule(june_december_note)
    p1, p2 = s.periods[0], s.periods[1]
    assert p1.year_fraction == 0.5 and p2.year_fraction == 0.5
    assert p1.adjusted_issue_price_end == pytest.approx(1020.0, abs=1e-9)  # 1000 × 1.03 − 10
    assert s.adjusted_issue_price(D(2024, 7, 1)) == pytest.approx(1020.0, abs=1e-9)
    # and accrues the whole second-half period: 1 Jul … 31 Dec
    assert s.interest_between(D(2024, 7, 1).toordinal(), D(2024, 12, 31).toordinal()) == pytest.approx(
        p2.interest, rel=1e-12
    )
    assert p2.interest == pytest.approx(1020.0 * 0.03, abs=1e-9)
    # the day before, the June payment has not been made and 30 Jun's portion not yet accrued
    assert s.adjusted_issue_price(D(2024, 6, 30)) == pytest.approx(
        1000.0 + 30.0 * 181 / 182, abs=1e-9
    )


def test_period_ending_31_december_falls_wholly_in_that_year(june_december_note):
    s = AccrualSchedule(june_december_note)
    years = s.interest_by_calendar_year()
    assert years[2023] == 0.0  # issued 31 Dec 2023: the issue date accrues nothing
    assert years[2024] == pytest.approx(s.periods[0].interest + s.periods[1].interest, rel=1e-12)
    assert years[2025] == pytest.approx(s.periods[2].interest + s.periods[3].interest, rel=1e-12)
    assert s.final_adjusted_issue_price == pytest.approx(0.0, abs=1e-9)


# -- properties ----------------------------------------------------------------------------------


@st.composite
def closing_instruments(draw):
    """A random instrument whose last projected payment makes AIP_n = 0:
    final = AIP_{n-1} × (1 + r_n).  Regular periods step 12/frequency months from an anchor;
    optionally the issue date is moved into the first period to make a short first stub."""
    frequency = draw(st.sampled_from([1, 2, 4, 12]))
    day_count = draw(st.sampled_from(list(DayCount)))
    n = draw(st.integers(1, 40))
    anchor = draw(st.dates(D(1990, 1, 1), D(2040, 12, 31)))
    step = 12 // frequency
    ends = [anchor + relativedelta(months=k * step) for k in range(1, n + 1)]
    issue = anchor
    if draw(st.booleans()):
        stub = draw(st.integers(1, (ends[0] - anchor).days - 1))
        issue = anchor + timedelta(days=stub)
    starts = [issue] + ends[:-1]
    annual = draw(st.floats(0.001, 0.15))
    issue_price = draw(st.floats(50.0, 5000.0))
    aip = issue_price
    amounts = []
    for k, (s, e) in enumerate(zip(starts, ends)):
        # the maturity date is the termination date (30E/360 ISDA keeps a February maturity)
        grown = aip * (1.0 + annual * year_fraction(day_count, s, e, frequency, ends[-1]))
        if k < n - 1:
            share = draw(st.floats(0.0, 0.5))
            amount = round(share * grown, 4)  # printed to 4 dp, at most half of what is owed
        else:
            amount = grown  # closes the schedule
        amounts.append(amount)
        aip = grown - amount
    return Instrument(
        "PROP",
        issue,
        ends[-1],
        issue_price,
        1000.0,
        ComparableYield(annual, day_count, frequency),
        tuple(ProjectedPayment(s, e, a) for s, e, a in zip(starts, ends, amounts)),
    )


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_final_aip_is_zero(inst):
    s = AccrualSchedule(inst)
    assert abs(s.final_adjusted_issue_price) <= 1e-7 * inst.issue_price


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_present_value_is_issue_price(inst):
    pv = present_value(inst, inst.comparable_yield.annual_rate)
    assert pv == pytest.approx(inst.issue_price, rel=1e-9)


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_total_interest_is_payments_less_issue_price(inst):
    s = AccrualSchedule(inst)
    total = sum(p.interest for p in s.periods)
    paid = sum(pp.amount for pp in inst.projected_payments)
    assert total == pytest.approx(paid - inst.issue_price, rel=1e-9)


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_daily_portions_sum_to_period_interest(inst):
    s = AccrualSchedule(inst)
    for p in s.periods:
        first, last = p.period_start.toordinal() + 1, p.period_end.toordinal()
        by_day = sum(s.daily_portion_on(d) for d in range(first, last + 1))
        assert by_day == pytest.approx(p.interest, rel=1e-9)
        assert s.interest_between(first, last) == pytest.approx(p.interest, rel=1e-9)
        assert p.daily_portion * p.days == pytest.approx(p.interest, rel=1e-12)
    # nothing accrues on the issue date or after maturity
    assert s.daily_portion_on(inst.issue_date.toordinal()) == 0.0
    assert s.daily_portion_on(inst.maturity_date.toordinal() + 1) == 0.0


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_calendar_years_sum_to_total(inst):
    s = AccrualSchedule(inst)
    years = s.interest_by_calendar_year()
    total = sum(p.interest for p in s.periods)
    assert sum(years.values()) == pytest.approx(total, rel=1e-9)
    assert min(years) == inst.issue_date.year and max(years) == inst.maturity_date.year


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_implied_yield_is_comparable_yield(inst):
    y = implied_yield(inst)
    assert y is not None
    assert y == pytest.approx(inst.comparable_yield.annual_rate, abs=1e-9)


@PROPERTY_SETTINGS
@given(closing_instruments())
def test_property_adjusted_issue_price_by_date_matches_table(inst):
    s = AccrualSchedule(inst)
    assert s.adjusted_issue_price(inst.issue_date) == inst.issue_price
    for p in s.periods:
        after = s.adjusted_issue_price(p.period_end + timedelta(days=1))
        assert after == pytest.approx(p.adjusted_issue_price_end, abs=1e-9 * inst.issue_price)

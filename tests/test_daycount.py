"""Day counts and the accrual-period rate (method §2).

Every known value below names where it comes from:

* "method §2" — docs/method.md §2 (the day counts as cpdi fixes them);
* "ISDA 4.16(f)" — 2006 ISDA Definitions §4.16(f) "30/360" ("Bond Basis") worked examples
                (ISDA's spreadsheet 30-360-2006ISDADefs.xls, also the table in QuantLib's
                test-suite/daycounters.cpp, testThirty360_BondBasis).  §4.16(f) is the same rule
                as method §2: D1=31→30; D2=31→30 when D1 > 29; no end-of-February rule;
* "ISDA 1998" — ISDA memo "EMU and Market Conventions: Recent Developments" (mktc1198),
                Actual/Actual (ISMA = ICMA) examples, as tabulated in QuantLib's
                test-suite/daycounters.cpp, testActualActual;
* "hand"      — counted by hand here; the arithmetic is in the comment.
"""

from __future__ import annotations

import calendar
import sys
from datetime import date, timedelta

import pytest
from dateutil.relativedelta import relativedelta
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cpdi.engine.daycount import (
    DayCountError,
    DayCount,
    act_act_icma,
    period_rate,
    thirty_360_us,
    year_fraction,
)

D = date


# ---------------------------------------------------------------------------------------------
# 30/360 US bond basis (method §2)
# ---------------------------------------------------------------------------------------------

# (start, end, days under 30/360, source)
THIRTY_360_DAYS = [
    # method §2 / the AIG pricing supplement: a regular semiannual period is exactly half a year
    (D(2007, 7, 20), D(2008, 1, 20), 180, "method §2, AIG period 1"),
    # method §2: D1=31→30, D2=1 stays: 30·2 + (1 − 30) = 31
    (D(2023, 1, 31), D(2023, 3, 1), 31, "method §2"),
    # method §2: D1=30, D2=31→30 because D1 is 30: 30·2 + 0 = 60
    (D(2023, 1, 30), D(2023, 3, 31), 60, "method §2"),
    # method §2: D1=28 (not 30/31) so D2=31 stays 31: 30 + 3 = 33 (no end-of-Feb rule)
    (D(2023, 2, 28), D(2023, 3, 31), 33, "method §2"),
    # method §2: D1=31→30, D2=30: 6·30 = 180 → 0.5
    (D(2022, 12, 31), D(2023, 6, 30), 180, "method §2"),
    # method §2: D1=30, D2=31→30: 180 → 0.5
    (D(2023, 6, 30), D(2023, 12, 31), 180, "method §2"),
    # hand: D1=29 so D2=31 stays: 30 + (31 − 29) = 32
    (D(2023, 4, 29), D(2023, 5, 31), 32, "hand: Apr 29 → May 31"),
    # ISDA 4.16(f) Example 1: end dates not involving end of February
    (D(2006, 8, 20), D(2007, 2, 20), 180, "ISDA 4.16(f) ex. 1"),
    (D(2007, 2, 20), D(2007, 8, 20), 180, "ISDA 4.16(f) ex. 1"),
    (D(2007, 8, 20), D(2008, 2, 20), 180, "ISDA 4.16(f) ex. 1"),
    (D(2008, 2, 20), D(2008, 8, 20), 180, "ISDA 4.16(f) ex. 1"),
    (D(2008, 8, 20), D(2009, 2, 20), 180, "ISDA 4.16(f) ex. 1"),
    (D(2009, 2, 20), D(2009, 8, 20), 180, "ISDA 4.16(f) ex. 1"),
    # ISDA 4.16(f) Example 2: end dates include some end-February dates
    (D(2006, 8, 31), D(2007, 2, 28), 178, "ISDA 4.16(f) ex. 2"),
    (D(2007, 2, 28), D(2007, 8, 31), 183, "ISDA 4.16(f) ex. 2"),
    (D(2007, 8, 31), D(2008, 2, 29), 179, "ISDA 4.16(f) ex. 2"),
    (D(2008, 2, 29), D(2008, 8, 31), 182, "ISDA 4.16(f) ex. 2"),
    (D(2008, 8, 31), D(2009, 2, 28), 178, "ISDA 4.16(f) ex. 2"),
    (D(2009, 2, 28), D(2009, 8, 31), 183, "ISDA 4.16(f) ex. 2"),
    # ISDA 4.16(f) Example 3: miscellaneous
    (D(2006, 1, 31), D(2006, 2, 28), 28, "ISDA 4.16(f) ex. 3"),
    (D(2006, 1, 30), D(2006, 2, 28), 28, "ISDA 4.16(f) ex. 3"),
    (D(2006, 2, 28), D(2006, 3, 3), 5, "ISDA 4.16(f) ex. 3"),
    (D(2006, 2, 14), D(2006, 2, 28), 14, "ISDA 4.16(f) ex. 3"),
    (D(2006, 9, 30), D(2006, 10, 31), 30, "ISDA 4.16(f) ex. 3"),
    (D(2006, 10, 31), D(2006, 11, 28), 28, "ISDA 4.16(f) ex. 3"),
    (D(2007, 8, 31), D(2008, 2, 28), 178, "ISDA 4.16(f) ex. 3"),
    (D(2008, 2, 28), D(2008, 8, 28), 180, "ISDA 4.16(f) ex. 3"),
    (D(2008, 2, 28), D(2008, 8, 30), 182, "ISDA 4.16(f) ex. 3"),
    (D(2008, 2, 28), D(2008, 8, 31), 183, "ISDA 4.16(f) ex. 3"),
    (D(2007, 2, 26), D(2008, 2, 28), 362, "ISDA 4.16(f) ex. 3"),
    (D(2007, 2, 26), D(2008, 2, 29), 363, "ISDA 4.16(f) ex. 3"),
    (D(2008, 2, 29), D(2009, 2, 28), 359, "ISDA 4.16(f) ex. 3"),
    (D(2008, 2, 28), D(2008, 3, 30), 32, "ISDA 4.16(f) ex. 3"),
    (D(2008, 2, 28), D(2008, 3, 31), 33, "ISDA 4.16(f) ex. 3"),
]


@pytest.mark.parametrize(
    "start, end, days, source", THIRTY_360_DAYS, ids=[f"{s}->{e}" for s, e, _, _ in THIRTY_360_DAYS]
)
def test_thirty_360_known_values(start, end, days, source):
    assert thirty_360_us(start, end) == pytest.approx(days / 360.0, abs=1e-15)
    assert year_fraction(DayCount.THIRTY_360, start, end, 2) == pytest.approx(days / 360.0, abs=1e-15)


def test_thirty_360_aig_period_is_exactly_half_a_year():
    # method §2: 2007-07-20 → 2008-01-20 = 0.5 exactly (AIG CMS Curve Notes, 30/360 semiannual)
    assert thirty_360_us(D(2007, 7, 20), D(2008, 1, 20)) == 0.5


@pytest.mark.parametrize(
    "start, end",
    [(D(2022, 12, 31), D(2023, 6, 30)), (D(2023, 6, 30), D(2023, 12, 31))],
)
def test_thirty_360_half_years_ending_on_month_ends(start, end):
    # method §2: Dec 31 → Jun 30 and Jun 30 → Dec 31 are each exactly 0.5
    assert thirty_360_us(start, end) == 0.5


# ---------------------------------------------------------------------------------------------
# ACT/360 and ACT/365F (method §2: actual days over 360 or 365)
# ---------------------------------------------------------------------------------------------

# (start, end, actual days, source)
ACTUAL_DAYS = [
    (D(2023, 1, 1), D(2024, 1, 1), 365, "hand: non-leap year"),
    (D(2024, 1, 1), D(2025, 1, 1), 366, "hand: leap year 2024"),
    (D(2023, 2, 28), D(2023, 3, 1), 1, "hand: no Feb 29 in 2023"),
    (D(2024, 2, 28), D(2024, 3, 1), 2, "hand: Feb 29 2024 in between"),
    (D(2007, 7, 20), D(2008, 1, 20), 184, "hand: 11+31+30+31+30+31+20 (AIG period 1)"),
    (D(2008, 1, 20), D(2008, 7, 20), 182, "hand: 11+29+31+30+31+30+20 (leap February)"),
    (D(2009, 1, 20), D(2009, 7, 20), 181, "hand: 11+28+31+30+31+30+20"),
    (D(1999, 12, 31), D(2000, 12, 31), 366, "hand: 2000 is a leap year (÷400)"),
    (D(2099, 12, 31), D(2100, 12, 31), 365, "hand: 2100 is not a leap year (÷100)"),
]


@pytest.mark.parametrize("start, end, days, source", ACTUAL_DAYS)
def test_act_360(start, end, days, source):
    assert (end - start).days == days  # the table itself
    assert year_fraction(DayCount.ACT_360, start, end, 2) == pytest.approx(days / 360.0, abs=1e-15)


@pytest.mark.parametrize("start, end, days, source", ACTUAL_DAYS)
def test_act_365_fixed(start, end, days, source):
    # ACT/365F never uses 366, even across Feb 29: a leap year is 366/365 of a year
    assert year_fraction(DayCount.ACT_365F, start, end, 2) == pytest.approx(days / 365.0, abs=1e-15)


def test_act_365_fixed_leap_year_is_more_than_one_year():
    assert year_fraction(DayCount.ACT_365F, D(2024, 1, 1), D(2025, 1, 1), 1) == 366 / 365


# ---------------------------------------------------------------------------------------------
# ACT/ACT ICMA (method §2; ICMA Rule 251)
# ---------------------------------------------------------------------------------------------

# Regular periods: always exactly 1/frequency.  (start, end, frequency, source)
ICMA_REGULAR = [
    (D(2003, 11, 1), D(2004, 5, 1), 2, "ISDA 1998 first example: 0.5"),
    (D(1999, 7, 1), D(2000, 7, 1), 1, "ISDA 1998 short first, second period: 1.0"),
    (D(2003, 7, 15), D(2004, 1, 15), 2, "ISDA 1998 long first, second period: 0.5"),
    (D(1999, 7, 30), D(2000, 1, 30), 2, "ISDA 1998 short final, penultimate period: 0.5"),
    # semiannual, month-end rolls through February (hand: 181/(2·181), 182/(2·182), ...)
    (D(2022, 8, 31), D(2023, 2, 28), 2, "hand: Aug 31 → Feb 28, 181 days"),
    (D(2023, 8, 31), D(2024, 2, 29), 2, "hand: Aug 31 → Feb 29 (leap), 182 days"),
    (D(2023, 2, 28), D(2023, 8, 31), 2, "hand: Feb 28 → Aug 31, 184 days"),
    (D(2024, 2, 29), D(2024, 8, 31), 2, "hand: Feb 29 → Aug 31, 184 days"),
    (D(2007, 7, 20), D(2008, 1, 20), 2, "hand: AIG dates, 184 days"),
    (D(2008, 1, 20), D(2008, 7, 20), 2, "hand: 182 days incl. Feb 29"),
    # quarterly
    (D(2023, 11, 30), D(2024, 2, 29), 4, "hand: quarterly month-end into leap Feb, 91 days"),
    (D(2024, 2, 29), D(2024, 5, 31), 4, "hand: quarterly month-end out of leap Feb, 92 days"),
    (D(2022, 11, 30), D(2023, 2, 28), 4, "hand: quarterly month-end, 90 days"),
    (D(2023, 1, 15), D(2023, 4, 15), 4, "hand: 90 days"),
    (D(2023, 4, 15), D(2023, 7, 15), 4, "hand: 91 days"),
    # monthly
    (D(2024, 1, 31), D(2024, 2, 29), 12, "hand: monthly month-end, 29 days"),
    (D(2024, 2, 29), D(2024, 3, 31), 12, "hand: monthly month-end, 31 days"),
    (D(2023, 1, 31), D(2023, 2, 28), 12, "hand: monthly month-end, 28 days"),
    (D(2023, 4, 30), D(2023, 5, 31), 12, "hand: monthly month-end (EOM roll), 31 days"),
    (D(2024, 2, 15), D(2024, 3, 15), 12, "hand: 29 days incl. Feb 29"),
    # annual
    (D(2023, 6, 1), D(2024, 6, 1), 1, "hand: 366 days, leap"),
    (D(2024, 2, 29), D(2025, 2, 28), 1, "hand: month-end Feb 29 → Feb 28"),
]


@pytest.mark.parametrize(
    "start, end, frequency, source", ICMA_REGULAR, ids=[f"{s}->{e}/{f}" for s, e, f, _ in ICMA_REGULAR]
)
def test_act_act_icma_regular_period_is_one_over_frequency(start, end, frequency, source):
    assert act_act_icma(start, end, frequency) == pytest.approx(1.0 / frequency, abs=1e-15)
    assert year_fraction(DayCount.ACT_ACT, start, end, frequency) == pytest.approx(
        1.0 / frequency, abs=1e-15
    )


# Regular periods on a schedule that rolls on the 28th, 29th or 30th whose end date happens to be
# the last day of a month.  The engine assumes any period ending on a month end belongs to an
# end-of-month schedule, takes the notional period to start on the previous month end, and so
# treats these regular periods as long stubs.
ICMA_REGULAR_ROLL_29_30 = [
    # semiannual coupons on 30 June / 30 December: Dec 30 → Jun 30 is a regular half year,
    # the engine gives 0.5 + 1/(2·184) = 0.50272 (notional start Dec 31)
    (D(2023, 12, 30), D(2024, 6, 30), 2),
    # semiannual on the 30th, stepped from Aug 30 (relativedelta: Aug 30 + 6 months = Feb 28)
    (D(2022, 8, 30), D(2023, 2, 28), 2),
    # semiannual on the 29th into a leap February
    (D(2023, 8, 29), D(2024, 2, 29), 2),
    # quarterly on the 29th: Nov 29 + 3 months = Feb 28
    (D(2022, 11, 29), D(2023, 2, 28), 4),
    # monthly on the 30th: Jan 30 + 1 month = Feb 28; Mar 30 + 1 month = Apr 30
    (D(2023, 1, 30), D(2023, 2, 28), 12),
    (D(2023, 3, 30), D(2023, 4, 30), 12),
    # annual on the 28th: Feb 28 2032 (leap year, not a month end) → Feb 28 2033 (month end);
    # (found by Hypothesis when the engine gave 1 + 1/366)
    (D(2032, 2, 28), D(2033, 2, 28), 1),
    # quarterly on the 28th: Nov 28 → Feb 28 (non-leap)
    (D(2022, 11, 28), D(2023, 2, 28), 4),
]


@pytest.mark.parametrize(
    "start, end, frequency",
    ICMA_REGULAR_ROLL_29_30,
    ids=[f"{s}->{e}/{f}" for s, e, f in ICMA_REGULAR_ROLL_29_30],
)
def test_act_act_icma_regular_period_rolling_on_28th_to_30th(start, end, frequency):
    # each is exactly `frequency` steps of 12/frequency months by relativedelta
    assert start + relativedelta(months=12 // frequency) == end
    assert act_act_icma(start, end, frequency) == pytest.approx(1.0 / frequency, abs=1e-15)


@settings(max_examples=300, deadline=None)
@given(
    year=st.integers(1990, 2060),
    month=st.integers(1, 12),
    day=st.one_of(st.integers(1, 27), st.just("month-end")),
    frequency=st.sampled_from([1, 2, 4, 12]),
    k=st.integers(0, 40),
)
def test_act_act_icma_regular_periods_property(year, month, day, frequency, k):
    """Regular periods stepped from an anchor (day 1–27, or an end-of-month schedule) are
    exactly 1/frequency (method §2).  Days 28–30 are covered by the table above
    (a regression: those were once split as long stubs)."""
    step = 12 // frequency
    if day == "month-end":
        def nth(n):
            d = D(year, month, 1) + relativedelta(months=n * step)
            return d.replace(day=calendar.monthrange(d.year, d.month)[1])
    else:
        def nth(n):
            return D(year, month, day) + relativedelta(months=n * step)
    start, end = nth(k), nth(k + 1)
    assert act_act_icma(start, end, frequency) == pytest.approx(1.0 / frequency, abs=1e-15)


# Short first stubs: actual days / (frequency × days of the regular period ending on period_end)
# (start, end, frequency, expected, source)
ICMA_SHORT_STUBS = [
    # ISDA 1998 "short first calculation period": regular period 1 Jul 1998 → 1 Jul 1999 (365)
    (D(1999, 2, 1), D(1999, 7, 1), 1, 150 / 365, "ISDA 1998: 0.410958904110"),
    # ISDA 1998 "short final calculation period": 30 Jan → 30 Jun 2000, 152 days; the regular
    # period ending 30 Jun 2000 (31 Dec 1999 → 30 Jun 2000) has 182 days, as does the ISDA
    # reference period 30 Jan → 30 Jul 2000, so both give 152/364 = 0.417582417582
    (D(2000, 1, 30), D(2000, 6, 30), 2, 152 / (2 * 182), "ISDA 1998: 0.417582417582"),
    # hand: issue 15 Mar 2023, first coupon 20 Jul 2023; regular period 20 Jan → 20 Jul 2023
    # = 181 days; stub = 16+30+31+30+20 = 127 days
    (D(2023, 3, 15), D(2023, 7, 20), 2, 127 / (2 * 181), "hand"),
    # hand: leap February stub, monthly: 10 Feb → 29 Feb 2024 = 19 days of a 29-day period
    # (31 Jan → 29 Feb 2024)
    (D(2024, 2, 10), D(2024, 2, 29), 12, 19 / (12 * 29), "hand"),
    # hand: quarterly stub into a leap February: 1 Jan → 29 Feb 2024 = 59 days; regular period
    # 30 Nov 2023 → 29 Feb 2024 = 91 days
    (D(2024, 1, 1), D(2024, 2, 29), 4, 59 / (4 * 91), "hand"),
    # hand: same dates in a non-leap year: 1 Jan → 28 Feb 2023 = 58 of 90 days
    (D(2023, 1, 1), D(2023, 2, 28), 4, 58 / (4 * 90), "hand"),
    # hand: one-day stub
    (D(2023, 7, 19), D(2023, 7, 20), 2, 1 / (2 * 181), "hand"),
]


@pytest.mark.parametrize("start, end, frequency, expected, source", ICMA_SHORT_STUBS)
def test_act_act_icma_short_stub(start, end, frequency, expected, source):
    assert act_act_icma(start, end, frequency) == pytest.approx(expected, abs=1e-15)


def test_act_act_icma_long_first_stub_isda_example():
    """ISDA 1998 "long first calculation period" (ICMA Rule 251), semiannual 15 Jan / 15 Jul,
    issue 15 Aug 2002, first coupon 15 Jul 2003; published 0.915760869565::

        notional:  15 Jul 02 |---- 184 days ----| 15 Jan 03 |---- 181 days ----| 15 Jul 03
        stub:             15 Aug 02 |-- 153 --|            |------ 181 -------|
    """
    part_1 = (D(2003, 1, 15) - D(2002, 8, 15)).days / (2 * (D(2003, 1, 15) - D(2002, 7, 15)).days)
    part_2 = (D(2003, 7, 15) - D(2003, 1, 15)).days / (2 * (D(2003, 7, 15) - D(2003, 1, 15)).days)
    assert (part_1, part_2) == (153 / 368, 0.5)
    result = act_act_icma(D(2002, 8, 15), D(2003, 7, 15), 2)
    assert result == pytest.approx(part_1 + part_2, abs=1e-15)
    assert result == pytest.approx(0.915760869565, abs=1e-12)


def test_act_act_icma_long_stub_over_three_notional_periods():
    """Hand computation, quarterly month-end schedule (31 Mar / 30 Jun / 30 Sep / 31 Dec),
    issue 10 Nov 2023, first coupon 30 Jun 2024 (a long stub over three notional quarters)::

        30 Sep 23 |--- 92 ---| 31 Dec 23 |--- 91 ---| 31 Mar 24 |--- 91 ---| 30 Jun 24
              10 Nov |- 51 -|           |--- 91 ---|           |--- 91 ---|

    51/(4·92) + 91/(4·91) + 91/(4·91).  Jan–Mar 2024 has 31+29+31 = 91 days (leap February).
    """
    expected = 51 / (4 * 92) + 0.25 + 0.25
    assert (D(2023, 12, 31) - D(2023, 11, 10)).days == 51
    assert (D(2024, 3, 31) - D(2023, 12, 31)).days == 91
    assert act_act_icma(D(2023, 11, 10), D(2024, 6, 30), 4) == pytest.approx(expected, abs=1e-15)


def test_act_act_icma_long_stub_ending_on_regular_boundary_adds_whole_periods():
    # hand: a "stub" that is exactly two regular half-years is 1.0
    assert act_act_icma(D(2022, 7, 20), D(2023, 7, 20), 2) == pytest.approx(1.0, abs=1e-15)


# ---------------------------------------------------------------------------------------------
# DayCount.parse
# ---------------------------------------------------------------------------------------------

PARSE_ALIASES = [
    ("30/360", DayCount.THIRTY_360),
    ("30/360 US", DayCount.THIRTY_360),
    ("30U/360", DayCount.THIRTY_360),
    ("bond", DayCount.THIRTY_360),
    ("Bond Basis", DayCount.THIRTY_360),
    ("ACT/ACT", DayCount.ACT_ACT),
    ("act/act", DayCount.ACT_ACT),
    ("ACT/ACT ICMA", DayCount.ACT_ACT),
    ("ACT/ACT (ICMA)", DayCount.ACT_ACT),
    ("Actual/Actual", DayCount.ACT_ACT),
    ("Actual/Actual (ICMA)", DayCount.ACT_ACT),
    ("ICMA", DayCount.ACT_ACT),
    ("ACT/365F", DayCount.ACT_365F),
    ("ACT/365 Fixed", DayCount.ACT_365F),
    ("Actual/365F", DayCount.ACT_365F),
    ("Actual/365 (Fixed)", DayCount.ACT_365F),
    ("  actual / 365 (fixed)  ", DayCount.ACT_365F),
    ("ACT/360", DayCount.ACT_360),
    ("Actual/360", DayCount.ACT_360),
    ("act/360", DayCount.ACT_360),
]


@pytest.mark.parametrize("text, expected", PARSE_ALIASES)
def test_parse_aliases(text, expected):
    assert DayCount.parse(text) is expected


@pytest.mark.parametrize("member", list(DayCount))
def test_parse_canonical_name_round_trips(member):
    assert DayCount.parse(member.value) is member


@pytest.mark.parametrize(
    "text",
    [
        "ACT/364",
        "",
        "30/360 German",  # not a name cpdi knows: never taken for 30E/360 ISDA by a guess
        "actual",
    ],
)
def test_parse_unknown_raises_with_valid_names(text):
    with pytest.raises(ValueError) as excinfo:
        DayCount.parse(text)
    message = str(excinfo.value)
    assert repr(text) in message
    for member in DayCount:
        assert member.value in message


# ---------------------------------------------------------------------------------------------
# period_rate = yield × year fraction (method §2)
# ---------------------------------------------------------------------------------------------

# (annual yield, day count, start, end, frequency, expected rate, source)
PERIOD_RATES = [
    (0.0546, DayCount.THIRTY_360, D(2007, 7, 20), D(2008, 1, 20), 2, 0.0273, "method §10: 27.3000/1000"),
    (0.0546, DayCount.ACT_ACT, D(2007, 7, 20), D(2008, 1, 20), 2, 0.0273, "hand: regular half"),
    (0.0546, DayCount.ACT_360, D(2007, 7, 20), D(2008, 1, 20), 2, 0.0546 * 184 / 360, "hand"),
    (0.0546, DayCount.ACT_365F, D(2008, 1, 20), D(2008, 7, 20), 2, 0.0546 * 182 / 365, "hand"),
    (0.06, DayCount.ACT_ACT, D(2023, 3, 15), D(2023, 7, 20), 2, 0.06 * 127 / 362, "hand: stub"),
    (0.06, DayCount.THIRTY_360, D(2023, 2, 28), D(2023, 3, 31), 12, 0.06 * 33 / 360, "method §2"),
    (0.0, DayCount.ACT_360, D(2023, 1, 1), D(2023, 7, 1), 2, 0.0, "hand: zero yield"),
]


@pytest.mark.parametrize("annual, dc, start, end, frequency, expected, source", PERIOD_RATES)
def test_period_rate_is_yield_times_year_fraction(annual, dc, start, end, frequency, expected, source):
    assert period_rate(annual, dc, start, end, frequency) == pytest.approx(expected, abs=1e-15)
    assert period_rate(annual, dc, start, end, frequency) == pytest.approx(
        annual * year_fraction(dc, start, end, frequency), abs=1e-17
    )


@settings(max_examples=200, deadline=None)
@given(
    annual=st.floats(0.0, 0.5),
    dc=st.sampled_from(list(DayCount)),
    start=st.dates(D(1990, 1, 1), D(2060, 12, 31)),
    length=st.integers(1, 800),
    frequency=st.sampled_from([1, 2, 4, 12]),
)
def test_period_rate_property(annual, dc, start, length, frequency):
    end = start + timedelta(days=length)
    assert period_rate(annual, dc, start, end, frequency) == pytest.approx(
        annual * year_fraction(dc, start, end, frequency), rel=1e-15, abs=1e-18
    )


# ---------------------------------------------------------------------------------------------
# The ends of the calendar (method §2, §8): never "year 0 is out of range"
# ---------------------------------------------------------------------------------------------

# (start, end, frequency, expected, source) — every one computed, none raises
CALENDAR_ENDS = [
    # hand: start + 12 months would be 10000-11-05, past the calendar: not regular, a stub;
    # notional 9998-12-30 → 9999-12-30 has 365 days, the stub Nov 5 → Dec 30 has 25 + 30 = 55
    (D(9999, 11, 5), D(9999, 12, 30), 1, 55 / 365, "hand"),
    # hand: a regular year ending on the calendar's last day
    (D(9998, 12, 31), D(9999, 12, 31), 1, 1.0, "hand"),
    # hand: month-end roll; 30 Jun → 31 Dec is the notional half year itself (184 days)
    (D(9999, 6, 30), D(9999, 12, 31), 2, 0.5, "hand"),
    # hand: a regular year from the calendar's first day
    (D(1, 1, 1), D(2, 1, 1), 1, 1.0, "hand"),
    # hand: a stub whose notional year 0001-01-01 → 0002-01-01 (365 days) is in the calendar:
    # Mar 1 → Jan 1 = 306 days
    (D(1, 3, 1), D(2, 1, 1), 1, 306 / 365, "hand"),
]


@pytest.mark.parametrize("start, end, frequency, expected, source", CALENDAR_ENDS)
def test_act_act_at_the_ends_of_the_calendar(start, end, frequency, expected, source):
    assert act_act_icma(start, end, frequency) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("start, end, frequency, notional_end", [
    (D(1, 1, 5), D(1, 3, 1), 1, "0001-03-01"),  # notional year would start 0000-03-01
    (D(1, 1, 1), D(1, 1, 2), 2, "0001-01-02"),  # notional half year from 0000-07-02
    (D(1, 1, 10), D(1, 12, 31), 12, "0001-01-31"),  # long stub: the 12th month back fails
])
def test_act_act_stub_reaching_before_year_1_is_a_named_error(start, end, frequency, notional_end):
    with pytest.raises(DayCountError) as refused:
        year_fraction(DayCount.ACT_ACT, start, end, frequency)
    message = str(refused.value)
    assert f"{start.isoformat()} → {end.isoformat()}" in message
    assert f"the one ending {notional_end}" in message
    assert "before 0001-01-01" in message
    assert isinstance(refused.value, ValueError)  # callers catching ValueError still do


@settings(max_examples=300, deadline=None)
@given(
    start=st.one_of(st.dates(max_value=D(2, 12, 31)), st.dates(min_value=D(9998, 1, 1))),
    length=st.integers(1, 800),
    frequency=st.sampled_from([1, 2, 4, 12]),
)
# a stub inside a 28-day February notional period meets the bound exactly: 17 / (28 × 12)
# computed in another order differs from (17 / 28) / 12 in the last bit
@example(start=D(2, 3, 1), length=17, frequency=12)
def test_act_act_near_the_ends_computes_or_names_why(start, length, frequency):
    """Near either end of the calendar an ACT/ACT year fraction is a positive number (at most
    the days over 28 × frequency: no notional period is shorter than a 28-day month), or a
    DayCountError — only where a notional period would start before year 1."""
    try:
        end = start + timedelta(days=length)
    except OverflowError:
        end = D.max
    if end <= start:
        return
    try:
        fraction = act_act_icma(start, end, frequency)
    except DayCountError:
        assert start < D(2, 1, 1)
        return
    assert 0.0 < fraction <= (end - start).days / 28 / frequency * (1 + 4 * sys.float_info.epsilon)


# ---------------------------------------------------------------------------------------------
# 30E/360, 30E/360 ISDA and ACT/ACT ISDA (method §2)
#
# "ISDA 4.16(g)/(h)" — 2006 ISDA Definitions §4.16(g) "30E/360" (Eurobond Basis) and §4.16(h)
# "30E/360 (ISDA)"; the dates are the worked cases of ISDA's 30-360 spreadsheet as tabulated in
# QuantLib's test-suite/daycounters.cpp (testThirty360_EurobondBasis, testThirty360_ISDA); every
# day count is also recomputed by hand in the comment from the rule.
# ---------------------------------------------------------------------------------------------
from cpdi.engine.daycount import (  # noqa: E402 - grouped with the tests that use them
    AmbiguousDayCount,
    act_act_isda,
    day_count_days,
    thirty_e_360,
    thirty_e_360_isda,
)

THIRTY_E_360_DAYS = [
    (D(2006, 8, 20), D(2007, 2, 20), 180),  # 6 × 30
    (D(2006, 2, 28), D(2006, 8, 31), 182),  # D2 31→30: 180 + (30 − 28)
    (D(2006, 8, 31), D(2007, 2, 28), 178),  # D1 31→30: 180 + (28 − 30); February not stretched
    (D(2007, 8, 31), D(2008, 2, 29), 179),  # 180 + (29 − 30)
    (D(2006, 1, 31), D(2006, 2, 28), 28),  # 30 + (28 − 30)
    (D(2006, 2, 28), D(2006, 3, 3), 5),  # 30 + (3 − 28)
    (D(2006, 10, 31), D(2006, 11, 28), 28),  # 30 + (28 − 30)
    (D(2008, 2, 28), D(2008, 3, 31), 32),  # 30 + (30 − 28)
    (D(2007, 2, 26), D(2008, 2, 29), 363),  # 360 + 3
]


@pytest.mark.parametrize("start, end, days", THIRTY_E_360_DAYS)
def test_thirty_e_360_eurobond_basis(start, end, days):
    assert thirty_e_360(start, end) * 360 == pytest.approx(days, abs=1e-9)
    assert year_fraction(DayCount.THIRTY_E_360, start, end, 2) == thirty_e_360(start, end)


# (start, end, days, termination): the last day of February is the 30th unless it ends the note
THIRTY_E_360_ISDA_DAYS = [
    (D(2006, 2, 28), D(2006, 8, 31), 180, D(2012, 2, 29)),  # D1 end-Feb→30, D2 31→30
    (D(2006, 8, 31), D(2007, 2, 28), 180, D(2012, 2, 29)),  # D2 end-Feb→30 (not termination)
    (D(2007, 8, 31), D(2008, 2, 29), 180, D(2012, 2, 29)),  # D2 29 Feb 2008 → 30
    (D(2011, 8, 31), D(2012, 2, 29), 179, D(2012, 2, 29)),  # termination: D2 stays 29
    (D(2006, 1, 31), D(2006, 2, 28), 30, D(2008, 2, 29)),  # 30 + (30 − 30)
    (D(2006, 2, 28), D(2006, 3, 3), 3, D(2008, 2, 29)),  # 30 + (3 − 30)
    (D(2006, 2, 14), D(2006, 2, 28), 16, D(2008, 2, 29)),  # 30 − 14
    (D(2007, 8, 31), D(2008, 2, 28), 178, D(2008, 2, 29)),  # 28 Feb 2008 is not the last day
    (D(2008, 2, 28), D(2008, 8, 30), 182, D(2008, 2, 29)),  # 180 + (30 − 28)
    (D(2007, 2, 28), D(2008, 2, 29), 359, D(2008, 2, 29)),  # 360 + (29 − 30): termination
    (D(2008, 2, 29), D(2009, 2, 28), 360, D(2008, 2, 29)),  # both ends end-Feb → 30
    (D(2008, 2, 29), D(2008, 3, 31), 30, D(2008, 2, 29)),  # 30 + (30 − 30)
]


@pytest.mark.parametrize("start, end, days, termination", THIRTY_E_360_ISDA_DAYS)
def test_thirty_e_360_isda(start, end, days, termination):
    assert thirty_e_360_isda(start, end, termination) * 360 == pytest.approx(days, abs=1e-9)
    assert year_fraction(DayCount.THIRTY_E_360_ISDA, start, end, 2, termination) == \
        thirty_e_360_isda(start, end, termination)


# ISDA 1998 (Actual/Actual (ISDA) column of the memo's examples), recomputed by hand
ACT_ACT_ISDA_FRACTIONS = [
    (D(2003, 11, 1), D(2004, 5, 1), 61 / 365 + 121 / 366),  # memo: 0.49772438056740776
    (D(1999, 2, 1), D(1999, 7, 1), 150 / 365),
    (D(1999, 7, 1), D(2000, 7, 1), 184 / 365 + 182 / 366),
    (D(2002, 8, 15), D(2003, 7, 15), 334 / 365),
    (D(2003, 7, 15), D(2004, 1, 15), 170 / 365 + 14 / 366),
    (D(1999, 7, 30), D(2000, 1, 30), 155 / 365 + 29 / 366),
    (D(2000, 1, 30), D(2000, 6, 30), 152 / 366),
]


@pytest.mark.parametrize("start, end, fraction", ACT_ACT_ISDA_FRACTIONS)
def test_act_act_isda(start, end, fraction):
    assert act_act_isda(start, end) == pytest.approx(fraction, abs=1e-15)
    assert year_fraction(DayCount.ACT_ACT_ISDA, start, end, 2) == act_act_isda(start, end)


def test_act_act_isda_memo_figure():
    assert round(act_act_isda(D(2003, 11, 1), D(2004, 5, 1)), 11) == 0.49772438057


@pytest.mark.parametrize("text, expected", [
    ("30E/360", DayCount.THIRTY_E_360),
    ("Eurobond Basis", DayCount.THIRTY_E_360),
    ("30E/360 (ISDA)", DayCount.THIRTY_E_360_ISDA),
    ("Actual/Actual (ISDA)", DayCount.ACT_ACT_ISDA),
    ("ACT/ACT ISDA", DayCount.ACT_ACT_ISDA),
])
def test_parse_new_conventions(text, expected):
    assert DayCount.parse(text) is expected


@pytest.mark.parametrize("text", ["ACT/365", "Actual/365", "actual / 365", "A/365"])
def test_act_365_is_refused_as_ambiguous_with_both_choices(text):
    with pytest.raises(AmbiguousDayCount) as excinfo:
        DayCount.parse(text)
    message = str(excinfo.value)
    assert "ambiguous" in message and "ACT/365F" in message and "ACT/ACT ISDA" in message


# ---------------------------------------------------------------------------------------------
# day_count_days: the weight of a run of days under the day_count daily portion basis (method §3)
# ---------------------------------------------------------------------------------------------
def weights_by_day(day_count, start, end, frequency=2, termination=None):
    """{day: weight of that day} over the period (start, end]."""
    out, previous, day = {}, 0.0, start + timedelta(days=1)
    while day <= end:
        through = day_count_days(day_count, start, end, day, frequency, termination)
        out[day] = through - previous
        previous, day = through, day + timedelta(days=1)
    return out


def test_thirty_e_360_weighs_a_31st_zero_and_the_end_of_february_three():
    weights = weights_by_day(DayCount.THIRTY_E_360, D(2023, 1, 15), D(2023, 7, 15))
    assert weights[D(2023, 1, 31)] == 0  # 30E/360: the 31st is the 30th
    assert weights[D(2023, 3, 1)] == 3  # 28 Feb (day 28) → 1 Mar (day 30 + 1): 3
    assert weights[D(2023, 2, 28)] == 1
    assert sum(weights.values()) == 180  # the whole period: its year fraction × 360


def test_thirty_360_us_weighs_the_31st_after_a_mid_month_start():
    # 30/360 US: D1 = 15 < 30, so 31 Jan counts as 31 (weighs 1) and 1 Feb weighs 0
    weights = weights_by_day(DayCount.THIRTY_360, D(2023, 1, 15), D(2023, 7, 15))
    assert (weights[D(2023, 1, 31)], weights[D(2023, 2, 1)]) == (1, 0)
    assert sum(weights.values()) == 180


def test_thirty_e_360_isda_weighs_the_last_of_february_to_the_30th():
    weights = weights_by_day(DayCount.THIRTY_E_360_ISDA, D(2023, 1, 15), D(2023, 7, 15),
                             termination=D(2030, 1, 15))
    assert weights[D(2023, 2, 28)] == 3  # 27 Feb (27) → 28 Feb, the last day (30)
    assert weights[D(2023, 3, 1)] == 1
    assert sum(weights.values()) == 180


@pytest.mark.parametrize("day_count", [DayCount.ACT_360, DayCount.ACT_365F, DayCount.ACT_ACT])
def test_actual_day_counts_weigh_every_day_of_a_regular_period_one(day_count):
    weights = weights_by_day(day_count, D(2023, 1, 15), D(2023, 7, 15))
    assert all(w == pytest.approx(1.0, abs=1e-12) for w in weights.values())


def test_act_act_isda_weighs_leap_year_days_less():
    # 15 Oct 2023 → 15 Apr 2024: ISDA counts the period's first day, not its last, so 78 days
    # of 2023 over 365 and 105 of 2024 over 366.  Day t weighs the year fraction of the day
    # from t − 1 to t: 1 Jan 2024 still weighs a 2023 day, 2 Jan 2024 the first 2024 day.
    # Weights are scaled to the period's 183 calendar days.
    weights = weights_by_day(DayCount.ACT_ACT_ISDA, D(2023, 10, 15), D(2024, 4, 15))
    whole = 78 / 365 + 105 / 366
    assert weights[D(2023, 12, 31)] == pytest.approx(183 * (1 / 365) / whole, abs=1e-12)
    assert weights[D(2024, 1, 1)] == pytest.approx(183 * (1 / 365) / whole, abs=1e-12)
    assert weights[D(2024, 1, 2)] == pytest.approx(183 * (1 / 366) / whole, abs=1e-12)
    assert sum(weights.values()) == pytest.approx(183, abs=1e-9)


def test_act_act_icma_long_stub_weighs_each_notional_period_by_its_length():
    # long first stub 15 Aug 2002 → 15 Jul 2003, semiannual, notional periods stepped back from
    # 15 Jul 2003: (15 Jan 2003, 15 Jul 2003] of 181 days and (15 Jul 2002, 15 Jan 2003] of 184
    start, end = D(2002, 8, 15), D(2003, 7, 15)
    weights = weights_by_day(DayCount.ACT_ACT, start, end)
    total = (end - start).days
    whole = act_act_icma(start, end, 2)
    assert weights[D(2002, 9, 1)] == pytest.approx(total * (1 / (2 * 184)) / whole, abs=1e-12)
    assert weights[D(2003, 3, 1)] == pytest.approx(total * (1 / (2 * 181)) / whole, abs=1e-12)
    assert sum(weights.values()) == pytest.approx(total, abs=1e-9)


@settings(max_examples=300, deadline=None)
@given(
    start=st.dates(D(1990, 1, 1), D(2060, 1, 1)),
    months=st.sampled_from([1, 3, 6, 12]),
    day_count=st.sampled_from(list(DayCount)),
)
def test_property_day_weights_never_negative_and_add_up_to_the_period(start, months, day_count):
    end = start + relativedelta(months=months)
    frequency = 12 // months
    weights = weights_by_day(day_count, start, end, frequency, termination=end)
    assert min(weights.values()) >= -1e-12
    total = day_count_days(day_count, start, end, end, frequency, end)
    assert sum(weights.values()) == pytest.approx(total, abs=1e-9)
    if day_count.is_thirty:  # a 30-day count's weight is its year fraction × 360
        assert total == pytest.approx(year_fraction(day_count, start, end, frequency, end) * 360,
                                      abs=1e-9)

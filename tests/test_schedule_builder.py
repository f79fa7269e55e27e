"""The schedule builder (method §2, "How cpdi builds the grid"): the accrual period grid from the
note's terms, business days, the projected schedule, the single payment that produces the
comparable yield, ``cpdi.api.build_schedule`` and ``cpdi build-schedule``.

Every date below is checked by hand against a calendar; the holiday lists are the Federal
Reserve Board's published table K.8 ("Holidays Observed by the Federal Reserve System")."""

from __future__ import annotations

import calendar as _calendar
import csv
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpdi.api import BUILT_SCHEDULE_COLUMNS, build_schedule
from cpdi.cli import main
from cpdi.engine.business_days import (
    BusinessDay, BusinessDayError, adjust, is_business_day, us_holidays,
)
from cpdi.engine.daycount import DayCount
from cpdi.engine.schedule import accrual_periods
from cpdi.engine.schedule_builder import (
    AccrualGrid, Anchor, ScheduleBuildError, Stub, accrual_period_dates, projected_schedule,
    single_payment_for_yield,
)
from cpdi.model import ComparableYield, Instrument, PaymentType

D = date.fromisoformat


def ends(grid: AccrualGrid) -> list[str]:
    return [end.isoformat() for _, end in accrual_period_dates(grid)]


def periods(grid: AccrualGrid) -> list[tuple[str, str]]:
    return [(s.isoformat(), e.isoformat()) for s, e in accrual_period_dates(grid)]


# -- rolling from maturity: month ends and the 31st ---------------------------------------------
def test_month_end_maturity_rolls_on_month_ends():
    """Maturity 30 June, semiannual: every roll date is a month end (31 Dec, 30 Jun), not the
    30th of December."""
    grid = AccrualGrid(D("2025-06-30"), D("2030-06-30"), 2)
    assert ends(grid) == [
        "2025-12-31", "2026-06-30", "2026-12-31", "2027-06-30", "2027-12-31", "2028-06-30",
        "2028-12-31", "2029-06-30", "2029-12-31", "2030-06-30",
    ]
    assert accrual_period_dates(grid)[0][0] == D("2025-06-30")  # no stub: issue is a roll date


def test_31st_clamps_to_february_and_leap_years():
    """Maturity 31 August rolls back to 28 February, and 29 February in leap years."""
    grid = AccrualGrid(D("2023-08-31"), D("2027-08-31"), 2)
    assert ends(grid) == ["2024-02-29", "2024-08-31", "2025-02-28", "2025-08-31", "2026-02-28",
                          "2026-08-31", "2027-02-28", "2027-08-31"]


def test_a_day_that_is_not_a_month_end_is_clamped_without_drift():
    """Maturity 30 August (not a month end): 28 Feb / 29 Feb, and back to the 30th of August —
    the roll is on the anchor, never step by step."""
    grid = AccrualGrid(D("2023-08-30"), D("2027-08-30"), 2)
    assert ends(grid) == ["2024-02-29", "2024-08-30", "2025-02-28", "2025-08-30", "2026-02-28",
                          "2026-08-30", "2027-02-28", "2027-08-30"]
    grid = AccrualGrid(D("2026-01-29"), D("2026-05-29"), 12)
    assert ends(grid) == ["2026-02-28", "2026-03-29", "2026-04-29", "2026-05-29"]


def test_leap_day_anchors():
    # maturity 29 Feb 2028 is a month end: annual rolls on the last day of February
    grid = AccrualGrid(D("2024-02-29"), D("2028-02-29"), 1)
    assert ends(grid) == ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]
    # rolling forward from an issue on 29 Feb 2024
    grid = AccrualGrid(D("2024-02-29"), D("2028-02-29"), 1, anchor=Anchor.ISSUE)
    assert ends(grid) == ["2025-02-28", "2026-02-28", "2027-02-28", "2028-02-29"]
    # 28 Feb 2027 is a month end too: 28 Feb 2027 → 29 Feb 2028 is one regular year
    grid = AccrualGrid(D("2027-02-28"), D("2029-02-28"), 1, anchor=Anchor.ISSUE)
    assert ends(grid) == ["2028-02-29", "2029-02-28"]


# -- stubs -----------------------------------------------------------------------------------------
def test_short_and_long_first_stubs():
    short = AccrualGrid(D("2025-03-15"), D("2027-06-30"), 2)
    assert periods(short)[:2] == [("2025-03-15", "2025-06-30"), ("2025-06-30", "2025-12-31")]
    assert len(periods(short)) == 5
    assert periods(AccrualGrid(D("2025-03-15"), D("2027-06-30"), 2, stub=Stub.SHORT_FIRST)) == \
        periods(short)
    long = AccrualGrid(D("2025-03-15"), D("2027-06-30"), 2, stub=Stub.LONG_FIRST)
    assert periods(long) == [("2025-03-15", "2025-12-31"), ("2025-12-31", "2026-06-30"),
                             ("2026-06-30", "2026-12-31"), ("2026-12-31", "2027-06-30")]
    # no stub to merge: long_first changes nothing
    exact = AccrualGrid(D("2025-06-30"), D("2027-06-30"), 2, stub=Stub.LONG_FIRST)
    assert periods(exact) == periods(AccrualGrid(D("2025-06-30"), D("2027-06-30"), 2))
    # a term shorter than one period is one short stub, whatever the stub asks
    assert periods(AccrualGrid(D("2027-02-01"), D("2027-06-30"), 2, stub=Stub.LONG_FIRST)) == [
        ("2027-02-01", "2027-06-30")]


def test_short_and_long_last_stubs():
    short = AccrualGrid(D("2025-01-15"), D("2027-03-31"), 2, anchor=Anchor.ISSUE)
    assert periods(short) == [("2025-01-15", "2025-07-15"), ("2025-07-15", "2026-01-15"),
                              ("2026-01-15", "2026-07-15"), ("2026-07-15", "2027-01-15"),
                              ("2027-01-15", "2027-03-31")]
    long = AccrualGrid(D("2025-01-15"), D("2027-03-31"), 2, anchor=Anchor.ISSUE,
                       stub=Stub.LONG_LAST)
    assert periods(long)[-1] == ("2026-07-15", "2027-03-31")
    assert len(periods(long)) == 4


def test_a_long_stub_over_a_year_is_refused():
    """§1.1272-1(b)(1)(ii): an accrual period is at most a year; an annual long stub is longer."""
    grid = AccrualGrid(D("2025-03-15"), D("2027-06-30"), 1, stub=Stub.LONG_FIRST)
    with pytest.raises(ScheduleBuildError, match="longer than one year") as error:
        accrual_period_dates(grid)
    assert error.value.term == "stub"
    assert "2025-03-15 → 2026-06-30" in str(error.value)


# -- calendar anchors ------------------------------------------------------------------------------
def test_calendar_quarters_have_stubs_at_both_ends():
    grid = AccrualGrid(D("2024-05-15"), D("2026-08-20"), 4, anchor=Anchor.CALENDAR)
    got = periods(grid)
    assert got[0] == ("2024-05-15", "2024-06-30")
    assert got[-1] == ("2026-06-30", "2026-08-20")
    assert [e for _, e in got[1:-1]] == [
        "2024-09-30", "2024-12-31", "2025-03-31", "2025-06-30", "2025-09-30", "2025-12-31",
        "2026-03-31", "2026-06-30"]
    long_first = periods(AccrualGrid(D("2024-05-15"), D("2026-08-20"), 4, anchor=Anchor.CALENDAR,
                                     stub=Stub.LONG_FIRST))
    assert long_first[0] == ("2024-05-15", "2024-09-30") and long_first[-1] == got[-1]
    long_last = periods(AccrualGrid(D("2024-05-15"), D("2026-08-20"), 4, anchor=Anchor.CALENDAR,
                                    stub=Stub.LONG_LAST))
    assert long_last[-1] == ("2026-03-31", "2026-08-20") and long_last[0] == got[0]


def test_calendar_years_halves_and_months():
    assert periods(AccrualGrid(D("2024-05-15"), D("2026-08-20"), 1, anchor=Anchor.CALENDAR)) == [
        ("2024-05-15", "2024-12-31"), ("2024-12-31", "2025-12-31"), ("2025-12-31", "2026-08-20")]
    assert ends(AccrualGrid(D("2024-06-30"), D("2025-12-31"), 2, anchor=Anchor.CALENDAR)) == [
        "2024-12-31", "2025-06-30", "2025-12-31"]  # no stub at either end
    assert ends(AccrualGrid(D("2025-01-15"), D("2025-04-10"), 12, anchor=Anchor.CALENDAR)) == [
        "2025-01-31", "2025-02-28", "2025-03-31", "2025-04-10"]
    # a long first calendar-year stub would be longer than a year
    with pytest.raises(ScheduleBuildError, match="longer than one year"):
        accrual_period_dates(AccrualGrid(D("2024-05-15"), D("2026-08-20"), 1,
                                         anchor=Anchor.CALENDAR, stub=Stub.LONG_FIRST))


# -- listed dates ----------------------------------------------------------------------------------
def test_listed_dates_with_maturity_added():
    grid = AccrualGrid(D("2025-01-10"), D("2026-03-31"), 2, anchor=Anchor.DATES,
                       payment_dates=(D("2025-06-30"), D("2025-12-31")))
    assert periods(grid) == [("2025-01-10", "2025-06-30"), ("2025-06-30", "2025-12-31"),
                             ("2025-12-31", "2026-03-31")]
    with_maturity = AccrualGrid(D("2025-01-10"), D("2026-03-31"), 2, anchor=Anchor.DATES,
                                payment_dates=(D("2025-06-30"), D("2026-03-31")))
    assert ends(with_maturity) == ["2025-06-30", "2026-03-31"]


@pytest.mark.parametrize("listed, named, why", [
    (("2025-12-31", "2025-06-30"), "2025-06-30", "strictly increasing"),
    (("2025-06-30", "2025-06-30"), "2025-06-30", "strictly increasing"),
    (("2025-01-10",), "2025-01-10", "not after the issue date"),
    (("2024-12-31",), "2024-12-31", "not after the issue date"),
    (("2026-04-01",), "2026-04-01", "after the maturity date"),
])
def test_listed_dates_errors_name_the_date(listed, named, why):
    grid = AccrualGrid(D("2025-01-10"), D("2026-03-31"), 2, anchor=Anchor.DATES,
                       payment_dates=tuple(D(d) for d in listed))
    with pytest.raises(ScheduleBuildError) as error:
        accrual_period_dates(grid)
    assert f"payment date {named}" in str(error.value) and why in str(error.value)
    assert error.value.term == "payment_dates"


def test_listed_dates_more_than_a_year_apart_are_refused():
    grid = AccrualGrid(D("2025-01-10"), D("2027-03-31"), 1, anchor=Anchor.DATES,
                       payment_dates=(D("2025-06-30"),))
    with pytest.raises(ScheduleBuildError, match="period 2 2025-06-30 → 2027-03-31 is longer"):
        accrual_period_dates(grid)


# -- business days ---------------------------------------------------------------------------------
def test_us_holidays_2024_as_the_federal_reserve_lists_them():
    assert list(us_holidays(2024)) == [D(d) for d in (
        "2024-01-01", "2024-01-15", "2024-02-19", "2024-05-27", "2024-06-19", "2024-07-04",
        "2024-09-02", "2024-10-14", "2024-11-11", "2024-11-28", "2024-12-25")]
    assert us_holidays(2024)[D("2024-06-19")] == "Juneteenth National Independence Day"


def test_us_holidays_2026_as_the_federal_reserve_lists_them():
    """K.8 2026: July 4 falls on a Saturday; the Reserve Banks are open Friday 3 July."""
    assert list(us_holidays(2026)) == [D(d) for d in (
        "2026-01-01", "2026-01-19", "2026-02-16", "2026-05-25", "2026-06-19", "2026-07-04",
        "2026-09-07", "2026-10-12", "2026-11-11", "2026-11-26", "2026-12-25")]
    assert is_business_day(D("2026-07-03"))  # not moved to the Friday
    assert not is_business_day(D("2026-07-04"))


def test_observance_sunday_moves_to_monday_saturday_moves_nowhere():
    assert us_holidays(2027)[D("2027-07-05")] == "Independence Day (observed)"
    assert not is_business_day(D("2027-07-05"))
    assert is_business_day(D("2027-06-18")) and is_business_day(D("2027-12-24"))
    # New Year's Day on a Saturday (2022): open Friday 31 December 2021; on a Sunday (2023):
    # closed Monday 2 January
    assert is_business_day(D("2021-12-31"))
    assert not is_business_day(D("2023-01-02"))
    # Juneteenth from 2022; Veterans Day on the fourth Monday of October before 1978
    assert D("2021-06-19") not in us_holidays(2021) and D("2022-06-20") in us_holidays(2022)
    assert us_holidays(1975)[D("1975-10-27")] == "Veterans Day"
    assert "Birthday of Martin Luther King, Jr." not in us_holidays(1985).values()
    with pytest.raises(BusinessDayError, match="1971"):
        us_holidays(1970)


def test_adjust_rules_and_calendars():
    saturday, sunday = D("2026-07-18"), D("2026-01-18")
    assert adjust(saturday, BusinessDay.FOLLOWING) == D("2026-07-20")
    assert adjust(saturday, "preceding") == D("2026-07-17")
    assert adjust(saturday, BusinessDay.NONE) == saturday
    # Sunday 18 January 2026, then Monday 19th is Martin Luther King, Jr. Day
    assert adjust(sunday, BusinessDay.FOLLOWING) == D("2026-01-20")
    # modified following across a month end: Saturday 31 January 2026 → Friday 30 January
    assert adjust(D("2026-01-31"), BusinessDay.FOLLOWING) == D("2026-02-02")
    assert adjust(D("2026-01-31"), BusinessDay.MODIFIED_FOLLOWING) == D("2026-01-30")
    assert adjust(D("2024-07-04"), "following") == D("2024-07-05")
    assert adjust(D("2024-07-04"), "following", calendar="none") == D("2024-07-04")
    assert adjust(D("2024-10-04"), "following", extra={D("2024-10-04")}) == D("2024-10-07")
    with pytest.raises(BusinessDayError, match="unknown holiday calendar"):
        is_business_day(D("2024-10-04"), "target")
    with pytest.raises(BusinessDayError, match="unknown business-day rule"):
        adjust(saturday, "nearest")


def test_grid_business_day_adjustment():
    # a period end on a Sunday before Martin Luther King, Jr. Day (19 Jan 2026), one on a
    # Saturday, and maturity on that holiday itself (18 Jan 2027): maturity moves too
    grid = AccrualGrid(D("2025-07-18"), D("2027-01-18"), 2, business_day=BusinessDay.FOLLOWING)
    assert periods(grid) == [("2025-07-18", "2026-01-20"), ("2026-01-20", "2026-07-20"),
                             ("2026-07-20", "2027-01-19")]
    # a period end on July 4th (a Thursday) and one on a Saturday
    grid = AccrualGrid(D("2024-04-04"), D("2025-04-04"), 4, anchor=Anchor.ISSUE,
                       business_day=BusinessDay.FOLLOWING)
    assert ends(grid) == ["2024-07-05", "2024-10-04", "2025-01-06", "2025-04-04"]
    # modified following keeps a month-end roll in its month
    grid = AccrualGrid(D("2025-12-31"), D("2026-03-31"), 12,
                       business_day=BusinessDay.MODIFIED_FOLLOWING)
    assert ends(grid) == ["2026-01-30", "2026-02-27", "2026-03-31"]
    # user-listed holidays
    grid = AccrualGrid(D("2024-04-04"), D("2025-04-04"), 4, anchor=Anchor.ISSUE,
                       business_day=BusinessDay.FOLLOWING, holidays=frozenset({D("2024-10-04")}))
    assert ends(grid)[1] == "2024-10-07"
    # unadjusted by default, as issuers' tables are
    assert ends(AccrualGrid(D("2024-04-04"), D("2025-04-04"), 4, anchor=Anchor.ISSUE))[0] == \
        "2024-07-04"


def test_an_adjustment_never_leaves_a_zero_day_period():
    """Issued Friday 30 January 2026; the first month end (Saturday 31st) moves back to the
    issue date under preceding: that period vanishes into the next."""
    grid = AccrualGrid(D("2026-01-30"), D("2026-03-31"), 12, business_day=BusinessDay.PRECEDING)
    assert periods(grid) == [("2026-01-30", "2026-02-27"), ("2026-02-27", "2026-03-31")]


def test_maturity_moved_by_the_rule_is_said():
    rows = build_schedule("X", "2024-07-04", "2026-07-04", 2, business_day="following",
                          single_payment=1100)
    assert rows[-1]["period_end"] == D("2026-07-06") == rows.maturity_date
    assert any("2026-07-06 as the instrument's maturity_date" in n for n in rows.notes)


# -- the projected schedule and the single payment -------------------------------------------------
def test_projected_schedule_amounts_and_types():
    dates = accrual_period_dates(AccrualGrid(D("2025-06-30"), D("2026-12-31"), 2))
    payments = projected_schedule(dates, amounts=[45, 45, 1040.5], fixed_count=2)
    assert [p.amount for p in payments] == [45.0, 45.0, 1040.5]
    assert [p.payment_type for p in payments] == [PaymentType.FIXED, PaymentType.FIXED,
                                                  PaymentType.CONTINGENT]
    single = projected_schedule(dates, single_payment=1100.0)
    assert [p.amount for p in single] == [0.0, 0.0, 1100.0]
    assert all(p.payment_type is PaymentType.CONTINGENT for p in single)
    with pytest.raises(ScheduleBuildError, match="at most|from 0 to 2"):
        projected_schedule(dates, single_payment=1100.0, fixed_count=3)
    with pytest.raises(ScheduleBuildError, match="negative"):
        projected_schedule(dates, amounts=[45, -1, 1000])
    with pytest.raises(ScheduleBuildError, match="either amounts"):
        projected_schedule(dates)


def test_amounts_count_mismatch_lists_the_built_period_ends():
    dates = accrual_period_dates(AccrualGrid(D("2025-06-30"), D("2026-12-31"), 2))
    with pytest.raises(ScheduleBuildError) as error:
        projected_schedule(dates, amounts=[45, 1045])
    assert "2 amount(s) for 3 accrual period(s)" in str(error.value)
    assert "2025-12-31, 2026-06-30, 2026-12-31" in str(error.value)
    assert error.value.term == "amounts"


def test_single_payment_for_yield_five_years_30_360():
    """Issue price 1000, 4% 30/360 semiannual, five years exactly: 1000 × 1.02^10."""
    dates = accrual_period_dates(AccrualGrid(D("2025-01-15"), D("2030-01-15"), 2))
    cy = ComparableYield(0.04, DayCount.THIRTY_360, 2)
    payment = single_payment_for_yield(1000.0, cy, dates)
    assert payment == pytest.approx(1218.9944199947574, abs=1e-9)
    assert f"{payment:.5f}" == "1218.99442"


def test_single_payment_for_yield_closes_a_stub_schedule():
    """ACT/ACT with a short first stub: the solved payment leaves a final AIP of zero."""
    dates = accrual_period_dates(AccrualGrid(D("2025-03-10"), D("2030-06-30"), 2))
    cy = ComparableYield(0.0546, DayCount.ACT_ACT, 2)
    payment = single_payment_for_yield(1000.0, cy, dates)
    instrument = Instrument("X", dates[0][0], dates[-1][1], 1000.0, 1000.0, cy,
                            projected_schedule(dates, single_payment=payment))
    assert accrual_periods(instrument)[-1].adjusted_issue_price_end == pytest.approx(0, abs=1e-9)
    with pytest.raises(ScheduleBuildError, match="issue_price"):
        single_payment_for_yield(0.0, cy, dates)


# -- errors for each bad term ----------------------------------------------------------------------
@pytest.mark.parametrize("grid, term, text", [
    (AccrualGrid(D("2025-01-15"), D("2030-01-15"), 3), "frequency", "frequency 3"),
    (AccrualGrid(D("2025-01-15"), D("2020-01-15"), 2), "maturity_date", "not after issue_date"),
    (AccrualGrid(D("2025-01-15"), D("2025-01-15"), 2), "maturity_date", "not after issue_date"),
    (AccrualGrid(D("2025-01-15"), D("2030-01-15"), 2, stub=Stub.SHORT_LAST), "stub",
     "anchor issue"),
    (AccrualGrid(D("2025-01-15"), D("2030-01-15"), 2, anchor=Anchor.ISSUE,
                 stub=Stub.LONG_FIRST), "stub", "anchor maturity"),
    (AccrualGrid(D("2025-01-15"), D("2030-01-15"), 2, anchor=Anchor.CALENDAR,
                 stub=Stub.SHORT_FIRST), "stub", "long_first or long_last"),
    (AccrualGrid(D("2025-01-15"), D("2030-01-15"), 2, anchor=Anchor.DATES,
                 stub=Stub.LONG_FIRST), "stub", "leave the stub out"),
    (AccrualGrid(D("2025-01-15"), D("2030-01-15"), 2,
                 payment_dates=(D("2026-01-15"),)), "payment_dates", "anchor dates"),
])
def test_bad_terms_are_named(grid, term, text):
    with pytest.raises(ScheduleBuildError, match=text) as error:
        accrual_period_dates(grid)
    assert error.value.term == term
    assert "\n" not in str(error.value)


def test_api_errors_name_the_argument():
    with pytest.raises(ScheduleBuildError, match="anchor 'monthly'") as error:
        build_schedule("X", "2025-01-15", "2030-01-15", 2, anchor="monthly", single_payment=1)
    assert error.value.term == "anchor"
    with pytest.raises(ScheduleBuildError, match="not a date"):
        build_schedule("X", "2025-02-30", "2030-01-15", 2, single_payment=1)
    with pytest.raises(ScheduleBuildError, match="missing: day_count"):
        build_schedule("X", "2025-01-15", "2030-01-15", 2, issue_price=1000,
                       comparable_yield_pct=4)
    with pytest.raises(ScheduleBuildError, match="without amounts"):
        build_schedule("X", "2025-01-15", "2030-01-15", 2, single_payment=1, issue_price=1000)
    with pytest.raises(ScheduleBuildError, match="ambiguous") as error:
        build_schedule("X", "2025-01-15", "2030-01-15", 2, issue_price=1000,
                       comparable_yield_pct=4, day_count="ACT/365")
    assert error.value.term == "day_count"


def test_api_rows_are_schedule_csv_rows_and_the_solve_is_said():
    rows = build_schedule("X", "2025-01-15", date(2030, 1, 15), 2, issue_price=1000,
                          comparable_yield_pct=4, day_count="30/360")
    assert isinstance(rows, list) and len(rows) == 10
    assert tuple(rows[0]) == BUILT_SCHEDULE_COLUMNS
    assert rows[0] == {"instrument_id": "X", "period_start": D("2025-01-15"),
                       "period_end": D("2025-07-15"), "projected_payment": 0.0,
                       "payment_type": "contingent"}
    assert rows[-1]["projected_payment"] == pytest.approx(1218.9944199947574, abs=1e-9)
    assert rows.single_payment == rows[-1]["projected_payment"]
    assert any("single payment solved" in note for note in rows.notes)
    given = build_schedule("X", "2025-01-15", "2030-01-15", 2, amounts=[20.0] * 9 + [1020.0],
                           fixed_count=9)
    assert given.notes == [] and given.single_payment is None
    assert [r["payment_type"] for r in given] == ["fixed"] * 9 + ["contingent"]


# -- the property ----------------------------------------------------------------------------------
def _month_index(day: date) -> int:
    return day.year * 12 + day.month


def _is_month_end(day: date) -> bool:
    return day.day == _calendar.monthrange(day.year, day.month)[1]


def _on_roll(day: date, anchor: date) -> bool:
    """``day`` is a roll date of ``anchor`` (end-of-month rule; else the day clamped)."""
    if _is_month_end(anchor):
        return _is_month_end(day)
    return day.day == min(anchor.day, _calendar.monthrange(day.year, day.month)[1])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    issue=st.dates(min_value=date(1990, 1, 1), max_value=date(2150, 12, 31)),
    term_days=st.integers(min_value=1, max_value=40 * 366),
    frequency=st.sampled_from((1, 2, 4, 12)),
    anchor=st.sampled_from((Anchor.MATURITY, Anchor.ISSUE, Anchor.CALENDAR)),
    stub_pick=st.integers(min_value=0, max_value=2),
)
def test_periods_are_contiguous_and_regular(issue, term_days, frequency, anchor, stub_pick):
    maturity = issue + timedelta(days=term_days)
    stub = {Anchor.MATURITY: (None, Stub.SHORT_FIRST, Stub.LONG_FIRST),
            Anchor.ISSUE: (None, Stub.SHORT_LAST, Stub.LONG_LAST),
            Anchor.CALENDAR: (None, Stub.LONG_FIRST, Stub.LONG_LAST)}[anchor][stub_pick]
    step = 12 // frequency
    try:
        got = accrual_period_dates(AccrualGrid(issue, maturity, frequency, anchor, stub))
    except ScheduleBuildError as error:  # only an annual long stub may be longer than a year
        assert frequency == 1 and stub in (Stub.LONG_FIRST, Stub.LONG_LAST), error
        return
    assert got[0][0] == issue and got[-1][1] == maturity
    assert all(start < end for start, end in got)  # no zero-day period
    assert all(a[1] == b[0] for a, b in zip(got, got[1:]))  # contiguous
    if anchor is Anchor.MATURITY:
        regular, odd = got[1:], got[0]
        roll_anchor = maturity
    elif anchor is Anchor.ISSUE:
        regular, odd = got[:-1], got[-1]
        roll_anchor = issue
    else:
        regular = got[1:-1]
    if anchor is Anchor.CALENDAR:
        for start, end in regular:
            assert _month_index(end) - _month_index(start) == step
            assert _is_month_end(start) and _is_month_end(end) and end.month % step == 0
        assert all(_month_index(e) - _month_index(s) <= 2 * step for s, e in got)
        return
    for start, end in regular:  # exactly 12/frequency months, on the anchor's roll
        assert _month_index(end) - _month_index(start) == step
        assert _on_roll(start, roll_anchor) and _on_roll(end, roll_anchor)
    months = _month_index(odd[1]) - _month_index(odd[0])
    if stub in (Stub.LONG_FIRST, Stub.LONG_LAST):
        assert months <= 2 * step
    else:  # a short stub is never longer than a regular period
        assert months <= step


# -- the command -----------------------------------------------------------------------------------
def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


INSTRUMENTS = ("instrument_id,issue_date,maturity_date,issue_price,unit_principal,"
               "comparable_yield_pct,frequency,day_count\n")


def test_built_solved_schedule_validates(tmp_path, capsys):
    """build-schedule + a hand-written instruments.csv: cpdi validate exits 0."""
    folder = tmp_path / "input"
    folder.mkdir()
    code, out, err = run(capsys, "build-schedule", "--id", "NOTE1", "--issue-date", "2025-01-15",
                         "--maturity-date", "2030-01-15", "--frequency", "2",
                         "--solve-single-payment", "--issue-price", "1000",
                         "--comparable-yield-pct", "4", "--day-count", "30/360",
                         "--out", folder / "schedule.csv")
    assert code == 0, err
    assert "wrote 10 period(s)" in out and "single payment solved" in out
    rows = list(csv.DictReader((folder / "schedule.csv").open()))
    assert list(rows[0]) == list(BUILT_SCHEDULE_COLUMNS)
    assert rows[-1]["projected_payment"].startswith("1218.99441999")
    (folder / "instruments.csv").write_text(
        INSTRUMENTS + "NOTE1,2025-01-15,2030-01-15,1000,1000,4,2,30/360\n")
    code, out, err = run(capsys, "validate", folder)
    assert code == 0, err
    assert "NOTE1: OK" in out and "all valid" in out


def test_built_stub_schedule_act_act_validates(tmp_path, capsys):
    folder = tmp_path / "input"
    folder.mkdir()
    code, _, err = run(capsys, "build-schedule", "--id", "NOTE2", "--issue-date", "2025-03-10",
                       "--maturity-date", "2030-06-30", "--frequency", "2", "--stub", "long_first",
                       "--solve-single-payment", "--issue-price", "998.5",
                       "--comparable-yield-pct", "5.46", "--day-count", "ACT/ACT",
                       "--out", folder / "schedule.csv")
    assert code == 0, err
    (folder / "instruments.csv").write_text(
        INSTRUMENTS + "NOTE2,2025-03-10,2030-06-30,998.5,1000,5.46,2,ACT/ACT\n")
    code, out, err = run(capsys, "validate", folder)
    assert code == 0, err + out


def test_amounts_file_and_its_checks(tmp_path, capsys):
    amounts = tmp_path / "amounts.csv"
    amounts.write_text("period_end,projected_payment\n2025-12-31,45\n2026-06-30,45\n"
                       "2026-12-31,\"1,040.50\"\n")
    out = tmp_path / "schedule.csv"
    code, stdout, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-06-30",
                            "--maturity-date", "2026-12-31", "--frequency", "2", "--fixed", "2",
                            "--amounts", amounts, "--out", out)
    assert code == 0, err
    assert out.read_text() == (
        "instrument_id,period_start,period_end,projected_payment,payment_type\n"
        "N,2025-06-30,2025-12-31,45,fixed\nN,2025-12-31,2026-06-30,45,fixed\n"
        "N,2026-06-30,2026-12-31,1040.5,contingent\n")
    # a period_end that is not the built one is named by row
    amounts.write_text("period_end,projected_payment\n2025-12-30,45\n2026-06-30,45\n"
                       "2026-12-31,1040\n")
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-06-30",
                       "--maturity-date", "2026-12-31", "--frequency", "2", "--amounts", amounts)
    assert code == 1
    assert "amounts.csv row 2, column period_end" in err and "ends 2025-12-31" in err
    # one row too few: the message lists the built period ends
    amounts.write_text("projected_payment\n45\n1045\n")
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-06-30",
                       "--maturity-date", "2026-12-31", "--frequency", "2", "--amounts", amounts)
    assert code == 1
    assert "2 amount(s) for 3 accrual period(s)" in err
    assert "2025-12-31, 2026-06-30, 2026-12-31" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    # a bad cell is named by row and column
    amounts.write_text("projected_payment\n45\nabc\n-3\n")
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-06-30",
                       "--maturity-date", "2026-12-31", "--frequency", "2", "--amounts", amounts)
    assert code == 1
    assert "row 3, column projected_payment" in err and "row 4, column projected_payment" in err


def test_printed_without_out_and_holidays_file(tmp_path, capsys):
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("date\n# the issuer's own\n2024-10-04\n")
    code, out, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2024-04-04",
                         "--maturity-date", "2025-04-04", "--frequency", "4", "--anchor", "issue",
                         "--business-day", "following", "--holidays", holidays,
                         "--single-payment", "1010")
    assert code == 0, err
    assert [line.split(",")[2] for line in out.splitlines()[1:]] == [
        "2024-07-05", "2024-10-07", "2025-01-06", "2025-04-04"]
    holidays.write_text("2024-10-32\n")
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2024-04-04",
                       "--maturity-date", "2025-04-04", "--frequency", "4",
                       "--business-day", "following", "--holidays", holidays,
                       "--single-payment", "1010")
    assert code == 1 and "holidays.txt row 1" in err and "no such day" in err


def test_payment_dates_imply_the_dates_anchor(capsys):
    code, out, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-01-10",
                         "--maturity-date", "2026-03-31", "--frequency", "2",
                         "--payment-dates", "2025-06-30,2025-12-31", "--single-payment", "1050")
    assert code == 0, err
    assert [line.split(",")[2] for line in out.splitlines()[1:]] == [
        "2025-06-30", "2025-12-31", "2026-03-31"]


@pytest.mark.parametrize("extra, text", [
    (("--frequency", "3"), "frequency '3'"),
    (("--maturity-date", "2020-01-15"), "not after issue_date"),
    (("--payment-dates", "2026-01-15,2025-07-15"), "strictly increasing"),
    (("--payment-dates", "2026-01-15", "--anchor", "issue"), "--anchor dates"),
    (("--stub", "short_last"), "anchor issue"),
    (("--issue-price", "1000"), "only with --solve-single-payment"),
])
def test_usage_errors_exit_2_in_one_line(capsys, extra, text):
    argv = {"--id": "N", "--issue-date": "2025-01-15", "--maturity-date": "2030-01-15",
            "--frequency": "2"}
    for option, value in zip(extra[::2], extra[1::2]):
        argv[option] = value
    flat = [item for pair in argv.items() for item in pair]
    code, _, err = run(capsys, "build-schedule", *flat, "--single-payment", "1100")
    assert code == 2
    assert text in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("cpdi build-schedule")


def test_solve_needs_its_terms_and_out_never_overwrites_an_input(tmp_path, capsys):
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-01-15",
                       "--maturity-date", "2030-01-15", "--frequency", "2",
                       "--solve-single-payment", "--issue-price", "1000")
    assert code == 2 and "--comparable-yield-pct, --day-count" in err
    amounts = tmp_path / "amounts.csv"
    amounts.write_text("projected_payment\n" + "0\n" * 9 + "1100\n")
    before = amounts.read_text()
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-01-15",
                       "--maturity-date", "2030-01-15", "--frequency", "2",
                       "--amounts", amounts, "--out", amounts)
    assert code == 2 and "would overwrite the input" in err
    assert amounts.read_text() == before
    code, _, err = run(capsys, "build-schedule", "--id", "N", "--issue-date", "2025-01-15",
                       "--maturity-date", "2030-01-15", "--frequency", "2",
                       "--single-payment", "1100", "--out", tmp_path / "schedule.xlsx")
    assert code == 2 and ".csv" in err


def test_csv_text_is_made_safe(tmp_path, capsys):
    out = tmp_path / "schedule.csv"
    code, _, err = run(capsys, "build-schedule", "--id", "=HYPERLINK(1)", "--issue-date",
                       "2025-01-15", "--maturity-date", "2026-01-15", "--frequency", "1",
                       "--single-payment", "1040", "--out", out)
    assert code == 0, err
    assert out.read_text().splitlines()[1].startswith("'=HYPERLINK(1)")

"""The daily portion basis (method §3): ``calendar_days`` spreads a period's interest evenly over
its calendar days, as (b)(3)(iii) reads; ``day_count`` weighs each day by the instrument's day
count, as issuers' published OID tables do.  Every figure is counted by hand in the comments.

The note used throughout: issued 15 Oct 2023 at 1,000, comparable yield 6% semiannual, periods
(15 Oct 2023, 15 Apr 2024] and (15 Apr 2024, 15 Oct 2024], nothing paid until 1,060.90 at
maturity.  Period 1 accrues 1,000 × 6% × ½ = 30.00 (180 days of 30/360); period 2 accrues
1,030 × 3% = 30.90, all in 2024.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from builders import by_year, instrument, ledger, lot
from cpdi import api
from cpdi.engine.daycount import DayCount
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import DailyPortionBasis

D = date


def note(day_count=DayCount.THIRTY_360, basis=DailyPortionBasis.CALENDAR_DAYS):
    inst = instrument("2023-10-15", [("2024-04-15", 0.0), ("2024-10-15", 1060.9)], 6.0,
                      frequency=2, day_count=day_count)
    return dataclasses.replace(inst, daily_portion_basis=basis)


def test_calendar_days_spread_the_stub_year_by_calendar_days():
    # 16 Oct … 31 Dec 2023 = 16 + 30 + 31 = 77 of the period's 183 calendar days
    years = AccrualSchedule(note()).interest_by_calendar_year()
    assert years[2023] == pytest.approx(30.0 * 77 / 183, abs=1e-12)
    assert years[2023] + years[2024] == pytest.approx(60.9, abs=1e-12)


def test_day_count_basis_spreads_the_stub_year_by_30_360_days():
    # 30/360 US from 15 Oct to 31 Dec: D1 = 15, D2 = 31 stays (D1 < 30): 2 × 30 + 16 = 76 of 180
    years = AccrualSchedule(note(basis=DailyPortionBasis.DAY_COUNT)).interest_by_calendar_year()
    assert years[2023] == pytest.approx(30.0 * 76 / 180, abs=1e-12)  # 12.666667, not 12.622951
    assert years[2023] + years[2024] == pytest.approx(60.9, abs=1e-12)


def test_day_count_basis_under_30e_360_gives_the_31st_nothing():
    # 30E/360 from 15 Oct to 31 Dec: the 31st is the 30th: 2 × 30 + 15 = 75 of 180
    inst = note(DayCount.THIRTY_E_360, DailyPortionBasis.DAY_COUNT)
    years = AccrualSchedule(inst).interest_by_calendar_year()
    assert years[2023] == pytest.approx(30.0 * 75 / 180, abs=1e-12)  # 12.50
    # a holder of 31 Dec 2023 alone (bought 31 Dec, sold 1 Jan) accrues nothing in 2023
    result = by_year(ledger(inst, lot("2023-12-31", 1000.0, sold="2024-01-01", proceeds=1000.0)))
    assert result[2023].interest_accrued == 0.0
    assert result[2023].days_held == 1  # it still held the day (method §4)


def test_the_period_interest_and_daily_portion_under_each_basis():
    calendar = AccrualSchedule(note()).periods[0]
    weighted = AccrualSchedule(note(basis=DailyPortionBasis.DAY_COUNT)).periods[0]
    assert calendar.interest == weighted.interest == pytest.approx(30.0, abs=1e-12)
    assert (calendar.weight, weighted.weight) == (183, 180)
    assert calendar.daily_portion == pytest.approx(30.0 / 183, abs=1e-15)
    assert weighted.daily_portion == pytest.approx(30.0 / 180, abs=1e-15)  # 1/6 per 30/360 day


def test_adjusted_issue_price_on_a_date_follows_the_basis():
    # AIP at the start of 1 Jan 2024 = 1,000 + the interest of 16 Oct … 31 Dec 2023
    weighted = AccrualSchedule(note(basis=DailyPortionBasis.DAY_COUNT))
    assert weighted.adjusted_issue_price(D(2024, 1, 1)) == pytest.approx(1000 + 30.0 * 76 / 180)
    calendar = AccrualSchedule(note())
    assert calendar.adjusted_issue_price(D(2024, 1, 1)) == pytest.approx(1000 + 30.0 * 77 / 183)


@pytest.mark.parametrize("basis", list(DailyPortionBasis))
def test_a_seller_and_a_buyer_together_accrue_what_one_holder_would(basis):
    inst = note(DayCount.THIRTY_E_360, basis)
    paid = {"2024-04-15": 0.0, "2024-10-15": 1060.9}
    whole = by_year(ledger(inst, lot("2023-10-15", 1000.0), paid=paid, through=2024))
    aip = AccrualSchedule(inst).adjusted_issue_price
    seller = by_year(ledger(inst, lot("2023-10-15", 1000.0, sold="2024-03-01",
                                      proceeds=aip(D(2024, 3, 1)))))
    buyer = by_year(ledger(inst, lot("2024-03-01", aip(D(2024, 3, 1)), lot_id="L2"), paid=paid,
                           through=2024))
    for year in (2023, 2024):
        parts = seller[year].interest_accrued + (buyer[year].interest_accrued if year in buyer else 0)
        assert parts == pytest.approx(whole[year].interest_accrued, abs=1e-9)


def test_a_premium_buyer_allocates_by_the_same_weights():
    # bought 1 Jan 2024 at 1,020: the (b)(9)(i) premium is spread over the remaining daily
    # portions; under either basis the whole premium is allocated by maturity
    for basis in DailyPortionBasis:
        inst = note(DayCount.THIRTY_E_360, basis)
        rows = by_year(ledger(inst, lot("2024-01-01", 1020.0), paid={"2024-04-15": 0.0,
                                                                    "2024-10-15": 1060.9}))
        premium = 1020.0 - AccrualSchedule(inst).adjusted_issue_price(D(2024, 1, 1))
        assert rows[2024].negative_adjustments == pytest.approx(premium, abs=1e-9)


def test_the_schedule_table_shows_the_daily_portion_days():
    frame = api.schedule_frame(note(basis=DailyPortionBasis.DAY_COUNT))
    assert list(frame["days"]) == [183, 183]
    assert list(frame["daily_portion_days"]) == [180, 180]
    product = frame["daily_portion"] * frame["daily_portion_days"]
    assert list(product) == pytest.approx(list(frame["interest"]), abs=1e-12)


def test_the_workpaper_counts_day_count_days_and_says_so(tmp_path):
    # a lot bought 31 Dec 2023 holds 1 Jan … 15 Apr 2024 of period 1: 30E/360 counts 180 − 75
    # = 105 of its 180 days (15 Oct → 31 Dec is 75), and 180 of period 2 to 15 Oct 2024
    import openpyxl

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "instruments.csv").write_text(
        "instrument_id,issue_date,maturity_date,issue_price,unit_principal,comparable_yield_pct,"
        "frequency,day_count,daily_portion_basis\n"
        "NOTE,2023-10-15,2024-10-15,1000,1000,6,2,30E/360,day_count\n")
    (folder / "schedule.csv").write_text(
        "instrument_id,period_start,period_end,projected_payment,payment_type\n"
        "NOTE,2023-10-15,2024-04-15,0,fixed\nNOTE,2024-04-15,2024-10-15,1060.9,fixed\n")
    (folder / "lots.csv").write_text(
        "holder_id,lot_id,instrument_id,principal_amount,acquisition_date,cost_basis\n"
        "H1,L1,NOTE,10000,2023-12-31,10125\n")
    portfolio = api.load(folder)
    assert portfolio.ok, portfolio.problems
    api.workpapers(portfolio, 2024, tmp_path / "out", prepared=D(2025, 1, 31))
    book = openpyxl.load_workbook(tmp_path / "out" / "H1_2024.xlsx")
    lot = book["Lot L1"]
    # headers end with their tick mark: typed day-count days are inputs ([I])
    header = next(c for row in lot.iter_rows() for c in row if c.value == "Days held (30E/360) [I]")
    # the accrual table runs from acquisition: 31 Dec 2023 weighs 0 under 30E/360 (the 31st is
    # the 30th), then 2024's pieces of the two periods
    days = [lot.cell(header.row + k, header.column).value for k in (1, 2, 3)]
    assert days == [0, 105, 180]
    assert any(str(c.value).startswith("Days (30E/360)") for row in book["NOTE"].iter_rows() for c in row)
    row = {r.tax_year: r for r in api.compute(portfolio, 2024).ledgers[0].years}[2024]
    assert row.interest_accrued == pytest.approx((30.0 * 105 / 180 + 30.9) * 10, abs=1e-9)

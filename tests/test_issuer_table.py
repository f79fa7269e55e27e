"""The issuer's published OID table (``issuer_accruals.csv``) against cpdi's figures, and the
search for the conventions that reproduce it (method §11).

The note: issued 15 Oct 2023 at 1,000, maturing 15 Oct 2026, comparable yield 5%, semiannual,
one payment at maturity.  Its issuer accrues it under 30E/360 with each day weighted by the day
count, and prints interest per calendar year to the cent.  By hand, the first row: period 1
accrues 1,000 × 5% × 180/360 = 25.00; 30E/360 counts 15 Oct → 31 Dec as 2 × 30 + (30 − 15) = 75
of its 180 days, so 2023 is 25 × 75/180 = 10.42 (calendar days would give 25 × 77/183 = 10.52).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from datetime import date

import pytest

from builders import instrument
from cpdi.engine.daycount import DayCount
from cpdi.engine.issuer_table import compare_with_issuer, find_convention
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.schedule_builder import (
    AccrualGrid, accrual_period_dates, projected_schedule, single_payment_for_yield,
)
from cpdi.model import ComparableYield, DailyPortionBasis, IssuerAccrual

D = date
ISSUE, MATURITY = D(2023, 10, 15), D(2026, 10, 15)


def single_payment_note(day_count, basis, frequency=2):
    """The note as its issuer built it: periods rolled back from maturity, the one payment
    solved so the schedule produces the 5% comparable yield, rounded to the cent as printed."""
    dates = accrual_period_dates(AccrualGrid(ISSUE, MATURITY, frequency))
    cy = ComparableYield(0.05, day_count, frequency)
    payment = round(single_payment_for_yield(1000.0, cy, dates), 2)
    inst = instrument("2023-10-15", [(e.isoformat(), 0.0) for _, e in dates], 5.0,
                      frequency=frequency, day_count=day_count)
    return dataclasses.replace(inst, projected_payments=projected_schedule(dates, single_payment=payment),
                               daily_portion_basis=basis)


def printed_by_calendar_year(inst, decimals=2):
    """The issuer's table: interest per calendar year for a holder from issue, as printed."""
    schedule = AccrualSchedule(inst)
    rows, start = [], ISSUE
    for year in range(2023, 2027):
        end = min(D(year, 12, 31), MATURITY)
        accrued = schedule.interest_between((start.toordinal() + 1), end.toordinal())
        rows.append(IssuerAccrual(inst.instrument_id, start, end, round(accrued, decimals),
                                  decimals, row=len(rows) + 2))
        start = end
    return rows


ISSUERS = single_payment_note(DayCount.THIRTY_E_360, DailyPortionBasis.DAY_COUNT)
PRINTED = printed_by_calendar_year(ISSUERS)


def test_the_printed_first_row_is_the_hand_figure():
    assert PRINTED[0].accrued_per_unit == 10.42  # 25 × 75/180


def test_the_issuers_own_conventions_agree_with_the_table():
    comparison = compare_with_issuer(AccrualSchedule(ISSUERS), PRINTED)
    assert comparison.agrees
    assert find_convention(ISSUERS, PRINTED).entered_agrees


def test_entered_under_other_conventions_the_search_names_the_issuers():
    entered = dataclasses.replace(
        ISSUERS, comparable_yield=ComparableYield(0.05, DayCount.THIRTY_360, 2),
        daily_portion_basis=DailyPortionBasis.CALENDAR_DAYS)
    search = find_convention(entered, PRINTED)
    assert not search.entered_agrees
    first = search.entered.rows[0]
    assert round(first.ours, 2) == 10.52  # calendar days: 25 × 77/183
    assert search.reproduced
    assert search.best.convention.describe(entered) == \
        "day_count 30E/360, daily_portion_basis day_count"
    assert search.table_gap == pytest.approx(0.0, abs=0.005)


def test_a_table_a_cent_off_gets_the_closest_convention_and_what_is_left():
    off = list(PRINTED)
    off[1] = dataclasses.replace(off[1], accrued_per_unit=off[1].accrued_per_unit + 0.01)
    entered = dataclasses.replace(ISSUERS, daily_portion_basis=DailyPortionBasis.CALENDAR_DAYS)
    search = find_convention(entered, off)
    assert not search.reproduced
    best = search.best
    assert (best.convention.day_count, best.convention.daily_portion_basis) == \
        (DayCount.THIRTY_E_360, DailyPortionBasis.DAY_COUNT)
    assert [r.printed.row for r in best.disagreeing] == [off[1].row]
    assert best.disagreeing[0].difference == pytest.approx(-0.01, abs=0.006)
    assert search.table_gap == pytest.approx(0.01, abs=0.006)


def test_the_search_finds_the_issuers_accrual_grid():
    # the issuer compounds annually, rolled back from maturity; the preparer typed semiannual
    annual = single_payment_note(DayCount.THIRTY_360, DailyPortionBasis.CALENDAR_DAYS, frequency=1)
    printed = printed_by_calendar_year(annual)
    semiannual_dates = accrual_period_dates(AccrualGrid(ISSUE, MATURITY, 2))
    entered = dataclasses.replace(
        annual, comparable_yield=ComparableYield(0.05, DayCount.THIRTY_360, 2),
        projected_payments=projected_schedule(
            semiannual_dates, single_payment=annual.projected_payments[-1].amount))
    search = find_convention(entered, printed)
    assert not search.entered_agrees
    assert search.reproduced
    convention = search.best.convention
    assert convention.frequency == 1
    assert convention.periods == (D(2024, 10, 15), D(2025, 10, 15), D(2026, 10, 15))


# -- the command ----------------------------------------------------------------------------------
INSTRUMENTS = ("instrument_id,issue_date,maturity_date,issue_price,unit_principal,"
               "comparable_yield_pct,frequency,day_count{extra}\n"
               "NOTE,2023-10-15,2026-10-15,1000,1000,5,2,{day_count}{basis}\n")


def write_input(folder, day_count="30/360", basis=None, rows=PRINTED):
    folder.mkdir()
    extra, value = (",daily_portion_basis", f",{basis}") if basis else ("", "")
    (folder / "instruments.csv").write_text(
        INSTRUMENTS.format(extra=extra, day_count=day_count, basis=value))
    lines = ["instrument_id,period_start,period_end,projected_payment"]
    lines += [f"NOTE,{p.period_start},{p.period_end},{p.amount!r}" for p in ISSUERS.projected_payments]
    (folder / "schedule.csv").write_text("\n".join(lines) + "\n")
    lines = ["instrument_id,period_start,period_end,accrued_per_unit"]
    lines += [f"NOTE,{r.period_start},{r.period_end},{r.accrued_per_unit:.2f}" for r in rows]
    (folder / "issuer_accruals.csv").write_text("\n".join(lines) + "\n")
    return folder


def run(*args):
    return subprocess.run([sys.executable, "-m", "cpdi.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def test_validate_names_the_conventions_that_reproduce_the_table(tmp_path):
    folder = write_input(tmp_path / "in")
    done = run("validate", folder)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "reproduces the issuer's table with day_count 30E/360, daily_portion_basis day_count" \
        in done.stdout
    assert "issuer_accruals.csv" in done.stderr and "instruments.csv row 2" in done.stderr


def test_validate_agrees_once_the_conventions_are_set(tmp_path):
    folder = write_input(tmp_path / "in", day_count="30E/360", basis="day_count")
    done = run("validate", folder)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "the issuer's OID table agrees (4 row(s) at the printed decimals)" in done.stdout


@pytest.mark.parametrize("row, column, words", [
    ("NOTE,2024-12-31,2024-06-30,1.00", "period_end", "is not after period_start"),
    ("NOTE,2023-01-01,2023-12-31,1.00", "period_start", "outside the note's life"),
    ("NOTE,2024-06-30,2025-03-31,1.00", "period_start", "overlaps row"),
    ("OTHER,2024-06-30,2024-12-31,1.00", "instrument_id", "OTHER"),
    ("NOTE,2024-06-30,2024-12-31,abc", "accrued_per_unit", "abc"),
])
def test_bad_issuer_rows_are_named_with_file_row_and_column(tmp_path, row, column, words):
    folder = write_input(tmp_path / "in", day_count="30E/360", basis="day_count")
    with (folder / "issuer_accruals.csv").open("a") as handle:
        handle.write(row + "\n")
    done = run("validate", folder)
    assert done.returncode == 1
    line = next(l for l in done.stderr.splitlines() if "issuer_accruals.csv row 6" in l)
    assert f"column {column}" in line and words in line, line


def test_rows_printed_as_differences_of_rounded_running_totals_agree():
    # method §11: an issuer that prints each row as the difference of its rounded running
    # totals can be up to a unit of the last decimal off row by row; its running totals agree
    schedule = AccrualSchedule(ISSUERS)
    exact = [schedule.interest_between(r.period_start.toordinal() + 1, r.period_end.toordinal())
             for r in PRINTED]
    running, totals = 0.0, []
    for value in exact:
        running += value
        totals.append(float(round(running)))  # printed in whole dollars
    differenced = [dataclasses.replace(r, accrued_per_unit=t - (totals[k - 1] if k else 0.0),
                                       decimals=0)
                   for k, (r, t) in enumerate(zip(PRINTED, totals))]
    # 2024 prints 62 − 10 = 52 against cpdi's 51.15: off by more than half a dollar on its own,
    # so only the running total (61.57, printed 62) shows that it agrees
    assert max(abs(d.accrued_per_unit - e) for d, e in zip(differenced, exact)) > 0.5
    comparison = compare_with_issuer(schedule, differenced)
    assert comparison.agrees
    # a row that is off although its running total is not: the next row's total is off too
    wrong = list(differenced)
    wrong[1] = dataclasses.replace(wrong[1], accrued_per_unit=wrong[1].accrued_per_unit + 3.0)
    assert [r.printed.row for r in compare_with_issuer(schedule, wrong).disagreeing][:1] == [wrong[1].row]

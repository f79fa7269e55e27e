"""Opening balances: a lot taken over mid-life (method §14; lots.csv ``opening_year``,
``opening_adjusted_basis``, ``opening_carryforward``, ``prior_interest_inclusions``,
``prior_ordinary_losses``).

* A lot opened in a later year from its full history's state gives exactly the full history's
  later years — every figure of every row — without any payment due before the opening year:
  on the bundled example, and as a property of random notes and lots.
* The regulation's examples started from their printed state give their printed figures, to
  the cent where the regulation's own arithmetic is whole dollars.
* The limits the opening figures carry bite: the carryforward is a negative adjustment on
  1 January (b)(6)(iii)(C); the prior inclusions less prior ordinary losses cap the ordinary
  loss of a net negative adjustment (b)(6)(iii)(B) and of a disposition (b)(8)(ii).
* Every bad opening input is refused, naming its column and a fix.
"""

from __future__ import annotations

import random
from dataclasses import fields, replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cpdi
from builders import folder_with_lot, instrument, ledger, lot
from cpdi import api
from cpdi.engine.daycount import DayCount
from cpdi.engine.forms import holder_forms
from cpdi.engine.ledger import ActualPayments, LotYear, lot_ledger
from cpdi.engine.reconciliation import reconcile
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import BasisAllocationMethod, BrokerFigure, DailyPortionBasis, FilerType
from cpdi.readers import read_portfolio
from cpdi.readers.form_lines import load_form_mapping
from test_ledger_properties import random_case

EXAMPLE = cpdi.example_path()
MAPPING = load_form_mapping()
THROUGH = 2025


# --- opening a lot from its own history ----------------------------------------------------------


def opened_from(full, year: int):
    """The lot of ``full`` (a ledger from acquisition) opened on 1 January ``year`` with the
    state the full history has at the end of the year before."""
    prior = [row for row in full.years if row.tax_year < year]
    return replace(
        full.lot, opening_year=year, opening_adjusted_basis=prior[-1].adjusted_basis_end,
        opening_carryforward=prior[-1].carryforward_out,
        prior_interest_inclusions=sum(row.interest_income for row in prior),
        prior_ordinary_losses=sum(row.ordinary_loss for row in prior),
    )


def from_year(actuals: ActualPayments, year: int) -> ActualPayments:
    """Only the payments due on or after 1 January ``year`` (and the call): the opened lot
    needs no earlier one."""
    start = date(year, 1, 1)
    return ActualPayments({on: amount for on, amount in actuals.scheduled.items() if on >= start},
                          actuals.call_date, actuals.redemption_amount)


def assert_same_rows(full_rows, opened_rows, where: str) -> None:
    assert [r.tax_year for r in opened_rows] == [r.tax_year for r in full_rows], where
    for mine, theirs in zip(opened_rows, full_rows):
        for f in fields(LotYear):
            a, b = getattr(mine, f.name), getattr(theirs, f.name)
            if isinstance(b, float):
                assert a == pytest.approx(b, abs=1e-6), (where, mine.tax_year, f.name)
            else:
                assert a == b, (where, mine.tax_year, f.name)


def opening_years(full) -> range:
    """Every year after the acquisition year the full history has a row for."""
    return range(full.lot.acquisition_date.year + 1, full.years[-1].tax_year + 1)


def test_example_lots_opened_in_any_later_year_equal_their_full_history():
    portfolio = api.load_example()
    books = api.instrument_books(portfolio)
    checked = []
    for a_lot in portfolio.lots:
        book = books[a_lot.instrument_id]
        full = api.compute_lot(book, a_lot, THROUGH)
        for year in opening_years(full):
            opened = lot_ledger(book.schedule, opened_from(full, year), from_year(book.actuals, year),
                                THROUGH)
            assert opened.allocation == full.allocation  # the (b)(9)(i) plan, from acquisition
            assert_same_rows([r for r in full.years if r.tax_year >= year], opened.years,
                             f"{a_lot.lot_id} opened in {year}")
            checked.append(a_lot.lot_id)
    assert set(checked) == {x.lot_id for x in portfolio.lots}  # every lot, every later year
    assert len(checked) > 40


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_random_lots_opened_later_equal_their_full_history(seed):
    """Random notes (every day count, frequency and daily portion basis), payments, calls,
    lots bought at issue or later at a premium or discount under every allocation method, held
    or sold: opened in a random later year, the same later years."""
    schedule, a_lot, actuals = random_case(seed)
    full = lot_ledger(schedule, a_lot, actuals, 2100)
    years = opening_years(full)
    if not years:
        return  # bought and ended in one year: nothing to open later
    year = random.Random(seed).choice(years)
    opened = lot_ledger(schedule, opened_from(full, year), from_year(actuals, year), 2100)
    assert_same_rows([r for r in full.years if r.tax_year >= year], opened.years, f"seed {seed}")


# --- the regulation's examples from their printed state ------------------------------------------

# (b)(7)(vi): issued 31 Dec 1996 for $1,000, 10% compounded annually; projected $500 on
# 31 Dec 1997 and $660 on 31 Dec 1998.  On 1 January 1998 Z's basis is $600 and the 1997
# carryforward $25; Z has included no interest (Example 1(ii)-(iii)).
Z_NOTE = instrument("1996-12-31", [("1997-12-31", 500.0), ("1998-12-31", 660.0)], 10.0)
# (b)(8)(iv) Example 2: one payment on 31 Dec 1998, projected $1,200, 9.54% compounded annually.
E_NOTE = instrument("1996-12-31", [("1997-12-31", 0.0, "fixed"), ("1998-12-31", 1200.0)], 9.54,
                    accept_residual=True)
# (b)(9)(i)(F) Example 1: $1,350 projected at maturity 31 Dec 1999, 10.25% compounded semiannually.
F1_NOTE = instrument(
    "1996-12-31",
    [("1997-06-30", 0.0, "fixed"), ("1997-12-31", 0.0, "fixed"), ("1998-06-30", 0.0, "fixed"),
     ("1998-12-31", 0.0, "fixed"), ("1999-06-30", 0.0, "fixed"), ("1999-12-31", 1350.0)],
    10.25, frequency=2, day_count=DayCount.THIRTY_360, accept_residual=True,
)


def opening(a_lot, year: int, basis: float, carryforward: float = 0.0, inclusions: float = 0.0,
            losses: float = 0.0):
    return replace(a_lot, opening_year=year, opening_adjusted_basis=basis,
                   opening_carryforward=carryforward, prior_interest_inclusions=inclusions,
                   prior_ordinary_losses=losses)


def z_holder(**sale) -> object:
    return opening(lot("1996-12-31", 1000.0, **sale), 1998, 600.0, carryforward=25.0)


def test_b7vi_example_1_from_1_january_1998():
    """Daily portions $60 (600 × 10%), positive adjustment $40 (700 − 660), the $25 carryforward
    nets it to $15: interest $75; basis $660, treated as receiving the projected $660: no gain."""
    (y98,) = ledger(Z_NOTE, z_holder(), {"1998-12-31": 700.0}).years
    assert y98.tax_year == 1998 and y98.adjusted_basis_start == 600.0
    assert y98.interest_accrued == pytest.approx(60.0)
    assert y98.carryforward_in == 25.0
    assert y98.net_positive_adjustment == pytest.approx(15.0)
    assert y98.interest_income == pytest.approx(75.0)
    assert y98.adjusted_basis_end == pytest.approx(660.0)
    assert y98.amount_realized == pytest.approx(660.0)
    assert y98.gain_loss == pytest.approx(0.0, abs=1e-9)


def test_b7vi_example_2_from_1_january_1998_needs_no_payment_at_all():
    """Sold 1 January 1998 for $630: the $25 carryforward stays one (no inclusions) and reduces
    the amount realized to $605; basis $600: a $5 gain, interest (b)(8)(i)."""
    (y98,) = ledger(Z_NOTE, z_holder(sold="1998-01-01", proceeds=630.0), {}).years
    assert y98.days_held == 0
    assert y98.net_negative_adjustment == 25.0 and y98.ordinary_loss == 0.0
    assert y98.amount_realized == 605.0
    assert y98.gain_loss == 5.0 and y98.ordinary_income_on_disposition == 5.0


def test_b7vi_example_3_from_1_january_1998():
    """$615 paid against $660: negative adjustments $45 + $25 = NNA $70; interest 0; no
    inclusions, so no ordinary loss and a $10 carryforward; realized $650 against $660: a $10
    capital loss."""
    (y98,) = ledger(Z_NOTE, z_holder(), {"1998-12-31": 615.0}).years
    assert y98.net_negative_adjustment == pytest.approx(70.0)
    assert y98.interest_income == pytest.approx(0.0)
    assert y98.ordinary_loss == 0.0
    assert y98.amount_realized == pytest.approx(650.0)
    assert y98.gain_loss == pytest.approx(-10.0)
    assert y98.capital_loss_on_disposition == pytest.approx(10.0)
    assert y98.ordinary_loss_on_disposition == 0.0


def test_b8iv_example_1_needs_no_terms_of_the_note():
    """D sells on 1 January 1998 for $1,350 with a basis of $1,200 and a $50 carryforward: the
    regulation prints no terms of the note, and from the opening state none are needed but a
    contingent payment after that day.  Amount realized $1,300, gain $100, interest."""
    d_lot = opening(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=1350.0), 1998, 1200.0,
                    carryforward=50.0)
    (y98,) = ledger(Z_NOTE, d_lot, {}).years
    assert (y98.amount_realized, y98.gain_loss, y98.ordinary_income_on_disposition) == (
        1300.0, 100.0, 100.0)


@pytest.mark.parametrize("proceeds, ordinary, capital", [(1050.0, 45.0, 0.0), (990.0, 95.0, 10.0)],
                         ids=["(ii) $45 all ordinary", "(iii) $95 ordinary + $10 capital"])
def test_b8iv_example_2_from_the_printed_basis_and_inclusions(proceeds, ordinary, capital):
    """Basis $1,095 ($1,000 + $95) and $95 of inclusions, no net negative adjustments: the loss
    is ordinary up to $95.  From the printed state the printed figures come out exactly (from
    the issue they are matched to ±$0.50: tests/test_regulation_examples.py)."""
    e_lot = opening(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=proceeds), 1998, 1095.0,
                    inclusions=95.0)
    (y98,) = ledger(E_NOTE, e_lot).years
    assert y98.gain_loss == proceeds - 1095.0
    assert y98.ordinary_loss_on_disposition == ordinary
    assert y98.capital_loss_on_disposition == capital


def test_b9iF_example_1_opened_in_1999_keeps_the_allocation_plan_from_acquisition():
    """Z bought on 1 July 1998 for $1,405 and allocated the whole $243 premium to the payment at
    maturity.  Opened on 1 January 1999 with the printed basis of $1,465 and the $60 of 1998
    interest: the $243 negative adjustment at maturity still comes, from the plan made on the
    acquisition; $60 of ordinary loss (the cap binds exactly) and a $5 capital loss, as printed."""
    z_lot = opening(lot("1998-07-01", 1405.0, method=BasisAllocationMethod.MATURITY), 1999, 1465.0,
                    inclusions=60.0)
    result = ledger(F1_NOTE, z_lot, {"1999-12-31": 1400.0})
    (y99,) = result.years
    assert result.allocation.difference == pytest.approx(-243.0, abs=0.5)
    assert y99.negative_adjustments == pytest.approx(-result.allocation.difference)
    assert y99.positive_adjustments == pytest.approx(50.0)
    assert y99.interest_income == pytest.approx(0.0)
    assert y99.ordinary_loss == pytest.approx(60.0)
    assert y99.gain_loss == pytest.approx(-5.0)
    assert y99.capital_loss_on_disposition == pytest.approx(5.0)


# --- the limits bite -----------------------------------------------------------------------------


@pytest.mark.parametrize("carryforward, interest", [(0.0, 100.0), (25.0, 75.0), (40.0, 60.0),
                                                     (100.0, 0.0)])
def test_the_opening_carryforward_is_a_negative_adjustment_of_the_first_year(carryforward, interest):
    """(b)(6)(iii)(C): the 1998 accrual of $60 and the $40 positive adjustment give $100 of
    interest, less the carryforward into 1998 (down to 0)."""
    z = opening(lot("1996-12-31", 1000.0), 1998, 600.0, carryforward=carryforward)
    (y98,) = ledger(Z_NOTE, z, {"1998-12-31": 700.0}).years
    assert y98.carryforward_in == carryforward
    assert y98.interest_income == pytest.approx(interest)


@pytest.mark.parametrize("inclusions, losses, ordinary, carried", [
    (0.0, 0.0, 0.0, 100.0), (30.0, 0.0, 30.0, 70.0), (500.0, 0.0, 100.0, 0.0),
    (500.0, 450.0, 50.0, 50.0),
])
def test_prior_inclusions_less_prior_ordinary_losses_cap_the_ordinary_loss(inclusions, losses,
                                                                          ordinary, carried):
    """(b)(6)(iii)(B): a $200 carryforward against the 1998 $40 positive adjustment is an NNA of
    $160; $60 wipes out the accrual, and of the $100 left the ordinary loss is at most prior
    inclusions − prior ordinary losses; the rest is carried, and reduces the amount realized at
    maturity."""
    z = opening(lot("1996-12-31", 1000.0), 1998, 600.0, carryforward=200.0, inclusions=inclusions,
                losses=losses)
    (y98,) = ledger(Z_NOTE, z, {"1998-12-31": 700.0}).years
    assert y98.net_negative_adjustment == pytest.approx(160.0)
    assert y98.interest_income == pytest.approx(0.0)
    assert y98.ordinary_loss == pytest.approx(ordinary)
    assert y98.amount_realized == pytest.approx(660.0 - carried)


@pytest.mark.parametrize("inclusions, losses, ordinary", [(95.0, 0.0, 95.0), (60.0, 0.0, 60.0),
                                                          (95.0, 30.0, 65.0), (0.0, 0.0, 0.0)])
def test_prior_inclusions_cap_the_ordinary_loss_on_a_sale(inclusions, losses, ordinary):
    """(b)(8)(ii): E sells for $990 with a basis of $1,095; of the $105 loss the ordinary part is
    prior inclusions − prior ordinary losses, the rest capital."""
    e_lot = opening(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=990.0), 1998, 1095.0,
                    inclusions=inclusions, losses=losses)
    (y98,) = ledger(E_NOTE, e_lot).years
    assert y98.ordinary_loss_on_disposition == ordinary
    assert y98.capital_loss_on_disposition == 105.0 - ordinary


# --- the forms and the broker reconciliation -----------------------------------------------------


def example_lot(lot_id: str):
    portfolio = api.load_example()
    books = api.instrument_books(portfolio)
    a_lot = next(x for x in portfolio.lots if x.lot_id == lot_id)
    return a_lot, books[a_lot.instrument_id]


def test_form8949_of_an_opened_lot_is_that_of_its_full_history():
    a_lot, book = example_lot("L-0003")  # bought 2019-07-01, sold 2025-09-15
    full = api.compute_lot(book, a_lot, THROUGH)
    opened = lot_ledger(book.schedule, opened_from(full, 2023), from_year(book.actuals, 2023), THROUGH)
    forms = [holder_forms(a_lot.holder_id, FilerType.INDIVIDUAL, THROUGH, [x], {}, MAPPING).form8949
             for x in (full, opened)]
    assert forms[0] == forms[1]
    assert forms[1][0].date_acquired == date(2019, 7, 1)


def test_broker_basis_causes_of_an_opened_lot_count_the_allocations_since_acquisition():
    """L-0003 was bought at a discount (47,125.50 for 50,000 face): its (b)(9)(i) allocations
    since 2019 raise its basis.  A broker's 1099-B basis without them is explained by
    ``allocation`` with the same amount whether the lot is computed from 2019 or opened in 2023
    from its 2022 state — the allocations before 2023 come from the plan, not the missing
    history."""
    a_lot, book = example_lot("L-0003")
    full = api.compute_lot(book, a_lot, THROUGH)
    opened = lot_ledger(book.schedule, opened_from(full, 2023), from_year(book.actuals, 2023), THROUGH)
    allocated = sum(r.allocation_adjustments for r in full.years)
    assert abs(allocated) > 100.0
    broker = full.years[-1].adjusted_basis_end - allocated
    figure = BrokerFigure(a_lot.holder_id, a_lot.instrument_id, THROUGH, "1099-B", "1e", round(broker, 2),
                          a_lot.lot_id)
    lines = []
    for result in (full, opened):
        forms = {a_lot.holder_id: holder_forms(a_lot.holder_id, FilerType.INDIVIDUAL, THROUGH, [result],
                                               {}, MAPPING)}
        (line,) = reconcile([figure], forms, [result], THROUGH, {a_lot.instrument_id: book.schedule})
        lines.append(line)
    for line in lines:
        assert line.explained and [c.name for c in line.causes] == ["allocation"], line.explanation
    assert lines[1].causes[0].amount == pytest.approx(lines[0].causes[0].amount, abs=1e-6)
    assert lines[1].explanation == lines[0].explanation


def test_broker_basis_on_the_issuer_table_convention_is_explained_alike_when_opened_later():
    """A broker whose basis follows the issuer's table (the other daily portion basis, method
    §3) from 2019: the difference is the accruals since acquisition under each basis, the same
    for the lot opened in 2023 — worked out from the schedule and the plan, not from payments."""
    a_lot, book = example_lot("L-0003")
    full = api.compute_lot(book, a_lot, THROUGH)
    opened = lot_ledger(book.schedule, opened_from(full, 2023), from_year(book.actuals, 2023), THROUGH)
    other = AccrualSchedule(replace(book.schedule.instrument,
                                    daily_portion_basis=DailyPortionBasis.DAY_COUNT))
    broker = lot_ledger(other, a_lot, book.actuals, THROUGH).years[-1].adjusted_basis_end
    assert abs(broker - full.years[-1].adjusted_basis_end) > 0.05
    figure = BrokerFigure(a_lot.holder_id, a_lot.instrument_id, THROUGH, "1099-B", "1e",
                          round(broker, 2), a_lot.lot_id)
    lines = []
    for result in (full, opened):
        forms = {a_lot.holder_id: holder_forms(a_lot.holder_id, FilerType.INDIVIDUAL, THROUGH, [result],
                                               {}, MAPPING)}
        (line,) = reconcile([figure], forms, [result], THROUGH, {a_lot.instrument_id: book.schedule})
        lines.append(line)
    for line in lines:
        assert line.explained and [c.name for c in line.causes] == ["issuer_table"], line.explanation
    assert lines[1].causes[0].amount == pytest.approx(lines[0].causes[0].amount, abs=1e-6)


def test_interest_causes_of_an_opened_lot_are_those_of_its_full_history():
    """The year's interest causes are recomputed from the year alone: the same for the lot
    opened in 2024 (its carryforward into 2025 from the opening state)."""
    a_lot, book = example_lot("L-0001")
    full = api.compute_lot(book, a_lot, THROUGH)
    opened = lot_ledger(book.schedule, opened_from(full, 2024), from_year(book.actuals, 2024), THROUGH)
    row = full.years[-1]
    figure = BrokerFigure(a_lot.holder_id, a_lot.instrument_id, THROUGH, "1099-OID", "1",
                          round(row.interest_accrued, 2), a_lot.lot_id)
    explanations = []
    for result in (full, opened):
        forms = {a_lot.holder_id: holder_forms(a_lot.holder_id, FilerType.INDIVIDUAL, THROUGH, [result],
                                               {}, MAPPING)}
        (line,) = reconcile([figure], forms, [result], THROUGH, {a_lot.instrument_id: book.schedule})
        explanations.append((line.explained, line.explanation, [c.name for c in line.causes]))
    assert explanations[0] == explanations[1]


# --- reader errors -------------------------------------------------------------------------------

OPENING = ("opening_year", "opening_adjusted_basis", "opening_carryforward",
           "prior_interest_inclusions", "prior_ordinary_losses")
GOOD = dict(opening_year="2020", opening_adjusted_basis="251000", opening_carryforward="0",
            prior_interest_inclusions="180000", prior_ordinary_losses="0")


def example_with(tmp_path: Path, lot_id: str, **cells: str) -> Path:
    return folder_with_lot(EXAMPLE, tmp_path, lot_id, OPENING, **cells)


def test_good_opening_balances_are_read(tmp_path):
    portfolio = read_portfolio(example_with(tmp_path, "L-0001", **GOOD))
    assert portfolio.ok, portfolio.problems
    a_lot = next(x for x in portfolio.lots if x.lot_id == "L-0001")
    assert (a_lot.opening_year, a_lot.opening_adjusted_basis, a_lot.opening_carryforward,
            a_lot.prior_interest_inclusions, a_lot.prior_ordinary_losses) == (
        2020, 251000.0, 0.0, 180000.0, 0.0)
    assert a_lot.opens_later


# L-0001: 250,000 of 02687QCD8 (matures 2027-07-20) bought 2007-07-20, held; L-0003 sold
# 2025-09-15; L-0005 (US00RANGE2032) ends on the issuer call of 2025-06-30.
@pytest.mark.parametrize("lot_id, cells, column, fragment, fix", [
    ("L-0001", {**GOOD, "prior_ordinary_losses": ""}, "prior_ordinary_losses",
     "prior_ordinary_losses is blank, but opening_year, opening_adjusted_basis, "
     "opening_carryforward and prior_interest_inclusions are given", "0 if none"),
    ("L-0001", {**GOOD, "opening_carryforward": ""}, "opening_carryforward",
     "the five opening columns go together", "a blank is not read as 0"),
    ("L-0001", {"opening_year": "2020"}, "opening_adjusted_basis",
     "opening_adjusted_basis is blank, but opening_year is given", "prior preparer's workpapers"),
    ("L-0001", {**GOOD, "opening_year": ""}, "opening_year", "opening_year is blank",
     "or clear the other opening columns"),
    ("L-0001", {**GOOD, "opening_year": "2007"}, "opening_year",
     "opening_year 2007 is not after the acquisition year 2007", "clear the opening columns"),
    ("L-0001", {**GOOD, "opening_year": "2028"}, "opening_year",
     "after the lot ended (maturity on 2027-07-20)", "enter a year from 2008 to 2027"),
    ("L-0003", {**GOOD, "opening_year": "2026", "opening_adjusted_basis": "48000"}, "opening_year",
     "after the lot ended (disposition on 2025-09-15)", "enter a year from 2020 to 2025"),
    ("L-0005", {**GOOD, "opening_year": "2026", "opening_adjusted_basis": "75000"}, "opening_year",
     "after the lot ended (the issuer call on 2025-06-30)", "to 2025"),
    ("L-0001", {**GOOD, "opening_year": "2250"}, "opening_year",
     "2250 is not a tax year cpdi computes (1900–2199)", "first tax year"),
    ("L-0001", {**GOOD, "opening_year": "2020.5"}, "opening_year", "is not a whole number",
     "whole number"),
    ("L-0001", {**GOOD, "opening_adjusted_basis": "0"}, "opening_adjusted_basis",
     "must be greater than 0", "1 January of opening_year"),
    ("L-0001", {**GOOD, "opening_adjusted_basis": "-250000"}, "opening_adjusted_basis",
     "must be greater than 0", "1 January of opening_year"),
    ("L-0001", {**GOOD, "opening_adjusted_basis": "101.5"}, "opening_adjusted_basis",
     "looks like a price per 100 of face", "253,750.00"),
    ("L-0001", {**GOOD, "opening_carryforward": "-1"}, "opening_carryforward",
     "cannot be negative", "0 or more"),
    ("L-0001", {**GOOD, "prior_interest_inclusions": "-1"}, "prior_interest_inclusions",
     "cannot be negative", "0 or more"),
    ("L-0001", {**GOOD, "prior_ordinary_losses": "-1"}, "prior_ordinary_losses",
     "cannot be negative", "0 or more"),
    ("L-0001", {**GOOD, "prior_interest_inclusions": "50", "prior_ordinary_losses": "100"},
     "prior_ordinary_losses", "prior ordinary losses of 100 are more than the prior interest "
     "inclusions of 50", "check both against the prior workpapers"),
    ("L-0001", {**GOOD, "opening_carryforward": "$25"}, "opening_carryforward",
     "has a currency sign", "plain number"),
])
def test_bad_opening_inputs_are_named_with_a_fix(tmp_path, lot_id, cells, column, fragment, fix):
    portfolio = read_portfolio(example_with(tmp_path, lot_id, **cells))
    problems = [p for p in portfolio.rejected_lots.get(lot_id, ()) if p.column == column]
    assert any(fragment in p.message and fix in p.fix for p in problems), (
        [(p.column, p.message, p.fix) for p in portfolio.problems])
    assert all(p.lot_id == lot_id for p in problems)


def test_every_opening_column_left_blank_is_named(tmp_path):
    portfolio = read_portfolio(example_with(tmp_path, "L-0001", opening_year="2020"))
    named = {p.column for p in portfolio.rejected_lots["L-0001"]}
    assert named == set(OPENING[1:])

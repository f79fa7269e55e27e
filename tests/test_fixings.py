"""Contingent payments fixed more than six months before they are due, (b)(9)(ii) (method §13).

The regulation's own example, (b)(9)(ii)(H) (tests/regulation_examples.md): B buys at issue on
31 December 1996 for $1,000; comparable yield 10% compounded annually; projected payments $250
on 31 December 1999 and $1,439 on 31 December 2002; on 30 September 1998 the 1999 payment fixes
at $300.  Printed: PV of the fixed amount $266.30, of the projection $221.91, positive
adjustment $44.39; daily portions 1 January–30 September 1998 $81.51; AIP and basis $1,225.90;
interest 1 October–31 December 1998 $29.56; 1998 income $155.46; basis 31 December 1998
$1,255.46.

The example's months are whole months (30/360): 1 January–30 September is 0.75 of the year and
the payment is discounted over 1.25 years.  Its present values are printed one cent below the
rounded exact ones (266.3057 and 221.9214), so its adjustment ($44.39) and the figures built on
it are one cent above ours ($44.38): those are compared within a cent and a half; the interest
figures, which do not depend on it, to the cent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builders import actuals, by_year, d, instrument, lot
from cpdi.engine.daycount import DayCount
from cpdi.engine.fixings import Fixing, fixed_more_than_six_months_early
from cpdi.engine.ledger import contingent_payment_remains, lot_ledger
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import BasisAllocationMethod, PaymentType

CENT = 0.005


def example_h():
    """The (b)(9)(ii)(H) instrument: annual periods, 30/360 months, the printed schedule (its
    rounded $1,439 leaves a residual of −0.189 per 1,000, accepted)."""
    return instrument(
        "1996-12-31",
        [("1997-12-31", 0.0, "fixed"), ("1998-12-31", 0.0, "fixed"), ("1999-12-31", 250.0),
         ("2000-12-31", 0.0, "fixed"), ("2001-12-31", 0.0, "fixed"), ("2002-12-31", 1439.0)],
        10.0, 1, DayCount.THIRTY_360, accept_residual=True,
    )


FIXED_1998 = Fixing(d("1999-12-31"), d("1998-09-30"), 300.0)
PAID = {"1999-12-31": 300.0, "2002-12-31": 1439.0}


def schedule_h(*fixings):
    return AccrualSchedule(example_h(), fixings)


# -- the regulation's example ----------------------------------------------------------------


def test_example_h_present_values_and_adjustment():
    (fixing,) = schedule_h(FIXED_1998).fixings
    assert fixing.present_value_fixed == pytest.approx(300 / 1.1 ** 1.25)
    assert fixing.present_value_projected == pytest.approx(250 / 1.1 ** 1.25)
    assert abs(fixing.present_value_fixed - 266.30) < 0.015  # printed $266.30
    assert abs(fixing.present_value_projected - 221.91) < 0.015  # printed $221.91
    assert abs(fixing.adjustment - 44.39) < 0.01  # printed $44.39
    assert not fixing.spread  # the 2002 payment is still contingent: (A), not (G)


def test_example_h_accrual_period_ends_on_the_fixing_date():
    """(b)(9)(ii)(C): the 1998 period is cut at 30 September; $81.51 accrues before, $29.56
    after; the AIP is $1,225.90 after the adjustment and $1,255.46 at year end."""
    periods = {p.period_end: p for p in schedule_h(FIXED_1998).periods}
    first, rest = periods[d("1998-09-30")], periods[d("1998-12-31")]
    assert round(first.interest, 2) == 81.51
    assert not first.payment_due and first.projected_payment == 0.0
    assert first.fixing_adjustment == pytest.approx(44.3843, abs=1e-4)
    assert abs(first.adjusted_issue_price_end - 1225.90) < 0.015
    assert round(rest.interest, 2) == 29.56
    assert rest.period_start == d("1998-09-30")
    assert abs(rest.adjusted_issue_price_end - 1255.46) < 0.015
    fixed = periods[d("1999-12-31")]
    assert fixed.projected_payment == 300.0 and fixed.payment_type is PaymentType.FIXED
    assert fixed.fixed_on == d("1998-09-30") and fixed.projected_before_fixing == 250.0


def test_example_h_holder_b():
    """B includes $100 in 1997 and $155.46 ($81.51 + $29.56 + $44.39) in 1998; basis
    $1,100 and $1,255.46 at the year ends; no adjustment when the fixed $300 is paid."""
    years = by_year(lot_ledger(schedule_h(FIXED_1998), lot("1996-12-31", 1000.0),
                               actuals(PAID), 1999))
    assert round(years[1997].interest_income, 2) == 100.00
    assert round(years[1997].adjusted_basis_end, 2) == 1100.00
    y1998 = years[1998]
    assert round(y1998.interest_accrued, 2) == round(81.51 + 29.56, 2)
    assert y1998.fixing_adjustments == pytest.approx(44.3843, abs=1e-4)
    assert y1998.net_positive_adjustment == pytest.approx(y1998.fixing_adjustments)
    assert abs(y1998.interest_income - 155.46) < 0.015
    assert abs(y1998.adjusted_basis_end - 1255.46) < 0.015
    y1999 = years[1999]
    assert y1999.positive_adjustments == 0.0 and y1999.negative_adjustments == 0.0  # (B)
    assert y1999.actual_payments_received == 300.0


def test_the_yield_does_not_change():
    """(b)(9)(ii)(H)(iii)(B): "the yield on the debt instrument does not change" — the
    modified schedule ends at the same adjusted issue price as the issuer's."""
    assert schedule_h(FIXED_1998).final_adjusted_issue_price == pytest.approx(
        schedule_h().final_adjusted_issue_price, abs=1e-9)


def test_aip_includes_the_adjustment_from_the_day_after_the_fixing():
    """The cut period's $81.51 spreads over its 273 days (the example's "daily portions … from
    January 1, 1998 to September 30, 1998 total $81.51"); the adjustment is made at the end of
    30 September."""
    schedule = schedule_h(FIXED_1998)
    assert schedule.adjusted_issue_price(d("1998-09-30")) == pytest.approx(
        1100 + 1100 * (1.1 ** 0.75 - 1) * 272 / 273)
    assert schedule.adjusted_issue_price(d("1998-10-01")) == pytest.approx(
        1100 * 1.1 ** 0.75 + 300 / 1.1 ** 1.25 - 250 / 1.1 ** 1.25)


# -- six months ----------------------------------------------------------------------------


@pytest.mark.parametrize("fixed_on, early", [
    ("1999-06-30", True),  # six calendar months before 31 December: outside the 6-month period
    ("1999-07-01", False),  # within the 6-month period ending on the due date
    ("1999-12-31", False),
    ("1998-09-30", True),
])
def test_six_months(fixed_on, early):
    assert fixed_more_than_six_months_early(d(fixed_on), d("1999-12-31")) is early
    schedule = schedule_h(Fixing(d("1999-12-31"), d(fixed_on), 300.0))
    assert bool(schedule.fixings) is early


def test_a_payment_fixed_within_six_months_stays_contingent():
    """(b)(9)(ii): fixed within the 6-month period, the payment is treated as contingent even
    after it is fixed — the $50 is an ordinary positive adjustment when paid."""
    schedule = schedule_h(Fixing(d("1999-12-31"), d("1999-08-15"), 300.0))
    assert len(schedule.periods) == 6
    years = by_year(lot_ledger(schedule, lot("1996-12-31", 1000.0), actuals(PAID), 1999))
    assert years[1999].positive_adjustments == pytest.approx(50.0)
    assert years[1998].fixing_adjustments == 0.0


def test_a_negative_adjustment():
    schedule = schedule_h(Fixing(d("1999-12-31"), d("1998-09-30"), 200.0))
    (fixing,) = schedule.fixings
    assert fixing.adjustment == pytest.approx((200 - 250) / 1.1 ** 1.25)
    years = by_year(lot_ledger(schedule, lot("1996-12-31", 1000.0),
                               actuals({**PAID, "1999-12-31": 200.0}), 1998))
    assert years[1998].negative_adjustments == pytest.approx(-fixing.adjustment)
    # (b)(6)(iii)(A): the net negative adjustment first reduces the year's interest
    assert years[1998].interest_reduction == pytest.approx(-fixing.adjustment)


# -- who takes the adjustment ---------------------------------------------------------------


def test_only_a_lot_holding_the_fixing_date_takes_the_adjustment():
    schedule = schedule_h(FIXED_1998)
    paid = actuals(PAID)
    seller = by_year(lot_ledger(schedule, lot("1996-12-31", 1000.0, sold="1998-09-30",
                                              proceeds=1200.0), paid, 1998))
    assert seller[1998].fixing_adjustments == 0.0  # the buyer holds the sale date
    buyer_on_the_day = by_year(lot_ledger(schedule, lot("1998-09-30", 1181.21), paid, 1998))
    assert buyer_on_the_day[1998].fixing_adjustments == pytest.approx(44.3843, abs=1e-4)
    later = by_year(lot_ledger(schedule, lot("1998-10-01", 1225.89), paid, 1998))
    assert later[1998].fixing_adjustments == 0.0


def test_a_later_buyer_allocates_against_the_adjusted_aip():
    """A buyer after the fixing at the new AIP has no (b)(9)(i) difference."""
    schedule = schedule_h(FIXED_1998)
    price = schedule.adjusted_issue_price(d("1998-11-15"))
    result = lot_ledger(schedule, lot("1998-11-15", price), actuals(PAID), 2002)
    assert result.allocation.difference == pytest.approx(0.0, abs=1e-9)
    assert by_year(result)[2002].gain_loss == pytest.approx(
        -schedule.final_adjusted_issue_price, abs=1e-6)


def test_allocation_to_a_payment_fixed_early_moves_to_the_fixing_date():
    """(b)(9)(ii)(E): a (b)(9)(i) amount allocated to a payment is an adjustment on the date
    it becomes fixed.  Here the 2002 payment is fixed (alone after 1999's) in 2001."""
    fixings = (Fixing(d("1999-12-31"), d("1999-12-31"), 300.0),  # within 6 months: no fixing
               Fixing(d("2002-12-31"), d("2001-03-31"), 1500.0))
    schedule = schedule_h(*fixings)
    premium = lot("1997-12-31", 1150.0, method=BasisAllocationMethod.MATURITY)
    result = lot_ledger(schedule, premium, actuals({**PAID, "2002-12-31": 1500.0}), 2002)
    years = by_year(result)
    assert result.allocation.at_dates[0][0] == d("2002-12-31")
    moved = -result.allocation.at_dates[0][1]
    assert moved > 0
    spread = sum(r.fixing_adjustments for r in result.years)
    assert years[2001].negative_adjustments == pytest.approx(moved)  # on 31 March 2001
    assert spread == pytest.approx(schedule.fixings[0].adjustment)  # (G): spread to 2002


# -- all remaining fixed together: (b)(9)(ii)(G) and (b)(8)(iii)(B) ---------------------------


BOTH_1998 = (Fixing(d("1999-12-31"), d("1998-09-30"), 300.0),
             Fixing(d("2002-12-31"), d("1998-09-30"), 1500.0))
PAID_BOTH = actuals({"1999-12-31": 300.0, "2002-12-31": 1500.0})


def test_all_remaining_fixed_together_are_spread():
    schedule = schedule_h(*BOTH_1998)
    assert all(f.spread for f in schedule.fixings)
    result = lot_ledger(schedule, lot("1996-12-31", 1000.0), PAID_BOTH, 2002)
    years = by_year(result)
    first = schedule.fixings[0]
    # 1998: 92 of the 457 days from 1 October 1998 to 31 December 1999 of the first, 92 of
    # the 1,553 days to 31 December 2002 of the second
    expected_1998 = first.adjustment * 92 / 457 + schedule.fixings[1].adjustment * 92 / 1553
    assert years[1998].fixing_adjustments == pytest.approx(expected_1998)
    assert sum(r.fixing_adjustments for r in result.years) == pytest.approx(
        sum(f.adjustment for f in schedule.fixings))
    # at maturity the basis has caught up with the adjusted issue price: no gain but the
    # issuer's rounding residual
    assert years[2002].gain_loss == pytest.approx(-schedule.final_adjusted_issue_price, abs=1e-6)


def test_no_contingent_payment_remains_after_the_fixing():
    schedule = schedule_h(*BOTH_1998)
    assert contingent_payment_remains(schedule, d("1998-09-30"))  # fixed at the end of the day
    assert not contingent_payment_remains(schedule, d("1998-10-01"))
    assert contingent_payment_remains(schedule_h(FIXED_1998), d("2000-06-30"))  # 2002 open


def test_gain_is_interest_up_to_the_positive_adjustment_not_yet_taken():
    """(b)(8)(iii)(B): capital under (b)(8)(iii)(A), except gain up to the spread positive
    adjustment not yet included."""
    schedule = schedule_h(*BOTH_1998)
    result = lot_ledger(schedule, lot("1996-12-31", 1000.0, sold="2000-07-01", proceeds=1300.0),
                        PAID_BOTH, 2000)
    sale = by_year(result)[2000]
    first, second = schedule.fixings
    left = second.adjustment * (1553 - (date(2000, 6, 30) - date(1998, 9, 30)).days) / 1553
    assert sale.unaccrued_positive_adjustment == pytest.approx(left)
    assert sale.gain_loss > left
    assert sale.ordinary_income_on_disposition == pytest.approx(left)
    assert sale.capital_gain_on_disposition == pytest.approx(sale.gain_loss - left)
    # a loss is capital: (b)(8)(iii)(B) is about gain only
    loss = by_year(lot_ledger(schedule, lot("1996-12-31", 1000.0, sold="2000-07-01",
                                            proceeds=900.0), PAID_BOTH, 2000))[2000]
    assert loss.ordinary_loss_on_disposition == 0.0
    assert loss.capital_loss_on_disposition == pytest.approx(-loss.gain_loss)


def test_fixing_before_an_opening_year_is_in_the_opening_balances():
    """A lot taken over after a fixing gets none of it again; a (G) spread still running goes
    on from the opening year."""
    schedule = schedule_h(*BOTH_1998)
    full = lot_ledger(schedule, lot("1996-12-31", 1000.0), PAID_BOTH, 2002)
    before = [r for r in full.years if r.tax_year < 2000]
    opened = replace(
        lot("1996-12-31", 1000.0), opening_year=2000,
        opening_adjusted_basis=before[-1].adjusted_basis_end,
        opening_carryforward=before[-1].carryforward_out,
        prior_interest_inclusions=sum(r.interest_income for r in before),
        prior_ordinary_losses=sum(r.ordinary_loss for r in before),
    )
    later = lot_ledger(schedule, opened, PAID_BOTH, 2002)
    for a, b in zip([r for r in full.years if r.tax_year >= 2000], later.years):
        assert a.tax_year == b.tax_year
        assert b.fixing_adjustments == pytest.approx(a.fixing_adjustments)
        assert b.interest_income == pytest.approx(a.interest_income)
        assert b.adjusted_basis_end == pytest.approx(a.adjusted_basis_end)


# -- invariants ----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    fixed_on=st.integers(min_value=1, max_value=5 * 365 - 200),
    amount=st.floats(min_value=0.0, max_value=900.0),
    final=st.floats(min_value=500.0, max_value=2500.0),
    also_final=st.booleans(),
    held=st.tuples(st.integers(0, 2100), st.integers(1, 2100)),
    cost=st.floats(min_value=600.0, max_value=1600.0),
)
def test_conservation_over_a_closed_lot(fixed_on, amount, final, also_final, held, cost):
    """Over a lot's whole life, income − losses = cash received − cost, fixings or not."""
    issue = date(1996, 12, 31)
    fixing_day = date.fromordinal(issue.toordinal() + fixed_on)
    fixings = [Fixing(d("1999-12-31"), fixing_day, amount)]
    if also_final:
        fixings.append(Fixing(d("2002-12-31"), fixing_day, final))
    schedule = schedule_h(*fixings)
    acquired = date.fromordinal(issue.toordinal() + held[0])
    sold = date.fromordinal(acquired.toordinal() + held[1])
    sale = sold < date(2002, 12, 31)
    a_lot = lot(acquired.isoformat(), cost, sold=sold.isoformat() if sale else None,
                proceeds=1234.5 if sale else None)
    paid = actuals({"1999-12-31": amount, "2002-12-31": final})
    result = lot_ledger(schedule, a_lot, paid, 2002)
    income = sum(r.interest_income - r.ordinary_loss + r.ordinary_income_on_disposition
                 - r.ordinary_loss_on_disposition + r.capital_gain_on_disposition
                 - r.capital_loss_on_disposition for r in result.years)
    cash = sum(r.actual_payments_received for r in result.years)
    end = result.years[-1]
    received = cash + (end.consideration if end.ending == "sale" else 0.0)
    if end.ending == "maturity":
        # retirement: the amount realized is the projected final payment; the actual one is
        # cash whose difference went through the adjustments
        received = cash
    assert income == pytest.approx(received - cost, abs=1e-6)


# -- payments.csv fixing_date ----------------------------------------------------------------


def _payments_with(fixing: str, row: int = 0, **changes):
    from test_readers import good
    payments = good()["payments"]
    payments[row] = {**payments[row], "fixing_date": fixing, **changes}
    return payments


def test_fixing_date_is_read_and_changes_the_schedule(tmp_path):
    from test_readers import read
    from cpdi import api
    portfolio = read(tmp_path, payments=_payments_with("2020-06-30"))
    assert portfolio.problems == ()
    paid = {p.date: p for p in portfolio.payments["NOTE1"]}
    assert paid[d("2021-01-15")].fixing_date == d("2020-06-30")
    book = api.instrument_books(portfolio, accept_residual=["NOTE1"])["NOTE1"]
    (fixing,) = book.schedule.fixings
    assert (fixing.fixed_on, fixing.fixed_amount, fixing.projected_amount) == (
        d("2020-06-30"), 22.5, 25.0)
    assert d("2020-06-30") in {p.period_end for p in book.schedule.periods}
    result = api.compute(portfolio, 2020, accept_residual=["NOTE1"])
    lot_1001 = [r for r in result.rows if r.lot_id == "1001" and r.tax_year == 2020][0]
    assert lot_1001.fixing_adjustments == pytest.approx(fixing.adjustment * 250, rel=1e-12)
    frame = api.schedule_frame(portfolio, "NOTE1")
    assert len(frame) == len(portfolio.instruments["NOTE1"].projected_payments) + 1


@pytest.mark.parametrize("changes, row, text", [
    ({"fixing_date": "2021-02-01"}, 0, "after the payment date 2021-01-15"),
    ({"fixing_date": "2020-01-15"}, 0, "on or before the issue date 2020-01-15"),
    ({"fixing_date": "2020-06-30"}, 1, "is a fixed payment"),
    ({"fixing_date": "2020-06-30"}, 2, "not a redemption"),
    ({"fixing_date": "30 June"}, 0, ""),
])
def test_bad_fixing_dates_are_named(tmp_path, changes, row, text):
    from test_readers import assert_problem, read
    payments = _payments_with(changes["fixing_date"], row)
    portfolio = read(tmp_path, payments=payments)
    problems = [p for p in portfolio.problems if p.column == "fixing_date"]
    assert len(problems) == 1, portfolio.problems
    assert_problem(problems[0], "payments.csv", row + 2, "fixing_date", text)


def test_a_fixing_within_six_months_leaves_the_schedule_alone(tmp_path):
    from test_readers import read
    from cpdi import api
    portfolio = read(tmp_path, payments=_payments_with("2020-08-01"))
    assert portfolio.problems == ()
    book = api.instrument_books(portfolio)["NOTE1"]
    assert book.schedule.fixings == ()
    assert len(book.schedule.periods) == 4


# -- the forms and the workpapers ---------------------------------------------------------------


FIXTURE = __import__("pathlib").Path(__file__).resolve().parent / "fixtures" / "fixings"


def test_gain_kept_ordinary_goes_to_form_8949_column_g():
    """A sale during a (G) spread: the gain up to the positive adjustment not yet taken is
    interest, out of column (h) with code O; the rest is capital gain."""
    from cpdi import api
    portfolio = api.load(FIXTURE)
    result = api.compute(portfolio, 2000)
    sale = next(r for r in result.rows if r.lot_id == "B-2" and r.tax_year == 2000)
    assert sale.ordinary_income_on_disposition > 0 and sale.capital_gain_on_disposition > 0
    (line,) = api.forms(portfolio, 2000, result)["H-B"].form8949
    assert line.adjustment_code == "O"
    assert line.gain_loss == pytest.approx(round(sale.capital_gain_on_disposition, 2), abs=0.01)
    assert line.proceeds - line.cost_basis + line.adjustment_amount == pytest.approx(line.gain_loss)


def test_the_fixture_input_reads_clean_and_computes_every_lot():
    from cpdi import api
    portfolio = api.load(FIXTURE)
    assert portfolio.problems == ()
    result = api.compute(portfolio, 2002)
    assert not result.problems
    assert {r.lot_id for r in result.rows} == {"B-1", "B-2", "C-1", "C-2"}


def test_validate_names_each_fixing(capsys):
    from cpdi.cli import main
    assert main(["validate", str(FIXTURE), "--through-year", "2002"]) == 0
    out = capsys.readouterr().out
    assert ("payment due 1999-12-31 fixed on 1998-09-30 at 300.0000 (projected 250.0000): "
            "adjustment +44.384277 per unit, on that day ((b)(9)(ii)(A))") in out
    assert out.count("spread to the due date") == 2


def test_validate_says_a_late_fixing_changes_nothing(tmp_path, capsys):
    import shutil
    from cpdi.cli import main
    folder = tmp_path / "input"
    shutil.copytree(FIXTURE, folder)
    payments = (folder / "payments.csv").read_text().replace(
        "REG-H-A,1999-12-31,300,scheduled,1998-09-30", "REG-H-A,1999-12-31,300,scheduled,1999-08-01")
    (folder / "payments.csv").write_text(payments)
    assert main(["validate", str(folder), "--through-year", "2002"]) == 0
    assert ("payment due 1999-12-31 fixed on 1999-08-01, within the six months before it is due: "
            "it stays a contingent payment") in capsys.readouterr().out

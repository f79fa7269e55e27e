"""Hand-worked ledger scenarios, one small case per rule of the noncontingent bond method.

Every expected figure is worked out by hand (or by plain arithmetic written in the test) from
the method (docs/method.md, §2–§7) — never by calling the engine
function under test.  The arithmetic is in each docstring.  The instruments are chosen so that
the numbers stay round:

* ``PAR``  — ACT/ACT annual, 10%, issued 31 Dec 2020 at 1,000; projected 100 / 100 / 1,100
  (all contingent) on 31 Dec 2021 / 2022 / 2023.  AIP stays 1,000 at every period end, each
  year's interest is 100, a daily portion is 100/365 (no leap year in 2021–2023).
* ``STEP`` — same conventions; projected 100 / 300 / 880.  AIP: 1,000 → 1,000 (+100 −100)
  → 800 (+100 −300) → 0 (+80 −880).  Interest 100, 100, 80.
* ``FIXED_TAIL`` — like ``PAR`` but only the 2021 payment is contingent; the 2022 coupon and
  the 2023 final payment are fixed.
* ``SEMI`` — 30/360 semiannual, 10% (5% a half-year; every 30/360 period here is exactly
  180/360), issued 31 Dec 2020 at 1,000, periods ending 30 June and 31 December, no payments
  until a contingent 1,000 × 1.05⁴ = 1,215.50625 on 31 Dec 2022.  AIP 1,000 → 1,050 → 1,102.5
  → 1,157.625 → 1,215.50625; interest 50, 52.5, 55.125, 57.88125.

Days: 2021, 2022 and 2023 have 365 days; 1 Jan – 30 Jun is 181 days; 1 Jul – 31 Dec is 184.
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from builders import by_year, instrument, ledger, lot
from cpdi.engine.basis_allocation import AllocationError
from cpdi.engine.daycount import DayCount
from cpdi.engine.ledger import MissingContingentPayment
from cpdi.model import BasisAllocationMethod as M

EXACT = dict(abs=1e-6)

PAR = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 100.0),
                                ("2023-12-31", 1100.0)], 10.0)
STEP = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 300.0),
                                 ("2023-12-31", 880.0)], 10.0)
FIXED_TAIL = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 100.0, "fixed"),
                                       ("2023-12-31", 1100.0, "fixed")], 10.0)
SEMI = instrument(
    "2020-12-31",
    [("2021-06-30", 0.0, "fixed"), ("2021-12-31", 0.0, "fixed"), ("2022-06-30", 0.0, "fixed"),
     ("2022-12-31", 1215.50625)],
    10.0, frequency=2, day_count=DayCount.THIRTY_360,
)

H1 = 181 / 365  # share of a 365-day annual period held 1 Jan – 30 Jun


def approx(value):
    return pytest.approx(value, **EXACT)


def assert_conserves(result, cash: float, proceeds: float, cost: float) -> None:
    """Method §7 conservation on a closed lot, against hand-computed cash and proceeds:

        Σ interest_income − Σ ordinary_loss + ordinary_income_on_disposition
        − ordinary_loss_on_disposition − capital_loss_on_disposition
        + capital_gain_on_disposition  =  Σ actual cash received + proceeds − cost

    How "proceeds" is defined per ending (checked against method §5/§7 by telescoping: per year
    income − ordinary loss = accrued + positive − negative − CF_in + CF_out, so over the life
    Σ(income − OL) = Σ accrued + Σ(actual − projected) + Σ §6 allocations + CF_last; the gain is
    consideration − CF_last − (cost + Σ accrued + Σ allocations − Σ projected payments that
    reduced basis); the sum is Σ actual − (Σ all projected − Σ projected that reduced basis)
    + consideration − cost):

    * sale: the sale proceeds (the seller receives no payment due on or after the sale date);
    * issuer call: the redemption amount × units — it is not a scheduled payment, so it is not
      in ``actual_payments_received``; the scheduled payment due on the call date is;
    * retirement at maturity: 0.  The final payment's *actual* cash is already in
      ``actual_payments_received``; its *projected* amount (the amount realized, (b)(7)(iv))
      never reduced basis and cancels against the projected − actual adjustment.  Counting the
      consideration again would double it.

    ``cash`` is the hand-computed Σ actual payments the lot received; it is also checked
    against the ledger's ``actual_payments_received``.
    """
    rows = result.years
    last = rows[-1]
    assert last.disposition_date is not None, "conservation applies to closed lots only"
    assert sum(r.actual_payments_received for r in rows) == approx(cash)
    left = sum(r.interest_income - r.ordinary_loss for r in rows) + (
        last.ordinary_income_on_disposition - last.ordinary_loss_on_disposition
        - last.capital_loss_on_disposition + last.capital_gain_on_disposition
    )
    assert left == approx(cash + proceeds - cost)


def assert_no_disposition(row) -> None:
    assert row.disposition_date is None
    for name in ("amount_realized", "gain_loss", "ordinary_income_on_disposition",
                 "ordinary_loss_on_disposition", "capital_loss_on_disposition",
                 "capital_gain_on_disposition"):
        assert getattr(row, name) == 0.0, name


# -- 1. net positive adjustment ------------------------------------------------------------


def test_net_positive_adjustment_is_extra_interest():
    """PAR, original holder, actual 2021 payment 130 (projected 100).

    2021: accrued 365 × 100/365 = 100; positive adjustment 130 − 100 = 30; net positive 30;
    interest income 100 + 30 = 130.  Basis 1,000 + 100 − 100 (projected) = 1,000 — the
    adjustment does not touch basis.  2022, 2023 paid as projected: income 100 each.
    Maturity: amount realized = projected 1,100 = basis before the final payment → gain 0.
    Conservation: 130 + 100 + 100 = 330 = cash (130 + 100 + 1,100) − 1,000."""
    result = ledger(PAR, lot("2020-12-31", 1000.0),
                    {"2021-12-31": 130.0, "2022-12-31": 100.0, "2023-12-31": 1100.0})
    y21 = by_year(result)[2021]
    assert y21.interest_accrued == approx(100.0)
    assert y21.positive_adjustments == approx(30.0)
    assert y21.negative_adjustments == approx(0.0)
    assert y21.net_positive_adjustment == approx(30.0)
    assert y21.net_negative_adjustment == approx(0.0)
    assert y21.interest_reduction == approx(0.0)
    assert y21.interest_income == approx(130.0)
    assert y21.ordinary_loss == approx(0.0)
    assert y21.carryforward_out == approx(0.0)
    assert y21.adjusted_basis_end == approx(1000.0)
    assert y21.actual_payments_received == approx(130.0)
    assert_no_disposition(y21)
    y23 = by_year(result)[2023]
    assert y23.amount_realized == approx(1100.0)
    assert y23.gain_loss == approx(0.0)
    assert_conserves(result, cash=1330.0, proceeds=0.0, cost=1000.0)


# -- 2. net negative adjustment absorbed by the year's interest -----------------------------


def test_net_negative_adjustment_only_reduces_interest():
    """PAR, original holder, actual 2021 payment 40 (projected 100).

    2021: accrued 100; negative adjustment 60; NNA 60 ≤ accrued → reduction 60 (b)(6)(iii)(A);
    income 40; no ordinary loss, no carryforward.  Basis stays 1,000.
    Conservation: 40 + 100 + 100 = 240 = cash (40 + 100 + 1,100) − 1,000."""
    result = ledger(PAR, lot("2020-12-31", 1000.0),
                    {"2021-12-31": 40.0, "2022-12-31": 100.0, "2023-12-31": 1100.0})
    y21 = by_year(result)[2021]
    assert y21.interest_accrued == approx(100.0)
    assert y21.positive_adjustments == approx(0.0)
    assert y21.negative_adjustments == approx(60.0)
    assert y21.net_positive_adjustment == approx(0.0)
    assert y21.net_negative_adjustment == approx(60.0)
    assert y21.interest_reduction == approx(60.0)
    assert y21.interest_income == approx(40.0)
    assert y21.ordinary_loss == approx(0.0)
    assert y21.carryforward_out == approx(0.0)
    assert y21.adjusted_basis_end == approx(1000.0)
    assert by_year(result)[2022].carryforward_in == approx(0.0)
    assert_conserves(result, cash=1240.0, proceeds=0.0, cost=1000.0)


# -- 3. net negative adjustment beyond the year's interest: cap, carryforward, use ----------


def test_ordinary_loss_capped_then_carryforward_nets_next_year():
    """STEP, original holder; actual 100 (2021), 0 (2022), 950 at maturity (2023).

    2021: accrued 100, no adjustment, income 100 → total inclusions (TII) 100.
    2022: accrued 100; negative adjustment 300 − 0 = 300; NNA 300; reduction min(300, 100)
    = 100; income 0; excess 200; cap (b)(6)(iii)(B) = TII incl. this year's income
    (100 + 0) − prior ordinary losses 0 = 100 → ordinary loss 100; carryforward 200 − 100 = 100.
    Basis 1,000 + 100 − 300 = 800.
    2023: carryforward_in 100; accrued 80; positive 950 − 880 = 70; net 70 − 0 − 100 = −30;
    NNA 30; reduction 30; income 50; no loss; carryforward 0.  Basis before the final payment
    800 + 80 = 880 = amount realized (projected 880, no carryforward left) → gain 0.
    Conservation: (100 + 0 + 50) − 100 = 50 = cash (100 + 0 + 950) − 1,000."""
    result = ledger(STEP, lot("2020-12-31", 1000.0),
                    {"2021-12-31": 100.0, "2022-12-31": 0.0, "2023-12-31": 950.0})
    rows = by_year(result)
    y21, y22, y23 = rows[2021], rows[2022], rows[2023]
    assert y21.interest_income == approx(100.0)
    assert y22.interest_accrued == approx(100.0)
    assert y22.negative_adjustments == approx(300.0)
    assert y22.carryforward_in == approx(0.0)
    assert y22.net_negative_adjustment == approx(300.0)
    assert y22.interest_reduction == approx(100.0)
    assert y22.interest_income == approx(0.0)
    assert y22.ordinary_loss == approx(100.0)
    assert y22.carryforward_out == approx(100.0)
    assert y22.adjusted_basis_end == approx(800.0)
    assert_no_disposition(y22)
    assert y23.carryforward_in == approx(100.0)
    assert y23.interest_accrued == approx(80.0)
    assert y23.positive_adjustments == approx(70.0)
    assert y23.negative_adjustments == approx(0.0)
    assert y23.net_positive_adjustment == approx(0.0)
    assert y23.net_negative_adjustment == approx(30.0)
    assert y23.interest_reduction == approx(30.0)
    assert y23.interest_income == approx(50.0)
    assert y23.ordinary_loss == approx(0.0)
    assert y23.carryforward_out == approx(0.0)
    assert y23.adjusted_basis_end == approx(880.0)
    assert y23.amount_realized == approx(880.0)
    assert y23.gain_loss == approx(0.0)
    assert_conserves(result, cash=1050.0, proceeds=0.0, cost=1000.0)


def test_ordinary_loss_below_the_cap_leaves_no_carryforward():
    """STEP, original holder; 2022 actual 150: negative 150; reduction 100; excess 50 ≤ cap
    (100 − 0) → ordinary loss 50, carryforward 0."""
    rows = by_year(ledger(STEP, lot("2020-12-31", 1000.0),
                          {"2021-12-31": 100.0, "2022-12-31": 150.0}, through=2022))
    y22 = rows[2022]
    assert y22.net_negative_adjustment == approx(150.0)
    assert y22.interest_reduction == approx(100.0)
    assert y22.interest_income == approx(0.0)
    assert y22.ordinary_loss == approx(50.0)
    assert y22.carryforward_out == approx(0.0)


# -- 4. carryforward reduces the amount realized on a sale ----------------------------------


def test_carryforward_reduces_amount_realized_on_sale():
    """STEP, original holder; actual 100 (2021), 0 (2022) → 2022 as in scenario 3: ordinary
    loss 100 (cap reached: TII 100 − 100), carryforward 100.  Sold 1 Jul 2023 for 850.

    2023: held 1 Jan – 30 Jun = 181 days; accrued a = 80 × 181/365; carryforward_in 100;
    NNA 100; reduction a; income 0; excess 100 − a; cap TII 100 − prior ordinary losses 100
    = 0 → ordinary loss 0; the 100 − a left reduces the amount realized: 850 − (100 − a)
    = 750 + a; carryforward_out reported 0.  Basis 800 + a.  Gain 750 + a − 800 − a = −50;
    (b)(8)(ii) cap 100 − 100 = 0 → capital loss 50.
    Conservation: 100 − 100 − 50 = −50 = cash 100 + proceeds 850 − 1,000."""
    result = ledger(STEP, lot("2020-12-31", 1000.0, sold="2023-07-01", proceeds=850.0),
                    {"2021-12-31": 100.0, "2022-12-31": 0.0})
    rows = by_year(result)
    assert sorted(rows) == [2020, 2021, 2022, 2023]
    a = 80.0 * 181 / 365
    y23 = rows[2023]
    assert y23.days_held == 181
    assert y23.interest_accrued == approx(a)
    assert y23.carryforward_in == approx(100.0)
    assert y23.net_negative_adjustment == approx(100.0)
    assert y23.interest_reduction == approx(a)
    assert y23.interest_income == approx(0.0)
    assert y23.ordinary_loss == approx(0.0)
    assert y23.carryforward_out == 0.0
    assert y23.adjusted_basis_end == approx(800.0 + a)
    assert y23.disposition_date == date(2023, 7, 1)
    assert y23.amount_realized == approx(750.0 + a)
    assert y23.gain_loss == approx(-50.0)
    assert y23.ordinary_income_on_disposition == approx(0.0)
    assert y23.ordinary_loss_on_disposition == approx(0.0)
    assert y23.capital_loss_on_disposition == approx(50.0)
    assert y23.capital_gain_on_disposition == approx(0.0)
    assert_conserves(result, cash=100.0, proceeds=850.0, cost=1000.0)


# -- 5. sale at a gain; sale at a loss split ordinary / capital -----------------------------


def test_sale_at_a_gain_is_interest_income():
    """PAR, original holder, 2021 paid 100, sold 1 Jul 2022 for 1,080.

    2022: 181 days, accrued a = 100 × 181/365; basis 1,000 + a; gain 1,080 − 1,000 − a
    = 80 − a ≈ 30.41, all interest income (b)(8)(i) (contingent payments remain).
    Conservation: 100 + a + (80 − a) = 180 = cash 100 + 1,080 − 1,000."""
    a = 100.0 * 181 / 365
    result = ledger(PAR, lot("2020-12-31", 1000.0, sold="2022-07-01", proceeds=1080.0),
                    {"2021-12-31": 100.0})
    y22 = by_year(result)[2022]
    assert y22.days_held == 181
    assert y22.interest_accrued == approx(a)
    assert y22.interest_income == approx(a)
    assert y22.adjusted_basis_end == approx(1000.0 + a)
    assert y22.amount_realized == approx(1080.0)
    assert y22.gain_loss == approx(80.0 - a)
    assert y22.ordinary_income_on_disposition == approx(80.0 - a)
    assert y22.ordinary_loss_on_disposition == approx(0.0)
    assert y22.capital_loss_on_disposition == approx(0.0)
    assert y22.capital_gain_on_disposition == approx(0.0)
    assert_conserves(result, cash=100.0, proceeds=1080.0, cost=1000.0)


def test_sale_at_a_loss_ordinary_up_to_inclusions_then_capital():
    """PAR, original holder, 2021 paid 100, sold 1 Jul 2022 for 800.

    Basis 1,000 + a (a = 100 × 181/365); loss 200 + a.  Cap (b)(8)(ii) = inclusions
    (100 + a) − ordinary losses 0 → ordinary loss 100 + a; capital loss the rest, 100.
    Conservation: 100 + a − (100 + a) − 100 = −100 = cash 100 + 800 − 1,000."""
    a = 100.0 * 181 / 365
    result = ledger(PAR, lot("2020-12-31", 1000.0, sold="2022-07-01", proceeds=800.0),
                    {"2021-12-31": 100.0})
    y22 = by_year(result)[2022]
    assert y22.gain_loss == approx(-(200.0 + a))
    assert y22.ordinary_income_on_disposition == approx(0.0)
    assert y22.ordinary_loss_on_disposition == approx(100.0 + a)
    assert y22.capital_loss_on_disposition == approx(100.0)
    assert y22.capital_gain_on_disposition == approx(0.0)
    assert_conserves(result, cash=100.0, proceeds=800.0, cost=1000.0)


def test_sale_at_a_loss_cap_net_of_prior_ordinary_losses():
    """STEP, original holder, 2021 paid 100, 2022 paid 150 (projected 300), sold 1 Jan 2023
    for 700.

    2022: negative 150; reduction 100; income 0; excess 50 ≤ cap 100 → ordinary loss 50.
    Basis 1,000 + 100 − 100 + 100 − 300 = 800.  2023: 0 days, nothing to net.
    Loss 800 − 700 = 100; cap = inclusions 100 − ordinary losses so far 50 = 50 → ordinary
    loss 50, capital loss 50.
    Conservation: 100 − 50 − 50 − 50 = −50 = cash (100 + 150) + 700 − 1,000."""
    result = ledger(STEP, lot("2020-12-31", 1000.0, sold="2023-01-01", proceeds=700.0),
                    {"2021-12-31": 100.0, "2022-12-31": 150.0})
    rows = by_year(result)
    assert rows[2022].ordinary_loss == approx(50.0)
    y23 = rows[2023]
    assert y23.days_held == 0
    assert y23.interest_income == approx(0.0)
    assert y23.adjusted_basis_end == approx(800.0)
    assert y23.gain_loss == approx(-100.0)
    assert y23.ordinary_loss_on_disposition == approx(50.0)
    assert y23.capital_loss_on_disposition == approx(50.0)
    assert_conserves(result, cash=250.0, proceeds=700.0, cost=1000.0)


# -- 6. secondary purchases: (b)(9)(i) allocations ------------------------------------------
#
# STEP, principal 2,000 (units 2), bought 1 Jan 2022 when AIP = 1,000 → AIP × units = 2,000.
# Remaining daily portions × units: 2022 = 200, 2023 = 160 (total 360; per unit 100 and 80).
# Remaining days: 365 + 365 = 730.  Actual payments as projected: 600 (2022), 1,760 (2023).
# Discount: cost 1,910 → difference 2,000 − 1,910 = +90.  Premium: cost 2,036 → −36.
#
# (alloc 2022 daily, alloc 2023 daily, at maturity):
# * proportional:   +90 × 200/360 = 50,  90 × 160/360 = 40, 0;     −36 → −20, −16, 0
# * straight_line:  +90 × 365/730 = 45,  45, 0;                    −36 → −18, −18, 0
# * maturity:       0, 0, +90;                                     0, 0, −36
# * yield 12% (discount): holder track H0 = 1,910; 2022 accrual 1,910 × 12% = 229.2 →
#   229.2 − 200 = 29.2; H1 = 1,910 + 229.2 − 600 = 1,539.2; 2023 accrual 184.704 →
#   24.704; left for maturity 90 − 29.2 − 24.704 = 36.096.
# * yield 9% (premium): 2,036 × 9% = 183.24 → −16.76; H1 = 2,036 + 183.24 − 600 = 1,619.24;
#   × 9% = 145.7316 → −14.2684; left −36 + 16.76 + 14.2684 = −4.9716.
# * yield solved: cost = 600 x + 1,760 x², x = 1/(1 + j) (quadratic, below); nothing left.
# * proportional + allocate_to_maturity: discount 36 to maturity, 54 pro rata → 30, 24, 36;
#   premium 18 to maturity (sign of the difference), −18 pro rata → −10, −8, −18.

UNITS = 2.0
BOUGHT = "2022-01-01"
STEP_PAID = {"2022-12-31": 300.0, "2023-12-31": 880.0}


def solved_yield_split(cost: float) -> tuple[float, float]:
    """Solve cost = 600/(1+j) + 1,760/(1+j)² by the quadratic formula in x = 1/(1+j), then
    split the allocation: 2022 = cost × j − 200, 2023 = (cost(1 + j) − 600) × j − 160."""
    x = (-600.0 + math.sqrt(600.0 ** 2 + 4 * 1760.0 * cost)) / (2 * 1760.0)
    j = 1.0 / x - 1.0
    return cost * j - 200.0, (cost * (1 + j) - 600.0) * j - 160.0


SOLVED_D = solved_yield_split(1910.0)
SOLVED_P = solved_yield_split(2036.0)

ALLOCATION_CASES = {
    # id: (cost, method, holder_yield_pct, allocate_to_maturity, (a22, a23, at_maturity))
    "proportional-discount": (1910.0, M.PROPORTIONAL, None, None, (50.0, 40.0, 0.0)),
    "proportional-premium": (2036.0, M.PROPORTIONAL, None, None, (-20.0, -16.0, 0.0)),
    "straight_line-discount": (1910.0, M.STRAIGHT_LINE, None, None, (45.0, 45.0, 0.0)),
    "straight_line-premium": (2036.0, M.STRAIGHT_LINE, None, None, (-18.0, -18.0, 0.0)),
    "maturity-discount": (1910.0, M.MATURITY, None, None, (0.0, 0.0, 90.0)),
    "maturity-premium": (2036.0, M.MATURITY, None, None, (0.0, 0.0, -36.0)),
    "yield12-discount": (1910.0, M.YIELD, 12.0, None, (29.2, 24.704, 36.096)),
    "yield9-premium": (2036.0, M.YIELD, 9.0, None, (-16.76, -14.2684, -4.9716)),
    "yield_solved-discount": (1910.0, M.YIELD, None, None, (*SOLVED_D, 0.0)),
    "yield_solved-premium": (2036.0, M.YIELD, None, None, (*SOLVED_P, 0.0)),
    "proportional_to_maturity-discount": (1910.0, M.PROPORTIONAL, None, 36.0, (30.0, 24.0, 36.0)),
    "proportional_to_maturity-premium": (2036.0, M.PROPORTIONAL, None, 18.0, (-10.0, -8.0, -18.0)),
}


def _pos(*parts):
    return sum(p for p in parts if p > 0)


def _neg(*parts):
    return sum(-p for p in parts if p < 0)


def _secondary_lot(case_id, sold=None, proceeds=None):
    cost, method, j, to_maturity, _ = ALLOCATION_CASES[case_id]
    return lot(BOUGHT, cost, principal=1000.0 * UNITS, sold=sold, proceeds=proceeds,
               method=method, holder_yield_pct=j, allocate_to_maturity=to_maturity)


def test_hand_split_is_the_whole_difference():
    """Self-check of the hand table: each case's three parts sum to 2,000 − cost."""
    for cost, _, _, _, parts in ALLOCATION_CASES.values():
        assert sum(parts) == approx(2000.0 - cost)


@pytest.mark.parametrize("case_id", list(ALLOCATION_CASES))
def test_secondary_purchase_held_to_maturity(case_id):
    """Held to maturity (arithmetic in the table above).

    2022: 365 days; accrued 200; adjustments = the 2022 allocation (payment as projected);
    income 200 + a22; basis cost + 200 + a22 − 600.
    2023: accrued 160; adjustments a23 (daily) and the maturity part; income 160 + a23 + m;
    basis before the final payment cost + 360 − 600 + difference = 1,760 = AIP before the
    final payment (800 + 80 = 880) × 2; amount realized projected 880 × 2 = 1,760; gain 0.
    Conservation: cash 600 + 1,760, proceeds 0."""
    cost, _, _, _, (a22, a23, m) = ALLOCATION_CASES[case_id]
    result = ledger(STEP, _secondary_lot(case_id), STEP_PAID)
    assert result.allocation.difference == approx(2000.0 - cost)
    assert dict(result.allocation.at_dates).get(date(2023, 12, 31), 0.0) == approx(m)
    rows = by_year(result)
    assert sorted(rows) == [2022, 2023]
    y22, y23 = rows[2022], rows[2023]
    assert y22.days_held == 365
    assert y22.interest_accrued == approx(200.0)
    assert y22.allocation_adjustments == approx(a22)
    assert y22.positive_adjustments == approx(_pos(a22))
    assert y22.negative_adjustments == approx(_neg(a22))
    assert y22.interest_income == approx(200.0 + a22)
    assert y22.adjusted_basis_end == approx(cost + 200.0 + a22 - 600.0)
    assert y23.days_held == 365
    assert y23.interest_accrued == approx(160.0)
    assert y23.allocation_adjustments == approx(a23 + m)
    assert y23.positive_adjustments == approx(_pos(a23, m))
    assert y23.negative_adjustments == approx(_neg(a23, m))
    assert y23.interest_income == approx(160.0 + a23 + m)
    assert y23.adjusted_basis_end == approx(880.0 * UNITS)
    assert y23.amount_realized == approx(880.0 * UNITS)
    assert y23.gain_loss == approx(0.0)
    assert_conserves(result, cash=600.0 + 1760.0, proceeds=0.0, cost=cost)


@pytest.mark.parametrize("case_id", list(ALLOCATION_CASES))
def test_secondary_purchase_sold_before_maturity_keeps_unallocated_part_in_basis(case_id):
    """Sold 1 Jul 2023 for 1,700 (181 of the 365 days of 2023 held, f = 181/365).

    2023: accrued 160 f; allocation a23 × f (per-day methods spread a23 evenly over the
    period's days since the daily portion is constant in a period); the maturity part never
    arrives.  Unallocated u = difference − a22 − a23 f stays in basis:
    basis = AIP(1 Jul 2023) × 2 − u with AIP(1 Jul 2023) = 800 + 80 f.
    Gain 1,700 − basis is interest income; a loss (≤ 16) is ordinary, inclusions being > 300.
    Conservation: cash 600, proceeds 1,700."""
    cost, _, _, _, (a22, a23, m) = ALLOCATION_CASES[case_id]
    f = 181 / 365
    result = ledger(STEP, _secondary_lot(case_id, sold="2023-07-01", proceeds=1700.0), STEP_PAID)
    y23 = by_year(result)[2023]
    unallocated = (2000.0 - cost) - a22 - a23 * f
    basis = (800.0 + 80.0 * f) * UNITS - unallocated
    assert y23.days_held == 181
    assert y23.interest_accrued == approx(160.0 * f)
    assert y23.allocation_adjustments == approx(a23 * f)
    assert y23.adjusted_basis_end == approx(basis)
    assert y23.gain_loss == approx(1700.0 - basis)
    assert y23.ordinary_income_on_disposition == approx(max(0.0, 1700.0 - basis))
    assert y23.ordinary_loss_on_disposition == approx(max(0.0, basis - 1700.0))
    assert y23.capital_loss_on_disposition == approx(0.0)
    assert_conserves(result, cash=600.0, proceeds=1700.0, cost=cost)


def test_yield_with_holder_yield_basis_follows_the_holder_track():
    """yield 9% premium: at the end of 2022 the basis equals the holder track H1 = 1,619.24
    (cost 2,036 + holder accrual 183.24 − 600), i.e. AIP × 2 = 1,600 plus the unallocated
    −(−14.2684 − 4.9716) = 19.24."""
    result = ledger(STEP, _secondary_lot("yield9-premium"), STEP_PAID)
    assert by_year(result)[2022].adjusted_basis_end == approx(1619.24)
    assert result.allocation.holder_yield == approx(0.09)


def test_yield_solved_leaves_nothing_for_maturity():
    """Without a holder yield: j solves the quadratic above (≈ 6.71% for the discount),
    no maturity part, and the two daily allocations sum to the difference."""
    for case_id, cost in (("yield_solved-discount", 1910.0), ("yield_solved-premium", 2036.0)):
        result = ledger(STEP, _secondary_lot(case_id), STEP_PAID)
        x = (-600.0 + math.sqrt(600.0 ** 2 + 4 * 1760.0 * cost)) / (2 * 1760.0)
        assert result.allocation.holder_yield == approx(1.0 / x - 1.0)
        assert dict(result.allocation.at_dates).get(date(2023, 12, 31), 0.0) == approx(0.0)
        rows = by_year(result)
        assert rows[2022].allocation_adjustments + rows[2023].allocation_adjustments == approx(
            2000.0 - cost)



# -- allocate_to_maturity typed in cents (method §6) ---------------------------------------------
# STEP bought 1 Jan 2022, 2 units: AIP × units = 2,000, so the (b)(9)(i) difference is
# 2,000 − cost.  Money typed in cents is read as cents: an allocate_to_maturity up to half a
# cent over the whole difference is the whole difference (clamped to it); more is refused.

MATURITY = date(2023, 12, 31)


def _cents_lot(cost: float, to_maturity: float, method=M.PROPORTIONAL):
    return lot(BOUGHT, cost, principal=1000.0 * UNITS, method=method,
               allocate_to_maturity=to_maturity)


@pytest.mark.parametrize("method", [M.PROPORTIONAL, M.STRAIGHT_LINE])
@pytest.mark.parametrize("cost, typed", [
    (2000.0 - 0.3999999, 0.40),    # the exact difference 0.3999999 typed rounded up: 0.40
    (2000.0 + 0.3999999, 0.40),    # the same premium (the part takes the difference's sign)
    (2000.0 - 0.40, 0.404),        # 0.004 over: still the whole difference
    (2000.0 + 0.40, 0.404),
])
def test_allocate_to_maturity_within_half_a_cent_is_the_whole_difference(method, cost, typed):
    """Clamped to the difference: all of it goes to the payment at maturity, nothing to the
    daily portions, and never more than the difference (2,000 − cost)."""
    difference = 2000.0 - cost
    result = ledger(STEP, _cents_lot(cost, typed, method), STEP_PAID)
    assert result.allocation.difference == pytest.approx(difference, abs=1e-12)
    assert result.allocation.at_dates == ((MATURITY, result.allocation.difference),)
    assert all(share == 0.0 for share in result.allocation.per_day)
    rows = by_year(result)
    assert rows[2022].allocation_adjustments == 0.0
    assert rows[2023].allocation_adjustments == result.allocation.difference
    assert rows[2023].adjusted_basis_end == approx(880.0 * UNITS)


def test_allocate_to_maturity_below_the_difference_leaves_the_rest_pro_rata():
    """Typed 0.40 against an exact difference of 0.4000004: 0.40 to maturity, the 0.0000004
    left pro rata over the daily portions (200 : 160 of accrued interest)."""
    result = ledger(STEP, _cents_lot(2000.0 - 0.4000004, 0.40), STEP_PAID)
    assert dict(result.allocation.at_dates)[MATURITY] == pytest.approx(0.40, abs=1e-15)
    rows = by_year(result)
    rest = result.allocation.difference - 0.40
    assert rest == pytest.approx(0.0000004, abs=1e-9)
    assert rows[2022].allocation_adjustments == pytest.approx(rest * 200 / 360, abs=1e-12)


@pytest.mark.parametrize("method", [M.PROPORTIONAL, M.STRAIGHT_LINE])
@pytest.mark.parametrize("cost", [2000.0 - 0.40, 2000.0 + 0.40])
def test_allocate_to_maturity_more_than_half_a_cent_over_is_refused_showing_why(method, cost):
    """0.406 against a difference of 0.40: 0.006 over, refused; the message shows both
    figures to six decimals and the excess (never "0.41 exceeds 0.40")."""
    with pytest.raises(AllocationError) as refused:
        ledger(STEP, _cents_lot(cost, 0.406, method), STEP_PAID)
    message = str(refused.value)
    for figure in ("allocate_to_maturity 0.406000", "(0.400000)", "by 0.006000",
                   "more than half a cent"):
        assert figure in message, message


def test_refusal_shows_more_decimals_when_six_print_alike():
    """Just over half a cent over a difference that prints 0.400000: the excess still
    shows, and the two figures never print alike."""
    cost = 2000.0 - 0.3999999  # difference 0.3999999…, "0.400000" at six decimals
    with pytest.raises(AllocationError) as refused:
        ledger(STEP, _cents_lot(cost, 0.4050001), STEP_PAID)
    message = str(refused.value)
    assert "allocate_to_maturity 0.405000" in message and "(0.400000)" in message
    assert "by 0.0050002" in message  # not "by 0.005000, more than half a cent"

# -- 7. issuer call at par ------------------------------------------------------------------


def test_issuer_call_at_par():
    """PAR, principal 5,000 (units 5), original holder at 5,000; called on 31 Dec 2022 at par
    (1,000 per unit).  Actual payments 100 (2021), 120 (2022, on the call date).

    2022: the scheduled payment on the call date is handled as usual: positive 5 × (120 − 100)
    = 100; accrued 500; income 600; basis 5,000 + 500 − 500 (projected) = 5,000.
    Redemption 5 × 1,000 = 5,000 = amount realized → gain 0.  Held through 31 Dec 2022
    inclusive (365 days); no rows after 2022, and the 2023 contingent payment (never paid,
    no actual row) is not asked for.
    Conservation: 500 + 600 = 1,100 = cash (500 + 600) + redemption 5,000 − 5,000."""
    result = ledger(PAR, lot("2020-12-31", 5000.0, principal=5000.0),
                    {"2021-12-31": 100.0, "2022-12-31": 120.0}, call=("2022-12-31", 1000.0))
    rows = by_year(result)
    assert sorted(rows) == [2020, 2021, 2022]
    assert result.holding.last_day == date(2022, 12, 31)
    y22 = rows[2022]
    assert y22.days_held == 365
    assert y22.interest_accrued == approx(500.0)
    assert y22.positive_adjustments == approx(100.0)
    assert y22.interest_income == approx(600.0)
    assert y22.actual_payments_received == approx(600.0)
    assert y22.adjusted_basis_end == approx(5000.0)
    assert y22.disposition_date == date(2022, 12, 31)
    assert y22.ending == "call"
    assert y22.amount_realized == approx(5000.0)
    assert y22.gain_loss == approx(0.0)
    assert y22.carryforward_out == 0.0
    assert_conserves(result, cash=1100.0, proceeds=5000.0, cost=5000.0)


# -- 8. held to maturity, final payment below projection ------------------------------------


def test_maturity_final_payment_below_projection_absorbed():
    """PAR, original holder, final actual 1,050 (projected 1,100).

    2023: accrued 100; negative 50 (in the maturity year); reduction 50; income 50.
    Amount realized = projected 1,100; basis before the final payment 1,000 + 100 = 1,100;
    gain 0.  Conservation: 100 + 100 + 50 = 250 = cash (100 + 100 + 1,050) − 1,000."""
    result = ledger(PAR, lot("2020-12-31", 1000.0),
                    {"2021-12-31": 100.0, "2022-12-31": 100.0, "2023-12-31": 1050.0})
    y23 = by_year(result)[2023]
    assert y23.negative_adjustments == approx(50.0)
    assert y23.interest_reduction == approx(50.0)
    assert y23.interest_income == approx(50.0)
    assert y23.adjusted_basis_end == approx(1100.0)
    assert y23.ending == "maturity"
    assert y23.disposition_date == date(2023, 12, 31)
    assert y23.amount_realized == approx(1100.0)
    assert y23.gain_loss == approx(0.0)
    assert_conserves(result, cash=1250.0, proceeds=0.0, cost=1000.0)


def test_maturity_carryforward_reduces_projected_final_payment():
    """STEP, original holder; actual 100, 0, 800.  2022 as scenario 3: ordinary loss 100 (cap
    reached), carryforward 100.

    2023: carryforward_in 100; accrued 80; negative 880 − 800 = 80; NNA 180; reduction 80;
    income 0; excess 100; cap TII 100 − 100 = 0 → no ordinary loss; carryforward 100 reduces
    the amount realized: projected 880 − 100 = 780 (carryforward_out reported 0).  Basis 880;
    loss 100; (b)(8)(ii) cap 0 → capital loss 100.
    Conservation: 100 − 100 − 100 = −100 = cash (100 + 0 + 800) − 1,000."""
    result = ledger(STEP, lot("2020-12-31", 1000.0),
                    {"2021-12-31": 100.0, "2022-12-31": 0.0, "2023-12-31": 800.0})
    y23 = by_year(result)[2023]
    assert y23.carryforward_in == approx(100.0)
    assert y23.negative_adjustments == approx(80.0)
    assert y23.net_negative_adjustment == approx(180.0)
    assert y23.interest_reduction == approx(80.0)
    assert y23.interest_income == approx(0.0)
    assert y23.ordinary_loss == approx(0.0)
    assert y23.carryforward_out == 0.0
    assert y23.adjusted_basis_end == approx(880.0)
    assert y23.consideration == approx(880.0)
    assert y23.amount_realized == approx(780.0)
    assert y23.gain_loss == approx(-100.0)
    assert y23.ordinary_loss_on_disposition == approx(0.0)
    assert y23.capital_loss_on_disposition == approx(100.0)
    assert_conserves(result, cash=900.0, proceeds=0.0, cost=1000.0)


# -- 9. sale after the last contingent payment (b)(8)(iii) ----------------------------------


@pytest.mark.parametrize("proceeds", [1080.0, 950.0], ids=["gain", "loss"])
def test_sale_after_last_contingent_payment_is_capital(proceeds):
    """FIXED_TAIL, original holder; the only contingent payment (2021) paid 150 → positive 50,
    2021 income 150.  Sold 1 Jul 2022: only fixed payments remain → (b)(8)(iii)(A).

    Basis 1,000 + a (a = 100 × 181/365).  Proceeds 1,080: gain 80 − a, all
    capital_gain_on_disposition, ordinary income 0.  Proceeds 950: loss 50 + a, all
    capital_loss_on_disposition, ordinary loss 0.
    Conservation: 150 + a ± gain = cash 150 + proceeds − 1,000."""
    a = 100.0 * 181 / 365
    result = ledger(FIXED_TAIL, lot("2020-12-31", 1000.0, sold="2022-07-01", proceeds=proceeds),
                    {"2021-12-31": 150.0})
    rows = by_year(result)
    assert rows[2021].interest_income == approx(150.0)
    y22 = rows[2022]
    gain = proceeds - (1000.0 + a)
    assert y22.adjusted_basis_end == approx(1000.0 + a)
    assert y22.gain_loss == approx(gain)
    assert y22.ordinary_income_on_disposition == approx(0.0)
    assert y22.ordinary_loss_on_disposition == approx(0.0)
    assert y22.capital_gain_on_disposition == approx(max(gain, 0.0))
    assert y22.capital_loss_on_disposition == approx(max(-gain, 0.0))
    assert_conserves(result, cash=150.0, proceeds=proceeds, cost=1000.0)


# -- 10. purchase on 1 July, periods ending 30 June / 31 December --------------------------


def test_purchase_on_1_july_accrues_whole_second_half_period():
    """SEMI, bought 1 Jul 2021 for 1,050 = AIP after the June period (1,000 × 1.05).

    2021: days 1 Jul – 31 Dec = 184; accrued the whole second-half period 1,050 × 5% = 52.5;
    no (b)(9)(i) difference, so no adjustments; basis 1,102.5.
    2022: accrued 55.125 + 57.88125 = 113.00625; final paid as projected 1,215.50625 =
    amount realized = basis → gain 0.
    Conservation: 52.5 + 113.00625 = 165.50625 = 1,215.50625 − 1,050."""
    result = ledger(SEMI, lot("2021-07-01", 1050.0), {"2022-12-31": 1215.50625})
    assert result.allocation.difference == approx(0.0)
    rows = by_year(result)
    y21, y22 = rows[2021], rows[2022]
    assert y21.days_held == 184
    assert y21.interest_accrued == approx(52.5)
    assert y21.positive_adjustments == approx(0.0)
    assert y21.negative_adjustments == approx(0.0)
    assert y21.interest_income == approx(52.5)
    assert y21.adjusted_basis_end == approx(1102.5)
    assert y22.interest_accrued == approx(113.00625)
    assert y22.adjusted_basis_end == approx(1215.50625)
    assert y22.amount_realized == approx(1215.50625)
    assert y22.gain_loss == approx(0.0)
    assert_conserves(result, cash=1215.50625, proceeds=0.0, cost=1050.0)


def test_1_july_aip_and_the_seller_side():
    """Bought 1 Jul 2021 for 1,000 with the maturity method: difference = AIP(1 Jul) 1,050 −
    1,000 = 50.  The seller from issue, selling 1 Jul 2021 for 1,050, holds 1 Jan – 30 Jun
    (181 days), accrues the whole first period 50, basis 1,050, gain 0.
    Conservation: 50 = 0 + 1,050 − 1,000."""
    buyer = ledger(SEMI, lot("2021-07-01", 1000.0, method=M.MATURITY), {"2022-12-31": 1215.50625})
    assert buyer.allocation.difference == approx(50.0)
    seller = ledger(SEMI, lot("2020-12-31", 1000.0, sold="2021-07-01", proceeds=1050.0))
    y21 = by_year(seller)[2021]
    assert y21.days_held == 181
    assert y21.interest_accrued == approx(50.0)
    assert y21.adjusted_basis_end == approx(1050.0)
    assert y21.gain_loss == approx(0.0)
    assert_conserves(seller, cash=0.0, proceeds=1050.0, cost=1000.0)


# -- 11. sale / purchase on a payment date --------------------------------------------------


def test_sale_on_payment_date_payment_goes_to_buyer():
    """PAR; the 31 Dec 2022 payment was 130 (projected 100).

    Seller (from issue, 2021 paid 100) sells 31 Dec 2022 for 1,100: holds 1 Jan – 30 Dec 2022
    = 364 days; accrued 100 × 364/365; receives no 2022 payment (no cash, no adjustment);
    basis 1,000 + 100 × 364/365; gain 1,100 − basis = 100/365, interest income.
    Conservation: 100 + 100 × 364/365 + 100/365 = 200 = cash 100 + 1,100 − 1,000.

    Buyer on 31 Dec 2022 at cost AIP(31 Dec 2022) = 1,000 + 100 × 364/365 (no difference):
    holds the payment date, 1 day, accrued 100/365; receives the 130 → positive 30; income
    100/365 + 30; basis cost + 100/365 − 100 (projected) = 1,000.  2023: income 100; maturity
    gain 0.  Conservation: 100/365 + 30 + 100 = cash (130 + 1,100) − cost."""
    paid = {"2021-12-31": 100.0, "2022-12-31": 130.0, "2023-12-31": 1100.0}
    seller = ledger(PAR, lot("2020-12-31", 1000.0, sold="2022-12-31", proceeds=1100.0), paid)
    s22 = by_year(seller)[2022]
    assert seller.holding.last_day == date(2022, 12, 30)
    assert s22.days_held == 364
    assert s22.interest_accrued == approx(100.0 * 364 / 365)
    assert s22.actual_payments_received == approx(0.0)
    assert s22.projected_payments_received == approx(0.0)
    assert s22.positive_adjustments == approx(0.0)
    assert s22.adjusted_basis_end == approx(1000.0 + 100.0 * 364 / 365)
    assert s22.gain_loss == approx(100.0 / 365)
    assert s22.ordinary_income_on_disposition == approx(100.0 / 365)
    assert_conserves(seller, cash=100.0, proceeds=1100.0, cost=1000.0)

    cost = 1000.0 + 100.0 * 364 / 365
    buyer = ledger(PAR, lot("2022-12-31", cost, lot_id="L2"), paid)
    assert buyer.allocation.difference == approx(0.0)
    b22 = by_year(buyer)[2022]
    assert b22.days_held == 1
    assert b22.interest_accrued == approx(100.0 / 365)
    assert b22.actual_payments_received == approx(130.0)
    assert b22.positive_adjustments == approx(30.0)
    assert b22.interest_income == approx(100.0 / 365 + 30.0)
    assert b22.adjusted_basis_end == approx(1000.0)
    assert_conserves(buyer, cash=1230.0, proceeds=0.0, cost=cost)


# -- 12. missing actual payments ------------------------------------------------------------


def test_missing_fixed_payments_taken_at_projection():
    """FIXED_TAIL, original holder, only the contingent 2021 payment supplied (100).  The fixed
    2022 coupon (100) and 2023 final payment (1,100) are taken as paid at projection: cash 100
    and 1,100, no adjustments; gain at maturity 0.
    Conservation: 300 = 1,300 − 1,000."""
    result = ledger(FIXED_TAIL, lot("2020-12-31", 1000.0), {"2021-12-31": 100.0})
    assert [(p.date, p.actual_supplied) for p in result.payments] == [
        (date(2021, 12, 31), True), (date(2022, 12, 31), False), (date(2023, 12, 31), False)]
    rows = by_year(result)
    for year in (2022, 2023):
        assert rows[year].positive_adjustments == approx(0.0)
        assert rows[year].negative_adjustments == approx(0.0)
        assert rows[year].interest_income == approx(100.0)
    assert rows[2022].actual_payments_received == approx(100.0)
    assert rows[2023].actual_payments_received == approx(1100.0)
    assert rows[2023].gain_loss == approx(0.0)
    assert_conserves(result, cash=1300.0, proceeds=0.0, cost=1000.0)


def test_missing_contingent_payment_is_an_error_naming_the_date():
    """PAR with only 2021 paid: through 2021 fine; through 2022 the contingent payment of
    31 Dec 2022 has no actual → MissingContingentPayment naming 2022-12-31."""
    assert len(ledger(PAR, lot("2020-12-31", 1000.0), {"2021-12-31": 100.0}, through=2021).years) == 2
    with pytest.raises(MissingContingentPayment) as info:
        ledger(PAR, lot("2020-12-31", 1000.0), {"2021-12-31": 100.0}, through=2022)
    assert info.value.due == date(2022, 12, 31)
    assert "2022-12-31" in str(info.value)


# -- 13. days held and which rows appear ----------------------------------------------------


def test_original_holder_rows_and_days_while_still_held():
    """PAR, original holder from the issue date, through 2022 (still held: matures 2023).

    2020: holds the issue date (1 day) which accrues nothing; 2021, 2022: 365 days, 100 each.
    No disposition; basis 1,000 at the end of 2022."""
    result = ledger(PAR, lot("2020-12-31", 1000.0), {"2021-12-31": 100.0, "2022-12-31": 100.0},
                    through=2022)
    rows = by_year(result)
    assert [r.tax_year for r in result.years] == [2020, 2021, 2022]
    assert [rows[y].days_held for y in (2020, 2021, 2022)] == [1, 365, 365]
    assert rows[2020].interest_accrued == 0.0
    assert rows[2020].interest_income == 0.0
    assert rows[2020].adjusted_basis_end == approx(1000.0)
    assert rows[2022].adjusted_basis_end == approx(1000.0)
    for row in result.years:
        assert_no_disposition(row)


def test_lot_not_yet_acquired_has_no_rows_and_mid_year_acquisition():
    """PAR, bought 1 Mar 2022 at AIP = 1,000 + 100 × 59/365 (1 Jan – 28 Feb = 59 days).
    Through 2021: no rows.  Through 2022: one row, 1 Mar – 31 Dec = 306 days, accrued
    100 × 306/365, no adjustments; basis cost + 100 × 306/365 − 100 = 1,000."""
    cost = 1000.0 + 100.0 * 59 / 365
    a_lot = lot("2022-03-01", cost)
    paid = {"2021-12-31": 100.0, "2022-12-31": 100.0}
    assert ledger(PAR, a_lot, paid, through=2021).years == ()
    result = ledger(PAR, a_lot, paid, through=2022)
    assert [r.tax_year for r in result.years] == [2022]
    row = result.years[0]
    assert row.days_held == 306
    assert row.interest_accrued == approx(100.0 * 306 / 365)
    assert row.positive_adjustments == approx(0.0)
    assert row.negative_adjustments == approx(0.0)
    assert row.adjusted_basis_end == approx(1000.0)

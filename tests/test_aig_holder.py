"""The real AIG CMS Curve Notes schedule (tests/fixtures/aig-cms-curve-2027), held from issue
by an illustrative holder of $100,000 (100 notes) with made-up actual coupons.

The schedule as printed fails validation (final AIP +36.0001, method §10).  We correct it the way
the validator suggests — the final payment 1004.2577 → 1040.2578 ("digits '04' printed for
'40'") — and then every year's figures follow from the schedule and the coupons alone."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest

from cpdi.engine.ledger import ActualPayments, lot_ledger
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.validation import validate_schedule
from cpdi.model import Lot, PaymentType
from cpdi.readers import read_portfolio

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aig-cms-curve-2027"

UNITS = 100  # $100,000 of $1,000 notes


def corrected_aig():
    instrument = read_portfolio(FIXTURE).instruments["02687QCD8"]
    report = validate_schedule(instrument)
    assert report.status == "FAILED"
    fix = report.corrections[0]
    assert (fix.period_number, round(fix.corrected, 4)) == (40, 1040.2578)
    assert fix.looks_like.startswith("digits '04' printed for '40'")
    payments = list(instrument.projected_payments)
    payments[-1] = dataclasses.replace(payments[-1], amount=round(fix.corrected, 4))
    corrected = dataclasses.replace(instrument, projected_payments=tuple(payments))
    assert validate_schedule(corrected).status == "OK"
    return corrected


def made_up_coupons(instrument) -> dict[date, float]:
    """Fixed 45.00 for the first four periods (left out: taken at projection); then a CMS-curve
    style coupon: 0 in 2010–2011, 30.00 in 2012–2015, 10.00 after, and the final payment at
    its projection plus 5.00."""
    paid = {}
    for p in instrument.projected_payments:
        if p.payment_type is PaymentType.FIXED:
            continue
        y = p.period_end.year
        paid[p.period_end] = 0.0 if y <= 2011 else 30.0 if y <= 2015 else 10.0
    final = instrument.projected_payments[-1]
    paid[final.period_end] = final.amount - 10.0 + 5.0 + 10.0  # coupon 10 + principal part
    return paid


def test_aig_holder_from_issue_through_maturity():
    instrument = corrected_aig()
    schedule = AccrualSchedule(instrument)
    paid = made_up_coupons(instrument)
    lot = Lot("H", "AIG-1", "02687QCD8", 100_000.0, instrument.issue_date, 100_000.0)
    ledger = lot_ledger(schedule, lot, ActualPayments(paid), 2030)
    rows = {r.tax_year: r for r in ledger.years}
    assert min(rows) == 2007 and max(rows) == 2027
    per_unit_by_year = schedule.interest_by_calendar_year()
    for year, row in rows.items():
        # daily portions × units (b)(3)(iii)
        assert row.interest_accrued == pytest.approx(per_unit_by_year[year] * UNITS, abs=1e-6)
        # adjustments: actual − projected on the year's payments (b)(6)(i)
        diffs = [
            (paid.get(p.period_end, p.projected_payment) - p.projected_payment) * UNITS
            for p in schedule.periods if p.period_end.year == year
        ]
        assert row.positive_adjustments == pytest.approx(sum(d for d in diffs if d > 0), abs=1e-6)
        assert row.negative_adjustments == pytest.approx(-sum(d for d in diffs if d < 0), abs=1e-6)
        if year < 2027:  # an original holder's basis is the AIP (b)(7)(iii)
            assert row.adjusted_basis_end == pytest.approx(
                schedule.adjusted_issue_price(date(year + 1, 1, 1)) * UNITS, abs=1e-6)
    # the issuer's published per-year table, for this holder: 2007 = 164 days of period 1
    assert rows[2007].interest_accrued == pytest.approx(2433.2608695652, abs=1e-6)
    assert rows[2008].interest_accrued == pytest.approx(5324.37, abs=0.01)
    # 2010: the projected 21.9327 and 21.2108 were paid as 0 → 4,314.35 of negative
    # adjustments, absorbed by the year's 5,084.77 of interest (b)(6)(iii)(A)
    y10 = rows[2010]
    assert y10.negative_adjustments == pytest.approx((21.9327 + 21.2108) * UNITS, abs=1e-6)
    assert y10.interest_reduction == pytest.approx(y10.negative_adjustments)
    assert y10.ordinary_loss == 0.0
    # maturity: the projected final payment is the amount realized; basis = AIP before it
    final = rows[2027]
    assert final.ending == "maturity"
    assert final.amount_realized == pytest.approx(1040.2578 * UNITS, abs=1e-6)
    assert final.gain_loss == pytest.approx(-schedule.final_adjusted_issue_price * UNITS, abs=1e-6)
    # conservation: all income = all cash − cost
    income = sum(r.interest_income - r.ordinary_loss for r in rows.values())
    income += final.ordinary_income_on_disposition - final.ordinary_loss_on_disposition
    income -= final.capital_loss_on_disposition
    cash = sum(r.actual_payments_received for r in rows.values())
    assert income == pytest.approx(cash - 100_000.0, abs=1e-6)

"""Validating what the issuer published (method §8; (b)(4)(ii)(C)).

The real AIG CMS Curve Notes due 2027 schedule, exactly as printed in the pricing supplement
(tests/fixtures/aig-cms-curve-2027/), does not produce its 5.46% comparable yield: the
final payment printed 1004.2577 should be 1040.2578 (two digits swapped).  Structural problems
and the tolerance rule are tested on small instruments built here.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from cpdi.engine.daycount import DayCount
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.validation import (
    DEFAULT_TOLERANCE_PER_1000,
    describe,
    implied_yield,
    present_value,
    validate_schedule,
)
from cpdi.model import ComparableYield, Instrument, ProjectedPayment

D = date
from builders import load_aig


def with_payment(inst: Instrument, number: int, amount: float) -> Instrument:
    """``inst`` with period ``number``'s (1-based) projected payment replaced."""
    payments = list(inst.projected_payments)
    payments[number - 1] = dataclasses.replace(payments[number - 1], amount=amount)
    return dataclasses.replace(inst, projected_payments=tuple(payments))


def closing_final_payment(inst: Instrument) -> float:
    """The last payment that makes AIP_n exactly zero: AIP_{n-1} × (1 + r_n), computed here
    with the AIG's 30/360 half years (every period rate is 5.46%/2)."""
    aip = inst.issue_price
    for pp in inst.projected_payments[:-1]:
        aip = aip * 1.0273 - pp.amount
    return aip * 1.0273


@pytest.fixture(scope="module")
def aig() -> Instrument:
    return load_aig()


@pytest.fixture(scope="module")
def aig_report(aig):
    return validate_schedule(aig)


@pytest.fixture(scope="module")
def aig_exact(aig) -> Instrument:
    """The AIG schedule with its final payment replaced by the exact closing amount."""
    return with_payment(aig, 40, closing_final_payment(aig))


# -- the AIG schedule as printed ----------------------------------------------------------------


def test_aig_as_printed_fails(aig_report):
    r = aig_report
    assert r.status == "FAILED"
    assert r.structurally_valid and r.problems == ()
    assert not r.within_tolerance
    assert not r.accepted
    assert not r.usable


def test_aig_as_printed_figures(aig_report):
    r = aig_report
    assert r.instrument_id == "02687QCD8"
    assert r.issue_price == 1000.0
    assert round(r.present_value, 4) == 987.7422
    assert round(r.pv_difference, 4) == -12.2578
    assert round(r.final_adjusted_issue_price, 4) == 36.0001
    assert r.comparable_yield_pct == pytest.approx(5.46, abs=1e-12)
    assert r.implied_yield_pct is not None
    assert round(r.implied_yield_pct, 4) == 5.3573
    assert r.tolerance == pytest.approx(0.01, abs=1e-15)
    assert DEFAULT_TOLERANCE_PER_1000 == 0.01  # method §8


def test_aig_pv_and_final_aip_are_consistent(aig, aig_report):
    # AIP_n = (issue price − PV) × Π(1 + r_k): 12.2578 × 1.0273^40 = 36.0001 (hand)
    growth = 1.0273**40
    assert aig_report.final_adjusted_issue_price == pytest.approx(
        -aig_report.pv_difference * growth, rel=1e-10
    )
    # the implied yield prices the printed schedule at par
    assert present_value(aig, aig_report.implied_yield_pct / 100.0) == pytest.approx(1000.0, abs=1e-8)
    assert implied_yield(aig) * 100.0 == pytest.approx(aig_report.implied_yield_pct, abs=1e-12)


def test_aig_correction_is_period_40_transposition(aig_report):
    first = aig_report.corrections[0]
    assert first.period_number == 40
    assert first.period_end == D(2027, 7, 20)
    assert round(first.printed, 4) == 1004.2577
    assert round(first.corrected, 4) == 1040.2578
    assert "'04'" in first.looks_like and "'40'" in first.looks_like
    # the final payment is always offered; here it is the only one
    assert [c.period_number for c in aig_report.corrections] == [40]


def test_aig_describe_shows_the_numbers(aig_report):
    text = describe(aig_report)
    assert text.startswith("02687QCD8: FAILED")
    for figure in (
        "987.7422",
        "1000.0000",
        "-12.2578",
        "+36.0001",
        f"{aig_report.implied_yield_pct:.6f}%",
        "5.35728",
        "5.4600%",
        "0.0100",
        "period 40",
        "2027-07-20",
        "1004.2577",
        "1040.2578",
        "'04'",
        "'40'",
        "(b)(4)(ii)(C)",
        "accept_residual",
    ):
        assert figure in text, figure


def test_aig_corrected_final_payment_is_ok(aig):
    fixed = with_payment(aig, 40, 1040.2578)
    r = validate_schedule(fixed)
    assert r.status == "OK"
    assert r.within_tolerance and r.usable
    assert abs(r.final_adjusted_issue_price) < 0.0001
    assert abs(r.pv_difference) < 0.0001
    assert round(r.implied_yield_pct, 4) == 5.4600
    assert r.corrections == ()
    text = describe(r)
    assert text.startswith("02687QCD8: OK")
    assert "\n" not in text  # one line when the schedule is OK


@pytest.mark.parametrize("how", ["argument", "instrument flag"])
def test_aig_accepted_residual_is_usable(aig, how):
    if how == "argument":
        r = validate_schedule(aig, accept_residual=True)
    else:
        r = validate_schedule(dataclasses.replace(aig, accept_residual=True))
    assert r.status == "ACCEPTED"
    assert r.accepted and r.usable
    assert not r.within_tolerance
    assert round(r.final_adjusted_issue_price, 4) == 36.0001  # the residual stays visible
    text = describe(r)
    assert "ACCEPTED" in text and "+36.0001" in text and "1040.2578" in text


def test_argument_false_overrides_instrument_acceptance(aig):
    r = validate_schedule(dataclasses.replace(aig, accept_residual=True), accept_residual=False)
    assert r.status == "FAILED" and not r.usable


# -- tolerance (method §8: 0.01 per 1,000 of principal unless the user sets another) ---------------


def test_exact_schedule_is_ok(aig_exact):
    r = validate_schedule(aig_exact)
    assert r.status == "OK"
    assert abs(r.final_adjusted_issue_price) < 1e-9
    assert r.implied_yield_pct == pytest.approx(5.46, abs=1e-9)


def test_residual_of_0_005_per_1000(aig_exact):
    short = with_payment(aig_exact, 40, aig_exact.projected_payments[-1].amount - 0.005)
    assert AccrualSchedule(short).final_adjusted_issue_price == pytest.approx(0.005, abs=1e-9)
    at_default = validate_schedule(short)
    assert at_default.status == "OK" and at_default.usable
    tight = validate_schedule(short, tolerance_per_1000=0.001)
    assert tight.status == "FAILED" and not tight.usable
    assert tight.tolerance == pytest.approx(0.001, abs=1e-15)
    fix = next(c for c in tight.corrections if c.period_number == 40)
    assert fix.corrected == pytest.approx(aig_exact.projected_payments[-1].amount, abs=1e-9)


def test_residual_just_outside_default_tolerance_fails(aig_exact):
    short = with_payment(aig_exact, 40, aig_exact.projected_payments[-1].amount - 0.011)
    assert validate_schedule(short).status == "FAILED"
    assert validate_schedule(short, tolerance_per_1000=0.02).status == "OK"


def _par_note(unit: float, final_shortfall: float) -> Instrument:
    """Two annual 30/360 periods at 10% on a unit of ``unit``, issued at par; the final
    payment is short by ``final_shortfall`` per unit."""
    return Instrument(
        "PAR",
        D(2020, 1, 15),
        D(2022, 1, 15),
        unit,
        unit,
        ComparableYield(0.10, DayCount.THIRTY_360, 1),
        (
            ProjectedPayment(D(2020, 1, 15), D(2021, 1, 15), 0.1 * unit),
            ProjectedPayment(D(2021, 1, 15), D(2022, 1, 15), 1.1 * unit - final_shortfall),
        ),
    )


def test_tolerance_scales_with_unit_principal():
    # 0.005 per unit of 100 is 0.05 per 1,000: outside the default 0.01 per 1,000 (= 0.001 per
    # unit of 100); 0.0005 per unit of 100 (0.005 per 1,000) is inside
    r = validate_schedule(_par_note(100.0, 0.005))
    assert r.tolerance == pytest.approx(0.001, abs=1e-15)
    assert r.status == "FAILED"
    assert validate_schedule(_par_note(100.0, 0.0005)).status == "OK"
    # the same 0.005 per unit of 1,000 is inside
    assert validate_schedule(_par_note(1000.0, 0.005)).status == "OK"


def test_pv_residual_alone_outside_tolerance_fails():
    # both |PV − issue price| and |AIP_n| must be within tolerance (method §8)
    note = _par_note(1000.0, 0.0)
    rich = dataclasses.replace(note, issue_price=999.98)  # PV 1000 vs price 999.98
    r = validate_schedule(rich)
    assert r.pv_difference == pytest.approx(0.02, abs=1e-9)
    assert r.status == "FAILED"


def test_refusal_just_outside_tolerance_shows_the_decimals_that_tell_why():
    # final AIP 0.01004 per 1,000 against a tolerance of 0.01: at four decimals both print
    # 0.0100, which would not say why the schedule is refused; describe shows five
    r = validate_schedule(_par_note(1000.0, 0.01004))
    assert r.final_adjusted_issue_price == pytest.approx(0.01004, abs=1e-9)
    assert r.status == "FAILED"
    text = describe(r)
    assert "final AIP +0.01004" in text and "tolerance 0.01000 per unit" in text
    assert "+0.0100;" not in text


def test_ok_schedule_rounding_up_to_the_tolerance_keeps_four_decimals():
    # 0.0099996 is inside 0.01 and prints +0.0100 against 0.0100: not above it, so four do
    r = validate_schedule(_par_note(1000.0, 0.0099996))
    assert r.status == "OK"
    assert "final AIP +0.0100;" in describe(r) and "tolerance 0.0100 per unit" in describe(r)


# -- structural problems (method §2, §8) -----------------------------------------------------------


def _note(periods, issue=D(2020, 1, 1), maturity=D(2021, 1, 1)) -> Instrument:
    return Instrument(
        "BAD",
        issue,
        maturity,
        1000.0,
        1000.0,
        ComparableYield(0.05, DayCount.ACT_365F, 2),
        tuple(ProjectedPayment(s, e, a) for s, e, a in periods),
    )


GOOD_PERIODS = [
    (D(2020, 1, 1), D(2020, 7, 1), 25.0),
    (D(2020, 7, 1), D(2021, 1, 1), 1025.0),
]

STRUCTURAL_CASES = [
    (
        "gap",
        _note([(D(2020, 1, 1), D(2020, 7, 1), 25.0), (D(2020, 7, 3), D(2021, 1, 1), 1025.0)]),
        ["gap", "period 1", "2020-07-01", "period 2", "2020-07-03"],
    ),
    (
        "overlap",
        _note([(D(2020, 1, 1), D(2020, 7, 1), 25.0), (D(2020, 6, 28), D(2021, 1, 1), 1025.0)]),
        ["overlap", "period 2", "2020-06-28", "period 1", "2020-07-01"],
    ),
    (
        "first period not at issue",
        _note(GOOD_PERIODS, issue=D(2019, 12, 15)),
        ["first period", "2020-01-01", "issue date", "2019-12-15"],
    ),
    (
        "last period not at maturity",
        _note(GOOD_PERIODS, maturity=D(2021, 7, 1)),
        ["last period", "2021-01-01", "maturity", "2021-07-01"],
    ),
    (
        "period ends before it starts",
        _note(
            [
                (D(2020, 1, 1), D(2020, 7, 1), 25.0),
                (D(2020, 7, 1), D(2020, 6, 1), 25.0),
                (D(2020, 6, 1), D(2021, 1, 1), 1025.0),
            ]
        ),
        ["period 2", "2020-06-01", "2020-07-01"],
    ),
    (
        "period of zero length",
        _note(
            [
                (D(2020, 1, 1), D(2020, 7, 1), 25.0),
                (D(2020, 7, 1), D(2020, 7, 1), 0.0),
                (D(2020, 7, 1), D(2021, 1, 1), 1025.0),
            ]
        ),
        ["period 2", "2020-07-01", "not after its start"],
    ),
    ("empty schedule", _note([]), ["no projected payment"]),
]


@pytest.mark.parametrize(
    "label, inst, fragments", STRUCTURAL_CASES, ids=[c[0] for c in STRUCTURAL_CASES]
)
def test_structural_problem_reported_with_dates(label, inst, fragments):
    r = validate_schedule(inst)
    assert r.status == "INVALID"
    assert not r.structurally_valid and not r.usable
    assert r.problems, label
    joined = " | ".join(r.problems)
    for fragment in fragments:
        assert fragment in joined, (fragment, joined)
    text = describe(r)
    assert text.startswith("BAD: INVALID")
    for problem in r.problems:
        assert problem in text


def test_structural_problem_is_not_accepted_by_accept_residual():
    gap = STRUCTURAL_CASES[0][1]
    r = validate_schedule(gap, accept_residual=True)
    assert r.status == "INVALID" and not r.usable


def test_every_structural_problem_is_reported_together():
    inst = _note(
        [
            (D(2020, 1, 2), D(2020, 7, 1), 25.0),  # not the issue date
            (D(2020, 7, 5), D(2020, 12, 1), 25.0),  # gap after period 1
            (D(2020, 11, 1), D(2020, 12, 31), 1025.0),  # overlaps period 2; not maturity
        ]
    )
    joined = " | ".join(validate_schedule(inst).problems)
    for fragment in ("issue date", "gap", "overlaps", "maturity date"):
        assert fragment in joined


def test_well_formed_small_note_has_no_problems():
    assert validate_schedule(_note(GOOD_PERIODS)).problems == ()


# -- a single mistyped digit in a middle payment ---------------------------------------------------


def test_mistyped_digit_in_middle_payment_detected_on_that_period(aig_exact):
    # period 12 (2013-01-20 → 2013-07-20) printed 21.3909; mistype the units digit: 27.3909
    assert aig_exact.projected_payments[11].amount == 21.3909
    slipped = with_payment(aig_exact, 12, 27.3909)
    r = validate_schedule(slipped)
    assert r.status == "FAILED"
    fix = next(c for c in r.corrections if c.period_number == 12)
    assert fix.period_end == D(2013, 7, 20)
    assert fix.printed == 27.3909
    assert fix.corrected == pytest.approx(21.3909, abs=1e-9)
    assert fix.looks_like == "digit '7' printed for '1' (21.3909)"
    assert "period 12 payment due 2013-07-20 printed 27.3909; 21.3909" in describe(r)
    # the final payment is always offered as well, with no typing slip claimed for it
    final = next(c for c in r.corrections if c.period_number == 40)
    assert final.looks_like == ""


def test_mistyped_digit_is_the_first_correction_offered(aig_exact):
    slipped = with_payment(aig_exact, 12, 27.3909)
    r = validate_schedule(slipped)
    assert r.corrections[0].period_number == 12


def test_mistyped_hundredths_digit_detected_on_that_period(aig_exact):
    # period 20 (2017-01-20 → 2017-07-20) printed 19.7309; mistype '3' as '8': 19.7809
    assert aig_exact.projected_payments[19].amount == 19.7309
    r = validate_schedule(with_payment(aig_exact, 20, 19.7809))
    fix = next(c for c in r.corrections if c.period_number == 20)
    assert fix.corrected == pytest.approx(19.7309, abs=1e-9)
    assert fix.looks_like == "digit '8' printed for '3' (19.7309)"

"""Broker reconciliation (method §12; docs/formats.md "broker_1099.csv"): each figure a broker
reported against cpdi's, each known cause of a difference worked out by hand, and the broker_1099
input's every kind of bad row.

Hand-worked figures come from the regulation's own examples (tests/regulation_examples.md) and
the AIG fixture, so each cause's amount can be followed from a printed number:

* (b)(7)(vi) Example 2 — Z note bought at issue for $1,000, $375 paid against $500 projected in
  1997 (a $25 carryforward), sold on 1 January 1998 for $630: basis $600, amount realized $605,
  a $5 gain that is interest (b)(8)(i);
* (b)(7)(vi) Example 3 — the same note held to maturity, $615 paid against $660 projected: the
  1998 accrual is $60, the $45 shortfall and the $25 carryforward net to $70, so interest is 0
  and $10 reduces the amount realized;
* AIG CMS Curve Notes from issue (20 July 2007), 30/360 semiannual, 5.46%: the first period's
  interest is $27.30 per 1,000; 2007 holds 164 of its 184 calendar days, 161 of its 180 30/360
  days (method §3).
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

import cpdi
from builders import instrument, ledger, load_aig, lot
from cpdi import api
from cpdi.engine.forms import cents, holder_forms
from cpdi.engine.reconciliation import (
    BOXES, CAUSES_OF, FORMS, ReconciliationLine, boxes_of, reconcile, tolerance_for,
)
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import BasisAllocationMethod, BrokerFigure, DailyPortionBasis, FilerType
from cpdi.readers import read_portfolio
from cpdi.readers.columns import BROKER_BOXES, column
from cpdi.readers.form_lines import load_form_mapping
from cpdi.writers.forms.reconciliation import COLUMNS, write_reconciliation_csv

MAPPING = load_form_mapping()
EXAMPLE = cpdi.example_path()

Z_NOTE = instrument("1996-12-31", [("1997-12-31", 500.0), ("1998-12-31", 660.0)], 10.0)
# a 5% note paying 50 a year, final 1,050 (contingent), issued at par
COUPON_NOTE = instrument("2020-01-01", [("2021-01-01", 50.0, "fixed"), ("2022-01-01", 50.0, "fixed"),
                                        ("2023-01-01", 1050.0)], 5.0)


def figure(form: str, box: str, amount: float, year: int, lot_id: str | None = None,
           holder: str = "H1", note: str = "NOTE") -> BrokerFigure:
    return BrokerFigure(holder, note, year, form, box, amount, lot_id)


def reconciled(ledgers, figures, year: int, instruments=()) -> tuple[ReconciliationLine, ...]:
    """Reconcile ``figures`` against the ledgers, the forms built as ``cpdi forms`` builds them."""
    holders = dict.fromkeys(l.lot.holder_id for l in ledgers)
    forms = {h: holder_forms(h, FilerType.INDIVIDUAL, year, ledgers, {}, MAPPING) for h in holders}
    schedules = {inst.instrument_id: AccrualSchedule(inst) for inst in instruments}
    return reconcile(figures, forms, ledgers, year, schedules)


def one(ledgers, fig: BrokerFigure, instruments=()) -> ReconciliationLine:
    (line,) = reconciled(ledgers, [fig], fig.tax_year, instruments)
    return line


def names(line: ReconciliationLine) -> list[str]:
    return [c.name for c in line.causes]


def amount_of(line: ReconciliationLine, name: str) -> float:
    return next(c.amount for c in line.causes if c.name == name)


def example_2():
    return ledger(Z_NOTE, lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=630.0),
                  {"1997-12-31": 375.0})


def example_3():
    return ledger(Z_NOTE, lot("1996-12-31", 1000.0), {"1997-12-31": 375.0, "1998-12-31": 615.0})


# --- agreement and rounding ----------------------------------------------------------------------


def test_a_figure_that_agrees_is_explained_without_a_cause():
    l3 = example_3()
    line = one([l3], figure("1099-B", "1d", 660.0, 1998, "L1"), [Z_NOTE])
    assert (line.cpdi_amount, line.difference) == (pytest.approx(660.0), pytest.approx(0.0, abs=1e-9))
    assert line.explained and line.causes == () and line.explanation == "Agrees with cpdi's figure."


def test_rounding_up_to_a_cent_a_lot_and_a_cent_is_explained_as_rounding():
    aig = load_aig()
    l1 = ledger(aig, lot("2007-07-20", 250000.0, 250000.0, instrument_id=aig.instrument_id), through=2007)
    cpdi_interest = l1.years[0].interest_income  # 6,083.152…
    line = one([l1], figure("1099-OID", "1", cents(cpdi_interest) + 0.01, 2007, note=aig.instrument_id), [aig])
    assert line.explained and names(line) == ["rounding"]
    assert line.tolerance == pytest.approx(0.02)
    assert "rounding" in line.explanation and "$0.01" in line.explanation
    beyond = one([l1], figure("1099-OID", "1", cpdi_interest + 0.025, 2007, note=aig.instrument_id), [aig])
    assert not beyond.explained


def test_the_tolerance_grows_with_the_lots_in_the_figure():
    assert tolerance_for(1) == pytest.approx(0.02)
    assert tolerance_for(3) == pytest.approx(0.04)
    a = ledger(COUPON_NOTE, lot("2020-01-01", 1000.0, lot_id="A"), through=2021)
    b = ledger(COUPON_NOTE, lot("2020-01-01", 1000.0, lot_id="B"), through=2021)
    total = a.years[1].interest_income + b.years[1].interest_income
    line = one([a, b], figure("1099-OID", "1", total + 0.029, 2021), [COUPON_NOTE])
    assert line.lots == 2 and line.tolerance == pytest.approx(0.03) and line.explained
    assert not one([a, b], figure("1099-OID", "1", total + 0.035, 2021), [COUPON_NOTE]).explained


# --- each known cause, by hand -------------------------------------------------------------------


def test_allocation_a_broker_does_not_make_on_interest():
    """Bought on 1 March 2021 for $990 when the AIP is 1,000 + 50 × 58/365 = $1,007.95: the
    $17.95 discount goes straight-line over the 672 days left, 306 of them in 2021 (b)(9)(i).
    A broker without the allocation reports the interest less those 306/672 of it."""
    bought = lot("2021-03-01", 990.0, method=BasisAllocationMethod.STRAIGHT_LINE)
    l1 = ledger(COUPON_NOTE, bought, through=2021)
    row = l1.years[0]
    discount = 1000.0 + 50.0 * 58 / 365 - 990.0
    assert row.allocation_adjustments == pytest.approx(discount * 306 / 672)
    line = one([l1], figure("1099-OID", "1", cents(row.interest_accrued), 2021), [COUPON_NOTE])
    assert line.explained and names(line) == ["allocation"]
    assert amount_of(line, "allocation") == pytest.approx(-discount * 306 / 672)
    assert "(b)(9)(i)" in line.explanation and f"-${discount * 306 / 672:,.2f}" in line.explanation


def test_allocation_left_out_of_the_basis_and_reported_as_market_discount():
    """Sold in 2022: the broker's basis without the (b)(9)(i) allocations to date, and a 1099-B
    box 1f that reports them as accrued market discount ((b)(9)(i)(D): that rule does not apply)."""
    bought = lot("2021-03-01", 990.0, method=BasisAllocationMethod.STRAIGHT_LINE, sold="2022-07-01",
                 proceeds=1010.0)
    l1 = ledger(COUPON_NOTE, bought, through=2022)
    allocated = sum(r.allocation_adjustments for r in l1.years)
    basis = l1.years[-1].adjusted_basis_end
    line = one([l1], figure("1099-B", "1e", basis - allocated, 2022, "L1"), [COUPON_NOTE])
    assert line.explained and names(line) == ["allocation"]
    assert amount_of(line, "allocation") == pytest.approx(-allocated)
    discount = one([l1], figure("1099-B", "1f", allocated, 2022, "L1"), [COUPON_NOTE])
    assert discount.cpdi_amount == 0.0 and discount.explained and names(discount) == ["allocation"]
    assert "(b)(9)(i)(D)" in discount.explanation


def test_premium_reported_as_acquisition_premium():
    """Bought above the AIP: the year's negative (b)(9)(i) allocation, reported by the broker as
    acquisition premium (1099-OID box 6); cpdi's own figure is 0 ((b)(9)(i)(D))."""
    l1 = ledger(COUPON_NOTE, lot("2021-03-01", 1030.0, method=BasisAllocationMethod.STRAIGHT_LINE),
                through=2021)
    premium = -l1.years[0].allocation_adjustments
    assert premium > 0
    line = one([l1], figure("1099-OID", "6", cents(premium), 2021), [COUPON_NOTE])
    assert line.cpdi_amount == 0.0 and line.explained and names(line) == ["allocation"]


def test_projected_vs_actual_at_maturity_on_proceeds():
    """(b)(7)(vi) Example 3: cpdi's Form 8949 proceeds are the projected $660 (b)(7)(iv); a
    broker printing the $615 actually paid is $45 lower."""
    line = one([example_3()], figure("1099-B", "1d", 615.0, 1998, "L1"), [Z_NOTE])
    assert line.cpdi_amount == pytest.approx(660.0)
    assert line.explained and names(line) == ["projected_vs_actual"]
    assert amount_of(line, "projected_vs_actual") == pytest.approx(-45.0)
    assert "(b)(7)(iv)" in line.explanation and "-$45.00" in line.explanation


def test_projected_vs_actual_at_maturity_on_interest():
    """Example 3's 1998: accrual $60; without the $45 shortfall only the $25 carryforward
    nets, so a broker leaving out the final payment's adjustment reports $35 of interest."""
    l3 = example_3()
    assert l3.years[-1].interest_income == pytest.approx(0.0)
    line = one([l3], figure("1099-OID", "1", 35.0, 1998), [Z_NOTE])
    assert line.explained and names(line) == ["projected_vs_actual"]
    assert amount_of(line, "projected_vs_actual") == pytest.approx(35.0)


def test_carryforward_not_applied_to_the_interest():
    """Example 3's 1998 without the $25 carryforward from 1997: $60 − $45 = $15 of interest."""
    line = one([example_3()], figure("1099-OID", "1", 15.0, 1998), [Z_NOTE])
    assert line.explained and names(line) == ["carryforward"]
    assert amount_of(line, "carryforward") == pytest.approx(15.0)
    assert "(b)(6)(iii)(C)" in line.explanation


def test_carryforward_that_reduced_the_amount_realized():
    """(b)(7)(vi) Example 2: sold for $630 with a $25 carryforward; a broker printing the amount
    realized, $605, as proceeds is $25 lower."""
    line = one([example_2()], figure("1099-B", "1d", 605.0, 1998, "L1"), [Z_NOTE])
    assert line.cpdi_amount == pytest.approx(630.0)
    assert line.explained and names(line) == ["carryforward"]
    assert amount_of(line, "carryforward") == pytest.approx(-25.0)


def test_the_disposition_gain_is_not_box_1_interest():
    """Example 2's $5 gain is interest (b)(8)(i), but on the 1099-B: cpdi's box 1 for 1998 is 0,
    and a broker that puts the gain there is explained."""
    line = one([example_2()], figure("1099-OID", "1", 5.0, 1998), [Z_NOTE])
    assert line.cpdi_amount == pytest.approx(0.0)
    assert line.explained and names(line) == ["disposition_gain"]
    assert "(b)(8)(i)" in line.explanation


def test_original_cost_instead_of_the_adjusted_basis():
    """Example 2: basis $1,000 + $100 accrued − $500 projected = $600 (b)(7)(iii); the broker's
    $1,000 is the original cost."""
    line = one([example_2()], figure("1099-B", "1e", 1000.0, 1998, "L1"), [Z_NOTE])
    assert line.cpdi_amount == pytest.approx(600.0)
    assert line.explained and names(line) == ["original_cost"]
    assert amount_of(line, "original_cost") == pytest.approx(400.0)
    assert "(b)(7)(iii)" in line.explanation


def test_issuer_table_day_count_instead_of_calendar_days():
    """AIG from issue, 2007: cpdi spreads the first period's $27.30 per 1,000 over calendar
    days (164/184 of it); the issuer's table, and a broker following it, by 30/360 days
    (161/180).  On $250,000 the broker's figure is 250 × 27.30 × (161/180 − 164/184) higher."""
    aig = load_aig()
    l1 = ledger(aig, lot("2007-07-20", 250000.0, 250000.0, instrument_id=aig.instrument_id), through=2007)
    by_day_count = 250 * 27.30 * 161 / 180
    line = one([l1], figure("1099-OID", "1", round(by_day_count, 2), 2007, note=aig.instrument_id), [aig])
    assert line.cpdi_amount == pytest.approx(250 * 27.30 * 164 / 184)
    assert line.explained and names(line) == ["issuer_table"]
    assert amount_of(line, "issuer_table") == pytest.approx(250 * 27.30 * (161 / 180 - 164 / 184))
    assert "day count" in line.explanation and "method §3" in line.explanation


def test_issuer_table_calendar_days_when_the_instrument_uses_the_day_count():
    """The other way round: the instrument follows the issuer's 30/360 table (method §3) and a
    broker gives every day the same portion."""
    aig = replace(load_aig(), daily_portion_basis=DailyPortionBasis.DAY_COUNT)
    l1 = ledger(aig, lot("2007-07-20", 250000.0, 250000.0, instrument_id=aig.instrument_id), through=2007)
    line = one([l1], figure("1099-OID", "1", round(250 * 27.30 * 164 / 184, 2), 2007,
                            note=aig.instrument_id), [aig])
    assert line.explained and names(line) == ["issuer_table"]
    assert "the broker gives every day of a period the same portion" in line.explanation
    assert "cpdi follows the issuer's table" in line.explanation


def test_two_causes_together_add_up():
    """Bought in 2008 at a discount: a broker on the issuer's 30/360 table that makes no
    (b)(9)(i) allocation — computed here independently, as a lot bought at the AIP under the
    day-count basis — is explained by both causes, whose amounts add up to the difference."""
    aig = load_aig()
    acquired = date(2008, 3, 1)
    bought = lot("2008-03-01", 95000.0, 100000.0, instrument_id=aig.instrument_id)
    l1 = ledger(aig, bought, through=2008)
    by_day_count = replace(aig, daily_portion_basis=DailyPortionBasis.DAY_COUNT)
    at_aip = replace(bought, cost_basis=AccrualSchedule(by_day_count).adjusted_issue_price(acquired) * 100)
    broker = ledger(by_day_count, at_aip, through=2008).years[0].interest_income
    line = one([l1], figure("1099-OID", "1", round(broker, 2), 2008, note=aig.instrument_id), [aig])
    assert line.explained and names(line) == ["issuer_table", "allocation"]
    assert sum(c.amount for c in line.causes) == pytest.approx(line.difference, abs=0.01)
    assert "; and " in line.explanation


def test_payments_reported_as_stated_interest():
    """1099-OID box 2: no payment is stated interest under the noncontingent bond method, so
    cpdi's figure is 0; the broker's $50 coupon is explained as the payment received."""
    l1 = ledger(COUPON_NOTE, lot("2020-01-01", 1000.0), through=2021)
    line = one([l1], figure("1099-OID", "2", 50.0, 2021), [COUPON_NOTE])
    assert line.cpdi_amount == 0.0 and line.explained and names(line) == ["payments_as_interest"]
    assert amount_of(line, "payments_as_interest") == pytest.approx(50.0)


def test_accrual_without_the_adjustments():
    """A year with a payment adjustment and nothing else: a broker printing the accrual at the
    comparable yield without it."""
    note = instrument("2020-01-01", [("2021-01-01", 50.0), ("2022-01-01", 1050.0)], 5.0)
    l1 = ledger(note, lot("2020-01-01", 1000.0), {"2021-01-01": 80.0}, through=2021)
    row = l1.years[1]
    assert row.interest_income == pytest.approx(row.interest_accrued + 30.0)
    line = one([l1], figure("1099-OID", "1", cents(row.interest_accrued), 2021), [note])
    assert line.explained and names(line) == ["adjustments"]
    assert amount_of(line, "adjustments") == pytest.approx(-30.0)


# --- flagged lines -------------------------------------------------------------------------------


def test_an_unexplained_difference_is_flagged_with_what_to_check():
    line = one([example_3()], figure("1099-B", "1d", 777.0, 1998, "L1"), [Z_NOTE])
    assert not line.explained and line.causes == ()
    assert line.difference == pytest.approx(117.0)
    assert line.explanation.startswith("Not explained: the broker's figure is $117.00 higher")
    assert "projected vs actual -$45.00" in line.explanation  # what was tried
    assert "Check the broker's figure" in line.explanation and "payments.csv" in line.explanation


def test_a_sale_cpdi_does_not_have_in_the_year_is_flagged():
    l3 = example_3()
    line = one([l3], figure("1099-B", "1d", 660.0, 1997, "L1"), [Z_NOTE])
    assert not line.explained and "no disposition of lot L1 in 1997" in line.explanation
    nothing = one([l3], figure("1099-OID", "1", 10.0, 1997, holder="H2"), [Z_NOTE])
    assert not nothing.explained
    assert nothing.explanation.startswith("Not explained: cpdi has no lot of H2 in NOTE held in 1997.")


def test_a_wash_sale_figure_is_flagged():
    line = one([example_2()], figure("1099-B", "1g", 12.0, 1998, "L1"), [Z_NOTE])
    assert not line.explained and "section 1091" in line.explanation and "code W" in line.explanation


# --- order and scope -----------------------------------------------------------------------------


def test_lines_in_holder_then_note_form_box_lot_order_and_only_the_year():
    a = ledger(COUPON_NOTE, lot("2020-01-01", 1000.0, lot_id="A"), through=2021)
    b = ledger(COUPON_NOTE, replace(lot("2020-01-01", 1000.0, lot_id="B"), holder_id="H0"), through=2021)
    figures = [
        figure("1099-B", "1e", 1.0, 2021, "A"), figure("1099-INT", "1", 1.0, 2021),
        figure("1099-OID", "2", 1.0, 2021), figure("1099-OID", "1", 1.0, 2021),
        figure("1099-OID", "1", 1.0, 2021, holder="H0"), figure("1099-OID", "1", 1.0, 2020),
    ]
    holders = {"H1": holder_forms("H1", FilerType.INDIVIDUAL, 2021, [a], {}, MAPPING),
               "H0": holder_forms("H0", FilerType.INDIVIDUAL, 2021, [b], {}, MAPPING)}
    lines = reconcile(figures, holders, [a, b], 2021, {"NOTE": AccrualSchedule(COUPON_NOTE)})
    assert [(l.holder_id, l.form, l.box) for l in lines] == [
        ("H1", "1099-OID", "1"), ("H1", "1099-OID", "2"), ("H1", "1099-INT", "1"),
        ("H1", "1099-B", "1e"), ("H0", "1099-OID", "1")]
    assert reconcile(figures, holders, [a, b], 2019, {}) == ()


def test_a_lot_figure_covers_that_lot_only():
    a = ledger(COUPON_NOTE, lot("2020-01-01", 1000.0, lot_id="A"), through=2021)
    b = ledger(COUPON_NOTE, lot("2020-01-01", 3000.0, principal=3000.0, lot_id="B"), through=2021)
    line = one([a, b], figure("1099-OID", "1", cents(b.years[1].interest_income), 2021, "B"),
               [COUPON_NOTE])
    assert line.lots == 1 and line.explained and line.lot_id == "B"


def test_the_box_table_is_the_input_contract():
    assert FORMS == column("broker_1099", "form").choices
    assert BROKER_BOXES == {form: boxes_of(form) for form in FORMS}
    assert set(BOXES.values()) == set(CAUSES_OF)


# --- the file ------------------------------------------------------------------------------------


def test_reconciliation_csv_columns_cents_and_safe_text(tmp_path):
    lines = (
        ReconciliationLine("123-45-6789", "=HYPERLINK(1)", "1099-B", "1d", 615.0, 660.004, -45.004,
                           "Not explained: see 123456789.", False, lot_id="L1"),
        ReconciliationLine("H2", "NOTE", "1099-OID", "1", 10.0, 10.001, -0.001, "Agrees with cpdi's figure.",
                           True),
    )
    target = tmp_path / "reconciliation_1998.csv"
    assert write_reconciliation_csv(lines, target, {"123-45-6789": "123-45-6789"}) == 2
    with target.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert tuple(rows[0]) == COLUMNS
    assert rows[0][:8] == ["holder_id", "instrument_id", "form", "box", "broker_amount",
                           "cpdi_amount", "difference", "explanation"]
    first, second = rows[1], rows[2]
    assert first[4:7] == ["615.00", "660.00", "-45.00"]
    assert "6789" in first[0] and "123-45-6789" not in first[0] and "123456789" not in first[7]
    assert first[1].startswith("'=")
    assert (first[8], first[9]) == ("L1", "no")
    assert (second[6], second[8], second[9]) == ("0.00", "", "yes")
    assert not list(tmp_path.glob(".*.part"))


# --- the bundled example -------------------------------------------------------------------------


def test_the_example_reconciles_agreeing_and_explained_figures_and_flags_a_stray_one():
    """The bundled example's figures all agree or are explained (so `cpdi forms` on it exits 0);
    a broker figure $50 above cpdi's, for no cause cpdi knows, is flagged."""
    from dataclasses import replace

    portfolio = api.load_example()
    assert portfolio.problems == () and len(portfolio.broker_1099) == 6
    stray = replace(portfolio.broker_1099[-1], holder_id="H-1002", instrument_id="US00EQLN2029",
                    form="1099-OID", box="1", amount=1895.28, lot_id=None)
    result = api.compute(portfolio, 2025)
    forms = api.forms(portfolio, 2025, result)
    schedules = {iid: book.schedule for iid, book in result.books.items()}
    assert all(l.explained for l in reconcile(portfolio.broker_1099, forms, result.ledgers, 2025, schedules))
    lines = reconcile(portfolio.broker_1099 + (stray,), forms, result.ledgers, 2025, schedules)
    assert len(lines) == 7
    kinds = {(l.holder_id, l.instrument_id, l.form, l.box, l.lot_id): l for l in lines}
    assert names(kinds[("H-1001", "02687QCD8", "1099-OID", "1", "")]) == ["issuer_table"]
    assert names(kinds[("H-1002", "02687QCD8", "1099-B", "1e", "L-0003")]) == ["original_cost"]
    assert names(kinds[("H-1004", "US00EQLN2029", "1099-OID", "1", "")]) == ["allocation"]
    assert names(kinds[("H-1001", "02687QCD8", "1099-OID", "2", "")]) == ["payments_as_interest"]
    flagged = [l for l in lines if not l.explained]
    assert [(l.holder_id, l.instrument_id) for l in flagged] == [("H-1002", "US00EQLN2029")]
    assert sum(1 for l in lines if l.explained and not l.causes) == 2  # agree to the cent


# --- reading broker_1099 -------------------------------------------------------------------------

HEADER = "holder_id,instrument_id,tax_year,form,box,amount,lot_id\n"


def with_broker_rows(tmp_path: Path, rows: str, holders: bool = True) -> Path:
    folder = tmp_path / "input"
    shutil.copytree(EXAMPLE, folder)
    if not holders:
        (folder / "holders.csv").unlink()
    (folder / "broker_1099.csv").write_text(HEADER + rows, encoding="utf-8")
    return folder


BAD_ROWS = [
    # (row text, column, words of the message)
    ("H-9999,02687QCD8,2025,1099-OID,1,1.00,", "holder_id", "holder H-9999 is not in holders.csv"),
    ("H-1001,NOPE,2025,1099-OID,1,1.00,", "instrument_id", "instrument NOPE is not in instruments.csv"),
    ("H-1001,US00RANGE2032,2025,1099-OID,1,1.00,", "instrument_id",
     "holder H-1001 has no lot of US00RANGE2032 in lots.csv"),
    ("H-1002,02687QCD8,2025,1099-B,1d,1.00,L-9999", "lot_id", "lot L-9999 is not in lots.csv"),
    ("H-1001,02687QCD8,2025,1099-B,1d,1.00,L-0003", "lot_id", "lot L-0003 is holder H-1002's"),
    ("H-1002,US00EQLN2029,2025,1099-B,1d,1.00,L-0003", "lot_id", "lot L-0003 is a lot of 02687QCD8"),
    ("H-1002,02687QCD8,2025,1099-OID,1d,1.00,", "box", "Form 1099-OID has no box 1d"),
    ("H-1002,02687QCD8,2025,1099-INT,2,1.00,", "box", "Form 1099-INT has no box 2"),
    ("H-1002,02687QCD8,2025,1099-B,1d,1.00,", "lot_id", "a Form 1099-B figure needs the lot"),
    ("H-1002,02687QCD8,2025,1099-DIV,1,1.00,", "form", "form must be 1099-OID, 1099-INT or 1099-B"),
    ("H-1002,02687QCD8,twenty,1099-OID,1,1.00,", "tax_year", "is not a whole number"),
    ("H-1002,02687QCD8,1850,1099-OID,1,1.00,", "tax_year", "1850 is not a tax year cpdi computes"),
    ("H-1002,02687QCD8,2025,1099-OID,1,-1.00,", "amount", "no negative amount"),
    ("H-1002,02687QCD8,2025,1099-OID,1,$1.00,", "amount", "has a currency sign"),
    ("H-1002,02687QCD8,2025,1099-OID,,1.00,", "box", "box is blank"),
    ("H-1002,02687QCD8,2025,1099-OID,1,,", "amount", "amount is blank"),
]


@pytest.mark.parametrize("text, column_name, words", BAD_ROWS, ids=[c[2] for c in BAD_ROWS])
def test_every_bad_broker_row_is_one_problem_naming_file_row_and_column(tmp_path, text, column_name, words):
    good = "H-1001,US00EQLN2029,2025,1099-OID,1,4613.19,\n"
    portfolio = read_portfolio(with_broker_rows(tmp_path, good + text + "\n"))
    (problem,) = portfolio.problems
    assert (problem.file, problem.row, problem.column) == ("broker_1099.csv", 3, column_name)
    assert words in problem.message
    assert problem.fix
    line = str(problem)
    assert "\n" not in line and line.startswith(f"broker_1099.csv row 3, column {column_name}")
    # the bad row is left out and stops nothing else: no holder, lot or note is named
    assert (problem.holder_id, problem.lot_id, problem.instrument_id) == (None, None, None)
    assert [f.row for f in portfolio.broker_1099] == [2]
    assert len(portfolio.lots) == 8 and not portfolio.rejected_lots


def test_a_holder_without_a_holders_file_must_have_lots(tmp_path):
    portfolio = read_portfolio(with_broker_rows(tmp_path, "H-9999,02687QCD8,2025,1099-OID,1,1.00,\n",
                                                holders=False))
    (problem,) = portfolio.problems
    assert (problem.column, problem.message) == ("holder_id", "holder H-9999 has no lot in lots.csv")


def test_the_same_figure_twice_leaves_both_out(tmp_path):
    rows = ("H-1001,US00EQLN2029,2025,1099-OID,1,4613.19,\n"
            "H-1001,02687QCD8,2025,1099-OID,1,357.52,\n"
            "H-1001,US00EQLN2029,2025,1099-oid,Box 1,4613.20,\n")
    portfolio = read_portfolio(with_broker_rows(tmp_path, rows))
    (problem,) = portfolio.problems
    assert (problem.row, problem.column) == (4, None)
    assert "appears on rows 2 and 4" in problem.message and "neither is reconciled" in problem.message
    assert [(f.instrument_id, f.box) for f in portfolio.broker_1099] == [("02687QCD8", "1")]


def test_spellings_of_form_and_box_are_read(tmp_path):
    rows = "H-1002,02687QCD8,2025,1099 b,Box 1E,\"47,125.50\",L-0003\n"
    (fig,) = read_portfolio(with_broker_rows(tmp_path, rows)).broker_1099
    assert (fig.form, fig.box, fig.amount, fig.lot_id, fig.tax_year) == ("1099-B", "1e", 47125.5, "L-0003", 2025)


def test_the_workbook_sheet_is_read(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for table in ("instruments", "schedule", "payments", "lots", "holders", "broker_1099"):
        sheet = book.create_sheet(table)
        with (EXAMPLE / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
            for record in csv.reader(handle):
                sheet.append(record)
    book["broker_1099"].append(["H-1004", "US00EQLN2029", 2025, "1099-OID", 2, 0, None])
    path = tmp_path / "book.xlsx"
    book.save(path)
    portfolio = read_portfolio(path)
    assert portfolio.problems == ()
    assert len(portfolio.broker_1099) == 7 and portfolio.broker_1099[-1].box == "2"

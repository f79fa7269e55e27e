"""Conversion into the issuer's stock (method §7; lots.csv ``disposition_kind`` ``conversion``).

A contingent convertible is a contingent payment debt instrument under the noncontingent bond
method (Rev. Rul. 2002-31), and its conversion is a disposition: the amount realized is the
stock's fair market value plus any cash, the gain is interest income (b)(8)(i), a loss is
ordinary up to the inclusions and capital beyond (b)(8)(ii), all capital when no contingent
payment remains (b)(8)(iii)(A).  The converting holder holds the conversion date (the issuer
retires the note; nobody else holds that day); the stock's basis is its fair market value and
its holding period begins the day after.

The note below is worked by hand: issued 31 December 2020 at 1,000 per 1,000, 10% compounded
annually (ACT/ACT, annual periods ending 31 December), projected payments 100, 100 and 1,100 —
so the adjusted issue price stays 1,000 and each period's interest is 100, a daily portion of
100/365 per 1,000 in 2021 and 2022.  A lot of 10,000 face bought at issue for 10,000 accrues
1,000 a year, 1000/365 a day.
"""

from __future__ import annotations

import csv
import random
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import cpdi
from builders import by_year, folder_with_lot, instrument, ledger, lot
from cpdi.cli import main
from cpdi.engine.forms import cents, holder_forms
from cpdi.engine.ledger import lot_ledger
from cpdi.engine.reconciliation import reconcile
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import BrokerFigure, DispositionKind, FilerType
from cpdi.readers import read_portfolio
from cpdi.readers.form_lines import load_form_mapping
from cpdi.writers.forms.form8949 import COLUMNS, write_form8949_csv
from test_ledger_properties import conservation_gap, random_case

MAPPING = load_form_mapping()
CODES = MAPPING.adjustment_codes
EXAMPLE = cpdi.example_path()

CONVERTIBLE = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 100.0),
                                        ("2023-12-31", 1100.0)], 10.0)
PAID = {"2021-12-31": 100.0, "2022-12-31": 100.0}
DAILY = 1000.0 / 365  # the lot's daily portion in 2021 and 2022
# the same note, its only contingent payment the first one: after 31 December 2021 none remains
FIXED_AFTER_2021 = instrument("2020-12-31", [("2021-12-31", 100.0), ("2022-12-31", 100.0, "fixed"),
                                             ("2023-12-31", 1100.0, "fixed")], 10.0)


def converted(on: str, stock: float, cash: float = 0.0, **changes):
    """The 10,000 lot bought at issue, converted on ``on`` into stock worth ``stock``."""
    return replace(lot("2020-12-31", 10000.0, principal=10000.0), disposition_date=date.fromisoformat(on),
                   proceeds=cash, disposition_kind=DispositionKind.CONVERSION,
                   stock_fair_market_value=stock, **changes)


def sold(on: str, proceeds: float):
    return lot("2020-12-31", 10000.0, principal=10000.0, sold=on, proceeds=proceeds)


# --- the ledger: amount realized and character ------------------------------------------------


def test_conversion_above_basis_the_gain_is_interest_income():
    """Converted on 30 June 2022 into stock worth 12,000: basis 10,000 + 181 days of 2022
    (1 January to 30 June, the day of conversion included) = 10,495.89; gain 1,504.11, all
    interest income (b)(8)(i)."""
    rows = by_year(ledger(CONVERTIBLE, converted("2022-06-30", 12000.0), PAID))
    row = rows[2022]
    basis = 10000.0 + 181 * DAILY
    assert row.days_held == 181
    assert row.adjusted_basis_end == pytest.approx(basis)
    assert (row.ending, row.disposition_date) == ("conversion", date(2022, 6, 30))
    assert row.consideration == row.amount_realized == pytest.approx(12000.0)
    assert row.stock_fair_market_value == 12000.0  # the stock's basis
    assert row.gain_loss == pytest.approx(12000.0 - basis)
    assert row.ordinary_income_on_disposition == pytest.approx(12000.0 - basis)
    assert row.capital_gain_on_disposition == row.capital_loss_on_disposition == 0.0


def test_conversion_with_cash_adds_the_cash_to_the_amount_realized():
    """Stock worth 10,400 and 150 of cash in lieu of a fractional share: 10,550 realized."""
    row = by_year(ledger(CONVERTIBLE, converted("2022-06-30", 10400.0, cash=150.0), PAID))[2022]
    assert row.consideration == row.amount_realized == pytest.approx(10550.0)
    assert row.stock_fair_market_value == 10400.0
    assert row.gain_loss == pytest.approx(10550.0 - (10000.0 + 181 * DAILY))


@pytest.mark.parametrize("cash", [0.0, 200.0], ids=["stock only", "stock and cash"])
def test_conversion_below_basis_ordinary_up_to_inclusions_then_capital(cash):
    """Stock worth 8,000 (+ cash): the loss against a basis of 10,495.89 is ordinary up to the
    inclusions — 1,000 of 2021 and 495.89 of 2022 — and capital beyond (b)(8)(ii)."""
    rows = by_year(ledger(CONVERTIBLE, converted("2022-06-30", 8000.0, cash=cash), PAID))
    row = rows[2022]
    inclusions = rows[2021].interest_income + row.interest_income
    assert inclusions == pytest.approx(1000.0 + 181 * DAILY)
    loss = 10000.0 + 181 * DAILY - 8000.0 - cash
    assert -row.gain_loss == pytest.approx(loss)
    assert row.ordinary_loss_on_disposition == pytest.approx(inclusions)
    assert row.capital_loss_on_disposition == pytest.approx(loss - inclusions)
    assert row.ordinary_income_on_disposition == row.capital_gain_on_disposition == 0.0


def test_small_loss_is_all_ordinary():
    row = by_year(ledger(CONVERTIBLE, converted("2022-06-30", 10000.0), PAID))[2022]
    assert row.ordinary_loss_on_disposition == pytest.approx(181 * DAILY)
    assert row.capital_loss_on_disposition == 0.0


@pytest.mark.parametrize("stock, gain", [(12000.0, True), (8000.0, False)], ids=["gain", "loss"])
def test_no_contingent_payment_left_makes_it_capital(stock, gain):
    """(b)(8)(iii)(A): converted on 30 June 2022, when the projected schedule has no contingent
    payment left, the whole gain or loss is capital."""
    row = by_year(ledger(FIXED_AFTER_2021, converted("2022-06-30", stock), {"2021-12-31": 100.0}))[2022]
    assert row.ordinary_income_on_disposition == row.ordinary_loss_on_disposition == 0.0
    assert (row.gain_loss > 0) is gain
    assert row.capital_gain_on_disposition == pytest.approx(max(row.gain_loss, 0.0))
    assert row.capital_loss_on_disposition == pytest.approx(max(-row.gain_loss, 0.0))


# --- the day of conversion ----------------------------------------------------------------------


def test_the_converter_holds_the_conversion_date_and_its_payment():
    """Converted on 31 December 2021, a payment date: the holder holds that day (365 days of
    2021), accrues it, and gets the payment due on it (its projection reduces the basis).  A sale
    settling that day leaves the day and the payment to the buyer (method §4)."""
    conversion = by_year(ledger(CONVERTIBLE, converted("2021-12-31", 10500.0), PAID))[2021]
    sale = by_year(ledger(CONVERTIBLE, sold("2021-12-31", 10500.0), PAID))[2021]
    assert conversion.days_held == 365 and sale.days_held == 364
    assert conversion.interest_accrued == pytest.approx(1000.0)
    assert sale.interest_accrued == pytest.approx(364 * DAILY)
    assert conversion.actual_payments_received == pytest.approx(1000.0)
    assert sale.actual_payments_received == 0.0
    assert conversion.adjusted_basis_end == pytest.approx(10000.0)  # + 1,000 accrued − 1,000 projected
    assert conversion.gain_loss == pytest.approx(500.0)


def test_a_payment_above_its_projection_on_the_conversion_date_is_an_adjustment_of_the_converter():
    row = by_year(ledger(CONVERTIBLE, converted("2021-12-31", 10000.0), {"2021-12-31": 130.0}))[2021]
    assert row.positive_adjustments == pytest.approx(300.0)
    assert row.interest_income == pytest.approx(1300.0)


# --- conservation -------------------------------------------------------------------------------


def closed_gap(result) -> float:
    """income − losses − (cash received + stock value + cash on conversion − cost)."""
    rows = result.years
    last = rows[-1]
    income = sum(r.interest_income - r.ordinary_loss for r in rows)
    income += (last.ordinary_income_on_disposition - last.ordinary_loss_on_disposition
               - last.capital_loss_on_disposition + last.capital_gain_on_disposition)
    cash = sum(r.actual_payments_received for r in rows)
    return income - (cash + last.stock_fair_market_value + (result.lot.proceeds or 0.0)
                     - result.lot.cost_basis)


@pytest.mark.parametrize("on, stock, cash", [
    ("2022-06-30", 12000.0, 0.0), ("2022-06-30", 8000.0, 200.0), ("2021-12-31", 10500.0, 0.0),
    ("2023-03-01", 9000.0, 1.25),
])
def test_conservation_on_a_converted_lot(on, stock, cash):
    result = ledger(CONVERTIBLE, converted(on, stock, cash), {**PAID, "2022-12-31": 40.0})
    assert closed_gap(result) == pytest.approx(0.0, abs=1e-6)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_conservation_on_random_conversions(seed):
    """Random notes and lots (tests/test_ledger_properties.py), each sold lot converted instead,
    before maturity, into stock worth a random share of its proceeds plus some cash: income −
    losses = cash received + stock value + cash − cost, whatever the character."""
    schedule, a_lot, actuals = random_case(seed, sale_probability=1.0)
    if a_lot.disposition_date is None or a_lot.disposition_date >= schedule.instrument.maturity_date:
        return
    rng = random.Random(seed)
    stock = a_lot.proceeds * rng.uniform(0.0, 1.3)
    cash = rng.choice((0.0, a_lot.proceeds * 0.01))
    a_lot = replace(a_lot, disposition_kind=DispositionKind.CONVERSION, stock_fair_market_value=stock,
                    proceeds=cash)
    result = lot_ledger(schedule, a_lot, actuals, 2100)
    assert result.years[-1].ending == "conversion"
    assert conservation_gap(result) == pytest.approx(0.0, abs=1e-6 * max(1.0, a_lot.cost_basis))
    assert closed_gap(result) == pytest.approx(0.0, abs=1e-6 * max(1.0, a_lot.cost_basis))


# --- Form 8949 ----------------------------------------------------------------------------------


def forms_of(result, year: int, broker=None):
    return holder_forms("H1", FilerType.INDIVIDUAL, year, [result], {"NOTE": "Convertible Note"},
                        MAPPING, broker)


def test_form8949_line_of_a_conversion_with_the_stock_basis_and_holding_period():
    result = ledger(CONVERTIBLE, converted("2022-06-30", 12000.0, cash=7.5), PAID)
    (line,) = forms_of(result, 2022).form8949
    row = result.years[-1]
    assert line.ending == "conversion"
    assert line.proceeds == pytest.approx(12007.5)  # (d): stock value + cash
    assert line.cost_basis == pytest.approx(row.adjusted_basis_end)
    assert line.gain_loss == 0.0  # (h): the gain is interest, taken out in (g) with code O
    assert line.adjustment_code == "O"
    assert line.ordinary_amount == pytest.approx(row.ordinary_income_on_disposition)
    assert line.stock_basis == 12000.0
    assert line.stock_holding_period_begins == date(2022, 7, 1)
    assert (line.date_acquired, line.date_sold, line.term.value) == (
        date(2020, 12, 31), date(2022, 6, 30), "long")


def test_other_lines_have_no_stock():
    (line,) = forms_of(ledger(CONVERTIBLE, sold("2022-06-30", 10600.0), PAID), 2022).form8949
    assert line.stock_basis is None and line.stock_holding_period_begins is None


def test_form8949_csv_ends_with_the_stock_columns(tmp_path):
    conv = ledger(CONVERTIBLE, converted("2022-06-30", 8000.0, cash=200.0), PAID)
    sale = ledger(CONVERTIBLE, replace(sold("2022-06-30", 10600.0), lot_id="L2"), PAID)
    forms = holder_forms("H1", FilerType.INDIVIDUAL, 2022, [conv, sale], {}, MAPPING)
    target = tmp_path / "form8949_2022.csv"
    assert write_form8949_csv([forms], target) == 2
    with target.open(newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    assert COLUMNS[-2:] == ("stock_basis", "stock_holding_period_begins")
    assert list(table[0]) == list(COLUMNS)
    by_lot = {r["lot_id"]: r for r in table}
    assert (by_lot["L1"]["ending"], by_lot["L1"]["proceeds"], by_lot["L1"]["stock_basis"],
            by_lot["L1"]["stock_holding_period_begins"]) == ("conversion", "8200.00", "8000.00",
                                                             "2022-07-01")
    assert (by_lot["L2"]["stock_basis"], by_lot["L2"]["stock_holding_period_begins"]) == ("", "")
    row = conv.years[-1]
    assert by_lot["L1"]["gain_loss"] == f"{-cents(row.capital_loss_on_disposition):.2f}"


# --- the broker's 1099-B ------------------------------------------------------------------------


def test_broker_proceeds_of_stock_value_plus_cash_agree_and_cash_only_is_explained():
    result = ledger(CONVERTIBLE, converted("2022-06-30", 12000.0, cash=7.5), PAID)
    forms = {"H1": forms_of(result, 2022)}
    figures = [BrokerFigure("H1", "NOTE", 2022, "1099-B", "1d", 12007.5, "L1"),
               BrokerFigure("H1", "NOTE", 2022, "1099-B", "1d", 7.5, "L1")]
    agree, cash_only = (reconcile([f], forms, [result], 2022, {"NOTE": AccrualSchedule(CONVERTIBLE)})[0]
                        for f in figures)
    assert agree.explained and not agree.causes
    assert cash_only.explained
    assert [c.name for c in cash_only.causes] == ["stock_value"]
    assert cash_only.causes[0].amount == pytest.approx(-12000.0)
    assert "only the cash received on the conversion" in cash_only.explanation


# --- reader errors -------------------------------------------------------------------------------

EXTRA = ("disposition_kind", "stock_fair_market_value", "acquisition_trade_date",
         "disposition_trade_date")


def example_with(tmp_path: Path, lot_id: str, **cells: str) -> Path:
    """The bundled example with the new columns, the cells of one lot changed."""
    return folder_with_lot(EXAMPLE, tmp_path, lot_id, EXTRA, **cells)


def problems_of(folder: Path, lot_id: str) -> list:
    portfolio = read_portfolio(folder)
    assert lot_id in portfolio.rejected_lots
    return list(portfolio.rejected_lots[lot_id])


# L-0002: 100,000 of US00EQLN2029 (matures 2029-03-15), held; L-0003: 50,000 of 02687QCD8 bought
# 2019-07-01, sold 2025-09-15 for 48,900; L-0007: bought 2016-03-01, sold 2024-01-20.
@pytest.mark.parametrize("lot_id, cells, column, fragment, fix", [
    ("L-0002", dict(disposition_kind="conversion"), "disposition_date",
     "disposition_kind is conversion but disposition_date is blank", "enter the conversion date"),
    ("L-0003", dict(disposition_kind="conversion"), "stock_fair_market_value",
     "a conversion needs the fair market value of the stock received", "0 if it was worthless"),
    ("L-0003", dict(stock_fair_market_value="51000"), "stock_fair_market_value",
     "the lot is not converted (disposition_kind sale)", "set disposition_kind to conversion"),
    ("L-0003", dict(disposition_kind="sale", stock_fair_market_value="51000"),
     "stock_fair_market_value", "the lot is not converted", "clear stock_fair_market_value"),
    ("L-0002", dict(stock_fair_market_value="51000"), "stock_fair_market_value",
     "the lot is not converted", "clear stock_fair_market_value"),
    ("L-0003", dict(disposition_kind="conversion", stock_fair_market_value="-1"),
     "stock_fair_market_value", "cannot be negative", "0 or more"),
    ("L-0003", dict(disposition_kind="conversion", stock_fair_market_value="98.5"),
     "stock_fair_market_value", "looks like a price per 100 of face", "49,250.00"),
    ("L-0002", dict(disposition_kind="conversion", disposition_date="2029-03-15", proceeds="0",
                    stock_fair_market_value="120000"), "disposition_date",
     "a conversion on the maturity date 2029-03-15", "before maturity"),
    ("L-0002", dict(disposition_kind="conversion", disposition_date="2029-03-16", proceeds="0",
                    stock_fair_market_value="120000"), "disposition_date",
     "after the maturity date", "leave it blank"),
    ("L-0003", dict(disposition_kind="conversion", stock_fair_market_value="51000", proceeds=""),
     "proceeds", "disposition_date is given but proceeds are blank",
     "enter the cash received on the conversion, 0 if none"),
    ("L-0003", dict(disposition_kind="conversion", stock_fair_market_value="51000",
                    disposition_trade_date="2025-09-12"), "disposition_trade_date",
     "a conversion has no trade date", "clear disposition_trade_date"),
    ("L-0003", dict(acquisition_trade_date="2019-07-02"), "acquisition_trade_date",
     "the purchase's trade date is after its settlement date", "on or before acquisition_date"),
    ("L-0003", dict(acquisition_trade_date="2019-05-01"), "acquisition_trade_date",
     "61 days before its settlement date", "check the trade date"),
    ("L-0003", dict(disposition_trade_date="2025-09-16"), "disposition_trade_date",
     "the sale's trade date is after its settlement date", "on or before disposition_date"),
    ("L-0003", dict(disposition_trade_date="2025-07-01"), "disposition_trade_date",
     "76 days before its settlement date", "check the trade date"),
    ("L-0002", dict(disposition_trade_date="2025-07-01"), "disposition_trade_date",
     "disposition_trade_date is given but disposition_date is blank", "clear disposition_trade_date"),
    ("L-0003", dict(acquisition_trade_date="2019-06-28", disposition_date="2019-07-02",
                    disposition_trade_date="2019-06-27"), "disposition_trade_date",
     "the sale was traded before the purchase (acquisition_trade_date 2019-06-28)",
     "check the trade dates"),
])
def test_bad_conversion_and_trade_date_inputs_are_named_with_a_fix(tmp_path, lot_id, cells, column,
                                                                   fragment, fix):
    found = [p for p in problems_of(example_with(tmp_path, lot_id, **cells), lot_id)
             if p.column == column]
    assert found, problems_of(example_with(tmp_path / "again", lot_id, **cells), lot_id)
    assert any(fragment in p.message and fix in p.fix for p in found), [
        (p.message, p.fix) for p in found]


def test_a_conversion_with_cash_of_a_few_dollars_is_not_a_price_slip(tmp_path):
    folder = example_with(tmp_path, "L-0003", disposition_kind="conversion", proceeds="12.50",
                          stock_fair_market_value="51000")
    portfolio = read_portfolio(folder)
    assert portfolio.ok, portfolio.problems
    (a_lot,) = [x for x in portfolio.lots if x.lot_id == "L-0003"]
    assert (a_lot.disposition_kind, a_lot.stock_fair_market_value, a_lot.proceeds) == (
        DispositionKind.CONVERSION, 51000.0, 12.5)


# --- end to end ----------------------------------------------------------------------------------


def test_cpdi_forms_end_to_end_with_a_conversion_and_a_trade_date(tmp_path, capsys):
    """L-0003 (H-1002, an individual) converted on 2025-09-15 into stock worth 53,000 and 12.50
    of cash, bought on trade date 2019-06-26; its broker's 1099-B reports the cash as proceeds
    and the original cost as basis — both explained."""
    folder = example_with(tmp_path, "L-0003", disposition_kind="conversion", proceeds="12.50",
                          stock_fair_market_value="53000", acquisition_trade_date="2019-06-26")
    broker = folder / "broker_1099.csv"
    broker.write_text(broker.read_text(encoding="utf-8").replace(
        "H-1002,02687QCD8,2025,1099-B,1d,48900.00,L-0003", "H-1002,02687QCD8,2025,1099-B,1d,12.50,L-0003"),
        encoding="utf-8")
    out = tmp_path / "out"
    code = main(["forms", str(folder), "--year", "2025", "--out", str(out), "--prepared", "2026-02-01"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stdout + stderr
    with (out / "form8949_2025.csv").open(newline="", encoding="utf-8") as handle:
        table = {r["lot_id"]: r for r in csv.DictReader(handle)}
    line = table["L-0003"]
    assert (line["ending"], line["date_acquired"], line["date_sold"], line["proceeds"]) == (
        "conversion", "2019-06-26", "2025-09-15", "53012.50")
    assert (line["stock_basis"], line["stock_holding_period_begins"]) == ("53000.00", "2025-09-16")
    assert (line["term"], line["box"]) == ("long", "D")
    # the gain is interest (code O); box D shows the broker's 1099-B basis, corrected (code B)
    assert (line["adjustment_code"], line["gain_loss"]) == ("BO", "0.00")
    others = [r for lot_id, r in table.items() if lot_id != "L-0003"]
    assert others and all(r["stock_basis"] == r["stock_holding_period_begins"] == "" for r in others)
    with (out / "income_2025.csv").open(newline="", encoding="utf-8") as handle:
        income = [r for r in csv.DictReader(handle) if r["holder_id"] == "H-1002"
                  and r["instrument_id"] == "02687QCD8"]
    gain = float(line["proceeds"]) - float(line["adjusted_basis"])
    assert gain > 0
    assert float(income[0]["ordinary_income_on_disposition"]) == pytest.approx(gain, abs=0.011)
    with (out / "reconciliation_2025.csv").open(newline="", encoding="utf-8") as handle:
        recon = {(r["lot_id"], r["box"]): r for r in csv.DictReader(handle)}
    assert recon[("L-0003", "1d")]["explained"] == "yes"
    assert "only the cash received on the conversion" in recon[("L-0003", "1d")]["explanation"]
    assert recon[("L-0003", "1e")]["explained"] == "yes"

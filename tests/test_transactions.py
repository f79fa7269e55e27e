"""Tax lots from a trade blotter (docs/formats.md, "transactions.csv"; cpdi.readers.transactions).

Blotters of every shape, each on the bundled example's notes (US00EQLN2029: issued 2022-03-15,
matures 2029-03-15, units of 1,000, no contingent payment before maturity; 02687QCD8: the AIG
CMS Curve Notes, payments through 2025): what lots they give, every problem they can have and
the row and column it is reported on, the lots written by ``cpdi lots`` read back to the same
ledger, the bundled blotter equal to the example portfolio, and a Hypothesis property: a random
blotter conserves principal, cost and proceeds and never sells what is not held.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cpdi
from cpdi import api
from cpdi.cli import main
from cpdi.model import BasisAllocationMethod, BasisReported, DispositionKind, Lot
from cpdi.readers import read_portfolio
from cpdi.readers.columns import LOTS, TRANSACTIONS
from cpdi.readers.transactions import Trade, derive_lots

EXAMPLES = Path(cpdi.__file__).resolve().parent / "examples"
PORTFOLIO, BLOTTER = EXAMPLES / "portfolio", EXAMPLES / "blotter"
EQ, AIG = "US00EQLN2029", "02687QCD8"
HEADER = [col.name for col in TRANSACTIONS]
FILE = "transactions.csv"


def trade(holder: str, trade_id: str, side: str, settled: str, principal, amount, *,
          note: str = EQ, **extra) -> dict[str, str]:
    """A transactions.csv row (every column, blank unless given)."""
    row = dict.fromkeys(HEADER, "")
    row.update(holder_id=holder, trade_id=trade_id, instrument_id=note, side=side,
               settlement_date=settled, principal_amount=str(principal), amount=str(amount))
    row.update({key: str(value) for key, value in extra.items()})
    return row


def csv_text(rows: list[dict[str, str]], header: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def folder(tmp_path: Path, trades: list[dict[str, str]] | None, lots: str | None = None,
           name: str = "input") -> Path:
    """The example's notes, schedules and payments, with ``trades`` as transactions.csv and
    ``lots`` (CSV text) as lots.csv, when given."""
    target = tmp_path / name
    target.mkdir()
    for table in ("instruments", "schedule", "payments"):
        shutil.copy(PORTFOLIO / f"{table}.csv", target / f"{table}.csv")
    if trades is not None:
        (target / FILE).write_text(csv_text(trades, HEADER), encoding="utf-8")
    if lots is not None:
        (target / "lots.csv").write_text(lots, encoding="utf-8")
    return target


def load(tmp_path: Path, trades, lots: str | None = None):
    return read_portfolio(folder(tmp_path, trades, lots))


def lots_of(portfolio) -> dict[str, Lot]:
    return {lot.lot_id: lot for lot in portfolio.lots}


def only(portfolio, file: str = FILE):
    problems = [p for p in portfolio.problems if p.file == file]
    assert len(problems) == 1, "\n".join(str(p) for p in portfolio.problems)
    return problems[0]


def where(problem) -> tuple:
    return (problem.file, problem.row, problem.column)


# --- the shapes of a blotter ---------------------------------------------------------------------


def test_a_buy_held_is_one_lot_named_by_its_trade_id(tmp_path):
    p = load(tmp_path, [trade("H1", "B1", "buy", "2024-01-10", 40000, "40,100.00",
                              commission="12.50", trade_date="2024-01-08",
                              basis_allocation="maturity")])
    assert p.problems == () and p.trade_count == 1
    assert p.lots == (Lot(
        holder_id="H1", lot_id="B1", instrument_id=EQ, principal_amount=40000.0,
        acquisition_date=date(2024, 1, 10), cost_basis=40112.5,
        basis_allocation=BasisAllocationMethod.MATURITY,
        acquisition_trade_date=date(2024, 1, 8)),)
    assert p.derived_lots == p.lots and p.lot_files == {"B1": FILE} and p.lot_rows == {"B1": 2}


def test_a_buy_sold_whole_keeps_its_id(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2024-01-10", 40000, 40100, commission=10),
        trade("H1", "S1", "sell", "2025-06-11", 40000, 41000, commission="15.25",
              trade_date="2025-06-09", basis_reported="no"),
    ])
    assert p.problems == ()
    (lot,) = p.lots
    assert (lot.lot_id, lot.cost_basis, lot.disposition_date, lot.proceeds) == (
        "B1", 40110.0, date(2025, 6, 11), 40984.75)
    assert lot.disposition_trade_date == date(2025, 6, 9)
    assert lot.basis_reported is BasisReported.NO and lot.disposition_kind is DispositionKind.SALE


def test_a_sell_across_two_lots_takes_the_first_acquired_and_splits_the_second(tmp_path):
    # B2 is listed first but settles later: first in, first out goes by settlement date
    p = load(tmp_path, [
        trade("H1", "B2", "buy", "2024-02-07", 30000, 30120, commission="12.50"),
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650, commission="12.50"),
        trade("H1", "S1", "sell", "2025-06-11", 35000, 35365, commission=15),
    ])
    assert p.problems == ()
    assert [lot.lot_id for lot in p.lots] == ["B2-S1", "B2", "B1"]  # by buy row
    lots = lots_of(p)
    assert (lots["B1"].principal_amount, lots["B1"].cost_basis, lots["B1"].proceeds) == (
        20000.0, 19662.5, 20200.0)
    assert (lots["B2-S1"].principal_amount, lots["B2-S1"].cost_basis, lots["B2-S1"].proceeds) == (
        15000.0, 15066.25, 15150.0)
    assert lots["B2"].principal_amount == 15000.0 and lots["B2"].cost_basis == 15066.25
    assert lots["B2"].disposition_date is None and lots["B2-S1"].disposition_date == date(2025, 6, 11)
    assert p.lot_rows == {"B2-S1": 2, "B2": 2, "B1": 3}  # the buy's row


def test_specific_identification_sells_the_named_lot(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
        trade("H1", "B2", "buy", "2024-02-07", 30000, 30120),
        trade("H1", "S1", "sell", "2025-06-11", 10000, 10100, lot_id="B2"),
    ])
    assert p.problems == ()
    lots = lots_of(p)
    assert lots["B1"].disposition_date is None and lots["B1"].principal_amount == 20000.0
    assert lots["B2-S1"].principal_amount == 10000.0 and lots["B2-S1"].cost_basis == 10040.0
    assert lots["B2"].principal_amount == 20000.0 and lots["B2"].cost_basis == 20080.0


def test_several_sells_of_one_lot_add_up_to_it_exactly(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-01-10", 90000, "91234.57", allocate_to_maturity="100"),
        trade("H1", "S1", "sell", "2023-06-01", 30000, "30111.11"),
        trade("H1", "S2", "sell", "2024-06-01", 30000, "30222.22"),
        trade("H1", "S3", "sell", "2025-06-02", 30000, "30333.33"),
    ])
    assert p.problems == ()
    assert [lot.lot_id for lot in p.lots] == ["B1-S1", "B1-S2", "B1"]
    assert [lot.disposition_date for lot in p.lots] == [
        date(2023, 6, 1), date(2024, 6, 1), date(2025, 6, 2)]
    assert math.fsum(lot.cost_basis for lot in p.lots) == pytest.approx(91234.57, abs=1e-9)
    assert math.fsum(lot.allocate_to_maturity for lot in p.lots) == pytest.approx(100, abs=1e-9)
    assert p.lots[0].cost_basis == 91234.57 / 3 and p.lots[0].allocate_to_maturity == 100 / 3
    assert p.lots[2].proceeds == 30333.33


def test_two_holders_and_two_notes_interleaved_each_first_in_first_out(tmp_path):
    p = load(tmp_path, [
        trade("H1", "1", "buy", "2023-01-10", 10000, 9900),
        trade("H2", "2", "buy", "2023-01-11", 10000, 9950),
        trade("H1", "3", "buy", "2023-02-10", 10000, 10000, note=AIG),
        trade("H2", "4", "buy", "2023-03-10", 5000, 5000),
        trade("H1", "5", "buy", "2023-04-10", 10000, 10100),
        trade("H2", "6", "sell", "2024-03-01", 12000, 12100),
        trade("H1", "7", "sell", "2024-03-01", 15000, 15200),
        trade("H1", "8", "sell", "2025-03-03", 10000, 10300, note=AIG),
    ])
    assert p.problems == ()
    lots = lots_of(p)
    assert set(lots) == {"1", "5-7", "5", "2", "4-6", "4", "3"}
    assert lots["1"].proceeds == 10000 * 15200 / 15000 and lots["5-7"].principal_amount == 5000
    assert lots["2"].disposition_date == date(2024, 3, 1) and lots["4-6"].principal_amount == 2000
    assert lots["4"].principal_amount == 3000 and lots["4"].holder_id == "H2"
    assert lots["3"].instrument_id == AIG and lots["3"].proceeds == 10300.0


# --- what a blotter cannot do ------------------------------------------------------------------


def test_selling_more_than_was_held_is_refused_with_what_was_held(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
        trade("H1", "B2", "buy", "2024-02-07", 30000, 30120),
        trade("H1", "B3", "buy", "2025-06-11", 30000, 30120),
        trade("H1", "S1", "sell", "2025-06-11", 60000, 61000),
        trade("H2", "B9", "buy", "2024-02-07", 10000, 10000),
    ])
    problem = only(p)
    assert where(problem) == (FILE, 5, "principal_amount") and problem.value == "60000"
    assert ("sells 60,000 of US00EQLN2029, but holder H1 held 50,000 of it on 2025-06-11 "
            "(lots B1 20,000, B2 30,000)") in problem.message
    assert "the buy on row 4 settles on 2025-06-11" in problem.fix
    assert (problem.holder_id, problem.instrument_id) == ("H1", EQ)
    assert [lot.lot_id for lot in p.lots] == ["B9"]  # H1's lots of the note stop; H2's do not
    assert set(p.rejected_lots) == {"B1", "B2", "B3"}
    assert p.rejected_lots["B1"] == (problem,)


@pytest.mark.parametrize("trades, row, text", [
    ([trade("H1", "S1", "sell", "2025-06-11", 1000, 1000)], 2,
     "sells US00EQLN2029, but there is no buy of it by holder H1"),
    ([trade("H1", "S1", "sell", "2024-06-11", 1000, 1000),
      trade("H1", "B1", "buy", "2025-01-10", 1000, 1000)], 2,
     "sells US00EQLN2029 on 2024-06-11, before any buy of it by holder H1 has settled (the first "
     "settles on 2025-01-10, row 3)"),
    ([trade("H1", "B1", "buy", "2025-01-10", 1000, 1000),
      trade("H1", "S1", "sell", "2025-01-10", 1000, 1000)], 3,  # the same day: the buyer's
     "before any buy of it by holder H1 has settled (the first settles on 2025-01-10, row 2)"),
])
def test_a_sell_before_any_buy_is_refused(tmp_path, trades, row, text):
    problem = only(load(tmp_path, trades))
    assert where(problem) == (FILE, row, "side") and text in problem.message, str(problem)


@pytest.mark.parametrize("named, column, text", [
    ("B0", "lot_id", "there is no buy with trade_id B0 to sell"),
    ("S1", "lot_id", "lot_id S1 is a sell (row 5), not a buy"),
    ("X1", "lot_id", "lot X1 is holder H2's (row 3), not H1's"),
    ("N1", "lot_id", "lot N1 is a lot of 02687QCD8 (row 4), not of US00EQLN2029"),
    ("B1", "lot_id", "lot B1 was closed by the sell on row 5 (settling 2024-06-03): nothing of it "
     "is left to sell"),
    ("L1", "lot_id", "lot L1 is a lot of lots.csv: a sell in transactions.csv closes only lots of "
     "its buys"),
])
def test_a_named_lot_must_be_an_open_lot_of_the_holder_and_note(tmp_path, named, column, text):
    typed = ("holder_id,lot_id,instrument_id,principal_amount,acquisition_date,cost_basis\n"
             "H1,L1,US00EQLN2029,5000,2023-01-10,5000\n")
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
        trade("H2", "X1", "buy", "2023-05-10", 20000, 19650),
        trade("H1", "N1", "buy", "2023-05-10", 20000, 20000, note=AIG),
        trade("H1", "S1", "sell", "2024-06-03", 20000, 20100, lot_id="B1"),
        trade("H1", "S2", "sell", "2025-06-11", 5000, 5100, lot_id=named),
    ], typed)
    problem = only(p)
    assert where(problem) == (FILE, 6, column) and text in problem.message, str(problem)
    assert problem.value == named and problem.fix
    assert "L1" in lots_of(p) and "X1" in lots_of(p) and "N1" in lots_of(p)
    assert "B1" not in lots_of(p) and "B1" in p.rejected_lots


def test_a_named_lot_must_hold_what_is_sold_and_settle_before_the_sale(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
        trade("H1", "S1", "sell", "2024-06-03", 15000, 15100, lot_id="B1"),
        trade("H1", "S2", "sell", "2025-06-11", 10000, 10100, lot_id="B1"),
        trade("H2", "B2", "buy", "2024-05-10", 20000, 19650),
        trade("H2", "S3", "sell", "2024-05-10", 1000, 1000, lot_id="B2"),
    ])
    first, second = [x for x in p.problems if x.file == FILE]
    assert where(first) == (FILE, 4, "principal_amount")
    assert ("sells 10,000 of lot B1, which held 5,000 on 2025-06-11 (of its 20,000, after the "
            "sell(s) on row(s) 3)") in first.message
    assert where(second) == (FILE, 6, "settlement_date")
    assert "not after lot B2's buy settles (2024-05-10, row 5)" in second.message
    assert p.lots == ()


def test_commission_is_cost_on_a_buy_and_comes_off_a_sale(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 10000, 9900, commission="7.5"),
        trade("H1", "S1", "sell", "2024-06-03", 10000, 10100, commission="7.5"),
        trade("H2", "B2", "buy", "2023-05-10", 10000, 9900, commission="-1"),
        trade("H3", "B3", "buy", "2023-05-10", 10000, 9900),
        trade("H3", "S3", "sell", "2024-06-03", 10000, "5", commission="9.95"),
    ])
    assert (lots_of(p)["B1"].cost_basis, lots_of(p)["B1"].proceeds) == (9907.5, 10092.5)
    bad = [x for x in p.problems if x.file == FILE]
    assert [where(x) for x in bad] == [(FILE, 4, "commission"), (FILE, 6, "commission")]
    assert "commission cannot be negative" in bad[0].message
    assert "the commission 9.95 is more than the amount 5 received" in bad[1].message
    assert set(lots_of(p)) == {"B1"}


def test_a_conversion_shares_the_stock_value_pro_rata_like_the_proceeds(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
        trade("H1", "B2", "buy", "2024-02-07", 30000, 30120),
        trade("H1", "C1", "sell", "2025-06-11", 40000, "120.00", disposition_kind="conversion",
              stock_fair_market_value="44000"),
    ])
    assert p.problems == ()
    lots = lots_of(p)
    assert lots["B1"].disposition_kind is DispositionKind.CONVERSION
    assert (lots["B1"].stock_fair_market_value, lots["B1"].proceeds) == (22000.0, 60.0)
    assert (lots["B2-C1"].stock_fair_market_value, lots["B2-C1"].proceeds) == (22000.0, 60.0)
    assert lots["B2"].stock_fair_market_value is None and lots["B2"].disposition_date is None


def test_a_conversion_without_the_stock_value_is_named_once_on_the_sell(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
        trade("H1", "B2", "buy", "2024-02-07", 30000, 30120),
        trade("H1", "C1", "sell", "2025-06-11", 40000, "0", disposition_kind="conversion"),
    ])
    problem = only(p)
    assert where(problem) == (FILE, 4, "stock_fair_market_value")
    assert problem.message.startswith("lot B1 (from the buy on row 2 and the sell on row 4): ")
    assert "stock_fair_market_value is blank" in problem.message
    # a derived lot failing a lot's check is refused alone, as a typed lot is: B2 (held) is fine
    assert [lot.lot_id for lot in p.lots] == ["B2"] and set(p.rejected_lots) == {"B1", "B2-C1"}
    assert p.rejected_lots["B2-C1"][0].message.startswith("lot B2-C1 (from the buy on row 3 and")


@pytest.mark.parametrize("row, column, text", [
    (trade("H1", "B1", "buy", "2024-01-10", 1000, 1000), "trade_id",
     "trade B1 appears on rows 2 and 3"),
    (trade("H1", "B9", "buy", "2024-01-10", 1000, 1000, lot_id="B1"), "lot_id",
     "a buy opens its own lot"),
    (trade("H1", "B9", "purchase", "2024-01-10", 1000, 1000), "side", "side must be buy or sell"),
    (trade("H1", "B9", "buy", "2024-01-10", 0, 1000), "principal_amount",
     "principal amount must be greater than 0"),
    (trade("H1", "B9", "buy", "2024-01-10", 1500, 1500), "principal_amount",
     "not a whole multiple of US00EQLN2029's unit principal 1000"),
    (trade("H1", "B9", "buy", "2024-01-10", 1000, -5), "amount", "amount cannot be negative"),
    (trade("H1", "S9", "sell", "2024-06-10", 1000, 1000, basis_allocation="yield"),
     "basis_allocation", "basis_allocation belongs on the buy"),
    (trade("H1", "B9", "buy", "2024-01-10", 1000, 1000, basis_reported="yes"), "basis_reported",
     "basis_reported belongs on a sell"),
    (trade("H1", "B9", "buy", "2024-01-10", 1000, 1000, trade_date="2024-01-12"), "trade_date",
     "the purchase's trade date is after its settlement date"),
    (trade("H1", "B9", "buy", "2024-01-10", 1000, 1000, note="NOPE"), "instrument_id",
     "instrument NOPE is not in instruments.csv"),
])
def test_a_bad_trade_row_is_named_and_stops_the_holders_lots_of_the_note(tmp_path, row, column,
                                                                          text):
    p = load(tmp_path, [trade("H1", "B1", "buy", "2024-01-10", 1000, 1000), row,
                        trade("H2", "B2", "buy", "2024-01-10", 1000, 1000)])
    problem = only(p)
    assert where(problem) == (FILE, 3, column) and text in problem.message, str(problem)
    assert problem.fix and problem.holder_id == "H1"
    expected = {"B2"} if row["instrument_id"] == EQ else {"B1", "B2"}
    assert set(lots_of(p)) == expected


def test_a_derived_lot_is_checked_as_a_typed_lot_on_the_rows_it_came_from(tmp_path):
    p = load(tmp_path, [
        trade("H1", "B1", "buy", "2022-01-10", 10000, 10000),  # before the issue date
        trade("H2", "B2", "buy", "2024-01-10", 20000, 20000),
        trade("H2", "S2", "sell", "2029-04-02", 5000, 5000),  # after maturity
        trade("H3", "B3", "buy", "2024-01-10", 10000, "98.5"),  # a price typed as dollars
    ])
    issue, matured, price = [x for x in p.problems if x.file == FILE]
    assert where(issue) == (FILE, 2, "settlement_date") and issue.value == "2022-01-10"
    assert issue.message == ("lot B1 (from the buy on row 2): acquired before the issue date "
                             "2022-03-15")
    assert where(matured) == (FILE, 4, "settlement_date")
    assert matured.message == ("lot B2-S2 (from the buy on row 3 and the sell on row 4): "
                               "disposition date is after the maturity date 2029-03-15")
    assert "check the sell's settlement_date, or delete the sell" in matured.fix
    assert where(price) == (FILE, 5, "amount") and "looks like a price per 100" in price.message
    assert [lot.lot_id for lot in p.lots] == ["B2"]  # the held remainder is a good lot
    assert set(p.rejected_lots) == {"B1", "B2-S2", "B3"}


def test_a_lot_id_derived_twice_or_also_typed_is_refused_in_both_places(tmp_path):
    typed = ("holder_id,lot_id,instrument_id,principal_amount,acquisition_date,cost_basis\n"
             "H3,T1,US00EQLN2029,5000,2023-01-10,5000\n"
             "H3,T2,US00EQLN2029,5000,2023-01-10,5000\n")
    p = load(tmp_path, [
        trade("H1", "A", "buy", "2023-05-10", 20000, 20000),
        trade("H1", "1", "sell", "2024-06-03", 5000, 5000),  # piece A-1
        trade("H2", "A-1", "buy", "2023-05-10", 20000, 20000),  # the trade A-1
        trade("H4", "T1", "buy", "2023-05-10", 20000, 20000),
    ], typed)
    twice, also = [x for x in p.problems if x.file == FILE]
    assert where(twice) == (FILE, 4, "trade_id")
    assert ("the lot id A-1 is derived twice: from the buy on row 2 and the sell on row 3, and "
            "from the buy on row 4") in twice.message
    assert where(also) == (FILE, 5, "trade_id")
    assert "lot T1 (from the buy on row 5) is also the lot_id of lots.csv row 2" in also.message
    assert [lot.lot_id for lot in p.lots] == ["T2"]


def test_lots_csv_and_transactions_csv_together(tmp_path):
    typed = ("holder_id,lot_id,instrument_id,principal_amount,acquisition_date,cost_basis\n"
             "H1,L1,US00EQLN2029,5000,2023-01-10,5000\n")
    p = load(tmp_path, [trade("H1", "B1", "buy", "2023-05-10", 20000, 19650)], typed)
    assert p.problems == () and [lot.lot_id for lot in p.lots] == ["L1", "B1"]
    assert [lot.lot_id for lot in p.derived_lots] == ["B1"] and p.lot_rows == {"L1": 2, "B1": 2}
    result = api.compute(p, 2025)
    assert result.problems == [] and {ledger.lot.lot_id for ledger in result.ledgers} == {"L1", "B1"}


def test_an_input_with_neither_lots_nor_transactions_says_so_in_one_line(tmp_path, capsys):
    source = folder(tmp_path, None)
    code = main(["compute", str(source), "--through-year", "2025", "--out",
                 str(tmp_path / "r.csv")])
    err = capsys.readouterr().err
    assert code == 1
    assert ("lots.csv: the input has no lots table and no transactions table: there is nothing "
            "to compute") in err


def test_a_transactions_sheet_of_a_workbook(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for table in ("instruments", "schedule", "payments"):
        sheet = book.create_sheet(table)
        with open(PORTFOLIO / f"{table}.csv", encoding="utf-8") as handle:
            for record in csv.reader(handle):
                sheet.append(record)
    sheet = book.create_sheet("transactions")
    sheet.append(HEADER)
    for row in (trade("H1", "B1", "buy", "2023-05-10", 20000, 19650),
                trade("H1", "S1", "sell", "2024-06-03", 5000, 5100)):
        sheet.append([row[name] for name in HEADER])
    path = tmp_path / "book.xlsx"
    book.save(path)
    p = read_portfolio(path)
    assert p.problems == () and [lot.lot_id for lot in p.lots] == ["B1-S1", "B1"]
    assert p.lot_files == {"B1-S1": "book.xlsx[transactions]", "B1": "book.xlsx[transactions]"}


# --- cpdi lots, and the same ledger ---------------------------------------------------------------


SPLITS = [
    trade("H1", "B1", "buy", "2023-05-10", 30000, "29876.54", commission="9.99",
          trade_date="2023-05-08"),
    trade("H1", "B2", "buy", "2024-02-07", 70000, "70123.45", commission="9.99",
          basis_allocation="straight_line", allocate_to_maturity="50"),
    trade("H1", "S1", "sell", "2024-09-03", 70000, "71000.01", commission="12.34",
          trade_date="2024-08-29"),
    trade("H2", "B3", "buy", "2016-03-01", 100000, 101250, note=AIG),
    trade("H2", "S2", "sell", "2024-01-20", 30000, "29820", note=AIG),
    trade("H2", "S3", "sell", "2025-03-03", 30000, "29900", note=AIG, lot_id="B3",
          basis_reported="no_1099"),
]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cpdi_lots_writes_the_lots_and_they_read_back_to_the_same_ledger(tmp_path, capsys):
    source = folder(tmp_path, SPLITS)
    out = tmp_path / "out" / "lots.csv"
    out.parent.mkdir()
    code, stdout, err = run(capsys, "lots", source, "--out", out)
    assert (code, stdout) == (0, "")
    assert err == f"wrote 6 lot(s) from 6 trade(s) to {out}\n"
    with open(out, encoding="utf-8", newline="") as handle:
        records = list(csv.reader(handle))
    assert records[0] == [col.name for col in LOTS]
    assert all(len(record) == len(LOTS) for record in records)
    assert [r[1] for r in records[1:]] == ["B1", "B2-S1", "B2", "B3-S2", "B3-S3", "B3"]
    assert not list(out.parent.glob(".*.part"))

    typed = folder(tmp_path, None, out.read_text(encoding="utf-8"), name="typed")
    from_trades, from_lots = read_portfolio(source), read_portfolio(typed)
    assert from_lots.problems == () and from_lots.lots == from_trades.lots
    ledger_trades = api.compute(from_trades, 2025)
    ledger_lots = api.compute(from_lots, 2025)
    assert ledger_trades.problems == [] and ledger_lots.problems == []
    assert ledger_trades.frame().equals(ledger_lots.frame()) and len(ledger_trades.frame()) > 6


def test_cpdi_lots_writes_nothing_when_a_trade_has_a_problem(tmp_path, capsys):
    source = folder(tmp_path, SPLITS + [trade("H1", "S9", "sell", "2025-01-06", 90000, 90000)])
    out = tmp_path / "lots.csv"
    out.write_text("an earlier file\n")
    code, stdout, err = run(capsys, "lots", source, "--out", out)
    assert code == 1 and stdout == ""
    lines = err.splitlines()
    assert lines[0].startswith("transactions.csv row 8, column principal_amount: '90000': sells "
                               "90,000 of US00EQLN2029, but holder H1 held 30,000 of it")
    assert lines[-1] == f"cpdi lots: nothing written to {out}: 1 problem(s) in transactions.csv above"
    assert out.read_text() == "an earlier file\n"


def test_cpdi_lots_exit_codes_and_usage(tmp_path, capsys):
    code, _, err = run(capsys, "lots", PORTFOLIO, "--out", tmp_path / "x.csv")
    assert code == 1 and "the input has no transactions table" in err
    assert not (tmp_path / "x.csv").exists()
    source = folder(tmp_path, SPLITS)
    code, _, err = run(capsys, "lots", source, "--out", source / "lots.csv")
    assert code == 2 and err.startswith("cpdi lots: --out ") and "every lot would be there twice" in err
    code, _, err = run(capsys, "lots", source, "--out", tmp_path / "lots.xlsx")
    assert code == 2 and "written as .csv" in err
    code, _, err = run(capsys, "lots", tmp_path / "missing", "--out", tmp_path / "x.csv")
    assert code == 1 and "no such file or folder" in err


def test_cpdi_lots_writes_text_safe_for_a_spreadsheet(tmp_path, capsys):
    source = folder(tmp_path, [trade("=HYPERLINK(1)", "@B1", "buy", "2023-05-10", 1000, 1000)])
    out = tmp_path / "lots.csv"
    code, _, _ = run(capsys, "lots", source, "--out", out)
    assert code == 0
    assert out.read_text().splitlines()[1].startswith("'=HYPERLINK(1),'@B1,US00EQLN2029,1000,")


def test_cpdi_lots_writes_the_file_with_problems_elsewhere_and_exits_1(tmp_path, capsys):
    source = folder(tmp_path, SPLITS)
    (source / "broker_1099.csv").write_text(
        "holder_id,instrument_id,tax_year,form,box,amount,lot_id\nH1,US00EQLN2029,2025,1099-B,1d,5,\n")
    out = tmp_path / "lots.csv"
    code, _, err = run(capsys, "lots", source, "--out", out)
    assert code == 1 and out.exists()
    assert err.splitlines()[-1] == (f"wrote 6 lot(s) from 6 trade(s) to {out}; 1 problem(s) above "
                                    "in other tables")


# --- the bundled blotter -------------------------------------------------------------------------


def test_the_bundled_blotter_gives_the_example_portfolio_lot_for_lot():
    blotter, portfolio = read_portfolio(BLOTTER), read_portfolio(PORTFOLIO)
    assert blotter.problems == () and portfolio.problems == ()
    ids = [lot.lot_id for lot in portfolio.lots]
    assert blotter.lots[:len(ids)] == portfolio.lots
    # one more holder shows a sell across two lots, taking one whole and part of the other
    extra = blotter.lots[len(ids):]
    assert [(lot.holder_id, lot.lot_id, lot.principal_amount, lot.disposition_date) for lot in extra] == [
        ("H-1005", "L-0009", 20000.0, date(2025, 6, 11)),
        ("H-1005", "L-0010-S-0003", 15000.0, date(2025, 6, 11)),
        ("H-1005", "L-0010", 15000.0, None),
    ]
    # the specific identification (S-0002 names L-0003) and the commissions of the example
    assert blotter.lots[2].cost_basis == 47125.5 and blotter.lots[2].proceeds == 48900.0
    assert blotter.broker_1099 == portfolio.broker_1099


def test_the_bundled_blotter_gives_the_example_portfolios_ledger():
    portfolio = api.compute(read_portfolio(PORTFOLIO), 2025).frame()
    blotter = api.compute(read_portfolio(BLOTTER), 2025).frame()
    same = blotter[blotter.lot_id.isin(portfolio.lot_id)].reset_index(drop=True)
    assert same.equals(portfolio)
    assert set(blotter.lot_id) - set(portfolio.lot_id) == {"L-0009", "L-0010-S-0003", "L-0010"}


def test_validate_the_bundled_blotter(capsys):
    code, out, err = run(capsys, "validate", BLOTTER, "--through-year", "2025")
    assert code == 0 and "11 lot(s) checked through 2025: all valid" in out, err


# --- a property: a random blotter ----------------------------------------------------------------


@st.composite
def blotters(draw):
    """Trades of two holders in two notes, each book in date order; sells never exceed what is
    held unless ``oversell`` asks for one too many in some book; some sells name a lot."""
    trades: list[Trade] = []
    oversold: set[tuple[str, str]] = set()
    row = 1
    for holder in ("H1", "H2"):
        for note in ("N1", "N2"):
            day = date(2020, 1, 1) + timedelta(days=draw(st.integers(0, 30)))
            open_lots: dict[str, int] = {}  # buy trade_id → units held
            for _ in range(draw(st.integers(0, 8))):
                day += timedelta(days=draw(st.integers(1, 40)))
                row += 1
                tid = f"T{row}"
                held = sum(open_lots.values())
                if held == 0 or draw(st.booleans()):
                    units = draw(st.integers(1, 50))
                    amount = draw(st.integers(1, 10_000_000)) / 100
                    trades.append(Trade(row, holder, tid, note, "buy", day, units * 1000.0, amount,
                                        draw(st.integers(0, 5000)) / 100,
                                        allocate_to_maturity=draw(st.integers(0, 9999)) / 100))
                    open_lots[tid] = units
                    continue
                named = draw(st.sampled_from([None, *[k for k, v in open_lots.items() if v]]))
                units = draw(st.integers(1, open_lots[named] if named else held))
                amount = draw(st.integers(0, 10_000_000)) / 100
                commission = min(amount, draw(st.integers(0, 5000)) / 100)
                trades.append(Trade(row, holder, tid, note, "sell", day, units * 1000.0, amount,
                                    commission, lot_id=named))
                left = units
                for key in ([named] if named else list(open_lots)):
                    take = min(left, open_lots[key])
                    open_lots[key] -= take
                    left -= take
            if draw(st.booleans()) and draw(st.booleans()):
                day += timedelta(days=1)
                row += 1
                trades.append(Trade(row, holder, f"T{row}", note, "sell", day,
                                    (sum(open_lots.values()) + 1) * 1000.0, 100.0))
                oversold.add((holder, note))
    order = draw(st.permutations(range(len(trades))))
    return [trades[i] for i in order], oversold


@settings(max_examples=150, deadline=None)
@given(blotters())
def test_a_random_blotter_conserves_principal_cost_and_proceeds(case):
    trades, oversold = case
    blotter = derive_lots(trades)
    assert set(blotter.stopped) == oversold
    assert all("held" in p.message or "no buy of it" in p.message for p in blotter.problems)
    by_row = {t.row: t for t in trades}

    def close(a: float, b: float) -> bool:
        return abs(a - b) <= 1e-9 * max(1.0, abs(b))

    for buy in (t for t in trades if t.side == "buy" and t.book not in oversold):
        pieces = [d for d in blotter.lots if d.buy_row == buy.row]
        assert pieces and all(d.lot.principal_amount > 0 for d in pieces)
        assert math.fsum(d.lot.principal_amount for d in pieces) == buy.principal_amount
        assert close(math.fsum(d.lot.cost_basis for d in pieces), buy.cost)
        assert close(math.fsum(d.lot.allocate_to_maturity for d in pieces), buy.allocate_to_maturity)
        assert sum(d.sell_row is None for d in pieces) <= 1
        for d in pieces:
            assert d.lot.acquisition_date == buy.settlement_date
            if d.sell_row is not None:
                assert d.lot.disposition_date == by_row[d.sell_row].settlement_date
                assert d.lot.disposition_date > d.lot.acquisition_date
                assert (d.lot.lot_id == buy.trade_id) == (not d.split)
    for sell in (t for t in trades if t.side == "sell" and t.book not in oversold):
        pieces = [d for d in blotter.lots if d.sell_row == sell.row]
        assert math.fsum(d.lot.principal_amount for d in pieces) == sell.principal_amount
        assert close(math.fsum(d.lot.proceeds for d in pieces), sell.proceeds)
        if sell.lot_id:
            assert {by_row[d.buy_row].trade_id for d in pieces} == {sell.lot_id}
    ids = [d.lot.lot_id for d in blotter.lots]
    assert len(ids) == len(set(ids))

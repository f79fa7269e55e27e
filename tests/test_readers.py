"""The input readers (docs/formats.md, "Input"): every problem collected, not just the first.

A good input folder and the equivalent workbook load to the same portfolio; then one broken
input per kind of problem, each checking the file, row and column the problem names and a
fragment of its message.  The base input below is small enough to read: two instruments
(NOTE1 semiannual 30/360 to maturity; NOTE2 quarterly ACT/360, called on 2020-12-01), four lots
of two holders.
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import re
import time
from datetime import date
from pathlib import Path

import pytest

from cpdi.engine.daycount import DayCount
from cpdi.model import BasisAllocationMethod, BasisReported, FilerType, PaymentKind, PaymentType
from cpdi.problems import InputError, Problem
from cpdi.readers import Portfolio, read_portfolio
from cpdi.readers import tables as tables_module
from cpdi.readers.columns import KINDS, TABLES, Column, column

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aig-cms-curve-2027"
FORMATS_MD = Path(__file__).resolve().parents[1] / "docs" / "formats.md"

GOOD: dict[str, list[dict[str, str]]] = {
    "instruments": [
        {"instrument_id": "NOTE1", "description": "Two-year test note", "issue_date": "2020-01-15",
         "maturity_date": "2022-01-15", "issue_price": "1000", "unit_principal": "1000",
         "comparable_yield_pct": "5.00", "frequency": "2", "day_count": "30/360"},
        {"instrument_id": "NOTE2", "description": "Callable note, quarterly",
         "issue_date": "2020-03-01", "maturity_date": "2021-03-01", "issue_price": "990.5",
         "unit_principal": "100", "comparable_yield_pct": "4.25", "frequency": "4",
         "day_count": "Actual/360"},
    ],
    "schedule": [  # NOTE1's periods out of order on purpose: the reader sorts them
        {"instrument_id": "NOTE1", "period_start": "2020-07-15", "period_end": "2021-01-15",
         "projected_payment": "25", "payment_type": "contingent"},
        {"instrument_id": "NOTE1", "period_start": "2020-01-15", "period_end": "2020-07-15",
         "projected_payment": "25", "payment_type": "fixed"},
        {"instrument_id": "NOTE1", "period_start": "2021-01-15", "period_end": "2021-07-15",
         "projected_payment": "30", "payment_type": ""},
        {"instrument_id": "NOTE1", "period_start": "2021-07-15", "period_end": "2022-01-15",
         "projected_payment": "1,025.00", "payment_type": "Contingent"},
        {"instrument_id": "NOTE2", "period_start": "2020-03-01", "period_end": "2020-06-01",
         "projected_payment": "1.1", "payment_type": "FIXED"},
        {"instrument_id": "NOTE2", "period_start": "2020-06-01", "period_end": "2020-09-01",
         "projected_payment": "1.1", "payment_type": "fixed"},
        {"instrument_id": "NOTE2", "period_start": "2020-09-01", "period_end": "2020-12-01",
         "projected_payment": "1.1", "payment_type": "fixed"},
        {"instrument_id": "NOTE2", "period_start": "2020-12-01", "period_end": "2021-03-01",
         "projected_payment": "101.1", "payment_type": "fixed"},
    ],
    "payments": [
        {"instrument_id": "NOTE1", "date": "2021-01-15", "amount": "22.5", "kind": ""},
        {"instrument_id": "NOTE1", "date": "2020-07-15", "amount": "25", "kind": "scheduled"},
        {"instrument_id": "NOTE2", "date": "2020-12-01", "amount": "100.25", "kind": "redemption"},
        {"instrument_id": "NOTE2", "date": "2020-12-01", "amount": "1.1", "kind": "Scheduled"},
    ],
    "lots": [
        {"holder_id": "H1", "lot_id": "1001", "instrument_id": "NOTE1",
         "principal_amount": "250000", "acquisition_date": "2020-01-15",
         "cost_basis": "250,000.00", "disposition_date": "", "proceeds": "",
         "basis_allocation": "", "holder_yield_pct": "", "allocate_to_maturity": ""},
        {"holder_id": "H1", "lot_id": "1002", "instrument_id": "NOTE1",
         "principal_amount": "10000", "acquisition_date": "2020-08-03", "cost_basis": "9950.25",
         "disposition_date": "2021-03-01", "proceeds": "10100",
         "basis_allocation": "straight_line", "holder_yield_pct": "",
         "allocate_to_maturity": "12.5"},
        {"holder_id": "H2", "lot_id": "1003", "instrument_id": "NOTE2",
         "principal_amount": "5000", "acquisition_date": "2020-06-01", "cost_basis": "4990",
         "disposition_date": "", "proceeds": "", "basis_allocation": "yield",
         "holder_yield_pct": "6.5", "allocate_to_maturity": ""},
        {"holder_id": "H2", "lot_id": "1004", "instrument_id": "NOTE2",
         "principal_amount": "700", "acquisition_date": "2020-04-01", "cost_basis": "695",
         "disposition_date": "2020-11-02", "proceeds": "702", "basis_allocation": "MATURITY",
         "holder_yield_pct": "", "allocate_to_maturity": ""},
    ],
    "holders": [
        {"holder_id": "H1", "name": "Alice Smith", "tin": "012345678", "advisor": "Bob",
         "Account Type": "IRA"},
        {"holder_id": "H2", "name": "Carol Jones", "tin": "987-65-4321", "advisor": "",
         "Account Type": ""},
    ],
}

# A good lot of NOTE1 written as row 3 of lots.csv (after lot 1001 on row 2), to be broken.
GOOD_LOT = {"holder_id": "H1", "lot_id": "9001", "instrument_id": "NOTE1",
            "principal_amount": "10000", "acquisition_date": "2020-02-03", "cost_basis": "9900",
            "disposition_date": "", "proceeds": "", "basis_allocation": "",
            "holder_yield_pct": "", "allocate_to_maturity": ""}

LOT_COLUMNS = [c.name for c in TABLES["lots"]]


def csv_text(rows: list[dict[str, str]], header: list[str] | None = None) -> str:
    """The rows as CSV text; the header is every key in first-seen order unless given."""
    if header is None:
        header = []
        for row in rows:
            header += [key for key in row if key not in header]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def good() -> dict[str, list[dict[str, str]]]:
    return copy.deepcopy(GOOD)


def write_folder(folder: Path, tables: dict[str, list[dict[str, str]] | str | None]) -> Path:
    """Write each table as ``<name>.csv`` (rows, raw text, or ``None`` for no file)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in tables.items():
        if content is None:
            continue
        text = content if isinstance(content, str) else csv_text(content)
        (folder / f"{name}.csv").write_text(text, encoding="utf-8")
    return folder


def read(tmp_path: Path, **changes: list[dict[str, str]] | str | None) -> Portfolio:
    """Read the good input with some tables replaced (``None`` removes a table)."""
    tables: dict = good()
    tables.update(changes)
    return read_portfolio(write_folder(tmp_path / "input", tables))


def only(portfolio: Portfolio, file: str | None = None) -> Problem:
    """The one problem (in ``file``, if given) of ``portfolio``."""
    problems = [p for p in portfolio.problems if file is None or p.file == file]
    assert len(problems) == 1, "\n".join(str(p) for p in portfolio.problems)
    return problems[0]


def assert_problem(problem: Problem, file: str, row: int | None, column: str | None, text: str):
    assert (problem.file, problem.row, problem.column) == (file, row, column), str(problem)
    assert text in problem.message, str(problem)
    assert problem.fix, str(problem)


# --- the good input --------------------------------------------------------------------------


def test_good_folder_loads_everything(tmp_path):
    p = read(tmp_path)
    assert p.problems == () and p.rejected_lots == {} and p.ok
    note1, note2 = p.instruments["NOTE1"], p.instruments["NOTE2"]
    assert note1.issue_date == date(2020, 1, 15) and note1.maturity_date == date(2022, 1, 15)
    assert note1.comparable_yield.annual_rate == pytest.approx(0.05)
    assert note1.comparable_yield.day_count is DayCount.THIRTY_360
    assert note2.comparable_yield.day_count is DayCount.ACT_360  # alias "Actual/360"
    assert (note2.issue_price, note2.unit_principal, note2.comparable_yield.frequency) == (
        990.5, 100.0, 4)
    assert note2.description == "Callable note, quarterly" and note2.accept_residual is False
    starts = [pp.period_start for pp in note1.projected_payments]
    assert starts == sorted(starts) and len(starts) == 4
    assert [pp.payment_type for pp in note1.projected_payments] == [
        PaymentType.FIXED, PaymentType.CONTINGENT, PaymentType.CONTINGENT, PaymentType.CONTINGENT]
    assert note1.projected_payments[-1].amount == 1025.0  # "1,025.00"
    assert [(x.date, x.kind) for x in p.payments["NOTE1"]] == [
        (date(2020, 7, 15), PaymentKind.SCHEDULED), (date(2021, 1, 15), PaymentKind.SCHEDULED)]
    assert [x.kind for x in p.payments["NOTE2"]] == [PaymentKind.SCHEDULED, PaymentKind.REDEMPTION]
    lots = {lot.lot_id: lot for lot in p.lots}
    assert [lot.lot_id for lot in p.lots] == ["1001", "1002", "1003", "1004"]
    assert lots["1001"].cost_basis == 250000.0 and lots["1001"].disposition_date is None
    assert lots["1001"].basis_allocation is BasisAllocationMethod.PROPORTIONAL
    assert lots["1002"].basis_allocation is BasisAllocationMethod.STRAIGHT_LINE
    assert lots["1002"].allocate_to_maturity == 12.5 and lots["1002"].proceeds == 10100.0
    assert lots["1003"].holder_yield_pct == 6.5
    assert lots["1004"].basis_allocation is BasisAllocationMethod.MATURITY
    h1 = p.holders["H1"]
    assert h1.tin == "012345678"  # text: the leading zero stays
    assert h1.extra == (("advisor", "Bob"), ("Account Type", "IRA"))
    assert p.holders["H2"].extra == (("advisor", ""), ("Account Type", ""))


def xlsx_value(table: str, name: str, text: str):
    """A cell as a user would type it into Excel: numbers as numbers (lot ids too), the tin as
    text, and NOTE1's issue date as a real Excel date."""
    if text == "":
        return None
    if table == "instruments" and name == "issue_date" and text == "2020-01-15":
        return date(2020, 1, 15)
    kinds = {c.name: c.kind for c in TABLES[table]}
    if kinds.get(name) == "decimal" or name in ("lot_id", "frequency"):
        try:
            return float(text.replace(",", ""))
        except ValueError:
            return text  # a broken amount stays as typed
    return text


def write_workbook(path: Path, tables: dict[str, list[dict[str, str]]], blank_rows_above=0):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows in tables.items():
        sheet = workbook.create_sheet(name)
        header = list(csv.reader([csv_text(rows).splitlines()[0]]))[0]
        for _ in range(blank_rows_above):
            sheet.append([])
        sheet.append(header)
        for row in rows:
            sheet.append([xlsx_value(name, key, row.get(key, "")) for key in header])
    workbook.save(path)
    return path


def comparable(portfolio: Portfolio) -> Portfolio:
    return dataclasses.replace(portfolio, source="")


def test_good_workbook_equals_good_folder(tmp_path):
    folder = read(tmp_path)
    book = write_workbook(tmp_path / "book.xlsx", good())
    from_book = read_portfolio(book)
    assert from_book.problems == ()
    assert comparable(from_book) == comparable(folder)
    assert from_book.instruments["NOTE1"].issue_date == date(2020, 1, 15)
    assert [lot.lot_id for lot in from_book.lots][0] == "1001"  # 1001.0 read as an id


def test_good_workbook_without_calamine_uses_openpyxl(tmp_path, monkeypatch):
    book = write_workbook(tmp_path / "book.xlsx", good())
    with_calamine = read_portfolio(book)
    monkeypatch.setattr(tables_module, "python_calamine", None)
    with_openpyxl = read_portfolio(book)
    assert with_openpyxl == with_calamine and with_openpyxl.problems == ()


def test_real_fixture_loads_without_problems():
    p = read_portfolio(FIXTURE)
    assert p.problems == ()
    note = p.instruments["02687QCD8"]
    assert len(note.projected_payments) == 40
    assert note.projected_payments[0].period_start == note.issue_date
    assert note.projected_payments[-1].period_end == note.maturity_date
    assert p.payments == {"02687QCD8": ()} and p.lots == () and p.holders == {}


def test_headers_in_any_case_with_blanks_and_any_order(tmp_path):
    reference = read(tmp_path / "a")
    tables = good()
    texts = {}
    for name, rows in tables.items():
        header = list(rows[0])[::-1]  # reversed column order
        text = csv_text(rows, header)
        first, rest = text.split("\n", 1)
        messy = ",".join(f"  {h.upper()} " if i % 2 else h.title() for i, h in
                         enumerate(first.split(",")))
        texts[name] = messy + "\n" + rest
    messy = read_portfolio(write_folder(tmp_path / "b" / "input", texts))
    assert messy.problems == ()
    assert comparable(messy).instruments == comparable(reference).instruments
    assert messy.lots == reference.lots and messy.payments == reference.payments
    # extra holder columns keep the header as written (trimmed), in file order
    assert messy.holders["H1"].extra == (("Account Type", "IRA"), ("ADVISOR", "Bob"))


def test_optional_files_may_be_absent(tmp_path):
    p = read(tmp_path, payments=None, lots=None, holders=None)
    assert p.problems == () and p.lots == () and p.holders == {}
    assert p.payments == {"NOTE1": (), "NOTE2": ()}


def test_blank_lines_are_skipped_and_still_counted(tmp_path):
    text = csv_text([GOOD["lots"][0]]) + "\n,,,,,,,,,,\n" + csv_text(
        [{**GOOD_LOT, "cost_basis": "x"}]).split("\n", 1)[1]
    p = read(tmp_path, lots=text)
    assert_problem(only(p), "lots.csv", 5, "cost_basis", "is not a number")


def test_windows_1252_csv_is_read(tmp_path):
    folder = write_folder(tmp_path / "input", good())
    rows = good()["instruments"]
    rows[0]["description"] = "Société Générale note"
    (folder / "instruments.csv").write_bytes(csv_text(rows).encode("cp1252"))
    p = read_portfolio(folder)
    assert p.problems == ()
    assert p.instruments["NOTE1"].description == "Société Générale note"


def test_semicolon_delimited_csv_is_read(tmp_path):
    reference = read(tmp_path / "a")
    text = csv_text(good()["holders"]).replace(",", ";")
    p = read(tmp_path / "b", holders=text)
    assert p.problems == () and p.holders == reference.holders


# --- the whole input -------------------------------------------------------------------------


def test_input_path_that_does_not_exist_raises(tmp_path):
    with pytest.raises(InputError) as caught:
        read_portfolio(tmp_path / "nowhere")
    assert "not found" in str(caught.value)


def test_input_that_is_neither_folder_nor_workbook_raises(tmp_path):
    path = tmp_path / "lots.txt"
    path.write_text("hello")
    with pytest.raises(InputError) as caught:
        read_portfolio(path)
    assert "neither a folder nor an .xlsx" in str(caught.value)


def test_missing_required_file(tmp_path):
    p = read(tmp_path, schedule=None)
    problem = p.problems[0]
    assert_problem(problem, "schedule.csv", None, None, "missing from the input folder")
    assert p.instruments == {} and p.lots == ()
    assert set(p.rejected_lots) == {"1001", "1002", "1003", "1004"}


def test_missing_required_sheet(tmp_path):
    tables = good()
    del tables["instruments"]
    p = read_portfolio(write_workbook(tmp_path / "book.xlsx", tables))
    assert_problem(p.problems[0], "book.xlsx[instruments]", None, None, "no sheet named")


def test_damaged_workbook_is_a_problem_not_a_crash(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"this is not a zip file")
    p = read_portfolio(path)
    assert_problem(p.problems[0], "book.xlsx", None, None, "cannot read the workbook")
    assert p.instruments == {}


def test_empty_required_file(tmp_path):
    p = read(tmp_path, instruments="")
    assert_problem(p.problems[0], "instruments.csv", None, None, "the file is empty")


def test_missing_required_column_suggests_the_misspelling(tmp_path):
    text = csv_text(GOOD["lots"]).replace("principal_amount", "principle_amount", 1)
    p = read(tmp_path, lots=text)
    problem = only(p)
    assert_problem(problem, "lots.csv", None, "principal_amount", "required column")
    assert "principle_amount" in problem.fix
    assert p.lots == ()


def test_repeated_column_heading(tmp_path):
    lines = csv_text(GOOD["payments"]).splitlines()
    text = "\n".join([lines[0] + ",Amount"] + [line + ",999" for line in lines[1:]])
    p = read(tmp_path, payments=text)
    assert_problem(only(p), "payments.csv", 1, "Amount", "appears twice")
    assert p.payments == read(tmp_path / "reference").payments  # the first one is used


def test_workbook_rows_are_real_sheet_rows(tmp_path):
    tables = good()
    tables["lots"].append({**GOOD_LOT, "cost_basis": "$9,900"})
    p = read_portfolio(write_workbook(tmp_path / "my book.xlsx", tables, blank_rows_above=2))
    # header on sheet row 3, four good lots on rows 4-7, the bad one on row 8
    problem = only(p)
    assert_problem(problem, "my book.xlsx[lots]", 8, "cost_basis", "currency sign")
    assert problem.value == "$9,900"


# --- instruments.csv -------------------------------------------------------------------------

INSTRUMENT_ERRORS = [
    # (what, changes to NOTE1 on row 2, column, message fragment)
    ("issue not before maturity", {"issue_date": "2022-01-15"}, "maturity_date",
     "not after the issue date"),
    ("issue price zero", {"issue_price": "0"}, "issue_price", "greater than 0"),
    ("unit principal negative", {"unit_principal": "-1000"}, "unit_principal", "greater than 0"),
    ("yield with a % sign", {"comparable_yield_pct": "5.00%"}, "comparable_yield_pct", "% sign"),
    ("yield not a number", {"comparable_yield_pct": "five"}, "comparable_yield_pct",
     "not a number"),
    ("yield of -100%", {"comparable_yield_pct": "-100"}, "comparable_yield_pct", "above -100%"),
    ("frequency 3", {"frequency": "3"}, "frequency", "1, 2, 4 or 12 accrual periods per year"),
    ("frequency in words", {"frequency": "semiannual"}, "frequency", "1, 2, 4 or 12"),
    ("unknown day count", {"day_count": "ACT/366"}, "day_count",
     "30/360, 30E/360, 30E/360 ISDA, ACT/ACT, ACT/ACT ISDA, ACT/365F or ACT/360"),
    ("accept_residual not yes/no", {"accept_residual": "maybe"}, "accept_residual", "yes or no"),
    ("blank maturity", {"maturity_date": ""}, "maturity_date", "is blank"),
    ("impossible date", {"issue_date": "2020-02-30"}, "issue_date", "no such day"),
    ("US-style date", {"issue_date": "01/15/2020"}, "issue_date", "YYYY-MM-DD"),
    ("NaN price", {"issue_price": "NaN"}, "issue_price", "not a finite number"),
    ("infinite principal", {"unit_principal": "inf"}, "unit_principal", "not a finite number"),
    ("euro sign", {"issue_price": "€1000"}, "issue_price", "currency sign"),
]


@pytest.mark.parametrize("changes,column,fragment", [e[1:] for e in INSTRUMENT_ERRORS],
                         ids=[e[0] for e in INSTRUMENT_ERRORS])
def test_instrument_row_problem(tmp_path, changes, column, fragment):
    rows = good()["instruments"]
    rows[0].update(changes)
    p = read(tmp_path, instruments=rows)
    problem = only(p, "instruments.csv")
    assert_problem(problem, "instruments.csv", 2, column, fragment)
    assert problem.instrument_id == "NOTE1"
    assert "NOTE1" not in p.instruments and "NOTE2" in p.instruments
    # the instrument's lots are rejected, pointing at the problem
    rejected = p.rejected_lots["1001"][0]
    assert_problem(rejected, "lots.csv", 2, "instrument_id",
                   "instrument NOTE1 has input problems (see instruments.csv row 2)")


def test_currency_sign_message_says_remove_it(tmp_path):
    rows = good()["instruments"]
    rows[1]["issue_price"] = "$990.50"
    problem = only(read(tmp_path, instruments=rows), "instruments.csv")
    assert problem.value == "$990.50" and "remove the currency sign" in problem.fix


def test_accept_residual_and_day_count_aliases(tmp_path):
    rows = good()["instruments"]
    rows[0].update(day_count="act/act icma", accept_residual="Yes")
    rows[1].update(accept_residual="0")
    p = read(tmp_path, instruments=rows)
    assert p.problems == ()
    assert p.instruments["NOTE1"].comparable_yield.day_count is DayCount.ACT_ACT
    assert p.instruments["NOTE1"].accept_residual is True
    assert p.instruments["NOTE2"].accept_residual is False


def test_duplicate_instrument_names_both_rows(tmp_path):
    rows = good()["instruments"]
    rows.append(dict(rows[0]))
    p = read(tmp_path, instruments=rows)
    assert_problem(only(p, "instruments.csv"), "instruments.csv", 4, "instrument_id",
                   "instrument NOTE1 appears on rows 2 and 4")
    assert set(p.instruments) == {"NOTE2"}


# --- schedule.csv ----------------------------------------------------------------------------


def test_schedule_row_for_unknown_instrument(tmp_path):
    rows = good()["schedule"]
    rows.append({**rows[0], "instrument_id": "NOTE9"})
    p = read(tmp_path, schedule=rows)
    problem = only(p)
    assert_problem(problem, "schedule.csv", 10, "instrument_id", "NOTE9 is not in instruments.csv")
    assert problem.instrument_id == "NOTE9"
    assert set(p.instruments) == {"NOTE1", "NOTE2"}


@pytest.mark.parametrize("changes,column,fragment", [
    ({"payment_type": "floating"}, "payment_type", "fixed or contingent"),
    ({"period_end": "2021-13-15"}, "period_end", "no such day"),
    ({"period_start": ""}, "period_start", "is blank"),
    ({"projected_payment": "n/a"}, "projected_payment", "not a number"),
], ids=["payment type", "period end", "blank period start", "projected payment"])
def test_schedule_row_problem(tmp_path, changes, column, fragment):
    rows = good()["schedule"]
    rows[0].update(changes)
    p = read(tmp_path, schedule=rows)
    assert_problem(only(p, "schedule.csv"), "schedule.csv", 2, column, fragment)
    assert "NOTE1" not in p.instruments and "NOTE2" in p.instruments
    assert "see schedule.csv row 2" in p.rejected_lots["1002"][0].message


def test_instrument_with_no_schedule_rows(tmp_path):
    rows = [r for r in good()["schedule"] if r["instrument_id"] != "NOTE2"]
    p = read(tmp_path, schedule=rows)
    assert_problem(only(p, "instruments.csv"), "instruments.csv", 3, None,
                   "instrument NOTE2 has no rows in schedule.csv")
    assert set(p.instruments) == {"NOTE1"}


# --- payments.csv ----------------------------------------------------------------------------

PAYMENT_ERRORS = [
    # (what, row appended as payments.csv row 6, column, message fragment)
    ("unknown instrument", {"instrument_id": "NOTE9", "date": "2020-07-15", "amount": "1"},
     "instrument_id", "NOTE9 is not in instruments.csv"),
    ("unknown kind", {"instrument_id": "NOTE1", "date": "2021-07-15", "amount": "1",
                      "kind": "call"}, "kind", "scheduled or redemption"),
    ("duplicate", {"instrument_id": "NOTE1", "date": "2020-07-15", "amount": "25"}, None,
     "scheduled payment of NOTE1 on 2020-07-15 appears on rows 3 and 6"),
    ("not a period end", {"instrument_id": "NOTE1", "date": "2021-07-16", "amount": "30"},
     "date", "not a period_end of NOTE1's schedule"),
    ("redemption at maturity", {"instrument_id": "NOTE1", "date": "2022-01-15",
                                "amount": "1000", "kind": "redemption"}, "date",
     "a payment at maturity is a scheduled row"),
    ("second redemption", {"instrument_id": "NOTE2", "date": "2020-09-01", "amount": "100",
                           "kind": "redemption"}, "kind",
     "NOTE2 has a second redemption (the first is on row 4)"),
    ("amount not a number", {"instrument_id": "NOTE1", "date": "2021-07-15", "amount": "TBD"},
     "amount", "not a number"),
    ("blank date", {"instrument_id": "NOTE1", "date": "", "amount": "30"}, "date", "is blank"),
]


@pytest.mark.parametrize("row,column,fragment", [e[1:] for e in PAYMENT_ERRORS],
                         ids=[e[0] for e in PAYMENT_ERRORS])
def test_payment_row_problem(tmp_path, row, column, fragment):
    rows = good()["payments"] + [row]
    p = read(tmp_path, payments=rows)
    problem = only(p, "payments.csv")
    assert_problem(problem, "payments.csv", 6, column, fragment)
    assert problem.instrument_id == row["instrument_id"]
    assert row["instrument_id"] not in p.instruments  # a bad payment row: not usable


# --- holders.csv -----------------------------------------------------------------------------


def test_duplicate_holder_rejects_their_lots(tmp_path):
    rows = good()["holders"]
    rows.append({"holder_id": "H1", "name": "Alice again"})
    p = read(tmp_path, holders=rows)
    assert_problem(only(p, "holders.csv"), "holders.csv", 4, "holder_id",
                   "holder H1 appears on rows 2 and 4")
    assert "H1" not in p.holders and "H2" in p.holders
    assert set(p.rejected_lots) == {"1001", "1002"}
    message = p.rejected_lots["1001"][0].message
    assert "holder H1 has input problems (see holders.csv row 4)" in message


def test_lot_of_a_holder_missing_from_holders_file(tmp_path):
    lots = good()["lots"] + [{**GOOD_LOT, "holder_id": "H9"}]
    p = read(tmp_path, lots=lots)
    problem = only(p)
    assert_problem(problem, "lots.csv", 6, "holder_id", "holder H9 is not in holders.csv")
    assert (problem.holder_id, problem.lot_id) == ("H9", "9001")


def test_any_holder_is_fine_without_a_holders_file(tmp_path):
    lots = good()["lots"] + [{**GOOD_LOT, "holder_id": "H9"}]
    p = read(tmp_path, lots=lots, holders=None)
    assert p.problems == () and p.lots[-1].holder_id == "H9"


def test_tin_stays_text_in_a_workbook(tmp_path):
    tables = good()
    p = read_portfolio(write_workbook(tmp_path / "book.xlsx", tables))
    assert p.holders["H1"].tin == "012345678"
    assert p.holders["H2"].tin == "987-65-4321"


# --- lots.csv --------------------------------------------------------------------------------

LOT_ERRORS = [
    # (what, changes to a good NOTE1 lot on lots.csv row 3, column, message fragment)
    ("principal zero", {"principal_amount": "0"}, "principal_amount", "greater than 0"),
    ("principal not whole units", {"principal_amount": "10500"}, "principal_amount",
     "not a whole multiple of NOTE1's unit principal 1000"),
    ("acquired before issue", {"acquisition_date": "2020-01-14"}, "acquisition_date",
     "before the issue date 2020-01-15"),
    ("acquired at maturity", {"acquisition_date": "2022-01-15"}, "acquisition_date",
     "on or after the maturity date 2022-01-15"),
    ("acquired on the call date", {"instrument_id": "NOTE2", "principal_amount": "1000",
                                   "acquisition_date": "2020-12-01"}, "acquisition_date",
     "on or after the issuer call (redemption) on 2020-12-01"),
    ("cost negative", {"cost_basis": "-5"}, "cost_basis", "greater than 0"),
    ("cost blank", {"cost_basis": ""}, "cost_basis", "cost_basis is blank"),
    ("cost with a dollar sign", {"cost_basis": "$9,900.00"}, "cost_basis", "currency sign"),
    ("cost not a number", {"cost_basis": "about 9900"}, "cost_basis", "not a number"),
    ("cost NaN", {"cost_basis": "nan"}, "cost_basis", "not a finite number"),
    ("acquisition not a date", {"acquisition_date": "2020-02-30"}, "acquisition_date",
     "no such day"),
    ("sold on the purchase day", {"disposition_date": "2020-02-03", "proceeds": "9000"},
     "disposition_date", "not after the acquisition date 2020-02-03"),
    ("sold after maturity", {"disposition_date": "2022-01-16", "proceeds": "9000"},
     "disposition_date", "after the maturity date 2022-01-15"),
    ("sold after the call", {"instrument_id": "NOTE2", "principal_amount": "1000",
                             "acquisition_date": "2020-04-01", "disposition_date": "2020-12-02",
                             "proceeds": "1000"}, "disposition_date",
     "after the issuer call on 2020-12-01"),
    ("proceeds without a sale date", {"proceeds": "9000"}, "disposition_date",
     "proceeds are given but disposition_date is blank"),
    ("sale date without proceeds", {"disposition_date": "2021-02-01"}, "proceeds",
     "disposition_date is given but proceeds are blank"),
    ("negative proceeds", {"disposition_date": "2021-02-01", "proceeds": "-1"}, "proceeds",
     "cannot be negative"),
    ("unknown allocation", {"basis_allocation": "fifo"}, "basis_allocation",
     "proportional, straight_line, maturity or yield"),
    ("holder yield without yield", {"holder_yield_pct": "6"}, "holder_yield_pct",
     "used only with basis_allocation yield, not proportional"),
    ("holder yield not a number", {"basis_allocation": "yield", "holder_yield_pct": "six"},
     "holder_yield_pct", "not a number"),
    ("allocate to maturity with maturity", {"basis_allocation": "maturity",
                                            "allocate_to_maturity": "5"},
     "allocate_to_maturity", "used only with proportional or straight_line, not maturity"),
    ("allocate to maturity negative", {"allocate_to_maturity": "-5"}, "allocate_to_maturity",
     "cannot be negative"),
    ("unknown instrument", {"instrument_id": "NOPE"}, "instrument_id",
     "instrument NOPE is not in instruments.csv"),
    ("blank holder", {"holder_id": ""}, "holder_id", "holder_id is blank"),
]


@pytest.mark.parametrize("changes,column,fragment", [e[1:] for e in LOT_ERRORS],
                         ids=[e[0] for e in LOT_ERRORS])
def test_lot_row_problem(tmp_path, changes, column, fragment):
    lot = {**GOOD_LOT, **changes}
    p = read(tmp_path, lots=[GOOD["lots"][0], lot])
    problem = only(p)
    assert_problem(problem, "lots.csv", 3, column, fragment)
    assert problem.lot_id == "9001" and problem.holder_id == (lot["holder_id"] or None)
    assert problem.instrument_id == lot["instrument_id"]
    assert p.rejected_lots == {"9001": (problem,)}
    assert [x.lot_id for x in p.lots] == ["1001"]


def test_good_lot_variants_load(tmp_path):
    lots = [
        {**GOOD_LOT, "lot_id": "A", "principal_amount": "1,000.00", "basis_allocation": "Yield"},
        {**GOOD_LOT, "lot_id": "B", "basis_allocation": "straight line",
         "allocate_to_maturity": "0"},
        {**GOOD_LOT, "lot_id": "C", "disposition_date": "2022-01-15", "proceeds": "0"},
    ]
    p = read(tmp_path, lots=lots)
    assert p.problems == ()
    assert [x.basis_allocation for x in p.lots] == [
        BasisAllocationMethod.YIELD, BasisAllocationMethod.STRAIGHT_LINE,
        BasisAllocationMethod.PROPORTIONAL]
    assert p.lots[0].principal_amount == 1000.0 and p.lots[0].holder_yield_pct is None


def test_duplicate_lot_id_names_both_rows_and_rejects_both(tmp_path):
    lots = good()["lots"] + [{**GOOD_LOT, "lot_id": "1002"}]
    p = read(tmp_path, lots=lots)
    problem = only(p)
    assert_problem(problem, "lots.csv", 6, "lot_id", "lot 1002 appears on rows 3 and 6")
    assert p.rejected_lots == {"1002": (problem,)}
    assert [x.lot_id for x in p.lots] == ["1001", "1003", "1004"]


def test_lot_without_lot_id_is_keyed_by_its_place(tmp_path):
    p = read(tmp_path, lots=[GOOD["lots"][0], {**GOOD_LOT, "lot_id": ""}])
    assert_problem(only(p), "lots.csv", 3, "lot_id", "is blank")
    assert list(p.rejected_lots) == ["lots.csv row 3"]


def test_three_bad_lots_are_all_reported_and_good_lots_load(tmp_path):
    lots = good()["lots"]
    lots.insert(1, {**GOOD_LOT, "lot_id": "B1", "cost_basis": "£100"})
    lots.insert(3, {**GOOD_LOT, "lot_id": "B2", "acquisition_date": "2019-01-01",
                    "basis_allocation": "fifo"})
    lots.append({**GOOD_LOT, "lot_id": "B3", "instrument_id": "NOTE9"})
    p = read(tmp_path, lots=lots)
    located = sorted((x.lot_id, x.row, x.column) for x in p.problems)
    assert located == [("B1", 3, "cost_basis"), ("B2", 5, "acquisition_date"),
                       ("B2", 5, "basis_allocation"), ("B3", 8, "instrument_id")]
    assert set(p.rejected_lots) == {"B1", "B2", "B3"} and len(p.rejected_lots["B2"]) == 2
    assert [x.lot_id for x in p.lots] == ["1001", "1002", "1003", "1004"]


def test_lot_problems_print_as_one_line_each(tmp_path):
    p = read(tmp_path, lots=[{**GOOD_LOT, "cost_basis": "$9,900"}])
    assert str(only(p)) == (
        "lots.csv row 2, column cost_basis: '$9,900': has a currency sign; "
        "remove the currency sign and write a plain number such as 1000.00"
    )


# --- the column declarations -----------------------------------------------------------------


def formats_md_columns() -> dict[str, dict[str, str]]:
    """Column name → meaning for every input table of docs/formats.md ("### name.csv" under a
    "## Input" heading, then a table whose first cell names the column in backticks, up to the
    next heading: a "####" heading inside a table's section, such as broker_1099's "What cpdi
    writes from it", holds other tables, and the output files have sections of their own)."""
    tables: dict[str, dict[str, str]] = {}
    current = None
    inputs = False
    for line in FORMATS_MD.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            inputs = line.startswith("## Input")
        heading = re.match(r"### (\w+)\.csv", line) if inputs else None
        if heading:
            current = heading.group(1)
            tables[current] = {}
        elif current and line.startswith("| ") and not line.startswith("| column"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for name in cells[0].split(","):
                tables[current][name.strip().strip("`")] = cells[2]
        elif line.startswith(("## ", "### ", "#### ")):
            current = None
    return tables


def test_columns_are_those_of_formats_md():
    documented = formats_md_columns()
    assert set(documented) == set(TABLES)
    for table, columns in documented.items():
        declared = {c.name: c.meaning for c in TABLES[table]}
        assert declared == columns, table
    assert [c.name for c in TABLES["holders"]] == ["holder_id", "name", "tin", "filer_type"]
    assert not column("instruments", "accept_residual").required


def test_column_declarations_match_the_model():
    assert all(c.kind in KINDS for cols in TABLES.values() for c in cols)
    assert column("schedule", "payment_type").choices == tuple(t.value for t in PaymentType)
    assert column("payments", "kind").choices == tuple(k.value for k in PaymentKind)
    assert column("lots", "basis_allocation").choices == tuple(
        m.value for m in BasisAllocationMethod)
    assert column("instruments", "day_count").choices == tuple(d.value for d in DayCount)
    assert column("holders", "filer_type").choices == tuple(f.value for f in FilerType)
    assert column("lots", "basis_reported").choices == tuple(b.value for b in BasisReported)
    with pytest.raises(ValueError):
        Column("x", "money", False, "")


# --- speed -----------------------------------------------------------------------------------


def test_hundred_thousand_lots_read_quickly(tmp_path):
    folder = write_folder(tmp_path / "input", {**good(), "lots": None, "holders": None})
    lines = [",".join(LOT_COLUMNS)]
    for n in range(100_000):
        sold = n % 3 == 0
        lines.append(",".join([
            f"H{n % 500}", f"L{n}", "NOTE1" if n % 2 else "NOTE2",
            "10000" if n % 2 else "1000", "2020-06-01", f"{9900 + n % 100}.25",
            "2020-11-02" if sold else "", "9950" if sold else "",
            ("proportional", "straight_line", "maturity", "yield")[n % 4], "", "",
        ]))
    (folder / "lots.csv").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    p = read_portfolio(folder)
    elapsed = time.perf_counter() - started
    print(f"\n100,000 lots read and validated in {elapsed:.2f} s")
    assert p.problems == () and len(p.lots) == 100_000
    assert elapsed < 60  # generous: the target is a few seconds

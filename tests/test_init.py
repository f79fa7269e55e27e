"""`cpdi init`: the blank input workbook (docs/formats.md, "Input"), from the declarations.

The workbook is generated from the column declarations (``columns.TABLES``): its headers are the
declared names in order, its validation follows each column's kind, and its instructions sheet
lists every declared column.  The round trip fills it the way a preparer would (real Excel date
cells, ids and TINs as text) and reads it back through the public API.
"""

from __future__ import annotations

import zipfile
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter, range_boundaries

import cpdi.writers.blank_input as blank_input
from cpdi.readers import tables as tables_module
from cpdi.api import compute, load
from cpdi.readers.columns import TABLES
from cpdi.writers.blank_input import DECIMAL_BOUNDS, INSTRUCTIONS_SHEET, write_blank_input


@pytest.fixture
def blank(tmp_path) -> Path:
    return write_blank_input(tmp_path / "portfolio.xlsx")


def _validations(ws) -> dict[str, object]:
    """The sheet's data validations by the column letter they cover."""
    found = {}
    for dv in ws.data_validations.dataValidation:
        for cell_range in str(dv.sqref).split():
            min_col, min_row, max_col, max_row = range_boundaries(cell_range)
            assert min_col == max_col
            found[get_column_letter(min_col)] = (dv, min_row, max_row)
    return found


def _column_dimension(ws, index: int):
    """The column dimension covering column ``index`` (1-based): a writer may store adjacent
    columns of the same width and format as one range, which openpyxl keys by its first."""
    for dimension in ws.column_dimensions.values():
        if dimension.min is not None and dimension.min <= index <= dimension.max:
            return dimension
    raise AssertionError(f"{ws.title}: no width or format for column {index}")


# -- the workbook as written ------------------------------------------------------------------


def test_sheets_and_headers_come_from_the_declarations(blank):
    book = openpyxl.load_workbook(blank)
    assert book.sheetnames == [INSTRUCTIONS_SHEET, *TABLES]
    for name, columns in TABLES.items():
        ws = book[name]
        headers = [cell.value for cell in ws[1]]
        assert headers == [col.name for col in columns], name
        assert ws.freeze_panes == "A2", name
        assert ws.max_row == 1, f"{name}: the blank sheet has only its header row"
        for index, col in enumerate(columns, start=1):
            cell = ws.cell(1, index)
            assert bool(cell.font.b) is col.required, f"{name}.{col.name}"
            assert cell.fill.fgColor.rgb not in (None, "00000000"), f"{name}.{col.name}"
            assert cell.comment is not None, f"{name}.{col.name}"
            assert col.meaning.replace("`", "") in cell.comment.text
            assert ("required" if col.required else "optional") in cell.comment.text
            assert _column_dimension(ws, index).width >= len(col.name)
    # required and optional headers look different
    lots = book["lots"]
    # holder_id (required) against disposition_date (optional)
    assert lots["A1"].fill.fgColor.rgb != lots["G1"].fill.fgColor.rgb


def test_validation_and_formats_follow_the_column_kinds(blank):
    book = openpyxl.load_workbook(blank)
    for name, columns in TABLES.items():
        ws = book[name]
        validations = _validations(ws)
        for index, col in enumerate(columns, start=1):
            letter = get_column_letter(index)
            where = f"{name}.{col.name}"
            number_format = _column_dimension(ws, index).number_format
            if col.kind == "text":
                assert number_format == "@", where  # 00123, 02687QCD8 and TINs stay text
                assert letter not in validations, where
                continue
            dv, first, last = validations[letter]
            assert first == 2 and last >= 1001, where
            assert dv.showErrorMessage, where
            if col.kind == "date":
                assert dv.type == "date", where
                assert dv.prompt == "YYYY-MM-DD" and dv.showInputMessage, where
                assert number_format == "yyyy-mm-dd", where
            elif col.kind == "decimal":
                assert dv.type == "decimal", where
                if col.name in DECIMAL_BOUNDS:
                    criteria, value = DECIMAL_BOUNDS[col.name]
                    operator = {">": "greaterThan", ">=": "greaterThanOrEqual"}[criteria]
                    assert dv.operator == operator and float(dv.formula1) == value, where
            elif col.kind in ("choice", "bool") or col.choices:
                choices = col.choices if col.kind != "bool" else ("yes", "no")
                assert dv.type == "list", where
                assert dv.formula1 == '"' + ",".join(choices) + '"', where
                assert number_format == "@", where
    instruments = _validations(book["instruments"])
    for letter in ("E", "F"):  # issue_price, unit_principal
        assert (instruments[letter][0].operator, float(instruments[letter][0].formula1)) == (
            "greaterThan", 0.0)
    assert set(_validations(book["instruments"])) >= {"C", "D", "H", "I", "J"}


def test_decimal_bounds_name_declared_decimal_columns():
    decimals = {col.name for columns in TABLES.values() for col in columns if col.kind == "decimal"}
    assert set(DECIMAL_BOUNDS) <= decimals


def test_instructions_list_every_declared_column(blank):
    ws = openpyxl.load_workbook(blank)[INSTRUCTIONS_SHEET]
    rows = [tuple(cell.value for cell in row) for row in ws.iter_rows()]
    start = next(i for i, row in enumerate(rows) if row[:3] == ("sheet", "column", "required"))
    assert "meaning" in rows[start]
    meaning = rows[start].index("meaning")
    listed = [(r[0], r[1], r[2], r[meaning] or "") for r in rows[start + 1:] if r[0]]
    expected = [
        (name, col.name, "yes" if col.required else "no", col.meaning.replace("`", ""))
        for name, columns in TABLES.items() for col in columns
    ]
    assert listed == expected
    text = "\n".join(str(r[0]) for r in rows[:start] if r[0])
    for needle in ("per unit of principal", "whole-lot dollars", "YYYY-MM-DD",
                   "cpdi validate portfolio.xlsx", "cpdi compute portfolio.xlsx --through-year",
                   "cpdi workpapers portfolio.xlsx --year YYYY --out DIR", *TABLES):
        assert needle in text


def test_the_reader_reads_the_blank_workbook_as_empty(blank):
    portfolio = load(blank)
    assert not portfolio.instruments and not portfolio.lots and not portfolio.holders
    # a blank workbook is not silently "valid": it says there is nothing in it
    assert [p.message for p in portfolio.problems] == [
        "there are no instruments: nothing to check or compute"]
    assert portfolio.problems[0].file.endswith("[instruments]")
    for problem in portfolio.problems:  # the instructions sheet is never one of them
        assert INSTRUCTIONS_SHEET not in problem.file


def test_output_is_deterministic(tmp_path):
    first = write_blank_input(tmp_path / "a" / "book.xlsx")
    second = write_blank_input(tmp_path / "b" / "book.xlsx")
    assert first.read_bytes() == second.read_bytes()
    assert openpyxl.load_workbook(first).properties.created == blank_input.CREATED


# -- atomic writing ---------------------------------------------------------------------------


def test_writing_replaces_the_target_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"an older file")
    assert write_blank_input(target) == target
    assert zipfile.is_zipfile(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


def test_a_failed_write_leaves_the_old_target_and_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "book.xlsx"
    target.write_bytes(b"an older file")

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(blank_input, "_input_sheet", broken)
    with pytest.raises(RuntimeError):
        write_blank_input(target)
    assert target.read_bytes() == b"an older file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"]


# -- the round trip ---------------------------------------------------------------------------

CUSIP = "00123QAB7"  # leading zeros: Excel would drop them from a number
ISSUE, ENDS = date(2022, 12, 31), [date(2023, 12, 31), date(2024, 12, 31), date(2025, 12, 31)]
YIELD_PCT = 5.0
COUPONS = [30.0, 30.0]


def _closing_final_payment() -> float:
    """Annual ACT/ACT on anniversaries: every period's rate is the full yield (a regular period
    is 1/frequency of a year), so AIP_k = AIP_{k-1} × 1.05 − p_k and the final payment that
    brings the AIP to zero is AIP_2 × 1.05 (method §3)."""
    aip = 1000.0
    for coupon in COUPONS:
        aip = aip * (1 + YIELD_PCT / 100) - coupon
    return aip * (1 + YIELD_PCT / 100)


def _fill(ws, rows: list[dict[str, object]]) -> None:
    """Write ``rows`` under the header by header name, as a preparer types them."""
    headers = [cell.value for cell in ws[1]]
    for r, values in enumerate(rows, start=2):
        for name, value in values.items():
            ws.cell(r, headers.index(name) + 1, value)


@pytest.mark.parametrize("engine", ["calamine", "openpyxl"])
def test_round_trip_a_filled_in_workbook(blank, engine, monkeypatch):
    """Filled in as in Excel: dates are real date cells; in the text-formatted columns
    (ids, tin, the choice columns, frequency) what is typed is stored as text."""
    if engine == "openpyxl":
        monkeypatch.setattr(tables_module, "python_calamine", None)
    final = _closing_final_payment()
    book = openpyxl.load_workbook(blank)
    _fill(book["instruments"], [{
        "instrument_id": CUSIP, "description": "Three-year annual test note",
        "issue_date": ISSUE, "maturity_date": ENDS[-1], "issue_price": 1000,
        "unit_principal": 1000, "comparable_yield_pct": YIELD_PCT, "frequency": "1",
        "day_count": "ACT/ACT", "accept_residual": "no",
    }])
    starts = [ISSUE, *ENDS[:-1]]
    _fill(book["schedule"], [
        {"instrument_id": CUSIP, "period_start": start, "period_end": end,
         "projected_payment": amount, "payment_type": "contingent"}
        for start, end, amount in zip(starts, ENDS, [*COUPONS, final])
    ])
    _fill(book["payments"], [
        {"instrument_id": CUSIP, "date": end, "amount": amount, "kind": "scheduled"}
        for end, amount in zip(ENDS, [32.5, 27.25, final + 4.0])
    ])
    _fill(book["lots"], [
        {"holder_id": "H1", "lot_id": "000101", "instrument_id": CUSIP,
         "principal_amount": 100000, "acquisition_date": ISSUE, "cost_basis": 100000},
        {"holder_id": "H2", "lot_id": "000102", "instrument_id": CUSIP,
         "principal_amount": 50000, "acquisition_date": datetime(2024, 3, 15),
         "cost_basis": 51200.5, "basis_allocation": "proportional"},
    ])
    _fill(book["holders"], [
        {"holder_id": "H1", "name": "Alvarez Family Trust", "tin": "012345678"},
        {"holder_id": "H2", "name": "Northfield Pension Plan", "tin": "98-7654321"},
    ])
    book.save(blank)

    saved = openpyxl.load_workbook(blank)
    assert saved["instruments"]["C2"].is_date and saved["lots"]["E3"].is_date  # real Excel dates
    assert saved["instruments"]["A2"].data_type == "s"

    portfolio = load(blank)
    assert portfolio.problems == ()
    assert list(portfolio.instruments) == [CUSIP]
    instrument = portfolio.instruments[CUSIP]
    assert instrument.issue_date == ISSUE and instrument.maturity_date == ENDS[-1]
    assert [lot.lot_id for lot in portfolio.lots] == ["000101", "000102"]
    assert portfolio.holders["H1"].tin == "012345678"

    result = compute(portfolio, 2025)
    assert result.problems == []
    assert sorted(ledger.lot.lot_id for ledger in result.ledgers) == ["000101", "000102"]
    frame = result.frame()
    assert set(frame["lot_id"]) == {"000101", "000102"}
    assert set(frame["instrument_id"]) == {CUSIP}
    assert frame.groupby("lot_id")["tax_year"].max().to_dict() == {"000101": 2025, "000102": 2025}
    matured = frame[frame["tax_year"] == 2025]
    assert (matured["disposition_date"].astype(str) == "2025-12-31").all()

    # … and through `cpdi workpapers`, as a preparer would run it on the filled workbook
    from cpdi.cli import main as cli_main

    out = blank.parent / f"workpapers-{engine}"
    assert cli_main(["workpapers", str(blank), "--year", "2025", "--out", str(out), "--quiet",
                     "--workers", "1", "--prepared", "2026-01-15"]) == 0
    assert sorted(p.name for p in out.glob("*.xlsx")) == ["H1_2025.xlsx", "H2_2025.xlsx", "summary_2025.xlsx"]
    cover = openpyxl.load_workbook(out / "H1_2025.xlsx", data_only=True)["Cover"]
    texts = {str(c.value) for row in cover.iter_rows() for c in row if c.value is not None}
    assert "Alvarez Family Trust" in texts and "*****5678" in texts
    assert not any("012345678" in t for t in texts)

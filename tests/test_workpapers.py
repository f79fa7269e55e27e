"""Holder workpapers: Excel workbooks a reviewer can audit cell by cell.

The proof of a workpaper is that a real spreadsheet engine recomputes the engine's numbers:
every workbook below is recalculated by LibreOffice (tests/recalc.py, one
call for the whole batch) and every numeric cell of the recalculated copy must equal the value
cached in the original, and the key cells must equal the engine's ledger, within a cent.  Then
the hostile-input cases: formula injection, taxpayer ids, file and sheet names from ids, custom
and broken templates, determinism and atomic writing.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import pickle
import re
import time
import zipfile
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

import cpdi
from cpdi import api
from cpdi.engine.forms import Term
from cpdi.engine.ledger import LotLedger
from cpdi.engine.reconciliation import reconcile
from cpdi.model import BasisAllocationMethod, FilerType, Holder
from cpdi.problems import CpdiError, Problem
from cpdi.readers import Portfolio
from cpdi.synthetic import random_portfolio
from cpdi.writers import workpapers as wp
from cpdi.writers.template import DEFAULT_TEMPLATE, TemplateError, load_template, template_digest
from cpdi.readers.form_lines import load_form_mapping
from cpdi.writers.workpapers import (
    holder_file_name, holder_totals_row, mask_tin, summary_rows, write_exceptions_csv,
    write_holder_workbook, write_summary_workbook,
)
from cpdi.writers.workpapers.cells import CHECK_MARK
from cover_reader import cover_figures, expected_cover, form8949_rows
from recalc import recalculate
from builders import open_book

PREPARED = date(2026, 2, 15)
CENT = 0.01
SYNTHETIC_SEEDS = (3, 7, 11, 19, 23)


# -- helpers -------------------------------------------------------------------------------------
def synthetic(seed: int) -> Portfolio:
    """A synthetic portfolio whose holders take every filer type in turn (their Covers show
    each type's lines; corporations and exempt organisations get no 1099-B: boxes C and F)."""
    sp = random_portfolio(seed, instruments=6, holders=12)
    kinds = list(FilerType)
    holders = {hid: dataclasses.replace(h, filer_type=kinds[(i + seed) % len(kinds)])
               for i, (hid, h) in enumerate(sorted(sp.holders.items()))}
    return Portfolio(f"synthetic {seed}", sp.instruments, sp.payments, tuple(sp.lots), holders, ())


def by_holder(ledgers: list[LotLedger]) -> dict[str, list[LotLedger]]:
    out: dict[str, list[LotLedger]] = {}
    for ledger in ledgers:
        out.setdefault(ledger.lot.holder_id, []).append(ledger)
    return out


def rows_of(ledgers, year):
    return {y.lot_id: y for l in ledgers for y in l.years if y.tax_year == year}


def busiest_years(portfolio: Portfolio, count: int = 2) -> list[int]:
    """The years with the most dispositions (then most lot-years) — where lots have activity."""
    result = api.compute(portfolio, 2040)
    score = Counter()
    for row in result.rows:
        score[row.tax_year] += 1 + 10 * (row.disposition_date is not None)
    return [year for year, _ in score.most_common(count)]



def sheet_xml(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        return {n: archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith((".xml", ".rels"))}


TICK = re.compile(r" \[[A-Z]\]$")  # a table header's tick mark (cells.TICKS), e.g. "Days [R]"


def untick(text):
    return TICK.sub("", text) if isinstance(text, str) else text


def find_row(ws, label: str) -> int:
    for row in ws.iter_rows(min_col=1, max_col=1):
        if untick(row[0].value) == label:
            return row[0].row
    raise AssertionError(f"no row labelled {label!r} on {ws.title}")


def header_columns(ws, header_row: int) -> dict[str, int]:
    """A table's columns by their header label, tick marks left off."""
    return {untick(c.value): c.column for c in ws[header_row] if c.value is not None}


@dataclasses.dataclass
class Case:
    path: Path
    year: int
    rows: dict  # lot_id -> LotYear
    kind: str = "holder"
    ledgers: dict = dataclasses.field(default_factory=dict)  # lot_id -> LotLedger
    forms: object = None  # the holder's HolderForms (the forms layer's figures)
    reconciliation: tuple = ()  # the holder's broker reconciliation lines


def case(path: Path, year: int, ledgers, forms=None, reconciliation=()) -> Case:
    return Case(path, year, rows_of(ledgers, year), "holder", {l.lot.lot_id: l for l in ledgers}, forms,
                tuple(reconciliation))


def broker_lines(portfolio: Portfolio, year: int, result, forms: dict) -> dict[str, tuple]:
    """The portfolio's broker figures of ``year`` reconciled (cpdi.engine.reconciliation), by
    holder."""
    schedules = {iid: book.schedule for iid, book in result.books.items()
                 if book.schedule is not None and book.validation.usable}
    lines = reconcile(portfolio.broker_1099, forms, result.ledgers, year, schedules)
    out: dict[str, tuple] = {}
    for line in lines:
        out[line.holder_id] = out.get(line.holder_id, ()) + (line,)
    return out


# -- the batch recalculated once by LibreOffice ------------------------------------------------------
@pytest.fixture(scope="module")
def recalculated(tmp_path_factory, libreoffice):  # libreoffice: skips, or fails under CI, without it
    out = tmp_path_factory.mktemp("workpapers")
    template = load_template()
    cases: list[Case] = []

    # the bundled example through 2025 (with its broker figures reconciled), and 2024 (L-0007's sale)
    example = api.load(cpdi.example_path())
    mapping = load_form_mapping()
    for year in (2025, 2024):
        result = api.compute(example, year)
        forms = api.forms(example, year, result, mapping)
        broker = broker_lines(example, year, result, forms)
        for holder_id, ledgers in by_holder(result.ledgers).items():
            rows = rows_of(ledgers, year)
            if not rows:
                continue
            path = out / f"example-{holder_file_name(holder_id, year)}"
            write_holder_workbook(path, example.holders.get(holder_id), holder_id, year, ledgers,
                                  result.books, template, PREPARED, result.problems, forms=forms[holder_id],
                                  mapping=mapping, reconciliation=broker.get(holder_id, ()))
            cases.append(case(path, year, ledgers, forms[holder_id], broker.get(holder_id, ())))
    # the cover's long-sum fallback: figures through the Lots sheet's totals (cells.FORMULA_LIMIT
    # is read when the Cover is written)
    result = api.compute(example, 2025)
    ledgers = by_holder(result.ledgers)["H-1002"]
    saved, wp.cells.FORMULA_LIMIT = wp.cells.FORMULA_LIMIT, 10
    try:
        path = out / "fallback-H-1002_2025.xlsx"
        forms_1002 = api.forms(example, 2025, result)["H-1002"]  # with the broker's 1099-B basis (code B)
        write_holder_workbook(path, example.holders["H-1002"], "H-1002", 2025, ledgers, result.books,
                              template, PREPARED, forms=forms_1002)
        cases.append(case(path, 2025, ledgers, forms_1002))
    finally:
        wp.cells.FORMULA_LIMIT = saved

    # synthetic portfolios: sales, calls, maturities, premiums, discounts, every method
    for seed in SYNTHETIC_SEEDS:
        portfolio = synthetic(seed)
        for year in busiest_years(portfolio):
            result = api.compute(portfolio, year)
            assert not result.problems
            forms = api.forms(portfolio, year, result)
            for holder_id, ledgers in by_holder(result.ledgers).items():
                rows = rows_of(ledgers, year)
                if not rows:
                    continue
                path = out / f"s{seed}-{holder_file_name(holder_id, year)}"
                write_holder_workbook(path, portfolio.holders[holder_id], holder_id, year, ledgers,
                                      result.books, template, PREPARED)
                cases.append(case(path, year, ledgers, forms[holder_id]))

    # hostile ids: sheet names that need cleaning, truncating, de-duplicating and quoting
    hostile = hostile_portfolio()
    result = api.compute(hostile, 2025)
    forms = api.forms(hostile, 2025, result)
    for holder_id, ledgers in by_holder(result.ledgers).items():
        path = out / f"hostile-{holder_file_name(holder_id, 2025)}"
        write_holder_workbook(path, hostile.holders.get(holder_id), holder_id, 2025, ledgers,
                              result.books, template, PREPARED)
        cases.append(case(path, 2025, ledgers, forms[holder_id]))

    # (b)(9)(ii): the regulation's (b)(9)(ii)(H) note with a payment fixed early, and the same
    # note with both payments fixed together ((b)(9)(ii)(G)): the adjustment on the fixing
    # date, the spread, a sale with gain kept ordinary by (b)(8)(iii)(B), an allocation to the
    # payment at maturity moved to its fixing date ((b)(9)(ii)(E)), retirement at maturity
    fixings = api.load(Path(__file__).resolve().parent / "fixtures" / "fixings")
    for year in (1998, 2000, 2001, 2002):
        result = api.compute(fixings, year)
        assert not result.problems
        forms = api.forms(fixings, year, result)
        for holder_id, ledgers in by_holder(result.ledgers).items():
            if not rows_of(ledgers, year):
                continue
            path = out / f"fixings-{holder_file_name(holder_id, year)}"
            write_holder_workbook(path, fixings.holders[holder_id], holder_id, year, ledgers,
                                  result.books, template, PREPARED, forms=forms[holder_id])
            cases.append(case(path, year, ledgers, forms[holder_id]))

    # the batch summary, with the return's totals by character
    result = api.compute(example, 2025)
    summary = summary_rows(by_holder(result.ledgers), example.holders, 2025)
    forms = api.forms(example, 2025, result)
    broker = broker_lines(example, 2025, result, forms)
    totals = [holder_totals_row(f, example.holders.get(h), None, broker.get(h, ())) for h, f in forms.items()]
    path = write_summary_workbook(out / "summary-2025.xlsx", 2025, summary, template, PREPARED, 4, 1,
                                  totals=totals)
    cases.append(Case(path, 2025, rows_of(result.ledgers, 2025), "summary", forms=forms,
                      reconciliation=tuple(line for lines in broker.values() for line in lines)))

    # a canary: a cached value LibreOffice must overwrite, proving it recalculated
    canary = out / "canary.xlsx"
    book = xlsxwriter.Workbook(str(canary))
    book.add_worksheet().write_formula(0, 0, "=1+1", None, 5)
    book.close()

    files = [str(c.path) for c in cases] + [str(canary)]
    assert len({Path(f).name for f in files}) == len(files), "recalculate needs distinct file names"
    recalc_dir = out / "recalculated"
    copies = recalculate(files, recalc_dir, soffice=libreoffice, timeout=900)  # raises on any failure
    assert sorted(copies.values()) == sorted(recalc_dir / Path(f).name for f in files)
    assert open_book(recalc_dir / "canary.xlsx").active["A1"].value == 2, "LibreOffice did not recalculate"
    return cases, recalc_dir


def hostile_portfolio() -> Portfolio:
    """The example with ids a file system and Excel would choke on."""
    example = api.load(cpdi.example_path())
    lot_ids = {"L-0001": "A" * 40 + "1", "L-0002": "A" * 40 + "2",  # both of H-1001
               "L-0003": "O'Neil [2]: a/b*c?", "L-0004": "'quoted'"}
    holder_ids = {"H-1001": "../../etc/passwd", "H-1002": "a/b\\c"}
    old, new = "US00EQLN2029", "O'Brien [EQ]/2029 = Lots"
    lots = tuple(
        dataclasses.replace(lot, lot_id=lot_ids.get(lot.lot_id, lot.lot_id),
                            holder_id=holder_ids.get(lot.holder_id, lot.holder_id),
                            instrument_id=new if lot.instrument_id == old else lot.instrument_id)
        for lot in example.lots
    )
    holders = {holder_ids.get(k, k): dataclasses.replace(h, holder_id=holder_ids.get(k, k))
               for k, h in example.holders.items()}
    instruments = {(new if k == old else k): (dataclasses.replace(i, instrument_id=new) if k == old else i)
                   for k, i in example.instruments.items()}
    payments = {(new if k == old else k): tuple(dataclasses.replace(p, instrument_id=new) for p in v)
                if k == old else v for k, v in example.payments.items()}
    return dataclasses.replace(example, lots=lots, holders=holders, instruments=instruments,
                               payments=payments)


FIXING_BOOKS = {}


def ledger_fixings(ledger):
    """The (b)(9)(ii) fixings of a ledger's instrument (tests/fixtures/fixings) that the lot
    held the fixing date of."""
    if not FIXING_BOOKS:
        FIXING_BOOKS.update(api.instrument_books(
            api.load(Path(__file__).resolve().parent / "fixtures" / "fixings")))
    book = FIXING_BOOKS.get(ledger.lot.instrument_id)
    return [] if book is None else [f for f in book.schedule.fixings if ledger.holding.holds(f.fixed_on)]


def test_cases_cover_every_kind_of_activity(recalculated):
    """The batch really exercises sales, calls, maturities, premiums, discounts, netting losses
    and every allocation method — otherwise the recalculation proves less than it seems."""
    cases, _ = recalculated
    holders = [c for c in cases if c.kind == "holder"]
    rows = [row for c in holders for row in c.rows.values()]
    assert {"sale", "call", "maturity", ""} <= {row.ending for row in rows}
    assert any(row.carryforward_in > 0 for row in rows)
    assert any(row.ordinary_loss > 0 for row in rows)
    assert any(row.ordinary_loss_on_disposition > 0 for row in rows)
    assert any(row.ordinary_income_on_disposition > 0 for row in rows)
    ledgers = [c.ledgers[lot_id] for c in holders for lot_id in c.rows]
    lots = [ledger.lot for ledger in ledgers]
    assert {lot.basis_allocation for lot in lots} == set(BasisAllocationMethod)
    assert any(ledger.allocation.difference > 1 for ledger in ledgers)  # bought at a discount
    assert any(ledger.allocation.difference < -1 for ledger in ledgers)  # bought at a premium
    assert any(ledger.allocation.at_dates for ledger in ledgers)
    assert any(lot.allocate_to_maturity for lot in lots)
    assert any(lot.holder_yield_pct is not None for lot in lots)
    # (b)(9)(ii): adjustments on a fixing date and spread, and gain kept ordinary (b)(8)(iii)(B)
    assert any(row.fixing_adjustments > 0 for row in rows)
    assert any(row.unaccrued_positive_adjustment > 0 and row.capital_gain_on_disposition > 0
               for row in rows)
    assert any(f.spread for ledger in ledgers for f in ledger_fixings(ledger))
    assert any(not f.spread for ledger in ledgers for f in ledger_fixings(ledger))
    assert len(holders) >= 30


def test_recalculation_reproduces_every_cached_number(recalculated):
    """Every numeric cell LibreOffice recalculates equals the value written beside the formula."""
    cases, recalc_dir = recalculated
    checked = 0
    for case in cases:
        original = open_book(case.path)
        formulas = open_book(case.path, data_only=False)
        again = open_book(recalc_dir / case.path.name)
        assert again.sheetnames == original.sheetnames
        for ws in original.worksheets:
            ws_again, ws_formulas = again[ws.title], formulas[ws.title]
            coordinates = {c.coordinate for rows in (ws_formulas.iter_rows(), ws_again.iter_rows())
                           for row in rows for c in row}
            for coordinate in sorted(coordinates):
                cell = ws_formulas[coordinate]
                cached = ws[coordinate].value
                value = ws_again[coordinate].value
                where = f"{case.path.name} {ws.title}!{coordinate} {cell.value!r}"
                if cell.data_type == "f":
                    assert cached is not None, f"{where}: no cached value"
                if isinstance(cached, bool) or isinstance(value, bool):
                    assert cached == value, where
                elif isinstance(cached, (int, float)):
                    assert isinstance(value, (int, float)), f"{where}: recalculated {value!r}"
                    assert value == pytest.approx(cached, abs=CENT), where
                    checked += 1
                elif isinstance(value, (int, float)):
                    raise AssertionError(f"{where}: cached {cached!r}, recalculated {value!r}")
                elif isinstance(cached, datetime):
                    assert value == cached, where
    assert checked > 5000


def test_recalculated_key_cells_equal_the_engine(recalculated):
    """Each lot's figures (through the Lots sheet's links) and the cover totals, recalculated,
    equal the engine's ledger rows within a cent."""
    cases, recalc_dir = recalculated
    t = load_template()
    lots_labels = t.tables["lots"].labels
    figures = {
        "interest_income": "interest_income", "ordinary_loss": "ordinary_loss",
        "carryforward_out": "carryforward_out", "adjusted_basis_end": "adjusted_basis_end",
        "amount_realized": "amount_realized", "gain_loss": "gain_loss",
        "ordinary_income_on_disposition": "ordinary_income_on_disposition",
        "ordinary_loss_on_disposition": "ordinary_loss_on_disposition",
        "capital_loss_on_disposition": "capital_loss_on_disposition",
        "capital_gain_on_disposition": "capital_gain_on_disposition",
        "consideration": "consideration",
    }
    lots_checked = 0
    for case in (c for c in cases if c.kind == "holder"):
        book = open_book(recalc_dir / case.path.name)
        lots = book[book.sheetnames[1]]
        cols = header_columns(lots, 5)
        seen = set()
        for r in range(6, lots.max_row + 1):
            lot_id = lots.cell(r, cols[lots_labels["lot_id"]]).value
            if lot_id not in case.rows:
                continue
            row = case.rows[lot_id]
            seen.add(lot_id)
            for figure, field in figures.items():
                value = lots.cell(r, cols[lots_labels[figure]]).value
                expected = getattr(row, field)
                if value is None:  # disposition columns of a lot still held
                    assert row.disposition_date is None and figure in wp.FIGURES_DISPOSITION
                    continue
                assert value == pytest.approx(expected, abs=CENT), (case.path.name, lot_id, figure)
            lots_checked += 1
        assert seen == set(case.rows), case.path.name

        _assert_cover_is_the_forms_layer(book, case, t)
    assert lots_checked > 50


def _assert_cover_is_the_forms_layer(book, case: Case, t) -> None:
    """The recalculated Cover's amounts equal the forms layer's (cpdi forms), its ledger column
    is the forms layer's, and every check cell reads ✓."""
    cover = book[book.sheetnames[0]]
    lines, boxes = cover_figures(cover, t, case.year)
    want_lines, want_boxes = expected_cover(case.forms, None, t, case.year)
    assert set(lines) == set(want_lines), case.path.name
    assert set(boxes) == set(want_boxes), case.path.name
    for label, want in want_lines.items():
        got = lines[label]
        assert got["amount"] == pytest.approx(want["amount"], abs=CENT), (case.path.name, label)
        assert got["ledger"] == pytest.approx(want["amount"], abs=CENT), (case.path.name, label)
        assert got["lots_check"] == CHECK_MARK and got["ledger_check"] == CHECK_MARK, (case.path.name, label)
    for label, want in want_boxes.items():
        got = boxes[label]
        for cid, value in want.items():
            if cid == "line":
                assert got[cid] == value, (case.path.name, label)
            else:
                assert got[cid] == pytest.approx(value, abs=CENT), (case.path.name, label, cid)
        assert got["ledger_check"] == CHECK_MARK, (case.path.name, label)
    if boxes:
        assert boxes[t.line("all_boxes", case.year)]["lots_check"] == CHECK_MARK, case.path.name


def test_the_cover_falls_back_on_the_lots_sheet_totals(recalculated):
    """A sum of lot-sheet cells too long for one formula becomes the Lots sheet's column total
    (negated for a loss), and the Cover says so."""
    cases, _ = recalculated
    case = next(c for c in cases if c.path.name == "fallback-H-1002_2025.xlsx")
    cover = open_book(case.path, data_only=False)["Cover"]
    t = load_template()
    amounts = {}
    for row in cover.iter_rows(min_col=1, max_col=7):
        if row[0].value in (t.line("interest_income"),
                            f"{t.line('ordinary_loss')} ({t.line('entered_negative')})"):
            amounts[row[0].value] = (row[2].value, row[6].value)
    (interest, see), (loss, _) = amounts.values()
    assert re.fullmatch(r"='Lots'!\$?[A-Z]+\$?\d+", interest) and see.startswith(t.line("see_lots"))
    assert re.fullmatch(r"=-\('Lots'!\$?[A-Z]+\$?\d+\)", loss)


def test_every_disposed_lot_has_one_form_8949_line_of_its_capital_part(recalculated):
    """Recalculated, the Form 8949 sheet has one line per lot disposed of in the year, no other,
    and its column (h) is the ledger's capital part (capital gain − capital loss), its (d) the
    consideration, its (e) the adjusted basis at disposition — or, on a box A/D line with the
    broker's 1099-B basis, that basis, corrected in (g) by the difference (code B) — its (g)
    what makes (d) − (e) + (g) = (h) — the check cell reads ✓ — and its box the forms layer's."""
    cases, recalc_dir = recalculated
    t = load_template()
    checked = 0
    for case in (c for c in cases if c.kind == "holder"):
        ws = open_book(recalc_dir / case.path.name)["Form 8949"]
        rows = form8949_rows(ws, t)
        sold = {lot_id: row for lot_id, row in case.rows.items() if row.disposition_date is not None}
        assert set(rows) == set(sold), case.path.name
        boxes = {line.lot_id: line for line in case.forms.form8949}
        for lot_id, row in sold.items():
            got = rows[lot_id]
            capital = row.capital_gain_on_disposition - row.capital_loss_on_disposition
            assert got["gain_loss"] == pytest.approx(capital, abs=CENT), (case.path.name, lot_id)
            assert got["proceeds"] == pytest.approx(row.consideration, abs=CENT)
            line = boxes[lot_id]
            assert line.cpdi_basis == pytest.approx(row.adjusted_basis_end, abs=CENT)
            assert got["cost_basis"] == pytest.approx(line.cost_basis, abs=CENT)
            assert line.basis_adjustment == pytest.approx(line.cost_basis - row.adjusted_basis_end)
            assert got["proceeds"] - got["cost_basis"] + got["adjustment"] == pytest.approx(got["gain_loss"], abs=CENT)
            assert got["check"] == CHECK_MARK
            ordinary = row.ordinary_income_on_disposition - row.ordinary_loss_on_disposition
            assert got["ordinary"] == pytest.approx(ordinary, abs=CENT)
            assert (got["box"], got["term"]) == (boxes[lot_id].box, boxes[lot_id].term.value)
            assert got["date_sold"].date() == row.disposition_date
            checked += 1
    assert checked >= 20


def test_the_cases_put_every_box_and_filer_type_on_a_cover(recalculated):
    """The recalculated workbooks reach every filer type, short and long term, and boxes with
    and without a 1099-B — otherwise the checks above prove less than they seem."""
    cases, _ = recalculated
    holders = [c for c in cases if c.kind == "holder"]
    assert {c.forms.filer_type for c in holders} == set(FilerType)
    lines = [line for c in holders for line in c.forms.form8949]
    assert {line.term for line in lines} == set(Term)
    assert {"C", "F"} & {line.box for line in lines} and {"A", "B", "D", "E"} & {line.box for line in lines}
    assert any(c.reconciliation for c in holders)


def test_the_broker_reconciliation_recalculates_to_the_engines(recalculated):
    """Each broker figure's row, recalculated: cpdi's amount and the difference are the
    reconciliation's, the flag its judgement, and the Cover counts the ✗."""
    cases, recalc_dir = recalculated
    t = load_template()
    layout = t.tables["reconciliation"]
    checked = 0
    for case in (c for c in cases if c.kind == "holder" and c.reconciliation):
        book = open_book(recalc_dir / case.path.name)
        ws = book[t.sheet("reconciliation")]
        header = find_row(ws, layout.labels["form"])
        cols = header_columns(ws, header)
        for offset, line in enumerate(case.reconciliation, start=1):
            value = lambda cid: ws.cell(header + offset, cols[layout.labels[cid]]).value  # noqa: E731
            assert (value("form"), value("box")) == (line.form, line.box)
            assert value("cpdi_amount") == pytest.approx(line.cpdi_amount, abs=CENT)
            assert value("difference") == pytest.approx(line.difference, abs=CENT)
            assert value("flag") == (CHECK_MARK if line.explained else wp.cells.FLAG_MARK)
            checked += 1
        cover = book["Cover"]
        r = find_row(cover, t.line("broker_unexplained"))
        assert cover.cell(r, 2).value == sum(1 for x in case.reconciliation if not x.explained)
    assert checked >= 3


def test_no_cover_total_adds_ordinary_and_capital(recalculated):
    """Every formula of every Cover names cells of one character only: the ordinary lines the
    lot sheets' ordinary figures (and the Lots sheet's columns of them), the carried line the
    carryforward, the Form 8949 boxes the Form 8949 sheet (and the Lots sheet's capital
    columns) — never an ordinary and a capital amount in one total."""
    cases, _ = recalculated
    checked = 0
    for case in (c for c in cases if c.kind == "holder"):
        book = open_book(case.path, data_only=False)
        checked += len(cover_formula_characters(book, load_template(), case.year))
    assert checked > 500


ORDINARY = {"interest_income", "ordinary_loss", "ordinary_income_on_disposition", "ordinary_loss_on_disposition"}
CAPITAL = {"capital_gain_on_disposition", "capital_loss_on_disposition"}
REF = re.compile(r"(?:'((?:[^']|'')+)'|([A-Za-z0-9_.]+))!\$?([A-Z]+)\$?(\d+)(?::\$?([A-Z]+)\$?(\d+))?"
                 r"|(?<![A-Za-z'!])\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?")


def cover_formula_characters(book, t, year: int) -> dict[str, set]:
    """Each Cover formula cell -> the characters of the cells it names (asserted to be one)."""
    from openpyxl.utils import column_index_from_string

    lots = book["Lots"]
    lots_cols = header_columns(lots, 5)
    figure_of_column = {lots_cols[label]: cid for cid, label in t.tables["lots"].labels.items() if label in lots_cols}
    figure_of_ref = {}  # 'Lot L-1'!G40 -> figure, from the Lots sheet's links
    for r in range(6, lots.max_row + 1):
        for col, figure in figure_of_column.items():
            value = lots.cell(r, col).value
            if isinstance(value, str) and value.startswith("="):
                figure_of_ref[value[1:]] = figure

    def character(figure: str) -> str:
        if figure in ORDINARY:
            return "ordinary"
        if figure in CAPITAL:
            return "capital"
        return "carried" if figure == "carryforward_out" else f"other:{figure}"

    cover = book["Cover"]
    capital_from = find_row(cover, t.section("cover_capital", year))
    row_character = {}
    out = {}
    for row in cover.iter_rows():
        for cell in row:
            if not (isinstance(cell.value, str) and cell.value.startswith("=")):
                continue
            kinds = set()
            for m in REF.finditer(cell.value[1:]):
                sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
                if sheet:
                    col, r = column_index_from_string(m.group(3)), int(m.group(4))
                    text = f"'{sheet.replace(chr(39), chr(39) * 2)}'!{m.group(3)}{m.group(4)}"
                    if sheet == "Lots":
                        kinds.add(character(figure_of_column[col]))
                    elif sheet == "Form 8949" or sheet == t.sheet("reconciliation"):
                        kinds.add("capital" if sheet == "Form 8949" else "count")
                    else:
                        kinds.add(character(figure_of_ref[text]))
                else:  # cells of the Cover: the character of their rows
                    first = int(m.group(8))
                    for r in range(first, int(m.group(10) or first) + 1):
                        kinds.add(row_character.get(r, "capital" if r >= capital_from else "?"))
            kinds -= {"count", "constant"}
            assert len(kinds) <= 1, f"{cover.title}!{cell.coordinate} {cell.value}: {kinds}"
            if cell.row < capital_from:  # the row's amount: what its other cells are of
                row_character.setdefault(cell.row, next(iter(kinds)) if kinds else "constant")
            out[cell.coordinate] = kinds
    return out


def test_lot_sheet_formulas_follow_the_method(recalculated):
    """Spot-check the formulas themselves on the example's sale (L-0003, 2025)."""
    cases, _ = recalculated
    case = next(c for c in cases if c.path.name == "example-H-1002_2025.xlsx")
    book = open_book(case.path, data_only=False)
    ws = book["Lot L-0003"]
    t = load_template()
    value = wp.KV_VALUE + 1

    def formula(key):
        return ws.cell(find_row(ws, t.line(key, 2025)), value).value

    assert re.fullmatch(r"=MIN\(G\d+,MAX\(G\d+,0\)\)", formula("interest_reduction"))
    assert re.fullmatch(r"=G\d+\+G\d+-G\d+", formula("netted_interest_income"))
    assert re.fullmatch(r"=MIN\(G\d+-G\d+,MAX\(0,G\d+\+G\d+-G\d+\)\)", formula("netted_ordinary_loss"))
    assert formula("disposition_ordinary_income").startswith("=IF(")
    assert formula("units").startswith("=G")
    # the accrual rows read the instrument sheet's daily portions
    accrual_header = find_row(ws, t.tables["accrual"].labels[t.tables["accrual"].order[0]])
    cols = header_columns(ws, accrual_header)
    daily = ws.cell(accrual_header + 1, cols[t.tables["accrual"].labels["daily_portion"]]).value
    assert daily.startswith("='02687QCD8'!I")
    # the instrument table chains AIP from the issue price cell
    inst = book["02687QCD8"]
    header = find_row(inst, t.tables["schedule"].labels["period"])
    cols = header_columns(inst, header)
    aip = cols[t.tables["schedule"].labels["aip_start"]]
    issue_price = find_row(inst, t.line("issue_price"))
    assert inst.cell(header + 1, aip).value == f"=G{issue_price}"
    assert re.fullmatch(r"=L\d+", inst.cell(header + 2, aip).value)
    assert any(name.startswith("xl/charts/chart") for name in sheet_xml(case.path))


def test_summary_workbook(recalculated):
    cases, recalc_dir = recalculated
    case = next(c for c in cases if c.kind == "summary")
    ws = open_book(recalc_dir / case.path.name).active
    t = load_template()
    assert ws.cell(find_row(ws, t.line("holders_ok")), 4).value == 4
    assert ws.cell(find_row(ws, t.line("holders_failed")), 4).value == 1
    cols = header_columns(ws, 9)
    total = find_row(ws, t.line("total"))
    income = ws.cell(total, cols[t.tables["summary"].labels["interest_income"]]).value
    assert income == pytest.approx(sum(r.interest_income for r in case.rows.values()), abs=CENT)
    formulas = open_book(case.path, data_only=False).active
    assert formulas.cell(total, cols[t.tables["summary"].labels["interest_income"]]).value.startswith("=SUM(")
    holders = {ws.cell(r, 1).value for r in range(10, total)}
    assert holders == {"H-1001", "H-1002", "H-1003", "H-1004"}
    # the return's totals by character: one row per holder, each column one character
    layout = t.tables["summary_forms"]
    header = find_row(ws, t.section("summary_forms", 2025)) + 1
    cols = header_columns(ws, header)
    rows = {ws.cell(r, 1).value: r for r in range(header + 1, header + 1 + len(case.forms))}
    assert set(rows) == set(case.forms)
    for holder_id, forms in case.forms.items():
        value = lambda cid: ws.cell(rows[holder_id], cols[layout.labels[cid]]).value  # noqa: E731
        assert value("filer_type") == forms.filer_type.value
        assert value("ordinary_income") == pytest.approx(
            forms.total("interest_income") + forms.total("ordinary_income_on_disposition"), abs=CENT)
        assert value("ordinary_losses") == pytest.approx(
            -forms.total("ordinary_loss") - forms.total("ordinary_loss_on_disposition"), abs=CENT)
        assert value("short_term") == pytest.approx(
            sum(x.gain_loss for x in forms.form8949 if x.box in "ABC"), abs=CENT)
        assert value("long_term") == pytest.approx(
            sum(x.gain_loss for x in forms.form8949 if x.box in "DEF"), abs=CENT)
        assert value("carryforward_out") == pytest.approx(forms.total("carryforward_out"), abs=CENT)
    total_row = header + 1 + len(case.forms)
    assert ws.cell(total_row, 1).value == t.line("total")
    assert ws.cell(total_row, cols[layout.labels["ordinary_income"]]).value == pytest.approx(
        sum(f.total("interest_income") + f.total("ordinary_income_on_disposition") for f in case.forms.values()),
        abs=CENT)
    unexplained = sum(1 for line in case.reconciliation if not line.explained)
    assert ws.cell(total_row, cols[layout.labels["unexplained"]]).value == unexplained


# -- formula injection -----------------------------------------------------------------------------
INJECTIONS = ['=HYPERLINK("http://x","y")', "+SUM(1,2)", "-x", "@SUM(1)", "<r><t>x</t></r>",
              "=1+1\x01"]


def example_holder(tmp_path, holder: Holder, holder_id="H-1001", year=2025, name=None, template=None):
    example = api.load(cpdi.example_path())
    result = api.compute(example, year)
    ledgers = by_holder(result.ledgers).get(holder_id)
    if ledgers is None:  # an id the example does not have: H-1001's lots, under that id
        ledgers = [dataclasses.replace(ledger, lot=dataclasses.replace(ledger.lot, holder_id=holder_id))
                   for ledger in by_holder(result.ledgers)["H-1001"]]
    path = tmp_path / (name or holder_file_name(holder_id, year))
    return write_holder_workbook(path, holder, holder_id, year, ledgers, result.books,
                                 template or load_template(), PREPARED, result.problems)


def test_text_from_inputs_is_never_a_formula(tmp_path):
    holder = Holder("H-1001", INJECTIONS[0], "", extra=tuple((f"extra{i}", text) for i, text in enumerate(INJECTIONS)))
    path = example_holder(tmp_path, holder)
    cover = open_book(path, data_only=False)["Cover"]
    strings = {}
    for row in cover.iter_rows():
        for cell in row:
            if isinstance(cell.value, str):
                strings.setdefault(cell.value, cell)
    for text in INJECTIONS:
        stored = text.replace("\x01", "_x0001_")  # XML cannot hold a control character
        assert stored in strings, text
        assert strings[stored].data_type == "s", text
    xml = sheet_xml(path)
    formulas = " ".join(re.findall(r"<f>(.*?)</f>", " ".join(xml.values())))
    assert "HYPERLINK" not in formulas and "SUM(1,2)" not in formulas and "SUM(1)" not in formulas
    assert "<t>x</t>" not in formulas


def test_control_and_rich_text_names_survive_a_round_trip(tmp_path):
    """A name XlsxWriter would otherwise paste into the XML raw (``<r>…</r>``) stays text."""
    holder = Holder("H-1001", "<r><t>x</t></r></is></c><c r=\"Z1\"><f>1+1</f></c><c><is><r><t>y</t></r>")
    path = example_holder(tmp_path, holder)
    cover = open_book(path, data_only=False)["Cover"]
    assert holder.name in [c.value for row in cover.iter_rows() for c in row]
    assert cover["Z1"].value is None


# -- taxpayer ids --------------------------------------------------------------------------------------
def test_mask_tin():
    assert mask_tin("123-45-6789") == "*****6789"
    assert mask_tin("12-3456789") == "*****6789"
    assert mask_tin("") == ""
    assert mask_tin("1234") == "****"
    assert "6789" not in mask_tin("6789")


def test_no_full_tin_anywhere_in_the_file(tmp_path):
    holder = Holder("H-1001", "Alvarez Family Trust", "123-45-6789", extra=(("advisor", "M. Chen"),))
    problems = [Problem("holders.csv", 2, "tin", "is not a valid TIN", "fix it", "123-45-6789", "H-1001"),
                Problem("holders.csv", 2, None, "holder 123-45-6789 is odd", "", None, "H-1001")]
    example = api.load(cpdi.example_path())
    result = api.compute(example, 2025)
    path = write_holder_workbook(tmp_path / "h.xlsx", holder, "H-1001", 2025,
                                 by_holder(result.ledgers)["H-1001"], result.books, load_template(),
                                 PREPARED, problems)
    text = " ".join(sheet_xml(path).values())
    for leak in ("123456789", "123-45-6789", "45-6789"):
        assert leak not in text, leak
    assert "*****6789" in text
    csv_path = write_exceptions_csv(tmp_path / "exceptions.csv", problems)
    assert "45-6789" not in csv_path.read_text()


# -- file and sheet names from ids ---------------------------------------------------------------------
HOSTILE_IDS = ["../../etc/passwd", "a/b\\c", "CON", "con.txt", "x" * 300, "", ".hidden", "..", "a..b",
               "H-1001", "H_1001", "h-1001--0123456789ab", "Ünïcødé", "-rf", "a b", "nul"]


def test_holder_file_names_are_safe_and_distinct(tmp_path):
    names = [holder_file_name(hid, 2025) for hid in HOSTILE_IDS]
    assert holder_file_name("H-1001", 2025) == "H-1001_2025.xlsx"
    assert len(set(names)) == len(names)
    for name in names:
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name), name
        assert not name.startswith((".", "-")) and ".." not in name and len(name) <= 100, name
        assert name.split(".")[0].lower() not in {"con", "nul", "prn", "aux"}, name
    assert holder_file_name("x" * 300, 2025) == holder_file_name("x" * 300, 2025)  # stable
    for hid in HOSTILE_IDS:
        path = example_holder(tmp_path, Holder(hid, "n"), holder_id=hid, name=holder_file_name(hid, 2025))
        assert path.resolve().parent == tmp_path.resolve() and path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)


def test_sheet_names_from_hostile_ids(tmp_path):
    portfolio = hostile_portfolio()
    result = api.compute(portfolio, 2025)
    all_names = []
    for holder_id, ledgers in by_holder(result.ledgers).items():
        path = write_holder_workbook(tmp_path / holder_file_name(holder_id, 2025), None, holder_id,
                                     2025, ledgers, result.books, load_template(), PREPARED)
        names = open_book(path).sheetnames
        assert len({n.lower() for n in names}) == len(names)
        for name in names:
            assert 0 < len(name) <= 31 and not re.search(r"[\[\]:*?/\\]", name), name
            assert not name.startswith("'") and not name.endswith("'"), name
        all_names.extend(names)
    assert "Lot " + "A" * 27 in all_names and "Lot " + "A" * 25 + "~2" in all_names
    assert "Lot O'Neil _2__ a_b_c_" in all_names


# -- templates ---------------------------------------------------------------------------------------
def test_default_template_is_the_packaged_file():
    assert DEFAULT_TEMPLATE.exists()
    assert DEFAULT_TEMPLATE.resolve() == (Path(__file__).resolve().parents[1] / "templates" / "default.toml")
    t = load_template()
    assert t.workpaper_ref("H-1", 2025) == "WP H-1-2025"
    assert t.formats["money"] == "#,##0.00;(#,##0.00)"


def test_template_digest_and_pickling(tmp_path):
    """A batch fingerprints workbooks by the template's content and may send it to workers."""
    default = load_template()
    copy = tmp_path / "same.toml"
    copy.write_text('[workpaper]\nfirm_name = "Prepared with cpdi"\n', encoding="utf-8")
    changed = tmp_path / "changed.toml"
    changed.write_text('[lines]\ntotal = "Sum"\n', encoding="utf-8")
    assert template_digest(load_template(copy)) == template_digest(default)
    assert template_digest(load_template(changed)) != template_digest(default)
    again = pickle.loads(pickle.dumps(default))
    assert again == default and template_digest(again) == template_digest(default)
    with pytest.raises((TypeError, AttributeError)):
        default.formats["money"] = "0"


def test_summary_rows_are_json_friendly():
    example = api.load(cpdi.example_path())
    result = api.compute(example, 2025)
    rows = summary_rows(by_holder(result.ledgers), example.holders, 2025)
    assert json.loads(json.dumps(rows)) == rows
    assert [(r["holder_id"], r["instrument_id"]) for r in rows] == sorted(
        (r["holder_id"], r["instrument_id"]) for r in rows)
    assert sum(r["interest_income"] for r in rows) == pytest.approx(sum(r.interest_income for r in result.rows
                                                                         if r.tax_year == 2025))
    assert tuple(rows[0]) == wp.SUMMARY_COLUMNS


def test_custom_template_shows_up(tmp_path):
    custom = tmp_path / "my.toml"
    custom.write_text(
        '[workpaper]\nfirm_name = "Acme & Sons <CPA>"\nreference = "{holder_id}/{year}/CPDI"\n'
        '[formats]\nmoney = "#,##0.000;[Red]-#,##0.000"\n'
        '[tables.payments]\norder = ["actual_per_unit", "date"]\n'
        '[tables.payments.labels]\nactual_per_unit = "Cash per unit"\n',
        encoding="utf-8",
    )
    t = load_template(custom)
    assert t.tables["payments"].order[:3] == ("actual_per_unit", "date", "tax_year")
    path = example_holder(tmp_path, Holder("H-1001", "x"), template=t)
    book = open_book(path, data_only=False)
    assert book["Cover"]["A1"].value == "Acme & Sons <CPA>"
    lot = book["Lot L-0001"]
    header = find_row(lot, "Cash per unit")  # moved to the first column
    assert lot.cell(header + 1, 1).number_format == t.formats["per_unit"]
    money_cells = [c for row in lot.iter_rows() for c in row if c.number_format == "#,##0.000;[Red]-#,##0.000"]
    assert money_cells
    assert lot.oddFooter.left.text == "H-1001/2025/CPDI"
    assert "Acme && Sons" in lot.oddHeader.left.text


@pytest.mark.parametrize("text, key", [
    ('[workpaper]\nfirmname = "x"\n', "workpaper.firmname"),
    ('[colours]\nred = "x"\n', "colours"),
    ('[workpaper]\nfirm_name = 3\n', "workpaper.firm_name"),
    ('[tables.payments]\norder = ["date", "bogus"]\n', "tables.payments.order"),
    ('[tables.payments]\norder = ["date", "date"]\n', "tables.payments.order"),
    ('[tables.payments.labels]\nbogus = "x"\n', "tables.payments.labels.bogus"),
    ('[workpaper]\nreference = "WP {year}"\n', "workpaper.reference"),
    ('[workpaper]\nfooter = "&LPage &P"\n', "workpaper.footer"),
    ('[sheets]\nlot = "Lot {lot}"\n', "sheets.lot"),
    ('[sections]\nlot_netting = "Netting {"\n', "sections.lot_netting"),
    ('[widths]\nmoney = "wide"\n', "widths.money"),
    ('[widths]\nmoney = 900\n', "widths.money"),
])
def test_invalid_template_names_file_and_key(tmp_path, text, key):
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    with pytest.raises(TemplateError) as caught:
        load_template(bad)
    message = str(caught.value)
    assert "\n" not in message
    assert str(bad) in message and key in message, message
    assert isinstance(caught.value, CpdiError)


def test_template_syntax_error_names_the_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text('[workpaper]\nfirm_name = "unterminated\n', encoding="utf-8")
    with pytest.raises(TemplateError, match=re.escape(str(bad))) as caught:
        load_template(bad)
    assert "line 2" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(TemplateError, match="missing.toml"):
        load_template(tmp_path / "missing.toml")


# -- determinism and atomicity -----------------------------------------------------------------------
def test_same_inputs_give_byte_identical_files(tmp_path):
    holder = Holder("H-1001", "Alvarez Family Trust", "12-3456789", extra=(("advisor", "M. Chen"),))
    first = example_holder(tmp_path, holder, name="a.xlsx").read_bytes()
    time.sleep(1.1)  # a clock anywhere in the file would now differ
    second = example_holder(tmp_path, holder, name="b.xlsx").read_bytes()
    assert first == second
    summary = summary_rows({"H-1001": []}, {}, 2025)
    one = write_summary_workbook(tmp_path / "s1.xlsx", 2025, summary, None, PREPARED, 1, 0).read_bytes()
    two = write_summary_workbook(tmp_path / "s2.xlsx", 2025, summary, None, PREPARED, 1, 0).read_bytes()
    assert one == two


@pytest.mark.parametrize("module, where, after", [
    (wp, "_cover_sheet", 0), (wp.cells, "_write_text", 40),
], ids=["planning", "writing-rows"])
def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch, module, where, after):
    """Failing while planning, or midway through writing rows (part of the workbook already
    written to XlsxWriter's files): no file at the target, no temporary file left."""
    calls = {"n": 0}
    original = getattr(module, where)

    def explode(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > after:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(module, where, explode)
    with pytest.raises(RuntimeError, match="disk on fire"):
        example_holder(tmp_path, Holder("H-1001", "x"), name="target.xlsx")
    assert list(tmp_path.iterdir()) == []


def test_a_failed_rewrite_keeps_the_previous_file(tmp_path, monkeypatch):
    path = example_holder(tmp_path, Holder("H-1001", "x"), name="target.xlsx")
    before = path.read_bytes()
    monkeypatch.setattr(wp, "_lots_sheet", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError):
        example_holder(tmp_path, Holder("H-1001", "x"), name="target.xlsx")
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["target.xlsx"]


# -- the rest of the batch output ---------------------------------------------------------------------
def test_exceptions_csv(tmp_path):
    problems = [
        Problem("lots.csv", 7, "cost_basis", "is not a number", "write a decimal", "=1+1", "H-1", "L-9"),
        Problem("schedule.csv", None, None, "gap", "", None, None, None, "NOTE1"),
        Problem("payments.csv", 3, "amount", "negative", "", "-12.5"),
    ]
    path = write_exceptions_csv(tmp_path / "exceptions.csv", problems)
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert list(rows[0]) == list(wp.EXCEPTION_COLUMNS)
    assert rows[0]["value"] == "'=1+1" and rows[0]["row"] == "7" and rows[0]["lot_id"] == "L-9"
    assert rows[1]["row"] == "" and rows[1]["instrument_id"] == "NOTE1"
    assert rows[2]["value"] == "-12.5"
    assert [p.name for p in tmp_path.iterdir()] == ["exceptions.csv"]


def test_holder_problems_are_listed_on_the_cover(tmp_path):
    problems = [
        Problem("lots.csv", 9, "proceeds", "missing", "add proceeds", None, "H-1001", "L-0099"),
        Problem("lots.csv", 10, "proceeds", "someone else's", "", None, "H-1002", "L-0098"),
        Problem("payments.csv", 4, "amount", "instrument problem", "", None, None, None, "02687QCD8"),
    ]
    example = api.load(cpdi.example_path())
    result = api.compute(example, 2025)
    path = write_holder_workbook(tmp_path / "h.xlsx", example.holders["H-1001"], "H-1001", 2025,
                                 by_holder(result.ledgers)["H-1001"], result.books, None, PREPARED, problems)
    texts = [c.value for row in open_book(path)["Cover"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "missing" in texts and "instrument problem" in texts and "someone else's" not in texts


def test_a_holder_with_no_lots_in_the_year_gets_no_workbook(tmp_path):
    """A workbook of zeros would read as a holder with nothing to report; the batch lists such
    holders as "nothing held" instead (tests/test_idle_holders.py)."""
    with pytest.raises(wp.WorkpaperError, match="held no lot in 2025: no workbook is written"):
        write_holder_workbook(tmp_path / "empty.xlsx", Holder("H-9", "Nobody"), "H-9", 2025, [], {},
                              None, PREPARED, [Problem("lots.csv", 3, None, "lot rejected", "", None, "H-9")])
    assert list(tmp_path.iterdir()) == []


def test_formulas_use_only_functions_that_need_no_future_prefix(tmp_path):
    """The writer skips XlsxWriter's "_xlfn." expansion, which is right only while every
    formula uses FORMULA_FUNCTIONS (none of which Excel marks as a future function)."""
    from cpdi.batch import BatchOptions, run_batch
    from cpdi.writers.workpapers import FORMULA_FUNCTIONS

    report = run_batch(cpdi.api.load(cpdi.example_path()),
                       BatchOptions(2025, tmp_path, prepared=date(2026, 1, 15), workers=1, quiet=True))
    used = set()
    for path in report.workbooks + [report.summary_path]:
        for sheet in openpyxl.load_workbook(path).worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        used |= set(re.findall(r"([A-Z][A-Z0-9.]*)\(", cell.value))
    assert used and used <= FORMULA_FUNCTIONS, used - FORMULA_FUNCTIONS

"""The workbook is a live model: change an input on it, recalculate with LibreOffice, and the
Cover shows what the engine computes for the changed inputs (issue "Workpapers a reviewer can
re-perform": done when changing the comparable yield or a lot's cost on a workbook gives, on
the Cover, what ``cpdi compute`` gives, for every allocation method except a solved holder
yield).

Holders come from synthetic portfolios (sales, calls, maturities, premiums and discounts, every
(b)(9)(i) method, several years held) and from the bundled example.  On each workbook the
comparable yield of every instrument sheet is raised by 75 basis points and every lot's cost
basis moved 5% away from the adjusted issue price; the engine is run on the same changes (the schedule then no longer closes at the
new yield, so its residual is accepted, as a user would accept it).  Holders with a lot whose
holder yield is solved are left out (the solved yield is a typed value: at another comparable
yield the engine solves another one); so are lots the engine refuses after the change
(an ``allocate_to_maturity`` larger than the new difference).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import cpdi
from cpdi import api
from cpdi.model import BasisAllocationMethod, ComparableYield
from cpdi.readers.inputs import Portfolio
from cpdi.synthetic import random_portfolio
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import KV_VALUE, holder_file_name, write_holder_workbook
from cpdi.writers.workpapers.cells import CHECK_MARK
from cover_reader import cover_figures, expected_cover, form8949_rows
from recalc import recalculate

from datetime import date
from builders import open_book

PREPARED = date(2026, 2, 15)
CENT = 0.01
YIELD_STEP = 0.0075  # +75 basis points on every comparable yield
COST_STEP = 0.05  # every lot's cost basis 5% further from the AIP (so its difference grows)
SEEDS = (3, 7, 11, 19, 23, 29)
FIGURES = (
    "interest_income", "ordinary_loss", "carryforward_out", "adjusted_basis_end", "amount_realized",
    "gain_loss", "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
)



def untick(text):
    """A header without its tick mark ("Amount [R]" -> "Amount")."""
    return re.sub(r" \[[A-Z]\]$", "", text) if isinstance(text, str) else text


def label_row(ws, label: str) -> int | None:
    for (cell,) in ws.iter_rows(min_col=1, max_col=1):
        if cell.value == label:
            return cell.row
    return None


def cost_factor(ledger) -> float:
    """Move the cost away from the AIP: a discount grows, a premium grows (an
    ``allocate_to_maturity`` sized to the old difference stays within the new one)."""
    return 1.0 - COST_STEP if ledger.allocation.difference > 0 else 1.0 + COST_STEP


def perturbed_portfolio(portfolio: Portfolio, factors: dict) -> Portfolio:
    """The same portfolio with every comparable yield up 75 bp and each lot's cost times its
    factor."""
    instruments = {
        iid: dataclasses.replace(inst, comparable_yield=ComparableYield(
            inst.comparable_yield.annual_rate + YIELD_STEP, inst.comparable_yield.day_count,
            inst.comparable_yield.frequency))
        for iid, inst in portfolio.instruments.items()
    }
    lots = tuple(dataclasses.replace(lot, cost_basis=lot.cost_basis * factors.get(lot.lot_id, 1.0))
                 for lot in portfolio.lots)
    return dataclasses.replace(portfolio, instruments=instruments, lots=lots)


def perturb_workbook(source: Path, target: Path, instrument_ids, factors: dict) -> tuple[int, int]:
    """Change the comparable yield cells and the cost basis cells of a generated workbook, as a
    reviewer would type them (formulas kept); returns how many of each were changed."""
    t = load_template()
    book = open_book(source, data_only=False)
    yields = costs = 0
    for ws in book.worksheets:
        if ws.title in instrument_ids:
            r = label_row(ws, t.line("comparable_yield"))
            cell = ws.cell(r, KV_VALUE + 1)
            cell.value = float(cell.value) + YIELD_STEP
            yields += 1
        elif ws.title.startswith("Lot "):
            r = label_row(ws, t.line("cost_basis"))
            cell = ws.cell(r, KV_VALUE + 1)
            cell.value = float(cell.value) * factors[ws.title.removeprefix("Lot ")]
            costs += 1
    book.save(target)
    return yields, costs


def busiest_year(portfolio: Portfolio) -> int:
    """The year in which the most lots are held (more lots, more of the sheet exercised)."""
    years = {}
    for ledger in api.compute(portfolio, 2025).ledgers:
        for y in ledger.years:
            years[y.tax_year] = years.get(y.tax_year, 0) + 1
    return max(sorted(years), key=lambda y: years[y])


@dataclasses.dataclass
class Case:
    name: str
    year: int
    rows: dict  # lot id -> the engine's LotYear at the changed inputs
    methods: set
    before: dict  # lot id -> the engine's LotYear at the inputs the workbook was written from
    forms: object = None  # the holder's HolderForms at the changed inputs
    forms_before: object = None  # … at the inputs the workbook was written from


def solved_yield(lot) -> bool:
    return lot.basis_allocation is BasisAllocationMethod.YIELD and lot.holder_yield_pct is None


@pytest.fixture(scope="module")
def live(tmp_path_factory, libreoffice):
    """Workbooks written at the original inputs, changed on the sheet, recalculated; and the
    engine's rows at the changed inputs."""
    out = tmp_path_factory.mktemp("live")
    (out / "written").mkdir()
    (out / "changed").mkdir()
    template = load_template()
    cases, changed = [], []
    portfolios = [(f"s{seed}", random_portfolio(seed, instruments=6, holders=12)) for seed in SEEDS]
    sources = [(tag, Portfolio(f"synthetic {tag}", sp.instruments, sp.payments, tuple(sp.lots), sp.holders, ()))
               for tag, sp in portfolios]
    sources.append(("example", api.load(cpdi.example_path())))
    for tag, portfolio in sources:
        year = 2025 if tag == "example" else busiest_year(portfolio)
        before = api.compute(portfolio, year)
        factors = {l.lot.lot_id: cost_factor(l) for l in before.ledgers}
        after_portfolio = perturbed_portfolio(portfolio, factors)
        after = api.compute(after_portfolio, year, accept_residual=list(portfolio.instruments))
        forms_before, forms_after = api.forms(portfolio, year, before), api.forms(after_portfolio, year, after)
        refused = {p.lot_id for p in after.problems if p.lot_id}
        after_rows = {(l.lot.holder_id, l.lot.lot_id): next((y for y in l.years if y.tax_year == year), None)
                      for l in after.ledgers}
        holders = {}
        for ledger in before.ledgers:
            holders.setdefault(ledger.lot.holder_id, []).append(ledger)
        for holder_id, ledgers in holders.items():
            held = [l for l in ledgers if any(y.tax_year == year for y in l.years)]
            if not held or any(solved_yield(l.lot) for l in held) or any(l.lot.lot_id in refused for l in held):
                continue
            name = f"{tag}-{holder_file_name(holder_id, year)}"
            write_holder_workbook(out / "written" / name, portfolio.holders.get(holder_id), holder_id, year,
                                  ledgers, before.books, template, PREPARED, forms=forms_before[holder_id])
            yields, costs = perturb_workbook(out / "written" / name, out / "changed" / name, set(before.books),
                                             factors)
            assert yields >= 1 and costs == len(held)
            changed.append(out / "changed" / name)
            cases.append(Case(name, year, {l.lot.lot_id: after_rows[(holder_id, l.lot.lot_id)] for l in held},
                              {l.lot.basis_allocation for l in held},
                              {l.lot.lot_id: next(y for y in l.years if y.tax_year == year) for l in held},
                              forms_after[holder_id], forms_before[holder_id]))
    copies = recalculate(changed, out / "recalculated")
    return cases, {path.name: copy for path, copy in copies.items()}


def test_the_cover_follows_a_changed_yield_and_cost(live):
    """Every Cover figure — each ordinary line's items and total, the carried item, each Form
    8949 box — every lot's figures on the Lots sheet and every Form 8949 line, recalculated after
    the yield and cost change, equal the engine's at the changed inputs within a cent; the
    Cover's checks against the Lots sheet still read ✓, and those against the ledger typed when
    the workbook was written show the change."""
    cases, copies = live
    t = load_template()
    lots_checked = 0
    for case in cases:
        book = open_book(copies[case.name])
        lots = book.worksheets[1]
        header = next(r for r in range(1, lots.max_row + 1)
                      if untick(lots.cell(r, 1).value) == t.tables["lots"].labels["lot_id"])
        cols = {untick(c.value): c.column for c in lots[header] if c.value is not None}
        for r in range(header + 1, lots.max_row + 1):
            lot_id = lots.cell(r, cols[t.tables["lots"].labels["lot_id"]]).value
            if lot_id not in case.rows:
                continue
            row = case.rows[lot_id]
            for figure in FIGURES:
                value = lots.cell(r, cols[t.tables["lots"].labels[figure]]).value
                if value is None:  # a disposition column of a lot still held
                    assert row.disposition_date is None, (case.name, lot_id, figure)
                    continue
                assert value == pytest.approx(getattr(row, figure), abs=CENT), (case.name, lot_id, figure)
            lots_checked += 1
        _assert_cover_follows(book, case, t)
        _assert_form8949_follows(book, case, t)
    assert lots_checked >= 40


def _assert_cover_follows(book, case: Case, t) -> None:
    """The Cover's amounts are the forms layer's at the changed inputs; its ledger column is
    still the one it was written with, and the ledger checks show amount − that ledger."""
    lines, boxes = cover_figures(book.worksheets[0], t, case.year)
    want_lines, want_boxes = expected_cover(case.forms, None, t, case.year)
    was_lines, was_boxes = expected_cover(case.forms_before, None, t, case.year)
    assert set(lines) == set(want_lines) and set(boxes) == set(want_boxes), case.name
    for label, want in want_lines.items():
        got = lines[label]
        assert got["amount"] == pytest.approx(want["amount"], abs=CENT), (case.name, label)
        assert got["lots_check"] == CHECK_MARK, (case.name, label)
        moved = got["amount"] - was_lines[label]["amount"]
        if abs(moved) < CENT / 2:
            assert got["ledger_check"] == CHECK_MARK, (case.name, label)
        else:
            assert got["ledger_check"] == pytest.approx(moved, abs=CENT), (case.name, label)
    for label, want in want_boxes.items():
        for cid in ("count", "proceeds", "cost_basis", "adjustment", "gain_loss"):
            assert boxes[label][cid] == pytest.approx(want[cid], abs=CENT), (case.name, label, cid)
        moved = boxes[label]["gain_loss"] - was_boxes[label]["gain_loss"]
        assert boxes[label]["ledger_check"] == (CHECK_MARK if abs(moved) < CENT / 2 else pytest.approx(moved, abs=CENT))
    if boxes:
        assert boxes[t.line("all_boxes", case.year)]["lots_check"] == CHECK_MARK, case.name


def _assert_form8949_follows(book, case: Case, t) -> None:
    """Each Form 8949 line follows its lot sheet: (d), (e), (g), (h) the forms layer's at the
    changed inputs, (h) the capital part, the line's arithmetic check ✓."""
    rows = form8949_rows(book["Form 8949"], t)
    want = {line.lot_id: line for line in case.forms.form8949}
    assert set(rows) == set(want), case.name
    for lot_id, line in want.items():
        got = rows[lot_id]
        for cid, value in (("proceeds", line.proceeds), ("cost_basis", line.cost_basis),
                           ("adjustment", line.adjustment_amount), ("gain_loss", line.gain_loss)):
            assert got[cid] == pytest.approx(value, abs=CENT), (case.name, lot_id, cid)
        assert got["check"] == CHECK_MARK, (case.name, lot_id)


def test_the_changes_reach_every_method_and_ending(live):
    """The changed workbooks cover each (b)(9)(i) method but a solved yield, and figures that
    the change moves (a test that could not fail would compare unchanged numbers)."""
    cases, _ = live
    methods = set().union(*(case.methods for case in cases))
    assert methods >= {BasisAllocationMethod.PROPORTIONAL, BasisAllocationMethod.STRAIGHT_LINE,
                       BasisAllocationMethod.MATURITY, BasisAllocationMethod.YIELD}
    endings = {row.ending for case in cases for row in case.rows.values()}
    assert {"", "sale", "maturity"} <= endings
    moved = [lot_id for case in cases for lot_id, row in case.rows.items()
             if abs(row.interest_income - case.before[lot_id].interest_income) > 1.0]
    assert len(moved) >= 0.8 * sum(len(case.rows) for case in cases)
    # and Form 8949 lines whose figures the change moves
    lines = [(line, before) for case in cases for line in case.forms.form8949
             for before in case.forms_before.form8949 if before.lot_id == line.lot_id]
    assert len(lines) >= 5
    assert sum(abs(line.cost_basis - before.cost_basis) > 1.0 for line, before in lines) >= 0.8 * len(lines)

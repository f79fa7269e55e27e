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
import warnings
from pathlib import Path

import openpyxl
import pytest

import cpdi
from cpdi import api
from cpdi.model import BasisAllocationMethod, ComparableYield
from cpdi.readers.inputs import Portfolio
from cpdi.synthetic import random_portfolio
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import KV_VALUE, holder_file_name, write_holder_workbook
from recalc import recalculate

from datetime import date

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
COVER = {  # Cover line -> how the engine's rows add up to it
    "interest_income": lambda rows, sold: sum(r.interest_income for r in rows),
    "ordinary_loss": lambda rows, sold: sum(r.ordinary_loss for r in rows),
    "carryforward_out": lambda rows, sold: sum(r.carryforward_out for r in rows),
    "amount_realized": lambda rows, sold: sum(r.amount_realized for r in sold),
    "adjusted_basis": lambda rows, sold: sum(r.adjusted_basis_end for r in sold),
    "gain_loss": lambda rows, sold: sum(r.gain_loss for r in sold),
    "ordinary_income_on_disposition": lambda rows, sold: sum(r.ordinary_income_on_disposition for r in sold),
    "ordinary_loss_on_disposition": lambda rows, sold: sum(r.ordinary_loss_on_disposition for r in sold),
    "capital_loss": lambda rows, sold: sum(r.capital_loss_on_disposition for r in sold),
    "capital_gain": lambda rows, sold: sum(r.capital_gain_on_disposition for r in sold),
}


def open_book(path: Path, data_only: bool = True):
    with warnings.catch_warnings():  # openpyxl cannot read LibreOffice's chart XML; irrelevant
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, data_only=data_only)


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
                                  ledgers, before.books, template, PREPARED)
            yields, costs = perturb_workbook(out / "written" / name, out / "changed" / name, set(before.books),
                                             factors)
            assert yields >= 1 and costs == len(held)
            changed.append(out / "changed" / name)
            cases.append(Case(name, year, {l.lot.lot_id: after_rows[(holder_id, l.lot.lot_id)] for l in held},
                              {l.lot.basis_allocation for l in held},
                              {l.lot.lot_id: next(y for y in l.years if y.tax_year == year) for l in held}))
    copies = recalculate(changed, out / "recalculated")
    return cases, {path.name: copy for path, copy in copies.items()}


def test_the_cover_follows_a_changed_yield_and_cost(live):
    """Every Cover figure and every lot's figures on the Lots sheet, recalculated after the
    yield and cost change, equal the engine's at the changed inputs within a cent."""
    cases, copies = live
    t = load_template()
    lots_checked = 0
    for case in cases:
        book = open_book(copies[case.name])
        cover, lots = book.worksheets[0], book.worksheets[1]
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
        rows = list(case.rows.values())
        sold = [r for r in rows if r.disposition_date is not None]
        amount_col = None
        for row in cover.iter_rows():
            for cell in row:
                if untick(cell.value) == t.tables["figures"].labels["amount"]:
                    amount_col = cell.column
        assert amount_col is not None
        for figure, total in COVER.items():
            r = label_row(cover, t.line(figure, case.year))
            got = cover.cell(r, amount_col).value
            assert got == pytest.approx(total(rows, sold), abs=CENT), (case.name, figure)
    assert lots_checked >= 40


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

"""Workpapers a reviewer can re-perform, on screen and on paper: nothing prints as ``###``,
names are not cut, no orphan pages or headers over nothing (tests/workpaper_layout.py has the
rules and their margins).

The checker runs over workbooks generated for the bundled example, the AIG fixture holder, the
synthetic portfolios of the recalculation tests, a holder with long ids, a long description
and large amounts, and the batch summary; then unit tests of the checker itself on small
hand-made workbooks."""

from __future__ import annotations

import dataclasses
from datetime import date
from pathlib import Path

import pytest
import xlsxwriter

import cpdi
from cpdi import api
from cpdi.engine.reconciliation import reconcile
from cpdi.model import ActualPayment, FilerType, Holder, Lot
from cpdi.readers import Portfolio
from cpdi.synthetic import random_portfolio
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import (
    holder_file_name, holder_totals_row, summary_rows, write_holder_workbook, write_summary_workbook,
)
from workpaper_layout import layout_problems, render, sheet_kind, text_width

PREPARED = date(2026, 2, 15)
SYNTHETIC_SEEDS = (3, 7, 11, 19, 23)  # those of tests/test_workpapers.py


# -- the workbooks --------------------------------------------------------------------------------
def _by_holder(ledgers):
    out = {}
    for ledger in ledgers:
        out.setdefault(ledger.lot.holder_id, []).append(ledger)
    return out


def _write_holders(portfolio: Portfolio, year: int, out: Path, prefix: str) -> list[Path]:
    """Every holder's workbook of ``year``, with the Broker reconciliation sheet of those the
    portfolio has broker figures for."""
    result = api.compute(portfolio, year)
    forms = api.forms(portfolio, year, result)
    broker = _broker_lines(portfolio, year, result, forms)
    paths = []
    for holder_id, ledgers in _by_holder(result.ledgers).items():
        if not any(y.tax_year == year for l in ledgers for y in l.years):
            continue
        path = out / f"{prefix}-{holder_file_name(holder_id, year)}"
        write_holder_workbook(path, portfolio.holders.get(holder_id), holder_id, year, ledgers,
                              result.books, load_template(), PREPARED, result.problems,
                              reconciliation=broker.get(holder_id, ()))
        paths.append(path)
    return paths


def _broker_lines(portfolio: Portfolio, year: int, result, forms) -> dict:
    schedules = {iid: book.schedule for iid, book in result.books.items()
                 if book.schedule is not None and book.validation.usable}
    out: dict = {}
    for line in reconcile(portfolio.broker_1099, forms, result.ledgers, year, schedules):
        out.setdefault(line.holder_id, []).append(line)
    return out


def filer_workbooks(out: Path) -> list[Path]:
    """The example's holders as each filer type in turn: every return's lines on a Cover, and
    Form 8949 boxes without a 1099-B."""
    example = api.load(cpdi.example_path())
    paths = []
    for kind in FilerType:
        holders = {hid: dataclasses.replace(h, filer_type=kind) for hid, h in example.holders.items()}
        paths += _write_holders(dataclasses.replace(example, holders=holders), 2025, out, kind.value)
    return paths


def example_workbooks(out: Path) -> list[Path]:
    example = api.load(cpdi.example_path())
    return _write_holders(example, 2025, out, "example") + _write_holders(example, 2024, out, "example")


def summary_workbook(out: Path) -> Path:
    example = api.load(cpdi.example_path())
    result = api.compute(example, 2025)
    rows = summary_rows(_by_holder(result.ledgers), example.holders, 2025)
    forms = api.forms(example, 2025, result)
    broker = _broker_lines(example, 2025, result, forms)
    totals = [holder_totals_row(f, example.holders.get(h), f"{h}_2025.xlsx", broker.get(h, ()))
              for h, f in forms.items()]
    return write_summary_workbook(out / "summary-2025.xlsx", 2025, rows, load_template(), PREPARED, 4, 1,
                                  totals=totals)


def aig_workbooks(out: Path) -> list[Path]:
    """The AIG fixture holder of tests/test_aig_holder.py: 100 notes held from issue, the
    corrected schedule and the made-up coupons, in a year of the schedule and at maturity."""
    from test_aig_holder import corrected_aig, made_up_coupons

    instrument = corrected_aig()
    paid = made_up_coupons(instrument)
    iid = instrument.instrument_id
    payments = tuple(ActualPayment(iid, day, amount) for day, amount in sorted(paid.items()))
    lot = Lot("H-AIG", "AIG-1", iid, 100_000.0, instrument.issue_date, 100_000.0)
    portfolio = Portfolio("aig", {iid: instrument}, {iid: payments}, (lot,),
                          {"H-AIG": Holder("H-AIG", "AIG fixture holder")}, ())
    return (_write_holders(portfolio, 2012, out, "aig") + _write_holders(portfolio, 2027, out, "aig"))


def synthetic_workbooks(out: Path, seeds=SYNTHETIC_SEEDS) -> list[Path]:
    paths = []
    for seed in seeds:
        sp = random_portfolio(seed, instruments=6, holders=12)
        portfolio = Portfolio(f"synthetic {seed}", sp.instruments, sp.payments, tuple(sp.lots), sp.holders, ())
        result = api.compute(portfolio, 2040)
        years = {}
        for row in result.rows:
            years[row.tax_year] = years.get(row.tax_year, 0) + 1 + 10 * (row.disposition_date is not None)
        for year in sorted(years, key=years.get, reverse=True)[:2]:
            paths += _write_holders(portfolio, year, out, f"s{seed}")
    return paths


LONG_DESCRIPTION = ("Global Medium-Term Notes, Series M, Contingent Coupon Callable Notes Linked to the "
                    "Worst Performing of the S&P 500 Index, the Russell 2000 Index and the EURO STOXX 50 "
                    "Index due March 15, 2032 (principal at risk; see the pricing supplement)")


def large_portfolio() -> Portfolio:
    """The example with long ids and names, a long description and 250,000,000.00 lots."""
    example = api.load(cpdi.example_path())
    old_new = {"US00EQLN2029": "US00EQLN2029-SERIES-M-TRANCHE-0042"}
    lot_ids = {lot.lot_id: f"{lot.lot_id}-BROKERAGE-ACCOUNT-0001234567-LOT" for lot in example.lots}
    holder_names = {hid: f"{h.name} — Irrevocable Generation-Skipping Trust under Agreement dated "
                         f"March 1, 1999, as amended" for hid, h in example.holders.items()}
    scale = 2500  # 100,000.00 → 250,000,000.00
    lots = tuple(dataclasses.replace(
        lot, lot_id=lot_ids[lot.lot_id], instrument_id=old_new.get(lot.instrument_id, lot.instrument_id),
        principal_amount=lot.principal_amount * scale, cost_basis=lot.cost_basis * scale,
        proceeds=None if lot.proceeds is None else lot.proceeds * scale,
        allocate_to_maturity=None if lot.allocate_to_maturity is None else lot.allocate_to_maturity * scale)
        for lot in example.lots)
    instruments = {}
    for key, inst in example.instruments.items():
        new = old_new.get(key, key)
        instruments[new] = dataclasses.replace(
            inst, instrument_id=new, description=LONG_DESCRIPTION,
            projected_payments=tuple(dataclasses.replace(p, instrument_id=new) for p in inst.projected_payments)
            if hasattr(inst.projected_payments[0], "instrument_id") else inst.projected_payments)
    payments = {old_new.get(k, k): tuple(dataclasses.replace(p, instrument_id=old_new.get(k, k)) for p in v)
                for k, v in example.payments.items()}
    holders = {k: dataclasses.replace(h, name=holder_names[k]) for k, h in example.holders.items()}
    return dataclasses.replace(example, lots=lots, holders=holders, instruments=instruments, payments=payments)


def large_workbooks(out: Path) -> list[Path]:
    return _write_holders(large_portfolio(), 2025, out, "large") + _write_holders(large_portfolio(), 2024, out, "large")


def problems_of(paths) -> list[str]:
    return [f"{Path(p).name}: {line}" for p in paths for line in layout_problems(p)]


# -- the generated workpapers -----------------------------------------------------------------------
SETS = {
    "example": example_workbooks, "summary": lambda out: [summary_workbook(out)], "aig": aig_workbooks,
    "synthetic": synthetic_workbooks, "large": large_workbooks, "filers": filer_workbooks,
}


@pytest.fixture(scope="module")
def problems(tmp_path_factory):
    """Each set's workbooks, generated once, and their layout problems."""
    out = tmp_path_factory.mktemp("print")
    result = {}
    for name, make in SETS.items():
        folder = out / name
        folder.mkdir()
        result[name] = problems_of(make(folder))
    return result


@pytest.mark.parametrize("name", list(SETS))
def test_workbooks_print_cleanly(problems, name):
    """No ### (columns as wide as the values written in them need), no cut text (a text
    spills into empty cells, has its columns widened or wraps in a row as tall as its lines),
    no header printed over anything but its table, no orphan page."""
    assert problems[name] == []


# -- the checker itself ------------------------------------------------------------------------------
def _book(path: Path, build, **setup):
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("S")
    formats = {
        "money": book.add_format({"num_format": "#,##0.00;(#,##0.00)"}),
        "wrap": book.add_format({"text_wrap": True}),
        "bold": book.add_format({"bold": True}),
    }
    if setup.get("print", True):
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.set_header("&LFirm&RTitle")
        ws.set_footer("&LRef&RPage &P of &N")
    build(ws, formats)
    book.close()
    return path


def test_render_number_formats():
    assert render(250_000_000, "#,##0.00;(#,##0.00)") == "250,000,000.00"
    assert render(-1234.5, "#,##0.00;(#,##0.00)") == "(1,234.50)"
    assert render(0.0273, "0.000000%") == "2.730000%"
    assert render(1000.5, "#,##0.000000;(#,##0.000000)") == "1,000.500000"
    assert render(date(2025, 1, 2), "yyyy-mm-dd") == "2025-01-02"
    assert render(365, "#,##0") == "365"
    assert render(-0.001, "0.00") == "0.00"
    assert render(True, "General") == "TRUE"


def test_a_too_narrow_money_column_is_reported(tmp_path):
    def build(ws, f):
        ws.set_column(0, 0, 10)
        ws.write_number(0, 0, 250_000_000.0, f["money"])
    problems = layout_problems(_book(tmp_path / "narrow.xlsx", build))
    assert len(problems) == 1 and problems[0].startswith("S!A1: '250,000,000.00'") and "###" in problems[0]


def test_a_wide_enough_money_column_is_not_reported(tmp_path):
    def build(ws, f):
        ws.set_column(0, 0, 16)
        ws.write_number(0, 0, 250_000_000.0, f["money"])
        ws.write_number(1, 0, -250_000_000.0, f["money"])
    assert layout_problems(_book(tmp_path / "wide.xlsx", build)) == []


def test_a_text_cut_by_its_neighbour_is_reported(tmp_path):
    def build(ws, f):
        ws.set_column(0, 1, 10)
        ws.write_string(0, 0, "A holder name far longer than its column")
        ws.write_string(0, 1, "x")
    problems = layout_problems(_book(tmp_path / "cut.xlsx", build))
    assert len(problems) == 1 and problems[0].startswith("S!A1:") and "stopped by B1" in problems[0]


def test_a_text_spilling_into_empty_cells_fits(tmp_path):
    def build(ws, f):
        ws.set_column(0, 3, 10)
        ws.write_string(0, 0, "A holder name over B and C")  # spills over B:C
        ws.write_string(0, 3, "x")
        ws.write_string(1, 0, "short")
        ws.write_string(1, 1, "y")
    assert layout_problems(_book(tmp_path / "fits.xlsx", build)) == []


def test_a_text_past_the_last_used_column_is_reported(tmp_path):
    def build(ws, f):
        ws.set_column(0, 1, 10)
        ws.write_string(0, 0, "x")
        ws.write_string(1, 1, "A note that runs beyond the printed page")
    problems = layout_problems(_book(tmp_path / "edge.xlsx", build))
    assert len(problems) == 1 and problems[0].startswith("S!B2:") and "last used column" in problems[0]


def test_merged_ranges_count_their_full_width(tmp_path):
    def build(ws, f):
        ws.set_column(0, 3, 10)
        ws.merge_range(0, 0, 0, 2, "A banner across three columns", f["bold"])
        ws.write_string(0, 3, "x")
        ws.merge_range(1, 0, 1, 1, "A banner far too long for the two merged columns", f["bold"])
        ws.write_string(1, 3, "y")
    problems = layout_problems(_book(tmp_path / "merged.xlsx", build))
    assert len(problems) == 1 and problems[0].startswith("S!A2:") and "merged range A2:B2" in problems[0]


def test_wrapped_text_needs_a_tall_enough_row(tmp_path):
    def build(ws, f):
        ws.set_column(0, 1, 10)
        ws.set_row(0, 45)
        ws.write_string(0, 0, "Adjusted basis at year end", f["wrap"])  # 3 lines in 45 points
        ws.write_string(0, 1, "Adjusted basis at year end / before disposition", f["wrap"])
    problems = layout_problems(_book(tmp_path / "wrap.xlsx", build))
    assert len(problems) == 1 and problems[0].startswith("S!B1:") and "lines" in problems[0]


def test_print_setup_is_checked(tmp_path):
    def build(ws, f):
        ws.write_string(0, 0, "x")
    problems = layout_problems(_book(tmp_path / "bare.xlsx", build, print=False))
    assert any("orientation" in p for p in problems)
    assert any("1 page wide" in p for p in problems)
    assert any("no page header" in p for p in problems)
    assert any("no page footer" in p for p in problems)


def test_headers_over_nothing_and_orphan_pages_are_reported(tmp_path):
    def build(ws, f):
        ws.write_string(0, 0, "Title", f["bold"])
        ws.write_string(2, 0, "Period")
        for r in range(3, 8):
            ws.write_number(r, 0, r)
        ws.write_string(9, 0, "A chart of the table", f["bold"])
        ws.write_string(10, 0, "what follows")
        ws.repeat_rows(2)  # the header row 3
        ws.set_h_pagebreaks([9, 11])  # a page of rows 10–11, then a page of nothing
    problems = layout_problems(_book(tmp_path / "pages.xlsx", build))
    assert any("print titles rows 3:3" in p and "row 10" in p for p in problems)
    assert any("orphan page" in p for p in problems)


def test_a_page_holding_only_a_title_is_reported(tmp_path):
    def build(ws, f):
        ws.write_string(0, 0, "Title", f["bold"])
        ws.write_string(1, 0, "body")
        ws.write_string(3, 0, "Section", f["bold"])
        ws.set_h_pagebreaks([3])
    problems = layout_problems(_book(tmp_path / "title.xlsx", build))
    assert any("only a title" in p for p in problems)


def test_text_width_estimate():
    assert text_width("0000000000") == pytest.approx(10.0)
    assert text_width("iiii") < text_width("WWWW")
    assert text_width("Title", size=14) > text_width("Title")


def test_sheet_kind():
    assert [sheet_kind(n) for n in ("Cover", "Lots", "Summary", "Lot L-1", "02687QCD8")] == [
        "Cover", "Lots", "Summary", "lot", "instrument"]

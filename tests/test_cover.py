"""The Cover's review apparatus: the tick-mark legend, the disclosures, the review-notes grid,
the figures ticked [R]; and the Lots sheet's ticks (its linked columns [R], its totals [F])."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

import cpdi
from cpdi import api
from cpdi.model import Holder
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import WORKBOOK_OPTIONS, write_holder_workbook
from cpdi.writers.workpapers.cells import TICKS, _Workbook, tick_mark
from cpdi.writers.workpapers.cover import REVIEW_ROWS, _cover_sheet
from cpdi.writers.workpapers.lots_sheet import LINKED

PREPARED = date(2026, 1, 15)


@pytest.fixture(scope="module")
def example_book(tmp_path_factory) -> openpyxl.Workbook:
    """H-1002's workbook for 2025 (a sale and a lot still held)."""
    example = api.load(cpdi.example_path())
    result = api.compute(example, 2025)
    ledgers = [l for l in result.ledgers if l.lot.holder_id == "H-1002"]
    path = tmp_path_factory.mktemp("cover") / "H-1002_2025.xlsx"
    write_holder_workbook(path, example.holders["H-1002"], "H-1002", 2025, ledgers, result.books, None, PREPARED)
    return openpyxl.load_workbook(path)


def row_of(ws, text: str) -> int:
    return next(c.row for c in ws["A"] if c.value == text)


def cover_only(tmp_path: Path, disclosures=()) -> openpyxl.Workbook:
    """A Cover written on its own, without lots, with the given disclosures."""
    path = tmp_path / "cover.xlsx"
    book = xlsxwriter.Workbook(str(path), WORKBOOK_OPTIONS)
    wb = _Workbook(book, load_template(), "H-9", 2025, PREPARED, "123-45-6789")
    sheet = wb.add_sheet("Cover")
    _cover_sheet(wb, sheet, Holder("H-9", "Nobody", "123-45-6789"), [], {}, [], disclosures)
    wb.flush()
    book.close()
    return openpyxl.load_workbook(path)


def test_the_cover_has_the_tick_mark_legend(example_book):
    ws, t = example_book["Cover"], load_template()
    title = row_of(ws, t.section("cover_ticks", 2025))
    labels = t.tables["tick_legend"].labels
    assert (ws.cell(title + 1, 1).value, ws.cell(title + 1, 2).value) == (labels["mark"], labels["meaning"])
    legend = {ws.cell(r, 1).value: ws.cell(r, 2).value for r in range(title + 2, title + 2 + len(TICKS))}
    assert legend == {tick_mark(kind): meaning for kind, (_, meaning) in TICKS.items()}


def test_the_figures_amounts_are_ticked_recomputed(example_book):
    ws, t = example_book["Cover"], load_template()
    header = row_of(ws, t.tables["figures"].labels["item"])
    headers = [c.value for c in ws[header] if c.value]
    assert f"{t.tables['figures'].labels['amount']} {tick_mark('recomputed')}" in headers


def test_the_disclosures_block_says_none_or_lists_each_sentence(tmp_path, example_book):
    t = load_template()
    ws = example_book["Cover"]
    title = row_of(ws, t.section("cover_disclosures", 2025))
    assert ws.cell(title + 1, 1).value == t.line("none")

    sentences = ["The schedule used corrects the final payment printed as 1004.2577 to 1040.2578.",
                 "Accepted outside tolerance: residual of 0.02 per unit.",
                 "The schedule used corrects the final payment printed as 1004.2577 to 1040.2578.",
                 "Holder 123 45 6789 named here is masked."]
    ws = cover_only(tmp_path, sentences)["Cover"]
    title = row_of(ws, t.section("cover_disclosures", 2025))
    shown = [ws.cell(r, 1).value for r in range(title + 1, title + 4)]
    assert shown == [sentences[0], sentences[1], "Holder *****6789 named here is masked."]
    assert ws.cell(title + 4, 1).value is None  # each sentence once


def test_the_review_notes_grid_is_bordered_and_empty(example_book):
    ws, t = example_book["Cover"], load_template()
    title = row_of(ws, t.section("cover_review", 2025))
    layout = t.tables["review_notes"]
    header = title + 2
    assert [ws.cell(header, col + 1).value for col in range(len(layout.order))] == [
        layout.labels[cid] for cid in layout.order]
    assert [layout.labels[cid] for cid in layout.order] == [
        "#", "Sheet and cell", "Note", "Raised by / date", "Cleared by / date"]
    for number in range(1, REVIEW_ROWS + 1):
        r = header + number
        row = [ws.cell(r, col + 1) for col in range(len(layout.order))]
        assert row[layout.index("number")].value == number
        assert all(c.value is None for i, c in enumerate(row) if i != layout.index("number"))
        assert all(c.border.left.style == "thin" and c.border.bottom.style == "thin" for c in row)
    assert REVIEW_ROWS >= 8


def test_the_cover_keeps_its_figures_and_problems_blocks(example_book):
    ws, t = example_book["Cover"], load_template()
    for title in ("cover_holder", "cover_signoff", "cover_figures", "cover_problems"):
        row_of(ws, t.section(title, 2025))
    order = [row_of(ws, t.section(key, 2025)) for key in
             ("cover_figures", "cover_disclosures", "cover_problems", "cover_ticks", "cover_review")]
    assert order == sorted(order)


def test_the_lots_sheet_ticks_its_linked_columns_and_foots_its_totals(example_book):
    ws, t = example_book["Lots"], load_template()
    layout = t.tables["lots"]
    header = {c.column - 1: c.value for c in ws[5] if c.value}
    for cid in layout.order:
        label = layout.labels[cid]
        expected = f"{label} {tick_mark('recomputed')}" if cid in LINKED else label
        assert header[layout.index(cid)] == expected, cid
    total = row_of(ws, t.line("total"))
    assert tick_mark("footed") in [c.value for c in ws[total]]
    assert all(str(ws.cell(total, layout.index(cid) + 1).value).startswith("=SUM(")
               for cid in ("interest_income", "ordinary_loss", "carryforward_out"))

"""The Cover: its review apparatus (the tick-mark legend, the disclosures, the review-notes
grid, the figures ticked [R] and their check cells [C]), the holder's filer type and return,
one block per line of that filer type's return (trust: Form 1041 line 1 …), the carried item
on no return, Form 8949 / Schedule D by box, the broker reconciliation in brief; and the Lots
sheet's ticks (its linked columns [R], its totals [F])."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

import dataclasses

import cpdi
from cpdi import api
from cpdi.engine.forms import Character, HolderForms
from cpdi.model import FilerType, Holder
from cpdi.readers.form_lines import load_form_mapping
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import WORKBOOK_OPTIONS, write_holder_workbook
from cpdi.writers.workpapers.cells import CHECK_MARK, TICKS, _Workbook, tick_mark
from cpdi.writers.workpapers.cover import REVIEW_ROWS, _cover_sheet, _Returns
from cpdi.writers.workpapers.lots_sheet import LINKED
from cover_reader import cover_figures, expected_cover

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
    mapping = load_form_mapping()
    filer = mapping.filer(FilerType.INDIVIDUAL)
    forms = HolderForms("H-9", FilerType.INDIVIDUAL, 2025, (), (), ())
    lots_totals = {figure: "'Lots'!A1" for figure in (
        "interest_income", "ordinary_loss", "carryforward_out", "ordinary_income_on_disposition",
        "ordinary_loss_on_disposition", "capital_gain_on_disposition", "capital_loss_on_disposition")}
    _cover_sheet(wb, sheet, Holder("H-9", "Nobody", "123-45-6789"), [], lots_totals, [], disclosures,
                 _Returns(forms, filer))
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


def test_the_figures_amounts_are_ticked_recomputed_and_checked(example_book):
    ws, t = example_book["Cover"], load_template()
    labels = t.tables["form_lines"].labels
    header = row_of(ws, f"{labels['item']}")
    headers = [c.value for c in ws[header] if c.value]
    assert f"{labels['amount']} {tick_mark('recomputed')}" in headers
    assert f"{labels['ledger']} {tick_mark('input')}" in headers
    assert f"{labels['lots_check']} {tick_mark('check')}" in headers
    assert f"{labels['ledger_check']} {tick_mark('check')}" in headers


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
             ("cover_figures", "cover_capital", "cover_reconciliation", "cover_disclosures",
              "cover_problems", "cover_ticks", "cover_review")]
    assert order == sorted(order)


# -- the return's lines ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def filer_books(tmp_path_factory) -> dict:
    """H-1002's 2025 workbook (a sale, a lot held) under each filer type, with its forms."""
    example = api.load(cpdi.example_path())
    result = api.compute(example, 2025)
    ledgers = [l for l in result.ledgers if l.lot.holder_id == "H-1002"]
    folder = tmp_path_factory.mktemp("filers")
    books = {}
    for kind in FilerType:
        holder = dataclasses.replace(example.holders["H-1002"], filer_type=kind)
        portfolio = dataclasses.replace(example, holders={**example.holders, "H-1002": holder})
        forms = api.forms(portfolio, 2025, result)["H-1002"]
        path = folder / f"{kind.value}.xlsx"
        write_holder_workbook(path, holder, "H-1002", 2025, ledgers, result.books, None, PREPARED)
        books[kind] = (path, forms)
    return books


def cached(path: Path) -> openpyxl.Workbook:
    """The workbook's values as written beside the formulas."""
    return openpyxl.load_workbook(path, data_only=True)


def _value_right_of(ws, label: str):
    return ws.cell(row_of(ws, label), 2).value


@pytest.mark.parametrize("kind", list(FilerType), ids=lambda k: k.value)
def test_each_filer_types_cover_shows_its_return_and_lines(filer_books, kind):
    """The holder block names the filer type and the return; each ordinary line of that filer
    type's mapping heads a block with its items and the total to enter; the carried item stands
    under its own heading (on no return); each box goes to that filer type's Schedule D line."""
    path, forms = filer_books[kind]
    ws, t = cached(path)["Cover"], load_template()
    filer = load_form_mapping().filer(kind)
    assert _value_right_of(ws, t.line("filer_type")) == kind.value
    assert _value_right_of(ws, t.line("return_form")) == filer.return_form
    column_a = [c.value for c in ws["A"] if isinstance(c.value, str)]
    ordinary = [total for total in forms.totals if total.character is Character.ORDINARY]
    assert [total.where for total in ordinary] == list(dict.fromkeys(
        filer.line(item).where for item in ("interest_income", "ordinary_income_on_disposition",
                                            "ordinary_loss", "ordinary_loss_on_disposition")))
    for total in ordinary:
        heading = column_a.index(total.where)
        assert column_a[heading + len(total.items) + 1] == f"{t.line('line_total')} {total.where}"
    carried = filer.line("carryforward_out").where
    assert column_a[column_a.index(carried) + 1] == t.line("carryforward_out", 2025)
    lines, boxes = cover_figures(ws, t, 2025)
    want_lines, want_boxes = expected_cover(forms, filer, t, 2025)
    assert set(lines) == set(want_lines) and set(boxes) == set(want_boxes)
    for label, want in want_boxes.items():
        if "line" in want:
            assert boxes[label]["line"] == filer.schedule_d[want_box(label, t)].where


def want_box(label: str, t) -> str:
    return next(box for box in "ABCDEF" if t.line(f"box_{box}") == label)


def test_a_trust_reports_interest_on_form_1041_line_1(filer_books):
    path, _ = filer_books[FilerType.TRUST]
    book = cached(path)
    column_a = [c.value for c in book["Cover"]["A"] if isinstance(c.value, str)]
    assert "Form 1041, line 1 (interest income)" in column_a
    assert not any("Form 1040" in text for text in column_a)
    assert any(text.startswith("D: long term") for text in column_a)
    boxes = cover_figures(book["Cover"], load_template(), 2025)[1]
    assert boxes[load_template().line("box_D")]["line"] == "Schedule D (Form 1041), line 8b"


def test_a_corporation_has_no_1099b_so_its_sale_is_in_box_f(filer_books):
    """An exempt recipient gets no Form 1099-B (method §12): the sale is long term, box F."""
    path, forms = filer_books[FilerType.CORPORATION]
    assert [line.box for line in forms.form8949] == ["F"]
    boxes = cover_figures(cached(path)["Cover"], load_template(), 2025)[1]
    assert set(boxes) == {load_template().line("box_F"), load_template().line("all_boxes")}


def test_losses_are_entered_negative_and_the_line_total_sums_its_items(filer_books):
    """H-1002's sale is an ordinary loss (b)(8)(ii) with no capital part: on Schedule 1 as a
    negative amount; column (h) of box D is 0 (no capital loss netted against anything)."""
    path, forms = filer_books[FilerType.INDIVIDUAL]
    ws, t = cached(path)["Cover"], load_template()
    formulas = openpyxl.load_workbook(path)["Cover"]
    lines, boxes = cover_figures(ws, t, 2025)
    loss = lines[f"{t.line('ordinary_loss_on_disposition')} ({t.line('entered_negative')})"]
    assert loss["amount"] == pytest.approx(-forms.total("ordinary_loss_on_disposition")) and loss["amount"] < 0
    total = next(x for x in forms.totals if "ordinary_loss" in x.items)
    assert lines[f"{t.line('line_total')} {total.where}"]["amount"] == pytest.approx(total.amount)
    r = row_of(ws, f"{t.line('line_total')} {total.where}")
    assert formulas.cell(r, 3).value == f"=SUM(C{r - 2}:C{r - 1})"
    assert formulas.cell(r - 1, 3).value.startswith("=-(")
    assert boxes[t.line("box_D")]["gain_loss"] == 0


def test_every_check_cell_reads_a_tick(filer_books):
    """As written (cached), each amount agrees with the Lots sheet and the engine's ledger:
    every check cell of the Cover reads ✓."""
    for kind, (path, _) in filer_books.items():
        ws, t = cached(path)["Cover"], load_template()
        lines, boxes = cover_figures(ws, t, 2025)
        assert all(row["lots_check"] == CHECK_MARK == row["ledger_check"] for row in lines.values()), kind
        assert all(row["ledger_check"] == CHECK_MARK for row in boxes.values()), kind


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

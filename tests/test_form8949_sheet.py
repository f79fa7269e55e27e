"""The holder workbook's Form 8949 sheet, its Broker reconciliation sheet and the Cover's Form
8949 / Schedule D block, on hand-worked dispositions (method §12, tests/regulation_examples.md):

* ``Z-SALE`` — (b)(7)(vi) Example 2: sold for $630 with a $25 carryforward, basis $600; the $5
  gain is interest (b)(8)(i): (d) 630, (e) 600, (g) −30, (h) 0;
* ``Z-MAT`` — (b)(7)(vi) Example 3: retired at maturity, $615 paid against $660 projected:
  (d) 660 (the projected payment, (b)(7)(iv)), (e) 660, (g) −10 (the carryforward), (h) −10;
* ``E-45`` / ``E-105`` — (b)(8)(iv) Example 2: a $45 loss all ordinary ((g) +45, (h) 0) and a $105
  loss split $95 ordinary / $10 capital ((g) +95, (h) −10);
* ``LATE-CG`` — sold after the last contingent payment: the whole gain capital (b)(8)(iii)(A),
  no adjustment;

each lot on its own line (a gain and a loss of two lots never netted on one), in the box its
holding period and ``basis_reported`` give.  Every workbook is recalculated by LibreOffice and
must agree; the sheets print cleanly.
"""

from __future__ import annotations

import dataclasses
import re
from datetime import date
from pathlib import Path

import pytest

from builders import instrument, lot, open_book
from cpdi import api
from cpdi.engine.forms import Term
from cpdi.engine.reconciliation import ReconciliationLine
from cpdi.model import ActualPayment, BasisReported, FilerType, Holder
from cpdi.readers import Portfolio
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import WorkpaperError, write_holder_workbook
from cpdi.writers.workpapers.cells import CHECK_MARK, FLAG_MARK
from cover_reader import cover_figures, expected_cover, form8949_rows
from recalc import recalculate
from workpaper_layout import layout_problems

PREPARED = date(1999, 2, 15)
YEAR = 1998
CENT = 0.01
HOLDER = Holder("H1", "Regulation Examples Trust", "123-45-6789", filer_type=FilerType.INDIVIDUAL)

Z_NOTE = instrument("1996-12-31", [("1997-12-31", 500.0), ("1998-12-31", 660.0)], 10.0, instrument_id="ZNOTE")
E_NOTE = instrument("1996-12-31", [("1997-12-31", 0.0, "fixed"), ("1998-12-31", 1200.0)], 9.54,
                    instrument_id="ENOTE", accept_residual=True)
LATE = instrument("1996-12-31", [("1997-12-31", 100.0), ("1998-12-31", 1000.0, "fixed")], 10.0,
                  instrument_id="LATE", accept_residual=True)


def regulation_portfolio(filer_type: FilerType = FilerType.INDIVIDUAL) -> Portfolio:
    lots = (
        dataclasses.replace(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=630.0, lot_id="Z-SALE",
                                instrument_id="ZNOTE"), basis_reported=BasisReported.YES),
        lot("1996-12-31", 1000.0, lot_id="Z-MAT", instrument_id="ZNOTE"),
        dataclasses.replace(lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=1050.0, lot_id="E-45",
                                instrument_id="ENOTE"), basis_reported=BasisReported.NO_1099),
        lot("1996-12-31", 1000.0, sold="1998-01-01", proceeds=990.0, lot_id="E-105", instrument_id="ENOTE"),
        lot("1996-12-31", 1000.0, sold="1998-06-30", proceeds=1200.0, lot_id="LATE-CG", instrument_id="LATE"),
        dataclasses.replace(lot("1998-01-02", 1000.0, sold="1998-06-30", proceeds=1180.0, lot_id="LATE-ST",
                                instrument_id="LATE"), basis_reported=BasisReported.YES),
    )
    payments = {
        "ZNOTE": (ActualPayment("ZNOTE", date(1997, 12, 31), 375.0), ActualPayment("ZNOTE", date(1998, 12, 31), 615.0)),
        "ENOTE": (),
        "LATE": (ActualPayment("LATE", date(1997, 12, 31), 100.0),),
    }
    instruments = {i.instrument_id: i for i in (Z_NOTE, E_NOTE, LATE)}
    holder = dataclasses.replace(HOLDER, filer_type=filer_type)
    if filer_type is FilerType.CORPORATION:  # what brokers report left to the rules: no 1099-B
        lots = tuple(dataclasses.replace(x, basis_reported=None) for x in lots)
    return Portfolio("regulation examples", instruments, payments, lots, {"H1": holder}, ())


# hand-worked Form 8949 lines: lot -> (d), (e), (g), (h), code, box, term
HAND_WORKED = {
    "Z-SALE": (630.0, 600.0, -30.0, 0.0, "O", "D", Term.LONG),
    "Z-MAT": (660.0, 660.0, -10.0, -10.0, "O", "E", Term.LONG),
    "E-45": (1050.0, 1095.0, 45.0, 0.0, "O", "F", Term.LONG),
    "E-105": (990.0, 1095.0, 95.0, -10.0, "O", "E", Term.LONG),
}



def write(portfolio: Portfolio, path: Path, reconciliation=(), year: int = YEAR) -> tuple[Path, object]:
    result = api.compute(portfolio, year, accept_residual=list(portfolio.instruments))
    assert not result.problems, result.problems
    forms = api.forms(portfolio, year, result)["H1"]
    write_holder_workbook(path, portfolio.holders["H1"], "H1", year, result.ledgers, result.books, None,
                          PREPARED, reconciliation=reconciliation)
    return path, forms


def broker_lines(forms) -> tuple[ReconciliationLine, ...]:
    """Broker figures of every kind the sheet handles: linked to Form 8949 (d) and (e), to the lot
    sheets' interest, typed (a box cpdi reports as 0; a lot figure the workbook does not hold),
    explained and flagged — with hostile text in an explanation."""
    by_lot = {line.lot_id: line for line in forms.form8949}
    znote = sum(x.interest_income for x in forms.income if x.instrument_id == "ZNOTE")

    def line(form, box, amount, cpdi, explained, instrument_id="ZNOTE", lot_id="", text="Agrees."):
        return ReconciliationLine("H1", instrument_id, form, box, amount, cpdi, amount - cpdi, text, explained,
                                  lot_id)

    late = by_lot["LATE-CG"]
    e105 = by_lot["E-105"]
    return (
        line("1099-B", "1d", late.proceeds, late.proceeds, True, "LATE", "LATE-CG"),
        line("1099-B", "1e", 1000.0, e105.cost_basis, True, "ENOTE", "E-105",
             "The broker reports the lot's original cost, not its adjusted basis."),
        line("1099-OID", "1", round(znote, 2) + 50.0, znote, False,
             text='=HYPERLINK("http://x","y") for holder 123-45-6789: not explained'),
        line("1099-OID", "2", 375.0, 0.0, True, text="Payments reported as stated interest."),
        line("1099-B", "1d", 640.0, 999.0, False, "ZNOTE", "Z-SALE", "cpdi's figure is not this workbook's"),
    )


@pytest.fixture(scope="module")
def books(tmp_path_factory, libreoffice):
    """The hand-worked holder as an individual (with broker figures) and as a corporation (no
    1099-B: boxes C and F), a holder with nothing disposed of, all recalculated once."""
    out = tmp_path_factory.mktemp("form8949")
    written = {}
    portfolio = regulation_portfolio()
    _, forms = write(portfolio, out / "probe.xlsx")
    written["individual"] = write(portfolio, out / "individual.xlsx", broker_lines(forms))
    written["corporation"] = write(regulation_portfolio(FilerType.CORPORATION), out / "corporation.xlsx")
    held = dataclasses.replace(portfolio, lots=tuple(x for x in portfolio.lots if x.lot_id == "Z-MAT"))
    written["held"] = write(held, out / "held.xlsx", year=1997)
    copies = recalculate([path for path, _ in written.values()], out / "recalculated")
    return {name: (path, copies[path], forms) for name, (path, forms) in written.items()}


# -- the Form 8949 sheet ---------------------------------------------------------------------------
def test_hand_worked_lines_as_written_and_recalculated(books):
    """Each hand-worked disposition's line, cached and recalculated: (d), (e), (g), (h), the
    code, the box and the term; the ordinary part beside it; the check ✓."""
    path, copy, forms = books["individual"]
    t = load_template()
    for book in (open_book(path), open_book(copy)):
        rows = form8949_rows(book["Form 8949"], t)
        assert set(rows) == {line.lot_id for line in forms.form8949}
        for lot_id, (d, e, g, h, code, box, term) in HAND_WORKED.items():
            row = rows[lot_id]
            got = (row["proceeds"], row["cost_basis"], row["adjustment"], row["gain_loss"])
            assert got == pytest.approx((d, e, g, h), abs=0.5), lot_id
            assert (row["code"], row["box"], row["term"], row["check"]) == (code, box, term.value, CHECK_MARK), lot_id
        capital = rows["LATE-CG"]
        assert capital["code"] is None and capital["adjustment"] == pytest.approx(0.0, abs=CENT)
        assert capital["gain_loss"] == pytest.approx(capital["proceeds"] - capital["cost_basis"], abs=CENT)
        assert capital["gain_loss"] > 0
        assert (rows["LATE-ST"]["term"], rows["LATE-ST"]["box"]) == ("short", "A")
        assert rows["Z-SALE"]["ordinary"] == pytest.approx(5.0, abs=0.5)
        assert rows["E-105"]["ordinary"] == pytest.approx(-95.0, abs=0.5)
        assert rows["Z-SALE"]["carryforward"] == pytest.approx(25.0, abs=0.5)
        assert rows["Z-SALE"]["ordinary_where"] == "Schedule B (Form 1040), Part I, line 1"
        assert rows["E-105"]["ordinary_where"] == "Schedule 1 (Form 1040), line 8z (other income)"
        assert rows["LATE-CG"]["ordinary_where"] is None


def test_lines_link_to_their_lot_sheets(books):
    """(b), (c), (d), (e) are links to the lot sheet; (g) and (h) formulas of its character
    split; the check (d) − (e) + (g) − (h); the lines in box order."""
    path, _, _ = books["individual"]
    t = load_template()
    ws = open_book(path, data_only=False)["Form 8949"]
    rows = form8949_rows(ws, t)
    sheet = re.escape("'Lot Z-SALE'!")
    row = rows["Z-SALE"]
    for cid in ("date_acquired", "date_sold", "proceeds", "cost_basis", "carryforward"):
        assert re.fullmatch(rf"={sheet}G\d+", row[cid]), cid
    assert re.fullmatch(rf"={sheet}G\d+-{sheet}G\d+-{sheet}G\d+", row["adjustment"])
    assert re.fullmatch(rf"={sheet}G\d+-{sheet}G\d+", row["gain_loss"])
    assert re.fullmatch(r'=IF\(ABS\(([A-Z]+\d+)-([A-Z]+\d+)\+([A-Z]+\d+)-([A-Z]+\d+)\)<0\.005,"✓",'
                        r'\1-\2\+\3-\4\)', row["check"])
    assert [r["box"] for r in rows.values()] == sorted(r["box"] for r in rows.values())


def test_the_totals_of_each_box(books):
    """Per box used: lines counted and (d), (e), (g), (h) summed over the box column (COUNTIF,
    SUMIF), the Schedule D line, and the check; recalculated equal to the forms layer's."""
    path, copy, forms = books["individual"]
    t = load_template()
    layout = t.tables["form8949_totals"]
    formulas, values = open_book(path, data_only=False)["Form 8949"], open_book(copy)["Form 8949"]
    title = next(c.row for c in values["A"] if c.value == t.section("form8949_totals", YEAR))
    header = {re.sub(r" \[[A-Z]\]$", "", c.value): c.column for c in values[title + 1] if c.value}
    capital = {x.box: x for x in forms.totals if x.box}
    for offset, box in enumerate(sorted(capital), start=2):
        r = title + offset
        value = lambda cid: values.cell(r, header[layout.labels[cid]]).value  # noqa: E731
        assert value("box") == box and value("line") == capital[box].where
        assert value("count") == capital[box].count
        assert value("gain_loss") == pytest.approx(capital[box].amount, abs=CENT)
        assert value("proceeds") == pytest.approx(capital[box].proceeds, abs=CENT)
        assert value("check") == CHECK_MARK
        assert formulas.cell(r, header[layout.labels["gain_loss"]]).value.startswith("=SUMIF(")
        assert formulas.cell(r, header[layout.labels["count"]]).value.startswith("=COUNTIF(")
    assert set(capital) == {"A", "D", "E", "F"}


def test_a_corporation_has_boxes_c_and_f_only(books):
    _, copy, _ = books["corporation"]
    rows = form8949_rows(open_book(copy)["Form 8949"], load_template())
    assert {row["box"] for row in rows.values()} == {"C", "F"}
    assert all(row["check"] == CHECK_MARK for row in rows.values())


def test_nothing_disposed_of_says_so(books):
    path, copy, _ = books["held"]
    t = load_template()
    ws = open_book(path)["Form 8949"]
    texts = [c.value for c in ws["A"] if c.value]
    assert t.line("none") in texts and t.line("no_disposition", 1997) in texts
    assert t.line("form8949_note", 1997) not in texts
    cover = open_book(copy)["Cover"]
    capital = next(c.row for c in cover["A"] if c.value == t.section("cover_capital", 1997))
    assert cover.cell(capital + 1, 1).value == t.line("no_disposition", 1997)
    lines, boxes = cover_figures(cover, t, 1997)
    assert boxes == {} and all(row["ledger_check"] == CHECK_MARK for row in lines.values())


# -- the Cover's Form 8949 / Schedule D block ----------------------------------------------------
def test_the_cover_recalculates_to_the_forms_layer(books):
    """Recalculated, every Cover figure of the hand-worked holder is the forms layer's, and every
    check reads ✓: the ordinary lines carry the (b)(8)(i) gain and the (b)(8)(ii) losses, the
    boxes only column (h)."""
    for name in ("individual", "corporation"):
        _, copy, _ = books[name]
        portfolio = regulation_portfolio(FilerType.CORPORATION if name == "corporation" else FilerType.INDIVIDUAL)
        result = api.compute(portfolio, YEAR, accept_residual=list(portfolio.instruments))
        forms = api.forms(portfolio, YEAR, result)["H1"]
        t = load_template()
        lines, boxes = cover_figures(open_book(copy)["Cover"], t, YEAR)
        want_lines, want_boxes = expected_cover(forms, None, t, YEAR)
        assert set(lines) == set(want_lines) and set(boxes) == set(want_boxes)
        for label, want in want_lines.items():
            assert lines[label]["amount"] == pytest.approx(want["amount"], abs=CENT), (name, label)
            assert lines[label]["lots_check"] == lines[label]["ledger_check"] == CHECK_MARK
        for label, want in want_boxes.items():
            assert boxes[label]["gain_loss"] == pytest.approx(want["gain_loss"], abs=CENT), (name, label)
            assert boxes[label]["ledger_check"] == CHECK_MARK
        assert boxes[t.line("all_boxes")]["lots_check"] == CHECK_MARK


def test_no_cover_formula_mixes_characters_and_the_test_would_notice(books, tmp_path):
    """The Cover of the hand-worked holder names one character per formula; a Cover changed to
    add a capital gain to the interest line is caught."""
    from test_workpapers import cover_formula_characters

    path, _, _ = books["individual"]
    t = load_template()
    book = open_book(path, data_only=False)
    assert cover_formula_characters(book, t, YEAR)
    cover = book["Cover"]
    interest = next(c.row for c in cover["A"] if c.value == t.line("interest_income", YEAR))
    capital_gain = "'Lot LATE-CG'!" + re.search(r"'Lot LATE-CG'!(G\d+)-", form8949_rows(
        book["Form 8949"], t)["LATE-CG"]["gain_loss"]).group(1)
    cover.cell(interest, 3).value += f"+{capital_gain}"
    with pytest.raises(AssertionError, match="capital"):
        cover_formula_characters(book, t, YEAR)


# -- the broker reconciliation ------------------------------------------------------------------------
def test_broker_figures_link_where_the_workbook_holds_cpdis(books):
    """cpdi's amount is a link to Form 8949 (d) or (e) or to the lot sheets' interest where those
    cells hold the reconciliation's figure, typed otherwise; the difference a formula; text from
    the inputs stays text, its taxpayer id masked."""
    path, copy, _ = books["individual"]
    t = load_template()
    layout = t.tables["reconciliation"]
    ws = open_book(path, data_only=False)[t.sheet("reconciliation")]
    header = next(c.row for c in ws["A"] if c.value == layout.labels["form"])
    cols = {re.sub(r" \[[A-Z]\]$", "", c.value): c.column for c in ws[header] if c.value}
    cell = lambda r, cid: ws.cell(header + r, cols[layout.labels[cid]])  # noqa: E731
    assert cell(1, "cpdi_amount").value == "='Form 8949'!E" + str(_row_of(ws.parent, "LATE-CG"))
    assert cell(2, "cpdi_amount").value == "='Form 8949'!F" + str(_row_of(ws.parent, "E-105"))
    assert re.fullmatch(r"='Lot Z-SALE'!G\d+\+'Lot Z-MAT'!G\d+", cell(3, "cpdi_amount").value)
    assert cell(4, "cpdi_amount").value == 0 and cell(5, "cpdi_amount").value == 999
    assert cell(4, "source").value == t.line("typed_from_reconciliation")
    for r in range(1, 6):
        assert re.fullmatch(r"=E\d+-F\d+", cell(r, "difference").value)
    explanation = cell(3, "explanation")
    assert explanation.data_type == "s" and explanation.value.startswith("=HYPERLINK(")
    assert "123-45-6789" not in explanation.value and "*****6789" in explanation.value
    assert [cell(r, "flag").value for r in range(1, 6)] == [CHECK_MARK, CHECK_MARK, FLAG_MARK, CHECK_MARK, FLAG_MARK]


def _row_of(book, lot_id: str) -> int:
    ws = book["Form 8949"]
    return next(c.row for c in ws["A"] if c.value == lot_id)


def test_the_cover_counts_the_unexplained_differences(books):
    """Recalculated: the differences are broker − cpdi, and the Cover counts the ✗ flags live
    (COUNTIF), with the number of figures and a link to the sheet."""
    path, copy, forms = books["individual"]
    t = load_template()
    lines = broker_lines(forms)
    ws = open_book(copy)[t.sheet("reconciliation")]
    layout = t.tables["reconciliation"]
    header = next(c.row for c in ws["A"] if c.value == layout.labels["form"])
    cols = {re.sub(r" \[[A-Z]\]$", "", c.value): c.column for c in ws[header] if c.value}
    for offset, line in enumerate(lines, start=1):
        assert ws.cell(header + offset, cols[layout.labels["difference"]]).value == pytest.approx(
            line.difference, abs=CENT)
    cover = open_book(copy)["Cover"]
    r = next(c.row for c in cover["A"] if c.value == t.line("broker_unexplained"))
    assert cover.cell(r, 2).value == 2
    assert cover.cell(r - 1, 2).value == len(lines)
    formula = open_book(path, data_only=False)["Cover"].cell(r, 2).value
    assert formula == f"=COUNTIF('{t.sheet('reconciliation')}'!H{header + 1}:H{header + len(lines)},\"{FLAG_MARK}\")"


def test_a_workbook_without_broker_figures_says_nothing_was_reconciled(books):
    path, _, _ = books["corporation"]
    t = load_template()
    book = open_book(path)
    assert t.sheet("reconciliation") not in book.sheetnames
    texts = [c.value for c in book["Cover"]["A"] if c.value]
    assert t.line("no_broker_figures", YEAR) in texts


# -- what the writer refuses, and how it prints ----------------------------------------------------------
def test_forms_that_are_not_the_workbooks_are_refused(tmp_path):
    """Forms of another holder or year, or a line that is not the lot sheet's: nothing written."""
    portfolio = regulation_portfolio()
    result = api.compute(portfolio, YEAR, accept_residual=list(portfolio.instruments))
    forms = api.forms(portfolio, YEAR, result)["H1"]
    args = (portfolio.holders["H1"], "H1", YEAR, result.ledgers, result.books, None, PREPARED)
    with pytest.raises(WorkpaperError, match="holder H2's for 1998"):
        write_holder_workbook(tmp_path / "a.xlsx", *args, forms=dataclasses.replace(forms, holder_id="H2"))
    wrong = dataclasses.replace(forms, form8949=tuple(
        dataclasses.replace(line, proceeds=line.proceeds + 1) if line.lot_id == "E-45" else line
        for line in forms.form8949))
    with pytest.raises(WorkpaperError, match="lot E-45: proceeds"):
        write_holder_workbook(tmp_path / "b.xlsx", *args, forms=wrong)
    assert list(tmp_path.iterdir()) == []


def test_the_new_sheets_print_cleanly(books):
    """No ###, no cut text, print set-up and headers on the Form 8949, Broker reconciliation and
    Cover sheets of every workbook above (tests/workpaper_layout.py)."""
    for name, (path, _, _) in books.items():
        assert layout_problems(path) == [], name


def test_a_broker_basis_in_column_e_is_corrected_with_code_b(tmp_path):
    """Form 8949 instructions, code B: on a box A or D line, (e) is the basis the 1099-B shows
    "even though that basis is incorrect", corrected in (g).  Z-SALE (box D) with a broker basis
    of $1,000 (the original cost) against cpdi's $600: (e) 1,000 typed blue, (g) −30 + 400 = 370
    with code BO, (h) still 0; LibreOffice recalculates the same, and the Cover's box D totals
    follow.  A box B/E line (E-105) keeps cpdi's basis in (e) whatever the broker said."""
    from cpdi.engine.forms import holder_forms
    from cpdi.readers.form_lines import load_form_mapping

    portfolio = regulation_portfolio()
    result = api.compute(portfolio, YEAR, accept_residual=list(portfolio.instruments))
    forms = holder_forms("H1", FilerType.INDIVIDUAL, YEAR, result.ledgers,
                         {}, load_form_mapping(), {"Z-SALE": 1000.0, "E-105": 1000.0})
    by_lot = {line.lot_id: line for line in forms.form8949}
    assert by_lot["Z-SALE"].adjustment_code == "BO"
    assert by_lot["E-105"].cost_basis == pytest.approx(by_lot["E-105"].cpdi_basis)
    path = tmp_path / "b.xlsx"
    write_holder_workbook(path, portfolio.holders["H1"], "H1", YEAR, result.ledgers, result.books, None,
                          PREPARED, forms=forms)
    copy = recalculate([path], tmp_path / "recalculated")[path]
    t = load_template()
    for book in (open_book(path), open_book(copy)):
        row = form8949_rows(book["Form 8949"], t)["Z-SALE"]
        got = (row["proceeds"], row["cost_basis"], row["adjustment"], row["gain_loss"])
        assert got == pytest.approx((630.0, 1000.0, 370.0, 0.0), abs=CENT)
        assert (row["code"], row["check"]) == ("BO", CHECK_MARK)
        assert row["cost_basis"] == pytest.approx(by_lot["Z-SALE"].cost_basis)
    formulas = form8949_rows(open_book(path, data_only=False)["Form 8949"], t)["Z-SALE"]
    assert not str(formulas["cost_basis"]).startswith("=")  # typed from the 1099-B
    assert re.search(r"\+[A-Z]+\d+-'Lot Z-SALE'!G\d+$", formulas["adjustment"])

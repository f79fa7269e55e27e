"""Workpapers of a lot taken over mid-life (opening balances, method §14) and of conversions
into stock (method §7; Rev. Rul. 2002-31), recalculated by LibreOffice (tests/recalc.py).

One contingent note, ``CCVT2027`` (annual periods to 31 December, 6% comparable yield), whose
missed contingent payments of 2021 and 2023 leave ordinary losses and a carryforward, so that
every opening balance is something:

* holder ``H-OPEN`` — ``FULL``, held since 2019-06-30 at a discount with its whole history, and
  ``OPEN``, the same lot taken over with opening balances on 1 January 2024 read from FULL's
  ledger; ``FULL-X`` and ``OPEN-X`` (opening 2023), the same pair converted into stock below
  basis on 2025-09-30, so the (b)(8)(ii) cap counts the opening interest inclusions and
  ordinary losses.  Workbooks for 2023, 2024 and 2025: the opening years themselves and later.
* holder ``H-CONV`` — conversions above basis (``CV-GAIN`` on a payment date, no cash;
  ``CV-GAIN-CASH`` with cash, bought on a trade date before its settlement) and below basis
  (``CV-LOSS-CASH``, ``CV-LOSS``: the ordinary loss capped at the inclusions, the rest capital),
  and ``SALE``, settled on the payment date that ``CV-GAIN`` converts on (the buyer gets that
  payment; the converter keeps it) and traded two days before.

Every formula recalculated equals the value cached beside it and the engine's within a cent; the
opened-later lot's years equal its full history's; the opening balances are blue inputs
labelled with their source; a changed opening balance or stock value on the workbook flows to
the engine's figures for the changed inputs; no text from the inputs becomes a formula; the
sheets print cleanly.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from builders import instrument, lot, open_book
from cpdi import api
from cpdi.model import ActualPayment, DispositionKind, FilerType, Holder
from cpdi.readers import Portfolio
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import KV_VALUE, write_holder_workbook
from cpdi.writers.workpapers.cells import CHECK_MARK, INPUT_BLUE, KV_NOTE, KV_TICK
from cover_reader import cover_figures, expected_cover, form8949_rows
from recalc import recalculate
from workpaper_layout import layout_problems

PREPARED = date(2026, 2, 15)
CENT = 0.01
NOTE = "CCVT2027"
YEARS = (2023, 2024, 2025)
VALUE, TICK, NOTE_COL = KV_VALUE + 1, KV_TICK + 1, KV_NOTE + 1  # openpyxl columns are 1-based
TWINS = (("FULL", "OPEN", 2024), ("FULL-X", "OPEN-X", 2023))  # full history, opened later, opening year
CONVERSIONS = ("CV-GAIN", "CV-GAIN-CASH", "CV-LOSS-CASH", "CV-LOSS", "FULL-X", "OPEN-X")
INJECTED = {"holder": '=HYPERLINK("http://x","y")', "lot": "+OPEN", "description": "@SUM(1)"}
OPENING_LINES = {  # template line -> (lots.csv column, Lot field)
    "opening_adjusted_basis": "opening_adjusted_basis", "opening_carryforward": "opening_carryforward",
    "opening_inclusions": "prior_interest_inclusions", "opening_ordinary_losses": "prior_ordinary_losses",
}
ROLLFORWARD_FIELDS = {  # roll-forward column -> LotYear field
    "interest_accrued": "interest_accrued", "positive_adjustments": "positive_adjustments",
    "negative_adjustments": "negative_adjustments", "carryforward_in": "carryforward_in",
    "net_positive_adjustment": "net_positive_adjustment", "net_negative_adjustment": "net_negative_adjustment",
    "interest_reduction": "interest_reduction", "interest_income": "interest_income",
    "ordinary_loss": "ordinary_loss", "carryforward_out": "carryforward_out",
    "basis_start": "adjusted_basis_start", "allocations": "allocation_adjustments",
    "projected_received": "projected_payments_received", "basis_end": "adjusted_basis_end",
}
LOTS_FIGURES = (
    "interest_income", "ordinary_loss", "carryforward_out", "adjusted_basis_end", "consideration",
    "amount_realized", "gain_loss", "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
)


# -- the portfolio ---------------------------------------------------------------------------------
def note(description: str = "Contingent convertible note due 2027 (illustrative)"):
    """Annual periods to 31 December 2018–2027, 6% ACT/ACT; the final payment is solved so the
    schedule's present value is the issue price (1,000) — a schedule that closes."""
    projected = {2018: 20, 2019: 20, 2020: 20, 2021: 150, 2022: 20, 2023: 300, 2024: 20, 2025: 20, 2026: 20}
    present = sum(amount / 1.06 ** (year - 2017) for year, amount in projected.items())
    rows = [(f"{year}-12-31", amount) for year, amount in projected.items()]
    rows.append(("2027-12-31", (1000.0 - present) * 1.06 ** 10))
    return dataclasses.replace(instrument("2017-12-31", rows, 6.0, instrument_id=NOTE), description=description)


PAID = {2018: 20.0, 2019: 20.0, 2020: 20.0, 2021: 0.0, 2022: 20.0, 2023: 0.0, 2024: 20.0, 2025: 5.0}


def a_lot(lot_id: str, holder: str, acquired: str, cost: float, **changes):
    return dataclasses.replace(lot(acquired, cost, principal=100_000.0, lot_id=lot_id, instrument_id=NOTE),
                               holder_id=holder, **changes)


def converted(on: date, stock: float, cash: float | None = None) -> dict:
    return dict(disposition_date=on, disposition_kind=DispositionKind.CONVERSION,
                stock_fair_market_value=stock, proceeds=cash)


def opened(full, ledger, year: int, lot_id: str):
    """``full`` taken over on 1 January ``year``: its opening balances are what its ledger says
    on that day (as a preparer would carry them from the earlier computation)."""
    row = next(y for y in ledger.years if y.tax_year == year)
    earlier = [y for y in ledger.years if y.tax_year < year]
    return dataclasses.replace(
        full, lot_id=lot_id, opening_year=year, opening_adjusted_basis=row.adjusted_basis_start,
        opening_carryforward=row.carryforward_in,
        prior_interest_inclusions=sum(y.interest_income for y in earlier),
        prior_ordinary_losses=sum(y.ordinary_loss for y in earlier))


def portfolio(description: str | None = None, holder_name: str = "Takeover Client",
              open_id: str = "OPEN") -> Portfolio:
    inst = note() if description is None else note(description)
    payments = {NOTE: tuple(ActualPayment(NOTE, date(y, 12, 31), amount) for y, amount in PAID.items())}
    full = a_lot("FULL", "H-OPEN", "2019-06-30", 95_000.0)
    full_x = a_lot("FULL-X", "H-OPEN", "2019-06-30", 95_000.0, **converted(date(2025, 9, 30), 70_000.0))
    history = api.compute(Portfolio("history", {NOTE: inst}, payments, (full, full_x), {}, ()), 2025)
    ledgers = {ledger.lot.lot_id: ledger for ledger in history.ledgers}
    lots = (
        full, opened(full, ledgers["FULL"], 2024, open_id),
        full_x, opened(full_x, ledgers["FULL-X"], 2023, "OPEN-X"),
        a_lot("CV-GAIN", "H-CONV", "2020-03-16", 100_000.0, **converted(date(2025, 12, 31), 150_000.0)),
        a_lot("CV-GAIN-CASH", "H-CONV", "2021-01-04", 101_000.0, acquisition_trade_date=date(2020, 12, 30),
              **converted(date(2025, 6, 30), 110_000.0, 8_000.0)),
        a_lot("CV-LOSS-CASH", "H-CONV", "2024-06-28", 98_000.0, **converted(date(2025, 9, 30), 60_000.0, 5_000.0)),
        a_lot("CV-LOSS", "H-CONV", "2024-06-28", 98_000.0, **converted(date(2025, 12, 31), 80_000.0)),
        a_lot("SALE", "H-CONV", "2022-01-03", 99_000.0, disposition_date=date(2025, 12, 31), proceeds=97_000.0,
              disposition_trade_date=date(2025, 12, 29)),
    )
    holders = {"H-OPEN": Holder("H-OPEN", holder_name, filer_type=FilerType.INDIVIDUAL),
               "H-CONV": Holder("H-CONV", "Convertible Holder", filer_type=FilerType.TRUST)}
    return Portfolio("opening and conversion", {NOTE: inst}, payments, lots, holders, ())


@dataclasses.dataclass
class Book:
    path: Path
    holder_id: str
    year: int
    ledgers: dict  # lot id -> LotLedger
    rows: dict  # lot id -> LotYear of the year
    forms: object


def write_books(p: Portfolio, out: Path, prefix: str = "") -> list[Book]:
    books = []
    for year in YEARS:
        result = api.compute(p, year)
        assert not result.problems, result.problems
        forms = api.forms(p, year, result)
        for holder_id in p.holders:
            ledgers = [l for l in result.ledgers if l.lot.holder_id == holder_id]
            rows = {l.lot.lot_id: y for l in ledgers for y in l.years if y.tax_year == year}
            if not rows:
                continue
            path = out / f"{prefix}{holder_id}_{year}.xlsx"
            write_holder_workbook(path, p.holders[holder_id], holder_id, year, ledgers, result.books,
                                  load_template(), PREPARED, forms=forms[holder_id])
            books.append(Book(path, holder_id, year, {l.lot.lot_id: l for l in ledgers}, rows, forms[holder_id]))
    return books


# -- changing inputs on a workbook ------------------------------------------------------------------
OPENING_STEP = 1_000.0  # added to OPEN's opening adjusted basis on the workbook
CARRY_STEP = 500.0  # added to OPEN-X's opening carryforward
STOCK_STEP = 5_000.0  # added to CV-LOSS-CASH's stock value
CASH_STEP = 2_500.0  # added to CV-GAIN's cash (none: 0 typed)


def changed_lots(p: Portfolio) -> Portfolio:
    def change(l):
        if l.lot_id == "OPEN":
            return dataclasses.replace(l, opening_adjusted_basis=l.opening_adjusted_basis + OPENING_STEP)
        if l.lot_id == "OPEN-X":
            return dataclasses.replace(l, opening_carryforward=l.opening_carryforward + CARRY_STEP)
        if l.lot_id == "CV-LOSS-CASH":
            return dataclasses.replace(l, stock_fair_market_value=l.stock_fair_market_value + STOCK_STEP)
        if l.lot_id == "CV-GAIN":
            return dataclasses.replace(l, proceeds=(l.proceeds or 0.0) + CASH_STEP)
        return l
    return dataclasses.replace(p, lots=tuple(change(l) for l in p.lots))


def change_workbook(source: Path, target: Path, year: int) -> int:
    """Type the changes of :func:`changed_lots` into the input cells, as a reviewer would."""
    t = load_template()
    book = open_book(source, data_only=False)
    steps = {("OPEN", t.line("opening_adjusted_basis", 2024)): OPENING_STEP,
             ("OPEN-X", t.line("opening_carryforward", 2023)): CARRY_STEP,
             ("CV-LOSS-CASH", t.line("stock_fair_market_value", year)): STOCK_STEP,
             ("CV-GAIN", t.line("conversion_cash", year)): CASH_STEP}
    changed = 0
    for (lot_id, label), step in steps.items():
        name = f"Lot {lot_id}"
        if name in book.sheetnames:
            cell = book[name].cell(find_row(book[name], label), VALUE)
            cell.value = float(cell.value) + step
            changed += 1
    book.save(target)
    return changed


# -- reading the workbooks ---------------------------------------------------------------------------

def untick(text):
    return re.sub(r" \[[A-Z]\]$", "", text) if isinstance(text, str) else text


def find_row(ws, label: str, after: int = 0) -> int:
    for (cell,) in ws.iter_rows(min_col=1, max_col=1, min_row=after + 1):
        if untick(cell.value) == label:
            return cell.row
    raise AssertionError(f"no row labelled {label!r} on {ws.title}")


def columns(ws, row: int) -> dict[str, int]:
    return {untick(c.value): c.column for c in ws[row] if c.value is not None}


def table(ws, section: str, layout) -> dict[int, list[dict]]:
    """A lot sheet table under its section title: ``{tax year: [row as {column id: value}]}``."""
    header = find_row(ws, section) + 1
    cols = columns(ws, header)
    rows: dict[int, list[dict]] = {}
    r = header + 1
    while isinstance(ws.cell(r, 1).value, int):
        row = {cid: ws.cell(r, cols[layout.labels[cid]]).value for cid in layout.order
               if layout.labels[cid] in cols}  # a column a lot does not need is left out
        rows.setdefault(row["tax_year"], []).append(row)
        r += 1
    return rows


def kv_after(ws, label: str) -> list[tuple[str, object]]:
    """The (label, value) lines of the key-value blocks from the row labelled ``label`` on."""
    start = find_row(ws, label)
    return [(ws.cell(r, 1).value, ws.cell(r, VALUE).value) for r in range(start, ws.max_row + 1)
            if ws.cell(r, 1).value is not None and ws.cell(r, VALUE).value is not None]


def kv(ws, label: str):
    return ws.cell(find_row(ws, label), VALUE).value


def as_date(value) -> date:
    return value.date() if isinstance(value, datetime) else value


# -- the fixture: written, changed, recalculated once --------------------------------------------
@pytest.fixture(scope="module")
def recalculated(tmp_path_factory, libreoffice):
    out = tmp_path_factory.mktemp("opening-conversion")
    (out / "written").mkdir()
    p = portfolio()
    books = write_books(p, out / "written")
    changed = []
    for book in books:
        if book.year == 2025:
            target = out / "written" / f"changed-{book.path.name}"
            assert change_workbook(book.path, target, book.year) == 2
            changed.append((book, target))
    copies = recalculate([b.path for b in books] + [c for _, c in changed], out / "recalculated",
                         soffice=libreoffice, timeout=900)
    after = api.compute(changed_lots(p), 2025)
    assert not after.problems, after.problems
    after_rows = {l.lot.lot_id: next(y for y in l.years if y.tax_year == 2025) for l in after.ledgers}
    return p, books, copies, [(book, copies[target]) for book, target in changed], after_rows


def book_of(books, holder_id: str, year: int) -> Book:
    return next(b for b in books if b.holder_id == holder_id and b.year == year)


# -- tests --------------------------------------------------------------------------------------------
def test_the_portfolio_exercises_what_it_should(recalculated):
    """Opening balances that are all something, twins that agree in the engine, conversions
    above and below basis with and without cash, the loss capped — else the checks below prove
    less than they seem."""
    p, books, _, _, _ = recalculated
    lots = {l.lot_id: l for l in p.lots}
    for _, later, _ in TWINS:
        assert lots[later].opens_later
    assert lots["OPEN"].opening_carryforward > 1_000 and lots["OPEN"].prior_ordinary_losses > 1_000
    assert lots["OPEN-X"].prior_interest_inclusions > lots["OPEN-X"].prior_ordinary_losses > 1_000
    rows = book_of(books, "H-CONV", 2025).rows | book_of(books, "H-OPEN", 2025).rows
    gains = [rows[i] for i in CONVERSIONS if rows[i].gain_loss > 0]
    losses = [rows[i] for i in CONVERSIONS if rows[i].gain_loss < 0]
    assert all(r.ending == "conversion" for r in gains + losses) and len(gains) == 2 and len(losses) == 4
    assert all(r.ordinary_income_on_disposition == pytest.approx(r.gain_loss) for r in gains)
    assert all(r.ordinary_loss_on_disposition > 1 and r.capital_loss_on_disposition > 1 for r in losses)
    assert {lots[i].proceeds is None for i in CONVERSIONS} == {True, False}
    for full, later, opening in TWINS:  # the engine's own agreement, which the sheets must show
        ledgers = book_of(books, "H-OPEN", 2025).ledgers
        mine = {y.tax_year: y for y in ledgers[later].years}
        assert min(mine) == opening
        for y in ledgers[full].years:
            if y.tax_year >= opening:
                assert mine[y.tax_year].interest_income == pytest.approx(y.interest_income, abs=1e-6)
                assert mine[y.tax_year].adjusted_basis_end == pytest.approx(y.adjusted_basis_end, abs=1e-6)


def test_every_formula_recalculates_to_its_cached_value(recalculated):
    """Every formula LibreOffice recalculates — numbers, dates and booleans — equals what the
    writer cached beside it (the engine's figures): within a cent for money."""
    _, books, copies, _, _ = recalculated
    checked = 0
    for book in books:
        cached, formulas, again = open_book(book.path), open_book(book.path, False), open_book(copies[book.path])
        for ws in formulas.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if cell.data_type != "f":
                        continue
                    was, now = cached[ws.title][cell.coordinate].value, again[ws.title][cell.coordinate].value
                    where = f"{book.path.name} {ws.title}!{cell.coordinate} {cell.value}"
                    assert was is not None, f"{where}: no cached value"
                    if isinstance(was, (bool, str, datetime)):
                        assert now == was, where
                    else:
                        assert now == pytest.approx(was, abs=CENT), where
                    checked += 1
    assert checked > 4_000


def test_lots_sheet_and_cover_equal_the_engine(recalculated):
    """Recalculated, each lot's figures on the Lots sheet are the engine's — the conversion's
    consideration the stock's value plus the cash — its ending and opening year are shown, and
    the Cover is the forms layer's with every check ✓."""
    _, books, copies, _, _ = recalculated
    t = load_template()
    labels = t.tables["lots"].labels
    seen = set()
    for book in books:
        wb = open_book(copies[book.path])
        lots = wb["Lots"]
        cols = columns(lots, 5)
        for r in range(6, lots.max_row + 1):
            lot_id = lots.cell(r, cols[labels["lot_id"]]).value
            if lot_id not in book.rows:
                continue
            row, the_lot = book.rows[lot_id], book.ledgers[lot_id].lot
            for figure in LOTS_FIGURES:
                value = lots.cell(r, cols[labels[figure]]).value
                if value is None:
                    assert row.disposition_date is None, (book.path.name, lot_id, figure)
                    continue
                assert value == pytest.approx(getattr(row, figure), abs=CENT), (book.path.name, lot_id, figure)
            assert lots.cell(r, cols[labels["ending"]]).value == (row.ending or "held")
            assert lots.cell(r, cols[labels["opening_year"]]).value == (
                the_lot.opening_year if the_lot.opens_later else None)
            if row.ending == "conversion":
                assert row.consideration == pytest.approx(
                    the_lot.stock_fair_market_value + (the_lot.proceeds or 0.0))
            seen.add((book.year, lot_id))
        lines, boxes = cover_figures(wb["Cover"], t, book.year)
        want_lines, want_boxes = expected_cover(book.forms, None, t, book.year)
        assert set(lines) == set(want_lines) and set(boxes) == set(want_boxes), book.path.name
        for label, want in want_lines.items():
            assert lines[label]["amount"] == pytest.approx(want["amount"], abs=CENT), (book.path.name, label)
            assert lines[label]["lots_check"] == lines[label]["ledger_check"] == CHECK_MARK
        for label, want in want_boxes.items():
            for cid in ("count", "proceeds", "cost_basis", "adjustment", "gain_loss"):
                assert boxes[label][cid] == pytest.approx(want[cid], abs=CENT), (book.path.name, label, cid)
    assert (2025, "OPEN") in seen and (2024, "OPEN") in seen
    assert (2023, "OPEN-X") in seen and (2023, "OPEN") not in seen  # no row before its opening year
    assert {(2025, i) for i in CONVERSIONS} <= seen


def test_an_opened_later_lot_shows_the_same_years_as_its_full_history(recalculated):
    """From its opening year on, the opened-later lot's sheet is its full history's, recalculated:
    the accrual and payment rows, the roll-forward rows (each equal to the engine's ledger,
    with the interest inclusions and ordinary losses to date counting the opening balances), and
    the year's netting, basis and disposition lines."""
    _, books, copies, _, _ = recalculated
    t = load_template()
    rollforward = t.tables["rollforward"]
    compared = 0
    for book in (b for b in books if b.holder_id == "H-OPEN"):
        wb = open_book(copies[book.path])
        for full, later, opening in TWINS:
            if later not in book.rows:
                continue
            a, b = wb[f"Lot {full}"], wb[f"Lot {later}"]
            for key, layout in (("lot_accrual", "accrual"), ("lot_payments", "payments"),
                                ("lot_rollforward", "rollforward")):
                mine = table(b, t.section(f"{key}_opening", book.year), t.tables[layout])
                theirs = table(a, t.section(key, book.year), t.tables[layout])
                assert min(mine) == opening, (book.path.name, later, key)
                for year, rows in mine.items():
                    assert len(rows) == len(theirs[year]), (book.path.name, later, key, year)
                    for x, y in zip(rows, theirs[year]):
                        for cid, value in x.items():
                            if isinstance(value, (int, float)):
                                assert value == pytest.approx(y[cid], abs=CENT), (book.path.name, later, key, year, cid)
                            else:
                                assert value == y[cid], (book.path.name, later, key, year, cid)
            engine = {y.tax_year: y for y in book.ledgers[later].years}
            the_lot = book.ledgers[later].lot
            inclusions, losses = the_lot.prior_interest_inclusions, the_lot.prior_ordinary_losses
            for year, (row,) in sorted(table(b, t.section("lot_rollforward_opening", book.year), rollforward).items()):
                y = engine[year]
                inclusions += y.interest_income
                losses += y.ordinary_loss
                for cid, field in ROLLFORWARD_FIELDS.items():
                    assert row[cid] == pytest.approx(getattr(y, field), abs=CENT), (book.path.name, later, year, cid)
                assert row["inclusions_to_date"] == pytest.approx(inclusions, abs=CENT)
                assert row["ordinary_losses_to_date"] == pytest.approx(losses, abs=CENT)
            # the year's netting, basis and disposition: line by line the full history's (in the
            # opening year three lines name the opening balance as their source)
            netting = t.line("interest_accrued", book.year)
            ours, theirs = kv_after(b, netting), kv_after(a, netting)
            assert len(ours) == len(theirs) >= 18  # the netting and basis blocks, and any disposition
            for (label, value), (their_label, their_value) in zip(ours, theirs):
                if book.year == opening and label != their_label:
                    assert label in {t.line(f"{k}_opening", book.year) for k in
                                     ("carryforward_in", "prior_inclusions", "prior_ordinary_losses")}
                else:
                    assert label == their_label
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    assert value == pytest.approx(their_value, abs=CENT), (book.path.name, later, label)
                else:
                    assert value == their_value, (book.path.name, later, label)
            compared += 1
    assert compared == 5  # OPEN in 2024 and 2025, OPEN-X in 2023, 2024 and 2025


def is_input(cell) -> bool:
    """A typed number in the input style (blue)."""
    color = cell.font.color.rgb if cell.font and cell.font.color else ""
    return cell.data_type == "n" and str(color).upper().endswith(INPUT_BLUE.lstrip("#").upper())


def test_opening_balances_are_inputs_named_with_their_source(recalculated):
    """The opening balances are typed in the input style, ticked [I], each label naming lots.csv
    and "computed before cpdi" and the note its column; the acquisition date and cost are still
    there (the (b)(9)(i) difference is a formula of the cost); and everything that started from
    the cost and zeros starts from them: the roll-forward's first row (basis, carryforward in,
    inclusions and ordinary losses to date, the ordinary-loss cap) or, in the opening year, the
    netting and basis blocks — down to the (b)(8)(ii) cap on the disposition."""
    _, books, copies, _, _ = recalculated
    t = load_template()
    rollforward = t.tables["rollforward"]
    checked = 0
    for book in (b for b in books if b.holder_id == "H-OPEN"):
        wb, values = open_book(book.path, data_only=False), open_book(copies[book.path])
        for _, later, opening in TWINS:
            if later not in book.rows:
                continue
            ws, the_lot = wb[f"Lot {later}"], book.ledgers[later].lot
            cells = {}
            for key, field in {"opening_year": "opening_year", **OPENING_LINES}.items():
                label = t.line(key, opening)
                r = find_row(ws, label)
                cell = ws.cell(r, VALUE)
                assert is_input(cell) and cell.value == pytest.approx(getattr(the_lot, field)), (later, key)
                assert ws.cell(r, TICK).value == "[I]" and "lots.csv" in label
                assert f"lots.csv {field}" in ws.cell(r, NOTE_COL).value
                if key != "opening_year":
                    assert "computed before cpdi" in label and str(opening) in label, label
                cells[key] = cell.coordinate
            assert as_date(kv(ws, t.line("acquisition_date"))) == the_lot.acquisition_date
            cost = ws.cell(find_row(ws, t.line("cost_basis")), VALUE)
            assert is_input(cost) and cost.value == the_lot.cost_basis
            assert kv(ws, t.line("basis_difference")).endswith(f"-{cost.coordinate}")
            basis, carry = cells["opening_adjusted_basis"], cells["opening_carryforward"]
            inclusions, losses = cells["opening_inclusions"], cells["opening_ordinary_losses"]
            if book.year > opening:  # the roll-forward's first row, computed in the row
                header = find_row(ws, t.section("lot_rollforward_opening", book.year)) + 1
                found = columns(ws, header)  # a lot with no (b)(9)(ii) adjustment has no column for them
                cols = {cid: found[rollforward.labels[cid]] for cid in rollforward.order
                        if rollforward.labels[cid] in found}
                first = {cid: ws.cell(header + 1, col).value for cid, col in cols.items()}
                assert first["tax_year"] == opening
                assert first["basis_start"] == f"={basis}" and first["carryforward_in"] == f"={carry}"
                assert first["inclusions_to_date"].startswith(f"={inclusions}+")
                assert first["ordinary_losses_to_date"].startswith(f"={losses}+")
                assert f"-{losses}))" in first["ordinary_loss"]
            else:  # the opening year: the netting and basis blocks open from them
                assert kv(ws, t.line("carryforward_in_opening", book.year)) == f"={carry}"
                assert kv(ws, t.line("prior_inclusions_opening", book.year)) == f"={inclusions}"
                assert kv(ws, t.line("prior_ordinary_losses_opening", book.year)) == f"={losses}"
                assert kv(ws, t.line("basis_start", book.year)) == f"={basis}"
            row = book.rows[later]
            if row.disposition_date is not None:  # the (b)(8)(ii) cap counts the opening balances
                years = [y for y in book.ledgers[later].years if y.tax_year <= book.year]
                v = values[f"Lot {later}"]
                after = find_row(v, t.section("lot_disposition", book.year))
                total_inc = v.cell(find_row(v, t.line("total_inclusions", book.year), after), VALUE).value
                total_ol = v.cell(find_row(v, t.line("total_ordinary_losses", book.year), after), VALUE).value
                assert total_inc == pytest.approx(the_lot.prior_interest_inclusions
                                                  + sum(y.interest_income for y in years), abs=CENT)
                assert total_ol == pytest.approx(the_lot.prior_ordinary_losses
                                                 + sum(y.ordinary_loss for y in years), abs=CENT)
                assert row.ordinary_loss_on_disposition == pytest.approx(total_inc - total_ol, abs=CENT)
            checked += 1
    assert checked == 5


def test_a_conversion_shows_the_stock_its_basis_and_its_holding_period(recalculated):
    """The disposition block of a conversion: the stock's fair market value and the cash typed
    (inputs, the cash 0 when none), the consideration their sum, the amount realized, gain or
    loss and (b)(8) character the engine's — a gain all interest, a loss ordinary up to the
    inclusions less ordinary losses and capital beyond — then the stock's basis (a link to its
    value) and the day it is held from (the day after the conversion date); the ending reads
    ``conversion``."""
    _, books, copies, _, _ = recalculated
    t = load_template()
    figures = {"disposition_amount_realized": "amount_realized", "disposition_gain_loss": "gain_loss",
               "disposition_ordinary_income": "ordinary_income_on_disposition",
               "disposition_ordinary_loss": "ordinary_loss_on_disposition",
               "disposition_capital_loss": "capital_loss_on_disposition",
               "disposition_capital_gain": "capital_gain_on_disposition"}
    checked = 0
    for holder in ("H-CONV", "H-OPEN"):
        book = book_of(books, holder, 2025)
        formulas, values = open_book(book.path, data_only=False), open_book(copies[book.path])
        for lot_id in (i for i in CONVERSIONS if i in book.rows):
            row, the_lot = book.rows[lot_id], book.ledgers[lot_id].lot
            f, v = formulas[f"Lot {lot_id}"], values[f"Lot {lot_id}"]
            line = lambda key: t.line(key, 2025)  # noqa: E731
            after = find_row(f, t.section("lot_disposition", 2025))
            at = lambda key: find_row(f, line(key), after)  # noqa: E731
            assert [f.cell(r, VALUE).value for r in range(1, f.max_row + 1)
                    if f.cell(r, 1).value == line("ending")] == ["conversion", "conversion"]
            when = f.cell(find_row(f, line("conversion_date")), VALUE)
            assert as_date(when.value) == row.disposition_date == the_lot.disposition_date
            stock, cash = f.cell(at("stock_fair_market_value"), VALUE), f.cell(at("conversion_cash"), VALUE)
            assert is_input(stock) and stock.value == the_lot.stock_fair_market_value
            assert is_input(cash) and cash.value == (the_lot.proceeds or 0.0)
            assert f.cell(at("stock_fair_market_value"), TICK).value == "[I]"
            r = at("consideration_conversion")
            assert f.cell(r, VALUE).value == f"={stock.coordinate}+{cash.coordinate}"
            assert v.cell(r, VALUE).value == pytest.approx(row.consideration, abs=CENT)
            assert row.consideration == pytest.approx(stock.value + cash.value)
            for key, field in figures.items():
                assert v.cell(at(key), VALUE).value == pytest.approx(getattr(row, field), abs=CENT), (lot_id, key)
            r = at("stock_basis")
            assert f.cell(r, VALUE).value == f"={stock.coordinate}"
            assert v.cell(r, VALUE).value == pytest.approx(row.stock_fair_market_value) == stock.value
            r = at("stock_held_from")
            assert f.cell(r, VALUE).value == f"={when.coordinate}+1"
            assert as_date(v.cell(r, VALUE).value) == row.disposition_date + timedelta(days=1)
            if row.gain_loss < 0:  # ordinary up to the cap, capital beyond
                cap = (v.cell(at("total_inclusions"), VALUE).value - v.cell(at("total_ordinary_losses"), VALUE).value)
                assert v.cell(at("disposition_ordinary_loss"), VALUE).value == pytest.approx(cap, abs=CENT)
                assert v.cell(at("disposition_capital_loss"), VALUE).value == pytest.approx(-row.gain_loss - cap, abs=CENT)
            else:
                assert v.cell(at("disposition_ordinary_income"), VALUE).value == pytest.approx(row.gain_loss, abs=CENT)
            checked += 1
    assert checked == len(CONVERSIONS)


def test_the_payment_due_on_the_conversion_date_is_the_converters(recalculated):
    """CV-GAIN converts on 31 December 2025, a payment date: it holds that day and its payments
    table ends with that payment (the engine's); SALE, sold the same day, leaves it to the
    buyer (method §4)."""
    _, books, copies, _, _ = recalculated
    t = load_template()
    book = book_of(books, "H-CONV", 2025)
    wb = open_book(copies[book.path])
    payments = {}
    for lot_id in ("CV-GAIN", "SALE"):
        rows = table(wb[f"Lot {lot_id}"], t.section("lot_payments", 2025), t.tables["payments"])
        payments[lot_id] = [as_date(r["date"]) for year in sorted(rows) for r in rows[year]]
        assert payments[lot_id] == [p.date for p in book.ledgers[lot_id].payments]
    day = date(2025, 12, 31)
    assert book.rows["CV-GAIN"].disposition_date == book.rows["SALE"].disposition_date == day
    assert payments["CV-GAIN"][-1] == day and day not in payments["SALE"]
    assert (book.rows["CV-GAIN"].days_held, book.rows["SALE"].days_held) == (365, 364)


def test_the_form_8949_sheet_shows_a_conversion(recalculated):
    """A conversion's Form 8949 line: (d) the stock's value plus the cash, linked; the stock's
    basis and the day it is held from beside it (blank on a sale's line); the line adds up.  The
    dates are the forms layer's — trade dates where lots.csv gives them — linked to the lot
    sheet's cell that holds them."""
    _, books, copies, _, _ = recalculated
    t = load_template()
    checked = 0
    for holder in ("H-CONV", "H-OPEN"):
        book = book_of(books, holder, 2025)
        rows = form8949_rows(open_book(copies[book.path])["Form 8949"], t)
        formulas = form8949_rows(open_book(book.path, data_only=False)["Form 8949"], t)
        lines = {line.lot_id: line for line in book.forms.form8949}
        assert set(rows) == {i for i, r in book.rows.items() if r.disposition_date is not None} == set(lines)
        for lot_id, got in rows.items():
            row, the_lot = book.rows[lot_id], book.ledgers[lot_id].lot
            assert got["proceeds"] == pytest.approx(row.consideration, abs=CENT)
            assert got["proceeds"] == pytest.approx(lines[lot_id].proceeds, abs=CENT)
            assert got["check"] == CHECK_MARK and got["ending"] == row.ending
            for cid in ("date_acquired", "date_sold"):
                assert as_date(got[cid]) == getattr(lines[lot_id], cid), (lot_id, cid)
                assert formulas[lot_id][cid].startswith(f"='Lot {lot_id}'!G"), (lot_id, cid)
            if row.ending == "conversion":
                assert got["stock_basis"] == pytest.approx(the_lot.stock_fair_market_value, abs=CENT)
                assert as_date(got["stock_held_from"]) == row.disposition_date + timedelta(days=1)
                if getattr(lines[lot_id], "stock_basis", None) is not None:  # the forms layer's, once it has it
                    assert got["stock_basis"] == pytest.approx(lines[lot_id].stock_basis, abs=CENT)
                checked += 1
            else:
                assert got["stock_basis"] is None and got["stock_held_from"] is None
    assert checked == len(CONVERSIONS)
    dates = {line.lot_id: (line.date_acquired, line.date_sold) for line in book_of(books, "H-CONV", 2025).forms.form8949}
    assert dates["CV-GAIN-CASH"][0] == date(2020, 12, 30) and dates["SALE"][1] == date(2025, 12, 29)


def test_changed_opening_balances_and_stock_values_flow_through(recalculated):
    """The workbook is live: OPEN's opening adjusted basis, OPEN-X's opening carryforward,
    CV-LOSS-CASH's stock value and CV-GAIN's cash changed on the sheet, recalculated — the Lots
    sheet shows what the engine computes for the changed inputs."""
    _, books, _, changed, after = recalculated
    t = load_template()
    labels = t.tables["lots"].labels
    moved = set()
    for book, copy in changed:
        lots = open_book(copy)["Lots"]
        cols = columns(lots, 5)
        for r in range(6, lots.max_row + 1):
            lot_id = lots.cell(r, cols[labels["lot_id"]]).value
            if lot_id not in book.rows:
                continue
            for figure in LOTS_FIGURES:
                value = lots.cell(r, cols[labels[figure]]).value
                if value is None:
                    continue
                assert value == pytest.approx(getattr(after[lot_id], figure), abs=CENT), (lot_id, figure)
                if abs(value - getattr(book.rows[lot_id], figure)) > 1.0:
                    moved.add(lot_id)
    assert moved == {"OPEN", "OPEN-X", "CV-LOSS-CASH", "CV-GAIN"}


def test_text_from_inputs_never_becomes_a_formula(tmp_path):
    """A holder name, an opened-later lot's id and an instrument description that look like
    formulas are written as text wherever they appear; no formula holds them."""
    p = portfolio(description=INJECTED["description"], holder_name=INJECTED["holder"], open_id=INJECTED["lot"])
    found = set()
    for book in write_books(p, tmp_path):
        with zipfile.ZipFile(book.path) as archive:
            xml = " ".join(archive.read(n).decode("utf-8") for n in archive.namelist() if n.endswith(".xml"))
        formulas = " ".join(re.findall(r"<f>(.*?)</f>", xml))
        assert "HYPERLINK" not in formulas and "@SUM" not in formulas
        wb = open_book(book.path, data_only=False)
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    for name, text in INJECTED.items():
                        if cell.value == text:
                            assert cell.data_type == "s", (book.path.name, ws.title, cell.coordinate)
                            found.add(name)
    assert found == set(INJECTED)


def test_the_sheets_print_cleanly(recalculated):
    """Nothing prints as ###, no label of the opening balances or the conversion is cut
    (tests/workpaper_layout.py)."""
    _, books, _, _, _ = recalculated
    for book in books:
        assert layout_problems(book.path) == [], book.path.name

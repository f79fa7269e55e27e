"""The instrument sheet is a live model from the terms (method §2, §3, §8).

Workbooks are written through the public path (``api.load`` a CSV folder, ``api.compute``,
``write_holder_workbook``) and recalculated by LibreOffice (tests/recalc.py).  Recalculated,
every new formula equals the engine: the year fractions of the day counts that are a formula
of the dates (30/360 with a 31st and the end of February, 30E/360, 30E/360 ISDA, ACT/360,
ACT/365F), the period rates, the discount factors, the present value at the comparable yield,
and the check of the implied yield (0).  A comparable yield changed on the sheet recomputes
the table as the engine would with that yield.  Then the source columns, the disclosure note
and the chart.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import pytest

import cpdi
from cpdi import api
from cpdi.engine.daycount import DayCount, year_fraction
from cpdi.engine.schedule import accrual_periods
from cpdi.engine.validation import validate_schedule
from cpdi.model import ComparableYield, Instrument, ProjectedPayment, PaymentType
from cpdi.readers.columns import column
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import write_holder_workbook
from cpdi.writers.workpapers.instrument_sheet import disclosure_sentences, year_fraction_formula
from recalc import recalculate
from builders import open_book

PREPARED = date(2026, 2, 15)
# LibreOffice saves a recalculated value with 15 significant digits: "equal" below is equal to
# within that rounding (a day too many or too few is off by 1/360 of a year, 1e-3 relative)
DIGITS = 1e-14
T = load_template()
LABELS = T.tables["schedule"].labels
TICK = re.compile(r" \[[A-Z]\]$")

# day-count cases: dates with a 31st at either end, the last of February mid-schedule and at
# maturity, a February end followed by a 31st (30/360: 28 Feb → 31 Mar is 33 days)
THIRTY_DATES = ("2023-08-31", "2024-02-29", "2024-08-31", "2025-02-28", "2025-03-31", "2025-08-31")
DAY_COUNT_CASES = {
    "DC-30-360": ("30/360", THIRTY_DATES),
    "DC-30E-360": ("30E/360", THIRTY_DATES),
    "DC-30E-ISDA": ("30E/360 ISDA", ("2023-08-31", "2024-02-29", "2024-08-31", "2025-02-28")),
    "DC-ACT-360": ("ACT/360", ("2023-08-31", "2023-11-15", "2024-02-29", "2024-08-31", "2025-03-31")),
    "DC-ACT-365F": ("ACT/365F", ("2023-08-31", "2024-02-29", "2024-08-31", "2025-01-15")),
    "DC-ACT-ISDA": ("ACT/ACT ISDA", ("2023-08-31", "2024-02-29", "2024-08-31", "2025-02-28")),
}
SOURCE_DOCUMENT = "Pricing supplement dated 2023-08-28, 424B2"
SOURCE_PAGE = "PS-22"


# -- helpers -------------------------------------------------------------------------------------

def find_row(ws, label: str, column: int = 1) -> int | None:
    for row in ws.iter_rows(min_col=column, max_col=column):
        if row[0].value == label:
            return row[0].row
    return None


def label_value(ws, label: str, column: int = 1, value_column: int = 7):
    row = find_row(ws, label, column)
    assert row is not None, f"no row labelled {label!r} on {ws.title}"
    return ws.cell(row, value_column)


def table(ws) -> tuple[int, dict[str, int]]:
    """The schedule table's header row and its columns by column id (tick marks stripped)."""
    header = find_row(ws, LABELS["period"])
    by_label = {TICK.sub("", str(c.value)): c.column for c in ws[header] if c.value is not None}
    by_label = {re.sub(r" \([^)]*\)$", "", k) if k.startswith(LABELS["days"]) else k: v
                for k, v in by_label.items()}
    return header, {cid: by_label[label] for cid, label in LABELS.items() if label in by_label}


def header_text(ws, cid: str) -> str:
    header, cols = table(ws)
    return ws.cell(header, cols[cid]).value


def write_folder(folder: Path, instruments: list[dict], schedule: list[tuple], lots: list[tuple]) -> Path:
    """A CSV input folder (docs/formats.md) of these rows; lots are (lot_id, instrument_id,
    acquisition_date) of holder H-1, 100,000 principal at par."""
    folder.mkdir(parents=True, exist_ok=True)
    names = list(dict.fromkeys(k for row in instruments for k in row))
    lines = [",".join(names)] + [",".join(_csv(row.get(n, "")) for n in names) for row in instruments]
    (folder / "instruments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["instrument_id,period_start,period_end,projected_payment,payment_type"]
    lines += [f"{iid},{start},{end},{amount!r},{kind}" for iid, start, end, amount, kind in schedule]
    (folder / "schedule.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = ["holder_id,lot_id,instrument_id,principal_amount,acquisition_date,cost_basis"]
    lines += [f"H-1,{lot_id},{iid},100000,{acquired},100000" for lot_id, iid, acquired in lots]
    (folder / "lots.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "holders.csv").write_text("holder_id,name,tin\nH-1,Test Holder,\n", encoding="utf-8")
    (folder / "payments.csv").write_text("instrument_id,date,amount,kind\n", encoding="utf-8")
    return folder


def _csv(value) -> str:
    text = str(value)
    return f'"{text}"' if "," in text else text


def closing_schedule(iid: str, day_count: str, dates: tuple[str, ...], yield_pct: float = 5.0,
                     coupon: float = 20.0) -> list[tuple]:
    """Fixed coupons and a final payment that makes the final AIP zero (method §3)."""
    days = [date.fromisoformat(d) for d in dates]
    payments = tuple(ProjectedPayment(s, e, coupon if e != days[-1] else 0.0, PaymentType.FIXED)
                     for s, e in zip(days, days[1:]))
    instrument = Instrument(iid, days[0], days[-1], 1000.0, 1000.0,
                            ComparableYield(yield_pct / 100.0, DayCount.parse(day_count), 2), payments)
    final = accrual_periods(instrument)[-1].adjusted_issue_price_end
    return [(iid, p.period_start.isoformat(), p.period_end.isoformat(),
             p.amount if p.period_end != days[-1] else final, "fixed") for p in payments]


def workbook(folder: Path, holder_id: str, year: int, out: Path) -> Path:
    portfolio = api.load(folder)
    assert not portfolio.problems, portfolio.problems
    result = api.compute(portfolio, year)
    ledgers = [l for l in result.ledgers if l.lot.holder_id == holder_id]
    return write_holder_workbook(out, portfolio.holders.get(holder_id), holder_id, year, ledgers,
                                 result.books, T, PREPARED, result.problems)


def day_count_folder(root: Path) -> Path:
    instruments, schedule, lots = [], [], []
    for n, (iid, (day_count, dates)) in enumerate(DAY_COUNT_CASES.items()):
        row = {"instrument_id": iid, "issue_date": dates[0], "maturity_date": dates[-1],
               "issue_price": "1000", "unit_principal": "1000", "comparable_yield_pct": "5",
               "frequency": "2", "day_count": day_count}
        if n == 0:
            row |= {"source_document": SOURCE_DOCUMENT, "source_page": SOURCE_PAGE}
        instruments.append(row)
        schedule += closing_schedule(iid, day_count, dates)
        lots.append((f"L-{n}", iid, dates[0]))
    return write_folder(root / "day-counts", instruments, schedule, lots)


def accepted_folder(root: Path) -> Path:
    """The AIG schedule exactly as printed (final payment 1004.2577 for 1040.2578), accepted."""
    folder = root / "aig-as-printed"
    folder.mkdir(parents=True)
    fixture = Path(__file__).parent / "fixtures" / "aig-cms-curve-2027"
    shutil.copy(fixture / "schedule.csv", folder / "schedule.csv")
    text = (fixture / "instruments.csv").read_text(encoding="utf-8").splitlines()
    (folder / "instruments.csv").write_text(
        f"{text[0]},accept_residual\n{text[1]},yes\n", encoding="utf-8")
    (folder / "lots.csv").write_text(
        "holder_id,lot_id,instrument_id,principal_amount,acquisition_date,cost_basis\n"
        "H-1,L-1,02687QCD8,100000,2007-07-20,100000\n", encoding="utf-8")
    (folder / "holders.csv").write_text("holder_id,name,tin\nH-1,Test Holder,\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def books(tmp_path_factory, libreoffice):
    """The workbooks and their LibreOffice recalculations, one LibreOffice call:
    ``{name: (written, recalculated, portfolio, year)}``."""
    root = tmp_path_factory.mktemp("instrument-sheet")
    out = root / "out"
    out.mkdir()
    example = Path(cpdi.example_path())
    cases = {
        "example-H-1001": (example, "H-1001", 2025),  # 30/360 (AIG) and ACT/ACT (typed)
        "example-H-1003": (example, "H-1003", 2025),  # ACT/360
        "day-counts": (day_count_folder(root), "H-1", 2024),
        "accepted": (accepted_folder(root), "H-1", 2008),
    }
    written = {}
    for name, (folder, holder_id, year) in cases.items():
        written[name] = workbook(folder, holder_id, year, out / f"{name}.xlsx")
    # the example's AIG note with its comparable yield changed on the sheet (formulas kept)
    perturbed = out / "perturbed.xlsx"
    book = open_book(written["example-H-1001"], data_only=False)
    label_value(book["02687QCD8"], T.line("comparable_yield")).value = PERTURBED_YIELD
    book.save(perturbed)
    written["perturbed"] = perturbed
    copies = recalculate([str(p) for p in written.values()], root / "recalculated", soffice=libreoffice,
                         timeout=600)
    cases["perturbed"] = cases["example-H-1001"]
    return {name: (path, copies[Path(path)], api.load(cases[name][0]), cases[name][2])
            for name, path in written.items()}


PERTURBED_YIELD = 0.0625


def instrument_sheets(books, names=("example-H-1001", "example-H-1003", "day-counts", "accepted")):
    """(case name, recalculated sheet, formula sheet, instrument, report) of every instrument sheet."""
    for name in names:
        path, copy, portfolio, _ = books[name]
        again, formulas = open_book(copy), open_book(path, data_only=False)
        for iid, instrument in portfolio.instruments.items():
            if iid in again.sheetnames:
                accept = instrument.accept_residual
                yield name, again[iid], formulas[iid], instrument, validate_schedule(instrument, accept_residual=accept)


# -- recalculated, the new formulas equal the engine ------------------------------------------------
def test_every_instrument_sheet_recalculates_to_the_engine(books):
    """Year fraction, rate, days, discount factors and present values per period, the present
    value at the comparable yield (within 1e-9 per unit) and the implied yield's check (0)."""
    seen = set()
    for name, ws, formulas, instrument, report in instrument_sheets(books):
        seen.add(instrument.comparable_yield.day_count)
        header, c = table(ws)
        periods = accrual_periods(instrument)
        discount = implied_discount = 1.0
        implied = report.implied_yield_pct / 100.0
        for k, p in enumerate(periods):
            r = header + 1 + k
            where = f"{name} {ws.title} period {p.number}"
            assert ws.cell(r, c["year_fraction"]).value == pytest.approx(p.year_fraction, rel=DIGITS, abs=0), where
            assert ws.cell(r, c["rate"]).value == pytest.approx(p.rate, rel=DIGITS, abs=0), where
            assert ws.cell(r, c["days"]).value == p.weight, where
            assert formulas.cell(r, c["rate"]).value == (
                f"=$G${label_value(formulas, T.line('comparable_yield')).row}*"
                f"{formulas.cell(r, c['year_fraction']).coordinate}"), where
            discount /= 1.0 + p.rate
            implied_discount /= 1.0 + implied * p.year_fraction
            assert ws.cell(r, c["discount_factor"]).value == pytest.approx(discount, rel=1e-14), where
            assert ws.cell(r, c["present_value"]).value == pytest.approx(
                p.projected_payment * discount, rel=1e-13, abs=1e-12), where
            assert ws.cell(r, c["implied_discount_factor"]).value == pytest.approx(implied_discount, rel=1e-14), where
            assert ws.cell(r, c["aip_end"]).value == pytest.approx(p.adjusted_issue_price_end, abs=1e-9), where
        pv = label_value(ws, T.line("present_value"), 9, 13).value
        assert pv == pytest.approx(report.present_value, abs=1e-9), (name, ws.title)
        assert label_value(ws, T.line("pv_difference"), 9, 13).value == pytest.approx(report.pv_difference, abs=1e-9)
        assert label_value(ws, T.line("final_aip"), 9, 13).value == pytest.approx(
            report.final_adjusted_issue_price, abs=1e-9)
        assert abs(label_value(ws, T.line("implied_check"), 9, 13).value) < 1e-7, (name, ws.title)
        # the present value is the footing of its column; the check the footing at the implied yield
        f = label_value(formulas, T.line("present_value"), 9, 13).value
        assert re.fullmatch(r"=SUM\(O\d+:O\d+\)", f), f
        assert label_value(formulas, T.line("implied_check"), 9, 13).value.startswith("=SUM(Q")
    assert seen == set(DayCount)  # every day count, formula or typed


def test_year_fractions_are_formulas_where_the_day_count_allows(books):
    """A formula of the dates for 30/360, 30E/360, 30E/360 ISDA, ACT/360 and ACT/365F; typed
    (blue, with a note) for ACT/ACT ICMA and ISDA.  Days are end − start by calendar days."""
    for name, ws, formulas, instrument, _ in instrument_sheets(books):
        header, c = table(formulas)
        first = formulas.cell(header + 1, c["year_fraction"]).value
        day_count = instrument.comparable_yield.day_count
        if day_count in (DayCount.ACT_ACT, DayCount.ACT_ACT_ISDA):
            assert isinstance(first, (int, float)), (ws.title, first)
            assert header_text(formulas, "year_fraction").endswith("[I]")
            note = formulas.cell(header - 1, 1).value
            assert note.startswith(T.line("year_fraction_note")) and day_count.value in note
        else:
            assert isinstance(first, str) and first.startswith("="), (ws.title, first)
            assert header_text(formulas, "year_fraction").endswith("[R]")
        assert formulas.cell(header + 1, c["days"]).value == f"=C{header + 1}-B{header + 1}"


@pytest.mark.parametrize("iid", [k for k, (dc, _) in DAY_COUNT_CASES.items() if not dc.startswith("ACT/ACT")])
def test_day_count_formula_equals_year_fraction_exactly(books, iid):
    """The recalculated year fraction of each period is the engine's (to the 15 digits
    LibreOffice saves): a 31st at either end, the last of February mid-schedule and at
    maturity (30E/360 ISDA), a February end followed by a 31st."""
    path, copy, portfolio, _ = books["day-counts"]
    ws = open_book(copy)[iid]
    header, c = table(ws)
    instrument = portfolio.instruments[iid]
    cy = instrument.comparable_yield
    for k, pp in enumerate(instrument.projected_payments):
        expected = year_fraction(cy.day_count, pp.period_start, pp.period_end, cy.frequency,
                                 instrument.maturity_date)
        assert ws.cell(header + 1 + k, c["year_fraction"]).value == pytest.approx(expected, rel=DIGITS, abs=0), (iid, pp)


def test_year_fraction_formula_shapes():
    assert year_fraction_formula(DayCount.ACT_360, "B1", "C1", "$G$9") == "(C1-B1)/360"
    assert year_fraction_formula(DayCount.ACT_365F, "B1", "C1", "$G$9") == "(C1-B1)/365"
    assert year_fraction_formula(DayCount.ACT_ACT, "B1", "C1", "$G$9") is None
    assert year_fraction_formula(DayCount.ACT_ACT_ISDA, "B1", "C1", "$G$9") is None
    assert "$G$9" in year_fraction_formula(DayCount.THIRTY_E_360_ISDA, "B1", "C1", "$G$9")
    used = set()
    for day_count in DayCount:
        used |= set(re.findall(r"([A-Z]+)\(", year_fraction_formula(day_count, "B1", "C1", "$G$9") or ""))
    assert used == {"YEAR", "MONTH", "DAY", "MIN", "IF", "OR", "AND"}


def test_a_changed_comparable_yield_recomputes_the_table(books):
    """The comparable yield typed over on the sheet (formulas kept), recalculated: the rates,
    interest and AIP are the engine's accrual table at that yield (method §2–§3)."""
    _, copy, portfolio, _ = books["perturbed"]
    ws = open_book(copy)["02687QCD8"]
    instrument = portfolio.instruments["02687QCD8"]
    cy = dataclasses.replace(instrument.comparable_yield, annual_rate=PERTURBED_YIELD)
    periods = accrual_periods(dataclasses.replace(instrument, comparable_yield=cy))
    header, c = table(ws)
    for k, p in enumerate(periods):
        r = header + 1 + k
        assert ws.cell(r, c["rate"]).value == pytest.approx(p.rate, rel=DIGITS)
        assert ws.cell(r, c["interest"]).value == pytest.approx(p.interest, rel=1e-12, abs=1e-9)
        assert ws.cell(r, c["aip_start"]).value == pytest.approx(p.adjusted_issue_price_start, abs=1e-9)
        assert ws.cell(r, c["aip_end"]).value == pytest.approx(p.adjusted_issue_price_end, abs=1e-9)
    final = label_value(ws, T.line("final_aip"), 9, 13).value
    assert final == pytest.approx(periods[-1].adjusted_issue_price_end, abs=1e-9)
    assert abs(final) > 10  # the schedule no longer closes at another yield


# -- source references -----------------------------------------------------------------------------
def test_source_columns_are_read_and_optional(books):
    assert not column("instruments", "source_document").required
    assert not column("instruments", "source_page").required
    portfolio = books["day-counts"][2]
    assert portfolio.instruments["DC-30-360"].source_document == SOURCE_DOCUMENT
    assert portfolio.instruments["DC-30-360"].source_page == SOURCE_PAGE
    assert portfolio.instruments["DC-ACT-360"].source_document == ""
    example = books["example-H-1001"][2]  # a file without the columns
    assert example.instruments["02687QCD8"].source_page == ""


def test_source_rows_and_ticks_on_the_sheet(books):
    """Given, the source rows show and the comparable yield and projected amounts are agreed
    to it [S]; missing, no rows and [I]."""
    formulas = open_book(books["day-counts"][0], data_only=False)
    ws = formulas["DC-30-360"]
    row = find_row(ws, T.line("source_document"))
    assert ws.cell(row, 2).value == SOURCE_DOCUMENT
    assert label_value(ws, T.line("source_page")).value == SOURCE_PAGE
    yield_row = find_row(ws, T.line("comparable_yield"))
    assert ws.cell(yield_row, 8).value == "[S]"
    assert header_text(ws, "projected_payment").endswith("[S]")
    other = formulas["DC-ACT-360"]
    assert find_row(other, T.line("source_document")) is None
    assert find_row(other, T.line("source_page")) is None
    assert other.cell(find_row(other, T.line("comparable_yield")), 8).value == "[I]"
    assert header_text(other, "projected_payment").endswith("[I]")
    assert header_text(other, "rate").endswith("[R]")
    assert label_value(other, T.line("present_value"), 9, 14).value == "[F]"
    assert label_value(other, T.line("implied_check"), 9, 14).value == "[C]"


# -- disclosure ---------------------------------------------------------------------------------------
def test_disclosures_of_an_accepted_residual_and_its_correction(books):
    """The AIG schedule as printed, accepted: one sentence for the residual (PV difference and
    final AIP per unit), one for the correction the validation found (period 40, printed
    1004.2577, 1040.2578 closes it); both on the sheet under "Disclosure"."""
    portfolio = books["accepted"][2]
    instrument = portfolio.instruments["02687QCD8"]
    report = validate_schedule(instrument)
    assert report.status == "ACCEPTED" and report.corrections
    sentences = disclosure_sentences(instrument, report)
    assert len(sentences) == 1 + len(report.corrections)
    assert all(s.startswith("02687QCD8: ") for s in sentences)
    assert f"{report.pv_difference:+.6f}" in sentences[0]
    assert f"{report.final_adjusted_issue_price:+.6f}" in sentences[0] and "accepted" in sentences[0]
    fix = next(s for s in sentences if "period 40 " in s)
    assert "1004.2577" in fix and "1040.2578" in fix and "2027-07-20" in fix
    ws = open_book(books["accepted"][0], data_only=False)["02687QCD8"]
    row = find_row(ws, T.line("disclosure"))
    assert row is not None
    assert [ws.cell(row + 1 + k, 1).value for k in range(len(sentences))] == sentences


def test_no_disclosure_for_a_schedule_within_tolerance(books):
    portfolio = books["example-H-1001"][2]
    instrument = portfolio.instruments["02687QCD8"]
    assert disclosure_sentences(instrument, validate_schedule(instrument)) == []
    ws = open_book(books["example-H-1001"][0], data_only=False)["02687QCD8"]
    assert find_row(ws, T.line("disclosure")) is None


# -- chart ---------------------------------------------------------------------------------------------
def test_chart_has_a_secondary_axis_and_a_final_payment_series(books):
    """Coupons on a right-hand axis of their own; the payment at maturity a series of its own
    on the left axis (every point but the last unpainted); names are the template's."""
    with zipfile.ZipFile(books["example-H-1001"][0]) as archive:
        charts = [archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart")]
    assert charts
    for xml in charts:
        assert len(re.findall(r"<c:valAx>", xml)) == 2
        assert '<c:axPos val="r"/>' in xml
        names = re.findall(r"<c:tx><c:v>([^<]*)</c:v></c:tx>", xml)
        assert names == [T.line(k) for k in ("chart_final_projected", "chart_final_actual",
                                              "chart_projected", "chart_actual", "chart_aip")]
        groups = re.findall(r"<c:(?:barChart|lineChart)>.*?</c:(?:barChart|lineChart)>", xml, re.S)
        assert len(groups) == 3  # columns on the left axis, columns on the right, the AIP line
        ids = [re.findall(r'<c:axId val="(\d+)"/>', g)[-2:] for g in groups]
        assert ids[0] == ids[2] != ids[1]  # the final payment and the AIP share the left axis
        final = re.findall(r"<c:ser>.*?</c:ser>", groups[0], re.S)[0]
        assert final.count("<c:dPt>") == len(re.findall(r"<c:dPt>.*?<a:noFill/>.*?</c:dPt>", final, re.S)) > 0
        right = re.findall(r"<c:ser>.*?</c:ser>", groups[1], re.S)[0]
        assert "<c:dPt>" not in right

"""The pricing-supplement reader behind ``cpdi import-terms`` (cpdi/readers/terms_document.py).

* The real AIG amended pricing supplement (tests/fixtures/aig-cms-curve-2027) must give exactly
  what instruments.csv and schedule.csv transcribe from it, table row by table row.
* The documents in tests/fixtures/terms are ours, written in other issuers' layouts (their README
  says how their figures were computed); each must give its terms, its table and its assumptions.
* Short texts below pin one wording each: yields, compounding, day counts, dates, prices, units,
  tables, HTML, and the files that cannot be read.
"""

from __future__ import annotations

import csv
import html as html_module
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from cpdi.readers.terms_document import (
    Evidence,
    PrintedRow,
    TermsDocument,
    TermsDocumentError,
    read_terms_document,
    terms_from_text,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AIG = FIXTURES / "aig-cms-curve-2027"
TERMS = FIXTURES / "terms"
D = date


def rows_of(name: str, folder: Path = AIG) -> list[dict[str, str]]:
    with open(folder / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def evidence(doc: TermsDocument, name: str) -> Evidence:
    found = [e for e in doc.evidence if e.field == name]
    assert len(found) == 1, (name, doc.evidence)
    return found[0]


def fields(doc: TermsDocument) -> dict:
    """Every field but the ones that name where things are (source, evidence lines)."""
    return {
        "instrument_id": doc.instrument_id, "description": doc.description,
        "issue_date": doc.issue_date, "maturity_date": doc.maturity_date,
        "unit_principal": doc.unit_principal, "issue_price": doc.issue_price,
        "comparable_yield_pct": doc.comparable_yield_pct, "frequency": doc.frequency,
        "day_count": doc.day_count, "fixed_payments": doc.fixed_payments,
        "single_payment": doc.single_payment,
        "schedule": [(r.period_start, r.period_end, r.amount) for r in doc.schedule],
        "accruals": [(r.period_start, r.period_end, r.amount) for r in doc.accruals],
        "evidence": [(e.field, e.value, e.quote) for e in doc.evidence],
        "assumptions": [a for a in doc.assumptions if "line" not in a],
    }


# =============================================================================================
# The real AIG supplement
# =============================================================================================

@pytest.fixture(scope="module")
def aig() -> TermsDocument:
    return read_terms_document(AIG / "pricing-supplement.txt")


def test_aig_terms_are_instruments_csv(aig):
    (note,) = rows_of("instruments.csv")
    assert aig.source_name == "pricing-supplement.txt"
    assert aig.instrument_id == note["instrument_id"] == "02687QCD8"
    assert aig.description == note["description"] == "AIG CMS Curve Notes due July 20, 2027"
    assert aig.issue_date.isoformat() == note["issue_date"] == "2007-07-20"
    assert aig.maturity_date.isoformat() == note["maturity_date"] == "2027-07-20"
    assert aig.unit_principal == note["unit_principal"] == "1000"
    assert aig.issue_price == note["issue_price"] == "1000"
    assert aig.comparable_yield_pct == note["comparable_yield_pct"] == "5.46"
    assert aig.frequency == int(note["frequency"]) == 2
    assert aig.day_count == note["day_count"] == "30/360"
    assert aig.fixed_payments == 4
    assert aig.single_payment is None
    assert aig.accruals == ()


def test_aig_schedule_is_schedule_csv_as_printed(aig):
    printed = rows_of("schedule.csv")
    assert len(aig.schedule) == len(printed) == 40
    for number, (row, csv_row) in enumerate(zip(aig.schedule, printed), start=1):
        assert (row.period_start.isoformat(), row.period_end.isoformat(), row.amount) == (
            csv_row["period_start"], csv_row["period_end"], csv_row["projected_payment"]), number
    # the side-by-side layout: period 21 is printed on the same line as period 1
    assert aig.schedule[20].amount == "19.6939"
    assert aig.schedule[-1] == PrintedRow(D(2027, 1, 20), D(2027, 7, 20), "1004.2577", 858)
    types = [r["payment_type"] for r in printed]
    assert types[:aig.fixed_payments] == ["fixed"] * 4 and set(types[4:]) == {"contingent"}


def test_aig_evidence_quotes_the_supplement(aig):
    lines = (AIG / "pricing-supplement.txt").read_text(encoding="utf-8").splitlines()
    assert evidence(aig, "instrument_id") == Evidence(
        "instrument_id", "02687QCD8", "CUSIP No.: 02687QCD8", 189)
    assert evidence(aig, "issue_date").quote == "Issue Date: July 20, 2007"
    assert evidence(aig, "maturity_date").quote == "Stated Maturity Date: July 20, 2027"
    assert evidence(aig, "day_count").quote == "Day Count Convention: 30/360"
    assert evidence(aig, "comparable_yield_pct").quote.endswith(
        "we have determined that the comparable yield is 5.46%.")
    assert evidence(aig, "fixed_payments").quote == "first four initial fixed payments"
    assert evidence(aig, "issue_price").quote == (
        "offered at a fixed initial public offering price of 100% of principal amount")
    schedule = evidence(aig, "schedule")
    assert schedule.value == "40 rows, 2008-01-20 to 2027-07-20"
    assert "projected payment schedule" in schedule.quote
    assert "following table" in schedule.quote
    for e in aig.evidence:
        assert len(e.quote) <= 200
        # each quote starts on the line it names
        first_word = e.quote.split()[0]
        assert first_word in lines[e.line - 1], (e, lines[e.line - 1])


def test_aig_inferences_are_said(aig):
    text = "\n".join(aig.assumptions)
    assert "frequency 2 inferred from the six-month periods of the schedule" in text
    assert "unit principal 1000 taken from the authorized denominations" in text
    # the 100% offering price is an option printed with an unchecked box ("o"); the net
    # proceeds (equal to the principal amount) agree with it
    assert "unchecked box" in text
    assert "agrees with an issue price of 1000" in text
    assert evidence(aig, "unit_principal").value == "1000"
    assert not any(e.field == "frequency" for e in aig.evidence)  # inferred, not read


# =============================================================================================
# Our documents in other issuers' layouts (tests/fixtures/terms/README.md)
# =============================================================================================

def read(name: str) -> TermsDocument:
    return read_terms_document(TERMS / name)


NORTHGATE_ACCRUALS = [
    (D(2025, 9, 15), D(2025, 12, 31), "12.3667"),
    (D(2025, 12, 31), D(2026, 6, 30), "21.2597"),
    (D(2026, 6, 30), D(2026, 12, 31), "21.7062"),
    (D(2026, 12, 31), D(2027, 6, 30), "22.1620"),
    (D(2027, 6, 30), D(2027, 12, 31), "22.6274"),
    (D(2027, 12, 31), D(2028, 6, 30), "23.1026"),
    (D(2028, 6, 30), D(2028, 9, 15), "9.8282"),
]


def test_single_payment_note_with_oid_table_by_calendar_half_years():
    doc = read("northgate-single-payment.txt")
    assert doc.instrument_id == "64952NAB9"
    assert doc.description == ("Northgate Capital Holdings Uncapped Market-Linked Notes Linked "
                               "to the NGX 100 Index due September 15, 2028")
    assert (doc.issue_date, doc.maturity_date) == (D(2025, 9, 15), D(2028, 9, 15))
    assert (doc.unit_principal, doc.issue_price) == ("1000", "1000")
    assert (doc.comparable_yield_pct, doc.frequency, doc.day_count) == ("4.20", 2, "30/360")
    assert doc.single_payment == "1133.0527"
    assert doc.schedule == () and doc.fixed_payments == 0
    assert [(r.period_start, r.period_end, r.amount) for r in doc.accruals] == NORTHGATE_ACCRUALS
    # the per-period column, not the running total; each is rounded on its own, so they add
    # up to the single payment less the issue price within the rounding of seven figures
    total = sum(Decimal(r.amount) for r in doc.accruals)
    assert abs(total - (Decimal(doc.single_payment) - Decimal(doc.issue_price))) <= \
        Decimal("0.00005") * len(doc.accruals)
    assert evidence(doc, "issue_date").quote == (
        "Original Issue Date (Settlement Date): September 15, 2025")
    assert evidence(doc, "issue_price").quote.startswith("Price to Public")
    assert evidence(doc, "day_count").quote == "day count convention of 30/360"
    assert "OID Deemed to" in evidence(doc, "accruals").quote
    assert doc.assumptions == ()  # everything was read; the ISIN repeats the CUSIP


def test_html_version_reads_as_the_text_version():
    text = read("northgate-single-payment.txt")
    html = read("northgate-single-payment.htm")
    assert fields(html) == fields(text) | {"evidence": fields(html)["evidence"]}
    assert [(f, v) for f, v, _ in fields(html)["evidence"]] == \
        [(f, v) for f, v, _ in fields(text)["evidence"]]
    # quotes are the same words except where the text version's wrapped columns interleave
    for (f, _, quote_html), (_, _, quote_text) in zip(fields(html)["evidence"],
                                                       fields(text)["evidence"]):
        if f != "accruals":
            assert quote_html == quote_text
    # the lines named are the HTML file's own lines
    source = (TERMS / "northgate-single-payment.htm").read_text(encoding="utf-8").splitlines()
    assert "64952NAB9" in source[evidence(html, "instrument_id").line - 1]
    assert "12.3667" in source[html.accruals[0].line - 1]
    assert html.source_name == "northgate-single-payment.htm"


def one_cell_per_line(html: str) -> str:
    """HTML laid out as text the way the AIG fixture's converter lays it out: every table cell
    on a line of its own followed by a bar line, a blank line after each paragraph and row."""
    html = re.sub(r"(?is)<(head|script|style)\b.*?</\1>", "", html)
    html = re.sub(r"(?is)<sup>.*?</sup>", "", html)
    html = re.sub(r"(?i)</t[dh]>", "\n|\n", html)
    html = re.sub(r"(?i)<br\s*/?>", "\n", html)
    html = re.sub(r"(?i)</(p|tr|table)>", "\n\n", html)
    text = html_module.unescape(re.sub(r"<[^>]+>", "", html)).replace("\xa0", " ")
    return "\n".join(" ".join(line.split()) for line in text.splitlines())


def test_text_converted_one_cell_per_line_reads_as_the_text_version():
    source = (TERMS / "northgate-single-payment.htm").read_text(encoding="utf-8")
    body = source[source.index("<html>"):source.index("</html>") + 7]
    converted = one_cell_per_line(body)
    assert "\n$\n|\n1,000.00\n" in converted       # the price's "$" is a cell of its own
    doc = terms_from_text(converted)
    expected = fields(read("northgate-single-payment.txt"))
    got = fields(doc)
    for name in expected:
        if name != "evidence":
            assert got[name] == expected[name], name
    assert [(f, v) for f, v, _ in got["evidence"]] == [(f, v) for f, v, _ in expected["evidence"]]


def test_ten_dollar_units_with_a_payment_date_table():
    doc = read("lakeshore-equity-10.txt")
    assert doc.instrument_id == "55317WAF8"
    assert doc.description == ("Lakeshore Financial Group Market-Linked Contingent Income "
                               "Securities due March 3, 2028")
    assert (doc.issue_date, doc.maturity_date) == (D(2026, 3, 3), D(2028, 3, 3))
    assert (doc.unit_principal, doc.issue_price) == ("10", "9.95")
    assert (doc.comparable_yield_pct, doc.frequency, doc.day_count) == ("5.10", 4, "ACT/360")
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == [
        (None, D(2026, 6, 3), "0.1200"), (None, D(2026, 9, 3), "0.1200"),
        (None, D(2026, 12, 3), "0.1200"), (None, D(2027, 3, 3), "0.1200"),
        (None, D(2027, 6, 3), "0.1200"), (None, D(2027, 9, 3), "0.1200"),
        (None, D(2027, 12, 3), "0.1200"), (None, D(2028, 3, 3), "10.1437")]
    assert evidence(doc, "unit_principal").quote == "per $10 stated principal amount"
    assert evidence(doc, "issue_price").quote == "Issue price: 99.50%"
    assert evidence(doc, "frequency").quote.endswith("5.10% per annum, compounded quarterly.")
    assert doc.single_payment is None and doc.accruals == () and doc.assumptions == ()


def test_periods_printed_through_and_a_cumulative_only_accrual_table():
    doc = read("fairhaven-through-periods.txt")
    assert doc.instrument_id == "30742KJT3"
    assert doc.description == "Fairhaven Bank Callable Range Accrual Notes due 31 December 2028"
    assert (doc.issue_date, doc.maturity_date) == (D(2025, 8, 12), D(2028, 12, 31))
    assert (doc.unit_principal, doc.issue_price) == ("1000", "1000")
    assert (doc.comparable_yield_pct, doc.frequency, doc.day_count) == ("4.85", 2, "30/360")
    assert doc.fixed_payments == 2
    ends = [D(2025, 12, 31), D(2026, 6, 30), D(2026, 12, 31), D(2027, 6, 30), D(2027, 12, 31),
            D(2028, 6, 30), D(2028, 12, 31)]
    starts = [D(2025, 8, 12)] + ends[:-1]   # "January 1, 2026 through …" starts after Dec 31
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == list(zip(
        starts, ends, ["23.17", "30.00", "21.40", "21.95", "22.30", "22.80", "1021.78"]))
    assert [(r.period_start, r.period_end, r.amount) for r in doc.accruals] == list(zip(
        starts, ends, ["18.73", "24.14", "24.00", "24.06", "24.12", "24.16", "24.19"]))
    assert doc.assumptions == (
        "the accrual table prints only the total accrued from the original issue date; the "
        "accrual of each period is the difference of consecutive totals",)
    assert evidence(doc, "issue_date").quote == "Issue Date: 12 August 2025"
    assert evidence(doc, "day_count").quote == "Day Count Fraction: 30/360"


def test_amended_supplement_ambiguous_day_count_and_stale_summary_yield():
    doc = read("clearwater-amended-actual365.txt")
    assert doc.instrument_id == "87612VQX9"
    assert doc.description == "Clearwater Annual Contingent Coupon Notes due April 15, 2030"
    assert (doc.issue_date, doc.maturity_date) == (D(2026, 4, 15), D(2030, 4, 15))
    assert (doc.unit_principal, doc.issue_price) == ("1000", "1000")
    assert (doc.comparable_yield_pct, doc.frequency) == ("4.05", 1)
    assert doc.day_count is None
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == [
        (None, D(2027, 4, 15), "38.00"), (None, D(2028, 4, 15), "39.50"),
        (None, D(2029, 4, 15), "41.00"), (None, D(2030, 4, 15), "1044.00")]
    ambiguous, = [a for a in doc.assumptions if "Actual/365" in a]
    assert "ambiguous" in ambiguous and "ACT/365F" in ambiguous and "ACT/ACT" in ambiguous
    assert "must be given" in ambiguous and "line 29" in ambiguous
    stale, = [a for a in doc.assumptions if "3.95" in a]
    assert stale.startswith("comparable yield 4.05 taken from line 41 in the tax section")
    assert "line 30" in stale
    assert not any(e.field == "day_count" for e in doc.evidence)


def test_missing_issue_date_is_none_and_trade_date_is_not_taken():
    doc = read("kestrel-no-issue-date.txt")
    assert doc.issue_date is None
    assert doc.maturity_date == D(2031, 1, 27)
    assert doc.instrument_id == "49233DAR8"
    assert doc.description == "Kestrel Group Leveraged Buffered Index-Linked Notes due 2031"
    assert (doc.unit_principal, doc.issue_price) == ("1000", "1000")
    assert (doc.comparable_yield_pct, doc.frequency) == ("3.75", 2)
    assert doc.single_payment == "1204.14"
    assert doc.day_count is None and doc.schedule == () and doc.accruals == ()
    assert not any(e.field == "issue_date" for e in doc.evidence)
    assert evidence(doc, "unit_principal").quote == "each note will have a face amount of $1,000"


def test_every_fixture_reads_and_quotes_are_short():
    for path in sorted(TERMS.glob("*.*")):
        if path.suffix == ".md":
            continue
        doc = read_terms_document(path)
        assert doc.comparable_yield_pct, path
        for e in doc.evidence:
            assert 0 < len(e.quote) <= 200 and e.line >= 1, (path, e)
        for row in doc.schedule + doc.accruals:
            assert row.amount.replace(".", "").isdigit(), (path, row)
        assert list(doc.schedule) == sorted(doc.schedule, key=lambda r: r.period_end)


# =============================================================================================
# One wording at a time
# =============================================================================================

@pytest.mark.parametrize("sentence, pct, per_year", [
    ("we have determined that the comparable yield is an annual rate of 4.123%, compounded "
     "semi-annually.", "4.123", 2),
    ("The comparable yield for the notes is 3.25% per annum (compounded annually).", "3.25", 1),
    ('we have determined that the "comparable yield" is a rate of 4.4385% per annum, '
     "compounded semiannually.", "4.4385", 2),
    ("the comparable yield for the securities is 5.0% per annum, compounded quarterly.", "5.0", 4),
    ("We have determined the comparable yield to be 6.10%, compounded monthly.", "6.10", 12),
    ("Comparable yield: 4.50% per annum", "4.50", None),
    ("the comparable yield is 2.75% per annum, with semi-annual compounding.", "2.75", 2),
    ("The comparable yield of 3.90% stated in the pricing supplement is replaced by 4.05%.",
     "4.05", None),
])
def test_comparable_yield_wordings(sentence, pct, per_year):
    doc = terms_from_text(sentence)
    assert doc.comparable_yield_pct == pct
    if per_year:
        assert doc.frequency == per_year
        assert evidence(doc, "frequency").value == str(per_year)
    else:
        assert doc.frequency is None
    assert evidence(doc, "comparable_yield_pct").value == pct


@pytest.mark.parametrize("printed, canonical", [
    ("30/360", "30/360"), ("30/360 (unadjusted)", "30/360"), ("30/360 (ISDA)", "30/360"),
    ("Bond Basis", "30/360"), ("360/360", "30/360"),
    ("30E/360", "30E/360"), ("Eurobond Basis", "30E/360"), ("30E/360 (ISDA)", "30E/360 ISDA"),
    ("Actual/360", "ACT/360"), ("Act/360", "ACT/360"),
    ("Actual/Actual (ICMA)", "ACT/ACT"), ("Actual/Actual (ISDA)", "ACT/ACT ISDA"),
    ("Act/Act (ISDA)", "ACT/ACT ISDA"),
    ("Actual/365 (Fixed)", "ACT/365F"), ("Act/365F", "ACT/365F"),
])
def test_day_count_wordings(printed, canonical):
    for label in ("Day Count Convention", "Day Count Fraction", "Day count basis",
                  "Day-count convention"):
        doc = terms_from_text(f"{label}: {printed}\n")
        assert doc.day_count == canonical, (label, printed)


def test_plain_actual_actual_is_icma_with_an_assumption():
    doc = terms_from_text("Day Count Fraction: Actual/Actual\n")
    assert doc.day_count == "ACT/ACT"
    assert any("ICMA" in a for a in doc.assumptions)


@pytest.mark.parametrize("printed", ["Actual/365", "Act/365", "A/365"])
def test_actual_365_is_ambiguous(printed):
    doc = terms_from_text(f"Issue Date: July 20, 2007\nDay Count Convention: {printed}\n")
    assert doc.day_count is None
    (line,) = [a for a in doc.assumptions if "ambiguous" in a]
    assert "ACT/365F" in line and "ACT/ACT ISDA" in line and "must be given" in line


def test_unlabelled_day_counts_outside_the_tax_section_are_not_taken():
    # the AIG supplement defines swap rates "calculated on a 30/360 day count basis" and an
    # "actual/360 day count basis" floating leg: neither is the notes' day count
    doc = terms_from_text("the fixed leg, calculated on a 30/360 day count basis, and the "
                          "floating leg, calculated on an actual/360 day count basis.\n")
    assert doc.day_count is None


@pytest.mark.parametrize("printed", [
    "July 20, 2007", "Jul. 20, 2007", "Jul 20, 2007", "July 20 2007", "20 July 2007",
    "20-Jul-07", "20-Jul-2007", "7/20/2007", "07/20/07", "2007-07-20", "July 20th, 2007",
])
def test_date_forms(printed):
    doc = terms_from_text(f"Original Issue Date: {printed}\nMaturity Date: July 20, 2027\n")
    assert doc.issue_date == D(2007, 7, 20)
    assert doc.maturity_date == D(2027, 7, 20)


@pytest.mark.parametrize("label", ["Original Issue Date", "Issue Date", "Settlement Date",
                                   "Original issue date (settlement date)", "Issue date"])
def test_issue_date_labels(label):
    assert terms_from_text(f"{label}: March 3, 2026\n").issue_date == D(2026, 3, 3)


def test_pricing_and_trade_dates_are_not_the_issue_date():
    doc = terms_from_text("Pricing Date: March 1, 2026\nTrade Date: March 1, 2026\n"
                          "Stated Maturity Date: March 3, 2031\n")
    assert doc.issue_date is None
    assert doc.maturity_date == D(2031, 3, 3)


def test_issue_date_on_or_about_is_taken_with_an_assumption():
    doc = terms_from_text("Original issue date: on or about March 3, 2026\n")
    assert doc.issue_date == D(2026, 3, 3)
    assert any("on or about" in a for a in doc.assumptions)


def test_issue_date_in_prose_is_not_a_label():
    doc = terms_from_text("For the period from and including the Issue Date to but excluding "
                          "July 20, 2009, the interest rate per annum shall be 9.00%.\n")
    assert doc.issue_date is None


@pytest.mark.parametrize("text, unit, price", [
    ("Stated principal amount: $10 per security\nIssue price: $10 per security\n", "10", "10"),
    ("Stated principal amount: $10 per unit\nIssue price: $9.95 per unit\n", "10", "9.95"),
    ("Stated principal amount: $10 per unit\nIssue price: 99.5% of the stated principal "
     "amount\n", "10", "9.95"),
    ("Principal amount per note: $1,000\nPrice to Public: 100.00%\n", "1000", "1000"),
    ("the projected payment schedule per $1,000 principal amount of the notes\n"
     "Issue Price: 98.75%\n", "1000", "987.5"),
    ("The notes are being offered at a fixed initial public offering price of 100% of "
     "principal amount. Denominations: $1,000 and integral multiples of $1,000\n", "1000",
     "1000"),
    ("Projected Payment (per $1,000 Stated Principal Amount)\nPrice to public(1): $1,000\n",
     "1000", "1000"),
])
def test_unit_principal_and_issue_price_wordings(text, unit, price):
    doc = terms_from_text(text)
    assert (doc.unit_principal, doc.issue_price) == (unit, price)


def test_an_aggregate_price_or_principal_is_not_per_unit():
    doc = terms_from_text("Principal Amount: $7,700,000\nIssue Price: $7,700,000\n"
                          "the projected payment schedule per $1,000 note\n")
    assert doc.unit_principal == "1000"
    assert doc.issue_price is None


def test_a_percentage_price_without_a_unit_is_none_and_said():
    doc = terms_from_text("Issue Price: 100%\n")
    assert doc.issue_price is None
    assert any("unit principal is not known" in a for a in doc.assumptions)


@pytest.mark.parametrize("sentence, amount", [
    ('Based upon our determination of the comparable yield, the "projected payment schedule" '
     "per $1,000 principal amount note consists of a single payment at maturity, equal to "
     "$1,187.54.", "1187.54"),
    ('the "projected payment schedule" for a security (assuming an issue price of $1,000) '
     "consists of a projected amount equal to $1,273.4051 due at maturity.", "1273.4051"),
    ("the comparable yield is 3.75% per annum, compounded semi-annually, with a projected "
     "payment at maturity of $1,204.14 based on an investment of $1,000.", "1204.14"),
    ("the projected payment schedule per $10 stated principal amount consists of a single "
     "payment at maturity of $11.2561.", "11.2561"),
])
def test_single_payment_wordings(sentence, amount):
    doc = terms_from_text(sentence)
    assert doc.single_payment == amount
    assert doc.schedule == ()


@pytest.mark.parametrize("sentence, count", [
    ("taking into account the first four initial fixed payments on the notes", 4),
    ("taking into account the first 2 fixed coupon payments", 2),
    ("reflecting the fixed interest payments on the first three interest payment dates", 3),
    ("the projected payment schedule is set forth below", 0),
])
def test_fixed_payments_wordings(sentence, count):
    assert terms_from_text(sentence + ".").fixed_payments == count


@pytest.mark.parametrize("text, expected", [
    ("CUSIP No.: 02687QCD8\n", "02687QCD8"),
    ("CUSIP: 64952NAB9 | ISIN: US64952NAB91\n", "64952NAB9"),
    ("CUSIP / ISIN: 30742KJT3 / US30742KJT34\n", "30742KJT3"),
    ("ISIN: US64952NAB91\n", "US64952NAB91"),
])
def test_instrument_ids(text, expected):
    doc = terms_from_text(text)
    assert doc.instrument_id == expected
    assert doc.assumptions == ()


def test_a_wrong_cusip_check_digit_is_said():
    doc = terms_from_text("CUSIP: 02687QCD7\n")
    assert doc.instrument_id == "02687QCD7"
    assert any("check digit" in a for a in doc.assumptions)


# ---- tables ---------------------------------------------------------------------------------

PAYMENT_DATE_TABLE = """\
UNITED STATES FEDERAL INCOME TAX CONSEQUENCES
We have determined that the comparable yield is 5.00% per annum, compounded semi-annually.
The projected payment schedule per $1,000 note is as follows:
Payment Date | Projected Payment (per $1,000 note)
January 20, 2026 | $25.00
July 20, 2026 | $25.00
January 20, 2027 | $1,025.00*
* includes principal
"""


def test_payment_date_table_with_footnote_mark():
    doc = terms_from_text(PAYMENT_DATE_TABLE)
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == [
        (None, D(2026, 1, 20), "25.00"), (None, D(2026, 7, 20), "25.00"),
        (None, D(2027, 1, 20), "1025.00")]
    assert [r.line for r in doc.schedule] == [5, 6, 7]
    assert evidence(doc, "schedule").line == 3


def test_two_tables_the_tax_sections_wins():
    text = ("SUMMARY\nThe projected payment schedule is set out in the following table:\n"
            "Payment Date | Projected Payment\nJanuary 20, 2026 | $24.00\n"
            "July 20, 2026 | $1,024.00\n\nRISK FACTORS\nThe notes are risky and may lose value "
            "over time for many reasons.\n\n" + PAYMENT_DATE_TABLE)
    doc = terms_from_text(text)
    assert [r.amount for r in doc.schedule] == ["25.00", "25.00", "1025.00"]
    assert any("ignored" in a and "table at line 4" in a for a in doc.assumptions)


def test_a_table_continued_after_a_page_break_is_one_table():
    text = ("The projected payment schedule for the notes is set forth in the following table:\n"
            "Payment Date | Projected Payment\nJanuary 20, 2026 | $25.00\nJuly 20, 2026 | $25.00\n"
            "PS-12\nPayment Date | Projected Payment (continued)\n"
            "January 20, 2027 | $25.00\nJuly 20, 2027 | $1,025.00\n")
    doc = terms_from_text(text)
    assert [r.period_end for r in doc.schedule] == [
        D(2026, 1, 20), D(2026, 7, 20), D(2027, 1, 20), D(2027, 7, 20)]


def test_from_to_columns_in_whitespace_aligned_text_side_by_side():
    text = ("the projected payment schedule for each payment period is set forth in the "
            "following table:\n"
            "From         To           Payment      From         To           Payment\n"
            "20-Jan-26    20-Jul-26    25.0000      20-Jan-27    20-Jul-27    25.0000\n"
            "20-Jul-26    20-Jan-27    25.0000      20-Jul-27    20-Jan-28    1025.0000\n")
    doc = terms_from_text(text)
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == [
        (D(2026, 1, 20), D(2026, 7, 20), "25.0000"), (D(2026, 7, 20), D(2027, 1, 20), "25.0000"),
        (D(2027, 1, 20), D(2027, 7, 20), "25.0000"), (D(2027, 7, 20), D(2028, 1, 20), "1025.0000")]
    assert doc.frequency == 2
    assert "frequency 2 inferred from the six-month periods of the schedule" in doc.assumptions


def test_periods_printed_to_with_day_after_starts_are_read_as_inclusive():
    text = ("The projected payment schedule is as follows:\n"
            "Accrual Period | Projected Payment\n"
            "January 1, 2026 to June 30, 2026 | $20.00\n"
            "July 1, 2026 to December 31, 2026 | $1,020.00\n")
    doc = terms_from_text(text)
    assert [(r.period_start, r.period_end) for r in doc.schedule] == [
        (D(2025, 12, 31), D(2026, 6, 30)), (D(2026, 6, 30), D(2026, 12, 31))]
    assert any("day after the previous one ends" in a for a in doc.assumptions)


def test_original_issue_date_period_without_an_issue_date_is_left_empty():
    text = ("The following table states the amount of OID deemed to have accrued:\n"
            "Accrual Period | OID Deemed to Accrue During Accrual Period (per $1,000 note)\n"
            "Original Issue Date through December 31, 2025 | $10.00\n"
            "January 1, 2026 through June 30, 2026 | $20.00\n")
    doc = terms_from_text(text)
    assert [(r.period_start, r.period_end, r.amount) for r in doc.accruals] == [
        (None, D(2025, 12, 31), "10.00"), (D(2025, 12, 31), D(2026, 6, 30), "20.00")]
    assert any("issue date is not printed" in a for a in doc.assumptions)


def test_first_period_printed_from_the_issue_date_through_starts_at_the_issue_date():
    text = ("Issue Date: December 23, 2025\n"
            "The following table shows the accrued OID for each calendar period:\n"
            "Calendar Period | Accrued OID During Calendar Period (per $1,000 note) | "
            "Total Accrued OID from Original Issue Date (per $1,000 note) as of End of Calendar "
            "Period\n"
            "December 23, 2025 through December 31, 2025 | $0.84 | $0.84\n"
            "January 1, 2026 through December 31, 2026 | $39.10 | $39.94\n")
    doc = terms_from_text(text)
    assert [(r.period_start, r.period_end, r.amount) for r in doc.accruals] == [
        (D(2025, 12, 23), D(2025, 12, 31), "0.84"), (D(2025, 12, 31), D(2026, 12, 31), "39.10")]
    assert any("starts at the issue date" in a for a in doc.assumptions)


def test_accrual_table_with_the_total_column_first():
    text = ("The following table states the OID deemed to have accrued:\n"
            "Accrual Period | Total OID as of End of Period | OID During Period\n"
            "Original Issue Date through December 31, 2025 | $10.00 | $10.00\n"
            "January 1, 2026 through June 30, 2026 | $30.50 | $20.50\n"
            "July 1, 2026 through December 31, 2026 | $51.25 | $20.75\n")
    doc = terms_from_text("Original Issue Date: July 1, 2025\n" + text)
    assert [r.amount for r in doc.accruals] == ["10.00", "20.50", "20.75"]
    assert doc.accruals[0].period_start == D(2025, 7, 1)


def test_tables_that_are_not_tax_tables_are_ignored():
    text = ("Hypothetical examples of the payment at maturity are shown below.\n"
            "Coupon Observation Date | Coupon Barrier\nJanuary 20, 2026 | $7.50\n"
            "July 20, 2026 | $7.50\n")
    doc = terms_from_text(text)
    assert doc.schedule == () and doc.accruals == ()


def test_yield_in_the_tax_section_beats_a_summary_and_table_of_contents():
    text = ("TABLE OF CONTENTS\nUnited States Federal Income Tax Considerations ....... PS-9\n"
            "SUMMARY\nComparable yield: 3.95% per annum\n"
            "UNITED STATES FEDERAL INCOME TAX CONSIDERATIONS\n"
            "we have determined that the comparable yield is 4.05% per annum, compounded "
            "annually.\nPLAN OF DISTRIBUTION\nThe agent may resell the notes.\n")
    doc = terms_from_text(text)
    assert doc.comparable_yield_pct == "4.05"
    assert any("3.95" in a and "ignored" in a for a in doc.assumptions)


# ---- HTML and files -------------------------------------------------------------------------

def test_html_tables_entities_scripts_and_styles():
    html = """<html><head><style>p {color: red}</style><title>Comparable yield 9%</title></head>
<body><script>var x = "Issue Date: January 1, 1999";</script>
<p>Issue&nbsp;Date: July&nbsp;20,&nbsp;2007</p>
<p><font>The issuer&#8217;s comparable yield is 5.46%, compounded semi-annually. The projected
payment schedule per &#36;1,000 principal amount note is as follows:</font></p>
<table><tr><td>Payment Date</td><td>Projected Payment</td></tr>
<tr><td>January&nbsp;20, 2008</td><td>&#36;</td><td>45.00</td></tr>
<tr><td>July 20,<br>2008</td><td>$1,045.00</td></tr></table></body></html>"""
    doc = terms_from_text(html, "supplement.htm")
    assert doc.issue_date == D(2007, 7, 20)
    assert (doc.comparable_yield_pct, doc.frequency, doc.unit_principal) == ("5.46", 2, "1000")
    assert [(r.period_end, r.amount) for r in doc.schedule] == [
        (D(2008, 1, 20), "45.00"), (D(2008, 7, 20), "1045.00")]
    assert evidence(doc, "comparable_yield_pct").quote.startswith("The issuer's comparable yield")
    assert [r.line for r in doc.schedule] == [7, 8]


def test_edgar_plain_text_submission():
    text = ("<SEC-DOCUMENT>0000000000-07-000001.txt\n<SEC-HEADER>FILED AS OF DATE: 20070703\n"
            "</SEC-HEADER>\n<DOCUMENT>\n<TYPE>424B3\n<SEQUENCE>1\n<TEXT>\n<PAGE>\n"
            "CUSIP No.: 02687QCD8\nIssue Date: July 20, 2007\n<TABLE>\n<S>   <C>\n"
            "</TABLE>\n</TEXT>\n</DOCUMENT>\n</SEC-DOCUMENT>\n")
    doc = terms_from_text(text)
    assert (doc.instrument_id, doc.issue_date) == ("02687QCD8", D(2007, 7, 20))
    assert evidence(doc, "issue_date").line == 10


def test_text_files_in_other_encodings(tmp_path):
    text = "Issue Date: July 20, 2007\nThe comparable yield is 5.46% \u2014 per annum.\n"
    for encoding in ("utf-16", "cp1252", "utf-8-sig"):
        path = tmp_path / f"doc-{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        doc = read_terms_document(path)
        assert (doc.issue_date, doc.comparable_yield_pct) == (D(2007, 7, 20), "5.46"), encoding


@pytest.mark.parametrize("content, words", [
    (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "is a PDF file"),
    (b"PK\x03\x04\x14\x00\x06\x00", "ZIP or Office"),
    (b"\x00\x01\x02\x03binary\x00\x00", "is binary"),
    (b"Issue Date: July 20, 2007 \x81\x8d\x8f\x90\x9d", "cannot be decoded"),
])
def test_unreadable_files_are_one_line_naming_the_file(tmp_path, content, words):
    path = tmp_path / "supplement.txt"
    path.write_bytes(content)
    with pytest.raises(TermsDocumentError) as error:
        read_terms_document(path)
    message = str(error.value)
    assert message.startswith("supplement.txt: ") and words in message
    assert "\n" not in message
    assert isinstance(error.value, ValueError)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(TermsDocumentError, match=r"^nothere\.htm: cannot be read"):
        read_terms_document(tmp_path / "nothere.htm")
    with pytest.raises(TermsDocumentError, match="is a folder"):
        read_terms_document(tmp_path)


def test_an_empty_document_has_nothing_and_guesses_nothing():
    doc = terms_from_text("")
    assert doc == TermsDocument("document", None, None, None, None, None, None, None, None,
                                None, (), 0, None, (), (), ())


def test_documents_are_frozen():
    doc = terms_from_text("Issue Date: July 20, 2007\n")
    with pytest.raises(Exception):
        doc.issue_date = None  # type: ignore[misc]
    assert replace(doc, issue_date=None).issue_date is None


def test_one_table_with_payments_and_accruals():
    text = ("Issue Date: January 20, 2026\nThe projected payment schedule and the OID accruals "
            "are set forth in the following table:\n"
            "Accrual Period | Projected Payment | OID Accrued During Period | "
            "Adjusted Issue Price\n"
            "January 20, 2026 | July 20, 2026 | $20.00 | $25.00 | $1,005.00\n"
            "July 20, 2026 | January 20, 2027 | $1,030.13 | $25.13 | $0.00\n")
    doc = terms_from_text(text)
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == [
        (D(2026, 1, 20), D(2026, 7, 20), "20.00"), (D(2026, 7, 20), D(2027, 1, 20), "1030.13")]
    assert [r.amount for r in doc.accruals] == ["25.00", "25.13"]


def test_capital_column_headings_do_not_end_the_tax_section():
    text = ("SUMMARY\nThe following table states the OID deemed to have accrued:\n"
            "ACCRUAL PERIOD | OID DEEMED TO ACCRUE DURING ACCRUAL PERIOD (PER SECURITY)\n"
            "Original Issue Date through December 31, 2025 | $1.00\n\n"
            "UNITED STATES FEDERAL TAXATION\n"
            "The following table states the amount of OID that will be deemed to have accrued:\n"
            "ACCRUAL PERIOD\nOID DEEMED TO ACCRUE\n"
            "Original Issue Date through December 31, 2025 | $6.1234\n"
            "January 1, 2026 through June 30, 2026 | $21.0000\n")
    doc = terms_from_text("Original issue date: October 1, 2025\n" + text)
    assert [r.amount for r in doc.accruals] == ["6.1234", "21.0000"]
    assert any("(in the tax section)" in a for a in doc.assumptions)


def test_html_footnote_superscripts_and_dashed_full_month_dates():
    html = ("<html><body><p>the projected payment schedule is as follows:</p><table>"
            "<tr><td>Payment Date</td><td>Projected Payment<sup>(1)</sup></td></tr>"
            "<tr><td>20-July-2026</td><td>$25.00<sup>(1)</sup></td></tr>"
            "<tr><td>20-January-2027</td><td>$1,025.00<sup>2</sup></td></tr>"
            "</table></body></html>")
    doc = terms_from_text(html)
    assert [(r.period_end, r.amount) for r in doc.schedule] == [
        (D(2026, 7, 20), "25.00"), (D(2027, 1, 20), "1025.00")]


@pytest.mark.parametrize("box, assumed", [("o", True), ("\u2610", True), ("\u00fe", False),
                                          ("\u2612", False)])
def test_an_offering_price_option_with_an_unchecked_box_is_said(box, assumed):
    doc = terms_from_text(f"Denominations: $1,000\n{box} The notes are being offered at a fixed "
                          "initial public offering price of 100% of principal amount.\n")
    assert doc.issue_price == "1000"
    assert any("unchecked box" in a for a in doc.assumptions) is assumed


def test_terms_in_a_row_of_column_headings():
    doc = terms_from_text("Pricing Date | Original Issue Date | Maturity Date | CUSIP\n"
                          "July 17, 2007 | July 20, 2007 | July 20, 2027 | 02687QCD8\n")
    assert (doc.issue_date, doc.maturity_date) == (D(2007, 7, 20), D(2027, 7, 20))
    assert doc.instrument_id == "02687QCD8"
    assert doc.assumptions == ()
    assert evidence(doc, "maturity_date").quote.startswith("Pricing Date")


def test_a_period_row_is_not_an_issue_date_label():
    doc = terms_from_text("Issue Date: July 20, 2007\n"
                          "Original Issue Date – December 31, 2007 | $10.00\n")
    assert doc.issue_date == D(2007, 7, 20)
    assert doc.assumptions == ()


def test_two_dates_per_row_that_are_not_periods():
    text = ("The projected payment schedule is as follows:\n"
            "Observation Date | Payment Date | Projected Payment\n"
            "January 15, 2026 | January 20, 2026 | $25.00\n"
            "July 15, 2026 | July 20, 2026 | $25.00\n"
            "January 15, 2027 | January 20, 2027 | $1,025.00\n")
    doc = terms_from_text(text)
    assert [(r.period_start, r.period_end, r.amount) for r in doc.schedule] == [
        (None, D(2026, 1, 20), "25.00"), (None, D(2026, 7, 20), "25.00"),
        (None, D(2027, 1, 20), "1025.00")]
    assert any("two dates per row" in a for a in doc.assumptions)


# =============================================================================================
# Other issuers' layouts (tests/fixtures/terms/README.md; tests/test_import_layouts.py imports
# each of them end to end)
# =============================================================================================

def rows3(rows):
    return [(r.period_start, r.period_end, r.amount) for r in rows]


def test_jpmorgan_style_html_nested_tables_and_a_calendar_period_table():
    doc = read("harbor-chase-calendar-oid.htm")
    assert doc.instrument_id == "74512QAC2"
    assert doc.description == ("Harbor Financial Principal Protected Notes Linked to the "
                               "Solstice Large Cap Index due September 17, 2029")
    assert (doc.issue_date, doc.maturity_date) == (D(2025, 9, 17), D(2029, 9, 17))
    assert (doc.unit_principal, doc.issue_price) == ("1000", "1000")
    assert (doc.comparable_yield_pct, doc.frequency, doc.day_count) == ("4.1179", 2, None)
    assert doc.single_payment == "1177.09" and doc.schedule == ()
    assert rows3(doc.accruals)[0] == (D(2025, 9, 17), D(2025, 12, 31), "11.94")
    assert rows3(doc.accruals)[-1] == (D(2028, 12, 31), D(2029, 9, 17), "33.52")
    # the cover table's headings carry footnote marks: "Price to Public (1)"
    assert evidence(doc, "issue_price").quote.startswith("Price to Public (1)")
    assert evidence(doc, "issue_date").quote == (
        "Original Issue Date (Settlement Date): September 17, 2025")


def test_morgan_stanley_style_table_continued_after_a_page_break():
    doc = read("meridian-stanley-quarterly.txt")
    assert [r.period_end for r in doc.schedule] == [
        D(2026, 6, 13), D(2026, 9, 13), D(2026, 12, 13), D(2027, 3, 13), D(2027, 6, 13),
        D(2027, 9, 13), D(2027, 12, 13), D(2028, 3, 13)]
    assert [r.amount for r in doc.schedule][-2:] == ["8.10", "1008.73"]
    assert (doc.fixed_payments, doc.frequency, doc.comparable_yield_pct) == (4, 4, "4.6150")
    # "OID per $1,000 Note During Period" is the accrual, "Total OID … as of End" its sum
    assert [r.amount for r in doc.accruals][:2] == ["11.54", "11.50"]
    assert doc.accruals[0].period_start == D(2026, 3, 13)
    # the price column of the cover table, not the commissions beside it
    assert doc.issue_price == "1000" and doc.assumptions == ()


def test_goldman_style_face_amount_and_whole_dollar_amounts():
    doc = read("granite-sachs-face-amount.txt")
    assert evidence(doc, "unit_principal").quote == "per $1,000 face amount"
    assert evidence(doc, "issue_price").quote == "Original issue price: 100%"
    assert [r.amount for r in doc.schedule] == ["30", "30", "26", "1028"]
    assert doc.issue_date == D(2026, 3, 16)   # the original issue date, not the trade date
    assert doc.description == ("Granite Sachs Group Annual Contingent Coupon CMS Spread-Linked "
                               "Notes due 2030")


def test_citigroup_style_monthly_side_by_side_with_slashed_dates():
    doc = read("cedar-global-monthly.htm")
    assert (doc.comparable_yield_pct, doc.frequency) == ("4.3125", 12)
    assert len(doc.schedule) == 24
    assert rows3(doc.schedule)[11:13] == [(None, D(2027, 3, 20), "3.10"),
                                           (None, D(2027, 4, 20), "2.95")]
    # "Underwriting fee and issue price:" labels the row; "Issue price" heads the column
    assert doc.issue_price == "1000" and doc.assumptions == ()
    assert doc.description.startswith("Cedar Global Markets Holdings Monthly")   # "Issuer:"


def test_barclays_style_schedule_as_percentages_of_principal():
    doc = read("thames-bank-percent-schedule.txt")
    assert [(r.period_end, r.amount, r.per) for r in doc.schedule][:2] == [
        (D(2026, 7, 15), "2.5000", "100"), (D(2027, 1, 15), "2.5000", "100")]
    assert doc.schedule[-1].amount == "102.7615"
    assert all(r.per is None for r in doc.accruals)              # per $1,000 note
    assert doc.comparable_yield_pct == "4.4385"                  # not the table's 2.5000%
    assert doc.fixed_payments == 2 and doc.issue_price == "1000"
    assert doc.assumptions == ()      # read from the cells and the heading, not assumed


def test_bofa_style_units_and_a_calendar_year_table():
    doc = read("bayfront-finance-units.htm")
    assert (doc.unit_principal, doc.issue_price) == ("10", "9.7")
    assert doc.instrument_id == "47093MBB5"                      # a row of column headings
    assert (doc.issue_date, doc.maturity_date) == (D(2026, 3, 27), D(2031, 3, 27))
    assert doc.single_payment == "11.8605"
    assert rows3(doc.accruals) == [
        (D(2026, 3, 27), D(2026, 12, 31), "0.3025"), (D(2026, 12, 31), D(2027, 12, 31), "0.4099"),
        (D(2027, 12, 31), D(2028, 12, 31), "0.4279"), (D(2028, 12, 31), D(2029, 12, 31), "0.4449"),
        (D(2029, 12, 31), D(2030, 12, 31), "0.4631"), (D(2030, 12, 31), D(2031, 3, 27), "0.1122")]
    assert any("prints calendar years" in a for a in doc.assumptions)


def test_hsbc_style_two_notes_first_or_asked_for():
    first = read("hudson-usa-two-notes.txt")
    assert (first.instrument_id, first.maturity_date) == ("63318FAE1", D(2029, 3, 5))
    assert (first.comparable_yield_pct, first.single_payment) == ("3.9500", "1124.51")
    assert first.description.endswith("due March 5, 2029")
    assert first.assumptions == (
        "the document gives the tax figures of 2 notes (63318FAE1, 63318FAF8), each with its "
        "own comparable yield: the first, 63318FAE1 (2029 Notes), is read; give another's "
        "CUSIP (--id) to read it",)
    second = read_terms_document(TERMS / "hudson-usa-two-notes.txt", "63318FAF8")
    assert (second.instrument_id, second.maturity_date) == ("63318FAF8", D(2031, 3, 5))
    assert (second.comparable_yield_pct, second.single_payment) == ("4.2125", "1231.75")
    assert second.description.endswith("due March 5, 2031")
    assert evidence(second, "comparable_yield_pct").quote.startswith(
        "HUSA has determined that the comparable yield for the 2031 Notes")


def test_ubs_style_schedule_per_100_and_title_after_the_issuer():
    doc = read("alpstein-bank-per-100.txt")
    assert (doc.unit_principal, doc.issue_price) == ("100", "100")
    assert doc.schedule[-1].amount == "103.0422" and doc.schedule[-1].per is None
    assert doc.description == ("Alpstein Bank Rate Linked Principal Protected Notes due "
                               "September 30, 2030")
    assert evidence(doc, "issue_date").quote == "Settlement Date September 30, 2025"


def test_canadian_bank_style_us_dollar_amounts_and_two_tax_sections():
    doc = read("dominion-maple-canadian.txt")
    assert doc.description.startswith("Dominion Maple Bank Principal Protected Notes")
    assert evidence(doc, "issue_date").quote == "Issue Date (Settlement Date): April 30, 2026"
    assert (doc.comparable_yield_pct, doc.frequency, doc.day_count) == ("4.35", 1, "30/360")
    assert doc.single_payment == "1237.76"
    assert rows3(doc.accruals)[0] == (D(2026, 4, 30), D(2026, 12, 31), "29.00")
    assert rows3(doc.accruals)[1] == (D(2026, 12, 31), D(2027, 12, 31), "44.76")


def test_wells_fargo_style_edgar_html_table_across_a_page_break():
    doc = read("westbrook-fargo-edgar.txt")
    assert len(doc.schedule) == 12 and doc.schedule[-1].amount == "1040.70"
    assert evidence(doc, "issue_price").quote.startswith("Original Offering Price")
    assert (doc.fixed_payments, doc.day_count) == (2, "30/360")
    assert doc.assumptions == ()


@pytest.mark.parametrize("name", ["harbor-chase-calendar-oid.htm", "bayfront-finance-units.htm",
                                  "cedar-global-monthly.htm", "westbrook-fargo-edgar.txt"])
def test_html_converted_one_cell_per_line_reads_alike(name):
    source = (TERMS / name).read_text(encoding="utf-8")
    body = source[source.index("<html"):source.index("</html>") + 7]
    expected, got = fields(read(name)), fields(terms_from_text(one_cell_per_line(body)))
    for key in expected:
        if key != "evidence":
            assert got[key] == expected[key], key


# ---- wordings of other issuers ----------------------------------------------------------------

@pytest.mark.parametrize("sentence, pct, per_year", [
    ("we have determined that the comparable yield is 3.25 percent, compounded semiannually.",
     "3.25", 2),
    ("we have determined that the comparable yield is 5.12% (compounded quarterly).", "5.12", 4),
    ("the comparable yield will be 4.5% per year, compounded on a semiannual basis.", "4.5", 2),
    ("the comparable yield is 4.60% per annum compounded semi-annually", "4.60", 2),
])
def test_more_comparable_yield_wordings(sentence, pct, per_year):
    doc = terms_from_text(sentence)
    assert (doc.comparable_yield_pct, doc.frequency) == (pct, per_year)


def test_a_sentence_introducing_a_table_ends_at_its_colon():
    doc = terms_from_text("Based on the comparable yield, the projected payment schedule, as a "
                          "percentage of principal, is as follows:\nPayment Date | Projected "
                          "Payment\nJuly 15, 2026 | 2.5000%\n")
    assert doc.comparable_yield_pct is None


@pytest.mark.parametrize("text", [
    "Price to Public (1) | Fees and Commissions (2) | Proceeds to Issuer\n"
    "Per note | $1,000.00 | $17.50 | $982.50\n",
    "Commissions and issue price: | Price to public | Agent's commissions | Proceeds to us\n"
    "Per note | $1,000 | $15 | $985\n",
    "| Original Offering Price | Agent Discount(1) | Proceeds to Issuer\n"
    "Per Security | $1,000.00 | $20.00 | $980.00\n",
])
def test_cover_price_tables_of_other_issuers(text):
    doc = terms_from_text("Principal amount per note: $1,000\n" + text)
    assert doc.issue_price == "1000"
    assert doc.assumptions == ()


def test_a_single_payment_printed_as_a_percentage_of_principal():
    doc = terms_from_text("Principal amount per note: $1,000. The projected payment schedule "
                          "consists of a single payment at maturity equal to 112.3456% of the "
                          "principal amount.")
    assert (doc.single_payment, doc.single_payment_per) == ("112.3456", "100")
    assert evidence(doc, "single_payment").value == "112.3456%"


@pytest.mark.parametrize("heading, cells, per", [
    ("Projected Payment (% of principal amount)", ("2.5000%", "102.5000%"), "100"),
    ("Projected Payment (as a percentage of the principal amount)", ("2.5000", "102.5000"),
     "100"),
    ("Projected Payment (per $100 principal amount)", ("$2.5000", "$102.5000"), "100"),
    ("Projected Payment (per $1,000 note)", ("$25.00", "$1,025.00"), None),
])
def test_what_a_schedule_is_quoted_per(heading, cells, per):
    doc = terms_from_text(f"Principal amount per note: $1,000\nThe projected payment schedule "
                          f"is as follows:\nPayment Date | {heading}\nJuly 15, 2026 | {cells[0]}\n"
                          f"January 15, 2027 | {cells[1]}\n")
    assert doc.unit_principal == "1000"
    assert [r.per for r in doc.schedule] == [per, per]
    assert [r.amount for r in doc.schedule] == [c.strip("$%").replace(",", "") for c in cells]


def test_a_rate_column_is_not_the_projected_payment():
    doc = terms_from_text("The projected payment schedule is as follows:\n"
                          "Payment Date | Coupon Rate | Projected Payment Amount\n"
                          "July 15, 2026 | 5.00% | $25.00\nJanuary 15, 2027 | 4.00% | $1,020.00\n")
    assert [r.amount for r in doc.schedule] == ["25.00", "1020.00"]


def test_us_dollar_amounts_in_a_table():
    doc = terms_from_text("Issue Date: January 15, 2026\nThe following table sets out the "
                          "interest deemed to accrue:\nAccrual Period | Interest Deemed to Accrue "
                          "(per U.S.$1,000 Note)\nIssue Date to July 15, 2026 | U.S.$25.00\n"
                          "July 15, 2026 to January 15, 2027 | U.S.$25.62\n")
    assert rows3(doc.accruals) == [(D(2026, 1, 15), D(2026, 7, 15), "25.00"),
                                   (D(2026, 7, 15), D(2027, 1, 15), "25.62")]


def test_calendar_years_need_the_issue_and_maturity_dates():
    table = ("The following table sets out the interest deemed to accrue:\n"
             "Calendar Year | Interest Deemed to Accrue\n2026 | $25.00\n2027 | $45.62\n"
             "2028 | $12.10\n")
    dated = terms_from_text("Issue Date: March 3, 2026\nMaturity Date: April 3, 2028\n" + table)
    assert rows3(dated.accruals) == [(D(2026, 3, 3), D(2026, 12, 31), "25.00"),
                                     (D(2026, 12, 31), D(2027, 12, 31), "45.62"),
                                     (D(2027, 12, 31), D(2028, 4, 3), "12.10")]
    assert dated.frequency is None      # calendar years say nothing of the compounding
    undated = terms_from_text(table)
    assert undated.accruals[0].period_start is None
    assert undated.accruals[-1].period_end == D(2028, 12, 31)
    assert any("issue date is not printed" in a for a in undated.assumptions)
    assert any("maturity date is not printed" in a for a in undated.assumptions)


def test_a_year_in_a_sentence_or_label_is_not_a_table_row():
    doc = terms_from_text("The following table sets out the interest deemed to accrue:\n"
                          "In 2026 the notes pay $25.00 | Year 2027 | $45.62\n")
    assert doc.accruals == ()


def test_a_schedule_printed_by_year_only_is_not_read():
    doc = terms_from_text("The projected payment schedule is as follows:\nYear | Projected "
                          "Payment\n2026 | $25.00\n2027 | $1,045.62\n")
    assert doc.schedule == ()
    assert any("prints years, not payment dates" in a for a in doc.assumptions)


def test_an_accrual_table_by_period_end_runs_from_the_previous_end():
    doc = terms_from_text("Issue Date: January 15, 2026\nThe following table sets out the "
                          "interest deemed to accrue:\nAccrual Period Ending | Interest Deemed "
                          "to Accrue During Accrual Period\nJuly 15, 2026 | $25.00\n"
                          "January 15, 2027 | $25.62\n")
    assert rows3(doc.accruals) == [(D(2026, 1, 15), D(2026, 7, 15), "25.00"),
                                   (D(2026, 7, 15), D(2027, 1, 15), "25.62")]
    assert any("only the end of each period" in a for a in doc.assumptions)


@pytest.mark.parametrize("text, description", [
    ("Alpstein Bank AG $7,250,000 Rate Linked Notes\ndue September 30, 2030\n",
     "Alpstein Bank Rate Linked Notes due September 30, 2030"),
    ("THE DOMINION MAPLE BANK\nU.S.$3,650,000 Principal Protected Notes due April 30, 2031\n",
     "Dominion Maple Bank Principal Protected Notes due April 30, 2031"),
    ("Harbor Chase Financial Company LLC\nCapped Notes due May 1, 2030\n",
     "Harbor Chase Financial Capped Notes due May 1, 2030"),
    ("BAYFRONT FINANCE LLC\n485,000 Units Principal Protected Notes due March 27, 2031\n",
     "Bayfront Finance Principal Protected Notes due March 27, 2031"),
    ("March 17, 2026 Cedar Holdings Inc. Pricing Supplement No. 12\nRange Securities Due "
     "March 20, 2028\nIssuer: Cedar Holdings Inc., a subsidiary of Cedar Group Inc.\n",
     "Cedar Holdings Range Securities due March 20, 2028"),
])
def test_issuers_and_titles_of_other_layouts(text, description):
    assert terms_from_text(text).description == description


SIDE_BY_SIDE = """\
U.S. FEDERAL INCOME TAX CONSIDERATIONS
Notes A. The comparable yield for the Notes due 2029 is 3.95% per annum, compounded
semiannually, and the projected payment schedule per $1,000 note consists of a single payment
at maturity of $1,124.51.

Notes B. The comparable yield for the Notes due 2031 is 4.2125% per annum, compounded
semiannually, and the projected payment schedule per $1,000 note consists of a single payment
at maturity of $1,231.75.
"""


def test_notes_side_by_side_matched_by_their_maturity_year():
    text = ("Settlement Date: March 5, 2026\n| Notes A | Notes B\n"
            "Maturity Date: | March 5, 2029 | March 5, 2031\n"
            "CUSIP: | 63318FAE1 | 63318FAF8\n\n" + SIDE_BY_SIDE)
    doc = terms_from_text(text, instrument_id="63318FAF8")
    assert (doc.instrument_id, doc.maturity_date) == ("63318FAF8", D(2031, 3, 5))
    assert (doc.comparable_yield_pct, doc.single_payment) == ("4.2125", "1231.75")
    assert "63318FAF8 (Notes B), the one asked for, is read" in doc.assumptions[0]


def test_notes_with_their_own_cusip_labels_matched_in_order():
    text = ("CUSIP (Notes A): 63318FAE1\nCUSIP (Notes B): 63318FAF8\n\n"
            + SIDE_BY_SIDE.replace("Notes A. ", "").replace("Notes B. ", "")
            .replace("Notes due 2029", "first notes").replace("Notes due 2031", "second notes"))
    doc = terms_from_text(text, instrument_id="63318FAF8")
    assert (doc.instrument_id, doc.comparable_yield_pct) == ("63318FAF8", "4.2125")
    assert any("matched to the notes in the order they are printed" in a for a in doc.assumptions)
    assert any("63318FAF8 (Notes B), the one asked for, is read" in a for a in doc.assumptions)
    assert terms_from_text(text).comparable_yield_pct == "3.95"


def test_more_yields_than_notes_is_flagged_not_guessed():
    text = ("CUSIP (Notes A): 63318FAE1\nCUSIP (Notes B): 63318FAF8\n\n" + SIDE_BY_SIDE +
            "\nNotes C. The comparable yield for the other notes is 4.50% per annum.\n")
    doc = terms_from_text(text)
    assert any("which belongs to which is not clear" in a for a in doc.assumptions)
    assert any("also prints" in a for a in doc.assumptions)


def test_one_note_with_two_cusip_lines_is_not_several_notes():
    doc = terms_from_text("CUSIP: 63318FAE1\nReference stock CUSIP: 63318FAF8\n"
                          "UNITED STATES FEDERAL INCOME TAX CONSIDERATIONS\nThe comparable yield "
                          "is 3.95% per annum, compounded semiannually.\n")
    assert doc.instrument_id == "63318FAE1"
    assert not any("notes (" in a for a in doc.assumptions)


def test_nested_html_tables_with_fonts_and_entities():
    html = ("<html><body><table><tr><td><table>"
            "<tr><td><p><font>Original&#160;Issue Date:</font></p></td>"
            "<td><p><font>September&#160;17, 2025</font></p></td></tr>"
            "<tr><td><font>CUSIP:</font></td><td><font>74512QAC2</font></td></tr>"
            "</table></td><td><table><tr><td>Maturity Date:</td><td>September 17, 2029</td></tr>"
            "</table></td></tr></table></body></html>")
    doc = terms_from_text(html)
    assert (doc.issue_date, doc.maturity_date, doc.instrument_id) == (
        D(2025, 9, 17), D(2029, 9, 17), "74512QAC2")


def test_a_table_continued_after_a_page_footer_without_its_headings():
    text = ("The projected payment schedule is as follows:\n"
            "Payment Date        Projected Payment Amount\n"
            "06/13/2026          $15.00\n09/13/2026          $15.00\n\n"
            "                                                       Page 14\n"
            "Meridian Stanley Finance LLC\nRange Accrual Notes due March 13, 2028\n\n"
            "12/13/2026          $15.00\n03/13/2027          $1,015.00\n")
    doc = terms_from_text(text)
    # the running head's "March 13, 2028" is not paired with the next row's date
    assert [(r.period_end, r.amount) for r in doc.schedule] == [
        (D(2026, 6, 13), "15.00"), (D(2026, 9, 13), "15.00"), (D(2026, 12, 13), "15.00"),
        (D(2027, 3, 13), "1015.00")]
    assert any("(a page break): its rows are joined" in a for a in doc.assumptions)


def test_a_table_after_a_paragraph_is_not_a_continuation():
    text = ("The projected payment schedule is as follows:\n"
            "Payment Date | Projected Payment\nJuly 20, 2026 | $25.00\n"
            "January 20, 2027 | $1,025.00\n\nThe notes may be redeemed at our option. The "
            "redemption prices are:\nJuly 20, 2027 | $1,010.00\nJanuary 20, 2028 | $1,000.00\n")
    doc = terms_from_text(text)
    assert [r.period_end for r in doc.schedule] == [D(2026, 7, 20), D(2027, 1, 20)]


def test_label_leader_dots_and_hidden_inline_xbrl():
    doc = terms_from_text("Original Issue Date ............ March 3, 2026\n"
                          "Maturity Date.......March 3, 2031\n")
    assert (doc.issue_date, doc.maturity_date) == (D(2026, 3, 3), D(2031, 3, 3))
    html = ("<html><body><div style='display:none'><ix:header><p>Issue Date: January 1, 1999"
            "</p></ix:header></div><p>CUSIP: 02687QCD8</p></body></html>")
    assert terms_from_text(html).issue_date is None


def test_tax_figures_of_several_notes_the_documents_own_cusip_is_read():
    text = ("CUSIP: 63318FAF8\nMaturity Date: March 5, 2031\n\n"
            "UNITED STATES FEDERAL INCOME TAX CONSIDERATIONS\n"
            "Notes with CUSIP 63318FAE1. The comparable yield is 3.95% per annum, compounded "
            "semiannually, and the projected payment schedule per $1,000 note consists of a "
            "single payment at maturity of $1,124.51.\n\n"
            "Notes with CUSIP 63318FAF8. The comparable yield is 4.2125% per annum, compounded "
            "semiannually, and the projected payment schedule per $1,000 note consists of a "
            "single payment at maturity of $1,231.75.\n")
    doc = terms_from_text(text)
    assert (doc.instrument_id, doc.comparable_yield_pct, doc.single_payment) == (
        "63318FAF8", "4.2125", "1231.75")
    assert any("63318FAF8, the one whose CUSIP the document's terms print, is read" in a
               for a in doc.assumptions)
    assert not any("also prints" in a for a in doc.assumptions)

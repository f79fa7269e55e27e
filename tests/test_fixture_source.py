"""The AIG fixture is a faithful transcription of the pricing supplement it cites.

tests/fixtures/aig-cms-curve-2027/pricing-supplement.txt is the text of AIG's Amended Pricing
Supplement No. AIG-FP-22D (a public filing).  Its projected payment schedule is printed as two
side-by-side columns of "From | To | Payment" rows (periods 1–20 on the left, 21–40 on the
right), which the text extraction lays out one cell per line.  These tests parse that table and
the supplement's terms straight from the text, and require schedule.csv and instruments.csv to
say exactly the same thing — the amounts as printed, typing slip included (method §10).
"""

from __future__ import annotations

import csv
import re
from datetime import date, datetime
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aig-cms-curve-2027"
SUPPLEMENT = FIXTURE / "pricing-supplement.txt"

PRINTED_DATE = re.compile(r"\d{2}-[A-Z][a-z]{2}-\d{2}")  # 20-Jul-07
PRINTED_AMOUNT = re.compile(r"\d+\.\d{4}")  # 45.0000, 1004.2577


def supplement_lines() -> list[str]:
    return SUPPLEMENT.read_text(encoding="utf-8").splitlines()


def supplement_prose() -> str:
    """The supplement as one line of text: table bars dropped, runs of blanks collapsed."""
    return " ".join(SUPPLEMENT.read_text(encoding="utf-8").replace("|", " ").split())


def printed_date(text: str) -> date:
    return datetime.strptime(text, "%d-%b-%y").date()


def printed_schedule() -> list[tuple[date, date, str]]:
    """(from, to, payment as printed) for every period of the supplement's table, in period
    order: the table sits between "set forth in the following table:" and the paragraph after
    it; each printed row holds a left (from, to, payment) and a right one."""
    lines = supplement_lines()
    start = next(i for i, line in enumerate(lines) if "set forth in the following table" in line)
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("As indicated in the"))
    cells = [line.strip(" |") for line in lines[start + 1:end]]
    cells = [c for c in cells if c]
    values = [c for c in cells if PRINTED_DATE.fullmatch(c) or PRINTED_AMOUNT.fullmatch(c)]
    # everything in the table that is not a date or an amount is a column heading
    assert set(cells) - set(values) == {"Accrual Period", "Coupon", "From", "To", "Payment"}
    assert len(values) % 6 == 0
    left, right = [], []
    for k in range(0, len(values), 6):
        row = values[k:k + 6]
        for side, (start_text, end_text, amount) in ((left, row[:3]), (right, row[3:])):
            assert PRINTED_DATE.fullmatch(start_text) and PRINTED_DATE.fullmatch(end_text)
            assert PRINTED_AMOUNT.fullmatch(amount)
            side.append((printed_date(start_text), printed_date(end_text), amount))
    return left + right


def fixture_rows(name: str) -> list[dict[str, str]]:
    with open(FIXTURE / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_printed_table_has_forty_contiguous_semiannual_periods():
    table = printed_schedule()
    assert len(table) == 40
    assert table[0][:2] == (date(2007, 7, 20), date(2008, 1, 20))
    assert table[-1][:2] == (date(2027, 1, 20), date(2027, 7, 20))
    for (_, end, _), (start, _, _) in zip(table, table[1:]):
        assert start == end
    assert table[-1][2] == "1004.2577"  # the final payment as printed (method §10)


def test_schedule_csv_is_the_printed_table_row_by_row():
    table = printed_schedule()
    rows = fixture_rows("schedule.csv")
    assert len(rows) == len(table)
    for number, (row, (start, end, amount)) in enumerate(zip(rows, table), start=1):
        assert row["instrument_id"] == "02687QCD8", number
        assert (row["period_start"], row["period_end"], row["projected_payment"]) == (
            start.isoformat(), end.isoformat(), amount), f"period {number}"


def test_the_first_four_payments_are_the_fixed_ones():
    prose = supplement_prose()
    assert "taking into account the first four initial fixed payments" in prose
    types = [row["payment_type"] for row in fixture_rows("schedule.csv")]
    assert types == ["fixed"] * 4 + ["contingent"] * 36


def test_instruments_csv_states_the_supplements_terms():
    prose = supplement_prose()
    (note,) = fixture_rows("instruments.csv")

    assert re.search(r"CUSIP No\.: (\w+)", prose).group(1) == note["instrument_id"] == "02687QCD8"

    comparable_yield = re.search(r"the comparable yield is (\d+\.\d+)%", prose).group(1)
    assert float(note["comparable_yield_pct"]) == float(comparable_yield) == 5.46

    issue = re.search(r"Issue Date: (\w+ \d{1,2}, \d{4})", prose).group(1)
    maturity = re.search(r"Stated Maturity Date: (\w+ \d{1,2}, \d{4})", prose).group(1)
    assert note["issue_date"] == datetime.strptime(issue, "%B %d, %Y").date().isoformat()
    assert note["maturity_date"] == datetime.strptime(maturity, "%B %d, %Y").date().isoformat()
    assert (note["issue_date"], note["maturity_date"]) == ("2007-07-20", "2027-07-20")

    day_count = re.search(r"Day Count Convention: (\S+)", prose).group(1)
    assert note["day_count"] == day_count == "30/360"

    periods = re.search(r"Interest Accrual Periods: The (\S+) period", prose).group(1)
    per_year = {"annual": 1, "semi-annual": 2, "quarterly": 4, "monthly": 12}[periods.lower()]
    assert int(note["frequency"]) == per_year == 2
    assert "Period End Dates: Semi-annual, on each January 20, and July 20" in prose

    # denominations of U.S.$1,000 (no others authorized); sold at par: the net proceeds equal
    # the principal amount, with no agent's discount
    assert "Authorized Denominations (If other than U.S.$1,000 and integral multiples of " \
           "U.S.$1,000 in excess thereof): N/A" in prose
    assert float(note["unit_principal"]) == 1000
    principal = re.search(r"Principal Amount: U\.S\.\$([\d,]+)", prose).group(1)
    proceeds = re.search(r"Proceeds to Issuer: U\.S\.\$([\d,]+)", prose).group(1)
    assert "Agents Discount or Commission: None" in prose
    assert float(note["issue_price"]) == float(note["unit_principal"]) * (
        int(proceeds.replace(",", "")) / int(principal.replace(",", ""))) == 1000

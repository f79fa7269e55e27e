"""``cpdi import-terms`` on pricing supplements in the layouts of other large issuers.

Each document in tests/fixtures/terms named below was written by us in the style of one US
structured-note issuer's 424B2 pricing supplements (tests/fixtures/terms/README.md says which,
what each tests and how every figure was computed with cpdi's own rules).  For each one the
command must write exactly the instrument row, the projected payment schedule and — when the
document prints one — the issuer's accrual table, and ``cpdi validate`` must then pass (and say
that the issuer's table agrees).
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

TERMS = Path(__file__).resolve().parent / "fixtures" / "terms"


def run(*args):
    return subprocess.run([sys.executable, "-m", "cpdi.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def instrument(iid, description, issue, maturity, price, unit, pct, frequency, day_count):
    return {"instrument_id": iid, "description": description, "issue_date": issue,
            "maturity_date": maturity, "issue_price": price, "unit_principal": unit,
            "comparable_yield_pct": pct, "frequency": frequency, "day_count": day_count}


def schedule(issue: str, ends: list[str], amounts: list[str], fixed: int = 0):
    """(period_start, period_end, projected_payment, payment_type) rows: each period from the
    previous end, the first from the issue date."""
    starts = [issue] + ends[:-1]
    return [(s, e, a, "fixed" if k < fixed else "contingent")
            for k, (s, e, a) in enumerate(zip(starts, ends, amounts))]


def single(issue: str, ends: list[str], amount: str):
    return schedule(issue, ends, ["0"] * (len(ends) - 1) + [amount])


def accruals(issue: str, ends: list[str], amounts: list[str]):
    return list(zip([issue] + ends[:-1], ends, amounts))


def months(start: tuple[int, int], count: int, step: int, day: int | None = None,
           month_end: bool = False) -> list[str]:
    """``count`` period ends ``step`` months apart from (year, month), on ``day`` or on the last
    day of the month."""
    import calendar
    year, month = start
    out = []
    for _ in range(count):
        last = calendar.monthrange(year, month)[1]
        out.append(f"{year:04d}-{month:02d}-{last if month_end else day:02d}")
        month += step
        year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return out


def imported(tmp_path, name, *options):
    out = tmp_path / "out"
    done = run("import-terms", TERMS / name, "--out", out, *options)
    assert done.returncode == 0, done.stdout + done.stderr
    return out, done


def validated(out: Path, with_table: bool) -> str:
    checked = run("validate", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert ("the issuer's OID table agrees" in checked.stdout) is with_table
    return checked.stdout


def schedule_rows(out: Path):
    return [(r["period_start"], r["period_end"], r["projected_payment"], r["payment_type"])
            for r in rows(out / "schedule.csv")]


def accrual_rows(out: Path):
    if not (out / "issuer_accruals.csv").exists():
        return []
    return [(r["period_start"], r["period_end"], r["accrued_per_unit"])
            for r in rows(out / "issuer_accruals.csv")]


# -- the expected import of each document -------------------------------------------------------
HARBOR_ENDS = months((2026, 3), 8, 6, 17)
MERIDIAN_ENDS = months((2026, 6), 8, 3, 13)
CEDAR_ENDS = months((2026, 4), 24, 1, 20)
THAMES_ENDS = months((2026, 7), 8, 6, 15)
BAYFRONT_ENDS = months((2026, 9), 10, 6, 27)
ALPSTEIN_ENDS = months((2025, 12), 20, 3, month_end=True)
WESTBROOK_ENDS = months((2026, 12), 12, 6, 15)
CALENDAR_YEAR_ENDS = ["2026-12-31", "2027-12-31", "2028-12-31", "2029-12-31", "2030-12-31"]

LAYOUTS = {
    # JPMorgan Chase Financial style, HTML: nested key-terms tables, "$" in a cell of its own,
    # a single payment and an OID table by calendar period
    "harbor-chase-calendar-oid.htm": (
        instrument("74512QAC2", "Harbor Financial Principal Protected Notes Linked to the "
                   "Solstice Large Cap Index due September 17, 2029", "2025-09-17", "2029-09-17",
                   "1000", "1000", "4.1179", "2", "30/360"),
        single("2025-09-17", HARBOR_ENDS, "1177.09"),
        accruals("2025-09-17", ["2025-12-31", "2026-12-31", "2027-12-31", "2028-12-31",
                                "2029-09-17"], ["11.94", "42.10", "43.78", "45.75", "33.52"])),
    # Morgan Stanley Finance style, text: a payment-date table continued across a page break,
    # "OID per $1,000 Note During Period | Total OID per $1,000 Note as of End of Period"
    "meridian-stanley-quarterly.txt": (
        instrument("58219TBF7", "MSFL Fixed Income Range Accrual Notes due March 13, 2028",
                   "2026-03-13", "2028-03-13", "1000", "1000", "4.6150", "4", "30/360"),
        schedule("2026-03-13", MERIDIAN_ENDS,
                 ["15.00"] * 4 + ["7.20", "7.65", "8.10", "1008.73"], fixed=4),
        accruals("2026-03-13", MERIDIAN_ENDS, ["11.54", "11.50", "11.46", "11.42", "11.37",
                                               "11.42", "11.47", "11.51"])),
    # Goldman Sachs style, text: "per $1,000 face amount", whole-dollar amounts, no day count
    "granite-sachs-face-amount.txt": (
        instrument("36927WAD5", "Granite Sachs Group Annual Contingent Coupon CMS "
                   "Spread-Linked Notes due 2030", "2026-03-16", "2030-03-16", "1000", "1000",
                   "2.8535", "1", "30/360"),
        schedule("2026-03-16", ["2027-03-16", "2028-03-16", "2029-03-16", "2030-03-16"],
                 ["30", "30", "26", "1028"]),
        []),
    # Citigroup Global Markets Holdings style, HTML: monthly compounding, a side-by-side table of
    # "04/20/2026" dates after a page break, the price table nested in a key-terms cell
    "cedar-global-monthly.htm": (
        instrument("19743KCN5", "Cedar Global Markets Holdings Monthly Contingent Coupon "
                   "Principal-Protected Securities Linked to the Three-Month Term Rate due "
                   "March 20, 2028", "2026-03-20", "2028-03-20", "1000", "1000", "4.3125", "12",
                   "30/360"),
        schedule("2026-03-20", CEDAR_ENDS,
                 ["3.25"] * 6 + ["3.10"] * 6 + ["2.95"] * 11 + ["1016.17"]),
        []),
    # Barclays Bank style, text: the schedule as percentages of principal, "15-Jan-2027" dates
    "thames-bank-percent-schedule.txt": (
        instrument("82615RAL9", "Thames Bank Contingent Coupon Callable Notes due January 15, "
                   "2030", "2026-01-15", "2030-01-15", "1000", "1000", "4.4385", "2", "30/360"),
        schedule("2026-01-15", THAMES_ENDS, ["25.000", "25.000", "18.750", "19.500", "20.100",
                                             "20.600", "21.000", "1027.615"], fixed=2),
        accruals("2026-01-15", THAMES_ENDS, ["22.19", "22.13", "22.07", "22.14", "22.20",
                                             "22.25", "22.28", "22.31"])),
    # BofA Finance style, HTML: $10 units sold at $9.70, a calendar-year table ("2026 | $ |
    # 0.3025"), the cover's terms in a row of column headings
    "bayfront-finance-units.htm": (
        instrument("47093MBB5", "Bayfront Finance Principal Protected Market-Linked Notes Linked "
                   "to the Tidewater 100 Index, due March 27, 2031", "2026-03-27", "2031-03-27",
                   "9.7", "10", "4.0625", "2", "30/360"),
        single("2026-03-27", BAYFRONT_ENDS, "11.8605"),
        accruals("2026-03-27", CALENDAR_YEAR_ENDS + ["2031-03-27"],
                 ["0.3025", "0.4099", "0.4279", "0.4449", "0.4631", "0.1122"])),
    # HSBC USA style, text: two notes in one document; the first is read
    "hudson-usa-two-notes.txt": (
        instrument("63318FAE1", "HUSA Principal Protected Notes Linked to the Harbor Blue Chip "
                   "Index due March 5, 2029", "2026-03-05", "2029-03-05", "1000", "1000",
                   "3.9500", "2", "30/360"),
        single("2026-03-05", months((2026, 9), 6, 6, 5), "1124.51"),
        []),
    # UBS AG style, text: the schedule quoted per $100 principal amount
    "alpstein-bank-per-100.txt": (
        instrument("28541VAJ7", "Alpstein Bank Rate Linked Principal Protected Notes due "
                   "September 30, 2030", "2025-09-30", "2030-09-30", "100", "100", "3.6875", "4",
                   "30/360"),
        schedule("2025-09-30", ALPSTEIN_ENDS,
                 ["0.7500"] * 4 + ["0.8125"] * 8 + ["0.8750"] * 7 + ["103.0422"]),
        []),
    # TD / RBC / BMO style, text: "Issue Date (Settlement Date)", U.S.$ amounts, a Canadian tax
    # section before the U.S. one, annual compounding on the accrual table's calendar periods
    "dominion-maple-canadian.txt": (
        instrument("93857CAK8", "Dominion Maple Bank Principal Protected Notes Linked to the North "
                   "American Banks Index due April 30, 2031", "2026-04-30", "2031-04-30", "1000",
                   "1000", "4.35", "1", "30/360"),
        single("2026-04-30", CALENDAR_YEAR_ENDS + ["2031-04-30"], "1237.76"),
        accruals("2026-04-30", CALENDAR_YEAR_ENDS + ["2031-04-30"],
                 ["29.00", "44.76", "46.71", "48.74", "50.86", "17.69"])),
    # Wells Fargo style, an EDGAR submission: HTML table continued after a page break with the
    # running head and the tax heading "(continued)" in between, "Original Offering Price"
    "westbrook-fargo-edgar.txt": (
        instrument("51284XBH9", "Westbrook Fargo Callable Market Linked Securities with Fixed and "
                   "Contingent Coupons Linked to the Pinecrest Rate due June 15, 2032",
                   "2026-06-15", "2032-06-15", "1000", "1000", "4.7250", "2", "30/360"),
        schedule("2026-06-15", WESTBROOK_ENDS,
                 ["27.50", "27.50", "19.40", "19.85", "20.30", "20.70", "21.10", "21.45", "21.80",
                  "22.15", "22.45", "1040.70"], fixed=2),
        []),
}


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_each_layout_imports_exactly_and_validates(tmp_path, name):
    expected_row, expected_schedule, expected_accruals = LAYOUTS[name]
    out, _ = imported(tmp_path, name)
    assert rows(out / "instruments.csv") == [expected_row | {"source_document": name}]
    assert schedule_rows(out) == expected_schedule
    assert accrual_rows(out) == expected_accruals
    validated(out, with_table=bool(expected_accruals))


def test_the_fixtures_are_all_covered():
    ours = {"northgate-single-payment.txt", "northgate-single-payment.htm",
            "lakeshore-equity-10.txt", "fairhaven-through-periods.txt",
            "clearwater-amended-actual365.txt", "kestrel-no-issue-date.txt"}
    documents = {p.name for p in TERMS.iterdir() if p.suffix != ".md"}
    assert documents - ours == set(LAYOUTS)


# -- what the command says about each ------------------------------------------------------------
def test_a_calendar_table_is_checked_not_used_as_the_grid(tmp_path):
    out, done = imported(tmp_path, "harbor-chase-calendar-oid.htm")
    assert "accrual periods: semiannual, rolled back from maturity" in done.stdout
    assert "the issuer's OID table prints annual periods" in done.stdout
    assert 'line 55: "Original Issue Date (Settlement Date): September 17, 2025"' in done.stdout
    assert "issuer's OID table agrees (5 row(s)" in done.stdout


def test_a_percentage_schedule_is_scaled_to_the_unit_and_said(tmp_path):
    _, done = imported(tmp_path, "thames-bank-percent-schedule.txt")
    assert "the projected payment schedule is printed per 100 of principal (percentages of the " \
        "principal amount): its amounts are scaled × 1000/100 to the unit principal 1000" \
        in done.stdout


def test_a_schedule_per_100_has_a_unit_of_100(tmp_path):
    _, done = imported(tmp_path, "alpstein-bank-per-100.txt")
    assert "unit principal 100 taken from line 41 in the tax section; the document also " \
        "prints 1000" in done.stdout


def test_a_day_count_the_document_does_not_state_is_flagged(tmp_path):
    _, done = imported(tmp_path, "granite-sachs-face-amount.txt")
    assert "assumed: day_count 30/360 — the document states none cpdi can use" in done.stdout
    assert "30E/360, 30E/360 ISDA, ACT/ACT, ACT/ACT ISDA also do; check it" in done.stdout


def test_two_notes_in_one_document_the_first_is_read_and_said(tmp_path):
    _, done = imported(tmp_path, "hudson-usa-two-notes.txt")
    assert "the document gives the tax figures of 2 notes (63318FAE1, 63318FAF8)" in done.stdout
    assert "the first, 63318FAE1 (2029 Notes), is read" in done.stdout
    assert "4.2125" not in done.stdout and "1231.75" not in done.stdout


@pytest.mark.parametrize("asked", ["63318FAF8", "US63318FAF80"])
def test_two_notes_in_one_document_the_one_asked_for_is_read(tmp_path, asked):
    out, done = imported(tmp_path, "hudson-usa-two-notes.txt", "--id", asked)
    expected = instrument(asked, "HUSA Principal Protected Notes Linked to the Harbor Blue Chip "
                          "Index due March 5, 2031", "2026-03-05", "2031-03-05", "1000", "1000",
                          "4.2125", "2", "30/360")
    assert rows(out / "instruments.csv") == [expected | {"source_document": "hudson-usa-two-notes.txt"}]
    assert schedule_rows(out) == single("2026-03-05", months((2026, 9), 10, 6, 5), "1231.75")
    assert "63318FAF8 (2031 Notes), the one asked for, is read" in done.stdout
    validated(out, with_table=False)


def test_units_sold_below_par_keep_the_price_per_unit(tmp_path):
    out, done = imported(tmp_path, "bayfront-finance-units.htm")
    assert 'issue_price            9.7' in done.stdout
    assert "prints calendar years" in done.stdout
    row = rows(out / "instruments.csv")[0]
    assert (row["issue_price"], row["unit_principal"]) == ("9.7", "10")


def test_an_oid_table_on_the_compounding_periods_is_the_grid(tmp_path):
    _, done = imported(tmp_path, "dominion-maple-canadian.txt")
    assert "accrual periods: those of the issuer's OID table" in done.stdout
    assert 'day_count              30/360' in done.stdout

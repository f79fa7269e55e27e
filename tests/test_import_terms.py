"""``cpdi import-terms``: a pricing supplement to instruments.csv, schedule.csv and
issuer_accruals.csv (docs/formats.md), then ``cpdi validate`` on what it wrote.

The AIG supplement is a real filing (tests/fixtures/aig-cms-curve-2027); the other documents in
tests/fixtures/terms are written by us in other issuers' layouts (their README says how their
figures were computed), and one more is written below, in the test, so that its OID table can
only be reproduced by a convention the document does not state.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from cpdi.engine.daycount import DayCount
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.schedule_builder import (
    AccrualGrid, accrual_period_dates, projected_schedule, single_payment_for_yield,
)
from cpdi.model import ComparableYield, DailyPortionBasis, Instrument

FIXTURES = Path(__file__).resolve().parent / "fixtures"
AIG = FIXTURES / "aig-cms-curve-2027"
TERMS = FIXTURES / "terms"


def run(*args):
    return subprocess.run([sys.executable, "-m", "cpdi.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=120)


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_aig_supplement_imports_to_exactly_the_fixture(tmp_path):
    out = tmp_path / "aig"
    done = run("import-terms", AIG / "pricing-supplement.txt", "--out", out)
    # imported as printed, typo included: the schedule does not validate, and the command says so
    assert done.returncode == 1, done.stdout + done.stderr
    (instrument,) = rows(out / "instruments.csv")
    assert instrument.pop("source_document") == "pricing-supplement.txt"  # where it was read
    assert [instrument] == rows(AIG / "instruments.csv")
    assert rows(out / "schedule.csv") == rows(AIG / "schedule.csv")
    assert len(rows(out / "schedule.csv")) == 40
    assert not (out / "issuer_accruals.csv").exists()  # the supplement prints no OID table
    # every figure with the words it came from
    assert 'line 524: "Solely for purposes of applying these regulations, we have determined that ' \
        'the comparable yield is 5.46%."' in done.stdout
    assert 'line 370: "Day Count Convention: 30/360"' in done.stdout
    assert "does not validate" in done.stderr
    # validate then names the printed typo
    checked = run("validate", out)
    assert checked.returncode == 1
    assert "looks like a typing error: digits '04' printed for '40' (1040.2577)" in checked.stdout


def test_a_rerun_needs_force_and_then_replaces_the_files(tmp_path):
    out = tmp_path / "out"
    document = TERMS / "northgate-single-payment.txt"
    assert run("import-terms", document, "--out", out).returncode == 0
    again = run("import-terms", TERMS / "lakeshore-equity-10.txt", "--out", out)
    assert again.returncode == 1 and "already exists" in again.stderr and "--force" in again.stderr
    assert rows(out / "instruments.csv")[0]["instrument_id"] == "64952NAB9"  # untouched
    forced = run("import-terms", TERMS / "lakeshore-equity-10.txt", "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert rows(out / "instruments.csv")[0]["instrument_id"] == "55317WAF8"
    # the earlier document's OID table is not left behind to be checked against this note
    assert not (out / "issuer_accruals.csv").exists()


@pytest.mark.parametrize("name", ["northgate-single-payment.txt", "northgate-single-payment.htm",
                                  "fairhaven-through-periods.txt", "lakeshore-equity-10.txt",
                                  "clearwater-amended-actual365.txt"])
def test_other_layouts_import_and_validate(tmp_path, name):
    out = tmp_path / "out"
    done = run("import-terms", TERMS / name, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    checked = run("validate", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    if (out / "issuer_accruals.csv").exists():
        assert "the issuer's OID table agrees" in checked.stdout


def test_the_text_and_html_versions_import_alike(tmp_path):
    for suffix in ("txt", "htm"):
        assert run("import-terms", TERMS / f"northgate-single-payment.{suffix}", "--out",
                   tmp_path / suffix).returncode == 0
    for name in ("instruments.csv", "schedule.csv", "issuer_accruals.csv"):
        txt, htm = rows(tmp_path / "txt" / name), rows(tmp_path / "htm" / name)
        if name == "instruments.csv":  # each names the document it was read from
            assert txt[0].pop("source_document") == "northgate-single-payment.txt"
            assert htm[0].pop("source_document") == "northgate-single-payment.htm"
        assert txt == htm


def test_an_ambiguous_day_count_is_flagged_and_resolved_by_the_schedule(tmp_path):
    done = run("import-terms", TERMS / "clearwater-amended-actual365.txt", "--out", tmp_path / "o")
    assert done.returncode == 0, done.stderr
    assert "ambiguous" in done.stdout
    assert "assumed: day_count ACT/365F" in done.stdout
    assert rows(tmp_path / "o" / "instruments.csv")[0]["day_count"] == "ACT/365F"


def test_a_missing_issue_date_names_the_option_and_writes_nothing(tmp_path):
    out = tmp_path / "out"
    done = run("import-terms", TERMS / "kestrel-no-issue-date.txt", "--out", out)
    assert done.returncode == 1
    assert "no issue date found in the document: give it with --issue-date" in done.stderr
    assert not out.exists()
    given = run("import-terms", TERMS / "kestrel-no-issue-date.txt", "--out", out,
                "--issue-date", "2026-01-27")
    assert given.returncode == 0, given.stdout + given.stderr
    assert "issue_date: 2026-01-27 from --issue-date" in given.stdout
    schedule = rows(out / "schedule.csv")
    assert schedule[-1]["projected_payment"] == "1204.14"
    assert all(r["projected_payment"] == "0" for r in schedule[:-1])


def test_options_override_the_document_and_say_so(tmp_path):
    done = run("import-terms", TERMS / "lakeshore-equity-10.txt", "--out", tmp_path / "o",
               "--id", "MYNOTE", "--issue-price", "9.90")
    assert "instrument_id: --id MYNOTE used; the document prints 55317WAF8" in done.stdout
    row = rows(tmp_path / "o" / "instruments.csv")[0]
    assert (row["instrument_id"], row["issue_price"]) == ("MYNOTE", "9.90")


def test_an_unreadable_document_is_one_line(tmp_path):
    pdf = tmp_path / "supplement.pdf"
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01binary")
    done = run("import-terms", pdf, "--out", tmp_path / "o")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "supplement.pdf" in done.stderr


# -- a document whose OID table needs a convention it does not state --------------------------------
def _note_by_day_count() -> tuple[Instrument, list[tuple[date, date, float]]]:
    """Issued 15 Oct 2024, maturing 15 Oct 2027, 4.6% compounded semiannually, 30E/360, one
    payment at maturity; the issuer spreads each period's interest by the day count and prints
    interest per calendar year to four decimals."""
    issue, maturity = date(2024, 10, 15), date(2027, 10, 15)
    dates = accrual_period_dates(AccrualGrid(issue, maturity, 2))
    cy = ComparableYield(0.046, DayCount.THIRTY_E_360, 2)
    payment = round(single_payment_for_yield(1000.0, cy, dates), 4)
    inst = Instrument("99999ZZZ9", issue, maturity, 1000.0, 1000.0, cy,
                      projected_schedule(dates, single_payment=payment),
                      daily_portion_basis=DailyPortionBasis.DAY_COUNT)
    schedule = AccrualSchedule(inst)
    table, start = [], issue
    for year in (2024, 2025, 2026, 2027):
        end = min(date(year, 12, 31), maturity)
        table.append((start, end, schedule.interest_between(start.toordinal() + 1, end.toordinal())))
        start = end
    return inst, table


def _document(inst: Instrument, table) -> str:
    def long(d: date) -> str:
        return f"{d:%B} {d.day}, {d.year}"

    lines = [
        "PRICING SUPPLEMENT",
        "Redwood Bancorp",
        "Market-Linked Notes due October 15, 2027",
        "",
        f"CUSIP: {inst.instrument_id}",
        f"Original Issue Date: {long(inst.issue_date)}",
        f"Maturity Date: {long(inst.maturity_date)}",
        "Price to Public: 100% of the principal amount",
        "",
        "United States Federal Income Tax Considerations",
        "We have determined that the comparable yield for the notes is 4.60% per annum, "
        "compounded semi-annually. Based upon our determination of the comparable yield, the "
        "projected payment schedule per $1,000 principal amount note consists of a single "
        f"payment at maturity, equal to ${inst.projected_payments[-1].amount:,.4f}.",
        "",
        "The following table states the amount of OID that will be deemed to have accrued with "
        "respect to a note for each calendar year, based on the comparable yield:",
        "",
        "Calendar Period | OID Deemed to Accrue During Calendar Period (per $1,000 note)",
    ]
    first = True
    for start, end, amount in table:
        label = "Original Issue Date" if first else long(date(end.year, 1, 1))
        lines.append(f"{label} through {long(end)} | ${amount:,.4f}")
        first = False
    lines.append("")
    lines.append("Holders should consult their tax advisors.")
    return "\n".join(lines) + "\n"


def test_an_oid_table_brings_the_conventions_that_reproduce_it(tmp_path):
    inst, table = _note_by_day_count()
    document = tmp_path / "redwood.txt"
    document.write_text(_document(inst, table), encoding="utf-8")
    out = tmp_path / "out"
    done = run("import-terms", document, "--out", out)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "reproduces the issuer's OID table" in done.stdout
    row = rows(out / "instruments.csv")[0]
    assert row["daily_portion_basis"] == "day_count"
    assert row["day_count"] in ("30E/360", "30/360")  # 15th-of-month dates: the two agree here
    assert len(rows(out / "issuer_accruals.csv")) == 4
    checked = run("validate", out)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "the issuer's OID table agrees (4 row(s) at the printed decimals)" in checked.stdout

"""Privacy and injection safety of every output (docs/formats.md): no full taxpayer id in any file or
message, no CSV cell a spreadsheet would run as a formula, no NUL byte written.

The rules are ``cpdi.writers.privacy``'s (its docstring records the decisions: nine-digit runs
inside longer numbers, decimals, all-digit CUSIPs, file names); the end-to-end tests run the
command line on the bundled example edited to carry taxpayer ids and a hostile lot id, then read
every output file — every XML part of every workbook, the CSVs, the manifest — and stderr.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import shutil
import timeit
import unicodedata
import zipfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

import cpdi
from cpdi import api
from cpdi.cli import main
from cpdi.model import Holder
from cpdi.problems import CpdiError, InputError, LotError, Problem
from cpdi.writers import privacy, workpapers
from cpdi.writers.privacy import (
    csv_safe, looks_like_tin, mask_tin, message_safe, scrub_problem_value, scrub_text, xlsx_safe_text,
)
from cpdi.writers.results import write_results_csv
from cpdi.writers.schedule import write_schedule
from cpdi.writers.workpapers import (
    holder_file_name, summary_rows, write_exceptions_csv, write_holder_workbook, write_summary_workbook,
)

PREPARED = date(2026, 2, 15)
HYPERLINK = '=HYPERLINK("http://x","y")'
LEAKS = ("123-45-6789", "123456789", "987654321")


# -- scrub_text ------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    # masked: SSN/ITIN, EIN, nine digits, wherever they are
    ("123-45-6789", "*****6789"),
    ("123 45 6789", "*****6789"),
    ("12-3456789", "*****6789"),
    ("123456789", "*****6789"),
    ("holder 123-45-6789 is odd", "holder *****6789 is odd"),
    ("Alvarez 12-3456789 Trust", "Alvarez *****6789 Trust"),
    ("H123456789", "H*****6789"),  # letters are not digits: an id built on a TIN
    ("A-123-45-6789-B", "A-*****6789-B"),  # hyphens do not protect a dashed shape
    ("12-3456789-01", "*****6789-01"),
    ("SSN 123456789.", "SSN *****6789."),  # end of a sentence
    ("123456789.0", "*****6789.0"),  # a TIN read from a numeric spreadsheet cell
    ("123456789.000000", "*****6789.000000"),  # so a nine-digit integer part is masked too
    ("a 123456789 and 987654321", "a *****6789 and *****4321"),
    ("459200101", "*****0101"),  # an all-digit CUSIP cannot be told from a TIN: masked
    ("１２３４５６７８９", "*****６７８９"),  # full-width digits are digits
    # untouched: longer digit runs, fractions, money, dates, CUSIPs and ISINs with letters
    ("1234567890", "1234567890"),
    ("123456789012", "123456789012"),
    ("lot 123456789012 of 2025", "lot 123456789012 of 2025"),
    ("0.123456789", "0.123456789"),
    ("rate 5.123456789%", "rate 5.123456789%"),
    ("1000.000000", "1000.000000"),
    ("-125.000000", "-125.000000"),
    ("48,900.00", "48,900.00"),
    ("123,456,789.00", "123,456,789.00"),
    ("2025-09-15", "2025-09-15"),
    ("20250915", "20250915"),
    ("2025-09-15 to 2026-01-20", "2025-09-15 to 2026-01-20"),
    ("02687QCD8", "02687QCD8"),
    ("US4592001014", "US4592001014"),
    ("US00EQLN2029", "US00EQLN2029"),
    ("H-1001", "H-1001"),
    ("12345678", "12345678"),
    ("123-456-7890", "123-456-7890"),  # a phone number shape: ten digits
    ("*****6789", "*****6789"),  # idempotent
    ("", ""),
])
def test_scrub_text(text, expected):
    assert scrub_text(text) == expected
    assert scrub_text(expected) == expected  # idempotent
    assert looks_like_tin(text) == (text != expected)


def test_scrub_text_none_and_non_strings():
    assert scrub_text(None) == ""
    assert scrub_text(123456789) == "*****6789"
    assert scrub_text(1000.5) == "1000.5"


def test_scrub_text_masks_the_holders_own_tin_in_any_spelling():
    tin = "123-45-6789"
    for spelling in ("123-45-6789", "123456789", "123 45 6789", "1234-56789", "123.45.6789",
                     "1 2 3 4 5 6 7 8 9", "12345-6789"):
        scrubbed = scrub_text(f"ref {spelling} end", tin)
        assert scrubbed == "ref *****6789 end", spelling
    assert scrub_text("account 1123456789", tin) == "account 1123456789"  # a longer run is not it
    # an odd TIN as written (not TIN-shaped) is masked too
    assert scrub_text("id XX123456 here", "XX123456") == "id **3456 here"
    # a short TIN is not searched for (it would hit row numbers); four digits or fewer never
    assert scrub_text("row 1234", "1234") == "row 1234"


def test_mask_tin_is_the_one_in_workpapers():
    assert workpapers.mask_tin is mask_tin
    assert mask_tin("123-45-6789") == "*****6789"
    assert mask_tin("12-3456789") == "*****6789"
    assert mask_tin("") == "" and mask_tin("1234") == "****"
    assert workpapers._csv_safe is csv_safe
    assert workpapers._TIN_SHAPED is privacy._TIN_SHAPED
    assert workpapers._scrub("123-45-678", "tin") == "****5678"


def test_scrub_problem_value_masks_a_tin_column_whole():
    assert scrub_problem_value("123-45-678", "tin") == "****5678"  # malformed: no TIN shape
    assert scrub_problem_value("123-45-678", " TIN ") == "****5678"
    assert scrub_problem_value("x 123456789", "name") == "x *****6789"
    assert scrub_problem_value(None, "tin") == ""


def test_scrub_text_is_fast_on_text_without_nine_digits():
    """The batch scrubs every text cell of thousands of workbooks: typical labels (few digits)
    must cost a few microseconds.  The best of five runs, with a tenfold margin for slow or
    busy machines."""
    texts = ["Interest income (b)(6)(ii)(A)", "Lot L-0001 — 02687QCD8", "2025-09-15", "-125.000000",
             "Alvarez Family Trust", "see 'Lot L-0001'!G40, 'Lot L-0002'!G40"] * 2_000

    def run():
        for text in texts:
            scrub_text(text, "12-3456789")

    best = min(timeit.repeat(run, number=1, repeat=5))
    assert best / len(texts) < 30e-6, f"{best / len(texts) * 1e6:.1f} µs a string"


# -- csv_safe --------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, expected", [
    (HYPERLINK, "'" + HYPERLINK),
    ("@SUM(1)", "'@SUM(1)"),
    ("+1+2", "'+1+2"),
    ("-1+2", "'-1+2"),
    ("=1+1", "'=1+1"),
    ("\t=1+1", "'\t=1+1"),
    ("\rx", "'\nx"),  # a bare CR would end the row in our LF-terminated files
    ("\nx", "'\nx"),
    ("a\rb", "a\nb"),
    ("a\r\n=1+1", "a\n=1+1"),  # one quoted cell: a spreadsheet runs no formula inside it
    ("-", "'-"),
    ("\x00=1+1", "'=1+1"),  # NUL dropped first, then the formula neutralised
    ("a\x00b", "ab"),
    ("a\x01b\x1bc\x7f", "abc"),
    ("line 1\nline 2", "line 1\nline 2"),  # the csv module quotes a line feed
    ("tab\tinside", "tab\tinside"),
    ("-125.000000", "-125.000000"),  # plain numbers stay numbers
    ("+12.5", "+12.5"),
    ("-1,000.50", "-1,000.50"),
    ("1e5", "1e5"),
    ("L-0001", "L-0001"),
    ("O'Neil, Patricia", "O'Neil, Patricia"),
    ("123-45-6789", "*****6789"),  # scrubbed too
    ("-123456789", "'-*****6789"),  # scrubbed, then no longer a plain number
    (None, ""),
    ("", ""),
])
def test_csv_safe(value, expected):
    assert csv_safe(value) == expected


def test_csv_safe_cells_round_trip_through_the_csv_module():
    values = [HYPERLINK, "a,b", 'say "hi"', "line 1\nline 2", "\rx", "x\r=1+1", "-125.000000"]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([csv_safe(v) for v in values])
    rows = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert rows == [[csv_safe(v) for v in values]]  # one row: no CR ends it early
    assert not any(cell.startswith(("=", "+", "@", "\t", "\r", "\n")) for cell in rows[0])


def test_xlsx_and_message_safe_text():
    assert xlsx_safe_text("a\x00b 123-45-6789") == "ab *****6789"
    assert xlsx_safe_text("=1+1\x01") == "=1+1\x01"  # XlsxWriter escapes it; write_string keeps it text
    assert xlsx_safe_text(None) == ""
    assert message_safe("a\nb\x1b[31m 123456789\tc") == "a\\x0ab\\x1b[31m *****6789\tc"


# -- messages --------------------------------------------------------------------------------------
def test_problem_str_masks_taxpayer_ids_and_escapes_controls():
    p = Problem("holders.csv", 2, "tin", "is not a valid TIN", "write 9 digits", "123-45-678", "123-45-6789")
    assert str(p) == "holders.csv row 2, column tin: '****5678': is not a valid TIN; write 9 digits"
    p = Problem("lots.csv", 3, "lot_id", "lot 123456789 appears twice\nforged: line", "see 987-65-4321",
                "123456789", "H-1")
    text = str(p)
    assert "123456789" not in text and "987-65-4321" not in text and "\n" not in text
    assert "*****6789" in text and "*****4321" in text and "\\x0a" in text


def test_errors_print_no_full_taxpayer_id():
    p = Problem("lots.csv", 3, None, "holder 123-45-6789 is unknown")
    for error in (InputError([p, p]), LotError(p), CpdiError("lot 123456789 failed"),
                  workpapers.WorkpaperError("workpaper for lot 12-3456789 does not tie out")):
        assert not any(leak in str(error) for leak in (*LEAKS, "12-3456789")), str(error)
    assert str(InputError([p, p])).count("\n") == 1  # one line per problem


# -- file names ------------------------------------------------------------------------------------
def test_holder_file_names_never_carry_a_full_tin():
    ids = ["123-45-6789", "123456789", "12-3456789", "999-99-6789", "H123456789", "123-45-6789 x"]
    names = [holder_file_name(hid, 2025) for hid in ids]
    assert len(set(n.casefold() for n in names)) == len(names)  # same last four: still distinct
    for name in names:
        assert not re.search(r"\d{5}", name.split("--")[0]), name  # the stem shows four digits
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name) and len(name) <= 100, name
        assert re.search(r"--[0-9a-f]{12}_2025\.xlsx$", name), name
    assert names[0].startswith("_____6789--")
    assert holder_file_name("123-45-6789", 2025) == names[0]  # stable
    assert holder_file_name("H-1001", 2025) == "H-1001_2025.xlsx"  # ordinary ids unchanged
    assert holder_file_name("1234567890", 2025) == "1234567890_2025.xlsx"  # not a TIN


# -- writers ---------------------------------------------------------------------------------------
def xlsx_parts(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def assert_no_leak(text: str, where: str, leaks=LEAKS) -> None:
    for leak in leaks:
        assert leak not in text, f"{leak} in {where}"
    assert "\x00" not in text and "_x0000_" not in text, f"NUL in {where}"


def test_results_csv_neutralises_formulas_and_controls(tmp_path):
    example = api.load(cpdi.example_path())
    rows = api.compute(example, 2025).rows[:8]
    hostile = [HYPERLINK, "@SUM(1)", "+1+2", "-1+2", "\tL-1", "\rL-2", "L\x00-3", "-125.000000"]
    rows = [dataclasses.replace(r, lot_id=lot_id, holder_id=holder_id)
            for r, lot_id, holder_id in zip(rows, hostile, ["123-45-6789", "123456789"] + ["H-1"] * 6)]
    target = tmp_path / "results.csv"
    assert write_results_csv(rows, target) == len(rows)
    raw = target.read_bytes().decode("utf-8")
    assert_no_leak(raw, "results.csv")
    read = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert [r["lot_id"] for r in read] == [
        "'" + HYPERLINK, "'@SUM(1)", "'+1+2", "'-1+2", "'\tL-1", "'\nL-2", "L-3", "-125.000000"]
    assert [r["holder_id"] for r in read[:2]] == ["*****6789", "*****6789"]
    for r, row in zip(read, rows):  # numbers are written as before: no apostrophe on a negative
        assert r["interest_income"] == f"{row.interest_income:.6f}".replace("-0.000000", "0.000000")
        assert not r["gain_loss"].startswith("'")


def test_schedule_outputs_are_safe(tmp_path):
    periods = pd.DataFrame({"period": [1, 2], "payment_type": ["=1+1", "fixed\x00"],
                            "interest": [-12.5, 3.25]})
    years = pd.DataFrame({"calendar_year": [2025], "interest_per_unit": [-1.5]})
    written = write_schedule(periods, years, tmp_path / "s.csv", "unused")
    rows = list(csv.reader((tmp_path / "s.csv").open(encoding="utf-8", newline="")))
    assert rows[1] == ["1", "'=1+1", "-12.5"] and rows[2] == ["2", "fixed", "3.25"]
    assert len(written) == 2
    title = "<r><t>x</t></r>"
    write_schedule(periods, years, tmp_path / "s.xlsx", title)
    parts = xlsx_parts(tmp_path / "s.xlsx")
    text = b" ".join(parts.values()).decode("utf-8")
    assert "<f>" not in text and "<t>x</t></r>" not in text  # the title stayed text
    write_schedule(periods, years, tmp_path / "t.xlsx", "NOTE 123-45-6789 \x00")
    assert_no_leak(b" ".join(xlsx_parts(tmp_path / "t.xlsx").values()).decode("utf-8"), "t.xlsx")


def hostile_ledgers():
    """The example's H-1001 with a NUL and taxpayer ids in its lot ids."""
    example = api.load(cpdi.example_path())
    lot_ids = {"L-0001": "L\x00-0001 123456789", "L-0002": "123-45-6789"}
    lots = tuple(dataclasses.replace(lot, lot_id=lot_ids.get(lot.lot_id, lot.lot_id)) for lot in example.lots)
    portfolio = dataclasses.replace(example, lots=lots)
    result = api.compute(portfolio, 2025)
    return [l for l in result.ledgers if l.lot.holder_id == "H-1001"], result


def test_holder_workbook_writes_no_nul_and_no_full_tin(tmp_path):
    ledgers, result = hostile_ledgers()
    holder = Holder("H-1001", "Alvarez\x00 Trust 123-45-6789", "98-7654321",
                    (("ref 987654321", "own 9876-54321"), ("note", "a\x00b")))
    problems = [Problem("lots.csv", 2, "principal_amount", "lot 123456789 is odd", "", "987654321x", "H-1001")]
    path = write_holder_workbook(tmp_path / "h.xlsx", holder, "H-1001", 2025, ledgers, result.books, None,
                                 PREPARED, problems)
    parts = xlsx_parts(path)
    for name, data in parts.items():
        assert_no_leak(data.decode("utf-8", "replace"), name, (*LEAKS, "98-7654321", "9876-54321"))
    workbook = parts["xl/workbook.xml"].decode("utf-8")
    assert "_____6789" in workbook  # the lot sheets' names are masked


def test_workbook_names_headers_and_properties_are_masked(tmp_path):
    ledgers, result = hostile_ledgers()
    ledgers = [dataclasses.replace(l, lot=dataclasses.replace(l.lot, holder_id="123456789")) for l in ledgers]
    ledgers = [dataclasses.replace(l, years=[dataclasses.replace(y, holder_id="123456789") for y in l.years])
               for l in ledgers]
    path = write_holder_workbook(tmp_path / holder_file_name("123456789", 2025), None, "123456789", 2025,
                                 ledgers, result.books, None, PREPARED)
    parts = xlsx_parts(path)
    for name, data in parts.items():
        assert_no_leak(data.decode("utf-8", "replace"), name)
    assert "*****6789" in parts["docProps/core.xml"].decode("utf-8")  # the title names the holder
    assert "123456789" not in path.name


def test_summary_rows_and_workbook_are_masked(tmp_path):
    ledgers, result = hostile_ledgers()
    holders = {"H-1001": Holder("H-1001", "Alvarez 123 45 6789 / 9876-54321", "98-7654321")}
    rows = summary_rows({"H-1001": ledgers}, holders, 2025)
    assert_no_leak(json.dumps(rows), "summary rows", (*LEAKS, "9876-54321"))
    rows.append({**rows[0], "holder_id": "123-45-6789", "name": "x 987654321"})  # rows from elsewhere
    path = write_summary_workbook(tmp_path / "summary.xlsx", 2025, rows, None, PREPARED, 2, 0)
    for name, data in xlsx_parts(path).items():
        assert_no_leak(data.decode("utf-8", "replace"), name)


def test_exceptions_csv_masks_every_column(tmp_path):
    problems = [
        Problem("holders.csv", 2, "tin", "is not valid", "", "123-45-678", "123-45-6789"),
        Problem("lots.csv", 3, "cost_basis", "lot 123456789 bad", "not 987654321", "=1+1", "H-1", HYPERLINK),
        Problem("lots.csv\x00", 4, None, "a\x00b", "", None, "123456789", "@x", "12-3456789"),
    ]
    path = write_exceptions_csv(tmp_path / "exceptions.csv", problems)
    raw = path.read_bytes().decode("utf-8")
    assert_no_leak(raw, "exceptions.csv", (*LEAKS, "12-3456789", "45-678"))
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert rows[0]["value"] == "****5678" and rows[0]["holder_id"] == "*****6789"
    assert rows[1]["value"] == "'=1+1" and rows[1]["lot_id"] == "'" + HYPERLINK
    assert rows[2]["holder_id"] == "*****6789" and rows[2]["lot_id"] == "'@x"
    assert rows[2]["instrument_id"] == "*****6789" and rows[2]["message"] == "ab"


# -- end to end: the command line --------------------------------------------------------------------
def edit_csv(path: Path, edit) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    rows = edit(rows)
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)


@pytest.fixture
def hostile_folder(tmp_path) -> Path:
    """The example with a holder named with an SSN, an extra holders column holding an
    undashed id, a holder whose id is an SSN, a formula and an undashed id as lot ids, and a
    bad lot row whose problem message names an undashed id."""
    folder = tmp_path / "portfolio"
    shutil.copytree(cpdi.example_path(), folder)

    def holders(rows):
        rows[0].append("reference")
        for row in rows[1:]:
            row.append("987654321" if row[0] == "H-1001" else "")
            if row[0] == "H-1001":
                row[1] = "Alvarez Family Trust 123-45-6789"
            if row[0] == "H-1003":
                row[0], row[2] = "123-45-6789", "123-45-6789"
        return rows

    def lots(rows):
        for row in rows[1:]:
            if row[1] == "L-0001":
                row[1] = HYPERLINK
            if row[0] == "H-1003":
                row[0] = "123-45-6789"
            if row[1] == "L-0006":
                row[1] = "123456789"
        bad = list(rows[1])
        bad[0], bad[1], bad[3] = "H-1004", "987654321", "987654321 dollars"
        rows.append(bad)
        return rows

    edit_csv(folder / "holders.csv", holders)
    edit_csv(folder / "lots.csv", lots)
    return folder


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_command_line_outputs_carry_no_full_taxpayer_id(hostile_folder, tmp_path, capsys):
    results = tmp_path / "results.csv"
    code, out, err = run_cli(capsys, "compute", hostile_folder, "--through-year", 2025, "--out", results,
                             "--quiet")
    assert code == 1 and results.exists()  # the bad lot row is a problem; the rest is computed
    assert "*****4321" in err  # the problem is reported, masked
    assert_no_leak(out + err, "compute's stdout and stderr")
    raw = results.read_bytes().decode("utf-8")
    assert_no_leak(raw, "results.csv")
    ledger = list(csv.DictReader(io.StringIO(raw, newline="")))
    hostile = [r for r in ledger if "HYPERLINK" in r["lot_id"]]
    assert hostile and all(r["lot_id"] == "'" + HYPERLINK for r in hostile)
    assert {r["holder_id"] for r in ledger if r["lot_id"] == "*****6789"} == {"*****6789"}

    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "workpapers", hostile_folder, "--year", 2025, "--out", out_dir,
                             "--prepared", "2026-02-15", "--workers", 1, "--quiet")
    assert code == 1  # H-1004 failed on its bad lot row
    assert_no_leak(out + err, "workpapers' stdout and stderr")
    files = sorted(p for p in out_dir.iterdir() if p.name != ".cpdi-manifest.json")
    workbooks = [p for p in files if p.suffix == ".xlsx" and not p.name.startswith("summary")]
    assert len(workbooks) == 3, files  # H-1001, H-1002, and the holder whose id is an SSN
    assert any(p.name.startswith("_____6789--") for p in workbooks)
    for path in files:
        assert_no_leak(path.name, "a file name")
        if path.suffix == ".xlsx":
            for name, data in xlsx_parts(path).items():
                assert_no_leak(data.decode("utf-8", "replace"), f"{path.name}:{name}")
        else:
            assert_no_leak(path.read_bytes().decode("utf-8"), path.name)
    cover = xlsx_parts(next(p for p in workbooks if p.name.startswith("H-1001")))
    strings = cover["xl/sharedStrings.xml"].decode("utf-8")
    assert "Alvarez Family Trust *****6789" in strings and "*****4321" in strings
    exceptions = list(csv.DictReader((out_dir / "exceptions_2025.csv").open(encoding="utf-8", newline="")))
    assert exceptions and all(not cell.startswith(("=", "+", "@")) for r in exceptions for cell in r.values())


def test_manifest_carries_no_full_taxpayer_id(hostile_folder, tmp_path, capsys):
    """The manifest is the batch's (cpdi/batch/manifest.py): its summary rows come from ``summary_rows``,
    already scrubbed; its keys and file names must not carry a full id either."""
    out_dir = tmp_path / "out"
    run_cli(capsys, "workpapers", hostile_folder, "--year", 2025, "--out", out_dir, "--prepared",
            "2026-02-15", "--workers", 1, "--quiet")
    assert_no_leak((out_dir / ".cpdi-manifest.json").read_text(encoding="utf-8"), ".cpdi-manifest.json")


# -- Unicode spellings, and the holder's own TIN in every output ----------------------------------------
# The tester's spellings: any Unicode dash, whitespace, zero-width character or decimal digit.
EN, MINUS, NBSP, ZW, THIN = "\u2013", "\u2212", "\u00a0", "\u200b", "\u2009"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(c) - ord("0") + 0xFF10) if c.isdigit() else c for c in text)


def _ascii_digits(text: str) -> str:
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


def tin_leak(text: str, *tins: str) -> str | None:
    """The first spelling of any of ``tins`` in ``text`` — its digits, in any Unicode digits, in
    order with at most three non-word characters (or underscores) between them, no digit on either
    side — or None.  Written independently of ``cpdi.writers.privacy``."""
    view = _ascii_digits(text)
    for tin in tins:
        digits = re.sub(r"\D", "", _ascii_digits(tin))
        found = re.search(r"(?<!\d)" + r"[\W_]{0,3}".join(digits) + r"(?!\d)", view)
        if found:
            return text[max(found.start() - 20, 0):found.end() + 20]
    return None


def assert_no_tin(text: str, where: str, *tins: str) -> None:
    leak = tin_leak(text, *tins)
    assert leak is None, f"{leak!r} in {where}"


@pytest.mark.parametrize("text, expected", [
    (f"222{EN}33{EN}4444", "*****4444"),  # en dash
    (f"222{MINUS}33{MINUS}4444", "*****4444"),  # minus sign
    ("222\u201033\u20114444", "*****4444"),  # hyphen, non-breaking hyphen
    ("222\uff0d33\ufe634444", "*****4444"),  # full-width and small hyphen-minus
    (f"12{EN}3456789", "*****6789"),  # an EIN with an en dash
    (f"WP 888{EN}99{EN}0000-2025", "WP *****0000-2025"),  # the workpaper reference
    (f"123{NBSP}45{NBSP}6789", "*****6789"),  # non-breaking spaces
    (f"123{THIN}45\u30006789", "*****6789"),  # thin and ideographic spaces
    (f"123{ZW}456789", "*****6789"),  # a zero-width space inside the digits
    (f"123-45{ZW}-6789", "*****6789"),
    ("12\u20603456\ufeff789", "*****6789"),  # word joiner, BOM
    (fullwidth("123-45-6789"), "*****" + fullwidth("6789")),
    ("\uff11\uff12\uff13\uff0d\uff14\uff15\uff0d\uff16\uff17\uff18\uff19", "*****\uff16\uff17\uff18\uff19"),
    ("\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669", "*****\u0666\u0667\u0668\u0669"),  # Arabic-Indic
    # still untouched: longer runs (a zero-width character does not split one), dates, money
    (f"1{ZW}234567890", f"1{ZW}234567890"),
    (f"123456789{ZW}0", f"123456789{ZW}0"),
    (f"2025{EN}09{EN}15", f"2025{EN}09{EN}15"),
    (f"0.123{ZW}456789", f"0.123{ZW}456789"),
    (fullwidth("1234567890"), fullwidth("1234567890")),
])
def test_scrub_text_recognises_unicode_spellings(text, expected):
    assert scrub_text(text) == expected
    assert scrub_text(expected) == expected
    assert looks_like_tin(text) == (text != expected)


@pytest.mark.parametrize("tin, spelling", [
    ("111-22-3333", "111.22.3333"),
    ("111-22-3333", fullwidth("111.22.3333")),
    ("111-22-3333", "\uff11\uff11\uff11\uff0e\uff12\uff12\uff0e\uff13\uff13\uff13\uff13"),  # full-width dots too
    ("111-22-3333", f"111{NBSP}22{NBSP}3333"),
    ("111-22-3333", f"111{EN}22{EN}3333"),
    ("111-22-3333", f"111{MINUS}22{MINUS}3333"),
    ("111-22-3333", f"1112{ZW}23333"),
    ("111-22-3333", f"111 {EN} 22 {EN} 3333"),
    ("111-22-3333", "111/22/3333"),
    ("111-22-3333", "111_22_3333"),
    ("12-3456789", "12 3456789"),
    ("12-3456789", "123 456 789"),
    ("12-3456789", f"12{NBSP}3456789"),
    ("123-45-6789", "123 456 789"),
    (fullwidth("111-22-3333"), "111.22.3333"),  # a TIN written in full-width digits
    (f"111{EN}22{EN}3333", "111.22.3333"),
])
def test_scrub_text_masks_the_holders_own_tin_in_unicode_spellings(tin, spelling):
    scrubbed = scrub_text(f"L-{spelling} end", tin)
    assert tin_leak(scrubbed, tin) is None, scrubbed
    assert scrubbed.startswith("L-*****") and scrubbed.endswith(" end"), scrubbed
    assert scrub_text(scrubbed, tin) == scrubbed  # idempotent
    assert scrub_text("account 11122233334", tin) == "account 11122233334"  # a longer run is not it


def test_scrub_text_masks_every_holders_tin_when_given_them_all():
    tins = privacy.tin_index({"H-1": "111-22-3333", "H-2": "444-55-6666", "H-3": "XY98765", "H-4": ""})
    assert tins["H-1"] == "111-22-3333" and tins.tin("nobody") == "" and len(tins) == 4
    text = "X-444.55.6666 and 111/22/3333 and id XY98765 and 999.88.7777"
    assert scrub_text(text, tins=tins) == "X-*****6666 and *****3333 and id *8765 and 999.88.7777"
    assert scrub_text(text, tins={"444-55-6666"}) == "X-*****6666 and 111/22/3333 and id XY98765 and 999.88.7777"
    assert privacy.tin_index(tins) is tins and len(privacy.tin_index(None)) == 0
    # many holders cost no more than one: the ids are looked up, not searched for one by one
    many = privacy.tin_index({f"H-{i}": f"{100 + i % 800:03d}-{i % 97:02d}-{i:04d}" for i in range(5000)})
    texts = ["Interest income (b)(6)(ii)(A)", "Lot L-0001 — 02687QCD8", "X-444.55.6666 2025-09-15",
             "123,456,789.00 on 2025-09-15"] * 500

    def run():
        for text in texts:
            scrub_text(text, "12-3456789", tins=many)

    best = min(timeit.repeat(run, number=1, repeat=5))
    assert best / len(texts) < 60e-6, f"{best / len(texts) * 1e6:.1f} µs a string"


def test_csv_xlsx_and_message_safe_take_the_holders_tin_and_every_tin():
    tins = privacy.tin_index({"H-1": "111-22-3333", "H-2": "444-55-6666"})
    assert csv_safe("-111.22.3333", "111-22-3333") == "'-*****3333"
    assert csv_safe("-444.55.6666", tins=tins) == "'-*****6666"
    assert xlsx_safe_text(f"a\x00 {fullwidth('111.22.3333')}", "111-22-3333") == "a *****" + fullwidth("3333")
    assert message_safe("x 444.55.6666\n", tins=tins) == "x *****6666\\x0a"
    assert scrub_problem_value("777.88.9999", "cost_basis", "777-88-9999") == "*****9999"
    assert scrub_problem_value("444.55.6666", "cost_basis", tins=tins) == "*****6666"


def test_holder_file_names_mask_the_holders_own_tin_and_unicode_spellings():
    name = holder_file_name("777.88.9999", 2025, tin="777-88-9999")
    assert tin_leak(name, "777-88-9999") is None and name.startswith("_____9999--"), name
    assert holder_file_name("777.88.9999", 2025, tin="777-88-9999") == name  # stable
    assert holder_file_name("777.88.9999", 2025, distinguish=True, tin="777-88-9999") == name
    assert holder_file_name("777.88.9998", 2025, tin="777-88-9999") == "777.88.9998_2025.xlsx"  # not theirs
    spellings = [f"888{EN}99{EN}0000", f"888{MINUS}99{MINUS}0000", fullwidth("888-99-0000"),
                 f"888{NBSP}99{NBSP}0000", f"888{ZW}990000", f"888990000{ZW}"]
    names = [holder_file_name(hid, 2025) for hid in spellings]
    assert len(set(names)) == len(names), names  # the hash of each id keeps them apart
    for hid, name in zip(spellings, names):
        assert tin_leak(name, "888-99-0000") is None, name
        assert re.fullmatch(r"[A-Za-z0-9._-]+", name) and len(name) <= 100, name
        assert re.search(r"--[0-9a-f]{12}_2025\.xlsx$", name), name
    # the holder's own TIN in a spelling no generic shape covers; a long id cut to a TIN-shaped end
    assert tin_leak(holder_file_name("H 123.45.6789 x", 2025, tin="123456789"), "123456789") is None
    long_id = "x" * 67 + "1" * 9 + "0" * 21  # cut after its ninth digit
    assert not re.search(r"(?<!\d)\d{9}(?!\d)", holder_file_name(long_id, 2025)), holder_file_name(long_id, 2025)
    assert holder_file_name("H-1001", 2025, tin="12-3456789") == "H-1001_2025.xlsx"


def unicode_portfolio():
    """Every 2025 lot of the example given to one holder whose id is an en-dashed TIN and whose
    own TIN appears in the lot ids in many spellings."""
    example = api.load(cpdi.example_path())
    holder_id = f"888{EN}99{EN}0000"
    lot_ids = {
        "L-0001": "L-111.22.3333", "L-0002": "L-" + fullwidth("111.22.3333"),
        "L-0003": f"L-111{NBSP}22{NBSP}3333", "L-0004": f"L 222{EN}33{EN}4444",
        "L-0005": f"L 123{ZW}456789", "L-0006": f"L-111{MINUS}22{MINUS}3333", "L-0008": "L-111/22/3333",
    }
    lots = tuple(dataclasses.replace(lot, holder_id=holder_id, lot_id=lot_ids[lot.lot_id])
                 for lot in example.lots if lot.lot_id in lot_ids)
    holder = Holder(holder_id, f"Trust {fullwidth('111.22.3333')}", "111-22-3333",
                    (("ref", f"own 111{NBSP}22{NBSP}3333"),))
    return dataclasses.replace(example, lots=lots, holders={holder_id: holder}), holder


UNICODE_LEAKS = ("111-22-3333", "222-33-4444", "123-45-6789", "888-99-0000")


def test_holder_workbook_masks_unicode_spellings_and_its_sheet_references(tmp_path):
    import openpyxl

    portfolio, holder = unicode_portfolio()
    result = api.compute(portfolio, 2025)
    assert len(result.ledgers) == 7, result.problems
    path = write_holder_workbook(tmp_path / holder_file_name(holder.holder_id, 2025, tin=holder.tin), holder,
                                 holder.holder_id, 2025, result.ledgers, result.books, None, PREPARED)
    assert tin_leak(path.name, *UNICODE_LEAKS) is None
    for name, data in xlsx_parts(path).items():
        assert_no_tin(data.decode("utf-8", "replace"), f"{path.name}:{name}", *UNICODE_LEAKS)
    book = openpyxl.load_workbook(path)
    names = book.sheetnames
    assert len({n.lower() for n in names}) == len(names) == 3 + 3 + 7, names  # cover, lots, form 8949, instruments, lots
    assert sum(n.startswith("Lot L-_____") for n in names) == 5, names  # masked, then kept apart (~2, ~3 …)
    for n in names:
        assert 0 < len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n), n
    referenced = set()
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    referenced |= {m.replace("''", "'") for m in re.findall(r"'((?:[^']|'')+)'!", str(cell.value))}
                if cell.hyperlink is not None and cell.hyperlink.location:
                    referenced |= set(re.findall(r"'((?:[^']|'')+)'!", cell.hyperlink.location))
    for defined in re.findall(r"<definedName[^>]*>([^<]*)<", xlsx_parts(path)["xl/workbook.xml"].decode("utf-8")):
        referenced |= set(re.findall(r"'((?:[^']|'')+)'!", defined.replace("&apos;", "'")))
    lot_sheets = {n for n in names if n.startswith("Lot ")}
    assert lot_sheets <= referenced, lot_sheets - referenced  # the Lots sheet links and sums every one
    assert referenced <= set(names), referenced - set(names)  # and every reference names a real sheet


def test_summary_masks_unicode_spellings(tmp_path):
    portfolio, holder = unicode_portfolio()
    result = api.compute(portfolio, 2025)
    rows = summary_rows({holder.holder_id: result.ledgers}, portfolio.holders, 2025)
    assert_no_tin(json.dumps(rows, ensure_ascii=False), "summary rows", *UNICODE_LEAKS)
    rows.append({**rows[0], "holder_id": f"222{EN}33{EN}4444", "name": f"x 123{ZW}456789"})
    path = write_summary_workbook(tmp_path / "summary.xlsx", 2025, rows, None, PREPARED, 2, 0)
    for name, data in xlsx_parts(path).items():
        assert_no_tin(data.decode("utf-8", "replace"), name, "222-33-4444", "123-45-6789", "888-99-0000")


def test_results_csv_masks_each_rows_holders_tin(tmp_path):
    example = api.load(cpdi.example_path())
    rows = api.compute(example, 2025).rows[:6]
    lot_ids = ["L-111.22.3333", "12 3456789", "123 456 789", f"L-111{NBSP}22{NBSP}3333", "L-" + fullwidth("111.22.3333"),
               "L-444.55.6666"]
    holders = ["H-A", "H-B", "H-C", "H-A", "H-A", "H-A"]
    rows = [dataclasses.replace(r, lot_id=lot_id, holder_id=holder_id, instrument_id=f"I {lot_id}")
            for r, lot_id, holder_id in zip(rows, lot_ids, holders)]
    tins = {"H-A": "111-22-3333", "H-B": "12-3456789", "H-C": "123-45-6789", "H-D": "444-55-6666"}
    lookup = tins.get  # a function: the row's own holder's TIN only
    for given in (tins, lookup, privacy.tin_index(tins)):
        target = tmp_path / "results.csv"
        assert write_results_csv(rows, target, tins=given) == len(rows)
        raw = target.read_text(encoding="utf-8")
        assert_no_tin(raw, f"results.csv ({type(given).__name__})", "111-22-3333", "12-3456789", "123-45-6789")
        read = list(csv.DictReader(io.StringIO(raw, newline="")))
        assert [r["holder_id"] for r in read] == holders
        assert read[0]["lot_id"] == "L-*****3333" and read[1]["lot_id"] == "*****6789"
        assert read[5]["lot_id"] == ("L-444.55.6666" if given is lookup else "L-*****6666"), read[5]
    write_results_csv(rows, target)  # without the holders' TINs: the generic shapes only
    assert "L-111.22.3333" in target.read_text(encoding="utf-8")


def test_problems_are_masked_with_their_holders_tin_and_every_tin(tmp_path):
    from cpdi.problems import problem_text

    tins = {"H-1": "111-22-3333", "H-2": "777-88-9999", "H-3": "444-55-6666"}
    problems = [
        Problem("lots.csv", 2, "lot_id", "lot L-111.22.3333 appears twice", "rename L-111.22.3333",
                "L-111.22.3333", "H-1", "L-111.22.3333"),
        Problem("lots.csv", 3, "cost_basis", "is not a number", "", "777.88.9999", "H-2", "L-1"),
        Problem("instruments.csv", 4, "instrument_id", "instrument X-444.55.6666 is listed twice", "",
                "X-444.55.6666", None, None, "X-444.55.6666"),
        Problem("lots.csv", 5, None, f"holder 222{EN}33{EN}4444 is unknown", "", f"222{NBSP}33{NBSP}4444"),
    ]
    leaks = ("111-22-3333", "777-88-9999", "444-55-6666", "222-33-4444")
    for index in (tins, privacy.tin_index(tins)):
        text = "\n".join(problem_text(p, index) for p in problems)
        assert_no_tin(text, "problem_text", *leaks)
        assert text.count("\n") == len(problems) - 1
    assert problem_text(problems[1], tins) == "lots.csv row 3, column cost_basis: '*****9999': is not a number"
    assert problem_text(problems[3]) == str(problems[3])  # without TINs: the generic shapes
    assert_no_tin(str(problems[3]), "Problem.__str__", "222-33-4444")
    path = write_exceptions_csv(tmp_path / "exceptions.csv", problems, tins=tins)
    raw = path.read_text(encoding="utf-8")
    assert_no_tin(raw, "exceptions.csv", *leaks)
    rows = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert rows[0]["lot_id"] == "L-*****3333" and rows[1]["value"] == "*****9999"
    assert rows[2]["instrument_id"] == "X-*****6666" and rows[0]["holder_id"] == "H-1"


def test_sheet_names_are_masked_after_cutting_and_stay_unique():
    names = workpapers._SheetNames()
    long_run = "Lot " + "x" * 18 + "1234567890123"  # cut to 31 characters, it would end on nine digits
    made = [names.make(long_run), names.make(long_run), names.make("Lot " + "x" * 19 + "12345678901")]
    assert len({m.lower() for m in made}) == 3, made
    for name in made:
        assert len(name) <= 31 and not re.search(r"(?<!\d)\d{9}(?!\d)", name), made
    own = names.make(f"Lot L-111{EN}22{EN}3333 of 02687QCD8", lambda t: xlsx_safe_text(t, "111-22-3333"))
    again = names.make("Lot L-111.22.3333 of 02687QCD8", lambda t: xlsx_safe_text(t, "111-22-3333"))
    assert own == "Lot L-_____3333 of 02687QCD8" and again == "Lot L-_____3333 of 02687QCD8~2"


@pytest.fixture
def own_tin_folder(tmp_path) -> Path:
    """The example where holders' own TINs hide in ids and values in spellings no generic shape
    covers: a holder id that is its own TIN with dots, a holder id that is an en-dashed TIN, lot
    ids and an instrument id built on TINs, and a bad cost basis that is its holder's TIN."""
    folder = tmp_path / "portfolio"
    shutil.copytree(cpdi.example_path(), folder)
    for name in ("instruments.csv", "schedule.csv", "payments.csv", "lots.csv"):
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8").replace("US00RANGE2032", "X-444.55.6666"), encoding="utf-8")
    renamed = {"H-1002": "777.88.9999", "H-1003": f"888{EN}99{EN}0000"}
    tins = {"H-1001": "111-22-3333", "H-1002": "777-88-9999", "H-1003": "444-55-6666", "H-1004": "555-66-7777"}

    def holders(rows):
        for row in rows[1:]:
            row[0], row[2] = renamed.get(row[0], row[0]), tins[row[0]]
        return rows

    def lots(rows):
        for row in rows[1:]:
            row[0] = renamed.get(row[0], row[0])
            row[1] = {"L-0001": "L-111.22.3333", "L-0002": f"L-111{NBSP}22{NBSP}3333"}.get(row[1], row[1])
            if row[1] == "L-0008":
                row[5] = "555.66.7777"  # not a number: a problem whose value is its holder's TIN
        return rows

    edit_csv(folder / "holders.csv", holders)
    edit_csv(folder / "lots.csv", lots)
    return folder


OWN_TINS = ("111-22-3333", "777-88-9999", "444-55-6666", "555-66-7777", "888-99-0000")


def test_command_line_masks_the_holders_own_tins_everywhere(own_tin_folder, tmp_path, capsys):
    results = tmp_path / "results.csv"
    code, out, err = run_cli(capsys, "compute", own_tin_folder, "--through-year", 2025, "--out", results,
                             "--quiet")
    assert code == 1 and "*****7777" in err, err  # the bad cost basis is reported, masked
    assert_no_tin(out + err, "compute's stdout and stderr", *OWN_TINS)
    assert_no_tin(results.read_text(encoding="utf-8"), "results.csv", *OWN_TINS)

    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "workpapers", own_tin_folder, "--year", 2025, "--out", out_dir,
                             "--prepared", "2026-02-15", "--workers", 1, "--quiet")
    assert code == 1  # the holder with the bad cost basis failed
    assert_no_tin(out + err, "workpapers' stdout and stderr", *OWN_TINS)
    files = sorted(out_dir.iterdir())
    assert len([p for p in files if p.suffix == ".xlsx"]) == 4, files  # three holders and the summary
    for path in files:
        assert_no_tin(path.name, "a file name", *OWN_TINS)
        if path.suffix == ".xlsx":
            for name, data in xlsx_parts(path).items():
                assert_no_tin(data.decode("utf-8", "replace"), f"{path.name}:{name}", *OWN_TINS)
        else:  # the exceptions file, the manifest (its keys are the file names)
            assert_no_tin(path.read_text(encoding="utf-8"), path.name, *OWN_TINS)

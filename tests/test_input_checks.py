"""No silent success on a malformed input (docs/formats.md, "Input checks and plausibility").

Each case below is an input that once ended in "success" or a traceback: a misnamed or missing
table, a file in the wrong encoding or format, a sheet claiming billions of cells, an impossible
payment, a figure typed in the wrong unit, a command line that cannot be run.  Each must now be
a one-line problem naming file, row and column and saying what would fix it — or a usage error
(exit 2) — and never a traceback.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

import cpdi
from cpdi import api
from cpdi.cli import main
from cpdi.problems import InputError
from cpdi.readers import read_portfolio

EXAMPLE = cpdi.example_path()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def example_copy(tmp_path: Path, name: str = "input") -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    return folder


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def edit(folder: Path, table: str, match: dict[str, str], **changes: str) -> None:
    """Change the cells of every row of ``table`` whose cells equal ``match``."""
    path = folder / f"{table}.csv"
    rows = rows_of(path)
    hits = 0
    for row in rows:
        if all(row[k] == v for k, v in match.items()):
            row.update(changes)
            hits += 1
    assert hits, f"no row of {table} matches {match}"
    write_rows(path, rows)


def example_workbook(path: Path, rename: dict[str, str] | None = None, extra: dict | None = None) -> Path:
    """The example as one workbook, sheets optionally renamed or added."""
    book = openpyxl.Workbook()
    book.remove(book.active)
    for table in ("instruments", "schedule", "payments", "lots", "holders"):
        sheet = book.create_sheet((rename or {}).get(table, table))
        with (EXAMPLE / f"{table}.csv").open(newline="", encoding="utf-8") as handle:
            for record in csv.reader(handle):
                sheet.append(record)
    for name, records in (extra or {}).items():
        sheet = book.create_sheet(name)
        for record in records:
            sheet.append(record)
    book.save(path)
    return path


# -- misnamed and missing tables ------------------------------------------------------------------
def test_misnamed_lots_file_is_an_error_naming_what_was_found(tmp_path, capsys):
    folder = example_copy(tmp_path)
    (folder / "lots.csv").rename(folder / "lots_2025.csv")
    portfolio = read_portfolio(folder)
    [problem] = [p for p in portfolio.problems if p.file == "lots.csv"]
    assert "missing from the input folder" in problem.message
    assert "lots_2025.csv" in problem.message and "rename lots_2025.csv to lots.csv" in problem.fix
    for command in (["validate", folder], ["compute", folder, "--through-year", 2025,
                                           "--out", tmp_path / "r.csv"]):
        code, _, err = run(capsys, *command)
        assert code == 1 and "lots_2025.csv" in err


def test_misnamed_sheet_is_an_error_naming_the_sheets_found(tmp_path, capsys):
    book = example_workbook(tmp_path / "book.xlsx", rename={"lots": "Lots1"})
    portfolio = read_portfolio(book)
    [problem] = [p for p in portfolio.problems if p.file == "book.xlsx[lots]"]
    assert "no sheet named lots" in problem.message and "Lots1" in problem.message
    assert "rename Lots1 to a sheet named lots" in problem.fix
    code, _, err = run(capsys, "workpapers", book, "--year", 2025, "--out", tmp_path / "wp", "--quiet")
    assert code == 1 and "Lots1" in err


def test_instruction_sheet_is_not_taken_for_a_misnamed_table(tmp_path):
    book = example_workbook(tmp_path / "book.xlsx", extra={"Instructions": [["read me"]]})
    assert read_portfolio(book).problems == ()


def test_two_sheets_for_one_table_are_refused(tmp_path):
    """Excel refuses two sheet names that differ only in case, but other programs write them:
    the workbook is patched by hand here, as openpyxl would rename the second."""
    made = example_workbook(tmp_path / "made.xlsx", extra={"LOTSX": [["holder_id"]]})
    book = tmp_path / "book.xlsx"
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(book, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b'name="LOTSX"', b'name="LOTS"')
            target.writestr(item, data)
    portfolio = read_portfolio(book)
    [problem] = [p for p in portfolio.problems if "LOTS" in p.message]
    assert "are both the lots table" in problem.message and "'lots'" in problem.message
    assert portfolio.lots == ()


def test_no_lots_table_validates_schedules_but_compute_says_nothing_to_compute(tmp_path, capsys):
    folder = example_copy(tmp_path)
    (folder / "lots.csv").unlink()
    code, out, _ = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 0 and "no lots to check" in out
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1 and "no lots table" in err
    result = api.compute(read_portfolio(folder), 2025)
    assert any("no lots table" in p.message for p in result.problems)


# -- file formats ----------------------------------------------------------------------------------
def test_utf16_csv_is_read_like_utf8(tmp_path):
    folder = example_copy(tmp_path)
    rows = list(csv.reader((folder / "holders.csv").open(newline="", encoding="utf-8")))
    text = io.StringIO()
    csv.writer(text, delimiter="\t", lineterminator="\r\n").writerows(rows)  # Excel's "Unicode Text"
    (folder / "holders.csv").write_bytes(text.getvalue().encode("utf-16"))
    portfolio, reference = read_portfolio(folder), read_portfolio(EXAMPLE)
    assert portfolio.problems == ()
    assert portfolio.holders == reference.holders and portfolio.lots == reference.lots


def test_workbook_saved_as_csv_is_named_for_what_it_is(tmp_path):
    folder = example_copy(tmp_path)
    example_workbook(folder / "lots.csv")  # an .xlsx package under a .csv name
    [problem] = [p for p in read_portfolio(folder).problems if p.file == "lots.csv"]
    assert "Excel workbook saved under a .csv name" in problem.message


def test_binary_csv_is_refused(tmp_path):
    folder = example_copy(tmp_path)
    (folder / "lots.csv").write_bytes(b"holder_id\x00\x00\x00lot_id\x00\x00\x01\x02" * 10)
    [problem] = [p for p in read_portfolio(folder).problems if p.file == "lots.csv"]
    assert "binary data" in problem.message


def test_renamed_xls_is_named_for_what_it_is(tmp_path):
    path = tmp_path / "book.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)
    [problem] = read_portfolio(path).problems
    assert "Excel 97-2003" in problem.message and "Save As" in problem.fix


def test_a_single_csv_file_as_input_says_give_the_folder(tmp_path):
    with pytest.raises(InputError) as caught:
        read_portfolio(EXAMPLE / "lots.csv")
    assert "give the folder that holds lots.csv" in str(caught.value)


def test_unclosed_quote_swallowing_the_file_names_the_row(tmp_path):
    folder = example_copy(tmp_path)
    lines = (folder / "lots.csv").read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("L-0003", '"L-0003')  # a quote opened and never closed
    filler = ["x" * 1000] * 200  # 200,000 characters swallowed into one cell
    (folder / "lots.csv").write_text("\n".join(lines[:4] + filler + lines[4:]) + "\n")
    [problem] = [p for p in read_portfolio(folder).problems if p.file == "lots.csv"]
    assert problem.row == 4 and "131,072" in problem.message and "quote" in problem.fix


def test_text_longer_than_a_cell_holds_is_refused_not_cut(tmp_path):
    folder = example_copy(tmp_path)
    edit(folder, "holders", {"holder_id": "H-1003"}, name="N" * 40_000)
    portfolio = read_portfolio(folder)
    [problem] = [p for p in portfolio.problems if p.column == "name"]
    assert (problem.file, problem.row) == ("holders.csv", 4)
    assert "40,000 characters" in problem.message and "32,767" in problem.message
    assert len(str(problem)) < 400  # the message quotes the start of the cell, not all of it
    assert "H-1003" not in portfolio.holders


def sheet_with_cell_at(path: Path, ref: str) -> Path:
    book = openpyxl.Workbook()
    book.active.title = "instruments"
    book.active["A1"] = "instrument_id"
    book.active[ref] = "x"
    book.save(path)
    return path


@pytest.mark.parametrize("ref", ["XFD1048576", "ZZ200000"])
def test_sheet_claiming_billions_of_cells_is_refused_before_it_is_read(tmp_path, ref):
    """A 12 KB workbook with one cell at XFD1048576 once made the reader allocate 512 GB and
    abort; one at ZZ200000 took 70 s and 5.5 GB.  Run in a child process so a regression
    cannot take the test session down with it."""
    book = sheet_with_cell_at(tmp_path / "bomb.xlsx", ref)
    assert book.stat().st_size < 20_000
    run = subprocess.run([sys.executable, "-m", "cpdi.cli", "validate", str(book)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert f"reaches cell {ref}" in run.stderr and "Ctrl+End" in run.stderr
    assert "Traceback" not in run.stderr


def test_stray_cell_far_below_the_data_is_still_read_when_small(tmp_path):
    book = example_workbook(tmp_path / "book.xlsx")
    workbook = openpyxl.load_workbook(book)
    workbook["holders"]["Z5000"] = " "
    workbook.save(book)
    assert read_portfolio(book).problems == ()


# -- impossible and implausible figures -----------------------------------------------------------
@pytest.mark.parametrize("table, match, changes, column, fragment", [
    ("payments", {"instrument_id": "US00RANGE2032", "kind": "redemption"}, {"amount": "-1000"},
     "amount", "a redemption repays principal"),
    ("payments", {"instrument_id": "US00RANGE2032", "kind": "redemption"}, {"amount": "0"},
     "amount", "a redemption repays principal"),
    ("payments", {"instrument_id": "02687QCD8", "date": "2010-01-20"}, {"amount": "-5"},
     "amount", "cannot be negative"),
    ("schedule", {"instrument_id": "02687QCD8", "period_end": "2010-01-20"},
     {"projected_payment": "-21.9"}, "projected_payment", "cannot be negative"),
    ("lots", {"lot_id": "L-0003"}, {"basis_allocation": "yield", "holder_yield_pct": "1e6"},
     "holder_yield_pct", "not plausible"),
    ("instruments", {"instrument_id": "US00EQLN2029"}, {"comparable_yield_pct": "412"},
     "comparable_yield_pct", "not plausible"),
    ("lots", {"lot_id": "L-0002"}, {"cost_basis": "98.5"}, "cost_basis",
     "looks like a price per 100 of face"),
    ("lots", {"lot_id": "L-0003"}, {"proceeds": "97.8"}, "proceeds",
     "looks like a price per 100 of face"),
])
def test_impossible_or_implausible_figure_is_refused_with_its_row(tmp_path, capsys, table, match,
                                                                    changes, column, fragment):
    folder = example_copy(tmp_path)
    if table == "payments" and match.get("kind") == "redemption":
        rows = rows_of(folder / "payments.csv")
        if not any(r["kind"] == "redemption" for r in rows):
            pytest.fail("the example lost its issuer call")
    edit(folder, table, match, **changes)
    portfolio = read_portfolio(folder)
    hits = [p for p in portfolio.problems if p.column == column and fragment in p.message]
    assert hits, "\n".join(map(str, portfolio.problems))
    assert hits[0].row is not None and hits[0].fix
    code, _, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1 and fragment in err


def test_price_typed_as_cost_names_the_dollars_meant(tmp_path):
    folder = example_copy(tmp_path)
    edit(folder, "lots", {"lot_id": "L-0002"}, cost_basis="98.5")
    [problem] = [p for p in read_portfolio(folder).problems if p.column == "cost_basis"]
    assert "98,500.00" in problem.fix  # 98.5 per 100 of 100,000 face


def test_comparable_yield_typed_as_a_fraction_is_named(tmp_path, capsys):
    folder = example_copy(tmp_path)
    edit(folder, "instruments", {"instrument_id": "02687QCD8"}, comparable_yield_pct="0.0546")
    code, out, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1
    assert "0.0546 looks like a fraction: did you mean 5.46 percent?" in out
    # the lots it stops point at the instruments row to fix, not at the schedule
    assert "instruments.csv row 2, column comparable_yield_pct" in err


# -- validate reports what compute would reject ----------------------------------------------------
def test_validate_through_year_reports_a_missing_contingent_payment(tmp_path, capsys):
    folder = example_copy(tmp_path)
    rows = [r for r in rows_of(folder / "payments.csv") if r["date"] != "2025-01-20"]
    write_rows(folder / "payments.csv", rows)
    code, out, err = run(capsys, "validate", folder, "--through-year", 2024)
    assert code == 0 and "all valid" in out
    code, out, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1 and "all valid" not in out
    assert "no actual amount" in err and "2025-01-20" in err
    code, _, _ = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1


def test_failed_schedule_is_reported_with_its_row_and_not_once_per_lot(tmp_path, capsys):
    folder = example_copy(tmp_path)
    edit(folder, "schedule", {"instrument_id": "02687QCD8", "period_start": "2015-01-20"},
         period_start="2015-01-21")  # a one-day gap
    lots = rows_of(folder / "lots.csv")
    template = next(r for r in lots if r["lot_id"] == "L-0001")
    lots += [{**template, "lot_id": f"X-{n}", "holder_id": "H-1001"} for n in range(20)]
    write_rows(folder / "lots.csv", lots)
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1
    gap_row = 1 + next(i for i, r in enumerate(rows_of(folder / "schedule.csv"), start=1)
                       if r["period_start"] == "2015-01-21")
    lines = [l for l in err.splitlines() if "gap" in l]
    assert lines and all(f"schedule.csv row {gap_row}" in l for l in lines)
    assert len(lines) <= 6
    assert "more lot(s) of 02687QCD8 not computed for the same reason" in err


def test_compute_counts_rejected_lots_as_not_computed(tmp_path, capsys):
    folder = example_copy(tmp_path)
    edit(folder, "lots", {"lot_id": "L-0002"}, cost_basis="abc")
    code, out, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1 and "1 lot(s) not computed" in out


# -- the command line -------------------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["compute", EXAMPLE, "--through-year", "10000", "--out", "r.csv"], "not a tax year"),
    (["compute", EXAMPLE, "--through-year", "0", "--out", "r.csv"], "not a tax year"),
    (["compute", EXAMPLE, "--through-year", "-5", "--out", "r.csv"], "not a tax year"),
    (["compute", EXAMPLE, "--through-year", "25", "--out", "r.csv"], "not a tax year"),
    (["workpapers", EXAMPLE, "--year", "10000", "--out", "wp"], "not a tax year"),
    (["validate", EXAMPLE, "--tolerance", "-0.5"], "not a tolerance"),
    (["validate", EXAMPLE, "--tolerance", "inf"], "not a tolerance"),
    (["validate", EXAMPLE, "--tolerance", "nan"], "not a tolerance"),
    (["compute", EXAMPLE, "--through-year", "1990", "--out", "r.csv"], "outside the instruments' lives"),
    (["compute", EXAMPLE, "--through-year", "2025", "--out", "r.xlsx"], "written as .csv"),
    (["schedule", EXAMPLE, "--instrument", "02687QCD8", "--out", "s.txt"], "written as .csv or .xlsx"),
])
def test_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, *argv)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], err
    assert not list(tmp_path.iterdir())  # nothing written


def test_compute_out_naming_a_folder_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, "compute", EXAMPLE, "--through-year", 2025, "--out", tmp_path)
    assert code == 2 and "is a folder" in err


def test_workpapers_out_naming_a_file_is_a_usage_error(tmp_path, capsys):
    existing = tmp_path / "report.xlsx"
    existing.write_bytes(b"keep me")
    code, _, err = run(capsys, "workpapers", EXAMPLE, "--year", 2025, "--out", existing)
    assert code == 2 and "is an existing file" in err
    assert existing.read_bytes() == b"keep me"


def test_workpapers_year_outside_the_instruments_lives_is_a_usage_error(tmp_path, capsys):
    code, _, err = run(capsys, "workpapers", EXAMPLE, "--year", 1999, "--out", tmp_path / "wp")
    assert code == 2 and "outside the instruments' lives" in err
    assert not (tmp_path / "wp").exists()


# -- the Python API ----------------------------------------------------------------------------------
def test_api_loads_the_example_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    portfolio = cpdi.load_example()
    assert portfolio.problems == () and len(portfolio.lots) == 8
    assert cpdi.load(cpdi.example_path()) == portfolio


def test_api_collects_input_problems_and_raises_only_for_a_missing_input(tmp_path):
    folder = example_copy(tmp_path)
    edit(folder, "lots", {"lot_id": "L-0002"}, cost_basis="abc")
    portfolio = cpdi.load(folder)  # no exception: the problem is collected
    assert [p.column for p in portfolio.problems] == ["cost_basis"]
    with pytest.raises(InputError):
        cpdi.load(tmp_path / "nowhere")


def test_api_workpapers_writes_the_batch(tmp_path):
    report = cpdi.workpapers(cpdi.load_example(), 2025, tmp_path / "wp")
    assert report.holders_ok == 4 and report.holders_failed == 0 and report.exit_code == 0
    assert all(path.exists() for path in report.workbooks)
    assert report.summary_path.exists() and report.exceptions_path.exists()


def test_compute_streams_the_same_ledger_as_the_api(tmp_path, capsys):
    target = tmp_path / "r.csv"
    code, _, _ = run(capsys, "compute", EXAMPLE, "--through-year", 2025, "--out", target)
    assert code == 0
    frame = api.compute(cpdi.load_example(), 2025).frame()
    rows = rows_of(target)
    assert len(rows) == len(frame)
    assert [r["lot_id"] for r in rows] == list(frame["lot_id"])
    assert [float(r["interest_income"]) for r in rows] == pytest.approx(
        list(frame["interest_income"]), abs=1e-6)


def test_compute_write_failure_is_one_line_and_leaves_no_partial_file(tmp_path, capsys, monkeypatch):
    import errno
    import os

    real_open = open

    def full_disk(path, mode="r", *args, **kwargs):
        if "x" in mode or "w" in mode:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_disk)
    code, _, err = run(capsys, "compute", EXAMPLE, "--through-year", 2025, "--out", tmp_path / "r.csv")
    monkeypatch.undo()
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "No space left on device" in err
    assert list(tmp_path.iterdir()) == []


# -- the command line, refined -------------------------------------------------------------------
@pytest.mark.parametrize("argv, fragment", [
    (["compute", EXAMPLE, "--through-year", " 2025", "--out", "r.csv"], "not a tax year"),
    (["compute", EXAMPLE, "--through-year", "２０２５", "--out", "r.csv"], "not a tax year"),
    (["compute", EXAMPLE, "--through-year", "202²", "--out", "r.csv"], "not a tax year"),
    (["compute", EXAMPLE, "--through-year", "1899", "--out", "r.csv"], "outside the tax years cpdi computes (1900-2199)"),
    (["validate", EXAMPLE, "--tolerance", "1_000"], "not a tolerance"),
    (["validate", EXAMPLE, "--tolerance", "100"], "--accept-residual"),
    (["workpapers", EXAMPLE, "--year", "2025", "--out", "wp", "--workers", "-1"], "worker processes"),
    (["workpapers", EXAMPLE, "--year", "2025", "--out", "wp", "--workers", "1000"], "worker processes"),
    (["workpapers", EXAMPLE, "--year", "2025", "--out", "wp", "--prepared", "0001-01-01"], "outside the years"),
    (["workpapers", EXAMPLE, "--year", "2025", "--out", "wp", "--prepared", "20250115"], "YYYY-MM-DD"),
    (["workpapers", EXAMPLE, "--year", "2025", "--out", "wp", "--prepared", "2025-02-30"], "no such day"),
    (["validate", EXAMPLE, "--accept-residual", "NOPE"], "--accept-residual NOPE is not an instrument"),
    (["validate", EXAMPLE, "--accept-residual", "02687qcd8"], "did you mean 02687QCD8?"),
    (["compute", EXAMPLE, "--through-year", "2025", "--out", "r.csv", "--accept-residual", "X"], "not an instrument"),
    (["validate", EXAMPLE, "--through-year", "1900"], "outside the instruments' lives"),
    (["compute", EXAMPLE, "--through-year", "2025", "--out", "r.csv/"], "is a folder"),
    (["init", "folder.xlsx"], "is a folder"),
    (["init", "missing/x.xlsx"], "does not exist"),
    (["init", "x.xls"], "must be an .xlsx file"),
])
def test_more_usage_errors_are_one_line_and_exit_2(tmp_path, capsys, monkeypatch, argv, fragment):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "folder.xlsx").mkdir()
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], err
    assert lines[0].startswith(f"cpdi {argv[0]}:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder.xlsx"]  # nothing written


def test_tolerance_minus_zero_reads_as_zero(capsys):
    code, out, _ = run(capsys, "validate", EXAMPLE, "--tolerance", "-0", "--through-year", 2025)
    assert "tolerance 0.0000" in out and "tolerance -0" not in out


def test_out_never_overwrites_the_input(tmp_path, capsys):
    folder = example_copy(tmp_path)
    before = (folder / "schedule.csv").read_bytes()
    code, _, err = run(capsys, "schedule", folder, "--instrument", "02687QCD8",
                       "--out", folder / "SCHEDULE.csv")
    assert code == 2 and "would overwrite the input" in err
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", folder / "lots.csv")
    assert code == 2 and "would overwrite the input" in err
    assert (folder / "schedule.csv").read_bytes() == before
    book = example_workbook(tmp_path / "book.xlsx")
    code, _, err = run(capsys, "schedule", book, "--instrument", "02687QCD8", "--out", book)
    assert code == 2 and "would overwrite the input" in err
    # a results file beside the input tables is fine
    code, _, _ = run(capsys, "compute", folder, "--through-year", 2025, "--out", folder / "results.csv")
    assert code == 0


def test_schedule_companion_that_is_a_folder_is_refused_before_writing(tmp_path, capsys):
    (tmp_path / "S-by-year.csv").mkdir()
    code, _, err = run(capsys, "schedule", EXAMPLE, "--instrument", "02687QCD8", "--out", tmp_path / "S.csv")
    assert code == 2 and "S-by-year.csv" in err and not (tmp_path / "S.csv").exists()


def test_template_that_is_not_utf8_is_a_usage_error_before_anything_is_written(tmp_path, capsys):
    template = tmp_path / "bin.toml"
    template.write_bytes(b"\xff\xfe[")
    code, _, err = run(capsys, "workpapers", EXAMPLE, "--year", 2025, "--out", tmp_path / "wp",
                       "--template", template)
    assert code == 2 and "not UTF-8" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "wp").exists()


def test_usage_errors_echo_no_taxpayer_id(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for argv in (["init", "123-45-6789.xls"], ["validate", EXAMPLE, "--tolerance", "123-45-6789"]):
        code, out, err = run(capsys, *argv)
        assert code == 2 and "123-45-6789" not in err + out and "6789" in err


def test_many_lots_stopped_alike_are_named_in_one_line(tmp_path, capsys):
    folder = example_copy(tmp_path)
    edit(folder, "schedule", {"instrument_id": "02687QCD8", "period_end": "2027-07-20"},
         projected_payment="1004.2577")  # the issuer's typo, back in
    lots = rows_of(folder / "lots.csv")
    template = next(r for r in lots if r["lot_id"] == "L-0001")
    lots += [{**template, "lot_id": f"X-{n:02d}"} for n in range(8)]
    write_rows(folder / "lots.csv", lots)
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1
    [summary] = [l for l in err.splitlines() if "more lot(s) of 02687QCD8" in l]
    assert "exceptions report" not in summary and "X-07" in summary


# -- the Python API refuses what it cannot compute ----------------------------------------------------
def test_api_refuses_years_and_tolerances_outside_its_range(tmp_path):
    portfolio = cpdi.load_example()
    for year in (0, 10000, 1899, 2025.0):
        with pytest.raises(ValueError, match="not a tax year cpdi computes"):
            cpdi.compute(portfolio, year)
    with pytest.raises(ValueError, match="not a tax year cpdi computes"):
        cpdi.workpapers(portfolio, 0, tmp_path / "wp")
    assert not (tmp_path / "wp").exists()
    for tolerance in (-1, float("nan"), 40):
        with pytest.raises(ValueError, match="tolerance_per_1000"):
            cpdi.validate(portfolio, tolerance)


def test_api_schedule_frames_refuse_a_schedule_with_a_gap(tmp_path):
    folder = example_copy(tmp_path)
    edit(folder, "schedule", {"instrument_id": "02687QCD8", "period_start": "2015-01-20"},
         period_start="2015-01-21")
    portfolio = cpdi.load(folder)
    for frame in (cpdi.schedule_frame, cpdi.calendar_year_frame):
        with pytest.raises(InputError, match="gap"):
            frame(portfolio, "02687QCD8")
    assert len(cpdi.schedule_frame(portfolio, "US00EQLN2029")) == 7


def test_compute_removes_the_half_written_file_of_a_killed_earlier_run(tmp_path, capsys):
    leftover = tmp_path / ".r.csv.4194303-0123456789ab-0.part"  # pid above pid_max: not running
    leftover.write_text("holder_id,lot_id\nH-1,L-")
    other = tmp_path / ".other.csv.4194303-0123456789ab-1.part"
    other.write_text("not ours to remove")
    code, _, _ = run(capsys, "compute", EXAMPLE, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 0 and not leftover.exists() and other.exists()


def test_a_unit_principal_too_small_for_any_lot_is_named_not_a_traceback(tmp_path, capsys):
    folder = example_copy(tmp_path)
    edit(folder, "instruments", {"instrument_id": "02687QCD8"}, unit_principal="1e-320")
    for command in (["validate", folder, "--through-year", 2025],
                    ["compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv"]):
        code, _, err = run(capsys, *command)
        assert code == 1 and "more than any note has" in err


def test_formula_without_a_saved_value_is_refused_not_read_as_blank(tmp_path, capsys):
    """openpyxl and other libraries write formulas without their values; read as saved, a
    disposition date typed as =DATE(2025,9,15) would be blank and the sold lot held."""
    book = example_workbook(tmp_path / "book.xlsx")
    workbook = openpyxl.load_workbook(book)
    workbook["lots"]["G4"] = "=DATE(2025,9,15)"  # L-0003's disposition_date
    workbook.save(book)
    code, _, err = run(capsys, "compute", book, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1 and "cell G4 holds a formula with no saved value" in err


def test_an_empty_optional_file_is_not_read_as_nothing_here(tmp_path, capsys):
    folder = example_copy(tmp_path)
    (folder / "lots.csv").write_bytes(b"")
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1 and "lots.csv: the file is empty" in err


@pytest.mark.parametrize("table, match, column", [
    ("lots", {"lot_id": "L-0002"}, "cost_basis"),
    ("lots", {"lot_id": "L-0002"}, "principal_amount"),
    ("payments", {"instrument_id": "02687QCD8", "date": "2010-01-20"}, "amount"),
])
def test_amounts_no_return_holds_are_refused(tmp_path, capsys, table, match, column):
    folder = example_copy(tmp_path)
    edit(folder, table, match, **{column: "1e308"})
    code, _, err = run(capsys, "workpapers", folder, "--year", 2025, "--out", tmp_path / "wp", "--quiet")
    assert code == 1 and f"column {column}: '1e308': is beyond any amount cpdi computes" in err


def test_a_misnamed_optional_column_is_not_silently_ignored(tmp_path, capsys):
    folder = example_copy(tmp_path)
    text = (folder / "lots.csv").read_text()
    (folder / "lots.csv").write_text(text.replace("proceeds", "sale_proceeds", 1))
    code, _, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1 and "column 'sale_proceeds' is not one cpdi reads, and proceeds is absent" in err


def test_headers_match_ignoring_blanks_hyphens_and_underscores(tmp_path):
    folder = example_copy(tmp_path)
    text = (folder / "lots.csv").read_text()
    (folder / "lots.csv").write_text(text.replace("basis_allocation", "Basis Allocation", 1)
                                     .replace("allocate_to_maturity", "allocate-to-maturity", 1))
    assert read_portfolio(folder) == read_portfolio(EXAMPLE).__class__(
        **{**read_portfolio(EXAMPLE).__dict__, "source": str(folder)})


def test_a_row_with_more_cells_than_the_header_is_named(tmp_path, capsys):
    folder = example_copy(tmp_path)
    text = (folder / "holders.csv").read_text()
    (folder / "holders.csv").write_text(text.replace('"O\'Neil, Patricia"', "O'Neil, Patricia"))
    code, _, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1 and "holders.csv row 3: the row has 6 cells but the header has 5" in err


def test_an_excel_error_value_is_not_read_as_blank(tmp_path, capsys):
    made = example_workbook(tmp_path / "made.xlsx")
    book = tmp_path / "book.xlsx"
    with zipfile.ZipFile(made) as source, zipfile.ZipFile(book, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if b"L-0003" in data or item.filename.endswith("sheet4.xml"):
                # lots!G4 (L-0003's disposition_date) becomes a #N/A error cell
                data = re.sub(rb'<c r="G4"[^>]*>.*?</c>', b'<c r="G4" t="e"><v>#N/A</v></c>', data,
                              flags=re.S)
            target.writestr(item, data)
    code, _, err = run(capsys, "compute", book, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1 and "cell G4 holds the Excel error #N/A" in err


def test_a_scheduled_payment_after_the_issuer_call_is_named(tmp_path, capsys):
    folder = example_copy(tmp_path)
    with (folder / "payments.csv").open("a") as handle:
        handle.write("US00RANGE2032,2025-09-30,8.2500,scheduled\n")
    code, _, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1 and "a scheduled payment after US00RANGE2032's redemption on 2025-06-30" in err


def test_a_bad_broker_figure_is_named_and_stops_no_holder(tmp_path, capsys):
    """broker_1099 is a reference to reconcile (docs/formats.md): a bad row is one line naming
    file, row and column, and every holder still gets a workbook."""
    folder = example_copy(tmp_path)
    with (folder / "broker_1099.csv").open("a") as handle:
        handle.write("H-1001,02687QCD8,2025,1099-OID,1d,12.00,\n")
    code, _, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1
    assert "broker_1099.csv row 8, column box: '1d': Form 1099-OID has no box 1d" in err
    code, out, err = run(capsys, "workpapers", folder, "--year", 2025, "--out", tmp_path / "wp",
                         "--quiet", "--workers", 1)
    assert code == 1 and "4 workbook(s)" in out + err and "0 holder(s) failed" in out + err


def test_a_misnamed_broker_file_is_not_read_as_no_figures(tmp_path, capsys):
    folder = example_copy(tmp_path)
    (folder / "broker_1099.csv").rename(folder / "broker_1099_2025.csv")
    code, _, err = run(capsys, "validate", folder, "--through-year", 2025)
    assert code == 1 and "broker_1099.csv" in err and "rename broker_1099_2025.csv" in err

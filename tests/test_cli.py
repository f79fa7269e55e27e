"""The command line contract (docs/formats.md, "Commands"): outputs, exit statuses, one-line
errors naming file, row and column, no tracebacks."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

import cpdi
from cpdi.api import compute, load, schedule_frame
from cpdi.cli import main
from cpdi.engine.ledger import LEDGER_COLUMNS

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "aig-cms-curve-2027"
EXAMPLE = cpdi.example_path()


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_fixture_exits_1_with_the_figures(capsys):
    code, out, err = run(capsys, "validate", FIXTURE)
    assert code == 1
    assert "02687QCD8: FAILED" in out
    for figure in ("987.7422", "-12.2578", "+36.0001", "5.357280%", "1004.2577", "1040.2578",
                   "digits '04' printed for '40'"):
        assert figure in out
    assert "Traceback" not in err


def test_validate_accept_residual_and_tolerance(tmp_path, capsys):
    code, out, _ = run(capsys, "validate", FIXTURE, "--accept-residual", "02687QCD8")
    assert code == 0 and "ACCEPTED" in out
    # a tolerance wide enough to pass the printed typo (36 per 1,000) would accept a real error
    # implicitly: method §8 wants that explicit, so it is a usage error pointing there
    code, _, err = run(capsys, "validate", FIXTURE, "--tolerance", "40")
    assert code == 2 and "--accept-residual" in err
    # a rounding residual of 0.05 per 1,000 fails at the default and passes at --tolerance 0.1
    folder = tmp_path / "input"
    shutil.copytree(FIXTURE, folder)
    schedule = folder / "schedule.csv"
    schedule.write_text(schedule.read_text().replace("1004.2577", "1040.3078"))
    code, out, _ = run(capsys, "validate", folder)
    assert code == 1 and "02687QCD8: FAILED" in out
    code, out, _ = run(capsys, "validate", folder, "--tolerance", "0.1")
    assert code == 0 and "02687QCD8: OK" in out


def test_validate_example_is_clean(capsys):
    code, out, err = run(capsys, "validate", EXAMPLE)
    assert code == 0, err
    assert "all valid" in out


def test_schedule_csv_interest_equals_spec_section_3(tmp_path, capsys):
    """`cpdi schedule` writes a table whose per-period interest equals §3 to 1e-6:
    interest_k = AIP_{k-1} × 5.46%/2 with AIP_k = AIP_{k-1} + interest_k − projected_k."""
    out = tmp_path / "aig.csv"
    code, _, _ = run(capsys, "schedule", FIXTURE, "--instrument", "02687QCD8", "--out", out,
                     "--accept-residual", "02687QCD8")
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 40
    aip = 1000.0
    for row in rows:
        interest = aip * 0.0546 / 2
        assert float(row["interest"]) == pytest.approx(interest, abs=1e-6)
        assert float(row["adjusted_issue_price_start"]) == pytest.approx(aip, abs=1e-6)
        aip = aip + interest - float(row["projected_payment"])
        assert float(row["adjusted_issue_price_end"]) == pytest.approx(aip, abs=1e-6)
    years = list(csv.DictReader((tmp_path / "aig-by-year.csv").open()))
    assert years[0]["calendar_year"] == "2007"
    assert float(years[0]["interest_per_unit"]) == pytest.approx(164 * 27.3 / 184, abs=1e-6)


def test_schedule_of_failing_instrument_exits_1_but_still_shows_the_table(tmp_path, capsys):
    code, out, err = run(capsys, "schedule", FIXTURE, "--instrument", "02687QCD8")
    assert code == 1
    assert "FAILED" in err
    assert "27.300000" in out


def test_schedule_xlsx(tmp_path, capsys):
    import openpyxl

    out = tmp_path / "s.xlsx"
    code, _, err = run(capsys, "schedule", EXAMPLE, "--instrument", "US00EQLN2029", "--out", out)
    assert code == 0, err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["accrual schedule", "by calendar year"]
    frame = schedule_frame(load(EXAMPLE), "US00EQLN2029")
    sheet = book["accrual schedule"]
    assert sheet.cell(4, 8).value == pytest.approx(frame["interest"][0])


def test_schedule_unknown_instrument_is_one_clear_line(capsys):
    # an id that is not in the input is a mistake on the command line: a usage error (exit 2)
    code, _, err = run(capsys, "schedule", EXAMPLE, "--instrument", "NOPE")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--instrument NOPE is not an instrument of the input" in err and "02687QCD8" in err
    assert "Traceback" not in err


def test_compute_writes_the_ledger_columns_in_order(tmp_path, capsys):
    out = tmp_path / "results.csv"
    code, stdout, err = run(capsys, "compute", EXAMPLE, "--through-year", 2025, "--out", out)
    assert code == 0, err
    rows = list(csv.reader(out.open()))
    assert tuple(rows[0]) == LEDGER_COLUMNS
    result = compute(load(EXAMPLE), 2025)
    assert len(rows) - 1 == len(result.rows)
    # six decimals, unrounded inside
    first = dict(zip(rows[0], rows[1]))
    assert len(first["interest_accrued"].split(".")[1]) == 6
    assert "wrote" in stdout


def test_compute_reports_bad_lots_and_computes_the_rest(tmp_path, capsys):
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    with (folder / "lots.csv").open("a") as handle:
        handle.write("H-9,BAD-1,NOPE,1000,2020-01-01,1000,,,,,\n")
        handle.write("H-9,BAD-2,02687QCD8,1000,2020-02-30,1000,,,,,\n")
        handle.write("H-9,BAD-3,02687QCD8,-1000,2020-01-01,1000,,,,,\n")
    out = tmp_path / "results.csv"
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", out)
    assert code == 1
    lines = err.strip().splitlines()
    assert any("lots.csv row 10, column instrument_id" in l for l in lines)
    assert any("lots.csv row 11, column acquisition_date" in l for l in lines)
    assert any("lots.csv row 12, column principal_amount" in l for l in lines)
    lots_written = {r["lot_id"] for r in csv.DictReader(out.open())}
    assert lots_written == {f"L-000{i}" for i in range(1, 9)}


def test_compute_missing_contingent_payment_names_payments_file(tmp_path, capsys):
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    lines = (folder / "payments.csv").read_text().splitlines()
    kept = [l for l in lines if not l.startswith("02687QCD8,2015-01-20")]
    (folder / "payments.csv").write_text("\n".join(kept) + "\n")
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1
    assert "payments.csv, column amount" in err
    assert "2015-01-20" in err and "L-0001" in err


def test_compute_lot_on_failing_schedule_is_reported(tmp_path, capsys):
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    text = (folder / "schedule.csv").read_text().replace("1040.2578", "1004.2577")
    (folder / "schedule.csv").write_text(text)
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out", tmp_path / "r.csv")
    assert code == 1
    assert "does not produce the comparable yield" in err and "L-0001" in err
    code, _, err = run(capsys, "compute", folder, "--through-year", 2025, "--out",
                       tmp_path / "r.csv", "--accept-residual", "02687QCD8")
    assert code == 0, err


def test_missing_input_and_usage_errors(tmp_path, capsys):
    code, _, err = run(capsys, "validate", tmp_path / "nowhere")
    assert code == 1 and "no such file or folder" in err and "Traceback" not in err
    # usage errors exit 2 (main returns the status rather than raising SystemExit, so the
    # Python entry point and the console script agree), one line naming the command
    code, _, err = run(capsys, "compute", EXAMPLE)  # --through-year and --out missing
    assert code == 2 and len(err.strip().splitlines()) == 1 and err.startswith("cpdi compute:")
    code, _, err = run(capsys, "frobnicate")
    assert code == 2 and "invalid choice" in err


def test_output_is_atomic_when_the_run_fails(tmp_path, capsys, monkeypatch):
    """A crash while writing leaves neither a half-written results file nor a temp file."""
    import cpdi.writers.results as results

    out = tmp_path / "results.csv"
    out.write_text("previous run\n")

    def explode(row):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(results, "ledger_row_values", explode)
    with pytest.raises(RuntimeError):
        main(["compute", str(EXAMPLE), "--through-year", "2025", "--out", str(out)])
    assert out.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["results.csv"]

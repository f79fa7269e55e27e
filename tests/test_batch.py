"""The year-end batch at scale: isolation, determinism, resume."""

from __future__ import annotations

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest

import cpdi
from cpdi import batch
from cpdi.api import load
from cpdi.batch import BatchOptions, run_batch
from cpdi.cli import main
from cpdi.synthetic import random_portfolio, write_csv_folder

EXAMPLE = cpdi.example_path()
PREPARED = "2026-01-15"


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def synthetic_input(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic")
    write_csv_folder(random_portfolio(7, instruments=6, holders=24), folder)
    return folder


def test_isolation_three_kinds_of_bad_rows(tmp_path, capsys):
    """Unknown instrument, impossible date, negative principal → exit 1, all three named in
    the exceptions report, every other holder written."""
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    with (folder / "lots.csv").open("a") as handle:
        handle.write("H-2001,BAD-1,NOPE,1000,2020-01-01,1000,,,,,\n")
        handle.write("H-2002,BAD-2,02687QCD8,1000,2020-02-30,1000,,,,,\n")
        handle.write("H-2003,BAD-3,02687QCD8,-1000,2020-01-01,1000,,,,,\n")
    with (folder / "holders.csv").open("a") as handle:
        handle.write("H-2001,Bad One,111-11-1111,x\nH-2002,Bad Two,222-22-2222,x\nH-2003,Bad Three,333-33-3333,x\n")
    out = tmp_path / "out"
    code = main(["workpapers", str(folder), "--year", "2025", "--out", str(out), "--quiet",
                 "--workers", "2", "--prepared", PREPARED])
    assert code == 1
    exceptions = list(csv.DictReader((out / "exceptions_2025.csv").open()))
    named = {(e["lot_id"], e["column"]) for e in exceptions}
    assert ("BAD-1", "instrument_id") in named
    assert ("BAD-2", "acquisition_date") in named
    assert ("BAD-3", "principal_amount") in named
    written = {p.name for p in out.glob("H-*.xlsx")}
    assert written == {f"H-100{i}_2025.xlsx" for i in range(1, 5)}
    out_text, err = capsys.readouterr()
    assert "4 workbook(s) for 2025" in out_text and "3 holder(s) failed" in out_text
    for where in ("lots.csv row 10, column instrument_id", "lots.csv row 11, column acquisition_date",
                  "lots.csv row 12, column principal_amount"):
        assert where in err


def test_determinism_two_runs_same_bytes(tmp_path, synthetic_input):
    portfolio = load(synthetic_input)
    first, second = tmp_path / "a", tmp_path / "b"
    for out in (first, second):
        run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=2, quiet=True))
    a, b = files_of(first), files_of(second)
    assert a.keys() == b.keys() and len(a) > 3
    for name in a:
        assert a[name] == b[name], name


def test_resume_after_interruption_gives_the_clean_run(tmp_path, synthetic_input, monkeypatch):
    portfolio = load(synthetic_input)
    clean = tmp_path / "clean"
    run_batch(portfolio, BatchOptions(2024, clean, prepared=date(2025, 2, 1), workers=1, quiet=True))

    interrupted = tmp_path / "interrupted"
    real_task = batch._holder_task
    calls = {"n": 0}

    def dying_task(holder_id):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt  # the operator presses Ctrl-C mid-run
        return real_task(holder_id)

    monkeypatch.setattr(batch, "_holder_task", dying_task)
    with pytest.raises(KeyboardInterrupt):
        run_batch(portfolio, BatchOptions(2024, interrupted, prepared=date(2025, 2, 1), workers=1, quiet=True))
    monkeypatch.setattr(batch, "_holder_task", real_task)
    partial = {p.name for p in interrupted.glob("*.xlsx")}
    assert 0 < len(partial) < len(list(clean.glob("H*.xlsx")))
    assert not list(interrupted.glob("*.part")), "no half-written file after an interrupt"

    report = run_batch(portfolio, BatchOptions(2024, interrupted, prepared=date(2025, 2, 1),
                                               workers=1, quiet=True, resume=True))
    assert report.holders_skipped == len(partial)
    assert files_of(interrupted) == files_of(clean)


def test_resume_redoes_a_holder_whose_inputs_changed(tmp_path, synthetic_input):
    out = tmp_path / "out"
    portfolio = load(synthetic_input)
    first = run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=1, quiet=True))
    lots_by_holder, _ = batch.holders_in_year(portfolio, 2024)
    def live_in_2024(lot):  # a lot still accruing in 2024, so its cost shows in the workbook
        maturity = portfolio.instruments[lot.instrument_id].maturity_date
        return maturity.year >= 2024 and (lot.disposition_date is None
                                          or lot.disposition_date.year >= 2024)
    holder_id, lot_id = next((h, lot.lot_id) for h in sorted(lots_by_holder)
                             for lot in lots_by_holder[h]
                             if (out / f"{h}_2024.xlsx").exists() and live_in_2024(lot))
    before = (out / f"{holder_id}_2024.xlsx").read_bytes()

    folder = tmp_path / "changed"
    shutil.copytree(synthetic_input, folder)
    rows = list(csv.reader((folder / "lots.csv").open()))
    cost = rows[0].index("cost_basis")
    for row in rows[1:]:
        if row[1] == lot_id:
            row[cost] = repr(float(row[cost]) * 1.01)
    with (folder / "lots.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)

    report = run_batch(load(folder), BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=1,
                                                  quiet=True, resume=True))
    assert report.holders_ok == first.holders_ok
    assert report.holders_skipped == report.holders_ok - 1
    assert (out / f"{holder_id}_2024.xlsx").read_bytes() != before


def test_progress_lines_when_not_a_terminal(tmp_path, capsys):
    code = main(["workpapers", str(EXAMPLE), "--year", "2025", "--out", str(tmp_path / "o"),
                 "--prepared", PREPARED, "--workers", "1"])
    assert code == 0
    err = capsys.readouterr().err
    assert "4/4 holders" in err
    code = main(["workpapers", str(EXAMPLE), "--year", "2025", "--out", str(tmp_path / "q"),
                 "--prepared", PREPARED, "--quiet"])
    assert code == 0
    assert "holders (" not in capsys.readouterr().err


def test_ids_differing_only_in_case_get_distinct_file_names():
    """On a case-insensitive file system h-1 and H-1 would overwrite each other."""
    names = batch.workbook_names(["H-1", "h-1", "H-2"], 2025)
    assert names["H-2"] == "H-2_2025.xlsx"
    assert len({n.casefold() for n in names.values()}) == 3
    assert names["H-1"].startswith("H-1--") and names["h-1"].startswith("h-1--")

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


# -- the return's forms in the batch (method §12) ----------------------------------------------------
def example_copy(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLE, folder)
    return folder


def run(folder_or_portfolio, out: Path, **options):
    portfolio = load(folder_or_portfolio) if isinstance(folder_or_portfolio, Path) else folder_or_portfolio
    return run_batch(portfolio, BatchOptions(2025, out, prepared=date(2026, 1, 15), workers=1, quiet=True,
                                             **options))


def test_a_changed_form_mapping_rewrites_every_workbook_on_resume(tmp_path):
    """The mapping is part of every holder's fingerprint: the same content at another path keeps
    the workbooks, a changed line rewrites them, and the Cover shows the new line."""
    import re

    import openpyxl

    from cpdi.model import FilerType
    from cpdi.readers.form_lines import DEFAULT_MAPPING, load_form_mapping

    out = tmp_path / "out"
    first = run(EXAMPLE, out)
    same = tmp_path / "same.toml"
    same.write_text(DEFAULT_MAPPING.read_text(encoding="utf-8"), encoding="utf-8")
    kept = run(EXAMPLE, out, resume=True, mapping_path=same)
    assert kept.holders_skipped == first.holders_ok == 4
    changed = tmp_path / "changed.toml"
    text, count = re.subn(r'(\[trust\.lines\.interest_income\][^\[]*?line = ")([^"]*)"',
                          r'\1\2, CPDI"', DEFAULT_MAPPING.read_text(encoding="utf-8"))
    assert count == 1
    changed.write_text(text, encoding="utf-8")
    again = run(EXAMPLE, out, resume=True, mapping_path=changed)
    assert again.holders_skipped == 0 and again.holders_ok == 4
    trust = load_form_mapping(changed).filer(FilerType.TRUST).line("interest_income").where
    assert trust.endswith(", CPDI")
    cover = openpyxl.load_workbook(out / "H-1001_2025.xlsx")["Cover"]  # H-1001 is a trust
    assert trust in [c.value for c in cover["A"]]


def test_a_changed_broker_figure_rewrites_only_its_holders_workbook(tmp_path):
    folder, out = example_copy(tmp_path), tmp_path / "out"
    run(folder, out)
    broker = folder / "broker_1099.csv"
    with broker.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    mine = next(row for row in rows if row["holder_id"] == "H-1002" and row["tax_year"] == "2025")
    mine["amount"] = f"{float(mine['amount']) + 50:.2f}"
    with broker.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    report = run(folder, out, resume=True)
    assert report.holders_ok == 4 and report.holders_skipped == 3


def test_the_summary_has_each_holders_totals_by_character(tmp_path):
    """One row per holder with a workbook: ordinary income, ordinary losses, short-term and
    long-term column (h), carryforward and unexplained broker differences — as the forms layer
    and the reconciliation give them."""
    import openpyxl

    from cpdi import api
    from cpdi.writers.template import load_template

    out = tmp_path / "out"
    portfolio = load(EXAMPLE)
    run(portfolio, out)
    result = api.compute(portfolio, 2025)
    forms = api.forms(portfolio, 2025, result)
    t = load_template()
    ws = openpyxl.load_workbook(out / "summary_2025.xlsx").active
    title = next(c.row for c in ws["A"] if c.value == t.section("summary_forms", 2025))
    layout = t.tables["summary_forms"]
    header = {c.value: c.column for c in ws[title + 1] if c.value}
    for r in range(title + 2, title + 2 + len(forms)):
        holder_id = ws.cell(r, 1).value
        value = lambda cid: ws.cell(r, header[layout.labels[cid]]).value  # noqa: E731
        f = forms[holder_id]
        assert value("filer_type") == portfolio.holders[holder_id].filer_type.value
        assert value("ordinary_income") == pytest.approx(
            f.total("interest_income") + f.total("ordinary_income_on_disposition"))
        assert value("ordinary_losses") == pytest.approx(
            -f.total("ordinary_loss") - f.total("ordinary_loss_on_disposition"))
        assert value("long_term") == pytest.approx(sum(x.gain_loss for x in f.form8949 if x.box in "DEF"))
        assert value("short_term") == pytest.approx(sum(x.gain_loss for x in f.form8949 if x.box in "ABC"))
        assert isinstance(value("unexplained"), int)
    assert ws.cell(title + 2 + len(forms), 1).value == t.line("total")


def test_a_holder_whose_forms_fail_fails_alone(tmp_path, monkeypatch):
    """The forms layer or the reconciliation failing for one holder fails that holder only,
    with one problem naming their workbook; everyone else is written."""
    real = batch._holder_returns

    def failing(state, holder_id, holder, ledgers):
        if holder_id == "H-1003":
            raise ValueError("mapping gives Form 990 both kinds")
        return real(state, holder_id, holder, ledgers)

    monkeypatch.setattr(batch, "_holder_returns", failing)
    out = tmp_path / "out"
    report = run(EXAMPLE, out)
    assert report.holders_ok == 3 and report.holders_failed == 1
    problem, = report.problems
    assert problem.holder_id == "H-1003" and problem.file == "H-1003_2025.xlsx"
    assert "could not put the holder's figures on the forms: mapping gives Form 990 both kinds" in problem.message
    assert not (out / "H-1003_2025.xlsx").exists()


def test_broker_figures_and_the_mapping_digest():
    """The helpers the fingerprints use: the year's broker figures by holder, and a mapping's
    digest that ignores where it was read from."""
    import dataclasses

    from cpdi.readers.form_lines import load_form_mapping

    portfolio = load(EXAMPLE)
    by_holder = batch.broker_figures_by_holder(portfolio, 2025)
    assert sum(len(v) for v in by_holder.values()) == len(portfolio.broker_1099)
    assert batch.broker_figures_by_holder(portfolio, 2024) == {}
    mapping = load_form_mapping()
    assert batch.mapping_digest(mapping) == batch.mapping_digest(dataclasses.replace(mapping, source="elsewhere"))
    assert batch.mapping_digest(mapping) != batch.mapping_digest(dataclasses.replace(mapping, edition="2026"))

"""`cpdi forms INPUT --year YYYY --out DIR` (docs/formats.md, "Output: `cpdi forms`"): the
Form 8949 lines, the ordinary items with their form lines, TXF for tax software and the broker
reconciliation, checked against the results ledger of the same input."""

from __future__ import annotations

import csv
import shutil
import sys
import types
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

import cpdi
from cpdi import api
from cpdi.cli import main
from cpdi.engine.forms import INCOME_ITEMS
from cpdi.writers.forms.form8949 import COLUMNS as FORM8949_COLUMNS
from cpdi.writers.forms.income import COLUMNS as INCOME_COLUMNS
from txf_reader import parse_txf

EXAMPLE = cpdi.example_path()
YEAR = 2025


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def cents(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def copy_example(tmp_path: Path, **replacements) -> Path:
    """The bundled example's lots and instruments in a folder of their own, every holder an
    individual and no broker figures (so the tests below do not depend on how the example
    shows filer types and the reconciliation), with text replaced in every table."""
    folder = tmp_path / "input"
    shutil.copytree(EXAMPLE, folder)
    (folder / "broker_1099.csv").unlink(missing_ok=True)
    holders = rows(folder / "holders.csv")
    with (folder / "holders.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, [k for k in holders[0] if k != "filer_type"],
                                extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(holders)
    for table in folder.glob("*.csv"):
        text = table.read_text(encoding="utf-8")
        for old, new in replacements.items():
            text = text.replace(old, new)
        table.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def plain_example(tmp_path_factory) -> Path:
    return copy_example(tmp_path_factory.mktemp("input"))


@pytest.fixture(scope="module")
def example_run(tmp_path_factory, plain_example):
    """The example's forms for 2025 (every holder an individual), once; the command's exit
    status and output with them."""
    out = tmp_path_factory.mktemp("forms") / "out"
    capture = _Capture()
    with capture:
        code = main(["forms", str(plain_example), "--year", str(YEAR), "--out", str(out),
                     "--prepared", "2026-02-01"])
    return code, capture.text, out


class _Capture:
    """stdout of a module-scoped run (capsys is function-scoped)."""

    def __enter__(self):
        import io

        self._saved, sys.stdout = sys.stdout, io.StringIO()
        return self

    def __exit__(self, *exc):
        self.text, sys.stdout = sys.stdout.getvalue(), self._saved


@pytest.fixture(scope="module")
def ledger_rows():
    portfolio = api.load(EXAMPLE)
    return [row for row in api.compute(portfolio, YEAR).rows if row.tax_year == YEAR]


def test_the_bundled_example_as_shipped(tmp_path, capsys, ledger_rows):
    """The bundled example, with its filer types and broker figures, writes every file: the
    TXF holds exactly its individuals (the others named as left out), the reconciliation is
    written, and the exit status says whether any broker figure is left unexplained."""
    portfolio = api.load(EXAMPLE)
    out = tmp_path / "out"
    code, text, err = run(capsys, "forms", EXAMPLE, "--year", YEAR, "--out", out)
    assert "Traceback" not in err and not portfolio.problems
    names = {"form8949_2025.csv", "income_2025.csv", "cpdi_2025.txf", "txf"}
    if portfolio.broker_1099:
        names.add("reconciliation_2025.csv")
    assert {p.name for p in out.iterdir()} == names
    individuals = [h for h, holder in portfolio.holders.items()
                   if holder.filer_type.value == "individual"]
    assert sorted(p.name for p in (out / "txf").iterdir()) == sorted(
        f"{h}_2025.txf" for h in individuals)
    for holder_id, holder in portfolio.holders.items():
        if holder_id not in individuals:
            assert f"{holder_id} ({holder.filer_type.value})" in text
    parse_txf((out / "cpdi_2025.txf").read_bytes().decode("ascii"))
    disposed = [r for r in ledger_rows if r.disposition_date is not None]
    assert len(rows(out / "form8949_2025.csv")) == len(disposed)
    flagged = "reconciliation line(s) flagged" in text.splitlines()[-1]
    assert code == (1 if flagged else 0)


def test_example_writes_every_file_and_says_so(example_run):
    code, text, out = example_run
    assert code == 0, text
    assert sorted(p.name for p in out.iterdir()) == [
        "cpdi_2025.txf", "form8949_2025.csv", "income_2025.csv", "txf"]
    assert sorted(p.name for p in (out / "txf").iterdir()) == [
        f"H-100{n}_2025.txf" for n in range(1, 5)]
    lines = text.splitlines()
    assert lines[0] == f"wrote {out / 'form8949_2025.csv'}: 3 disposition(s)"
    assert lines[1] == f"wrote {out / 'income_2025.csv'}: 6 line(s)"
    assert lines[2].startswith(f"wrote {out / 'cpdi_2025.txf'}: ") and "4 holder(s)" in lines[2]
    assert len([x for x in lines if x.startswith(f"wrote {out / 'txf'}")]) == 4
    assert lines[-1] == "forms for 2025: 4 holder(s), 3 disposition(s), 4 holder(s) in TXF"


def test_form8949_one_row_per_disposed_lot_adding_up(example_run, ledger_rows):
    """Every lot disposed of in the year has exactly one row; proceeds − cost_basis +
    adjustment_amount = gain_loss to the cent; column (h) is the ledger's capital part."""
    _, _, out = example_run
    table = rows(out / "form8949_2025.csv")
    assert tuple(table[0]) == FORM8949_COLUMNS
    disposed = {r.lot_id: r for r in ledger_rows if r.disposition_date is not None}
    assert sorted(r["lot_id"] for r in table) == sorted(disposed) == ["L-0003", "L-0005", "L-0006"]
    for row in table:
        d, e, g, h = (Decimal(row[k]) for k in ("proceeds", "cost_basis", "adjustment_amount",
                                                 "gain_loss"))
        assert d - e + g == h
        ledger = disposed[row["lot_id"]]
        assert h == cents(ledger.capital_gain_on_disposition - ledger.capital_loss_on_disposition)
        assert row["date_sold"] == ledger.disposition_date.isoformat()
        assert (row["term"], row["box"], row["filer_type"]) == ("long", "D", "individual")
    l3 = next(r for r in table if r["lot_id"] == "L-0003")
    assert (l3["proceeds"], l3["adjustment_code"], l3["ending"]) == ("48900.00", "O", "sale")
    assert l3["schedule_d_line"] == "Schedule D (Form 1040), line 8b"


def test_income_equals_the_ledger_sums_per_holder_and_instrument(example_run, ledger_rows):
    _, _, out = example_run
    table = rows(out / "income_2025.csv")
    assert tuple(table[0]) == INCOME_COLUMNS
    sums: dict[tuple, dict] = defaultdict(lambda: defaultdict(float))
    for row in ledger_rows:
        for item in INCOME_ITEMS:
            sums[(row.holder_id, row.instrument_id)][item] += getattr(row, item)
    assert [(r["holder_id"], r["instrument_id"]) for r in table] == list(sums)
    for row in table:
        for item in INCOME_ITEMS:
            assert Decimal(row[item]) == cents(sums[(row["holder_id"], row["instrument_id"])][item])
            assert Decimal(row[item]) >= 0
    h1002 = next(r for r in table if r["holder_id"] == "H-1002" and r["instrument_id"] == "02687QCD8")
    assert h1002["ordinary_loss_line"] == "Schedule 1 (Form 1040), line 8z (other income)"
    assert h1002["interest_income_line"] == "Schedule B (Form 1040), Part I, line 1"


def test_txf_parses_and_matches_the_csvs(example_run):
    _, _, out = example_run
    combined = parse_txf((out / "cpdi_2025.txf").read_bytes().decode("ascii"))
    assert combined.exported == date(2026, 2, 1)
    income = rows(out / "income_2025.csv")
    interest = sum(Decimal(r["interest_income"]) for r in income)
    assert sum(r.amount for r in combined.by_refnum(492, "S")) == interest
    h1003 = parse_txf((out / "txf" / "H-1003_2025.txf").read_bytes().decode("ascii"))
    table = [r for r in rows(out / "form8949_2025.csv") if r["holder_id"] == "H-1003"]
    assert [r.gain for r in h1003.by_refnum(323)] == [Decimal(r["gain_loss"]) for r in table]
    per_holder = sum(len(parse_txf(p.read_bytes().decode("ascii")).records)
                     for p in (out / "txf").iterdir())
    assert per_holder == len(combined.records)


def test_a_tin_shaped_holder_id_never_appears_whole(tmp_path, capsys):
    folder = copy_example(tmp_path, **{"H-1002": "123-45-6789"})
    out = tmp_path / "out"
    code, text, err = run(capsys, "forms", folder, "--year", YEAR, "--out", out)
    assert code == 0, err
    written = [p for p in out.rglob("*") if p.is_file()]
    assert any("6789" in p.name for p in written)
    for path in written:
        content = path.read_bytes().decode("utf-8")
        for spelling in ("123-45-6789", "123456789"):
            assert spelling not in content and spelling not in path.name
    assert "123-45-6789" not in text + err and "*****6789" in rows(out / "form8949_2025.csv")[0]["holder_id"]


def test_a_formula_looking_lot_id_is_neutralised(tmp_path, capsys):
    folder = copy_example(tmp_path, **{"L-0003": "=SUM(1+2)"})
    out = tmp_path / "out"
    code, _, err = run(capsys, "forms", folder, "--year", YEAR, "--out", out)
    assert code == 0, err
    lot_ids = [r["lot_id"] for r in rows(out / "form8949_2025.csv")]
    assert "'=SUM(1+2)" in lot_ids and "=SUM(1+2)" not in lot_ids


def test_a_rerun_leaves_the_folder_true(tmp_path, capsys, plain_example):
    """Without broker figures an earlier run's reconciliation file of the year is removed, and
    so is a holder's TXF file this run did not write; other years and other files stay."""
    out = tmp_path / "out"
    (out / "txf").mkdir(parents=True)
    stale = [out / "reconciliation_2025.csv", out / "txf" / "GONE_2025.txf"]
    kept = [out / "reconciliation_2024.csv", out / "txf" / "GONE_2024.txf", out / "notes.txt"]
    for path in stale + kept:
        path.write_text("earlier\n")
    code, text, err = run(capsys, "forms", plain_example, "--year", YEAR, "--out", out)
    assert code == 0, err
    assert not any(p.exists() for p in stale)
    assert all(p.exists() for p in kept)
    for path in stale:
        assert f"removed {path}" in text


def test_holder_option_writes_only_that_holder(tmp_path, capsys, plain_example):
    out = tmp_path / "out"
    code, text, err = run(capsys, "forms", plain_example, "--year", YEAR, "--out", out,
                          "--holder", "H-1003")
    assert code == 0, err
    assert {r["holder_id"] for r in rows(out / "form8949_2025.csv")} == {"H-1003"}
    assert {r["holder_id"] for r in rows(out / "income_2025.csv")} == {"H-1003"}
    assert [p.name for p in (out / "txf").iterdir()] == ["H-1003_2025.txf"]
    combined = parse_txf((out / "cpdi_2025.txf").read_bytes().decode("ascii"))
    assert [r.refnum for r in combined.records] == [492, 287, 257, 257, 323, 323]
    assert text.splitlines()[-1].startswith("forms for 2025: 1 holder(s), 2 disposition(s)")
    code, _, err = run(capsys, "forms", plain_example, "--year", YEAR, "--out", out,
                       "--holder", "H-103")
    assert code == 2 and len(err.splitlines()) == 1
    assert "--holder H-103 is not a holder of the input" in err and "did you mean" in err


def test_holders_whose_return_takes_no_txf_are_left_out_and_named(tmp_path, capsys):
    folder = copy_example(tmp_path)
    holders = folder / "holders.csv"
    lines = holders.read_text().splitlines()
    lines = [lines[0] + ",filer_type"] + [
        line + (",trust" if line.startswith("H-1003") else ",") for line in lines[1:]]
    holders.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    code, text, err = run(capsys, "forms", folder, "--year", YEAR, "--out", out)
    assert code == 0, err
    assert "for 3 holder(s); left out, their return is not imported by TXF: H-1003 (trust)" in text
    assert not (out / "txf" / "H-1003_2025.txf").exists()
    trust = [r for r in rows(out / "income_2025.csv") if r["holder_id"] == "H-1003"]
    assert trust[0]["filer_type"] == "trust"
    assert trust[0]["interest_income_line"] == "Form 1041, line 1 (interest income)"


def test_a_bad_mapping_is_a_usage_error_naming_file_and_key(tmp_path, capsys):
    mapping = tmp_path / "firm.toml"
    packaged = (Path(cpdi.__file__).parent / "templates" / "forms.toml").read_text()
    mapping.write_text(packaged.replace("[individual.txf_boxes]\nA = 321", "[individual.txf_boxes]\nA = 323"))
    out = tmp_path / "out"
    code, text, err = run(capsys, "forms", EXAMPLE, "--year", YEAR, "--out", out, "--mapping", mapping)
    assert code == 2 and text == ""
    assert err.count("\n") == 1
    assert f"form mapping {mapping}, key individual.txf_boxes.A" in err
    mapping.write_text("[individual\n")
    code, _, err = run(capsys, "forms", EXAMPLE, "--year", YEAR, "--out", out, "--mapping", mapping)
    assert code == 2 and err.count("\n") == 1 and "not valid TOML" in err
    assert not out.exists()


def test_year_outside_the_lives_and_out_a_file_are_refused(tmp_path, capsys):
    code, _, err = run(capsys, "forms", EXAMPLE, "--year", 2040, "--out", tmp_path / "out")
    assert code == 2 and "outside the instruments' lives" in err and err.count("\n") == 1
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(capsys, "forms", EXAMPLE, "--year", YEAR, "--out", afile)
    assert code == 2 and "existing file" in err


def test_an_input_problem_still_writes_the_rest_and_exits_1(tmp_path, capsys):
    folder = copy_example(tmp_path, **{"H-1004,L-0007,02687QCD8,100000": "H-1004,L-0007,02687QCD8,-5"})
    out = tmp_path / "out"
    code, text, err = run(capsys, "forms", folder, "--year", YEAR, "--out", out)
    assert code == 1
    assert "lots.csv" in err and "Traceback" not in err
    assert "1 lot(s) not computed" in text.splitlines()[-1]
    assert len(rows(out / "form8949_2025.csv")) == 3


def test_broker_figures_are_reconciled_and_a_flagged_line_fails(tmp_path, capsys, monkeypatch,
                                                               plain_example):
    """With broker figures the command hands reconcile() the year's figures, the forms, the
    ledgers and the usable schedules, writes reconciliation_YYYY.csv, and exits 1 when a
    line is flagged."""
    from cpdi import cli
    from cpdi.engine import reconciliation
    from cpdi.model import BrokerFigure

    figures = (BrokerFigure("H-1002", "02687QCD8", YEAR, "1099-B", "1d", 48900.0, "L-0003"),
               BrokerFigure("H-1002", "02687QCD8", 2024, "1099-OID", "1", 10.0))
    real_load = cli._load
    monkeypatch.setattr(cli, "_load", lambda args: replace(real_load(args), broker_1099=figures))
    seen = {}

    def reconcile(given, forms, ledgers, year, schedules):
        seen.update(figures=given, holders=list(forms), lots=len(ledgers), year=year,
                    schedules=sorted(schedules))
        return [reconciliation.ReconciliationLine(
            "H-1002", "02687QCD8", "1099-B", "1d", 48900.0, 48800.0, 100.0, "check", False)]

    def write_reconciliation_csv(lines, path, tins):
        Path(path).write_text("flagged\n")
        return len(lines)

    monkeypatch.setattr(reconciliation, "reconcile", reconcile, raising=False)
    fake = types.ModuleType("cpdi.writers.forms.reconciliation")
    fake.write_reconciliation_csv = write_reconciliation_csv
    monkeypatch.setitem(sys.modules, "cpdi.writers.forms.reconciliation", fake)
    out = tmp_path / "out"
    code, text, _ = run(capsys, "forms", plain_example, "--year", YEAR, "--out", out)
    assert code == 1
    assert seen == dict(figures=figures[:1], holders=["H-1001", "H-1002", "H-1003", "H-1004"],
                        lots=8, year=YEAR, schedules=["02687QCD8", "US00EQLN2029", "US00RANGE2032"])
    assert f"wrote {out / 'reconciliation_2025.csv'}: 1 line(s), 1 flagged" in text
    assert text.splitlines()[-1].endswith("1 reconciliation line(s) flagged: see reconciliation_2025.csv")

"""Only real workbooks: a holder with no ledger row in the year gets no workbook, is counted
apart from successes and failures, and is listed in the summary; the summary links each holder
to their workbook and lists the holders that failed by masked id (docs/formats.md, "The output
folder")."""

from __future__ import annotations

import csv
import json
import re
import shutil
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

import cpdi
from cpdi import api
from cpdi.batch import MANIFEST, BatchOptions, run_batch
from cpdi.cli import main
from cpdi.model import Holder
from cpdi.problems import Problem
from cpdi.writers.template import load_template
from cpdi.writers.workpapers import WorkpaperError, write_holder_workbook, write_summary_workbook

EXAMPLE = cpdi.example_path()
PREPARED = "2026-01-15"
WRITTEN = {f"H-100{i}_2025.xlsx" for i in range(1, 5)}

# a note that matured in 2021, and two holders who hold nothing in 2025: H-1005's lot of it has
# no disposition date (the engine ends it at maturity), H-1006 is in holders.csv without lots
OLD_NOTE = {
    "instruments.csv": "OLDNOTE21,Old note matured 2021,2018-01-15,2021-01-15,1000,1000,5.00,1,ACT/ACT\n",
    "schedule.csv": ("OLDNOTE21,2018-01-15,2019-01-15,50.0000,fixed\n"
                     "OLDNOTE21,2019-01-15,2020-01-15,50.0000,fixed\n"
                     "OLDNOTE21,2020-01-15,2021-01-15,1050.0000,contingent\n"),
    "payments.csv": "OLDNOTE21,2021-01-15,1060.0000,scheduled\n",
}
IDLE_LOT = "H-1005,L-0009,OLDNOTE21,10000,2018-01-15,10000,,,,,\n"
IDLE_HOLDERS = ("H-1005,Matured Holdings LLC,55-5555555,corporation,R. Osei\n"
                "H-1006,No Lots Yet Inc,66-6666666,corporation,M. Chen\n")  # holders.csv: …, filer_type, advisor


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)


def idle_folder(tmp_path: Path, name: str = "in") -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    for file, text in OLD_NOTE.items():
        append(folder / file, text)
    append(folder / "lots.csv", IDLE_LOT)
    append(folder / "holders.csv", IDLE_HOLDERS)
    return folder


def workpapers(folder: Path, out: Path, *extra) -> int:
    return main(["workpapers", str(folder), "--year", "2025", "--out", str(out), "--prepared", PREPARED,
                 "--quiet", "--workers", "1", *map(str, extra)])


def workbooks_in(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.suffix == ".xlsx" and not p.name.startswith("summary")}


def cells(ws) -> dict[str, object]:
    return {c.coordinate: c for row in ws.iter_rows() for c in row if c.value is not None}


def section(ws, title: str) -> list[tuple]:
    """The rows of the table under a section title: its header row, then its data rows (values
    of the first columns), up to the first empty row."""
    start = next(c.row for c in ws["A"] if c.value == title)
    rows = []
    for r in range(start + 1, ws.max_row + 1):
        values = tuple(ws.cell(r, col).value for col in range(1, 6))
        if all(v is None for v in values):
            break
        rows.append(values)
    return rows


def rewrite_lots(folder: Path, change) -> None:
    path = folder / "lots.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(filter(None, (change(dict(r)) for r in rows)))


def rename_holder(folder: Path, old: str, new: str) -> None:
    """``old``'s lots and broker figures under the holder id ``new`` (holders.csv is left to
    the test)."""
    rewrite_lots(folder, lambda r: {**r, "holder_id": new} if r["holder_id"] == old else r)
    broker = folder / "broker_1099.csv"
    if broker.exists():
        broker.write_text(re.sub(rf"^{re.escape(old)},", f"{new},", broker.read_text(), flags=re.M))


# -- the batch ------------------------------------------------------------------------------------
def test_idle_holders_get_no_workbook_and_are_counted_apart(tmp_path, capsys):
    folder, out = idle_folder(tmp_path), tmp_path / "out"
    assert workpapers(folder, out) == 0
    text = capsys.readouterr()
    assert workbooks_in(out) == WRITTEN  # no workbook of zeros for H-1005, none for H-1006
    line = text.out.strip().splitlines()[-1]
    assert "4 workbook(s) for 2025" in line and "2 holder(s) held nothing in 2025" in line
    assert "0 holder(s) failed" in line
    entries = json.loads((out / MANIFEST).read_text())["years"]["2025"]["workbooks"]
    assert set(entries) == WRITTEN

    report = run_batch(api.load(folder), BatchOptions(2025, tmp_path / "again", prepared=date(2026, 1, 15),
                                                      workers=1, quiet=True))
    assert (report.holders_ok, report.holders_idle, report.holders_failed) == (4, 2, 0)
    assert report.idle == ["H-1005", "H-1006"] and report.exit_code == 0
    assert report.holders_total == 4  # the holders of the run: written or failed


def test_idle_holders_are_listed_in_the_summary(tmp_path):
    folder, out = idle_folder(tmp_path), tmp_path / "out"
    assert workpapers(folder, out) == 0
    t = load_template()
    ws = openpyxl.load_workbook(out / "summary_2025.xlsx").active
    counts = {ws.cell(r, 1).value: ws.cell(r, 4).value for r in range(4, 8)}
    assert counts[t.line("holders_ok", 2025)] == 4
    assert counts[t.line("holders_idle", 2025)] == 2
    assert counts[t.line("holders_failed", 2025)] == 0
    idle = section(ws, t.section("summary_idle", 2025))
    labels = t.tables["summary_idle"].labels
    assert idle[0][:3] == (labels["holder_id"], labels["name"], labels["lots"])
    assert [row[:3] for row in idle[1:]] == [("H-1005", "Matured Holdings LLC", 1),
                                             ("H-1006", "No Lots Yet Inc", 0)]
    # the count links to the table
    link = next(c for c in cells(ws).values() if c.hyperlink is not None and c.hyperlink.location)
    title = next(c.row for c in ws["A"] if c.value == t.section("summary_idle", 2025))
    assert link.row == 5 and link.hyperlink.location == f"'Summary'!A{title}"
    assert section(ws, t.section("summary_failed", 2025)) == [(t.line("none"), None, None, None, None)]


def test_an_idle_holders_earlier_workbook_is_removed(tmp_path, capsys):
    """Both ways of holding nothing: H-1005's lot moves to a note that matured in 2021 (found when
    the holder is computed); H-1006 keeps a holders.csv row but loses their lot (found when the
    run is planned).  Each loses the workbook an earlier run wrote, and the run says so."""
    folder, out = idle_folder(tmp_path), tmp_path / "out"
    rewrite_lots(folder, lambda r: {**r, "instrument_id": "US00EQLN2029", "acquisition_date": "2023-01-10"}
                 if r["holder_id"] == "H-1005" else r)
    append(folder / "lots.csv", "H-1006,L-0010,US00EQLN2029,10000,2023-01-10,10000,,,,,\n")
    assert workpapers(folder, out) == 0
    assert workbooks_in(out) == WRITTEN | {"H-1005_2025.xlsx", "H-1006_2025.xlsx"}
    capsys.readouterr()

    rewrite_lots(folder, lambda r: None if r["holder_id"] == "H-1006" else
                 {**r, "instrument_id": "OLDNOTE21", "acquisition_date": "2018-01-15"}
                 if r["holder_id"] == "H-1005" else r)
    assert workpapers(folder, out, "--resume") == 0
    text = capsys.readouterr()
    assert workbooks_in(out) == WRITTEN
    assert "removed 1 workbook(s) of holders who held nothing in 2025: H-1006_2025.xlsx" in text.err
    assert ("removed 1 workbook(s) of earlier runs for holders whose lots all ended before 2025 "
            "(nothing held in 2025): H-1005_2025.xlsx") in text.err
    assert "no longer in the input" not in text.err
    assert "(4 unchanged, kept)" in text.out and "2 holder(s) held nothing in 2025" in text.out
    entries = json.loads((out / MANIFEST).read_text())["years"]["2025"]["workbooks"]
    assert set(entries) == WRITTEN


def test_write_holder_workbook_refuses_a_holder_with_no_lot_in_the_year(tmp_path):
    portfolio = api.load(idle_folder(tmp_path))
    result = api.compute(portfolio, 2025)
    ledgers = [l for l in result.ledgers if l.lot.holder_id == "H-1005"]
    assert ledgers and all(y.tax_year < 2025 for l in ledgers for y in l.years)
    target = tmp_path / "H-1005_2025.xlsx"
    with pytest.raises(WorkpaperError) as refused:
        write_holder_workbook(target, portfolio.holders["H-1005"], "H-1005", 2025, ledgers, result.books,
                              None, date(2026, 1, 15))
    assert str(refused.value) == "holder H-1005 held no lot in 2025: no workbook is written"
    assert not target.exists() and not list(tmp_path.glob("*.part"))
    with pytest.raises(WorkpaperError, match=r"^holder \*\*\*\*\*6789 held no lot in 2025"):
        write_holder_workbook(target, Holder("123-45-6789", "x", "123-45-6789"), "123-45-6789", 2025, [], {},
                              None, date(2026, 1, 15))


# -- the summary's links and failed holders ----------------------------------------------------------
def test_summary_links_point_at_the_workbooks_that_exist(tmp_path):
    folder, out = idle_folder(tmp_path), tmp_path / "out"
    # a holder whose id is a taxpayer id: their file name, link and text are masked
    rename_holder(folder, "H-1004", "123-45-6789")
    text = (folder / "holders.csv").read_text().replace("H-1004,", "123-45-6789,")
    (folder / "holders.csv").write_text(text)
    assert workpapers(folder, out) == 0
    ws = openpyxl.load_workbook(out / "summary_2025.xlsx").active
    t = load_template()
    total = next(c.row for c in ws["A"] if c.value == t.line("total"))
    linked = {}
    for r in range(10, total):
        cell = ws.cell(r, 1)
        assert cell.hyperlink is not None, cell.coordinate
        assert (out / cell.hyperlink.target).is_file(), cell.hyperlink.target
        linked.setdefault(cell.value, set()).add(cell.hyperlink.target)
    masked = next(n for n in workbooks_in(out) if n.startswith("_____6789--"))
    assert linked == {"H-1001": {"H-1001_2025.xlsx"}, "H-1002": {"H-1002_2025.xlsx"},
                      "H-1003": {"H-1003_2025.xlsx"}, "*****6789": {masked}}
    assert set().union(*linked.values()) == workbooks_in(out)
    # the table of the return's totals by character links each holder the same way
    title = next(c.row for c in ws["A"] if c.value == t.section("summary_forms", 2025))
    forms = {ws.cell(r, 1).value: ws.cell(r, 1).hyperlink.target for r in range(title + 2, title + 6)}
    assert forms == {holder: target for holder, (target,) in linked.items()}


TINS = ("123-45-6789", "987-65-4321")


def test_failed_holders_are_listed_by_masked_id_with_their_first_problem(tmp_path, capsys):
    folder, out = idle_folder(tmp_path), tmp_path / "out"
    rename_holder(folder, "H-1004", "123-45-6789")
    text = (folder / "holders.csv").read_text().replace("H-1004,Kim & Sato Partners LLC,33-1122334",
                                                        "123-45-6789,Kim 987654321 Partners,123-45-6789")
    (folder / "holders.csv").write_text(text)
    append(folder / "lots.csv", "123-45-6789,BAD-1,02687QCD8,-1000,2020-01-01,1000,,,,,\n")
    assert workpapers(folder, out) == 1
    capsys.readouterr()
    t = load_template()
    ws = openpyxl.load_workbook(out / "summary_2025.xlsx").active
    counts = {ws.cell(r, 1).value: ws.cell(r, 4).value for r in range(4, 8)}
    assert counts[t.line("holders_failed", 2025)] == 1
    rows = section(ws, t.section("summary_failed", 2025))
    labels = t.tables["summary_failed"].labels
    assert rows[0] == tuple(labels[c] for c in t.tables["summary_failed"].order)
    (holder_id, name, problems, see, first), = rows[1:]
    assert (holder_id, name, problems, see) == ("*****6789", "Kim *****4321 Partners", 1,
                                                "all listed in exceptions_2025.csv")
    assert first.startswith("lots.csv row 11, column principal_amount: principal amount must be greater than 0")
    title = next(c.row for c in ws["A"] if c.value == t.section("summary_failed", 2025))
    assert ws["E6"].hyperlink.location == f"'Summary'!A{title}"
    assert_no_tin_in_xlsx(out / "summary_2025.xlsx", *TINS)


def assert_no_tin_in_xlsx(path: Path, *tins: str) -> None:
    """No spelling of ``tins`` (digits with up to three non-word characters between them) in any
    part of the workbook: cells, links, properties."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            text = archive.read(name).decode("utf-8", "replace")
            for tin in tins:
                digits = re.sub(r"\D", "", tin)
                pattern = r"(?<!\d)" + r"[\W_]{0,3}".join(digits) + r"(?!\d)"
                assert not re.search(pattern, text), f"{tin} in {path.name}:{name}"


def test_summary_tables_mask_every_taxpayer_id(tmp_path):
    """The failed and idle tables mask the holder's own TIN in any spelling and every other
    holder's; a link's address goes through the privacy layer too."""
    holders = {
        "123-45-6789": Holder("123-45-6789", "Owner 123.45.6789", "123-45-6789"),
        "H-2": Holder("H-2", "Second 9876 54321", "987-65-4321"),
        "H-3": Holder("H-3", "Idle 123 45 6789", "111-22-3333"),
    }
    failed = {
        "123-45-6789": [Problem("lots.csv", 4, "cost_basis", "lot of 123_45_6789 and of 987.65.4321", "fix",
                                "123-45-6789", "123-45-6789")],
        "H-2": [Problem("holders.csv", 3, "tin", "is not valid for 98765-4321", "", "987-65-4321", "H-2")],
    }
    rows = [{"holder_id": "H-2", "name": "Second", "instrument_id": "X", "lots": 1,
             **{c: 0.0 for c in ("interest_income", "ordinary_loss", "carryforward_out", "proceeds",
                                 "amount_realized", "adjusted_basis", "ordinary_income_on_disposition",
                                 "ordinary_loss_on_disposition", "capital_loss_on_disposition",
                                 "capital_gain_on_disposition", "adjusted_basis_end")},
             "workbook": "123-45-6789_2025.xlsx"}]  # a name from elsewhere: masked on its way out
    path = write_summary_workbook(tmp_path / "summary.xlsx", 2025, rows, None, date(2026, 1, 15), 1, 2,
                                  failed=failed, idle=["H-3"], holders=holders,
                                  lots_in_input={"H-3": 2})
    assert_no_tin_in_xlsx(path, *TINS, "111-22-3333")
    ws = openpyxl.load_workbook(path).active
    values = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"*****6789", "Owner *****6789", "Idle *****6789"} <= values
    assert ws["A10"].hyperlink.target == "*****6789_2025.xlsx"


def test_summary_without_the_new_arguments_still_writes(tmp_path):
    """The positional call of earlier code and tests: both tables say "None."."""
    path = write_summary_workbook(tmp_path / "s.xlsx", 2025, [], None, date(2026, 1, 15), 0, 0)
    ws = openpyxl.load_workbook(path).active
    t = load_template()
    for title in (t.section("summary_failed", 2025), t.section("summary_idle", 2025)):
        assert section(ws, title) == [(t.line("none"), None, None, None, None)]

"""The year-end batch's output folder tells the truth: after a rerun it holds this run's
holders only; the manifest never claims a workbook it has not verified, even after SIGKILL; it
keeps no personal data; a malformed manifest, a second run, a full disk or an unusable lots
table each give one plain line, never a traceback (docs/formats.md, "The output folder").
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pytest
from xlsxwriter.exceptions import FileCreateError

import cpdi
import cpdi.writers.workpapers as workpapers
from cpdi import batch
from cpdi.api import load
from cpdi.batch import LOCK, MANIFEST, BatchOptions, FolderLocked, run_batch
from cpdi.cli import main
from cpdi.synthetic import random_portfolio, write_csv_folder

EXAMPLE = cpdi.example_path()
PREPARED = "2026-01-15"
HOLDERS = {f"H-100{i}_2025.xlsx" for i in range(1, 5)}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def workpapers_cli(*args) -> int:
    return main(["workpapers", *map(str, args)])


def example_copy(tmp_path: Path, name: str = "in") -> Path:
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    return folder


def rewrite_csv(path: Path, keep=lambda row: True, change=lambda row: row) -> None:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0].keys()) if rows else []
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(change(dict(r)) for r in rows if keep(r))


def manifest_of(out: Path) -> dict:
    return json.loads((out / MANIFEST).read_text(encoding="utf-8"))


def dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


# -- 1. after a rerun the folder holds this run's holders only --------------------------------------
def test_rerun_removes_workbooks_of_holders_no_longer_in_the_input(tmp_path, capsys):
    folder, out = example_copy(tmp_path), tmp_path / "out"
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    assert HOLDERS <= set(files_of(out))
    (out / "notes_2025.xlsx").write_bytes(b"the preparer's own file")  # not ours: never removed
    capsys.readouterr()

    # H-1004 leaves the input; H-1003 now fails (a bad lot); the rest unchanged
    rewrite_csv(folder / "lots.csv", keep=lambda r: r["holder_id"] != "H-1004")
    rewrite_csv(folder / "holders.csv", keep=lambda r: r["holder_id"] != "H-1004")
    with (folder / "lots.csv").open("a") as handle:
        handle.write("H-1003,BAD-9,02687QCD8,-1000,2020-01-01,1000,,,,,\n")
    code = workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet", "--resume")
    assert code == 1
    text = capsys.readouterr()
    names = set(files_of(out))
    assert "H-1004_2025.xlsx" not in names and "H-1003_2025.xlsx" not in names
    assert {"H-1001_2025.xlsx", "H-1002_2025.xlsx", "notes_2025.xlsx"} <= names
    assert "removed 1 workbook(s) of holders no longer in the input: H-1004_2025.xlsx" in text.err
    assert "removed 1 workbook(s) of earlier runs for holders who fail now" in text.err
    assert "H-1003_2025.xlsx" in text.err
    assert "left in place: notes_2025.xlsx" in text.err
    assert "2 workbook(s) for 2025" in text.out and "(2 unchanged, kept)" in text.out
    entries = manifest_of(out)["years"]["2025"]["workbooks"]
    assert set(entries) == {"H-1001_2025.xlsx", "H-1002_2025.xlsx"}


def test_holder_with_nothing_held_in_the_year_loses_their_old_workbook(tmp_path, capsys):
    folder, out = example_copy(tmp_path), tmp_path / "out"
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    # every lot of H-1003 now sold in 2024: nothing held in 2025
    rewrite_csv(folder / "lots.csv", change=lambda r: {**r, "disposition_date": "2024-06-30",
                                                       "proceeds": r["cost_basis"]}
                if r["holder_id"] == "H-1003" else r)
    capsys.readouterr()
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    assert "H-1003_2025.xlsx" not in files_of(out)
    text = capsys.readouterr()
    assert "removed 1 workbook(s) of holders who held nothing in 2025: H-1003_2025.xlsx" in text.err
    assert "3 workbook(s) for 2025" in text.out and "1 holder(s) held nothing in 2025" in text.out


def test_removed_workbook_names_are_masked_when_tin_shaped(tmp_path, capsys):
    folder, out = example_copy(tmp_path), tmp_path / "out"
    rewrite_csv(folder / "lots.csv", change=lambda r: {**r, "holder_id": "123-45-6789"}
                if r["holder_id"] == "H-1004" else r)
    rewrite_csv(folder / "holders.csv", change=lambda r: {**r, "holder_id": "123-45-6789"}
                if r["holder_id"] == "H-1004" else r)
    rewrite_csv(folder / "broker_1099.csv", keep=lambda r: r["holder_id"] != "H-1004")
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    rewrite_csv(folder / "lots.csv", keep=lambda r: r["holder_id"] != "123-45-6789")
    rewrite_csv(folder / "holders.csv", keep=lambda r: r["holder_id"] != "123-45-6789")
    capsys.readouterr()
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    err = capsys.readouterr().err
    assert "removed 1 workbook(s) of holders no longer in the input" in err
    assert "6789" in err and "123-45-6789" not in err and "123456789" not in err
    assert len([n for n in files_of(out) if n.endswith("_2025.xlsx") and not n.startswith("summary")]) == 3


def test_only_files_the_manifest_names_are_removed(tmp_path):
    """A manifest naming a file outside the folder, the summary, or a non-workbook is not one
    cpdi wrote: it is ignored as a whole and nothing it names is touched."""
    out = tmp_path / "out"
    out.mkdir()
    victim = tmp_path / "victim_2025.xlsx"
    victim.write_bytes(b"keep me")
    (out / "input_2025.csv").write_bytes(b"keep me too")
    for name in ("../victim_2025.xlsx", "input_2025.csv", "summary_2025.xlsx", "C:victim_2025.xlsx"):
        (out / MANIFEST).write_text(json.dumps({
            "format": "cpdi-workpapers-manifest", "version": 2,
            "years": {"2025": {"summary": False, "workbooks": {name: {"pending": True}}}}}))
        report = run_batch(load(EXAMPLE), BatchOptions(2025, out, prepared=date(2026, 1, 15),
                                                        workers=1, quiet=True))
        assert any("cannot be used" in n for n in report.notes), name
        assert victim.read_bytes() == b"keep me" and (out / "input_2025.csv").exists()


# -- 2. the manifest never claims a workbook it has not verified ------------------------------------
def _change_half_the_holders(source: Path, target: Path) -> set[str]:
    shutil.copytree(source, target)
    maturity = {r["instrument_id"]: r["maturity_date"]
                for r in csv.DictReader((source / "instruments.csv").open())}
    # only holders with a lot still accruing in 2024: their 2024 workbook shows the cost
    holders = sorted({r["holder_id"] for r in csv.DictReader((source / "lots.csv").open())
                      if maturity[r["instrument_id"]] >= "2024"
                      and (r["disposition_date"] or "9999") >= "2024"})
    changed = set(holders[::2])
    rewrite_csv(target / "lots.csv", change=lambda r: {**r, "cost_basis": repr(float(r["cost_basis"]) * 1.01)}
                if r["holder_id"] in changed else r)
    return changed


def test_sigkill_mid_resume_on_changed_inputs_then_resume_is_truthful(tmp_path, capsys):
    """Run on A; --resume on B (half the holders changed) killed with SIGKILL mid-run; --resume
    on A again must give exactly the clean run of A — not keep workbooks holding B's figures."""
    # seed 34: 112 of the 160 holders hold a lot in 2024 (a holder who holds nothing gets no workbook)
    inputs_a = write_csv_folder(random_portfolio(34, instruments=8, holders=160), tmp_path / "a")
    changed = _change_half_the_holders(inputs_a, tmp_path / "b")
    out = tmp_path / "out"
    run_batch(load(inputs_a), BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=2, quiet=True))
    clean_a = files_of(out)
    workbooks = [n for n in clean_a if n.startswith("H")]
    assert len(workbooks) > 100

    time.sleep(0.05)
    started = time.time_ns()
    child = subprocess.Popen(
        [sys.executable, "-m", "cpdi.cli", "workpapers", str(tmp_path / "b"), "--year", "2024",
         "--out", str(out), "--resume", "--workers", "1", "--prepared", "2025-02-01", "--quiet"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and child.poll() is None:
            with os.scandir(out) as entries:
                fresh = [e.name for e in entries
                         if e.name.startswith("H") and e.stat().st_mtime_ns > started]
            if len(fresh) >= 4:
                os.killpg(child.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL, "the run finished before it could be killed: grow the portfolio"
    after_kill = files_of(out)
    holding_b = [n for n in workbooks if after_kill.get(n) != clean_a[n]]
    assert holding_b, "some workbooks hold B's figures"

    capsys.readouterr()
    code = workpapers_cli(inputs_a, "--year", 2024, "--out", out, "--resume", "--workers", 1,
                          "--prepared", "2025-02-01", "--quiet")
    assert code == 0
    text = capsys.readouterr()
    assert files_of(out) == clean_a  # byte for byte, manifest and summary included
    assert LOCK in after_kill and not (out / LOCK).exists(), "SIGKILL leaves the lock; the resume takes it over"
    assert "took over the lock of run pid" in text.err and "no longer running" in text.err
    # what the manifest said at the moment of the kill was true of every workbook it verified
    manifest = json.loads(after_kill[MANIFEST])
    for name, entry in manifest["years"]["2024"]["workbooks"].items():
        if not entry.get("pending"):
            data = after_kill[name]
            assert (hashlib.sha256(data).hexdigest(), len(data)) == (entry["sha256"], entry["size"]), name
    # kept: exactly the holders B left unchanged (their workbooks were never touched); the rest,
    # written by B or only about to be, were rewritten
    unchanged = [n for n in workbooks if n.split("_")[0] not in changed]
    assert f"({len(unchanged)} unchanged, kept)" in text.out


def test_manifest_entry_of_a_workbook_being_replaced_is_gone_first(tmp_path, synthetic_small, monkeypatch):
    out = tmp_path / "out"
    run_batch(load(synthetic_small), BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=1, quiet=True))
    seen = []
    real = workpapers.write_holder_workbook

    def watching(target, *args, **kwargs):
        entry = manifest_of(out)["years"]["2024"]["workbooks"].get(Path(target).name)
        seen.append(entry)
        return real(target, *args, **kwargs)

    monkeypatch.setattr(workpapers, "write_holder_workbook", watching)
    # a different prepared date changes every workbook: every one is rewritten …
    report = run_batch(load(synthetic_small), BatchOptions(2024, out, prepared=date(2025, 2, 2),
                                                           workers=1, quiet=True, resume=True))
    assert report.holders_skipped == 0 and len(seen) == report.holders_ok > 3
    # … and while each is written, the manifest claims nothing about it
    assert all(entry == {"pending": True} for entry in seen)


def test_resume_honours_prepared_and_checks_the_bytes_on_disk(tmp_path, synthetic_small):
    out = tmp_path / "out"
    portfolio = load(synthetic_small)
    first = run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=1, quiet=True))
    before = files_of(out)
    # same inputs, same date: all kept
    again = run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=1, quiet=True, resume=True))
    assert again.holders_skipped == first.holders_ok and files_of(out) == before
    # a workbook edited (or damaged) on disk is not kept, whatever its name and fingerprint
    victim = first.workbooks[0]
    victim.write_bytes(victim.read_bytes()[:-10] + b"0123456789")
    again = run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=1, quiet=True, resume=True))
    assert again.holders_skipped == first.holders_ok - 1 and files_of(out) == before
    # another prepared date is in every workbook: nothing is kept
    other = run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 3, 1), workers=1, quiet=True, resume=True))
    assert other.holders_skipped == 0
    assert all(files_of(out)[p.name] != before[p.name] for p in first.workbooks)


def test_leftover_part_files_of_killed_runs_are_removed(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    dead = out / f".H-1001_2025.xlsx.{dead_pid()}-0123456789ab-7.part"
    live = out / f".H-1002_2025.xlsx.{os.getppid()}-0123456789ab-3.part"  # a writer that still runs
    other = out / ".not-ours.part"
    for path in (dead, live, other):
        path.write_bytes(b"half a workbook")
    assert workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    assert not dead.exists() and live.exists() and other.exists()
    assert "removed 1 unfinished temporary file(s)" in capsys.readouterr().err


# -- 3. the manifest keeps no personal data ------------------------------------------------------
def test_manifest_holds_file_names_fingerprints_and_digests_only(tmp_path, synthetic_small):
    out = tmp_path / "out"
    portfolio = load(synthetic_small)
    run_batch(portfolio, BatchOptions(2024, out, prepared=date(2025, 2, 1), workers=2, quiet=True))
    text = (out / MANIFEST).read_text()
    for holder in portfolio.holders.values():
        assert holder.name not in text
        assert holder.tin not in text and "*****" not in text  # no TIN, not even masked
    doc = json.loads(text)
    assert set(doc) == {"format", "version", "years"}
    for name, entry in doc["years"]["2024"]["workbooks"].items():
        assert name.endswith("_2024.xlsx") and set(entry) == {"fingerprint", "sha256", "size"}


def test_fingerprint_sees_the_tin_only_as_the_workbook_shows_it(tmp_path):
    """The workbook shows a TIN's last four digits: a change there rewrites the workbook, a change
    the workbook cannot show keeps it (and the manifest never needed the full id)."""
    folder, out = example_copy(tmp_path), tmp_path / "out"
    options = dict(prepared=date(2026, 1, 15), workers=1, quiet=True, resume=True)
    run_batch(load(folder), BatchOptions(2025, out, **options))
    before = files_of(out)
    rewrite_csv(folder / "holders.csv", change=lambda r: {**r, "tin": "555-55-4321"}
                if r["holder_id"] == "H-1002" else r)  # was 987-65-4321
    report = run_batch(load(folder), BatchOptions(2025, out, **options))
    assert report.holders_skipped == 4 and files_of(out) == before
    rewrite_csv(folder / "holders.csv", change=lambda r: {**r, "tin": "555-55-4322"}
                if r["holder_id"] == "H-1002" else r)
    report = run_batch(load(folder), BatchOptions(2025, out, **options))
    assert report.holders_skipped == 3 and files_of(out)["H-1002_2025.xlsx"] != before["H-1002_2025.xlsx"]


def test_kept_holders_summary_rows_are_recomputed(tmp_path, synthetic_small):
    clean, resumed = tmp_path / "clean", tmp_path / "resumed"
    portfolio = load(synthetic_small)
    run_batch(portfolio, BatchOptions(2024, clean, prepared=date(2025, 2, 1), workers=1, quiet=True))
    run_batch(portfolio, BatchOptions(2024, resumed, prepared=date(2025, 2, 1), workers=1, quiet=True))
    (resumed / "summary_2024.xlsx").unlink()
    report = run_batch(portfolio, BatchOptions(2024, resumed, prepared=date(2025, 2, 1), workers=2,
                                               quiet=True, resume=True))
    assert report.holders_skipped == report.holders_ok
    assert (resumed / "summary_2024.xlsx").read_bytes() == (clean / "summary_2024.xlsx").read_bytes()


# -- 4. a malformed manifest ---------------------------------------------------------------------
MALFORMED = {
    "a list": "[1, 2, 3]",
    "a string": '"H-1001_2025.xlsx"',
    "invalid JSON": '{"year": 2025, "holders": {',
    "not UTF-8": b"\xff\xfe{\x00".decode("latin-1"),
    "no file": json.dumps({"year": 2025, "holders": {"H-1001": {"fingerprint": "x"}}}),
    "no fingerprint": json.dumps({"year": 2025, "holders": {"H-1001": {"file": "H-1001_2025.xlsx"}}}),
    "wrong types": json.dumps({"year": "2025", "holders": [1]}),
    "entry a number": json.dumps({"year": 2025, "holders": {"H-1001": 7}}),
    "v2 size as text": json.dumps({"format": "cpdi-workpapers-manifest", "version": 2, "years": {"2025": {
        "workbooks": {"H-1001_2025.xlsx": {"fingerprint": "0" * 64, "sha256": "0" * 64, "size": "1"}}}}}),
    "v2 no fingerprint": json.dumps({"format": "cpdi-workpapers-manifest", "version": 2, "years": {"2025": {
        "workbooks": {"H-1001_2025.xlsx": {"sha256": "0" * 64, "size": 1}}}}}),
    "v2 years a list": json.dumps({"format": "cpdi-workpapers-manifest", "version": 2, "years": []}),
    "future version": json.dumps({"format": "cpdi-workpapers-manifest", "version": 9, "years": {}}),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_manifest_is_treated_as_absent_in_one_line(tmp_path, capsys, kind):
    out = tmp_path / "out"
    assert workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    (out / MANIFEST).write_text(MALFORMED[kind], encoding="latin-1" if kind == "not UTF-8" else "utf-8")
    capsys.readouterr()
    code = workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet", "--resume")
    assert code == 0
    text = capsys.readouterr()
    notes = [line for line in text.err.splitlines() if "manifest" in line]
    assert len(notes) == 1 and "cannot be used" in notes[0] and "every holder is rewritten" in notes[0]
    assert "Traceback" not in text.err and "unchanged, kept" not in text.out
    assert "4 workbook(s) for 2025" in text.out
    assert manifest_of(out)["version"] == 2  # replaced by a good one


def test_first_format_manifest_names_its_workbooks_for_removal(tmp_path, capsys):
    """A manifest of cpdi's first format (holder ids and summary rows) is replaced; its file names
    still count as ours, so a departed holder's workbook goes."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "H-0999_2025.xlsx").write_bytes(b"old")
    (out / MANIFEST).write_text(json.dumps({"year": 2025, "cpdi": "0.1", "holders": {
        "H-0999": {"file": "H-0999_2025.xlsx", "fingerprint": "f", "summary": [{"name": "Jane"}]}}}))
    assert workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    assert not (out / "H-0999_2025.xlsx").exists()
    assert "Jane" not in (out / MANIFEST).read_text()


# -- 5. two batches into one folder -------------------------------------------------------------
def test_second_run_into_a_locked_folder_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (out / LOCK).write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname(),
                                            "started": "2026-01-15T09:00:00+00:00"}))
        code = workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet")
        err = capsys.readouterr().err
        assert code == 1
        assert len(err.strip().splitlines()) == 1 and f"pid {holder.pid}" in err and "Traceback" not in err
        assert (out / LOCK).exists() and not any(out.glob("*.xlsx"))
    finally:
        holder.kill()
        holder.wait()
    # its process is gone: the lock is stale, reported and taken over
    assert workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    assert f"took over the lock of run pid {holder.pid}" in capsys.readouterr().err
    assert not (out / LOCK).exists()


def test_lock_of_another_host_is_not_taken_over(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text(json.dumps({"pid": 1, "host": "elsewhere.example", "started": "x"}))
    with pytest.raises(FolderLocked, match="elsewhere.example"):
        run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))


def test_run_in_the_same_process_is_refused_while_the_first_holds_the_folder(tmp_path, monkeypatch):
    out = tmp_path / "out"
    portfolio = load(EXAMPLE)
    real = batch._holder_task
    refused = []

    def nested(holder_id):
        with pytest.raises(FolderLocked, match=f"pid {os.getpid()}"):
            run_batch(portfolio, BatchOptions(2025, out, workers=1, quiet=True))
        refused.append(holder_id)
        return real(holder_id)

    monkeypatch.setattr(batch, "_holder_task", nested)
    run_batch(portfolio, BatchOptions(2025, out, workers=1, quiet=True))
    assert len(refused) == 4 and not (out / LOCK).exists()


def test_lock_released_on_ctrl_c_and_on_errors(tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"

    def interrupted(holder_id):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_holder_task", interrupted)
    assert workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--quiet", "--workers", 1) == 130
    assert not (out / LOCK).exists()

    def broken(holder_id):
        raise RuntimeError("boom")

    monkeypatch.setattr(batch, "_holder_task", broken)
    with pytest.raises(RuntimeError):
        run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
    assert not (out / LOCK).exists()


def test_unreadable_lock_is_stale_only_when_old(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / LOCK).write_text("")
    with pytest.raises(FolderLocked, match="being locked"):
        run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
    old = time.time() - 3600
    os.utime(out / LOCK, (old, old))
    report = run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
    assert any("took over an unreadable lock" in n for n in report.notes)


# -- 6. disk full ----------------------------------------------------------------------------------
def _bad_input(tmp_path: Path) -> Path:
    folder = example_copy(tmp_path)
    with (folder / "lots.csv").open("a") as handle:
        handle.write("H-2001,BAD-1,NOPE,1000,2020-01-01,1000,,,,,\n")
    with (folder / "holders.csv").open("a") as handle:
        handle.write("H-2001,Bad One,,x\n")
    return folder


@pytest.mark.parametrize("failure", [
    FileCreateError(OSError(errno.ENOSPC, "No space left on device")),
    OSError(errno.ENOSPC, "No space left on device"),
    OSError(errno.EDQUOT, "Disk quota exceeded"),
])
def test_disk_full_is_one_line_and_the_exceptions_report_is_kept(tmp_path, capsys, monkeypatch, failure):
    folder, out = _bad_input(tmp_path), tmp_path / "out"
    calls = []

    def full(target, *args, **kwargs):
        calls.append(Path(target).name)
        # the exceptions report is already there, with the input problems
        assert "BAD-1" in (out / "exceptions_2025.csv").read_text()
        raise failure

    monkeypatch.setattr(workpapers, "write_holder_workbook", full)
    code = workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet", "--workers", 1)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("cpdi: cannot write ") and "H-1001_2025.xlsx" in last
    reason = "Disk quota exceeded" if "quota" in str(failure) else "No space left on device"
    assert reason in last
    assert "--resume" in last and calls == ["H-1001_2025.xlsx"]  # stopped at the first
    exceptions = (out / "exceptions_2025.csv").read_text()
    assert "BAD-1" in exceptions and "H-1001_2025.xlsx" in exceptions
    assert not (out / LOCK).exists() and not list(out.glob(".*.part"))


def test_disk_full_on_the_summary_is_one_line(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"

    def full(*args, **kwargs):
        raise FileCreateError(OSError(errno.ENOSPC, "No space left on device"))

    monkeypatch.setattr(workpapers, "write_summary_workbook", full)
    code = workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet", "--workers", 1)
    err = capsys.readouterr().err
    assert code == 1 and "Traceback" not in err
    assert err.strip().splitlines()[-1] == f"cpdi: cannot write {out / 'summary_2025.xlsx'}: No space left on device"
    assert manifest_of(out)["years"]["2025"]["summary"] is False


def test_one_unwritable_workbook_fails_its_holder_only(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real = workpapers.write_holder_workbook

    def locked_file(target, *args, **kwargs):
        if Path(target).name == "H-1002_2025.xlsx":  # e.g. open in Excel on Windows
            raise PermissionError(errno.EACCES, "Permission denied", str(target))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(workpapers, "write_holder_workbook", locked_file)
    code = workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet", "--workers", 1)
    text = capsys.readouterr()
    assert code == 1 and "Traceback" not in text.err
    assert "H-1002_2025.xlsx: could not write the workbook: Permission denied" in text.err
    assert "3 workbook(s) for 2025" in text.out and "1 holder(s) failed" in text.out


# -- 7. an unusable lots table ------------------------------------------------------------------
def test_unusable_lots_table_says_no_holder_could_be_computed(tmp_path, capsys):
    folder, out = example_copy(tmp_path), tmp_path / "out"
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    with (folder / "lots.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    cost = rows[0].index("cost_basis")
    with (folder / "lots.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows(r[:cost] + r[cost + 1:] for r in rows)
    capsys.readouterr()
    code = workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet")
    text = capsys.readouterr()
    assert code == 1
    assert "no holder could be computed for 2025 because of the input problems in lots.csv" in text.out
    assert "0 holder(s) failed" not in text.out
    assert "required column cost_basis is missing" in text.err
    # the folder tells the truth: the earlier run's workbooks are not this run's
    assert not any(out.glob("H-*.xlsx")) and "removed 4 workbook(s)" in text.err
    report = run_batch(load(folder), BatchOptions(2025, out, workers=1, quiet=True))
    assert (report.holders_total, report.blocked_by, report.exit_code) == (0, ("lots.csv",), 1)


def test_nobody_holding_in_the_year_is_said_plainly(tmp_path):
    report = run_batch(load(EXAMPLE), BatchOptions(2006, tmp_path / "o", workers=1, quiet=True))
    assert (report.holders_total, report.exit_code) == (0, 0)
    assert report.result_line(tmp_path / "o").startswith("no holder held a lot in 2006: no workbook written")
    assert report.holders_idle == 4 and "(4 holder(s) of the input held nothing in 2006)" in report.result_line("o")


@pytest.fixture(scope="module")
def synthetic_small(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-small")
    write_csv_folder(random_portfolio(5, instruments=4, holders=12), folder)  # 8 hold a lot in 2024
    return folder


# -- 8. workers die with their run; a takeover waits for them -------------------------------------
def _children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
                kids.append(int(entry))
    return kids


def _running(pids) -> list[int]:
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in ("Z", "X"):
            alive.append(pid)
    return alive


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_only_the_main_process_leaves_no_worker_to_overwrite_the_next_run(tmp_path):
    """A = the example; B = A plus 1,200 lots for H-1004 (its workbook takes seconds).  B runs
    with two workers and only its main process is killed (SIGKILL) while H-1004's workbook is
    being written; then A runs with --resume.  The killed run's workers must be gone at once and
    never rename B's workbook over A's."""
    folder_a, folder_b, out = example_copy(tmp_path, "a"), example_copy(tmp_path, "b"), tmp_path / "out"
    with (folder_b / "lots.csv").open("a") as handle:
        for n in range(1200):
            handle.write(f"H-1004,LB-{n},US00EQLN2029,30000,2023-07-01,28900,,,proportional,,400\n")
    command = [sys.executable, "-m", "cpdi.cli", "workpapers", "--year", "2025", "--out", str(out),
               "--prepared", PREPARED, "--quiet", "--workers", "2"]
    subprocess.run(command[:4] + [str(folder_a)] + command[4:], check=True, stdout=subprocess.DEVNULL)
    clean_a = files_of(out)

    run_b = subprocess.Popen(command[:4] + [str(folder_b)] + command[4:] + ["--resume"],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and run_b.poll() is None:
            if list(out.glob(".H-1004_2025.xlsx.*.part")):
                workers = _children_of(run_b.pid)
                os.kill(run_b.pid, signal.SIGKILL)  # the main process only
                break
            time.sleep(0.002)
        run_b.wait()
        assert run_b.returncode == -signal.SIGKILL and workers, "B finished before it could be killed"

        result = subprocess.run(command[:4] + [str(folder_a)] + command[4:] + ["--resume"],
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        deadline = time.monotonic() + 5
        while _running(workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(workers), "the killed run's workers outlived it"
        time.sleep(0.5)
        after = files_of(out)
        assert after["H-1004_2025.xlsx"] == clean_a["H-1004_2025.xlsx"]
        entry = json.loads(after[MANIFEST])["years"]["2025"]["workbooks"]["H-1004_2025.xlsx"]
        assert entry["sha256"] == hashlib.sha256(after["H-1004_2025.xlsx"]).hexdigest()
    finally:
        for pid in [run_b.pid, *workers]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


class _Exited(BaseException):
    pass


def test_a_worker_whose_run_died_abandons_its_workbook_just_before_the_rename(tmp_path, monkeypatch):
    out = tmp_path / "out"
    portfolio = load(EXAMPLE)
    run_batch(portfolio, BatchOptions(2025, out, prepared=date(2026, 1, 15), workers=1, quiet=True))
    before = files_of(out)
    checks = []

    def orphaned(state):
        checks.append(state["parent_pid"])
        return len(checks) > 1  # alive when the task starts, gone when its workbook is done

    def exit_orphan():
        raise _Exited

    monkeypatch.setattr(batch, "_orphaned", orphaned)
    monkeypatch.setattr(batch, "_exit_orphan", exit_orphan)
    with pytest.raises(_Exited):  # a different date: every workbook would change
        run_batch(portfolio, BatchOptions(2025, out, prepared=date(2026, 1, 16), workers=1, quiet=True))
    assert len(checks) == 2
    assert (out / "H-1001_2025.xlsx").read_bytes() == before["H-1001_2025.xlsx"]
    assert not list(out.glob(".*.part")) and not (out / LOCK).exists()


def test_workers_die_with_their_run_where_the_kernel_can_do_it():
    if not sys.platform.startswith("linux"):
        pytest.skip("prctl is Linux's")
    import ctypes

    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ok = batch._die_with_parent()
            got = ctypes.c_int()
            ctypes.CDLL(None).prctl(2, ctypes.byref(got), 0, 0, 0)  # PR_GET_PDEATHSIG
            os.write(writer, f"{ok} {got.value}".encode())
        finally:
            os._exit(0)
    os.close(writer)
    answer = os.read(reader, 100).decode()
    os.close(reader)
    os.waitpid(pid, 0)
    assert answer == f"True {int(signal.SIGKILL)}"


def test_the_digest_is_of_the_bytes_written_not_of_the_target_after_the_rename(tmp_path, monkeypatch):
    """Another writer replacing a workbook right after our rename must not get its bytes
    recorded as ours (the digest used to be read back from the target)."""
    clean, out = tmp_path / "clean", tmp_path / "out"
    run_batch(load(EXAMPLE), BatchOptions(2025, clean, prepared=date(2026, 1, 15), workers=1, quiet=True))
    real_replace = os.replace

    def racing(src, dst, *args, **kwargs):
        real_replace(src, dst, *args, **kwargs)
        if Path(dst).name == "H-1002_2025.xlsx":
            Path(dst).write_bytes(b"someone else's bytes")

    monkeypatch.setattr(os, "replace", racing)
    run_batch(load(EXAMPLE), BatchOptions(2025, out, prepared=date(2026, 1, 15), workers=1, quiet=True))
    monkeypatch.setattr(os, "replace", real_replace)
    entry = manifest_of(out)["years"]["2025"]["workbooks"]["H-1002_2025.xlsx"]
    ours = (clean / "H-1002_2025.xlsx").read_bytes()
    assert (entry["sha256"], entry["size"]) == (hashlib.sha256(ours).hexdigest(), len(ours))
    # so --resume does not keep the other writer's file
    again = run_batch(load(EXAMPLE), BatchOptions(2025, out, prepared=date(2026, 1, 15), workers=1,
                                                  quiet=True, resume=True))
    assert again.holders_skipped == 3 and (out / "H-1002_2025.xlsx").read_bytes() == ours


def _sleeper(seconds: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", f"import time; time.sleep({seconds})"])


def _stale_lock_with_workers(out: Path, workers) -> None:
    out.mkdir(exist_ok=True)
    (out / LOCK).write_text(json.dumps({"pid": dead_pid(), "host": socket.gethostname(), "started": "x",
                                        "workers": [[pid, None] for pid in workers]}))


def test_a_takeover_waits_for_the_dead_runs_workers_or_refuses(tmp_path, monkeypatch):
    from cpdi.batch import lock as lock_module

    out = tmp_path / "out"
    worker = _sleeper(60)
    try:
        _stale_lock_with_workers(out, [worker.pid])
        monkeypatch.setattr(lock_module, "WORKERS_WAIT_SECONDS", 0.3)
        with pytest.raises(FolderLocked) as refused:
            run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
        line = str(refused.value)
        assert "\n" not in line and f"worker process(es) {worker.pid} still are" in line
        assert not any(out.glob("*.xlsx")) and (out / LOCK).exists()
    finally:
        worker.kill()
        worker.wait()
    # a worker that ends while the takeover waits (even if nobody reaps it): taken over
    ending = _sleeper(0.5)
    try:
        _stale_lock_with_workers(out, [ending.pid])
        monkeypatch.setattr(lock_module, "WORKERS_WAIT_SECONDS", 30)
        started = time.monotonic()
        report = run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
        assert time.monotonic() - started < 20
        assert report.holders_ok == 4 and any("no longer running" in n for n in report.notes)
    finally:
        ending.kill()
        ending.wait()


def test_workers_never_outnumber_holders_and_are_recorded_in_the_lock(tmp_path, monkeypatch):
    from cpdi.batch.lock import Lock

    real = Lock.record_workers
    recorded = []

    def recording(self, pids):
        pids = list(pids)
        real(self, pids)
        recorded.append((pids, json.loads(self.path.read_text())["workers"]))

    monkeypatch.setattr(Lock, "record_workers", recording)
    for workers, expected in ((64, 4), (0, min(os.cpu_count() or 1, 4))):
        recorded.clear()
        report = run_batch(load(EXAMPLE), BatchOptions(2025, tmp_path / f"o{workers}", workers=workers, quiet=True))
        assert report.holders_ok == 4
        if expected == 1:
            assert recorded == []
            continue
        (pids, in_lock), = recorded
        assert len(pids) == expected and sorted(pids) == [w[0] for w in in_lock]


# -- 9. a full disk with workers: one line, the exceptions report says it ---------------------------
def _fail_zip_writes(monkeypatch):
    """Every zip write fails as on a full disk, and so does finishing the zip file later (what
    ZipFile.__del__ would try): as XlsxWriter meets a full disk."""
    import zipfile

    def writestr(self, *args, **kwargs):
        self._didModify = True
        raise OSError(errno.ENOSPC, "No space left on device")

    def end_record(self):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", writestr)
    monkeypatch.setattr(zipfile.ZipFile, "_write_end_record", end_record)


@pytest.mark.parametrize("writer", ["holder", "summary"])
def test_a_failed_workbook_write_leaves_nothing_for_the_garbage_collector(tmp_path, monkeypatch, writer):
    import gc

    from cpdi.api import compute

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    portfolio = load(EXAMPLE)
    result = compute(portfolio, 2025)
    target = tmp_path / "full" / f"{writer}.xlsx"
    _fail_zip_writes(monkeypatch)
    with pytest.raises(OSError) as failed:
        if writer == "holder":
            workpapers.write_holder_workbook(target, portfolio.holders["H-1001"], "H-1001", 2025,
                                             result.ledgers, result.books, None, date(2026, 1, 15))
        else:
            workpapers.write_summary_workbook(target, 2025, [], None, date(2026, 1, 15), 0, 0)
    assert (failed.value.errno, failed.value.strerror, failed.value.filename) == (
        errno.ENOSPC, "No space left on device", str(target))
    del failed
    gc.collect()
    assert unraisable == [] and list(target.parent.iterdir()) == []


def test_a_workbook_abandoned_while_built_is_not_stored(tmp_path, monkeypatch):
    import xlsxwriter.workbook

    from cpdi.api import compute

    portfolio = load(EXAMPLE)
    result = compute(portfolio, 2025)
    stored = []
    monkeypatch.setattr(xlsxwriter.workbook.Workbook, "_store_workbook", lambda self: stored.append(self))

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(workpapers, "_lots_sheet", broken)
    with pytest.raises(RuntimeError):
        workpapers.write_holder_workbook(tmp_path / "h.xlsx", portfolio.holders["H-1001"], "H-1001", 2025,
                                         result.ledgers, result.books, None, date(2026, 1, 15))
    assert stored == [] and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_disk_full_inside_xlsxwriter_is_one_line_with_or_without_workers(tmp_path, capfd, monkeypatch, workers):
    import gc

    out = tmp_path / "out"
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    _fail_zip_writes(monkeypatch)  # inherited by the forked workers
    code = workpapers_cli(_bad_input(tmp_path), "--year", 2025, "--out", out, "--prepared", PREPARED,
                          "--quiet", "--workers", workers)
    gc.collect()  # (a worker's leftovers would print on its stderr, which capfd reads)
    assert unraisable == []
    err = capfd.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"cpdi: cannot write {out / 'H-1001_2025.xlsx'}: No space left on device; "
                          f"the batch stopped after 1 of 5 holder(s) (problems so far in exceptions_2025.csv)")
    assert "run again with --resume" in err
    exceptions = (out / "exceptions_2025.csv").read_text()
    assert "BAD-1" in exceptions and "could not write the workbook: No space left on device" in exceptions
    assert not (out / LOCK).exists() and not list(out.glob(".*.part"))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_manifest_that_cannot_be_saved_mid_run_is_the_same_orderly_stop(tmp_path, capfd, monkeypatch, workers):
    from cpdi.batch import manifest as manifest_module

    out = tmp_path / "out"
    real = manifest_module.atomic_text
    saves = []

    def full_after_the_first(target, *args, **kwargs):
        saves.append(1)
        if len(saves) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, *args, **kwargs)

    monkeypatch.setattr(manifest_module, "MANIFEST_FLUSH_SECONDS", 0.0)
    monkeypatch.setattr(manifest_module, "atomic_text", full_after_the_first)
    code = workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet",
                          "--workers", workers)
    err = capfd.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"cpdi: cannot write {out / MANIFEST}: No space left on device; the batch "
                          f"stopped after 1 of 4 holder(s) (problems so far in exceptions_2025.csv)")
    assert "could not write the manifest: No space left on device" in (out / "exceptions_2025.csv").read_text()
    assert not (out / "summary_2025.xlsx").exists() and not (out / LOCK).exists()


def test_when_the_exceptions_report_cannot_be_updated_either_the_line_says_so(tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    real = workpapers.write_exceptions_csv
    calls = []

    def full(target, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    def exceptions_once(target, problems, *args, **kwargs):
        calls.append(len(problems))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(target, problems, *args, **kwargs)

    monkeypatch.setattr(workpapers, "write_holder_workbook", full)
    monkeypatch.setattr(workpapers, "write_exceptions_csv", exceptions_once)
    code = workpapers_cli(_bad_input(tmp_path), "--year", 2025, "--out", out, "--prepared", PREPARED,
                          "--quiet", "--workers", 1)
    err = capsys.readouterr().err
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert ("(exceptions_2025.csv could not be updated either (No space left on device): it lists the "
            "input problems only)") in err and "--resume" in err
    assert "BAD-1" in (out / "exceptions_2025.csv").read_text() and len(calls) == 2


@pytest.fixture
def tiny_tmpfs(tmp_path):
    mount = shutil.which("mount")
    point = tmp_path / "full"
    point.mkdir()
    if mount is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run([mount, "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(point)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"mount is not permitted here: {done.stderr.decode().strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", str(point)], check=False)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_really_full_disk_is_one_line_with_or_without_workers(tmp_path, tiny_tmpfs, workers):
    inputs = write_csv_folder(random_portfolio(5, instruments=6, holders=350), tmp_path / "in")
    out = tiny_tmpfs / "out"
    done = subprocess.run([sys.executable, "-m", "cpdi.cli", "workpapers", str(inputs), "--year", "2025",
                           "--out", str(out), "--prepared", PREPARED, "--quiet", "--workers", str(workers)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1, done.stderr[:3000]
    line = done.stderr.strip()
    assert line.startswith("cpdi: cannot write ") and "No space left on device; the batch stopped after " in line
    assert line.endswith("then run again with --resume")
    if "could not be updated either" not in line:
        assert "No space left on device" in (out / "exceptions_2025.csv").read_text()
    assert not (out / LOCK).exists() and not list(out.glob(".*.part"))


# -- 10. what the folder holds at the start of a run ------------------------------------------------
@pytest.mark.parametrize("manifest", ["missing", "unusable"])
def test_an_old_summary_never_survives_a_run_that_does_not_finish(tmp_path, monkeypatch, manifest):
    out = tmp_path / "out"
    run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
    assert (out / "summary_2025.xlsx").exists()
    if manifest == "missing":
        (out / MANIFEST).unlink()
    else:
        (out / MANIFEST).write_text("{not json")

    def interrupted(holder_id):
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "_holder_task", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_batch(load(EXAMPLE), BatchOptions(2025, out, workers=1, quiet=True))
    assert not (out / "summary_2025.xlsx").exists()


def test_a_manifest_that_is_a_folder_is_refused_up_front(tmp_path, capsys):
    out = tmp_path / "out"
    (out / MANIFEST).mkdir(parents=True)
    code = workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet")
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err == (f"cpdi: {out / MANIFEST} is a folder, not cpdi's manifest, so this run could not record "
                   f"what it writes: remove it (or move it out of {out}), then run again\n")
    assert sorted(p.name for p in out.iterdir()) == [MANIFEST]  # nothing written, lock released
    (out / MANIFEST).rmdir()
    assert workpapers_cli(EXAMPLE, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0


def test_an_input_without_a_lots_table_is_a_failure_not_an_empty_year(tmp_path, capsys):
    out = tmp_path / "d"
    fixture = Path(__file__).parent / "fixtures" / "aig-cms-curve-2027"
    code = workpapers_cli(fixture, "--year", 2025, "--out", out, "--accept-residual", "02687QCD8", "--quiet")
    text = capsys.readouterr()
    assert code == 1
    assert "no holder could be computed for 2025 because of the input problems in lots" in text.out
    assert "the input has no lots table" in text.err
    assert "the input has no lots table" in (out / "exceptions_2025.csv").read_text()


# -- 11. write failures name the file asked for; leftovers of one file ------------------------------
def test_output_error_is_also_an_os_error():
    from cpdi.problems import CpdiError

    error = batch.OutputError("cannot write x: No space left on device", errno.ENOSPC)
    assert isinstance(error, OSError) and isinstance(error, CpdiError) and error.errno == errno.ENOSPC
    assert str(error) == "cannot write x: No space left on device" and error.filename is None
    assert not isinstance(FolderLocked("busy"), OSError)


def test_a_batch_write_failure_is_an_os_error_for_api_users(tmp_path, monkeypatch):
    def full(target, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(workpapers, "write_holder_workbook", full)
    with pytest.raises(OSError) as failed:
        run_batch(load(EXAMPLE), BatchOptions(2025, tmp_path / "out", workers=1, quiet=True))
    assert failed.value.errno == errno.ENOSPC and "stopped after 1 of 4" in str(failed.value)


@pytest.mark.parametrize("failure", ["write", "write naming the part", "rename", "xlsxwriter"])
def test_atomic_write_failures_name_the_target(tmp_path, monkeypatch, failure):
    from cpdi.writers import atomic

    target = tmp_path / "full" / "r.csv"
    if failure == "rename":
        def replace(src, dst):
            raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))

        monkeypatch.setattr(atomic.os, "replace", replace)
    with pytest.raises(OSError) as failed:
        with atomic.atomic_path(target) as tmp:
            tmp.write_text("half")
            if failure == "write":
                raise OSError(errno.ENOSPC, "No space left on device")
            if failure == "write naming the part":
                raise OSError(errno.ENOSPC, "No space left on device", str(tmp))
            if failure == "xlsxwriter":
                raise FileCreateError(OSError(errno.ENOSPC, "No space left on device", str(tmp)))
    assert (failed.value.errno, failed.value.strerror, failed.value.filename) == (
        errno.ENOSPC, "No space left on device", str(target))
    assert type(failed.value) is OSError and list(target.parent.iterdir()) == []
    from cpdi.cli import _one_line

    assert _one_line(failed.value) == f"{target}: No space left on device"


def test_atomic_errors_about_other_files_are_left_alone(tmp_path):
    from cpdi.writers.atomic import atomic_path

    other = FileNotFoundError(errno.ENOENT, "No such file or directory", str(tmp_path / "template.toml"))
    with pytest.raises(FileNotFoundError) as failed:
        with atomic_path(tmp_path / "r.csv"):
            raise other
    assert failed.value is other


def test_leftovers_of_one_file_can_be_removed_alone(tmp_path):
    from cpdi.writers.atomic import remove_leftover_parts

    dead = dead_pid()
    mine = tmp_path / f".r.csv.{dead}-0123456789ab-0.part"
    other = tmp_path / f".s.csv.{dead}-0123456789ab-1.part"
    live = tmp_path / f".r.csv.{os.getppid()}-0123456789ab-2.part"
    for path in (mine, other, live):
        path.write_text("half")
    assert remove_leftover_parts(tmp_path, "r.csv") == [mine.name]
    assert not mine.exists() and other.exists() and live.exists()
    assert remove_leftover_parts(tmp_path) == [other.name]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="zombies are told from /proc")
def test_a_part_file_of_a_writer_that_ended_but_was_not_reaped_is_a_leftover(tmp_path):
    from cpdi.writers.atomic import pid_alive, remove_leftover_parts

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        deadline = time.monotonic() + 10
        while _running([ended.pid]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert Path(f"/proc/{ended.pid}").exists(), "a zombie until it is waited for"
        assert not pid_alive(ended.pid)
        part = tmp_path / f".r.csv.{ended.pid}-0123456789ab-0.part"
        part.write_text("half")
        assert remove_leftover_parts(tmp_path) == [part.name]
    finally:
        ended.wait()

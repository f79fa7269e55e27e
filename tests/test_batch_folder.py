"""The year-end batch's output folder tells the truth: after a rerun it holds this run's
holders only; the manifest never claims a workbook it has not verified, even after SIGKILL; it
keeps no personal data; a malformed manifest, a second run, a full disk or an unusable lots
table each give one plain line, never a traceback (docs/formats.md, "The output folder").
"""

from __future__ import annotations

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
    assert "removed 1 workbook(s) of holders no longer in the input: H-1003_2025.xlsx" in capsys.readouterr().err


def test_removed_workbook_names_are_masked_when_tin_shaped(tmp_path, capsys):
    folder, out = example_copy(tmp_path), tmp_path / "out"
    rewrite_csv(folder / "lots.csv", change=lambda r: {**r, "holder_id": "123-45-6789"}
                if r["holder_id"] == "H-1004" else r)
    rewrite_csv(folder / "holders.csv", change=lambda r: {**r, "holder_id": "123-45-6789"}
                if r["holder_id"] == "H-1004" else r)
    assert workpapers_cli(folder, "--year", 2025, "--out", out, "--prepared", PREPARED, "--quiet") == 0
    rewrite_csv(folder / "lots.csv", keep=lambda r: r["holder_id"] != "123-45-6789")
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
    holders = sorted({r["holder_id"] for r in csv.DictReader((source / "lots.csv").open())})
    changed = set(holders[::2])
    rewrite_csv(target / "lots.csv", change=lambda r: {**r, "cost_basis": repr(float(r["cost_basis"]) * 1.01)}
                if r["holder_id"] in changed else r)
    return changed


def test_sigkill_mid_resume_on_changed_inputs_then_resume_is_truthful(tmp_path, capsys):
    """Run on A; --resume on B (half the holders changed) killed with SIGKILL mid-run; --resume
    on A again must give exactly the clean run of A — not keep workbooks holding B's figures."""
    inputs_a = write_csv_folder(random_portfolio(11, instruments=8, holders=160), tmp_path / "a")
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


@pytest.fixture(scope="module")
def synthetic_small(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("synthetic-small")
    write_csv_folder(random_portfolio(3, instruments=4, holders=12), folder)
    return folder

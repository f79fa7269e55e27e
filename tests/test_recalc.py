"""The LibreOffice recalculation harness (tests/recalc.py) and the suite's LibreOffice policy
(tests/conftest.py): stale cached values come back recalculated, bad inputs and a failing or
hung soffice give clear errors, and under CI a missing LibreOffice fails rather than skips."""

from __future__ import annotations

import os
import shutil
import stat
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

import recalc
from conftest import LIBREOFFICE_INSTALL, require_libreoffice
from recalc import LibreOfficeNotFound, RecalcError, recalculate

posix_only = pytest.mark.skipif(os.name != "posix", reason="the stand-in soffice is a shell script")


def stale_book(path: Path, cached: float = 5) -> Path:
    """A workbook whose formulas carry wrong cached values (what LibreOffice must overwrite)."""
    book = xlsxwriter.Workbook(str(path))
    ws = book.add_worksheet("Data")
    ws.write_number(0, 0, 10)
    ws.write_number(1, 0, 32)
    ws.write_formula(2, 0, "=SUM(A1:A2)", None, cached)
    ws.write_formula(3, 0, "=A3*2", None, cached)
    book.add_worksheet("Cover").write_formula(0, 0, "=Data!A4+1", None, cached)
    book.close()
    return path


def values(path: Path) -> dict[str, object]:
    book = openpyxl.load_workbook(path, data_only=True)
    return {"sum": book["Data"]["A3"].value, "double": book["Data"]["A4"].value,
            "link": book["Cover"]["A1"].value}


def fake_soffice(tmp_path: Path, body: str) -> str:
    """A stand-in soffice: a shell script running `body`."""
    script = tmp_path / "bin" / "soffice"
    script.parent.mkdir(exist_ok=True)
    script.write_text(f"#!/bin/sh\nPATH={os.defpath}:$PATH\n{body}\n")  # its tools, whatever PATH is
    script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(script)


# -- with LibreOffice ----------------------------------------------------------------------------
def test_stale_cached_values_come_back_recalculated(tmp_path, libreoffice, monkeypatch):
    (tmp_path / "in").mkdir()
    src = stale_book(tmp_path / "in" / "stale.xlsx")
    assert values(src) == {"sum": 5, "double": 5, "link": 5}
    home = tmp_path / "home"  # an empty home: the harness must not need, or write, a profile there
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))

    copies = recalculate([src], tmp_path / "out")

    assert copies == {src: tmp_path / "out" / "stale.xlsx"}
    assert values(copies[src]) == {"sum": 42, "double": 84, "link": 85}
    assert values(src) == {"sum": 5, "double": 5, "link": 5}, "the input must be left alone"
    assert not (home / ".config" / "libreoffice").exists(), "the user's profile was touched"


def test_many_workbooks_in_few_calls(tmp_path, libreoffice):
    """Inputs from several folders, in batches of two: every one comes back recalculated, and
    nothing of a batch is left in out_dir's way."""
    books = []
    for i in range(5):
        folder = tmp_path / f"folder{i % 2}"
        folder.mkdir(exist_ok=True)
        books.append(stale_book(folder / f"book{i}.xlsx", cached=-1))
    out = tmp_path / "out"

    copies = recalculate([str(b) for b in books], out, batch_size=2)

    assert sorted(copies.values()) == sorted(out / b.name for b in books)
    for copy in copies.values():
        assert values(copy) == {"sum": 42, "double": 84, "link": 85}, copy


def test_a_damaged_workbook_is_named_in_the_error(tmp_path, libreoffice):
    """An .xlsx package LibreOffice cannot load: it exits 0 without a copy, which is an error
    naming the workbook, and nothing lands in out_dir."""
    good = stale_book(tmp_path / "good.xlsx")
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(broken, "w") as z:
        z.writestr("[Content_Types].xml", "<not xml")
        z.writestr("xl/workbook.xml", "not a workbook")
    out = tmp_path / "out"

    with pytest.raises(RecalcError, match=r"LibreOffice produced no copy of 1 of 2 workbook\(s\): "
                                          r".*broken\.xlsx") as e:
        recalculate([good, broken], out)
    named = str(e.value).splitlines()[0]
    assert "broken.xlsx" in named and "good.xlsx" not in named
    assert not out.exists() or not any(out.iterdir())


# -- inputs refused before LibreOffice starts (no LibreOffice needed) ----------------------------
def test_a_missing_input_is_a_clear_error(tmp_path):
    with pytest.raises(RecalcError, match=r"no such workbook: .*absent\.xlsx"):
        recalculate([tmp_path / "absent.xlsx"], tmp_path / "out", soffice="/nonexistent/soffice")


@pytest.mark.parametrize("content", [b"", b"this is not a workbook\n1,2,3\n", b"PK\x03\x04 truncated"],
                         ids=["empty", "text", "truncated-zip"])
def test_a_corrupt_input_is_a_clear_error(tmp_path, content):
    """LibreOffice itself would "convert" an empty or text file into a new workbook, exit 0."""
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(content)
    with pytest.raises(RecalcError, match=r"not an \.xlsx workbook .*bad\.xlsx"):
        recalculate([bad], tmp_path / "out", soffice="/nonexistent/soffice")


def test_a_zip_that_is_not_a_workbook_is_refused(tmp_path):
    bad = tmp_path / "archive.xlsx"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(RecalcError, match=r"not an \.xlsx workbook .*archive\.xlsx"):
        recalculate([bad], tmp_path / "out", soffice="/nonexistent/soffice")


def test_only_xlsx_inputs(tmp_path):
    other = tmp_path / "book.ods"
    other.write_bytes(b"x")
    with pytest.raises(RecalcError, match=r"only \.xlsx workbooks .*book\.ods"):
        recalculate([other], tmp_path / "out", soffice="/nonexistent/soffice")


def test_inputs_sharing_a_base_name_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    one, two = stale_book(tmp_path / "a" / "book.xlsx"), stale_book(tmp_path / "b" / "Book.xlsx")
    with pytest.raises(RecalcError, match=r"distinct base names: .*book\.xlsx and .*Book\.xlsx"):
        recalculate([one, two], tmp_path / "out", soffice="/nonexistent/soffice")


def test_out_dir_may_not_overwrite_the_inputs(tmp_path):
    book = stale_book(tmp_path / "book.xlsx")
    with pytest.raises(RecalcError, match="would overwrite them"):
        recalculate([book], tmp_path, soffice="/nonexistent/soffice")


def test_no_inputs_start_nothing(tmp_path):
    assert recalculate([], tmp_path / "out", soffice="/nonexistent/soffice") == {}


def test_without_libreoffice_recalculate_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(LibreOfficeNotFound, match="LibreOffice is not installed"):
        recalculate([stale_book(tmp_path / "book.xlsx")], tmp_path / "out")


# -- a stand-in soffice: the harness's side of the conversation ----------------------------------
@posix_only
def test_a_failing_soffice_reports_its_stderr(tmp_path):
    soffice = fake_soffice(tmp_path, 'echo "boom: cannot open display" >&2; exit 3')
    with pytest.raises(RecalcError, match=r"(?s)soffice failed with exit status 3 .*\nstderr:\nboom: cannot "
                                          r"open display"):
        recalculate([stale_book(tmp_path / "book.xlsx")], tmp_path / "out", soffice=soffice)


@posix_only
def test_a_soffice_that_writes_nothing_is_an_error(tmp_path):
    soffice = fake_soffice(tmp_path, 'echo "Error: source file could not be loaded" >&2; exit 0')
    with pytest.raises(RecalcError, match=r"LibreOffice produced no copy of 1 of 1 workbook\(s\): "
                                          r".*book\.xlsx\nLibreOffice said:\nError: source file"):
        recalculate([stale_book(tmp_path / "book.xlsx")], tmp_path / "out", soffice=soffice)


@posix_only
def test_a_hung_soffice_is_killed_at_the_timeout(tmp_path):
    soffice = fake_soffice(tmp_path, "sleep 60 & wait")  # a child too, like soffice.bin
    started = time.monotonic()
    with pytest.raises(RecalcError, match=r"LibreOffice timed out after 1 s"):
        recalculate([stale_book(tmp_path / "book.xlsx")], tmp_path / "out", soffice=soffice,
                    timeout=1)
    assert time.monotonic() - started < 20


@posix_only
def test_each_call_has_a_throwaway_profile_that_recalculates_on_load(tmp_path):
    """soffice is started with its own profile (never the user's), set to always recalculate
    Excel files on load, converting every workbook of a batch in one start-up."""
    log = tmp_path / "log"
    soffice = fake_soffice(tmp_path, f"""
for a in "$@"; do echo "$a" >> "{log}"; done
echo ---- >> "{log}"
case "$1" in -env:UserInstallation=file://*) profile="${{1#-env:UserInstallation=file://}}";; esac
cat "$profile/user/registrymodifications.xcu" >> "{log}"
echo "$profile" > "{tmp_path}/profile"
while [ "$#" -gt 0 ]; do
  if [ "$1" = --outdir ]; then out="$2"; shift; elif [ -f "$1" ]; then cp "$1" "$out/"; fi
  shift
done""")
    books = [stale_book(tmp_path / f"b{i}.xlsx") for i in range(3)]

    copies = recalculate(books, tmp_path / "out", soffice=soffice)

    assert set(copies) == set(books)
    args, _, settings = log.read_text().partition("----\n")
    args = args.splitlines()
    assert args[0].startswith("-env:UserInstallation=file://")
    assert "--headless" in args
    assert args.count("--outdir") == 1 and args[-3:] == [str(b.resolve()) for b in books]
    assert '<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop>' in settings
    assert '/org.openoffice.Office.Calc/Formula/Load' in settings
    profile = Path((tmp_path / "profile").read_text().strip())
    assert not profile.exists(), "the throwaway profile must be deleted"


# -- the policy: skip locally, fail under CI -----------------------------------------------------
@pytest.fixture
def no_libreoffice(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    real_which = shutil.which
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k:
                        None if name in ("soffice", "libreoffice") else real_which(name, *a, **k))


@pytest.mark.parametrize("ci", ["true", "1", "TRUE"])
def test_under_ci_a_missing_libreoffice_fails(no_libreoffice, monkeypatch, ci):
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as e:
        require_libreoffice()
    assert "LibreOffice is required under CI" in str(e.value)
    assert LIBREOFFICE_INSTALL in str(e.value)


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_outside_ci_a_missing_libreoffice_skips(no_libreoffice, monkeypatch, ci):
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as e:
        require_libreoffice()
    assert "LibreOffice (soffice) is not installed" in str(e.value)
    assert LIBREOFFICE_INSTALL in str(e.value)


def test_libreoffice_is_found_under_either_name(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    only = {"libreoffice": "/opt/lo/libreoffice"}
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: only.get(name))
    assert require_libreoffice() == "/opt/lo/libreoffice"
    assert recalc.find_soffice() == "/opt/lo/libreoffice"

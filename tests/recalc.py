"""Recalculate .xlsx workbooks with LibreOffice: the suite's proof that a spreadsheet engine
recomputes the numbers the writer cached beside its formulas.

    recalculate([book_a, book_b, ...], out_dir)  ->  {book_a: out_dir/book_a.name, ...}

One headless LibreOffice start-up (2-5 s) converts a whole batch.  Each call runs in its own
throwaway profile, created in a temporary directory and deleted afterwards, so the user's
LibreOffice profile is never read or written (and a root account with no LibreOffice
configuration works).  The profile sets Calc's "recalculation on file load" for Excel 2007+
files to "always", without which LibreOffice would keep the cached values and prove nothing.

The contract is strict because a lenient converter passes silently:
- only .xlsx inputs, each checked to be an OOXML package before LibreOffice starts (LibreOffice
  "converts" an empty file, or text named .xlsx, into a fresh workbook with exit status 0);
- the Excel 2007+ import filter is forced, so nothing is ever opened as CSV text;
- the copies are named after the inputs, so two inputs may not share a base name;
- every input must come back as a non-empty .xlsx package, else RecalcError names it;
- the copies land in out_dir only when the whole batch succeeded.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Iterable

OOXML_FILTER = "Calc MS Excel 2007 XML"
DEFAULT_TIMEOUT = 600.0  # seconds, for the whole call
DEFAULT_BATCH = 200      # workbooks per LibreOffice start-up (keeps the command line short)

# Calc > Formula > "Recalculation on file load": 0 = always recalculate, 1 = never, 2 = prompt
PROFILE_SETTINGS = """\
<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <item oor:path="/org.openoffice.Office.Calc/Formula/Load">
    <prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop>
  </item>
  <item oor:path="/org.openoffice.Office.Calc/Formula/Load">
    <prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop>
  </item>
</oor:items>
"""


class RecalcError(RuntimeError):
    """The workbooks could not be recalculated; the message says which and why."""


class LibreOfficeNotFound(RecalcError):
    """Neither soffice nor libreoffice is on PATH."""


def find_soffice() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(files: Iterable[str | os.PathLike], out_dir: str | os.PathLike, *,
                soffice: str | None = None, timeout: float = DEFAULT_TIMEOUT,
                batch_size: int = DEFAULT_BATCH) -> dict[Path, Path]:
    """Recalculate each .xlsx in `files` with LibreOffice and save the copy as
    out_dir/<same stem>.xlsx.  Returns {input path as given: recalculated copy}.

    Raises RecalcError (LibreOfficeNotFound if LibreOffice is absent) when an input is
    missing or not a workbook, two inputs share a base name, out_dir would overwrite an
    input, soffice fails or runs past `timeout` seconds, or LibreOffice produced no copy of
    an input.  On error nothing is written to out_dir.
    """
    inputs = [Path(f) for f in files]
    out_dir = Path(out_dir)
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    _check_inputs(inputs, out_dir)
    if not inputs:
        return {}
    soffice = soffice or find_soffice()
    if soffice is None:
        raise LibreOfficeNotFound("LibreOffice is not installed: neither soffice nor libreoffice "
                                  "is on PATH")

    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="cpdi-recalc-") as tmp:
        tmp = Path(tmp)
        profile = tmp / "profile"
        (profile / "user").mkdir(parents=True)
        (profile / "user" / "registrymodifications.xcu").write_text(PROFILE_SETTINGS, "utf-8")
        staging = tmp / "out"
        staging.mkdir()
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start:start + batch_size]
            stderr = _run(soffice, profile, staging, batch, deadline, timeout, tmp)
            missing = [p for p in batch if not _is_package(staging / _copy_name(p))]
            if missing:
                names = ", ".join(str(p) for p in missing)
                raise RecalcError(f"LibreOffice produced no copy of {len(missing)} of "
                                  f"{len(batch)} workbook(s): {names}"
                                  + _tail("LibreOffice said", stderr))
        out_dir.mkdir(parents=True, exist_ok=True)
        result: dict[Path, Path] = {}
        for p in inputs:
            target = out_dir / _copy_name(p)
            shutil.move(str(staging / _copy_name(p)), str(target))
            result[p] = target
    return result


def _check_inputs(inputs: list[Path], out_dir: Path) -> None:
    by_name: dict[str, list[Path]] = {}
    for p in inputs:
        if p.suffix.lower() != ".xlsx":
            raise RecalcError(f"only .xlsx workbooks can be recalculated, not {p}")
        if not p.is_file():
            raise RecalcError(f"no such workbook: {p}")
        if not _is_package(p):
            raise RecalcError(f"not an .xlsx workbook (empty, or not an Office Open XML "
                              f"package): {p}")
        by_name.setdefault(p.name.casefold(), []).append(p)
    shared = [paths for paths in by_name.values() if len(paths) > 1]
    if shared:
        listed = "; ".join(" and ".join(str(p) for p in paths) for paths in shared)
        raise RecalcError(f"the recalculated copies are named after the inputs, so inputs must "
                          f"have distinct base names: {listed}")
    target = out_dir.resolve()
    clobbered = [p for p in inputs if p.resolve().parent == target]
    if clobbered:
        raise RecalcError(f"out_dir {out_dir} holds the inputs, whose recalculated copies would "
                          f"overwrite them: {', '.join(str(p) for p in clobbered)}")


def _copy_name(p: Path) -> str:
    return f"{p.stem}.xlsx"  # LibreOffice names its copy <stem>.<format>


def _is_package(path: Path) -> bool:
    """A non-empty zip holding [Content_Types].xml: an Office Open XML package."""
    try:
        if path.stat().st_size == 0 or not zipfile.is_zipfile(path):
            return False
        with zipfile.ZipFile(path) as z:
            return "[Content_Types].xml" in z.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


def _run(soffice: str, profile: Path, staging: Path, batch: list[Path], deadline: float,
         timeout: float, tmp: Path) -> str:
    """One LibreOffice start-up converting `batch` into `staging`; returns its stderr."""
    cmd = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible",
           "--norestore", "--nolockcheck", "--calc", f"--infilter={OOXML_FILTER}",
           "--convert-to", f"xlsx:{OOXML_FILTER}", "--outdir", str(staging),
           *(str(p.resolve()) for p in batch)]
    env = dict(os.environ)
    home = env.get("HOME")
    if not home or not os.access(home, os.W_OK):
        env["HOME"] = str(tmp)  # LibreOffice and its libraries want a writable home
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise RecalcError(f"LibreOffice timed out: the {timeout:g} s allowed ran out before "
                          f"the batch starting with {batch[0]}")
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, errors="replace", env=env,
                                start_new_session=True)  # its own process group, to kill it whole
    except OSError as e:
        raise RecalcError(f"could not start LibreOffice ({soffice}): {e}") from e
    try:
        stdout, stderr = proc.communicate(timeout=remaining)
    except subprocess.TimeoutExpired:
        _kill(proc)
        stdout, stderr = proc.communicate()
        raise RecalcError(f"LibreOffice timed out after {timeout:g} s converting {len(batch)} "
                          f"workbook(s) and was killed" + _tail("stderr", stderr)) from None
    if proc.returncode != 0:
        raise RecalcError(f"soffice failed with exit status {proc.returncode} converting "
                          f"{len(batch)} workbook(s)" + _tail("stderr", stderr)
                          + _tail("stdout", stdout))
    return stderr


def _kill(proc: subprocess.Popen) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(proc.pid, signal.SIGKILL)  # soffice is a wrapper: kill soffice.bin too
        else:  # pragma: no cover - Windows
            proc.kill()
    except ProcessLookupError:
        pass


def _tail(label: str, text: str | None, limit: int = 4000) -> str:
    text = (text or "").strip()
    if not text:
        return ""
    if len(text) > limit:
        text = "..." + text[-limit:]
    return f"\n{label}:\n{text}"

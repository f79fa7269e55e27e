"""Year-end batch: one workpaper per holder, in parallel, isolated, resumable — into an output
folder that tells the truth about the run (docs/formats.md, "The output folder").

Computing

* Inputs are read and every instrument's schedule is built and validated **once**; worker
  processes inherit them (fork) instead of recomputing.
* Each holder is an independent task: its lots go through the engine and its workbook is
  written atomically.  A holder whose inputs have a problem is not written (a workbook missing a
  lot would understate the return) and is named in the exceptions report; everyone else is.
* Workbooks stream out as they finish; the parent keeps only the small summary rows.
* Output is deterministic: the same inputs and ``prepared`` date give byte-identical files.

The output folder

* **One run at a time.**  A run holds ``DIR/.cpdi-lock`` (its pid, host and start time, created
  with ``O_EXCL``) from start to end and removes it on every way out, Ctrl-C included.  A second
  run into the same folder is refused with one line naming the running one's pid
  (:class:`FolderLocked`, exit 1).  A lock whose process no longer runs on this host (a run
  killed outright) is reported and taken over; a lock of another host is never taken over (its
  process cannot be checked).
* **The exceptions report first.**  ``exceptions_YYYY.csv`` with the input problems is written
  before any workbook and rewritten at the end with every problem, so a run that stops early
  still says what is wrong.  The summary of an earlier run is removed at the start and written
  at the end: a folder without ``summary_YYYY.xlsx`` holds a run that did not finish.
* **This run's holders only.**  The workbook of a holder who left the input, holds nothing in
  the year or fails now is removed, and the run says so (count and names).  Only files the
  manifest names are ever removed; a file that merely looks like a workbook of the year is left
  in place and reported.  Temporary ``.part`` files of killed runs (whose writer no longer
  runs, ``cpdi.writers.atomic``) are removed at the start.
* **Write failures** (``OSError`` including a full disk, XlsxWriter's ``FileCreateError``) become
  one line naming the file and the reason, never a traceback.  A failure that concerns the whole
  folder (no space, quota, read-only, I/O error) stops the batch (:class:`OutputError`, exit 1);
  any other fails only that holder.
* **Honest totals.**  When no holder could be computed because of input problems (a lots table
  without a required column, say), the run says so and names the files at fault
  (``BatchReport.blocked_by``) instead of reporting "0 holders failed".

The manifest (``DIR/.cpdi-manifest.json``)

Per tax year, per workbook file name, either ``{"fingerprint", "sha256", "size"}`` — a workbook
this tool wrote, verified — or ``{"pending": true}`` — a file this tool may have written, not
verified (it is rewritten if its holder is in the input and removed if not)::

    {"format": "cpdi-workpapers-manifest", "version": 2,
     "years": {"2025": {"summary": true,
                        "workbooks": {"H-1001_2025.xlsx": {"fingerprint": "…", "sha256": "…",
                                                           "size": 48213},
                                      "H-1002_2025.xlsx": {"pending": true}}}}}

* The **fingerprint** hashes everything that shapes the workbook: the holder's record and lots,
  their instruments, schedules and payments, the options, the template, the ``prepared`` date,
  the year, the file name and the cpdi version.  The holder's taxpayer id enters only masked
  (plus a hash of the holder's text as masking the id leaves it), so the manifest cannot be used
  to recover it.  ``sha256`` and ``size`` are those of the workbook's bytes as written.
* ``--resume`` keeps a workbook only when its fingerprint matches this run's and the file on
  disk has that size and digest (checked before any workbook is written); every other holder
  is rewritten.  Without ``--prepared`` the date is today's, so a resume on another day
  rewrites every workbook (each shows the date).
* The manifest never claims a workbook it has not verified: before any workbook is written it
  is rewritten with only the entries this run keeps (every other file of the run ``pending``);
  each workbook's entry is recorded as it lands, saved atomically at most every
  ``MANIFEST_FLUSH_SECONDS`` and at the end (also after Ctrl-C).  A kill at any moment can only
  lose a skip, never keep a wrong workbook.
* It holds no personal data: no holder id (the file name is the key: it is derived from the id,
  with taxpayer-shaped ids masked, and already names the workbook), no name, no figures.  The
  summary rows of a kept holder are recomputed from the ledger (the engine is a few per cent of
  the batch's time).
* A manifest this version cannot use (not JSON, not an object, unknown format, an entry of the
  wrong shape, a file name that is not a workbook name of its year) is treated as absent — every
  holder is rewritten — and the run says so in one line.  One of cpdi's first format is read for
  its file names only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hashlib
import json
import multiprocessing
import os
import re
import socket
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable

from cpdi import __version__
from cpdi.api import InstrumentBook, compute, instrument_books
from cpdi.problems import CpdiError, Problem
from cpdi.progress import Progress
from cpdi.writers.atomic import atomic_text, pid_alive, remove_leftover_parts
from cpdi.writers.privacy import mask_tin, message_safe, scrub_text

MANIFEST = ".cpdi-manifest.json"
LOCK = ".cpdi-lock"
MANIFEST_FORMAT = "cpdi-workpapers-manifest"
MANIFEST_VERSION = 2
MANIFEST_FLUSH_SECONDS = 1.0  # measured: one save of 2,000 entries takes ~5 ms (<0.5% of a batch)
UNREADABLE_LOCK_STALE_SECONDS = 60.0  # a lock file without a readable owner, older than this
SUMMARY_NAME = "summary_{year}.xlsx"
EXCEPTIONS_NAME = "exceptions_{year}.csv"
NAMES_SHOWN = 10  # file names listed in one message
# Write failures that concern the whole folder, not one file: the batch stops.
FOLDER_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EROFS, errno.EIO) if e is not None
)
_PENDING = {"pending": True}


class BatchError(CpdiError):
    """The batch cannot run or cannot go on (the command line prints it as one line, exit 1)."""


class FolderLocked(BatchError):
    """Another run holds the output folder."""


class OutputError(BatchError):
    """An output file cannot be written (no space, no permission …)."""


@dataclass
class BatchOptions:
    year: int
    out_dir: Path
    template_path: Path | None = None
    prepared: date | None = None
    workers: int = 0  # 0: all cores
    resume: bool = False
    quiet: bool = False
    tolerance_per_1000: float = 0.01
    accept_residual: tuple[str, ...] = ()
    notify: Callable[[str], None] | None = None  # called with each note as it happens


@dataclass
class HolderOutcome:
    holder_id: str
    ok: bool
    file: str | None
    fingerprint: str
    skipped: bool = False
    summary: list = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digest: tuple[str, int] | None = None  # sha256 and size of the workbook as written
    removed: str | None = None  # a failing holder's workbook of an earlier run, removed
    halt: str | None = None  # a write failure of the whole folder (the reason): the batch stops


@dataclass
class BatchReport:
    holders_ok: int
    holders_failed: int
    holders_skipped: int
    workbooks: list[Path]
    summary_path: Path
    exceptions_path: Path
    problems: list[Problem]
    removed: list[str] = field(default_factory=list)  # workbooks of holders no longer in the input
    removed_failed: list[str] = field(default_factory=list)  # workbooks of holders failing now
    left_in_place: list[str] = field(default_factory=list)  # look-alikes the manifest does not name
    blocked_by: tuple[str, ...] = ()  # input files with problems of the whole file
    notes: list[str] = field(default_factory=list)
    year: int | None = None

    @property
    def holders_total(self) -> int:
        """Holders of the run: those who held a lot in the year or have an input problem."""
        return self.holders_ok + self.holders_failed

    @property
    def exit_code(self) -> int:
        return 1 if self.holders_failed or self.problems else 0

    def result_line(self, out: object) -> str:
        """The run in one line, as the command line prints it last."""
        year = self.year if self.year is not None else ""
        files = f"summary {self.summary_path.name}, exceptions {self.exceptions_path.name}"
        if not self.holders_total:
            if self.problems:
                where = self.blocked_by or tuple(dict.fromkeys(p.file for p in self.problems))
                return (f"no holder could be computed for {year} because of the input problems in "
                        f"{', '.join(where)} ({len(self.problems)} problem(s), listed above and in "
                        f"{self.exceptions_path.name}): no workbook written")
            return f"no holder held a lot in {year}: no workbook written; {files}"
        skipped = f" ({self.holders_skipped} unchanged, kept)" if self.holders_skipped else ""
        return (f"{self.holders_ok} workbook(s) for {year} in {out}{skipped}; "
                f"{self.holders_failed} holder(s) failed; {files} ({len(self.problems)} problem(s))")


# -- what a worker needs, set once in the parent and inherited by forked workers -------------
_STATE: dict = {}


_TIN_SEPARATORS = re.compile(r"[\s./-]")


def _may_hold_tin(text: str, tin: str) -> bool:
    """A cheap test that ``text`` cannot hold ``tin`` in any spelling ``scrub_text`` masks (its
    digits with at most a space, dot, slash or hyphen between them), which spares compiling a
    pattern per holder."""
    digits = re.sub(r"\D", "", tin)
    return tin.strip() in text or (len(digits) > 4 and digits in _TIN_SEPARATORS.sub("", text))


def _fingerprints(portfolio, holder_ids, lots_by_holder, problems_by_holder, file_names, year: int,
                  template_digest: str, prepared: date, options_key) -> dict[str, str]:
    """Each holder's fingerprint: a stable hash of everything that shapes their workbook.  The
    taxpayer id enters masked, with a hash of the holder's own text as masking it leaves it (the
    workbook masks the id wherever it appears), so the fingerprint does not reveal it."""
    by_instrument: dict[str, bytes] = {}

    def instrument(instrument_id: str) -> bytes:
        if instrument_id not in by_instrument:
            h = hashlib.sha256(repr(portfolio.instruments.get(instrument_id)).encode("utf-8", "surrogatepass"))
            h.update(repr(portfolio.payments.get(instrument_id)).encode("utf-8", "surrogatepass"))
            by_instrument[instrument_id] = h.digest()
        return by_instrument[instrument_id]

    common = f"cpdi {__version__}|{year}|{template_digest}|{prepared.isoformat()}|{options_key!r}|"
    fingerprints = {}
    for holder_id in holder_ids:
        lots = sorted(lots_by_holder.get(holder_id, ()), key=lambda lot: lot.lot_id)
        holder = portfolio.holders.get(holder_id)
        tin = holder.tin if holder is not None else ""
        shown = dataclasses.replace(holder, tin=mask_tin(tin)) if holder is not None else None
        own = repr((holder_id, file_names[holder_id], shown)) + "".join(repr(lot) for lot in lots)
        h = hashlib.sha256(common.encode())
        h.update(own.encode("utf-8", "surrogatepass"))
        for instrument_id in sorted({lot.instrument_id for lot in lots}):
            h.update(instrument(instrument_id))
        for problem in problems_by_holder.get(holder_id, ()):
            h.update(repr(problem).encode("utf-8", "surrogatepass"))
        if tin and _may_hold_tin(own, tin):  # masking the holder's own id changes their text
            h.update(hashlib.sha256(scrub_text(own, tin).encode("utf-8", "surrogatepass")).digest())
        fingerprints[holder_id] = h.hexdigest()
    return fingerprints


def _file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _intact(path: Path, entry: dict) -> bool:
    """Whether ``path`` holds exactly the bytes a verified manifest entry describes."""
    try:
        if path.stat().st_size != entry["size"]:
            return False
        return _file_digest(path) == (entry["sha256"], entry["size"])
    except OSError:
        return False


def _os_error(error: BaseException) -> OSError | None:
    """The operating-system error behind ``error`` (XlsxWriter wraps it in FileCreateError)."""
    if isinstance(error, OSError):
        return error
    if error.args and isinstance(error.args[0], OSError):
        return error.args[0]
    if isinstance(error.__cause__, OSError):
        return error.__cause__
    return None


def _reason(error: BaseException) -> str:
    cause = _os_error(error)
    if cause is not None:
        return cause.strerror or str(cause) or type(cause).__name__
    return " ".join(str(error).split()) or type(error).__name__


def _is_write_failure(error: BaseException) -> bool:
    from xlsxwriter.exceptions import FileCreateError

    return isinstance(error, (OSError, FileCreateError))


def _orphaned(state) -> bool:
    """A worker whose batch process died (killed outright): it must write nothing more."""
    parent = state["parent_pid"]
    return os.getpid() != parent and os.getppid() != parent


def _holder_task(holder_id: str) -> HolderOutcome:
    """Compute one holder and write their workbook, or keep it (runs in a worker)."""
    from cpdi.writers.workpapers import summary_rows, write_holder_workbook

    state = _STATE
    year = state["year"]
    file_name = state["file_names"][holder_id]
    fingerprint = state["fingerprints"][holder_id]
    if _orphaned(state):
        return HolderOutcome(holder_id, False, None, fingerprint)
    lots = state["lots_by_holder"].get(holder_id, [])
    target = state["out_dir"] / file_name
    problems = list(state["problems_by_holder"].get(holder_id, ()))
    result = compute(state["portfolio"], year, books=state["books"], lots=lots)
    # result.problems repeats the whole input's problems: keep this holder's own
    problems.extend(p for p in result.problems if p.holder_id == holder_id and p not in problems)
    ledgers = [l for l in result.ledgers if any(r.tax_year == year for r in l.years)]
    if problems:
        # a workbook of an earlier run must not pass for this one: remove it if it is ours
        removed = None
        if file_name in state["ours"]:
            try:
                target.unlink()
                removed = file_name
            except FileNotFoundError:
                pass
            except OSError as error:
                problems.append(Problem(
                    file_name, None, None,
                    f"could not remove this holder's workbook of an earlier run: {_reason(error)}",
                    "remove it by hand: it does not reflect the current input", holder_id=holder_id))
        return HolderOutcome(holder_id, False, None, fingerprint, problems=problems, removed=removed)
    rows = [_plain(r) for r in summary_rows({holder_id: ledgers}, state["portfolio"].holders, year)]
    if holder_id in state["kept"]:
        return HolderOutcome(holder_id, True, file_name, fingerprint, skipped=True, summary=rows)
    holder = state["portfolio"].holders.get(holder_id)
    try:
        write_holder_workbook(target, holder, holder_id, year, ledgers, state["books"],
                              state["template"], state["prepared"])
        digest = _file_digest(target)
    except Exception as error:  # isolate: one holder's failure never stops the batch
        if _is_write_failure(error):
            cause = _os_error(error)
            folder_wide = cause is not None and cause.errno in FOLDER_ERRNOS
            problem = Problem(file_name, None, None, f"could not write the workbook: {_reason(error)}",
                              "check the output folder (space, permissions) and run again with --resume",
                              holder_id=holder_id)
            return HolderOutcome(holder_id, False, None, fingerprint, problems=[problem],
                                 halt=_reason(error) if folder_wide else None)
        problem = Problem(file_name, None, None, f"could not write the workbook: {_reason(error)}",
                          "run again with --debug for details", holder_id=holder_id)
        return HolderOutcome(holder_id, False, None, fingerprint, problems=[problem])
    return HolderOutcome(holder_id, True, file_name, fingerprint, summary=rows, digest=digest)


def _plain(row):
    """Summary rows travel between processes: keep them plain."""
    if isinstance(row, dict):
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in row.items()}
    return row


def holders_in_year(portfolio, year: int) -> tuple[dict[str, list], dict[str, list[Problem]]]:
    """Lots grouped by holder for holders that held anything in ``year`` (acquired on or before
    31 December and not disposed of before 1 January), and input problems by holder."""
    lots_by_holder: dict[str, list] = defaultdict(list)
    for lot in portfolio.lots:
        if lot.acquisition_date.year > year:
            continue
        if lot.disposition_date is not None and lot.disposition_date.year < year:
            continue
        lots_by_holder[lot.holder_id].append(lot)
    problems_by_holder: dict[str, list[Problem]] = defaultdict(list)
    for problem in portfolio.problems:
        if problem.holder_id:
            problems_by_holder[problem.holder_id].append(problem)
    return dict(lots_by_holder), dict(problems_by_holder)


def workbook_names(holder_ids, year: int) -> dict[str, str]:
    """Each holder's workbook name; ids whose names would differ only in case (one file on
    case-insensitive file systems, as on Windows and macOS) get distinguishing hashes."""
    from cpdi.writers.workpapers import holder_file_name

    names = {h: holder_file_name(h, year) for h in holder_ids}
    by_folded: dict[str, list[str]] = defaultdict(list)
    for holder_id, name in names.items():
        by_folded[name.casefold()].append(holder_id)
    for clash in (ids for ids in by_folded.values() if len(ids) > 1):
        for holder_id in clash:
            names[holder_id] = holder_file_name(holder_id, year, distinguish=True)
    return names


# -- the manifest ------------------------------------------------------------------------------
_HEX64 = re.compile(r"[0-9a-f]{64}")
_YEAR_KEY = re.compile(r"[0-9]{4}")
_WORKBOOK_NAME = re.compile(r"[A-Za-z0-9._-]+")  # what holder_file_name makes: no path, no drive


class _BadManifest(ValueError):
    pass


def _check_name(name, year: int) -> str:
    """A workbook file name of ``year`` that the manifest may name (and the batch may remove):
    a plain, visible name in the folder, never the summary or anything else."""
    if not isinstance(name, str):
        raise _BadManifest(f"a file name that is not text ({type(name).__name__})")
    if (not _WORKBOOK_NAME.fullmatch(name) or not name.endswith(f"_{year}.xlsx") or name.startswith(".")
            or name == SUMMARY_NAME.format(year=year) or len(name) > 255):
        raise _BadManifest(f"{name!r} is not a workbook name of {year}")
    return name


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entry(name: str, entry) -> dict:
    if entry == _PENDING:
        return dict(_PENDING)
    if not isinstance(entry, dict):
        raise _BadManifest(f"the entry of {name} is not an object")
    for key in ("fingerprint", "sha256", "size"):
        if key not in entry:
            raise _BadManifest(f"the entry of {name} has no {key}")
    if set(entry) != {"fingerprint", "sha256", "size"}:
        raise _BadManifest(f"the entry of {name} has unexpected keys")
    if not all(isinstance(entry[k], str) and _HEX64.fullmatch(entry[k]) for k in ("fingerprint", "sha256")):
        raise _BadManifest(f"the entry of {name} has a fingerprint or digest that is not 64 hex digits")
    if not _is_int(entry["size"]) or entry["size"] < 0:
        raise _BadManifest(f"the entry of {name} has a size that is not a whole number")
    return {"fingerprint": entry["fingerprint"], "sha256": entry["sha256"], "size": entry["size"]}


def _check_section(key, section) -> dict:
    if not isinstance(key, str) or not _YEAR_KEY.fullmatch(key):
        raise _BadManifest(f"{key!r} is not a tax year")
    if not isinstance(section, dict):
        raise _BadManifest(f"the section of {key} is not an object")
    workbooks = section.get("workbooks", {})
    summary = section.get("summary", False)
    if not isinstance(workbooks, dict) or not isinstance(summary, bool) or set(section) - {"workbooks", "summary"}:
        raise _BadManifest(f"the section of {key} is not of the expected shape")
    year = int(key)
    return {"summary": summary,
            "workbooks": {_check_name(n, year): _check_entry(n, e) for n, e in workbooks.items()}}


def _check_format1(doc: dict) -> dict:
    """A manifest of cpdi's first format (``{"year", "cpdi", "holders": {id: {"file",
    "fingerprint", "summary"}}}``): its workbooks become pending entries of its year."""
    year, holders = doc.get("year"), doc.get("holders")
    if not _is_int(year) or not 1000 <= year <= 9999:
        raise _BadManifest("its year is not a year")
    if not isinstance(holders, dict):
        raise _BadManifest("its holders are not an object")
    workbooks = {}
    for entry in holders.values():
        if not isinstance(entry, dict):
            raise _BadManifest("a holder's entry is not an object")
        if "file" not in entry or "fingerprint" not in entry:
            raise _BadManifest(f"a holder's entry has no {'file' if 'file' not in entry else 'fingerprint'}")
        if not isinstance(entry["fingerprint"], str):
            raise _BadManifest("a holder's fingerprint is not text")
        workbooks[_check_name(entry["file"], year)] = dict(_PENDING)
    return {str(year): {"summary": True, "workbooks": workbooks}}


def _read_manifest(path: Path) -> tuple[dict[str, dict], str | None]:
    """The manifest's sections by year, and a note when it cannot be used (then no sections)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as error:
        return {}, _manifest_note(path, f"cannot read it: {_reason(error)}")
    try:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            raise _BadManifest("not valid JSON") from None
        if not isinstance(doc, dict):
            kind = {list: "a list", str: "a string"}.get(type(doc), f"a JSON {type(doc).__name__}")
            raise _BadManifest(f"{kind} instead of an object")
        if doc.get("format") == MANIFEST_FORMAT:
            if doc.get("version") != MANIFEST_VERSION:
                raise _BadManifest(f"format version {doc.get('version')!r}; this cpdi reads {MANIFEST_VERSION}")
            years = doc.get("years")
            if not isinstance(years, dict):
                raise _BadManifest("its years are not an object")
            return {key: _check_section(key, section) for key, section in years.items()}, None
        if "holders" in doc and "format" not in doc:
            return _check_format1(doc), (f"the manifest {path} is of an earlier cpdi (format 1): "
                                         f"its workbooks are rewritten, and it is replaced")
        raise _BadManifest("not a cpdi manifest")
    except _BadManifest as bad:
        return {}, _manifest_note(path, str(bad))


def _manifest_note(path: Path, why: str) -> str:
    return (f"the manifest {path} cannot be used ({why}): treated as absent, so every holder is "
            f"rewritten and workbooks of earlier runs are not recognised for removal")


def _encode(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _entry_line(name: str, entry: dict) -> str:
    return f"{_encode(name)}: {_encode(entry)}"


def _section_lines(key: str, summary: bool, encoded: dict[str, str]) -> list[str]:
    """A year's section, one workbook per line (readable, and cheap to rebuild: each entry is
    encoded once, when it changes)."""
    lines = [f"{_encode(key)}: {{\"summary\": {_encode(summary)}, \"workbooks\": {{"]
    if encoded:
        lines.append(",\n".join(encoded[n] for n in sorted(encoded)))
    lines.append("}}")
    return lines


class _ManifestWriter:
    """The manifest as this run changes it, saved atomically when asked."""

    def __init__(self, path: Path, year: int, sections: dict[str, dict], entries: dict[str, dict]):
        self.path = path
        self.key = str(year)
        self.others = {  # other years' sections, as read (and checked), encoded once
            k: (v["summary"], {n: _entry_line(n, e) for n, e in v["workbooks"].items()})
            for k, v in sections.items() if k != self.key
        }
        self.entries = entries
        self.encoded = {name: _entry_line(name, entry) for name, entry in entries.items()}
        self.summary = False
        self.dirty = True
        self.saved_at = 0.0
        self.saves = 0

    def set(self, name: str, entry: dict) -> None:
        self.entries[name] = entry
        self.encoded[name] = _entry_line(name, entry)
        self.dirty = True

    def drop(self, name: str) -> None:
        if self.entries.pop(name, None) is not None:
            del self.encoded[name]
            self.dirty = True

    def text(self) -> str:
        sections = dict(self.others)
        sections[self.key] = (self.summary, self.encoded)
        lines = [f"{{\"format\": {_encode(MANIFEST_FORMAT)}, \"version\": {MANIFEST_VERSION}, \"years\": {{"]
        keys = sorted(sections)
        for k, key in enumerate(keys):
            section = _section_lines(key, *sections[key])
            if k < len(keys) - 1:
                section[-1] += ","
            lines += section
        lines.append("}}")
        return "\n".join(lines) + "\n"

    def tick(self) -> None:
        """Save if something changed and the last save is ``MANIFEST_FLUSH_SECONDS`` old."""
        if self.dirty and time.monotonic() - self.saved_at >= MANIFEST_FLUSH_SECONDS:
            self.save()

    def save(self) -> None:
        if not self.dirty:
            return
        text = self.text()
        try:
            with atomic_text(self.path) as handle:
                handle.write(text)
        except OSError as error:
            raise OutputError(f"cannot write {self.path}: {_reason(error)}") from error
        self.dirty = False
        self.saved_at = time.monotonic()
        self.saves += 1


# -- the lock ------------------------------------------------------------------------------------
@dataclass(eq=False)
class _Lock:
    path: Path
    text: str

    def release(self) -> None:
        _HELD.discard(self)
        with contextlib.suppress(OSError):
            if self.path.read_text(encoding="utf-8") == self.text:
                self.path.unlink()


_HELD: set[_Lock] = set()  # the locks this process holds (a second run in it is refused too)


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot), to tell a reused pid."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    fields = data.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _lock_owner(text: str) -> dict | None:
    try:
        owner = json.loads(text)
    except ValueError:
        return None
    if not isinstance(owner, dict) or not _is_int(owner.get("pid")) or not isinstance(owner.get("host"), str):
        return None
    return owner


def _owner_runs(owner: dict, path: Path) -> bool | None:
    """Whether the lock's process still runs; ``None`` when it is on another host."""
    if owner["host"] != socket.gethostname():
        return None
    pid = owner["pid"]
    if pid == os.getpid():  # this process: a run in progress here, or an earlier process's pid
        return any(os.path.realpath(lock.path) == os.path.realpath(path) for lock in _HELD)
    if not pid_alive(pid):
        return False
    recorded = owner.get("pid_start")
    if recorded is not None:
        now = _process_start(pid)
        if now is not None and now != recorded:
            return False  # the pid was reused by another process
    return True


def _remove_stale_lock(path: Path, seen: str) -> bool:
    """Remove the stale lock file whose text was ``seen``; if another run replaced it meanwhile,
    put that one back."""
    grave = path.with_name(f"{LOCK}.{os.getpid()}.stale")
    try:
        os.replace(path, grave)
    except FileNotFoundError:
        return False
    try:
        if grave.read_text(encoding="utf-8", errors="replace") != seen:
            try:
                os.link(grave, path)
            except FileExistsError:
                pass
            except OSError:
                if not path.exists():
                    os.replace(grave, path)
            return False
        return True
    finally:
        with contextlib.suppress(OSError):
            grave.unlink()


def _take_lock(out_dir: Path) -> tuple[_Lock, str | None]:
    """Lock ``out_dir`` for this run; also say what stale lock was taken over, if any."""
    path = out_dir / LOCK
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "cpdi": __version__,
             "started": datetime.now().astimezone().isoformat(timespec="seconds")}
    start = _process_start(os.getpid())
    if start is not None:
        owner["pid_start"] = start
    text = json.dumps(owner, sort_keys=True) + "\n"
    taken_over = None
    for _ in range(20):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                seen = path.read_text(encoding="utf-8", errors="replace")
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue
            other = _lock_owner(seen)
            if other is None:
                if age < UNREADABLE_LOCK_STALE_SECONDS:
                    raise FolderLocked(f"{out_dir} is being locked by another run ({path} is being "
                                       f"written); try again in a minute") from None
                what = f"an unreadable lock {path} ({age:.0f} s old)"
            else:
                runs = _owner_runs(other, path)
                since = f", started {other['started']}" if isinstance(other.get("started"), str) else ""
                if runs is None:
                    raise FolderLocked(
                        f"{out_dir} is in use by a cpdi run on host {other['host']} (pid {other['pid']}"
                        f"{since}); if that run is over, remove {path}") from None
                if runs:
                    raise FolderLocked(
                        f"{out_dir} is in use by another cpdi workpapers run (pid {other['pid']}{since}); "
                        f"wait for it to finish: two runs must not write one folder") from None
                what = f"the lock of run pid {other['pid']}{since}, which is no longer running"
            if _remove_stale_lock(path, seen):
                taken_over = what
            continue
        try:
            os.write(fd, text.encode("utf-8"))
        except OSError as error:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise OutputError(f"cannot write {path}: {_reason(error)}") from error
        os.close(fd)
        lock = _Lock(path, text)
        _HELD.add(lock)
        return lock, taken_over
    raise FolderLocked(f"cannot lock {out_dir}: other runs keep taking {path}")


# -- the run -------------------------------------------------------------------------------------
def _shown(names: list[str]) -> str:
    shown = ", ".join(scrub_text(n) for n in names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _write(path: Path, write: Callable[[], object]) -> None:
    """Run an output writer; a write failure becomes one :class:`OutputError` line."""
    try:
        write()
    except Exception as error:
        if _is_write_failure(error):
            raise OutputError(f"cannot write {path}: {_reason(error)}") from error
        raise


def _listing(folder: Path) -> set[str]:
    with os.scandir(folder) as entries:
        return {e.name for e in entries}


def run_batch(portfolio, options: BatchOptions) -> BatchReport:
    """Write every holder's workbook for ``options.year``, the summary and the exceptions, into
    ``options.out_dir`` (held locked for the run; see the module docstring)."""
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []

    def note(text: str) -> None:
        text = message_safe(text)
        notes.append(text)
        if options.notify is not None:
            options.notify(text)

    lock, taken_over = _take_lock(out_dir)
    try:
        if taken_over:
            note(f"took over {taken_over}")
        report = _run_locked(portfolio, options, out_dir, note)
    finally:
        lock.release()
    report.notes = notes
    return report


def _run_locked(portfolio, options: BatchOptions, out_dir: Path, note) -> BatchReport:
    from cpdi.writers.template import load_template, template_digest
    from cpdi.writers.workpapers import write_exceptions_csv, write_summary_workbook

    year = options.year
    summary_path = out_dir / SUMMARY_NAME.format(year=year)
    exceptions_path = out_dir / EXCEPTIONS_NAME.format(year=year)
    template = load_template(options.template_path)
    prepared = options.prepared or date.today()

    leftovers = remove_leftover_parts(out_dir)
    if leftovers:
        note(f"removed {len(leftovers)} unfinished temporary file(s) of an interrupted run")
    # the exceptions report first: a run that stops early still says what is wrong
    _write(exceptions_path, lambda: write_exceptions_csv(exceptions_path, portfolio.problems))

    manifest_path = out_dir / MANIFEST
    sections, trouble = _read_manifest(manifest_path)
    if trouble:
        note(trouble)
    section = sections.get(str(year), {"summary": False, "workbooks": {}})
    old: dict[str, dict] = section["workbooks"]

    books: dict[str, InstrumentBook] = instrument_books(
        portfolio, options.tolerance_per_1000, options.accept_residual)
    lots_by_holder, problems_by_holder = holders_in_year(portfolio, year)
    holder_ids = sorted(set(lots_by_holder) | set(problems_by_holder))
    file_names = workbook_names(holder_ids, year)
    options_key = (options.tolerance_per_1000, tuple(sorted(options.accept_residual)))
    fingerprints = _fingerprints(portfolio, holder_ids, lots_by_holder, problems_by_holder, file_names,
                                 year, template_digest(template), prepared, options_key)
    this_run = set(file_names.values())

    # kept (--resume): the manifest's fingerprint is this run's and the file has its bytes
    kept = set()
    if options.resume:
        for holder_id in holder_ids:
            entry = old.get(file_names[holder_id])
            if (entry is not None and entry.get("fingerprint") == fingerprints[holder_id]
                    and holder_id not in problems_by_holder and _intact(out_dir / file_names[holder_id], entry)):
                kept.add(holder_id)

    # what no longer belongs to the run goes: an earlier summary, workbooks of holders who left
    problems: list[Problem] = list(portfolio.problems)
    entries: dict[str, dict] = {}
    if section["summary"]:
        with contextlib.suppress(FileNotFoundError):
            summary_path.unlink()
    removed = []
    for name in sorted(set(old) - this_run):
        try:
            (out_dir / name).unlink()
            removed.append(name)
        except FileNotFoundError:
            pass
        except OSError as error:
            entries[name] = dict(_PENDING)  # still ours: try again next run
            problems.append(Problem(name, None, None, f"could not remove this workbook of a holder no "
                                    f"longer in the input: {_reason(error)}", "remove it by hand"))
    if removed:
        note(f"removed {len(removed)} workbook(s) of holders no longer in the input: {_shown(removed)}")

    # the manifest, before any workbook is replaced: only what this run keeps is verified
    existing = _listing(out_dir)
    for holder_id in holder_ids:
        name = file_names[holder_id]
        if holder_id in kept:
            entries[name] = old[name]
        elif name in old or name not in existing:
            entries[name] = dict(_PENDING)  # ours, or about to be
    writer = _ManifestWriter(manifest_path, year, sections, entries)
    writer.save()

    _STATE.clear()
    _STATE.update(
        portfolio=portfolio, books=books, year=year, out_dir=out_dir, template=template,
        prepared=prepared, lots_by_holder=lots_by_holder, problems_by_holder=problems_by_holder,
        file_names=file_names, fingerprints=fingerprints, kept=frozenset(kept),
        ours=frozenset(old), parent_pid=os.getpid(),
    )
    workers = options.workers or os.cpu_count() or 1
    progress = Progress(len(holder_ids), "holders", quiet=options.quiet)
    outcomes: dict[str, HolderOutcome] = {}
    halted: list[HolderOutcome] = []

    def record(outcome: HolderOutcome) -> None:
        outcomes[outcome.holder_id] = outcome
        name = file_names[outcome.holder_id]
        if outcome.ok and outcome.digest is not None:
            sha256, size = outcome.digest
            writer.set(name, {"fingerprint": outcome.fingerprint, "sha256": sha256, "size": size})
        elif not outcome.ok:
            if name in old and (out_dir / name).exists():
                writer.set(name, dict(_PENDING))  # ours and still there: never verified
            else:
                writer.drop(name)
            if outcome.halt is not None:
                halted.append(outcome)
        progress.advance(outcome.ok)
        writer.tick()

    finished = False
    try:
        if workers <= 1 or len(holder_ids) <= 1:
            for holder_id in holder_ids:
                record(_holder_task(holder_id))
                if halted:
                    break
        else:
            context = multiprocessing.get_context("fork")
            chunk = max(1, min(32, len(holder_ids) // (workers * 8) or 1))
            pool = ProcessPoolExecutor(workers, mp_context=context)
            try:
                for outcome in pool.map(_holder_task, holder_ids, chunksize=chunk):
                    record(outcome)
                    if halted:
                        break
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finished = True
    finally:
        progress.close()
        _STATE.clear()
        if finished:
            writer.save()
        else:  # interrupted: record what landed, without hiding the interruption
            with contextlib.suppress(Exception):
                writer.save()

    seen = set(problems)
    for holder_id in holder_ids:
        for problem in outcomes[holder_id].problems if holder_id in outcomes else ():
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)
    if halted:
        stop = halted[0]
        with contextlib.suppress(Exception):
            write_exceptions_csv(exceptions_path, problems)
        raise OutputError(
            f"cannot write {out_dir / file_names[stop.holder_id]}: {stop.halt}; the batch stopped after "
            f"{len(outcomes)} of {len(holder_ids)} holder(s) (problems so far in {exceptions_path.name}): "
            f"make room or fix the folder, then run again with --resume")

    ok = [h for h in holder_ids if outcomes[h].ok]
    failed = [h for h in holder_ids if not outcomes[h].ok]
    summary = [row for h in ok for row in outcomes[h].summary]
    _write(summary_path, lambda: write_summary_workbook(
        summary_path, year, summary, template, prepared, len(ok), len(failed)))
    writer.summary = True
    writer.dirty = True
    writer.save()
    _write(exceptions_path, lambda: write_exceptions_csv(exceptions_path, problems))

    removed_failed = [outcomes[h].removed for h in failed if outcomes[h].removed]
    if removed_failed:
        note(f"removed {len(removed_failed)} workbook(s) of earlier runs for holders who fail now "
             f"(see {exceptions_path.name}): {_shown(removed_failed)}")
    written = {outcomes[h].file for h in ok}
    left = sorted(n for n in _listing(out_dir)
                  if n.endswith(f"_{year}.xlsx") and not n.startswith(".") and n != summary_path.name
                  and n not in written and n not in writer.entries)
    if left:
        note(f"{len(left)} file(s) look like workbooks for {year} but are not this run's and the manifest "
             f"does not name them, so they were left in place: {_shown(left)}")
    blocked_by = tuple(dict.fromkeys(
        p.file for p in portfolio.problems if p.row is None and not p.holder_id and not p.lot_id))
    return BatchReport(
        holders_ok=len(ok), holders_failed=len(failed),
        holders_skipped=sum(1 for h in ok if outcomes[h].skipped),
        workbooks=[out_dir / outcomes[h].file for h in ok],
        summary_path=summary_path, exceptions_path=exceptions_path, problems=problems,
        removed=removed, removed_failed=removed_failed, left_in_place=left, blocked_by=blocked_by,
        year=year,
    )

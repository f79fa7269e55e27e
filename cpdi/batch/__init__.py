"""Year-end batch: one workpaper per holder, in parallel, isolated, resumable — into an output
folder that tells the truth about the run (docs/formats.md, "The output folder").

This package is the batch's public surface and its orchestration (:func:`run_batch`).  Two
modules keep the output folder's own files, and one the errors they share:

* :mod:`cpdi.batch.manifest` — ``DIR/.cpdi-manifest.json``: which workbooks this tool wrote, with
  the fingerprints and digests that decide what ``--resume`` keeps and what a run may remove;
* :mod:`cpdi.batch.lock` — ``DIR/.cpdi-lock``: one run at a time per folder;
* :mod:`cpdi.batch.errors` — :class:`BatchError`, :class:`FolderLocked`, :class:`OutputError`
  (importable from here) and how a write failure is said in one line.

Computing

* Inputs are read and every instrument's schedule is built and validated **once**; worker
  processes inherit them (fork) instead of recomputing.  There are never more workers than
  holders (``workers=0``: one per core).  Workers die with the batch process (Linux: the kernel
  kills them; elsewhere a watchdog), and each checks the batch is still there just before it
  renames a workbook into place, so a killed run can never overwrite the next run's files.
* Each holder is an independent task: its lots go through the engine, then the forms layer
  (:func:`cpdi.engine.forms.holder_forms`, the form-line mapping read once; method §12) and, when
  the input has broker figures for the holder, the broker reconciliation; its workbook is
  written atomically.  A holder whose inputs have a problem is not written (a workbook missing a
  lot would understate the return) and is named in the exceptions report; everyone else is.
* Workbooks stream out as they finish; the parent keeps only the small summary rows.
* Output is deterministic: the same inputs and ``prepared`` date give byte-identical files.

The output folder

* **One run at a time.**  A run holds ``DIR/.cpdi-lock`` from start to end and removes it on
  every way out, Ctrl-C included; a second run into the same folder is refused
  (:class:`FolderLocked`, exit 1).  What the lock holds (the run's worker pids too), and when a
  stale one is taken over — only once none of the dead run's workers runs: :mod:`cpdi.batch.lock`.
  A manifest path that is a folder is refused up front (remove it); it is never moved aside.
* **The exceptions report first.**  ``exceptions_YYYY.csv`` with the input problems is written
  before any workbook and rewritten at the end with every problem, so a run that stops early
  still says what is wrong.  The summary of an earlier run is removed at the start, whatever the
  manifest says, and written at the end: a folder without ``summary_YYYY.xlsx`` holds a run that
  did not finish.
* **This run's holders only.**  The workbook of a holder who left the input, holds nothing in
  the year or fails now is removed, and the run says so (count and names).  A holder "holds
  nothing" when no lot of theirs has a row in the engine's ledger for the year: no lot is held
  in it (found when planning), or the lots the input lists as held ended earlier (a note that
  matured years ago, its lot without a disposition date: found when the holder's lots are
  computed).  Such a holder gets no workbook — a workbook of zeros would pass for a holding —
  and is counted apart from successes and failures; the summary lists them, with every holder
  of ``holders.csv`` who has no lot in the year.  Only files the
  manifest (:mod:`cpdi.batch.manifest`) names are ever removed; a file that merely looks like a
  workbook of the year is left in place and reported.  Temporary ``.part`` files of killed runs
  (whose writer no longer runs, ``cpdi.writers.atomic``) are removed at the start.
* **Write failures** (``OSError`` including a full disk, XlsxWriter's ``FileCreateError``) become
  one line naming the file and the reason, never a traceback (a half-written workbook is
  disposed of, so nothing is left for the garbage collector to complain about).  A failure that
  concerns the whole folder (no space, quota, read-only, I/O error) — a workbook's or the
  manifest's — stops the batch in one line saying how far it got (:class:`OutputError`, also an
  ``OSError``; exit 1); the exceptions report is rewritten with the failure when there is room,
  and the line says so when there is not.  Any other failure fails only that holder.
* **Honest totals.**  When no holder could be computed because of input problems (a lots table
  without a required column, or no lots table at all), the run says so and names the files at
  fault (``BatchReport.blocked_by``) instead of reporting "0 holders failed" or "no holder held a
  lot".
"""

from __future__ import annotations

import contextlib
import errno
import multiprocessing
import os
import signal
import stat
import sys
import threading
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Mapping, NoReturn

from cpdi.api import InstrumentBook, compute, instrument_books, missing_lots_problem
from cpdi.batch.errors import BatchError, FolderLocked, OutputError, is_write_failure, os_error, reason
from cpdi.batch.lock import LOCK, UNREADABLE_LOCK_STALE_SECONDS, WORKERS_WAIT_SECONDS, Lock, take_lock
from cpdi.batch.manifest import (
    MANIFEST,
    MANIFEST_FLUSH_SECONDS,
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    PENDING,
    SUMMARY_NAME,
    ManifestWriter,
    file_digest,
    holder_fingerprints,
    intact,
    read_manifest,
)
from cpdi.problems import Problem
from cpdi.progress import Progress
from cpdi.writers.atomic import remove_leftover_parts
from cpdi.writers.privacy import message_safe, scrub_text

__all__ = [
    "BatchError", "BatchOptions", "BatchReport", "EXCEPTIONS_NAME", "FOLDER_ERRNOS", "FolderLocked",
    "HolderOutcome", "LOCK", "MANIFEST", "MANIFEST_FLUSH_SECONDS", "MANIFEST_FORMAT", "MANIFEST_VERSION",
    "NAMES_SHOWN", "OutputError", "SUMMARY_NAME", "UNREADABLE_LOCK_STALE_SECONDS", "WORKERS_WAIT_SECONDS",
    "broker_figures_by_holder", "holders_in_year", "idle_holders", "mapping_digest", "run_batch",
    "workbook_names",
]

EXCEPTIONS_NAME = "exceptions_{year}.csv"
NAMES_SHOWN = 10  # file names listed in one message
# Write failures that concern the whole folder, not one file: the batch stops.
FOLDER_ERRNOS = frozenset(
    e for e in (errno.ENOSPC, getattr(errno, "EDQUOT", None), errno.EROFS, errno.EIO) if e is not None
)


@dataclass
class BatchOptions:
    year: int
    out_dir: Path
    template_path: Path | None = None
    prepared: date | None = None
    workers: int = 0  # 0: all cores; never more than the run's holders
    resume: bool = False
    quiet: bool = False
    tolerance_per_1000: float = 0.01
    accept_residual: tuple[str, ...] = ()
    notify: Callable[[str], None] | None = None  # called with each note as it happens
    mapping_path: Path | None = None  # the form-line mapping (default: templates/forms.toml)


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
    removed: str | None = None  # a failing or idle holder's workbook of an earlier run, removed
    idle: bool = False  # no ledger row in the year: nothing held, no workbook (``ok`` is False)
    halt: str | None = None  # a write failure of the whole folder (the reason): the batch stops
    halt_errno: int | None = None  # … and its errno
    totals: dict | None = None  # the return's totals by character (summary.holder_totals_row)


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
    holders_idle: int = 0  # holders of the input who held nothing in the year: no workbook
    idle: list[str] = field(default_factory=list)  # … their ids
    removed_idle: list[str] = field(default_factory=list)  # workbooks of earlier runs of idle holders

    @property
    def holders_total(self) -> int:
        """Holders of the run: those who held a lot in the year or have an input problem
        (holders who held nothing are counted apart, ``holders_idle``)."""
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
            idle = (f" ({self.holders_idle} holder(s) of the input held nothing in {year})"
                    if self.holders_idle else "")
            return f"no holder held a lot in {year}: no workbook written{idle}; {files}"
        skipped = f" ({self.holders_skipped} unchanged, kept)" if self.holders_skipped else ""
        return (f"{self.holders_ok} workbook(s) for {year} in {out}{skipped}; "
                f"{self.holders_idle} holder(s) held nothing in {year}; "
                f"{self.holders_failed} holder(s) failed; {files} ({len(self.problems)} problem(s))")


# -- what a worker needs, set once in the parent and inherited by forked workers -------------
_STATE: dict = {}


def _orphaned(state) -> bool:
    """A worker whose batch process died (killed outright): it must write nothing more."""
    parent = state["parent_pid"]
    return os.getpid() != parent and os.getppid() != parent


class _Orphaned(Exception):
    """Raised in a worker, just before a rename, when its batch process is gone."""


def _exit_orphan() -> NoReturn:
    """An orphaned worker ends at once: nobody will read its outcome, and the next run may
    already be writing into the folder."""
    os._exit(1)


def _die_with_parent() -> bool:
    """Ask the kernel to kill this worker when its batch process dies (Linux
    ``prctl(PR_SET_PDEATHSIG, SIGKILL)``); ``False`` where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
        pr_set_pdeathsig = 1
        return prctl(pr_set_pdeathsig, ctypes.c_ulong(signal.SIGKILL), ctypes.c_ulong(0),
                     ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
    except (OSError, AttributeError, TypeError, ValueError):
        return False


def _worker_init(parent_pid: int) -> None:
    """Each worker process, as it starts: it dies with its batch process — killed by the kernel
    where it can be (Linux), else by a watchdog thread that notices the parent changing — and
    checks again before every rename (:func:`_holder_task`)."""
    if not _die_with_parent():
        def watch() -> None:
            while os.getppid() == parent_pid:
                threading.Event().wait(0.5)
            _exit_orphan()

        threading.Thread(target=watch, name="cpdi-orphan-watch", daemon=True).start()
    if os.getppid() != parent_pid:  # the batch died before the kernel was asked
        _exit_orphan()


def _holder_task(holder_id: str) -> HolderOutcome:
    """Compute one holder and write their workbook, or keep it (runs in a worker)."""
    from cpdi.writers.workpapers import holder_totals_row, summary_rows, write_holder_workbook

    state = _STATE
    year = state["year"]
    file_name = state["file_names"][holder_id]
    fingerprint = state["fingerprints"][holder_id]
    if _orphaned(state):
        _exit_orphan()
    lots = state["lots_by_holder"].get(holder_id, [])
    target = state["out_dir"] / file_name
    problems = list(state["problems_by_holder"].get(holder_id, ()))
    result = compute(state["portfolio"], year, books=state["books"], lots=lots)
    # result.problems repeats the whole input's problems: keep this holder's own
    problems.extend(p for p in result.problems if p.holder_id == holder_id and p not in problems)
    ledgers = [l for l in result.ledgers if any(r.tax_year == year for r in l.years)]
    if problems:
        removed = _remove_ours(state, holder_id, file_name, problems)
        return HolderOutcome(holder_id, False, None, fingerprint, problems=problems, removed=removed)
    if not ledgers:  # every lot ended before the year (a note matured years ago): nothing held
        removed = _remove_ours(state, holder_id, file_name, problems)
        return HolderOutcome(holder_id, False, None, fingerprint, problems=problems, removed=removed,
                             idle=True)
    rows = [_plain(r) for r in summary_rows({holder_id: ledgers}, state["portfolio"].holders, year,
                                            file_names={holder_id: file_name})]
    holder = state["portfolio"].holders.get(holder_id)
    try:
        forms, reconciliation = _holder_returns(state, holder_id, holder, ledgers)
    except Exception as error:  # isolate: one holder's failure never stops the batch
        problems = [Problem(file_name, None, None,
                            f"could not put the holder's figures on the forms: {message_safe(str(error))}",
                            "run again with --debug for details", holder_id=holder_id)]
        removed = _remove_ours(state, holder_id, file_name, problems)
        return HolderOutcome(holder_id, False, None, fingerprint, problems=problems, removed=removed)
    totals = _plain(holder_totals_row(forms, holder, file_name, reconciliation))
    if holder_id in state["kept"]:
        return HolderOutcome(holder_id, True, file_name, fingerprint, skipped=True, summary=rows,
                             totals=totals)
    written: list[tuple[str, int]] = []

    def before_rename(tmp: Path) -> None:
        # the digest of the bytes about to be renamed, not of whatever the target holds later;
        # then, last thing before the rename, is the batch still there to record it?
        written.append(file_digest(tmp))
        if _orphaned(state):
            raise _Orphaned
    try:
        write_holder_workbook(target, holder, holder_id, year, ledgers, state["books"],
                              state["template"], state["prepared"], before_rename=before_rename,
                              forms=forms, mapping=state["mapping"], reconciliation=reconciliation)
    except _Orphaned:
        _exit_orphan()
    except Exception as error:  # isolate: one holder's failure never stops the batch
        if is_write_failure(error):
            cause = os_error(error)
            folder_wide = cause is not None and cause.errno in FOLDER_ERRNOS
            problem = Problem(file_name, None, None, f"could not write the workbook: {reason(error)}",
                              "check the output folder (space, permissions) and run again with --resume",
                              holder_id=holder_id)
            return HolderOutcome(holder_id, False, None, fingerprint, problems=[problem],
                                 halt=reason(error) if folder_wide else None,
                                 halt_errno=cause.errno if folder_wide else None)
        problem = Problem(file_name, None, None, f"could not write the workbook: {reason(error)}",
                          "run again with --debug for details", holder_id=holder_id)
        return HolderOutcome(holder_id, False, None, fingerprint, problems=[problem])
    # no digest (a writer that never called before_rename): the manifest leaves it pending
    return HolderOutcome(holder_id, True, file_name, fingerprint, summary=rows, totals=totals,
                         digest=written[-1] if written else None)


def _holder_returns(state, holder_id: str, holder, ledgers) -> tuple:
    """The holder's year on the forms for their filer type (method §12) and, when the input has
    broker figures of the year for them, their broker reconciliation lines."""
    from cpdi.engine.forms import broker_bases, holder_forms
    from cpdi.model import FilerType

    year = state["year"]
    filer_type = holder.filer_type if holder is not None else FilerType.INDIVIDUAL
    figures = state["broker"].get(holder_id, ())
    forms = holder_forms(holder_id, filer_type, year, ledgers, state["descriptions"], state["mapping"],
                         broker_bases(figures, holder_id, year))
    if not figures:
        return forms, ()
    from cpdi.engine.reconciliation import reconcile

    schedules = {iid: book.schedule for iid, book in state["books"].items()
                 if book.schedule is not None and book.validation.usable}
    lines = reconcile(list(figures), {holder_id: forms}, ledgers, year, schedules)
    return forms, tuple(line for line in lines if line.holder_id == holder_id)


def broker_figures_by_holder(portfolio, year: int) -> dict[str, tuple]:
    """The input's broker figures of ``year`` (``broker_1099.csv``), by holder."""
    by_holder: dict[str, list] = defaultdict(list)
    for figure in getattr(portfolio, "broker_1099", ()) or ():
        if figure.tax_year == year:
            by_holder[figure.holder_id].append(figure)
    return {holder_id: tuple(figures) for holder_id, figures in by_holder.items()}


def mapping_digest(mapping) -> str:
    """A stable hash of a form-line mapping's content (where it was read from left out): a
    changed mapping changes every holder's fingerprint, so ``--resume`` rewrites them."""
    import hashlib

    content = repr((mapping.edition, sorted(mapping.adjustment_codes.items()),
                    sorted((f.value, repr(forms)) for f, forms in mapping.filers.items())))
    return hashlib.sha256(content.encode("utf-8", "surrogatepass")).hexdigest()


def _with_broker_figures(fingerprints: dict[str, str], broker: Mapping[str, tuple]) -> dict[str, str]:
    """Each holder's fingerprint with their broker figures of the year in it (a changed figure
    rewrites their workbook on ``--resume``); unchanged for a holder without any."""
    import hashlib

    out = {}
    for holder_id, fingerprint in fingerprints.items():
        figures = broker.get(holder_id)
        if not figures:
            out[holder_id] = fingerprint
            continue
        h = hashlib.sha256(fingerprint.encode())
        for figure in sorted(figures, key=repr):
            h.update(repr(figure).encode("utf-8", "surrogatepass"))
        out[holder_id] = h.hexdigest()
    return out


def _remove_ours(state, holder_id: str, file_name: str, problems: list[Problem]) -> str | None:
    """A holder who gets no workbook this run (failing, or holding nothing): their workbook of an
    earlier run must not pass for this one, so it is removed if it is ours (the manifest names
    it).  Returns its name when removed; a removal that fails becomes one of ``problems``."""
    if file_name not in state["ours"]:
        return None
    try:
        (state["out_dir"] / file_name).unlink()
        return file_name
    except FileNotFoundError:
        return None
    except OSError as error:
        problems.append(Problem(
            file_name, None, None,
            f"could not remove this holder's workbook of an earlier run: {reason(error)}",
            "remove it by hand: it does not reflect the current input", holder_id=holder_id))
        return None


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


def idle_holders(portfolio, holder_ids) -> list[str]:
    """Holders of the input (``holders.csv`` or ``lots.csv``) who are not among ``holder_ids``,
    the run's holders (:func:`holders_in_year`): no lot of theirs is held in the year, so they
    get no workbook and the summary lists them as holding nothing."""
    known = set(portfolio.holders) | {lot.holder_id for lot in portfolio.lots}
    return sorted(known - set(holder_ids))


def holder_tins(portfolio):
    """Every holder's taxpayer id, indexed for masking (``cpdi.writers.privacy.tin_index``)."""
    from cpdi.writers.privacy import tin_index

    return tin_index({h: holder.tin for h, holder in portfolio.holders.items()})


def workbook_names(holder_ids, year: int, tins=None) -> dict[str, str]:
    """Each holder's workbook name; ids whose names would differ only in case (one file on
    case-insensitive file systems, as on Windows and macOS) get distinguishing hashes."""
    from cpdi.writers.workpapers import holder_file_name

    from cpdi.writers.privacy import tin_index

    tins = tin_index(tins)
    names = {h: holder_file_name(h, year, tin=tins.tin(h)) for h in holder_ids}
    by_folded: dict[str, list[str]] = defaultdict(list)
    for holder_id, name in names.items():
        by_folded[name.casefold()].append(holder_id)
    for clash in (ids for ids in by_folded.values() if len(ids) > 1):
        for holder_id in clash:
            names[holder_id] = holder_file_name(holder_id, year, distinguish=True, tin=tins.tin(holder_id))
    return names


# -- the run -------------------------------------------------------------------------------------
def _shown(names: list[str]) -> str:
    shown = ", ".join(scrub_text(n) for n in names[:NAMES_SHOWN])
    return shown + (f" and {len(names) - NAMES_SHOWN} more" if len(names) > NAMES_SHOWN else "")


def _write(path: Path, write: Callable[[], object]) -> None:
    """Run an output writer; a write failure becomes one :class:`OutputError` line."""
    try:
        write()
    except Exception as error:
        if is_write_failure(error):
            cause = os_error(error)
            raise OutputError(f"cannot write {path}: {reason(error)}",
                              cause.errno if cause is not None else None) from error
        raise


def _listing(folder: Path) -> set[str]:
    with os.scandir(folder) as entries:
        return {e.name for e in entries}


def run_batch(portfolio, options: BatchOptions) -> BatchReport:
    """Write every holder's workbook for ``options.year``, the summary and the exceptions, into
    ``options.out_dir`` (held locked for the run, :mod:`cpdi.batch.lock`; see the package
    docstring)."""
    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    tins = holder_tins(portfolio)

    def note(text: str) -> None:
        text = message_safe(text, tins=tins)
        notes.append(text)
        if options.notify is not None:
            options.notify(text)

    lock, taken_over = take_lock(out_dir)
    try:
        if taken_over:
            note(f"took over {taken_over}")
        report = _run_locked(portfolio, options, out_dir, note, lock)
    finally:
        lock.release()
    report.notes = notes
    return report




@dataclass
class _Plan:
    """A run as planned before any workbook is written: the folder's files, the earlier run's
    manifest, the holders of the run with their workbook names and fingerprints, and the
    workbooks ``--resume`` keeps."""

    year: int
    out_dir: Path
    summary_path: Path
    exceptions_path: Path
    manifest_path: Path
    template: object
    prepared: date
    sections: dict[str, dict]  # the manifest's sections by year, as read
    section: dict  # this year's: {"summary": bool, "workbooks": {name: entry}}
    books: dict[str, InstrumentBook]
    lots_by_holder: dict[str, list]
    problems_by_holder: dict[str, list[Problem]]
    holder_ids: list[str]
    file_names: dict[str, str]
    fingerprints: dict[str, str]
    kept: set[str]
    tins: object  # every holder's taxpayer id, for masking (privacy.TinIndex)
    holders: Mapping = field(default_factory=dict)  # the input's holders (names, for the summary)
    idle: list[str] = field(default_factory=list)  # holders of the input with no lot in the year
    lots_in_input: dict[str, int] = field(default_factory=dict)  # lots per holder, any year
    mapping: object = None  # the form-line mapping (cpdi.engine.forms.FormMapping), read once
    broker: dict = field(default_factory=dict)  # holder id -> their broker figures of the year

    @property
    def old(self) -> dict[str, dict]:
        """The earlier runs' workbooks of the year, as the manifest names them."""
        return self.section["workbooks"]


def _run_locked(portfolio, options: BatchOptions, out_dir: Path, note, lock: Lock | None = None) -> BatchReport:
    """The run, with ``out_dir`` locked: prepare the folder, plan, clear what no longer belongs,
    run the holders, finish."""
    from cpdi.readers.form_lines import load_form_mapping
    from cpdi.writers.template import load_template

    year = options.year
    summary_path = out_dir / SUMMARY_NAME.format(year=year)
    exceptions_path = out_dir / EXCEPTIONS_NAME.format(year=year)
    template = load_template(options.template_path)
    mapping = load_form_mapping(options.mapping_path)  # checked whole before anything is written
    prepared = options.prepared or date.today()
    # an input without a lots table has nothing to compute: a problem, not "no holder held a lot"
    missing = missing_lots_problem(portfolio)
    input_problems = list(portfolio.problems) + ([missing] if missing is not None else [])

    _check_manifest_path(out_dir / MANIFEST)
    _prepare_folder(input_problems, out_dir, summary_path, exceptions_path, note, holder_tins(portfolio))
    plan = _plan(portfolio, options, out_dir, summary_path, exceptions_path, template, prepared, note,
                 mapping)
    problems: list[Problem] = list(input_problems)
    removed, removed_idle, entries = _remove_earlier(plan, problems, note)
    writer = _first_manifest(plan, entries)
    outcomes, halt = _run_holders(portfolio, plan, writer, options, lock)
    _add_holder_problems(plan, outcomes, problems)
    if halt is not None:
        _stop(plan, outcomes, halt, problems)
    return _finish(input_problems, plan, outcomes, writer, problems, removed, note, removed_idle)


def _check_manifest_path(path: Path) -> None:
    """Refuse, before anything is written, a manifest path that is not a file (a folder named
    like it): the run could not record what it writes.  It is not moved aside — cpdi removes or
    moves only files it wrote."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return  # absent (or unreadable: read_manifest says so)
    if not stat.S_ISREG(mode):
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
        raise OutputError(f"{path} is {kind}, not cpdi's manifest, so this run could not record "
                          f"what it writes: remove it (or move it out of {path.parent}), then run again",
                          errno.EISDIR if stat.S_ISDIR(mode) else None)


def _prepare_folder(input_problems: list[Problem], out_dir: Path, summary_path: Path,
                    exceptions_path: Path, note, tins=None) -> None:
    """Remove the unfinished temporary files of interrupted runs and the summary of an earlier
    run (whatever the manifest says: a folder with a summary holds a finished run), then write the
    exceptions report with the input problems, before anything else."""
    from cpdi.writers.workpapers import write_exceptions_csv

    leftovers = remove_leftover_parts(out_dir)
    if leftovers:
        note(f"removed {len(leftovers)} unfinished temporary file(s) of an interrupted run")
    try:
        summary_path.unlink()
    except FileNotFoundError:
        pass
    except OSError as error:
        raise OutputError(f"cannot remove {summary_path}, the summary of an earlier run, which must not "
                          f"pass for this run's: {reason(error)}; remove it, then run again",
                          error.errno) from error
    # the exceptions report first: a run that stops early still says what is wrong
    _write(exceptions_path, lambda: write_exceptions_csv(exceptions_path, input_problems, tins))


def _plan(portfolio, options: BatchOptions, out_dir: Path, summary_path: Path, exceptions_path: Path,
          template, prepared: date, note, mapping=None) -> _Plan:
    """Read the earlier run's manifest (a note when it cannot be used), find the holders of the
    year, name and fingerprint their workbooks, and (``--resume``) see which are kept."""
    from cpdi.writers.template import template_digest

    year = options.year
    manifest_path = out_dir / MANIFEST
    sections, trouble = read_manifest(manifest_path)
    if trouble:
        note(trouble)
    section = sections.get(str(year), {"summary": False, "workbooks": {}})
    old: dict[str, dict] = section["workbooks"]

    books: dict[str, InstrumentBook] = instrument_books(
        portfolio, options.tolerance_per_1000, options.accept_residual)
    lots_by_holder, problems_by_holder = holders_in_year(portfolio, year)
    holder_ids = sorted(set(lots_by_holder) | set(problems_by_holder))
    idle = idle_holders(portfolio, holder_ids)
    tins = holder_tins(portfolio)
    file_names = workbook_names(holder_ids, year, tins)
    if mapping is None:
        from cpdi.readers.form_lines import load_form_mapping

        mapping = load_form_mapping(options.mapping_path)
    broker = broker_figures_by_holder(portfolio, year)
    options_key = (options.tolerance_per_1000, tuple(sorted(options.accept_residual)), mapping_digest(mapping))
    fingerprints = holder_fingerprints(portfolio, holder_ids, lots_by_holder, problems_by_holder, file_names,
                                       year, template_digest(template), prepared, options_key)
    fingerprints = _with_broker_figures(fingerprints, broker)

    # kept (--resume): the manifest's fingerprint is this run's and the file has its bytes
    kept = set()
    if options.resume:
        for holder_id in holder_ids:
            entry = old.get(file_names[holder_id])
            if (entry is not None and entry.get("fingerprint") == fingerprints[holder_id]
                    and holder_id not in problems_by_holder and intact(out_dir / file_names[holder_id], entry)):
                kept.add(holder_id)
    return _Plan(
        year=year, out_dir=out_dir, summary_path=summary_path, exceptions_path=exceptions_path,
        manifest_path=manifest_path, template=template, prepared=prepared, sections=sections,
        section=section, books=books, lots_by_holder=lots_by_holder, problems_by_holder=problems_by_holder,
        holder_ids=holder_ids, file_names=file_names, fingerprints=fingerprints, kept=kept,
        tins=tins, holders=portfolio.holders, idle=idle,
        lots_in_input=dict(Counter(lot.holder_id for lot in portfolio.lots)),
        mapping=mapping, broker=broker,
    )


def _remove_earlier(plan: _Plan, problems: list[Problem], note) -> tuple[list[str], list[str], dict[str, dict]]:
    """What no longer belongs to the run goes: workbooks of holders who left the input, and of
    holders still in it who hold no lot in the year.  Returns the workbooks removed of each, and
    the manifest entries of those that could not be (still ours: tried again next run; each also
    becomes a problem)."""
    out_dir, old = plan.out_dir, plan.old
    this_run = set(plan.file_names.values())
    idle_names = set(workbook_names(plan.idle, plan.year, plan.tins).values())
    entries: dict[str, dict] = {}
    removed, removed_idle = [], []  # (the summary went first, in _prepare_folder)
    for name in sorted(set(old) - this_run):
        idle = name in idle_names
        whose = "a holder who held nothing in the year" if idle else "a holder no longer in the input"
        try:
            (out_dir / name).unlink()
            (removed_idle if idle else removed).append(name)
        except FileNotFoundError:
            pass
        except OSError as error:
            entries[name] = dict(PENDING)  # still ours: try again next run
            problems.append(Problem(name, None, None, f"could not remove this workbook of {whose}: "
                                    f"{reason(error)}", "remove it by hand"))
    if removed:
        note(f"removed {len(removed)} workbook(s) of holders no longer in the input: {_shown(removed)}")
    if removed_idle:
        note(f"removed {len(removed_idle)} workbook(s) of holders who held nothing in {plan.year}: "
             f"{_shown(removed_idle)}")
    return removed, removed_idle, entries


def _first_manifest(plan: _Plan, entries: dict[str, dict]) -> ManifestWriter:
    """The manifest, saved before any workbook is replaced: only what this run keeps is verified;
    every other workbook of the run that is ours, or about to be, is pending."""
    existing = _listing(plan.out_dir)
    for holder_id in plan.holder_ids:
        name = plan.file_names[holder_id]
        if holder_id in plan.kept:
            entries[name] = plan.old[name]
        elif name in plan.old or name not in existing:
            entries[name] = dict(PENDING)  # ours, or about to be
    writer = ManifestWriter(plan.manifest_path, plan.year, plan.sections, entries)
    writer.save()
    return writer


@dataclass
class _Halt:
    """A write failure of the whole folder: the file that could not be written and why."""

    path: Path
    reason: str
    errno: int | None = None
    problem: Problem | None = None  # the problem to report, when no holder's outcome carries it


def _run_holders(portfolio, plan: _Plan, writer: ManifestWriter, options: BatchOptions,
                 lock: Lock | None = None) -> tuple[dict[str, HolderOutcome], _Halt | None]:
    """Run :func:`_holder_task` for every holder (in forked worker processes when there are
    several: at most one per holder, recorded in the lock, dying with this process), recording
    each outcome in the manifest as it lands; stop at the first write failure of the whole
    folder — a workbook's or the manifest's own.  Returns the outcomes by holder and the halt, if
    any.  The manifest is saved on every way out (after an interruption or a halt, without hiding
    it)."""
    holder_ids, file_names, old, out_dir = plan.holder_ids, plan.file_names, plan.old, plan.out_dir
    _STATE.clear()
    _STATE.update(
        portfolio=portfolio, books=plan.books, year=plan.year, out_dir=out_dir, template=plan.template,
        prepared=plan.prepared, lots_by_holder=plan.lots_by_holder, problems_by_holder=plan.problems_by_holder,
        file_names=file_names, fingerprints=plan.fingerprints, kept=frozenset(plan.kept),
        ours=frozenset(old), parent_pid=os.getpid(), mapping=plan.mapping, broker=plan.broker,
        descriptions={iid: inst.description for iid, inst in portfolio.instruments.items()},
    )
    workers = min(options.workers or os.cpu_count() or 1, len(holder_ids))
    progress = Progress(len(holder_ids), "holders", quiet=options.quiet)
    outcomes: dict[str, HolderOutcome] = {}
    halts: list[_Halt] = []

    def manifest_halt(error: OutputError) -> _Halt:
        why = reason(error)
        return _Halt(plan.manifest_path, why, error.errno, Problem(
            MANIFEST, None, None, f"could not write the manifest: {why}",
            "check the output folder (space, permissions) and run again with --resume"))

    def record(outcome: HolderOutcome) -> None:
        outcomes[outcome.holder_id] = outcome
        name = file_names[outcome.holder_id]
        if outcome.ok and outcome.digest is not None:
            sha256, size = outcome.digest
            writer.set(name, {"fingerprint": outcome.fingerprint, "sha256": sha256, "size": size})
        elif not outcome.ok:  # failed, or held nothing: no workbook of this run
            if name in old and (out_dir / name).exists():
                writer.set(name, dict(PENDING))  # ours and still there: never verified
            else:
                writer.drop(name)
            if outcome.halt is not None:
                halts.append(_Halt(out_dir / name, outcome.halt, outcome.halt_errno))
        progress.advance(outcome.ok or outcome.idle)
        if not halts:
            try:
                writer.tick()
            except OutputError as error:  # the manifest cannot be saved: the same orderly stop
                halts.append(manifest_halt(error))

    finished = False
    try:  # _holder_task is this module's global, looked up here at call time (tests replace it)
        if workers <= 1:
            for holder_id in holder_ids:
                record(_holder_task(holder_id))
                if halts:
                    break
        else:
            context = multiprocessing.get_context("fork")
            chunk = max(1, min(32, len(holder_ids) // (workers * 8) or 1))
            before = {p.pid for p in multiprocessing.active_children()}
            pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init,
                                       initargs=(os.getpid(),))
            try:
                results = pool.map(_holder_task, holder_ids, chunksize=chunk)  # starts the workers
                if lock is not None:
                    lock.record_workers(p.pid for p in multiprocessing.active_children() if p.pid not in before)
                for outcome in results:
                    record(outcome)
                    if halts:
                        break
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
        finished = True
    finally:
        progress.close()
        _STATE.clear()
        if finished and not halts:
            try:
                writer.save()
            except OutputError as error:
                halts.append(manifest_halt(error))
        else:  # interrupted or halted: record what landed, without hiding why the run stopped
            with contextlib.suppress(Exception):
                writer.save()
    return outcomes, (halts[0] if halts else None)


def _add_holder_problems(plan: _Plan, outcomes: dict[str, HolderOutcome], problems: list[Problem]) -> None:
    """Add the holders' own problems to the run's, in holder order, each once."""
    seen = set(problems)
    for holder_id in plan.holder_ids:
        for problem in outcomes[holder_id].problems if holder_id in outcomes else ():
            if problem not in seen:
                seen.add(problem)
                problems.append(problem)


def _stop(plan: _Plan, outcomes: dict[str, HolderOutcome], halt: _Halt, problems: list[Problem]) -> NoReturn:
    """A write failure of the whole folder: the exceptions report is rewritten with the problems
    so far, the write failure included (when there is room: if not, the one line says so), and the
    batch stops (:class:`OutputError`)."""
    from cpdi.writers.workpapers import write_exceptions_csv

    exceptions_path = plan.exceptions_path
    if halt.problem is not None and halt.problem not in problems:
        problems.append(halt.problem)
    try:
        write_exceptions_csv(exceptions_path, problems, plan.tins)
        where = f"problems so far in {exceptions_path.name}"
    except Exception as error:  # noqa: BLE001 - the stop is said in one line whatever happens
        where = (f"{exceptions_path.name} could not be updated either ({reason(error)}): it lists the "
                 f"input problems only")
    raise OutputError(
        f"cannot write {halt.path}: {halt.reason}; the batch stopped after {len(outcomes)} of "
        f"{len(plan.holder_ids)} holder(s) ({where}): make room or fix the folder, then run again "
        f"with --resume", halt.errno)


def _finish(input_problems: list[Problem], plan: _Plan, outcomes: dict[str, HolderOutcome],
            writer: ManifestWriter, problems: list[Problem], removed: list[str], note,
            removed_idle: list[str] = ()) -> BatchReport:
    """Write the summary (then the manifest says so) and the final exceptions report, say what
    was removed or left in place, and report."""
    from cpdi.writers.workpapers import write_exceptions_csv

    year, out_dir, holder_ids = plan.year, plan.out_dir, plan.holder_ids
    summary_path, exceptions_path = plan.summary_path, plan.exceptions_path
    ok = [h for h in holder_ids if outcomes[h].ok]
    failed = [h for h in holder_ids if not outcomes[h].ok and not outcomes[h].idle]
    idle_now = [h for h in holder_ids if outcomes[h].idle]  # lots in the input, none held in the year
    idle = sorted(set(plan.idle) | set(idle_now))
    _write_summary(plan, outcomes, ok, failed, idle)
    writer.summary = True
    writer.dirty = True
    writer.save()
    _write(exceptions_path, lambda: write_exceptions_csv(exceptions_path, problems, plan.tins))

    removed_failed = [outcomes[h].removed for h in failed if outcomes[h].removed]
    if removed_failed:
        note(f"removed {len(removed_failed)} workbook(s) of earlier runs for holders who fail now "
             f"(see {exceptions_path.name}): {_shown(removed_failed)}")
    removed_idle_now = [outcomes[h].removed for h in idle_now if outcomes[h].removed]
    if removed_idle_now:
        note(f"removed {len(removed_idle_now)} workbook(s) of earlier runs for holders whose lots all "
             f"ended before {year} (nothing held in {year}): {_shown(removed_idle_now)}")
    left = _left_in_place(plan, {outcomes[h].file for h in ok}, writer, note)
    blocked_by = tuple(dict.fromkeys(
        p.file for p in input_problems if p.row is None and not p.holder_id and not p.lot_id))
    return BatchReport(
        holders_ok=len(ok), holders_failed=len(failed),
        holders_skipped=sum(1 for h in ok if outcomes[h].skipped),
        workbooks=[out_dir / outcomes[h].file for h in ok],
        summary_path=summary_path, exceptions_path=exceptions_path, problems=problems,
        removed=removed, removed_failed=removed_failed, left_in_place=left, blocked_by=blocked_by,
        year=year, holders_idle=len(idle), idle=idle,
        removed_idle=list(removed_idle) + removed_idle_now,
    )


def _write_summary(plan: _Plan, outcomes: dict[str, HolderOutcome], ok: list[str], failed: list[str],
                   idle: list[str]) -> None:
    """The summary workbook: the written holders' rows (each linked to its workbook), the
    holders that failed with their first problem, and the holders who held nothing."""
    from cpdi.writers.workpapers import write_summary_workbook

    summary_path = plan.summary_path
    rows = [row for h in ok for row in outcomes[h].summary]
    totals = [outcomes[h].totals for h in ok if outcomes[h].totals is not None]
    _write(summary_path, lambda: write_summary_workbook(
        summary_path, plan.year, rows, plan.template, plan.prepared, len(ok), len(failed),
        failed={h: outcomes[h].problems for h in failed}, idle=idle, holders=plan.holders,
        lots_in_input=plan.lots_in_input, exceptions_name=plan.exceptions_path.name, tins=plan.tins,
        totals=totals))


def _left_in_place(plan: _Plan, written: set[str], writer: ManifestWriter, note) -> list[str]:
    """Files that look like workbooks of the year but are neither this run's nor named by the
    manifest: left in place, and said."""
    year = plan.year
    left = sorted(n for n in _listing(plan.out_dir)
                  if n.endswith(f"_{year}.xlsx") and not n.startswith(".") and n != plan.summary_path.name
                  and n not in written and n not in writer.entries)
    if left:
        note(f"{len(left)} file(s) look like workbooks for {year} but are not this run's and the manifest "
             f"does not name them, so they were left in place: {_shown(left)}")
    return left

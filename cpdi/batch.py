"""Year-end batch: one workpaper per holder, in parallel, isolated, resumable.

* Inputs are read and every instrument's schedule is built and validated **once**; worker
  processes inherit them (fork) instead of recomputing.
* Each holder is an independent task: its lots go through the engine and its workbook is
  written atomically.  A holder whose inputs have a problem is not written (a workbook missing a
  lot would understate the return) and is named in the exceptions report; everyone else is.
* Workbooks stream out as they finish; the parent keeps only the small summary rows.
* ``--resume`` skips a holder whose workbook is present and whose inputs (lots, holder record,
  instruments, schedules, payments, options, template, cpdi version) hash to what the manifest
  recorded when that workbook was written.
* Output is deterministic: the same inputs and ``prepared`` date give byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from cpdi import __version__
from cpdi.api import InstrumentBook, compute, instrument_books
from cpdi.problems import Problem
from cpdi.progress import Progress
from cpdi.writers.atomic import atomic_text

MANIFEST = ".cpdi-manifest.json"
SUMMARY_NAME = "summary_{year}.xlsx"
EXCEPTIONS_NAME = "exceptions_{year}.csv"


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


@dataclass
class HolderOutcome:
    holder_id: str
    ok: bool
    file: str | None
    fingerprint: str
    skipped: bool = False
    summary: list = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class BatchReport:
    holders_ok: int
    holders_failed: int
    holders_skipped: int
    workbooks: list[Path]
    summary_path: Path
    exceptions_path: Path
    problems: list[Problem]

    @property
    def exit_code(self) -> int:
        return 1 if self.holders_failed or self.problems else 0


# -- what a worker needs, set once in the parent and inherited by forked workers -------------
_STATE: dict = {}


def _fingerprint(holder_id: str, lots, state) -> str:
    """A stable hash of everything that shapes a holder's workbook."""
    portfolio = state["portfolio"]
    h = hashlib.sha256()
    h.update(f"cpdi {__version__}|{state['year']}|{state['template_digest']}|".encode())
    h.update(repr(state["options_key"]).encode())
    h.update(repr(portfolio.holders.get(holder_id)).encode())
    for lot in sorted(lots, key=lambda l: l.lot_id):
        h.update(repr(lot).encode())
    for instrument_id in sorted({lot.instrument_id for lot in lots}):
        h.update(repr(portfolio.instruments.get(instrument_id)).encode())
        h.update(repr(portfolio.payments.get(instrument_id)).encode())
    for problem in state["problems_by_holder"].get(holder_id, ()):
        h.update(repr(problem).encode())
    return h.hexdigest()


def _holder_task(holder_id: str) -> HolderOutcome:
    """Compute one holder and write their workbook (runs in a worker)."""
    from cpdi.writers.workpapers import summary_rows, write_holder_workbook

    state = _STATE
    year = state["year"]
    lots = state["lots_by_holder"].get(holder_id, [])
    fingerprint = _fingerprint(holder_id, lots, state)
    file_name = state["file_names"][holder_id]
    target = state["out_dir"] / file_name
    if state["resume"] and state["manifest"].get(holder_id) == {"file": file_name, "fingerprint": fingerprint} \
            and target.exists():
        return HolderOutcome(holder_id, True, file_name, fingerprint, skipped=True,
                             summary=state["manifest_summary"].get(holder_id, []))
    problems = list(state["problems_by_holder"].get(holder_id, ()))
    result = compute(state["portfolio"], year, books=state["books"], lots=lots)
    # result.problems repeats the whole input's problems: keep this holder's own
    problems.extend(p for p in result.problems if p.holder_id == holder_id and p not in problems)
    ledgers = [l for l in result.ledgers if any(r.tax_year == year for r in l.years)]
    if problems:
        if target.exists():  # a stale workbook from an earlier run must not pass for this one
            target.unlink()
        return HolderOutcome(holder_id, False, None, fingerprint, problems=problems)
    holder = state["portfolio"].holders.get(holder_id)
    try:
        write_holder_workbook(target, holder, holder_id, year, ledgers, state["books"],
                              state["template"], state["prepared"])
    except Exception as error:  # isolate: one holder's failure never stops the batch
        problem = Problem("workpapers", None, None, f"could not write the workbook: {error}",
                          "run again with --debug for details", holder_id=holder_id)
        return HolderOutcome(holder_id, False, None, fingerprint, problems=[problem])
    rows = summary_rows({holder_id: ledgers}, state["portfolio"].holders, year)
    return HolderOutcome(holder_id, True, file_name, fingerprint, summary=[_plain(r) for r in rows])


def _plain(row):
    """Summary rows travel between processes and into the manifest: keep them JSON-friendly."""
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


def _load_manifest(out_dir: Path) -> dict:
    path = out_dir / MANIFEST
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def run_batch(portfolio, options: BatchOptions) -> BatchReport:
    """Write every holder's workbook for ``options.year``, the summary and the exceptions."""
    from cpdi.writers.template import load_template, template_digest
    from cpdi.writers.workpapers import write_exceptions_csv, write_summary_workbook

    out_dir = Path(options.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    template = load_template(options.template_path)
    prepared = options.prepared or date.today()
    books: dict[str, InstrumentBook] = instrument_books(
        portfolio, options.tolerance_per_1000, options.accept_residual)
    lots_by_holder, problems_by_holder = holders_in_year(portfolio, options.year)
    holder_ids = sorted(set(lots_by_holder) | set(problems_by_holder))
    file_names = workbook_names(holder_ids, options.year)
    manifest = _load_manifest(out_dir) if options.resume else {}
    manifest_entries = manifest.get("holders", {}) if manifest.get("year") == options.year else {}

    _STATE.clear()
    _STATE.update(
        portfolio=portfolio, books=books, year=options.year, out_dir=out_dir,
        template=template, template_digest=template_digest(template), prepared=prepared,
        lots_by_holder=lots_by_holder, problems_by_holder=problems_by_holder,
        resume=options.resume, file_names=file_names,
        manifest={h: {"file": e["file"], "fingerprint": e["fingerprint"]} for h, e in manifest_entries.items()},
        manifest_summary={h: e.get("summary", []) for h, e in manifest_entries.items()},
        options_key=(options.tolerance_per_1000, tuple(sorted(options.accept_residual))),
    )
    workers = options.workers or os.cpu_count() or 1
    progress = Progress(len(holder_ids), "holders", quiet=options.quiet)
    outcomes: dict[str, HolderOutcome] = {}
    new_manifest = {"year": options.year, "cpdi": __version__, "holders": dict(manifest_entries)}

    def record(outcome: HolderOutcome) -> None:
        outcomes[outcome.holder_id] = outcome
        if outcome.ok:
            new_manifest["holders"][outcome.holder_id] = {
                "file": outcome.file, "fingerprint": outcome.fingerprint, "summary": outcome.summary}
        else:
            new_manifest["holders"].pop(outcome.holder_id, None)
        progress.advance(outcome.ok)

    try:
        if workers <= 1 or len(holder_ids) <= 1:
            for holder_id in holder_ids:
                record(_holder_task(holder_id))
        else:
            context = multiprocessing.get_context("fork")
            chunk = max(1, min(32, len(holder_ids) // (workers * 8) or 1))
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                for outcome in pool.map(_holder_task, holder_ids, chunksize=chunk):
                    record(outcome)
    finally:
        progress.close()
        # the manifest always reflects the workbooks actually on disk, even after an interrupt
        with atomic_text(out_dir / MANIFEST) as handle:
            json.dump(new_manifest, handle, sort_keys=True, indent=0)
        _STATE.clear()

    problems = list(portfolio.problems)
    for holder_id in holder_ids:
        for problem in outcomes[holder_id].problems:
            if problem not in problems:
                problems.append(problem)
    ok = [h for h in holder_ids if outcomes[h].ok]
    failed = [h for h in holder_ids if not outcomes[h].ok]
    summary = [row for h in ok for row in outcomes[h].summary]
    summary_path = out_dir / SUMMARY_NAME.format(year=options.year)
    exceptions_path = out_dir / EXCEPTIONS_NAME.format(year=options.year)
    write_summary_workbook(summary_path, options.year, summary, template, prepared, len(ok), len(failed))
    write_exceptions_csv(exceptions_path, problems)
    return BatchReport(
        holders_ok=len(ok), holders_failed=len(failed),
        holders_skipped=sum(1 for h in ok if outcomes[h].skipped),
        workbooks=[out_dir / outcomes[h].file for h in ok],
        summary_path=summary_path, exceptions_path=exceptions_path, problems=problems,
    )

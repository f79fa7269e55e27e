"""The command line (docs/formats.md, "Commands"): a thin layer over ``cpdi.api``.

Errors go to stderr one line each, naming file, row and column; no traceback unless
``--debug``.  Exit status: 0 success, 1 invalid input or a failed item, 2 usage error.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from datetime import date
from pathlib import Path

from cpdi import __version__
from cpdi.engine.fixings import describe_fixings
from cpdi.engine.validation import DEFAULT_TOLERANCE_PER_1000, describe
from cpdi.model import FIRST_TAX_YEAR, LAST_TAX_YEAR, MAX_TOLERANCE_PER_1000
from cpdi.problems import CpdiError, InputError, Problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(CpdiError):
    """A command line that cannot be run as given (exit 2)."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line naming the command and where help is (taxpayer
    ids echoed from the command line masked, as in every message)."""

    def error(self, message: str):  # noqa: D102 - argparse's hook
        from cpdi.writers.privacy import message_safe

        self.exit(EXIT_USAGE, f"{self.prog}: {message_safe(message)} (see {self.prog} --help)\n")


MAX_WORKERS = 256

_YEAR = re.compile(r"[0-9]{4}")
_ISO_DAY = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _tax_year(text: str) -> int:
    """A tax year: four ASCII digits from 1900 to 2199."""
    if not _YEAR.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a tax year: write four digits, e.g. 2025")
    year = int(text)
    if not FIRST_TAX_YEAR <= year <= LAST_TAX_YEAR:
        raise argparse.ArgumentTypeError(
            f"{year} is outside the tax years cpdi computes ({FIRST_TAX_YEAR}-{LAST_TAX_YEAR})")
    return year


def _tolerance(text: str) -> float:
    """A schedule tolerance: a plain decimal from 0 to 1 per 1,000 of principal (method §8)."""
    value = float(text) if _DECIMAL.fullmatch(text) else math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a tolerance: give a plain number of 0 or more per 1,000 of "
            f"principal, e.g. 0.01")
    if value > MAX_TOLERANCE_PER_1000:
        raise argparse.ArgumentTypeError(
            f"a tolerance of {text} per 1,000 would pass real errors as rounding (at most "
            f"{MAX_TOLERANCE_PER_1000:g}); to use a schedule outside tolerance, accept it "
            f"explicitly with --accept-residual ID")
    return value + 0.0  # -0 reads as 0


def _workers(text: str) -> int:
    """Worker processes: 0 (all cores) to 256."""
    if not re.fullmatch(r"[0-9]+", text) or int(text) > MAX_WORKERS:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of worker processes: give 0 (all cores) to {MAX_WORKERS}")
    return int(text)


def _add_common(parser: argparse.ArgumentParser, schedules: bool = True) -> None:
    parser.add_argument("input", help="a folder of CSV files or one .xlsx workbook (docs/formats.md)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    if schedules:
        parser.add_argument(
            "--tolerance", type=_tolerance, default=DEFAULT_TOLERANCE_PER_1000, metavar="X",
            help="schedule tolerance, currency per 1,000 of principal (default %(default)s)",
        )
        parser.add_argument(
            "--accept-residual", action="append", default=[], metavar="ID",
            help="accept instrument ID's schedule outside tolerance (repeatable)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cpdi",
        description="Contingent payment debt instruments: the noncontingent bond method, "
        "Treas. Reg. §1.1275-4(b).",
    )
    parser.add_argument("--version", action="version", version=f"cpdi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=_Parser)

    p = commands.add_parser(
        "validate", help="check every schedule (method §8), every input row, and every lot "
        "through a tax year as compute and workpapers would")
    _add_common(p)
    p.add_argument("--through-year", type=_tax_year, metavar="YYYY",
                   help="check the lots through this tax year (default: the last complete "
                   "calendar year)")

    p = commands.add_parser("schedule", help="per-period accrual table and interest per calendar year")
    _add_common(p)
    p.add_argument("--instrument", required=True, metavar="ID")
    p.add_argument("--out", metavar="F", help="F.csv (plus F-by-year.csv) or F.xlsx; default: print")

    p = commands.add_parser("compute", help="the results ledger: one row per lot per tax year")
    _add_common(p)
    p.add_argument("--through-year", required=True, type=_tax_year, metavar="YYYY")
    p.add_argument("--out", required=True, metavar="results.csv", help="the ledger CSV to write")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = commands.add_parser("workpapers", help="one Excel workpaper per holder, a summary and an exceptions report")
    _add_common(p)
    p.add_argument("--year", required=True, type=_tax_year, metavar="YYYY", help="the tax year")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--template", metavar="T", help="a workpaper template (.toml); see templates/README.md")
    p.add_argument("--workers", type=_workers, default=0, metavar="N",
                   help="processes (default 0: all cores; never more than the holders)")
    p.add_argument("--resume", action="store_true",
                   help="skip holders whose workbook is present and whose inputs are unchanged")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--prepared", type=_iso_date, metavar="YYYY-MM-DD",
                   help="the 'date prepared' on every workbook (default: today)")
    p.add_argument("--mapping", metavar="F.toml",
                   help="a complete form-line mapping for the Cover (default: the packaged "
                   "templates/forms.toml; method §12)")

    p = commands.add_parser("init", help="write a blank input workbook to fill in Excel")
    p.add_argument("file", metavar="FILE.xlsx")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--debug", action="store_true", help="show tracebacks")

    _add_forms(commands)
    _add_lots(commands)
    _add_build_schedule(commands)
    _add_import_terms(commands)

    return parser


def _iso_date(text: str) -> date:
    """A date written YYYY-MM-DD, in the tax years cpdi computes."""
    match = _ISO_DAY.fullmatch(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date: write it as YYYY-MM-DD")
    try:
        day = date(*map(int, match.groups()))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date: there is no such day; check the month and day") from None
    if not FIRST_TAX_YEAR <= day.year <= LAST_TAX_YEAR:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside the years cpdi computes ({FIRST_TAX_YEAR}-{LAST_TAX_YEAR})")
    return day


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # usage errors (exit 2), --help and --version (exit 0)
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except InputError as error:
        if args.debug:
            raise
        _print_problems(error.problems)
        return EXIT_FAILED
    except UsageError as error:
        if args.debug:
            raise
        print(f"cpdi {args.command}: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE
    except (CpdiError, OSError) as error:
        if args.debug:
            raise
        print(f"cpdi: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cpdi: interrupted; no file was left half-written (files already finished are "
              "complete; workpapers --resume carries on from them)", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away (| head): stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as error:  # noqa: BLE001 - XlsxWriter's own file errors
        writer_errors = sys.modules.get("xlsxwriter.exceptions")
        if args.debug or writer_errors is None or not isinstance(
                error, writer_errors.XlsxWriterException):
            raise
        print(f"cpdi: {_one_line(error)}", file=sys.stderr)
        return EXIT_FAILED


def _one_line(error: BaseException) -> str:
    """An OS or cpdi error as one line: what failed, on which file, and why (taxpayer ids
    masked, as in every message)."""
    from cpdi.writers.privacy import message_safe

    if isinstance(error, OSError) and error.filename:
        reason = error.strerror or type(error).__name__
        return message_safe(f"{error.filename}: {reason}")
    return message_safe(" ".join(str(error).split()) or type(error).__name__)


REPEATS_SHOWN = 5
"""Lots stopped by the same instrument problem: how many are printed in full before the rest
are named in one line (every one is in ``problems`` of the Python API, and in the exceptions
report of ``workpapers``)."""

LOTS_NAMED = 50
"""How many further lot ids that one line names before it only counts them."""


def _masked(text: str) -> str:
    """A result line with any taxpayer id in it (a path typed by the user) masked."""
    from cpdi.writers.privacy import message_safe

    return message_safe(text)


def _tins(portfolio):
    """Every holder's taxpayer id, so messages mask them in any spelling."""
    from cpdi.batch import holder_tins

    return holder_tins(portfolio)


def _print_problems(problems, tins=None) -> None:
    """One line per problem, taxpayer ids masked (every holder's, in any spelling, when
    ``tins`` is given); a problem repeated for many lots (an instrument's failed schedule) is
    printed for the first few lots and the rest are named in one line."""
    from cpdi.problems import problem_text
    from cpdi.writers.privacy import message_safe, tin_index

    tins = tin_index(tins)
    seen = set()
    repeats: dict[tuple, list] = {}
    for problem in problems:
        if problem in seen:
            continue
        seen.add(problem)
        if problem.lot_id and problem.instrument_id:
            key = (problem.file, problem.row, problem.column, problem.instrument_id, problem.fix,
                   problem.message.replace(problem.lot_id, "", 1))
            group = repeats.setdefault(key, [])
            group.append(problem.lot_id)
            if len(group) > REPEATS_SHOWN:
                continue
        print(problem_text(problem, tins), file=sys.stderr)
    for (file, row, column, instrument_id, _, _), lots in repeats.items():
        if len(lots) > REPEATS_SHOWN:
            where = file + (f" row {row}" if row is not None else "")
            rest = lots[REPEATS_SHOWN:]
            named = ", ".join(rest[:LOTS_NAMED]) + (
                f" and {len(rest) - LOTS_NAMED} more" if len(rest) > LOTS_NAMED else "")
            print(message_safe(f"{where}: {len(rest)} more lot(s) of {instrument_id} not "
                               f"computed for the same reason: {named}", tins=tins),
                  file=sys.stderr)


def _check_out(path: str, suffixes: tuple[str, ...], what: str, input_path: str,
               companions: tuple[Path, ...] = ()) -> Path:
    """``--out`` for a file (a usage error otherwise): one of ``suffixes``; not a folder (nor a
    name ending in a slash); in a folder that exists; never the input workbook or one of the
    input folder's tables, which it would overwrite; no ``companions`` (files written beside
    it) that are folders."""
    target = Path(path)
    if target.is_dir() or path.endswith(("/", "\\")):
        raise UsageError(f"--out {path} is a folder; {what} is one file: name the file, e.g. "
                         f"{target / ('out' + suffixes[0])}")
    if target.suffix.lower() not in suffixes:
        choices = " or ".join(suffixes)
        raise UsageError(f"--out {path}: {what} is written as {choices}; name the file with "
                         f"that extension")
    if not target.parent.exists():
        raise UsageError(f"--out {path}: the folder {target.parent} does not exist")
    _check_not_an_input(target, input_path)
    for companion in companions:
        if companion.is_dir():
            raise UsageError(f"--out {path}: {companion} (written beside it) is a folder")
    return target


def _check_not_an_input(target: Path, input_path: str) -> None:
    """An output must never overwrite the input: the workbook itself, or a table of the input
    folder (``schedule.csv``, any case)."""
    from cpdi.readers.columns import TABLES

    source = Path(input_path)
    try:
        same = target.exists() and source.exists() and target.resolve() == source.resolve()
        inside = source.is_dir() and target.parent.resolve() == source.resolve()
    except OSError:
        return
    if same or (inside and target.stem.lower() in TABLES and target.suffix.lower() == ".csv"):
        raise UsageError(f"--out {target} would overwrite the input; write it somewhere else")


def _check_instrument_ids(portfolio, ids, option: str) -> None:
    """Instrument ids named on the command line must be in the input (a usage error, naming
    the ones there are).  An instrument the readers rejected is named as such."""
    import difflib

    known = set(portfolio.instruments)
    for instrument_id in ids:
        if instrument_id in known:
            continue
        if instrument_id in portfolio.instrument_rows or (not known and portfolio.problems):
            raise InputError(portfolio.problems)  # the input is at fault, not the option
        close = difflib.get_close_matches(instrument_id, sorted(known), n=1) or [
            k for k in known if k.casefold() == instrument_id.casefold()]
        hint = f"; did you mean {close[0]}?" if close else ""
        listed = ", ".join(sorted(known)[:10]) or "none"
        raise UsageError(f"{option} {instrument_id} is not an instrument of the input{hint} "
                         f"(instruments: {listed})")


def _check_accepted(portfolio, args) -> None:
    _check_instrument_ids(portfolio, getattr(args, "accept_residual", ()), "--accept-residual")


def _check_out_dir(path: str, what: str = "workpapers") -> Path:
    """``--out`` for a folder: not an existing file (a usage error)."""
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UsageError(f"--out {path} is an existing file; {what} are written into a "
                         f"folder: give a folder name")
    return target


def _check_year_in_lives(portfolio, year: int, option: str, before_only: bool = False) -> None:
    """A tax year outside every instrument's life is a usage error (nothing could be
    reported); ``before_only`` allows years after the last maturity (a ledger through a later
    year simply ends at maturity)."""
    if not portfolio.instruments:
        return
    first = min(i.issue_date.year for i in portfolio.instruments.values())
    last = max(i.maturity_date.year for i in portfolio.instruments.values())
    if year < first or (not before_only and year > last):
        raise UsageError(
            f"{option} {year} is outside the instruments' lives: they run from {first} to "
            f"{last}; give a tax year in that range")


def _load(args):
    from cpdi import api

    path = Path(args.input)
    if not path.exists():
        raise InputError([Problem(str(path), None, None, "no such file or folder",
                                  "give a folder of CSV files or an .xlsx workbook")])
    return api.load(path)


def _last_complete_year() -> int:
    return date.today().year - 1


def cmd_validate(args) -> int:
    """Every schedule (method §8), every input row, and every lot through a tax year as compute
    and workpapers would compute it, so that "all valid" means the batch will run."""
    from cpdi import api

    portfolio = _load(args)
    _check_accepted(portfolio, args)
    through_year = args.through_year or _last_complete_year()
    if args.through_year:
        _check_year_in_lives(portfolio, through_year, "--through-year", before_only=True)
    books = api.instrument_books(portfolio, args.tolerance, args.accept_residual)
    reports = {iid: book.validation for iid, book in books.items()}
    for instrument_id in sorted(reports):
        instrument = portfolio.instruments[instrument_id]
        print(describe(reports[instrument_id], instrument.unit_principal))
        hint = api.schedule_hint(reports[instrument_id])
        if hint:
            print(f"  hint: {hint}")
        if books[instrument_id].schedule is not None:  # payments fixed early (method §13)
            for line in describe_fixings(books[instrument_id].schedule):
                print(line)
    problems = list(portfolio.problems)
    from cpdi.engine.issuer_table import describe_search

    for search in api.issuer_table_searches(portfolio).values():  # method §11
        for line in describe_search(search):
            print(line)
        problem = api.issuer_table_problem(portfolio, search)
        if problem is not None:
            problems.append(problem)
    lots_checked = 0
    if portfolio.lots:
        result = api.compute(portfolio, through_year, books=books)
        lots_checked = len(portfolio.lots)
        problems += [p for p in result.problems if p not in problems]
    _print_problems(problems, _tins(portfolio))
    failed = [r for r in reports.values() if not r.usable]
    lots = (f"; {lots_checked} lot(s) checked through {through_year}" if lots_checked
            else "; no lots to check")
    if problems or failed:
        print(
            f"{len(reports)} instrument(s) checked: {len(failed)} failed{lots}; "
            f"{len(problems)} input problem(s)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"{len(reports)} instrument(s) checked{lots}: all valid")
    return EXIT_OK


def cmd_schedule(args) -> int:
    from cpdi import api
    from cpdi.writers.schedule import write_schedule

    if args.out:
        out = Path(args.out)
        _check_out(args.out, (".csv", ".xlsx"), "the schedule", args.input,
                   companions=(out.with_name(f"{out.stem}-by-year{out.suffix}"),)
                   if out.suffix.lower() == ".csv" else ())
    portfolio = _load(args)
    _check_instrument_ids(portfolio, [args.instrument], "--instrument")
    _check_accepted(portfolio, args)
    instrument = api._instrument(portfolio, args.instrument)
    report = api.validate(portfolio, args.tolerance, args.accept_residual)[args.instrument]
    print(describe(report), file=sys.stderr if args.out is None else sys.stdout)
    if not report.structurally_valid:
        return EXIT_FAILED
    periods = api.schedule_frame(instrument)
    years = api.calendar_year_frame(instrument)
    if args.out:
        title = f"{instrument.instrument_id} {instrument.description}".strip()
        for path in write_schedule(periods, years, args.out, title):
            print(_masked(f"wrote {path}"))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 200,
                               "display.float_format", "{:,.6f}".format):
            print(periods.fillna("").to_string(index=False))
            print()
            print(years.to_string(index=False))
    return EXIT_OK if report.usable else EXIT_FAILED


def cmd_compute(args) -> int:
    """The results ledger, streamed: each lot's rows are written as it is computed, so memory
    stays flat in the number of lots (only the input and the problems are held)."""
    from cpdi import api
    from cpdi.progress import Progress
    from cpdi.writers.results import write_results_csv

    from cpdi.writers.atomic import remove_leftover_parts

    target = _check_out(args.out, (".csv",), "the results ledger", args.input)
    remove_leftover_parts(target.parent, target.name)  # of a killed earlier run, if any
    portfolio = _load(args)
    _check_accepted(portfolio, args)
    _check_year_in_lives(portfolio, args.through_year, "--through-year", before_only=True)
    progress = Progress(len(portfolio.lots), "lots", quiet=args.quiet or len(portfolio.lots) < 5000)
    books = api.instrument_books(portfolio, args.tolerance, args.accept_residual)
    problems = list(portfolio.problems)
    missing = api.missing_lots_problem(portfolio)
    if missing is not None:
        problems.append(missing)
    computed = 0

    def rows():
        nonlocal computed
        for ledger in api.iter_ledgers(portfolio, args.through_year, books, problems,
                                       on_lot=progress.advance):
            computed += 1
            yield from ledger.years

    try:
        written = write_results_csv(rows(), target, _tins(portfolio))
    finally:
        progress.close()
    _print_problems(problems, _tins(portfolio))
    result = api.LedgerResult(args.through_year, problems=problems)
    not_computed = api.lots_not_computed(portfolio, result)
    print(_masked(
        f"wrote {written} lot-year row(s) for {computed} lot(s) through "
        f"{args.through_year} to {args.out}"
        + (f"; {not_computed} lot(s) not computed, {len(set(problems))} problem(s) above"
           if problems else "")
    ))
    return EXIT_FAILED if problems else EXIT_OK


def cmd_workpapers(args) -> int:
    from cpdi.batch import BatchOptions, run_batch

    from cpdi.writers.template import TemplateError, load_template

    _check_out_dir(args.out)
    if args.template:  # a bad template is a usage error found before anything is written
        try:
            load_template(Path(args.template))
        except TemplateError as error:
            raise UsageError(f"--template: {error}") from None
    if args.mapping:
        _form_mapping(args.mapping)  # a bad mapping is a usage error found before anything is written
    portfolio = _load(args)
    _check_accepted(portfolio, args)
    _check_year_in_lives(portfolio, args.year, "--year")
    report = run_batch(portfolio, BatchOptions(
        year=args.year, out_dir=Path(args.out),
        template_path=Path(args.template) if args.template else None,
        mapping_path=Path(args.mapping) if args.mapping else None,
        prepared=args.prepared, workers=args.workers, resume=args.resume, quiet=args.quiet,
        tolerance_per_1000=args.tolerance, accept_residual=tuple(args.accept_residual),
        # what the run did to the folder (removed files, a stale lock taken over …), as it happens
        notify=lambda note: print(note, file=sys.stderr, flush=True),
    ))
    _print_problems(report.problems, _tins(portfolio))
    print(_masked(report.result_line(args.out)))
    return report.exit_code


def cmd_init(args) -> int:
    from cpdi.writers.blank_input import write_blank_input

    target = Path(args.file)
    if target.suffix.lower() != ".xlsx":
        raise UsageError(f"{target}: the blank input workbook must be an .xlsx file")
    if target.is_dir():
        raise UsageError(f"{target} is a folder: name the workbook file to write")
    if not target.parent.exists():
        raise UsageError(f"the folder {target.parent} does not exist")
    if target.exists() and not args.force:
        from cpdi.writers.privacy import message_safe

        print(message_safe(f"cpdi init: {target} exists; pass --force to overwrite it"),
              file=sys.stderr)
        return EXIT_FAILED
    write_blank_input(target)
    print(f"wrote {target}: fill in its sheets, then run: cpdi workpapers {target} --year YYYY --out DIR")
    return EXIT_OK


# -- forms: the year's figures on the lines of the return (method §12) ---------------------------
def _add_forms(commands) -> None:
    p = commands.add_parser(
        "forms", help="the year's Form 8949 lines, the ordinary items with their form lines, a "
        "TXF file for tax software, and the broker reconciliation when the input has one")
    _add_common(p)
    p.add_argument("--year", required=True, type=_tax_year, metavar="YYYY", help="the tax year")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created if missing)")
    p.add_argument("--mapping", metavar="F.toml",
                   help="a complete form-line mapping (default: the packaged templates/forms.toml)")
    p.add_argument("--prepared", type=_iso_date, metavar="YYYY-MM-DD",
                   help="the export date in the TXF header (default: today)")
    p.add_argument("--holder", metavar="ID", help="write only this holder's forms")


FORMS_NAMED = 10
"""How many holders a line of `cpdi forms` names (left out of TXF; the holders of the input)
before it only counts the rest."""


def _form_mapping(path: str | None):
    """The form-line mapping (``--mapping`` or the packaged one), checked whole, with its TXF
    reference numbers; a bad one is a usage error naming the file and the key."""
    from cpdi.readers.form_lines import FormMappingError, load_form_mapping
    from cpdi.writers.forms.txf import check_txf_mapping

    try:
        mapping = load_form_mapping(path)
        check_txf_mapping(mapping)
    except FormMappingError as error:
        raise UsageError(f"--mapping: {error}" if path else str(error)) from None
    return mapping


def _check_holder(portfolio, holder_id: str) -> None:
    """``--holder`` must name a holder of the input (a usage error, naming some that are)."""
    import difflib

    known = list(dict.fromkeys([*portfolio.holders, *(lot.holder_id for lot in portfolio.lots)]))
    if holder_id in known:
        return
    if not known and portfolio.problems:
        raise InputError(portfolio.problems)  # the input is at fault, not the option
    close = difflib.get_close_matches(holder_id, known, n=1) or [
        h for h in known if h.casefold() == holder_id.casefold()]
    hint = f"; did you mean {close[0]}?" if close else ""
    listed = ", ".join(known[:FORMS_NAMED]) + (
        f" and {len(known) - FORMS_NAMED} more" if len(known) > FORMS_NAMED else "")
    raise UsageError(f"--holder {holder_id} is not a holder of the input{hint} (holders: "
                     f"{listed or 'none'})")


def cmd_forms(args) -> int:
    """The year's figures on the lines of the return (docs/formats.md, "Output: `cpdi forms`"):
    Form 8949 lines, ordinary items with their lines, TXF for tax software, and the broker
    reconciliation when the input has broker figures."""
    from cpdi import api
    from cpdi.writers.forms.folder import write_forms_folder
    from cpdi.writers.privacy import message_safe

    out = _check_out_dir(args.out, "the forms")
    mapping = _form_mapping(args.mapping)
    portfolio = _load(args)
    _check_accepted(portfolio, args)
    _check_year_in_lives(portfolio, args.year, "--year")
    if args.holder is not None:
        _check_holder(portfolio, args.holder)
    tins = _tins(portfolio)

    def say(text: str) -> None:
        print(message_safe(text, tins=tins), flush=True)

    year = args.year
    books = api.instrument_books(portfolio, args.tolerance, args.accept_residual)
    result = api.compute(portfolio, year, books=books)
    forms = api.forms(portfolio, year, result, mapping)
    if args.holder is not None:
        forms = {h: f for h, f in forms.items() if h == args.holder}
    report = write_forms_folder(out, year, portfolio, result, forms, mapping, args.holder,
                                args.prepared or date.today(), tins, say)
    in_txf, flagged = report.holders_in_txf, report.flagged
    problems = result.problems
    _print_problems(problems, tins)
    dispositions = sum(len(f.form8949) for f in forms.values())
    say(f"forms for {year}: {len(forms)} holder(s), {dispositions} disposition(s), {in_txf} "
        f"holder(s) in TXF"
        + (f"; {api.lots_not_computed(portfolio, result)} lot(s) not computed, "
           f"{len(set(problems))} problem(s) above" if problems else "")
        + (f"; {flagged} reconciliation line(s) flagged: see reconciliation_{year}.csv"
           if flagged else ""))
    return EXIT_FAILED if problems or flagged else EXIT_OK


# -- lots: the tax lots of a trade blotter ----------------------------------------------------
def _add_lots(commands) -> None:
    p = commands.add_parser(
        "lots", help="the tax lots derived from transactions.csv (the trades), written as a "
        "lots.csv")
    _add_common(p, schedules=False)
    p.add_argument("--out", required=True, metavar="lots.csv", help="the lots.csv to write")


def _check_lots_out(path: str, input_path: str) -> None:
    """``--out`` of ``cpdi lots`` must not be the input folder's own lots table: read beside
    transactions.csv next time, every lot would be there twice (a usage error)."""
    target, source = Path(path), Path(input_path)
    try:
        inside = source.is_dir() and target.parent.resolve() == source.resolve()
    except OSError:
        return
    if inside and target.name.strip().lower() == "lots.csv":
        raise UsageError(f"--out {path} is the input folder's lots table: read with "
                         "transactions.csv next time, every lot would be there twice; write it "
                         "to another folder")


def cmd_lots(args) -> int:
    """The lots derived from the trades (docs/formats.md, "Output: `cpdi lots`"), written as a
    lots.csv: only when every trade gave its lots (a file short of a lot would understate a
    return), with one line on stderr counting lots and trades."""
    from cpdi.writers.atomic import remove_leftover_parts
    from cpdi.writers.lots_csv import write_lots_csv
    from cpdi.writers.privacy import message_safe

    _check_lots_out(args.out, args.input)
    target = _check_out(args.out, (".csv",), "the lots", args.input)
    remove_leftover_parts(target.parent, target.name)  # of a killed earlier run, if any
    portfolio = _load(args)
    tins = _tins(portfolio)
    trades_file = portfolio.file_names.get("transactions", "transactions.csv")
    problems = list(portfolio.problems)
    if "transactions" not in portfolio.tables_present and not any(
            p.file == trades_file for p in problems):  # a misnamed one is reported already
        problems.append(Problem(
            trades_file, None, None, "the input has no transactions table: there are no trades "
            "to derive lots from", "add transactions.csv (or a transactions sheet) with one row "
            "per buy or sell (see docs/formats.md)"))
    _print_problems(problems, tins)
    stopping = [p for p in problems if p.file == trades_file]
    if stopping:
        print(message_safe(f"cpdi lots: nothing written to {target}: {len(set(stopping))} "
                           f"problem(s) in {trades_file} above", tins=tins), file=sys.stderr)
        return EXIT_FAILED
    written = write_lots_csv(portfolio.derived_lots, target, tins)
    print(message_safe(
        f"wrote {written} lot(s) from {portfolio.trade_count} trade(s) to {target}"
        + (f"; {len(set(problems))} problem(s) above in other tables" if problems else ""),
        tins=tins), file=sys.stderr)
    return EXIT_FAILED if problems else EXIT_OK


# -- build-schedule: a projected payment schedule from the note's terms (method §2) -----------
def _frequency(text: str) -> int:
    """Accrual periods per year: 1, 2, 4 or 12."""
    if text.strip() not in ("1", "2", "4", "12"):
        raise argparse.ArgumentTypeError(
            f"frequency {text!r}: accrual periods per year must be 1, 2, 4 or 12")
    return int(text)


def _date_list(text: str) -> tuple[date, ...]:
    """Dates written YYYY-MM-DD, separated by commas (the offending one named)."""
    days = []
    for part in text.split(","):
        if not part.strip():
            continue
        try:
            days.append(_iso_date(part.strip()))
        except argparse.ArgumentTypeError as error:
            raise argparse.ArgumentTypeError(f"payment date {error}") from None
    if not days:
        raise argparse.ArgumentTypeError("no dates listed: write D1,D2,... as YYYY-MM-DD")
    return tuple(days)


def _count(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of payments: give 0 or more")
    return int(text)


def _plain_number(text: str) -> float:
    value = float(text) if _DECIMAL.fullmatch(text.strip()) else math.nan
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain number (e.g. 1000 or 5.46)")
    return value + 0.0


def _add_build_schedule(commands) -> None:
    p = commands.add_parser(
        "build-schedule", help="build a schedule.csv (accrual periods and projected payments) "
        "from the note's terms (method §2)")
    p.add_argument("--id", required=True, metavar="ID", help="the instrument id (CUSIP/ISIN)")
    p.add_argument("--issue-date", required=True, type=_iso_date, metavar="YYYY-MM-DD")
    p.add_argument("--maturity-date", required=True, type=_iso_date, metavar="YYYY-MM-DD")
    p.add_argument("--frequency", required=True, type=_frequency, metavar="N",
                   help="accrual periods per year: 1, 2, 4 or 12")
    p.add_argument("--anchor", choices=("issue", "maturity", "calendar", "dates"),
                   help="roll the periods from maturity (default), from issue, on calendar "
                   "period ends, or take --payment-dates")
    p.add_argument("--stub", choices=("short_first", "long_first", "short_last", "long_last"),
                   help="default: short_first from maturity, short_last from issue")
    p.add_argument("--payment-dates", type=_date_list, default=(), metavar="D1,D2,...",
                   help="the period end dates (implies --anchor dates); maturity is added")
    p.add_argument("--business-day", default="none",
                   choices=("none", "following", "modified_following", "preceding"),
                   help="move period ends that are not business days (default none: as "
                   "issuers' CPDI tables)")
    p.add_argument("--calendar", default="us", choices=("us", "none"),
                   help="holidays of --business-day: us (Federal Reserve, default) or none "
                   "(weekends only)")
    p.add_argument("--holidays", metavar="FILE",
                   help="extra holidays, one YYYY-MM-DD per line")
    p.add_argument("--fixed", type=_count, default=0, metavar="N",
                   help="the first N payments are fixed (default 0: all contingent)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--amounts", metavar="FILE.csv",
                      help="a CSV with a projected_payment column (optionally period_end): one "
                      "row per period")
    what.add_argument("--single-payment", type=_plain_number, metavar="X",
                      help="zero before maturity, then X at maturity (per unit of principal)")
    what.add_argument("--solve-single-payment", action="store_true",
                      help="solve the single payment at maturity that produces the comparable "
                      "yield (needs --issue-price, --comparable-yield-pct, --day-count)")
    p.add_argument("--issue-price", type=_plain_number, metavar="P",
                   help="per unit of principal (with --solve-single-payment)")
    p.add_argument("--comparable-yield-pct", type=_plain_number, metavar="Y",
                   help="5.46 for 5.46%% (with --solve-single-payment)")
    p.add_argument("--day-count", metavar="DC", help="e.g. 30/360 (with --solve-single-payment)")
    p.add_argument("--out", metavar="schedule.csv", help="the CSV to write; default: print it")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


_BUILD_OPTIONS = {
    "issue_date": "--issue-date", "maturity_date": "--maturity-date",
    "frequency": "--frequency", "anchor": "--anchor", "stub": "--stub",
    "payment_dates": "--payment-dates", "business_day": "--business-day",
    "calendar": "--calendar", "holidays": "--holidays", "fixed_count": "--fixed",
    "amounts": "--amounts", "single_payment": "--single-payment",
    "issue_price": "--issue-price", "comparable_yield_pct": "--comparable-yield-pct",
    "day_count": "--day-count", "instrument_id": "--id",
}


def _build_out(path: str, inputs: list[str]) -> Path:
    """``--out`` of build-schedule: a .csv file in a folder that exists, never a folder and
    never one of the command's input files (a usage error otherwise)."""
    target = Path(path)
    if target.is_dir() or path.endswith(("/", "\\")):
        raise UsageError(f"--out {path} is a folder; the schedule is one file: name the file, "
                         f"e.g. {target / 'schedule.csv'}")
    if target.suffix.lower() != ".csv":
        raise UsageError(f"--out {path}: the schedule is written as .csv; name the file with "
                         "that extension")
    if not target.parent.exists():
        raise UsageError(f"--out {path}: the folder {target.parent} does not exist")
    for source in inputs:
        try:
            same = target.exists() and Path(source).exists() and (
                target.resolve() == Path(source).resolve())
        except OSError:
            same = False
        if same:
            raise UsageError(f"--out {target} would overwrite the input {source}; write it "
                             "somewhere else")
    return target


def _records(path: str) -> list[list[str]]:
    """The CSV records of an input file of build-schedule (encodings as the readers take them);
    :class:`InputError` naming the file when it cannot be read."""
    from cpdi.readers.tables import _csv_records, _Unreadable

    source = Path(path)
    if not source.is_file():
        raise InputError([Problem(path, None, None, "no such file",
                                  "give the path of a CSV file")])
    try:
        return _csv_records(source, path)
    except _Unreadable as error:
        raise InputError([error.problem]) from None


def _blank(record: list[str]) -> bool:
    return not any(cell.strip() for cell in record)


def _read_holidays(path: str) -> list[date]:
    """``--holidays FILE``: one date a line (the first cell of a CSV line); blank lines, lines
    starting with ``#`` and a first line ``date`` are skipped."""
    days, problems = [], []
    for number, record in enumerate(_records(path), start=1):
        text = record[0].strip() if record else ""
        if _blank(record) or text.startswith("#") or (
                not days and not problems and text.lower() in ("date", "holiday", "holidays")):
            continue
        try:
            days.append(_iso_date(text))
        except argparse.ArgumentTypeError as error:
            problems.append(Problem(path, number, None, str(error),
                                    "write one holiday a line as YYYY-MM-DD"))
    if problems:
        raise InputError(problems)
    return days


def _read_amounts(path: str) -> tuple[list[float], list[tuple[int, date | None]]]:
    """``--amounts FILE.csv``: the ``projected_payment`` of each row, and each row's number
    with its ``period_end`` (if the column is there and the cell filled) to check against the
    built periods."""
    from cpdi.readers.tables import header_key

    records = _records(path)
    rows = [(number, record) for number, record in enumerate(records, start=1)
            if not _blank(record)]
    if not rows:
        raise InputError([Problem(path, None, None, "is empty: no header row",
                                  "give a header projected_payment and one row per period")])
    header_row, header = rows[0]
    keys = [header_key(cell) for cell in header]
    if "projected_payment" not in keys:
        raise InputError([Problem(path, header_row, "projected_payment", "no projected_payment "
                                  "column", "add a header projected_payment (one row per period)")])
    amount_at = keys.index("projected_payment")
    end_at = keys.index("period_end") if "period_end" in keys else None
    amounts, checks, problems = [], [], []
    thousands = re.compile(r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")
    for number, record in rows[1:]:
        cell = record[amount_at].strip() if amount_at < len(record) else ""
        text = cell.replace(",", "") if thousands.fullmatch(cell) else cell
        if not _DECIMAL.fullmatch(text) or not math.isfinite(float(text)):
            problems.append(Problem(path, number, "projected_payment",
                                    f"{cell!r} is not a plain number",
                                    "write the amount per unit of principal, e.g. 1040.2578"))
            continue
        if float(text) < 0:
            problems.append(Problem(path, number, "projected_payment",
                                    f"{cell} is negative: the issuer pays the holder",
                                    "write the projected amount, 0 or more"))
            continue
        end = None
        end_text = record[end_at].strip() if end_at is not None and end_at < len(record) else ""
        if end_text:
            try:
                end = _iso_date(end_text)
            except argparse.ArgumentTypeError as error:
                problems.append(Problem(path, number, "period_end", str(error),
                                        "write the date as YYYY-MM-DD, or leave it blank"))
                continue
        amounts.append(float(text) + 0.0)
        checks.append((number, end))
    if problems:
        raise InputError(problems)
    return amounts, checks


def cmd_build_schedule(args) -> int:
    """A schedule.csv built from the note's terms: the accrual periods (method §2, "How cpdi
    builds the grid") and the projected amounts, or a single payment at maturity (given, or
    solved to produce the comparable yield)."""
    import csv

    from cpdi import api
    from cpdi.engine.schedule_builder import ScheduleBuildError
    from cpdi.writers.atomic import atomic_text, remove_leftover_parts
    from cpdi.writers.privacy import csv_safe
    from cpdi.writers.schedule import _cell

    inputs = [p for p in (args.amounts, args.holidays) if p]
    target = _build_out(args.out, inputs) if args.out else None
    solve = {"--issue-price": args.issue_price, "--comparable-yield-pct": args.comparable_yield_pct,
             "--day-count": args.day_count}
    if args.solve_single_payment:
        missing = [option for option, value in solve.items() if value is None]
        if missing:
            raise UsageError(f"--solve-single-payment needs {', '.join(missing)}")
    elif any(value is not None for value in solve.values()):
        given = [option for option, value in solve.items() if value is not None]
        raise UsageError(f"{', '.join(given)}: only with --solve-single-payment")
    if args.payment_dates and args.anchor not in (None, "dates"):
        raise UsageError(f"--payment-dates lists the period ends, but --anchor is {args.anchor}: "
                         "use --anchor dates (or leave --anchor out)")
    anchor = args.anchor or ("dates" if args.payment_dates else "maturity")
    holidays = _read_holidays(args.holidays) if args.holidays else []
    amounts, checks = _read_amounts(args.amounts) if args.amounts else (None, [])
    try:
        rows = api.build_schedule(
            args.id, args.issue_date, args.maturity_date, args.frequency, anchor=anchor,
            stub=args.stub, payment_dates=args.payment_dates, business_day=args.business_day,
            calendar=args.calendar, holidays=holidays, amounts=amounts,
            single_payment=args.single_payment, fixed_count=args.fixed,
            issue_price=args.issue_price, comparable_yield_pct=args.comparable_yield_pct,
            day_count=args.day_count,
        )
    except ScheduleBuildError as error:
        if error.term == "amounts" and args.amounts:
            raise InputError([Problem(args.amounts, None, "projected_payment", str(error),
                                      "give one row per built period, in order")]) from None
        option = _BUILD_OPTIONS.get(error.term or "")
        raise UsageError(f"{option}: {error}" if option else str(error)) from None
    problems = [
        Problem(args.amounts, number, "period_end",
                f"{end.isoformat()}, but built period {k} ends {row['period_end'].isoformat()}",
                "check the terms (--anchor, --stub, --business-day) or the file's dates")
        for k, ((number, end), row) in enumerate(zip(checks, rows), start=1)
        if end is not None and end != row["period_end"]
    ]
    if problems:
        raise InputError(problems)

    def write(handle) -> None:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(api.BUILT_SCHEDULE_COLUMNS)
        for row in rows:
            writer.writerow([csv_safe(row["instrument_id"]), row["period_start"].isoformat(),
                             row["period_end"].isoformat(), _cell(row["projected_payment"]),
                             csv_safe(row["payment_type"])])

    if target is None:
        write(sys.stdout)
        for note in rows.notes:
            print(_masked(f"note: {note}"), file=sys.stderr)
        return EXIT_OK
    remove_leftover_parts(target.parent, target.name)  # of a killed earlier run, if any
    with atomic_text(target) as handle:
        write(handle)
    print(_masked(f"wrote {len(rows)} period(s) of {args.id} to {target}"))
    for note in rows.notes:
        print(_masked(f"note: {note}"))
    return EXIT_OK


# -- import-terms: a pricing supplement to instruments.csv and schedule.csv ------------------------
def _add_import_terms(commands) -> None:
    p = commands.add_parser(
        "import-terms", help="read a pricing supplement (text or HTML) into instruments.csv, "
        "schedule.csv and issuer_accruals.csv")
    p.add_argument("file", metavar="FILE", help="the pricing supplement or its amendment: plain "
                   "text as filed, or HTML")
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write the CSV files "
                   "to (created if missing)")
    p.add_argument("--issue-date", type=_iso_date, metavar="YYYY-MM-DD",
                   help="the issue (original issue / settlement) date, if the document lacks it or "
                   "to override it")
    p.add_argument("--issue-price", type=_plain_price, metavar="P",
                   help="the issue price per unit of principal (e.g. 1000, or 9.95 per $10)")
    p.add_argument("--id", metavar="ID", help="the instrument id (CUSIP/ISIN): chooses among "
                   "several notes of one document, supplies an id the document lacks, or "
                   "replaces the printed one")
    p.add_argument("--force", action="store_true",
                   help="replace the files of an earlier import in DIR")
    p.add_argument("--debug", action="store_true", help="show tracebacks")


def _plain_price(text: str) -> str:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a plain number (e.g. 1000)") from None
    if not (value > 0 and value < float("inf")):
        raise argparse.ArgumentTypeError(f"{text!r} must be a price above 0, per unit of principal")
    return text.replace(",", "").strip()


def cmd_import_terms(args) -> int:
    """Read a pricing supplement and write its instrument (docs/formats.md "cpdi import-terms"):
    every figure is printed with the words it came from; every assumption is flagged."""
    from cpdi.engine.validation import describe
    from cpdi.readers.terms_document import TermsDocumentError
    from cpdi.terms_import import TermsImportError, import_terms, write_imported

    if Path(args.file).resolve() == Path(args.out).resolve():
        raise UsageError("--out must be a folder, not the document itself")
    try:
        imported = import_terms(args.file, args.issue_date, args.issue_price, args.id)
    except TermsDocumentError as error:
        print(_masked(f"cpdi: {error}"), file=sys.stderr)
        return EXIT_FAILED
    except TermsImportError as error:  # every missing figure, one line each; nothing written
        for problem in error.problems:
            print(_masked(f"cpdi: {error.source}: {problem}"), file=sys.stderr)
        print("cpdi: nothing written", file=sys.stderr)
        return EXIT_FAILED
    doc = imported.document
    print(_masked(f"{doc.source_name}: what was read, and where"))
    for evidence in doc.evidence:
        print(_masked(f"  {evidence.field:<22} {evidence.value:<14} line {evidence.line}: "
                      f"\"{evidence.quote}\""))
    for note in imported.notes:
        print(_masked(f"  {note}"))
    written = write_imported(imported, args.out, args.force)
    rows = {"instruments.csv": 1, "schedule.csv": len(imported.schedule_rows),
            "issuer_accruals.csv": len(imported.accrual_rows)}
    for target in written:
        print(_masked(f"wrote {target} ({rows[target.name]} row(s))"))
    report = imported.validation
    for line in describe(report, imported.instrument.unit_principal).splitlines():
        print(_masked(line))
    if not report.usable:
        print(_masked(f"cpdi: the schedule is imported as printed but does not validate (method §8): "
                      f"check it against the document; cpdi validate {args.out} shows the fix"),
              file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


COMMANDS = {
    "forms": cmd_forms,
    "lots": cmd_lots,
    "import-terms": cmd_import_terms,
    "validate": cmd_validate,
    "schedule": cmd_schedule,
    "compute": cmd_compute,
    "workpapers": cmd_workpapers,
    "init": cmd_init,
    "build-schedule": cmd_build_schedule,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

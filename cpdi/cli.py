"""The command line (formats.md, "Commands"): a thin layer over ``cpdi.api``.

Errors go to stderr one line each, naming file, row and column; no traceback unless
``--debug``.  Exit status: 0 success, 1 invalid input or a failed item, 2 usage error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cpdi import __version__
from cpdi.engine.validation import DEFAULT_TOLERANCE_PER_1000, describe
from cpdi.problems import CpdiError, InputError, Problem

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _add_common(parser: argparse.ArgumentParser, schedules: bool = True) -> None:
    parser.add_argument("input", help="a folder of CSV files or one .xlsx workbook (formats.md)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    if schedules:
        parser.add_argument(
            "--tolerance", type=float, default=DEFAULT_TOLERANCE_PER_1000, metavar="X",
            help="schedule tolerance, currency per 1,000 of principal (default %(default)s)",
        )
        parser.add_argument(
            "--accept-residual", action="append", default=[], metavar="ID",
            help="accept instrument ID's schedule outside tolerance (repeatable)",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cpdi",
        description="Contingent payment debt instruments: the noncontingent bond method, "
        "Treas. Reg. §1.1275-4(b).",
    )
    parser.add_argument("--version", action="version", version=f"cpdi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = commands.add_parser("validate", help="check every schedule (spec §8) and every input row")
    _add_common(p)

    p = commands.add_parser("schedule", help="per-period accrual table and interest per calendar year")
    _add_common(p)
    p.add_argument("--instrument", required=True, metavar="ID")
    p.add_argument("--out", metavar="F", help="F.csv (plus F-by-year.csv) or F.xlsx; default: print")

    p = commands.add_parser("compute", help="the results ledger: one row per lot per tax year")
    _add_common(p)
    p.add_argument("--through-year", required=True, type=int, metavar="YYYY")
    p.add_argument("--out", required=True, metavar="results.csv")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = commands.add_parser("workpapers", help="one Excel workpaper per holder, a summary and an exceptions report")
    _add_common(p)
    p.add_argument("--year", required=True, type=int, metavar="YYYY", help="the tax year")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--template", metavar="T", help="a workpaper template (.toml); see templates/README.md")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="processes (default: all cores)")
    p.add_argument("--resume", action="store_true",
                   help="skip holders whose workbook is present and whose inputs are unchanged")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--prepared", type=_iso_date, metavar="YYYY-MM-DD",
                   help="the 'date prepared' on every workbook (default: today)")

    p = commands.add_parser("init", help="write a blank input workbook to fill in Excel")
    p.add_argument("file", metavar="FILE.xlsx")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    p.add_argument("--debug", action="store_true", help="show tracebacks")

    return parser


def _iso_date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; write it as YYYY-MM-DD") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputError as error:
        if args.debug:
            raise
        _print_problems(error.problems)
        return EXIT_FAILED
    except (CpdiError, OSError) as error:
        if args.debug:
            raise
        print(f"cpdi: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("cpdi: interrupted; no partial output was left behind", file=sys.stderr)
        return 130


def _print_problems(problems) -> None:
    for problem in problems:
        print(str(problem), file=sys.stderr)


def _load(args):
    from cpdi import api

    path = Path(args.input)
    if not path.exists():
        raise InputError([Problem(str(path), None, None, "no such file or folder",
                                  "give a folder of CSV files or an .xlsx workbook")])
    return api.load(path)


def cmd_validate(args) -> int:
    from cpdi import api

    portfolio = _load(args)
    reports = api.validate(portfolio, args.tolerance, args.accept_residual)
    for instrument_id in sorted(reports):
        instrument = portfolio.instruments[instrument_id]
        print(describe(reports[instrument_id], instrument.unit_principal))
    _print_problems(portfolio.problems)
    failed = [r for r in reports.values() if not r.usable]
    if portfolio.problems or failed:
        print(
            f"{len(reports)} instrument(s) checked: {len(failed)} failed; "
            f"{len(portfolio.problems)} input problem(s)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"{len(reports)} instrument(s) checked: all valid")
    return EXIT_OK


def cmd_schedule(args) -> int:
    from cpdi import api
    from cpdi.writers.schedule import write_schedule

    portfolio = _load(args)
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
            print(f"wrote {path}")
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", None, "display.width", 200,
                               "display.float_format", "{:,.6f}".format):
            print(periods.to_string(index=False))
            print()
            print(years.to_string(index=False))
    return EXIT_OK if report.usable else EXIT_FAILED


def cmd_compute(args) -> int:
    from cpdi import api
    from cpdi.writers.results import write_results_csv

    from cpdi.progress import Progress

    portfolio = _load(args)
    progress = Progress(len(portfolio.lots), "lots", quiet=args.quiet or len(portfolio.lots) < 5000)
    result = api.compute(portfolio, args.through_year, args.tolerance, args.accept_residual,
                         on_lot=progress.advance)
    progress.close()
    written = write_results_csv(result.rows, args.out)
    _print_problems(result.problems)
    lots_failed = len({p.lot_id for p in result.problems if p.lot_id})
    print(
        f"wrote {written} lot-year row(s) for {len(result.ledgers)} lot(s) through "
        f"{args.through_year} to {args.out}"
        + (f"; {lots_failed} lot(s) not computed, {len(result.problems)} problem(s) above"
           if result.problems else "")
    )
    return EXIT_FAILED if result.problems else EXIT_OK


def cmd_workpapers(args) -> int:
    from cpdi.batch import BatchOptions, run_batch

    portfolio = _load(args)
    report = run_batch(portfolio, BatchOptions(
        year=args.year, out_dir=Path(args.out),
        template_path=Path(args.template) if args.template else None,
        prepared=args.prepared, workers=args.workers, resume=args.resume, quiet=args.quiet,
        tolerance_per_1000=args.tolerance, accept_residual=tuple(args.accept_residual),
    ))
    _print_problems(report.problems)
    skipped = f" ({report.holders_skipped} unchanged, kept)" if report.holders_skipped else ""
    print(
        f"{report.holders_ok} workbook(s) for {args.year} in {args.out}{skipped}; "
        f"{report.holders_failed} holder(s) failed; summary {report.summary_path.name}, "
        f"exceptions {report.exceptions_path.name} ({len(report.problems)} problem(s))"
    )
    return report.exit_code


def cmd_init(args) -> int:
    from cpdi.writers.blank_input import write_blank_input

    target = Path(args.file)
    if target.suffix.lower() != ".xlsx":
        print(f"cpdi: {target}: the blank input workbook must be an .xlsx file", file=sys.stderr)
        return EXIT_USAGE
    if target.exists() and not args.force:
        print(f"cpdi: {target} exists; pass --force to overwrite it", file=sys.stderr)
        return EXIT_FAILED
    write_blank_input(target)
    print(f"wrote {target}: fill in its sheets, then run: cpdi workpapers {target} --year YYYY --out DIR")
    return EXIT_OK


COMMANDS = {
    "validate": cmd_validate,
    "schedule": cmd_schedule,
    "compute": cmd_compute,
    "workpapers": cmd_workpapers,
    "init": cmd_init,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

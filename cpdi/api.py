"""The Python API: load inputs, validate schedules, get schedules and ledgers as DataFrames.

This is the orchestration layer between the readers and the pure engine: it builds each
instrument's schedule once, checks it (method §8), runs every lot through the engine, and turns
engine errors into Problems that name the file, row and column.  One bad lot never stops the
others: bad lots are reported and the rest computed.

    >>> import cpdi
    >>> portfolio = cpdi.load("cpdi/examples/portfolio")
    >>> cpdi.schedule_frame(portfolio, "02687QCD8").head()            # doctest: +SKIP
    >>> result = cpdi.compute(portfolio, through_year=2025)
    >>> result.frame()                                                 # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

import pandas as pd

from cpdi.engine.basis_allocation import AllocationError
from cpdi.engine.ledger import (
    LEDGER_COLUMNS, ActualPayments, LotLedger, LotYear, MissingContingentPayment, lot_ledger,
)
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.validation import (
    DEFAULT_TOLERANCE_PER_1000, ScheduleValidation, invalid_report, validate_schedule,
)
from cpdi.model import (
    FIRST_TAX_YEAR, LAST_TAX_YEAR, MAX_TOLERANCE_PER_1000, Instrument, Lot, PaymentKind,
)
from cpdi.problems import CpdiError, InputError, Problem
from cpdi.readers import Portfolio, read_portfolio


def load(path) -> Portfolio:
    """Read and validate a folder of CSV files or an .xlsx workbook (docs/formats.md).

    Every problem inside the input (a missing or misnamed table, a bad cell, an impossible
    payment) is collected on ``portfolio.problems``, never raised.  Raises
    :class:`cpdi.problems.InputError` only when ``path`` does not exist or is neither a folder
    nor an .xlsx workbook."""
    return read_portfolio(path)


def load_example() -> Portfolio:
    """The bundled example portfolio (three notes, four holders), from any working folder."""
    from cpdi import example_path

    return read_portfolio(example_path())


# -- schedules -----------------------------------------------------------------------------
@dataclass
class InstrumentBook:
    """An instrument's schedule, its §8 validation and its actual payments, computed once and
    shared by every lot (and by batch workers)."""

    instrument: Instrument
    schedule: AccrualSchedule | None
    validation: ScheduleValidation
    actuals: ActualPayments


def instrument_books(
    portfolio: Portfolio,
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: Iterable[str] = (),
) -> dict[str, InstrumentBook]:
    """Build and validate every instrument's schedule (method §3, §8).

    Validation names every degenerate instrument it knows of (method §8).  As a last line of
    defence, an error it did not foresee while validating or building one instrument's
    schedule becomes that instrument's INVALID report naming the error: its lots are reported
    and every other instrument carries on."""
    check_tolerance(tolerance_per_1000)
    accepted = set(accept_residual)
    books = {}
    for instrument_id, instrument in portfolio.instruments.items():
        acceptance = True if instrument_id in accepted else None
        try:
            report = validate_schedule(instrument, tolerance_per_1000, acceptance)
            schedule = AccrualSchedule(instrument) if report.structurally_valid else None
        except Exception as error:  # noqa: BLE001 - one instrument never sinks the input
            report = invalid_report(instrument, [
                f"the schedule could not be validated: {type(error).__name__}: {error} (an "
                "error cpdi did not foresee; check this instrument's terms and schedule, and "
                "please report it)"
            ], tolerance_per_1000, acceptance)
            schedule = None
        books[instrument_id] = InstrumentBook(
            instrument, schedule, report, actual_payments(portfolio, instrument_id)
        )
    return books


def check_tolerance(tolerance_per_1000: float) -> None:
    """A validation tolerance is a finite amount from 0 to ``MAX_TOLERANCE_PER_1000`` per
    1,000 of principal (method §8: a schedule further off is accepted only explicitly, by
    ``accept_residual``); raises ``ValueError`` otherwise."""
    if not (isinstance(tolerance_per_1000, (int, float)) and math.isfinite(tolerance_per_1000)
            and 0 <= tolerance_per_1000 <= MAX_TOLERANCE_PER_1000):
        raise ValueError(
            f"tolerance_per_1000 {tolerance_per_1000!r} must be a number from 0 to "
            f"{MAX_TOLERANCE_PER_1000:g} per 1,000 of principal; accept a schedule further off "
            f"explicitly with accept_residual")


def check_tax_year(year: int, name: str = "year") -> None:
    """A tax year cpdi computes (``FIRST_TAX_YEAR``–``LAST_TAX_YEAR``); raises ``ValueError``."""
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_TAX_YEAR <= year <= LAST_TAX_YEAR:
        raise ValueError(f"{name} {year!r} is not a tax year cpdi computes: give a whole year "
                         f"from {FIRST_TAX_YEAR} to {LAST_TAX_YEAR}")


def actual_payments(portfolio: Portfolio, instrument_id: str) -> ActualPayments:
    scheduled = {}
    call_date = redemption = None
    for payment in portfolio.payments.get(instrument_id, ()):
        if payment.kind is PaymentKind.REDEMPTION:
            call_date, redemption = payment.date, payment.amount
        else:
            scheduled[payment.date] = payment.amount
    return ActualPayments(scheduled, call_date, redemption)


def validate(
    portfolio: Portfolio,
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: Iterable[str] = (),
) -> dict[str, ScheduleValidation]:
    """Method §8 for every instrument (raises ``ValueError`` for a tolerance outside 0–1 per 1,000)."""
    books = instrument_books(portfolio, tolerance_per_1000, accept_residual)
    return {iid: book.validation for iid, book in books.items()}


SCHEDULE_COLUMNS = (
    "period", "period_start", "period_end", "days", "year_fraction", "rate",
    "adjusted_issue_price_start", "interest", "daily_portion", "projected_payment",
    "payment_type", "adjusted_issue_price_end",
)


def _buildable(instrument: Instrument) -> AccrualSchedule:
    """The instrument's accrual schedule, or :class:`InputError` naming why none can be built
    (a structural problem: method §8).  A schedule that is only outside tolerance is built."""
    report = validate_schedule(instrument, DEFAULT_TOLERANCE_PER_1000, None)
    if not report.structurally_valid:
        raise InputError([Problem(
            "schedule", None, None,
            f"instrument {instrument.instrument_id}: {'; '.join(report.problems)}",
            "correct the schedule (see cpdi validate)", instrument_id=instrument.instrument_id,
        )])
    return AccrualSchedule(instrument)


def schedule_frame(portfolio_or_instrument, instrument_id: str | None = None) -> pd.DataFrame:
    """The per-period accrual table of method §3, per unit of principal.  Raises
    :class:`InputError` for an unknown instrument or a schedule no table can be built from
    (a gap, an overlap, terms method §8 calls INVALID)."""
    instrument = _instrument(portfolio_or_instrument, instrument_id)
    schedule = _buildable(instrument)
    records = [
        (
            p.number, p.period_start, p.period_end, p.days, p.year_fraction, p.rate,
            p.adjusted_issue_price_start, p.interest, p.daily_portion, p.projected_payment,
            p.payment_type.value, p.adjusted_issue_price_end,
        )
        for p in schedule.periods
    ]
    return pd.DataFrame.from_records(records, columns=SCHEDULE_COLUMNS)


def calendar_year_frame(portfolio_or_instrument, instrument_id: str | None = None) -> pd.DataFrame:
    """Interest per unit of principal for each calendar year, for a holder from issue (raises
    as :func:`schedule_frame` does)."""
    instrument = _instrument(portfolio_or_instrument, instrument_id)
    years = _buildable(instrument).interest_by_calendar_year()
    return pd.DataFrame(
        {"calendar_year": list(years), "interest_per_unit": list(years.values())}
    )


def _instrument(portfolio_or_instrument, instrument_id) -> Instrument:
    if isinstance(portfolio_or_instrument, Instrument):
        return portfolio_or_instrument
    try:
        return portfolio_or_instrument.instruments[instrument_id]
    except KeyError:
        known = ", ".join(sorted(portfolio_or_instrument.instruments)) or "none"
        raise InputError([Problem(
            portfolio_or_instrument.file_names.get("instruments", "instruments"), None,
            "instrument_id", f"no usable instrument {instrument_id!r}",
            f"known instruments: {known}", instrument_id=instrument_id,
        )]) from None


# -- the ledger ------------------------------------------------------------------------------
@dataclass
class LedgerResult:
    """Every lot's ledger through a year, and every problem met on the way."""

    through_year: int
    ledgers: list[LotLedger] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    books: dict[str, InstrumentBook] = field(default_factory=dict)

    @property
    def rows(self) -> list[LotYear]:
        return [row for ledger in self.ledgers for row in ledger.years]

    def frame(self) -> pd.DataFrame:
        """The results ledger as a DataFrame, docs/formats.md's columns in order."""
        return ledger_frame(self.rows)


def ledger_frame(rows: Iterable[LotYear]) -> pd.DataFrame:
    return pd.DataFrame.from_records(
        [tuple(getattr(r, c) for c in LEDGER_COLUMNS) for r in rows], columns=list(LEDGER_COLUMNS)
    )


def _lot_file(portfolio: Portfolio) -> str:
    return portfolio.file_names.get("lots", "lots")


def _lot_row(portfolio: Portfolio, lot: Lot) -> int | None:
    return portfolio.lot_rows.get(lot.lot_id)


def compute_lot(book: InstrumentBook, lot: Lot, through_year: int) -> LotLedger:
    """One lot through the engine (raises engine errors)."""
    return lot_ledger(book.schedule, lot, book.actuals, through_year)


def lot_problem(portfolio: Portfolio, book: InstrumentBook | None, lot: Lot, error: Exception) -> Problem:
    """An engine error on one lot as a Problem naming file, row and column."""
    ids = dict(holder_id=lot.holder_id, lot_id=lot.lot_id, instrument_id=lot.instrument_id)
    if isinstance(error, MissingContingentPayment):
        files = portfolio.file_names
        return Problem(
            files.get("payments", "payments"), None, "amount",
            f"lot {lot.lot_id} received the contingent payment of {error.instrument_id} due "
            f"{error.due.isoformat()}, but there is no actual amount for it",
            f"add a payments row: {error.instrument_id},{error.due.isoformat()},<amount>,scheduled",
            **ids,
        )
    if isinstance(error, AllocationError):
        column = "allocate_to_maturity" if "allocate_to_maturity" in str(error) else "basis_allocation"
        return Problem(_lot_file(portfolio), _lot_row(portfolio, lot), column, str(error),
                       "correct the lot's basis allocation", **ids)
    if isinstance(error, ArithmeticError):  # OverflowError, ZeroDivisionError, …
        return Problem(
            _lot_file(portfolio), _lot_row(portfolio, lot), None,
            f"cannot compute lot {lot.lot_id}: the arithmetic failed "
            f"({type(error).__name__}: {error})",
            f"check the lot's amounts and dates and instrument {lot.instrument_id}'s terms",
            **ids,
        )
    if isinstance(error, (ValueError, CpdiError)):
        return Problem(_lot_file(portfolio), _lot_row(portfolio, lot), None,
                       f"cannot compute lot {lot.lot_id}: {error}", "", **ids)
    return Problem(
        _lot_file(portfolio), _lot_row(portfolio, lot), None,
        f"cannot compute lot {lot.lot_id}: {type(error).__name__}: {error}",
        "an error cpdi did not foresee: check the lot's row, and please report it", **ids,
    )


def schedule_problem_row(portfolio: Portfolio, book: InstrumentBook) -> tuple[int | None, str]:
    """Where a failed schedule should be fixed: the schedule row (and column) of the first
    period its validation names, else of the payment that would close it, else its last row."""
    import re

    instrument = book.instrument
    periods = instrument.projected_payments
    report = book.validation
    number = None
    column = "projected_payment"
    if report.problems:
        mentioned = [int(n) for n in re.findall(r"period (\d+)", report.problems[0])]
        column = "period_start"
        if mentioned:  # a gap or overlap is fixed on the later period's row
            number = max(mentioned)
        elif periods and "last period" in report.problems[0]:
            number, column = len(periods), "period_end"
        elif periods:
            number = 1
    elif report.corrections:
        number = report.corrections[0].period_number
    elif periods:
        number = len(periods)
    if number is None or not 1 <= number <= len(periods):
        return portfolio.instrument_rows.get(instrument.instrument_id), column
    start = periods[number - 1].period_start
    return portfolio.schedule_rows.get((instrument.instrument_id, start)), column


_TERM_COLUMNS = ("comparable_yield_pct", "issue_price", "unit_principal", "frequency", "day_count")


def _instrument_term_to_fix(report: ScheduleValidation) -> str | None:
    """The instruments column a failed validation points at (a comparable yield typed as a
    fraction, a period rate of −100% or below: "check comparable_yield_pct"), if any."""
    import re

    from cpdi.engine.plausibility import comparable_yield_typed_as_fraction

    if report.structurally_valid and comparable_yield_typed_as_fraction(report) is not None:
        return "comparable_yield_pct"
    if report.problems:
        names = "|".join(_TERM_COLUMNS)
        match = re.search(rf"check ({names})\b", report.problems[0]) or re.match(
            rf"({names})\b", report.problems[0])
        if match:
            return match.group(1)
    return None


def unusable_schedule_problem(portfolio: Portfolio, book: InstrumentBook, lot: Lot) -> Problem:
    """A lot on a schedule that failed validation (method §8), pointing at the schedule row to
    fix (the command line prints the repeats for further lots of the same instrument once)."""
    report = book.validation
    files = portfolio.file_names
    if not report.structurally_valid:
        what = "; ".join(report.problems)
        fix = "correct the schedule rows"
    else:
        what = (
            f"the projected payment schedule does not produce the comparable yield (final AIP "
            f"{report.final_adjusted_issue_price:+.6f}, PV {report.present_value:.6f} vs issue "
            f"price {report.issue_price:.6f})"
        )
        fix = schedule_hint(report) or (
            "correct the schedule (see cpdi validate) or accept the residual explicitly")
    row, column = schedule_problem_row(portfolio, book)
    file = files.get("schedule", "schedule")
    term = _instrument_term_to_fix(report)
    if term is not None:  # the slip is in the instrument's terms, not its schedule rows
        file, column = files.get("instruments", "instruments"), term
        row = portfolio.instrument_rows.get(book.instrument.instrument_id)
    return Problem(
        file, row, column,
        f"lot {lot.lot_id} not computed: instrument {book.instrument.instrument_id}: {what}", fix,
        holder_id=lot.holder_id, lot_id=lot.lot_id, instrument_id=lot.instrument_id,
    )


def missing_lots_problem(portfolio: Portfolio) -> Problem | None:
    """``compute`` and ``workpapers`` need a lots table: an input without one (or with only a
    misnamed one, which the readers report) has nothing to compute, and says so."""
    if portfolio.lots or portfolio.rejected_lots or "lots" in portfolio.tables_present:
        return None
    if not portfolio.instruments and portfolio.problems:
        return None  # the input is unusable already, and says why
    lots_file = portfolio.file_names.get("lots", "lots")
    if any(p.file == lots_file for p in portfolio.problems):
        return None  # already reported (a misnamed or unreadable lots table)
    return Problem(lots_file, None, None, "the input has no lots table: there is nothing to "
                   "compute", "add lots.csv (or a lots sheet) with one row per tax lot "
                   "(see docs/formats.md)")


def iter_ledgers(
    portfolio: Portfolio,
    through_year: int,
    books: dict[str, InstrumentBook],
    problems: list[Problem],
    lots: Iterable[Lot] | None = None,
    on_lot=None,
):
    """Yield each computable lot's ledger through ``through_year`` one at a time (so a caller
    can stream rows to disk and keep memory flat in the portfolio), appending to ``problems``
    every lot on an unusable schedule and every lot the engine cannot compute."""
    check_tax_year(through_year, "through_year")
    last_day = date(through_year, 12, 31)
    for lot in portfolio.lots if lots is None else lots:
        if on_lot is not None:
            on_lot()
        if lot.acquisition_date > last_day:
            continue
        book = books.get(lot.instrument_id)
        if book is None:  # the readers only pass lots on known instruments
            continue
        if book.schedule is None or not book.validation.usable:
            problems.append(unusable_schedule_problem(portfolio, book, lot))
            continue
        try:
            ledger = compute_lot(book, lot, through_year)
        except Exception as error:  # noqa: BLE001 - one lot's failure is that lot's problem
            problems.append(lot_problem(portfolio, book, lot, error))
            continue
        yield ledger


def compute(
    portfolio: Portfolio,
    through_year: int,
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: Iterable[str] = (),
    books: dict[str, InstrumentBook] | None = None,
    lots: Iterable[Lot] | None = None,
    on_lot=None,
) -> LedgerResult:
    """Every valid lot's ledger from its acquisition year through ``through_year`` (or its
    disposition year).  Lots the readers rejected, lots on an unusable schedule and lots the
    engine cannot compute are reported in ``problems`` (never raised); the rest are computed.
    ``on_lot``, if given, is called once per lot (progress).  For a very large portfolio,
    :func:`iter_ledgers` streams the same ledgers without holding them all."""
    check_tax_year(through_year, "through_year")
    books = books if books is not None else instrument_books(portfolio, tolerance_per_1000, accept_residual)
    result = LedgerResult(through_year, books=books)
    result.problems.extend(portfolio.problems)
    if lots is None:
        missing = missing_lots_problem(portfolio)
        if missing is not None:
            result.problems.append(missing)
    result.ledgers.extend(iter_ledgers(portfolio, through_year, books, result.problems, lots, on_lot))
    return result


# -- plausibility and counts ------------------------------------------------------------------
def schedule_hint(report: ScheduleValidation) -> str:
    """The likely mistake behind a schedule that fails validation, in words ("" if none is
    recognised); see :mod:`cpdi.engine.plausibility`."""
    from cpdi.engine.plausibility import comparable_yield_typed_as_fraction

    meant = comparable_yield_typed_as_fraction(report)
    if meant is not None:
        return (
            f"comparable_yield_pct {report.comparable_yield_pct:g} looks like a fraction: did you "
            f"mean {meant:g} percent? The schedule produces {report.implied_yield_pct:.4f}%; "
            f"write {meant:g} in instruments comparable_yield_pct"
        )
    return ""


def lots_not_computed(portfolio: Portfolio, result: LedgerResult) -> int:
    """How many lots the ledger lacks: rows the readers rejected plus lots whose computation
    failed (each counted once)."""
    failed = {p.lot_id for p in result.problems if p.lot_id}
    failed.update(portfolio.rejected_lots)
    return len(failed)


# -- the year-end batch ------------------------------------------------------------------------
def workpapers(
    portfolio: Portfolio,
    year: int,
    out_dir,
    *,
    template=None,
    prepared: date | None = None,
    workers: int = 0,
    resume: bool = False,
    quiet: bool = True,
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: Iterable[str] = (),
):
    """Write every holder's workbook for tax ``year`` into ``out_dir``, with the batch summary
    and the exceptions report, exactly as ``cpdi workpapers`` does; returns the
    :class:`cpdi.batch.BatchReport` (problems are in ``report.problems``, never raised; a
    failed write raises ``OSError``)."""
    from pathlib import Path

    from cpdi.batch import BatchOptions, run_batch

    check_tax_year(year)
    check_tolerance(tolerance_per_1000)
    return run_batch(portfolio, BatchOptions(
        year=year, out_dir=Path(out_dir), template_path=Path(template) if template else None,
        prepared=prepared, workers=workers, resume=resume, quiet=quiet,
        tolerance_per_1000=tolerance_per_1000, accept_residual=tuple(accept_residual),
    ))

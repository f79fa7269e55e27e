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
from cpdi.engine.fixings import Fixing
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.validation import (
    DEFAULT_TOLERANCE_PER_1000, ScheduleValidation, invalid_report, validate_schedule,
)
from cpdi.model import (
    FIRST_TAX_YEAR, LAST_TAX_YEAR, MAX_TOLERANCE_PER_1000, Instrument, Lot, PaymentKind,
)
from cpdi.problems import CpdiError, InputError, Problem
from cpdi.readers import Portfolio, read_portfolio
from cpdi.readers.columns import LOT_TABLES


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
            schedule = (AccrualSchedule(instrument, fixings_of(portfolio, instrument_id))
                        if report.structurally_valid else None)
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


def fixings_of(portfolio: Portfolio, instrument_id: str) -> tuple[Fixing, ...]:
    """The payments of an instrument whose amounts were fixed before they were paid
    (payments.csv ``fixing_date``); the schedule applies those fixed more than six months
    early ((b)(9)(ii), method §13)."""
    return tuple(
        Fixing(payment.date, payment.fixing_date, payment.amount)
        for payment in portfolio.payments.get(instrument_id, ())
        if payment.kind is PaymentKind.SCHEDULED and payment.fixing_date is not None
    )


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
    "payment_type", "adjusted_issue_price_end", "daily_portion_days", "fixed_on",
    "fixing_adjustment",
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
    if not isinstance(portfolio_or_instrument, Instrument):  # with its (b)(9)(ii) fixings
        schedule = AccrualSchedule(instrument, fixings_of(portfolio_or_instrument, instrument_id))
    records = [
        (
            p.number, p.period_start, p.period_end, p.days, p.year_fraction, p.rate,
            p.adjusted_issue_price_start, p.interest, p.daily_portion, p.projected_payment,
            p.payment_type.value, p.adjusted_issue_price_end, p.weight, p.fixed_on,
            p.fixing_adjustment,
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


def _lot_file(portfolio: Portfolio, lot: Lot) -> str:
    """The file the lot's row is in: lots.csv, or transactions.csv for a lot derived from the
    trades (its row is the buy's)."""
    return portfolio.lot_files.get(lot.lot_id) or portfolio.file_names.get("lots", "lots")


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
        return Problem(_lot_file(portfolio, lot), _lot_row(portfolio, lot), column, str(error),
                       "correct the lot's basis allocation", **ids)
    if isinstance(error, ArithmeticError):  # OverflowError, ZeroDivisionError, …
        return Problem(
            _lot_file(portfolio, lot), _lot_row(portfolio, lot), None,
            f"cannot compute lot {lot.lot_id}: the arithmetic failed "
            f"({type(error).__name__}: {error})",
            f"check the lot's amounts and dates and instrument {lot.instrument_id}'s terms",
            **ids,
        )
    if isinstance(error, (ValueError, CpdiError)):
        return Problem(_lot_file(portfolio, lot), _lot_row(portfolio, lot), None,
                       f"cannot compute lot {lot.lot_id}: {error}", "", **ids)
    return Problem(
        _lot_file(portfolio, lot), _lot_row(portfolio, lot), None,
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
    """``compute`` and ``workpapers`` need lots: a lots table, or a transactions table to derive
    them from (``LOT_TABLES``, either or both).  An input with neither (or with only a misnamed
    one, which the readers report) has nothing to compute, and says so."""
    if portfolio.lots or portfolio.rejected_lots or any(
            table in portfolio.tables_present for table in LOT_TABLES):
        return None
    if not portfolio.instruments and portfolio.problems:
        return None  # the input is unusable already, and says why
    files = {portfolio.file_names.get(table, table) for table in LOT_TABLES}
    if any(p.file in files for p in portfolio.problems):
        return None  # already reported (a misnamed or unreadable lots or transactions table)
    return Problem(portfolio.file_names.get("lots", "lots"), None, None,
                   "the input has no lots table and no transactions table: there is nothing to "
                   "compute", "add lots.csv (one row per tax lot) or transactions.csv (the trades "
                   "the lots are derived from), or their sheets (see docs/formats.md)")


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
def issuer_table_searches(portfolio: Portfolio) -> dict:
    """For every usable instrument with rows in ``issuer_accruals``: its
    :class:`cpdi.engine.issuer_table.ConventionSearch` — the issuer's OID table against cpdi's
    figures and the conventions that reproduce it (method §11).  An instrument whose schedule
    cannot be built (method §8 structural problems) is left out: validate reports that."""
    from cpdi.engine.issuer_table import find_convention

    searches = {}
    for iid in sorted(portfolio.issuer_accruals):
        instrument = portfolio.instruments.get(iid)
        if instrument is None:
            continue
        if not validate_schedule(instrument, DEFAULT_TOLERANCE_PER_1000, None).structurally_valid:
            continue
        searches[iid] = find_convention(instrument, portfolio.issuer_accruals[iid])
    return searches


def issuer_table_problem(portfolio: Portfolio, search) -> Problem | None:
    """A problem when cpdi's figures differ from the issuer's table at the printed decimals,
    naming the conventions that reproduce it and where to set them (method §11)."""
    if search.entered_agrees:
        return None
    instrument = search.instrument
    iid = instrument.instrument_id
    best = search.best
    differing = len(search.entered.disagreeing)
    message = (f"instrument {iid}: {differing} of {len(search.entered.rows)} row(s) of the issuer's "
               "OID table differ from cpdi's figures at the printed decimals")
    row = portfolio.instrument_rows.get(iid)
    where = portfolio.file_names.get("instruments", "instruments.csv") + (f" row {row}" if row else "")
    if best.agrees and best is not search.entered:
        message += f"; the table is reproduced with {best.convention.describe(instrument)}"
        fix = f"set those in {where}, if the issuer's document supports them"
        if best.convention.periods:
            fix = (f"rebuild the schedule on those accrual periods (cpdi build-schedule) and set "
                   f"the rest in {where}, if the issuer's document supports them")
    elif best is not search.entered:
        message += (f"; closest is {best.convention.describe(instrument)}, with "
                    f"{len(best.disagreeing)} row(s) still differing")
        fix = "compare the rows cpdi validate lists with the issuer's document"
    else:
        fix = "compare the rows cpdi validate lists with the issuer's document"
    return Problem(portfolio.file_names.get("issuer_accruals", "issuer_accruals.csv"), None, None,
                   message, fix, instrument_id=iid)


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


# -- building a schedule from the terms (method §2, "How cpdi builds the grid") ----------------
BUILT_SCHEDULE_COLUMNS = ("instrument_id", "period_start", "period_end", "projected_payment",
                          "payment_type")
"""The columns of a built schedule: those of schedule.csv (docs/formats.md)."""


class BuiltSchedule(list):
    """The rows :func:`build_schedule` returns — a list of schedule.csv rows (dicts keyed by
    :data:`BUILT_SCHEDULE_COLUMNS`; dates as ``date``, amounts as unrounded ``float``,
    ``payment_type`` as ``"fixed"`` / ``"contingent"``) — with what the caller should be told:
    ``notes`` (a solved single payment, a maturity moved by the business-day rule),
    ``single_payment`` (the solved payment, or ``None``) and ``maturity_date`` (the last period
    end, which instruments.csv's maturity_date must equal)."""

    def __init__(self, rows=(), notes=(), single_payment: float | None = None,
                 maturity_date: date | None = None):
        super().__init__(rows)
        self.notes: list[str] = list(notes)
        self.single_payment = single_payment
        self.maturity_date = maturity_date


def _build_date(value, term: str) -> date:
    from datetime import datetime

    from cpdi.engine.schedule_builder import ScheduleBuildError

    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ScheduleBuildError(f"{term} {value!r} is not a date: write it as YYYY-MM-DD", term)


def _build_choice(value, kind, term: str):
    from cpdi.engine.schedule_builder import ScheduleBuildError

    if isinstance(value, kind):
        return value
    try:
        return kind(str(value).strip().lower().replace("-", "_").replace(" ", "_"))
    except ValueError:
        raise ScheduleBuildError(
            f"{term} {value!r}: use one of {', '.join(k.value for k in kind)}", term) from None


def _build_number(value, term: str, low: float, high: float, low_open: bool = True) -> float:
    from cpdi.engine.schedule_builder import ScheduleBuildError

    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and value <= high
    if not ok:
        bound = f"above {low:g}" if low_open else f"from {low:g}"
        raise ScheduleBuildError(f"{term} {value!r} must be a number {bound} up to {high:g}", term)
    return float(value)


def build_schedule(
    instrument_id: str,
    issue_date,
    maturity_date,
    frequency: int,
    *,
    anchor="maturity",
    stub=None,
    payment_dates=(),
    business_day="none",
    calendar: str = "us",
    holidays=(),
    amounts=None,
    single_payment: float | None = None,
    fixed_count: int = 0,
    issue_price: float | None = None,
    comparable_yield_pct: float | None = None,
    day_count=None,
) -> BuiltSchedule:
    """A projected payment schedule built from the note's terms (method §2, "How cpdi builds
    the grid"): the accrual periods from ``issue_date`` to ``maturity_date`` at ``frequency``
    periods a year (``anchor``, ``stub``, ``payment_dates``, ``business_day``, ``calendar``
    and ``holidays`` as :class:`cpdi.engine.schedule_builder.AccrualGrid` takes them, by value
    or by name), with ``amounts`` (one per period, per unit of principal) or ``single_payment``
    (zero before maturity, then that amount); the first ``fixed_count`` payments are fixed.

    With neither ``amounts`` nor ``single_payment``, ``issue_price``, ``comparable_yield_pct``
    (5.46 for 5.46%) and ``day_count`` solve the single payment at maturity that produces the
    comparable yield (:func:`~cpdi.engine.schedule_builder.single_payment_for_yield`), and the
    result's ``notes`` say so.  Returns a :class:`BuiltSchedule` (a list of schedule.csv rows).
    Raises :class:`~cpdi.engine.schedule_builder.ScheduleBuildError` (a ``ValueError``; its
    ``term`` names the argument to fix) for terms no schedule can be built from."""
    from cpdi.engine.business_days import BusinessDayError, _check_calendar
    from cpdi.engine.daycount import DayCount
    from cpdi.engine.schedule_builder import (
        AccrualGrid, Anchor, BusinessDay, ScheduleBuildError, Stub, accrual_period_dates,
        projected_schedule, single_payment_for_yield,
    )
    from cpdi.model import ComparableYield

    if not isinstance(instrument_id, str) or not instrument_id.strip():
        raise ScheduleBuildError("instrument_id must be a non-blank id", "instrument_id")
    try:
        calendar = _check_calendar(calendar)
    except BusinessDayError as error:
        raise ScheduleBuildError(str(error), "calendar") from None
    if isinstance(payment_dates, (str, date)):
        payment_dates = [payment_dates]
    if isinstance(holidays, (str, date)):
        holidays = [holidays]
    grid = AccrualGrid(
        issue_date=_build_date(issue_date, "issue_date"),
        maturity_date=_build_date(maturity_date, "maturity_date"),
        frequency=frequency,
        anchor=_build_choice(anchor, Anchor, "anchor"),
        stub=None if stub is None else _build_choice(stub, Stub, "stub"),
        payment_dates=tuple(_build_date(d, "payment_dates") for d in payment_dates),
        business_day=_build_choice(business_day, BusinessDay, "business_day"),
        holidays=frozenset(_build_date(d, "holidays") for d in holidays),
        calendar=calendar,
    )
    dates = accrual_period_dates(grid)
    solve_terms = {"issue_price": issue_price, "comparable_yield_pct": comparable_yield_pct,
                   "day_count": day_count}
    notes = []
    solved = None
    if amounts is not None or single_payment is not None:
        given = [name for name, value in solve_terms.items() if value is not None]
        if given:
            raise ScheduleBuildError(
                f"{', '.join(given)} solve the single payment at maturity: give them without "
                "amounts or single_payment", given[0])
        payments = projected_schedule(dates, amounts, single_payment, fixed_count)
    else:
        missing = [name for name, value in solve_terms.items() if value is None]
        if missing:
            raise ScheduleBuildError(
                "give amounts (one per period), single_payment, or issue_price, "
                f"comparable_yield_pct and day_count to solve the single payment (missing: "
                f"{', '.join(missing)})", "amounts")
        price = _build_number(issue_price, "issue_price", 0.0, 1e15)
        pct = _build_number(comparable_yield_pct, "comparable_yield_pct", -100.0, 100.0)
        try:
            convention = day_count if isinstance(day_count, DayCount) else DayCount.parse(day_count)
        except ValueError as error:
            raise ScheduleBuildError(str(error), "day_count") from None
        cy = ComparableYield(pct / 100.0, convention, grid.frequency)
        solved = single_payment_for_yield(price, cy, dates)
        payments = projected_schedule(dates, single_payment=solved, fixed_count=fixed_count)
        notes.append(
            f"single payment solved: {solved:.10f} due {dates[-1][1].isoformat()} makes the "
            f"schedule produce the comparable yield of {pct:g}% ({convention.value}, "
            f"{grid.frequency} period(s) a year) from the issue price {price:g}: final adjusted "
            "issue price 0 ((b)(4)(ii)(C)); nothing is projected before maturity")
        if 0 < abs(pct) < 1:  # the slip method §8 names: a yield typed as a fraction
            notes.append(
                f"comparable_yield_pct {pct:g} is under 1 percent: if it was typed as a "
                f"fraction, {pct * 100:g} was meant (5.46 for 5.46%)")
    end = dates[-1][1]
    if end != grid.maturity_date:
        notes.append(
            f"maturity {grid.maturity_date.isoformat()} is not a business day: the "
            f"{grid.business_day.value} rule moves it to {end.isoformat()}; write "
            f"{end.isoformat()} as the instrument's maturity_date (the last period must end on it)")
    rows = [
        {"instrument_id": instrument_id, "period_start": p.period_start,
         "period_end": p.period_end, "projected_payment": p.amount,
         "payment_type": p.payment_type.value}
        for p in payments
    ]
    return BuiltSchedule(rows, notes, solved, end)


def forms(portfolio: Portfolio, year: int, result: LedgerResult, mapping=None) -> dict:
    """Every holder's year on the forms (method §12): ``holder_id -> HolderForms`` for each
    holder with a lot held in ``year`` (holders in input order, then lots' order), from a
    :func:`compute` ``result`` through at least ``year``.  ``mapping`` is a
    :class:`cpdi.engine.forms.FormMapping` (default: the packaged ``templates/forms.toml``)."""
    from cpdi.engine.forms import broker_bases, holder_forms
    from cpdi.model import FilerType
    from cpdi.readers.form_lines import load_form_mapping

    mapping = mapping or load_form_mapping()
    descriptions = {iid: instrument.description for iid, instrument in portfolio.instruments.items()}
    by_holder: dict[str, list[LotLedger]] = {}
    for ledger in result.ledgers:
        if any(row.tax_year == year for row in ledger.years):
            by_holder.setdefault(ledger.lot.holder_id, []).append(ledger)
    order = [hid for hid in portfolio.holders if hid in by_holder]
    order += [hid for hid in by_holder if hid not in portfolio.holders]
    out = {}
    for holder_id in order:
        holder = portfolio.holders.get(holder_id)
        filer_type = holder.filer_type if holder is not None else FilerType.INDIVIDUAL
        bases = broker_bases(getattr(portfolio, "broker_1099", ()), holder_id, year)
        out[holder_id] = holder_forms(holder_id, filer_type, year, by_holder[holder_id],
                                      descriptions, mapping, bases)
    return out

"""The Python API: load inputs, validate schedules, get schedules and ledgers as DataFrames.

This is the orchestration layer between the readers and the pure engine: it builds each
instrument's schedule once, checks it (spec §8), runs every lot through the engine, and turns
engine errors into Problems that name the file, row and column.  One bad lot never stops the
others (issue: "bad lots are reported and the rest computed").

    >>> import cpdi
    >>> portfolio = cpdi.load("cpdi/examples/portfolio")
    >>> cpdi.schedule_frame(portfolio, "02687QCD8").head()            # doctest: +SKIP
    >>> result = cpdi.compute(portfolio, through_year=2025)
    >>> result.frame()                                                 # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Iterable

import pandas as pd

from cpdi.engine.basis_allocation import AllocationError
from cpdi.engine.ledger import (
    LEDGER_COLUMNS, ActualPayments, LotLedger, LotYear, MissingContingentPayment, lot_ledger,
)
from cpdi.engine.schedule import AccrualSchedule
from cpdi.engine.validation import DEFAULT_TOLERANCE_PER_1000, ScheduleValidation, validate_schedule
from cpdi.model import Instrument, Lot, PaymentKind
from cpdi.problems import InputError, Problem
from cpdi.readers import Portfolio, read_portfolio


def load(path) -> Portfolio:
    """Read and validate a folder of CSV files or an .xlsx workbook (formats.md).  Problems are
    collected on ``portfolio.problems``, never raised."""
    return read_portfolio(path)


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
    """Build and validate every instrument's schedule (spec §3, §8)."""
    accepted = set(accept_residual)
    books = {}
    for instrument_id, instrument in portfolio.instruments.items():
        report = validate_schedule(
            instrument, tolerance_per_1000,
            True if instrument_id in accepted else None,
        )
        schedule = AccrualSchedule(instrument) if report.structurally_valid else None
        books[instrument_id] = InstrumentBook(
            instrument, schedule, report, actual_payments(portfolio, instrument_id)
        )
    return books


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
    """Spec §8 for every instrument."""
    books = instrument_books(portfolio, tolerance_per_1000, accept_residual)
    return {iid: book.validation for iid, book in books.items()}


SCHEDULE_COLUMNS = (
    "period", "period_start", "period_end", "days", "year_fraction", "rate",
    "adjusted_issue_price_start", "interest", "daily_portion", "projected_payment",
    "payment_type", "adjusted_issue_price_end",
)


def schedule_frame(portfolio_or_instrument, instrument_id: str | None = None) -> pd.DataFrame:
    """The per-period accrual table of spec §3, per unit of principal."""
    instrument = _instrument(portfolio_or_instrument, instrument_id)
    schedule = AccrualSchedule(instrument)
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
    """Interest per unit of principal for each calendar year, for a holder from issue."""
    instrument = _instrument(portfolio_or_instrument, instrument_id)
    years = AccrualSchedule(instrument).interest_by_calendar_year()
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
            "instruments", None, "instrument_id", f"no usable instrument {instrument_id!r}",
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
        """The results ledger as a DataFrame, formats.md's columns in order."""
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
    return Problem(_lot_file(portfolio), _lot_row(portfolio, lot), None,
                   f"cannot compute lot {lot.lot_id}: {error}", "", **ids)


def unusable_schedule_problem(portfolio: Portfolio, book: InstrumentBook, lot: Lot) -> Problem:
    report = book.validation
    files = portfolio.file_names
    if not report.structurally_valid:
        what = "; ".join(report.problems)
        fix = "correct the schedule rows"
    else:
        what = (
            f"the projected payment schedule does not produce the comparable yield (final AIP "
            f"{report.final_adjusted_issue_price:+.4f}, PV {report.present_value:.4f} vs issue "
            f"price {report.issue_price:.4f})"
        )
        fix = "correct the schedule (see cpdi validate) or accept the residual explicitly"
    return Problem(
        files.get("schedule", "schedule"), None, "projected_payment",
        f"lot {lot.lot_id} not computed: instrument {book.instrument.instrument_id}: {what}", fix,
        holder_id=lot.holder_id, lot_id=lot.lot_id, instrument_id=lot.instrument_id,
    )


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
    engine cannot compute are reported in ``problems``; the rest are computed.  ``on_lot``, if
    given, is called once per lot (progress)."""
    books = books if books is not None else instrument_books(portfolio, tolerance_per_1000, accept_residual)
    result = LedgerResult(through_year, books=books)
    result.problems.extend(portfolio.problems)
    for lot in portfolio.lots if lots is None else lots:
        if on_lot is not None:
            on_lot()
        if lot.acquisition_date > date(through_year, 12, 31):
            continue
        book = books.get(lot.instrument_id)
        if book is None:  # the readers only pass lots on known instruments
            continue
        if book.schedule is None or not book.validation.usable:
            result.problems.append(unusable_schedule_problem(portfolio, book, lot))
            continue
        try:
            result.ledgers.append(compute_lot(book, lot, through_year))
        except (MissingContingentPayment, AllocationError, ValueError, ZeroDivisionError) as error:
            result.problems.append(lot_problem(portfolio, book, lot, error))
    return result

"""Reading and validating a whole input: :func:`read_portfolio` (docs/formats.md, "Input").

Every cell is read by its column's declaration (:mod:`cpdi.readers.columns`) and every row is
checked against docs/formats.md and the method's conventions; **every** problem is collected,
each naming the file, row and column, the bad value, what is wrong and what would fix it.
Nothing is raised for bad data: a caller gets a :class:`Portfolio` holding what is usable and
the list of problems, so a batch can carry on with every lot that is not affected.

What makes something unusable (convention ours):

* An **instrument** with any problem on its row in instruments, on any of its schedule rows or
  on any of its payments rows is left out of ``Portfolio.instruments``: its numbers would be
  wrong.  Lots of it are rejected, pointing at the first problem.
* A **lot** with any problem on its row is left out of ``Portfolio.lots`` and listed in
  ``Portfolio.rejected_lots``; every other lot still loads.  A lot id used twice rejects every
  row with that id.  A lot with no lot_id is keyed by its place, e.g. ``"lots.csv row 7"``.
* **Trades** (transactions.csv) give lots (:mod:`cpdi.readers.transactions`), read after
  lots.csv's: a problem on a trade row or in the trades together (a sell of more than is held)
  stops every lot of that holder and note; a derived lot is then checked as a typed lot, and
  refused alone, its problems reported on the trade rows it came from.
* A **holder** with a problem on its row in holders.csv is left out of ``Portfolio.holders``,
  and lots of that holder are rejected.  Without a holders file any holder_id is fine.
* A **broker figure** (``broker_1099``) with a problem is left out of ``Portfolio.broker_1099``
  alone (the same figure on two rows: both).  Its problem names no holder, lot or instrument:
  those say whose computation a problem stops, and a figure to reconcile stops none.
* A table missing a required column is reported once (row ``None``) and its rows are not read.

Checks that are not made here: contiguity of the schedule and its maturity (the engine's
validation, method §8), and contingent payments with no actual row (they depend on the
reporting year; the ledger reports them).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from cpdi.engine.daycount import AmbiguousDayCount, DayCount
from cpdi.model import (
    FIRST_TAX_YEAR,
    LAST_TAX_YEAR,
    ActualPayment,
    BasisAllocationMethod,
    BasisReported,
    DispositionKind,
    BrokerFigure,
    ComparableYield,
    DailyPortionBasis,
    FilerType,
    Holder,
    Instrument,
    IssuerAccrual,
    Lot,
    PaymentKind,
    PaymentType,
    ProjectedPayment,
)
from cpdi.problems import Problem
from cpdi.readers.columns import (
    BROKER_1099,
    BROKER_BOXES,
    HOLDERS,
    INSTRUMENTS,
    ISSUER_ACCRUALS,
    LOTS,
    PAYMENTS,
    REQUIRED_TABLES,
    SCHEDULE,
    LOT_TABLES,
    TABLES,
    TRANSACTIONS,
    EXTRA_COLUMNS_CARRIED,
    Column,
)
from cpdi.readers.tables import (
    RawInput, RawRow, RawTable, cell_text, header_key, is_blank, read_tables,
)
from cpdi.readers.transactions import (
    BUY, SELL, BlotterProblem, DerivedLot, Trade, derive_lots, lot_values, value_text,
)

MAX_CELL_TEXT = 32_767
"""The longest text a cell may hold: Excel's limit, so whatever is read can be written to a
workpaper whole (a longer name would be cut there)."""

MESSAGE_VALUE_LIMIT = 60
"""How much of a bad cell a message quotes."""

MAX_YIELD_PCT = 100.0
"""Convention ours: a comparable yield or holder yield above 100% a year is refused as a typing
slip (basis points, or a yield typed twice); no contingent payment debt instrument prices there."""

PRICE_TYPED_AS_COST = 0.02
"""Convention ours: a lot's cost (or proceeds) under 2% of its face amount and no more than 200
dollars is read as a price per 100 of face typed into a dollar column (98.5 for $246,250)."""

MAX_AMOUNT = 1e15
"""Convention ours: no amount an input holds (dollars of a lot, an amount per unit, a yield) is
more than a thousand trillion; a larger one is a typing slip, and figures built on 1e308 are
not numbers a workpaper can hold."""

MAX_UNITS = 1e12
"""Convention ours: a lot of more than a trillion units (a unit principal typed as 1e-320, say)
is refused rather than computed with figures no float holds."""

UNIT_MULTIPLE_TOLERANCE = 1e-9
"""Relative tolerance for "principal_amount is a whole multiple of unit_principal"."""

TRADE_SETTLEMENT_DAYS = 31
"""Convention ours: a trade settles within 31 days of its trade date (a few business days on a
market; longer for a new issue's pricing date before its issue date).  A trade date further
from the settlement date is a typing slip (method §12)."""

OPENING_COLUMNS = ("opening_year", "opening_adjusted_basis", "opening_carryforward",
                   "prior_interest_inclusions", "prior_ordinary_losses")
"""A lot's opening balances (method §14): all five, or none."""


@dataclass(frozen=True)
class Portfolio:
    """Everything usable in one ``INPUT``, and every problem found in it.

    ``instruments`` holds only usable instruments, each with its schedule rows attached as
    ``projected_payments`` sorted by period_start; ``payments`` maps each of them to its actual
    payments sorted by date (a redemption after the scheduled payment of the same day);
    ``lots`` holds the lots with no problem, in file order; ``rejected_lots`` maps each other
    lot_id to its problems; ``holders`` holds the holders with no problem.
    """

    source: str
    instruments: dict[str, Instrument]
    payments: dict[str, tuple[ActualPayment, ...]]
    lots: tuple[Lot, ...]
    holders: dict[str, Holder]
    problems: tuple[Problem, ...]
    rejected_lots: dict[str, tuple[Problem, ...]] = field(default_factory=dict)
    file_names: dict[str, str] = field(default_factory=dict, compare=False)  # table → "lots.csv" / "b.xlsx[lots]"
    lot_rows: dict[str, int] = field(default_factory=dict, compare=False)  # lot_id → its row, for later problems
    instrument_rows: dict[str, int] = field(default_factory=dict, compare=False)  # instrument_id → its row
    schedule_rows: dict[tuple[str, date], int] = field(default_factory=dict, compare=False)  # (id, period_start) → row
    tables_present: frozenset[str] = field(default_factory=frozenset, compare=False)  # tables found in the input
    issuer_accruals: dict[str, tuple[IssuerAccrual, ...]] = field(default_factory=dict)  # id → rows by date
    broker_1099: tuple[BrokerFigure, ...] = ()  # the broker's figures without a problem, in file order
    # lots derived from transactions.csv: lot_id → the file their rows are in (lot_rows gives the
    # row of the buy); a lot of lots.csv is not listed
    lot_files: dict[str, str] = field(default_factory=dict, compare=False)
    trade_count: int = field(default=0, compare=False)  # the data rows of transactions.csv read

    @property
    def derived_lots(self) -> tuple[Lot, ...]:
        """The lots derived from transactions.csv (in ``lots``, after lots.csv's)."""
        return tuple(lot for lot in self.lots if lot.lot_id in self.lot_files)

    @property
    def ok(self) -> bool:
        """No problem anywhere in the input."""
        return not self.problems


def read_portfolio(path: str | Path) -> Portfolio:
    """Read, parse and validate the input at ``path`` (a folder of CSV files or an ``.xlsx``
    workbook; docs/formats.md), collecting every problem.

    Raises :class:`cpdi.problems.InputError` only when ``path`` does not exist or is neither a
    folder nor an ``.xlsx`` workbook; anything wrong inside it is a ``Problem``.
    """
    return _PortfolioReader(read_tables(path)).read()


# --- cells -----------------------------------------------------------------------------------


class _BadCell(ValueError):
    """A cell that cannot be read as its column's kind: what is wrong and what would fix it."""

    def __init__(self, message: str, fix: str):
        super().__init__(message)
        self.message = message
        self.fix = fix


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_THOUSANDS_DECIMAL = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d*)?")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+(?:\.0*)?")
_CURRENCY_SIGNS = "$€£"
_NOT_FINITE = {"nan", "inf", "infinity", "-inf", "+inf", "-infinity", "+infinity", "-nan"}
_TRUE = {"yes", "true", "1"}
_FALSE = {"no", "false", "0"}


def _num(value: float) -> str:
    """A number in a message exactly as it was read (the shortest text that reads back as the
    same float: ``100.0000001``, never rounded to ``100``); whole numbers without ``.0``."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _or_list(values: tuple[str, ...] | list[str]) -> str:
    """``a, b, c or d``."""
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " or " + values[-1]


def _read_text(cell: Any, col: Column) -> str:
    return cell_text(cell)


def _read_date(cell: Any, col: Column) -> date:
    """ISO ``YYYY-MM-DD`` text, or a real Excel date (docs/formats.md)."""
    if isinstance(cell, date):
        return cell
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        raise _BadCell(
            "is a number, not a date",
            "format the cell as a date or type the date as YYYY-MM-DD",
        )
    text = cell_text(cell)
    if not _ISO_DATE.fullmatch(text):
        raise _BadCell(
            "is not a date in YYYY-MM-DD form", "write the date as YYYY-MM-DD, e.g. 2024-01-15"
        )
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _BadCell("is not a date: there is no such day", "check the month and day") from None


def _read_decimal(cell: Any, col: Column) -> float:
    """A plain decimal; ``1,000.00`` with thousands separators is accepted, a currency sign is
    not (docs/formats.md); NaN and infinities are not numbers an input can hold."""
    if isinstance(cell, bool):
        raise _BadCell("is TRUE/FALSE, not a number", "enter a plain number such as 1000.00")
    if isinstance(cell, date):
        raise _BadCell("is a date, not a number", "enter a plain number such as 1000.00")
    if isinstance(cell, (int, float)):
        value = float(cell)
    else:
        text = cell_text(cell)
        if _PLAIN_DECIMAL.fullmatch(text):
            value = float(text)
        elif _THOUSANDS_DECIMAL.fullmatch(text):
            value = float(text.replace(",", ""))
        elif any(sign in text for sign in _CURRENCY_SIGNS):
            raise _BadCell(
                "has a currency sign",
                "remove the currency sign and write a plain number such as 1000.00",
            )
        elif text.endswith("%"):
            raise _BadCell("has a % sign", "remove the % sign: write 5.46 for 5.46%")
        elif text.lower() in _NOT_FINITE:
            raise _BadCell("is not a finite number", "enter a plain number such as 1000.00")
        elif text.startswith("(") and text.endswith(")"):
            raise _BadCell(
                "is in parentheses", "write a negative amount with a minus sign, e.g. -125.00"
            )
        else:
            raise _BadCell("is not a number", "enter a plain number such as 1000.00")
    if not math.isfinite(value):
        raise _BadCell("is not a finite number", "enter a plain number such as 1000.00")
    if abs(value) > MAX_AMOUNT:
        raise _BadCell(f"is beyond any amount cpdi computes (at most {MAX_AMOUNT:,.0f})",
                       "check the number of digits")
    return value


def _read_int(cell: Any, col: Column) -> int:
    """A whole number (``2`` or ``2.0``), one of ``col.choices`` when the column has them."""
    if isinstance(cell, float) and cell.is_integer():
        value = int(cell)
    elif isinstance(cell, int) and not isinstance(cell, bool):
        value = cell
    else:
        text = cell_text(cell)
        if not _WHOLE_NUMBER.fullmatch(text):
            raise _BadCell(_choices_message(col) if col.choices else "is not a whole number",
                           _choices_fix(col) if col.choices else "enter a whole number such as 2")
        value = int(float(text))
    if col.choices and str(value) not in col.choices:
        raise _BadCell(_choices_message(col), _choices_fix(col))
    return value


def _choices_message(col: Column) -> str:
    if col.name == "frequency":
        return f"frequency must be {_or_list(col.choices)} accrual periods per year"
    return f"{col.name} must be {_or_list(col.choices)}"


def _choices_fix(col: Column) -> str:
    if col.required:
        return "write one of these"
    return "write one of these, or leave it blank for the default"


_CHOICE_ALIASES: dict[str, Callable[[str], str]] = {
    "day_count": lambda text: DayCount.parse(text).value,  # market aliases (daycount.py)
}
"""Choice columns that accept more spellings than their canonical choices."""


def _read_choice(cell: Any, col: Column) -> str:
    """One of ``col.choices`` (case-insensitive; ``straight line`` reads ``straight_line``),
    returned in its canonical spelling."""
    text = cell_text(cell)
    alias = _CHOICE_ALIASES.get(col.name)
    if alias is not None:
        try:
            return alias(text)
        except AmbiguousDayCount as error:  # ACT/365: say which two it may mean (method §2)
            raise _BadCell(str(error), "write the one the issuer's document means") from None
        except ValueError:
            raise _BadCell(_choices_message(col), _choices_fix(col)) from None
    key = _choice_key(text)
    for choice in col.choices:
        if _choice_key(choice) == key:
            return choice
    raise _BadCell(_choices_message(col), _choices_fix(col))


def _choice_key(text: str) -> str:
    """A choice as matched: lower case, blanks and hyphens as ``_`` (``Straight line`` and
    ``straight_line`` alike; ``1099 oid`` and ``1099-OID`` alike)."""
    return "_".join(text.lower().replace("-", " ").split())


def _read_bool(cell: Any, col: Column) -> bool:
    """yes/no, true/false, 1/0 (blank = no)."""
    if isinstance(cell, bool):
        return cell
    text = cell_text(cell).lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise _BadCell(f"{col.name} must be yes or no", "write yes, no, true, false, 1 or 0")


_READERS: dict[str, Callable[[Any, Column], Any]] = {
    "text": _read_text,
    "date": _read_date,
    "decimal": _read_decimal,
    "int": _read_int,
    "choice": _read_choice,
    "bool": _read_bool,
}
"""How each column kind (columns.KINDS) is read."""


class _Row:
    """One data row being read: parses its cells by their declarations and records its
    problems, each carrying the row's holder, lot and instrument ids."""

    def __init__(
        self,
        table: RawTable,
        raw: RawRow,
        sink: list[Problem],
        *,
        holder_id: str | None = None,
        lot_id: str | None = None,
        instrument_id: str | None = None,
    ):
        self.file = table.file
        self.row = raw.row
        self.raw = raw
        self.sink = sink
        self.problems: list[Problem] = []
        self.ids = {"holder_id": holder_id, "lot_id": lot_id, "instrument_id": instrument_id}

    def report(self, column: str | None, message: str, fix: str) -> Problem:
        """Record a problem with ``column`` (``None``: the whole row); the value shown is the
        cell's text, if any (a long one cut to its first 60 characters, marked "…")."""
        value = cell_text(self.raw.cell(column)) if column is not None else ""
        if len(value) > MESSAGE_VALUE_LIMIT:
            value = value[:MESSAGE_VALUE_LIMIT] + f"… ({len(value):,} characters)"
        problem = Problem(self.file, self.row, column, message, fix, value or None, **self.ids)
        self.problems.append(problem)
        self.sink.append(problem)
        return problem

    def given(self, name: str) -> bool:
        """Does the row have anything in column ``name``?"""
        return not is_blank(self.raw.cell(name))

    def parse(self, columns: tuple[Column, ...]) -> dict[str, Any]:
        """Every declared column's value: parsed, or ``None`` when blank or unreadable (a blank
        required cell and an unreadable cell are reported)."""
        values: dict[str, Any] = {}
        for col in columns:
            cell = self.raw.cell(col.name)
            if is_blank(cell):
                if col.required:
                    self.report(
                        col.name, f"{col.name} is blank", f"enter the {col.name}; it is required"
                    )
                values[col.name] = None
                continue
            if isinstance(cell, str) and len(cell) > MAX_CELL_TEXT:
                self.report(col.name, f"is {len(cell):,} characters long; a cell holds at most "
                            f"{MAX_CELL_TEXT:,} (Excel's limit), and nothing is cut silently",
                            f"shorten the {col.name}")
                values[col.name] = None
                continue
            try:
                values[col.name] = _READERS[col.kind](cell, col)
            except _BadCell as bad:
                self.report(col.name, bad.message, bad.fix)
                values[col.name] = None
        return values


# --- the portfolio ---------------------------------------------------------------------------


@dataclass
class _InstrumentDraft:
    """What is known of one instrument while the tables are read (its first row)."""

    row: int
    values: dict[str, Any]
    schedule: list[ProjectedPayment] = field(default_factory=list)
    schedule_rows: int = 0
    schedule_complete: bool = True
    payments: list[ActualPayment] = field(default_factory=list)
    redemption: date | None = None
    redemption_row: int | None = None
    first_problem: Problem | None = None


class _PortfolioReader:
    """Reads the tables in dependency order (instruments, schedule, payments, holders, lots),
    each check using what the earlier tables established."""

    def __init__(self, raw: RawInput):
        self.raw = raw
        self.tables = raw.tables
        self.problems: list[Problem] = list(raw.problems)
        self.drafts: dict[str, _InstrumentDraft] = {}
        self.holders: dict[str, Holder] = {}
        self.holder_rows: dict[str, int] = {}
        self.holder_problems: dict[str, Problem] = {}
        self.holders_checked = False
        self.lot_rows: dict[str, int] = {}
        self.lot_owners: dict[str, tuple[str, str, int]] = {}  # lot_id → holder, instrument, row
        self.lots_checked = False  # a lots table was read: broker figures are checked against it
        self.schedule_rows: dict[tuple[str, date], int] = {}
        self.lot_files: dict[str, str] = {}  # lot_id → transactions file, for derived lots
        self.derived_ids: set[str] = set()  # every lot id derived from the trades, even refused
        self.trade_count = 0

    def read(self) -> Portfolio:
        self._instruments()
        self._schedule()
        self._payments()
        issuer_accruals = self._issuer_accruals()
        self._holders()
        lots, rejected = self._transactions(*self._lots())
        broker_1099 = self._broker_1099()
        instruments: dict[str, Instrument] = {}
        payments: dict[str, tuple[ActualPayment, ...]] = {}
        for iid, draft in self.drafts.items():
            if draft.first_problem is not None:
                continue
            instruments[iid] = self._instrument(iid, draft)
            payments[iid] = tuple(sorted(
                draft.payments, key=lambda p: (p.date, p.kind is PaymentKind.REDEMPTION)
            ))
        return Portfolio(
            source=self.raw.source,
            instruments=instruments,
            payments=payments,
            lots=lots,
            holders=self.holders,
            problems=tuple(self.problems),
            rejected_lots=rejected,
            file_names={name: table.file for name, table in self.tables.items()},
            lot_rows=self.lot_rows,
            instrument_rows={iid: draft.row for iid, draft in self.drafts.items()},
            schedule_rows=self.schedule_rows,
            tables_present=frozenset(n for n, t in self.tables.items() if t.present),
            issuer_accruals={iid: rows for iid, rows in issuer_accruals.items() if iid in instruments},
            broker_1099=broker_1099,
            lot_files=self.lot_files,
            trade_count=self.trade_count,
        )

    # -- shared helpers --

    def _rows(self, name: str) -> tuple[RawRow, ...]:
        """The data rows of table ``name``, or none when the table is absent, empty or lacks a
        required column (each missing column reported once, row ``None``)."""
        table = self.tables[name]
        if not table.present:
            return ()
        if table.header_row is None:
            # an empty file or sheet is never read as "nothing here": leave it out instead
            self.problems.append(Problem(
                table.file, None, None, "the file is empty" if table.file.endswith(".csv")
                else "the sheet is empty",
                fix="add the header row and the data rows (see docs/formats.md)"
                + ("" if name in REQUIRED_TABLES else ", or remove it if there are none"),
            ))
            return ()
        keys = set(table.keys)
        declared = {c.name for c in TABLES[name]}
        unknown = [h for h in table.headers if header_key(h) not in declared]
        missing = [col for col in TABLES[name] if col.required and col.name not in keys]
        for col in missing:
            fix = f"add a column headed {col.name}"
            close = difflib.get_close_matches(col.name, [header_key(u) for u in unknown], n=1)
            if close:
                fix += f" (is {close[0]!r} a misspelling of it?)"
            self.problems.append(Problem(
                table.file, None, col.name, f"required column {col.name} is missing", fix=fix,
            ))
        if name not in EXTRA_COLUMNS_CARRIED:
            self._misnamed_optional_columns(table, unknown, keys)
        if not missing and not table.rows and name == "instruments":
            self.problems.append(Problem(
                table.file, None, None, "there are no instruments: nothing to check or compute",
                fix="add one row per instrument under the header row",
            ))
        return () if missing else table.rows

    def _misnamed_optional_columns(self, table: RawTable, unknown: list[str], keys: set[str]) -> None:
        """An unknown heading that looks like an absent optional column (``sale_proceeds`` for
        proceeds, ``holder_yield`` for holder_yield_pct) is an error: read as an extra column,
        its values would be silently ignored and the lot computed as if they were blank."""
        absent = [c.name for c in TABLES[table.name] if not c.required and c.name not in keys]
        for header in unknown:
            key = header_key(header)
            hits = difflib.get_close_matches(key, absent, n=1, cutoff=0.75) or [
                name for name in absent
                if min(len(name), len(key)) >= 5 and (name in key or key in name)]
            if hits:
                self.problems.append(Problem(
                    table.file, table.header_row, header,
                    f"column {header!r} is not one cpdi reads, and {hits[0]} is absent: its "
                    f"values would be ignored", fix=f"rename the column {hits[0]} if that is what "
                    "it holds, or remove it (see docs/formats.md)",
                ))

    def _flag_instrument(self, iid: str | None, row: _Row) -> None:
        """Mark instrument ``iid`` unusable when ``row`` (of instruments, schedule or
        payments) had a problem; remember the first one to point lots at it."""
        draft = self.drafts.get(iid or "")
        if draft is not None and row.problems and draft.first_problem is None:
            draft.first_problem = row.problems[0]

    def _unknown_instrument(self, row: _Row, iid: str) -> None:
        instruments = self.tables["instruments"].file
        row.report(
            "instrument_id", f"instrument {iid} is not in {instruments}",
            f"add it to {instruments} or correct the instrument_id",
        )

    # -- instruments.csv --

    def _instruments(self) -> None:
        """One row per instrument (docs/formats.md "instruments.csv")."""
        table = self.tables["instruments"]
        for raw in self._rows("instruments"):
            iid = raw.text("instrument_id")
            row = _Row(table, raw, self.problems, instrument_id=iid or None)
            v = row.parse(INSTRUMENTS)
            issue, maturity = v["issue_date"], v["maturity_date"]
            if issue is not None and maturity is not None and not issue < maturity:
                row.report(
                    "maturity_date",
                    f"maturity date {maturity} is not after the issue date {issue}",
                    "check the issue and maturity dates",
                )
            for name in ("issue_price", "unit_principal"):
                if v[name] is not None and v[name] <= 0:
                    row.report(
                        name, f"{name} must be greater than 0",
                        "enter it per unit of principal, e.g. 1000" if name == "issue_price"
                        else "enter the principal that schedule amounts are quoted per, e.g. 1000",
                    )
            cy = v["comparable_yield_pct"]
            if cy is not None and cy <= -100:
                row.report(
                    "comparable_yield_pct", "comparable yield must be above -100%",
                    "enter the yield in percent, e.g. 5.46 for 5.46%",
                )
            elif cy is not None and cy > MAX_YIELD_PCT:
                row.report(
                    "comparable_yield_pct",
                    f"a comparable yield of {_num(cy)}% a year is not plausible (cpdi refuses more "
                    f"than {MAX_YIELD_PCT:g}%)",
                    f"enter the yield in percent: if {_num(cy)} is basis points, write {_num(cy / 100)}",
                )
            if not iid:
                continue
            first = self.drafts.get(iid)
            if first is not None:
                row.report(
                    "instrument_id", f"instrument {iid} appears on rows {first.row} and {row.row}",
                    "keep one row per instrument",
                )
                if first.first_problem is None:
                    first.first_problem = row.problems[-1]
                continue
            self.drafts[iid] = _InstrumentDraft(raw.row, v)
            self._flag_instrument(iid, row)

    def _instrument(self, iid: str, draft: _InstrumentDraft) -> Instrument:
        """The usable instrument, its schedule sorted by period_start; the comparable yield
        travels with its day count and frequency."""
        v = draft.values
        return Instrument(
            instrument_id=iid,
            issue_date=v["issue_date"],
            maturity_date=v["maturity_date"],
            issue_price=v["issue_price"],
            unit_principal=v["unit_principal"],
            comparable_yield=ComparableYield(
                v["comparable_yield_pct"] / 100.0, DayCount(v["day_count"]), v["frequency"]
            ),
            projected_payments=tuple(sorted(draft.schedule, key=lambda p: p.period_start)),
            description=v["description"] or "",
            accept_residual=bool(v["accept_residual"]),
            daily_portion_basis=DailyPortionBasis(
                v.get("daily_portion_basis") or DailyPortionBasis.CALENDAR_DAYS.value),
            source_document=v.get("source_document") or "",
            source_page=v.get("source_page") or "",
        )

    # -- schedule.csv --

    def _schedule(self) -> None:
        """The projected payment schedule, one row per accrual period (docs/formats.md
        "schedule.csv").  Contiguity and maturity are the engine's validation (method §8)."""
        table = self.tables["schedule"]
        for raw in self._rows("schedule"):
            iid = raw.text("instrument_id")
            row = _Row(table, raw, self.problems, instrument_id=iid or None)
            v = row.parse(SCHEDULE)
            draft = self.drafts.get(iid) if iid else None
            if iid and draft is None:
                self._unknown_instrument(row, iid)
            if draft is None:
                continue
            draft.schedule_rows += 1
            if v["projected_payment"] is not None and v["projected_payment"] < 0:
                row.report(
                    "projected_payment",
                    f"a projected payment cannot be negative ({_num(v['projected_payment'])}): the "
                    "issuer pays the holder",
                    "enter the projected amount per unit of principal, 0 or more",
                )
            if row.problems:
                draft.schedule_complete = False
                self._flag_instrument(iid, row)
                continue
            self.schedule_rows.setdefault((iid, v["period_start"]), raw.row)
            draft.schedule.append(ProjectedPayment(
                v["period_start"], v["period_end"], v["projected_payment"],
                PaymentType(v["payment_type"] or PaymentType.CONTINGENT.value),
            ))
        schedule = self.tables["schedule"].file
        instruments = self.tables["instruments"]
        for iid, draft in self.drafts.items():
            if draft.schedule_rows == 0:
                problem = Problem(
                    instruments.file, draft.row, None,
                    f"instrument {iid} has no rows in {schedule}",
                    fix=f"add its projected payment schedule to {schedule}", instrument_id=iid,
                )
                self.problems.append(problem)
                if draft.first_problem is None:
                    draft.first_problem = problem

    # -- issuer_accruals.csv --

    def _issuer_accruals(self) -> dict[str, tuple[IssuerAccrual, ...]]:
        """The issuer's published OID table, as printed (docs/formats.md "issuer_accruals.csv";
        method §11).  It is a reference to compare with, not an input of the accruals: a bad
        row is reported and left out, and never makes the instrument unusable."""
        table = self.tables["issuer_accruals"]
        rows: dict[str, list[IssuerAccrual]] = {}
        for raw in self._rows("issuer_accruals"):
            iid = raw.text("instrument_id")
            row = _Row(table, raw, self.problems, instrument_id=iid or None)
            v = row.parse(ISSUER_ACCRUALS)
            draft = self.drafts.get(iid) if iid else None
            if iid and draft is None:
                self._unknown_instrument(row, iid)
            start, end = v["period_start"], v["period_end"]
            if start is not None and end is not None and end <= start:
                row.report("period_end", f"period_end {end} is not after period_start {start}",
                           "enter the row's dates as printed: it covers the days after "
                           "period_start through period_end")
            if draft is not None and start is not None and end is not None and not row.problems:
                issue, maturity = draft.values["issue_date"], draft.values["maturity_date"]
                if issue is not None and maturity is not None and (start < issue or end > maturity):
                    row.report("period_start" if start < issue else "period_end",
                               f"the row {start} → {end} is outside the note's life "
                               f"({issue} → {maturity})",
                               "check the dates against the issuer's table and instruments.csv")
            if draft is None or row.problems:
                continue
            text = raw.text("accrued_per_unit").replace(",", "").strip()
            decimals = len(text.split(".", 1)[1]) if "." in text and "e" not in text.lower() else 0
            rows.setdefault(iid, []).append(IssuerAccrual(
                iid, start, end, v["accrued_per_unit"], decimals, raw.row))
        ordered = {}
        for iid, found in rows.items():
            found.sort(key=lambda r: (r.period_start, r.period_end))
            for before, after in zip(found, found[1:]):
                if after.period_start < before.period_end:
                    self.problems.append(Problem(
                        table.file, after.row, "period_start",
                        f"the row {after.period_start} → {after.period_end} overlaps row "
                        f"{before.row} ({before.period_start} → {before.period_end})",
                        "each day belongs to one row: enter the issuer's rows as printed",
                        instrument_id=iid,
                    ))
            ordered[iid] = tuple(found)
        return ordered

    # -- payments.csv --

    def _payments(self) -> None:
        """What was actually paid, per unit of principal (docs/formats.md "payments.csv")."""
        table = self.tables["payments"]
        seen: dict[tuple[str, date, str], int] = {}
        scheduled_rows: list[tuple[_InstrumentDraft, str, date, RawRow]] = []
        for raw in self._rows("payments"):
            iid = raw.text("instrument_id")
            row = _Row(table, raw, self.problems, instrument_id=iid or None)
            v = row.parse(PAYMENTS)
            draft = self.drafts.get(iid) if iid else None
            if iid and draft is None:
                self._unknown_instrument(row, iid)
            kind = PaymentKind(v["kind"] or PaymentKind.SCHEDULED.value)
            kind_read = v["kind"] is not None or not row.given("kind")
            amount = v["amount"]
            if amount is not None and kind_read:
                if kind is PaymentKind.REDEMPTION and amount <= 0:
                    row.report(
                        "amount", f"a redemption repays principal: {_num(amount)} is not an amount "
                        "an issuer call pays", "enter the redemption price per unit of principal "
                        "(e.g. 1000), or delete the row if the note was not called",
                    )
                elif amount < 0:
                    row.report(
                        "amount", f"an actual payment cannot be negative ({_num(amount)}): the issuer "
                        "pays the holder", "enter the amount paid per unit of principal, 0 or more",
                    )
            when = v["date"]
            if iid and when is not None and kind_read:
                key = (iid, when, kind.value)
                if key in seen:
                    row.report(
                        None, f"{kind.value} payment of {iid} on {when} appears on rows "
                        f"{seen[key]} and {row.row}", "keep one row per instrument, date and kind",
                    )
                else:
                    seen[key] = row.row
                if draft is not None:
                    self._check_payment_date(row, draft, iid, when, kind)
            if v["fixing_date"] is not None and kind_read:
                self._check_fixing_date(row, draft, iid, when, kind, v["fixing_date"])
            if draft is None:
                continue
            if row.problems:
                self._flag_instrument(iid, row)
                continue
            draft.payments.append(ActualPayment(iid, when, v["amount"], kind, v["fixing_date"]))
            if kind is PaymentKind.SCHEDULED:
                scheduled_rows.append((draft, iid, when, raw))
        for draft, iid, when, raw in scheduled_rows:  # once every redemption is known
            if draft.redemption is not None and when > draft.redemption:
                row = _Row(table, raw, self.problems, instrument_id=iid)
                row.report(
                    "date", f"a scheduled payment after {iid}'s redemption on "
                    f"{draft.redemption} (payments row {draft.redemption_row}): the note no "
                    "longer exists then", "check the call date, or delete this row",
                )
                self._flag_instrument(iid, row)

    def _check_payment_date(
        self, row: _Row, draft: _InstrumentDraft, iid: str, when: date, kind: PaymentKind
    ) -> None:
        """A scheduled payment pays a period_end; a redemption (issuer call, method §7) falls
        strictly between issue and maturity, once per instrument."""
        issue, maturity = draft.values["issue_date"], draft.values["maturity_date"]
        if kind is PaymentKind.SCHEDULED:
            period_ends = {p.period_end for p in draft.schedule}
            if draft.schedule_complete and period_ends and when not in period_ends:
                row.report(
                    "date", f"not a period_end of {iid}'s schedule",
                    "a scheduled payment is dated on the period_end it pays; for an issuer call "
                    "use kind redemption",
                )
            return
        if maturity is not None and when >= maturity:
            row.report(
                "date", f"redemption on or after the maturity date {maturity}: a payment at "
                "maturity is a scheduled row", "enter it with kind scheduled on the maturity date",
            )
        elif issue is not None and when <= issue:
            row.report(
                "date", f"redemption on or before the issue date {issue}",
                "check the call date",
            )
        if draft.redemption_row is not None:
            row.report(
                "kind", f"instrument {iid} has a second redemption (the first is on row "
                f"{draft.redemption_row})", "an instrument is redeemed once: keep the real call",
            )
        else:
            draft.redemption, draft.redemption_row = when, row.row

    @staticmethod
    def _check_fixing_date(row: _Row, draft: _InstrumentDraft | None, iid: str, when: date | None,
                           kind: PaymentKind, fixed_on: date) -> None:
        """A ``fixing_date`` is the day a scheduled contingent payment's amount became fixed:
        after the issue date and before the payment (method §13, (b)(9)(ii))."""
        if kind is not PaymentKind.SCHEDULED:
            row.report(
                "fixing_date", "a fixing_date belongs to a scheduled contingent payment, not a "
                "redemption", "clear fixing_date on the redemption row",
            )
            return
        if when is not None and fixed_on > when:
            row.report(
                "fixing_date", f"fixed on {fixed_on}, after the payment date {when}",
                "enter the day the amount became fixed, on or before the payment date",
            )
        if draft is None:
            return
        issue = draft.values.get("issue_date")
        if issue is not None and fixed_on <= issue:
            row.report(
                "fixing_date", f"fixed on {fixed_on}, on or before the issue date {issue}: a "
                "payment fixed at issue is a fixed payment", "enter it as payment_type fixed in "
                "the schedule and clear fixing_date",
            )
        if when is not None and draft.schedule_complete:
            row_of = {p.period_end: p for p in draft.schedule}
            projected = row_of.get(when)
            if projected is not None and projected.payment_type is PaymentType.FIXED:
                row.report(
                    "fixing_date", f"the schedule's payment of {iid} due {when} is a fixed "
                    "payment: only a contingent payment becomes fixed",
                    "clear fixing_date, or correct the schedule's payment_type",
                )

    # -- holders.csv --

    def _holders(self) -> None:
        """Optional holders: ``holder_id``, ``name``, ``tin`` and extra columns carried to the
        workpaper cover (docs/formats.md "holders.csv").  The tin stays text."""
        table = self.tables["holders"]
        rows = self._rows("holders")
        self.holders_checked = table.present and table.has_column("holder_id")
        extra = [(header, header_key(header)) for header in table.extra_headers()]
        for raw in rows:
            hid = raw.text("holder_id")
            row = _Row(table, raw, self.problems, holder_id=hid or None)
            v = row.parse(HOLDERS)
            for header, key in extra:
                if len(raw.text(key)) > MAX_CELL_TEXT:
                    row.report(key, f"is {len(raw.text(key)):,} characters long; a cell holds at "
                               f"most {MAX_CELL_TEXT:,} (Excel's limit), and nothing is cut silently",
                               f"shorten the {header}")
            if not hid:
                continue
            if hid in self.holder_rows:
                row.report(
                    "holder_id",
                    f"holder {hid} appears on rows {self.holder_rows[hid]} and {row.row}",
                    "keep one row per holder",
                )
                self.holders.pop(hid, None)
                self.holder_problems.setdefault(hid, row.problems[-1])
                continue
            self.holder_rows[hid] = row.row
            if row.problems:
                self.holder_problems[hid] = row.problems[0]
                continue
            self.holders[hid] = Holder(
                holder_id=hid,
                name=v["name"] or "",
                tin=v["tin"] or "",
                filer_type=FilerType(v["filer_type"] or "individual"),
                extra=tuple((header, raw.text(key)) for header, key in extra),
            )

    # -- lots.csv --

    def _lots(self) -> tuple[tuple[Lot, ...], dict[str, tuple[Problem, ...]]]:
        """One row per tax lot (docs/formats.md "lots.csv"; method §4 for the dates, §6 for the
        basis allocation)."""
        table = self.tables["lots"]
        self.lots_checked = table.present and table.header_row is not None and all(
            table.has_column(col.name) for col in LOTS if col.required)
        read: list[tuple[str, Lot | None, list[Problem]]] = []
        first_row: dict[str, int] = {}
        duplicated: set[str] = set()
        for raw in self._rows("lots"):
            lot_id, hid, iid = raw.text("lot_id"), raw.text("holder_id"), raw.text("instrument_id")
            row = _Row(
                table, raw, self.problems,
                holder_id=hid or None, lot_id=lot_id or None, instrument_id=iid or None,
            )
            v = row.parse(LOTS)
            if lot_id:
                if lot_id in first_row:
                    row.report(
                        "lot_id", f"lot {lot_id} appears on rows {first_row[lot_id]} and {row.row}",
                        "give each lot its own lot_id",
                    )
                    duplicated.add(lot_id)
                else:
                    first_row[lot_id] = row.row
                    self.lot_owners[lot_id] = (hid, iid, row.row)
            self._check_lot_holder(row, hid)
            self._check_lot(row, v, iid)
            key = lot_id or f"{table.file} row {raw.row}"
            lot = None
            if not row.problems:
                method = BasisAllocationMethod(v["basis_allocation"] or "proportional")
                lot = Lot(
                    holder_id=hid, lot_id=lot_id, instrument_id=iid,
                    principal_amount=v["principal_amount"],
                    acquisition_date=v["acquisition_date"],
                    cost_basis=v["cost_basis"],
                    disposition_date=v["disposition_date"],
                    proceeds=v["proceeds"],
                    basis_allocation=method,
                    holder_yield_pct=v["holder_yield_pct"],
                    allocate_to_maturity=v["allocate_to_maturity"],
                    basis_reported=BasisReported(v["basis_reported"]) if v["basis_reported"] else None,
                    acquisition_trade_date=v["acquisition_trade_date"],
                    disposition_trade_date=v["disposition_trade_date"],
                    disposition_kind=DispositionKind(v["disposition_kind"] or "sale"),
                    stock_fair_market_value=v["stock_fair_market_value"],
                    opening_year=v["opening_year"],
                    opening_adjusted_basis=v["opening_adjusted_basis"],
                    opening_carryforward=v["opening_carryforward"] or 0.0,
                    prior_interest_inclusions=v["prior_interest_inclusions"] or 0.0,
                    prior_ordinary_losses=v["prior_ordinary_losses"] or 0.0,
                )
            read.append((key, lot, row.problems))
            if lot is not None:
                self.lot_rows[lot_id] = raw.row
        lots: list[Lot] = []
        rejected: dict[str, list[Problem]] = {}
        for key, lot, problems in read:
            if lot is not None and key not in duplicated:
                lots.append(lot)
            else:
                rejected.setdefault(key, []).extend(problems)
        return tuple(lots), {key: tuple(problems) for key, problems in rejected.items()}

    def _check_lot_holder(self, row: _Row, hid: str) -> None:
        if not hid or not self.holders_checked:
            return
        holders = self.tables["holders"].file
        if hid not in self.holder_rows:
            row.report(
                "holder_id", f"holder {hid} is not in {holders}",
                f"add the holder to {holders} or correct the holder_id",
            )
        elif hid in self.holder_problems:
            first = self.holder_problems[hid]
            row.report(
                "holder_id", f"holder {hid} has input problems (see {first.file} row {first.row})",
                "fix the holder's row first",
            )

    def _check_lot(self, row: _Row, v: dict[str, Any], iid: str) -> None:
        """The lot's own consistency and its fit to its instrument."""
        draft = self._known_instrument(row, iid)
        iv = draft.values if draft is not None else {}
        issue, maturity = iv.get("issue_date"), iv.get("maturity_date")
        unit = iv.get("unit_principal")
        call = draft.redemption if draft is not None else None

        principal = v["principal_amount"]
        if principal is not None:
            if principal <= 0:
                row.report(
                    "principal_amount", "principal amount must be greater than 0",
                    "enter the face amount held, e.g. 250000",
                )
            elif unit is not None and unit > 0:
                units = principal / unit
                if not math.isfinite(units) or units > MAX_UNITS:
                    row.report(
                        "principal_amount",
                        f"principal amount {_num(principal)} is {_num(units)} units of {iid}'s "
                        f"unit principal {cell_text(unit)}: more than any note has",
                        f"check the principal amount and {iid}'s unit_principal (the principal "
                        "schedule amounts are quoted per, e.g. 1000)",
                    )
                elif abs(units - round(units)) > UNIT_MULTIPLE_TOLERANCE * units:
                    row.report(
                        "principal_amount",
                        f"principal amount is not a whole multiple of {iid}'s unit principal "
                        f"{cell_text(unit)}", "enter the face amount held: a number of whole units",
                    )

        if v["cost_basis"] is not None and v["cost_basis"] <= 0:
            row.report(
                "cost_basis", "cost basis must be greater than 0",
                "enter the total cost of the lot in dollars",
            )
        converted = v["disposition_kind"] == DispositionKind.CONVERSION.value
        for name in ("cost_basis", "proceeds"):
            if name == "proceeds" and converted:
                continue  # a conversion's cash may be a few dollars in lieu of a fractional share
            self._check_not_a_price(row, name, v[name], principal)

        acquired = v["acquisition_date"]
        if acquired is not None:
            if issue is not None and acquired < issue:
                row.report(
                    "acquisition_date", f"acquired before the issue date {issue}",
                    "enter the settlement date of the purchase",
                )
            elif maturity is not None and acquired >= maturity:
                row.report(
                    "acquisition_date", f"acquired on or after the maturity date {maturity}",
                    "enter the settlement date of the purchase",
                )
            elif call is not None and acquired >= call:
                row.report(
                    "acquisition_date",
                    f"acquired on or after the issuer call (redemption) on {call}",
                    "enter the settlement date of the purchase, or check the redemption row",
                )

        disposed = v["disposition_date"]
        if disposed is not None:
            if acquired is not None and disposed <= acquired:
                row.report(
                    "disposition_date",
                    f"disposition date is not after the acquisition date {acquired}",
                    "enter the sale settlement date, after the purchase",
                )
            elif maturity is not None and disposed > maturity:
                row.report(
                    "disposition_date", f"disposition date is after the maturity date {maturity}",
                    "leave it blank: retirement at maturity is applied automatically",
                )
            elif call is not None and disposed > call:
                row.report(
                    "disposition_date", f"disposition date is after the issuer call on {call}",
                    "leave it blank: the call is applied automatically",
                )

        # proceeds are required with disposition_date (docs/formats.md), and only with it.
        if row.given("proceeds") and not row.given("disposition_date"):
            row.report(
                "disposition_date", "proceeds are given but disposition_date is blank",
                "enter the sale settlement date, or clear proceeds if the lot is still held",
            )
        if row.given("disposition_date") and not row.given("proceeds"):
            row.report(
                "proceeds", "disposition_date is given but proceeds are blank",
                "enter the cash received on the conversion, 0 if none (the stock goes in "
                "stock_fair_market_value)" if converted else
                "enter the total dollars received on the sale",
            )
        if v["proceeds"] is not None and v["proceeds"] < 0:
            row.report(
                "proceeds", "proceeds cannot be negative", "enter the total dollars received",
            )

        # basis allocation (method §6)
        method = v["basis_allocation"]  # None when unreadable (already reported)
        if not row.given("basis_allocation"):
            method = BasisAllocationMethod.PROPORTIONAL.value
        if row.given("holder_yield_pct") and method is not None and method != "yield":
            row.report(
                "holder_yield_pct",
                f"holder_yield_pct is used only with basis_allocation yield, not {method}",
                "clear holder_yield_pct or set basis_allocation to yield",
            )
        elif v["holder_yield_pct"] is not None and v["holder_yield_pct"] <= -100:
            row.report(
                "holder_yield_pct", "holder yield must be above -100%",
                "enter the yield in percent, e.g. 13 for 13%",
            )
        elif v["holder_yield_pct"] is not None and v["holder_yield_pct"] > MAX_YIELD_PCT:
            row.report(
                "holder_yield_pct",
                f"a holder yield of {_num(v['holder_yield_pct'])}% a year is not plausible (cpdi "
                f"refuses more than {MAX_YIELD_PCT:g}%)",
                "enter the yield in percent, e.g. 13 for 13%, or leave it blank to have it solved",
            )
        if row.given("allocate_to_maturity") and method is not None and method not in (
            "proportional", "straight_line"
        ):
            row.report(
                "allocate_to_maturity",
                "allocate_to_maturity is used only with proportional or straight_line, "
                f"not {method}",
                "clear allocate_to_maturity or change basis_allocation",
            )
        elif v["allocate_to_maturity"] is not None and v["allocate_to_maturity"] < 0:
            row.report(
                "allocate_to_maturity", "allocate_to_maturity cannot be negative",
                "enter the dollars of the difference allocated to the payment at maturity "
                "(0 or more)",
            )

        self._check_conversion(row, v, principal, maturity)
        self._check_opening(row, v, principal, maturity, call)
        self._check_trade_dates(row, v)

    def _check_conversion(self, row: _Row, v: dict[str, Any], principal: float | None,
                          maturity: date | None) -> None:
        """A conversion into the issuer's stock (method §7; Rev. Rul. 2002-31): on a
        ``disposition_date`` before maturity, with the stock's fair market value (part of the
        amount realized and the stock's basis); ``proceeds`` is then the cash, if any.  The
        value of stock belongs to a conversion only.  (A conversion after maturity or after an
        issuer call is refused with every disposition, by :meth:`_check_lot`.)"""
        kind = v["disposition_kind"]  # None when blank (a sale) or unreadable (reported)
        value = v["stock_fair_market_value"]
        if kind != DispositionKind.CONVERSION.value:
            if row.given("stock_fair_market_value") and (kind is not None or not row.given("disposition_kind")):
                row.report(
                    "stock_fair_market_value",
                    "stock_fair_market_value is given, but the lot is not converted "
                    f"(disposition_kind {kind or 'sale'}): a sale's proceeds are all it receives",
                    "set disposition_kind to conversion if the note was converted into stock, or "
                    "clear stock_fair_market_value",
                )
        else:
            if not row.given("disposition_date"):
                row.report(
                    "disposition_date", "disposition_kind is conversion but disposition_date is blank",
                    "enter the conversion date, or clear disposition_kind if the lot is still held",
                )
            elif v["disposition_date"] is not None and v["disposition_date"] == maturity:
                row.report(
                    "disposition_date",
                    f"a conversion on the maturity date {maturity}: at maturity the note is retired "
                    "for its final payment ((b)(7)(iv)), and a conversion comes before it",
                    "enter the conversion date, before maturity; if the note was paid at maturity, "
                    "clear disposition_date, proceeds, disposition_kind and stock_fair_market_value",
                )
            if not row.given("stock_fair_market_value"):
                row.report(
                    "stock_fair_market_value",
                    "a conversion needs the fair market value of the stock received, and "
                    "stock_fair_market_value is blank",
                    "enter the total fair market value in dollars of the stock received on the "
                    "conversion date (0 if it was worthless)",
                )
        if value is not None and value < 0:
            row.report(
                "stock_fair_market_value", "stock_fair_market_value cannot be negative",
                "enter the total fair market value in dollars of the stock received, 0 or more",
            )
        elif kind == DispositionKind.CONVERSION.value:
            self._check_not_a_price(row, "stock_fair_market_value", value, principal)

    def _check_opening(self, row: _Row, v: dict[str, Any], principal: float | None,
                       maturity: date | None, call: date | None) -> None:
        """Opening balances of a lot taken over mid-life (method §14): all five columns or none
        (a blank is never read as 0: an amount left out of a prior preparer's figures would
        change the limits it carries), the first year cpdi computes after the acquisition year
        and not after the year the lot ends, an adjusted basis above 0, amounts of 0 or more,
        and prior ordinary losses no more than the prior interest inclusions that cap them
        ((b)(6)(iii)(B))."""
        given = [name for name in OPENING_COLUMNS if row.given(name)]
        if not given:
            return
        for name in OPENING_COLUMNS:
            if not row.given(name):
                row.report(
                    name, f"{name} is blank, but {_or_list(given).replace(' or ', ' and ')} "
                    f"{'is' if len(given) == 1 else 'are'} given: the five opening columns go "
                    "together", _OPENING_FIXES[name],
                )
        year, acquired = v["opening_year"], v["acquisition_date"]
        if year is not None:
            ends = self._lot_end(v, maturity, call)
            if not FIRST_TAX_YEAR <= year <= LAST_TAX_YEAR:
                row.report(
                    "opening_year", f"{year} is not a tax year cpdi computes "
                    f"({FIRST_TAX_YEAR}–{LAST_TAX_YEAR})",
                    "enter the first tax year cpdi is to compute for the lot, e.g. 2025",
                )
            elif acquired is not None and year <= acquired.year:
                row.report(
                    "opening_year",
                    f"opening_year {year} is not after the acquisition year {acquired.year}: a lot "
                    "is computed from its acquisition in the year it was acquired",
                    "clear the opening columns to compute the lot from its acquisition, or enter "
                    "the first later year the prior preparer did not compute",
                )
            elif ends is not None and year > ends[1].year:
                row.report(
                    "opening_year",
                    f"opening_year {year} is after the lot ended ({ends[0]} on {ends[1]}): there is "
                    "no year left to compute",
                    f"enter a year from {acquired.year + 1 if acquired else 'the acquisition year'} "
                    f"to {ends[1].year}, or clear the opening columns",
                )
        basis = v["opening_adjusted_basis"]
        if basis is not None and basis <= 0:
            row.report(
                "opening_adjusted_basis", "the opening adjusted basis must be greater than 0",
                "enter the lot's adjusted basis in dollars on 1 January of opening_year, as the "
                "prior workpapers carry it forward",
            )
        else:
            self._check_not_a_price(row, "opening_adjusted_basis", basis, principal)
        for name in OPENING_COLUMNS[2:]:
            if v[name] is not None and v[name] < 0:
                row.report(name, f"{name} cannot be negative", "enter the amount in dollars, 0 or more")
        inclusions, losses = v["prior_interest_inclusions"], v["prior_ordinary_losses"]
        if inclusions is not None and losses is not None and 0 <= inclusions < losses:
            row.report(
                "prior_ordinary_losses",
                f"prior ordinary losses of {_num(losses)} are more than the prior interest "
                f"inclusions of {_num(inclusions)}: net negative adjustments are ordinary loss only "
                "up to the interest included before ((b)(6)(iii)(B))",
                "check both against the prior workpapers: prior_interest_inclusions is all the "
                "interest included on the lot, prior_ordinary_losses the net negative adjustments "
                "taken as ordinary loss",
            )

    @staticmethod
    def _lot_end(v: dict[str, Any], maturity: date | None, call: date | None) -> tuple[str, date] | None:
        """How and when the lot ends, as far as the row and its instrument say: its disposition,
        else the issuer call, else maturity (``None`` when unknown)."""
        if v["disposition_date"] is not None:
            return "disposition", v["disposition_date"]
        if call is not None and (maturity is None or call < maturity):
            return "the issuer call", call
        if maturity is not None:
            return "maturity", maturity
        return None

    @staticmethod
    def _check_trade_dates(row: _Row, v: dict[str, Any]) -> None:
        """Trade dates (method §12): a trade settles on or after its trade date, within
        :data:`TRADE_SETTLEMENT_DAYS`; a sale's trade date needs the sale and is not before the
        purchase's; a conversion has none (its date is the conversion date)."""
        acquired, traded = v["acquisition_date"], v["acquisition_trade_date"]
        if acquired is not None and traded is not None:
            _check_trade_date(row, "acquisition_trade_date", traded, "acquisition_date", acquired,
                              "purchase")
        disposed, sold = v["disposition_date"], v["disposition_trade_date"]
        if not row.given("disposition_trade_date"):
            return
        if not row.given("disposition_date"):
            row.report(
                "disposition_trade_date", "disposition_trade_date is given but disposition_date is blank",
                "enter the sale's settlement date in disposition_date, or clear "
                "disposition_trade_date if the lot is still held",
            )
        elif v["disposition_kind"] == DispositionKind.CONVERSION.value:
            row.report(
                "disposition_trade_date",
                "a conversion has no trade date: disposition_date is the conversion date, the day "
                "the holding ends",
                "clear disposition_trade_date",
            )
        elif disposed is not None and sold is not None:
            if _check_trade_date(row, "disposition_trade_date", sold, "disposition_date", disposed,
                                 "sale"):
                bought = traded or acquired
                if bought is not None and sold < bought:
                    which = "acquisition_trade_date" if traded else "acquisition_date"
                    row.report(
                        "disposition_trade_date",
                        f"the sale was traded before the purchase ({which} {bought})",
                        "check the trade dates; if the sale traded before the purchase settled, "
                        "enter acquisition_trade_date too",
                    )

    @staticmethod
    def _check_not_a_price(row: _Row, name: str, amount: float | None, principal: float | None) -> None:
        """A dollar amount that is really a price per 100 of face (``98.5`` typed for a
        $250,000 lot bought at 98.5): refused, naming the likely dollars."""
        if amount is None or principal is None or amount <= 0 or principal <= 0:
            return
        if amount <= 200 and amount < PRICE_TYPED_AS_COST * principal:
            dollars = amount * principal / 100.0
            row.report(
                name,
                f"{_num(amount)} dollars for {_num(principal)} of face is {amount / principal:.4%} of "
                f"face: it looks like a price per 100 of face, not the lot's total dollars",
                f"enter the total dollars: at a price of {_num(amount)} that is {dollars:,.2f}",
            )

    # -- transactions.csv --

    def _transactions(
        self, typed: tuple[Lot, ...], rejected: dict[str, tuple[Problem, ...]],
    ) -> tuple[tuple[Lot, ...], dict[str, tuple[Problem, ...]]]:
        """Lots derived from the trades (docs/formats.md "transactions.csv";
        :mod:`cpdi.readers.transactions`), after lots.csv's ``typed`` lots.  Each trade row is
        checked as itself (a buy's and a sell's columns, amounts, units, dates); a holder's trades
        of a note with any problem give none of its lots; each derived lot is then checked
        exactly as a typed lot (:meth:`_check_lot_holder`, :meth:`_check_lot`), its problems
        reported on the trade rows it came from.  A lot id both typed and derived is refused in
        both places."""
        table = self.tables["transactions"]
        if table.present and table.header_row is not None and all(
                table.has_column(col.name) for col in TRANSACTIONS if col.required):
            self.lots_checked = True
        raws = self._rows("transactions")
        self.trade_count = len(raws)
        ids_at: dict[str, list[int]] = {}
        for raw in raws:
            if raw.text("trade_id"):
                ids_at.setdefault(raw.text("trade_id"), []).append(raw.row)
        raw_rows = {raw.row: raw for raw in raws}
        trades: list[Trade] = []
        unreadable: dict[str, int] = {}  # trade_id → row, of rows with problems
        unplaced: list[tuple[str, str, list[Problem]]] = []  # rows with problems and no book
        book_problems: dict[tuple[str, str], list[Problem]] = {}
        buys_of: dict[tuple[str, str], list[str]] = {}  # book → trade_ids of its buys
        for raw in raws:
            tid, hid, iid = raw.text("trade_id"), raw.text("holder_id"), raw.text("instrument_id")
            is_buy = _choice_key(raw.text("side")) == BUY
            row = _Row(table, raw, self.problems, holder_id=hid or None,
                       lot_id=(tid or None) if is_buy else None, instrument_id=iid or None)
            v = row.parse(TRANSACTIONS)
            if is_buy and tid and hid and iid:
                buys_of.setdefault((hid, iid), []).append(tid)
            rows_of_id = ids_at.get(tid, [])
            if len(rows_of_id) > 1 and raw.row != rows_of_id[0]:
                row.report("trade_id", f"trade {tid} appears on rows {rows_of_id[0]} and {raw.row}",
                           "give each trade its own trade_id")
            self._check_lot_holder(row, hid)
            draft = self._known_instrument(row, iid)
            self._check_trade(row, v, draft, iid)
            if row.problems or len(rows_of_id) > 1:
                if hid and iid:
                    book_problems.setdefault((hid, iid), []).extend(row.problems)
                else:
                    unplaced.append((hid, iid, row.problems))
                if tid:
                    unreadable.setdefault(tid, raw.row)
                continue
            trades.append(_trade(raw.row, hid, tid, iid, v))
        for tid, rows_of_id in ids_at.items():  # the first row of a repeated id: out with the rest
            if len(rows_of_id) > 1:
                first = raw_rows[rows_of_id[0]]
                book = (first.text("holder_id"), first.text("instrument_id"))
                repeated = [p for p in self.problems if p.file == table.file
                            and p.row in rows_of_id and p.column == "trade_id"]
                book_problems.setdefault(book, []).extend(repeated)
        # a bad row without its holder or note may have moved any lot of the holder (or note):
        # all of them stop, as lots computed without a sell would be wrong
        books = {t.book for t in trades} | set(book_problems) | set(buys_of)
        for hid, iid, problems in unplaced:
            for book in books:
                if (not hid or book[0] == hid) and (not iid or book[1] == iid):
                    book_problems.setdefault(book, []).extend(problems)
        typed_owners = {lot_id: (hid, iid) for lot_id, (hid, iid, _) in self.lot_owners.items()}
        blotter = derive_lots(trades, {b for b in book_problems if b[0] and b[1]}, unreadable,
                              typed_owners)
        found: dict[int, Problem] = {}
        for issue in blotter.problems:
            found[id(issue)] = self._blotter_problem(table, raw_rows, issue)
        for book, issues in blotter.stopped.items():
            book_problems.setdefault(book, []).extend(found[id(i)] for i in issues)

        merged: dict[str, list[Problem]] = {key: list(known) for key, known in rejected.items()}
        for book, problems in book_problems.items():
            for tid in buys_of.get(book, ()):
                known = merged.setdefault(tid, [])
                present = set(known)
                known.extend(p for p in dict.fromkeys(problems) if p not in present)
        kept_typed = list(typed)
        lots: list[Lot] = []
        repeated: set[tuple] = set()
        for piece in blotter.lots:
            lot = piece.lot
            owner = self.lot_owners.get(lot.lot_id)
            if owner is not None:  # typed in lots.csv too: neither is read
                problem = self._typed_and_derived(table, raw_rows, piece, owner[2])
                merged.setdefault(lot.lot_id, []).append(problem)
                kept_typed = [t for t in kept_typed if t.lot_id != lot.lot_id]
                self.lot_rows.pop(lot.lot_id, None)
                continue
            values = lot_values(lot)
            row = _DerivedRow(table, piece, values, raw_rows, self.problems, repeated)
            self._check_lot_holder(row, lot.holder_id)
            self._check_lot(row, values, lot.instrument_id)
            if row.problems:
                merged.setdefault(lot.lot_id, []).extend(row.problems)
                continue
            lots.append(lot)
            self.lot_rows[lot.lot_id] = piece.buy_row
            self.lot_files[lot.lot_id] = table.file
        for piece in blotter.lots:  # every derived id is a lot broker figures may name
            if piece.lot.lot_id not in self.lot_owners:
                self.lot_owners[piece.lot.lot_id] = (piece.lot.holder_id, piece.lot.instrument_id,
                                                     piece.buy_row)
                self.derived_ids.add(piece.lot.lot_id)
        return (tuple(kept_typed) + tuple(lots),
                {key: tuple(problems) for key, problems in merged.items()})

    def _typed_and_derived(self, table: RawTable, raw_rows: dict[int, RawRow], piece: DerivedLot,
                           typed_row: int) -> Problem:
        """The problem of a lot id both typed in lots.csv (on ``typed_row``) and derived from
        the trades: reported on the trade row that named the derived lot (a piece's: the sell's)."""
        lot, lots_file = piece.lot, self.tables["lots"].file
        number = piece.sell_row if piece.split else piece.buy_row
        problem = Problem(
            table.file, number, "trade_id",
            f"lot {lot.lot_id} (from {piece.origin()}) is also the lot_id of {lots_file} row "
            f"{typed_row}: neither is read",
            f"a lot is typed in {lots_file} or derived from its trades, not both: delete one, or "
            "give the trade or the typed lot another id",
            value=raw_rows[number].text("trade_id") or None, holder_id=lot.holder_id,
            lot_id=lot.lot_id, instrument_id=lot.instrument_id,
        )
        self.problems.append(problem)
        return problem

    def _lot_tables_named(self) -> str:
        """The tables lots come from, as messages name them: ``lots.csv``, ``transactions.csv``
        or ``lots.csv or transactions.csv``."""
        present = [self.tables[name].file for name in LOT_TABLES if self.tables[name].present]
        return " or ".join(present) or self.tables["lots"].file

    def _lot_file(self, lot_id: str) -> str:
        """The file a lot's row is in (a derived lot's: transactions.csv, the buy's row)."""
        return self.tables["transactions" if lot_id in self.derived_ids else "lots"].file

    def _known_instrument(self, row: _Row, iid: str) -> _InstrumentDraft | None:
        """The row's instrument (a lot's or a trade's) as read so far; an unknown one, or one
        with input problems, is reported on the row."""
        draft = self.drafts.get(iid) if iid else None
        if iid and draft is None:
            self._unknown_instrument(row, iid)
        elif draft is not None and draft.first_problem is not None:
            first = draft.first_problem
            where = f"{first.file} row {first.row}" if first.row is not None else first.file
            row.report(
                "instrument_id", f"instrument {iid} has input problems (see {where})",
                "fix the instrument's rows first",
            )
        return draft

    def _check_trade(self, row: _Row, v: dict[str, Any], draft: _InstrumentDraft | None,
                     iid: str) -> None:
        """One trade's own consistency: the columns of a buy and of a sell, a principal of whole
        units, amounts of 0 or more (a sell's commission no more than its amount), and a trade
        date on or before the settlement date (the lot's further checks run on the lots derived,
        :meth:`_check_lot`)."""
        side = v["side"]
        if side == BUY:
            if row.given("lot_id"):
                row.report("lot_id", "a buy opens its own lot, whose lot_id is the buy's trade_id: "
                           "lot_id names, on a sell, the buy whose lot it sells",
                           "clear lot_id on the buy")
            for name in ("basis_reported", "disposition_kind", "stock_fair_market_value"):
                if row.given(name):
                    row.report(name, f"{name} belongs on a sell (it describes the disposition of "
                               "the lots the sell closes)", f"clear {name} on the buy")
        elif side == SELL:
            for name in ("basis_allocation", "holder_yield_pct", "allocate_to_maturity"):
                if row.given(name):
                    row.report(name, f"{name} belongs on the buy (it is a term of the lot the buy "
                               "opens), not on a sell", f"clear {name} on the sell and enter it "
                               "on the buy")
        principal = v["principal_amount"]
        unit = draft.values.get("unit_principal") if draft is not None else None
        if principal is not None and principal <= 0:
            row.report("principal_amount", "principal amount must be greater than 0",
                       "enter the face amount bought or sold, e.g. 250000")
        elif principal is not None and unit is not None and unit > 0:
            units = principal / unit
            if math.isfinite(units) and abs(units - round(units)) > UNIT_MULTIPLE_TOLERANCE * units:
                row.report("principal_amount", f"principal amount is not a whole multiple of "
                           f"{iid}'s unit principal {cell_text(unit)}",
                           "enter the face amount traded: a number of whole units")
        for name in ("amount", "commission"):
            if v[name] is not None and v[name] < 0:
                row.report(name, f"{name} cannot be negative", "enter the dollars paid or received"
                           if name == "amount" else "enter the commission in dollars, 0 or more")
        amount, commission = v["amount"], v["commission"]
        if side == SELL and amount is not None and commission is not None and 0 <= amount < commission:
            row.report("commission", f"the commission {_num(commission)} is more than the amount "
                       f"{_num(amount)} received: the proceeds would be negative",
                       "check amount (the dollars received, before commission) and commission")
        traded, settled = v["trade_date"], v["settlement_date"]
        if traded is not None and settled is not None and side is not None:
            _check_trade_date(row, "trade_date", traded, "settlement_date", settled,
                              "purchase" if side == BUY else "sale")

    def _blotter_problem(self, table: RawTable, raw_rows: dict[int, RawRow],
                         issue: BlotterProblem) -> Problem:
        """A problem of the trades as a whole (:mod:`cpdi.readers.transactions`), as a Problem of
        transactions.csv quoting the cell it names."""
        raw = raw_rows.get(issue.row)
        value = cell_text(raw.cell(issue.column)) if raw is not None and issue.column else ""
        problem = Problem(table.file, issue.row, issue.column, issue.message, issue.fix,
                          value or None, holder_id=issue.holder_id, lot_id=issue.lot_id,
                          instrument_id=issue.instrument_id)
        self.problems.append(problem)
        return problem

    # -- broker_1099.csv --

    def _broker_1099(self) -> tuple[BrokerFigure, ...]:
        """The figures a broker reported on Forms 1099-OID, 1099-INT and 1099-B, for cpdi to
        reconcile (docs/formats.md "broker_1099.csv"; method §12).  They are references to
        compare with, not inputs of any computation: a bad row is reported and left out (that
        figure is not reconciled) and stops nothing else, so its problem names no holder, lot
        or instrument (those say whose computation a problem stops).  Two rows for the same
        holder, note, year, form, box and lot are both left out: which one is right is not
        cpdi's to guess."""
        table = self.tables["broker_1099"]
        read: list[tuple[tuple, BrokerFigure | None]] = []
        first_row: dict[tuple, int] = {}
        repeated: set[tuple] = set()
        lot_holders = {hid for hid, _, _ in self.lot_owners.values()}
        for raw in self._rows("broker_1099"):
            row = _Row(table, raw, self.problems)
            v = row.parse(BROKER_1099)
            hid, iid, lot_id = raw.text("holder_id"), raw.text("instrument_id"), raw.text("lot_id")
            form, box = v["form"], _box_of(raw.text("box"))
            self._check_broker_year(row, v["tax_year"])
            self._check_broker_box(row, form, box, lot_id)
            self._check_broker_owner(row, hid, iid, lot_id, lot_holders)
            if v["amount"] is not None and v["amount"] < 0:
                row.report("amount", "a form prints no negative amount in this box",
                           "enter the amount as printed, 0 or more")
            key = (hid, iid, v["tax_year"], form, box, lot_id)
            if None not in key[2:4] and hid and iid and box:
                if key in first_row:
                    row.report(None, f"the same figure ({_figure_name(form, box, lot_id)} of {hid} "
                               f"in {iid} for {v['tax_year']}) appears on rows {first_row[key]} and "
                               f"{row.row}; neither is reconciled",
                               "keep one row per holder, note, year, form, box and lot")
                    repeated.add(key)
                else:
                    first_row[key] = row.row
            figure = None
            if not row.problems:
                figure = BrokerFigure(hid, iid, v["tax_year"], form, box, v["amount"],
                                      lot_id or None, raw.row)
            read.append((key, figure))
        return tuple(figure for key, figure in read if figure is not None and key not in repeated)

    @staticmethod
    def _check_broker_year(row: _Row, year: int | None) -> None:
        if year is not None and not FIRST_TAX_YEAR <= year <= LAST_TAX_YEAR:
            row.report("tax_year", f"{year} is not a tax year cpdi computes "
                       f"({FIRST_TAX_YEAR}–{LAST_TAX_YEAR})", "enter the year the form reports, "
                       "as printed at its top, e.g. 2025")

    @staticmethod
    def _check_broker_box(row: _Row, form: str | None, box: str, lot_id: str) -> None:
        """The box must be one the form has and cpdi reconciles; a 1099-B figure names its lot
        (a 1099-B reports one sale, and cpdi compares it with that lot's Form 8949 line)."""
        if form is None or not box:
            return
        boxes = BROKER_BOXES[form]
        if box not in boxes:
            row.report("box", f"Form {form} has no box {box} that cpdi reconciles (its boxes: "
                       f"{_or_list(boxes)})", "enter the box as printed on the form, e.g. "
                       f"{boxes[0]}, or check the form")
        if form == "1099-B" and not lot_id:
            row.report("lot_id", "a Form 1099-B figure needs the lot it reports (one sale per "
                       "figure)", "enter the lot_id of lots.csv that was sold, called or matured")

    def _check_broker_owner(self, row: _Row, hid: str, iid: str, lot_id: str,
                            lot_holders: set[str]) -> None:
        """The holder, the note and the lot are those of lots.csv (and holders.csv, when
        given): a lot of another holder or another note, or a note the holder has no lot of, is
        a figure cpdi has nothing to compare with.  Without a lots table that can be read (its
        absence is reported, or is what ``validate`` of schedules alone expects) only the holder
        and the note are checked."""
        lots = self._lot_tables_named()
        if hid:
            if self.holders_checked and hid not in self.holder_rows:
                holders = self.tables["holders"].file
                row.report("holder_id", f"holder {hid} is not in {holders}",
                           f"correct the holder_id, or add the holder to {holders}")
                hid = ""
            elif not self.holders_checked and self.lots_checked and hid not in lot_holders:
                row.report("holder_id", f"holder {hid} has no lot in {lots}",
                           f"correct the holder_id, or add the holder's lots to {lots}")
                hid = ""
        if iid and iid not in self.drafts:
            self._unknown_instrument(row, iid)
            iid = ""
        if not self.lots_checked:
            return
        if lot_id:
            owner = self.lot_owners.get(lot_id)
            if owner is None:
                row.report("lot_id", f"lot {lot_id} is not in {lots}",
                           f"correct the lot_id, or add the lot to {lots}")
                return
            lot_holder, lot_note, lot_row = owner
            if hid and lot_holder != hid:
                row.report("lot_id", f"lot {lot_id} is holder {lot_holder}'s ({self._lot_file(lot_id)} "
                           f"row {lot_row}), not {hid}'s", "correct the lot_id or the holder_id")
            if iid and lot_note != iid:
                row.report("lot_id", f"lot {lot_id} is a lot of {lot_note} ({self._lot_file(lot_id)} "
                           f"row {lot_row}), not of {iid}", "correct the lot_id or the instrument_id")
        elif hid and iid and not any(h == hid and i == iid for h, i, _ in self.lot_owners.values()):
            row.report("instrument_id", f"holder {hid} has no lot of {iid} in {lots}",
                       "correct the holder_id or the instrument_id, or add the lot")


def _box_of(text: str) -> str:
    """A box as cpdi names it: trimmed, lower case, a leading ``box`` dropped (``Box 1D`` reads
    ``1d``)."""
    box = "".join(text.lower().split())
    return box[3:] if box.startswith("box") else box


def _figure_name(form: str | None, box: str, lot_id: str) -> str:
    """``1099-B box 1d of lot L-3``: a figure in a message."""
    return f"{form} box {box}" + (f" of lot {lot_id}" if lot_id else "")


_OPENING_FIXES = {
    "opening_year": "enter the first tax year cpdi is to compute for the lot, or clear the other "
                    "opening columns to compute it from its acquisition",
    "opening_adjusted_basis": "enter the lot's adjusted basis in dollars on 1 January of "
                              "opening_year, from the prior preparer's workpapers",
    "opening_carryforward": "enter the negative adjustment carryforward into opening_year in "
                            "dollars, 0 if none (a blank is not read as 0)",
    "prior_interest_inclusions": "enter the interest included in income on the lot before "
                                 "opening_year in dollars, 0 if none (a blank is not read as 0)",
    "prior_ordinary_losses": "enter the net negative adjustments taken as ordinary loss before "
                             "opening_year in dollars, 0 if none (a blank is not read as 0)",
}
"""What fixes each opening column left blank (method §14)."""


def _check_trade_date(row: _Row, name: str, traded: date, settled_name: str, settled: date,
                      trade: str) -> bool:
    """A trade date on or before its settlement date, at most :data:`TRADE_SETTLEMENT_DAYS`
    before it; reports and returns False otherwise."""
    if traded > settled:
        row.report(name, f"the {trade}'s trade date is after its settlement date ({settled_name} "
                   f"{settled})", f"enter the day the {trade} was traded, on or before "
                   f"{settled_name}, or check {settled_name} (the settlement date)")
        return False
    days = (settled - traded).days
    if days > TRADE_SETTLEMENT_DAYS:
        row.report(name, f"the {trade}'s trade date is {days} days before its settlement date "
                   f"({settled_name} {settled}); a trade settles within {TRADE_SETTLEMENT_DAYS} "
                   "days", f"check the trade date and {settled_name} (the settlement date)")
        return False
    return True


def _trade(row: int, hid: str, tid: str, iid: str, v: dict[str, Any]) -> Trade:
    """A checked transactions.csv row as a :class:`~cpdi.readers.transactions.Trade`."""
    return Trade(
        row=row, holder_id=hid, trade_id=tid, instrument_id=iid, side=v["side"],
        settlement_date=v["settlement_date"], principal_amount=v["principal_amount"],
        amount=v["amount"], commission=v["commission"] or 0.0, trade_date=v["trade_date"],
        lot_id=v["lot_id"] or None,
        basis_allocation=BasisAllocationMethod(v["basis_allocation"] or "proportional"),
        holder_yield_pct=v["holder_yield_pct"], allocate_to_maturity=v["allocate_to_maturity"],
        basis_reported=BasisReported(v["basis_reported"]) if v["basis_reported"] else None,
        disposition_kind=DispositionKind(v["disposition_kind"] or "sale"),
        stock_fair_market_value=v["stock_fair_market_value"],
    )


_DERIVED_FROM: dict[str, tuple[str, str | None]] = {
    "holder_id": (BUY, "holder_id"),
    "lot_id": (BUY, "trade_id"),
    "instrument_id": (BUY, "instrument_id"),
    "principal_amount": (BUY, "principal_amount"),
    "acquisition_date": (BUY, "settlement_date"),
    "cost_basis": (BUY, "amount"),
    "disposition_date": (SELL, "settlement_date"),
    "proceeds": (SELL, "amount"),
    "basis_allocation": (BUY, "basis_allocation"),
    "holder_yield_pct": (BUY, "holder_yield_pct"),
    "allocate_to_maturity": (BUY, "allocate_to_maturity"),
    "basis_reported": (SELL, "basis_reported"),
    "acquisition_trade_date": (BUY, "trade_date"),
    "disposition_trade_date": (SELL, "trade_date"),
    "disposition_kind": (SELL, "disposition_kind"),
    "stock_fair_market_value": (SELL, "stock_fair_market_value"),
}
"""Where each lots.csv column of a derived lot comes from: the buy's or the sell's row, and its
column there (a column not listed, such as the opening balances, has none: the buy's row)."""


class _DerivedRow(_Row):
    """A lot derived from trades, checked as a typed lot: its cells are the lot's values as
    lots.csv would hold them, and a problem is reported on the transactions row and column the
    value came from (:data:`_DERIVED_FROM`), quoting the cell typed there and naming the lot and
    its rows.  A problem the same trade cell already gave another lot of the same sell (a sell
    after maturity closing two lots) is kept on the lot but printed once (``repeated``)."""

    def __init__(self, table: RawTable, piece: DerivedLot, values: dict[str, Any],
                 raw_rows: dict[int, RawRow], sink: list[Problem], repeated: set[tuple]):
        lot = piece.lot
        cells = {name: value_text(value) for name, value in values.items() if value is not None}
        super().__init__(table, RawRow(piece.buy_row, cells), sink, holder_id=lot.holder_id,
                         lot_id=lot.lot_id, instrument_id=lot.instrument_id)
        self.piece = piece
        self.raw_rows = raw_rows
        self.repeated = repeated

    def report(self, column: str | None, message: str, fix: str) -> Problem:
        side, source = _DERIVED_FROM.get(column or "", (BUY, None))
        number = self.piece.sell_row if side == SELL and self.piece.sell_row else self.piece.buy_row
        if side == SELL and self.piece.sell_row is None:
            source = None
        raw = self.raw_rows.get(number)
        value = cell_text(raw.cell(source)) if raw is not None and source else ""
        if column == "disposition_date" and fix.startswith("leave it blank"):
            fix = ("a note is not sold after it is retired (maturity and calls are applied "
                   "automatically): check the sell's settlement_date, or delete the sell")
        problem = Problem(
            self.file, number, source,
            f"lot {self.piece.lot.lot_id} (from {self.piece.origin()}): {message}", fix,
            value or None, **self.ids,
        )
        self.problems.append(problem)
        key = (number, source, message, fix)
        if key not in self.repeated:
            self.repeated.add(key)
            self.sink.append(problem)
        return problem

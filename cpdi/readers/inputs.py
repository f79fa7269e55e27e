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
    TABLES,
    EXTRA_COLUMNS_CARRIED,
    Column,
)
from cpdi.readers.tables import (
    RawInput, RawRow, RawTable, cell_text, header_key, is_blank, read_tables,
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

    def read(self) -> Portfolio:
        self._instruments()
        self._schedule()
        self._payments()
        issuer_accruals = self._issuer_accruals()
        self._holders()
        lots, rejected = self._lots()
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
            if draft is None:
                continue
            if row.problems:
                self._flag_instrument(iid, row)
                continue
            draft.payments.append(ActualPayment(iid, when, v["amount"], kind))
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
        for name in ("cost_basis", "proceeds"):
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
        lots = self.tables["lots"].file
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
                row.report("lot_id", f"lot {lot_id} is holder {lot_holder}'s ({lots} row "
                           f"{lot_row}), not {hid}'s", "correct the lot_id or the holder_id")
            if iid and lot_note != iid:
                row.report("lot_id", f"lot {lot_id} is a lot of {lot_note} ({lots} row {lot_row}), "
                           f"not of {iid}", "correct the lot_id or the instrument_id")
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

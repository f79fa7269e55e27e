"""Small builders for engine tests: instruments, lots and payments without any files."""

from __future__ import annotations

import csv
import shutil
import warnings
from datetime import date
from pathlib import Path

import openpyxl

from cpdi.engine.daycount import DayCount
from cpdi.engine.ledger import ActualPayments, lot_ledger
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import (
    BasisAllocationMethod, ComparableYield, Instrument, Lot, PaymentType, ProjectedPayment,
)


AIG_DIR = Path(__file__).resolve().parent / "fixtures" / "aig-cms-curve-2027"
D = date


def load_aig() -> Instrument:
    """The AIG fixture read with the csv module only (no cpdi reader): 5.46% comparable yield,
    30/360, semiannual, issue price 1000 per 1000."""
    with open(AIG_DIR / "instruments.csv", newline="") as f:
        (row,) = list(csv.DictReader(f))
    with open(AIG_DIR / "schedule.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    payments = tuple(
        ProjectedPayment(
            D.fromisoformat(r["period_start"]),
            D.fromisoformat(r["period_end"]),
            float(r["projected_payment"]),
            PaymentType(r["payment_type"]),
        )
        for r in rows
        if r["instrument_id"] == row["instrument_id"]
    )
    return Instrument(
        instrument_id=row["instrument_id"],
        issue_date=D.fromisoformat(row["issue_date"]),
        maturity_date=D.fromisoformat(row["maturity_date"]),
        issue_price=float(row["issue_price"]),
        unit_principal=float(row["unit_principal"]),
        comparable_yield=ComparableYield(
            float(row["comparable_yield_pct"]) / 100.0,
            DayCount.parse(row["day_count"]),
            int(row["frequency"]),
        ),
        projected_payments=payments,
        description=row["description"],
    )


def d(text: str) -> date:
    return date.fromisoformat(text)


def instrument(
    issue: str,
    rows: list[tuple[str, float] | tuple[str, float, str]],
    yield_pct: float,
    frequency: int = 1,
    day_count: DayCount = DayCount.ACT_ACT,
    issue_price: float = 1000.0,
    unit_principal: float = 1000.0,
    instrument_id: str = "NOTE",
    accept_residual: bool = False,
) -> Instrument:
    """``rows`` are (period_end, projected_payment[, 'fixed'|'contingent']) from the issue date."""
    periods = []
    start = d(issue)
    for row in rows:
        end, amount = d(row[0]), row[1]
        kind = PaymentType(row[2]) if len(row) > 2 else PaymentType.CONTINGENT
        periods.append(ProjectedPayment(start, end, amount, kind))
        start = end
    return Instrument(
        instrument_id, d(issue), periods[-1].period_end, issue_price, unit_principal,
        ComparableYield(yield_pct / 100.0, day_count, frequency), tuple(periods),
        accept_residual=accept_residual,
    )


def lot(
    acquired: str,
    cost: float,
    principal: float = 1000.0,
    sold: str | None = None,
    proceeds: float | None = None,
    method: BasisAllocationMethod = BasisAllocationMethod.PROPORTIONAL,
    holder_yield_pct: float | None = None,
    allocate_to_maturity: float | None = None,
    lot_id: str = "L1",
    instrument_id: str = "NOTE",
) -> Lot:
    return Lot(
        "H1", lot_id, instrument_id, principal, d(acquired), cost,
        d(sold) if sold else None, proceeds, method, holder_yield_pct, allocate_to_maturity,
    )


def actuals(paid: dict[str, float] | None = None, call: tuple[str, float] | None = None) -> ActualPayments:
    return ActualPayments(
        {d(k): v for k, v in (paid or {}).items()},
        d(call[0]) if call else None,
        call[1] if call else None,
    )


def ledger(inst: Instrument, a_lot: Lot, paid=None, call=None, through: int = 2100):
    return lot_ledger(AccrualSchedule(inst), a_lot, actuals(paid, call), through)


def by_year(result) -> dict[int, object]:
    return {row.tax_year: row for row in result.years}


def open_book(path: Path, data_only: bool = True):
    """A workbook read by openpyxl: its cached values (``data_only``) or its formulas."""
    with warnings.catch_warnings():  # openpyxl cannot read LibreOffice's chart XML; irrelevant
        warnings.simplefilter("ignore")
        return openpyxl.load_workbook(path, data_only=data_only)


def folder_with_lot(source: Path, tmp_path: Path, lot_id: str, columns, **cells: str) -> Path:
    """A copy of the input folder ``source`` whose lots.csv has the ``columns`` (blank) and
    the ``cells`` of lot ``lot_id`` changed."""
    folder = tmp_path / "input"
    shutil.copytree(source, folder)
    path = folder / "lots.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row.update({name: "" for name in columns})
        if row["lot_id"] == lot_id:
            row.update(cells)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return folder

"""Synthetic portfolios for property tests and benchmarks (never for real returns).

Instruments get random conventions, a random comparable yield and projected payments, with the
final payment set so the schedule produces the comparable yield exactly (method §8).  Actual
payments scatter around the projections; some instruments are called; lots are bought at
issue or later at a premium or discount, and some are sold.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta

from cpdi.engine.daycount import VALID_FREQUENCIES, DayCount, year_fraction
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import (
    ActualPayment, BasisAllocationMethod, ComparableYield, DailyPortionBasis, Holder, Instrument, Lot, PaymentKind,
    PaymentType, ProjectedPayment,
)


@dataclass
class SyntheticPortfolio:
    instruments: dict[str, Instrument]
    payments: dict[str, tuple[ActualPayment, ...]]
    lots: list[Lot]
    holders: dict[str, Holder]


def random_instrument(rng: random.Random, instrument_id: str, horizon_year: int = 2025) -> Instrument:
    """A random instrument whose schedule produces its comparable yield (AIP_n = 0)."""
    frequency = rng.choice(VALID_FREQUENCIES)
    day_count = rng.choice(list(DayCount))
    issue = date(rng.randint(2008, horizon_year - 2), rng.randint(1, 12), rng.randint(1, 28))
    step = 12 // frequency
    n = rng.randint(2, min(12 * frequency, 60))
    annual = rng.uniform(0.005, 0.09)
    unit = rng.choice((1000.0, 1000.0, 100.0, 25.0))
    issue_price = unit * rng.choice((1.0, 1.0, rng.uniform(0.95, 1.0)))
    fixed_count = rng.randint(0, n - 1)
    coupon = unit * annual / frequency * rng.uniform(0.0, 1.6)
    maturity = issue + relativedelta(months=step * n)
    while True:  # retry with smaller coupons until the closing payment repays most principal
        periods, aip, start = [], issue_price, issue
        for k in range(n):
            end = issue + relativedelta(months=step * (k + 1))
            rate = annual * year_fraction(day_count, start, end, frequency, maturity)
            interest = aip * rate
            if k < n - 1:
                amount = coupon if k < fixed_count else coupon * rng.uniform(0.0, 2.0)
            else:
                amount = aip + interest  # closes the schedule: AIP_n = 0
            kind = PaymentType.FIXED if k < fixed_count else PaymentType.CONTINGENT
            periods.append(ProjectedPayment(start, end, amount, kind))
            aip = aip + interest - amount
            start = end
        if periods[-1].amount >= 0.5 * unit:
            break
        coupon *= 0.5
    # about a quarter of the instruments spread their interest by day count (method §3)
    basis = DailyPortionBasis.DAY_COUNT if rng.random() < 0.25 else DailyPortionBasis.CALENDAR_DAYS
    return Instrument(
        instrument_id, issue, periods[-1].period_end, issue_price, unit,
        ComparableYield(annual, day_count, frequency), tuple(periods),
        description=f"synthetic {frequency}x/yr {day_count.value}",
        daily_portion_basis=basis,
    )


def random_payments(rng: random.Random, instrument: Instrument, call_probability: float = 0.2) -> tuple[ActualPayment, ...]:
    """Actual payments for every period (fixed ones sometimes omitted: taken at projection),
    and an issuer call on a period end for some instruments."""
    payments = []
    periods = instrument.projected_payments
    call_index = None
    if len(periods) > 2 and rng.random() < call_probability:
        call_index = rng.randint(1, len(periods) - 2)
    for index, pp in enumerate(periods):
        if pp.payment_type is PaymentType.FIXED and rng.random() < 0.5:
            pass  # omitted: taken as paid at its projection (method §5)
        else:
            factor = 1.0 if pp.payment_type is PaymentType.FIXED else rng.choice((0.0, rng.uniform(0.0, 2.0), 1.0))
            payments.append(ActualPayment(instrument.instrument_id, pp.period_end, pp.amount * factor))
        if index == call_index:
            payments.append(ActualPayment(
                instrument.instrument_id, pp.period_end,
                instrument.unit_principal * rng.choice((1.0, 1.0, 1.02)), PaymentKind.REDEMPTION,
            ))
            break
    return tuple(payments)


def random_lot(rng: random.Random, instrument: Instrument, payments, holder_id: str, lot_id: str,
               sale_probability: float = 0.4) -> Lot:
    """A lot bought at issue or later at a premium or discount; some sold before the end."""
    schedule = AccrualSchedule(instrument)
    call = next((p.date for p in payments if p.kind is PaymentKind.REDEMPTION), None)
    last = (call or instrument.maturity_date) - timedelta(days=1)
    units = rng.randint(1, 500)
    principal = units * instrument.unit_principal
    if rng.random() < 0.4:
        acquired = instrument.issue_date
        cost = instrument.issue_price * units
    else:
        acquired = instrument.issue_date + timedelta(days=rng.randint(0, (last - instrument.issue_date).days))
        cost = schedule.adjusted_issue_price(acquired) * units * rng.uniform(0.85, 1.15)
    method = rng.choice(list(BasisAllocationMethod))
    holder_yield = None
    to_maturity = None
    if method is BasisAllocationMethod.YIELD and rng.random() < 0.5:
        holder_yield = instrument.comparable_yield.percent + rng.uniform(-1.0, 3.0)
    if method in (BasisAllocationMethod.PROPORTIONAL, BasisAllocationMethod.STRAIGHT_LINE) and rng.random() < 0.3:
        difference = abs(schedule.adjusted_issue_price(acquired) * units - cost)
        to_maturity = difference * rng.uniform(0.0, 1.0)
    sold = proceeds = None
    if rng.random() < sale_probability and acquired < last:
        sold = acquired + timedelta(days=rng.randint(1, (last - acquired).days + 1))
        proceeds = schedule.adjusted_issue_price(sold) * units * rng.uniform(0.8, 1.2)
    return Lot(holder_id, lot_id, instrument.instrument_id, principal, acquired, cost, sold,
               proceeds, method, holder_yield, to_maturity)


def random_portfolio(seed: int, instruments: int = 10, holders: int = 50, lots_per_holder: tuple[int, int] = (1, 4)) -> SyntheticPortfolio:
    rng = random.Random(seed)
    insts = {}
    pays = {}
    for i in range(instruments):
        inst = random_instrument(rng, f"SYN{i:05d}")
        insts[inst.instrument_id] = inst
        pays[inst.instrument_id] = random_payments(rng, inst)
    lots = []
    holder_map = {}
    ids = list(insts)
    for h in range(holders):
        holder_id = f"H{h:06d}"
        holder_map[holder_id] = Holder(holder_id, f"Holder {h}", f"{rng.randint(100000000, 999999999)}")
        for n in range(rng.randint(*lots_per_holder)):
            inst = insts[rng.choice(ids)]
            lots.append(random_lot(rng, inst, pays[inst.instrument_id], holder_id, f"{holder_id}-{n}"))
    return SyntheticPortfolio(insts, pays, lots, holder_map)


def write_csv_folder(portfolio: SyntheticPortfolio, folder: str | Path) -> Path:
    """Write the portfolio as the input CSV files of docs/formats.md (full precision)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)

    def write(name, header, rows):
        with open(folder / name, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(header)
            writer.writerows(rows)

    write("instruments.csv",
          ["instrument_id", "description", "issue_date", "maturity_date", "issue_price",
           "unit_principal", "comparable_yield_pct", "frequency", "day_count",
           "daily_portion_basis"],
          [(i.instrument_id, i.description, i.issue_date, i.maturity_date, repr(i.issue_price),
            repr(i.unit_principal), repr(i.comparable_yield.percent), i.comparable_yield.frequency,
            i.comparable_yield.day_count.value, i.daily_portion_basis.value)
           for i in portfolio.instruments.values()])
    write("schedule.csv",
          ["instrument_id", "period_start", "period_end", "projected_payment", "payment_type"],
          [(i.instrument_id, p.period_start, p.period_end, repr(p.amount), p.payment_type.value)
           for i in portfolio.instruments.values() for p in i.projected_payments])
    write("payments.csv", ["instrument_id", "date", "amount", "kind"],
          [(p.instrument_id, p.date, repr(p.amount), p.kind.value)
           for ps in portfolio.payments.values() for p in ps])
    write("lots.csv",
          ["holder_id", "lot_id", "instrument_id", "principal_amount", "acquisition_date",
           "cost_basis", "disposition_date", "proceeds", "basis_allocation", "holder_yield_pct",
           "allocate_to_maturity"],
          [(l.holder_id, l.lot_id, l.instrument_id, repr(l.principal_amount), l.acquisition_date,
            repr(l.cost_basis), l.disposition_date or "", "" if l.proceeds is None else repr(l.proceeds),
            l.basis_allocation.value, "" if l.holder_yield_pct is None else repr(l.holder_yield_pct),
            "" if l.allocate_to_maturity is None else repr(l.allocate_to_maturity))
           for l in portfolio.lots])
    write("holders.csv", ["holder_id", "name", "tin"],
          [(h.holder_id, h.name, h.tin) for h in portfolio.holders.values()])
    return folder

"""The issuer's published OID table against cpdi's figures, and the conventions that reproduce
it (method §11).  Pure: no I/O.

Issuers of contingent payment notes often print, beside the comparable yield and the projected
payment schedule, the interest ("OID") a holder from issue accrues in each accrual period or
calendar stretch.  Brokers' Forms 1099-OID follow that table.  Where cpdi's figure for the same
days differs at the printed precision, the difference comes from a convention the issuer used
and the instrument row does not say: the accrual grid, the day count, or how a period's interest
is spread over its days (``daily_portion_basis``, method §3).

:func:`compare_with_issuer` puts each printed row beside cpdi's figure for the same days (a
holder from issue: the daily portions of the days after ``period_start`` through
``period_end``).  :func:`find_convention` searches the conventions for the one that reproduces
every row; when none does — issuers' own tables are sometimes a cent off, rows that do not add
up to the schedule's interest — it takes the one that comes closest and lists what is left.

Convention (cpdi), method §11: a row *agrees* when cpdi's figure rounds to the printed figure at
the printed number of decimals (half a unit of the last printed decimal either way, plus 1e-9
for binary floating point).  Candidates are ranked by the number of rows that disagree, then by
the largest difference, then by how little they change the instrument as entered (its own grid
first, then its own day count, then its own daily portion basis).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator, Sequence

from cpdi.engine.daycount import VALID_FREQUENCIES, DayCount, DayCountError
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import (
    ComparableYield, DailyPortionBasis, Instrument, IssuerAccrual, PaymentType, ProjectedPayment,
)

_ONE_DAY = timedelta(days=1)
_FLOAT_SLACK = 1e-9


@dataclass(frozen=True)
class Convention:
    """The conventions a schedule is accrued under: the accrual grid (``grid`` describes it in
    words; ``periods`` are its period ends, or empty for the schedule as entered), the day
    count with its periods per year, and the daily portion basis (method §2, §3)."""

    day_count: DayCount
    frequency: int
    daily_portion_basis: DailyPortionBasis
    grid: str = "the schedule's own periods"
    periods: tuple[date, ...] = ()

    def describe(self, instrument: Instrument | None = None) -> str:
        """``day_count 30E/360, daily_portion_basis day_count`` — and the grid and frequency
        when they differ from ``instrument``'s."""
        words = [f"day_count {self.day_count.value}",
                 f"daily_portion_basis {self.daily_portion_basis.value}"]
        if instrument is None or self.frequency != instrument.comparable_yield.frequency:
            words.append(f"frequency {self.frequency}")
        if self.periods:
            words.append(f"accrual periods {self.grid}")
        return ", ".join(words)


@dataclass(frozen=True)
class RowComparison:
    """One printed row beside cpdi's figure for the same days, per unit of principal."""

    printed: IssuerAccrual
    ours: float
    running_difference: float | None = None  # cpdi's running total less the printed one

    @property
    def difference(self) -> float:
        """cpdi's figure less the printed one."""
        return self.ours - self.printed.accrued_per_unit

    @property
    def agrees(self) -> bool:
        """cpdi's figure rounds to the printed one at the printed decimals — or, in a table that
        runs from the issue date without a gap, the running totals through the row do: issuers
        that print each row as the difference of rounded running totals, or round the last row
        so the table adds up to the projected payments (method §11)."""
        half = 0.5 * 10.0 ** -self.printed.decimals + _FLOAT_SLACK
        if abs(self.difference) <= half:
            return True
        return self.running_difference is not None and abs(self.running_difference) <= half


@dataclass(frozen=True)
class IssuerComparison:
    """The issuer's table against one convention."""

    convention: Convention
    rows: tuple[RowComparison, ...]
    final_adjusted_issue_price: float  # the schedule's residual under this convention

    @property
    def agrees(self) -> bool:
        return all(r.agrees for r in self.rows)

    @property
    def disagreeing(self) -> tuple[RowComparison, ...]:
        return tuple(r for r in self.rows if not r.agrees)

    @property
    def largest_difference(self) -> float:
        return max((abs(r.difference) for r in self.rows), default=0.0)


@dataclass(frozen=True)
class ConventionSearch:
    """What :func:`find_convention` found: the table against the instrument as entered
    (``entered``), the best convention (``best``; the entered one when it agrees), and whether
    the issuer's rows add up to the schedule's interest (``table_gap``: printed total less the
    schedule's total interest, when the rows cover the whole life; else ``None``)."""

    instrument: Instrument
    entered: IssuerComparison
    best: IssuerComparison
    candidates_tried: int
    table_gap: float | None

    @property
    def entered_agrees(self) -> bool:
        return self.entered.agrees

    @property
    def reproduced(self) -> bool:
        """Some convention reproduces every printed row."""
        return self.best.agrees

    def best_instrument(self) -> Instrument:
        """The instrument under the best convention."""
        return with_convention(self.instrument, self.best.convention)


def compare_with_issuer(schedule: AccrualSchedule, rows: Sequence[IssuerAccrual],
                        convention: Convention | None = None) -> IssuerComparison:
    """Each printed row beside the interest a holder from issue accrues over the same days:
    the daily portions of ``period_start + 1 … period_end`` ((b)(3)(iii); method §3, §11)."""
    instrument = schedule.instrument
    if convention is None:
        convention = entered_convention(instrument)
    ours = [schedule.interest_between((row.period_start + _ONE_DAY).toordinal(),
                                      row.period_end.toordinal()) for row in rows]
    running = [None] * len(rows)
    if rows and rows[0].period_start == instrument.issue_date:
        printed_total = ours_total = 0.0
        for k, row in enumerate(rows):
            if k and rows[k - 1].period_end != row.period_start:
                break  # a gap: running totals no longer mean anything
            printed_total += row.accrued_per_unit
            ours_total += ours[k]
            running[k] = ours_total - printed_total
    compared = tuple(RowComparison(row, value, gap) for row, value, gap in zip(rows, ours, running))
    return IssuerComparison(convention, compared, schedule.final_adjusted_issue_price)


def entered_convention(instrument: Instrument) -> Convention:
    cy = instrument.comparable_yield
    return Convention(cy.day_count, cy.frequency, instrument.daily_portion_basis)


def with_convention(instrument: Instrument, convention: Convention) -> Instrument:
    """``instrument`` accrued under ``convention``: its day count, frequency and daily portion
    basis, and, for another grid, its projected payments moved onto that grid's periods (each
    payment on the period ending on its date; zero in the others)."""
    cy = instrument.comparable_yield
    changed = dataclasses.replace(
        instrument,
        comparable_yield=ComparableYield(cy.annual_rate, convention.day_count, convention.frequency),
        daily_portion_basis=convention.daily_portion_basis,
    )
    if convention.periods:
        changed = dataclasses.replace(
            changed, projected_payments=_on_grid(instrument, convention.periods))
    return changed


def _on_grid(instrument: Instrument, ends: tuple[date, ...]) -> tuple[ProjectedPayment, ...]:
    by_date = {p.period_end: p for p in instrument.projected_payments}
    periods, start = [], instrument.issue_date
    for end in ends:
        old = by_date.get(end)
        amount = old.amount if old is not None else 0.0
        kind = old.payment_type if old is not None else PaymentType.CONTINGENT
        periods.append(ProjectedPayment(start, end, amount, kind))
        start = end
    return tuple(periods)


def _grid_fits(instrument: Instrument, ends: tuple[date, ...]) -> bool:
    """Every projected payment other than zero falls on a period end, and the grid ends at
    maturity: the payments can be carried onto it unchanged."""
    if not ends or ends[-1] != instrument.maturity_date or ends[0] <= instrument.issue_date:
        return False
    if any(b <= a for a, b in zip(ends, ends[1:])):
        return False
    on = set(ends)
    return all(p.period_end in on for p in instrument.projected_payments if p.amount != 0.0)


def candidate_grids(instrument: Instrument, rows: Sequence[IssuerAccrual]) -> Iterator[tuple[str, int, tuple[date, ...]]]:
    """The accrual grids worth trying, as (description, periods per year, period ends):
    the periods the issuer's table prints, when they run from issue to maturity, and the grids
    the schedule builder makes from the terms (rolled back from maturity, forward from issue,
    on calendar periods) for every frequency, when the payments fit on them (method §11)."""
    from cpdi.engine.schedule_builder import (
        AccrualGrid, Anchor, ScheduleBuildError, accrual_period_dates,
    )

    seen = {tuple(p.period_end for p in instrument.projected_payments)}
    printed = tuple(r.period_end for r in rows)
    if (rows and rows[0].period_start == instrument.issue_date
            and all(a.period_end == b.period_start for a, b in zip(rows, rows[1:]))
            and printed not in seen and _grid_fits(instrument, printed)):
        seen.add(printed)
        yield "as the issuer's table prints them", instrument.comparable_yield.frequency, printed
    words = {Anchor.MATURITY: "rolled back from maturity", Anchor.ISSUE: "rolled forward from issue",
             Anchor.CALENDAR: "on calendar periods"}
    per_year = {1: "annual", 2: "semiannual", 4: "quarterly", 12: "monthly"}
    for frequency in VALID_FREQUENCIES:
        for anchor in (Anchor.MATURITY, Anchor.ISSUE, Anchor.CALENDAR):
            try:
                dates = accrual_period_dates(AccrualGrid(
                    instrument.issue_date, instrument.maturity_date, frequency, anchor))
            except ScheduleBuildError:
                continue
            ends = tuple(end for _, end in dates)
            if ends in seen or not _grid_fits(instrument, ends):
                continue
            seen.add(ends)
            yield f"{per_year[frequency]}, {words[anchor]}", frequency, ends


def candidate_conventions(instrument: Instrument, rows: Sequence[IssuerAccrual]) -> list[Convention]:
    """Every convention to try, the instrument's own first (see the module docstring)."""
    cy = instrument.comparable_yield
    day_counts = [cy.day_count] + [d for d in DayCount if d is not cy.day_count]
    bases = [instrument.daily_portion_basis] + [
        b for b in DailyPortionBasis if b is not instrument.daily_portion_basis]
    grids = [("the schedule's own periods", cy.frequency, ())]
    grids += list(candidate_grids(instrument, rows))
    return [Convention(dc, frequency, basis, grid, ends)
            for grid, frequency, ends in grids for dc in day_counts for basis in bases]


def _rank(index: int, comparison: IssuerComparison) -> tuple:
    return (len(comparison.disagreeing), round(comparison.largest_difference, 9), index)


def find_convention(instrument: Instrument, rows: Sequence[IssuerAccrual]) -> ConventionSearch:
    """The issuer's table against the instrument as entered and, when they differ, the
    convention that reproduces it or comes closest (method §11)."""
    rows = tuple(sorted(rows, key=lambda r: (r.period_start, r.period_end)))
    entered = compare_with_issuer(AccrualSchedule(instrument), rows)
    best, best_rank, tried = entered, _rank(0, entered), 1
    if not entered.agrees:
        for index, convention in enumerate(candidate_conventions(instrument, rows)):
            if index == 0:
                continue  # the entered convention, compared above
            try:
                schedule = AccrualSchedule(with_convention(instrument, convention))
            except (DayCountError, ArithmeticError, ValueError):
                continue
            tried += 1
            comparison = compare_with_issuer(schedule, rows, convention)
            rank = _rank(index, comparison)
            if rank < best_rank:
                best, best_rank = comparison, rank
    return ConventionSearch(instrument, entered, best, tried, _table_gap(instrument, rows))


def _table_gap(instrument: Instrument, rows: tuple[IssuerAccrual, ...]) -> float | None:
    """Printed total less the schedule's total interest (Σ projected payments − issue price),
    when the rows run without gap from issue to maturity; ``None`` otherwise."""
    if not rows or rows[0].period_start != instrument.issue_date:
        return None
    if rows[-1].period_end != instrument.maturity_date:
        return None
    if any(a.period_end != b.period_start for a, b in zip(rows, rows[1:])):
        return None
    total_interest = sum(p.amount for p in instrument.projected_payments) - instrument.issue_price
    return sum(r.accrued_per_unit for r in rows) - total_interest


def describe_search(search: ConventionSearch) -> list[str]:
    """The lines ``cpdi validate`` prints about the issuer's table (method §11)."""
    instrument = search.instrument
    iid = instrument.instrument_id
    n = len(search.entered.rows)
    if search.entered_agrees:
        return [f"{iid}: the issuer's OID table agrees ({n} row(s) at the printed decimals)"]
    lines = [f"{iid}: {len(search.entered.disagreeing)} of {n} row(s) of the issuer's OID table "
             f"differ from cpdi's figures under {entered_convention(instrument).describe(instrument)}"]
    best = search.best
    if best is search.entered:
        lines.append("  no other convention comes closer")
    elif best.agrees:
        lines.append(f"  reproduces the issuer's table with {best.convention.describe(instrument)}")
    else:
        lines.append(f"  closest: {best.convention.describe(instrument)} "
                     f"({len(best.disagreeing)} row(s) still differ)")
    shown = best if best.disagreeing else search.entered  # what is left, or what differed
    if shown is search.entered and best is not search.entered:
        lines.append("  as entered:")
    for row in shown.disagreeing[:10]:
        p = row.printed
        lines.append(f"  row {p.row}: {p.period_start} → {p.period_end}: printed "
                     f"{p.accrued_per_unit:.{p.decimals}f}, cpdi {row.ours:.{p.decimals + 4}f} "
                     f"({row.difference:+.{p.decimals + 4}f})")
    if len(shown.disagreeing) > 10:
        lines.append(f"  … and {len(shown.disagreeing) - 10} more row(s)")
    if search.table_gap is not None and abs(search.table_gap) > 0.5 * 10.0 ** -max(
            r.printed.decimals for r in search.entered.rows) + _FLOAT_SLACK:
        lines.append(f"  the issuer's rows add up to {search.table_gap:+.6f} per unit more than the "
                     "schedule's interest (projected payments less issue price): the printed table "
                     "is itself off by that much")
    return lines

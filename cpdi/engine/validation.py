"""Validating what the issuer published (spec §8; (b)(4)(ii)(C)).

(b)(4)(ii)(C): "The projected payment schedule must produce the comparable yield."  Real
published schedules contain typing errors and rounded yields leave residuals, so before accruing
anything we check, per instrument:

* the periods run contiguously from the issue date to the maturity date (no gap, no overlap);
* PV — the projected payments discounted at the comparable yield, period by period with the
  same period rates the accruals use — equals the issue price;
* AIP_n, the adjusted issue price after the last projected payment, is zero;
* the yield the schedule actually implies (solved for).

Tolerance (spec §8): 0.01 per 1,000 of principal unless the user sets another.  Both |PV − issue
price| and |AIP_n| must be within it.  Where they are not, the report says which single payment
would close the schedule and whether that looks like a typing error (two digits swapped, or one
digit mistyped) in the printed amount.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from cpdi.engine.daycount import year_fraction
from cpdi.engine.schedule import AccrualSchedule
from cpdi.model import Instrument

DEFAULT_TOLERANCE_PER_1000 = 0.01


@dataclass(frozen=True)
class PaymentCorrection:
    """A single projected payment that, changed to ``corrected``, would make AIP_n zero."""

    period_number: int
    period_end: date
    printed: float
    corrected: float
    looks_like: str = ""  # e.g. "digits '04' printed for '40'"


@dataclass(frozen=True)
class ScheduleValidation:
    """The §8 report for one instrument (amounts per unit of principal)."""

    instrument_id: str
    problems: tuple[str, ...]  # structural problems: gaps, overlaps, maturity mismatch
    issue_price: float
    present_value: float
    final_adjusted_issue_price: float
    comparable_yield_pct: float
    implied_yield_pct: float | None
    tolerance: float  # per unit of principal
    accepted: bool  # the user accepts a schedule outside tolerance (spec §8)
    corrections: tuple[PaymentCorrection, ...] = field(default_factory=tuple)

    @property
    def pv_difference(self) -> float:
        return self.present_value - self.issue_price

    @property
    def within_tolerance(self) -> bool:
        return (
            abs(self.pv_difference) <= self.tolerance
            and abs(self.final_adjusted_issue_price) <= self.tolerance
        )

    @property
    def structurally_valid(self) -> bool:
        return not self.problems

    @property
    def usable(self) -> bool:
        """May accruals be computed from this schedule?  Structure must be sound; a residual
        outside tolerance only when the user explicitly accepted it (spec §8)."""
        return self.structurally_valid and (self.within_tolerance or self.accepted)

    @property
    def status(self) -> str:
        if not self.structurally_valid:
            return "INVALID"
        if self.within_tolerance:
            return "OK"
        return "ACCEPTED" if self.accepted else "FAILED"


def schedule_structure_problems(instrument: Instrument) -> list[str]:
    """Periods contiguous from issue date to maturity, each of positive length (spec §2, §8)."""
    problems = []
    periods = instrument.projected_payments
    if not periods:
        return ["has no projected payment schedule rows"]
    if periods[0].period_start != instrument.issue_date:
        problems.append(
            f"first period starts {periods[0].period_start.isoformat()}, "
            f"not on the issue date {instrument.issue_date.isoformat()}"
        )
    for number, pp in enumerate(periods, start=1):
        if pp.period_end <= pp.period_start:
            problems.append(
                f"period {number} ends {pp.period_end.isoformat()}, "
                f"not after its start {pp.period_start.isoformat()}"
            )
    for number in range(1, len(periods)):
        prev, cur = periods[number - 1], periods[number]
        if cur.period_start > prev.period_end:
            problems.append(
                f"gap between period {number} ending {prev.period_end.isoformat()} "
                f"and period {number + 1} starting {cur.period_start.isoformat()}"
            )
        elif cur.period_start < prev.period_end:
            problems.append(
                f"period {number + 1} starting {cur.period_start.isoformat()} overlaps "
                f"period {number} ending {prev.period_end.isoformat()}"
            )
    if periods[-1].period_end != instrument.maturity_date:
        problems.append(
            f"last period ends {periods[-1].period_end.isoformat()}, "
            f"not on the maturity date {instrument.maturity_date.isoformat()}"
        )
    return problems


def _year_fractions(instrument: Instrument) -> list[float]:
    cy = instrument.comparable_yield
    return [
        year_fraction(cy.day_count, pp.period_start, pp.period_end, cy.frequency)
        for pp in instrument.projected_payments
    ]


def _present_value(payments: list[float], year_fractions: list[float], annual_rate: float) -> float:
    discount = 1.0
    pv = 0.0
    for amount, yf in zip(payments, year_fractions):
        discount /= 1.0 + annual_rate * yf
        pv += amount * discount
    return pv


def present_value(instrument: Instrument, annual_rate: float) -> float:
    """PV at the issue date of the projected payments at ``annual_rate``, compounded once per
    accrual period with the instrument's period rates (spec §2, §8)."""
    return _present_value(
        [pp.amount for pp in instrument.projected_payments], _year_fractions(instrument), annual_rate
    )


def implied_yield(instrument: Instrument) -> float | None:
    """The annual yield (decimal) at which the projected payments are worth the issue price —
    the yield the schedule actually produces (spec §8).  Bisection on a bracket that widens
    until it holds the root; None when no yield in (−99%, 10,000%) prices the schedule."""
    payments = [pp.amount for pp in instrument.projected_payments]
    fractions = _year_fractions(instrument)

    def excess(rate: float) -> float:
        return _present_value(payments, fractions, rate) - instrument.issue_price

    low, high = -0.5, 1.0
    while excess(high) > 0 and high < 100.0:
        high *= 2.0
    while excess(low) < 0 and low > -0.99:
        low = (low - 1.0) / 2.0
    if excess(low) < 0 or excess(high) > 0:
        return None
    for _ in range(200):
        mid = (low + high) / 2.0
        if excess(mid) > 0:
            low = mid
        else:
            high = mid
        if high - low < 1e-15:
            break
    return (low + high) / 2.0


def _typing_slips(printed: str):
    """Every figure one typing slip away from ``printed``: two adjacent digits swapped, or
    one digit mistyped.  Yields (value, description)."""
    digits = [i for i, ch in enumerate(printed) if ch.isdigit()]
    for a, b in zip(digits, digits[1:]):
        if b == a + 1 and printed[a] != printed[b]:
            text = printed[:a] + printed[b] + printed[a] + printed[b + 1:]
            yield float(text), f"digits '{printed[a:b + 1]}' printed for '{printed[b]}{printed[a]}' ({text})"
    for i in digits:
        for ch in "0123456789":
            if ch != printed[i]:
                text = printed[:i] + ch + printed[i + 1:]
                yield float(text), f"digit '{printed[i]}' printed for '{ch}' ({text})"


SLIP_MATCH = 0.001  # how close a slip-corrected figure must come to the closing payment


def _typing_slip(printed: float, corrected: float) -> tuple[str, float]:
    """If a single typing slip in the printed amount (at four decimals) gives a figure within
    ``SLIP_MATCH`` of ``corrected`` — ten units of the last printed decimal, room for the
    rounding of the other printed payments — describe it, with how far off it is; else
    ('', inf)."""
    best, best_gap = "", float("inf")
    for value, description in _typing_slips(f"{printed:.4f}"):
        gap = abs(value - corrected)
        if gap <= SLIP_MATCH and gap < best_gap:
            best, best_gap = description, gap
    return best, best_gap


def payment_corrections(
    instrument: Instrument, schedule: AccrualSchedule, tolerance: float
) -> tuple[PaymentCorrection, ...]:
    """Which single printed payment, changed, would make AIP_n zero?

    Raising payment k by δ lowers AIP_n by δ × Π_{j>k}(1 + r_j), so the payment that closes
    the schedule is ``printed_k + AIP_n / Π_{j>k}(1 + r_j)``.  The final payment is always
    offered; any other payment only where the change looks like a typing slip in the printed
    figure (compared at four decimals).  The closest slip comes first."""
    residual = schedule.final_adjusted_issue_price
    periods = schedule.periods
    growth_after = 1.0
    corrections = []
    for period in reversed(periods):
        corrected = period.projected_payment + residual / growth_after
        slip, gap = _typing_slip(period.projected_payment, corrected)
        if slip or period.number == len(periods):
            corrections.append((
                gap,
                PaymentCorrection(
                    period.number, period.period_end, period.projected_payment, corrected, slip
                ),
            ))
        growth_after *= 1.0 + period.rate
    # the closest typing slip first; the final payment (always offered) last if no slip
    corrections.sort(key=lambda pair: (pair[0], -pair[1].period_number))
    return tuple(c for _, c in corrections)


def validate_schedule(
    instrument: Instrument,
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: bool | None = None,
) -> ScheduleValidation:
    """Spec §8 for one instrument.  ``tolerance_per_1000`` is in currency per 1,000 of
    principal; ``accept_residual`` (or the instrument's own flag) accepts a schedule outside
    tolerance explicitly."""
    tolerance = tolerance_per_1000 * instrument.unit_principal / 1000.0
    accepted = instrument.accept_residual if accept_residual is None else accept_residual
    problems = schedule_structure_problems(instrument)
    cy_pct = instrument.comparable_yield.percent
    if problems:
        return ScheduleValidation(
            instrument.instrument_id, tuple(problems), instrument.issue_price, float("nan"),
            float("nan"), cy_pct, None, tolerance, accepted,
        )
    schedule = AccrualSchedule(instrument)
    pv = present_value(instrument, instrument.comparable_yield.annual_rate)
    implied = implied_yield(instrument)
    report = ScheduleValidation(
        instrument_id=instrument.instrument_id,
        problems=(),
        issue_price=instrument.issue_price,
        present_value=pv,
        final_adjusted_issue_price=schedule.final_adjusted_issue_price,
        comparable_yield_pct=cy_pct,
        implied_yield_pct=None if implied is None else implied * 100.0,
        tolerance=tolerance,
        accepted=accepted,
    )
    if report.within_tolerance:
        return report
    return ScheduleValidation(
        **{**report.__dict__, "corrections": payment_corrections(instrument, schedule, tolerance)}
    )


def _signed(value: float) -> str:
    """``+1.2345`` / ``-1.2345``, and ``+0.0000`` rather than ``-0.0000``."""
    text = f"{value:+.4f}"
    return "+0.0000" if text == "-0.0000" else text


def describe(report: ScheduleValidation, unit_principal: float | None = None) -> str:
    """A readable block for ``cpdi validate`` (one line when the schedule is OK)."""
    head = f"{report.instrument_id}: {report.status}"
    if not report.structurally_valid:
        return head + "\n" + "\n".join(f"  - {p}" for p in report.problems)
    implied = (
        "none found" if report.implied_yield_pct is None else f"{report.implied_yield_pct:.6f}%"
    )
    figures = (
        f"PV at {report.comparable_yield_pct:.4f}% = {report.present_value:.4f} vs issue price "
        f"{report.issue_price:.4f} (diff {_signed(report.pv_difference)}); final AIP "
        f"{_signed(report.final_adjusted_issue_price)}; implied yield {implied}; tolerance "
        f"{report.tolerance:.4f} per unit"
    )
    if report.within_tolerance:
        return f"{head}  {figures}"
    lines = [head, f"  {figures}"]
    if report.accepted:
        lines.append("  residual outside tolerance ACCEPTED by the user; accruals use the schedule as printed")
    else:
        lines.append(
            "  the projected payment schedule does not produce the comparable yield "
            "((b)(4)(ii)(C)); no accruals are computed from it"
        )
    for c in report.corrections:
        why = f" — looks like a typing error: {c.looks_like}" if c.looks_like else ""
        lines.append(
            f"  fix: period {c.period_number} payment due {c.period_end.isoformat()} printed "
            f"{c.printed:.4f}; {c.corrected:.4f} would make the final AIP zero{why}"
        )
    if not report.accepted:
        lines.append(
            "  to accrue from it anyway, set accept_residual=yes on the instrument or pass "
            f"--accept-residual {report.instrument_id}"
        )
    return "\n".join(lines)

"""Validating what the issuer published (method §8; (b)(4)(ii)(C)).

(b)(4)(ii)(C): "The projected payment schedule must produce the comparable yield."  Real
published schedules contain typing errors and rounded yields leave residuals, so before accruing
anything we check, per instrument:

* the periods run contiguously from the issue date to the maturity date (no gap, no overlap);
* PV — the projected payments discounted at the comparable yield, period by period with the
  same period rates the accruals use — equals the issue price;
* AIP_n, the adjusted issue price after the last projected payment, is zero;
* the yield the schedule actually implies (solved for).

Tolerance (method §8): 0.01 per 1,000 of principal unless the user sets another.  Both |PV − issue
price| and |AIP_n| must be within it.  Where they are not, the report says which single payment
would close the schedule and whether that looks like a typing error (two digits swapped, or one
digit mistyped) in the printed amount.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from cpdi.engine.daycount import VALID_FREQUENCIES, DayCountError, year_fraction
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
    # problems that stop the schedule being used at all, each a readable sentence: gaps,
    # overlaps, a maturity mismatch (schedule_structure_problems), and terms no schedule can
    # be built or priced from — a period rate of −100% or below, a day count the calendar
    # cannot give, figures that overflow (schedule_term_problems, schedule_figure_problems)
    problems: tuple[str, ...]
    issue_price: float
    present_value: float
    final_adjusted_issue_price: float
    comparable_yield_pct: float
    implied_yield_pct: float | None
    tolerance: float  # per unit of principal
    accepted: bool  # the user accepts a schedule outside tolerance (method §8)
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
        outside tolerance only when the user explicitly accepted it (method §8)."""
        return self.structurally_valid and (self.within_tolerance or self.accepted)

    @property
    def status(self) -> str:
        if not self.structurally_valid:
            return "INVALID"
        if self.within_tolerance:
            return "OK"
        return "ACCEPTED" if self.accepted else "FAILED"


def schedule_structure_problems(instrument: Instrument) -> list[str]:
    """Periods contiguous from issue date to maturity, each of positive length (method §2, §8)."""
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


def _figure(value: float) -> str:
    """A yield or year count as a user would type it: 5.46, -50, 2, 1e+06."""
    return f"{value:.10g}"


def _period(number: int, start: date, end: date) -> str:
    return f"period {number} ({start.isoformat()} → {end.isoformat()})"


def _first_and_count(found: list[str], later: str) -> list[str]:
    """The first of a run of like problems, with how many later periods share it."""
    if len(found) <= 1:
        return found
    return [f"{found[0]} (and {len(found) - 1} later {later})"]


def schedule_term_problems(instrument: Instrument) -> list[str]:
    """Terms no schedule can be built or priced from (method §2, §8), each named for the user.

    * the issue price, unit principal, comparable yield and projected payments must be finite
      numbers, the issue price and unit principal above zero, the frequency 1, 2, 4 or 12;
    * every period's year fraction must exist: an ACT/ACT stub whose notional periods would
      reach back before 0001-01-01 has none (:class:`DayCountError`, method §2);
    * every period rate ``r_k = yield × year_fraction`` (method §2) must be finite and above
      −100%: discounting divides by ``1 + r_k`` and compounding multiplies by it, so at −100%
      or below PV and AIP lose their meaning (a −50% yield cannot discount a two-year period).

    Periods that do not end after their start are left to :func:`schedule_structure_problems`.
    A run of periods with the same problem is reported once, with a count.
    """
    problems = []
    cy = instrument.comparable_yield
    for name, value in (
        ("issue_price", instrument.issue_price), ("unit_principal", instrument.unit_principal)
    ):
        if not (math.isfinite(value) and value > 0.0):
            problems.append(
                f"{name} {value!r} is not a number above zero; " + (
                    "enter it per unit of principal, e.g. 1000" if name == "issue_price"
                    else "enter the principal the schedule amounts are quoted per, e.g. 1000"
                )
            )
    if not math.isfinite(cy.annual_rate):
        problems.append(
            f"the comparable yield {cy.percent!r}% is not a finite number; check "
            "comparable_yield_pct"
        )
    if cy.frequency not in VALID_FREQUENCIES:
        problems.append(
            f"frequency {cy.frequency!r} is not 1, 2, 4 or 12 accrual periods a year; check "
            "frequency"
        )
    if problems:
        return problems
    payments, calendar, rates, overflows = [], [], [], []
    for number, pp in enumerate(instrument.projected_payments, start=1):
        where = _period(number, pp.period_start, pp.period_end)
        if not math.isfinite(pp.amount):
            payments.append(f"{where}: the projected payment {pp.amount!r} is not a finite number")
        if pp.period_end <= pp.period_start:
            continue
        try:
            yf = year_fraction(cy.day_count, pp.period_start, pp.period_end, cy.frequency,
                               instrument.maturity_date)
        except DayCountError as error:
            calendar.append(f"{where}: {error}; check the period dates or the day_count")
            continue
        rate = cy.annual_rate * yf
        if not math.isfinite(rate):
            overflows.append(
                f"the period rate for {pp.period_start.isoformat()} → {pp.period_end.isoformat()} "
                f"(period {number}) overflows: the comparable yield {_figure(cy.percent)}% × "
                f"{_figure(yf)} years under {cy.day_count.value} is beyond any number a computer "
                "float holds; check comparable_yield_pct"
            )
        elif 1.0 + rate <= 0.0:
            rates.append(
                f"the period rate for {pp.period_start.isoformat()} → {pp.period_end.isoformat()} "
                f"(period {number}) is {_figure(rate * 100.0)}% — -100% or below, so the "
                f"comparable yield {_figure(cy.percent)}% cannot discount this period of "
                f"{_figure(yf)} years under {cy.day_count.value}; check comparable_yield_pct"
            )
    return (
        payments
        + _first_and_count(calendar, "periods")
        + _first_and_count(overflows, "periods")
        + _first_and_count(rates, "periods")
    )


def schedule_figure_problems(schedule: AccrualSchedule, pv: float) -> list[str]:
    """Figures too large for a computer float (about 1.8e308): the first period whose interest
    or adjusted issue price overflows, or a present value at the comparable yield that does
    (method §3, §8).  Nothing built on such figures means anything, so the instrument is
    reported rather than accrued."""
    instrument = schedule.instrument
    yield_pct = _figure(instrument.comparable_yield.percent)
    for p in schedule.periods:
        if not (math.isfinite(p.interest) and math.isfinite(p.adjusted_issue_price_end)):
            return [
                f"the figures overflow in {_period(p.number, p.period_start, p.period_end)}: "
                f"from an adjusted issue price of {p.adjusted_issue_price_start!r} at its start "
                f"and a period rate of {_figure(p.rate * 100.0)}% (comparable yield "
                f"{yield_pct}%), the interest or the adjusted issue price at its end passes the "
                "largest number a computer float holds (about 1.8e308); check "
                "comparable_yield_pct, issue_price and the projected payments"
            ]
    if not math.isfinite(pv):
        return [
            f"the present value of the projected payments at the comparable yield {yield_pct}% "
            "overflows (it passes the largest number a computer float holds, about 1.8e308); "
            "check comparable_yield_pct, issue_price and the projected payments"
        ]
    return []


def _year_fractions(instrument: Instrument) -> list[float]:
    cy = instrument.comparable_yield
    return [
        year_fraction(cy.day_count, pp.period_start, pp.period_end, cy.frequency,
                      instrument.maturity_date)
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
    accrual period with the instrument's period rates (method §2, §8)."""
    return _present_value(
        [pp.amount for pp in instrument.projected_payments], _year_fractions(instrument), annual_rate
    )


def implied_yield(instrument: Instrument) -> float | None:
    """The annual yield (decimal) at which the projected payments are worth the issue price —
    the yield the schedule actually produces (method §8).  Bisection on a bracket that widens
    until it holds the root; None when no yield in the bracket prices the schedule.

    The bracket runs up to 10,000% and down to 99% of the way to ``max(−100%, −1 / longest
    year fraction)``: below ``−1 / yf`` a period's factor ``1 + r × yf`` is zero or negative
    and the PV has no meaning (a two-year period cannot be discounted at −50%), so the search
    never goes there.  A schedule whose periods have no length, or whose PV is not a number
    (NaN) at an end of the bracket, has no implied yield (None)."""
    payments = [pp.amount for pp in instrument.projected_payments]
    fractions = _year_fractions(instrument)
    longest = max(fractions, default=0.0)
    if not longest > 0.0:
        return None
    floor = max(-1.0, -1.0 / longest)  # every 1 + r × yf_k > 0 above it

    def excess(rate: float) -> float:
        return _present_value(payments, fractions, rate) - instrument.issue_price

    low, high = (-0.5 if floor < -0.5 else floor / 2.0), 1.0
    while excess(high) > 0 and high < 100.0:
        high *= 2.0
    while excess(low) < 0 and low > 0.99 * floor:
        low = (low + floor) / 2.0
    at_low, at_high = excess(low), excess(high)
    if math.isnan(at_low) or math.isnan(at_high) or at_low < 0 or at_high > 0:
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
        if not 0.0 < growth_after < math.inf:  # under- or overflowed: no figure to offer
            break
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


def invalid_report(
    instrument: Instrument,
    problems: list[str] | tuple[str, ...],
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: bool | None = None,
) -> ScheduleValidation:
    """The INVALID report of an instrument with ``problems`` (method §8): no figures, never
    usable, whatever the user accepts.  Callers that meet an error validation did not foresee
    use it to make that error the instrument's problem rather than everyone's."""
    tolerance = tolerance_per_1000 * instrument.unit_principal / 1000.0
    accepted = instrument.accept_residual if accept_residual is None else accept_residual
    return ScheduleValidation(
        instrument.instrument_id, tuple(problems), instrument.issue_price, float("nan"),
        float("nan"), instrument.comparable_yield.percent, None, tolerance, accepted,
    )


def validate_schedule(
    instrument: Instrument,
    tolerance_per_1000: float = DEFAULT_TOLERANCE_PER_1000,
    accept_residual: bool | None = None,
) -> ScheduleValidation:
    """Method §8 for one instrument.  ``tolerance_per_1000`` is in currency per 1,000 of
    principal; ``accept_residual`` (or the instrument's own flag) accepts a schedule outside
    tolerance explicitly.

    Never raises for an instrument with finite terms: a schedule that cannot be built or
    priced — broken structure, a period rate of −100% or below, a day count the calendar
    cannot give, figures that overflow — is an INVALID report naming why (method §8), so one
    instrument's problem never stops the others."""
    tolerance = tolerance_per_1000 * instrument.unit_principal / 1000.0
    accepted = instrument.accept_residual if accept_residual is None else accept_residual
    problems = schedule_structure_problems(instrument) + schedule_term_problems(instrument)
    if problems:
        return invalid_report(instrument, problems, tolerance_per_1000, accepted)
    schedule = AccrualSchedule(instrument)
    pv = present_value(instrument, instrument.comparable_yield.annual_rate)
    problems = schedule_figure_problems(schedule, pv)
    if problems:
        return invalid_report(instrument, problems, tolerance_per_1000, accepted)
    implied = implied_yield(instrument)
    report = ScheduleValidation(
        instrument_id=instrument.instrument_id,
        problems=(),
        issue_price=instrument.issue_price,
        present_value=pv,
        final_adjusted_issue_price=schedule.final_adjusted_issue_price,
        comparable_yield_pct=instrument.comparable_yield.percent,
        implied_yield_pct=None if implied is None else implied * 100.0,
        tolerance=tolerance,
        accepted=accepted,
    )
    if report.within_tolerance:
        return report
    return ScheduleValidation(
        **{**report.__dict__, "corrections": payment_corrections(instrument, schedule, tolerance)}
    )


def _places(report: ScheduleValidation) -> int | None:
    """Decimals for the figures of ``describe``: 4, or as many more as it takes for the
    printed residuals to sit on the same side of the printed tolerance as the real ones — a
    refusal never reads "+0.0100 … tolerance 0.0100".  None: no fixed number of decimals
    shows it; print the shortest repr instead."""
    tolerance = report.tolerance
    residuals = (report.pv_difference, report.final_adjusted_issue_price)
    for places in range(4, 16):
        printed_tolerance = float(f"{tolerance:.{places}f}")
        if all(
            (abs(float(f"{x:.{places}f}")) > printed_tolerance) == (abs(x) > tolerance)
            for x in residuals
        ):
            return places
    return None


def _signed(value: float, places: int | None = 4) -> str:
    """``+1.2345`` / ``-1.2345``, and ``+0.0000`` rather than ``-0.0000``; with ``places``
    None, the shortest repr with its sign."""
    if places is None:
        text = repr(value) if value < 0 or value != value else f"+{value!r}"
        return "+0.0" if text == "-0.0" else text
    text = f"{value:+.{places}f}"
    return text.replace("-", "+") if float(text) == 0.0 else text


def describe(report: ScheduleValidation, unit_principal: float | None = None) -> str:
    """A readable block for ``cpdi validate`` (one line when the schedule is OK).  An INVALID
    report lists its problems, one per line — this is how a degenerate instrument's reason
    reaches the user.  Figures have four decimals, or more when four would hide why a
    residual is outside tolerance."""
    head = f"{report.instrument_id}: {report.status}"
    if not report.structurally_valid:
        return head + "\n" + "\n".join(f"  - {p}" for p in report.problems)
    implied = (
        "none found" if report.implied_yield_pct is None else f"{report.implied_yield_pct:.6f}%"
    )
    places = _places(report)

    def plain(value: float) -> str:
        return repr(value) if places is None else f"{value:.{places}f}"

    figures = (
        f"PV at {report.comparable_yield_pct:.4f}% = {plain(report.present_value)} vs issue "
        f"price {plain(report.issue_price)} (diff {_signed(report.pv_difference, places)}); "
        f"final AIP {_signed(report.final_adjusted_issue_price, places)}; implied yield "
        f"{implied}; tolerance {plain(report.tolerance)} per unit"
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

"""Likely typing mistakes in what the issuer published, named (method §8).

Validation (:mod:`cpdi.engine.validation`) says *that* a projected payment schedule does not
produce its comparable yield ((b)(4)(ii)(C)); the checks here say *why*, when the numbers point
at one common slip, so the message can name the fix.
"""

from __future__ import annotations

from cpdi.engine.validation import ScheduleValidation

FRACTION_MATCH = 0.02
"""How close (relatively) the yield a schedule implies must come to 100 × the stated yield
for the stated figure to be read as a fraction typed for a percentage."""


def comparable_yield_typed_as_fraction(report: ScheduleValidation) -> float | None:
    """The percentage the user most likely meant, when the comparable yield was typed as a
    fraction (``0.0546`` for 5.46%): the stated yield is under 1 (percent), the schedule fails
    at it, and the yield the schedule implies is within 2% of 100 times it.  ``None``
    otherwise.  Convention ours (method §8): a hint for the message, never a correction."""
    stated = report.comparable_yield_pct
    implied = report.implied_yield_pct
    if report.within_tolerance or implied is None or not 0 < stated < 1:
        return None
    meant = stated * 100.0
    if abs(implied / meant - 1.0) <= FRACTION_MATCH:
        return meant
    return None

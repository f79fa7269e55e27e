"""Positive and negative adjustments and their annual netting, (b)(6) (method §5).

(b)(6)(i): if the actual amount of a contingent payment is more than its projected amount, the
difference is a positive adjustment on the date of the payment; if less, a negative adjustment.
(b)(6)(ii): the positive and negative adjustments of a taxable year are netted.
(b)(6)(ii)(A): a net positive adjustment is additional interest for the year.
(b)(6)(iii)(A): a net negative adjustment first reduces the year's interest accruals;
(B): any excess is ordinary loss, up to the holder's total interest inclusions less the net
negative adjustments treated as ordinary loss in prior years;
(C): whatever is left is a negative adjustment carryforward, a negative adjustment on the first
day of the next taxable year (or, in the year of a disposition, a reduction of the amount
realized — see dispositions).
"""

from __future__ import annotations

from dataclasses import dataclass


def payment_adjustment(actual: float, projected: float) -> float:
    """``actual − projected`` for one payment received (b)(6)(i): positive → a positive
    adjustment, negative → a negative adjustment, on the payment date."""
    return actual - projected


@dataclass(frozen=True)
class AnnualNetting:
    """The (b)(6)(ii)–(iii) netting of one lot for one taxable year (dollars)."""

    net_positive_adjustment: float
    net_negative_adjustment: float
    interest_reduction: float  # (b)(6)(iii)(A)
    interest_income: float
    ordinary_loss: float  # (b)(6)(iii)(B)
    carryforward_out: float  # (b)(6)(iii)(C)


def net_adjustments(
    interest_accrued: float,
    positive_adjustments: float,
    negative_adjustments: float,
    carryforward_in: float,
    prior_interest_inclusions: float,
    prior_ordinary_losses: float,
) -> AnnualNetting:
    """Net a year's adjustments for one lot (b)(6)(ii)–(iii); method §5::

        net = positive − negative − carryforward_in
        net ≥ 0: interest income = accrued + net                         (b)(6)(ii)(A)
        net < 0: NNA = −net; reduction = min(NNA, accrued)               (b)(6)(iii)(A)
                 income = accrued − reduction
                 ordinary loss = min(NNA − reduction,
                                     TII − prior ordinary losses)        (b)(6)(iii)(B)
                 carryforward = NNA − reduction − ordinary loss          (b)(6)(iii)(C)

    TII, the total interest inclusions, includes this year's income after the reduction.
    """
    net = positive_adjustments - negative_adjustments - carryforward_in
    if net >= 0.0:
        return AnnualNetting(net, 0.0, 0.0, interest_accrued + net, 0.0, 0.0)
    nna = -net
    reduction = min(nna, max(interest_accrued, 0.0))
    income = interest_accrued - reduction
    excess = nna - reduction
    total_inclusions = prior_interest_inclusions + income
    ordinary_loss = min(excess, max(0.0, total_inclusions - prior_ordinary_losses))
    return AnnualNetting(0.0, nna, reduction, income, ordinary_loss, excess - ordinary_loss)

"""Dispositions and the character of gain or loss, (b)(7)(iv)–(v) and (b)(8) (method §7).

(b)(8)(i): gain on a sale, exchange or retirement is interest income.
(b)(8)(ii): loss is ordinary to the extent the holder's total interest inclusions exceed the
net negative adjustments already taken as ordinary loss; any additional loss is loss from the
sale, exchange or retirement (capital, for a capital asset).
(b)(8)(iii)(A): if no contingent payment remains due under the projected payment schedule at the
time of the disposition, the whole gain or loss is gain or loss from the sale (capital);
(B): except that gain is interest income up to a positive adjustment spread under (b)(9)(ii)(F)
or (G) and not yet included.
(b)(6)(iii)(C): a negative adjustment carryforward left in the year of a disposition reduces the
amount realized.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DispositionCharacter:
    """How a disposition's gain or loss is reported (dollars, each ≥ 0)."""

    amount_realized: float
    gain_loss: float
    ordinary_income: float  # (b)(8)(i)
    ordinary_loss: float  # (b)(8)(ii)
    capital_loss: float  # (b)(8)(ii) excess, or (b)(8)(iii)
    capital_gain: float  # (b)(8)(iii) only


def amount_realized(consideration: float, carryforward: float) -> float:
    """Consideration less the negative adjustment carryforward left after the year's netting
    (b)(6)(iii)(C).  For a retirement at maturity the consideration is the *projected* final
    payment (b)(7)(iv); for a call, the redemption amount (b)(7)(v); for a sale, the proceeds."""
    return consideration - carryforward


def character_of_gain_or_loss(
    gain_loss: float,
    total_interest_inclusions: float,
    total_ordinary_losses: float,
    contingent_payment_remains: bool,
    realized: float,
    unaccrued_positive_adjustment: float = 0.0,
) -> DispositionCharacter:
    """Split a disposition's gain or loss by character (b)(8); method §7.

    ``total_interest_inclusions`` and ``total_ordinary_losses`` include the disposition year's
    netting (the loss cap of (b)(8)(ii) counts every net negative adjustment taken as ordinary
    loss so far).  ``unaccrued_positive_adjustment`` is the positive adjustment spread under
    (b)(9)(ii)(G) and not yet taken into account: (b)(8)(iii)(B) keeps gain interest up to it."""
    if not contingent_payment_remains:  # (b)(8)(iii)(A)
        gain = max(0.0, gain_loss)
        interest = min(gain, max(0.0, unaccrued_positive_adjustment))  # (b)(8)(iii)(B)
        return DispositionCharacter(
            realized, gain_loss, interest, 0.0, max(0.0, -gain_loss), gain - interest
        )
    if gain_loss >= 0.0:  # (b)(8)(i)
        return DispositionCharacter(realized, gain_loss, gain_loss, 0.0, 0.0, 0.0)
    loss = -gain_loss
    cap = max(0.0, total_interest_inclusions - total_ordinary_losses)  # (b)(8)(ii)
    ordinary = min(loss, cap)
    return DispositionCharacter(realized, gain_loss, 0.0, ordinary, loss - ordinary, 0.0)

"""Broker reconciliation: each figure a broker reported on Form 1099-OID, 1099-INT or 1099-B
against cpdi's own, and the known causes that explain a difference (method §12).

INTERFACE (fixed; the implementation is being written): :func:`reconcile` returns one
:class:`ReconciliationLine` per broker figure, ``difference = broker_amount − cpdi_amount``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Cause:
    """A known cause of a difference and the amount it accounts for (broker − cpdi)."""

    name: str  # e.g. "allocation", "projected_vs_actual", "carryforward", "issuer_table", "rounding"
    amount: float
    text: str  # one sentence a reviewer reads


@dataclass(frozen=True)
class ReconciliationLine:
    """One broker figure against cpdi's (``reconciliation_YYYY.csv``).  ``explained`` is true
    when the difference is within rounding or the ``causes`` add up to it; otherwise the line
    is flagged and ``explanation`` says what to check."""

    holder_id: str
    instrument_id: str
    form: str
    box: str
    broker_amount: float
    cpdi_amount: float
    difference: float
    explanation: str
    explained: bool
    lot_id: str = ""
    causes: tuple[Cause, ...] = ()

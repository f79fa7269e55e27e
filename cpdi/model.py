"""The domain objects: small frozen dataclasses with no I/O.

Amounts in a schedule or payment are *per unit of principal* (per ``unit_principal``, usually
1,000); amounts on a lot are dollars for the whole lot.  Money is a ``float`` computed
unrounded and rounded only when presented; dates are ``datetime.date``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date

from cpdi.engine.daycount import DayCount, period_rate

FIRST_TAX_YEAR, LAST_TAX_YEAR = 1900, 2199
"""The tax years cpdi computes (the command line and the Python API refuse others)."""

MAX_TOLERANCE_PER_1000 = 1.0
"""The widest validation tolerance, per 1,000 of principal.  Convention ours (method §8): a
wider one would pass real errors in a schedule as rounding; a schedule that far off is used
only when accepted explicitly (``accept_residual``)."""


class PaymentType(enum.Enum):
    """A projected payment is fixed or contingent (method §1; (b)(4)(ii))."""

    FIXED = "fixed"
    CONTINGENT = "contingent"


class DailyPortionBasis(enum.Enum):
    """How a period's interest is spread over its days (method §3).

    ``calendar_days`` (default): every day of the period gets the same ratable portion, as
    (b)(3)(iii) reads.  ``day_count``: each day weighs what the instrument's day count gives it
    (a 31st may weigh 0 under 30/360, the last day of February 3), as issuers' published OID
    tables spread a period's interest; method §3 says when a holder may use it."""

    CALENDAR_DAYS = "calendar_days"
    DAY_COUNT = "day_count"


class PaymentKind(enum.Enum):
    """An actual payment pays a scheduled period end, or redeems the note on an issuer call."""

    SCHEDULED = "scheduled"
    REDEMPTION = "redemption"


class DispositionKind(enum.Enum):
    """How a lot with a ``disposition_date`` leaves the holder (lots.csv ``disposition_kind``,
    method §7): ``sale`` to another holder (the buyer holds the sale date), or ``conversion``
    into the issuer's stock (a retirement in exchange for stock: the converting holder holds the
    conversion date; the amount realized is the stock's fair market value plus any cash,
    Rev. Rul. 2002-31; (b)(8))."""

    SALE = "sale"
    CONVERSION = "conversion"


class FilerType(enum.Enum):
    """Who files the return a holder's figures go on (holders.csv ``filer_type``); the form
    lines each kind of filer uses are template data (``templates/forms.toml``, method §12)."""

    INDIVIDUAL = "individual"
    TRUST = "trust"  # trusts and estates, Form 1041
    CORPORATION = "corporation"  # C corporations, Form 1120
    PARTNERSHIP = "partnership"  # Form 1065
    EXEMPT = "exempt"  # organisations exempt under section 501(a)


class BasisReported(enum.Enum):
    """What the broker's Form 1099-B says of a disposed lot (lots.csv ``basis_reported``); it
    chooses the Form 8949 box (method §12): ``yes`` basis reported to the IRS (box A or D),
    ``no`` a 1099-B without basis reported (B or E), ``no_1099`` no 1099-B at all (C or F)."""

    YES = "yes"
    NO = "no"
    NO_1099 = "no_1099"


class BasisAllocationMethod(enum.Enum):
    """How a holder allocates a basis different from the adjusted issue price (method §6)."""

    PROPORTIONAL = "proportional"
    STRAIGHT_LINE = "straight_line"
    MATURITY = "maturity"
    YIELD = "yield"


@dataclass(frozen=True)
class ComparableYield:
    """The comparable yield of (b)(4)(i), compounded once per accrual period (method §1), kept
    with the day count and frequency that turn it into a period rate (a yield never travels
    alone)."""

    annual_rate: float  # decimal: 0.0546 for 5.46%
    day_count: DayCount
    frequency: int

    @property
    def percent(self) -> float:
        return self.annual_rate * 100.0

    def period_rate(self, start: date, end: date, termination: date | None = None) -> float:
        """Rate for the accrual period from ``start`` to ``end`` (method §2); ``termination``
        is the maturity date, which only ``30E/360 ISDA`` looks at."""
        return period_rate(self.annual_rate, self.day_count, start, end, self.frequency,
                           termination)

    def at(self, annual_rate: float) -> "ComparableYield":
        """The same conventions at another rate (used to solve for implied yields)."""
        return ComparableYield(annual_rate, self.day_count, self.frequency)


@dataclass(frozen=True)
class ProjectedPayment:
    """One row of the projected payment schedule: the accrual period ``(start, end]`` and the
    payment due on ``end`` (method §2), per unit of principal."""

    period_start: date
    period_end: date
    amount: float
    payment_type: PaymentType = PaymentType.CONTINGENT


@dataclass(frozen=True)
class Instrument:
    """A contingent payment debt instrument with its issuer-published comparable yield and
    projected payment schedule ((b)(4))."""

    instrument_id: str
    issue_date: date
    maturity_date: date
    issue_price: float  # per unit of principal
    unit_principal: float
    comparable_yield: ComparableYield
    projected_payments: tuple[ProjectedPayment, ...]
    description: str = ""
    accept_residual: bool = False  # the user accepts a schedule outside tolerance (method §8)
    daily_portion_basis: DailyPortionBasis = DailyPortionBasis.CALENDAR_DAYS  # method §3
    # where the comparable yield and projected payment schedule were read (shown on the
    # instrument sheet; a reviewer agrees the figures to it)
    source_document: str = ""  # e.g. "Pricing supplement dated 2017-08-29, 424B2"
    source_page: str = ""  # e.g. "PS-22"


@dataclass(frozen=True)
class IssuerAccrual:
    """One row of an issuer's published OID table (``issuer_accruals.csv``): the interest a
    holder from issue accrues from the day after ``period_start`` through ``period_end``, per
    unit of principal, as printed — ``decimals`` is how many decimals were printed, the
    precision it is compared at (method §11)."""

    instrument_id: str
    period_start: date
    period_end: date
    accrued_per_unit: float
    decimals: int
    row: int = 0  # its row in the input, for messages


@dataclass(frozen=True)
class ActualPayment:
    """What was actually paid, per unit of principal, on ``date``."""

    instrument_id: str
    date: date
    amount: float
    kind: PaymentKind = PaymentKind.SCHEDULED
    # the day the amount of a contingent payment became fixed, if before it was paid; more than
    # six months before ``date`` it changes the schedule from that day ((b)(9)(ii), method §13)
    fixing_date: date | None = None


@dataclass(frozen=True)
class Lot:
    """A tax lot: one acquisition of ``principal_amount`` of an instrument by a holder."""

    holder_id: str
    lot_id: str
    instrument_id: str
    principal_amount: float
    acquisition_date: date
    cost_basis: float  # dollars, whole lot
    disposition_date: date | None = None
    proceeds: float | None = None
    basis_allocation: BasisAllocationMethod = BasisAllocationMethod.PROPORTIONAL
    holder_yield_pct: float | None = None
    allocate_to_maturity: float | None = None  # dollars of the (b)(9)(i) difference
    basis_reported: BasisReported | None = None  # None: by the covered-security rules (method §12)
    # -- trade dates (method §12): the holding period and Form 8949's dates run from them;
    # the ledger's days from the settlement dates above.  None: the settlement date.
    acquisition_trade_date: date | None = None
    disposition_trade_date: date | None = None
    # -- conversion into stock (method §7): ``proceeds`` is then the cash received, if any ----
    disposition_kind: DispositionKind = DispositionKind.SALE
    stock_fair_market_value: float | None = None  # dollars, the stock received on conversion
    # -- opening balances (method §14): a lot computed elsewhere before ``opening_year`` ------
    # The ledger starts on 1 January of ``opening_year`` from this state (dollars, whole lot);
    # the (b)(9)(i) plan still follows from the acquisition date and cost.
    opening_year: int | None = None
    opening_adjusted_basis: float | None = None  # adjusted basis at the start of opening_year
    opening_carryforward: float = 0.0  # negative adjustment carryforward into opening_year
    prior_interest_inclusions: float = 0.0  # interest included in income before opening_year
    prior_ordinary_losses: float = 0.0  # net negative adjustments taken as ordinary loss before

    @property
    def opens_later(self) -> bool:
        """Does the ledger start from opening balances rather than the acquisition?"""
        return self.opening_year is not None and self.opening_year > self.acquisition_date.year


@dataclass(frozen=True)
class BrokerFigure:
    """One figure a broker reported to a holder (``broker_1099.csv``): a box of Form 1099-OID,
    1099-INT or 1099-B for an instrument and tax year, for the whole instrument or, with
    ``lot_id``, one lot; dollars as printed.  cpdi reconciles it to its own figure (method §12)."""

    holder_id: str
    instrument_id: str
    tax_year: int
    form: str  # "1099-OID", "1099-INT" or "1099-B"
    box: str  # "1", "2", "1d", "1e" …
    amount: float
    lot_id: str | None = None
    row: int = 0  # its row in the input, for messages


@dataclass(frozen=True)
class Holder:
    """A holder as holders.csv describes them; ``extra`` columns go to the workpaper cover."""

    holder_id: str
    name: str = ""
    tin: str = ""
    extra: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    filer_type: FilerType = FilerType.INDIVIDUAL

"""The input columns, declared once as data.

Each table of the input contract (docs/formats.md, "Input: a folder of CSV files, or one .xlsx
workbook") is a tuple of :class:`Column` in the order docs/formats.md lists them.  The readers parse
and check cells by ``kind``, report a blank ``required`` cell, and quote ``choices`` in their
messages; the blank input workbook and the docs are generated from the same declarations, so a
new column is added here and nowhere else.

``meaning`` is the "meaning" cell of the column's row in docs/formats.md, verbatim (markdown
backticks included; empty where the doc leaves it blank); tests/test_readers.py keeps the two
identical.  ``accept_residual`` on instruments is the explicit acceptance of a schedule outside
tolerance that method §8 requires ("an option on the instrument or the command").
"""

from __future__ import annotations

from dataclasses import dataclass

from cpdi.engine.reconciliation import FORMS, boxes_of

KINDS = ("text", "date", "decimal", "int", "choice", "bool")
"""How a cell is read: ``text`` as is (ids stay text: ``tin`` is never a number); ``date`` ISO
``YYYY-MM-DD`` or a real Excel date; ``decimal`` a plain decimal (``1,000.00`` accepted, no
currency sign); ``int`` a whole number; ``choice`` one of ``choices`` (case-insensitive);
``bool`` yes/no/true/false/1/0 (blank = no)."""


@dataclass(frozen=True)
class Column:
    """One input column: its header ``name``, how its cells are read (``kind``, one of
    :data:`KINDS`), whether a row needs a value, what it means (docs/formats.md), and, for a
    ``choice`` column or a restricted ``int``, the valid values in their canonical spelling."""

    name: str
    kind: str
    required: bool
    meaning: str
    choices: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"column {self.name!r}: kind {self.kind!r} is not one of {KINDS}")
        if self.kind == "choice" and not self.choices:
            raise ValueError(f"column {self.name!r}: a choice column needs its choices")


INSTRUMENTS: tuple[Column, ...] = (
    Column("instrument_id", "text", True, "CUSIP/ISIN or any unique id"),
    Column("description", "text", False, "shown in workpapers"),
    Column("issue_date", "date", True, ""),
    Column("maturity_date", "date", True, "must equal the last period end in the schedule"),
    Column("issue_price", "decimal", True, "per unit of principal"),
    Column(
        "unit_principal",
        "decimal",
        True,
        "the principal amount that schedule amounts are quoted per (e.g. 1000)",
    ),
    Column("comparable_yield_pct", "decimal", True, "e.g. `5.46` for 5.46%"),
    Column(
        "frequency",
        "int",
        True,
        "accrual periods per year: 1, 2, 4 or 12",
        choices=("1", "2", "4", "12"),
    ),
    Column(
        "day_count",
        "choice",
        True,
        "`30/360`, `30E/360`, `30E/360 ISDA`, `ACT/ACT` (ICMA), `ACT/ACT ISDA`, `ACT/365F` or "
        "`ACT/360` (method §2); `ACT/365` is refused as ambiguous",
        choices=("30/360", "30E/360", "30E/360 ISDA", "ACT/ACT", "ACT/ACT ISDA", "ACT/365F",
                 "ACT/360"),
    ),
    # method §8 asks for an explicit acceptance per instrument (or --accept-residual).
    Column(
        "accept_residual",
        "bool",
        False,
        "`yes` to accept a schedule whose residual is outside the validation tolerance "
        "(method §8); the workpaper then shows the residual. Blank = no",
    ),
    Column(
        "daily_portion_basis",
        "choice",
        False,
        "how a period's interest is spread over its days (method §3): `calendar_days` (default, "
        "the regulation's ratable daily portions) or `day_count` (each day weighted by the day "
        "count, as issuers' OID tables do)",
        choices=("calendar_days", "day_count"),
    ),
    Column(
        "source_document",
        "text",
        False,
        "where the comparable yield and projected payment schedule were read, e.g. `Pricing "
        "supplement dated 2017-08-29, 424B2`; shown on the workpaper's instrument sheet",
    ),
    Column("source_page", "text", False, "the page of `source_document` that prints them, e.g. `PS-22`"),
)

_PERIOD = (
    "the accrual period runs from the day after period_start through period_end (method §2); "
    "its payment is due on period_end"
)

SCHEDULE: tuple[Column, ...] = (
    Column("instrument_id", "text", True, ""),
    Column("period_start", "date", True, _PERIOD),
    Column("period_end", "date", True, _PERIOD),
    Column(
        "projected_payment",
        "decimal",
        True,
        "per unit of principal; the final row includes principal",
    ),
    Column(
        "payment_type",
        "choice",
        False,
        "`fixed` or `contingent` (default `contingent`)",
        choices=("fixed", "contingent"),
    ),
)

PAYMENTS: tuple[Column, ...] = (
    Column("instrument_id", "text", True, ""),
    Column("date", "date", True, "for `scheduled`: the period_end it pays"),
    Column("amount", "decimal", True, "per unit of principal"),
    Column(
        "kind",
        "choice",
        False,
        "`scheduled` (default) or `redemption` (issuer call: principal repaid on that date)",
        choices=("scheduled", "redemption"),
    ),
    Column(
        "fixing_date",
        "date",
        False,
        "for a contingent payment whose amount became fixed before it was paid: the day it "
        "was fixed; more than six months before `date`, (b)(9)(ii) applies (method §13)",
    ),
)

LOTS: tuple[Column, ...] = (
    Column("holder_id", "text", True, ""),
    Column("lot_id", "text", True, "unique across the file"),
    Column("instrument_id", "text", True, ""),
    Column("principal_amount", "decimal", True, "face amount held (e.g. 250000)"),
    Column("acquisition_date", "date", True, "settlement date"),
    Column("cost_basis", "decimal", True, "total cost in dollars"),
    Column(
        "disposition_date",
        "date",
        False,
        "sale (settlement) date; the buyer holds that day. Blank while held: retirement at "
        "maturity and issuer calls are applied automatically",
    ),
    # Required "with disposition_date" (docs/formats.md): checked as a pair by the reader.
    Column("proceeds", "decimal", False, "total dollars received on the sale"),
    Column(
        "basis_allocation",
        "choice",
        False,
        "how a cost different from the adjusted issue price is allocated: `proportional` "
        "(default), `straight_line`, `maturity` or `yield` (method §6)",
        choices=("proportional", "straight_line", "maturity", "yield"),
    ),
    Column(
        "holder_yield_pct",
        "decimal",
        False,
        "for `yield`: the holder's yield, e.g. `13`; blank = solved so the whole difference "
        "goes to daily portions",
    ),
    Column(
        "allocate_to_maturity",
        "decimal",
        False,
        "for `proportional` / `straight_line`: dollars of the difference allocated to the "
        "payment at maturity; the rest goes by the method",
    ),
    Column(
        "basis_reported",
        "choice",
        False,
        "what the broker's Form 1099-B reports for a disposed lot: `yes` (basis reported to the "
        "IRS: Form 8949 box A or D), `no` (a 1099-B without basis: box B or E) or `no_1099` (no "
        "1099-B: box C or F); blank = by the covered-security rules (method §12)",
        choices=("yes", "no", "no_1099"),
    ),
    Column(
        "acquisition_trade_date",
        "date",
        False,
        "the purchase's trade date, if known: the holding period and Form 8949 column (b) run "
        "from it (blank = acquisition_date)",
    ),
    Column(
        "disposition_trade_date",
        "date",
        False,
        "the sale's trade date, if known: Form 8949 column (c) and the holding period end on it "
        "(blank = disposition_date)",
    ),
    Column(
        "disposition_kind",
        "choice",
        False,
        "`sale` (default) or `conversion` into the issuer's stock on disposition_date; a "
        "conversion needs stock_fair_market_value, and proceeds is then the cash received (0 "
        "if none) (method §7)",
        choices=("sale", "conversion"),
    ),
    Column(
        "stock_fair_market_value",
        "decimal",
        False,
        "for `conversion`: total fair market value in dollars of the stock received on the "
        "conversion date; part of the amount realized and the stock's basis",
    ),
    # Opening balances (method §14): all five together, or none.
    Column(
        "opening_year",
        "int",
        False,
        "a lot taken over mid-life: the first tax year cpdi computes (after the acquisition "
        "year); the opening columns give the state on 1 January of that year",
    ),
    Column(
        "opening_adjusted_basis",
        "decimal",
        False,
        "with opening_year: the lot's adjusted basis in dollars on 1 January of opening_year",
    ),
    Column(
        "opening_carryforward",
        "decimal",
        False,
        "with opening_year: the negative adjustment carryforward into opening_year (dollars; "
        "enter 0 if none) (b)(6)(iii)(C)",
    ),
    Column(
        "prior_interest_inclusions",
        "decimal",
        False,
        "with opening_year: total interest included in income on the lot before opening_year "
        "(dollars)",
    ),
    Column(
        "prior_ordinary_losses",
        "decimal",
        False,
        "with opening_year: total net negative adjustments taken as ordinary loss before "
        "opening_year (dollars; enter 0 if none)",
    ),
)

TRANSACTIONS: tuple[Column, ...] = (
    # The trades lots are derived from (cpdi.readers.transactions); the last six columns pass
    # to the lots as lots.csv's columns of the same names.
    Column("holder_id", "text", True, ""),
    Column(
        "trade_id",
        "text",
        True,
        "the trade's id (e.g. the broker's confirmation number), unique across the file; a "
        "buy's trade_id is the lot_id of the lot it opens",
    ),
    Column("instrument_id", "text", True, ""),
    Column(
        "trade_date",
        "date",
        False,
        "the day the trade was made, if known: the lot's acquisition_trade_date (a buy) or "
        "disposition_trade_date (a sell)",
    ),
    Column(
        "settlement_date",
        "date",
        True,
        "the day the trade settled: a buy's lot is acquired on it, a sell disposes on it "
        "(method §4)",
    ),
    Column("side", "choice", True, "`buy` or `sell`", choices=("buy", "sell")),
    Column("principal_amount", "decimal", True, "face amount bought or sold (e.g. 250000)"),
    Column(
        "amount",
        "decimal",
        True,
        "total dollars paid (buy) or received (sell), before commission",
    ),
    Column(
        "commission",
        "decimal",
        False,
        "dollars of commission and fees: added to a buy's cost, taken from a sell's proceeds; "
        "blank = 0",
    ),
    Column(
        "lot_id",
        "text",
        False,
        "on a sell, specific identification: the trade_id of the buy whose lot it sells; blank "
        "= first in, first out",
    ),
    Column(
        "basis_allocation",
        "choice",
        False,
        "on a buy: as lots.csv's, for the lot it opens",
        choices=("proportional", "straight_line", "maturity", "yield"),
    ),
    Column("holder_yield_pct", "decimal", False, "on a buy: as lots.csv's"),
    Column(
        "allocate_to_maturity",
        "decimal",
        False,
        "on a buy: as lots.csv's, dollars for the whole buy (a lot split by a sell takes its "
        "share pro rata)",
    ),
    Column(
        "basis_reported",
        "choice",
        False,
        "on a sell: as lots.csv's, for every lot the sell closes",
        choices=("yes", "no", "no_1099"),
    ),
    Column(
        "disposition_kind",
        "choice",
        False,
        "on a sell: `sale` (default) or `conversion` into the issuer's stock, as lots.csv's",
        choices=("sale", "conversion"),
    ),
    Column(
        "stock_fair_market_value",
        "decimal",
        False,
        "on a `conversion` (and required there): total fair market value in dollars of the "
        "stock received for the whole sell, shared among the lots it closes pro rata by "
        "principal, as the proceeds are",
    ),
)

HOLDERS: tuple[Column, ...] = (
    Column("holder_id", "text", True, ""),
    Column("name", "text", False, ""),
    Column("tin", "text", False, "taxpayer id; workpapers show only its last four digits"),
    Column(
        "filer_type",
        "choice",
        False,
        "the return the holder's figures go on: `individual` (default, Form 1040), `trust` "
        "(Form 1041), `corporation` (Form 1120), `partnership` (Form 1065) or `exempt` (an "
        "organisation exempt under section 501(a)); the form lines are in `templates/forms.toml` "
        "(method §12)",
        choices=("individual", "trust", "corporation", "partnership", "exempt"),
    ),
)

ISSUER_ACCRUALS: tuple[Column, ...] = (
    Column("instrument_id", "text", True, ""),
    Column("period_start", "date", True, "as printed; the row covers the days after period_start "
           "through period_end (method §2)"),
    Column("period_end", "date", True, ""),
    Column("accrued_per_unit", "decimal", True, "the issuer's interest (OID) for the row, per unit "
           "of principal, with the decimals printed (compared at that precision, method §11)"),
)

BROKER_FORMS: tuple[str, ...] = FORMS
"""The information returns a broker figure may come from (``broker_1099.csv`` ``form``)."""

BROKER_BOXES: dict[str, tuple[str, ...]] = {form: boxes_of(form) for form in FORMS}
"""The boxes of each form that cpdi reconciles (method §12), in the forms' order; what each is
compared with is :data:`cpdi.engine.reconciliation.BOXES`."""

BROKER_1099: tuple[Column, ...] = (
    Column("holder_id", "text", True, ""),
    Column("instrument_id", "text", True, ""),
    Column("tax_year", "int", True, "the year the form reports, e.g. `2025`"),
    Column(
        "form",
        "choice",
        True,
        "`1099-OID`, `1099-INT` or `1099-B`",
        choices=BROKER_FORMS,
    ),
    Column(
        "box",
        "text",
        True,
        "the box as printed: 1099-OID `1` (OID), `2` (other periodic interest), `5` (market "
        "discount), `6` (acquisition premium), `8` (OID on U.S. Treasury obligations) or `11` "
        "(tax-exempt OID); 1099-INT `1` (interest income), `3` (interest on U.S. savings bonds "
        "and Treasury obligations), `8` (tax-exempt interest), `11`, `12` or `13` (bond "
        "premium); 1099-B `1d` (proceeds), "
        "`1e` (cost or other basis), `1f` (accrued market discount) or `1g` (wash sale loss "
        "disallowed)",
    ),
    Column("amount", "decimal", True, "dollars as printed on the form"),
    Column(
        "lot_id",
        "text",
        False,
        "the lot the figure is for: required on a 1099-B (one sale per figure); on a 1099-OID "
        "or 1099-INT blank = every lot of the holder in the note",
    ),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "instruments": INSTRUMENTS,
    "schedule": SCHEDULE,
    "payments": PAYMENTS,
    "lots": LOTS,
    "transactions": TRANSACTIONS,
    "holders": HOLDERS,
    "issuer_accruals": ISSUER_ACCRUALS,
    "broker_1099": BROKER_1099,
}
"""Every input table by its name (the CSV file name without ``.csv``, or the sheet name)."""

REQUIRED_TABLES: tuple[str, ...] = ("instruments", "schedule")
"""Tables an input must have; the others may be absent (read as empty)."""

LOT_TABLES: tuple[str, ...] = ("lots", "transactions")
"""The tables lots come from: typed (``lots``) or derived from the trades (``transactions``).
``compute`` and ``workpapers`` need one of them, or both (docs/formats.md)."""

EXTRA_COLUMNS_CARRIED: tuple[str, ...] = ("holders",)
"""Tables whose columns beyond the declared ones are meaningful (carried to the workpaper
cover, docs/formats.md "holders.csv"); elsewhere unknown columns are kept but unused."""


def column(table: str, name: str) -> Column:
    """The declaration of column ``name`` of ``table`` (``KeyError`` if there is none)."""
    for col in TABLES[table]:
        if col.name == name:
            return col
    raise KeyError(f"{table} has no column {name!r}")

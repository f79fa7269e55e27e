"""From the ledger to the return: the lines of the forms a holder's figures go on (method §12).

The ledger says *what* a holder has for a tax year — interest income (b)(6)(ii), ordinary loss
(b)(6)(iii)(B), and for a disposition its gain or loss split by character (b)(8) — and this
module says *where* each goes, per filer type, so a preparer enters it without retyping or
reinterpreting it:

    interest_income                 ordinary   Schedule B (Form 1040) line 1, Form 1041 line 1 …
    ordinary_income_on_disposition  ordinary   (b)(8)(i): the gain is interest income
    ordinary_loss                   ordinary   (b)(6)(iii)(B)
    ordinary_loss_on_disposition    ordinary   (b)(8)(ii)
    capital gain or loss            capital    Form 8949, one line per disposed lot, column (h)
    carryforward_out                carried    not on a return: a negative adjustment next year

Form 8949 carries every disposed lot once, with its proceeds and basis as a broker reports them
and an adjustment (column (g)) that takes out what is not capital — the ordinary part of the gain
or loss, and the carryforward that reduced the amount realized (b)(6)(iii)(C) — so that column (h)
is the capital part only and nothing is counted twice::

    proceeds − cost_basis + adjustment_amount = gain_loss (capital part)

A conversion into the issuer's stock is a disposition like a sale: an exchange whose gain or
loss (b)(8) characterises, the proceeds the stock's fair market value plus any cash (Rev. Rul.
2002-31); its line also gives the stock's basis and the day its holding period begins.  The
dates of a line, and so its term, are the trade dates where lots.csv gives them (Pub. 550).

Where each item goes for each filer type is template data (``templates/forms.toml``), read by
:mod:`cpdi.readers.form_lines`; this module is pure and gets it as a :class:`FormMapping`.
Money stays unrounded here; the writers round for presentation (``rounded_line``).
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, timedelta

from cpdi.model import BasisReported, FilerType, Lot

ORDINARY_ITEMS = (
    "interest_income", "ordinary_income_on_disposition", "ordinary_loss",
    "ordinary_loss_on_disposition",
)
"""The items that are ordinary income or loss, in the order a return takes them; each is a
column of ``income_YYYY.csv`` with its form line beside it."""

CARRIED_ITEMS = ("carryforward_out",)
"""Items that go on no return of the year: carried to the next."""

INCOME_ITEMS = ORDINARY_ITEMS + CARRIED_ITEMS

LOSS_ITEMS = frozenset({"ordinary_loss", "ordinary_loss_on_disposition"})
"""Items that are losses: entered on their line as negative amounts."""

BOXES = ("A", "B", "C", "D", "E", "F")
"""Form 8949's boxes for short-term (A–C) and long-term (D–F) transactions reported on a
Form 1099-B with basis reported to the IRS (A, D), without it (B, E), or on no 1099-B (C, F)."""

COVERED_FROM = date(2016, 1, 1)
"""Debt instruments that are not "less complex" — a contingent payment debt instrument is not —
are covered securities when acquired on or after 1 January 2016 (Treas. Reg.
§1.6045-1(a)(15)(i)(D) and (n)(2)(i)); a broker reports the basis of a covered security to the
IRS (method §12)."""

ROUNDING = 0.005
"""Half a cent: amounts closer to zero than this are zero on a form."""


class Term(enum.Enum):
    """Short or long term by the holding period (method §12; Pub. 550, "Holding Period")."""

    SHORT = "short"
    LONG = "long"


class Character(enum.Enum):
    """What a form line carries: ordinary income or loss, capital gain or loss, or nothing of
    the year (carried forward)."""

    ORDINARY = "ordinary"
    CAPITAL = "capital"
    CARRIED = "carried"


# --- the mapping (template data) ----------------------------------------------------------------


@dataclass(frozen=True)
class FormLine:
    """Where one item goes on one filer type's return: the form, its line, the item's
    character, how it is entered (a loss as a negative amount) and the TXF reference number
    tax software imports it under (``None``: not imported by TXF)."""

    item: str
    form: str
    line: str
    character: Character
    txf_ref: int | None = None
    note: str = ""

    @property
    def where(self) -> str:
        """``Schedule B (Form 1040), Part I, line 1``: the form and its line in one phrase."""
        return f"{self.form}, {self.line}" if self.line else self.form


@dataclass(frozen=True)
class FilerForms:
    """One filer type's return: the form lines of every item (``lines``), the Schedule D line
    of each Form 8949 box (``schedule_d``), the TXF reference number of each box (``txf_boxes``;
    empty when tax software does not import this return by TXF), and whether brokers report
    to the holder on Form 1099-B at all (``receives_1099b``: an exempt recipient, such as a
    C corporation, does not)."""

    filer_type: FilerType
    return_form: str
    lines: dict  # item -> FormLine
    schedule_d: dict  # box -> FormLine (character capital)
    txf_boxes: dict  # box -> int
    receives_1099b: bool = True
    note: str = ""

    def line(self, item: str) -> FormLine:
        return self.lines[item]


@dataclass(frozen=True)
class FormMapping:
    """Every filer type's form lines, and the Form 8949 adjustment codes cpdi uses: ``ordinary``
    for taking the ordinary part of a gain or loss out of column (h), ``carryforward`` for the
    negative adjustment carryforward that reduced the amount realized (b)(6)(iii)(C), ``basis``
    for correcting a Form 1099-B basis shown in column (e) (box A or D)."""

    filers: dict  # FilerType -> FilerForms
    adjustment_codes: dict  # "ordinary" / "carryforward" -> code letter
    source: str = ""  # where the mapping was read (for messages and the workpapers)
    edition: str = ""  # the forms' edition the lines are from, e.g. "2025"

    def filer(self, filer_type: FilerType) -> FilerForms:
        return self.filers[filer_type]


# --- holding period and boxes -------------------------------------------------------------------


def anniversary(day: date) -> date:
    """The same day a year later; 29 February's is 28 February of a common year."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return date(day.year + 1, 2, 28)


def holding_term(acquired: date, disposed: date) -> Term:
    """Long term if the lot was held *more than* one year (26 U.S.C. §1222).  The holding period
    starts the day after acquisition and includes the day of disposition (Pub. 550, "Holding
    Period"; Rev. Rul. 66-7): bought 1 June 2024 and sold 1 June 2025 is short term, sold
    2 June 2025 long term; bought 29 February 2024, one year has passed on 28 February 2025, so
    a sale on 1 March 2025 is long term.  For a security traded on a market the dates are the
    trade dates (:func:`date_acquired`, :func:`date_sold`)."""
    return Term.LONG if disposed > anniversary(acquired) else Term.SHORT


def date_acquired(lot: Lot) -> date:
    """Form 8949 column (b) and the start of the holding period: the purchase's trade date when
    lots.csv gives it, else the acquisition (settlement) date.  For securities traded on an
    established market the holding period begins the day after the trade date and ends on the
    trade date of the sale, settlement dates ignored (Pub. 550, "Securities traded on an
    established market"; for bonds, Rev. Rul. 66-97).  Method §12."""
    return lot.acquisition_trade_date or lot.acquisition_date


def date_sold(lot: Lot, row) -> date:
    """Form 8949 column (c) and the end of the holding period: a sale's trade date when lots.csv
    gives it, else the disposition date of the ledger ``row`` (the sale's settlement, the call,
    maturity, or the conversion: a retirement by the issuer has no trade date).  Method §12."""
    if row.ending == "sale" and lot.disposition_trade_date is not None:
        return lot.disposition_trade_date
    return row.disposition_date


def stock_holding_period_begins(conversion_date: date) -> date:
    """The stock received on a conversion is held from the day after the conversion: it is
    acquired in a taxable exchange, at a basis of its fair market value, so the note's holding
    period is not carried over (method §7; Pub. 550, "Holding Period": the day of acquisition is
    not counted)."""
    return conversion_date + timedelta(days=1)


def default_basis_reported(acquired: date, filer: FilerForms) -> BasisReported:
    """What the broker's Form 1099-B says when lots.csv leaves ``basis_reported`` blank (method
    §12): nothing at all for a holder that is an exempt recipient (Treas. Reg.
    §1.6045-1(c)(3)(i)(B): corporations, exempt organisations); basis reported to the IRS for a
    contingent payment debt instrument acquired on or after 1 January 2016, a covered security
    (§1.6045-1(a)(15)(i)(D), (n)); a 1099-B without basis for one acquired earlier."""
    if not filer.receives_1099b:
        return BasisReported.NO_1099
    return BasisReported.YES if acquired >= COVERED_FROM else BasisReported.NO


def form8949_box(term: Term, basis_reported: BasisReported) -> str:
    """Form 8949's box: Part I (short term) A, B, C; Part II (long term) D, E, F, by whether the
    1099-B reported basis to the IRS, reported none, or there is no 1099-B (Form 8949
    instructions, "Which box to check")."""
    index = (BasisReported.YES, BasisReported.NO, BasisReported.NO_1099).index(basis_reported)
    return BOXES[index + (3 if term is Term.LONG else 0)]


# --- Form 8949 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form8949Line:
    """One disposed lot on Form 8949 (the columns of ``form8949_YYYY.csv``)::

        proceeds − cost_basis + adjustment_amount = gain_loss

    ``proceeds`` (column (d)) is what the lot was treated as receiving before the carryforward:
    the sale proceeds, the redemption on a call (b)(7)(v), the projected payment at maturity
    (b)(7)(iv), on a conversion the stock's fair market value plus any cash (Rev. Rul.
    2002-31); ``cost_basis`` (column (e)) the adjusted basis at disposition (b)(7)(iii);
    ``adjustment_amount`` (column (g)) takes out the ordinary part of the gain or loss (b)(8) and
    the carryforward applied (b)(6)(iii)(C); ``gain_loss`` (column (h)) is the capital part.

    For a box A or D line whose Form 1099-B basis (box 1e) is known, column (e) is the broker's
    basis, "even though that basis is incorrect", and (g) corrects it with code B (Form 8949
    instructions, code B): ``basis_adjustment = cost_basis − adjusted_basis`` is then part of
    (g); ``adjusted_basis`` is always cpdi's.

    A converted lot also carries what the holder now has: the stock, whose basis is its fair
    market value (``stock_basis``) and whose holding period begins the day after the
    conversion (``stock_holding_period_begins``); ``None`` on any other line (method §7)."""

    holder_id: str
    lot_id: str
    instrument_id: str
    description: str
    date_acquired: date
    date_sold: date
    proceeds: float
    cost_basis: float
    adjustment_code: str
    adjustment_amount: float
    gain_loss: float
    term: Term
    box: str
    # -- detail beyond the form's columns ---------------------------------------------------
    ending: str = ""  # sale / conversion / call / maturity
    ordinary_amount: float = 0.0  # signed: ordinary income − ordinary loss on the disposition (b)(8)
    carryforward_applied: float = 0.0  # (b)(6)(iii)(C), ≥ 0
    basis_reported: BasisReported = BasisReported.YES
    schedule_d_line: str = ""  # where the box's total goes, for the holder's filer type
    adjusted_basis: float | None = None  # cpdi's basis at disposition (b)(7)(iii); None: = cost_basis
    basis_adjustment: float = 0.0  # (e) − adjusted_basis: the broker's basis corrected, code B
    stock_basis: float | None = None  # conversion: the stock's basis, its fair market value
    stock_holding_period_begins: date | None = None  # conversion: the day after it

    @property
    def cpdi_basis(self) -> float:
        """cpdi's adjusted basis at disposition, whatever column (e) shows."""
        return self.cost_basis if self.adjusted_basis is None else self.adjusted_basis


DESCRIPTION_LIMIT = 80
"""Form 8949 column (a) is a short description ("100 sh. XYZ Co."); longer text is cut."""


def description_of(lot: Lot, instrument_id: str, instrument_description: str) -> str:
    """Form 8949 column (a): the face amount and the note ("50,000 face 02687QCD8 AIG CMS Curve
    Notes due July 20, 2027").  A parenthetical of the instrument's description (a note to the
    reviewer) is left out; the whole is at most :data:`DESCRIPTION_LIMIT` characters."""
    text = instrument_description.split(" (", 1)[0].strip()
    words = f"{lot.principal_amount:,.0f} face {instrument_id}" + (f" {text}" if text else "")
    return words if len(words) <= DESCRIPTION_LIMIT else words[: DESCRIPTION_LIMIT - 1].rstrip() + "…"



def form8949_line(lot: Lot, row, description: str, filer: FilerForms, codes: dict,
                  broker_basis: float | None = None) -> Form8949Line:
    """The Form 8949 line of a lot's disposition year (``row`` is its :class:`LotYear` with a
    disposition).  The adjustment takes out, with its code, the ordinary part of the gain or
    loss ((b)(8)(i)–(ii): reported as interest or ordinary loss, not on Form 8949's column (h))
    and the carryforward that reduced the amount realized ((b)(6)(iii)(C): a reduction of the
    amount realized that a broker's gross proceeds do not show).

    ``broker_basis`` is the basis the lot's Form 1099-B reported (box 1e), if known: on a box A
    or D line (basis reported to the IRS) column (e) shows it and (g) corrects it to cpdi's
    adjusted basis with code B, as the Form 8949 instructions direct; on a box B or E line the
    correct basis goes in (e) and it is not used."""
    if row.disposition_date is None:
        raise ValueError(f"lot {lot.lot_id} has no disposition in {row.tax_year}")
    proceeds = row.consideration  # a conversion: the stock's fair market value + cash
    adjusted = row.adjusted_basis_end
    acquired, sold = date_acquired(lot), date_sold(lot, row)
    term = holding_term(acquired, sold)
    reported = lot.basis_reported or default_basis_reported(acquired, filer)
    box = form8949_box(term, reported)
    cost = adjusted
    if broker_basis is not None and reported is BasisReported.YES and abs(broker_basis - adjusted) >= ROUNDING:
        cost = broker_basis
    ordinary = row.ordinary_income_on_disposition - row.ordinary_loss_on_disposition
    capital = row.capital_gain_on_disposition - row.capital_loss_on_disposition
    carryforward = proceeds - row.amount_realized
    adjustment = capital - (proceeds - cost)  # = −ordinary − carryforward
    used = []
    if abs(ordinary) >= ROUNDING:
        used.append(codes["ordinary"])
    if abs(carryforward) >= ROUNDING:
        used.append(codes["carryforward"])
    if cost != adjusted:
        used.append(codes["basis"])
    converted = row.ending == "conversion"
    return Form8949Line(
        holder_id=lot.holder_id, lot_id=lot.lot_id, instrument_id=lot.instrument_id,
        description=description, date_acquired=acquired,
        date_sold=sold, proceeds=proceeds, cost_basis=cost,
        adjustment_code="".join(sorted(set(used))), adjustment_amount=adjustment,
        gain_loss=capital, term=term, box=box, ending=row.ending, ordinary_amount=ordinary,
        carryforward_applied=carryforward, basis_reported=reported,
        schedule_d_line=filer.schedule_d[box].where,
        adjusted_basis=adjusted, basis_adjustment=cost - adjusted,
        stock_basis=row.stock_fair_market_value if converted else None,
        stock_holding_period_begins=(stock_holding_period_begins(row.disposition_date)
                                     if converted else None),
    )


def cents(amount: float) -> float:
    """An amount rounded to the cent, half away from zero, never ``-0.0``."""
    value = round(amount + (1e-9 if amount >= 0 else -1e-9), 2)
    return value + 0.0 if value else 0.0


def rounded_line(line: Form8949Line) -> Form8949Line:
    """The line as presented, in cents, still adding up: proceeds, basis and column (h) are
    rounded, and the adjustment is what makes ``proceeds − cost_basis + adjustment = gain_loss``
    hold in cents (so the rounding never breaks the form's arithmetic)."""
    proceeds, cost, gain = cents(line.proceeds), cents(line.cost_basis), cents(line.gain_loss)
    return replace(
        line, proceeds=proceeds, cost_basis=cost, gain_loss=gain,
        adjustment_amount=cents(gain - proceeds + cost),
        ordinary_amount=cents(line.ordinary_amount),
        carryforward_applied=cents(line.carryforward_applied),
        adjusted_basis=cents(line.cpdi_basis), basis_adjustment=cents(line.basis_adjustment),
        stock_basis=None if line.stock_basis is None else cents(line.stock_basis),
    )


# --- ordinary items -----------------------------------------------------------------------------


@dataclass(frozen=True)
class IncomeLine:
    """One holder's ordinary items for one instrument in the year (``income_YYYY.csv``), each
    ≥ 0 as the ledger has it; ``lines`` says where each goes for the holder's filer type."""

    holder_id: str
    instrument_id: str
    filer_type: FilerType
    interest_income: float
    ordinary_income_on_disposition: float
    ordinary_loss: float
    ordinary_loss_on_disposition: float
    carryforward_out: float
    lines: dict  # item -> FormLine

    def amount(self, item: str) -> float:
        return getattr(self, item)

    def entered(self, item: str) -> float:
        """The amount as entered on its line: a loss negative."""
        return -self.amount(item) if item in LOSS_ITEMS else self.amount(item)


@dataclass(frozen=True)
class FormTotal:
    """One line of a return with what cpdi puts on it for the holder: ordinary lines sum the
    items that go there (as entered: losses negative); a capital line is one Form 8949 box's
    total on Schedule D (proceeds, basis, adjustments, column (h)).  A total never mixes
    characters."""

    form: str
    line: str
    character: Character
    items: tuple[str, ...]
    amount: float  # ordinary: as entered; capital: column (h) of the box
    box: str = ""
    proceeds: float = 0.0
    cost_basis: float = 0.0
    adjustment_amount: float = 0.0
    count: int = 0  # Form 8949 lines in the box

    @property
    def where(self) -> str:
        return f"{self.form}, {self.line}" if self.line else self.form


@dataclass(frozen=True)
class HolderForms:
    """Everything of one holder's year on the forms: the Form 8949 lines (one per lot disposed
    of in the year, in lot order), the ordinary items per instrument, and the totals per form
    line, ordinary lines first, then the Schedule D lines by box."""

    holder_id: str
    filer_type: FilerType
    year: int
    form8949: tuple[Form8949Line, ...]
    income: tuple[IncomeLine, ...]
    totals: tuple[FormTotal, ...]

    def total(self, item_or_box: str) -> float:
        """The total of an ordinary item's line share (``interest_income``) or a box's column
        (h) (``A``…``F``), 0 when absent."""
        if item_or_box in BOXES:
            return sum(line.gain_loss for line in self.form8949 if line.box == item_or_box)
        return sum(line.amount(item_or_box) for line in self.income)


def income_lines(holder_id: str, filer: FilerForms, rows) -> tuple[IncomeLine, ...]:
    """The holder's ordinary items per instrument, summed over the lot-years ``rows`` of the
    year, instruments in the order first met; an instrument with nothing to report (every
    item under half a cent) is still listed when the holder held it (a zero line is an
    answer)."""
    sums: dict[str, dict[str, float]] = {}
    for row in rows:
        bucket = sums.setdefault(row.instrument_id, defaultdict(float))
        for item in INCOME_ITEMS:
            bucket[item] += getattr(row, item)
    return tuple(
        IncomeLine(holder_id, instrument_id, filer.filer_type,
                   **{item: bucket[item] for item in INCOME_ITEMS}, lines=filer.lines)
        for instrument_id, bucket in sums.items()
    )


def form_totals(filer: FilerForms, income: tuple[IncomeLine, ...],
                form8949: tuple[Form8949Line, ...]) -> tuple[FormTotal, ...]:
    """The holder's totals per form line: each ordinary item's amount (as entered) added to the
    line the filer type sends it to — two items that share a line (interest and the (b)(8)(i)
    gain on Schedule B, line 1) add up there, but a line is ordinary or capital, never both —
    then one Schedule D line per Form 8949 box used."""
    by_line: dict[tuple[str, str], list] = {}
    for item in ORDINARY_ITEMS:
        where = filer.line(item)
        amount = sum(line.entered(item) for line in income)
        entry = by_line.setdefault((where.form, where.line), [where.character, [], 0.0])
        if entry[0] is not where.character:
            raise ValueError(f"{where.where} is given both {entry[0].value} and {where.character.value} items")
        entry[1].append(item)
        entry[2] += amount
    totals = [
        FormTotal(form, line, character, tuple(items), amount)
        for (form, line), (character, items, amount) in by_line.items()
    ]
    for box in BOXES:
        lines = [line for line in form8949 if line.box == box]
        if not lines:
            continue
        where = filer.schedule_d[box]
        totals.append(FormTotal(
            where.form, where.line, Character.CAPITAL, (f"box_{box}",),
            sum(x.gain_loss for x in lines), box=box,
            proceeds=sum(x.proceeds for x in lines), cost_basis=sum(x.cost_basis for x in lines),
            adjustment_amount=sum(x.adjustment_amount for x in lines), count=len(lines),
        ))
    return tuple(totals)


def holder_forms(holder_id: str, filer_type: FilerType, year: int, ledgers,
                 descriptions: dict, mapping: FormMapping,
                 broker_bases: dict | None = None) -> HolderForms:
    """A holder's year on the forms (method §12), from the holder's lot ledgers (those of
    other holders, and lots with no row in ``year``, are left out).  ``descriptions`` maps an
    instrument id to its description (Form 8949 column (a)); ``broker_bases`` maps a lot id to
    the basis its Form 1099-B reported (:func:`broker_bases`), for code B corrections."""
    filer = mapping.filer(filer_type)
    rows, lines = [], []
    for ledger in ledgers:
        if ledger.lot.holder_id != holder_id:
            continue
        row = next((y for y in ledger.years if y.tax_year == year), None)
        if row is None:
            continue
        rows.append(row)
        if row.disposition_date is not None:
            lot = ledger.lot
            text = description_of(lot, lot.instrument_id, descriptions.get(lot.instrument_id, ""))
            lines.append(form8949_line(lot, row, text, filer, mapping.adjustment_codes,
                                       (broker_bases or {}).get(lot.lot_id)))
    income = income_lines(holder_id, filer, rows)
    form8949 = tuple(lines)
    return HolderForms(holder_id, filer_type, year, form8949, income,
                       form_totals(filer, income, form8949))


def broker_bases(figures, holder_id: str, year: int) -> dict:
    """``lot_id -> amount`` of the holder's Form 1099-B box 1e figures of ``year`` (the basis
    the broker reported for a lot's disposition), from ``BrokerFigure`` rows."""
    return {
        figure.lot_id: figure.amount for figure in figures
        if figure.holder_id == holder_id and figure.tax_year == year and figure.form == "1099-B"
        and figure.box.lower() == "1e" and figure.lot_id
    }

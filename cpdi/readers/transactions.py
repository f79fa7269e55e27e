"""Tax lots from a trade blotter (docs/formats.md, "transactions.csv").

A preparer gets trades, not tax lots.  This module turns the trades of ``transactions.csv`` into
the lots a preparer would type into ``lots.csv``:

* **a buy opens a lot** of its ``principal_amount``, acquired on its settlement date (method §4:
  the lot holds that day), whose id is the buy's ``trade_id``.  Its cost is the amount paid
  plus the commission: the basis of a bond is its purchase price plus the costs of purchase,
  such as commissions (IRS Pub. 550, "Basis of Investment Property", stocks and bonds).
* **a sell closes lots of the same holder and note**: the lot its ``lot_id`` names (specific
  identification, Treas. Reg. §1.1012-1(c)(3): the holder names to the broker the securities
  sold), or else the lots acquired first (first in, first out, §1.1012-1(c)(1); Pub. 550,
  "Identifying the securities sold"), by acquisition settlement date, then file order.  Its
  proceeds are the amount received less the commission: Form 8949's column (d) takes net
  proceeds, the gross proceeds less selling expenses such as broker's fees and commissions
  (Instructions for Form 8949, column (d)).  The disposition date is the sell's settlement
  date; the lot's trade dates are the trades' ``trade_date`` (method §4, §12).
* **a sell that takes part of a lot splits it** (convention ours, as a preparer splits a lot by
  hand): the sold piece is a lot of its own, ``{buy trade_id}-{sell trade_id}``, and the
  remainder keeps the buy's id and stays open.  The cost (and any ``allocate_to_maturity``
  dollars) are split pro rata by principal; a sell's proceeds (and, on a conversion, the
  stock's fair market value) are split pro rata by principal among the pieces it closes.  The
  pieces add up exactly: the last piece is the total less the others.  A lot a sell takes whole
  keeps the buy's id.

::

    buy  B1 100,000 on 2024-01-10        B1          100,000  held
    sell S1  40,000 on 2024-06-03   ->   B1-S1        40,000  sold 2024-06-03
                                         B1           60,000  held (cost 60% of B1's)
    sell S2  60,000 on 2025-02-14   ->   B1           60,000  sold 2025-02-14

Everything here is pure: validated :class:`Trade` rows in, :class:`~cpdi.model.Lot` objects and
the blotter's problems out (row, column, what is wrong, what would fix it).  The reader
(``cpdi.readers.inputs``) reads and checks the cells, names the file and checks each derived lot
exactly as a typed lot.  A problem in a holder's trades of a note (a sell of more than is held,
a lot named twice …) stops every lot of that holder and note: the lots after it would be wrong.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from cpdi.model import BasisAllocationMethod, BasisReported, DispositionKind, Lot

BUY, SELL = "buy", "sell"
SIDES = (BUY, SELL)
"""The two sides of a trade (transactions.csv ``side``)."""

PRINCIPAL_TOLERANCE = 1e-9
"""Relative tolerance at which a sell takes the whole of what a lot holds (principal amounts
are whole units; the tolerance only absorbs float noise)."""


def piece_id(buy_trade_id: str, sell_trade_id: str) -> str:
    """The id of the piece of buy ``buy_trade_id``'s lot that sell ``sell_trade_id`` took from it
    without taking it all: ``{buy}-{sell}`` (docs/formats.md "How the lots are derived")."""
    return f"{buy_trade_id}-{sell_trade_id}"


@dataclass(frozen=True)
class Trade:
    """One validated row of transactions.csv.  Dollar amounts are for the whole trade;
    ``commission`` is 0 when blank.  A buy carries the lot's basis allocation; a sell carries
    its specific identification (``lot_id``), how the broker reported it and how it disposed."""

    row: int
    holder_id: str
    trade_id: str
    instrument_id: str
    side: str  # BUY or SELL
    settlement_date: date
    principal_amount: float
    amount: float
    commission: float = 0.0
    trade_date: date | None = None
    lot_id: str | None = None  # a sell's specific identification: a buy's trade_id
    basis_allocation: BasisAllocationMethod = BasisAllocationMethod.PROPORTIONAL
    holder_yield_pct: float | None = None
    allocate_to_maturity: float | None = None
    basis_reported: BasisReported | None = None
    disposition_kind: DispositionKind = DispositionKind.SALE
    stock_fair_market_value: float | None = None

    @property
    def book(self) -> tuple[str, str]:
        """Whose lots of which note the trade moves: ``(holder_id, instrument_id)``."""
        return (self.holder_id, self.instrument_id)

    @property
    def cost(self) -> float:
        """A buy's cost: the amount paid plus the commission (Pub. 550)."""
        return self.amount + self.commission

    @property
    def proceeds(self) -> float:
        """A sell's proceeds: the amount received less the commission (Form 8949, column (d))."""
        return self.amount - self.commission


@dataclass(frozen=True)
class DerivedLot:
    """A lot derived from the trades: the buy that opened it and the sell that closed it
    (``None`` while held), by their rows in transactions.csv; ``split`` when it is a piece a
    sell took from the buy's lot (named ``{buy}-{sell}``)."""

    lot: Lot
    buy_row: int
    sell_row: int | None = None
    split: bool = False

    def origin(self) -> str:
        """``the buy on row 4 and the sell on row 9`` (or the buy alone, while held)."""
        return _origin(self)[len("from "):]


@dataclass(frozen=True)
class BlotterProblem:
    """Something wrong with the trades as a whole: the ``row`` and ``column`` of
    transactions.csv it is reported on, what is wrong and what would fix it, and whose lots it
    stops (``holder_id``, ``instrument_id``; ``lot_id`` the lot it concerns, if one)."""

    row: int
    column: str | None
    message: str
    fix: str
    holder_id: str
    instrument_id: str
    lot_id: str | None = None


@dataclass(frozen=True)
class Blotter:
    """What :func:`derive_lots` found: the ``lots`` of every holder and note whose trades have
    no problem (by buy row; a buy's sold pieces before the lot that keeps its id), the
    ``problems``, and ``stopped``: each holder and note whose lots were not derived, with its
    problems (the buys of a stopped book are not lots)."""

    lots: tuple[DerivedLot, ...]
    problems: tuple[BlotterProblem, ...]
    stopped: dict[tuple[str, str], tuple[BlotterProblem, ...]] = field(default_factory=dict)


# -- the derivation -------------------------------------------------------------------------------


@dataclass
class _OpenLot:
    """A buy's lot while the sells are applied: what it still holds, and what it became."""

    buy: Trade
    principal: float  # still held
    cost: float  # cost of what is still held
    to_maturity: float | None  # allocate_to_maturity dollars of what is still held
    pieces: list[DerivedLot] = field(default_factory=list)
    closed_by: Trade | None = None  # the sell that took the rest

    @property
    def is_open(self) -> bool:
        return self.closed_by is None


def derive_lots(
    trades: Sequence[Trade],
    stopped: Collection[tuple[str, str]] = (),
    unreadable: Mapping[str, int] | None = None,
    typed_lots: Mapping[str, tuple[str, str]] | None = None,
) -> Blotter:
    """The lots of ``trades`` (validated rows with unique trade_ids, in any order): see the
    module docstring.

    ``stopped`` are holder and note pairs whose rows have problems of their own (their lots
    are not derived, and their trades are not checked against each other: a bad row would make
    the rest look wrong).  ``unreadable`` maps the trade_id of each row not read (it has
    problems) to its row, so a sell naming one is told so; ``typed_lots`` maps the lot ids of
    lots.csv to their holder and note, so a sell naming one is told that lots.csv lots are sold
    in lots.csv."""
    unreadable = unreadable or {}
    typed_lots = typed_lots or {}
    buys = {t.trade_id: t for t in trades if t.side == BUY}
    sells = {t.trade_id: t for t in trades if t.side == SELL}
    books: dict[tuple[str, str], list[Trade]] = {}
    for trade in trades:
        books.setdefault(trade.book, []).append(trade)
    problems: list[BlotterProblem] = []
    stopped_books: dict[tuple[str, str], list[BlotterProblem]] = {b: [] for b in stopped}
    lots: dict[str, _OpenLot] = {}  # every buy's lot, by trade_id
    for book, book_trades in books.items():
        if book in stopped_books:
            continue
        found = _apply_trades(book_trades, buys, sells, unreadable, typed_lots, lots)
        if found:
            problems.extend(found)
            stopped_books[book] = found
    derived = [
        piece
        for buy in sorted(buys.values(), key=lambda t: t.row)
        if buy.book not in stopped_books
        for piece in _lots_of(lots[buy.trade_id])
    ]
    for problem, clashing in _clashes(derived):
        problems.append(problem)
        for book in clashing:
            stopped_books.setdefault(book, []).append(problem)
    derived = [d for d in derived if (d.lot.holder_id, d.lot.instrument_id) not in stopped_books]
    return Blotter(
        tuple(derived), tuple(problems),
        {book: tuple(found) for book, found in stopped_books.items()},
    )


@dataclass
class _Holding:
    """One holder's lots of one note while their trades are applied: every lot opened so far in
    first-in order (settlement date, then row), the first that may still be open, and the
    principal still held."""

    lots: list[_OpenLot] = field(default_factory=list)
    first_open: int = 0
    principal: float = 0.0

    def open_lots(self):
        """The open lots, first in first (lots before ``first_open`` are all closed)."""
        while self.first_open < len(self.lots) and not self.lots[self.first_open].is_open:
            self.first_open += 1
        return (lot for lot in self.lots[self.first_open:] if lot.is_open)


def _apply_trades(
    book_trades: list[Trade],
    buys: Mapping[str, Trade],
    sells: Mapping[str, Trade],
    unreadable: Mapping[str, int],
    typed_lots: Mapping[str, tuple[str, str]],
    lots: dict[str, _OpenLot],
) -> list[BlotterProblem]:
    """Apply one holder's trades of one note in settlement order (a sell before a buy of the
    same day: a sale must settle after the purchase it closes), recording each lot in ``lots``;
    the problems found (a sell that cannot be applied is skipped, and the others still checked)."""
    problems: list[BlotterProblem] = []
    holding = _Holding()
    for trade in sorted(book_trades, key=lambda t: (t.settlement_date, t.side == BUY, t.row)):
        if trade.side == BUY:
            lot = _OpenLot(trade, trade.principal_amount, trade.cost, trade.allocate_to_maturity)
            lots[trade.trade_id] = lot
            holding.lots.append(lot)
            holding.principal += trade.principal_amount
            continue
        if trade.lot_id:
            problem = _named_lot_problem(trade, buys, sells, unreadable, typed_lots, lots)
            if problem is not None:
                problems.append(problem)
                continue
            taken = [(lots[trade.lot_id], trade.principal_amount)]
        else:
            taken, problem = _first_in_first_out(trade, holding, book_trades, typed_lots)
            if problem is not None:
                problems.append(problem)
                continue
        _close(trade, taken)
        holding.principal -= math.fsum(part for _, part in taken)
    return problems


def _first_in_first_out(
    sell: Trade, holding: _Holding, book_trades: list[Trade],
    typed_lots: Mapping[str, tuple[str, str]],
) -> tuple[list[tuple[_OpenLot, float]], BlotterProblem | None]:
    """The lots a sell with no lot_id takes, first acquired first (Treas. Reg. §1.1012-1(c)(1)),
    with the principal it takes from each; or the problem (nothing held yet, or less than
    sold)."""
    if not holding.lots:  # no buy settled before it
        return [], _nothing_held(sell, book_trades, typed_lots)
    if sell.principal_amount > holding.principal * (1 + PRINCIPAL_TOLERANCE) or not any(
            True for _ in holding.open_lots()):
        return [], _oversold(sell, holding.lots, holding.principal, book_trades)
    taken: list[tuple[_OpenLot, float]] = []
    left = sell.principal_amount
    for lot in holding.open_lots():
        if left <= sell.principal_amount * PRINCIPAL_TOLERANCE:
            break
        part = lot.principal if _whole(left, lot.principal) or left > lot.principal else left
        taken.append((lot, part))
        left -= part
    return taken, None


def _whole(sold: float, held: float) -> bool:
    return abs(sold - held) <= PRINCIPAL_TOLERANCE * max(sold, held)


def _close(sell: Trade, taken: list[tuple[_OpenLot, float]]) -> None:
    """Take ``taken`` (lot, principal) for ``sell``: a lot taken whole is closed under its buy's
    id, a part becomes a piece of its own; the sell's proceeds (and a conversion's stock value)
    are shared among them pro rata by principal, the last taking what the others leave."""
    principals = [part for _, part in taken]
    proceeds = _shares(sell.proceeds, principals)
    stock = (_shares(sell.stock_fair_market_value, principals)
             if sell.stock_fair_market_value is not None else [None] * len(taken))
    for (lot, part), cash, value in zip(taken, proceeds, stock):
        if _whole(part, lot.principal):
            lot_id, part, cost, to_maturity = lot.buy.trade_id, lot.principal, lot.cost, lot.to_maturity
            lot.principal, lot.cost, lot.to_maturity, lot.closed_by = 0.0, 0.0, None, sell
        else:
            lot_id = piece_id(lot.buy.trade_id, sell.trade_id)
            cost = lot.buy.cost * part / lot.buy.principal_amount
            to_maturity = (None if lot.to_maturity is None else
                           lot.buy.allocate_to_maturity * part / lot.buy.principal_amount)
            lot.principal -= part
            lot.cost -= cost
            if lot.to_maturity is not None:
                lot.to_maturity -= to_maturity
        lot.pieces.append(DerivedLot(
            _lot(lot.buy, lot_id, part, cost, to_maturity, sell, cash, value), lot.buy.row,
            sell.row, split=lot_id != lot.buy.trade_id))


def _shares(total: float, principals: list[float]) -> list[float]:
    """``total`` shared pro rata by ``principals``; the last share is the total less the others,
    so the shares add up to it."""
    whole = math.fsum(principals)
    shares = [total * p / whole for p in principals[:-1]]
    return shares + [total - math.fsum(shares)]


def _lots_of(lot: _OpenLot) -> list[DerivedLot]:
    """A buy's lots: the pieces sold from it, in order, then what it still holds (a lot taken
    whole is its last piece already)."""
    if lot.closed_by is not None:
        return list(lot.pieces)
    return [*lot.pieces, DerivedLot(
        _lot(lot.buy, lot.buy.trade_id, lot.principal, lot.cost, lot.to_maturity), lot.buy.row)]


def _lot(buy: Trade, lot_id: str, principal: float, cost: float, to_maturity: float | None,
         sell: Trade | None = None, proceeds: float | None = None,
         stock_value: float | None = None) -> Lot:
    """The lot as lots.csv would hold it: the buy's terms, and the sell's when sold."""
    return Lot(
        holder_id=buy.holder_id,
        lot_id=lot_id,
        instrument_id=buy.instrument_id,
        principal_amount=principal,
        acquisition_date=buy.settlement_date,
        cost_basis=cost,
        disposition_date=sell.settlement_date if sell is not None else None,
        proceeds=proceeds,
        basis_allocation=buy.basis_allocation,
        holder_yield_pct=buy.holder_yield_pct,
        allocate_to_maturity=to_maturity,
        basis_reported=sell.basis_reported if sell is not None else None,
        acquisition_trade_date=buy.trade_date,
        disposition_trade_date=sell.trade_date if sell is not None else None,
        disposition_kind=sell.disposition_kind if sell is not None else DispositionKind.SALE,
        stock_fair_market_value=stock_value,
    )


# -- what is wrong, worded --------------------------------------------------------------------------


def _amount(value: float) -> str:
    """A principal amount in a message: ``50,000`` (cents only when there are any)."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _or_and(items: list[str], word: str) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


def _problem(trade: Trade, column: str | None, message: str, fix: str,
             lot_id: str | None = None) -> BlotterProblem:
    return BlotterProblem(trade.row, column, message, fix, trade.holder_id, trade.instrument_id,
                          lot_id)


def _named_lot_problem(
    sell: Trade, buys: Mapping[str, Trade], sells: Mapping[str, Trade],
    unreadable: Mapping[str, int], typed_lots: Mapping[str, tuple[str, str]],
    lots: Mapping[str, _OpenLot],
) -> BlotterProblem | None:
    """Why the lot a sell names (specific identification) cannot be sold, or ``None``: it must be
    a buy of this file, of the same holder and note, settled before the sell, still open and
    holding at least what is sold."""
    name = sell.lot_id
    buy = buys.get(name)
    fix = "correct the lot_id (a buy's trade_id), or leave it blank to sell first in, first out"
    if buy is None:
        if name in sells:
            message = f"lot_id {name} is a sell (row {sells[name].row}), not a buy"
        elif name in unreadable:
            message = f"lot_id {name} is the trade on row {unreadable[name]}, which has problems"
            fix = f"fix row {unreadable[name]} first"
        elif name in typed_lots:
            message = (f"lot {name} is a lot of lots.csv: a sell in transactions.csv closes only "
                       "lots of its buys")
            fix = (f"enter the sale on lot {name}'s row of lots.csv (disposition_date, proceeds), "
                   "and delete this sell")
        else:
            message = f"there is no buy with trade_id {name} to sell"
        return _problem(sell, "lot_id", message, fix)
    if buy.holder_id != sell.holder_id:
        return _problem(sell, "lot_id", f"lot {name} is holder {buy.holder_id}'s (row {buy.row}), "
                        f"not {sell.holder_id}'s", fix, name)
    if buy.instrument_id != sell.instrument_id:
        return _problem(sell, "lot_id", f"lot {name} is a lot of {buy.instrument_id} (row "
                        f"{buy.row}), not of {sell.instrument_id}", fix, name)
    if buy.settlement_date >= sell.settlement_date:
        return _problem(sell, "settlement_date",
                        f"the sell settles on {sell.settlement_date}, not after lot {name}'s buy "
                        f"settles ({buy.settlement_date}, row {buy.row}): a sale must settle after "
                        "the purchase it closes", "check the two settlement dates", name)
    lot = lots[name]
    if lot.closed_by is not None:
        closer = lot.closed_by
        return _problem(sell, "lot_id", f"lot {name} was closed by the sell on row {closer.row} "
                        f"(settling {closer.settlement_date}): nothing of it is left to sell",
                        fix, name)
    if sell.principal_amount > lot.principal * (1 + PRINCIPAL_TOLERANCE):
        earlier = _or_and([str(p.sell_row) for p in lot.pieces], "and")
        rest = (f" (of its {_amount(buy.principal_amount)}, after the sell(s) on row(s) "
                f"{earlier})" if lot.pieces else "")
        return _problem(sell, "principal_amount",
                        f"sells {_amount(sell.principal_amount)} of lot {name}, which held "
                        f"{_amount(lot.principal)} on {sell.settlement_date}{rest}",
                        "check the principal_amount; to sell from several lots, enter one sell "
                        "per lot, or leave lot_id blank", name)
    return None


def _nothing_held(sell: Trade, book_trades: list[Trade],
                  typed_lots: Mapping[str, tuple[str, str]]) -> BlotterProblem:
    """A sell with no lot to take: no buy of the note by the holder settles before it."""
    later = [t for t in book_trades if t.side == BUY]
    who = f"holder {sell.holder_id}"
    if later:
        first = min(later, key=lambda t: (t.settlement_date, t.row))
        message = (f"sells {sell.instrument_id} on {sell.settlement_date}, before any buy of it by "
                   f"{who} has settled (the first settles on {first.settlement_date}, row "
                   f"{first.row}): a sale must settle after the purchase it closes")
        fix = "check the settlement dates, or add the buy this sale closes"
    else:
        message = f"sells {sell.instrument_id}, but there is no buy of it by {who}"
        fix = "add the buy this sale closes, or correct the holder_id or instrument_id"
        if any(book == sell.book for book in typed_lots.values()):
            fix = ("lots of lots.csv are sold in lots.csv (disposition_date, proceeds): enter "
                   "the sale there and delete this sell, or add the buy")
    return _problem(sell, "side", message, fix)


def _oversold(sell: Trade, held: list[_OpenLot], holding: float,
              book_trades: list[Trade]) -> BlotterProblem:
    """A sell of more than the holder held of the note on its settlement date (``held``: the
    lots of the buys settled before it, open or closed)."""
    open_lots = [lot for lot in held if lot.is_open]
    if open_lots:
        listed = ", ".join(f"{lot.buy.trade_id} {_amount(lot.principal)}" for lot in open_lots[:6])
        if len(open_lots) > 6:
            listed += f" and {len(open_lots) - 6} more"
        lots = f"lots {listed}"
    else:
        closers = sorted({lot.closed_by.row for lot in held if lot.closed_by is not None})
        lots = f"its lots were sold by the sell(s) on row(s) {_or_and([str(r) for r in closers], 'and')}"
    message = (f"sells {_amount(sell.principal_amount)} of {sell.instrument_id}, but holder "
               f"{sell.holder_id} held {_amount(holding)} of it on {sell.settlement_date} "
               f"({lots})")
    later = [t for t in book_trades
             if t.side == BUY and t.settlement_date >= sell.settlement_date]
    fix = "check the principal_amount, or add the buy that is missing"
    if later:
        first = min(later, key=lambda t: (t.settlement_date, t.row))
        fix += (f" (the buy on row {first.row} settles on {first.settlement_date}: a sale must "
                "settle after the purchase it closes)")
    return _problem(sell, "principal_amount", message, fix)


def _clashes(derived: Iterable[DerivedLot]) -> list[tuple[BlotterProblem, set[tuple[str, str]]]]:
    """A derived lot id used twice — a piece ``B-S`` that is also another buy's trade_id or
    another piece's id — with the holders and notes each problem stops (both lots').  (A sell's
    trade_id names no lot, so a piece may share it.)"""
    first: dict[str, DerivedLot] = {}
    found = []
    for lot in derived:
        lot_id = lot.lot.lot_id
        if lot_id not in first:
            first[lot_id] = lot
            continue
        other = first[lot_id]
        problem = BlotterProblem(
            lot.sell_row if lot.split else lot.buy_row, "trade_id",
            f"the lot id {lot_id} is derived twice: {_origin(other)}, and {_origin(lot)} (a "
            "piece a sell takes from a lot is named buy trade_id-sell trade_id)",
            "give the trades trade_ids that cannot combine into one another's (e.g. without "
            "hyphens)", lot.lot.holder_id, lot.lot.instrument_id, lot_id,
        )
        books = {(d.lot.holder_id, d.lot.instrument_id) for d in (lot, other)}
        found.append((problem, books))
    return found


def _origin(lot: DerivedLot) -> str:
    """``from the buy on row 4 and the sell on row 9``."""
    text = f"from the buy on row {lot.buy_row}"
    return text + (f" and the sell on row {lot.sell_row}" if lot.sell_row is not None else "")


# -- a lot as lots.csv columns ------------------------------------------------------------------------


def lot_values(lot: Lot) -> dict[str, object]:
    """The lot as lots.csv's columns would hold it (``cpdi.readers.columns.LOTS``): dates,
    numbers, the canonical spelling of a choice, ``None`` for a blank.  ``disposition_kind`` is
    given only with a disposition, and the opening columns only with ``opening_year``."""
    disposed = lot.disposition_date is not None
    opening = lot.opening_year is not None
    return {
        "holder_id": lot.holder_id,
        "lot_id": lot.lot_id,
        "instrument_id": lot.instrument_id,
        "principal_amount": lot.principal_amount,
        "acquisition_date": lot.acquisition_date,
        "cost_basis": lot.cost_basis,
        "disposition_date": lot.disposition_date,
        "proceeds": lot.proceeds,
        "basis_allocation": lot.basis_allocation.value,
        "holder_yield_pct": lot.holder_yield_pct,
        "allocate_to_maturity": lot.allocate_to_maturity,
        "basis_reported": lot.basis_reported.value if lot.basis_reported is not None else None,
        "acquisition_trade_date": lot.acquisition_trade_date,
        "disposition_trade_date": lot.disposition_trade_date,
        "disposition_kind": lot.disposition_kind.value if disposed else None,
        "stock_fair_market_value": lot.stock_fair_market_value,
        "opening_year": lot.opening_year,
        "opening_adjusted_basis": lot.opening_adjusted_basis,
        "opening_carryforward": lot.opening_carryforward if opening else None,
        "prior_interest_inclusions": lot.prior_interest_inclusions if opening else None,
        "prior_ordinary_losses": lot.prior_ordinary_losses if opening else None,
    }


def number_text(value: float) -> str:
    """A number as lots.csv text that reads back as the same float: the shortest such text
    (``18850.2``, ``33333.333333333336``), whole numbers without ``.0``."""
    text = repr(float(value) + 0.0)
    return text[:-2] if text.endswith(".0") else text


def value_text(value: object) -> str:
    """A :func:`lot_values` value as the text of its cell: dates ISO, numbers by
    :func:`number_text`, blank for ``None``."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return number_text(value)
    return str(value)

"""A small, strict reader of TXF (V042) files for the tests: the header, then each record's
common fields and the fields of its record format, checked as the specification lays them out
(cpdi.writers.forms.txf).  Amounts are read as Decimal, so sums are exact to the cent."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")  # no thousands separator, two decimals
DATE = re.compile(r"[0-9]{2}/[0-9]{2}/[0-9]{4}")
FIELD_CODES = set("TNCLX$PD")


class TxfSyntaxError(ValueError):
    """The text is not TXF as cpdi promises to write it."""


@dataclass(frozen=True)
class Record:
    kind: str  # "D" detail, "S" summary
    refnum: int
    copy: int
    line: int
    fields: tuple[tuple[str, str], ...]  # the fields after T N C L, (code, value), in order

    def values(self, code: str) -> list[str]:
        return [value for c, value in self.fields if c == code]

    @property
    def codes(self) -> str:
        return "".join(code for code, _ in self.fields)

    @property
    def amounts(self) -> list[Decimal | None]:
        """Every ``$`` field, ``None`` for an empty one."""
        return [Decimal(v) if v else None for v in self.values("$")]

    @property
    def amount(self) -> Decimal:
        (value,) = self.amounts
        return value

    @property
    def dates(self) -> list[date | None]:
        return [datetime.strptime(v, "%m/%d/%Y").date() if v else None for v in self.values("D")]

    # -- format 5 (Form 8949): P, D acquired, D sold, $ cost, $ sales net, $ wash sale ----------
    @property
    def security(self) -> str:
        (value,) = self.values("P")
        return value

    @property
    def cost(self) -> Decimal:
        return self.amounts[0]

    @property
    def sales(self) -> Decimal:
        return self.amounts[1]

    @property
    def gain(self) -> Decimal:
        return self.sales - self.cost


@dataclass(frozen=True)
class TxfFile:
    version: str
    program: str
    exported: date
    records: tuple[Record, ...]

    def by_refnum(self, refnum: int, kind: str | None = None) -> list[Record]:
        return [r for r in self.records if r.refnum == refnum and (kind is None or r.kind == kind)]

    def refnums(self) -> list[int]:
        return list(dict.fromkeys(r.refnum for r in self.records))


def parse_txf(text: str) -> TxfFile:
    """Parse and check a TXF file: ASCII, CR LF line ends, a ``V042 / A / D`` header closed by
    ``^``, records each closed by ``^``; common fields T, N, C, L first; every other line a
    known field code; ``$`` amounts without separators (empty allowed), ``D`` dates
    MM/DD/YYYY."""
    if not text.isascii():
        raise TxfSyntaxError("not ASCII")
    if not text.endswith("\r\n") or "\n" in text.replace("\r\n", ""):
        raise TxfSyntaxError("lines must end with CR LF")
    lines = text[:-2].split("\r\n")
    blocks, block = [], []
    for line in lines:
        if line == "^":
            blocks.append(block)
            block = []
        else:
            block.append(line)
    if block:
        raise TxfSyntaxError(f"text after the last ^: {block}")
    header, *records = blocks
    if len(header) != 3 or header[0] != "V042" or header[1][:1] != "A" or header[2][:1] != "D":
        raise TxfSyntaxError(f"bad header {header}")
    if not DATE.fullmatch(header[2][1:]):
        raise TxfSyntaxError(f"bad export date {header[2]!r}")
    exported = datetime.strptime(header[2][1:], "%m/%d/%Y").date()
    return TxfFile(header[0], header[1][1:], exported, tuple(_record(r) for r in records))


def _record(lines: list[str]) -> Record:
    if len(lines) < 5:
        raise TxfSyntaxError(f"record too short: {lines}")
    t, n, c, l_ = lines[:4]
    if t not in ("TD", "TS") or n[:1] != "N" or c[:1] != "C" or l_[:1] != "L":
        raise TxfSyntaxError(f"common fields T N C L expected first: {lines[:4]}")
    fields = []
    for line in lines[4:]:
        code, value = line[:1], line[1:]
        if code not in FIELD_CODES or code in "TNCL":
            raise TxfSyntaxError(f"unexpected field {line!r}")
        if code == "$" and value and not AMOUNT.fullmatch(value):
            raise TxfSyntaxError(f"bad amount {line!r}")
        if code == "D" and not DATE.fullmatch(value):
            raise TxfSyntaxError(f"bad date {line!r}")
        if code in "PX" and (not value or any(ord(ch) < 32 for ch in value)):
            raise TxfSyntaxError(f"bad text {line!r}")
        fields.append((code, value))
    return Record(t[1], int(n[1:]), int(c[1:]), int(l_[1:]), tuple(fields))

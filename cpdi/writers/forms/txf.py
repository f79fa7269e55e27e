"""``cpdi_YYYY.txf`` and ``txf/<holder>_YYYY.txf``: the forms in the Tax Exchange Format (TXF),
version 042, which desktop tax software imports (docs/formats.md, "Output: `cpdi forms`";
method §12).

The format, as the V042 specification (Intuit, change date 30 November 2011) lays it out:

* an ASCII file, one field a line, the field named by the line's first character;
* a header — ``V042`` (the version), ``A`` the exporting program, ``D`` the export date — and
  then records, each line ``^`` closing the header and every record;
* a record starts with its common fields: ``T`` type (``D`` detail, ``S`` summary), ``N`` the
  reference number of the tax line, ``C`` the copy of the form, ``L`` the line of a multi-line
  item; then the fields of the reference number's record format;
* ``$`` amounts: income and gains positive, losses negative; ``D`` dates ``MM/DD/YYYY``.

What cpdi writes, per holder whose filer type's mapping gives TXF reference numbers (the
individual return; ``templates/forms.toml``):

* each ordinary item under its line's reference number (:data:`ITEM_FORMATS`): a format 3 item
  — interest on Schedule B — as one summary record per instrument, ``$`` amount then ``P``
  payer; a format 1 item — other income, where an ordinary loss goes, negative — as one detail
  record per instrument with an ``X`` line naming the item and the paragraph of Treas. Reg.
  §1.1275-4 it comes from, then one summary record of their sum (the spec: a tax line has one
  summary record, which detail records may precede);
* each Form 8949 line as a format 5 detail record under its box's reference number
  (:data:`FORM8949_REFS`): ``P`` description, ``D`` acquired, ``D`` sold, ``$`` cost basis,
  ``$`` sales net, and an empty ``$`` (no disallowed wash sale).

**The cost basis of a Form 8949 record.**  TXF has no field for Form 8949's column (g): the
third amount of format 5 is a disallowed wash sale, and an importer would take anything there
for one.  cpdi therefore writes the basis of the capital part, ``cost_basis −
adjustment_amount``, so that the imported sale's proceeds less its basis is column (h) — the
capital part only — and the ordinary part, which the ordinary records carry, is not counted a
second time.  ``form8949_YYYY.csv`` keeps the form's own columns, code O and the adjustment.

Text (``P`` and ``X``) is one line of ASCII: accents dropped, typographic dashes and quotes
made plain, control characters and line breaks made spaces, and no full taxpayer id — the
holder's own and every holder's, in any spelling, and anything TIN-shaped, are masked
(:mod:`cpdi.writers.privacy`).  Lines end with CR LF, as the programs that import TXF expect.
"""

from __future__ import annotations

import os
import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Iterable

from cpdi.engine.forms import (
    CARRIED_ITEMS, ORDINARY_ITEMS, FilerForms, Form8949Line, FormMapping, HolderForms,
    IncomeLine, cents, rounded_line,
)
from cpdi.readers.form_lines import FormMappingError
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import scrub_text, tin_index

VERSION = "V042"
"""The header's version line: TXF specification version 042."""

NEWLINE = "\r\n"

DETAIL, SUMMARY = "D", "S"

ITEM_FORMATS = {
    257: 1,  # Form 1040 "Other income-misc." (today Schedule 1, line 8z): $ amount
    287: 3,  # Schedule B "Interest income": $ amount, P payer
    492: 3,  # Schedule B "Int inc., orig issue disc": $ amount, P payer
}
"""The reference numbers cpdi writes an ordinary item under, with their record format (TXF
V042, section X): format 1 is an amount, format 3 an amount and a payer."""

FORM8949_REFS = {"A": 321, "B": 711, "C": 712, "D": 323, "E": 713, "F": 714}
"""Each Form 8949 box's reference number (TXF V042, section IV: short term 321 / 711 / 712 and
long term 323 / 713 / 714 for basis reported to the IRS, a 1099-B without basis, no 1099-B);
records of these are format 5."""

FORM8949_FORMAT = 5

ITEM_TEXT = {
    "interest_income": ("CPDI interest", "(b)(2)(ii)"),
    "ordinary_income_on_disposition": ("CPDI gain on disposition, interest income", "(b)(8)(i)"),
    "ordinary_loss": ("CPDI ordinary loss, net negative adjustment", "(b)(6)(iii)(B)"),
    "ordinary_loss_on_disposition": ("CPDI ordinary loss on disposition", "(b)(8)(ii)"),
}
"""What an ordinary item is, and the paragraph of Treas. Reg. §1.1275-4 it comes from: the
``X`` detail line of a format 1 record."""

PAYER_SUFFIX = {
    "interest_income": "",
    "ordinary_income_on_disposition": " (gain on disposition)",
    "ordinary_loss": " (ordinary loss)",
    "ordinary_loss_on_disposition": " (loss on disposition)",
}
"""Said after the payer of a format 3 record, so two items of one note on one schedule are
told apart."""

PAYER_LIMIT = 80
DETAIL_LIMIT = 160


@dataclass(frozen=True)
class TxfRecord:
    """One TXF record: its type (``D``/``S``), reference number, line, and the fields of its
    record format as written (each with its field code)."""

    kind: str
    refnum: int
    line: int
    fields: tuple[str, ...]

    def lines(self) -> tuple[str, ...]:
        """The record's lines, common fields first (T, N, C, L; one copy of each form)."""
        return (f"T{self.kind}", f"N{self.refnum}", "C1", f"L{self.line}") + self.fields


# -- the mapping's TXF reference numbers ----------------------------------------------------------


def in_txf(filer: FilerForms) -> bool:
    """Whether tax software imports this filer type's return by TXF: its mapping gives the
    Form 8949 boxes' reference numbers (today only the individual return, Form 1040)."""
    return bool(filer.txf_boxes)


def check_txf_mapping(mapping: FormMapping) -> None:
    """Refuse a mapping whose TXF reference numbers would make a wrong or incomplete file
    (:class:`FormMappingError` naming the key): a filer type imported by TXF needs every box
    under the reference number TXF V042 gives it and every ordinary item under a reference
    number cpdi knows the record format of — a TXF file that left an item out would understate
    the return — and a carried item has none (it goes on no return of the year)."""
    for filer_type, filer in mapping.filers.items():
        name = filer_type.value
        if not in_txf(filer):
            _check_no_item_refs(mapping.source, name, filer)
            continue
        for box, ref in filer.txf_boxes.items():
            if ref != FORM8949_REFS[box]:
                raise FormMappingError(
                    mapping.source, f"{name}.txf_boxes.{box}",
                    f"{ref} is not Form 8949 box {box}'s TXF reference number: TXF V042 gives "
                    f"box {box} {FORM8949_REFS[box]}")
        for item in ORDINARY_ITEMS:
            _check_item_ref(mapping.source, name, item, filer.line(item).txf_ref)
        for item in CARRIED_ITEMS:
            if filer.line(item).txf_ref is not None:
                raise FormMappingError(
                    mapping.source, f"{name}.lines.{item}.txf_ref",
                    f"{item} goes on no return of the year: remove its TXF reference number")


def _check_no_item_refs(source: str, name: str, filer: FilerForms) -> None:
    for item, line in filer.lines.items():
        if line.txf_ref is not None:
            raise FormMappingError(
                source, f"{name}.lines.{item}.txf_ref",
                f"{name} has no [{name}.txf_boxes], so its return is not written to TXF: give "
                f"the boxes' reference numbers too, or remove this one")


def _check_item_ref(source: str, name: str, item: str, ref: int | None) -> None:
    known = ", ".join(str(r) for r in sorted(ITEM_FORMATS))
    if ref is None:
        raise FormMappingError(
            source, f"{name}.lines.{item}.txf_ref",
            f"missing: {name}'s return is written to TXF, and a TXF file without {item} would "
            f"leave it off the return (cpdi writes {known})")
    if ref not in ITEM_FORMATS:
        raise FormMappingError(
            source, f"{name}.lines.{item}.txf_ref",
            f"{ref} is not a reference number cpdi writes an ordinary item under ({known})")


# -- fields ---------------------------------------------------------------------------------------


def txf_amount(amount: float) -> str:
    """A ``$`` value: cents, two decimals, no thousands separator, a loss negative, never
    ``-0.00``."""
    return f"{cents(amount):.2f}"


def txf_date(day: date) -> str:
    """A ``D`` value: ``MM/DD/YYYY`` (TXF since version 035)."""
    return f"{day.month:02d}/{day.day:02d}/{day.year:04d}"


_PLAIN = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-",
    "\u2212": "-", "\u00a7": "sec. ", "\u00b6": "par. ", "\u00d7": "x",
})


def _ascii(character: str) -> str:
    """One character as ASCII: printable ASCII kept, accents and invisible formatting dropped,
    white space and control characters (a line break) a space, anything else ``?``."""
    if " " <= character <= "~":
        return character
    category = unicodedata.category(character)
    if unicodedata.combining(character) or category == "Cf":
        return ""
    if character.isspace() or category.startswith("C"):
        return " "
    return "?"


def txf_text(value, limit: int, tin: str | None = "", tins=None) -> str:
    """A ``P`` or ``X`` value: one line of printable ASCII (:func:`_ascii` after compatibility
    decomposition, ``…`` → ``...``), white space collapsed, at most ``limit`` characters (cut
    with ``...``), with no full taxpayer id — masked before and after the text is made ASCII
    and again after it is cut, so no spelling of a TIN and no digit run the cut leaves looks
    like one is written."""
    text = scrub_text(value, tin, tins)
    text = unicodedata.normalize("NFKD", text).translate(_PLAIN)
    text = " ".join("".join(_ascii(c) for c in text).split())
    text = scrub_text(text, tin, tins)
    if len(text) > limit:
        text = scrub_text(text[: limit - 3].rstrip() + "...", tin, tins)
    return text


def payer_name(instrument_id: str, description: str) -> str:
    """The note as Schedule B names a payer: its id and description, without a parenthetical
    note to the reviewer (``02687QCD8 AIG CMS Curve Notes due July 20, 2027``)."""
    text = description.split(" (", 1)[0].strip()
    return f"{instrument_id} {text}".strip()


# -- records --------------------------------------------------------------------------------------


def payer_record(refnum: int, line: int, item: str, income: IncomeLine, payer: str,
                 tin: str, tins) -> TxfRecord:
    """A format 3 summary record: the item's amount as entered, then the payer (Schedule B,
    Part I, line 1 lists interest by payer)."""
    suffix = PAYER_SUFFIX[item]
    text = txf_text(payer, PAYER_LIMIT - len(suffix), tin, tins) + suffix
    return TxfRecord(SUMMARY, refnum, line, (f"${txf_amount(income.entered(item))}", f"P{text}"))


def detail_record(refnum: int, item: str, income: IncomeLine, payer: str, tin: str,
                  tins) -> TxfRecord:
    """A format 1 detail record: the item's amount as entered (a loss negative), then an ``X``
    line naming the item, its paragraph of §1.1275-4 and the note."""
    words, paragraph = ITEM_TEXT[item]
    detail = txf_text(f"{words}, Treas. Reg. 1.1275-4{paragraph}: {payer}", DETAIL_LIMIT, tin, tins)
    return TxfRecord(DETAIL, refnum, 1, (f"${txf_amount(income.entered(item))}", f"X{detail}"))


def income_records(forms: HolderForms, filer: FilerForms, descriptions: dict,
                   tins=None) -> list[TxfRecord]:
    """The holder's ordinary items that are not zero in cents, by reference number in the
    order the items come (:data:`ORDINARY_ITEMS`): per instrument a format 3 summary record
    (lines numbered 1, 2, … within the reference number), or format 1 detail records followed
    by one summary record of their sum."""
    index = tin_index(tins)
    tin = index.tin(forms.holder_id)
    every = index.all or None
    records: list[TxfRecord] = []
    for refnum in dict.fromkeys(filer.line(item).txf_ref for item in ORDINARY_ITEMS):
        entries = [
            (item, income) for item in ORDINARY_ITEMS if filer.line(item).txf_ref == refnum
            for income in forms.income if cents(income.amount(item)) != 0.0
        ]
        payers = [payer_name(income.instrument_id, descriptions.get(income.instrument_id, ""))
                  for _, income in entries]
        if refnum not in ITEM_FORMATS:
            raise ValueError(f"TXF reference number {refnum} has no record format cpdi writes: "
                             "check the mapping first (check_txf_mapping)")
        if ITEM_FORMATS[refnum] == 3:
            records += [payer_record(refnum, n, item, income, payer, tin, every)
                        for n, ((item, income), payer) in enumerate(zip(entries, payers), start=1)]
        elif entries:
            details = [detail_record(refnum, item, income, payer, tin, every)
                       for (item, income), payer in zip(entries, payers)]
            total = cents(sum(cents(income.entered(item)) for item, income in entries))
            records += details + [TxfRecord(SUMMARY, refnum, 1, (f"${txf_amount(total)}",))]
    return records


def txf_cost_basis(line: Form8949Line) -> float:
    """The cost basis a TXF sale carries: the basis of the capital part, ``cost_basis −
    adjustment_amount`` of the line as presented, so that sales net less it is column (h) in
    cents (see the module docstring: TXF has no column (g))."""
    shown = rounded_line(line)
    return cents(shown.cost_basis - shown.adjustment_amount)


def form8949_record(line: Form8949Line, filer: FilerForms, tin: str, tins) -> TxfRecord:
    """A format 5 detail record of one disposed lot under its box's reference number: ``P``
    description, ``D`` acquired, ``D`` sold, ``$`` cost (:func:`txf_cost_basis`), ``$`` sales
    net (column (d)), and an empty ``$`` (no disallowed wash sale)."""
    shown = rounded_line(line)
    return TxfRecord(DETAIL, filer.txf_boxes[line.box], 1, (
        f"P{txf_text(shown.description, PAYER_LIMIT, tin, tins)}",
        f"D{txf_date(shown.date_acquired)}", f"D{txf_date(shown.date_sold)}",
        f"${txf_amount(txf_cost_basis(line))}", f"${txf_amount(shown.proceeds)}", "$",
    ))


def holder_records(forms: HolderForms, filer: FilerForms, descriptions: dict,
                   tins=None) -> list[TxfRecord]:
    """Everything of one holder's year in TXF: the ordinary items, then one sale per Form 8949
    line in lot order."""
    index = tin_index(tins)
    tin = index.tin(forms.holder_id)
    sales = [form8949_record(line, filer, tin, index.all or None) for line in forms.form8949]
    return income_records(forms, filer, descriptions, index) + sales


# -- the file -------------------------------------------------------------------------------------


def txf_document(records: Iterable[TxfRecord], prepared: date, program: str) -> str:
    """The file's text: the header (version, program, export date), then each record, each
    closed by a ``^`` line; CR LF line ends."""
    lines = [VERSION, f"A{txf_text(program, PAYER_LIMIT)}", f"D{txf_date(prepared)}", "^"]
    for record in records:
        lines += [*record.lines(), "^"]
    text = NEWLINE.join(lines) + NEWLINE
    if not text.isascii():  # every field above is made ASCII: a failure here is a bug
        raise ValueError("a TXF file must be ASCII text")
    return text


def write_txf(target: str | os.PathLike, records: list[TxfRecord], prepared: date,
              program: str) -> int:
    """Write the records atomically as one TXF file; return how many were written."""
    text = txf_document(records, prepared, program)
    with atomic_text(target, newline="") as handle:
        handle.write(text)
    return len(records)


def holder_txf_names(holder_ids: Iterable[str], year: int, tins=None) -> dict[str, str]:
    """Each holder's own TXF file name, ``<holder>_YYYY.txf``: safe on any file system and
    never carrying a full taxpayer id (the workbooks' rule,
    :func:`cpdi.writers.workpapers.names.holder_file_name`); ids that differ only in case get
    a distinguishing hash, for file systems that ignore case."""
    from cpdi.writers.workpapers.names import holder_file_name

    index = tin_index(tins)
    ids = list(holder_ids)
    folded = Counter(holder_id.casefold() for holder_id in ids)
    names = {}
    for holder_id in ids:
        name = holder_file_name(holder_id, year, folded[holder_id.casefold()] > 1,
                                tin=index.tin(holder_id))
        names[holder_id] = name.removesuffix(".xlsx") + ".txf"
    return names

r"""Privacy and injection safety for everything cpdi writes: workbooks, CSV files, file names and
messages.  Every writer and every message goes through this module, so the rules live in one
place (docs/formats.md, "Commands" and "The output folder"):

**Taxpayer ids.**  No output ever carries a full SSN, ITIN or EIN.  Anything *shaped* like one is
masked to its last four digits (:func:`mask_tin`: ``123-45-6789`` → ``*****6789``), wherever it
appears — a holder's name, an extra holders column, a holder or lot id, a problem's message:

* ``123-45-6789`` and ``123 45 6789`` (SSN / ITIN), ``12-3456789`` (EIN);
* nine digits in a row, ``123456789``, when they are not part of a longer run of digits.

**Spellings.**  A digit is any Unicode decimal digit (``0-9``, full-width ``１２３``, Arabic-Indic
…: ``\d`` of a str pattern, ``str.isdecimal``); a dash is any Unicode dash (``-``, U+2010–U+2015
en and em dashes, minus U+2212, U+FE58, U+FE63, full-width U+FF0D); a space is any Unicode white
space (no-break, thin, ideographic …); and invisible characters — zero-width space, non-joiner
and joiner (U+200B–U+200D), word joiner U+2060, BOM U+FEFF, soft hyphen, U+180E — are ignored
wherever they sit, so ``123\u200b456789`` is nine digits and ``1\u200b234567890`` is ten.  The
mask keeps the last four digits as written (``*****６７８９``).

Decisions:

* **Longer digit runs are not TINs.**  Ten or more digits in a row (an account number, an ISIN's
  ``4592001014``, a timestamp) are left alone: the nine-digit rule needs a non-digit (or the
  text's end) on both sides.  A dashed shape is masked even inside a longer dashed id
  (``A-123-45-6789-B``) — hyphens do not protect it.
* **Decimals.**  Nine digits *after* a decimal point (``0.123456789``) are a fraction and are
  left alone.  Nine digits *before* one are masked (``123456789.0`` → ``*****6789.0``): a TIN
  typed into a numeric spreadsheet cell arrives exactly like that.  Money amounts keep their
  digits otherwise (``1000.000000``, ``-125.000000``, ``48,900.00``), as do dates
  (``2025-09-15``, ``20250915``): neither has nine digits in a row.  Numeric cells of a
  workbook and the ledger's number columns are numbers, never scrubbed text.
* **CUSIPs.**  A CUSIP has letters (``02687QCD8``) and is left alone.  An all-digit nine-
  character CUSIP cannot be told from a TIN and *is* masked, like any nine-digit run: a
  wrongly masked security id costs readability; a missed TIN is a disclosure.  (All-digit CUSIPs
  are rare for debt: fixed-income issue numbers are usually alphanumeric.)
* **The holder's own TIN** is masked in any spelling — as written, bare digits, or its digits
  (in any script) with up to three separators between any two of them: dashes, spaces, dots,
  slashes, underscores of any script, invisible characters anywhere (``111.22.3333``,
  ``１１１.２２.３３３３``, ``111 – 22 – 3333``, ``12 3456789`` for ``12-3456789``) — wherever a
  writer knows whose text it is (``scrub_text(text, tin=holder.tin)``).  A run of digits that
  goes on past the TIN's is not it (``11122233334``); a comma is not a separator (money).
* **Every holder's TIN** can be masked the same way (``scrub_text(text, tins=index)`` with a
  :class:`TinIndex` of ``holder_id -> tin``): problems and messages use it, since an instrument's
  problem has no holder and a row's problem may quote another holder's id; the results ledger
  too.  The TINs are looked up, not searched for one by one: the text's digit chains are read
  once and each run of whole groups is looked up in a set, so 5,000 holders cost what one does.
  For a set, a written form is replaced verbatim only when it is more than digits and
  separators (``XY98765``); the holder's own always is.  Workbooks and the summary mask their
  holder's own TIN (the promise of docs/formats.md), not every other holder's.
* **File names** derived from a holder id that looks like a TIN, or holds its holder's own TIN in
  any spelling (``holder_file_name(holder_id, year, tin=holder.tin)``), carry the masked id and a
  short hash of the original (``_____6789--1a2b3c4d5e6f_2025.xlsx``), so two holders with the
  same last four digits never share a file.  The hash keeps names apart; it is not a secret:
  anyone holding the file name could find the id by hashing the 100,000 ids that end in the four
  digits shown.  The batch's manifest records file names, never holder ids.

**Formula injection in CSV.**  A cell that starts with ``= + - @``, a tab or a line break and is
not a plain number gets a leading apostrophe, so a spreadsheet opening the file shows text
instead of running a formula (``-125.000000`` stays a number); NUL and the other C0 control
characters except tab and line feed are dropped, and a carriage return becomes a line feed
(:func:`csv_safe`): our CSV files end lines with ``\n``, and the ``csv`` module leaves a field
holding a bare ``\r`` unquoted, which a reader takes for the end of the row — a forged row could
then start with ``=``.  See OWASP, "CSV Injection"
(https://owasp.org/www-community/attacks/CSV_Injection), CWE-1236 and OWASP ASVS requirement
1.2.10.  The ``csv`` module quotes separators, quotes and line feeds (RFC 4180).

**Workbooks.**  Text is always written with ``write_string`` (never a formula, number or link;
see ``cpdi.writers.workpapers``) and goes through :func:`xlsx_safe_text` first: TINs masked, NUL
dropped (XlsxWriter would store it as ``_x0000_``, which Excel reads back as a NUL).  Other
control characters are kept: XlsxWriter escapes them (``_x0001_``) and they read back as written.

**Messages.**  ``cpdi.problems.problem_text(problem, tins)`` (what the command line prints on
stderr, one line per problem; ``Problem.__str__`` without ``tins``) goes through
:func:`message_safe`: TINs masked, control characters shown as ``\xNN``.
``CpdiError.__str__`` (every other error the command line prints) goes through
:func:`scrub_text`.

Everything here is pure text processing (no imports from the rest of cpdi) and fast: the
regular expressions are compiled once, and text with fewer than nine decimal digits (fewer than
the shortest known TIN has) is returned untouched after one length check and one scan.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Mapping

__all__ = [
    "mask_tin", "scrub_text", "scrub_problem_value", "looks_like_tin", "csv_safe", "xlsx_safe_text",
    "message_safe", "safe_file_stem", "short_hash", "TinIndex", "tin_index",
]

# -- taxpayer ids ---------------------------------------------------------------------------------
TIN_DIGITS = 9

# Spellings (docs/formats.md): a digit is any Unicode decimal digit (``\d`` of a str pattern:
# ``0-9``, full-width ``０-９``, Arabic-Indic …); a dash is any Unicode dash; a space any Unicode
# white space (``\s``: no-break, thin, ideographic …); and invisible characters (zero-width space,
# non-joiner and joiner, word joiner, BOM, soft hyphen, Mongolian vowel separator) are ignored
# wherever they sit: they never separate digits as a reader sees them.
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
_DASHES = "\\-\u2010-\u2015\u2212\ufe58\ufe63\uff0d"
_Z = f"[{_INVISIBLE}]"


def _digits(count: int) -> str:
    """``count`` digits in a row, invisible characters allowed between them."""
    return rf"\d(?:{_Z}*\d){{{count - 1}}}"


_GAP = rf"{_Z}*[{_DASHES}\s]{_Z}*"  # SSN / ITIN: a dash or a space (or one of each)
_DASH_GAP = rf"{_Z}*[{_DASHES}]{_Z}*"  # EIN: a dash only
# SSN/ITIN with dashes or spaces, EIN with a dash, or nine digits not part of a longer digit run
# (an invisible character does not end a run) and not the fractional part of a decimal
# (``(?<!\d\.)``).  ``mask_tin`` keeps the last four digits as written (full-width stays so).
_TIN_SHAPED = re.compile(
    rf"(?<!\d)(?<!\d{_Z})(?<!\d{_Z}{_Z})(?<!\d\.)"
    rf"(?:{_digits(3)}{_GAP}{_digits(2)}{_GAP}{_digits(4)}|{_digits(2)}{_DASH_GAP}{_digits(7)}|{_digits(9)})"
    rf"(?!{_Z}*\d)"
)
# Nine digits anywhere, however separated: text without them cannot hold a TIN.  Anchored and
# possessive, so one linear scan (about half a microsecond for a typical label).
_NINE_DIGITS = re.compile(r"(?:\D*+\d){9}")
_FIVE_DIGITS = re.compile(r"(?:\D*+\d){5}")  # fewer, and no TIN shows more than its mask does
_NON_DIGIT = re.compile(r"\D")

# The holder's own TIN (and any known TIN) is masked in any spelling: its digits, with up to three
# separators between any two of them — a dash, a space, a dot, a slash or an underscore of any
# script — and invisible characters anywhere.  A *chain* is a maximal run of digit groups joined
# by separators; a TIN is a run of whole groups of a chain whose digits are the TIN's.
_SEPARATORS = _DASHES + r"\s./_\u00b7\u2024\u2027\u2044\u2215\u30fb\uff0e\uff0f\uff3f\uff65"
_GROUP = rf"\d(?:{_Z}*+\d)*+"
_DIGIT_GROUP = re.compile(_GROUP)
_DIGIT_CHAIN = re.compile(rf"{_GROUP}(?:{_Z}*(?:[{_SEPARATORS}]{_Z}*){{1,3}}{_GROUP})*")
_SPELLING_ONLY = re.compile(rf"[\d{_SEPARATORS}{_INVISIBLE}]*")


def _ascii_digits(text: str) -> str:
    """The decimal digits of ``text`` as ASCII ``0-9``, everything else dropped."""
    digits = _NON_DIGIT.sub("", text)
    if digits.isascii():
        return digits
    return "".join(str(unicodedata.decimal(c)) for c in digits)


def _group_digits(group: str) -> str:
    """A digit group's digits as ASCII (a group is digits and invisible characters only, so an
    ASCII group is digits already)."""
    return group if group.isascii() else _ascii_digits(group)


def mask_tin(tin: str) -> str:
    """A taxpayer id with only its last four digits visible: ``"123-45-6789"`` →
    ``"*****6789"``.  An id of four digits or fewer is masked whole; no id → ``""``."""
    if not tin or not str(tin).strip():
        return ""
    digits = _NON_DIGIT.sub("", str(tin))
    if len(digits) <= 4:
        return "*" * max(len(digits), 4)
    return "*" * (len(digits) - 4) + digits[-4:]


def looks_like_tin(text: str) -> bool:
    """Whether ``text`` holds anything shaped like an SSN, ITIN or EIN (module docstring)."""
    return _TIN_SHAPED.search(str(text)) is not None


class _Known:
    """Known TINs prepared for masking in any spelling: the written forms replaced wherever they
    appear (their masks beside them), the digit strings (ASCII) a chain may spell, the shortest
    and longest of them, and a quick test that a text has as many digits as the shortest."""

    __slots__ = ("written", "digits", "single", "lengths", "shortest", "longest", "enough")

    def __init__(self, tins: Iterable[str], every_written: bool):
        written, digits = {}, set()
        for tin in tins:
            tin = str(tin).strip()
            number = _ascii_digits(tin)
            if len(number) <= 4:  # nothing to hide that the mask would not show
                continue
            digits.add(number)
            # the written form, replaced as it is: always for the holder's own TIN; for a set
            # only when it is more than digits and separators (``XY98765``), which no chain spells
            if every_written or not _SPELLING_ONLY.fullmatch(tin):
                written[tin] = mask_tin(tin)
        self.written = tuple(written.items())
        self.digits = frozenset(digits)
        self.single = next(iter(digits)) if len(digits) == 1 else None
        self.lengths = tuple(sorted({len(d) for d in digits}))
        self.shortest = min(map(len, digits), default=0)
        self.longest = max(map(len, digits), default=0)
        self.enough = _NINE_DIGITS if self.shortest == TIN_DIGITS else _enough(self.shortest)

    def mask(self, text: str, nine: bool) -> str:
        if not self.digits:
            return text
        for written, mask in self.written:
            if written in text:
                text = text.replace(written, mask)
        if not (nine if self.enough is _NINE_DIGITS else self.enough.match(text)):
            return text
        if not self._among(_ascii_digits(text)):
            return text  # no TIN's digits are even among the text's, in order: the usual case
        shortest, pieces, last = self.shortest, [], 0
        for chain in _DIGIT_CHAIN.finditer(text):
            start, end = chain.span()
            if end - start < shortest:
                continue  # a date, an amount, a short id: too few digits to spell a TIN
            groups = [(g.start(), g.end(), _group_digits(g.group()))
                      for g in _DIGIT_GROUP.finditer(text, start, end)]
            i = 0
            while i < len(groups):
                number, found = "", None
                for j in range(i, len(groups)):
                    number += groups[j][2]
                    if len(number) > self.longest:
                        break
                    if number in self.digits:
                        found = j  # the longest match from this group
                if found is None:
                    i += 1
                    continue
                start, end = groups[i][0], groups[found][1]
                pieces += [text[last:start], mask_tin(text[start:end])]
                last = end
                i = found + 1
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)

    def _among(self, digits: str) -> bool:
        """Whether a TIN's digits appear in ``digits`` (the text's, separators dropped): a
        spelling of a TIN needs them there, so most text is done with after this look-up."""
        if self.single is not None:
            return self.single in digits
        known = self.digits
        for n in self.lengths:
            if any(digits[i:i + n] in known for i in range(len(digits) - n + 1)):
                return True
        return False


@functools.lru_cache(maxsize=64)
def _enough(count: int) -> re.Pattern:
    return re.compile(rf"(?:\D*+\d){{{count}}}")


@functools.lru_cache(maxsize=1 << 16)  # a batch's holders (thousands), each met again and again
def _own_tin(tin: str) -> _Known:
    """The holder's own TIN, prepared (its written form is replaced wherever it appears)."""
    return _Known((tin,), every_written=True)


@functools.lru_cache(maxsize=16)
def _known_tins(tins: frozenset) -> _Known:
    return _Known(tins, every_written=False)


class TinIndex(Mapping):
    """Holders' taxpayer ids by holder id (``holder_id -> tin``), prepared once for masking:
    :meth:`tin` looks up one holder's, :attr:`all` is every one of them.  Build it once per run
    (:func:`tin_index`) and pass it to the writers and to ``cpdi.problems.problem_text``: masking
    text with every holder's TIN then costs one scan of the text, however many holders there are
    (the TINs are looked up, not searched for one by one)."""

    __slots__ = ("_tins", "all")

    def __init__(self, tins: Mapping[str, str | None] | None = None):
        self._tins = {k: ("" if v is None else str(v)) for k, v in (tins or {}).items()}
        self.all = frozenset(v.strip() for v in self._tins.values() if v.strip())

    def __getitem__(self, holder_id: str) -> str:
        return self._tins[holder_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._tins)

    def __len__(self) -> int:
        return len(self._tins)

    def tin(self, holder_id: str | None) -> str:
        """The holder's TIN; ``""`` for no holder or one not known."""
        return self._tins.get(holder_id, "") if holder_id is not None else ""


_NO_TINS = TinIndex()


def tin_index(tins: Mapping[str, str | None] | TinIndex | None) -> TinIndex:
    """``tins`` (``holder_id -> tin``) as a :class:`TinIndex`; one already is returned as it is."""
    if isinstance(tins, TinIndex):
        return tins
    return _NO_TINS if not tins else TinIndex(tins)


def _known(tins) -> _Known | None:
    if not tins:
        return None
    if isinstance(tins, TinIndex):
        return _known_tins(tins.all) if tins.all else None
    if isinstance(tins, frozenset):  # hashed once: the cache finds it at once
        return _known_tins(tins)
    if isinstance(tins, str):
        return _own_tin(tins)
    if isinstance(tins, Mapping):
        tins = tins.values()
    return _known_tins(frozenset(str(t).strip() for t in tins if t and str(t).strip()))


def scrub_text(text, tin: str | None = "", tins: TinIndex | Collection[str] | None = None) -> str:
    """``text`` (anything; ``None`` → ``""``) with every TIN-shaped run masked to its last four
    digits, the holder's own ``tin`` masked in any of its spellings, and every TIN of ``tins``
    (a :class:`TinIndex`, or any collection of TINs) in any spelling too (module docstring).
    Idempotent: masked text is left as it is."""
    if text is None:
        return ""
    text = str(text)
    if len(text) < 5:  # too short to hold five digits: nothing to mask
        return text
    nine = _NINE_DIGITS.match(text) is not None
    if not nine and (not (tin or tins) or not _FIVE_DIGITS.match(text)):
        return text  # no TIN shape, and too few digits for any TIN worth masking
    if tin:
        text = _own_tin(str(tin)).mask(text, nine)
    if tins:
        known = _known(tins)
        if known is not None:
            text = known.mask(text, nine)
    if not nine:
        return text
    return _TIN_SHAPED.sub(_mask_match, text)


def _mask_match(match: re.Match) -> str:
    return mask_tin(match.group())


def scrub_problem_value(value, column: str | None, tin: str | None = "",
                        tins: TinIndex | Collection[str] | None = None) -> str:
    """A problem's offending value fit to show: a ``tin`` column's value is masked whole (even a
    malformed id, which no TIN shape would catch); any other value is scrubbed."""
    if value is None:
        return ""
    if column is not None and str(column).strip().lower() == "tin":
        return mask_tin(str(value))
    return scrub_text(value, tin, tins)


# -- CSV cells (formula injection) ----------------------------------------------------------------
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# C0 controls except tab, line feed and carriage return, and DEL: nothing a CSV cell needs.
_CSV_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_safe(value, tin: str | None = "", tins: TinIndex | Collection[str] | None = None) -> str:
    """Text for a CSV cell that no spreadsheet runs as a formula and that carries no full TIN:
    scrubbed (:func:`scrub_text`), NUL and other control characters but tab and LF dropped, CR
    turned into LF (which the ``csv`` module quotes), and a leading apostrophe when it starts
    with ``= + - @``, tab or a line break and is not a plain number (OWASP "CSV Injection";
    CWE-1236).  ``None`` → ``""``."""
    if value is None:
        return ""
    text = scrub_text(value, tin, tins)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CSV_CONTROL.search(text):
        text = _CSV_CONTROL.sub("", text)
    if text.startswith(_CSV_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


# -- workbook text -----------------------------------------------------------------------------------
def xlsx_safe_text(value, tin: str | None = "", tins: TinIndex | Collection[str] | None = None) -> str:
    """Text for a workbook cell, sheet name, header, footer or document property: scrubbed
    (:func:`scrub_text`) and without NUL.  Writers still write it with ``write_string``."""
    if value is None:
        return ""
    text = scrub_text(value, tin, tins)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


# -- messages ----------------------------------------------------------------------------------------
_MESSAGE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def message_safe(text, tin: str | None = "", tins: TinIndex | Collection[str] | None = None) -> str:
    """A one-line message for a terminal or log: scrubbed, and every control character but tab
    shown as ``\\xNN`` (a value cannot start a fake line or send terminal escape codes)."""
    text = scrub_text(text, tin, tins)
    if _MESSAGE_CONTROL.search(text):
        text = _MESSAGE_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text


# -- file names --------------------------------------------------------------------------------------
def short_hash(text: str, length: int = 12) -> str:
    """``length`` hex digits of the SHA-256 of ``text`` (UTF-8, lone surrogates allowed)."""
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:length]


def safe_file_stem(text: str, tin: str | None = "",
                   tins: TinIndex | Collection[str] | None = None) -> tuple[str, bool]:
    """``text`` with TINs masked (any TIN shape, the holder's own ``tin`` and those of ``tins``
    in any spelling), for a file name; and whether masking changed it (the caller then adds
    :func:`short_hash` of the original so names stay distinct)."""
    text = str(text)
    masked = scrub_text(text, tin, tins)
    return masked, masked != text

r"""Privacy and injection safety for everything cpdi writes: workbooks, CSV files, file names and
messages.  Every writer and every message goes through this module, so the rules live in one
place (docs/formats.md, "Commands" and "The output folder"):

**Taxpayer ids.**  No output ever carries a full SSN, ITIN or EIN.  Anything *shaped* like one is
masked to its last four digits (:func:`mask_tin`: ``123-45-6789`` → ``*****6789``), wherever it
appears — a holder's name, an extra holders column, a holder or lot id, a problem's message:

* ``123-45-6789`` and ``123 45 6789`` (SSN / ITIN), ``12-3456789`` (EIN);
* nine digits in a row, ``123456789``, when they are not part of a longer run of digits.

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
* **The holder's own TIN** is masked in any spelling — as written, bare digits, or digits with a
  space, dot, slash or hyphen between any of them — wherever a writer knows whose text it is
  (``scrub_text(text, tin=holder.tin)``).
* **File names** derived from a holder id that looks like a TIN carry the masked id and a short
  hash of the original (``_____6789--1a2b3c4d5e6f_2025.xlsx``: see ``holder_file_name``), so two
  holders with the same last four digits never share a file.  The hash keeps names apart; it is
  not a secret: anyone holding the file name could find the id by hashing the 100,000 ids that
  end in the four digits shown.  The batch's manifest records file names, never holder ids.

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

**Messages.**  ``Problem.__str__`` (what the command line prints on stderr, one line per
problem) goes through :func:`message_safe`: TINs masked, control characters shown as ``\xNN``.
``CpdiError.__str__`` (every other error the command line prints) goes through
:func:`scrub_text`.

Everything here is pure text processing (no imports from the rest of cpdi) and fast: the
regular expressions are compiled once, and text with fewer digits than a TIN has is returned
untouched after one length check and one scan.
"""

from __future__ import annotations

import functools
import hashlib
import re

__all__ = [
    "mask_tin", "scrub_text", "scrub_problem_value", "looks_like_tin", "csv_safe", "xlsx_safe_text",
    "message_safe", "safe_file_stem", "short_hash",
]

# -- taxpayer ids ---------------------------------------------------------------------------------
TIN_DIGITS = 9

# SSN/ITIN with hyphens or spaces, EIN with a hyphen, or nine digits not part of a longer digit
# run and not the fractional part of a decimal (``(?<!\d\.)``).  \d also matches non-ASCII
# digits (full-width ``１２３…``), which ``mask_tin`` masks the same way.
_TIN_SHAPED = re.compile(
    r"(?<!\d)(?<!\d\.)"
    r"(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{2}-\d{7}|\d{9})"
    r"(?!\d)"
)
# Nine digits anywhere, however separated: text without them cannot hold a TIN.  Anchored and
# possessive, so one linear scan (about half a microsecond for a typical label).
_NINE_DIGITS = re.compile(r"(?:\D*+\d){9}")
_NON_DIGIT = re.compile(r"\D")


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


@functools.lru_cache(maxsize=4096)
def _own_tin(tin: str) -> tuple[str, str, re.Pattern, re.Pattern | None]:
    """The holder's TIN as written (stripped), its mask, a quick test that a text has as many
    digits as the TIN, and a pattern for its digits in any spelling; no pattern for an id of
    four digits or fewer (nothing to hide that the mask would not show)."""
    written = tin.strip()
    digits = _NON_DIGIT.sub("", written)
    if len(digits) <= 4:
        return written, "", _NINE_DIGITS, None
    pattern = r"[\s./-]?".join(re.escape(d) for d in digits)
    enough = _NINE_DIGITS if len(digits) == TIN_DIGITS else re.compile(rf"(?:\D*+\d){{{len(digits)}}}")
    return written, mask_tin(written), enough, re.compile(rf"(?<!\d){pattern}(?!\d)")


def _mask_match(match: re.Match) -> str:
    return mask_tin(match.group())


def scrub_text(text, tin: str | None = "") -> str:
    """``text`` (anything; ``None`` → ``""``) with every TIN-shaped run masked to its last four
    digits, and the holder's own ``tin`` masked in any of its spellings (module docstring).
    Idempotent: masked text is left as it is."""
    if text is None:
        return ""
    text = str(text)
    if len(text) < 5:  # too short to hold five digits: nothing to mask
        return text
    nine = _NINE_DIGITS.match(text) is not None
    if tin:
        written, mask, enough, own = _own_tin(str(tin))
        if own is not None:
            if written in text:
                text = text.replace(written, mask)
            if nine if enough is _NINE_DIGITS else enough.match(text):
                text = own.sub(mask, text)
    if not nine:
        return text
    return _TIN_SHAPED.sub(_mask_match, text)


def scrub_problem_value(value, column: str | None, tin: str | None = "") -> str:
    """A problem's offending value fit to show: a ``tin`` column's value is masked whole (even a
    malformed id, which no TIN shape would catch); any other value is scrubbed."""
    if value is None:
        return ""
    if column is not None and str(column).strip().lower() == "tin":
        return mask_tin(str(value))
    return scrub_text(value, tin)


# -- CSV cells (formula injection) ----------------------------------------------------------------
_CSV_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d[\d,]*(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
# C0 controls except tab, line feed and carriage return, and DEL: nothing a CSV cell needs.
_CSV_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def csv_safe(value, tin: str | None = "") -> str:
    """Text for a CSV cell that no spreadsheet runs as a formula and that carries no full TIN:
    scrubbed (:func:`scrub_text`), NUL and other control characters but tab and LF dropped, CR
    turned into LF (which the ``csv`` module quotes), and a leading apostrophe when it starts
    with ``= + - @``, tab or a line break and is not a plain number (OWASP "CSV Injection";
    CWE-1236).  ``None`` → ``""``."""
    if value is None:
        return ""
    text = scrub_text(value, tin)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _CSV_CONTROL.search(text):
        text = _CSV_CONTROL.sub("", text)
    if text.startswith(_CSV_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


# -- workbook text -----------------------------------------------------------------------------------
def xlsx_safe_text(value, tin: str | None = "") -> str:
    """Text for a workbook cell, sheet name, header, footer or document property: scrubbed
    (:func:`scrub_text`) and without NUL.  Writers still write it with ``write_string``."""
    if value is None:
        return ""
    text = scrub_text(value, tin)
    if "\x00" in text:
        text = text.replace("\x00", "")
    return text


# -- messages ----------------------------------------------------------------------------------------
_MESSAGE_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def message_safe(text, tin: str | None = "") -> str:
    """A one-line message for a terminal or log: scrubbed, and every control character but tab
    shown as ``\\xNN`` (a value cannot start a fake line or send terminal escape codes)."""
    text = scrub_text(text, tin)
    if _MESSAGE_CONTROL.search(text):
        text = _MESSAGE_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text


# -- file names --------------------------------------------------------------------------------------
def short_hash(text: str, length: int = 12) -> str:
    """``length`` hex digits of the SHA-256 of ``text`` (UTF-8, lone surrogates allowed)."""
    return hashlib.sha256(str(text).encode("utf-8", "surrogatepass")).hexdigest()[:length]


def safe_file_stem(text: str) -> tuple[str, bool]:
    """``text`` with TINs masked, for a file name; and whether masking changed it (the caller
    then adds :func:`short_hash` of the original so names stay distinct)."""
    text = str(text)
    masked = scrub_text(text)
    return masked, masked != text

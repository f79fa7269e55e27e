"""Names that come from input ids and must be safe where they land: holder workbook file names
(any file system) and worksheet names (Excel's rules).  Both are masked of taxpayer ids first
(``cpdi.writers.privacy``)."""

from __future__ import annotations

import re
from typing import Callable

from cpdi.writers.privacy import safe_file_stem, scrub_text, short_hash, xlsx_safe_text

FILE_NAME_LIMIT = 100  # characters, suffix included

# -- names ----------------------------------------------------------------------------------------
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9._-]")
_HASHED_STEM = re.compile(r"--[0-9a-f]{12}$")
_WINDOWS_RESERVED = {
    "con", "prn", "aux", "nul", "conin$", "conout$",
    *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10)),
}


def _file_safe(text: str) -> str:
    """``text`` with only ``A-Z a-z 0-9 . _ -`` (anything else becomes ``_``), no ``..``, no
    leading dot or hyphen and no Windows device name."""
    safe = _UNSAFE_FILE_CHARS.sub("_", text)
    safe = re.sub(r"\.{2,}", lambda m: "_" * len(m.group()), safe)
    if safe[:1] in (".", "-"):
        safe = "_" + safe[1:]
    if safe.split(".")[0].lower() in _WINDOWS_RESERVED:  # CON, NUL, COM1 … even with a suffix
        safe = "_" + safe
    return safe


def holder_file_name(holder_id: str, year: int, distinguish: bool = False, *, tin: str | None = "") -> str:
    """A file name for a holder's workbook that is safe on any file system, e.g.
    ``"H-1001_2025.xlsx"``.

    Only ``A-Z a-z 0-9 . _ -`` are kept (anything else becomes ``_``); no leading dot or
    hyphen, no ``..``, no path separator, no Windows device name, at most 100 characters.  An id
    that had to be changed or shortened gets ``--`` and 12 hex digits of its SHA-256, so two
    different ids never share a name (an id that already ends like that is hashed too).  File
    systems that ignore case would still see ``h-1`` and ``H-1`` as one name: ``distinguish``
    adds the hash anyway, and the batch asks for it for ids that differ only in case.

    A file name never carries a full taxpayer id: an id that holds anything shaped like one, or
    the holder's own ``tin`` in any spelling (``cpdi.writers.privacy``), is masked first,
    ``123-45-6789`` → ``_____6789--<hash>_2025.xlsx``, and so always gets the hash that keeps it
    apart from other ids ending in the same digits.  What cleaning or shortening the id makes of
    it is masked again (``111,22,3333`` becomes ``111_22_3333``, a spelling of its holder's TIN;
    a long digit run cut to nine digits looks like a TIN)."""
    holder_id = str(holder_id)
    suffix = f"_{year}.xlsx"
    shown, masked = safe_file_stem(holder_id, tin)
    safe = _file_safe(shown)
    again = scrub_text(safe, tin)
    if again != safe:
        safe, masked = _file_safe(again), True
    changed = (
        distinguish
        or masked
        or safe != holder_id
        or not safe
        or _HASHED_STEM.search(safe) is not None
        or len(safe) + len(suffix) > FILE_NAME_LIMIT
    )
    if not changed:
        return safe + suffix
    digest = short_hash(holder_id, 12)
    room = FILE_NAME_LIMIT - len(suffix) - 2 - len(digest)
    stem = _UNSAFE_FILE_CHARS.sub("_", scrub_text(safe[:room], tin)) or "holder"
    return f"{stem}--{digest}{suffix}"


_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\\x00-\x1f\x7f]")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _cut(text: str, limit: int) -> str:
    while _utf16_len(text) > limit:
        text = text[:-1]
    return text


class _SheetNames:
    """Excel sheet names from input ids: at most 31 characters, none of ``[]:*?/\\``, not
    starting or ending with an apostrophe, unique ignoring case (truncated plus ``~2``…)."""

    def __init__(self):
        self.used: set[str] = set()

    def make(self, wanted: str, scrub: Callable[[str], str] = xlsx_safe_text) -> str:
        """The sheet's name: ``wanted`` masked (``scrub``: the workbook's, which knows the holder's
        own TIN), cleaned, cut and made unique.  A cut can end a longer digit run on nine digits,
        so what is cut is masked again.  Formulas, links, charts and print titles all take the
        name this returns (``_Sheet.name``), so they name the masked sheet."""
        name = _BAD_SHEET_CHARS.sub("_", scrub(wanted)).strip().strip("'")
        name = _BAD_SHEET_CHARS.sub("_", scrub(_cut(name, 31))).strip().strip("'") or "Sheet"
        if name.lower() == "history":  # reserved by Excel
            name = "History_"
        candidate, number = name, 2
        while candidate.lower() in self.used:
            tail = f"~{number}"
            candidate = _BAD_SHEET_CHARS.sub("_", scrub(_cut(name, 31 - len(tail)))).rstrip("'") + tail
            number += 1
        self.used.add(candidate.lower())
        return candidate


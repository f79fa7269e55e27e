"""The manifest (``DIR/.cpdi-manifest.json``) of a year-end batch's output folder
(:mod:`cpdi.batch`): reading and checking it, writing it as the run goes, the digests that
verify a workbook and the fingerprints that say whether it is still this run's.

Per tax year, per workbook file name, either ``{"fingerprint", "sha256", "size"}`` — a workbook
this tool wrote, verified — or ``{"pending": true}`` — a file this tool may have written, not
verified (it is rewritten if its holder is in the input and removed if not)::

    {"format": "cpdi-workpapers-manifest", "version": 2,
     "years": {"2025": {"summary": true,
                        "workbooks": {"H-1001_2025.xlsx": {"fingerprint": "…", "sha256": "…",
                                                           "size": 48213},
                                      "H-1002_2025.xlsx": {"pending": true}}}}}

* The **fingerprint** hashes everything that shapes the workbook: the holder's record and lots,
  their instruments, schedules and payments, the options, the template, the ``prepared`` date,
  the year, the file name and the cpdi version.  The holder's taxpayer id enters only masked
  (plus a hash of the holder's text as masking the id leaves it), so the manifest cannot be used
  to recover it.  ``sha256`` and ``size`` are those of the workbook's bytes as written.
* ``--resume`` keeps a workbook only when its fingerprint matches this run's and the file on
  disk has that size and digest (checked before any workbook is written); every other holder
  is rewritten.  Without ``--prepared`` the date is today's, so a resume on another day
  rewrites every workbook (each shows the date).
* The manifest never claims a workbook it has not verified: before any workbook is written it
  is rewritten with only the entries this run keeps (every other file of the run ``pending``);
  each workbook's entry is recorded as it lands, saved atomically at most every
  ``MANIFEST_FLUSH_SECONDS`` and at the end (also after Ctrl-C).  A kill at any moment can only
  lose a skip, never keep a wrong workbook.
* It holds no personal data: no holder id (the file name is the key: it is derived from the id,
  with taxpayer-shaped ids masked, and already names the workbook), no name, no figures.  The
  summary rows of a kept holder are recomputed from the ledger (the engine is a few per cent of
  the batch's time).
* A manifest this version cannot use (not JSON, not an object, unknown format, an entry of the
  wrong shape, a file name that is not a workbook name of its year) is treated as absent — every
  holder is rewritten — and the run says so in one line.  One of cpdi's first format is read for
  its file names only.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import time
from datetime import date
from pathlib import Path

from cpdi import __version__
from cpdi.batch.errors import OutputError, reason
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import mask_tin, scrub_text

MANIFEST = ".cpdi-manifest.json"
MANIFEST_FORMAT = "cpdi-workpapers-manifest"
MANIFEST_VERSION = 2
MANIFEST_FLUSH_SECONDS = 1.0  # measured: one save of 2,000 entries takes ~5 ms (<0.5% of a batch)
# the run's summary: the manifest records it by its year's "summary" flag, never as a workbook
SUMMARY_NAME = "summary_{year}.xlsx"
PENDING = {"pending": True}


# -- fingerprints and digests ------------------------------------------------------------------


def _may_hold_tin(text: str, tin: str) -> bool:
    """Does ``text`` hold ``tin`` in a spelling ``scrub_text`` masks (then the holder's text
    enters the fingerprint only masked, plus a hash)?"""
    return scrub_text(text, tin) != text


def holder_fingerprints(portfolio, holder_ids, lots_by_holder, problems_by_holder, file_names, year: int,
                        template_digest: str, prepared: date, options_key) -> dict[str, str]:
    """Each holder's fingerprint: a stable hash of everything that shapes their workbook.  The
    taxpayer id enters masked, with a hash of the holder's own text as masking it leaves it (the
    workbook masks the id wherever it appears), so the fingerprint does not reveal it."""
    by_instrument: dict[str, bytes] = {}

    def instrument(instrument_id: str) -> bytes:
        if instrument_id not in by_instrument:
            h = hashlib.sha256(repr(portfolio.instruments.get(instrument_id)).encode("utf-8", "surrogatepass"))
            h.update(repr(portfolio.payments.get(instrument_id)).encode("utf-8", "surrogatepass"))
            by_instrument[instrument_id] = h.digest()
        return by_instrument[instrument_id]

    common = f"cpdi {__version__}|{year}|{template_digest}|{prepared.isoformat()}|{options_key!r}|"
    fingerprints = {}
    for holder_id in holder_ids:
        lots = sorted(lots_by_holder.get(holder_id, ()), key=lambda lot: lot.lot_id)
        holder = portfolio.holders.get(holder_id)
        tin = holder.tin if holder is not None else ""
        shown = dataclasses.replace(holder, tin=mask_tin(tin)) if holder is not None else None
        own = repr((holder_id, file_names[holder_id], shown)) + "".join(repr(lot) for lot in lots)
        h = hashlib.sha256(common.encode())
        h.update(own.encode("utf-8", "surrogatepass"))
        for instrument_id in sorted({lot.instrument_id for lot in lots}):
            h.update(instrument(instrument_id))
        for problem in problems_by_holder.get(holder_id, ()):
            h.update(repr(problem).encode("utf-8", "surrogatepass"))
        if tin and _may_hold_tin(own, tin):  # masking the holder's own id changes their text
            h.update(hashlib.sha256(scrub_text(own, tin).encode("utf-8", "surrogatepass")).digest())
        fingerprints[holder_id] = h.hexdigest()
    return fingerprints


def file_digest(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def intact(path: Path, entry: dict) -> bool:
    """Whether ``path`` holds exactly the bytes a verified manifest entry describes."""
    try:
        if path.stat().st_size != entry["size"]:
            return False
        return file_digest(path) == (entry["sha256"], entry["size"])
    except OSError:
        return False


# -- reading ------------------------------------------------------------------------------------
_HEX64 = re.compile(r"[0-9a-f]{64}")
_YEAR_KEY = re.compile(r"[0-9]{4}")
_WORKBOOK_NAME = re.compile(r"[A-Za-z0-9._-]+")  # what holder_file_name makes: no path, no drive


class _BadManifest(ValueError):
    pass


def _check_name(name, year: int) -> str:
    """A workbook file name of ``year`` that the manifest may name (and the batch may remove):
    a plain, visible name in the folder, never the summary or anything else."""
    if not isinstance(name, str):
        raise _BadManifest(f"a file name that is not text ({type(name).__name__})")
    if (not _WORKBOOK_NAME.fullmatch(name) or not name.endswith(f"_{year}.xlsx") or name.startswith(".")
            or name == SUMMARY_NAME.format(year=year) or len(name) > 255):
        raise _BadManifest(f"{name!r} is not a workbook name of {year}")
    return name


def is_int(value) -> bool:
    """A JSON whole number (``true`` is not one); the lock file's pid is checked with it too."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_entry(name: str, entry) -> dict:
    if entry == PENDING:
        return dict(PENDING)
    if not isinstance(entry, dict):
        raise _BadManifest(f"the entry of {name} is not an object")
    for key in ("fingerprint", "sha256", "size"):
        if key not in entry:
            raise _BadManifest(f"the entry of {name} has no {key}")
    if set(entry) != {"fingerprint", "sha256", "size"}:
        raise _BadManifest(f"the entry of {name} has unexpected keys")
    if not all(isinstance(entry[k], str) and _HEX64.fullmatch(entry[k]) for k in ("fingerprint", "sha256")):
        raise _BadManifest(f"the entry of {name} has a fingerprint or digest that is not 64 hex digits")
    if not is_int(entry["size"]) or entry["size"] < 0:
        raise _BadManifest(f"the entry of {name} has a size that is not a whole number")
    return {"fingerprint": entry["fingerprint"], "sha256": entry["sha256"], "size": entry["size"]}


def _check_section(key, section) -> dict:
    if not isinstance(key, str) or not _YEAR_KEY.fullmatch(key):
        raise _BadManifest(f"{key!r} is not a tax year")
    if not isinstance(section, dict):
        raise _BadManifest(f"the section of {key} is not an object")
    workbooks = section.get("workbooks", {})
    summary = section.get("summary", False)
    if not isinstance(workbooks, dict) or not isinstance(summary, bool) or set(section) - {"workbooks", "summary"}:
        raise _BadManifest(f"the section of {key} is not of the expected shape")
    year = int(key)
    return {"summary": summary,
            "workbooks": {_check_name(n, year): _check_entry(n, e) for n, e in workbooks.items()}}


def _check_format1(doc: dict) -> dict:
    """A manifest of cpdi's first format (``{"year", "cpdi", "holders": {id: {"file",
    "fingerprint", "summary"}}}``): its workbooks become pending entries of its year."""
    year, holders = doc.get("year"), doc.get("holders")
    if not is_int(year) or not 1000 <= year <= 9999:
        raise _BadManifest("its year is not a year")
    if not isinstance(holders, dict):
        raise _BadManifest("its holders are not an object")
    workbooks = {}
    for entry in holders.values():
        if not isinstance(entry, dict):
            raise _BadManifest("a holder's entry is not an object")
        if "file" not in entry or "fingerprint" not in entry:
            raise _BadManifest(f"a holder's entry has no {'file' if 'file' not in entry else 'fingerprint'}")
        if not isinstance(entry["fingerprint"], str):
            raise _BadManifest("a holder's fingerprint is not text")
        workbooks[_check_name(entry["file"], year)] = dict(PENDING)
    return {str(year): {"summary": True, "workbooks": workbooks}}


def read_manifest(path: Path) -> tuple[dict[str, dict], str | None]:
    """The manifest's sections by year, and a note when it cannot be used (then no sections)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except (OSError, UnicodeDecodeError) as error:
        return {}, _manifest_note(path, f"cannot read it: {reason(error)}")
    try:
        try:
            doc = json.loads(text)
        except (ValueError, RecursionError):
            raise _BadManifest("not valid JSON") from None
        if not isinstance(doc, dict):
            kind = {list: "a list", str: "a string"}.get(type(doc), f"a JSON {type(doc).__name__}")
            raise _BadManifest(f"{kind} instead of an object")
        if doc.get("format") == MANIFEST_FORMAT:
            if doc.get("version") != MANIFEST_VERSION:
                raise _BadManifest(f"format version {doc.get('version')!r}; this cpdi reads {MANIFEST_VERSION}")
            years = doc.get("years")
            if not isinstance(years, dict):
                raise _BadManifest("its years are not an object")
            return {key: _check_section(key, section) for key, section in years.items()}, None
        if "holders" in doc and "format" not in doc:
            return _check_format1(doc), (f"the manifest {path} is of an earlier cpdi (format 1): "
                                         f"its workbooks are rewritten, and it is replaced")
        raise _BadManifest("not a cpdi manifest")
    except _BadManifest as bad:
        return {}, _manifest_note(path, str(bad))


def _manifest_note(path: Path, why: str) -> str:
    return (f"the manifest {path} cannot be used ({why}): treated as absent, so every holder is "
            f"rewritten and workbooks of earlier runs are not recognised for removal")


# -- writing ------------------------------------------------------------------------------------
def _encode(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _entry_line(name: str, entry: dict) -> str:
    return f"{_encode(name)}: {_encode(entry)}"


def _section_lines(key: str, summary: bool, encoded: dict[str, str]) -> list[str]:
    """A year's section, one workbook per line (readable, and cheap to rebuild: each entry is
    encoded once, when it changes)."""
    lines = [f"{_encode(key)}: {{\"summary\": {_encode(summary)}, \"workbooks\": {{"]
    if encoded:
        lines.append(",\n".join(encoded[n] for n in sorted(encoded)))
    lines.append("}}")
    return lines


class ManifestWriter:
    """The manifest as this run changes it, saved atomically when asked."""

    def __init__(self, path: Path, year: int, sections: dict[str, dict], entries: dict[str, dict]):
        self.path = path
        self.key = str(year)
        self.others = {  # other years' sections, as read (and checked), encoded once
            k: (v["summary"], {n: _entry_line(n, e) for n, e in v["workbooks"].items()})
            for k, v in sections.items() if k != self.key
        }
        self.entries = entries
        self.encoded = {name: _entry_line(name, entry) for name, entry in entries.items()}
        self.summary = False
        self.dirty = True
        self.saved_at = 0.0
        self.saves = 0

    def set(self, name: str, entry: dict) -> None:
        self.entries[name] = entry
        self.encoded[name] = _entry_line(name, entry)
        self.dirty = True

    def drop(self, name: str) -> None:
        if self.entries.pop(name, None) is not None:
            del self.encoded[name]
            self.dirty = True

    def text(self) -> str:
        sections = dict(self.others)
        sections[self.key] = (self.summary, self.encoded)
        lines = [f"{{\"format\": {_encode(MANIFEST_FORMAT)}, \"version\": {MANIFEST_VERSION}, \"years\": {{"]
        keys = sorted(sections)
        for k, key in enumerate(keys):
            section = _section_lines(key, *sections[key])
            if k < len(keys) - 1:
                section[-1] += ","
            lines += section
        lines.append("}}")
        return "\n".join(lines) + "\n"

    def tick(self) -> None:
        """Save if something changed and the last save is ``MANIFEST_FLUSH_SECONDS`` old."""
        if self.dirty and time.monotonic() - self.saved_at >= MANIFEST_FLUSH_SECONDS:
            self.save()

    def save(self) -> None:
        if not self.dirty:
            return
        text = self.text()
        try:
            with atomic_text(self.path) as handle:
                handle.write(text)
        except OSError as error:
            raise OutputError(f"cannot write {self.path}: {reason(error)}", error.errno) from error
        self.dirty = False
        self.saved_at = time.monotonic()
        self.saves += 1

"""The form-line mapping: where each filer type reports each item (``templates/forms.toml``,
method §12), read into a :class:`cpdi.engine.forms.FormMapping` and checked whole before
anything is computed.

A firm may pass its own file (``cpdi forms --mapping F.toml``); unlike a workpaper template it is
not merged over the default but must be complete — every filer type, every item, every box —
because a line left to a default would be a line nobody reviewed.  A problem is one line naming
the file and the key (:class:`FormMappingError`).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from cpdi.engine.forms import (
    BOXES, INCOME_ITEMS, Character, FilerForms, FormLine, FormMapping,
)
from cpdi.model import FilerType
from cpdi.problems import CpdiError

DEFAULT_MAPPING = Path(__file__).resolve().parent.parent / "templates" / "forms.toml"

_FILER_KEYS = {"return_form", "receives_1099b", "note", "lines", "schedule_d", "txf_boxes"}
_LINE_KEYS = {"form", "line", "character", "txf_ref", "note"}


class FormMappingError(CpdiError):
    """A form-line mapping that cannot be used: one line naming the file and the key."""

    def __init__(self, source: str, key: str | None, message: str):
        self.source, self.key = source, key
        where = f"form mapping {source}" + (f", key {key}" if key else "")
        super().__init__(f"{where}: {message}")


def load_form_mapping(path: str | Path | None = None) -> FormMapping:
    """The packaged mapping, or the complete mapping at ``path``."""
    path = Path(path) if path is not None else DEFAULT_MAPPING
    source = str(path)
    try:
        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
    except FileNotFoundError:
        raise FormMappingError(source, None, "no such file") from None
    except tomllib.TOMLDecodeError as error:
        raise FormMappingError(source, None, f"not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise FormMappingError(source, None, "is not UTF-8 text: save it as UTF-8 TOML") from None
    return _mapping(raw, source)


def _mapping(raw: dict, source: str) -> FormMapping:
    known = {"edition", "adjustment_codes"} | {f.value for f in FilerType}
    for key in raw:
        if key not in known:
            raise FormMappingError(source, key, f"unknown key; expected one of {', '.join(sorted(known))}")
    codes = raw.get("adjustment_codes")
    if not isinstance(codes, dict) or set(codes) != {"ordinary", "carryforward", "basis"}:
        raise FormMappingError(source, "adjustment_codes",
                               "must give exactly the codes 'ordinary', 'carryforward' and 'basis'")
    for name, code in codes.items():
        if not (isinstance(code, str) and len(code) == 1 and code.isalpha() and code.isupper()):
            raise FormMappingError(source, f"adjustment_codes.{name}",
                                   f"{code!r} is not a Form 8949 code (one capital letter, e.g. \"O\")")
    filers = {filer_type: _filer(raw, filer_type, source) for filer_type in FilerType}
    edition = raw.get("edition", "")
    if not isinstance(edition, str):
        raise FormMappingError(source, "edition", "must be text, e.g. \"2025\"")
    return FormMapping(filers, dict(codes), source, edition)


def _table(parent: dict, key: str, where: str, known: set, source: str, missing: str) -> dict:
    """``parent[key]``, a TOML table holding only ``known`` keys (a misspelt key would be a line
    silently left out)."""
    table = parent.get(key)
    if not isinstance(table, dict):
        raise FormMappingError(source, where, missing)
    for name in table:
        if name not in known:
            raise FormMappingError(source, f"{where}.{name}",
                                   f"unknown key; expected one of {', '.join(sorted(known))}")
    return table


def _filer(raw: dict, filer_type: FilerType, source: str) -> FilerForms:
    name = filer_type.value
    table = _table(raw, name, name, _FILER_KEYS, source, "missing: every filer type needs its form lines")
    return_form = _text(table, "return_form", f"{name}.return_form", source)
    receives = table.get("receives_1099b", True)
    if not isinstance(receives, bool):
        raise FormMappingError(source, f"{name}.receives_1099b", "must be true or false")
    lines_table = table.get("lines")
    if not isinstance(lines_table, dict):
        raise FormMappingError(source, f"{name}.lines", "missing")
    lines = {}
    for item in INCOME_ITEMS:
        lines[item] = _line(lines_table, item, f"{name}.lines.{item}", source)
    for item in lines_table:
        if item not in INCOME_ITEMS:
            raise FormMappingError(source, f"{name}.lines.{item}",
                                   f"unknown item; the items are {', '.join(INCOME_ITEMS)}")
    for item in INCOME_ITEMS:
        wanted = Character.CARRIED if item == "carryforward_out" else Character.ORDINARY
        if lines[item].character is not wanted:
            raise FormMappingError(source, f"{name}.lines.{item}.character",
                                   f"{item} is {wanted.value}, not {lines[item].character.value}")
    schedule_d = _boxes(table, "schedule_d", name, source, str)
    txf = table.get("txf_boxes", {})
    txf_boxes = _boxes(table, "txf_boxes", name, source, int) if txf else {}
    capital = {box: FormLine(f"box_{box}", *_split_where(text), Character.CAPITAL, txf_boxes.get(box))
               for box, text in schedule_d.items()}
    capital_lines = {(line.form, line.line) for line in capital.values()}
    for item, line in lines.items():  # a line is ordinary or capital, never both (method §12)
        if (line.form, line.line) in capital_lines:
            raise FormMappingError(source, f"{name}.lines.{item}",
                                   f"{line.where} is also a Schedule D line: a line carries ordinary "
                                   "or capital amounts, never both")
    return FilerForms(filer_type, return_form, lines, capital, txf_boxes, receives,
                      str(table.get("note", "")))


def _split_where(text: str) -> tuple[str, str]:
    """``"Schedule D (Form 1040), line 1b"`` → form and line (split at the last comma)."""
    form, _, line = text.rpartition(", ")
    return (form, line) if form else (text, "")


def _boxes(table: dict, key: str, name: str, source: str, kind) -> dict:
    boxes = table.get(key)
    if not isinstance(boxes, dict) or set(boxes) != set(BOXES):
        raise FormMappingError(source, f"{name}.{key}", "must give each Form 8949 box A to F")
    for box, value in boxes.items():
        if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value.strip()):
            raise FormMappingError(source, f"{name}.{key}.{box}",
                                   "must be a TXF reference number" if kind is int else "must be the line, as text")
    return dict(boxes)


def _text(table: dict, key: str, where: str, source: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise FormMappingError(source, where, "missing or not text")
    return value


def _line(lines: dict, item: str, where: str, source: str) -> FormLine:
    entry = _table(lines, item, where, _LINE_KEYS, source, "missing: every item needs its form line")
    form = _text(entry, "form", f"{where}.form", source)
    line = entry.get("line", "")
    if not isinstance(line, str):
        raise FormMappingError(source, f"{where}.line", "must be text")
    try:
        character = Character(entry.get("character"))
    except ValueError:
        raise FormMappingError(source, f"{where}.character",
                               "must be ordinary, capital or carried") from None
    ref = entry.get("txf_ref")
    if ref is not None and (not isinstance(ref, int) or isinstance(ref, bool) or ref <= 0):
        raise FormMappingError(source, f"{where}.txf_ref", "must be a TXF reference number")
    return FormLine(item, form, line, character, ref, str(entry.get("note", "")))

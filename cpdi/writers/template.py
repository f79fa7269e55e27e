"""Workpaper templates: the wording, order and look of the holder workbooks, as a TOML file a
firm can review and change (``templates/default.toml``; how-to in ``templates/README.md``).

A template holds only presentation — firm name, header and footer, sheet and section titles,
line and column labels, column order, number formats and column widths.  The law stays in the
code: which cells are formulas, and the paragraph of §1.1275-4 each line implements, do not
move with a template.

:func:`load_template` reads the packaged default and merges a user's file over it, so a user's
template may hold any subset of the keys.  Everything is checked before anything is written; a
bad template raises :class:`TemplateError` with one line naming the file and the key.
"""

from __future__ import annotations

import hashlib
import json
import string
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterator, Mapping

from cpdi.problems import CpdiError

DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "default.toml"

# Placeholders each kind of text may use, and those it must use.  Keys are dotted template keys;
# a trailing ".*" covers every key of that table.
_ANY_YEAR = frozenset({"year", "prior_year", "next_year"})
_PLACEHOLDERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # key: (allowed, required)
    "workpaper.title": (_ANY_YEAR, frozenset()),
    "workpaper.reference": (frozenset({"holder_id", "year"}), frozenset({"holder_id", "year"})),
    "workpaper.header": (
        frozenset({"firm", "title", "ref", "sheet", "holder_id", "year"}), frozenset(),
    ),
    "workpaper.footer": (
        frozenset({"firm", "title", "ref", "sheet", "holder_id", "year"}), frozenset({"ref"}),
    ),
    "sheets.cover": (_ANY_YEAR, frozenset()),
    "sheets.lots": (_ANY_YEAR, frozenset()),
    "sheets.summary": (_ANY_YEAR, frozenset()),
    "sheets.instrument": (frozenset({"instrument_id"}), frozenset({"instrument_id"})),
    "sheets.lot": (frozenset({"lot_id", "instrument_id"}), frozenset({"lot_id"})),
    "sections.*": (_ANY_YEAR, frozenset()),
    "lines.*": (_ANY_YEAR, frozenset()),
    "tables.*": (_ANY_YEAR, frozenset()),
}

_NO_PLACEHOLDERS = ("workpaper.firm_name", "formats.", "widths.")


class FrozenMap(Mapping):
    """A read-only mapping that pickles (worker processes may receive a template)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping):
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key):
        return self._data[key]

    def __iter__(self) -> Iterator:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name, value):
        raise AttributeError("a template is read-only")

    def __reduce__(self):
        return (FrozenMap, (self._data,))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


class TemplateError(CpdiError):
    """A workpaper template that cannot be used: one line naming the file and the key."""

    def __init__(self, source: str, key: str | None, message: str):
        self.source = source
        self.key = key
        where = f"template {source}" + (f", key {key}" if key else "")
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class TableLayout:
    """One table's columns: their order (column ids) and their heading labels."""

    order: tuple[str, ...]
    labels: Mapping[str, str]

    def label(self, column_id: str, **values) -> str:
        return _fill(self.labels[column_id], values)

    def index(self, column_id: str) -> int:
        return self.order.index(column_id)


@dataclass(frozen=True)
class Template:
    """A loaded, checked workpaper template (see ``templates/default.toml`` for every key)."""

    source: str
    firm_name: str
    title: str
    reference: str
    header: str
    footer: str
    sheets: Mapping[str, str]
    sections: Mapping[str, str]
    lines: Mapping[str, str]
    formats: Mapping[str, str]
    widths: Mapping[str, Any]
    tables: Mapping[str, TableLayout]

    def workpaper_ref(self, holder_id: str, year: int) -> str:
        return _fill(self.reference, {"holder_id": holder_id, "year": year})

    def section(self, key: str, year: int | None = None) -> str:
        return _fill(self.sections[key], _years(year))

    def line(self, key: str, year: int | None = None) -> str:
        return _fill(self.lines[key], _years(year))

    def sheet(self, key: str, **values) -> str:
        return _fill(self.sheets[key], values)

    def title_for(self, year: int) -> str:
        return _fill(self.title, _years(year))


def _years(year: int | None) -> dict[str, Any]:
    if year is None:
        return {}
    return {"year": year, "prior_year": year - 1, "next_year": year + 1}


def _fill(text: str, values: Mapping[str, Any]) -> str:
    """``str.format`` with the placeholders the template checks allowed; a placeholder with no
    value here is left as written."""
    out = []
    for literal, field, spec, conversion in string.Formatter().parse(text):
        out.append(literal)
        if field is not None:
            if field in values:
                out.append(format(values[field], spec or ""))
            else:
                out.append("{" + field + "}")
    return "".join(out)


def template_digest(template: Template) -> str:
    """A SHA-256 of everything a template changes in a workbook (not where it was read from):
    equal digests, equal workbooks.  A batch uses it to know when a workbook is stale."""

    def plain(value):
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, TableLayout):
            return {"order": list(value.order), "labels": plain(value.labels)}
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        return value

    content = {f.name: plain(getattr(template, f.name)) for f in fields(template) if f.name != "source"}
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# -- loading -------------------------------------------------------------------------------------
def load_template(path: str | Path | None = None) -> Template:
    """The packaged default template, or ``path`` merged over it.

    Raises :class:`TemplateError` for a TOML syntax error, an unknown key, a value of the wrong
    type, an unknown or repeated column id in an ``order`` list, or a text missing a required
    placeholder (or using one that does not exist)."""
    default = _read_toml(DEFAULT_TEMPLATE)
    if path is None:
        return _build(default, str(DEFAULT_TEMPLATE))
    path = Path(path)
    user = _read_toml(path)
    source = str(path)
    _check_against(user, default, source, "")
    return _build(_merge(default, user), source)


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise TemplateError(str(path), None, f"not valid TOML: {error}") from None
    except UnicodeDecodeError:
        raise TemplateError(str(path), None, "is not UTF-8 text: save it as UTF-8 TOML") from None
    except OSError as error:
        raise TemplateError(str(path), None, f"cannot be read: {error.strerror or error}") from None


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


def _check_against(user: dict, default: dict, source: str, prefix: str) -> None:
    """Every key of ``user`` must exist in ``default`` with a value of the same kind."""
    for key, value in user.items():
        dotted = f"{prefix}{key}"
        if key not in default:
            known = ", ".join(sorted(default))
            raise TemplateError(source, dotted, f"unknown key (known here: {known})")
        expected = default[key]
        if _kind(value) != _kind(expected):
            raise TemplateError(
                source, dotted, f"must be {_kind(expected)}, not {_kind(value)} ({value!r})"
            )
        if isinstance(value, dict):
            _check_against(value, expected, source, dotted + ".")


def _merge(default: dict, user: dict) -> dict:
    merged = dict(default)
    for key, value in user.items():
        if isinstance(value, dict) and isinstance(default.get(key), dict):
            merged[key] = _merge(default[key], value)
        else:
            merged[key] = value
    return merged


def _check_text(source: str, key: str, text: str) -> None:
    """Placeholders in ``text`` must be known for ``key``; required ones must be there."""
    if key.startswith(_NO_PLACEHOLDERS):
        return
    rule = _PLACEHOLDERS.get(key) or _PLACEHOLDERS.get(key.split(".", 1)[0] + ".*")
    allowed, required = rule if rule else (frozenset(), frozenset())
    try:
        fields = {f for _, f, _, _ in string.Formatter().parse(text) if f is not None}
    except ValueError as error:
        raise TemplateError(
            source, key, f"{error} in {text!r} (write {{{{ and }}}} for literal braces)"
        ) from None
    unknown = sorted(fields - allowed)
    if unknown:
        may = ", ".join("{" + a + "}" for a in sorted(allowed)) or "none"
        raise TemplateError(
            source, key, f"unknown placeholder {{{unknown[0]}}} in {text!r} (allowed: {may})"
        )
    missing = sorted(required - fields)
    if missing:
        raise TemplateError(
            source, key, f"must contain the placeholder {{{missing[0]}}} (it is {text!r})"
        )


def _build(data: dict, source: str) -> Template:
    def table(name: str) -> dict:
        value = data.get(name)
        if not isinstance(value, dict):
            raise TemplateError(source, name, "missing table")
        return value

    workpaper = table("workpaper")
    for key, text in workpaper.items():
        _check_text(source, f"workpaper.{key}", text)
    texts = {}
    for name in ("sheets", "sections", "lines", "formats"):
        entries = table(name)
        for key, text in entries.items():
            if not isinstance(text, str):
                raise TemplateError(source, f"{name}.{key}", f"must be text, not {_kind(text)}")
            if name == "formats" and not text.strip():
                raise TemplateError(source, f"{name}.{key}", "must not be empty")
            _check_text(source, f"{name}.{key}", text)
        texts[name] = FrozenMap(dict(entries))
    for key, text in texts["sheets"].items():
        if not text.strip():
            raise TemplateError(source, f"sheets.{key}", "must not be empty")

    widths = table("widths")
    for key, value in widths.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, bool) or not isinstance(item, (int, float)) or not 0 <= item <= 255:
                raise TemplateError(
                    source, f"widths.{key}", f"must be a width from 0 to 255 characters, not {item!r}"
                )

    tables = {}
    for name, spec in table("tables").items():
        key = f"tables.{name}"
        labels = spec.get("labels", {})
        for column_id, text in labels.items():
            _check_text(source, f"{key}.labels.{column_id}", text)
        known = tuple(labels)
        order = spec.get("order", [])
        seen = set()
        for column_id in order:
            if not isinstance(column_id, str) or column_id not in labels:
                raise TemplateError(
                    source, f"{key}.order",
                    f"unknown column id {column_id!r} (known: {', '.join(known)})",
                )
            if column_id in seen:
                raise TemplateError(source, f"{key}.order", f"column id {column_id!r} listed twice")
            seen.add(column_id)
        # columns left out of a user's order keep their default relative order, after the rest
        full = tuple(order) + tuple(c for c in known if c not in seen)
        tables[name] = TableLayout(full, FrozenMap(dict(labels)))

    return Template(
        source=source,
        firm_name=workpaper["firm_name"],
        title=workpaper["title"],
        reference=workpaper["reference"],
        header=workpaper["header"],
        footer=workpaper["footer"],
        sheets=texts["sheets"],
        sections=texts["sections"],
        lines=texts["lines"],
        formats=texts["formats"],
        widths=FrozenMap(dict(widths)),
        tables=FrozenMap(tables),
    )

"""The batch summary: its rows (the ledger rows of the year added up per holder and
instrument) and its workbook.

The workbook's one sheet, top to bottom (docs/formats.md, "The output folder"):

* the counts: holders with a workbook, holders who held nothing in the year, holders that
  failed (the last two link to their tables below), and the date prepared;
* the table by holder and instrument, with a totals row of SUM formulas; each holder id is a
  link to the holder's workbook in the same folder (``external:H-1001_2025.xlsx``, relative, so
  the folder can be moved or zipped whole);
* the table by holder of the return's totals by character (method §12; given ``totals``, rows
  of :func:`holder_totals_row`): the filer type, ordinary income, ordinary losses (entered
  negative), short-term and long-term capital gain or loss (Form 8949 column (h), boxes A–C and
  D–F), the carryforward out (on no return) and the broker differences not explained — never a
  column adding ordinary and capital amounts;
* "Holders that failed": each failed holder's id and name, how many problems, the first one,
  and where they are all listed (the exceptions report);
* "Nothing held in YYYY": each holder of the input who gets no workbook because no lot of theirs
  has a ledger row in the year, with how many lots the input lists for them in any year (0: a
  holder of ``holders.csv`` without lots).

Every piece of text goes through ``cpdi.writers.privacy`` as on every workbook: ids, names and
problem text are scrubbed with the holder's own TIN and every holder's, and the cells pass
``xlsx_safe_text`` on their way out.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from cpdi import __version__
from cpdi.engine.forms import HolderForms, Term
from cpdi.engine.ledger import LotLedger, LotYear
from cpdi.model import Holder
from cpdi.problems import Problem
from cpdi.writers.privacy import TinIndex, scrub_text, tin_index
from cpdi.writers.template import Template, load_template
from cpdi.writers.workpapers.cells import (
    _created, _quote, _range, _Sheet, _table_or_none, _widths, _Workbook, _write_workbook,
)

SUMMARY_KINDS = {
    "holder_id": "text", "name": "text", "instrument_id": "text", "lots": "integer",
    **{name: "money" for name in (
        "interest_income", "ordinary_loss", "carryforward_out", "proceeds", "amount_realized",
        "adjusted_basis", "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
        "capital_loss_on_disposition", "capital_gain_on_disposition", "adjusted_basis_end",
    )},
}
SUMMARY_FORMS_KINDS = {
    "holder_id": "text", "name": "text", "filer_type": "text",
    **{name: "money" for name in ("ordinary_income", "ordinary_losses", "short_term", "long_term",
                                  "carryforward_out")},
    "unexplained": "integer",
}
FAILED_KINDS = {"holder_id": "text", "name": "text", "problems": "integer", "see": "text",
                "first_problem": "note"}
IDLE_KINDS = {"holder_id": "text", "name": "text", "lots": "integer"}


SUMMARY_COLUMNS = (
    "holder_id", "name", "instrument_id", "lots", "interest_income", "ordinary_loss",
    "carryforward_out", "proceeds", "amount_realized",
    "adjusted_basis",  # basis of the lots disposed of in the year (Form 8949 column (e))
    "ordinary_income_on_disposition", "ordinary_loss_on_disposition",
    "capital_loss_on_disposition", "capital_gain_on_disposition",
    "adjusted_basis_end",  # year-end basis of the lots still held
)
SUMMARY_FORMS_COLUMNS = (
    "holder_id", "name", "filer_type",
    "ordinary_income",  # interest (b)(6)(ii) and (b)(8)(i) gains: the ordinary income lines
    "ordinary_losses",  # (b)(6)(iii)(B) and (b)(8)(ii) losses, entered negative
    "short_term",  # Form 8949 column (h), boxes A–C: capital only (b)(8)(ii)–(iii)
    "long_term",  # Form 8949 column (h), boxes D–F
    "carryforward_out",  # (b)(6)(iii)(C): on no return of the year
    "unexplained",  # broker figures whose difference nothing known explains
)
WORKBOOK_KEY = "workbook"  # a row's extra key: the file name of its holder's workbook (a link)
MAX_LINKS = 65_530  # Excel's limit of hyperlinks on one worksheet; rows beyond it get plain text
HEADER_ROW = 8  # the table by holder and instrument: its column headers (row 9 in Excel)


def summary_rows(
    ledgers_by_holder: Mapping[str, Iterable[LotLedger]], holders: Mapping[str, Holder], year: int,
    file_names: Mapping[str, str] | None = None,
) -> list[dict]:
    """The batch summary's rows: the ledger rows of ``year`` added up per holder and
    instrument, sorted by holder and instrument.  Each row is a plain dict keyed by
    ``SUMMARY_COLUMNS`` (JSON-friendly, so a batch can keep it in its manifest); its text is
    already scrubbed (``scrub_text`` with the holder's own TIN: no full taxpayer id).  Given
    ``file_names`` (holder id -> the workbook's file name), a holder's rows also carry
    ``"workbook"``, which the summary workbook turns into a link."""
    rows = []
    for holder_id in sorted(ledgers_by_holder):
        by_instrument: dict[str, list[LotYear]] = {}
        for ledger in ledgers_by_holder[holder_id]:
            for y in ledger.years:
                if y.tax_year == year:
                    by_instrument.setdefault(y.instrument_id, []).append(y)
        holder = holders.get(holder_id)
        tin = holder.tin if holder else ""
        workbook = (file_names or {}).get(holder_id)
        for instrument_id in sorted(by_instrument):
            ys = by_instrument[instrument_id]
            sold = [y for y in ys if y.disposition_date is not None]
            held = [y for y in ys if y.disposition_date is None]
            row = {
                "holder_id": scrub_text(holder_id, tin),
                "name": scrub_text(holder.name, tin) if holder else "",
                "instrument_id": scrub_text(instrument_id, tin),
                "lots": len(ys),
                "interest_income": sum(y.interest_income for y in ys),
                "ordinary_loss": sum(y.ordinary_loss for y in ys),
                "carryforward_out": sum(y.carryforward_out for y in ys),
                "proceeds": sum(y.consideration for y in sold),
                "amount_realized": sum(y.amount_realized for y in sold),
                "adjusted_basis": sum(y.adjusted_basis_end for y in sold),
                "ordinary_income_on_disposition": sum(y.ordinary_income_on_disposition for y in sold),
                "ordinary_loss_on_disposition": sum(y.ordinary_loss_on_disposition for y in sold),
                "capital_loss_on_disposition": sum(y.capital_loss_on_disposition for y in sold),
                "capital_gain_on_disposition": sum(y.capital_gain_on_disposition for y in sold),
                "adjusted_basis_end": sum(y.adjusted_basis_end for y in held),
            }
            if workbook:
                row[WORKBOOK_KEY] = scrub_text(workbook, tin)
            rows.append(row)
    return rows


def holder_totals_row(forms: HolderForms, holder: Holder | None, file_name: str | None = None,
                      reconciliation: Sequence = ()) -> dict:
    """One holder's return in totals by character (``SUMMARY_FORMS_COLUMNS``, a plain dict like
    ``summary_rows``' rows, its text scrubbed): ordinary income and ordinary losses apart,
    short-term and long-term column (h) apart, the carryforward on its own, and how many of the
    ``reconciliation`` lines are not explained.  ``file_name`` makes the holder id a link."""
    tin = holder.tin if holder else ""
    row = {
        "holder_id": scrub_text(forms.holder_id, tin),
        "name": scrub_text(holder.name, tin) if holder else "",
        "filer_type": forms.filer_type.value,
        "ordinary_income": forms.total("interest_income") + forms.total("ordinary_income_on_disposition"),
        "ordinary_losses": -(forms.total("ordinary_loss") + forms.total("ordinary_loss_on_disposition")),
        "short_term": sum(line.gain_loss for line in forms.form8949 if line.term is Term.SHORT),
        "long_term": sum(line.gain_loss for line in forms.form8949 if line.term is Term.LONG),
        "carryforward_out": forms.total("carryforward_out"),
        "unexplained": sum(1 for line in reconciliation if not line.explained),
    }
    if file_name:
        row[WORKBOOK_KEY] = scrub_text(file_name, tin)
    return row


def _field(row, name: str):
    return row[name] if isinstance(row, Mapping) else getattr(row, name)


def _workbook_of(row) -> str | None:
    """The file name of the row's holder's workbook, when the row names one."""
    return row.get(WORKBOOK_KEY) if isinstance(row, Mapping) else getattr(row, WORKBOOK_KEY, None)


def write_summary_workbook(
    target: Path,
    year: int,
    rows: Sequence[Mapping],
    template: Template | None,
    prepared: date,
    holders_ok: int,
    holders_failed: int,
    *,
    failed: Mapping[str, Sequence[Problem]] | None = None,
    idle: Sequence[str] = (),
    holders: Mapping[str, Holder] | None = None,
    lots_in_input: Mapping[str, int] | None = None,
    exceptions_name: str | None = None,
    tins: Mapping[str, str | None] | TinIndex | None = None,
    totals: Sequence[Mapping] | None = None,
) -> Path:
    """The batch summary (atomically; see the module docstring): the counts, one row per holder
    × instrument (``summary_rows``; dicts, or objects with those attributes; a row's
    ``"workbook"`` makes its holder id a link to that file) with a totals row of SUM formulas,
    the holders that ``failed`` (holder id -> their problems, the first one shown) and the
    holders who held nothing (``idle``, holder ids).  ``holders`` gives names and taxpayer ids
    (for masking), ``lots_in_input`` how many lots the input lists per holder, ``tins`` every
    holder's taxpayer id when ``holders`` does not (``cpdi.writers.privacy.tin_index``).
    ``totals`` (rows of :func:`holder_totals_row`, one per holder with a workbook) add the table
    of the return's totals by character; without them it is left out."""
    template = template or load_template()
    target = Path(target)
    holders = holders or {}
    failed = failed or {}
    index = tin_index(tins if tins is not None else {h: x.tin for h, x in holders.items()})
    exceptions_name = exceptions_name or f"exceptions_{year}.csv"

    def fill(book):
        wb = _Workbook(book, template, "batch", year, prepared)
        wb.ref = template.section("summary_title", year)
        t = template
        sheet = wb.add_sheet(t.sheet("summary", year=year))
        sheet.text(0, 0, t.firm_name, wb.styles.title)
        sheet.text(1, 0, t.section("summary_title", year), wb.styles.subtitle)
        sheet.text(2, 0, t.title_for(year), wb.styles.muted)
        r = _holders_table(wb, sheet, rows) + 2
        if totals is not None:
            links = min(MAX_LINKS, sum(1 for row in rows if _workbook_of(row)))
            r = _forms_table(wb, sheet, r, totals, MAX_LINKS - links) + 2
        failed_row = r
        r = _failed_table(wb, sheet, r, failed, holders, index, exceptions_name) + 1
        idle_row = r
        _idle_table(wb, sheet, r, idle, holders, index, lots_in_input or {})
        _counts_block(wb, sheet, holders_ok, len(idle), holders_failed,
                      below={"holders_failed": failed_row if holders_failed else None,
                             "holders_idle": idle_row if idle else None})
        widths = _widths(t, [[SUMMARY_KINDS[cid] for cid in t.tables["summary"].order],
                             [SUMMARY_FORMS_KINDS[cid] for cid in t.tables["summary_forms"].order],
                             [FAILED_KINDS[cid] for cid in t.tables["summary_failed"].order],
                             [IDLE_KINDS[cid] for cid in t.tables["summary_idle"].order]])
        wb.print_setup(sheet, (HEADER_ROW, HEADER_ROW), HEADER_ROW + 1, widths)
        return wb, {
            "title": wb.safe(t.section("summary_title", year)), "author": wb.safe(t.firm_name),
            "company": wb.safe(t.firm_name), "comments": f"cpdi {__version__} batch summary",
            "created": _created(prepared),
        }

    _write_workbook(target, fill)
    return target


def _counts_block(wb: _Workbook, sheet: _Sheet, written: int, idle: int, failed: int,
                  below: Mapping[str, int | None]) -> None:
    """The counts at the top — workbooks written, holders who held nothing, holders that
    failed — each of the last two with a link to its table below, then the date prepared."""
    t, st, year = wb.t, wb.styles, wb.year
    counts = (("holders_ok", written), ("holders_idle", idle), ("holders_failed", failed))
    for r, (key, value) in enumerate(counts, 3):
        sheet.text(r, 0, t.line(key, year), st.bold)
        bad = key == "holders_failed" and value
        sheet.number(r, 3, value, st.banner_bad if bad else st.input["integer"])
        if below.get(key) is not None:
            sheet.url(r, 4, f"internal:{_quote(sheet.name)}!A{below[key] + 1}", t.line("listed_below", year))
    sheet.text(6, 0, t.line("prepared", year))
    sheet.date(6, 3, wb.prepared, st.input["date"])


def _holders_table(wb: _Workbook, sheet: _Sheet, rows: Sequence) -> int:
    """The table by holder and instrument (header on ``HEADER_ROW``), each holder id a link to
    its workbook when the row names one, and the totals row.  Returns the totals row."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["summary"]
    c = {cid: layout.index(cid) for cid in layout.order}
    sheet.text(HEADER_ROW - 1, 0, t.section("summary_table", year), st.section)
    sheet.column_headers(HEADER_ROW, layout, year, st.header)
    r = first = HEADER_ROW + 1
    links = 0
    for row in rows:
        for cid in layout.order:
            value = _field(row, cid)
            workbook = _workbook_of(row) if cid == "holder_id" else None
            if workbook and links < MAX_LINKS:
                sheet.url(r, c[cid], f"external:{workbook}", value)
                links += 1
            elif isinstance(value, str):
                sheet.text(r, c[cid], value, st.text_input)
            else:
                sheet.number(r, c[cid], value, st.input[SUMMARY_KINDS[cid]])
        r += 1
    last = r - 1
    sheet.text(r, 0, t.line("total", year), st.bold)
    for cid in layout.order:
        kind = SUMMARY_KINDS[cid]
        if kind == "text":
            continue
        total = sum(_field(row, cid) for row in rows)
        fmt = st.total[kind]
        if last >= first:
            sheet.formula(r, c[cid], f"SUM({_range(first, c[cid], last)})", total, fmt)
        else:
            sheet.formula(r, c[cid], "0", 0, fmt)
    if last >= first:
        sheet.ws.autofilter(HEADER_ROW, 0, last, len(layout.order) - 1)
    return r


def _forms_table(wb: _Workbook, sheet: _Sheet, r: int, totals: Sequence[Mapping], links: int) -> int:
    """The return's totals by character, one row per holder (the holder id a link to the
    workbook while the sheet has ``links`` left), and a totals row of SUM formulas — each column
    one character: ordinary income, ordinary losses, short-term capital, long-term capital,
    carried.  Returns the totals row."""
    t, st, year = wb.t, wb.styles, wb.year
    c, r = _table_or_none(wb, sheet, r, "summary_forms", "summary_forms", bool(totals))
    if c is None:
        return r - 1
    layout = t.tables["summary_forms"]
    first = r
    for row in totals:
        for cid in layout.order:
            value = _field(row, cid)
            workbook = _workbook_of(row) if cid == "holder_id" else None
            if workbook and links > 0:
                sheet.url(r, c[cid], f"external:{workbook}", value)
                links -= 1
            elif isinstance(value, str):
                sheet.text(r, c[cid], value, st.text_input)
            else:
                sheet.number(r, c[cid], value, st.input[SUMMARY_FORMS_KINDS[cid]])
        r += 1
    sheet.text(r, 0, t.line("total", year), st.bold)
    for cid in layout.order:
        kind = SUMMARY_FORMS_KINDS[cid]
        if kind != "text":
            total = sum(_field(row, cid) for row in totals)
            sheet.formula(r, c[cid], f"SUM({_range(first, c[cid], r - 1)})", total, st.total[kind])
    return r


def _masked(text, holder_id: str, index: TinIndex) -> str:
    """Text about a holder: no full taxpayer id — theirs in any spelling, every holder's, any
    TIN shape."""
    return scrub_text(text, index.tin(holder_id), index.all or None)


def _failed_table(wb: _Workbook, sheet: _Sheet, row: int, failed: Mapping[str, Sequence[Problem]],
                  holders: Mapping[str, Holder], index: TinIndex, exceptions_name: str) -> int:
    """"Holders that failed": each holder by masked id, with their name, the number of their
    problems, where all are listed and the first one ("None." when nobody failed).  Returns
    the row after the table."""
    t, st, year = wb.t, wb.styles, wb.year
    c, row = _table_or_none(wb, sheet, row, "summary_failed", "summary_failed", bool(failed))
    if c is None:
        return row
    for holder_id, problems in failed.items():
        holder = holders.get(holder_id)
        first = problems[0] if problems else None
        sheet.text(row, c["holder_id"], _masked(holder_id, holder_id, index), st.text_input)
        sheet.text(row, c["name"], _masked(holder.name, holder_id, index) if holder else "", st.text_input)
        sheet.number(row, c["problems"], len(problems), st.input["integer"])
        sheet.text(row, c["see"], f"{t.line('see_exceptions', year)} {exceptions_name}", st.text)
        if first is not None:
            text = f"{first.where}: {first.message}"
            sheet.text(row, c["first_problem"], _masked(text, holder_id, index), st.note)
        row += 1
    return row


def _idle_table(wb: _Workbook, sheet: _Sheet, row: int, idle: Sequence[str], holders: Mapping[str, Holder],
                index: TinIndex, lots_in_input: Mapping[str, int]) -> int:
    """"Nothing held in YYYY": each holder of the input without a ledger row in the year, by
    masked id, with their name and how many lots the input lists for them (any year); "None."
    when there is none.  Returns the row after the table."""
    st = wb.styles
    c, row = _table_or_none(wb, sheet, row, "summary_idle", "summary_idle", bool(idle))
    if c is None:
        return row
    for holder_id in idle:
        holder = holders.get(holder_id)
        sheet.text(row, c["holder_id"], _masked(holder_id, holder_id, index), st.text_input)
        sheet.text(row, c["name"], _masked(holder.name, holder_id, index) if holder else "", st.text_input)
        sheet.number(row, c["lots"], lots_in_input.get(holder_id, 0), st.input["integer"])
        row += 1
    return row

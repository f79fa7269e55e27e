"""The Cover: the holder (with the filer type and the return), sign-off boxes, the year's figures
on the lines of the holder's return (method §9, §12), the broker reconciliation in brief, and
the review apparatus: the disclosures of the instrument sheets (where the schedule used departs
from the issuer's as printed), the holder's input problems, the tick-mark legend (every mark of
``cells.TICKS``) and a review-notes grid for the reviewer to fill.

The figures follow the forms layer (:mod:`cpdi.engine.forms`), one block per line of the holder's
filer type, so that no total adds an ordinary and a capital amount and no line nets two lots'
gain and loss of different character:

* **ordinary lines** — each item going to the line (interest income (b)(6)(ii), the (b)(8)(i)
  gain on a disposition; the (b)(6)(iii)(B) and (b)(8)(ii) ordinary losses, entered negative),
  each a live sum of the lot sheets' cells, and the line's total;
* **the carried item** — the negative adjustment carryforward (b)(6)(iii)(C), on no return;
* **Form 8949 / Schedule D by box** — lines, (d), (e), (g) and (h) of each box used, each a
  ``SUMIF`` over the Form 8949 sheet's column, column (h) the capital part only.

Every amount has its check cells: the amount less the Lots sheet's total (live) and less the
engine's value (typed ``[I]`` from the forms layer), each reading ``✓`` within half a cent and
the difference otherwise — so a reviewer's change on a lot sheet shows where it lands.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

from cpdi.engine.forms import LOSS_ITEMS, Character, FilerForms, FormTotal, HolderForms
from cpdi.model import Holder
from cpdi.problems import Problem
from cpdi.writers.privacy import mask_tin, scrub_problem_value, scrub_text
from cpdi.writers.workpapers import cells as _cells
from cpdi.writers.workpapers.cells import (
    FLAG_MARK, TICKS, _cell, _range, _Sheet, _table_or_none, _Workbook, check_formula, tick_mark,
    wrapped_across,
)
from cpdi.writers.workpapers.form8949_sheet import _Form8949Cells
from cpdi.writers.workpapers.lot_sheet import FIGURES_DISPOSITION, _LotCells
from cpdi.writers.workpapers.reconciliation_sheet import _ReconciliationCells

ITEM_PARAGRAPHS = {  # the paragraph of §1.1275-4 each item of a return line comes from
    "interest_income": "(b)(6)(ii)(A); (b)(6)(iii)(A)",
    "ordinary_income_on_disposition": "(b)(8)(i)",
    "ordinary_loss": "(b)(6)(iii)(B)",
    "ordinary_loss_on_disposition": "(b)(8)(ii)",
    "carryforward_out": "(b)(6)(iii)(C)",
}
FORM_LINE_TICKS = {"amount": "recomputed", "ledger": "input", "lots_check": "check", "ledger_check": "check"}
BOX_TICKS = {"count": "footed", "proceeds": "footed", "cost_basis": "footed", "adjustment": "footed",
             "gain_loss": "footed", "ledger": "input", "ledger_check": "check", "lots_check": "check"}
BOX_COLUMNS = ("proceeds", "cost_basis", "adjustment", "gain_loss")  # the Form 8949 columns a box sums
REVIEW_ROWS = 8  # empty rows of the review-notes grid
SEE_REFS = 6  # references listed in a cover line's "computed from" text before "… and n more"


@dataclass
class _Returns:
    """What the Cover puts on the return: the holder's year on the forms (the forms layer),
    the filer type's lines, the mapping's name and edition, and the cells of the Form 8949 and
    Broker reconciliation sheets (``None`` when the workbook has none)."""

    forms: HolderForms
    filer: FilerForms
    mapping: str = ""  # "forms.toml, 2025 edition"
    form8949: _Form8949Cells | None = None
    reconciliation: _ReconciliationCells | None = None


def _cover_sheet(wb: _Workbook, sheet: _Sheet, holder: Holder | None, lots: list[_LotCells],
                 totals: dict[str, str], problems: list[Problem], disclosures: Sequence[str],
                 returns: _Returns) -> None:
    """The Cover, block by block: the holder and the return, sign-off boxes, the ordinary and
    carried lines, Form 8949 / Schedule D by box, the broker reconciliation, the disclosures of
    the instrument sheets, the holder's input problems, the tick-mark legend and the review-notes
    grid for the reviewer.  ``totals`` are the Lots sheet's column totals (figure -> cell)."""
    t = wb.t
    wb.title_rows(sheet, t.title_for(wb.year))
    r = _holder_block(wb, sheet, 4, holder, returns)
    r = _signoff_block(wb, sheet, r)
    r = _form_lines_block(wb, sheet, r, lots, totals, returns)
    r = _capital_block(wb, sheet, r, totals, returns)
    r = _reconciliation_block(wb, sheet, r, returns.reconciliation)
    r = _disclosures_block(wb, sheet, r, disclosures)
    r = _problems_block(wb, sheet, r, holder, problems)
    r = _ticks_block(wb, sheet, r)
    _review_block(wb, sheet, r)
    wb.print_setup(sheet, (0, 2), None, list(t.widths["cover"]))


def _holder_block(wb: _Workbook, sheet: _Sheet, r: int, holder: Holder | None, returns: _Returns) -> int:
    """The holder (TIN masked), the extra holders columns, the filer type and the return its
    figures go on (method §12), year, date and reference.  Returns the next free row."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, 0, t.section("cover_holder", year), st.section)
    r += 1

    def info(label, writer, *args):
        nonlocal r
        sheet.text(r, 0, label)
        writer(r, 1, *args)
        r += 1

    info(t.line("holder_id", year), sheet.text, wb.holder_id, st.text_input)
    info(t.line("holder_name", year), sheet.text, holder.name if holder else "", st.text_input)
    info(t.line("tin", year), sheet.text, mask_tin(holder.tin) if holder else "", st.text_input)
    for header, value in (holder.extra if holder else ()):
        info(header, sheet.text, value, st.text_input)
    info(t.line("filer_type", year), sheet.text, returns.forms.filer_type.value, st.text_input)
    info(t.line("return_form", year), sheet.text, returns.filer.return_form, st.text)
    if returns.mapping:
        info(t.line("form_lines", year), sheet.text, returns.mapping, st.text)
    info(t.line("tax_year", year), sheet.number, year, st.year_input)
    info(t.line("prepared", year), sheet.date, wb.prepared, st.input["date"])
    info(t.line("workpaper_ref", year), sheet.text, wb.ref, st.text)
    sheet.text(r, 0, "Blue: inputs (input files; the engine's ledger of earlier years, and of this year in "
                     "the 'cpdi ledger' columns the checks compare with); black: formulas.", st.note)
    return r + 2


def _signoff_block(wb: _Workbook, sheet: _Sheet, r: int) -> int:
    """Boxes for the preparer's and the reviewer's name, date and initials."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, 0, t.section("cover_signoff", year), st.section)
    r += 1
    for col, key in enumerate(("signoff_name", "signoff_date", "signoff_initials"), start=1):
        sheet.text(r, col, t.line(key, year), st.box_header)
    r += 1
    for key in ("prepared_by", "reviewed_by"):
        sheet.text(r, 0, t.line(key, year), st.bold)
        for col in (1, 2, 3):
            sheet.blank(r, col, st.box)
        sheet.heights[r] = 24
        r += 1
    return r + 1


# -- ordinary and carried lines ------------------------------------------------------------------
def _form_lines_block(wb: _Workbook, sheet: _Sheet, r: int, lots: list[_LotCells], totals: dict[str, str],
                      returns: _Returns) -> int:
    """The ordinary lines of the holder's return, each with its items and its total, then the
    carried item (on no return)."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["form_lines"]
    c = {cid: layout.index(cid) for cid in layout.order}
    sheet.text(r, 0, t.section("cover_figures", year), st.section)
    r += 1
    sheet.column_headers(r, layout, year, st.header, ticks=FORM_LINE_TICKS)
    r += 1
    for total in returns.forms.totals:
        if total.character is Character.ORDINARY:
            r = _ordinary_line(wb, sheet, r, c, total, lots, totals, returns)
    return _carried_line(wb, sheet, r, c, lots, totals, returns) + 1


def _ordinary_line(wb: _Workbook, sheet: _Sheet, r: int, c: dict, total: FormTotal, lots: list[_LotCells],
                   totals: dict[str, str], returns: _Returns) -> int:
    """One ordinary line: its heading (the form and line), a row per item going to it — losses
    entered negative — and the line's total, the amount to enter.  Returns the next free row."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, c["item"], total.where, st.bold)
    r += 1
    first, lots_terms, value = r, [], 0.0
    for item in total.items:
        sign = -1.0 if item in LOSS_ITEMS else 1.0
        value += _item_row(wb, sheet, r, c, item, sign, lots, totals,
                           sign * returns.forms.total(item), st.formula["money"])
        lots_terms.append(("-" if sign < 0 else "+") + totals[item])
        r += 1
    sheet.text(r, c["item"], f"{t.line('line_total', year)} {total.where}", st.bold)
    amount = sheet.formula(r, c["amount"], f"SUM({_range(first, c['amount'], r - 1)})", value, st.result)
    _checks(wb, sheet, r, c, amount, value, "".join(lots_terms).lstrip("+"), value, total.amount)
    notes = dict.fromkeys(returns.filer.line(item).note for item in total.items)
    _see(wb, sheet, r, c["see"], " ".join(note for note in notes if note))
    return r + 1


def _carried_line(wb: _Workbook, sheet: _Sheet, r: int, c: dict, lots: list[_LotCells],
                  totals: dict[str, str], returns: _Returns) -> int:
    """The negative adjustment carryforward (b)(6)(iii)(C) under its heading from the mapping
    ("Not on the return, …"): on no return of the year, carried to the next."""
    where = returns.filer.line("carryforward_out")
    sheet.text(r, c["item"], where.where, wb.styles.bold)
    _item_row(wb, sheet, r + 1, c, "carryforward_out", 1.0, lots, totals,
              returns.forms.total("carryforward_out"), wb.styles.result)
    return r + 2


def _item_row(wb: _Workbook, sheet: _Sheet, r: int, c: dict, item: str, sign: float, lots: list[_LotCells],
              totals: dict[str, str], ledger: float, fmt) -> float:
    """One item: its label and paragraph, the amount as entered (a live sum of the lot sheets'
    cells, negated for a loss), its check cells and the cells it is computed from.  Returns the
    amount."""
    t, st, year = wb.t, wb.styles, wb.year
    parts = [lot.refs[item] for lot in lots if item in lot.refs]
    value = sign * sum(v for _, v in parts)
    formula, see = _item_formula(wb, item, parts, totals[item])
    label = t.line(item, year) + (f" ({t.line('entered_negative', year)})" if sign < 0 else "")
    sheet.text(r, c["item"], label)
    sheet.text(r, c["paragraph"], ITEM_PARAGRAPHS[item], st.paragraph)
    negated = formula if sign > 0 or formula == "0" else f"-({formula})"
    amount = sheet.formula(r, c["amount"], negated, value, fmt)
    lots_value = value  # the Lots sheet's column total, as entered: the same lot values
    _checks(wb, sheet, r, c, amount, value, ("-" if sign < 0 else "") + totals[item], lots_value, ledger)
    _see(wb, sheet, r, c["see"], see)
    return value


def _item_formula(wb: _Workbook, item: str, parts: list[tuple[str, float]], lots_total: str) -> tuple[str, str]:
    """The sum of the lot sheets' cells of ``item`` (or, when that formula would be too long,
    the Lots sheet's column total) and the "computed from" text."""
    t, year = wb.t, wb.year
    if not parts:
        return "0", (t.line("no_disposition", year) if item in FIGURES_DISPOSITION else t.line("none", year))
    formula = "+".join(ref for ref, _ in parts)
    if len(formula) > _cells.FORMULA_LIMIT:  # too long for one formula: the Lots sheet's total
        return lots_total, f"{t.line('see_lots', year)}: {lots_total}"
    see = "see " + ", ".join(ref for ref, _ in parts[:SEE_REFS])
    if len(parts) > SEE_REFS:
        see += f" and {len(parts) - SEE_REFS} more ({t.line('see_lots', year)}: {lots_total})"
    return formula, see


def _checks(wb: _Workbook, sheet: _Sheet, r: int, c: dict, amount: str, value: float, lots: str,
            lots_value: float, ledger: float) -> None:
    """An amount's check cells: the amount less the Lots sheet's total(s) ``lots`` (live), and
    the engine's value typed ``[I]`` with the amount less it — each ``✓`` within half a cent."""
    st = wb.styles
    sheet.number(r, c["ledger"], ledger, st.input["money"])
    sheet.formula(r, c["lots_check"], *check_formula(f"{amount}-({lots})", value - lots_value), st.check)
    sheet.formula(r, c["ledger_check"], *check_formula(f"{amount}-{_cell(r, c['ledger'])}", value - ledger),
                  st.check)


# -- Form 8949 / Schedule D ----------------------------------------------------------------------
def _capital_block(wb: _Workbook, sheet: _Sheet, r: int, totals: dict[str, str], returns: _Returns) -> int:
    """Form 8949 / Schedule D by box: each box used, its lines, (d), (e), (g) and (h) summed
    from the Form 8949 sheet, then all boxes with their checks; "no disposition" when there is
    none.  Capital amounts only: the ordinary part of a disposition is on its ordinary line."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, 0, t.section("cover_capital", year), st.section)
    r += 1
    boxes = [x for x in returns.forms.totals if x.character is Character.CAPITAL]
    form8949 = returns.form8949
    if not boxes or form8949 is None or not form8949.has_lines:
        sheet.text(r, 0, t.line("no_disposition", year), st.note)
        return r + 2
    layout = t.tables["form8949_boxes"]
    c = {cid: layout.index(cid) for cid in layout.order}
    sheet.column_headers(r, layout, year, st.header, ticks=BOX_TICKS)
    r += 1
    first = r
    for total in boxes:
        _box_row(wb, sheet, r, c, total, form8949)
        r += 1
    _all_boxes_row(wb, sheet, r, c, first, returns, totals)
    sheet.text(r + 1, 0, t.line("capital_note", year), st.note)
    return r + 3


def _box_row(wb: _Workbook, sheet: _Sheet, r: int, c: dict, total: FormTotal, form8949: _Form8949Cells) -> None:
    """One box: the Schedule D line it goes to, its lines counted and its columns summed over
    the Form 8949 sheet (``COUNTIF`` / ``SUMIF`` on the box column), and (h) against the
    engine's."""
    t, st, year = wb.t, wb.styles, wb.year
    box, boxes = total.box, form8949.column("box")
    sheet.text(r, c["box"], t.line(f"box_{box}", year))
    sheet.text(r, c["line"], total.where, st.paragraph)
    sheet.formula(r, c["count"], f'COUNTIF({boxes},"{box}")', total.count, st.formula["integer"])
    values = {"proceeds": total.proceeds, "cost_basis": total.cost_basis,
              "adjustment": total.adjustment_amount, "gain_loss": total.amount}
    for cid in BOX_COLUMNS:
        sheet.formula(r, c[cid], f'SUMIF({boxes},"{box}",{form8949.column(cid)})', values[cid],
                      st.formula["money"])
    sheet.number(r, c["ledger"], total.amount, st.input["money"])
    h, ledger = _cell(r, c["gain_loss"]), _cell(r, c["ledger"])
    sheet.formula(r, c["ledger_check"], *check_formula(f"{h}-{ledger}", 0.0), st.check)


def _all_boxes_row(wb: _Workbook, sheet: _Sheet, r: int, c: dict, first: int, returns: _Returns,
                   totals: dict[str, str]) -> None:
    """All boxes: the box rows footed, and column (h) against the engine's and against the Lots
    sheet (capital gain − capital loss of every disposed lot (b)(8)(ii)–(iii))."""
    t, st, year = wb.t, wb.styles, wb.year
    lines = returns.forms.form8949
    sheet.text(r, c["box"], t.line("all_boxes", year), st.bold)
    values = {"count": float(len(lines)), "proceeds": sum(x.proceeds for x in lines),
              "cost_basis": sum(x.cost_basis for x in lines),
              "adjustment": sum(x.adjustment_amount for x in lines),
              "gain_loss": sum(x.gain_loss for x in lines)}
    for cid, value in values.items():
        kind = "integer" if cid == "count" else "money"
        sheet.formula(r, c[cid], f"SUM({_range(first, c[cid], r - 1)})", value, st.total[kind])
    h = _cell(r, c["gain_loss"])
    sheet.number(r, c["ledger"], values["gain_loss"], st.input["money"])
    sheet.formula(r, c["ledger_check"], *check_formula(f"{h}-{_cell(r, c['ledger'])}", 0.0), st.check)
    lots = f"{totals['capital_gain_on_disposition']}-{totals['capital_loss_on_disposition']}"
    sheet.formula(r, c["lots_check"], *check_formula(f"{h}-({lots})", 0.0), st.check)


# -- broker reconciliation -----------------------------------------------------------------------
def _reconciliation_block(wb: _Workbook, sheet: _Sheet, r: int, rc: _ReconciliationCells | None) -> int:
    """The broker reconciliation in brief: how many figures the broker reported and how many
    differences nothing known explains (a live count of the ``✗`` flags on the reconciliation
    sheet), with a link to it; a note when no broker figure was given."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, 0, t.section("cover_reconciliation", year), st.section)
    r += 1
    if rc is None:
        sheet.text(r, 0, t.line("no_broker_figures", year), st.note)
        return r + 2
    sheet.text(r, 0, t.line("broker_figures", year))
    sheet.number(r, 1, rc.count, st.input["integer"])
    sheet.link(r, 2, rc.sheet.name, rc.sheet.name, st.text)
    sheet.text(r + 1, 0, t.line("broker_unexplained", year), st.bold)
    sheet.formula(r + 1, 1, f'COUNTIF({rc.flags},"{FLAG_MARK}")', rc.unexplained,
                  st.banner_bad if rc.unexplained else st.banner_ok)
    return r + 3


# -- review apparatus ----------------------------------------------------------------------------
def _see(wb: _Workbook, sheet: _Sheet, row: int, col: int, text: str) -> None:
    """The "computed from" references, wrapped in their column, the row as tall as its lines
    (the list grows with the lots and the length of their sheet names)."""
    widths = wb.t.widths["cover"]
    room = max(10, (widths[col] if col < len(widths) else wb.t.widths["text"]) - 4)
    lines = -(-len(text) // room)
    if lines > 1:
        sheet.heights[row] = max(sheet.heights.get(row, 0), 15 * lines)
        sheet.text(row, col, text, wb.styles.wrapped_note)
    else:
        sheet.text(row, col, text, wb.styles.note)


def _disclosures_block(wb: _Workbook, sheet: _Sheet, r: int, disclosures: Sequence[str]) -> int:
    """The instrument sheets' disclosures — each sentence saying where the schedule used departs
    from the issuer's as printed — one a row across the figures' table, wrapped, each once;
    "None." when there is none."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, 0, t.section("cover_disclosures", year), st.section)
    r += 1
    shown = list(dict.fromkeys(text for text in disclosures if text))
    if not shown:
        sheet.text(r, 0, t.line("none", year), st.note)
        r += 1
    last = len(t.tables["form_lines"].order) - 1  # across the figures' table, wrapped
    for text in shown:
        wrapped_across(sheet, r, 0, last, text, st.wrapped, list(t.widths["cover"]))
        r += 1
    return r + 1


def _problems_block(wb: _Workbook, sheet: _Sheet, r: int, holder: Holder | None,
                    problems: list[Problem]) -> int:
    """The holder's input problems (where, value, problem, fix), masked; "None." when there is
    none."""
    st = wb.styles
    pc, r = _table_or_none(wb, sheet, r, "cover_problems", "problems", bool(problems))
    if pc is None:
        return r + 1
    tin = holder.tin if holder else ""
    for problem in problems:
        value = scrub_problem_value(problem.value, problem.column, tin)
        sheet.text(r, pc["where"], problem.where, st.text)
        sheet.text(r, pc["value"], value, st.text_input)
        sheet.text(r, pc["message"], scrub_text(problem.message, tin), st.text)
        sheet.text(r, pc["fix"], scrub_text(problem.fix, tin), st.note)
        r += 1
    return r + 1


def _ticks_block(wb: _Workbook, sheet: _Sheet, r: int) -> int:
    """The tick-mark legend: every mark of :data:`TICKS` and what it says was done."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["tick_legend"]
    c, r = sheet.start_table(r, t.section("cover_ticks", year), layout, year, st)
    for kind, (_, meaning) in TICKS.items():
        sheet.text(r, c["mark"], tick_mark(kind), st.bold)
        sheet.text(r, c["meaning"], meaning, st.text)
        r += 1
    sheet.text(r, 0, t.line("ticks_note", year), st.note)
    return r + 2


def _review_block(wb: _Workbook, sheet: _Sheet, r: int) -> int:
    """The review-notes grid: ``REVIEW_ROWS`` numbered, bordered, empty rows (sheet and cell,
    note, raised by / date, cleared by / date) for the reviewer to fill."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["review_notes"]
    sheet.text(r, 0, t.section("cover_review", year), st.section)
    sheet.text(r + 1, 0, t.line("review_note", year), st.note)
    r += 2
    sheet.column_headers(r, layout, year, st.header)
    r += 1
    for number in range(1, REVIEW_ROWS + 1):
        for cid in layout.order:
            if cid == "number":
                sheet.number(r, layout.index(cid), number, st.box)
            else:
                sheet.blank(r, layout.index(cid), st.box)
        sheet.heights[r] = 30
        r += 1
    return r


def _scrub(text: str | None, column: str | None, tin: str = "") -> str:
    """Problem text fit for a workpaper or the exceptions file: never a full taxpayer id
    (``cpdi.writers.privacy.scrub_problem_value``)."""
    return scrub_problem_value(text, column, tin)


def _holder_problems(problems: Iterable[Problem], holder_id: str, instrument_ids: set[str]) -> list[Problem]:
    """The problems that concern this holder: its own, and those of an instrument it holds
    that name no holder."""
    return [
        p for p in problems
        if p.holder_id == holder_id or (p.holder_id is None and p.instrument_id in instrument_ids)
    ]



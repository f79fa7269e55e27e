"""The Cover: the holder, sign-off boxes, the year's figures by where they go on a return
(method §9), each the sum of the lot sheets' cells it names, and the review apparatus: the
disclosures of the instrument sheets (where the schedule used departs from the issuer's as
printed), the holder's input problems, the tick-mark legend (every mark of
``cells.TICKS``) and a review-notes grid for the reviewer to fill."""

from __future__ import annotations

from typing import Iterable, Sequence

from cpdi.model import Holder
from cpdi.problems import Problem
from cpdi.writers.privacy import mask_tin, scrub_problem_value, scrub_text
from cpdi.writers.workpapers.cells import (
    FORMULA_LIMIT, TICKS, _Sheet, _table_or_none, _Workbook, tick_mark,
)
from cpdi.writers.workpapers.lot_sheet import FIGURES_DISPOSITION, _LotCells

COVER_FIGURES = (
    # (section, figure, paragraph) — method §9, in the order a return takes them
    ("cover_interest", "interest_income", "(b)(6)(ii)(A); (b)(6)(iii)(A)"),
    ("cover_losses", "ordinary_loss", "(b)(6)(iii)(B)"),
    ("cover_dispositions", "proceeds", "(b)(7)(iv)–(v)"),
    ("cover_dispositions", "carryforward_applied", "(b)(6)(iii)(C)"),
    ("cover_dispositions", "amount_realized", "(b)(7)"),
    ("cover_dispositions", "adjusted_basis", "(b)(7)(iii)"),
    ("cover_dispositions", "gain_loss", "(b)(8)"),
    ("cover_dispositions", "ordinary_income_on_disposition", "(b)(8)(i)"),
    ("cover_dispositions", "ordinary_loss_on_disposition", "(b)(8)(ii)"),
    ("cover_dispositions", "capital_loss", "(b)(8)(ii); (b)(8)(iii)"),
    ("cover_dispositions", "capital_gain", "(b)(8)(iii)"),
    ("cover_carryforward", "carryforward_out", "(b)(6)(iii)(C)"),
)
REVIEW_ROWS = 8  # empty rows of the review-notes grid
SEE_REFS = 6  # references listed in a cover line's "computed from" text before "… and n more"
# cover figure -> the lot figure it adds up
_COVER_SOURCE = {
    "proceeds": "consideration", "capital_loss": "capital_loss_on_disposition",
    "capital_gain": "capital_gain_on_disposition",
}


def _cover_sheet(wb: _Workbook, sheet: _Sheet, holder: Holder | None, lots: list[_LotCells],
                 totals: dict[str, str], problems: list[Problem], disclosures: Sequence[str] = ()) -> None:
    """The Cover, block by block: the holder, sign-off boxes, the year's figures by where they go
    on a return (method §9) — each the sum of the lot sheets' cells it names, ticked ``[R]`` —
    the disclosures of the instrument sheets, the holder's input problems, the tick-mark legend
    and the review-notes grid for the reviewer."""
    t = wb.t
    wb.title_rows(sheet, t.title_for(wb.year))
    r = _holder_block(wb, sheet, 4, holder)
    r = _signoff_block(wb, sheet, r)
    r = _figures_block(wb, sheet, r, lots, totals)
    r = _disclosures_block(wb, sheet, r, disclosures)
    r = _problems_block(wb, sheet, r, holder, problems)
    r = _ticks_block(wb, sheet, r)
    _review_block(wb, sheet, r)
    wb.print_setup(sheet, (0, 2), None, list(t.widths["cover"]))


def _holder_block(wb: _Workbook, sheet: _Sheet, r: int, holder: Holder | None) -> int:
    """The holder (TIN masked), the extra holders columns, year, date and reference.  Returns
    the next free row."""
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
    info(t.line("tax_year", year), sheet.number, year, st.year_input)
    info(t.line("prepared", year), sheet.date, wb.prepared, st.input["date"])
    info(t.line("workpaper_ref", year), sheet.text, wb.ref, st.text)
    sheet.text(r, 0, "Blue: inputs (input files, the engine's ledger of earlier years); black: formulas.",
               st.note)
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


def _figures_block(wb: _Workbook, sheet: _Sheet, r: int, lots: list[_LotCells], totals: dict[str, str]) -> int:
    """The year's figures by where they go on a return (method §9): each a live sum of the lot
    sheets' cells it names (or, when that formula would be too long, the Lots sheet's column
    total); the amount column is ticked ``[R]``."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["figures"]
    c = {cid: layout.index(cid) for cid in layout.order}
    sheet.text(r, 0, t.section("cover_figures", year), st.section)
    r += 1
    sheet.column_headers(r, layout, year, st.header, ticks={"amount": "recomputed"})
    r += 1
    section = None
    for section_key, figure, paragraph in COVER_FIGURES:
        if section_key != section:
            section = section_key
            sheet.text(r, c["item"], t.section(section_key, year), st.bold)
            r += 1
        source = _COVER_SOURCE.get(figure, figure)
        parts = [lot.refs[source] for lot in lots if source in lot.refs]
        sheet.text(r, c["item"], t.line(figure, year))
        sheet.text(r, c["paragraph"], paragraph, st.paragraph)
        sheet.text(r, c["form"], t.line(f"where_{figure}", year), st.paragraph)
        value = sum(v for _, v in parts)
        fmt = st.result if figure in ("interest_income", "ordinary_loss", "carryforward_out") else st.formula["money"]
        formula = "+".join(ref for ref, _ in parts)
        if not parts:
            sheet.formula(r, c["amount"], "0", 0.0, fmt)
            see = t.line("no_disposition", year) if source in FIGURES_DISPOSITION else t.line("none", year)
        elif len(formula) <= FORMULA_LIMIT:
            sheet.formula(r, c["amount"], formula, value, fmt)
            see = "see " + ", ".join(ref for ref, _ in parts[:SEE_REFS])
            if len(parts) > SEE_REFS:
                see += f" and {len(parts) - SEE_REFS} more ({t.line('see_lots', year)}: {totals[source]})"
        else:  # too long for one formula: the total of the Lots sheet's column
            sheet.formula(r, c["amount"], totals[source], value, fmt)
            see = f"{t.line('see_lots', year)}: {totals[source]}"
        _see(wb, sheet, r, c["see"], see)
        r += 1
    return r + 1


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
    from the issuer's as printed — one a row, each once; "None." when there is none."""
    t, st, year = wb.t, wb.styles, wb.year
    sheet.text(r, 0, t.section("cover_disclosures", year), st.section)
    r += 1
    shown = list(dict.fromkeys(text for text in disclosures if text))
    if not shown:
        sheet.text(r, 0, t.line("none", year), st.note)
        r += 1
    for text in shown:
        sheet.text(r, 0, text, st.text)
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



"""The Cover: the holder, sign-off boxes, the year's figures by where they go on a return
(method §9), each the sum of the lot sheets' cells it names, and the holder's input problems."""

from __future__ import annotations

from typing import Iterable, Sequence

from cpdi.model import Holder
from cpdi.problems import Problem
from cpdi.writers.privacy import mask_tin, scrub_problem_value, scrub_text
from cpdi.writers.workpapers.cells import FORMULA_LIMIT, _Sheet, _Workbook
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
SEE_REFS = 6  # references listed in a cover line's "computed from" text before "… and n more"
# cover figure -> the lot figure it adds up
_COVER_SOURCE = {
    "proceeds": "consideration", "capital_loss": "capital_loss_on_disposition",
    "capital_gain": "capital_gain_on_disposition",
}


def _cover_sheet(wb: _Workbook, sheet: _Sheet, holder: Holder | None, lots: list[_LotCells],
                 totals: dict[str, str], problems: list[Problem], disclosures: Sequence[str] = ()) -> None:
    """Holder, sign-off boxes, the year's figures by where they go on a return (method §9) —
    each the sum of the lot sheets' cells it names — and the holder's input problems."""
    t, st, year = wb.t, wb.styles, wb.year
    layout = t.tables["figures"]
    c = {cid: layout.index(cid) for cid in layout.order}
    wb.title_rows(sheet, t.title_for(year))
    r = 4
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
    r += 2

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
    r += 1

    sheet.text(r, 0, t.section("cover_figures", year), st.section)
    r += 1
    header = r
    sheet.column_headers(r, layout, year, st.header)
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
        sheet.text(r, c["see"], see, st.note)
        r += 1
    r += 1

    sheet.text(r, 0, t.section("cover_problems", year), st.section)
    r += 1
    if not problems:
        sheet.text(r, 0, t.line("none", year), st.note)
    else:
        layout = t.tables["problems"]
        pc = {cid: layout.index(cid) for cid in layout.order}
        sheet.column_headers(r, layout, year, st.header)
        r += 1
        tin = holder.tin if holder else ""
        for problem in problems:
            where = problem.file
            if problem.row is not None:
                where += f" row {problem.row}"
            if problem.column:
                where += f", column {problem.column}"
            value = scrub_problem_value(problem.value, problem.column, tin)
            sheet.text(r, pc["where"], where, st.text)
            sheet.text(r, pc["value"], value, st.text_input)
            sheet.text(r, pc["message"], scrub_text(problem.message, tin), st.text)
            sheet.text(r, pc["fix"], scrub_text(problem.fix, tin), st.note)
            r += 1
    widths = list(t.widths["cover"])
    wb.print_setup(sheet, (0, 2), None, widths)


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



"""Holder workpapers: one .xlsx per holder and tax year that a preparer files with the return and
a reviewer ties out cell by cell (docs/formats.md, ``cpdi workpapers``; method §3–§9).

Every computed number is a **live formula** over inputs visible in the workbook, written with
the engine's own value cached beside it, so any viewer shows numbers and a spreadsheet engine
recomputes them (the proof of the workpaper is that Excel or LibreOffice recomputes the
engine's numbers).  Inputs — schedule amounts, actual payments, the lot, values carried
from the ledger of earlier years — are blue; formulas are black.

Sheets of a holder workbook::

    Cover         holder, filer type and return, sign-off boxes, the year's figures on the
                  lines of the holder's return (ordinary lines with their items, the carried
                  item, Form 8949 / Schedule D by box), each with check cells against the Lots
                  sheet and the engine, the broker reconciliation in brief, and the holder's
                  input problems
    Lots          one row per lot, every figure linked to its lot sheet
    Form 8949     one line per lot disposed of in the year, linked to its lot sheet, column (h)
                  the capital part only, and the totals of each box
    Broker reconciliation   (when broker figures are given) each 1099 figure against cpdi's
    <instrument>  terms, §8 validation, the projected schedule and accrual table (b)(3)(iii),
                  (b)(7)(ii), and a chart of the adjusted issue price and payments
    Lot <id>      the lot, days held (b)(3)(iii), payments and adjustments (b)(6)(i), (b)(9)(i)
                  allocations, the annual netting (b)(6)(ii)–(iii), the basis roll-forward
                  (b)(7)(iii) and the disposition (b)(7)(iv)–(v), (b)(8)

Everything read from the inputs is written as text with ``write_string`` (never parsed as a
formula, number or link), and every piece of text — cells, sheet names, headers, footers,
document properties, file names — goes through ``cpdi.writers.privacy`` on its way out, so no
full taxpayer id is ever written (``_Sheet.flush`` is the one path cell text takes).  Workbooks
are written atomically and byte-identically for the same inputs (fixed document dates, no
clock).  The layout is planned into a per-sheet buffer and
written row by row; the workbook is assembled in memory and zipped once.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from cpdi import __version__
from cpdi.engine.forms import FormMapping, HolderForms, holder_forms
from cpdi.engine.ledger import LotLedger
from cpdi.engine.reconciliation import ReconciliationLine
from cpdi.model import FilerType, Holder
from cpdi.problems import Problem
from cpdi.writers.privacy import (  # noqa: F401  (re-exported: the names earlier code and tests know)
    _TIN_SHAPED, csv_safe, mask_tin, scrub_text,
)
from cpdi.readers.form_lines import load_form_mapping
from cpdi.writers.template import Template, load_template
from cpdi.writers.workpapers.cells import (  # noqa: F401  (re-exported)
    CHECK_TOLERANCE, FORMULA_FUNCTIONS, FORMULA_LIMIT, KV_VALUE, WORKBOOK_OPTIONS, WorkpaperError,
    _created, _Workbook, _write_workbook,
)
from cpdi.writers.workpapers.cover import _cover_sheet, _holder_problems, _Returns, _scrub  # noqa: F401
from cpdi.writers.workpapers.exceptions import (  # noqa: F401
    EXCEPTION_COLUMNS, _csv_safe, write_exceptions_csv,
)
from cpdi.writers.workpapers.form8949_sheet import _form8949_sheet
from cpdi.writers.workpapers.instrument_sheet import _instrument_sheet
from cpdi.writers.workpapers.lot_sheet import FIGURES_ALWAYS, FIGURES_DISPOSITION, _lot_sheet
from cpdi.writers.workpapers.lots_sheet import _lots_sheet
from cpdi.writers.workpapers.names import _SheetNames, holder_file_name  # noqa: F401
from cpdi.writers.workpapers.reconciliation_sheet import _reconciliation_sheet
from cpdi.writers.workpapers.summary import (  # noqa: F401
    SUMMARY_COLUMNS, SUMMARY_FORMS_COLUMNS, holder_totals_row, summary_rows, write_summary_workbook,
)

__all__ = [
    "CHECK_TOLERANCE", "EXCEPTION_COLUMNS", "FIGURES_ALWAYS", "FIGURES_DISPOSITION", "KV_VALUE", "FORMULA_FUNCTIONS", "FORMULA_LIMIT", "SUMMARY_COLUMNS",
    "SUMMARY_FORMS_COLUMNS", "WORKBOOK_OPTIONS", "WorkpaperError", "holder_file_name",
    "holder_totals_row", "mask_tin", "summary_rows",
    "write_exceptions_csv", "write_holder_workbook", "write_summary_workbook",
    # package-internal names that earlier code and tests reach through this module
    "_SheetNames", "_TIN_SHAPED", "_csv_safe", "_scrub", "csv_safe",
]

if TYPE_CHECKING:  # cpdi.api imports pandas; the writer does not need it at run time
    from cpdi.api import InstrumentBook


def write_holder_workbook(
    target: Path,
    holder: Holder | None,
    holder_id: str,
    year: int,
    ledgers: list[LotLedger],
    books: dict[str, "InstrumentBook"],
    template: Template | None,
    prepared: date,
    problems: Sequence[Problem] = (),
    before_rename=None,  # Callable[[Path], object] | None
    *,
    forms: HolderForms | None = None,
    mapping: FormMapping | None = None,
    reconciliation: Sequence[ReconciliationLine] = (),
) -> Path:
    """Write one holder's workpapers for tax ``year`` to ``target`` (atomically) and return it.

    ``ledgers`` are the holder's lot ledgers from :func:`cpdi.api.compute` through ``year``;
    lots without a row for ``year`` are left out (as are ledgers of other holders); a holder
    with no lot left raises :class:`WorkpaperError` (nothing held in the year: no workbook of
    zeros).  ``books`` are the instrument books of the same computation.  ``problems`` may be every problem of a
    batch: the holder's own are listed on the cover.  ``prepared`` is the date shown and the
    document date, so the same inputs give a byte-identical file.  ``before_rename`` is
    :func:`cpdi.writers.atomic.atomic_path`'s: called with the finished temporary file just
    before it replaces ``target`` (raising abandons the write).

    ``forms`` is the holder's year on the forms (:func:`cpdi.engine.forms.holder_forms`, method
    §12) under ``mapping`` (default: the packaged ``templates/forms.toml``); without it, it is
    built here from the ledgers for the holder's ``filer_type``.  ``reconciliation`` are the
    holder's broker reconciliation lines (:func:`cpdi.engine.reconciliation.reconcile`): given,
    the workbook gets a Broker reconciliation sheet."""
    template = template or load_template()
    target = Path(target)
    lots = []
    for ledger in ledgers:
        if ledger.lot.holder_id != holder_id:
            continue
        row = next((y for y in ledger.years if y.tax_year == year), None)
        if row is not None:
            lots.append((ledger, row))
    if not lots:  # a workbook of zeros would pass for a holding: nothing is written
        shown = scrub_text(holder_id, holder.tin if holder else "")
        raise WorkpaperError(f"holder {shown} held no lot in {year}: no workbook is written")
    instrument_ids = []
    for ledger, _ in lots:
        if ledger.lot.instrument_id not in instrument_ids:
            instrument_ids.append(ledger.lot.instrument_id)
    for instrument_id in instrument_ids:
        book = books.get(instrument_id)
        if book is None or book.schedule is None:
            raise WorkpaperError(f"no usable schedule for instrument {instrument_id} of holder {holder_id}")
    mine = _holder_problems(problems, holder_id, set(instrument_ids))
    mapping = mapping or load_form_mapping()
    forms = forms or _holder_forms(holder, holder_id, year, [ledger for ledger, _ in lots], books, mapping)
    if forms.holder_id != holder_id or forms.year != year:
        raise WorkpaperError(f"the forms given are holder {forms.holder_id}'s for {forms.year}, "
                             f"not holder {holder_id}'s for {year}")
    reconciliation = [line for line in reconciliation if line.holder_id == holder_id]

    def fill(book):
        wb = _Workbook(book, template, holder_id, year, prepared, holder.tin if holder else "")
        cover = wb.add_sheet(template.sheet("cover", year=year))
        lots_sheet = wb.add_sheet(template.sheet("lots", year=year))
        form8949_sheet = wb.add_sheet(template.sheet("form8949", year=year))
        broker_sheet = wb.add_sheet(template.sheet("reconciliation", year=year)) if reconciliation else None
        instruments = {iid: _instrument_sheet(wb, books[iid]) for iid in instrument_ids}
        lot_cells = [
            _lot_sheet(wb, ledger, row, books[ledger.lot.instrument_id],
                       instruments[ledger.lot.instrument_id])
            for ledger, row in lots
        ]
        totals = _lots_sheet(wb, lots_sheet, lot_cells)
        filer = mapping.filer(forms.filer_type)
        form8949 = _form8949_sheet(wb, form8949_sheet, forms, filer, lot_cells)
        broker = (_reconciliation_sheet(wb, broker_sheet, reconciliation, form8949, lot_cells)
                  if broker_sheet is not None else None)
        disclosures = [text for cells in instruments.values() for text in cells.disclosures]
        returns = _Returns(forms, filer, _mapping_name(mapping), form8949, broker)
        _cover_sheet(wb, cover, holder, lot_cells, totals, mine, disclosures, returns)
        cover.ws.activate()
        return wb, {
            "title": wb.ref,
            "subject": wb.safe(template.title_for(year)),
            "author": wb.safe(template.firm_name),
            "company": wb.safe(template.firm_name),
            "comments": f"cpdi {__version__} workpapers, tax year {year}",
            "created": _created(prepared),
        }

    _write_workbook(target, fill, before_rename)
    return target


def _holder_forms(holder: Holder | None, holder_id: str, year: int, ledgers: list[LotLedger],
                  books: dict[str, "InstrumentBook"], mapping: FormMapping) -> HolderForms:
    """The holder's year on the forms (method §12) for their filer type (individual when the
    input names no holder)."""
    filer_type = holder.filer_type if holder is not None else FilerType.INDIVIDUAL
    if not isinstance(filer_type, FilerType):
        raise WorkpaperError(f"holder {scrub_text(holder_id, holder.tin)}: its filer_type is not a "
                             f"FilerType ({', '.join(f.value for f in FilerType)})")
    descriptions = {iid: book.instrument.description for iid, book in books.items() if book.instrument}
    return holder_forms(holder_id, filer_type, year, ledgers, descriptions, mapping)


def _mapping_name(mapping: FormMapping) -> str:
    """The mapping as the Cover names it: its file's name and the forms' edition
    ("forms.toml, 2025 edition"), never a full path."""
    name = Path(mapping.source).name if mapping.source else ""
    edition = f"{mapping.edition} edition" if mapping.edition else ""
    return ", ".join(part for part in (name, edition) if part)

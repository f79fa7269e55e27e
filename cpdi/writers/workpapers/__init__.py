"""Holder workpapers: one .xlsx per holder and tax year that a preparer files with the return and
a reviewer ties out cell by cell (docs/formats.md, ``cpdi workpapers``; method §3–§9).

Every computed number is a **live formula** over inputs visible in the workbook, written with
the engine's own value cached beside it, so any viewer shows numbers and a spreadsheet engine
recomputes them (the proof of the workpaper is that Excel or LibreOffice recomputes the
engine's numbers).  Inputs — schedule amounts, actual payments, the lot, values carried
from the ledger of earlier years — are blue; formulas are black.

Sheets of a holder workbook::

    Cover         holder, sign-off boxes, the year's figures by where they go on a return,
                  each a sum of the lot sheets' cells, and the holder's input problems
    Lots          one row per lot, every figure linked to its lot sheet
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
from cpdi.engine.ledger import LotLedger
from cpdi.model import Holder
from cpdi.problems import Problem
from cpdi.writers.privacy import (  # noqa: F401  (re-exported: the names earlier code and tests know)
    _TIN_SHAPED, csv_safe, mask_tin, scrub_text,
)
from cpdi.writers.template import Template, load_template
from cpdi.writers.workpapers.cells import (  # noqa: F401  (re-exported)
    CHECK_TOLERANCE, FORMULA_FUNCTIONS, FORMULA_LIMIT, KV_VALUE, WORKBOOK_OPTIONS, WorkpaperError,
    _created, _Workbook, _write_workbook,
)
from cpdi.writers.workpapers.cover import _cover_sheet, _holder_problems, _scrub  # noqa: F401
from cpdi.writers.workpapers.exceptions import (  # noqa: F401
    EXCEPTION_COLUMNS, _csv_safe, write_exceptions_csv,
)
from cpdi.writers.workpapers.instrument_sheet import _instrument_sheet
from cpdi.writers.workpapers.lot_sheet import FIGURES_ALWAYS, FIGURES_DISPOSITION, _lot_sheet
from cpdi.writers.workpapers.lots_sheet import _lots_sheet
from cpdi.writers.workpapers.names import _SheetNames, holder_file_name  # noqa: F401
from cpdi.writers.workpapers.summary import (  # noqa: F401
    SUMMARY_COLUMNS, summary_rows, write_summary_workbook,
)

__all__ = [
    "CHECK_TOLERANCE", "EXCEPTION_COLUMNS", "FIGURES_ALWAYS", "FIGURES_DISPOSITION", "KV_VALUE", "FORMULA_FUNCTIONS", "FORMULA_LIMIT", "SUMMARY_COLUMNS",
    "WORKBOOK_OPTIONS", "WorkpaperError", "holder_file_name", "mask_tin", "summary_rows",
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
) -> Path:
    """Write one holder's workpapers for tax ``year`` to ``target`` (atomically) and return it.

    ``ledgers`` are the holder's lot ledgers from :func:`cpdi.api.compute` through ``year``;
    lots without a row for ``year`` are left out (as are ledgers of other holders); a holder
    with no lot left raises :class:`WorkpaperError` (nothing held in the year: no workbook of
    zeros).  ``books`` are the instrument books of the same computation.  ``problems`` may be every problem of a
    batch: the holder's own are listed on the cover.  ``prepared`` is the date shown and the
    document date, so the same inputs give a byte-identical file.  ``before_rename`` is
    :func:`cpdi.writers.atomic.atomic_path`'s: called with the finished temporary file just
    before it replaces ``target`` (raising abandons the write)."""
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

    def fill(book):
        wb = _Workbook(book, template, holder_id, year, prepared, holder.tin if holder else "")
        cover = wb.add_sheet(template.sheet("cover", year=year))
        lots_sheet = wb.add_sheet(template.sheet("lots", year=year))
        instruments = {iid: _instrument_sheet(wb, books[iid]) for iid in instrument_ids}
        lot_cells = [
            _lot_sheet(wb, ledger, row, books[ledger.lot.instrument_id],
                       instruments[ledger.lot.instrument_id])
            for ledger, row in lots
        ]
        totals = _lots_sheet(wb, lots_sheet, lot_cells)
        disclosures = [text for cells in instruments.values() for text in cells.disclosures]
        _cover_sheet(wb, cover, holder, lot_cells, totals, mine, disclosures)
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



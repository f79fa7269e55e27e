"""The batch's exceptions report: every problem of a run, one CSV line each, masked and made
safe for a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Mapping

from cpdi.problems import Problem
from cpdi.writers.atomic import atomic_text
from cpdi.writers.privacy import TinIndex, csv_safe, scrub_problem_value, tin_index

EXCEPTION_COLUMNS = (
    "file", "row", "column", "value", "message", "fix", "holder_id", "lot_id", "instrument_id",
)



_csv_safe = csv_safe  # the name earlier code and tests know


def write_exceptions_csv(target: Path, problems: Iterable[Problem],
                         tins: Mapping[str, str | None] | TinIndex | None = None) -> Path:
    """Every problem of a batch, one per line (atomically): file, row, column, value,
    message, fix, holder_id, lot_id, instrument_id.  Every cell goes through
    ``cpdi.writers.privacy``: taxpayer ids are masked (a ``tin`` column's value whole; given
    ``tins``, ``holder_id -> tin``, the problem's holder's TIN and every holder's TIN in any
    spelling, as ``cpdi.problems.problem_text`` prints them), text that a spreadsheet would take
    for a formula is prefixed with an apostrophe, and control characters are dropped."""
    target = Path(target)
    index = tin_index(tins)
    every = index.all or None
    with atomic_text(target) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(EXCEPTION_COLUMNS)
        for p in problems:
            own = index.tin(p.holder_id)
            value = None if p.value is None else scrub_problem_value(p.value, p.column, own, every)
            texts = (p.file, p.column, value, p.message, p.fix, p.holder_id, p.lot_id, p.instrument_id)
            cells = [csv_safe(text, own, every) for text in texts]
            cells.insert(1, "" if p.row is None else p.row)
            writer.writerow(cells)
    return target

"""Input problems: every one names the file, row and column, what is wrong and what would fix
it (formats.md, "Commands"; style §7).  Readers collect them all instead of stopping at the
first; the CLI prints one line each on stderr."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input.

    ``row`` is the spreadsheet row number as a user sees it (the header is row 1, the first
    data row is row 2); ``None`` when the problem is with a whole file or sheet.  ``column`` is
    the header name, ``None`` when the problem is with the whole row.  ``holder_id``,
    ``lot_id`` and ``instrument_id`` say whose computation the problem stops, so a batch can
    carry on with everyone else.
    """

    file: str
    row: int | None
    column: str | None
    message: str
    fix: str = ""
    value: str | None = None
    holder_id: str | None = None
    lot_id: str | None = None
    instrument_id: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: "
        if self.value is not None:
            text += f"{self.value!r}: "
        text += self.message
        if self.fix:
            text += f"; {self.fix}"
        return text


class CpdiError(Exception):
    """Base of the few named exceptions cpdi raises."""


class InputError(CpdiError):
    """Input that cannot be used at all; carries every problem found."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class LotError(CpdiError):
    """One lot cannot be computed (the others still are)."""

    def __init__(self, problem: Problem):
        self.problem = problem
        super().__init__(str(problem))

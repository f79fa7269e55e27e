"""Input problems: every one names the file, row and column, what is wrong and what would fix
it (docs/formats.md, "Commands").  Readers collect them all instead of stopping at the
first; the CLI prints one line each on stderr.  What a problem or an error prints never carries a
full taxpayer id, and shows control characters escaped (``cpdi.writers.privacy.message_safe``)."""

from __future__ import annotations

from dataclasses import dataclass

from cpdi.writers.privacy import message_safe, scrub_problem_value, scrub_text


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
        """One line for stderr: where, the value, what is wrong and the fix.  Taxpayer ids are
        masked (a ``tin`` column's value whole; anything TIN-shaped elsewhere) and control
        characters shown as ``\\xNN``, so a value can neither leak an id nor forge a line."""
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        text = f"{where}: "
        if self.value is not None:
            text += f"{scrub_problem_value(self.value, self.column)!r}: "
        text += self.message
        if self.fix:
            text += f"; {self.fix}"
        return message_safe(text)


class CpdiError(Exception):
    """Base of the few named exceptions cpdi raises.  Its text is scrubbed of taxpayer ids
    (``cpdi.writers.privacy.scrub_text``): it is what the command line prints."""

    def __str__(self) -> str:
        return scrub_text(super().__str__())


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

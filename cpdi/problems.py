"""Input problems: every one names the file, row and column, what is wrong and what would fix
it (docs/formats.md, "Commands").  Readers collect them all instead of stopping at the
first; the CLI prints one line each on stderr (``problem_text(problem, tins)``).  What a problem or
an error prints never carries a full taxpayer id, and shows control characters escaped
(``cpdi.writers.privacy.message_safe``).

A problem cannot know taxpayer ids by itself: ``str(problem)`` masks what is shaped like one;
:func:`problem_text` given the holders' TINs (``holder_id -> tin``) also masks its holder's TIN and
every other holder's in any spelling.  Every holder's, not only its own: a problem of an
instrument (``instruments.csv``, a schedule) has no holder, and a problem of one row may quote
another holder's id; the TINs are looked up in one scan of the text
(``cpdi.writers.privacy.TinIndex``), so thousands of holders cost no more than one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cpdi.writers.privacy import TinIndex, message_safe, scrub_problem_value, scrub_text, tin_index


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
        """One line for stderr (:func:`problem_text` without the holders' TINs)."""
        return problem_text(self)

    @property
    def where(self) -> str:
        """``lots.csv row 4, column cost_basis``: the file, and the row and column when known."""
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column:
            where += f", column {self.column}"
        return where


def problem_text(problem: Problem, tins: Mapping[str, str | None] | TinIndex | None = None) -> str:
    """One line for stderr: where, the value, what is wrong and the fix.  Taxpayer ids are masked
    (a ``tin`` column's value whole; anything TIN-shaped elsewhere; given ``tins``,
    ``holder_id -> tin``, the problem's holder's TIN and every holder's TIN in any spelling) and
    control characters shown as ``\\xNN``, so a value can neither leak an id nor forge a line.
    Pass a :class:`~cpdi.writers.privacy.TinIndex` (``tin_index(mapping)``, built once) when
    printing many problems: a plain mapping is indexed again on every call."""
    index = tin_index(tins)
    own = index.tin(problem.holder_id)
    every = index.all or None
    text = f"{problem.where}: "
    if problem.value is not None:
        # masked before repr(), which would spell a no-break or zero-width space as an escape
        text += f"{scrub_problem_value(problem.value, problem.column, own, every)!r}: "
    text += problem.message
    if problem.fix:
        text += f"; {problem.fix}"
    return message_safe(text, own, every)


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

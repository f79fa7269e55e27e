"""The batch's errors, and how a write failure is told apart and said in one line.

The errors are part of :mod:`cpdi.batch`'s public surface and importable from it; they live here
so that the package's modules (:mod:`cpdi.batch.manifest`, :mod:`cpdi.batch.lock`) can raise them.
"""

from __future__ import annotations

from cpdi.problems import CpdiError


class BatchError(CpdiError):
    """The batch cannot run or cannot go on (the command line prints it as one line, exit 1)."""


class FolderLocked(BatchError):
    """Another run holds the output folder."""


class OutputError(BatchError, OSError):
    """An output file cannot be written (no space, no permission …).  Also an ``OSError``, so
    code that catches ``OSError`` for write failures catches it: its ``errno`` is the failure's
    (``None`` when there is none); its text is the whole one-line message and its ``filename``
    is unset (the message names the file)."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno  # strerror stays unset: str() is the message


def os_error(error: BaseException) -> OSError | None:
    """The operating-system error behind ``error`` (XlsxWriter wraps it in FileCreateError; an
    :class:`OutputError` raised from one names it as its cause)."""
    if isinstance(error, OutputError) and isinstance(error.__cause__, BaseException):
        return os_error(error.__cause__) or error
    if isinstance(error, OSError):
        return error
    if error.args and isinstance(error.args[0], OSError):
        return error.args[0]
    if isinstance(error.__cause__, OSError):
        return error.__cause__
    return None


def reason(error: BaseException) -> str:
    cause = os_error(error)
    if cause is not None:
        return cause.strerror or str(cause) or type(cause).__name__
    return " ".join(str(error).split()) or type(error).__name__


def is_write_failure(error: BaseException) -> bool:
    from xlsxwriter.exceptions import FileCreateError

    return isinstance(error, (OSError, FileCreateError))

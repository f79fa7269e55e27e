"""Atomic output: write to a temporary name beside the target, then rename, so a crash never
leaves a half-written file where a finished one is expected (developers' brief).

A temporary file is named ``.NAME.PID-RUN-N.part`` (hidden, beside ``NAME``): the writing
process's id, a token of that process's run and a counter.  A process killed outright (SIGKILL,
power loss) cannot remove its own; :func:`remove_leftover_parts` finds those whose writer is no
longer running and removes them (the year-end batch does at the start of every run, for the whole
folder; a command writing one file can do it for that file's alone).

A write that fails says so about the file the caller asked for: the ``OSError`` raised names
the target, never the hidden temporary name (XlsxWriter's ``FileCreateError`` around an
``OSError`` becomes that ``OSError``), and a half-built XlsxWriter workbook's zip file is
disposed of, so the garbage collector has nothing left to complain about."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import uuid
from pathlib import Path
from typing import Callable

_RUN = uuid.uuid4().hex[:12]
_COUNTER = itertools.count()
PART_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<run>[0-9a-f]{12})-(?P<n>\d+)\.part$")


def part_name(target: Path) -> str:
    """A fresh temporary name for ``target`` (see the module docstring)."""
    return f".{target.name}.{os.getpid()}-{_RUN}-{next(_COUNTER)}.part"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, before_rename: Callable[[Path], object] | None = None):
    """Yield a fresh temporary path in the target's folder (not yet created: the writer
    creates it); on success rename it over ``target``, on failure remove it.

    ``before_rename``, if given, is called with the finished temporary file just before the
    rename (to take its digest, or to make a last check): if it raises, the write is abandoned.

    An ``OSError`` from writing or renaming (or XlsxWriter's ``FileCreateError`` around one) is
    raised again as an ``OSError`` with the same ``errno`` and ``strerror`` and ``filename`` set
    to ``target``, so a message names the file asked for, not the temporary one.

    The name carries this process's id, a per-run token and a counter, so concurrent writers
    never share one; it is not pre-created (``mkstemp``), which would cost a second file
    creation per output on slow file systems — the batch writes thousands."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / part_name(target)
    try:
        yield tmp
        if before_rename is not None:
            before_rename(tmp)
        os.replace(tmp, target)
    except BaseException as error:
        _dispose_zip_files(error, tmp)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        cause = _write_error(error, tmp)
        if cause is None:
            raise
        raise OSError(cause.errno, cause.strerror, str(target)) from error


def _write_error(error: BaseException, tmp: Path) -> OSError | None:
    """The ``OSError`` of a failed write or rename of ``tmp`` (``None``: not one; an error about
    another file, or without an ``errno``, is left as it is)."""
    cause = error
    if not isinstance(cause, OSError):
        cause = error.args[0] if type(error).__name__ == "FileCreateError" and error.args else None
        if not isinstance(cause, OSError):
            return None
    if cause.errno is None or cause.filename not in (None, str(tmp), tmp):
        return None
    return cause


def _dispose_zip_files(error: BaseException, tmp: Path) -> None:
    """Close, without writing, any zip file still open on ``tmp`` in the frames ``error`` went
    through (XlsxWriter leaves its ``ZipFile`` open when a write fails: collected later, it would
    try to finish the file, fail again and print "Exception ignored in: ZipFile.__del__")."""
    import zipfile

    seen: set[int] = set()
    pending = [error]
    while pending:
        exc = pending.pop()
        if exc is None or id(exc) in seen:
            continue
        seen.add(id(exc))
        pending += [exc.__cause__, exc.__context__]
        if type(exc).__name__ == "FileCreateError" and exc.args and isinstance(exc.args[0], BaseException):
            pending.append(exc.args[0])
        tb = exc.__traceback__
        while tb is not None:
            for value in list(tb.tb_frame.f_locals.values()):
                if isinstance(value, zipfile.ZipFile) and value.filename == str(tmp) and value.fp is not None:
                    fp, value.fp = value.fp, None  # ZipFile.close() and __del__ now do nothing
                    with contextlib.suppress(Exception):
                        fp.close()
            tb = tb.tb_next


@contextlib.contextmanager
def atomic_text(target: str | os.PathLike, newline: str = ""):
    """Open a text file for writing atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        with open(tmp, "x", encoding="utf-8", newline=newline) as handle:
            yield handle


# -- processes and leftovers ------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process of another user counts) and has
    not ended: a zombie — ended, not yet reaped by its parent — writes nothing more."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would send CTRL_C_EVENT
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return not _zombie(pid)
    except OSError:
        return True  # cannot tell: assume it runs (never delete a live writer's file)
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether process ``pid`` has ended but was not reaped (Linux ``/proc``; elsewhere ``False``)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            fields = handle.read().rsplit(")", 1)[-1].split()
    except OSError:
        return False
    return bool(fields) and fields[0] in ("Z", "X")


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = ctypes.c_ulong()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


def leftover_parts(folder: str | os.PathLike) -> list[Path]:
    """Temporary files in ``folder`` (named as :func:`atomic_path` names them) whose writing
    process is no longer running, or is this process in an earlier run (a reused id) — sorted.
    A file of a process that still runs is never listed: it may be writing it now."""
    folder = Path(folder)
    found = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        match = PART_NAME.match(entry.name)
        if match is None or not entry.is_file(follow_symlinks=False):
            continue
        pid = int(match["pid"])
        if pid == os.getpid():
            if match["run"] != _RUN:
                found.append(Path(entry.path))
        elif not pid_alive(pid):
            found.append(Path(entry.path))
    return sorted(found)


def remove_leftover_parts(folder: str | os.PathLike, name: str | None = None) -> list[str]:
    """Remove :func:`leftover_parts` of ``folder`` — only those of the file ``name`` (a plain
    file name in ``folder``, e.g. ``"r.csv"``) when it is given; return the names removed.
    A file that cannot be removed is left (it is tried again next time)."""
    removed = []
    for path in leftover_parts(folder):
        if name is not None and PART_NAME.match(path.name)["name"] != name:
            continue
        with contextlib.suppress(OSError):
            path.unlink()
            removed.append(path.name)
    return removed

"""Atomic output: write to a temporary name beside the target, then rename, so a crash never
leaves a half-written file where a finished one is expected (developers' brief).

A temporary file is named ``.NAME.PID-RUN-N.part`` (hidden, beside ``NAME``): the writing
process's id, a token of that process's run and a counter.  A process killed outright (SIGKILL,
power loss) cannot remove its own; :func:`remove_leftover_parts` finds those whose writer is no
longer running and removes them (the year-end batch does at the start of every run)."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import sys
import uuid
from pathlib import Path

_RUN = uuid.uuid4().hex[:12]
_COUNTER = itertools.count()
PART_NAME = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-(?P<run>[0-9a-f]{12})-(?P<n>\d+)\.part$")


def part_name(target: Path) -> str:
    """A fresh temporary name for ``target`` (see the module docstring)."""
    return f".{target.name}.{os.getpid()}-{_RUN}-{next(_COUNTER)}.part"


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a fresh temporary path in the target's folder (not yet created: the writer
    creates it); on success rename it over ``target``, on failure remove it.

    The name carries this process's id, a per-run token and a counter, so concurrent writers
    never share one; it is not pre-created (``mkstemp``), which would cost a second file
    creation per output on slow file systems — the batch writes thousands."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / part_name(target)
    try:
        yield tmp
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_text(target: str | os.PathLike, newline: str = ""):
    """Open a text file for writing atomically (UTF-8)."""
    with atomic_path(target) as tmp:
        with open(tmp, "x", encoding="utf-8", newline=newline) as handle:
            yield handle


# -- processes and leftovers ------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (a process of another user counts)."""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - os.kill(pid, 0) would send CTRL_C_EVENT
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True  # cannot tell: assume it runs (never delete a live writer's file)
    return True


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


def remove_leftover_parts(folder: str | os.PathLike) -> list[str]:
    """Remove :func:`leftover_parts` of ``folder``; return the names removed."""
    removed = []
    for path in leftover_parts(folder):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path.name)
    return removed

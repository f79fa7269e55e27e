"""Atomic output: write to a temporary name beside the target, then rename, so a crash never
leaves a half-written file where a finished one is expected (developers' brief)."""

from __future__ import annotations

import contextlib
import itertools
import os
import uuid
from pathlib import Path

_RUN = uuid.uuid4().hex[:12]
_COUNTER = itertools.count()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike):
    """Yield a fresh temporary path in the target's folder (not yet created: the writer
    creates it); on success rename it over ``target``, on failure remove it.

    The name carries this process's id, a per-run token and a counter, so concurrent writers
    never share one; it is not pre-created (``mkstemp``), which would cost a second file
    creation per output on slow file systems — the batch writes thousands."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{_RUN}-{next(_COUNTER)}.part"
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

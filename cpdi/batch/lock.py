"""The output folder's lock: one year-end batch run (:mod:`cpdi.batch`) at a time per folder.

* **One run at a time.**  A run holds ``DIR/.cpdi-lock`` (its pid, host and start time, created
  with ``O_EXCL``) from start to end and removes it on every way out, Ctrl-C included.  A second
  run into the same folder is refused with one line naming the running one's pid
  (:class:`~cpdi.batch.FolderLocked`, exit 1).  A lock whose process no longer runs on this host
  (a run killed outright) is reported and taken over; a lock of another host is never taken over
  (its process cannot be checked).
* **Workers too.**  Once a run has started its worker processes it records their pids in the
  lock (:meth:`Lock.record_workers`).  Workers die with their run (:mod:`cpdi.batch`), but a
  takeover still waits until none of the dead run's workers runs — up to
  ``WORKERS_WAIT_SECONDS`` — and otherwise refuses in one line naming them: a worker that
  outlived its run could rename a workbook over the new run's.  A zombie (a process that ended
  but was not reaped) counts as ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cpdi import __version__
from cpdi.batch.errors import FolderLocked, OutputError, reason
from cpdi.batch.manifest import is_int
from cpdi.writers.atomic import atomic_text, pid_alive

LOCK = ".cpdi-lock"
UNREADABLE_LOCK_STALE_SECONDS = 60.0  # a lock file without a readable owner, older than this
WORKERS_WAIT_SECONDS = 10.0  # a takeover waits this long for a dead run's workers to end


@dataclass(eq=False)
class Lock:
    path: Path
    text: str

    def release(self) -> None:
        _HELD.discard(self)
        with contextlib.suppress(OSError):
            if self.path.read_text(encoding="utf-8") == self.text:
                self.path.unlink()

    def record_workers(self, pids) -> None:
        """Add the run's worker processes to the lock (replaced atomically), so a takeover after
        the run is killed can wait for them.  Best effort: if the lock cannot be rewritten (a
        full disk) the workers still die with the run."""
        owner = json.loads(self.text)
        owner["workers"] = [[pid, _process_start(pid)] for pid in sorted(pids)]
        text = json.dumps(owner, sort_keys=True) + "\n"
        try:
            with atomic_text(self.path) as handle:
                handle.write(text)
        except OSError:
            return
        self.text = text


_HELD: set[Lock] = set()  # the locks this process holds (a second run in it is refused too)


def _process_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (Linux), from the state on."""
    try:
        data = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    return data.rsplit(")", 1)[-1].split()


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot), to tell a reused pid."""
    fields = _process_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else None


def _process_runs(pid: int, recorded_start) -> bool:
    """Whether process ``pid`` runs (a zombie — ended, not yet reaped — does not:
    :func:`~cpdi.writers.atomic.pid_alive`) and is the one recorded (same start, where it can be
    told)."""
    if not pid_alive(pid):
        return False
    now = _process_start(pid) if recorded_start is not None else None
    return now is None or now == recorded_start


def _live_workers(owner: dict) -> list[int]:
    """The recorded worker processes of a lock's run that still run."""
    workers = owner.get("workers")
    if not isinstance(workers, list):
        return []
    live = []
    for worker in workers:
        if (isinstance(worker, list) and len(worker) == 2 and is_int(worker[0])
                and (worker[1] is None or isinstance(worker[1], str)) and worker[0] != os.getpid()
                and _process_runs(worker[0], worker[1])):
            live.append(worker[0])
    return live


def _wait_for_workers(owner: dict) -> list[int]:
    """Wait, up to ``WORKERS_WAIT_SECONDS``, until no recorded worker of a dead run runs;
    return those still running."""
    deadline = time.monotonic() + WORKERS_WAIT_SECONDS
    live = _live_workers(owner)
    while live and time.monotonic() < deadline:
        time.sleep(0.05)
        live = _live_workers(owner)
    return live


def _lock_owner(text: str) -> dict | None:
    try:
        owner = json.loads(text)
    except ValueError:
        return None
    if not isinstance(owner, dict) or not is_int(owner.get("pid")) or not isinstance(owner.get("host"), str):
        return None
    return owner


def _owner_runs(owner: dict, path: Path) -> bool | None:
    """Whether the lock's process still runs; ``None`` when it is on another host."""
    if owner["host"] != socket.gethostname():
        return None
    pid = owner["pid"]
    if pid == os.getpid():  # this process: a run in progress here, or an earlier process's pid
        return any(os.path.realpath(lock.path) == os.path.realpath(path) for lock in _HELD)
    recorded = owner.get("pid_start")
    # not running: gone, a zombie, or the pid reused by another process
    return _process_runs(pid, recorded if isinstance(recorded, str) else None)


def _remove_stale_lock(path: Path, seen: str) -> bool:
    """Remove the stale lock file whose text was ``seen``; if another run replaced it meanwhile,
    put that one back."""
    grave = path.with_name(f"{LOCK}.{os.getpid()}.stale")
    try:
        os.replace(path, grave)
    except FileNotFoundError:
        return False
    try:
        if grave.read_text(encoding="utf-8", errors="replace") != seen:
            try:
                os.link(grave, path)
            except FileExistsError:
                pass
            except OSError:
                if not path.exists():
                    os.replace(grave, path)
            return False
        return True
    finally:
        with contextlib.suppress(OSError):
            grave.unlink()


def take_lock(out_dir: Path) -> tuple[Lock, str | None]:
    """Lock ``out_dir`` for this run; also say what stale lock was taken over, if any."""
    path = out_dir / LOCK
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "cpdi": __version__,
             "started": datetime.now().astimezone().isoformat(timespec="seconds")}
    start = _process_start(os.getpid())
    if start is not None:
        owner["pid_start"] = start
    text = json.dumps(owner, sort_keys=True) + "\n"
    taken_over = None
    for _ in range(20):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                seen = path.read_text(encoding="utf-8", errors="replace")
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue
            other = _lock_owner(seen)
            if other is None:
                if age < UNREADABLE_LOCK_STALE_SECONDS:
                    raise FolderLocked(f"{out_dir} is being locked by another run ({path} is being "
                                       f"written); try again in a minute") from None
                what = f"an unreadable lock {path} ({age:.0f} s old)"
            else:
                runs = _owner_runs(other, path)
                since = f", started {other['started']}" if isinstance(other.get("started"), str) else ""
                if runs is None:
                    raise FolderLocked(
                        f"{out_dir} is in use by a cpdi run on host {other['host']} (pid {other['pid']}"
                        f"{since}); if that run is over, remove {path}") from None
                if runs:
                    raise FolderLocked(
                        f"{out_dir} is in use by another cpdi workpapers run (pid {other['pid']}{since}); "
                        f"wait for it to finish: two runs must not write one folder") from None
                live = _wait_for_workers(other)
                if live:
                    raise FolderLocked(
                        f"{out_dir}: the cpdi run pid {other['pid']}{since} is no longer running but "
                        f"its worker process(es) {', '.join(map(str, live))} still are, and could still "
                        f"write into the folder; end them (kill {' '.join(map(str, live))}) or wait, "
                        f"then run again") from None
                what = f"the lock of run pid {other['pid']}{since}, which is no longer running"
            if _remove_stale_lock(path, seen):
                taken_over = what
            continue
        try:
            os.write(fd, text.encode("utf-8"))
        except OSError as error:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise OutputError(f"cannot write {path}: {reason(error)}", error.errno) from error
        os.close(fd)
        lock = Lock(path, text)
        _HELD.add(lock)
        return lock, taken_over
    raise FolderLocked(f"cannot lock {out_dir}: other runs keep taking {path}")

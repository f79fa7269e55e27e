"""Progress for long runs: a one-line bar with count, rate and ETA on a terminal; plain periodic
lines when not a terminal (CI, logs); nothing when quiet.

Small enough that a progress-bar dependency would not earn its place."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, total: int, label: str = "holders", quiet: bool = False, stream=None,
                 interval: float | None = None):
        self.total = total
        self.label = label
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.interval = interval if interval is not None else (0.2 if self.tty else 10.0)
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self._last = self.started

    def advance(self, ok: bool = True) -> None:
        self.done += 1
        if not ok:
            self.failed += 1
        now = time.monotonic()
        if now - self._last >= self.interval or self.done == self.total:
            self._last = now
            self._show(now)

    def _line(self, now: float) -> str:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = (self.total - self.done) / rate if rate > 0 else float("inf")
        eta = "--:--" if left == float("inf") else f"{int(left // 60):02d}:{int(left % 60):02d}"
        failed = f", {self.failed} failed" if self.failed else ""
        return (f"{self.done:,}/{self.total:,} {self.label} ({rate:,.1f}/s, ETA {eta}{failed})")

    def _show(self, now: float) -> None:
        if self.quiet:
            return
        line = self._line(now)
        if self.tty:
            width = 24
            filled = int(width * self.done / self.total) if self.total else width
            self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {line}\x1b[K")
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and not self.quiet and self.done != self.total:
            self.stream.write("\n")
            self.stream.flush()

"""Progress of long jobs (collectstatic, copying between storages), shared by the commands.

On a terminal it redraws one live line (files, bytes, rate, time left, failures); otherwise
it prints a line every ``every`` files and a summary at the end; at verbosity 0 it prints
nothing. Thread-safe: workers call :meth:`Progress.advance`.
"""

from __future__ import annotations

import threading
import time
from typing import Any, TextIO

__all__ = ["Progress", "CommandOutput", "human_bytes", "human_duration"]


class CommandOutput:
    """A management command's stdout (Django's OutputWrapper) as a plain text stream: it adds
    no line ending of its own, so a live progress line can redraw in place."""

    def __init__(self, out: Any) -> None:
        self.out = out

    def write(self, text: str) -> None:
        self.out.write(text, ending="")

    def flush(self) -> None:
        self.out.flush()

    def isatty(self) -> bool:
        return bool(self.out.isatty())


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def human_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Counts files and bytes done (and failed) against optional totals."""

    def __init__(
        self,
        stream: TextIO | Any,
        label: str,
        *,
        total_files: int | None = None,
        total_bytes: int | None = None,
        verbosity: int = 1,
        every: int = 1000,
        interval: float = 0.2,
        live: bool | None = None,
    ) -> None:
        self.stream = stream
        self.label = label
        self.total_files = total_files
        self.total_bytes = total_bytes
        self.verbosity = verbosity
        self.every = max(1, every)
        self.interval = interval
        isatty = getattr(stream, "isatty", None)
        self.live = bool(isatty and isatty()) if live is None else live
        self.files = self.bytes = self.failed = self.skipped = 0
        self.started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()

    def advance(
        self, files: int = 1, nbytes: int = 0, *, failed: int = 0, skipped: int = 0
    ) -> None:
        with self._lock:
            self.files += files
            self.bytes += nbytes
            self.failed += failed
            self.skipped += skipped
            if self.verbosity <= 0:
                return
            now = time.monotonic()
            if self.live and now - self._drawn >= self.interval:
                self._drawn = now
                self.stream.write("\r\x1b[2K" + self.line())
                self.stream.flush()
            elif not self.live and self.files and self.files % self.every == 0 and files:
                self.stream.write(self.line() + "\n")

    def line(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        done = (
            f"{self.files}/{self.total_files}" if self.total_files is not None else str(self.files)
        )
        size = human_bytes(self.bytes) + (
            f"/{human_bytes(self.total_bytes)}" if self.total_bytes else ""
        )
        parts = [f"{self.label}: {done} files", size, f"{human_bytes(self.bytes / elapsed)}/s"]
        left = self._remaining(elapsed)
        if left is not None:
            parts.append(f"{human_duration(left)} left")
        if self.skipped:
            parts.append(f"{self.skipped} skipped")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return ", ".join(parts)

    def _remaining(self, elapsed: float) -> float | None:
        if self.total_bytes and self.bytes:
            return elapsed * (self.total_bytes - self.bytes) / self.bytes
        if self.total_files and self.files:
            return elapsed * (self.total_files - self.files) / self.files
        return None

    def finish(self, summary: str | None = None) -> None:
        """Print the final line (the summary, or the counts) unless verbosity is 0."""
        if self.verbosity <= 0:
            return
        text = summary or f"{self.line()} in {human_duration(time.monotonic() - self.started)}"
        self.stream.write(("\r\x1b[2K" if self.live else "") + text + "\n")
        self.stream.flush()

"""Ctrl-C and SIGTERM end the package's commands the same way.

SIGTERM is what ``docker stop``, Kubernetes and systemd send before they kill a process; with
Python's default it ends the process on the spot, leaving an S3 multipart upload, Azure blocks or
a temporary file on a file server behind. While a command runs inside :class:`Interruption`:

* SIGINT and SIGTERM (handlers installed in the main thread only, the previous ones restored on
  exit) stop every upload in flight at its next read
  (:func:`storages.transfer.stop_uploads`), so each SDK abandons it as on any error (S3 aborts
  the multipart upload, GCS cancels the resumable session, Azure's uncommitted blocks and the
  file servers' temporary file are removed);
* then ``on_signal(signum)`` is called, or ``KeyboardInterrupt`` is raised in the main thread;
* the command reports what was done and exits with :attr:`Interruption.exit_status`: 130 after
  Ctrl-C, 143 after SIGTERM (128 + the signal number, as a shell reports a killed process).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any

from storages.transfer import stop_uploads, stoppable_uploads

__all__ = ["Interruption", "EXIT_STATUS"]

#: Exit status of a command stopped by each signal.
EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
SIGNAL_NAMES = {signal.SIGINT: "Ctrl-C (SIGINT)", signal.SIGTERM: "SIGTERM"}


class Interruption:
    """The command's stop signals, while inside ``with Interruption(...)``."""

    def __init__(self, on_signal: Callable[[int], None] | None = None) -> None:
        self.on_signal = on_signal
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._scope = stoppable_uploads()

    @property
    def interrupted(self) -> bool:
        return self.signum is not None

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS.get(self.signum, 128 + (self.signum or 2))  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        return SIGNAL_NAMES.get(self.signum, f"signal {self.signum}")  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: Any) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        stop_uploads()
        if self.on_signal is not None:
            if first:
                self.on_signal(signum)
            return
        raise KeyboardInterrupt

    def __enter__(self) -> Interruption:
        self._scope.__enter__()
        if threading.current_thread() is threading.main_thread():
            for signum in EXIT_STATUS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()
        self._scope.__exit__(*exc)

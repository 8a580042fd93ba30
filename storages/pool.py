"""One connection pool for session-based protocols (SFTP, FTP).

A session (an SFTP channel, a logged-in FTP connection) serves one thread at a
time. Idle sessions are reused after a liveness check; at most ``max_size``
exist at once (more callers wait for one to come back); handshakes are made
one at a time, and callers queued behind a handshake that failed get its error
at once instead of waiting a timeout each. :meth:`SessionPool.run` retries an
operation once when a *reused* session turns out to be broken (the server
closed it while it was idle); a fresh session's failure is reported as is, and an
interrupt (``KeyboardInterrupt``, ``SystemExit``, cancellation) is never retried.
"""

from __future__ import annotations

import copy
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

logger = logging.getLogger(__name__)

#: A timeout is never retried (``socket.timeout`` is ``TimeoutError`` from Python 3.10 on).
_TIMEOUTS = (TimeoutError, socket.timeout)

__all__ = ["SessionPool", "ServerBusy"]

S = TypeVar("S")


class ServerBusy(Exception):
    """Raised by ``connect`` when the server allows no more sessions right now: wait for one of
    ours."""


class SessionPool(Generic[S]):
    """Sessions made by ``connect()``, checked by ``alive(session)``, ended by
    ``close(session)``."""

    def __init__(
        self,
        connect: Callable[[], S],
        *,
        alive: Callable[[S], bool],
        close: Callable[[S], None],
        max_size: int = 32,
        max_idle: int = 8,
        timeout: float = 30.0,
    ) -> None:
        self._connect, self._alive, self._close = connect, alive, close
        self.max_size, self.max_idle, self.timeout = max_size, max_idle, timeout
        self._cond = threading.Condition()
        # One handshake at a time (sshd's MaxStartups, FTP connection limits).
        self._handshake = threading.Lock()
        self._idle: list[S] = []
        self._out = 0  # sessions handed out, or being made
        self._failure: tuple[float, Exception] | None = None

    def _take_idle(self) -> S | None:
        # Called with self._cond held.
        while self._idle:
            session = self._idle.pop()
            if self._alive(session):
                self._out += 1
                return session
            self._end(session)
        return None

    def acquire(self) -> tuple[S, bool]:
        """A session and whether it is new (``False``: reused from the idle list)."""
        asked = time.monotonic()
        deadline = asked + self.timeout
        with self._cond:
            while True:
                session = self._take_idle()
                if session is not None:
                    return session, False
                if self._out < self.max_size:
                    self._out += 1
                    break
                if not self._cond.wait(max(0.0, deadline - time.monotonic())):
                    raise TimeoutError(
                        f"no session came back within {self.timeout:.0f} s ({self.max_size} in use)"
                    )
        try:
            return self._new(asked, deadline)
        except BaseException:
            with self._cond:
                self._out -= 1
                self._cond.notify()
            raise

    def _new(self, asked: float, deadline: float) -> tuple[S, bool]:
        while True:
            with self._handshake:
                with self._cond:  # one may have come back while this thread waited for the lock
                    session = self._take_idle()
                    if session is not None:
                        self._out -= 1  # _take_idle counted it again
                        return session, False
                failed = self._failure
                if failed is not None and failed[0] >= asked:
                    raise copy.copy(failed[1]).with_traceback(None)
                try:
                    session = self._connect()
                    self._failure = None
                    return session, True
                except ServerBusy:
                    pass
                except Exception as exc:  # an interrupt is this thread's, not the server's answer
                    self._failure = (time.monotonic(), exc)
                    raise
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"the server allowed no more connections for {self.timeout:.0f} s"
                )
            logger.debug("the server allows no more connections; waiting for one of ours")
            with self._cond:  # woken when one of ours comes back; others' sessions may free up too
                self._cond.wait(min(remaining, 0.5 if self._out <= 1 else remaining))

    def release(self, session: S) -> None:
        """Give a healthy session back."""
        with self._cond:
            self._out -= 1
            self._cond.notify()
            if len(self._idle) < self.max_idle:
                self._idle.append(session)
                return
        self._end(session)

    def discard(self, session: S) -> None:
        """Drop a broken session."""
        with self._cond:
            self._out -= 1
            self._cond.notify()
        self._end(session)

    def _end(self, session: S) -> None:
        try:
            self._close(session)
        except Exception:  # pragma: no cover - closing a broken session
            pass

    def run(
        self,
        fn: Callable[[S], Any],
        *,
        broken: Callable[[S, BaseException], bool],
        retry: Callable[[], bool] = lambda: True,
        keep: bool = False,
    ) -> Any:
        """``fn(session)`` on a pooled session. ``broken(session, exc)`` says whether an error left
        the session unusable; a reused one is then replaced and ``fn`` retried once if ``retry()``
        allows. With ``keep`` the result is ``(value, session)`` and the caller releases the
        session."""
        for attempt in (1, 2):
            session, fresh = self.acquire()
            try:
                value = fn(session)
            except BaseException as exc:
                if not isinstance(exc, Exception):
                    # KeyboardInterrupt, SystemExit, GeneratorExit, asyncio.CancelledError: stop,
                    # never retry. The session stopped mid-operation (a half-sent file, a reply
                    # still pending): it can't be handed out again.
                    self.discard(session)
                    raise
                if not broken(session, exc):
                    self.release(session)
                    raise
                self.discard(session)
                if fresh or attempt == 2 or isinstance(exc, _TIMEOUTS) or not retry():
                    raise
                logger.debug(
                    "a pooled session was dropped (%s); retrying on a new one", type(exc).__name__
                )
                continue
            if keep:
                return value, session
            self.release(session)
            return value
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Close the idle sessions (those in use are closed when they come back)."""
        with self._cond:
            idle, self._idle = self._idle, []
            self.max_idle = 0  # sessions still out are closed on release
        for session in idle:
            self._end(session)

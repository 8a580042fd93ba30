"""The one place that reaches into paramiko: a pipelined read of an SFTP file in bounded memory.

paramiko's public read paths either wait one round trip per 32 KiB request
(``SFTPFile.read``, about 6 MB/s on loopback) or keep every reply they receive
until it is read (``prefetch`` / ``readv``: a large file ends up in memory).
:class:`PipelinedReader` keeps ``depth`` READ requests in flight and holds at
most that many replies, using the request plumbing ``SFTPFile`` itself uses:
``SFTPClient._async_request``, ``SFTPClient._read_response``,
``SFTPClient._convert_status``, the ``_async_response`` callback and
``SFTPFile.handle``. ``INTERNALS`` lists them; the SFTP test suite checks
them against the installed paramiko and fails loudly if a release changes
them (pyproject.toml caps paramiko below its next major version).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

import paramiko
from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, int64

__all__ = ["PipelinedReader", "INTERNALS"]

#: What this module uses of paramiko beyond its public API: (object, attribute, parameters).
INTERNALS = (
    (paramiko.SFTPClient, "_async_request", ("self", "fileobj", "t", "args")),
    (paramiko.SFTPClient, "_read_response", ("self", "waitfor")),
    (paramiko.SFTPClient, "_convert_status", ("self", "msg")),
    (paramiko.SFTPFile, "_async_response", ("self", "t", "msg", "num")),
)

REQUEST = 32 * 1024  # what every server accepts
DEPTH = 64  # requests in flight: 2 MiB


class PipelinedReader:
    """Bytes ``[offset, end)`` of a remote file, ``depth`` READs in flight.

    ``open_file()`` returns ``(sftp_client, sftp_file, done)``; ``done(broken)``
    is called once when the reader has finished with the client (at the end,
    on ``close()`` or after an error). ``on_error(exc)`` turns an SDK error
    into the exception to raise.
    """

    def __init__(
        self,
        open_file: Callable[[], tuple[Any, Any, Callable[[bool], None]]],
        offset: int,
        end: int,
        on_error: Callable[[BaseException], BaseException],
        depth: int = DEPTH,
    ) -> None:
        self._open_file, self._on_error, self._depth = open_file, on_error, depth
        self.pos = self._next = offset
        self.end = end
        self._inflight: deque[tuple[int, int, int]] = deque()  # (request number, offset, length)
        self._replies: dict[int, tuple[int, Any]] = {}
        self._buffer = memoryview(b"")
        self._sftp: Any = None
        self._file: Any = None
        self._done: Callable[[bool], None] | None = None

    def read(self, n: int = -1) -> bytes:
        if not self._buffer and (self.pos >= self.end or not self._fill()):
            self.close()
            return b""
        n = len(self._buffer) if n is None or n < 0 else n
        chunk, self._buffer = bytes(self._buffer[:n]), self._buffer[n:]
        self.pos += len(chunk)
        if self.pos >= self.end and not self._buffer:
            self.close()  # the whole range was read: give the session back now
        return chunk

    def _async_response(self, t: int, msg: Any, num: int) -> None:
        """paramiko hands over the reply to each request this reader made."""
        self._replies[num] = (t, msg)

    def _fill(self) -> bool:
        try:
            if self._sftp is None:
                self._sftp, self._file, self._done = self._open_file()
            while len(self._inflight) < self._depth and self._next < self.end:
                length = min(REQUEST, self.end - self._next)
                self._ask(self._next, length)
                self._next += length
            while self._inflight:
                num, offset, length = self._inflight.popleft()
                t, msg = self._reply(num)
                if t == CMD_STATUS:
                    try:
                        self._sftp._convert_status(msg)
                    except EOFError:  # the file is shorter than it was at open()
                        self.end = min(self.end, offset)
                        self._inflight.clear()
                    continue
                if t != CMD_DATA:
                    raise paramiko.SFTPError(f"expected data, got reply type {t}")
                data = msg.get_string()
                if 0 < len(data) < length:  # a short read: ask for the rest before anything later
                    self._ask(offset + len(data), length - len(data), first=True)
                if data:
                    self._buffer = memoryview(data)
                    return True
            return False
        except Exception as exc:
            error = self._on_error(exc)  # while the session can still be looked at
            self._finish(broken=True)
            raise error from exc

    def _ask(self, offset: int, length: int, first: bool = False) -> None:
        num = self._sftp._async_request(
            self, CMD_READ, self._file.handle, int64(offset), int(length)
        )
        (self._inflight.appendleft if first else self._inflight.append)((num, offset, length))

    def _reply(self, num: int) -> tuple[int, Any]:
        while num not in self._replies:
            self._sftp._read_response()  # reads one reply and hands it to whoever asked
        return self._replies.pop(num)

    def _finish(self, broken: bool) -> None:
        done, self._done = self._done, None
        if done is None:
            return
        if not broken:
            try:
                # Replies still on their way must not reach the session's next user.
                while self._inflight:
                    self._reply(self._inflight.popleft()[0])
                self._file.close()
            except Exception:
                broken = True
        self._replies.clear()
        self._buffer = memoryview(b"")
        done(broken)

    def close(self) -> None:
        self._finish(broken=False)

    def __del__(self) -> None:
        if self._done is not None:
            try:
                self._finish(broken=False)
            except Exception:  # pragma: no cover - best effort at garbage collection
                pass

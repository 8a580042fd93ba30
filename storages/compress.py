"""Streaming gzip, shared by every backend that compresses uploads."""

from __future__ import annotations

import gzip
import io
import zlib
from typing import IO

__all__ = ["GzipCompressionWrapper", "gzip_reader"]


class GzipCompressionWrapper(io.RawIOBase):
    """A readable stream of the gzip-compressed bytes of ``raw``.

    Compresses while it is read, so uploads never hold the whole compressed
    body in memory.
    """

    def __init__(self, raw: IO[bytes], level: int = 9, chunk_size: int = 64 * 1024) -> None:
        super().__init__()
        self.raw = raw
        self.chunk_size = chunk_size
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
        self._pending = bytearray()
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        size = len(buffer)
        while len(self._pending) < size and not self._done:
            chunk = self.raw.read(self.chunk_size)
            if isinstance(chunk, str):
                chunk = chunk.encode("utf-8")
            if chunk:
                self._pending += self._compressor.compress(chunk)
            else:
                self._pending += self._compressor.flush()
                self._done = True
        n = min(size, len(self._pending))
        buffer[:n] = self._pending[:n]
        del self._pending[:n]
        return n


def gzip_reader(raw: IO[bytes]) -> IO[bytes]:
    """Wrap a readable stream of gzip bytes so that reads return plain bytes."""
    return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]

"""Streaming gzip, shared by every backend: compress uploads, decompress reads.

``GzipWriter`` compresses what ``save()`` / ``open("wb")`` write; ``GzipReader``
decompresses gzip-encoded objects on read; ``GzipCompressionWrapper`` (a readable
stream of compressed bytes) is kept for code that imports it.
"""

from __future__ import annotations

import gzip
import io
import zlib
from typing import IO, Any

__all__ = [
    "GzipCompressionWrapper",
    "GzipWriter",
    "GzipReader",
    "CompressStorageMixin",
    "CompressedFileMixin",
]


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


class GzipWriter:
    """Compresses what is written into another writer (streaming, one chunk at a time).

    ``close()`` writes the gzip trailer and commits the inner writer;
    ``abort()`` discards it. ``bytes_written`` counts uncompressed bytes.
    """

    def __init__(self, inner: Any, level: int = 9) -> None:
        self.inner = inner
        self._z = zlib.compressobj(level, zlib.DEFLATED, 31)
        self.bytes_written = 0
        self.closed = False

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        data = bytes(data)
        self.bytes_written += len(data)
        out = self._z.compress(data)
        if out:
            self.inner.write(out)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        if self.closed:
            return
        self.inner.write(self._z.flush())
        self.closed = True
        self.inner.close()

    def abort(self) -> None:
        self.closed = True
        self.inner.abort()


class GzipReader(io.RawIOBase):
    """Reads the plain bytes of a gzip stream (transparent reads of gzip-encoded objects)."""

    def __init__(self, stream: IO[bytes]) -> None:
        super().__init__()
        self._gz = gzip.GzipFile(fileobj=stream, mode="rb")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        data = self._gz.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._gz.seek(offset, whence)

    def tell(self) -> int:
        return self._gz.tell()


class CompressStorageMixin:
    """Kept for code written against 1.14: ``_compress_content(content)`` gives a streaming
    gzip reader of ``content`` (the storages gzip uploads through the core themselves)."""

    def _compress_content(self, content: Any) -> GzipCompressionWrapper:
        return GzipCompressionWrapper(getattr(content, "file", content))


class CompressedFileMixin:
    """Kept for code written against 1.14: ``_decompress_file(mode, file, mtime=0.0)`` wraps a
    gzip stream in ``gzip.GzipFile`` for reading."""

    def _decompress_file(self, mode: str, file: IO[bytes], mtime: float = 0.0) -> gzip.GzipFile:
        return gzip.GzipFile(mode=mode, fileobj=file, mtime=mtime)

"""Test data and probes shared by the conformance suite and backend tests."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager


class PatternFile(io.RawIOBase):
    """``size`` deterministic bytes, produced on read: big files without big memory."""

    def __init__(self, size: int, seed: int = 0) -> None:
        super().__init__()
        self.size = size
        self._pos = 0
        block = hashlib.sha256(str(seed).encode()).digest() * 2048  # 64 KiB
        self._block = block

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self._pos = (
            offset if whence == 0 else (self._pos + offset if whence == 1 else self.size + offset)
        )
        return self._pos

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(len(buffer), self.size - self._pos)
        if n <= 0:
            return 0
        start = self._pos % len(self._block)
        view, done = memoryview(buffer).cast("B"), 0
        while done < n:  # straight into the caller's buffer: the source holds nothing itself
            take = min(n - done, len(self._block) - start)
            view[done : done + take] = self._block[start : start + take]
            done += take
            start = 0
        self._pos += n
        return n

    def digest(self) -> str:
        self.seek(0)
        h = hashlib.sha256()
        for chunk in iter(lambda: self.read(1024 * 1024), b""):
            h.update(chunk)
        self.seek(0)
        return h.hexdigest()

    def write_to(self, path: str | os.PathLike[str]) -> None:
        """The whole pattern into the file ``path`` (a source on disk for benchmarks)."""
        self.seek(0)
        with open(path, "wb") as out:
            for chunk in iter(lambda: self.read(1024 * 1024), b""):
                out.write(chunk)
        self.seek(0)


def sha256_of(chunks) -> str:
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


@contextmanager
def peak_memory() -> Iterator[dict[str, int]]:
    """Peak Python heap growth (bytes) inside the block, via tracemalloc."""
    result = {"peak": 0}
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    try:
        yield result
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["peak"] = peak - base


def fetch(
    url: str, method: str = "GET", data: bytes | None = None, context=None
) -> tuple[int, bytes]:
    """Fetch a URL the way a browser would (plain HTTP client, no SDK)."""
    req = urllib.request.Request(url, method=method, data=data)
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:  # noqa: S310
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()

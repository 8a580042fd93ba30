"""Memory: a large file saved, read and written within the bounds the docs promise.

Each direction is held to its one setting: a read to the read-ahead window (``read_ahead``:
``(concurrency + 1) x part_size``), ``save()`` and ``open("wb")`` to the write buffer
(``write_buffer``: ``(concurrency + 2) x part_size``), with the storage's own settings, plus
:data:`SLACK` for what the SDK and the interpreter hold beside the file's bytes. Memory is
Python's heap as tracemalloc sees it (every thread, no timing involved); a storage that is not
built on ``storages.base.BaseStorage`` (a plain Django storage joining the suite) declares no
bound and is held to :data:`FLAT_LIMIT`.
"""

from __future__ import annotations

from typing import Any

from django.core.files.base import File

from storages.testing.config import MB, ConformanceBase
from storages.testing.helpers import PatternFile, peak_memory, sha256_of

__all__ = ["BoundedMemoryConformance", "FLAT_LIMIT", "SLACK", "read_limit", "write_limit"]

#: What an SDK and the interpreter hold beside the file's bytes (request and reply objects,
#: parsers, TLS buffers, the 1 MiB chunks the test reads and writes).
SLACK = 8 * MB
#: The limit of a storage that declares no bound.
FLAT_LIMIT = 50 * MB


def read_limit(storage: Any) -> int:
    """What a read may hold: the storage's ``read_bound()`` (the read-ahead window) plus SLACK."""
    bound = getattr(storage, "read_bound", None)
    return FLAT_LIMIT if bound is None else bound() + SLACK


def write_limit(storage: Any) -> int:
    """What ``save()`` and ``open("wb")`` may hold: the write buffer's bound plus SLACK."""
    buffer = getattr(storage, "effective_write_buffer", None)
    return FLAT_LIMIT if buffer is None else buffer.bound + SLACK


class BoundedMemoryConformance(ConformanceBase):
    """``Capabilities.large_size`` bytes (100 MB unless declared) through ``save()``,
    ``open("rb").chunks()`` and ``open("wb").write()``, each within its documented bound."""

    def test_large_file_bounded_memory(self, storage) -> None:
        size = self.capabilities.large_size
        source = PatternFile(size, seed=7)
        expected = source.digest()
        # the client is made (SDK models loaded, credentials read) before anything is measured
        storage.exists("big/large.bin")
        with peak_memory() as saved:
            name = storage.save("big/large.bin", File(source, name="large.bin"))
        with peak_memory() as read, storage.open(name, "rb") as f:
            got = sha256_of(f.chunks(1024 * 1024))
        assert got == expected
        with peak_memory() as written, storage.open("big/written.bin", "wb") as f:
            source.seek(0)
            for chunk in iter(lambda: source.read(3 * MB + 17), b""):
                f.write(chunk)
        with storage.open("big/written.bin", "rb") as f:
            assert sha256_of(f.chunks(MB)) == expected
        assert storage.size(name) == size
        writes, reads = write_limit(storage), read_limit(storage)
        assert saved["peak"] < writes, (
            f"save() peaked at {saved['peak'] / MB:.1f} MB; write_buffer allows "
            f"{(writes - SLACK) / MB:.1f} MB (+{SLACK // MB} MB slack)"
        )
        assert written["peak"] < writes, (
            f"open('wb') peaked at {written['peak'] / MB:.1f} MB; write_buffer allows "
            f"{(writes - SLACK) / MB:.1f} MB (+{SLACK // MB} MB slack)"
        )
        assert read["peak"] < reads, (
            f"read peaked at {read['peak'] / MB:.1f} MB; read_ahead allows "
            f"{(reads - SLACK) / MB:.1f} MB (+{SLACK // MB} MB slack)"
        )

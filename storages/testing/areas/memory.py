"""Memory: a large file saved, read and written with bounded Python memory."""

from __future__ import annotations

from django.core.files.base import File

from storages.testing.config import MB, ConformanceBase
from storages.testing.helpers import PatternFile, peak_memory, sha256_of


class BoundedMemoryConformance(ConformanceBase):
    """``Capabilities.large_size`` bytes (100 MB unless declared) through ``save()``,
    ``open("rb").chunks()`` and ``open("wb").write()``, each under 50 MB of Python heap."""

    def test_large_file_bounded_memory(self, storage) -> None:
        size = self.capabilities.large_size
        source = PatternFile(size, seed=7)
        expected = source.digest()
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
        limit = 50 * MB
        assert saved["peak"] < limit, f"save() peaked at {saved['peak'] / MB:.1f} MB"
        assert read["peak"] < limit, f"read peaked at {read['peak'] / MB:.1f} MB"
        assert written["peak"] < limit, f"open('wb') peaked at {written['peak'] / MB:.1f} MB"

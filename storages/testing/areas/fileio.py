"""I/O: save, open and read in every mode, writes, seeks, delete, threads, pickling."""

from __future__ import annotations

import io
import pickle
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.files.base import ContentFile, File
from django.utils.module_loading import import_string

from storages.testing.config import MB, ConformanceBase, needs


class IOConformance(ConformanceBase):
    """Bytes go in and come back out, through every public way Django offers."""

    @pytest.mark.parametrize(
        "content,expected",
        [
            (ContentFile(b"bytes content"), b"bytes content"),
            (ContentFile("text content \u00e9"), "text content \u00e9".encode()),
            (File(io.BytesIO(b"file object"), name="ignored.bin"), b"file object"),
            (io.BytesIO(b"unnamed file-like"), b"unnamed file-like"),
            (ContentFile(b""), b""),
        ],
        ids=["bytes", "text", "File", "unnamed", "empty"],
    )
    def test_save_and_read_back(self, storage, content, expected) -> None:
        name = storage.save("docs/item.bin", content)
        assert name.startswith("docs/item")
        with storage.open(name, "rb") as f:
            assert f.read() == expected
        assert storage.size(name) == len(expected)

    def test_text_and_binary_modes(self, storage) -> None:
        name = storage.save("modes.txt", ContentFile("héllo\nwörld\n".encode()))
        with storage.open(name, "r") as f:
            text = f.read()
        with storage.open(name, "rb") as f:
            data = f.read()
        assert text == "héllo\nwörld\n" and isinstance(text, str)
        assert data == "héllo\nwörld\n".encode() and isinstance(data, bytes)

    @pytest.mark.parametrize("mode", ["w", "wb"])
    def test_open_for_writing_keeps_every_write(self, storage, mode) -> None:
        parts = ["first ", "second ", "third"]
        with storage.open(f"written-{mode}.txt", mode) as f:
            for part in parts:
                f.write(part if mode == "w" else part.encode())
        with storage.open(f"written-{mode}.txt", "rb") as f:
            assert f.read() == b"first second third"

    @needs("discards_aborted_writes")
    def test_write_error_inside_with_stores_nothing(self, storage) -> None:
        with pytest.raises(RuntimeError), storage.open("aborted.txt", "wb") as f:
            f.write(b"half")
            raise RuntimeError("boom")
        assert not storage.exists("aborted.txt")

    @needs("discards_aborted_writes")
    def test_aborted_streaming_write_stores_nothing(self, storage) -> None:
        """Past ``streaming_threshold`` open("wb") streams to the provider while the caller
        writes; an exception inside ``with`` must make it discard what it had sent."""
        storage.save("streamed.bin", ContentFile(b"old"))
        chunk = b"z" * MB
        with pytest.raises(RuntimeError), storage.open("streamed.bin", "wb") as f:
            for _ in range(self.capabilities.streaming_threshold // MB + 2):
                f.write(chunk)
            raise RuntimeError("boom")
        assert storage.open("streamed.bin").read() == b"old"
        assert storage.listdir("")[1] == ["streamed.bin"]

    def test_seek_and_partial_reads(self, storage) -> None:
        payload = bytes(range(256)) * 64
        name = storage.save("seek.bin", ContentFile(payload))
        with storage.open(name, "rb") as f:
            assert f.read(10) == payload[:10]
            f.seek(1000)
            assert f.read(5) == payload[1000:1005]
            f.seek(-6, io.SEEK_END)
            assert f.read() == payload[-6:]
            f.seek(0)
            assert f.read() == payload

    def test_delete(self, storage) -> None:
        name = storage.save("to-delete.txt", ContentFile(b"x"))
        storage.delete(name)
        assert not storage.exists(name)
        storage.delete(name)  # missing: not an error
        storage.delete("never-existed/at-all.txt")

    def test_threads_share_one_storage(self, storage) -> None:
        def work(i: int) -> bytes:
            name = storage.save(f"threads/{i}.txt", ContentFile(f"thread {i}".encode()))
            assert storage.exists(name)
            with storage.open(name) as f:
                data = f.read()
            storage.delete(name)
            assert not storage.exists(name)
            return data

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(work, range(16)))
        assert results == [f"thread {i}".encode() for i in range(16)]

    def test_pickle_storage(self, storage) -> None:
        name = storage.save("pickled.txt", ContentFile(b"p"))
        clone = pickle.loads(pickle.dumps(storage))
        assert clone.open(name).read() == b"p"
        assert clone.exists(name)

    def test_deconstruct_has_no_secret(self, storage, storage_config) -> None:
        path, args, kwargs = storage.deconstruct()
        assert import_string(path) is type(storage)
        text = repr((path, args, kwargs)) + repr(storage)
        for secret in storage_config.secrets:
            assert secret not in text
        # what a migration records rebuilds the same kind of storage
        assert type(import_string(path)(*args, **kwargs)) is type(storage)

    def test_storage_walkthrough(self, as_default_storage) -> None:
        from django.core.files.storage import default_storage

        assert default_storage.exists("storage_test") is False
        file = default_storage.open("storage_test", "w")
        file.write("storage contents")
        file.close()
        assert default_storage.exists("storage_test") is True
        file = default_storage.open("storage_test", "r")
        assert file.read() == "storage contents"
        file.close()
        default_storage.delete("storage_test")
        assert default_storage.exists("storage_test") is False

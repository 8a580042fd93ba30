"""The in-memory backend (storages.testing.memory) joins the conformance suite: the core's
behaviour (modes, seeks, gzip, overwrite policy, pickling, naming) tested without servers."""

from __future__ import annotations

import gzip
import io
import uuid

import pytest
from django.core.files.base import ContentFile
from django.http import FileResponse

from storages.testing import BackendConfig, BrokenConfigs, Capabilities, StorageConformance
from storages.testing.async_suite import async_conformance
from storages.testing.memory import MemoryStorage, create_bucket, drop_bucket

PATH = "storages.testing.memory.MemoryStorage"
MB = 1024 * 1024


@pytest.fixture
def bucket():
    name = f"bucket-{uuid.uuid4().hex[:8]}"
    made = create_bucket(name)
    yield made
    drop_bucket(name)


class TestMemoryConformance(StorageConformance):
    # Objects live in this process's memory, so the bounded-memory test uses a size the
    # stored copy itself stays under the limit with.
    capabilities = Capabilities.strict(
        overwrite_option="file_overwrite", url_fetchable=False, large_size=8 * MB
    )

    @pytest.fixture
    def storage_config(self, bucket):
        return BackendConfig(
            PATH, {"bucket_name": bucket.name, "location": "base/inner"}, secrets=["s3cr3t-token"]
        )

    @pytest.fixture
    def broken_configs(self, bucket):
        locked = create_bucket(f"{bucket.name}-locked", token="right-token")
        offline = create_bucket(f"{bucket.name}-offline", offline=True)
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                PATH,
                {"bucket_name": locked.name, "access_token": "s3cr3t-token"},
                secrets=["s3cr3t-token"],
            ),
            missing_container=BackendConfig(PATH, {"bucket_name": "no-such-bucket"}),
            unreachable=BackendConfig(PATH, {"bucket_name": offline.name}),
        )


def test_seek_to_end_and_back_costs_no_request(bucket):
    storage = MemoryStorage(bucket_name=bucket.name)
    storage.save("f.bin", ContentFile(b"x" * 100_000))
    bucket.calls.clear()
    response = FileResponse(storage.open("f.bin"))
    body = b"".join(response.streaming_content)
    assert body == b"x" * 100_000
    assert response["Content-Length"] == "100000"
    assert bucket.calls == {"read": 1}


def test_short_forward_seek_reads_through(bucket):
    storage = MemoryStorage(bucket_name=bucket.name)
    payload = bytes(range(256)) * 4096
    storage.save("f.bin", ContentFile(payload))
    bucket.calls.clear()
    with storage.open("f.bin") as f:
        assert f.read(10) == payload[:10]
        f.seek(f.tell())
        f.seek(200_000)
        assert f.read(10) == payload[200_000:200_010]
        f.seek(10, io.SEEK_CUR)
        assert f.read(5) == payload[200_020:200_025]
    assert bucket.calls == {"read": 1}
    with storage.open("f.bin") as f:
        f.seek(900_000)
        assert f.read(3) == payload[900_000:900_003]
        f.seek(0)
        assert f.read(3) == payload[:3]
    assert bucket.calls == {"read": 4}


def test_read_ahead_fetches_ranges_in_parallel_and_in_order(bucket):
    storage = MemoryStorage(
        bucket_name=bucket.name,
        read_ahead={"threshold": MB, "part_size": 256 * 1024, "concurrency": 3},
    )
    payload = bytes(range(251)) * 20_000  # not a multiple of the part size
    storage.save("big.bin", ContentFile(payload))
    bucket.calls.clear()
    with storage.open("big.bin") as f:
        assert b"".join(f.chunks(64 * 1024)) == payload
    # one streaming read for the first part, then ranges of 256 KiB for the rest
    assert bucket.calls["read"] == 1 + -(-(len(payload) - 256 * 1024) // (256 * 1024))


def test_read_ahead_off_is_one_request(bucket):
    storage = MemoryStorage(bucket_name=bucket.name, read_ahead=False)
    payload = b"y" * (3 * MB)
    storage.save("big.bin", ContentFile(payload))
    bucket.calls.clear()
    with storage.open("big.bin") as f:
        assert b"".join(f.chunks()) == payload
    assert bucket.calls == {"read": 1}


def test_unknown_read_ahead_key_is_refused(bucket):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="part_size"):
        MemoryStorage(bucket_name=bucket.name, read_ahead={"chunk": 1})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"chunk": 1}, "unknown key"),
        ({"part_size": 1024}, "part_size must be an int of at least 65536"),
        ({"concurrency": 0}, "concurrency must be an int of at least 1"),
        ({"part_size": "8MB"}, "part_size must be an int"),
        ("big", "must be a dict of part_size / concurrency"),
    ],
)
def test_bad_write_buffer_is_refused_naming_the_setting(bucket, value, message):
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="MEMORY_STORAGE_WRITE_BUFFER") as info:
        MemoryStorage(bucket_name=bucket.name, write_buffer=value)
    assert message in str(info.value)


def test_write_buffer_part_size_is_what_open_wb_holds(settings, bucket):
    """The setting (here from Django settings) sets the bytes open("wb") holds before it
    streams, and the bound the docs state: (concurrency + 2) x part_size."""
    from storages.transfer import WriteBuffer

    settings.MEMORY_STORAGE_WRITE_BUFFER = {"part_size": 256 * 1024}
    storage = MemoryStorage(bucket_name=bucket.name)
    assert storage.effective_write_buffer == WriteBuffer(part_size=256 * 1024, concurrency=1)
    assert storage.effective_write_buffer.bound == 3 * 256 * 1024
    with storage.open("streamed.bin", "wb") as f:
        f.write(b"z" * (256 * 1024))
        assert f._raw._thread is None  # not past the part yet: held
        f.write(b"z")
        assert f._raw._thread is not None  # streaming
    assert storage.size("streamed.bin") == 256 * 1024 + 1
    off = MemoryStorage(bucket_name=bucket.name, write_buffer=False)
    assert off.effective_write_buffer == MemoryStorage.default_write_buffer


def test_small_write_is_one_upload_and_large_write_streams(bucket):
    storage = MemoryStorage(bucket_name=bucket.name)
    with storage.open("small.txt", "wb") as f:
        for _ in range(10):
            f.write(b"a" * 1000)
    assert bucket.calls.get("upload") == 1
    with storage.open("large.bin", "wb") as f:
        for _ in range(40):
            f.write(b"b" * 100_000)
    assert storage.open("large.bin").read() == b"b" * 4_000_000
    assert bucket.calls.get("upload") == 2


def test_open_for_writing_replaces_what_is_there(bucket):
    """open(name, "wb") writes the name it was given (as FileSystemStorage does), streaming."""
    storage = MemoryStorage(bucket_name=bucket.name)
    storage.save("taken.bin", ContentFile(b"first"))
    with storage.open("taken.bin", "wb") as f:
        f.write(b"q" * (2 * MB))
        assert storage.open("taken.bin").read() == b"first"  # nothing replaced before close()
    assert storage.open("taken.bin").read() == b"q" * (2 * MB)


def test_gzip_round_trip(bucket):
    storage = MemoryStorage(bucket_name=bucket.name, gzip=True)
    name = storage.save("style.css", ContentFile(b"body{}" * 1000))
    data, info = bucket.objects[storage._key(name)]
    assert info.content_encoding == "gzip" and gzip.decompress(data) == b"body{}" * 1000
    assert storage.open(name).read() == b"body{}" * 1000


def test_save_from_a_path_uses_it(bucket, tmp_path):
    from django.core.files.uploadedfile import TemporaryUploadedFile

    from storages.transfer import UploadSource

    upload = TemporaryUploadedFile("up.bin", "application/octet-stream", 5, None)
    upload.write(b"hello")
    upload.seek(0)
    source = UploadSource.from_content(upload)
    assert source.path == upload.temporary_file_path() and source.size == 5
    with open(tmp_path / "disk.bin", "wb") as out:
        out.write(b"on disk")
    with open(tmp_path / "disk.bin", "rb") as opened:
        assert UploadSource.from_content(opened).path == str(tmp_path / "disk.bin")
    storage = MemoryStorage(bucket_name=bucket.name)
    assert storage.open(storage.save("up.bin", upload)).read() == b"hello"
    upload.close()


def test_scan_and_delete_many(bucket):
    storage = MemoryStorage(bucket_name=bucket.name, location="loc")
    for name in ["a.txt", "d/b.txt", "d/e/c.txt"]:
        storage.save(name, ContentFile(name.encode()))
    found = dict(storage.scan(""))
    assert sorted(found) == ["a.txt", "d/b.txt", "d/e/c.txt"]
    assert found["a.txt"].size == 5 and len(found["a.txt"].hashes["md5"]) == 32
    assert sorted(dict(storage.scan("d"))) == ["d/b.txt", "d/e/c.txt"]
    storage.delete_many(["a.txt", "d/b.txt"])
    assert sorted(dict(storage.scan(""))) == ["d/e/c.txt"]


def test_root_and_directory_names(bucket):
    from django.core.exceptions import SuspiciousFileOperation

    storage = MemoryStorage(bucket_name=bucket.name)
    storage.save("d/x.txt", ContentFile(b"x"))
    assert storage.listdir("/") == storage.listdir("") == (["d"], [])
    assert storage.exists("d") is False  # an object store has no directories
    for name in ["./", ".\\", "d/..", "d/"]:
        with pytest.raises(SuspiciousFileOperation):
            storage.delete(name)
    with pytest.raises(SuspiciousFileOperation):
        storage.listdir("/etc")
    from storages.naming import NameTooLong

    with pytest.raises(NameTooLong, match="1024"):
        storage.save("a" * 1100, ContentFile(b"x"))


def test_a_missing_required_hook_is_named():
    """A backend that leaves out a required hook is told which one (and its class), not a bare
    NotImplementedError."""
    from storages.base import BaseStorage

    class HalfDone(BaseStorage):
        settings_table = MemoryStorage.settings_table

    storage = HalfDone(file_overwrite=True)
    for call, hook in (
        (lambda: storage.exists("a.txt"), "_stat"),
        (lambda: storage.save("a.txt", ContentFile(b"x")), "_upload"),
        (lambda: storage.delete("a.txt"), "_delete"),
        (lambda: storage.listdir(""), "_list"),
        (lambda: storage.exists(""), "_probe_root"),
        (lambda: storage.open("a.txt"), "_open_reader"),
        (lambda: storage.url("a.txt"), "url"),
    ):
        with pytest.raises(NotImplementedError, match=rf"HalfDone does not implement {hook}\(\)"):
            call()


def test_the_contract_is_declared_at_the_top_of_basestorage():
    """Traits first, then the required hooks, then the optional ones: each hook documented."""
    import inspect

    from storages.base import BaseStorage

    body = list(vars(BaseStorage))
    required = ["_stat", "_open_reader", "_upload", "_delete", "_list", "_probe_root", "url"]
    optional = ["configure", "_translate_error", "_scan", "_delete_many", "_copy_from"]
    traits = ["settings_table", "overwrite_option", "endpoint_setting", "max_key_bytes"]
    traits += ["content_parameters", "root_missing_errors", "upload_threshold", "file_class"]
    assert max(body.index(t) for t in traits) < min(body.index(h) for h in required)
    assert max(body.index(h) for h in required) < min(body.index(h) for h in optional)
    assert max(body.index(h) for h in optional) < body.index("__init__")
    for hook in required + optional:
        assert inspect.getdoc(getattr(BaseStorage, hook)), hook


class TestMemoryAsync(async_conformance(TestMemoryConformance)):
    @pytest.fixture
    def unfinished_uploads(self):
        """Nothing to list: an upload is held by its writer until it is committed whole."""
        return lambda storage: []

"""The compat modules of storages.backends.{s3,dropbox,azure_storage}: the fallbacks for older SDK
releases, run on whatever SDKs this venv has.

The SDK's own path runs wherever the release has the feature (Python 3.11+ gets new releases);
the fallback runs on the releases Python 3.9/3.10 get (``make test-matrix``), and here, forced,
on every venv: both must store and read the same bytes and metadata.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

import pytest
from boto3.s3.transfer import TransferConfig
from django.core.files.base import ContentFile, File

from storages.backends.azure_storage import compat as azure_compat
from storages.backends.dropbox import compat as dropbox_compat
from storages.backends.s3 import S3Storage
from storages.backends.s3 import compat as s3_compat
from storages.copy import copy_files
from storages.testing.helpers import PatternFile
from storages.transfer import ChunkReader
from tests.backends.test_azure import azurite  # noqa: F401 - fixture
from tests.backends.test_azure import storage as azure_storage
from tests.backends.test_dropbox import dropbox_server, store  # noqa: F401 - fixtures
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

MB = 1024 * 1024
BUCKET = "sdk-compat"


def _release(package: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version(package).split(".")[:3] if part.isdigit())


def test_detection_matches_the_installed_releases() -> None:
    """If an SDK release renames what the detection looks at, this fails (the fallback would
    otherwise run, still correct but with an extra request, on releases that don't need it)."""
    import dropbox
    from azure.storage.blob._shared import uploads

    assert s3_compat.s3transfer_keeps_metadata() == (_release("s3transfer") >= (0, 18))
    assert hasattr(uploads, "uuid4") == (_release("azure-storage-blob") >= (12, 31))
    assert dropbox_compat.dropbox_takes_headers(dropbox.Dropbox) == (
        _release("dropbox") >= (12, 2, 2)
    )


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


@pytest.mark.parametrize("fallback", [True, False], ids=["forced-fallback", "as-detected"])
def test_server_side_copy_keeps_metadata_at_every_size(s3_server, monkeypatch, fallback) -> None:
    if fallback:
        monkeypatch.setattr(s3_compat, "s3transfer_keeps_metadata", lambda: False)
    client, prefix = s3_server.client(), uuid.uuid4().hex
    meta = {
        "ContentType": "image/png",
        "CacheControl": "max-age=60",
        "ContentDisposition": "inline",
        "Metadata": {"origin": "compat"},
    }
    sizes = {"small.png": 1000, "big.png": 6 * MB + 1}  # one CopyObject; a multipart copy
    for name, size in sizes.items():
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/src/{name}", Body=b"p" * size, **meta)
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    options = {
        "bucket_name": BUCKET,
        "endpoint_url": s3_server.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
    }
    src = S3Storage(**options, location=f"{prefix}/src")
    dest = S3Storage(**options, location=f"{prefix}/dest", transfer_config=config)
    report = copy_files(src, dest)
    assert report.ok and report.server_side == len(sizes) == len(report.copied)
    for name, size in sizes.items():
        head = client.head_object(Bucket=BUCKET, Key=f"{prefix}/dest/{name}")
        assert head["ContentLength"] == size
        assert {k: head.get(k) for k in meta} == meta, name


@pytest.mark.parametrize("fallback", [True, False], ids=["forced-fallback", "as-detected"])
def test_dropbox_ranged_reads(store, dropbox_server, monkeypatch, fallback) -> None:  # noqa: F811
    if fallback:
        monkeypatch.setattr(dropbox_compat, "dropbox_takes_headers", lambda cls: False)
    payload = bytes(range(256)) * 100
    name = store.save("range.bin", ContentFile(payload))
    dropbox_server.reset_stats()
    result = store._open_reader(store._key(name), 1000, 1500)
    assert result.body.read() == payload[1000:1500]
    result.body.close()
    assert store._open_reader(store._key(name), 0).body.read() == payload
    assert dropbox_server.stats()["/2/files/download"] == 2
    # The Range went with that one request only: the shared client sends no extra header.
    assert "Range" not in (store.client._headers or {})


@pytest.fixture
def own_block_ids(monkeypatch):
    """The Azure fallback, forced on whatever SDK this venv has (undone after the test)."""
    from azure.storage.blob._shared.uploads import BlockBlobChunkUploader as uploader

    if not getattr(uploader, "_own_block_ids", False):
        for attr in ("__init__", "_upload_chunk", "_upload_substream_block", "_own_block_ids"):
            monkeypatch.setattr(uploader, attr, getattr(uploader, attr, False), raising=False)
        azure_compat.azure_unique_block_ids(force=True)


@pytest.mark.parametrize("fallback", [True, False], ids=["forced-fallback", "as-detected"])
def test_azure_racing_block_uploads_keep_their_own_blocks(azurite, request, fallback) -> None:  # noqa: F811
    """Create-only block uploads racing for one name: each gets its own name and its own bytes.

    Uncommitted blocks belong to the blob name: with ids shared between uploads (azure-storage-blob
    < 12.31), a commit could take blocks another upload staged, storing a mix of two files."""
    if fallback:
        request.getfixturevalue("own_block_ids")
    s = azure_storage(azurite, upload_max_conn=2, max_block_size=MB, max_single_put_size=MB)
    threads, size = 8, 3 * MB + 5
    barrier = threading.Barrier(threads)

    def save(i: int) -> str:
        source = PatternFile(size, seed=i)
        barrier.wait()
        return s.save("race/big.bin", File(source, name="big.bin"))

    with ThreadPoolExecutor(threads) as pool:
        names = set(pool.map(save, range(threads)))
    assert len(names) == threads
    stored = {hashlib.sha256(s.open(n).read()).hexdigest() for n in names}
    assert stored == {PatternFile(size, seed=i).digest() for i in range(threads)}


def test_azure_stream_upload_with_own_block_ids(azurite, own_block_ids) -> None:  # noqa: F811
    """The SDK's other block path (chunks read from a stream of unknown size) with prefixed ids:
    the blocks commit in their order."""
    s = azure_storage(azurite, max_block_size=MB, max_single_put_size=MB)
    source = PatternFile(5 * MB + 3, seed=7)
    name = s.save(
        "stream/big.bin", File(ChunkReader(iter(lambda: source.read(MB), b"")), name="big.bin")
    )
    assert hashlib.sha256(s.open(name).read()).hexdigest() == source.digest()

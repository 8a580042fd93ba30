"""The copy engine (storages/copy.py) and ``manage.py copystorage`` against the real servers.

2,000 files of mixed sizes (three above the multipart threshold) go local disk -> S3,
S3 -> Azure, S3 -> S3 (server-side) and SFTP -> GCS; every file must arrive with the
same bytes and content type. A killed copy resumes without re-sending finished files.
"""

from __future__ import annotations

import hashlib
import io
import os
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.core.management import call_command
from django.core.management.base import CommandError

from storages.backends.s3 import S3Storage
from storages.copy import copy_files
from storages.testing.suite import use_storages
from tests.backends.test_azure import azurite  # noqa: F401  (session fixture)
from tests.backends.test_azure import options as azure_options
from tests.backends.test_gcloud import anonymous_options, gcs_server  # noqa: F401
from tests.backends.test_sftp import sftp_data, sftp_options, sftp_server  # noqa: F401
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

BUCKET = "copy-tests"
OTHER_BUCKET = "copy-tests-other"
MB = 1024 * 1024
COUNT = 2000
BIG = {"big/a.bin": 9 * MB + 7, "big/b.mp4": 10 * MB, "big/c.png": 9 * MB + 1}
# Content types stored explicitly in the S3 source (not guessable from the name).
EXPLICIT = {
    "d5/f0005.dat": ("application/x-custom", "max-age=3600"),
    "d5/f0013.dat": ("image/webp", None),
}
EXTENSIONS = (".txt", ".css", ".js", ".json", ".png", ".dat", ".html", ".svg")


def dataset() -> dict[str, bytes]:
    """COUNT deterministic files: most small, some medium, three above the 8 MiB multipart
    threshold."""
    rnd = random.Random(12)
    files: dict[str, bytes] = {}
    for i in range(COUNT - len(BIG)):
        size = rnd.randint(64 * 1024, 1024 * 1024) if i % 100 == 50 else rnd.randint(0, 4096)
        files[f"d{i % 8}/f{i:04d}{EXTENSIONS[i % len(EXTENSIONS)]}"] = rnd.randbytes(size)
    for name, size in BIG.items():
        files[name] = rnd.randbytes(size)
    return files


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return dataset()


def write_tree(root: Path, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def s3_storage(server, bucket=BUCKET, **extra) -> S3Storage:
    return S3Storage(
        bucket_name=bucket,
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        **extra,
    )


def s3_alias(server, location: str, **options) -> dict:
    """A STORAGES entry for the test bucket on ``server`` under ``location``."""
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": server.endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "location": location,
            **options,
        },
    }


def local_alias(root) -> dict:
    """A STORAGES entry for Django's FileSystemStorage in ``root``."""
    return {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": root}}


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    moto_server.create_bucket(OTHER_BUCKET)
    return moto_server


@pytest.fixture(scope="module")
def s3_source(s3_server, files) -> str:
    """The dataset in S3 under its own prefix, uploaded with boto3 itself (not the code under
    test)."""
    prefix = f"source-{uuid.uuid4().hex[:8]}"
    client = s3_server.client()

    def put(item):
        name, data = item
        ctype, cache = EXPLICIT.get(name, (guessed(name), None))
        extra = {"ContentType": ctype, **({"CacheControl": cache} if cache else {})}
        client.upload_fileobj(io.BytesIO(data), BUCKET, f"{prefix}/{name}", ExtraArgs=extra)

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, files.items()))
    return prefix


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()  # noqa: S324


def assert_same(
    listing: dict[str, tuple[int, str | None, str | None]], files: dict[str, bytes], read
) -> None:
    """``listing`` (name -> size, stored MD5 or None, content type), taken with the provider's SDK,
    holds every file with its size and bytes; files without a stored MD5 are read with
    ``read(name)``."""
    assert {n: size for n, (size, _, _) in listing.items()} == {n: len(d) for n, d in files.items()}
    missing = [n for n, (_, digest, _) in listing.items() if digest is None]
    assert len(missing) < 50, "most files should have a stored MD5"
    with ThreadPoolExecutor(8) as pool:
        read_back = dict(zip(missing, pool.map(lambda n: md5(read(n)), missing)))
    got = {n: digest or read_back[n] for n, (_, digest, _) in listing.items()}
    assert got == {n: md5(d) for n, d in files.items()}


def s3_listing(server, bucket: str, prefix: str) -> dict:
    client = server.client()
    out = {}
    for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix + "/"
    ):
        for obj in page.get("Contents", []):
            etag = obj["ETag"].strip('"')
            out[obj["Key"][len(prefix) + 1 :]] = (obj["Size"], None if "-" in etag else etag, None)
    return out


def s3_reader(server, bucket: str, prefix: str):
    client = server.client()
    return lambda name: client.get_object(Bucket=bucket, Key=f"{prefix}/{name}")["Body"].read()


def azure_listing(container, prefix: str) -> dict:
    out = {}
    for blob in container.list_blobs(name_starts_with=prefix + "/"):
        digest = blob.content_settings.content_md5
        out[blob.name[len(prefix) + 1 :]] = (
            blob.size,
            bytes(digest).hex() if digest else None,
            blob.content_settings.content_type,
        )
    return out


def gcs_listing(bucket, prefix: str) -> dict:
    import base64

    return {
        blob.name[len(prefix) + 1 :]: (
            blob.size,
            base64.b64decode(blob.md5_hash).hex() if blob.md5_hash else None,
            blob.content_type,
        )
        for blob in bucket.list_blobs(prefix=prefix + "/")
    }


def content_type(storage, name: str) -> tuple[str | None, str | None]:
    info = storage._stat(storage._key(name))
    return info.content_type, info.extra.get("cache_control")


def guessed(name: str) -> str:
    import mimetypes

    return mimetypes.guess_type(name)[0] or "application/octet-stream"


# -- the four pairs ------------------------------------------------------------------------------
def test_local_disk_to_s3(tmp_path, s3_server, files, monkeypatch):
    write_tree(tmp_path, files)
    dest = s3_storage(s3_server, location=f"from-disk-{uuid.uuid4().hex[:8]}")
    report = copy_files(FileSystemStorage(location=tmp_path), dest, workers=8)
    assert report.ok and len(report.copied) == COUNT and report.server_side == 0
    assert report.bytes_copied == sum(map(len, files.values()))
    assert_same(
        s3_listing(s3_server, BUCKET, dest.location),
        files,
        s3_reader(s3_server, BUCKET, dest.location),
    )
    for name in ("d0/f0000.txt", "d1/f0001.css", "d2/f0002.js", "big/b.mp4", "big/c.png"):
        assert content_type(dest, name)[0] == guessed(name)

    # A rerun sends nothing and reads nothing from S3: it stores MD5s (single-part) and multipart
    # ETags, which the local side's bytes are checked against.
    reads = []
    original = S3Storage._open_reader
    monkeypatch.setattr(
        S3Storage, "_open_reader", lambda self, *a, **k: reads.append(a) or original(self, *a, **k)
    )
    again = copy_files(FileSystemStorage(location=tmp_path), dest, workers=8)
    assert (again.copied, again.skipped, reads) == ([], COUNT, [])
    monkeypatch.undo()

    # One byte changed at the source (same size): that file alone is copied again.
    path = tmp_path / "d3/f0003.json"
    data = bytearray(path.read_bytes() or b"x")
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    big = tmp_path / "big/a.bin"
    with open(big, "r+b") as fh:  # and one in a multipart object (no MD5 stored: both sides read)
        fh.seek(5 * MB)
        byte = fh.read(1)
        fh.seek(5 * MB)
        fh.write(bytes([byte[0] ^ 1]))
    third = copy_files(FileSystemStorage(location=tmp_path), dest, workers=8, verify=True)
    assert third.copied == ["big/a.bin", "d3/f0003.json"] and third.skipped == COUNT - 2
    with dest.open("d3/f0003.json") as fh:
        assert fh.read() == bytes(data)
    assert md5(dest.open("big/a.bin").read()) == md5(big.read_bytes())


def test_s3_to_azure(s3_server, s3_source, azurite, files):  # noqa: F811
    from storages.backends.azure_storage import AzureStorage

    src = s3_storage(s3_server, location=s3_source)
    dest = AzureStorage(**azure_options(azurite))
    report = copy_files(src, dest, workers=8)
    assert report.ok and len(report.copied) == COUNT and report.server_side == 0, report.failed
    container = azurite.service_client().get_container_client(dest.azure_container)
    listing = azure_listing(container, dest.location)
    assert_same(listing, files, lambda n: container.download_blob(f"{dest.location}/{n}").readall())
    assert content_type(dest, "d5/f0005.dat") == EXPLICIT["d5/f0005.dat"]
    assert listing["d5/f0013.dat"][2] == "image/webp"
    for name in files:
        if name not in EXPLICIT:
            assert listing[name][2] == guessed(name), name


def test_s3_to_s3_on_the_server(s3_server, s3_source, files, monkeypatch):
    from boto3.s3.transfer import TransferConfig

    src = s3_storage(s3_server, location=s3_source)
    # The part size the source objects were uploaded with (boto3's 8 MiB): the copies keep their
    # ETags.
    dest = s3_storage(
        s3_server,
        bucket=OTHER_BUCKET,
        location=f"copied-{uuid.uuid4().hex[:8]}",
        transfer_config=TransferConfig(multipart_chunksize=8 * MB),
    )
    # Count the bytes that go through this process: a server-side copy sends none.
    reads = []
    original = S3Storage._open_reader
    monkeypatch.setattr(
        S3Storage, "_open_reader", lambda self, *a, **k: reads.append(a) or original(self, *a, **k)
    )
    report = copy_files(src, dest, workers=8)
    assert report.ok and report.server_side == COUNT == len(report.copied)
    assert reads == []
    # The rerun compares MD5s, and the multipart ETags the copies kept: still no byte read.
    assert copy_files(src, dest, workers=8).skipped == COUNT
    assert reads == []
    monkeypatch.undo()
    listing = s3_listing(s3_server, OTHER_BUCKET, dest.location)
    assert_same(listing, files, s3_reader(s3_server, OTHER_BUCKET, dest.location))
    assert content_type(dest, "d5/f0005.dat") == EXPLICIT["d5/f0005.dat"]
    assert content_type(dest, "big/c.png")[0] == "image/png"


def test_sftp_to_gcs(sftp_server, sftp_data, gcs_server, files):  # noqa: F811
    from storages.backends.gcloud import GoogleCloudStorage
    from storages.backends.sftpstorage import SFTPStorage

    options = sftp_options(sftp_server, sftp_data)
    # The SFTP server is local: its files are on this disk.
    write_tree(Path(options["root_path"]), files)
    with SFTPStorage(**options) as src:
        dest = GoogleCloudStorage(**anonymous_options(gcs_server))
        report = copy_files(src, dest, workers=8)
        assert report.ok and len(report.copied) == COUNT, report.failed
        bucket = gcs_server.client().bucket(dest.bucket_name)
        listing = gcs_listing(bucket, dest.location)
        assert_same(
            listing, files, lambda n: bucket.blob(f"{dest.location}/{n}").download_as_bytes()
        )
        for name in files:
            assert listing[name][2] == guessed(name), name
        # A rerun sends nothing (it compares by stored hash where the storages have one, else
        # reads).
        assert copy_files(src, dest, workers=8).skipped == COUNT


# -- options and failures (a few files) ----------------------------------------------------------
SMALL = {
    "a.txt": b"alpha",
    "sub/b.css": b"body{}",
    "sub/deeper/c.js": b"1;",
    "other/d.txt": b"delta",
}


@pytest.fixture
def small_tree(tmp_path) -> FileSystemStorage:
    write_tree(tmp_path / "src", SMALL)
    return FileSystemStorage(location=tmp_path / "src")


def test_path_dry_run_delete_and_verify(small_tree, s3_server):
    dest = s3_storage(s3_server, location=f"small-{uuid.uuid4().hex[:8]}")
    dest.save("sub/stale.txt", io.BytesIO(b"not in the source"))
    dry = copy_files(small_tree, dest, "sub", dry_run=True, delete=True)
    assert (dry.copied, dry.deleted, dry.dry_run) == (
        ["sub/b.css", "sub/deeper/c.js"],
        ["sub/stale.txt"],
        True,
    )
    assert {n for n, _ in dest.scan()} == {"sub/stale.txt"}
    done = copy_files(small_tree, dest, "sub", delete=True, verify=True)
    assert (done.copied, done.deleted) == (["sub/b.css", "sub/deeper/c.js"], ["sub/stale.txt"])
    assert {n for n, _ in dest.scan()} == {"sub/b.css", "sub/deeper/c.js"}
    # --to: another destination path.
    moved = copy_files(small_tree, dest, "sub", dest_path="elsewhere/x")
    assert sorted(n for n, _ in dest.scan("elsewhere")) == [
        "elsewhere/x/b.css",
        "elsewhere/x/deeper/c.js",
    ]
    assert moved.ok


def test_into_a_plain_django_storage(small_tree, s3_server, tmp_path):
    src = s3_storage(s3_server, location=f"plain-{uuid.uuid4().hex[:8]}")
    copy_files(small_tree, src)
    dest = FileSystemStorage(location=tmp_path / "dest")
    (tmp_path / "dest").mkdir()
    # Same size, other bytes: replaced under its name.
    (tmp_path / "dest/a.txt").write_bytes(b"alphx")
    report = copy_files(src, dest, verify=True)
    assert report.ok and report.copied == sorted(SMALL)
    assert {n: (tmp_path / "dest" / n).read_bytes() for n in SMALL} == SMALL


def test_failures_are_listed_and_exit_non_zero(small_tree, s3_server, settings, tmp_path):
    root = Path(small_tree.location)
    s3 = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": s3_server.endpoint,
            "location": f"f-{uuid.uuid4().hex}",
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            # S3 refuses every upload (InvalidStorageClass); listing still works
            "object_parameters": {"StorageClass": "NOT-A-CLASS"},
        },
    }
    use_storages(
        settings,
        {
            "default": local_alias(root),
            "s3": s3,
            "broken": {**s3, "OPTIONS": {**s3["OPTIONS"], "bucket_name": "no-such-bucket"}},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="4 of 4 files were not copied"):
        call_command("copystorage", "default", "s3", stdout=out, stderr=err)
    assert "copied 0 of 4 files" in out.getvalue() and "4 failed" in out.getvalue()
    assert "4 file(s) failed:" in err.getvalue()
    assert (
        all(f"  {name}: " in err.getvalue() for name in SMALL)
        and "InvalidStorageClass" in err.getvalue()
    )
    # A storage that can't be listed at all: one clear error naming the setting, no traceback.
    with pytest.raises(CommandError, match="broken: .*no-such-bucket.*AWS_STORAGE_BUCKET_NAME"):
        call_command("copystorage", "default", "broken", stdout=out, stderr=err)
    assert SECRET_KEY not in out.getvalue() + err.getvalue()
    with pytest.raises(CommandError, match="No storage alias 'nope'"):
        call_command("copystorage", "default", "nope")


def test_one_failure_does_not_stop_the_others(small_tree, s3_server):
    dest = s3_storage(s3_server, location=f"one-{uuid.uuid4().hex[:8]}")
    root = Path(small_tree.location)

    def truncate_a_later_file(action, name):
        if name == "a.txt":  # files go in name order with one worker
            (root / "sub/deeper/c.js").write_bytes(b"")

    report = copy_files(small_tree, dest, workers=1, on_file=truncate_a_later_file)
    assert (
        list(report.failed) == ["sub/deeper/c.js"]
        and "changed meanwhile" in report.failed["sub/deeper/c.js"]
    )
    assert report.copied == ["a.txt", "other/d.txt", "sub/b.css"] and not report.ok


def storages_scan(alias: str):
    from django.core.files.storage import storages

    return storages[alias].scan()


# -- interrupted copies --------------------------------------------------------------------------
def settings_module(tmp_path: Path, source_root: Path, s3_server, location: str) -> str:
    (tmp_path / "copy_settings.py").write_text(
        textwrap.dedent(f"""
        from tests.settings import *  # noqa
        STORAGES = {{
            "default": {{"BACKEND": "django.core.files.storage.FileSystemStorage",
                        "OPTIONS": {{"location": {str(source_root)!r}}}}},
            "s3": {{"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {{
                "bucket_name": {BUCKET!r}, "endpoint_url": {s3_server.endpoint!r},
                "region_name": "us-east-1", "access_key": {ACCESS_KEY!r},
                "secret_key": {SECRET_KEY!r}, "location": {location!r}}}}},
            "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
        }}
    """)
    )
    return "copy_settings"


def start_copy(tmp_path: Path, module: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{Path(__file__).resolve().parents[1]}",
        "DJANGO_SETTINGS_MODULE": module,
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django",
            "copystorage",
            "default",
            "s3",
            "--workers",
            "2",
            "-v",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def copied_lines(proc: subprocess.Popen, until: int) -> list[str]:
    names = []
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("copy "):
            names.append(line[5:].strip())
            if len(names) >= until:
                break
    return names


def test_killed_then_interrupted_copy_resumes(tmp_path, s3_server, files, settings):
    source_root = tmp_path / "src"
    write_tree(source_root, files)
    location = f"resume-{uuid.uuid4().hex[:8]}"
    module = settings_module(tmp_path, source_root, s3_server, location)
    dest = s3_storage(s3_server, location=location)

    # 1. killed (SIGKILL) after some files: what is stored is whole (uploads are atomic).
    proc = start_copy(tmp_path, module)
    first = copied_lines(proc, 600)
    proc.kill()
    proc.wait(30)
    after_kill = {name: info.size for name, info in dest.scan()}
    assert set(first) <= set(after_kill) and len(after_kill) < COUNT
    assert all(size == len(files[name]) for name, size in after_kill.items())

    # 2. Ctrl-C (SIGINT): stops cleanly with status 130 and says how to resume.
    proc = start_copy(tmp_path, module)
    second = copied_lines(proc, 400)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "interrupted: run the same command again to resume" in out
    second += [line[5:] for line in out.splitlines() if line.startswith("copy ")]
    assert not set(second) & set(after_kill)  # nothing finished by run 1 was sent again
    after_stop = {name for name, _ in dest.scan()}

    # 3. the rerun finishes, sending only what was missing.
    use_storages(
        settings,
        {
            "default": local_alias(source_root),
            "s3": s3_alias(s3_server, location),
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    out = io.StringIO()
    start = time.monotonic()
    call_command("copystorage", "default", "s3", verbosity=2, stdout=out)
    third = [line[5:] for line in out.getvalue().splitlines() if line.startswith("copy ")]
    assert third and not set(third) & after_stop
    assert set(third) | after_stop == set(files)
    assert f"{COUNT - len(third)} already there" in out.getvalue()
    # Not a terminal: a line per 1,000 files.
    assert "default -> s3: 1000/2000 files, " in out.getvalue()
    assert time.monotonic() - start < 120
    listing = s3_listing(s3_server, BUCKET, location)
    assert_same(listing, files, s3_reader(s3_server, BUCKET, location))


def test_live_progress_line_on_a_terminal(small_tree, s3_server, settings):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    use_storages(
        settings,
        {
            "default": local_alias(small_tree.location),
            "s3": s3_alias(s3_server, f"tty-{uuid.uuid4().hex[:8]}"),
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    out = Terminal()
    call_command("copystorage", "default", "s3", stdout=out)
    text = out.getvalue()
    # One line redrawn in place (carriage return + erase line), the summary replaces it at the end.
    assert text.startswith("\r\x1b[2Kdefault -> s3: ") and " files, " in text and "/s" in text
    assert text.endswith("\r\x1b[2Kcopied 4 of 4 files (18 B), 0 already there\n")
    assert text.count("\n") == 1


def test_large_files_are_limited_apart(tmp_path, s3_server, monkeypatch):
    from boto3.s3.transfer import TransferConfig

    big = {f"big{i}.bin": bytes([i]) * (2 * MB) for i in range(4)}
    small = {f"small{i}.txt": b"s" * 100 for i in range(8)}
    write_tree(tmp_path, {**big, **small})
    dest = s3_storage(
        s3_server,
        location=f"limit-{uuid.uuid4().hex[:8]}",
        transfer_config=TransferConfig(multipart_threshold=1 * MB),
    )
    state = {"now": 0, "most": 0}
    lock = threading.Lock()
    original = S3Storage._upload

    def counting(self, spec, source):
        large = source.size is None  # streamed, not read whole (files above 1 MiB)
        with lock:
            state["now"] += large
            state["most"] = max(state["most"], state["now"])
        try:
            return original(self, spec, source)
        finally:
            with lock:
                state["now"] -= large

    monkeypatch.setattr(S3Storage, "_upload", counting)
    report = copy_files(FileSystemStorage(location=tmp_path), dest, workers=6, large_workers=1)
    assert report.ok and len(report.copied) == 12
    assert state["most"] == 1


def test_s3_into_a_local_folder_that_does_not_exist_yet(small_tree, s3_server, settings, tmp_path):
    """The docs' backup path: S3 -> FileSystemStorage, the folder not made by hand; --verify says
    what it checked; --dry-run -v 2 says "would copy"."""
    location = f"local-{uuid.uuid4().hex[:8]}"
    copy_files(small_tree, s3_storage(s3_server, location=location))
    target = tmp_path / "localback" / "data"  # neither folder exists
    use_storages(
        settings,
        {
            "default": s3_alias(s3_server, location),
            "localback": local_alias(target),
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    dry = io.StringIO()
    call_command("copystorage", "default", "localback", "--dry-run", verbosity=2, stdout=dry)
    lines = dry.getvalue().splitlines()
    assert all(f"would copy {name}" in lines for name in SMALL)
    assert not any(line.startswith("copy ") for line in lines)
    assert not target.exists()

    out = io.StringIO()
    call_command("copystorage", "default", "localback", "--verify", stdout=out)
    assert {n: (target / n).read_bytes() for n in SMALL} == SMALL
    total = sum(len(d) for d in SMALL.values())
    # The local side stores no hash: each file was read back and hashed.
    assert f"verified 4 of 4 copied files ({total} B): 4 by read back, md5" in out.getvalue()

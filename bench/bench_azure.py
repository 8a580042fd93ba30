"""Azure benchmark: this package vs plain azure-storage-blob doing the same calls, against Azurite.

Run: ``.venv/bin/python bench/bench_azure.py [--wan] [--big-mb 200]`` (starts its own Azurite).
``--wan`` puts a local TCP proxy in between (20 ms each way, 20 MB/s per connection), so request
counts and connection concurrency cost time as on a real network.

Large transfers report seconds, HTTP requests and peak RSS growth of the process (VmHWM after
resetting it through /proc/self/clear_refs), the figure issue 9 bounds at 64 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MB, REPEATS, http_requests, measure, print_table, run_storage_bench  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402
from tests.servers.azure import ACCOUNT_KEY, ACCOUNT_NAME, start_azurite  # noqa: E402
from tests.servers.proxy import TCPProxy  # noqa: E402


def _status(field: str) -> int:
    return (
        int(re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1))
        * 1024
    )


def big_measure(label: str, impl: str, fn) -> dict:
    """Seconds, requests and peak RSS growth (MB) of one call of ``fn``."""
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    base = _status("VmRSS")
    with http_requests() as counts:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    return {
        "impl": impl,
        "operation": label,
        "seconds": seconds,
        "requests": counts["requests"],
        "rss_mb": (_status("VmHWM") - base) / MB,
    }


def big_rows(storage, container, big: int, disk_file: str) -> list[dict]:
    from django.core.files.base import File

    from storages.transfer import ChunkReader

    mb = big // MB
    digest = PatternFile(big).digest()

    def save_file():
        with open(disk_file, "rb") as f:
            storage.save(f"big/file-{time.time_ns()}.bin", File(f))

    def save_stream():
        source = PatternFile(big)
        storage.save(
            f"big/stream-{time.time_ns()}.bin",
            File(ChunkReader(iter(lambda: source.read(MB), b""))),
        )

    def write_wb():
        source = PatternFile(big)
        with storage.open("big/written.bin", "wb") as f:
            for chunk in iter(lambda: source.read(MB), b""):
                f.write(chunk)

    def read_chunks():
        import hashlib

        h = hashlib.sha256()
        with storage.open("big/written.bin", "rb") as f:
            for chunk in f.chunks(MB):
                h.update(chunk)
        assert h.hexdigest() == digest

    def file_response():  # what Django's FileResponse does before streaming
        with storage.open("big/written.bin", "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(0)
            f.read(64 * 1024)

    def sdk_upload():
        with open(disk_file, "rb") as f:
            container.upload_blob(
                "big/sdk.bin",
                f,
                length=big,
                overwrite=True,
                max_concurrency=storage.upload_max_conn,
            )

    def sdk_download():  # the SDK's parallel download, into a seekable sink
        with open(os.devnull, "wb") as sink:
            container.download_blob("big/sdk.bin", max_concurrency=4).readinto(sink)

    rows = [
        big_measure(f"save {mb} MB from a file", "django-storages", save_file),
        big_measure(f"save {mb} MB from a stream", "django-storages", save_stream),
        big_measure(f"open('wb') {mb} MB", "django-storages", write_wb),
        big_measure(f"read {mb} MB (chunks)", "django-storages", read_chunks),
        big_measure("FileResponse open+seeks+read", "django-storages", file_response),
        big_measure(f"save {mb} MB from a file", "plain SDK", sdk_upload),
        big_measure(f"read {mb} MB (readinto, 4 conns)", "plain SDK", sdk_download),
    ]
    return rows


def sdk_rows(container, big: int, listing: int) -> list[dict]:
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import generate_blob_sas

    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: container.upload_blob(f"list/{i:05d}.txt", b"", overwrite=True),
                range(listing),
            )
        )

    def exists(_):
        try:
            container.get_blob_client("small/0.txt").get_blob_properties()
            return True
        except ResourceNotFoundError:
            return False

    def url(_):
        sas = generate_blob_sas(
            ACCOUNT_NAME,
            container.container_name,
            "small/0.txt",
            account_key=ACCOUNT_KEY,
            permission="r",
            expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
        )
        return f"{container.url}/small/0.txt?{sas}"

    ops = {
        "save small (1 KiB)": lambda i: container.upload_blob(
            f"small/{i}.txt", b"x" * 1024, overwrite=True
        ),
        f"save {big // MB} MB": lambda i: container.upload_blob(
            f"big/{i}.bin", PatternFile(big), length=big, overwrite=True, max_concurrency=4
        ),
        "open+read small": lambda i: container.download_blob("small/0.txt").readall(),
        "exists": exists,
        "size": lambda i: container.get_blob_client("small/0.txt").get_blob_properties().size,
        "url": url,
        "url unsigned": lambda i: container.get_blob_client("small/0.txt").url,
        f"listdir ({listing} keys)": lambda i: [
            b.name for b in container.walk_blobs(name_starts_with="list/", delimiter="/")
        ],
        "delete": lambda i: container.delete_blob(f"small/{i}.txt"),
    }
    return [
        {"impl": "plain SDK", "operation": op, **measure(fn, REPEATS.get(op, 3))}
        for op, fn in ops.items()
    ]


def batch_rows(storage, count: int = 600) -> list[dict]:
    from django.core.files.base import ContentFile

    names = [f"batch/{i}.txt" for i in range(count)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: storage.save(n, ContentFile(b"x")), names))
    rows = [
        {
            "impl": "django-storages",
            "operation": f"scan ({count} files)",
            **measure(lambda i: list(storage.scan("batch")), 3),
        }
    ]
    rows.append(
        {
            "impl": "django-storages",
            "operation": f"delete_many ({count} files)",
            **measure(lambda i: storage.delete_many(names), 1),
        }
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--wan", action="store_true", help="through a 40 ms RTT, 20 MB/s per connection proxy"
    )
    parser.add_argument("--big-mb", type=int, default=200)
    parser.add_argument("--listing", type=int, default=2000)
    args = parser.parse_args()
    big = args.big_mb * MB
    server = start_azurite()
    proxy = None
    try:
        server.create_container("bench")
        connection_string = server.connection_string()
        if args.wan:
            proxy = TCPProxy("127.0.0.1", server.port, latency=0.020, bandwidth=20e6).start()
            connection_string = connection_string.replace(f":{server.port}/", f":{proxy.port}/")
        from azure.storage.blob import BlobServiceClient

        from storages.backends.azure_storage import AzureStorage

        options = {"connection_string": connection_string, "azure_container": "bench"}
        storage = AzureStorage(**options, expiration_secs=3600)
        container = BlobServiceClient.from_connection_string(
            connection_string
        ).get_container_client("bench")
        where = (
            "through the WAN proxy (40 ms RTT, 20 MB/s per connection)"
            if args.wan
            else "on 127.0.0.1"
        )
        with tempfile.NamedTemporaryFile(suffix=".bin") as disk:
            PatternFile(big).write_to(disk.name)
            rows = big_rows(storage, container, big, disk.name)
        from storages.files import ReadAhead

        ahead = ReadAhead.coerce(storage.read_ahead or storage.default_read_ahead)
        print(
            f"\nAzure Blob (Azurite 3.37) {where}: large transfers (defaults: "
            f"{storage.upload_max_conn} blocks of {storage.upload_part_size // MB} MiB at once; "
            f"read-ahead {ahead.concurrency} x {ahead.part_size / MB:g} MiB)\n"
        )
        print(
            f"| {'implementation':<16} | {'operation':<30} | {'seconds':>8} | {'requests':>8} | "
            f"{'peak RSS MB':>11} |"
        )
        print(f"|{'-' * 18}|{'-' * 32}|{'-' * 10}|{'-' * 10}|{'-' * 13}|")
        for r in rows:
            print(
                f"| {r['impl']:<16} | {r['operation']:<30} | {r['seconds']:>8.2f} | "
                f"{r['requests']:>8} | {r['rss_mb']:>11.1f} |"
            )
        small = 8 * MB
        ours = run_storage_bench(
            "django-storages",
            storage,
            big=small,
            listing=args.listing,
            unsigned=AzureStorage(**options, expiration_secs=None),
        )
        theirs = {r["operation"]: r for r in sdk_rows(container, small, args.listing)}
        table = []
        for row in ours:
            table.append(row)
            if row["operation"] in theirs:
                table.append(theirs[row["operation"]])
        table += batch_rows(storage)
        print_table(
            table,
            f"Azure Blob (Azurite 3.37) {where}: median time, HTTP requests per call, "
            "peak Python heap",
        )
    finally:
        if proxy is not None:
            proxy.stop()
        server.stop()


if __name__ == "__main__":
    main()

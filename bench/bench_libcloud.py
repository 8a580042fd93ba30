"""Apache Libcloud benchmark: this package vs plain libcloud calls, with the S3 driver (moto) and
the local driver.

Run: ``.venv/bin/python bench/bench_libcloud.py`` (starts its own local S3 server; the local
driver uses a temporary folder).
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import MB, REPEATS, measure, print_table, run_storage_bench  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3  # noqa: E402


def plain_rows(label: str, provider: dict, big: int, listing: int) -> list[dict]:
    """The same operations with a libcloud driver alone (what an app would write by hand)."""
    from libcloud.storage.providers import get_driver

    kwargs = {k: provider[k] for k in ("region", "host", "port", "secure") if k in provider}

    def new_container():
        return get_driver(provider["type"])(
            provider["user"], provider.get("key"), **kwargs
        ).get_container(provider["bucket"])

    container = new_container()
    driver = container.driver
    prefix = "plain/"
    per_thread = threading.local()  # libcloud drivers are not thread-safe: one per thread

    def put_empty(i: int) -> None:
        if not hasattr(per_thread, "container"):
            per_thread.container = new_container()
        per_thread.container.upload_object(os.devnull, f"{prefix}list/{i:05d}.txt")

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put_empty, range(listing)))
    small = f"{prefix}small/0.txt"

    def chunks(size: int):
        source = PatternFile(size)
        return iter(lambda: source.read(MB), b"")

    def exists(_: int) -> bool:
        try:
            driver.get_object(container.name, small)
            return True
        except Exception:
            return False

    def url(_: int) -> str:
        try:
            return driver.get_object_cdn_url(driver.get_object(container.name, small))
        except NotImplementedError:
            return ""

    ops = {
        "save small (1 KiB)": lambda i: container.upload_object_via_stream(
            iter([b"x" * 1024]), f"{prefix}small/{i}.txt"
        ),
        f"save {big // MB} MB": lambda i: container.upload_object_via_stream(
            chunks(big), f"{prefix}big/{i}.bin"
        ),
        "open+read small": lambda i: b"".join(
            driver.download_object_as_stream(driver.get_object(container.name, small))
        ),
        "exists": exists,
        "size": lambda i: driver.get_object(container.name, small).size,
        "url": url,
        f"listdir ({listing} keys)": lambda i: [
            o.name for o in container.list_objects(prefix=f"{prefix}list/")
        ],
        "delete": lambda i: driver.delete_object(
            driver.get_object(container.name, f"{prefix}small/{i}.txt")
        ),
    }
    return [
        {"impl": label, "operation": op, **measure(fn, REPEATS.get(op, 3))}
        for op, fn in ops.items()
    ]


def bench(label: str, provider: dict, big: int, listing: int, **options) -> list[dict]:
    from django.conf import settings

    from storages.backends.apache_libcloud import LibCloudStorage

    settings.LIBCLOUD_PROVIDERS = {"bench": provider}
    storage = LibCloudStorage("bench", location="ours", **options)
    print_table(
        common.large_transfer_rows(f"storages ({label})", storage),
        f"Libcloud {label}: 200 MB transfers: ms, requests, peak RSS growth (MB)",
        "RSS +MB",
    )
    if "--large-only" in sys.argv:
        return []
    ours = run_storage_bench(f"storages ({label})", storage, big=big, listing=listing)
    theirs = {r["operation"]: r for r in plain_rows(f"libcloud ({label})", provider, big, listing)}
    rows = []
    for row in ours:
        rows.append(row)
        if row["operation"] in theirs:
            rows.append(theirs[row["operation"]])
    return rows


def main() -> None:
    big, listing = 100 * MB, 2000
    server = start_s3()
    try:
        server.create_bucket("bench")
        port = int(server.endpoint.rsplit(":", 1)[1])
        s3 = {
            "type": "s3",
            "user": ACCESS_KEY,
            "key": SECRET_KEY,
            "bucket": "bench",
            "region": "us-east-1",
            "host": "127.0.0.1",
            "port": port,
            "secure": False,
        }
        rows = bench("S3", s3, big, listing)
        with tempfile.TemporaryDirectory() as base, tempfile.TemporaryDirectory() as locks:
            Path(base, "bench").mkdir()
            # the local driver leaves a lock file per object in the temp folder
            previous, tempfile.tempdir = tempfile.tempdir, locks
            try:
                local = {"type": "local", "user": base, "bucket": "bench"}
                rows += bench("local", local, big, listing, base_url="/media/")
            finally:
                tempfile.tempdir = previous
        print_table(
            rows,
            "Libcloud, S3 driver against moto and the local driver: median time, HTTP requests "
            "per call, peak Python heap",
        )
    finally:
        server.process.stop()


if __name__ == "__main__":
    main()

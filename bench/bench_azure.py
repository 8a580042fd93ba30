"""Azure benchmark: this package vs plain azure-storage-blob doing the same minimal calls, against Azurite.

Run: ``.venv/bin/python bench/bench_azure.py`` (starts its own local Azurite).
"""

from __future__ import annotations

import datetime as dt
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MB, REPEATS, measure, print_table, run_storage_bench  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402
from tests.servers.azure import ACCOUNT_KEY, ACCOUNT_NAME, start_azurite  # noqa: E402


def sdk_rows(server, big: int, listing: int) -> list[dict]:
    from azure.core.exceptions import ResourceNotFoundError
    from azure.storage.blob import generate_blob_sas

    service = server.service_client()
    container = service.get_container_client("bench-sdk")
    container.create_container()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: container.upload_blob(f"list/{i:05d}.txt", b""), range(listing)))

    def exists(_):
        try:
            container.get_blob_client("small/0.txt").get_blob_properties()
            return True
        except ResourceNotFoundError:
            return False

    def listdir(_):
        return [b.name for b in container.walk_blobs(name_starts_with="list/", delimiter="/")]

    def url(_):
        sas = generate_blob_sas(ACCOUNT_NAME, "bench-sdk", "small/0.txt", account_key=ACCOUNT_KEY, permission="r",
                                expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1))
        return f"{container.url}/small/0.txt?{sas}"

    ops = {
        "save small (1 KiB)": lambda i: container.upload_blob(f"small/{i}.txt", b"x" * 1024, overwrite=True),
        f"save {big // MB} MB": lambda i: container.upload_blob(f"big/{i}.bin", PatternFile(big), length=big,
                                                                  overwrite=True),
        "open+read small": lambda i: container.download_blob("small/0.txt").readall(),
        "exists": exists,
        "size": lambda i: container.get_blob_client("small/0.txt").get_blob_properties().size,
        "url": url,
        "url unsigned": lambda i: container.get_blob_client("small/0.txt").url,
        f"listdir ({listing} keys)": listdir,
        "delete": lambda i: container.delete_blob(f"small/{i}.txt"),
    }
    return [{"impl": "plain SDK", "operation": op, **measure(fn, REPEATS.get(op, 3))} for op, fn in ops.items()]


def stream_rows(storage, big: int) -> list[dict]:
    """Big reads and open('wb') writes through this package (not in the shared table)."""
    def read_big(_):
        with storage.open("big/0.bin", "rb") as f:
            for _chunk in f.chunks(MB):
                pass

    def write_big(i):
        source = PatternFile(big)
        with storage.open(f"written/{i}.bin", "wb") as f:
            for chunk in iter(lambda: source.read(MB), b""):
                f.write(chunk)

    return [
        {"impl": "django-storages", "operation": f"open+read {big // MB} MB", **measure(read_big, 3)},
        {"impl": "django-storages", "operation": f"open('wb') {big // MB} MB", **measure(write_big, 3)},
    ]


def main() -> None:
    big, listing = 100 * MB, 2000
    server = start_azurite()
    try:
        server.create_container("bench")
        from storages.backends.azure_storage import AzureStorage

        options = {"connection_string": server.connection_string(), "azure_container": "bench"}
        storage = AzureStorage(**options, expiration_secs=3600)
        ours = run_storage_bench("django-storages", storage, big=big, listing=listing,
                                 unsigned=AzureStorage(**options, expiration_secs=None))
        theirs = {r["operation"]: r for r in sdk_rows(server, big, listing)}
        rows = []
        for row in ours:
            rows.append(row)
            if row["operation"] in theirs:
                rows.append(theirs[row["operation"]])
        rows += stream_rows(storage, big)
        print_table(rows, "Azure Blob (Azurite 3.37 on 127.0.0.1): median time, HTTP requests per call, "
                          "peak Python heap")
    finally:
        server.stop()


if __name__ == "__main__":
    main()

"""Shared benchmark harness: time, requests and peak memory per storage operation.

A backend's bench script builds a storage against its local server and calls
:func:`run_storage_bench`; it may pass a ``counter`` (a context manager that
yields a dict with a ``"requests"`` count) when its protocol is not HTTP.
This is a benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.core.files.base import ContentFile, File  # noqa: E402

from storages.testing.helpers import PatternFile  # noqa: E402

MB = 1024 * 1024


@contextlib.contextmanager
def http_requests(host: str | None = None) -> Iterator[dict[str, int]]:
    """Count HTTP requests made through http.client (urllib3, requests, boto3...).

    With ``host``, only requests to that host count (SDKs may call other hosts in the background).
    """
    counts = {"requests": 0}
    original = http.client.HTTPConnection.putrequest

    def counting(self, *args: Any, **kwargs: Any) -> Any:
        if host is None or self.host == host:
            counts["requests"] += 1
        return original(self, *args, **kwargs)

    http.client.HTTPConnection.putrequest = counting  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        http.client.HTTPConnection.putrequest = original  # type: ignore[method-assign]


def measure(fn: Callable[[int], Any], repeat: int, counter=http_requests) -> dict[str, float]:
    """Median seconds, requests per call (last run) and peak Python heap (MB) of fn(i)."""
    times = []
    reqs = 0
    peak = 0
    for i in range(repeat):
        tracemalloc.start()
        with counter() as counts:
            start = time.perf_counter()
            fn(i)
            times.append(time.perf_counter() - start)
        _, p = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        peak = max(peak, p)
        reqs = counts["requests"]
    return {"median_ms": statistics.median(times) * 1000, "requests": reqs, "peak_mb": peak / MB}


def storage_operations(
    storage: Any,
    big: int = 100 * MB,
    listing: int = 2000,
    url_kwargs: dict[str, Any] | None = None,
    unsigned: Any = None,
) -> dict[str, Callable[[int], Any]]:
    """The operations of the bench table, as callables over ``storage``."""
    small = b"x" * 1024
    names = [f"list/{i:05d}.txt" for i in range(listing)]
    state: dict[str, Any] = {}

    def prepare_listing() -> None:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda n: storage.save(n, ContentFile(b"")), names))

    ops: dict[str, Callable[[int], Any]] = {
        "save small (1 KiB)": lambda i: storage.save(f"small/{i}.txt", ContentFile(small)),
        f"save {big // MB} MB": lambda i: storage.save(
            f"big/{i}.bin", File(PatternFile(big), name="b.bin")
        ),
        "open+read small": lambda i: storage.open("small/0.txt").read(),
        "exists": lambda i: storage.exists("small/0.txt"),
        "size": lambda i: storage.size("small/0.txt"),
        "url": lambda i: storage.url("small/0.txt", **(url_kwargs or {})),
    }
    if unsigned is not None:
        ops["url unsigned"] = lambda i: unsigned.url("small/0.txt")
    ops[f"listdir ({listing} keys)"] = lambda i: storage.listdir("list")
    ops["delete"] = lambda i: storage.delete(f"small/{i}.txt")
    state["prepare_listing"] = prepare_listing
    ops["_prepare"] = lambda i: prepare_listing()  # type: ignore[assignment]
    return ops


REPEATS = {
    "save small (1 KiB)": 20,
    "open+read small": 20,
    "exists": 20,
    "size": 20,
    "url": 200,
    "url unsigned": 200,
    "delete": 20,
}


def run_storage_bench(
    label: str,
    storage: Any,
    *,
    counter=http_requests,
    big: int = 100 * MB,
    listing: int = 2000,
    unsigned: Any = None,
) -> list[dict[str, Any]]:
    """Run every operation against ``storage`` and return table rows."""
    ops = storage_operations(storage, big=big, listing=listing, unsigned=unsigned)
    ops.pop("_prepare")(0)
    rows = []
    for op, fn in ops.items():
        repeat = REPEATS.get(op, 3)
        result = measure(fn, repeat, counter)
        rows.append({"impl": label, "operation": op, **result})
    return rows


def print_table(rows: list[dict[str, Any]], title: str, memory: str = "peak MB") -> None:
    print(f"\n{title}\n")
    print(
        f"| {'implementation':<18} | {'operation':<24} | {'median ms':>10} | {'requests':>8} | "
        f"{memory:>8} |"
    )
    print(f"|{'-' * 20}|{'-' * 26}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    for r in rows:
        print(
            f"| {r['impl']:<18} | {r['operation']:<24} | {r['median_ms']:>10.2f} | "
            f"{r['requests']:>8} | {r['peak_mb']:>8.2f} |"
        )


@contextlib.contextmanager
def rss_growth(interval: float = 0.005) -> Iterator[dict[str, float]]:
    """Peak resident memory growth (MB) over the block, sampled from /proc/self/statm."""
    import threading

    page = os.sysconf("SC_PAGE_SIZE")

    def rss() -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * page

    base, result, done = rss(), {"peak_mb": 0.0}, threading.Event()

    def sample() -> None:
        peak = base
        while not done.wait(interval):
            peak = max(peak, rss())
        result["peak_mb"] = (max(peak, rss()) - base) / MB

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield result
    finally:
        done.set()
        thread.join()


def large_transfer_rows(
    label: str, storage: Any, size: int = 200 * MB, counter=http_requests
) -> list[dict[str, Any]]:
    """Save (from a file on disk, from a non-seekable stream), read and open("wb") of ``size``
    bytes: seconds, requests and peak RSS growth (the issue-9 target is <= 64 MB)."""
    import gc
    import tempfile

    from storages.transfer import ChunkReader

    with tempfile.NamedTemporaryFile(prefix="bench-", suffix=".bin") as on_disk:
        source = PatternFile(size)
        for chunk in iter(lambda: source.read(MB), b""):
            on_disk.write(chunk)
        on_disk.flush()

        def from_file() -> None:
            with open(on_disk.name, "rb") as fh:
                storage.save("large/from-file.bin", File(fh, name="from-file.bin"))

        def from_stream() -> None:
            stream = PatternFile(size)
            storage.save(
                "large/from-stream.bin",
                File(ChunkReader(iter(lambda: stream.read(MB), b"")), name="s"),
            )

        def read() -> None:
            with storage.open("large/from-file.bin", "rb") as f:
                for _ in f.chunks(MB):
                    pass

        def write() -> None:
            stream = PatternFile(size)
            with storage.open("large/written.bin", "wb") as f:
                for chunk in iter(lambda: stream.read(MB), b""):
                    f.write(chunk)

        rows = []
        for op, fn in (
            (f"save {size // MB} MB from a file", from_file),
            (f"save {size // MB} MB stream", from_stream),
            (f"read {size // MB} MB (chunks)", read),
            (f'open("wb") {size // MB} MB', write),
        ):
            gc.collect()
            with rss_growth() as rss, counter() as counts:
                start = time.perf_counter()
                fn()
                seconds = time.perf_counter() - start
            rows.append(
                {
                    "impl": label,
                    "operation": op,
                    "median_ms": seconds * 1000,
                    "requests": counts["requests"],
                    "peak_mb": rss["peak_mb"],
                }
            )
        return rows

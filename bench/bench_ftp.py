"""Benchmark FTPStorage against local pyftpdlib (plain and TLS) and vsftpd: time, FTP commands and peak memory.

Run: ``.venv/bin/python bench/bench_ftp.py [--big-mb 1024] [--no-vsftpd]``. Prints the bench table plus
1 GB through the storage both ways (``requests`` counts FTP commands; a transfer is PASV + STOR/RETR).
"""

from __future__ import annotations

import argparse
import contextlib
import ftplib
import hashlib
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from django.core.files.base import File  # noqa: E402

from bench.common import MB, print_table, run_storage_bench  # noqa: E402
from storages.backends.ftp import FTPStorage  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402
from tests.servers.ftp import start_pyftpdlib, start_vsftpd  # noqa: E402


@contextlib.contextmanager
def ftp_commands() -> Iterator[dict[str, int]]:
    """Count the FTP commands sent (every one goes through ftplib.FTP.putcmd)."""
    counts = {"requests": 0}
    original = ftplib.FTP.putcmd

    def counting(client, line):
        counts["requests"] += 1
        return original(client, line)

    ftplib.FTP.putcmd = counting  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        ftplib.FTP.putcmd = original  # type: ignore[method-assign]


def _timed(fn: Callable[[], Any], counter, traced: bool) -> tuple[float, int, float]:
    """(seconds, requests, peak MB of the Python heap when traced)."""
    if traced:
        tracemalloc.start()
    try:
        with counter() as counts:
            start = time.perf_counter()
            fn()
            seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1] / MB if traced else 0.0
    finally:
        if traced:
            tracemalloc.stop()
    return seconds, counts["requests"], peak


def big_transfer_rows(label: str, storage: Any, size: int, counter) -> list[dict[str, Any]]:
    """``size`` bytes through save() and a streamed read: untraced for the speed, traced for the peak heap."""
    source = PatternFile(size, seed=11)
    expected = source.digest()
    got: dict[str, str] = {}

    def save() -> None:
        source.seek(0)
        storage.save("big/one.bin", File(source, name="one.bin"))

    def read() -> None:
        digest = hashlib.sha256()
        with storage.open("big/one.bin", "rb") as f:
            for chunk in f.chunks(MB):
                digest.update(chunk)
        got["sha"] = digest.hexdigest()

    rows = []
    for op, fn in (("save", save), ("read", read)):
        seconds, requests, _ = _timed(fn, counter, traced=False)
        _, _, peak = _timed(fn, counter, traced=True)
        rate = size / MB / seconds
        rows.append({"impl": label, "operation": f"{op} {size // MB} MB ({rate:.0f} MB/s)",
                     "median_ms": seconds * 1000, "requests": requests, "peak_mb": peak})
    assert got["sha"] == expected, "the big file came back different"
    storage.delete("big/one.bin")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=1024, help="size of the big transfer (MB)")
    parser.add_argument("--no-vsftpd", action="store_true", help="skip vsftpd (needs root)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ftp-"))
    servers = [("pyftpdlib", start_pyftpdlib(work / "plain")),
               ("pyftpdlib TLS", start_pyftpdlib(work / "tls", tls=True))]
    if not args.no_vsftpd:
        servers.append(("vsftpd", start_vsftpd(work / "vsftpd")))
    rows = []
    try:
        for label, server in servers:
            storage = FTPStorage(location=server.location("bench"), encoding="utf-8", allow_overwrite=True,
                                 tls_ca_file=str(server.cert) if server.cert else None,
                                 base_url="https://media.example.com/")
            impl = f"FTP {label}"
            if label == "pyftpdlib":
                rows += run_storage_bench(impl, storage, counter=ftp_commands)
            rows += big_transfer_rows(impl, storage, args.big_mb * MB, counter=ftp_commands)
            storage.close()
        print_table(rows, "FTPStorage on 127.0.0.1 (requests = FTP commands)")
    finally:
        for _, server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark FTPStorage against local pyftpdlib (plain and TLS) and vsftpd: time, FTP commands and
peak memory.

Run: ``.venv/bin/python bench/bench_ftp.py [--big-mb 200] [--no-vsftpd]``. Prints the bench table
plus 200 MB saved from a file, from a one-shot stream and through ``open("wb")``, each read back
(``requests`` counts FTP commands, a transfer is PASV + STOR/RETR; for the big transfers ``peak MB``
is the growth of the process's resident set size)."""

from __future__ import annotations

import argparse
import contextlib
import ftplib
import gc
import hashlib
import io
import os
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
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


class RSSPeak:
    """Peak growth of the resident set size (MB) while the block runs, sampled every 5 ms from
    /proc."""

    def __enter__(self) -> RSSPeak:
        self.base = self.peak = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss())

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss())

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.base) / MB


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class OneShotStream(io.RawIOBase):
    """A non-seekable stream (a pipe, a request body): the upload can't know its size or rewind
    it."""

    def __init__(self, source: PatternFile) -> None:
        super().__init__()
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        return self.source.readinto(buffer)


def big_transfer_rows(
    label: str, storage: Any, size: int, counter, workdir: Path
) -> list[dict[str, Any]]:
    """``size`` bytes saved from a file on disk, from a one-shot stream, through open("wb"), and
    read back: seconds, requests and peak RSS growth of each."""
    source = PatternFile(size, seed=11)
    expected = source.digest()
    on_disk = workdir / "big-source.bin"
    with open(on_disk, "wb") as f:
        for chunk in iter(lambda: source.read(MB), b""):
            f.write(chunk)
    got: dict[str, str] = {}

    def save_file() -> None:
        with open(on_disk, "rb") as f:
            storage.save("big/one.bin", File(f, name="one.bin"))

    def save_stream() -> None:
        storage.save("big/one.bin", File(OneShotStream(PatternFile(size, seed=11)), name="one.bin"))

    def write() -> None:
        data = PatternFile(size, seed=11)
        with storage.open("big/one.bin", "wb") as f:
            for chunk in iter(lambda: data.read(MB), b""):
                f.write(chunk)

    def read() -> None:
        digest = hashlib.sha256()
        with storage.open("big/one.bin", "rb") as f:
            for chunk in f.chunks(MB):
                digest.update(chunk)
        got["sha"] = digest.hexdigest()

    rows = []
    for op, fn in (
        ("save from a file", save_file),
        ("read (chunks)", read),
        ("save a one-shot stream", save_stream),
        ("read (chunks)", read),
        ('open("wb") + write', write),
        ("read (chunks)", read),
    ):
        gc.collect()
        with counter() as counts, RSSPeak() as rss:
            start = time.perf_counter()
            fn()
            seconds = time.perf_counter() - start
        rate = size / MB / seconds
        rows.append(
            {
                "impl": label,
                "operation": f"{op} {size // MB} MB ({rate:.0f} MB/s)",
                "median_ms": seconds * 1000,
                "requests": counts["requests"],
                "peak_mb": rss.growth_mb,
            }
        )
        if op.startswith("read"):
            assert got.pop("sha") == expected, "the big file came back different"
    storage.delete("big/one.bin")
    on_disk.unlink()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=200, help="size of the big transfer (MB)")
    parser.add_argument("--no-vsftpd", action="store_true", help="skip vsftpd (needs root)")
    parser.add_argument("--big-only", action="store_true", help="only the big transfers")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-ftp-"))
    servers = [
        ("pyftpdlib", start_pyftpdlib(work / "plain")),
        ("pyftpdlib TLS", start_pyftpdlib(work / "tls", tls=True)),
    ]
    if not args.no_vsftpd:
        servers.append(("vsftpd", start_vsftpd(work / "vsftpd")))
    rows = []
    try:
        for label, server in servers:
            storage = FTPStorage(
                location=server.location("bench"),
                encoding="utf-8",
                allow_overwrite=True,
                tls_ca_file=str(server.cert) if server.cert else None,
                base_url="https://media.example.com/",
            )
            impl = f"FTP {label}"
            if label == "pyftpdlib" and not args.big_only:
                rows += run_storage_bench(impl, storage, counter=ftp_commands)
            rows += big_transfer_rows(
                impl, storage, args.big_mb * MB, counter=ftp_commands, workdir=work
            )
            storage.close()
        print_table(
            rows,
            "FTPStorage on 127.0.0.1 (requests = FTP commands; big transfers: peak MB = RSS "
            "growth)",
        )
    finally:
        for _, server in servers:
            server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

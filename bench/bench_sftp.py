"""Benchmark SFTPStorage against a local OpenSSH sshd: time, SFTP requests and peak memory per
operation.

Run: ``.venv/bin/python bench/bench_sftp.py [--big-mb 200] [--big-only]``. Needs sshd (apt
openssh-server) and root (sshd's privilege separation). Prints the bench table plus 200 MB saved
from a file, from a one-shot stream and through ``open("wb")``, each read back (peak MB of the big
transfers = RSS growth)."""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import paramiko  # noqa: E402

from bench.bench_ftp import big_transfer_rows  # noqa: E402
from bench.common import MB, print_table, run_storage_bench  # noqa: E402
from storages.backends.sftpstorage import SFTPStorage  # noqa: E402
from tests.servers.sftp import start_sftp  # noqa: E402


@contextlib.contextmanager
def sftp_requests() -> Iterator[dict[str, int]]:
    """Count SFTP requests (each goes through SFTPClient._async_request) and SSH handshakes."""
    counts = {"requests": 0}
    original = paramiko.SFTPClient._async_request
    connect = paramiko.SSHClient.connect

    def counting(client, *args, **kwargs):
        counts["requests"] += 1
        return original(client, *args, **kwargs)

    def counting_connect(client, *args, **kwargs):
        counts["requests"] += 1
        return connect(client, *args, **kwargs)

    paramiko.SFTPClient._async_request = counting  # type: ignore[method-assign]
    paramiko.SSHClient.connect = counting_connect  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        paramiko.SFTPClient._async_request = original  # type: ignore[method-assign]
        paramiko.SSHClient.connect = connect  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big-mb", type=int, default=200, help="size of the big transfer (MB)")
    parser.add_argument("--big-only", action="store_true", help="only the big transfers")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-sftp-"))
    server = start_sftp(work / "sshd")
    try:
        storage = SFTPStorage(
            host="127.0.0.1",
            params=server.params(),
            known_host_file=str(server.known_hosts),
            root_path=str(work / "files"),
            unknown_host="reject",
            allow_overwrite=True,
            base_url="https://media.example.com/",
        )
        rows = (
            []
            if args.big_only
            else run_storage_bench("SFTPStorage", storage, counter=sftp_requests)
        )
        rows += big_transfer_rows(
            "SFTPStorage", storage, args.big_mb * MB, counter=sftp_requests, workdir=work
        )
        storage.close()
        print_table(
            rows,
            "SFTPStorage against OpenSSH sshd on 127.0.0.1 (requests = SFTP requests + SSH logins; "
            "big transfers: peak MB = RSS growth)",
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

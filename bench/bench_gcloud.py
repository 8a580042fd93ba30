"""Benchmark GoogleCloudStorage against a local fake-gcs-server.

Run: ``.venv/bin/python bench/bench_gcloud.py [--wan] [--size MB] [--quick]``. Prints:

* the common table (time, requests and peak Python heap per operation, 100 MB files);
* 200 MB transfers (save from a file on disk, save from a non-seekable stream, read through
  ``chunks()``, ``open(name, "wb")``) with seconds, requests and peak RSS growth, beside the
  plain SDK (``Blob.upload_from_filename`` / ``download_to_file`` with the same chunk size).
  With ``--wan`` they go through a local TCP proxy adding 40 ms of round trip and capping each
  connection at 20 MB/s (in a child process, so its buffers don't count in the RSS figures).

Requests are counted at http.client for 127.0.0.1 only: google-auth also tries an
"allowedLocations" lookup at iamcredentials.googleapis.com in a background thread after each
token refresh, which fails offline and is not part of the storage's work.
"""

from __future__ import annotations

import argparse
import gc
import io
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MB, http_requests, print_table, run_storage_bench  # noqa: E402 - sets up Django first


def local_requests():
    """Count HTTP requests to 127.0.0.1 (the emulator and the token endpoint) only."""
    return http_requests(host="127.0.0.1")


def _status(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def rss_run(fn) -> dict[str, float]:
    """Seconds, requests and peak RSS growth (MB) of ``fn()`` (Linux: resets the high-water
    mark)."""
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    before = _status("VmRSS")
    with local_requests() as counts:
        start = time.perf_counter()
        fn()
        seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "requests": counts["requests"],
        "rss_mb": (_status("VmHWM") - before) / MB,
    }


class OneShot(io.RawIOBase):
    """A non-seekable stream (a pipe): its size is unknown until it ends."""

    def __init__(self, inner) -> None:
        super().__init__()
        self.inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self.inner.readinto(buffer)


def wan_proxy(port: int) -> tuple[subprocess.Popen, int]:
    """A TCPProxy (40 ms RTT, 20 MB/s per connection) to ``port`` in a child process, and its
    port."""
    code = (
        "import sys, time; from tests.servers.proxy import TCPProxy; "
        f"p = TCPProxy('127.0.0.1', {port}, latency=0.020, bandwidth=20e6).start(); "
        "print(p.port, flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    return proc, int(proc.stdout.readline())


def transfers(storage, client_bucket, size: int, chunk: int) -> list[tuple[str, dict[str, float]]]:
    from django.core.files.base import File

    from storages.testing.helpers import PatternFile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.bin"
        PatternFile(size, seed=1).write_to(path)

        def save_file():
            with open(path, "rb") as f:
                storage.save("big/from-file.bin", File(f))

        def save_stream():
            storage.save(
                "big/from-stream.bin", File(OneShot(PatternFile(size, seed=1)), name="s.bin")
            )

        def read():
            with storage.open("big/from-file.bin", "rb") as f:
                for _ in f.chunks(MB):
                    pass

        def write():
            source = PatternFile(size, seed=1)
            with storage.open("big/written.bin", "wb") as f:
                for piece in iter(lambda: source.read(MB), b""):
                    f.write(piece)

        def sdk_upload():
            blob = client_bucket.blob(f"{storage.location}/big/sdk.bin", chunk_size=chunk)
            blob.upload_from_filename(str(path))

        def sdk_download():
            with open(Path(tmp) / "down.bin", "wb") as f:
                client_bucket.blob(f"{storage.location}/big/sdk.bin").download_to_file(f)

        for label, fn in [
            ("save from a file", save_file),
            ("save from a stream", save_stream),
            ("read (chunks)", read),
            ('open("wb")', write),
            ("SDK upload_from_filename", sdk_upload),
            ("SDK download_to_file", sdk_download),
        ]:
            rows.append((label, rss_run(fn)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--wan", action="store_true", help="through a 40 ms RTT, 20 MB/s per connection proxy"
    )
    parser.add_argument("--size", type=int, default=200, help="MB per transfer")
    parser.add_argument(
        "--quick", action="store_true", help="only the transfers, not the common table"
    )
    args = parser.parse_args()

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage as gcs
    from google.oauth2 import service_account

    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.gcs import service_account_info, start_gcs, start_token_server

    server = start_gcs()
    tokens = start_token_server()
    proxy = None
    try:
        server.create_bucket("bench")
        endpoint = server.endpoint
        if args.wan:
            proxy, port = wan_proxy(server.process.port)
            endpoint = f"http://127.0.0.1:{port}"
        creds = service_account.Credentials.from_service_account_info(
            service_account_info(tokens.grant_uri)
        )
        location = f"bench/{uuid.uuid4().hex}"
        options = {
            "bucket_name": "bench",
            "credentials": creds,
            "location": location,
            "client_options": {"api_endpoint": endpoint},
        }
        storage = GoogleCloudStorage(**options)
        if not args.quick:
            unsigned = GoogleCloudStorage(**{**options, "querystring_auth": False})
            rows = run_storage_bench(
                "GoogleCloudStorage",
                storage,
                counter=local_requests,
                big=100 * MB,
                unsigned=unsigned,
            )
            off = GoogleCloudStorage(
                **{**options, "file_overwrite": False, "location": location + "-off"}
            )
            rows += [
                r
                for r in run_storage_bench(
                    "  overwrite off", off, counter=local_requests, big=100 * MB, listing=10
                )
                if r["operation"].startswith("save")
            ]
            print_table(
                rows,
                "GoogleCloudStorage on fake-gcs-server v1.54.0 (127.0.0.1, filesystem backend)",
            )
        client = gcs.Client(
            project="bench",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": endpoint},
        )
        storage.exists("warm-up")
        rows = transfers(storage, client.bucket("bench"), args.size * MB, storage.upload_part_size)
        where = (
            "through the WAN proxy (40 ms RTT, 20 MB/s per connection)"
            if args.wan
            else "on 127.0.0.1"
        )
        print(f"\n{args.size} MB transfers {where}; chunk {storage.upload_part_size // MB} MiB\n")
        print(
            f"| {'operation':<26} | {'seconds':>8} | {'requests':>8} | {'peak RSS growth MB':>18} |"
        )
        print(f"|{'-' * 28}|{'-' * 10}|{'-' * 10}|{'-' * 20}|")
        for label, r in rows:
            print(
                f"| {label:<26} | {r['seconds']:>8.2f} | {r['requests']:>8} | {r['rss_mb']:>18.1f} "
                "|"
            )
    finally:
        if proxy is not None:
            proxy.stdin.close()
            proxy.wait(10)
        tokens.stop()
        server.stop()


if __name__ == "__main__":
    main()

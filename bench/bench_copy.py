"""Copy benchmark (storages.copy.copy_files / manage.py copystorage) on the WAN mode.

Local disk -> S3 (moto) through tests/servers/proxy.TCPProxy (default 40 ms round trip,
20 MB/s per connection): 2,000 small files (0.5-4 KiB) and 1 GB in 10 files, each with
``--workers 1`` and the default (and, for the large files, ``--large-workers`` equal to
``--workers`` instead of the default 2); then S3 -> S3 on the server. Each run is its own process so
its peak RSS (``ru_maxrss``) is its own. Prints files/s, MB/s, peak RSS; asserts nothing.

Run: ``.venv/bin/python bench/bench_copy.py [--small 2000] [--big-mb 1000] [--latency 0.02]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MB = 1000 * 1000


def make_tree(root: Path, small: int, big_mb: int) -> None:
    rnd = random.Random(7)
    for i in range(small):
        path = root / "small" / f"d{i % 20}" / f"f{i:05d}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(rnd.randbytes(rnd.randint(512, 4096)))
    if big_mb:
        from storages.testing.helpers import PatternFile

        (root / "big").mkdir(parents=True, exist_ok=True)
        for i in range(10):
            source = PatternFile(big_mb * MB // 10, seed=i)
            with open(root / "big" / f"part{i}.bin", "wb") as fh:
                shutil.copyfileobj(source, fh, 1024 * 1024)


def worker(args: argparse.Namespace) -> None:
    """One copy in this process: print a JSON line with the figures."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    import django

    django.setup()
    from django.core.files.storage import FileSystemStorage

    from storages.backends.s3 import S3Storage
    from storages.copy import copy_files
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    def s3(location: str) -> S3Storage:
        return S3Storage(
            bucket_name="bench-copy",
            endpoint_url=args.endpoint,
            region_name="us-east-1",
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
            location=location,
        )

    source = (
        FileSystemStorage(location=args.tree) if args.source == "disk" else s3(args.source_location)
    )
    dest = s3(args.dest_location)
    start = time.perf_counter()
    report = copy_files(
        source, dest, args.path, workers=args.workers, large_workers=args.large_workers
    )
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "files": len(report.copied),
                "bytes": report.bytes_copied,
                "seconds": seconds,
                "server_side": report.server_side,
                "failed": len(report.failed),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def run(args: argparse.Namespace, endpoint: str, **kwargs: str | int) -> dict:
    argv = [sys.executable, __file__, "--worker", "--endpoint", endpoint, "--tree", str(args.tree)]
    for key, value in kwargs.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    out = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--endpoint")
    parser.add_argument("--tree", type=Path)
    parser.add_argument("--source", default="disk")
    parser.add_argument("--source-location", default="")
    parser.add_argument("--dest-location", default="")
    parser.add_argument("--path", default="")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--large-workers", type=int, default=2)
    parser.add_argument("--small", type=int, default=2000)
    parser.add_argument("--big-mb", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.020, help="one way, seconds")
    parser.add_argument("--bandwidth", type=float, default=20e6, help="bytes/s per connection")
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return

    from storages.copy import DEFAULT_WORKERS
    from tests.servers.proxy import TCPProxy
    from tests.servers.s3 import start_s3

    server = start_s3()
    tree = Path(tempfile.mkdtemp(prefix="bench-copy-"))
    args.tree = tree
    try:
        server.create_bucket("bench-copy")
        make_tree(tree, args.small, args.big_mb)
        port = int(server.endpoint.rsplit(":", 1)[1])
        proxy = TCPProxy("127.0.0.1", port, latency=args.latency, bandwidth=args.bandwidth).start()
        wan = f"http://127.0.0.1:{proxy.port}"
        rows = []
        for label, path, size in (
            (f"{args.small} small files", "small", None),
            (f"{args.big_mb} MB in 10 files", "big", args.big_mb),
        ):
            if size == 0 or (size is None and not args.small):
                continue
            for workers in (1, DEFAULT_WORKERS):
                location = f"run-{uuid.uuid4().hex[:8]}"
                figures = run(args, wan, path=path, workers=workers, dest_location=location)
                rows.append((f"disk -> S3, {label}", workers, figures))
                if workers == DEFAULT_WORKERS and size:
                    figures = run(
                        args,
                        wan,
                        path=path,
                        workers=workers,
                        large_workers=workers,
                        dest_location=f"run-{uuid.uuid4().hex[:8]}",
                    )
                    rows.append(
                        (f"disk -> S3, {label}, --large-workers {workers}", workers, figures)
                    )
                if workers == DEFAULT_WORKERS:
                    again = run(args, wan, path=path, workers=workers, dest_location=location)
                    rows.append((f"  rerun (all skipped), {label}", workers, again))
                    copied = run(
                        args,
                        wan,
                        source="s3",
                        source_location=location,
                        path=path,
                        workers=workers,
                        dest_location=f"copy-{uuid.uuid4().hex[:8]}",
                    )
                    rows.append((f"S3 -> S3 on the server, {label}", workers, copied))
        print(
            f"WAN mode: {2 * args.latency * 1000:.0f} ms round trip, {args.bandwidth / 1e6:.0f} "
            "MB/s per connection (moto behind tests/servers/proxy.TCPProxy)"
        )
        print(
            f"{'run':<52}{'workers':>8}{'files':>7}{'seconds':>9}{'files/s':>9}{'MB/s':>8}"
            f"{'peak RSS MB':>13}"
        )
        for label, workers, f in rows:
            count = f["files"] or (args.small if "small" in label else 10)
            print(
                f"{label:<52}{workers:>8}{f['files']:>7}{f['seconds']:>9.1f}"
                f"{count / f['seconds']:>9.1f}"
                f"{f['bytes'] / MB / f['seconds']:>8.1f}{f['peak_rss_mb']:>13.0f}"
            )
        proxy.stop()
    finally:
        server.process.stop()
        shutil.rmtree(tree, ignore_errors=True)


if __name__ == "__main__":
    main()

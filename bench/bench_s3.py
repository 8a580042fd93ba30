"""S3 benchmark: this package vs plain boto3 doing the same minimal calls, against moto.

Run: ``.venv/bin/python bench/bench_s3.py`` (starts its own local S3 server), or with
``--wan`` for the WAN mode (:mod:`bench.wan`): moto behind a proxy adding 40 ms of
round trip and 20 MB/s per connection; this package vs plain boto3 vs django-storages
1.14 (its own virtualenv, :mod:`bench.reference`), each measurement in a fresh process
with its peak RSS growth.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MB, REPEATS, measure, print_table, run_storage_bench  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3  # noqa: E402


def boto3_rows(server, big: int, listing: int) -> list[dict]:
    import boto3
    import botocore
    from botocore.config import Config

    client = server.client()
    unsigned = boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        region_name="us-east-1",
        config=Config(signature_version=botocore.UNSIGNED),
    )
    bucket = "bench-boto3"
    client.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: client.put_object(Bucket=bucket, Key=f"list/{i:05d}.txt", Body=b""),
                range(listing),
            )
        )

    def listdir(_):
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix="list/", Delimiter="/"
        )
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def exists(_):
        try:
            client.head_object(Bucket=bucket, Key="small/0.txt")
            return True
        except client.exceptions.ClientError:
            return False

    params = {"Bucket": bucket, "Key": "small/0.txt"}
    ops = {
        "save small (1 KiB)": lambda i: client.put_object(
            Bucket=bucket, Key=f"small/{i}.txt", Body=b"x" * 1024
        ),
        f"save {big // MB} MB": lambda i: client.upload_fileobj(
            PatternFile(big), bucket, f"big/{i}.bin"
        ),
        "open+read small": lambda i: client.get_object(**params)["Body"].read(),
        "exists": exists,
        "size": lambda i: client.head_object(**params)["ContentLength"],
        "url": lambda i: client.generate_presigned_url("get_object", Params=params),
        "url unsigned": lambda i: unsigned.generate_presigned_url("get_object", Params=params),
        f"listdir ({listing} keys)": listdir,
        "delete": lambda i: client.delete_object(Bucket=bucket, Key=f"small/{i}.txt"),
    }
    return [
        {"impl": "plain boto3", "operation": op, **measure(fn, REPEATS.get(op, 3))}
        for op, fn in ops.items()
    ]


def main() -> None:
    big, listing = 100 * MB, 2000
    server = start_s3()
    try:
        server.create_bucket("bench")
        from storages.backends.s3 import S3StaticStorage, S3Storage

        options = {
            "bucket_name": "bench",
            "endpoint_url": server.endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
        storage = S3Storage(**options)
        ours = run_storage_bench(
            "django-storages",
            storage,
            big=big,
            listing=listing,
            unsigned=S3StaticStorage(**options),
        )
        theirs = {r["operation"]: r for r in boto3_rows(server, big, listing)}
        rows = []
        for row in ours:
            rows.append(row)
            if row["operation"] in theirs:
                rows.append(theirs[row["operation"]])
        print_table(
            rows,
            "S3 (moto server on 127.0.0.1): median time, HTTP requests per call, peak Python heap",
        )
    finally:
        server.process.stop()


# -- WAN mode ------------------------------------------------------------------------------
_SETUP = r"""
import io, json, os
B = json.loads(os.environ["BENCH"])
MB = 2**20

def pattern(size):
    block = bytes(range(256)) * 4096
    class Pattern(io.RawIOBase):
        left = size
        def readable(self):
            return True
        def readinto(self, buf):
            n = min(len(buf), self.left, len(block))
            buf[:n] = block[:n]
            self.left -= n
            return n
    return Pattern()
"""

_OURS = (
    _SETUP
    + r"""
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
from boto3.s3.transfer import TransferConfig
from django.core.files import File
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage
extra = {"transfer_config": TransferConfig(max_concurrency=1)} if B.get("serial") else {}
storage = S3Storage(**B["options"], **extra)
storage.client  # built outside the figures, as boto3's client is
"""
)

_BOTO3 = (
    _SETUP
    + r"""
import boto3
from botocore.config import Config
from boto3.s3.transfer import TransferConfig
from storages.backends.s3 import default_transfer_config
o = B["options"]
client = boto3.client("s3", endpoint_url=o["endpoint_url"], region_name=o["region_name"],
                      aws_access_key_id=o["access_key"], aws_secret_access_key=o["secret_key"],
                      config=Config(request_checksum_calculation="when_required",
                                    response_checksum_validation="when_required",
                                    max_pool_connections=32))
config = TransferConfig(max_concurrency=1) if B.get("serial") else default_transfer_config()
bucket = o["bucket_name"]
"""
)

_REFERENCE = (
    _SETUP
    + r"""
from django.conf import settings
settings.configure()
import django
django.setup()
from storages.backends.s3 import S3Storage
o = B["options"]
storage = S3Storage(bucket_name=o["bucket_name"], endpoint_url=o["endpoint_url"],
                    region_name=o["region_name"], access_key=o["access_key"],
                    secret_key=o["secret_key"])
"""
)

_READ = "measure(lambda: [None for _ in storage.open('read/big.bin').chunks()])"
_SMALL = {
    "save 2 KB": (
        "measure(lambda: storage.save('small/2k.txt', ContentFile(b'x' * 2048)), repeat=15, "
        "warm=True)",
        "measure(lambda: client.put_object(Bucket=bucket, Key='small/2k.txt', Body=b'x' * 2048), "
        "repeat=15, warm=True)",
    ),
    "open+read small": (
        "measure(lambda: storage.open('small/2k.txt').read(), repeat=15, warm=True)",
        "measure(lambda: client.get_object(Bucket=bucket, Key='small/2k.txt')['Body'].read(), "
        "repeat=15, warm=True)",
    ),
    "exists": (
        "measure(lambda: storage.exists('small/2k.txt'), repeat=15, warm=True)",
        "measure(lambda: client.head_object(Bucket=bucket, Key='small/2k.txt'), repeat=15, "
        "warm=True)",
    ),
}


def wan_main() -> None:
    import json
    import os
    import statistics
    import tempfile

    from bench.reference import python as reference_python
    from bench.wan import RTT, print_wan_table, run_measured, wan_proxy

    size = int(os.environ.get("WAN_SIZE_MB", "200")) * MB
    server = start_s3(keep_values=True)  # a ranged GET costs its range, as on S3
    proxy = wan_proxy(int(server.endpoint.rsplit(":", 1)[1]))
    workdir = tempfile.mkdtemp(prefix="bench-s3-")
    path = os.path.join(workdir, "big.bin")
    try:
        PatternFile(size).write_to(path)
        client = server.client()
        client.create_bucket(Bucket="bench")
        client.upload_file(path, "bench", "read/big.bin")
        client.put_object(Bucket="bench", Key="small/2k.txt", Body=b"x" * 2048)
        options = {
            "bucket_name": "bench",
            "endpoint_url": f"http://127.0.0.1:{proxy.port}",
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
        rows: list[dict] = []

        def run(
            impl: str, operation: str, setup: str, code: str, python: str | None = None, **extra
        ) -> None:
            env = {
                "BENCH": json.dumps(
                    {"options": options, "path": path, "size": size, "n": 1, **extra}
                )
            }
            if python:
                env["PYTHONPATH"] = ""
            try:
                result = run_measured(setup + code, python=python, env=env)
            except Exception as exc:  # keep the other rows: a missing reference venv is not fatal
                print(f"{impl} / {operation}: {str(exc).splitlines()[0]}", file=sys.stderr)
                return
            rows.append({"impl": impl, "operation": operation, **result})
            print(
                f"  {impl:<22} {operation:<40} {result['seconds']:8.3f} s {result['rss_mb']:7.1f} "
                "MB",
                file=sys.stderr,
            )

        big = f"{size // MB} MB"
        saves = {
            f"save {big} from a file path": "class Tmp(File):\n    def temporary_file_path(self):\n"
            "        return B['path']\nmeasure(lambda: storage.save('big/save.bin', "
            "Tmp(open(B['path'], 'rb'), name='b.bin')), repeat=B['n'])",
            f"save {big} from an open file": "measure(lambda: storage.save('big/save.bin', "
            "File(open(B['path'], 'rb'), name='b.bin')))",
            f"save {big} from a non-seekable stream": (
                "measure(lambda: storage.save('big/save.bin', "
                "File(pattern(B['size']), name='b.bin')))"
            ),
            f"open('wb') {big}": "def write():\n    with storage.open('big/save.bin', 'wb') as f:\n"
            "        src = pattern(B['size'])\n"
            "        for c in iter(lambda: src.read(MB), b''):\n            f.write(c)\n"
            "measure(write)",
        }
        upload = (
            "measure(lambda: client.upload_file(B['path'], bucket, 'big/save.bin', "
            "Config=config), repeat=B['n'])"
        )
        groups = os.environ.get("WAN_GROUPS", "save,serial,read,small").split(",")
        if "save" in groups:
            # median of 3 for the pair the 1.2x target compares (the shared machine is noisy)
            run(
                "boto3 upload_file",
                f"save {big} from a file path (median of 3)",
                _BOTO3,
                upload,
                n=3,
            )
            for operation, code in saves.items():
                run(
                    "django-storages",
                    operation + (" (median of 3)" if "path" in operation else ""),
                    _OURS,
                    code,
                    n=3 if "path" in operation else 1,
                )
            run(
                "django-storages 1.14",
                f"save {big} from an open file",
                _REFERENCE,
                "from django.core.files import File\n" + saves[f"save {big} from an open file"],
                python=str(reference_python()),
            )
        if "fileobj" in groups:
            # ours with default settings against boto3's own upload_fileobj with its own defaults
            # (TransferConfig(): 8 MiB parts, 10 threads, up to 10 parts in memory), three
            # interleaved rounds, medians
            pair = [
                ("django-storages", _OURS, saves[f"save {big} from an open file"]),
                (
                    "boto3 upload_fileobj",
                    _BOTO3,
                    "measure(lambda: client.upload_fileobj(open(B['path'], 'rb'), bucket, "
                    "'big/save.bin', Config=TransferConfig()))",
                ),
            ]
            first = len(rows)
            for _ in range(3):
                for impl, setup, code in pair:
                    run(impl, f"save {big} from an open file (one round)", setup, code)
            rounds, rows[first:] = rows[first:], []
            for impl, *_ in pair:
                mine = [r for r in rounds if r["impl"] == impl]
                if mine:
                    rows.append(
                        {
                            "impl": impl,
                            "operation": f"save {big} from an open file, median of {len(mine)}",
                            "seconds": statistics.median(r["seconds"] for r in mine),
                            "rss_mb": max(r["rss_mb"] for r in mine),
                        }
                    )
        if "serial" in groups:
            run(
                "django-storages",
                f"save {big} from a file, max_concurrency=1",
                _OURS,
                saves[f"save {big} from an open file"],
                serial=True,
            )
            run(
                "boto3 upload_file",
                f"save {big} from a file, max_concurrency=1",
                _BOTO3,
                upload,
                serial=True,
            )
        if "read" in groups:
            # three interleaved rounds, medians: the load of the machine changes from minute to
            # minute
            reads = [
                ("django-storages", _OURS, _READ, None),
                (
                    "boto3 download_fileobj",
                    _BOTO3,
                    "measure(lambda: client.download_fileobj(bucket, 'read/big.bin', "
                    "open(os.devnull, 'wb')))",
                    None,
                ),
                ("django-storages 1.14", _REFERENCE, _READ, str(reference_python())),
            ]
            first = len(rows)
            for _ in range(3):
                for impl, setup, code, python in reads:
                    run(impl, f"read {big} (one round)", setup, code, python=python)
            rounds, rows[first:] = rows[first:], []
            for impl, *_ in reads:
                mine = [r for r in rounds if r["impl"] == impl]
                if mine:
                    rows.append(
                        {
                            "impl": impl,
                            "operation": f"read {big} (ours: chunks()), median of {len(mine)}",
                            "seconds": statistics.median(r["seconds"] for r in mine),
                            "rss_mb": max(r["rss_mb"] for r in mine),
                        }
                    )
        if "small" in groups:
            for operation, (ours, theirs) in _SMALL.items():
                run("django-storages", operation, _OURS, ours)
                run("plain boto3", operation, _BOTO3, theirs)
        print_wan_table(
            rows,
            f"S3 through the WAN proxy ({RTT * 1000:.0f} ms round trip, "
            f"{proxy.bandwidth / 1e6:.0f} MB/s per connection): median seconds, round trips, "
            "peak RSS growth",
        )
    finally:
        proxy.stop()
        server.process.stop()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    wan_main() if "--wan" in sys.argv else main()

"""S3 benchmark: this package vs plain boto3 doing the same minimal calls, against moto.

Run: ``.venv/bin/python bench/bench_s3.py`` (starts its own local S3 server).
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
    unsigned = boto3.client("s3", endpoint_url=server.endpoint, region_name="us-east-1",
                            config=Config(signature_version=botocore.UNSIGNED))
    bucket = "bench-boto3"
    client.create_bucket(Bucket=bucket)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: client.put_object(Bucket=bucket, Key=f"list/{i:05d}.txt", Body=b""),
                      range(listing)))

    def listdir(_):
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="list/", Delimiter="/")
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def exists(_):
        try:
            client.head_object(Bucket=bucket, Key="small/0.txt")
            return True
        except client.exceptions.ClientError:
            return False

    params = {"Bucket": bucket, "Key": "small/0.txt"}
    ops = {
        "save small (1 KiB)": lambda i: client.put_object(Bucket=bucket, Key=f"small/{i}.txt", Body=b"x" * 1024),
        f"save {big // MB} MB": lambda i: client.upload_fileobj(PatternFile(big), bucket, f"big/{i}.bin"),
        "open+read small": lambda i: client.get_object(**params)["Body"].read(),
        "exists": exists,
        "size": lambda i: client.head_object(**params)["ContentLength"],
        "url": lambda i: client.generate_presigned_url("get_object", Params=params),
        "url unsigned": lambda i: unsigned.generate_presigned_url("get_object", Params=params),
        f"listdir ({listing} keys)": listdir,
        "delete": lambda i: client.delete_object(Bucket=bucket, Key=f"small/{i}.txt"),
    }
    return [{"impl": "plain boto3", "operation": op, **measure(fn, REPEATS.get(op, 3))} for op, fn in ops.items()]


def main() -> None:
    big, listing = 100 * MB, 2000
    server = start_s3()
    try:
        server.create_bucket("bench")
        from storages.backends.s3 import S3StaticStorage, S3Storage

        options = {"bucket_name": "bench", "endpoint_url": server.endpoint, "region_name": "us-east-1",
                   "access_key": ACCESS_KEY, "secret_key": SECRET_KEY}
        storage = S3Storage(**options)
        ours = run_storage_bench("django-storages", storage, big=big, listing=listing,
                                 unsigned=S3StaticStorage(**options))
        theirs = {r["operation"]: r for r in boto3_rows(server, big, listing)}
        rows = []
        for row in ours:
            rows.append(row)
            if row["operation"] in theirs:
                rows.append(theirs[row["operation"]])
        print_table(rows, "S3 (moto server on 127.0.0.1): median time, HTTP requests per call, peak Python heap")
    finally:
        server.process.stop()


if __name__ == "__main__":
    main()

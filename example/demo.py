"""``make demo``: start a local S3 server, then run the example project against it.

Steps: start moto's S3 server on 127.0.0.1, create the media and static buckets,
``migrate``, ``checkstorages``, ``collectstatic`` (twice: the second run uploads nothing), upload
through a FileField, print and fetch the URLs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(port: int, proc: subprocess.Popen) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise SystemExit("the S3 server did not start")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the S3 server did not answer")


def main() -> int:
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    print(f"== starting a local S3 server (moto) on {endpoint}")
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait(port, server)
        env = {
            **os.environ,
            "AWS_S3_ENDPOINT_URL": endpoint,
            "AWS_S3_ACCESS_KEY_ID": "demo-key",
            "AWS_S3_SECRET_ACCESS_KEY": "demo-secret",
            "DJANGO_SETTINGS_MODULE": "example.settings",
        }
        import boto3

        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="demo-key",
            aws_secret_access_key="demo-secret",
        )
        for bucket in ("example-media", "example-static"):
            s3.create_bucket(Bucket=bucket)
        with tempfile.TemporaryDirectory() as tmp:
            env["DEMO_DB"] = str(Path(tmp) / "db.sqlite3")
            manage = [sys.executable, str(HERE / "manage.py")]
            steps = [
                ("migrate", ["migrate", "--noinput", "-v", "0"]),
                ("check the storages: one live round trip each", ["checkstorages"]),
                ("collectstatic", ["collectstatic", "--noinput"]),
                ("collectstatic again (nothing changed)", ["collectstatic", "--noinput"]),
                ("upload through a FileField and fetch the URLs", ["demo"]),
            ]
            for title, args in steps:
                print(f"\n== {title}")
                subprocess.run(manage + args, env=env, check=True, cwd=ROOT)
        print(
            "\nDemo finished: media and static files went to the local S3 server and every URL "
            "worked."
        )
        return 0
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    sys.exit(main())

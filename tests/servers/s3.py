"""moto's standalone S3 server, run as a separate process on 127.0.0.1."""

from __future__ import annotations

from dataclasses import dataclass

import boto3

from tests.servers import ServerProcess, free_port, python

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key-0123456789"  # the tests check it never shows up anywhere


@dataclass
class S3Server:
    endpoint: str
    process: ServerProcess

    def client(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)


def start_s3(auth: bool = False) -> S3Server:
    """Start moto; with ``auth`` it checks request signatures (and knows no keys)."""
    port = free_port()
    env = {"MOTO_PORT": str(port)}
    if auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    proc = ServerProcess([python(), "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], port, env=env)
    return S3Server(f"http://127.0.0.1:{port}", proc)

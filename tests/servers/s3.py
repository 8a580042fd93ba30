"""moto's standalone S3 server, run as a separate process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import requests

from tests.servers import ServerProcess, free_port, python

ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key-0123456789"  # the tests check it never shows up anywhere


@dataclass
class S3Server:
    endpoint: str
    process: ServerProcess

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[dict]]:
        """The requests the server received inside the block (moto's recorder): dicts with
        "method", "url" and "headers", filled in when the block ends."""
        api = f"{self.endpoint}/moto-api/recorder"
        requests.post(f"{api}/reset-recording", timeout=30)
        requests.post(f"{api}/start-recording", timeout=30)
        seen: list[dict] = []
        try:
            yield seen
        finally:
            requests.post(f"{api}/stop-recording", timeout=30)
            text = requests.get(f"{api}/download-recording", timeout=30).text
            seen.extend(json.loads(line) for line in text.splitlines() if line.strip())


# Real S3 checks If-None-Match and stores the object in one atomic step; moto checks, then
# stores (for a CompleteMultipartUpload, after joining the parts), so two racing create-only
# writes can both pass. One lock around conditional writes makes the test server as atomic
# as S3, so the create-only race tests test the client, not moto's window.
_ATOMIC_MOTO = """
import sys, threading
from moto.s3.responses import S3Response

lock, original = threading.Lock(), S3Response._key_response

def key_response(self, request, full_url):
    if request.method in ("PUT", "POST") and request.headers.get("If-None-Match") == "*":
        with lock:
            return original(self, request, full_url)
    return original(self, request, full_url)

S3Response._key_response = key_response

# moto answers ListMultipartUploads with one fixed "Initiated" date (2010): record when each
# upload really started, so age thresholds (checkstorages --leftovers-older-than) can be tested.
import datetime, re
from moto.s3.models import FakeMultipart

started, original_init = {}, FakeMultipart.__init__

def init(self, *args, **kwargs):
    original_init(self, *args, **kwargs)
    now = datetime.datetime.now(datetime.timezone.utc)
    started[self.id] = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")

FakeMultipart.__init__ = init
original_list = S3Response.list_multipart_uploads

def real_initiated(match):
    block = match.group(0)
    found = re.search(r"<UploadId>([^<]+)</UploadId>", block)
    when = started.get(found.group(1)) if found else None
    if when is None:
        return block
    return re.sub(r"<Initiated>[^<]*</Initiated>", f"<Initiated>{when}</Initiated>", block)

def list_multipart_uploads(self):
    status, headers, body = original_list(self)
    text = body.decode() if isinstance(body, bytes) else body
    text = re.sub(r"<Upload>.*?</Upload>", real_initiated, text, flags=re.S)
    return status, headers, text.encode() if isinstance(body, bytes) else text

S3Response.list_multipart_uploads = list_multipart_uploads
import os
if os.environ.get("STORAGES_MOTO_KEEP_VALUES"):
    # Benchmarks: moto reads an object's whole value from its buffer for every GET, then slices a
    # range out of it, so a ranged GET of a 200 MB object costs 200 MB of copying. Keeping the
    # value makes a ranged GET cost its range, as on S3, and the WAN bench measures the network.
    from moto.s3.models import FakeKey

    read_value, write_value = FakeKey.value.fget, FakeKey.value.fset

    def kept_value(self):
        value = self.__dict__.get("_kept_value")
        if value is None:
            value = self.__dict__["_kept_value"] = read_value(self)
        return value

    def new_value(self, value):
        self.__dict__.pop("_kept_value", None)
        write_value(self, value)

    FakeKey.value = property(kept_value, new_value)
if os.environ.get("STORAGES_STS_DURATION"):
    # Role credentials that expire within seconds (AWS's minimum is 900 s), for refresh tests.
    from moto.sts.models import STSBackend

    assume_role = STSBackend.assume_role

    def short_assume_role(self, **kwargs):
        kwargs["duration"] = int(os.environ["STORAGES_STS_DURATION"])
        return assume_role(self, **kwargs)

    STSBackend.assume_role = short_assume_role
from moto.server import main
main(sys.argv[1:])
"""


def start_s3(
    auth: bool = False, sts_duration: int | None = None, keep_values: bool = False
) -> S3Server:
    """Start moto; with ``auth`` it checks request signatures (and knows no keys); with
    ``sts_duration`` its STS issues role credentials lasting that many seconds; with
    ``keep_values`` (benchmarks) a ranged GET costs its range, not a copy of the whole object."""
    port = free_port()
    # moto writes its request recording (see S3Server.recording) outside the work tree.
    env = {
        "MOTO_PORT": str(port),
        "MOTO_RECORDER_FILEPATH": os.path.join(tempfile.gettempdir(), f"moto-recording-{port}"),
    }
    if auth:
        env["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    if keep_values:
        env["STORAGES_MOTO_KEEP_VALUES"] = "1"
    if sts_duration:
        env["STORAGES_STS_DURATION"] = str(sts_duration)
    proc = ServerProcess(
        [python(), "-c", _ATOMIC_MOTO, "-H", "127.0.0.1", "-p", str(port)], port, env=env
    )
    return S3Server(f"http://127.0.0.1:{port}", proc)

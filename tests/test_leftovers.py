"""Leftovers of killed uploads: a worker killed (SIGKILL) during a large ``save()`` leaves an S3
multipart upload, Azure uncommitted blocks or a hidden ``.~storages-*.part`` file on SFTP/FTP.
``checkstorages`` reports those older than ``--leftovers-older-than`` and ``--remove-leftovers``
removes them (checked at the server); a younger one is left alone (it may be an upload in
progress). On S3 it also says whether a lifecycle rule aborts incomplete multipart uploads.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import call_command

from storages.testing.suite import use_storages
from tests.backends.test_azure import CONTAINER, azurite  # noqa: F401  (session fixture)
from tests.backends.test_ftp import ftp_server  # noqa: F401
from tests.backends.test_sftp import sftp_data, sftp_options, sftp_server  # noqa: F401
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY
from tests.test_commands_stop import temp_files, uncommitted_blocks, wait_until

BUCKET = "leftover-tests"
ROOT = Path(__file__).resolve().parents[1]

# A worker saving a 40 MB file that arrives slowly (a big upload from a slow client); the test
# kills it with SIGKILL once the server shows the upload under way.
WORKER = """
import sys, time, django
django.setup()
from django.core.files.storage import default_storage

class Slow:
    left = 40 * 1024 * 1024
    def read(self, n=-1):
        n = min(self.left, 256 * 1024 if n is None or n < 0 else n)
        time.sleep(0.05)
        self.left -= n
        return b"x" * n

default_storage.save("uploads/big.bin", Slow())
print("finished", flush=True)
"""


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


def setup(kind: str, request) -> tuple[dict, Callable[[], list]]:
    """``STORAGES["default"]`` for ``kind`` and "what unfinished upload the server holds"."""
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        location = f"w-{uuid.uuid4().hex[:8]}"

        def held() -> list:
            reply = server.client().list_multipart_uploads(Bucket=BUCKET, Prefix=location + "/")
            return [u["Key"] for u in reply.get("Uploads", [])]

        options = {
            "bucket_name": BUCKET,
            "endpoint_url": server.endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "location": location,
        }
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options}, held
    if kind == "azure":
        server = request.getfixturevalue("azurite")
        location = f"w-{uuid.uuid4().hex[:8]}"
        blob = server.service_client().get_blob_client(CONTAINER, f"{location}/uploads/big.bin")

        options = {
            "connection_string": server.connection_string(),
            "azure_container": CONTAINER,
            "location": location,
        }
        backend = "storages.backends.azure_storage.AzureStorage"
        return {"BACKEND": backend, "OPTIONS": options}, lambda: uncommitted_blocks(blob)
    if kind == "sftp":
        options = sftp_options(
            request.getfixturevalue("sftp_server"), request.getfixturevalue("sftp_data")
        )
        root = Path(options["root_path"])
        backend = "storages.backends.sftpstorage.SFTPStorage"
    else:
        server = request.getfixturevalue("ftp_server")
        leaf = f"base-{uuid.uuid4().hex[:12]}"
        options = {
            "location": server.location(leaf),
            "encoding": "utf-8",
            "base_url": "https://media.example.com/",
        }
        root = server.root / leaf
        backend = "storages.backends.ftp.FTPStorage"
    return {"BACKEND": backend, "OPTIONS": options}, lambda: temp_files(root)


def write_settings(tmp_path: Path, default: dict) -> str:
    module = f"worker_settings_{uuid.uuid4().hex[:8]}"
    storages = {
        "default": default,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    (tmp_path / f"{module}.py").write_text(
        f"from tests.settings import *  # noqa\nSTORAGES = {storages!r}\n"
    )
    return module


def kill_a_worker_mid_upload(tmp_path: Path, default: dict, held: Callable[[], list]) -> None:
    module = write_settings(tmp_path, default)
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": module,
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_until(proc, held, "upload under way at the server")
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert held(), "the killed upload should have left something at the server"


def leftovers_step(*argv: str) -> dict:
    out = io.StringIO()
    try:
        call_command("checkstorages", "default", "--json", *argv, stdout=out)
    except SystemExit:
        pass
    steps = json.loads(out.getvalue())["storages"]["default"]["steps"]
    return {s["step"]: s for s in steps}


@pytest.mark.parametrize("kind", ["s3", "azure", "sftp", "ftp"])
def test_leftovers_of_a_killed_worker_are_reported_and_removed(kind, request, tmp_path, settings):
    default, held = setup(kind, request)
    kill_a_worker_mid_upload(tmp_path, default, held)
    use_storages(
        settings,
        {
            "default": default,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )

    # Younger than the threshold: may be an upload in progress, never touched.
    young = leftovers_step("--leftovers-older-than", "1h", "--remove-leftovers")["leftovers"]
    assert (young["status"], young["detail"]) == ("ok", "no unfinished upload older than 1h")
    assert held()

    time.sleep(2.1)  # let it age past a threshold of 1 s
    found = leftovers_step("--leftovers-older-than", "1s")["leftovers"]
    assert found["status"] == "warning", found
    # S3: two uploads when a slow server made botocore retry CreateMultipartUpload.
    uploads = len(held()) if kind == "s3" else 1
    keys = [item["key"].rsplit("/", 2)[-2:][0] for item in found["items"]]
    assert keys == ["uploads"] * uploads
    assert "--remove-leftovers" in found["setting"]
    assert held()  # reported only

    removed = leftovers_step("--leftovers-older-than", "1s", "--remove-leftovers")["leftovers"]
    assert removed["status"] == "ok" and removed["detail"].startswith(f"removed {uploads} "), (
        removed
    )
    assert held() == []


def test_text_output_and_the_s3_lifecycle_rule(request, tmp_path, settings, s3_server):
    default, held = setup("s3", request)
    kill_a_worker_mid_upload(tmp_path, default, held)
    use_storages(
        settings,
        {
            "default": default,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    time.sleep(2.1)  # let it age past a threshold of 1 s (moto's dates have whole seconds)
    out = io.StringIO()
    call_command("checkstorages", "default", "--leftovers-older-than", "1s", stdout=out)
    text = out.getvalue()
    # One upload, or two when a slow server made botocore retry its CreateMultipartUpload.
    uploads = len(held())
    assert "  leftovers  WARNING" in text and f"{uploads} multipart upload: " in text, text
    assert "uploads/big.bin" in text and "check: run checkstorages --remove-leftovers" in text
    assert "  lifecycle  WARNING" in text and "AbortIncompleteMultipartUpload" in text
    assert "1 of 1 storage(s) passed" in text  # warnings do not fail the check

    # The docs' lifecycle rule, as the AWS CLI would put it.
    rule = json.loads((ROOT / "docs" / "_static" / "s3-abort-incomplete-uploads.json").read_text())
    s3_server.client().put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration=rule
    )
    try:
        step = leftovers_step("--leftovers-older-than", "1s", "--remove-leftovers")
        assert step["lifecycle"]["status"] == "ok"
        assert "aborts incomplete multipart uploads after 7 day(s)" in step["lifecycle"]["detail"]
        assert held() == []
    finally:
        s3_server.client().delete_bucket_lifecycle(Bucket=BUCKET)


def test_credentials_without_the_right_to_list_them_do_not_fail_the_check(
    request, settings, monkeypatch
):
    """Least-privilege credentials (no s3:ListBucketMultipartUploads / GetLifecycleConfiguration):
    both steps are skipped with the right to grant, and the check still passes. (The refusal is
    injected: moto would need an IAM setup to produce it.)"""
    from storages.backends.s3 import S3Storage

    def denied(self, *args):
        raise PermissionError(13, "S3Storage was denied access (AccessDenied)")

    monkeypatch.setattr(S3Storage, "_list_leftovers", denied)
    monkeypatch.setattr(S3Storage, "leftovers_policy", denied)
    default, _ = setup("s3", request)
    use_storages(
        settings,
        {
            "default": default,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    out = io.StringIO()
    call_command("checkstorages", "default", "--json", stdout=out)  # no SystemExit: it passed
    steps = {s["step"]: s for s in json.loads(out.getvalue())["storages"]["default"]["steps"]}
    assert steps["leftovers"]["status"] == "skipped"
    assert "s3:ListBucketMultipartUploads" in steps["leftovers"]["detail"]
    assert steps["lifecycle"]["status"] == "skipped"
    assert "s3:GetLifecycleConfiguration" in steps["lifecycle"]["detail"]

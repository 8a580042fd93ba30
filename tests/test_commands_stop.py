"""``copystorage`` and ``collectstatic`` stopped by SIGTERM (``docker stop``, Kubernetes, systemd)
in the middle of a transfer, run as a user runs them (``python -m django ...`` in a process of its
own, settings from a module).

The transfer is slowed down by the throttling proxy (tests/servers/proxy.py; the FTP server
takes uploads in slowly itself), and the signal is sent once the server shows the upload under
way (an S3 multipart upload, Azure uncommitted blocks, a hidden temporary file on the SFTP/FTP
server, a GCS resumable session opened). Then, at the server: nothing unfinished is left, the
half-sent file is not there, and the rerun completes. fake-gcs-server can't list resumable
sessions, so GCS requests go through the recording HTTP proxy
(storages/testing/http_proxy.py): the session the upload opened was cancelled with a DELETE on
its URI.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from storages.files import TEMP_PREFIX
from storages.testing.http_proxy import HTTPFaultProxy
from tests.backends.test_azure import CONTAINER, azurite  # noqa: F401  (session fixture)
from tests.backends.test_ftp import ftp_server  # noqa: F401
from tests.backends.test_gcloud import BUCKET as GCS_BUCKET
from tests.backends.test_gcloud import gcs_server  # noqa: F401  (session fixture)
from tests.backends.test_sftp import sftp_data, sftp_options, sftp_server  # noqa: F401
from tests.servers.ftp import start_pyftpdlib
from tests.servers.proxy import TCPProxy
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

BUCKET = "stop-tests"
MB = 1024 * 1024
BIG = 24 * MB + 11  # three S3 parts, six Azure blocks
SLOW = 3 * MB  # bytes per second through the proxy
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


@pytest.fixture
def slow_s3(s3_server):
    """moto behind the throttling proxy."""
    port = int(s3_server.endpoint.rsplit(":", 1)[1])
    with TCPProxy("127.0.0.1", port, bandwidth=SLOW) as proxy:
        yield proxy


def s3_alias(endpoint: str, location: str, cls: str = "S3Storage") -> dict:
    return {
        "BACKEND": f"storages.backends.s3.{cls}",
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "location": location,
        },
    }


def write_settings(tmp_path: Path, storages: dict, code: str = "", **extra) -> str:
    """A settings module: the tests' settings, ``storages``, ``extra`` settings, then ``code``."""
    module = f"stop_settings_{uuid.uuid4().hex[:8]}"
    lines = [f"{key} = {value!r}" for key, value in extra.items()]
    (tmp_path / f"{module}.py").write_text(
        f"from tests.settings import *  # noqa\nSTORAGES = {storages!r}\n"
        + "\n".join(lines)
        + "\n"
        + code
    )
    return module


def run(tmp_path: Path, module: str, *argv: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}",
        "DJANGO_SETTINGS_MODULE": module,
        "PYTHONUNBUFFERED": "1",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "django", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )


def wait_until(proc: subprocess.Popen, seen: Callable[[], object], what: str) -> None:
    """Poll the server until ``seen()`` is true (the upload is under way)."""
    deadline = time.monotonic() + 120
    while not seen():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the command ended before {what}: {proc.returncode}\n{out}\n{err}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"no {what} after 120 s")
        time.sleep(0.1)


def terminate(proc: subprocess.Popen) -> tuple[str, str]:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, (proc.returncode, out, err)
    return out, err


def multipart_uploads(server, prefix: str) -> list[str]:
    reply = server.client().list_multipart_uploads(Bucket=BUCKET, Prefix=prefix)
    return [u["Key"] for u in reply.get("Uploads", [])]


def s3_keys(server, prefix: str) -> dict[str, int]:
    reply = server.client().list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")
    return {o["Key"][len(prefix) + 1 :]: o["Size"] for o in reply.get("Contents", [])}


def uncommitted_blocks(blob) -> list:
    """The Azure blob's uncommitted blocks (a killed or aborted upload's), at the server."""
    try:
        return blob.get_block_list("uncommitted")[1]
    except Exception:  # no block yet: the blob is unknown
        return []


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob(f"{TEMP_PREFIX}*") if p.is_file()] if root.exists() else []


def big_bytes() -> bytes:
    return random.Random(7).randbytes(BIG)


# -- copystorage ---------------------------------------------------------------------------------
def slow_source(tmp_path: Path, s3_server, slow_s3) -> tuple[str, dict]:
    """A big file in S3, read through the throttled proxy: the copy sends as it reads."""
    prefix = f"src-{uuid.uuid4().hex[:8]}"
    s3_server.client().put_object(Bucket=BUCKET, Key=f"{prefix}/big.bin", Body=big_bytes())
    s3_server.client().put_object(Bucket=BUCKET, Key=f"{prefix}/small.txt", Body=b"small")
    return prefix, s3_alias(f"http://127.0.0.1:{slow_s3.port}", prefix)


def destination(kind: str, request) -> tuple[dict, Callable[[], bool], Callable[[], None]]:
    """STORAGES entry of the destination, "an upload is under way at the server", and the check
    that nothing unfinished is left at the server and the big file is not there."""
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        location = f"dst-{uuid.uuid4().hex[:8]}"

        def left() -> None:
            assert multipart_uploads(server, location) == []
            assert "big.bin" not in s3_keys(server, location)

        alias = s3_alias(server.endpoint, location)
        return alias, lambda: multipart_uploads(server, location), left
    if kind == "azure":
        server = request.getfixturevalue("azurite")
        location = f"dst-{uuid.uuid4().hex[:8]}"
        blob = server.service_client().get_blob_client(CONTAINER, f"{location}/big.bin")

        def left() -> None:
            assert uncommitted_blocks(blob) == []
            assert not blob.exists()

        alias = {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": {
                "connection_string": server.connection_string(),
                "azure_container": CONTAINER,
                "location": location,
            },
        }
        return alias, lambda: uncommitted_blocks(blob), left
    if kind == "sftp":
        options = sftp_options(
            request.getfixturevalue("sftp_server"), request.getfixturevalue("sftp_data")
        )
        root = Path(options["root_path"])
    else:
        server = request.getfixturevalue("ftp_server")
        leaf = f"base-{uuid.uuid4().hex[:12]}"
        options = {"location": server.location(leaf), "encoding": "utf-8"}
        root = server.root / leaf
    backend = {
        "sftp": "storages.backends.sftpstorage.SFTPStorage",
        "ftp": "storages.backends.ftp.FTPStorage",
    }[kind]

    def left() -> None:
        assert temp_files(root) == []
        assert not (root / "big.bin").exists()

    return {"BACKEND": backend, "OPTIONS": options}, lambda: temp_files(root), left


@pytest.mark.parametrize("kind", ["s3", "azure", "sftp", "ftp"])
def test_copystorage_stopped_by_sigterm(kind, request, tmp_path, s3_server, slow_s3):
    _, source = slow_source(tmp_path, s3_server, slow_s3)
    dest, under_way, nothing_left = destination(kind, request)
    static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    module = write_settings(tmp_path, {"old": source, "new": dest, "staticfiles": static})
    proc = run(tmp_path, module, "copystorage", "old", "new", "-v", "2")
    wait_until(proc, under_way, "upload under way at the server")
    out, err = terminate(proc)
    assert "Stopping (SIGTERM)" in err
    assert "interrupted: run the same command again to resume" in out
    nothing_left()

    slow_s3.set(bandwidth=None)
    proc = run(tmp_path, module, "copystorage", "old", "new", "-v", "2")
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, (out, err)
    assert "copy big.bin" in out.splitlines()
    assert "copied " in out and "interrupted" not in out


# -- GCS: the resumable session, seen through the recording HTTP proxy ---------------------------
class GCSRoute:
    """The storage's requests to fake-gcs-server through the recording HTTP proxy, optionally then
    through the throttling TCP proxy; ``set(bandwidth=None)`` lifts the throttle."""

    def __init__(self, server, location: str, throttled: bool) -> None:
        port = int(server.endpoint.rsplit(":", 1)[1])
        self.server, self.location = server, location
        self.tcp = TCPProxy("127.0.0.1", port, bandwidth=SLOW).start() if throttled else None
        self.http = HTTPFaultProxy("127.0.0.1", self.tcp.port if self.tcp else port).start()

    def alias(self, name: str) -> tuple[dict, str]:
        """The STORAGES entry, and the settings code giving it credentials (the emulator takes
        anonymous requests)."""
        options = {
            "bucket_name": GCS_BUCKET,
            "client_options": {"api_endpoint": self.http.url},
            "location": self.location,
        }
        code = (
            "from google.auth.credentials import AnonymousCredentials\n"
            f"STORAGES[{name!r}]['OPTIONS']['credentials'] = AnonymousCredentials()\n"
        )
        return {"BACKEND": "storages.backends.gcloud.GoogleCloudStorage", "OPTIONS": options}, code

    def sessions(self) -> list[str]:
        """The resumable sessions opened (their URIs, through the proxy)."""
        return [
            s.location
            for s in list(self.http.served)
            if s.method == "POST" and "uploadType=resumable" in s.path and s.location
        ]

    def left(self) -> None:
        opened = self.sessions()
        assert opened, "no resumable session was opened"
        deleted = {s.path for s in list(self.http.served) if s.method == "DELETE"}
        for uri in opened:
            parts = urlsplit(uri)
            assert f"{parts.path}?{parts.query}" in deleted, (uri, deleted)
        blob = self.server.client().bucket(GCS_BUCKET).blob(f"{self.location}/big.bin")
        assert not blob.exists()

    def sizes(self) -> dict[str, int]:
        blobs = self.server.client().list_blobs(GCS_BUCKET, prefix=self.location + "/")
        return {b.name[len(self.location) + 1 :]: b.size for b in blobs}

    def set(self, bandwidth: float | None) -> None:
        if self.tcp:
            self.tcp.set(bandwidth=bandwidth)

    def stop(self) -> None:
        self.http.stop()
        if self.tcp:
            self.tcp.stop()


def test_copystorage_into_gcs_stopped_by_sigterm(tmp_path, s3_server, slow_s3, gcs_server):  # noqa: F811
    _, source = slow_source(tmp_path, s3_server, slow_s3)
    route = GCSRoute(gcs_server, f"dst-{uuid.uuid4().hex[:8]}", throttled=False)
    try:
        dest, code = route.alias("new")
        static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        module = write_settings(
            tmp_path, {"old": source, "new": dest, "staticfiles": static}, code=code
        )
        proc = run(tmp_path, module, "copystorage", "old", "new", "-v", "2")
        wait_until(proc, route.sessions, "resumable session opened at the server")
        out, err = terminate(proc)
        assert "Stopping (SIGTERM)" in err
        assert "interrupted: run the same command again to resume" in out
        route.left()

        slow_s3.set(bandwidth=None)
        proc = run(tmp_path, module, "copystorage", "old", "new", "-v", "2")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (out, err)
        assert "copy big.bin" in out.splitlines()
        assert route.sizes()["big.bin"] == BIG
    finally:
        route.stop()


class SlowFTP:
    """pyftpdlib taking uploads in at SLOW bytes per second; ``set(bandwidth=None)`` restarts it
    without the limit (same port, same files)."""

    def __init__(self, root: Path) -> None:
        self.server = start_pyftpdlib(root, read_limit=SLOW)

    def set(self, bandwidth: float | None) -> None:
        assert bandwidth is None
        argv = self.server.argv
        assert argv is not None
        at = argv.index("--read-limit")
        del argv[at : at + 2]
        self.server.restart()

    def stop(self) -> None:
        self.server.stop()


# -- collectstatic -------------------------------------------------------------------------------
def static_tree(tmp_path: Path) -> Path:
    static = tmp_path / "static"
    (static / "css").mkdir(parents=True)
    (static / "css" / "site.css").write_text("body { color: red }\n")
    (static / "big.bin").write_bytes(big_bytes())
    return static


def gcs_static_destination(request, location: str):
    """static_destination() of GCS: requests recorded, then throttled."""
    route = GCSRoute(request.getfixturevalue("gcs_server"), location, throttled=True)
    alias, code = route.alias("staticfiles")
    return route, alias, route.sessions, route.left, route.sizes, code


def slow_ftp_destination(tmp_path: Path, location: str):
    """static_destination() of FTP: a server that takes uploads in slowly."""
    slow = SlowFTP(tmp_path / "slow-ftp")
    root = slow.server.root / location
    alias = {
        "BACKEND": "storages.backends.ftp.FTPStorage",
        "OPTIONS": {"location": slow.server.location(location), "encoding": "utf-8"},
    }

    def left() -> None:
        assert temp_files(root) == []
        assert not (root / "big.bin").exists()

    def sizes() -> dict[str, int]:
        return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}

    return slow, alias, lambda: temp_files(root), left, sizes, ""


def static_destination(kind: str, request, tmp_path: Path):
    """The staticfiles alias through a throttling proxy, "an upload is under way" and "nothing
    unfinished is left, the big file is not there", the stored sizes, and settings code."""
    location = f"static-{uuid.uuid4().hex[:8]}"
    if kind in ("gcs", "ftp"):
        return (
            slow_ftp_destination(tmp_path, location)
            if kind == "ftp"
            else gcs_static_destination(request, location)
        )
    if kind == "s3":
        server = request.getfixturevalue("s3_server")
        port = int(server.endpoint.rsplit(":", 1)[1])
        proxy = TCPProxy("127.0.0.1", port, bandwidth=SLOW).start()
        alias = s3_alias(f"http://127.0.0.1:{proxy.port}", location, "S3StaticStorage")

        def left() -> None:
            assert multipart_uploads(server, location) == []
            assert "big.bin" not in s3_keys(server, location)

        def sizes() -> dict[str, int]:
            return s3_keys(server, location)

        return proxy, alias, lambda: multipart_uploads(server, location), left, sizes, ""
    if kind == "azure":
        server = request.getfixturevalue("azurite")
        proxy = TCPProxy("127.0.0.1", server.port, bandwidth=SLOW).start()
        container = server.service_client().get_container_client(CONTAINER)
        blob = container.get_blob_client(f"{location}/big.bin")

        def left() -> None:
            assert uncommitted_blocks(blob) == []
            assert not blob.exists()

        def sizes() -> dict[str, int]:
            return {
                b.name[len(location) + 1 :]: b.size
                for b in container.list_blobs(name_starts_with=location + "/")
            }

        connection = server.connection_string().replace(
            f"127.0.0.1:{server.port}", f"127.0.0.1:{proxy.port}"
        )
        alias = {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": {
                "connection_string": connection,
                "azure_container": CONTAINER,
                "location": location,
            },
        }
        return proxy, alias, lambda: uncommitted_blocks(blob), left, sizes, ""
    server = request.getfixturevalue("sftp_server")
    proxy = TCPProxy("127.0.0.1", server.port, bandwidth=SLOW).start()
    options = sftp_options(server, request.getfixturevalue("sftp_data"))
    options["params"] = {**options["params"], "port": proxy.port}
    # The proxy's port is another "host" to ssh: the same host key, known under that port.
    known = tmp_path / "known_hosts"
    known.write_text(
        Path(options["known_host_file"])
        .read_text()
        .replace(f"[127.0.0.1]:{server.port}", f"[127.0.0.1]:{proxy.port}")
    )
    options["known_host_file"] = str(known)
    root = Path(options["root_path"])

    def left() -> None:
        assert temp_files(root) == []
        assert not (root / "big.bin").exists()

    def sizes() -> dict[str, int]:
        return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}

    alias = {"BACKEND": "storages.backends.sftpstorage.SFTPStorage", "OPTIONS": options}
    return proxy, alias, lambda: temp_files(root), left, sizes, ""


@pytest.mark.parametrize("kind", ["s3", "azure", "sftp", "gcs", "ftp"])
def test_collectstatic_stopped_by_sigterm(kind, request, tmp_path):
    static = static_tree(tmp_path)
    proxy, alias, under_way, nothing_left, sizes, code = static_destination(kind, request, tmp_path)
    try:
        module = write_settings(
            tmp_path,
            {
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": alias,
            },
            code=code,
            STATICFILES_DIRS=[str(static)],
        )
        proc = run(tmp_path, module, "collectstatic", "--noinput")
        wait_until(proc, under_way, "upload under way at the server")
        out, err = terminate(proc)
        assert "Stopped by SIGTERM" in err and "Run collectstatic again to finish" in err
        nothing_left()

        proxy.set(bandwidth=None)
        proc = run(tmp_path, module, "collectstatic", "--noinput")
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, (out, err)
        stored = sizes()
        assert (stored["big.bin"], stored["css/site.css"]) == (BIG, 20)
    finally:
        proxy.stop()


# -- checkstorages -------------------------------------------------------------------------------
def test_checkstorages_stopped_by_sigterm(tmp_path, s3_server):
    """Waiting on a server that never answers, SIGTERM ends it as Ctrl-C would: a message and
    143 (Python's default would end it on the spot with -15)."""
    with TCPProxy("127.0.0.1", 9, mode="blackhole") as silent:
        alias = s3_alias(f"http://127.0.0.1:{silent.port}", "check")
        static = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
        module = write_settings(tmp_path, {"default": alias, "staticfiles": static})
        proc = run(tmp_path, module, "checkstorages", "default")
        wait_until(proc, lambda: silent.stats.connections, "connection to the silent server")
        out, err = terminate(proc)
    assert "Stopped by SIGTERM after 0 of 1 storage(s)" in err

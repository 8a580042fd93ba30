"""200 MB through ``save()``, ``open("wb")`` and a read, with default settings, on all seven
backends: seconds and peak RSS growth of each.

Run: ``.venv/bin/python bench/bench_memory.py [s3] [gcs] [azure] [dropbox] [sftp] [ftp]
[libcloud]`` (each starts its own local server; ``SIZE_MB`` changes the size, ``OPS`` picks
among ``save,wb,read``; ``EXTRA='{"write_buffer": {"part_size": 8388608}}'`` adds storage
options). Each operation runs in a fresh process (:func:`bench.wan.run_measured`), so the peak
RSS growth is that operation's alone. The bounds are the read-ahead window (``read_ahead``) and
the write buffer (``write_buffer``), see docs/behaviour.rst; the load average is printed beside
the figures (the machine may be shared).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django

django.setup()
from django.core.files import File

from bench.wan import run_measured
from storages.testing.helpers import PatternFile

MB = 2**20
SIZE = int(os.environ.get("SIZE_MB", "200")) * MB
OPS = os.environ.get("OPS", "save,wb,read").split(",")
SNIP = r"""
import os, json
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django; django.setup()
from django.conf import settings
from django.core.files import File
from django.utils.module_loading import import_string
from storages.testing.helpers import PatternFile
B = json.loads(os.environ["BENCH"])
if B.get("providers"): settings.LIBCLOUD_PROVIDERS = B["providers"]
opts = B["options"]
if B.get("anon"):
    from google.auth.credentials import AnonymousCredentials
    opts["credentials"] = AnonymousCredentials()
storage = import_string(B["cls"])(**opts)
storage.exists("warm")
size = B["size"]
def save():
    storage.save("mem/saved.bin", File(PatternFile(size, seed=3), name="saved.bin"))
def wb():
    source = PatternFile(size, seed=4)
    with storage.open("mem/written.bin", "wb") as f:
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            f.write(chunk)
def read():
    with storage.open("mem/big.bin") as f:
        for _ in f.chunks(1024 * 1024): pass
measure({"save": save, "wb": wb, "read": read}[B["op"]])
"""


def run(label, cls, options, stop, anon=False, providers=None):
    options = {**options, **json.loads(os.environ.get("EXTRA", "{}"))}
    from django.conf import settings
    from django.utils.module_loading import import_string

    if providers:
        settings.LIBCLOUD_PROVIDERS = providers
    o = dict(options)
    if anon:
        from google.auth.credentials import AnonymousCredentials

        o["credentials"] = AnonymousCredentials()
    st = import_string(cls)(**o)
    if "read" in OPS:
        st.save("mem/big.bin", File(PatternFile(SIZE), name="big.bin"))
    figures = []
    try:
        for op in OPS:
            bench = {"cls": cls, "options": options, "anon": anon, "providers": providers}
            r = run_measured(SNIP, env={"BENCH": json.dumps({**bench, "op": op, "size": SIZE})})
            figures.append(f"{op} {r['seconds']:.2f} s {r['rss_mb']:.1f} MB")
            for name in ("mem/saved.bin", "mem/written.bin"):
                st.delete(name)
    finally:
        stop()
    load = os.getloadavg()[0]
    print(f"{label:9} {SIZE // MB} MB: " + " | ".join(figures) + f" (load {load:.1f})", flush=True)


def s3_options(s):
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    return {
        "bucket_name": "mem",
        "endpoint_url": s.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
    }


def main(which: list[str]) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    if "s3" in which:
        from tests.servers.s3 import start_s3

        s = start_s3(keep_values=True)
        s.create_bucket("mem")
        run("S3", "storages.backends.s3.S3Storage", s3_options(s), s.process.stop)
    if "gcs" in which:
        from tests.servers.gcs import start_gcs

        s = start_gcs()
        s.create_bucket("mem")
        run(
            "GCS",
            "storages.backends.gcloud.GoogleCloudStorage",
            {"bucket_name": "mem", "client_options": {"api_endpoint": s.endpoint}},
            s.stop,
            anon=True,
        )
    if "azure" in which:
        from tests.servers.azure import start_azurite

        s = start_azurite()
        s.create_container("mem")
        run(
            "Azure",
            "storages.backends.azure_storage.AzureStorage",
            {"connection_string": s.connection_string(), "azure_container": "mem"},
            s.stop,
        )
    if "dropbox" in which:
        from tests.servers.dropbox_api import start_dropbox_standin

        s = start_dropbox_standin()
        run(
            "Dropbox",
            "storages.backends.dropbox.DropboxStorage",
            s.options(root_path="/mem"),
            s.stop,
        )
    if "sftp" in which:
        from tests.servers.sftp import start_sftp

        s = start_sftp(work / "sshd")
        run(
            "SFTP",
            "storages.backends.sftpstorage.SFTPStorage",
            {
                "host": "127.0.0.1",
                "params": s.params(),
                "known_host_file": str(s.known_hosts),
                "root_path": str(work / "files"),
                "unknown_host": "reject",
                "allow_overwrite": True,
            },
            s.stop,
        )
    if "ftp" in which:
        from tests.servers.ftp import start_pyftpdlib

        s = start_pyftpdlib(work / "ftp")
        run(
            "FTP",
            "storages.backends.ftp.FTPStorage",
            {"location": s.location(), "allow_overwrite": True},
            s.stop,
        )
    if "libcloud" in which:
        from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3

        s = start_s3(keep_values=True)
        s.create_bucket("mem")
        p = {
            "default": {
                "type": "libcloud.storage.types.Provider.S3",
                "user": ACCESS_KEY,
                "key": SECRET_KEY,
                "bucket": "mem",
                "region": "us-east-1",
                "host": "127.0.0.1",
                "port": int(s.endpoint.rsplit(":", 1)[1]),
                "secure": False,
            }
        }
        run(
            "libcloud",
            "storages.backends.apache_libcloud.LibCloudStorage",
            {"provider_name": "default"},
            s.process.stop,
            providers=p,
        )


if __name__ == "__main__":
    main(sys.argv[1:] or ["s3", "gcs", "azure", "dropbox", "sftp", "ftp", "libcloud"])

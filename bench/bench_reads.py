"""A 200 MB read with default settings on every HTTP backend: seconds and peak RSS growth.

Run: ``.venv/bin/python bench/bench_reads.py [s3] [gcs] [azure] [dropbox] [libcloud]`` (each
starts its own local server; ``SIZE_MB`` changes the size; ``EXTRA='{"read_ahead": false}'``
adds storage options). Each read runs in a fresh process (:func:`bench.wan.run_measured`), so
the peak RSS growth is that of the read alone: the bound is the read-ahead window
(``ReadAhead.window``), see docs/behaviour.rst.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django

django.setup()
from django.core.files import File

from bench.wan import run_measured
from storages.testing.helpers import PatternFile

MB = 2**20
size = int(os.environ.get("SIZE_MB", "200")) * MB
which = sys.argv[1:] or ["s3", "gcs", "azure", "dropbox", "libcloud"]
SNIP = r"""
import os, json, sys
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django; django.setup()
from django.conf import settings
B = json.loads(os.environ["BENCH"])
if B.get("providers"): settings.LIBCLOUD_PROVIDERS = B["providers"]
from django.utils.module_loading import import_string
opts = B["options"]
if B.get("anon"):
    from google.auth.credentials import AnonymousCredentials
    opts["credentials"] = AnonymousCredentials()
storage = import_string(B["cls"])(**opts)
storage.exists("warm")
def read():
    with storage.open("mem/big.bin") as f:
        for _ in f.chunks(1024 * 1024): pass
measure(read)
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
    st.save("mem/big.bin", File(PatternFile(size), name="big.bin"))
    r = run_measured(
        SNIP,
        env={
            "BENCH": json.dumps(
                {"cls": cls, "options": options, "anon": anon, "providers": providers}
            )
        },
    )
    print(
        f"{label:10} read {size // MB} MB: {r['seconds']:.2f} s, "
        f"peak RSS growth {r['rss_mb']:.1f} MB",
        flush=True,
    )
    stop()


if "s3" in which:
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3

    s = start_s3(keep_values=True)
    s.create_bucket("mem")
    run(
        "S3",
        "storages.backends.s3.S3Storage",
        {
            "bucket_name": "mem",
            "endpoint_url": s.endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        },
        s.process.stop,
    )
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
    run("Dropbox", "storages.backends.dropbox.DropboxStorage", s.options(root_path="/mem"), s.stop)
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

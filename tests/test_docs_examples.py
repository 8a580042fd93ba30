"""Docs that cannot drift: the examples of README.rst and docs/ run as written.

An example is a literal block in the reStructuredText marked by the comment just before it::

    .. example: KIND NAME

    .. code-block:: python

        STORAGES = {...}

(a paragraph ending in ``::`` works too). The comment does not show in the built docs.
:func:`examples` finds every marked block, and the tests below run them:

``settings NAME``
    a settings file (or a fragment of one): written after :data:`PRELUDE` into a settings module
    of a fresh process, which runs ``manage.py check``, a save/open/exists/url/delete round trip
    through ``default_storage`` and, when the static files are on a storage of this package,
    ``collectstatic`` twice (the second run uploads nothing), against the local server of the
    backend page the example is on, else of the backend it names, else S3 (:class:`Local`: moto,
    Azurite, fake-gcs-server, the Dropbox stand-in, sshd, pyftpdlib). Hosts, credentials and
    paths the example names are placeholders a real project has: the test's own settings around
    the example point them at the local server (global settings before it, as for S3's endpoint;
    a host name resolved to 127.0.0.1; placeholder values swapped after it; ``STORAGES`` naming
    the page's backend for a block of global settings only), and the example itself is run as
    written.
``output NAME``
    a sample output: its first line is the command (``$ python manage.py ...``), the rest is
    compared, whitespace-insensitively (the docs wrap long lines), with what that command
    prints now, run with the ``settings`` example of the same NAME.
``python NAME``
    code run in a configured process (the ``settings`` of the same NAME, else the prelude's).
``console NAME``
    commands without a sample output (``$ python manage.py ...`` lines), run by the test that
    ``RUN_BY_NAME`` names.
``checked NAME``
    settings for a server the tests can't stand in for as written (a provider's real host):
    ``manage.py check`` runs with them and must find no error (no request is made). Values the
    example reads with ``os.environ["X"]`` are placeholders.

Another test module reuses this: ``from tests.test_docs_examples import example, run_django``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "README.rst", *sorted((ROOT / "docs").rglob("*.rst"))]
MARKER = re.compile(r"^\.\. example: ([a-z]+) ([\w.-]+)\s*$")


@dataclass(frozen=True)
class Example:
    kind: str
    name: str
    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.kind} {self.name})"


def _block_after(lines: list[str], start: int, where: str) -> str:
    """The literal block that follows line ``start`` (a code-block directive or a ``::``)."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines) or not (
        lines[i].startswith(".. code-block::") or lines[i].rstrip().endswith("::")
    ):
        raise AssertionError(f"{where}: the marker is not followed by a literal block")
    i += 1
    while i < len(lines) and (not lines[i].strip() or re.match(r"^\s+:\w[\w-]*:", lines[i])):
        i += 1  # blank lines and the directive's options
    indent = len(lines[i]) - len(lines[i].lstrip())
    body = []
    while i < len(lines) and (
        not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= indent
    ):
        body.append(lines[i])
        i += 1
    return textwrap.dedent("\n".join(body)).strip("\n") + "\n"


def examples() -> dict[str, Example]:
    """Every marked example of README.rst and docs/, by ``"KIND NAME"``."""
    found: dict[str, Example] = {}
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            match = MARKER.match(line)
            if not match:
                continue
            kind, name = match.groups()
            where = f"{path.relative_to(ROOT)}:{number}"
            key = f"{kind} {name}"
            assert key not in found, f"{where}: {key!r} is also at {found[key]}"
            found[key] = Example(kind, name, path, number, _block_after(lines, number, where))
    return found


def example(kind: str, name: str) -> Example:
    return examples()[f"{kind} {name}"]


# The test's own settings, before the example's: a later assignment in the example wins, and so
# do its OPTIONS over these global settings. Credentials come from the environment.
PRELUDE = """\
import os

SECRET_KEY = "docs-examples"
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [{static!r}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "storages",
    "django.contrib.staticfiles",
]
STORAGES = {{
    "default": {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{"bucket_name": "prelude-media"}},
    }},
    "staticfiles": {{
        "BACKEND": "storages.backends.s3.S3StaticStorage",
        "OPTIONS": {{"bucket_name": "prelude-static"}},
    }},
}}
"""
LOCAL_S3 = """\
# The local S3 server (the example's OPTIONS win over global settings).
AWS_S3_ENDPOINT_URL = {endpoint!r}
AWS_S3_REGION_NAME = "us-east-1"
"""


@dataclass
class Local:
    """Where a backend's settings example runs, and what stands in for a real project's values."""

    #: Global settings before the example (its OPTIONS win over them): endpoints, CA files.
    settings: str = ""
    #: ``(host, port)`` the example names → the local server (``port`` None: any port).
    resolve: dict = field(default_factory=dict)
    #: Values of the example that name a real project's host, user or path → the local ones,
    #: swapped in STORAGES and the global settings after the example (each must be found).
    placeholders: dict = field(default_factory=dict)
    #: Environment of the process (what ``os.environ["X"]`` in the example reads).
    env: dict = field(default_factory=dict)
    #: Code run in the configured process first: make the buckets the example names.
    prepare: str = ""
    #: The backend of the page: ``STORAGES["default"]`` for an example of global settings only.
    backend: str = ""


RESOLVE = """
# Host names of the example resolve to the local server (a hosts file, with the port mapped too).
import socket as _socket

_RESOLVE = {resolve!r}
_getaddrinfo = _socket.getaddrinfo


def _local_getaddrinfo(host, port, *args, **kwargs):
    key = (host, int(port) if str(port).isdigit() else port)
    target = _RESOLVE.get(key) or _RESOLVE.get((host, None))
    if target:
        host, port = target[0], target[1] or port
    return _getaddrinfo(host, port, *args, **kwargs)


_socket.getaddrinfo = _local_getaddrinfo
"""

STORAGES_OF = """
STORAGES = {{
    "default": {{"BACKEND": {backend!r}}},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}
"""

SWAP_PLACEHOLDERS = """

# --- the test's: the example's placeholders become the local server's values ---
_PLACEHOLDERS = {placeholders!r}
_swapped = set()


def _swap(value):
    if isinstance(value, dict):
        return {{k: _swap(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return type(value)(_swap(v) for v in value)
    if isinstance(value, str) and value in _PLACEHOLDERS:
        _swapped.add(value)
        return _PLACEHOLDERS[value]
    return value


for _name in [n for n in globals() if n.isupper()]:
    globals()[_name] = _swap(globals()[_name])
"""

# Values naming a real host or a system path: each must be a placeholder the test maps (or a host
# it resolves), so that an example edited later never makes the test touch them.
REAL_VALUES = re.compile(r"[\"']((?:/etc/|/srv/|/var/)[^\"']*|[^\"'\s]*example\.com[^\"']*)[\"']")


def unmapped_values(snippet: str, local: Local) -> list[str]:
    hosts = {host for host, _ in local.resolve}
    return [
        value
        for value in REAL_VALUES.findall(snippet)
        if value not in local.placeholders and value not in hosts
    ]


def write_settings(
    tmp_path: Path, snippet: str, endpoint: str | None, local: Local | None = None
) -> dict[str, str]:
    """A settings module of the prelude and ``snippet`` as written; the environment to run it."""
    static = tmp_path / "static-src"
    if not static.exists():
        (static / "css").mkdir(parents=True)
        (static / "css" / "base.css").write_text("body { color: #333 }\n")
        (static / "css" / "site.css").write_text(
            '@import url("base.css");\nh1 { background: url("../img/logo.png") }\n'
        )
        (static / "img").mkdir()
        (static / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        (static / "js").mkdir()
        (static / "js" / "app.js").write_text("console.log('docs');\n")
    text = PRELUDE.format(static=str(static))
    if endpoint:
        text += LOCAL_S3.format(endpoint=endpoint)
    if local and local.resolve:
        text += RESOLVE.format(resolve=local.resolve)
    if local and local.settings:
        text += "\n# The local server (the example's OPTIONS win over global settings).\n"
        text += local.settings
    if local and local.backend and "STORAGES" not in snippet:
        # An example of global settings only ("or with settings:"): the page's storage is the
        # project's default storage.
        text += STORAGES_OF.format(backend=local.backend)
    text += "\n# --- the example, as written ---\n" + snippet
    if local and local.placeholders:
        text += SWAP_PLACEHOLDERS.format(placeholders=local.placeholders)
    (tmp_path / "docs_example_settings.py").write_text(text, encoding="utf-8")
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "PYTHON"))}
    env.update(
        DJANGO_SETTINGS_MODULE="docs_example_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    if local:
        env.update(local.env)
    return env


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` for the settings of ``env`` (output: stdout + stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=env["PYTHONPATH"].split(os.pathsep)[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """``code`` in a process whose Django is set up with the settings of ``env``."""
    return subprocess.run(
        [sys.executable, "-c", "import django\ndjango.setup()\n" + code],
        cwd=env["PYTHONPATH"].split(os.pathsep)[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# Buckets the examples name exist already in a real project: made here, on the local server.
MAKE_BUCKETS = """
import boto3
from django.conf import settings
client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for config in settings.STORAGES.values():
    name = config.get("OPTIONS", {}).get("bucket_name") or getattr(
        settings, "AWS_STORAGE_BUCKET_NAME", None
    )
    if name:
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        # Another example may have used the same name: start from an empty bucket.
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=obj["Key"])
print("buckets ok")
"""

ROUND_TRIP = """
import os
import ssl
import urllib.request
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.conf import settings
from django.core.management import get_commands

name = default_storage.save("docs-example/hello.txt", ContentFile(b"hello from the docs"))
with default_storage.open(name) as f:
    assert f.read() == b"hello from the docs"
assert default_storage.exists(name)
# A server with a self-signed certificate (the Dropbox stand-in) is trusted by its CA file.
context = ssl.create_default_context(cafile=os.environ.get("DOCS_EXAMPLE_CA"))
with urllib.request.urlopen(default_storage.url(name), timeout=30, context=context) as answer:
    assert answer.read() == b"hello from the docs"
default_storage.delete(name)
assert not default_storage.exists(name)
print("round trip ok:", type(default_storage._wrapped).__name__, name)
print("collectstatic from:", get_commands()["collectstatic"])
print("staticfiles backend:", settings.STORAGES.get("staticfiles", {}).get("BACKEND"))
"""


def normalised(text: str) -> str:
    return " ".join(text.split())


def sample(example: Example) -> tuple[list[str], str]:
    """A sample output's command (after ``manage.py``) and the output it shows."""
    first, _, shown = example.text.partition("\n")
    assert first.startswith("$ python manage.py "), f"{example}: no command on its first line"
    return first.split()[3:], shown


@pytest.fixture(scope="module")
def docs_s3():
    """A moto of its own: the examples' bucket names (media, static...) are everyone's."""
    from tests.servers.s3 import start_s3

    server = start_s3()
    yield server
    server.process.stop()


# Examples of kinds other than ``settings`` and ``checked``, and the tests that run them
# (another module that runs its own examples adds their names here).
RUN_BY_NAME = {
    "output check-sample": "test_the_check_sample_is_what_check_prints",
    "output collectstatic-run": "test_the_collectstatic_sample_is_what_it_prints",
    "python collectstatic-listing": "test_the_listing_example_runs",
    "python config-subclass": "test_the_subclass_example_runs",
    "settings config-django42": "test_the_django42_example",
    "python azure-subclass": "test_the_azure_subclass_example_runs",
    # tests/test_docs_examples_run.py
    "python async-views": "test_the_async_views_run",
    "settings libcloud": "test_the_libcloud_settings_run",
    "output metadata-commands": "test_the_syncmetadata_examples_run",
    "python metadata-sync": "test_the_syncmetadata_examples_run",
    "python copy-migration": "test_the_copy_migration_runs",
    "python direct-upload-ticket": "test_the_upload_ticket_example_runs",
    "python direct-azure-cors": "test_the_azure_cors_example_runs",
    "python s3-object-parameters": "test_the_s3_object_parameters_subclass_runs",
    "python gcloud-object-parameters": "test_the_gcloud_object_parameters_subclass_runs",
    "console copy-shards": "test_the_shard_commands_copy_every_file_once",
    "settings s3-cloudfront": "test_the_cloudfront_cookie_examples_run",
    "python s3-cloudfront": "test_the_cloudfront_cookie_examples_run",
    "output copystorage-sample": "test_the_copystorage_sample_is_what_it_prints",
    "python gcloud-mock": "test_the_gcloud_mock_example_runs",
}


def test_every_example_is_run():
    found = examples()
    by_kind = {k for k in found if not k.startswith(("settings ", "checked "))}
    assert by_kind <= set(RUN_BY_NAME), sorted(by_kind - set(RUN_BY_NAME))
    # The places people copy settings from are marked (so they run below).
    for name in ("readme", "installation", "s3", "upgrading-installed-apps", "check-sample"):
        assert f"settings {name}" in found
    # Each backend page's settings run against its local server.
    for name in ("azure", "gcloud", "dropbox", "sftp", "ftp"):
        assert f"settings {name}" in found
    for name in ("gcloud", "dropbox", "sftp", "ftp"):
        assert f"settings {name}-settings" in found


# A settings example with an output example of the same name is run by that output's test.
SETTINGS_EXAMPLES = sorted(
    k.split(" ", 1)[1]
    for k in examples()
    if k.startswith("settings ")
    and f"output {k.split(' ', 1)[1]}" not in examples()
    and k not in RUN_BY_NAME
)


# -- the local server of each backend's examples -----------------------------------------------
PREPARE_AZURE = """
from azure.core.exceptions import ResourceExistsError
from django.conf import settings
from django.core.files.storage import storages

for alias in settings.STORAGES:
    storage = storages[alias]
    if not hasattr(storage, "azure_container"):
        continue  # Django's static files storage
    try:
        storage.service_client.create_container(storage.azure_container)
    except ResourceExistsError:  # another example's: start from an empty container
        for blob in storage.client.list_blobs():
            storage.client.delete_blob(blob.name)
print("containers ok")
"""

PREPARE_GCS = """
from django.conf import settings
from django.core.files.storage import storages
from google.api_core.exceptions import Conflict

for alias in settings.STORAGES:
    storage = storages[alias]
    if not hasattr(storage, "bucket_name"):
        continue  # Django's static files storage
    try:
        storage.client.create_bucket(storage.bucket_name)
    except Conflict:  # another example's: start from an empty bucket
        for blob in storage.client.list_blobs(storage.bucket_name):
            blob.delete()
print("buckets ok")
"""

# Each backend: the prefix of its class paths, its page, and the fixture of its local server.
BACKEND_SERVERS = [
    ("storages.backends.azure_storage.", "azure", "docs_azure"),
    ("storages.backends.gcloud.", "gcloud", "docs_gcs"),
    ("storages.backends.dropbox.", "dropbox", "docs_dropbox"),
    ("storages.backends.sftpstorage.", "sftp", "docs_sftp"),
    ("storages.backends.ftp.", "ftp", "docs_ftp"),
]


def server_fixture(found: Example) -> str:
    """A backend page's examples run against its server; elsewhere the backend the example names
    first, else S3."""
    page = found.path.relative_to(ROOT).as_posix()
    for _, name, fixture in BACKEND_SERVERS:
        if page == f"docs/backends/{name}.rst":
            return fixture
    named = sorted(
        (found.text.find(prefix), fixture)
        for prefix, _, fixture in BACKEND_SERVERS
        if prefix in found.text
    )
    return named[0][1] if named else "docs_s3_local"


@pytest.fixture(scope="module")
def docs_s3_local(docs_s3):
    return Local(settings=LOCAL_S3.format(endpoint=docs_s3.endpoint), prepare=MAKE_BUCKETS)


@pytest.fixture(scope="module")
def docs_azure():
    """Azurite knowing the example's account (``myaccount``, its key in the environment), at
    ``http://myaccount.blob.localhost:PORT`` (the account URL the storage builds)."""
    import base64

    from tests.servers.azure import start_azurite

    key = base64.b64encode(b"docs-example-account-key-0123456789").decode()
    server = start_azurite(accounts={"myaccount": key})
    yield Local(
        settings=f'AZURE_SSL = False\nAZURE_ENDPOINT_SUFFIX = "localhost:{server.port}"\n',
        resolve={("myaccount.blob.localhost", None): ("127.0.0.1", None)},
        env={"AZURE_ACCOUNT_KEY": key},
        prepare=PREPARE_AZURE,
        backend="storages.backends.azure_storage.AzureStorage",
    )
    server.stop()


@pytest.fixture(scope="module")
def docs_gcs(tmp_path_factory):
    """fake-gcs-server; Application Default Credentials from a service-account key file whose
    tokens come from a local token endpoint (they also sign the URLs)."""
    import json

    from tests.servers.gcs import service_account_info, start_gcs, start_token_server

    # Called by the name the emulator example uses (localhost:4443, resolved to the server).
    server, tokens = start_gcs(public_host="localhost:4443"), start_token_server()
    key_file = tmp_path_factory.mktemp("docs-gcs") / "key.json"
    key_file.write_text(json.dumps(service_account_info(token_uri=tokens.grant_uri)))
    yield Local(
        settings='GS_CLIENT_OPTIONS = {"api_endpoint": "http://localhost:4443"}\n'
        'GS_BUCKET_NAME = "docs-project-bucket"  # the project\'s, for an example naming none\n',
        env={"GOOGLE_APPLICATION_CREDENTIALS": str(key_file)},
        resolve={("localhost", 4443): ("127.0.0.1", int(server.endpoint.rsplit(":", 1)[1]))},
        prepare=PREPARE_GCS,
        backend="storages.backends.gcloud.GoogleCloudStorage",
    )
    tokens.stop()
    server.stop()


@pytest.fixture(scope="module")
def docs_dropbox(tmp_path_factory):
    """The Dropbox stand-in, which knows the example's app key; its secret and a refresh token
    in the environment, as the example reads them."""
    from tests.servers.dropbox_api import APP_SECRET, REFRESH_TOKEN, TOKEN, start_dropbox_standin

    server = start_dropbox_standin(tmp_path_factory.mktemp("docs-dropbox"), app_key="abc123")
    yield Local(
        settings=f"DROPBOX_API_HOST = {server.host!r}\n"
        f"DROPBOX_CA_CERTS = {str(server.ca_cert)!r}\n",
        env={
            "DROPBOX_APP_SECRET": APP_SECRET,
            "DROPBOX_REFRESH_TOKEN": REFRESH_TOKEN,
            "DROPBOX_TOKEN": TOKEN,
            "DOCS_EXAMPLE_CA": str(server.ca_cert),
        },
        backend="storages.backends.dropbox.DropboxStorage",
    )
    server.stop()


@pytest.fixture(scope="module")
def docs_sftp(tmp_path_factory):
    """sshd as ``files.example.com:22``, known under that name in the known_hosts file; the
    example's user, key and paths are the local ones, and a web server publishes the root."""
    from tests.servers.ftp import serve_directory
    from tests.servers.sftp import start_sftp

    base = tmp_path_factory.mktemp("docs-sftp")
    server = start_sftp(base / "sshd")
    known = base / "known_hosts"
    known.write_text("files.example.com " + server.known_hosts.read_text().split(" ", 1)[1])
    data = base / "data"
    data.mkdir()
    http = serve_directory(data)
    yield Local(
        resolve={("files.example.com", 22): ("127.0.0.1", server.port)},
        placeholders={
            "media": server.user,
            "/etc/django/sftp_key": str(server.client_key),
            "/etc/django/known_hosts": str(known),
            "/srv/media": str(data / "media"),
            "https://media.example.com/": http.url_for("media"),
        },
        backend="storages.backends.sftpstorage.SFTPStorage",
    )
    http.stop()
    server.stop()


@pytest.fixture(scope="module")
def docs_ftp(tmp_path_factory):
    """pyftpdlib over explicit TLS (``ftps://``) and plain, serving one folder; a location names
    a real host and its credentials, so it is swapped whole; a web server publishes the files."""
    from tests.servers.ftp import serve_directory, start_pyftpdlib

    base = tmp_path_factory.mktemp("docs-ftp")
    tls, plain = start_pyftpdlib(base, tls=True), start_pyftpdlib(base)
    http = serve_directory(tls.root)
    yield Local(
        settings=f"FTP_STORAGE_TLS_CA_FILE = {str(tls.cert)!r}\n",
        placeholders={
            "ftps://media:p%40ssword@ftp.example.com:21/srv/media": tls.location("srv/media"),
            "ftp://media:p%40ssword@ftp.example.com:21/srv/media": plain.location("srv/media"),
            "https://media.example.com/": http.url_for("srv/media"),
        },
        backend="storages.backends.ftp.FTPStorage",
    )
    http.stop()
    plain.stop()
    tls.stop()


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", SETTINGS_EXAMPLES)
def test_settings_example(name, request, tmp_path):
    """The settings as written, against the local server of their backend: check passes, a file
    goes through default_storage (save, open, exists, url, delete), and collectstatic (the
    package's) uploads the static files, then nothing on a second run."""
    found = example("settings", name)
    snippet = found.text
    local = request.getfixturevalue(server_fixture(found))
    assert not unmapped_values(snippet, local), f"{found}: map these to the local server"
    env = write_settings(tmp_path, snippet, None, local)
    if local.prepare:
        made = run_python(env, local.prepare)
        assert made.returncode == 0, made.stderr
    checked = run_django(env, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERRORS" not in checked.stdout + checked.stderr
    trip = run_python(env, ROUND_TRIP)
    assert trip.returncode == 0, trip.stderr
    assert "round trip ok" in trip.stdout
    if '"storages"' in snippet and "INSTALLED_APPS" in snippet:
        assert "collectstatic from: storages" in trip.stdout
    if "staticfiles backend: storages." not in trip.stdout:
        return  # static files are not on the example's storage: nothing of ours to collect
    first = run_django(env, "collectstatic", "--noinput")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"\b[1-9]\d* static files? copied", first.stdout), first.stdout
    again = run_django(env, "collectstatic", "--noinput")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"\b0 static files copied, [1-9]\d* unmodified", again.stdout), again.stdout


def test_the_check_sample_is_what_check_prints(tmp_path):
    """docs/operations.rst: the sample output of ``manage.py check`` for the settings above it
    (no endpoint: the checks make no request)."""
    env = write_settings(tmp_path, example("settings", "check-sample").text, None)
    args, shown = sample(example("output", "check-sample"))
    done = run_django(env, *args)
    assert done.returncode == 1  # errors
    assert normalised(done.stdout + done.stderr) == normalised(shown)


def test_the_collectstatic_sample_is_what_it_prints(docs_s3, tmp_path):
    """docs/collectstatic.rst: 500 stored files, 3 of them changed. Sizes and durations vary with
    the files and the machine; the rest (the lines, the counts) must be what the sample shows."""
    env = write_settings(
        tmp_path,
        'STORAGES["staticfiles"]["OPTIONS"] = {"bucket_name": "run-sample"}\n',
        docs_s3.endpoint,
    )
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    static = tmp_path / "static-src"
    for path in list(static.rglob("*.*")):
        path.unlink()
    # The installed apps' own static files (the storages app has some) count among the 500.
    first = run_django(env, "collectstatic", "--noinput")
    assert first.returncode == 0, first.stderr
    theirs = int(re.search(r"(\d+) static files? copied", first.stdout).group(1))
    many = static / "many"
    many.mkdir()
    for i in range(500 - theirs):
        (many / f"f{i:03}.txt").write_text(f"file {i}\n" * 10)
    first = run_django(env, "collectstatic", "--noinput")
    assert first.returncode == 0, first.stderr
    for i in (7, 70, 170):
        (many / f"f{i:03}.txt").write_text(f"file {i}, changed\n")
    shown = example("output", "collectstatic-run").text
    done = run_django(env, "collectstatic", "--noinput")
    assert done.returncode == 0, done.stderr

    def shape(text: str) -> str:
        text = re.sub(r"\d+(\.\d+)? (B|KB|MB|GB)\b", "SIZE", text)
        return normalised(re.sub(r"\b(\d+\.\ds|\d+:\d\d)(?=\s|$)", "TIME", text))

    assert shape(done.stdout + done.stderr) == shape(shown)


def test_the_listing_example_runs(docs_s3, tmp_path):
    """docs/collectstatic.rst: ``listing()`` around a block, with the prelude's S3 storages."""
    env = write_settings(tmp_path, "", docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    code = example("python", "collectstatic-listing").text
    done = run_python(env, code + "\nprint('listing example ok')\n")
    assert done.returncode == 0, done.stderr
    assert "listing example ok" in done.stdout


SUBCLASS_ROUND_TRIP = """
import json
import boto3
import urllib.request
from django.conf import settings
from django.core.files.base import ContentFile

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
try:
    client.create_bucket(Bucket="public")
except client.exceptions.BucketAlreadyOwnedByYou:
    pass
# Unsigned URLs need a bucket readable by anyone: the public-read policy a project sets.
policy = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::public/*",
        }
    ],
}
client.put_bucket_policy(Bucket="public", Policy=json.dumps(policy))
storage = PublicStorage()
name = storage.save("logo.txt", ContentFile(b"public"))
assert client.get_object(Bucket="public", Key="static/" + name)["Body"].read() == b"public"
url = storage.url(name)
assert "Signature" not in url, url
with urllib.request.urlopen(url, timeout=30) as answer:
    assert answer.read() == b"public"
storage.delete(name)
print("subclass example ok:", url)
"""


def test_the_subclass_example_runs(docs_s3, tmp_path):
    """docs/configuration.rst: a subclass for a second bucket (its class attributes win over
    the global settings: bucket, location, unsigned URLs)."""
    env = write_settings(tmp_path, "", docs_s3.endpoint)
    code = example("python", "config-subclass").text
    done = run_python(env, code + SUBCLASS_ROUND_TRIP)
    assert done.returncode == 0, done.stderr
    assert "subclass example ok: " + docs_s3.endpoint + "/public/static/logo.txt" in done.stdout


def test_the_django42_example(docs_s3, tmp_path):
    """docs/configuration.rst: ``DEFAULT_FILE_STORAGE`` (no ``STORAGES``: Django 4.2 refuses both).
    On Django 4.2 it is the S3 storage, a file goes through it; on 5.1 and later Django ignores
    the setting, as the page says."""
    import django

    snippet = example("settings", "config-django42").text
    local = Local(settings="del STORAGES  # a Django 4.2 project of dotted paths has none\n")
    env = write_settings(tmp_path, snippet, docs_s3.endpoint, local)
    made = run_python(env, MAKE_BUCKETS)
    assert made.returncode == 0, made.stderr
    checked = run_django(env, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    trip = run_python(env, ROUND_TRIP)
    if django.VERSION < (5, 1):
        assert trip.returncode == 0, trip.stderr
        assert "round trip ok: S3Storage" in trip.stdout
    else:
        kind = run_python(
            env,
            "from django.core.files.storage import storages\n"
            "print(type(storages['default']).__name__)",
        )
        assert kind.stdout.strip() == "FileSystemStorage", kind.stdout + kind.stderr


AZURE_SUBCLASS_ROUND_TRIP = """
import urllib.request
from azure.core.exceptions import ResourceExistsError
from django.core.files.base import ContentFile

storage = PublicAzureStorage()
try:  # the container exists in a real project, readable by anyone
    storage.service_client.create_container(storage.azure_container, public_access="blob")
except ResourceExistsError:
    pass
name = storage.save("logo.txt", ContentFile(b"public"))
url = storage.url(name)
assert "sig=" not in url, url
with urllib.request.urlopen(url, timeout=30) as answer:
    assert answer.read() == b"public"
storage.delete(name)
assert not storage.exists(name)
print("subclass example ok:", url)
"""


def test_the_azure_subclass_example_runs(docs_azure, tmp_path):
    """docs/backends/azure.rst: a subclass for a second container, public URLs."""
    env = write_settings(tmp_path, "", None, docs_azure)
    code = example("python", "azure-subclass").text
    done = run_python(env, code + AZURE_SUBCLASS_ROUND_TRIP)
    assert done.returncode == 0, done.stderr
    assert "subclass example ok: http://myaccount.blob.localhost:" in done.stdout
    assert "/mypublic-container/logo.txt" in done.stdout


CHECKED_EXAMPLES = sorted(k.split(" ", 1)[1] for k in examples() if k.startswith("checked "))


@pytest.mark.parametrize("name", CHECKED_EXAMPLES)
def test_checked_example(name, tmp_path):
    """A backend page's settings as written: the storages build and the system checks find no
    error (warnings such as missing credentials may apply to a copied example)."""
    snippet = example("checked", name).text
    env = write_settings(tmp_path, snippet, None)
    for variable in re.findall(r"os\.environ\[[\"']([A-Z0-9_]+)[\"']\]", snippet):
        env[variable] = f"placeholder-{variable.lower()}"
    done = run_django(env, "check", "--tag", "storages")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ERRORS" not in output and "storages.E" not in output, output

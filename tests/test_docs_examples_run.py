"""More examples of docs/ run as written (views, Python snippets, other backends' settings).

Each test takes its snippet from the .rst with :func:`tests.test_docs_examples.example` and runs
it in a configured process against a local server; what the snippet did is checked at the
server. The names are listed in ``RUN_BY_NAME`` of tests/test_docs_examples.py.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

from tests.test_docs_examples import (
    LOCAL_S3,
    MAKE_BUCKETS,
    RUN_BY_NAME,
    Local,
    docs_azure,  # noqa: F401 - Azurite knowing the Azure page's account
    docs_gcs,  # noqa: F401 - fake-gcs-server as the GCS page's emulator
    docs_s3,  # noqa: F401 - a module-scoped moto of this module's own
    example,
    normalised,
    run_django,
    run_python,
    unmapped_values,
    write_settings,
)

# The views module of docs/async.rst, routed by a URLconf of the test's.
ASYNC_URLS = """\
from django.urls import path

from docs_async_views import head_of, report_status, upload

urlpatterns = [
    path("upload/", upload),
    path("status/", report_status),
    path("head/<path:name>", head_of),
]
"""

ASYNC_CLIENT = """
import asyncio
import json

import boto3
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")


async def walk():
    browser = AsyncClient()
    posted = await browser.post(
        "/upload/", {"file": SimpleUploadedFile("q4.pdf", b"%PDF-1.4 docs", "application/pdf")}
    )
    assert posted.status_code == 200, posted.content
    answer = json.loads(posted.content)
    stored = client.get_object(Bucket="media", Key=answer["name"])
    assert stored["Body"].read() == b"%PDF-1.4 docs"
    assert answer["url"].startswith(settings.AWS_S3_ENDPOINT_URL + "/media/uploads/q4"), answer

    client.put_object(Bucket="media", Key="reports/2026-01-02.pdf", Body=b"report")
    status = await browser.get("/status/", {"day": ["2026-01-02", "2026-01-03"]})
    assert status.status_code == 200, status.content
    assert json.loads(status.content) == {
        "reports/2026-01-02.pdf": True,
        "reports/2026-01-03.pdf": False,
    }

    head = await browser.get("/head/" + answer["name"])
    assert head.status_code == 200, head.content
    assert json.loads(head.content) == {"first bytes": b"%PDF-1.4 docs".hex()}
    print("views ok:", answer["name"], default_storage.async_limit())


asyncio.run(walk())
"""


def test_the_async_views_run(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/async.rst: the async views (upload, status, head) through Django's AsyncClient,
    with the page's settings (bucket ``media``, ``async_concurrency`` 64) on moto."""
    (tmp_path / "docs_async_views.py").write_text(example("python", "async-views").text)
    (tmp_path / "docs_async_urls.py").write_text(ASYNC_URLS)
    local = Local(
        settings=LOCAL_S3.format(endpoint=docs_s3.endpoint)
        + 'ROOT_URLCONF = "docs_async_urls"\nALLOWED_HOSTS = ["testserver"]\n',
        prepare=MAKE_BUCKETS,
    )
    env = write_settings(tmp_path, example("settings", "async-concurrency").text, None, local)
    made = run_python(env, local.prepare)
    assert made.returncode == 0, made.stderr
    done = run_python(env, ASYNC_CLIENT)
    assert done.returncode == 0, done.stderr
    assert "views ok: uploads/q4" in done.stdout
    assert done.stdout.rstrip().endswith(" 64"), done.stdout


LIBCLOUD_TO_MOTO = """

# --- the test's: the example's S3 provider talks to the local moto ---
LIBCLOUD_PROVIDERS["amazon_1"].update(host={host!r}, port={port}, secure=False)
"""

LIBCLOUD_ROUND_TRIP = """
import os
import urllib.request
import textwrap
from pathlib import Path

import boto3
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from storages.backends.apache_libcloud import LibCloudStorage

client = boto3.client("s3", endpoint_url={endpoint!r}, region_name="us-east-1")
try:
    client.create_bucket(Bucket="bucket-1")  # the container exists in a real project
except client.exceptions.BucketAlreadyOwnedByYou:
    pass

# STORAGES["default"]: amazon_1 (S3), under "uploads"
name = default_storage.save("docs-example/hello.txt", ContentFile(b"hello from the docs"))
stored = client.get_object(Bucket="bucket-1", Key="uploads/" + name)["Body"].read()
assert stored == b"hello from the docs", stored
with default_storage.open(name) as f:
    assert f.read() == b"hello from the docs"
assert default_storage.exists(name)
with urllib.request.urlopen(default_storage.url(name), timeout=30) as answer:
    assert answer.read() == b"hello from the docs"
default_storage.delete(name)
assert not default_storage.exists(name)
assert "Contents" not in client.list_objects_v2(Bucket="bucket-1", Prefix="uploads/")

# LibCloudStorage("local"): a folder, its URLs under base_url
base = Path(settings.LIBCLOUD_PROVIDERS["local"]["user"])
(base / "media").mkdir(parents=True, exist_ok=True)  # the container exists in a real project
local = LibCloudStorage("local")
name = local.save("docs-example/hello.txt", ContentFile(b"hello, folder"))
assert (base / "media" / name).read_bytes() == b"hello, folder"
with local.open(name) as f:
    assert f.read() == b"hello, folder"
assert local.exists(name)
assert local.url(name) == "/media/" + name, local.url(name)
local.delete(name)
assert not (base / "media" / name).exists()
assert not local.exists(name)
print("libcloud example ok")
"""


def test_the_libcloud_settings_run(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/backends/apache_libcloud.rst: both providers as written, ``amazon_1`` (the default
    storage) through libcloud's S3 driver on moto, ``local`` on a folder: check, then save,
    open, exists, url, delete, checked at the server and on disk."""
    from urllib.parse import urlsplit

    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    endpoint = urlsplit(docs_s3.endpoint)
    snippet = example("settings", "libcloud").text + LIBCLOUD_TO_MOTO.format(
        host=endpoint.hostname, port=endpoint.port
    )
    local = Local(
        placeholders={"/srv/files": str(tmp_path / "files")},
        env={"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
    )
    assert not unmapped_values(example("settings", "libcloud").text, local)
    env = write_settings(tmp_path, snippet, None, local)
    checked = run_django(env, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERRORS" not in checked.stdout + checked.stderr
    done = run_python(env, LIBCLOUD_ROUND_TRIP.format(endpoint=docs_s3.endpoint))
    assert done.returncode == 0, done.stderr
    assert "libcloud example ok" in done.stdout


STORE_OLD_FILES = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for name in {names!r}:  # stored before the change of object_parameters
    client.put_object(Bucket="prelude-media", Key=name, Body=b"stored")
print("stored")
"""

STORED_HEADERS = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for name in {names!r}:
    head = client.head_object(Bucket="prelude-media", Key=name)
    print(name, head.get("CacheControl"), head["ContentType"])
"""


def test_the_syncmetadata_examples_run(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/metadata.rst: files stored before ``object_parameters`` changed get today's headers
    from the commands of the console sample (what they print matches it, the counts and the
    elided rest of a line aside) and from the Python example, checked with HEADs at moto."""
    import re

    names = ["media/logo.png", "media/site.css", "media/notes.txt"]
    cache = "public, max-age=31536000"
    env = write_settings(
        tmp_path, f"AWS_S3_OBJECT_PARAMETERS = {{'CacheControl': {cache!r}}}\n", docs_s3.endpoint
    )
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    assert run_python(env, STORE_OLD_FILES.format(names=names)).returncode == 0
    before = run_python(env, STORED_HEADERS.format(names=names)).stdout
    assert before.count(" None binary/octet-stream") == 3, before

    # The console sample: each command, then the lines it shows (counts are the sample's own,
    # "..." elides the rest of a line; a command may print more "would set" lines than shown).
    text = example("output", "metadata-commands").text
    runs = re.split(r"^\$ python manage.py ", text, flags=re.M)[1:]
    assert len(runs) == 2, text
    for run in runs:
        command, _, shown = run.partition("\n")
        done = run_django(env, *command.split())
        assert done.returncode == 0, done.stdout + done.stderr
        printed = done.stdout.splitlines()
        for line in shown.splitlines():
            pattern = re.escape(line).replace(r"\.\.\.", ".*")
            pattern = re.sub(r"(?<![\w.])\d+(?![\w.])", r"\\d+", pattern)
            assert any(re.fullmatch(pattern, out) for out in printed), (line, printed)
        assert printed[-1].split()[:1] == shown.splitlines()[-1].split()[:1], printed
    after = run_python(env, STORED_HEADERS.format(names=names)).stdout
    assert after.count(f" {cache} ") == 3, after
    assert "media/site.css public, max-age=31536000 text/css" in after, after

    # The Python example, on files stored before the change again.
    assert run_python(env, STORE_OLD_FILES.format(names=names)).returncode == 0
    done = run_python(env, example("python", "metadata-sync").text)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "rewrote 3, already right 0 []", done.stdout
    after = run_python(env, STORED_HEADERS.format(names=names)).stdout
    assert after.count(f" {cache} ") == 3, after


COPY_SETTINGS = """
INSTALLED_APPS += ["app"]
STORAGES = {
    "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "new"}},
    "old_media": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {"bucket_name": "old"}},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
"""

OLD_FILES = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for i in range(5):
    client.put_object(Bucket="old", Key=f"uploads/report-{i}.pdf", Body=b"report %d" % i)
client.put_object(Bucket="old", Key="elsewhere/keep.txt", Body=b"not copied")
"""

NEW_FILES = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for obj in client.list_objects_v2(Bucket="new").get("Contents", []):
    print(obj["Key"], client.get_object(Bucket="new", Key=obj["Key"])["Body"].read().decode())
"""


def test_the_copy_migration_runs(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/operations.rst: the data migration, as written, is migration 0008 of a throwaway app
    ``app`` after its 0007_previous; ``manage.py migrate`` copies old_media's uploads/ into the
    default storage, checked at moto."""
    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (tmp_path / "app" / "__init__.py").write_text("")
    (migrations / "__init__.py").write_text("")
    (migrations / "0007_previous.py").write_text(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    pass\n"
    )
    (migrations / "0008_move_media.py").write_text(example("python", "copy-migration").text)
    env = write_settings(tmp_path, COPY_SETTINGS, docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    assert run_python(env, OLD_FILES).returncode == 0
    done = run_django(env, "migrate", "app")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Applying app.0008_move_media... OK" in done.stdout, done.stdout
    copied = run_python(env, NEW_FILES).stdout.splitlines()
    assert copied == [f"uploads/report-{i}.pdf report {i}" for i in range(5)], copied


# What the upload_ticket example leaves to the reader: the storage, MB, the declared size.
TICKET_BEFORE = """
from django.core.files.storage import default_storage
from storages.backends.s3 import S3Storage

MB = 1024 * 1024
BODY = b"%PDF-1.4 quarterly report"
declared_size = len(BODY)
storage = {storage}
"""

TICKET_AFTER = """
import boto3
from django.conf import settings
from tests.direct_app.helpers import send

sent = send(ticket.as_json(), BODY)
assert sent.status_code in (200, 204), (sent.status_code, sent.text)
client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
stored = client.get_object(Bucket="prelude-media", Key="reports/2026/q4_a1b2c3.pdf")
assert stored["Body"].read() == BODY
assert stored["ContentType"] == "application/pdf", stored["ContentType"]
print("ticket ok:", ticket.method)
"""


def test_the_upload_ticket_example_runs(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/direct-uploads.rst: ``upload_ticket(...)`` as written, on ``default_storage`` (S3 with
    overwriting: a POST policy) and on a create-only S3 storage (a PUT); what the widget's
    script sends with each ticket is stored at moto, with the ticket's content type."""
    env = write_settings(tmp_path, "", docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    code = example("python", "direct-upload-ticket").text
    for storage, method in [
        ("default_storage", "POST"),
        ('S3Storage(bucket_name="prelude-media", file_overwrite=False)', "PUT"),
    ]:
        done = run_python(env, TICKET_BEFORE.format(storage=storage) + code + TICKET_AFTER)
        assert done.returncode == 0, done.stderr
        assert f"ticket ok: {method}" in done.stdout, done.stdout
        run_python(env, MAKE_BUCKETS)  # empty again: the create-only ticket needs a free name


AZURE_CORS_AFTER = """
import urllib.request

from storages.direct.cors import check_cors

[rule] = storage.service_client.get_service_properties()["cors"]
assert rule.allowed_origins == "https://app.example.com", rule.allowed_origins
assert check_cors(storage, "https://app.example.com") == []
# The browser's preflight for the upload, answered by Azurite with the rule.
preflight = urllib.request.Request(
    storage.url("reports/q4.pdf").split("?")[0],
    method="OPTIONS",
    headers={
        "Origin": "https://app.example.com",
        "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "x-ms-blob-type,x-ms-blob-content-type",
    },
)
with urllib.request.urlopen(preflight, timeout=30) as answer:
    allowed = answer.headers["Access-Control-Allow-Origin"]
assert allowed == "https://app.example.com", allowed
print("cors ok")
"""


def test_the_azure_cors_example_runs(docs_azure, tmp_path: Path):
    """docs/direct-uploads.rst: the Azure CORS rule set from Python, as written, on the storage
    of the Azure page's settings (Azurite): check_cors finds no problem and a preflight from the
    site's origin is allowed."""
    env = write_settings(tmp_path, example("settings", "azure").text, None, docs_azure)
    made = run_python(env, docs_azure.prepare)
    assert made.returncode == 0, made.stderr
    before = "from django.core.files.storage import storages\n\nstorage = storages['default']\n"
    code = example("python", "direct-azure-cors").text
    done = run_python(env, before + code + AZURE_CORS_AFTER)
    assert done.returncode == 0, done.stderr
    assert "cors ok" in done.stdout


OBJECT_PARAMETERS_AFTER = """
import boto3
from django.conf import settings
from django.core.files.base import ContentFile

storage = MediaStorage(bucket_name="prelude-media")
client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for name in ("q4.pdf", "q4.txt"):
    stored = storage.save(name, ContentFile(b"report"))
    head = client.head_object(Bucket="prelude-media", Key=stored)
    print(stored, head.get("ContentDisposition"), head["ContentType"])
"""


def test_the_s3_object_parameters_subclass_runs(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/backends/s3.rst: the subclass's ``get_object_parameters`` makes PDFs downloads and
    leaves other files alone, as stored at moto."""
    env = write_settings(tmp_path, "", docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    code = example("python", "s3-object-parameters").text
    done = run_python(env, code + OBJECT_PARAMETERS_AFTER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "q4.pdf attachment application/pdf",
        "q4.txt None text/plain",
    ], done.stdout


GCS_OBJECT_PARAMETERS_AFTER = """
from django.core.files.base import ContentFile

storage = MediaStorage()  # the project's bucket (GS_BUCKET_NAME)
for name in ("q4.pdf", "q4.txt"):
    stored = storage.save(name, ContentFile(b"report"))
    blob = storage.bucket.get_blob(stored)
    print(stored, blob.content_disposition, blob.content_type)
"""


def test_the_gcloud_object_parameters_subclass_runs(docs_gcs, tmp_path: Path):
    """docs/backends/gcloud.rst: the subclass's ``get_object_parameters`` makes PDFs downloads
    and leaves other files alone, as stored at fake-gcs-server."""
    env = write_settings(tmp_path, "", None, docs_gcs)
    made = run_python(env, docs_gcs.prepare)
    assert made.returncode == 0, made.stderr
    code = example("python", "gcloud-object-parameters").text
    done = run_python(env, code + GCS_OBJECT_PARAMETERS_AFTER)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "q4.pdf attachment application/pdf",
        "q4.txt None text/plain",
    ], done.stdout


SHARD_TREE = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for folder in range(12):
    for i in range(3):
        key = f"media/f{folder:02}/{i}.txt"
        client.put_object(Bucket="old", Key=key, Body=key.encode())
client.put_object(Bucket="old", Key="media/loose.txt", Body=b"media/loose.txt")
client.put_object(Bucket="old", Key="other/not-copied.txt", Body=b"other")
"""

SHARD_RESULT = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for page in client.get_paginator("list_objects_v2").paginate(Bucket="new"):
    for obj in page.get("Contents", []):
        body = client.get_object(Bucket="new", Key=obj["Key"])["Body"].read().decode()
        assert body == obj["Key"], (obj["Key"], body)
        print(obj["Key"])
"""


def test_the_shard_commands_copy_every_file_once(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/copy-shards.rst: the commands as written (``--shard 1/4``, ``2/4``, and the "..."
    machines 3 and 4), between two S3 buckets of one account: together they copy every file
    below media/ once (their counts add up to the tree, each file is at moto)."""
    import re

    commands = [
        line.split("#")[0].split()[3:]
        for line in example("console", "copy-shards").text.splitlines()
        if line.startswith("$ python manage.py ")
    ]
    assert [c[-1] for c in commands] == ["1/4", "2/4"], commands
    commands += [[*commands[1][:-1], "3/4"], [*commands[1][:-1], "4/4"]]
    aliases = COPY_SETTINGS.replace('INSTALLED_APPS += ["app"]\n', "")
    env = write_settings(tmp_path, aliases.replace('"old_media"', '"old"'), docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    assert run_python(env, SHARD_TREE).returncode == 0
    copied = []
    for command in commands:
        done = run_django(env, *command)
        assert done.returncode == 0, done.stdout + done.stderr
        found = re.search(r"copied (\d+) of (\d+) files", done.stdout)
        assert found, done.stdout
        copied.append(int(found.group(1)))
    stored = run_python(env, SHARD_RESULT)
    assert stored.returncode == 0, stored.stderr
    expected = sorted([f"media/f{f:02}/{i}.txt" for f in range(12) for i in range(3)])
    assert stored.stdout.split() == sorted([*expected, "media/loose.txt"]), stored.stdout
    assert sum(copied) == 37, copied  # each file once
    assert sum(1 for n in copied if n) >= 2, copied  # the work is split


# What a project has around the CloudFront examples: sessions and users (a signed-cookie session
# and a user table in the in-memory database), a URLconf and a template for the view.
CLOUDFRONT_PROJECT = """
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
ROOT_URLCONF = "docs_cloudfront_urls"
ALLOWED_HOSTS = ["testserver"]
TEMPLATES = [
    {{"BACKEND": "django.template.backends.django.DjangoTemplates", "DIRS": [{templates!r}]}}
]
"""

CLOUDFRONT_URLS = """\
from django.http import HttpResponse
from django.urls import path

from docs_cloudfront_views import gallery

urlpatterns = [
    path("gallery/", gallery),
    path("page/", lambda request: HttpResponse("a page")),
]
"""

CLOUDFRONT_WALK = """
import base64
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

public = serialization.load_pem_private_key(
    os.environ["CLOUDFRONT_PRIVATE_KEY"].encode(), None
).public_key()


def unb64(text):
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def resource(response):
    cookies = {name: morsel for name, morsel in response.cookies.items()}
    assert cookies["CloudFront-Key-Pair-Id"].value == "K2JCJMDEHXQW5F"
    policy = unb64(cookies["CloudFront-Policy"].value)
    # what CloudFront does: RSA-SHA1 over the policy, by the key group's public key
    public.verify(
        unb64(cookies["CloudFront-Signature"].value), policy, padding.PKCS1v15(), hashes.SHA1()
    )
    for morsel in cookies.values():
        assert morsel["domain"] == ".example.com" and morsel["secure"] and morsel["httponly"]
    return json.loads(policy)["Statement"][0]["Resource"]


call_command("migrate", verbosity=0)
anonymous = Client().get("/page/")
assert anonymous.status_code == 200 and not anonymous.cookies, anonymous.cookies
browser = Client()
browser.force_login(User.objects.create_user("ada"))
page = browser.get("/page/")
print("middleware:", resource(page))
gallery = browser.get("/gallery/")
assert gallery.content == b"the gallery", gallery.content
print("view:", resource(gallery))
"""


def test_the_cloudfront_cookie_examples_run(tmp_path: Path):
    """docs/backends/s3.rst: the CloudFront settings and the view, as written, with a key pair
    of the test's (no request: cookies are signed locally). The middleware gives a logged-in
    user (only) cookies for every file under media/, the view for albums/42/; each policy is
    verified with the public key as CloudFront does."""
    from tests.signing_key import signing_key

    key, pem = signing_key()
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "gallery.html").write_text("the gallery")
    (tmp_path / "docs_cloudfront_views.py").write_text(example("python", "s3-cloudfront").text)
    (tmp_path / "docs_cloudfront_urls.py").write_text(CLOUDFRONT_URLS)
    local = Local(
        settings=CLOUDFRONT_PROJECT.format(templates=str(templates)),
        env={"CLOUDFRONT_PRIVATE_KEY": pem},
    )
    env = write_settings(tmp_path, example("settings", "s3-cloudfront").text, None, local)
    checked = run_django(env, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERRORS" not in checked.stdout + checked.stderr
    done = run_python(env, CLOUDFRONT_WALK)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "middleware: https://media.example.com/media/*",
        "view: https://media.example.com/media/albums/42/*",
    ], done.stdout


COPYSTORAGE_ALIASES = """
STORAGES = {{
    "old": {{
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {{"location": {old!r}}},
    }},
    "default": {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{"bucket_name": "media"}},
    }},
    "backup": {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{"bucket_name": "backup"}},
    }},
    "broken": {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{"bucket_name": "broken", "object_parameters": {{"StorageClass": "PLATINUM"}}}},
    }},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}
"""


def test_the_copystorage_sample_is_what_it_prints(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/operations.rst: the copystorage sample, run with 4 files from a folder ("old") to S3
    buckets on moto (one account: default -> backup copies on the server; "broken" refuses the
    storage class; the SIGTERM run from S3 read through a throttling proxy). Counts, sizes and
    names vary; each line the sample shows must be printed, in order, the rest aside: the
    progress lines (one per 1,000 files) and the lines elided by "..."."""
    import re

    old = tmp_path / "old"
    (old / "uploads").mkdir(parents=True)
    for name in "abcd":
        (old / "uploads" / f"{name}.txt").write_text(name * 1000)
    env = write_settings(tmp_path, COPYSTORAGE_ALIASES.format(old=str(old)), docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0

    def shape(line: str) -> str:
        line = re.sub(r"\d+(\.\d+)? (B|KB|MB|GB)\b", "SIZE", line)
        line = re.sub(r"'[^']*'", "'NAME'", re.sub(r"^\s*\S+\.txt:", "NAME:", line))
        return normalised(re.sub(r"\d+", "N", line))

    runs = re.split(r"\n(?=\$ python manage.py )", example("output", "copystorage-sample").text)
    compared = 0
    for run in runs:
        command, _, shown = run.strip().partition("\n")
        if "SIGTERM" in run:
            compared += sigterm_run(docs_s3, tmp_path, command, shown, shape)
            continue
        args = command.split("#")[0].split()[3:]
        done = run_django(env, *args)
        assert done.returncode == (1 if "CommandError" in shown else 0), done.stdout + done.stderr
        printed = [shape(line) for line in (done.stdout + done.stderr).splitlines()]
        at = 0
        for line in shown.splitlines():
            if not line.strip() or line.strip() == "..." or line.startswith("old -> default:"):
                continue
            wanted = shape(line)
            assert wanted in printed[at:], (command, line, done.stdout + done.stderr)
            at = printed.index(wanted, at) + 1
            compared += 1
    assert compared == 11, compared  # 2 + 3 + 1 + 1 + 4 lines


def test_every_named_test_exists():
    """``RUN_BY_NAME`` names tests of tests/test_docs_examples.py or of this module: a renamed
    test must not leave its example unrun."""
    import tests.test_docs_examples as main

    here = globals()
    missing = sorted(
        test
        for test in RUN_BY_NAME.values()
        if not callable(here.get(test) or getattr(main, test, None))
    )
    assert not missing, missing


# In place of the example's ``...``: what a project's test does with the patched class, here
# handing the storage a client of the test's own making, on the local server.
GCLOUD_MOCK_BODY = """\
from django.conf import settings
from django.core.files.base import ContentFile
from google.auth.credentials import AnonymousCredentials
from google.cloud import storage as gcs

from storages.backends.gcloud import GoogleCloudStorage

client.return_value = gcs.Client(
    project="docs", credentials=AnonymousCredentials(), client_options=settings.GS_CLIENT_OPTIONS
)
storage = GoogleCloudStorage(bucket_name=settings.GS_BUCKET_NAME)
assert storage.client is client.return_value
name = storage.save("patched/report.txt", ContentFile(b"through the patched client"))
assert storage.open(name).read() == b"through the patched client"
assert client.call_count == 1
"""

# After the example: the object as another client (the SDK's own, unpatched) finds it.
GCLOUD_MOCK_AFTER = """
from google.cloud import storage as gcs

stored = gcs.Client(
    project="docs", credentials=AnonymousCredentials(), client_options=settings.GS_CLIENT_OPTIONS
).bucket(settings.GS_BUCKET_NAME).get_blob("patched/report.txt")
print("stored:", stored.download_as_bytes().decode())
"""


def test_the_gcloud_mock_example_runs(docs_gcs, tmp_path: Path):
    """docs/backends/gcloud.rst: ``mock.patch("storages.backends.gcloud.Client")`` replaces the
    storage's client: with its placeholder body filled in, the storage saves and reads through
    the client the test made, on fake-gcs-server."""
    code = example("python", "gcloud-mock").text
    placeholder = "    ...  # the storage's client is client.return_value; no credentials needed\n"
    assert placeholder in code, code
    code = code.replace(placeholder, textwrap.indent(GCLOUD_MOCK_BODY, "    "))
    env = write_settings(tmp_path, "", None, docs_gcs)
    made = run_python(env, docs_gcs.prepare)
    assert made.returncode == 0, made.stderr
    done = run_python(env, code + GCLOUD_MOCK_AFTER)
    assert done.returncode == 0, done.stderr
    assert "stored: through the patched client" in done.stdout, done.stdout


SIGTERM_SOURCE = """
import boto3
from django.conf import settings

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
client.put_object(Bucket="sigterm", Key="big.bin", Body=bytes(24 * 1024 * 1024))
client.put_object(Bucket="sigterm", Key="small.txt", Body=b"small")
"""


def sigterm_run(docs_s3, tmp_path: Path, command: str, shown: str, shape) -> int:  # noqa: F811
    """The sample's ``copystorage default localbackup`` stopped by SIGTERM while a big file is
    read from S3 through a throttling proxy, into a local folder not made yet: what it prints,
    its exit status, and no half-written file left in the folder. Returns the lines compared."""
    import signal
    import subprocess
    import sys
    import time

    from tests.servers.proxy import TCPProxy

    args = command.split("#")[0].split()[3:]
    assert args == ["copystorage", "default", "localbackup"], args
    backup = tmp_path / "sigterm" / "localbackup"
    port = int(docs_s3.endpoint.rsplit(":", 1)[1])
    with TCPProxy("127.0.0.1", port, bandwidth=3 * 1024 * 1024) as proxy:
        aliases = f"""
STORAGES = {{
    "default": {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{"bucket_name": "sigterm"}},
    }},
    "localbackup": {{
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {{"location": {str(backup)!r}}},
    }},
    "staticfiles": {{"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}},
}}
"""
        env = write_settings(tmp_path / "sigterm-settings", aliases, docs_s3.endpoint)
        assert run_python(env, MAKE_BUCKETS).returncode == 0
        assert run_python(env, SIGTERM_SOURCE).returncode == 0
        settings_file = tmp_path / "sigterm-settings" / "docs_example_settings.py"
        settings_file.write_text(
            settings_file.read_text().replace(docs_s3.endpoint, f"http://127.0.0.1:{proxy.port}")
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "django", *args],
            cwd=tmp_path / "sigterm-settings",
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while not (backup / "big.bin").exists():  # Django's FileSystemStorage writes in place
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "big.bin not under way after 120 s"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=120)
    printed = [shape(line) for line in (out + err).splitlines()]
    compared = 0
    for line in shown.splitlines():
        if line.startswith("$ echo"):
            continue
        if line.strip().isdigit():
            assert proc.returncode == int(line), (proc.returncode, out, err)
        else:
            assert shape(line) in printed, (line, out, err)
        compared += 1
    big = backup / "big.bin"
    # Nothing half-written stays (Django's FileSystemStorage leaves what it wrote of a failed
    # save: the copy removes it).
    assert not big.exists() or big.stat().st_size == 24 * 1024 * 1024, big.stat().st_size
    return compared

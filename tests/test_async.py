"""The async API's own rules (storages/aio.py): threads, limits, settings, Django's async stack.

The behaviour of every operation on every backend is in the conformance suite's async half
(storages/testing/async_suite.py, joined by tests/backends/test_*.py).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
import uuid

import django
import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import Permission, User
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import HttpResponse, JsonResponse
from django.test import AsyncClient
from django.urls import include, path

from storages.backends.s3 import S3Storage
from storages.backends.sftpstorage import SFTPStorage
from storages.testing.async_suite import cancel_while_held
from storages.testing.memory import MemoryStorage, create_bucket
from storages.testing.suite import use_storages
from tests.direct_app.forms import UploadForm
from tests.direct_app.helpers import field_spec, s3_storage, send
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

pytest_plugins = ["tests.direct_app.fixtures"]


def s3_options(server, **extra) -> dict:
    return {
        "bucket_name": "async-tests",
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": uuid.uuid4().hex,
        **extra,
    }


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket("async-tests")
    return moto_server


# -- threads and event loops --------------------------------------------------------------
def test_import_and_construction_start_no_thread_and_no_event_loop():
    """Importing the package and its backends, and building storages, starts no thread and
    sets no event loop; the first awaited call starts one worker, not a pool's worth."""
    code = """
import asyncio, os, threading
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
import django
django.setup()
import storages.aio, storages.backends.s3, storages.backends.gcloud, storages.backends.azure_storage
import storages.backends.dropbox, storages.backends.sftpstorage, storages.backends.ftp
import storages.backends.apache_libcloud, storages.direct.views
from storages.testing.memory import MemoryStorage, create_bucket
create_bucket("b")
storage = MemoryStorage(bucket_name="b")
storages.backends.s3.S3Storage(bucket_name="x")
print(threading.active_count(), asyncio.get_event_loop_policy()._local._loop is None)
print(asyncio.run(storage.aexists("nothing")), threading.active_count())
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert out == ["1", "True", "False", "2"]


def test_workers_never_outnumber_the_limit_and_sync_calls_stay_where_they_are(s3_server):
    """200 aexists() on S3 with default settings run on at most 32 worker threads; the sync API
    called meanwhile runs in its own thread, not on the workers."""
    storage = S3Storage(**s3_options(s3_server))
    assert storage.async_limit() == 32
    seen: set[str] = set()
    original = storage._stat

    def stat(key):
        seen.add(threading.current_thread().name)
        return original(key)

    storage._stat = stat

    async def main():
        results = await asyncio.gather(*(storage.aexists(f"n{i}") for i in range(200)))
        return results, storage.exists("n0")

    results, sync_answer = asyncio.run(main())
    assert results == [False] * 200 and sync_answer is False
    workers = seen - {threading.current_thread().name}
    assert 1 < len(workers) <= 32 and all(t.startswith("storages-async") for t in workers)
    assert threading.current_thread().name in seen  # the sync call ran in the caller's thread
    assert len(storage._async_executor._threads) <= 32


# -- the setting ------------------------------------------------------------------------------
def test_async_concurrency_is_a_setting_of_every_backend():
    from django.utils.module_loading import import_string

    for path_ in (
        "storages.backends.s3.S3Storage",
        "storages.backends.gcloud.GoogleCloudStorage",
        "storages.backends.azure_storage.AzureStorage",
        "storages.backends.dropbox.DropboxStorage",
        "storages.backends.sftpstorage.SFTPStorage",
        "storages.backends.ftp.FTPStorage",
        "storages.backends.apache_libcloud.LibCloudStorage",
    ):
        rows = {s.name: s for s in import_string(path_).get_settings()}
        assert rows["async_concurrency"].default == 32, path_


@pytest.mark.parametrize("bad", [0, -1, "8", 2.5, True])
def test_async_concurrency_must_be_a_positive_integer(bad):
    create_bucket("limits")
    with pytest.raises(ImproperlyConfigured, match=r'OPTIONS\["async_concurrency"\]'):
        MemoryStorage(bucket_name="limits", async_concurrency=bad)


def test_the_limit_follows_the_connection_pool(s3_server):
    """S3's pool grows with async_concurrency (so no worker waits for a connection); a pool
    set by the user (client_config) caps it; SFTP's session pool caps it too."""
    from botocore.config import Config

    wide = S3Storage(**s3_options(s3_server, async_concurrency=64))
    assert wide.client.meta.config.max_pool_connections == 64 and wide.async_limit() == 64
    narrow = S3Storage(**s3_options(s3_server, client_config=Config(max_pool_connections=10)))
    assert narrow.async_limit() == 10
    sftp = SFTPStorage(host="127.0.0.1", async_concurrency=100)
    assert sftp.async_limit() == sftp.pool_size == 32


# -- Django's async stack ------------------------------------------------------------------------
class StorageHeader:
    """An async middleware that asks the storage something for every request."""

    async_capable, sync_capable = True, False

    def __init__(self, get_response):
        self.get_response = get_response

    async def __call__(self, request):
        response = await self.get_response(request)
        response["X-Report-Exists"] = str(await default_storage.aexists("reports/today.txt"))
        return response


async def upload_view(request):
    name = await default_storage.asave("reports/today.txt", ContentFile(request.body))
    async with default_storage.aopen(name) as f:
        return HttpResponse(await f.read())


async def thread_view(request):
    return JsonResponse({"thread": threading.current_thread().name})


def _ticket_urls():
    from storages.direct import views

    return [path("ticket/", getattr(views, "aticket", views.ticket))]


urlpatterns = [
    path("upload/", upload_view),
    path("thread/", thread_view),
    path("storages/direct/", include((_ticket_urls(), "storages_direct"))),
]


def test_async_view_and_middleware(settings, s3_server):
    use_storages(
        settings,
        {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": s3_options(s3_server),
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    settings.ROOT_URLCONF = __name__
    settings.MIDDLEWARE = [f"{__name__}.StorageHeader"]

    async def main():
        client = AsyncClient()
        reply = await client.post("/upload/", b"daily numbers", content_type="text/plain")
        return reply.status_code, reply.content, reply["X-Report-Exists"]

    assert asyncio.run(main()) == (200, b"daily numbers", "True")
    assert default_storage.open("reports/today.txt").read() == b"daily numbers"


@pytest.mark.django_db
def test_direct_upload_ticket_as_an_async_view(direct_settings, moto_server, use_storage):
    """The ticket view routed as an async view (ASGI): the permission hook uses the database,
    the ticket is signed on the storage's workers, and the browser's upload lands. Before
    Django 5.0 (whose view decorators take no async view) there is no async ticket view."""
    from storages.direct import views

    if django.VERSION < (5, 0):
        assert not hasattr(views, "aticket")
        return
    s3 = use_storage(s3_storage(moto_server))
    direct_settings.ROOT_URLCONF = __name__
    user = User.objects.create_user(f"u{time.monotonic_ns()}")
    user.user_permissions.add(Permission.objects.get(codename="add_upload"))
    signer = s3._url_client
    threads: list[str] = []

    def url_client():
        threads.append(threading.current_thread().name)
        return signer()

    s3._url_client = url_client
    data = b"async ticket\n"

    async def main():
        client = AsyncClient()
        await client.aforce_login(user)
        fields = {"field": field_spec(UploadForm), "name": "a.txt", "size": str(len(data))}
        return await client.post("/storages/direct/ticket/", {**fields, "type": "text/plain"})

    reply = async_to_sync(main)()
    assert reply.status_code == 200, reply.content
    ticket = reply.json()
    assert send(ticket, data).status_code in (200, 201, 204)
    assert s3.open(ticket["name"]).read() == data
    assert threads and threads[0].startswith("storages-async")
    assert reply["Cache-Control"].startswith("max-age=0")


# -- cancellation of an upload the SDK reads from disk itself ---------------------------------
def test_cancelled_asave_of_a_file_on_disk_aborts_its_multipart_upload(s3_server, tmp_path):
    """A file with a path on disk (Django's TemporaryUploadedFile) goes to s3transfer's
    upload_file at full speed; cancelled, its progress callback stops it: the multipart
    upload is aborted, never completed, and nothing is stored."""
    from django.core.files import File

    from storages.testing.helpers import PatternFile

    path = tmp_path / "upload.bin"
    with open(path, "wb") as out:
        source = PatternFile(64 * 1024 * 1024, seed=4)
        for chunk in iter(lambda: source.read(1024 * 1024), b""):
            out.write(chunk)

    class Uploaded(File):
        def temporary_file_path(self):
            return str(path)

    storage = S3Storage(**s3_options(s3_server))
    sent: list[str] = []
    storage.client.meta.events.register(
        "before-call.s3", lambda model, **kw: sent.append(model.name)
    )
    raw = s3_server.client()

    def uploads() -> list:
        return raw.list_multipart_uploads(Bucket="async-tests", Prefix=storage.location).get(
            "Uploads", []
        )

    async def main():
        with open(path, "rb") as f:
            task = asyncio.create_task(storage.asave("big/upload.bin", Uploaded(f)))
            while "UploadPart" not in sent:
                await asyncio.sleep(0.002)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(main())
    assert "CreateMultipartUpload" in sent and "AbortMultipartUpload" in sent
    assert "CompleteMultipartUpload" not in sent
    assert uploads() == [] and not storage.exists("big/upload.bin")


# -- one stop for every upload: a cancelled task and a stopped command ----------------------------
class _Stream:
    """``size`` bytes read as a stream (no path, no seek); ``drained`` once read to its end."""

    def __init__(self, size: int) -> None:
        from storages.testing.helpers import PatternFile

        self.inner, self.drained = PatternFile(size, seed=6), threading.Event()

    def read(self, n: int = -1) -> bytes:
        data = self.inner.read(n)
        if n and not data:
            self.drained.set()
        return data


def _held_part_upload(storage, number: int) -> tuple[list[str], threading.Event, threading.Event]:
    """Names of the S3 calls the storage sends; UploadPart ``number`` waits for ``go`` once it is
    ``entered`` (its body not sent yet)."""
    sent: list[str] = []
    entered, go = threading.Event(), threading.Event()

    def hold(params, **kwargs):
        if params.get("PartNumber") == number:
            entered.set()
            go.wait(60)

    events = storage.client.meta.events
    events.register("before-call.s3", lambda model, **kw: sent.append(model.name))
    events.register("before-parameter-build.s3.UploadPart", hold)
    return sent, entered, go


def test_cancelled_asave_stops_at_the_next_part_after_its_content_was_read(s3_server):
    """s3transfer reads a stream's parts ahead of sending them: an asave() cancelled after its
    whole content was read is still stopped, as each part is sent (the same check a stopped
    command makes), so the multipart upload is aborted and never completed."""
    from django.core.files import File

    storage = S3Storage(**s3_options(s3_server))
    sent, entered, go = _held_part_upload(storage, 2)
    source = _Stream(15 * 1024 * 1024)  # three parts of 5 MiB: no read after the last

    async def main():
        task = asyncio.create_task(storage.asave("big/stream.bin", File(source, name="s.bin")))
        await cancel_while_held(task, lambda: entered.is_set() and source.drained.is_set(), go)

    asyncio.run(main())
    assert "CreateMultipartUpload" in sent and "AbortMultipartUpload" in sent
    assert "CompleteMultipartUpload" not in sent
    assert not storage.exists("big/stream.bin")


def test_a_stopped_command_stops_an_async_upload_too(s3_server):
    """stop_uploads() (a command's Ctrl-C or SIGTERM) stops an asave() in flight inside the
    command's scope, through the same stop as a cancellation: aborted, nothing stored."""
    from django.core.files import File

    from storages.transfer import UploadAborted, stop_uploads, stoppable_uploads

    storage = S3Storage(**s3_options(s3_server))
    sent, entered, go = _held_part_upload(storage, 2)
    source = _Stream(15 * 1024 * 1024)

    async def main():
        task = asyncio.create_task(storage.asave("big/stopped.bin", File(source, name="s.bin")))
        while not (entered.is_set() and source.drained.is_set()) and not task.done():
            await asyncio.sleep(0.002)
        stop_uploads()
        go.set()
        with pytest.raises(UploadAborted):
            await task

    with stoppable_uploads():
        asyncio.run(main())
    assert "CompleteMultipartUpload" not in sent
    assert not storage.exists("big/stopped.bin")

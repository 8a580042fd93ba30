"""GoogleCloudStorage against fake-gcs-server: the conformance suite plus GCS's own settings."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File

from storages.errors import StorageError, StorageUnavailable
from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    StorageConformance,
    StorageLifecycle,
)
from storages.testing.async_suite import async_conformance
from storages.testing.helpers import PatternFile, fetch, peak_memory, sha256_of
from storages.testing.integrity import ProxiedBackend, ReadIntegrity
from tests.backends.fileserver_checks import wait_for
from tests.sdk_missing import import_without
from tests.servers import free_port
from tests.servers.gcs import (
    PROJECT,
    SA_EMAIL,
    GCSServer,
    service_account_info,
    start_gcs,
    start_token_server,
)

BUCKET = "conformance"
PATH = "storages.backends.gcloud.GoogleCloudStorage"
MB = 1024 * 1024


@pytest.fixture(scope="session")
def gcs_server():
    server = start_gcs()
    server.create_bucket(BUCKET)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def token_server():
    server = start_token_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sa_info(token_server) -> dict:
    """One throwaway service-account key for the session; its tokens come from the local token
    server."""
    return service_account_info(token_uri=token_server.grant_uri)


def credentials(info: dict, token_uri: str | None = None):
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(
        {**info, **({"token_uri": token_uri} if token_uri else {})}
    )


def gcs_options(server: GCSServer, info: dict, **extra) -> dict:
    return {
        "bucket_name": BUCKET,
        "credentials": credentials(info),
        "client_options": {"api_endpoint": server.endpoint},
        "location": f"conformance/{uuid.uuid4().hex}",
        **extra,
    }


def anonymous_options(server: GCSServer, **extra) -> dict:
    from google.auth.credentials import AnonymousCredentials

    return {
        "bucket_name": BUCKET,
        "credentials": AnonymousCredentials(),
        "client_options": {"api_endpoint": server.endpoint},
        "location": f"gcs/{uuid.uuid4().hex}",
        **extra,
    }


class TestGoogleCloudReadIntegrity(ReadIntegrity):
    @pytest.fixture
    def proxied_backend(self, gcs_server, sa_info):
        return ProxiedBackend(
            port=int(gcs_server.endpoint.rsplit(":", 1)[1]),
            config=lambda proxy: BackendConfig(
                PATH, gcs_options(gcs_server, sa_info, client_options={"api_endpoint": proxy.url})
            ),
        )


class TestGoogleCloudConformance(StorageConformance, StorageLifecycle):
    # fake-gcs-server v1.54.0 ignores ifGenerationMatch on resumable uploads
    # (fixed upstream later): only single-request uploads are atomic there.
    capabilities = Capabilities.strict(
        overwrite_option="file_overwrite",
        created_time=True,
        accessed_time=False,
        atomic_create=True,
    )
    # Resumable uploads (past 8 MiB) in 1 MiB chunks instead of 100 MiB ones.
    lifecycle_options = {"blob_chunk_size": 1024 * 1024}

    @pytest.fixture
    def storage_config(self, gcs_server, sa_info):
        return BackendConfig(
            PATH,
            gcs_options(gcs_server, sa_info),
            secrets=[sa_info["private_key"]],
            static_options={"querystring_auth": False},
        )

    @pytest.fixture
    def broken_configs(self, gcs_server, sa_info, token_server):
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                PATH,
                {
                    **gcs_options(gcs_server, sa_info),
                    "credentials": credentials(sa_info, token_server.revoked_uri),
                },
                secrets=[sa_info["private_key"]],
            ),
            missing_container=BackendConfig(
                PATH, gcs_options(gcs_server, sa_info, bucket_name="no-such-bucket")
            ),
            unreachable=BackendConfig(
                PATH,
                gcs_options(
                    gcs_server,
                    sa_info,
                    client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"},
                ),
            ),
        )


class TestGoogleCloudAsync(async_conformance(TestGoogleCloudConformance)):
    """Through the recording proxy: fake-gcs-server can't list resumable upload sessions, so the
    proxy's log tells them: a session is still open when the last answer on its URI was 308
    (Resume Incomplete), neither the end of the upload (200/201) nor its cancellation (499,
    Google's answer to a DELETE)."""

    @pytest.fixture
    def gcs_proxy(self, gcs_server):
        from tests.servers.http_faults import HTTPFaultProxy

        with HTTPFaultProxy("127.0.0.1", gcs_server.process.port) as proxy:
            yield proxy

    @pytest.fixture
    def storage_config(self, gcs_server, sa_info, gcs_proxy):
        return BackendConfig(
            PATH,
            gcs_options(gcs_server, sa_info, client_options={"api_endpoint": gcs_proxy.url}),
            secrets=[sa_info["private_key"]],
            static_options={"querystring_auth": False},
        )

    @pytest.fixture
    def unfinished_uploads(self, gcs_proxy):
        def open_sessions(storage) -> list[str]:
            last: dict[str, int] = {}
            for served in gcs_proxy.served:
                if "upload_id=" in served.path:
                    last[served.path] = served.status
            return sorted(path for path, status in last.items() if status == 308)

        return open_sessions


# -- GCS's own behaviour -------------------------------------------------------------


@contextmanager
def counted():
    """Count HTTP requests to the local servers made through http.client (requests, urllib3, the
    SDK).

    Requests elsewhere are left out: google-auth looks up a "regional access
    boundary" at iamcredentials.googleapis.com in a background thread after
    each token refresh (it fails here, offline, without delaying anything).
    """
    import http.client

    counts = {"requests": 0, "lines": [], "urls": []}
    original = http.client.HTTPConnection.putrequest

    def counting(self, method, url, *args, **kwargs):
        if self.host == "127.0.0.1":
            counts["requests"] += 1
            counts["lines"].append(f"{method} {url.split('?')[0]}")
            counts["urls"].append(url)
        return original(self, method, url, *args, **kwargs)

    http.client.HTTPConnection.putrequest = counting
    try:
        yield counts
    finally:
        http.client.HTTPConnection.putrequest = original


@pytest.fixture
def storage(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    return GoogleCloudStorage(**gcs_options(gcs_server, sa_info))


@pytest.fixture
def anon(gcs_server):
    from storages.backends.gcloud import GoogleCloudStorage

    return GoogleCloudStorage(**anonymous_options(gcs_server))


def stored_blob(server: GCSServer, storage, name: str):
    """The object as the SDK sees it (independent of the backend)."""
    return server.client().bucket(BUCKET).get_blob(storage._key(name))


def test_defaults_match_the_documented_ones(settings):
    from storages.backends.gcloud import (
        CONTENT_ENCODING,
        CONTENT_TYPE,
        GoogleCloudFile,
        GoogleCloudStorage,
    )
    from storages.files import RemoteFile

    s = GoogleCloudStorage()
    assert (s.bucket_name, s.project_id, s.credentials, s.custom_endpoint) == (
        None,
        None,
        None,
        None,
    )
    assert s.location == "" and s.default_acl is None and s.querystring_auth is True
    assert s.expiration == dt.timedelta(days=1)
    assert (
        s.gzip is False
        and "text/css" in s.gzip_content_types
        and "image/svg+xml" in s.gzip_content_types
    )
    assert s.file_overwrite is True and s.object_parameters == {} and s.max_memory_size == 0
    assert s.blob_chunk_size is None and s.iam_sign_blob is False and s.sa_email is None
    assert (CONTENT_ENCODING, CONTENT_TYPE) == ("content_encoding", "content_type")
    assert issubclass(GoogleCloudFile, RemoteFile)
    with pytest.raises(ImproperlyConfigured, match="GS_BUCKET_NAME"):
        s.exists("x")


def test_every_setting_is_read_from_django_settings(settings):
    from storages.backends.gcloud import GoogleCloudStorage

    values = {
        "GS_BUCKET_NAME": "b",
        "GS_PROJECT_ID": "p",
        "GS_CUSTOM_ENDPOINT": "https://cdn.example.com",
        "GS_LOCATION": "media",
        "GS_DEFAULT_ACL": "publicRead",
        "GS_QUERYSTRING_AUTH": False,
        "GS_EXPIRATION": 300,
        "GS_IS_GZIPPED": True,
        "GZIP_CONTENT_TYPES": ("text/plain",),
        "GS_FILE_OVERWRITE": False,
        "GS_OBJECT_PARAMETERS": {"cache_control": "no-cache"},
        "GS_MAX_MEMORY_SIZE": 1024,
        "GS_BLOB_CHUNK_SIZE": 512 * 1024,
        "GS_IAM_SIGN_BLOB": True,
        "GS_SA_EMAIL": "sa@p.iam.gserviceaccount.com",
    }
    for key, value in values.items():
        setattr(settings, key, value)
    s = GoogleCloudStorage()
    assert (s.bucket_name, s.project_id, s.custom_endpoint, s.location) == (
        "b",
        "p",
        "https://cdn.example.com",
        "media",
    )
    assert (s.default_acl, s.querystring_auth, s.expiration) == (
        "publicRead",
        False,
        dt.timedelta(seconds=300),
    )
    assert (s.gzip, s.gzip_content_types, s.file_overwrite) == (True, ("text/plain",), False)
    assert s.object_parameters == {"cache_control": "no-cache"} and s.max_memory_size == 1024
    assert (s.blob_chunk_size, s.iam_sign_blob, s.sa_email) == (
        512 * 1024,
        True,
        "sa@p.iam.gserviceaccount.com",
    )
    # OPTIONS beat settings
    assert GoogleCloudStorage(bucket_name="other", location="x").bucket_name == "other"
    with pytest.raises(ImproperlyConfigured, match="unknown option"):
        GoogleCloudStorage(no_such_option=1)


@pytest.mark.parametrize(
    "value,expected",
    [
        (dt.timedelta(hours=2), dt.timedelta(hours=2)),
        (7200, dt.timedelta(hours=2)),
        (
            dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
            dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
        ),
    ],
)
def test_expiration_forms(value, expected):
    from storages.backends.gcloud import GoogleCloudStorage

    assert GoogleCloudStorage(expiration=value).expiration == expected


def test_expiration_and_chunk_size_are_validated():
    from storages.backends.gcloud import GoogleCloudStorage

    with pytest.raises(ImproperlyConfigured, match="7 days"):
        GoogleCloudStorage(expiration=dt.timedelta(days=8))
    with pytest.raises(ImproperlyConfigured, match="GS_EXPIRATION"):
        GoogleCloudStorage(expiration=[1])
    with pytest.raises(ImproperlyConfigured, match="256 KiB"):
        GoogleCloudStorage(blob_chunk_size=1000)
    with pytest.raises(ImproperlyConfigured, match="'colour'"):
        GoogleCloudStorage(object_parameters={"colour": "red"})


def test_signed_url_lifetime_follows_expiration(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**gcs_options(gcs_server, sa_info, expiration=600))
    name = s.save("expiring.txt", ContentFile(b"soon"))
    with counted() as calls:
        url = s.url(name)
    assert calls["requests"] == 0  # signed locally
    query = parse_qs(urlsplit(url).query)
    assert query["X-Goog-Algorithm"] == ["GOOG4-RSA-SHA256"] and query["X-Goog-Expires"] == ["600"]
    assert query["X-Goog-Credential"][0].startswith(SA_EMAIL)
    assert url.startswith(f"{gcs_server.endpoint}/{BUCKET}/{s.location}/expiring.txt?")
    assert fetch(url) == (200, b"soon")


def test_signed_upload_url(storage):
    url = storage.url(
        "uploads/from-browser.txt", parameters={"method": "PUT", "content_type": "text/plain"}
    )
    assert "X-Goog-Signature" in url
    import urllib.request

    request = urllib.request.Request(
        url, method="PUT", data=b"sent straight to GCS", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - local emulator
        assert reply.status == 200
    with storage.open("uploads/from-browser.txt") as f:
        assert f.read() == b"sent straight to GCS"


@pytest.mark.parametrize("options", [{"querystring_auth": False}, {"default_acl": "publicRead"}])
def test_public_urls_need_no_request_and_no_key(gcs_server, options):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**anonymous_options(gcs_server, **options))
    name = s.save("dir/public file+1.txt", ContentFile(b"public"))
    fresh = GoogleCloudStorage(**anonymous_options(gcs_server, location=s.location, **options))
    with counted() as calls:
        url = fresh.url(name)
    assert calls["requests"] == 0
    assert url == f"{gcs_server.endpoint}/{BUCKET}/{s.location}/dir/public%20file%2B1.txt"
    assert fetch(url) == (200, b"public")


def test_custom_endpoint(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    unsigned = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            custom_endpoint="https://cdn.example.com",
            querystring_auth=False,
            location="static",
        )
    )
    with counted() as calls:
        assert unsigned.url("css/a b.css") == "https://cdn.example.com/static/css/a%20b.css"
        signed = GoogleCloudStorage(
            **gcs_options(gcs_server, sa_info, custom_endpoint="cdn.example.com", location="media")
        ).url("doc.pdf")
    assert calls["requests"] == 0
    assert (
        signed.startswith("https://cdn.example.com/media/doc.pdf?")
        and "X-Goog-Signature=" in signed
    )


def test_url_without_a_signing_key_says_what_to_do(anon):
    with pytest.raises(ImproperlyConfigured, match="GS_QUERYSTRING_AUTH"):
        anon.url("x.txt")


def test_iam_sign_blob_errors_are_clear(gcs_server, sa_info, token_server):
    from google.auth.credentials import AnonymousCredentials

    from storages.backends.gcloud import GoogleCloudStorage

    revoked = credentials(sa_info, token_server.revoked_uri)
    s = GoogleCloudStorage(
        **gcs_options(gcs_server, sa_info, credentials=revoked, iam_sign_blob=True)
    )
    start = time.monotonic()
    with pytest.raises(PermissionError, match="GoogleCloudStorage could not get an access token"):
        s.url("x.txt")
    assert time.monotonic() - start < 10
    s = GoogleCloudStorage(
        **gcs_options(gcs_server, sa_info, credentials=AnonymousCredentials(), iam_sign_blob=True)
    )
    with pytest.raises(ImproperlyConfigured, match="GS_SA_EMAIL"):
        s.url("x.txt")


def test_save_is_one_request(storage):
    storage.exists("warm-up")  # the token request happens once per storage
    with counted() as calls:
        storage.save("one-request.txt", ContentFile(b"x" * 1000))
    assert calls["requests"] == 1, calls["lines"]
    assert calls["lines"][0].startswith("POST /upload/storage/v1/b/")


def test_open_read_is_one_request_and_seek_is_ranged(storage):
    payload = bytes(range(256)) * 4096  # 1 MiB
    name = storage.save("ranged.bin", ContentFile(payload))
    storage.exists(name)
    with counted() as calls:
        with storage.open(name, "rb") as f:
            assert f.read(100) == payload[:100]
            assert calls["requests"] == 1
            f.seek(700_000)
            assert f.read(10) == payload[700_000:700_010]
    assert calls["requests"] == 2 and all(
        line.startswith("GET /download/") for line in calls["lines"]
    )


def test_open_does_not_download_the_whole_file(storage):
    size = 40 * MB
    name = storage.save("big/not-downloaded.bin", File(PatternFile(size, seed=3), name="x.bin"))
    with peak_memory() as peak:
        f = storage.open(name, "rb")
        assert len(f.read(1000)) == 1000
        f.seek(-10, 2)
        assert len(f.read()) == 10
        f.close()
    assert peak["peak"] < 4 * MB


def test_overwrite_off_uses_generation_zero(storage, gcs_server):
    """The create-only upload itself refuses an existing name (no check-then-write window)."""
    storage.save("taken.txt", ContentFile(b"first"))
    writer = storage._writer_for("taken.txt", create_only=True)
    writer.write(b"second")
    with pytest.raises(FileExistsError, match="taken.txt"):
        writer.close()
    assert storage.open("taken.txt").read() == b"first"
    # and a new name goes through
    writer = storage._writer_for("free.txt", create_only=True)
    writer.write(b"new")
    writer.close()
    assert stored_blob(gcs_server, storage, "free.txt").download_as_bytes() == b"new"


def test_large_create_only_upload_asks_for_generation_zero(storage):
    """Above 8 MiB the resumable session carries the precondition too.

    fake-gcs-server v1.54.0 does not enforce it on resumable uploads (real
    GCS does), so this checks the request the backend sends.
    """
    storage.exists("warm-up")
    with counted() as calls:
        writer = storage._writer_for("large-create.bin", create_only=True)
        writer.write(b"x" * (9 * MB))
        writer.close()
    start = parse_qs(urlsplit(calls["urls"][0]).query)
    assert start["uploadType"] == ["resumable"] and start["ifGenerationMatch"] == ["0"]
    assert storage.size("large-create.bin") == 9 * MB


def test_resumable_upload_in_chunks(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**gcs_options(gcs_server, sa_info, blob_chunk_size=256 * 1024))
    source = PatternFile(9 * MB + 17, seed=5)
    s.exists("warm-up")
    with counted() as calls:
        name = s.save("chunked.bin", File(source, name="chunked.bin"))
    # above 8 MiB: start the session, 36 full chunks, then the last 17 bytes
    assert calls["requests"] == 1 + 36 + 1, calls["lines"][:3]
    assert calls["lines"][0].startswith("POST /upload/storage/v1/b/conformance/o")
    assert stored_blob(gcs_server, s, name).size == 9 * MB + 17
    with s.open(name, "rb") as f:
        assert sha256_of(f.chunks(MB)) == source.digest()


def test_write_buffer_sets_the_chunk_over_blob_chunk_size(gcs_server, sa_info):
    """GS_WRITE_BUFFER's part size is the resumable chunk, over GS_BLOB_CHUNK_SIZE (rounded up to
    256 KiB); unset, GS_BLOB_CHUNK_SIZE decides as in 1.14."""
    from storages.backends.gcloud import GoogleCloudStorage
    from storages.transfer import WriteBuffer

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server, sa_info, blob_chunk_size=256 * 1024, write_buffer={"part_size": MB - 5}
        )
    )
    assert s.upload_part_size == MB
    # files up to 8 MiB still go in one request, held whole
    assert s.effective_write_buffer == WriteBuffer(part_size=8 * MB, concurrency=1)
    source = PatternFile(9 * MB + 17, seed=5)
    s.exists("warm-up")
    with counted() as calls:
        name = s.save("chunked.bin", File(source, name="chunked.bin"))
    assert calls["requests"] == 1 + 9 + 1, calls["lines"][:3]  # start, 9 chunks of 1 MiB, end
    with s.open(name, "rb") as f:
        assert sha256_of(f.chunks(MB)) == source.digest()
    with pytest.raises(ImproperlyConfigured, match="GS_WRITE_BUFFER: part_size"):
        GoogleCloudStorage(**gcs_options(gcs_server, sa_info, write_buffer={"part_size": "1"}))


def test_open_for_writing_streams_chunks(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**gcs_options(gcs_server, sa_info, blob_chunk_size=MB))
    source = PatternFile(24 * MB, seed=9)
    s.exists("warm-up")
    with counted() as calls, peak_memory() as peak:
        with s.open("streamed.bin", "wb") as f:
            for chunk in iter(lambda: source.read(MB // 2 + 3), b""):
                f.write(chunk)
    assert peak["peak"] < 20 * MB  # the first 8 MiB wait in memory: a small file stays one request
    assert calls["requests"] == 1 + 24 + 1  # start, one per MiB, then the (empty) final chunk
    with s.open("streamed.bin", "rb") as f:
        assert sha256_of(f.chunks(MB)) == source.digest()


def test_text_mode(storage):
    with storage.open("text.txt", "w") as f:
        f.write("héllo\n")
        f.write("wörld\n")
    with storage.open("text.txt", "r") as f:
        assert f.readline() == "héllo\n"
        assert f.read() == "wörld\n"


def test_download_is_checked_with_crc32c(storage, gcs_server):
    payload = b"0123456789" * 10_000
    name = storage.save("checked.bin", ContentFile(payload))
    assert storage.open(name).read() == payload
    # Corrupt the stored bytes behind the server's back (same size; the
    # server keeps reporting the checksum of what was uploaded).
    path = gcs_server.root / "data" / BUCKET / storage._key(name)
    with open(path, "r+b") as raw:
        raw.seek(5000)
        raw.write(b"X")
    with pytest.raises(StorageError, match="corrupted"):
        storage.open(name).read()
    with pytest.raises(StorageError, match="corrupted"):
        with storage.open(name) as f:
            list(f.chunks(4096))
    # a ranged read can't be checked against the whole-object hash, but still works
    with storage.open(name) as f:
        f.seek(10)
        assert f.read(5) == payload[10:15]


def test_object_parameters_are_stored(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    class PerFile(GoogleCloudStorage):
        def get_object_parameters(self, name):
            params = super().get_object_parameters(name)
            if name.endswith(".pdf"):
                params["content_disposition"] = "attachment"
            return params

    s = PerFile(
        **gcs_options(
            gcs_server,
            sa_info,
            object_parameters={
                "cache_control": "public, max-age=60",
                "metadata": {"owner": "tests"},
                "content_language": "fr",
            },
        )
    )
    s.save("doc.pdf", ContentFile(b"%PDF"))
    s.save("page.html", ContentFile(b"<p>"))
    pdf = stored_blob(gcs_server, s, "doc.pdf")
    assert (pdf.cache_control, pdf.content_disposition, pdf.metadata) == (
        "public, max-age=60",
        "attachment",
        {"owner": "tests"},
    )
    assert pdf.content_type == "application/pdf" and pdf.content_language == "fr"
    html = stored_blob(gcs_server, s, "page.html")
    assert html.content_disposition is None and html.content_type == "text/html"
    # content_type from the parameters beats the guess; large uploads carry them too
    t = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            blob_chunk_size=256 * 1024,
            object_parameters={"content_type": "application/x-custom", "cache_control": "no-store"},
        )
    )
    t.save("big.bin", File(PatternFile(9 * MB), name="big.bin"))
    big = stored_blob(gcs_server, t, "big.bin")
    assert (big.content_type, big.cache_control) == ("application/x-custom", "no-store")
    with pytest.raises(ImproperlyConfigured, match="get_object_parameters"):

        class Wrong(GoogleCloudStorage):
            def get_object_parameters(self, name):
                return {"CacheControl": "x"}

        Wrong(**gcs_options(gcs_server, sa_info)).save("x.txt", ContentFile(b"x"))


def test_gzip(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**gcs_options(gcs_server, sa_info, gzip=True))
    css = b"body { color: red; }\n" * 200
    name = s.save("site.css", ContentFile(css))
    blob = stored_blob(gcs_server, s, name)
    assert blob.content_encoding == "gzip" and blob.content_type == "text/css"
    assert gzip.decompress(blob.download_as_bytes(raw_download=True)) == css
    assert s.open(name).read() == css
    s.save("plain.txt", ContentFile(b"not compressed"))
    assert stored_blob(gcs_server, s, "plain.txt").content_encoding is None


def test_times(storage, gcs_server, settings):
    settings.USE_TZ = True
    name = storage.save("timed.txt", ContentFile(b"t"))
    blob = stored_blob(gcs_server, storage, name)
    assert storage.get_created_time(name) == blob.time_created
    assert storage.get_modified_time(name) == blob.updated
    for method in (storage.get_created_time, storage.get_modified_time, storage.size, storage.open):
        with pytest.raises(FileNotFoundError):
            method("missing.txt")
    with pytest.raises(NotImplementedError, match="access times"):
        storage.get_accessed_time(name)


def test_google_cloud_file(storage):
    from storages.backends.gcloud import GoogleCloudFile

    name = storage.save("blob.txt", ContentFile(b"blob"))
    f = storage.open(name)
    assert isinstance(f, GoogleCloudFile)
    assert f.blob.size == 4 and f.blob.name == storage._key(name)
    assert f.read() == b"blob"


def test_exists_of_the_root(gcs_server, sa_info, storage):
    from storages.backends.gcloud import GoogleCloudStorage

    assert storage.exists("") is True
    assert (
        GoogleCloudStorage(**gcs_options(gcs_server, sa_info, bucket_name="not-there")).exists("")
        is False
    )


def test_emulator_environment_variable(gcs_server, monkeypatch):
    """STORAGE_EMULATOR_HOST alone is enough: no credentials, no client_options."""
    from storages.backends.gcloud import GoogleCloudStorage

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_server.endpoint)
    s = GoogleCloudStorage(
        bucket_name=BUCKET, location=f"env/{uuid.uuid4().hex}", querystring_auth=False
    )
    name = s.save("env.txt", ContentFile(b"env"))
    assert s.open(name).read() == b"env"
    assert fetch(s.url(name)) == (200, b"env")


def test_unreachable_fails_fast(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server, sa_info, client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"}
        )
    )
    start = time.monotonic()
    for call in (
        lambda: s.save("x.txt", ContentFile(b"x")),
        lambda: s.open("x.txt"),
        lambda: s.exists("x"),
        lambda: s.listdir(""),
    ):
        with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS"):
            call()
    assert time.monotonic() - start < 10


def test_bad_credentials_fail_fast_with_permission_error(gcs_server, sa_info, token_server):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server, sa_info, credentials=credentials(sa_info, token_server.revoked_uri)
        )
    )
    start = time.monotonic()
    for call in (
        lambda: s.save("x.txt", ContentFile(b"x")),
        lambda: s.open("x.txt"),
        lambda: s.size("x"),
        lambda: s.listdir(""),
    ):
        with pytest.raises(PermissionError, match="GS_CREDENTIALS") as info:
            call()
        assert sa_info["private_key"] not in str(info.value)
    assert time.monotonic() - start < 10


def test_missing_bucket(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**gcs_options(gcs_server, sa_info, bucket_name="no-such-bucket"))
    with pytest.raises(ImproperlyConfigured, match="GS_BUCKET_NAME"):
        s.save("x.txt", ContentFile(b"x"))
    with pytest.raises(ImproperlyConfigured, match="GS_BUCKET_NAME"):
        s.listdir("")
    with pytest.raises(FileNotFoundError):
        s.open("x.txt")


def test_legacy_settings(settings, gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    bucket = f"auto-{uuid.uuid4().hex[:12]}"
    settings.GS_AUTO_CREATE_BUCKET = True
    settings.GS_AUTO_CREATE_ACL = "projectPrivate"
    settings.GS_CACHE_CONTROL = "max-age=86400"
    settings.GS_FILE_CHARSET = "utf-8"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        s = GoogleCloudStorage(
            **gcs_options(gcs_server, sa_info, bucket_name=bucket, project_id=PROJECT)
        )
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("GS_AUTO_CREATE_BUCKET" in m for m in messages)
    assert any("GS_AUTO_CREATE_ACL" in m for m in messages)
    assert any("GS_CACHE_CONTROL" in m and "GS_OBJECT_PARAMETERS" in m for m in messages)
    assert any("GS_FILE_CHARSET" in m and "no effect" in m for m in messages)
    name = s.save("auto.txt", ContentFile(b"made the bucket"))
    blob = gcs_server.client().bucket(bucket).get_blob(s._key(name))
    assert blob.download_as_bytes() == b"made the bucket" and blob.cache_control == "max-age=86400"
    # an explicit object parameter beats the legacy one
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        t = GoogleCloudStorage(
            **gcs_options(gcs_server, sa_info, object_parameters={"cache_control": "no-cache"})
        )
    assert t.object_parameters == {"cache_control": "no-cache"}


def test_pickled_storage_keeps_working(storage):
    import pickle

    name = storage.save("p.txt", ContentFile(b"p"))
    clone = pickle.loads(pickle.dumps(storage))
    assert clone.open(name).read() == b"p" and "X-Goog-Signature" in clone.url(name)
    assert "credentials" not in storage.deconstruct()[2]


def test_missing_sdk_names_the_extra():
    out = import_without("google.cloud.storage", "storages.backends.gcloud")
    assert out.startswith("True") and "django-storages[google]" in out, out


def test_application_default_credentials_from_a_key_file(
    gcs_server, sa_info, tmp_path, monkeypatch
):
    """No GS_CREDENTIALS: GOOGLE_APPLICATION_CREDENTIALS names a key file (its tokens come from the
    local endpoint)."""
    import json

    from storages.backends.gcloud import GoogleCloudStorage

    key_file = tmp_path / "key.json"
    key_file.write_text(json.dumps(sa_info))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key_file))
    s = GoogleCloudStorage(
        bucket_name=BUCKET,
        client_options={"api_endpoint": gcs_server.endpoint},
        location=f"adc/{uuid.uuid4().hex}",
    )
    name = s.save("adc.txt", ContentFile(b"adc"))
    assert s.open(name).read() == b"adc"
    assert s.client.project == PROJECT
    url = s.url(name)
    assert parse_qs(urlsplit(url).query)["X-Goog-Credential"][0].startswith(SA_EMAIL)
    assert fetch(url) == (200, b"adc")
    assert "credentials" not in s.deconstruct()[2]


# -- the transfer layer: the SDK's uploads, retries, scan / batch delete / server-side copy
# ----------


class OneShot(io.RawIOBase):
    """A non-seekable stream (a pipe, a socket): its size is unknown until it ends."""

    def __init__(self, data: bytes) -> None:
        super().__init__()
        self._data = memoryview(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


@pytest.fixture
def fault_proxy(gcs_server):
    from tests.servers.http_faults import HTTPFaultProxy

    with HTTPFaultProxy("127.0.0.1", gcs_server.process.port) as proxy:
        yield proxy


def test_a_chunk_answered_503_is_retried_and_the_upload_completes(gcs_server, sa_info, fault_proxy):
    """Issue 9: one 503 on a chunk PUT of a resumable upload no longer fails the save."""
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            blob_chunk_size=256 * 1024,
            client_options={"api_endpoint": fault_proxy.url},
        )
    )
    # 8 MiB + 4 (one-shot: resumable): 32 chunks + the tail.
    payload = bytes(range(256)) * 4096 * 8 + b"tail"
    fault_proxy.fail(503, method="PUT", path="/upload/storage/v1/b/conformance/o", nth=2)
    name = s.save("retried.bin", File(OneShot(payload), name="retried.bin"))
    assert stored_blob(gcs_server, s, name).download_as_bytes() == payload
    injected = fault_proxy.injected()
    assert len(injected) == 1 and injected[0][0] == "PUT" and injected[0][2] == 503
    puts = [r for r in fault_proxy.served if r.method == "PUT"]
    assert len(puts) == 1 + 33  # the refused chunk, then 33 chunks (the second one again)
    # A finished session is not cancelled.
    assert not [r for r in fault_proxy.served if r.method == "DELETE"]


def test_transient_errors_on_every_kind_of_request_are_retried(gcs_server, sa_info, fault_proxy):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(gcs_server, sa_info, client_options={"api_endpoint": fault_proxy.url})
    )
    for method in ("POST", "GET"):
        fault_proxy.fail(503, method=method, times=2)
    fault_proxy.fail(429, method="DELETE")
    name = s.save("again.txt", ContentFile(b"again"))  # the multipart POST, refused twice
    assert s.open(name).read() == b"again"  # the download GET, refused twice
    s.delete(name)
    assert not s.exists(name)
    assert [status for _, _, status in fault_proxy.injected()] == [503, 503, 503, 503, 429]


def test_a_server_that_keeps_failing_gives_storage_unavailable(gcs_server, sa_info, fault_proxy):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server, sa_info, client_options={"api_endpoint": fault_proxy.url}, retry_deadline=2
        )
    )
    s.save("kept.txt", ContentFile(b"old"))
    fault_proxy.fail(503, times=10_000)
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS") as info:
        s.save("kept.txt", ContentFile(b"new"))
    assert "GS_RETRY_DEADLINE" in str(info.value)
    assert time.monotonic() - start < 10
    fault_proxy.clear()
    assert s.open("kept.txt").read() == b"old"


def session_requests(proxy) -> tuple[str, list]:
    """The resumable upload session's URI (path and query) and every request sent to it, in
    order."""
    session = next(r.path for r in proxy.served if "upload_id=" in r.path)
    return session, [(r.method, r.status) for r in proxy.served if r.path == session]


def test_an_aborted_upload_cancels_its_session(gcs_server, sa_info, storage, fault_proxy):
    """open("wb") past the single-request threshold, then an exception: the upload session is
    cancelled with a DELETE on its URI (fake-gcs-server answers 499, as Google documents); nothing
    is stored under a new name, and an existing name keeps its old content."""
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            location=storage.location,
            blob_chunk_size=256 * 1024,
            client_options={"api_endpoint": fault_proxy.url},
        )
    )
    storage.save("kept.bin", ContentFile(b"old content"))
    for name in ("kept.bin", "new.bin"):
        fault_proxy.clear()
        with pytest.raises(RuntimeError), s.open(name, "wb") as f:
            f.write(b"x" * (9 * MB))  # past 8 MiB: streaming, resumably
            # Wait until chunks are arriving.
            wait_for(lambda: sum(r.method == "PUT" for r in fault_proxy.served) >= 2)
            raise RuntimeError("the view failed half-way")
        session, sent = session_requests(fault_proxy)
        assert f"name={storage._key(name)}".replace("/", "%2F") in session
        assert (
            sent[0] == ("PUT", 308)
            and sent[-1] == ("DELETE", 499)
            and ("DELETE", 499) not in sent[:-1]
        )
    assert storage.open("kept.bin").read() == b"old content"
    assert not storage.exists("new.bin") and storage.listdir("")[1] == ["kept.bin"]


def test_a_failed_upload_from_a_file_cancels_its_session(
    gcs_server, sa_info, storage, fault_proxy, tmp_path
):
    """A resumable upload from disk whose 3rd chunk is refused (400: not retried): the save fails,
    its session is cancelled, and the name keeps its old content."""
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            location=storage.location,
            blob_chunk_size=256 * 1024,
            client_options={"api_endpoint": fault_proxy.url},
        )
    )
    storage.save("kept.bin", ContentFile(b"old content"))
    path = tmp_path / "big.bin"
    path.write_bytes(PatternFile(9 * MB, seed=4).read())
    fault_proxy.fail(
        400,
        method="PUT",
        path="upload_id=",
        nth=3,
        body=b'{"error": {"code": 400, "message": "refused by the test proxy"}}',
    )
    with pytest.raises(StorageError, match="400"), path.open("rb") as fh:
        s.save("kept.bin", File(fh, name="big.bin"))
    session, sent = session_requests(fault_proxy)
    assert sent == [("PUT", 308), ("PUT", 308), ("PUT", 400), ("DELETE", 499)]
    assert storage.open("kept.bin").read() == b"old content"


def test_the_sdk_opens_resumable_sessions_where_the_cancel_expects(storage):
    """The cancel wraps the private Blob._initiate_resumable_upload, which must return the SDK's
    ResumableUpload (resumable_url, finished) and its transport: fail loudly when the SDK changes
    it."""
    import inspect

    from google.cloud.storage import Blob

    params = inspect.signature(Blob._initiate_resumable_upload).parameters
    assert list(params)[:5] == ["self", "client", "stream", "content_type", "size"]
    blob = Blob(storage._key("probe.bin"), storage.bucket, chunk_size=256 * 1024)
    upload, transport = blob._initiate_resumable_upload(
        storage.client, io.BytesIO(b"probe"), None, None
    )
    assert upload.resumable_url.startswith(storage._api_endpoint()) and upload.finished is False
    assert transport is storage._conn()[1]
    assert transport.request("DELETE", upload.resumable_url, timeout=10).status_code == 499


@pytest.mark.parametrize("how", ["file", "stream", "open"])
def test_uploads_of_every_origin_store_the_bytes(storage, gcs_server, tmp_path, how):
    """A path (upload_from_filename), a one-shot stream and open('wb'), across the 8 MiB limit."""
    payload = PatternFile(9 * MB + 5, seed=11).read()
    if how == "file":
        path = tmp_path / "src.bin"
        path.write_bytes(payload)
        with open(path, "rb") as f:
            name = storage.save("origin.bin", File(f))
    elif how == "stream":
        name = storage.save("origin.bin", File(OneShot(payload), name="x"))
    else:
        name = "origin.bin"
        with storage.open(name, "wb") as f:
            f.write(payload)
    blob = stored_blob(gcs_server, storage, name)
    assert blob.size == len(payload) and blob.content_type == "application/octet-stream"
    assert blob.download_as_bytes() == payload


@pytest.mark.parametrize(
    "content", [ContentFile("text, of unknown size in bytes"), "gzip", "one-shot"]
)
def test_small_content_of_unknown_size_is_one_request(gcs_server, sa_info, content):
    """The SDK would send an unknown size resumably (two requests): a short stream is read first."""
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(**gcs_options(gcs_server, sa_info, gzip=content == "gzip"))
    expected = b"body { color: red }" * 100 if content == "gzip" else b"one-shot" * 1000
    if content == "gzip":
        content = ContentFile(expected, name="site.css")
    elif content == "one-shot":
        content = File(OneShot(expected), name="x")
    else:
        expected = b"text, of unknown size in bytes"
    s.exists("warm-up")
    with counted() as calls:
        name = s.save("unknown.css", content)
    assert calls["requests"] == 1 and calls["lines"][0].startswith("POST /upload/")
    assert s.open(name).read() == expected


def test_a_path_is_uploaded_by_the_sdk_from_disk(storage, tmp_path, monkeypatch):
    from google.cloud.storage import Blob

    calls = []
    original = Blob.upload_from_filename
    monkeypatch.setattr(
        Blob,
        "upload_from_filename",
        lambda self, filename, **kw: calls.append(filename) or original(self, filename, **kw),
    )

    class Uploaded(File):
        def temporary_file_path(self):
            return self.file.name

    path = tmp_path / "upload.txt"
    path.write_bytes(b"from disk")
    with open(path, "rb") as f:
        name = storage.save("from-disk.txt", Uploaded(f))
    assert calls == [str(path)]
    assert storage.open(name).read() == b"from disk"


def test_ranged_reads_have_an_end(storage):
    payload = bytes(range(256)) * 64
    name = storage.save("ranges.bin", ContentFile(payload))
    key = storage._key(name)
    with counted() as calls:
        result = storage._open_reader(key, 100, 300)
        assert result.body.read() == payload[100:300] and result.info.size == len(payload)
        result.body.close()
    assert calls["requests"] == 1
    result = storage._open_reader(key, 0)
    assert result.body.read() == payload
    assert result.info.hashes["md5"] == hashlib.md5(payload).hexdigest()


def test_large_reads_fetch_ranges_ahead_on_several_threads(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            read_ahead={"threshold": MB, "part_size": 256 * 1024, "concurrency": 3},
        )
    )
    source = PatternFile(3 * MB, seed=2)
    name = s.save("ahead.bin", File(source, name="ahead.bin"))
    with counted() as calls, s.open(name) as f:
        assert sha256_of(f.chunks(64 * 1024)) == source.digest()
    ranged = [u for u in calls["urls"] if "/download/" in u]
    assert len(ranged) > 3  # the first GET, then ranged GETs from the pool


def test_scan_lists_every_object_with_its_hashes(storage):
    import google_crc32c

    files = {"a.txt": b"a", "d/b.txt": b"bb", "d/e/c.txt": b"ccc"}
    for name, data in files.items():
        storage.save(name, ContentFile(data))
    with counted() as calls:
        found = dict(storage.scan(""))
    assert calls["requests"] == 1
    assert set(found) == set(files)
    for name, data in files.items():
        info = found[name]
        assert info.size == len(data) and info.modified is not None
        assert info.hashes == {
            "md5": hashlib.md5(data).hexdigest(),
            "crc32c": google_crc32c.Checksum(data).digest().hex(),
        }
    assert storage._stat(storage._key("d/b.txt")).hashes == found["d/b.txt"].hashes
    assert set(dict(storage.scan("d"))) == {"d/b.txt", "d/e/c.txt"}


def test_scan_pages_through_large_listings(storage, monkeypatch):
    for i in range(5):
        storage.save(f"many/{i}.txt", ContentFile(b"x"))
    original = storage.client.list_blobs
    monkeypatch.setattr(
        type(storage.client),
        "list_blobs",
        lambda self, *a, **kw: original(*a, **{**kw, "page_size": 2}),
    )
    with counted() as calls:
        assert len(list(storage.scan("many"))) == 5
    assert calls["requests"] == 3


def test_delete_many(storage):
    """fake-gcs-server has no batch endpoint: after one batch attempt the storage deletes one by
    one."""
    names = [storage.save(f"del/{i}.txt", ContentFile(b"x")) for i in range(4)]
    storage.save("del/kept.txt", ContentFile(b"k"))
    with counted() as calls:
        storage.delete_many([*names, "del/never-there.txt"])
    assert calls["lines"][0].startswith("POST /batch/storage/v1")
    assert calls["requests"] == 1 + 5
    assert storage.listdir("del") == ([], ["kept.txt"])
    with counted() as calls:
        storage.delete_many(["del/kept.txt"])
    assert calls["requests"] == 1 and not storage.exists("del/kept.txt")


def test_batch_delete_through_the_sdk(storage, monkeypatch):
    """Where the server has the batch endpoint, 100 keys go in one request (counted at the SDK's
    batch).

    fake-gcs-server has no batch endpoint, so the SDK's send is replaced to count what it would
    send."""
    from google.cloud.storage.batch import Batch

    sent = []
    monkeypatch.setattr(
        Batch, "finish", lambda self, raise_exception=True: sent.append(len(self._requests))
    )
    storage.delete_many([f"k{i}" for i in range(250)])
    assert sent == [100, 100, 50]


def test_server_side_copy(gcs_server, sa_info, storage):
    from storages.backends.gcloud import GoogleCloudStorage

    name = storage.save("copy/src.txt", ContentFile(b"copied"))
    other = GoogleCloudStorage(
        **{
            **gcs_options(gcs_server, sa_info),
            "credentials": storage.credentials,
            "object_parameters": {"cache_control": "max-age=5"},
        }
    )
    spec, _ = other._upload_spec("dst.txt", create_only=True)
    other.exists("warm-up")  # its token
    with counted() as calls:
        assert other._copy_from(storage, storage._key(name), spec) is True
    assert [line.split("/o/")[0] for line in calls["lines"]] == [
        f"POST /storage/v1/b/{BUCKET}",
        f"PATCH /storage/v1/b/{BUCKET}",
    ]
    assert "rewriteTo" in calls["urls"][0] and "ifGenerationMatch=0" in calls["urls"][0]
    blob = stored_blob(gcs_server, other, "dst.txt")
    assert blob.download_as_bytes() == b"copied"
    assert (blob.content_type, blob.cache_control) == ("text/plain", "max-age=5")
    # the same account with its own credentials object can; another account (or provider) can't
    same = GoogleCloudStorage(**gcs_options(gcs_server, sa_info))
    assert same._copy_from(storage, storage._key(name), same._upload_spec("same.txt")[0]) is True
    stranger = GoogleCloudStorage(**anonymous_options(gcs_server))
    assert stranger._copy_from(storage, storage._key(name), spec) is False
    assert other._copy_from(object(), "x", spec) is False


# -- issue 10: the objects code written around 1.14 touches
# ------------------------------------------


def test_patching_client_in_a_projects_tests_takes_effect(gcs_server, monkeypatch):
    """``mock.patch("storages.backends.gcloud.Client")`` replaces the storage's client (no
    credentials needed): the storage works through whatever client the patch returns, here one
    the test made on fake-gcs-server.

    The patch is the feature under test: 1.14 users patch these names in their own suites."""
    from unittest import mock

    from storages.backends.gcloud import GoogleCloudStorage

    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    location = f"patched/{uuid.uuid4().hex}"
    with mock.patch("storages.backends.gcloud.Client") as patched:
        patched.return_value = gcs_server.client()
        storage = GoogleCloudStorage(bucket_name=BUCKET, project_id="p", location=location)
        assert storage.client is patched.return_value
        assert patched.call_args.kwargs["project"] == "p"
        name = storage.save("a.txt", ContentFile(b"through the patched client"))
        assert storage.exists(name) and not storage.exists("nothing.txt")
    stored = gcs_server.client().bucket(BUCKET).get_blob(f"{location}/a.txt")
    assert stored.download_as_bytes() == b"through the patched client"


def test_patching_blob_in_a_projects_tests_takes_effect(storage, gcs_server):
    """``mock.patch("storages.backends.gcloud.Blob")`` is seen by the storage: a project's test
    can watch (or replace) the SDK's blob; here the patch wraps the real class, so the upload
    reaches the server."""
    from unittest import mock

    from google.cloud.storage import Blob

    with mock.patch("storages.backends.gcloud.Blob", wraps=Blob) as patched:
        storage.save("watched.txt", ContentFile(b"watched"))
    assert patched.call_args_list[0].args[0] == storage._key("watched.txt")
    assert stored_blob(gcs_server, storage, "watched.txt").download_as_bytes() == b"watched"


def test_client_and_bucket_are_the_sdks_objects(storage, gcs_server):
    from google.cloud.storage import Bucket, Client

    name = storage.save("public-api.txt", ContentFile(b"sdk"))
    assert isinstance(storage.client, Client) and isinstance(storage.bucket, Bucket)
    assert storage.bucket.name == BUCKET
    keys = [b.name for b in storage.client.list_blobs(BUCKET, prefix=storage.location + "/")]
    assert keys == [storage._key(name)]
    assert storage.bucket.blob(storage._key(name)).download_as_bytes() == b"sdk"


def test_google_cloud_file_keeps_its_constructor(storage):
    from storages.backends.gcloud import GoogleCloudFile

    storage.save("direct.txt", ContentFile(b"direct"))
    f = GoogleCloudFile("direct.txt", "rb", storage)
    assert f.read() == b"direct" and f.blob.size == 6
    f.close()
    with GoogleCloudFile("direct-w.txt", "wb", storage) as f:
        f.write(b"written")
    assert storage.open("direct-w.txt").read() == b"written"


# -- issue 14: faults and hostile input ------------------------------------------------------------


def test_a_silent_endpoint_fails_within_60_seconds_with_defaults(gcs_server, sa_info):
    """Accepts TCP, never answers: StorageUnavailable naming the setting, within the documented
    budget."""
    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.proxy import TCPProxy

    with TCPProxy("127.0.0.1", gcs_server.process.port, mode="blackhole") as proxy:
        s = GoogleCloudStorage(
            **gcs_options(
                gcs_server, sa_info, client_options={"api_endpoint": f"http://{proxy.url}"}
            )
        )
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS") as info:
            s.exists("x.txt")
        elapsed = time.monotonic() - start
    print(f"silent endpoint: StorageUnavailable after {elapsed:.1f} s")
    assert elapsed < 60
    assert elapsed >= s.read_timeout  # it did wait for an answer, and gave up by itself
    assert "GS_RETRY_DEADLINE" in str(info.value) and proxy.url in str(info.value)


def test_timeouts_are_settings(gcs_server, sa_info, settings):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage()
    assert (s.connect_timeout, s.read_timeout, s.retry_deadline) == (10, 20, 25)
    settings.GS_CONNECT_TIMEOUT, settings.GS_READ_TIMEOUT, settings.GS_RETRY_DEADLINE = 3, 4, 5
    s = GoogleCloudStorage()
    assert (s._rpc["timeout"], s._rpc["retry"].deadline) == ((3, 4), 5)
    with pytest.raises(ImproperlyConfigured, match="GS_READ_TIMEOUT"):
        GoogleCloudStorage(read_timeout=0)


def test_a_silent_endpoint_with_short_settings(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.proxy import TCPProxy

    with TCPProxy("127.0.0.1", gcs_server.process.port, mode="blackhole") as proxy:
        s = GoogleCloudStorage(
            **gcs_options(
                gcs_server,
                sa_info,
                read_timeout=1,
                retry_deadline=1,
                client_options={"api_endpoint": f"http://{proxy.url}"},
            )
        )
        for call in (
            lambda: s.save("x.txt", ContentFile(b"x")),
            lambda: s.open("x.txt"),
            lambda: s.listdir(""),
        ):
            start = time.monotonic()
            with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS"):
                call()
            assert time.monotonic() - start < 5


def test_a_slow_but_steady_download_is_not_cut_off(gcs_server, sa_info, storage):
    """The timeouts bound waiting for bytes, not the length of a transfer: 3 MiB at 1 MB/s takes
    three times the read timeout and the retry deadline together, and completes."""
    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.proxy import TCPProxy

    source = PatternFile(3 * MB, seed=4)
    name = storage.save("slow.bin", File(source, name="slow.bin"))
    with TCPProxy("127.0.0.1", gcs_server.process.port, bandwidth=1_000_000) as proxy:
        s = GoogleCloudStorage(
            **gcs_options(
                gcs_server,
                sa_info,
                location=storage.location,
                read_timeout=0.5,
                retry_deadline=0.5,
                client_options={"api_endpoint": f"http://{proxy.url}"},
            )
        )
        start = time.monotonic()
        with s.open(name) as f:
            assert sha256_of(f.chunks(MB)) == source.digest()
        assert time.monotonic() - start > 3 * (s.read_timeout + s.retry_deadline)


def test_a_closed_port_fails_fast(gcs_server, sa_info):
    from storages.backends.gcloud import GoogleCloudStorage

    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server, sa_info, client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"}
        )
    )
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS"):
        s.exists("x.txt")
    assert time.monotonic() - start < 2


def test_a_key_over_1024_bytes_is_refused_before_any_request(storage):
    from storages.naming import NameTooLong

    storage.exists("warm-up")
    long_name = "é" * 520 + ".txt"  # 1,044 bytes in UTF-8
    with counted() as calls:
        for call in (
            lambda: storage.save(long_name, ContentFile(b"x")),
            lambda: storage.open(long_name),
            lambda: storage.exists(long_name),
            lambda: storage.open(long_name, "wb").write(b"x"),
        ):
            with pytest.raises(NameTooLong, match="1024"):
                call()
    assert calls["requests"] == 0


def test_a_cut_upload_leaves_the_old_content(gcs_server, sa_info, storage):
    """Every connection cut after 256 KiB up: the single-request upload can never finish. The save
    fails as StorageUnavailable within the retry budget; the old bytes stay, a new name stays
    free."""
    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.proxy import TCPProxy

    storage.save("cut.bin", ContentFile(b"old content"))
    with TCPProxy(
        "127.0.0.1", gcs_server.process.port, cut_after=256 * 1024, cut_direction="up"
    ) as proxy:
        s = GoogleCloudStorage(
            **gcs_options(
                gcs_server,
                sa_info,
                location=storage.location,
                retry_deadline=2,
                client_options={"api_endpoint": f"http://{proxy.url}"},
            )
        )
        for name in ("cut.bin", "cut-new.bin"):
            start = time.monotonic()
            with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS"):
                s.save(name, ContentFile(b"n" * MB))
            assert time.monotonic() - start < 2 + s.read_timeout
        assert proxy.stats.cuts >= 2
    assert storage.open("cut.bin").read() == b"old content"
    assert not storage.exists("cut-new.bin")


def test_a_resumable_upload_resumes_after_cut_connections(gcs_server, sa_info, storage):
    """Each connection is cut after 3 MB: the SDK resends the broken chunk on a new one, and the
    object is complete; until it is, nothing is stored under the name."""
    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.proxy import TCPProxy

    payload = PatternFile(10 * MB + 3, seed=8).read()
    with TCPProxy(
        "127.0.0.1", gcs_server.process.port, cut_after=3_000_000, cut_direction="up"
    ) as proxy:
        s = GoogleCloudStorage(
            **gcs_options(
                gcs_server,
                sa_info,
                location=storage.location,
                blob_chunk_size=MB,
                client_options={"api_endpoint": f"http://{proxy.url}"},
            )
        )
        with s.open("resumed.bin", "wb") as f:
            f.write(payload[: 9 * MB])  # past the 8 MiB threshold: streaming
            assert not storage.exists("resumed.bin")
            f.write(payload[9 * MB :])
        assert proxy.stats.cuts >= 2
    assert stored_blob(gcs_server, storage, "resumed.bin").download_as_bytes() == payload


def test_a_server_frozen_during_a_read_gives_storage_unavailable(gcs_server, sa_info):
    """SIGSTOP the server mid-download: the read fails after the read timeout, translated and
    named."""
    import os
    import signal

    from storages.backends.gcloud import GoogleCloudStorage

    # Larger than what the kernel can hold in flight on loopback (the receive buffer grows to
    # tcp_rmem's maximum, 32 MB here): else a loaded machine has the whole body buffered before
    # the server stops, and the read rightly completes.
    in_flight = sum(
        int(Path(f"/proc/sys/net/ipv4/{name}").read_text().split()[-1])
        for name in ("tcp_rmem", "tcp_wmem")
    )
    size = max(32 * MB, in_flight + 8 * MB)
    writer = GoogleCloudStorage(**gcs_options(gcs_server, sa_info))
    name = writer.save("frozen.bin", File(PatternFile(size, seed=6), name="frozen.bin"))
    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            location=writer.location,
            read_timeout=1,
            retry_deadline=1,
            read_ahead=False,
        )
    )
    f = s.open(name)
    assert len(f.read(MB)) == MB
    pid = gcs_server.process.proc.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match="GS_CLIENT_OPTIONS"):
            while f.read(MB):
                pass
        assert time.monotonic() - start < 10
    finally:
        os.kill(pid, signal.SIGCONT)
        f.close()
    assert s.size(name) == size

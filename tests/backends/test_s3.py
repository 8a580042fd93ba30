"""S3Storage against moto's standalone server: the conformance suite plus S3's own settings."""

from __future__ import annotations

import uuid

import pytest
from boto3.s3.transfer import TransferConfig

from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    StorageConformance,
    StorageLifecycle,
)
from storages.testing.async_suite import async_conformance
from storages.testing.integrity import ProxiedBackend, ReadIntegrity
from tests.sdk_missing import import_without
from tests.servers import free_port
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, S3Server

BUCKET = "conformance"


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


@pytest.fixture(scope="module")
def s3_auth_server(moto_auth_server):
    return moto_auth_server


def s3_options(server: S3Server, **extra) -> dict:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": f"conformance/{uuid.uuid4().hex}",
        **extra,
    }


class TestS3ReadIntegrity(ReadIntegrity):
    @pytest.fixture
    def proxied_backend(self, s3_server):
        return ProxiedBackend(
            port=int(s3_server.endpoint.rsplit(":", 1)[1]),
            config=lambda proxy: BackendConfig(
                "storages.backends.s3.S3Storage", s3_options(s3_server, endpoint_url=proxy.url)
            ),
        )


class TestS3Conformance(StorageConformance, StorageLifecycle):
    capabilities = Capabilities.strict(
        overwrite_option="file_overwrite", created_time=False, accessed_time=False
    )
    # Multipart from 5 MiB (S3's smallest part) instead of 8, to keep the lifecycle tests small.
    lifecycle_options = {
        "transfer_config": TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20)
    }

    def interrupted_leftovers(self, storage, name):
        key = storage._key(name)
        uploads = storage.client.list_multipart_uploads(Bucket=BUCKET, Prefix=key)
        return [u["Key"] for u in uploads.get("Uploads", [])]

    @pytest.fixture
    def storage_config(self, s3_server):
        return BackendConfig(
            "storages.backends.s3.S3Storage",
            s3_options(s3_server),
            secrets=[SECRET_KEY],
            static_options={"querystring_auth": False},
        )

    @pytest.fixture
    def broken_configs(self, s3_server, s3_auth_server):
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                "storages.backends.s3.S3Storage", s3_options(s3_auth_server), secrets=[SECRET_KEY]
            ),
            missing_container=BackendConfig(
                "storages.backends.s3.S3Storage",
                s3_options(s3_server, bucket_name="no-such-bucket"),
            ),
            unreachable=BackendConfig(
                "storages.backends.s3.S3Storage",
                s3_options(s3_server, endpoint_url=f"http://127.0.0.1:{free_port()}"),
            ),
        )


TestS3Async = async_conformance(TestS3Conformance)


# ---------------------------------------------------------------------------
# S3's own settings and behaviour
# ---------------------------------------------------------------------------
import base64  # noqa: E402
import datetime as dt  # noqa: E402
import gzip  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from urllib.parse import parse_qs, urlsplit  # noqa: E402

import requests  # noqa: E402
from django.core.exceptions import ImproperlyConfigured  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402

from storages.backends.s3 import S3ManifestStaticStorage, S3StaticStorage, S3Storage  # noqa: E402
from storages.testing.helpers import PatternFile, fetch  # noqa: E402
from storages.testing.suite import use_storages  # noqa: E402

MB = 1024 * 1024


class RequestLog:
    """Every S3 request a storage's client sends (operation name and headers)."""

    def __init__(self, storage: S3Storage) -> None:
        self.calls: list[tuple[str, dict]] = []
        storage.client.meta.events.register("before-send.s3", self._record)

    def _record(self, request, **kwargs) -> None:
        op = kwargs.get("event_name", "").split(".")[-1]
        headers = {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}
        self.calls.append((request.method, headers, request.url, op))

    @property
    def methods(self) -> list[str]:
        return [c[0] for c in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def s3(s3_server):
    return S3Storage(**s3_options(s3_server))


@pytest.fixture
def raw(s3_server):
    return s3_server.client()


# -- settings resolution ---------------------------------------------------------
class Subclassed(S3Storage):
    bucket_name = "from-class"
    location = "class-location"
    querystring_auth = False


def test_settings_precedence(settings, monkeypatch):
    settings.AWS_STORAGE_BUCKET_NAME = "from-settings"
    settings.AWS_LOCATION = "settings-location"
    settings.AWS_QUERYSTRING_EXPIRE = 60
    monkeypatch.setenv("AWS_S3_ACCESS_KEY_ID", "from-env")
    s = S3Storage()
    assert (s.bucket_name, s.location, s.querystring_expire, s.access_key) == (
        "from-settings",
        "settings-location",
        60,
        "from-env",
    )
    sub = Subclassed()
    assert (sub.bucket_name, sub.location, sub.querystring_auth) == (
        "from-class",
        "class-location",
        False,
    )
    opt = Subclassed(bucket_name="from-options")
    assert opt.bucket_name == "from-options"
    settings.AWS_S3_ACCESS_KEY_ID = "from-setting-key"
    assert S3Storage().access_key == "from-setting-key"
    assert S3Storage().file_overwrite is True and S3Storage().default_acl is None
    assert S3Storage().max_memory_size == 0 and S3Storage().url_protocol == "https:"


def test_legacy_alias_names_of_settings(settings):
    settings.AWS_ACCESS_KEY_ID = "legacy-id"
    settings.AWS_SECRET_ACCESS_KEY = "legacy-secret"
    settings.AWS_SECURITY_TOKEN = "legacy-token"
    s = S3Storage()
    assert (s.access_key, s.secret_key, s.security_token) == (
        "legacy-id",
        "legacy-secret",
        "legacy-token",
    )


def test_unknown_option_lists_valid_ones():
    with pytest.raises(ImproperlyConfigured) as info:
        S3Storage(bucket="x")
    message = str(info.value)
    assert "'bucket'" in message and "bucket_name" in message and "querystring_auth" in message


def test_missing_bucket_names_option_and_setting(s3_server):
    s = S3Storage(endpoint_url=s3_server.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    with pytest.raises(ImproperlyConfigured) as info:
        s.exists("x")
    assert 'OPTIONS["bucket_name"]' in str(info.value) and "AWS_STORAGE_BUCKET_NAME" in str(
        info.value
    )


def test_invalid_combinations():
    with pytest.raises(ImproperlyConfigured, match="SESSION_PROFILE"):
        S3Storage(session_profile="p", access_key="a", secret_key="b")
    with pytest.raises(ImproperlyConfigured, match="AWS_CLOUDFRONT_KEY"):
        S3Storage(cloudfront_key_id="abc")
    with pytest.raises(ImproperlyConfigured, match="must end with ':'"):
        S3Storage(url_protocol="https")
    with pytest.raises(ImproperlyConfigured, match="must not start with '/'"):
        S3Storage(location="/abs")


def test_compatible_services_get_checksums_they_accept(s3_server):
    s = S3Storage(**s3_options(s3_server))
    config = s.client.meta.config
    assert config.request_checksum_calculation == "when_required"
    assert config.response_checksum_validation == "when_required"
    aws = S3Storage(bucket_name="b", region_name="eu-west-1")
    assert aws._config().request_checksum_calculation is None  # boto3's default on AWS itself


def test_client_config_is_used_as_given(s3_server):
    from botocore.config import Config

    s = S3Storage(
        **s3_options(
            s3_server, client_config=Config(max_pool_connections=3, signature_version="s3v4")
        )
    )
    assert s.client.meta.config.max_pool_connections == 3
    s.save("cfg.txt", ContentFile(b"ok"))
    assert s.open("cfg.txt").read() == b"ok"


def test_old_import_paths(settings):
    from storages.backends.s3boto3 import S3Boto3Storage, S3Boto3StorageFile
    from storages.backends.s3boto3 import S3ManifestStaticStorage as M
    from storages.backends.s3boto3 import S3StaticStorage as St

    assert S3Boto3Storage is S3Storage and St is S3StaticStorage and M is S3ManifestStaticStorage
    assert S3Boto3StorageFile.__name__ == "S3File"
    from storages.backends.s3boto import S3BotoStorage

    with pytest.warns(DeprecationWarning, match="storages.backends.s3.S3Storage"):
        assert isinstance(S3BotoStorage(bucket_name="b"), S3Storage)


def test_missing_sdk_names_the_extra():
    out = import_without("boto3", "storages.backends.s3")
    assert out.startswith("True") and "django-storages[s3]" in out, out


# -- legacy (1.6/1.7-era) settings ------------------------------------------------------
def test_legacy_headers_encryption_and_storage_class(settings, s3_server, raw):
    settings.AWS_HEADERS = {"Cache-Control": "max-age=60", "x-amz-meta-owner": "team"}
    settings.AWS_S3_ENCRYPTION = True
    settings.AWS_REDUCED_REDUNDANCY = True
    with pytest.warns(DeprecationWarning) as caught:
        s = S3Storage(**s3_options(s3_server))
    text = " ".join(str(w.message) for w in caught)
    assert "AWS_HEADERS" in text and "AWS_S3_OBJECT_PARAMETERS" in text and "CacheControl" in text
    name = s.save("legacy.txt", ContentFile(b"x"))
    head = raw.head_object(Bucket=BUCKET, Key=f"{s.location}/{name}")
    assert head["CacheControl"] == "max-age=60"
    assert head["Metadata"] == {"owner": "team"}
    assert head["ServerSideEncryption"] == "AES256"
    assert head["StorageClass"] == "REDUCED_REDUNDANCY"


def test_legacy_host_port_calling_format_origin_proxy(settings, s3_server):
    host, port = s3_server.endpoint.split("//")[1].split(":")
    settings.AWS_S3_HOST = host
    settings.AWS_S3_PORT = int(port)
    settings.AWS_S3_USE_SSL = False
    settings.AWS_S3_CALLING_FORMAT = "boto.s3.connection.OrdinaryCallingFormat"
    settings.AWS_ORIGIN = "EU"
    settings.AWS_S3_PROXY_HOST = "proxy.internal"
    settings.AWS_S3_PROXY_PORT = 3128
    options = {
        k: v for k, v in s3_options(s3_server).items() if k not in ("endpoint_url", "region_name")
    }
    with pytest.warns(DeprecationWarning, match="AWS_S3_ENDPOINT_URL"):
        s = S3Storage(**options)
    assert s.endpoint_url == s3_server.endpoint
    assert s.addressing_style == "path"
    assert s.region_name == "eu-west-1"
    assert s.proxies == {"http": "proxy.internal:3128", "https": "proxy.internal:3128"}
    s.proxies = None  # the proxy does not exist here; the endpoint does
    s.save("via-legacy-endpoint.txt", ContentFile(b"legacy"))
    assert s.open("via-legacy-endpoint.txt").read() == b"legacy"


def test_explicit_setting_beats_legacy(settings, s3_server):
    settings.AWS_ORIGIN = "EU"
    settings.AWS_S3_REGION_NAME = "ap-south-1"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert S3Storage(bucket_name="b").region_name == "ap-south-1"


def test_legacy_auto_create_bucket(settings, s3_server, raw):
    settings.AWS_AUTO_CREATE_BUCKET = True
    settings.AWS_BUCKET_ACL = "private"
    with pytest.warns(DeprecationWarning, match="AWS_AUTO_CREATE_BUCKET"):
        s = S3Storage(
            **s3_options(s3_server, bucket_name="made-on-first-use", region_name="eu-west-1")
        )
    s.save("first.txt", ContentFile(b"1"))
    assert raw.get_bucket_location(Bucket="made-on-first-use")["LocationConstraint"] == "eu-west-1"
    assert s.open("first.txt").read() == b"1"


# -- requests per operation ------------------------------------------------------------
def test_requests_per_operation(s3):
    s3.save("warm.txt", ContentFile(b"w"))
    log = RequestLog(s3)
    s3.save("one.txt", ContentFile(b"hello"))
    assert log.methods == ["PUT"]
    log.clear()
    with s3.open("one.txt") as f:
        assert f.read() == b"hello"
    assert log.methods == ["GET"]
    log.clear()
    assert s3.exists("one.txt") and s3.size("one.txt") == 5
    assert log.methods == ["HEAD", "HEAD"]
    log.clear()
    s3.url("one.txt")
    S3StaticStorage(**{**s3_options_for(s3)}).url("one.txt")
    s3.url("one.txt", http_method="PUT")
    assert log.methods == []


def s3_options_for(storage: S3Storage) -> dict:
    return {
        k: getattr(storage, k)
        for k in (
            "bucket_name",
            "endpoint_url",
            "region_name",
            "access_key",
            "secret_key",
            "location",
        )
    }


def test_overwrite_off_is_create_only(s3_server):
    s = S3Storage(**s3_options(s3_server, file_overwrite=False))
    log = RequestLog(s)
    s.save("c.txt", ContentFile(b"1"))
    assert log.methods == ["HEAD", "PUT"]
    assert log.calls[1][1].get("If-None-Match") == "*"


def test_multipart_above_threshold_and_create_only(s3_server):
    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=5 * MB)
    s = S3Storage(**s3_options(s3_server, transfer_config=config, file_overwrite=False))
    log = RequestLog(s)
    name = s.save("mp.bin", ContentFile(PatternFile(12 * MB).read()))
    ops = [c[3] for c in log.calls]
    assert ops == [
        "HeadObject",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPart",
        "UploadPart",
        "CompleteMultipartUpload",
    ]
    assert log.calls[-1][1].get("If-None-Match") == "*"
    assert s.size(name) == 12 * MB
    # a second create-only multipart upload under the same key is refused by the server
    from storages.base import BaseStorage  # noqa: F401

    writer = s._writer_for("mp.bin", create_only=True)
    writer.write(PatternFile(12 * MB, seed=3).read())
    with pytest.raises(FileExistsError):
        writer.close()
    assert s.open("mp.bin").read(10) == PatternFile(12 * MB).read(10)


def test_write_buffer_wins_over_the_transfer_config(s3_server):
    """AWS_WRITE_BUFFER sets the parts of save() and open("wb") (over AWS_S3_TRANSFER_CONFIG and
    AWS_S3_FILE_BUFFER_SIZE) and s3transfer's threads and parts in memory; unset, the transfer
    config and the file buffer size decide, as in 1.14."""
    from storages.transfer import WriteBuffer

    config = TransferConfig(multipart_threshold=5 * MB, multipart_chunksize=8 * MB)
    plain = S3Storage(**s3_options(s3_server, transfer_config=config, file_buffer_size=7 * MB))
    s = S3Storage(
        **s3_options(
            s3_server,
            transfer_config=config,
            file_buffer_size=7 * MB,
            write_buffer={"part_size": 6 * MB, "concurrency": 2},
        )
    )
    assert s.effective_write_buffer == WriteBuffer(part_size=6 * MB, concurrency=2)
    assert (s._transfer_config.max_concurrency, s._transfer_config.max_in_memory_upload_chunks) == (
        2,
        2,
    )
    assert config.multipart_chunksize == 8 * MB  # the user's object is left as it was
    for storage, parts in ((plain, [8, 7]), (s, [6, 6])):
        log = RequestLog(storage)
        storage.save("wb.bin", ContentFile(PatternFile(13 * MB).read()))
        with storage.open("wb-open.bin", "wb") as f:
            f.write(PatternFile(13 * MB).read())
        uploads = [c[3] for c in log.calls if c[3] == "UploadPart"]
        # 13 MiB in parts of the chosen size: save() and open("wb") each
        assert len(uploads) == -(-13 // parts[0]) + -(-13 // parts[1])
        assert storage.open("wb-open.bin").read() == PatternFile(13 * MB).read()


def test_write_buffer_as_a_global_setting_on_the_default_storage(s3_server, settings):
    """The documented path: AWS_WRITE_BUFFER in settings.py and the S3 storage as
    STORAGES["default"] (no OPTIONS for it): default_storage uploads in those parts."""
    from django.core.files.storage import default_storage

    settings.AWS_WRITE_BUFFER = {"part_size": 6 * MB, "concurrency": 2}
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
    assert default_storage.effective_write_buffer.part_size == 6 * MB
    log = RequestLog(default_storage._wrapped)
    name = default_storage.save("global.bin", ContentFile(PatternFile(13 * MB).read()))
    assert [c[3] for c in log.calls].count("UploadPart") == 3  # 13 MiB in parts of 6 MiB
    assert default_storage.open(name).read() == PatternFile(13 * MB).read()


def test_write_buffer_off_is_one_part_at_a_time(s3_server):
    s = S3Storage(**s3_options(s3_server, write_buffer=False))
    transfer = s._transfer_config
    assert (transfer.max_concurrency, transfer.max_in_memory_upload_chunks) == (1, 1)
    assert s.effective_write_buffer.bound == 3 * 5 * MB
    name = s.save("one.bin", ContentFile(PatternFile(11 * MB).read()))
    assert s.open(name).read() == PatternFile(11 * MB).read()


def test_ranged_reads_after_seek(s3):
    payload = PatternFile(6 * MB).read()
    s3.save("ranged.bin", ContentFile(payload))
    log = RequestLog(s3)
    with s3.open("ranged.bin") as f:
        f.seek(5 * MB)
        assert f.read(100) == payload[5 * MB : 5 * MB + 100]
    assert log.methods == ["GET", "GET"]
    assert "Range" not in log.calls[0][1]
    assert log.calls[1][1]["Range"] == f"bytes={5 * MB}-"


def test_seek_beyond_end_reads_nothing(s3):
    s3.save("short.txt", ContentFile(b"abc"))
    with s3.open("short.txt") as f:
        f.seek(100)
        assert f.read() == b""


# -- object parameters, ACLs, content types, gzip ----------------------------------------
class PerObjectParams(S3Storage):
    def get_object_parameters(self, name):
        params = super().get_object_parameters(name)
        if name.endswith(".pdf"):
            params["ContentDisposition"] = "attachment"
        return params


def test_object_parameters_and_per_object_override(s3_server, raw):
    s = PerObjectParams(
        **s3_options(
            s3_server, object_parameters={"CacheControl": "max-age=86400", "Metadata": {"k": "v"}}
        )
    )
    s.save("doc.pdf", ContentFile(b"%PDF"))
    s.save("doc.txt", ContentFile(b"t"))
    pdf = raw.head_object(Bucket=BUCKET, Key=f"{s.location}/doc.pdf")
    txt = raw.head_object(Bucket=BUCKET, Key=f"{s.location}/doc.txt")
    assert pdf["ContentDisposition"] == "attachment" and "ContentDisposition" not in txt
    assert pdf["CacheControl"] == txt["CacheControl"] == "max-age=86400"
    assert pdf["ContentType"] == "application/pdf" and txt["ContentType"] == "text/plain"
    assert txt["Metadata"] == {"k": "v"}


def test_content_type_from_upload_and_gz_archives(s3_server, raw):
    s = S3Storage(**s3_options(s3_server))
    upload = ContentFile(b"data", name="x")
    upload.content_type = "application/vnd.custom"
    s.save("custom.bin", upload)
    archive_bytes = gzip.compress(b"tar", mtime=0)
    s.save("backup.tar.gz", ContentFile(archive_bytes))
    custom = raw.head_object(Bucket=BUCKET, Key=f"{s.location}/custom.bin")
    archive = raw.head_object(Bucket=BUCKET, Key=f"{s.location}/backup.tar.gz")
    assert custom["ContentType"] == "application/vnd.custom"
    assert archive["ContentType"] == "application/gzip" and "ContentEncoding" not in archive
    assert s.open("backup.tar.gz").read() == archive_bytes


def test_gzip_streaming_upload_and_transparent_read(s3_server, raw):
    s = S3Storage(**s3_options(s3_server, gzip=True))
    css = b"body { color: red; }\n" * 5000
    s.save("site.css", ContentFile(css))
    s.save("keep.txt", ContentFile(b"plain"))
    stored = raw.get_object(Bucket=BUCKET, Key=f"{s.location}/site.css")
    assert stored["ContentEncoding"] == "gzip"
    assert gzip.decompress(stored["Body"].read()) == css
    assert "ContentEncoding" not in raw.head_object(Bucket=BUCKET, Key=f"{s.location}/keep.txt")
    assert s.open("site.css").read() == css
    with s.open("site.css", "w") as f:
        f.write("a { }")
    assert s.open("site.css", "r").read() == "a { }"


def test_default_acl_and_unsigned_urls(s3_server):
    public = S3Storage(**s3_options(s3_server, default_acl="public-read", querystring_auth=False))
    private = S3Storage(**s3_options(s3_server, querystring_auth=False))
    public.save("open.txt", ContentFile(b"for everyone"))
    private.save("closed.txt", ContentFile(b"secret"))
    url = public.url("open.txt")
    assert "Signature" not in url and "X-Amz" not in url
    assert fetch(url) == (200, b"for everyone")
    assert fetch(private.url("closed.txt"))[0] == 403
    assert fetch(S3Storage(**s3_options_for(private)).url("closed.txt")) == (200, b"secret")


def test_sse_c_round_trip(s3_server, raw):
    key = base64.b64encode(b"k" * 32).decode()
    import hashlib

    md5 = base64.b64encode(hashlib.md5(b"k" * 32).digest()).decode()  # noqa: S324 - S3's SSE-C key checksum
    params = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key, "SSECustomerKeyMD5": md5}
    s = S3Storage(**s3_options(s3_server, object_parameters=params))
    s.save("sse.txt", ContentFile(b"encrypted"))
    assert s.exists("sse.txt") and s.size("sse.txt") == 9
    assert s.open("sse.txt").read() == b"encrypted"


# -- URLs --------------------------------------------------------------------------------
def test_signed_url_parameters_and_expiry(s3):
    s3.save("report.csv", ContentFile(b"a,b"))
    url = s3.url(
        "report.csv",
        parameters={"ResponseContentDisposition": "attachment; filename=r.csv"},
        expire=120,
    )
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["120"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    response = requests.get(url, timeout=30)
    assert response.content == b"a,b"
    assert response.headers["Content-Disposition"] == "attachment; filename=r.csv"


def test_presigned_put_and_post(s3):
    put = s3.url("uploads/direct.bin", http_method="PUT")
    assert requests.put(put, data=b"from the browser", timeout=30).status_code == 200
    assert s3.open("uploads/direct.bin").read() == b"from the browser"
    post = s3.generate_presigned_post(
        "uploads/form.bin", conditions=[["content-length-range", 0, 1000]]
    )
    reply = requests.post(
        post["url"], data=post["fields"], files={"file": ("f", b"form upload")}, timeout=30
    )
    assert reply.status_code in (200, 204)
    assert s3.open("uploads/form.bin").read() == b"form upload"


def test_custom_domain_without_requests(s3_server):
    s = S3Storage(**s3_options(s3_server, custom_domain="cdn.example.com", location=""))
    log = RequestLog(s)
    assert s.url("a b/ü+#?.txt") == "https://cdn.example.com/a%20b/%C3%BC%2B%23%3F.txt"
    assert s.url("x.txt", parameters={"v": "3"}) == "https://cdn.example.com/x.txt?v=3"
    assert (
        S3Storage(custom_domain="cdn.example.com", url_protocol="http:", bucket_name="b").url(
            "x.txt"
        )
        == "http://cdn.example.com/x.txt"
    )
    assert log.methods == []


@pytest.mark.parametrize("copied", [False, True], ids=["as-built", "pickled"])
def test_cloudfront_signed_urls_verify_with_the_public_key(s3_server, copied):
    """The signer made from AWS_CLOUDFRONT_KEY survives pickling (Django's cache) too."""
    import pickle

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    from tests.signing_key import signing_key

    key, pem = signing_key()
    s = S3Storage(
        **s3_options(
            s3_server,
            custom_domain="d111.cloudfront.net",
            cloudfront_key_id="KPID",
            cloudfront_key=pem,
        )
    )
    if copied:
        s = pickle.loads(pickle.dumps(s))
    url = s.url("private/file.txt", expire=300)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.netloc == "d111.cloudfront.net" and query["Key-Pair-Id"] == ["KPID"]
    expires = int(query["Expires"][0])
    assert 0 < expires - dt.datetime.now(dt.timezone.utc).timestamp() <= 301
    policy = json.dumps(
        {
            "Statement": [
                {
                    "Resource": url.split("?")[0],
                    "Condition": {"DateLessThan": {"AWS:EpochTime": expires}},
                }
            ]
        },
        separators=(",", ":"),
    ).encode()
    sig = query["Signature"][0].replace("-", "+").replace("_", "=").replace("~", "/")
    key.public_key().verify(base64.b64decode(sig), policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303
    assert pem not in repr(s.deconstruct())
    unsigned = S3Storage(
        **s3_options(
            s3_server,
            custom_domain="d111.cloudfront.net",
            cloudfront_key_id="KPID",
            cloudfront_key=pem,
            querystring_auth=False,
        )
    )
    assert "Signature" not in unsigned.url("x")


def test_public_endpoint_gets_sigv4_urls(s3_server):
    port = s3_server.endpoint.rsplit(":", 1)[1]
    public = f"http://localhost:{port}"
    s = S3Storage(**s3_options(s3_server, public_endpoint_url=public))
    s.save("shared.txt", ContentFile(b"via the public host"))
    url = s.url("shared.txt")
    parts = urlsplit(url)
    assert parts.netloc == f"localhost:{port}"
    assert "X-Amz-Signature" in parse_qs(parts.query)
    assert fetch(url) == (200, b"via the public host")
    put = s.url("in.txt", http_method="PUT")
    assert urlsplit(put).netloc == f"localhost:{port}"


def test_manifest_static_storage_class(settings, s3_server, tmp_path):
    from django.core.management import call_command

    src = tmp_path / "s"
    src.mkdir()
    (src / "a.css").write_text("p{}")
    settings.STATICFILES_DIRS = [str(src)]
    options = s3_options(s3_server)
    use_storages(
        settings,
        {
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            "staticfiles": {
                "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
                "OPTIONS": options,
            },
        },
    )
    call_command("collectstatic", interactive=False, verbosity=0)
    s = S3ManifestStaticStorage(**options)
    hashed = s.stored_name("a.css")
    assert hashed.startswith("a.") and hashed.endswith(".css") and hashed != "a.css"
    assert "Signature" not in s.url("a.css") and s.url("a.css").endswith(hashed)


def test_debug_log_has_one_line_per_call_and_no_secret(s3, caplog):
    caplog.set_level(logging.DEBUG, logger="storages")
    s3.save("logged.txt", ContentFile(b"l"))
    s3.exists("logged.txt")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("storages")]
    assert sum("put_object" in line and "logged.txt" in line for line in lines) == 1
    assert sum("head_object" in line and "logged.txt" in line for line in lines) == 1
    assert all(SECRET_KEY not in r.getMessage() for r in caplog.records)


def test_pickled_storage_rebuilds_its_client(s3):
    import pickle

    s3.save("p.txt", ContentFile(b"p"))
    clone = pickle.loads(pickle.dumps(s3))
    assert "_client" not in clone.__dict__
    assert clone.open("p.txt").read() == b"p"


def test_dotted_path_settings_of_the_installed_django(settings, s3_server):
    """Django 4.2 reads DEFAULT_FILE_STORAGE; 5.1+ removed it in favour of STORAGES."""
    import django
    from django.core.files import storage as storage_module

    options = s3_options(s3_server)
    if django.VERSION < (5, 1):
        for key, value in options.items():
            setattr(
                settings,
                {
                    "bucket_name": "AWS_STORAGE_BUCKET_NAME",
                    "endpoint_url": "AWS_S3_ENDPOINT_URL",
                    "region_name": "AWS_S3_REGION_NAME",
                    "access_key": "AWS_S3_ACCESS_KEY_ID",
                    "secret_key": "AWS_S3_SECRET_ACCESS_KEY",
                    "location": "AWS_LOCATION",
                }[key],
                value,
            )
        cls = storage_module.get_storage_class("storages.backends.s3boto3.S3Boto3Storage")
        storage = cls()
    else:
        assert not hasattr(storage_module, "get_storage_class")
        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": "storages.backends.s3boto3.S3Boto3Storage",
                    "OPTIONS": options,
                },
                "staticfiles": {
                    "BACKEND": "storages.backends.s3.S3StaticStorage",
                    "OPTIONS": options,
                },
            },
        )
        from django.core.files.storage import default_storage

        storage = default_storage
    name = storage.save("dotted.txt", ContentFile(b"via the dotted path"))
    assert S3Storage(**options).open(name).read() == b"via the dotted path"


def test_virtual_host_addressing(s3_server, monkeypatch):
    """Services that want <bucket>.<host> URLs (R2, Spaces...): every call goes to the bucket's
    host."""
    import socket

    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        return real("127.0.0.1" if str(host).endswith(".localhost") else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    port = s3_server.endpoint.rsplit(":", 1)[1]
    s = S3Storage(
        **s3_options(s3_server, endpoint_url=f"http://localhost:{port}", addressing_style="virtual")
    )
    log = RequestLog(s)
    s.save("vhost.txt", ContentFile(b"virtual"))
    assert s.open("vhost.txt").read() == b"virtual"
    assert all(urlsplit(call[2]).netloc == f"{BUCKET}.localhost:{port}" for call in log.calls)
    url = s.url("vhost.txt")
    assert urlsplit(url).netloc == f"{BUCKET}.localhost:{port}"
    assert requests.get(url, timeout=30).content == b"virtual"


def test_use_threads_false_is_deprecated():
    with pytest.warns(DeprecationWarning, match="AWS_S3_TRANSFER_CONFIG"):
        S3Storage(bucket_name="b", use_threads=False)


# -- the transfer layer (issue 9) ------------------------------------------------------------
class ThreadLog(RequestLog):
    """RequestLog that also notes which thread sent each request."""

    def _record(self, request, **kwargs) -> None:
        super()._record(request, **kwargs)
        self.calls[-1] = (*self.calls[-1], threading.current_thread().name)

    def threads(self, op: str) -> set[str]:
        return {c[4] for c in self.calls if c[3] == op}


def test_saving_a_file_on_disk_uses_upload_file(s3, tmp_path, caplog):
    from django.core.files import File

    path = tmp_path / "on-disk.bin"
    path.write_bytes(PatternFile(3 * MB).read())
    caplog.set_level(logging.DEBUG, logger="storages")
    with open(path, "rb") as f:
        name = s3.save("disk.bin", File(f, name="disk.bin"))
        assert not f.closed  # s3transfer closes what it uploads; never the caller's file
    s3.save("stream.bin", ContentFile(b"in memory"))
    ops = [
        r.getMessage().split()[1]
        for r in caplog.records
        if r.name == "storages.base"
        and r.getMessage().split()[1] in ("upload_file", "upload_fileobj", "put_object")
    ]
    assert ops == ["upload_file", "put_object"]  # a small content in memory: one PutObject
    assert s3.open(name).read() == path.read_bytes()


def test_transfer_config_concurrency_is_honoured(s3_server):
    payload = PatternFile(21 * MB).read()
    parallel = S3Storage(
        **s3_options(
            s3_server,
            transfer_config=TransferConfig(
                multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=4
            ),
        )
    )
    serial = S3Storage(
        **s3_options(
            s3_server,
            transfer_config=TransferConfig(
                multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=1
            ),
        )
    )
    logs = [ThreadLog(parallel), ThreadLog(serial)]
    for storage in (parallel, serial):
        storage.save("parts.bin", ContentFile(payload))
        assert storage.open("parts.bin").read() == payload
    assert [c[3] for c in logs[1].calls].count("UploadPart") == 5
    assert len(logs[0].threads("UploadPart")) > 1
    assert len(logs[1].threads("UploadPart")) == 1


def test_deprecated_use_threads_false_uploads_on_the_calling_thread(s3_server):
    with pytest.warns(DeprecationWarning, match="AWS_S3_TRANSFER_CONFIG"):
        s = S3Storage(
            **s3_options(
                s3_server,
                use_threads=False,
                transfer_config=TransferConfig(
                    multipart_threshold=5 * MB, multipart_chunksize=5 * MB
                ),
            )
        )
    log = ThreadLog(s)
    s.save("one-thread.bin", ContentFile(PatternFile(11 * MB).read()))
    assert {c[4] for c in log.calls} == {threading.current_thread().name}
    assert [c[3] for c in log.calls].count("UploadPart") == 3


def test_file_buffer_size_is_the_part_size_of_open_wb(s3_server):
    s = S3Storage(**s3_options(s3_server, file_buffer_size=6 * MB))
    log = RequestLog(s)
    payload = PatternFile(13 * MB).read()
    with s.open("written.bin", "wb") as f:
        for start in range(0, len(payload), MB):
            f.write(payload[start : start + MB])
    sizes = sorted(int(c[1]["Content-Length"]) for c in log.calls if c[3] == "UploadPart")
    assert sizes == [MB, 6 * MB, 6 * MB]
    assert s.open("written.bin").read() == payload
    from storages.backends.s3 import S3File

    log.clear()
    with S3File("buffered.bin", "wb", s, buffer_size=7 * MB) as f:
        f.write(payload)
    assert sorted(int(c[1]["Content-Length"]) for c in log.calls if c[3] == "UploadPart") == [
        6 * MB,
        7 * MB,
    ]


def test_aborted_stream_leaves_no_multipart_upload(s3, raw):
    with pytest.raises(RuntimeError), s3.open("aborted.bin", "wb") as f:
        f.write(PatternFile(12 * MB).read())
        raise RuntimeError("the caller gave up")
    assert not s3.exists("aborted.bin")
    uploads = raw.list_multipart_uploads(Bucket=BUCKET, Prefix=s3.location).get("Uploads", [])
    assert uploads == []


def test_race_above_the_multipart_threshold(s3_server):
    """32 threads save one name create-only through multipart uploads: 32 names, 32 contents."""
    config = TransferConfig(multipart_threshold=MB, multipart_chunksize=5 * MB, max_concurrency=2)
    s = S3Storage(**s3_options(s3_server, file_overwrite=False, transfer_config=config))
    log = RequestLog(s)
    barrier = threading.Barrier(32)
    payloads = [bytes([i]) * (MB + 4096) for i in range(32)]

    def save(i: int) -> str:
        barrier.wait()
        return s.save("race/big.bin", ContentFile(payloads[i]))

    with ThreadPoolExecutor(32) as pool:
        names = list(pool.map(save, range(32)))
    assert len(set(names)) == 32
    assert {s.open(n).read() for n in names} == set(payloads)
    completes = [c for c in log.calls if c[3] == "CompleteMultipartUpload"]
    assert len(completes) >= 32 and all(c[1].get("If-None-Match") == "*" for c in completes)
    assert not any(c[3] == "PutObject" for c in log.calls)


def test_small_bodies_skip_expect_100_continue(s3_server, s3_auth_server):
    s = S3Storage(**s3_options(s3_server, file_overwrite=False))
    log = RequestLog(s)
    s.save("small.txt", ContentFile(b"x" * 2048))
    s.save("large.bin", ContentFile(b"y" * (2 * MB)))
    puts = [c[1] for c in log.calls if c[3] == "PutObject"]
    assert "Expect" not in puts[0] and puts[1].get("Expect") == "100-continue"
    # errors still come back translated: 412 of a create-only PUT, 403 of bad credentials
    writer = s._writer_for("small.txt", create_only=True)
    writer.write(b"z" * 10)
    with pytest.raises(FileExistsError):
        writer.close()
    assert "Expect" not in log.calls[-1][1] and s.open("small.txt").read() == b"x" * 2048
    denied = S3Storage(**s3_options(s3_auth_server))
    with pytest.raises(PermissionError, match="S3Storage"):
        denied.save("denied.txt", ContentFile(b"x" * 2048))


def test_file_response_streams_with_one_get_at_the_server(s3_server, s3):
    from django.http import FileResponse

    payload = PatternFile(3 * MB).read()
    s3.save("served.bin", ContentFile(payload))
    with s3_server.recording() as seen:
        response = FileResponse(s3.open("served.bin"))
        body = b"".join(response.streaming_content)
        response.file_to_stream.close()
    assert body == payload and response["Content-Length"] == str(len(payload))
    assert [r["method"] for r in seen] == ["GET"]


def test_ranged_read_with_an_end(s3):
    s3.save("range.txt", ContentFile(b"0123456789abcdef"))
    log = RequestLog(s3)
    result = s3._open_reader(s3._key("range.txt"), 3, 7)
    buffer = bytearray(10)
    assert bytes(buffer[: result.body.readinto(buffer)]) == b"3456" and result.info.size == 16
    assert log.calls[0][1]["Range"] == "bytes=3-6"


# -- the objects 1.14 code touches (issue 10) --------------------------------------------------
def test_connection_is_a_boto3_resource_per_thread(s3, raw):
    resource = s3.connection
    assert resource.meta.service_name == "s3" and hasattr(resource, "Bucket")
    assert s3.connection is resource
    other = ThreadPoolExecutor(1).submit(lambda: s3.connection).result()
    assert other is not resource
    key = f"{s3.location}/via-resource.txt"
    resource.meta.client.put_object(
        Bucket=BUCKET, Key=key, Body=b"put through the resource's client"
    )
    assert s3.open("via-resource.txt").read() == b"put through the resource's client"
    post = s3.connection.meta.client.generate_presigned_post(BUCKET, f"{s3.location}/posted.txt")
    reply = requests.post(
        post["url"], data=post["fields"], files={"file": ("f", b"posted")}, timeout=30
    )
    assert reply.status_code in (200, 204) and s3.open("posted.txt").read() == b"posted"
    # The package keeps its own client for its requests.
    assert s3.client is not resource.meta.client
    import pickle

    assert pickle.loads(pickle.dumps(s3)).connection.Bucket(BUCKET).name == BUCKET


def test_bucket_is_the_boto3_bucket_resource(s3):
    s3.save("listed/a.txt", ContentFile(b"a"))
    s3.save("listed/b.txt", ContentFile(b"bb"))
    bucket = s3.bucket
    assert bucket.name == BUCKET
    assert bucket.Object(f"{s3.location}/listed/b.txt").get()["Body"].read() == b"bb"
    keys = sorted(o.key for o in bucket.objects.filter(Prefix=f"{s3.location}/listed/"))
    assert keys == [f"{s3.location}/listed/a.txt", f"{s3.location}/listed/b.txt"]


def test_unsigned_connection_reads_public_objects_only(s3_server):
    from botocore.exceptions import ClientError

    s = S3Storage(**s3_options(s3_server, default_acl="public-read"))
    s.save("public.txt", ContentFile(b"for all"))
    private = S3Storage(**s3_options_for(s))
    private.save("private.txt", ContentFile(b"not for all"))
    obj = s.unsigned_connection.Object(BUCKET, f"{s.location}/public.txt")
    assert obj.get()["Body"].read() == b"for all"
    assert s.unsigned_connection is s.unsigned_connection
    with pytest.raises(ClientError):
        s.unsigned_connection.Object(BUCKET, f"{s.location}/private.txt").get()


def test_get_cloudfront_signer(s3):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = s3.get_cloudfront_signer("KID", pem)
    url = signer.generate_presigned_url(
        "https://d.example/x", date_less_than=dt.datetime(2030, 1, 1)
    )
    assert "Key-Pair-Id=KID" in url and "Signature=" in url


def test_private_helpers_popular_apps_call(s3_server):
    s = S3Storage(
        **s3_options(
            s3_server, location="static", object_parameters={"CacheControl": "max-age=9"}, gzip=True
        )
    )
    assert s._normalize_name("css/a.css") == "static/css/a.css"
    assert s._clean_name("css\\b/./c.css") == "css/b/c.css"
    assert s.get_object_parameters("a.css") == {"CacheControl": "max-age=9"}
    params = s._get_write_parameters("a.css")
    # Gzip is the caller's choice.
    assert params == {"CacheControl": "max-age=9", "ContentType": "text/css"}
    from django.core.exceptions import SuspiciousOperation

    with pytest.raises(SuspiciousOperation):
        s._normalize_name("../outside")


class WrappedLikeCollectfasta(S3StaticStorage):
    """What collectfasta 3.x does to a storage: a copy built without calling __init__, with the
    original's attributes, that uploads through the Bucket resource and lists once."""

    def __init__(self, original):  # noqa: D107 - deliberately no super().__init__()
        for name, value in original.get_default_settings().items():
            setattr(self, name, getattr(original, name, value))
        for name in ("access_key", "secret_key", "security_token", "_transfer_config"):
            if hasattr(original, name):
                setattr(self, name, getattr(original, name))
        self.entries = {o.key: o for o in self.bucket.objects.filter(Prefix=self.location)}

    def _save(self, name, content):
        key = self._normalize_name(self._clean_name(name))
        params = self._get_write_parameters(key, content)
        content.seek(0)
        self.bucket.Object(key).upload_fileobj(
            content, ExtraArgs=params, Config=self._transfer_config
        )
        return name


def test_collectfasta_style_wrapping_keeps_working(s3_server):
    original = S3StaticStorage(**s3_options(s3_server, location=f"cf/{uuid.uuid4().hex}"))
    original.save("old.css", ContentFile(b"p{}"))
    wrapped = WrappedLikeCollectfasta(original)
    assert list(wrapped.entries) == [f"{original.location}/old.css"]
    wrapped.save("app.js", ContentFile(b"x=1"))
    head = original.client.head_object(Bucket=BUCKET, Key=f"{original.location}/app.js")
    assert head["ContentType"] == "text/javascript"
    assert (
        wrapped.exists("app.js")
        and wrapped.size("app.js") == 3
        and wrapped.url("app.js").endswith("/app.js")
    )
    wrapped.delete("old.css")
    assert not original.exists("old.css") and original.open("app.js").read() == b"x=1"


# -- faults (issue 14) ----------------------------------------------------------------------------
@pytest.fixture
def proxied(s3_server):
    """A storage reaching moto through a TCPProxy that a test can break."""
    from tests.servers.proxy import TCPProxy

    proxies = []

    def make(proxy_options=None, **options):
        proxy = TCPProxy(
            "127.0.0.1", int(s3_server.endpoint.rsplit(":", 1)[1]), **(proxy_options or {})
        ).start()
        proxies.append(proxy)
        return proxy, S3Storage(
            **s3_options(s3_server, endpoint_url=f"http://127.0.0.1:{proxy.port}", **options)
        )

    yield make
    for proxy in proxies:
        proxy.stop()


@pytest.mark.timeout(120)
def test_silent_endpoint_fails_within_60s_with_defaults(proxied):
    from storages.errors import StorageUnavailable

    proxy, s = proxied({"mode": "blackhole"})
    start = time.monotonic()
    with pytest.raises(StorageUnavailable) as info:
        s.exists("anything.txt")
    elapsed = time.monotonic() - start
    assert 30 <= elapsed < 60, elapsed  # 3 attempts x 15 s read timeout (+ backoff), not 4 x 60 s
    assert "AWS_S3_ENDPOINT_URL" in str(info.value) and f"127.0.0.1:{proxy.port}" in str(info.value)
    assert proxy.stats.connections == 3


def test_timeouts_and_attempts_are_settings(proxied):
    from storages.errors import StorageUnavailable

    proxy, s = proxied({"mode": "blackhole"}, read_timeout=1, connect_timeout=1, max_attempts=1)
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="AWS_S3_ENDPOINT_URL"):
        s.save("x.txt", ContentFile(b"x"))
    assert time.monotonic() - start < 5 and proxy.stats.connections == 1
    config = S3Storage(bucket_name="b")._config()
    assert (config.connect_timeout, config.read_timeout, config.retries["total_max_attempts"]) == (
        5,
        15,
        3,
    )


def test_slow_but_steady_download_is_not_cut_off(proxied, s3):
    payload = PatternFile(6 * MB).read()
    s3.save("slow.bin", ContentFile(payload))
    proxy, s = proxied(
        {"bandwidth": 1_000_000}, location=s3.location, read_timeout=2, max_attempts=1
    )
    start = time.monotonic()
    with s.open("slow.bin") as f:
        assert f.read() == payload
    assert time.monotonic() - start > 4  # longer than the read timeout, and not cut


def test_frozen_server_mid_read_is_storage_unavailable(proxied, s3):
    from storages.errors import StorageUnavailable

    s3.save("frozen.bin", ContentFile(PatternFile(12 * MB).read()))
    proxy, s = proxied(location=s3.location, read_timeout=2, max_attempts=2, read_ahead=False)
    f = s.open("frozen.bin")
    assert len(f.read(MB)) == MB
    proxy.set(latency=3600)  # the proxy stops forwarding: nothing more arrives
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="AWS_S3_ENDPOINT_URL") as info:
        f.read()
    assert time.monotonic() - start < 10
    assert "ReadTimeoutError" in str(info.value)
    with pytest.raises(StorageUnavailable, match="AWS_S3_ENDPOINT_URL"):
        s.size("frozen.bin")  # a request sent to the frozen server times out too


def test_cut_multipart_upload_is_aborted_and_old_content_kept(proxied, s3, raw):
    from storages.errors import StorageUnavailable

    s3.save("kept.bin", ContentFile(b"old content"))
    config = TransferConfig(
        multipart_threshold=5 * MB, multipart_chunksize=5 * MB, max_concurrency=2
    )
    proxy, s = proxied(
        {"cut_after": 2 * MB, "cut_direction": "up"}, location=s3.location, transfer_config=config
    )
    with pytest.raises(StorageUnavailable, match="AWS_S3_ENDPOINT_URL"):
        s.save("kept.bin", ContentFile(PatternFile(12 * MB).read()))
    assert proxy.stats.cuts >= 1
    assert raw.list_multipart_uploads(Bucket=BUCKET, Prefix=s3.location).get("Uploads", []) == []
    assert s3.open("kept.bin").read() == b"old content"


def test_key_over_1024_bytes_refused_before_any_request(s3_server):
    from storages.naming import NameTooLong

    offline = S3Storage(
        **s3_options(s3_server, endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=1)
    )
    for name in ["a" * 1100, "d/" * 300 + "é" * 200]:
        with pytest.raises(NameTooLong, match="1024"):
            offline.save(name, ContentFile(b"x"))
        with pytest.raises(NameTooLong, match="S3Storage"):
            offline.open(name)
    assert S3Storage.max_key_bytes == 1024


def test_sdk_details_the_backend_relies_on(s3, tmp_path):
    """Fails loudly if boto3/s3transfer change what the S3 backend builds on."""
    from s3transfer.manager import TransferConfig as S3TransferConfig

    from storages.backends.s3 import default_transfer_config
    from storages.transfer import UploadSource

    # the memory bound of stream uploads is s3transfer's max_in_memory_upload_chunks
    assert S3TransferConfig().max_in_memory_upload_chunks == 10
    assert default_transfer_config().max_in_memory_upload_chunks == 3
    # upload_file re-raises ClientError as S3UploadFailedError: a 412 must still be FileExistsError
    s3.save("taken.bin", ContentFile(b"first"))
    path = tmp_path / "second.bin"
    path.write_bytes(b"second")
    spec, _ = s3._upload_spec("taken.bin", create_only=True)
    with open(path, "rb") as f, pytest.raises(FileExistsError):
        s3._upload(spec, UploadSource(f, size=6, path=str(path), seekable=True))
    assert s3.open("taken.bin").read() == b"first"


def test_storages_share_one_botocore_data_loader(s3_server, monkeypatch):
    """The S3 models are parsed once per process, not once per storage (the adapter reaches into
    botocore's session components and the loader's path list: this fails if either changes)."""
    options = s3_options(s3_server)
    first, second = S3Storage(**options), S3Storage(**options)
    loaders = {id(s._boto_session()._session.get_component("data_loader")) for s in (first, second)}
    assert len(loaders) == 1
    loader = first._boto_session()._session.get_component("data_loader")
    for _ in range(5):
        S3Storage(**s3_options(s3_server))._boto_session()
    paths = list(loader.search_paths)
    # Per session, boto3 appends its data folder; it doesn't pile up.
    assert len(paths) - len(set(paths)) <= 1
    assert any(p.endswith("boto3/data") or p.endswith("boto3\\data") for p in paths)
    assert first.client and first.connection  # the models are loaded now (if no earlier test did)
    calls = []
    original = type(loader.file_loader).load_file

    def counting(self, *args, **kwargs):
        calls.append(args)
        return original(self, *args, **kwargs)

    # Count every model file read, by any loader.
    monkeypatch.setattr(type(loader.file_loader), "load_file", counting)
    first.save("shared-loader.txt", ContentFile(b"one"))
    # The second client reuses the parsed models.
    assert second.open("shared-loader.txt").read() == b"one"
    # Resources too.
    assert second.bucket.Object(second._key("shared-loader.txt")).get()["Body"].read() == b"one"
    assert calls == []


def test_an_interrupt_while_close_waits_for_the_upload_commits_nothing(proxied):
    """open("wb") past the multipart threshold over a slow link: an interrupt (Ctrl-C) while
    close() waits for the last parts raises KeyboardInterrupt, and the upload is aborted instead of
    finishing on its own: nothing under the name, no multipart upload left."""
    import os
    import signal

    from storages.testing.helpers import PatternFile

    proxy, s = proxied({"bandwidth": 4e6})  # 4 MB/s per connection: close() waits a few seconds
    armed = True

    def interrupt(signum, frame):
        if armed:
            raise KeyboardInterrupt

    f = s.open("slow.bin", "wb")
    f.write(PatternFile(12 * MB).read())
    previous = signal.signal(signal.SIGUSR1, interrupt)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGUSR1))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            f.close()
    finally:
        armed = False
        timer.cancel()
        signal.signal(signal.SIGUSR1, previous)
    deadline = time.monotonic() + 60  # the upload, had it gone on alone, has finished by then
    while any(t.name == "storages-upload" for t in threading.enumerate()):
        assert time.monotonic() < deadline, "the upload thread never ended"
        time.sleep(0.05)
    assert not s.exists("slow.bin")
    uploads = s.client.list_multipart_uploads(Bucket=BUCKET, Prefix=s.location)
    assert uploads.get("Uploads", []) == []

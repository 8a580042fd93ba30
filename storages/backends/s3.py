"""Amazon S3 and S3-compatible services (MinIO, R2, B2, DigitalOcean Spaces) via boto3.

Requests per operation: ``save()`` goes through s3transfer (``upload_file`` from
a file on disk, ``upload_fileobj`` otherwise): one PUT below the multipart
threshold, else a concurrent multipart upload; overwrite off adds the HEAD of
Django's name check and sends the PUT (or the CompleteMultipartUpload) with
``If-None-Match: *``. Bodies up to 1 MiB go out without ``Expect: 100-continue``,
so a small save is one round trip. ``open()`` + ``read()`` one GET;
``exists()`` / ``size()`` one HEAD; ``url()`` none.

Memory: the default :func:`default_transfer_config` (5 MiB parts, 10
connections, at most 4 parts of a stream in memory) keeps a 200 MB save within
about 40 MB whatever the source. Failures: connect timeout 5 s, read timeout
15 s, 3 attempts, so a server that never answers fails within about 50 s as
``StorageUnavailable`` naming ``AWS_S3_ENDPOINT_URL``.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import datetime as dt
import logging
import threading
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.base import BaseStorage, common_settings, join_url
from storages.conf import MISSING, Setting
from storages.errors import StorageError, translate
from storages.files import ObjectInfo, ReadAhead, ReadResult, RemoteFile, UploadSpec
from storages.hashing import b64_to_hex
from storages.legacy import S3_LEGACY
from storages.transfer import UploadSource

try:
    import boto3
    import botocore
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError
    from botocore.exceptions import ConnectionError as BotoConnectionError
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured(
        "The S3 backend needs boto3: pip install 'django-storages[s3]'"
    ) from exc

logger = logging.getLogger(__name__)

__all__ = ["S3Storage", "S3StaticStorage", "S3ManifestStaticStorage", "S3File", "default_transfer_config"]

MB = 1024 * 1024
#: Bodies up to this size are sent without waiting for "100 Continue" (one round trip).
SMALL_BODY = MB
# Parameters that must accompany every request on an object (SSE-C keys).
_SSE_C = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")

_ERRORS: dict[str | int, type[BaseException]] = {
    "NoSuchKey": FileNotFoundError, "404": FileNotFoundError, "NotFound": FileNotFoundError,
    "PreconditionFailed": FileExistsError, "412": FileExistsError, "ConditionalRequestConflict": FileExistsError,
    "AccessDenied": PermissionError, "403": PermissionError, "InvalidAccessKeyId": PermissionError,
    "SignatureDoesNotMatch": PermissionError, "ExpiredToken": PermissionError, "InvalidToken": PermissionError,
}


def default_transfer_config() -> TransferConfig:
    """The TransferConfig used when ``AWS_S3_TRANSFER_CONFIG`` is not set.

    One request up to 8 MiB, else 5 MiB parts on up to 10 connections. A file
    on disk is read part by part as each is sent; the parts of any other
    source are copied into memory first, at most 4 at a time (s3transfer's
    ``max_in_memory_upload_chunks``, 10 by default, which with 8 MiB parts
    could hold 90 MB), so a large save stays within about 40 MB.
    """
    config = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=5 * MB, max_concurrency=10,
                            preferred_transfer_client="classic")
    config.max_in_memory_upload_chunks = 4
    return config


_SETTINGS = (
    Setting("access_key", ("AWS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"), None,
            env=("AWS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"), secret=True,
            doc="Access key id; unset means boto3's default credential chain."),
    Setting("secret_key", ("AWS_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"), None,
            env=("AWS_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"), secret=True, doc="Secret access key."),
    Setting("security_token", ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"), None,
            env=("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"), secret=True, doc="STS session token."),
    Setting("session_profile", ("AWS_S3_SESSION_PROFILE",), None, env=("AWS_S3_SESSION_PROFILE",),
            doc="A boto3 profile name (not together with keys)."),
    Setting("bucket_name", ("AWS_STORAGE_BUCKET_NAME",), None, doc="The bucket."),
    *common_settings("AWS_", overwrite=("file_overwrite", "AWS_S3_FILE_OVERWRITE", True),
                     gzip_setting="AWS_IS_GZIPPED", memory_setting="AWS_S3_MAX_MEMORY_SIZE"),
    Setting("object_parameters", ("AWS_S3_OBJECT_PARAMETERS",), dict,
            doc="Upload parameters (boto3 names); per object via get_object_parameters()."),
    Setting("default_acl", ("AWS_DEFAULT_ACL",), None, doc="Canned ACL when ACL is not in object_parameters."),
    Setting("querystring_auth", ("AWS_QUERYSTRING_AUTH",), True, doc="Sign URLs."),
    Setting("querystring_expire", ("AWS_QUERYSTRING_EXPIRE",), 3600, doc="Signed URL lifetime (seconds)."),
    Setting("signature_version", ("AWS_S3_SIGNATURE_VERSION",), None),
    Setting("addressing_style", ("AWS_S3_ADDRESSING_STYLE",), None, doc="'path' or 'virtual'."),
    Setting("region_name", ("AWS_S3_REGION_NAME",), None),
    Setting("endpoint_url", ("AWS_S3_ENDPOINT_URL",), None, doc="S3-compatible endpoint."),
    Setting("public_endpoint_url", ("AWS_S3_PUBLIC_ENDPOINT_URL",), None,
            doc="Endpoint that url() signs for when browsers reach S3 on another host."),
    Setting("use_ssl", ("AWS_S3_USE_SSL",), True),
    Setting("verify", ("AWS_S3_VERIFY",), None, doc="TLS verification flag or CA bundle path."),
    Setting("proxies", ("AWS_S3_PROXIES",), None),
    Setting("client_config", ("AWS_S3_CLIENT_CONFIG",), None,
            doc="A botocore Config, used as given (the three settings below then don't apply)."),
    Setting("connect_timeout", ("AWS_S3_CONNECT_TIMEOUT",), 5, doc="Seconds to open a connection."),
    Setting("read_timeout", ("AWS_S3_READ_TIMEOUT",), 15,
            doc="Seconds without a byte from the server before a request is retried or fails."),
    Setting("max_attempts", ("AWS_S3_MAX_ATTEMPTS",), 3, doc="Attempts per request, the first included."),
    Setting("transfer_config", ("AWS_S3_TRANSFER_CONFIG",), None,
            doc="An s3transfer TransferConfig (default: default_transfer_config())."),
    Setting("use_threads", ("AWS_S3_USE_THREADS",), True, doc="Deprecated: use transfer_config."),
    Setting("custom_domain", ("AWS_S3_CUSTOM_DOMAIN",), None, doc="Host for url() (a CDN)."),
    Setting("url_protocol", ("AWS_S3_URL_PROTOCOL",), "https:"),
    Setting("cloudfront_key_id", ("AWS_CLOUDFRONT_KEY_ID",), None),
    Setting("cloudfront_key", ("AWS_CLOUDFRONT_KEY",), None, secret=True, doc="PEM private key."),
    Setting("file_name_charset", ("AWS_S3_FILE_NAME_CHARSET",), "utf-8", doc="Accepted; unused."),
    Setting("file_buffer_size", ("AWS_S3_FILE_BUFFER_SIZE",), 5 * MB,
            doc="Part size of files written through open('wb') (at least 5 MiB)."),
    Setting("auto_create_bucket", (), False, doc="Create the bucket on first use (legacy)."),
    Setting("bucket_acl", (), None, doc="ACL of an auto-created bucket (legacy)."),
)

_SIGNERS: dict[str, Any] = {}
_SIGNERS_LOCK = threading.Lock()


def _cloudfront_signer(key_id: str, pem: str | bytes) -> Any:
    """A CloudFront URL signer for a PEM key pair, cached per key."""
    cache_key = f"{key_id}:{pem!r}"
    with _SIGNERS_LOCK:
        if cache_key not in _SIGNERS:
            try:
                from cryptography.hazmat.primitives import hashes, serialization
                from cryptography.hazmat.primitives.asymmetric import padding
            except ImportError as exc:  # pragma: no cover
                raise ImproperlyConfigured(
                    "CloudFront signed URLs need the 'cryptography' package: pip install cryptography") from exc
            from botocore.signers import CloudFrontSigner

            key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)
            _SIGNERS[cache_key] = CloudFrontSigner(key_id, lambda message: key.sign(
                message, padding.PKCS1v15(), hashes.SHA1()))  # noqa: S303 - CloudFront requires SHA-1
        return _SIGNERS[cache_key]


def _send_small_bodies_at_once(request: Any, **kwargs: Any) -> None:
    # botocore makes every file-like body wait for "100 Continue" (one more round
    # trip); a small body costs less to send than to wait. Error replies still
    # arrive as usual, after the body.
    if "Expect" in request.headers and int(request.headers.get("Content-Length") or SMALL_BODY + 1) <= SMALL_BODY:
        del request.headers["Expect"]


class _Body:
    """A GetObject body whose network failures come out as StorageUnavailable."""

    def __init__(self, storage: S3Storage, body: Any, name: str) -> None:
        self.storage, self.body, self.name = storage, body, name

    def _guard(self, fn: Any, arg: Any) -> Any:
        try:
            return fn(arg)
        except BotoCoreError as exc:  # a frozen or vanished server in the middle of the body
            raise self.storage._translate_error(exc, self.name, "get_object") or exc from exc

    def readinto(self, buffer: Any) -> int:
        return self._guard(self.body.readinto, buffer)

    def read(self, n: int | None = -1) -> bytes:
        return self._guard(self.body.read, None if n is None or n < 0 else n)

    def close(self) -> None:
        self.body.close()


class _Source:
    """An upload source as s3transfer wants it: ``read(n)`` returns ``n`` bytes
    until the end (it sizes parts by single reads), and ``close()`` leaves the
    caller's file open (s3transfer closes what it uploads; the core may rewind
    it to retry under another name)."""

    def __init__(self, fileobj: Any) -> None:
        self._fileobj = fileobj

    def read(self, n: int | None = -1) -> bytes:
        if n is None or n < 0:
            return self._fileobj.read()
        first = self._fileobj.read(n)
        if len(first) in (0, n):
            return first
        chunks = [first]
        n -= len(first)
        while n > 0 and (chunk := self._fileobj.read(n)):
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def close(self) -> None:
        pass

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._fileobj, attr)


@deconstructible
class S3Storage(BaseStorage):
    """Files in an S3 bucket (or any S3-compatible service)."""

    settings_table = _SETTINGS
    legacy_settings = S3_LEGACY
    transient_attributes = ("_client", "_public_client", "_unsigned_base", "_session", "_resources",
                            "_unsigned_resources", "_creating")
    deconstruct_exclude = ("cloudfront_signer",)
    missing_times: ClassVar[dict[str, str]] = {
        "created": "S3 keeps only the last-modified time of an object",
        "accessed": "S3 does not record access times",
    }
    endpoint_setting = 'AWS_S3_ENDPOINT_URL (OPTIONS["endpoint_url"])'
    max_key_bytes = 1024
    default_read_ahead = ReadAhead(threshold=16 * MB, part_size=4 * MB, concurrency=8)
    cloudfront_signer: Any = None
    # Storages built without __init__ (collectfasta copies attributes onto one) still get a lock.
    _lock = threading.RLock()

    def __init__(self, **options: Any) -> None:
        signer = options.pop("cloudfront_signer", MISSING)
        super().__init__(**options)
        if signer is not MISSING:
            self.cloudfront_signer = signer
        elif self.cloudfront_key_id and self.cloudfront_key:
            self.cloudfront_signer = _cloudfront_signer(self.cloudfront_key_id, self.cloudfront_key)

    def configure(self) -> None:
        if bool(self.cloudfront_key_id) != bool(self.cloudfront_key):
            raise ImproperlyConfigured(
                "S3Storage: set both AWS_CLOUDFRONT_KEY_ID and AWS_CLOUDFRONT_KEY (OPTIONS "
                '["cloudfront_key_id"] and ["cloudfront_key"]), or neither.'
            )
        if self.session_profile and (self.access_key or self.secret_key):
            raise ImproperlyConfigured(
                "S3Storage: AWS_S3_SESSION_PROFILE can't be combined with access keys "
                "(AWS_S3_ACCESS_KEY_ID / AWS_S3_SECRET_ACCESS_KEY); use one or the other."
            )
        if self.url_protocol and not str(self.url_protocol).endswith(":"):
            raise ImproperlyConfigured(
                f"S3Storage: AWS_S3_URL_PROTOCOL must end with ':' (got {self.url_protocol!r}); write 'https:'."
            )
        config = self.transfer_config or default_transfer_config()
        if self.use_threads is False:
            warnings.warn("AWS_S3_USE_THREADS is deprecated; use AWS_S3_TRANSFER_CONFIG = "
                          "TransferConfig(use_threads=False).", DeprecationWarning, stacklevel=3)
            config = copy.copy(config)
            config.use_threads = False
        self._transfer_config = config
        self.upload_threshold = int(config.multipart_threshold)
        self.upload_part_size = max(5 * MB, int(config.multipart_chunksize))
        legacy_config = getattr(type(self), "config", None)
        if legacy_config is not None and self.client_config is None:
            warnings.warn("The 'config' class attribute is deprecated; set client_config.", DeprecationWarning,
                          stacklevel=3)
            self.client_config = legacy_config

    # -- connection ------------------------------------------------------
    def _boto_session(self) -> Any:
        def make() -> Any:
            if self.session_profile:
                return boto3.session.Session(profile_name=self.session_profile)
            return boto3.session.Session(aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
                                         aws_session_token=self.security_token)
        return self._lazy("_session", make)

    def _config(self, unsigned: bool = False) -> Any:
        config = self.client_config
        if config is None:
            options: dict[str, Any] = {
                # Chosen together: a server that accepts connections and never
                # answers fails within about 3 x 15 s; a slow but steady download
                # is never cut (the read timeout is per socket read).
                "connect_timeout": self.connect_timeout, "read_timeout": self.read_timeout,
                "retries": {"max_attempts": self.max_attempts, "mode": "standard"},
                "max_pool_connections": 32,
                # SigV4 everywhere (botocore would presign some regions with SigV2).
                "signature_version": self.signature_version or "s3v4",
            }
            if self.addressing_style:
                options["s3"] = {"addressing_style": self.addressing_style}
            if self.proxies:
                options["proxies"] = self.proxies
            if self.endpoint_url:
                # S3-compatible services reject boto3's default CRC checksums
                # (boto3 >= 1.36); send and check them only when required.
                options["request_checksum_calculation"] = "when_required"
                options["response_checksum_validation"] = "when_required"
            config = Config(**options)
        return config.merge(Config(signature_version=botocore.UNSIGNED)) if unsigned else config

    def _sdk_kwargs(self, endpoint_url: str | None = None, unsigned: bool = False) -> dict[str, Any]:
        return {"region_name": self.region_name, "use_ssl": self.use_ssl, "verify": self.verify,
                "endpoint_url": endpoint_url or self.endpoint_url, "config": self._config(unsigned)}

    def _new_client(self, endpoint_url: str | None = None, unsigned: bool = False) -> Any:
        with self._lock:  # a boto3 session is not thread-safe
            return self._boto_session().client("s3", **self._sdk_kwargs(endpoint_url, unsigned))

    @property
    def client(self) -> Any:
        """The boto3 S3 client this storage sends its own requests with (thread-safe, one per storage)."""
        return self._lazy("_client", self._make_client)

    def _make_client(self) -> Any:
        if not self.bucket_name:
            raise ImproperlyConfigured(
                "S3Storage needs a bucket: set OPTIONS[\"bucket_name\"] or AWS_STORAGE_BUCKET_NAME."
            )
        client = self._new_client()
        self._creating: collections.Counter[str] = collections.Counter()
        for operation in ("PutObject", "CompleteMultipartUpload"):
            client.meta.events.register(f"before-parameter-build.s3.{operation}", self._add_create_condition)
        client.meta.events.register("before-send.s3", _send_small_bodies_at_once)
        if self.auto_create_bucket:
            self._ensure_bucket(client)
        return client

    def _thread_resource(self, attr: str, unsigned: bool = False) -> Any:
        local = self._lazy(attr, threading.local)
        if getattr(local, "resource", None) is None:
            with self._lock:
                local.resource = self._boto_session().resource("s3", **self._sdk_kwargs(unsigned=unsigned))
        return local.resource

    @property
    def connection(self) -> Any:
        """A boto3 S3 *resource* for the calling thread (resources are not thread-safe), as in 1.14."""
        return self._thread_resource("_resources")

    @property
    def unsigned_connection(self) -> Any:
        """A boto3 S3 resource that sends unsigned requests (public buckets), for the calling thread."""
        return self._thread_resource("_unsigned_resources", unsigned=True)

    @property
    def bucket(self) -> Any:
        """The boto3 ``Bucket`` resource of ``bucket_name``."""
        return self.connection.Bucket(self.bucket_name)

    def get_cloudfront_signer(self, key_id: str, key: str | bytes) -> Any:
        """A botocore ``CloudFrontSigner`` for a key pair id and its PEM private key."""
        return _cloudfront_signer(key_id, key)

    def _ensure_bucket(self, client: Any) -> None:
        try:
            client.head_bucket(Bucket=self.bucket_name)
            return
        except ClientError as exc:
            if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
        params: dict[str, Any] = {"Bucket": self.bucket_name}
        if self.bucket_acl:
            params["ACL"] = self.bucket_acl
        region = self.region_name or client.meta.region_name
        if region and region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        client.create_bucket(**params)
        logger.info("created bucket %s", self.bucket_name)

    # -- errors ----------------------------------------------------------------
    def _s3(self, operation: str, name: str | None, **kwargs: Any) -> Any:
        """One client call on this storage's bucket, through the core's call wrapper."""
        return self._call(operation, name, getattr(self.client, operation), Bucket=self.bucket_name, **kwargs)

    def _endpoint_label(self) -> str:
        return self.endpoint_url or "the AWS endpoint"

    def _translate_error(self, exc: BaseException, name: str | None, op: str) -> BaseException | None:
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
            exc = exc.__context__  # upload_file re-raises a ClientError as text
        if isinstance(exc, (BotoConnectionError, HTTPClientError)):
            return self._unavailable(exc, op)
        if isinstance(exc, NoCredentialsError):
            return ImproperlyConfigured(
                "S3Storage found no AWS credentials: set AWS_S3_ACCESS_KEY_ID and AWS_S3_SECRET_ACCESS_KEY "
                "(OPTIONS[\"access_key\"], [\"secret_key\"]), AWS_S3_SESSION_PROFILE, or give the machine a role")
        if isinstance(exc, BotoCoreError):
            return StorageError(f"S3Storage: {type(exc).__name__} during {op} of {name!r}")
        if not isinstance(exc, ClientError):
            return None
        code = _code(exc)
        if code == "NoSuchBucket":
            return ImproperlyConfigured(f"S3Storage: the bucket {self.bucket_name!r} does not exist; check "
                                        "OPTIONS[\"bucket_name\"] or AWS_STORAGE_BUCKET_NAME")
        if code == "AccessControlListNotSupported":
            return ImproperlyConfigured(
                "S3Storage: the bucket has ACLs disabled (Object Ownership: bucket owner enforced); "
                "remove AWS_DEFAULT_ACL and any 'ACL' in AWS_S3_OBJECT_PARAMETERS")
        detail = code
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            detail = (f"{code}: check AWS_S3_ACCESS_KEY_ID / AWS_S3_SECRET_ACCESS_KEY "
                      "(OPTIONS[\"access_key\"] / [\"secret_key\"])")
        found = translate(code, _ERRORS, storage=self, name=name, detail=detail)
        return found or StorageError(f"S3Storage: {code} on {name!r}: {exc.response.get('Error', {}).get('Message')}")

    # -- uploads ---------------------------------------------------------------
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """Upload parameters for ``name``: override to vary them per object."""
        return dict(self.object_parameters or {})

    def _sse_params(self, name: str) -> dict[str, Any]:
        return {k: v for k, v in self.get_object_parameters(name).items() if k in _SSE_C}

    def _prepare_upload(self, spec: UploadSpec) -> None:
        params = self.get_object_parameters(spec.name)
        if self.default_acl and "ACL" not in params:
            params["ACL"] = self.default_acl
        spec.content_type = params.pop("ContentType", spec.content_type)
        spec.content_encoding = params.pop("ContentEncoding", spec.content_encoding)
        spec.params = params

    @staticmethod
    def _extra_args(spec: UploadSpec) -> dict[str, Any]:
        extra = dict(spec.params, ContentType=spec.content_type)
        if spec.content_encoding:
            extra["ContentEncoding"] = spec.content_encoding
        return extra

    def _get_write_parameters(self, name: str, content: Any = None) -> dict[str, Any]:
        """The upload parameters of ``name`` (1.14's helper; gzip is left to the caller)."""
        spec, gzipped = self._upload_spec(name, content)
        if gzipped:
            spec.content_encoding = None
        return self._extra_args(spec)

    def _file_part_size(self) -> int:
        return int(self.file_buffer_size)

    def _transfer_for(self, spec: UploadSpec) -> Any:
        config = getattr(self, "_transfer_config", None) or default_transfer_config()
        if spec.part_size:  # a file written through open("wb"): AWS_S3_FILE_BUFFER_SIZE sets its parts
            config = copy.copy(config)
            config.multipart_threshold = config.multipart_chunksize = max(5 * MB, int(spec.part_size))
        return config

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        client = self.client
        kwargs = {"ExtraArgs": self._extra_args(spec), "Config": self._transfer_for(spec)}
        with self._create_only(spec):
            if source.path:
                self._call("upload_file", spec.name, client.upload_file, source.path, self.bucket_name, spec.key,
                           **kwargs)
            else:
                self._call("upload_fileobj", spec.name, client.upload_fileobj, _Source(source.fileobj),
                           self.bucket_name, spec.key, **kwargs)

    @contextlib.contextmanager
    def _create_only(self, spec: UploadSpec) -> Iterator[None]:
        """While s3transfer uploads ``spec.key`` create-only, its PutObject or
        CompleteMultipartUpload carries ``If-None-Match: *`` (s3transfer's
        ExtraArgs can't: the request event adds it)."""
        if not spec.create_only:
            yield
            return
        with self._lock:
            self._creating[spec.key] += 1
        try:
            yield
        finally:
            with self._lock:
                self._creating[spec.key] -= 1
                if not self._creating[spec.key]:
                    del self._creating[spec.key]

    def _add_create_condition(self, params: dict[str, Any], **kwargs: Any) -> None:
        if params.get("Bucket") == self.bucket_name and params.get("Key") in self._creating:
            params["IfNoneMatch"] = "*"

    # -- reads and metadata ------------------------------------------------------
    def _info(self, reply: dict[str, Any], size: int) -> ObjectInfo:
        etag = (reply.get("ETag") or "").strip('"') or None
        info = ObjectInfo(
            size=size, modified=reply.get("LastModified"), content_type=reply.get("ContentType"),
            content_encoding=reply.get("ContentEncoding"), etag=etag,
            extra={"metadata": reply.get("Metadata") or {}, "cache_control": reply.get("CacheControl"),
                   "content_disposition": reply.get("ContentDisposition")},
        )
        if self._etag_is_md5(etag) and reply.get("ServerSideEncryption") != "aws:kms":
            info.hashes["md5"] = etag.lower()
        if reply.get("ChecksumSHA256") and "-" not in reply["ChecksumSHA256"]:
            info.hashes["sha256"] = b64_to_hex(reply["ChecksumSHA256"]) or ""
        return info

    def _stat(self, key: str) -> ObjectInfo:
        name = self._name(key)
        reply = self._s3("head_object", name, Key=key, **self._sse_params(name))
        return self._info(reply, reply["ContentLength"])

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        extra = self._sse_params(name)
        if offset or end is not None:
            extra["Range"] = f"bytes={offset}-{'' if end is None else end - 1}"
        reply = self._s3("get_object", name, Key=key, **extra)
        size = reply["ContentLength"]
        if "/" in (reply.get("ContentRange") or ""):
            size = int(reply["ContentRange"].rsplit("/", 1)[1])
        return ReadResult(_Body(self, reply["Body"], name), self._info(reply, size))

    def _delete(self, key: str) -> None:
        self._s3("delete_object", self._name(key), Key=key)

    def _pages(self, prefix: str, **extra: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._s3("list_objects_v2", prefix, Prefix=prefix, **extra,
                            **({"ContinuationToken": token} if token else {}))
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        for page in self._pages(prefix, Delimiter="/"):
            yield ([p["Prefix"] for p in page.get("CommonPrefixes", [])],
                   [o["Key"] for o in page.get("Contents", [])])

    def _etag_is_md5(self, etag: str | None) -> bool:
        # A single-part upload's ETag is the MD5 of its bytes, unless SSE-KMS or SSE-C is used.
        params = self.object_parameters or {}
        return bool(etag) and "-" not in etag and params.get("ServerSideEncryption") != "aws:kms" and (
            "SSECustomerKey" not in params)

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        for page in self._pages(prefix):
            for obj in page.get("Contents", []):
                etag = (obj.get("ETag") or "").strip('"') or None
                info = ObjectInfo(size=obj["Size"], modified=obj.get("LastModified"), etag=etag)
                if self._etag_is_md5(etag):
                    info.hashes["md5"] = etag.lower()
                yield obj["Key"], info

    def _delete_many(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            reply = self._s3("delete_objects", batch[0], Delete={"Objects": [{"Key": k} for k in batch],
                                                                 "Quiet": True})
            errors = reply.get("Errors") or []
            if errors:
                raise StorageError(f"S3Storage could not delete {len(errors)} of {len(batch)} objects; first: "
                                   f"{errors[0].get('Key')!r}: {errors[0].get('Code')}")

    def _same_account(self, other: Any) -> bool:
        return isinstance(other, S3Storage) and (other.endpoint_url, other.access_key, other.session_profile) == (
            self.endpoint_url, self.access_key, self.session_profile)

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        if not self._same_account(source):
            return False
        extra = {k: v for k, v in spec.params.items() if k in ("ACL", "StorageClass", "ServerSideEncryption")}
        self._s3("copy", spec.name, CopySource={"Bucket": source.bucket_name, "Key": source_key}, Key=spec.key,
                 ExtraArgs=extra or None, Config=self._transfer_for(spec))
        return True

    def _root_exists(self) -> bool:
        try:
            self._s3("head_bucket", None)
        except (FileNotFoundError, ImproperlyConfigured):
            return False
        return True

    # -- 1.14's helpers that apps call -------------------------------------------
    def _normalize_name(self, name: str) -> str:
        """The object key of ``name`` (``location`` joined; names outside it are refused)."""
        return self._key(name, allow_root=True)

    def _clean_name(self, name: str) -> str:
        """``name`` with backslashes and ``.`` segments normalised, as stored."""
        return naming.clean_name(name)

    # -- URLs --------------------------------------------------------------
    def _unsigned_url(self, key: str, params: dict[str, Any]) -> str:
        base = self.__dict__.get("_unsigned_base")
        if base is None:
            # Ask botocore once where keys live (endpoint, addressing style,
            # region); after that an unsigned URL is string work only.
            marker = "__storages_key__"
            template = self._new_client(unsigned=True).generate_presigned_url(
                "get_object", Params={"Bucket": self.bucket_name, "Key": marker}, ExpiresIn=60)
            base = self._unsigned_base = template.split(marker, 1)[0]
        return join_url(base, key, params)

    def _url_client(self) -> Any:
        if self.public_endpoint_url:
            return self._lazy("_public_client", lambda: self._new_client(self.public_endpoint_url))
        return self.client

    def url(self, name: str, parameters: dict[str, Any] | None = None, expire: int | None = None,
            http_method: str | None = None) -> str:
        """A link to ``name``: signed unless ``querystring_auth`` is off. Makes no request.

        ``http_method="PUT"`` gives a presigned upload URL. ``parameters`` are
        extra GetObject/PutObject parameters (``ResponseContentDisposition``,
        ``VersionId``...).
        """
        key = self._key(name, allow_root=True)
        params = dict(parameters or {})
        expire = self.querystring_expire if expire is None else expire
        if self.custom_domain:
            url = join_url(f"{self.url_protocol}//{self.custom_domain}", key, params)
            if self.querystring_auth and self.cloudfront_signer:
                until = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=int(expire))
                return self.cloudfront_signer.generate_presigned_url(url, date_less_than=until)
            return url
        if not self.querystring_auth and not http_method:
            return self._unsigned_url(key, params)
        method = (http_method or "GET").upper()
        return self._url_client().generate_presigned_url(
            "put_object" if method == "PUT" else "get_object",
            Params={"Bucket": self.bucket_name, "Key": key, **params}, ExpiresIn=int(expire), HttpMethod=method)

    def generate_presigned_post(self, name: str, fields: dict[str, Any] | None = None,
                                conditions: list[Any] | None = None, expire: int | None = None) -> dict[str, Any]:
        """A presigned POST (``{"url", "fields"}``) so a browser can upload ``name`` directly."""
        return self._url_client().generate_presigned_post(
            self.bucket_name, self._key(name), Fields=fields, Conditions=conditions,
            ExpiresIn=int(self.querystring_expire if expire is None else expire))


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


class S3File(RemoteFile):
    """A file in S3 (``S3Storage.open()`` returns one); ``buffer_size`` is the part size when writing."""

    def __init__(self, name: str, mode: str, storage: S3Storage, buffer_size: int | None = None) -> None:
        self.buffer_size = buffer_size
        super().__init__(name, mode, storage)


S3Storage.file_class = S3File


@deconstructible
class S3StaticStorage(S3Storage):
    """For static files: unsigned, stable URLs."""

    querystring_auth = False


@deconstructible
class S3ManifestStaticStorage(ManifestFilesMixin, S3StaticStorage):
    """Static files with content-hashed names and a ``staticfiles.json`` manifest."""

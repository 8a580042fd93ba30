"""Amazon S3 and S3-compatible services (MinIO, R2, B2, DigitalOcean Spaces) via boto3.

Requests per operation: ``save()`` one PUT (multipart above the transfer
threshold; overwrite off adds the HEAD of Django's name check and sends the
PUT with ``If-None-Match: *``); ``open()`` + ``read()`` one GET (ranged GETs
after ``seek()``); ``exists()`` / ``size()`` one HEAD; ``url()`` none.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import BaseStorage, common_settings, join_url
from storages.conf import MISSING, Legacy, Setting, setting
from storages.errors import StorageError, StorageUnavailable, translate
from storages.files import ChunkedUpload, ObjectInfo, ReadResult, RemoteFile, UploadSpec
from storages.hashing import b64_to_hex

try:
    import boto3
    import botocore
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured(
        "The S3 backend needs boto3: pip install 'django-storages[s3]'"
    ) from exc

logger = logging.getLogger(__name__)

__all__ = ["S3Storage", "S3StaticStorage", "S3ManifestStaticStorage", "S3File"]

# Parameters that must accompany every request on an object (SSE-C keys).
_SSE_C = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")
# Upload parameters that also go on each UploadPart.
_PART_PARAMS = _SSE_C + ("ChecksumAlgorithm", "RequestPayer", "ExpectedBucketOwner")

_ERRORS: dict[str | int, type[BaseException]] = {
    "NoSuchKey": FileNotFoundError,
    "404": FileNotFoundError,
    "NotFound": FileNotFoundError,
    "PreconditionFailed": FileExistsError,
    "412": FileExistsError,
    "ConditionalRequestConflict": FileExistsError,
    "AccessDenied": PermissionError,
    "403": PermissionError,
    "InvalidAccessKeyId": PermissionError,
    "SignatureDoesNotMatch": PermissionError,
    "ExpiredToken": PermissionError,
    "InvalidToken": PermissionError,
}

# Old boto2 header names in AWS_HEADERS -> boto3 parameter names.
_HEADER_PARAMS = {
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "content-type": "ContentType",
    "expires": "Expires",
    "x-amz-acl": "ACL",
    "x-amz-storage-class": "StorageClass",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-website-redirect-location": "WebsiteRedirectLocation",
}


def _headers_to_params(headers: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for header, value in (headers or {}).items():
        low = header.lower()
        if low.startswith("x-amz-meta-"):
            params.setdefault("Metadata", {})[header[len("x-amz-meta-"):]] = value
        elif low in _HEADER_PARAMS:
            params[_HEADER_PARAMS[low]] = value
        else:
            warnings.warn(f"AWS_HEADERS: {header!r} has no S3 upload parameter and is ignored", stacklevel=2)
    return params


def _host_port_to_endpoint(host: Any, port: Any) -> str | None:
    if not host:
        return None
    scheme = "https" if setting("AWS_S3_USE_SSL", True) else "http"
    return f"{scheme}://{host}" + (f":{port}" if port not in (MISSING, None, "") else "")


def _calling_format_to_style(value: Any) -> str | None:
    text = str(value)
    if "Ordinary" in text:
        return "path"
    if "Subdomain" in text or "VHost" in text:
        return "virtual"
    return None


def _origin_to_region(value: Any) -> str:
    return {"": "us-east-1", "EU": "eu-west-1", "US": "us-east-1"}.get(str(value), str(value))


def _proxy(host: Any, port: Any) -> dict[str, str] | None:
    if not host:
        return None
    where = f"{host}:{port}" if port not in (MISSING, None, "") else str(host)
    return {"http": where, "https": where}


_LEGACY = (
    Legacy(("AWS_HEADERS",), "object_parameters", _headers_to_params,
           "write AWS_S3_OBJECT_PARAMETERS with boto3 names (Cache-Control -> CacheControl)", merge=True),
    Legacy(("AWS_S3_HOST", "AWS_S3_PORT"), "endpoint_url", _host_port_to_endpoint,
           "write AWS_S3_ENDPOINT_URL = 'https://host:port'"),
    Legacy(("AWS_S3_CALLING_FORMAT",), "addressing_style", _calling_format_to_style,
           "write AWS_S3_ADDRESSING_STYLE = 'path' or 'virtual'"),
    Legacy(("AWS_ORIGIN",), "region_name", _origin_to_region, "write AWS_S3_REGION_NAME"),
    Legacy(("AWS_S3_PROXY_HOST", "AWS_S3_PROXY_PORT"), "proxies", _proxy,
           "write AWS_S3_PROXIES = {'https': 'host:port'}"),
    Legacy(("AWS_S3_ENCRYPTION",), "object_parameters",
           lambda on: {"ServerSideEncryption": "AES256"} if on else {},
           "write AWS_S3_OBJECT_PARAMETERS = {'ServerSideEncryption': 'AES256'}", merge=True),
    Legacy(("AWS_REDUCED_REDUNDANCY",), "object_parameters",
           lambda on: {"StorageClass": "REDUCED_REDUNDANCY"} if on else {},
           "write AWS_S3_OBJECT_PARAMETERS = {'StorageClass': 'REDUCED_REDUNDANCY'}", merge=True),
    Legacy(("AWS_AUTO_CREATE_BUCKET",), "auto_create_bucket", bool,
           "create the bucket once (aws s3 mb, or your infrastructure code)"),
    Legacy(("AWS_BUCKET_ACL",), "bucket_acl", lambda v: v,
           "create the bucket with its ACL outside Django"),
)

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
    Setting("client_config", ("AWS_S3_CLIENT_CONFIG",), None, doc="A botocore Config."),
    Setting("transfer_config", ("AWS_S3_TRANSFER_CONFIG",), None,
            doc="An s3transfer TransferConfig: multipart threshold and part size."),
    Setting("use_threads", ("AWS_S3_USE_THREADS",), True, doc="Deprecated: use transfer_config."),
    Setting("custom_domain", ("AWS_S3_CUSTOM_DOMAIN",), None, doc="Host for url() (a CDN)."),
    Setting("url_protocol", ("AWS_S3_URL_PROTOCOL",), "https:"),
    Setting("cloudfront_key_id", ("AWS_CLOUDFRONT_KEY_ID",), None),
    Setting("cloudfront_key", ("AWS_CLOUDFRONT_KEY",), None, secret=True, doc="PEM private key."),
    Setting("file_name_charset", ("AWS_S3_FILE_NAME_CHARSET",), "utf-8", doc="Accepted; unused."),
    Setting("file_buffer_size", ("AWS_S3_FILE_BUFFER_SIZE",), 5 * 1024 * 1024,
            doc="Part size of files written through open('wb')."),
    Setting("auto_create_bucket", (), False, doc="Create the bucket on first use (legacy)."),
    Setting("bucket_acl", (), None, doc="ACL of an auto-created bucket (legacy)."),
)


class _S3Sink:
    """PutObject for small objects, a multipart upload for large ones."""

    def __init__(self, storage: S3Storage, spec: UploadSpec) -> None:
        self.storage = storage
        self.spec = spec
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        params = dict(spec.params)
        params.setdefault("ContentType", spec.content_type)
        if spec.content_encoding:
            params["ContentEncoding"] = spec.content_encoding
        self.params = params

    def _target(self) -> dict[str, Any]:
        return {"Bucket": self.storage.bucket_name, "Key": self.spec.key}

    def _condition(self) -> dict[str, str]:
        return {"IfNoneMatch": "*"} if self.spec.create_only else {}

    def single(self, data: bytes) -> None:
        self.storage._call("put_object", self.spec.name, Body=data, **self._target(),
                           **self.params, **self._condition())

    def begin(self) -> None:
        reply = self.storage._call("create_multipart_upload", self.spec.name, **self._target(), **self.params)
        self.upload_id = reply["UploadId"]

    def part(self, number: int, data: bytes) -> None:
        extra = {k: v for k, v in self.params.items() if k in _PART_PARAMS}
        reply = self.storage._call("upload_part", self.spec.name, **self._target(), UploadId=self.upload_id,
                                   PartNumber=number, Body=data, **extra)
        entry = {"PartNumber": number, "ETag": reply["ETag"]}
        for field in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256", "ChecksumCRC64NVME"):
            if reply.get(field):
                entry[field] = reply[field]
        self.parts.append(entry)

    def finish(self) -> None:
        extra = {k: v for k, v in self.params.items() if k in _SSE_C + ("RequestPayer", "ExpectedBucketOwner")}
        self.storage._call("complete_multipart_upload", self.spec.name, **self._target(),
                           UploadId=self.upload_id, MultipartUpload={"Parts": self.parts},
                           **extra, **self._condition())

    def abort(self) -> None:
        if self.upload_id:
            self.storage._call("abort_multipart_upload", self.spec.name, **self._target(), UploadId=self.upload_id)
            self.upload_id = None


class _EmptyBody:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


_SIGNERS: dict[str, Any] = {}
_SIGNERS_LOCK = threading.Lock()


def _cloudfront_signer(key_id: str, pem: str | bytes) -> Any:
    """A CloudFront URL signer for a PEM key pair, cached per key."""
    cache_key = f"{key_id}:{pem!r}"
    with _SIGNERS_LOCK:
        if cache_key in _SIGNERS:
            return _SIGNERS[cache_key]
        try:
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding
        except ImportError as exc:  # pragma: no cover
            raise ImproperlyConfigured(
                "CloudFront signed URLs need the 'cryptography' package: pip install cryptography"
            ) from exc
        from botocore.signers import CloudFrontSigner

        key = serialization.load_pem_private_key(pem.encode() if isinstance(pem, str) else pem, password=None)

        def rsa_sign(message: bytes) -> bytes:
            return key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront requires SHA-1

        signer = CloudFrontSigner(key_id, rsa_sign)
        _SIGNERS[cache_key] = signer
        return signer


@deconstructible
class S3Storage(BaseStorage):
    """Files in an S3 bucket (or any S3-compatible service)."""

    settings_table = _SETTINGS
    legacy_settings = _LEGACY
    transient_attributes = ("_client", "_url_client", "_unsigned_client", "_unsigned_base", "_created_bucket")
    deconstruct_exclude = ("cloudfront_signer",)
    missing_times: ClassVar[dict[str, str]] = {
        "created": "S3 keeps only the last-modified time of an object",
        "accessed": "S3 does not record access times",
    }

    def __init__(self, **options: Any) -> None:
        signer = options.pop("cloudfront_signer", MISSING)
        super().__init__(**options)
        if signer is not MISSING:
            self.cloudfront_signer = signer
        elif self.cloudfront_key_id and self.cloudfront_key:
            self.cloudfront_signer = _cloudfront_signer(self.cloudfront_key_id, self.cloudfront_key)
        else:
            self.cloudfront_signer = None

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
        if self.use_threads is False:
            warnings.warn("AWS_S3_USE_THREADS is deprecated; use AWS_S3_TRANSFER_CONFIG.", DeprecationWarning,
                          stacklevel=3)
        config = self.transfer_config or TransferConfig()
        self.upload_threshold = int(config.multipart_threshold)
        self.upload_part_size = max(5 * 1024 * 1024, int(config.multipart_chunksize))
        legacy_config = getattr(type(self), "config", None)
        if legacy_config is not None and self.client_config is None:
            warnings.warn("The 'config' class attribute is deprecated; set client_config.", DeprecationWarning,
                          stacklevel=3)
            self.client_config = legacy_config

    # -- connection ------------------------------------------------------
    def _session(self) -> Any:
        if self.session_profile:
            return boto3.session.Session(profile_name=self.session_profile)
        return boto3.session.Session(
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            aws_session_token=self.security_token,
        )

    def _config(self, unsigned: bool = False) -> Any:
        if self.client_config is not None:
            config = self.client_config
        else:
            options: dict[str, Any] = {
                "connect_timeout": 10,
                "read_timeout": 60,
                "retries": {"max_attempts": 3, "mode": "standard"},
                "max_pool_connections": 32,
            }
            # SigV4 everywhere (botocore would presign some regions with SigV2).
            options["signature_version"] = self.signature_version or "s3v4"
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
        if unsigned:
            config = config.merge(Config(signature_version=botocore.UNSIGNED))
        return config

    def _new_client(self, endpoint_url: str | None = None, unsigned: bool = False) -> Any:
        return self._session().client(
            "s3",
            region_name=self.region_name,
            use_ssl=self.use_ssl,
            endpoint_url=endpoint_url or self.endpoint_url,
            verify=self.verify,
            config=self._config(unsigned),
        )

    @property
    def connection(self) -> Any:
        """The boto3 S3 client (thread-safe, created once per storage)."""
        return self._lazy("_client", self._make_client)

    def _make_client(self) -> Any:
        if not self.bucket_name:
            raise ImproperlyConfigured(
                "S3Storage needs a bucket: set OPTIONS[\"bucket_name\"] or AWS_STORAGE_BUCKET_NAME."
            )
        client = self._new_client()
        if self.auto_create_bucket:
            self._ensure_bucket(client)
        return client

    @property
    def client(self) -> Any:
        return self.connection

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

    # -- errors and logging ------------------------------------------------
    def _call(self, operation: str, name: str | None, **kwargs: Any) -> Any:
        """One S3 request: timed, logged at DEBUG, errors translated."""
        client = self.connection
        start = time.perf_counter()
        try:
            reply = getattr(client, operation)(**kwargs)
        except ClientError as exc:
            raise self._translate(exc, name) from exc
        except (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError) as exc:
            where = self.endpoint_url or "the AWS endpoint"
            raise StorageUnavailable(
                f"S3Storage could not reach {where} ({type(exc).__name__}); check AWS_S3_ENDPOINT_URL "
                "(OPTIONS[\"endpoint_url\"]) and the network"
            ) from exc
        except NoCredentialsError as exc:
            raise ImproperlyConfigured(
                "S3Storage found no AWS credentials: set AWS_S3_ACCESS_KEY_ID and AWS_S3_SECRET_ACCESS_KEY "
                "(OPTIONS[\"access_key\"], [\"secret_key\"]), AWS_S3_SESSION_PROFILE, or give the machine a role"
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3Storage: {type(exc).__name__} during {operation} of {name!r}") from exc
        if logger.isEnabledFor(logging.DEBUG):
            size = len(kwargs["Body"]) if isinstance(kwargs.get("Body"), (bytes, bytearray)) else None
            logger.debug("s3 %s key=%s bytes=%s %.1fms", operation, kwargs.get("Key", ""), size,
                         (time.perf_counter() - start) * 1000)
        return reply

    def _translate(self, exc: ClientError, name: str | None) -> BaseException:
        code = _code(exc)
        if code == "NoSuchBucket":
            return ImproperlyConfigured(
                f"S3Storage: the bucket {self.bucket_name!r} does not exist; check OPTIONS[\"bucket_name\"] "
                "or AWS_STORAGE_BUCKET_NAME"
            )
        if code == "AccessControlListNotSupported":
            return ImproperlyConfigured(
                "S3Storage: the bucket has ACLs disabled (Object Ownership: bucket owner enforced); "
                "remove AWS_DEFAULT_ACL and any 'ACL' in AWS_S3_OBJECT_PARAMETERS"
            )
        detail = code
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch"):
            detail = (f"{code}: check AWS_S3_ACCESS_KEY_ID / AWS_S3_SECRET_ACCESS_KEY "
                      "(OPTIONS[\"access_key\"] / [\"secret_key\"])")
        found = translate(code, _ERRORS, storage=self, name=name, detail=detail)
        message = exc.response.get("Error", {}).get("Message", "")
        return found or StorageError(f"S3Storage: {code} on {name!r}: {message}")

    # -- primitives --------------------------------------------------------
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """Upload parameters for ``name``: override to vary them per object."""
        return dict(self.object_parameters or {})

    def _sse_params(self, name: str) -> dict[str, Any]:
        params = self.get_object_parameters(name)
        return {k: v for k, v in params.items() if k in _SSE_C}

    def _prepare_upload(self, spec: UploadSpec) -> None:
        params = self.get_object_parameters(spec.name)
        if self.default_acl and "ACL" not in params:
            params["ACL"] = self.default_acl
        spec.content_type = params.pop("ContentType", spec.content_type)
        spec.content_encoding = params.pop("ContentEncoding", spec.content_encoding)
        spec.params = params

    def _open_writer(self, spec: UploadSpec) -> ChunkedUpload:
        part = spec.part_size or self.upload_part_size
        threshold = self.upload_threshold if spec.part_size is None else part
        return ChunkedUpload(_S3Sink(self, spec), threshold=threshold, part_size=max(part, 5 * 1024 * 1024))

    def _file_part_size(self) -> int:
        return int(self.file_buffer_size)

    def _info(self, reply: dict[str, Any], size: int) -> ObjectInfo:
        etag = (reply.get("ETag") or "").strip('"') or None
        info = ObjectInfo(
            size=size,
            modified=reply.get("LastModified"),
            content_type=reply.get("ContentType"),
            content_encoding=reply.get("ContentEncoding"),
            etag=etag,
            extra={"metadata": reply.get("Metadata") or {}, "cache_control": reply.get("CacheControl"),
                   "content_disposition": reply.get("ContentDisposition")},
        )
        if self._etag_is_md5(etag) and reply.get("ServerSideEncryption") != "aws:kms":
            info.hashes["md5"] = etag.lower()
        if reply.get("ChecksumSHA256") and "-" not in reply["ChecksumSHA256"]:
            info.hashes["sha256"] = b64_to_hex(reply["ChecksumSHA256"]) or ""
        return info

    def _stat(self, key: str) -> ObjectInfo:
        reply = self._call("head_object", self._name(key), Bucket=self.bucket_name, Key=key,
                           **self._sse_params(self._name(key)))
        return self._info(reply, reply["ContentLength"])

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        extra = self._sse_params(name)
        if offset:
            extra["Range"] = f"bytes={offset}-"
        try:
            reply = self._call("get_object", name, Bucket=self.bucket_name, Key=key, **extra)
        except StorageError as exc:
            cause = exc.__cause__
            if isinstance(cause, ClientError) and _code(cause) in ("InvalidRange", "416"):
                return ReadResult(_EmptyBody(), self._stat(key))
            raise
        size = reply["ContentLength"]
        content_range = reply.get("ContentRange")
        if content_range and "/" in content_range:
            size = int(content_range.rsplit("/", 1)[1])
        return ReadResult(reply["Body"], self._info(reply, size))

    def _delete(self, key: str) -> None:
        self._call("delete_object", self._name(key), Bucket=self.bucket_name, Key=key)

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": prefix, "Delimiter": "/"}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", prefix, **kwargs)
            yield ([p["Prefix"] for p in page.get("CommonPrefixes", [])],
                   [o["Key"] for o in page.get("Contents", [])])
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _etag_is_md5(self, etag: str | None) -> bool:
        # A single-part upload's ETag is the MD5 of its bytes, unless SSE-KMS or SSE-C is used.
        params = self.object_parameters or {}
        return bool(etag) and "-" not in etag and params.get("ServerSideEncryption") != "aws:kms" and (
            "SSECustomerKey" not in params)

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"Bucket": self.bucket_name, "Prefix": prefix}
            if token:
                kwargs["ContinuationToken"] = token
            page = self._call("list_objects_v2", prefix, **kwargs)
            for obj in page.get("Contents", []):
                etag = (obj.get("ETag") or "").strip('"') or None
                info = ObjectInfo(size=obj["Size"], modified=obj.get("LastModified"), etag=etag)
                if self._etag_is_md5(etag):
                    info.hashes["md5"] = etag.lower()
                yield obj["Key"], info
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _delete_many(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            reply = self._call("delete_objects", batch[0], Bucket=self.bucket_name,
                               Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            errors = reply.get("Errors") or []
            if errors:
                first = errors[0]
                raise StorageError(f"S3Storage could not delete {len(errors)} of {len(batch)} objects; first: "
                                   f"{first.get('Key')!r}: {first.get('Code')}")

    def _same_account(self, other: Any) -> bool:
        return isinstance(other, S3Storage) and (other.endpoint_url, other.access_key, other.session_profile) == (
            self.endpoint_url, self.access_key, self.session_profile)

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        if not self._same_account(source):
            return False
        extra = {k: v for k, v in spec.params.items() if k in ("ACL", "StorageClass", "ServerSideEncryption")}
        self._call("copy", spec.name, CopySource={"Bucket": source.bucket_name, "Key": source_key},
                   Bucket=self.bucket_name, Key=spec.key, ExtraArgs=extra or None,
                   Config=self.transfer_config or TransferConfig())
        return True

    def _root_exists(self) -> bool:
        try:
            self._call("head_bucket", None, Bucket=self.bucket_name)
        except (FileNotFoundError, ImproperlyConfigured):
            return False
        return True

    # -- URLs --------------------------------------------------------------
    def _unsigned_url(self, key: str, params: dict[str, Any]) -> str:
        base = self.__dict__.get("_unsigned_base")
        if base is None:
            # Ask botocore once where keys live (endpoint, addressing style,
            # region); after that an unsigned URL is string work only.
            client = self._lazy("_unsigned_client", lambda: self._new_client(unsigned=True))
            marker = "__storages_key__"
            template = client.generate_presigned_url("get_object", Params={"Bucket": self.bucket_name,
                                                                          "Key": marker}, ExpiresIn=60)
            base = template.split(marker, 1)[0]
            self._unsigned_base = base
        return join_url(base, key, params)

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
        if self.public_endpoint_url:
            client = self._lazy("_url_client", lambda: self._new_client(self.public_endpoint_url))
        else:
            client = self.connection
        method = (http_method or "GET").upper()
        operation = "put_object" if method == "PUT" else "get_object"
        return client.generate_presigned_url(
            operation,
            Params={"Bucket": self.bucket_name, "Key": key, **params},
            ExpiresIn=int(expire),
            HttpMethod=method,
        )

    def generate_presigned_post(self, name: str, fields: dict[str, Any] | None = None,
                                conditions: list[Any] | None = None, expire: int | None = None) -> dict[str, Any]:
        """A presigned POST (``{"url", "fields"}``) so a browser can upload ``name`` directly."""
        key = self._key(name)
        client = self.connection
        if self.public_endpoint_url:
            client = self._lazy("_url_client", lambda: self._new_client(self.public_endpoint_url))
        return client.generate_presigned_post(
            self.bucket_name, key, Fields=fields, Conditions=conditions,
            ExpiresIn=int(self.querystring_expire if expire is None else expire),
        )


def _code(exc: ClientError) -> str:
    error = exc.response.get("Error", {})
    return str(error.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


class S3File(RemoteFile):
    """A file in S3 (``S3Storage.open()`` returns one)."""

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

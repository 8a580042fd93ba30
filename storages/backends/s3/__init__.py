"""Amazon S3 and S3-compatible services (MinIO, R2, B2, DigitalOcean Spaces) via boto3.

Uploads go through s3transfer with the storage's TransferConfig; a small save is one PUT in
one round trip, ``open()`` + ``read()`` one GET, ``exists()`` / ``size()`` one HEAD, ``url()``
none. Memory, timeouts and failures: docs/backends/s3.rst.
"""

from __future__ import annotations

import collections
import copy
import copyreg
import datetime as dt
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages import naming, signed_urls
from storages.backends.s3 import compat, signing
from storages.backends.s3.legacy import S3_LEGACY, s3_create_bucket
from storages.base import BaseStorage, batches, common_settings, join_url
from storages.conf import MISSING, Setting
from storages.errors import StorageError, sdk_required, translate
from storages.files import (
    Leftover,
    ObjectInfo,
    ReadAhead,
    ReadResult,
    RemoteFile,
    TranslatedBody,
    UploadSpec,
    http_range,
)
from storages.hashing import b64_to_hex
from storages.signed_urls import window_setting
from storages.transfer import FullReader, UploadSource, WriteBuffer

if TYPE_CHECKING:
    from storages.direct import TicketRequest, UploadTicket

with sdk_required("The S3 backend", "boto3", "s3"):
    import boto3
    import botocore
    import botocore.session
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError, NoCredentialsError

__all__ = [
    "S3Storage",
    "S3StaticStorage",
    "S3ManifestStaticStorage",
    "S3File",
    "default_transfer_config",
]

MB = 1024 * 1024
#: Bodies up to this size are sent without waiting for "100 Continue" (one round trip).
SMALL_BODY = MB
# Parameters that must accompany every request on an object (SSE-C keys).
_SSE_C = ("SSECustomerAlgorithm", "SSECustomerKey", "SSECustomerKeyMD5")

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


def _unpickle_transfer_config(
    cls: type, values: dict[str, Any], unset: list[str]
) -> TransferConfig:
    config = cls.__new__(cls)
    for name, value in values.items():
        object.__setattr__(config, name, value)
    for name in unset:
        object.__setattr__(config, name, cls.UNSET_DEFAULT)
    return config


def _pickle_transfer_config(config: TransferConfig) -> tuple[Any, ...]:
    # boto3 marks the options left to their default with a class-level ``object()`` and tests
    # them by identity; a pickled or deep-copied config would carry a new ``object()`` that
    # s3transfer then takes as a number (TypeError in its semaphore). Carry the names instead,
    # so AWS_S3_TRANSFER_CONFIG, and storages holding it, survive pickle and deepcopy.
    unset_marker = getattr(type(config), "UNSET_DEFAULT", None)
    values = {k: v for k, v in vars(config).items() if v is not unset_marker}
    unset = [k for k, v in vars(config).items() if unset_marker is not None and v is unset_marker]
    return _unpickle_transfer_config, (type(config), values, unset)


copyreg.pickle(TransferConfig, _pickle_transfer_config)

_loader_lock = threading.Lock()


def _botocore_session() -> Any:
    """A new botocore session sharing one data loader per process: each storage's own session would
    parse the S3 models again (about 1 MB of JSON, 0.3 s). The loader only reads files and
    caches."""
    session = botocore.session.get_session()
    with _loader_lock:
        shared = globals().setdefault("_shared_loader", session.get_component("data_loader"))
        session.register_component("data_loader", shared)
        # boto3.Session appends its data folder to the path list each time: keep the list from
        # growing.
        shared.search_paths[:] = dict.fromkeys(shared.search_paths)
    return session


def _single_put(config: TransferConfig) -> int:
    """Sizes below this go in one PutObject (s3transfer's rule: multipart from the threshold)."""
    return int(config.multipart_threshold)


def default_transfer_config() -> TransferConfig:
    """The TransferConfig when ``AWS_S3_TRANSFER_CONFIG`` is unset: one PUT up to 8 MiB, else 5 MiB
    parts on 10 connections, and at most 3 parts of a non-file source in memory (s3transfer's
    default of 10 would hold 50 MB), so a large save stays within about 50 MB."""
    config = TransferConfig(
        multipart_threshold=8 * MB,
        multipart_chunksize=5 * MB,
        max_concurrency=10,
        preferred_transfer_client="classic",
    )
    config.max_in_memory_upload_chunks = 3
    return config


_SETTINGS = (
    Setting(
        "access_key",
        ("AWS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        None,
        env=("AWS_S3_ACCESS_KEY_ID", "AWS_ACCESS_KEY_ID"),
        secret=True,
        doc="Access key id; unset means boto3's default credential chain.",
    ),
    *(
        Setting(option, names, None, env=names, secret=True, doc=doc)
        for option, names, doc in (
            (
                "secret_key",
                ("AWS_S3_SECRET_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY"),
                "Secret access key.",
            ),
            ("security_token", ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"), "STS session token."),
        )
    ),
    Setting(
        "session_profile",
        ("AWS_S3_SESSION_PROFILE",),
        None,
        env=("AWS_S3_SESSION_PROFILE",),
        doc="Profile.",
    ),
    Setting("bucket_name", ("AWS_STORAGE_BUCKET_NAME",), None, doc="The bucket."),
    *common_settings(
        "AWS_",
        overwrite=("file_overwrite", "AWS_S3_FILE_OVERWRITE", True),
        gzip_setting="AWS_IS_GZIPPED",
        memory_setting="AWS_S3_MAX_MEMORY_SIZE",
    ),
    Setting(
        "object_parameters",
        ("AWS_S3_OBJECT_PARAMETERS",),
        dict,
        doc="Upload parameters (boto3 names).",
    ),
    Setting(
        "default_acl",
        ("AWS_DEFAULT_ACL",),
        None,
        doc="Canned ACL when ACL is not in object_parameters.",
    ),
    Setting("querystring_auth", ("AWS_QUERYSTRING_AUTH",), True, doc="Sign URLs."),
    Setting(
        "querystring_expire",
        ("AWS_QUERYSTRING_EXPIRE",),
        3600,
        doc="Signed URL lifetime (seconds).",
    ),
    window_setting("AWS_S3_SIGNED_URL_WINDOW"),
    Setting("signature_version", ("AWS_S3_SIGNATURE_VERSION",), None),
    Setting("addressing_style", ("AWS_S3_ADDRESSING_STYLE",), None, doc="'path' or 'virtual'."),
    Setting("region_name", ("AWS_S3_REGION_NAME",), None),
    Setting("endpoint_url", ("AWS_S3_ENDPOINT_URL",), None, doc="S3-compatible endpoint."),
    Setting(
        "public_endpoint_url",
        ("AWS_S3_PUBLIC_ENDPOINT_URL",),
        None,
        doc="Host url() signs for, if other.",
    ),
    Setting("use_ssl", ("AWS_S3_USE_SSL",), True),
    Setting("verify", ("AWS_S3_VERIFY",), None, doc="TLS verification flag or CA bundle path."),
    Setting("proxies", ("AWS_S3_PROXIES",), None),
    Setting(
        "client_config", ("AWS_S3_CLIENT_CONFIG",), None, doc="A botocore Config, used as given."
    ),
    Setting("connect_timeout", ("AWS_S3_CONNECT_TIMEOUT",), 5, doc="Seconds to open a connection."),
    Setting(
        "read_timeout", ("AWS_S3_READ_TIMEOUT",), 15, doc="Seconds without a byte from the server."
    ),
    Setting(
        "max_attempts", ("AWS_S3_MAX_ATTEMPTS",), 3, doc="Attempts per request, the first included."
    ),
    Setting(
        "transfer_config",
        ("AWS_S3_TRANSFER_CONFIG",),
        None,
        doc="A TransferConfig for uploads (AWS_WRITE_BUFFER, when set, wins for its part size "
        "and threads).",
    ),
    Setting("use_threads", ("AWS_S3_USE_THREADS",), True, doc="Deprecated: use transfer_config."),
    Setting("custom_domain", ("AWS_S3_CUSTOM_DOMAIN",), None, doc="Host for url() (a CDN)."),
    Setting("url_protocol", ("AWS_S3_URL_PROTOCOL",), "https:"),
    Setting("cloudfront_key_id", ("AWS_CLOUDFRONT_KEY_ID",), None),
    Setting("cloudfront_key", ("AWS_CLOUDFRONT_KEY",), None, secret=True, doc="PEM private key."),
    Setting("file_name_charset", ("AWS_S3_FILE_NAME_CHARSET",), "utf-8", doc="Accepted; unused."),
    Setting(
        "file_buffer_size",
        ("AWS_S3_FILE_BUFFER_SIZE",),
        5 * MB,
        doc="Part size of open('wb') files (AWS_WRITE_BUFFER wins when set).",
    ),
    Setting("auto_create_bucket", (), False, doc="Create the bucket on first use (legacy)."),
    Setting("bucket_acl", (), None, doc="ACL of an auto-created bucket (legacy)."),
)

# What a HEAD tells of an object's upload parameters (syncmetadata compares these): what a copy
# keeps, and the encryption and redirect it reports.
_READABLE_PARAMETERS = (
    *compat.S3_COPY_KEPT,
    "ServerSideEncryption",
    "SSEKMSKeyId",
    "WebsiteRedirectLocation",
)

_SIGNERS: dict[str, Any] = {}
_SIGNERS_LOCK = threading.Lock()


class _PemSigner:
    """CloudFront's RSA-SHA1 signature with a PEM private key. Picklable, unlike a closure over a
    loaded key: a pickled storage (the PEM is its ``cloudfront_key`` already) loads it again."""

    def __init__(self, pem: str | bytes) -> None:
        from cryptography.hazmat.primitives import serialization

        self._pem = pem.encode() if isinstance(pem, str) else pem
        self._key = serialization.load_pem_private_key(self._pem, password=None)

    def __call__(self, message: bytes) -> bytes:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303 - CloudFront requires SHA-1

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self._pem,)


def _cloudfront_signer(key_id: str, pem: str | bytes) -> Any:
    """A CloudFront URL signer for a PEM key pair, cached per key."""
    cache_key = f"{key_id}:{pem!r}"
    with _SIGNERS_LOCK:
        if cache_key not in _SIGNERS:
            from botocore.signers import CloudFrontSigner

            _SIGNERS[cache_key] = CloudFrontSigner(key_id, _PemSigner(pem))
        return _SIGNERS[cache_key]


def _send_small_bodies_at_once(request: Any, **kwargs: Any) -> None:
    # botocore makes every file-like body wait for "100 Continue" (one more round
    # trip); a small body costs less to send than to wait. Error replies still
    # arrive as usual, after the body.
    if (
        "Expect" in request.headers
        and int(request.headers.get("Content-Length") or SMALL_BODY + 1) <= SMALL_BODY
    ):
        del request.headers["Expect"]


@deconstructible
class S3Storage(BaseStorage):
    """Files in an S3 bucket (or any S3-compatible service)."""

    public_read_setup = (
        'a bucket policy that allows "s3:GetObject" to everyone ("Principal": "*") on the '
        "static files' prefix (Block Public Access off for that policy)"
    )
    settings_table = _SETTINGS
    legacy_settings = S3_LEGACY
    transient_attributes = ("_creating",)  # the keys being uploaded create-only, by the client
    deconstruct_exclude = ("cloudfront_signer",)
    missing_times: ClassVar[dict[str, str]] = {
        "created": "S3 keeps only the last-modified time of an object",
        "accessed": "S3 does not record access times",
    }
    endpoint_setting = 'AWS_S3_ENDPOINT_URL (OPTIONS["endpoint_url"])'
    path_uploads_checkpoint = True
    max_key_bytes = 1024
    content_parameters, acl_parameter = ("ContentType", "ContentEncoding"), "ACL"
    root_missing_errors = (FileNotFoundError, ImproperlyConfigured)
    unreachable_errors = (botocore.exceptions.ConnectionError, HTTPClientError)
    # 16 connections of 2 MiB ranges (34 MiB window): 200 MB in 1.35 s on the WAN bench, against
    # 1.85 s with 10 and 2.7 s for 1.14 (bench/bench_s3.py --wan).
    default_read_ahead = ReadAhead(threshold=8 * MB, part_size=2 * MB, concurrency=16)
    cloudfront_signer: Any = None
    # Storages built without __init__ (collectfasta copies attributes onto one) still get a lock.
    _lock = threading.RLock()
    # Traits the system checks, checkstorages and copystorage read (see BaseStorage).
    credential_options = (("access_key", "secret_key"), ("session_profile",))
    paired_options = (("access_key", "secret_key"), ("cloudfront_key_id", "cloudfront_key"))
    tls_options = ("use_ssl",)
    container_option = "bucket_name"
    cache_control_param = "CacheControl"
    direct_upload_max_size = 5 * 1024**3  # one POST or PUT

    def unsigned_url_option(self) -> str | None:
        if self.querystring_auth is False:
            return "querystring_auth"
        if self.custom_domain and not self.cloudfront_signer:  # a CDN link, signed by nothing
            return "custom_domain"
        return None

    def ambient_credentials(self) -> bool:
        """Whether botocore's chain finds credentials (environment, files) without the network."""
        from storages.backends.s3.checks import ambient_credentials

        return ambient_credentials()

    def system_checks(self, alias: str) -> list[Any]:
        """Values S3 or botocore would refuse: endpoints, choices, bucket name, region..."""
        from storages.backends.s3.checks import system_checks

        return system_checks(self, alias)

    def presigned_upload_url(
        self, name: str, expire: int = 600, content_type: str = "text/plain"
    ) -> tuple[str, dict[str, str]]:
        # S3Storage.url itself: ManifestFilesMixin.url takes no http_method.
        return S3Storage.url(self, name, http_method="PUT", expire=expire), {}

    def direct_upload_ticket(self, request: TicketRequest) -> UploadTicket:
        """A browser's direct upload of ``request.name`` (see :mod:`storages.direct`)."""
        from storages.backends.s3 import direct

        return direct.ticket(self, request)

    def direct_upload_cors_problems(self, origin: str) -> list[str]:
        """What in the CORS rules would stop a page on ``origin`` uploading directly."""
        from storages.backends.s3 import direct

        return direct.cors_problems(self, origin)

    def __init__(self, **options: Any) -> None:
        signer = options.pop("cloudfront_signer", MISSING)
        super().__init__(**options)
        if signer is MISSING and self.cloudfront_key_id and self.cloudfront_key:
            signer = _cloudfront_signer(self.cloudfront_key_id, self.cloudfront_key)
        self.cloudfront_signer = signer or None

    def configure(self) -> None:
        for wrong, message in (
            (
                bool(self.cloudfront_key_id) != bool(self.cloudfront_key),
                "set both AWS_CLOUDFRONT_KEY_ID and AWS_CLOUDFRONT_KEY "
                '(OPTIONS["cloudfront_key_id"] and ["cloudfront_key"]), or neither.',
            ),
            (
                self.session_profile and (self.access_key or self.secret_key),
                "AWS_S3_SESSION_PROFILE can't be combined with access keys (AWS_S3_ACCESS_KEY_ID "
                "/ AWS_S3_SECRET_ACCESS_KEY); use one or the other.",
            ),
            (
                self.url_protocol and not str(self.url_protocol).endswith(":"),
                f"AWS_S3_URL_PROTOCOL must end with ':' (got {self.url_protocol!r}); write "
                "'https:'.",
            ),
        ):
            if wrong:
                raise ImproperlyConfigured(f"S3Storage: {message}")
        self.signed_url_window = signed_urls.check_window(
            "S3Storage",
            "AWS_S3_SIGNED_URL_WINDOW",
            self.signed_url_window,
            self.querystring_expire,
        )
        if self.signed_url_window:
            signing.install()
        config = self.transfer_config or default_transfer_config()
        if self.use_threads is False:
            warnings.warn(
                "AWS_S3_USE_THREADS is deprecated; use AWS_S3_TRANSFER_CONFIG = "
                "TransferConfig(use_threads=False).",
                DeprecationWarning,
                stacklevel=3,
            )
            config = copy.copy(config)
            config.use_threads = False
        self._transfer_config = config
        self.upload_threshold = int(config.multipart_threshold)
        self.upload_part_size = max(5 * MB, int(config.multipart_chunksize))
        legacy_config = getattr(type(self), "config", None)
        if legacy_config is not None and self.client_config is None:
            warnings.warn(
                "The 'config' class attribute is deprecated; set client_config.",
                DeprecationWarning,
                3,
            )
            self.client_config = legacy_config

    def _apply_write_buffer(self, config: WriteBuffer | None) -> WriteBuffer:
        """``write_buffer`` sets s3transfer's part size (at least S3's 5 MiB), its threads and the
        parts it may hold (``max_in_memory_upload_chunks``), and AWS_S3_FILE_BUFFER_SIZE; unset,
        AWS_S3_TRANSFER_CONFIG (or :func:`default_transfer_config`) and AWS_S3_FILE_BUFFER_SIZE
        stay as set. A write holds the parts in flight, the one s3transfer is cutting, and the
        one open("wb") hands over."""
        transfer = self._transfer_config
        if config is not None:
            transfer = copy.copy(transfer)
            part = max(5 * MB, int(config.part_size or transfer.multipart_chunksize))
            if config.concurrency is not None:
                transfer.max_concurrency = config.concurrency
            transfer.max_in_memory_upload_chunks = max(1, transfer.max_concurrency)
            transfer.multipart_chunksize = self.file_buffer_size = part
            self._transfer_config = transfer
        self.upload_part_size = max(5 * MB, int(transfer.multipart_chunksize))
        held = min(transfer.max_concurrency, transfer.max_in_memory_upload_chunks)
        part = max(self.upload_part_size, int(self.file_buffer_size or 0))
        return WriteBuffer(part_size=part, concurrency=max(1, held))

    # -- connection ------------------------------------------------------
    def _connection_pool_size(self) -> int:
        return self.client.meta.config.max_pool_connections

    def _boto_session(self) -> Any:
        keys = (
            {"profile_name": self.session_profile}
            if self.session_profile
            else {
                "aws_access_key_id": self.access_key,
                "aws_secret_access_key": self.secret_key,
                "aws_session_token": self.security_token,
            }
        )
        return self._lazy(
            "_session", lambda: boto3.session.Session(botocore_session=_botocore_session(), **keys)
        )

    def _config(self, unsigned: bool = False) -> Any:
        # S3-compatible services reject boto3's default CRC checksums (boto3 >= 1.36):
        # send and check them only when required there.
        checks = "when_required" if self.endpoint_url else None
        # Timeouts and attempts chosen together: a server that accepts connections and never
        # answers fails within about 3 x 15 s; a slow but steady download is never cut (the
        # read timeout is per socket read). SigV4 everywhere (botocore would presign some
        # regions with SigV2).
        config = self.client_config or Config(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_pool_connections=max(32, self.async_concurrency),  # async workers never wait
            retries={"total_max_attempts": self.max_attempts, "mode": "standard"},
            signature_version=self.signature_version or "s3v4",
            proxies=self.proxies or None,
            s3={"addressing_style": self.addressing_style} if self.addressing_style else None,
            request_checksum_calculation=checks,
            response_checksum_validation=checks,
        )
        return config.merge(Config(signature_version=botocore.UNSIGNED)) if unsigned else config

    def _sdk_kwargs(
        self, endpoint_url: str | None = None, unsigned: bool = False
    ) -> dict[str, Any]:
        return {
            "region_name": self.region_name,
            "use_ssl": self.use_ssl,
            "verify": self.verify,
            "endpoint_url": endpoint_url or self.endpoint_url,
            "config": self._config(unsigned),
        }

    def _new_client(self, endpoint_url: str | None = None, unsigned: bool = False) -> Any:
        with self._lock:  # a boto3 session is not thread-safe
            return self._boto_session().client("s3", **self._sdk_kwargs(endpoint_url, unsigned))

    @property
    def client(self) -> Any:
        """The boto3 S3 client this storage sends its own requests with (thread-safe, one per
        storage)."""
        return self._lazy("_client", self._make_client)

    def _make_client(self) -> Any:
        if not self.bucket_name:
            raise ImproperlyConfigured(
                'S3Storage needs a bucket: set OPTIONS["bucket_name"] or AWS_STORAGE_BUCKET_NAME.'
            )
        client = self._new_client()
        self._creating: collections.Counter[str] = collections.Counter()
        for operation in ("PutObject", "CompleteMultipartUpload"):
            client.meta.events.register(
                f"before-parameter-build.s3.{operation}", self._add_create_condition
            )
        client.meta.events.register("before-send.s3", _send_small_bodies_at_once)
        if self.auto_create_bucket:
            s3_create_bucket(client, self.bucket_name, self.bucket_acl, self.region_name)
        return client

    def _thread_resource(self, slot: str, unsigned: bool = False) -> Any:
        def make() -> Any:
            with self._lock:  # a boto3 session is not thread-safe
                return self._boto_session().resource("s3", **self._sdk_kwargs(unsigned=unsigned))

        return self._per_thread(make, slot)

    @property
    def connection(self) -> Any:
        """A boto3 S3 *resource* for the calling thread (resources are not thread-safe), as in
        1.14."""
        return self._thread_resource("_resources")

    @property
    def unsigned_connection(self) -> Any:
        """A boto3 S3 resource that sends unsigned requests (public buckets), for the calling
        thread."""
        return self._thread_resource("_unsigned_resources", unsigned=True)

    @property
    def bucket(self) -> Any:
        """The boto3 ``Bucket`` resource of ``bucket_name``."""
        return self.connection.Bucket(self.bucket_name)

    def get_cloudfront_signer(self, key_id: str, key: str | bytes) -> Any:
        """A botocore ``CloudFrontSigner`` for a key pair id and its PEM private key."""
        return _cloudfront_signer(key_id, key)

    # -- errors ----------------------------------------------------------------
    def _s3(self, operation: str, name: str | None, **kwargs: Any) -> Any:
        """One client call on this storage's bucket, through the core's call wrapper."""
        return self._call(
            operation, name, getattr(self.client, operation), Bucket=self.bucket_name, **kwargs
        )

    def _endpoint_label(self) -> str:
        return self.endpoint_url or "the AWS endpoint"

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        if isinstance(exc, S3UploadFailedError) and isinstance(exc.__context__, ClientError):
            exc = exc.__context__  # upload_file re-raises a ClientError as text
        if isinstance(exc, NoCredentialsError):
            return ImproperlyConfigured(
                "S3Storage found no AWS credentials: set AWS_S3_ACCESS_KEY_ID and AWS_S3_SECRET"
                '_ACCESS_KEY (OPTIONS["access_key"], ["secret_key"]), AWS_S3_SESSION_PROFILE, '
                "or give the machine a role"
            )
        if isinstance(exc, BotoCoreError):
            # botocore's own words say what is wrong (the bucket name it refuses, the endpoint
            # that is not a URL): kept, without secrets.
            said = self._scrub(" ".join(str(exc).split()))
            return StorageError(f"S3Storage: {type(exc).__name__} during {op} of {name!r}: {said}")
        if not isinstance(exc, ClientError):
            return None
        code = _code(exc)
        if code in ("NoSuchBucket", "AccessControlListNotSupported"):
            return ImproperlyConfigured(
                "S3Storage: "
                + (
                    f'the bucket {self.bucket_name!r} does not exist; check OPTIONS["bucket_name"] '
                    "or AWS_STORAGE_BUCKET_NAME"
                    if code == "NoSuchBucket"
                    else (
                        "the bucket has ACLs disabled (Object Ownership: bucket owner enforced); "
                        "remove AWS_DEFAULT_ACL and any 'ACL' in AWS_S3_OBJECT_PARAMETERS"
                    )
                )
            )
        detail = (
            f'{code}: check AWS_S3_ACCESS_KEY_ID / AWS_S3_SECRET_ACCESS_KEY (OPTIONS["access_key"] '
            '/ ["secret_key"])'
            if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch")
            else code
        )
        found = translate(code, _ERRORS, storage=self, name=name, detail=detail)
        return found or StorageError(
            f"S3Storage: {code} on {name!r}: {exc.response.get('Error', {}).get('Message')}"
        )

    # -- uploads ---------------------------------------------------------------
    def _sse_params(self, name: str) -> dict[str, Any]:
        return {k: v for k, v in self.get_object_parameters(name).items() if k in _SSE_C}

    @staticmethod
    def _extra_args(spec: UploadSpec, encoding: bool = True) -> dict[str, Any]:
        encoded = (
            {"ContentEncoding": spec.content_encoding} if spec.content_encoding and encoding else {}
        )
        return dict(spec.params, ContentType=spec.content_type, **encoded)

    def _get_write_parameters(self, name: str, content: Any = None) -> dict[str, Any]:
        """The upload parameters of ``name`` (1.14's helper; gzip is left to the caller)."""
        spec, gzipped = self._upload_spec(name, content)
        return self._extra_args(spec, encoding=not gzipped)

    def _transfer_for(self, spec: UploadSpec) -> Any:
        config = getattr(self, "_transfer_config", None) or default_transfer_config()
        if spec.part_size:
            # A file written through open("wb"): AWS_S3_FILE_BUFFER_SIZE sets its parts.
            config = copy.copy(config)
            config.multipart_threshold = config.multipart_chunksize = max(
                5 * MB, int(spec.part_size)
            )
            # The pipe feeding it holds a part and a 2 MiB queue itself: two parts in s3transfer.
            config.max_in_memory_upload_chunks = min(2, config.max_in_memory_upload_chunks)
        return config

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        config = self._transfer_for(spec)
        if source.path is None and source.size is not None and source.size < _single_put(config):
            # What s3transfer would send (one PutObject), without its transfer manager: no
            # threads started and no hand-off for a small content in memory, which is most
            # saves (and async saves run many at once).
            body = FullReader(source.fileobj).read(source.size)  # reads pass the stop check
            if source.checkpoint is not None:
                source.checkpoint()
            condition = {"IfNoneMatch": "*"} if spec.create_only else {}
            self._s3(
                "put_object",
                spec.name,
                Key=spec.key,
                Body=body,
                **self._extra_args(spec),
                **condition,
            )
            return
        client, key = self.client, spec.key if spec.create_only else None
        op, fn, what = (
            ("upload_file", client.upload_file, source.path)
            if source.path
            else ("upload_fileobj", client.upload_fileobj, FullReader(source.fileobj))
        )
        # While a key is uploaded create-only, its PutObject or CompleteMultipartUpload carries
        # If-None-Match: * (s3transfer's ExtraArgs refuse it: _add_create_condition adds it).
        with self._lock:
            self._creating.update([key])
        try:
            self._call(
                op,
                spec.name,
                fn,
                what,
                self.bucket_name,
                spec.key,
                ExtraArgs=self._extra_args(spec),
                Config=config,
                # s3transfer reads up to 10 parts ahead (and reads a path by itself): a stop
                # (storages.transfer) is checked as each part is sent too.
                Callback=source.checkpoint,
            )
        finally:
            with self._lock:
                self._creating.subtract([key])
                self._creating = +self._creating

    def _add_create_condition(self, params: dict[str, Any], **kwargs: Any) -> None:
        if params.get("Bucket") == self.bucket_name and params.get("Key") in self._creating:
            params["IfNoneMatch"] = "*"

    # -- reads and metadata ------------------------------------------------------
    def _info(self, reply: dict[str, Any], size: int) -> ObjectInfo:
        etag = (reply.get("ETag") or "").strip('"') or None
        info = ObjectInfo(
            size=size,
            modified=reply.get("LastModified"),
            content_type=reply.get("ContentType"),
            content_encoding=reply.get("ContentEncoding"),
            etag=etag,
            extra={
                "metadata": reply.get("Metadata") or {},
                "cache_control": reply.get("CacheControl"),
                "content_disposition": reply.get("ContentDisposition"),
            },
        )
        # the ETag of an object encrypted with KMS (aws:kms, aws:kms:dsse) or SSE-C is no MD5
        encrypted = str(reply.get("ServerSideEncryption") or "").startswith("aws:kms") or bool(
            reply.get("SSECustomerAlgorithm")
        )
        if self._etag_is_md5(etag) and not encrypted:
            info.hashes["md5"] = etag.lower()
        if reply.get("ChecksumSHA256") and "-" not in reply["ChecksumSHA256"]:
            info.hashes["sha256"] = b64_to_hex(reply["ChecksumSHA256"]) or ""
        return info

    def _stat(self, key: str) -> ObjectInfo:
        reply = self._s3(
            "head_object", self._name(key), Key=key, **self._sse_params(self._name(key))
        )
        return self._info(reply, reply["ContentLength"])

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        extra = self._sse_params(name)
        reply = self._s3("get_object", name, Key=key, **extra, **http_range(offset, end))
        whole = reply.get("ContentRange") or ""  # bytes a-b/size
        size = int(whole.rsplit("/", 1)[1]) if "/" in whole else reply["ContentLength"]
        return ReadResult(
            TranslatedBody(self, reply["Body"], name),
            self._info(reply, size),
            status=reply.get("ResponseMetadata", {}).get("HTTPStatusCode"),
            content_range=whole or None,
            length=reply.get("ContentLength"),
        )

    def _delete(self, key: str) -> None:
        self._s3("delete_object", self._name(key), Key=key)

    def _pages(self, prefix: str, **extra: Any) -> Iterator[dict[str, Any]]:
        token: str | None = None
        while True:
            page = self._s3(
                "list_objects_v2",
                prefix,
                Prefix=prefix,
                **extra,
                **({"ContinuationToken": token} if token else {}),
            )
            yield page
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        for page in self._pages(prefix, Delimiter="/"):
            yield (
                [p["Prefix"] for p in page.get("CommonPrefixes", [])],
                [o["Key"] for o in page.get("Contents", [])],
            )

    def _etag_is_md5(self, etag: str | None) -> bool:
        # A single-part upload's ETag is the MD5 of its bytes, unless SSE-KMS or SSE-C is used.
        params = self.object_parameters or {}
        return (
            bool(etag)
            and "-" not in etag
            and params.get("ServerSideEncryption") != "aws:kms"
            and ("SSECustomerKey" not in params)
        )

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        for page in self._pages(prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"], self._info(obj, obj["Size"])

    def _delete_many(self, keys: list[str]) -> None:
        for batch in batches(keys, 1000):
            delete = {"Objects": [{"Key": k} for k in batch], "Quiet": True}
            if errors := self._s3("delete_objects", batch[0], Delete=delete).get("Errors"):
                raise StorageError(
                    f"S3Storage could not delete {len(errors)} of {len(batch)} objects; first: "
                    f"{errors[0].get('Key')!r}: {errors[0].get('Code')}"
                )

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        account = ("endpoint_url", "access_key", "session_profile")
        if not isinstance(source, S3Storage) or any(
            getattr(source, a) != getattr(self, a) for a in account
        ):
            return False
        self._call(
            "copy",
            spec.name,
            compat.s3_copy,
            self.client,
            {"Bucket": source.bucket_name, "Key": source_key},
            self.bucket_name,
            spec,
            self._transfer_for(spec),
        )
        return True

    def _stored_parameters(self, key: str) -> dict[str, Any] | None:
        try:
            reply = self._s3(
                "head_object", self._name(key), Key=key, **self._sse_params(self._name(key))
            )
        except FileNotFoundError:
            return None
        stored = {name: reply.get(name) for name in _READABLE_PARAMETERS}
        stored["StorageClass"] = reply.get("StorageClass") or "STANDARD"  # HEAD omits STANDARD
        stored["Metadata"] = reply.get("Metadata") or {}
        return stored

    def _replace_parameters(self, key: str, params: dict[str, Any], stored: dict[str, Any]) -> None:
        # A copy onto itself with MetadataDirective=REPLACE (s3transfer: one CopyObject, or a
        # multipart copy above its threshold); the content encoding stays as stored.
        extra = {k: v for k, v in params.items() if v is not None}
        if stored.get("ContentEncoding"):
            extra["ContentEncoding"] = stored["ContentEncoding"]
        self._call(
            "replace metadata",
            self._name(key),
            self.client.copy,
            {"Bucket": self.bucket_name, "Key": key},
            self.bucket_name,
            key,
            ExtraArgs={**extra, "MetadataDirective": "REPLACE"},
            Config=self._transfer_config,
        )

    def _probe_root(self) -> Any:
        return self._s3("head_bucket", None)

    # -- leftovers of killed uploads (checkstorages) -----------------------------------------------
    def _prefix(self) -> str:
        """The key prefix of ``location`` ("" or ending in "/")."""
        key = self._key("", allow_root=True)
        return key.rstrip("/") + "/" if key else ""

    def _list_leftovers(self, older_than: dt.datetime) -> Iterator[Leftover]:
        """Multipart uploads below ``location`` started before ``older_than`` (S3 bills their
        parts until they are aborted)."""
        marker: dict[str, str] = {}
        while True:
            page = self._s3("list_multipart_uploads", None, Prefix=self._prefix(), **marker)
            for upload in page.get("Uploads", []):
                started = upload.get("Initiated")
                if started is None or started >= older_than:
                    continue
                key, upload_id = upload["Key"], upload["UploadId"]
                parts = self._s3("list_parts", key, Key=key, UploadId=upload_id).get("Parts", [])
                yield Leftover(
                    key=key,
                    started=started,
                    size=sum(p.get("Size", 0) for p in parts),
                    kind="multipart upload",
                    ref=upload_id,
                )
            if not page.get("IsTruncated"):
                return
            marker = {
                "KeyMarker": page.get("NextKeyMarker", ""),
                "UploadIdMarker": page.get("NextUploadIdMarker", ""),
            }

    def _remove_leftover(self, item: Leftover) -> None:
        try:
            self._s3("abort_multipart_upload", item.key, Key=item.key, UploadId=item.ref)
        except (FileNotFoundError, StorageError) as exc:
            if "NoSuchUpload" not in str(exc) and not isinstance(exc, FileNotFoundError):
                raise  # else already aborted or completed meanwhile

    def leftovers_policy(self) -> tuple[bool, str] | None:
        """Whether an enabled lifecycle rule covering ``location`` aborts incomplete multipart
        uploads (the lasting fix: S3 then removes leftovers by itself)."""
        try:
            rules = self._s3("get_bucket_lifecycle_configuration", None).get("Rules", [])
        except StorageError as exc:
            if "NoSuchLifecycleConfiguration" not in str(exc):
                raise
            rules = []
        prefix = self._prefix()
        for rule in rules:
            days = (rule.get("AbortIncompleteMultipartUpload") or {}).get("DaysAfterInitiation")
            scope = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", "")) or ""
            if rule.get("Status") == "Enabled" and days is not None and prefix.startswith(scope):
                return True, (
                    f"lifecycle rule {rule.get('ID') or '(no id)'!r} aborts incomplete multipart "
                    f"uploads after {days} day(s)"
                )
        return False, "no lifecycle rule of the bucket aborts incomplete multipart uploads"

    # -- 1.14's helpers that apps call -------------------------------------------
    def _normalize_name(self, name: str) -> str:
        """The object key of ``name`` (``location`` joined; names outside it are refused)."""
        return self._key(name, allow_root=True)

    _clean_name = staticmethod(naming.clean_name)

    # -- URLs --------------------------------------------------------------
    def _unsigned_url(self, key: str, params: dict[str, Any]) -> str:
        # Ask botocore once where keys live (endpoint, addressing style, region);
        # after that an unsigned URL is string work only.
        base = self._lazy(
            "_unsigned_base",
            lambda: (
                self._new_client(unsigned=True)
                .generate_presigned_url(
                    "get_object",
                    Params={"Bucket": self.bucket_name, "Key": "__key__"},
                    ExpiresIn=60,
                )
                .split("__key__")[0]
            ),
        )
        return join_url(base, key, params)

    def _url_client(self) -> Any:
        if self.public_endpoint_url:
            return self._lazy("_public_client", lambda: self._new_client(self.public_endpoint_url))
        return self.client

    def url(
        self,
        name: str,
        parameters: dict[str, Any] | None = None,
        expire: int | None = None,
        http_method: str | None = None,
    ) -> str:
        """A link to ``name`` (signed unless ``querystring_auth`` is off; ``http_method="PUT"``: a
        presigned upload); ``parameters`` are GetObject/PutObject ones. Makes no request."""
        key = self._key(name, allow_root=True)
        params = dict(parameters or {})
        # AWS_S3_SIGNED_URL_WINDOW: signed as of the window's start, so the URL is cacheable.
        method = (http_method or "GET").upper()
        when = signed_urls.expiry(
            self.querystring_expire if expire is None else expire,
            self.signed_url_window if method == "GET" else 0,  # upload URLs keep their lifetime
        )
        if self.custom_domain:
            url = join_url(f"{self.url_protocol}//{self.custom_domain}", key, params)
            if self.querystring_auth and self.cloudfront_signer:
                return self.cloudfront_signer.generate_presigned_url(url, date_less_than=when.until)
            return url
        if not self.querystring_auth and not http_method:
            return self._unsigned_url(key, params)
        with signed_urls.signing_time(when.start):
            return self._url_client().generate_presigned_url(
                "put_object" if method == "PUT" else "get_object",
                Params={"Bucket": self.bucket_name, "Key": key, **params},
                ExpiresIn=when.seconds,
                HttpMethod=method,
            )

    def cloudfront_cookies(
        self,
        pattern: str = "*",
        expire: int | None = None,
        starts: dt.datetime | None = None,
        ip_address: str | None = None,
    ) -> dict[str, str]:
        """CloudFront signed cookies (name -> value) that open every file matching ``pattern``
        (below ``location``; ``*`` wildcards) on ``AWS_S3_CUSTOM_DOMAIN`` for ``expire`` seconds
        (else ``AWS_QUERYSTRING_EXPIRE``, aligned to ``AWS_S3_SIGNED_URL_WINDOW``). See
        :mod:`storages.backends.s3.cloudfront`."""
        if not (self.custom_domain and self.cloudfront_signer):
            raise ImproperlyConfigured(
                "S3Storage: CloudFront signed cookies need AWS_S3_CUSTOM_DOMAIN (the CloudFront "
                "domain) and AWS_CLOUDFRONT_KEY_ID / AWS_CLOUDFRONT_KEY"
            )
        from storages.backends.s3 import cloudfront

        key = self._key(pattern, allow_root=True)
        resource = f"{self.url_protocol}//{self.custom_domain}/{key}"
        lifetime = self.querystring_expire if expire is None else expire
        until = signed_urls.expiry(lifetime, self.signed_url_window).until
        return cloudfront.signed_cookies(
            self.cloudfront_signer, resource, until, starts, ip_address
        )

    def generate_presigned_post(
        self,
        name: str,
        fields: dict[str, Any] | None = None,
        conditions: list[Any] | None = None,
        expire: int | None = None,
    ) -> dict[str, Any]:
        """A presigned POST (``{"url", "fields"}``) so a browser can upload ``name`` directly."""
        return self._url_client().generate_presigned_post(
            self.bucket_name,
            self._key(name),
            Fields=fields,
            Conditions=conditions,
            ExpiresIn=int(self.querystring_expire if expire is None else expire),
        )


def _code(exc: ClientError) -> str:
    return str(
        exc.response.get("Error", {}).get("Code")
        or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
    )


class S3File(RemoteFile):
    """A file in S3 (``S3Storage.open()`` returns one); ``buffer_size`` is the part size when
    writing (default: the storage's ``file_buffer_size``, AWS_S3_FILE_BUFFER_SIZE)."""

    def __init__(
        self, name: str, mode: str, storage: S3Storage, buffer_size: int | None = None
    ) -> None:
        self.buffer_size = buffer_size or int(storage.file_buffer_size)
        super().__init__(name, mode, storage)


S3Storage.file_class = S3File


@deconstructible
class S3StaticStorage(S3Storage):
    """For static files: unsigned, stable URLs."""

    querystring_auth = False


@deconstructible
class S3ManifestStaticStorage(ManifestFilesMixin, S3StaticStorage):
    """Static files with content-hashed names and a ``staticfiles.json`` manifest."""

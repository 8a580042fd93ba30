"""Google Cloud Storage via google-cloud-storage: uploads through the SDK's multipart or resumable
upload; ``Client`` and ``Blob`` are looked up here when used, so ``mock.patch`` of them works."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import http.client
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages import signed_urls
from storages.backends.gcloud import signing
from storages.backends.gcloud.legacy import GCS_LEGACY
from storages.base import BaseStorage, batches, common_settings, join_url
from storages.conf import Setting
from storages.errors import StorageError, StorageUnavailable, caused_by, sdk_required, translate
from storages.files import (
    CheckedBody,
    ObjectInfo,
    ReadResult,
    RemoteFile,
    UploadSpec,
    http_range,
    parse_time,
)
from storages.hashing import b64_to_hex
from storages.signed_urls import window_setting
from storages.transfer import FullReader, UploadSource, WriteBuffer

if TYPE_CHECKING:
    from storages.direct import TicketRequest, UploadTicket

with sdk_required("The Google Cloud Storage backend", "google-cloud-storage", "google"):
    import google.auth
    import requests
    import urllib3
    from google.api_core import exceptions as api_exceptions
    from google.api_core.retry import Retry
    from google.auth import exceptions as auth_exceptions
    from google.auth.credentials import AnonymousCredentials, with_scopes_if_required
    from google.auth.transport.requests import AuthorizedSession
    from google.cloud.storage import Blob, Client
try:
    from google.cloud.storage.exceptions import DataCorruption, InvalidResponse
except ImportError:  # pragma: no cover - google-cloud-storage 2.x
    from google.resumable_media import DataCorruption, InvalidResponse

logger = logging.getLogger(__name__)

__all__ = [
    "GoogleCloudStorage",
    "GoogleCloudFile",
    "Client",
    "Blob",
    "CONTENT_ENCODING",
    "CONTENT_TYPE",
]

#: Keys of ``object_parameters`` that old code imports by name.
CONTENT_ENCODING, CONTENT_TYPE = "content_encoding", "content_type"
#: Resumable upload chunks must be multiples of this (except the last one).
CHUNK_MULTIPLE = 256 * 1024
#: Known-size content up to this goes in one multipart request (the SDK's own limit).
SINGLE_REQUEST_LIMIT = 8 * 1024 * 1024
#: Resumable chunk: the SDK holds one in memory (twice, from a pipe); its own default, 100 MiB,
#: would not fit in 64 MB.
DEFAULT_CHUNK = SINGLE_REQUEST_LIMIT
BATCH_SIZE = 100  # deletes per batch request (the JSON API's limit)
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
BUCKET_HINT = 'set OPTIONS["bucket_name"] or GS_BUCKET_NAME'

# object_parameters keys that map onto Blob properties; "acl" is the predefined ACL.
OBJECT_PARAMETERS = frozenset(
    {"acl"}
    | {
        n
        for n, v in vars(Blob).items()
        if isinstance(v, property)
        and v.fset
        and n not in {"chunk_size", "crc32c", "md5_hash", "encryption_key"}
    }
)
_ERRORS: dict[str | int, type[BaseException]] = {
    404: FileNotFoundError,
    412: FileExistsError,
    401: PermissionError,
    403: PermissionError,
}
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_TRANSIENT = (
    ConnectionError,
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    urllib3.exceptions.TimeoutError,
    urllib3.exceptions.PoolError,
    http.client.HTTPException,
)
#: Operations whose 404 means the bucket is missing (not a file).
_BUCKET_OPS = {"upload", "list", "create bucket", "delete many", "copy"}


def _should_retry(exc: BaseException) -> bool:
    """The SDK's transient errors, except a refused connection (nothing listens: waiting won't
    help)."""
    if (
        isinstance(exc, auth_exceptions.TransportError)
        and exc.args
        and isinstance(exc.args[0], BaseException)
    ):
        return _should_retry(exc.args[0])
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return exc.code in _RETRY_STATUS
    if isinstance(exc, InvalidResponse):  # a resumable-upload chunk answered 5xx
        return getattr(exc.response, "status_code", None) in _RETRY_STATUS
    return isinstance(exc, _TRANSIENT) and not caused_by(exc, ConnectionRefusedError)


def retry_policy(deadline: float) -> Retry:
    """The retry policy of every call: backoff from 0.5 s, giving up after ``deadline`` seconds."""
    return Retry(
        predicate=_should_retry, initial=0.5, maximum=8.0, multiplier=2.0, deadline=deadline
    )


_SETTINGS = (
    Setting("bucket_name", ("GS_BUCKET_NAME",), None, doc="The bucket."),
    Setting(
        "project_id",
        ("GS_PROJECT_ID",),
        None,
        doc="Project; None: the credentials' (to create buckets).",
    ),
    Setting(
        "credentials",
        ("GS_CREDENTIALS",),
        None,
        secret=True,
        doc=(
            "google.auth credentials; None: Application Default Credentials "
            "(GOOGLE_APPLICATION_CREDENTIALS...)."
        ),
    ),
    Setting(
        "custom_endpoint",
        ("GS_CUSTOM_ENDPOINT",),
        None,
        doc="Base URL of url() links (CDN, bucket hostname).",
    ),
    Setting(
        "client_options",
        ("GS_CLIENT_OPTIONS",),
        None,
        secret=True,
        doc=(
            "Client client_options, e.g. {'api_endpoint': 'http://localhost:4443'} for an "
            "emulator (or STORAGE_EMULATOR_HOST). New."
        ),
    ),
    *common_settings(
        "GS_",
        overwrite=("file_overwrite", "GS_FILE_OVERWRITE", True),
        gzip_setting="GS_IS_GZIPPED",
        memory_setting="GS_MAX_MEMORY_SIZE",
    ),
    Setting(
        "default_acl",
        ("GS_DEFAULT_ACL",),
        None,
        doc=(
            "Predefined ACL of uploads; 'publicRead' makes url() unsigned (uniform-access buckets "
            "refuse ACLs)."
        ),
    ),
    Setting(
        "querystring_auth",
        ("GS_QUERYSTRING_AUTH",),
        True,
        doc="Sign URLs; False gives plain public URLs.",
    ),
    Setting(
        "expiration",
        ("GS_EXPIRATION",),
        lambda: dt.timedelta(days=1),
        doc="Signed URL lifetime: timedelta, datetime or seconds (at most 7 days).",
    ),
    window_setting("GS_SIGNED_URL_WINDOW"),
    Setting(
        "object_parameters",
        ("GS_OBJECT_PARAMETERS",),
        dict,
        doc="Blob properties of uploads (acl, "
        "cache_control, content_type, metadata...); per object: get_object_parameters().",
    ),
    Setting(
        "blob_chunk_size",
        ("GS_BLOB_CHUNK_SIZE",),
        None,
        doc="Resumable upload chunk, held in memory (a multiple of 256 KiB); None: 8 MiB. "
        "GS_WRITE_BUFFER wins when set.",
    ),
    Setting(
        "connect_timeout", ("GS_CONNECT_TIMEOUT",), 10, doc="Seconds to wait for a connection. New."
    ),
    Setting(
        "read_timeout",
        ("GS_READ_TIMEOUT",),
        20,
        doc=(
            "Seconds to wait for an answer or more bytes (a slow but steady transfer is never "
            "cut). New."
        ),
    ),
    Setting(
        "retry_deadline",
        ("GS_RETRY_DEADLINE",),
        25,
        doc=(
            "Seconds of retries of a failing request (429, 5xx, timeouts); a silent server fails "
            "in about read_timeout + retry_deadline (40 s by default). New."
        ),
    ),
    Setting(
        "iam_sign_blob",
        ("GS_IAM_SIGN_BLOB",),
        False,
        doc="Sign URLs through IAM SignBlob (no private key).",
    ),
    Setting(
        "sa_email",
        ("GS_SA_EMAIL",),
        None,
        doc="Service account that signs through IAM; None: the credentials'.",
    ),
    Setting("auto_create_bucket", (), False, doc="Create the bucket on first use (legacy)."),
    Setting("auto_create_acl", (), None, doc="Predefined ACL of an auto-created bucket (legacy)."),
    Setting("file_charset", (), None, doc="Accepted; no effect (legacy)."),
)


@deconstructible
class GoogleCloudStorage(BaseStorage):
    """Files in a Google Cloud Storage bucket."""

    public_read_setup = (
        'an IAM binding of "roles/storage.objectViewer" for "allUsers" on the bucket'
    )
    settings_table = _SETTINGS
    legacy_settings = GCS_LEGACY
    leftovers_note = (
        "nothing to list: an unfinished resumable upload keeps no object, and its session "
        "expires by itself after a week"
    )
    missing_times: ClassVar[dict[str, str]] = {
        "accessed": "Cloud Storage does not record access times"
    }
    upload_threshold = SINGLE_REQUEST_LIMIT
    endpoint_setting = 'GS_CLIENT_OPTIONS (OPTIONS["client_options"]) / STORAGE_EMULATOR_HOST'
    # Traits the system checks, checkstorages and copystorage read (see BaseStorage).
    credential_options = (("credentials",),)
    container_option = "bucket_name"
    cache_control_param = "cache_control"
    max_key_bytes = 1024
    unreachable_errors = _TRANSIENT + (urllib3.exceptions.HTTPError,)
    acl_parameter = "acl"
    # Keys of get_object_parameters(): Blob properties.
    object_parameter_keys = OBJECT_PARAMETERS

    _label = property(lambda self: type(self).__name__)

    def unsigned_url_option(self) -> str | None:
        return "querystring_auth" if self.querystring_auth is False else None

    def endpoint_urls(self) -> list[tuple[str, str]]:
        endpoint = getattr(self.client_options, "api_endpoint", None)  # a ClientOptions object
        return [("client_options", endpoint)] if isinstance(endpoint, str) else []

    def ambient_credentials(self) -> bool:
        """Whether Google's auth finds credentials by itself (or an emulator needs none)."""
        from storages.backends.gcloud.checks import ambient_credentials

        return ambient_credentials(self)

    def system_checks(self, alias: str) -> list[Any]:
        """Values GCS would refuse: endpoints, the predefined ACL, the bucket name."""
        from storages.backends.gcloud.checks import system_checks

        return system_checks(self, alias)

    def presigned_upload_url(
        self, name: str, expire: int = 600, content_type: str = "text/plain"
    ) -> tuple[str, dict[str, str]]:
        # The signed URL's lifetime is the storage's own expiration setting.
        return self.url(name, parameters={"method": "PUT", "content_type": content_type}), {}

    def direct_upload_ticket(self, request: TicketRequest) -> UploadTicket:
        """A browser's direct upload of ``request.name`` (see :mod:`storages.direct`)."""
        from storages.backends.gcloud import direct

        return direct.ticket(self, request)

    def configure(self) -> None:
        value = self.expiration
        if isinstance(value, str) and value.strip().isdigit() or type(value) in (int, float):
            value = self.expiration = dt.timedelta(seconds=float(value))
        if (
            not isinstance(value, (dt.timedelta, dt.datetime))
            or isinstance(value, dt.timedelta)
            and (value > dt.timedelta(days=7))
        ):
            raise ImproperlyConfigured(
                f'{self._label}: GS_EXPIRATION (OPTIONS["expiration"]) must be a timedelta, '
                f"a datetime or seconds, at most 7 days for V4 signed URLs (got {value!r})"
            )
        lifetime = value.total_seconds() if isinstance(value, dt.timedelta) else 0
        self.signed_url_window = signed_urls.check_window(
            self._label, "GS_SIGNED_URL_WINDOW", self.signed_url_window, lifetime
        )
        if self.signed_url_window:
            signing.install()
        size = self.blob_chunk_size
        if size is not None and (type(size) is not int or size <= 0 or size % CHUNK_MULTIPLE):
            raise ImproperlyConfigured(
                f'{self._label}: GS_BLOB_CHUNK_SIZE (OPTIONS["blob_chunk_size"]) must be a '
                f"positive multiple of 256 KiB ({CHUNK_MULTIPLE} bytes), got {size!r}"
            )
        self._require_positive("connect_timeout", "read_timeout", "retry_deadline")

    def _apply_write_buffer(self, config: WriteBuffer | None) -> WriteBuffer:
        """``write_buffer``'s part size is the resumable chunk (rounded up to 256 KiB), over
        GS_BLOB_CHUNK_SIZE; the SDK sends one chunk at a time. Content up to 8 MiB still goes in
        one request (held whole), so a write holds at least that."""
        part = config.part_size if config is not None else None
        if part is not None:
            part = -(-int(part) // CHUNK_MULTIPLE) * CHUNK_MULTIPLE
        self.upload_part_size = int(
            part or self.blob_chunk_size or self.default_write_buffer.part_size or DEFAULT_CHUNK
        )
        return WriteBuffer(
            part_size=max(self.upload_part_size, SINGLE_REQUEST_LIMIT), concurrency=1
        )

    def _require_positive(self, *options: str) -> None:
        """Refuse timeouts and deadlines that are not a positive number, naming where they are
        set."""
        for option in options:
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ImproperlyConfigured(
                    f"{type(self).__name__}: {self._setting_label(option)} must be a positive "
                    f"number, got {value!r}"
                )

    @property
    def _rpc(self) -> dict[str, Any]:  # timeouts and retry policy of every SDK call
        return {
            "timeout": (self.connect_timeout, self.read_timeout),
            "retry": retry_policy(self.retry_deadline),
        }

    # -- connection ------------------------------------------------------
    # Resolved once per storage: threads share one token.
    def _credentials(self) -> tuple[Any, str | None]:
        return self._lazy("_auth", self._resolve_credentials)

    def _resolve_credentials(self) -> tuple[Any, str | None]:
        project, credentials = self.project_id, self.credentials
        if credentials is None and os.environ.get("STORAGE_EMULATOR_HOST"):
            credentials = AnonymousCredentials()
        elif credentials is None:
            try:
                credentials, found = google.auth.default(scopes=SCOPES)
            except auth_exceptions.DefaultCredentialsError:
                # Client() looks again and raises (translated), unless a test patched it.
                return None, project
            project = project or found
        return with_scopes_if_required(credentials, SCOPES), project

    # This thread's (client, session, bucket): sessions aren't thread-safe.
    def _conn(self) -> tuple[Any, Any, Any]:
        return self._per_thread(self._connect)

    def _connect(self) -> tuple[Any, Any, Any]:
        if not self.bucket_name:
            raise ImproperlyConfigured(f"{self._label} needs a bucket: {BUCKET_HINT}.")
        credentials, project = self._credentials()
        session = (
            AuthorizedSession(credentials, refresh_timeout=self.read_timeout)
            if credentials
            else None
        )
        try:
            client = Client(
                project=project,
                credentials=credentials,
                _http=session,
                client_options=self.client_options,
            )
        except auth_exceptions.DefaultCredentialsError as exc:
            raise ImproperlyConfigured(
                f"{self._label} found no Google credentials: set GS_CREDENTIALS "
                '(OPTIONS["credentials"]) or GOOGLE_APPLICATION_CREDENTIALS, or run where '
                "Application Default Credentials exist"
            ) from exc
        # google-cloud-storage >= 3.10 fetches the bucket's metadata for tracing labels in a
        # background thread on each client's first call (a hidden GET). Same as
        # DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA=1.
        if getattr(client, "_bucket_metadata_cache", None) is not None:
            client._bucket_metadata_cache = None
        bucket = client.bucket(self.bucket_name)
        if self.auto_create_bucket:
            self._lazy("_bucket_checked", functools.partial(self._ensure_bucket, client, bucket))
        return client, session if session is not None else client._http, bucket

    @property
    def client(self) -> Any:
        """This thread's ``google.cloud.storage.Client``."""
        return self._conn()[0]

    @property
    def bucket(self) -> Any:
        """This thread's ``Bucket`` object (no request)."""
        return self._conn()[2]

    def _ensure_bucket(self, client: Any, bucket: Any) -> bool:
        if not self._call("bucket exists", None, bucket.exists, **self._rpc):
            if not client.project:
                raise ImproperlyConfigured(
                    f"{self._label}: GS_AUTO_CREATE_BUCKET needs a project: set GS_PROJECT_ID"
                )
            self._call(
                "create bucket",
                None,
                client.create_bucket,
                self.bucket_name,
                predefined_acl=self.auto_create_acl,
                **self._rpc,
            )
            logger.info("gcs: created bucket %s", self.bucket_name)
        return True

    def _api_endpoint(self) -> str:
        options = self.client_options
        get = options.get if isinstance(options, dict) else functools.partial(getattr, options)
        endpoint = (
            get("api_endpoint", None)
            or os.environ.get("STORAGE_EMULATOR_HOST")
            or os.environ.get("API_ENDPOINT_OVERRIDE")
            or f"https://storage.{get('universe_domain', None) or 'googleapis.com'}"
        )
        return (endpoint if "://" in endpoint else "http://" + endpoint).rstrip("/")

    _endpoint_label = _api_endpoint

    def _account(self) -> tuple[str, Any]:
        """Where and as whom this storage works: equal for two storages that can copy
        server-side."""
        creds = self._credentials()[0]
        return self._api_endpoint(), isinstance(creds, AnonymousCredentials) or getattr(
            creds, "service_account_email", None
        ) or creds

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        label = self._label
        if isinstance(exc, auth_exceptions.RefreshError):
            return PermissionError(
                13,
                f"{label} could not get an access token with its credentials (GS_CREDENTIALS"
                " / GOOGLE_APPLICATION_CREDENTIALS): the key may be revoked, deleted or expired",
                name,
            )
        if isinstance(exc, auth_exceptions.TransportError):
            return StorageUnavailable(
                f"{label} could not reach its credentials' token endpoint ({type(exc).__name__})"
                "; check GS_CREDENTIALS / GOOGLE_APPLICATION_CREDENTIALS and the network"
            )
        if isinstance(exc, api_exceptions.RetryError):
            return self._unavailable(
                exc.cause or exc,
                op,
                f"{self._api_endpoint()} before the retry deadline "
                f"(GS_RETRY_DEADLINE = {self.retry_deadline:g} s, GS_READ_TIMEOUT = "
                f"{self.read_timeout:g} s)",
            )
        if isinstance(exc, DataCorruption):
            return StorageError(f"{label}: {name!r} was corrupted in transit (checksum mismatch)")
        if not isinstance(exc, api_exceptions.GoogleAPICallError):
            return None
        if exc.code == 404 and (op in _BUCKET_OPS or name is None):
            return ImproperlyConfigured(
                f"{label}: the bucket {self.bucket_name!r} does not exist; {BUCKET_HINT}"
            )
        if exc.code == 400 and "uniform bucket-level access" in str(exc.message).lower():
            return ImproperlyConfigured(
                f"{label}: the bucket uses uniform bucket-level access, which rejects ACLs; "
                "remove GS_DEFAULT_ACL and 'acl' from GS_OBJECT_PARAMETERS"
            )
        found = translate(exc.code, _ERRORS, storage=self, name=name, detail=f"HTTP {exc.code}")
        return found or StorageError(f"{label}: HTTP {exc.code} on {name!r}: {exc.message}")

    # -- primitives --------------------------------------------------------
    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        """The SDK's multipart (known size up to 8 MiB) or resumable upload; create-only: generation
        0."""
        blob = Blob(spec.key, self.bucket, chunk_size=self.upload_part_size)
        for prop, value in {**spec.params, "content_encoding": spec.content_encoding}.items():
            if prop != "acl" and value is not None:
                setattr(blob, prop, value)
        options = {
            "content_type": spec.content_type,
            "predefined_acl": spec.params.get("acl"),
            "if_generation_match": 0 if spec.create_only else None,
            **self._rpc,
        }
        if source.path:
            return self._cancelling(
                spec.name, blob, blob.upload_from_filename, source.path, **options
            )
        # The SDK would send a short stream of unknown size resumably (2 requests): peek() finds its
        # size.
        source = source.peek(SINGLE_REQUEST_LIMIT)
        # It reads a resumable upload by tell() and full-size read()s, which a pipe needs help with.
        stream = source.fileobj if source.size is not None else FullReader(source.fileobj)
        self._cancelling(
            spec.name, blob, blob.upload_from_file, stream, size=source.size, **options
        )

    def _cancelling(self, name: str, blob: Any, upload: Any, *args: Any, **kwargs: Any) -> None:
        """``upload(...)``; if it fails or is aborted, the resumable session it opened is cancelled
        (a DELETE on its URI, as Google documents; else it stays open a week). The SDK's
        ResumableUpload comes from the private Blob._initiate_resumable_upload, wrapped on this blob
        only (test_gcloud.py checks it)."""
        opened: list[Any] = []
        if initiate := getattr(blob, "_initiate_resumable_upload", None):
            blob._initiate_resumable_upload = lambda *a, **k: (
                opened.append(initiate(*a, **k)) or opened[-1]
            )
        try:
            self._call("upload", name, upload, *args, **kwargs)
        except BaseException:
            for session, transport in (
                pair for pair in opened if pair[0].resumable_url and not pair[0].finished
            ):
                # Best effort: the server drops it within a week anyway.
                with contextlib.suppress(Exception):
                    self._call(
                        "cancel upload",
                        name,
                        transport.request,
                        "DELETE",
                        session.resumable_url,
                        timeout=self._rpc["timeout"],
                    )
            raise

    def _get_blob(self, key: str) -> Any:  # the object's Blob with its metadata, or None
        return self._call("get metadata", self._name(key), self.bucket.get_blob, key, **self._rpc)

    def _stored_parameters(self, key: str) -> dict[str, Any] | None:
        if (blob := self._get_blob(key)) is None:
            return None
        # Every writable Blob property reads back from the object's metadata, the ACL excepted.
        stored = {name: getattr(blob, name) for name in OBJECT_PARAMETERS if name != "acl"}
        stored["metadata"] = blob.metadata or {}
        return stored

    def _replace_parameters(self, key: str, params: dict[str, Any], stored: dict[str, Any]) -> None:
        blob = Blob(key, self.bucket)
        for prop, value in params.items():
            if prop != "acl":
                setattr(blob, prop, value)
        self._call("patch metadata", self._name(key), blob.patch, **self._rpc)
        if params.get("acl"):  # a predefined ACL is set on its own request
            self._call(
                "set acl",
                self._name(key),
                blob.acl.save_predefined,
                params["acl"],
                **self._rpc,
            )

    def _stat(self, key: str) -> ObjectInfo:
        if (blob := self._get_blob(key)) is None:
            raise FileNotFoundError(
                2, f"No such file in {self._label}: {self._name(key)!r}", self._name(key)
            )
        return _blob_info(blob)

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        # Accept-Encoding: gzip keeps gzip-encoded objects as stored (no decompressive transcoding):
        # sizes, ranges and checksums then match. Thread-safe: one session per thread.
        headers = {"Accept-Encoding": "gzip", **http_range(offset, end)}
        client, session, _ = self._conn()
        base = (getattr(client, "api_endpoint", None) or client._connection.API_BASE_URL).rstrip(
            "/"
        )
        bucket, obj = quote(self.bucket_name, safe=""), quote(key, safe="")
        url = f"{base}/download/storage/v1/b/{bucket}/o/{obj}?alt=media"
        rpc = self._rpc

        def get() -> Any:
            response = session.request(
                "GET", url, headers=headers, stream=True, timeout=rpc["timeout"]
            )
            if response.status_code not in (200, 206):
                response.close()
                raise api_exceptions.from_http_response(response)
            return response

        name = self._name(key)
        response = self._call("download", name, rpc["retry"](get))
        info, headers = _download_info(response, offset), response.headers
        length = headers.get("Content-Length")
        return ReadResult(
            CheckedBody(
                functools.partial(response.raw.read, decode_content=False),
                response.close,
                label=f"{self._label}: {name!r}",
                errors=(urllib3.exceptions.HTTPError, requests.RequestException, OSError),
                on_error=lambda exc: self._unavailable(exc, f"the download of {name!r}"),
            ),
            info,
            status=response.status_code,
            content_range=headers.get("Content-Range"),
            length=int(length) if length and length.isdigit() else None,
            # the hashes are of the stored bytes: a transcoded body can't be checked against them
            stored_bytes=headers.get("X-Goog-Stored-Content-Encoding", "identity")
            == (headers.get("Content-Encoding") or "identity"),
        )

    def _delete(self, key: str) -> None:
        self._call("delete", self._name(key), self.bucket.delete_blob, key, **self._rpc)

    def _delete_many(self, keys: list[str]) -> None:
        """Batches of 100 deletes; one that fails (a missing key, no batch endpoint) is redone one
        by one."""
        for part in batches(keys, BATCH_SIZE):
            if len(part) == 1 or not self._call("delete many", None, self._batch_delete, part):
                super()._delete_many(part)  # one by one

    def _batch_delete(self, keys: list[str]) -> bool:
        client, _, bucket = self._conn()
        try:
            with client.batch(raise_exception=True):
                for key in keys:
                    bucket.delete_blob(key, timeout=self._rpc["timeout"])
        # ValueError: not a batch reply (no batch endpoint).
        except (api_exceptions.NotFound, ValueError):
            return False
        return True

    def _pages(self, prefix: str, **options: Any) -> Iterator[Any]:
        found = self._call(
            "list",
            prefix,
            self.client.list_blobs,
            self.bucket_name,
            prefix=prefix or None,
            **self._rpc,
            **options,
        )
        return self._each("list", prefix, found.pages)

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        for page in self._pages(prefix, delimiter="/", fields="items(name),prefixes,nextPageToken"):
            yield list(getattr(page, "prefixes", ())), [blob.name for blob in page]

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        for page in self._pages(prefix):
            yield from ((blob.name, _blob_info(blob)) for blob in page)

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        """A server-side rewrite (same endpoint and account), then this storage's object
        parameters."""
        if (
            not isinstance(source, GoogleCloudStorage)
            or "acl" in spec.params
            or source._account() != self._account()
        ):
            return False
        target, origin, token = (
            Blob(spec.key, self.bucket),
            Blob(source_key, self.client.bucket(source.bucket_name)),
            0,
        )
        while token is not None:
            token, _, _ = self._call(
                "copy",
                spec.name,
                target.rewrite,
                origin,
                token=token or None,
                if_generation_match=0 if spec.create_only else None,
                **self._rpc,
            )
        if spec.params:
            for prop, value in spec.params.items():
                setattr(target, prop, value)
            self._call("copy", spec.name, target.patch, **self._rpc)
        return True

    def _root_exists(self) -> bool:
        try:
            return bool(self._call("bucket exists", None, self.bucket.exists, **self._rpc))
        except PermissionError:
            # Object-level access without storage.buckets.get: a listing answers instead.
            next(iter(self._list(self._key("", allow_root=True))), None)
            return True

    # -- URLs --------------------------------------------------------------
    def _public_base(self) -> str:
        if self.custom_endpoint:
            return ("" if "://" in str(self.custom_endpoint) else "https://") + str(
                self.custom_endpoint
            )
        if not self.bucket_name:
            raise ImproperlyConfigured(f"{self._label} needs a bucket: {BUCKET_HINT}.")
        return f"{self._api_endpoint()}/{self.bucket_name}"

    def url(self, name: str, parameters: dict[str, Any] | None = None) -> str:
        """A link (no request): public, or V4-signed with ``parameters`` for
        ``Blob.generate_signed_url``."""
        key = self._key(name, allow_root=True)
        if not parameters and (self.default_acl == "publicRead" or not self.querystring_auth):
            return join_url(self._public_base(), key)
        kwargs: dict[str, Any] = {"version": "v4", "expiration": self.expiration}
        pinned = contextlib.nullcontext()
        if self.signed_url_window and isinstance(self.expiration, dt.timedelta):
            # GS_SIGNED_URL_WINDOW: signed as of the window's start, so the URL is cacheable.
            when = signed_urls.expiry(self.expiration.total_seconds(), self.signed_url_window)
            kwargs["expiration"] = dt.timedelta(seconds=when.seconds)
            pinned = signed_urls.signing_time(when.start)
        kwargs.update(parameters or {})
        if self.custom_endpoint:
            kwargs = {"bucket_bound_hostname": self.custom_endpoint, "scheme": "https", **kwargs}
        if self.iam_sign_blob:
            kwargs.update(self._iam_params())
        try:
            with pinned:
                return self._call(
                    "sign url", name, Blob(key, self.bucket).generate_signed_url, **kwargs
                )
        except AttributeError as exc:
            raise ImproperlyConfigured(
                f"{self._label} can't sign URLs with these credentials (no private key): use "
                "a service-account key (GS_CREDENTIALS), GS_IAM_SIGN_BLOB = True (and "
                "GS_SA_EMAIL), or public URLs with GS_QUERYSTRING_AUTH = False"
            ) from exc

    def _iam_params(self) -> dict[str, Any]:
        credentials = self._credentials()[0]
        if credentials is None:
            raise ImproperlyConfigured(
                f"{self._label}: GS_IAM_SIGN_BLOB needs credentials: set GS_CREDENTIALS"
            )
        if not credentials.valid:  # the signing call needs a current token
            from google.auth.transport.requests import Request

            refresh = functools.partial(
                credentials.refresh, functools.partial(Request(), timeout=self.read_timeout)
            )
            self._call("refresh token", None, refresh)
        email = self.sa_email or getattr(credentials, "service_account_email", None)
        if not email or email == "default":
            raise ImproperlyConfigured(
                f"{self._label}: GS_IAM_SIGN_BLOB needs the service account's e-mail: set "
                'GS_SA_EMAIL (OPTIONS["sa_email"])'
            )
        return {"service_account_email": email, "access_token": credentials.token}


def _hashes(md5: str | None, crc32c: str | None) -> dict[str, str]:
    return {
        kind: value
        for kind, value in (("md5", b64_to_hex(md5)), ("crc32c", b64_to_hex(crc32c)))
        if value
    }


def _blob_info(blob: Any) -> ObjectInfo:
    return ObjectInfo(
        size=int(blob.size or 0),
        modified=blob.updated,
        created=blob.time_created,
        content_type=blob.content_type,
        content_encoding=blob.content_encoding,
        etag=blob.etag,
        hashes=_hashes(blob.md5_hash, blob.crc32c),
        extra={
            "generation": blob.generation,
            "metadata": blob.metadata or {},
            "cache_control": blob.cache_control,
        },
    )


def _download_info(response: Any, offset: int) -> ObjectInfo:
    headers = response.headers
    total = headers.get("Content-Range", "").rpartition("/")[2]
    size = (
        int(total)
        if total.isdigit()
        else int(headers.get("X-Goog-Stored-Content-Length") or 0)
        or (
            int(headers.get("Content-Length") or 0) + (offset if response.status_code == 206 else 0)
        )
    )
    encoding = headers.get("X-Goog-Stored-Content-Encoding") or headers.get("Content-Encoding")
    hashes = dict(
        part.strip().partition("=")[::2]
        for part in headers.get("X-Goog-Hash", "").split(",")
        if "=" in part
    )
    return ObjectInfo(
        size=size,
        modified=parse_time(headers.get("Last-Modified")),
        content_type=headers.get("Content-Type"),
        content_encoding=None if encoding in (None, "", "identity") else encoding,
        etag=(headers.get("ETag") or "").strip('"') or None,
        hashes=_hashes(hashes.get("md5"), hashes.get("crc32c")),
        extra={"generation": headers.get("X-Goog-Generation")},
    )


class GoogleCloudFile(RemoteFile):
    """A file in Google Cloud Storage: ``GoogleCloudFile(name, mode, storage)``, as ``open()`` makes
    it."""

    @property
    def blob(self) -> Any:
        """The object's ``Blob`` with its metadata (one request on first use; a new Blob if
        missing)."""
        if self.__dict__.get("_blob") is None:
            key = self._storage._key(self.name)
            self.__dict__["_blob"] = self._storage._get_blob(key) or Blob(key, self._storage.bucket)
        return self.__dict__["_blob"]

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_blob", None)
        return state


GoogleCloudStorage.file_class = GoogleCloudFile

"""Google Cloud Storage via google-cloud-storage.

Requests per operation: ``save()`` up to 8 MiB of known size is one multipart upload;
larger or unknown-size content is the SDK's resumable upload (one request to start it,
one per ``blob_chunk_size`` chunk; a failed chunk is retried by the SDK under the retry
policy). With overwrite off the upload carries ``ifGenerationMatch=0``. ``open()`` +
``read()`` is one GET (ranged GETs after ``seek()``, parallel ranges for large objects
read in order); ``exists()`` / ``size()`` / times one metadata GET; ``url()`` none
(signed locally, or through IAM SignBlob when ``iam_sign_blob`` is set).

``Client`` and ``Blob`` are looked up in this module when used, so
``mock.patch("storages.backends.gcloud.Client")`` in a project's tests takes effect.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import functools
import http.client
import logging
import os
import threading
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import BaseStorage, common_settings, join_url
from storages.conf import Setting
from storages.errors import StorageError, StorageUnavailable, caused_by, translate
from storages.files import ObjectInfo, ReadResult, RemoteFile, UploadSpec
from storages.hashing import b64_to_hex
from storages.legacy import GCS_LEGACY
from storages.transfer import COPY_CHUNK, UploadSource

try:
    import google.auth
    import google_crc32c
    import requests
    import urllib3
    from google.api_core import exceptions as api_exceptions
    from google.api_core.retry import Retry
    from google.auth import exceptions as auth_exceptions
    from google.auth.credentials import AnonymousCredentials, with_scopes_if_required
    from google.auth.transport.requests import AuthorizedSession
    from google.cloud.storage import Blob, Client
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured(
        "The Google Cloud Storage backend needs google-cloud-storage: pip install 'django-storages[google]'"
    ) from exc

try:
    from google.cloud.storage.exceptions import DataCorruption, InvalidResponse
except ImportError:  # pragma: no cover - google-cloud-storage 2.x
    from google.resumable_media import DataCorruption, InvalidResponse

logger = logging.getLogger(__name__)

__all__ = ["GoogleCloudStorage", "GoogleCloudFile", "Client", "Blob", "CONTENT_ENCODING", "CONTENT_TYPE"]

#: Keys of ``object_parameters`` that old code imports by name.
CONTENT_ENCODING = "content_encoding"
CONTENT_TYPE = "content_type"

MIB = 1024 * 1024
#: Resumable upload chunks must be multiples of this (except the last one).
CHUNK_MULTIPLE = 256 * 1024
#: Known-size content up to this goes in one multipart request (the SDK's own limit).
SINGLE_REQUEST_LIMIT = 8 * MIB
#: Resumable chunk: the SDK holds one in memory (twice, from a pipe); its own default, 100 MiB, would
#: not fit in 64 MB.
DEFAULT_CHUNK = 8 * MIB
#: Keys per batch request (the JSON API's limit).
BATCH_SIZE = 100
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
ENDPOINT_SETTING = 'GS_CLIENT_OPTIONS (OPTIONS["client_options"]) / STORAGE_EMULATOR_HOST'

# object_parameters keys that map onto Blob properties; "acl" is the predefined ACL.
_NOT_PARAMETERS = {"chunk_size", "crc32c", "md5_hash", "encryption_key"}
OBJECT_PARAMETERS = frozenset(
    {"acl"} | {
        n for n in dir(Blob)
        if isinstance(getattr(Blob, n, None), property) and getattr(Blob, n).fset and n not in _NOT_PARAMETERS
    }
)

_ERRORS: dict[str | int, type[BaseException]] = {404: FileNotFoundError, 412: FileExistsError,
                                                 401: PermissionError, 403: PermissionError}
_RETRY_STATUS = {408, 429, 500, 502, 503, 504}
_TRANSIENT = (ConnectionError, requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
              urllib3.exceptions.ProtocolError, urllib3.exceptions.TimeoutError, urllib3.exceptions.PoolError,
              http.client.HTTPException)
#: Operations whose 404 means the bucket is missing (not a file).
_BUCKET_OPS = {"upload", "list", "create bucket", "delete many", "copy"}


def _should_retry(exc: BaseException) -> bool:
    """The SDK's transient errors (408/429/5xx, dropped connections, timeouts), except a
    refused connection: nothing listens there, and waiting won't change that."""
    if isinstance(exc, auth_exceptions.TransportError) and exc.args and isinstance(exc.args[0], BaseException):
        return _should_retry(exc.args[0])
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return exc.code in _RETRY_STATUS
    if isinstance(exc, InvalidResponse):  # a resumable-upload chunk answered 5xx
        return getattr(exc.response, "status_code", None) in _RETRY_STATUS
    return isinstance(exc, _TRANSIENT) and not caused_by(exc, ConnectionRefusedError)


def retry_policy(deadline: float) -> Retry:
    """The retry policy of every call: backoff from 0.5 s, giving up after ``deadline`` seconds."""
    try:
        return Retry(predicate=_should_retry, initial=0.5, maximum=8.0, multiplier=2.0, timeout=deadline)
    except TypeError:  # pragma: no cover - google-api-core before "timeout" replaced "deadline"
        return Retry(predicate=_should_retry, initial=0.5, maximum=8.0, multiplier=2.0, deadline=deadline)


def _expiration(value: Any, label: str) -> dt.timedelta | dt.datetime:
    if isinstance(value, (dt.timedelta, dt.datetime)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.timedelta(seconds=value)
    if isinstance(value, str) and value.strip().isdigit():
        return dt.timedelta(seconds=int(value))
    raise ImproperlyConfigured(
        f"{label}: GS_EXPIRATION (OPTIONS[\"expiration\"]) must be a timedelta, a datetime or a "
        f"number of seconds, not {type(value).__name__}"
    )


_SETTINGS = (
    Setting("bucket_name", ("GS_BUCKET_NAME",), None, doc="The bucket."),
    Setting("project_id", ("GS_PROJECT_ID",), None,
            doc="Project; None: the credentials' project, if any (needed only to create buckets)."),
    Setting("credentials", ("GS_CREDENTIALS",), None, secret=True,
            doc="A google.auth credentials object; None: Application Default Credentials "
                "(GOOGLE_APPLICATION_CREDENTIALS, the metadata server...)."),
    Setting("custom_endpoint", ("GS_CUSTOM_ENDPOINT",), None,
            doc="Base URL of url() links (a CDN or bucket-bound hostname); signed URLs are signed for it."),
    Setting("client_options", ("GS_CLIENT_OPTIONS",), None, secret=True,
            doc="google.cloud.storage.Client client_options, e.g. {'api_endpoint': 'http://localhost:4443'} "
                "for an emulator (STORAGE_EMULATOR_HOST also works). New; may hold an api_key."),
    *common_settings("GS_", overwrite=("file_overwrite", "GS_FILE_OVERWRITE", True),
                     gzip_setting="GS_IS_GZIPPED", memory_setting="GS_MAX_MEMORY_SIZE"),
    Setting("default_acl", ("GS_DEFAULT_ACL",), None,
            doc="Predefined ACL of uploads (publicRead, projectPrivate...); 'publicRead' makes url() unsigned. "
                "Buckets with uniform access reject ACLs."),
    Setting("querystring_auth", ("GS_QUERYSTRING_AUTH",), True, doc="Sign URLs; False gives plain public URLs."),
    Setting("expiration", ("GS_EXPIRATION",), lambda: dt.timedelta(days=1),
            doc="Signed URL lifetime: timedelta, datetime or seconds (at most 7 days)."),
    Setting("object_parameters", ("GS_OBJECT_PARAMETERS",), dict,
            doc="Blob properties of uploads (acl, cache_control, content_disposition, content_encoding, "
                "content_language, content_type, metadata, storage_class...); per object via "
                "get_object_parameters()."),
    Setting("blob_chunk_size", ("GS_BLOB_CHUNK_SIZE",), None,
            doc="Resumable upload chunk, held in memory (a multiple of 256 KiB); None: 8 MiB."),
    Setting("connect_timeout", ("GS_CONNECT_TIMEOUT",), 10,
            doc="Seconds to wait for a connection to the endpoint. New."),
    Setting("read_timeout", ("GS_READ_TIMEOUT",), 20,
            doc="Seconds to wait for the server to answer or send more bytes (a slow but steady "
                "transfer is never cut). New."),
    Setting("retry_deadline", ("GS_RETRY_DEADLINE",), 25,
            doc="Seconds after which a failing request is no longer retried (429, 5xx, timeouts, dropped "
                "connections); a silent server fails within about read_timeout + retry_deadline. New."),
    Setting("iam_sign_blob", ("GS_IAM_SIGN_BLOB",), False,
            doc="Sign URLs through the IAM SignBlob API (no private key needed: Cloud Run, GKE...)."),
    Setting("sa_email", ("GS_SA_EMAIL",), None,
            doc="Service account that signs through IAM; None: the credentials' own account."),
    Setting("auto_create_bucket", (), False, doc="Create the bucket on first use (legacy)."),
    Setting("auto_create_acl", (), None, doc="Predefined ACL of an auto-created bucket (legacy)."),
    Setting("file_charset", (), None, doc="Accepted; no effect (legacy)."),
)


class _Conn:
    """One thread's client: requests sessions are not documented as thread-safe."""

    def __init__(self, client: Any, session: Any, bucket: Any) -> None:
        self.client, self.session, self.bucket = client, session, bucket


class _Body:
    """A streaming download body; checks the crc32c of a complete read when its last byte arrives."""

    def __init__(self, storage: GoogleCloudStorage, name: str, response: Any, expected: str | None,
                 length: int | None) -> None:
        self.storage, self.name, self.response, self.raw = storage, name, response, response.raw
        self.expected = expected if length is not None else None
        self.remaining = length
        self.crc = google_crc32c.Checksum() if self.expected else None

    def read(self, n: int = -1) -> bytes:
        try:
            data = self.raw.read(None if n is None or n < 0 else n, decode_content=False)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise self.storage._unavailable(exc, f"the download of {self.name!r}") from exc
        if self.crc is not None and data:
            self.crc.update(data)
            self.remaining -= len(data)
            if self.remaining <= 0:
                got, self.crc = base64.b64encode(self.crc.digest()).decode(), None
                if got != self.expected:
                    raise StorageError(f"{self.storage._label}: {self.name!r} arrived corrupted (crc32c {got}, "
                                       f"the server reports {self.expected}); read it again")
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.response.close()


class _OneWay:
    """A non-seekable source as the SDK's resumable upload reads it: ``tell()`` counts, and
    ``read(n)`` returns ``n`` bytes unless the content ended (a short read means the end)."""

    def __init__(self, raw: Any) -> None:
        self.raw, self.pos = raw, 0

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        parts, want = [], n
        while want:
            data = self.raw.read(min(want, COPY_CHUNK) if want > 0 else COPY_CHUNK)
            if not data:
                break
            parts.append(data)
            want -= len(data)
        data = b"".join(parts)
        self.pos += len(data)
        return data


@deconstructible
class GoogleCloudStorage(BaseStorage):
    """Files in a Google Cloud Storage bucket."""

    settings_table = _SETTINGS
    legacy_settings = GCS_LEGACY
    transient_attributes = ("_local", "_auth", "_bucket_checked", "_no_batch")
    missing_times: ClassVar[dict[str, str]] = {"accessed": "Cloud Storage does not record access times"}
    upload_threshold = SINGLE_REQUEST_LIMIT
    endpoint_setting = ENDPOINT_SETTING
    max_key_bytes = 1024

    @property
    def _label(self) -> str:
        return type(self).__name__

    def configure(self) -> None:
        self.expiration = _expiration(self.expiration, self._label)
        if isinstance(self.expiration, dt.timedelta) and self.expiration > dt.timedelta(days=7):
            raise ImproperlyConfigured(
                f"{self._label}: GS_EXPIRATION (OPTIONS[\"expiration\"]) can be at most 7 days for "
                f"V4 signed URLs (got {self.expiration})"
            )
        size = self.blob_chunk_size
        if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size <= 0
                                 or size % CHUNK_MULTIPLE):
            raise ImproperlyConfigured(
                f"{self._label}: GS_BLOB_CHUNK_SIZE (OPTIONS[\"blob_chunk_size\"]) must be a positive "
                f"multiple of 256 KiB ({CHUNK_MULTIPLE} bytes), got {size!r}"
            )
        self.upload_part_size = int(size or DEFAULT_CHUNK)
        for option in ("connect_timeout", "read_timeout", "retry_deadline"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ImproperlyConfigured(f"{self._label}: {self._setting_label(option)} must be a positive "
                                           f"number of seconds, got {value!r}")
        _check_parameters(self.object_parameters or {}, "GS_OBJECT_PARAMETERS", self._label)

    @property
    def _timeout(self) -> tuple[float, float]:
        return (self.connect_timeout, self.read_timeout)

    @property
    def _retry(self) -> Retry:
        return retry_policy(self.retry_deadline)

    # -- connection ------------------------------------------------------
    def _credentials(self) -> tuple[Any, str | None]:
        """The credentials and project, resolved once per storage (threads share one token)."""
        return self._lazy("_auth", self._resolve_credentials)

    def _resolve_credentials(self) -> tuple[Any, str | None]:
        project, credentials = self.project_id, self.credentials
        if credentials is None:
            if os.environ.get("STORAGE_EMULATOR_HOST"):
                credentials = AnonymousCredentials()
            else:
                try:
                    credentials, found = google.auth.default(scopes=SCOPES)
                except auth_exceptions.DefaultCredentialsError:
                    # Client() looks again and raises (translated below), unless a test patched it.
                    return None, project
                project = project or found
        return with_scopes_if_required(credentials, SCOPES), project

    def _conn(self) -> _Conn:
        local = self._lazy("_local", threading.local)
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = self._connect()
        return conn

    def _connect(self) -> _Conn:
        if not self.bucket_name:
            raise ImproperlyConfigured(f"{self._label} needs a bucket: set OPTIONS[\"bucket_name\"] or GS_BUCKET_NAME.")
        credentials, project = self._credentials()
        session = AuthorizedSession(credentials, refresh_timeout=self.read_timeout) if credentials else None
        try:
            client = Client(project=project, credentials=credentials, _http=session,
                            client_options=self.client_options)
        except auth_exceptions.DefaultCredentialsError as exc:
            raise ImproperlyConfigured(
                f"{self._label} found no Google credentials: set GS_CREDENTIALS (OPTIONS[\"credentials\"]) or "
                "GOOGLE_APPLICATION_CREDENTIALS, or run where Application Default Credentials exist"
            ) from exc
        # google-cloud-storage >= 3.10 fetches the bucket's metadata for tracing labels in a
        # background thread on each client's first call (one hidden GET per client). Same as
        # DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA=1.
        if getattr(client, "_bucket_metadata_cache", None) is not None:
            client._bucket_metadata_cache = None
        bucket = client.bucket(self.bucket_name)
        if self.auto_create_bucket:
            self._lazy("_bucket_checked", functools.partial(self._ensure_bucket, client, bucket))
        return _Conn(client, session if session is not None else client._http, bucket)

    @property
    def client(self) -> Any:
        """This thread's ``google.cloud.storage.Client``."""
        return self._conn().client

    @property
    def bucket(self) -> Any:
        """This thread's ``Bucket`` object (no request)."""
        return self._conn().bucket

    @property
    def _session(self) -> Any:
        return self._conn().session

    def _ensure_bucket(self, client: Any, bucket: Any) -> bool:
        if self._call("bucket exists", None, bucket.exists, timeout=self._timeout, retry=self._retry):
            return True
        if not client.project:
            raise ImproperlyConfigured(f"{self._label}: GS_AUTO_CREATE_BUCKET needs a project: set GS_PROJECT_ID "
                                       "(OPTIONS[\"project_id\"])")
        self._call("create bucket", None, client.create_bucket, self.bucket_name,
                   predefined_acl=self.auto_create_acl, timeout=self._timeout, retry=self._retry)
        logger.info("gcs: created bucket %s", self.bucket_name)
        return True

    def _api_endpoint(self) -> str:
        options = self.client_options
        get = options.get if isinstance(options, dict) else functools.partial(getattr, options)
        endpoint = get("api_endpoint", None) or os.environ.get("STORAGE_EMULATOR_HOST")
        if not endpoint:
            domain = get("universe_domain", None) or "googleapis.com"
            endpoint = os.environ.get("API_ENDPOINT_OVERRIDE") or f"https://storage.{domain}"
        return (endpoint if "://" in endpoint else "http://" + endpoint).rstrip("/")

    def _endpoint_label(self) -> str:
        return self._api_endpoint()

    def _account(self) -> tuple[str, Any]:
        """Where and as whom this storage works: equal for two storages that can copy server-side."""
        credentials = self._credentials()[0]
        who = "anonymous" if isinstance(credentials, AnonymousCredentials) else (
            getattr(credentials, "service_account_email", None) or credentials)
        return self._api_endpoint(), who

    # -- errors ------------------------------------------------------------
    def _translate_error(self, exc: BaseException, name: str | None, op: str) -> BaseException | None:
        if isinstance(exc, (FileNotFoundError, FileExistsError, PermissionError)):
            return None
        if isinstance(exc, auth_exceptions.RefreshError):
            return PermissionError(13, f"{self._label} could not get an access token with its credentials "
                                   "(GS_CREDENTIALS / GOOGLE_APPLICATION_CREDENTIALS): the key may be revoked, "
                                   "deleted or expired", name)
        if isinstance(exc, auth_exceptions.DefaultCredentialsError):
            return ImproperlyConfigured(f"{self._label} found no usable credentials: set GS_CREDENTIALS")
        if isinstance(exc, auth_exceptions.TransportError):
            return StorageUnavailable(f"{self._label} could not reach the token endpoint of its credentials "
                                      f"({type(exc).__name__}); check GS_CREDENTIALS / "
                                      "GOOGLE_APPLICATION_CREDENTIALS and the network")
        if isinstance(exc, api_exceptions.RetryError):
            where = (f"{self._api_endpoint()} before the retry deadline (GS_RETRY_DEADLINE = "
                     f"{self.retry_deadline:g} s, GS_READ_TIMEOUT = {self.read_timeout:g} s)")
            return self._unavailable(exc.cause or exc, op, where)
        if isinstance(exc, _TRANSIENT + (urllib3.exceptions.HTTPError,)):
            return self._unavailable(exc, op)
        if isinstance(exc, DataCorruption):
            return StorageError(f"{self._label}: {name!r} was corrupted in transit (checksum mismatch)")
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            code = exc.code
            if code == 404 and (op in _BUCKET_OPS or name is None):
                return ImproperlyConfigured(f"{self._label}: the bucket {self.bucket_name!r} does not exist; check "
                                            "OPTIONS[\"bucket_name\"] or GS_BUCKET_NAME")
            if code == 400 and "uniform bucket-level access" in str(exc.message).lower():
                return ImproperlyConfigured(f"{self._label}: the bucket uses uniform bucket-level access, which "
                                            "rejects ACLs; remove GS_DEFAULT_ACL and 'acl' from GS_OBJECT_PARAMETERS")
            found = translate(code, _ERRORS, storage=self, name=name, detail=f"HTTP {code}")
            return found or StorageError(f"{self._label}: HTTP {code} on {name!r}: {exc.message}")
        return None

    # -- primitives --------------------------------------------------------
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """Blob properties for the upload of ``name``: override to vary them per object."""
        return dict(self.object_parameters or {})

    def _prepare_upload(self, spec: UploadSpec) -> None:
        params = self.get_object_parameters(spec.name)
        _check_parameters(params, "get_object_parameters()", self._label)
        if self.default_acl and "acl" not in params:
            params["acl"] = self.default_acl
        spec.content_type = params.pop("content_type", None) or spec.content_type
        spec.content_encoding = params.pop("content_encoding", None) or spec.content_encoding
        spec.params = params

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        """The SDK's upload: multipart up to 8 MiB of known size, else resumable in chunks
        that the retry policy resends; ``ifGenerationMatch=0`` makes create-only atomic."""
        blob = Blob(spec.key, self.bucket, chunk_size=self.upload_part_size)
        for prop, value in spec.params.items():
            if prop != "acl":
                setattr(blob, prop, value)
        if spec.content_encoding:
            blob.content_encoding = spec.content_encoding
        options = {"content_type": spec.content_type, "predefined_acl": spec.params.get("acl"),
                   "if_generation_match": 0 if spec.create_only else None, "timeout": self._timeout,
                   "retry": self._retry}
        if source.path:
            self._call("upload", spec.name, blob.upload_from_filename, source.path, **options)
            return
        # The SDK reads a resumable upload by tell() and full-size read()s: a pipe needs help.
        stream = source.fileobj if source.seekable and source.size is not None else _OneWay(source.fileobj)
        self._call("upload", spec.name, blob.upload_from_file, stream, size=source.size, **options)

    def _stat(self, key: str) -> ObjectInfo:
        name = self._name(key)
        blob = self._call("get metadata", name, self.bucket.get_blob, key, timeout=self._timeout, retry=self._retry)
        if blob is None:
            raise FileNotFoundError(2, f"No such file in {self._label}: {name!r}", name)
        return _blob_info(blob)

    def _media_url(self, key: str) -> str:
        client = self.client
        endpoint = getattr(client, "api_endpoint", None) or client._connection.API_BASE_URL
        bucket, key = quote(self.bucket_name, safe=""), quote(key, safe="")
        return f"{endpoint.rstrip('/')}/download/storage/v1/b/{bucket}/o/{key}?alt=media"

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        # Accept-Encoding: gzip keeps gzip-encoded objects as stored (no decompressive
        # transcoding): sizes, ranges and checksums then match. Thread-safe: one session per thread.
        headers = {"Accept-Encoding": "gzip"}
        if offset or end is not None:
            headers["Range"] = f"bytes={offset}-{'' if end is None else end - 1}"
        url, session, timeout = self._media_url(key), self._session, self._timeout

        def get() -> Any:
            response = session.request("GET", url, headers=headers, stream=True, timeout=timeout)
            if response.status_code in (200, 206):
                return response
            error = api_exceptions.from_http_response(response)
            response.close()
            raise error

        name = self._name(key)
        response = self._call("download", name, self._retry(get))
        info = _download_info(response, offset)
        served = response.headers.get("Content-Encoding") or "identity"
        stored = response.headers.get("X-Goog-Stored-Content-Encoding") or served
        # The hash is of the stored bytes: comparable only for a whole, untranscoded body.
        whole = response.status_code == 200 and served == stored
        expected = _hash(response.headers.get("X-Goog-Hash", ""), "crc32c") if whole else None
        return ReadResult(_Body(self, name, response, expected, info.size), info)

    def _delete(self, key: str) -> None:
        try:
            self._call("delete", self._name(key), self.bucket.delete_blob, key, timeout=self._timeout,
                       retry=self._retry)
        except FileNotFoundError:
            pass

    def _delete_many(self, keys: list[str]) -> None:
        """Batches of 100 deletes in one request each. A batch that reports an error (a missing
        key, or a server without the batch endpoint, like fake-gcs-server) is redone one by one."""
        for start in range(0, len(keys), BATCH_SIZE):
            part = keys[start:start + BATCH_SIZE]
            if self.__dict__.get("_no_batch") or not self._call("delete many", None, self._batch_delete, part):
                for key in part:
                    self._delete(key)

    def _batch_delete(self, keys: list[str]) -> bool:
        client, bucket = self.client, self.bucket
        try:
            with client.batch(raise_exception=True):
                for key in keys:
                    bucket.delete_blob(key, timeout=self._timeout)
        except api_exceptions.NotFound:
            return False
        except ValueError:  # the reply was not a multipart batch reply: no batch endpoint
            logger.debug("gcs: %s has no batch endpoint; deleting one by one", self._api_endpoint())
            self._no_batch = True
            return False
        return True

    def _pages(self, prefix: str, **options: Any) -> Iterator[Any]:
        iterator = self._call("list", prefix, self.client.list_blobs, self.bucket_name, prefix=prefix or None,
                              timeout=self._timeout, retry=self._retry, **options)
        pages = iter(iterator.pages)
        while (page := self._call("list", prefix, next, pages, None)) is not None:
            yield page

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        for page in self._pages(prefix, delimiter="/", fields="items(name),prefixes,nextPageToken"):
            names = [blob.name for blob in page]
            yield list(getattr(page, "prefixes", ())), names

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        for page in self._pages(prefix):
            for blob in page:
                yield blob.name, _blob_info(blob)

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        """A server-side rewrite when ``source`` is a GCS storage on the same endpoint with the same
        account; it keeps the object's stored metadata, then applies this storage's object parameters."""
        if not isinstance(source, GoogleCloudStorage) or "acl" in spec.params or source._account() != self._account():
            return False
        target = Blob(spec.key, self.bucket)
        origin = Blob(source_key, self.client.bucket(source.bucket_name))
        token = None
        while True:
            token, _, _ = self._call("copy", spec.name, target.rewrite, origin, token=token, timeout=self._timeout,
                                     if_generation_match=0 if spec.create_only else None, retry=self._retry)
            if token is None:
                break
        if spec.params:
            for prop, value in spec.params.items():
                setattr(target, prop, value)
            self._call("copy", spec.name, target.patch, timeout=self._timeout, retry=self._retry)
        return True

    def _root_exists(self) -> bool:
        try:
            return bool(self._call("bucket exists", None, self.bucket.exists, timeout=self._timeout,
                                   retry=self._retry))
        except PermissionError:
            # Object-level access without storage.buckets.get: a listing answers instead.
            for _ in self._list(self._key("", allow_root=True)):
                break
            return True

    # -- URLs --------------------------------------------------------------
    def _public_base(self) -> str:
        if self.custom_endpoint:
            base = str(self.custom_endpoint)
            return base if "://" in base else "https://" + base
        if not self.bucket_name:
            raise ImproperlyConfigured(f"{self._label} needs a bucket: set OPTIONS[\"bucket_name\"] or GS_BUCKET_NAME.")
        return f"{self._api_endpoint()}/{self.bucket_name}"

    def url(self, name: str, parameters: dict[str, Any] | None = None) -> str:
        """A link to ``name``. Makes no request.

        Public (unsigned) when ``default_acl`` is ``publicRead`` or ``querystring_auth`` is
        off; otherwise a V4 signed URL valid for ``expiration``. ``parameters`` go to
        ``Blob.generate_signed_url`` (``method="PUT"`` gives an upload URL,
        ``response_disposition``...) and always give a signed URL.
        """
        key = self._key(name, allow_root=True)
        params = dict(parameters or {})
        if not params and (self.default_acl == "publicRead" or not self.querystring_auth):
            return join_url(self._public_base(), key)
        kwargs: dict[str, Any] = {"version": "v4", "expiration": self.expiration, **params}
        if self.custom_endpoint:
            kwargs.setdefault("bucket_bound_hostname", self.custom_endpoint)
            kwargs.setdefault("scheme", "https")
        if self.iam_sign_blob:
            kwargs.update(self._iam_params())
        try:
            return self._call("sign url", name, Blob(key, self.bucket).generate_signed_url, **kwargs)
        except AttributeError as exc:
            raise ImproperlyConfigured(
                f"{self._label} can't sign URLs with these credentials (they hold no private key): use a "
                "service-account key (GS_CREDENTIALS), set GS_IAM_SIGN_BLOB = True (and GS_SA_EMAIL), or make "
                "URLs public with GS_QUERYSTRING_AUTH = False"
            ) from exc

    def _iam_params(self) -> dict[str, Any]:
        credentials, _ = self._credentials()
        if credentials is None:
            raise ImproperlyConfigured(f"{self._label}: GS_IAM_SIGN_BLOB needs credentials: set GS_CREDENTIALS")
        if not credentials.valid:
            from google.auth.transport.requests import Request

            with self._lock:
                if not credentials.valid:
                    request = functools.partial(Request(), timeout=self._timeout)
                    self._call("refresh token", None, credentials.refresh, request)
        email = self.sa_email or getattr(credentials, "service_account_email", None)
        if not email or email == "default":
            raise ImproperlyConfigured(f"{self._label}: GS_IAM_SIGN_BLOB needs the service account's e-mail: set "
                                       "GS_SA_EMAIL (OPTIONS[\"sa_email\"])")
        return {"service_account_email": email, "access_token": credentials.token}


def _check_parameters(params: dict[str, Any], where: str, label: str) -> None:
    unknown = sorted(set(params) - OBJECT_PARAMETERS)
    if unknown:
        raise ImproperlyConfigured(f"{label}: {where} has unknown key(s) {', '.join(map(repr, unknown))}; valid "
                                   f"keys are {', '.join(sorted(OBJECT_PARAMETERS))}")


def _hash(header: str, kind: str) -> str | None:
    for part in header.split(","):
        label, _, value = part.strip().partition("=")
        if label == kind and value:
            return value
    return None


def _hashes(md5: str | None, crc32c: str | None) -> dict[str, str]:
    """Provider hashes as :mod:`storages.hashing` wants them (lowercase hex)."""
    found = {"md5": b64_to_hex(md5), "crc32c": b64_to_hex(crc32c)}
    return {kind: value for kind, value in found.items() if value}


def _blob_info(blob: Any) -> ObjectInfo:
    return ObjectInfo(
        size=int(blob.size or 0), modified=blob.updated, created=blob.time_created, content_type=blob.content_type,
        content_encoding=blob.content_encoding, etag=blob.etag, hashes=_hashes(blob.md5_hash, blob.crc32c),
        extra={"generation": blob.generation, "metadata": blob.metadata or {}, "cache_control": blob.cache_control},
    )


def _download_info(response: Any, offset: int) -> ObjectInfo:
    headers = response.headers
    size: int | None = None
    content_range = headers.get("Content-Range", "")
    if "/" in content_range and not content_range.endswith("/*"):
        size = int(content_range.rsplit("/", 1)[1])
    elif headers.get("X-Goog-Stored-Content-Length"):
        size = int(headers["X-Goog-Stored-Content-Length"])
    elif headers.get("Content-Length") is not None:
        size = int(headers["Content-Length"]) + (offset if response.status_code == 206 else 0)
    try:
        modified = email.utils.parsedate_to_datetime(headers["Last-Modified"])
    except (KeyError, TypeError, ValueError):
        modified = None
    encoding = headers.get("X-Goog-Stored-Content-Encoding") or headers.get("Content-Encoding")
    hash_header = headers.get("X-Goog-Hash", "")
    return ObjectInfo(
        size=size or 0, modified=modified, content_type=headers.get("Content-Type"),
        content_encoding=None if encoding in (None, "", "identity") else encoding,
        etag=(headers.get("ETag") or "").strip('"') or None,
        hashes=_hashes(_hash(hash_header, "md5"), _hash(hash_header, "crc32c")),
        extra={"generation": headers.get("X-Goog-Generation")},
    )


class GoogleCloudFile(RemoteFile):
    """A file in Google Cloud Storage (``GoogleCloudStorage.open()`` returns one)."""

    def __init__(self, name: str, mode: str, storage: GoogleCloudStorage) -> None:
        super().__init__(name, mode, storage)

    @property
    def blob(self) -> Any:
        """The object's ``Blob`` with its metadata (one request on first use; a new Blob if missing)."""
        blob = self.__dict__.get("_blob")
        if blob is None:
            st = self._storage
            key = st._key(self.name)
            blob = st._call("get metadata", self.name, st.bucket.get_blob, key, timeout=st._timeout,
                            retry=st._retry) or Blob(key, st.bucket)
            self.__dict__["_blob"] = blob
        return blob

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_blob", None)
        return state


GoogleCloudStorage.file_class = GoogleCloudFile

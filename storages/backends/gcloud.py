"""Google Cloud Storage via google-cloud-storage.

Requests per operation: ``save()`` one multipart upload up to 8 MiB, above
that a resumable upload (one request to start it, one per ``blob_chunk_size``
chunk); with overwrite off the upload carries ``ifGenerationMatch=0`` (plus
the GET of Django's name check). ``open()`` + ``read()`` one GET (ranged GETs
after ``seek()``); ``exists()`` / ``size()`` / times one GET of the object's
metadata; ``url()`` none (public URLs are string work, signed URLs are signed
locally, or through IAM SignBlob when ``iam_sign_blob`` is set).
"""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import io
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import quote

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import BaseStorage, common_settings, join_url
from storages.conf import Legacy, Setting
from storages.errors import StorageError, StorageUnavailable, translate
from storages.files import ChunkedUpload, ObjectInfo, ReadResult, RemoteFile, UploadSpec

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
    from google.cloud import storage as gcs
    from google.cloud.storage.blob import Blob
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured(
        "The Google Cloud Storage backend needs google-cloud-storage: pip install 'django-storages[google]'"
    ) from exc

try:
    from google.cloud.storage.exceptions import DataCorruption
except ImportError:  # pragma: no cover - google-cloud-storage < 3
    from google.resumable_media.common import DataCorruption

logger = logging.getLogger(__name__)

__all__ = ["GoogleCloudStorage", "GoogleCloudFile", "CONTENT_ENCODING", "CONTENT_TYPE"]

#: Keys of ``object_parameters`` that old code imports by name.
CONTENT_ENCODING = "content_encoding"
CONTENT_TYPE = "content_type"

KIB = 1024
MIB = 1024 * KIB
#: Resumable upload chunks must be multiples of this (except the last one).
CHUNK_MULTIPLE = 256 * KIB
#: Objects up to this size go in one multipart request (the SDK's own limit,
#: and the only upload type whose ifGenerationMatch every server honours).
SINGLE_REQUEST_LIMIT = 8 * MIB
DEFAULT_CHUNK = 8 * MIB
#: (connect, read) seconds for every request.
TIMEOUT = (10, 60)
#: Total time spent retrying one call (429/5xx, dropped connections).
RETRY_BUDGET = 30.0
SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)

# object_parameters keys that map onto Blob properties; "acl" is the predefined ACL.
_NOT_PARAMETERS = {"chunk_size", "crc32c", "md5_hash", "encryption_key"}
OBJECT_PARAMETERS = frozenset(
    {"acl"} | {
        n for n in dir(Blob)
        if isinstance(getattr(Blob, n, None), property) and getattr(Blob, n).fset and n not in _NOT_PARAMETERS
    }
)

_ERRORS: dict[str | int, type[BaseException]] = {
    404: FileNotFoundError,
    412: FileExistsError,
    401: PermissionError,
    403: PermissionError,
}


def _connection_refused(exc: BaseException) -> bool:
    """True when nothing listens at the endpoint (retrying won't help within seconds)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, ConnectionRefusedError):
            return True
        if isinstance(item, BaseException):
            todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False


def _should_retry(exc: BaseException) -> bool:
    if isinstance(exc, (api_exceptions.TooManyRequests, api_exceptions.InternalServerError,
                        api_exceptions.BadGateway, api_exceptions.ServiceUnavailable,
                        api_exceptions.GatewayTimeout)):
        return True
    if isinstance(exc, auth_exceptions.TransportError):
        return bool(exc.args) and isinstance(exc.args[0], BaseException) and _should_retry(exc.args[0])
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                        urllib3.exceptions.ProtocolError, ConnectionError)):
        return not _connection_refused(exc)
    return False


try:
    RETRY = Retry(predicate=_should_retry, initial=0.5, maximum=8.0, multiplier=2.0, timeout=RETRY_BUDGET)
except TypeError:  # pragma: no cover - google-api-core before "timeout" replaced "deadline"
    RETRY = Retry(predicate=_should_retry, initial=0.5, maximum=8.0, multiplier=2.0, deadline=RETRY_BUDGET)


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


_LEGACY = (
    Legacy(("GS_AUTO_CREATE_BUCKET",), "auto_create_bucket", bool,
           "create the bucket once, outside Django (gcloud storage buckets create gs://NAME)"),
    Legacy(("GS_AUTO_CREATE_ACL",), "auto_create_acl", lambda v: v,
           "create the bucket with its ACL outside Django"),
    Legacy(("GS_CACHE_CONTROL",), "object_parameters", lambda v: {"cache_control": v} if v else {},
           "write GS_OBJECT_PARAMETERS = {'cache_control': '...'}", merge=True),
    Legacy(("GS_FILE_CHARSET",), "file_charset", lambda v: v, "remove GS_FILE_CHARSET: it has no effect"),
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
            doc="Resumable upload chunk (a multiple of 256 KiB); None: 8 MiB."),
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
        self.client = client
        self.session = session
        self.bucket = bucket


class _Body:
    """A streaming download body; checks the crc32c of a complete read when its last byte arrives."""

    def __init__(self, storage: GoogleCloudStorage, name: str, response: Any, expected: str | None,
                 length: int | None) -> None:
        self.label = storage._label
        self.name = name
        self.response = response
        self.raw = response.raw
        self.expected = expected if length is not None else None
        self.remaining = length
        self.crc = google_crc32c.Checksum() if self.expected else None

    def read(self, n: int = -1) -> bytes:
        try:
            data = self.raw.read(None if n is None or n < 0 else n, decode_content=False)
        except (urllib3.exceptions.HTTPError, requests.RequestException, OSError) as exc:
            raise StorageUnavailable(
                f"{self.label}: the download of {self.name!r} broke off ({type(exc).__name__})"
            ) from exc
        if self.crc is not None and data:
            self.crc.update(data)
            self.remaining -= len(data)
            if self.remaining <= 0:
                self._check()
        return data

    def _check(self) -> None:
        got = base64.b64encode(self.crc.digest()).decode()
        self.crc = None
        if got != self.expected:
            raise StorageError(
                f"{self.label}: {self.name!r} arrived corrupted (crc32c {got}, the server reports "
                f"{self.expected}); read it again"
            )

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.response.close()


class _EmptyBody:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _Sink:
    """Multipart upload for small objects, a resumable upload for large ones."""

    def __init__(self, storage: GoogleCloudStorage, spec: UploadSpec) -> None:
        self.storage = storage
        self.spec = spec
        self.session_url: str | None = None
        self.offset = 0
        self.tail = b""
        self.crc = google_crc32c.Checksum()

    def _blob(self) -> Any:
        blob = self.storage.bucket.blob(self.spec.key)
        blob.content_type = self.spec.content_type
        if self.spec.content_encoding:
            blob.content_encoding = self.spec.content_encoding
        for prop, value in self.spec.params.items():
            if prop != "acl":
                setattr(blob, prop, value)
        return blob

    def _precondition(self) -> int | None:
        return 0 if self.spec.create_only else None

    def single(self, data: bytes) -> None:
        blob = self._blob()
        self.storage._call(
            "upload", self.spec.name, blob.upload_from_file, io.BytesIO(data), size=len(data),
            content_type=self.spec.content_type, predefined_acl=self.spec.params.get("acl"),
            if_generation_match=self._precondition(), checksum="crc32c", timeout=TIMEOUT, retry=RETRY,
            write=True, nbytes=len(data),
        )

    def begin(self) -> None:
        blob = self._blob()
        self.session_url = self.storage._call(
            "start resumable upload", self.spec.name, blob.create_resumable_upload_session,
            content_type=self.spec.content_type, predefined_acl=self.spec.params.get("acl"),
            if_generation_match=self._precondition(), checksum=None, timeout=TIMEOUT, retry=RETRY, write=True,
        )

    def _put(self, data: bytes, content_range: str, final: bool) -> Any:
        def send() -> Any:
            response = self.storage._session.request(
                "PUT", self.session_url, data=data, timeout=TIMEOUT,
                headers={"Content-Range": content_range, "Content-Type": self.spec.content_type},
            )
            if response.status_code in ((200, 201) if final else (308,)):
                return response
            raise api_exceptions.from_http_response(response)

        return self.storage._call("upload chunk", self.spec.name, send, write=True, nbytes=len(data))

    def part(self, number: int, data: bytes) -> None:
        if self.tail:
            raise StorageError(f"{self.storage._label}: an upload chunk came after the last one")  # pragma: no cover
        if not data or len(data) % CHUNK_MULTIPLE:
            self.tail = data  # only the last chunk may be unaligned: it goes with finish()
            return
        self.crc.update(data)
        start, stalls = 0, 0
        while start < len(data):
            chunk = data[start:] if start else data
            begin = self.offset
            reply = self._put(chunk, f"bytes {begin}-{begin + len(chunk) - 1}/*", final=False)
            # 308's Range says how much the server kept (it may keep less than
            # it was sent, in 256 KiB steps): send the rest again.
            kept = reply.headers.get("Range", "")
            persisted = int(kept.rsplit("-", 1)[1]) + 1 if "-" in kept else begin
            persisted = min(persisted, begin + len(chunk))
            if persisted <= begin:
                stalls += 1
                if stalls > 3:
                    raise StorageError(
                        f"{self.storage._label}: the server keeps refusing a chunk of {self.spec.name!r}"
                    )
                continue
            start += persisted - begin
            self.offset = persisted

    def finish(self) -> None:
        total = self.offset + len(self.tail)
        if self.tail:
            self.crc.update(self.tail)
            content_range = f"bytes {self.offset}-{total - 1}/{total}"
        else:
            content_range = f"bytes */{total}"
        response = self._put(self.tail, content_range, final=True)
        self.session_url = None
        try:
            stored_object = response.json()
        except ValueError:
            stored_object = {}
        stored = stored_object.get("crc32c")
        mine = base64.b64encode(self.crc.digest()).decode()
        if stored and stored != mine:
            # Don't leave corrupted bytes under the name (only this generation: a newer write stays).
            try:
                self.storage.bucket.delete_blob(self.spec.key, generation=stored_object.get("generation"),
                                                timeout=TIMEOUT)
            except Exception:
                logger.debug("gcs: could not delete the corrupted upload of %s", self.spec.key, exc_info=True)
            raise StorageError(
                f"{self.storage._label}: the upload of {self.spec.name!r} arrived corrupted (crc32c {stored}, "
                f"sent {mine}); save it again"
            )

    def abort(self) -> None:
        if self.session_url:
            url, self.session_url = self.session_url, None
            try:
                self.storage._session.request("DELETE", url, timeout=TIMEOUT)
            except Exception:  # best effort: an unfinished session expires by itself after a week
                logger.debug("gcs: could not cancel the upload session of %s", self.spec.key, exc_info=True)


@deconstructible
class GoogleCloudStorage(BaseStorage):
    """Files in a Google Cloud Storage bucket."""

    settings_table = _SETTINGS
    legacy_settings = _LEGACY
    transient_attributes = ("_local", "_auth", "_bucket_checked")
    missing_times: ClassVar[dict[str, str]] = {"accessed": "Cloud Storage does not record access times"}
    upload_threshold = SINGLE_REQUEST_LIMIT

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
        if self.blob_chunk_size is not None:
            size = self.blob_chunk_size
            if isinstance(size, bool) or not isinstance(size, int) or size <= 0 or size % CHUNK_MULTIPLE:
                raise ImproperlyConfigured(
                    f"{self._label}: GS_BLOB_CHUNK_SIZE (OPTIONS[\"blob_chunk_size\"]) must be a positive "
                    f"multiple of 256 KiB ({CHUNK_MULTIPLE} bytes), got {size!r}"
                )
        self.upload_part_size = int(self.blob_chunk_size or DEFAULT_CHUNK)
        _check_parameters(self.object_parameters or {}, "GS_OBJECT_PARAMETERS", self._label)

    # -- connection ------------------------------------------------------
    def _credentials(self) -> tuple[Any, str | None]:
        """The credentials and project, resolved once per storage (threads share one token)."""
        auth = self.__dict__.get("_auth")
        if auth is None:
            with self._lock:
                auth = self.__dict__.get("_auth")
                if auth is None:
                    auth = self._resolve_credentials()
                    self._auth = auth
        return auth

    def _resolve_credentials(self) -> tuple[Any, str | None]:
        project = self.project_id
        credentials = self.credentials
        if credentials is None:
            if os.environ.get("STORAGE_EMULATOR_HOST"):
                credentials = AnonymousCredentials()
            else:
                try:
                    credentials, found = google.auth.default(scopes=SCOPES)
                except auth_exceptions.DefaultCredentialsError as exc:
                    raise ImproperlyConfigured(
                        f"{self._label} found no Google credentials: set GS_CREDENTIALS "
                        "(OPTIONS[\"credentials\"]) or GOOGLE_APPLICATION_CREDENTIALS, or run where Application "
                        "Default Credentials exist"
                    ) from exc
                project = project or found
        credentials = with_scopes_if_required(credentials, SCOPES)
        return credentials, project

    def _conn(self) -> _Conn:
        local = self.__dict__.get("_local")
        if local is None:
            with self._lock:
                local = self.__dict__.get("_local")
                if local is None:
                    local = self._local = threading.local()
        conn = getattr(local, "conn", None)
        if conn is None:
            if not self.bucket_name:
                raise ImproperlyConfigured(
                    f"{self._label} needs a bucket: set OPTIONS[\"bucket_name\"] or GS_BUCKET_NAME."
                )
            credentials, project = self._credentials()
            session = AuthorizedSession(credentials)
            client = gcs.Client(project=project, credentials=credentials, _http=session,
                                client_options=self.client_options)
            # google-cloud-storage >= 3.10 fetches the bucket's metadata in a
            # background thread, for tracing labels, on each client's first
            # call: one hidden GET per client, from another thread on this
            # thread's session. Same as DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA=1.
            if getattr(client, "_bucket_metadata_cache", None) is not None:
                client._bucket_metadata_cache = None
            conn = _Conn(client, session, client.bucket(self.bucket_name))
            if self.auto_create_bucket and not self.__dict__.get("_bucket_checked"):
                with self._lock:
                    if not self.__dict__.get("_bucket_checked"):
                        self._ensure_bucket(conn)
                        self._bucket_checked = True
            local.conn = conn
        return conn

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

    def _ensure_bucket(self, conn: _Conn) -> None:
        if self._call("bucket exists", None, conn.bucket.exists, timeout=TIMEOUT, retry=RETRY):
            return
        if not conn.client.project:
            raise ImproperlyConfigured(
                f"{self._label}: GS_AUTO_CREATE_BUCKET needs a project: set GS_PROJECT_ID "
                "(OPTIONS[\"project_id\"])"
            )
        self._call("create bucket", None, conn.client.create_bucket, self.bucket_name,
                   predefined_acl=self.auto_create_acl, timeout=TIMEOUT, retry=RETRY, write=True)
        logger.info("gcs: created bucket %s", self.bucket_name)

    def _api_endpoint(self) -> str:
        options = self.client_options
        endpoint = options.get("api_endpoint") if isinstance(options, dict) else getattr(options, "api_endpoint",
                                                                                         None)
        endpoint = endpoint or os.environ.get("STORAGE_EMULATOR_HOST")
        if not endpoint:
            domain = (options.get("universe_domain") if isinstance(options, dict)
                      else getattr(options, "universe_domain", None)) or "googleapis.com"
            endpoint = os.environ.get("API_ENDPOINT_OVERRIDE") or f"https://storage.{domain}"
        if "://" not in endpoint:
            endpoint = "http://" + endpoint
        return endpoint.rstrip("/")

    # -- errors and logging ------------------------------------------------
    def _call(self, operation: str, name: str | None, fn: Callable[..., Any], *args: Any,
              write: bool = False, nbytes: int | None = None, **kwargs: Any) -> Any:
        """One remote call: timed, logged at DEBUG, errors translated."""
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:
            translated = self._translate(exc, name, write)
            if translated is None:
                raise
            raise translated from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("gcs %s key=%s bytes=%s %.1fms", operation, name, nbytes,
                         (time.perf_counter() - start) * 1000)
        return result

    def _translate(self, exc: BaseException, name: str | None, write: bool = False) -> BaseException | None:
        if isinstance(exc, (StorageError, ImproperlyConfigured, FileNotFoundError, FileExistsError,
                            PermissionError)):
            return None
        if isinstance(exc, auth_exceptions.RefreshError):
            return PermissionError(
                13, f"{self._label} could not get an access token with its credentials "
                "(GS_CREDENTIALS / GOOGLE_APPLICATION_CREDENTIALS): the key may be revoked, deleted or expired",
                name,
            )
        if isinstance(exc, auth_exceptions.DefaultCredentialsError):
            return ImproperlyConfigured(f"{self._label} found no usable credentials: set GS_CREDENTIALS")
        if isinstance(exc, auth_exceptions.TransportError):
            return StorageUnavailable(
                f"{self._label} could not reach the token endpoint of its credentials ({type(exc).__name__}); "
                "check GS_CREDENTIALS / GOOGLE_APPLICATION_CREDENTIALS and the network"
            )
        if isinstance(exc, (requests.ConnectionError, requests.Timeout, urllib3.exceptions.HTTPError,
                            ConnectionError)):
            return StorageUnavailable(
                f"{self._label} could not reach {self._api_endpoint()} ({type(exc).__name__}); check "
                "GS_CLIENT_OPTIONS (OPTIONS[\"client_options\"]) / STORAGE_EMULATOR_HOST and the network"
            )
        if isinstance(exc, DataCorruption):
            return StorageError(f"{self._label}: {name!r} was corrupted in transit (checksum mismatch)")
        if isinstance(exc, api_exceptions.GoogleAPICallError):
            code = exc.code
            if code == 404 and (write or name is None):
                return ImproperlyConfigured(
                    f"{self._label}: the bucket {self.bucket_name!r} does not exist; check "
                    "OPTIONS[\"bucket_name\"] or GS_BUCKET_NAME"
                )
            if code == 400 and "uniform bucket-level access" in str(exc.message).lower():
                return ImproperlyConfigured(
                    f"{self._label}: the bucket uses uniform bucket-level access, which rejects ACLs; remove "
                    "GS_DEFAULT_ACL and 'acl' from GS_OBJECT_PARAMETERS"
                )
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

    def _open_writer(self, spec: UploadSpec) -> ChunkedUpload:
        part = spec.part_size or self.upload_part_size
        # Up to 8 MiB: one multipart request, whatever the chunk size (as the SDK does).
        return ChunkedUpload(_Sink(self, spec), threshold=SINGLE_REQUEST_LIMIT, part_size=part)

    def _file_part_size(self) -> int:
        return int(self.upload_part_size)

    def _stat(self, key: str) -> ObjectInfo:
        name = self._name(key)
        blob = self._call("get metadata", name, self.bucket.get_blob, key, timeout=TIMEOUT, retry=RETRY)
        if blob is None:
            raise FileNotFoundError(2, f"No such file in {self._label}: {name!r}", name)
        return ObjectInfo(
            size=int(blob.size or 0),
            modified=blob.updated,
            created=blob.time_created,
            content_type=blob.content_type,
            content_encoding=blob.content_encoding,
            etag=blob.etag,
            extra={"generation": blob.generation, "crc32c": blob.crc32c, "md5_hash": blob.md5_hash,
                   "metadata": blob.metadata or {}, "cache_control": blob.cache_control},
        )

    def _media_url(self, key: str) -> str:
        client = self.client
        endpoint = getattr(client, "api_endpoint", None) or client._connection.API_BASE_URL
        return (f"{endpoint.rstrip('/')}/download/storage/v1/b/{quote(self.bucket_name, safe='')}"
                f"/o/{quote(key, safe='')}?alt=media")

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        # Accept-Encoding: gzip keeps gzip-encoded objects as stored (no
        # decompressive transcoding): sizes, ranges and checksums then match.
        headers = {"Accept-Encoding": "gzip"}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        url = self._media_url(key)
        session = self._session

        def get() -> Any:
            response = session.request("GET", url, headers=headers, stream=True, timeout=TIMEOUT)
            if response.status_code in (200, 206, 416):
                return response
            error = api_exceptions.from_http_response(response)
            response.close()
            raise error

        response = self._call("download", name, RETRY(get))
        if response.status_code == 416:
            response.close()
            return ReadResult(_EmptyBody(), self._stat(key))
        info = _download_info(response, offset)
        expected = None
        served = response.headers.get("Content-Encoding") or "identity"
        stored = response.headers.get("X-Goog-Stored-Content-Encoding") or served
        if response.status_code == 200 and not offset and served == stored:
            # The hash is of the stored bytes: comparable only for a whole, untranscoded body.
            expected = _hash(response.headers.get("X-Goog-Hash", ""), "crc32c")
        return ReadResult(_Body(self, name, response, expected, info.size), info)

    def _delete(self, key: str) -> None:
        name = self._name(key)
        try:
            self._call("delete", name, self.bucket.delete_blob, key, timeout=TIMEOUT, retry=RETRY)
        except FileNotFoundError:
            pass

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        iterator = self._call("list", prefix, self.client.list_blobs, self.bucket_name, prefix=prefix or None,
                              delimiter="/", fields="items(name),prefixes,nextPageToken", timeout=TIMEOUT,
                              retry=RETRY, write=True)
        pages = iter(iterator.pages)
        while True:
            page = self._call("list", prefix, next, pages, None, write=True)
            if page is None:
                return
            names = [blob.name for blob in page]
            yield list(getattr(page, "prefixes", ())), names

    def _root_exists(self) -> bool:
        try:
            return bool(self._call("bucket exists", None, self.bucket.exists, timeout=TIMEOUT, retry=RETRY))
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
            raise ImproperlyConfigured(
                f"{self._label} needs a bucket: set OPTIONS[\"bucket_name\"] or GS_BUCKET_NAME."
            )
        return f"{self._api_endpoint()}/{self.bucket_name}"

    def url(self, name: str, parameters: dict[str, Any] | None = None) -> str:
        """A link to ``name``. Makes no request.

        Public (unsigned) when ``default_acl`` is ``publicRead`` or
        ``querystring_auth`` is off; otherwise a V4 signed URL valid for
        ``expiration``. ``parameters`` go to ``Blob.generate_signed_url``
        (``method="PUT"`` gives an upload URL, ``response_disposition``...)
        and always give a signed URL.
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
        blob = self.bucket.blob(key)
        try:
            return self._call("sign url", name, blob.generate_signed_url, **kwargs)
        except AttributeError as exc:
            raise ImproperlyConfigured(
                f"{self._label} can't sign URLs with these credentials (they hold no private key): use a "
                "service-account key (GS_CREDENTIALS), set GS_IAM_SIGN_BLOB = True (and GS_SA_EMAIL), or make "
                "URLs public with GS_QUERYSTRING_AUTH = False"
            ) from exc

    def _iam_params(self) -> dict[str, Any]:
        credentials, _ = self._credentials()
        if not credentials.valid:
            import functools

            from google.auth.transport.requests import Request

            with self._lock:
                if not credentials.valid:
                    request = functools.partial(Request(), timeout=TIMEOUT)
                    self._call("refresh token", None, credentials.refresh, request)
        email = self.sa_email or getattr(credentials, "service_account_email", None)
        if not email or email == "default":
            raise ImproperlyConfigured(
                f"{self._label}: GS_IAM_SIGN_BLOB needs the service account's e-mail: set GS_SA_EMAIL "
                "(OPTIONS[\"sa_email\"])"
            )
        return {"service_account_email": email, "access_token": credentials.token}


def _check_parameters(params: dict[str, Any], where: str, label: str) -> None:
    unknown = sorted(set(params) - OBJECT_PARAMETERS)
    if unknown:
        raise ImproperlyConfigured(
            f"{label}: {where} has unknown key(s) {', '.join(map(repr, unknown))}; valid keys are "
            f"{', '.join(sorted(OBJECT_PARAMETERS))}"
        )


def _hash(header: str, kind: str) -> str | None:
    for part in header.split(","):
        label, _, value = part.strip().partition("=")
        if label == kind and value:
            return value
    return None


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
    modified = None
    if headers.get("Last-Modified"):
        try:
            modified = email.utils.parsedate_to_datetime(headers["Last-Modified"])
        except (TypeError, ValueError):
            modified = None
    encoding = headers.get("X-Goog-Stored-Content-Encoding") or headers.get("Content-Encoding")
    return ObjectInfo(
        size=size or 0,
        modified=modified,
        content_type=headers.get("Content-Type"),
        content_encoding=None if encoding in (None, "", "identity") else encoding,
        etag=(headers.get("ETag") or "").strip('"') or None,
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
            blob = st._call("get metadata", self.name, st.bucket.get_blob, key, timeout=TIMEOUT,
                            retry=RETRY) or st.bucket.blob(key)
            self.__dict__["_blob"] = blob
        return blob

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop("_blob", None)
        return state


GoogleCloudStorage.file_class = GoogleCloudFile

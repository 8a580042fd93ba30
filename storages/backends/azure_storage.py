"""Azure Blob Storage via azure-storage-blob (works with Azurite, the local emulator).

Requests per operation: ``save()`` one Put Blob up to the single-put size, else
the SDK's ``upload_blob`` sends one Put Block per block (``upload_max_conn`` at a
time) plus Put Block List (overwrite off adds Django's HEAD, and the upload
carries ``If-None-Match: *``); ``open()`` + ``read()`` one GET for files up to
4 MiB, then ranged GETs (in parallel read-ahead for large files read in order);
``exists()`` / ``size()`` one HEAD; ``listdir()`` / ``scan()`` one List Blobs per
5000 entries; ``delete_many()`` one batch per 256 names; ``url()`` none (a token
credential fetches a user-delegation key once a week).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.base import BaseStorage, common_settings, join_url
from storages.conf import Setting
from storages.errors import StorageError, translate
from storages.files import ObjectInfo, ReadResult, RemoteFile, UploadSpec
from storages.legacy import AZURE_LEGACY
from storages.transfer import ChunkReader, UploadSource

try:
    import requests
    from azure.core import MatchConditions
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.storage.blob import BlobPrefix, BlobSasPermissions, BlobServiceClient, ContentSettings, generate_blob_sas
    from urllib3.util.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test (in a subprocess)
    raise ImproperlyConfigured(
        "The Azure backend needs azure-storage-blob: pip install 'django-storages[azure]'"
    ) from exc

try:  # private, but stable since 12.0: see _unsized_stream (pyproject caps the SDK version)
    from azure.storage.blob._deserialize import deserialize_blob_stream
except ImportError:  # pragma: no cover - a future SDK without it: reads still work, using more memory
    deserialize_blob_stream = None

logger = logging.getLogger(__name__)

__all__ = ["AzureStorage", "AzureStorageFile", "BlobNameError"]

MiB = 1024 * 1024
#: Azure's limits on blob names (characters, and '/'-separated segments).
_AZURE_NAME_MAX_LEN = 1024
_AZURE_NAME_MAX_SEGMENTS = 254
#: A user-delegation key lives at most 7 days (Azure's limit).
_DELEGATION_MAX = dt.timedelta(days=7)
#: Blob Batch takes at most 256 sub-requests.
_BATCH = 256
#: Keys accepted in AZURE_OBJECT_PARAMETERS / get_object_parameters().
_CONTENT_KEYS = ("content_type", "content_encoding", "content_language", "content_disposition", "cache_control",
                 "content_md5")
_UPLOAD_KEYS = ("metadata", "tags", "standard_blob_tier")

#: The local emulator's development account (public, documented values).
EMULATOR_ACCOUNT_NAME = "devstoreaccount1"
EMULATOR_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
EMULATOR_BLOB_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"

_AUTH_CODES = {
    "AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch",
    "AuthorizationResourceTypeMismatch", "AuthorizationServiceMismatch", "AuthorizationProtocolMismatch",
    "AuthorizationSourceIPMismatch", "InsufficientAccountPermissions", "InvalidAuthenticationInfo",
    "NoAuthenticationInformation", "AccountIsDisabled", "401", "403",
}
_ERRORS: dict[str | int, type[BaseException]] = {
    "BlobNotFound": FileNotFoundError,
    "ResourceNotFound": FileNotFoundError,
    "404": FileNotFoundError,
    "BlobAlreadyExists": FileExistsError,
    **{code: PermissionError for code in _AUTH_CODES},
}

_SETTINGS = (
    Setting("account_name", ("AZURE_ACCOUNT_NAME",), None,
            doc="Storage account name (filled from the connection string when unset)."),
    Setting("account_key", ("AZURE_ACCOUNT_KEY",), None, secret=True,
            doc="Shared key; also signs SAS URLs."),
    Setting("connection_string", ("AZURE_CONNECTION_STRING",), None, secret=True,
            doc="A full connection string; its endpoint and credential take precedence."),
    Setting("sas_token", ("AZURE_SAS_TOKEN",), None, secret=True, doc="A SAS token used as the credential."),
    Setting("token_credential", ("AZURE_TOKEN_CREDENTIAL",), None, secret=True,
            doc="An azure-identity credential (Managed Identity...); signs URLs with a user-delegation key."),
    Setting("azure_container", ("AZURE_CONTAINER",), None, doc="The container (must exist)."),
    Setting("azure_ssl", ("AZURE_SSL",), True, doc="https (True) or http account URLs."),
    Setting("endpoint_suffix", ("AZURE_ENDPOINT_SUFFIX",), "core.windows.net", doc="e.g. core.chinacloudapi.cn"),
    Setting("custom_domain", ("AZURE_CUSTOM_DOMAIN",), None, doc="Host used by url() (a CDN)."),
    *common_settings("AZURE_", overwrite=("overwrite_files", "AZURE_OVERWRITE_FILES", False)),
    Setting("max_memory_size", ("AZURE_BLOB_MAX_MEMORY_SIZE",), 2 * MiB,
            doc="Uploads up to max(this, max_block_size) go in one Put Blob unless max_single_put_size is set. "
                "Nothing is spooled."),
    Setting("max_single_put_size", ("AZURE_MAX_SINGLE_PUT_SIZE",), None,
            doc="Largest upload sent as one Put Blob (held in memory whole); None: max(max_memory_size, "
                "max_block_size)."),
    Setting("max_block_size", ("AZURE_MAX_BLOCK_SIZE",), 4 * MiB,
            doc="Block size of larger uploads; memory grows by about 2 blocks per upload_max_conn."),
    Setting("upload_max_conn", ("AZURE_UPLOAD_MAX_CONN",), 4,
            doc="Blocks of one upload sent at once (the SDK's max_concurrency)."),
    Setting("timeout", ("AZURE_CONNECTION_TIMEOUT_SECS",), 20, doc="Seconds to wait for a TCP connection."),
    Setting("read_timeout", ("AZURE_READ_TIMEOUT_SECS",), 20,
            doc="Seconds to wait for the next bytes of a reply (a steady slow download is never cut)."),
    Setting("expiration_secs", ("AZURE_URL_EXPIRATION_SECS",), None,
            doc="SAS lifetime of url(); None or 0 gives plain URLs."),
    Setting("cache_control", ("AZURE_CACHE_CONTROL",), None, doc="Cache-Control of uploads."),
    Setting("object_parameters", ("AZURE_OBJECT_PARAMETERS",), dict,
            doc="ContentSettings fields (+ metadata, tags, standard_blob_tier) for uploads."),
    Setting("client_options", ("AZURE_CLIENT_OPTIONS",), dict,
            doc="Keyword arguments for BlobServiceClient (retry_total, retry_read, retry_connect...)."),
    Setting("api_version", ("AZURE_API_VERSION",), None, doc="Deprecated: use client_options['api_version']."),
    Setting("default_content_type", (), "application/octet-stream", doc="Content type when none is guessed."),
)


def _parse_connection_string(value: str) -> dict[str, str]:
    """``Key=Value;...`` pairs, keys upper-cased (no secrets are logged or echoed)."""
    pairs: dict[str, str] = {}
    for part in filter(str.strip, str(value).strip().rstrip(";").split(";")):
        key, sep, val = part.partition("=")
        if not sep:
            raise ImproperlyConfigured(
                "AzureStorage: AZURE_CONNECTION_STRING (OPTIONS[\"connection_string\"]) is malformed: "
                "expected 'Key=Value' pairs separated by ';'"
            )
        pairs[key.strip().upper()] = val.strip()
    return pairs


class BlobNameError(SuspiciousFileOperation):
    """A name Azure can't store as a blob (a trailing '.' or '/')."""


def _check_blob_key(key: str, name: object, *, prefix: bool) -> None:
    """Azure's blob-name rules, checked before any request (``prefix``: a trailing '/' is fine)."""
    where = f"Refused file name {name!r} for Azure Blob Storage"
    if len(key) > _AZURE_NAME_MAX_LEN:
        raise naming.NameTooLong(f"{where}: a blob name has at most {_AZURE_NAME_MAX_LEN} characters (location "
                                 f"included; this one has {len(key)}).")
    if key.rstrip("/").count("/") >= _AZURE_NAME_MAX_SEGMENTS:
        raise naming.NameTooLong(f"{where}: a blob name has at most {_AZURE_NAME_MAX_SEGMENTS} path segments "
                                 f"({_AZURE_NAME_MAX_SEGMENTS - 1} slashes '/').")
    body = key.rstrip("/") if prefix else key
    for end in "/.":
        if body.endswith(end):
            raise BlobNameError(f"{where}: a blob name must not end with {end!r}.")


def _get_valid_path(name: str) -> str:
    """Kept for code that imported it: ``name`` cleaned and checked against Azure's rules."""
    key = naming.to_key("", name)
    _check_blob_key(key, name, prefix=False)
    return key


def _code(exc: HttpResponseError) -> str | None:
    code = getattr(exc, "error_code", None)
    if code is not None:
        return str(getattr(code, "value", code))
    status = getattr(exc, "status_code", None)
    return str(status) if status else None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc).strip()
    return text.splitlines()[0][:200] if text else type(exc).__name__


def _session() -> requests.Session:
    """A connection pool as large as the thread count of a busy site (no 'pool is full' churn)."""
    session = requests.Session()
    # azure-core retries requests itself; urllib3 must not retry underneath it.
    adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=32,
                                            max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _Unsized:
    """The SDK's response stream without ``__len__`` (the one adapter over SDK internals).

    The SDK collects each downloaded range with ``list(stream)``; ``list()`` sizes
    its array from ``len()``, which is the byte count, so each 4 MiB range in flight
    would briefly cost 32 MiB of pointers (tests/backends/test_azure.py checks it).
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _FullReads:
    """``read(n)`` returns ``n`` bytes unless the stream ended.

    The SDK cuts a stream of unknown size into blocks by reading until a block is
    exactly full; a stream that returns short reads (a pipe) would overshoot and
    make the rest of the upload one block.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def read(self, n: int = -1) -> bytes:
        data = self._inner.read(n)
        if n is None or n < 0 or not data or len(data) >= n:
            return data
        parts = [data]
        while (got := sum(map(len, parts))) < n and (more := self._inner.read(n - got)):
            parts.append(more)
        return b"".join(parts)


def _unsized_stream(response: Any, obj: Any, headers: Any) -> Any:
    mode, stream = deserialize_blob_stream(response, obj, headers)
    return mode, _Unsized(stream)


@deconstructible
class AzureStorage(BaseStorage):
    """Files in an Azure Blob Storage container."""

    settings_table = _SETTINGS
    legacy_settings = AZURE_LEGACY
    overwrite_option: ClassVar[str | None] = "overwrite_files"
    transient_attributes = ("_service", "_container", "_delegation", "_base_url")
    missing_times = {"accessed": "Azure keeps no access time unless last-access tracking is enabled"}
    endpoint_setting = "AZURE_CONNECTION_STRING (OPTIONS[\"connection_string\"])"

    def configure(self) -> None:
        if self.api_version:
            warnings.warn("AZURE_API_VERSION (OPTIONS[\"api_version\"]) is deprecated; write "
                          "AZURE_CLIENT_OPTIONS = {'api_version': ...} instead.", DeprecationWarning, stacklevel=4)
        self._connection = _parse_connection_string(self.connection_string) if self.connection_string else {}
        if self._connection.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
            self._connection.update(ACCOUNTNAME=EMULATOR_ACCOUNT_NAME, ACCOUNTKEY=EMULATOR_ACCOUNT_KEY)
        self.account_name = self.account_name or self._connection.get("ACCOUNTNAME")
        self.account_key = self.account_key or self._connection.get("ACCOUNTKEY")
        if not self.connection_string:
            self.endpoint_setting = "AZURE_ACCOUNT_NAME / AZURE_ENDPOINT_SUFFIX / AZURE_SSL"
            if self.azure_ssl is False:
                logger.warning("%s: AZURE_SSL is False: requests and URLs use plain http", type(self).__name__)
        _check_parameters(self.object_parameters or {}, "AZURE_OBJECT_PARAMETERS")
        options = self.client_options or {}
        self.upload_part_size = int(options.get("max_block_size") or self.max_block_size)
        self.upload_threshold = int(options.get("max_single_put_size") or self.max_single_put_size
                                    or max(int(self.max_memory_size or 0), self.upload_part_size))

    @property
    def azure_protocol(self) -> str:
        """``"https"`` or ``"http"`` (as in 1.14)."""
        return "https" if self.azure_ssl else "http"

    # -- names -------------------------------------------------------------
    def _key(self, name: str, *, allow_root: bool = False) -> str:
        key = super()._key(name, allow_root=allow_root)
        if key and not (allow_root and key == super()._key("", allow_root=True)):
            _check_blob_key(key, name, prefix=allow_root)
        return key

    def exists(self, name: str) -> bool:
        try:
            return super().exists(name)
        except (BlobNameError, naming.NameTooLong):
            return False  # no blob can have this name (Django asks before shortening a long one)

    def get_name_max_len(self) -> int:
        """The longest name a file can have here: 1024 characters minus the location and its '/'."""
        location = (self.location or "").strip("/")
        return _AZURE_NAME_MAX_LEN - (len(location) + 1 if location else 0)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        limit = self.get_name_max_len()
        return super().get_available_name(name, limit if max_length is None else min(max_length, limit))

    # -- connection ------------------------------------------------------
    def _credential_label(self) -> str:
        if self._connection.get("ACCOUNTKEY") or self._connection.get("SHAREDACCESSSIGNATURE"):
            return "AZURE_CONNECTION_STRING (OPTIONS[\"connection_string\"])"
        if self.account_key:
            return "AZURE_ACCOUNT_NAME / AZURE_ACCOUNT_KEY (OPTIONS[\"account_name\"] / [\"account_key\"])"
        if self.sas_token:
            return "AZURE_SAS_TOKEN (OPTIONS[\"sas_token\"])"
        if self.token_credential:
            return ("AZURE_TOKEN_CREDENTIAL (OPTIONS[\"token_credential\"]) and its role on the container "
                    "(e.g. Storage Blob Data Contributor)")
        return ("the credentials: none are set (AZURE_CONNECTION_STRING, AZURE_ACCOUNT_KEY, AZURE_SAS_TOKEN "
                "or AZURE_TOKEN_CREDENTIAL)")

    def _endpoint_label(self) -> str:
        service = self.__dict__.get("_service")
        if service is None:
            return "the Azure endpoint"
        parts = urlsplit(service.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    def _explicit_credential(self) -> Any:
        if self.account_name and self.account_key:
            return {"account_name": self.account_name, "account_key": self.account_key}
        return self.sas_token or self.token_credential

    def _client_kwargs(self) -> dict[str, Any]:
        # Chosen together: a silent endpoint fails after 2 attempts x read_timeout + 1 s back-off
        # (about 41 s by default), a refused connection within seconds; 503s get 3 quick retries.
        kwargs: dict[str, Any] = {
            "connection_timeout": self.timeout or 20, "read_timeout": self.read_timeout or 20,
            "retry_total": 3, "retry_connect": 1, "retry_read": 1,
            "initial_backoff": 1, "increment_base": 2, "random_jitter_range": 0.5,
            "max_single_get_size": 4 * MiB, "max_chunk_get_size": 4 * MiB,
            "max_single_put_size": self.upload_threshold, "max_block_size": self.upload_part_size,
            # Always read blocks from the stream (not seek-and-resend substreams): one block-id
            # length for every upload of a blob (Azure refuses mixed lengths), memory as documented.
            "use_byte_buffer": True,
        }
        if self.api_version:
            kwargs["api_version"] = self.api_version
        kwargs.update(self.client_options or {})
        if "transport" not in kwargs:
            kwargs.setdefault("session", _session())
        return kwargs

    def _new_service(self) -> Any:
        kwargs = self._client_kwargs()
        try:
            if self.connection_string:
                conn = self._connection
                has_credential = bool(conn.get("ACCOUNTKEY") or conn.get("SHAREDACCESSSIGNATURE"))
                credential = None if has_credential else self._explicit_credential()
                if conn.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
                    # The SDK knows this shortcut; keep its endpoint, use the well-known key.
                    credential = {"account_name": EMULATOR_ACCOUNT_NAME, "account_key": EMULATOR_ACCOUNT_KEY}
                return BlobServiceClient.from_connection_string(self.connection_string, credential=credential,
                                                                **kwargs)
            if not self.account_name:
                raise ImproperlyConfigured(
                    f"{type(self).__name__} needs an account: set OPTIONS[\"account_name\"] or AZURE_ACCOUNT_NAME "
                    "(or OPTIONS[\"connection_string\"] / AZURE_CONNECTION_STRING)."
                )
            url = f"{self.azure_protocol}://{self.account_name}.blob.{self.endpoint_suffix}"
            return BlobServiceClient(url, credential=self._explicit_credential(), **kwargs)
        except (ValueError, TypeError) as exc:
            # The SDK's message may quote the connection string: don't chain it into ours.
            raise ImproperlyConfigured(
                f"{type(self).__name__} could not build its Azure client ({type(exc).__name__}); check "
                f"{self.endpoint_setting} and AZURE_CLIENT_OPTIONS"
            ) from None

    @property
    def service_client(self) -> Any:
        """The ``BlobServiceClient`` (thread-safe; built on first use)."""
        return self._lazy("_service", self._new_service)

    def _new_container(self) -> Any:
        if not self.azure_container:
            raise ImproperlyConfigured(
                f"{type(self).__name__} needs a container: set OPTIONS[\"azure_container\"] or AZURE_CONTAINER.")
        return self.service_client.get_container_client(self.azure_container)

    @property
    def container_client(self) -> Any:
        """The ``ContainerClient`` of ``azure_container``."""
        return self._lazy("_container", self._new_container)

    #: The container client, under the name 1.14 users call.
    client = container_client

    # -- errors ------------------------------------------------------------
    def _translate_error(self, exc: BaseException, name: str | None, op: str) -> BaseException | None:
        label = type(self).__name__
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            return self._unavailable(exc, op, self._endpoint_label())
        if not isinstance(exc, HttpResponseError):
            return None
        code = _code(exc)
        if type(exc).__name__ == "AzureSigningError":
            return ImproperlyConfigured(f"{label} could not sign a request: the account key is not valid base64; "
                                        f"check {self._credential_label()}")
        if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
            # Raised by the token credential itself (no response from Storage).
            return PermissionError(13, f"{label} could not get a token from AZURE_TOKEN_CREDENTIAL "
                                       f"({type(exc).__name__}: {_first_line(exc)})", name)
        if code == "ContainerNotFound":
            return ImproperlyConfigured(f"{label}: the container {self.azure_container!r} does not exist; create "
                                        "it, or check OPTIONS[\"azure_container\"] / AZURE_CONTAINER")
        if op in ("upload", "copy") and code in ("ConditionNotMet", "412"):
            code = "BlobAlreadyExists"  # only create-only writes carry a condition (If-None-Match: *)
        if code not in _AUTH_CODES and getattr(exc, "status_code", None) in (401, 403):
            code = "403"
        detail = f"{code}: check {self._credential_label()}" if code in _AUTH_CODES else str(code)
        found = translate(code, _ERRORS, storage=self, name=name, detail=detail)
        return found or StorageError(f"{label}: {code} on {name!r}: {_first_line(exc)}")

    # -- primitives --------------------------------------------------------
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """Upload parameters for ``name`` (ContentSettings fields...): override to vary them per file."""
        return dict(self.object_parameters or {})

    def _prepare_upload(self, spec: UploadSpec) -> None:
        params: dict[str, Any] = {"cache_control": self.cache_control} if self.cache_control else {}
        params.update(self.get_object_parameters(spec.name))
        _check_parameters(params, f"{type(self).__name__}.get_object_parameters()")
        spec.content_type = params.pop("content_type", None) or spec.content_type
        spec.content_encoding = params.pop("content_encoding", None) or spec.content_encoding
        spec.params = params

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        params = dict(spec.params)
        content = {k: params.pop(k) for k in _CONTENT_KEYS if k in params}
        settings = ContentSettings(content_type=spec.content_type, content_encoding=spec.content_encoding, **content)
        blob = self.container_client.get_blob_client(spec.key)
        # The SDK's own transfer: one Put Blob up to max_single_put_size, else blocks read from the
        # stream (max_concurrency at a time) and one Put Block List; overwrite=False sends
        # If-None-Match: * on both, so a create-only upload is atomic.
        try:
            data = source.fileobj if source.size is not None else _FullReads(source.fileobj)
            self._call("upload", spec.name, blob.upload_blob, data, length=source.size,
                       overwrite=not spec.create_only, content_settings=settings,
                       max_concurrency=max(1, int(self.upload_max_conn or 1)), **params)
        except FileExistsError:
            raise
        except BaseException:
            if source.size is None or source.size > self.upload_threshold:
                self._discard_blocks(blob, spec.name)
            raise

    def _discard_blocks(self, blob: Any, name: str) -> None:
        """Drop the uncommitted blocks a failed block upload left on a blob that does not exist.

        Azure keeps uncommitted blocks for 7 days. Committing an empty block list discards
        them; the empty blob it creates (only if the name is free) is deleted at once, only if
        unchanged. On a blob that exists, they go at its next commit (or after 7 days).
        """
        try:
            props = blob.commit_block_list([], match_condition=MatchConditions.IfMissing)
            blob.delete_blob(etag=props["etag"], match_condition=MatchConditions.IfNotModified)
        except Exception as exc:  # the name exists (its blocks go at its next commit), or best effort failed
            logger.debug("%s: could not discard the blocks of %r: %r", type(self).__name__, name, exc)

    def _info(self, props: Any, size: int | None = None) -> ObjectInfo:
        settings = props.content_settings
        md5 = settings.content_md5
        return ObjectInfo(
            size=props.size if size is None else size,
            modified=props.last_modified,
            created=getattr(props, "creation_time", None),
            content_type=settings.content_type,
            content_encoding=settings.content_encoding,
            etag=(props.etag or "").strip('"') or None,
            hashes={"md5": bytes(md5).hex()} if md5 else {},
            extra={"metadata": props.metadata or {}, "cache_control": settings.cache_control},
        )

    def _stat(self, key: str) -> ObjectInfo:
        blob = self.container_client.get_blob_client(key)
        return self._info(self._call("stat", self._name(key), blob.get_blob_properties))

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        blob = self.container_client.get_blob_client(key)
        length = None if end is None else end - offset
        extra = {"cls": _unsized_stream} if deserialize_blob_stream is not None else {}
        # offset=None for a whole read: the SDK then handles empty blobs itself.
        downloader = self._call("read", name, blob.download_blob, offset=offset if offset or length else None,
                                length=length, max_concurrency=1, decompress=False, **extra)
        props = downloader.properties
        info = self._info(props, int(props.content_range.rsplit("/", 1)[1]))
        info.hashes = {}  # a ranged GET's Content-MD5 is not the blob's
        return ReadResult(ChunkReader(self._chunks(name, downloader)), info)

    def _chunks(self, name: str, downloader: Any) -> Iterator[bytes]:
        chunks = downloader.chunks()
        while (chunk := self._call("read range", name, next, chunks, None)) is not None:
            yield chunk

    def _delete(self, key: str) -> None:
        blob = self.container_client.get_blob_client(key)
        try:
            self._call("delete", self._name(key), blob.delete_blob, delete_snapshots="include")
        except FileNotFoundError:
            pass

    def _pages(self, prefix: str, pages: Any) -> Iterator[list[Any]]:
        while (page := self._call("list", prefix or None, next, pages, None)) is not None:
            yield list(page)

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        pager = self.container_client.walk_blobs(name_starts_with=prefix or None, delimiter="/").by_page()
        for page in self._pages(prefix, pager):
            yield ([p.name for p in page if isinstance(p, BlobPrefix)],
                   [b.name for b in page if not isinstance(b, BlobPrefix)])

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        pager = self.container_client.list_blobs(name_starts_with=prefix or None, results_per_page=5000).by_page()
        for page in self._pages(prefix, pager):
            yield from ((blob.name, self._info(blob)) for blob in page)

    def _delete_many(self, keys: list[str]) -> None:
        for start in range(0, len(keys), _BATCH):
            batch = keys[start:start + _BATCH]
            replies = self._call("delete batch", None, self.container_client.delete_blobs, *batch,
                                 delete_snapshots="include", raise_on_any_failure=False)
            for key, reply in zip(batch, replies):
                if reply.status_code not in (200, 202, 404):
                    self._delete(key)  # one by one, for a specific error

    def _root_exists(self) -> bool:
        try:
            self._call("container properties", None, self.container_client.get_container_properties)
        except ImproperlyConfigured:
            return False
        return True

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        """Server-side Copy Blob when ``source`` is an AzureStorage on the same account."""
        if not isinstance(source, AzureStorage) or source.service_client.url != self.service_client.url:
            return False
        url = source.container_client.url.split("?")[0]
        if source.account_key or source.token_credential:  # the source signs a short read SAS
            url = source._signed_url(url, source_key, 3600, None, "r")
        else:
            url = join_url(url, source_key)
        blob = self.container_client.get_blob_client(spec.key)
        condition = {"match_condition": MatchConditions.IfMissing} if spec.create_only else {}
        self._call("copy", spec.name, blob.start_copy_from_url, url, requires_sync=None, **condition)
        deadline = time.monotonic() + 600
        while (copy := self._call("copy status", spec.name, blob.get_blob_properties).copy).status == "pending":
            if time.monotonic() > deadline:
                self._call("abort copy", spec.name, blob.abort_copy, copy.id)
                raise StorageError(f"{type(self).__name__}: copying to {spec.name!r} took over 10 minutes")
            time.sleep(0.2)
        if copy.status not in (None, "success"):
            raise StorageError(f"{type(self).__name__}: copy to {spec.name!r} ended {copy.status}: "
                               f"{copy.status_description}")
        return True

    def list_all(self, path: str = "") -> list[str]:
        """Every blob name under ``path``, recursively, relative to ``location`` (as in 1.14)."""
        return [name for name, _ in self.scan(path)]

    # -- URLs --------------------------------------------------------------
    def _container_url(self) -> str:
        def build() -> str:
            parts = urlsplit(self.container_client.url)
            scheme, netloc = parts.scheme, parts.netloc
            if self.custom_domain:
                scheme, netloc = self.azure_protocol, self.custom_domain
            # No query: a configured SAS token must not leak into links.
            return urlunsplit((scheme, netloc, parts.path, "", ""))

        return self._lazy("_base_url", build)

    def get_user_delegation_key(self, expiry: dt.datetime) -> Any:
        """A user-delegation key valid until ``expiry``, fetched at most once a week."""
        with self._lock:
            cached = self.__dict__.get("_delegation")
            if cached is not None and cached[1] >= expiry:
                return cached[0]
            now = dt.datetime.now(dt.timezone.utc)
            key_expiry = now + _DELEGATION_MAX - dt.timedelta(minutes=1)
            if expiry > key_expiry:
                raise ValueError(
                    f"{type(self).__name__}: URLs signed with a token credential (user-delegation SAS) last at "
                    "most 7 days; use a shorter expire / AZURE_URL_EXPIRATION_SECS"
                )
            key = self._call("get_user_delegation_key", None, self.service_client.get_user_delegation_key,
                             key_start_time=now - dt.timedelta(minutes=5), key_expiry_time=key_expiry)
            self._delegation = (key, key_expiry)
            return key

    def url(self, name: str, expire: int | float | dt.timedelta | None = None,
            parameters: dict[str, Any] | None = None, mode: str = "r") -> str:
        """A link to ``name``; makes no request (except a weekly user-delegation key).

        With an expiry (``expire``, else ``AZURE_URL_EXPIRATION_SECS``) it is a SAS URL with
        ``mode``'s permissions (``"r"`` read, ``"w"`` upload, ``"cw"``...), signed with the
        account key or a user-delegation key from ``token_credential``. ``parameters`` go into
        the SAS (``content_disposition``, ``content_type``... response overrides). Without an
        expiry it is the plain blob URL (for public containers).
        """
        key = self._key(name, allow_root=True)
        expire = self.expiration_secs if expire is None else expire
        if isinstance(expire, dt.timedelta):
            expire = expire.total_seconds()
        if not expire:
            if mode != "r":
                raise ValueError(f"{type(self).__name__}.url(mode={mode!r}) needs an expiry: pass expire= or set "
                                 "AZURE_URL_EXPIRATION_SECS")
            return join_url(self._container_url(), key)
        return self._signed_url(self._container_url(), key, expire, parameters, mode)

    def _signed_url(self, base: str, key: str, expire: float, parameters: dict[str, Any] | None, mode: str) -> str:
        expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=float(expire))
        signing: dict[str, Any]
        if self.account_key:
            signing = {"account_key": self.account_key}
        elif self.token_credential:
            signing = {"user_delegation_key": self.get_user_delegation_key(expiry)}
        else:
            raise ImproperlyConfigured(
                f"{type(self).__name__} can't sign URLs without AZURE_ACCOUNT_KEY (or a connection string with "
                "AccountKey) or AZURE_TOKEN_CREDENTIAL; set AZURE_URL_EXPIRATION_SECS = None for plain URLs"
            )
        sas = generate_blob_sas(self.service_client.account_name, self.azure_container, key,
                                permission=BlobSasPermissions.from_string(mode), expiry=expiry, **signing,
                                **(parameters or {}))
        return f"{join_url(base, key)}?{sas}"


def _check_parameters(params: dict[str, Any], where: str) -> None:
    unknown = sorted(set(params) - set(_CONTENT_KEYS) - set(_UPLOAD_KEYS))
    if unknown:
        raise ImproperlyConfigured(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys are "
            f"{', '.join(_CONTENT_KEYS + _UPLOAD_KEYS)}."
        )


@deconstructible
class AzureStorageFile(RemoteFile):
    """A file in Azure Blob Storage: ``AzureStorageFile(name, mode, storage)``, as in 1.14.

    Reads stream with ranged downloads; writes stream through the SDK's block upload,
    committed on ``close()``.
    """


AzureStorage.file_class = AzureStorageFile

"""Azure Blob Storage via azure-storage-blob (works with Azurite, the local emulator).

Requests per operation: ``save()`` one Put Blob up to the single-put
threshold, else one Put Block per block plus Put Block List (overwrite off adds
the HEAD of Django's name check, and the upload carries ``If-None-Match: *``);
``open()`` + ``read()`` one GET for files up to 4 MiB, then one ranged GET per
4 MiB (and after each ``seek()``); ``exists()`` / ``size()`` one HEAD;
``listdir()`` one List Blobs per 5000 entries; ``url()`` none (a token
credential fetches a user-delegation key once a week).
"""

from __future__ import annotations

import base64
import concurrent.futures
import datetime as dt
import logging
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.base import BaseStorage, common_settings, join_url
from storages.conf import Legacy, Setting
from storages.errors import StorageError, StorageUnavailable, translate
from storages.files import ChunkedUpload, ObjectInfo, ReadResult, RemoteFile, UploadSpec

try:
    import requests
    from azure.core import MatchConditions
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )
    from azure.storage.blob import (
        BlobBlock,
        BlobPrefix,
        BlobSasPermissions,
        BlobServiceClient,
        ContentSettings,
        generate_blob_sas,
    )
    from urllib3.util.retry import Retry
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test (in a subprocess)
    raise ImproperlyConfigured(
        "The Azure backend needs azure-storage-blob: pip install 'django-storages[azure]'"
    ) from exc

try:  # private, but stable since 12.0: see _unsized_stream
    from azure.storage.blob._deserialize import deserialize_blob_stream
except ImportError:  # pragma: no cover - a future SDK without it: reads still work, using more memory
    deserialize_blob_stream = None

logger = logging.getLogger(__name__)

__all__ = ["AzureStorage", "AzureStorageFile", "BlobNameError"]

MiB = 1024 * 1024
#: Azure's limits on blob names.
_AZURE_NAME_MAX_LEN = 1024
_AZURE_NAME_MAX_SLASHES = 256
#: Block size and read chunk size (the SDK's own block size).
_BLOCK_SIZE = 4 * MiB
_READ_CHUNK = 4 * MiB
#: A user-delegation key lives at most 7 days (Azure's limit).
_DELEGATION_MAX = dt.timedelta(days=7)
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


def _emulator_connection_string() -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={EMULATOR_ACCOUNT_NAME};"
            f"AccountKey={EMULATOR_ACCOUNT_KEY};BlobEndpoint={EMULATOR_BLOB_ENDPOINT};")


_LEGACY = (
    Legacy(("AZURE_EMULATED_MODE",), "connection_string",
           lambda on: _emulator_connection_string() if on else None,
           "write AZURE_CONNECTION_STRING = 'UseDevelopmentStorage=true' (or Azurite's full connection string)"),
    Legacy(("AZURE_CUSTOM_CONNECTION_STRING",), "connection_string", lambda value: value or None,
           "write AZURE_CONNECTION_STRING instead"),
)

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
            doc="Uploads up to max(this, 4 MiB) go in one request; larger ones stream in blocks. "
                "Nothing is spooled."),
    Setting("upload_max_conn", ("AZURE_UPLOAD_MAX_CONN",), 2, doc="Blocks uploaded in parallel."),
    Setting("timeout", ("AZURE_CONNECTION_TIMEOUT_SECS",), 20, doc="Per-request timeout (seconds)."),
    Setting("expiration_secs", ("AZURE_URL_EXPIRATION_SECS",), None,
            doc="SAS lifetime of url(); None or 0 gives plain URLs."),
    Setting("cache_control", ("AZURE_CACHE_CONTROL",), None, doc="Cache-Control of uploads."),
    Setting("object_parameters", ("AZURE_OBJECT_PARAMETERS",), dict,
            doc="ContentSettings fields (+ metadata, tags, standard_blob_tier) for uploads."),
    Setting("client_options", ("AZURE_CLIENT_OPTIONS",), dict, doc="Keyword arguments for BlobServiceClient."),
    Setting("api_version", ("AZURE_API_VERSION",), None, doc="Deprecated: use client_options['api_version']."),
    Setting("default_content_type", (), "application/octet-stream", doc="Content type when none is guessed."),
)


def _parse_connection_string(value: str) -> dict[str, str]:
    """``Key=Value;...`` pairs, keys upper-cased (no secrets are logged or echoed)."""
    pairs: dict[str, str] = {}
    for part in str(value).strip().rstrip(";").split(";"):
        if not part.strip():
            continue
        key, sep, val = part.partition("=")
        if not sep:
            raise ImproperlyConfigured(
                "AzureStorage: AZURE_CONNECTION_STRING (OPTIONS[\"connection_string\"]) is malformed: "
                "expected 'Key=Value' pairs separated by ';'"
            )
        pairs[key.strip().upper()] = val.strip()
    return pairs


class BlobNameError(SuspiciousFileOperation):
    """A name Azure can't store as a blob (too long, too deep, or a trailing '.' or '/')."""


def _check_blob_key(key: str, name: object, *, prefix: bool) -> None:
    """Azure's blob-name rules, checked before any request (``prefix``: a trailing '/' is fine)."""
    def refuse(why: str) -> BlobNameError:
        return BlobNameError(f"Refused file name {name!r} for Azure Blob Storage: {why}.")

    if len(key) > _AZURE_NAME_MAX_LEN:
        raise refuse(f"a blob name has at most {_AZURE_NAME_MAX_LEN} characters (location included; "
                     f"this one has {len(key)})")
    if key.count("/") > _AZURE_NAME_MAX_SLASHES:
        raise refuse(f"a blob name has at most {_AZURE_NAME_MAX_SLASHES} slashes ('/')")
    body = key.rstrip("/") if prefix else key
    if body.endswith("/"):
        raise refuse("a blob name must not end with '/'")
    if body.endswith("."):
        raise refuse("a blob name must not end with '.'")


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
    text = str(getattr(exc, "message", None) or exc)
    return text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__


class _PooledAdapter(requests.adapters.HTTPAdapter):
    """A pool as large as our thread count, reading sockets in 32 KiB blocks (fast downloads)."""

    @staticmethod
    def _bigger_blocks(pool: Any) -> Any:
        pool.conn_kw = {**(pool.conn_kw or {}), "blocksize": 32768}
        return pool

    def get_connection_with_tls_context(self, *args: Any, **kwargs: Any) -> Any:  # requests >= 2.32
        return self._bigger_blocks(super().get_connection_with_tls_context(*args, **kwargs))

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:  # older requests
        return self._bigger_blocks(super().get_connection(*args, **kwargs))


def _session() -> requests.Session:
    session = requests.Session()
    # azure-core retries requests itself; urllib3 must not retry underneath it.
    adapter = _PooledAdapter(pool_connections=4, pool_maxsize=32,
                             max_retries=Retry(total=False, redirect=False, raise_on_status=False))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _BlockSink:
    """Put Blob for small objects; Put Block (up to ``upload_max_conn`` at once) + Put Block List otherwise."""

    def __init__(self, storage: AzureStorage, spec: UploadSpec) -> None:
        self.storage = storage
        self.spec = spec
        self.blocks: list[str] = []
        # Unique per upload: concurrent writers of one name share its uncommitted blocks.
        self.upload_id = uuid.uuid4().hex
        self.pending: list[concurrent.futures.Future[None]] = []
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        params = dict(spec.params)
        content = {k: params.pop(k) for k in list(params) if k in _CONTENT_KEYS}
        self.settings = ContentSettings(content_type=spec.content_type, content_encoding=spec.content_encoding,
                                        **content)
        self.extra = params

    def _blob(self) -> Any:
        return self.storage.container_client.get_blob_client(self.spec.key)

    def single(self, data: bytes) -> None:
        self.storage._call("put_blob", self.spec.name, self._blob().upload_blob, data, length=len(data),
                           overwrite=not self.spec.create_only, content_settings=self.settings,
                           max_concurrency=1, writing=True, nbytes=len(data), **self.extra)

    def begin(self) -> None:
        conns = max(1, int(self.storage.upload_max_conn or 1))
        if conns > 1:
            self.pool = concurrent.futures.ThreadPoolExecutor(conns, thread_name_prefix="azure-block")

    def _stage(self, block_id: str, data: bytes) -> None:
        self.storage._call("put_block", self.spec.name, self._blob().stage_block, block_id, data,
                           length=len(data), nbytes=len(data))

    def part(self, number: int, data: bytes) -> None:
        # Same length for every id (Azure requires it), unique to this upload.
        block_id = base64.b64encode(f"{self.upload_id}{number:08d}".encode()).decode()
        self.blocks.append(block_id)
        if self.pool is None:
            self._stage(block_id, data)
            return
        self.pending.append(self.pool.submit(self._stage, block_id, data))
        # Bounded memory: at most upload_max_conn blocks in flight.
        while len(self.pending) >= self.pool._max_workers:
            self.pending.pop(0).result()

    def _drain(self) -> None:
        try:
            for future in self.pending:
                future.result()
        finally:
            self.pending = []
            if self.pool is not None:
                self.pool.shutdown(wait=True)
                self.pool = None

    def finish(self) -> None:
        self._drain()
        condition = {"match_condition": MatchConditions.IfMissing} if self.spec.create_only else {}
        self.storage._call("put_block_list", self.spec.name, self._blob().commit_block_list,
                           [BlobBlock(block_id=b) for b in self.blocks], content_settings=self.settings,
                           writing=True, **condition, **self.extra)

    def abort(self) -> None:
        # Uncommitted blocks can't be deleted one by one; Azure drops them after a week.
        for future in self.pending:
            future.cancel()
        try:
            self._drain()
        except Exception:  # the upload is being thrown away anyway
            pass


class _DownloadBody:
    """A StorageStreamDownloader's chunks as a readable stream (one chunk in memory)."""

    def __init__(self, storage: AzureStorage, name: str, downloader: Any) -> None:
        self.storage = storage
        self.name = name
        self._chunks: Iterator[bytes] = downloader.chunks()
        self._view = memoryview(b"")
        self._fetched = False

    def _fill(self) -> bool:
        while not self._view:
            start = time.perf_counter()
            try:
                chunk = next(self._chunks)
            except StopIteration:
                return False
            except AzureError as exc:
                raise self.storage._translate(exc, self.name) from exc
            if self._fetched:
                logger.debug("azure get_blob_range name=%s bytes=%d %.1fms", self.name, len(chunk),
                             (time.perf_counter() - start) * 1000)
            self._fetched = True  # the first chunk came with download_blob()
            self._view = memoryview(chunk)
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._fill():
            return 0
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        return n

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            out = bytearray()
            while self._fill():
                out += self._view
                self._view = memoryview(b"")
            return bytes(out)
        if not self._fill():
            return b""
        data = bytes(self._view[:n])
        self._view = self._view[n:]
        return data

    def close(self) -> None:
        self._chunks = iter(())
        self._view = memoryview(b"")


class _Unsized:
    """A response stream without ``__len__``.

    The SDK collects each downloaded range with ``list(stream)``; ``list()``
    sizes its array from ``len()``, which is the byte count, so a 4 MiB range
    would briefly cost 32 MiB of pointers.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def _unsized_stream(response: Any, obj: Any, headers: Any) -> Any:
    mode, stream = deserialize_blob_stream(response, obj, headers)
    return mode, _Unsized(stream)


class _EmptyBody:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


@deconstructible
class AzureStorage(BaseStorage):
    """Files in an Azure Blob Storage container."""

    settings_table = _SETTINGS
    legacy_settings = _LEGACY
    overwrite_option: ClassVar[str | None] = "overwrite_files"
    transient_attributes = ("_service", "_container", "_delegation", "_base_url")

    def configure(self) -> None:
        if self.api_version:
            warnings.warn(
                "AZURE_API_VERSION (OPTIONS[\"api_version\"]) is deprecated; write "
                "AZURE_CLIENT_OPTIONS = {'api_version': ...} instead.",
                DeprecationWarning, stacklevel=4,
            )
        self._connection = {}
        if self.connection_string:
            self._connection = _parse_connection_string(self.connection_string)
            if self._connection.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
                self._connection.update(ACCOUNTNAME=EMULATOR_ACCOUNT_NAME, ACCOUNTKEY=EMULATOR_ACCOUNT_KEY)
            if not self.account_name and self._connection.get("ACCOUNTNAME"):
                self.account_name = self._connection["ACCOUNTNAME"]
            if not self.account_key and self._connection.get("ACCOUNTKEY"):
                self.account_key = self._connection["ACCOUNTKEY"]
        elif self.azure_ssl is False:
            logger.warning("%s: AZURE_SSL is False: requests and URLs use plain http", type(self).__name__)
        _check_parameters(self.object_parameters or {}, "AZURE_OBJECT_PARAMETERS")
        self.upload_part_size = int(self.client_options.get("max_block_size") or _BLOCK_SIZE)
        self.upload_threshold = int(self.client_options.get("max_single_put_size")
                                    or max(int(self.max_memory_size or 0), self.upload_part_size))

    # -- names -------------------------------------------------------------
    def _key(self, name: str, *, allow_root: bool = False) -> str:
        key = super()._key(name, allow_root=allow_root)
        if key and not (allow_root and key == super()._key("", allow_root=True)):
            _check_blob_key(key, name, prefix=allow_root)
        return key

    def exists(self, name: str) -> bool:
        try:
            return super().exists(name)
        except BlobNameError:
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
        if self.connection_string:
            return "AZURE_CONNECTION_STRING (OPTIONS[\"connection_string\"])"
        return "AZURE_ACCOUNT_NAME / AZURE_ENDPOINT_SUFFIX / AZURE_SSL"

    def _explicit_credential(self) -> Any:
        if self.account_name and self.account_key:
            return {"account_name": self.account_name, "account_key": self.account_key}
        if self.sas_token:
            return self.sas_token
        return self.token_credential

    def _client_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "connection_timeout": self.timeout or 20,
            "read_timeout": max(30, self.timeout or 0),
            "max_single_get_size": _READ_CHUNK,
            "max_chunk_get_size": _READ_CHUNK,
            # A few quick retries: the SDK's defaults (backoff from 15 s) look like a hang.
            "retry_total": 3,
            "retry_connect": 1,
            "retry_read": 1,
            "initial_backoff": 1,
            "increment_base": 2,
            "random_jitter_range": 0.5,
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
            scheme = "https" if self.azure_ssl else "http"
            url = f"{scheme}://{self.account_name}.blob.{self.endpoint_suffix}"
            return BlobServiceClient(url, credential=self._explicit_credential(), **kwargs)
        except ImproperlyConfigured:
            raise
        except (ValueError, TypeError) as exc:
            # The SDK's message may quote the connection string: don't chain it into ours.
            raise ImproperlyConfigured(
                f"{type(self).__name__} could not build its Azure client ({type(exc).__name__}); check "
                f"{self._endpoint_label()} and AZURE_CLIENT_OPTIONS"
            ) from None

    @property
    def service_client(self) -> Any:
        """The ``BlobServiceClient`` (thread-safe; built on first use)."""
        service = self.__dict__.get("_service")
        if service is None:
            with self._lock:
                service = self.__dict__.get("_service")
                if service is None:
                    service = self._new_service()
                    self._service = service
        return service

    @property
    def container_client(self) -> Any:
        """The ``ContainerClient`` of ``azure_container``."""
        container = self.__dict__.get("_container")
        if container is None:
            if not self.azure_container:
                raise ImproperlyConfigured(
                    f"{type(self).__name__} needs a container: set OPTIONS[\"azure_container\"] or AZURE_CONTAINER."
                )
            container = self.service_client.get_container_client(self.azure_container)
            self._container = container
        return container

    # Names 1.14 users call.
    @property
    def client(self) -> Any:
        return self.container_client

    # -- errors and logging ------------------------------------------------
    def _call(self, operation: str, name: str | None, fn: Callable[..., Any], *args: Any,
              writing: bool = False, nbytes: int | None = None, **kwargs: Any) -> Any:
        """One Azure request: with the timeout, logged at DEBUG, errors translated."""
        start = time.perf_counter()
        try:
            if self.timeout:
                kwargs["timeout"] = self.timeout
            result = fn(*args, **kwargs)
        except AzureError as exc:
            raise self._translate(exc, name, writing=writing) from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("azure %s container=%s name=%s bytes=%s %.1fms", operation, self.azure_container, name,
                         nbytes, (time.perf_counter() - start) * 1000)
        return result

    def _translate(self, exc: AzureError, name: str | None, *, writing: bool = False) -> BaseException:
        label = type(self).__name__
        if isinstance(exc, (ServiceRequestError, ServiceResponseError)):
            return StorageUnavailable(
                f"{label} could not reach {self._where()} ({type(exc).__name__}); check {self._endpoint_label()} "
                "and the network"
            )
        if not isinstance(exc, HttpResponseError):
            return StorageError(f"{label}: {type(exc).__name__} on {name!r}: {_first_line(exc)}")
        code = _code(exc)
        if type(exc).__name__ == "AzureSigningError":
            return ImproperlyConfigured(
                f"{label} could not sign a request: the account key is not valid base64; "
                f"check {self._credential_label()}"
            )
        if isinstance(exc, ClientAuthenticationError) and getattr(exc, "status_code", None) is None:
            # Raised by the token credential itself (no response from Storage).
            return PermissionError(
                13, f"{label} could not get a token from AZURE_TOKEN_CREDENTIAL ({type(exc).__name__}: "
                    f"{_first_line(exc)})", name
            )
        if code == "ContainerNotFound":
            return ImproperlyConfigured(
                f"{label}: the container {self.azure_container!r} does not exist; create it, or check "
                "OPTIONS[\"azure_container\"] / AZURE_CONTAINER"
            )
        if writing and code in ("ConditionNotMet", "412"):
            # Only create-only uploads carry a condition (If-None-Match: *).
            return translate("BlobAlreadyExists", _ERRORS, storage=self, name=name)  # type: ignore[return-value]
        detail = f"{code}: check {self._credential_label()}" if code in _AUTH_CODES else str(code)
        found = translate(code, _ERRORS, storage=self, name=name, detail=detail)
        if found is None and getattr(exc, "status_code", None) in (401, 403):
            found = translate("403", _ERRORS, storage=self, name=name,
                              detail=f"{code}: check {self._credential_label()}")
        return found or StorageError(f"{label}: {code} on {name!r}: {_first_line(exc)}")

    def _where(self) -> str:
        service = self.__dict__.get("_service")
        if service is None:
            return "the Azure endpoint"
        parts = urlsplit(service.url)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    # -- primitives --------------------------------------------------------
    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """Upload parameters for ``name`` (ContentSettings fields...): override to vary them per file."""
        return dict(self.object_parameters or {})

    def _prepare_upload(self, spec: UploadSpec) -> None:
        params: dict[str, Any] = {}
        if self.cache_control:
            params["cache_control"] = self.cache_control
        params.update(self.get_object_parameters(spec.name))
        _check_parameters(params, f"{type(self).__name__}.get_object_parameters()")
        spec.content_type = params.pop("content_type", None) or spec.content_type
        spec.content_encoding = params.pop("content_encoding", None) or spec.content_encoding
        spec.params = params

    def _open_writer(self, spec: UploadSpec) -> ChunkedUpload:
        part = spec.part_size or self.upload_part_size
        threshold = self.upload_threshold if spec.part_size is None else part
        return ChunkedUpload(_BlockSink(self, spec), threshold=threshold, part_size=part)

    def _file_part_size(self) -> int:
        return self.upload_part_size

    @staticmethod
    def _info(props: Any, size: int) -> ObjectInfo:
        settings = props.content_settings
        return ObjectInfo(
            size=size,
            modified=props.last_modified,
            created=getattr(props, "creation_time", None),
            accessed=getattr(props, "last_accessed_on", None),
            content_type=settings.content_type,
            content_encoding=settings.content_encoding,
            etag=(props.etag or "").strip('"') or None,
            extra={"metadata": props.metadata or {}, "cache_control": settings.cache_control},
        )

    def _stat(self, key: str) -> ObjectInfo:
        blob = self.container_client.get_blob_client(key)
        props = self._call("get_blob_properties", self._name(key), blob.get_blob_properties)
        return self._info(props, props.size)

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        blob = self.container_client.get_blob_client(key)
        try:
            # offset=None for the first read: the SDK then handles empty blobs itself.
            extra = {"cls": _unsized_stream} if deserialize_blob_stream is not None else {}
            downloader = self._call("get_blob", name, blob.download_blob, offset=offset or None,
                                    max_concurrency=1, decompress=False, **extra)
        except StorageError as exc:
            cause = exc.__cause__
            if offset and isinstance(cause, HttpResponseError) and (
                    _code(cause) == "InvalidRange" or cause.status_code == 416):
                return ReadResult(_EmptyBody(), self._stat(key))
            raise
        props = downloader.properties
        size = props.size
        content_range = getattr(props, "content_range", None)
        if content_range and "/" in content_range:
            size = int(content_range.rsplit("/", 1)[1])
        return ReadResult(_DownloadBody(self, name, downloader), self._info(props, size))

    def _delete(self, key: str) -> None:
        blob = self.container_client.get_blob_client(key)
        try:
            self._call("delete_blob", self._name(key), blob.delete_blob, delete_snapshots="include")
        except FileNotFoundError:
            pass

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        pages = self._call("list_blobs", prefix, self.container_client.walk_blobs,
                           name_starts_with=prefix or None, delimiter="/").by_page()
        while True:
            start = time.perf_counter()
            try:
                page = list(next(pages))
            except StopIteration:
                return
            except AzureError as exc:
                raise self._translate(exc, prefix or None) from exc
            logger.debug("azure list_blobs container=%s prefix=%s entries=%d %.1fms", self.azure_container,
                         prefix, len(page), (time.perf_counter() - start) * 1000)
            yield ([p.name for p in page if isinstance(p, BlobPrefix)],
                   [b.name for b in page if not isinstance(b, BlobPrefix)])

    def _root_exists(self) -> bool:
        try:
            self._call("get_container_properties", None, self.container_client.get_container_properties)
        except ImproperlyConfigured:
            return False
        return True

    # -- URLs --------------------------------------------------------------
    def _container_url(self) -> str:
        base = self.__dict__.get("_base_url")
        if base is None:
            parts = urlsplit(self.container_client.url)
            scheme, netloc = parts.scheme, parts.netloc
            if self.custom_domain:
                scheme, netloc = ("https" if self.azure_ssl else "http"), self.custom_domain
            # No query: a configured SAS token must not leak into links.
            base = urlunsplit((scheme, netloc, parts.path, "", ""))
            self._base_url = base
        return base

    def _user_delegation_key(self, expiry: dt.datetime) -> Any:
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

    def url(self, name: str, expire: int | float | None = None, parameters: dict[str, Any] | None = None,
            mode: str = "r") -> str:
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
        base = self._container_url()
        if not expire:
            if mode != "r":
                raise ValueError(
                    f"{type(self).__name__}.url(mode={mode!r}) needs an expiry: pass expire= or set "
                    "AZURE_URL_EXPIRATION_SECS"
                )
            return join_url(base, key)
        expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=float(expire))
        signing: dict[str, Any]
        if self.account_key:
            signing = {"account_key": self.account_key}
        elif self.token_credential:
            signing = {"user_delegation_key": self._user_delegation_key(expiry)}
        else:
            raise ImproperlyConfigured(
                f"{type(self).__name__} can't sign URLs without AZURE_ACCOUNT_KEY (or a connection string with "
                "AccountKey) or AZURE_TOKEN_CREDENTIAL; set AZURE_URL_EXPIRATION_SECS = None for plain URLs"
            )
        sas = generate_blob_sas(
            self.service_client.account_name, self.azure_container, key,
            permission=BlobSasPermissions.from_string(mode), expiry=expiry, **signing, **(parameters or {}),
        )
        return f"{join_url(base, key)}?{sas}"


def _check_parameters(params: dict[str, Any], where: str) -> None:
    unknown = sorted(set(params) - set(_CONTENT_KEYS) - set(_UPLOAD_KEYS))
    if unknown:
        raise ImproperlyConfigured(
            f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; valid keys are "
            f"{', '.join(_CONTENT_KEYS + _UPLOAD_KEYS)}."
        )


class AzureStorageFile(RemoteFile):
    """A file in Azure Blob Storage (``AzureStorage.open()`` returns one).

    Reads stream with ranged downloads; writes stream as blocks, committed on ``close()``.
    """


AzureStorage.file_class = AzureStorageFile

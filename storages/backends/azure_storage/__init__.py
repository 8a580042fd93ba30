"""Azure Blob Storage via azure-storage-blob (and Azurite). Requests per operation:
docs/backends/azure.rst."""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.utils.deconstruct import deconstructible

from storages import naming, signed_urls
from storages.backends.azure_storage import compat
from storages.base import BaseStorage, batches, common_settings, join_url, poll
from storages.conf import Legacy, Setting
from storages.errors import StorageError, sdk_required, translate
from storages.files import Leftover, ObjectInfo, ReadAhead, ReadResult, RemoteFile, UploadSpec
from storages.hashing import b64_to_hex
from storages.signed_urls import window_setting
from storages.transfer import (
    ChunkReader,
    FullReader,
    UploadSource,
    WriteBuffer,
)

if TYPE_CHECKING:
    from storages.direct import TicketRequest, UploadTicket

with sdk_required("AzureStorage", "azure-storage-blob", "azure"):
    import requests
    from azure.core import MatchConditions
    from azure.core import exceptions as azure_errors
    from azure.storage.blob import (
        BlobPrefix,
        BlobSasPermissions,
        BlobServiceClient,
        ContentSettings,
        generate_blob_sas,
    )
    from urllib3.util.retry import Retry
# SDK < 12.31: two uploads racing for one name would mix their blocks
compat.azure_unique_block_ids()

try:  # private, but stable since 12.0: see _unsized_stream (pyproject caps the SDK version)
    from azure.storage.blob._deserialize import deserialize_blob_stream
except ImportError:  # pragma: no cover - a future SDK without it: reads use more memory
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
_CONTENT_KEYS = (
    "content_type",
    "content_encoding",
    "content_language",
    "content_disposition",
    "cache_control",
    "content_md5",
)
_UPLOAD_KEYS = ("metadata", "tags", "standard_blob_tier")

#: The local emulator's development account (public, documented values).
EMULATOR_ACCOUNT_NAME = "devstoreaccount1"
EMULATOR_ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
EMULATOR_BLOB_ENDPOINT = "http://127.0.0.1:10000/devstoreaccount1"

# Older settings, translated into today's options (each warns).


def _azure_emulator(on: object) -> str | None:
    if not on:
        return None
    # The module's constants are read at call time: tests point them at their Azurite.
    return (
        f"DefaultEndpointsProtocol=http;AccountName={EMULATOR_ACCOUNT_NAME};"
        f"AccountKey={EMULATOR_ACCOUNT_KEY};BlobEndpoint={EMULATOR_BLOB_ENDPOINT};"
    )


AZURE_LEGACY: tuple[Legacy, ...] = (
    Legacy(
        ("AZURE_EMULATED_MODE",),
        "connection_string",
        _azure_emulator,
        "write AZURE_CONNECTION_STRING = 'UseDevelopmentStorage=true' (or Azurite's full "
        "connection string)",
    ),
    Legacy(
        ("AZURE_CUSTOM_CONNECTION_STRING",),
        "connection_string",
        lambda value: value or None,
        "write AZURE_CONNECTION_STRING instead",
    ),
)

_CONN = 'AZURE_CONNECTION_STRING (OPTIONS["connection_string"])'
_AUTH_CODES = {
    *(
        f"Authorization{x}"
        for x in (
            "Failure",
            "PermissionMismatch",
            "ResourceTypeMismatch",
            "ServiceMismatch",
            "ProtocolMismatch",
            "SourceIPMismatch",
        )
    ),
    "AuthenticationFailed",
    "401",
    "403",
    "InsufficientAccountPermissions",
    "InvalidAuthenticationInfo",
    "NoAuthenticationInformation",
    "AccountIsDisabled",
}
_ERRORS: dict[str | int, type[BaseException]] = {
    "BlobNotFound": FileNotFoundError,
    "404": FileNotFoundError,
    "ResourceNotFound": FileNotFoundError,
    "BlobAlreadyExists": FileExistsError,
    **{code: PermissionError for code in _AUTH_CODES},
}


def _s(name: str, setting: str | tuple[str, ...], default: Any, doc: str, **kw: Any) -> Setting:
    return Setting(name, (setting,) if setting else (), default, doc=doc, **kw)


_SETTINGS = (
    _s(
        "account_name",
        "AZURE_ACCOUNT_NAME",
        None,
        "Storage account name (else from the connection string).",
    ),
    _s("account_key", "AZURE_ACCOUNT_KEY", None, "Shared key; also signs SAS URLs.", secret=True),
    _s(
        "connection_string",
        "AZURE_CONNECTION_STRING",
        None,
        "Endpoint + credential; wins over the rest.",
        secret=True,
    ),
    _s("sas_token", "AZURE_SAS_TOKEN", None, "A SAS token used as the credential.", secret=True),
    _s(
        "token_credential",
        "AZURE_TOKEN_CREDENTIAL",
        None,
        "An azure-identity credential (signs URLs).",
        secret=True,
    ),
    _s("azure_container", "AZURE_CONTAINER", None, "The container (must exist)."),
    _s("azure_ssl", "AZURE_SSL", True, "https (True) or http account URLs."),
    _s(
        "endpoint_suffix", "AZURE_ENDPOINT_SUFFIX", "core.windows.net", "e.g. core.chinacloudapi.cn"
    ),
    _s("custom_domain", "AZURE_CUSTOM_DOMAIN", None, "Host used by url() (a CDN)."),
    *common_settings("AZURE_", overwrite=("overwrite_files", "AZURE_OVERWRITE_FILES", False)),
    _s(
        "max_memory_size",
        "AZURE_BLOB_MAX_MEMORY_SIZE",
        2 * MiB,
        "See max_single_put_size (kept from 1.14).",
    ),
    _s(
        "max_single_put_size",
        "AZURE_MAX_SINGLE_PUT_SIZE",
        None,
        "One-request uploads up to this size (held "
        "in memory); None: max(max_memory_size, max_block_size).",
    ),
    _s(
        "max_block_size",
        "AZURE_MAX_BLOCK_SIZE",
        4 * MiB,
        "Block size of larger uploads (AZURE_WRITE_BUFFER wins when set).",
    ),
    _s(
        "upload_max_conn",
        "AZURE_UPLOAD_MAX_CONN",
        4,
        "Blocks of one upload sent at once (max_concurrency; AZURE_WRITE_BUFFER wins when set).",
    ),
    _s("timeout", "AZURE_CONNECTION_TIMEOUT_SECS", 20, "Seconds to wait for a TCP connection."),
    _s(
        "read_timeout",
        "AZURE_READ_TIMEOUT_SECS",
        20,
        "Seconds to wait for the next bytes of a reply.",
    ),
    _s(
        "expiration_secs",
        "AZURE_URL_EXPIRATION_SECS",
        None,
        "SAS lifetime of url(); None or 0: plain URLs.",
    ),
    window_setting("AZURE_SIGNED_URL_WINDOW"),
    _s("cache_control", "AZURE_CACHE_CONTROL", None, "Cache-Control of uploads."),
    _s(
        "object_parameters",
        "AZURE_OBJECT_PARAMETERS",
        dict,
        "ContentSettings fields, metadata, tags, tier.",
    ),
    _s(
        "client_options",
        "AZURE_CLIENT_OPTIONS",
        dict,
        "BlobServiceClient keywords (retry_total, retry_read...).",
    ),
    _s("api_version", "AZURE_API_VERSION", None, "Deprecated: use client_options['api_version']."),
    _s(
        "default_content_type", "", "application/octet-stream", "Content type when none is guessed."
    ),
)


# Keys upper-cased; never echoes a secret.
def _parse_connection_string(value: str) -> dict[str, str]:
    parts = [
        part.partition("=") for part in filter(str.strip, str(value).strip().rstrip(";").split(";"))
    ]
    if not all(sep for _, sep, _ in parts):
        raise ImproperlyConfigured(
            f"AzureStorage: {_CONN} is malformed: expected 'Key=Value' pairs separated by ';'"
        )
    return {key.strip().upper(): val.strip() for key, _, val in parts}


class BlobNameError(SuspiciousFileOperation):
    """A name Azure can't store as a blob (a trailing '.' or '/')."""


def _check_blob_key(key: str, name: object, *, prefix: bool) -> None:
    """Azure's blob-name rules, checked before any request (``prefix``: a trailing '/' is fine)."""
    where = f"Refused file name {name!r} for Azure Blob Storage"
    if len(key) > _AZURE_NAME_MAX_LEN:
        raise naming.NameTooLong(
            f"{where}: a blob name has at most {_AZURE_NAME_MAX_LEN} characters (location "
            f"included; this one has {len(key)})."
        )
    if key.rstrip("/").count("/") >= _AZURE_NAME_MAX_SEGMENTS:
        raise naming.NameTooLong(
            f"{where}: a blob name has at most {_AZURE_NAME_MAX_SEGMENTS} path segments "
            f"({_AZURE_NAME_MAX_SEGMENTS - 1} slashes '/')."
        )
    if (key.rstrip("/") if prefix else key)[-1:] in ("/", "."):
        raise BlobNameError(
            f"{where}: a blob name must not end with '{key.rstrip('/')[-1:] or '/'}'."
        )


# The helper of 1.14: ``name`` cleaned and checked against Azure's rules.
def _get_valid_path(name: str) -> str:
    _check_blob_key(key := naming.to_key("", name), name, prefix=False)
    return key


def _code(exc: Any) -> str | None:
    code = getattr(exc, "error_code", None) or getattr(exc, "status_code", None)
    return None if code is None else str(getattr(code, "value", code))


def _first_line(exc: BaseException) -> str:
    return (str(getattr(exc, "message", None) or exc).strip().splitlines() or [type(exc).__name__])[
        0
    ][:200]


def _session() -> requests.Session:
    """A pool as large as a busy site's thread count (no 'pool is full')."""
    # The azure-core pipeline retries requests: urllib3 must not retry underneath it.
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_maxsize=32, max_retries=Retry(total=False, redirect=False)
    )
    for scheme in ("http://", "https://"):
        session.mount(scheme, adapter)
    return session


# The SDK's response stream without ``__len__`` (our one adapter over SDK internals): the SDK
# collects a range with ``list(stream)``, presized from ``len()`` (bytes): 32 MiB per 4 MiB range.
class _Unsized:
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._inner)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


# What upload_blob reads. The SDK cuts a stream of unknown size into blocks by reading until
# one is exactly full, so short reads (a pipe) would overshoot into one huge block: FullReader
# returns full reads, each block assembled once in place (the SDK's IterStreamer over an
# iterable would join pieces, holding a block several times).
def _data(source: UploadSource) -> Any:
    return source.fileobj if source.size is not None else FullReader(source.fileobj)


def _unsized_stream(response: Any, obj: Any, headers: Any) -> Any:
    mode, stream = deserialize_blob_stream(response, obj, headers)
    return mode, _Unsized(stream)


@deconstructible
class AzureStorage(BaseStorage):
    """Files in an Azure Blob Storage container."""

    public_read_setup = (
        'the container\'s public access level "blob" (anonymous read of blobs allowed on the '
        "storage account)"
    )
    settings_table = _SETTINGS
    legacy_settings = AZURE_LEGACY
    overwrite_option: ClassVar[str | None] = "overwrite_files"
    transient_attributes = ("_delegation",)  # a user delegation key and its expiry
    # The SDK holds each range whole before handing it over (twice the window in memory): 1 MiB
    # ranges keep a 200 MB read within 34 MB of RSS growth (2 MiB ranges: 55-62 MB).
    default_read_ahead = ReadAhead(part_size=MiB, concurrency=10)
    sdk_holds_ranges = True
    missing_times = {
        "accessed": "Azure keeps no access time unless last-access tracking is enabled"
    }
    endpoint_setting = 'AZURE_CONNECTION_STRING (OPTIONS["connection_string"])'
    # Traits the system checks, checkstorages and copystorage read (see BaseStorage).
    credential_options = (
        ("connection_string",),
        ("account_name", "account_key"),
        ("account_name", "sas_token"),
        ("account_name", "token_credential"),
    )
    tls_options = ("azure_ssl",)
    container_option = "azure_container"
    cache_control_param = "cache_control"
    direct_upload_max_size = 5000 * 1024 * 1024  # one Put Blob
    unreachable_errors = (azure_errors.ServiceRequestError, azure_errors.ServiceResponseError)
    # Keys of get_object_parameters(): ContentSettings fields, then upload options.
    object_parameter_keys = _CONTENT_KEYS + _UPLOAD_KEYS

    def system_checks(self, alias: str) -> list[Any]:
        """Values Azure would refuse: the container name, the URL lifetime, host options."""
        from storages.backends.azure_storage.checks import system_checks

        return system_checks(self, alias)

    def unsigned_url_option(self) -> str | None:
        return "expiration_secs" if not self.expiration_secs else None

    def endpoint_urls(self) -> list[tuple[str, str]]:
        # A connection string over http with no BlobEndpoint: the account's own host, over http.
        text = self.connection_string or ""
        if re.search(r"DefaultEndpointsProtocol=http(;|$)", text, re.I) and (
            "BlobEndpoint=" not in text
        ):
            account = self.account_name or "account"
            return [("connection_string", f"http://{account}.blob.core.windows.net/")]
        return []

    def presigned_upload_url(
        self, name: str, expire: int = 600, content_type: str = "text/plain"
    ) -> tuple[str, dict[str, str]]:
        # A SAS allowing create + write.
        return self.url(name, expire=expire, mode="cw"), {"x-ms-blob-type": "BlockBlob"}

    def direct_upload_ticket(self, request: TicketRequest) -> UploadTicket:
        """A browser's direct upload of ``request.name`` (see :mod:`storages.direct`)."""
        from storages.backends.azure_storage import direct

        return direct.ticket(self, request)

    def direct_upload_cors_problems(self, origin: str) -> list[str]:
        """What in the CORS rules would stop a page on ``origin`` uploading directly."""
        from storages.backends.azure_storage import direct

        return direct.cors_problems(self, origin)

    def configure(self) -> None:
        lifetime = self.expiration_secs
        lifetime = lifetime.total_seconds() if isinstance(lifetime, dt.timedelta) else lifetime
        self.signed_url_window = signed_urls.check_window(
            "AzureStorage", "AZURE_SIGNED_URL_WINDOW", self.signed_url_window, lifetime or 0
        )
        if self.api_version:
            warnings.warn(
                'AZURE_API_VERSION (OPTIONS["api_version"]) is deprecated; write '
                "AZURE_CLIENT_OPTIONS = {'api_version': ...} instead.",
                DeprecationWarning,
                stacklevel=4,
            )
        self._connection = conn = (
            _parse_connection_string(self.connection_string) if self.connection_string else {}
        )
        if conn.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
            conn.update(ACCOUNTNAME=EMULATOR_ACCOUNT_NAME, ACCOUNTKEY=EMULATOR_ACCOUNT_KEY)
        self.account_name, self.account_key = (
            self.account_name or conn.get("ACCOUNTNAME"),
            self.account_key or conn.get("ACCOUNTKEY"),
        )
        if not self.connection_string:
            self.endpoint_setting = "AZURE_ACCOUNT_NAME / AZURE_ENDPOINT_SUFFIX / AZURE_SSL"
            if self.azure_ssl is False:
                logger.warning(
                    "%s: AZURE_SSL is False: requests and URLs use plain http", type(self).__name__
                )
        options = self.client_options or {}
        self.upload_part_size = int(options.get("max_block_size") or self.max_block_size)
        self.upload_threshold = int(
            options.get("max_single_put_size")
            or self.max_single_put_size
            or max(int(self.max_memory_size or 0), self.upload_part_size)
        )

    def _apply_write_buffer(self, config: WriteBuffer | None) -> WriteBuffer:
        """``write_buffer`` sets the block size and the blocks sent at once, over
        AZURE_MAX_BLOCK_SIZE / AZURE_UPLOAD_MAX_CONN (and their AZURE_CLIENT_OPTIONS keys), and
        caps one-request uploads at a block. The SDK reads the next block while the others are
        sent."""
        if config is not None:
            if config.part_size is not None:
                self.upload_part_size = int(config.part_size)
            if config.concurrency is not None:
                self.upload_max_conn = config.concurrency
            self.upload_threshold = min(self.upload_threshold, self.upload_part_size)
        single = max(self.upload_threshold, self.upload_part_size)
        return WriteBuffer(part_size=single, concurrency=max(1, int(self.upload_max_conn or 1)))

    @property
    def azure_protocol(self) -> str:  # "https" or "http", as in 1.14
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
        return _AZURE_NAME_MAX_LEN - len(f"{self.location}/".lstrip("/"))

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        return super().get_available_name(
            name, min(max_length or _AZURE_NAME_MAX_LEN, self.get_name_max_len())
        )

    # -- connection ------------------------------------------------------
    def _credential_label(self) -> str:
        conn = self._connection.get("ACCOUNTKEY") or self._connection.get("SHAREDACCESSSIGNATURE")
        for present, label in (
            (conn, _CONN),
            (self.account_key, "AZURE_ACCOUNT_NAME / AZURE_ACCOUNT_KEY"),
            (self.sas_token, "AZURE_SAS_TOKEN"),
            (
                self.token_credential,
                "AZURE_TOKEN_CREDENTIAL "
                "and its role on the container (e.g. Storage Blob Data Contributor)",
            ),
        ):
            if present:
                return label
        return (
            "the credentials: none are set (AZURE_CONNECTION_STRING, AZURE_ACCOUNT_KEY, "
            "AZURE_SAS_TOKEN or AZURE_TOKEN_CREDENTIAL)"
        )

    def _endpoint_label(self) -> str:
        service = self.__dict__.get("_service")
        return service.url.split("?")[0] if service is not None else "the Azure endpoint"

    def _explicit_credential(self) -> Any:
        if self.account_name and self.account_key:
            return {"account_name": self.account_name, "account_key": self.account_key}
        return self.sas_token or self.token_credential

    def _client_kwargs(self) -> dict[str, Any]:
        # Chosen together: a silent endpoint fails after 2 attempts x read_timeout + 3 s back-off
        # (about 43 s by default), a refused connection within seconds; 503s get 3 quick retries.
        # use_byte_buffer: always read blocks from the stream (not seek-and-resend substreams): one
        # block-id length for every upload of a blob (Azure refuses mixed lengths), memory as
        # documented.
        kwargs: dict[str, Any] = dict(
            connection_timeout=self.timeout or 20,
            read_timeout=self.read_timeout or 20,
            retry_total=3,
            retry_connect=1,
            retry_read=1,
            initial_backoff=1,
            increment_base=2,
            random_jitter_range=0.5,
            max_single_get_size=4 * MiB,
            max_chunk_get_size=4 * MiB,
            max_single_put_size=self.upload_threshold,
            max_block_size=self.upload_part_size,
            use_byte_buffer=True,
            **({"api_version": self.api_version} if self.api_version else {}),
        )
        kwargs.update(self.client_options or {})
        # as configure() and write_buffer decided (client_options' own keys included)
        kwargs.update(
            max_single_put_size=self.upload_threshold, max_block_size=self.upload_part_size
        )
        return kwargs if "transport" in kwargs else {"session": _session(), **kwargs}

    def _connection_pool_size(self) -> int | None:
        return None if "transport" in (self.client_options or {}) else 32  # _session()'s pool

    def _new_service(self) -> Any:
        kwargs = self._client_kwargs()
        try:
            if self.connection_string:
                conn = self._connection
                credential = (
                    None
                    if conn.get("ACCOUNTKEY") or conn.get("SHAREDACCESSSIGNATURE")
                    else (self._explicit_credential())
                )
                if conn.get("USEDEVELOPMENTSTORAGE", "").lower() == "true":
                    # The SDK knows this shortcut; keep its endpoint, use the well-known key.
                    credential = {
                        "account_name": EMULATOR_ACCOUNT_NAME,
                        "account_key": EMULATOR_ACCOUNT_KEY,
                    }
                return BlobServiceClient.from_connection_string(
                    self.connection_string, credential, **kwargs
                )
            if not self.account_name:
                raise ImproperlyConfigured(
                    f'{type(self).__name__} needs an account: set OPTIONS["account_name"] '
                    "or AZURE_ACCOUNT_NAME (or " + _CONN + ")"
                )
            url = f"{self.azure_protocol}://{self.account_name}.blob.{self.endpoint_suffix}"
            return BlobServiceClient(url, credential=self._explicit_credential(), **kwargs)
        except (ValueError, TypeError) as exc:
            # The SDK's message may quote the connection string: don't chain it into ours.
            raise ImproperlyConfigured(
                f"{type(self).__name__} could not build its Azure client "
                f"({type(exc).__name__}); check {self.endpoint_setting} and AZURE_CLIENT_OPTIONS"
            ) from None

    @property
    def service_client(self) -> Any:
        """The ``BlobServiceClient`` (thread-safe; built on first use)."""
        return self._lazy("_service", self._new_service)

    @property
    def container_client(self) -> Any:
        """The ``ContainerClient`` of ``azure_container``."""
        if not self.azure_container:
            raise ImproperlyConfigured(
                f'{type(self).__name__} needs a container: set OPTIONS["azure_container"] or '
                "AZURE_CONTAINER."
            )
        return self._lazy(
            "_container", lambda: self.service_client.get_container_client(self.azure_container)
        )

    #: The container client, under the name 1.14 users call.
    client = container_client

    # -- errors ------------------------------------------------------------
    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        label = type(self).__name__
        if not isinstance(exc, azure_errors.HttpResponseError):
            return None
        code = _code(exc)
        if type(exc).__name__ == "AzureSigningError":
            return ImproperlyConfigured(
                f"{label} could not sign a request: the account key is not valid base64; "
                f"check {self._credential_label()}"
            )
        if (
            isinstance(exc, azure_errors.ClientAuthenticationError)
            and getattr(exc, "status_code", None) is None
        ):
            # Raised by the token credential itself (no response from Storage).
            return PermissionError(
                13,
                f"{label} could not get a token from AZURE_TOKEN_CREDENTIAL "
                f"({type(exc).__name__}: {_first_line(exc)})",
                name,
            )
        if code == "ContainerNotFound":
            return ImproperlyConfigured(
                f"{label}: the container {self.azure_container!r} does not exist; create "
                'it, or check OPTIONS["azure_container"] / AZURE_CONTAINER'
            )
        if op in ("upload", "copy") and code in ("ConditionNotMet", "412"):
            code = (
                "BlobAlreadyExists"  # only create-only writes carry a condition (If-None-Match: *)
            )
        if code not in _AUTH_CODES and getattr(exc, "status_code", None) in (401, 403):
            code = "403"
        detail = f"{code}: check {self._credential_label()}" if code in _AUTH_CODES else str(code)
        found = translate(code, _ERRORS, storage=self, name=name, detail=detail)
        return found or StorageError(f"{label}: {code} on {name!r}: {_first_line(exc)}")

    # -- primitives --------------------------------------------------------
    def _default_parameters(self) -> dict[str, Any]:
        return {"cache_control": self.cache_control} if self.cache_control else {}

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        params, content = (
            dict(spec.params),
            {k: spec.params[k] for k in _CONTENT_KEYS if k in spec.params},
        )
        settings = ContentSettings(
            content_type=spec.content_type, content_encoding=spec.content_encoding, **content
        )
        blob = self.container_client.get_blob_client(spec.key)
        single = source.size is not None and source.size <= self.upload_threshold
        # The SDK's own transfer: one Put Blob up to max_single_put_size, else blocks read from the
        # stream (max_concurrency at a time) and one Put Block List; overwrite=False sends
        # If-None-Match: * on both, so a create-only upload is atomic.
        try:
            self._call(
                "upload",
                spec.name,
                blob.upload_blob,
                _data(source),
                length=source.size,
                overwrite=not spec.create_only,
                content_settings=settings,
                max_concurrency=max(1, int(self.upload_max_conn or 1)),
                # Blocks are read ahead of sending: a stop (storages.transfer) is checked as
                # each is sent too, so a stopped upload never commits. Not for one Put Blob:
                # the SDK calls the hook after it committed (its reads were checked).
                progress_hook=None if single else source.checkpoint,
                **{k: v for k, v in params.items() if k not in content},
            )
        except BaseException as exc:
            if not isinstance(exc, FileExistsError) and not single:
                self._discard_blocks(blob, spec.name)
            raise

    # Drop the uncommitted blocks a failed upload left on a blob that does not exist (Azure keeps
    # them 7 days): an empty Put Block List discards them, and its empty blob is deleted if
    # unchanged. On a blob that exists they go at its next commit (or in 7 days).
    def _discard_blocks(self, blob: Any, name: str) -> None:
        # A dead endpoint adds <= 10 s.
        quick = {"retry_total": 0, "connection_timeout": 5, "read_timeout": 5}
        try:
            props = blob.commit_block_list([], match_condition=MatchConditions.IfMissing, **quick)
            blob.delete_blob(
                etag=props["etag"], match_condition=MatchConditions.IfNotModified, **quick
            )
        # The name exists (its blocks go at its next commit), or best effort failed.
        except Exception as exc:
            logger.debug(
                "%s: could not discard the blocks of %r: %r", type(self).__name__, name, exc
            )

    def _info(self, props: Any, size: int | None = None) -> ObjectInfo:
        settings = props.content_settings
        md5 = settings.content_md5
        return ObjectInfo(
            props.size if size is None else size,
            props.last_modified,
            props.creation_time,
            content_type=settings.content_type,
            content_encoding=settings.content_encoding,
            etag=(props.etag or "").strip('"') or None,
            hashes={"md5": bytes(md5).hex()} if md5 else {},
            extra={"metadata": props.metadata or {}, "cache_control": settings.cache_control},
        )

    def _stored_parameters(self, key: str) -> dict[str, Any] | None:
        blob = self.container_client.get_blob_client(key)
        try:
            props = self._call("stat", self._name(key), blob.get_blob_properties)
        except FileNotFoundError:
            return None
        settings = props.content_settings
        stored: dict[str, Any] = {k: getattr(settings, k, None) for k in _CONTENT_KEYS}
        stored.update(metadata=props.metadata or {}, standard_blob_tier=props.blob_tier)
        return stored  # tags are not in a blob's properties: sent along, never compared

    def _replace_parameters(self, key: str, params: dict[str, Any], stored: dict[str, Any]) -> None:
        blob, name = self.container_client.get_blob_client(key), self._name(key)
        # Set Blob Properties replaces every header: the stored encoding and MD5 go back as they
        # were.
        keep = {k: stored.get(k) for k in ("content_encoding", "content_md5")}
        content = {k: params.get(k) for k in _CONTENT_KEYS if k not in keep}
        self._call("set headers", name, blob.set_http_headers, ContentSettings(**content, **keep))
        if "metadata" in params:
            self._call("set metadata", name, blob.set_blob_metadata, params["metadata"] or {})
        if params.get("tags") is not None:
            self._call("set tags", name, blob.set_blob_tags, params["tags"])
        if params.get("standard_blob_tier"):
            self._call("set tier", name, blob.set_standard_blob_tier, params["standard_blob_tier"])

    def _stat(self, key: str) -> ObjectInfo:
        blob = self.container_client.get_blob_client(key)
        return self._info(self._call("stat", self._name(key), blob.get_blob_properties))

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        blob = self.container_client.get_blob_client(key)
        length = None if end is None else end - offset
        stored_md5: list[str | None] = []

        def keep_md5(response: Any, obj: Any, headers: Any) -> Any:
            # a ranged GET's Content-MD5 is the range's; x-ms-blob-content-md5 is the blob's
            stored_md5.append(headers.get("x-ms-blob-content-md5"))
            return _unsized_stream(response, obj, headers)

        extra = {"cls": keep_md5} if deserialize_blob_stream is not None else {}
        # offset=None for a whole read: the SDK then handles empty blobs itself.
        downloader = self._call(
            "read",
            name,
            blob.download_blob,
            offset=offset if offset or length else None,
            length=length,
            max_concurrency=1,
            decompress=False,
            **extra,
        )
        info = self._info(
            downloader.properties, int(downloader.properties.content_range.rsplit("/", 1)[1])
        )
        md5 = stored_md5[0] if stored_md5 else None  # the SDK hands it decoded (bytearray)
        md5 = bytes(md5).hex() if isinstance(md5, (bytes, bytearray)) else b64_to_hex(md5)
        info.hashes = {"md5": md5} if md5 else {}
        # The SDK checks each range's answer itself; it yields exactly downloader.size bytes.
        # Each further range is a GET: through _call for its errors.
        return ReadResult(
            ChunkReader(self._each("read range", name, downloader.chunks())),
            info,
            length=downloader.size,
        )

    def _delete(self, key: str) -> None:
        self._call(
            "delete",
            self._name(key),
            self.container_client.delete_blob,
            key,
            delete_snapshots="include",
        )

    def _pages(self, prefix: str, pages: Any) -> Iterator[list[Any]]:
        return (list(page) for page in self._each("list", prefix or None, pages))

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        pager = self.container_client.walk_blobs(
            name_starts_with=prefix or None, delimiter="/"
        ).by_page()
        for page in self._pages(prefix, pager):
            yield (
                [p.name for p in page if isinstance(p, BlobPrefix)],
                [b.name for b in page if not isinstance(b, BlobPrefix)],
            )

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        pager = self.container_client.list_blobs(
            name_starts_with=prefix or None, results_per_page=5000
        ).by_page()
        return (
            (blob.name, self._info(blob)) for page in self._pages(prefix, pager) for blob in page
        )

    # -- leftovers of killed uploads (checkstorages) -----------------------------------------------
    def _list_leftovers(self, older_than: dt.datetime) -> Iterator[Leftover]:
        """Blobs below ``location`` that have only uncommitted blocks (a block upload whose
        process died before its Put Block List), last written before ``older_than``. Azure drops
        them after 7 days; until then they hold the name's space. Blocks staged on a blob that
        exists go at its next commit, so only names with no committed blob are listed."""
        prefix = self._key("", allow_root=True).rstrip("/")
        prefix = prefix + "/" if prefix else None
        client = self.container_client
        committed = {
            blob.name
            for page in self._pages("", client.list_blobs(name_starts_with=prefix).by_page())
            for blob in page
        }
        pager = client.list_blobs(name_starts_with=prefix, include=["uncommittedblobs"]).by_page()
        for page in self._pages("", pager):
            for blob in page:
                started = blob.last_modified
                if blob.name in committed or started is None or started >= older_than:
                    continue
                blocks = self._call(
                    "stat",
                    blob.name,
                    client.get_blob_client(blob.name).get_block_list,
                    "uncommitted",
                )[1]
                yield Leftover(
                    key=blob.name,
                    started=started,
                    size=sum(b["size"] for b in blocks),
                    kind="uncommitted blocks",
                )

    def _remove_leftover(self, item: Leftover) -> None:
        self._discard_blocks(self.container_client.get_blob_client(item.key), item.key)

    def _delete_many(self, keys: list[str]) -> None:
        for batch in batches(keys, _BATCH):
            replies = self._call(
                "delete batch",
                None,
                self.container_client.delete_blobs,
                *batch,
                delete_snapshots="include",
                raise_on_any_failure=False,
            )
            for key, reply in zip(batch, replies):
                if reply.status_code not in (200, 202, 404):
                    super()._delete_many([key])  # alone, for a specific error

    def _probe_root(self) -> Any:
        return self._call(
            "container properties", None, self.container_client.get_container_properties
        )

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        # Server-side Copy Blob when ``source`` is an AzureStorage on the same account (endpoint).
        same = isinstance(source, AzureStorage) and len(
            {x.service_client.url.split("?")[0] for x in (self, source)}
        )
        if same != 1:
            return False
        url, signs = source.container_client.url.split("?")[0], source.account_key
        # With the account key the source signs a short read SAS; a token (or SAS) credential of the
        # same account authorizes the plain source URL itself.
        url = (
            source._signed_url(url, source_key, 3600, None, "r")
            if signs
            else join_url(url, source_key)
        )
        blob = self.container_client.get_blob_client(spec.key)
        condition = {"match_condition": MatchConditions.IfMissing} if spec.create_only else {}
        self._call(
            "copy", spec.name, blob.start_copy_from_url, url, requires_sync=None, **condition
        )
        # Copy Blob is asynchronous on Azure: wait (up to 10 min) for its end
        copy = poll(
            lambda: self._call("copy status", spec.name, blob.get_blob_properties).copy,
            lambda copy: copy.status != "pending",
            wait=0.2,
            most=0.2,
            limit=600,
        )
        if copy.status not in (None, "success"):
            raise StorageError(
                f"{type(self).__name__}: copy to {spec.name!r} ended {copy.status}: "
                f"{copy.status_description}"
            )
        return True

    def list_all(self, path: str = "") -> list[str]:
        """Every blob name under ``path``, recursively, relative to ``location`` (as in 1.14)."""
        return [name for name, _ in self.scan(path)]

    # -- URLs --------------------------------------------------------------
    def _container_url(self) -> str:
        def build() -> str:  # no query: a configured SAS token must not leak into links
            parts = urlsplit(self.container_client.url)
            host = (
                (self.azure_protocol, self.custom_domain)
                if self.custom_domain
                else (parts.scheme, parts.netloc)
            )
            return urlunsplit((*host, parts.path, "", ""))

        return self._lazy("_base_url", build)

    def get_user_delegation_key(self, expiry: dt.datetime) -> Any:
        """A user-delegation key valid until ``expiry``, fetched at most once a week."""
        with self._lock:
            if (cached := self.__dict__.get("_delegation")) is not None and cached[1] >= expiry:
                return cached[0]
            key_expiry = (
                (now := dt.datetime.now(dt.timezone.utc))
                + _DELEGATION_MAX
                - dt.timedelta(minutes=1)
            )
            if expiry > key_expiry:
                raise ValueError(
                    f"{type(self).__name__}: URLs signed with a token credential (user-delegation "
                    "SAS) last at most 7 days; use a shorter expire / AZURE_URL_EXPIRATION_SECS"
                )
            key = self._call(
                "get_user_delegation_key",
                None,
                self.service_client.get_user_delegation_key,
                key_start_time=now - dt.timedelta(minutes=5),
                key_expiry_time=key_expiry,
            )
            self._delegation = (key, key_expiry)
            return key

    def url(
        self,
        name: str,
        expire: int | float | dt.timedelta | None = None,
        parameters: dict[str, Any] | None = None,
        mode: str = "r",
    ) -> str:
        """A link to ``name``, made without a request (but a weekly user-delegation key).

        With an expiry (``expire``, else AZURE_URL_EXPIRATION_SECS) a SAS URL with ``mode``'s
        permissions ("r", "w", "cw"...) and ``parameters`` (content_disposition... overrides); else
        the plain URL."""
        key = self._key(name, allow_root=True)
        expire = self.expiration_secs if expire is None else expire
        expire = expire.total_seconds() if isinstance(expire, dt.timedelta) else expire
        if not expire:
            if mode != "r":
                raise ValueError(
                    f"{type(self).__name__}.url(mode={mode!r}) needs an expiry: pass expire= "
                    "or set AZURE_URL_EXPIRATION_SECS"
                )
            return join_url(self._container_url(), key)
        # AZURE_SIGNED_URL_WINDOW: one expiry per window, so a read URL is cacheable.
        when = signed_urls.expiry(expire, self.signed_url_window if mode == "r" else 0)
        return self._signed_url(self._container_url(), key, when.until, parameters, mode)

    def _signed_url(
        self,
        base: str,
        key: str,
        expire: float | dt.datetime,
        parameters: dict[str, Any] | None,
        mode: str,
    ) -> str:
        """A SAS URL valid for ``expire`` seconds from now, or until ``expire`` (a datetime)."""
        expiry = (
            expire
            if isinstance(expire, dt.datetime)
            else dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=float(expire))
        )
        if self.account_key or self.token_credential:
            signing = (
                {"account_key": self.account_key}
                if self.account_key
                else {"user_delegation_key": self.get_user_delegation_key(expiry)}
            )
        else:
            raise ImproperlyConfigured(
                f"{type(self).__name__} can't sign URLs without AZURE_ACCOUNT_KEY (or a "
                "connection string with AccountKey) or AZURE_TOKEN_CREDENTIAL; set "
                "AZURE_URL_EXPIRATION_SECS = None for plain URLs"
            )
        sas = generate_blob_sas(
            self.service_client.account_name,
            self.azure_container,
            key,
            permission=BlobSasPermissions.from_string(mode),
            expiry=expiry,
            **signing,
            **(parameters or {}),
        )
        return f"{join_url(base, key)}?{sas}"


@deconstructible
class AzureStorageFile(RemoteFile):
    """``AzureStorageFile(name, mode, storage)`` as in 1.14: ranged reads; writes committed on
    close()."""


AzureStorage.file_class = AzureStorageFile

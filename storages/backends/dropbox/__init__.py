"""Dropbox through the official SDK (API v2).

``save()`` is one ``files/upload`` up to ``CHUNK_SIZE`` (4 MiB), else an upload session; with
overwrite off it uploads in ``add`` mode without autorename, so a name taken meanwhile is a
conflict and the core retries under a new name. Requests per operation: docs/backends/dropbox.rst.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.backends.dropbox import compat
from storages.base import BaseStorage, batches, common_settings, poll
from storages.conf import MISSING, Setting
from storages.errors import StorageError, sdk_required, translate
from storages.files import ObjectInfo, ReadResult, RemoteFile, UploadSpec, http_range, parse_time
from storages.transfer import FullReader, UploadSource, WriteBuffer

if TYPE_CHECKING:
    from storages.direct import TicketRequest, UploadTicket

with sdk_required("The Dropbox backend", "the dropbox SDK", "dropbox"):
    import dropbox
    import requests
    from dropbox import files as dbx_files
    from dropbox.exceptions import (
        ApiError,
        AuthError,
        BadInputError,
        DropboxException,
        HttpError,
        InternalServerError,
        PathRootError,
        RateLimitError,
    )

__all__ = [
    "DropboxStorage",
    "DropboxFile",
    "DropboxStorageException",
    "DropBoxStorage",
    "DropBoxFile",
    "DropBoxStorageException",
]

#: Seconds per connect and per read: an unresponsive server fails in well under a minute.
_DEFAULT_TIMEOUT = 25
_DEFAULT_MODE = "add"
_WRITE_MODES = ("add", "overwrite")
_BATCH = 1000  # delete_batch entries per request (the API's limit)


class DropboxStorageException(StorageError):
    """A Dropbox error with no more specific Python equivalent."""


# Tags found in a route error (LookupError / WriteError / WriteConflictError) -> exception.
_ERRORS: dict[str | int, type[BaseException]] = {
    "not_found": FileNotFoundError,
    "conflict": FileExistsError,
    "not_file": IsADirectoryError,
    "not_folder": NotADirectoryError,
    "no_write_permission": PermissionError,
    "restricted_content": PermissionError,
    "team_folder": PermissionError,
}

_SETTINGS = (
    Setting(
        "oauth2_access_token",
        ("DROPBOX_OAUTH2_TOKEN",),
        None,
        secret=True,
        doc="An access token (long- or short-lived); also the first positional argument.",
    ),
    Setting(
        "app_key", ("DROPBOX_APP_KEY",), None, doc="App key, for refresh-token authentication."
    ),
    Setting(
        "app_secret",
        ("DROPBOX_APP_SECRET",),
        None,
        secret=True,
        doc="App secret (may be left out for PKCE refresh tokens).",
    ),
    Setting(
        "oauth2_refresh_token",
        ("DROPBOX_OAUTH2_REFRESH_TOKEN",),
        None,
        secret=True,
        doc="A refresh token: the SDK gets and renews access tokens with it (needs app_key).",
    ),
    Setting(
        "root_path",
        ("DROPBOX_ROOT_PATH",),
        "/",
        doc="Folder that holds every file; names can't leave it.",
    ),
    Setting("location", (), None, doc="Deprecated: use root_path (copied into it with a warning)."),
    # Not the common location setting: location is root_path here.
    *(s for s in common_settings("DROPBOX_") if s.name in ("read_ahead", "write_buffer")),
    Setting(
        "timeout",
        ("DROPBOX_TIMEOUT",),
        _DEFAULT_TIMEOUT,
        doc=(
            "Seconds to wait to connect and for each read from the server (a (connect, read) pair "
            "is accepted too); a silent server fails after this long."
        ),
    ),
    Setting(
        "write_mode",
        ("DROPBOX_WRITE_MODE",),
        _DEFAULT_MODE,
        doc="'add' keeps existing files (a new name is chosen); 'overwrite' replaces them.",
    ),
    Setting(
        "file_overwrite",
        ("DROPBOX_FILE_OVERWRITE",),
        None,
        doc="Boolean overwrite switch; unset means write_mode == 'overwrite'.",
    ),
    Setting(
        "api_host",
        ("DROPBOX_API_HOST",),
        None,
        env=("DROPBOX_API_HOST",),
        doc=(
            "host[:port] for API calls instead of api.dropboxapi.com (a gateway or a test "
            "stand-in)."
        ),
    ),
    Setting(
        "content_host",
        ("DROPBOX_API_CONTENT_HOST",),
        None,
        env=("DROPBOX_API_CONTENT_HOST",),
        doc="host[:port] for uploads and downloads; defaults to api_host when that is set.",
    ),
    Setting(
        "ca_certs",
        ("DROPBOX_CA_CERTS",),
        None,
        doc=(
            "CA bundle to trust instead of the system one (environment CA/proxy variables are then "
            "ignored)."
        ),
    ),
)


class _Client(dropbox.Dropbox):
    """The SDK client, with token refresh serialised and sent to the configured API host."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._refresh_lock = threading.Lock()

    def check_and_refresh_access_token(self) -> None:
        # 16 threads starting at once would otherwise each refresh the token.
        with self._refresh_lock:
            super().check_and_refresh_access_token()

    def refresh_access_token(self, host: str | None = None, scope: Any = None) -> None:
        # The SDK binds the token host at import time; follow the client's host map.
        super().refresh_access_token(host=host or self._host_map["api"], scope=scope)


class _ResponseBody:
    """A download's HTTP body as a stream: read(n) / readinto() from urllib3, close() releases
    it."""

    def __init__(self, response: Any) -> None:
        response.raw.decode_content = True
        self.read, self.readinto, self.close = (
            response.raw.read,
            response.raw.readinto,
            response.close,
        )


def _tags(error: Any) -> list[str]:
    """The chain of union tags in an SDK route error, e.g. ['path', 'conflict', 'file']."""
    tags: list[str] = []
    value = error
    for _ in range(6):
        if hasattr(value, "reason") and not hasattr(value, "_tag"):
            value = value.reason  # UploadWriteFailed: a struct around a WriteError
            continue
        tag = getattr(value, "_tag", None)
        if tag is None:
            break
        tags.append(tag)
        value = getattr(value, "_value", None)
    return tags


@deconstructible
class DropboxStorage(BaseStorage):
    """Files in a Dropbox account, under ``root_path``."""

    leftovers_note = (
        "nothing to list: an unfinished upload session keeps no file and expires by itself "
        "after 7 days"
    )
    settings_table = _SETTINGS
    overwrite_option = "file_overwrite"
    positional_args_are_secret = True  # DropboxStorage("<token>")
    uses_key_prefix = False  # root_path is checked in configure()
    endpoint_setting = 'DROPBOX_API_HOST (OPTIONS["api_host"]), DROPBOX_TIMEOUT'
    # Traits the system checks read (see BaseStorage).
    credential_options = (("oauth2_access_token",), ("oauth2_refresh_token", "app_key"))
    paired_options = (("oauth2_refresh_token", "app_key"),)
    direct_upload_max_size = 150 * 1024 * 1024  # what one temporary upload link takes
    max_component_bytes = 255  # Dropbox refuses longer path components
    root_missing_errors = (FileNotFoundError, NotADirectoryError)
    missing_times: ClassVar[dict[str, str]] = {
        "created": "Dropbox reports only client_modified and server_modified",
        "accessed": "Dropbox does not record access times",
    }
    #: Upload chunk: files up to this size go in one request, larger ones in sessions of these
    #: chunks.
    CHUNK_SIZE: ClassVar[int] = 4 * 1024 * 1024

    def direct_upload_ticket(self, request: TicketRequest) -> UploadTicket:
        """A browser's direct upload of ``request.name`` (see :mod:`storages.direct`)."""
        from storages.backends.dropbox import direct

        return direct.ticket(self, request)

    def __init__(self, oauth2_access_token: Any = MISSING, **options: Any) -> None:
        if oauth2_access_token is not MISSING:
            options["oauth2_access_token"] = oauth2_access_token
        super().__init__(**options)

    def configure(self) -> None:
        self._credentials()  # no usable credentials: fail now, as 1.14 did
        root = self.root_path
        if self.location is not None:
            warnings.warn(
                "DropboxStorage: the 'location' option is deprecated; use root_path "
                "(DROPBOX_ROOT_PATH).",
                DeprecationWarning,
                stacklevel=4,
            )
            if root in (None, "", "/"):
                root = self.location
        root = str(root or "/").replace("\\", "/")
        if ".." in root.split("/"):
            raise ImproperlyConfigured(
                f"DropboxStorage: DROPBOX_ROOT_PATH must not contain '..' (got {root!r})."
            )
        prefix = naming.clean_name(root).strip("/")
        self.root_path = "/" + prefix
        # The core joins every name under ``location`` (and refuses escapes); here it
        # is the root path without its slashes, and _path() adds the leading one.
        self.location = prefix
        mode = str(self.write_mode or _DEFAULT_MODE).lower()
        if mode not in _WRITE_MODES:
            raise ImproperlyConfigured(
                "DropboxStorage: DROPBOX_WRITE_MODE must be 'add' or 'overwrite' (got "
                f"{self.write_mode!r}); 'update' needs a revision per file and can't be a "
                "storage-wide setting."
            )
        self.write_mode = mode
        if self.file_overwrite is None:
            self.file_overwrite = mode == "overwrite"
        self.file_overwrite = bool(self.file_overwrite)
        self.upload_threshold = self.upload_part_size = int(self.CHUNK_SIZE)

    def _apply_write_buffer(self, config: WriteBuffer | None) -> WriteBuffer:
        """``write_buffer``'s part size is the upload session's chunk (over CHUNK_SIZE), sent one
        at a time."""
        if config is not None and config.part_size is not None:
            self.CHUNK_SIZE = self.upload_threshold = self.upload_part_size = config.part_size
        return WriteBuffer(part_size=int(self.CHUNK_SIZE), concurrency=1)

    # -- connection ----------------------------------------------------------------
    def _credentials(self) -> dict[str, Any]:
        if self.oauth2_refresh_token:
            if not self.app_key:
                raise ImproperlyConfigured(
                    "DropboxStorage: a refresh token (DROPBOX_OAUTH2_REFRESH_TOKEN) needs the app "
                    'key: set DROPBOX_APP_KEY (OPTIONS["app_key"]), and DROPBOX_APP_SECRET unless '
                    "the token came from PKCE."
                )
            return {
                "oauth2_access_token": self.oauth2_access_token or None,
                "oauth2_refresh_token": self.oauth2_refresh_token,
                "app_key": self.app_key,
                "app_secret": self.app_secret or None,
            }
        if self.oauth2_access_token:
            return {"oauth2_access_token": self.oauth2_access_token}
        raise ImproperlyConfigured(
            "DropboxStorage has no usable credentials: set DROPBOX_OAUTH2_TOKEN "
            '(OPTIONS["oauth2_access_token"]), or DROPBOX_APP_KEY + DROPBOX_APP_SECRET + '
            'DROPBOX_OAUTH2_REFRESH_TOKEN (OPTIONS["app_key"], ["app_secret"], '
            '["oauth2_refresh_token"]).'
        )

    @property
    def client(self) -> dropbox.Dropbox:
        """The SDK client (created on first use, shared by threads)."""
        return self._lazy("_dbx", self._new_client)

    def _connection_pool_size(self) -> int:
        return 32  # create_session(max_connections=32) below

    def _new_client(self) -> dropbox.Dropbox:
        session = dropbox.create_session(max_connections=32, ca_certs=self.ca_certs or None)
        if self.ca_certs:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify.
            session.trust_env = False
        timeout = tuple(self.timeout) if isinstance(self.timeout, (list, tuple)) else self.timeout
        dbx = _Client(
            **self._credentials(),
            timeout=timeout,
            session=session,
            max_retries_on_error=3,
            max_retries_on_rate_limit=5,
        )
        if self.api_host or self.content_host:
            api = self.api_host or dbx._host_map["api"]
            content = self.content_host or self.api_host or dbx._host_map["content"]
            dbx._host_map = {**dbx._host_map, "api": api, "content": content}
        return dbx

    def _api(self, method: str, name: str | None, *args: Any, **kwargs: Any) -> Any:
        """One SDK route call through the core's call wrapper."""
        return self._call(method, name, getattr(self.client, method), *args, **kwargs)

    # -- errors ---------------------------------------------------------------------------
    def _endpoint_label(self) -> str:
        return f"Dropbox at {self.api_host or 'api.dropboxapi.com'}"

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        label = type(self).__name__
        if isinstance(exc, ApiError):
            return self._route_error(exc.error, name)
        if isinstance(exc, AuthError):
            return self._auth_error(exc, name)
        if isinstance(exc, PathRootError):
            return ImproperlyConfigured(f"{label}: Dropbox rejected the path root ({exc.error})")
        if isinstance(exc, (InternalServerError, RateLimitError)):
            return self._unavailable(
                exc, op, f"Dropbox ({type(exc).__name__}, after the SDK's retries)"
            )
        if isinstance(exc, BadInputError):
            return DropboxStorageException(
                f"{label}: Dropbox refused {op} of {name!r} as bad input: "
                f"{self._scrub(str(exc.message))[:300]}"
            )
        if isinstance(exc, HttpError):
            return DropboxStorageException(
                f"{label}: HTTP {exc.status_code} from Dropbox during {op} of {name!r}"
            )
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            new = self._unavailable(exc, op)
            if isinstance(exc, requests.exceptions.SSLError):
                new.args = (f"{new.args[0]}, or the CA bundle (DROPBOX_CA_CERTS)",)
            return new
        if isinstance(exc, DropboxException):
            return DropboxStorageException(f"{label}: {type(exc).__name__} during {op}")
        return None

    def _auth_error(self, exc: AuthError, name: str | None) -> BaseException:
        tag = getattr(exc.error, "_tag", None) or "auth_error"
        if self.oauth2_refresh_token:
            where = (
                "DROPBOX_OAUTH2_REFRESH_TOKEN, DROPBOX_APP_KEY and DROPBOX_APP_SECRET "
                '(OPTIONS["oauth2_refresh_token"], ["app_key"], ["app_secret"])'
            )
        else:
            where = 'DROPBOX_OAUTH2_TOKEN (OPTIONS["oauth2_access_token"])'
        if tag == "missing_scope":
            scope = getattr(getattr(exc.error, "_value", None), "required_scope", "?")
            detail = (
                f"the app lacks the scope {scope!r}; enable it in the Dropbox App Console and get "
                "a new token"
            )
        else:
            detail = f"{tag}: check {where}"
        what = repr(name) if name else "the storage root"
        return PermissionError(
            13, f"{type(self).__name__} was denied access to {what} ({detail})", name
        )

    def _route_error(self, error: Any, name: str | None) -> BaseException:
        tags = _tags(error)
        label = type(self).__name__
        if "conflict" in tags and "file_ancestor" in tags:
            return NotADirectoryError(
                20,
                f"{label}: a file is in the way of a parent folder of {name!r}; check "
                f"DROPBOX_ROOT_PATH ({self.root_path!r}) and the name",
                name,
            )
        if "conflict" in tags and "folder" in tags:
            return FileExistsError(17, f"{label}: a folder is already named {name!r}", name)
        for tag in tags:
            found = translate(
                tag, _ERRORS, storage=self, name=name, detail=f"Dropbox says {'/'.join(tags)}"
            )
            if found is not None:
                return found
        if "insufficient_space" in tags:
            return DropboxStorageException(
                f"{label}: the Dropbox account is out of space (saving {name!r})"
            )
        return DropboxStorageException(
            f"{label}: Dropbox error {'/'.join(tags) or error!r} on {name!r}"
        )

    # -- primitives ---------------------------------------------------------------------------
    def _key(self, name: str, *, allow_root: bool = False) -> str:
        # 1.14 read a name with a leading slash as a Dropbox path, accepted when it lies under
        # root_path ("/foo.txt" with the default root "/", "/media/a.txt" under "/media"), and
        # sites stored such names in FileField columns: they map to the same file here. Any
        # other absolute name is still refused by the core, and ".." that leaves the root too.
        if isinstance(name, str) and name.startswith("/") and name.strip("/"):
            root = self.root_path.rstrip("/")
            if not root:
                name = name.lstrip("/")
            elif name == root or name.startswith(root + "/"):
                name = name[len(root) :].lstrip("/")
        return super()._key(name, allow_root=allow_root)

    @staticmethod
    def _path(key: str) -> str:
        """A Dropbox path for a key ('' is the account root)."""
        return "/" + key.strip("/") if key.strip("/") else ""

    def _info(self, md: Any) -> ObjectInfo:
        if isinstance(md, dbx_files.FolderMetadata):
            # Dropbox folders are real: exists() is true for them, as on a disk.
            return ObjectInfo(size=0, extra={"folder": True, "id": md.id})
        return ObjectInfo(
            size=md.size,
            modified=parse_time(md.server_modified),
            etag=md.rev,
            hashes={"dropbox": md.content_hash} if md.content_hash else {},
            extra={"id": md.id, "content_hash": md.content_hash, "path_display": md.path_display},
        )

    def _stat(self, key: str) -> ObjectInfo:
        try:
            md = self._api("files_get_metadata", self._name(key), self._path(key))
        except NotADirectoryError as exc:
            # a file where a parent folder should be: the name does not exist
            raise FileNotFoundError(
                2, f"No such file in {type(self).__name__}: {self._name(key)!r}", self._name(key)
            ) from exc
        if not isinstance(md, (dbx_files.FileMetadata, dbx_files.FolderMetadata)):
            raise FileNotFoundError(
                2, f"No such file in {type(self).__name__}: {self._name(key)!r}", key
            )
        return self._info(md)

    def _dir_exists(self, key: str) -> bool:
        # _stat() already answers for folders, but the core may ask this alone (a run's listing
        # has files only), so it asks Dropbox.
        try:
            return isinstance(
                self._api("files_get_metadata", self._name(key), self._path(key)),
                dbx_files.FolderMetadata,
            )
        except (FileNotFoundError, NotADirectoryError):
            return False

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        # One request per call, no shared state: safe from read-ahead threads.
        md, response = self._call(
            "files_download",
            self._name(key),
            compat.dropbox_download,
            self.client,
            self._path(key),
            http_range(offset, end) or None,
        )
        headers = response.headers
        length = None if headers.get("Content-Encoding") else headers.get("Content-Length")
        return ReadResult(
            _ResponseBody(response),  # decoded: the stored bytes whatever the Content-Encoding
            self._info(md),
            status=response.status_code,
            content_range=headers.get("Content-Range"),
            length=int(length) if length and length.isdigit() else None,
        )

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        """``files/upload`` for content up to CHUNK_SIZE, else an upload session fed in CHUNK_SIZE
        reads.

        Create-only is ``add`` without autorename; strict_conflict makes identical content a
        conflict too (Dropbox would otherwise accept it silently). An unfinished session (the
        source failed or the writer aborted) stores nothing and expires on Dropbox's side.
        """
        commit = {
            "mode": dbx_files.WriteMode.add if spec.create_only else dbx_files.WriteMode.overwrite,
            "autorename": False,
            "strict_conflict": spec.create_only,
        }
        path, size, reader = self._path(spec.key), int(self.CHUNK_SIZE), FullReader(source.fileobj)
        data = reader.read(size if source.size is None else min(size, source.size))
        if len(data) < size or source.size == size:
            self._api("files_upload", spec.name, data, path, **commit)
            return
        session = self._api("files_upload_session_start", spec.name, data).session_id
        cursor = dbx_files.UploadSessionCursor(session, len(data))
        while True:
            del data  # the chunk sent: not held while the next one is read
            data = reader.read(size)
            # The last chunk goes with finish.
            if len(data) < size or cursor.offset + len(data) == source.size:
                self._api(
                    "files_upload_session_finish",
                    spec.name,
                    data,
                    cursor,
                    dbx_files.CommitInfo(path, **commit),
                )
                return
            self._api("files_upload_session_append_v2", spec.name, data, cursor)
            cursor.offset += len(data)

    def _delete(self, key: str) -> None:
        self._api("files_delete_v2", self._name(key), self._path(key))

    def _delete_many(self, keys: list[str]) -> None:
        """``delete_batch`` per 1000 keys, then ``delete_batch/check`` until the job is done."""
        for batch in batches(keys, _BATCH):
            entries = [dbx_files.DeleteArg(self._path(key)) for key in batch]
            status = self._api("files_delete_batch", None, entries)
            if status.is_async_job_id():
                check = functools.partial(
                    self._api, "files_delete_batch_check", None, status.get_async_job_id()
                )
                status = poll(check, lambda s: not s.is_in_progress())
            if not status.is_complete():
                raise DropboxStorageException(
                    f"{type(self).__name__}: delete_batch failed ({_tags(status)})"
                )
            for key, entry in zip(batch, status.get_complete().entries):
                if entry.is_failure() and "not_found" not in _tags(entry.get_failure()):
                    raise self._route_error(entry.get_failure(), self._name(key))

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        for page in self._pages(prefix, recursive=False):
            dirs = [f"{prefix}{e.name}/" for e in page if isinstance(e, dbx_files.FolderMetadata)]
            files = [f"{prefix}{e.name}" for e in page if isinstance(e, dbx_files.FileMetadata)]
            yield dirs, files

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        base = len(self._path(prefix)) + 1
        for page in self._pages(prefix, recursive=True):
            for entry in page:
                if isinstance(entry, dbx_files.FileMetadata):
                    # path_display keeps the stored casing of the part below the prefix
                    yield prefix + entry.path_display[base:], self._info(entry)

    def _pages(self, prefix: str, recursive: bool) -> Iterator[list[Any]]:
        """Entries of a folder listing, page by page (``list_folder`` + ``continue``)."""
        try:
            page = self._api("files_list_folder", prefix, self._path(prefix), recursive=recursive)
        except (FileNotFoundError, NotADirectoryError):
            return
        while True:
            yield page.entries
            if not page.has_more:
                return
            page = self._api("files_list_folder_continue", prefix, page.cursor)

    def _probe_root(self) -> Any:
        return self._api("files_list_folder", None, self._path(self.location), limit=1)

    def _open(self, name: str, mode: str = "rb") -> RemoteFile:
        return self.file_class(name, self, mode)

    def url(self, name: str) -> str:
        """A temporary link (valid for four hours) to download ``name``: one request."""
        key = self._key(name)
        return self._api("files_get_temporary_link", name, self._path(key)).link


class DropboxFile(RemoteFile):
    """A file in Dropbox (``DropboxStorage.open()`` returns one); 1.14's ``DropboxFile(name,
    storage)``."""

    def __init__(self, name: str, storage: DropboxStorage, mode: str = "rb") -> None:
        super().__init__(name, mode, storage)


DropboxStorage.file_class = DropboxFile

# The pre-1.14 spellings.
DropBoxStorage = DropboxStorage
DropBoxFile = DropboxFile
DropBoxStorageException = DropboxStorageException

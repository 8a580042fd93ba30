"""Dropbox through the official SDK (API v2).

Requests per operation: ``save()`` one ``files/upload`` up to 4 MiB, else an
upload session (``start``, one ``append_v2`` per 4 MiB, ``finish`` with the
last chunk); overwrite off adds the ``get_metadata`` of Django's name check and
uploads in ``add`` mode without autorename, so a name taken meanwhile is a
conflict and the core retries under a new name. ``open()`` + ``read()`` one
``files/download`` (streamed; a ``Range`` request after ``seek()``);
``exists()`` / ``size()`` / ``get_modified_time()`` one ``get_metadata``;
``url()`` one ``get_temporary_link``; ``listdir()`` one ``list_folder`` plus one
``list_folder/continue`` per further page.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.base import BaseStorage
from storages.conf import MISSING, Setting
from storages.errors import StorageError, StorageUnavailable, translate
from storages.files import ChunkedUpload, ObjectInfo, ReadResult, RemoteFile, UploadSpec

try:
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
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured(
        "The Dropbox backend needs the dropbox SDK: pip install 'django-storages[dropbox]'"
    ) from exc

logger = logging.getLogger(__name__)

__all__ = [
    "DropboxStorage",
    "DropboxFile",
    "DropboxStorageException",
    "DropBoxStorage",
    "DropBoxFile",
    "DropBoxStorageException",
]

_DEFAULT_TIMEOUT = 100
_DEFAULT_MODE = "add"
_WRITE_MODES = ("add", "overwrite")


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
    Setting("oauth2_access_token", ("DROPBOX_OAUTH2_TOKEN",), None, secret=True,
            doc="An access token (long- or short-lived); also the first positional argument."),
    Setting("app_key", ("DROPBOX_APP_KEY",), None, doc="App key, for refresh-token authentication."),
    Setting("app_secret", ("DROPBOX_APP_SECRET",), None, secret=True,
            doc="App secret (may be left out for PKCE refresh tokens)."),
    Setting("oauth2_refresh_token", ("DROPBOX_OAUTH2_REFRESH_TOKEN",), None, secret=True,
            doc="A refresh token: the SDK gets and renews access tokens with it (needs app_key)."),
    Setting("root_path", ("DROPBOX_ROOT_PATH",), "/",
            doc="Folder that holds every file; names can't leave it."),
    Setting("location", (), None, doc="Deprecated: use root_path (copied into it with a warning)."),
    Setting("timeout", ("DROPBOX_TIMEOUT",), _DEFAULT_TIMEOUT, doc="Seconds to wait for the server."),
    Setting("write_mode", ("DROPBOX_WRITE_MODE",), _DEFAULT_MODE,
            doc="'add' keeps existing files (a new name is chosen); 'overwrite' replaces them."),
    Setting("file_overwrite", ("DROPBOX_FILE_OVERWRITE",), None,
            doc="Boolean overwrite switch; unset means write_mode == 'overwrite'."),
    Setting("api_host", ("DROPBOX_API_HOST",), None, env=("DROPBOX_API_HOST",),
            doc="host[:port] for API calls instead of api.dropboxapi.com (a gateway or a test stand-in)."),
    Setting("content_host", ("DROPBOX_API_CONTENT_HOST",), None, env=("DROPBOX_API_CONTENT_HOST",),
            doc="host[:port] for uploads and downloads; defaults to api_host when that is set."),
    Setting("ca_certs", ("DROPBOX_CA_CERTS",), None,
            doc="CA bundle to trust instead of the system one (environment CA/proxy variables are then ignored)."),
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
    """A download's HTTP body as a stream: read(n) / readinto() / close()."""

    def __init__(self, response: Any) -> None:
        self._response = response
        self._raw = response.raw
        self._raw.decode_content = True

    def read(self, n: int = -1) -> bytes:
        return self._raw.read(None if n is None or n < 0 else n)

    def readinto(self, buffer: Any) -> int:
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._response.close()


class _EmptyBody:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _DropboxSink:
    """``files/upload`` for small files; an upload session (start/append/finish) for large ones.

    The last chunk is held back and sent with ``finish``, saving one request.
    """

    def __init__(self, storage: DropboxStorage, spec: UploadSpec) -> None:
        self.storage = storage
        self.spec = spec
        self.path = storage._path(spec.key)
        self.session_id: str | None = None
        self.offset = 0
        self.pending: bytes | None = None
        # Create-only: 'add' without autorename; strict_conflict makes identical
        # content a conflict too (Dropbox would otherwise accept it silently).
        if spec.create_only:
            self.mode, self.strict = dbx_files.WriteMode.add, True
        else:
            self.mode, self.strict = dbx_files.WriteMode.overwrite, False

    def single(self, data: bytes) -> None:
        self.storage._call("files_upload", self.spec.name, data, self.path, mode=self.mode, autorename=False,
                           strict_conflict=self.strict, nbytes=len(data))

    def begin(self) -> None:
        self.session_id, self.offset, self.pending = None, 0, None

    def part(self, number: int, data: bytes) -> None:
        if self.pending is not None:
            self._push(self.pending)
        self.pending = data

    def _push(self, data: bytes) -> None:
        if self.session_id is None:
            reply = self.storage._call("files_upload_session_start", self.spec.name, data, nbytes=len(data))
            self.session_id = reply.session_id
        else:
            cursor = dbx_files.UploadSessionCursor(self.session_id, self.offset)
            self.storage._call("files_upload_session_append_v2", self.spec.name, data, cursor, nbytes=len(data))
        self.offset += len(data)

    def finish(self) -> None:
        data, self.pending = self.pending or b"", None
        if self.session_id is None:
            self.single(data)
            return
        cursor = dbx_files.UploadSessionCursor(self.session_id, self.offset)
        commit = dbx_files.CommitInfo(self.path, mode=self.mode, autorename=False, strict_conflict=self.strict)
        self.storage._call("files_upload_session_finish", self.spec.name, data, cursor, commit, nbytes=len(data))
        self.session_id = None

    def abort(self) -> None:
        # Dropbox has no call to cancel a session: unfinished sessions expire on their own.
        self.session_id, self.pending = None, None


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

    settings_table = _SETTINGS
    overwrite_option = "file_overwrite"
    transient_attributes = ("_dbx",)
    positional_args_are_secret = True  # DropboxStorage("<token>")
    uses_key_prefix = False  # root_path is checked in configure()
    missing_times: ClassVar[dict[str, str]] = {
        "created": "Dropbox reports only client_modified and server_modified",
        "accessed": "Dropbox does not record access times",
    }
    #: Upload chunk: files up to this size go in one request, larger ones in sessions of these chunks.
    CHUNK_SIZE: ClassVar[int] = 4 * 1024 * 1024

    def __init__(self, oauth2_access_token: Any = MISSING, **options: Any) -> None:
        if oauth2_access_token is not MISSING:
            options["oauth2_access_token"] = oauth2_access_token
        super().__init__(**options)

    def configure(self) -> None:
        root = self.root_path
        if self.location is not None:
            warnings.warn(
                "DropboxStorage: the 'location' option is deprecated; use root_path (DROPBOX_ROOT_PATH).",
                DeprecationWarning, stacklevel=4,
            )
            if root in (None, "", "/"):
                root = self.location
        root = str(root or "/").replace("\\", "/")
        if ".." in root.split("/"):
            raise ImproperlyConfigured(f"DropboxStorage: DROPBOX_ROOT_PATH must not contain '..' (got {root!r}).")
        prefix = naming.clean_name(root).strip("/")
        self.root_path = "/" + prefix
        # The core joins every name under ``location`` (and refuses escapes); here it
        # is the root path without its slashes, and _path() adds the leading one.
        self.location = prefix
        mode = str(self.write_mode or _DEFAULT_MODE).lower()
        if mode not in _WRITE_MODES:
            raise ImproperlyConfigured(
                f"DropboxStorage: DROPBOX_WRITE_MODE must be 'add' or 'overwrite' (got {self.write_mode!r}); "
                "'update' needs a revision per file and can't be a storage-wide setting."
            )
        self.write_mode = mode
        if self.file_overwrite is None:
            self.file_overwrite = mode == "overwrite"
        self.file_overwrite = bool(self.file_overwrite)
        self.upload_threshold = self.upload_part_size = int(self.CHUNK_SIZE)

    # -- connection ----------------------------------------------------------------
    def _credentials(self) -> dict[str, Any]:
        if self.oauth2_refresh_token:
            if not self.app_key:
                raise ImproperlyConfigured(
                    "DropboxStorage: a refresh token (DROPBOX_OAUTH2_REFRESH_TOKEN) needs the app key: "
                    "set DROPBOX_APP_KEY (OPTIONS[\"app_key\"]), and DROPBOX_APP_SECRET unless the token came "
                    "from PKCE."
                )
            return {"oauth2_access_token": self.oauth2_access_token or None,
                    "oauth2_refresh_token": self.oauth2_refresh_token,
                    "app_key": self.app_key, "app_secret": self.app_secret or None}
        if self.oauth2_access_token:
            return {"oauth2_access_token": self.oauth2_access_token}
        raise ImproperlyConfigured(
            "DropboxStorage has no usable credentials: set DROPBOX_OAUTH2_TOKEN (OPTIONS[\"oauth2_access_token\"]), "
            "or DROPBOX_APP_KEY + DROPBOX_APP_SECRET + DROPBOX_OAUTH2_REFRESH_TOKEN "
            "(OPTIONS[\"app_key\"], [\"app_secret\"], [\"oauth2_refresh_token\"])."
        )

    @property
    def client(self) -> dropbox.Dropbox:
        """The SDK client (created on first use, shared by threads)."""
        dbx = self.__dict__.get("_dbx")
        if dbx is None:
            with self._lock:
                dbx = self.__dict__.get("_dbx")
                if dbx is None:
                    dbx = self._new_client()
                    self._dbx = dbx
        return dbx

    def _new_client(self) -> dropbox.Dropbox:
        session = dropbox.create_session(max_connections=32, ca_certs=self.ca_certs or None)
        if self.ca_certs:
            # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override session.verify.
            session.trust_env = False
        dbx = _Client(**self._credentials(), timeout=self.timeout, session=session,
                      max_retries_on_error=3, max_retries_on_rate_limit=5)
        if self.api_host or self.content_host:
            api = self.api_host or dbx._host_map["api"]
            content = self.content_host or self.api_host or dbx._host_map["content"]
            dbx._host_map = {**dbx._host_map, "api": api, "content": content}
        return dbx

    # -- errors and logging ----------------------------------------------------------------
    def _call(self, method: str, name: str | None, *args: Any, nbytes: int | None = None, **kwargs: Any) -> Any:
        """One Dropbox request: timed, logged at DEBUG, errors translated."""
        client = self.client
        start = time.perf_counter()
        try:
            reply = getattr(client, method)(*args, **kwargs)
        except ApiError as exc:
            raise self._api_error(exc, name) from exc
        except AuthError as exc:
            raise self._auth_error(exc, name) from exc
        except PathRootError as exc:
            raise ImproperlyConfigured(f"{type(self).__name__}: Dropbox rejected the path root ({exc.error})") from exc
        except (InternalServerError, RateLimitError) as exc:
            raise StorageUnavailable(
                f"{type(self).__name__}: Dropbox is unavailable ({type(exc).__name__}) during {method} of {name!r}"
            ) from exc
        except BadInputError as exc:
            raise DropboxStorageException(
                f"{type(self).__name__}: Dropbox refused {method} of {name!r} as bad input: "
                f"{self._scrub(str(exc.message))[:300]}"
            ) from exc
        except HttpError as exc:
            raise DropboxStorageException(
                f"{type(self).__name__}: HTTP {exc.status_code} from Dropbox during {method} of {name!r}"
            ) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            host = self.api_host or "api.dropboxapi.com"
            hint = " or the CA bundle (DROPBOX_CA_CERTS)" if isinstance(exc, requests.exceptions.SSLError) else ""
            raise StorageUnavailable(
                f"{type(self).__name__} could not reach Dropbox at {host} ({type(exc).__name__}); "
                f"check the network{hint}"
            ) from exc
        except DropboxException as exc:
            raise DropboxStorageException(f"{type(self).__name__}: {type(exc).__name__} during {method}") from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("dropbox %s name=%s bytes=%s %.1fms", method, name, nbytes,
                         (time.perf_counter() - start) * 1000)
        return reply

    def _scrub(self, text: str) -> str:
        for secret in (self.oauth2_access_token, self.oauth2_refresh_token, self.app_secret):
            if secret:
                text = text.replace(str(secret), "***")
        return text

    def _auth_error(self, exc: AuthError, name: str | None) -> BaseException:
        tag = getattr(exc.error, "_tag", None) or "auth_error"
        if self.oauth2_refresh_token:
            where = ("DROPBOX_OAUTH2_REFRESH_TOKEN, DROPBOX_APP_KEY and DROPBOX_APP_SECRET "
                     "(OPTIONS[\"oauth2_refresh_token\"], [\"app_key\"], [\"app_secret\"])")
        else:
            where = "DROPBOX_OAUTH2_TOKEN (OPTIONS[\"oauth2_access_token\"])"
        if tag == "missing_scope":
            scope = getattr(getattr(exc.error, "_value", None), "required_scope", "?")
            detail = f"the app lacks the scope {scope!r}; enable it in the Dropbox App Console and get a new token"
        else:
            detail = f"{tag}: check {where}"
        what = repr(name) if name else "the storage root"
        return PermissionError(13, f"{type(self).__name__} was denied access to {what} ({detail})", name)

    def _api_error(self, exc: ApiError, name: str | None) -> BaseException:
        tags = _tags(exc.error)
        label = type(self).__name__
        if "conflict" in tags and "file_ancestor" in tags:
            return NotADirectoryError(
                20, f"{label}: a file is in the way of a parent folder of {name!r}; check DROPBOX_ROOT_PATH "
                    f"({self.root_path!r}) and the name", name)
        if "conflict" in tags and "folder" in tags:
            return FileExistsError(17, f"{label}: a folder is already named {name!r}", name)
        for tag in tags:
            found = translate(tag, _ERRORS, storage=self, name=name, detail=f"Dropbox says {'/'.join(tags)}")
            if found is not None:
                return found
        if "insufficient_space" in tags:
            return DropboxStorageException(f"{label}: the Dropbox account is out of space (saving {name!r})")
        return DropboxStorageException(f"{label}: Dropbox error {'/'.join(tags) or exc.error!r} on {name!r}")

    # -- primitives ---------------------------------------------------------------------------
    @staticmethod
    def _path(key: str) -> str:
        """A Dropbox path for a key ('' is the account root)."""
        key = key.strip("/")
        return "/" + key if key else ""

    def _info(self, md: Any) -> ObjectInfo:
        if isinstance(md, dbx_files.FolderMetadata):
            # Dropbox folders are real: exists() is true for them, as on a disk.
            return ObjectInfo(size=0, extra={"folder": True, "id": md.id})
        modified = md.server_modified
        if modified is not None and modified.tzinfo is None:
            modified = modified.replace(tzinfo=dt.timezone.utc)
        return ObjectInfo(size=md.size, modified=modified, etag=md.rev,
                          extra={"id": md.id, "content_hash": md.content_hash, "path_display": md.path_display})

    def _stat(self, key: str) -> ObjectInfo:
        try:
            md = self._call("files_get_metadata", self._name(key), self._path(key))
        except NotADirectoryError as exc:
            # a file where a parent folder should be: the name does not exist
            raise FileNotFoundError(2, f"No such file in {type(self).__name__}: {self._name(key)!r}",
                                    self._name(key)) from exc
        if not isinstance(md, (dbx_files.FileMetadata, dbx_files.FolderMetadata)):
            raise FileNotFoundError(2, f"No such file in {type(self).__name__}: {self._name(key)!r}", key)
        return self._info(md)

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        name = self._name(key)
        headers = {"Range": f"bytes={offset}-"} if offset else None
        try:
            md, response = self._call("files_download", name, self._path(key), extra_headers=headers)
        except DropboxStorageException as exc:
            if isinstance(exc.__cause__, HttpError) and exc.__cause__.status_code == 416:
                return ReadResult(_EmptyBody(), self._stat(key))  # offset at or past the end
            raise
        return ReadResult(_ResponseBody(response), self._info(md))

    def _open_writer(self, spec: UploadSpec) -> ChunkedUpload:
        part = spec.part_size or self.upload_part_size
        return ChunkedUpload(_DropboxSink(self, spec), threshold=self.upload_threshold, part_size=part)

    def _file_part_size(self) -> int:
        return int(self.CHUNK_SIZE)

    def _delete(self, key: str) -> None:
        try:
            self._call("files_delete_v2", self._name(key), self._path(key))
        except FileNotFoundError:
            pass

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        try:
            page = self._call("files_list_folder", prefix, self._path(prefix))
        except (FileNotFoundError, NotADirectoryError):
            return
        while True:
            dirs, files = [], []
            for entry in page.entries:
                if isinstance(entry, dbx_files.FolderMetadata):
                    dirs.append(f"{prefix}{entry.name}/")
                elif isinstance(entry, dbx_files.FileMetadata):
                    files.append(f"{prefix}{entry.name}")
            yield dirs, files
            if not page.has_more:
                return
            page = self._call("files_list_folder_continue", prefix, page.cursor)

    def _root_exists(self) -> bool:
        try:
            self._call("files_list_folder", None, self._path(self.location), limit=1)
        except (FileNotFoundError, NotADirectoryError):
            return False
        return True

    def url(self, name: str) -> str:
        """A temporary link (valid for four hours) to download ``name``: one request."""
        key = self._key(name)
        return self._call("files_get_temporary_link", name, self._path(key)).link


class DropboxFile(RemoteFile):
    """A file in Dropbox (``DropboxStorage.open()`` returns one)."""


DropboxStorage.file_class = DropboxFile

# The pre-1.14 spellings.
DropBoxStorage = DropboxStorage
DropBoxFile = DropboxFile
DropBoxStorageException = DropboxStorageException

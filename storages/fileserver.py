"""What the file-server backends (SFTP, FTP) share, written once.

* Sessions come from one :class:`~storages.pool.SessionPool` per storage;
  :meth:`FileServerStorage._run` runs one session-level call through it and
  through the core's ``_call`` (timing, DEBUG line, error translation).
* One commit protocol for uploads: the content streams into a hidden temporary
  name beside the target (``.~storages-<random>.part``); with overwrite off the
  final name is claimed first (``FileExistsError`` when it is taken); then the
  temporary file is renamed into place. On any failure the temporary file (and
  a claim placeholder) is removed, so nothing half-written ever carries the
  real name and the old content stays intact.
* Listings hide temporary names and remove the ones older than
  ``stale_upload_age`` seconds (uploads cut off when the connection died, so
  nothing could clean them up then).
* Directories exist: ``exists()`` answers True for an existing folder, and
  ``_remove_empty_folder()`` removes one only when the server agrees it is empty.

A backend implements a dozen session-level hooks (``_put``, ``_rename``,
``_entries``...) over its SDK and its connection code.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import io
import logging
import posixpath
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation

from storages import naming
from storages.base import BaseStorage, join_url, name_lock
from storages.errors import StorageError
from storages.files import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    Leftover,
    ObjectInfo,
    RemoteFile,
    UploadSpec,
    is_temp_name,
    read_into,
)
from storages.pool import SessionPool
from storages.transfer import UploadSource

logger = logging.getLogger(__name__)

__all__ = ["FileServerStorage", "FileServerFile", "Entry", "timestamp"]

#: Errors our own code raises (already clear), on a session that is still fine.
_OURS = (
    StorageError,
    ImproperlyConfigured,
    SuspiciousFileOperation,
    FileExistsError,
    IsADirectoryError,
    NotADirectoryError,
)
#: Status replies: the session is fine. Ours name the file; the SDK's (no file name) get translated.
_STATUS = (FileNotFoundError, PermissionError)


def _ours(exc: BaseException) -> bool:
    return isinstance(exc, _OURS) or (isinstance(exc, _STATUS) and exc.filename is not None)


@dataclass
class Entry:
    """One name in a folder listing; ``info`` when the listing tells size and time."""

    name: str
    is_dir: bool
    info: ObjectInfo | None = None


class _Tracked(io.RawIOBase):
    """The upload's content as the SDK reads it; knows whether it can start again."""

    def __init__(self, source: UploadSource) -> None:
        super().__init__()
        self.source = source
        self.used = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        n = read_into(self.source.fileobj, buffer)
        self.used = self.used or n > 0
        return n

    def restart(self) -> bool:
        """Whether the upload may be tried again from the first byte."""
        if self.used and not self.source.rewind():
            return False
        self.used = False
        return True


class FileServerStorage(BaseStorage):
    """Base of :class:`~storages.backends.sftpstorage.SFTPStorage` and
    :class:`~storages.backends.ftp.FTPStorage`.

    ``with storage:`` (or ``storage.close()``) closes its connections; the
    storage reconnects if used again.
    """

    # One stream per read already runs at the link's speed; ranges would cost new transfers.
    default_read_ahead = False
    max_component_bytes = 255
    overwrite_option = "allow_overwrite"
    uses_key_prefix = False  # keys are relative; backends join them under their root folder
    #: Seconds after which a hidden temporary upload file is stale: the next listing of its folder
    #: removes it.
    stale_upload_age: ClassVar[float] = 3600.0
    #: Sessions open at once per storage (more threads wait for one to come back).
    pool_size: ClassVar[int] = 32
    #: Where the root folder is set, named when it can't be used.
    root_setting: ClassVar[str] = ""

    # -- hooks a backend implements (``session`` comes from the pool) ----------------
    def _new_session(self) -> Any:
        raise NotImplementedError

    def _session_alive(self, session: Any) -> bool:
        raise NotImplementedError

    def _end_session(self, session: Any) -> None:
        raise NotImplementedError

    def _broken(self, session: Any, exc: BaseException) -> bool:
        """Whether ``exc`` (raised by the SDK) left ``session`` unusable."""
        raise NotImplementedError

    def _translate(self, exc: BaseException, name: str | None, op: str) -> BaseException | None:
        raise NotImplementedError

    def _path(self, key: str) -> str:
        raise NotImplementedError

    def _put(self, session: Any, path: str, fileobj: Any) -> None:
        """Stream ``fileobj`` into a new file ``path`` (its folder may be missing: raise)."""
        raise NotImplementedError

    def _mkdir(self, session: Any, path: str) -> None:
        raise NotImplementedError

    def _kind(self, session: Any, path: str) -> str | None:
        """What ``path`` is: "file", "dir", or None (missing)."""
        raise NotImplementedError

    def _is_dir(self, session: Any, path: str) -> bool:
        return self._kind(session, path) == "dir"

    def _stat_path(self, session: Any, path: str, key: str) -> ObjectInfo:
        """The file's info; ``FileNotFoundError`` when missing or a folder."""
        raise NotImplementedError

    def _entries(self, session: Any, path: str) -> list[Entry]:
        """The folder's entries; ``[]`` when it does not exist."""
        raise NotImplementedError

    def _remove(self, session: Any, path: str) -> None:
        """Remove a file; a missing one is fine."""
        raise NotImplementedError

    def _rmdir(self, session: Any, path: str) -> None:
        """Remove a folder; the server refuses one that holds anything."""
        raise NotImplementedError

    def _rename(self, session: Any, source: str, target: str) -> None:
        """Rename ``source`` to ``target``, replacing a file there."""
        raise NotImplementedError

    def _claim(self, session: Any, path: str) -> bool:
        """Take ``path`` for a create-only upload (``FileExistsError`` when taken); True if a
        placeholder file was made (removed again if the upload fails)."""
        raise NotImplementedError

    def _prepare_temp(self, session: Any, path: str) -> None:
        """Hook: adjust the uploaded temporary file before it is renamed into place."""

    def url(self, name: str) -> str:
        """``base_url`` + the quoted name (no request); ``ValueError`` when ``base_url`` is None."""
        base = getattr(self, "base_url", None)
        if base is None:
            label = self._setting_label("base_url")
            raise ValueError(
                f"{type(self).__name__}: files are not accessible via a URL ({label} is None); "
                "set it to the web address that publishes the folder"
            )
        return join_url(base, self._key(name, allow_root=True))

    # -- sessions --------------------------------------------------------------------
    def _connection_pool_size(self) -> int:
        return self.pool_size

    @property
    def _sessions(self) -> SessionPool:
        return self._lazy(
            "_pool",
            lambda: SessionPool(
                self._new_session,
                alive=self._session_alive,
                close=self._end_session,
                max_size=self.pool_size,
                timeout=self._timeout,
            ),
        )

    _timeout: float = 30.0

    def _is_broken_error(self, session: Any, exc: BaseException) -> bool:
        broken = not isinstance(exc, _OURS + _STATUS) and self._broken(session, exc)
        if broken:  # for _translate(), which no longer has the session
            exc.broken_session = True  # type: ignore[attr-defined]
        return broken

    def _run(
        self,
        op: str,
        name: str | None,
        fn: Callable[[Any], Any],
        *,
        retry: Callable[[], bool] = lambda: True,
        keep: bool = False,
    ) -> Any:
        """``fn(session)`` on a pooled session, timed and translated; a dropped idle session is
        replaced and ``fn`` retried once (when ``retry()`` allows)."""
        return self._call(
            op, name, self._sessions.run, fn, broken=self._is_broken_error, retry=retry, keep=keep
        )

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        return None if _ours(exc) else self._translate(exc, name, op)

    def _thread_session(self) -> Any:
        """A session kept for the calling thread until ``close()`` (for code that drives the SDK
        itself)."""
        held = self._lazy("_held", dict)
        session = held.get(threading.get_ident())
        if session is None or not self._session_alive(session):
            if session is not None:
                self._sessions.discard(session)
            session, _ = self._sessions.acquire()
            held[threading.get_ident()] = session
        return session

    def close(self) -> None:
        """Close every connection of this storage (it reconnects if used again)."""
        with self._lock:
            pool = self.__dict__.pop("_pool", None)
            held = self.__dict__.pop("_held", None) or {}
        if pool is not None:
            pool.close()
        for session in held.values():
            self._end_session(session)

    def __enter__(self) -> FileServerStorage:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def _key(self, name: str, *, allow_root: bool = False) -> str:
        # Keys are relative to the root folder (FTP's ``location`` is the server's URL, not a
        # prefix).
        key = naming.to_key("", name, allow_root=allow_root)
        naming.check_length(
            key,
            name,
            max_key_bytes=None,
            max_component_bytes=self.max_component_bytes,
            provider=type(self).__name__,
        )
        return key

    def _name(self, key: str) -> str:
        return key

    def _open(self, name: str, mode: str = "rb") -> FileServerFile:
        return self.file_class(name, self, mode)  # type: ignore[call-arg]

    # -- primitives over the hooks -----------------------------------------------------
    def _stat(self, key: str) -> ObjectInfo:
        return self._run("stat", key, lambda s: self._stat_path(s, self._path(key), key))

    def _delete(self, key: str) -> None:
        self._run("delete", key, lambda s: self._remove(s, self._path(key)))

    def exists(self, name: str) -> bool:
        """True for an existing file or folder (one request; literal, no hidden state)."""
        key = self._key(self._root_alias(name), allow_root=True)
        return self._run("stat", key, lambda s: self._kind(s, self._path(key)) is not None)

    def _dir_exists(self, key: str) -> bool:
        return self._run("stat", key, lambda s: self._is_dir(s, self._path(key)))

    def _root_exists(self) -> bool:
        return self._run("stat", "", lambda s: self._is_dir(s, self._path("")))

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        entries = self._run("list", prefix or "/", lambda s: self._listing(s, self._path(prefix)))
        yield (
            [f"{prefix}{e.name}/" for e in entries if e.is_dir],
            [prefix + e.name for e in entries if not e.is_dir and not is_temp_name(e.name)],
        )

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        entries = self._run("list", prefix or "/", lambda s: self._listing(s, self._path(prefix)))
        for entry in entries:
            key = prefix + entry.name
            if entry.is_dir:
                yield from self._scan(key + "/")
            elif not is_temp_name(entry.name):
                yield key, entry.info or self._stat(key)

    def _listing(self, session: Any, folder: str) -> list[Entry]:
        entries = [e for e in self._entries(session, folder) if e.name not in (".", "..")]
        oldest = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=self.stale_upload_age)
        for entry in entries:
            if is_temp_name(entry.name) and not entry.is_dir:
                modified = entry.info.modified if entry.info else None
                if modified is not None and modified < oldest:
                    # An upload cut off without a chance to clean up (the connection or process
                    # died).
                    logger.info(
                        "%s: removing the stale unfinished upload %s/%s",
                        type(self).__name__,
                        folder,
                        entry.name,
                    )
                    try:
                        self._remove(session, posixpath.join(folder, entry.name))
                    except Exception as exc:  # best effort: the listing itself must not fail
                        if self._is_broken_error(session, exc):
                            raise
                        logger.warning(
                            "%s could not remove %s/%s (%s)",
                            type(self).__name__,
                            folder,
                            entry.name,
                            exc,
                        )
        return entries

    # -- leftovers of killed uploads (checkstorages) -----------------------------------------------
    def _list_leftovers(self, older_than: dt.datetime) -> list[Leftover]:
        """Hidden temporary upload files (``.~storages-*.part``) below the root whose last write
        is before ``older_than``: uploads whose process died (SIGKILL, the OOM killer) before it
        could remove them. A listing of their folder removes them after ``stale_upload_age``
        seconds too; this finds them in folders nobody lists."""

        def walk(session: Any) -> list[Leftover]:
            found, todo = [], [""]
            while todo:
                prefix = todo.pop()
                for entry in self._entries(session, self._path(prefix)):
                    if entry.name in (".", ".."):
                        continue
                    if entry.is_dir:
                        todo.append(f"{prefix}{entry.name}/")
                        continue
                    info = entry.info
                    if not is_temp_name(entry.name) or info is None or info.modified is None:
                        continue
                    if info.modified < older_than:
                        found.append(
                            Leftover(
                                key=prefix + entry.name,
                                started=info.modified,
                                size=info.size,
                                kind="temporary file",
                            )
                        )
            return found

        return self._run("list", "/", walk)

    def _remove_leftover(self, item: Leftover) -> None:
        self._run("delete", item.key, lambda s: self._remove(s, self._path(item.key)))

    def _remove_empty_folder(self, key: str) -> None:
        path = self._path(key.strip("/"))
        if posixpath.normpath(path) == posixpath.normpath(self._path("")):
            return  # never the root

        def remove(session: Any) -> None:
            try:
                self._rmdir(session, path)
            except Exception as exc:
                # The server refuses to remove a folder that holds anything (even a file uploaded a
                # moment ago): that one stays, as does a folder already gone. An empty one refused
                # is an error.
                if self._is_broken_error(session, exc) or (
                    self._is_dir(session, path)
                    and not [e for e in self._entries(session, path) if e.name not in (".", "..")]
                ):
                    raise

        self._run("delete", key, remove)

    def _makedirs(self, session: Any, folder: str) -> None:
        """Create ``folder`` and its missing parents; another creator at the same time is fine."""
        missing = []
        while folder not in ("", "/", ".") and not self._is_dir(session, folder):
            missing.append(folder)
            folder = posixpath.dirname(folder)
        for path in reversed(missing):
            try:
                self._mkdir(session, path)
            except Exception as exc:
                if self._is_broken_error(session, exc):
                    raise
                if self._is_dir(session, path):
                    continue  # another thread or process made it meanwhile
                raise StorageError(
                    f"{type(self).__name__} could not create the folder {path!r} ({exc}); "
                    f"check {self.root_setting} and the user's permissions"
                ) from exc
            logger.debug("%s mkdir %s", type(self).__name__, path)

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        path = self._path(spec.key)
        folder = posixpath.dirname(path)
        temp = posixpath.join(folder, f"{TEMP_PREFIX}{uuid.uuid4().hex[:20]}{TEMP_SUFFIX}")
        body = _Tracked(source)
        placed: dict[str, None] = {}  # what to remove if the upload fails

        def upload(session: Any) -> None:
            placed[temp] = None
            try:
                self._put(session, temp, body)
            except Exception as exc:
                if body.used or self._is_broken_error(session, exc):
                    raise
                self._makedirs(session, folder)  # most likely a missing folder: make it, try again
                self._put(session, temp, body)
            self._prepare_temp(session, temp)
            # "check the name, then rename" takes turns per target (FTP has no create-if-absent)
            with name_lock(type(self), self._endpoint_label(), path):
                try:
                    if spec.create_only and self._claim(session, path):
                        placed[path] = None
                    self._rename(session, temp, path)
                except Exception as exc:
                    if not self._is_broken_error(session, exc) and self._is_dir(session, path):
                        raise IsADirectoryError(
                            errno.EISDIR,
                            f"{type(self).__name__} can't save {spec.name!r}: "
                            "a folder has that name",
                            spec.name,
                        ) from exc
                    raise
            placed.clear()

        try:
            self._run("upload", spec.name, upload, retry=body.restart)
        except BaseException as exc:
            if placed:
                self._discard(list(placed), fresh=_timed_out(exc))
            raise

    def _discard(self, paths: list[str], *, fresh: bool = False) -> None:
        """Remove what a failed upload left (best effort: a warning says how to remove it later).

        ``fresh``: the upload timed out (a stalled data connection, a server that stopped
        answering), so one new connection is tried, once: its own timeout bounds the wait."""

        def remove(session: Any) -> None:
            for path in paths:
                self._remove(session, path)

        try:
            if fresh:
                session = self._new_session()
                try:
                    remove(session)
                finally:
                    with contextlib.suppress(Exception):
                        self._end_session(session)
            else:
                # Removing is idempotent: a pooled session the failure left dead is replaced once.
                self._sessions.run(remove, broken=self._is_broken_error)
        except Exception as exc:
            logger.warning(
                "%s could not remove %s after a failed upload (%s: %s); `manage.py "
                "checkstorages --remove-leftovers` removes it once it is older than "
                "--leftovers-older-than, and so does a listing of its folder after %d s",
                type(self).__name__,
                ", ".join(paths),
                type(exc).__name__,
                exc,
                self.stale_upload_age,
            )


def _timed_out(exc: BaseException | None) -> bool:
    while exc is not None:
        if isinstance(exc, (TimeoutError, socket.timeout)):  # not one class before Python 3.10
            return True
        exc = exc.__cause__ or exc.__context__
    return False


class FileServerFile(RemoteFile):
    """A file on a file server; the constructor takes ``(name, storage, mode)`` as in
    django-storages 1.14."""

    def __init__(self, name: str, storage: BaseStorage, mode: str = "rb") -> None:  # type: ignore[override]
        super().__init__(name, mode, storage)


def timestamp(value: float | None) -> dt.datetime | None:
    """An aware UTC datetime from a POSIX timestamp (None stays None)."""
    return dt.datetime.fromtimestamp(value, dt.timezone.utc) if value is not None else None

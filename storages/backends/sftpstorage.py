"""Files on an SSH server over SFTP, through paramiko.

Requests per operation (SFTP round trips): ``exists()`` / ``size()`` /
``get_*_time()`` one STAT; ``open()`` one STAT, then on the first read an OPEN
and pipelined READs (64 of 32 KiB in flight), the handle closed at the end of the file;
``save()`` OPEN of a temporary name, pipelined WRITEs, CLOSE, then a
``posix-rename`` into place (overwrite off: an exclusive create of the final
name first); ``delete()`` one REMOVE; ``listdir()`` one directory read.

Connections: SFTP sessions are pooled per storage. A session is one SFTP
channel; up to eight share one SSH connection (OpenSSH allows ten by
default), so 32 threads cost four SSH handshakes, not 32. A connection the
server dropped is replaced on the next call.
"""

from __future__ import annotations

import base64
import datetime as dt
import errno
import getpass
import hashlib
import logging
import os
import posixpath
import stat as statmod
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import BaseStorage, join_url
from storages.conf import Setting, setting
from storages.errors import StorageError, StorageUnavailable, translate
from storages.files import ObjectInfo, ReadResult, RemoteFile, RenameIntoPlaceWriter, UploadSpec, is_temp_name

try:
    import paramiko
    from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, int64
    from paramiko.util import ClosingContextManager
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured("The SFTP backend needs paramiko: pip install 'django-storages[sftp]'") from exc

logger = logging.getLogger(__name__)

__all__ = ["SFTPStorage", "SFTPStorageFile"]

#: Seconds for the TCP connect, the SSH banner and each SFTP request, unless SFTP_STORAGE_PARAMS says otherwise.
DEFAULT_TIMEOUT = 30.0
#: SFTP channels opened on one SSH connection before another connection is made.
SESSIONS_PER_CONNECTION = 8
#: Idle SFTP sessions kept for reuse.
MAX_IDLE_SESSIONS = 8
#: Reads: 32 KiB requests (what every server accepts), 64 of them (2 MiB) in flight.
READ_REQUEST = 32 * 1024
READ_DEPTH = 64
#: Temporary upload names; listdir() hides them.
#: SSHClient.connect() arguments that are secrets: kept out of deconstruct() (migrations) and reprs.
SECRET_PARAMS = frozenset({"password", "passphrase", "pkey", "sock", "gss_deleg_creds", "auth_strategy"})
UNKNOWN_HOST_CHOICES = ("warn", "reject")

_ERRORS: dict[str | int, type[BaseException]] = {
    errno.ENOENT: FileNotFoundError,
    errno.EACCES: PermissionError,
    errno.EPERM: PermissionError,
}

_SETTINGS = (
    Setting("host", ("SFTP_STORAGE_HOST",), None, doc="The SSH server's host name or address."),
    Setting("params", ("SFTP_STORAGE_PARAMS",), dict,
            doc="Keyword arguments for paramiko's SSHClient.connect(): port, username, key_filename, "
                "pkey, password, timeout..."),
    Setting("interactive", ("SFTP_STORAGE_INTERACTIVE",), False,
            doc="Ask for a password on the terminal when the keys are refused (never without a terminal)."),
    Setting("file_mode", ("SFTP_STORAGE_FILE_MODE",), None, doc="chmod bits for new files (e.g. 0o644)."),
    Setting("dir_mode", ("SFTP_STORAGE_DIR_MODE",), None, doc="chmod bits for new directories (e.g. 0o755)."),
    Setting("uid", ("SFTP_STORAGE_UID",), None, doc="Owner (numeric uid) for new files and directories."),
    Setting("gid", ("SFTP_STORAGE_GID",), None, doc="Group (numeric gid) for new files and directories."),
    Setting("known_host_file", ("SFTP_KNOWN_HOST_FILE",), None,
            doc="An OpenSSH known_hosts file; unset means ~/.ssh/known_hosts when it exists."),
    Setting("root_path", ("SFTP_STORAGE_ROOT",), "",
            doc="Remote directory holding the files (absolute, or relative to the login directory)."),
    Setting("base_url", ("SFTP_BASE_URL",), lambda: setting("MEDIA_URL"),
            doc="Prefix of url() (default: MEDIA_URL): the web server that publishes root_path."),
    Setting("unknown_host", ("SFTP_STORAGE_UNKNOWN_HOST",), "warn",
            doc="A host missing from known_hosts: 'warn' (accept its key for this storage and log a WARNING) "
                "or 'reject'. A key that differs from known_hosts is always refused."),
    Setting("allow_overwrite", ("SFTP_STORAGE_ALLOW_OVERWRITE",), False,
            doc="Save over an existing file of the same name (off: Django picks a free name)."),
)


class _HostKeyRejected(paramiko.SSHException):
    """An unknown host key refused by SFTP_STORAGE_UNKNOWN_HOST = 'reject'."""


def _fingerprint(key: paramiko.PKey) -> str:
    digest = base64.b64encode(hashlib.sha256(key.asbytes()).digest()).decode().rstrip("=")
    return f"{key.get_name()} SHA256:{digest}"


class _HostKeyPolicy(paramiko.MissingHostKeyPolicy):
    """Called by paramiko only for hosts with no known_hosts entry at all."""

    def __init__(self, storage: SFTPStorage) -> None:
        self.storage = storage

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        self.storage._unknown_host_key(hostname, key)


class _Connection:
    """One SSH connection carrying up to ``limit`` SFTP channels."""

    def __init__(self, client: paramiko.SSHClient) -> None:
        self.client = client
        self.sessions = 0
        self.limit = SESSIONS_PER_CONNECTION

    def alive(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()

    def close(self) -> None:
        try:
            self.client.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass


class _Session:
    """One SFTP channel, used by one thread at a time."""

    def __init__(self, connection: _Connection, sftp: paramiko.SFTPClient, fresh: bool) -> None:
        self.connection = connection
        self.sftp = sftp
        self.fresh = fresh

    def alive(self) -> bool:
        channel = self.sftp.get_channel()
        return self.connection.alive() and channel is not None and not channel.closed


class _Pool:
    """SFTP sessions for one storage: idle ones are reused, new ones share SSH connections."""

    def __init__(self, storage: SFTPStorage) -> None:
        self.storage = storage
        self._lock = threading.Lock()
        self._connect_lock = threading.Lock()  # one handshake at a time (sshd's MaxStartups)
        self._idle: list[_Session] = []
        self._connections: list[_Connection] = []
        self._failure: tuple[float, BaseException] | None = None

    def acquire(self) -> _Session:
        with self._lock:
            while self._idle:
                session = self._idle.pop()
                if session.alive():
                    session.fresh = False
                    return session
                self._drop(session)
        return self._open()

    def _open(self) -> _Session:
        asked = time.monotonic()
        with self._connect_lock:
            while True:
                with self._lock:
                    if self._idle:  # released while this thread waited for the lock
                        session = self._idle.pop()
                        if session.alive():
                            session.fresh = False
                            return session
                        self._drop(session)
                        continue
                    connection = next((c for c in self._connections if c.alive() and c.sessions < c.limit), None)
                    if connection is None:
                        break
                    connection.sessions += 1  # reserved: the connection stays open while we add a channel
                try:
                    sftp = connection.client.open_sftp()
                except (paramiko.SSHException, EOFError, OSError):
                    # The server allows fewer sessions per connection (OpenSSH: MaxSessions).
                    with self._lock:
                        connection.sessions -= 1
                        connection.limit = max(1, connection.sessions)
                    continue
                return self._register(connection, sftp)
            failed = self._failure
            if failed is not None and failed[0] >= asked:
                # The handshake this thread queued behind just failed: don't wait a timeout again.
                raise _again(failed[1])
            try:
                connection = _Connection(self.storage._connect())
            except Exception as exc:
                self._failure = (time.monotonic(), exc)
                raise
            self._failure = None
            connection.sessions = 1
            try:
                sftp = connection.client.open_sftp()
            except Exception as exc:
                connection.close()
                raise self.storage._unavailable(exc, "opening an SFTP session") from exc
            with self._lock:
                self._connections.append(connection)
            return self._register(connection, sftp)

    def _register(self, connection: _Connection, sftp: paramiko.SFTPClient) -> _Session:
        sftp.get_channel().settimeout(self.storage._timeout)
        return _Session(connection, sftp, fresh=True)

    def release(self, session: _Session) -> None:
        with self._lock:
            if session.alive() and len(self._idle) < MAX_IDLE_SESSIONS:
                self._idle.append(session)
                return
            self._drop(session)

    def discard(self, session: _Session) -> None:
        with self._lock:
            self._drop(session)

    def _drop(self, session: _Session) -> None:
        # Called with self._lock held.
        try:
            session.sftp.close()
        except Exception:  # pragma: no cover - the channel may be gone already
            pass
        connection = session.connection
        connection.sessions -= 1
        if connection.sessions <= 0 and connection in self._connections:
            self._connections.remove(connection)
            connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            connections, self._connections = self._connections, []
        for session in idle:
            try:
                session.sftp.close()
            except Exception:  # pragma: no cover
                pass
        for connection in connections:
            connection.close()


def _again(exc: BaseException) -> BaseException:
    """A fresh copy of a connection error, for another thread that waited on the same attempt."""
    try:
        copy = type(exc)(*exc.args)
    except Exception:  # pragma: no cover - an exception type with another signature
        return exc
    copy.__cause__ = exc.__cause__
    return copy


def _is_status_error(exc: BaseException) -> bool:
    """An SFTP status reply (paramiko raises IOError(errno, text) or IOError(text))."""
    return type(exc) in (OSError, FileNotFoundError, PermissionError) and not isinstance(exc, StorageError)


@deconstructible
class SFTPStorage(ClosingContextManager, BaseStorage):
    """Files on an SSH server (SFTP). Use ``with SFTPStorage() as s:`` to close its connections."""

    # One stream per read already runs at the link's speed; ranges would cost new transfers.
    default_read_ahead = False
    settings_table = _SETTINGS
    overwrite_option = "allow_overwrite"
    transient_attributes = ("_pool", "_password", "_accepted_keys")
    missing_times: ClassVar[dict[str, str]] = {"created": "SFTP servers report no creation time"}

    # -- configuration -----------------------------------------------------
    uses_key_prefix = False  # keys are relative; they are joined under root_path here

    def configure(self) -> None:
        if self.unknown_host not in UNKNOWN_HOST_CHOICES:
            raise ImproperlyConfigured(
                f"SFTPStorage: SFTP_STORAGE_UNKNOWN_HOST (OPTIONS[\"unknown_host\"]) must be 'warn' or 'reject', "
                f"not {self.unknown_host!r}."
            )
        if not isinstance(self.params, dict):
            raise ImproperlyConfigured("SFTPStorage: SFTP_STORAGE_PARAMS (OPTIONS[\"params\"]) must be a dict.")
        root = str(self.root_path or "")
        self._root = root.rstrip("/") or ("/" if root.startswith("/") else "")
        self._timeout = float(self.params.get("timeout") or DEFAULT_TIMEOUT)

    def __repr__(self) -> str:
        return f"<SFTPStorage host={self.host!r} root_path={self.root_path!r}>"

    def _set_constructor_args(self, value: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
        # Keep passwords and key objects in SFTP_STORAGE_PARAMS out of migrations.
        args, kwargs = value
        params = kwargs.get("params")
        if isinstance(params, dict):
            kwargs = {**kwargs, "params": {k: v for k, v in params.items() if k not in SECRET_PARAMS}}
        BaseStorage._constructor_args.fset(self, (args, kwargs))  # type: ignore[attr-defined]

    _constructor_args = property(BaseStorage._constructor_args.fget,  # type: ignore[attr-defined]
                                 _set_constructor_args)

    # -- connections -------------------------------------------------------
    @property
    def _sessions(self) -> _Pool:
        return self._lazy("_pool", lambda: _Pool(self))

    def close(self) -> None:
        """Close every pooled connection (the storage reconnects if used again)."""
        pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.close()

    def _where(self) -> str:
        return f"{self.host}:{self.params.get('port', 22)}"

    def _known_hosts_path(self) -> str | None:
        if self.known_host_file:
            path = os.path.expanduser(str(self.known_host_file))
            if not os.path.exists(path):
                raise ImproperlyConfigured(
                    f"SFTPStorage: the known_hosts file {path!r} does not exist; check SFTP_KNOWN_HOST_FILE "
                    "(OPTIONS[\"known_host_file\"])."
                )
            return path
        default = os.path.expanduser("~/.ssh/known_hosts")
        return default if os.path.exists(default) else None

    def _unknown_host_key(self, hostname: str, key: paramiko.PKey) -> None:
        """Policy for a host with no known_hosts entry (a changed key never gets here)."""
        if self.unknown_host == "reject":
            raise _HostKeyRejected(f"{hostname} is not in known_hosts")
        with self._lock:
            accepted = self.__dict__.setdefault("_accepted_keys", {})
            accepted[hostname] = key
        logger.warning(
            "SFTPStorage: %s is not in known_hosts; accepting its key %s for this storage. Add the key to "
            "SFTP_KNOWN_HOST_FILE, or set SFTP_STORAGE_UNKNOWN_HOST = 'reject' to refuse unknown hosts.",
            hostname, _fingerprint(key),
        )

    def _connect(self) -> paramiko.SSHClient:
        """A new, authenticated SSH connection (host key checked)."""
        if not self.host:
            raise ImproperlyConfigured('SFTPStorage needs a host: set OPTIONS["host"] or SFTP_STORAGE_HOST.')
        kwargs: dict[str, Any] = {"timeout": self._timeout, "banner_timeout": self._timeout,
                                  "auth_timeout": self._timeout, "channel_timeout": self._timeout,
                                  **self.params}
        password = self.__dict__.get("_password")
        if password is not None:
            kwargs["password"] = password
        client = paramiko.SSHClient()
        known = self._known_hosts_path()
        if known:
            client.load_system_host_keys(known)
        for hostname, key in dict(self.__dict__.get("_accepted_keys") or {}).items():
            client.get_host_keys().add(hostname, key.get_name(), key)
        client.set_missing_host_key_policy(_HostKeyPolicy(self))
        start = time.perf_counter()
        try:
            client.connect(self.host, **kwargs)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise ImproperlyConfigured(
                f"SFTPStorage refused {self._where()}: its host key ({_fingerprint(exc.key)}) is not the one "
                f"in known_hosts ({_fingerprint(exc.expected_key)}). Someone may be intercepting the connection; "
                "if the server's key really changed, update SFTP_KNOWN_HOST_FILE."
            ) from exc
        except _HostKeyRejected as exc:
            client.close()
            raise ImproperlyConfigured(
                f"SFTPStorage refused {self._where()}: the host is not in known_hosts and "
                "SFTP_STORAGE_UNKNOWN_HOST is 'reject'. Add its key to SFTP_KNOWN_HOST_FILE "
                "(ssh-keyscan -p PORT HOST >> known_hosts, after checking the fingerprint)."
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            typed = self.__dict__.pop("_password", None)  # a wrong typed password is asked for again next time
            if typed is None and self._can_prompt():
                self._password = getpass.getpass(
                    f"Password for {self.params.get('username') or getpass.getuser()}@{self._where()}: ")
                return self._connect()
            raise PermissionError(
                errno.EACCES,
                f"SFTPStorage could not log in to {self._where()} as "
                f"{self.params.get('username') or getpass.getuser()!r} ({type(exc).__name__}: {exc}); check "
                "username, key_filename / pkey and password in SFTP_STORAGE_PARAMS (OPTIONS[\"params\"])",
            ) from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            client.close()
            raise self._unavailable(exc, "connecting") from exc
        logger.debug("sftp connect %s %.1fms", self._where(), (time.perf_counter() - start) * 1000)
        return client

    def _can_prompt(self) -> bool:
        # Only a person at a terminal can answer (collectstatic), never a web request.
        stdin = sys.stdin
        return bool(self.interactive) and stdin is not None and stdin.isatty()

    def _unavailable(self, exc: BaseException, doing: str) -> StorageUnavailable:
        return StorageUnavailable(
            f"SFTPStorage could not reach {self._where()} while {doing} ({type(exc).__name__}: {exc}); check "
            "SFTP_STORAGE_HOST, the port in SFTP_STORAGE_PARAMS and the network"
        )

    # -- one remote call -----------------------------------------------------
    def _run(self, op: str, name: str | None, fn: Callable[[paramiko.SFTPClient], Any], *,
             keep: bool = False) -> Any:
        """Run ``fn(sftp)`` on a pooled session: logged, errors translated.

        A session the server dropped is replaced and the call retried once.
        With ``keep`` the session is not returned to the pool: the result is
        ``(value, session)`` and the caller releases it.
        """
        pool = self._sessions
        while True:
            session = pool.acquire()
            start = time.perf_counter()
            try:
                value = fn(session.sftp)
            except (StorageError, ImproperlyConfigured, FileExistsError, NotADirectoryError):
                pool.release(session)
                raise
            except Exception as exc:
                if _is_status_error(exc) and session.alive():
                    pool.release(session)
                    raise self._translate(exc, name, op) from exc
                pool.discard(session)
                if not session.fresh and isinstance(exc, (EOFError, paramiko.SSHException, OSError)) and not (
                        isinstance(exc, TimeoutError)):
                    logger.debug("sftp %s: the connection was dropped (%s); reconnecting", op, type(exc).__name__)
                    continue
                raise self._unavailable(exc, f"{op} of {name!r}") from exc
            logger.debug("sftp %s %s %.1fms", op, name, (time.perf_counter() - start) * 1000)
            if keep:
                return value, session
            pool.release(session)
            return value

    def _translate(self, exc: BaseException, name: str | None, op: str) -> BaseException:
        code = getattr(exc, "errno", None)
        found = translate(code, _ERRORS, storage=self, name=name, detail=f"{op}: {exc}")
        return found or StorageError(f"SFTPStorage: {op} of {name!r} failed: {exc}")

    # -- paths -------------------------------------------------------------
    def _path(self, key: str) -> str:
        key = key.rstrip("/")
        if not self._root:
            return key or "."
        return posixpath.join(self._root, key) if key else self._root

    def _makedirs(self, sftp: paramiko.SFTPClient, path: str) -> None:
        """Create ``path`` and its missing parents, applying dir_mode / uid / gid to each new one."""
        missing: list[str] = []
        current = path
        while current not in ("", "/", "."):
            try:
                st = sftp.stat(current)
            except FileNotFoundError:
                missing.append(current)
                current = posixpath.dirname(current)
                continue
            if not statmod.S_ISDIR(st.st_mode or 0):
                raise NotADirectoryError(
                    errno.ENOTDIR,
                    f"SFTPStorage can't create the directory {path!r}: {current!r} is a file; check "
                    "SFTP_STORAGE_ROOT (OPTIONS[\"root_path\"])",
                )
            break
        for directory in reversed(missing):
            try:
                sftp.mkdir(directory)
            except OSError as exc:
                try:
                    made_meanwhile = statmod.S_ISDIR(sftp.stat(directory).st_mode or 0)
                except OSError:
                    made_meanwhile = False
                if not made_meanwhile:
                    where = "SFTP_STORAGE_ROOT (OPTIONS[\"root_path\"]) and the user's permissions"
                    raise StorageError(
                        f"SFTPStorage could not create the directory {directory!r} ({exc}); check {where}"
                    ) from exc
                continue
            logger.debug("sftp mkdir %s", directory)
            self._apply_owner_and_mode(sftp, directory, self.dir_mode)

    def _apply_owner_and_mode(self, sftp: paramiko.SFTPClient, path: str, mode: int | None) -> None:
        if mode is not None:
            sftp.chmod(path, int(mode))
        if self.uid is not None or self.gid is not None:
            uid, gid = self.uid, self.gid
            if uid is None or gid is None:
                st = sftp.stat(path)
                uid = st.st_uid if uid is None else uid
                gid = st.st_gid if gid is None else gid
            sftp.chown(path, int(uid), int(gid))

    # -- primitives --------------------------------------------------------
    def _info(self, st: paramiko.SFTPAttributes) -> ObjectInfo:
        def when(value: Any) -> dt.datetime | None:
            return dt.datetime.fromtimestamp(value, dt.timezone.utc) if value is not None else None

        return ObjectInfo(size=st.st_size or 0, modified=when(st.st_mtime), accessed=when(st.st_atime))

    def _stat(self, key: str) -> ObjectInfo:
        name = key
        st = self._run("stat", name, lambda sftp: sftp.stat(self._path(key)))
        if statmod.S_ISDIR(st.st_mode or 0):
            raise FileNotFoundError(errno.ENOENT, f"No such file in SFTPStorage: {name!r} is a directory", name)
        return self._info(st)

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        info = self._stat(key)
        return ReadResult(_Reader(self, key, offset, info.size), info)

    def _open_writer(self, spec: UploadSpec) -> _Writer:
        return _Writer(self, spec)

    def _delete(self, key: str) -> None:
        def remove(sftp: paramiko.SFTPClient) -> None:
            try:
                sftp.remove(self._path(key))
            except FileNotFoundError:
                pass

        self._run("remove", key, remove)

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        def read(sftp: paramiko.SFTPClient) -> list[paramiko.SFTPAttributes]:
            try:
                return sftp.listdir_attr(self._path(prefix))
            except FileNotFoundError:
                return []

        entries = self._run("listdir", prefix or "/", read)
        dirs, files = [], []
        for entry in entries:
            if entry.filename in (".", ".."):
                continue
            if statmod.S_ISDIR(entry.st_mode or 0):
                dirs.append(f"{prefix}{entry.filename}/")
            elif not is_temp_name(entry.filename):
                files.append(prefix + entry.filename)
        yield dirs, files

    def _root_exists(self) -> bool:
        def check(sftp: paramiko.SFTPClient) -> bool:
            try:
                return statmod.S_ISDIR(sftp.stat(self._path("")).st_mode or 0)
            except FileNotFoundError:
                return False

        return self._run("stat", "", check)

    def url(self, name: str) -> str:
        """``base_url`` + the quoted name (no request)."""
        return join_url(self.base_url or "", self._key(name, allow_root=True))


class _Reader:
    """A streaming body: a sliding window of pipelined READ requests; the session goes back at the end.

    paramiko's own prefetch (``readv`` / ``prefetch``) may fall back to one
    request per round trip and keep replies it never hands out, so a large
    file can end up in memory. This keeps READ_DEPTH requests in flight and
    holds at most that many replies. It uses paramiko's request plumbing
    (``_async_request`` / ``_read_response``, as SFTPFile does).
    """

    _session: _Session | None = None

    def __init__(self, storage: SFTPStorage, key: str, offset: int, size: int) -> None:
        self.storage = storage
        self.key = key
        self.size = size
        self.pos = offset  # the next byte handed out
        self._next = offset  # the next byte asked for
        self._inflight: deque[tuple[int, int, int]] = deque()  # (request number, offset, length)
        self._replies: dict[int, tuple[int, Any]] = {}
        self._buffer = b""
        self._used = 0
        self._handle: Any = None
        self._started = 0.0
        self._requests = 0

    def read(self, n: int = -1) -> bytes:
        if self._used >= len(self._buffer):
            if self.pos >= self.size:
                self.close()
                return b""
            self._fill()
            if not self._buffer:  # the file shrank meanwhile
                self.close()
                return b""
        if n is None or n < 0:
            n = len(self._buffer) - self._used
        chunk = self._buffer[self._used:self._used + n]
        self._used += len(chunk)
        self.pos += len(chunk)
        if self.pos >= self.size and self._used >= len(self._buffer):
            self.close()  # the whole file was read: give the session back now
        return chunk

    def _async_response(self, t: int, msg: Any, num: int) -> None:
        """paramiko hands over the reply to each request made for this reader."""
        self._replies[num] = (t, msg)

    def _fill(self) -> None:
        storage = self.storage
        if self._handle is None:
            path = storage._path(self.key)
            self._handle, self._session = storage._run("open", self.key, lambda sftp: sftp.open(path, "rb"),
                                                       keep=True)
            self._started = time.perf_counter()
        assert self._session is not None
        sftp = self._session.sftp
        try:
            while len(self._inflight) < READ_DEPTH and self._next < self.size:
                length = min(READ_REQUEST, self.size - self._next)
                self._ask(sftp, self._next, length)
                self._next += length
            data = b""
            while self._inflight and not data:
                num, offset, length = self._inflight.popleft()
                t, msg = self._reply(sftp, num)
                if t == CMD_STATUS:
                    try:
                        sftp._convert_status(msg)
                    except EOFError:  # the file is shorter than it was at open()
                        self.size = min(self.size, offset)
                        self._inflight.clear()
                    continue
                if t != CMD_DATA:
                    raise paramiko.SFTPError(f"expected data, got reply type {t}")
                data = msg.get_string()
                if 0 < len(data) < length:  # a short read: ask for the rest before anything later
                    self._ask(sftp, offset + len(data), length - len(data), first=True)
        except Exception as exc:
            session = self._session
            self._release(broken=True)
            if session is not None and _is_status_error(exc) and session.alive():
                raise storage._translate(exc, self.key, "read") from exc
            raise storage._unavailable(exc, f"reading {self.key!r}") from exc
        self._buffer, self._used = data, 0

    def _ask(self, sftp: paramiko.SFTPClient, offset: int, length: int, first: bool = False) -> None:
        num = sftp._async_request(self, CMD_READ, self._handle.handle, int64(offset), int(length))
        self._requests += 1
        if first:
            self._inflight.appendleft((num, offset, length))
        else:
            self._inflight.append((num, offset, length))

    def _reply(self, sftp: paramiko.SFTPClient, num: int) -> tuple[int, Any]:
        while num not in self._replies:
            sftp._read_response()  # reads one reply and hands it to whoever asked
        return self._replies.pop(num)

    def _release(self, broken: bool = False) -> None:
        handle, self._handle = self._handle, None
        session, self._session = self._session, None
        if session is None:
            return
        pool = self.storage._sessions
        if broken:
            pool.discard(session)
            return
        try:
            while self._inflight:  # replies still on their way must not reach the next user
                self._reply(session.sftp, self._inflight.popleft()[0])
            self._replies.clear()
            handle.close()
        except Exception:
            pool.discard(session)
            return
        logger.debug("sftp read %s bytes=%d requests=%d %.1fms", self.key, self.pos, self._requests,
                     (time.perf_counter() - self._started) * 1000)
        pool.release(session)

    def close(self) -> None:
        self._buffer, self._used = b"", 0
        self._release()

    def __del__(self) -> None:
        if self._session is not None:
            try:
                self._release()
            except Exception:  # pragma: no cover - best effort at garbage collection
                pass


class _Writer(RenameIntoPlaceWriter):
    """Streams into a temporary file next to the target; close() renames it into place."""

    _session: _Session | None = None  # class default: __del__ may run on an instance whose __init__ failed

    def __init__(self, storage: SFTPStorage, spec: UploadSpec) -> None:
        super().__init__(storage, spec, storage._path(spec.key))
        folder = self.folder
        self._claimed = False

        def open_temp(sftp: paramiko.SFTPClient) -> Any:
            try:
                handle = sftp.open(self.temp, "wx")
            except OSError as exc:
                if not _is_status_error(exc) or getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM):
                    raise
                storage._makedirs(sftp, folder)  # a missing directory: make it, then try again
                handle = sftp.open(self.temp, "wx")
            handle.set_pipelined(True)
            return handle

        self._handle, self._session = storage._run("open", spec.name, open_temp, keep=True)

    def _send(self, view: memoryview) -> None:
        try:
            self._handle.write(view)
        except Exception as exc:
            self._fail(exc, "writing")

    def _fail(self, exc: BaseException, doing: str) -> None:
        """Discard the upload after an error and raise the translated error."""
        storage = self.storage
        session = self._session
        alive = session is not None and session.alive() and _is_status_error(exc)
        self._cleanup(alive)
        super().close()
        if alive:
            raise storage._translate(exc, self.spec.name, doing) from exc
        raise storage._unavailable(exc, f"{doing} {self.spec.name!r}") from exc

    def _cleanup(self, alive: bool) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        pool = self.storage._sessions
        if not alive:
            pool.discard(session)
            return
        try:
            try:
                self._handle.close()
            except Exception:
                pass
            session.sftp.remove(self.temp)
            if self._claimed:  # the empty placeholder of a create-only upload that failed afterwards
                session.sftp.remove(self.path)
        except Exception:
            pool.discard(session)
            return
        pool.release(session)

    def close(self) -> None:
        if self.closed:
            return
        if self._session is None:
            super().close()
            return
        storage, spec = self.storage, self.spec
        sftp = self._session.sftp
        step = "writing"
        try:
            start = time.perf_counter()
            self._handle.close()  # waits for the pipelined writes
            logger.debug("sftp write %s bytes=%d %.1fms", spec.name, self.bytes_written,
                         (time.perf_counter() - start) * 1000)
            step = "setting the mode / owner of"
            storage._apply_owner_and_mode(sftp, self.temp, storage.file_mode)
            if spec.create_only:
                step = "creating"
                self._claim(sftp)
            step = "renaming into place"
            self._rename(sftp)
        except FileExistsError:
            self._cleanup(True)
            super().close()
            raise
        except Exception as exc:
            self._fail(exc, step)
        session, self._session = self._session, None
        storage._sessions.release(session)
        super().close()

    def _claim(self, sftp: paramiko.SFTPClient) -> None:
        """Create the final name exclusively, so two uploads can't both take it."""
        try:
            sftp.open(self.path, "wx").close()
        except OSError as exc:
            if not _is_status_error(exc):
                raise
            # OpenSSH answers a taken name with a bare "Failure" (no errno): look.
            try:
                sftp.stat(self.path)
            except FileNotFoundError:
                raise exc from None
            raise FileExistsError(errno.EEXIST, f"File already exists in SFTPStorage: {self.spec.name!r}",
                                  self.spec.name) from exc
        self._claimed = True
        logger.debug("sftp create-exclusive %s", self.spec.name)

    def _rename(self, sftp: paramiko.SFTPClient) -> None:
        try:
            sftp.posix_rename(self.temp, self.path)
        except OSError as exc:
            if not _is_status_error(exc) or getattr(exc, "errno", None) is not None:
                raise
            # No posix-rename@openssh.com extension: a plain rename refuses an existing target.
            try:
                sftp.remove(self.path)
            except FileNotFoundError:
                pass
            sftp.rename(self.temp, self.path)
        self._claimed = False
        logger.debug("sftp rename %s", self.spec.name)

    def abort(self) -> None:
        if self.closed:
            return
        alive = self._session is not None and self._session.alive()
        self._cleanup(alive)
        super().close()

    def __del__(self) -> None:
        # Never commit from the garbage collector: an unclosed upload is discarded.
        if not self.closed:
            try:
                self.abort()
            except Exception:  # pragma: no cover
                pass


class SFTPStorageFile(RemoteFile):
    """A file on the SFTP server (``SFTPStorage.open()`` returns one)."""


SFTPStorage.file_class = SFTPStorageFile

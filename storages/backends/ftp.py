"""Files on an FTP server (plain, active mode, or explicit TLS), through the standard library's ftplib.

``FTP_STORAGE_LOCATION = "ftp://user:password@host:port/path"``; the scheme
``aftp`` uses active mode, ``ftps`` explicit TLS on the control and the data
connections (``AUTH TLS`` + ``PROT P``). Percent-encode reserved characters in
the user and password (``@`` is ``%40``, ``:`` is ``%3A``, ``/`` is ``%2F``).

Commands per operation: ``exists()`` / ``size()`` / ``get_modified_time()``
one ``MLST`` (servers without it: ``SIZE`` + ``MDTM``); ``open()`` the same,
then on the first read ``PASV`` + ``RETR`` (``REST`` after a seek);
``save()`` ``PASV`` + ``STOR`` of a temporary name, then ``RNFR`` + ``RNTO``
(overwrite off: a ``MLST``/``SIZE`` check just before the rename);
``delete()`` one ``DELE``; ``listdir()`` ``PASV`` + ``MLSD`` (or ``LIST``).

FTP has no atomic create-if-absent: with overwrite off, two processes saving
the same name within one round trip of each other can both succeed, the later
one replacing the earlier. Inside one process the check and the rename are
serialised, so threads never collide.
"""

from __future__ import annotations

import datetime as dt
import errno
import ftplib
import logging
import posixpath
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.base import BaseStorage, join_url
from storages.conf import Setting, setting
from storages.errors import StorageError, StorageUnavailable
from storages.files import ObjectInfo, ReadResult, RemoteFile, RenameIntoPlaceWriter, UploadSpec, is_temp_name

logger = logging.getLogger(__name__)

__all__ = ["FTPStorage", "FTPStorageFile", "FTPStorageException"]

SCHEMES = ("ftp", "aftp", "ftps")
DEFAULT_PORT = 21
#: Idle FTP connections kept for reuse.
MAX_IDLE_CONNECTIONS = 8
READ_CHUNK = 256 * 1024
#: Temporary upload names; listdir() hides them.

_SETTINGS = (
    Setting("location", ("FTP_STORAGE_LOCATION",), None, secret=True,
            doc="ftp://user:password@host:port/path (schemes ftp, aftp = active mode, ftps = explicit TLS)."),
    Setting("encoding", ("FTP_STORAGE_ENCODING",), "latin-1", doc="Encoding of names on the control connection."),
    Setting("base_url", ("BASE_URL",), lambda: setting("MEDIA_URL"),
            doc="Prefix of url() (default: MEDIA_URL): the web server that publishes the FTP directory."),
    Setting("allow_overwrite", ("FTP_ALLOW_OVERWRITE",), False,
            doc="Save over an existing file of the same name (off: Django picks a free name)."),
    Setting("tls_ca_file", ("FTP_STORAGE_TLS_CA_FILE",), None,
            doc="CA bundle that signs the server's certificate (ftps://); unset: the system's trust store."),
    Setting("timeout", ("FTP_STORAGE_TIMEOUT",), 30, doc="Seconds to wait for a connection or a reply."),
)

# Process-wide locks that serialise "check the name, then rename" per target (FTP has no create-if-absent).
_COMMIT_LOCKS = [threading.Lock() for _ in range(64)]


class FTPStorageException(StorageError):
    """An FTP error with no more specific Python equivalent (kept for code that catches it)."""


class _FTPUnavailable(FTPStorageException, StorageUnavailable):
    """The FTP server could not be reached or dropped the connection."""


class _FTPLoginError(FTPStorageException, PermissionError):
    """The FTP server refused the user or password."""


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str
    port: int
    user: str
    password: str
    path: str

    def __str__(self) -> str:  # never shows the password
        return f"{self.scheme}://{self.user}@{self.host}:{self.port}{self.path}"


def _parse_location(location: str) -> _Target:
    where = 'FTP_STORAGE_LOCATION (OPTIONS["location"])'
    try:
        parts = urlsplit(str(location))
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ImproperlyConfigured(f"FTPStorage: {where} has an invalid port; write ftp://user:password@host:21/path")
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            f"FTPStorage: {where} must look like ftp://user:password@host:port/path (schemes: ftp, aftp for "
            f"active mode, ftps for TLS); got a {scheme or 'missing'!r} scheme"
            + ("" if parts.hostname else " and no host")
        )
    return _Target(scheme=scheme, host=parts.hostname, port=port, user=unquote(parts.username or "anonymous"),
                   password=unquote(parts.password or ""), path=unquote(parts.path))


class _TLSClient(ftplib.FTP_TLS):
    """FTP_TLS that resumes the control connection's TLS session on data connections.

    Servers such as vsftpd (``require_ssl_reuse``) refuse data connections
    that don't, so a stolen data port can't be used by someone else.
    """

    def ntransfercmd(self, cmd: str, rest: Any = None) -> tuple[Any, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        if self._prot_p:
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=self.sock.session)
        return conn, size


class _Conn:
    """One logged-in FTP connection, used by one thread at a time."""

    def __init__(self, ftp: ftplib.FTP, features: set[str]) -> None:
        self.ftp = ftp
        self.mlst = "MLST" in features
        self.fresh = True

    def close(self) -> None:
        try:
            self.ftp.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass


class _ServerBusy(_FTPUnavailable):
    """421 at the greeting: the server has as many of our connections as it allows."""


class _Pool:
    """Idle connections are reused; when the server allows no more, wait for one to come back."""

    def __init__(self, storage: FTPStorage) -> None:
        self.storage = storage
        self._cond = threading.Condition()
        self._idle: list[_Conn] = []
        self._out = 0  # connections handed out and not yet returned

    def acquire(self) -> _Conn:
        deadline: float | None = None
        while True:
            with self._cond:
                if self._idle:
                    conn = self._idle.pop()
                    conn.fresh = False
                    self._out += 1
                    return conn
                self._out += 1  # counted while connecting, so other threads know one may come back
            try:
                return self.storage._connect()
            except _ServerBusy:
                with self._cond:
                    self._out -= 1
                    deadline = deadline or time.monotonic() + self.storage.timeout
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise
                    logger.debug("ftp: the server allows no more connections; waiting for one of ours")
                    # Woken when one of ours is returned; the server may also be busy with others.
                    self._cond.wait(min(remaining, 0.5 if self._out == 0 else remaining))
            except BaseException:
                with self._cond:
                    self._out -= 1
                raise

    def release(self, conn: _Conn) -> None:
        with self._cond:
            self._out -= 1
            if len(self._idle) < MAX_IDLE_CONNECTIONS:
                self._idle.append(conn)
                self._cond.notify()
                return
            self._cond.notify()
        self._quit(conn)

    def discard(self, conn: _Conn) -> None:
        with self._cond:
            self._out -= 1
            self._cond.notify()
        conn.close()

    def _quit(self, conn: _Conn) -> None:
        try:
            conn.ftp.quit()
        except Exception:
            pass
        conn.close()

    def close(self) -> None:
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            self._quit(conn)


def _status(exc: BaseException) -> str:
    """The server's reply code of an ftplib error ('' when it is not a reply)."""
    if isinstance(exc, ftplib.Error) and exc.args:
        return str(exc.args[0])[:3]
    return ""


def _broken(exc: BaseException) -> bool:
    """Whether the connection can't be used after ``exc`` (dropped, timed out, out of step)."""
    if isinstance(exc, (ftplib.error_reply, ftplib.error_proto, EOFError, OSError)):
        return True
    return _status(exc) == "421"  # the server is closing the connection


def _parse_time(value: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    except ValueError:
        return None


def _facts(text: str) -> tuple[dict[str, str], str]:
    """Parse one MLSD/MLST line: ``type=file;size=3;modify=...; name``."""
    facts_text, _, name = text.partition(" ")
    facts = {}
    for fact in facts_text.split(";"):
        key, sep, value = fact.partition("=")
        if sep:
            facts[key.lower()] = value
    return facts, name


_LIST_LINE = re.compile(
    r"^(?P<kind>[-dlbcps])[-rwxsStTl+.@]{9,10}\s+\d+\s+\S+\s+\S+\s+\d+\s+"
    r"\w{3}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4}) (?P<name>.+)$"
)


def _parse_list(lines: list[str]) -> tuple[list[str], list[str]]:
    """Unix ``ls -l`` style LIST output -> (dirs, files); links are skipped."""
    dirs, files = [], []
    for line in lines:
        match = _LIST_LINE.match(line)
        if not match:
            continue
        kind, name = match["kind"], match["name"]
        if kind == "d":
            dirs.append(name)
        elif kind == "-":
            files.append(name)
    return dirs, files


def _parse_mlsd(lines: list[str]) -> tuple[list[str], list[str]]:
    dirs, files = [], []
    for line in lines:
        facts, name = _facts(line)
        kind = facts.get("type", "").lower()
        if kind == "dir":
            dirs.append(name)
        elif kind == "file":
            files.append(name)
    return dirs, files


@deconstructible
class FTPStorage(BaseStorage):
    """Files on an FTP server: ``FTP_STORAGE_LOCATION = "ftp://user:pass@host:21/path"``."""

    # One stream per read already runs at the link's speed; ranges would cost new transfers.
    default_read_ahead = False
    settings_table = _SETTINGS
    overwrite_option = "allow_overwrite"
    transient_attributes = ("_pool",)
    uses_key_prefix = False  # ``location`` is the server URL; keys are joined under its path here
    missing_times: ClassVar[dict[str, str]] = {
        "created": "FTP servers report no creation time",
        "accessed": "FTP servers report no access time",
    }

    def configure(self) -> None:
        self._target = _parse_location(self.location) if self.location else None
        # The directory holding the files; no path in the URL means the login directory (asked at login).
        self._base: str | None = posixpath.normpath(self._target.path) if self._target and self._target.path else None
        self.timeout = float(self.timeout)

    def __repr__(self) -> str:
        return f"<FTPStorage location={str(self._target) if self._target else None!r}>"

    # -- names: keys are relative to the location's path ---------------------
    def _key(self, name: str, *, allow_root: bool = False) -> str:
        return naming.to_key("", name, allow_root=allow_root)

    def _name(self, key: str) -> str:
        return key

    def _path(self, key: str) -> str:
        base = self._base or "/"
        key = key.rstrip("/")
        return posixpath.join(base, key) if key else base

    # -- connections -------------------------------------------------------
    @property
    def _connections(self) -> _Pool:
        return self._lazy("_pool", lambda: _Pool(self))

    def close(self) -> None:
        """Log out of every pooled connection (the storage reconnects if used again)."""
        pool = self.__dict__.pop("_pool", None)
        if pool is not None:
            pool.close()

    def _connect(self) -> _Conn:
        target = self._target
        if target is None:
            raise ImproperlyConfigured(
                'FTPStorage needs a server: set OPTIONS["location"] or FTP_STORAGE_LOCATION to '
                "ftp://user:password@host:port/path"
            )
        start = time.perf_counter()
        if target.scheme == "ftps":
            context = ssl.create_default_context(cafile=self.tls_ca_file) if self.tls_ca_file else (
                ssl.create_default_context())
            ftp: ftplib.FTP = _TLSClient(context=context, timeout=self.timeout, encoding=self.encoding)
        else:
            ftp = ftplib.FTP(timeout=self.timeout, encoding=self.encoding)
        try:
            ftp.connect(target.host, target.port)
            ftp.login(target.user, target.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(target.scheme != "aftp")
            ftp.voidcmd("TYPE I")  # binary transfers; SIZE is refused in ASCII mode by some servers
            try:
                features = {line.strip().split(" ")[0].upper() for line in ftp.sendcmd("FEAT").splitlines()[1:-1]}
            except ftplib.error_perm:
                features = set()
            if "UTF8" in features and self.encoding.lower().replace("-", "") == "utf8":
                try:
                    ftp.sendcmd("OPTS UTF8 ON")
                except ftplib.Error:
                    pass
            if self._base is None:
                with self._lock:
                    if self._base is None:
                        self._base = ftp.pwd()
        except ssl.SSLCertVerificationError as exc:
            ftp.close()
            raise ImproperlyConfigured(
                f"FTPStorage: the TLS certificate of {target.host}:{target.port} is not trusted "
                f"({exc.verify_message}); set FTP_STORAGE_TLS_CA_FILE (OPTIONS[\"tls_ca_file\"]) to the CA "
                "that signed it"
            ) from exc
        except ftplib.error_perm as exc:
            ftp.close()
            if _status(exc) in ("530", "331", "332", "430"):
                raise _FTPLoginError(
                    errno.EACCES,
                    f"FTPStorage could not log in to {target.host}:{target.port} as {target.user!r} ({exc}); "
                    "check the user and password in FTP_STORAGE_LOCATION (OPTIONS[\"location\"])",
                ) from exc
            if target.scheme == "ftps":
                raise ImproperlyConfigured(
                    f"FTPStorage: {target.host}:{target.port} refused TLS ({exc}); use ftp:// in "
                    "FTP_STORAGE_LOCATION if the server has no TLS"
                ) from exc
            raise FTPStorageException(f"FTPStorage: {target} refused the session ({exc})") from exc
        except (ftplib.Error, EOFError, OSError) as exc:
            ftp.close()
            kind = _ServerBusy if _status(exc) == "421" else _FTPUnavailable
            raise kind(
                f"FTPStorage could not reach {target.host}:{target.port} ({type(exc).__name__}: {exc}); check "
                "the host and port in FTP_STORAGE_LOCATION and the network"
            ) from exc
        logger.debug("ftp connect %s:%s %.1fms", target.host, target.port, (time.perf_counter() - start) * 1000)
        return _Conn(ftp, features)

    # -- one remote call -----------------------------------------------------
    def _run(self, op: str, name: str | None, fn: Callable[[_Conn], Any], *, keep: bool = False) -> Any:
        """Run ``fn(conn)`` on a pooled connection: logged, errors translated.

        A reused connection the server dropped is replaced and the call
        retried once. With ``keep`` the result is ``(value, conn)`` and the
        caller releases the connection.
        """
        pool = self._connections
        while True:
            conn = pool.acquire()
            start = time.perf_counter()
            try:
                value = fn(conn)
            except (StorageError, ImproperlyConfigured, FileNotFoundError, FileExistsError):
                pool.release(conn)
                raise
            except UnicodeEncodeError as exc:  # nothing was sent: the connection is fine
                pool.release(conn)
                raise ValueError(
                    f"FTPStorage can't send {name!r} in the encoding {self.encoding!r}; set FTP_STORAGE_ENCODING "
                    "(OPTIONS[\"encoding\"]) to 'utf-8' if the server supports UTF-8 names"
                ) from exc
            except Exception as exc:
                if not _broken(exc):
                    pool.release(conn)
                    raise self._translate(exc, name, op) from exc
                pool.discard(conn)
                if not conn.fresh and not isinstance(exc, TimeoutError):
                    logger.debug("ftp %s: the connection was dropped (%s); reconnecting", op, type(exc).__name__)
                    continue
                raise self._unavailable(exc, f"{op} of {name!r}") from exc
            logger.debug("ftp %s %s %.1fms", op, name, (time.perf_counter() - start) * 1000)
            if keep:
                return value, conn
            pool.release(conn)
            return value

    def _unavailable(self, exc: BaseException, doing: str) -> _FTPUnavailable:
        target = self._target
        where = f"{target.host}:{target.port}" if target else "the server"
        return _FTPUnavailable(f"FTPStorage lost the connection to {where} during {doing} "
                               f"({type(exc).__name__}: {exc})")

    def _translate(self, exc: BaseException, name: str | None, op: str) -> BaseException:
        code = _status(exc)
        if code in ("530", "532"):
            return _FTPLoginError(errno.EACCES, f"FTPStorage is not logged in ({exc}) during {op} of {name!r}", name)
        return FTPStorageException(f"FTPStorage: {op} of {name!r} failed: {exc}")

    @staticmethod
    def _missing(name: str | None, detail: str = "") -> FileNotFoundError:
        return FileNotFoundError(errno.ENOENT, f"No such file in FTPStorage: {name!r}{detail}", name)

    # -- primitives --------------------------------------------------------
    def _stat_on(self, conn: _Conn, key: str) -> ObjectInfo:
        path = self._path(key)
        ftp = conn.ftp
        try:
            if conn.mlst:
                reply = ftp.sendcmd(f"MLST {path}")
                lines = [line for line in reply.splitlines() if line.startswith(" ")]
                facts, _ = _facts(lines[0].strip() if lines else "")
                if facts.get("type", "file").lower() != "file":
                    raise self._missing(key, " (it is a directory)")
                modified = _parse_time(facts["modify"]) if "modify" in facts else None
                return ObjectInfo(size=int(facts.get("size", 0)), modified=modified)
            size = ftp.size(path)
            if size is None:
                raise self._missing(key)
            reply = ftp.sendcmd(f"MDTM {path}")
            return ObjectInfo(size=int(size), modified=_parse_time(reply[4:].strip()))
        except ftplib.error_perm as exc:
            if _status(exc) == "550":
                raise self._missing(key) from exc
            raise

    def _stat(self, key: str) -> ObjectInfo:
        return self._run("stat", key, lambda conn: self._stat_on(conn, key))

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        info = self._stat(key)
        return ReadResult(_Reader(self, key, offset, info.size), info)

    def _open_writer(self, spec: UploadSpec) -> _Writer:
        return _Writer(self, spec)

    def _delete(self, key: str) -> None:
        def delete(conn: _Conn) -> None:
            try:
                conn.ftp.delete(self._path(key))
            except ftplib.error_perm as exc:
                # 550 also means "not allowed": only a file that is really gone is fine.
                try:
                    self._stat_on(conn, key)
                except FileNotFoundError:
                    return
                raise FTPStorageException(f"FTPStorage could not delete {key!r}: {exc}") from exc

        self._run("delete", key, delete)

    def _transfer_lines(self, conn: _Conn, command: str) -> list[str]:
        """Run a listing command and return its lines (read in binary mode: no TYPE A round trip)."""
        sock, _ = conn.ftp.ntransfercmd(command)
        data = bytearray()
        with sock:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
            if isinstance(sock, ssl.SSLSocket):
                try:
                    sock.unwrap()
                except (OSError, ValueError):
                    pass
        conn.ftp.voidresp()
        text = data.decode(self.encoding, errors="surrogateescape")
        return [line for line in text.replace("\r\n", "\n").split("\n") if line]

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        path = self._path(prefix)

        def listing(conn: _Conn) -> tuple[list[str], list[str]]:
            try:
                if conn.mlst:
                    return _parse_mlsd(self._transfer_lines(conn, f"MLSD {path}"))
                return _parse_list(self._transfer_lines(conn, f"LIST {path}"))
            except ftplib.error_perm:
                # Servers answer a missing directory with 550 or 501: look before calling it missing.
                if not self._is_dir(conn, path):
                    return [], []
                raise

        dirs, files = self._run("list", prefix or "/", listing)
        yield ([f"{prefix}{d}/" for d in dirs if d not in (".", "..")],
               [prefix + f for f in files if not is_temp_name(f)])

    @staticmethod
    def _is_dir(conn: _Conn, path: str) -> bool:
        try:
            conn.ftp.cwd(path)  # every path we send is absolute, so the cwd doesn't matter
        except ftplib.error_perm:
            return False
        return True

    def _root_exists(self) -> bool:
        return self._run("cwd", "", lambda conn: self._is_dir(conn, self._path("")))

    def _makedirs(self, conn: _Conn, path: str) -> None:
        """MKD each level of ``path`` (errors ignored: the caller's retry tells whether it worked)."""
        current = ""
        for part in path.strip("/").split("/"):
            current = f"{current}/{part}" if current or path.startswith("/") else part
            try:
                conn.ftp.mkd(current)
                logger.debug("ftp mkd %s", current)
            except ftplib.error_perm:
                pass

    def url(self, name: str) -> str:
        """``base_url`` + the quoted name (no request)."""
        return join_url(self.base_url or "", self._key(name, allow_root=True))


class _Reader:
    """A streaming RETR body; the connection goes back to the pool at the end of the file."""

    _sock: Any = None
    _conn: _Conn | None = None

    def __init__(self, storage: FTPStorage, key: str, offset: int, size: int) -> None:
        self.storage = storage
        self.key = key
        self.size = size
        self.pos = offset
        self._sock: Any = None
        self._conn: _Conn | None = None

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.size:
            self.close()
            return b""
        if self._sock is None:
            self._start()
        want = READ_CHUNK if n is None or n < 0 else n
        try:
            data = self._sock.recv(min(want, READ_CHUNK))
        except Exception as exc:
            self._finish(early=True, broken=True)
            raise self.storage._unavailable(exc, f"reading {self.key!r}") from exc
        self.pos += len(data)
        if not data or self.pos >= self.size:
            self._finish()  # the whole file (or the server ended the transfer): give the connection back
        return data

    def _start(self) -> None:
        storage = self.storage
        path = storage._path(self.key)

        def retr(conn: _Conn) -> Any:
            try:
                sock, _ = conn.ftp.ntransfercmd(f"RETR {path}", rest=self.pos or None)
            except ftplib.error_perm as exc:
                if _status(exc) == "550":
                    raise storage._missing(self.key) from exc
                raise
            return sock

        self._sock, self._conn = storage._run("retr", self.key, retr, keep=True)

    def _finish(self, early: bool = False, broken: bool = False) -> None:
        sock, self._sock = self._sock, None
        conn, self._conn = self._conn, None
        if conn is None:
            return
        pool = self.storage._connections
        try:
            if not early and isinstance(sock, ssl.SSLSocket):
                try:
                    sock.unwrap()
                except (OSError, ValueError):
                    pass
            sock.close()
            if broken:
                raise ConnectionError("transfer failed")
            try:
                conn.ftp.voidresp()  # 226, or 426/451 after an early close: either way in step again
            except (ftplib.error_temp, ftplib.error_perm):
                pass
        except Exception:
            pool.discard(conn)
            return
        pool.release(conn)

    def close(self) -> None:
        if self._conn is not None:
            self._finish(early=self.pos < self.size)

    def __del__(self) -> None:
        # Garbage collected half-way: don't wait for the server, just drop the connection.
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                if self._sock is not None:
                    self._sock.close()
            except Exception:  # pragma: no cover
                pass
            self.storage._connections.discard(conn)


class _Writer(RenameIntoPlaceWriter):
    """Streams a STOR into a temporary name next to the target; close() renames it into place."""

    _sock: Any = None  # class defaults: __del__ may run on an instance whose __init__ failed
    _conn: _Conn | None = None

    def __init__(self, storage: FTPStorage, spec: UploadSpec) -> None:
        super().__init__(storage, spec, storage._path(spec.key))
        folder = self.folder

        def stor(conn: _Conn) -> Any:
            try:
                sock, _ = conn.ftp.ntransfercmd(f"STOR {self.temp}")
            except ftplib.error_perm as first:
                storage._makedirs(conn, folder)  # most likely a missing directory
                try:
                    sock, _ = conn.ftp.ntransfercmd(f"STOR {self.temp}")
                except ftplib.error_perm as exc:
                    raise FTPStorageException(
                        f"FTPStorage could not create {spec.name!r} ({first}; after creating the directory: {exc}); "
                        "check the path in FTP_STORAGE_LOCATION and the FTP user's permissions"
                    ) from exc
            return sock

        self._sock, self._conn = storage._run("stor", spec.name, stor, keep=True)

    def _send(self, view: memoryview) -> None:
        try:
            self._sock.sendall(view)
        except Exception as exc:
            self._drop()
            raise self.storage._unavailable(exc, f"upload of {self.spec.name!r}") from exc

    def _end_transfer(self) -> None:
        sock, self._sock = self._sock, None
        if sock is None:
            return
        if isinstance(sock, ssl.SSLSocket):
            try:
                sock.unwrap()  # a clean TLS close, so the server knows the upload is complete
            except (OSError, ValueError):
                pass
        sock.close()
        assert self._conn is not None
        self._conn.ftp.voidresp()

    def _drop(self) -> None:
        """The connection is unusable: close it; the temporary file may stay behind."""
        conn, self._conn = self._conn, None
        if self._sock is not None:
            try:
                self._sock.close()
            except Exception:  # pragma: no cover
                pass
            self._sock = None
        if conn is not None:
            self.storage._connections.discard(conn)
        super().close()

    def close(self) -> None:
        if self.closed:
            return
        if self._conn is None:
            super().close()
            return
        storage, spec, conn = self.storage, self.spec, self._conn
        start = time.perf_counter()
        try:
            self._end_transfer()
            logger.debug("ftp stor %s bytes=%d %.1fms", spec.name, self.bytes_written,
                         (time.perf_counter() - start) * 1000)
            if spec.create_only:
                with _COMMIT_LOCKS[hash((id(type(storage)), storage._target, self.path)) % len(_COMMIT_LOCKS)]:
                    try:
                        storage._stat_on(conn, spec.key)
                    except FileNotFoundError:
                        self._rename(conn)
                    else:
                        self._discard_temp(conn)
                        raise FileExistsError(errno.EEXIST, f"File already exists in FTPStorage: {spec.name!r}",
                                              spec.name)
            else:
                self._rename(conn)
        except FileExistsError:
            self._release()
            raise
        except Exception as exc:
            if _broken(exc):
                self._drop()
                raise storage._unavailable(exc, f"upload of {spec.name!r}") from exc
            self._discard_temp(conn)
            self._release()
            raise storage._translate(exc, spec.name, "upload") from exc
        self._release()

    def _rename(self, conn: _Conn) -> None:
        ftp = conn.ftp
        try:
            ftp.rename(self.temp, self.path)
        except ftplib.error_perm:
            if self.spec.create_only:
                raise
            # Some servers (IIS, FileZilla) refuse to rename onto an existing file: when it is
            # there, remove it and rename again (not atomic: readers may miss the file briefly).
            try:
                self.storage._stat_on(conn, self.spec.key)
            except FileNotFoundError:
                raise
            ftp.delete(self.path)
            ftp.rename(self.temp, self.path)
        logger.debug("ftp rename %s", self.spec.name)

    def _discard_temp(self, conn: _Conn) -> None:
        try:
            conn.ftp.delete(self.temp)
        except ftplib.error_perm:
            pass

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self.storage._connections.release(conn)
        super().close()

    def abort(self) -> None:
        if self.closed:
            return
        conn = self._conn
        if conn is None:
            super().close()
            return
        try:
            self._end_transfer()
            self._discard_temp(conn)
        except Exception:
            self._drop()
            return
        self._release()

    def __del__(self) -> None:
        # Never commit from the garbage collector: drop the transfer and the connection.
        if not self.closed and self._conn is not None:
            try:
                self._drop()
            except Exception:  # pragma: no cover
                pass


class FTPStorageFile(RemoteFile):
    """A file on the FTP server (``FTPStorage.open()`` returns one)."""


FTPStorage.file_class = FTPStorageFile

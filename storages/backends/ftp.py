"""Files on an FTP server (plain, active mode, or explicit TLS), through the standard library's ftplib.

``FTP_STORAGE_LOCATION = "ftp://user:password@host:port/path"``; the scheme
``aftp`` uses active mode, ``ftps`` explicit TLS on the control and the data
connections (``AUTH TLS`` + ``PROT P``). Percent-encode reserved characters in
the user and password (``@`` is ``%40``, ``:`` is ``%3A``, ``/`` is ``%2F``).

Commands per operation: ``exists()`` / ``size()`` / ``get_modified_time()``
one ``MLST`` (servers without it: ``SIZE`` + ``MDTM``); ``open()`` the same,
then on the first read ``PASV`` + ``RETR`` (``REST`` after a seek);
``save()`` ftplib's ``storbinary`` (``PASV`` + ``STOR``) into a hidden temporary
name, then ``RNFR`` + ``RNTO`` (overwrite off: a ``MLST``/``SIZE`` check just
before the rename);
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
import time
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.conf import Setting, setting
from storages.errors import StorageError, StorageUnavailable
from storages.files import ObjectInfo, ReadResult
from storages.fileserver import Entry, FileServerFile, FileServerStorage
from storages.pool import ServerBusy

logger = logging.getLogger(__name__)

__all__ = ["FTPStorage", "FTPStorageFile", "FTPStorageException"]

SCHEMES = ("ftp", "aftp", "ftps")
DEFAULT_PORT = 21
READ_CHUNK = 256 * 1024

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


class _Client(ftplib.FTP):
    """ftplib.FTP that stays in binary mode: storbinary/retrbinary's ``TYPE I`` costs no round trip
    (listings are read as bytes too, so nothing switches to ASCII)."""

    def voidcmd(self, cmd: str) -> str:
        if cmd == "TYPE I" and getattr(self, "binary", False):
            return "200 Binary mode already set"
        return super().voidcmd(cmd)


class _TLSClient(_Client, ftplib.FTP_TLS):
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
    """One logged-in FTP connection (a pooled session)."""

    def __init__(self, ftp: ftplib.FTP, features: set[str]) -> None:
        self.ftp = ftp
        self.mlst = "MLST" in features
        self.list_a: bool | None = None  # whether "LIST -a <path>" works (unknown until tried)

    def close(self) -> None:
        try:
            self.ftp.close()
        except Exception:  # pragma: no cover - closing a broken connection
            pass


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
    r"^(?P<kind>[-dlbcps])[-rwxsStTl+.@]{9,10}\s+\d+\s+\S+\s+\S+\s+(?P<size>\d+)\s+"
    r"(?P<when>\w{3}\s+\d{1,2}\s+(?:\d{1,2}:\d{2}|\d{4})) (?P<name>.+)$"
)


def _list_time(text: str) -> dt.datetime | None:
    """``Jan  5 13:40`` (within the last year, UTC on vsftpd and pyftpdlib) or ``Jan  5  2020``."""
    now = dt.datetime.now(dt.timezone.utc)
    for fmt, year in (("%b %d %H:%M %Y", now.year), ("%b %d %Y", None)):
        try:
            when = dt.datetime.strptime(" ".join(text.split()) + (f" {year}" if year else ""), fmt)
        except ValueError:
            continue
        when = when.replace(tzinfo=dt.timezone.utc)
        return when.replace(year=when.year - 1) if when > now + dt.timedelta(days=1) else when
    return None


def _parse_list(lines: list[str]) -> list[Entry]:
    """Unix ``ls -l`` style LIST output; links and other kinds are skipped."""
    matches = (_LIST_LINE.match(line) for line in lines)
    return [Entry(m["name"], m["kind"] == "d", ObjectInfo(size=int(m["size"]), modified=_list_time(m["when"])))
            for m in matches if m and m["kind"] in "d-"]


def _parse_mlsd(lines: list[str]) -> list[Entry]:
    entries = []
    for line in lines:
        facts, name = _facts(line)
        kind = facts.get("type", "").lower()
        if kind in ("dir", "file"):
            modified = _parse_time(facts["modify"]) if "modify" in facts else None
            entries.append(Entry(name, kind == "dir", ObjectInfo(size=int(facts.get("size", 0)), modified=modified)))
    return entries


@deconstructible
class FTPStorage(FileServerStorage):
    """Files on an FTP server: ``FTP_STORAGE_LOCATION = "ftp://user:pass@host:21/path"``."""

    settings_table = _SETTINGS
    missing_times: ClassVar[dict[str, str]] = {
        "created": "FTP servers report no creation time",
        "accessed": "FTP servers report no access time",
    }
    endpoint_setting = "the host and port in FTP_STORAGE_LOCATION, and FTP_STORAGE_TIMEOUT"
    root_setting = 'the path in FTP_STORAGE_LOCATION (OPTIONS["location"])'

    def configure(self) -> None:
        self._target = _parse_location(self.location) if self.location else None
        # The directory holding the files; no path in the URL means the login directory (asked at login).
        self._base: str | None = posixpath.normpath(self._target.path) if self._target and self._target.path else None
        self.timeout = self._timeout = float(self.timeout)

    def __repr__(self) -> str:
        return f"<FTPStorage location={str(self._target) if self._target else None!r}>"

    def disconnect(self) -> None:
        """Log out of every connection (as in django-storages 1.14; same as ``close()``)."""
        self.close()

    def _endpoint_label(self) -> str:
        return f"{self._target.host}:{self._target.port}" if self._target else "its server"

    def _unavailable(self, exc: BaseException, op: str, where: str | None = None) -> StorageUnavailable:
        # Also an FTPStorageException, for code written against 1.14 that catches it.
        return _FTPUnavailable(str(super()._unavailable(exc, op, where)))

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
            ftp: _Client = _TLSClient(context=context, timeout=self.timeout, encoding=self.encoding)
        else:
            ftp = _Client(timeout=self.timeout, encoding=self.encoding)
        try:
            ftp.connect(target.host, target.port)
            ftp.login(target.user, target.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(target.scheme != "aftp")
            ftp.voidcmd("TYPE I")  # binary transfers; SIZE is refused in ASCII mode by some servers
            ftp.binary = True
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
            if _status(exc) == "421":  # the server has as many of our connections as it allows
                raise ServerBusy(str(exc)) from exc
            raise self._unavailable(exc, "connecting") from exc
        logger.debug("ftp connect %s:%s %.1fms", target.host, target.port, (time.perf_counter() - start) * 1000)
        return _Conn(ftp, features)

    # -- sessions ----------------------------------------------------------
    def _new_session(self) -> _Conn:
        return self._connect()

    def _session_alive(self, conn: _Conn) -> bool:
        return conn.ftp.sock is not None

    def _end_session(self, conn: _Conn) -> None:
        conn.close()

    def _broken(self, conn: _Conn, exc: BaseException) -> bool:
        return _broken(exc) or not self._session_alive(conn)

    def _translate(self, exc: BaseException, name: str | None, op: str) -> BaseException:
        if isinstance(exc, UnicodeEncodeError):  # nothing was sent: the connection is fine
            return ValueError(f"FTPStorage can't send {name!r} in the encoding {self.encoding!r}; set FTP_STORAGE_"
                              "ENCODING (OPTIONS[\"encoding\"]) to 'utf-8' if the server supports UTF-8 names")
        if _broken(exc):
            return self._unavailable(exc, op)
        if _status(exc) in ("530", "532"):
            return _FTPLoginError(errno.EACCES, f"FTPStorage is not logged in ({exc}) during {op} of {name!r}", name)
        return FTPStorageException(f"FTPStorage: {op} of {name!r} failed: {exc}")

    # -- session-level hooks -------------------------------------------------
    def _path(self, key: str) -> str:
        if self._base is None:
            self._run("login", None, lambda conn: None)  # the login directory is learnt at login
        key = key.rstrip("/")
        return posixpath.join(self._base or "/", key) if key else (self._base or "/")

    def _put(self, conn: _Conn, path: str, fileobj: Any) -> None:
        try:
            conn.ftp.storbinary(f"STOR {path}", fileobj, blocksize=READ_CHUNK)
        except ftplib.error_perm:
            raise  # refused before the transfer: the connection is in step
        except BaseException:
            conn.close()  # cut mid-transfer: the server's reply is still pending, so this connection is done
            raise

    def _mkdir(self, conn: _Conn, path: str) -> None:
        conn.ftp.mkd(path)

    def _is_dir(self, conn: _Conn, path: str) -> bool:
        try:
            conn.ftp.cwd(path)  # every path we send is absolute, so the cwd doesn't matter
        except ftplib.error_perm:
            return False
        return True

    def _kind(self, conn: _Conn, path: str) -> str | None:
        try:
            if conn.mlst:  # one command tells files and folders apart
                return "file" if self._mlst(conn, path).get("type", "file").lower() == "file" else "dir"
            self._stat_path(conn, path, path)
            return "file"
        except (FileNotFoundError, ftplib.error_perm):
            return None if conn.mlst or not self._is_dir(conn, path) else "dir"

    @staticmethod
    def _mlst(conn: _Conn, path: str) -> dict[str, str]:
        lines = [line for line in conn.ftp.sendcmd(f"MLST {path}").splitlines() if line.startswith(" ")]
        return _facts(lines[0].strip() if lines else "")[0]

    def _stat_path(self, conn: _Conn, path: str, key: str) -> ObjectInfo:
        ftp = conn.ftp
        try:
            if conn.mlst:
                facts = self._mlst(conn, path)
                if facts.get("type", "file").lower() != "file":
                    raise FileNotFoundError(errno.ENOENT, f"No such file in FTPStorage: {key!r} is a directory", key)
                modified = _parse_time(facts["modify"]) if "modify" in facts else None
                return ObjectInfo(size=int(facts.get("size", 0)), modified=modified)
            size = ftp.size(path)
            if size is None:
                raise ftplib.error_perm("550 no size")
            return ObjectInfo(size=int(size), modified=_parse_time(ftp.sendcmd(f"MDTM {path}")[4:].strip()))
        except ftplib.error_perm as exc:
            if _status(exc) == "550":
                raise FileNotFoundError(errno.ENOENT, f"No such file in FTPStorage: {key!r}", key) from exc
            raise

    def _entries(self, conn: _Conn, path: str) -> list[Entry]:
        for attempt in range(3):
            try:
                if conn.mlst:
                    return _parse_mlsd(self._transfer_lines(conn, f"MLSD {path}"))
                if conn.list_a is not False:  # "-a": hidden (temporary) files too, so stale ones can be removed
                    entries = _parse_list(self._transfer_lines(conn, f"LIST -a {path}"))
                    if any(e.name == "." for e in entries) or not entries:
                        conn.list_a = True
                        return entries  # a folder's own listing, or nothing: a missing folder
                    if conn.list_a:  # vsftpd, given a folder that went meanwhile, lists the parent's matches
                        continue
                    conn.list_a = False
                return _parse_list(self._transfer_lines(conn, f"LIST {path}"))
            except ftplib.error_perm:
                # A missing folder is 550 or 501 depending on the server: look before calling it missing.
                # If it is there, it changed while it was being listed (a file removed meanwhile): list again.
                if not self._is_dir(conn, path):
                    return []
                if conn.list_a is None and not conn.mlst:
                    conn.list_a = False  # pyftpdlib takes "-a" for a path name
                elif attempt == 2:
                    raise
        return []

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

    def _remove(self, conn: _Conn, path: str) -> None:
        try:
            conn.ftp.delete(path)
        except ftplib.error_perm as exc:
            # 550 also means "not allowed": only a file that is really gone is fine.
            try:
                self._stat_path(conn, path, path)
            except FileNotFoundError:
                return
            raise FTPStorageException(f"FTPStorage could not delete {path!r}: {exc}") from exc

    def _rename(self, conn: _Conn, source: str, target: str) -> None:
        try:
            conn.ftp.rename(source, target)
        except ftplib.error_perm as exc:
            # Some servers (IIS, FileZilla) refuse to rename onto an existing file: when it is
            # there, remove it and rename again (not atomic: readers may miss the file briefly).
            try:
                self._stat_path(conn, target, target)
            except FileNotFoundError:
                raise exc from None
            conn.ftp.delete(target)
            conn.ftp.rename(source, target)

    def _claim(self, conn: _Conn, path: str) -> bool:
        # No create-if-absent in FTP: look just before the rename (serialised per name in this process).
        try:
            self._stat_path(conn, path, path)
        except FileNotFoundError:
            return False
        raise FileExistsError(errno.EEXIST, f"File already exists in FTPStorage: {path!r}", path)

    # -- reads -------------------------------------------------------------------
    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        info = self._stat(key)
        return ReadResult(_Retr(self, key, offset, info.size if end is None else min(end, info.size)), info)


class _Retr:
    """A streaming RETR body of ``[pos, end)``; the connection goes back to the pool at the end."""

    _sock: Any = None
    _conn: _Conn | None = None

    def __init__(self, storage: FTPStorage, key: str, pos: int, end: int) -> None:
        self.storage, self.key, self.pos, self.end = storage, key, pos, end

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.end:
            self.close()
            return b""
        storage = self.storage
        if self._sock is None:
            path = storage._path(self.key)
            self._sock, self._conn = storage._run(
                "read", self.key, lambda conn: conn.ftp.ntransfercmd(f"RETR {path}", rest=self.pos or None)[0],
                keep=True)
        want = min(READ_CHUNK if n is None or n < 0 else n, READ_CHUNK, self.end - self.pos)
        try:
            data = self._sock.recv(want)
        except Exception as exc:
            self._finish(broken=True)
            raise storage._unavailable(exc, f"reading {self.key!r}") from exc
        self.pos += len(data)
        if not data or self.pos >= self.end:
            self.close()
        return data

    def _finish(self, broken: bool = False) -> None:
        sock, self._sock = self._sock, None
        conn, self._conn = self._conn, None
        if conn is None:
            return
        pool = self.storage._sessions
        try:
            if not broken and isinstance(sock, ssl.SSLSocket) and self.pos >= self.end:
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
        self._finish()

    def __del__(self) -> None:
        # Garbage collected half-way: don't wait for the server, just drop the connection.
        if self._conn is not None:
            self._finish(broken=True)


class FTPStorageFile(FileServerFile):
    """A file on the FTP server (``FTPStorage.open()`` returns one): ``FTPStorageFile(name, storage, mode)``."""


FTPStorage.file_class = FTPStorageFile

"""Files on an FTP server (plain, active mode, or explicit TLS), through the standard library's
ftplib.

``FTP_STORAGE_LOCATION = "ftp://user:password@host:port/path"``; ``aftp://`` is active mode,
``ftps://`` explicit TLS on control and data connections. Percent-encode ``@ : /`` in the user and
password. FTP has no atomic create-if-absent: inside one process the check and the rename are
serialised, but two processes saving one name at once can both succeed. Commands per operation:
docs/backends/ftp.rst.
"""

from __future__ import annotations

import contextlib
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

from storages.base import common_settings
from storages.conf import Setting, setting
from storages.errors import StorageError, StorageUnavailable
from storages.files import ObjectInfo, ReadResult, parse_time
from storages.fileserver import Entry, FileServerFile, FileServerStorage
from storages.pool import ServerBusy

logger = logging.getLogger(__name__)

__all__ = ["FTPStorage", "FTPStorageFile", "FTPStorageException"]

SCHEMES = ("ftp", "aftp", "ftps")
DEFAULT_PORT = 21
READ_CHUNK = 256 * 1024

_SETTINGS = (
    *(s for s in common_settings("FTP_STORAGE_") if s.name == "write_buffer"),
    Setting(
        "location",
        ("FTP_STORAGE_LOCATION",),
        None,
        secret=True,
        doc=(
            "ftp://user:password@host:port/path (schemes ftp, aftp = active mode, ftps = explicit "
            "TLS)."
        ),
    ),
    Setting(
        "encoding",
        ("FTP_STORAGE_ENCODING",),
        "latin-1",
        doc="Encoding of names on the control connection.",
    ),
    Setting(
        "base_url",
        ("BASE_URL",),
        lambda: setting("MEDIA_URL"),
        doc=(
            "Prefix of url() (default: MEDIA_URL): the web server that publishes the FTP directory."
        ),
    ),
    Setting(
        "allow_overwrite",
        ("FTP_ALLOW_OVERWRITE",),
        False,
        doc="Save over an existing file of the same name (off: Django picks a free name).",
    ),
    Setting(
        "tls_ca_file",
        ("FTP_STORAGE_TLS_CA_FILE",),
        None,
        doc=(
            "CA bundle that signs the server's certificate (ftps://); unset: the system's trust "
            "store."
        ),
    ),
    Setting(
        "timeout", ("FTP_STORAGE_TIMEOUT",), 30, doc="Seconds to wait for a connection or a reply."
    ),
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


_NO_LOCATION = (
    'FTPStorage needs a server: set OPTIONS["location"] or FTP_STORAGE_LOCATION to '
    "ftp://user:password@host:port/path."
)


def _parse_location(location: str) -> _Target:
    where = 'FTP_STORAGE_LOCATION (OPTIONS["location"])'
    try:
        parts = urlsplit(str(location))
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ImproperlyConfigured(
            f"FTPStorage: {where} has an invalid port; write ftp://user:password@host:21/path"
        )
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            f"FTPStorage: {where} must look like ftp://user:password@host:port/path (schemes: ftp, "
            f"aftp for active mode, ftps for TLS); got a {scheme or 'missing'!r} scheme"
            + ("" if parts.hostname else " and no host")
        )
    return _Target(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        user=unquote(parts.username or "anonymous"),
        password=unquote(parts.password or ""),
        path=unquote(parts.path),
    )


class _Client(ftplib.FTP):
    """A logged-in connection (a pooled session) that stays in binary mode: storbinary/retrbinary's
    ``TYPE I`` costs no round trip (listings are read as bytes too, so nothing switches to
    ASCII)."""

    binary = mlst = False
    list_a: bool | None = None  # whether "LIST -a <path>" works (unknown until tried)

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
            conn = self.context.wrap_socket(
                conn, server_hostname=self.host, session=self.sock.session
            )
        return conn, size


def _status(exc: BaseException) -> str:
    """The server's reply code of an ftplib error ('' when it is not a reply)."""
    return str(exc.args[0])[:3] if isinstance(exc, ftplib.Error) and exc.args else ""


def _broken(exc: BaseException) -> bool:
    """Whether the connection can't be used after ``exc`` (dropped, timed out, out of step, 421
    closing)."""
    return (
        isinstance(exc, (ftplib.error_reply, ftplib.error_proto, EOFError, OSError))
        or _status(exc) == "421"
    )


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
    return [
        Entry(
            m["name"],
            m["kind"] == "d",
            ObjectInfo(size=int(m["size"]), modified=_list_time(m["when"])),
        )
        for m in matches
        if m and m["kind"] in "d-"
    ]


def _mlsx_info(facts: dict[str, str]) -> ObjectInfo:
    return ObjectInfo(size=int(facts.get("size", 0)), modified=parse_time(facts.get("modify", "")))


def _parse_mlsd(lines: list[str]) -> list[Entry]:
    parsed = (_facts(line) for line in lines)
    return [
        Entry(name, facts.get("type", "").lower() == "dir", _mlsx_info(facts))
        for facts, name in parsed
        if facts.get("type", "").lower() in ("dir", "file")
    ]


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
        if not self.location:  # fail when built, as 1.14 did, not at the first connection
            raise ImproperlyConfigured(_NO_LOCATION)
        self._target = _parse_location(self.location)
        # The directory holding the files; no path in the URL means the login directory (asked at
        # login).
        self._base: str | None = (
            posixpath.normpath(self._target.path) if self._target and self._target.path else None
        )
        self.timeout = self._timeout = float(self.timeout)

    def __repr__(self) -> str:
        return f"<FTPStorage location={str(self._target) if self._target else None!r}>"

    def disconnect(self) -> None:
        """Log out of every connection (as in django-storages 1.14; same as ``close()``)."""
        self.close()

    def _endpoint_label(self) -> str:
        return f"{self._target.host}:{self._target.port}" if self._target else "its server"

    def _unavailable(
        self, exc: BaseException, op: str, where: str | None = None
    ) -> StorageUnavailable:
        # Also an FTPStorageException, for code written against 1.14 that catches it.
        return _FTPUnavailable(str(super()._unavailable(exc, op, where)))

    def _new_session(self) -> _Client:
        target = self._target
        start = time.perf_counter()
        ftp = self._client(target.scheme)
        try:
            ftp.connect(target.host, target.port)
            ftp.login(target.user, target.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            ftp.set_pasv(target.scheme != "aftp")
            ftp.voidcmd("TYPE I")  # binary transfers; SIZE is refused in ASCII mode by some servers
            ftp.binary = True
            self._negotiate(ftp)
            if self._base is None:
                with self._lock:
                    if self._base is None:
                        self._base = ftp.pwd()
        except ssl.SSLCertVerificationError as exc:
            ftp.close()
            raise ImproperlyConfigured(
                f"FTPStorage: the TLS certificate of {target.host}:{target.port} is not trusted "
                f'({exc.verify_message}); set FTP_STORAGE_TLS_CA_FILE (OPTIONS["tls_ca_file"]) to '
                "the CA that signed it"
            ) from exc
        except ftplib.error_perm as exc:
            ftp.close()
            if _status(exc) in ("530", "331", "332", "430"):
                raise _FTPLoginError(
                    errno.EACCES,
                    f"FTPStorage could not log in to {target.host}:{target.port} as "
                    f"{target.user!r} ({exc}); check the user and password in FTP_STORAGE_LOCATION "
                    '(OPTIONS["location"])',
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
        logger.debug(
            "ftp connect %s:%s %.1fms",
            target.host,
            target.port,
            (time.perf_counter() - start) * 1000,
        )
        return ftp

    def _client(self, scheme: str) -> _Client:
        """An unconnected client: FTP over TLS for ftps:// (with FTP_STORAGE_TLS_CA_FILE)."""
        if scheme != "ftps":
            return _Client(timeout=self.timeout, encoding=self.encoding)
        context = ssl.create_default_context(cafile=self.tls_ca_file or None)
        return _TLSClient(context=context, timeout=self.timeout, encoding=self.encoding)

    def _negotiate(self, ftp: _Client) -> None:
        """Use MLST and UTF-8 names where the server's FEAT answer offers them."""
        try:
            reply = ftp.sendcmd("FEAT").splitlines()[1:-1]
        except ftplib.error_perm:  # no FEAT: an old server, neither feature
            reply = []
        features = {line.strip().split(" ")[0].upper() for line in reply}
        ftp.mlst = "MLST" in features
        if "UTF8" in features and self.encoding.lower().replace("-", "") == "utf8":
            with contextlib.suppress(ftplib.Error):  # refused: names stay as the server sends them
                ftp.sendcmd("OPTS UTF8 ON")

    # -- sessions ----------------------------------------------------------
    def _session_alive(self, ftp: _Client) -> bool:
        return ftp.sock is not None

    def _end_session(self, ftp: _Client) -> None:
        ftp.close()

    def _broken(self, ftp: _Client, exc: BaseException) -> bool:
        return _broken(exc) or not self._session_alive(ftp)

    def _translate(self, exc: BaseException, name: str | None, op: str) -> BaseException:
        if isinstance(exc, UnicodeEncodeError):  # nothing was sent: the connection is fine
            return ValueError(
                f"FTPStorage can't send {name!r} in the encoding {self.encoding!r}; set "
                "FTP_STORAGE_ENCODING (OPTIONS[\"encoding\"]) to 'utf-8' if the server supports "
                "UTF-8 names"
            )
        if _broken(exc):
            return self._unavailable(exc, op)
        if _status(exc) in ("530", "532"):
            return _FTPLoginError(
                errno.EACCES, f"FTPStorage is not logged in ({exc}) during {op} of {name!r}", name
            )
        return FTPStorageException(f"FTPStorage: {op} of {name!r} failed: {exc}")

    # -- session-level hooks -------------------------------------------------
    def _path(self, key: str) -> str:
        if self._base is None:
            self._run("login", None, lambda ftp: None)  # the login directory is learnt at login
        key = key.rstrip("/")
        return posixpath.join(self._base or "/", key) if key else (self._base or "/")

    def _put(self, ftp: _Client, path: str, fileobj: Any) -> None:
        try:
            ftp.storbinary(f"STOR {path}", fileobj, blocksize=READ_CHUNK)
        except ftplib.error_perm:
            raise  # refused before the transfer: the connection is in step
        except BaseException:
            # cut mid-transfer: the server's reply is still pending, so this connection is done
            ftp.close()
            raise

    def _mkdir(self, ftp: _Client, path: str) -> None:
        ftp.mkd(path)

    def _is_dir(self, ftp: _Client, path: str) -> bool:
        try:
            ftp.cwd(path)  # every path we send is absolute, so the cwd doesn't matter
        except ftplib.error_perm:
            return False
        return True

    def _kind(self, ftp: _Client, path: str) -> str | None:
        try:
            if ftp.mlst:  # one command tells files and folders apart
                return (
                    "file" if self._mlst(ftp, path).get("type", "file").lower() == "file" else "dir"
                )
            ftp.size(path)
            return "file"
        except ftplib.error_perm:  # a missing name, or (without MLST) maybe a folder
            return None if ftp.mlst or not self._is_dir(ftp, path) else "dir"

    @staticmethod
    def _mlst(ftp: _Client, path: str) -> dict[str, str]:
        lines = [line for line in ftp.sendcmd(f"MLST {path}").splitlines() if line.startswith(" ")]
        return _facts(lines[0].strip() if lines else "")[0]

    def _stat_path(self, ftp: _Client, path: str, key: str) -> ObjectInfo:
        try:
            if ftp.mlst:
                facts = self._mlst(ftp, path)
                if facts.get("type", "file").lower() != "file":
                    raise FileNotFoundError(
                        errno.ENOENT, f"No such file in FTPStorage: {key!r} is a directory", key
                    )
                return _mlsx_info(facts)
            size = ftp.size(path)
            if size is None:
                raise ftplib.error_perm("550 no size")
            return ObjectInfo(
                size=int(size), modified=parse_time(ftp.sendcmd(f"MDTM {path}")[4:].strip())
            )
        except ftplib.error_perm as exc:
            if _status(exc) == "550":
                raise FileNotFoundError(
                    errno.ENOENT, f"No such file in FTPStorage: {key!r}", key
                ) from exc
            raise

    def _entries(self, ftp: _Client, path: str) -> list[Entry]:
        for attempt in range(3):
            try:
                if ftp.mlst:
                    return _parse_mlsd(self._lines(ftp, f"MLSD {path}"))
                # "-a": hidden (temporary) files too, so stale ones can be removed.
                if ftp.list_a is not False:
                    entries = _parse_list(self._lines(ftp, f"LIST -a {path}"))
                    if any(e.name == "." for e in entries) or not entries:
                        ftp.list_a = True
                        return entries  # a folder's own listing, or nothing: a missing folder
                    if ftp.list_a:
                        # vsftpd, given a folder that went meanwhile, lists the parent's matches.
                        continue
                    ftp.list_a = False
                return _parse_list(self._lines(ftp, f"LIST {path}"))
            except ftplib.error_perm:
                # A missing folder is 550 or 501 depending on the server: look before calling it
                # missing. If it is there, it changed while it was being listed (a file removed
                # meanwhile): list again.
                if not self._is_dir(ftp, path):
                    return []
                if ftp.list_a is None and not ftp.mlst:
                    ftp.list_a = False  # pyftpdlib takes "-a" for a path name
                elif attempt == 2:
                    raise
        return []

    def _lines(self, ftp: _Client, command: str) -> list[str]:
        """A listing's lines (read in binary mode: no TYPE A round trip)."""
        data = bytearray()
        ftp.retrbinary(command, data.extend)
        return [
            line
            for line in data.decode(self.encoding, errors="surrogateescape").splitlines()
            if line
        ]

    def _remove(self, ftp: _Client, path: str) -> None:
        try:
            ftp.delete(path)
        except ftplib.error_perm as exc:
            # 550 also means "not allowed": only a file that is really gone is fine.
            try:
                self._stat_path(ftp, path, path)
            except FileNotFoundError:
                return
            raise FTPStorageException(f"FTPStorage could not delete {path!r}: {exc}") from exc

    def _rmdir(self, ftp: _Client, path: str) -> None:
        ftp.rmd(path)

    def _rename(self, ftp: _Client, source: str, target: str) -> None:
        try:
            ftp.rename(source, target)
        except ftplib.error_perm as exc:
            # Some servers (IIS, FileZilla) refuse to rename onto an existing file: when it is
            # there, remove it and rename again (not atomic: readers may miss the file briefly).
            try:
                self._stat_path(ftp, target, target)
            except FileNotFoundError:
                raise exc from None
            ftp.delete(target)
            ftp.rename(source, target)

    def _claim(self, ftp: _Client, path: str) -> bool:
        # No create-if-absent in FTP: look just before the rename (serialised per name in this
        # process).
        try:
            self._stat_path(ftp, path, path)
        except FileNotFoundError:
            return False
        raise FileExistsError(errno.EEXIST, f"File already exists in FTPStorage: {path!r}", path)

    # -- reads -------------------------------------------------------------------
    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        info = self._stat(key)
        return ReadResult(
            _Retr(self, key, offset, info.size if end is None else min(end, info.size)), info
        )


class _Retr:
    """A streaming RETR body of ``[pos, end)``; the connection goes back to the pool at the end."""

    _sock: Any = None
    _ftp: _Client | None = None

    def __init__(self, storage: FTPStorage, key: str, pos: int, end: int) -> None:
        self.storage, self.key, self.pos, self.end = storage, key, pos, end

    def read(self, n: int = -1) -> bytes:
        if self.pos >= self.end:
            self.close()
            return b""
        if self._ftp is None:
            path = self.storage._path(self.key)
            self._sock, self._ftp = self.storage._run(
                "read",
                self.key,
                lambda ftp: ftp.ntransfercmd(f"RETR {path}", rest=self.pos or None)[0],
                keep=True,
            )
        try:
            data = self._sock.recv(
                min(READ_CHUNK if n is None or n < 0 else n, READ_CHUNK, self.end - self.pos)
            )
        except Exception as exc:
            self._finish(broken=True)
            raise self.storage._unavailable(exc, f"reading {self.key!r}") from exc
        self.pos += len(data)
        if not data or self.pos >= self.end:
            self.close()
        return data

    def _finish(self, broken: bool) -> None:
        sock, ftp, self._sock, self._ftp = self._sock, self._ftp, None, None
        if ftp is None:
            return
        try:
            if not broken and isinstance(sock, ssl.SSLSocket) and self.pos >= self.end:
                sock.unwrap()  # a clean TLS close at the end of the file
            sock.close()
            if not broken:
                try:
                    ftp.voidresp()  # 226, or 426/451 after an early close: either way in step again
                except (ftplib.error_temp, ftplib.error_perm):
                    pass
        except Exception:
            broken = True
        (self.storage._sessions.discard if broken else self.storage._sessions.release)(ftp)

    def close(self) -> None:
        self._finish(broken=False)

    def __del__(self) -> None:
        # Garbage collected half-way: don't wait for the server, just drop the connection.
        if self._ftp is not None:
            self._finish(broken=True)


class FTPStorageFile(FileServerFile):
    """A file on the FTP server (``FTPStorage.open()`` returns one): ``FTPStorageFile(name, storage,
    mode)``."""


FTPStorage.file_class = FTPStorageFile

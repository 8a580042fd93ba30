"""Files on an SSH server over SFTP, through paramiko.

SFTP sessions are pooled per storage (:mod:`storages.pool`); up to eight channels share one SSH
connection. ``storage.sftp`` is a paramiko ``SFTPClient`` for the calling thread;
``storage.close()`` (or ``with SFTPStorage() as storage:``) closes everything. Requests per
operation, connections and threads: docs/backends/sftp.rst.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import getpass
import hashlib
import logging
import os
import stat as statmod
import sys
import time
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import common_settings
from storages.conf import Setting, setting
from storages.errors import StorageError, sdk_required, translate
from storages.files import ObjectInfo, ReadResult
from storages.fileserver import Entry, FileServerFile, FileServerStorage, timestamp

with sdk_required("The SFTP backend", "paramiko", "sftp"):
    import paramiko
    from paramiko.util import ClosingContextManager

    from storages.backends.sftpstorage._paramiko_reader import PipelinedReader

logger = logging.getLogger(__name__)

__all__ = ["SFTPStorage", "SFTPStorageFile"]

#: Seconds for the TCP connect, the SSH banner and each SFTP request, unless SFTP_STORAGE_PARAMS
#: says otherwise.
DEFAULT_TIMEOUT = 30.0
#: SFTP channels opened on one SSH connection before another connection is made.
SESSIONS_PER_CONNECTION = 8
#: SSHClient.connect() arguments that are secrets: kept out of deconstruct() (migrations) and reprs.
SECRET_PARAMS = frozenset(
    {"password", "passphrase", "pkey", "sock", "gss_deleg_creds", "auth_strategy"}
)
UNKNOWN_HOST_CHOICES = ("warn", "reject")

_ERRORS: dict[str | int, type[BaseException]] = {
    errno.ENOENT: FileNotFoundError,
    errno.EACCES: PermissionError,
    errno.EPERM: PermissionError,
}

_SETTINGS = (
    Setting("host", ("SFTP_STORAGE_HOST",), None, doc="The SSH server's host name or address."),
    Setting(
        "params",
        ("SFTP_STORAGE_PARAMS",),
        dict,
        doc="Keyword arguments for paramiko's SSHClient.connect(): port, username, key_filename, "
        "pkey, password, timeout...",
    ),
    Setting(
        "interactive",
        ("SFTP_STORAGE_INTERACTIVE",),
        False,
        doc=(
            "Ask for a password on the terminal when the keys are refused (never without a "
            "terminal)."
        ),
    ),
    Setting(
        "file_mode", ("SFTP_STORAGE_FILE_MODE",), None, doc="chmod bits for new files (e.g. 0o644)."
    ),
    Setting(
        "dir_mode",
        ("SFTP_STORAGE_DIR_MODE",),
        None,
        doc="chmod bits for new directories (e.g. 0o755).",
    ),
    Setting(
        "uid", ("SFTP_STORAGE_UID",), None, doc="Owner (numeric uid) for new files and directories."
    ),
    Setting(
        "gid", ("SFTP_STORAGE_GID",), None, doc="Group (numeric gid) for new files and directories."
    ),
    Setting(
        "known_host_file",
        ("SFTP_KNOWN_HOST_FILE",),
        None,
        doc="An OpenSSH known_hosts file; unset means ~/.ssh/known_hosts when it exists.",
    ),
    *(s for s in common_settings("SFTP_STORAGE_") if s.name == "write_buffer"),
    Setting(
        "root_path",
        ("SFTP_STORAGE_ROOT",),
        "",
        doc="Remote directory holding the files (absolute, or relative to the login directory).",
    ),
    Setting(
        "base_url",
        ("SFTP_BASE_URL",),
        lambda: setting("MEDIA_URL"),
        doc="Prefix of url() (default: MEDIA_URL): the web server that publishes root_path.",
    ),
    Setting(
        "unknown_host",
        ("SFTP_STORAGE_UNKNOWN_HOST",),
        "warn",
        doc=(
            "A host missing from known_hosts: 'warn' (accept its key for this storage and log a "
            "WARNING) or 'reject'. A key that differs from known_hosts is always refused."
        ),
    ),
    Setting(
        "allow_overwrite",
        ("SFTP_STORAGE_ALLOW_OVERWRITE",),
        False,
        doc="Save over an existing file of the same name (off: Django picks a free name).",
    ),
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

    def missing_host_key(
        self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey
    ) -> None:
        self.storage._unknown_host_key(hostname, key)


class _LoginRefused(StorageError, PermissionError):
    """The server refused the user, key or password."""


class _SSH:
    """One SSH connection carrying up to ``limit`` SFTP channels."""

    def __init__(self, client: paramiko.SSHClient) -> None:
        self.client = client
        self.channels = 1
        self.limit = SESSIONS_PER_CONNECTION

    def alive(self) -> bool:
        transport = self.client.get_transport()
        return transport is not None and transport.is_active()


class _Session:
    """One SFTP channel (a pooled session)."""

    def __init__(self, ssh: _SSH, sftp: paramiko.SFTPClient) -> None:
        self.ssh = ssh
        self.sftp = sftp


def _is_status_error(exc: BaseException) -> bool:
    """An SFTP status reply (paramiko raises IOError(errno, text) or IOError(text))."""
    return type(exc) in (OSError, FileNotFoundError, PermissionError)


@deconstructible
class SFTPStorage(ClosingContextManager, FileServerStorage):
    """Files on an SSH server (SFTP). Use ``with SFTPStorage() as s:`` to close its connections."""

    settings_table = _SETTINGS
    # The SSH transports, a password asked at the prompt and the host keys accepted this run.
    transient_attributes = ("_ssh", "_password", "_accepted_keys")
    missing_times: ClassVar[dict[str, str]] = {"created": "SFTP servers report no creation time"}
    endpoint_setting = "SFTP_STORAGE_HOST, the port and timeout in SFTP_STORAGE_PARAMS"
    root_setting = 'SFTP_STORAGE_ROOT (OPTIONS["root_path"])'
    # Passwords and key objects stay out of migrations.
    secret_option_keys = {"params": SECRET_PARAMS}

    def system_checks(self, alias: str) -> list[Any]:
        from storages.backends.sftpstorage.checks import system_checks

        return system_checks(self, alias)

    def configure(self) -> None:
        if self.unknown_host not in UNKNOWN_HOST_CHOICES:
            raise ImproperlyConfigured(
                "SFTPStorage: SFTP_STORAGE_UNKNOWN_HOST (OPTIONS[\"unknown_host\"]) must be 'warn' "
                f"or 'reject', not {self.unknown_host!r}."
            )
        if not isinstance(self.params, dict):
            raise ImproperlyConfigured(
                'SFTPStorage: SFTP_STORAGE_PARAMS (OPTIONS["params"]) must be a dict.'
            )
        root = str(self.root_path or "")
        self._root = root.rstrip("/") or ("/" if root.startswith("/") else "")
        self._timeout = float(self.params.get("timeout") or DEFAULT_TIMEOUT)

    def __repr__(self) -> str:
        return f"<SFTPStorage host={self.host!r} root_path={self.root_path!r}>"

    # -- connections -------------------------------------------------------
    @property
    def sftp(self) -> paramiko.SFTPClient:
        """A paramiko ``SFTPClient`` for the calling thread (kept until ``close()``)."""
        return self._thread_session().sftp

    def close(self) -> None:
        """Close every connection (the storage reconnects if used again)."""
        super().close()
        with self._lock:
            connections = self.__dict__.pop("_ssh", None) or []
        for ssh in connections:
            ssh.client.close()

    def _endpoint_label(self) -> str:
        return f"{self.host}:{self.params.get('port', 22)}"

    def _known_hosts_path(self) -> str | None:
        if self.known_host_file:
            path = os.path.expanduser(str(self.known_host_file))
            if not os.path.exists(path):
                raise ImproperlyConfigured(
                    f"SFTPStorage: the known_hosts file {path!r} does not exist; check "
                    'SFTP_KNOWN_HOST_FILE (OPTIONS["known_host_file"]).'
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
            "SFTPStorage: %s is not in known_hosts; accepting its key %s for this storage. Add "
            "the key to SFTP_KNOWN_HOST_FILE, or set SFTP_STORAGE_UNKNOWN_HOST = 'reject' to "
            "refuse unknown hosts.",
            hostname,
            _fingerprint(key),
        )

    def _connect(self) -> paramiko.SSHClient:
        """A new, authenticated SSH connection (host key checked)."""
        if not self.host:
            raise ImproperlyConfigured(
                'SFTPStorage needs a host: set OPTIONS["host"] or SFTP_STORAGE_HOST.'
            )
        kwargs: dict[str, Any] = {
            "timeout": self._timeout,
            "banner_timeout": self._timeout,
            "auth_timeout": self._timeout,
            "channel_timeout": self._timeout,
            **self.params,
        }
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
                f"SFTPStorage refused {self._endpoint_label()}: its host key "
                f"({_fingerprint(exc.key)}) is not the one in known_hosts "
                f"({_fingerprint(exc.expected_key)}). Someone may be intercepting the connection; "
                "if the server's key really changed, update SFTP_KNOWN_HOST_FILE."
            ) from exc
        except _HostKeyRejected as exc:
            client.close()
            raise ImproperlyConfigured(
                f"SFTPStorage refused {self._endpoint_label()}: the host is not in known_hosts and "
                "SFTP_STORAGE_UNKNOWN_HOST is 'reject'. Add its key to SFTP_KNOWN_HOST_FILE "
                "(ssh-keyscan -p PORT HOST >> known_hosts, after checking the fingerprint)."
            ) from exc
        except paramiko.AuthenticationException as exc:
            client.close()
            # A wrong typed password is asked for again next time.
            typed = self.__dict__.pop("_password", None)
            if typed is None and self._can_prompt():
                self._password = getpass.getpass(
                    "Password for "
                    f"{self.params.get('username') or getpass.getuser()}@{self._endpoint_label()}: "
                )
                return self._connect()
            raise _LoginRefused(
                errno.EACCES,
                f"SFTPStorage could not log in to {self._endpoint_label()} as "
                f"{self.params.get('username') or getpass.getuser()!r} ({type(exc).__name__}: "
                f"{exc}); check username, key_filename / pkey and password in SFTP_STORAGE_PARAMS "
                '(OPTIONS["params"])',
            ) from exc
        except (paramiko.SSHException, EOFError, OSError) as exc:
            client.close()
            raise self._unavailable(exc, "connecting") from exc
        logger.debug(
            "sftp connect %s %.1fms", self._endpoint_label(), (time.perf_counter() - start) * 1000
        )
        return client

    def _can_prompt(self) -> bool:
        # Only a person at a terminal can answer (collectstatic), never a web request.
        stdin = sys.stdin
        return bool(self.interactive) and stdin is not None and stdin.isatty()

    def _new_session(self) -> _Session:
        """An SFTP channel on an SSH connection that has room for one, else on a new connection."""
        with self._lock:
            ssh = next(
                (
                    c
                    for c in self.__dict__.setdefault("_ssh", [])
                    if c.alive() and c.channels < c.limit
                ),
                None,
            )
            if ssh is not None:
                ssh.channels += 1  # reserved: the connection stays open while we add a channel
        if ssh is None:
            ssh = _SSH(self._connect())
            with self._lock:
                self.__dict__.setdefault("_ssh", []).append(ssh)
        try:
            sftp = ssh.client.open_sftp()
        except (paramiko.SSHException, EOFError, OSError) as exc:
            with self._lock:
                ssh.channels -= 1
                ssh.limit = max(1, ssh.channels)  # the server allows fewer (OpenSSH: MaxSessions)
            if ssh.channels:
                return self._new_session()
            self._drop(ssh)
            raise self._unavailable(exc, "opening an SFTP session") from exc
        sftp.get_channel().settimeout(self._timeout)
        return _Session(ssh, sftp)

    def _session_alive(self, session: _Session) -> bool:
        channel = session.sftp.get_channel()
        return session.ssh.alive() and channel is not None and not channel.closed

    def _end_session(self, session: _Session) -> None:
        try:
            session.sftp.close()
        finally:
            with self._lock:
                session.ssh.channels -= 1
                last = session.ssh.channels <= 0
            if last:
                self._drop(session.ssh)

    def _drop(self, ssh: _SSH) -> None:
        with self._lock:
            if ssh in self.__dict__.get("_ssh", ()):
                self._ssh.remove(ssh)
        ssh.client.close()

    def _broken(self, session: _Session, exc: BaseException) -> bool:
        return not _is_status_error(exc) or not self._session_alive(session)

    def _translate(self, exc: BaseException, name: str | None, op: str) -> BaseException | None:
        if not _is_status_error(exc) or getattr(exc, "broken_session", False):
            lost = isinstance(exc, (EOFError, paramiko.SSHException, OSError))
            return self._unavailable(exc, op) if lost else None
        found = translate(
            getattr(exc, "errno", None), _ERRORS, storage=self, name=name, detail=f"{op}: {exc}"
        )
        return found or StorageError(f"SFTPStorage: {op} of {name!r} failed: {exc}")

    # -- session-level hooks -------------------------------------------------
    def _path(self, key: str) -> str:
        key = key.rstrip("/")
        if not self._root:
            return key or "."
        return f"{self._root.rstrip('/')}/{key}" if key else self._root

    def _put(self, session: _Session, path: str, fileobj: Any) -> None:
        session.sftp.putfo(fileobj, path, confirm=False)

    def _prepare_temp(self, session: _Session, path: str) -> None:
        self._apply_owner_and_mode(session.sftp, path, self.file_mode)

    def _mkdir(self, session: _Session, path: str) -> None:
        session.sftp.mkdir(path)
        self._apply_owner_and_mode(session.sftp, path, self.dir_mode)

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

    def _kind(self, session: _Session, path: str) -> str | None:
        try:
            return "dir" if statmod.S_ISDIR(session.sftp.stat(path).st_mode or 0) else "file"
        except OSError as exc:
            if _is_status_error(exc):
                return None
            raise

    @staticmethod
    def _info(st: paramiko.SFTPAttributes) -> ObjectInfo:
        return ObjectInfo(
            size=st.st_size or 0, modified=timestamp(st.st_mtime), accessed=timestamp(st.st_atime)
        )

    def _stat_path(self, session: _Session, path: str, key: str) -> ObjectInfo:
        st = session.sftp.stat(path)
        if statmod.S_ISDIR(st.st_mode or 0):
            raise FileNotFoundError(
                errno.ENOENT, f"No such file in SFTPStorage: {key!r} is a directory", key
            )
        return self._info(st)

    def _entries(self, session: _Session, path: str) -> list[Entry]:
        try:
            found = session.sftp.listdir_attr(path)
        except FileNotFoundError:
            return []
        return [Entry(e.filename, statmod.S_ISDIR(e.st_mode or 0), self._info(e)) for e in found]

    def _remove(self, session: _Session, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            session.sftp.remove(path)

    def _rmdir(self, session: _Session, path: str) -> None:
        session.sftp.rmdir(path)

    def _rename(self, session: _Session, source: str, target: str) -> None:
        try:
            session.sftp.posix_rename(source, target)
        except OSError as exc:
            if not _is_status_error(exc) or getattr(exc, "errno", None) is not None:
                raise
            # No posix-rename@openssh.com extension: a plain rename refuses an existing target.
            self._remove(session, target)
            session.sftp.rename(source, target)

    def _claim(self, session: _Session, path: str) -> bool:
        """Create the final name exclusively, so two uploads can't both take it."""
        try:
            session.sftp.open(path, "wx").close()
        except OSError as exc:
            if not _is_status_error(exc):
                raise
            # OpenSSH answers a taken name with a bare "Failure" (no errno): look.
            try:
                session.sftp.stat(path)
            except FileNotFoundError:
                raise exc from None
            raise FileExistsError(
                errno.EEXIST, f"File already exists in SFTPStorage: {path!r}", path
            ) from exc
        return True

    # -- reads -----------------------------------------------------------------
    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        info = self._stat(key)
        path = self._path(key)

        held: list[_Session] = []

        def open_file() -> tuple[Any, Any, Any]:
            handle, session = self._run("open", key, lambda s: s.sftp.open(path, "rb"), keep=True)
            held.append(session)
            pool = self._sessions
            return (
                session.sftp,
                handle,
                lambda broken: (pool.discard if broken else pool.release)(session),
            )

        def on_error(exc: BaseException) -> BaseException:
            if held:
                self._is_broken_error(held[0], exc)  # marks an error that broke the session
            return self._translate(exc, key, "read") or exc

        stop = info.size if end is None else min(end, info.size)
        return ReadResult(PipelinedReader(open_file, offset, stop, on_error), info)


class SFTPStorageFile(FileServerFile):
    """A file on the SFTP server (``SFTPStorage.open()`` returns one): ``SFTPStorageFile(name,
    storage, mode)``."""


SFTPStorage.file_class = SFTPStorageFile

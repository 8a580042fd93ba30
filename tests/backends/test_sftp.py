"""SFTPStorage against OpenSSH's sshd: the conformance suite plus SFTP's own settings and safety."""

from __future__ import annotations

import io
import logging
import os
import pickle
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import paramiko
import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File

from storages.backends.sftpstorage import SFTPStorage, SFTPStorageFile
from storages.errors import StorageUnavailable
from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    StorageConformance,
    StorageLifecycle,
)
from storages.testing.async_suite import async_conformance
from storages.testing.helpers import PatternFile
from tests.backends import fileserver_checks as checks
from tests.backends.fileserver_checks import unfinished_uploads, wait_for
from tests.sdk_missing import import_without
from tests.servers import free_port
from tests.servers.ftp import serve_directory
from tests.servers.proxy import TCPProxy
from tests.servers.sftp import SFTPServer, make_ed25519_key, start_sftp

PATH = "storages.backends.sftpstorage.SFTPStorage"
# Passed in SFTP_STORAGE_PARAMS (paramiko ignores a passphrase for an unencrypted key): must never
# leak.
PASSPHRASE = "never-show-this-passphrase"
WRONG_PASSWORD = "wrong-password-never-shown"


@pytest.fixture(scope="session")
def sftp_server(tmp_path_factory):
    server = start_sftp(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sftp_data(tmp_path_factory) -> Path:
    """Where the storages' roots live (the server is local, so the tests can look at the files)."""
    return tmp_path_factory.mktemp("sftp-data")


@pytest.fixture(scope="session")
def sftp_http(sftp_data):
    """A web server publishing the uploaded files, as MEDIA_URL would in production."""
    http = serve_directory(sftp_data)
    yield http
    http.stop()


def sftp_options(server: SFTPServer, data: Path, http=None, **extra) -> dict:
    leaf = f"root-{uuid.uuid4().hex[:12]}"
    options = {
        "host": "127.0.0.1",
        "params": server.params(passphrase=PASSPHRASE),
        "known_host_file": str(server.known_hosts),
        "unknown_host": "reject",
        "root_path": str(data / leaf),
        "base_url": http.url_for(leaf) if http else f"https://media.example.com/{leaf}/",
    }
    options.update(extra)
    return options


class TestSFTPConformance(StorageConformance, StorageLifecycle):
    capabilities = Capabilities.strict(
        overwrite_option="allow_overwrite",
        created_time=False,
        accessed_time=True,
        modified_time=True,
        folders_exist=True,
    )
    # No parts on a file server: a larger save through the same stream.
    multipart_size = 3 * 1024 * 1024
    interrupted_leftovers = staticmethod(unfinished_uploads)

    @pytest.fixture
    def storage_config(self, sftp_server, sftp_data, sftp_http):
        return BackendConfig(
            PATH,
            sftp_options(sftp_server, sftp_data, sftp_http),
            secrets=[PASSPHRASE],
            location_option="root_path",
        )

    @pytest.fixture
    def broken_configs(self, sftp_server, sftp_data, tmp_path):
        stranger = tmp_path / "stranger_key"
        make_ed25519_key(stranger)
        a_file = sftp_data / f"a-file-{uuid.uuid4().hex[:8]}"
        a_file.write_text("not a directory")
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                PATH,
                sftp_options(
                    sftp_server,
                    sftp_data,
                    params=sftp_server.params(key_filename=str(stranger), password=WRONG_PASSWORD),
                ),
                secrets=[WRONG_PASSWORD],
            ),
            missing_container=BackendConfig(
                PATH, sftp_options(sftp_server, sftp_data, root_path=str(a_file / "media"))
            ),
            unreachable=BackendConfig(
                PATH,
                sftp_options(
                    sftp_server, sftp_data, params=sftp_server.params(port=free_port(), timeout=5)
                ),
            ),
        )


TestSFTPAsync = async_conformance(TestSFTPConformance)


# ---------------------------------------------------------------------------
# SFTP's own settings and behaviour
# ---------------------------------------------------------------------------
@pytest.fixture
def options(sftp_server, sftp_data):
    return sftp_options(sftp_server, sftp_data)


@pytest.fixture
def sftp(options):
    with SFTPStorage(**options) as storage:
        yield storage


class Requests:
    """Counts SFTP requests (every one goes through SFTPClient._async_request) and SSH
    handshakes."""

    def __init__(self, monkeypatch) -> None:
        self.ops: list[int] = []
        self.handshakes = 0
        original = paramiko.SFTPClient._async_request
        connect = paramiko.SSHClient.connect

        def counting(client, fileobj, t, *args):
            self.ops.append(t)
            return original(client, fileobj, t, *args)

        def counting_connect(client, *args, **kwargs):
            self.handshakes += 1
            return connect(client, *args, **kwargs)

        monkeypatch.setattr(paramiko.SFTPClient, "_async_request", counting)
        monkeypatch.setattr(paramiko.SSHClient, "connect", counting_connect)

    def names(self) -> list[str]:
        from paramiko.sftp import CMD_NAMES

        return [CMD_NAMES.get(t, str(t)) for t in self.ops]

    def clear(self) -> None:
        self.ops.clear()


def test_settings_from_django_and_defaults(settings, sftp_server, sftp_data):
    settings.SFTP_STORAGE_HOST = "127.0.0.1"
    settings.SFTP_STORAGE_PARAMS = sftp_server.params()
    settings.SFTP_KNOWN_HOST_FILE = str(sftp_server.known_hosts)
    settings.SFTP_STORAGE_ROOT = str(sftp_data / "from-settings")
    settings.SFTP_STORAGE_FILE_MODE = 0o640
    settings.SFTP_STORAGE_DIR_MODE = 0o750
    settings.SFTP_STORAGE_UNKNOWN_HOST = "reject"
    settings.MEDIA_URL = "/uploads/"
    s = SFTPStorage()
    assert (s.host, s.root_path, s.file_mode, s.dir_mode, s.unknown_host) == (
        "127.0.0.1",
        str(sftp_data / "from-settings"),
        0o640,
        0o750,
        "reject",
    )
    assert s.base_url == "/uploads/" and s.url("a b.txt") == "/uploads/a%20b.txt"
    settings.SFTP_BASE_URL = "https://cdn.example.com/m/"
    assert SFTPStorage().url("x/ü.txt") == "https://cdn.example.com/m/x/%C3%BC.txt"
    name = s.save("dir/f.txt", ContentFile(b"settings"))
    assert (sftp_data / "from-settings" / "dir" / "f.txt").read_bytes() == b"settings"
    assert stat.S_IMODE(os.stat(sftp_data / "from-settings" / "dir" / "f.txt").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(sftp_data / "from-settings" / "dir").st_mode) == 0o750
    assert s.open(name).read() == b"settings"
    s.close()
    for attr in (
        "SFTP_STORAGE_HOST",
        "SFTP_STORAGE_PARAMS",
        "SFTP_KNOWN_HOST_FILE",
        "SFTP_STORAGE_ROOT",
        "SFTP_STORAGE_FILE_MODE",
        "SFTP_STORAGE_DIR_MODE",
        "SFTP_STORAGE_UNKNOWN_HOST",
        "SFTP_BASE_URL",
    ):
        delattr(settings, attr)
    d = SFTPStorage()
    assert (
        d.host,
        d.params,
        d.interactive,
        d.file_mode,
        d.dir_mode,
        d.uid,
        d.gid,
        d.known_host_file,
        d.root_path,
        d.base_url,
        d.unknown_host,
        d.allow_overwrite,
    ) == (None, {}, False, None, None, None, None, None, "", "/uploads/", "warn", False)


def test_unknown_option_and_bad_choices():
    with pytest.raises(ImproperlyConfigured, match="root_path"):
        SFTPStorage(root="x")
    with pytest.raises(ImproperlyConfigured, match="SFTP_STORAGE_UNKNOWN_HOST"):
        SFTPStorage(unknown_host="accept")
    with pytest.raises(ImproperlyConfigured, match="SFTP_STORAGE_HOST"):
        SFTPStorage().exists("x")


# -- host keys ------------------------------------------------------------------------
def test_unknown_host_is_accepted_with_a_warning(options, tmp_path, caplog):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    caplog.set_level(logging.WARNING, logger="storages")
    with SFTPStorage(**{**options, "known_host_file": str(empty), "unknown_host": "warn"}) as s:
        s.save("hello.txt", ContentFile(b"hi"))
        assert s.open("hello.txt").read() == b"hi"
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and r.name.startswith("storages")
    ]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert (
        "not in known_hosts" in message
        and "SHA256:" in message
        and "SFTP_STORAGE_UNKNOWN_HOST" in message
    )
    assert empty.read_text() == ""  # the key is trusted for this storage only, never written


def test_unknown_host_refused_when_configured(options, tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    s = SFTPStorage(**{**options, "known_host_file": str(empty), "unknown_host": "reject"})
    with pytest.raises(ImproperlyConfigured, match="not in known_hosts") as info:
        s.save("never.txt", ContentFile(b"x"))
    assert "SFTP_KNOWN_HOST_FILE" in str(info.value)
    assert not list(Path(options["root_path"]).parent.glob(Path(options["root_path"]).name + "/*"))


@pytest.mark.parametrize("policy", ["warn", "reject"])
def test_changed_host_key_is_always_refused(options, sftp_server, tmp_path, policy):
    other = make_ed25519_key(tmp_path / "impostor")
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{sftp_server.port} {other}\n")
    s = SFTPStorage(**{**options, "known_host_file": str(known), "unknown_host": policy})
    with pytest.raises(ImproperlyConfigured, match="host key") as info:
        s.exists("x")
    assert "SFTP_KNOWN_HOST_FILE" in str(info.value)
    assert isinstance(info.value.__cause__, paramiko.BadHostKeyException)


def test_a_host_accepted_once_must_keep_its_key(options, sftp_server, tmp_path):
    """With 'warn', the first key seen is pinned: a later connection with another key is refused."""
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    s = SFTPStorage(**{**options, "known_host_file": str(empty), "unknown_host": "warn"})
    assert s.exists("nothing.txt") is False
    # Pretend we first met another server under that name.
    s._accepted_keys[f"[127.0.0.1]:{sftp_server.port}"] = paramiko.Ed25519Key.from_private_key_file(
        str(sftp_server.client_key)
    )
    s.close()
    with pytest.raises(ImproperlyConfigured, match="host key"):
        s.exists("nothing.txt")


def test_missing_known_hosts_file_is_a_configuration_error(options, tmp_path):
    s = SFTPStorage(**{**options, "known_host_file": str(tmp_path / "nope")})
    with pytest.raises(ImproperlyConfigured, match="SFTP_KNOWN_HOST_FILE"):
        s.exists("x")


# -- authentication ----------------------------------------------------------------------
def test_wrong_key_gives_a_clear_error(options, sftp_server, tmp_path):
    stranger = tmp_path / "stranger"
    make_ed25519_key(stranger)
    s = SFTPStorage(
        **{
            **options,
            "params": sftp_server.params(key_filename=str(stranger), password=WRONG_PASSWORD),
        }
    )
    with pytest.raises(PermissionError) as info:
        s.open("x.txt")
    message = str(info.value)
    assert "SFTPStorage could not log in" in message and "SFTP_STORAGE_PARAMS" in message
    assert sftp_server.user in message and WRONG_PASSWORD not in message
    assert isinstance(info.value.__cause__, paramiko.AuthenticationException)


@pytest.fixture
def encrypted_key(sftp_server, tmp_path):
    """A client key protected by a passphrase, authorised on the server."""
    path = tmp_path / "encrypted"
    public = make_ed25519_key(path, passphrase=b"open sesame")
    authorized = sftp_server.root / "authorized_keys"
    before = authorized.read_text()
    authorized.write_text(before + public + "\n")
    yield path
    authorized.write_text(before)


class _Terminal:
    def isatty(self) -> bool:
        return True


def test_interactive_prompts_at_a_terminal(options, sftp_server, encrypted_key, monkeypatch):
    prompts = []
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: prompts.append(prompt) or "open sesame")
    params = {k: v for k, v in sftp_server.params(key_filename=str(encrypted_key)).items()}
    with SFTPStorage(**{**options, "params": params, "interactive": True}) as s:
        s.save("typed.txt", ContentFile(b"ok"))
        assert s.open("typed.txt").read() == b"ok"
        assert s._password == "open sesame"
        assert "_password" not in pickle.loads(pickle.dumps(s)).__dict__
    assert len(prompts) == 1 and sftp_server.user in prompts[0]


def test_interactive_asks_again_after_a_wrong_password(
    options, sftp_server, encrypted_key, monkeypatch
):
    answers = iter(["wrong guess", "open sesame"])
    monkeypatch.setattr(sys, "stdin", _Terminal())
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    s = SFTPStorage(
        **{
            **options,
            "params": sftp_server.params(key_filename=str(encrypted_key)),
            "interactive": True,
        }
    )
    with pytest.raises(PermissionError, match="could not log in") as info:
        s.exists("x")
    assert "wrong guess" not in str(info.value)
    assert s.exists("x") is False  # asked again, and this time it was right
    s.close()


def test_interactive_never_prompts_without_a_terminal(
    options, sftp_server, encrypted_key, monkeypatch
):
    monkeypatch.setattr(
        "getpass.getpass", lambda prompt: pytest.fail("prompted without a terminal")
    )
    monkeypatch.setattr(sys, "stdin", None)
    s = SFTPStorage(
        **{
            **options,
            "params": sftp_server.params(key_filename=str(encrypted_key)),
            "interactive": True,
        }
    )
    with pytest.raises(PermissionError, match="could not log in"):
        s.exists("x")


# -- connections ----------------------------------------------------------------------------
def test_reconnects_after_the_server_restarts(tmp_path):
    server = start_sftp(tmp_path / "sshd")
    try:
        s = SFTPStorage(
            host="127.0.0.1",
            params=server.params(),
            known_host_file=str(server.known_hosts),
            root_path=str(tmp_path / "files"),
            unknown_host="reject",
        )
        s.save("before.txt", ContentFile(b"1"))
        server.restart()  # every session is killed: the pooled connection is dead
        assert s.open("before.txt").read() == b"1"
        s.save("after.txt", ContentFile(b"2"))
        assert sorted(s.listdir("")[1]) == ["after.txt", "before.txt"]
        server.kill_all()
        with pytest.raises(StorageUnavailable, match="SFTP_STORAGE_HOST"):
            s.exists("before.txt")
        server.start()
        assert s.exists("before.txt")
        s.close()
    finally:
        server.stop()


def test_connect_timeout_is_bounded(options, sftp_server):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts TCP, never says a word
    try:
        s = SFTPStorage(
            **{**options, "params": sftp_server.params(port=silent.getsockname()[1], timeout=1)}
        )
        start = time.monotonic()
        with pytest.raises(StorageUnavailable):
            s.exists("x")
        assert time.monotonic() - start < 10
    finally:
        silent.close()


def test_threads_waiting_on_a_failed_handshake_fail_fast(options, sftp_server):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts TCP, never sends the SSH banner
    try:
        s = SFTPStorage(
            **{**options, "params": sftp_server.params(port=silent.getsockname()[1], timeout=2)}
        )

        def attempt(i: int) -> str:
            try:
                s.exists(f"{i}.txt")
            except StorageUnavailable as exc:
                return type(exc).__name__
            return "no error"

        start = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            assert set(pool.map(attempt, range(8))) == {"StorageUnavailable"}
        # handshakes are made one at a time, but threads queued behind a failed one don't retry it
        assert time.monotonic() - start < 8
    finally:
        silent.close()


def test_threads_share_a_few_connections(options, monkeypatch):
    requests = Requests(monkeypatch)
    s = SFTPStorage(**options)
    barrier = threading.Barrier(24)

    def work(i: int) -> bytes:
        barrier.wait()
        name = s.save(f"t/{i}.txt", ContentFile(str(i).encode()))
        return s.open(name).read()

    with ThreadPoolExecutor(24) as pool:
        assert list(pool.map(work, range(24))) == [str(i).encode() for i in range(24)]
    # 24 concurrent SFTP sessions, eight channels per SSH connection: a handful of handshakes
    assert requests.handshakes <= 24 // 8 + 2, requests.handshakes
    s.close()


def test_context_manager_closes_connections(options):
    with SFTPStorage(**options) as s:
        s.save("cm.txt", ContentFile(b"x"))
        transports = [c.client.get_transport() for c in s._ssh]
        assert transports and all(t.is_active() for t in transports)
    assert "_pool" not in s.__dict__ and "_ssh" not in s.__dict__
    assert not any(t.is_active() for t in transports)
    assert s.open("cm.txt").read() == b"x"  # usable again: reconnects
    s.close()


# -- uploads ---------------------------------------------------------------------------------
def test_requests_per_operation(sftp, options, monkeypatch):
    sftp.save("warm.txt", ContentFile(b"w"))
    requests = Requests(monkeypatch)
    sftp.save("one.txt", ContentFile(b"hello"))
    # overwrite off: Django's free-name check, temp file, chmod-less close, exclusive claim, rename
    # overwrite off: Django's free-name STAT; the temporary file; the exclusive claim; posix-rename
    assert requests.names() == ["stat", "open", "write", "close", "open", "close", "extended"]
    on = SFTPStorage(**{**options, "allow_overwrite": True})
    on.exists("warm")
    requests.clear()
    on.save("two.txt", ContentFile(b"hello again"))
    assert requests.names() == ["open", "write", "close", "extended"]
    on.close()
    requests.clear()
    with sftp.open("one.txt") as f:
        assert f.read() == b"hello"
    assert requests.names() == ["stat", "open", "read", "close"], requests.names()
    requests.clear()
    assert sftp.exists("one.txt") and sftp.size("one.txt") == 5
    assert requests.names() == ["stat", "stat"]
    requests.clear()
    sftp.url("one.txt")
    assert requests.ops == []


def test_write_goes_to_a_temporary_name_first(sftp, options):
    root = Path(options["root_path"])
    sftp.upload_threshold = 4  # past it, open("wb") streams into putfo on a worker thread
    f = sftp.open("docs/report.pdf", "wb")
    f.write(b"%PDF-1.7 half")
    wait_for(lambda: (root / "docs").exists() and any((root / "docs").iterdir()))
    assert not (root / "docs" / "report.pdf").exists()
    temps = [p.name for p in (root / "docs").iterdir()]
    assert len(temps) == 1 and temps[0].startswith(".~storages-") and temps[0].endswith(".part")
    assert sftp.listdir("docs") == ([], [])  # in-flight uploads are hidden
    f.write(b" and the rest")
    f.close()
    assert (root / "docs" / "report.pdf").read_bytes() == b"%PDF-1.7 half and the rest"
    assert [p.name for p in (root / "docs").iterdir()] == ["report.pdf"]


def through(
    proxy: TCPProxy, server: SFTPServer, options: dict, tmp_path: Path, **params
) -> SFTPStorage:
    """A storage that reaches sshd through ``proxy`` (its known_hosts names the proxy's port)."""
    known = tmp_path / f"known_hosts_{proxy.port}"
    known.write_text(f"[127.0.0.1]:{proxy.port} {server.host_public}\n")
    return SFTPStorage(
        **{
            **options,
            "known_host_file": str(known),
            "params": {**server.params(port=proxy.port), **params},
        }
    )


def test_a_killed_upload_leaves_nothing_under_the_real_name(sftp_server, options, tmp_path):
    with TCPProxy("127.0.0.1", sftp_server.port) as proxy:
        s = through(proxy, sftp_server, options, tmp_path)
        s.upload_threshold = 4
        root = Path(options["root_path"])
        s.save("keep.txt", ContentFile(b"old content"))
        f = s.open("keep.txt", "wb")
        f.write(b"new content, but the connection dies" * 1000)
        # Bytes have reached the server (before that, a drop is retried on a new connection: nothing
        # is lost).
        wait_for(
            lambda: any(
                p.name.startswith(".~storages-") and p.stat().st_size > 0 for p in root.iterdir()
            )
        )
        proxy.close_connections()  # the connection drops mid-upload
        with pytest.raises(StorageUnavailable, match="SFTP_STORAGE_HOST"):
            f.write(b"more" * 1_000_000)
            f.close()
        assert (root / "keep.txt").read_bytes() == b"old content"
        assert s.listdir("") == ([], ["keep.txt"])
        assert s.open("keep.txt").read() == b"old content"
        # The temporary file was removed.
        assert sorted(p.name for p in root.iterdir()) == ["keep.txt"]
        s.close()


def test_aborted_write_removes_the_temporary_file(sftp, options):
    checks.aborted_write_leaves_nothing(sftp, Path(options["root_path"]))


def test_an_empty_folder_is_removed_and_nothing_else(sftp, options):
    checks.empty_folder_removal(sftp, Path(options["root_path"]))


def test_create_only_uses_an_exclusive_create(options):
    s = SFTPStorage(**options)
    first = s._writer_for("claim.txt", create_only=True)
    second = s._writer_for("claim.txt", create_only=True)
    first.write(b"first")
    second.write(b"second")
    first.close()
    with pytest.raises(FileExistsError, match="claim.txt"):
        second.close()
    assert s.open("claim.txt").read() == b"first"
    assert s.listdir("") == ([], ["claim.txt"])
    assert [p.name for p in Path(options["root_path"]).iterdir()] == ["claim.txt"]  # no temp left
    s.close()


def test_overwrite_replaces_atomically(options):
    s = SFTPStorage(**{**options, "allow_overwrite": True})
    assert s.save("same.txt", ContentFile(b"one")) == "same.txt"
    inode = os.stat(Path(options["root_path"]) / "same.txt").st_ino
    assert s.save("same.txt", ContentFile(b"two")) == "same.txt"
    assert s.open("same.txt").read() == b"two"
    # Renamed over, never truncated.
    assert os.stat(Path(options["root_path"]) / "same.txt").st_ino != inode
    s.close()


def test_owner_and_modes(options):
    s = SFTPStorage(**{**options, "file_mode": 0o600, "dir_mode": 0o700, "uid": 4321, "gid": 4322})
    s.save("a/b/c.txt", ContentFile(b"x"))
    root = Path(options["root_path"])
    for path, mode in (
        (root / "a", 0o700),
        (root / "a" / "b", 0o700),
        (root / "a" / "b" / "c.txt", 0o600),
    ):
        st = os.stat(path)
        assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (mode, 4321, 4322), path
    only_uid = SFTPStorage(**{**options, "uid": 555})
    only_uid.save("d.txt", ContentFile(b"x"))
    st = os.stat(root / "d.txt")
    assert (st.st_uid, st.st_gid) == (555, os.getgid())
    s.close()
    only_uid.close()


def test_relative_root_is_under_the_login_directory(options, sftp_server):
    leaf = f"storages-relative-{uuid.uuid4().hex[:8]}"
    home = Path(os.path.expanduser(f"~{sftp_server.user}"))
    s = SFTPStorage(**{**options, "root_path": leaf})
    try:
        s.save("r.txt", ContentFile(b"rel"))
        assert (home / leaf / "r.txt").read_bytes() == b"rel"
        assert s.listdir("") == ([], ["r.txt"])
    finally:
        s.close()
        shutil.rmtree(home / leaf, ignore_errors=True)


def test_times(sftp, settings):
    settings.USE_TZ = True
    name = sftp.save("t.txt", ContentFile(b"x"))
    path = Path(sftp.root_path) / name
    os.utime(path, (1_700_000_000, 1_600_000_000))
    assert sftp.get_accessed_time(name).timestamp() == 1_700_000_000
    assert sftp.get_modified_time(name).timestamp() == 1_600_000_000
    with pytest.raises(NotImplementedError, match="creation"):
        sftp.get_created_time(name)


def test_reads_stream_in_bounded_memory_and_give_the_session_back(sftp, monkeypatch):
    from storages.testing.helpers import PatternFile, peak_memory

    payload = PatternFile(8 * 1024 * 1024, seed=5).read()
    sftp.save("stream.bin", ContentFile(payload))
    requests = Requests(monkeypatch)
    with peak_memory() as peak:
        with sftp.open("stream.bin") as f:
            assert f.read(10) == payload[:10]  # stops with 64 requests in flight
    assert peak["peak"] < 6 * 1024 * 1024
    names = requests.names()
    assert names.count("read") <= 64 + 1 and names[-1] == "close"
    # the replies still on their way were collected: the session is clean for the next call
    assert len(sftp._pool._idle) == 1
    requests.clear()
    with sftp.open("stream.bin") as f:
        f.seek(5 * 1024 * 1024)
        assert f.read() == payload[5 * 1024 * 1024 :]
    # a seek before the first read costs a STAT, and the unread first body never opened the file
    assert requests.names().count("stat") == 2 and requests.names().count("open") == 1


def test_a_file_that_shrinks_after_open_reads_what_is_there(sftp):
    sftp.save("shrinks.bin", ContentFile(b"x" * 1_000_000))
    f = sftp.open("shrinks.bin")  # size taken now: 1 MB
    with open(Path(sftp.root_path) / "shrinks.bin", "r+b") as local:
        local.truncate(100_000)
    assert f.read() == b"x" * 100_000
    f.close()
    assert sftp.size("shrinks.bin") == 100_000


def test_directories_are_not_files(sftp):
    sftp.save("folder/inside.txt", ContentFile(b"x"))
    with pytest.raises(FileNotFoundError):
        sftp.size("folder")
    with pytest.raises(FileNotFoundError):
        sftp.open("folder")
    assert sftp.listdir("") == (["folder"], [])
    assert sftp.exists("folder") and sftp.exists("folder/")
    # the same answer in a fresh storage (another process): no hidden state
    with SFTPStorage(**{**sftp._options}) as fresh:
        assert fresh.exists("folder") and not fresh.exists("nothing-here")


def test_deconstruct_keeps_connection_params_but_no_secret(options):
    s = SFTPStorage(**{**options, "params": {**options["params"], "password": "pw-secret"}})
    _, _, kwargs = s.deconstruct()
    assert kwargs["params"]["port"] == options["params"]["port"]
    assert kwargs["params"]["username"] == options["params"]["username"]
    assert "password" not in kwargs["params"] and "passphrase" not in kwargs["params"]
    assert "pw-secret" not in repr(s) and PASSPHRASE not in repr(s)
    assert s.params["password"] == "pw-secret"  # the instance itself keeps them


@pytest.mark.parametrize("interrupt", checks.INTERRUPTS, ids=lambda e: e.__name__)
def test_an_interrupt_is_not_retried(sftp, interrupt):
    checks.interrupt_is_not_retried(sftp, interrupt)


def test_file_class_and_pickled_storage(sftp):
    sftp.save("p.txt", ContentFile(b"p"))
    f = sftp.open("p.txt")
    assert isinstance(f, SFTPStorageFile)
    f.close()
    clone = pickle.loads(pickle.dumps(sftp))
    assert "_pool" not in clone.__dict__
    assert clone.open("p.txt").read() == b"p"
    clone.close()


def test_debug_log_one_line_per_call_no_secret(sftp, caplog):
    caplog.set_level(logging.DEBUG, logger="storages")
    sftp.save("logged.txt", ContentFile(b"l"))
    sftp.exists("logged.txt")
    lines = [r.getMessage() for r in caplog.records if r.name == "storages.backends.sftpstorage"]
    assert any(line.startswith("sftp connect") for line in lines)
    core = [r.getMessage() for r in caplog.records if r.name == "storages.base"]
    assert any(line.startswith("SFTPStorage stat 'logged.txt'") for line in core)
    assert any(line.startswith("SFTPStorage upload 'logged.txt'") for line in core)
    assert all(PASSPHRASE not in r.getMessage() for r in caplog.records)


def test_missing_sdk_names_the_extra():
    out = import_without("paramiko", "storages.backends.sftpstorage")
    assert out.startswith("True") and "django-storages[sftp]" in out, out


# -- the one adapter over paramiko internals ----------------------------------------------------
def test_paramiko_internals_used_by_the_reader(sftp):
    """Fails loudly when a paramiko release changes what
    storages.backends.sftpstorage._paramiko_reader relies on."""
    import inspect

    from storages.backends.sftpstorage._paramiko_reader import INTERNALS

    for owner, attr, params in INTERNALS:
        fn = getattr(owner, attr, None)
        assert fn is not None, (
            f"paramiko {paramiko.__version__} has no {owner.__name__}.{attr}: update the reader"
        )
        got = tuple(inspect.signature(fn).parameters)
        assert got == params, (
            f"paramiko {paramiko.__version__} changed {owner.__name__}.{attr}{got}: update the "
            "reader"
        )
    sftp.save("handle.bin", ContentFile(b"h" * 100_000))
    handle = sftp.sftp.open(sftp._path("handle.bin"))
    assert isinstance(handle.handle, bytes)  # SFTPFile.handle: the server's handle string
    handle.close()
    with sftp.open("handle.bin") as f:  # and the reader works end to end on this paramiko
        f.seek(99_990)
        assert f.read() == b"h" * 10
        f.seek(0)
        assert f.read() == b"h" * 100_000


# -- what code written around django-storages 1.14 touches (issue 10) ---------------------------
def test_sftp_client_for_the_callers_thread(options):
    with SFTPStorage(**options) as s:
        s.save("mine.txt", ContentFile(b"from the storage"))
        seen = {}
        # All four alive at once: a finished thread's id may be reused.
        together = threading.Barrier(4)

        def use_it(tag: str) -> None:
            together.wait(10)
            client = s.sftp
            assert isinstance(client, paramiko.SFTPClient)
            assert client is s.sftp  # the same client for this thread
            with client.open(s._path("mine.txt")) as f:
                # The client itself: an id() could be reused after GC.
                seen[tag] = (client, f.read())
            client.putfo(io.BytesIO(tag.encode()), s._path(f"{tag}.txt"))
            together.wait(10)

        threads = [threading.Thread(target=use_it, args=(f"t{i}",)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert {v[1] for v in seen.values()} == {b"from the storage"}
        # One client per thread: paramiko's aren't shared.
        assert len({id(v[0]) for v in seen.values()}) == 4
        assert s.open("t2.txt").read() == b"t2"
        transports = [c.client.get_transport() for c in s._ssh]
    assert not any(t.is_active() for t in transports)  # the with block closed them all


def test_file_class_signature_of_1_14(sftp):
    checks.file_class_signature(sftp, SFTPStorageFile)


def test_listdir_slash_is_the_root_and_directories_exist(sftp, options):
    sftp.save("a/b.txt", ContentFile(b"x"))
    sftp.save("c.txt", ContentFile(b"x"))
    assert sftp.listdir("/") == sftp.listdir("") == (["a"], ["c.txt"])
    with pytest.raises(SuspiciousFileOperation):
        sftp.listdir("/a")  # every other absolute name is still refused
    (Path(options["root_path"]) / "empty").mkdir()
    code = (
        "import os, pickle, sys; os.environ['DJANGO_SETTINGS_MODULE'] = 'tests.settings'\nimport "
        "django; django.setup()\ns = pickle.loads(sys.stdin.buffer.read())\nprint(s.exists('a'), "
        "s.exists('empty'), s.exists('a/'), s.exists('nothing'), s.exists('c.txt'))\n"
    )
    # Before and without any listing, here and in another process.
    for storage in (sftp, SFTPStorage(**options)):
        assert (storage.exists("a"), storage.exists("empty"), storage.exists("nothing")) == (
            True,
            True,
            False,
        )
        out = subprocess.run(
            [sys.executable, "-c", code],
            input=pickle.dumps(storage),
            capture_output=True,
            timeout=60,
            cwd=str(Path(__file__).resolve().parents[2]),
        )
        assert out.stdout.decode().split() == ["True", "True", "True", "False", "True"], (
            out.stderr.decode()
        )


def test_url_without_base_url_is_a_value_error(options):
    s = SFTPStorage(**{**options, "base_url": None})
    with pytest.raises(ValueError, match="not accessible via a URL"):
        s.url("x.txt")


def test_concurrent_creators_of_one_folder(options):
    with SFTPStorage(**options) as s:
        checks.same_name_race(s, "new/deep/folder/same.txt")


# -- faults and hostile input (issue 14) ---------------------------------------------------------
@pytest.mark.parametrize("name", checks.ROOT_OR_FOLDER_NAMES)
def test_names_of_the_root_or_a_folder_are_refused_before_any_request(sftp, monkeypatch, name):
    sftp.exists("warm")  # connected, so any request would show
    requests = Requests(monkeypatch)
    checks.refused_before_any_request(sftp, name, requests.ops)
    assert requests.handshakes == 0 and not Path(sftp.root_path).exists()  # nothing was made either


def test_components_over_255_bytes_are_refused_before_any_request(sftp, monkeypatch):
    sftp.exists("warm")
    checks.long_components_refused(sftp, Requests(monkeypatch).ops)


def test_saving_onto_a_folder_is_refused_after_one_attempt(options, monkeypatch):
    s = SFTPStorage(**{**options, "allow_overwrite": True})
    s.save("taken/inside.txt", ContentFile(b"x"))
    requests = Requests(monkeypatch)
    with pytest.raises(IsADirectoryError, match="a folder has that name"):
        s.save("taken", ContentFile(b"y"))
    assert requests.names().count("write") == 1  # one upload, not a hundred
    # Overwrite off, if the folder appears meanwhile.
    writer = s._writer_for("taken", create_only=True)
    writer.write(b"z")
    with pytest.raises(IsADirectoryError):
        writer.close()
    # No temporary file left.
    assert sorted(p.name for p in Path(options["root_path"]).iterdir()) == ["taken"]
    # Overwrite off: Django picks another name, as FileSystemStorage does.
    off = SFTPStorage(**options)
    assert off.save("taken", ContentFile(b"y")).startswith("taken_")
    s.close()
    off.close()


def test_stale_temporary_files_are_removed_by_the_next_listing(sftp, options):
    checks.stale_uploads_removed(sftp, Path(options["root_path"]))


def test_a_cut_upload_leaves_nothing_under_the_name(sftp_server, options, tmp_path):
    with TCPProxy("127.0.0.1", sftp_server.port) as proxy:
        s = through(proxy, sftp_server, options, tmp_path)
        s.allow_overwrite = True
        s.save("keep.bin", ContentFile(b"old content"))
        proxy.set(
            cut_after=proxy.stats.bytes_up + 2 * 1024 * 1024, cut_direction="up", cut_once=True
        )
        with pytest.raises(StorageUnavailable, match="SFTP_STORAGE_HOST"):
            s.save("keep.bin", OneShot(PatternFile(16 * 1024 * 1024)))  # can't be sent again
        assert proxy.stats.cuts == 1
        assert s.open("keep.bin").read() == b"old content"
        root = Path(options["root_path"])
        # The partial upload was removed.
        assert sorted(p.name for p in root.iterdir()) == ["keep.bin"]
        s.close()


def test_a_cut_read_is_storage_unavailable(sftp_server, options, tmp_path):
    with TCPProxy("127.0.0.1", sftp_server.port) as proxy:
        s = through(proxy, sftp_server, options, tmp_path)
        s.save("big.bin", File(PatternFile(8 * 1024 * 1024), name="big.bin"))
        f = s.open("big.bin")
        proxy.set(
            cut_after=proxy.stats.bytes_down + 1024 * 1024, cut_direction="down", cut_once=True
        )
        with pytest.raises(StorageUnavailable, match="SFTP_STORAGE_HOST"):
            f.read()
        assert s.size("big.bin") == 8 * 1024 * 1024  # a new connection works
        s.close()


def test_an_unresponsive_server_fails_within_60_s_with_defaults(sftp_server, options, tmp_path):
    # The proxy accepts TCP, never answers.
    with TCPProxy("127.0.0.1", sftp_server.port, mode="blackhole") as proxy:
        params = {k: v for k, v in sftp_server.params(port=proxy.port).items() if k != "timeout"}
        message = checks.unresponsive_within_60_s(SFTPStorage(**{**options, "params": params}))
    assert (
        "SFTP_STORAGE_HOST" in message
        and "timeout" in message
        and f"127.0.0.1:{proxy.port}" in message
    )


def test_a_closed_port_fails_fast(sftp_server, options):
    s = SFTPStorage(**{**options, "params": sftp_server.params(port=free_port())})
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="SFTP_STORAGE_HOST"):
        s.save("x.txt", ContentFile(b"x"))
    assert time.monotonic() - start < 5


class OneShot(io.RawIOBase):
    """A non-seekable stream."""

    def __init__(self, source) -> None:
        super().__init__()
        self.source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        return self.source.readinto(buffer)


def test_scan_is_one_listing_per_folder_and_ranges_are_exact(sftp, monkeypatch):
    checks.scan_and_ranges(
        sftp, lambda: Requests(monkeypatch).names, listing={"opendir"}, stat={"stat", "lstat"}
    )


def test_a_server_frozen_during_a_read(tmp_path):
    import signal

    from tests.servers.sftp import _descendants

    server = start_sftp(tmp_path / "sshd")
    try:
        s = SFTPStorage(
            host="127.0.0.1",
            params=server.params(timeout=2),
            known_host_file=str(server.known_hosts),
            root_path=str(tmp_path / "files"),
            unknown_host="reject",
        )

        def freeze(on: bool) -> None:
            for pid in [server.process.proc.pid, *_descendants(server.process.proc.pid)]:
                os.kill(pid, signal.SIGSTOP if on else signal.SIGCONT)

        checks.frozen_during_a_read(s, freeze, "SFTP_STORAGE_PARAMS")
        s.close()
    finally:
        server.stop()

"""FTPStorage against pyftpdlib (plain, TLS, without MLSD) and vsftpd: conformance plus FTP's own
behaviour."""

from __future__ import annotations

import datetime as dt
import ftplib
import logging
import pickle
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File

from storages.backends.ftp import FTPStorage, FTPStorageException, FTPStorageFile
from storages.errors import StorageUnavailable
from storages.files import TEMP_PREFIX
from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    StorageConformance,
    StorageLifecycle,
)
from storages.testing.async_suite import async_conformance
from storages.testing.helpers import PatternFile, fetch, peak_memory, sha256_of
from tests.backends import fileserver_checks as checks
from tests.backends.fileserver_checks import unfinished_uploads, wait_for
from tests.servers import free_port
from tests.servers.ftp import (
    KEEPER,
    PASSWORD,
    FTPServer,
    serve_directory,
    start_pyftpdlib,
    start_vsftpd,
)
from tests.servers.proxy import TCPProxy

PATH = "storages.backends.ftp.FTPStorage"
MB = 1024 * 1024


@pytest.fixture(scope="session")
def ftp_server(tmp_path_factory):
    server = start_pyftpdlib(tmp_path_factory.mktemp("pyftpdlib"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def ftp_http(ftp_server):
    """A web server publishing what was uploaded, as BASE_URL would in production."""
    http = serve_directory(ftp_server.root)
    yield http
    http.stop()


def ftp_options(server: FTPServer, http=None, **extra) -> dict:
    leaf = f"base-{uuid.uuid4().hex[:12]}"
    options = {
        "location": server.location(leaf),
        # pyftpdlib speaks UTF-8 (the default, latin-1, can't send every test name)
        "encoding": "utf-8",
        "base_url": http.url_for(leaf) if http else f"https://media.example.com/{leaf}/",
    }
    if server.cert:
        options["tls_ca_file"] = str(server.cert)
    options.update(extra)
    return options


class TestFTPConformance(StorageConformance, StorageLifecycle):
    capabilities = Capabilities.strict(
        overwrite_option="allow_overwrite",
        created_time=False,
        accessed_time=False,
        modified_time=True,
        atomic_create=False,
        folders_exist=True,
    )
    multipart_size = 3 * MB  # no parts on a file server: a larger save through the same stream
    interrupted_leftovers = staticmethod(unfinished_uploads)

    @pytest.fixture
    def storage_config(self, ftp_server, ftp_http, settings):
        options = ftp_options(ftp_server, ftp_http)
        # The location (it holds the password) lives in settings, as in a real project: a
        # storage rebuilt from a migration (secrets left out) gets it from there, and without
        # one the storage can't be built (as in 1.14).
        settings.FTP_STORAGE_LOCATION = options["location"]
        return BackendConfig(PATH, options, secrets=[PASSWORD])

    @pytest.fixture
    def broken_configs(self, ftp_server):
        wrong = FTPServer(
            root=ftp_server.root,
            port=ftp_server.port,
            scheme="ftp",
            user=ftp_server.user,
            password="not-the-password-42",
            process=None,
        )
        a_file = ftp_server.root / f"a-file-{uuid.uuid4().hex[:8]}"
        a_file.write_text("not a directory")
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                PATH, ftp_options(wrong), secrets=["not-the-password-42"]
            ),
            missing_container=BackendConfig(
                PATH,
                {
                    **ftp_options(ftp_server),
                    "location": ftp_server.location(f"{a_file.name}/media"),
                },
                secrets=[PASSWORD],
            ),
            unreachable=BackendConfig(
                PATH,
                {
                    **ftp_options(ftp_server),
                    "location": f"ftp://u:{quote(PASSWORD, safe='')}@127.0.0.1:{free_port()}/x",
                    "timeout": 5,
                },
                secrets=[PASSWORD],
            ),
        )


TestFTPAsync = async_conformance(TestFTPConformance)


# ---------------------------------------------------------------------------
# The other servers and dialects: a focused set each
# ---------------------------------------------------------------------------
@pytest.fixture(scope="session")
def plain_list_server(tmp_path_factory):
    """pyftpdlib without MLSD/MLST: LIST, SIZE and MDTM only."""
    server = start_pyftpdlib(tmp_path_factory.mktemp("pyftpdlib-list"), mlsd=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def tls_server(tmp_path_factory):
    server = start_pyftpdlib(tmp_path_factory.mktemp("pyftpdlib-tls"), tls=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def vsftpd_server(tmp_path_factory):
    from tests.servers.ftp import make_certificate

    base = tmp_path_factory.mktemp("vsftpd")
    server = start_vsftpd(base, cert=make_certificate(base))
    yield server
    server.stop()


@pytest.fixture(
    params=[
        "pyftpdlib-mlsd",
        "pyftpdlib-list",
        "pyftpdlib-ftps",
        "pyftpdlib-active",
        "vsftpd",
        "vsftpd-ftps",
    ]
)
def dialect(request):
    """(server, options) for every server and mode the backend supports."""
    name = request.param
    if name.startswith("vsftpd"):
        server = request.getfixturevalue("vsftpd_server")
    elif name == "pyftpdlib-list":
        server = request.getfixturevalue("plain_list_server")
    elif name == "pyftpdlib-ftps":
        server = request.getfixturevalue("tls_server")
    else:
        server = request.getfixturevalue("ftp_server")
    options = ftp_options(server)
    if name == "vsftpd-ftps":
        options = {
            **options,
            "location": options["location"].replace("ftp://", "ftps://", 1),
            "tls_ca_file": str(server.cert),
        }
    elif name == "pyftpdlib-active":
        options = {**options, "location": options["location"].replace("ftp://", "aftp://", 1)}
    storage = FTPStorage(**options)
    yield server, storage
    storage.close()


def test_focused_set_on_every_dialect(dialect, settings):
    settings.USE_TZ = True
    server, s = dialect
    assert s.listdir("") == ([], [])
    assert s.exists("") is False
    names = ["top.txt", "deep/er/nested file.txt", "ünï/名前.txt"]
    for name in names:
        assert s.save(name, ContentFile(name.encode())) == name
    assert s.exists("")
    for name in names:
        assert s.exists(name)
        with s.open(name) as f:
            assert f.read() == name.encode()
        assert s.size(name) == len(name.encode())
        when = s.get_modified_time(name)
        assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 300
    assert sorted(s.listdir("")[0]) == ["deep", "ünï"] and s.listdir("")[1] == ["top.txt"]
    assert s.listdir("deep") == (["er"], [])
    assert s.listdir("deep/er") == ([], ["nested file.txt"])
    assert s.listdir("no-such-dir") == ([], [])
    payload = PatternFile(3 * MB + 5).read()
    s.save("big.bin", ContentFile(payload))
    with s.open("big.bin") as f:
        f.seek(2 * MB)
        assert f.read(10) == payload[2 * MB : 2 * MB + 10]  # REST
        f.seek(0)
        assert f.read() == payload
    with pytest.raises(FileNotFoundError):
        s.open("missing.txt")
    with pytest.raises(FileNotFoundError):
        s.size("missing.txt")
    # the files really are on the server's disk, where the location points
    assert (
        server.root / s._base.lstrip("/") / "deep" / "er" / "nested file.txt"
    ).read_bytes() == names[1].encode()
    for name in names + ["big.bin"]:
        s.delete(name)
        assert not s.exists(name)
    s.delete("missing.txt")
    assert s.listdir("deep/er") == ([], [])


def test_an_empty_folder_is_removed_and_nothing_else(dialect):
    server, s = dialect
    s.save("first.txt", ContentFile(b"1"))  # logs in: the base folder is known from here on
    checks.empty_folder_removal(s, server.root / s._base.lstrip("/"))


def test_an_empty_folder_the_server_refuses_to_remove_is_an_error(vsftpd_server):
    s = FTPStorage(**ftp_options(vsftpd_server))
    s.save("box/f.txt", ContentFile(b"x"))
    s.delete("box/f.txt")
    root = vsftpd_server.root / s._base.lstrip("/")
    # The anonymous user of vsftpd (ftp) may no longer remove what is in the base folder.
    root.chmod(0o555)
    try:
        with pytest.raises(FTPStorageException, match="delete of 'box' failed: 550"):
            s._remove_empty_folder("box")
    finally:
        root.chmod(0o755)
    assert (root / "box").is_dir()
    s._remove_empty_folder("box")
    assert not (root / "box").exists()
    s.close()


def test_vsftpd_large_file_in_bounded_memory(vsftpd_server):
    s = FTPStorage(**ftp_options(vsftpd_server))
    source = PatternFile(60 * MB, seed=3)
    expected = source.digest()
    with peak_memory() as saved:
        name = s.save("large.bin", File(source, name="large.bin"))
    with peak_memory() as read:
        with s.open(name) as f:
            assert sha256_of(f.chunks(MB)) == expected
    assert saved["peak"] < 20 * MB and read["peak"] < 20 * MB, (saved, read)
    s.close()


# ---------------------------------------------------------------------------
# FTP's own settings and behaviour
# ---------------------------------------------------------------------------
@pytest.fixture
def options(ftp_server):
    return ftp_options(ftp_server)


@pytest.fixture
def ftp(options):
    storage = FTPStorage(**options)
    yield storage
    storage.close()


@pytest.mark.parametrize("interrupt", checks.INTERRUPTS, ids=lambda e: e.__name__)
def test_an_interrupt_is_not_retried(ftp, interrupt):
    checks.interrupt_is_not_retried(ftp, interrupt)


class Commands:
    """Every command an FTPStorage sends (ftplib.FTP.putcmd), by verb."""

    def __init__(self, monkeypatch) -> None:
        self.sent: list[str] = []
        original = ftplib.FTP.putcmd

        def counting(client, line):
            self.sent.append(line.split(" ")[0].upper())
            return original(client, line)

        monkeypatch.setattr(ftplib.FTP, "putcmd", counting)

    def clear(self) -> None:
        self.sent.clear()

    def current(self) -> list[str]:
        return list(self.sent)


def test_settings_from_django_and_defaults(settings, ftp_server):
    settings.FTP_STORAGE_LOCATION = ftp_server.location("from-settings")
    settings.FTP_STORAGE_ENCODING = "utf-8"
    settings.FTP_ALLOW_OVERWRITE = True
    settings.BASE_URL = "https://files.example.com/"
    s = FTPStorage()
    assert (s.encoding, s.allow_overwrite, s.base_url) == (
        "utf-8",
        True,
        "https://files.example.com/",
    )
    assert s.url("a b/ü+#.txt") == "https://files.example.com/a%20b/%C3%BC%2B%23.txt"
    s.save("x.txt", ContentFile(b"1"))
    assert s.save("x.txt", ContentFile(b"2")) == "x.txt"
    assert (ftp_server.root / "from-settings" / "x.txt").read_bytes() == b"2"
    s.close()
    for attr in ("FTP_STORAGE_LOCATION", "FTP_STORAGE_ENCODING", "FTP_ALLOW_OVERWRITE", "BASE_URL"):
        delattr(settings, attr)
    settings.MEDIA_URL = "/media/"
    # Without a location the storage can't be built, as in 1.14 (not at the first connection).
    with pytest.raises(ImproperlyConfigured, match="FTP_STORAGE_LOCATION"):
        FTPStorage()
    with pytest.raises(ImproperlyConfigured, match="FTP_STORAGE_LOCATION"):
        FTPStorage(location="")
    d = FTPStorage(location="ftp://u:p@127.0.0.1:21/")
    assert (d.encoding, d.allow_overwrite, d.base_url, d.tls_ca_file, d.timeout) == (
        "latin-1",
        False,
        "/media/",
        None,
        30.0,
    )


def test_location_parsing_decodes_user_and_password(ftp_server):
    s = FTPStorage(location="ftps://us%40er:p%40ss%3Aw%2Frd@ftp.example.com/media/up%20loads")
    target = s._target
    assert (target.scheme, target.user, target.password, target.host, target.port, target.path) == (
        "ftps",
        "us@er",
        "p@ss:w/rd",
        "ftp.example.com",
        21,
        "/media/up loads",
    )
    assert "p%40ss" not in repr(s) and "p@ss" not in repr(s)
    assert repr(s) == "<FTPStorage location='ftps://us@er@ftp.example.com:21/media/up loads'>"
    assert FTPStorage(location="aftp://u:p@h:2121")._target.port == 2121
    with pytest.raises(ImproperlyConfigured, match="ftp://user:password@host:port/path") as info:
        FTPStorage(location="sftp://u:hunter2@h:22/x")
    assert "hunter2" not in str(info.value)
    with pytest.raises(ImproperlyConfigured, match="port") as info:
        FTPStorage(location="ftp://u:hunter2@h:notaport/x")
    assert "hunter2" not in str(info.value)


def test_no_path_means_the_login_directory(ftp_server):
    location = ftp_server.location().rstrip("/")  # ftp://user:pass@127.0.0.1:PORT
    s = FTPStorage(location=location, encoding="utf-8", allow_overwrite=True)
    name = f"at-login-{uuid.uuid4().hex[:8]}.txt"
    s.save(name, ContentFile(b"home"))
    assert s._base == "/" and (ftp_server.root / name).read_bytes() == b"home"
    assert name in s.listdir("")[1]
    s.delete(name)
    s.close()


def test_the_password_never_shows(ftp_server, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = FTPServer(
        root=ftp_server.root,
        port=ftp_server.port,
        scheme="ftp",
        user=ftp_server.user,
        password="Wr0ng p@ss",
        process=None,
    )
    s = FTPStorage(**ftp_options(wrong))
    with pytest.raises(PermissionError) as info:
        s.exists("x")
    # Old code catching FTPStorageException still works.
    assert isinstance(info.value, FTPStorageException)
    assert "FTP_STORAGE_LOCATION" in str(info.value) and "storages" in str(info.value)
    good = FTPStorage(**ftp_options(ftp_server))
    good.save("logged.txt", ContentFile(b"x"))
    good.listdir("")
    text = " ".join(r.getMessage() for r in caplog.records) + repr(good) + repr(good.deconstruct())
    text += str(info.value) + repr(info.value.__cause__)
    for secret in ("Wr0ng p@ss", "Wr0ng%20p%40ss", PASSWORD, ftp_server.location().split("@")[0]):
        assert secret not in text
    assert any(r.getMessage().startswith("FTPStorage upload 'logged.txt'") for r in caplog.records)
    good.close()


def test_exists_is_literal_and_delete_works_with_overwrite(options):
    s = FTPStorage(**{**options, "allow_overwrite": True})
    s.save("kept.txt", ContentFile(b"x"))
    assert s.exists("kept.txt") is True and s.exists("other.txt") is False
    s.delete("kept.txt")
    assert s.exists("kept.txt") is False
    s.close()


def test_delete_refused_by_the_server_is_an_error(options, ftp_server):
    s = FTPStorage(**options)
    s.save("stays.txt", ContentFile(b"x"))
    keeper = FTPServer(
        root=ftp_server.root,
        port=ftp_server.port,
        scheme="ftp",
        user=KEEPER,
        password=PASSWORD,
        process=None,
    )
    k = FTPStorage(
        **{**options, "location": keeper.location(options["location"].rsplit("/", 1)[1])}
    )
    with pytest.raises(FTPStorageException, match="could not delete"):
        k.delete("stays.txt")  # 550 Not enough privileges
    k.delete("never-there.txt")  # the same 550 for a missing file is fine
    assert s.exists("stays.txt")
    s.close()
    k.close()


def test_requests_per_operation(ftp, monkeypatch):
    ftp.save("warm.txt", ContentFile(b"w"))
    commands = Commands(monkeypatch)
    ftp.save("one.txt", ContentFile(b"hello"))
    # overwrite off: Django's free-name check, STOR of the temporary name, the check, the rename
    assert commands.sent == ["MLST", "PASV", "STOR", "MLST", "RNFR", "RNTO"]
    commands.clear()
    with ftp.open("one.txt") as f:
        assert f.read() == b"hello"
    assert commands.sent == ["MLST", "PASV", "RETR"]
    commands.clear()
    assert ftp.exists("one.txt") and ftp.size("one.txt") == 5
    assert commands.sent == ["MLST", "MLST"]
    commands.clear()
    ftp.listdir("")
    assert commands.sent == ["PASV", "MLSD"]
    commands.clear()
    ftp.url("one.txt")
    assert commands.sent == []


def test_requests_without_mlst(plain_list_server, monkeypatch):
    s = FTPStorage(**ftp_options(plain_list_server, allow_overwrite=True))
    s.save("warm.txt", ContentFile(b"w"))
    commands = Commands(monkeypatch)
    s.save("one.txt", ContentFile(b"hello"))
    assert commands.sent == ["PASV", "STOR", "RNFR", "RNTO"]
    commands.clear()
    assert s.size("one.txt") == 5
    assert commands.sent == ["SIZE", "MDTM"]
    s.listdir("")  # learns that "LIST -a <path>" is not understood here
    commands.clear()
    assert sorted(s.listdir("")[1]) == ["one.txt", "warm.txt"]
    assert commands.sent == ["PASV", "LIST"]
    s.close()


def test_write_goes_to_a_temporary_name_first(ftp, ftp_server):
    root = ftp_server.root / ftp._base.strip("/")
    ftp.upload_threshold = 4  # past it, open("wb") streams into storbinary on a worker thread
    f = ftp.open("docs/report.pdf", "wb")
    f.write(b"%PDF half")
    wait_for(lambda: (root / "docs").exists() and any((root / "docs").iterdir()))
    temps = [p.name for p in (root / "docs").iterdir()]
    assert len(temps) == 1 and temps[0].startswith(".~storages-") and temps[0].endswith(".part")
    assert not (root / "docs" / "report.pdf").exists()
    assert ftp.listdir("docs") == ([], [])
    f.write(b" and the rest")
    f.close()
    assert (root / "docs" / "report.pdf").read_bytes() == b"%PDF half and the rest"
    assert [p.name for p in (root / "docs").iterdir()] == ["report.pdf"]


def test_a_killed_upload_leaves_nothing_under_the_real_name(ftp_server, options):
    with TCPProxy("127.0.0.1", ftp_server.port) as proxy:
        s = FTPStorage(
            **{
                **options,
                "location": options["location"].replace(f":{ftp_server.port}/", f":{proxy.port}/"),
            }
        )
        s.upload_threshold = 4
        s.save("keep.txt", ContentFile(b"old content"))
        root = ftp_server.root / s._base.strip("/")
        f = s.open("keep.txt", "wb")
        f.write(b"new content, but the connection dies" * 1000)
        # Bytes have reached the server (before that, a drop is retried on a new connection: nothing
        # is lost).
        wait_for(
            lambda: any(
                p.name.startswith(".~storages-") and p.stat().st_size > 0 for p in root.iterdir()
            )
        )
        proxy.close_connections()  # the control connection drops mid-upload
        with pytest.raises(StorageUnavailable):
            for _ in range(100):
                f.write(b"more" * 100_000)
            f.close()
        assert s.open("keep.txt").read() == b"old content"
        assert s.listdir("") == ([], ["keep.txt"])
        # The temporary file went.
        wait_for(lambda: sorted(p.name for p in root.iterdir()) == ["keep.txt"])
        s.close()


def test_aborted_write_removes_the_temporary_file(ftp, ftp_server):
    checks.aborted_write_leaves_nothing(ftp, ftp_server.root / ftp._base.strip("/"))


def test_create_only_is_checked_just_before_the_rename(options):
    s = FTPStorage(**options)
    first = s._writer_for("claim.txt", create_only=True)
    second = s._writer_for("claim.txt", create_only=True)
    first.write(b"first")
    second.write(b"second")
    first.close()
    with pytest.raises(FileExistsError, match="claim.txt"):
        second.close()
    assert s.open("claim.txt").read() == b"first"
    assert s.listdir("") == ([], ["claim.txt"])
    s.close()


def test_reconnects_after_the_server_restarts(tmp_path):
    server = start_pyftpdlib(tmp_path / "restart")
    try:
        s = FTPStorage(**ftp_options(server))
        s.save("before.txt", ContentFile(b"1"))
        server.restart()  # the pooled connection is now dead
        assert s.open("before.txt").read() == b"1"
        s.save("after.txt", ContentFile(b"2"))
        assert sorted(s.listdir("")[1]) == ["after.txt", "before.txt"]
        server.stop()
        with pytest.raises(StorageUnavailable, match="FTPStorage"):
            s.exists("before.txt")
        server.restart()
        assert s.exists("before.txt")
        s.close()
    finally:
        server.stop()


def test_idle_timeout_on_the_server_is_survived(tmp_path):
    server = start_pyftpdlib(tmp_path / "idle", idle_timeout=1)
    try:
        s = FTPStorage(**ftp_options(server))
        s.save("a.txt", ContentFile(b"a"))
        time.sleep(2.5)  # the server logs the idle connection out (421)
        assert s.open("a.txt").read() == b"a"
        s.close()
    finally:
        server.stop()


def test_reply_timeout_is_bounded(options):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts TCP, never sends the 220 greeting
    try:
        s = FTPStorage(
            **{
                **options,
                "location": f"ftp://u:p@127.0.0.1:{silent.getsockname()[1]}/",
                "timeout": 1,
            }
        )
        start = time.monotonic()
        with pytest.raises(StorageUnavailable):
            s.exists("x")
        assert time.monotonic() - start < 10
    finally:
        silent.close()


def test_one_connection_per_thread(options, monkeypatch):
    s = FTPStorage(**options)
    logins = []
    original = ftplib.FTP.login
    monkeypatch.setattr(
        ftplib.FTP, "login", lambda client, *a, **k: logins.append(1) or original(client, *a, **k)
    )
    active = set()
    peak = []
    lock = threading.Lock()
    acquire = type(s._sessions).acquire
    release = type(s._sessions).release

    def tracking_acquire(pool):
        conn, fresh = acquire(pool)
        with lock:
            assert id(conn) not in active, "a connection was handed to two threads"
            active.add(id(conn))
            peak.append(len(active))
        return conn, fresh

    def tracking_release(pool, conn):
        with lock:
            active.discard(id(conn))
        release(pool, conn)

    monkeypatch.setattr(type(s._sessions), "acquire", tracking_acquire)
    monkeypatch.setattr(type(s._sessions), "release", tracking_release)
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda i: s.save(f"t/{i}.txt", ContentFile(b"%d" % i)), range(48)))
    assert len(set(results)) == 48
    assert max(peak) <= 12 and len(logins) <= 12
    s.close()


def test_waits_when_the_server_allows_no_more_connections(tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="storages")
    server = start_pyftpdlib(tmp_path / "limited", max_connections=3)
    try:
        s = FTPStorage(**ftp_options(server))
        with ThreadPoolExecutor(10) as pool:
            names = list(
                pool.map(lambda i: s.save(f"n/{i}.txt", ContentFile(b"%d" % i)), range(30))
            )
        assert sorted(names) == sorted(f"n/{i}.txt" for i in range(30))
        assert any("allows no more connections" in r.getMessage() for r in caplog.records)
        assert all(s.open(f"n/{i}.txt").read() == b"%d" % i for i in range(30))
        s.close()
    finally:
        server.stop()


def test_overwrite_off_race_in_one_process_keeps_every_upload(options):
    """FTP can't create-if-absent, but threads of one process are serialised on the check +
    rename."""
    with FTPStorage(**options) as s:
        checks.same_name_race(s, "race.txt")


def test_encoding_latin1_by_default(ftp_server):
    s = FTPStorage(**{**ftp_options(ftp_server), "encoding": "latin-1"})
    with pytest.raises(ValueError, match="FTP_STORAGE_ENCODING"):
        s.save("名前.txt", ContentFile(b"x"))
    s.save("plain.txt", ContentFile(b"x"))  # the connection is still fine
    assert s.open("plain.txt").read() == b"x"
    s.close()


def test_ftps_needs_a_trusted_certificate(tls_server):
    s = FTPStorage(**{**ftp_options(tls_server), "tls_ca_file": None})
    with pytest.raises(ImproperlyConfigured, match="FTP_STORAGE_TLS_CA_FILE"):
        s.exists("x")


def test_ftps_against_a_plain_server_is_refused(ftp_server):
    options = ftp_options(ftp_server)
    s = FTPStorage(**{**options, "location": options["location"].replace("ftp://", "ftps://", 1)})
    with pytest.raises(ImproperlyConfigured, match="refused TLS"):
        s.exists("x")


def test_url_is_base_url_plus_quoted_name(options, ftp_server, ftp_http):
    s = FTPStorage(**ftp_options(ftp_server, ftp_http))
    name = s.save("pics/a b#1.txt", ContentFile(b"served"))
    assert s.url(name).endswith("/pics/a%20b%231.txt")
    assert fetch(s.url(name)) == (200, b"served")
    s.close()


def test_file_class_and_pickling(ftp):
    ftp.save("p.txt", ContentFile(b"p"))
    f = ftp.open("p.txt")
    assert isinstance(f, FTPStorageFile)
    f.close()
    clone = pickle.loads(pickle.dumps(ftp))
    assert "_pool" not in clone.__dict__
    assert clone.open("p.txt").read() == b"p"
    clone.close()


def test_old_exception_name_is_importable():
    from storages.backends import ftp as module

    assert issubclass(module.FTPStorageException, OSError)
    assert set(module.__all__) >= {"FTPStorage", "FTPStorageFile", "FTPStorageException"}


def test_stdlib_only():
    code = (
        "import sys; sys.modules['paramiko'] = None; sys.modules['boto3'] = None\n"
        "import django; from django.conf import settings; settings.configure(); django.setup()\n"
        "import storages.backends.ftp; print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert out.stdout.strip() == "ok", out.stderr


# ---------------------------------------------------------------------------
# What code written around django-storages 1.14 touches (issue 10)
# ---------------------------------------------------------------------------
def test_disconnect_closes_every_connection(options):
    s = FTPStorage(**options)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: s.save(f"d/{i}.txt", ContentFile(b"x")), range(8)))
    idle = list(s._sessions._idle)
    assert idle and all(c.sock is not None for c in idle)
    s.disconnect()
    assert "_pool" not in s.__dict__ and all(c.sock is None for c in idle)
    assert s.open("d/1.txt").read() == b"x"  # reconnects when used again
    with s:
        s.exists("d/1.txt")
        idle = list(s._sessions._idle)
    assert all(c.sock is None for c in idle)


def test_file_class_signature_of_1_14(ftp):
    checks.file_class_signature(ftp, FTPStorageFile)


@pytest.mark.parametrize("server", ["ftp_server", "vsftpd_server", "plain_list_server"])
def test_listdir_slash_is_the_root_and_directories_exist(request, server):
    srv = request.getfixturevalue(server)
    s = FTPStorage(**ftp_options(srv))
    s.save("a/b.txt", ContentFile(b"x"))
    s.save("c.txt", ContentFile(b"x"))
    assert s.listdir("/") == s.listdir("") == (["a"], ["c.txt"])
    with pytest.raises(SuspiciousFileOperation):
        s.listdir("/a")  # every other absolute name is still refused
    # Another process: nothing listed before.
    fresh = FTPStorage(**ftp_options(srv, location=s.location))
    assert (
        fresh.exists("a"),
        fresh.exists("a/"),
        fresh.exists("c.txt"),
        fresh.exists("nothing"),
    ) == (True, True, True, False)
    s.close()
    fresh.close()


def test_url_without_base_url_is_a_value_error(options):
    s = FTPStorage(**{**options, "base_url": None})
    with pytest.raises(ValueError, match="not accessible via a URL"):
        s.url("x.txt")


@pytest.mark.parametrize("server", ["vsftpd_server", "ftp_server"])
def test_overwrite_off_race_into_a_new_folder(request, server):
    """16 threads save one name in a folder that does not exist yet: each creates the folder at
    once."""
    with FTPStorage(**ftp_options(request.getfixturevalue(server))) as s:
        checks.same_name_race(s, "new/deep/same.txt")


# ---------------------------------------------------------------------------
# Faults and hostile input (issue 14)
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", checks.ROOT_OR_FOLDER_NAMES)
def test_names_of_the_root_or_a_folder_are_refused_before_any_command(ftp, monkeypatch, name):
    ftp.exists("warm")  # the connection is up, so any command would show
    checks.refused_before_any_request(ftp, name, Commands(monkeypatch).sent)


def test_components_over_255_bytes_are_refused_before_any_command(ftp, monkeypatch):
    ftp.exists("warm")
    checks.long_components_refused(ftp, Commands(monkeypatch).sent)


@pytest.mark.parametrize("server", ["ftp_server", "vsftpd_server", "plain_list_server"])
def test_listing_a_folder_that_is_being_removed(request, server):
    """32 threads list a folder that one thread keeps filling, emptying and removing: never an
    error."""
    srv = request.getfixturevalue(server)
    s = FTPStorage(**ftp_options(srv))
    assert s.listdir("no-such-folder") == ([], [])
    folder = (
        srv.root / srv.writable / s._base.strip("/").split("/", 1)[-1]
        if srv.writable
        else (srv.root / s._base.strip("/"))
    )
    stop = threading.Event()

    def churn() -> int:
        rounds = 0
        while not stop.is_set():
            for i in range(5):
                s.save(f"box/{i}.txt", ContentFile(b"x"))
            for i in range(5):
                s.delete(f"box/{i}.txt")
            (folder / "box").rmdir()
            rounds += 1
        return rounds

    def lister(i: int) -> int:
        seen = 0
        while not stop.is_set():
            dirs, files = s.listdir("box")
            assert dirs == [] and set(files) <= {f"{n}.txt" for n in range(5)}
            seen += 1
        return seen

    with ThreadPoolExecutor(32) as pool:
        churner = pool.submit(churn)
        listers = [pool.submit(lister, i) for i in range(31)]
        time.sleep(3)
        stop.set()
        assert churner.result() > 0 and sum(f.result() for f in listers) > 0
    s.close()


def _root_of(server: FTPServer, storage: FTPStorage) -> Path:
    return server.root / storage._base.strip("/")


@pytest.mark.parametrize("server", ["ftp_server", "vsftpd_server", "plain_list_server"])
def test_stale_temporary_files_are_removed_by_the_next_listing(request, server):
    srv = request.getfixturevalue(server)
    with FTPStorage(**ftp_options(srv)) as s:
        checks.stale_uploads_removed(s, _root_of(srv, s))


@pytest.fixture
def data_proxy_server(tmp_path):
    """pyftpdlib whose data connections all use one port, behind a proxy that cuts uploads after 1
    MB (with a reset: a closed cut can leave the client's send stalled until FTP_STORAGE_TIMEOUT,
    a different failure, after which the storage leaves the cleanup to a later listing)."""
    while True:
        port = free_port()
        server = start_pyftpdlib(tmp_path / "cut", passive_port=port)
        if server.port != port:  # free_port() may hand out the same number twice
            break
        server.stop()
    proxy = TCPProxy(
        "127.0.0.1", port, cut_after=1024 * 1024, cut_direction="up", cut_reset=True
    ).start()
    yield server, proxy
    proxy.stop()
    server.stop()


def test_a_cut_data_connection_leaves_nothing_under_the_name(data_proxy_server, monkeypatch):
    server, proxy = data_proxy_server
    s = FTPStorage(**ftp_options(server, allow_overwrite=True))
    s.save("keep.bin", ContentFile(b"old content"))
    makepasv = ftplib.FTP.makepasv
    # Data connections go via the proxy.
    monkeypatch.setattr(ftplib.FTP, "makepasv", lambda client: (makepasv(client)[0], proxy.port))
    with pytest.raises(StorageUnavailable, match="FTP_STORAGE_LOCATION"):
        s.save("keep.bin", File(PatternFile(8 * MB), name="keep.bin"))
    # Cut once, or twice when the control connection it started on had been idle (it might have been
    # stale, so the upload was tried once more on a new one): never more.
    assert proxy.stats.cuts in (1, 2)
    assert s.open("keep.bin").read() == b"old content"
    # The partial upload was removed.
    assert sorted(p.name for p in _root_of(server, s).iterdir()) == ["keep.bin"]
    proxy.set(cut_once=True)  # only the next data connection is cut: the retry goes through
    proxy.stats.cuts = 0
    assert s.save("keep.bin", File(PatternFile(8 * MB), name="keep.bin")) == "keep.bin"
    assert proxy.stats.cuts == 1 and s.size("keep.bin") == 8 * MB
    assert sorted(p.name for p in _root_of(server, s).iterdir()) == ["keep.bin"]
    s.close()


@pytest.fixture
def stalling_data_server(tmp_path, monkeypatch):
    """pyftpdlib whose data connections all go through a proxy that can hold an upload's bytes
    (``stall_after``), and a second proxy in front of its control port."""
    while True:
        port = free_port()
        server = start_pyftpdlib(tmp_path / "stall", passive_port=port)
        if server.port != port:  # free_port() may hand out the same number twice
            break
        server.stop()
    data = TCPProxy("127.0.0.1", port).start()
    control = TCPProxy("127.0.0.1", server.port).start()
    makepasv = ftplib.FTP.makepasv
    monkeypatch.setattr(ftplib.FTP, "makepasv", lambda client: (makepasv(client)[0], data.port))
    yield server, data, control
    control.stop()
    data.stop()
    server.stop()


def _temp_files(server: FTPServer) -> list[Path]:
    return [p for p in server.root.rglob(f"{TEMP_PREFIX}*") if p.is_file()]


def test_a_stalled_upload_removes_its_temporary_file_on_a_new_connection(stalling_data_server):
    """The data connection stops moving mid-upload: the storage times out (FTP_STORAGE_TIMEOUT)
    and removes the temporary file over a fresh control connection (the server still answers)."""
    server, data, _ = stalling_data_server
    s = FTPStorage(**ftp_options(server, timeout=4))
    s.save("warm.txt", ContentFile(b"warm"))  # the folder exists: one STOR for the upload
    data.set(stall_after=1 * MB)
    with pytest.raises(StorageUnavailable, match="FTP_STORAGE_TIMEOUT"):
        s.save("stalled.bin", File(PatternFile(64 * MB), name="stalled.bin"))
    # A timeout is not retried. (On a loaded machine the timeout may come before the first
    # megabyte, waiting for the server's reply to STOR: no stall then, and the same cleanup.)
    assert data.stats.stalls <= 1
    assert _temp_files(server) == []
    assert not s.exists("stalled.bin")
    data.set(stall_after=None)
    assert s.save("stalled.bin", File(PatternFile(8 * MB), name="stalled.bin")) == "stalled.bin"
    assert s.size("stalled.bin") == 8 * MB and _temp_files(server) == []
    s.close()


def test_a_stalled_upload_on_a_silent_server_warns_how_to_remove_its_file(
    stalling_data_server, caplog
):
    """The server stops answering new connections too: the removal gives up after one timeout
    and the warning names the file and the command that removes it."""
    server, data, control = stalling_data_server
    options = ftp_options(server, timeout=4)
    options["location"] = options["location"].replace(f":{server.port}/", f":{control.port}/")
    s = FTPStorage(**options)
    s.save("warm.txt", ContentFile(b"warm"))  # the pooled control connection, made through it
    control.set(mode="blackhole")  # new control connections: accepted, never answered
    data.set(stall_after=1 * MB)
    with caplog.at_level(logging.WARNING, logger="storages"):
        with pytest.raises(StorageUnavailable, match="FTP_STORAGE_TIMEOUT"):
            s.save("stalled.bin", File(PatternFile(64 * MB), name="stalled.bin"))
    assert data.stats.stalls <= 1  # not retried (see the test above)
    left = _temp_files(server)
    assert len(left) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(left[0].name in w and "checkstorages --remove-leftovers" in w for w in warnings), (
        warnings
    )
    assert PASSWORD not in "".join(warnings)
    s.close()


def test_an_unresponsive_server_fails_within_60_s_with_defaults(options):
    with TCPProxy("127.0.0.1", 9, mode="blackhole") as proxy:  # accepts TCP, never says a word
        message = checks.unresponsive_within_60_s(
            FTPStorage(location=f"ftp://u:{quote(PASSWORD, safe='')}@127.0.0.1:{proxy.port}/x")
        )
    assert (
        "FTP_STORAGE_TIMEOUT" in message
        and "FTP_STORAGE_LOCATION" in message
        and PASSWORD not in message
    )
    assert f"127.0.0.1:{proxy.port}" in message


def test_a_closed_port_fails_fast(options):
    s = FTPStorage(location=f"ftp://u:p@127.0.0.1:{free_port()}/x")
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="FTP_STORAGE_LOCATION"):
        s.save("x.txt", ContentFile(b"x"))
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("server", ["ftp_server", "plain_list_server"])
def test_scan_is_one_listing_per_folder_and_ranges_are_exact(request, server, monkeypatch):
    with FTPStorage(**ftp_options(request.getfixturevalue(server))) as s:
        checks.scan_and_ranges(
            s,
            lambda: Commands(monkeypatch).current,
            listing={"MLSD", "LIST"},
            stat={"MLST", "SIZE", "MDTM"},
        )


def test_a_server_frozen_during_a_read(tmp_path):
    import os
    import signal

    server = start_pyftpdlib(tmp_path / "frozen")
    try:
        s = FTPStorage(**ftp_options(server, timeout=2))

        def freeze(on: bool) -> None:
            os.kill(server.process.proc.pid, signal.SIGSTOP if on else signal.SIGCONT)

        checks.frozen_during_a_read(s, freeze, "FTP_STORAGE_TIMEOUT")
        s.close()
    finally:
        server.stop()

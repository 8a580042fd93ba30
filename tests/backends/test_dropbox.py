"""DropboxStorage against the HTTPS Dropbox API stand-in: the conformance suite plus Dropbox's own
settings."""

from __future__ import annotations

import pickle
import uuid
import warnings

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from storages.backends.dropbox import (
    DropBoxFile,
    DropboxFile,
    DropBoxStorage,
    DropboxStorage,
    DropBoxStorageException,
    DropboxStorageException,
)
from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    StorageConformance,
    StorageLifecycle,
)
from storages.testing.async_suite import async_conformance
from storages.testing.helpers import fetch
from storages.testing.integrity import ProxiedBackend, ReadIntegrity
from tests.servers import free_port
from tests.servers.dropbox_api import (
    APP_KEY,
    APP_SECRET,
    REFRESH_TOKEN,
    TOKEN,
    start_dropbox_standin,
)

PATH = "storages.backends.dropbox.DropboxStorage"
SECRETS = [TOKEN, APP_SECRET, REFRESH_TOKEN]


@pytest.fixture(scope="session")
def dropbox_server(tmp_path_factory):
    server = start_dropbox_standin(tmp_path_factory.mktemp("dropbox"))
    yield server
    server.stop()


def root() -> str:
    return f"/conformance/{uuid.uuid4().hex}"


class TestDropboxReadIntegrity(ReadIntegrity):
    @pytest.fixture
    def proxied_backend(self, dropbox_server):
        tls = dropbox_server.workdir / "tls"
        return ProxiedBackend(
            port=int(dropbox_server.host.rsplit(":", 1)[1]),
            tls=(str(tls / "cert.pem"), str(tls / "key.pem")),
            config=lambda proxy: BackendConfig(
                PATH, dropbox_server.options(api_host=f"127.0.0.1:{proxy.port}", root_path=root())
            ),
        )


class TestDropboxConformance(StorageConformance, StorageLifecycle):
    capabilities = Capabilities.strict(
        overwrite_option="file_overwrite",
        created_time=False,
        accessed_time=False,
        folders_exist=True,
    )
    child_settings = ("DROPBOX_OAUTH2_TOKEN",)

    @pytest.fixture
    def storage_config(self, dropbox_server, settings):
        # the token lives in settings, as in a real project: a storage rebuilt from a
        # migration (secrets left out) gets it from there
        settings.DROPBOX_OAUTH2_TOKEN = TOKEN
        return BackendConfig(
            PATH,
            dropbox_server.options(root_path=root()),
            secrets=SECRETS,
            location_option="root_path",
        )

    @pytest.fixture
    def broken_configs(self, dropbox_server):
        # A "missing container": the root path runs through an existing *file*.
        blocker = DropboxStorage(**dropbox_server.options(root_path=root()))
        blocker.save("blocker.txt", ContentFile(b"a file, not a folder"))
        blocked_root = blocker.root_path + "/blocker.txt/inside"
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                PATH,
                dropbox_server.options(oauth2_access_token="not-a-valid-token", root_path=root()),
                secrets=SECRETS,
            ),
            missing_container=BackendConfig(
                PATH, dropbox_server.options(root_path=blocked_root), secrets=SECRETS
            ),
            unreachable=BackendConfig(
                PATH,
                dropbox_server.options(api_host=f"127.0.0.1:{free_port()}", root_path=root()),
                secrets=SECRETS,
            ),
        )


class TestDropboxAsync(async_conformance(TestDropboxConformance)):
    @pytest.fixture
    def unfinished_uploads(self):
        """Nothing to list: Dropbox has no call to list or cancel an upload session (an unfinished
        one stores nothing and expires on Dropbox's side), so a cancelled save is checked by
        its name alone."""
        return lambda storage: []


# -- Dropbox's own settings and behaviour ---------------------------------------------------


@pytest.fixture
def store(dropbox_server):
    return DropboxStorage(**dropbox_server.options(root_path=root()))


def test_aliases():
    assert DropBoxStorage is DropboxStorage
    assert DropBoxFile is DropboxFile
    assert DropBoxStorageException is DropboxStorageException
    assert issubclass(DropboxStorageException, OSError)


def test_no_credentials_is_improperly_configured_when_built(dropbox_server):
    # as in 1.14: the storage can't be built without credentials (no request needed to know)
    with pytest.raises(ImproperlyConfigured, match="DROPBOX_OAUTH2_TOKEN"):
        DropboxStorage(api_host=dropbox_server.host, ca_certs=str(dropbox_server.ca_cert))
    with pytest.raises(ImproperlyConfigured, match="DROPBOX_APP_KEY"):
        DropboxStorage(oauth2_refresh_token=REFRESH_TOKEN, api_host=dropbox_server.host)
    with pytest.raises(ImproperlyConfigured, match="DROPBOX_OAUTH2_REFRESH_TOKEN"):
        DropboxStorage(app_key=APP_KEY, app_secret=APP_SECRET, api_host=dropbox_server.host)


def test_settings_from_django(settings, dropbox_server):
    settings.DROPBOX_OAUTH2_TOKEN = TOKEN
    settings.DROPBOX_ROOT_PATH = root()
    settings.DROPBOX_API_HOST = dropbox_server.host
    settings.DROPBOX_CA_CERTS = str(dropbox_server.ca_cert)
    settings.DROPBOX_TIMEOUT = 7
    storage = DropboxStorage()
    assert storage.timeout == 7 and storage.client._timeout == 7
    name = storage.save("from-settings.txt", ContentFile(b"s"))
    assert storage.open(name).read() == b"s"
    assert storage.root_path == settings.DROPBOX_ROOT_PATH


def test_positional_token_is_secret(dropbox_server):
    options = dropbox_server.options(root_path=root())
    token = options.pop("oauth2_access_token")
    storage = DropboxStorage(token, **options)
    name = storage.save("positional.txt", ContentFile(b"p"))
    assert storage.exists(name)
    path, args, kwargs = storage.deconstruct()
    assert TOKEN not in repr((path, args, kwargs)) and args == ()
    clone = pickle.loads(pickle.dumps(storage))
    assert clone.open(name).read() == b"p"


def test_refresh_token_auth_and_renewal(dropbox_server):
    storage = DropboxStorage(
        **dropbox_server.options(
            oauth2_access_token=None,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            oauth2_refresh_token=REFRESH_TOKEN,
            root_path=root(),
        )
    )
    dropbox_server.reset_stats()
    name = storage.save("refreshed.txt", ContentFile(b"r"))
    assert dropbox_server.stats().get("/oauth2/token") == 1
    # the server expires the access token: the SDK refreshes once and retries
    dropbox_server.expire_tokens()
    assert storage.open(name).read() == b"r"
    assert dropbox_server.stats().get("/oauth2/token") == 2


def test_bad_refresh_token_is_a_clear_error(dropbox_server):
    storage = DropboxStorage(
        **dropbox_server.options(
            oauth2_access_token=None,
            app_key=APP_KEY,
            app_secret=APP_SECRET,
            oauth2_refresh_token="revoked",
            root_path=root(),
        )
    )
    with pytest.raises(PermissionError, match="DROPBOX_OAUTH2_REFRESH_TOKEN") as info:
        storage.exists("x.txt")
    assert "revoked" not in str(info.value)


def test_auth_errors_are_never_silent(dropbox_server):
    storage = DropboxStorage(
        **dropbox_server.options(oauth2_access_token="expired-or-wrong", root_path=root())
    )
    with pytest.raises(PermissionError, match="DROPBOX_OAUTH2_TOKEN"):
        storage.exists("x.txt")
    with pytest.raises(PermissionError):
        storage.url("x.txt")
    with pytest.raises(PermissionError):
        storage.listdir("")
    with pytest.raises(PermissionError):
        storage.exists("")


def test_url_is_a_temporary_link(store):
    name = store.save("linked.txt", ContentFile(b"link me"))
    url = store.url(name)
    assert url.startswith("http") and "linked.txt" in url
    assert fetch(url) == (200, b"link me")
    with pytest.raises(FileNotFoundError):
        store.url("missing.txt")


def test_modified_time_is_server_modified(store):
    name = store.save("when.txt", ContentFile(b"w"))
    md = store.client.files_get_metadata(store._path(store._key(name)))
    assert store.get_modified_time(name).replace(microsecond=0) == md.server_modified.replace(
        tzinfo=store.get_modified_time(name).tzinfo
    )


def test_large_save_uses_upload_session(store, dropbox_server):
    payload = bytes(range(256)) * (40 * 1024 + 7)  # about 10 MiB: 3 chunks of 4 MiB
    dropbox_server.reset_stats()
    name = store.save("session.bin", ContentFile(payload))
    stats = dropbox_server.stats()
    assert stats.get("/2/files/upload_session/start") == 1
    assert stats.get("/2/files/upload_session/append_v2") == 1
    assert stats.get("/2/files/upload_session/finish") == 1
    assert "/2/files/upload" not in stats
    with store.open(name, "rb") as f:
        f.seek(5 * 1024 * 1024)
        assert f.read(10) == payload[5 * 1024 * 1024 : 5 * 1024 * 1024 + 10]
    assert store.size(name) == len(payload)


def test_seek_reads_with_a_range_request(store, dropbox_server):
    payload = b"0123456789" * 1000
    name = store.save("ranged.bin", ContentFile(payload))
    dropbox_server.reset_stats()
    with store.open(name) as f:
        f.seek(9000)
        assert f.read() == payload[9000:]
        f.seek(len(payload) + 5)
        assert f.read() == b""
    assert dropbox_server.stats()["/2/files/download"] <= 3


def test_write_mode_overwrite(dropbox_server):
    storage = DropboxStorage(**dropbox_server.options(root_path=root(), write_mode="overwrite"))
    assert storage.overwrite is True
    storage.save("same.txt", ContentFile(b"1"))
    assert storage.save("same.txt", ContentFile(b"2")) == "same.txt"
    assert storage.open("same.txt").read() == b"2"
    add = DropboxStorage(**dropbox_server.options(root_path=root()))
    assert add.write_mode == "add" and add.overwrite is False
    with pytest.raises(ImproperlyConfigured, match="DROPBOX_WRITE_MODE"):
        DropboxStorage(**dropbox_server.options(write_mode="update"))


def test_add_mode_conflict_is_file_exists_even_for_identical_content(store):
    from storages.files import UploadSpec
    from storages.transfer import UploadSource

    store.save("twin.txt", ContentFile(b"same"))
    spec = UploadSpec(
        name="twin.txt", key=store._key("twin.txt"), content_type="text/plain", create_only=True
    )
    with pytest.raises(FileExistsError):
        store._upload(spec, UploadSource.from_bytes(b"same"))


def test_deprecated_location_becomes_root_path(dropbox_server):
    where = root()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        storage = DropboxStorage(**dropbox_server.options(location=where))
    assert any(
        issubclass(w.category, DeprecationWarning) and "root_path" in str(w.message) for w in caught
    )
    assert storage.root_path == where
    name = storage.save("old.txt", ContentFile(b"o"))
    other = DropboxStorage(**dropbox_server.options(root_path=where))
    assert other.open(name).read() == b"o"


def test_root_path_jail_and_backslashes(store, dropbox_server):
    name = store.save("win\\style\\name.txt", ContentFile(b"w"))
    assert name == "win/style/name.txt"
    assert store.listdir("win/style") == ([], ["name.txt"])
    md = store.client.files_get_metadata(store.root_path + "/win/style/name.txt")
    assert md.path_display == store.root_path + "/win/style/name.txt"
    from django.core.exceptions import SuspiciousFileOperation

    with pytest.raises(SuspiciousFileOperation):
        store.open("../outside.txt")
    with pytest.raises(ImproperlyConfigured):
        DropboxStorage(**dropbox_server.options(root_path="/a/../b"))


def test_root_path_without_leading_slash_and_account_root(dropbox_server):
    where = root()
    storage = DropboxStorage(**dropbox_server.options(root_path=where.lstrip("/") + "/"))
    assert storage.root_path == where
    name = storage.save("rel.txt", ContentFile(b"r"))
    top = DropboxStorage(**dropbox_server.options())
    assert top.root_path == "/"
    assert top.open(where.lstrip("/") + "/" + name).read() == b"r"
    assert "conformance" in top.listdir("")[0]


def test_folders_exist_and_missing_root(store):
    store.save("folder/inner.txt", ContentFile(b"i"))
    assert store.exists("folder") is True
    assert store.exists("") is True
    fresh = DropboxStorage(**{**store._options, "root_path": root()})
    assert fresh.exists("") is False
    assert fresh.listdir("") == ([], [])
    with pytest.raises(IsADirectoryError):
        store.open("folder")


def test_pagination_follows_cursor(store, dropbox_server):
    # the stand-in pages by 500 entries: 1100 names need list_folder + 2 continues
    from concurrent.futures import ThreadPoolExecutor

    names = [f"paged/{i:04d}.txt" for i in range(1100)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: store.save(n, ContentFile(b"")), names))
    dropbox_server.reset_stats()
    assert sorted(store.listdir("paged")[1]) == [n.split("/")[1] for n in names]
    stats = dropbox_server.stats()
    assert stats["/2/files/list_folder"] == 1 and stats["/2/files/list_folder/continue"] == 2


def test_unreachable_is_storage_unavailable(dropbox_server):
    from storages.errors import StorageUnavailable

    storage = DropboxStorage(**dropbox_server.options(api_host=f"127.0.0.1:{free_port()}"))
    with pytest.raises(StorageUnavailable, match="DropboxStorage"):
        storage.exists("x.txt")


def test_untrusted_certificate_is_refused(dropbox_server, tmp_path):
    from storages.errors import StorageUnavailable

    storage = DropboxStorage(**dropbox_server.options(ca_certs=None))  # system CAs only
    with pytest.raises(StorageUnavailable, match="CA bundle"):
        storage.exists("x.txt")


def test_missing_sdk_names_the_extra(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "dropbox", None)
    monkeypatch.delitem(sys.modules, "storages.backends.dropbox")
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'django-storages\[dropbox\]'"):
        importlib.import_module("storages.backends.dropbox")


def test_name_below_a_file_does_not_exist(store):
    store.save("plain.txt", ContentFile(b"f"))
    assert store.exists("plain.txt/child.txt") is False
    with pytest.raises(FileNotFoundError):
        store.open("plain.txt/child.txt")
    assert store.listdir("plain.txt") == ([], [])


def _one_shot(data: bytes):
    """A non-seekable stream (a pipe, a request body): the storage can't know its size."""
    from storages.transfer import ChunkReader

    return ChunkReader([data])


# -- transfer layer: uploads, ranges, scan, batch delete ------------------------------------------


@pytest.mark.parametrize(
    "size, routes",
    [
        (4 * 1024 * 1024, {"/2/files/upload": 1}),
        (
            4 * 1024 * 1024 + 1,
            {"/2/files/upload_session/start": 1, "/2/files/upload_session/finish": 1},
        ),
        (
            8 * 1024 * 1024,
            {"/2/files/upload_session/start": 1, "/2/files/upload_session/finish": 1},
        ),
    ],
)
def test_upload_requests_by_size(store, dropbox_server, size, routes):
    payload = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    dropbox_server.reset_stats()
    name = store.save("sized.bin", ContentFile(payload))
    stats = {k: v for k, v in dropbox_server.stats().items() if "upload" in k}
    assert stats == routes
    assert store.open(name).read() == payload


def test_non_seekable_stream_and_open_wb_use_a_session(store, dropbox_server):
    from django.core.files import File

    payload = bytes(range(256)) * (36 * 1024)  # 9 MiB, size unknown to the storage
    dropbox_server.reset_stats()
    name = store.save("stream.bin", File(_one_shot(payload), name="stream.bin"))
    stats = dropbox_server.stats()
    assert (
        stats["/2/files/upload_session/start"] == 1
        and stats["/2/files/upload_session/append_v2"] == 1
    )
    assert store.open(name).read() == payload
    with store.open("written.bin", "wb") as f:
        for i in range(0, len(payload), 1000_003):
            f.write(payload[i : i + 1000_003])
    assert store.open("written.bin").read() == payload


def test_aborted_open_wb_stores_nothing(store):
    with pytest.raises(RuntimeError), store.open("aborted.bin", "wb") as f:
        f.write(b"x" * (9 * 1024 * 1024))
        raise RuntimeError("boom")
    assert not store.exists("aborted.bin")


def test_ranged_reads_send_a_bounded_range(store, dropbox_server):
    payload = bytes(range(256)) * 100
    name = store.save("range.bin", ContentFile(payload))
    result = store._open_reader(store._key(name), 1000, 1500)
    assert result.body.read() == payload[1000:1500]
    result.body.close()
    assert store._open_reader(store._key(name), 25000).body.read() == payload[25000:]


def test_file_response_is_one_download(store, dropbox_server):
    from django.http import FileResponse

    name = store.save("served.bin", ContentFile(b"s" * 50000))
    dropbox_server.reset_stats()
    f = store.open(name)
    response = FileResponse(f)
    assert b"".join(response.streaming_content) == b"s" * 50000
    f.close()
    assert dropbox_server.stats()["/2/files/download"] == 1


def test_scan_is_recursive_with_content_hashes(store, dropbox_server):
    from storages.hashing import DropboxHasher

    names = {"top.txt": b"t", "Mixed/Case.txt": b"m", "a/b/c/deep.txt": b"d" * 5000}
    for name, data in names.items():
        store.save(name, ContentFile(data))
    dropbox_server.reset_stats()
    found = dict(store.scan(""))
    assert sorted(found) == sorted(names)
    for name, data in names.items():
        hasher = DropboxHasher()
        hasher.update(data)
        assert found[name].hashes == {"dropbox": hasher.hexdigest()} and found[name].size == len(
            data
        )
    assert dropbox_server.stats() == {"/2/files/list_folder": 1}
    assert dict(store.scan("a/b")) == {"a/b/c/deep.txt": found["a/b/c/deep.txt"]}
    assert (
        store.size("top.txt") == 1
        and store._stat(store._key("top.txt")).hashes == found["top.txt"].hashes
    )
    assert list(store.scan("missing")) == []


def test_delete_many_is_one_batch(store, dropbox_server):
    names = [f"batch/{i}.txt" for i in range(30)]
    for name in names:
        store.save(name, ContentFile(b"x"))
    dropbox_server.reset_stats()
    store.delete_many([*names, "batch/never-existed.txt"])
    stats = dropbox_server.stats()
    assert stats == {"/2/files/delete_batch": 1, "/2/files/delete_batch/check": 1}
    assert store.listdir("batch") == ([], [])


# -- 1.14 surface (issue 10)
# ------------------------------------------------------------------------


def test_dropbox_file_signature_and_root_listing(store):
    name = store.save("sub/one.txt", ContentFile(b"1"))
    f = DropboxFile(name, store)
    assert f.read() == b"1" and f.mode == "rb"
    f.close()
    assert store.listdir("/") == store.listdir("") == (["sub"], [])
    assert store.exists("sub") is True and store.exists("sub/") is True
    assert store._dir_exists(store._key("sub")) is True
    assert store._dir_exists(store._key("sub/one.txt")) is False
    assert store._dir_exists(store._key("nothing")) is False
    from django.core.exceptions import SuspiciousFileOperation

    with pytest.raises(SuspiciousFileOperation):
        store.listdir("/etc")


# -- faults (issue 14)
# --------------------------------------------------------------------------------


def test_long_component_refused_before_any_request(store, dropbox_server):
    from django.core.exceptions import SuspiciousFileOperation

    dropbox_server.reset_stats()
    with pytest.raises(SuspiciousFileOperation, match="255"):
        store.save("d/" + "é" * 128 + ".txt", ContentFile(b"x"))  # 261 bytes in UTF-8
    assert dropbox_server.stats() == {}
    assert store.save("d/" + "a" * 251 + ".txt", ContentFile(b"x"))


def test_silent_endpoint_fails_within_a_minute(dropbox_server):
    import time

    from storages.errors import StorageUnavailable
    from tests.servers.proxy import TCPProxy

    with TCPProxy(
        "127.0.0.1", int(dropbox_server.host.rsplit(":", 1)[1]), mode="blackhole"
    ) as proxy:
        storage = DropboxStorage(**dropbox_server.options(api_host=proxy.url, root_path=root()))
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match="DROPBOX_API_HOST.*DROPBOX_TIMEOUT"):
            storage.exists("x.txt")
        assert time.monotonic() - start < 60
    closed = DropboxStorage(**dropbox_server.options(api_host=f"127.0.0.1:{free_port()}"))
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="DROPBOX_API_HOST"):
        closed.exists("x.txt")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("size", [1024 * 1024, 10 * 1024 * 1024])
def test_cut_upload_keeps_the_old_content(dropbox_server, size):
    from storages.errors import StorageUnavailable
    from tests.servers.proxy import TCPProxy

    where = root()
    direct = DropboxStorage(**dropbox_server.options(root_path=where, write_mode="overwrite"))
    direct.save("kept.bin", ContentFile(b"old content"))
    with TCPProxy(
        "127.0.0.1",
        int(dropbox_server.host.rsplit(":", 1)[1]),
        cut_after=size // 2,
        cut_direction="up",
    ) as proxy:
        cut = DropboxStorage(
            **dropbox_server.options(api_host=proxy.url, root_path=where, write_mode="overwrite")
        )
        with pytest.raises(StorageUnavailable):
            cut.save("kept.bin", ContentFile(b"n" * size))
        with pytest.raises(StorageUnavailable):
            cut.save("new.bin", ContentFile(b"n" * size))
    assert direct.open("kept.bin").read() == b"old content"
    assert direct.listdir("") == ([], ["kept.bin"])


def test_slow_but_steady_download_is_not_cut_off(dropbox_server):
    import time

    from tests.servers.proxy import TCPProxy

    where = root()
    DropboxStorage(**dropbox_server.options(root_path=where)).save(
        "slow.bin", ContentFile(b"s" * 1024 * 1024)
    )
    with TCPProxy(
        "127.0.0.1", int(dropbox_server.host.rsplit(":", 1)[1]), bandwidth=250_000
    ) as proxy:
        slow = DropboxStorage(
            **dropbox_server.options(api_host=proxy.url, root_path=where, timeout=2)
        )
        start = time.monotonic()
        assert slow.open("slow.bin").read() == b"s" * 1024 * 1024
        # Longer than the timeout: it bounds each wait, not the transfer.
        assert time.monotonic() - start > 2


def test_read_ahead_setting(settings, dropbox_server):
    from storages.files import ReadAhead

    settings.DROPBOX_READ_AHEAD = {
        "threshold": 1024 * 1024,
        "part_size": 256 * 1024,
        "concurrency": 2,
    }
    storage = DropboxStorage(**dropbox_server.options(root_path=root()))
    assert storage.read_ahead == ReadAhead(
        threshold=1024 * 1024, part_size=256 * 1024, concurrency=2
    )
    payload = bytes(range(256)) * 8192  # 2 MiB: read in 256 KiB ranges after the first part
    name = storage.save("ahead.bin", ContentFile(payload))
    dropbox_server.reset_stats()
    with storage.open(name) as f:
        assert b"".join(f.chunks(64 * 1024)) == payload
    assert dropbox_server.stats()["/2/files/download"] > 4
    off = DropboxStorage(**dropbox_server.options(root_path=storage.root_path, read_ahead=False))
    dropbox_server.reset_stats()
    assert b"".join(off.open(name).chunks(64 * 1024)) == payload
    assert dropbox_server.stats()["/2/files/download"] == 1


def test_names_with_a_leading_slash_as_1_14_stored_them(dropbox_server):
    """1.14 took "/foo.txt" as a Dropbox path under root_path; sites kept such names in FileField
    columns, and every one must still open. Escapes stay refused."""
    from django.core.exceptions import SuspiciousFileOperation

    where = root()
    top = DropboxStorage(**dropbox_server.options())  # root_path "/": the default
    name = f"{where.lstrip('/')}/foo.txt"
    top.save(name, ContentFile(b"one-four"))
    stored = "/" + name  # as 1.14 kept it
    assert top.exists(stored) is True
    assert top.size(stored) == 8
    with top.open(stored) as f:
        assert f.read() == b"one-four"
    import urllib.request

    with urllib.request.urlopen(top.url(stored), timeout=10) as answer:  # the stand-in's link
        assert answer.read() == b"one-four"
    # Under a root path: the Dropbox path of the file, as 1.14 resolved it.
    below = DropboxStorage(**dropbox_server.options(root_path=where))
    below.save("media/a.txt", ContentFile(b"aa"))
    assert below.exists(f"{where}/media/a.txt") is True
    assert below.size(f"{where}/media/a.txt") == 2
    assert below.open(f"{where}/media/a.txt").read() == b"aa"
    assert below.exists(f"{where}/media/missing.txt") is False
    # Outside the root path, or leaving it with "..": refused before any request.
    for bad in ("/etc/passwd", "/foo.txt", f"{where}/../x.txt", f"{where}x/a.txt"):
        with pytest.raises(SuspiciousFileOperation):
            below.open(bad)
    assert below.listdir("/") == (["media"], ["foo.txt"])


def test_a_pkce_refresh_token_needs_no_app_secret(dropbox_server):
    """docs/upgrading.rst: an app key and a refresh token without a secret (PKCE) is accepted."""
    storage = DropboxStorage(
        **dropbox_server.options(
            oauth2_access_token=None,
            app_key=APP_KEY,
            oauth2_refresh_token=REFRESH_TOKEN,
            root_path=root(),
        )
    )
    dropbox_server.reset_stats()
    name = storage.save("pkce.txt", ContentFile(b"k"))
    assert storage.open(name).read() == b"k"
    assert dropbox_server.stats().get("/oauth2/token") == 1

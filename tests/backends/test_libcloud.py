"""LibCloudStorage with libcloud's local driver (a folder) and its S3 driver against moto.

Both join the conformance suite; the rest checks libcloud's own settings.
"""

from __future__ import annotations

import os
import pickle
import shutil
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files import File
from django.core.files.base import ContentFile

from storages.backends.apache_libcloud import LibCloudFile, LibCloudStorage
from storages.files import TEMP_PREFIX
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
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

PATH = "storages.backends.apache_libcloud.LibCloudStorage"
BUCKET = "libcloud-conformance"


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


@pytest.fixture(scope="module")
def s3_auth_server(moto_auth_server):
    return moto_auth_server


@pytest.fixture(scope="module", autouse=True)
def _lock_files_in_a_temp_folder(tmp_path_factory):
    """The local driver leaves one lock file per object in the temp folder: keep them out of
    /tmp."""
    import tempfile

    previous = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("libcloud-locks"))
    yield
    shutil.rmtree(tempfile.tempdir, ignore_errors=True)
    tempfile.tempdir = previous


@pytest.fixture(scope="module")
def local_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("libcloud-local")
    (root / "container").mkdir()
    (root / "not-a-folder").write_text("a file where the base folder should be")
    yield root
    shutil.rmtree(root, ignore_errors=True)  # the memory test leaves 200 MB here


def s3_provider(endpoint: str, **extra) -> dict:
    parts = urlsplit(endpoint)
    return {
        "type": "libcloud.storage.types.Provider.S3",
        "user": ACCESS_KEY,
        "key": SECRET_KEY,
        "bucket": BUCKET,
        "region": "us-east-1",
        "host": parts.hostname,
        "port": parts.port,
        "secure": False,
        **extra,
    }


@pytest.fixture
def providers(settings, s3_server, s3_auth_server, local_root):
    """LIBCLOUD_PROVIDERS for every test (credentials live in settings, as in a real project)."""
    settings.LIBCLOUD_PROVIDERS = {
        "default": {"type": "local", "user": str(local_root), "bucket": "container"},
        "local": {
            "type": "libcloud.storage.types.Provider.LOCAL",
            "user": str(local_root),
            "bucket": "container",
        },
        "local_bad_base": {
            "type": "local",
            "user": str(local_root / "not-a-folder"),
            "bucket": "container",
        },
        "local_no_container": {
            "type": "local",
            "user": str(local_root),
            "bucket": "no-such-container",
        },
        "local_gone": {
            "type": "local",
            "user": str(local_root / "unmounted"),
            "bucket": "container",
        },
        "s3": s3_provider(s3_server.endpoint),
        "s3_bad_creds": s3_provider(s3_auth_server.endpoint),
        "s3_no_bucket": s3_provider(s3_server.endpoint, bucket="no-such-bucket"),
        "s3_unreachable": s3_provider(f"http://127.0.0.1:{free_port()}"),
    }
    return settings.LIBCLOUD_PROVIDERS


def options(provider: str, **extra) -> dict:
    return {"provider_name": provider, "location": f"conformance/{uuid.uuid4().hex}", **extra}


class TestLibcloudLocalConformance(StorageConformance, StorageLifecycle):
    # The local driver gives a filesystem path, not a URL: url() is base_url + name.
    # Create-only saves hard-link a finished temporary file: atomic, across processes too.
    capabilities = Capabilities.strict(overwrite_option="file_overwrite", url_fetchable=False)
    child_settings = ("LIBCLOUD_PROVIDERS",)

    def interrupted_leftovers(self, storage, name):
        """Files in the object's folder on disk, hidden temporary ones too."""
        path = Path(storage._local_path(storage._key(name)))
        return sorted(p.name for p in path.parent.iterdir() if p.name != f"{path.name}.used")

    @pytest.fixture
    def storage_config(self, providers):
        return BackendConfig(PATH, options("local", base_url="/media/"), secrets=[SECRET_KEY])

    @pytest.fixture
    def broken_configs(self, providers):
        return BrokenConfigs(
            bad_credentials=BackendConfig(PATH, options("local_bad_base")),
            missing_container=BackendConfig(PATH, options("local_no_container")),
            unreachable=BackendConfig(PATH, options("local_gone")),
        )


class TestLibcloudS3ReadIntegrity(ReadIntegrity):
    @pytest.fixture
    def proxied_backend(self, providers, s3_server, settings):
        def config(proxy):
            settings.LIBCLOUD_PROVIDERS = {**providers, "s3_proxied": s3_provider(proxy.url)}
            return BackendConfig(PATH, options("s3_proxied"), secrets=[SECRET_KEY])

        return ProxiedBackend(port=int(s3_server.endpoint.rsplit(":", 1)[1]), config=config)


class TestLibcloudS3Conformance(StorageConformance, StorageLifecycle):
    # libcloud has no create-if-absent: savers of one name take turns within a process
    # (atomic there, not across processes).
    capabilities = Capabilities.strict(
        overwrite_option="file_overwrite", created_time=False, accessed_time=False
    )
    child_settings = ("LIBCLOUD_PROVIDERS",)

    def interrupted_leftovers(self, storage, name):
        return [u.key for u in _multipart_uploads(storage) if u.key == storage._key(name)]

    @pytest.fixture
    def storage_config(self, providers, s3_server):
        # static files: stable public URLs from base_url (presigned URLs can't go in CSS)
        return BackendConfig(
            PATH,
            options("s3"),
            secrets=[SECRET_KEY],
            static_options={"base_url": f"{s3_server.endpoint}/{BUCKET}/"},
        )

    @pytest.fixture
    def broken_configs(self, providers):
        return BrokenConfigs(
            bad_credentials=BackendConfig(PATH, options("s3_bad_creds"), secrets=[SECRET_KEY]),
            missing_container=BackendConfig(PATH, options("s3_no_bucket"), secrets=[SECRET_KEY]),
            unreachable=BackendConfig(PATH, options("s3_unreachable"), secrets=[SECRET_KEY]),
        )


class TestLibcloudLocalAsync(async_conformance(TestLibcloudLocalConformance)):
    @pytest.fixture
    def unfinished_uploads(self):
        """The local driver lists nothing: the hidden temporary files on disk below the root."""

        def temporary_files(storage) -> list[str]:
            root = Path(storage._local_path(storage._key("", allow_root=True)))
            return sorted(str(p) for p in root.rglob(f"{TEMP_PREFIX}*") if p.is_file())

        return temporary_files


TestLibcloudS3Async = async_conformance(TestLibcloudS3Conformance)


# -- libcloud's own settings -------------------------------------------------------------------


def test_positional_provider_name_and_default(providers, local_root):
    store = LibCloudStorage("s3")
    assert store.provider_name == "s3" and store.bucket == BUCKET
    assert type(store.driver).__name__ == "S3StorageDriver"
    path, args, kwargs = store.deconstruct()
    assert args == ("s3",) and SECRET_KEY not in repr((path, args, kwargs))
    assert LibCloudStorage(None, "ignored-option").provider_name == "default"
    assert type(LibCloudStorage().driver).__name__ == "LocalStorageDriver"


def test_default_provider_setting(settings, providers):
    settings.DEFAULT_LIBCLOUD_PROVIDER = "s3"
    assert LibCloudStorage().provider_name == "s3"


def test_provider_config_errors(settings, providers):
    with pytest.raises(ImproperlyConfigured, match="'nope'"):
        LibCloudStorage("nope")
    settings.LIBCLOUD_PROVIDERS = {
        "x": {"type": "libcloud.storage.types.Provider.NO_SUCH", "bucket": "b"}
    }
    with pytest.raises(ImproperlyConfigured, match="NO_SUCH"):
        LibCloudStorage("x")
    settings.LIBCLOUD_PROVIDERS = {"x": {"type": "some.other.module.S3", "bucket": "b"}}
    with pytest.raises(ImproperlyConfigured, match="Provider constant"):
        LibCloudStorage("x")
    settings.LIBCLOUD_PROVIDERS = {"x": {"type": "s3", "bucket": "b", "regoin": "eu-west-1"}}
    with pytest.raises(ImproperlyConfigured, match="regoin"):
        LibCloudStorage("x")
    settings.LIBCLOUD_PROVIDERS = {
        "x": {"type": "s3", "user": "u", "key": SECRET_KEY, "bucket": "b", "region": "mars-north-1"}
    }
    store = LibCloudStorage("x")
    with pytest.raises(ImproperlyConfigured, match="'s3'.*ValueError") as info:
        store.driver  # noqa: B018 - the driver is built on first use
    assert SECRET_KEY not in str(info.value)


def test_providers_in_options_stay_out_of_migrations(providers):
    inline = {"mine": dict(providers["s3"])}
    store = LibCloudStorage("mine", providers=inline, location="inline")
    name = store.save("inline.txt", ContentFile(b"i"))
    assert store.open(name).read() == b"i"
    _, args, kwargs = store.deconstruct()
    assert "providers" not in kwargs and SECRET_KEY not in repr((args, kwargs))


def test_create_container_through_driver(providers):
    store = LibCloudStorage("s3")
    new = f"bucket-{uuid.uuid4().hex[:8]}"
    store.driver.create_container(new)
    assert any(c.name == new for c in store.driver.list_containers())


def test_s3_url_is_presigned_and_fetchable(providers):
    store = LibCloudStorage(**options("s3"))
    name = store.save("signed.txt", ContentFile(b"signed"))
    url = store.url(name)
    assert "X-Amz-Signature=" in url and SECRET_KEY not in url
    assert fetch(url) == (200, b"signed")


def test_local_url_defaults_to_media_url(settings, providers):
    # as FileSystemStorage: the local driver's folder is served at MEDIA_URL
    store = LibCloudStorage(**options("local"))
    name = store.save("a b.txt", ContentFile(b"n"))
    assert store.url(name) == f"/media/{store.location}/a%20b.txt"
    settings.MEDIA_URL = "https://media.example/"
    assert (
        LibCloudStorage(**options("local"))
        .url("x.txt")
        .startswith("https://media.example/conformance/")
    )
    assert (
        LibCloudStorage(**options("local", base_url="https://cdn.example.com/m/"))
        .url("a b.txt")
        .startswith("https://cdn.example.com/m/conformance/")
    )


def test_base_url_per_provider(settings, providers):
    settings.LIBCLOUD_PROVIDERS = {
        **providers,
        "cdn": {**providers["s3"], "base_url": "https://cdn.example/"},
    }
    store = LibCloudStorage("cdn", location="x")
    assert store.url("y z.txt") == "https://cdn.example/x/y%20z.txt"


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_missing_objects_are_file_not_found(providers, provider):
    store = LibCloudStorage(**options(provider))
    with pytest.raises(FileNotFoundError):
        store.open("nope.txt")
    with pytest.raises(FileNotFoundError):
        store.size("nope.txt")
    assert store.exists("nope.txt") is False


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_listdir_asks_only_for_the_prefix(providers, provider, monkeypatch):
    store = LibCloudStorage(**options(provider))
    outsider = LibCloudStorage(**options(provider))
    for i in range(5):
        outsider.save(f"elsewhere/{i}.txt", ContentFile(b""))
    store.save("dir/a.txt", ContentFile(b""))
    store.save("dir/sub/b.txt", ContentFile(b""))
    seen = []
    driver_type = type(store.driver)
    original = driver_type.iterate_container_objects

    def spy(self, container, prefix=None, ex_prefix=None):
        seen.append(prefix)
        return original(self, container, prefix=prefix, ex_prefix=ex_prefix)

    monkeypatch.setattr(driver_type, "iterate_container_objects", spy)
    assert store.listdir("dir") == (["sub"], ["a.txt"])
    if provider == "s3":
        assert seen == [store.location + "/dir/"]
    else:
        assert seen == []  # one folder read, no walk of the container


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_seek_uses_ranged_reads(providers, provider):
    store = LibCloudStorage(**options(provider))
    payload = bytes(range(256)) * 300
    name = store.save("ranged.bin", ContentFile(payload))
    with store.open(name) as f:
        f.seek(70000)
        assert f.read(100) == payload[70000:70100]
        f.seek(len(payload) + 10)
        assert f.read() == b""


def test_file_overwrite_option_and_setting(settings, providers):
    store = LibCloudStorage(**options("s3"))
    assert store.overwrite is False  # libcloud has no overwrite switch of its own: off by default
    settings.LIBCLOUD_FILE_OVERWRITE = True
    on = LibCloudStorage(**options("s3"))
    assert on.overwrite is True
    assert (
        on.save("same.txt", ContentFile(b"1"))
        == on.save("same.txt", ContentFile(b"2"))
        == "same.txt"
    )
    assert on.open("same.txt").read() == b"2"


def test_pickled_storage_rebuilds_its_driver(providers):
    store = LibCloudStorage(**options("s3"))
    name = store.save("p.txt", ContentFile(b"p"))
    clone = pickle.loads(pickle.dumps(store))
    assert clone.open(name).read() == b"p"
    assert isinstance(clone.open(name), LibCloudFile)


def test_aborted_local_write_leaves_nothing(providers):
    store = LibCloudStorage(**options("local"))
    with pytest.raises(RuntimeError):
        with store.open("partial.bin", "wb") as f:
            f.write(b"x" * 1000)
            raise RuntimeError("boom")
    assert not store.exists("partial.bin")
    assert store.listdir("") == ([], [])


def test_missing_sdk_names_the_extra(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "libcloud.common.types", None)
    monkeypatch.delitem(sys.modules, "storages.backends.apache_libcloud")
    with pytest.raises(ImproperlyConfigured, match=r"pip install 'django-storages\[libcloud\]'"):
        importlib.import_module("storages.backends.apache_libcloud")


def test_s3_errors_are_specific(providers):
    from storages.errors import StorageUnavailable

    with pytest.raises(PermissionError, match=r"LIBCLOUD_PROVIDERS\['s3_bad_creds'\]"):
        LibCloudStorage(**options("s3_bad_creds")).exists("x.txt")
    with pytest.raises(ImproperlyConfigured, match="no-such-bucket"):
        LibCloudStorage(**options("s3_no_bucket")).exists("x.txt")
    with pytest.raises(StorageUnavailable, match="LibCloudStorage"):
        LibCloudStorage(**options("s3_unreachable")).exists("x.txt")
    with pytest.raises(ImproperlyConfigured, match="not a directory"):
        LibCloudStorage(**options("local_bad_base")).exists("x.txt")


def _one_shot(data: bytes):
    """A non-seekable stream (a pipe, a request body): the storage can't know its size."""
    from storages.transfer import ChunkReader

    return ChunkReader([data])


# -- transfer layer: uploads, ranges, scan, delete_many ------------------------------------------


def _multipart_uploads(store) -> list:
    return list(
        store.driver.ex_iterate_multipart_uploads(store._container(), prefix=store.location)
    )


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_uploads_from_a_path_a_stream_and_open_wb(providers, provider, tmp_path):
    from bench.common import http_requests

    store = LibCloudStorage(**options(provider))
    payload = bytes(range(256)) * (48 * 1024)  # 12 MiB
    on_disk = tmp_path / "upload.bin"
    on_disk.write_bytes(payload)
    with open(on_disk, "rb") as fh, http_requests() as counted:
        name = store.save("from-path.bin", File(fh, name="upload.bin"))
    assert store.open(name).read() == payload
    if provider == "s3":  # the name check (bucket + object HEADs), then one PUT from the file
        assert counted["requests"] <= 6
    name = store.save("from-stream.bin", File(_one_shot(payload), name="s.bin"))
    assert store.open(name).read() == payload
    with store.open("written.bin", "wb") as f:
        for i in range(0, len(payload), 1000_003):
            f.write(payload[i : i + 1000_003])
    assert store.open("written.bin").read() == payload
    assert sorted(store.listdir("")[1]) == ["from-path.bin", "from-stream.bin", "written.bin"]


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_aborted_large_write_leaves_nothing(providers, provider):
    store = LibCloudStorage(**options(provider))
    store.save("kept.bin", ContentFile(b"old"))
    with pytest.raises(RuntimeError), store.open("aborted.bin", "wb") as f:
        f.write(b"x" * (12 * 1024 * 1024))
        raise RuntimeError("boom")
    assert not store.exists("aborted.bin")
    assert store.listdir("") == ([], ["kept.bin"])
    if provider == "s3":
        assert _multipart_uploads(store) == []  # libcloud aborted it
    else:
        assert sorted(os.listdir(store._local_path(store.location))) == ["kept.bin"]


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_ranged_reads(providers, provider):
    store = LibCloudStorage(**options(provider))
    payload = bytes(range(256)) * 400
    name = store.save("range.bin", ContentFile(payload))
    result = store._open_reader(store._key(name), 1000, 1500)
    assert result.body.read() == payload[1000:1500]
    result.body.close()
    result = store._open_reader(store._key(name), 100000)
    assert result.body.read() == payload[100000:]
    result.body.close()


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_scan_and_delete_many(providers, provider):
    import hashlib

    store = LibCloudStorage(**options(provider))
    names = {"top.txt": b"t", "a/b/deep.txt": b"d" * 5000, "a/side.txt": b"s"}
    for name, data in names.items():
        store.save(name, ContentFile(data))
    found = dict(store.scan(""))
    assert sorted(found) == sorted(names)
    for name, data in names.items():
        assert found[name].size == len(data)
        if provider == "s3":  # single-part ETags are MD5s
            assert found[name].hashes == {"md5": hashlib.md5(data).hexdigest()}
        else:  # the local driver's hash is of the mtime: no content hash
            assert found[name].hashes == {}
    assert sorted(dict(store.scan("a"))) == ["a/b/deep.txt", "a/side.txt"]
    store.delete_many([*names, "never-there.txt"])
    assert list(store.scan("")) == [] and store.listdir("") == ([], [])


# -- 1.14 surface (issue 10)
# ------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["local", "s3"])
def test_file_signature_root_listing_and_directories(providers, provider):
    from django.core.exceptions import SuspiciousFileOperation

    store = LibCloudStorage(**options(provider))
    name = store.save("sub/one.txt", ContentFile(b"1"))
    f = LibCloudFile(name, store, "rb")
    assert f.read() == b"1"
    f.close()
    assert store.listdir("/") == store.listdir("") == (["sub"], [])
    with pytest.raises(SuspiciousFileOperation):
        store.listdir("/etc")
    # a folder exists on the local driver (a real folder), not on an object store (a bare prefix)
    assert store.exists("sub") is (provider == "local")
    assert LibCloudStorage(**options(provider)).exists("sub") is False


# -- faults (issue 14)
# --------------------------------------------------------------------------------


def test_local_long_component_refused_before_writing(providers):
    from django.core.exceptions import SuspiciousFileOperation

    store = LibCloudStorage(**options("local"))
    with pytest.raises(SuspiciousFileOperation, match="255"):
        store.save("d/" + "é" * 128 + ".txt", ContentFile(b"x"))
    assert store.listdir("") == ([], [])
    assert store.save("d/" + "a" * 251 + ".txt", ContentFile(b"x"))
    with pytest.raises(SuspiciousFileOperation, match="1024"):
        LibCloudStorage(**options("s3_unreachable")).save("k" * 1100, ContentFile(b"x"))


def test_silent_s3_endpoint_fails_within_a_minute(settings, providers, s3_server):
    import time

    from storages.errors import StorageUnavailable
    from tests.servers.proxy import TCPProxy

    port = urlsplit(s3_server.endpoint).port
    with TCPProxy("127.0.0.1", port, mode="blackhole") as proxy:
        settings.LIBCLOUD_PROVIDERS = {**providers, "silent": s3_provider(f"http://{proxy.url}")}
        start = time.monotonic()
        with pytest.raises(
            StorageUnavailable, match=r"LIBCLOUD_PROVIDERS\['silent'\]\['host'/'port'/'timeout'\]"
        ):
            LibCloudStorage(**options("silent")).exists("x.txt")
        assert time.monotonic() - start < 60
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="LIBCLOUD_PROVIDERS"):
        LibCloudStorage(**options("s3_unreachable")).exists("x.txt")
    assert time.monotonic() - start < 5


@pytest.mark.parametrize("size", [1024 * 1024, 12 * 1024 * 1024])
def test_cut_s3_upload_keeps_the_old_content(settings, providers, s3_server, size):
    from storages.errors import StorageUnavailable
    from tests.servers.proxy import TCPProxy

    port = urlsplit(s3_server.endpoint).port
    direct = LibCloudStorage(**options("s3", file_overwrite=True))
    direct.save("kept.bin", ContentFile(b"old content"))
    # libcloud opens a connection per request: cut inside the first 5 MiB part
    with TCPProxy(
        "127.0.0.1", port, cut_after=min(size // 2, 3 * 1024 * 1024), cut_direction="up"
    ) as proxy:
        settings.LIBCLOUD_PROVIDERS = {**providers, "cut": s3_provider(f"http://{proxy.url}")}
        cut = LibCloudStorage("cut", location=direct.location, file_overwrite=True)
        with pytest.raises(StorageUnavailable, match="LIBCLOUD_PROVIDERS"):
            cut.save("kept.bin", ContentFile(b"n" * size))
        with pytest.raises(StorageUnavailable):
            cut.save("new.bin", File(_one_shot(b"n" * size), name="new.bin"))
    assert direct.open("kept.bin").read() == b"old content"
    assert direct.listdir("") == ([], ["kept.bin"])
    assert _multipart_uploads(direct) == []


def test_slow_but_steady_s3_download_is_not_cut_off(settings, providers, s3_server):
    import time

    from tests.servers.proxy import TCPProxy

    direct = LibCloudStorage(**options("s3"))
    direct.save("slow.bin", ContentFile(b"s" * 1024 * 1024))
    with TCPProxy("127.0.0.1", urlsplit(s3_server.endpoint).port, bandwidth=250_000) as proxy:
        settings.LIBCLOUD_PROVIDERS = {
            **providers,
            "slow": s3_provider(f"http://{proxy.url}", timeout=2),
        }
        slow = LibCloudStorage("slow", location=direct.location)
        start = time.monotonic()
        assert slow.open("slow.bin").read() == b"s" * 1024 * 1024
        # Longer than the timeout: it bounds each wait, not the transfer.
        assert time.monotonic() - start > 2


def test_s3_multipart_leftovers_are_listed_and_removed(providers, s3_server):
    """What a killed upload leaves on libcloud's S3 driver (a multipart upload with a part) is
    listed below ``location`` (what checkstorages --leftovers-older-than shows, and the async
    suite checks after a cancelled save) and removed; a driver that can't list them says so."""
    import datetime as dt

    store = LibCloudStorage(**options("s3"))
    key = store._key("killed/big.bin")
    raw = s3_server.client()
    upload = raw.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    raw.upload_part(Bucket=BUCKET, Key=key, UploadId=upload, PartNumber=1, Body=b"p" * 1024)
    other = raw.create_multipart_upload(Bucket=BUCKET, Key="elsewhere/other.bin")  # not below
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    found = list(store._list_leftovers(later))
    assert [(f.key, f.ref, f.kind) for f in found] == [(key, upload, "multipart upload")]
    assert list(store._list_leftovers(later - dt.timedelta(hours=1))) == []  # too young
    store._remove_leftover(found[0])
    assert raw.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", []) == []
    local = LibCloudStorage(**options("local"))
    assert local._list_leftovers(later) is None and "LocalStorageDriver" in local.leftovers_note
    raw.abort_multipart_upload(Bucket=BUCKET, Key="elsewhere/other.bin", UploadId=other["UploadId"])


def test_a_download_closed_unread_releases_its_connection(providers):
    """The sync path: a file opened (its download started) and closed unread gives its HTTP
    response back (libcloud itself keeps it open until the driver's next request)."""
    from storages.testing.async_suite import connections_in_use

    store = LibCloudStorage(**options("s3"))
    name = store.save("unread.bin", ContentFile(b"u" * (4 * 1024 * 1024)))
    before = connections_in_use(store)
    f = store.open(name)
    assert connections_in_use(store) == before + 1  # the download is under way
    f.close()
    assert connections_in_use(store) == before


def test_the_download_adapter_reaches_libcloud_s3_response(providers):
    """storages/backends/apache_libcloud/compat.py reaches into libcloud's reply (its
    ``iter_content`` bound to a requests response): if a libcloud release changes that, this
    fails, not the downloads."""
    from storages.backends.apache_libcloud.compat import download
    from storages.testing.async_suite import connections_in_use

    store = LibCloudStorage(**options("s3"))
    name = store.save("adapter.bin", ContentFile(b"a" * (1024 * 1024)))
    before = connections_in_use(store)
    driver = store.driver
    chunks, close = download(
        driver, driver.download_object_as_stream, store._get_object(store._key(name))
    )
    assert "request" not in vars(driver.connection)  # the capture was for that one call
    assert connections_in_use(store) == before + 1
    close()
    assert connections_in_use(store) == before

"""AzureStorage against Azurite: the conformance suite plus Azure's own settings."""

from __future__ import annotations

import base64
import datetime as dt
import os
import socket
import ssl
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qs, urlsplit

import pytest
from azure.core.exceptions import ResourceNotFoundError
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File

from storages.backends.azure_storage import AzureStorage, AzureStorageFile, _get_valid_path
from storages.errors import StorageUnavailable
from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    StorageConformance,
    StorageLifecycle,
)
from storages.testing.async_suite import async_conformance
from storages.testing.helpers import PatternFile, fetch, peak_memory, sha256_of
from storages.testing.integrity import ProxiedBackend, ReadIntegrity
from tests.sdk_missing import import_without
from tests.servers import free_port
from tests.servers.azure import (
    ACCOUNT_KEY,
    ACCOUNT_NAME,
    AzuriteServer,
    FakeTokenCredential,
    start_azurite,
)

PATH = "storages.backends.azure_storage.AzureStorage"
CONTAINER = "conformance"
PUBLIC = "public-media"
MB = 1024 * 1024
WRONG_KEY = base64.b64encode(b"not-the-azurite-key-" * 3).decode()


@pytest.fixture(scope="session")
def azurite():
    server = start_azurite()
    server.create_container(CONTAINER)
    server.create_container(PUBLIC, public=True)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def azurite_oauth():
    server = start_azurite(oauth=True)
    server.create_container(CONTAINER)
    yield server
    server.stop()


def options(server: AzuriteServer, **extra) -> dict:
    return {
        "connection_string": server.connection_string(),
        "azure_container": CONTAINER,
        "location": f"conformance/{uuid.uuid4().hex}",
        "expiration_secs": 3600,
        **extra,
    }


def storage(server: AzuriteServer, **extra) -> AzureStorage:
    return AzureStorage(**options(server, **extra))


class TestAzureReadIntegrity(ReadIntegrity):
    @pytest.fixture
    def proxied_backend(self, azurite):
        def config(proxy):
            connection = (
                f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};"
                f"AccountKey={ACCOUNT_KEY};BlobEndpoint={proxy.url}/{ACCOUNT_NAME};"
            )
            return BackendConfig(PATH, options(azurite, connection_string=connection))

        return ProxiedBackend(port=azurite.port, config=config)


class TestAzureConformance(StorageConformance, StorageLifecycle):
    capabilities = Capabilities.strict(
        overwrite_option="overwrite_files", created_time=True, accessed_time=False
    )
    # Blocks and a Put Block List past 1 MiB instead of 4 MiB.
    lifecycle_options = {"max_single_put_size": 1024 * 1024, "max_block_size": 512 * 1024}

    def interrupted_leftovers(self, storage, name):
        """Blocks of the blob, committed or not (an aborted upload discards its own)."""
        blob = storage.container_client.get_blob_client(storage._key(name))
        try:
            committed, uncommitted = blob.get_block_list("all")
        except ResourceNotFoundError:
            return []
        return [block.id for block in [*committed, *uncommitted]]

    @pytest.fixture
    def storage_config(self, azurite):
        return BackendConfig(
            PATH, options(azurite), secrets=[ACCOUNT_KEY], static_options={"expiration_secs": None}
        )

    @pytest.fixture
    def broken_configs(self, azurite):
        return BrokenConfigs(
            bad_credentials=BackendConfig(
                PATH,
                options(azurite, connection_string=azurite.connection_string(WRONG_KEY)),
                secrets=[WRONG_KEY],
            ),
            missing_container=BackendConfig(
                PATH, options(azurite, azure_container="no-such-container")
            ),
            unreachable=BackendConfig(
                PATH,
                options(
                    azurite,
                    connection_string=(
                        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
                        f"BlobEndpoint=http://127.0.0.1:{free_port()}/{ACCOUNT_NAME};"
                    ),
                ),
            ),
        )


TestAzureAsync = async_conformance(TestAzureConformance)


# -- settings --------------------------------------------------------------------------------
EXPECTED_DEFAULTS = {
    "account_name": ("AZURE_ACCOUNT_NAME", None),
    "account_key": ("AZURE_ACCOUNT_KEY", None),
    "connection_string": ("AZURE_CONNECTION_STRING", None),
    "sas_token": ("AZURE_SAS_TOKEN", None),
    "token_credential": ("AZURE_TOKEN_CREDENTIAL", None),
    "azure_container": ("AZURE_CONTAINER", None),
    "azure_ssl": ("AZURE_SSL", True),
    "endpoint_suffix": ("AZURE_ENDPOINT_SUFFIX", "core.windows.net"),
    "custom_domain": ("AZURE_CUSTOM_DOMAIN", None),
    "location": ("AZURE_LOCATION", ""),
    "upload_max_conn": ("AZURE_UPLOAD_MAX_CONN", 4),
    "timeout": ("AZURE_CONNECTION_TIMEOUT_SECS", 20),
    "read_timeout": ("AZURE_READ_TIMEOUT_SECS", 20),
    "max_block_size": ("AZURE_MAX_BLOCK_SIZE", 4 * MB),
    "max_single_put_size": ("AZURE_MAX_SINGLE_PUT_SIZE", None),
    "max_memory_size": ("AZURE_BLOB_MAX_MEMORY_SIZE", 2 * MB),
    "expiration_secs": ("AZURE_URL_EXPIRATION_SECS", None),
    "overwrite_files": ("AZURE_OVERWRITE_FILES", False),
    "cache_control": ("AZURE_CACHE_CONTROL", None),
    "object_parameters": ("AZURE_OBJECT_PARAMETERS", {}),
    "client_options": ("AZURE_CLIENT_OPTIONS", {}),
    "api_version": ("AZURE_API_VERSION", None),
}


def test_every_setting_has_its_name_and_default() -> None:
    table = {s.name: s for s in AzureStorage.get_settings()}
    for option, (django_name, default) in EXPECTED_DEFAULTS.items():
        assert table[option].settings[0] == django_name
        assert table[option].default_value() == default, option
    assert AzureStorage().default_content_type == "application/octet-stream"
    assert AzureStorage.overwrite_option == "overwrite_files"


def test_django_settings_are_read(settings, azurite) -> None:
    values = {
        "AZURE_ACCOUNT_NAME": "acct",
        "AZURE_CONTAINER": "box",
        "AZURE_SSL": False,
        "AZURE_ENDPOINT_SUFFIX": "core.chinacloudapi.cn",
        "AZURE_CUSTOM_DOMAIN": "cdn.example.com",
        "AZURE_LOCATION": "media",
        "AZURE_UPLOAD_MAX_CONN": 4,
        "AZURE_CONNECTION_TIMEOUT_SECS": 5,
        "AZURE_BLOB_MAX_MEMORY_SIZE": 8 * MB,
        "AZURE_URL_EXPIRATION_SECS": 60,
        "AZURE_OVERWRITE_FILES": True,
        "AZURE_CACHE_CONTROL": "max-age=60",
        "AZURE_OBJECT_PARAMETERS": {"content_language": "fr"},
        "AZURE_CLIENT_OPTIONS": {"retry_total": 1},
    }
    for key, value in values.items():
        setattr(settings, key, value)
    s = AzureStorage()
    assert (
        s.account_name,
        s.azure_container,
        s.azure_ssl,
        s.endpoint_suffix,
        s.custom_domain,
        s.location,
    ) == ("acct", "box", False, "core.chinacloudapi.cn", "cdn.example.com", "media")
    assert (
        s.upload_max_conn,
        s.timeout,
        s.max_memory_size,
        s.expiration_secs,
        s.overwrite_files,
    ) == (4, 5, 8 * MB, 60, True)
    assert s.cache_control == "max-age=60" and s.object_parameters == {"content_language": "fr"}
    assert s.client_options == {"retry_total": 1}
    assert s.service_client.url.startswith("http://acct.blob.core.chinacloudapi.cn")
    # OPTIONS beat settings; unknown options are refused with the valid list
    assert AzureStorage(azure_container="other").azure_container == "other"
    with pytest.raises(ImproperlyConfigured, match="Valid options are: .*account_key"):
        AzureStorage(bucket_name="x")


def test_subclass_for_a_public_container(settings, azurite) -> None:
    settings.AZURE_CONTAINER = CONTAINER

    class PublicAzureStorage(AzureStorage):
        connection_string = azurite.connection_string()
        azure_container = PUBLIC
        expiration_secs = None

    s = PublicAzureStorage()
    assert s.azure_container == PUBLIC
    name = s.save(f"pub/{uuid.uuid4().hex}.txt", ContentFile(b"public"))
    url = s.url(name)
    assert "?" not in url
    assert fetch(url) == (200, b"public")
    s.delete(name)


def test_api_version_is_deprecated_and_used(settings, azurite) -> None:
    settings.AZURE_API_VERSION = "2021-08-06"
    with pytest.warns(DeprecationWarning, match="AZURE_CLIENT_OPTIONS"):
        s = storage(azurite)
    assert s.service_client.api_version == "2021-08-06"
    name = s.save("versioned.txt", ContentFile(b"v"))
    assert s.open(name).read() == b"v"


def test_client_options_reach_the_sdk(azurite) -> None:
    s = storage(azurite, client_options={"api_version": "2021-08-06", "max_block_size": 1 * MB})
    assert s.service_client.api_version == "2021-08-06"
    assert s.upload_part_size == 1 * MB


def test_emulated_mode_connects_to_the_development_account(settings, azurite, monkeypatch) -> None:
    # The emulator's default port (10000) is not ours to take: point the constant at our Azurite.
    monkeypatch.setattr("storages.backends.azure_storage.EMULATOR_BLOB_ENDPOINT", azurite.endpoint)
    settings.AZURE_EMULATED_MODE = True
    settings.AZURE_CONTAINER = CONTAINER
    with pytest.warns(DeprecationWarning, match="AZURE_EMULATED_MODE.*AZURE_CONNECTION_STRING"):
        s = AzureStorage(location=uuid.uuid4().hex)
    assert s.account_name == ACCOUNT_NAME
    name = s.save("emulated.txt", ContentFile(b"emu"))
    assert s.open(name).read() == b"emu"
    assert fetch(s.url(name, expire=60)) == (200, b"emu")


def test_use_development_storage_shortcut() -> None:
    s = AzureStorage(connection_string="UseDevelopmentStorage=true", azure_container=CONTAINER)
    assert (s.account_name, s.account_key) == (ACCOUNT_NAME, ACCOUNT_KEY)
    assert s.service_client.url.startswith("http://127.0.0.1:10000/devstoreaccount1")


def test_custom_connection_string_legacy(settings, azurite) -> None:
    settings.AZURE_CUSTOM_CONNECTION_STRING = azurite.connection_string()
    settings.AZURE_CONTAINER = CONTAINER
    with pytest.warns(DeprecationWarning, match="AZURE_CUSTOM_CONNECTION_STRING"):
        s = AzureStorage(location=uuid.uuid4().hex)
    assert s.exists("") and s.listdir("") == ([], [])


@pytest.fixture
def blob_hosts(monkeypatch):
    """Resolve <account>.blob.localhost to 127.0.0.1 (Azurite reads the account from the host)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def test_account_name_and_key_with_endpoint_suffix(azurite, blob_hosts) -> None:
    s = AzureStorage(
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        azure_container=CONTAINER,
        azure_ssl=False,
        endpoint_suffix=f"localhost:{azurite.port}",
        location=uuid.uuid4().hex,
        expiration_secs=60,
    )
    assert s.service_client.url.startswith(f"http://{ACCOUNT_NAME}.blob.localhost:{azurite.port}")
    name = s.save("keyed.txt", ContentFile(b"keyed"))
    assert s.open(name).read() == b"keyed"
    assert fetch(s.url(name)) == (200, b"keyed")


def test_sas_token_credential(azurite, blob_hosts) -> None:
    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas

    token = generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        ResourceTypes(object=True, container=True),
        AccountSasPermissions(read=True, write=True, delete=True, list=True, create=True),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
    )
    s = AzureStorage(
        account_name=ACCOUNT_NAME,
        sas_token=token,
        azure_container=CONTAINER,
        azure_ssl=False,
        endpoint_suffix=f"localhost:{azurite.port}",
        location=uuid.uuid4().hex,
    )
    name = s.save("sas.txt", ContentFile(b"sas"))
    assert s.open(name).read() == b"sas" and s.listdir("") == ([], ["sas.txt"])
    # the token is a credential, never part of a link
    assert "sig=" not in s.url(name)
    with pytest.raises(ImproperlyConfigured, match="AZURE_URL_EXPIRATION_SECS"):
        s.url(name, expire=60)
    # a read-only token can't write: a clear PermissionError naming the setting
    read_only = generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        ResourceTypes(object=True),
        AccountSasPermissions(read=True),
        expiry=dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1),
    )
    ro = AzureStorage(
        account_name=ACCOUNT_NAME,
        sas_token=read_only,
        azure_container=CONTAINER,
        azure_ssl=False,
        endpoint_suffix=f"localhost:{azurite.port}",
        location=s.location,
        overwrite_files=True,
    )
    assert ro.open(name).read() == b"sas"
    with pytest.raises(PermissionError, match="AZURE_SAS_TOKEN") as info:
        ro.save("nope.txt", ContentFile(b"x"))
    assert read_only not in str(info.value)


def test_missing_configuration_is_explained() -> None:
    with pytest.raises(ImproperlyConfigured, match="AZURE_ACCOUNT_NAME.*AZURE_CONNECTION_STRING"):
        AzureStorage(azure_container="x").exists("a")
    with pytest.raises(ImproperlyConfigured, match="AZURE_CONTAINER"):
        AzureStorage(account_name="acct").exists("a")
    with pytest.raises(ImproperlyConfigured, match="malformed") as info:
        AzureStorage(connection_string="AccountKey")
    assert "AccountKey" not in str(info.value).split("malformed")[1]
    with pytest.raises(ImproperlyConfigured, match="AZURE_OBJECT_PARAMETERS.*'colour'.*valid keys"):
        AzureStorage(object_parameters={"colour": "blue"})


# -- names --------------------------------------------------------------------------------------
def test_name_rules(azurite) -> None:
    s = storage(azurite)
    for bad, rule in [
        ("ends-with-dot.", "end with '.'"),
        ("dir/", "names a directory"),
        ("a/" * 254 + "x", "254 path segments"),
        ("x" * 1025, "1024 characters"),
    ]:
        with pytest.raises(SuspiciousFileOperation, match=rule):
            s.open(bad)
        with pytest.raises(SuspiciousFileOperation, match=rule):
            s.size(bad)
        with pytest.raises(SuspiciousFileOperation, match=rule):
            with s.open(bad, "wb") as f:
                f.write(b"x")
        assert s.exists(bad) is False
    with pytest.raises(SuspiciousFileOperation, match="end with '.'"):
        _get_valid_path("x.")
    assert _get_valid_path("./a//b.txt") == "a/b.txt"
    # listing a directory with a trailing slash is fine
    s.save("dir/x.txt", ContentFile(b"x"))
    assert s.listdir("dir/") == ([], ["x.txt"])


def test_name_max_len_counts_the_location(azurite) -> None:
    assert AzureStorage(azure_container="c").get_name_max_len() == 1024
    s = storage(azurite, location="deep/er")
    assert s.get_name_max_len() == 1024 - len("deep/er/")
    long_name = "n" * 1100 + ".txt"
    saved = s.save(long_name, ContentFile(b"long"))
    assert len(saved) == s.get_name_max_len() and saved.endswith(".txt")
    assert s.open(saved).read() == b"long"
    with pytest.raises(SuspiciousFileOperation, match="1024"):
        s.size(saved + "x")


# -- overwrite policy and uploads ----------------------------------------------------------------
def test_create_only_refuses_a_taken_name_for_block_uploads(azurite) -> None:
    s = storage(azurite)
    s.save("taken.bin", ContentFile(b"first"))
    writer = s._writer_for("taken.bin", create_only=True)
    source = PatternFile(9 * MB)
    for chunk in iter(lambda: source.read(MB), b""):
        writer.write(chunk)
    with pytest.raises(FileExistsError, match="taken.bin"):
        writer.close()
    assert s.open("taken.bin").read() == b"first"


def test_large_saves_race_without_overwrite(azurite) -> None:
    """32 threads save one name with block uploads (above the single-put size): 32 names, 32
    contents."""
    s = storage(azurite, upload_max_conn=2, max_block_size=MB, max_single_put_size=MB)
    threads, size = 32, 2 * MB + 5
    barrier = threading.Barrier(threads)

    def save(i: int) -> str:
        barrier.wait()
        return s.save("race/big.bin", File(PatternFile(size, seed=i), name="big.bin"))

    with ThreadPoolExecutor(threads) as pool:
        names = list(pool.map(save, range(threads)))
    assert len(set(names)) == threads
    digests = {sha256_of(s.open(n).chunks(MB)) for n in names}
    assert digests == {PatternFile(size, seed=i).digest() for i in range(threads)}


def test_overwrite_on_replaces_a_large_blob(azurite) -> None:
    s = storage(azurite, overwrite_files=True)
    s.save("over.bin", File(PatternFile(9 * MB, seed=1), name="over.bin"))
    assert s.save("over.bin", File(PatternFile(5 * MB, seed=2), name="over.bin")) == "over.bin"
    assert sha256_of(s.open("over.bin").chunks(MB)) == PatternFile(5 * MB, seed=2).digest()


def test_open_wb_streams_blocks(azurite) -> None:
    s = storage(azurite)
    source = PatternFile(13 * MB, seed=3)
    with peak_memory() as peak:
        with s.open("blocks.bin", "wb") as f:
            for chunk in iter(lambda: source.read(MB + 7), b""):
                f.write(chunk)
    blob = s.container_client.get_blob_client(s._key("blocks.bin"))
    committed, _ = blob.get_block_list("committed")
    assert len(committed) == 4 and {b.size for b in committed[:3]} == {4 * MB}
    assert sha256_of(s.open("blocks.bin").chunks(MB)) == source.digest()
    assert peak["peak"] < 25 * MB
    assert isinstance(s.open("blocks.bin"), AzureStorageFile)


def test_single_put_threshold_follows_max_memory_size(azurite) -> None:
    s = storage(azurite, max_memory_size=10 * MB)
    s.save("one-put.bin", File(PatternFile(7 * MB), name="x"))
    blob = s.container_client.get_blob_client(s._key("one-put.bin"))
    assert (
        blob.get_block_list("committed")[0] == [] or len(blob.get_block_list("committed")[0]) == 1
    )
    small = storage(azurite)
    small.save("blocks.bin", File(PatternFile(7 * MB), name="x"))
    blob = small.container_client.get_blob_client(small._key("blocks.bin"))
    assert len(blob.get_block_list("committed")[0]) == 2


def test_object_parameters_and_cache_control(azurite) -> None:
    class PerFile(AzureStorage):
        def get_object_parameters(self, name):
            params = super().get_object_parameters(name)
            if name.endswith(".pdf"):
                params["content_disposition"] = "attachment"
            return params

    s = PerFile(
        **options(
            azurite,
            cache_control="max-age=600",
            object_parameters={"content_language": "fr", "metadata": {"team": "docs"}},
        )
    )
    s.save("doc.pdf", ContentFile(b"%PDF"))
    s.save("page.html", ContentFile(b"<p>"))
    pdf = s.container_client.get_blob_client(s._key("doc.pdf")).get_blob_properties()
    html = s.container_client.get_blob_client(s._key("page.html")).get_blob_properties()
    assert pdf.content_settings.content_type == "application/pdf"
    assert pdf.content_settings.content_disposition == "attachment"
    assert pdf.content_settings.cache_control == "max-age=600"
    assert pdf.content_settings.content_language == "fr" and pdf.metadata == {"team": "docs"}
    assert (
        html.content_settings.content_type == "text/html"
        and html.content_settings.content_disposition is None
    )
    # object_parameters win over AZURE_CACHE_CONTROL, also for block uploads
    s2 = storage(
        azurite,
        cache_control="max-age=1",
        object_parameters={"cache_control": "no-store", "content_type": "application/x-thing"},
    )
    s2.save("big.bin", File(PatternFile(5 * MB), name="big.bin"))
    props = s2.container_client.get_blob_client(s2._key("big.bin")).get_blob_properties()
    assert props.content_settings.cache_control == "no-store"
    assert props.content_settings.content_type == "application/x-thing"


def test_gzip_encoded_blobs_are_read_raw(azurite) -> None:
    import gzip

    s = storage(azurite, object_parameters={"content_encoding": "gzip"})
    packed = gzip.compress(b"hello " * 1000)
    name = s.save("packed.txt", ContentFile(packed))
    assert s.open(name).read() == packed
    assert s.size(name) == len(packed)


# -- reads ----------------------------------------------------------------------------------
def test_reads_are_ranged_and_lazy(azurite) -> None:
    s = storage(azurite)
    source = PatternFile(20 * MB, seed=5)
    s.save("ranged.bin", File(source, name="ranged.bin"))
    source.seek(0)
    expected = source.read()
    with peak_memory() as peak:
        f = s.open("ranged.bin", "rb")
        assert f.read(10) == expected[:10]
        f.seek(15 * MB + 3)
        assert f.read(100) == expected[15 * MB + 3 : 15 * MB + 103]
        f.seek(0, os.SEEK_END)
        assert f.read() == b""
        assert f.size == 20 * MB
        f.close()
    assert peak["peak"] < 15 * MB
    empty = s.save("empty.bin", ContentFile(b""))
    with s.open(empty) as f:
        assert f.read() == b"" and f.size == 0


def test_missing_blob_errors(azurite) -> None:
    s = storage(azurite)
    with pytest.raises(FileNotFoundError, match="AzureStorage"):
        s.open("nope.txt")
    with pytest.raises(FileNotFoundError):
        s.size("nope.txt")
    with pytest.raises(FileNotFoundError):
        s.get_modified_time("nope.txt")
    with pytest.raises(FileNotFoundError):
        s.get_created_time("nope.txt")
    assert s.exists("nope.txt") is False


def test_times(azurite, settings) -> None:
    settings.USE_TZ = True
    s = storage(azurite)
    name = s.save("t.txt", ContentFile(b"t"))
    created, modified = s.get_created_time(name), s.get_modified_time(name)
    assert created.tzinfo is not None and abs((modified - created).total_seconds()) < 5
    with pytest.raises(NotImplementedError, match="AzureStorage"):
        s.get_accessed_time(name)


# -- URLs ------------------------------------------------------------------------------------
def _tamper(url: str) -> str:
    head, sig = url.split("sig=", 1)
    value = sig.split("&", 1)
    flipped = ("B" if value[0][0] != "B" else "C") + value[0][1:]
    return head + "sig=" + flipped + ("&" + value[1] if len(value) > 1 else "")


def test_sas_urls_are_checked_by_azurite(azurite) -> None:
    s = storage(azurite)
    name = s.save("signed.txt", ContentFile(b"signed"))
    url = s.url(name)
    query = parse_qs(urlsplit(url).query)
    assert query["sp"] == ["r"] and "se" in query
    assert fetch(url) == (200, b"signed")
    assert fetch(_tamper(url))[0] == 403
    assert fetch(url.split("?")[0])[0] != 200  # private container: no SAS, no content
    short = s.url(name, expire=1)
    assert fetch(short)[0] == 200
    time.sleep(2.5)
    assert fetch(short)[0] == 403


def test_sas_parameters_override_response_headers(azurite) -> None:
    import urllib.request

    s = storage(azurite)
    name = s.save("report.csv", ContentFile(b"a,b"))
    url = s.url(
        name,
        parameters={
            "content_disposition": 'attachment; filename="r.csv"',
            "content_type": "application/octet-stream",
        },
    )
    with urllib.request.urlopen(url, timeout=30) as resp:  # noqa: S310
        assert resp.headers["Content-Disposition"] == 'attachment; filename="r.csv"'
        assert resp.headers["Content-Type"] == "application/octet-stream"


def test_upload_url(azurite) -> None:
    import urllib.request

    s = storage(azurite)
    url = s.url("uploads/direct.txt", mode="w", expire=300)
    assert parse_qs(urlsplit(url).query)["sp"] == ["w"]
    req = urllib.request.Request(
        url,
        data=b"from the browser",
        method="PUT",
        headers={"x-ms-blob-type": "BlockBlob", "Content-Type": "text/plain"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        assert resp.status == 201
    assert s.open("uploads/direct.txt").read() == b"from the browser"
    # a read URL can't upload
    read_url = s.url("uploads/other.txt")
    denied = urllib.request.Request(
        read_url, data=b"x", method="PUT", headers={"x-ms-blob-type": "BlockBlob"}
    )
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(denied, timeout=30)  # noqa: S310
    assert info.value.code == 403
    assert not s.exists("uploads/other.txt")
    with pytest.raises(ValueError, match="expiry"):
        storage(azurite, expiration_secs=None).url("x.txt", mode="w")


def test_plain_urls_for_a_public_container(azurite) -> None:
    s = storage(azurite, azure_container=PUBLIC, expiration_secs=None)
    name = s.save("plain name+1.txt", ContentFile(b"plain"))
    url = s.url(name)
    assert "?" not in url and url.startswith(f"{azurite.endpoint}/{PUBLIC}/")
    assert fetch(url) == (200, b"plain")
    assert storage(azurite, expiration_secs=0).url("x.txt").endswith("/x.txt")


def test_custom_domain_swaps_the_host(azurite) -> None:
    s = storage(azurite, custom_domain="cdn.example.com")
    url = s.url("a b.txt")
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == ("https", "cdn.example.com")
    assert parts.path == f"/{ACCOUNT_NAME}/{CONTAINER}/{s.location}/a%20b.txt"
    # with the host pointed back at Azurite the signed link still works
    s2 = storage(azurite, custom_domain=f"127.0.0.1:{azurite.port}", azure_ssl=False)
    name = s2.save("via-cdn.txt", ContentFile(b"cdn"))
    assert fetch(s2.url(name)) == (200, b"cdn")


def test_url_needs_no_request(azurite) -> None:
    s = storage(azurite)
    s.service_client  # noqa: B018 - build the client first
    azurite_port = azurite.port
    broken = storage(
        azurite,
        connection_string=azurite.connection_string().replace(str(azurite_port), str(free_port())),
    )
    start = time.monotonic()
    for i in range(200):
        broken.url(f"f{i}.txt")
    assert time.monotonic() - start < 2


# -- token credential and user-delegation SAS (Azurite over HTTPS with --oauth basic) -------------
def oauth_storage(server: AzuriteServer, credential=None, **extra) -> AzureStorage:
    return AzureStorage(
        connection_string=server.connection_string(account_key=None),
        token_credential=credential or FakeTokenCredential(),
        azure_container=CONTAINER,
        location=uuid.uuid4().hex,
        expiration_secs=600,
        client_options={"connection_verify": server.ca_file},
        **extra,
    )


def test_token_credential_and_user_delegation_sas(azurite_oauth) -> None:
    credential = FakeTokenCredential()
    s = oauth_storage(azurite_oauth, credential)
    assert s.account_key is None
    name = s.save("delegated.txt", ContentFile(b"delegated"))
    assert s.open(name).read() == b"delegated" and credential.calls >= 1
    url = s.url(name)
    query = parse_qs(urlsplit(url).query)
    assert "skoid" in query and "sig" in query  # signed with a user-delegation key
    context = ssl.create_default_context(cafile=azurite_oauth.ca_file)
    assert fetch(url, context=context) == (200, b"delegated")
    assert fetch(_tamper(url), context=context)[0] == 403
    # the key is fetched once and reused
    key = s._delegation[0]
    s.url(name, expire=60)
    assert s._delegation[0] is key
    with pytest.raises(ValueError, match="7 days"):
        s.url(name, expire=8 * 24 * 3600)
    # upload URL signed with the delegation key
    import urllib.request

    put = urllib.request.Request(
        s.url("up.txt", mode="w"), data=b"up", method="PUT", headers={"x-ms-blob-type": "BlockBlob"}
    )
    with urllib.request.urlopen(put, timeout=30, context=context) as resp:  # noqa: S310
        assert resp.status == 201
    assert s.open("up.txt").read() == b"up"


def test_token_credential_failure_is_clear(azurite_oauth) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class NoToken:
        def get_token(self, *scopes, **kwargs):
            raise ClientAuthenticationError("no managed identity here")

    s = oauth_storage(azurite_oauth, NoToken())
    # The SDK retries credential errors too.
    s.client_options = {**s.client_options, "retry_total": 0}
    with pytest.raises(PermissionError, match="AZURE_TOKEN_CREDENTIAL.*no managed identity"):
        s.exists("x.txt")


def test_https_needs_the_right_ca(azurite_oauth) -> None:
    s = oauth_storage(azurite_oauth)
    s.client_options = {}
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="AzureStorage could not reach https://127.0.0.1"):
        s.exists("x.txt")
    assert time.monotonic() - start < 20


# -- errors ----------------------------------------------------------------------------------
def test_error_messages_name_the_setting(azurite) -> None:
    bad = storage(azurite, connection_string=azurite.connection_string(WRONG_KEY))
    with pytest.raises(PermissionError, match="AZURE_CONNECTION_STRING") as info:
        bad.size("x.txt")
    assert WRONG_KEY not in str(info.value) and WRONG_KEY not in repr(info.value.__cause__)
    missing = storage(azurite, azure_container="no-such-container")
    with pytest.raises(
        ImproperlyConfigured, match="'no-such-container' does not exist.*AZURE_CONTAINER"
    ):
        missing.open("x.txt")
    assert missing.exists("") is False
    not_base64 = storage(azurite, connection_string=azurite.connection_string("not base64!"))
    with pytest.raises(ImproperlyConfigured, match="base64"):
        not_base64.size("x.txt")


def test_unreachable_fails_fast(azurite) -> None:
    port = free_port()
    s = storage(
        azurite, connection_string=azurite.connection_string().replace(str(azurite.port), str(port))
    )
    start = time.monotonic()
    with pytest.raises(
        StorageUnavailable, match=f"127.0.0.1:{port}.*AZURE_CONNECTION_STRING"
    ) as info:
        s.open("x.txt")
    assert time.monotonic() - start < 10
    assert ACCOUNT_KEY not in str(info.value)


def test_silent_server_times_out(azurite) -> None:
    """A server that accepts connections and never answers: read timeouts, one retry, then a clear
    error."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    try:
        s = storage(
            azurite,
            connection_string=azurite.connection_string().replace(str(azurite.port), str(port)),
            client_options={"read_timeout": 1},
        )
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match=f"127.0.0.1:{port}"):
            s.size("x.txt")
        assert time.monotonic() - start < 10
    finally:
        listener.close()


def test_insecure_http_is_logged(caplog) -> None:
    with caplog.at_level("WARNING", logger="storages.backends.azure_storage"):
        AzureStorage(account_name="acct", azure_container="c", azure_ssl=False)
    assert "AZURE_SSL is False" in caplog.text


def test_missing_sdk_names_the_extra():
    out = import_without("azure.storage.blob", "storages.backends.azure_storage")
    assert out.startswith("True") and "django-storages[azure]" in out, out


def test_no_pool_warnings_under_threads(azurite, caplog) -> None:
    """32 threads on one storage: the connection pool is big enough, every file intact."""
    s = storage(azurite)
    with caplog.at_level("WARNING"):
        with ThreadPoolExecutor(32) as pool:
            names = list(
                pool.map(lambda i: s.save(f"t/{i}.txt", ContentFile(str(i).encode())), range(64))
            )
    assert "pool is full" not in caplog.text
    assert sorted(int(s.open(n).read()) for n in names) == list(range(64))


# -- transfer layer: the SDK's upload_blob, scan, batch delete, server-side copy (issue 9) ---------
def via(server: AzuriteServer, port: int) -> str:
    """``server``'s connection string with its blob endpoint moved to ``port`` (a proxy, or
    nothing)."""
    return server.connection_string().replace(f":{server.port}/", f":{port}/")


@pytest.fixture
def requests_made():
    """Count HTTP requests the SDK sends (http.client is under requests/urllib3)."""
    import http.client

    counts = {"requests": 0}
    original = http.client.HTTPConnection.putrequest

    def counting(self, *args, **kwargs):
        counts["requests"] += 1
        return original(self, *args, **kwargs)

    http.client.HTTPConnection.putrequest = counting
    try:
        yield counts
    finally:
        http.client.HTTPConnection.putrequest = original


def test_stream_of_unknown_size_is_cut_into_full_blocks(azurite) -> None:
    from storages.transfer import ChunkReader

    s = storage(azurite, max_block_size=2 * MB)
    source = PatternFile(9 * MB + 5, seed=8)
    # a one-shot stream whose reads come back short (as from a pipe)
    stream = ChunkReader(iter(lambda: source.read(MB + 7), b""))
    name = s.save("stream.bin", File(stream, name="stream.bin"))
    committed, _ = s.client.get_blob_client(s._key(name)).get_block_list("committed")
    assert [b.size for b in committed] == [2 * MB] * 4 + [MB + 5]
    assert sha256_of(s.open(name).chunks(MB)) == PatternFile(9 * MB + 5, seed=8).digest()


def test_write_buffer_wins_over_the_block_settings(azurite) -> None:
    """AZURE_WRITE_BUFFER sets the block size and the blocks sent at once over
    AZURE_MAX_BLOCK_SIZE / AZURE_UPLOAD_MAX_CONN and their AZURE_CLIENT_OPTIONS keys, and caps
    one-request uploads at a block; unset, those settings decide as in 1.14."""
    from storages.transfer import WriteBuffer

    block_options = {"max_block_size": 2 * MB, "client_options": {"max_block_size": 3 * MB}}
    plain = storage(azurite, **block_options)
    s = storage(azurite, **block_options, write_buffer={"part_size": MB, "concurrency": 2})
    assert s.effective_write_buffer == WriteBuffer(part_size=MB, concurrency=2)
    assert plain.effective_write_buffer == WriteBuffer(part_size=3 * MB, concurrency=4)
    for st, size in ((plain, 3 * MB), (s, MB)):
        source = PatternFile(5 * MB + 5, seed=4)
        name = st.save("blocks.bin", File(source, name="blocks.bin"))
        committed, _ = st.client.get_blob_client(st._key(name)).get_block_list("committed")
        assert [b.size for b in committed] == [size] * (5 * MB // size) + [
            5 * MB + 5 - 5 * MB // size * size
        ]
        with st.open("written.bin", "wb") as f:
            f.write(PatternFile(5 * MB + 5, seed=4).read())
        blob = st.client.get_blob_client(st._key("written.bin"))
        assert {b.size for b in blob.get_block_list("committed")[0][:-1]} == {size}


def test_small_save_is_one_request(azurite, requests_made) -> None:
    s = storage(azurite, overwrite_files=True)
    s.service_client  # noqa: B018
    s.save("one.txt", ContentFile(b"x" * 1000))
    assert requests_made["requests"] == 1
    requests_made["requests"] = 0
    with s.open("one.txt", "rb") as f:
        assert f.read() == b"x" * 1000
    assert requests_made["requests"] == 1


def test_scan_and_list_all(azurite) -> None:
    import hashlib

    s = storage(azurite)
    names = ["a.txt", "sub/b.txt", "sub/deeper/c.txt", "other/d.txt"]
    for n in names:
        s.save(n, ContentFile(n.encode()))
    found = dict(s.scan(""))
    assert sorted(found) == sorted(names)
    assert found["sub/b.txt"].size == len(b"sub/b.txt")
    assert found["sub/b.txt"].hashes == {"md5": hashlib.md5(b"sub/b.txt").hexdigest()}  # noqa: S324
    assert s._stat(s._key("a.txt")).hashes == {"md5": hashlib.md5(b"a.txt").hexdigest()}  # noqa: S324
    assert sorted(n for n, _ in s.scan("sub")) == ["sub/b.txt", "sub/deeper/c.txt"]
    # 1.14's list_all: every name below path, recursively, relative to location
    assert sorted(s.list_all()) == sorted(names)
    assert sorted(s.list_all("sub")) == ["sub/b.txt", "sub/deeper/c.txt"]
    assert s.list_all("nothing-here") == []


def test_delete_many_is_batched(azurite, requests_made) -> None:
    s = storage(azurite)
    names = [f"many/{i}.txt" for i in range(300)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda n: s.save(n, ContentFile(b"")), names))
    requests_made["requests"] = 0
    s.delete_many([*names, "many/missing.txt"])
    assert requests_made["requests"] == 2  # Blob Batch: at most 256 deletes per request
    assert s.listdir("many") == ([], [])


def test_server_side_copy_on_the_same_account(azurite, azurite_oauth, requests_made) -> None:
    from storages.files import UploadSpec

    src, dst = storage(azurite), storage(azurite)
    name = src.save("orig.bin", File(PatternFile(5 * MB, seed=4), name="orig.bin"))
    spec = UploadSpec(
        "copy.bin", dst._key("copy.bin"), "application/octet-stream", create_only=True
    )
    requests_made["requests"] = 0
    assert dst._copy_from(src, src._key(name), spec) is True
    assert requests_made["requests"] <= 3  # Copy Blob (+ a status check): no bytes through us
    assert sha256_of(dst.open("copy.bin").chunks(MB)) == PatternFile(5 * MB, seed=4).digest()
    with pytest.raises(FileExistsError, match="copy.bin"):
        dst._copy_from(src, src._key(name), spec)
    # with a token credential the source signs a user-delegation SAS for the copy
    osrc, odst = oauth_storage(azurite_oauth), oauth_storage(azurite_oauth)
    oname = osrc.save("o.txt", ContentFile(b"oauth copy"))
    ospec = UploadSpec("o2.txt", odst._key("o2.txt"), "text/plain", create_only=True)
    assert odst._copy_from(osrc, osrc._key(oname), ospec) is True
    assert odst.open("o2.txt").read() == b"oauth copy"
    # another account (or another kind of storage): the caller streams it instead
    assert osrc._copy_from(src, src._key(name), spec) is False
    from django.core.files.storage import InMemoryStorage

    assert dst._copy_from(InMemoryStorage(), "x", spec) is False


# -- the 1.14 surface (issue 10) -------------------------------------------------------------------
def test_the_objects_1_14_users_touch(azurite) -> None:
    from azure.storage.blob import BlobServiceClient, ContainerClient

    s = storage(azurite)
    assert isinstance(s.client, ContainerClient) and s.client.container_name == CONTAINER
    assert s.client is s.container_client
    assert (
        isinstance(s.service_client, BlobServiceClient)
        and s.service_client.account_name == ACCOUNT_NAME
    )
    assert storage(azurite).azure_protocol == "https"  # the AZURE_SSL default
    assert (
        AzureStorage(azure_container="c", azure_ssl=False, account_name="a").azure_protocol
        == "http"
    )
    name = s.save("f.txt", ContentFile(b"file"))
    assert [b.name for b in s.client.list_blobs(name_starts_with=s.location)] == [s._key(name)]
    f = AzureStorageFile(name, "rb", s)
    assert f.read() == b"file"
    f.close()
    with AzureStorageFile("g.txt", "wb", s) as g:
        g.write(b"written")
    assert s.open("g.txt").read() == b"written"
    url = s.url(name, expire=60, parameters={"content_type": "text/x-test"}, mode="r")
    assert fetch(url) == (200, b"file")


def test_get_user_delegation_key(azurite_oauth) -> None:
    s = oauth_storage(azurite_oauth)
    expiry = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    key = s.get_user_delegation_key(expiry)
    assert key.signed_oid and key.value
    assert s.get_user_delegation_key(expiry + dt.timedelta(hours=1)) is key  # cached for a week


# -- faults and limits (issue 14) ------------------------------------------------------------------
def test_blob_name_limits_are_refused_before_any_request(azurite) -> None:
    from storages.naming import NameTooLong

    offline = storage(azurite, connection_string=via(azurite, free_port()))
    for bad, limit in [("x" * 1100, "1024 characters"), ("d/" * 260 + "x", "254 path segments")]:
        start = time.monotonic()
        for call in (
            offline.open,
            offline.size,
            offline.delete,
            lambda n: offline.open(n, "wb").write(b"x"),
        ):
            with pytest.raises(NameTooLong, match=limit):
                call(bad)
        assert time.monotonic() - start < 1  # no connection attempted
    # save() of a long file name shortens it, as Django does; a too-deep path is refused at once
    with pytest.raises(NameTooLong, match="254 path segments"):
        offline.save("d/" * 260 + "x", ContentFile(b"x"))
    s = storage(azurite, location="")
    deepest = "d/" * 253 + "x.txt"  # 254 segments: Azure's maximum
    assert s.open(s.save(deepest, ContentFile(b"deep"))).read() == b"deep"
    s.delete(deepest)
    with pytest.raises(NameTooLong, match="254 path segments"):
        s.save("d/" + deepest, ContentFile(b"x"))


def test_blackhole_endpoint_fails_within_a_minute(azurite) -> None:
    """Accepts TCP, never answers: default settings give up in under 60 s, naming the setting."""
    from tests.servers.proxy import TCPProxy

    proxy = TCPProxy("127.0.0.1", azurite.port, mode="blackhole").start()
    try:
        s = storage(azurite, connection_string=via(azurite, proxy.port))
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match="AZURE_CONNECTION_STRING") as info:
            s.exists("x.txt")
        elapsed = time.monotonic() - start
    finally:
        proxy.stop()
    assert 30 < elapsed < 60, elapsed  # 2 attempts x 20 s read timeout + back-off
    assert f"127.0.0.1:{proxy.port}" in str(info.value) and ACCOUNT_KEY not in str(info.value)


def test_slow_steady_download_is_not_cut(azurite) -> None:
    """The read timeout bounds the wait for the next bytes, not a whole transfer."""
    from tests.servers.proxy import TCPProxy

    s = storage(azurite)
    name = s.save("slow.bin", File(PatternFile(3 * MB, seed=2), name="slow.bin"))
    proxy = TCPProxy("127.0.0.1", azurite.port, bandwidth=1 * MB).start()
    try:
        slow = storage(
            azurite,
            connection_string=via(azurite, proxy.port),
            location=s.location,
            read_timeout=1,
            read_ahead=False,
        )
        start = time.monotonic()
        with slow.open(name) as f:
            assert sha256_of(f.chunks(MB)) == PatternFile(3 * MB, seed=2).digest()
        assert time.monotonic() - start > 2  # took longer than the read timeout, and finished
    finally:
        proxy.stop()


@pytest.mark.parametrize("existing", [False, True])
def test_cut_upload_commits_nothing(azurite, existing) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    from tests.servers.proxy import TCPProxy

    s = storage(azurite, overwrite_files=True)
    if existing:
        s.save("cut.bin", ContentFile(b"old content"))
    # the first connection dies after 6 MiB up: block 1 is staged, block 2 is cut; no retries
    proxy = TCPProxy(
        "127.0.0.1", azurite.port, cut_after=6 * MB, cut_direction="up", cut_once=True
    ).start()
    try:
        cut = storage(
            azurite,
            connection_string=via(azurite, proxy.port),
            location=s.location,
            overwrite_files=True,
            upload_max_conn=1,
            client_options={"retry_total": 0},
        )
        with pytest.raises(StorageUnavailable, match="AZURE_CONNECTION_STRING"):
            cut.save("cut.bin", File(PatternFile(12 * MB), name="cut.bin"))
        assert proxy.stats.cuts == 1
    finally:
        proxy.stop()
    blob = s.client.get_blob_client(s._key("cut.bin"))
    if existing:
        # the old content stays; Azure drops the staged block at the blob's next commit (or in 7
        # days)
        assert s.open("cut.bin").read() == b"old content"
        s.save("cut.bin", File(PatternFile(9 * MB, seed=1), name="cut.bin"))
        assert blob.get_block_list("uncommitted")[1] == []
    else:
        assert not s.exists("cut.bin") and s.listdir("") == ([], [])
        with pytest.raises(ResourceNotFoundError):  # no uncommitted blocks were left behind
            blob.get_block_list("all")


def test_sdk_internals_the_reader_relies_on() -> None:
    """_Unsized reaches into azure-storage-blob (pyproject caps it below 13): fail loudly when it
    changes."""
    import inspect

    from azure.storage.blob import _download

    from storages.backends import azure_storage

    assert azure_storage.deserialize_blob_stream is not None
    # the presizing _Unsized works around: list() of a stream whose len() is its byte count
    assert "list(data)" in inspect.getsource(_download.process_content)
    body = azure_storage._Unsized(iter([b"a", b"b"]))
    assert list(body) == [b"a", b"b"] and not hasattr(body, "__len__")


def test_aborted_writer_leaves_no_blocks(azurite) -> None:
    from azure.core.exceptions import ResourceNotFoundError

    s = storage(azurite)
    source = PatternFile(14 * MB, seed=6)
    with pytest.raises(RuntimeError, match="stop"):
        with s.open("aborted.bin", "wb") as f:
            for chunk in iter(lambda: source.read(MB), b""):
                f.write(chunk)
            raise RuntimeError("stop")
    assert not s.exists("aborted.bin")
    with pytest.raises(ResourceNotFoundError):  # the staged blocks were discarded too
        s.client.get_blob_client(s._key("aborted.bin")).get_block_list("all")

"""The conformance suite: what every storage backend must do, against its real server."""

from __future__ import annotations

import datetime as dt
import io
import pickle
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.management import call_command
from django.utils.module_loading import import_string

from storages.testing.helpers import PatternFile, fetch, peak_memory, sha256_of

MB = 1024 * 1024


@dataclass
class Capabilities:
    """What a backend's provider can do; tests assert the matching behaviour either way."""

    #: url() gives a link an HTTP client can fetch (False: url() is base_url + quoted name).
    url_fetchable: bool = True
    #: Times the provider records (missing ones must raise NotImplementedError).
    created_time: bool = False
    accessed_time: bool = False
    modified_time: bool = True
    #: The provider has an atomic create-if-absent (S3 If-None-Match, GCS generation 0...).
    atomic_create: bool = True
    #: The test server honours create-if-absent for large (multipart/resumable) uploads too.
    atomic_create_large: bool = True
    #: Run the 100 MB memory test (every backend must; flag only for documented server limits).
    large_files: bool = True
    #: Bytes used for the memory test.
    large_size: int = 100 * MB


@dataclass
class BackendConfig:
    """How to build the backend under test: its class path and OPTIONS."""

    path: str
    options: dict[str, Any]
    #: Strings that must never appear in deconstruct(), reprs or error messages.
    secrets: list[str] = field(default_factory=list)
    #: Option that moves the storage to another prefix (location / root_path).
    location_option: str = "location"
    #: Options for serving static files (stable, unsigned URLs), used for the manifest test.
    static_options: dict[str, Any] = field(default_factory=dict)

    @property
    def cls(self) -> type:
        return import_string(self.path)

    def make(self, **overrides: Any) -> Any:
        return self.cls(**{**self.options, **overrides})


@dataclass
class BrokenConfigs:
    """Misconfigurations each backend must report clearly (None: cannot be produced here)."""

    bad_credentials: BackendConfig | None
    missing_container: BackendConfig | None
    unreachable: BackendConfig


_MANIFEST_CLASSES: dict[type, type] = {}


def manifest_class(cls: type) -> str:
    """A ManifestFilesMixin variant of ``cls``, importable by dotted path."""
    import storages.testing.suite as here

    if cls not in _MANIFEST_CLASSES:
        name = f"Manifest{cls.__name__}"
        _MANIFEST_CLASSES[cls] = type(
            name, (ManifestFilesMixin, cls), {"__module__": here.__name__}
        )
        setattr(here, name, _MANIFEST_CLASSES[cls])
    return f"{here.__name__}.{_MANIFEST_CLASSES[cls].__name__}"


def use_storages(settings: Any, mapping: dict[str, Any]) -> None:
    """Point STORAGES at ``mapping`` for one test.

    Django 4.2's settings override also sets DEFAULT_FILE_STORAGE from STORAGES,
    which then wins and drops OPTIONS; hand the storage handler the mapping itself.
    """
    settings.STORAGES = mapping
    import django

    if django.VERSION < (5, 1):
        from django.core.files.storage import storages

        storages.__dict__.pop("backends", None)
        storages._backends = dict(mapping)
        storages._storages = {}


BAD_NAMES = ["../x", "a/../../x", "/etc/passwd", "..\\..\\x", "a\\..\\..\\x", "x\x00y", "", "C:/x"]
SPECIAL_NAMES = [
    "with space.txt",
    "ünïcødé/名前.txt",
    "plus+sign.txt",
    "hash#tag.txt",
    "question?mark.txt",
    "per%cent.txt",
    "co:lon.txt",
    "dir/sub dir/a b+c.txt",
]


class StorageConformance:
    """Mixin of tests; a backend's ``Test...`` class supplies the fixtures."""

    capabilities: ClassVar[Capabilities] = Capabilities()

    # -- fixtures built from the backend's storage_config ------------------
    @pytest.fixture
    def storage(self, storage_config: BackendConfig) -> Any:
        return storage_config.make()

    @pytest.fixture
    def make_storage(self, storage_config: BackendConfig):
        return storage_config.make

    @pytest.fixture
    def overwrite_on(self, storage_config: BackendConfig) -> Any:
        cls = storage_config.cls
        return storage_config.make(**{cls.overwrite_option: True}) if cls.overwrite_option else None

    @pytest.fixture
    def overwrite_off(self, storage_config: BackendConfig) -> Any:
        cls = storage_config.cls
        return (
            storage_config.make(**{cls.overwrite_option: False}) if cls.overwrite_option else None
        )

    @pytest.fixture
    def as_default_storage(self, settings, storage_config: BackendConfig) -> None:
        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": dict(storage_config.options),
                },
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        )

    # -- 1. save / open / read -------------------------------------------
    @pytest.mark.parametrize(
        "content,expected",
        [
            (ContentFile(b"bytes content"), b"bytes content"),
            (ContentFile("text content \u00e9"), "text content \u00e9".encode()),
            (File(io.BytesIO(b"file object"), name="ignored.bin"), b"file object"),
            (io.BytesIO(b"unnamed file-like"), b"unnamed file-like"),
            (ContentFile(b""), b""),
        ],
        ids=["bytes", "text", "File", "unnamed", "empty"],
    )
    def test_save_and_read_back(self, storage, content, expected) -> None:
        name = storage.save("docs/item.bin", content)
        assert name.startswith("docs/item")
        with storage.open(name, "rb") as f:
            assert f.read() == expected
        assert storage.size(name) == len(expected)

    def test_text_and_binary_modes(self, storage) -> None:
        name = storage.save("modes.txt", ContentFile("héllo\nwörld\n".encode()))
        with storage.open(name, "r") as f:
            text = f.read()
        with storage.open(name, "rb") as f:
            data = f.read()
        assert text == "héllo\nwörld\n" and isinstance(text, str)
        assert data == "héllo\nwörld\n".encode() and isinstance(data, bytes)

    @pytest.mark.parametrize("mode", ["w", "wb"])
    def test_open_for_writing_keeps_every_write(self, storage, mode) -> None:
        parts = ["first ", "second ", "third"]
        with storage.open(f"written-{mode}.txt", mode) as f:
            for part in parts:
                f.write(part if mode == "w" else part.encode())
        with storage.open(f"written-{mode}.txt", "rb") as f:
            assert f.read() == b"first second third"

    def test_write_error_inside_with_stores_nothing(self, storage) -> None:
        with pytest.raises(RuntimeError), storage.open("aborted.txt", "wb") as f:
            f.write(b"half")
            raise RuntimeError("boom")
        assert not storage.exists("aborted.txt")

    def test_aborted_streaming_write_stores_nothing(self, storage) -> None:
        """Past the single-request threshold open("wb") streams into the SDK on a worker thread;
        an exception inside ``with`` must make the SDK discard what it had sent."""
        storage.save("streamed.bin", ContentFile(b"old"))
        chunk = b"z" * MB
        with pytest.raises(RuntimeError), storage.open("streamed.bin", "wb") as f:
            for _ in range(
                storage._pipe_threshold(storage._upload_spec("streamed.bin")[0]) // MB + 2
            ):
                f.write(chunk)
            raise RuntimeError("boom")
        assert storage.open("streamed.bin").read() == b"old"
        assert storage.listdir("")[1] == ["streamed.bin"]

    def test_missing_file_errors(self, storage) -> None:
        with pytest.raises(FileNotFoundError):
            storage.open("missing.txt")
        with pytest.raises(FileNotFoundError):
            storage.size("missing.txt")
        with pytest.raises(FileNotFoundError):
            storage.get_modified_time("missing.txt")
        if self.capabilities.created_time:
            with pytest.raises(FileNotFoundError):
                storage.get_created_time("missing.txt")

    def test_seek_and_partial_reads(self, storage) -> None:
        payload = bytes(range(256)) * 64
        name = storage.save("seek.bin", ContentFile(payload))
        with storage.open(name, "rb") as f:
            assert f.read(10) == payload[:10]
            f.seek(1000)
            assert f.read(5) == payload[1000:1005]
            f.seek(-6, io.SEEK_END)
            assert f.read() == payload[-6:]
            f.seek(0)
            assert f.read() == payload

    # -- 2. exists / delete / listdir ---------------------------------------
    def test_exists_is_literal(self, overwrite_on, overwrite_off, storage) -> None:
        for s in filter(None, (overwrite_on, overwrite_off)):
            name = s.save(f"literal-{uuid.uuid4().hex}.txt", ContentFile(b"x"))
            assert s.exists(name) is True
            assert s.exists(name + ".nope") is False
        assert storage.exists("") is True

    def test_delete(self, storage) -> None:
        name = storage.save("to-delete.txt", ContentFile(b"x"))
        storage.delete(name)
        assert not storage.exists(name)
        storage.delete(name)  # missing: not an error
        storage.delete("never-existed/at-all.txt")

    def test_listdir(self, storage, make_storage, storage_config) -> None:
        for name in ["a.txt", "b.txt", "sub/c.txt", "sub/deeper/d.txt", "other/e.txt"]:
            storage.save(name, ContentFile(b"x"))
        dirs, files = storage.listdir("")
        assert sorted(dirs) == ["other", "sub"]
        assert sorted(files) == ["a.txt", "b.txt"]
        dirs, files = storage.listdir("sub")
        assert (dirs, files) == (["deeper"], ["c.txt"])
        assert storage.listdir("sub/") == (["deeper"], ["c.txt"])
        assert storage.listdir("sub/deeper") == ([], ["d.txt"])
        # the names round-trip into open()
        with storage.open("sub/" + files[0]) as f:
            assert f.read() == b"x"
        # scoped to the location: a sibling location sees nothing of ours
        loc = storage_config.location_option
        sibling = make_storage(
            **{loc: str(storage_config.options.get(loc, "")).rstrip("/") + "-sibling"}
        )
        sibling.save("only-here.txt", ContentFile(b"y"))
        assert "only-here.txt" not in storage.listdir("")[1]
        assert sibling.listdir("") == ([], ["only-here.txt"])
        assert storage.listdir("no-such-dir") == ([], [])

    def test_listdir_past_1000_entries(self, storage) -> None:
        names = [f"many/{i:05d}.txt" for i in range(1005)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: storage.save(n, ContentFile(b"")), names))
        dirs, files = storage.listdir("many")
        assert dirs == []
        assert len(files) == 1005 and len(set(files)) == 1005
        assert sorted(files) == [n.split("/")[1] for n in names]

    # -- 3. times -------------------------------------------------------------
    def test_modified_time_aware_with_use_tz(self, storage, settings) -> None:
        settings.USE_TZ = True
        name = storage.save("time.txt", ContentFile(b"x"))
        when = storage.get_modified_time(name)
        assert when.tzinfo is not None and when.utcoffset() == dt.timedelta(0)
        assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 300

    def test_modified_time_naive_local_without_tz(self, storage, settings) -> None:
        settings.USE_TZ = False
        settings.TIME_ZONE = "America/Chicago"
        name = storage.save("naive.txt", ContentFile(b"x"))
        when = storage.get_modified_time(name)
        assert when.tzinfo is None
        from zoneinfo import ZoneInfo

        local_now = dt.datetime.now(ZoneInfo("America/Chicago")).replace(tzinfo=None)
        assert abs((local_now - when).total_seconds()) < 300

    def test_created_and_accessed_times(self, storage, settings) -> None:
        settings.USE_TZ = True
        name = storage.save("times.txt", ContentFile(b"x"))
        for kind, supported in (
            ("created", self.capabilities.created_time),
            ("accessed", self.capabilities.accessed_time),
        ):
            method = getattr(storage, f"get_{kind}_time")
            if supported:
                assert abs((dt.datetime.now(dt.timezone.utc) - method(name)).total_seconds()) < 300
            else:
                with pytest.raises(NotImplementedError, match=type(storage).__name__):
                    method(name)

    # -- 4. URLs -----------------------------------------------------------------
    @pytest.mark.parametrize("name", SPECIAL_NAMES)
    def test_url_fetches_content(self, storage, name) -> None:
        saved = storage.save(name, ContentFile(name.encode()))
        url = storage.url(saved)
        assert url
        if self.capabilities.url_fetchable:
            status, body = fetch(url)
            assert status == 200, url
            assert body == name.encode()
        else:
            from urllib.parse import quote

            assert url.endswith(quote(saved))

    # -- 5. overwrite policy ------------------------------------------------------
    def test_overwrite_on_replaces(self, overwrite_on) -> None:
        if overwrite_on is None:
            pytest.fail("every backend must offer an overwrite switch")
        first = overwrite_on.save("same.txt", ContentFile(b"one"))
        second = overwrite_on.save("same.txt", ContentFile(b"two, longer"))
        assert first == second == "same.txt"
        with overwrite_on.open("same.txt") as f:
            assert f.read() == b"two, longer"

    def test_overwrite_off_keeps_both(self, overwrite_off) -> None:
        first = overwrite_off.save("keep.txt", ContentFile(b"one"))
        second = overwrite_off.save("keep.txt", ContentFile(b"two"))
        assert first == "keep.txt" and second != first and second.startswith("keep_")
        assert overwrite_off.open(first).read() == b"one"
        assert overwrite_off.open(second).read() == b"two"

    def test_overwrite_off_race(self, overwrite_off) -> None:
        """32 threads save one name at once: 32 names, each with its own content."""
        threads = 32
        barrier = threading.Barrier(threads)

        def save(i: int) -> str:
            barrier.wait()
            return overwrite_off.save("race/report.txt", ContentFile(f"content {i}".encode()))

        with ThreadPoolExecutor(threads) as pool:
            names = list(pool.map(save, range(threads)))
        assert len(set(names)) == threads, names
        contents = set()
        for name in names:
            with overwrite_off.open(name) as f:
                contents.add(f.read())
        if self.capabilities.atomic_create:
            assert contents == {f"content {i}".encode() for i in range(threads)}
        else:
            # No create-if-absent in the protocol: at least every name is distinct and readable.
            assert len(contents) >= 1

    # -- 6. names ----------------------------------------------------------------
    @pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
    def test_bad_names_refused_before_any_request(self, broken_configs, storage, bad) -> None:
        offline = broken_configs.unreachable.make()
        for target in (offline, storage):
            with pytest.raises(SuspiciousFileOperation):
                target.save(bad, ContentFile(b"x"))
            with pytest.raises(SuspiciousFileOperation):
                target.open(bad)
            if bad:
                with pytest.raises(SuspiciousFileOperation):
                    target.exists(bad)
                with pytest.raises(SuspiciousFileOperation):
                    target.delete(bad)
                with pytest.raises(SuspiciousFileOperation):
                    target.size(bad)
        assert storage.listdir("") == ([], [])

    def test_names_stay_inside_location(self, storage, make_storage, storage_config) -> None:
        with pytest.raises(SuspiciousFileOperation):
            storage.save("inner/../kept.txt", ContentFile(b"k"))  # Django refuses '..' on save
        name = storage.save("kept.txt", ContentFile(b"k"))
        # reads normalise a '..' that stays inside the location
        assert storage.exists("inner/../kept.txt")
        assert storage.open("inner/./../kept.txt").read() == b"k"
        loc = storage_config.location_option
        where = str(storage_config.options.get(loc, ""))
        if "/" in where.strip("/"):
            parent, leaf = where.rstrip("/").rsplit("/", 1)
            outer = make_storage(**{loc: parent})
            assert outer.listdir(leaf) == ([], [name])

    # -- 7. memory --------------------------------------------------------------
    def test_large_file_bounded_memory(self, storage) -> None:
        size = self.capabilities.large_size
        source = PatternFile(size, seed=7)
        expected = source.digest()
        with peak_memory() as saved:
            name = storage.save("big/large.bin", File(source, name="large.bin"))
        with peak_memory() as read, storage.open(name, "rb") as f:
            got = sha256_of(f.chunks(1024 * 1024))
        assert got == expected
        with peak_memory() as written, storage.open("big/written.bin", "wb") as f:
            source.seek(0)
            for chunk in iter(lambda: source.read(3 * MB + 17), b""):
                f.write(chunk)
        with storage.open("big/written.bin", "rb") as f:
            assert sha256_of(f.chunks(MB)) == expected
        assert storage.size(name) == size
        limit = 50 * MB
        assert saved["peak"] < limit, f"save() peaked at {saved['peak'] / MB:.1f} MB"
        assert read["peak"] < limit, f"read peaked at {read['peak'] / MB:.1f} MB"
        assert written["peak"] < limit, f"open('wb') peaked at {written['peak'] / MB:.1f} MB"

    # -- 8. pickling and migrations ------------------------------------------------
    def test_pickle_storage(self, storage, storage_config) -> None:
        name = storage.save("pickled.txt", ContentFile(b"p"))
        clone = pickle.loads(pickle.dumps(storage))
        assert clone.open(name).read() == b"p"
        assert clone.exists(name)

    def test_deconstruct_has_no_secret(self, storage, storage_config) -> None:
        path, args, kwargs = storage.deconstruct()
        assert import_string(path) is type(storage)
        text = repr((path, args, kwargs)) + repr(storage)
        for secret in storage_config.secrets:
            assert secret not in text
        # what a migration records rebuilds the same kind of storage
        assert type(import_string(path)(*args, **kwargs)) is type(storage)

    # -- 9. threads ---------------------------------------------------------------
    def test_threads_share_one_storage(self, storage) -> None:
        def work(i: int) -> bytes:
            name = storage.save(f"threads/{i}.txt", ContentFile(f"thread {i}".encode()))
            assert storage.exists(name)
            with storage.open(name) as f:
                data = f.read()
            storage.delete(name)
            assert not storage.exists(name)
            return data

        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(work, range(16)))
        assert results == [f"thread {i}".encode() for i in range(16)]

    # -- 10. errors ---------------------------------------------------------------
    @pytest.mark.timeout(120)
    @pytest.mark.parametrize("kind", ["bad_credentials", "missing_container", "unreachable"])
    def test_clear_errors(self, broken_configs, storage_config, kind) -> None:
        config = getattr(broken_configs, kind)
        if config is None:
            pytest.fail(f"{kind}: the backend must provide a broken configuration to test")
        broken = config.make()
        start = time.monotonic()
        with pytest.raises(
            (PermissionError, ImproperlyConfigured, ConnectionError, OSError)
        ) as info:
            broken.save("x.txt", ContentFile(b"x"))
        assert time.monotonic() - start < 90
        message = str(info.value)
        assert type(broken).__name__ in message
        assert not isinstance(info.value, FileNotFoundError)
        for secret in config.secrets + storage_config.secrets:
            assert secret not in message
            assert secret not in repr(info.value.__cause__ or "")

    # -- 11. the documented walkthroughs -------------------------------------------------
    def test_storage_walkthrough(self, as_default_storage) -> None:
        from django.core.files.storage import default_storage

        assert default_storage.exists("storage_test") is False
        file = default_storage.open("storage_test", "w")
        file.write("storage contents")
        file.close()
        assert default_storage.exists("storage_test") is True
        file = default_storage.open("storage_test", "r")
        assert file.read() == "storage contents"
        file.close()
        default_storage.delete("storage_test")
        assert default_storage.exists("storage_test") is False

    @pytest.mark.django_db
    @pytest.mark.parametrize("overwrite", [True, False])
    def test_model_walkthrough(self, settings, storage_config, overwrite) -> None:
        from storages.testing.models import Document

        cls = storage_config.cls
        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": {**storage_config.options, cls.overwrite_option: overwrite},
                },
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        )
        obj1 = Document()
        assert repr(obj1.normal) == "<FieldFile: None>"
        with pytest.raises(ValueError, match="has no file associated"):
            obj1.normal.size  # noqa: B018
        obj1.normal.save("django_test.txt", ContentFile("content"))
        assert obj1.normal.size == 7
        assert obj1.normal.read() == b"content"
        obj1.normal.open()
        assert obj1.normal.read(3) == b"con"
        assert obj1.normal.read() == b"tent"
        assert b"-".join(obj1.normal.chunks(chunk_size=2)) == b"co-nt-en-t"
        obj2 = Document()
        obj2.normal.save("django_test.txt", ContentFile("more content"))
        assert obj2.normal.size == 12
        if overwrite:
            assert obj2.normal.name == obj1.normal.name == "django_test.txt"
        else:
            assert obj2.normal.name != obj1.normal.name
            assert obj1.normal.storage.open(obj1.normal.name).read() == b"content"
        cache.set("obj1", obj1)
        cache.set("obj2", obj2)
        restored = cache.get("obj2").normal
        assert "django_test" in repr(restored)
        assert restored.read() == b"more content"
        obj1.normal.delete()
        obj2.normal.delete()
        assert not obj2.normal.storage.exists("django_test.txt")

    @pytest.mark.django_db
    def test_max_length_is_respected(self, settings, storage_config) -> None:
        from storages.testing.models import Document

        cls = storage_config.cls
        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": {**storage_config.options, cls.overwrite_option: False},
                },
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        )
        long_name = "a-rather-long-file-name-here.txt"
        a, b = Document(), Document()
        a.limited.save(long_name, ContentFile(b"1"))
        b.limited.save(long_name, ContentFile(b"2"))
        assert a.limited.name != b.limited.name
        assert len(a.limited.name) <= 40 and len(b.limited.name) <= 40

    # -- 12. collectstatic ----------------------------------------------------------------
    def _static_tree(self, tmp_path: Path) -> Path:
        root = tmp_path / "static_src"
        (root / "css").mkdir(parents=True)
        (root / "img").mkdir()
        (root / "css" / "site.css").write_text("body { background: url('../img/dot.svg'); }\n")
        (root / "img" / "dot.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
        (root / "app.js").write_text("console.log('hi');\n")
        return root

    def _use_static_tree(self, settings, tmp_path: Path) -> Path:
        source = self._static_tree(tmp_path)
        settings.STATICFILES_DIRS = [str(source)]
        # Only this tree: installed apps' own static files (storages ships the direct-upload
        # widget's) don't count.
        settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
        return source

    def test_collectstatic(self, settings, storage_config, tmp_path) -> None:
        source = self._use_static_tree(settings, tmp_path)
        use_storages(
            settings,
            {
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": dict(storage_config.options),
                },
            },
        )
        out = io.StringIO()
        call_command("collectstatic", interactive=False, verbosity=1, stdout=out)
        assert "3 static files copied" in out.getvalue()
        target = storage_config.make()
        for name in ["css/site.css", "img/dot.svg", "app.js"]:
            assert target.open(name).read() == (source / name).read_bytes()
        out = io.StringIO()
        call_command("collectstatic", interactive=False, verbosity=1, stdout=out)
        assert "0 static files copied" in out.getvalue() and "3 unmodified" in out.getvalue()
        out = io.StringIO()
        call_command("collectstatic", interactive=False, clear=True, verbosity=1, stdout=out)
        assert "3 static files copied" in out.getvalue(), out.getvalue()

    def test_collectstatic_manifest(self, settings, storage_config, tmp_path) -> None:
        import json

        self._use_static_tree(settings, tmp_path)
        path = manifest_class(storage_config.cls)
        use_storages(
            settings,
            {
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": {
                    "BACKEND": path,
                    "OPTIONS": {**storage_config.options, **storage_config.static_options},
                },
            },
        )
        call_command("collectstatic", interactive=False, verbosity=0)
        target = storage_config.make()
        manifest = json.loads(target.open("staticfiles.json").read())
        hashed = manifest["paths"]["css/site.css"]
        assert hashed != "css/site.css" and hashed.startswith("css/site.")
        css = target.open(hashed).read().decode()
        assert manifest["paths"]["img/dot.svg"].split("/")[-1] in css, css
        from django.contrib.staticfiles.storage import staticfiles_storage

        assert staticfiles_storage.url("css/site.css").split("?")[0].endswith(hashed.split("/")[-1])

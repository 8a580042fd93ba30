"""Names and overwrite: literal ``exists()``, the overwrite policy, refused names, the
FileField walkthroughs."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile

from storages.testing.config import ConformanceBase, needs, use_storages

#: Names Django's ``Storage.save()`` itself refuses (``validate_file_name``).
REFUSED_ON_SAVE = ["../x", "a/../../x", "/etc/passwd", "", "inner/../kept.txt"]

#: Names this package refuses on every operation (``refuses_unsafe_names``).
BAD_NAMES = ["../x", "a/../../x", "/etc/passwd", "..\\..\\x", "a\\..\\..\\x", "x\x00y", "", "C:/x"]


class NamesConformance(ConformanceBase):
    """The name a file is stored under: what ``save()`` returns, refuses and replaces."""

    def test_exists_is_literal(self, overwrite_on, overwrite_off) -> None:
        for s in filter(None, (overwrite_on, overwrite_off)):
            name = s.save(f"literal-{uuid.uuid4().hex}.txt", ContentFile(b"x"))
            assert s.exists(name) is True
            assert s.exists(name + ".nope") is False

    @needs("overwrite_option")
    def test_overwrite_on_replaces(self, overwrite_on) -> None:
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

    @pytest.mark.parametrize("bad", REFUSED_ON_SAVE, ids=repr)
    def test_unsafe_names_refused_on_save(self, storage, bad) -> None:
        with pytest.raises(SuspiciousFileOperation):
            storage.save(bad, ContentFile(b"x"))
        assert storage.listdir("") == ([], [])

    @needs("refuses_unsafe_names")
    @pytest.mark.parametrize("bad", BAD_NAMES, ids=repr)
    def test_bad_names_refused_before_any_request(self, request, storage, bad) -> None:
        targets = [storage]
        if "unreachable" in self.capabilities.misconfigurations:
            targets.insert(0, request.getfixturevalue("broken_configs").unreachable.make())
        for target in targets:
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

    @needs("joins_names_safely")
    def test_names_stay_inside_location(self, storage, make_storage, storage_config) -> None:
        name = storage.save("kept.txt", ContentFile(b"k"))
        assert storage.exists("") is True  # the location itself, once it holds a file
        # reads resolve a '..' that stays inside the location
        assert storage.exists("inner/../kept.txt")
        assert storage.open("inner/./../kept.txt").read() == b"k"
        with pytest.raises(SuspiciousFileOperation):
            storage.open("../escaped.txt")
        loc = storage_config.location_option
        where = str(storage_config.options.get(loc, ""))
        if self.capabilities.shared_files and "/" in where.strip("/"):
            parent, leaf = where.rstrip("/").rsplit("/", 1)
            outer = make_storage(**{loc: parent})
            assert outer.listdir(leaf) == ([], [name])

    @pytest.mark.django_db
    def test_model_walkthrough(self, settings, storage_config, overwrite) -> None:
        from storages.testing.models import Document

        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": self.default_options(storage_config, overwrite),
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

        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": self.default_options(storage_config, overwrite=False),
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

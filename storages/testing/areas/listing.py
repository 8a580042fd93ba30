"""Listing and times: ``listdir()`` and the times a provider records."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

from django.core.files.base import ContentFile

from storages.testing.config import ConformanceBase, needs


class ListingConformance(ConformanceBase):
    """What ``listdir()`` and ``get_*_time()`` say about stored files."""

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

    @needs("lists_missing_folder_empty")
    def test_listdir_of_a_missing_folder_is_empty(self, storage) -> None:
        storage.save("present/a.txt", ContentFile(b"x"))
        assert storage.listdir("no-such-dir") == ([], [])
        assert storage.listdir("present/no-such-dir") == ([], [])

    def test_listdir_past_1000_entries(self, storage) -> None:
        names = [f"many/{i:05d}.txt" for i in range(1005)]
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: storage.save(n, ContentFile(b"")), names))
        dirs, files = storage.listdir("many")
        assert dirs == []
        assert len(files) == 1005 and len(set(files)) == 1005
        assert sorted(files) == [n.split("/")[1] for n in names]

    @needs("modified_time")
    def test_modified_time_aware_with_use_tz(self, storage, settings) -> None:
        settings.USE_TZ = True
        name = storage.save("time.txt", ContentFile(b"x"))
        when = storage.get_modified_time(name)
        assert when.tzinfo is not None and when.utcoffset() == dt.timedelta(0)
        assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 300

    @needs("modified_time")
    def test_modified_time_naive_local_without_tz(self, storage, settings) -> None:
        settings.USE_TZ = False
        settings.TIME_ZONE = "America/Chicago"
        name = storage.save("naive.txt", ContentFile(b"x"))
        when = storage.get_modified_time(name)
        assert when.tzinfo is None
        from zoneinfo import ZoneInfo

        local_now = dt.datetime.now(ZoneInfo("America/Chicago")).replace(tzinfo=None)
        assert abs((local_now - when).total_seconds()) < 300

    @needs("recorded_times")
    def test_recorded_time(self, storage, settings, recorded_time) -> None:
        settings.USE_TZ = True
        name = storage.save("times.txt", ContentFile(b"x"))
        when = getattr(storage, f"get_{recorded_time}_time")(name)
        assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 300

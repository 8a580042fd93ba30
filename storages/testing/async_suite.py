"""The conformance suite's cases through the async API (:mod:`storages.aio`).

A backend joins with the fixtures of its sync conformance class:

    TestS3Async = async_conformance(TestS3Conformance)

A cancelled upload is checked at the server through the storage's ``_list_leftovers()`` (what
``checkstorages --leftovers-older-than`` lists); a backend whose provider can't list them
overrides the ``unfinished_uploads`` fixture with what its test server can tell:

    class TestGoogleCloudAsync(async_conformance(TestGoogleCloudConformance)):
        @pytest.fixture
        def unfinished_uploads(self, ...):
            return lambda storage: [...]  # resumable sessions still open
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import hashlib
import io
import pickle
import re
import threading
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File

from storages.testing.helpers import PatternFile, fetch, peak_memory
from storages.testing.suite import BAD_NAMES, Capabilities, StorageConformance

__all__ = ["AsyncConformance", "async_conformance", "connections_in_use"]

MB = 1024 * 1024
#: ``older_than`` that lists leftovers of any age (those of a test's upload are seconds old).
_ANY_AGE = dt.datetime(9999, 1, 1, tzinfo=dt.timezone.utc)


def run(coro: Any) -> Any:
    """Run a coroutine on a new event loop, as a sync test (or an ASGI server's thread) would."""
    return asyncio.run(coro)


def _server_ports(storage: Any) -> set[int]:
    """The local ports the storage's settings point at (endpoints, connection strings, hosts)."""
    text = " ".join(repr(getattr(storage, row.name, None)) for row in storage.get_settings())
    found = re.findall(r"(?:127\.0\.0\.1|localhost):(\d+)|'port': (\d+)", text)
    return {int(a or b) for a, b in found}


def connections_in_use(storage: Any) -> int:
    """Connections of this storage held by someone: a pooled session handed out (SFTP/FTP), or
    an HTTP response (urllib3: boto3, requests) from the storage's server that was neither read
    to its end nor closed, so its connection can't be reused. Clean reads and uploads leave none."""
    pool = storage.__dict__.get("_pool")
    if pool is not None and hasattr(pool, "_out"):
        return pool._out
    ports = _server_ports(storage)
    try:
        from urllib3.response import HTTPResponse
    except ImportError:  # pragma: no cover - every HTTP SDK here uses urllib3
        return 0
    gc.collect()  # what nothing refers to any more holds nothing
    return sum(
        1
        for r in gc.get_objects()
        if issubclass(type(r), HTTPResponse)  # not isinstance(): lazy objects evaluate for it
        and getattr(getattr(r, "_pool", None), "port", None) in ports
        and r._fp is not None
        and not r._fp.isclosed()
    )


class _GatedSource(io.RawIOBase):
    """``size`` pattern bytes that signal ``started`` once ``after`` bytes were read, then hold
    the SDK's next read until ``go`` is set: a test cancels an upload while it is under way."""

    def __init__(self, size: int, after: int) -> None:
        super().__init__()
        self.inner = PatternFile(size, seed=3)
        self.size, self.after = size, after
        self.started, self.go = threading.Event(), threading.Event()
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        if self.read_bytes >= self.after:
            self.started.set()
            self.go.wait(60)
        n = self.inner.readinto(memoryview(buffer)[:MB])  # short reads: a precise gate
        self.read_bytes += n
        return n


async def _until(event: threading.Event) -> None:
    while not event.is_set():
        await asyncio.sleep(0.005)


async def cancel_while_held(
    task: asyncio.Task[Any], held: Callable[[], bool], go: threading.Event
) -> None:
    """Cancel ``task`` once ``held()`` says its worker is inside a call the test holds, let the
    call go on (``go``), and check that the task ends cancelled."""
    while not held() and not task.done():
        await asyncio.sleep(0.002)
    task.cancel()
    for _ in range(5):  # the cancellation reaches the task before the held call returns
        await asyncio.sleep(0)
    go.set()
    with pytest.raises(asyncio.CancelledError):
        await task


class AsyncConformance:
    """Mixin of async tests; the class made by :func:`async_conformance` supplies the fixtures."""

    capabilities: ClassVar[Capabilities] = Capabilities()

    storage = StorageConformance.storage
    make_storage = StorageConformance.make_storage
    overwrite_on = StorageConformance.overwrite_on
    overwrite_off = StorageConformance.overwrite_off
    as_default_storage = StorageConformance.as_default_storage

    @pytest.fixture
    def unfinished_uploads(self) -> Callable[[Any], list[Any]]:
        """The unfinished uploads the server holds under the storage's location, of any age:
        by default what ``checkstorages --leftovers-older-than`` lists (the storage's
        ``_list_leftovers()``: S3 multipart uploads, Azure uncommitted blocks, the file servers'
        temporary files). A backend whose provider can't list them overrides this fixture with
        what its test server can tell (or says why there is nothing to tell)."""

        def listing(storage: Any) -> list[Any]:
            found = storage._list_leftovers(_ANY_AGE)
            if found is None:
                pytest.fail(
                    f"{type(storage).__name__} can't list unfinished uploads "
                    f"({storage.leftovers_note}): the test class overrides unfinished_uploads"
                )
            return [item.key for item in found]

        return listing

    # -- 1. save / open / read -------------------------------------------
    @pytest.mark.parametrize(
        "content,expected",
        [
            (lambda: ContentFile(b"bytes content"), b"bytes content"),
            (lambda: ContentFile("text content \u00e9"), "text content \u00e9".encode()),
            (lambda: File(io.BytesIO(b"file object"), name="x.bin"), b"file object"),
            (lambda: io.BytesIO(b"unnamed file-like"), b"unnamed file-like"),
            (lambda: ContentFile(b""), b""),
        ],
        ids=["bytes", "text", "File", "unnamed", "empty"],
    )
    def test_async_save_and_read_back(self, storage, content, expected) -> None:
        async def main() -> None:
            name = await storage.asave("docs/item.bin", content())
            assert name.startswith("docs/item")
            async with storage.aopen(name, "rb") as f:
                assert await f.read() == expected
            assert await storage.asize(name) == len(expected)
            assert storage.open(name).read() == expected  # the sync API sees the same file

        run(main())

    def test_async_text_and_binary_modes(self, storage) -> None:
        async def main() -> None:
            name = await storage.asave("modes.txt", ContentFile("héllo\nwörld\n".encode()))
            async with storage.aopen(name, "r") as f:
                assert await f.readline() == "héllo\n"
                assert await f.read() == "wörld\n"
            async with storage.aopen(name, "rb") as f:
                assert await f.read() == "héllo\nwörld\n".encode()

        run(main())

    @pytest.mark.parametrize("mode", ["w", "wb"])
    def test_async_open_for_writing_keeps_every_write(self, storage, mode) -> None:
        async def main() -> None:
            async with storage.aopen(f"written-{mode}.txt", mode) as f:
                for part in ["first ", "second ", "third"]:
                    await f.write(part if mode == "w" else part.encode())
            async with storage.aopen(f"written-{mode}.txt") as f:
                assert b"".join([chunk async for chunk in f]) == b"first second third"

        run(main())

    def test_async_write_error_inside_async_with_stores_nothing(self, storage) -> None:
        async def main() -> None:
            with pytest.raises(RuntimeError):
                async with storage.aopen("aborted.txt", "wb") as f:
                    await f.write(b"half")
                    raise RuntimeError("boom")
            assert not await storage.aexists("aborted.txt")

        run(main())

    def test_async_missing_file_errors(self, storage) -> None:
        async def main() -> None:
            with pytest.raises(FileNotFoundError):
                await storage.aopen("missing.txt")
            with pytest.raises(FileNotFoundError):
                await storage.asize("missing.txt")
            with pytest.raises(FileNotFoundError):
                await storage.aget_modified_time("missing.txt")

        run(main())

    def test_async_seek_and_partial_reads(self, storage) -> None:
        payload = bytes(range(256)) * 64

        async def main() -> None:
            name = await storage.asave("seek.bin", ContentFile(payload))
            f = await storage.aopen(name, "rb")
            assert await f.read(10) == payload[:10]
            assert await f.seek(1000) == 1000 and f.tell() == 1000
            assert await f.read(5) == payload[1000:1005]
            await f.seek(-6, io.SEEK_END)
            assert await f.read() == payload[-6:]
            chunks = [c async for c in f.chunks(4096)]
            assert [len(c) for c in chunks] == [4096] * 4 and b"".join(chunks) == payload
            await f.close()
            assert f.closed

        run(main())

    # -- 2. exists / delete / listdir / bulk helpers ----------------------------------
    def test_async_exists_delete_listdir(self, storage) -> None:
        async def main() -> None:
            for name in ["a.txt", "sub/c.txt", "sub/deeper/d.txt"]:
                await storage.asave(name, ContentFile(b"x"))
            assert await storage.aexists("a.txt") is True
            assert await storage.aexists("a.txt.nope") is False
            assert await storage.aexists("") is True
            dirs, files = await storage.alistdir("")
            assert (sorted(dirs), files) == (["sub"], ["a.txt"])
            assert await storage.alistdir("sub") == (["deeper"], ["c.txt"])
            await storage.adelete("a.txt")
            await storage.adelete("a.txt")  # missing: not an error
            assert not await storage.aexists("a.txt")

        run(main())

    def test_async_scan_and_delete_many(self, storage) -> None:
        names = [f"bulk/{i}.txt" for i in range(5)] + ["bulk/sub/x.txt"]

        async def main() -> None:
            await asyncio.gather(*(storage.asave(n, ContentFile(n.encode())) for n in names))
            found = {name: info.size async for name, info in storage.ascan("bulk")}
            assert found == {n: len(n.encode()) for n in names}
            await storage.adelete_many(names + ["bulk/never-there.txt"])
            assert [item async for item in storage.ascan("bulk")] == []

        run(main())

    # -- 3. times and URLs -----------------------------------------------------------
    def test_async_times(self, storage, settings) -> None:
        settings.USE_TZ = True

        async def main() -> None:
            name = await storage.asave("times.txt", ContentFile(b"x"))
            when = await storage.aget_modified_time(name)
            assert when.utcoffset() == dt.timedelta(0)
            assert abs((dt.datetime.now(dt.timezone.utc) - when).total_seconds()) < 300
            for kind, supported in (
                ("created", self.capabilities.created_time),
                ("accessed", self.capabilities.accessed_time),
            ):
                method = getattr(storage, f"aget_{kind}_time")
                if supported:
                    assert (await method(name)).utcoffset() == dt.timedelta(0)
                else:
                    with pytest.raises(NotImplementedError, match=type(storage).__name__):
                        await method(name)

        run(main())

    def test_async_url_is_the_sync_url(self, storage) -> None:
        async def main() -> None:
            name = await storage.asave("with space.txt", ContentFile(b"u"))
            url = await storage.aurl(name)
            if self.capabilities.url_fetchable:
                assert fetch(url) == (200, b"u")
            else:
                assert url == storage.url(name)

        run(main())

    # -- 4. overwrite policy ---------------------------------------------------------
    def test_async_overwrite_policy(self, overwrite_on, overwrite_off) -> None:
        async def main() -> None:
            assert await overwrite_on.asave("same.txt", ContentFile(b"one")) == "same.txt"
            assert await overwrite_on.asave("same.txt", ContentFile(b"two")) == "same.txt"
            assert await (await overwrite_on.aopen("same.txt")).read() == b"two"
            assert await overwrite_on.aget_available_name("same.txt") == "same.txt"
            first = await overwrite_off.asave("keep.txt", ContentFile(b"one"))
            other = await overwrite_off.aget_available_name("keep.txt")
            second = await overwrite_off.asave("keep.txt", ContentFile(b"two"))
            assert first == "keep.txt" and other.startswith("keep_") and second.startswith("keep_")
            assert await (await overwrite_off.aopen(first)).read() == b"one"

        run(main())

    def test_async_overwrite_off_race(self, overwrite_off) -> None:
        """32 saves of one name from one event loop at once: 32 names, each with its content."""

        async def main() -> list[str]:
            return await asyncio.gather(
                *(
                    overwrite_off.asave("race/report.txt", ContentFile(f"content {i}".encode()))
                    for i in range(32)
                )
            )

        names = run(main())
        assert len(set(names)) == 32, names
        if self.capabilities.atomic_create:
            contents = {overwrite_off.open(n).read() for n in names}
            assert contents == {f"content {i}".encode() for i in range(32)}

    # -- 5. names and errors -----------------------------------------------------------
    @pytest.mark.parametrize("bad", [b for b in BAD_NAMES if b], ids=repr)
    def test_async_bad_names_refused(self, storage, bad) -> None:
        async def main() -> None:
            for call in (
                lambda: storage.asave(bad, ContentFile(b"x")),
                lambda: storage.aopen(bad),
                lambda: storage.aexists(bad),
                lambda: storage.adelete(bad),
                lambda: storage.asize(bad),
            ):
                with pytest.raises(SuspiciousFileOperation):
                    await call()

        run(main())

    def test_async_errors_are_the_sync_errors(self, broken_configs, storage_config) -> None:
        config = broken_configs.missing_container or broken_configs.bad_credentials
        broken = config.make()
        with pytest.raises(Exception) as sync_error:
            broken.save("x.txt", ContentFile(b"x"))
        with pytest.raises(type(sync_error.value)) as async_error:
            run(broken.asave("x.txt", ContentFile(b"x")))
        assert type(broken).__name__ in str(async_error.value)
        for secret in config.secrets + storage_config.secrets:
            assert secret not in str(async_error.value)

    # -- 6. concurrency ----------------------------------------------------------------
    def test_async_operations_run_concurrently_within_the_limit(self, make_storage) -> None:
        """8 aexists() from one event loop are in flight at once (a barrier of 8 only opens
        if none waits for another), on the storage's own worker threads, never more than
        ``async_limit()`` of them."""
        storage = make_storage(async_concurrency=8)
        assert storage.async_limit() == 8
        barrier = threading.Barrier(8, timeout=30)
        threads: set[str] = set()
        stat = storage.exists

        def exists(name: str) -> bool:
            threads.add(threading.current_thread().name)
            barrier.wait()
            return stat(name)

        storage.exists = exists

        async def main() -> list[bool]:
            return await asyncio.gather(*(storage.aexists(f"c/{i}.txt") for i in range(8)))

        assert run(main()) == [False] * 8
        assert len(threads) == 8 and all(t.startswith("storages-async") for t in threads)
        storage.exists = stat

        async def more() -> None:
            await asyncio.gather(*(storage.aexists("n") for i in range(40)))

        seen: set[str] = set()

        def counted(name: str) -> bool:
            seen.add(threading.current_thread().name)
            return stat(name)

        storage.exists = counted
        run(more())
        storage.exists = stat
        assert 0 < len(seen) <= 8  # 40 calls on the storage's 8 workers, no more threads

    def test_async_from_sync_code_and_sync_to_async(self, storage) -> None:
        """async_to_sync() from a sync thread, and the sync API inside sync_to_async() next to
        the async API, in one event loop."""
        name = async_to_sync(storage.asave)("mixed.txt", ContentFile(b"m"))

        async def main() -> tuple[bool, bytes]:
            sync_exists = await sync_to_async(storage.exists)(name)
            async with storage.aopen(name) as f:
                return sync_exists, await f.read()

        assert run(main()) == (True, b"m")

    def test_async_walkthrough_with_default_storage(self, as_default_storage) -> None:
        """The docs' async view code: ``default_storage`` from settings, awaited."""
        from django.core.files.storage import default_storage

        async def view() -> bytes:
            name = await default_storage.asave("uploads/report.txt", ContentFile(b"report"))
            assert await default_storage.aexists(name)
            async with default_storage.aopen(name) as f:
                data = await f.read()
            await default_storage.adelete(name)
            assert not await default_storage.aexists(name)
            return data

        assert run(view()) == b"report"

    # -- 7. cancellation ---------------------------------------------------------------
    def test_async_cancelled_save_stores_nothing(self, storage, unfinished_uploads) -> None:
        """An asave() cancelled while the SDK is uploading (past the single-request size: in
        parts/blocks/chunks) stores nothing, leaves no unfinished upload at the server and no
        connection in use."""
        size = max(storage.upload_threshold, storage.upload_part_size) * 2 + MB
        content = _GatedSource(size, after=storage.upload_part_size + MB)
        before = connections_in_use(storage)

        async def main() -> None:
            task = asyncio.create_task(
                storage.asave("cancelled/big.bin", File(content, name="big.bin"))
            )
            await _until(content.started)
            task.cancel()
            for _ in range(5):  # let the task see its cancellation before the source goes on
                await asyncio.sleep(0)
            content.go.set()
            with pytest.raises(asyncio.CancelledError):
                await task

        run(main())
        assert content.read_bytes < size  # it was stopped, not finished
        assert not storage.exists("cancelled/big.bin")
        assert storage.listdir("cancelled") == ([], [])
        assert unfinished_uploads(storage) == []
        assert connections_in_use(storage) <= before

    def test_async_cancelled_read_releases_its_connection(self, storage) -> None:
        payload = PatternFile(4 * MB, seed=5).read()
        name = storage.save("cancelled/read.bin", ContentFile(payload))
        before = connections_in_use(storage)

        async def main() -> Any:
            f = await storage.aopen(name)
            entered, go, read = threading.Event(), threading.Event(), f.file.read

            def slow_read(*args: Any) -> Any:
                entered.set()
                go.wait(60)  # the read is under way when the cancellation comes
                return read(*args)

            f.file.read = slow_read
            await cancel_while_held(asyncio.create_task(f.read()), entered.is_set, go)
            return f

        f = run(main())
        assert f.closed
        assert connections_in_use(storage) <= before
        with pytest.raises(ValueError):
            run(f.read())
        assert storage.open(name).read() == payload  # the storage goes on working

    def test_async_open_cancelled_while_opening_releases_its_connection(self, storage) -> None:
        name = storage.save("cancelled/open.bin", ContentFile(b"o" * 1024))
        before = connections_in_use(storage)
        entered, go, opened = threading.Event(), threading.Event(), []
        open_ = storage.open

        def slow_open(*args: Any) -> Any:
            entered.set()
            go.wait(60)  # the opening is under way when the cancellation comes
            opened.append(open_(*args))
            return opened[-1]

        storage.open = slow_open

        async def main() -> None:
            await cancel_while_held(
                asyncio.create_task(storage.aopen(name)._open()), entered.is_set, go
            )

        run(main())
        storage.open = open_
        assert opened and opened[0].closed
        assert connections_in_use(storage) <= before

    # -- 8. memory, pickling -------------------------------------------------------------
    def test_async_large_file_bounded_memory(self, storage) -> None:
        size = min(self.capabilities.large_size, 40 * MB)
        source = PatternFile(size, seed=9)
        expected = source.digest()

        async def save() -> str:
            return await storage.asave("big/async.bin", File(source, name="async.bin"))

        async def read(name: str) -> str:
            digest = hashlib.sha256()
            async with storage.aopen(name) as f:
                async for chunk in f:  # one chunk in memory at a time
                    digest.update(chunk)
            return digest.hexdigest()

        with peak_memory() as saved:
            name = run(save())
        with peak_memory() as readm:
            got = run(read(name))
        assert got == expected
        assert saved["peak"] < 50 * MB, f"asave() peaked at {saved['peak'] / MB:.1f} MB"
        assert readm["peak"] < 50 * MB, f"async read peaked at {readm['peak'] / MB:.1f} MB"

    def test_async_pickled_storage(self, storage) -> None:
        name = run(storage.asave("pickled.txt", ContentFile(b"p")))
        assert "_async_executor" in storage.__dict__
        clone = pickle.loads(pickle.dumps(storage))
        assert "_async_executor" not in clone.__dict__
        assert run(clone.aexists(name)) is True


def async_conformance(conformance: type) -> type:
    """The async suite with the fixtures and capabilities of a backend's conformance class."""
    own = {
        key: value
        for klass in reversed(conformance.__mro__)
        # the backend's own classes: not the shipped suites' areas, helpers and hooks
        if klass is not object and not klass.__module__.startswith("storages.testing")
        for key, value in vars(klass).items()
        if not key.startswith(("test_", "__"))
    }
    name = conformance.__name__.replace("Conformance", "") + "Async"
    return type(name, (AsyncConformance,), {**own, "__module__": conformance.__module__})

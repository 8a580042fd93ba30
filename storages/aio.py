"""The async storage API: ``a``-prefixed coroutines on every storage.

Every coroutine runs the storage's own sync method (``save``, ``open``, ``exists``...) on a
small thread pool owned by the storage, so names, settings, the overwrite policy, error
translation and the transfer layer are the very ones the sync API uses: there is no second
copy of any backend's logic. Operations awaited from one event loop run concurrently, up to
``async_concurrency`` at a time per storage (never more than its connection pool serves at
once); the rest wait their turn in the pool's queue, without a thread each.

The pool is made on the first awaited call (importing :mod:`storages` starts no thread and
makes no event loop), is never pickled, and its idle threads end with the storage.

Cancellation is clean: each operation has its own stop
(:data:`storages.transfer.operation_stop`, the one mechanism that also stops a command's uploads
on Ctrl-C or SIGTERM); a cancelled ``asave()`` sets it, so its upload raises
:class:`~storages.transfer.UploadAborted` at the SDK's next read or part (the SDK then aborts its
multipart, resumable or block upload), waits for the worker to stop, and deletes the file if
the upload had already been committed; a cancelled read closes the file, which releases its
connection. See docs/async.rst.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from storages.conf import Setting
from storages.transfer import operation_stop

if TYPE_CHECKING:
    from storages.base import BaseStorage

logger = logging.getLogger(__name__)

__all__ = ["AsyncStorageMixin", "AsyncFile", "ASYNC_SETTINGS", "arun", "DEFAULT_CONCURRENCY"]

#: Operations of one storage running at once from async code (its worker threads).
DEFAULT_CONCURRENCY = 32
#: Bytes a worker reads per step of ``AsyncFile.read()`` and per chunk of ``async for``:
#: a cancelled read stops within one step.
ASYNC_CHUNK = 1024 * 1024
#: Items of ``ascan()`` fetched per step on a worker thread.
SCAN_BATCH = 1000

ASYNC_SETTINGS = (
    Setting(
        "async_concurrency",
        (),
        DEFAULT_CONCURRENCY,
        doc="Operations of the async API (asave, aopen, aexists...) running at once per storage, "
        "on as many worker threads; capped at the storage's connection pool size.",
    ),
)


class _Aborted(Exception):
    """A worker's step noticed its operation was cancelled."""


def _executor(storage: BaseStorage) -> ThreadPoolExecutor:
    """The storage's worker pool, made on first use (never pickled: see
    ``BaseStorage.__getstate__``)."""
    return storage._lazy(
        "_async_executor",
        lambda: ThreadPoolExecutor(
            max_workers=storage.async_limit(), thread_name_prefix="storages-async"
        ),
    )


async def _finish(fut: asyncio.Future[Any]) -> None:
    """Wait for a worker that can't be stopped at once, through any further cancellation."""
    while not fut.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait([fut])  # neither cancels fut nor raises its error


async def _job(
    storage: BaseStorage,
    fn: Callable[..., Any],
    *args: Any,
    ctx: contextvars.Context | None = None,
    abort: threading.Event | None = None,
    undo: Callable[[Any], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` on one of the storage's workers, in a copy of the caller's context.

    When the awaiting task is cancelled: a job not started yet never runs; a running one gets
    ``abort`` set, is waited for, and ``undo(result)`` reverts what it completed anyway."""
    ctx = ctx if ctx is not None else contextvars.copy_context()
    if abort is not None:
        ctx.run(operation_stop.set, abort)
    future = _executor(storage).submit(ctx.run, fn, *args, **kwargs)
    wrapped = asyncio.wrap_future(future)
    try:
        return await asyncio.shield(wrapped)
    except asyncio.CancelledError:
        if future.cancel():  # still queued: nothing happened
            raise
        if abort is not None:
            abort.set()
        await _finish(wrapped)
        if wrapped.cancelled() or wrapped.exception() is not None:
            raise
        if undo is not None:
            done = asyncio.wrap_future(
                _executor(storage).submit(ctx.run, _quietly, undo, wrapped.result())
            )
            await _finish(done)
        raise


def _quietly(fn: Callable[[Any], Any], value: Any) -> None:
    try:
        fn(value)
    except Exception:
        logger.warning("storages: undoing a cancelled operation failed", exc_info=True)


async def arun(storage: BaseStorage, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` on ``storage``'s async workers (shares its concurrency limit): for
    sync code that talks to the storage, such as :func:`storages.copy.copy_files`."""
    return await _job(storage, fn, *args, **kwargs)


class AsyncStorageMixin:
    """The async API of :class:`~storages.base.BaseStorage`: each coroutine runs the sync method
    of the same name on the storage's workers, with its semantics, errors and memory bounds."""

    async_concurrency: int = DEFAULT_CONCURRENCY

    def _connection_pool_size(self) -> int | None:
        """Hook: connections the storage's SDK keeps for reuse (None: one per worker thread, or
        unknown). The async workers never outnumber it, so none waits for a connection."""
        return None

    def _check_async_settings(self) -> None:
        limit = self.async_concurrency
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                f"{type(self).__name__}: "
                f'OPTIONS["async_concurrency"] must be a positive integer, got {limit!r}'
            )

    def async_limit(self) -> int:
        """Async operations this storage runs at once: ``async_concurrency``, capped at the
        connection pool size."""
        pool = self._connection_pool_size()
        return min(self.async_concurrency, pool) if pool else self.async_concurrency

    # -- files -----------------------------------------------------------------
    async def asave(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        """``save()``: the name stored. Cancelled, it stores nothing under the name."""
        return await _job(
            self, self.save, name, content, max_length, abort=threading.Event(), undo=self.delete
        )

    def aopen(self, name: str, mode: str = "rb") -> _Opening:
        """``open()`` as an :class:`AsyncFile`: ``f = await storage.aopen(name)`` or
        ``async with storage.aopen(name) as f``."""
        return _Opening(self, name, mode)

    async def aexists(self, name: str) -> bool:
        return await _job(self, self.exists, name)

    async def adelete(self, name: str) -> None:
        return await _job(self, self.delete, name)

    async def asize(self, name: str) -> int:
        return await _job(self, self.size, name)

    async def aurl(self, name: str, *args: Any, **kwargs: Any) -> str:
        return await _job(self, self.url, name, *args, **kwargs)

    async def alistdir(self, path: str) -> tuple[list[str], list[str]]:
        return await _job(self, self.listdir, path)

    async def aget_modified_time(self, name: str) -> Any:
        return await _job(self, self.get_modified_time, name)

    async def aget_created_time(self, name: str) -> Any:
        return await _job(self, self.get_created_time, name)

    async def aget_accessed_time(self, name: str) -> Any:
        return await _job(self, self.get_accessed_time, name)

    async def aget_available_name(self, name: str, max_length: int | None = None) -> str:
        return await _job(self, self.get_available_name, name, max_length=max_length)

    # -- bulk helpers ------------------------------------------------------------
    async def ascan(self, path: str = "") -> AsyncIterator[tuple[str, Any]]:
        """``scan()``: ``(name, info)`` of every file below ``path``, fetched in steps of at most
        ``SCAN_BATCH`` items (the listing requests of one step run on a worker)."""
        items = self.scan(path)  # type: ignore[attr-defined]
        ctx = contextvars.copy_context()
        try:
            while batch := await _job(self, _take, items, SCAN_BATCH, ctx=ctx):
                for item in batch:
                    yield item
        finally:
            await _job(self, items.close, ctx=ctx)

    async def adelete_many(self, names: Iterable[str]) -> None:
        """``delete_many()``: delete every name with as few requests as the provider allows."""
        return await _job(self, self.delete_many, list(names))  # type: ignore[attr-defined]


def _discard(file: Any) -> None:
    """Close a file whose opening was cancelled: its connection goes back, nothing is stored."""
    abort = getattr(file, "abort", None)
    if abort is not None and ("w" in file.mode or "x" in file.mode):
        abort()
    else:
        file.close()


def _take(items: Any, count: int) -> list[Any]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= count:
            break
    return batch


class _Opening:
    """What ``aopen()`` returns: await it for the file, or use it with ``async with``."""

    def __init__(self, storage: Any, name: str, mode: str) -> None:
        self.storage, self.name, self.mode = storage, name, mode
        self.file: AsyncFile | None = None

    async def _open(self) -> AsyncFile:
        ctx = contextvars.copy_context()
        abort = threading.Event()
        sync = await _job(
            self.storage, self.storage.open, self.name, self.mode, ctx=ctx, undo=_discard
        )
        return AsyncFile(self.storage, sync, ctx, abort)

    def __await__(self) -> Any:
        return self._open().__await__()

    async def __aenter__(self) -> AsyncFile:
        self.file = await self._open()
        return self.file

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.file is not None
        await self.file.__aexit__(exc_type, exc, tb)


class AsyncFile:
    """A storage file for async code: ``read``, ``readline``, ``write``, ``seek``, ``close``
    and ``abort`` are coroutines running the sync file's methods on the storage's workers;
    ``async for chunk in f`` reads it in chunks; ``async with`` closes it (or, after an error
    while writing, discards it: nothing is stored). A cancelled operation closes the file (a
    file being written is discarded), which releases its connection."""

    def __init__(
        self, storage: Any, file: Any, ctx: contextvars.Context, abort: threading.Event
    ) -> None:
        self.storage, self.file = storage, file
        self._ctx, self._abort = ctx, abort
        self._lock = asyncio.Lock()  # one worker step at a time on one file

    @property
    def name(self) -> str:
        return self.file.name

    @property
    def mode(self) -> str:
        return self.file.mode

    @property
    def closed(self) -> bool:
        return self.file.closed

    def __repr__(self) -> str:
        return f"<AsyncFile: {self.file.name} ({self.file.mode})>"

    def _writing(self) -> bool:
        return "w" in self.file.mode or "x" in self.file.mode

    async def _step(self, fn: Callable[..., Any], *args: Any, commit: bool = False) -> Any:
        async with self._lock:
            if self._abort.is_set():
                raise ValueError(
                    f"{self.file.name!r}: the file was closed by a cancelled operation"
                )
            try:
                return await _job(
                    self.storage,
                    fn,
                    *args,
                    ctx=self._ctx,
                    abort=self._abort,
                    undo=(lambda _: self.storage.delete(self.file.name)) if commit else None,
                )
            except asyncio.CancelledError:
                await _finish(asyncio.ensure_future(_job(self.storage, self._drop, ctx=self._ctx)))
                raise

    def _drop(self) -> None:
        """After a cancelled step: discard a file being written, close one being read."""
        with contextlib.suppress(Exception):
            if self._writing():
                self.file.abort()
            else:
                self.file.close()

    def _read_steps(self, size: int) -> Any:
        """``read(size)`` in steps of ``ASYNC_CHUNK``, stopping at the next one once cancelled."""
        parts: list[Any] = []
        left = size if size is not None and size >= 0 else None
        while left is None or left > 0:
            if self._abort.is_set():
                raise _Aborted()
            part = self.file.read(ASYNC_CHUNK if left is None else min(left, ASYNC_CHUNK))
            if not part:
                break
            parts.append(part)
            if left is not None:
                left -= len(part)
        empty = b"" if "b" in self.file.mode else ""
        return parts[0] if len(parts) == 1 else empty.join(parts)

    async def read(self, size: int = -1) -> Any:
        return await self._step(self._read_steps, size)

    async def readline(self, size: int = -1) -> Any:
        return await self._step(self.file.readline, size)

    async def write(self, data: Any) -> int:
        return await self._step(self.file.write, data)

    async def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return await self._step(self.file.seek, offset, whence)

    def tell(self) -> int:
        return self.file.tell()

    async def close(self) -> None:
        """Close the file; a file being written is committed (stored) now."""
        if not self.file.closed:
            await self._step(self.file.close, commit=self._writing())

    async def abort(self) -> None:
        """Discard what was written: nothing is stored."""
        await self._step(self.file.abort)

    async def chunks(self, chunk_size: int | None = None) -> AsyncIterator[Any]:
        """The file's content from its start, ``chunk_size`` (default 1 MiB) at a time."""
        await self.seek(0)
        size = chunk_size or ASYNC_CHUNK
        while chunk := await self._step(self.file.read, size):
            yield chunk

    def __aiter__(self) -> AsyncIterator[Any]:
        return self.chunks()

    async def __aenter__(self) -> AsyncFile:
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if self.file.closed or self._abort.is_set():
            return
        if exc_type is not None and self._writing():
            await self.abort()
        else:
            await self.close()

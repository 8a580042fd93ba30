"""A listing snapshot: during one run (collectstatic), a storage answers ``exists()``,
``size()`` and ``get_modified_time()`` for names under its location from one listing.

Scope, exactly:

* A snapshot exists only inside ``with listing(storage):``. The package's ``collectstatic``
  command enters it around its whole run; nothing else does.
* It is held in a :class:`contextvars.ContextVar`, so only code running in the context that
  entered the block sees it (and worker threads the command starts with a copy of that
  context). Other threads of the same process (a web server's requests) using the same
  storage instance keep asking the server, during the run and after it.
* The listing is made on first need (one ``_scan()`` of the location: one request per 1000
  objects on S3), kept true by the storage's own saves and deletes in the run, and dropped
  when the block ends.

Inside a run started with ``defer_deletes=True`` (the command's), ``delete(name)`` of a listed
object is postponed: if the same name is saved again in the run with the same content (what
``ManifestFilesMixin`` does to every CSS/JS file and to the manifest), neither the delete nor
the upload is sent. Postponed deletes are sent in batches when the block ends without error.

Inside ``with snap.background(workers):`` (the command's post-processing), a save whose name is
final (the storage overwrites) and whose content can be read later (a file on local disk, or
at most 8 MiB copied into memory) returns at once and is uploaded on one of ``workers``
threads. The listing counts it as stored from that moment; a later save, delete, read or stat
of the same name waits for it; the block waits for every upload and raises the first failure;
a ``ManifestFilesMixin`` storage waits before it writes its manifest. Content generated in
memory for a name that was not stored when the run started (a new hashed CSS/JS copy) is held
until the block ends instead (at most ``HOLD_LIMIT`` bytes in all): Django deletes the
intermediate copies it saves for stylesheets that import stylesheets, and a held copy that is
deleted is never sent, so an unchanged run writes nothing.

How it plugs in: ``listing()`` gives the storage instance the :class:`ListingMixin` for the
duration of the block (the instance's class becomes a subclass of its own class with the mixin
first, and is restored when the last block on it ends). The mixin's methods act only for code in
the block's context and hand everything else to the storage's own methods, so the core
(:mod:`storages.base`) knows nothing of this module.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from storages import naming
from storages.base import BaseStorage
from storages.compress import GzipCompressionWrapper
from storages.files import ObjectInfo, UploadSpec, is_temp_name
from storages.hashing import compare, compute
from storages.transfer import FullReader, UploadSource
from storages.utils import resolve_storage

#: Largest content a background save copies into memory (files on disk are read again instead).
DETACH_LIMIT = 8 * 1024 * 1024
#: Most bytes of new generated content (hashed CSS/JS) held back until the end of
#: post-processing, so that a copy Django deletes again in the run is never sent.
HOLD_LIMIT = 32 * 1024 * 1024

__all__ = ["ListingMixin", "Snapshot", "active", "listing"]

_ACTIVE: contextvars.ContextVar[tuple[Snapshot, ...]] = contextvars.ContextVar(
    "storages_snapshots", default=()
)


class _Uploaded:
    """An object stored in this run: it exists; its details are asked from the server when
    needed."""

    __slots__ = ("hashes",)

    def __init__(self, hashes: dict[str, str] | None) -> None:
        self.hashes = dict(hashes or {})


class Snapshot:
    """What is stored under one storage's location, as listed once and updated by this run."""

    def __init__(self, storage: Any, *, defer_deletes: bool = False) -> None:
        self.storage = storage
        self.defer_deletes = defer_deletes
        self._entries: dict[str, ObjectInfo | _Uploaded] | None = None
        self._pending: set[str] = set()
        self._sources: dict[str, tuple[Any, str]] = {}
        self._lock = threading.RLock()
        self._pool: ThreadPoolExecutor | None = None
        self._slots: threading.BoundedSemaphore | None = None
        self._inflight: dict[str, Future[None]] = {}
        self._held: dict[str, tuple[Callable[[Any], None], Any]] = {}
        self._held_bytes = 0

    # -- the listing ----------------------------------------------------------
    def _load(self) -> dict[str, ObjectInfo | _Uploaded]:
        with self._lock:
            if self._entries is None:
                prefix = self.storage._key("", allow_root=True)
                if prefix and not prefix.endswith("/"):
                    prefix += "/"
                self._entries = {
                    key: info
                    for key, info in self.storage._scan(prefix)
                    if not is_temp_name(key.rsplit("/", 1)[-1])
                }
            return self._entries

    def files(self) -> dict[str, ObjectInfo | None]:
        """``{name: info}`` of every stored file (info None: stored in this run, details not
        listed)."""
        with self._lock:
            entries = self._load()
            return {
                self.storage._name(key): (info if isinstance(info, ObjectInfo) else None)
                for key, info in entries.items()
                if key not in self._pending
            }

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self._load() and key not in self._pending

    def info(self, key: str) -> ObjectInfo:
        """The listed info of ``key``; FileNotFoundError when it is not stored."""
        with self._lock:
            entry = self._load().get(key)
            if entry is None or key in self._pending:
                raise FileNotFoundError(
                    2, f"{type(self.storage).__name__}: no such file", self.storage._name(key)
                )
            if isinstance(entry, ObjectInfo):
                return entry
        self.wait(key)
        info = self.storage._stat(key)  # stored in this run: ask once, then remember
        if entry.hashes and not info.hashes:
            info.hashes.update(entry.hashes)
        with self._lock:
            if self._entries is not None and self._entries.get(key) is entry:
                self._entries[key] = info
        return info

    # -- kept true by the storage's own writes -----------------------------------
    def stored(self, key: str, hashes: dict[str, str] | None = None) -> None:
        with self._lock:
            if self._entries is not None:
                self._entries[key] = _Uploaded(hashes)
            self._pending.discard(key)

    def deleted(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._pending.discard(key)
                self._drop_held(key)
                if self._entries is not None:
                    self._entries.pop(key, None)

    def defer_delete(self, key: str) -> bool:
        """True when the delete of ``key`` is postponed (or not needed: nothing is stored there)."""
        with self._lock:
            if self._drop_held(key):  # saved in this run and never sent: there is nothing to delete
                if self._entries is not None:
                    self._entries.pop(key, None)
                return True
        if not self.defer_deletes:
            return False
        with self._lock:
            if key in self._load():
                self._pending.add(key)
            return True

    def before_upload(self, key: str, content: Any, gzip: bool) -> tuple[bool, dict[str, str]]:
        """``(skip, hashes)`` for a save of ``key``: skip when it replaces a postponed delete of
        the same bytes; ``hashes`` are the content's MD5 (remembered for later comparisons)."""
        hashes: dict[str, str] = {}
        if not isinstance(content, (bytes, str)):
            source = UploadSource.from_content(content)
            if source.seekable:  # of the bytes the provider will store (compressed, if gzipped)
                hashes = compute(
                    GzipCompressionWrapper(source.fileobj) if gzip else source.fileobj, ("md5",)
                )
                source.rewind()
        with self._lock:
            if key not in self._pending:
                return False, hashes
            entry = self._entries.get(key) if self._entries is not None else None
            if entry is not None and hashes and compare(hashes, entry.hashes):
                self._pending.discard(key)
                return True, hashes
        self.flush([key])  # different bytes: the delete must happen before the upload
        return False, hashes

    def flush(self, keys: list[str] | None = None) -> None:
        """Send postponed deletes (all of them, or ``keys``)."""
        with self._lock:
            todo = sorted(self._pending if keys is None else self._pending.intersection(keys))
            self._pending.difference_update(todo)
        for key in todo:
            self.wait(key)
        if todo:
            self.storage._delete_many(todo)
            self.deleted(todo)

    # -- background saves ----------------------------------------------------------
    @contextlib.contextmanager
    def background(self, workers: int) -> Iterator[None]:
        """Let saves in the block run on ``workers`` threads; the block ends when all are done."""
        pool = ThreadPoolExecutor(max(1, workers), thread_name_prefix="storages-upload")
        self._pool, self._slots = pool, threading.BoundedSemaphore(2 * max(1, workers))
        try:
            yield
            self.drain()
        finally:
            self._pool = None
            pool.shutdown(wait=True, cancel_futures=True)
            self._inflight.clear()
            with self._lock:
                self._held.clear()
                self._held_bytes = 0

    def upload_later(self, key: str, content: Any, upload: Callable[[Any], None]) -> bool:
        """Queue ``upload(detached content)`` for ``key``; False (nothing queued) outside a
        background block or for content that can't be read after the caller moves on.

        Content made in memory (what ``post_process()`` generates) for a name that was not
        stored when the run started is held until the block ends (or until the name is read,
        waited for or saved again): Django saves a stylesheet's intermediate hashed copies (the
        ones hashed against a file it had not processed yet, such as one it ``@import``s) and
        deletes them in a later pass, and a held copy that is deleted is never sent.
        """
        if self._pool is None or (detached := _detach(content)) is None:
            return False
        self._raise_failure()
        self.wait(key)  # saves of one name stay in order
        if self._hold(key, detached, upload):
            return True
        self._submit(key, upload, detached)
        return True

    def _hold(self, key: str, detached: Any, upload: Callable[[Any], None]) -> bool:
        if isinstance(detached, Path):  # a file on disk (a collected file's hashed copy): final
            return False
        with self._lock:
            new = not isinstance(self._load().get(key), ObjectInfo)
            if not new or self._held_bytes + len(detached) > HOLD_LIMIT:
                return False
            self._held[key] = (upload, detached)
            self._held_bytes += len(detached)
            return True

    def _drop_held(self, key: str) -> bool:
        """Forget the held save of ``key`` (the caller holds the lock); whether there was one."""
        held = self._held.pop(key, None)
        if held is not None:
            self._held_bytes -= len(held[1])
        return held is not None

    def _release(self, keys: Iterable[str] | None = None) -> None:
        """Send the held saves of ``keys`` (all of them: None)."""
        with self._lock:
            todo = [
                (k, self._held[k])
                for k in (self._held if keys is None else keys)
                if k in self._held
            ]
            for key, _ in todo:
                self._drop_held(key)
        for key, (upload, detached) in todo:
            self._submit(key, upload, detached)

    def _submit(self, key: str, upload: Callable[[Any], None], detached: Any) -> None:
        assert self._pool is not None and self._slots is not None
        self._slots.acquire()  # bounded: at most 2 x workers queued copies in memory
        future = self._pool.submit(contextvars.copy_context().run, self._run, upload, detached)
        with self._lock:
            self._inflight[key] = future

    def _run(self, upload: Callable[[Any], None], detached: Any) -> None:
        try:
            if isinstance(detached, Path):
                with open(detached, "rb") as fileobj:
                    upload(fileobj)
            else:
                upload(detached)
        finally:
            assert self._slots is not None
            self._slots.release()

    def wait(self, key: str) -> None:
        """Wait for a queued save of ``key`` (raising its error)."""
        self._release([key])
        future = self._inflight.get(key)
        if future is not None:
            future.result()

    def drain(self) -> None:
        """Wait for every queued save; raise the first failure."""
        self._release()
        for future in list(self._inflight.values()):
            future.result()

    def _raise_failure(self) -> None:
        for future in list(self._inflight.values()):
            if future.done() and future.exception() is not None:
                future.result()

    # -- local sources -----------------------------------------------------------
    def add_sources(self, sources: dict[str, tuple[Any, str]]) -> None:
        """Names whose stored bytes equal a local file: ``{name: (source_storage, path)}``;
        reads of those names in the run open the local file instead of downloading."""
        with self._lock:
            self._sources.update(sources)

    def local_source(self, name: str) -> tuple[Any, str] | None:
        return self._sources.get(name)


def _detach(content: Any) -> Any:
    """``content`` in a form a later upload can read: bytes, a local file's path, or None."""
    if isinstance(content, (bytes, str)):
        return content
    source = UploadSource.from_content(content)
    if source.path is not None:
        return Path(source.path)
    if source.seekable and source.size is not None and source.size <= DETACH_LIMIT:
        data = FullReader(source.fileobj).read()
        source.rewind()
        return data
    return None


def active(storage: Any) -> Snapshot | None:
    """The snapshot of ``storage`` in the current context, if a run is active."""
    for snap in _ACTIVE.get():
        if snap.storage is storage:
            return snap
    return None


class ListingMixin:
    """What a storage does differently inside a listing run (see the module docstring).

    ``listing()`` puts it in front of the storage's own class for the run. Every method first asks
    for the run's snapshot in the current context; without one (another thread of the process, or
    after the run) it is the storage's own method unchanged.
    """

    #: The storage's own class (set on each class ``_with_listing()`` makes).
    _plain_class: type[BaseStorage]

    def exists(self, name: str) -> bool:
        snap = active(self)
        if snap is None:
            return super().exists(name)
        key = self._key(self._root_alias(name), allow_root=True)
        if key == self._key("", allow_root=True):
            return super().exists(name)
        return snap.has(key) or self._dir_exists(key.rstrip("/"))

    def _object_info(self, key: str) -> ObjectInfo:
        snap = active(self)
        return snap.info(key) if snap is not None else super()._object_info(key)

    def open(self, name: str, mode: str = "rb") -> Any:
        snap = active(self)
        if snap is not None:
            local = snap.local_source(naming.clean_name(name)) if mode in ("r", "rb") else None
            if local is not None:  # these bytes are on local disk: don't download them
                source, path = local
                return source.open(path, mode)
            snap.wait(self._key(name))  # a background save of this name
        return super().open(name, mode)

    def _save(self, name: str, content: Any) -> str:
        snap = active(self)
        if snap is None:
            return super()._save(name, content)
        name = naming.clean_name(name)
        spec, gzip = self._upload_spec(name, content, create_only=not self.overwrite)
        skip, hashes = snap.before_upload(spec.key, content, gzip)
        if skip:
            return name
        if name == getattr(self, "manifest_name", None):
            snap.drain()  # a manifest names only files that are stored
        elif self.overwrite and snap.upload_later(
            spec.key, content, functools.partial(self._upload_in_background, spec, gzip)
        ):
            snap.stored(spec.key, hashes)
            return name
        name = super()._save(name, content)
        if hashes:
            snap.stored(self._key(name), hashes)
        return name

    def _upload_in_background(self, spec: UploadSpec, gzip: bool, content: Any) -> None:
        # Not through our _timed_upload: the listing counts it (with its hashes) since queued.
        super()._timed_upload(spec, UploadSource.from_content(content, gzip=gzip))

    def _timed_upload(self, spec: UploadSpec, source: UploadSource) -> None:
        super()._timed_upload(spec, source)
        if (snap := active(self)) is not None:
            snap.stored(spec.key)

    def delete(self, name: str) -> None:
        snap = active(self)
        if snap is None:
            return super().delete(name)
        key = self._key(name)
        if not snap.defer_delete(key):
            super().delete(name)
            snap.deleted([key])
        return None

    def delete_many(self, names: Iterable[str]) -> None:
        names = list(names)
        super().delete_many(names)
        if (snap := active(self)) is not None:
            snap.deleted([self._key(name) for name in names])

    def __reduce_ex__(self, protocol: Any) -> Any:
        # Pickled (or copied) as the storage's own class: a run is no part of its state.
        _, _, *rest = super().__reduce_ex__(protocol)
        return (_new, (self._plain_class,), *rest)


def _new(cls: type) -> Any:
    """An empty instance of ``cls`` for unpickling (what ``copyreg.__newobj__`` makes)."""
    return cls.__new__(cls)


@functools.cache
def _with_listing(cls: type[BaseStorage]) -> type[BaseStorage]:
    """``cls`` with :class:`ListingMixin` in front, under the same name (messages, migrations)."""
    return type(
        cls.__name__,
        (ListingMixin, cls),
        {"__module__": cls.__module__, "__qualname__": cls.__qualname__, "_plain_class": cls},
    )


_RUNS_LOCK = threading.Lock()
#: id(storage) -> how many runs are active on it (the class is restored when none is left).
_RUNS: dict[int, int] = {}


@contextlib.contextmanager
def _mixed_in(storage: BaseStorage) -> Iterator[None]:
    with _RUNS_LOCK:
        if not _RUNS.get(id(storage)):
            storage.__class__ = _with_listing(type(storage))
        _RUNS[id(storage)] = _RUNS.get(id(storage), 0) + 1
    try:
        yield
    finally:
        with _RUNS_LOCK:
            _RUNS[id(storage)] -= 1
            if not _RUNS[id(storage)]:
                del _RUNS[id(storage)]
                if isinstance(storage, ListingMixin):
                    storage.__class__ = storage._plain_class


@contextlib.contextmanager
def listing(storage: Any, *, defer_deletes: bool = False) -> Iterator[Snapshot | None]:
    """Answer from one listing while the block runs (see the module docstring); yields the
    snapshot, or None for a storage that is not one of this package's."""
    target = resolve_storage(storage)
    current = active(target)
    if current is not None or not isinstance(target, BaseStorage):
        yield current
        return
    snap = Snapshot(target, defer_deletes=defer_deletes)
    token = _ACTIVE.set((*_ACTIVE.get(), snap))
    try:
        with _mixed_in(target):
            yield snap
            snap.flush()
    finally:
        _ACTIVE.reset(token)
        snap._entries = None
        snap._sources.clear()

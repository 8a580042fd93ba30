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
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from typing import Any

from storages.files import ObjectInfo, is_temp_name
from storages.hashing import compare, compute
from storages.transfer import UploadSource

__all__ = ["Snapshot", "active", "listing"]

_ACTIVE: contextvars.ContextVar[tuple[Snapshot, ...]] = contextvars.ContextVar("storages_snapshots", default=())


class _Uploaded:
    """An object stored in this run: it exists; its details are asked from the server when needed."""

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

    # -- the listing ----------------------------------------------------------
    def _load(self) -> dict[str, ObjectInfo | _Uploaded]:
        with self._lock:
            if self._entries is None:
                prefix = self.storage._key("", allow_root=True)
                if prefix and not prefix.endswith("/"):
                    prefix += "/"
                self._entries = {key: info for key, info in self.storage._scan(prefix)
                                 if not is_temp_name(key.rsplit("/", 1)[-1])}
            return self._entries

    def files(self) -> dict[str, ObjectInfo | None]:
        """``{name: info}`` of every stored file (info None: stored in this run, details not listed)."""
        with self._lock:
            entries = self._load()
            return {self.storage._name(key): (info if isinstance(info, ObjectInfo) else None)
                    for key, info in entries.items() if key not in self._pending}

    def has(self, key: str) -> bool:
        with self._lock:
            return key in self._load() and key not in self._pending

    def info(self, key: str) -> ObjectInfo:
        """The listed info of ``key``; FileNotFoundError when it is not stored."""
        with self._lock:
            entry = self._load().get(key)
            if entry is None or key in self._pending:
                raise FileNotFoundError(2, f"{type(self.storage).__name__}: no such file", self.storage._name(key))
            if isinstance(entry, ObjectInfo):
                return entry
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
                if self._entries is not None:
                    self._entries.pop(key, None)

    def defer_delete(self, key: str) -> bool:
        """True when the delete of ``key`` is postponed (or not needed: nothing is stored there)."""
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
        if not gzip and not isinstance(content, (bytes, str)):
            source = UploadSource.from_content(content)
            if source.seekable:
                hashes = compute(source.fileobj, ("md5",))
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
        if todo:
            self.storage._delete_many(todo)
            self.deleted(todo)

    # -- local sources -----------------------------------------------------------
    def add_sources(self, sources: dict[str, tuple[Any, str]]) -> None:
        """Names whose stored bytes equal a local file: ``{name: (source_storage, path)}``;
        reads of those names in the run open the local file instead of downloading."""
        with self._lock:
            self._sources.update(sources)

    def local_source(self, name: str) -> tuple[Any, str] | None:
        return self._sources.get(name)


def active(storage: Any) -> Snapshot | None:
    """The snapshot of ``storage`` in the current context, if a run is active."""
    for snap in _ACTIVE.get():
        if snap.storage is storage:
            return snap
    return None


def _unwrap(storage: Any) -> Any:
    from django.utils.functional import LazyObject, empty

    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


@contextlib.contextmanager
def listing(storage: Any, *, defer_deletes: bool = False) -> Iterator[Snapshot | None]:
    """Answer from one listing while the block runs (see the module docstring); yields the
    snapshot, or None for a storage that is not one of this package's."""
    from storages.base import BaseStorage

    target = _unwrap(storage)
    current = active(target)
    if current is not None or not isinstance(target, BaseStorage):
        yield current
        return
    snap = Snapshot(target, defer_deletes=defer_deletes)
    token = _ACTIVE.set((*_ACTIVE.get(), snap))
    try:
        yield snap
        snap.flush()
    finally:
        _ACTIVE.reset(token)
        snap._entries = None
        snap._sources.clear()

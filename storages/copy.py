"""Copy every file under a path of one storage to another: parallel, streaming, resumable.

The engine behind ``manage.py copystorage``, usable from Python (a data migration,
a shell)::

    from django.core.files.storage import storages
    from storages.copy import copy_files

    report = copy_files(storages["old"], storages["default"], "uploads/", workers=8, verify=True)
    if not report.ok:
        raise RuntimeError(f"{len(report.failed)} files failed: {sorted(report.failed)[:10]}")

How it decides, per file: a file missing from the destination, or of another size, is
copied; one of the same size is skipped when the content hashes both sides store agree
(S3 single-part ETag, GCS md5/crc32c, Azure Content-MD5, Dropbox content_hash) and
copied when they differ; when one side stores no hash, that side is read and hashed
(nothing is sent). So a rerun after a crash or ``Ctrl-C`` skips what had arrived: every
backend stores a file atomically (a killed upload leaves nothing under the name).

How it copies: on the server when both storages are on the same provider and account
(``_copy_from``: S3 CopyObject / UploadPartCopy); otherwise the source's raw bytes are
streamed into the destination's upload primitive in bounded memory, with the source's
content type, content encoding and Cache-Control.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import posixpath
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from storages import hashing
from storages.base import BaseStorage
from storages.files import ObjectInfo, RemoteReader, is_temp_name, open_range
from storages.progress import Progress
from storages.shard import owner as shard_owner
from storages.shard import units as shard_units
from storages.transfer import COPY_CHUNK, UploadAborted, UploadSource

logger = logging.getLogger(__name__)

__all__ = [
    "copy_files",
    "CopyReport",
    "DEFAULT_WORKERS",
    "DEFAULT_LARGE_WORKERS",
    "ListingError",
    "list_files",
]

DEFAULT_WORKERS = 8
#: Files above the destination's single-request threshold streamed at once: each already moves
#: in parts on the SDK's own concurrent connections, and holds parts in memory while it does.
DEFAULT_LARGE_WORKERS = 2
#: Files up to this size are read whole, then sent as one upload of known size.
IN_MEMORY = 1024 * 1024


class ListingError(Exception):
    """The source or the destination could not be listed (nothing was copied); the cause is
    chained."""

    def __init__(self, side: str, exc: BaseException) -> None:
        super().__init__(f"could not list the {side}: {exc}")
        self.side = side


@dataclass
class CopyReport:
    """What :func:`copy_files` did (or, with ``dry_run``, would do)."""

    copied: list[str] = field(default_factory=list)
    #: How many of ``copied`` were copied on the server (no bytes through this machine).
    server_side: int = 0
    skipped: int = 0
    deleted: list[str] = field(default_factory=list)
    #: name -> why it failed
    failed: dict[str, str] = field(default_factory=dict)
    bytes_copied: int = 0
    total_files: int = 0
    total_bytes: int = 0
    interrupted: bool = False
    dry_run: bool = False
    #: With ``verify``: how many copied files were checked against the source, their bytes, and
    #: how (e.g. ``{"stored md5": 1990, "read back, md5": 10}``).
    verified: int = 0
    verified_bytes: int = 0
    verified_by: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def verify_summary(self) -> str:
        """What ``verify`` checked, e.g. "verified 3 of 3 copied files (1.2 MB): 3 by stored
        md5"."""
        from storages.progress import human_bytes

        how = ", ".join(f"{n} by {way}" for way, n in sorted(self.verified_by.items()))
        return (
            f"verified {self.verified} of {len(self.copied)} copied files "
            f"({human_bytes(self.verified_bytes)}){': ' + how if how else ''}"
        )

    def summary(self) -> str:
        from storages.progress import human_bytes

        verb = "would copy" if self.dry_run else "copied"
        parts = [
            f"{verb} {len(self.copied)} of {self.total_files} files "
            f"({human_bytes(self.bytes_copied)})"
        ]
        if self.server_side:
            parts.append(f"{self.server_side} on the server")
        parts.append(f"{self.skipped} already there")
        if self.deleted:
            parts.append(f"{'would delete' if self.dry_run else 'deleted'} {len(self.deleted)}")
        if self.failed:
            parts.append(f"{len(self.failed)} failed")
        text = ", ".join(parts)
        if self.interrupted:
            text += "; interrupted: run the same command again to resume"
        return text


def list_files(
    storage: Any, path: str = "", workers: int = DEFAULT_WORKERS
) -> Iterator[tuple[str, ObjectInfo]]:
    """``(name, info)`` of every file below ``path``: ``scan()`` where the storage has it, else
    a walk of ``listdir()`` with ``size()`` (any Django storage, e.g. FileSystemStorage)."""
    if isinstance(storage, BaseStorage) and type(storage)._scan is BaseStorage._scan:
        # The generic scan stats one file at a time: stat on ``workers`` connections instead.
        keys = list(_walk_keys(storage, storage._key(path, allow_root=True)))
        with ThreadPoolExecutor(
            max_workers=max(1, workers), thread_name_prefix="storages-scan"
        ) as pool:
            for key, info in zip(keys, pool.map(lambda k: _stat_or_none(storage, k), keys)):
                if info is not None:
                    yield storage._name(key), info
        return
    if hasattr(storage, "scan"):
        yield from storage.scan(path)
        return
    dirs, files = storage.listdir(path)
    for name in files:
        full = posixpath.join(path, name) if path else name
        yield full, ObjectInfo(size=storage.size(full))
    for sub in dirs:
        yield from list_files(storage, posixpath.join(path, sub) if path else sub)


def _file_info(storage: Any, name: str) -> ObjectInfo | None:
    if isinstance(storage, BaseStorage):
        return _stat_or_none(storage, storage._key(name))
    return ObjectInfo(size=storage.size(name)) if storage.exists(name) else None


def _listing_of(
    storage: Any, folders: list[str], files: list[str], workers: int
) -> dict[str, ObjectInfo]:
    """Every file below ``folders`` and each of ``files`` that exists, with its info."""
    found = {
        name: info for folder in folders for name, info in list_files(storage, folder, workers)
    }
    for name in files:
        if (info := _file_info(storage, name)) is not None:
            found[name] = info
    return found


def _walk_keys(storage: BaseStorage, prefix: str) -> Iterator[str]:
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    for dirs, files in storage._list(prefix):
        yield from (key for key in files if not is_temp_name(key.rsplit("/", 1)[-1]))
        for sub in dirs:
            yield from _walk_keys(storage, sub)


def _stat_or_none(storage: BaseStorage, key: str) -> ObjectInfo | None:
    try:
        return storage._stat(key)
    except FileNotFoundError:  # deleted since it was listed
        return None


class _Stopped(Exception):
    pass


class _HashingReader(io.RawIOBase):
    """Passes a stream through, hashing it (md5) and stopping it when asked."""

    def __init__(self, raw: Any, stop: threading.Event) -> None:
        super().__init__()
        self.raw = raw
        self.stop = stop
        self.md5 = hashlib.md5()  # noqa: S324 - a content checksum, as the providers store it
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        if self.stop.is_set():
            raise UploadAborted("the copy was interrupted")
        n = self.raw.readinto(buffer)
        if n:
            self.md5.update(memoryview(buffer)[:n])
            self.count += n
        return n


class _Content:
    """What ``_upload_spec`` reads a content type from."""

    def __init__(self, content_type: str | None) -> None:
        self.content_type = content_type


def _open_raw(storage: Any, name: str) -> tuple[Any, ObjectInfo | None]:
    """A stream of the stored bytes of ``name`` (never decompressed) and what the read told."""
    if isinstance(storage, BaseStorage):
        key = storage._key(name)
        first = open_range(storage, key, 0)
        return RemoteReader(storage, key, first), first.info
    return storage.open(name, "rb"), None


def _hash_stored(storage: Any, name: str, kinds: tuple[str, ...]) -> dict[str, str]:
    stream, _ = _open_raw(storage, name)
    try:
        return hashing.compute(stream, kinds)
    finally:
        stream.close()


_MULTIPART_ETAG = re.compile(r"^([0-9a-f]{32})-([0-9]+)$")
# Part sizes uploaders use (s3transfer 8 MiB, the AWS CLI, S3's 5 MiB minimum...), tried in one
# pass.
_PART_SIZES = tuple(n * 1024 * 1024 for n in (8, 5, 16, 10, 15, 32, 50, 64, 100, 128))


def _multipart_etag(etag: str | None) -> str | None:
    return (
        etag.strip('"').lower() if etag and _MULTIPART_ETAG.match(etag.strip('"').lower()) else None
    )


def _etag_of_stored(storage: Any, name: str, size: int, etag: str, hint: int = 0) -> bool:
    """Whether the bytes of ``name`` in ``storage`` give the multipart ``etag`` for the part size
    ``hint`` or one of the usual ones (read once, whatever the number of candidates)."""
    parts = int(etag.rsplit("-", 1)[1])
    sizes = [p for p in dict.fromkeys((hint, *_PART_SIZES)) if p and -(-size // p) == parts]
    if not sizes:
        return False
    digests: dict[int, list[bytes]] = {p: [] for p in sizes}
    current = {p: hashlib.md5() for p in sizes}  # noqa: S324 - S3's ETag algorithm
    filled = dict.fromkeys(sizes, 0)
    stream, _ = _open_raw(storage, name)
    try:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            for p in sizes:
                view = memoryview(chunk)
                while view:
                    take = min(len(view), p - filled[p])
                    current[p].update(view[:take])
                    filled[p] += take
                    view = view[take:]
                    if filled[p] == p:
                        digests[p].append(current[p].digest())
                        current[p], filled[p] = hashlib.md5(), 0  # noqa: S324
    finally:
        stream.close()
    for p in sizes:
        if filled[p]:
            digests[p].append(current[p].digest())
        combined = hashlib.md5(b"".join(digests[p])).hexdigest()  # noqa: S324
        if f"{combined}-{len(digests[p])}" == etag:
            return True
    return False


class _Copier:
    def __init__(
        self,
        source: Any,
        destination: Any,
        *,
        verify: bool,
        dry_run: bool,
        stop: threading.Event,
        large_workers: int,
    ) -> None:
        self.source = source
        self.dest = destination
        self.verify = verify
        self.dry_run = dry_run
        self.stop = stop
        self.large = threading.BoundedSemaphore(max(1, large_workers))
        self.threshold = int(getattr(destination, "upload_threshold", 8 * 1024 * 1024))
        self.lock = threading.Lock()
        #: how -> files verified that way
        self.verified: dict[str, int] = {}
        self.verified_bytes = 0

    # -- deciding ---------------------------------------------------------------
    def same(self, name: str, dname: str, sinfo: ObjectInfo, dinfo: ObjectInfo | None) -> bool:
        """Whether ``dname`` already holds the bytes of ``name`` (reading only what must be)."""
        return self.compare(name, dname, sinfo, dinfo)[0]

    def compare(
        self, name: str, dname: str, sinfo: ObjectInfo, dinfo: ObjectInfo | None
    ) -> tuple[bool, str]:
        """:meth:`same`'s answer and how it was reached ("size", "stored md5", "read back, md5",
        "multipart ETag")."""
        if dinfo is None or dinfo.size != sinfo.size:
            return False, "size"
        verdict = hashing.compare(sinfo.hashes, dinfo.hashes)
        if verdict is not None:
            kind = next((k for k in hashing.KINDS if k in sinfo.hashes and k in dinfo.hashes), "")
            return verdict, f"stored {kind}".strip()
        # S3 multipart objects: an ETag is the MD5 of the parts' MD5s, not a content hash.
        ours, theirs = _multipart_etag(dinfo.etag), _multipart_etag(sinfo.etag)
        if ours and theirs and ours == theirs:
            # same parts, same bytes (a copy made on the server keeps the ETag)
            return True, "multipart ETag"
        for etag, owner, storage, other in (
            (ours, self.dest, self.source, name),
            (theirs, self.source, self.dest, dname),
        ):
            # The part size its uploader used.
            hint = int(getattr(owner, "upload_part_size", 0) or 0)
            if etag and _etag_of_stored(storage, other, sinfo.size, etag, hint):
                # else the part size may differ: fall through and compare contents
                return True, "multipart ETag, read back"
        # Neither stores a hash the other has: read the side(s) that lack one and hash them.
        kinds = self._kinds(sinfo.hashes or dinfo.hashes)
        theirs = (
            sinfo.hashes if kinds[0] in sinfo.hashes else _hash_stored(self.source, name, kinds)
        )
        ours = dinfo.hashes if kinds[0] in dinfo.hashes else _hash_stored(self.dest, dname, kinds)
        return bool(hashing.compare(theirs, ours)), f"read back, {kinds[0]}"

    @staticmethod
    def _kinds(known: dict[str, str]) -> tuple[str, ...]:
        # The most trusted kind one side stores, that can be computed here; md5 when neither stores
        # one.
        for kind in hashing.KINDS:
            if kind in known and hashing.compute(io.BytesIO(b""), (kind,)):
                return (kind,)
        return ("md5",)

    # -- copying ----------------------------------------------------------------
    def copy(self, name: str, dname: str, sinfo: ObjectInfo) -> bool:
        """Copy one file; True when the server did it."""
        dest = self.dest
        if not isinstance(dest, BaseStorage):
            return self._copy_plain(name, dname, sinfo.size)
        if isinstance(self.source, BaseStorage):
            spec, _ = dest._upload_spec(dname, _Content(sinfo.content_type))
            if dest._copy_from(self.source, self.source._key(name), spec):
                if self.verify:
                    self._verify(name, dname, sinfo.hashes, sinfo.size)
                return True
        if sinfo.size > self.threshold:
            with self.large:
                return self._stream(name, dname, sinfo)
        return self._stream(name, dname, sinfo)

    def _stream(self, name: str, dname: str, sinfo: ObjectInfo) -> bool:
        dest = self.dest
        raw, info = _open_raw(self.source, name)
        try:
            info = info or sinfo
            spec, _ = dest._upload_spec(dname, _Content(info.content_type))
            # Raw bytes: keep their encoding, never re-gzip.
            spec.content_encoding = info.content_encoding
            spec.create_only = False
            cache = info.extra.get("cache_control")
            param = getattr(dest, "cache_control_param", None)
            if cache and param:
                spec.params[param] = cache
            reader = _HashingReader(raw, self.stop)
            if sinfo.size <= IN_MEMORY:
                # Small: one request of known size everywhere (and the provider stores its MD5).
                source = UploadSource.from_bytes(io.BufferedReader(reader, COPY_CHUNK).read())
            else:
                # A one-shot stream, sized by the SDK as it reads (the path every backend takes from
                # open("wb")); buffered so that read(n) gives n bytes, as SDKs expect of a file.
                source = UploadSource(io.BufferedReader(reader, COPY_CHUNK))
            dest._upload(spec, source)
        finally:
            raw.close()
        if reader.count != sinfo.size:
            raise OSError(
                f"read {reader.count} bytes of {name!r}, expected {sinfo.size} (changed meanwhile?)"
            )
        if self.verify:
            self._verify(name, dname, {"md5": reader.md5.hexdigest()}, sinfo.size)
        return False

    def _copy_plain(self, name: str, dname: str, size: int) -> bool:
        """Into a storage outside this package: replace through delete() + save()."""
        stream, _ = _open_raw(self.source, name)
        try:
            if self.dest.exists(dname):
                self.dest.delete(dname)
            try:
                saved = self.dest.save(dname, _StoppableFile(stream, self.stop))
            except BaseException:
                # A stopped or failed save leaves what Django's FileSystemStorage wrote of the
                # file: remove it (the name is ours, its previous copy was deleted above).
                with contextlib.suppress(Exception):
                    if self.dest.exists(dname):
                        self.dest.delete(dname)
                raise
        finally:
            stream.close()
        if saved != dname:
            raise OSError(f"the destination stored {name!r} as {saved!r}")
        if self.verify:
            self._verify(name, dname, {}, size)
        return False

    def _verify(self, name: str, dname: str, expected: dict[str, str], size: int) -> None:
        if isinstance(self.dest, BaseStorage):
            dinfo = self.dest._stat(self.dest._key(dname))
        else:
            dinfo = ObjectInfo(size=self.dest.size(dname))
        if dinfo.size != size:
            raise OSError(
                f"verification failed: {dname!r} in the destination has {dinfo.size} bytes, "
                f"the source {size}"
            )
        ok, how = self.compare(name, dname, ObjectInfo(size=size, hashes=dict(expected)), dinfo)
        if not ok:
            raise OSError(
                f"verification failed: {dname!r} in the destination differs from the source"
            )
        with self.lock:
            self.verified[how] = self.verified.get(how, 0) + 1
            self.verified_bytes += size


class _StoppableFile:
    """A Django-``File``-like wrapper so ``save()`` reads the stream and stops on request."""

    def __init__(self, stream: Any, stop: threading.Event) -> None:
        self.file = _HashingReader(stream, stop)
        self.name = None

    def chunks(self, chunk_size: int = 1024 * 1024) -> Iterator[bytes]:
        return iter(lambda: self.file.read(chunk_size), b"")

    def read(self, n: int = -1) -> bytes:
        return self.file.read(n)


def copy_files(
    source: Any,
    destination: Any,
    path: str = "",
    *,
    dest_path: str | None = None,
    workers: int = DEFAULT_WORKERS,
    large_workers: int = DEFAULT_LARGE_WORKERS,
    verify: bool = False,
    dry_run: bool = False,
    delete: bool = False,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    on_file: Callable[[str, str], None] | None = None,
    shard: tuple[int, int] | None = None,
) -> CopyReport:
    """Copy every file below ``path`` of ``source`` to ``dest_path`` (default: the same path) of
    ``destination``; return a :class:`CopyReport`.

    ``workers`` files move at once, at most ``large_workers`` of them above the destination's
    single-request threshold (those stream in parts on the SDK's concurrent connections; this
    bounds the memory they hold). Copies made on the server are not limited. ``verify``
    compares every copied file by hash afterwards.
    ``dry_run`` decides without writing. ``delete`` removes destination files below
    ``dest_path`` that the source does not have. ``stop`` (a ``threading.Event``), when set,
    ends the copy cleanly: uploads in flight are aborted, the report says ``interrupted`` and
    the next run resumes; ``KeyboardInterrupt`` does the same. ``on_file(action, name)`` is
    called for each file ("copy", "server-copy", "skip", "fail", "delete").
    Files that fail are listed in ``report.failed``; the copy goes on with the others.
    ``shard=(index, count)`` copies only the files of shard ``index`` (0-based) of ``count``
    (:mod:`storages.shard`); it can't be combined with ``delete``.
    """
    path = path.strip("/")
    dest_path = path if dest_path is None else dest_path.strip("/")
    if shard is not None and delete:
        raise ValueError("a sharded copy can't delete (each shard sees only its own files)")
    run = _CopyRun(path, dest_path, stop or threading.Event(), progress, on_file, dry_run)
    sources, existing = run.listings(source, destination, workers, shard)
    report = run.report
    report.total_files = len(sources)
    report.total_bytes = sum(info.size for info in sources.values())
    if progress is not None:
        progress.total_files, progress.total_bytes = report.total_files, report.total_bytes
    copier = _Copier(
        source,
        destination,
        verify=verify,
        dry_run=dry_run,
        stop=run.stop,
        large_workers=large_workers,
    )
    run.copy_all(copier, sources, existing, workers)
    if delete and not report.interrupted:
        run.delete_extra(destination, sources, existing)
    report.copied.sort()
    report.verified_by = dict(copier.verified)
    report.verified = sum(copier.verified.values())
    report.verified_bytes = copier.verified_bytes
    return report


class _CopyRun:
    """The state of one :func:`copy_files` call: names, the report, progress and the stop."""

    def __init__(
        self,
        path: str,
        dest_path: str,
        stop: threading.Event,
        progress: Progress | None,
        on_file: Callable[[str, str], None] | None,
        dry_run: bool,
    ) -> None:
        self.path, self.dest_path, self.stop, self.progress = path, dest_path, stop, progress
        self.notify = on_file or (lambda action, name: None)
        self.dry_run = dry_run
        self.report = CopyReport(dry_run=dry_run)
        self.lock = threading.Lock()

    def target(self, name: str) -> str:
        """The destination name of the source file ``name``."""
        rel = name[len(self.path) :].lstrip("/") if self.path else name
        return posixpath.join(self.dest_path, rel) if self.dest_path else rel

    def listings(
        self, source: Any, destination: Any, workers: int, shard: tuple[int, int] | None
    ) -> tuple[dict[str, ObjectInfo], dict[str, ObjectInfo]]:
        """The files of both sides: all of them, or only this shard's units
        (:mod:`storages.shard`)."""
        folders: list[str] = []
        loose: list[str] = []
        if shard is not None:
            index, count = shard
            try:
                every_folder, every_file = shard_units(source, self.path, count)
            except Exception as exc:
                raise ListingError("source", exc) from exc
            folders = [f for f in every_folder if shard_owner(f, count) == index]
            loose = [f for f in every_file if shard_owner(f, count) == index]
        found = []
        sides = (("source", source, self.path), ("destination", destination, self.dest_path))
        for side, storage, where in sides:
            rename = (lambda name: name) if side == "source" else self.target
            try:
                if shard is None:
                    found.append(dict(list_files(storage, where, workers)))
                else:
                    units = [rename(f) for f in folders], [rename(f) for f in loose]
                    found.append(_listing_of(storage, *units, workers))
            except Exception as exc:
                if side == "destination" and isinstance(exc, FileNotFoundError):
                    found.append({})  # a folder that does not exist yet (a local disk): empty
                    continue
                raise ListingError(side, exc) from exc
        return found[0], found[1]

    def _count(self, action: str, name: str, size: int = 0, **counts: int) -> None:
        self.notify(action, name)
        if self.progress is not None:
            self.progress.advance(1, size, **counts)

    def copy_one(
        self, copier: _Copier, name: str, sinfo: ObjectInfo, existing: ObjectInfo | None
    ) -> None:
        """Copy (or skip) one file; a failure is recorded, never raised."""
        if self.stop.is_set():
            return
        report, dname = self.report, self.target(name)
        try:
            if copier.same(name, dname, sinfo, existing):
                with self.lock:
                    report.skipped += 1
                self._count("skip", name, skipped=1)
                return
            server = False if self.dry_run else copier.copy(name, dname, sinfo)
        except UploadAborted:
            return
        except Exception as exc:  # one file's failure must not stop the others
            logger.debug("copy of %r failed", name, exc_info=True)
            with self.lock:
                report.failed[name] = f"{type(exc).__name__}: {exc}"
            self._count("fail", name, failed=1)
            return
        with self.lock:
            report.copied.append(name)
            report.bytes_copied += sinfo.size
            report.server_side += int(server)
        self._count("server-copy" if server else "copy", name, sinfo.size)

    def copy_all(
        self,
        copier: _Copier,
        sources: dict[str, ObjectInfo],
        existing: dict[str, ObjectInfo],
        workers: int,
    ) -> None:
        """Every file on ``workers`` threads through a bounded queue; a stop (or Ctrl-C) cancels
        what has not started and marks the report interrupted."""
        pending: set[Future[None]] = set()
        workers = max(1, workers)
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="storages-copy") as pool:
            try:
                for name, sinfo in sorted(sources.items()):
                    if self.stop.is_set():
                        break
                    dname = self.target(name)
                    pending.add(
                        pool.submit(self.copy_one, copier, name, sinfo, existing.get(dname))
                    )
                    if len(pending) >= 4 * workers:  # a bounded queue, whatever the file count
                        _, pending = wait(pending, return_when=FIRST_COMPLETED)
                while pending:
                    _, pending = wait(pending, timeout=0.5)
            except KeyboardInterrupt:
                self.stop.set()
            if self.stop.is_set():
                self.report.interrupted = True
                for future in pending:
                    future.cancel()

    def delete_extra(
        self, destination: Any, sources: dict[str, ObjectInfo], existing: dict[str, ObjectInfo]
    ) -> None:
        """Remove the destination's files that the source does not have."""
        wanted = {self.target(name) for name in sources}
        extra = sorted(set(existing) - wanted)
        if extra and not self.dry_run:
            if hasattr(destination, "delete_many"):
                destination.delete_many(extra)
            else:
                for name in extra:
                    destination.delete(name)
        self.report.deleted = extra
        for name in extra:
            self.notify("delete", name)

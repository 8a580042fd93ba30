"""The transfer layer: what ``save()`` and ``open(name, "wb")`` hand to a backend.

Every upload, whatever its origin, reaches a backend through one primitive,
``BaseStorage._upload(spec, source)``, which passes the content to the SDK's
own transfer helper (s3transfer, the GCS resumable upload, Azure's
``upload_blob``, paramiko's ``putfo``, ftplib's ``storbinary``...).

* :class:`UploadSource` is the content of a ``save()``: a binary file object
  positioned at its start, its size when known, and a local path when the
  content is a file on disk (Django's ``TemporaryUploadedFile``), so SDKs that
  upload from a path can use it.
* :class:`PipeWriter` is what ``open(name, "wb")`` writes to: a small file is
  sent with one ``_upload()`` on ``close()``; a larger one streams through a
  bounded queue into ``_upload()`` running on a worker thread, so memory stays
  bounded whatever the file's size.
"""

from __future__ import annotations

import collections
import contextvars
import io
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from storages.compress import GzipCompressionWrapper
from storages.files import read_into

logger = logging.getLogger(__name__)

__all__ = [
    "UploadSource",
    "PipeWriter",
    "WriteBuffer",
    "ChunkReader",
    "FullReader",
    "UploadAborted",
    "COPY_CHUNK",
    "stoppable_uploads",
    "stop_uploads",
    "raise_if_stopped",
    "operation_stop",
]

COPY_CHUNK = 1024 * 1024
#: Reads of at least this many bytes (an SDK's part) are made in place (FullReader).
_IN_PLACE = 256 * 1024


@dataclass(frozen=True)
class WriteBuffer:
    """How much of a file a write (``save()`` or ``open(name, "wb")``) holds in memory.

    A file larger than one part is sent in parts of ``part_size`` bytes, ``concurrency`` of them
    at once: a write holds at most ``(concurrency + 2) x part_size`` bytes of the file
    (:attr:`bound`: the parts being sent, the one being read from the content, and the one
    ``open(name, "wb")`` hands over). ``None`` leaves a field to the backend (its provider
    settings, then its defaults). Set through the ``write_buffer`` option of every backend
    (``AWS_WRITE_BUFFER``, ``GS_WRITE_BUFFER``...); ``False`` there means one part at a time.
    """

    part_size: int | None = None
    concurrency: int | None = None

    @property
    def bound(self) -> int:
        """Bytes of the file held in memory at most (both fields set)."""
        return (int(self.concurrency or 1) + 2) * int(self.part_size or 0)

    @classmethod
    def coerce(cls, value: Any, label: str = "write_buffer") -> WriteBuffer:
        """Accept a WriteBuffer, a dict of its fields, or False (one part at a time)."""
        from django.core.exceptions import ImproperlyConfigured

        if isinstance(value, cls):
            fields = {"part_size": value.part_size, "concurrency": value.concurrency}
        elif value is False:
            fields = {"concurrency": 1}
        elif isinstance(value, dict):
            unknown = sorted(set(value) - {"part_size", "concurrency"})
            if unknown:
                raise ImproperlyConfigured(
                    f"{label}: unknown key(s) {', '.join(unknown)}; valid: part_size, concurrency"
                )
            fields = dict(value)
        else:
            raise ImproperlyConfigured(
                f"{label} must be a dict of part_size / concurrency, a "
                f"storages.transfer.WriteBuffer or False (got {value!r})"
            )
        for key, least in (("part_size", 64 * 1024), ("concurrency", 1)):
            field_value = fields.get(key)
            if field_value is not None and (type(field_value) is not int or field_value < least):
                raise ImproperlyConfigured(
                    f"{label}: {key} must be an int of at least {least} (got {field_value!r})"
                )
        return cls(**fields)


class UploadAborted(Exception):
    """Raised inside an upload whose writer was aborted: the SDK discards what it sent."""


# -- stopping uploads in flight -------------------------------------------------------------------
# One mechanism stops an upload in flight, whoever asks: a stop is a ``threading.Event``; the
# core wraps each upload's content (``UploadSource.stoppable()``) in a check of the stops in force
# when the upload starts, made at the points where the SDK reads the content and, through
# ``UploadSource.checkpoint``, where it sends each part or block. Two things set a stop:
#
# * a cancelled async operation (:mod:`storages.aio`): its own stop, in the context variable
#   :data:`operation_stop` of the operation's worker;
# * Ctrl-C or SIGTERM inside a management command (:class:`stoppable_uploads`,
#   :func:`stop_uploads`): the process-wide command stop, in force inside a scope only.

#: The stop of the operation running in this context (:mod:`storages.aio` gives every async
#: operation its own, set when its task is cancelled). None: no operation of its own.
operation_stop: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "storages_operation_stop", default=None
)

_STOP = threading.Event()  # the command stop (Ctrl-C, SIGTERM)
_SCOPES = 0
_SCOPES_LOCK = threading.Lock()


class stoppable_uploads:  # noqa: N801 - used as a context manager, like contextlib's
    """While inside, every upload also stops at :func:`stop_uploads`: once it is called, the
    upload's next read (or part, or block) raises :class:`UploadAborted` in whatever thread the
    SDK runs it, so the SDK abandons the upload as it does on any error (S3 aborts the multipart
    upload, GCS cancels the resumable session, Azure's uncommitted blocks and the file servers'
    temporary file are discarded). The management commands enter it; leaving the last scope
    re-arms."""

    def __enter__(self) -> stoppable_uploads:
        global _SCOPES
        with _SCOPES_LOCK:
            _SCOPES += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        global _SCOPES
        with _SCOPES_LOCK:
            _SCOPES -= 1
            if not _SCOPES:
                _STOP.clear()


def stop_uploads() -> None:
    """Make every upload in flight inside :class:`stoppable_uploads` fail at its next check."""
    _STOP.set()


def uploads_stopped() -> bool:
    return _STOP.is_set()


def _stops_in_force() -> tuple[threading.Event, ...]:
    """The stops an upload starting now in this context obeys."""
    own = operation_stop.get()
    stops = () if own is None else (own,)
    return (*stops, _STOP) if _SCOPES else stops


def _check(stops: tuple[threading.Event, ...]) -> None:
    for stop in stops:
        if stop.is_set():
            raise UploadAborted(
                "the upload was stopped (the command was interrupted)"
                if stop is _STOP
                else "the upload was stopped (its async operation was cancelled)"
            )


def raise_if_stopped(*progress: Any) -> None:
    """Raise :class:`UploadAborted` once the upload must stop (its async operation was cancelled,
    or :func:`stop_uploads` was called in a command): for code that runs in the upload's own
    context. A backend's SDK callbacks (which may run on the SDK's threads) call
    ``source.checkpoint`` instead."""
    _check(_stops_in_force())


class _Stoppable(io.RawIOBase):
    """An upload's content that raises :class:`UploadAborted` at its next read once one of
    ``stops`` is set; seeking is the wrapped stream's, closing leaves it open (the core may
    rewind it to retry under another name)."""

    def __init__(self, fileobj: Any, stops: tuple[threading.Event, ...]) -> None:
        super().__init__()
        self._fileobj, self._stops = fileobj, stops

    def check(self, *progress: Any) -> None:
        """Raise ``UploadAborted`` once the upload must stop (also an SDK progress callback)."""
        _check(self._stops)

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1) -> Any:
        self.check()
        return self._fileobj.read(n)

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        self.check()
        return read_into(self._fileobj, buffer)

    def seekable(self) -> bool:
        seekable = getattr(self._fileobj, "seekable", None)
        return bool(seekable and seekable())

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._fileobj.seek(offset, whence)

    def tell(self) -> int:
        return self._fileobj.tell()

    def close(self) -> None:
        super().close()


class ChunkReader(io.RawIOBase):
    """A readable, non-seekable byte stream over an iterable of chunks (``bytes`` or ``str``)."""

    def __init__(self, chunks: Iterable[Any], encoding: str = "utf-8") -> None:
        super().__init__()
        self._chunks: Iterator[Any] = iter(chunks)
        self._pending = memoryview(b"")
        self._encoding = encoding

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            if isinstance(chunk, str):
                chunk = chunk.encode(self._encoding)
            self._pending = memoryview(chunk).cast("B")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


@dataclass
class UploadSource:
    """The content of one upload.

    ``fileobj`` is a binary stream positioned at the start of the content;
    ``size`` is its length when known (``None`` for a stream); ``path`` is set
    when the content is a regular file on local disk that the SDK may read
    itself. ``seekable`` tells whether ``rewind()`` can restart it.
    """

    fileobj: IO[bytes] | Any
    size: int | None = None
    path: str | None = None
    seekable: bool = False
    #: Bytes the content is known to have at least (a PipeWriter past its threshold).
    min_size: int = 0
    #: Raises ``UploadAborted`` once the upload must stop (see :meth:`stoppable`): for SDK
    #: progress callbacks, called as each part or block is sent (reads of ``fileobj`` check it
    #: already). None: nothing can stop this upload.
    checkpoint: Callable[..., None] | None = None

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> UploadSource:
        return cls(io.BytesIO(bytes(data)), size=len(data), seekable=True)

    @classmethod
    def from_content(cls, content: Any, *, gzip: bool = False) -> UploadSource:
        """The upload source for ``content``: a Django ``File``, a file object, bytes or str."""
        if isinstance(content, (bytes, bytearray, memoryview)):
            source = cls.from_bytes(content)
        elif isinstance(content, str):
            source = cls.from_bytes(content.encode("utf-8"))
        else:
            source = cls._from_file(content)
        if gzip:
            return cls(GzipCompressionWrapper(source.fileobj), size=None, seekable=False)
        return source

    @classmethod
    def _from_file(cls, content: Any) -> UploadSource:
        path = None
        if hasattr(content, "temporary_file_path"):
            try:
                path = content.temporary_file_path()
            except Exception:  # a closed or moved temporary file: read it as a stream
                path = None
        raw = getattr(content, "file", None) or content
        if not hasattr(raw, "read") and hasattr(content, "chunks"):
            return cls(ChunkReader(content.chunks(COPY_CHUNK)))
        seekable = _rewind(raw)
        probe = raw.read(0)
        if isinstance(probe, str):  # a text stream (ContentFile("text"), StringIO)
            return cls(ChunkReader(iter(lambda: raw.read(COPY_CHUNK), "")))
        size = _remaining_size(raw) if seekable else None
        if path is None:
            path = _disk_path(raw)
        return cls(raw, size=size, path=path, seekable=seekable)

    def peek(self, limit: int) -> UploadSource:
        """This content, with its size known if it is at most ``limit`` bytes. A stream of unknown
        size is read up to ``limit + 1`` bytes: a shorter one becomes an in-memory source (one
        request where the SDK needs the size up front), a longer one replays them, then the rest."""
        if self.size is not None or self.min_size > limit:
            return self
        head = FullReader(self.fileobj).read(limit + 1)
        if len(head) <= limit:
            return UploadSource.from_bytes(head)
        rest = iter(lambda: self.fileobj.read(COPY_CHUNK), b"")
        return UploadSource(ChunkReader(itertools.chain([head], rest)), min_size=len(head))

    def rewind(self) -> bool:
        """Restart the content from its first byte; False when it is a one-shot stream."""
        return self.seekable and _rewind(self.fileobj)

    def stoppable(self, keep_path: bool = False) -> UploadSource:
        """This content read through a check of the stops in force (the async operation's own,
        the command's inside :class:`stoppable_uploads`), with ``checkpoint`` set to the same
        check for the SDK's progress callbacks; itself when nothing can stop it. The local path
        is dropped (an SDK reading the file by itself could not be stopped) unless
        ``keep_path``: the backend calls ``checkpoint`` as the SDK sends each part."""
        stops = _stops_in_force()
        if not stops or isinstance(self.fileobj, _Stoppable):
            return self
        reader = _Stoppable(self.fileobj, stops)
        return UploadSource(
            reader,
            size=self.size,
            path=self.path if keep_path else None,
            seekable=self.seekable,
            min_size=self.min_size,
            checkpoint=reader.check,
        )


def _rewind(fileobj: Any) -> bool:
    seekable = getattr(fileobj, "seekable", None)
    try:
        if seekable is not None and not seekable():
            return False
        fileobj.seek(0)
        return True
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return False


def _remaining_size(fileobj: Any) -> int | None:
    try:
        start = fileobj.tell()
        end = fileobj.seek(0, io.SEEK_END)
        fileobj.seek(start)
        return int(end - start)
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


def _disk_path(fileobj: Any) -> str | None:
    """The path of a regular file opened in binary mode, when ``fileobj`` is one."""
    name = getattr(fileobj, "name", None)
    fileno = getattr(fileobj, "fileno", None)
    if not isinstance(name, str) or fileno is None or "b" not in getattr(fileobj, "mode", "b"):
        return None
    try:
        opened = os.fstat(fileno())
        named = os.stat(name)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    import stat

    return name if stat.S_ISREG(opened.st_mode) and os.path.samestat(opened, named) else None


_EOF = object()
_ABORT = object()


class _PipeReader(io.RawIOBase):
    """The reading end of a :class:`PipeWriter`: what the SDK reads on the worker thread."""

    def __init__(self, head: Iterable[Any], q: queue.Queue[Any]) -> None:
        super().__init__()
        self._pending = memoryview(b"")
        #: What the writer held before the upload started, read before the queue (and dropped
        #: piece by piece as it is read).
        self._head = collections.deque(head)
        self._queue = q
        self._done = False
        #: Set by the writer when it was interrupted: the upload must fail, even past the end.
        self.aborted = threading.Event()

    def readable(self) -> bool:
        return True

    def _next(self) -> Any:
        while True:
            if self.aborted.is_set():
                return _ABORT
            try:
                return self._queue.get(timeout=0.5)
            except queue.Empty:
                continue

    def read(self, n: int | None = -1) -> bytes:
        # At most what is pending: RawIOBase.read(n) would allocate n bytes for each call (an SDK
        # asks for a whole part at a time, and gets one queued item per call).
        if n is None or n < 0:
            return self.readall()
        if not self._fill():
            return b""
        data = bytes(self._pending[:n])
        self._pending = self._pending[len(data) :]
        return data

    def _fill(self) -> bool:
        """Something pending to read (False at the end)."""
        if self.aborted.is_set():
            self._done = True
            raise UploadAborted("the upload was aborted by its writer")
        while not self._pending:
            # drop a spent buffer at once (an empty slice still holds all of it)
            self._pending = memoryview(b"")
            if self._done:
                return False
            item = self._head.popleft() if self._head else self._next()
            if item is _EOF:
                self._done = True
                return False
            if item is _ABORT:
                self._done = True
                raise UploadAborted("the upload was aborted by its writer")
            self._pending = memoryview(item)
        return True

    def readinto(self, buffer: Any) -> int:  # type: ignore[override]
        if not self._fill():
            return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class PipeWriter(io.RawIOBase):
    """A writable stream feeding ``upload(source)`` in bounded memory.

    Up to ``threshold`` bytes are held; if ``close()`` comes first they go out
    as one ``upload()`` of known size (one request on most providers). Past
    the threshold, ``upload()`` starts on a worker thread reading from a queue
    of at most ``queue_bytes`` bytes, so the SDK streams the rest (in parts,
    concurrently where it can). ``close()`` waits for the upload and raises
    its error (``FileExistsError`` for a create-only conflict); ``abort()``
    makes the upload fail so the SDK discards what it had sent.
    """

    def __init__(
        self,
        upload: Callable[[UploadSource], None],
        threshold: int,
        queue_bytes: int = 2 * COPY_CHUNK,
    ) -> None:
        super().__init__()
        self._upload = upload
        self.threshold = max(1, int(threshold))
        # What is held before the upload starts: full 1 MiB pieces, then the one being filled
        # (pieces, so the upload drops each once it has read it).
        self._pieces: list[bytearray] = []
        self._tail = bytearray()
        self._held = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max(2, queue_bytes // COPY_CHUNK))
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.bytes_written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed upload")
        view = memoryview(data).cast("B")
        size = len(view)
        self.bytes_written += size
        if self._thread is None:
            # Held up to the threshold only: the rest of a large write streams from the caller's
            # buffer.
            room = self.threshold + 1 - self._held
            head, view = view[:room], view[room:]
            self._held += len(head)
            while head:
                take = COPY_CHUNK - len(self._tail)
                self._tail += head[:take]
                head = head[take:]
                if len(self._tail) >= COPY_CHUNK:
                    self._pieces.append(self._tail)
                    self._tail = bytearray()
            if self._held <= self.threshold:
                return size
            self._start()
        for start in range(0, len(view), COPY_CHUNK):
            self._put(bytes(view[start : start + COPY_CHUNK]))
        return size

    def _take_held(self) -> list[bytearray]:
        held = [*self._pieces, self._tail] if self._tail else self._pieces
        self._pieces, self._tail, self._held = [], bytearray(), 0
        return held

    def _start(self) -> None:
        # handed over as they are: a copy would hold the threshold twice for a moment
        started_with = self._held
        reader = self._reader = _PipeReader(self._take_held(), self._queue)
        # Waited on instead of Thread.join(): a join interrupted by Ctrl-C marks the thread as
        # stopped while it still runs (CPython 3.11-3.12), so a second join returns at once.
        finished = self._finished = threading.Event()

        def run() -> None:
            try:
                self._upload(UploadSource(reader, min_size=started_with))
            except BaseException as exc:  # handed to the writing thread
                self._error = exc
            finally:
                # Unblock a writer waiting on a full queue after a failure.
                while True:
                    try:
                        self._queue.get_nowait()
                    except queue.Empty:
                        break
                finished.set()

        self._thread = threading.Thread(target=run, name="storages-upload", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> None:
        assert self._thread is not None
        while True:
            if self._error is not None or not self._thread.is_alive():
                self._raise_error()
                if item is _ABORT:
                    return
                raise OSError("the upload stopped before all data was sent")
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise_error(self) -> None:
        error = self._error
        if error is not None and not isinstance(error, UploadAborted):
            self._error = None
            raise error

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._thread is None:
                # One request of known size; the pieces are moved into it one by one.
                whole = io.BytesIO(bytes(self._held))
                held = self._take_held()
                while held:
                    whole.write(held.pop(0))
                data = whole.getvalue()
                del whole
                self._upload(UploadSource.from_bytes(data))
            else:
                try:
                    self._put(_EOF)
                    self._finished.wait()
                except BaseException:
                    # Interrupted (Ctrl-C) while the upload finishes: it must not commit on its
                    # own. It fails instead, and the SDK discards what it sent before this
                    # raises (a second Ctrl-C stops the wait).
                    self._reader.aborted.set()
                    self._finished.wait()
                    raise
                self._raise_error()
        finally:
            self._take_held()
            super().close()

    def abort(self) -> None:
        """Discard what was written: nothing is stored under the name."""
        if self.closed:
            return
        try:
            if self._thread is not None:
                try:
                    self._put(_ABORT)
                except Exception:
                    pass
                self._reader.aborted.set()  # past an _EOF already queued too
                self._finished.wait()
                if self._error is not None and not isinstance(self._error, UploadAborted):
                    logger.debug("aborted upload ended with %r", self._error)
        finally:
            self._take_held()
            super().close()

    def __del__(self) -> None:
        # Never commit from the garbage collector: an unclosed writer stores nothing.
        if not self.closed:
            self.abort()


class FullReader:
    """A source as SDK transfer helpers want it.

    ``read(n)`` returns ``n`` bytes until the end (s3transfer sizes parts by single reads, and
    GCS's resumable upload takes a short read for the end; a pipe or socket gives short ones);
    ``tell()`` counts what was read when the stream can't seek; ``close()`` leaves the caller's
    file open (s3transfer closes what it uploads; the core may rewind it to retry under another
    name). Other attributes are the wrapped file's.
    """

    def __init__(self, fileobj: Any) -> None:
        self._fileobj, self._pos = fileobj, 0
        self._in_place = True

    def read(self, n: int | None = -1) -> bytes:
        readinto = getattr(self._fileobj, "readinto", None) if self._in_place else None
        if n is not None and n >= _IN_PLACE and readinto is not None:
            data = self._read_in_place(readinto, n)
            if data is not None:
                return data
            self._in_place = False  # a file-like object whose readinto() is a stub
        first = self._fileobj.read(n)
        if n is None or n < 0 or not first or len(first) >= n:
            self._pos += len(first)
            return first
        # Short reads gathered in place: an SDK's part is held once, not as pieces and their join
        # (BytesIO gives up its buffer without a copy when nothing else holds it).
        whole = io.BytesIO(bytes(n))
        whole.write(first)
        del first
        while whole.tell() < n and (more := self._fileobj.read(n - whole.tell())):
            whole.write(more)
        got = whole.tell()
        whole.truncate(got)
        self._pos += got
        return whole.getvalue()

    def _read_in_place(self, readinto: Callable[[Any], int | None], n: int) -> bytes | None:
        # Read into the buffer the part is returned in: held once, whatever the source (a
        # RawIOBase's read(n) would allocate n bytes, then copy them). None: readinto() is a stub.
        whole, got = io.BytesIO(bytes(n)), 0
        with whole.getbuffer() as view:
            while got < n:
                try:
                    with view[got:] as rest:
                        more = readinto(rest)
                except (NotImplementedError, io.UnsupportedOperation):
                    if got:
                        raise
                    return None
                if not more:
                    break
                got += more
        whole.truncate(got)
        self._pos += got
        return whole.getvalue()

    def tell(self) -> int:
        seekable = getattr(self._fileobj, "seekable", None)
        return self._fileobj.tell() if seekable is not None and seekable() else self._pos

    def close(self) -> None:
        pass

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._fileobj, attr)

"""One remote file class for every backend.

A backend supplies two hooks on the storage:

* ``_open_reader(key, offset, end=None) -> ReadResult``: a streaming body of
  bytes ``[offset, end)`` plus the object's :class:`ObjectInfo`. Raises
  ``FileNotFoundError`` when the object is missing.
* ``_upload(spec, source)``: stores an upload (see :mod:`storages.transfer`);
  ``open(name, "wb")`` feeds it through a bounded :class:`~storages.transfer.PipeWriter`.

:class:`RemoteFile` handles modes, text/binary, lazy reads, ``seek()``
without waste, parallel read-ahead, pickling and upload-on-close, in bounded memory.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import re
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.core.files.base import File

from storages.compress import GzipReader

if TYPE_CHECKING:
    from storages.base import BaseStorage

logger = logging.getLogger(__name__)

__all__ = [
    "ObjectInfo",
    "ReadResult",
    "UploadSpec",
    "RemoteReader",
    "ReadAhead",
    "CheckedBody",
    "RemoteFile",
    "is_temp_name",
    "Leftover",
    "http_range",
    "parse_time",
    "parse_mode",
    "TranslatedBody",
    "open_range",
]

READ_BUFFER = 64 * 1024


@dataclass
class ObjectInfo:
    """What a backend knows about one stored object (times are aware UTC)."""

    size: int
    modified: dt.datetime | None = None
    created: dt.datetime | None = None
    accessed: dt.datetime | None = None
    content_type: str | None = None
    content_encoding: str | None = None
    etag: str | None = None
    #: Content hashes the provider stores, as lowercase hex, keyed by
    #: :data:`storages.hashing.KINDS` ("md5", "crc32c", "dropbox", "sha256").
    hashes: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReadResult:
    """What ``_open_reader()`` got: a body and the object's info, plus what the server said
    about the body, so the core (:func:`open_range`) can check it is the range asked for.

    HTTP backends fill ``status``, ``content_range`` and ``length`` from the reply; the rest leave
    them None (the body is then taken as the range asked for, and its length is still checked).
    """

    body: IO[bytes] | Any  # anything with read(n) and close()
    info: ObjectInfo
    #: The reply's HTTP status (200, 206), or None where there is none (SFTP, FTP, a folder).
    status: int | None = None
    #: The reply's ``Content-Range`` ("bytes first-last/size"), if any.
    content_range: str | None = None
    #: The body's announced length (``Content-Length``), if known.
    length: int | None = None
    #: False when the body is not the stored bytes (a transcoded download): no checksum applies.
    stored_bytes: bool = True


@dataclass
class UploadSpec:
    """What the core decided about an upload; backends map it to their SDK."""

    name: str
    key: str
    content_type: str
    content_encoding: str | None = None
    create_only: bool = False
    #: Backend-specific upload parameters (e.g. S3 object parameters).
    params: dict[str, Any] = field(default_factory=dict)
    #: Part size asked for by the caller (files written through open()).
    part_size: int | None = None


TEMP_PREFIX = ".~storages-"
TEMP_SUFFIX = ".part"


@dataclass
class Leftover:
    """What an upload that never finished left on the server (its process was killed): an S3
    multipart upload, Azure uncommitted blocks, a hidden temporary file on a file server."""

    #: The key (below the storage's location) the upload was writing to, or the temporary file's.
    key: str
    #: When the upload started, or last wrote (aware UTC); None when the server does not say.
    started: dt.datetime | None
    #: Bytes the server holds for it (None: unknown).
    size: int | None
    #: What it is, as the report says it ("multipart upload", "uncommitted blocks", ...).
    kind: str
    #: What the provider needs to remove it (S3: the UploadId).
    ref: Any = None


def _from_iso(text: str) -> dt.datetime:
    # Python < 3.11 reads only 3 or 6 digits of a second's fraction and "+HH:MM" offsets: providers
    # send 1-9 digits ("...30.1234567Z") and "+0000", so normalise to those forms first.
    text = re.sub(
        r"\.(\d+)", lambda m: "." + (m.group(1) + "00000")[:6], text.replace("Z", "+00:00"), count=1
    )
    return dt.datetime.fromisoformat(re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text))


def parse_time(value: Any) -> dt.datetime | None:
    """A provider's timestamp as an aware datetime (naive ones are UTC): a datetime, POSIX seconds,
    or text in RFC 1123 (HTTP headers), ISO 8601 or FTP's YYYYMMDDHHMMSS[.sss]; None if it is none
    of them."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    parsed = value if isinstance(value, dt.datetime) else None
    text = str(value or "").strip()
    for parse in (
        lambda t: dt.datetime.strptime(t[:14], "%Y%m%d%H%M%S") if t[:14].isdigit() else None,
        email.utils.parsedate_to_datetime,
        _from_iso,
    ):
        try:
            parsed = parsed or (parse(text) if text else None)
        except (TypeError, ValueError, IndexError):
            continue
    return parsed.replace(tzinfo=parsed.tzinfo or dt.timezone.utc) if parsed else None


def http_range(offset: int, end: int | None = None) -> dict[str, str]:
    """``{"Range": ...}`` for bytes ``[offset, end)`` (end exclusive, None: to the end); ``{}`` for
    all of it."""
    if not offset and end is None:
        return {}
    return {"Range": f"bytes={offset}-{'' if end is None else end - 1}"}


def is_temp_name(filename: str) -> bool:
    """True for the hidden names file servers upload to before renaming
    (:mod:`storages.fileserver`); kept out of listdir."""
    return filename.startswith(TEMP_PREFIX) and filename.endswith(TEMP_SUFFIX)


@dataclass(frozen=True)
class ReadAhead:
    """How a large object read from start to end is fetched: ranges ahead, on several connections.

    Once a reader has consumed ``part_size`` bytes in order from an object of at
    least ``threshold`` bytes, it fetches the following ``part_size`` ranges on
    ``concurrency`` connections, holding at most ``concurrency + 1`` parts in
    memory (:attr:`window`, the one memory bound of a read). ``enabled=False`` keeps
    one streaming request per read.

    Many small ranges rather than a few large ones: a range costs a round trip before its
    first byte, and a connection's throughput is capped by the path (TCP window, a proxy's
    share), so on a WAN, 10 connections of 2 MiB ranges read 200 MB about 1.5x faster than
    6 of 4 MiB, in about the same memory (bench/bench_s3.py --wan).
    """

    threshold: int = 8 * 1024 * 1024
    part_size: int = 2 * 1024 * 1024
    concurrency: int = 10
    enabled: bool = True

    @property
    def window(self) -> int:
        """Bytes of the object held in memory at most (the parts in flight and the current one)."""
        return (self.concurrency + 1) * self.part_size if self.enabled else 0

    @classmethod
    def coerce(cls, value: Any, label: str = "read_ahead") -> ReadAhead:
        """Accept a ReadAhead, a dict of its fields, True/None (defaults) or False (off)."""
        if isinstance(value, cls):
            return value
        if value is None or value is True:
            return cls()
        if value is False:
            return cls(enabled=False)
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"threshold", "part_size", "concurrency", "enabled"})
            if unknown:
                from django.core.exceptions import ImproperlyConfigured

                raise ImproperlyConfigured(
                    f"{label}: unknown key(s) {', '.join(unknown)}; valid: threshold, part_size, "
                    "concurrency, enabled"
                )
            return cls(**value)
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(
            f"{label} must be a dict, a storages.files.ReadAhead, True or False"
        )


def read_into(body: Any, buffer: Any) -> int:
    """Fill ``buffer`` from a provider body that has ``readinto()`` or only ``read()``; 0 at the
    end."""
    reader = getattr(body, "readinto", None)
    if reader is not None:
        return reader(buffer) or 0
    chunk = body.read(len(buffer))
    buffer[: len(chunk)] = chunk
    return len(chunk)


class CheckedBody:
    """A provider's streaming response body, for ``ReadResult.body``.

    ``read(n)`` pulls bytes from the SDK or HTTP response. A read that fails with one
    of ``errors`` (a dropped connection, a read timeout) raises ``on_error(exc)`` instead,
    e.g. the storage's ``StorageUnavailable`` naming its setting. (The core checks the
    length and, for a whole read, the checksum: :func:`open_range`, :class:`RemoteReader`.)
    """

    def __init__(
        self,
        read: Any,
        close: Any,
        *,
        label: str,
        errors: tuple[type[BaseException], ...] = (OSError,),
        on_error: Any = None,
    ) -> None:
        self._read, self.close, self.label = read, close, label
        self.errors, self.on_error = errors, on_error

    def read(self, n: int = -1) -> bytes:
        try:
            return self._read(None if n is None or n < 0 else n)
        except self.errors as exc:
            if self.on_error is None:
                raise
            raise self.on_error(exc) from exc

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _WholeObject(Exception):
    """A ranged read was answered with the whole object (a server or proxy ignoring ``Range``)."""


_CONTENT_RANGE = re.compile(r"\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$", re.IGNORECASE)


def _where(storage: BaseStorage, key: str) -> str:
    return f"{type(storage).__name__} ({storage._endpoint_label()}): {storage._name(key)!r}"


def _body_start(result: ReadResult, offset: int, stop: int) -> int | None:
    """Where in the object the body's first byte is (None: it can't be told, or it does not
    cover ``[offset, stop)``)."""
    size, length = result.info.size, result.length
    if result.content_range:
        match = _CONTENT_RANGE.match(result.content_range)
        if match is None:
            return None
        first, last = int(match.group(1)), int(match.group(2))
        return first if first <= offset and last + 1 >= stop else None
    if result.status == 206:
        return None  # a partial answer that does not say which part
    if length is not None and length == stop - offset:
        return offset  # exactly the bytes asked for
    if result.status is None and length is None:
        return offset  # not HTTP (SFTP, FTP, a folder): the body is what was asked for
    if length is None or length == size:
        return 0  # the whole object (a 200 to a ranged GET)
    return None


def open_range(
    storage: BaseStorage, key: str, offset: int, end: int | None = None, *, whole_ok: bool = True
) -> ReadResult:
    """``storage._open_reader(key, offset, end)``, checked: the body yields exactly bytes
    ``[offset, end)`` of the object or raises ``StorageError``, never other bytes.

    A ranged read is accepted as a ``206`` whose ``Content-Range`` covers the range, or a body of
    exactly the requested length. A ``200`` with the whole object (a server, proxy or CDN that
    ignores ``Range``) is read through to ``offset`` (``whole_ok``), or raises
    :class:`_WholeObject` (the read-ahead then falls back to one stream). A body that ends
    before the range does is an error, never a short file. At the end of the range the body is
    closed at once, so its connection goes back to the pool even if the file is never closed.
    """
    result = storage._open_reader(key, offset, end)
    size = result.info.size
    stop = size if end is None else min(end, size)
    want = max(0, stop - offset)
    start = offset if want == 0 else _body_start(result, offset, stop)
    if start != offset:
        close = getattr(result.body, "close", None)
        if (start is None or not whole_ok) and close is not None:
            close()
        if start is None:
            from storages.errors import StorageError

            raise StorageError(
                f"{_where(storage, key)}: a read of bytes {offset}-{stop - 1} got an answer that "
                f"does not hold them (status {result.status}, Content-Range "
                f"{result.content_range!r}, {result.length} bytes); a proxy or server in between "
                "mishandles Range requests"
            )
        if not whole_ok:
            raise _WholeObject(_where(storage, key))
    # A length the server announced is owed in full; a file server's file (no status, no
    # length: SFTP, FTP) may shrink while it is read, and then ends where the file does.
    strict = result.status is not None or result.length is not None
    result.body = _ExactBody(result.body, offset - start, want, storage, key, offset, strict)
    return result


class _ExactBody:
    """Bytes ``[skip, skip + want)`` of a provider body, exactly: a body that ends sooner is an
    error (``strict``; else the end of a file that shrank); at the end the provider body is
    closed (its connection released)."""

    def __init__(
        self,
        body: Any,
        skip: int,
        want: int,
        storage: BaseStorage,
        key: str,
        offset: int,
        strict: bool = True,
    ) -> None:
        self.body, self.skip, self.left, self.want = body, skip, want, want
        self.strict = strict
        self.storage, self.key, self.offset = storage, key, offset
        if not want:
            self.close()

    def _short(self) -> Exception:
        from storages.errors import StorageError

        got = self.want - self.left
        return StorageError(
            f"{_where(self.storage, self.key)}: the server sent {got} of the {self.want} bytes "
            f"from byte {self.offset} and ended the reply: the read is incomplete; read it again"
        )

    def readinto(self, buffer: Any) -> int:
        if self.body is None or not self.left:
            return 0
        while self.skip:  # a whole object answered a ranged read: read through to the offset
            scratch = memoryview(bytearray(min(self.skip, READ_BUFFER)))
            n = read_into(self.body, scratch)
            if not n:
                self.close()
                raise self._short()
            self.skip -= n
        view = memoryview(buffer).cast("B")
        n = read_into(self.body, view[: min(len(view), self.left)])
        if not n:
            self.close()
            if not self.strict:
                return 0
            raise self._short()
        self.left -= n
        if not self.left:
            self.close()
        return n

    def read(self, n: int = -1) -> bytes:
        buffer = bytearray(self.left if n is None or n < 0 else min(n, self.left))
        got = self.readinto(buffer) if buffer else 0
        del buffer[got:]
        return bytes(buffer)

    def close(self) -> None:
        body, self.body = self.body, None
        close = getattr(body, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # pragma: no cover - closing a half-read stream
                pass


class _Digest:
    """The checksum of a read from the first byte to the last, against the one the provider
    stored (a sequential whole read; any other read pattern gives up)."""

    #: Cheapest first: the provider's hashes are all of the stored bytes.
    ORDER = ("crc32c", "md5", "dropbox", "sha256")

    def __init__(self, result: ReadResult) -> None:
        from storages.hashing import _hasher

        self.hasher: Any = None
        self.done = 0
        if not result.stored_bytes:
            return
        for kind in self.ORDER:
            expected = result.info.hashes.get(kind)
            if expected and (hasher := _hasher(kind)) is not None:
                self.kind, self.expected, self.hasher = kind, expected.lower(), hasher
                return

    def update(self, pos: int, data: Any, size: int, where: str) -> None:
        if self.hasher is None or pos + len(data) <= self.done:
            return
        if pos > self.done:  # a gap (a seek forward): this read can't be checked
            self.hasher = None
            return
        self.hasher.update(data[self.done - pos :])
        self.done = pos + len(data)
        if self.done >= size:
            got, self.hasher = self.hasher.hexdigest(), None
            if got != self.expected:
                from storages.errors import StorageError

                raise StorageError(
                    f"{where} arrived corrupted ({self.kind} {got}, the server reports "
                    f"{self.expected}); read it again"
                )


#: A forward seek within this many bytes of an open body reads and drops them
#: instead of starting a new request (cheaper than a round trip).
SKIP_LIMIT = 512 * 1024
#: Bytes a read-ahead thread asks its body for at once.
_FETCH_SLICE = 256 * 1024


class _Prefetch:
    """Ranges of one object fetched ahead in order by a small thread pool (bounded window)."""

    def __init__(
        self, storage: BaseStorage, key: str, start: int, size: int, config: ReadAhead
    ) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.storage, self.key, self.size, self.config = storage, key, size, config
        self.pool = ThreadPoolExecutor(
            max_workers=max(1, config.concurrency), thread_name_prefix="storages-read"
        )
        self.next_start = start
        self.window: list[tuple[int, Any]] = []
        self.current = memoryview(b"")
        self.current_start = start
        # Part buffers are reused once the reader has moved past them: a read allocates at most
        # concurrency + 1 of them, instead of one per range (freed buffers of many threads would
        # stay in the allocator's per-thread arenas and grow the process far beyond the window).
        self._held: bytearray | None = None
        self._free: list[bytearray] = []
        self._fill()

    def _fetch(self, start: int, end: int) -> tuple[bytearray, int]:
        result = open_range(self.storage, self.key, start, end, whole_ok=False)
        try:
            buf = self._free.pop()
        except IndexError:
            buf = bytearray(self.config.part_size)
        view = memoryview(buf)[: end - start]
        got = 0
        try:
            while got < len(view):
                # in slices: an SDK may allocate what it is asked for before copying it
                got += result.body.readinto(view[got : got + _FETCH_SLICE])
            return buf, got
        except BaseException:
            view.release()
            self._free.append(buf)
            raise
        finally:
            view.release()
            result.body.close()

    def _fill(self) -> None:
        while len(self.window) < max(1, self.config.concurrency) and self.next_start < self.size:
            end = min(self.size, self.next_start + self.config.part_size)
            self.window.append(
                (self.next_start, self.pool.submit(self._fetch, self.next_start, end))
            )
            self.next_start = end

    def _release_current(self) -> None:
        self.current.release()
        self.current = memoryview(b"")
        held, self._held = self._held, None
        if held is not None:
            self._free.append(held)

    def readinto(self, pos: int, buffer: Any) -> int:
        """Copy bytes at ``pos`` into ``buffer``; ``pos`` must not be behind the current part."""
        while pos >= self.current_start + len(self.current):
            if not self.window:
                return 0
            self.current_start, future = self.window.pop(0)
            self._release_current()
            self._held, got = future.result()
            self.current = memoryview(self._held)[:got]
            self._fill()
        offset = pos - self.current_start
        n = min(len(buffer), len(self.current) - offset)
        buffer[:n] = self.current[offset : offset + n]
        return n

    def covers(self, pos: int) -> bool:
        return self.current_start <= pos < self.next_start

    def close(self) -> None:
        for _, future in self.window:
            future.cancel()
        self.window = []
        self._release_current()
        self._free = []
        self.pool.shutdown(wait=False)


class RemoteReader(io.RawIOBase):
    """A lazy, seekable byte stream over a backend's ranged reads.

    The first body may be handed in (so ``open()`` + ``read()`` is one
    request). ``seek()`` only moves a position: a read at the position the
    open body has reached continues it (so seeking to the end and back, as
    ``FileResponse`` does, costs nothing), a short forward skip reads through,
    anything else starts a ranged read. A large object read in order switches
    to a bounded parallel read-ahead (:class:`ReadAhead`).
    """

    def __init__(self, storage: BaseStorage, key: str, first: ReadResult | None = None) -> None:
        super().__init__()
        self.storage = storage
        self.key = key
        self._pos = 0
        self._body: Any = None
        self._body_pos = 0
        self._sequential = 0
        self._prefetch: _Prefetch | None = None
        #: False once the server answered a ranged read with the whole object: no read-ahead.
        self._ranges = True
        self._digest: _Digest | None = None
        self.info: ObjectInfo | None = None
        if first is not None:
            self._body = first.body
            self.info = first.info
            self._digest = _Digest(first)

    @property
    def size(self) -> int:
        if self.info is None:
            self._fetch(self._pos)
        assert self.info is not None
        return self.info.size

    def _fetch(self, offset: int) -> None:
        self._close_body()
        result = open_range(self.storage, self.key, offset)
        self._body = result.body
        self._body_pos = offset
        self.info = result.info
        if offset == 0 and self._digest is None:
            self._digest = _Digest(result)

    def _close_body(self) -> None:
        body, self._body = self._body, None
        if body is not None and hasattr(body, "close"):
            try:
                body.close()
            except Exception:  # pragma: no cover - closing a half-read stream
                pass

    def _close_prefetch(self) -> None:
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            prefetch.close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def _read_body(self, buffer: Any) -> int:
        return read_into(self._body, buffer)

    def _config(self) -> ReadAhead:
        value = getattr(self.storage, "read_ahead", None)
        return ReadAhead.coerce(
            value if value is not None else getattr(self.storage, "default_read_ahead", None)
        )

    def readinto(self, buffer) -> int:  # type: ignore[override]
        pos = self._pos
        n = self._readinto(buffer)
        if n and self._digest is not None and self.info is not None:
            self._digest.update(
                pos, memoryview(buffer)[:n], self.info.size, _where(self.storage, self.key)
            )
        return n

    def _readinto(self, buffer: Any) -> int:
        if self.info is not None and self._pos >= self.info.size:
            return 0
        if self._prefetch is not None:
            if self._prefetch.covers(self._pos) and self._pos >= self._prefetch.current_start:
                try:
                    n = self._prefetch.readinto(self._pos, buffer)
                except _WholeObject:
                    logger.warning(
                        "%s answered a ranged read with the whole object (a server or proxy that "
                        "ignores Range): reading on as one stream",
                        _where(self.storage, self.key),
                    )
                    self._ranges = False
                    self._close_prefetch()
                    return self._readinto(buffer)
                self._pos += n
                return n
            self._close_prefetch()
        if self._body is not None and 0 < self._pos - self._body_pos <= SKIP_LIMIT:
            self._skip(self._pos - self._body_pos)
        if self._body is None or self._body_pos != self._pos:
            self._sequential = 0
            self._fetch(self._pos)
            if self._pos >= self.size:
                return 0
        config = self._config()
        if (
            config.enabled
            and self._ranges
            and self._sequential >= config.part_size
            and self.info is not None
            and self.info.size >= config.threshold
            and self.info.size - self._pos > config.part_size
        ):
            self._close_body()
            self._prefetch = _Prefetch(self.storage, self.key, self._pos, self.info.size, config)
            return self._readinto(buffer)
        n = self._read_body(buffer)
        self._pos += n
        self._body_pos += n
        self._sequential += n
        return n

    def _skip(self, count: int) -> None:
        scratch = bytearray(min(count, 64 * 1024))
        while count > 0:
            n = self._read_body(memoryview(scratch)[: min(count, len(scratch))])
            if n <= 0:
                self._close_body()
                return
            count -= n
            self._body_pos += n

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        self._pos = target
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        self._close_prefetch()
        self._close_body()
        super().close()


def parse_mode(mode: str) -> tuple[bool, bool]:
    """Return ``(writing, binary)`` for a mode string; refuse what we can't do."""
    allowed = set("rwbtx")
    if not mode or set(mode) - allowed or sum(mode.count(c) for c in "rwx") != 1:
        extra = (
            " (remote objects can't be updated in place: read, then save a new file)"
            if ("+" in mode or "a" in mode)
            else ""
        )
        raise ValueError(f"unsupported file mode {mode!r}; use 'r', 'rb', 'w' or 'wb'{extra}")
    if "b" in mode and "t" in mode:
        raise ValueError(f"mode {mode!r} can't be both binary and text")
    return ("w" in mode or "x" in mode), ("b" in mode)


class RemoteFile(File):
    """A file in a remote storage, opened for reading or for writing.

    Reading streams the object (one request for a small file, ranged reads
    after ``seek()``); writing streams it to the backend in parts and commits
    on ``close()``. Text modes wrap the same streams with UTF-8.
    """

    def __init__(self, name: str, mode: str, storage: BaseStorage, encoding: str = "utf-8") -> None:
        self.name = name
        self.mode = mode
        self._storage = storage
        self._encoding = encoding
        self._writing, self._binary = parse_mode(mode)
        self._file: Any = None
        self._raw: Any = None
        self._committed = False
        if not self._writing:
            # Fetch now: a missing file fails at open(), and the body is kept
            # for the first read (open + read of a small file = one request).
            self._open_stream()

    # Django's File reads ``self.file``; keep it lazy so pickled files reopen.
    @property
    def storage(self) -> BaseStorage:
        return self._storage

    def _open_stream(self) -> None:
        st = self._storage
        if self._writing:
            raw = st._writer_for(self.name, part_size=getattr(self, "buffer_size", None))
            self._raw = raw
            stream: Any = raw
            if not self._binary:
                stream = io.TextIOWrapper(
                    io.BufferedWriter(_Unclosing(raw), buffer_size=READ_BUFFER),
                    encoding=self._encoding,
                    write_through=True,
                )
            self._file = stream
            return
        key = st._key(self.name)
        first = open_range(st, key, 0)
        raw = RemoteReader(st, key, first)
        self._raw = raw
        stream = io.BufferedReader(raw, buffer_size=READ_BUFFER)
        if st._decompress_on_read(first.info):
            stream = io.BufferedReader(GzipReader(stream))
        if not self._binary:
            stream = io.TextIOWrapper(stream, encoding=self._encoding)
        self._file = stream

    def _get_file(self) -> Any:
        if self._file is None:
            self._open_stream()
        return self._file

    def _set_file(self, value: Any) -> None:
        self._file = value

    file = property(_get_file, _set_file)

    @property
    def size(self) -> int:  # type: ignore[override]
        if self._writing:
            return getattr(self._raw, "bytes_written", 0) if self._raw is not None else 0
        self._get_file()
        info = self._raw.info
        if info is not None and self._storage._decompress_on_read(info):
            return self._storage.size(self.name)
        return self._raw.size

    @property
    def closed(self) -> bool:
        return self._file is None or self._file.closed

    def readable(self) -> bool:
        return not self._writing

    def writable(self) -> bool:
        return self._writing

    def seekable(self) -> bool:
        return not self._writing

    def read(self, *args: Any) -> Any:
        if self._writing:
            raise io.UnsupportedOperation(f"{self.name!r} is open for writing (mode {self.mode!r})")
        return self.file.read(*args)

    def readline(self, *args: Any) -> Any:
        if self._writing:
            raise io.UnsupportedOperation(f"{self.name!r} is open for writing (mode {self.mode!r})")
        return self.file.readline(*args)

    def write(self, data: Any) -> int:
        if not self._writing:
            raise io.UnsupportedOperation(f"{self.name!r} is open for reading (mode {self.mode!r})")
        if self._binary and isinstance(data, str):
            data = data.encode(self._encoding)
        elif not self._binary and isinstance(data, (bytes, bytearray)):
            data = bytes(data).decode(self._encoding)
        return self.file.write(data)

    def open(self, mode: str | None = None) -> RemoteFile:  # type: ignore[override]
        if mode is not None and mode != self.mode:
            if not self.closed:
                self.close()
            self.mode = mode
            self._writing, self._binary = parse_mode(mode)
            self._file = None
        if not self.closed and not self._writing:
            self.seek(0)
        elif self._file is None or self._file.closed:
            self._file = None
            self._committed = False
            self._open_stream()
        return self

    def abort(self) -> None:
        """Discard what was written: nothing is stored."""
        if self._writing and self._raw is not None and not self._raw.closed:
            self._raw.abort()
        if self._file is not None:
            try:
                self._file.close()
            except Exception:
                pass

    def close(self) -> None:
        if self._file is None:
            return
        if self._writing:
            if not self._raw.closed:
                try:
                    self._file.flush()
                    self._raw.close()  # commits
                except Exception:
                    raise
                except BaseException:
                    # Interrupted (Ctrl-C) while the last bytes go out: the upload must not
                    # finish on its own. Nothing is stored.
                    self.abort()
                    raise
                self._committed = True
            self._file.close()
        else:
            self._file.close()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None and self._writing:
            self.abort()
        else:
            self.close()

    def __getstate__(self) -> dict[str, Any]:
        if self._writing and not self.closed:
            raise TypeError(f"can't pickle {self.name!r} while it is open for writing")
        state = self.__dict__.copy()
        state["_file"] = None
        state["_raw"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.name} ({self.mode})>"


class _Unclosing(io.RawIOBase):
    """Lets a text/buffered wrapper close without committing the upload twice."""

    def __init__(self, raw: Any) -> None:
        super().__init__()
        self._target = raw

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        return self._target.write(data)


class TranslatedBody:
    """A provider's response body whose read errors come out translated by the storage's
    ``_translate_error`` (a server that freezes or vanishes in the middle of a read becomes
    ``StorageUnavailable``, as it would during the request)."""

    def __init__(self, storage: BaseStorage, body: Any, name: str) -> None:
        self.storage, self.body, self.name, self.close = storage, body, name, body.close

    def readinto(self, buffer: Any) -> int:
        try:
            return read_into(self.body, buffer)
        except Exception as exc:
            raise self.storage._error_for(exc, self.name, "read") or exc from exc

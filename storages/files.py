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
    body: IO[bytes] | Any  # anything with read(n) and close()
    info: ObjectInfo


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
    memory. ``enabled=False`` keeps one streaming request per read.
    """

    threshold: int = 16 * 1024 * 1024
    part_size: int = 4 * 1024 * 1024
    concurrency: int = 4
    enabled: bool = True

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
    e.g. the storage's ``StorageUnavailable`` naming its setting. With ``expected =
    (kind, hex digest)`` (kinds of :mod:`storages.hashing`) and ``size``, a body read to
    its last byte is checked against the digest the provider stored: ``StorageError``
    when it arrived corrupted.
    """

    def __init__(
        self,
        read: Any,
        close: Any,
        *,
        label: str,
        size: int | None = None,
        expected: tuple[str, str] | None = None,
        errors: tuple[type[BaseException], ...] = (OSError,),
        on_error: Any = None,
    ) -> None:
        from storages.hashing import _hasher

        self._read, self.close, self.label = read, close, label
        self.errors, self.on_error = errors, on_error
        self.expected = expected if expected and expected[1] and size is not None else None
        self.remaining = size
        self.hasher = _hasher(self.expected[0]) if self.expected else None

    def read(self, n: int = -1) -> bytes:
        try:
            data = self._read(None if n is None or n < 0 else n)
        except self.errors as exc:
            if self.on_error is None:
                raise
            raise self.on_error(exc) from exc
        if self.hasher is not None and data:
            self.hasher.update(data)
            self.remaining -= len(data)
            if self.remaining <= 0:
                got, self.hasher = self.hasher.hexdigest(), None
                if got != self.expected[1]:
                    from storages.errors import StorageError

                    raise StorageError(
                        f"{self.label} arrived corrupted ({self.expected[0]} {got}, the server "
                        f"reports {self.expected[1]}); read it again"
                    )
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


#: A forward seek within this many bytes of an open body reads and drops them
#: instead of starting a new request (cheaper than a round trip).
SKIP_LIMIT = 512 * 1024


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
        self._fill()

    def _fetch(self, start: int, end: int) -> bytearray:
        result = self.storage._open_reader(self.key, start, end)
        buf = bytearray(end - start)
        view = memoryview(buf)
        got = 0
        try:
            while got < len(buf):
                n = read_into(result.body, view[got:])
                if not n:
                    raise OSError(
                        f"short read of {self.key!r} at {start}: {got} of {len(buf)} bytes"
                    )
                got += n
            return buf
        finally:
            view.release()
            close = getattr(result.body, "close", None)
            if close is not None:
                close()

    def _fill(self) -> None:
        while len(self.window) < max(1, self.config.concurrency) and self.next_start < self.size:
            end = min(self.size, self.next_start + self.config.part_size)
            self.window.append(
                (self.next_start, self.pool.submit(self._fetch, self.next_start, end))
            )
            self.next_start = end

    def readinto(self, pos: int, buffer: Any) -> int:
        """Copy bytes at ``pos`` into ``buffer``; ``pos`` must not be behind the current part."""
        while pos >= self.current_start + len(self.current):
            if not self.window:
                return 0
            self.current_start, future = self.window.pop(0)
            self.current = memoryview(b"")
            self.current = memoryview(future.result())
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
        self.current = memoryview(b"")
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
        self.info: ObjectInfo | None = None
        if first is not None:
            self._body = first.body
            self.info = first.info

    @property
    def size(self) -> int:
        if self.info is None:
            self._fetch(self._pos)
        assert self.info is not None
        return self.info.size

    def _fetch(self, offset: int) -> None:
        self._close_body()
        result = self.storage._open_reader(self.key, offset)
        self._body = result.body
        self._body_pos = offset
        self.info = result.info

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
        if self.info is not None and self._pos >= self.info.size:
            return 0
        if self._prefetch is not None:
            if self._prefetch.covers(self._pos) and self._pos >= self._prefetch.current_start:
                n = self._prefetch.readinto(self._pos, buffer)
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
            and self._sequential >= config.part_size
            and self.info is not None
            and self.info.size >= config.threshold
            and self.info.size - self._pos > config.part_size
        ):
            self._close_body()
            self._prefetch = _Prefetch(self.storage, self.key, self._pos, self.info.size, config)
            return self.readinto(buffer)
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
            raw = st._writer_for(
                self.name, part_size=getattr(self, "buffer_size", None) or st._file_part_size()
            )
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
        first = st._open_reader(key, 0)
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
                self._file.flush()
                self._raw.close()  # commits
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

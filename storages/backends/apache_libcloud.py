"""Any Apache Libcloud storage driver (S3 and S3-compatible, Azure, GCS, local folders...).

The provider comes from ``LIBCLOUD_PROVIDERS[provider_name]``. Requests per
operation depend on the driver; with the S3 driver: ``exists()`` / ``size()``
two HEADs (libcloud checks the bucket before each object lookup);
``open()`` + ``read()`` those two HEADs and one GET (a ranged GET after
``seek()``); ``save()`` a multipart upload (libcloud streams every upload in
5 MiB parts: initiate, parts, complete); ``listdir()`` one listing per 1000
objects under the directory's prefix; ``url()`` none (presigned locally, after
one bucket check per thread).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import io
import logging
import os
import queue
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import BaseStorage, common_settings, join_url
from storages.conf import MISSING, Setting
from storages.errors import StorageError, StorageUnavailable
from storages.files import ObjectInfo, ReadResult, RemoteFile, UploadSpec

try:
    import requests
    from libcloud.common.types import InvalidCredsError, LibcloudError
    from libcloud.storage.base import Object
    from libcloud.storage.providers import get_driver
    from libcloud.storage.types import (
        ContainerDoesNotExistError,
        ObjectDoesNotExistError,
        ObjectError,
        Provider,
    )
except ImportError as exc:  # pragma: no cover - exercised by the missing-SDK test
    raise ImproperlyConfigured(
        "The Apache Libcloud backend needs apache-libcloud: pip install 'django-storages[libcloud]'"
    ) from exc

logger = logging.getLogger(__name__)

__all__ = ["LibCloudStorage", "LibCloudFile"]

_PROVIDER_TYPE_PREFIX = "libcloud.storage.types.Provider."
#: Keys of a LIBCLOUD_PROVIDERS entry.
PROVIDER_KEYS = ("type", "user", "key", "bucket", "region", "project", "host", "port", "secure", "timeout",
                 "base_url", "driver_options")
_DRIVER_KWARGS = ("region", "project", "host", "port", "secure")
_DEFAULT_TIMEOUT = 60
_READ_CHUNK = 256 * 1024
_QUEUE_ITEMS = 4  # write() calls buffered between the caller and the upload thread

_SETTINGS = (
    Setting("provider_name", ("DEFAULT_LIBCLOUD_PROVIDER",), "default",
            doc="Key into LIBCLOUD_PROVIDERS; also the first positional argument."),
    Setting("providers", ("LIBCLOUD_PROVIDERS",), dict, secret=True,
            doc="{name: {'type', 'user', 'key', 'bucket', ...}}: see 'Provider entries' below."),
    Setting("option", (), None, doc="Accepted for compatibility (the old second argument); unused."),
    *common_settings("LIBCLOUD_", overwrite=("file_overwrite", "LIBCLOUD_FILE_OVERWRITE", False)),
    Setting("base_url", ("LIBCLOUD_BASE_URL",), None,
            doc="url() = base_url + name, instead of the driver's object URL (e.g. a CDN, or MEDIA_URL "
                "for the local driver); also settable per provider."),
)

_KEY_LOCKS: weakref.WeakValueDictionary[tuple[Any, ...], Any] = weakref.WeakValueDictionary()
_KEY_LOCKS_GUARD = threading.Lock()


def _key_lock(ident: tuple[Any, ...]) -> Any:
    """One lock per stored object in this process (create-only saves of one name take turns)."""
    with _KEY_LOCKS_GUARD:
        lock = _KEY_LOCKS.get(ident)
        if lock is None:
            lock = threading.Lock()
            _KEY_LOCKS[ident] = lock
        return lock


def _driver_class(kind: Any, provider: str) -> type:
    """The driver class for a ``type``: a Provider constant or 'libcloud.storage.types.Provider.X'."""
    value = kind
    if isinstance(kind, str) and "." in kind:
        if not kind.startswith(_PROVIDER_TYPE_PREFIX):
            raise ImproperlyConfigured(
                f"LibCloudStorage: LIBCLOUD_PROVIDERS[{provider!r}]['type'] must be a libcloud Provider constant "
                f"or '{_PROVIDER_TYPE_PREFIX}<NAME>' (got {kind!r})."
            )
        value = getattr(Provider, kind[len(_PROVIDER_TYPE_PREFIX):], None)
    try:
        if value is None:
            raise AttributeError(kind)
        return get_driver(value)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"LibCloudStorage: LIBCLOUD_PROVIDERS[{provider!r}] has an unknown storage provider type {kind!r} "
            f"({type(exc).__name__})."
        ) from exc


def _parse_time(value: Any) -> dt.datetime | None:
    """A driver's timestamp (epoch seconds, RFC 1123 or ISO 8601) as an aware UTC datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, tz=dt.timezone.utc)
    text = str(value)
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


class _ChunkBody:
    """A driver's chunk iterator as a stream: read(n) / close()."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._chunk = b""
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            rest = self._chunk[self._pos:] + b"".join(self._chunks)
            self._chunk, self._pos = b"", 0
            return rest
        while self._pos >= len(self._chunk):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._chunk, self._pos = chunk, 0
        out = self._chunk[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class _EmptyBody:
    def read(self, n: int = -1) -> bytes:
        return b""

    def close(self) -> None:
        pass


class _Aborted(Exception):
    """Raised inside the upload iterator so the driver abandons the upload."""


_END = object()
_ABORT = object()


class _StreamUpload(io.RawIOBase):
    """A writable stream fed to ``upload_object_via_stream`` by a background thread.

    libcloud pulls upload data from an iterator; callers push it with
    write(). A small bounded queue joins the two, so memory stays bounded.
    ``close()`` commits; ``abort()`` makes the iterator fail, so the driver
    abandons the upload. For create-only saves the storage holds this
    object's lock and has checked the name is free; ``taken`` means it was
    not, and ``close()`` reports FileExistsError (the core retries).
    """

    def __init__(self, storage: LibCloudStorage, spec: UploadSpec, lock: Any = None, taken: bool = False) -> None:
        super().__init__()
        self.storage = storage
        self.spec = spec
        self._lock = lock
        self._taken = taken
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=_QUEUE_ITEMS)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._consumed = False
        self._small: bytearray | None = bytearray()
        self.bytes_written = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:  # type: ignore[override]
        if self.closed:
            raise ValueError("write to a closed upload")
        data = bytes(data)
        self.bytes_written += len(data)
        if not data or self._taken:
            return len(data)
        if self._small is not None:
            if len(self._small) + len(data) <= self.storage.upload_threshold:
                self._small += data
                return len(data)
            # too big for one request: stream from here on
            first, self._small = bytes(self._small), None
            self._start()
            if first:
                self._put(first)
        self._put(data)
        return len(data)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="libcloud-upload", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        try:
            self.storage._stream_upload(self.spec, self._chunks, lambda: self._consumed)
        except BaseException as exc:  # handed to the writer thread
            self._error = exc
            while True:  # unblock a writer waiting on a full queue
                try:
                    self._queue.get_nowait()
                except queue.Empty:
                    break

    def _chunks(self) -> Iterator[bytes]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if item is _ABORT:
                raise _Aborted("upload aborted")
            self._consumed = True
            yield item

    def _put(self, item: Any) -> None:
        assert self._thread is not None
        while True:
            if self._error is not None:
                raise self._error
            try:
                self._queue.put(item, timeout=0.2)
                return
            except queue.Full:
                if not self._thread.is_alive() and self._error is None:
                    raise StorageError(f"{type(self.storage).__name__}: the upload of {self.spec.name!r} stopped")

    def _release(self) -> None:
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def abort(self) -> None:
        if self.closed:
            return
        try:
            if self._thread is not None:
                try:
                    self._put(_ABORT)
                except BaseException:  # noqa: S110 - the upload already failed; nothing to stop
                    pass
                self._thread.join()
                self.storage._discard_partial(self.spec)
        finally:
            self._release()
            super().close()

    def close(self) -> None:
        if self.closed:
            return
        try:
            if self._taken:
                raise FileExistsError(17, f"File already exists in {type(self.storage).__name__}: "
                                          f"{self.spec.name!r}", self.spec.name)
            if self._small is not None:
                self.storage._upload_small(self.spec, bytes(self._small))
                return
            self._put(_END)
            assert self._thread is not None
            self._thread.join()
            if self._error is not None:
                raise self._error
        finally:
            self._release()
            super().close()


@deconstructible
class LibCloudStorage(BaseStorage):
    """Files in a container of any Apache Libcloud storage provider."""

    settings_table = _SETTINGS
    overwrite_option = "file_overwrite"
    transient_attributes = ("_local",)
    #: Objects up to this size are uploaded in one request; larger ones stream.
    upload_threshold = 5 * 1024 * 1024
    missing_times: ClassVar[dict[str, str]] = {
        "created": "libcloud drivers report no creation time",
        "accessed": "libcloud drivers report no access time",
    }

    def __init__(self, provider_name: Any = MISSING, option: Any = MISSING, **options: Any) -> None:
        if provider_name is not MISSING and provider_name is not None:
            options["provider_name"] = provider_name
        if option is not MISSING:
            options["option"] = option
        super().__init__(**options)

    def configure(self) -> None:
        name = self.provider_name
        providers = self.providers or {}
        conf = providers.get(name)
        if not isinstance(conf, dict):
            known = ", ".join(map(repr, providers)) or "none"
            raise ImproperlyConfigured(
                f"LibCloudStorage: no provider {name!r} in LIBCLOUD_PROVIDERS (defined: {known}); add it, or set "
                "DEFAULT_LIBCLOUD_PROVIDER / LibCloudStorage('<name>') to one that exists."
            )
        unknown = sorted(set(conf) - set(PROVIDER_KEYS))
        if unknown:
            raise ImproperlyConfigured(
                f"LibCloudStorage: LIBCLOUD_PROVIDERS[{name!r}] has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"valid keys are: {', '.join(PROVIDER_KEYS)}."
            )
        if not conf.get("type"):
            raise ImproperlyConfigured(f"LibCloudStorage: LIBCLOUD_PROVIDERS[{name!r}] needs a 'type'.")
        if not conf.get("bucket"):
            raise ImproperlyConfigured(
                f"LibCloudStorage: LIBCLOUD_PROVIDERS[{name!r}] needs a 'bucket' (the container name)."
            )
        self.driver_class = _driver_class(conf["type"], name)
        self.bucket = conf["bucket"]
        self._provider = dict(conf)
        if self.base_url is None:
            self.base_url = conf.get("base_url")
        self.file_overwrite = bool(self.file_overwrite)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider_name!r} location={self.location!r}>"

    # -- drivers (one per thread: libcloud connections keep per-request state) ----
    def _thread_state(self) -> threading.local:
        local = self.__dict__.get("_local")
        if local is None:
            with self._lock:
                local = self.__dict__.get("_local")
                if local is None:
                    local = threading.local()
                    self._local = local
        return local

    @property
    def driver(self) -> Any:
        """This thread's libcloud driver (created on first use)."""
        state = self._thread_state()
        driver = getattr(state, "driver", None)
        if driver is None:
            driver = self._new_driver()
            state.driver = driver
        return driver

    def _new_driver(self) -> Any:
        conf = self._provider
        kwargs = {k: conf[k] for k in _DRIVER_KWARGS if conf.get(k) is not None}
        kwargs["timeout"] = conf.get("timeout") or _DEFAULT_TIMEOUT
        kwargs.update(conf.get("driver_options") or {})
        try:
            return self.driver_class(conf.get("user"), conf.get("key"), **kwargs)
        except Exception as exc:
            raise ImproperlyConfigured(
                f"{type(self).__name__} could not create the libcloud driver for provider {self.provider_name!r} "
                f"(type {conf['type']!r}): {type(exc).__name__}: {self._scrub(str(exc))}"
            ) from exc

    def _container(self) -> Any:
        state = self._thread_state()
        container = getattr(state, "container", None)
        if container is None:
            driver = self.driver
            container = self._call(driver.get_container, None, self.bucket)
            state.container = container
        return container

    def _is_local(self) -> bool:
        return getattr(self.driver_class, "__name__", "") == "LocalStorageDriver"

    def _object(self, key: str) -> Any:
        """An Object handle for ``key`` without a request (for calls that only need its name)."""
        return Object(name=key, size=0, hash=None, extra={}, meta_data={}, container=self._container(),
                      driver=self.driver)

    # -- errors and logging ----------------------------------------------------------
    def _scrub(self, text: str) -> str:
        secret = self._provider.get("key")
        return text.replace(str(secret), "***") if secret else text

    def _call(self, fn: Callable[..., Any], name: str | None, *args: Any, **kwargs: Any) -> Any:
        """One driver call: timed, logged at DEBUG, errors translated."""
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            translated = self._translate(exc, name)
            if translated is exc:
                raise
            raise translated from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("libcloud %s name=%s %.1fms", getattr(fn, "__name__", fn), name,
                         (time.perf_counter() - start) * 1000)
        return result

    def _translate(self, exc: BaseException, name: str | None) -> BaseException:
        label = type(self).__name__
        what = repr(name) if name else "the storage root"
        where = f"LIBCLOUD_PROVIDERS[{self.provider_name!r}]"
        if isinstance(exc, ObjectDoesNotExistError):
            return FileNotFoundError(2, f"No such file in {label}: {what}", name)
        if isinstance(exc, ContainerDoesNotExistError):
            return ImproperlyConfigured(
                f"{label}: the container {self.bucket!r} does not exist; check {where}['bucket'] "
                "(or create it: storage.driver.create_container(name))"
            )
        if isinstance(exc, InvalidCredsError):
            return PermissionError(13, f"{label} was denied access to {what}; check {where}['user'] and ['key']",
                                   name)
        if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout, TimeoutError,
                            ConnectionError)):
            host = self._provider.get("host") or "the provider's endpoint"
            return StorageUnavailable(
                f"{label} could not reach {host} ({type(exc).__name__}); check {where}['host'/'port'] and the network"
            )
        if isinstance(exc, LibcloudError):
            return StorageError(f"{label}: {type(exc).__name__}: {self._scrub(str(exc.value))[:300]} "
                                f"while accessing {what}")
        return exc

    # -- primitives -----------------------------------------------------------------------
    def _get_object(self, key: str) -> Any:
        try:
            return self._call(self.driver.get_object, self._name(key), self.bucket, key)
        except StorageError as exc:
            # the local driver: a folder is not an object
            if type(exc.__cause__) is ObjectError:
                raise FileNotFoundError(2, f"No such file in {type(self).__name__}: {self._name(key)!r}",
                                        key) from exc
            raise

    def _info(self, obj: Any) -> ObjectInfo:
        extra = obj.extra or {}
        modified = _parse_time(extra.get("last_modified", extra.get("modify_time")))
        return ObjectInfo(size=int(obj.size or 0), modified=modified, content_type=extra.get("content_type"),
                          content_encoding=extra.get("content_encoding"), etag=obj.hash,
                          extra={"meta_data": obj.meta_data or {}})

    def _stat(self, key: str) -> ObjectInfo:
        return self._info(self._get_object(key))

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        obj = self._get_object(key)
        info = self._info(obj)
        name = self._name(key)
        if offset and offset >= info.size:
            return ReadResult(_EmptyBody(), info)
        if self._is_local():
            # The local driver's ranged read loads the whole file; its object
            # URL is the file's path, so read from there.
            fh = open(self.driver.get_object_cdn_url(obj), "rb")  # noqa: SIM115 - closed by the reader
            fh.seek(offset)
            return ReadResult(fh, info)
        driver = self.driver
        if offset == 0:
            chunks = self._call(driver.download_object_as_stream, name, obj, chunk_size=_READ_CHUNK)
        else:
            try:
                chunks = self._call(driver.download_object_range_as_stream, name, obj, offset,
                                    chunk_size=_READ_CHUNK)
            except NotImplementedError:
                chunks = self._call(driver.download_object_as_stream, name, obj, chunk_size=_READ_CHUNK)
                body = _ChunkBody(iter(chunks))
                skip = offset
                while skip:
                    skipped = len(body.read(min(skip, _READ_CHUNK)))
                    if not skipped:
                        break
                    skip -= skipped
                return ReadResult(body, info)
        return ReadResult(_ChunkBody(iter(chunks)), info)

    def _open_writer(self, spec: UploadSpec) -> _StreamUpload:
        if not spec.create_only:
            return _StreamUpload(self, spec)
        # libcloud has no create-if-absent: this process's savers of a name
        # take turns, and each checks the name is still free.
        conf = self._provider
        lock = _key_lock((str(conf["type"]), conf.get("host"), conf.get("port"), conf.get("user"), self.bucket,
                          spec.key))
        if not lock.acquire(timeout=float(conf.get("timeout") or _DEFAULT_TIMEOUT) * 5):
            return _StreamUpload(self, spec, taken=True)
        try:
            self._get_object(spec.key)
        except FileNotFoundError:
            return _StreamUpload(self, spec, lock=lock)
        except BaseException:
            lock.release()
            raise
        lock.release()
        return _StreamUpload(self, spec, taken=True)

    def _stream_upload(self, spec: UploadSpec, chunks: Callable[[], Iterator[bytes]],
                       consumed: Callable[[], bool]) -> None:
        """Run the driver's streaming upload (in the writer's thread)."""
        extra = {"content_type": spec.content_type}
        for attempt in range(3):
            try:
                self._call(self.driver.upload_object_via_stream, spec.name, chunks(), self._container(), spec.key,
                           extra=extra)
                return
            except FileNotFoundError:
                # The local driver removes emptied folders after a delete; one can
                # vanish between its makedirs() and open(). Nothing was read yet.
                if consumed() or attempt == 2 or not self._is_local():
                    raise

    def _upload_small(self, spec: UploadSpec, data: bytes) -> None:
        """One small object through ``upload_object`` (it takes a file path)."""
        fd, path = tempfile.mkstemp(prefix="storages-libcloud-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            for attempt in range(3):
                try:
                    self._call(self.driver.upload_object, spec.name, path, self._container(), spec.key,
                               extra={"content_type": spec.content_type})
                    return
                except FileNotFoundError:
                    # see _stream_upload(): a folder emptied by a concurrent delete
                    if attempt == 2 or not self._is_local():
                        raise
        finally:
            os.unlink(path)

    def _discard_partial(self, spec: UploadSpec) -> None:
        """After an aborted upload: the local driver writes in place, so remove what it wrote."""
        if self._is_local():
            self._delete(spec.key)

    def _file_part_size(self) -> None:
        return None

    def _delete(self, key: str) -> None:
        try:
            self._call(self.driver.delete_object, self._name(key), self._object(key))
        except FileNotFoundError:
            # missing; or (local driver) a sibling's delete removed the emptied folder first
            pass

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        if self._is_local():
            yield from self._list_local(prefix)
            return
        objects = self._call(self.driver.iterate_container_objects, prefix, self._container(), prefix=prefix or None)
        dirs: dict[str, None] = {}
        files: list[str] = []
        count = 0
        iterator = iter(objects)
        while True:
            try:
                obj = self._call(next, prefix, iterator, None)
            except StopIteration:  # pragma: no cover - next() with a default never raises it
                obj = None
            if obj is None:
                break
            rel = obj.name[len(prefix):]
            if "/" in rel:
                dirs[prefix + rel.split("/", 1)[0] + "/"] = None
            elif rel:
                files.append(obj.name)
            count += 1
            if count % 1000 == 0:
                yield list(dirs), files
                dirs, files = {}, []
        yield list(dirs), files

    def _list_local(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        # The local driver lists by walking the whole container; one folder is
        # one os.scandir() of the container's folder (its documented object path).
        container = self._container()
        root = self.driver.get_container_cdn_url(container, check=True)
        folder = os.path.join(root, *prefix.strip("/").split("/")) if prefix.strip("/") else root
        dirs, files = [], []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in (".lock", ".hash"):
                            dirs.append(f"{prefix}{entry.name}/")
                    elif entry.is_file():
                        files.append(f"{prefix}{entry.name}")
        except (FileNotFoundError, NotADirectoryError):
            return
        yield dirs, files

    def _root_exists(self) -> bool:
        try:
            self._container()
        except ImproperlyConfigured:
            return False
        return True

    def url(self, name: str) -> str:
        """``base_url`` + name when set, else the driver's object URL (S3: presigned, no request)."""
        key = self._key(name)
        if self.base_url:
            return join_url(self.base_url, key)
        driver = self.driver
        try:
            url = driver.get_object_cdn_url(self._object(key))
        except NotImplementedError as exc:
            raise NotImplementedError(
                f"{type(self).__name__}: the {driver.name} driver has no object URLs; set base_url "
                f"(OPTIONS['base_url'], LIBCLOUD_BASE_URL or LIBCLOUD_PROVIDERS[{self.provider_name!r}]['base_url'])"
            ) from exc
        if not str(url).startswith(("http://", "https://")):
            raise NotImplementedError(
                f"{type(self).__name__}: the {driver.name} driver gives no web URL for files; set base_url to the "
                f"URL that serves its folder (OPTIONS['base_url'] or LIBCLOUD_BASE_URL, e.g. MEDIA_URL)"
            )
        return url


class LibCloudFile(RemoteFile):
    """A file in a libcloud container (``LibCloudStorage.open()`` returns one)."""


LibCloudStorage.file_class = LibCloudFile

"""Any Apache Libcloud storage driver (S3 and S3-compatible, Azure, GCS, local folders...).

The provider comes from ``LIBCLOUD_PROVIDERS[provider_name]``. The local driver is a folder:
reads, listings and writes use the files directly (a write goes to a hidden temporary file that
is renamed into place, or hard-linked for a create-only save), so a cut upload never leaves half
a file under the name. Requests per operation: docs/backends/apache_libcloud.rst.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.backends.apache_libcloud.compat import download
from storages.base import BaseStorage, common_settings, join_url, name_lock
from storages.conf import MISSING, Setting
from storages.errors import StorageError, sdk_required
from storages.files import (
    TEMP_PREFIX,
    TEMP_SUFFIX,
    Leftover,
    ObjectInfo,
    ReadAhead,
    ReadResult,
    RemoteFile,
    UploadSpec,
    parse_time,
)
from storages.hashing import b64_to_hex
from storages.transfer import COPY_CHUNK, ChunkReader, UploadSource, WriteBuffer

with sdk_required("The Apache Libcloud backend", "apache-libcloud", "libcloud"):
    import requests
    from libcloud.common.types import InvalidCredsError, LibcloudError
    from libcloud.storage.base import Object
    from libcloud.storage.drivers.s3 import BaseS3StorageDriver
    from libcloud.storage.providers import get_driver
    from libcloud.storage.types import (
        ContainerDoesNotExistError,
        ObjectDoesNotExistError,
        ObjectError,
        Provider,
    )

__all__ = ["LibCloudStorage", "LibCloudFile"]

_PROVIDER_TYPE_PREFIX = "libcloud.storage.types.Provider."
#: Keys of a LIBCLOUD_PROVIDERS entry.
PROVIDER_KEYS = (
    "type",
    "user",
    "key",
    "bucket",
    "region",
    "project",
    "host",
    "port",
    "secure",
    "timeout",
    "base_url",
    "driver_options",
)
_DRIVER_KWARGS = ("region", "project", "host", "port", "secure")
#: Seconds per connect and per read (libcloud does not retry): a silent server fails in well under a
#: minute.
_DEFAULT_TIMEOUT = 25
_READ_CHUNK = 256 * 1024
_SINGLE_PUT_MAX = 5 * 1024**3  # S3's limit for one PUT: larger files on disk stream in parts
_MD5 = re.compile(r"[0-9a-f]{32}")

_SETTINGS = (
    Setting(
        "provider_name",
        ("DEFAULT_LIBCLOUD_PROVIDER",),
        "default",
        doc="Key into LIBCLOUD_PROVIDERS; also the first positional argument.",
    ),
    Setting(
        "providers",
        ("LIBCLOUD_PROVIDERS",),
        dict,
        secret=True,
        doc="{name: {'type', 'user', 'key', 'bucket', ...}}: see 'Provider entries' below.",
    ),
    Setting(
        "option", (), None, doc="Accepted for compatibility (the old second argument); unused."
    ),
    *common_settings("LIBCLOUD_", overwrite=("file_overwrite", "LIBCLOUD_FILE_OVERWRITE", False)),
    Setting(
        "base_url",
        ("LIBCLOUD_BASE_URL",),
        None,
        doc=(
            "url() = base_url + name, instead of the driver's object URL (e.g. a CDN); also "
            "settable per provider; MEDIA_URL by default for the local driver."
        ),
    ),
)


def _driver_class(kind: Any, provider: str) -> type:
    """The driver class for a ``type``: a Provider constant or
    'libcloud.storage.types.Provider.X'."""
    where = f"LibCloudStorage: LIBCLOUD_PROVIDERS[{provider!r}]['type']"
    dotted = isinstance(kind, str) and "." in kind
    if dotted and not kind.startswith(_PROVIDER_TYPE_PREFIX):
        raise ImproperlyConfigured(
            f"{where} must be a libcloud Provider constant or '{_PROVIDER_TYPE_PREFIX}<NAME>' (got "
            f"{kind!r})."
        )
    try:
        return get_driver(getattr(Provider, kind[len(_PROVIDER_TYPE_PREFIX) :]) if dotted else kind)
    except Exception as exc:
        raise ImproperlyConfigured(
            f"{where}: unknown storage provider type {kind!r} ({type(exc).__name__})."
        ) from exc


def _window(chunks: Iterator[bytes], start: int, end: int | None) -> Iterator[bytes]:
    """Bytes [start, end) of a stream of chunks."""
    pos = 0
    for chunk in chunks:
        lo, hi = max(start - pos, 0), len(chunk) if end is None else min(len(chunk), end - pos)
        pos += len(chunk)
        if hi > lo:
            yield chunk[lo:hi]
        if end is not None and pos >= end:
            return


def _file_range(path: str, offset: int, end: int | None) -> Iterator[bytes]:
    with open(path, "rb") as fh:  # closed when the reader is done with it
        fh.seek(offset)
        yield from _window(
            iter(lambda: fh.read(_READ_CHUNK), b""), 0, None if end is None else end - offset
        )


class _Download(ChunkReader):
    """A download's chunks; closing it releases its connection, read to its end or not."""

    def __init__(self, chunks: Iterator[bytes], release: Callable[[], None]) -> None:
        super().__init__(chunks)
        self._release = release

    def close(self) -> None:
        if not self.closed:
            self._release()
        super().close()


@deconstructible
class LibCloudStorage(BaseStorage):
    """Files in a container of any Apache Libcloud storage provider."""

    settings_table = _SETTINGS
    overwrite_option = "file_overwrite"
    # a range goes through libcloud's chunk iterators (about twice its size in memory): 6 at a
    # time keep a 200 MB read within 39 MB of RSS growth (10: 61 MB)
    default_read_ahead = ReadAhead(concurrency=6)
    sdk_holds_ranges = True
    #: Objects up to this size (not on disk) are uploaded in one request; larger ones stream.
    upload_threshold = 5 * 1024 * 1024
    # open("wb") holds a part before streaming. The driver cuts its own parts (S3: 5 MiB), one
    # at a time, by joining reads and slicing the join: up to three parts held while one is
    # cut (counted as concurrency 3 in the bound).
    default_write_buffer = WriteBuffer(part_size=5 * 1024 * 1024, concurrency=3)

    def _apply_write_buffer(self, config: WriteBuffer | None) -> WriteBuffer:
        """``write_buffer``'s part size is what ``open("wb")`` holds before it streams (the
        driver's parts are its own: S3's are 5 MiB)."""
        held = super()._apply_write_buffer(config)
        return WriteBuffer(
            part_size=max(held.part_size or 0, 5 * 1024 * 1024),
            concurrency=self.default_write_buffer.concurrency,
        )

    unreachable_errors = (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        TimeoutError,
        ConnectionError,
    )
    missing_times: ClassVar[dict[str, str]] = {
        "created": "libcloud drivers report no creation time",
        "accessed": "libcloud drivers report no access time",
    }
    container_option = "provider_name"  # its LIBCLOUD_PROVIDERS entry names the container

    def system_checks(self, alias: str) -> list[Any]:
        from storages.backends.apache_libcloud.checks import system_checks

        return system_checks(self, alias)

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
                f"LibCloudStorage: no provider {name!r} in LIBCLOUD_PROVIDERS (defined: {known}); "
                "add it, or set DEFAULT_LIBCLOUD_PROVIDER / LibCloudStorage('<name>') to one that "
                "exists."
            )
        unknown = sorted(set(conf) - set(PROVIDER_KEYS))
        if unknown:
            raise ImproperlyConfigured(
                f"LibCloudStorage: LIBCLOUD_PROVIDERS[{name!r}] has unknown key(s) "
                f"{', '.join(map(repr, unknown))}; valid keys are: {', '.join(PROVIDER_KEYS)}."
            )
        for key, what in (("type", "the provider type"), ("bucket", "the container name")):
            if not conf.get(key):
                raise ImproperlyConfigured(
                    f"LibCloudStorage: LIBCLOUD_PROVIDERS[{name!r}] needs a {key!r} ({what})."
                )
        self.driver_class = _driver_class(conf["type"], name)
        self.bucket = conf["bucket"]
        self._provider = dict(conf)
        self.endpoint_setting = f"LIBCLOUD_PROVIDERS[{name!r}]['host'/'port'/'timeout']"
        if self.base_url is None:
            self.base_url = conf.get("base_url")
        if self._is_local():
            # a folder on disk, served like FileSystemStorage's
            self.max_component_bytes = 255
            if self.base_url is None:
                self.base_url = getattr(django_settings, "MEDIA_URL", None) or None
        elif issubclass(self.driver_class, BaseS3StorageDriver):
            self.max_key_bytes = 1024
        self.file_overwrite = bool(self.file_overwrite)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} provider={self.provider_name!r} location={self.location!r}>"

    # -- drivers (one per thread: libcloud connections keep per-request state) ----
    @property
    def driver(self) -> Any:
        """This thread's libcloud driver (created on first use)."""
        return self._per_thread(self._new_driver, "driver")

    def _new_driver(self) -> Any:
        conf = self._provider
        kwargs = {k: conf[k] for k in _DRIVER_KWARGS if conf.get(k) is not None}
        kwargs["timeout"] = conf.get("timeout") or _DEFAULT_TIMEOUT
        kwargs.update(conf.get("driver_options") or {})
        try:
            return self.driver_class(conf.get("user"), conf.get("key"), **kwargs)
        except Exception as exc:
            raise ImproperlyConfigured(
                f"{type(self).__name__} could not create the libcloud driver for provider "
                f"{self.provider_name!r} (type {conf['type']!r}): {type(exc).__name__}: "
                f"{self._scrub(str(exc))}"
            ) from exc

    def _container(self) -> Any:
        return self._per_thread(
            lambda: self._call("get_container", None, self.driver.get_container, self.bucket),
            "container",
        )

    def _is_local(self) -> bool:
        return getattr(self.driver_class, "__name__", "") == "LocalStorageDriver"

    def _object(self, key: str) -> Any:
        """An Object handle for ``key`` without a request (for calls that only need its name)."""
        return Object(
            name=key,
            size=0,
            hash=None,
            extra={},
            meta_data={},
            container=self._container(),
            driver=self.driver,
        )

    def _local_path(self, key: str) -> str:
        """The local driver's file for ``key`` (its documented object path)."""
        root = self.driver.get_container_cdn_url(self._container(), check=True)
        return os.path.join(root, *key.strip("/").split("/")) if key.strip("/") else root

    # -- errors ----------------------------------------------------------------------
    def _scrub(self, text: str) -> str:
        secret = self._provider.get("key")
        return text.replace(str(secret), "***") if secret else text

    def _endpoint_label(self) -> str:
        return str(self._provider.get("host") or "the provider's endpoint")

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        label = type(self).__name__
        what = repr(name) if name else "the storage root"
        where = f"LIBCLOUD_PROVIDERS[{self.provider_name!r}]"
        if isinstance(exc, ObjectDoesNotExistError) or type(exc) is ObjectError:
            # (the local driver: a folder is not an object)
            return FileNotFoundError(2, f"No such file in {label}: {what}", name)
        if isinstance(exc, ContainerDoesNotExistError):
            return ImproperlyConfigured(
                f"{label}: the container {self.bucket!r} does not exist; check {where}['bucket'] "
                "(or create it: storage.driver.create_container(name))"
            )
        if isinstance(exc, InvalidCredsError):
            return PermissionError(
                13, f"{label} was denied access to {what}; check {where}['user'] and ['key']", name
            )
        if isinstance(exc, LibcloudError):
            return StorageError(
                f"{label}: {type(exc).__name__}: {self._scrub(str(exc.value))[:300]} "
                f"while accessing {what}"
            )
        return None

    # -- primitives -----------------------------------------------------------------------
    def _get_object(self, key: str) -> Any:
        return self._call("get_object", self._name(key), self.driver.get_object, self.bucket, key)

    def _info(self, obj: Any) -> ObjectInfo:
        extra = obj.extra or {}
        hashes = {}
        if extra.get("md5_hash"):  # Azure: Content-MD5
            hashes["md5"] = b64_to_hex(extra["md5_hash"])
        elif isinstance(obj.driver, BaseS3StorageDriver) and _MD5.fullmatch(
            str(obj.hash or "").strip('"')
        ):
            hashes["md5"] = str(obj.hash).strip('"')  # a single-part upload's ETag is its MD5
        return ObjectInfo(
            size=int(obj.size or 0),
            modified=parse_time(extra.get("last_modified", extra.get("modify_time"))),
            content_type=extra.get("content_type"),
            content_encoding=extra.get("content_encoding"),
            etag=obj.hash,
            hashes={k: v for k, v in hashes.items() if v},
            extra={"meta_data": obj.meta_data or {}},
        )

    def _stat(self, key: str) -> ObjectInfo:
        return self._info(self._get_object(key))

    def _dir_exists(self, key: str) -> bool:
        # Only the local driver has real folders; object stores have bare prefixes.
        return self._is_local() and os.path.isdir(self._local_path(key))

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        # The driver is per thread, so read-ahead threads each use their own connection.
        obj = self._get_object(key)
        info, name, driver = self._info(obj), self._name(key), self.driver
        if self._is_local():  # its ranged read loads the whole file: read the file itself
            return ReadResult(ChunkReader(_file_range(self._local_path(key), offset, end)), info)
        # libcloud checks the status itself (200 for the whole object, 206 for a range) and hides
        # the reply: the length owed is what was asked for (a short body is then an error).
        length = (info.size if end is None else min(end, info.size)) - offset

        def whole() -> tuple[Iterator[bytes], Callable[[], None]]:
            return self._call(
                "download",
                name,
                download,
                driver,
                driver.download_object_as_stream,
                obj,
                chunk_size=_READ_CHUNK,
            )

        if offset == 0 and end is None:
            return ReadResult(_Download(*whole()), info, length=length)
        try:
            chunks, close = self._call(
                "download_range",
                name,
                download,
                driver,
                driver.download_object_range_as_stream,
                obj,
                offset,
                end,
                chunk_size=_READ_CHUNK,
            )
            return ReadResult(_Download(chunks, close), info, length=length)
        except NotImplementedError:  # a driver without ranged reads: read through to the offset
            chunks, close = whole()
            return ReadResult(_Download(_window(chunks, offset, end), close), info, length=length)

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        if self._is_local():
            self._upload_local(spec, source)
        elif not spec.create_only:
            self._send(spec, source)
        else:
            # libcloud has no create-if-absent: this process's savers of a name take
            # turns, and each checks the name is still free.
            conf = self._provider
            lock = name_lock(
                str(conf["type"]),
                conf.get("host"),
                conf.get("port"),
                conf.get("user"),
                self.bucket,
                spec.key,
            )
            if not lock.acquire(timeout=float(conf.get("timeout") or _DEFAULT_TIMEOUT) * 5):
                raise FileExistsError(
                    17,
                    f"{type(self).__name__}: {spec.name!r} is being saved by another thread",
                    spec.name,
                )
            try:
                self._stat(spec.key)
            except FileNotFoundError:
                self._send(spec, source)
                return
            finally:
                lock.release()
            raise FileExistsError(
                17, f"File already exists in {type(self).__name__}: {spec.name!r}", spec.name
            )

    def _send(self, spec: UploadSpec, source: UploadSource) -> None:
        """The driver's upload: ``upload_object`` from a path, else ``upload_object_via_stream``."""
        driver, container, extra = (
            self.driver,
            self._container(),
            {"content_type": spec.content_type},
        )
        if source.path is None and source.size is not None and source.size <= self.upload_threshold:
            # one request: upload_object takes a path, so a small content goes through a temporary
            # file
            with tempfile.NamedTemporaryFile(prefix="storages-libcloud-") as tmp:
                shutil.copyfileobj(source.fileobj, tmp, COPY_CHUNK)
                tmp.flush()
                self._call(
                    "upload",
                    spec.name,
                    driver.upload_object,
                    tmp.name,
                    container,
                    spec.key,
                    extra=extra,
                    verify_hash=False,
                )
        elif source.path and (source.size or 0) <= _SINGLE_PUT_MAX:
            self._call(
                "upload",
                spec.name,
                driver.upload_object,
                source.path,
                container,
                spec.key,
                extra=extra,
                verify_hash=False,
            )
        else:  # the driver cuts its parts from these reads (S3: 5 MiB parts, aborted on error)
            chunks = iter(lambda: source.fileobj.read(COPY_CHUNK), b"")
            # libcloud's S3 drivers abort their multipart upload on an Exception only: on an
            # interrupt (KeyboardInterrupt, SystemExit, cancellation) it is aborted here, else its
            # parts stay stored (and billed). The upload id comes from the driver's private
            # _initiate_multipart, wrapped on this thread's driver for this one upload.
            started: list[str] = []
            initiate = getattr(driver, "_initiate_multipart", None)
            if initiate is not None and hasattr(driver, "_abort_multipart"):
                driver._initiate_multipart = lambda *a, **k: (
                    started.append(initiate(*a, **k)) or (started[-1])
                )
            try:
                self._call(
                    "upload",
                    spec.name,
                    driver.upload_object_via_stream,
                    chunks,
                    container,
                    spec.key,
                    extra=extra,
                )
            except Exception:
                raise
            except BaseException:
                for upload_id in started:
                    with contextlib.suppress(Exception):  # best effort, as the driver's own abort
                        driver._abort_multipart(container, spec.key, upload_id)
                raise
            finally:
                driver.__dict__.pop("_initiate_multipart", None)

    def _upload_local(self, spec: UploadSpec, source: UploadSource) -> None:
        """Write a hidden temporary file beside the target, then rename it into place
        (hard-link for create-only: atomic, FileExistsError when the name is taken)."""
        path = self._local_path(spec.key)
        temp = os.path.join(
            os.path.dirname(path), f"{TEMP_PREFIX}{uuid.uuid4().hex[:20]}{TEMP_SUFFIX}"
        )
        for attempt in range(20):
            try:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                fh = open(temp, "xb")  # noqa: SIM115 - closed below
                break
            except FileNotFoundError:
                # a concurrent delete pruned an emptied folder of the path (inside makedirs() or
                # before open()): create it again; the temporary file then keeps it
                if attempt == 19:
                    raise
        try:
            with fh:
                shutil.copyfileobj(source.fileobj, fh, COPY_CHUNK)
            os.chmod(temp, 0o664)
            if spec.create_only:
                os.link(temp, path)
            else:
                os.replace(temp, path)
        except (FileExistsError, IsADirectoryError) as exc:
            raise FileExistsError(
                17, f"File already exists in {type(self).__name__}: {spec.name!r}", spec.name
            ) from exc
        finally:
            if os.path.lexists(temp):
                os.unlink(temp)
                self._prune(os.path.dirname(temp))

    def _prune(self, folder: str) -> None:
        """Remove ``folder`` and its parents while empty, up to the container (as the driver's
        delete does)."""
        root = self._local_path("")
        while folder.startswith(root + os.sep):
            try:
                os.rmdir(folder)
            except OSError:  # not empty, or already gone
                return
            folder = os.path.dirname(folder)

    def _delete(self, key: str) -> None:
        # FileNotFoundError (ignored by the core): missing, or (local driver) a sibling's delete
        # removed the emptied folder first
        self._call("delete", self._name(key), self.driver.delete_object, self._object(key))

    # -- leftovers of killed uploads (checkstorages) ----------------------------------------------
    @property
    def leftovers_note(self) -> str:  # type: ignore[override]
        return (
            f"libcloud's {self.driver_class.__name__} has no way to list unfinished uploads "
            "(only its S3 drivers list multipart uploads)"
        )

    def _multipart(self) -> bool:
        return bool(
            issubclass(self.driver_class, BaseS3StorageDriver)
            and getattr(self.driver_class, "supports_s3_multipart_upload", False)
        )

    def _list_leftovers(self, older_than: dt.datetime) -> Iterator[Leftover] | None:
        """Multipart uploads below ``location`` started before ``older_than`` (the S3 drivers:
        ``ex_iterate_multipart_uploads``); None for drivers that can't list them."""
        if not self._multipart():
            return None
        key = self._key("", allow_root=True)
        prefix = key.rstrip("/") + "/" if key else None

        def found() -> Iterator[Leftover]:
            uploads = self._call(
                "list uploads",
                None,
                lambda: list(self.driver.ex_iterate_multipart_uploads(self._container(), prefix)),
            )
            for upload in uploads:
                started = parse_time(upload.created_at)
                if started is not None and started < older_than:
                    yield Leftover(
                        key=upload.key,
                        started=started,
                        size=None,
                        kind="multipart upload",
                        ref=upload.id,
                    )

        return found()

    def _remove_leftover(self, item: Leftover) -> None:
        # The S3 drivers' own abort (private, as _send's use of it). An upload already gone
        # (404) is no error: checkstorages lists again to tell what stayed.
        with contextlib.suppress(FileNotFoundError, StorageError):
            self._call(
                "abort upload",
                self._name(item.key),
                self.driver._abort_multipart,
                self._container(),
                item.key,
                item.ref,
            )

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        if self._is_local():
            yield from self._list_local(prefix)
            return
        # Libcloud lists without a delimiter.
        rels = [key[len(prefix) :] for key, _ in self._scan(prefix)]
        yield (
            list(dict.fromkeys(prefix + rel.split("/", 1)[0] + "/" for rel in rels if "/" in rel)),
            [prefix + rel for rel in rels if rel and "/" not in rel],
        )

    def _list_local(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        # The local driver lists by walking the whole container: one folder is one os.scandir().
        dirs, files = [], []
        try:
            with os.scandir(self._local_path(prefix)) as entries:
                for entry in entries:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.name not in (".lock", ".hash"):
                            dirs.append(f"{prefix}{entry.name}/")
                    elif entry.is_file():
                        files.append(f"{prefix}{entry.name}")
        except (FileNotFoundError, NotADirectoryError):
            return
        yield dirs, files

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        if self._is_local():  # folder by folder, not a walk of the whole container
            yield from super()._scan(prefix)
            return
        objects = self._call(
            "list",
            prefix,
            self.driver.iterate_container_objects,
            self._container(),
            prefix=prefix or None,
        )
        for obj in self._each("list", prefix, objects):
            yield obj.name, self._info(obj)

    def _probe_root(self) -> Any:
        return self._container()

    def _open(self, name: str, mode: str = "rb") -> RemoteFile:
        return self.file_class(name, self, mode)

    def url(self, name: str) -> str:
        """``base_url`` + name when set (MEDIA_URL by default on the local driver), else the
        driver's object URL (S3: presigned, no request)."""
        key = self._key(name)
        if self.base_url:
            return join_url(self.base_url, key)
        driver = self.driver
        try:
            url = str(driver.get_object_cdn_url(self._object(key)))
        except NotImplementedError:
            url = ""
        if not url.startswith(("http://", "https://")):
            raise NotImplementedError(
                f"{type(self).__name__}: the {driver.name} driver gives no web URL for files; set "
                "base_url (OPTIONS['base_url'], LIBCLOUD_BASE_URL or "
                f"LIBCLOUD_PROVIDERS[{self.provider_name!r}]['base_url'])"
            )
        return url


class LibCloudFile(RemoteFile):
    """A file in a libcloud container (``LibCloudStorage.open()`` returns one); 1.14's signature."""

    def __init__(self, name: str, storage: LibCloudStorage, mode: str = "rb") -> None:
        super().__init__(name, mode, storage)


LibCloudStorage.file_class = LibCloudFile

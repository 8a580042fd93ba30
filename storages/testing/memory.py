"""An in-memory backend that joins the conformance suite: the core's behaviour in seconds.

``MemoryStorage`` keeps objects in process-wide in-memory buckets, with the semantics of an
object store (keys, no directories, atomic create-if-absent, ranged reads) and the failure
modes a test needs: a bucket that does not exist, a wrong access token, a bucket that is
"offline". It goes through the same core as every real backend (names, overwrite policy,
gzip, modes, seeks, read-ahead, pickling), so a failure here is a failure of the core.

    from storages.testing.memory import MemoryStorage, create_bucket
    create_bucket("media")
    storage = MemoryStorage(bucket_name="media")

It is a test double: everything lives in this process's memory and is lost at exit.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import ClassVar

from django.core.exceptions import ImproperlyConfigured
from django.utils.deconstruct import deconstructible

from storages.base import BaseStorage, common_settings, join_url
from storages.conf import Setting
from storages.errors import StorageUnavailable
from storages.files import ObjectInfo, ReadResult, UploadSpec
from storages.hashing import compute
from storages.transfer import COPY_CHUNK, UploadSource

__all__ = ["MemoryStorage", "create_bucket", "drop_bucket"]


@dataclass
class _Bucket:
    name: str
    token: str | None = None
    offline: bool = False
    objects: dict[str, tuple[bytes, ObjectInfo]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: Primitive calls served, by operation (for request-count assertions).
    calls: dict[str, int] = field(default_factory=dict)


_BUCKETS: dict[str, _Bucket] = {}
_REGISTRY_LOCK = threading.Lock()


def create_bucket(name: str, *, token: str | None = None, offline: bool = False) -> _Bucket:
    """Create (or reset) the in-memory bucket ``name``; ``token`` makes it require that access
    token."""
    with _REGISTRY_LOCK:
        bucket = _BUCKETS[name] = _Bucket(name, token=token, offline=offline)
    return bucket


def drop_bucket(name: str) -> None:
    with _REGISTRY_LOCK:
        _BUCKETS.pop(name, None)


_SETTINGS = (
    Setting("bucket_name", ("MEMORY_STORAGE_BUCKET",), "default", doc="The in-memory bucket."),
    Setting(
        "access_token",
        ("MEMORY_STORAGE_TOKEN",),
        None,
        secret=True,
        doc="Must match the bucket's token when it has one.",
    ),
    *common_settings(
        "MEMORY_STORAGE_",
        overwrite=("file_overwrite", "MEMORY_STORAGE_OVERWRITE", False),
        gzip_setting="MEMORY_STORAGE_GZIP",
    ),
    Setting("base_url", ("MEMORY_STORAGE_BASE_URL",), "/memory/", doc="Prefix of url()."),
)


@deconstructible
class MemoryStorage(BaseStorage):
    """Objects in an in-memory bucket (for tests)."""

    settings_table = _SETTINGS
    missing_times: ClassVar[dict[str, str]] = {
        "created": "the memory backend keeps only modified times",
        "accessed": "the memory backend does not record access times",
    }
    max_key_bytes = 1024
    upload_threshold = 1024 * 1024
    endpoint_setting = 'OPTIONS["bucket_name"] (MEMORY_STORAGE_BUCKET)'

    def _bucket(self, op: str) -> _Bucket:
        bucket = _BUCKETS.get(self.bucket_name)
        if bucket is None:
            raise ImproperlyConfigured(
                f"MemoryStorage: the bucket {self.bucket_name!r} does not exist; create it with "
                'storages.testing.memory.create_bucket() or set OPTIONS["bucket_name"]'
            )
        if bucket.offline:
            raise self._unavailable(
                ConnectionRefusedError("bucket offline"), op, f"the bucket {bucket.name!r}"
            )
        if bucket.token is not None and bucket.token != self.access_token:
            raise PermissionError(
                13,
                f"MemoryStorage was denied access to the bucket {bucket.name!r}; check "
                'OPTIONS["access_token"] (MEMORY_STORAGE_TOKEN)',
            )
        with bucket.lock:
            bucket.calls[op] = bucket.calls.get(op, 0) + 1
        return bucket

    def _get(self, key: str, op: str) -> tuple[bytes, ObjectInfo]:
        bucket = self._bucket(op)
        with bucket.lock:
            found = bucket.objects.get(key)
        if found is None:
            raise FileNotFoundError(
                2, f"No such file in MemoryStorage: {self._name(key)!r}", self._name(key)
            )
        return found

    # -- primitives --------------------------------------------------------
    def _stat(self, key: str) -> ObjectInfo:
        return replace(self._get(key, "stat")[1])

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        data, info = self._get(key, "read")
        return ReadResult(io.BytesIO(data[offset:end]), replace(info))

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        bucket = self._bucket("upload")
        buf = bytearray()
        for chunk in iter(lambda: source.fileobj.read(COPY_CHUNK), b""):
            buf += chunk
        data = bytes(buf)
        info = ObjectInfo(
            size=len(data),
            modified=dt.datetime.now(dt.timezone.utc),
            content_type=spec.content_type,
            content_encoding=spec.content_encoding,
            hashes=compute(io.BytesIO(data), ("md5",)),
        )
        with bucket.lock:
            if spec.create_only and spec.key in bucket.objects:
                raise FileExistsError(
                    17, f"File already exists in MemoryStorage: {spec.name!r}", spec.name
                )
            bucket.objects[spec.key] = (data, info)

    def _delete(self, key: str) -> None:
        bucket = self._bucket("delete")
        with bucket.lock:
            bucket.objects.pop(key, None)

    def _list(self, prefix: str) -> Iterator[tuple[list[str], list[str]]]:
        bucket = self._bucket("list")
        with bucket.lock:
            keys = sorted(k for k in bucket.objects if k.startswith(prefix))
        dirs = {
            prefix + k[len(prefix) :].split("/", 1)[0] + "/"
            for k in keys
            if "/" in k[len(prefix) :]
        }
        yield sorted(dirs), [k for k in keys if "/" not in k[len(prefix) :]]

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        bucket = self._bucket("list")
        with bucket.lock:
            found = sorted(
                (k, replace(v[1])) for k, v in bucket.objects.items() if k.startswith(prefix)
            )
        yield from found

    def _probe_root(self) -> _Bucket:
        return self._bucket("stat")

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        if not isinstance(source, MemoryStorage):
            return False
        data, info = source._get(source_key, "copy")
        self._upload(
            replace(spec, content_type=info.content_type or spec.content_type),
            UploadSource.from_bytes(data),
        )
        return True

    def url(self, name: str) -> str:
        if self.base_url is None:
            raise ValueError('MemoryStorage.url() needs OPTIONS["base_url"]')
        return join_url(self.base_url, self._key(name, allow_root=True))

    def _endpoint_label(self) -> str:
        return f"the bucket {self.bucket_name!r}"

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        if isinstance(exc, ConnectionError) and not isinstance(exc, StorageUnavailable):
            return self._unavailable(exc, op)
        return None

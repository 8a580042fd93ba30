"""A third-party backend as its author would write it: a plain Django ``Storage`` over a
process-wide dict, and the test classes that join it to areas of the conformance suite.

docs/testing.rst includes this file as written; tests/test_third_party_join.py imports it.
"""

import io
import threading
from urllib.parse import urljoin

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible
from django.utils.encoding import filepath_to_uri

from storages.testing import (
    BackendConfig,
    Capabilities,
    IOConformance,
    ListingConformance,
    NamesConformance,
)

BUCKETS: dict[str, dict[str, bytes]] = {}
LOCK = threading.Lock()


class _WriteFile(File):
    """What open(name, "w"/"wb") returns: kept in memory, stored on close()."""

    def __init__(self, storage, name, mode):
        super().__init__(io.StringIO() if "b" not in mode else io.BytesIO(), name)
        self.storage, self.mode = storage, mode

    def close(self):
        if not self.closed:
            data = self.file.getvalue()
            self.storage._put(self.name, data.encode() if isinstance(data, str) else data)
        super().close()


@deconstructible(path="tests.examples.dict_storage.DictStorage")
class DictStorage(Storage):
    def __init__(self, bucket="default", location="", base_url="/media/"):
        self.bucket, self.location, self.base_url = bucket, location.strip("/"), base_url
        BUCKETS.setdefault(bucket, {})

    def _key(self, name):
        return "/".join(part for part in (self.location, name) if part)

    def _put(self, name, data):
        with LOCK:
            BUCKETS[self.bucket][self._key(name)] = data

    def _open(self, name, mode="rb"):
        if "w" in mode:
            return _WriteFile(self, name, mode)
        try:
            data = BUCKETS[self.bucket][self._key(name)]
        except KeyError:
            raise FileNotFoundError(name) from None
        return File(io.BytesIO(data) if "b" in mode else io.StringIO(data.decode()), name)

    def _save(self, name, content):
        data = b"".join(
            c.encode() if isinstance(c, str) else c for c in ContentFile.chunks(content)
        )
        with LOCK:  # pick a free name and store it at once: concurrent saves never collide
            if self.exists(name):
                name = self.get_available_name(name)
            BUCKETS[self.bucket][self._key(name)] = data
        return name

    def exists(self, name):
        return self._key(name) in BUCKETS[self.bucket]

    def delete(self, name):
        with LOCK:
            BUCKETS[self.bucket].pop(self._key(name), None)

    def size(self, name):
        try:
            return len(BUCKETS[self.bucket][self._key(name)])
        except KeyError:
            raise FileNotFoundError(name) from None

    def listdir(self, path):
        prefix = self._key(path.strip("/"))
        prefix = f"{prefix}/" if prefix else ""
        dirs, files = set(), []
        for key in list(BUCKETS[self.bucket]):
            if key.startswith(prefix):
                head, _, tail = key[len(prefix) :].partition("/")
                (dirs.add(head) if tail else files.append(head))
        return sorted(dirs), sorted(files)

    def url(self, name):
        return urljoin(self.base_url, filepath_to_uri(name))


# -- joining the conformance suite: the fixture, then one line per area --------------------
@pytest.fixture
def storage_config(request):
    bucket = f"bucket-{request.node.name}"
    options = {"bucket": bucket, "location": "media"}
    yield BackendConfig("tests.examples.dict_storage.DictStorage", options)
    BUCKETS.pop(bucket, None)


class TestDictStorageIO(IOConformance):
    pass


class TestDictStorageNames(NamesConformance):
    pass


class TestDictStorageListing(ListingConformance):
    capabilities = Capabilities(modified_time=False)

"""Helpers that code written against django-storages 1.14 imports from the package."""

from __future__ import annotations

import gzip
import inspect
import io

from django.core.files.base import ContentFile

from storages import utils
from storages.compress import CompressedFileMixin, CompressStorageMixin, GzipCompressionWrapper


def test_safe_join_keeps_a_trailing_slash():
    assert utils.safe_join("base_url") == "base_url/"
    assert utils.safe_join("static", "") == "static/"
    assert utils.safe_join("", "") == ""
    assert utils.safe_join("a", "b/", "c") == "a/b/c"


def test_every_1_14_helper_exists_with_its_signature():
    expected = {
        "setting": ["name", "default"],
        "clean_name": ["name"],
        "safe_join": ["base", "paths"],
        "check_location": ["storage"],
        "lookup_env": ["names"],
        "get_available_overwrite_name": ["name", "max_length"],
        "to_bytes": ["content"],
        "is_seekable": ["file_object"],
    }
    for name, params in expected.items():
        assert list(inspect.signature(getattr(utils, name)).parameters) == params, name
    wrapper = utils.ReadBytesWrapper(io.StringIO("héllo"), encoding="utf-8")
    assert wrapper.read() == "héllo".encode()


def test_compress_mixins_of_1_14():
    compressed = CompressStorageMixin()._compress_content(ContentFile(b"abc" * 100))
    assert isinstance(compressed, GzipCompressionWrapper)
    data = compressed.read()
    assert gzip.decompress(data) == b"abc" * 100
    unpacked = CompressedFileMixin()._decompress_file("rb", io.BytesIO(data))
    assert unpacked.read() == b"abc" * 100

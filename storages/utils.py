"""Helper names that users and third-party code import from ``storages.utils``."""

from __future__ import annotations

import os
import posixpath
from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.utils import FileProxyMixin, validate_file_name
from django.utils.encoding import force_bytes
from django.utils.functional import LazyObject, empty

from storages.conf import lookup_env, setting
from storages.naming import check_location as _check_location
from storages.naming import clean_name, safe_join

__all__ = [
    "setting",
    "lookup_env",
    "clean_name",
    "safe_join",
    "check_location",
    "get_available_overwrite_name",
    "to_bytes",
    "is_seekable",
    "ReadBytesWrapper",
]


def resolve_storage(storage: Any) -> Any:
    """The storage behind a lazy wrapper such as ``default_storage``.

    A model field without ``storage=`` holds Django's ``DefaultStorage``, a lazy
    proxy: its class says nothing about the storage behind it, so type and hook
    checks must look at the wrapped object.
    """
    if isinstance(storage, LazyObject):
        if storage._wrapped is empty:
            storage._setup()
        return storage._wrapped
    return storage


def check_location(storage: Any) -> None:
    """Raise ``ImproperlyConfigured`` if ``storage.location`` starts with ``/``."""
    _check_location(getattr(storage, "location", "") or "")


def get_available_overwrite_name(name: str, max_length: int | None) -> str:
    """The name to use when overwriting: validated, truncated to ``max_length``."""
    dir_name, file_name = posixpath.split(name.replace("\\", "/"))
    if ".." in dir_name.split("/"):
        raise SuspiciousFileOperation(f"Detected path traversal attempt in '{dir_name}'")
    validate_file_name(file_name)
    if max_length is None or len(name) <= max_length:
        return name
    root, ext = os.path.splitext(file_name)
    truncation = len(name) - max_length
    root = root[:-truncation]
    if not root:
        raise SuspiciousFileOperation(
            f'Storage tried to truncate away entire filename "{name}". '
            'Please make sure that the corresponding file field allows sufficient "max_length".'
        )
    name = posixpath.join(dir_name, root + ext)
    validate_file_name(name, allow_relative_path=True)
    return name


def to_bytes(content: Any) -> bytes | bytearray:
    """bytes for str and other objects; bytearray passes through."""
    if isinstance(content, bytearray):
        return content
    return force_bytes(content)


def is_seekable(file_object: Any) -> bool:
    return not hasattr(file_object, "seekable") or file_object.seekable()


class ReadBytesWrapper(FileProxyMixin):
    """A file proxy whose ``read()`` always returns bytes."""

    def __init__(self, file: Any, encoding: str | None = None) -> None:
        self.file = file
        self._encoding = encoding or getattr(file, "encoding", None) or "utf-8"

    def read(self, *args: Any, **kwargs: Any) -> bytes:
        content = self.file.read(*args, **kwargs)
        if not isinstance(content, bytes):
            content = content.encode(self._encoding)
        return content

    def close(self) -> None:
        self.file.close()

    def readable(self) -> bool:
        return True

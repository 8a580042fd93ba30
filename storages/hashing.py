"""Content hashes as providers store them, computed locally, so content can be compared
without downloading it (collectstatic skips, resumable copies, --verify).

Every hash is a lowercase hex string under one of :data:`KINDS`; a backend puts the
hashes its provider stores into ``ObjectInfo.hashes`` in the same form.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from typing import IO, Any

__all__ = ["KINDS", "compute", "compare", "b64_to_hex", "DropboxHasher"]

#: Hash kinds, most trusted first: md5 (S3 single-part ETag, GCS, Azure Content-MD5),
#: crc32c (GCS), dropbox (Dropbox content_hash), sha256 (explicit checksums).
KINDS = ("sha256", "md5", "dropbox", "crc32c")
_BLOCK = 4 * 1024 * 1024


def b64_to_hex(value: str | None) -> str | None:
    """A provider's base64 digest (GCS md5Hash/crc32c, Azure Content-MD5) as hex."""
    if not value:
        return None
    try:
        return base64.b64decode(value).hex()
    except (ValueError, TypeError):
        return None


class DropboxHasher:
    """Dropbox's content_hash: SHA-256 of the concatenated SHA-256 of each 4 MiB block."""

    def __init__(self) -> None:
        self._overall = hashlib.sha256()
        self._block = hashlib.sha256()
        self._filled = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), _BLOCK - self._filled)
            self._block.update(view[:take])
            self._filled += take
            view = view[take:]
            if self._filled == _BLOCK:
                self._overall.update(self._block.digest())
                self._block = hashlib.sha256()
                self._filled = 0

    def hexdigest(self) -> str:
        overall = self._overall.copy()
        if self._filled:
            overall.update(self._block.digest())
        return overall.hexdigest()


class _Crc32c:
    def __init__(self) -> None:
        import google_crc32c

        self._h = google_crc32c.Checksum()

    def update(self, data: bytes) -> None:
        self._h.update(data if isinstance(data, bytes) else bytes(data))  # it takes no memoryview

    def hexdigest(self) -> str:
        return self._h.digest().hex()


def _hasher(kind: str) -> Any:
    if kind == "dropbox":
        return DropboxHasher()
    if kind == "crc32c":
        try:
            return _Crc32c()
        except ImportError:
            return None
    return hashlib.new(kind)


def compute(
    fileobj: IO[bytes], kinds: Iterable[str], chunk_size: int = 1024 * 1024
) -> dict[str, str]:
    """Hashes of everything ``fileobj`` yields from its current position, in one pass."""
    hashers = {k: h for k in kinds if k in KINDS and (h := _hasher(k)) is not None}
    for chunk in iter(lambda: fileobj.read(chunk_size), b""):
        for h in hashers.values():
            h.update(chunk)
    return {k: h.hexdigest() for k, h in hashers.items()}


def compare(local: Mapping[str, str], remote: Mapping[str, str]) -> bool | None:
    """True/False by the most trusted kind both sides have; None when they share none."""
    for kind in KINDS:
        if kind in local and kind in remote:
            return local[kind].lower() == remote[kind].lower()
    return None

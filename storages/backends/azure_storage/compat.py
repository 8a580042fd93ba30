"""Adapters for older azure-storage-blob releases (12.30 is the newest on Python 3.9).

tests/test_sdk_compat.py runs both paths and fails when an SDK release moves the detection.
"""

from __future__ import annotations

import base64
import os
from typing import Any


class _OwnBlockIds:
    """An uploader's block service that stages every block under this upload's own random prefix."""

    def __init__(self, service: Any) -> None:
        self._service, self.prefix = service, base64.b64encode(os.urandom(9)).decode()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def stage_block(self, block_id: str, *args: Any, **kwargs: Any) -> Any:
        return self._service.stage_block(self.prefix + block_id, *args, **kwargs)


def azure_unique_block_ids(force: bool = False) -> None:
    """Give each block upload its own block ids on azure-storage-blob < 12.31 (12.30 is the newest
    on Python 3.9), which names a blob's staged blocks after their offsets only.

    Uncommitted blocks belong to the blob name, so two uploads racing for one name (two create-only
    saves) stage over each other's blocks and the blob committed mixes both contents. 12.31 uses
    random ids; here an upload's ids get a random 12-character base64 prefix (the ids stay valid
    base64 of one length, and keep the order the SDK sorts them by). Applied once, process-wide
    (``force``: on 12.31+ too, for the tests).
    """
    from azure.storage.blob._shared import uploads

    cls = uploads.BlockBlobChunkUploader
    if (hasattr(uploads, "uuid4") and not force) or getattr(cls, "_own_block_ids", False):
        return
    init, chunk, substream = cls.__init__, cls._upload_chunk, cls._upload_substream_block

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.service = _OwnBlockIds(self.service)

    def _upload_chunk(self: Any, offset: int, data: Any) -> tuple[str, str]:
        index, block_id = chunk(self, offset, data)
        return index, self.service.prefix + block_id

    def _upload_substream_block(self: Any, index: int, stream: Any) -> Any:
        result = substream(self, index, stream)  # the block id; (index, block id) from 12.31
        if isinstance(result, tuple):
            return result[0], self.service.prefix + result[1]
        return self.service.prefix + result

    cls.__init__, cls._upload_chunk, cls._upload_substream_block = (
        __init__,
        _upload_chunk,
        _upload_substream_block,
    )
    cls._own_block_ids = True

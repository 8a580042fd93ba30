"""Adapters for older SDK releases that the supported Pythons still get.

pip installs the newest release that supports the interpreter: on Python 3.9 and 3.10 that is
dropbox 12.1 and s3transfer 0.16, which lack features the backends use. Each adapter takes the
SDK's own path when the SDK has the feature, so only old releases go through the fallback;
tests/test_sdk_compat.py runs both paths and fails when an SDK release moves the detection.
"""

from __future__ import annotations

import base64
import functools
import inspect
import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storages.files import UploadSpec

# What a single CopyObject keeps from its source (MetadataDirective COPY) and a multipart copy
# must be given explicitly.
S3_COPY_KEPT = (
    "CacheControl",
    "ContentDisposition",
    "ContentEncoding",
    "ContentLanguage",
    "ContentType",
    "Expires",
    "Metadata",
)


@functools.cache
def s3transfer_keeps_metadata() -> bool:
    """s3transfer >= 0.18 copies the source's metadata into a multipart copy itself."""
    from s3transfer.copies import CopySubmissionTask

    return hasattr(CopySubmissionTask, "PRESERVED_METADATA_FIELDS")


def s3_copy(
    client: Any, source: dict[str, str], bucket: str, spec: UploadSpec, config: Any
) -> None:
    """``client.copy`` of ``source`` to ``spec.key`` (one CopyObject, or a multipart copy above
    ``config.multipart_threshold``) with the ACL, storage class and encryption of ``spec.params``,
    keeping the source's Content-Type, Cache-Control... and user metadata whatever the size.

    Older s3transfer starts a multipart copy without them (the copy would be served as
    binary/octet-stream): the source's HEAD gives them, as newer s3transfer does itself.
    """
    extra = {
        k: v for k, v in spec.params.items() if k in ("ACL", "StorageClass", "ServerSideEncryption")
    }
    if not s3transfer_keeps_metadata():
        head = client.head_object(**source)
        if head["ContentLength"] >= config.multipart_threshold:
            extra = {**{k: head[k] for k in S3_COPY_KEPT if k in head}, **extra}
    client.copy(source, bucket, spec.key, ExtraArgs=extra or None, Config=config)


@functools.cache
def dropbox_takes_headers(cls: type) -> bool:
    """dropbox >= 12.2.2 takes per-call ``extra_headers`` on its download routes."""
    return "extra_headers" in inspect.signature(cls.files_download).parameters


def dropbox_download(client: Any, path: str, headers: dict[str, str] | None) -> Any:
    """``client.files_download(path)`` that also sends ``headers`` (a Range), on dropbox 12.0 and later.

    Older releases take no per-call headers, only client-wide ones: a clone of the client (same
    session, token, retries; the API hosts copied over) carries them for this one request.
    """
    if dropbox_takes_headers(type(client)):
        return client.files_download(path, extra_headers=headers)
    if headers:
        clone = client.clone(headers={**(client._headers or {}), **headers})
        clone._host_map = client._host_map
        client = clone
    return client.files_download(path)


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

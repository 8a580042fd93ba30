"""Adapters for older SDK releases that the supported Pythons still get.

pip installs the newest release that supports the interpreter: on Python 3.9 and 3.10 that is
s3transfer 0.16, which lack features the backends use. Each adapter takes the
SDK's own path when the SDK has the feature, so only old releases go through the fallback;
tests/test_sdk_compat.py runs both paths and fails when an SDK release moves the detection.
"""

from __future__ import annotations

import functools
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

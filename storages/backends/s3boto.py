"""``S3BotoStorage`` (the boto 2 backend, removed long ago): now an alias of S3Storage."""

from __future__ import annotations

import warnings
from typing import Any

from django.utils.deconstruct import deconstructible

from storages.backends.s3 import S3File, S3Storage

__all__ = ["S3BotoStorage", "S3BotoStorageFile"]


@deconstructible
class S3BotoStorage(S3Storage):
    """Deprecated: use ``storages.backends.s3.S3Storage``."""

    def __init__(self, **options: Any) -> None:
        warnings.warn(
            "storages.backends.s3boto.S3BotoStorage is deprecated; use "
            "storages.backends.s3.S3Storage (it takes the same AWS_* settings).",
            DeprecationWarning,
            stacklevel=2,
        )
        super().__init__(**options)


S3BotoStorageFile = S3File

"""Google Cloud Storage's older settings, translated into today's options (each warns)."""

from __future__ import annotations

from storages.conf import Legacy

__all__ = ["GCS_LEGACY"]

GCS_LEGACY: tuple[Legacy, ...] = (
    Legacy(
        ("GS_AUTO_CREATE_BUCKET",),
        "auto_create_bucket",
        bool,
        "create the bucket once, outside Django (gcloud storage buckets create gs://NAME)",
    ),
    Legacy(
        ("GS_AUTO_CREATE_ACL",),
        "auto_create_acl",
        lambda v: v,
        "create the bucket with its ACL outside Django",
    ),
    Legacy(
        ("GS_CACHE_CONTROL",),
        "object_parameters",
        lambda v: {"cache_control": v} if v else {},
        "write GS_OBJECT_PARAMETERS = {'cache_control': '...'}",
        merge=True,
    ),
    Legacy(
        ("GS_FILE_CHARSET",),
        "file_charset",
        lambda v: v,
        "remove GS_FILE_CHARSET: it has no effect",
    ),
)

"""S3's older settings (boto2 era and 1.x options), translated into today's options.

Each translation warns (``DeprecationWarning``) and says what to write instead.
"""

from __future__ import annotations

import warnings
from typing import Any

from storages.conf import MISSING, Legacy, setting

__all__ = ["S3_LEGACY", "s3_create_bucket"]

# Old boto2 header names in AWS_HEADERS -> boto3 parameter names.
_S3_HEADER_PARAMS = {
    "cache-control": "CacheControl",
    "content-disposition": "ContentDisposition",
    "content-encoding": "ContentEncoding",
    "content-language": "ContentLanguage",
    "content-type": "ContentType",
    "expires": "Expires",
    "x-amz-acl": "ACL",
    "x-amz-storage-class": "StorageClass",
    "x-amz-server-side-encryption": "ServerSideEncryption",
    "x-amz-website-redirect-location": "WebsiteRedirectLocation",
}


def _s3_headers_to_params(headers: Any) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for header, value in (headers or {}).items():
        low = header.lower()
        if low.startswith("x-amz-meta-"):
            params.setdefault("Metadata", {})[header[len("x-amz-meta-") :]] = value
        elif low in _S3_HEADER_PARAMS:
            params[_S3_HEADER_PARAMS[low]] = value
        else:
            warnings.warn(
                f"AWS_HEADERS: {header!r} has no S3 upload parameter and is ignored", stacklevel=2
            )
    return params


def _given(value: Any) -> bool:
    return value not in (MISSING, None, "")


def _s3_endpoint(host: Any, port: Any) -> str | None:
    scheme = "https" if setting("AWS_S3_USE_SSL", True) else "http"
    return f"{scheme}://{host}" + (f":{port}" if _given(port) else "") if host else None


def _s3_addressing_style(value: Any) -> str | None:
    text = str(value)
    return (
        "path"
        if "Ordinary" in text
        else "virtual"
        if ("Subdomain" in text or "VHost" in text)
        else None
    )


def _s3_proxies(host: Any, port: Any) -> dict[str, str] | None:
    where = f"{host}:{port}" if _given(port) else str(host)
    return {"http": where, "https": where} if host else None


def s3_create_bucket(client: Any, bucket: str, acl: str | None, region: str | None) -> None:
    """AWS_AUTO_CREATE_BUCKET: create the bucket (with its ACL, in its region) unless it exists."""
    try:
        client.head_bucket(Bucket=bucket)
        return
    except client.exceptions.ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code")) not in (
            "404",
            "NoSuchBucket",
            "NotFound",
        ):
            raise
    region = region or client.meta.region_name
    params: dict[str, Any] = {"ACL": acl} if acl else {}
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    client.create_bucket(Bucket=bucket, **params)


S3_LEGACY: tuple[Legacy, ...] = (
    Legacy(
        ("AWS_HEADERS",),
        "object_parameters",
        _s3_headers_to_params,
        "write AWS_S3_OBJECT_PARAMETERS with boto3 names (Cache-Control -> CacheControl)",
        merge=True,
    ),
    Legacy(
        ("AWS_S3_HOST", "AWS_S3_PORT"),
        "endpoint_url",
        _s3_endpoint,
        "write AWS_S3_ENDPOINT_URL = 'https://host:port'",
    ),
    Legacy(
        ("AWS_S3_CALLING_FORMAT",),
        "addressing_style",
        _s3_addressing_style,
        "write AWS_S3_ADDRESSING_STYLE = 'path' or 'virtual'",
    ),
    Legacy(
        ("AWS_ORIGIN",),
        "region_name",
        lambda v: {"": "us-east-1", "EU": "eu-west-1", "US": "us-east-1"}.get(str(v), str(v)),
        "write AWS_S3_REGION_NAME",
    ),
    Legacy(
        ("AWS_S3_PROXY_HOST", "AWS_S3_PROXY_PORT"),
        "proxies",
        _s3_proxies,
        "write AWS_S3_PROXIES = {'https': 'host:port'}",
    ),
    Legacy(
        ("AWS_S3_ENCRYPTION",),
        "object_parameters",
        lambda on: {"ServerSideEncryption": "AES256"} if on else {},
        "write AWS_S3_OBJECT_PARAMETERS = {'ServerSideEncryption': 'AES256'}",
        merge=True,
    ),
    Legacy(
        ("AWS_REDUCED_REDUNDANCY",),
        "object_parameters",
        lambda on: {"StorageClass": "REDUCED_REDUNDANCY"} if on else {},
        "write AWS_S3_OBJECT_PARAMETERS = {'StorageClass': 'REDUCED_REDUNDANCY'}",
        merge=True,
    ),
    Legacy(
        ("AWS_AUTO_CREATE_BUCKET",),
        "auto_create_bucket",
        bool,
        "create the bucket once (aws s3 mb, or your infrastructure code)",
    ),
    Legacy(
        ("AWS_BUCKET_ACL",),
        "bucket_acl",
        lambda v: v,
        "create the bucket with its ACL outside Django",
    ),
)

"""Does the storage let a page on ``origin`` upload directly? (A check, for ``checkstorages``.)

Browsers ask the storage first (a CORS preflight) whether the page's origin may
send the upload. S3 buckets and Azure accounts answer from CORS rules that must
be set up once; GCS upload sessions are bound to the origin by the server (no
rule needed); Dropbox's content host allows any origin.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from storages.direct import _provider, resolve_storage


def _matches(value: str, allowed: list[str]) -> bool:
    value = value.lower()
    return any(a == "*" or fnmatch.fnmatchcase(value, a.lower()) for a in allowed)


def _rule_problem(
    origin: str,
    method: str,
    headers: list[str],
    rules: list[tuple[list[str], list[str], list[str]]],
    where: str,
) -> list[str]:
    for origins, methods, allowed_headers in rules:
        if (
            _matches(origin, origins)
            and method in [m.upper() for m in methods]
            and all(_matches(h, allowed_headers) for h in headers)
        ):
            return []
    need = f"origin {origin}, method {method}" + (
        f", headers {', '.join(headers)}" if headers else ""
    )
    return [f"{where} has no CORS rule allowing direct uploads from the browser ({need})"]


def check_cors(storage: Any, origin: str) -> list[str]:
    """Problems that would stop a browser on ``origin`` uploading to ``storage`` (empty: none found)."""
    storage = resolve_storage(storage)
    module = getattr(_provider(storage), "__name__", "")
    if module.endswith(".s3"):
        return _s3(storage, origin)
    if module.endswith(".azure"):
        return _azure(storage, origin)
    return []


def _s3(storage: Any, origin: str) -> list[str]:
    from botocore.exceptions import ClientError

    try:
        reply = storage.client.get_bucket_cors(Bucket=storage.bucket_name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchCORSConfiguration":
            raise
        reply = {}
    rules = [
        (r.get("AllowedOrigins", []), r.get("AllowedMethods", []), r.get("AllowedHeaders", []))
        for r in reply.get("CORSRules", [])
    ]
    if storage.overwrite:
        method, headers = "POST", []
    else:
        method, headers = "PUT", ["content-type", "if-none-match"]
    return _rule_problem(origin, method, headers, rules, f"S3 bucket {storage.bucket_name!r}")


def _azure(storage: Any, origin: str) -> list[str]:
    properties = storage.service_client.get_service_properties()

    def split(value: Any) -> list[str]:
        return [v.strip() for v in (value or "").split(",") if v.strip()]

    rules = [
        (split(r.allowed_origins), split(r.allowed_methods), split(r.allowed_headers))
        for r in properties.get("cors") or []
    ]
    return _rule_problem(
        origin,
        "PUT",
        ["content-type", "x-ms-blob-type", "x-ms-blob-content-type"],
        rules,
        f"Azure account {storage.service_client.account_name!r}",
    )

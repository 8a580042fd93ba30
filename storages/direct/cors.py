"""Does the storage let a page on ``origin`` upload directly? (A check, for ``checkstorages``.)

Browsers ask the storage first (a CORS preflight) whether the page's origin may
send the upload. S3 buckets and Azure accounts answer from CORS rules that must
be set up once; GCS upload sessions are bound to the origin by the server (no
rule needed); Dropbox's content host allows any origin.
"""

from __future__ import annotations

import fnmatch
from typing import Any

from storages.direct import resolve_storage

__all__ = ["check_cors", "rule_problems"]


def _matches(value: str, allowed: list[str]) -> bool:
    value = value.lower()
    return any(a == "*" or fnmatch.fnmatchcase(value, a.lower()) for a in allowed)


def rule_problems(
    origin: str,
    method: str,
    headers: list[str],
    rules: list[tuple[list[str], list[str], list[str]]],
    where: str,
) -> list[str]:
    """Why no rule of ``rules`` (origins, methods, headers) lets ``origin`` send ``method`` with
    ``headers`` to ``where`` (empty: one does). For the providers' ``cors_problems``."""
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
    """Problems that would stop a browser on ``origin`` uploading to ``storage`` (empty: none
    found)."""
    hook = getattr(resolve_storage(storage), "direct_upload_cors_problems", None)
    return list(hook(origin)) if callable(hook) else []

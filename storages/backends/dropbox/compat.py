"""Adapters for older dropbox SDK releases (12.1 is the newest on Python 3.9 and 3.10).

Each takes the SDK's own path when the SDK has the feature; tests/test_sdk_compat.py runs both
paths and fails when an SDK release moves the detection.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any


@functools.cache
def dropbox_takes_headers(cls: type) -> bool:
    """dropbox >= 12.2.2 takes per-call ``extra_headers`` on its download routes."""
    return "extra_headers" in inspect.signature(cls.files_download).parameters


def dropbox_download(client: Any, path: str, headers: dict[str, str] | None) -> Any:
    """``client.files_download(path)`` that also sends ``headers`` (a Range), on dropbox 12.0 and
    later.

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

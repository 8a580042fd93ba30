"""Signing S3 URLs as of a chosen time (cacheable signed URLs, :mod:`storages.signed_urls`).

botocore's SigV4 signers take the signing time from ``botocore.auth.get_current_datetime()``
and have no parameter for it. This adapter wraps that one function, once per process: it answers
the time :func:`storages.signed_urls.signing_time` pinned for the current context, and the real
time everywhere else (so every other request botocore signs is untouched).
tests/test_signed_url_window.py fails loudly if botocore stops asking it.
"""

from __future__ import annotations

import threading
from typing import Any

from storages.signed_urls import pinned_now

_LOCK = threading.Lock()


def install() -> None:
    """Make botocore's SigV4 signers honour :func:`storages.signed_urls.signing_time`."""
    import botocore.auth

    with _LOCK:
        current = botocore.auth.get_current_datetime
        if getattr(current, "storages_pinned", False):
            return

        def get_current_datetime(*args: Any, **kwargs: Any) -> Any:
            moment = pinned_now()
            if moment is None:
                return current(*args, **kwargs)
            remove_tzinfo = kwargs.get("remove_tzinfo", args[0] if args else True)
            return moment.replace(tzinfo=None) if remove_tzinfo else moment

        get_current_datetime.storages_pinned = True  # type: ignore[attr-defined]
        botocore.auth.get_current_datetime = get_current_datetime

"""Signing GCS V4 URLs as of a chosen time (cacheable signed URLs, :mod:`storages.signed_urls`).

``Blob.generate_signed_url`` takes the V4 signing time from
``google.cloud.storage._signing.get_v4_now_dtstamps()`` and passes no parameter for it. This
adapter wraps that one function, once per process: it answers the time
:func:`storages.signed_urls.signing_time` pinned for the current context, and the real time
everywhere else. tests/test_signed_url_window.py fails loudly if the SDK stops asking it.
"""

from __future__ import annotations

import threading

from storages.signed_urls import pinned_now

_LOCK = threading.Lock()


def install() -> None:
    """Make the GCS SDK's V4 signer honour :func:`storages.signed_urls.signing_time`."""
    from google.cloud.storage import _signing

    with _LOCK:
        current = _signing.get_v4_now_dtstamps
        if getattr(current, "storages_pinned", False):
            return

        def get_v4_now_dtstamps() -> tuple[str, str]:
            moment = pinned_now()
            if moment is None:
                return current()
            return moment.strftime("%Y%m%dT%H%M%SZ"), moment.strftime("%Y%m%d")

        get_v4_now_dtstamps.storages_pinned = True  # type: ignore[attr-defined]
        _signing.get_v4_now_dtstamps = get_v4_now_dtstamps

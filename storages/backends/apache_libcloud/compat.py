"""The one place that reaches into a libcloud driver's HTTP response.

libcloud's ``download_object_as_stream`` and ``download_object_range_as_stream`` return a bare
generator of chunks: the HTTP response behind it (and so its pooled connection) stays open
until the generator is read to its end or the driver's next request, so a download closed
unread (a file opened and closed, a cancelled async read) would hold its connection. The
streaming drivers (S3 and the others built on ``RawResponse``) keep the ``requests`` response
as the bound method ``iter_content`` of the reply ``connection.request()`` returns;
:func:`download` captures that reply for one call and hands back a ``close()`` that closes the
``requests`` response. ``tests/backends/test_libcloud.py`` fails if libcloud stops working
this way (then a download closed unread keeps its connection until the next request, as
before, and nothing else changes).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

logger = logging.getLogger(__name__)

__all__ = ["download", "http_response"]


def http_response(reply: Any) -> Any | None:
    """The ``requests`` response behind a reply of libcloud's ``connection.request()``, or None
    when the reply keeps none where libcloud 3.x does."""
    import requests

    owner = getattr(getattr(reply, "iter_content", None), "__self__", None)
    return owner if isinstance(owner, requests.Response) else None


def download(
    driver: Any, call: Callable[..., Iterator[bytes]], *args: Any, **kwargs: Any
) -> tuple[Iterator[bytes], Callable[[], None]]:
    """``call(*args, **kwargs)`` (a download method of ``driver``, which belongs to this thread):
    its chunks, and a ``close()`` that releases the download's connection, read or not."""
    connection = getattr(driver, "connection", None)
    request = getattr(connection, "request", None)
    replies: list[Any] = []
    if request is not None:
        # on this thread's driver, for this one call
        connection.request = lambda *a, **k: replies.append(request(*a, **k)) or replies[-1]
    try:
        chunks = call(*args, **kwargs)
    except BaseException:
        _close(replies)
        raise
    finally:
        if request is not None:
            connection.__dict__.pop("request", None)
    return chunks, lambda: _close(replies)


def _close(replies: list[Any]) -> None:
    for reply in replies:
        response = http_response(reply)
        if response is None:
            logger.debug("libcloud reply %r keeps no requests response: left open", reply)
            continue
        try:
            response.close()
        except Exception:  # pragma: no cover - closing a half-read response
            logger.debug("closing a libcloud download failed", exc_info=True)

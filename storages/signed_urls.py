"""Cacheable signed URLs: one URL for every call inside a time window.

A signed URL carries its expiry (and, for S3 SigV4 and GCS V4, its signing time), so by default
each ``url()`` call returns a new URL and browsers and CDNs download the same private file again
on every page. With a window of ``W`` seconds and a lifetime of ``L`` seconds, every call in the
slot ``[k*W, (k+1)*W)`` signs as of the slot's start ``k*W`` with a lifetime of ``W + L``: the
URL is byte-identical within the slot, and whenever it is handed out it has at least ``L``
seconds left.

Providers whose signature covers the signing time read it through :func:`pinned_now` while
:func:`signing_time` is active (each provider package holds the small adapter that makes its SDK
ask); the others only need :attr:`Expiry.until`.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import time
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

from storages.conf import Setting

__all__ = ["Expiry", "expiry", "pinned_now", "signing_time", "window_setting", "check_window"]

#: The longest lifetime S3 SigV4 and GCS V4 signed URLs may have.
SEVEN_DAYS = 7 * 24 * 3600

_PINNED: contextvars.ContextVar[dt.datetime | None] = contextvars.ContextVar(
    "storages_signing_time", default=None
)


@dataclass(frozen=True)
class Expiry:
    """When a signed URL is signed (``start``, aware UTC) and how long it is valid from then."""

    start: dt.datetime
    seconds: int

    @property
    def until(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.seconds)


def expiry(lifetime: float, window: float | None = None, *, now: float | None = None) -> Expiry:
    """The signing time and lifetime of a URL that must stay valid ``lifetime`` seconds.

    Without a window: signed now, valid ``lifetime`` seconds. With one: signed at the start of
    the current window, valid ``window + lifetime`` seconds from then.
    """
    now = time.time() if now is None else now
    lifetime, window = int(lifetime), int(window or 0)
    start = now - now % window if window else now
    moment = dt.datetime.fromtimestamp(int(start), dt.timezone.utc)
    return Expiry(moment, lifetime + window)


def pinned_now() -> dt.datetime | None:
    """The signing time :func:`signing_time` set for this context, if any."""
    return _PINNED.get()


@contextlib.contextmanager
def signing_time(moment: dt.datetime) -> Iterator[None]:
    """Sign as of ``moment`` in this context (thread- and task-local)."""
    token = _PINNED.set(moment)
    try:
        yield
    finally:
        _PINNED.reset(token)


def window_setting(setting_name: str) -> Setting:
    """The ``signed_url_window`` option under a backend's own Django setting name."""
    return Setting(
        "signed_url_window",
        (setting_name,),
        0,
        doc="Seconds: every signed URL of a name is the same within one window of this length "
        "(cacheable by browsers and CDNs) and keeps at least its full lifetime; 0 signs anew "
        "on every call.",
    )


def check_window(label: str, setting_name: str, window: object, lifetime: float) -> int:
    """``window`` as whole seconds, or ``ImproperlyConfigured`` naming ``setting_name``."""
    try:
        seconds = int(window or 0)
    except (TypeError, ValueError):
        seconds = -1
    if seconds < 0 or (isinstance(window, float) and window != seconds):
        raise ImproperlyConfigured(
            f"{label}: {setting_name} must be a whole number of seconds, 0 or more (got {window!r})"
        )
    if seconds and seconds + lifetime > SEVEN_DAYS:
        raise ImproperlyConfigured(
            f"{label}: {setting_name} ({seconds} s) plus the signed URL lifetime "
            f"({int(lifetime)} s) is over the 7 days a signed URL may last; shorten either"
        )
    return seconds

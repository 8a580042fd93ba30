"""Direct uploads: the browser sends a file straight to the storage, Django signs and checks.

:func:`upload_ticket` is the storage-side API: for a name chosen by the server it
returns what a browser needs (method, URL, form fields or headers) to upload
exactly that object, with the limits the provider can enforce built in. The form
side (:class:`~storages.direct.forms.DirectUploadField`, its widget and the ticket
view) ties the uploaded object back to a model field safely.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from storages.utils import resolve_storage

__all__ = [
    "DEFAULT_MAX_SIZE",
    "TicketRequest",
    "UploadTicket",
    "human_size",
    "resolve_storage",
    "supports_direct_upload",
    "upload_ticket",
]

#: S3's single POST and Azure's single Put Blob both stop near 5 GiB.
DEFAULT_MAX_SIZE = 5 * 1024**3

_UNITS = ("KB", "MB", "GB", "TB", "PB", "EB")


def human_size(size: int) -> str:
    """``"812 bytes"``, ``"9.0 MB"``: one decimal, units of 1024 (the widget's script mirrors
    it)."""
    if abs(size) < 1024:
        return "1 byte" if size == 1 else f"{size} bytes"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == _UNITS[-1]:
            break
    return f"{value:.1f} {unit}"


@dataclass(frozen=True)
class TicketRequest:
    """What the server decided about one direct upload."""

    name: str
    expires_in: int = 900
    content_type: str | None = None
    max_size: int = DEFAULT_MAX_SIZE
    #: The size the browser declared; providers that bind a session or a
    #: signature to an exact length (GCS, S3 create-only) need it.
    size: int | None = None
    #: The page's origin (``https://example.com``): GCS binds its upload session to it.
    origin: str | None = None
    #: The browser may create the object but not replace an existing one.
    create_only: bool = True


@dataclass(frozen=True)
class UploadTicket:
    """How a browser uploads one object.

    ``method`` and ``url`` are the request; with ``file_field`` set the body is
    ``multipart/form-data`` made of ``fields`` then the file under that field
    name, else the body is the file itself. ``headers`` must be sent as given
    (they are part of what the provider signed or checks).
    """

    name: str
    method: str
    url: str
    expires: dt.datetime
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    file_field: str | None = None
    #: What the provider enforces itself ("size", "type", "create_only");
    #: everything is checked again on submit anyway.
    enforced: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expires"] = self.expires.isoformat()
        data["enforced"] = list(self.enforced)
        return data


def _hook(storage: Any) -> Any:
    hook = getattr(storage, "direct_upload_ticket", None)
    return hook if callable(hook) else None


def supports_direct_upload(storage: Any) -> bool:
    """Whether ``storage`` can give a browser a direct upload (it has ``direct_upload_ticket``)."""
    return _hook(resolve_storage(storage)) is not None


def upload_ticket(
    storage: Any,
    name: str,
    *,
    expires_in: int = 900,
    content_type: str | None = None,
    max_size: int = DEFAULT_MAX_SIZE,
    size: int | None = None,
    origin: str | None = None,
    create_only: bool | None = None,
) -> UploadTicket:
    """What a browser needs to upload ``name`` straight to ``storage``.

    ``name`` must be chosen by the server (never taken from the browser as is).
    ``create_only`` defaults to the storage's overwrite policy being off;
    where the provider can express it the browser then cannot replace an
    existing object. A storage class may provide its own
    ``direct_upload_ticket(request: TicketRequest) -> UploadTicket``.
    """
    storage = resolve_storage(storage)
    if size is not None and size < 0:
        raise ValueError(f"{name!r}: the declared size cannot be negative ({size})")
    if size is not None and size > max_size:
        raise ValueError(
            f"{name!r}: {human_size(size)} is over the limit of {human_size(max_size)}"
        )
    if create_only is None:
        create_only = not getattr(storage, "overwrite", False)
    request = TicketRequest(
        name=name,
        expires_in=int(expires_in),
        content_type=content_type,
        max_size=int(max_size),
        size=size,
        origin=origin,
        create_only=create_only,
    )
    hook = _hook(storage)
    if hook is None:
        raise ImproperlyConfigured(
            f"{storage.__class__.__name__} does not support direct uploads from the browser "
            "(supported: S3Storage and S3-compatible storages, GoogleCloudStorage, AzureStorage, "
            "DropboxStorage, or a storage with a direct_upload_ticket() method)"
        )
    limit = getattr(storage, "direct_upload_max_size", None)
    if limit and size is not None and size > limit:
        raise ValueError(
            f"{name!r}: {human_size(size)} is more than one direct upload to "
            f"{type(storage).__name__} can take ({human_size(limit)})"
        )
    return hook(request)


def expiry(request: TicketRequest) -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0) + dt.timedelta(
        seconds=request.expires_in
    )

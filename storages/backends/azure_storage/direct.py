"""Azure Blob: a SAS URL for one blob, used with a single Put Blob.

With overwrite off the SAS carries only the Create permission ("c"): Azure then
refuses to replace an existing blob. Azure cannot limit the size or the type
of a SAS upload: both are checked after the upload. One Put Blob takes up to
5,000 MiB.
"""

from __future__ import annotations

from typing import Any

from storages.direct import TicketRequest, UploadTicket, expiry

MAX_SIZE = 5000 * 1024 * 1024  # one Put Blob


def ticket(storage: Any, request: TicketRequest) -> UploadTicket:
    url = storage.url(
        request.name, expire=request.expires_in, mode="c" if request.create_only else "cw"
    )
    headers = {"x-ms-blob-type": "BlockBlob"}
    if request.content_type:
        headers["x-ms-blob-content-type"] = request.content_type
    return UploadTicket(
        request.name,
        "PUT",
        url,
        expiry(request),
        headers=headers,
        enforced=("create_only",) if request.create_only else (),
    )

"""Azure Blob: a SAS URL for one blob, used with a single Put Blob.

With overwrite off the SAS carries only the Create permission ("c"): Azure then
refuses to replace an existing blob. Azure cannot limit the size or the type
of a SAS upload: both are checked after the upload. One Put Blob takes up to
5,000 MiB.
"""

from __future__ import annotations

from typing import Any

from storages.direct import TicketRequest, UploadTicket, expiry
from storages.direct.cors import rule_problems


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


def cors_problems(storage: Any, origin: str) -> list[str]:
    """The account's CORS rules against what a browser on ``origin`` sends."""
    properties = storage.service_client.get_service_properties()

    def split(value: Any) -> list[str]:
        return [v.strip() for v in (value or "").split(",") if v.strip()]

    rules = [
        (split(r.allowed_origins), split(r.allowed_methods), split(r.allowed_headers))
        for r in properties.get("cors") or []
    ]
    return rule_problems(
        origin,
        "PUT",
        ["content-type", "x-ms-blob-type", "x-ms-blob-content-type"],
        rules,
        f"Azure account {storage.service_client.account_name!r}",
    )

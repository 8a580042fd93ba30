"""Google Cloud Storage: a resumable upload session the server opens for the browser.

The session is bound to the object name, the content type, the exact declared
size (``X-Upload-Content-Length``) and the page's origin (GCS answers CORS for
that origin on the session URL, so the bucket needs no CORS rule); with
overwrite off it carries ``ifGenerationMatch=0`` (create only). Opening it is
one request from the server; the browser then PUTs the file to the session URL.
"""

from __future__ import annotations

from typing import Any

from storages.direct import TicketRequest, UploadTicket, expiry


def ticket(storage: Any, request: TicketRequest) -> UploadTicket:
    if request.size is None:
        raise ValueError("GCS upload sessions need the declared size (size=)")
    blob = storage.bucket.blob(storage._key(request.name))
    # The backend's own timeout and retry policy (a refused connection fails at once).
    kwargs: dict[str, Any] = {
        "content_type": request.content_type,
        "size": request.size,
        **storage._rpc,
    }
    if request.origin:
        kwargs["origin"] = request.origin
    if request.create_only:
        kwargs["if_generation_match"] = 0
    url = storage._call(
        "open upload session", request.name, blob.create_resumable_upload_session, **kwargs
    )
    headers = {"Content-Type": request.content_type} if request.content_type else {}
    return UploadTicket(
        request.name,
        "PUT",
        url,
        expiry(request),
        headers=headers,
        enforced=("size", "type", "create_only") if request.create_only else ("size", "type"),
    )

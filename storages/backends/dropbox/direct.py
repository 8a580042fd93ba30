"""Dropbox: a temporary upload link (``files/get_temporary_upload_link``).

The link is bound to the path and the write mode: with overwrite off it is
``add`` without autorename, so Dropbox refuses to replace an existing file.
The browser POSTs the bytes (``Content-Type: application/octet-stream``, at
most 150 MB); Dropbox stores no content type, so the type is checked against
the name after the upload, like the size.
"""

from __future__ import annotations

from typing import Any

import requests
from dropbox import files as dbx_files

from storages.direct import TicketRequest, UploadTicket, expiry

MAX_SECONDS = 4 * 3600  # Dropbox's limit on a temporary upload link


def ticket(storage: Any, request: TicketRequest) -> UploadTicket:
    path = storage._path(storage._key(request.name))
    mode = dbx_files.WriteMode.add if request.create_only else dbx_files.WriteMode.overwrite
    commit = dbx_files.CommitInfo(
        path=path, mode=mode, autorename=False, strict_conflict=request.create_only
    )
    seconds = max(60, min(request.expires_in, MAX_SECONDS))
    try:
        result = storage.client.files_get_temporary_upload_link(commit, seconds)
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise storage._unavailable(exc, "files_get_temporary_upload_link") from exc
    return UploadTicket(
        request.name,
        "POST",
        result.link,
        expiry(request),
        headers={"Content-Type": "application/octet-stream"},
        enforced=("create_only",) if request.create_only else (),
    )

"""The ticket view: the widget's script asks it for an upload ticket (JSON)."""

from __future__ import annotations

import logging
import mimetypes
import posixpath
from typing import Any

from django.apps import apps
from django.core import signing
from django.core.exceptions import FieldDoesNotExist, SuspiciousFileOperation
from django.http import HttpRequest, JsonResponse
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_POST

from storages.direct import human_size, resolve_storage, upload_ticket
from storages.direct.forms import DirectUploadField, content_type_allowed, default_permission
from storages.direct.signing import FieldSpec, make_reference
from storages.errors import StorageError

logger = logging.getLogger(__name__)

#: Random characters added to every name, so a browser never lands on an existing object.
RANDOM_LENGTH = 12
#: More digits than any real file size has (10**18 bytes is an exabyte): refused unparsed.
SIZE_DIGITS = 18


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def new_name(model_field: Any, filename: str) -> str:
    """A fresh name under the field's ``upload_to`` for a file the browser calls ``filename``."""
    base = posixpath.basename(filename.replace("\\", "/")) or "upload"
    name = model_field.generate_filename(model_field.model(), base)
    root, ext = posixpath.splitext(name)
    suffix = f"_{get_random_string(RANDOM_LENGTH)}{ext}"
    limit = model_field.max_length
    if limit and len(root) + len(suffix) > limit:
        keep = limit - len(suffix) - len(posixpath.dirname(root)) - 1
        if keep < 1:
            raise ValueError(
                f"{model_field}: upload_to leaves no room for a file name within max_length={limit}"
            )
        root = posixpath.join(posixpath.dirname(root), posixpath.basename(root)[:keep])
    return root + suffix


@never_cache
@csrf_protect
@require_POST
def ticket(request: HttpRequest) -> JsonResponse:
    """POST ``field`` (the widget's signed spec), ``name``, ``size``, ``type``: a ticket and its
    reference."""
    try:
        spec = FieldSpec.loads(request.POST.get("field", ""))
        model_field = apps.get_model(spec.model)._meta.get_field(spec.field)
    except (signing.BadSignature, LookupError, FieldDoesNotExist, KeyError, ValueError):
        return _error(400, "Unknown upload field.")
    hook = import_string(spec.permission) if spec.permission else default_permission
    if not hook(request, model_field):
        return _error(403, "You are not allowed to upload files here.")
    filename = request.POST.get("name", "")
    declared = request.POST.get("size", "").strip()
    if not declared:
        return _error(400, "The file size is missing.")
    if declared.startswith("-") and declared[1:].isdigit():
        return _error(400, f"The file size cannot be negative ({declared}).")
    if not (declared.isascii() and declared.isdigit()) or len(declared) > SIZE_DIGITS:
        return _error(400, "The file size is not a valid number of bytes.")
    size = int(declared)
    content_type = (
        request.POST.get("type") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    if size > spec.max_size:
        message = DirectUploadField.default_error_messages["too_large"]
        return _error(400, message % {"size": human_size(size), "max": human_size(spec.max_size)})
    guessed = mimetypes.guess_type(filename)[0]
    if not content_type_allowed(content_type, spec.content_types) or (
        guessed and not content_type_allowed(guessed, spec.content_types)
    ):
        return _error(400, f"Files of type {content_type} are not allowed here.")
    try:
        name = new_name(model_field, filename)
    except SuspiciousFileOperation:
        return _error(400, "The file name is not usable; rename the file and try again.")
    except ValueError as exc:
        return _error(400, str(exc))
    storage = resolve_storage(model_field.storage)
    limit = getattr(storage, "direct_upload_max_size", None)
    if limit and size > limit:
        return _error(
            400,
            f"The file is too large for one direct upload to this storage ({human_size(size)}; "
            f"at most {human_size(limit)}).",
        )
    origin = request.headers.get("Origin") or f"{request.scheme}://{request.get_host()}"
    try:
        found = upload_ticket(
            storage,
            name,
            expires_in=spec.expires_in,
            content_type=content_type,
            max_size=spec.max_size,
            size=size,
            origin=origin,
        )
    except StorageError:
        logger.exception("storages.direct: no upload ticket for %s", spec.key)
        return _error(503, "The storage is not available; please try again later.")
    except ValueError as exc:  # a limit of the storage's own direct_upload_ticket
        return _error(400, f"No upload is possible for this file: {exc}.")
    return JsonResponse({**found.as_json(), "reference": make_reference(spec.key, name)})

"""The form side of direct uploads: a form field and its widget.

The widget's script asks the ticket view for an upload ticket, sends the file
straight to the storage and puts the signed reference it got with the ticket
into a hidden input; the file never goes through Django. On submit the field
accepts only a reference it signed for itself, checks the stored object and
assigns its name to the model field without copying anything.
"""

from __future__ import annotations

import io
import mimetypes
import posixpath
from typing import Any, Callable

from django import forms
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.db import models
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

from storages.direct import DEFAULT_MAX_SIZE, human_size, resolve_storage
from storages.direct.signing import FieldSpec, read_reference
from storages.files import read_into

__all__ = [
    "DirectUploadField",
    "DirectUploadWidget",
    "content_type_allowed",
    "default_permission",
    "stored_facts",
]

#: How long after the ticket a reference is still accepted (the user may fill in the rest of the
#: form).
DEFAULT_REFERENCE_MAX_AGE = 24 * 3600
#: Seconds without upload progress after which the widget gives up (and says so).
DEFAULT_STALL_TIMEOUT = 30
#: How much of an upload to an ImageField is read to tell whether it is an image.
IMAGE_PREFIX = 64 * 1024

# The first bytes of the image formats Django's ImageField accepts through Pillow
# (offset, signature). Pillow, when installed, is asked about anything else.
_IMAGE_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (8, b"WEBP"),  # after "RIFF" and the length
    (0, b"II*\x00"),  # TIFF, little-endian
    (0, b"MM\x00*"),  # TIFF, big-endian
    (0, b"\x00\x00\x01\x00"),  # ICO
    (0, b"\x00\x00\x02\x00"),  # CUR
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n"),  # JPEG 2000
    (0, b"\xffO\xffQ"),  # JPEG 2000 codestream
    (0, b"8BPS"),  # Photoshop
    (0, b"icns"),
    (0, b"DDS "),
    (0, b"qoif"),
)
#: BMP: "BM", then the size of the DIB header at offset 14 is one of these (checked, because
#: two letters alone would take a text file starting with "BM" for an image).
_BMP_HEADER_SIZES = (12, 16, 40, 52, 56, 64, 108, 124)
#: ISO base media brands of AVIF and HEIF images ("ftyp" at offset 4).
_IMAGE_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"hevc", b"mif1", b"msf1")


def default_permission(request: Any, model_field: models.Field) -> bool:
    """Who may ask for upload tickets by default: users who may add or change the model."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    opts = model_field.model._meta
    return user.has_perm(f"{opts.app_label}.add_{opts.model_name}") or user.has_perm(
        f"{opts.app_label}.change_{opts.model_name}"
    )


def content_type_allowed(content_type: str, allowed: tuple[str, ...] | None) -> bool:
    """``allowed`` holds exact types or ``major/*`` patterns; None allows everything."""
    if allowed is None:
        return True
    kind = content_type.split(";", 1)[0].strip().lower()
    return any(
        kind == a.lower() or (a.endswith("/*") and kind.startswith(a[:-1].lower())) for a in allowed
    )


def _dotted_path(hook: Callable[..., bool] | str | None) -> str | None:
    if hook is None or isinstance(hook, str):
        return hook
    path = f"{hook.__module__}.{hook.__qualname__}"
    try:
        found = import_string(path)
    except ImportError:
        found = None
    if found is not hook:
        raise ImproperlyConfigured(
            f"DirectUploadField(permission=...): {path} cannot be imported back; the ticket view "
            "looks the hook up by its dotted path, so pass a module-level function (or its dotted "
            "path)"
        )
    return path


class DirectUploadWidget(forms.Widget):
    """A file picker that uploads straight to the storage; the form gets a hidden signed
    reference."""

    template_name = "storages/direct_upload_widget.html"
    needs_multipart_form = False  # the file never goes to Django

    class Media:
        js = ("storages/direct-upload.js",)
        css = {"all": ("storages/direct-upload.css",)}

    def __init__(self, attrs: dict[str, Any] | None = None, ticket_url: str | None = None) -> None:
        super().__init__(attrs)
        self.ticket_url = ticket_url
        self.spec = ""
        self.field_key = ""
        self.accept = ""
        self.stall_timeout: float = DEFAULT_STALL_TIMEOUT

    def clear_name(self, name: str) -> str:
        return f"{name}-clear"

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        """The reference string; False when "clear" is ticked; None when nothing changed."""
        reference = data.get(name) or ""
        if reference:
            return reference
        if not self.is_required and forms.CheckboxInput().value_from_datadict(
            data, files, self.clear_name(name)
        ):
            return False
        return None

    def use_required_attribute(self, initial: Any) -> bool:
        # With a file already stored the picker may stay empty.
        return super().use_required_attribute(initial) and not initial

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return name not in data and self.clear_name(name) not in data

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        reference = value if isinstance(value, str) else ""
        uploaded = ""
        if reference and self.field_key:
            try:
                uploaded = read_reference(self.field_key, reference, max_age=None)
            except signing.BadSignature:
                reference = ""
        current = value if getattr(value, "name", None) and not reference else None
        if reference:
            context["widget"]["attrs"].pop("required", None)  # uploaded already; nothing to pick
        context["widget"].update(
            {
                "reference": reference,
                "uploaded": uploaded,
                "current": current,
                "current_url": getattr(current, "url", "")
                if current and getattr(current, "storage", None)
                else "",
                "clear_name": self.clear_name(name),
                "ticket_url": self.ticket_url or reverse("storages_direct:ticket"),
                "spec": self.spec,
                "accept": self.accept,
                "stall_timeout": self.stall_timeout,
                "is_required": self.is_required,
            }
        )
        return context


class DirectUploadField(forms.FileField):
    """A form field for a model ``FileField`` / ``ImageField`` whose file goes straight to the
    storage.

    In a ``ModelForm`` (and the admin, through ``formfield_overrides``) it finds
    its model field by itself; in a plain ``Form`` pass ``model_field=``.
    ``max_size`` (bytes) and ``content_types`` (``"image/*"``, ``"application/pdf"``...)
    limit what is accepted; ``permission`` is a function ``(request, model_field) -> bool``
    (or its dotted path) deciding who may get upload tickets; ``expires_in`` is the
    ticket's lifetime in seconds and ``reference_max_age`` how long after it the
    form still accepts the upload. ``stall_timeout`` is how many seconds without
    progress the widget waits before it gives the upload up.
    """

    widget = DirectUploadWidget
    default_error_messages = {
        "invalid_reference": _("The upload could not be verified; please upload the file again."),
        "expired": _("The upload has expired; please upload the file again."),
        "outside": _("The upload is not in this field's folder; please upload the file again."),
        "missing": _("The uploaded file was not found; please upload it again."),
        "too_large": _("The file is too large (%(size)s; at most %(max)s)."),
        "empty": _("The submitted file is empty."),
        "content_type": _("Files of type %(type)s are not allowed here."),
        "not_image": _("The uploaded file is not an image, or not one this site can read."),
        "contradiction": _("Please either upload a file or tick the clear checkbox, not both."),
    }

    def __init__(
        self,
        *,
        model_field: models.FileField | None = None,
        max_size: int | None = None,
        content_types: list[str] | tuple[str, ...] | None = None,
        permission: Callable[..., bool] | str | None = None,
        expires_in: int = 900,
        reference_max_age: int = DEFAULT_REFERENCE_MAX_AGE,
        stall_timeout: float = DEFAULT_STALL_TIMEOUT,
        widget: Any = None,
        **kwargs: Any,
    ) -> None:
        # The admin passes its own file widget for every FileField: this field needs its own.
        if not (
            isinstance(widget, DirectUploadWidget)
            or (isinstance(widget, type) and issubclass(widget, DirectUploadWidget))
        ):
            widget = DirectUploadWidget
        super().__init__(widget=widget, **kwargs)
        self.max_size = int(max_size or DEFAULT_MAX_SIZE)
        self.content_types = tuple(content_types) if content_types is not None else None
        self.permission = _dotted_path(permission)
        self.expires_in = int(expires_in)
        self.reference_max_age = reference_max_age
        if not stall_timeout or stall_timeout <= 0:
            raise ImproperlyConfigured(
                f"DirectUploadField(stall_timeout={stall_timeout!r}): give the seconds without "
                "upload progress after which the widget gives up (more than 0)"
            )
        self.widget.stall_timeout = stall_timeout
        self.model_field: models.FileField | None = None
        if model_field is not None:
            self.bind(model_field)

    def bind(self, model_field: models.FileField) -> None:
        """Attach the model field: its storage, ``upload_to`` and ``max_length`` decide the name."""
        if not isinstance(model_field, models.FileField):
            raise ImproperlyConfigured(
                f"DirectUploadField needs a model FileField or ImageField, not {model_field!r}"
            )
        self.model_field = model_field
        if self.content_types is None and isinstance(model_field, models.ImageField):
            self.content_types = ("image/*",)
        spec = self.spec()
        self.widget.spec = spec.dumps()
        self.widget.field_key = spec.key
        self.widget.accept = ",".join(self.content_types or ())

    def spec(self) -> FieldSpec:
        assert self.model_field is not None
        return FieldSpec(
            self.model_field.model._meta.label,
            self.model_field.name,
            self.max_size,
            self.content_types,
            self.permission,
            self.expires_in,
        )

    def get_bound_field(self, form: forms.BaseForm, field_name: str) -> Any:
        model_field = self.model_field
        if model_field is None:
            model = getattr(getattr(form, "_meta", None), "model", None)
            if model is None:
                raise ImproperlyConfigured(
                    f"{type(form).__name__}.{field_name}: DirectUploadField outside a ModelForm "
                    "needs model_field="
                )
            model_field = model._meta.get_field(field_name)
        self.bind(model_field)  # again: options may have changed since (the form's __init__...)
        return super().get_bound_field(form, field_name)

    def bound_data(self, data: Any, initial: Any) -> Any:
        return data if isinstance(data, str) and data else initial

    def clean(self, data: Any, initial: Any = None) -> Any:
        if data is False:
            if self.required:
                raise ValidationError(self.error_messages["required"], code="required")
            return False
        if not data:
            if self.required and not initial:
                raise ValidationError(self.error_messages["required"], code="required")
            return initial
        return self.check_upload(str(data))

    # -- the checks ------------------------------------------------------------------------
    def _prefix(self) -> str | None:
        """The fixed folder part of a string ``upload_to`` (None for a callable one)."""
        assert self.model_field is not None
        upload_to = self.model_field.upload_to
        if callable(upload_to):
            return None
        static = str(upload_to).split("%", 1)[0]
        return static if static.endswith("/") or not static else posixpath.dirname(static) + "/"

    def check_upload(self, reference: str) -> str:
        """The stored name ``reference`` stands for, once the object passed every check."""
        assert self.model_field is not None
        key = self.spec().key
        try:
            name = read_reference(key, reference, max_age=self.reference_max_age)
        except signing.SignatureExpired:
            raise ValidationError(self.error_messages["expired"], code="expired") from None
        except signing.BadSignature:
            raise ValidationError(
                self.error_messages["invalid_reference"], code="invalid_reference"
            ) from None
        prefix = self._prefix()
        if prefix is not None and (
            not name.startswith(prefix.lstrip("/")) or ".." in name.split("/")
        ):
            raise ValidationError(self.error_messages["outside"], code="outside")
        storage = self.model_field.storage
        try:
            size, content_type = stored_facts(storage, name)
        except FileNotFoundError:
            raise ValidationError(self.error_messages["missing"], code="missing") from None
        error = None
        if size > self.max_size:
            error = ValidationError(
                self.error_messages["too_large"],
                code="too_large",
                params={"size": human_size(size), "max": human_size(self.max_size)},
            )
        elif size == 0 and not self.allow_empty_file:
            error = ValidationError(self.error_messages["empty"], code="empty")
        elif not content_type_allowed(content_type, self.content_types):
            error = ValidationError(
                self.error_messages["content_type"],
                code="content_type",
                params={"type": content_type},
            )
        elif isinstance(self.model_field, models.ImageField) and not is_image(
            read_prefix(storage, name, min(size, IMAGE_PREFIX))
        ):
            error = ValidationError(self.error_messages["not_image"], code="not_image")
        if error is not None:
            storage.delete(name)  # refused uploads do not stay in the storage
            raise error
        return name


def read_prefix(storage: Any, name: str, length: int) -> bytes:
    """The first ``length`` bytes of a stored object, fetched as one bounded (ranged) read."""
    storage = resolve_storage(storage)
    if length <= 0:
        return b""
    reader = getattr(storage, "_open_reader", None)
    if reader is not None and hasattr(storage, "_key"):
        body = reader(storage._key(name), 0, length).body
        try:
            return _read_exactly(body, length)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
    with storage.open(name, "rb") as fh:
        return _read_exactly(fh, length)


def _read_exactly(body: Any, length: int) -> bytes:
    buffer, filled = bytearray(length), 0
    view = memoryview(buffer)
    while filled < length:
        got = read_into(body, view[filled:])
        if not got:
            break
        filled += got
    return bytes(buffer[:filled])


def is_image(prefix: bytes) -> bool:
    """Whether a file starting with ``prefix`` is an image Django's ImageField would take.

    Known signatures first; otherwise Pillow (when installed) tries to identify
    the format from the prefix alone (it reads headers, not pixels).
    """
    if any(prefix[at : at + len(sig)] == sig for at, sig in _IMAGE_SIGNATURES):
        return True
    if prefix[4:8] == b"ftyp" and prefix[8:12] in _IMAGE_BRANDS:
        return True
    if prefix[:2] == b"BM" and int.from_bytes(prefix[14:18], "little") in _BMP_HEADER_SIZES:
        return True
    try:
        from PIL import Image
    except ImportError:
        return False
    try:
        with Image.open(io.BytesIO(prefix)):
            return True
    except Exception:  # Pillow raises many kinds for what it cannot read
        return False


def stored_facts(storage: Any, name: str) -> tuple[int, str]:
    """Size and content type of a stored object (FileNotFoundError when it is not there)."""
    content_type = None
    storage = resolve_storage(storage)
    stat = getattr(storage, "_stat", None)
    if stat is not None and hasattr(storage, "_key"):
        info = stat(storage._key(name))
        size, content_type = info.size, info.content_type
    else:
        size = storage.size(name)
    if not content_type:
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return size, content_type

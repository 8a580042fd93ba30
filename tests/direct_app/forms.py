from django import forms

from storages.direct.forms import DirectUploadField
from tests.direct_app.models import Picture, Upload

MB = 1024 * 1024


def staff_only(request, model_field) -> bool:
    """A permission hook (looked up by dotted path by the ticket view)."""
    return request.user.is_authenticated and request.user.is_staff


class UploadForm(forms.ModelForm):
    file = DirectUploadField(
        max_size=40 * MB, content_types=["application/octet-stream", "text/*", "image/*"]
    )

    class Meta:
        model = Upload
        fields = ["title", "file"]


class StaffUploadForm(forms.ModelForm):
    """Through ``field_classes`` (as formfield_overrides does), with a custom permission hook."""

    class Meta:
        model = Upload
        fields = ["file"]
        field_classes = {"file": DirectUploadField}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].permission = "tests.direct_app.forms.staff_only"


class SmallUploadForm(forms.ModelForm):
    """Tight limits, to test what the server refuses after an upload."""

    file = DirectUploadField(max_size=1024, content_types=["text/*"], reference_max_age=3600)

    class Meta:
        model = Upload
        fields = ["file"]


class PictureForm(forms.ModelForm):
    """An ImageField with the defaults (image/* only, the stored object must be an image)."""

    image = DirectUploadField(max_size=8 * MB)

    class Meta:
        model = Picture
        fields = ["image"]

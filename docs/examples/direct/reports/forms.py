from django import forms

from storages.direct.forms import DirectUploadField

from .models import Report

MB = 1024 * 1024


class ReportForm(forms.ModelForm):
    file = DirectUploadField(max_size=500 * MB, content_types=["application/pdf", "text/csv"])
    cover = DirectUploadField(max_size=10 * MB, required=False)  # ImageField: image/* by default

    class Meta:
        model = Report
        fields = ["title", "file", "cover"]

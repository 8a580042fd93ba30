"""The model of the documented FileField walkthrough (it uses default_storage)."""

from django.db import models


class Document(models.Model):
    normal = models.FileField()
    limited = models.FileField(upload_to="limited", max_length=40, blank=True)

    class Meta:
        app_label = "storages_testing"

from django.db import models


class Document(models.Model):
    """The model of the documented FileField walkthrough (uses default_storage)."""

    normal = models.FileField()
    limited = models.FileField(upload_to="limited", max_length=40, blank=True)

from django.db import models


class Upload(models.Model):
    """The direct-upload walkthrough's model (tests point its storage at each server)."""

    title = models.CharField(max_length=100, blank=True)
    file = models.FileField(upload_to="direct/uploads/", max_length=150)


class Picture(models.Model):
    """An ImageField: the stored object must be an image."""

    image = models.ImageField(upload_to="direct/images/")

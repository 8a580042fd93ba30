from django.db import models


class Report(models.Model):
    title = models.CharField(max_length=100)
    file = models.FileField(upload_to="reports/%Y/", max_length=200)
    cover = models.ImageField(upload_to="covers/", blank=True)

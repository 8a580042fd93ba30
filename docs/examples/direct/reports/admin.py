from django.contrib import admin
from django.db import models

from storages.direct.forms import DirectUploadField

from .models import Report

direct = {"form_class": DirectUploadField, "max_size": 500 * 1024 * 1024}


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    formfield_overrides = {models.FileField: direct, models.ImageField: direct}

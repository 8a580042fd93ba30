"""``storages.testing`` as a Django app: add it to INSTALLED_APPS of a test settings module to
run the conformance suite (its model walkthrough uses :class:`storages.testing.models.Document`)."""

from django.apps import AppConfig


class StoragesTestingConfig(AppConfig):
    name = "storages.testing"
    label = "storages_testing"
    verbose_name = "django-storages conformance suite"
    default_auto_field = "django.db.models.AutoField"

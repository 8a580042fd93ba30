"""The ``storages`` Django app: list it in INSTALLED_APPS (before ``django.contrib.staticfiles``)
for the package's system checks and management commands."""

from __future__ import annotations

from django.apps import AppConfig


class StoragesConfig(AppConfig):
    name = "storages"
    verbose_name = "django-storages"
    default = True

    def ready(self) -> None:
        from django.core import checks

        from storages.collect import check_command_order

        checks.register(check_command_order, checks.Tags.staticfiles)  # collectstatic: app order
        # System checks and other start-up hooks register here.
        import storages.checks  # noqa: F401  (registers the storages system checks)

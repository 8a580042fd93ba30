"""The ``storages`` Django app: list it in INSTALLED_APPS (before ``django.contrib.staticfiles``)
for the package's system checks and management commands."""

from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger(__name__)

_told = False


def notice_missing_app() -> None:
    """Say once per process, when a storage of this package is first built, that ``"storages"``
    is not in ``INSTALLED_APPS``.

    1.14 never asked for the app, so an upgraded site silently keeps Django's collectstatic and
    has no system checks or commands. A system check can't say it (without the app, nothing
    registers one: Django runs the checks of installed apps, and a storage is built lazily, after
    the checks ran), so the first storage built says it, in the log (stderr when logging is not
    configured). It is a notice, not an error: a site that wants only the storages may leave the
    app out and silence this logger (``storages.apps``).
    """
    global _told
    if _told:
        return
    from django.apps import apps

    if not apps.apps_ready:  # a storage built while settings load: ask again on the next one
        return
    _told = True
    if not apps.is_installed("storages"):
        logger.warning(
            '"storages" is not in INSTALLED_APPS: collectstatic is Django\'s slower command, and '
            "the storage system checks and the checkstorages and copystorage commands are "
            'missing. Add "storages" to INSTALLED_APPS, before "django.contrib.staticfiles" (see '
            '"Upgrading from django-storages 1.14" in the docs).'
        )


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

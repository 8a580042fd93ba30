"""Pytest fixtures of the direct-upload tests (``pytest_plugins = ["tests.direct_app.fixtures"]``)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.direct_app import middleware
from tests.direct_app.models import Upload


@pytest.fixture
def direct_settings(settings):
    """The test app's URL conf, sessions in signed cookies, CSRF, auth and the request log."""
    settings.ROOT_URLCONF = "tests.direct_app.urls"
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "tests.direct_app.middleware.RequestLog",
    ]
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    settings.TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                           "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
    middleware.LOG.clear()
    return settings


@pytest.fixture
def use_storage(monkeypatch):
    """Point Upload.file at a storage for one test."""

    def use(storage: Any) -> Any:
        monkeypatch.setattr(Upload._meta.get_field("file"), "storage", storage)
        return storage

    return use

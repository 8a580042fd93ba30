"""Pytest fixtures of the direct-upload tests (``pytest_plugins =
["tests.direct_app.fixtures"]``)."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.direct_app import middleware
from tests.direct_app.models import Upload

#: What the direct-upload pages need on top of tests/settings.py.
DIRECT_SETTINGS: dict[str, Any] = {
    "ROOT_URLCONF": "tests.direct_app.urls",
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "tests.direct_app.middleware.RequestLog",
    ],
    "SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies",
    "TEMPLATES": [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "APP_DIRS": True,
            "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
        }
    ],
    "ALLOWED_HOSTS": ["localhost", "127.0.0.1", "testserver"],
}


@pytest.fixture
def direct_settings(settings):
    """The test app's URL conf, sessions in signed cookies, CSRF, auth and the request log."""
    for name, value in DIRECT_SETTINGS.items():
        setattr(settings, name, value)
    middleware.LOG.clear()
    return settings


@pytest.fixture(scope="module")
def direct_live_server(django_db_setup, django_db_blocker):
    """A live server started under DIRECT_SETTINGS (pytest-django's own one loads its
    middleware once per session, before any test can change MIDDLEWARE)."""
    from django.test import override_settings
    from pytest_django.live_server_helper import LiveServer

    with override_settings(**DIRECT_SETTINGS):
        with django_db_blocker.unblock():
            server = LiveServer("localhost")
        yield server
        server.stop()


@pytest.fixture
def use_storage(monkeypatch):
    """Point Upload.file at a storage for one test."""

    def use(storage: Any) -> Any:
        monkeypatch.setattr(Upload._meta.get_field("file"), "storage", storage)
        return storage

    return use


def _running(start: Any, *args: Any) -> Any:
    server = start(*args)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def azurite():
    from tests.servers.azure import start_azurite

    yield from _running(start_azurite)


@pytest.fixture(scope="module")
def gcs_server():
    from tests.servers.gcs import start_gcs

    yield from _running(start_gcs)


@pytest.fixture(scope="module")
def dropbox_links(tmp_path_factory):
    """The Dropbox stand-in with temporary upload links (tests/direct_app/dropbox_links.py)."""
    from tests.direct_app.dropbox_links import start

    yield from _running(start, tmp_path_factory.mktemp("dropbox-links"))


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--no-proxy-server",
        "--window-size=760,560",
        "--disable-gpu",
    ):
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(
        service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"), options=options
    )
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()

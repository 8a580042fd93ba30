"""Shared pytest configuration: Django settings come from tests/settings.py."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

# The machine's own cloud credentials must not leak into tests (nor tests into them).
for _name in list(os.environ):
    if _name.startswith(
        (
            "AWS_ACCESS",
            "AWS_SECRET",
            "AWS_SESSION",
            "AWS_SECURITY",
            "AWS_S3_",
            "AWS_PROFILE",
            "AWS_DEFAULT_PROFILE",
        )
    ):
        del os.environ[_name]
os.environ["AWS_CONFIG_FILE"] = os.devnull
os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture(autouse=True)
def _fresh_storages():
    """Storages built from STORAGES are cached per alias: drop them between tests."""
    from django.core.files.storage import storages

    yield
    storages._storages = {}


@pytest.fixture(scope="session")
def moto_server():
    """moto's standalone S3 server, shared by every module that needs S3 (S3Storage, libcloud's S3
    driver)."""
    from tests.servers.s3 import start_s3

    server = start_s3()
    yield server
    server.process.stop()


@pytest.fixture(scope="session")
def moto_auth_server():
    """A second moto that checks request signatures (and knows no keys): for wrong-credential
    tests."""
    from tests.servers.s3 import start_s3

    server = start_s3(auth=True)
    yield server
    server.process.stop()

"""Shared pytest configuration: Django settings come from tests/settings.py."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")


@pytest.fixture(autouse=True)
def _fresh_storages():
    """Storages built from STORAGES are cached per alias: drop them between tests."""
    from django.core.files.storage import storages

    yield
    storages._storages = {}

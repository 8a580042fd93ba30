"""Upgrading from 1.14 (issue 19): what an upgraded site meets on its first run."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

FIRST_USE = """
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS={apps!r},
    STATIC_URL="/static/",
    STORAGES={{
        "default": {{
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {{"bucket_name": "media"}},
        }},
        "staticfiles": {{"BACKEND": "storages.backends.s3.S3StaticStorage",
                         "OPTIONS": {{"bucket_name": "static"}}}},
    }},
)
django.setup()
from django.core.files.storage import default_storage, storages
default_storage.url  # builds the storage
storages["staticfiles"].url
print("built")
"""


def run(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_site_without_the_app_is_told_once():
    # A 1.14 settings file: the storages configured, "storages" not in INSTALLED_APPS.
    done = run(FIRST_USE.format(apps=["django.contrib.staticfiles"]))
    assert done.returncode == 0 and "built" in done.stdout, done.stderr
    assert done.stderr.count('"storages" is not in INSTALLED_APPS') == 1, done.stderr
    assert 'before "django.contrib.staticfiles"' in done.stderr


@pytest.mark.parametrize(
    "apps", [["storages", "django.contrib.staticfiles"], ["django.contrib.staticfiles", "storages"]]
)
def test_a_site_with_the_app_is_not_told(apps):
    done = run(FIRST_USE.format(apps=apps))
    assert done.returncode == 0 and "built" in done.stdout, done.stderr
    assert "INSTALLED_APPS" not in done.stderr

"""syncmetadata: stored files get today's upload parameters in place, on S3 (moto), GCS
(fake-gcs-server) and Azure (Azurite), checked by what a GET of each file returns."""

from __future__ import annotations

import io
import urllib.request
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from storages.metadata import sync_metadata
from storages.testing.suite import use_storages
from tests.backends.test_azure import azurite  # noqa: F401  (session fixtures of the backend tests)
from tests.backends.test_azure import options as azure_options
from tests.backends.test_gcloud import gcs_options, gcs_server, sa_info, token_server  # noqa: F401
from tests.backends.test_s3 import s3_options, s3_server  # noqa: F401

CACHE = "public, max-age=31536000"
NAMES = [f"assets/file{i}.css" for i in range(6)]
BODY = b"body { color: red }"


def _s3(request, location, params):
    server = request.getfixturevalue("s3_server")
    extra = {"object_parameters": {"CacheControl": CACHE, "Metadata": params}} if params else {}
    return "storages.backends.s3.S3Storage", s3_options(server, location=location, **extra)


def _gcs(request, location, params):
    server, info = request.getfixturevalue("gcs_server"), request.getfixturevalue("sa_info")
    extra = {"object_parameters": {"cache_control": CACHE, "metadata": params}} if params else {}
    return "storages.backends.gcloud.GoogleCloudStorage", gcs_options(
        server, info, location=location, **extra
    )


def _azure(request, location, params):
    server = request.getfixturevalue("azurite")
    extra = {"object_parameters": {"cache_control": CACHE, "metadata": params}} if params else {}
    return "storages.backends.azure_storage.AzureStorage", azure_options(
        server, location=location, **extra
    )


@pytest.fixture(params=["s3", "gcs", "azure"])
def make(request, settings):
    """make(params) -> the storage on a shared location, with object_parameters when given."""
    location = f"meta/{uuid.uuid4().hex}"
    factory = {"s3": _s3, "gcs": _gcs, "azure": _azure}[request.param]

    def build(params=None, alias="media"):
        backend, options = factory(request, location, params)
        use_storages(settings, {alias: {"BACKEND": backend, "OPTIONS": options}})
        from django.core.files.storage import storages

        return storages[alias]

    return build


def get(storage, name: str) -> tuple[dict[str, str], bytes]:
    with urllib.request.urlopen(storage.url(name), timeout=30) as reply:  # noqa: S310
        return {k.lower(): v for k, v in reply.headers.items()}, reply.read()


def test_headers_change_in_place_resume_after_an_interruption_and_skip_what_is_right(make):
    old = make()
    for name in NAMES:
        old.save(name, ContentFile(BODY))
    assert "max-age" not in get(old, NAMES[0])[0].get("cache-control", "")
    new = make({"team": "web"})

    dry = sync_metadata(new, "assets", dry_run=True)
    assert sorted(dry.changed) == NAMES and get(new, NAMES[0])[0].get("cache-control") != CACHE

    seen: list[str] = []

    def stop_after_two(name, changes):
        seen.append(name)
        if len(seen) == 2:
            raise KeyboardInterrupt

    first = sync_metadata(new, "assets", workers=1, on_file=stop_after_two)
    # Stopped after the files in flight (at most two more with one worker).
    assert first.interrupted and 2 <= len(first.changed) < len(NAMES)
    for name in first.changed:
        headers, body = get(new, name)
        assert headers["cache-control"] == CACHE and body == BODY
        assert "css" in headers["content-type"]

    second = sync_metadata(new, "assets")
    assert not second.interrupted and second.already_right == len(first.changed)
    assert sorted(second.changed) == sorted(set(NAMES) - set(first.changed))
    for name in NAMES:
        headers, body = get(new, name)
        assert headers["cache-control"] == CACHE and body == BODY

    third = sync_metadata(new, "assets")
    assert third.changed == {} and third.already_right == len(NAMES)


def test_the_command_says_what_it_would_set_and_what_it_did(make):
    old = make(alias="media")
    old.save("a.css", ContentFile(BODY))
    make({"team": "web"}, alias="media")
    out = io.StringIO()
    call_command("syncmetadata", "media", "--dry-run", verbosity=2, stdout=out)
    assert "would set a.css:" in out.getvalue() and "would rewrite 1" in out.getvalue()
    out = io.StringIO()
    call_command("syncmetadata", "media", stdout=out)
    assert "rewrote 1, already right 0" in out.getvalue()
    out = io.StringIO()
    call_command("syncmetadata", "media", stdout=out)
    assert "rewrote 0, already right 1" in out.getvalue()


def test_a_storage_that_cannot_rewrite_headers_is_named(settings, tmp_path):
    use_storages(
        settings,
        {
            "media": {
                "BACKEND": "django.core.files.storage.FileSystemStorage",
                "OPTIONS": {"location": str(tmp_path)},
            }
        },
    )
    with pytest.raises(CommandError, match="FileSystemStorage can't rewrite stored headers"):
        call_command("syncmetadata", "media")
    with pytest.raises(CommandError, match="No storage alias 'nope'"):
        call_command("syncmetadata", "nope")

"""Direct uploads as the docs set them up: the default storage, sizes people read, real images.

A model field without ``storage=`` holds Django's lazy ``default_storage``; here
``STORAGES["default"]`` names the storage (moto, Azurite) and nothing is
swapped in. The browser is played by ``requests`` (tests/test_direct_browser.py
drives the real widget).
"""

from __future__ import annotations

import sys
import time
import uuid

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.storage import default_storage
from django.test import Client

from storages.direct import human_size, upload_ticket
from storages.direct.forms import DirectUploadField
from storages.testing.suite import use_storages
from tests.direct_app.forms import PictureForm, UploadForm
from tests.direct_app.helpers import MB, ask_ticket, field_spec, png, send
from tests.direct_app.models import Upload

pytest_plugins = ["tests.direct_app.fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("direct_settings")]


def s3_default(settings, moto_server, **options) -> str:
    """``STORAGES["default"]`` is an S3Storage on a new bucket; returns the bucket."""
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    bucket = f"default-{uuid.uuid4().hex[:12]}"
    moto_server.client().create_bucket(Bucket=bucket)
    use_storages(
        settings,
        {
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": bucket,
                    "endpoint_url": moto_server.endpoint,
                    "region_name": "us-east-1",
                    "access_key": ACCESS_KEY,
                    "secret_key": SECRET_KEY,
                    **options,
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    return bucket


def keys(moto_server, bucket: str) -> list[str]:
    reply = moto_server.client().list_objects_v2(Bucket=bucket)
    return sorted(o["Key"] for o in reply.get("Contents", []))


@pytest.fixture
def client():
    user = User.objects.create_user(f"u{time.monotonic_ns()}")
    for codename in ("add_upload", "add_picture"):
        user.user_permissions.add(Permission.objects.get(codename=codename))
    c = Client()
    c.force_login(user)
    return c


def upload(client, form_class, name: str, data: bytes, content_type: str) -> dict:
    field = "image" if form_class is PictureForm else "file"
    reply = ask_ticket(client, field_spec(form_class, field), name, len(data), content_type)
    assert reply.status_code == 200, reply.content
    ticket = reply.json()
    assert send(ticket, data).status_code in (200, 201, 204)
    return ticket


# -- the default storage ---------------------------------------------------------------------


@pytest.mark.parametrize("overwrite", [True, False], ids=["post-policy", "create-only-put"])
def test_default_storage_s3(client, settings, moto_server, overwrite):
    """The docs' model: the field has no ``storage=``, S3Storage is ``STORAGES["default"]``."""
    assert Upload._meta.get_field("file").storage is default_storage
    bucket = s3_default(settings, moto_server, file_overwrite=overwrite)
    ticket = upload(client, UploadForm, "notes.txt", b"hello default\n", "text/plain")
    assert ticket["method"] == ("POST" if overwrite else "PUT")
    assert keys(moto_server, bucket) == [ticket["name"]]
    reply = client.post("/upload/", {"title": "default", "file": ticket["reference"]})
    assert reply.status_code == 200 and b'id="saved"' in reply.content
    saved = Upload.objects.get()
    assert saved.file.name == ticket["name"]
    assert saved.file.read() == b"hello default\n"


def test_default_storage_azure(client, settings, azurite):
    container = f"default-{uuid.uuid4().hex[:12]}"
    azurite.create_container(container)
    use_storages(
        settings,
        {
            "default": {
                "BACKEND": "storages.backends.azure_storage.AzureStorage",
                "OPTIONS": {
                    "connection_string": azurite.connection_string(),
                    "azure_container": container,
                },
            },
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )
    ticket = upload(client, UploadForm, "notes.txt", b"hello azure\n", "text/plain")
    assert ticket["method"] == "PUT" and "sp=c" in ticket["url"]
    reply = client.post("/upload/", {"title": "azure", "file": ticket["reference"]})
    assert reply.status_code == 200 and b'id="saved"' in reply.content
    assert Upload.objects.get().file.read() == b"hello azure\n"


def use_default(settings, backend: str, options: dict) -> None:
    use_storages(
        settings,
        {
            "default": {"BACKEND": backend, "OPTIONS": options},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        },
    )


def test_default_storage_gcs(client, settings, gcs_server):
    from google.auth.credentials import AnonymousCredentials

    bucket = f"default-{uuid.uuid4().hex[:12]}"
    gcs_server.create_bucket(bucket)
    use_default(
        settings,
        "storages.backends.gcloud.GoogleCloudStorage",
        {
            "bucket_name": bucket,
            "credentials": AnonymousCredentials(),
            "client_options": {"api_endpoint": gcs_server.endpoint},
        },
    )
    ticket = upload(client, UploadForm, "notes.txt", b"hello gcs\n", "text/plain")
    reply = client.post("/upload/", {"title": "gcs", "file": ticket["reference"]})
    assert reply.status_code == 200 and b'id="saved"' in reply.content
    assert Upload.objects.get().file.read() == b"hello gcs\n"


def test_default_storage_dropbox(client, settings, dropbox_links):
    use_default(
        settings,
        "storages.backends.dropbox.DropboxStorage",
        dropbox_links.options(root_path=f"/default-{uuid.uuid4().hex[:8]}"),
    )
    ticket = upload(client, UploadForm, "notes.txt", b"hello dropbox\n", "text/plain")
    reply = client.post("/upload/", {"title": "dropbox", "file": ticket["reference"]})
    assert reply.status_code == 200 and b'id="saved"' in reply.content
    assert Upload.objects.get().file.read() == b"hello dropbox\n"


def test_upload_ticket_api_resolves_default_storage(settings, moto_server):
    s3_default(settings, moto_server)
    ticket = upload_ticket(default_storage, "api/report.pdf", size=10, content_type="text/plain")
    assert ticket.method == "POST" and ticket.fields["key"] == "api/report.pdf"


# -- sizes -----------------------------------------------------------------------------------


def test_human_size():
    assert [human_size(n) for n in (0, 1, 812, 1023, 1024, 1536, 9 * MB, 5 * 1024**3)] == [
        "0 bytes",
        "1 byte",
        "812 bytes",
        "1023 bytes",
        "1.0 KB",
        "1.5 KB",
        "9.0 MB",
        "5.0 GB",
    ]


@pytest.mark.parametrize(
    "size, message",
    [
        ("-1", "The file size cannot be negative (-1)."),
        ("-9437184", "The file size cannot be negative (-9437184)."),
        ("1e9", "The file size is not a valid number of bytes."),
        ("12 MB", "The file size is not a valid number of bytes."),
        ("9" * 40, "The file size is not a valid number of bytes."),
    ],
)
def test_ticket_refuses_negative_or_absurd_sizes(client, settings, moto_server, size, message):
    bucket = s3_default(settings, moto_server)
    reply = client.post(
        "/storages/direct/ticket/",
        {"field": field_spec(UploadForm), "name": "a.bin", "size": size, "type": ""},
    )
    assert reply.status_code == 400
    assert reply.json() == {"error": message}
    assert keys(moto_server, bucket) == []


def test_ticket_says_sizes_in_units(client, settings, moto_server):
    s3_default(settings, moto_server)
    spec = DirectUploadField(model_field=Upload._meta.get_field("file"), max_size=8 * MB)
    reply = ask_ticket(client, spec.spec().dumps(), "big.bin", 9 * MB)
    assert reply.status_code == 400
    assert reply.json() == {"error": "The file is too large (9.0 MB; at most 8.0 MB)."}


def test_upload_ticket_api_refuses_a_negative_size(settings, moto_server):
    s3_default(settings, moto_server)
    with pytest.raises(ValueError, match="cannot be negative"):
        upload_ticket(default_storage, "a.bin", size=-5)


# -- images ----------------------------------------------------------------------------------


def test_image_field_takes_an_image(client, settings, moto_server):
    bucket = s3_default(settings, moto_server)
    ticket = upload(client, PictureForm, "photo.png", png(), "image/png")
    form = PictureForm(data={"image": ticket["reference"]})
    assert form.is_valid(), form.errors
    assert form.save().image.name == ticket["name"]
    assert keys(moto_server, bucket) == [ticket["name"]]


@pytest.mark.parametrize(
    "name, data, content_type",
    [
        ("photo.png", b"#!/bin/sh\necho not a picture\n" * 100, "image/png"),
        ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>', "image/svg+xml"),
        ("photo.jpg", b"<html><body>hello</body></html>", "image/jpeg"),
    ],
)
def test_image_field_refuses_and_deletes_what_is_not_an_image(
    client, settings, moto_server, name, data, content_type
):
    bucket = s3_default(settings, moto_server)
    ticket = upload(client, PictureForm, name, data, content_type)
    assert keys(moto_server, bucket) == [ticket["name"]]
    form = PictureForm(data={"image": ticket["reference"]})
    assert not form.is_valid()
    assert form.errors["image"] == [
        "The uploaded file is not an image, or not one this site can read."
    ]
    assert keys(moto_server, bucket) == []


def test_image_check_reads_only_the_first_bytes(client, settings, moto_server):
    """A 3 MB image: one ranged GET of its first 64 KB, not a download."""
    s3_default(settings, moto_server)
    big = png() + b"\x00" * (3 * MB)  # trailing bytes after IEND: still a PNG to every reader
    ticket = upload(client, PictureForm, "big.png", big, "image/png")
    sent: list[tuple[str, str | None]] = []
    default_storage.client.meta.events.register(
        "before-send.s3",
        lambda request, **kw: sent.append(
            (kw["event_name"].rsplit(".", 1)[-1], request.headers.get("Range"))
        ),
    )
    form = PictureForm(data={"image": ticket["reference"]})
    assert form.is_valid(), form.errors
    assert sent == [("HeadObject", None), ("GetObject", b"bytes=0-65535")]


def test_widget_carries_the_stall_timeout(client, settings, moto_server):
    s3_default(settings, moto_server)
    page = client.get("/upload/").content.decode()
    assert 'data-stall-timeout="30"' in page
    field = DirectUploadField(model_field=Upload._meta.get_field("file"), stall_timeout=2.5)
    assert 'data-stall-timeout="2.5"' in field.widget.render("file", None)


SIGNATURES = {
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "gif": b"GIF89a\x01\x00\x01\x00",
    "webp": b"RIFF\x24\x00\x00\x00WEBPVP8 ",
    "avif": b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00",
    "tiff": b"II*\x00\x08\x00\x00\x00",
    "bmp": b"BM\x46\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00",
}


@pytest.mark.parametrize("kind", sorted(SIGNATURES))
def test_image_signatures_without_pillow(monkeypatch, kind):
    from storages.direct.forms import is_image

    monkeypatch.setitem(sys.modules, "PIL", None)  # as if Pillow were not installed
    assert is_image(SIGNATURES[kind])
    assert not is_image(b"%PDF-1.7\n" + SIGNATURES[kind])


def test_text_starting_like_a_bitmap_is_not_an_image(monkeypatch):
    from storages.direct.forms import is_image

    monkeypatch.setitem(sys.modules, "PIL", None)
    assert not is_image(b"BMW quarterly figures, 2026\n")


def test_pillow_reads_formats_beyond_the_signatures(monkeypatch):
    """A PPM image has no signature in the list: Pillow, when installed, recognises it."""
    from storages.direct.forms import is_image

    ppm = b"P6\n2 2\n255\n" + b"\xff" * 12
    assert is_image(ppm)
    monkeypatch.setitem(sys.modules, "PIL", None)
    assert not is_image(ppm)

"""``upload_ticket()`` on every provider, against the real test servers.

The "browser" here is ``requests`` sending exactly what the ticket says;
tests/test_direct_browser.py does the same from Chromium.
"""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage

from storages.direct import TicketRequest, UploadTicket, supports_direct_upload, upload_ticket
from storages.testing.suite import use_storages
from tests.direct_app.helpers import azure_storage, gcs_storage, s3_storage, send

pytest_plugins = ["tests.direct_app.fixtures"]
TEXT = b"hello, direct upload\n" * 50


def policy(ticket: UploadTicket) -> dict:
    return json.loads(base64.b64decode(ticket.fields["policy"]))


# -- S3 --------------------------------------------------------------------------------------------
def test_s3_presigned_post(moto_server):
    s3 = s3_storage(moto_server, location="media", object_parameters={"CacheControl": "max-age=60"})
    ticket = upload_ticket(
        s3, "docs/a.txt", content_type="text/plain", max_size=4096, size=len(TEXT)
    )
    assert (ticket.method, ticket.file_field, ticket.enforced) == ("POST", "file", ("size", "type"))
    assert ticket.fields["key"] == "media/docs/a.txt"
    conditions = policy(ticket)["conditions"]
    assert ["content-length-range", 0, 4096] in conditions
    assert {"Content-Type": "text/plain"} in conditions and {
        "Cache-Control": "max-age=60"
    } in conditions
    assert {"key": "media/docs/a.txt"} in conditions
    assert send(ticket.as_json(), TEXT).status_code == 204
    head = s3.client.head_object(Bucket=s3.bucket_name, Key="media/docs/a.txt")
    assert (head["ContentType"], head["CacheControl"], head["ContentLength"]) == (
        "text/plain",
        "max-age=60",
        len(TEXT),
    )
    assert s3.open("docs/a.txt").read() == TEXT


def test_s3_overwrite_off_is_a_create_only_put(moto_server):
    s3 = s3_storage(moto_server, file_overwrite=False, default_acl="private")
    ticket = upload_ticket(s3, "a.txt", content_type="text/plain", size=len(TEXT))
    assert (ticket.method, ticket.enforced) == ("PUT", ("size", "type", "create_only"))
    assert ticket.headers == {
        "If-None-Match": "*",
        "Content-Type": "text/plain",
        "x-amz-acl": "private",
    }
    signed = parse_qs(urlsplit(ticket.url).query).get("X-Amz-SignedHeaders", [""])[0].split(";")
    assert {"content-length", "content-type", "if-none-match", "x-amz-acl"} <= set(signed)
    assert send(ticket.as_json(), TEXT).status_code == 200
    again = send(ticket.as_json(), b"replaced")
    assert again.status_code == 412  # the same ticket cannot replace what it created
    assert s3.open("a.txt").read() == TEXT


def test_s3_create_only_needs_the_size(moto_server):
    s3 = s3_storage(moto_server, file_overwrite=False)
    with pytest.raises(ValueError, match="declared size"):
        upload_ticket(s3, "a.txt")


def test_s3_public_endpoint(moto_server):
    s3 = s3_storage(moto_server, public_endpoint_url="http://files.example.test:9000")
    ticket = upload_ticket(s3, "a.txt", size=3)
    assert ticket.url.startswith("http://files.example.test:9000/")


# -- Azure
# -------------------------------------------------------------------------------------------
def test_azure_sas_create_only(azurite):
    az = azure_storage(azurite)  # AZURE_OVERWRITE_FILES is off by default
    ticket = upload_ticket(az, "docs/a.txt", content_type="text/plain", size=len(TEXT))
    assert (ticket.method, ticket.file_field, ticket.enforced) == ("PUT", None, ("create_only",))
    assert ticket.headers == {"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": "text/plain"}
    assert parse_qs(urlsplit(ticket.url).query)["sp"] == ["c"]
    assert send(ticket.as_json(), TEXT).status_code == 201
    again = send(ticket.as_json(), b"replaced")
    assert again.status_code in (403, 409)  # create permission cannot overwrite
    assert az.open("docs/a.txt").read() == TEXT
    assert (
        az.container_client.get_blob_client("docs/a.txt")
        .get_blob_properties()
        .content_settings.content_type
        == "text/plain"
    )


def test_azure_sas_with_overwrite(azurite):
    az = azure_storage(azurite, overwrite_files=True)
    ticket = upload_ticket(az, "a.txt", size=3)
    assert parse_qs(urlsplit(ticket.url).query)["sp"] == ["cw"]
    assert send(ticket.as_json(), b"one").status_code == 201
    assert send(ticket.as_json(), b"two").status_code == 201
    assert az.open("a.txt").read() == b"two"


def test_azure_tampered_sas_is_refused(azurite):
    az = azure_storage(azurite)
    ticket = upload_ticket(az, "a.txt", size=3).as_json()
    ticket["url"] = ticket["url"].replace("a.txt", "b.txt")
    assert send(ticket, b"one").status_code == 403
    assert not az.exists("b.txt")


# -- GCS
# --------------------------------------------------------------------------------------------
def test_gcs_resumable_session(gcs_server):
    gcs = gcs_storage(gcs_server, location="media")
    ticket = upload_ticket(
        gcs, "docs/a.txt", content_type="text/plain", size=len(TEXT), origin="http://127.0.0.1:8000"
    )
    assert (ticket.method, ticket.file_field, ticket.enforced) == ("PUT", None, ("size", "type"))
    assert ticket.url.startswith(gcs_server.endpoint + "/upload/") and "upload_id=" in ticket.url
    assert send(ticket.as_json(), TEXT).status_code == 200
    blob = gcs.bucket.get_blob("media/docs/a.txt")
    assert (blob.size, blob.content_type) == (len(TEXT), "text/plain")
    assert gcs.open("docs/a.txt").read() == TEXT


def test_gcs_overwrite_off_opens_a_create_only_session(gcs_server, monkeypatch):
    from google.auth.transport.requests import AuthorizedSession

    sent = []
    real = AuthorizedSession.request

    def record(self, method, url, *args, **kwargs):
        sent.append((method, url, kwargs.get("headers") or {}))
        return real(self, method, url, *args, **kwargs)

    gcs = gcs_storage(gcs_server, file_overwrite=False)
    monkeypatch.setattr(AuthorizedSession, "request", record)
    ticket = upload_ticket(
        gcs, "a.txt", content_type="text/plain", size=3, origin="http://127.0.0.1:8000"
    )
    assert ticket.enforced == ("size", "type", "create_only")
    [(method, url, headers)] = sent  # one request: opening the session
    query = parse_qs(urlsplit(url).query)
    assert (method, query["uploadType"], query["ifGenerationMatch"]) == (
        "POST",
        ["resumable"],
        ["0"],
    )
    headers = {k.lower(): v for k, v in headers.items()}
    assert (
        headers["x-upload-content-length"],
        headers["x-upload-content-type"],
        headers["origin"],
    ) == ("3", "text/plain", "http://127.0.0.1:8000")
    # (fake-gcs-server ignores ifGenerationMatch on resumable uploads; GCS answers 412.)
    assert send(ticket.as_json(), b"one").status_code == 200


def test_gcs_needs_the_size(gcs_server):
    with pytest.raises(ValueError, match="declared size"):
        upload_ticket(gcs_storage(gcs_server), "a.txt")


# -- Dropbox
# ----------------------------------------------------------------------------------------
def test_dropbox_temporary_upload_link(dropbox_links):
    from storages.backends.dropbox import DropboxStorage

    dbx = DropboxStorage(**dropbox_links.options(root_path="/direct-api"))
    ticket = upload_ticket(dbx, "docs/a.txt", content_type="text/plain", size=len(TEXT))
    assert (ticket.method, ticket.file_field, ticket.enforced) == ("POST", None, ("create_only",))
    assert ticket.headers == {"Content-Type": "application/octet-stream"}
    assert send(ticket.as_json(), TEXT).status_code == 200
    assert dbx.open("docs/a.txt").read() == TEXT
    assert send(ticket.as_json(), b"replaced").status_code == 410  # links are single-use
    second = upload_ticket(dbx, "docs/a.txt", size=8)  # several links may exist for one path
    again = send(second.as_json(), b"replaced")
    assert again.status_code == 409 and again.json()["error_summary"].startswith(
        "path/conflict/file"
    )
    assert dbx.open("docs/a.txt").read() == TEXT


# -- common
# -----------------------------------------------------------------------------------------
def test_size_over_the_limit_gets_no_ticket(moto_server):
    with pytest.raises(ValueError, match="over the limit"):
        upload_ticket(s3_storage(moto_server), "a.txt", size=11, max_size=10)


def test_size_over_the_provider_limit_gets_no_ticket(dropbox_links):
    from storages.backends.dropbox import DropboxStorage

    dbx = DropboxStorage(**dropbox_links.options(root_path="/direct-api"))
    with pytest.raises(
        ValueError,
        match=r"200.0 MB is more than one direct upload to DropboxStorage can take \(150.0 MB\)",
    ):
        upload_ticket(dbx, "big.bin", size=200 * 1024 * 1024, max_size=10**10)


def test_expired_ticket_is_refused_by_the_storage(azurite):
    import time

    az = azure_storage(azurite)
    ticket = upload_ticket(az, "late.txt", size=3, expires_in=1)
    time.sleep(2.5)
    assert send(ticket.as_json(), b"one").status_code == 403
    assert not az.exists("late.txt")


def test_unsupported_storage(tmp_path):
    fs = FileSystemStorage(location=tmp_path)
    assert not supports_direct_upload(fs)
    with pytest.raises(
        ImproperlyConfigured, match="FileSystemStorage does not support direct uploads"
    ):
        upload_ticket(fs, "a.txt", size=1)


def test_a_storage_can_bring_its_own_ticket(tmp_path):
    class Own(FileSystemStorage):
        def direct_upload_ticket(self, request: TicketRequest) -> UploadTicket:
            return UploadTicket(
                request.name,
                "PUT",
                f"https://uploads.example/{request.name}",
                dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc),
            )

    import datetime as dt

    storage = Own(location=tmp_path)
    assert supports_direct_upload(storage)
    assert upload_ticket(storage, "a.txt", size=1).as_json() == {
        "name": "a.txt",
        "method": "PUT",
        "url": "https://uploads.example/a.txt",
        "expires": "2030-01-01T00:00:00+00:00",
        "fields": {},
        "headers": {},
        "file_field": None,
        "enforced": [],
    }


# -- CORS check ------------------------------------------------------------------------------------
def test_cors_check_s3(moto_server):
    from storages.direct.cors import check_cors

    origin = "https://app.example.com"
    bare = s3_storage(moto_server)
    [problem] = check_cors(bare, origin)
    assert problem == (
        f"S3 bucket {bare.bucket_name!r} has no CORS rule allowing direct uploads from the browser "
        "(origin https://app.example.com, method POST)"
    )
    assert check_cors(s3_storage(moto_server, cors_origin=origin), origin) == []
    assert check_cors(s3_storage(moto_server, cors_origin="https://*.example.com"), origin) == []
    assert check_cors(s3_storage(moto_server, cors_origin="https://other.example"), origin)
    create_only = s3_storage(moto_server, cors_origin=origin, file_overwrite=False)
    assert check_cors(create_only, origin) == []  # the rule allows PUT and any header


def test_cors_check_azure(azurite):
    from storages.direct.cors import check_cors

    origin = "https://app.example.com"
    az = azure_storage(azurite, cors_origin="https://other.example")
    [problem] = check_cors(az, origin)
    assert (
        "Azure account 'devstoreaccount1' has no CORS rule" in problem
        and "x-ms-blob-type" in problem
    )
    az = azure_storage(azurite, cors_origin=origin)
    assert check_cors(az, origin) == []


def test_cors_check_needs_no_rule_for_gcs_sessions(gcs_server):
    from storages.direct.cors import check_cors

    assert check_cors(gcs_storage(gcs_server), "https://app.example.com") == []


def test_default_storage_reaches_the_storage_hook(moto_server, settings):
    """The docs' path: a model without storage= uses default_storage, a lazy wrapper; the ticket
    comes from the wrapped storage's direct_upload_ticket hook."""
    from django.core.files.storage import default_storage

    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    bucket = s3_storage(moto_server).bucket_name
    options = {
        "bucket_name": bucket,
        "endpoint_url": moto_server.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "file_overwrite": True,
    }
    use_storages(
        settings,
        {
            **settings.STORAGES,
            "default": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": options},
        },
    )
    assert supports_direct_upload(default_storage)
    ticket = upload_ticket(default_storage, "lazy/a.txt", content_type="text/plain")
    assert (ticket.method, ticket.fields["key"]) == ("POST", "lazy/a.txt")
    assert send(ticket.as_json(), TEXT).status_code == 204
    assert default_storage.open("lazy/a.txt").read() == TEXT
    with pytest.raises(ValueError, match="S3Storage"):
        upload_ticket(default_storage, "lazy/big.bin", size=6 * 1024**3, max_size=7 * 1024**3)

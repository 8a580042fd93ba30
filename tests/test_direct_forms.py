"""Direct uploads, server side: the ticket view and the form field against moto (S3).

The browser is played by ``requests`` here (tests/test_direct_browser.py runs
the real widget in Chromium); what is asserted is what Django accepts or
refuses and what stays in the bucket.
"""

from __future__ import annotations

import html
import time

import pytest
from django.contrib.auth.models import Permission, User
from django.core import signing
from django.test import Client

from storages.direct.signing import make_reference
from tests.direct_app import middleware
from tests.direct_app.forms import SmallUploadForm, StaffUploadForm, UploadForm
from tests.direct_app.helpers import TICKET_URL, ask_ticket, field_spec, s3_storage, send
from tests.direct_app.models import Upload

pytest_plugins = ["tests.direct_app.fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("direct_settings")]
KEY = "direct_app.Upload.file"


@pytest.fixture
def s3(moto_server, use_storage):
    return use_storage(s3_storage(moto_server))


def user(*perms: str, staff: bool = False) -> User:
    u = User.objects.create_user(f"u{time.monotonic_ns()}", is_staff=staff)
    for codename in perms:
        u.user_permissions.add(Permission.objects.get(codename=codename))
    return u


@pytest.fixture
def client():
    c = Client()
    c.force_login(user("add_upload"))
    return c


def operations(storage) -> list[str]:
    """The S3 operations the storage's client sends from now on (a live list)."""
    sent: list[str] = []
    storage.client.meta.events.register(
        "before-send.s3", lambda request, **kw: sent.append(kw["event_name"].rsplit(".", 1)[-1])
    )
    return sent


def keys(storage) -> list[str]:
    reply = storage.client.list_objects_v2(Bucket=storage.bucket_name)
    return sorted(o["Key"] for o in reply.get("Contents", []))


def uploaded(
    client,
    storage,
    data: bytes = b"hello direct\n",
    form=UploadForm,
    name="notes.txt",
    content_type="text/plain",
    **send_kwargs,
):
    reply = ask_ticket(client, field_spec(form), name, len(data), content_type)
    assert reply.status_code == 200, reply.content
    ticket = reply.json()
    assert send(ticket, data, **send_kwargs).status_code in (200, 201, 204)
    return ticket


def submit(client, reference: str, title: str = "t"):
    return client.post("/upload/", {"title": title, "file": reference})


def text(reply) -> str:
    return html.unescape(reply.content.decode())


def test_upload_then_submit_points_the_model_at_the_object(client, s3):
    data = b"straight to the bucket\n" * 100
    ticket = uploaded(client, s3, data)
    assert ticket["method"] == "POST" and ticket["file_field"] == "file"
    name = ticket["name"]
    assert name.startswith("direct/uploads/notes_") and name.endswith(".txt")
    head = s3.client.head_object(Bucket=s3.bucket_name, Key=name)
    sent = operations(s3)
    reply = submit(client, ticket["reference"])
    assert sent == ["HeadObject"]  # one check; no copy, no download
    assert reply.status_code == 200 and b'id="saved"' in reply.content
    upload = Upload.objects.get()
    assert upload.file.name == name
    assert upload.file.read() == data
    # assigned, not copied: one object, untouched
    assert keys(s3) == [name]
    assert s3.client.head_object(Bucket=s3.bucket_name, Key=name)["ETag"] == head["ETag"]
    assert (
        s3.client.head_object(Bucket=s3.bucket_name, Key=name)["LastModified"]
        == head["LastModified"]
    )
    assert all(size < 4096 for _, _, size in middleware.LOG)


def test_the_browser_cannot_pick_the_name(client, s3):
    first = ask_ticket(client, field_spec(UploadForm), "../../etc/passwd", 10).json()
    second = ask_ticket(client, field_spec(UploadForm), "../../etc/passwd", 10).json()
    assert first["name"].startswith("direct/uploads/passwd_")
    assert first["name"] != second["name"]  # a fresh random part every time
    assert first["fields"]["key"] == first["name"]
    for unusable in ("..", "."):
        reply = ask_ticket(client, field_spec(UploadForm), unusable, 10)
        assert reply.status_code == 400, unusable
        assert reply.json() == {
            "error": "The file name is not usable; rename the file and try again."
        }
    assert (
        ask_ticket(client, field_spec(UploadForm), "", 10)
        .json()["name"]
        .startswith("direct/uploads/upload_")
    )
    long = ask_ticket(client, field_spec(UploadForm), "a" * 300 + ".txt", 10).json()["name"]
    # 150 is the field's max_length.
    assert len(long) == 150 and long.startswith("direct/uploads/aaa") and long.endswith(".txt")


def test_tampered_reference_is_refused(client, s3):
    ticket = uploaded(client, s3)
    ref = ticket["reference"]
    payload, _, rest = ref.partition(":")
    forged = signing.b64_encode(
        signing.b64_decode(payload.encode()).replace(b"notes_", b"other_")
    ).decode()
    for bad in (
        forged + ":" + rest,
        ref[:-2] + ("AA" if not ref.endswith("AA") else "BB"),
        "direct/uploads/x.txt",
    ):
        assert "could not be verified" in text(submit(client, bad))
    assert not Upload.objects.exists()
    assert keys(s3) == [ticket["name"]]  # nothing of ours to delete: the reference was not ours


def test_reference_for_another_field_is_refused(client, s3):
    ticket = uploaded(client, s3)
    other = make_reference("testapp.Document.normal", ticket["name"])
    assert "could not be verified" in text(submit(client, other))


def test_expired_reference_is_refused(client, s3, monkeypatch):
    real = signing.TimestampSigner.timestamp
    monkeypatch.setattr(
        signing.TimestampSigner,
        "timestamp",
        lambda self: signing.b62_encode(int(time.time()) - 2 * 24 * 3600),
    )
    ticket = uploaded(client, s3)
    monkeypatch.setattr(signing.TimestampSigner, "timestamp", real)
    assert "has expired" in text(submit(client, ticket["reference"]))
    assert not Upload.objects.exists()


def test_name_outside_upload_to_is_refused_and_left_alone(client, s3):
    s3.client.put_object(Bucket=s3.bucket_name, Key="private/ledger.txt", Body=b"someone else's")
    reference = make_reference(KEY, "private/ledger.txt")  # properly signed, wrong folder
    assert "not in this field's folder" in text(submit(client, reference))
    sneaky = make_reference(KEY, "direct/uploads/../../private/ledger.txt")
    assert "not in this field's folder" in text(submit(client, sneaky))
    assert keys(s3) == ["private/ledger.txt"]


def test_missing_object_is_refused(client, s3):
    ticket = ask_ticket(client, field_spec(UploadForm), "never-sent.txt", 5, "text/plain").json()
    assert "was not found" in text(submit(client, ticket["reference"]))


def test_object_over_the_limit_is_refused_and_deleted(client, s3):
    # The browser declares 10 bytes, then sends 5 KB (moto does not enforce the policy's
    # content-length-range; S3 would refuse it already).
    reply = ask_ticket(client, field_spec(SmallUploadForm), "big.txt", 10, "text/plain")
    ticket = reply.json()
    conditions = signing.json.loads(signing.base64.b64decode(ticket["fields"]["policy"]))[
        "conditions"
    ]
    assert ["content-length-range", 0, 1024] in conditions
    send(ticket, b"x" * 5000)
    assert keys(s3) == [ticket["name"]]
    form = SmallUploadForm(data={"file": ticket["reference"]})
    sent = operations(s3)
    assert not form.is_valid()
    assert sent == ["HeadObject", "DeleteObject"]
    assert form.errors["file"] == ["The file is too large (4.9 KB; at most 1.0 KB)."]
    assert keys(s3) == []


def test_declared_size_over_the_limit_gets_no_ticket(client, s3):
    reply = ask_ticket(client, field_spec(SmallUploadForm), "big.txt", 2048, "text/plain")
    assert reply.status_code == 400 and "too large" in reply.json()["error"]


def test_wrong_content_type_is_refused_and_deleted(client, s3):
    ticket = ask_ticket(client, field_spec(SmallUploadForm), "notes.txt", 10, "text/plain").json()
    conditions = signing.json.loads(signing.base64.b64decode(ticket["fields"]["policy"]))[
        "conditions"
    ]
    assert {"Content-Type": "text/plain"} in conditions
    # A browser that changes the signed field (S3 refuses it; moto does not check).
    send(ticket, b"#!/bin/sh\n", fields={"Content-Type": "application/x-sh"})
    assert (
        s3.client.head_object(Bucket=s3.bucket_name, Key=ticket["name"])["ContentType"]
        == "application/x-sh"
    )
    form = SmallUploadForm(data={"file": ticket["reference"]})
    assert not form.is_valid()
    assert form.errors["file"] == ["Files of type application/x-sh are not allowed here."]
    assert keys(s3) == []


def test_declared_wrong_type_gets_no_ticket(client, s3):
    for name, kind in (("run.sh", "application/x-sh"), ("picture.png", "text/plain")):
        reply = ask_ticket(client, field_spec(SmallUploadForm), name, 10, kind)
        assert reply.status_code == 400, name
        assert "not allowed" in reply.json()["error"]


def test_empty_file_is_refused_and_deleted(client, s3):
    ticket = uploaded(client, s3, b"", form=SmallUploadForm)
    form = SmallUploadForm(data={"file": ticket["reference"]})
    assert form.errors["file"] == ["The submitted file is empty."]
    assert keys(s3) == []


def test_ticket_needs_the_csrf_token(s3):
    c = Client(enforce_csrf_checks=True)
    c.force_login(user("add_upload"))
    spec = field_spec(UploadForm)
    reply = ask_ticket(c, spec, "a.txt", 5, "text/plain")
    assert reply.status_code == 403 and b"CSRF" in reply.content
    c.get("/upload/")  # sets the CSRF cookie, as the page does
    token = c.cookies["csrftoken"].value
    reply = ask_ticket(c, spec, "a.txt", 5, "text/plain", HTTP_X_CSRFTOKEN=token)
    assert reply.status_code == 200
    assert keys(s3) == []  # a ticket is only a signature: nothing stored yet


def test_ticket_needs_permission(s3):
    spec = field_spec(UploadForm)
    anonymous = Client()
    assert ask_ticket(anonymous, spec, "a.txt", 5).status_code == 403
    nobody = Client()
    nobody.force_login(user())
    reply = ask_ticket(nobody, spec, "a.txt", 5)
    assert reply.status_code == 403 and reply.json() == {
        "error": "You are not allowed to upload files here."
    }
    changer = Client()
    changer.force_login(user("change_upload"))
    assert ask_ticket(changer, spec, "a.txt", 5).status_code == 200


def test_permission_hook(s3):
    spec = field_spec(StaffUploadForm)
    plain = Client()
    plain.force_login(user("add_upload"))  # the model permission is not what this hook asks for
    assert ask_ticket(plain, spec, "a.bin", 5).status_code == 403
    staff = Client()
    staff.force_login(user(staff=True))
    assert ask_ticket(staff, spec, "a.bin", 5).status_code == 200


def test_tampered_spec_gets_no_ticket(client, s3):
    spec = field_spec(SmallUploadForm)
    data = signing.loads(spec, salt="storages.direct.spec")
    forged = signing.dumps({**data, "max_size": 10**12}, salt="other-salt", compress=True)
    for bad in (forged, spec[:-3] + "abc", ""):
        reply = ask_ticket(client, bad, "a.txt", 5, "text/plain")
        assert reply.status_code == 400 and reply.json() == {"error": "Unknown upload field."}


def test_ticket_view_takes_only_post(client, s3):
    assert client.get(TICKET_URL).status_code == 405


def test_widget_renders_spec_and_media(client, s3):
    page = client.get("/upload/").content.decode()
    assert "storages/direct-upload.js" in page and "storages/direct-upload.css" in page
    assert 'data-ticket-url="/storages/direct/ticket/"' in page
    assert 'type="file"' in page and 'enctype="multipart' not in page
    assert not UploadForm().is_multipart()


def test_keeping_and_clearing_the_current_file(client, s3):
    ticket = uploaded(client, s3)
    submit(client, ticket["reference"])
    upload = Upload.objects.get()
    form = UploadForm(data={"title": "renamed"}, instance=upload)
    assert form.is_valid(), form.errors
    assert form.save().file.name == ticket["name"]
    assert ticket["name"] in form.as_p()
    # The field is required: it shows no clear box and ignores one.
    assert "file-clear" not in form.as_p()
    form = UploadForm(data={"title": "x", "file-clear": "on"}, instance=upload)
    assert form.is_valid() and form.save().file.name == ticket["name"]


def test_failed_other_field_keeps_the_reference(client, s3):
    ticket = uploaded(client, s3)
    reply = client.post("/upload/", {"title": "x" * 200, "file": ticket["reference"]})
    page = text(reply)
    assert "at most 100 characters" in page
    assert ticket["reference"] in page and f"Uploaded: {ticket['name']}" in page
    assert "required" not in page.split('class="storages-direct-file"', 1)[1].split(">", 1)[0]


def test_picker_is_required_only_without_a_file(client, s3):
    assert "required" in str(UploadForm()["file"])
    ticket = uploaded(client, s3)
    submit(client, ticket["reference"])
    assert "required" not in str(UploadForm(instance=Upload.objects.get())["file"])


def test_storage_down_gives_a_clear_error(client, use_storage):
    from google.auth.credentials import AnonymousCredentials

    from storages.backends.dropbox import DropboxStorage
    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers import free_port
    from tests.servers.dropbox_api import TOKEN

    # S3 and Azure tickets are signed locally; a GCS upload session and a Dropbox link are requests.
    for storage in (
        GoogleCloudStorage(
            bucket_name="gone",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"},
        ),
        DropboxStorage(oauth2_access_token=TOKEN, api_host=f"127.0.0.1:{free_port()}"),
    ):
        use_storage(storage)
        reply = ask_ticket(client, field_spec(UploadForm), "a.txt", 5, "text/plain")
        assert reply.status_code == 503, storage
        assert reply.json() == {"error": "The storage is not available; please try again later."}


def test_admin_formfield_overrides(client, s3, rf):
    from django.contrib import admin
    from django.db import models

    from storages.direct.forms import DirectUploadField, DirectUploadWidget

    class UploadAdmin(admin.ModelAdmin):
        fields = ["title", "file"]
        formfield_overrides = {
            models.FileField: {"form_class": DirectUploadField, "max_size": 1024}
        }

    request = rf.get("/")
    request.user = User.objects.create_superuser("root", "root@example.com", "unused")
    form_class = UploadAdmin(Upload, admin.AdminSite()).get_form(request)
    form = form_class()
    field = form.fields["file"]
    assert isinstance(field, DirectUploadField) and isinstance(field.widget, DirectUploadWidget)
    assert "data-storages-direct" in str(form["file"])  # bound to Upload.file when rendered
    ticket = uploaded(
        client, s3, form=form_class, name="admin.bin", content_type="application/octet-stream"
    )
    assert ticket["name"].startswith("direct/uploads/admin_")
    bound = form_class(data={"title": "via admin", "file": ticket["reference"]})
    assert bound.is_valid(), bound.errors
    assert bound.save().file.name == ticket["name"]
    too_big = ask_ticket(client, field_spec(form_class), "big.bin", 2048)
    assert too_big.status_code == 400


def test_declared_size_over_the_provider_limit_gets_no_ticket(client, s3):
    from storages.direct.forms import DirectUploadField

    spec = (
        DirectUploadField(model_field=Upload._meta.get_field("file"), max_size=10**11)
        .spec()
        .dumps()
    )
    reply = ask_ticket(client, spec, "huge.bin", 6 * 1024**3)
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "The file is too large for one direct upload to this storage (6.0 GB; at most "
        "5.0 GB)."
    }


def test_plain_form_needs_the_model_field(client, s3):
    from django import forms
    from django.core.exceptions import ImproperlyConfigured

    from storages.direct.forms import DirectUploadField

    class Loose(forms.Form):
        file = DirectUploadField()

    with pytest.raises(
        ImproperlyConfigured, match="Loose.file: DirectUploadField outside a ModelForm needs"
    ):
        str(Loose()["file"])

    class Bound(forms.Form):
        file = DirectUploadField(model_field=Upload._meta.get_field("file"))

    ticket = uploaded(client, s3, form=Bound)
    form = Bound(data={"file": ticket["reference"]})
    assert form.is_valid() and form.cleaned_data["file"] == ticket["name"]

"""Direct uploads in a real browser: headless Chromium runs the widget's script.

A page served by Django's live server holds a ModelForm with the direct-upload
widget; Chromium picks a 30 MB file, the script gets a ticket from Django and
sends the file straight to the storage server (moto, Azurite, fake-gcs-server,
the Dropbox stand-in), then the form is submitted. Asserted: the model points
at the stored object, its bytes are the file's, and no request Django served
carried more than a few kilobytes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.direct_app import middleware
from tests.direct_app.helpers import MB, azure_storage, digest, gcs_storage, s3_storage
from tests.direct_app.models import Upload

pytest_plugins = ["tests.direct_app.fixtures"]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("direct_settings")]

SIZE = 30 * MB
#: The largest request Django may see: the form and the ticket request, never a file body.
SMALL = 64 * 1024
#: A folder: keep the widget's screenshots there.
SCREENSHOTS = os.environ.get("STORAGES_SCREENSHOTS")


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("direct") / "dataset.bin"
    h = hashlib.sha256()
    with open(path, "wb") as fh:
        for _ in range(SIZE // MB):
            chunk = os.urandom(MB)
            h.update(chunk)
            fh.write(chunk)
    return path, h.hexdigest()


@pytest.fixture
def page(direct_live_server, browser):  # the server outlives the browser (its keep-alive threads)
    """The upload page, opened by a logged-in superuser."""
    return open_page(direct_live_server, browser)


def open_page(direct_live_server, browser):
    user = User.objects.create_superuser("admin", "admin@example.com", "unused-password")
    client = Client()
    client.force_login(user)
    browser.delete_all_cookies()
    # A page on the origin, to set cookies.
    browser.get(direct_live_server.url + "/static/storages/direct-upload.css")
    browser.add_cookie(
        {"name": "sessionid", "value": client.cookies["sessionid"].value, "path": "/"}
    )
    browser.get(direct_live_server.url + "/upload/")
    middleware.LOG.clear()
    return browser


def pick_and_wait(browser, path: Path, timeout: float = 120) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.CSS_SELECTOR, ".storages-direct-file").send_keys(str(path))
    widget = browser.find_element(By.CSS_SELECTOR, "[data-storages-direct]")
    WebDriverWait(browser, timeout).until(
        lambda d: {"is-done", "is-error"} & set(widget.get_attribute("class").split())
    )
    status = widget.find_element(By.CSS_SELECTOR, ".storages-direct-status").text
    assert "is-done" in widget.get_attribute("class"), status
    return status


def submit(browser, title: str) -> int:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.find_element(By.ID, "id_title").send_keys(title)
    browser.find_element(By.ID, "save").click()
    saved = WebDriverWait(browser, 30).until(lambda d: d.find_elements(By.ID, "saved"))
    return int(saved[0].get_attribute("data-pk"))


def assert_stored(storage, pk: int, path: Path, sha: str) -> None:
    upload = Upload.objects.get(pk=pk)
    assert upload.file.name.startswith("direct/uploads/dataset_") and upload.file.name.endswith(
        ".bin"
    )
    assert storage.size(upload.file.name) == SIZE
    assert digest(storage, upload.file.name) == sha
    served = list(middleware.LOG)
    assert [(m, p) for m, p, _ in served if m == "POST"] == [
        ("POST", "/storages/direct/ticket/"),
        ("POST", "/upload/"),
    ]
    assert max(size for _, _, size in served) < SMALL, served
    assert sum(size for _, _, size in served) < SMALL


def test_s3_presigned_post(page, direct_live_server, moto_server, use_storage, big_file):
    storage = use_storage(s3_storage(moto_server, cors_origin=direct_live_server.url))
    path, sha = big_file
    assert pick_and_wait(page, path) == "Uploaded: dataset.bin (30.0 MB)"
    pk = submit(page, "to S3")
    assert_stored(storage, pk, path, sha)
    assert Upload.objects.get(pk=pk).title == "to S3"


def test_s3_create_only_put(page, direct_live_server, moto_server, use_storage, big_file):
    storage = use_storage(
        s3_storage(moto_server, cors_origin=direct_live_server.url, file_overwrite=False)
    )
    path, sha = big_file
    pick_and_wait(page, path)
    assert_stored(storage, submit(page, "to S3, create only"), path, sha)


def test_azure_sas(page, direct_live_server, azurite, use_storage, big_file):
    storage = use_storage(azure_storage(azurite, cors_origin=direct_live_server.url))
    path, sha = big_file
    pick_and_wait(page, path)
    assert_stored(storage, submit(page, "to Azure"), path, sha)


def test_gcs_resumable_session(page, direct_live_server, gcs_server, use_storage, big_file):
    storage = use_storage(gcs_storage(gcs_server))
    path, sha = big_file
    pick_and_wait(page, path)
    assert_stored(storage, submit(page, "to GCS"), path, sha)


def test_dropbox_upload_link(page, direct_live_server, dropbox_links, use_storage, big_file):
    from storages.backends.dropbox import DropboxStorage

    storage = use_storage(DropboxStorage(**dropbox_links.options(root_path="/direct-browser")))
    path, sha = big_file
    pick_and_wait(page, path)
    assert_stored(storage, submit(page, "to Dropbox"), path, sha)


def test_progress_guard_and_screenshots(
    page, direct_live_server, moto_server, use_storage, big_file, tmp_path
):
    """Through a slow uplink the upload takes seconds: the bar moves, Save waits, screenshots are
    taken."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.direct_app.slow_upstream import SlowUpstream

    proxy = SlowUpstream(int(moto_server.endpoint.rsplit(":", 1)[1]), rate=3 * MB)
    try:
        storage = use_storage(
            s3_storage(
                moto_server,
                cors_origin=direct_live_server.url,
                public_endpoint_url=f"http://127.0.0.1:{proxy.port}",
            )
        )
        path, sha = big_file
        page.find_element(By.ID, "id_title").send_keys("Survey results")
        page.find_element(By.CSS_SELECTOR, ".storages-direct-file").send_keys(str(path))
        bar = page.find_element(By.CSS_SELECTOR, ".storages-direct-progress")
        seen: list[float] = []
        WebDriverWait(page, 60, poll_frequency=0.05).until(
            lambda d: 35 <= (seen.append(float(bar.get_attribute("value"))) or seen[-1]) <= 65
        )
        page.find_element(By.ID, "save").click()  # too early: the script holds the form back
        alert = WebDriverWait(page, 10).until(lambda d: d.switch_to.alert)
        assert alert.text == "Please wait until the upload has finished, or cancel it."
        alert.accept()
        assert (
            "Uploading dataset.bin (30.0 MB)"
            in page.find_element(By.CSS_SELECTOR, ".storages-direct-status").text
        )
        shots = {"direct-upload-progress.png": page.get_screenshot_as_png()}
        widget = page.find_element(By.CSS_SELECTOR, "[data-storages-direct]")
        WebDriverWait(page, 120).until(lambda d: "is-done" in widget.get_attribute("class"))
        shots["direct-upload-done.png"] = page.get_screenshot_as_png()
        assert not Upload.objects.exists()
        assert proxy.bytes_up > SIZE  # the file went through the (browser-facing) storage endpoint
    finally:
        proxy.stop()
    assert 35 <= seen[-1] <= 65 and float(bar.get_attribute("value")) == 100
    assert page.find_element(By.CSS_SELECTOR, ".storages-direct-percent").text == "100 %"
    pk = int(
        page.find_element(By.ID, "save").click()
        or WebDriverWait(page, 30)
        .until(lambda d: d.find_elements(By.ID, "saved"))[0]
        .get_attribute("data-pk")
    )
    assert_stored(storage, pk, path, sha)
    for name, png in shots.items():
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 200_000
        (tmp_path / name).write_bytes(png)
        if SCREENSHOTS:
            Path(SCREENSHOTS, name).write_bytes(png)


def widget_state(browser) -> dict:
    """What the user sees and what the form would send."""
    from selenium.webdriver.common.by import By

    widget = browser.find_element(By.CSS_SELECTOR, "[data-storages-direct]")
    return {
        "classes": set(widget.get_attribute("class").split()),
        "busy": widget.get_attribute("data-busy"),
        "status": widget.find_element(By.CSS_SELECTOR, ".storages-direct-status").text,
        "reference": widget.find_element(
            By.CSS_SELECTOR, ".storages-direct-reference"
        ).get_attribute("value"),
        "picked": widget.find_element(By.CSS_SELECTOR, ".storages-direct-file").get_attribute(
            "value"
        ),
        "bar_hidden": widget.find_element(By.CSS_SELECTOR, ".storages-direct-bar").get_attribute(
            "hidden"
        ),
    }


@pytest.fixture
def small_file(tmp_path) -> Path:
    path = tmp_path / "notes.bin"
    path.write_bytes(os.urandom(256 * 1024))
    return path


@pytest.fixture
def stall_after(monkeypatch):
    """The page's widget gives up after ``seconds`` without progress (a field option)."""

    def set_timeout(seconds: float) -> None:
        from tests.direct_app.forms import UploadForm

        monkeypatch.setattr(UploadForm.base_fields["file"].widget, "stall_timeout", seconds)

    return set_timeout


def test_stalled_upload_times_out(
    direct_live_server, browser, moto_server, use_storage, small_file, stall_after
):
    """A storage endpoint that accepts the connection and never answers: the widget gives up."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.servers.proxy import TCPProxy

    stall_after(2)
    hole = TCPProxy("127.0.0.1", 9, mode="blackhole").start()  # never forwards anything
    try:
        use_storage(
            s3_storage(
                moto_server,
                cors_origin=direct_live_server.url,
                public_endpoint_url=f"http://127.0.0.1:{hole.port}",
            )
        )
        page = open_page(direct_live_server, browser)
        page.find_element(By.CSS_SELECTOR, ".storages-direct-file").send_keys(str(small_file))
        WebDriverWait(page, 60).until(lambda d: "is-error" in widget_state(d)["classes"])
        assert hole.stats.connections >= 1  # the browser did reach the silent endpoint
    finally:
        hole.stop()
    state = widget_state(page)
    assert state["status"] == (
        "The upload stalled: no progress for 2 s. Check the connection and choose the file again."
    )
    assert state["busy"] is None and state["reference"] == "" and state["picked"] == ""
    assert state["bar_hidden"] == "true"
    # The form is usable: with the storage reachable again, the same page uploads and saves.
    storage = use_storage(s3_storage(moto_server, cors_origin=direct_live_server.url))
    middleware.LOG.clear()
    assert pick_and_wait(page, small_file) == "Uploaded: notes.bin (256.0 KB)"
    saved = Upload.objects.get(pk=submit(page, "after a stall"))
    assert storage.size(saved.file.name) == small_file.stat().st_size


def test_cancelled_upload_leaves_the_form_usable(
    direct_live_server, browser, moto_server, use_storage, big_file
):
    """Cancel stops the transfer; the same form then uploads and saves a file."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.direct_app.slow_upstream import SlowUpstream

    proxy = SlowUpstream(int(moto_server.endpoint.rsplit(":", 1)[1]), rate=2 * MB)
    try:
        storage = use_storage(
            s3_storage(
                moto_server,
                cors_origin=direct_live_server.url,
                public_endpoint_url=f"http://127.0.0.1:{proxy.port}",
            )
        )
        path, sha = big_file
        page = open_page(direct_live_server, browser)
        page.find_element(By.CSS_SELECTOR, ".storages-direct-file").send_keys(str(path))
        bar = page.find_element(By.CSS_SELECTOR, ".storages-direct-progress")
        WebDriverWait(page, 60, poll_frequency=0.05).until(
            lambda d: float(bar.get_attribute("value")) >= 5
        )
        page.find_element(By.CSS_SELECTOR, ".storages-direct-cancel").click()
        WebDriverWait(page, 10).until(lambda d: "is-error" in widget_state(d)["classes"])
        state = widget_state(page)
        assert state["status"] == "Upload cancelled. Choose a file to upload."
        assert state["busy"] is None and state["reference"] == "" and state["picked"] == ""
        cancelled_at = proxy.bytes_up
        assert cancelled_at < SIZE  # the transfer stopped part way
        proxy.rate = 1000 * MB  # the network is fine again
        middleware.LOG.clear()
        assert pick_and_wait(page, path) == "Uploaded: dataset.bin (30.0 MB)"
        pk = submit(page, "after a cancel")
    finally:
        proxy.stop()
    assert_stored(storage, pk, path, sha)
    # The cancelled POST left nothing behind: only the saved object is in the bucket.
    listed = storage.client.list_objects_v2(Bucket=storage.bucket_name).get("Contents", [])
    assert [o["Key"] for o in listed] == [Upload.objects.get(pk=pk).file.name]


def test_script_sizes_match_python(page):
    from storages.direct import human_size

    sizes = [0, 1, 2, 812, 1023, 1024, 1536, 10**6, 9 * MB, 30 * MB, 5 * 1024**3, 3 * 1024**5]
    shown = page.execute_script("return arguments[0].map(window.storagesDirect.humanSize);", sizes)
    assert shown == [human_size(n) for n in sizes]

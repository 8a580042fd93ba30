"""The direct-upload docs, run as written: the example project under docs/examples/direct.

docs/direct-uploads.rst includes the project's files (settings, urls, model, form,
view, template, admin) with ``literalinclude``; this module runs that project as a
user would: ``manage.py migrate``, ``createsuperuser``, ``runserver``, then headless
Chromium logs in and uploads through the documented form and through the admin.
The model's fields have no ``storage=``: the file goes to ``STORAGES["default"]``
(S3 on moto, as the docs' settings; Azure on Azurite with only the storage swapped).
"""

from __future__ import annotations

import os
import re
import secrets
import sqlite3
import sys
import uuid
from pathlib import Path

import pytest

from tests.direct_app.helpers import png
from tests.servers import ServerProcess, free_port

pytest_plugins = ["tests.direct_app.fixtures"]

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "docs" / "examples" / "direct"
DOC = ROOT / "docs" / "direct-uploads.rst"
PASSWORD = secrets.token_urlsafe(12)
#: The CORS rule the docs show for S3 (its JSON block), with the test server's origin.
CORS_RULE = {
    "AllowedMethods": ["POST", "PUT"],
    "AllowedHeaders": ["*"],
    "ExposeHeaders": ["ETag"],
    "MaxAgeSeconds": 3600,
}


class Project:
    """The example project running under ``runserver`` with its own database."""

    def __init__(self, workdir: Path, env: dict[str, str]) -> None:
        self.db = workdir / "db.sqlite3"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            "PYTHONPATH": os.pathsep.join([str(PROJECT), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(32),
            "REPORTS_DB": str(self.db),
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
            **env,
        }
        self.manage("migrate", "--no-input")
        self.manage(
            "createsuperuser", "--no-input", "--username", "admin", "--email", "admin@example.com"
        )
        self.server = ServerProcess(
            [sys.executable, str(PROJECT / "manage.py"), "runserver", f"127.0.0.1:{self.port}"]
            + ["--noreload", "--insecure"],
            self.port,
            env=self.env,
            log=workdir / "runserver.log",
        )

    def manage(self, *args: str) -> None:
        import subprocess

        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"manage.py {args[0]}: {done.stdout}{done.stderr}"

    def reports(self) -> list[tuple[str, str, str]]:
        with sqlite3.connect(self.db) as db:
            return db.execute(
                "SELECT title, file, cover FROM reports_report ORDER BY id"
            ).fetchall()

    def stop(self) -> None:
        self.server.stop()


def start_project(tmp_path_factory, env: dict[str, str]) -> Project:
    return Project(tmp_path_factory.mktemp("reports-project"), env)


@pytest.fixture(scope="module")
def s3_project(moto_server, tmp_path_factory):
    """The project as the docs configure it: S3Storage, bucket acme-media in eu-west-1."""
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    project = start_project(
        tmp_path_factory,
        {
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL_S3": moto_server.endpoint,
        },
    )
    client = moto_server.client()
    client.create_bucket(
        Bucket="acme-media", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    client.put_bucket_cors(
        Bucket="acme-media",
        CORSConfiguration={"CORSRules": [{**CORS_RULE, "AllowedOrigins": [project.url]}]},
    )
    yield project
    project.stop()


@pytest.fixture(scope="module")
def azure_project(azurite, tmp_path_factory):
    from azure.storage.blob import CorsRule

    project = start_project(
        tmp_path_factory,
        {
            "DJANGO_SETTINGS_MODULE": "tests.direct_app.reports_azure_settings",
            "REPORTS_AZURE_CONNECTION_STRING": azurite.connection_string(),
        },
    )
    azurite.create_container("acme-media")
    azurite.service_client().set_service_properties(
        cors=[
            CorsRule(
                [project.url],
                ["PUT", "OPTIONS"],
                allowed_headers=["*"],
                exposed_headers=["*"],
                max_age_in_seconds=3600,
            )
        ]
    )
    yield project
    project.stop()


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("docs-files")
    out = {
        "report.pdf": b"%PDF-1.4\n" + os.urandom(2 * 1024 * 1024) + b"\n%%EOF\n",
        "cover.png": png(4, 3),
        "figures.csv": b"year,value\n" + b"2026,1\n" * 50_000,
    }
    for name, data in out.items():
        (folder / name).write_bytes(data)
    return {name: folder / name for name in out}


def log_in(browser, project: Project, then: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.delete_all_cookies()
    browser.get(f"{project.url}/admin/login/?next={then}")
    browser.find_element(By.ID, "id_username").send_keys("admin")
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url == project.url + then)


def upload(browser, field_id: str, path: Path) -> str:
    """Pick ``path`` in the widget of ``field_id``; wait for the upload; the status text."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    picker = browser.find_element(By.ID, field_id)
    widget = picker.find_element(By.XPATH, "ancestor::*[@data-storages-direct][1]")
    picker.send_keys(str(path))
    WebDriverWait(browser, 60).until(
        lambda d: {"is-done", "is-error"} & set(widget.get_attribute("class").split())
    )
    return widget.find_element(By.CSS_SELECTOR, ".storages-direct-status").text


def new_report_through_the_form(browser, project: Project, files: dict[str, Path], title: str):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, project, "/reports/new/")
    assert upload(browser, "id_file", files["report.pdf"]) == "Uploaded: report.pdf (2.0 MB)"
    assert upload(browser, "id_cover", files["cover.png"]).startswith("Uploaded: cover.png (")
    browser.find_element(By.ID, "id_title").send_keys(title)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 30).until(lambda d: d.current_url == project.url + "/reports/")
    assert title in browser.find_element(By.TAG_NAME, "body").text
    return project.reports()[-1]


def test_docs_form_and_view_on_the_default_storage_s3(browser, s3_project, moto_server, files):
    title = f"Q4 {uuid.uuid4().hex[:6]}"
    saved_title, name, cover = new_report_through_the_form(browser, s3_project, files, title)
    assert saved_title == title
    assert re.fullmatch(r"reports/\d{4}/report_[A-Za-z0-9]{12}\.pdf", name), name
    assert re.fullmatch(r"covers/cover_[A-Za-z0-9]{12}\.png", cover), cover
    client = moto_server.client()
    body = client.get_object(Bucket="acme-media", Key=name)["Body"].read()
    assert body == files["report.pdf"].read_bytes()
    assert client.get_object(Bucket="acme-media", Key=cover)["Body"].read() == (
        files["cover.png"].read_bytes()
    )


def test_docs_admin_on_the_default_storage_s3(browser, s3_project, moto_server, files):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    log_in(browser, s3_project, "/admin/reports/report/add/")
    assert upload(browser, "id_file", files["figures.csv"]).startswith("Uploaded: figures.csv (")
    browser.find_element(By.ID, "id_title").send_keys("from the admin")
    browser.find_element(By.NAME, "_save").click()
    WebDriverWait(browser, 30).until(
        lambda d: d.current_url == s3_project.url + "/admin/reports/report/"
    )
    assert "was added successfully" in browser.find_element(By.TAG_NAME, "body").text
    title, name, cover = s3_project.reports()[-1]
    assert title == "from the admin" and cover == ""
    assert re.fullmatch(r"reports/\d{4}/figures_[A-Za-z0-9]{12}\.csv", name), name
    body = moto_server.client().get_object(Bucket="acme-media", Key=name)["Body"].read()
    assert body == files["figures.csv"].read_bytes()


def test_docs_form_and_view_on_the_default_storage_azure(browser, azure_project, azurite, files):
    title = f"Azure {uuid.uuid4().hex[:6]}"
    saved_title, name, cover = new_report_through_the_form(browser, azure_project, files, title)
    assert saved_title == title
    container = azurite.service_client().get_container_client("acme-media")
    assert container.download_blob(name).readall() == files["report.pdf"].read_bytes()
    assert container.download_blob(cover).readall() == files["cover.png"].read_bytes()


def test_docs_include_the_project_files():
    """Every code block of the setup section comes from the project the tests run."""
    text = DOC.read_text()
    included = set(re.findall(r"^\.\. literalinclude:: (examples/direct/\S+)", text, re.M))
    assert included >= {
        "examples/direct/project/settings.py",
        "examples/direct/project/urls.py",
        "examples/direct/reports/models.py",
        "examples/direct/reports/forms.py",
        "examples/direct/reports/views.py",
        "examples/direct/reports/admin.py",
        "examples/direct/reports/templates/reports/new.html",
    }
    for path in included:
        assert (ROOT / "docs" / path).is_file(), path
    setup = text.split("Setting it up\n-------------", 1)[1].split("\nField options\n", 1)[0]
    assert ".. code-block:: python" not in setup  # no hand-copied variant left to drift

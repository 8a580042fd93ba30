"""More examples of docs/ run as written (views, Python snippets, other backends' settings).

Each test takes its snippet from the .rst with :func:`tests.test_docs_examples.example` and runs
it in a configured process against a local server; what the snippet did is checked at the
server. The names are listed in ``RUN_BY_NAME`` of tests/test_docs_examples.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_docs_examples import (
    LOCAL_S3,
    MAKE_BUCKETS,
    Local,
    docs_s3,  # noqa: F401 - a module-scoped moto of this module's own
    example,
    run_python,
    write_settings,
)

# The views module of docs/async.rst, routed by a URLconf of the test's.
ASYNC_URLS = """\
from django.urls import path

from docs_async_views import head_of, report_status, upload

urlpatterns = [
    path("upload/", upload),
    path("status/", report_status),
    path("head/<path:name>", head_of),
]
"""

ASYNC_CLIENT = """
import asyncio
import json

import boto3
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import AsyncClient

client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")


async def walk():
    browser = AsyncClient()
    posted = await browser.post(
        "/upload/", {"file": SimpleUploadedFile("q4.pdf", b"%PDF-1.4 docs", "application/pdf")}
    )
    assert posted.status_code == 200, posted.content
    answer = json.loads(posted.content)
    stored = client.get_object(Bucket="media", Key=answer["name"])
    assert stored["Body"].read() == b"%PDF-1.4 docs"
    assert answer["url"].startswith(settings.AWS_S3_ENDPOINT_URL + "/media/uploads/q4"), answer

    client.put_object(Bucket="media", Key="reports/2026-01-02.pdf", Body=b"report")
    status = await browser.get("/status/", {"day": ["2026-01-02", "2026-01-03"]})
    assert status.status_code == 200, status.content
    assert json.loads(status.content) == {
        "reports/2026-01-02.pdf": True,
        "reports/2026-01-03.pdf": False,
    }

    head = await browser.get("/head/" + answer["name"])
    assert head.status_code == 200, head.content
    assert json.loads(head.content) == {"first bytes": b"%PDF-1.4 docs".hex()}
    print("views ok:", answer["name"], default_storage.async_limit())


asyncio.run(walk())
"""


def test_the_async_views_run(docs_s3, tmp_path: Path):  # noqa: F811
    """docs/async.rst: the async views (upload, status, head) through Django's AsyncClient,
    with the page's settings (bucket ``media``, ``async_concurrency`` 64) on moto."""
    (tmp_path / "docs_async_views.py").write_text(example("python", "async-views").text)
    (tmp_path / "docs_async_urls.py").write_text(ASYNC_URLS)
    local = Local(
        settings=LOCAL_S3.format(endpoint=docs_s3.endpoint)
        + 'ROOT_URLCONF = "docs_async_urls"\nALLOWED_HOSTS = ["testserver"]\n',
        prepare=MAKE_BUCKETS,
    )
    env = write_settings(tmp_path, example("settings", "async-concurrency").text, None, local)
    made = run_python(env, local.prepare)
    assert made.returncode == 0, made.stderr
    done = run_python(env, ASYNC_CLIENT)
    assert done.returncode == 0, done.stderr
    assert "views ok: uploads/q4" in done.stdout
    assert done.stdout.rstrip().endswith(" 64"), done.stdout

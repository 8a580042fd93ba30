"""Docs that cannot drift: the examples of README.rst and docs/ run as written.

An example is a literal block in the reStructuredText marked by the comment just before it::

    .. example: KIND NAME

    .. code-block:: python

        STORAGES = {...}

(a paragraph ending in ``::`` works too). The comment does not show in the built docs.
:func:`examples` finds every marked block, and the tests below run them:

``settings NAME``
    a settings file (or a fragment of one): written after :data:`PRELUDE` into a settings module
    of a fresh process, which runs ``manage.py check``, a save/open/url round trip through
    ``default_storage`` and ``collectstatic`` twice (the second run uploads nothing), against a
    local S3 server (moto).
``output NAME``
    a sample output: its first line is the command (``$ python manage.py ...``), the rest is
    compared, whitespace-insensitively (the docs wrap long lines), with what that command
    prints now, run with the ``settings`` example of the same NAME.
``python NAME``
    code run in a configured process (the ``settings`` of the same NAME, else the prelude's).
``checked NAME``
    settings for a server the tests can't stand in for as written (a provider's real host):
    ``manage.py check`` runs with them and must find no error (no request is made). Values the
    example reads with ``os.environ["X"]`` are placeholders.

Another test module reuses this: ``from tests.test_docs_examples import example, run_django``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "README.rst", *sorted((ROOT / "docs").rglob("*.rst"))]
MARKER = re.compile(r"^\.\. example: ([a-z]+) ([\w.-]+)\s*$")


@dataclass(frozen=True)
class Example:
    kind: str
    name: str
    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line} ({self.kind} {self.name})"


def _block_after(lines: list[str], start: int, where: str) -> str:
    """The literal block that follows line ``start`` (a code-block directive or a ``::``)."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i == len(lines) or not (
        lines[i].startswith(".. code-block::") or lines[i].rstrip().endswith("::")
    ):
        raise AssertionError(f"{where}: the marker is not followed by a literal block")
    i += 1
    while i < len(lines) and (not lines[i].strip() or re.match(r"^\s+:\w[\w-]*:", lines[i])):
        i += 1  # blank lines and the directive's options
    indent = len(lines[i]) - len(lines[i].lstrip())
    body = []
    while i < len(lines) and (
        not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) >= indent
    ):
        body.append(lines[i])
        i += 1
    return textwrap.dedent("\n".join(body)).strip("\n") + "\n"


def examples() -> dict[str, Example]:
    """Every marked example of README.rst and docs/, by ``"KIND NAME"``."""
    found: dict[str, Example] = {}
    for path in SOURCES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines, 1):
            match = MARKER.match(line)
            if not match:
                continue
            kind, name = match.groups()
            where = f"{path.relative_to(ROOT)}:{number}"
            key = f"{kind} {name}"
            assert key not in found, f"{where}: {key!r} is also at {found[key]}"
            found[key] = Example(kind, name, path, number, _block_after(lines, number, where))
    return found


def example(kind: str, name: str) -> Example:
    return examples()[f"{kind} {name}"]


# The test's own settings, before the example's: a later assignment in the example wins, and so
# do its OPTIONS over these global settings. Credentials come from the environment.
PRELUDE = """\
import os

SECRET_KEY = "docs-examples"
USE_TZ = True
STATIC_URL = "/static/"
STATICFILES_DIRS = [{static!r}]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}}
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "storages",
    "django.contrib.staticfiles",
]
STORAGES = {{
    "default": {{
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {{"bucket_name": "prelude-media"}},
    }},
    "staticfiles": {{
        "BACKEND": "storages.backends.s3.S3StaticStorage",
        "OPTIONS": {{"bucket_name": "prelude-static"}},
    }},
}}
"""
LOCAL_S3 = """\
# The local S3 server (the example's OPTIONS win over global settings).
AWS_S3_ENDPOINT_URL = {endpoint!r}
AWS_S3_REGION_NAME = "us-east-1"
"""


def write_settings(tmp_path: Path, snippet: str, endpoint: str | None) -> dict[str, str]:
    """A settings module of the prelude and ``snippet`` as written; the environment to run it."""
    static = tmp_path / "static-src"
    if not static.exists():
        (static / "css").mkdir(parents=True)
        (static / "css" / "base.css").write_text("body { color: #333 }\n")
        (static / "css" / "site.css").write_text(
            '@import url("base.css");\nh1 { background: url("../img/logo.png") }\n'
        )
        (static / "img").mkdir()
        (static / "img" / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
        (static / "js").mkdir()
        (static / "js" / "app.js").write_text("console.log('docs');\n")
    text = PRELUDE.format(static=str(static))
    if endpoint:
        text += LOCAL_S3.format(endpoint=endpoint)
    text += "\n# --- the example, as written ---\n" + snippet
    (tmp_path / "docs_example_settings.py").write_text(text, encoding="utf-8")
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "DJANGO_", "PYTHON"))}
    env.update(
        DJANGO_SETTINGS_MODULE="docs_example_settings",
        PYTHONPATH=os.pathsep.join([str(tmp_path), str(ROOT)]),
        AWS_ACCESS_KEY_ID=ACCESS_KEY,
        AWS_SECRET_ACCESS_KEY=SECRET_KEY,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``python manage.py ARGS`` for the settings of ``env`` (output: stdout + stderr)."""
    return subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=env["PYTHONPATH"].split(os.pathsep)[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_python(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    """``code`` in a process whose Django is set up with the settings of ``env``."""
    return subprocess.run(
        [sys.executable, "-c", "import django\ndjango.setup()\n" + code],
        cwd=env["PYTHONPATH"].split(os.pathsep)[0],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


# Buckets the examples name exist already in a real project: made here, on the local server.
MAKE_BUCKETS = """
import boto3
from django.conf import settings
client = boto3.client("s3", endpoint_url=settings.AWS_S3_ENDPOINT_URL, region_name="us-east-1")
for config in settings.STORAGES.values():
    name = config.get("OPTIONS", {}).get("bucket_name") or getattr(
        settings, "AWS_STORAGE_BUCKET_NAME", None
    )
    if name:
        try:
            client.create_bucket(Bucket=name)
        except client.exceptions.BucketAlreadyOwnedByYou:
            pass
        # Another example may have used the same name: start from an empty bucket.
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            for obj in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=obj["Key"])
print("buckets ok")
"""

ROUND_TRIP = """
import urllib.request
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import get_commands

name = default_storage.save("docs-example/hello.txt", ContentFile(b"hello from the docs"))
with default_storage.open(name) as f:
    assert f.read() == b"hello from the docs"
with urllib.request.urlopen(default_storage.url(name), timeout=30) as answer:
    assert answer.read() == b"hello from the docs"
default_storage.delete(name)
assert not default_storage.exists(name)
print("round trip ok:", type(default_storage._wrapped).__name__, name)
print("collectstatic from:", get_commands()["collectstatic"])
"""


def normalised(text: str) -> str:
    return " ".join(text.split())


def sample(example: Example) -> tuple[list[str], str]:
    """A sample output's command (after ``manage.py``) and the output it shows."""
    first, _, shown = example.text.partition("\n")
    assert first.startswith("$ python manage.py "), f"{example}: no command on its first line"
    return first.split()[3:], shown


@pytest.fixture(scope="module")
def docs_s3():
    """A moto of its own: the examples' bucket names (media, static...) are everyone's."""
    from tests.servers.s3 import start_s3

    server = start_s3()
    yield server
    server.process.stop()


# Examples of kinds other than ``settings`` and ``checked``, and the tests that run them
# (another module that runs its own examples adds their names here).
RUN_BY_NAME = {
    "output check-sample": "test_the_check_sample_is_what_check_prints",
    "output collectstatic-run": "test_the_collectstatic_sample_is_what_it_prints",
    "python collectstatic-listing": "test_the_listing_example_runs",
}


def test_every_example_is_run():
    found = examples()
    by_kind = {k for k in found if not k.startswith(("settings ", "checked "))}
    assert by_kind <= set(RUN_BY_NAME), sorted(by_kind - set(RUN_BY_NAME))
    # The places people copy settings from are marked (so they run below).
    for name in ("readme", "installation", "s3", "upgrading-installed-apps", "check-sample"):
        assert f"settings {name}" in found


# A settings example with an output example of the same name is run by that output's test.
SETTINGS_EXAMPLES = sorted(
    k.split(" ", 1)[1]
    for k in examples()
    if k.startswith("settings ") and f"output {k.split(' ', 1)[1]}" not in examples()
)


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", SETTINGS_EXAMPLES)
def test_settings_example(name, docs_s3, tmp_path):
    """The settings as written: check passes, a file goes through default_storage, and
    collectstatic (the package's) uploads the static files, then nothing on a second run."""
    snippet = example("settings", name).text
    env = write_settings(tmp_path, snippet, docs_s3.endpoint)
    made = run_python(env, MAKE_BUCKETS)
    assert made.returncode == 0, made.stderr
    checked = run_django(env, "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ERRORS" not in checked.stdout + checked.stderr
    trip = run_python(env, ROUND_TRIP)
    assert trip.returncode == 0, trip.stderr
    assert "round trip ok" in trip.stdout
    if '"storages"' in snippet and "INSTALLED_APPS" in snippet:
        assert "collectstatic from: storages" in trip.stdout
    first = run_django(env, "collectstatic", "--noinput")
    assert first.returncode == 0, first.stdout + first.stderr
    assert re.search(r"\b[1-9]\d* static files? copied", first.stdout), first.stdout
    again = run_django(env, "collectstatic", "--noinput")
    assert again.returncode == 0, again.stdout + again.stderr
    assert re.search(r"\b0 static files copied, [1-9]\d* unmodified", again.stdout), again.stdout


def test_the_check_sample_is_what_check_prints(tmp_path):
    """docs/operations.rst: the sample output of ``manage.py check`` for the settings above it
    (no endpoint: the checks make no request)."""
    env = write_settings(tmp_path, example("settings", "check-sample").text, None)
    args, shown = sample(example("output", "check-sample"))
    done = run_django(env, *args)
    assert done.returncode == 1  # errors
    assert normalised(done.stdout + done.stderr) == normalised(shown)


def test_the_collectstatic_sample_is_what_it_prints(docs_s3, tmp_path):
    """docs/collectstatic.rst: 500 stored files, 3 of them changed. Sizes and durations vary with
    the files and the machine; the rest (the lines, the counts) must be what the sample shows."""
    env = write_settings(
        tmp_path,
        'STORAGES["staticfiles"]["OPTIONS"] = {"bucket_name": "run-sample"}\n',
        docs_s3.endpoint,
    )
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    static = tmp_path / "static-src"
    for path in list(static.rglob("*.*")):
        path.unlink()
    # The installed apps' own static files (the storages app has some) count among the 500.
    first = run_django(env, "collectstatic", "--noinput")
    assert first.returncode == 0, first.stderr
    theirs = int(re.search(r"(\d+) static files? copied", first.stdout).group(1))
    many = static / "many"
    many.mkdir()
    for i in range(500 - theirs):
        (many / f"f{i:03}.txt").write_text(f"file {i}\n" * 10)
    first = run_django(env, "collectstatic", "--noinput")
    assert first.returncode == 0, first.stderr
    for i in (7, 70, 170):
        (many / f"f{i:03}.txt").write_text(f"file {i}, changed\n")
    shown = example("output", "collectstatic-run").text
    done = run_django(env, "collectstatic", "--noinput")
    assert done.returncode == 0, done.stderr

    def shape(text: str) -> str:
        text = re.sub(r"\d+(\.\d+)? (B|KB|MB|GB)\b", "SIZE", text)
        return normalised(re.sub(r"\b(\d+\.\ds|\d+:\d\d)(?=\s|$)", "TIME", text))

    assert shape(done.stdout + done.stderr) == shape(shown)


def test_the_listing_example_runs(docs_s3, tmp_path):
    """docs/collectstatic.rst: ``listing()`` around a block, with the prelude's S3 storages."""
    env = write_settings(tmp_path, "", docs_s3.endpoint)
    assert run_python(env, MAKE_BUCKETS).returncode == 0
    code = example("python", "collectstatic-listing").text
    done = run_python(env, code + "\nprint('listing example ok')\n")
    assert done.returncode == 0, done.stderr
    assert "listing example ok" in done.stdout


CHECKED_EXAMPLES = sorted(k.split(" ", 1)[1] for k in examples() if k.startswith("checked "))


@pytest.mark.parametrize("name", CHECKED_EXAMPLES)
def test_checked_example(name, tmp_path):
    """A backend page's settings as written: the storages build and the system checks find no
    error (warnings such as missing credentials may apply to a copied example)."""
    snippet = example("checked", name).text
    env = write_settings(tmp_path, snippet, None)
    for variable in re.findall(r"os\.environ\[[\"']([A-Z0-9_]+)[\"']\]", snippet):
        env[variable] = f"placeholder-{variable.lower()}"
    done = run_django(env, "check", "--tag", "storages")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "ERRORS" not in output and "storages.E" not in output, output

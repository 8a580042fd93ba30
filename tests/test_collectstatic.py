"""The package's collectstatic and the run's listing snapshot, against moto's S3 server.

Requests are counted at the client's socket layer (every HTTP request boto3 sends goes through
http.client's putrequest), with their method and path, so the tests say which requests were made.
"""

from __future__ import annotations

import contextvars
import http.client
import io
import json
import os
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.contrib.staticfiles.management.commands.collectstatic import Command as StockCommand
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.test import override_settings

from storages import snapshot
from storages.backends.s3 import S3StaticStorage
from storages.testing.suite import use_storages
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

BUCKET = "collectstatic"


@pytest.fixture(scope="module")
def s3(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


@pytest.fixture
def options(s3) -> dict:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": s3.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": f"static/{uuid.uuid4().hex}",
    }


class requests(list):  # noqa: N801 - used as ``with requests() as seen``
    """(method, path) of every HTTP request http.client sends inside the ``with`` block."""

    def __enter__(self) -> requests:
        original = self._original = http.client.HTTPConnection.putrequest
        log = self

        def putrequest(conn, method, url, *args, **kwargs):
            log.append((method, url))  # list.append is atomic: worker threads may call it
            return original(conn, method, url, *args, **kwargs)

        http.client.HTTPConnection.putrequest = putrequest
        return self

    def __exit__(self, *exc: object) -> None:
        http.client.HTTPConnection.putrequest = self._original

    def of(self, method: str, needle: str = "") -> list[tuple[str, str]]:
        return [r for r in self if r[0] == method and needle in r[1]]


def make_tree(root: Path, count: int, css: int = 0) -> Path:
    """``count`` files in a few folders (the first ``css`` are stylesheets pointing at images)."""
    for i in range(count):
        folder = root / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        if i < css:
            (folder / f"s{i}.css").write_text(
                f"/* {i} */ body {{ background: url('../d1/f8.png'); }}\n"
            )
        else:
            (folder / f"f{i}.png").write_bytes(os.urandom(200 + i))
    return root


def set_mtimes(root: Path, delta: float) -> None:
    now = time.time()
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, (now + delta, now + delta))


def configure(settings, source: Path, backend: str, options: dict) -> None:
    settings.STATICFILES_DIRS = [str(source)]
    # Only the test's own tree: installed apps ship static files too (the direct-upload widget).
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    use_storages(
        settings,
        {
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            "staticfiles": {"BACKEND": backend, "OPTIONS": options},
        },
    )


def collect(**kwargs) -> str:
    """One run, as a new deploy process makes it (storages built anew: the manifest is read
    again)."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.files.storage import storages
    from django.utils.functional import empty

    storages._storages = {}
    staticfiles_storage._wrapped = empty
    out = io.StringIO()
    call_command("collectstatic", interactive=False, stdout=out, **{"verbosity": 1, **kwargs})
    return out.getvalue()


def stored(options: dict) -> dict[str, bytes]:
    storage = S3StaticStorage(**options)
    return {name: storage.open(name).read() for name, _ in storage.scan("")}


def collect_failing(fails, delay: float = 0.0, **kwargs) -> None:
    """A run in which the upload of every name ``fails(name)`` raises StorageError after ``delay``
    (a fault injected into the package's own upload step: moto can't fail one object)."""
    from storages.errors import StorageError

    original = S3StaticStorage._timed_upload

    def failing(self, spec, source_, *args, **kw):
        if fails(spec.name):
            time.sleep(delay)
            raise StorageError(f"simulated failure on {spec.name!r}")
        return original(self, spec, source_, *args, **kw)

    S3StaticStorage._timed_upload = failing
    try:
        with pytest.raises(StorageError, match="simulated failure"):
            collect(**kwargs)
    finally:
        S3StaticStorage._timed_upload = original


S3_STATIC = "storages.backends.s3.S3StaticStorage"
S3_MANIFEST = "storages.backends.s3.S3ManifestStaticStorage"


def test_second_run_is_one_listing_and_skips_by_content(settings, options, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 500)
    configure(settings, source, S3_STATIC, options)
    with requests() as first:
        out = collect()
    assert "500 static files copied" in out
    # One listing + one PUT per file.
    assert len(first.of("PUT")) == 500 and len(first) == 501, first[:3]
    files = stored(options)
    assert files["d3/f10.png"] == (source / "d3/f10.png").read_bytes() and len(files) == 500

    with requests() as second:
        out = collect()
    assert "0 static files copied, 500 unmodified" in out
    assert [m for m, _ in second] == ["GET"], second  # one ListObjectsV2 for 500 files

    # A fresh checkout: every local mtime is newer, no byte changed: nothing is uploaded.
    set_mtimes(source, 3600)
    with requests() as fresh:
        out = collect()
    assert "0 static files copied, 500 unmodified" in out and len(fresh) == 1

    # One changed byte (same size, an older mtime than the stored copy) is uploaded; the rest is
    # not.
    target = source / "d2/f9.png"
    data = bytearray(target.read_bytes())
    data[5] ^= 0xFF
    target.write_bytes(bytes(data))
    os.utime(target, (1_000_000, 1_000_000))
    with requests() as changed:
        out = collect()
    assert "1 static file copied, 499 unmodified" in out
    assert [r[0] for r in changed] == ["GET", "PUT"] and "d2/f9.png" in changed.of("PUT")[0][1]
    assert S3StaticStorage(**options).open("d2/f9.png").read() == bytes(data)


def test_clear_uses_batch_deletes(settings, options, s3, tmp_path) -> None:
    client = s3.client()
    prefix = options["location"]
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: client.put_object(
                    Bucket=BUCKET, Key=f"{prefix}/old/{i % 10}/{i}.txt", Body=b"x"
                ),
                range(2000),
            )
        )
    source = make_tree(tmp_path / "src", 3)
    configure(settings, source, S3_STATIC, options)
    with requests() as seen:
        out = collect(clear=True)
    assert "3 static files copied" in out and "Deleting 'old/3/1003.txt'" in out
    deletes = seen.of("POST", "delete")
    assert len(deletes) == 2 and not seen.of("DELETE"), seen  # DeleteObjects: 1000 keys a request
    assert len(seen.of("GET")) == 2 and len(seen.of("PUT")) == 3  # two listing pages, three uploads
    assert sorted(stored(options)) == sorted(
        p.relative_to(source).as_posix() for p in source.rglob("*.png")
    )


def test_manifest_storage_first_and_unchanged_runs(settings, options, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 50, css=5)
    configure(settings, source, S3_MANIFEST, options)
    with requests() as first:
        out = collect()
    assert "50 static files copied" in out and "50 post-processed" in out
    files = stored(options)
    manifest = json.loads(files["staticfiles.json"])
    assert len(files) == 101 and len(manifest["paths"]) == 50
    puts = first.of("PUT")
    # No request beyond one upload per stored file, the listing and the manifest's read at start.
    assert len(puts) == len(files) and len({p for _, p in puts}) == len(puts)
    assert len(first) == len(files) + 2 and len(first.of("GET")) == 2, [
        r for r in first if r[0] != "PUT"
    ]
    css = files[manifest["paths"]["d0/s0.css"]].decode()
    assert manifest["paths"]["d1/f8.png"].split("/")[-1] in css

    set_mtimes(source, 3600)
    with requests() as again:
        out = collect()
    assert "0 static files copied, 50 unmodified" in out
    assert (
        len(again) == 2 and not again.of("PUT") and not again.of("POST") and not again.of("DELETE")
    ), again
    assert stored(options) == files

    # A changed stylesheet: its original and new hashed copy are uploaded, and the manifest.
    (source / "d0/s0.css").write_text("/* new */ body { background: url('../d1/f8.png'); }\n")
    with requests() as changed:
        out = collect()
    assert "1 static file copied, 49 unmodified" in out
    new_manifest = json.loads(S3StaticStorage(**options).open("staticfiles.json").read())
    assert new_manifest["paths"]["d0/s0.css"] != manifest["paths"]["d0/s0.css"]
    assert len(changed.of("PUT")) == 3, changed


def test_dry_run_uploads_nothing_and_progress_output(settings, options, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 4)
    configure(settings, source, S3_STATIC, options)
    with requests() as seen:
        out = collect(dry_run=True)
    assert "4 static files copied" in out and "Pretending to copy" in out and not seen.of("PUT")
    assert stored(options) == {}
    # Not a terminal: one summary line per stage. -v 0: nothing at all.
    assert "Listed 0 stored files" in out and "Would upload 4 files" in out
    assert collect(verbosity=0) == ""
    assert len(stored(options)) == 4

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    (source / "d0/f0.png").write_bytes(b"changed")
    term = Terminal()
    call_command("collectstatic", interactive=False, verbosity=1, stdout=term)
    assert (
        "\r\x1b[2KUploaded 1 files" in term.getvalue()
        and "1 static file copied, 3 unmodified" in term.getvalue()
    )


def test_workers_upload_in_parallel(settings, options, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 24)
    configure(settings, source, S3_STATIC, options)
    active, peak, lock = [0], [0], threading.Lock()
    original = S3StaticStorage._timed_upload

    def slow(self, spec, source_):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        try:
            return original(self, spec, source_)
        finally:
            with lock:
                active[0] -= 1

    S3StaticStorage._timed_upload = slow
    try:
        collect(workers=6)
    finally:
        S3StaticStorage._timed_upload = original
    assert peak[0] == 6 and len(stored(options)) == 24
    with pytest.raises(Exception, match="--workers must be at least 1"):
        collect(workers=-1)


# -- the snapshot on its own: Django's stock command, scoping -------------------------------------
def test_stock_command_inside_a_listing_run(settings, options, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 40)
    configure(settings, source, S3_STATIC, options)
    call_command(StockCommand(), interactive=False, verbosity=0)
    from django.contrib.staticfiles.storage import staticfiles_storage

    # Outside a run, Django's command asks twice per file (exists, modified time).
    with requests() as plain:
        call_command(StockCommand(), interactive=False, verbosity=0)
    assert len(plain) == 80
    with requests() as seen, snapshot.listing(staticfiles_storage):
        out = io.StringIO()
        call_command(StockCommand(), interactive=False, verbosity=1, stdout=out)
    assert "0 static files copied, 40 unmodified" in out.getvalue() and len(seen) == 1


def test_snapshot_is_scoped_to_the_run_and_kept_true(options, s3) -> None:
    storage = S3StaticStorage(**options)
    storage.save("a.txt", ContentFile(b"one"))
    client = s3.client()
    with requests() as seen, snapshot.listing(storage) as snap:
        assert snap is not None and storage.exists("a.txt") and storage.size("a.txt") == 3
        assert not storage.exists("b.txt")
        client.put_object(Bucket=BUCKET, Key=f"{options['location']}/b.txt", Body=b"two")
        # Another thread (a web request) of the same process asks the server, during the run...
        other = ThreadPoolExecutor(1)
        assert other.submit(storage.exists, "b.txt").result() is True
        assert storage.exists("b.txt") is False  # ...the run answers from its listing
        storage.save("c.txt", ContentFile(b"three"))  # kept true by the storage's own writes
        assert storage.exists("c.txt") and storage.size("c.txt") == 5
        storage.delete("a.txt")
        assert not storage.exists("a.txt")
        with storage.open("d.txt", "wb") as fh:
            fh.write(b"four")
        assert storage.exists("d.txt")
        storage.delete_many(["c.txt"])
        assert not storage.exists("c.txt")
    heads = seen.of("HEAD")
    # The other thread's HEAD; c.txt's size.
    assert len(seen.of("GET")) == 1 and len(heads) == 2, seen
    # After the run: the server again.
    assert (
        storage.exists("b.txt") and not storage.exists("a.txt") and snapshot.active(storage) is None
    )
    assert snapshot.listing.__doc__ and not isinstance(storage, type)


def test_collected_files_are_read_from_their_local_source(options, tmp_path) -> None:
    from django.core.files.storage import FileSystemStorage

    local = FileSystemStorage(location=str(tmp_path))
    (tmp_path / "app.js").write_bytes(b"local bytes")
    storage = S3StaticStorage(**options)
    storage.save("app.js", ContentFile(b"local bytes"))
    with requests() as seen, snapshot.listing(storage) as snap:
        snap.add_sources({"app.js": (local, "app.js")})
        with storage.open("app.js") as fh:
            assert fh.read() == b"local bytes"
    assert seen == []
    assert storage.open("app.js").read() == b"local bytes"  # after the run: from the server again


def test_deferred_delete_of_same_bytes_sends_nothing(options) -> None:
    storage = S3StaticStorage(**options)
    storage.save("m.json", ContentFile(b'{"a": 1}'))
    with requests() as seen, snapshot.listing(storage, defer_deletes=True):
        assert storage.exists("m.json")
        storage.delete("m.json")
        assert not storage.exists("m.json")
        storage._save("m.json", ContentFile(b'{"a": 1}'))
        storage.delete("m.json")
        # Other bytes: the delete goes first, then the PUT.
        storage._save("m.json", ContentFile(b'{"a": 2}'))
        storage.save("gone.txt", ContentFile(b"x"))
        storage.delete("gone.txt")  # postponed: sent in a batch at the end of the run
    assert [m for m, _ in seen] == ["GET", "POST", "PUT", "PUT", "POST"], seen
    assert storage.open("m.json").read() == b'{"a": 2}' and not storage.exists("gone.txt")


def test_other_storages_are_left_alone(settings, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 3)
    settings.STATIC_ROOT = str(tmp_path / "root")
    configure(settings, source, "django.contrib.staticfiles.storage.StaticFilesStorage", {})
    assert "3 static files copied to" in collect()
    assert "0 static files copied to" in collect()
    from django.contrib.staticfiles.storage import staticfiles_storage

    with snapshot.listing(staticfiles_storage) as snap:
        assert snap is None


def test_app_order_is_checked(settings) -> None:
    from django.core import checks

    assert not [
        m for m in checks.run_checks(tags=[checks.Tags.staticfiles]) if m.id == "storages.W100"
    ]
    with override_settings(
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.staticfiles", "storages"]
    ):
        found = [
            m for m in checks.run_checks(tags=[checks.Tags.staticfiles]) if m.id == "storages.W100"
        ]
        from django.core.management import get_commands

        assert get_commands()["collectstatic"] == "django.contrib.staticfiles"
    assert len(found) == 1 and "before 'django.contrib.staticfiles'" in found[0].hint
    from django.core.management import get_commands

    get_commands.cache_clear()
    assert get_commands()["collectstatic"] == "storages"


def test_gzip_uploads_skip_by_the_hash_of_the_compressed_bytes(settings, options, tmp_path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    (source / "site.css").write_text("body { color: red; }\n" * 200)
    (source / "logo.png").write_bytes(os.urandom(300))
    configure(settings, source, S3_STATIC, {**options, "gzip": True})
    assert "2 static files copied" in collect()
    raw = S3StaticStorage(**options).client.get_object(
        Bucket=BUCKET, Key=f"{options['location']}/site.css"
    )
    assert raw["ContentEncoding"] == "gzip" and len(raw["Body"].read()) < 4200  # stored compressed
    set_mtimes(source, 3600)  # a fresh checkout: every mtime newer, no byte changed
    with requests() as seen:
        out = collect()
    assert "0 static files copied, 2 unmodified" in out and len(seen) == 1
    (source / "site.css").write_text("body { color: blue; }\n" * 200)  # same size, other bytes
    set_mtimes(source, -3600)  # and an older mtime: only the hash tells
    with requests() as seen:
        out = collect()
    assert "1 static file copied, 1 unmodified" in out and "site.css" in seen.of("PUT")[0][1]
    assert (
        S3StaticStorage(**{**options, "gzip": True}).open("site.css").read()
        == (source / "site.css").read_bytes()
    )


def test_gzip_manifest_storage_unchanged_run_uploads_nothing(settings, options, tmp_path) -> None:
    """Django deletes and saves every CSS file again on each run; gzipped, the same bytes still cost
    nothing."""
    source = make_tree(tmp_path / "src", 12, css=4)
    configure(settings, source, S3_MANIFEST, {**options, "gzip": True})
    assert "12 post-processed" in collect()
    set_mtimes(source, 3600)
    with requests() as seen:
        out = collect()
    assert "0 static files copied, 12 unmodified" in out
    assert (
        len(seen) == 2 and not seen.of("PUT") and not seen.of("DELETE") and not seen.of("POST")
    ), seen


def test_no_overwrite_storage_keeps_the_name(settings, options, tmp_path) -> None:
    source = make_tree(tmp_path / "src", 3)
    configure(settings, source, S3_STATIC, {**options, "file_overwrite": False})
    collect()
    (source / "d1/f1.png").write_bytes(b"new bytes")
    with requests() as seen:
        out = collect()
    assert "1 static file copied, 2 unmodified" in out
    # The listing, the old copy's delete, the upload.
    assert [m for m, _ in seen] == ["GET", "POST", "PUT"], seen
    assert sorted(stored(options)) == ["d0/f0.png", "d1/f1.png", "d2/f2.png"]
    assert stored(options)["d1/f1.png"] == b"new bytes"


def test_a_failed_upload_stops_the_run(settings, options, tmp_path) -> None:

    source = make_tree(tmp_path / "src", 20)
    configure(settings, source, S3_STATIC, options)
    collect_failing(lambda name: name == "d3/f10.png", workers=4)
    done = stored(options)
    assert "d3/f10.png" not in done and len(done) < 20
    out = collect()  # the next run uploads what is missing and skips what is there
    assert f"\n{20 - len(done)} static file" in out and (
        not done or f"{len(done)} unmodified" in out
    )
    assert stored(options) == {
        p.relative_to(source).as_posix(): p.read_bytes() for p in source.rglob("*.png")
    }


def test_post_processing_uploads_in_parallel_and_the_manifest_comes_last(
    settings, options, tmp_path
) -> None:
    """Hashed copies go up on --workers threads; the manifest is written after all of them."""
    source = make_tree(tmp_path / "src", 40, css=8)
    configure(settings, source, S3_MANIFEST, options)
    events, active, peak, lock = [], [0], [0], threading.Lock()
    original = S3StaticStorage._timed_upload
    hashed = re.compile(r"\.[0-9a-f]{12}\.")

    def slow(self, spec, source_, *args, **kwargs):
        with lock:
            events.append(("start", spec.name))
            if hashed.search(spec.name):
                active[0] += 1
                peak[0] = max(peak[0], active[0])
        time.sleep(0.03)
        try:
            return original(self, spec, source_, *args, **kwargs)
        finally:
            with lock:
                events.append(("end", spec.name))
                if hashed.search(spec.name):
                    active[0] -= 1

    S3StaticStorage._timed_upload = slow
    try:
        out = collect(workers=4)
    finally:
        S3StaticStorage._timed_upload = original
    assert "40 static files copied" in out and "40 post-processed" in out
    assert peak[0] == 4  # four hashed copies in flight at once
    manifest_start = events.index(("start", "staticfiles.json"))
    assert all(
        events.index(("end", name)) < manifest_start
        for kind, name in events
        if kind == "start" and hashed.search(name)
    )
    files = stored(options)
    manifest = json.loads(files["staticfiles.json"])["paths"]
    assert len(files) == 81 and all(manifest[name] in files for name in manifest)
    for name, hashed_name in manifest.items():  # every hashed copy holds its own bytes
        if name.endswith(".png"):
            assert files[hashed_name] == (source / name).read_bytes()
        else:
            assert manifest["d1/f8.png"].split("/")[-1] in files[hashed_name].decode()


def test_a_failed_post_processing_upload_writes_no_manifest(settings, options, tmp_path) -> None:

    source = make_tree(tmp_path / "src", 20, css=3)
    configure(settings, source, S3_MANIFEST, options)
    # Fails after the rest is queued: only the wait before the manifest stops it.
    collect_failing(
        lambda name: name.startswith("d3/f10.") and name != "d3/f10.png", delay=0.5, workers=4
    )
    assert "staticfiles.json" not in stored(options)  # no manifest naming a file that isn't there
    out = collect()  # the next run stores what is missing, then the manifest
    assert "0 static files copied, 20 unmodified" in out
    files = stored(options)
    manifest = json.loads(files["staticfiles.json"])["paths"]
    assert len(manifest) == 20 and all(manifest[name] in files for name in manifest)
    assert files[manifest["d3/f10.png"]] == (source / "d3/f10.png").read_bytes()


def make_css_chain(root: Path) -> Path:
    """Stylesheets that ``@import`` stylesheets (a.css -> b.css -> c.css, as Django admin's
    forms.css imports widgets.css) and a chain of ``url()`` references down to images: Django's
    first pass hashes a.css and b.css against copies not yet processed, so it saves intermediate
    hashed copies and replaces them in later passes."""
    css, img = root / "css", root / "img"
    css.mkdir(parents=True)
    img.mkdir()
    (css / "a.css").write_text('@import url("b.css");\n.a { background: url("../img/a.png"); }\n')
    (css / "b.css").write_text('@import "c.css";\n.b { background: url("../img/b.svg"); }\n')
    (css / "c.css").write_text(".c { background: url('../img/c.png'); }\n")
    (root / "z.css").write_text('@import url("css/a.css");\n')  # a shallower file importing down
    for name in ("a.png", "c.png"):
        (img / name).write_bytes(os.urandom(300))
    (img / "b.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"></svg>\n')
    return root


def test_manifest_unchanged_runs_with_css_imports_write_nothing(settings, options, tmp_path):
    """Issue 19: with CSS that @imports CSS, each unchanged run uploaded the intermediate hashed
    copies again and deleted them with a DeleteObjects (4 requests instead of 2)."""
    source = make_css_chain(tmp_path / "src")
    configure(settings, source, S3_MANIFEST, options)
    with requests() as first:
        out = collect()
    assert "7 static files copied" in out and "7 post-processed" in out
    files = stored(options)
    paths = json.loads(files["staticfiles.json"])["paths"]
    # Only the originals, their final hashed copies and the manifest: no intermediate copy.
    assert sorted(files) == sorted([*paths, *paths.values(), "staticfiles.json"])
    assert len(first.of("PUT")) == len(files) and not first.of("POST") and not first.of("DELETE")
    # Each stylesheet names the final hashed copy of what it imports.
    assert paths["css/b.css"].split("/")[-1] in files[paths["css/a.css"]].decode()
    assert paths["css/c.css"].split("/")[-1] in files[paths["css/b.css"]].decode()
    assert paths["css/a.css"] in files[paths["z.css"]].decode()
    for run in range(3):  # unchanged runs: the listing and the manifest's read, nothing written
        set_mtimes(source, 3600 * (run + 1))
        with requests() as again:
            out = collect()
        assert "0 static files copied, 7 unmodified" in out
        assert [m for m, _ in again] == ["GET", "GET"], (run, again)
        assert stored(options) == files


def test_manifest_unchanged_runs_of_the_admin_static_files(settings, options, tmp_path):
    """The case the issue met: Django admin's forms.css @imports widgets.css."""
    configure(settings, tmp_path, S3_MANIFEST, options)
    settings.STATICFILES_DIRS = []
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.AppDirectoriesFinder"]
    with override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, "django.contrib.admin"]):
        collect()
        files = stored(options)
        paths = json.loads(files["staticfiles.json"])["paths"]
        assert "admin/css/forms.css" in paths
        assert sorted(files) == sorted([*paths, *paths.values(), "staticfiles.json"])
        for _ in range(3):
            with requests() as again:
                out = collect()
            assert "\n0 static files copied" in out and "unmodified" in out
            assert [m for m, _ in again] == ["GET", "GET"], again
        assert stored(options) == files


def test_the_run_leaves_the_storage_as_it_was(options) -> None:
    """The listing run is a mixin put in front of the storage for the run: inside it the storage
    keeps its name, pickles and deconstructs as its own class; after it, it is that class again
    (also when two runs on one instance overlap, in two threads)."""
    import pickle

    storage = S3StaticStorage(**options)
    storage.save("a.txt", ContentFile(b"one"))
    inside, outer_done = threading.Event(), threading.Event()

    def other_run() -> None:
        with snapshot.listing(storage):
            inside.set()
            outer_done.wait(10)
            assert storage.exists("a.txt")

    with ThreadPoolExecutor(1) as pool:
        with snapshot.listing(storage) as snap:
            assert snap is not None and isinstance(storage, snapshot.ListingMixin)
            assert type(storage).__name__ == "S3StaticStorage"
            assert storage.deconstruct()[0] == "storages.backends.s3.S3StaticStorage"
            copy = pickle.loads(pickle.dumps(storage))
            assert type(copy) is S3StaticStorage and copy.open("a.txt").read() == b"one"
            future = pool.submit(contextvars.Context().run, other_run)  # a run of its own
            assert inside.wait(10)
        assert isinstance(storage, snapshot.ListingMixin)  # the other run is still going
        outer_done.set()
        future.result()
    assert type(storage) is S3StaticStorage and snapshot.active(storage) is None

"""collectstatic on S3 (moto on 127.0.0.1): this package's command vs Django's stock command on
django-storages 1.14 (installed in its own virtualenv, see bench/reference.py), side by side.

Run: ``.venv/bin/python bench/bench_collectstatic.py [--files 500] [--latency 0.02] [--bandwidth
20e6]`` (starts its own moto; the WAN rows go through tests/servers/proxy.TCPProxy). Prints requests
and seconds; asserts nothing."""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import http_requests  # noqa: E402
from bench.reference import run_reference  # noqa: E402
from tests.servers.proxy import TCPProxy  # noqa: E402
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3  # noqa: E402

BUCKET = "bench-static"
STATIC = "storages.backends.s3.S3StaticStorage"
MANIFEST = "storages.backends.s3.S3ManifestStaticStorage"


def make_tree(root: Path, count: int, css: int = 0) -> Path:
    """``count`` files of 1-8 KB in 10 folders; the first ``css`` are stylesheets referencing an
    image."""
    for i in range(count):
        folder = root / f"d{i % 10}"
        folder.mkdir(parents=True, exist_ok=True)
        if i < css:
            (folder / f"s{i}.css").write_text(
                f"/*{i}*/ a {{ background: url('../d9/f{count - 1}.png') }}\n" * 20
            )
        else:
            (folder / f"f{i}.png").write_bytes(os.urandom(1024 + (i * 131) % 7168))
    return root


def touch(root: str) -> None:
    """A fresh checkout: every mtime newer, no byte changed."""
    later = time.time() + 3600
    for path in Path(root).rglob("*"):
        if path.is_file():
            os.utime(path, (later, later))


def options(endpoint: str, location: str) -> dict[str, Any]:
    return {
        "bucket_name": BUCKET,
        "endpoint_url": endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "location": location,
    }


def fresh_process() -> None:
    """Forget the storages built so far, as a new deploy process would (the manifest is read
    again)."""
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.files.storage import storages
    from django.utils.functional import empty

    storages._storages = {}
    staticfiles_storage._wrapped = empty


def ours(
    source: str,
    backend: str,
    opts: dict[str, Any],
    steps: list[tuple[str, dict[str, Any]]],
    command: Any = "collectstatic",
) -> dict[str, dict[str, float]]:
    """Run this package's collectstatic once per step (``"touch"`` touches the source)."""
    from django.core.management import call_command
    from django.test import override_settings

    stores = {
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": {"BACKEND": backend, "OPTIONS": opts},
    }
    results = {}
    with override_settings(STATICFILES_DIRS=[source], STORAGES=stores):
        for label, kwargs in steps:
            if label == "touch":
                touch(source)
                continue
            fresh_process()
            with http_requests() as counts:
                start = time.perf_counter()
                call_command(
                    command() if callable(command) else command,
                    interactive=False,
                    verbosity=0,
                    stdout=io.StringIO(),
                    **kwargs,
                )
                seconds = time.perf_counter() - start
            results[label] = {"requests": counts["requests"], "seconds": seconds}
    return results


REFERENCE = """
import http.client, json, os, time
from pathlib import Path
import django
from django.conf import settings
settings.configure(INSTALLED_APPS={apps!r}, STATIC_URL="/static/",
                   STATICFILES_DIRS=[{source!r}], USE_TZ=True,
                   STORAGES={{"default": {{"BACKEND": "django.core.files.storage.InMemoryStorage"}},
                             "staticfiles": {{"BACKEND": {backend!r}, "OPTIONS": {opts!r}}}}})
django.setup()
from django.core.management import call_command
count = [0]
original = http.client.HTTPConnection.putrequest
def counting(self, *a, **k):
    count[0] += 1
    return original(self, *a, **k)
http.client.HTTPConnection.putrequest = counting
results = {{}}
for label, kwargs in {steps!r}:
    if label == "touch":
        later = time.time() + 3600
        for p in Path({source!r}).rglob("*"):
            if p.is_file():
                os.utime(p, (later, later))
        continue
    count[0] = 0
    start = time.perf_counter()
    call_command("collectstatic", interactive=False, verbosity=0, **kwargs)
    results[label] = {{"requests": count[0], "seconds": time.perf_counter() - start}}
print(json.dumps(results))
"""


def reference(
    source: str, backend: str, opts: dict[str, Any], steps: list[tuple[str, dict[str, Any]]]
) -> dict:
    return run_reference(
        REFERENCE.format(
            source=source,
            backend=backend,
            opts=opts,
            steps=steps,
            apps=["django.contrib.staticfiles", "storages"],
        )
    )


def new_process(
    impl: str, source: str, backend: str, opts: dict[str, Any], label: str
) -> dict[str, float]:
    """One run as a deploy makes it: a new Python process (imports, Django set-up, client), timed
    from outside, wall clock. ``impl``: "reference" (1.14's venv) or "ours" (this venv)."""
    ours_first = impl == "ours"
    apps = (
        ["storages", "django.contrib.staticfiles"]
        if ours_first
        else ["django.contrib.staticfiles", "storages"]
    )
    code = REFERENCE.format(
        source=source, backend=backend, opts=opts, steps=[(label, {})], apps=apps
    )
    start = time.perf_counter()
    if ours_first:
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
    else:
        result = run_reference(code)
    return {"requests": result[label]["requests"], "seconds": time.perf_counter() - start}


def fill(server: Any, location: str, count: int) -> None:
    client = server.client()
    with ThreadPoolExecutor(16) as pool:
        list(
            pool.map(
                lambda i: client.put_object(
                    Bucket=BUCKET, Key=f"{location}/old/{i % 20}/{i}.txt", Body=b"x"
                ),
                range(count),
            )
        )


def row(table: list, scenario: str, impl: str, result: dict[str, float]) -> None:
    table.append((scenario, impl, result["requests"], result["seconds"]))


def other_backend(name: str, table: list, work: Path, count: int, runs: list) -> None:
    """This package's runs on fake-gcs-server or Azurite (the listing is the backend's
    ``_scan``)."""
    source = str(make_tree(work / name, count))
    if name == "gcs":
        from google.oauth2 import service_account

        from tests.servers.gcs import service_account_info, start_gcs, start_token_server

        server, tokens = start_gcs(), start_token_server()
        stop = [server.stop, tokens.stop]
        server.create_bucket("bench")
        creds = service_account.Credentials.from_service_account_info(
            service_account_info(tokens.grant_uri)
        )
        backend = "storages.backends.gcloud.GoogleCloudStorage"
        opts: dict[str, Any] = {
            "bucket_name": "bench",
            "credentials": creds,
            "location": f"s/{uuid.uuid4().hex}",
            "client_options": {"api_endpoint": server.endpoint},
        }
    else:
        from tests.servers.azure import start_azurite

        server = start_azurite()
        stop = [server.process.stop]
        server.create_container("bench")
        backend = "storages.backends.azure_storage.AzureStorage"
        opts = {
            "connection_string": server.connection_string(),
            "azure_container": "bench",
            "location": f"s/{uuid.uuid4().hex}",
        }
    try:
        for label, result in ours(source, backend, opts, runs).items():
            row(table, f"{name}, {count} files: {label}", "this package", result)
    finally:
        for fn in stop:
            fn()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=500)
    parser.add_argument("--manifest-files", type=int, default=50)
    parser.add_argument("--clear-objects", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=0.020, help="one way, seconds (WAN rows)")
    parser.add_argument(
        "--bandwidth", type=float, default=20e6, help="bytes/s per connection (WAN rows)"
    )
    parser.add_argument("--no-reference", action="store_true", help="skip django-storages 1.14")
    parser.add_argument(
        "--other-backends",
        default="gcs,azure",
        help="also run this package's command on these local servers (gcs, azure; '' for none)",
    )
    args = parser.parse_args()

    from django.contrib.staticfiles.management.commands.collectstatic import Command as StockCommand

    server = start_s3()
    proxy = None
    table: list[tuple[str, str, int, float]] = []
    n = args.files
    try:
        server.create_bucket(BUCKET)
        local = server.endpoint
        proxy = TCPProxy(
            "127.0.0.1", server.process.port, latency=args.latency, bandwidth=args.bandwidth
        ).start()
        wan = f"http://127.0.0.1:{proxy.port}"
        work = Path(tempfile.mkdtemp(prefix="bench-collectstatic-"))
        runs = [
            ("first run", {}),
            ("second run, nothing changed", {}),
            ("touch", {}),
            ("fresh checkout (mtimes newer)", {}),
        ]

        def both(
            title: str,
            endpoint: str,
            backend: str,
            count: int,
            steps: list,
            css: int = 0,
            workers: int | None = None,
            before: Any = None,
        ) -> None:
            for impl in ("django-storages 1.14 + Django's command", "this package"):
                if impl.startswith("django-storages") and args.no_reference:
                    continue
                source = str(make_tree(work / uuid.uuid4().hex, count, css))
                location = f"{title.split()[0]}/{uuid.uuid4().hex}"
                if before:
                    before(location)
                opts = options(endpoint, location)
                if impl == "this package":
                    my_steps = [
                        (label, {**kw, **({"workers": workers} if workers else {})})
                        for label, kw in steps
                    ]
                    results = ours(source, backend, opts, my_steps)
                else:
                    results = reference(source, backend, opts, steps)
                for label, result in results.items():
                    row(table, f"{title}: {label}", impl, result)

        both(f"loopback, {n} files", local, STATIC, n, runs)
        # The whole deploy step: a new process per run, timed from outside.
        if not args.no_reference:
            for impl, title in (
                ("reference", "django-storages 1.14 + Django's command"),
                ("ours", "this package"),
            ):
                source = str(make_tree(work / uuid.uuid4().hex, n))
                opts = options(local, f"process/{uuid.uuid4().hex}")
                new_process(impl, source, STATIC, opts, "first run")
                row(
                    table,
                    f"loopback, {n} files: second run, new process (wall)",
                    title,
                    new_process(impl, source, STATIC, opts, "second run"),
                )
        # (a) Django's own command class, inside the package's listing run.
        source = str(make_tree(work / "stock", n))
        opts = options(local, f"stock/{uuid.uuid4().hex}")
        ours(source, STATIC, opts, [("first", {})], command=StockCommand)

        from storages import snapshot

        def stock_in_listing() -> Any:
            cmd = StockCommand()
            handle = cmd.handle

            def scoped(**kw: Any) -> Any:
                with snapshot.listing(cmd.storage):
                    return handle(**kw)

            cmd.handle = scoped
            return cmd

        for label, command in (
            ("Django's command alone", StockCommand),
            ("Django's command in a listing run", stock_in_listing),
        ):
            res = ours(source, STATIC, opts, [("second run", {})], command=command)
            row(
                table,
                f"loopback, {n} files: second run",
                f"this package, {label}",
                res["second run"],
            )

        both(f"WAN, {n} files", wan, STATIC, n, runs[:2])
        source = str(make_tree(work / "serial", n))
        res = ours(
            source,
            STATIC,
            options(wan, f"serial/{uuid.uuid4().hex}"),
            [("first run", {"workers": 1})],
        )
        row(table, f"WAN, {n} files: first run", "this package, --workers 1", res["first run"])

        m = args.manifest_files
        both(f"manifest, {m} files", local, MANIFEST, m, runs[:2], css=5)
        both(f"manifest WAN, {m} files", wan, MANIFEST, m, runs[:2], css=5)
        both(
            f"--clear of {args.clear_objects} objects (+3 files)",
            local,
            STATIC,
            3,
            [("run", {"clear": True})],
            before=lambda location: fill(server, location, args.clear_objects),
        )
    finally:
        if proxy is not None:
            proxy.stop()
        server.process.stop()

    for backend in filter(None, args.other_backends.split(",")):
        other_backend(
            backend, table, Path(tempfile.mkdtemp(prefix="bench-collectstatic-")), n, runs
        )

    print(
        f"\ncollectstatic on S3 (moto, 127.0.0.1; WAN = {args.latency * 2000:.0f} ms round trip, "
        f"{args.bandwidth / 1e6:.0f} MB/s per connection)\n"
    )
    print(f"| {'scenario':<52} | {'implementation':<50} | {'requests':>8} | {'seconds':>8} |")
    print(f"|{'-' * 54}|{'-' * 52}|{'-' * 10}|{'-' * 10}|")
    for scenario, impl, requests, seconds in table:
        print(f"| {scenario:<52} | {impl:<50} | {requests:>8} | {seconds:>8.2f} |")
    print(
        json.dumps(
            [
                {"scenario": s, "impl": i, "requests": r, "seconds": round(t, 3)}
                for s, i, r, t in table
            ]
        ),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()

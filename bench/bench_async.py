"""The async API (storages/aio.py) through the WAN proxy: 500 small operations from one event loop.

Run: ``.venv/bin/python bench/bench_async.py [s3] [gcs] [azure] [big]`` (default: all). Each
server runs locally behind :class:`tests.servers.proxy.TCPProxy` in a process of its own
(20 ms one way: a 40 ms round trip; 20 MB/s per connection). One event loop awaits, one
group after the other, 200 ``aexists()`` of missing names, 200 ``aopen()`` + ``read()`` of
2 KB objects and 100 ``asave()`` of 2 KB, with default settings, through:

* this package's async API (three fresh processes, median),
* this package's sync API through ``sync_to_async`` (Django's default, thread_sensitive=True),
* django-storages 1.14 through ``sync_to_async`` (its own virtualenv, :mod:`bench.reference`).

Reported: seconds per group and in all, round trips (seconds / RTT), the CPU seconds the local
server itself spent meanwhile (moto answers one request at a time: its CPU time is time no
network would add, so "RTTs net" leaves it out), the peak thread count of the measured process
and its peak RSS growth. ``big`` compares a 200 MB ``asave()`` and async read with the sync
path (S3). Each measurement runs in a fresh process (:func:`bench.wan.run_measured`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.wan import LATENCY, RTT, STATUS, run_measured  # noqa: E402

MB = 1024 * 1024
SMALL = 2048
#: One-way latency of the slow proxy: round trips dwarf every CPU cost, so they can be counted.
SLOW = 0.2
TICKS = os.sysconf("SC_CLK_TCK")

# -- the measured snippets -------------------------------------------------------------------
_PROBE = r"""
import json, os, threading, time

class Probe:
    # Peak thread count (sampled every ms by one extra thread, not counted) and peak RSS growth.
    def __enter__(self):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        self.rss, self.peak = _status("VmRSS"), threading.active_count()
        self.stop = threading.Event()
        self.sampler = threading.Thread(target=self._sample, daemon=True)
        self.sampler.start()
        return self

    def _sample(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, threading.active_count() - 1)
            time.sleep(0.001)

    def __exit__(self, *exc):
        self.stop.set()
        self.sampler.join()
        self.growth = (_status("VmHWM") - self.rss) / 2**20

B = json.loads(os.environ["BENCH"])
"""

_BUILD_OURS = r"""
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
kind, o = B["backend"], B["options"]
if kind == "s3":
    from storages.backends.s3 import S3Storage
    storage = S3Storage(**o)
elif kind == "gcs":
    from google.auth.credentials import AnonymousCredentials
    from storages.backends.gcloud import GoogleCloudStorage
    storage = GoogleCloudStorage(bucket_name=o["bucket"], credentials=AnonymousCredentials(),
                                 project_id="bench", client_options={"api_endpoint": o["endpoint"]})
else:
    from storages.backends.azure_storage import AzureStorage
    storage = AzureStorage(connection_string=o["connection_string"], azure_container=o["container"])
"""

_BUILD_REFERENCE = r"""
from django.conf import settings
settings.configure(USE_TZ=True)
import django
django.setup()
kind, o = B["backend"], B["options"]
if kind == "s3":
    from storages.backends.s3 import S3Storage
    storage = S3Storage(bucket_name=o["bucket_name"], endpoint_url=o["endpoint_url"],
                        region_name=o["region_name"], access_key=o["access_key"],
                        secret_key=o["secret_key"])
elif kind == "gcs":
    os.environ["STORAGE_EMULATOR_HOST"] = o["endpoint"]
    from storages.backends.gcloud import GoogleCloudStorage
    storage = GoogleCloudStorage(bucket_name=o["bucket"], project_id="bench")
else:
    from storages.backends.azure_storage import AzureStorage
    storage = AzureStorage(connection_string=o["connection_string"], azure_container=o["container"])
"""

_OPS = r"""
import asyncio, uuid
from django.core.files.base import ContentFile
from asgiref.sync import sync_to_async

if B["mode"] == "async":
    exists, save = storage.aexists, storage.asave
    async def read(name):
        async with storage.aopen(name) as f:
            return await f.read()
else:  # the sync API through sync_to_async, as Django's docs show it
    def read_sync(name):
        with storage.open(name) as f:
            return f.read()
    exists, save, read = (sync_to_async(storage.exists), sync_to_async(storage.save),
                          sync_to_async(read_sync))

async def main():
    run, marks = uuid.uuid4().hex, [time.perf_counter()]
    found = await asyncio.gather(*(exists(f"missing/{i}.txt") for i in range(200)))
    marks.append(time.perf_counter())
    data = await asyncio.gather(*(read(f"r/{i}.bin") for i in range(200)))
    marks.append(time.perf_counter())
    names = await asyncio.gather(
        *(save(f"w/{run}/{i}.bin", ContentFile(b"w" * 2048)) for i in range(100)))
    marks.append(time.perf_counter())
    assert not any(found) and all(len(d) == 2048 for d in data) and len(set(names)) == 100
    return [b - a for a, b in zip(marks, marks[1:])]

storage.exists("warm-up")  # the SDK client and one connection, outside the figures
with Probe() as probe:
    cpu = time.process_time()
    groups = asyncio.run(main())
    cpu = time.process_time() - cpu
print(json.dumps({"groups": groups, "seconds": sum(groups), "threads": probe.peak,
                  "rss_mb": probe.growth, "client_cpu": cpu, "load": os.getloadavg()[0]}))
"""


_BIG = r"""
import asyncio
from django.core.files import File
path, how = B["path"], B["how"]

def sync_save():
    with open(path, "rb") as f:
        storage.save("big/sync.bin", File(f, name="b.bin"))

async def async_save():
    with open(path, "rb") as f:
        await storage.asave("big/async.bin", File(f, name="b.bin"))

def sync_read():
    with storage.open("big/read.bin") as f:
        for _ in f.chunks(MB):
            pass

async def async_read():
    async with storage.aopen("big/read.bin") as f:
        async for _ in f:
            pass

MB = 2**20
work = {"save sync": sync_save, "asave": lambda: asyncio.run(async_save()),
        "read sync (chunks)": sync_read,
        "async read (async for)": lambda: asyncio.run(async_read()),
    }[how]
storage.exists("big/warm-up")  # the SDK client made (and its models loaded) before the probe
with Probe() as probe:
    start = time.perf_counter()
    work()
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "threads": probe.peak, "rss_mb": probe.growth}))
"""


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and its threads so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _proxy(port: int, latency: float = LATENCY) -> tuple[subprocess.Popen, int]:
    """The WAN proxy to ``port`` in a process of its own (its threads don't share our GIL)."""
    code = (
        "import sys; from tests.servers.proxy import TCPProxy; "
        f"p = TCPProxy('127.0.0.1', {port}, latency={latency}, bandwidth=20e6).start(); "
        "print(p.port, flush=True); sys.stdin.read()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    return proc, int(proc.stdout.readline())


def _reference_python() -> str | None:
    from bench.reference import VENV, python

    return str(python()) if (VENV / ".installed").exists() else None


class Bench:
    def __init__(
        self,
        backend: str,
        options: dict[str, Any],
        server_pid: int,
        floor: dict[str, Any],
        slow: dict[str, Any],
    ) -> None:
        self.backend, self.options, self.server_pid = backend, options, server_pid
        self.floor = floor  # the same options through a proxy without latency
        self.slow = slow  # ... and through one with 400 ms round trips
        self.rows: list[dict[str, Any]] = []

    def all(self) -> None:
        self.run("django-storages async API", "async", repeat=3)
        self.run("async API, 0 ms proxy (CPU floor)", "async", repeat=3, options=self.floor)
        self.run(f"async API, {SLOW * 2000:.0f} ms RTT proxy", "async", options=self.slow)
        self.run("django-storages sync API + sync_to_async", "s2a")
        self.run("django-storages 1.14 + sync_to_async", "s2a", reference=True)

    def run(
        self,
        impl: str,
        mode: str,
        reference: bool = False,
        repeat: int = 1,
        options: dict[str, Any] | None = None,
    ) -> None:
        python = _reference_python() if reference else None
        if reference and python is None:
            print(f"  {impl}: no reference virtualenv (python bench/reference.py)", file=sys.stderr)
            return
        setup = _PROBE + (_BUILD_REFERENCE if reference else _BUILD_OURS)
        options = options or self.options
        env = {"BENCH": json.dumps({"backend": self.backend, "options": options, "mode": mode})}
        if reference:
            env["PYTHONPATH"] = ""
        results = []
        for _ in range(repeat):
            before = _cpu(self.server_pid)
            result = run_measured(STATUS + setup + _OPS, python=python, env=env)
            result["server_cpu"] = _cpu(self.server_pid) - before
            results.append(result)
        result = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
        result["impl"] = impl + (f" (median of {repeat})" if repeat > 1 else "")
        self.rows.append(result)
        print(f"  {self.backend} {result['impl']}: {result}", file=sys.stderr)

    def table(self, title: str) -> None:
        print(f"\n{title}\n")
        print(
            "| implementation | aexists x200 | aopen+read x200 | asave x100 | seconds | RTTs "
            "| server CPU s | RTTs net | client CPU s | peak threads | RSS +MB | load |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        floor = next((r for r in self.rows if "floor" in r["impl"]), None)
        for r in self.rows:
            rtt = 2 * SLOW if "RTT proxy" in r["impl"] else RTT
            net = (r["seconds"] - r["server_cpu"]) / rtt
            groups = " | ".join(f"{g:.2f}" for g in r["groups"])
            print(
                f"| {r['impl']} | {groups} | {r['seconds']:.2f} | {r['seconds'] / rtt:.1f} "
                f"| {r['server_cpu']:.2f} | {net:.1f} | {r['client_cpu']:.2f} | {r['threads']} "
                f"| {r['rss_mb']:.1f} | {r['load']:.1f} |"
            )
        slow = next((r for r in self.rows if "RTT proxy" in r["impl"]), None)
        if floor is not None and slow is not None:
            print(
                f"\nAt {SLOW * 2000:.0f} ms per round trip, where the CPU time of client, proxy "
                f"and server (the 0 ms run: {floor['seconds']:.2f} s) is small beside the waiting, "
                "the "
                f"async API's 500 operations take {slow['seconds'] / (2 * SLOW):.1f} round trips."
            )


def _seed(save: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: save(f"r/{i}.bin", b"r" * SMALL), range(200)))


def bench_s3(small: bool, big: bool) -> None:
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY, start_s3

    server = start_s3(keep_values=True)  # a ranged GET costs its range, as on S3
    proxy, port = _proxy(int(server.endpoint.rsplit(":", 1)[1]))
    flat, flat_port = _proxy(int(server.endpoint.rsplit(":", 1)[1]), latency=0)
    far, far_port = _proxy(int(server.endpoint.rsplit(":", 1)[1]), latency=SLOW)
    try:
        client = server.client()
        client.create_bucket(Bucket="bench")
        _seed(lambda key, body: client.put_object(Bucket="bench", Key=key, Body=body))
        options = {
            "bucket_name": "bench",
            "endpoint_url": f"http://127.0.0.1:{port}",
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
        if small:
            floor = {**options, "endpoint_url": f"http://127.0.0.1:{flat_port}"}
            slow = {**options, "endpoint_url": f"http://127.0.0.1:{far_port}"}
            bench = Bench("s3", options, server.process.proc.pid, floor, slow)
            bench.all()
            bench.table(_title("S3 (moto 5)"))
        if big:
            bench_big(server, client, options)
    finally:
        proxy.kill()
        flat.kill()
        far.kill()
        server.process.stop()


def bench_big(server: Any, client: Any, options: dict[str, Any]) -> None:
    size = int(os.environ.get("BIG_MB", "200")) * MB
    with tempfile.NamedTemporaryFile(suffix=".bin") as disk:
        from storages.testing.helpers import PatternFile

        PatternFile(size, seed=2).write_to(disk.name)
        client.upload_file(disk.name, "bench", "big/read.bin")
        rows = []
        for _ in range(2):  # interleaved rounds: the shared machine's load varies
            for how in ("save sync", "asave", "read sync (chunks)", "async read (async for)"):
                env = {
                    "BENCH": json.dumps(
                        {"backend": "s3", "options": options, "path": disk.name, "how": how}
                    )
                }
                result = run_measured(STATUS + _PROBE + _BUILD_OURS + _BIG, env=env)
                rows.append({"how": how, **result})
                print(f"  big {how}: {result}", file=sys.stderr)
    print(f"\nS3, {size // MB} MB through the WAN proxy (default settings), best of 2\n")
    print("| operation | seconds | peak threads | RSS +MB |")
    print("|---|---|---|---|")
    for how in dict.fromkeys(r["how"] for r in rows):
        best = min((r for r in rows if r["how"] == how), key=lambda r: r["seconds"])
        print(f"| {how} | {best['seconds']:.2f} | {best['threads']} | {best['rss_mb']:.0f} |")


def bench_gcs() -> None:
    from tests.servers.gcs import start_gcs

    server = start_gcs()
    proxy, port = _proxy(server.process.port)
    flat, flat_port = _proxy(server.process.port, latency=0)
    far, far_port = _proxy(server.process.port, latency=SLOW)
    try:
        server.create_bucket("bench")
        bucket = server.client().bucket("bench")
        _seed(lambda key, body: bucket.blob(key).upload_from_string(body))
        options = {"bucket": "bench", "endpoint": f"http://127.0.0.1:{port}"}
        floor = {**options, "endpoint": f"http://127.0.0.1:{flat_port}"}
        slow = {**options, "endpoint": f"http://127.0.0.1:{far_port}"}
        bench = Bench("gcs", options, server.process.proc.pid, floor, slow)
        bench.all()
        bench.table(_title("GCS (fake-gcs-server 1.54)"))
    finally:
        proxy.kill()
        flat.kill()
        far.kill()
        server.stop()


def bench_azure() -> None:
    from tests.servers.azure import start_azurite

    server = start_azurite()
    proxy, port = _proxy(server.port)
    flat, flat_port = _proxy(server.port, latency=0)
    far, far_port = _proxy(server.port, latency=SLOW)
    try:
        server.create_container("bench")
        container = server.service_client().get_container_client("bench")
        _seed(lambda key, body: container.upload_blob(key, body))
        connection = server.connection_string().replace(f":{server.port}/", f":{port}/")
        options = {"connection_string": connection, "container": "bench"}
        flat_connection = server.connection_string().replace(f":{server.port}/", f":{flat_port}/")
        floor = {**options, "connection_string": flat_connection}
        slow = {
            **options,
            "connection_string": server.connection_string().replace(
                f":{server.port}/", f":{far_port}/"
            ),
        }
        bench = Bench("azure", options, server.process.proc.pid, floor, slow)
        bench.all()
        bench.table(_title("Azure Blob (Azurite 3.37)"))
    finally:
        proxy.kill()
        flat.kill()
        far.kill()
        server.stop()


def _title(server: str) -> str:
    return (
        f"{server} through the WAN proxy ({RTT * 1000:.0f} ms round trip), one event loop, "
        "default settings: seconds per group (200 each; asave: 100), round trips, the server's "
        "own CPU seconds, round trips without them"
    )


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    wanted = set(sys.argv[1:]) or {"s3", "gcs", "azure", "big"}
    if wanted & {"s3", "big"}:
        bench_s3(small="s3" in wanted, big="big" in wanted)
    if "gcs" in wanted:
        bench_gcs()
    if "azure" in wanted:
        bench_azure()

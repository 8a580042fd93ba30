"""Dropbox benchmark: this package vs the plain Dropbox SDK doing the same minimal calls.

There is no local Dropbox server, so both run against the HTTPS stand-in of
the API used by the tests (``tests/servers/dropbox_api.py``); absolute times
say little about dropbox.com, request counts and memory do.

Run: ``.venv/bin/python bench/bench_dropbox.py`` (starts its own stand-in), or with ``--wan``
for the WAN mode (:mod:`bench.wan`): the stand-in behind a proxy adding 40 ms of round trip and
20 MB/s per connection; a 200 MB read through ``chunks()`` and a 200 MB ``save()`` from an open
file, three rounds each (medians), each in a fresh process with its peak RSS growth.
"""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.common import MB, REPEATS, measure, print_table, run_storage_bench  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402
from tests.servers.dropbox_api import start_dropbox_standin  # noqa: E402

CHUNK = 4 * MB


def sdk_rows(storage, big: int, listing: int) -> list[dict]:
    """The same operations with the SDK client alone (what an app would write by hand)."""
    from dropbox import files

    dbx = storage.client  # same session, hosts and CA as the storage
    root = "/bench-sdk"
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda i: dbx.files_upload(b"", f"{root}/list/{i:05d}.txt"), range(listing)))

    def save_big(i: int) -> None:
        source = PatternFile(big)
        chunk = source.read(CHUNK)
        session = dbx.files_upload_session_start(chunk)
        cursor = files.UploadSessionCursor(session.session_id, len(chunk))
        while True:
            chunk = source.read(CHUNK)
            if source.tell() >= big:
                dbx.files_upload_session_finish(
                    chunk, cursor, files.CommitInfo(f"{root}/big/{i}.bin")
                )
                return
            dbx.files_upload_session_append_v2(chunk, cursor)
            cursor.offset += len(chunk)

    def read_small(_: int) -> bytes:
        _, response = dbx.files_download(f"{root}/small/0.txt")
        with response:
            return response.content

    def listdir(_: int) -> list[str]:
        page = dbx.files_list_folder(f"{root}/list")
        names = [e.name for e in page.entries]
        while page.has_more:
            page = dbx.files_list_folder_continue(page.cursor)
            names += [e.name for e in page.entries]
        return names

    small = f"{root}/small/0.txt"
    ops = {
        "save small (1 KiB)": lambda i: dbx.files_upload(b"x" * 1024, f"{root}/small/{i}.txt"),
        f"save {big // MB} MB": save_big,
        "open+read small": read_small,
        "exists": lambda i: dbx.files_get_metadata(small),
        "size": lambda i: dbx.files_get_metadata(small).size,
        "url": lambda i: dbx.files_get_temporary_link(small).link,
        f"listdir ({listing} keys)": listdir,
        "delete": lambda i: dbx.files_delete_v2(f"{root}/small/{i}.txt"),
    }
    return [
        {"impl": "plain dropbox SDK", "operation": op, **measure(fn, REPEATS.get(op, 3))}
        for op, fn in ops.items()
    ]


def main() -> None:
    big, listing = 100 * MB, 2000
    server = start_dropbox_standin()
    try:
        from storages.backends.dropbox import DropboxStorage

        storage = DropboxStorage(**server.options(root_path="/bench"))
        print_table(
            common.large_transfer_rows("django-storages", storage),
            "Dropbox stand-in: 200 MB transfers: ms, requests, peak RSS growth (MB)",
            "RSS +MB",
        )
        if "--large-only" in sys.argv:
            return
        ours = run_storage_bench("django-storages", storage, big=big, listing=listing)
        theirs = {r["operation"]: r for r in sdk_rows(storage, big, listing)}
        rows = []
        for row in ours:
            rows.append(row)
            if row["operation"] in theirs:
                rows.append(theirs[row["operation"]])
        print_table(
            rows,
            "Dropbox (HTTPS API stand-in on 127.0.0.1): median time, HTTP requests per call, "
            "peak Python heap",
        )
    finally:
        server.stop()


_WAN_SETUP = r"""
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
import django
django.setup()
from django.core.files import File
from storages.backends.dropbox import DropboxStorage
B = json.loads(os.environ["BENCH"])
storage = DropboxStorage(**B["options"])
storage.exists("warm")  # the client is made outside the figures
"""


def wan_main() -> None:
    import json
    import os
    import statistics
    import tempfile

    from bench.wan import RTT, print_wan_table, run_measured, wan_proxy

    size = int(os.environ.get("WAN_SIZE_MB", "200")) * MB
    server = start_dropbox_standin()
    port = int(server.host.rsplit(":", 1)[1])
    proxy = wan_proxy(port)
    workdir = tempfile.mkdtemp(prefix="bench-dropbox-")
    path = os.path.join(workdir, "big.bin")
    try:
        PatternFile(size).write_to(path)
        options = server.options(root_path="/bench", api_host=f"127.0.0.1:{proxy.port}")
        from storages.backends.dropbox import DropboxStorage

        local = DropboxStorage(**server.options(root_path="/bench"))
        with open(path, "rb") as f:
            local.save("read/big.bin", f)
        env = {"BENCH": json.dumps({"options": options, "path": path})}
        big = f"{size // MB} MB"
        operations = {
            f"read {big} (chunks())": "measure(lambda: [None for _ in "
            "storage.open('read/big.bin').chunks()])",
            f"save {big} from an open file": "measure(lambda: storage.save('big/save.bin', "
            "File(open(B['path'], 'rb'), name='b.bin')))",
        }
        rounds: list[dict] = []
        for _ in range(3):
            for operation, code in operations.items():
                result = run_measured(_WAN_SETUP + code, env=env)
                local.delete("big/save.bin")
                rounds.append({"impl": "django-storages", "operation": operation, **result})
                print(f"  {operation:<40} {result['seconds']:8.3f} s", file=sys.stderr)
        rows = [
            {
                "impl": "django-storages",
                "operation": f"{operation}, median of 3",
                "seconds": statistics.median(
                    r["seconds"] for r in rounds if r["operation"] == operation
                ),
                "rss_mb": max(r["rss_mb"] for r in rounds if r["operation"] == operation),
            }
            for operation in operations
        ]
        print_wan_table(
            rows,
            f"Dropbox stand-in through the WAN proxy ({RTT * 1000:.0f} ms round trip, "
            f"{proxy.bandwidth / 1e6:.0f} MB/s per connection; load {os.getloadavg()[0]:.1f})",
        )
    finally:
        proxy.stop()
        server.stop()
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    wan_main() if "--wan" in sys.argv else main()

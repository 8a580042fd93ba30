"""Direct uploads: what a ticket, the browser's upload and the submit check cost, per provider.

Run: ``.venv/bin/python bench/bench_direct.py`` (starts moto, Azurite, fake-gcs-server and the
Dropbox stand-in with upload links). The "browser" is ``requests`` streaming a file from disk;
"Django bytes" are the request and response bodies of the ticket view and of the form post.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MB, measure, print_table  # noqa: E402
from storages.testing.helpers import PatternFile  # noqa: E402

SIZE = 30 * MB


def allow_all(request, model_field) -> bool:
    return True


def main() -> None:
    from django.test import Client, override_settings

    from storages.direct import upload_ticket
    from storages.direct.forms import DirectUploadField
    from storages.direct.signing import make_reference
    from tests.direct_app.dropbox_links import start as start_dropbox
    from tests.direct_app.fixtures import DIRECT_SETTINGS
    from tests.direct_app.helpers import azure_storage, gcs_storage, s3_storage, send
    from tests.direct_app.models import Upload
    from tests.servers.azure import start_azurite
    from tests.servers.gcs import start_gcs
    from tests.servers.s3 import start_s3

    workdir = Path(tempfile.mkdtemp(prefix="bench-direct-"))
    path = workdir / "upload.bin"
    with open(path, "wb") as fh:
        source = PatternFile(SIZE)
        while chunk := source.read(MB):
            fh.write(chunk)
    servers = [start_s3(), start_azurite(), start_gcs(), start_dropbox(workdir / "dropbox")]
    s3_server, azurite, gcs_server, dropbox_server = servers
    try:
        from storages.backends.dropbox import DropboxStorage

        storages = {
            "S3 POST": s3_storage(s3_server),
            "S3 create-only PUT": s3_storage(s3_server, file_overwrite=False),
            "Azure SAS": azure_storage(azurite),
            "GCS session": gcs_storage(gcs_server),
            "Dropbox link": DropboxStorage(**dropbox_server.options(root_path="/bench")),
        }
        field_model = Upload._meta.get_field("file")
        rows, django_bytes = [], []
        for label, storage in storages.items():
            field_model.storage = storage
            field = DirectUploadField(
                model_field=field_model, max_size=64 * MB, permission=allow_all
            )
            names = [f"direct/uploads/bench_{i}.bin" for i in range(20)]

            def ticket(i, storage=storage, names=names):
                return upload_ticket(
                    storage,
                    names[i],
                    content_type="application/octet-stream",
                    max_size=64 * MB,
                    size=SIZE,
                    origin="http://127.0.0.1:8000",
                )

            tickets = {}
            rows.append(
                {
                    "impl": label,
                    "operation": "ticket",
                    **measure(lambda i, t=ticket, d=tickets: d.__setitem__(i, t(i)), 20),
                }
            )

            def upload(i, tickets=tickets):
                with open(path, "rb") as fh:
                    reply = send(tickets[i].as_json(), fh)
                assert reply.status_code < 300, reply.text

            rows.append(
                {
                    "impl": label,
                    "operation": f"upload {SIZE // MB} MB (browser)",
                    **measure(upload, 3),
                }
            )
            rows.append(
                {
                    "impl": label,
                    "operation": "submit check",
                    **measure(
                        lambda i, f=field, n=names: f.check_upload(
                            make_reference(f.spec().key, n[i])
                        ),
                        3,
                    ),
                }
            )
            with override_settings(**DIRECT_SETTINGS):
                form = {
                    "field": field.spec().dumps(),
                    "name": "big.bin",
                    "size": SIZE,
                    "type": "application/octet-stream",
                }
                reply = Client().post("/storages/direct/ticket/", form)
                django_bytes.append((label, len(urlencode(form)), len(reply.content)))
        print_table(rows, "Direct uploads (median ms, storage requests per call, peak Python heap)")
        print("\nTicket view: request / response bytes (the file itself never reaches Django)\n")
        for label, request, response in django_bytes:
            print(f"  {label:<20} {request:>6} / {response:>6} bytes")
        print(
            "\n(upload peak: the stand-in browser is requests, which builds a multipart body in "
            "memory)"
        )
    finally:
        for server in servers:
            (getattr(server, "stop", None) or server.process.stop)()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Benchmark GoogleCloudStorage against a local fake-gcs-server.

Run: ``.venv/bin/python bench/bench_gcloud.py``. Prints time, requests and
peak Python memory per operation (same operations as the other benches).
Requests are counted at http.client for the local servers only: google-auth
also tries an "allowedLocations" lookup at iamcredentials.googleapis.com in
a background thread after each token refresh, which fails offline and is
not part of the storage's work.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import MB, http_requests, print_table, run_storage_bench  # noqa: E402 - sets up Django first


def local_requests():
    """Count HTTP requests to 127.0.0.1 (the emulator and the token endpoint) only."""
    return http_requests(host="127.0.0.1")


def main() -> None:
    from google.oauth2 import service_account

    from storages.backends.gcloud import GoogleCloudStorage
    from tests.servers.gcs import service_account_info, start_gcs, start_token_server

    server = start_gcs()
    tokens = start_token_server()
    try:
        server.create_bucket("bench")
        creds = service_account.Credentials.from_service_account_info(service_account_info(tokens.grant_uri))
        location = f"bench/{uuid.uuid4().hex}"
        options = {"bucket_name": "bench", "credentials": creds, "location": location,
                   "client_options": {"api_endpoint": server.endpoint}}
        storage = GoogleCloudStorage(**options)
        unsigned = GoogleCloudStorage(**{**options, "querystring_auth": False})
        rows = run_storage_bench("GoogleCloudStorage", storage, counter=local_requests, big=100 * MB,
                                 unsigned=unsigned)
        off = GoogleCloudStorage(**{**options, "file_overwrite": False, "location": location + "-off"})
        rows += [r for r in run_storage_bench("  overwrite off", off, counter=local_requests, big=100 * MB,
                                              listing=10)
                 if r["operation"].startswith("save")]
        print_table(rows, "GoogleCloudStorage on fake-gcs-server v1.54.0 (127.0.0.1, filesystem backend)")
    finally:
        tokens.stop()
        server.stop()


if __name__ == "__main__":
    main()

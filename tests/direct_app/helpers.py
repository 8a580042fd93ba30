"""Fixtures and helpers shared by tests/test_direct_*.py."""

from __future__ import annotations

import hashlib
import struct
import uuid
import zlib
from typing import Any

import requests

MB = 1024 * 1024
TICKET_URL = "/storages/direct/ticket/"


def s3_storage(server: Any, cors_origin: str | None = None, **extra: Any) -> Any:
    """An S3Storage on its own new bucket of the moto server (with a CORS rule for
    ``cors_origin``)."""
    from storages.backends.s3 import S3Storage
    from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

    bucket = f"direct-{uuid.uuid4().hex[:12]}"
    client = server.client()
    client.create_bucket(Bucket=bucket)
    if cors_origin:
        client.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration={
                "CORSRules": [
                    {
                        "AllowedOrigins": [cors_origin],
                        "AllowedMethods": ["POST", "PUT"],
                        "AllowedHeaders": ["*"],
                        "ExposeHeaders": ["ETag"],
                        "MaxAgeSeconds": 3600,
                    }
                ]
            },
        )
    options = {
        "bucket_name": bucket,
        "endpoint_url": server.endpoint,
        "region_name": "us-east-1",
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        **extra,
    }
    return S3Storage(**options)


def azure_storage(server: Any, cors_origin: str | None = None, **extra: Any) -> Any:
    """An AzureStorage on a new container of Azurite (CORS rules are account-wide there)."""
    from azure.storage.blob import CorsRule

    from storages.backends.azure_storage import AzureStorage

    container = f"direct-{uuid.uuid4().hex[:12]}"
    server.create_container(container)
    if cors_origin:
        server.service_client().set_service_properties(
            cors=[
                CorsRule(
                    [cors_origin],
                    ["PUT", "OPTIONS"],
                    allowed_headers=["*"],
                    exposed_headers=["*"],
                    max_age_in_seconds=3600,
                )
            ]
        )
    return AzureStorage(
        connection_string=server.connection_string(),
        azure_container=container,
        expiration_secs=3600,
        **extra,
    )


def gcs_storage(server: Any, **extra: Any) -> Any:
    from google.auth.credentials import AnonymousCredentials

    from storages.backends.gcloud import GoogleCloudStorage

    bucket = f"direct-{uuid.uuid4().hex[:12]}"
    server.create_bucket(bucket)
    return GoogleCloudStorage(
        bucket_name=bucket,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": server.endpoint},
        **extra,
    )


def field_spec(form_class: Any, field: str = "file") -> str:
    """The signed spec the widget of ``form_class`` puts in the page."""
    return form_class()[field].field.widget.spec


def ask_ticket(
    client: Any,
    spec: str,
    name: str,
    size: int,
    content_type: str = "application/octet-stream",
    **headers: Any,
) -> Any:
    return client.post(
        TICKET_URL,
        {"field": spec, "name": name, "size": str(size), "type": content_type},
        **headers,
    )


def send(
    ticket: dict[str, Any],
    data: bytes,
    headers: dict[str, str] | None = None,
    fields: dict[str, str] | None = None,
    verify: Any = True,
) -> requests.Response:
    """What the widget's script does with a ticket (``headers`` / ``fields`` override the
    ticket's)."""
    session = requests.Session()
    session.trust_env = False
    if ticket["file_field"]:
        form = {**ticket["fields"], **(fields or {})}
        return session.post(
            ticket["url"], data=form, files={ticket["file_field"]: ("blob", data)}, timeout=60
        )
    return session.request(
        ticket["method"],
        ticket["url"],
        data=data,
        headers={**ticket["headers"], **(headers or {})},
        timeout=60,
        verify=verify,
    )


def digest(storage: Any, name: str) -> str:
    with storage.open(name, "rb") as fh:
        h = hashlib.sha256()
        for chunk in iter(lambda: fh.read(MB), b""):
            h.update(chunk)
    return h.hexdigest()


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (RGB, all white), written by hand: no imaging library needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    rows = b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )

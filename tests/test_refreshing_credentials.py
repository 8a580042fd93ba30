"""Credentials that refresh: a storage built once keeps working across the expiry of role
credentials, and URLs signed after the refresh carry the new ones.

S3: moto's STS behind botocore's web-identity provider (AWS_ROLE_ARN +
AWS_WEB_IDENTITY_TOKEN_FILE, as EKS/IRSA sets them), with credentials that last 4 seconds.
GCS: a service-account token endpoint whose tokens last one second. Azure: token credentials
whose tokens last two seconds (Azurite refuses an expired one).
"""

from __future__ import annotations

import ssl
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile

from storages.backends.gcloud import GoogleCloudStorage
from storages.backends.s3 import S3Storage
from storages.testing.helpers import fetch
from tests.backends.test_azure import azurite_oauth, oauth_storage  # noqa: F401
from tests.backends.test_gcloud import (  # noqa: F401
    credentials,
    gcs_options,
    gcs_server,
    sa_info,
    token_server,  # noqa: F401
)
from tests.servers.azure import FakeTokenCredential
from tests.servers.http_faults import HTTPFaultProxy
from tests.servers.s3 import start_s3

LIFETIME = 4  # seconds each set of role credentials lasts


@pytest.fixture(scope="module")
def sts_server():
    server = start_s3(sts_duration=LIFETIME)
    server.create_bucket("roles")
    yield server
    server.process.stop()


@pytest.fixture
def web_identity(sts_server, tmp_path, monkeypatch):
    """The environment EKS gives a pod with an IAM role (IRSA), pointing STS at moto."""
    token = tmp_path / "token"
    token.write_text("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcHAifQ.")  # moto does not check it
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/app")
    monkeypatch.setenv("AWS_ROLE_SESSION_NAME", "storages-test")
    monkeypatch.setenv("AWS_WEB_IDENTITY_TOKEN_FILE", str(token))
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", sts_server.endpoint)
    return sts_server


def key_id(url: str) -> str:
    return parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].split("/")[0]


def request_key_ids(recorded: list[dict]) -> set[str]:
    ids = set()
    for request in recorded:
        auth = (request.get("headers") or {}).get("Authorization", "")
        if "Credential=" in auth:
            ids.add(auth.split("Credential=")[1].split("/")[0])
    return ids


def test_s3_role_credentials_refresh_for_requests_and_urls(web_identity):
    s = S3Storage(bucket_name="roles", endpoint_url=web_identity.endpoint, region_name="us-east-1")
    s.save("before.txt", ContentFile(b"first credentials"))
    first_url = s.url("before.txt")
    first_key = key_id(first_url)
    assert first_key.startswith("ASIA")  # temporary credentials from STS

    time.sleep(LIFETIME + 1)  # every credential the storage has seen has expired now

    with web_identity.recording() as recorded:
        s.save("after.txt", ContentFile(b"refreshed credentials"))
        assert s.exists("before.txt") and s.open("after.txt").read() == b"refreshed credentials"
    used = request_key_ids(recorded)
    assert used and first_key not in used  # the requests were signed with the new credentials
    second_url = s.url("after.txt")
    assert key_id(second_url) != first_key
    assert fetch(second_url) == (200, b"refreshed credentials")


def test_gcs_tokens_refresh_for_requests_and_signed_urls(gcs_server, sa_info, token_server):
    """A service-account token that lasts one second: every request after it expired carries a
    new one (google-auth refreshes it), and signed URLs still sign with the key."""
    proxy = HTTPFaultProxy("127.0.0.1", int(gcs_server.endpoint.rsplit(":", 1)[1])).start()
    tokens: list[str] = []
    proxy.fail(  # records each request's bearer token; never injects a fault
        match=lambda method, path, headers: tokens.extend(
            v for k, v in headers.items() if k.lower() == "authorization"
        )
    )
    try:
        s = GoogleCloudStorage(
            **gcs_options(
                gcs_server,
                sa_info,
                credentials=credentials(sa_info, token_uri=token_server.short_uri),
                client_options={"api_endpoint": proxy.url},
            )
        )
        s.save("before.txt", ContentFile(b"first token"))
        first = [t for t in tokens if t]
        time.sleep(1.5)
        tokens.clear()
        s.save("after.txt", ContentFile(b"new token"))
        assert s.exists("before.txt") and s.open("after.txt").read() == b"new token"
        later = {t for t in tokens if t}
        assert first and later and not later & set(first)
        assert fetch(s.url("after.txt")) == (200, b"new token")
    finally:
        proxy.stop()


def test_azure_token_credentials_refresh_for_requests_and_sas_urls(azurite_oauth):
    """Tokens that last two seconds, which Azurite refuses once expired: the storage keeps
    working after the first expired, and SAS URLs signed afterwards verify."""
    credential = FakeTokenCredential(lifetime=2)
    s = oauth_storage(azurite_oauth, credential)
    s.save("before.txt", ContentFile(b"first token"))
    calls = credential.calls
    time.sleep(3)
    s.save("after.txt", ContentFile(b"new token"))
    assert s.exists("before.txt") and s.open("after.txt").read() == b"new token"
    assert credential.calls > calls
    context = ssl.create_default_context(cafile=azurite_oauth.ca_file)
    assert fetch(s.url("after.txt"), context=context) == (200, b"new token")

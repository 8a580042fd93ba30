"""Cacheable signed URLs (AWS_S3_SIGNED_URL_WINDOW, GS_SIGNED_URL_WINDOW, AZURE_SIGNED_URL_WINDOW):
byte-identical URLs within a window, a new one after it, each served with at least the configured
lifetime left. Against moto, fake-gcs-server and Azurite (which checks SAS signatures)."""

from __future__ import annotations

import datetime as dt
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from storages.backends.azure_storage import AzureStorage
from storages.backends.gcloud import GoogleCloudStorage
from storages.backends.s3 import S3Storage
from storages.signed_urls import expiry
from storages.testing.helpers import fetch
from tests.backends.test_azure import azurite  # noqa: F401  (session fixtures of the backend tests)
from tests.backends.test_azure import options as azure_options
from tests.backends.test_gcloud import gcs_options, gcs_server, sa_info, token_server  # noqa: F401
from tests.backends.test_s3 import s3_options, s3_server  # noqa: F401

LIFETIME = 300
BODY = b"private picture"


def same_window(make, window: int) -> tuple[str, str]:
    """Two URLs made in the same window (tried again if a boundary fell between the calls)."""
    for _ in range(3):
        slot = int(time.time()) // window
        first, second = make(), make()
        if int(time.time()) // window == slot:
            return first, second
    raise AssertionError("could not make two URLs within one window")


def next_window(window: int) -> None:
    time.sleep(window - time.time() % window + 0.05)


def seconds_left_s3(url: str) -> float:
    query = parse_qs(urlsplit(url).query)
    signed = dt.datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    signed = signed.replace(tzinfo=dt.timezone.utc)
    return signed.timestamp() + int(query["X-Amz-Expires"][0]) - time.time()


def test_expiry_is_the_window_start_plus_window_and_lifetime():
    when = expiry(300, 60, now=1_000_000_059.9)
    assert when.start.timestamp() == 1_000_000_020 and when.seconds == 360
    assert when.until.timestamp() - 1_000_000_059.9 >= 300
    assert expiry(300, 0, now=1_000_000_059.9).start.timestamp() == 1_000_000_059


def test_s3_urls_are_identical_within_a_window_and_new_after_it(s3_server):
    s = S3Storage(**s3_options(s3_server, querystring_expire=LIFETIME, signed_url_window=2))
    s.save("pic.jpg", ContentFile(BODY))
    first, second = same_window(lambda: s.url("pic.jpg"), 2)
    assert first == second
    assert seconds_left_s3(first) >= LIFETIME - 1
    next_window(2)
    third = s.url("pic.jpg")
    assert third != first and seconds_left_s3(third) >= LIFETIME - 1
    for url in (first, third):
        assert fetch(url) == (200, BODY)


def test_s3_signs_as_of_the_window_start(s3_server):
    """Fails loudly when botocore stops taking its signing time from get_current_datetime()."""
    s = S3Storage(**s3_options(s3_server, querystring_expire=LIFETIME, signed_url_window=3600))
    query = parse_qs(urlsplit(s.url("a.txt")).query)
    start = int(time.time()) // 3600 * 3600
    assert query["X-Amz-Date"] == [
        dt.datetime.fromtimestamp(start, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    ]
    assert query["X-Amz-Expires"] == [str(3600 + LIFETIME)]
    # Other requests botocore signs keep the real time.
    s.save("a.txt", ContentFile(b"a"))
    assert s.exists("a.txt")


def test_s3_without_a_window_signs_every_call_anew(s3_server):
    s = S3Storage(**s3_options(s3_server, querystring_expire=LIFETIME))
    first = s.url("x")
    time.sleep(1.05)
    assert s.url("x") != first


def test_s3_window_is_read_from_django_settings(s3_server, settings):
    settings.AWS_S3_SIGNED_URL_WINDOW = 600
    assert S3Storage(**s3_options(s3_server)).signed_url_window == 600


def test_cloudfront_urls_share_one_expiry_per_window(s3_server):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    s = S3Storage(
        **s3_options(
            s3_server,
            custom_domain="d111.cloudfront.net",
            cloudfront_key_id="KPID",
            cloudfront_key=pem,
            querystring_expire=LIFETIME,
            signed_url_window=2,
        )
    )
    first, second = same_window(lambda: s.url("p.jpg"), 2)
    assert first == second
    expires = int(parse_qs(urlsplit(first).query)["Expires"][0])
    assert expires - time.time() >= LIFETIME - 1 and expires % 2 == 0
    next_window(2)
    assert s.url("p.jpg") != first


@pytest.mark.parametrize(
    "window, message",
    [(-5, "must be a whole number"), ("an hour", "must be a whole number"), (7 * 86400, "7 days")],
)
def test_bad_windows_name_the_setting(window, message):
    with pytest.raises(ImproperlyConfigured, match="AWS_S3_SIGNED_URL_WINDOW") as info:
        S3Storage(bucket_name="b", signed_url_window=window)
    assert message in str(info.value)
    with pytest.raises(ImproperlyConfigured, match="GS_SIGNED_URL_WINDOW"):
        GoogleCloudStorage(bucket_name="b", signed_url_window=window)
    with pytest.raises(ImproperlyConfigured, match="AZURE_SIGNED_URL_WINDOW"):
        AzureStorage(
            account_name="a", azure_container="c", expiration_secs=60, signed_url_window=window
        )


def test_gcs_urls_are_identical_within_a_window_and_new_after_it(gcs_server, sa_info):
    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server,
            sa_info,
            expiration=dt.timedelta(seconds=LIFETIME),
            signed_url_window=2,
        )
    )
    s.save("pic.jpg", ContentFile(BODY))
    first, second = same_window(lambda: s.url("pic.jpg"), 2)
    assert first == second
    query = parse_qs(urlsplit(first).query)
    signed = dt.datetime.strptime(query["X-Goog-Date"][0], "%Y%m%dT%H%M%SZ")
    signed = signed.replace(tzinfo=dt.timezone.utc).timestamp()
    assert (
        signed % 2 == 0 and signed + int(query["X-Goog-Expires"][0]) - time.time() >= LIFETIME - 1
    )
    next_window(2)
    third = s.url("pic.jpg")
    assert third != first
    for url in (first, third):
        assert fetch(url) == (200, BODY)


def test_azure_sas_urls_are_identical_within_a_window_and_verify(azurite):
    s = AzureStorage(**azure_options(azurite, expiration_secs=LIFETIME, signed_url_window=2))
    s.save("pic.jpg", ContentFile(BODY))
    first, second = same_window(lambda: s.url("pic.jpg"), 2)
    assert first == second
    until = dt.datetime.fromisoformat(
        parse_qs(urlsplit(first).query)["se"][0].replace("Z", "+00:00")
    )
    assert until.timestamp() - time.time() >= LIFETIME - 1
    next_window(2)
    third = s.url("pic.jpg")
    assert third != first
    for url in (first, third):  # Azurite checks the SAS signature and its expiry
        assert fetch(url) == (200, BODY)
    # An upload URL (mode "cw") is never stretched by the window.
    upload = parse_qs(urlsplit(s.url("new.jpg", expire=60, mode="cw")).query)["se"][0]
    assert dt.datetime.fromisoformat(upload.replace("Z", "+00:00")).timestamp() - time.time() <= 61


def test_gcs_signs_as_of_the_window_start(gcs_server, sa_info):
    """Fails loudly when the GCS SDK stops taking its V4 signing time from
    _signing.get_v4_now_dtstamps()."""
    s = GoogleCloudStorage(
        **gcs_options(
            gcs_server, sa_info, expiration=dt.timedelta(seconds=LIFETIME), signed_url_window=3600
        )
    )
    query = parse_qs(urlsplit(s.url("a.txt")).query)
    start = int(time.time()) // 3600 * 3600
    assert query["X-Goog-Date"] == [
        dt.datetime.fromtimestamp(start, dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    ]
    assert query["X-Goog-Expires"] == [str(3600 + LIFETIME)]


def test_s3_upload_urls_keep_their_exact_lifetime(s3_server):
    s = S3Storage(**s3_options(s3_server, signed_url_window=3600))
    query = parse_qs(urlsplit(s.url("up.bin", expire=60, http_method="PUT")).query)
    assert query["X-Amz-Expires"] == ["60"]

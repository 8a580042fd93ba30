"""CloudFront signed cookies: policies for a path pattern (custom) or one file (canned), each
verified with the key pair's public key as CloudFront does; the middleware sets them for
authenticated users only, renews them past half their lifetime."""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import RequestFactory

from storages.backends.s3 import S3Storage
from storages.backends.s3.cloudfront import SignedCookiesMiddleware, set_signed_cookies
from storages.testing.suite import use_storages
from tests.signing_key import signing_key

KEY, PEM = signing_key()
DOMAIN = "d111.cloudfront.net"


def storage(**extra) -> S3Storage:
    options = {
        "bucket_name": "media",
        "location": "media",
        "custom_domain": DOMAIN,
        "cloudfront_key_id": "K2JCJMDEHXQW5F",
        "cloudfront_key": PEM,
        "querystring_expire": 600,
        **extra,
    }
    return S3Storage(**options)


def unb64(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def verify(policy: bytes, signature: str) -> None:
    """What CloudFront does: the signature is RSA-SHA1 over the policy, by the key pair."""
    KEY.public_key().verify(unb64(signature), policy, padding.PKCS1v15(), hashes.SHA1())  # noqa: S303


def test_a_path_pattern_gets_a_custom_policy_signed_by_the_key():
    cookies = storage().cloudfront_cookies("private/*")
    assert set(cookies) == {"CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id"}
    policy = unb64(cookies["CloudFront-Policy"])
    verify(policy, cookies["CloudFront-Signature"])
    statement = json.loads(policy)["Statement"][0]
    assert statement["Resource"] == f"https://{DOMAIN}/media/private/*"
    assert statement["Condition"]["DateLessThan"]["AWS:EpochTime"] - time.time() >= 599
    assert cookies["CloudFront-Key-Pair-Id"] == "K2JCJMDEHXQW5F"
    assert PEM not in repr(cookies)


def test_one_file_gets_a_canned_policy():
    cookies = storage().cloudfront_cookies("report.pdf", expire=120)
    expires = int(cookies["CloudFront-Expires"])
    assert "CloudFront-Policy" not in cookies and expires - time.time() >= 119
    canned = json.dumps(
        {
            "Statement": [
                {
                    "Resource": f"https://{DOMAIN}/media/report.pdf",
                    "Condition": {"DateLessThan": {"AWS:EpochTime": expires}},
                }
            ]
        },
        separators=(",", ":"),
    ).encode()
    verify(canned, cookies["CloudFront-Signature"])


def test_ip_range_and_start_make_a_custom_policy():
    import datetime as dt

    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    cookies = storage().cloudfront_cookies("a.pdf", starts=start, ip_address="192.0.2.0/24")
    policy = unb64(cookies["CloudFront-Policy"])
    verify(policy, cookies["CloudFront-Signature"])
    condition = json.loads(policy)["Statement"][0]["Condition"]
    assert condition["IpAddress"] == {"AWS:SourceIp": "192.0.2.0/24"}
    assert condition["DateGreaterThan"] == {"AWS:EpochTime": int(start.timestamp())}


def test_cookies_are_identical_within_a_signed_url_window():
    s = storage(signed_url_window=3600)
    for _ in range(3):
        slot = int(time.time()) // 3600
        first, second = s.cloudfront_cookies("*"), s.cloudfront_cookies("*")
        if int(time.time()) // 3600 == slot:
            break
    assert first == second


def test_cookies_need_the_cloudfront_domain_and_key():
    with pytest.raises(ImproperlyConfigured, match="AWS_S3_CUSTOM_DOMAIN.*AWS_CLOUDFRONT_KEY_ID"):
        S3Storage(bucket_name="media").cloudfront_cookies()


def test_set_signed_cookies_puts_secure_http_only_cookies_on_the_response():
    response = HttpResponse()
    set_signed_cookies(response, storage(), "*", domain=".example.com")
    morsel = response.cookies["CloudFront-Signature"]
    assert morsel["secure"] and morsel["httponly"] and morsel["samesite"] == "Lax"
    assert morsel["domain"] == ".example.com" and morsel["path"] == "/"
    assert 590 <= int(morsel["max-age"]) <= 600


class _User:
    is_authenticated = True


@pytest.fixture
def cloudfront_default(settings):
    use_storages(
        settings,
        {
            **settings.STORAGES,
            "default": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {
                    "bucket_name": "media",
                    "location": "media",
                    "custom_domain": DOMAIN,
                    "cloudfront_key_id": "K2JCJMDEHXQW5F",
                    "cloudfront_key": PEM,
                    "querystring_expire": 600,
                },
            },
        },
    )
    settings.AWS_CLOUDFRONT_COOKIE_DOMAIN = ".example.com"


def test_middleware_signs_for_authenticated_users_only(cloudfront_default):
    middleware = SignedCookiesMiddleware(lambda request: HttpResponse("page"))
    anonymous = RequestFactory().get("/")
    anonymous.user = AnonymousUser()
    assert not middleware(anonymous).cookies

    request = RequestFactory().get("/")
    request.user = _User()
    response = middleware(request)
    cookies = {name: morsel.value for name, morsel in response.cookies.items()}
    verify(unb64(cookies["CloudFront-Policy"]), cookies["CloudFront-Signature"])
    assert response.cookies["CloudFront-Policy"]["domain"] == ".example.com"

    again = RequestFactory().get("/")  # fresh cookies: nothing new is set
    again.user = _User()
    again.COOKIES.update(cookies)
    assert not middleware(again).cookies


def test_middleware_renews_cookies_past_half_their_lifetime(cloudfront_default):
    old = storage().cloudfront_cookies("*", expire=200)  # 200 s left of a 600 s lifetime
    request = RequestFactory().get("/")
    request.user = _User()
    request.COOKIES.update(old)
    response = SignedCookiesMiddleware(lambda request: HttpResponse())(request)
    assert response.cookies["CloudFront-Policy"].value != old["CloudFront-Policy"]


def test_middleware_names_the_setting_for_a_storage_that_cannot_sign(settings):
    request = RequestFactory().get("/")
    request.user = _User()
    with pytest.raises(ImproperlyConfigured, match="AWS_CLOUDFRONT_COOKIE_STORAGE"):
        SignedCookiesMiddleware(lambda request: HttpResponse())(request)

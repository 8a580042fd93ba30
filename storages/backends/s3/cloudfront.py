"""CloudFront signed cookies: one set of cookies opens every private file under a path pattern.

Signed URLs sign one file each; a page with fifty private images would sign fifty URLs, and none
of them can be cached across users. Signed cookies sign a *policy* once (a resource pattern such
as ``https://d111.cloudfront.net/media/*`` and an expiry, optionally a start time and a client
IP range); the browser sends them with every request to the CloudFront domain.

- :meth:`S3Storage.cloudfront_cookies() <storages.backends.s3.S3Storage.cloudfront_cookies>`
  returns the cookies (names and values) for a pattern under the storage's location.
- :func:`set_signed_cookies` puts them on a Django response.
- :class:`SignedCookiesMiddleware` does that for every authenticated user's response when the
  cookies are missing or past half their lifetime.

The CloudFront distribution must be configured with the key group of ``AWS_CLOUDFRONT_KEY_ID``
("Restrict viewer access" with trusted key groups), and the cookies' domain must cover the
CloudFront domain (for example a ``media.example.com`` CNAME with the cookie domain
``.example.com``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["COOKIE_NAMES", "SignedCookiesMiddleware", "policy_expiry", "set_signed_cookies"]

COOKIE_NAMES = (
    "CloudFront-Policy",
    "CloudFront-Expires",
    "CloudFront-Signature",
    "CloudFront-Key-Pair-Id",
)


def _b64(data: bytes) -> str:
    """CloudFront's URL-safe base64 ('+' -> '-', '=' -> '_', '/' -> '~')."""
    text = base64.b64encode(data).decode()
    return text.replace("+", "-").replace("=", "_").replace("/", "~")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.replace("-", "+").replace("_", "=").replace("~", "/"))


def signed_cookies(
    signer: Any,
    resource: str,
    until: dt.datetime,
    starts: dt.datetime | None = None,
    ip_address: str | None = None,
) -> dict[str, str]:
    """The cookies for ``resource`` (an URL, ``*`` wildcards allowed) signed by ``signer`` (a
    botocore ``CloudFrontSigner``). A single URL with no other condition gets a canned policy
    (``CloudFront-Expires``), anything else a custom one (``CloudFront-Policy``)."""
    policy = signer.build_policy(resource, until, starts, ip_address)
    cookies = (
        {"CloudFront-Policy": _b64(policy.encode())}
        if "*" in resource or starts or ip_address
        else {"CloudFront-Expires": str(int(until.timestamp()))}
    )
    cookies["CloudFront-Signature"] = _b64(signer.rsa_signer(policy.encode()))
    cookies["CloudFront-Key-Pair-Id"] = signer.key_id
    return cookies


def policy_expiry(cookies: dict[str, str]) -> int | None:
    """The expiry (epoch seconds) the signed cookies carry, or None if they carry none."""
    if cookies.get("CloudFront-Expires", "").isdigit():
        return int(cookies["CloudFront-Expires"])
    try:
        policy = json.loads(_unb64(cookies["CloudFront-Policy"]))
        return int(policy["Statement"][0]["Condition"]["DateLessThan"]["AWS:EpochTime"])
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def set_signed_cookies(
    response: Any,
    storage: Any,
    pattern: str = "*",
    *,
    expire: int | None = None,
    domain: str | None = None,
    path: str = "/",
    **conditions: Any,
) -> dict[str, str]:
    """Set the signed cookies for ``pattern`` (under ``storage``'s location) on ``response``:
    secure, HTTP-only, ``SameSite=Lax``, expiring with the policy. Returns them."""
    cookies = storage.cloudfront_cookies(pattern, expire=expire, **conditions)
    until = policy_expiry(cookies)
    max_age = max(0, until - int(time.time())) if until else None
    for name, value in cookies.items():
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            domain=domain,
            path=path,
            secure=True,
            httponly=True,
            samesite="Lax",
        )
    return cookies


class SignedCookiesMiddleware:
    """Give each authenticated user CloudFront signed cookies for the media storage.

    Settings: ``AWS_CLOUDFRONT_COOKIE_STORAGE`` (the ``STORAGES`` alias, default
    ``"default"``), ``AWS_CLOUDFRONT_COOKIE_PATTERN`` (below the storage's location, default
    ``"*"``: every file), ``AWS_CLOUDFRONT_COOKIE_DOMAIN`` (default: the response's host).
    Cookies last the storage's ``AWS_QUERYSTRING_EXPIRE`` (aligned to
    ``AWS_S3_SIGNED_URL_WINDOW`` when set) and are renewed once past half their lifetime.
    """

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response
        self.alias = getattr(django_settings, "AWS_CLOUDFRONT_COOKIE_STORAGE", "default")
        self.pattern = getattr(django_settings, "AWS_CLOUDFRONT_COOKIE_PATTERN", "*")
        self.domain = getattr(django_settings, "AWS_CLOUDFRONT_COOKIE_DOMAIN", None)

    def storage(self) -> Any:
        from django.core.files.storage import storages

        storage = storages[self.alias]
        if not callable(getattr(storage, "cloudfront_cookies", None)):
            raise ImproperlyConfigured(
                f'SignedCookiesMiddleware: STORAGES["{self.alias}"] ({type(storage).__name__}) '
                "can't sign CloudFront cookies; point AWS_CLOUDFRONT_COOKIE_STORAGE at an "
                "S3Storage with AWS_S3_CUSTOM_DOMAIN and AWS_CLOUDFRONT_KEY_ID / "
                "AWS_CLOUDFRONT_KEY"
            )
        return storage

    def __call__(self, request: Any) -> Any:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and self._due(request):
            set_signed_cookies(response, self.storage(), self.pattern, domain=self.domain)
        return response

    def _due(self, request: Any) -> bool:
        until = policy_expiry(request.COOKIES)
        if until is None:
            return True
        lifetime = int(getattr(self.storage(), "querystring_expire", 3600) or 3600)
        return until - time.time() < lifetime / 2

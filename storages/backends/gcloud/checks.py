"""Google Cloud Storage's part of the system checks: does Google's auth find credentials, and
are the values of the options ones GCS accepts?"""

from __future__ import annotations

import os
import re
from typing import Any
from urllib.parse import urlsplit

from django.core import checks

from storages.checks import bad_choice, bad_endpoint, bad_value, is_local_host

# Bucket names: 3-63 characters (222 with dots, 63 per dot-separated part) of lowercase letters,
# digits, hyphens, underscores and dots, beginning and ending with a letter or digit.
_BUCKET = re.compile(r"^[a-z0-9](?:[a-z0-9._-]{1,220})[a-z0-9]$")
_BUCKET_RULE = (
    "GCS bucket names are 3 to 63 lowercase letters, digits, hyphens, underscores and dots "
    "(up to 222 with dots), beginning and ending with a letter or digit."
)


def _endpoint(storage: Any) -> str | None:
    options = getattr(storage, "client_options", None)
    endpoint = (
        options.get("api_endpoint")
        if isinstance(options, dict)
        else getattr(options, "api_endpoint", None)
    )
    return endpoint or getattr(storage, "custom_endpoint", None)


def ambient_credentials(storage: Any) -> bool:
    """An emulator needs none; else a key file or gcloud's application-default login."""
    endpoint = _endpoint(storage)
    if os.environ.get("STORAGE_EMULATOR_HOST") or (
        endpoint and is_local_host(urlsplit(endpoint).hostname)
    ):
        return True
    adc = os.path.join(
        os.environ.get("CLOUDSDK_CONFIG", os.path.expanduser("~/.config/gcloud")),
        "application_default_credentials.json",
    )
    return bool(os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")) or os.path.exists(adc)


def _bucket_problem(name: Any) -> str | None:
    if not isinstance(name, str):
        return f"a bucket name must be a string, not a {type(name).__name__}"
    parts = name.split(".")
    too_long = len(name) > (222 if len(parts) > 1 else 63) or any(len(p) > 63 for p in parts)
    if not _BUCKET.match(name) or too_long or name.startswith("goog"):
        return "not a name GCS accepts for a bucket"
    return None


def system_checks(storage: Any, alias: str) -> list[checks.CheckMessage]:
    """GCS's value rules (no network): endpoints, the predefined ACL, the bucket name. The
    lifetime (``GS_EXPIRATION``) and ``object_parameters`` are refused when the storage is built
    (storages.E002)."""
    from google.cloud.storage.acl import ObjectACL

    found: list[checks.CheckMessage] = []
    found += bad_endpoint(alias, storage, "custom_endpoint", storage.custom_endpoint)
    options = storage.client_options
    api = (
        options.get("api_endpoint")
        if isinstance(options, dict)
        else getattr(options, "api_endpoint", None)
    )
    found += bad_endpoint(alias, storage, "client_options", api, key="api_endpoint")
    acl = storage.default_acl
    # The XML API's spelling ("public-read") is a slip for the JSON one uploads use ("publicRead").
    xml = ObjectACL.PREDEFINED_XML_ACLS
    if isinstance(acl, str) and acl in xml:
        found.append(
            bad_value(
                alias,
                storage,
                "default_acl",
                acl,
                "the XML API's name of a predefined ACL",
                f"Did you mean {xml[acl]!r}?",
                "E004",
            )
        )
    else:
        found += bad_choice(alias, storage, "default_acl", acl, ObjectACL.PREDEFINED_JSON_ACLS)
    bucket = storage.bucket_name
    if bucket and (problem := _bucket_problem(bucket)):
        found.append(
            bad_value(alias, storage, "bucket_name", bucket, problem, _BUCKET_RULE, "E006")
        )
    return found

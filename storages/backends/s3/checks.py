"""S3's part of the system checks: does botocore find credentials by itself, and are the values
of the options ones S3 and botocore accept?"""

from __future__ import annotations

import difflib
import functools
import os
import re
from typing import Any
from urllib.parse import urlsplit

from django.core import checks

from storages.checks import (
    bad_choice,
    bad_endpoint,
    bad_keys,
    bad_seconds,
    bad_value,
    is_set,
)

#: botocore's ``Config(s3={"addressing_style": ...})`` values.
ADDRESSING_STYLES = ("auto", "path", "virtual")


def ambient_credentials() -> bool:
    """Whether botocore's own chain finds credentials without the network (no instance metadata)."""
    try:
        import botocore.session

        session = botocore.session.get_session()
        resolver = session.get_component("credential_provider")
        for name in ("iam-role", "container-role"):
            if resolver.get_provider(name) is not None:
                resolver.remove(name)
        if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI"
        ):
            return True
        return resolver.load_credentials() is not None
    except Exception:
        return False


@functools.cache
def _put_object_model() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("s3").operation_model("PutObject")


def _upload_keys() -> set[str]:
    """The keys ``object_parameters`` may hold: what s3transfer passes on to an upload, and the
    PutObject request's own members (the model of the installed botocore)."""
    from s3transfer.manager import TransferManager

    members = set(_put_object_model().input_shape.members)
    return (set(TransferManager.ALLOWED_UPLOAD_ARGS) | members) - {"Bucket", "Key", "Body"}


def _canned_acls() -> list[str]:
    return list(_put_object_model().input_shape.members["ACL"].enum)


@functools.cache
def _aws_regions() -> tuple[list[str], list[str]]:
    """Region names botocore knows for S3, and the patterns of every AWS partition."""
    import botocore.session

    session = botocore.session.get_session()
    regions: list[str] = []
    for partition in session.get_available_partitions():
        regions += session.get_available_regions("s3", partition)
    patterns = [p["regionRegex"] for p in session.get_data("endpoints")["partitions"]]
    return regions, patterns


_DIGIT_LOOKALIKES = str.maketrans("lIi|oO", "111100")

_BUCKET_RULE = (
    "S3 bucket names are 3 to 63 lowercase letters, digits, dots and hyphens (older buckets: "
    "also capitals and underscores), or an access point ARN."
)


def _bucket_problem(name: Any) -> str | None:
    from botocore.handlers import VALID_BUCKET, VALID_S3_ARN

    if not isinstance(name, str):
        return f"a bucket name must be a string, not a {type(name).__name__}"
    if VALID_S3_ARN.search(name):
        return None
    if not VALID_BUCKET.search(name):
        return "not a name S3 accepts for a bucket (botocore refuses it before any request)"
    if len(name) < 3:
        return "too short for a bucket name"
    return None


def _on_aws(storage: Any) -> bool:
    endpoint = getattr(storage, "endpoint_url", None)
    host = urlsplit(str(endpoint)).hostname if endpoint else None
    return not endpoint or bool(host and host.endswith(".amazonaws.com"))


def system_checks(storage: Any, alias: str) -> list[checks.CheckMessage]:
    """S3's value rules (no network): endpoints, choices, lifetimes, bucket name, upload
    parameters and region. Choices and keys come from the installed botocore and s3transfer."""
    found: list[checks.CheckMessage] = []
    for option in ("endpoint_url", "public_endpoint_url"):
        found += bad_endpoint(alias, storage, option, getattr(storage, option, None))
    if getattr(storage, "client_config", None) is None:  # a Config given whole is used as is
        found += bad_choice(
            alias, storage, "addressing_style", storage.addressing_style, ADDRESSING_STYLES
        )
        from botocore.auth import AUTH_TYPE_MAPS

        found += bad_choice(
            alias, storage, "signature_version", storage.signature_version, AUTH_TYPE_MAPS
        )
    acls = _canned_acls()
    found += bad_choice(alias, storage, "default_acl", storage.default_acl, acls)
    found += bad_seconds(alias, storage, "querystring_expire", storage.querystring_expire)
    bucket = storage.bucket_name
    if bucket and (problem := _bucket_problem(bucket)):
        found.append(
            bad_value(alias, storage, "bucket_name", bucket, problem, _BUCKET_RULE, "E006")
        )
    params = storage.object_parameters
    if isinstance(params, dict):
        found += bad_keys(alias, storage, "object_parameters", params, _upload_keys())
        if isinstance(params.get("ACL"), str) and params["ACL"] not in acls:
            close = difflib.get_close_matches(params["ACL"], acls, n=1)
            found.append(
                bad_value(
                    alias,
                    storage,
                    "object_parameters",
                    params,
                    f"its ACL {params['ACL']!r} is not a canned ACL",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "Valid values: "
                    + ", ".join(map(repr, sorted(acls)))
                    + ".",
                    "E004",
                )
            )
    region = storage.region_name
    if is_set(region) and _on_aws(storage):
        regions, patterns = _aws_regions()
        if region not in regions and not any(re.match(p, str(region)) for p in patterns):
            # A letter typed for a digit (us-east-l, eu-west-I) first, then the closest name.
            head, _, tail = str(region).rpartition("-")
            typo = f"{head}-{tail.translate(_DIGIT_LOOKALIKES)}"
            close = [typo] if typo in regions else difflib.get_close_matches(region, regions, n=1)
            found.append(
                bad_value(
                    alias,
                    storage,
                    "region_name",
                    region,
                    "not an AWS region name",
                    (f"Did you mean {close[0]!r}? " if close else "")
                    + "AWS regions look like 'eu-west-1'; with an S3-compatible service, set "
                    "its endpoint_url too.",
                    "E008",
                )
            )
    return found

"""System checks (storages/checks.py): each fires on a configuration with the problem, stays silent
without it."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from storages.checks import check_storage_secrets, check_storages
from storages.testing.suite import use_storages

S3 = "storages.backends.s3.S3Storage"
KEY, SECRET = "AKIAEXAMPLEKEY", "an-example-secret-0123456789"


@pytest.fixture
def env(monkeypatch):
    """Credentials from the environment, as in production."""
    monkeypatch.setenv("STORAGES_TEST_KEY", KEY)
    monkeypatch.setenv("STORAGES_TEST_SECRET", SECRET)
    return monkeypatch


def good_s3(**extra) -> dict:
    import os

    return {
        "BACKEND": S3,
        "OPTIONS": {
            "bucket_name": "media",
            "access_key": os.environ["STORAGES_TEST_KEY"],
            "secret_key": os.environ["STORAGES_TEST_SECRET"],
            "file_overwrite": False,
            "endpoint_url": "https://s3.eu-west-1.amazonaws.com",
            **extra,
        },
    }


def good_static(**extra) -> dict:
    return {
        "BACKEND": "storages.backends.s3.S3StaticStorage",
        "OPTIONS": {**good_s3()["OPTIONS"], **extra},
    }


def ids(settings, mapping, *, deploy=False) -> list[str]:
    use_storages(settings, mapping)
    found = check_storages()
    if deploy:
        found += check_storage_secrets()
    return sorted(m.id for m in found)


def test_a_good_configuration_is_silent(settings, env):
    assert ids(settings, {"default": good_s3(), "staticfiles": good_static()}, deploy=True) == []


@pytest.mark.parametrize(
    "backend, expected",
    [
        ("storages.backends.s4.S3Storage", "Did you mean 'storages.backends.s3.S3Storage'?"),
        ("storages.backends.s3.S3Storag", "Did you mean 'storages.backends.s3.S3Storage'?"),
        ("django.conf.settings", "Storage class"),
    ],
)
def test_unknown_backend(settings, env, backend, expected):
    use_storages(settings, {"default": {"BACKEND": backend}, "staticfiles": good_static()})
    [message] = check_storages()
    assert message.id == "storages.E001"
    assert 'STORAGES["default"]["BACKEND"]' in message.msg
    assert expected in (message.hint or "") + message.msg


def test_options_the_backend_refuses(settings, env):
    use_storages(settings, {"default": good_s3(bucket="typo"), "staticfiles": good_static()})
    [message] = check_storages()
    assert message.id == "storages.E002"
    assert "'bucket'" in message.msg and "bucket_name" in message.msg


def test_half_set_credentials(settings, env):
    config = good_s3()
    del config["OPTIONS"]["secret_key"]
    use_storages(settings, {"default": config, "staticfiles": good_static()})
    [message] = check_storages()
    assert message.id == "storages.W001"
    assert "AWS_S3_ACCESS_KEY_ID" in message.msg and "AWS_S3_SECRET_ACCESS_KEY" in message.msg
    assert SECRET not in message.msg and KEY not in message.msg


def test_missing_credentials(settings, env, tmp_path):
    config = good_s3()
    del config["OPTIONS"]["secret_key"], config["OPTIONS"]["access_key"]
    # boto3's own chain (environment, shared files) finds nothing either.
    assert ids(settings, {"default": config, "staticfiles": good_static()}) == ["storages.W002"]
    message = check_storages()[0]
    assert (
        "AWS_S3_ACCESS_KEY_ID + AWS_S3_SECRET_ACCESS_KEY or AWS_S3_SESSION_PROFILE" in message.hint
    )
    # ... but it does find a shared credentials file: silent.
    creds = tmp_path / "credentials"
    creds.write_text(f"[default]\naws_access_key_id = {KEY}\naws_secret_access_key = {SECRET}\n")
    env.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    assert ids(settings, {"default": config, "staticfiles": good_static()}) == []


def test_missing_credentials_azure(settings, env):
    azure = "storages.backends.azure_storage.AzureStorage"
    bare = {
        "BACKEND": azure,
        "OPTIONS": {"account_name": "acct", "azure_container": "media", "expiration_secs": 600},
    }
    assert ids(settings, {"default": bare, "staticfiles": good_static()}) == ["storages.W002"]
    env.setenv("STORAGES_TEST_AZ", "a2V5")
    keyed = {"BACKEND": azure, "OPTIONS": {**bare["OPTIONS"], "account_key": "a2V5"}}
    assert ids(settings, {"default": keyed, "staticfiles": good_static()}, deploy=True) == []


@pytest.mark.parametrize(
    "options, label",
    [
        ({"endpoint_url": "http://minio.example.com:9000"}, "AWS_S3_ENDPOINT_URL"),
        ({"endpoint_url": "https://s3.example.com", "use_ssl": False}, "AWS_S3_USE_SSL"),
    ],
)
def test_plain_http_to_a_remote_host(settings, env, options, label):
    use_storages(settings, {"default": good_s3(**options), "staticfiles": good_static()})
    [message] = check_storages()
    assert message.id == "storages.W003"
    assert label in message.msg


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:9000", "http://localhost:9000", "http://minio:9000", "http://[::1]:9000"],
)
def test_plain_http_to_a_local_host_is_fine(settings, env, endpoint):
    assert (
        ids(settings, {"default": good_s3(endpoint_url=endpoint), "staticfiles": good_static()})
        == []
    )


def test_plain_http_in_other_backends(settings, env):
    ftp = {
        "BACKEND": "storages.backends.ftp.FTPStorage",
        "OPTIONS": {
            "location": "ftp://user:pw@files.example.com:21/media/",
            "allow_overwrite": False,
        },
    }
    use_storages(settings, {"default": ftp, "staticfiles": good_static()})
    [message] = check_storages()
    assert (message.id, "FTP without TLS" in message.msg) == ("storages.W003", True)
    assert "pw" not in message.msg.replace("plain", "")
    conn = (
        "DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=a2V5;"
        "EndpointSuffix=core.windows.net"
    )
    azure = {
        "BACKEND": "storages.backends.azure_storage.AzureStorage",
        "OPTIONS": {"connection_string": conn, "azure_container": "media", "expiration_secs": 600},
    }
    assert ids(settings, {"default": azure, "staticfiles": good_static()}) == ["storages.W003"]
    https = {
        **azure,
        "OPTIONS": {**azure["OPTIONS"], "connection_string": conn.replace("=http;", "=https;")},
    }
    assert ids(settings, {"default": https, "staticfiles": good_static()}) == []


def test_verify_false(settings, env):
    use_storages(settings, {"default": good_s3(verify=False), "staticfiles": good_static()})
    [message] = check_storages()
    assert message.id == "storages.W004" and "AWS_S3_VERIFY" in message.msg
    assert (
        ids(settings, {"default": good_s3(verify="/etc/ssl/ca.pem"), "staticfiles": good_static()})
        == []
    )


def test_public_acl_on_media(settings, env):
    use_storages(
        settings, {"default": good_s3(default_acl="public-read"), "staticfiles": good_static()}
    )
    [message] = check_storages()
    assert message.id == "storages.W005" and "AWS_DEFAULT_ACL" in message.msg
    params = good_s3(object_parameters={"ACL": "public-read", "CacheControl": "max-age=60"})
    assert ids(settings, {"default": params, "staticfiles": good_static()}) == ["storages.W005"]
    # Static files are meant to be public.
    assert (
        ids(settings, {"default": good_s3(), "staticfiles": good_static(default_acl="public-read")})
        == []
    )


def test_unsigned_urls_on_private_media(settings, env):
    use_storages(
        settings, {"default": good_s3(querystring_auth=False), "staticfiles": good_static()}
    )
    [message] = check_storages()
    assert message.id == "storages.W006" and "AWS_QUERYSTRING_AUTH" in message.msg
    custom = good_s3(custom_domain="cdn.example.com")
    assert ids(settings, {"default": custom, "staticfiles": good_static()}) == ["storages.W006"]
    gcs = {
        "BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
        "OPTIONS": {
            "bucket_name": "media",
            "querystring_auth": False,
            "file_overwrite": False,
            "client_options": {"api_endpoint": "http://127.0.0.1:4443"},
        },
    }
    assert ids(settings, {"default": gcs, "staticfiles": good_static()}) == ["storages.W006"]
    # Public objects behind unsigned URLs are consistent (W005 says they are public).
    public = good_s3(querystring_auth=False, default_acl="public-read")
    assert ids(settings, {"default": public, "staticfiles": good_static()}) == ["storages.W005"]
    azure = {
        "BACKEND": "storages.backends.azure_storage.AzureStorage",
        "OPTIONS": {"account_name": "acct", "account_key": "a2V5", "azure_container": "media"},
    }
    env.setenv("STORAGES_TEST_AZ", "a2V5")
    assert ids(settings, {"default": azure, "staticfiles": good_static()}) == ["storages.W006"]


def test_file_overwrite_on_media(settings, env):
    config = good_s3()
    del config["OPTIONS"]["file_overwrite"]  # S3's default is True (as in 1.14)
    use_storages(settings, {"default": config, "staticfiles": good_static()})
    [message] = check_storages()
    assert message.id == "storages.W007" and "AWS_S3_FILE_OVERWRITE" in message.msg
    # collectstatic overwrites static files on purpose.
    assert (
        ids(settings, {"default": good_s3(), "staticfiles": good_static(file_overwrite=True)}) == []
    )


def test_literal_secrets_warn_only_on_deploy(settings, env):
    literal = good_s3(secret_key="typed-into-settings-py-123")
    use_storages(settings, {"default": literal, "staticfiles": good_static()})
    assert check_storages() == []
    [message] = check_storage_secrets()
    assert message.id == "storages.W008"
    assert 'STORAGES["default"]["OPTIONS"]["secret_key"]' in message.msg
    assert "typed-into-settings-py-123" not in message.msg + message.hint
    assert "AWS_S3_SECRET_ACCESS_KEY" in message.hint
    settings.AWS_SECRET_ACCESS_KEY = "another-literal-secret"
    use_storages(settings, {"default": good_s3(), "staticfiles": good_static()})
    assert [m.msg.split(": ")[1].split(" ")[0] for m in check_storage_secrets()] == [
        "AWS_SECRET_ACCESS_KEY"
    ]


def test_manage_py_check_runs_them(settings, env):
    use_storages(
        settings, {"default": good_s3(querystring_auth=False), "staticfiles": good_static()}
    )
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "storages.W006" in out.getvalue()
    use_storages(
        settings,
        {"default": good_s3(secret_key="typed-into-settings-py-123"), "staticfiles": good_static()},
    )
    out = io.StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "storages.W008" not in out.getvalue()
    with pytest.raises(SystemCheckError, match="storages.W008"):
        call_command("check", "--deploy", "--fail-level", "WARNING", stdout=out, stderr=out)

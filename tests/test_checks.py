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
        (
            "storages.backends.gcloud.GoogleCloudStorag",
            "Did you mean 'storages.backends.gcloud.GoogleCloudStorage'?",
        ),
        (
            "storages.backends.sftp.SFTPStorage",
            "Did you mean 'storages.backends.sftpstorage.SFTPStorage'?",
        ),
        (
            "django.core.files.storage.FileSystemStorge",
            "Did you mean 'django.core.files.storage.FileSystemStorage'?",
        ),
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


# -- values, not only presence (issue 19) ----------------------------------------------------


def findings(settings, config: dict) -> list:
    use_storages(settings, {"default": config, "staticfiles": good_static()})
    return check_storages()


@pytest.mark.parametrize(
    "options, code, where, hint",
    [
        ({"bucket_name": ""}, "E002", "AWS_STORAGE_BUCKET_NAME", "AWS_STORAGE_BUCKET_NAME"),
        ({"bucket_name": None}, "E002", "AWS_STORAGE_BUCKET_NAME", "existing bucket"),
        (
            {"endpoint_url": "127.0.0.1:9000"},
            "E003",
            "AWS_S3_ENDPOINT_URL",
            "http://127.0.0.1:9000",
        ),
        (
            {"endpoint_url": "htp://s3.example.com"},
            "E003",
            "AWS_S3_ENDPOINT_URL",
            "Did you mean http://s3.example.com?",
        ),
        ({"endpoint_url": "not a url"}, "E003", "AWS_S3_ENDPOINT_URL", "https://host:port"),
        (
            {"public_endpoint_url": "cdn.example.com"},
            "E003",
            "AWS_S3_PUBLIC_ENDPOINT_URL",
            "https://cdn.example.com",
        ),
        ({"addressing_style": "paht"}, "E004", "AWS_S3_ADDRESSING_STYLE", "'path'"),
        ({"signature_version": "s4"}, "E004", "AWS_S3_SIGNATURE_VERSION", "'s3v4'"),
        ({"default_acl": "publc-read"}, "E004", "AWS_DEFAULT_ACL", "Did you mean 'public-read'?"),
        ({"object_parameters": {"ACL": "privat"}}, "E004", "object_parameters", "'private'"),
        ({"querystring_expire": "an hour"}, "E005", "AWS_QUERYSTRING_EXPIRE", "3600"),
        ({"querystring_expire": -5}, "E005", "AWS_QUERYSTRING_EXPIRE", "seconds"),
        ({"bucket_name": "My_Bucket!"}, "E006", "AWS_STORAGE_BUCKET_NAME", "3 to 63"),
        (
            {"object_parameters": {"CacheControll": "max-age=60"}},
            "E007",
            "AWS_S3_OBJECT_PARAMETERS",
            "Did you mean 'CacheControl'?",
        ),
        (
            {"region_name": "us-east-l"},
            "E008",
            "AWS_S3_REGION_NAME",
            "Did you mean 'us-east-1'?",
        ),
    ],
)
def test_s3_values(settings, env, options, code, where, hint):
    [message] = findings(settings, good_s3(**options))
    assert message.id == f"storages.{code}", message
    assert where in message.msg
    assert hint in message.hint
    assert message.level == 40  # an error: `manage.py check` exits non-zero


@pytest.mark.parametrize(
    "options",
    [
        {"endpoint_url": "http://127.0.0.1:9000", "region_name": "us-east-l"},  # not AWS: any
        {"region_name": "eu-south-2", "addressing_style": "virtual", "signature_version": "s3v4"},
        {"querystring_expire": "3600", "default_acl": "private"},  # from the environment
        {"object_parameters": {"CacheControl": "max-age=60", "ContentDisposition": "inline"}},
        {"bucket_name": "arn:aws:s3:eu-west-1:123456789012:accesspoint/media"},
        {"bucket_name": "Legacy_Bucket"},  # us-east-1 buckets made before 2018 may look so
        {"endpoint_url": "https://[::1]:9000", "public_endpoint_url": "https://cdn.example.com"},
    ],
)
def test_s3_good_values_are_silent(settings, env, options):
    assert findings(settings, good_s3(**options)) == []


def test_values_in_global_settings_are_named(settings, env):
    config = good_s3()
    del config["OPTIONS"]["bucket_name"]
    settings.AWS_STORAGE_BUCKET_NAME = "My_Bucket!"
    settings.AWS_QUERYSTRING_EXPIRE = "an hour"
    found = findings(settings, config)
    # The static storage reads AWS_QUERYSTRING_EXPIRE too.
    assert sorted((m.obj, m.id) for m in found) == [
        ("default", "storages.E005"),
        ("default", "storages.E006"),
        ("staticfiles", "storages.E005"),
    ]
    assert all("OPTIONS[" in m.msg and "AWS_" in m.msg for m in found)


def test_manage_py_check_fails_on_a_bad_value(settings, env):
    use_storages(
        settings, {"default": good_s3(default_acl="publc-read"), "staticfiles": good_static()}
    )
    out = io.StringIO()
    with pytest.raises(SystemCheckError, match=r"storages\.E004"):
        call_command("check", stdout=out, stderr=out)


GCS = "storages.backends.gcloud.GoogleCloudStorage"
AZURE = "storages.backends.azure_storage.AzureStorage"


def good_gcs(**extra) -> dict:
    options = {
        "bucket_name": "media",
        "file_overwrite": False,
        "client_options": {"api_endpoint": "http://127.0.0.1:4443"},
        **extra,
    }
    return {"BACKEND": GCS, "OPTIONS": options}


def good_azure(**extra) -> dict:
    options = {
        "account_name": "acct",
        "account_key": "a2V5",
        "azure_container": "media",
        "expiration_secs": 600,
        **extra,
    }
    return {"BACKEND": AZURE, "OPTIONS": options}


@pytest.mark.parametrize(
    "config, code, where, hint",
    [
        (good_gcs(bucket_name=""), "E002", "GS_BUCKET_NAME", "GS_BUCKET_NAME"),
        (good_gcs(custom_endpoint="cdn.example.com"), "E003", "GS_CUSTOM_ENDPOINT", "https://"),
        (
            good_gcs(client_options={"api_endpoint": "127.0.0.1:4443"}),
            "E003",
            "GS_CLIENT_OPTIONS, key 'api_endpoint', is '127.0.0.1:4443'",
            "http://127.0.0.1:4443",
        ),
        (good_gcs(default_acl="publc-read"), "E004", "GS_DEFAULT_ACL", "'publicRead'"),
        (good_gcs(default_acl="public-read"), "E004", "GS_DEFAULT_ACL", "'publicRead'"),
        (good_gcs(expiration="an hour"), "E002", "GS_EXPIRATION", ""),
        (good_gcs(bucket_name="My_Bucket!"), "E006", "GS_BUCKET_NAME", "3 to 63"),
        (
            good_gcs(object_parameters={"cache_controll": "no-cache"}),
            "E002",
            "GS_OBJECT_PARAMETERS",
            "",
        ),
        (good_azure(azure_container=""), "E002", "AZURE_CONTAINER", "AZURE_CONTAINER"),
        (good_azure(azure_container="My_Container"), "E006", "AZURE_CONTAINER", "3 to 63"),
        (good_azure(expiration_secs="an hour"), "E005", "AZURE_URL_EXPIRATION_SECS", "3600"),
        (
            good_azure(custom_domain="https://cdn.example.com/"),
            "E003",
            "AZURE_CUSTOM_DOMAIN",
            "'cdn.example.com'",
        ),
        (
            good_azure(object_parameters={"cache_controll": "no-cache"}),
            "E002",
            "AZURE_OBJECT_PARAMETERS",
            "",
        ),
    ],
)
def test_gcs_and_azure_values(settings, env, config, code, where, hint):
    found = findings(settings, config)
    # Others may come too (W005 for a public ACL, W002 once the emulator's address is broken).
    assert {m.id for m in found} - {f"storages.{code}"} <= {"storages.W002", "storages.W005"}
    [message] = [m for m in found if m.id == f"storages.{code}"]
    assert message.id == f"storages.{code}", message
    assert where in message.msg
    assert hint in (message.hint or "")


def test_gcs_and_azure_good_values_are_silent(settings, env):
    assert findings(settings, good_gcs(default_acl="private", bucket_name="my.media_1")) == []
    assert findings(settings, good_azure(azure_container="$web", custom_domain="cdn.x.net")) == []


CHECK_WITHOUT = """
import sys
sys.modules[{module!r}] = None  # the SDK is not installed
import django
from django.conf import settings
settings.configure(
    INSTALLED_APPS=["storages", "django.contrib.staticfiles"],
    STATIC_URL="/static/",
    STORAGES={{
        "default": {{"BACKEND": {backend!r}, "OPTIONS": {{}}}},
        "staticfiles": {{"BACKEND": {backend!r}, "OPTIONS": {{}}}},
    }},
)
django.setup()
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "check", "--deploy"])  # both storages checks run
"""


@pytest.mark.parametrize(
    "module, backend, extra",
    [
        ("google.cloud.storage", GCS, "google"),
        ("azure.storage.blob", AZURE, "azure"),
        ("boto3", S3, "s3"),
        ("dropbox", "storages.backends.dropbox.DropboxStorage", "dropbox"),
        ("paramiko", "storages.backends.sftpstorage.SFTPStorage", "sftp"),
        ("libcloud", "storages.backends.apache_libcloud.LibCloudStorage", "libcloud"),
    ],
)
def test_a_missing_sdk_is_an_error_naming_the_extra(module, backend, extra):
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parent.parent
    script = CHECK_WITHOUT.format(module=module, backend=backend)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 1, done.stderr
    assert "SystemCheckError: System check identified some issues" in done.stderr
    assert "(storages.E009)" in done.stderr
    assert f"pip install 'django-storages[{extra}]'" in done.stderr
    assert 'STORAGES["default"]' in done.stderr and 'STORAGES["staticfiles"]' in done.stderr

"""``manage.py checkstorages``: the live round trip passes on every backend's test server, and a
broken configuration fails at the right step, naming the cause and the setting, without leaving the
scratch file."""

from __future__ import annotations

import io
import json
import re
import uuid
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command

from storages.management.commands import checkstorages
from storages.testing.suite import use_storages
from tests.backends.test_azure import azurite  # noqa: F401  (session fixtures of the backend tests)
from tests.backends.test_azure import options as azure_options
from tests.backends.test_dropbox import dropbox_server  # noqa: F401
from tests.backends.test_ftp import ftp_http, ftp_options, ftp_server, vsftpd_server  # noqa: F401
from tests.backends.test_gcloud import gcs_options, gcs_server, sa_info, token_server  # noqa: F401
from tests.backends.test_sftp import sftp_data, sftp_http, sftp_options, sftp_server  # noqa: F401
from tests.servers import free_port
from tests.servers.s3 import ACCESS_KEY, SECRET_KEY

BUCKET = "live-check"
S3 = "storages.backends.s3.S3Storage"
STATIC = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}


@pytest.fixture(scope="module")
def s3_server(moto_server):
    moto_server.create_bucket(BUCKET)
    return moto_server


def s3(server, **extra) -> dict:
    return {
        "BACKEND": S3,
        "OPTIONS": {
            "bucket_name": BUCKET,
            "endpoint_url": server.endpoint,
            "region_name": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "location": f"live/{uuid.uuid4().hex[:8]}",
            **extra,
        },
    }


def run(settings, mapping: dict, *aliases: str) -> tuple[int, dict]:
    use_storages(settings, {**mapping, "staticfiles": STATIC})
    out = io.StringIO()
    code = 0
    try:
        call_command("checkstorages", *aliases, "--json", stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, json.loads(out.getvalue())


def steps(result: dict, alias: str) -> dict[str, dict]:
    return {s["step"]: s for s in result["storages"][alias]["steps"]}


def scratch_left(storage) -> list[str]:
    try:
        return storage.listdir(checkstorages.SCRATCH_DIR)[1]
    except FileNotFoundError:
        return []


def test_passes_on_every_backend(
    settings,
    s3_server,
    azurite,
    gcs_server,
    sa_info,
    sftp_server,
    sftp_data,
    sftp_http,
    ftp_server,
    ftp_http,
    dropbox_server,
    tmp_path,
):
    settings.LIBCLOUD_PROVIDERS = {
        "local": {"type": "local", "user": str(tmp_path), "bucket": "container"}
    }
    (tmp_path / "container").mkdir()
    mapping = {
        "default": s3(s3_server, file_overwrite=False),
        "azure": {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": azure_options(azurite),
        },
        "gcs": {
            "BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
            "OPTIONS": gcs_options(gcs_server, sa_info),
        },
        "sftp": {
            "BACKEND": "storages.backends.sftpstorage.SFTPStorage",
            "OPTIONS": sftp_options(sftp_server, sftp_data, sftp_http),
        },
        "ftp": {
            "BACKEND": "storages.backends.ftp.FTPStorage",
            "OPTIONS": ftp_options(ftp_server, ftp_http),
        },
        "dropbox": {
            "BACKEND": "storages.backends.dropbox.DropboxStorage",
            "OPTIONS": dropbox_server.options(root_path=f"/live/{uuid.uuid4().hex[:8]}"),
        },
        "libcloud": {
            "BACKEND": "storages.backends.apache_libcloud.LibCloudStorage",
            "OPTIONS": {"provider_name": "local", "base_url": "/media/"},
        },
    }
    code, result = run(settings, mapping, *mapping)
    assert code == 0, json.dumps(result, indent=1)
    assert result["ok"] is True
    for alias in mapping:
        found = steps(result, alias)
        assert [found[s]["status"] for s in ("write", "stat", "read", "list", "delete")] == [
            "ok"
        ] * 5, alias
        assert all(s["ms"] >= 0 for s in found.values())
        from django.core.files.storage import storages

        assert scratch_left(storages[alias]) == [], alias
    for alias in ("default", "azure", "gcs", "sftp", "ftp", "dropbox"):
        assert steps(result, alias)["url"]["status"] == "ok", alias
        assert steps(result, alias)["url"]["detail"].startswith("GET http")
    assert steps(result, "libcloud")["url"]["status"] == "skipped"
    for alias in ("default", "azure", "gcs"):
        assert steps(result, alias)["upload_url"]["status"] == "ok", alias
    assert steps(result, "sftp")["upload_url"]["status"] == "skipped"
    assert abs(float(steps(result, "default")["clock"]["detail"].split()[0])) < 60
    assert SECRET_KEY not in json.dumps(result)


def test_text_output_and_named_aliases(settings, s3_server):
    use_storages(
        settings,
        {
            "default": s3(s3_server),
            "other": s3(s3_server, bucket_name="no-such-bucket"),
            "staticfiles": STATIC,
        },
    )
    out = io.StringIO()
    call_command("checkstorages", "default", stdout=out)
    text = out.getvalue()
    for step in ("write", "stat", "read", "list", "url", "upload_url", "delete", "clock"):
        assert f"  {step}" in text
    assert "1 of 1 storage(s) passed" in text
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("checkstorages", "other", stdout=out)
    assert exit_info.value.code == 1
    assert (
        "FAILED" in out.getvalue()
        and "check: " in out.getvalue()
        and "failed: other" in out.getvalue()
    )


@pytest.mark.parametrize("case", ["credentials", "bucket", "endpoint", "dns", "tls"])
def test_broken_configurations(settings, s3_server, moto_auth_server, dropbox_server, case):
    options = {
        "credentials": {"endpoint_url": moto_auth_server.endpoint},
        "bucket": {"bucket_name": "no-such-bucket"},
        "endpoint": {"endpoint_url": f"http://127.0.0.1:{free_port()}"},
        "dns": {"endpoint_url": "http://storage.does-not-exist.invalid:9000"},
        # a TLS server whose certificate this machine does not trust
        "tls": {"endpoint_url": f"https://{dropbox_server.host}"},
    }[case]
    expected = {
        "credentials": ("permission denied on write (upload)", "AWS_S3_ACCESS_KEY_ID"),
        "bucket": ("does not exist", 'OPTIONS["bucket_name"] or AWS_STORAGE_BUCKET_NAME'),
        "endpoint": ("could not be reached", "AWS_S3_ENDPOINT_URL"),
        "dns": ("DNS", "AWS_S3_ENDPOINT_URL"),
        "tls": ("TLS failure", "AWS_S3_VERIFY"),
    }[case]
    code, result = run(settings, {"default": s3(s3_server, **options)})
    assert code == 1 and result["ok"] is False
    found = result["storages"]["default"]["steps"]
    assert [s["step"] for s in found] == ["write"]  # nothing else can work: stop there
    assert found[0]["status"] == "failed"
    cause, setting = expected
    assert cause in found[0]["cause"], found[0]
    assert setting in found[0]["setting"], found[0]
    assert SECRET_KEY not in json.dumps(result)


def test_private_objects_behind_unsigned_urls(settings, s3_server):
    code, result = run(settings, {"default": s3(s3_server, querystring_auth=False)})
    assert code == 1
    found = steps(result, "default")
    assert found["url"]["status"] == "failed"
    assert "HTTP 403" in found["url"]["cause"] and "unsigned" in found["url"]["cause"]
    assert "AWS_QUERYSTRING_AUTH" in found["url"]["setting"]
    # The steps after it still ran, and the scratch file is gone.
    assert found["delete"]["status"] == "ok"
    assert "cleanup" not in found
    from django.core.files.storage import storages

    assert scratch_left(storages["default"]) == []


def test_scratch_file_removed_when_a_middle_step_fails(settings, s3_server, monkeypatch):
    from storages.backends.s3 import S3Storage

    def broken_listdir(self, path):
        raise PermissionError(13, "S3Storage was denied access to list (AccessDenied)")

    monkeypatch.setattr(S3Storage, "listdir", broken_listdir)
    code, result = run(settings, {"default": s3(s3_server)})
    found = steps(result, "default")
    assert code == 1 and found["list"]["status"] == "failed"
    assert found["list"]["cause"].startswith("permission denied on list")
    monkeypatch.undo()
    from django.core.files.storage import storages

    assert scratch_left(storages["default"]) == []


def test_clock_skew_from_the_server_date(settings, s3_server, monkeypatch):
    # The test servers share this machine's clock: put ours an hour ahead to see the report.
    real = checkstorages.now
    monkeypatch.setattr(checkstorages, "now", lambda: real() + 3600)
    code, result = run(settings, {"default": s3(s3_server)})
    clock = steps(result, "default")["clock"]
    assert code == 1 and clock["status"] == "failed"
    assert "ahead of" in clock["cause"] and clock["setting"] == "the system clock (NTP)"
    assert 3500 < float(clock["detail"].split()[0]) < 3700


def test_unknown_alias(settings, s3_server):
    from django.core.management.base import CommandError

    use_storages(settings, {"default": s3(s3_server), "staticfiles": STATIC})
    with pytest.raises(CommandError, match="No storage alias 'nope'"):
        call_command("checkstorages", "nope")


@pytest.mark.parametrize(
    "case",
    [
        "azure-credentials",
        "gcs-bucket",
        "ftp-credentials",
        "dropbox-credentials",
        "sftp-unreachable",
    ],
)
def test_broken_configurations_of_other_backends(settings, case, request):
    from tests.backends.test_azure import WRONG_KEY

    if case == "azure-credentials":
        server = request.getfixturevalue("azurite")
        config = {
            "BACKEND": "storages.backends.azure_storage.AzureStorage",
            "OPTIONS": azure_options(server, connection_string=server.connection_string(WRONG_KEY)),
        }
        expected = ("permission denied on write", "AZURE_ACCOUNT_KEY / AZURE_CONNECTION_STRING")
    elif case == "gcs-bucket":
        server, info = request.getfixturevalue("gcs_server"), request.getfixturevalue("sa_info")
        config = {
            "BACKEND": "storages.backends.gcloud.GoogleCloudStorage",
            "OPTIONS": gcs_options(server, info, bucket_name="no-such-bucket"),
        }
        expected = ("does not exist", "GS_BUCKET_NAME")
    elif case == "ftp-credentials":
        from tests.servers.ftp import FTPServer

        server = request.getfixturevalue("ftp_server")
        wrong = FTPServer(
            root=server.root,
            port=server.port,
            scheme="ftp",
            user=server.user,
            password="not-the-password-42",
            process=None,
        )
        config = {"BACKEND": "storages.backends.ftp.FTPStorage", "OPTIONS": ftp_options(wrong)}
        expected = ("permission denied on write", "FTP_STORAGE_LOCATION")
    elif case == "dropbox-credentials":
        server = request.getfixturevalue("dropbox_server")
        config = {
            "BACKEND": "storages.backends.dropbox.DropboxStorage",
            "OPTIONS": server.options(oauth2_access_token="not-the-token", root_path="/live"),
        }
        expected = ("permission denied on write", "DROPBOX_OAUTH2_TOKEN")
    else:
        server, data = request.getfixturevalue("sftp_server"), request.getfixturevalue("sftp_data")
        config = {
            "BACKEND": "storages.backends.sftpstorage.SFTPStorage",
            "OPTIONS": sftp_options(
                server, data, params=server.params(port=free_port(), timeout=5)
            ),
        }
        expected = ("could not be reached", "SFTP_STORAGE_")
    code, result = run(settings, {"default": config}, "default")
    found = result["storages"]["default"]["steps"]
    assert code == 1 and [s["step"] for s in found] == ["write"] and found[0]["status"] == "failed"
    assert expected[0] in found[0]["cause"], found[0]
    assert expected[1] in found[0]["setting"], found[0]


def test_manifest_static_storage(settings, s3_server):
    # Static files are public: the bucket grants public reads through the ACL the storage sets.
    static = s3(s3_server, default_acl="public-read")
    static["BACKEND"] = "storages.backends.s3.S3ManifestStaticStorage"
    settings.DEBUG = False
    code, result = run(settings, {"default": s3(s3_server), "static": static}, "static")
    found = steps(result, "static")
    assert code == 0 and found["url"]["status"] == "ok", found["url"]


def test_cors_rules_for_direct_uploads(settings, s3_server, monkeypatch):
    import sys
    import types

    _, result = run(settings, {"default": s3(s3_server)}, "default")
    assert steps(result, "default")["cors"]["status"] == "skipped"  # no --origin
    # storages.direct.cors (the direct-upload feature) answers the question; stand in for it here
    # with the answer it gives for a bucket without a matching rule.
    seen = []
    cors = types.ModuleType("storages.direct.cors")
    cors.check_cors = lambda storage, origin: (
        seen.append(origin)
        or [
            f"S3 bucket {storage.bucket_name!r} has no CORS rule allowing direct uploads from the "
            "browser"
        ]
    )
    monkeypatch.setitem(
        sys.modules,
        "storages.direct",
        sys.modules.get("storages.direct") or types.ModuleType("storages.direct"),
    )
    monkeypatch.setitem(sys.modules, "storages.direct.cors", cors)
    use_storages(settings, {"default": s3(s3_server), "staticfiles": STATIC})
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "checkstorages", "default", "--json", "--origin", "https://app.example.com", stdout=out
        )
    found = steps(json.loads(out.getvalue()), "default")["cors"]
    assert seen == ["https://app.example.com"] and found["status"] == "failed"
    assert found["cause"] == "browsers on https://app.example.com can't upload directly"
    assert "no CORS rule" in found["detail"] and "CORS rules" in found["setting"]


# -- the scratch folder, where folders are real --------------------------------------------------
FOLDERS = checkstorages.SCRATCH_DIR


def folder_config(request, kind: str, base_url: str, tmp_path) -> tuple[dict, object]:
    """(STORAGES entry, the storage's root folder on disk) of a backend whose folders are real."""
    if kind == "sftp":
        options = sftp_options(
            request.getfixturevalue("sftp_server"),
            request.getfixturevalue("sftp_data"),
            base_url=base_url,
        )
        return {
            "BACKEND": "storages.backends.sftpstorage.SFTPStorage",
            "OPTIONS": options,
        }, options["root_path"]
    if kind in ("ftp", "vsftpd"):
        server = request.getfixturevalue("ftp_server" if kind == "ftp" else "vsftpd_server")
        options = ftp_options(server, base_url=base_url)
        return {"BACKEND": "storages.backends.ftp.FTPStorage", "OPTIONS": options}, server.root / (
            server.writable or ""
        ) / options["location"].rsplit("/", 1)[1]
    if kind == "libcloud":
        request.getfixturevalue("settings").LIBCLOUD_PROVIDERS = {
            "local": {"type": "local", "user": str(tmp_path), "bucket": "container"}
        }
        (tmp_path / "container").mkdir(exist_ok=True)
        return {
            "BACKEND": "storages.backends.apache_libcloud.LibCloudStorage",
            "OPTIONS": {"provider_name": "local", "base_url": base_url},
        }, tmp_path / "container"
    return {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "media"), "base_url": base_url},
    }, tmp_path / "media"


@pytest.mark.parametrize("kind", ["sftp", "ftp", "vsftpd", "libcloud", "filesystem"])
def test_the_scratch_folder_goes_too_where_folders_are_real(settings, request, tmp_path, kind):
    from pathlib import Path

    from django.core.files.storage import storages

    # A passing check (url() is not HTTP: skipped), then one whose url step fails (nothing listens
    # there).
    for base_url, expected in (("/media/", 0), (f"http://127.0.0.1:{free_port()}/media/", 1)):
        config, root = folder_config(request, kind, base_url, tmp_path)
        code, result = run(settings, {"default": config}, "default")
        found = steps(result, "default")
        assert code == expected and found["delete"]["status"] == "ok" and "cleanup" not in found, (
            found
        )
        assert (found["url"]["status"] == "failed") is bool(expected)
        storage = storages["default"]
        assert FOLDERS not in storage.listdir("")[0], kind
        # The location itself stays.
        assert not (Path(root) / FOLDERS).exists() and Path(root).is_dir()
    # A file someone else put in the folder survives, and so does the folder.
    storage.save(f"{FOLDERS}/keep.txt", ContentFile(b"not the check's"))
    code, result = run(settings, {"default": config}, "default")
    assert code == 1 and "cleanup" not in steps(result, "default")
    storage = storages["default"]
    assert FOLDERS in storage.listdir("")[0] and storage.listdir(FOLDERS)[1] == ["keep.txt"]
    assert storage.open(f"{FOLDERS}/keep.txt").read() == b"not the check's"


def test_a_folder_the_server_refuses_to_remove_is_a_warning(
    settings, request, tmp_path, monkeypatch
):
    """vsftpd refuses (its user may no longer change the location folder): the check still passes
    and says which empty folder to remove by hand."""
    from pathlib import Path

    config, root = folder_config(request, "vsftpd", "/media/", tmp_path)
    cleanup = checkstorages.LiveCheck._cleanup

    def then_lock(check):
        cleanup(check)
        Path(root).chmod(0o555)

    monkeypatch.setattr(checkstorages.LiveCheck, "_cleanup", then_lock)
    try:
        code, result = run(settings, {"default": config}, "default")
    finally:
        Path(root).chmod(0o755)
    found = steps(result, "default")["cleanup"]
    assert code == 0 and result["ok"] is True
    assert (
        found["status"] == "warning"
        and f"could not remove the empty folder {FOLDERS}/" in found["detail"]
    )
    assert "remove it by hand" in found["cause"] and (Path(root) / FOLDERS).is_dir()
    use_storages(settings, {"default": config, "staticfiles": STATIC})
    out = io.StringIO()
    call_command("checkstorages", "default", stdout=out)
    assert "1 of 1 storage(s) passed" in out.getvalue()


def test_a_folder_made_before_a_failed_write_goes_too(settings, request, tmp_path, monkeypatch):
    """The folder was made, then the file refused (a quota, which the test server can't produce)."""
    import ftplib

    from django.core.files.storage import storages

    from storages.backends.ftp import FTPStorage

    def full(self, ftp, path, fileobj):
        raise ftplib.error_perm("552 Exceeded storage allocation")

    monkeypatch.setattr(FTPStorage, "_put", full)
    config, root = folder_config(request, "ftp", "/media/", tmp_path)
    code, result = run(settings, {"default": config}, "default")
    found = result["storages"]["default"]["steps"]
    assert code == 1 and [(s["step"], s["status"]) for s in found] == [("write", "failed")]
    assert "552" in found[0]["detail"]
    assert (
        FOLDERS not in storages["default"].listdir("")[0]
        and not (root / FOLDERS).exists()
        and root.is_dir()
    )


def test_a_scratch_file_that_stays_keeps_its_folder_without_a_second_report(
    settings, request, tmp_path, monkeypatch
):
    from storages.backends.ftp import FTPStorage

    def refused(self, name):
        raise PermissionError(13, f"FTPStorage was denied the delete of {name!r}", name)

    monkeypatch.setattr(FTPStorage, "delete", refused)
    config, root = folder_config(request, "ftp", "/media/", tmp_path)
    code, result = run(settings, {"default": config}, "default")
    found = [
        s for s in result["storages"]["default"]["steps"] if s["step"] in ("delete", "cleanup")
    ]
    assert code == 1 and [(s["step"], s["status"]) for s in found] == [
        ("delete", "failed"),
        ("cleanup", "failed"),
    ]
    assert "could not delete .storages-check/" in found[1]["detail"]
    assert len(list((root / FOLDERS).iterdir())) == 1  # the file that stayed, in its folder


# -- hung servers, static files on a private bucket, values refused at run time -----------------
def test_a_server_that_never_answers_is_a_read_timeout(settings, s3_server):
    """It accepts the connection and never answers: a read timeout, naming the setting and its
    value (not "could not be reached")."""
    from tests.servers.proxy import TCPProxy

    with TCPProxy("127.0.0.1", 9, mode="blackhole") as silent:
        options = {"endpoint_url": f"http://127.0.0.1:{silent.port}", "read_timeout": 1}
        code, result = run(settings, {"default": s3(s3_server, **options)})
    write = steps(result, "default")["write"]
    assert code == 1 and write["status"] == "failed"
    assert write["cause"].startswith("read timeout: the server accepted the connection"), write
    assert "within 1 s" in write["cause"]
    assert 'OPTIONS["read_timeout"] or AWS_S3_READ_TIMEOUT (now 1 s)' in write["setting"], write
    assert "AWS_S3_ENDPOINT_URL" in write["setting"]


def test_static_files_on_a_private_bucket(settings, s3_server):
    """README's minimal settings for static files on a private bucket: the url step's hint is a
    public-read bucket policy (or signing), not only querystring_auth."""
    static = s3(s3_server)
    static["BACKEND"] = "storages.backends.s3.S3StaticStorage"
    use_storages(settings, {"staticfiles": static})
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("checkstorages", "staticfiles", "--json", stdout=out)
    url = steps(json.loads(out.getvalue()), "staticfiles")["url"]
    assert url["status"] == "failed" and "HTTP 403" in url["cause"]
    assert "static" in url["cause"]
    assert url["setting"].startswith('a bucket policy that allows "s3:GetObject" to everyone')
    assert url["setting"].endswith(
        'or sign the URLs: OPTIONS["querystring_auth"] or AWS_QUERYSTRING_AUTH = True'
    )


@pytest.mark.parametrize(
    "option, value, step, said, setting",
    [
        ("bucket_name", "My_Bucket!", "write", "Invalid bucket name", "AWS_STORAGE_BUCKET_NAME"),
        ("endpoint_url", "127.0.0.1:9000", "write", "Invalid endpoint", "AWS_S3_ENDPOINT_URL"),
        ("endpoint_url", "htp://127.0.0.1:9", "write", "not a valid URI", "AWS_S3_ENDPOINT_URL"),
        (
            "querystring_expire",
            "an hour",
            "url",
            "invalid literal for int()",
            "AWS_QUERYSTRING_EXPIRE",
        ),
    ],
)
def test_values_refused_at_run_time_name_their_setting(
    settings, s3_server, option, value, step, said, setting
):
    code, result = run(settings, {"default": s3(s3_server, **{option: value})})
    every = steps(result, "default")
    if "configure" in every:  # refused when the storage is built: the same report, earlier
        found = every["configure"]
        assert found["status"] == "failed" and value in found["detail"], found
    else:
        found = every[step]
        assert found["status"] == "failed", found
        assert found["cause"].startswith("a configuration value is refused: "), found
        assert said in found["cause"] or said in found["detail"], found
    assert code == 1
    assert setting in found["setting"], found


# -- the docs' sample output -----------------------------------------------------------------------
DOCS = Path(__file__).resolve().parents[1] / "docs"
SAMPLE_COMMAND = "$ python manage.py checkstorages default private archive"


def docs_sample() -> list[str]:
    lines = (DOCS / "operations.rst").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == SAMPLE_COMMAND) + 1
    block = []
    for line in lines[start:]:
        if line and not line.startswith("    "):
            break
        block.append(line[4:])
    return [line for line in block if line.strip()]


def normalised(lines: list[str]) -> list[tuple[str, ...]]:
    """Step lines as (step, status, detail) with what differs between servers and runs (scratch
    names, URLs, milliseconds, the clock's few seconds) replaced; other lines as they are."""
    step_line = re.compile(r"^  (\w+)\s+(ok|FAILED|skipped|WARNING)\s+\d+ ms  (.*)$")
    out: list[tuple[str, ...]] = []
    for line in lines:
        match = step_line.match(line)
        if not match:
            out.append((line.rstrip(),))
            continue
        detail = re.sub(r"https?://\S+", "<url>", match.group(3))
        detail = re.sub(r"[0-9a-f]{12,16}", "<id>", detail)
        detail = re.sub(r"HTTP (\d+) (\w+)", lambda m: f"HTTP {m[1]} {m[2].lower()}", detail)
        detail = re.sub(r"^[+-]\d+ s from", "<n> s from", detail)
        out.append((match.group(1), match.group(2), detail))
    return out


def test_the_docs_sample_output_is_what_the_command_prints(settings, s3_server):
    """docs/operations.rst's checkstorages sample, compared line by line with a run against the
    test server (same aliases: one that passes, one with unsigned URLs on a private bucket, one
    whose bucket does not exist; the bucket has the docs' lifecycle rule)."""
    rule = json.loads((DOCS / "_static" / "s3-abort-incomplete-uploads.json").read_text())
    client = s3_server.client()
    client.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration=rule)
    try:
        use_storages(
            settings,
            {
                "default": s3(s3_server),
                "private": s3(s3_server, querystring_auth=False),
                "archive": s3(s3_server, bucket_name="media-archive"),
                "staticfiles": STATIC,
            },
        )
        out = io.StringIO()
        with pytest.raises(SystemExit):
            call_command("checkstorages", "default", "private", "archive", stdout=out)
    finally:
        client.delete_bucket_lifecycle(Bucket=BUCKET)
    printed = [line for line in out.getvalue().splitlines() if line.strip()]
    assert normalised(docs_sample()) == normalised(printed), "\n".join(printed)

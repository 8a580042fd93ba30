"""``manage.py checkstorages [ALIAS ...] [--json]``: one live round trip per storage alias.

For each alias (all of STORAGES by default) it writes a scratch file under the storage's
location, stats it, reads it back and compares, lists its folder, fetches ``url()`` with a
plain HTTP client (and a presigned upload URL where the backend has one), then deletes it;
then it looks for what killed uploads left (``--leftovers-older-than``, ``--remove-leftovers``)
and, on S3, for a lifecycle rule that aborts incomplete multipart uploads.
Each step is reported ok / FAILED / skipped with its latency; a failure names its cause
(permission denied on which action, bucket missing, TLS, DNS, unreachable, clock skew, with
``--origin`` a missing CORS rule for direct uploads) and
the setting to fix. The scratch file is removed even when a step fails, and so is its folder
where folders are real (file servers, local disks) unless something else is in it. Exit status 1
when anything failed.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import errno
import json
import os
import posixpath
import re
import socket
import ssl
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any, Callable
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages
from django.core.management.base import BaseCommand, CommandError
from django.utils.module_loading import import_string

from storages.checks import _unsigned_urls, is_media
from storages.errors import StorageUnavailable
from storages.management.interrupt import Interruption

SCRATCH_DIR = ".storages-check"
#: A clock this far from the server's breaks signatures (S3 allows 15 minutes) and signed URL
#: lifetimes.
MAX_SKEW = 300
HTTP_TIMEOUT = 20
#: Unfinished uploads younger than this are left alone: they may be running right now.
DEFAULT_LEFTOVER_AGE = 24 * 3600.0

_ACTIONS = {
    "write": "write (upload)",
    "stat": "read metadata (HEAD/stat)",
    "read": "read (download)",
    "list": "list",
    "delete": "delete",
    "upload_url": "presigned upload",
    "url": "url() fetch",
}


def now() -> float:
    """This machine's clock (a function so a test can put it off by an hour)."""
    return time.time()


@dataclass
class Step:
    step: str
    status: str = "ok"  # ok, failed, skipped, warning (reported, but the check still passes)
    ms: float = 0.0
    detail: str = ""
    cause: str = ""
    setting: str = ""
    #: The leftovers step: what it found (and removed), one dict each.
    items: list[dict[str, Any]] = field(default_factory=list)


# -- where to look, named generically from the backend's settings table -------------------------
def _rows(storage: Any) -> list[Any]:
    get = getattr(type(storage), "get_settings", None)
    return list(get()) if get else []


def _label(storage: Any, *options: str) -> str:
    """The first of ``options`` the backend has, as every place it can be set."""
    names = {row.name for row in _rows(storage)}
    return next((storage._setting_label(o) for o in options if o in names), "")


def _credential_settings(storage: Any) -> str:
    names = [
        row.settings[0] if row.settings else f'OPTIONS["{row.name}"]'
        for row in _rows(storage)
        if row.secret
    ]
    return " / ".join(names[:4]) or "the storage's credentials"


def _bucket_setting(storage: Any) -> str:
    container = getattr(storage, "container_option", "")
    return _label(storage, container) if container else _label(storage, "root_path", "location")


def _endpoint_setting(storage: Any) -> str:
    return getattr(type(storage), "endpoint_setting", "") or _label(
        storage,
        "endpoint_url",
        "custom_endpoint",
        "connection_string",
        "host",
        "api_host",
        "location",
        "client_options",
        "providers",
    )


def _tls_setting(storage: Any) -> str:
    return _label(storage, "verify", "ca_certs", "tls_ca_file") or _endpoint_setting(storage)


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc``, its causes and the errors SDKs keep in attributes (botocore ``kwargs['error']``,
    URLError reason)."""
    seen: list[BaseException] = []
    todo = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or any(item is s for s in seen) or len(seen) > 20:
            continue
        seen.append(item)
        todo += [
            item.__cause__,
            item.__context__,
            getattr(item, "reason", None),
            (getattr(item, "kwargs", None) or {}).get("error")
            if isinstance(getattr(item, "kwargs", None), dict)
            else None,
        ]
        todo += [a for a in getattr(item, "args", ()) if isinstance(a, BaseException)]
    return seen


class _Skip(Exception):
    pass


class _NotApplicable(Exception):
    """The step means nothing for this provider: it is left out of the report."""


class _Leftovers(Exception):
    """Found, not a failure: reported as a warning (the check still passes)."""

    def __init__(self, message: str, cause: str, setting: str) -> None:
        super().__init__(message)
        self.cause, self.setting = cause, setting


def _leftover_dict(item: Any) -> dict[str, Any]:
    return {
        "key": item.key,
        "kind": item.kind,
        "started": item.started.isoformat() if item.started else None,
        "size": item.size,
    }


def _leftover_text(found: list[Any], limit: int = 10) -> str:
    from storages.progress import human_bytes

    def one(item: Any) -> str:
        size = human_bytes(item.size) if item.size is not None else "size unknown"
        when = item.started.strftime("%Y-%m-%d %H:%M UTC") if item.started else "time unknown"
        return f"{item.key} ({size}, {when})"

    kinds = sorted({item.kind for item in found})
    shown = "; ".join(one(item) for item in found[:limit])
    more = f"; and {len(found) - limit} more" if len(found) > limit else ""
    return f"{len(found)} {' / '.join(kinds)}: {shown}{more}"


_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_age(text: str) -> float:
    """Seconds from "30s", "15m", "24h", "7d" or a plain number of seconds."""
    match = _AGE.match(str(text).lower())
    if not match:
        raise ValueError(f"{text!r} is not an age such as 30s, 15m, 24h or 7d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def human_age(seconds: float) -> str:
    """24h, 7d, 15m, 30s (days from two of them on, as people say it)."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= max(size, 2 * 86400 if unit == "d" else 0) and seconds % size == 0:
            return f"{seconds // size:.0f}{unit}"
    return f"{seconds:g}s"


class _HTTPFailure(Exception):
    def __init__(self, code: int, reason: Any, where: str) -> None:
        super().__init__(f"HTTP {code} {reason} from {where}")
        self.code = code


class _Diagnosed(Exception):
    """A failure whose setting is known where it is raised."""

    def __init__(self, message: str, cause: str, setting: str) -> None:
        super().__init__(message)
        self.cause = cause
        self.setting = setting


def _read_timeout_finding(storage: Any) -> tuple[str, str]:
    """(cause, setting) of a server that accepted the connection and never answered."""
    option = _timeout_option(storage)
    if not option:
        return (
            "read timeout: the server accepted the connection but sent no answer",
            _endpoint_setting(storage),
        )
    value = getattr(storage, option, None)
    return (
        "read timeout: the server accepted the connection but sent no answer within "
        f"{value} s (per attempt; the SDK retries)",
        f"{_label(storage, option)} (now {value} s), and that the endpoint is the "
        f"storage server: {_endpoint_setting(storage)}",
    )


def diagnose(exc: BaseException, step: str, storage: Any) -> tuple[str, str]:
    """(cause, setting to fix) for an error raised by ``step``."""
    if isinstance(exc, _Diagnosed):
        return exc.cause, exc.setting
    chain = _chain(exc)
    text = " ".join(f"{type(e).__name__}: {e}" for e in chain)
    low = text.lower()
    if "requesttimetooskewed" in low or "clock skew" in low or "time too skewed" in low:
        return "the clock of this machine is off from the server's", "the system clock (NTP)"
    if (
        any(isinstance(e, ssl.SSLError) for e in chain)
        or "certificate_verify_failed" in low
        or "sslerror" in low
    ):
        return "TLS failure (certificate not trusted, or not a TLS server)", _tls_setting(storage)
    if (
        any(isinstance(e, socket.gaierror) for e in chain)
        or "nameresolutionerror" in low
        or ("name or service not known" in low or "temporary failure in name resolution" in low)
    ):
        return "DNS: the server's host name does not resolve", _endpoint_setting(storage)
    if any(isinstance(e, PermissionError) for e in chain):
        return (
            f"permission denied on {_ACTIONS.get(step, step)}: wrong credentials, or they lack "
            "this right",
            _credential_settings(storage),
        )
    if isinstance(exc, ImproperlyConfigured) and any(
        w in low for w in ("does not exist", "not found", "no such", "missing")
    ):
        return "the bucket, container or base folder does not exist", _bucket_setting(storage)
    if isinstance(exc, FileNotFoundError) and step == "write":
        return "the bucket, container or base folder does not exist", _bucket_setting(storage)
    if _read_timed_out(chain, low):
        return _read_timeout_finding(storage)
    if any(isinstance(e, (ConnectionError, TimeoutError, socket.timeout)) for e in chain):
        return "the server could not be reached", _endpoint_setting(storage)
    bad = _option_in_message(storage, text)
    if bad and _configuration_error(chain, low):
        return f"a configuration value is refused: {_explanation(chain)}", bad
    if isinstance(exc, ImproperlyConfigured):
        return "configuration", ""
    return f"{type(exc).__name__}", ""


#: Errors (by class name, from the SDKs or Python) that mean a configured value is wrong.
_CONFIG_ERRORS = (
    "ParamValidationError",
    "EndpointResolutionError",
    "InvalidRegionError",
    "InvalidEndpointConfigurationError",
    "ValueError",
    "TypeError",
    "ImproperlyConfigured",
)


def _configuration_error(chain: list[BaseException], low: str) -> bool:
    return any(type(e).__name__ in _CONFIG_ERRORS for e in chain) or "invalid" in low


def _explanation(chain: list[BaseException]) -> str:
    """The innermost error's own words (botocore's explanation of a ParamValidationError...)."""
    inner = next((e for e in reversed(chain) if type(e).__name__ in _CONFIG_ERRORS), chain[-1])
    return _short(f"{type(inner).__name__}: {inner}", 200)


def _option_in_message(storage: Any, text: str) -> str:
    """Where the option is set whose value the error message quotes (the bucket name S3 refuses,
    the endpoint that is not a URL, the number that is not one), or "" (secrets never looked
    at)."""
    found: list[tuple[int, str]] = []
    for row in _rows(storage):
        value = None if row.secret else getattr(storage, row.name, None)
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            continue
        shown = str(value)
        if len(shown) >= 3 and shown in text:
            found.append((len(shown), row.name))
    return storage._setting_label(max(found)[1]) if found else ""


def _configured_option_in_message(alias: str, text: str) -> str:
    """``STORAGES[alias]["OPTIONS"][key]`` whose value the message quotes, or the settings the
    message itself names after "check"."""
    options = storages.backends.get(alias, {}).get("OPTIONS") or {}
    found = [
        (len(str(v)), k)
        for k, v in options.items()
        if isinstance(v, (str, int, float))
        and not isinstance(v, bool)
        and len(str(v)) >= 3
        and str(v) in text
    ]
    if found:
        key = max(found)[1]
        where = f'STORAGES["{alias}"]["OPTIONS"]["{key}"]'
        try:  # and the settings the backend also reads it from
            backend = import_string(storages.backends[alias]["BACKEND"])
            row = next(r for r in backend.get_settings() if r.name == key)
            return f"{where} ({row.places()})"
        except Exception:
            return where
    named = re.search(r"\bcheck ([^;]+)", text)
    return named.group(1).strip().rstrip(".") if named else ""


def _read_timed_out(chain: list[BaseException], low: str) -> bool:
    return (
        any("ReadTimeout" in type(e).__name__ for e in chain)
        or "read timed out" in low
        or "read timeout" in low
    )


def _timeout_option(storage: Any) -> str:
    """The option holding the seconds a request waits for an answer, if the backend has one."""
    names = {row.name for row in _rows(storage)}
    return next((o for o in ("read_timeout", "timeout") if o in names), "")


def _short(message: Any, limit: int = 300) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _where(url: str) -> str:
    """A URL without its query string (signatures, SAS tokens stay out of reports)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class LiveCheck:
    """The round trip for one storage: ``run()`` returns its steps."""

    def __init__(
        self,
        storage: Any,
        origin: str | None = None,
        leftovers_older_than: float = DEFAULT_LEFTOVER_AGE,
        remove_leftovers: bool = False,
        alias: str = "",
    ) -> None:
        self.storage = storage
        self.alias = alias
        self.origin = origin
        self.leftovers_older_than = leftovers_older_than
        self.remove_leftovers = remove_leftovers
        self.leftover_items: list[dict[str, Any]] = []
        self.steps: list[Step] = []
        self.leftovers: list[str] = []
        self.write_error: BaseException | None = None
        self.server_dates: list[float] = []
        token = uuid.uuid4().hex[:16]
        self.name = f"{SCRATCH_DIR}/{token}.txt"
        self.payload = f"django-storages live check {token}\n".encode() * 8

    def _step(self, step: str, fn: Callable[[], str | None]) -> bool:
        record = Step(step)
        start = time.perf_counter()
        try:
            record.detail = fn() or ""
        except _Skip as skip:
            record.status, record.detail = "skipped", str(skip)
        except _NotApplicable:
            return True
        except _Leftovers as found:
            record.status, record.detail = "warning", str(found)
            record.cause, record.setting = found.cause, found.setting
        except Exception as exc:
            record.status = "failed"
            record.cause, record.setting = diagnose(exc, step, self.storage)
            record.detail = _short(exc)
        record.ms = round((time.perf_counter() - start) * 1000, 1)
        if step == "leftovers":
            record.items = self.leftover_items
        self.steps.append(record)
        return record.status != "failed"

    def run(self) -> list[Step]:
        try:
            if self._step("write", self._write):
                self._step("stat", self._stat)
                self._step("read", self._read)
                self._step("list", self._list)
                self._step("url", self._url)
                self._step("upload_url", self._upload_url)
                self._step("cors", self._cors)
                self._step("delete", self._delete)
        finally:
            self._cleanup()
            self._remove_folder()
        self._clock()
        if self.write_error is None:
            self._step("leftovers", self._leftovers)
            self._step("lifecycle", self._lifecycle)
        return self.steps

    # -- steps -----------------------------------------------------------------------------
    def _write(self) -> str:
        try:
            saved = self.storage.save(self.name, ContentFile(self.payload))
        except Exception as exc:
            self.write_error = exc
            raise
        self.leftovers.append(saved)
        self.name = saved
        return f"{len(self.payload)} bytes as {saved}"

    def _stat(self) -> str:
        size = self.storage.size(self.name)
        if size != len(self.payload):
            raise OSError(f"size() says {size} bytes, {len(self.payload)} were written")
        return f"{size} bytes"

    def _read(self) -> str:
        with self.storage.open(self.name, "rb") as fh:
            data = fh.read()
        if data != self.payload:
            raise OSError(
                f"read back {len(data)} bytes that differ from the {len(self.payload)} written"
            )
        return "same bytes"

    def _list(self) -> str:
        folder, base = posixpath.split(self.name)
        _, files = self.storage.listdir(folder)
        if base not in files:
            raise OSError(f"listdir({folder!r}) does not show {base!r}")
        return f"{len(files)} file(s) in {folder}/"

    def _fetch(
        self,
        url: str,
        method: str = "GET",
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> bytes:
        cafile = next(
            (
                v
                for v in (
                    getattr(self.storage, a, None) for a in ("ca_certs", "tls_ca_file", "verify")
                )
                if isinstance(v, str) and v
            ),
            None,
        )
        context = ssl.create_default_context(cafile=cafile) if url.startswith("https:") else None
        request = urllib.request.Request(url, method=method, data=data, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT, context=context) as reply:  # noqa: S310
                self._date(reply.headers.get("Date"))
                return reply.read()
        except urllib.error.HTTPError as exc:
            self._date(exc.headers.get("Date"))
            raise _HTTPFailure(exc.code, exc.reason, _where(url)) from None

    def _date(self, header: str | None) -> None:
        if header:
            try:
                self.server_dates.append(email.utils.parsedate_to_datetime(header).timestamp())
            except (TypeError, ValueError):
                pass

    def _url(self) -> str:
        from django.contrib.staticfiles.storage import HashedFilesMixin

        if isinstance(self.storage, HashedFilesMixin):
            # The scratch file is not in the manifest: ask for its plain URL, past the mixin.
            url = super(HashedFilesMixin, self.storage).url(self.name)
        else:
            url = self.storage.url(self.name)
        if not str(url).startswith(("http://", "https://")):
            raise _Skip(
                f"url() gives {url!r}, not an HTTP URL (served by your own views or web server)"
            )
        try:
            body = self._fetch(url)
        except _HTTPFailure as failure:
            unsigned = _unsigned_urls(self.storage)
            if failure.code in (401, 403) and unsigned and not is_media(self.alias, self.storage):
                # Static files: unsigned URLs on purpose (cacheable, stable); the objects must be
                # public, or the URLs signed.
                setup = getattr(self.storage, "public_read_setup", "") or (
                    "a rule of the bucket or container that lets everyone read the files"
                )
                raise _Diagnosed(
                    str(failure),
                    f"HTTP {failure.code}: url() is unsigned (as static files' are) but the "
                    "objects are private",
                    f"{setup}; or sign the URLs: {self.storage._setting_label(unsigned)} = True",
                ) from None
            if failure.code in (401, 403) and unsigned:
                raise _Diagnosed(
                    str(failure),
                    f"HTTP {failure.code}: url() is unsigned but the object is private",
                    self.storage._setting_label(unsigned),
                ) from None
            where = (
                _label(self.storage, "custom_domain", "base_url", "public_endpoint_url")
                or "MEDIA_URL"
            )
            raise _Diagnosed(
                str(failure), f"HTTP {failure.code}: url() does not serve the file", where
            ) from None
        if body != self.payload:
            raise OSError(f"{_where(url)} answered {len(body)} bytes that differ from the file")
        return f"GET {_where(url)} -> 200"

    def _upload_url(self) -> str:
        name = posixpath.join(posixpath.dirname(self.name), f"upload-{uuid.uuid4().hex[:12]}.txt")
        hook = getattr(self.storage, "presigned_upload_url", None)
        made = hook(name, expire=600, content_type="text/plain") if callable(hook) else None
        if made is None:
            raise _Skip(f"{type(self.storage).__name__} has no presigned upload URL")
        url, headers = made
        self.leftovers.append(name)
        try:
            self._fetch(url, "PUT", self.payload, {"Content-Type": "text/plain", **headers})
        except _HTTPFailure as failure:
            raise _Diagnosed(
                str(failure),
                f"HTTP {failure.code}: the presigned upload URL was refused",
                _credential_settings(self.storage),
            ) from None
        with self.storage.open(name, "rb") as fh:
            if fh.read() != self.payload:
                raise OSError("the file uploaded through the presigned URL reads back different")
        return f"PUT {_where(url)} -> stored"

    def _cors(self) -> str:
        if not self.origin:
            raise _Skip("give --origin https://your.site to check direct uploads from a browser")
        try:
            from storages.direct.cors import check_cors
        except ImportError:
            raise _Skip(
                "direct uploads (storages.direct) are not available in this version"
            ) from None
        problems = check_cors(self.storage, self.origin)
        if problems:
            raise _Diagnosed(
                "; ".join(problems),
                f"browsers on {self.origin} can't upload directly",
                "the CORS rules of the bucket or storage account",
            ) from None
        return f"direct uploads from {self.origin} allowed"

    def _leftovers(self) -> str:
        storage, age = self.storage, human_age(self.leftovers_older_than)
        lister = getattr(storage, "_list_leftovers", None)
        cutoff = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=self.leftovers_older_than)
        try:
            found = lister(cutoff) if callable(lister) else None
            found = None if found is None else list(found)
        except PermissionError as exc:
            # Least-privilege credentials may lack this right: say so, don't fail the check.
            raise _Skip(
                f"the credentials may not list unfinished uploads ({_short(exc, 120)}); grant "
                "it to have them checked (S3: s3:ListBucketMultipartUploads)"
            ) from None
        if found is None:
            note = getattr(storage, "leftovers_note", "") or "nothing to look for"
            raise _Skip(f"{type(storage).__name__}: {note}")
        record = self.leftover_items = [_leftover_dict(item) for item in found]
        if not found:
            return f"no unfinished upload older than {age}"
        if not self.remove_leftovers:
            raise _Leftovers(
                f"{_leftover_text(found)} older than {age}",
                "uploads whose process was killed (SIGKILL, the OOM killer, a SIGTERM outside "
                "these commands) left them; they take space (S3 bills the parts) and nothing "
                "removes them by itself",
                "run checkstorages --remove-leftovers (only those older than "
                "--leftovers-older-than are touched)",
            )
        for item in found:
            storage._remove_leftover(item)
        still = {item.key for item in lister(cutoff) or ()}
        for entry in record:
            entry["removed"] = entry["key"] not in still
        if still:
            raise _Diagnosed(
                f"{len(still)} of {len(found)} could not be removed: {', '.join(sorted(still))}",
                "the leftovers stayed after removal",
                _credential_settings(storage),
            )
        return f"removed {_leftover_text(found)} older than {age}"

    def _lifecycle(self) -> str:
        policy = getattr(self.storage, "leftovers_policy", None)
        try:
            answer = policy() if callable(policy) else None
        except PermissionError as exc:
            raise _Skip(
                f"the credentials may not read the lifecycle rules ({_short(exc, 120)}); grant "
                "it to have them checked (S3: s3:GetLifecycleConfiguration)"
            ) from None
        if answer is None:
            raise _NotApplicable
        ok, text = answer
        if not ok:
            raise _Leftovers(
                text,
                "unfinished uploads stay (and are billed) until something aborts them",
                "add a lifecycle rule with AbortIncompleteMultipartUpload (see the docs' "
                '"Leftovers of killed uploads")',
            )
        return text

    def _delete(self) -> str:
        self.storage.delete(self.name)
        if self.storage.exists(self.name):
            raise OSError(f"{self.name!r} still exists after delete()")
        self.leftovers.remove(self.name)
        return "gone"

    def _cleanup(self) -> None:
        left = []
        for name in self.leftovers:
            try:
                self.storage.delete(name)
            except FileNotFoundError:
                pass
            except Exception:
                left.append(name)
        if left:
            self.steps.append(
                Step(
                    "cleanup",
                    "failed",
                    detail=f"could not delete {', '.join(left)}",
                    cause="the scratch file(s) stayed behind: delete them by hand",
                    setting=_credential_settings(self.storage),
                )
            )

    def _remove_folder(self) -> None:
        """Remove the scratch folder if it is empty (where folders are real); anything in it stays.

        After a failed write the folder may exist (made before the file failed): it is tried
        quietly, unless the server was never reached (that would only wait for it again). After
        a failed cleanup the folder holds the file that stayed: it stays too."""
        unreached = self.write_error is not None and not _answered(self.write_error)
        if unreached or any(s.step == "cleanup" for s in self.steps):
            return
        try:
            _remove_empty_folder(self.storage, SCRATCH_DIR)
        except Exception as exc:
            if self.write_error is None:
                self.steps.append(
                    Step(
                        "cleanup",
                        "warning",
                        detail=f"could not remove the empty folder {SCRATCH_DIR}/: {_short(exc)}",
                        cause=f"the empty folder {SCRATCH_DIR}/ stayed behind: remove it by hand",
                    )
                )

    def _clock(self) -> None:
        if not self.server_dates:
            return
        skew = now() - self.server_dates[-1]
        step = Step("clock", detail=f"{skew:+.0f} s from the server's Date header")
        if abs(skew) > MAX_SKEW:
            step.status = "failed"
            step.cause = (
                f"this machine's clock is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} "
                "the server's: signatures and signed URL lifetimes break"
            )
            step.setting = "the system clock (NTP)"
        self.steps.append(step)


def _answered(exc: BaseException) -> bool:
    """Whether the storage's server answered the request that raised ``exc``."""
    return not any(
        isinstance(
            e,
            (
                StorageUnavailable,
                ConnectionError,
                TimeoutError,
                socket.timeout,
                ssl.SSLError,
                socket.gaierror,
                ImproperlyConfigured,
            ),
        )
        for e in _chain(exc)
    )


def _remove_empty_folder(storage: Any, name: str) -> None:
    """Remove the folder ``name`` if it is empty: through the storage's own primitive, or on a local
    disk (Django's FileSystemStorage and its subclasses) with os.rmdir, which refuses a folder that
    holds anything. Object stores have no folder to remove."""
    if hasattr(storage, "_remove_empty_folder"):
        storage._remove_empty_folder(storage._key(name))
    elif isinstance(storage, FileSystemStorage):
        try:
            os.rmdir(storage.path(name))
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
                raise


class Command(BaseCommand):
    help = (
        "Check each storage alias (default: all of STORAGES) with one live round trip: write, "
        "stat, read, list, url(), presigned upload, delete. Exit status 1 when a step fails."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "aliases", nargs="*", help="Storage aliases to check (default: every one)."
        )
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON document instead of text."
        )
        parser.add_argument(
            "--origin",
            help="Also check that the storage lets pages on this origin "
            "(https://your.site) upload directly (CORS rules).",
        )
        parser.add_argument(
            "--leftovers-older-than",
            default="24h",
            metavar="AGE",
            help="Report unfinished uploads (S3 multipart uploads, Azure uncommitted blocks, "
            "hidden temporary files on SFTP/FTP) older than AGE: 30s, 15m, 24h, 7d "
            "(default 24h; younger ones may be uploads in progress and are left alone).",
        )
        parser.add_argument(
            "--remove-leftovers",
            action="store_true",
            help="Remove the unfinished uploads found (only those older than "
            "--leftovers-older-than).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = options["aliases"] or list(storages.backends)
        unknown = [a for a in aliases if a not in storages.backends]
        if unknown:
            raise CommandError(
                f"No storage alias {', '.join(map(repr, unknown))} in STORAGES "
                f"(have: {', '.join(storages.backends)})"
            )
        try:
            age = parse_age(options["leftovers_older_than"])
        except ValueError as exc:
            raise CommandError(f"--leftovers-older-than: {exc}") from None
        results = {}
        # SIGTERM as Ctrl-C: the scratch files are still removed (LiveCheck.run's finally), the
        # exit status is 143 (130 after Ctrl-C).
        interruption = Interruption()
        try:
            with interruption:
                for alias in aliases:
                    results[alias] = self._check(
                        alias, options["origin"], age, options["remove_leftovers"]
                    )
                    if not options["json"]:
                        self._print(alias, results[alias])
        except KeyboardInterrupt:
            self.stderr.write(
                f"\nStopped by {interruption.name if interruption.interrupted else 'Ctrl-C'} "
                f"after {len(results)} of {len(aliases)} storage(s); scratch files removed."
            )
            sys.exit(interruption.exit_status if interruption.interrupted else 130)
        failed = [a for a, r in results.items() if not r["ok"]]
        if options["json"]:
            self.stdout.write(json.dumps({"ok": not failed, "storages": results}, indent=2))
        else:
            self.stdout.write(
                f"{len(aliases) - len(failed)} of {len(aliases)} storage(s) passed"
                + (f"; failed: {', '.join(failed)}" if failed else "")
            )
        if failed:
            sys.exit(1)

    def _check(
        self,
        alias: str,
        origin: str | None = None,
        leftovers_older_than: float = DEFAULT_LEFTOVER_AGE,
        remove_leftovers: bool = False,
    ) -> dict[str, Any]:
        try:
            storage = storages[alias]
        except Exception as exc:  # the storage can't even be built
            step = Step(
                "configure",
                "failed",
                detail=_short(exc),
                cause="configuration",
                setting=_configured_option_in_message(alias, str(exc)),
            )
            return {
                "backend": storages.backends[alias].get("BACKEND", ""),
                "ok": False,
                "steps": [asdict(step)],
            }
        steps = LiveCheck(storage, origin, leftovers_older_than, remove_leftovers, alias).run()
        return {
            "backend": f"{type(storage).__module__}.{type(storage).__name__}",
            "ok": all(s.status != "failed" for s in steps),
            "steps": [asdict(s) for s in steps],
        }

    def _print(self, alias: str, result: dict[str, Any]) -> None:
        style = self.style.SUCCESS if result["ok"] else self.style.ERROR
        self.stdout.write(style(f"{alias} ({result['backend'].rsplit('.', 1)[-1]})"))
        for step in result["steps"]:
            status = {"ok": "ok", "failed": "FAILED", "skipped": "skipped", "warning": "WARNING"}[
                step["status"]
            ]
            line = f"  {step['step']:<11}{status:<8}{step['ms']:>8.0f} ms  {step['detail']}"
            if step["status"] in ("failed", "warning"):
                line += f"\n{'':13}cause: {step['cause']}"
                if step["setting"]:
                    line += f"\n{'':13}check: {step['setting']}"
            self.stdout.write(line)

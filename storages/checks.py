"""System checks for configured storages (``manage.py check``, ``check --deploy``).

They read configuration only: no request leaves the machine. Each finding has a
stable id, names the setting to change, and carries a hint:

========== ==========================================================================
id         finding
========== ==========================================================================
E001       ``STORAGES[alias]["BACKEND"]`` can't be imported or is not a storage class
E002       the backend refuses its options (unknown option, a bad value), or a required value
           (the bucket or container) is missing or empty
E003       an endpoint that is not a URL: no scheme (``127.0.0.1:9000``), an unknown one
           (``htp://``), no host
E004       a value that is not one of the valid ones (``addressing_style``, ``signature_version``,
           a canned ACL such as ``"publc-read"``), with the close valid one
E005       a lifetime in seconds that is not a positive number (``querystring_expire="an hour"``)
E006       a bucket or container name the provider can't have (``My_Bucket!``)
E007       an unknown key in ``object_parameters`` (``CacheControll``), with the close valid one
E008       a malformed region (``us-east-l``)
E009       the provider's SDK is not installed: the extra to install
W001       credentials half-set (an access key without its secret...)
W002       no credentials found where the provider needs them
W003       an endpoint over plain HTTP/FTP to a host that is not local
W004       TLS or host-key verification turned off
W005       public ACL by default on a media storage
W006       unsigned URLs on a media storage whose objects are private
W007       ``file_overwrite`` on a media storage: a second upload replaces the first
W008       (``--deploy`` only) a secret written literally into settings, not read from the
           environment
========== ==========================================================================

A *media* storage is every alias but ``staticfiles`` whose class is not a static-files
class. Silence a finding that does not apply with ``SILENCED_SYSTEM_CHECKS``.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from django.core import checks
from django.utils.module_loading import import_string

__all__ = [
    "bad_choice",
    "bad_endpoint",
    "bad_keys",
    "bad_seconds",
    "bad_value",
    "check_storages",
    "check_storage_secrets",
    "configured_storages",
    "is_local_host",
    "is_set",
    "url_problem",
    "is_media",
]

TAG = "storages"

#: Modules whose storage classes a mistyped ``BACKEND`` may have meant (besides the backends).
DJANGO_STORAGE_MODULES = ("django.core.files.storage", "django.contrib.staticfiles.storage")


def known_backends() -> list[str]:
    """Dotted paths of every storage class this package and Django ship, found by importing the
    modules (the hint of a mistyped path only; a backend whose SDK is missing is left out)."""
    import importlib
    import pkgutil

    from django.core.files.storage import Storage

    import storages.backends

    modules = list(DJANGO_STORAGE_MODULES)
    modules += [
        f"storages.backends.{m.name}" for m in pkgutil.iter_modules(storages.backends.__path__)
    ]
    found = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 - an SDK not installed, or broken: no suggestion from it
            continue
        for name, value in vars(module).items():
            # type(): a lazy object (default_storage) must not be set up to be looked at.
            is_class = issubclass(type(value), type)
            if not is_class or value is Storage or not issubclass(value, Storage):
                continue
            # A provider's classes and aliases, not the core bases they import.
            if value.__module__.startswith(("storages.backends.", "django.")):
                found.append(f"{module_name}.{name}")
    return found


def configured_storages() -> dict[str, dict[str, Any]]:
    """``STORAGES`` as Django resolves it (Django 4.2's DEFAULT_FILE_STORAGE included)."""
    from django.core.files.storage import storages

    return dict(storages.backends)


def is_media(alias: str, storage: Any) -> bool:
    """Whether ``alias`` holds user uploads (every alias but static files)."""
    if alias == "staticfiles":
        return False
    names = [klass.__name__ for klass in type(storage).__mro__]
    return not any("Static" in n or n == "ManifestFilesMixin" for n in names)


def _setting_label(storage: Any, option: str) -> str:
    label = getattr(storage, "_setting_label", None)
    return label(option) if label else f'OPTIONS["{option}"]'


def _short_label(storage: Any, option: str) -> str:
    """The Django setting for ``option`` (its OPTIONS key when it has none)."""
    row = next((r for r in _rows(storage) if r.name == option), None)
    return row.settings[0] if row is not None and row.settings else f'OPTIONS["{option}"]'


def _sdk_missing(alias: str, where: str, path: str, exc: Any) -> checks.CheckMessage:
    return checks.Error(
        f"{where} is {path!r}, which needs {exc.package}: it is not installed.",
        hint=f"pip install 'django-storages[{exc.extra}]'",
        obj=alias,
        id="storages.E009",
    )


def _build(alias: str, config: dict[str, Any]) -> tuple[Any, list[checks.CheckMessage]]:
    from storages.errors import SDKMissing

    path = config.get("BACKEND", "")
    where = f'STORAGES["{alias}"]["BACKEND"]'
    try:
        cls = import_string(path)
    except SDKMissing as exc:
        return None, [_sdk_missing(alias, where, path, exc)]
    except ImportError as exc:
        known = known_backends()
        # The right class in the wrong module (storages.backends.sftp.SFTPStorage) first.
        same_class = [k for k in known if k.rpartition(".")[2] == str(path).rpartition(".")[2]]
        close = (
            difflib.get_close_matches(str(path), same_class, n=1, cutoff=0) if same_class else []
        )
        close = close or difflib.get_close_matches(str(path), known, n=1)
        hint = (
            f"Did you mean {close[0]!r}?" if close else "Give the dotted path of a storage class."
        )
        return None, [
            checks.Error(
                f"{where} is {path!r}, which can't be imported ({exc}).",
                hint=hint,
                obj=alias,
                id="storages.E001",
            )
        ]
    except Exception as exc:  # a module that fails to import: reported, not a traceback
        return None, [
            checks.Error(
                f"{where} is {path!r}, which can't be imported ({type(exc).__name__}: {exc}).",
                hint="Fix the module, or point the setting at another storage class.",
                obj=alias,
                id="storages.E001",
            )
        ]
    from django.core.files.storage import Storage

    if not (isinstance(cls, type) and issubclass(cls, Storage)):
        return None, [
            checks.Error(
                f"{where} is {path!r}, which is not a Storage class.",
                hint="Point it at a subclass of django.core.files.storage.Storage.",
                obj=alias,
                id="storages.E001",
            )
        ]
    try:
        return cls(**config.get("OPTIONS", {})), []
    except SDKMissing as exc:  # an SDK the storage imports when it is built
        return None, [_sdk_missing(alias, where, path, exc)]
    # Whatever the backend raises, the check reports it instead of crashing.
    except Exception as exc:
        return None, [
            checks.Error(
                f'STORAGES["{alias}"]: {exc}',
                obj=alias,
                id="storages.E002",
                hint=f'Fix STORAGES["{alias}"]["OPTIONS"] or the setting named above.',
            )
        ]


def _required_messages(alias: str, storage: Any) -> Iterator[checks.CheckMessage]:
    """The bucket or container (the ``container_option`` trait): the storage is built without it
    and would fail on its first request."""
    option = getattr(storage, "container_option", "")
    if option and hasattr(storage, option) and not is_set(getattr(storage, option)):
        yield checks.Error(
            f"{alias}: {type(storage).__name__} has no {option}: "
            f"{_setting_label(storage, option)} is not set.",
            hint=f"Set {_short_label(storage, option)} to the name of an existing "
            f"{option.replace('_name', '').replace('azure_', '')}.",
            obj=alias,
            id="storages.E002",
        )


# -- value rules a provider's system_checks() applies to its own options -------------------


def _shown(storage: Any, option: str, value: Any) -> str:
    """``value`` for a message: never the value of a secret option."""
    row = next((r for r in _rows(storage) if r.name == option), None)
    return "set" if row is not None and row.secret else f"{value!r}"


def bad_value(
    alias: str,
    storage: Any,
    option: str,
    value: Any,
    problem: str,
    hint: str,
    code: str,
    *,
    key: str | None = None,
) -> checks.Error:
    """One finding about ``option``'s value (or its ``key`` when the option is a dict):
    ``{alias}: {where} is {value}: {problem}.``"""
    where = _setting_label(storage, option)
    if key is not None:
        where, shown = f"{where}, key {key!r},", repr(value)
    else:
        shown = _shown(storage, option, value)
    return checks.Error(
        f"{alias}: {where} is {shown}: {problem}.",
        hint=hint,
        obj=alias,
        id=f"storages.{code}",
    )


def _did_you_mean(value: Any, valid: Any, cutoff: float = 0.6) -> str | None:
    close = difflib.get_close_matches(str(value), [str(v) for v in valid], n=1, cutoff=cutoff)
    if not close and isinstance(value, str):  # a case slip: CacheControl vs cachecontrol
        close = [v for v in valid if str(v).lower() == value.lower()][:1]
    return close[0] if close else None


def _suggest(close: str | None, choices: str, count: int) -> str:
    """ "Did you mean X?", and the valid choices when there is no close one or they are few (a
    long list depends on the SDK release and buries the answer)."""
    if close is None:
        return choices
    return f"Did you mean {close!r}?" + (f" {choices}" if count <= 10 else "")


def url_problem(value: Any, schemes: tuple[str, ...] = ("https", "http")) -> str | None:
    """Why ``value`` is not an endpoint URL with one of ``schemes`` (None: it is one)."""
    if not isinstance(value, str):
        return f"not a URL but a {type(value).__name__}"
    text = value.strip()
    if not text or re.search(r"\s", text):
        return "not a URL"
    if "://" not in text:
        return "not a URL: it has no scheme"
    parts = urlsplit(text)
    if parts.scheme.lower() not in schemes:
        return f"not a URL this storage can use: the scheme {parts.scheme!r} is not " + (
            " or ".join(schemes)
        )
    try:
        host, _port = parts.hostname, parts.port
    except ValueError:
        return "not a URL: its port is not a number"
    if not host:
        return "not a URL: it has no host"
    return None


def bad_endpoint(
    alias: str,
    storage: Any,
    option: str,
    value: Any,
    schemes: tuple[str, ...] = ("https", "http"),
    *,
    key: str | None = None,
) -> list[checks.CheckMessage]:
    """E003 when ``value`` (set) is not a URL with a scheme and a host (``key``: the value is
    that key of the option's dict)."""
    if not is_set(value):
        return []
    problem = url_problem(value, schemes)
    if problem is None:
        return []
    text = str(value).strip()
    if "://" not in text and text and not re.search(r"\s", text):
        host = urlsplit(f"//{text}").hostname
        scheme = "http" if is_local_host(host) else "https"
        hint = f"Write it with its scheme: {scheme}://{text}"
    elif "://" in text and (close := _did_you_mean(urlsplit(text).scheme.lower(), schemes)):
        hint = f"Did you mean {close}://{text.split('://', 1)[1]}?"
    else:
        hint = f"Give a URL such as {schemes[0]}://host:port, or remove the setting."
    return [bad_value(alias, storage, option, value, problem, hint, "E003", key=key)]


def bad_choice(
    alias: str, storage: Any, option: str, value: Any, valid: Any
) -> list[checks.CheckMessage]:
    """E004 when ``value`` (set) is not one of ``valid``, suggesting the close valid one."""
    valid = sorted(valid)
    if not is_set(value) or value in valid:
        return []
    close = _did_you_mean(value, valid)
    hint = _suggest(close, "Valid values: " + ", ".join(map(repr, valid)) + ".", len(valid))
    return [bad_value(alias, storage, option, value, "not a valid value", hint, "E004")]


def bad_seconds(
    alias: str, storage: Any, option: str, value: Any, *, zero_ok: bool = False
) -> list[checks.CheckMessage]:
    """E005 when ``value`` (set) is not a positive number of seconds (digits in a string count:
    values read from the environment are strings)."""
    if value is None:
        return []
    try:
        seconds = float(value.total_seconds() if hasattr(value, "total_seconds") else value)
    except (TypeError, ValueError):
        seconds = None
    if isinstance(value, bool) or seconds is None or seconds < 0 or (seconds == 0 and not zero_ok):
        return [
            bad_value(
                alias,
                storage,
                option,
                value,
                "not a positive number of seconds",
                "Give seconds as a number: 3600 for an hour.",
                "E005",
            )
        ]
    return []


def bad_keys(
    alias: str, storage: Any, option: str, keys: Any, valid: Any
) -> list[checks.CheckMessage]:
    """E007 for each key of ``keys`` that is not in ``valid``, suggesting the close valid one."""
    valid = sorted(valid)
    found = []
    for key in keys or ():
        if key in valid:
            continue
        close = _did_you_mean(key, valid)
        found.append(
            checks.Error(
                f"{alias}: {_setting_label(storage, option)} has the unknown key {key!r}.",
                hint=_suggest(close, "Valid keys: " + ", ".join(valid) + ".", len(valid)),
                obj=alias,
                id="storages.E007",
            )
        )
    return found


def is_set(value: Any) -> bool:
    return value not in (None, "", {}, ())


def _credential_messages(alias: str, storage: Any) -> Iterator[checks.CheckMessage]:
    half = False
    for first, second in getattr(storage, "paired_options", ()):
        if hasattr(storage, first) and hasattr(storage, second):
            a, b = is_set(getattr(storage, first)), is_set(getattr(storage, second))
            if a != b:
                have, missing = (first, second) if a else (second, first)
                half = True
                yield checks.Warning(
                    f"{alias}: {_setting_label(storage, have)} is set but "
                    f"{_setting_label(storage, missing)} is not.",
                    hint="Set both, or neither.",
                    obj=alias,
                    id="storages.W001",
                )
    groups = getattr(storage, "credential_options", ())
    if not groups or half:
        return
    if any(all(is_set(getattr(storage, o, None)) for o in group) for group in groups):
        return
    own_chain = getattr(storage, "ambient_credentials", None)
    ambient = own_chain() if callable(own_chain) else None
    if ambient:
        return
    places = " or ".join(" + ".join(_short_label(storage, o) for o in group) for group in groups)
    hint = f"Set {places} (from the environment)."
    if ambient is not None:
        hint += (
            " If this server gets credentials from an instance or workload role, silence this with "
            "SILENCED_SYSTEM_CHECKS = ['storages.W002']."
        )
    yield checks.Warning(
        f"{alias}: {type(storage).__name__} has no credentials configured.",
        hint=hint,
        obj=alias,
        id="storages.W002",
    )


def is_local_host(host: str | None) -> bool:
    """Loopback, ``*.localhost``, or a single-label name (a container or cluster service name)."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost") or "." not in host and ":" not in host:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_URL = re.compile(r"\b(?:https?|a?ftps?)://[^\s;\"']+", re.I)


def _urls(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield from _URL.findall(value)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _urls(item)


def _rows(storage: Any) -> list[Any]:
    get = getattr(type(storage), "get_settings", None)
    return list(get()) if get else []


def _endpoints(storage: Any) -> list[tuple[str, str]]:
    """(option, URL) of every server URL in the settings, and those the storage names itself."""
    found = [
        (row.name, url) for row in _rows(storage) for url in _urls(getattr(storage, row.name, None))
    ]
    hook = getattr(storage, "endpoint_urls", None)
    return found + (list(hook()) if callable(hook) else [])


def _transport_messages(alias: str, storage: Any) -> Iterator[checks.CheckMessage]:
    for option, url in _endpoints(storage):
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in ("http", "ftp", "aftp") and not is_local_host(parts.hostname):
            what = "FTP without TLS" if "ftp" in scheme else "plain HTTP"
            yield checks.Warning(
                f"{alias}: {_setting_label(storage, option)} reaches {parts.hostname} over "
                f"{what}: credentials and files cross the network unencrypted.",
                hint="Use https:// (ftps:// for FTP).",
                obj=alias,
                id="storages.W003",
            )
    yield from _flag_messages(alias, storage)


def _flag_messages(alias: str, storage: Any) -> Iterator[checks.CheckMessage]:
    remote = not any(is_local_host(urlsplit(u).hostname) for _, u in _endpoints(storage))
    for option in getattr(storage, "tls_options", ()):
        if getattr(storage, option, True) is False and remote:
            yield checks.Warning(
                f"{alias}: {_setting_label(storage, option)} is False: requests go over plain "
                "HTTP.",
                hint="Remove it (https is the default).",
                obj=alias,
                id="storages.W003",
            )
    if getattr(storage, "verify", None) is False:
        yield checks.Warning(
            f"{alias}: {_setting_label(storage, 'verify')} is False: TLS certificates are not "
            "checked, so anyone on the path can read and change traffic.",
            hint="Remove it, or give the path of a CA bundle instead.",
            obj=alias,
            id="storages.W004",
        )


def _public_acl(storage: Any) -> str | None:
    """The option that makes uploads public by default, if any (through the storage's
    ``acl_parameter``: S3's "ACL", GCS's "acl")."""
    param = getattr(storage, "acl_parameter", None)
    if not param:
        return None
    params = getattr(storage, "object_parameters", None) or {}
    for option, value in (
        ("default_acl", getattr(storage, "default_acl", None)),
        ("object_parameters", params.get(param)),
    ):
        if isinstance(value, str) and "public" in value.lower():
            return option
    return None


def _unsigned_urls(storage: Any) -> str | None:
    """The option that makes url() unsigned, if it is (the storage's own answer)."""
    hook = getattr(storage, "unsigned_url_option", None)
    return hook() if callable(hook) else None


def _media_messages(alias: str, storage: Any) -> Iterator[checks.CheckMessage]:
    acl = _public_acl(storage)
    if acl:
        yield checks.Warning(
            f"{alias}: {_setting_label(storage, acl)} makes every upload public by default.",
            hint="Remove it and let url() sign links; make public only what must be.",
            obj=alias,
            id="storages.W005",
        )
    unsigned = _unsigned_urls(storage)
    if unsigned and not acl:
        yield checks.Warning(
            f"{alias}: url() gives unsigned links ({_setting_label(storage, unsigned)}) while "
            "uploads are not made public: every link answers 403 unless the bucket or container "
            "itself is public.",
            hint=(
                "Sign URLs (querystring_auth=True, an expiry, or a CloudFront key); if a bucket "
                "policy makes the objects public on purpose, silence storages.W006."
            ),
            obj=alias,
            id="storages.W006",
        )
    if getattr(storage, "overwrite", False) is True and getattr(storage, "overwrite_option", None):
        yield checks.Warning(
            f"{alias}: {_setting_label(storage, storage.overwrite_option)} is True: a second "
            "upload with the same name replaces the first user's file.",
            hint="Set it to False (a new name is chosen instead).",
            obj=alias,
            id="storages.W007",
        )


@checks.register(TAG)
def check_storages(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Configuration mistakes of every storage alias (no network)."""
    messages: list[checks.CheckMessage] = []
    for alias, config in configured_storages().items():
        storage, errors = _build(alias, config)
        messages += errors
        if storage is None:
            continue
        messages += _required_messages(alias, storage)
        messages += _credential_messages(alias, storage)
        messages += _transport_messages(alias, storage)
        own_checks = getattr(storage, "system_checks", None)
        if callable(own_checks):
            messages += own_checks(alias)
        if is_media(alias, storage):
            messages += _media_messages(alias, storage)
    return messages


def _literal_secrets(value: Any) -> bool:
    """A secret typed into settings: a non-empty string that no environment variable holds."""
    if isinstance(value, dict):
        return any(
            _literal_secrets(v)
            for k, v in value.items()
            if str(k).lower() in ("key", "secret", "password")
        )
    if not isinstance(value, str) or not value:
        return False
    if "://" in value:  # a URL (FTP_STORAGE_LOCATION): secret only when it carries a password
        parts = urlsplit(value)
        return (
            bool(parts.password)
            and value not in os.environ.values()
            and parts.password not in (os.environ.values())
        )
    return value not in os.environ.values()


@checks.register(TAG, deploy=True)
def check_storage_secrets(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Secrets written into settings rather than read from the environment (``check --deploy``)."""
    from django.conf import settings

    messages: list[checks.CheckMessage] = []
    seen: set[str] = set()  # a Django setting shared by several aliases is reported once
    for alias, config in configured_storages().items():
        try:
            cls = import_string(config.get("BACKEND", ""))
        except Exception:  # check_storages reports it (E001, E009)
            continue
        options = config.get("OPTIONS", {})
        for row in getattr(cls, "get_settings", tuple)():
            if not row.secret:
                continue
            places = [(f'STORAGES["{alias}"]["OPTIONS"]["{row.name}"]', options.get(row.name))]
            places += [(name, getattr(settings, name, None)) for name in row.settings]
            for where, value in places:
                if where not in seen and _literal_secrets(value):
                    seen.add(where)
                    messages.append(
                        checks.Warning(
                            f"{alias}: {where} holds a secret written into the settings file.",
                            hint=(
                                "Read it from the environment (os.environ[...]) or a secrets "
                                "manager"
                            )
                            + (
                                f"; {cls.__name__} also reads {' or '.join(row.env)} by itself."
                                if row.env
                                else "."
                            ),
                            obj=alias,
                            id="storages.W008",
                        )
                    )
    return messages

"""The only code that turns a user's file name into a backend key.

Every backend stores objects under keys: ``"<location>/<name>"`` with forward
slashes and no leading slash. :func:`to_key` is the single gate: it cleans the
name, joins it under the storage's ``location`` and refuses anything that
could escape it, before any request is made.
"""

from __future__ import annotations

import posixpath
from pathlib import PurePath

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation

__all__ = [
    "clean_name",
    "safe_join",
    "to_key",
    "from_key",
    "check_location",
    "check_length",
    "NameTooLong",
]


class NameTooLong(SuspiciousFileOperation):
    """A name longer than the provider accepts (refused before any request)."""


def clean_name(name: str | PurePath) -> str:
    """Normalise a name: str, forward slashes, collapsed ``.``/``//``, trailing ``/`` kept."""
    if isinstance(name, PurePath):
        name = name.as_posix()
    name = str(name).replace("\\", "/")
    if not name:
        return ""
    trailing = name.endswith("/")
    cleaned = posixpath.normpath(name)
    if trailing and not cleaned.endswith("/"):
        cleaned += "/"
    if cleaned == ".":
        return ""
    return cleaned


def safe_join(base: str, *paths: str | PurePath) -> str:
    """Join ``paths`` under ``base`` as an object key; raise ``ValueError`` on escape.

    Kept for code that imports it from ``storages.utils``; backends use
    :func:`to_key`, which raises ``SuspiciousFileOperation`` instead.
    """
    base = clean_name(base).rstrip("/")
    parts = [clean_name(p) for p in paths]
    # Joining nothing keeps the trailing slash: safe_join("base_url") == "base_url/" (as in 1.14).
    joined = (
        posixpath.join(base + "/" if base else "", *parts)
        if parts
        else (base + "/" if base else "")
    )
    trailing = joined.endswith("/")
    final = posixpath.normpath("/" + joined) if joined else "/"
    if trailing and not final.endswith("/"):
        final += "/"
    root = "/" + base
    if final != root and not final.startswith(root.rstrip("/") + "/"):
        raise ValueError(f"the joined path {joined!r} is outside of the base path {base!r}")
    return final.lstrip("/")


def _refuse(name: object, why: str) -> SuspiciousFileOperation:
    return SuspiciousFileOperation(f"Refused file name {name!r}: {why}.")


def _has_drive(path: str) -> bool:
    return (
        len(path) >= 2
        and path[1] == ":"
        and path[0].isalpha()
        and (len(path) == 2 or path[2] == "/")
    )


def to_key(location: str, name: str | PurePath, *, allow_root: bool = False) -> str:
    """Return the backend key for ``name`` under ``location``.

    Refuses (``SuspiciousFileOperation``) NUL bytes, absolute paths, drive
    letters, and any ``..`` that would leave ``location``. ``allow_root`` lets
    ``""`` mean the location itself (``exists("")``, ``listdir("")``).
    """
    if isinstance(name, PurePath):
        name = name.as_posix()
    if not isinstance(name, str):
        raise TypeError(f"file names must be str, not {type(name).__name__}")
    relative = _relative(name)
    base = location.strip("/")
    if relative.strip("/") in ("", "."):
        if allow_root:
            return base + "/" if base else ""
        raise _refuse(name, "it names the storage root, not a file")
    if relative.endswith("/") and not allow_root:
        raise _refuse(name, "it names a directory, not a file")
    return f"{base}/{relative}" if base else relative


def _relative(name: str) -> str:
    """``name`` cleaned, refused when it could leave the location (NUL, absolute, drive, ..)."""
    if "\x00" in name:
        raise _refuse(name, "it contains a NUL byte")
    raw = name.replace("\\", "/")
    if raw.startswith("/"):
        raise _refuse(name, "absolute paths are not allowed")
    if _has_drive(raw):
        raise _refuse(name, "drive letters are not allowed")
    depth = 0
    for part in raw.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                raise _refuse(name, "it points outside the storage location")
        elif part not in ("", "."):
            depth += 1
    relative = clean_name(raw)
    if _has_drive(relative):  # "./C:" cleans to "C:", which must not become a name either
        raise _refuse(name, "drive letters are not allowed")
    return relative


def from_key(location: str, key: str) -> str:
    """Return the storage name of ``key`` (relative to ``location``)."""
    base = location.strip("/")
    if base and key.startswith(base + "/"):
        return key[len(base) + 1 :]
    return key


def check_location(location: str, setting_name: str = "location") -> str:
    """Validate a ``location`` option: no leading slash, no ``..``."""
    location = location or ""
    if location.startswith("/"):
        raise ImproperlyConfigured(
            f"{setting_name} must not start with '/' (got {location!r}); "
            "object keys are relative: write it without the leading slash."
        )
    if ".." in location.split("/"):
        raise ImproperlyConfigured(f"{setting_name} must not contain '..' (got {location!r}).")
    return clean_name(location).strip("/")


def check_length(
    key: str,
    name: object,
    *,
    max_key_bytes: int | None,
    max_component_bytes: int | None,
    provider: str,
) -> None:
    """Refuse (``NameTooLong``) a key over the provider's limits, before any request."""
    encoded = key.encode("utf-8")
    if max_key_bytes and len(encoded) > max_key_bytes:
        raise NameTooLong(
            f"Refused file name {name!r}: its key is {len(encoded)} bytes in UTF-8; {provider} "
            f"accepts at most {max_key_bytes}. Use a shorter name (or upload_to / location)."
        )
    if max_component_bytes:
        for part in key.split("/"):
            if len(part.encode("utf-8")) > max_component_bytes:
                raise NameTooLong(
                    f"Refused file name {name!r}: the path component {part[:40]!r}... is "
                    f"{len(part.encode('utf-8'))} bytes in UTF-8; {provider} accepts at most "
                    f"{max_component_bytes} per file or folder name."
                )

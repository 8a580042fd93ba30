"""Turn provider errors into Python exceptions that name the file and the storage.

Each backend keeps a small table from its provider's error codes to an
exception class and calls :func:`translate`; the original error stays
attached as ``__cause__``. Messages never contain credentials.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping

from django.core.exceptions import ImproperlyConfigured

__all__ = [
    "StorageError",
    "StorageUnavailable",
    "translate",
    "caused_by",
    "sdk_required",
    "SDKMissing",
]


class StorageError(OSError):
    """A provider error that has no more specific Python equivalent."""


class StorageUnavailable(StorageError, ConnectionError):
    """The storage's server could not be reached (or did not answer in time)."""


class SDKMissing(ImproperlyConfigured):
    """A backend's SDK is not installed; ``package`` and ``extra`` say what to install."""

    def __init__(self, message: str, *, package: str, extra: str) -> None:
        super().__init__(message)
        self.package, self.extra = package, extra


def translate(
    code: str | int | None,
    table: Mapping[str | int, type[BaseException]],
    *,
    storage: object,
    name: str | None,
    detail: str = "",
) -> BaseException | None:
    """Build the Python exception for provider error ``code``, or None if unknown.

    The caller raises it ``from`` the provider exception so the cause is kept.
    """
    kind = table.get(code) if code is not None else None
    if kind is None:
        return None
    label = type(storage).__name__
    what = f"{name!r}" if name else "the storage root"
    if kind is FileNotFoundError:
        return FileNotFoundError(2, f"No such file in {label}: {what}", name)
    if kind is FileExistsError:
        return FileExistsError(17, f"File already exists in {label}: {what}", name)
    if kind is PermissionError:
        return PermissionError(
            13,
            f"{label} was denied access to {what} ({detail or code}); check its credentials and "
            "permissions",
            name,
        )
    if kind is ImproperlyConfigured:
        return ImproperlyConfigured(f"{label}: {detail or code}")
    return kind(f"{label}: {detail or code} while accessing {what}")


def caused_by(
    exc: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    """True when ``exc`` or anything it wraps (cause, context, ``reason``, arguments) is a ``kind``.

    SDKs wrap socket errors several layers deep (requests > urllib3 > OSError): this finds,
    say, a ``ConnectionRefusedError`` (nothing listens: don't retry) wherever it sits.
    """
    seen: set[int] = set()
    todo: list[object] = [exc]
    while todo:
        item = todo.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, kind):
            return True
        todo += [item.__cause__, item.__context__, getattr(item, "reason", None), *item.args]
    return False


@contextlib.contextmanager
def sdk_required(backend: str, package: str, extra: str) -> Iterator[None]:
    """Wrap a backend's SDK imports: a missing SDK is an ImproperlyConfigured naming the extra to
    install."""
    try:
        yield
    except ImportError as exc:
        raise SDKMissing(
            f"{backend} needs {package}: pip install 'django-storages[{extra}]'",
            package=package,
            extra=extra,
        ) from exc

"""Setting declarations and the one resolver every storage uses.

A backend declares its settings as a table of :class:`Setting` rows. When a
storage is created, :func:`resolve` fills each attribute from, in order:

1. the constructor keyword (``STORAGES[alias]["OPTIONS"]``),
2. a class attribute defined on a subclass,
3. the Django setting (then its older aliases),
4. the environment variable(s),
5. the declared default.

Older settings that users may still have (for example ``AWS_HEADERS``) are
declared as :class:`Legacy` rows: each is translated into today's option with
a ``DeprecationWarning`` that says what to write instead.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

__all__ = ["Setting", "Legacy", "resolve", "setting", "lookup_env", "MISSING"]


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


def setting(name: str, default: Any = None) -> Any:
    """Return ``settings.<name>``, or ``default`` when it is not set."""
    return getattr(django_settings, name, default)


def lookup_env(names: Iterable[str]) -> str | None:
    """Return the first non-empty environment variable among ``names``."""
    for name in names:
        value = os.environ.get(name)
        if value:
            return value
    return None


@dataclass(frozen=True)
class Setting:
    """One storage option: its keyword, where else it can come from, its default.

    ``settings`` are Django setting names in lookup order (today's name first,
    then accepted aliases). ``default`` may be a zero-argument callable, used
    for mutable defaults and for defaults that depend on other settings.
    ``secret`` options are never shown in ``deconstruct()``, reprs or errors.
    """

    name: str
    settings: tuple[str, ...] = ()
    default: Any = None
    env: tuple[str, ...] = ()
    secret: bool = False
    required: bool = False
    doc: str = ""

    def default_value(self) -> Any:
        if callable(self.default):
            return self.default()
        return copy.deepcopy(self.default)

    def places(self) -> str:
        """Human list of every place this option can be set (for errors)."""
        where = [f'OPTIONS["{self.name}"]']
        where += list(self.settings)
        where += [f"the environment variable {e}" for e in self.env]
        return " or ".join(where)


@dataclass(frozen=True)
class Legacy:
    """An older Django setting translated into a current option.

    ``convert`` receives the values of ``settings`` (``MISSING`` for unset
    ones) and returns the value for ``target``. When ``merge`` is true the
    result is a dict merged *under* the current value (explicit keys win).
    The translation applies only when the target was not set explicitly
    (keyword, subclass attribute or current setting), or when ``merge``.
    """

    settings: tuple[str, ...]
    target: str
    convert: Callable[..., Any]
    instead: str
    merge: bool = False


@dataclass
class Resolved:
    values: dict[str, Any] = field(default_factory=dict)
    explicit: set[str] = field(default_factory=set)


def _class_attribute(cls: type, name: str, stop: type) -> Any:
    """A value for ``name`` defined on ``cls`` or a base below ``stop``."""
    for klass in cls.__mro__:
        if klass is stop:
            break
        if name in vars(klass):
            return vars(klass)[name]
    return MISSING


def resolve(
    instance: object,
    declared: Iterable[Setting],
    options: Mapping[str, Any],
    legacy: Iterable[Legacy] = (),
    stop: type | None = None,
) -> dict[str, Any]:
    """Resolve ``declared`` settings for ``instance`` and set them as attributes.

    ``stop`` is the class whose own attributes do not count as user
    overrides (the backend class itself; defaults live in the table).
    Returns the resolved values.
    """
    declared = list(declared)
    cls = type(instance)
    _refuse_unknown(cls, {s.name for s in declared}, options)
    result = Resolved()
    for s in declared:
        value = _explicit_value(s, options, cls, stop)
        if value is MISSING:
            value = s.default_value()
        else:
            result.explicit.add(s.name)
        result.values[s.name] = value
    for rule in legacy:
        _apply_legacy(rule, result)
    for s in declared:
        if s.required and result.values.get(s.name) in (None, ""):
            raise ImproperlyConfigured(f"{cls.__name__} needs {s.name!r}: set {s.places()}.")
    for name, value in result.values.items():
        setattr(instance, name, value)
    return result.values


def _refuse_unknown(cls: type, names: set[str], options: Mapping[str, Any]) -> None:
    unknown = sorted(set(options) - names)
    if unknown:
        raise ImproperlyConfigured(
            f"{cls.__name__} got unknown option(s) {', '.join(map(repr, unknown))}. "
            f"Valid options are: {', '.join(sorted(names))}."
        )


def _explicit_value(s: Setting, options: Mapping[str, Any], cls: type, stop: type | None) -> Any:
    """The value set for ``s`` (OPTIONS > subclass attribute > Django setting > environment), or
    MISSING."""
    value = options.get(s.name, MISSING)
    if value is MISSING and stop:
        value = _class_attribute(cls, s.name, stop)
    if value is MISSING:
        value = next(
            (getattr(django_settings, n) for n in s.settings if hasattr(django_settings, n)),
            MISSING,
        )
    if value is MISSING and s.env:
        env = lookup_env(s.env)
        value = MISSING if env is None else env
    return value


def _apply_legacy(rule: Legacy, result: Resolved) -> None:
    """Translate the older settings of ``rule`` into its option, with a DeprecationWarning."""
    present = [setting(n, MISSING) for n in rule.settings]
    if all(v is MISSING for v in present):
        return
    if rule.target in result.explicit and not rule.merge:
        return
    old = ", ".join(n for n, v in zip(rule.settings, present) if v is not MISSING)
    warnings.warn(
        f"{old} is deprecated and will stop working in a future release; {rule.instead}.",
        DeprecationWarning,
        stacklevel=5,
    )
    converted = rule.convert(*present)
    if rule.merge:
        result.values[rule.target] = _merge(converted or {}, result.values.get(rule.target) or {})
    elif converted is not MISSING and converted is not None:
        result.values[rule.target] = converted


def _merge(old: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters from older settings under the current ones (``Metadata`` merged key by key)."""
    merged = dict(old)
    for key, val in current.items():
        if key == "Metadata" and isinstance(val, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **val}
        else:
            merged[key] = val
    return merged


_told = False


def notice_missing_app() -> None:
    """Say once per process, when a storage of this package is first built, that ``"storages"``
    is not in ``INSTALLED_APPS``.

    1.14 never asked for the app, so an upgraded site silently keeps Django's collectstatic and
    has no system checks or commands. A system check can't say it (without the app, nothing
    registers one: Django runs the checks of installed apps, and a storage is built lazily, after
    the checks ran), so the first storage built says it, in the log (stderr when logging is not
    configured). It is a notice, not an error: a site that wants only the storages may leave the
    app out and silence this logger (``storages.conf``).
    """
    global _told
    if _told:
        return
    from django.apps import apps

    if not apps.apps_ready:  # a storage built while settings load: ask again on the next one
        return
    _told = True
    if not apps.is_installed("storages"):
        logger.warning(
            '"storages" is not in INSTALLED_APPS: collectstatic is Django\'s slower command, and '
            "the storage system checks and the checkstorages and copystorage commands are "
            'missing. Add "storages" to INSTALLED_APPS, before "django.contrib.staticfiles" (see '
            '"Upgrading from django-storages 1.14" in the docs).'
        )

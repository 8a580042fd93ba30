"""What a backend tells the conformance suite: its capabilities, how to build it, how to break it.

Every area of the suite (``storages.testing.areas``) is a mixin of :class:`ConformanceBase`,
which turns a backend's ``storage_config`` fixture into the storages the tests use and decides,
from the class's :class:`Capabilities`, which tests exist for that backend at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

import pytest
from django.utils.module_loading import import_string

MB = 1024 * 1024

#: The kinds of misconfiguration a :class:`BrokenConfigs` can hold.
MISCONFIGURATIONS = ("bad_credentials", "missing_container", "unreachable")

#: The times a storage may record (``get_<kind>_time()``).
TIMES = ("modified", "created", "accessed")

#: The flags that state this package's own stricter policies (off unless a backend opts in).
POLICIES = (
    "discards_aborted_writes",
    "joins_names_safely",
    "refuses_unsafe_names",
    "lists_missing_folder_empty",
    "errors_name_backend",
    "collectstatic_by_content",
)


@dataclass(frozen=True)
class Capabilities:
    """What a backend does, declared once per test class.

    A capability selects which behaviour a test asserts (``NotImplementedError`` for a time the
    provider does not record, a plain URL instead of a fetch...), or whether a test exists for
    the backend at all: a test whose subject the backend lacks is not collected, never skipped.
    The last six fields are this package's own policies, stricter than Django's ``Storage``
    contract; each is off unless the backend opts in (:meth:`strict` turns them all on).
    """

    #: ``url()`` gives a link a plain HTTP client can fetch. False: the URL is only checked to
    #: end with the quoted name (a backend without a server, or behind a web server the test
    #: does not run).
    url_fetchable: bool = True

    #: ``get_modified_time()`` works. False: it must raise ``NotImplementedError``, and
    #: collectstatic is expected to copy every file again (Django's command cannot date them).
    modified_time: bool = True

    #: ``get_created_time()`` works. False: it must raise ``NotImplementedError``.
    created_time: bool = False

    #: ``get_accessed_time()`` works. False: it must raise ``NotImplementedError``.
    accessed_time: bool = False

    #: Saving under a taken name is an atomic create-if-absent (S3 ``If-None-Match``, GCS
    #: generation 0, ``O_EXCL``): 32 threads saving one name keep 32 distinct contents. False:
    #: the 32 names must still be distinct and readable.
    atomic_create: bool = True

    #: The constructor option that switches overwriting on (``file_overwrite``,
    #: ``allow_overwrite``...). None: the storage has no switch and keeps Django's default (a
    #: taken name gets an alternative name); the tests of overwriting are not collected.
    overwrite_option: str | None = None

    #: ``exists()`` of a folder is True (file systems). Object stores have no folders: there
    #: Django's ``collectstatic --clear`` leaves the files in subfolders (it only descends into
    #: folders that exist), so it is tested only with this package's command
    #: (``collectstatic_by_content``).
    folders_exist: bool = False

    #: Storages built from the same options see the same files (False for Django's
    #: ``InMemoryStorage``: each instance has its own). Tests that look at a saved file through
    #: a second storage (a parent location) need it.
    shared_files: bool = True

    #: Bytes of the bounded-memory test (saved, read and written through ``open("wb")``, each
    #: under 50 MB of Python heap).
    large_size: int = 100 * MB

    #: Bytes ``open(name, "wb")`` holds before it starts streaming to the provider; the aborted
    #: streaming write goes 2 MiB past it (used with ``discards_aborted_writes``).
    streaming_threshold: int = 8 * MB

    #: The :class:`BrokenConfigs` fields the backend's test provides; an error test is collected
    #: for each of these only (a provider without credentials has no ``bad_credentials``).
    misconfigurations: tuple[str, ...] = MISCONFIGURATIONS

    # -- policies: stricter than Django's contract, opt-in ------------------------------------

    #: An exception inside ``with storage.open(name, "wb")`` stores nothing, and a streamed
    #: write past ``streaming_threshold`` keeps the old content and leaves no temporary file.
    discards_aborted_writes: bool = False

    #: Like ``FileSystemStorage``'s ``safe_join``, on every operation (not only ``save()``): a
    #: ``..`` that stays inside the location is resolved, and a parent storage (location one
    #: level up) lists the file under the child's folder.
    joins_names_safely: bool = False

    #: Every operation (save, open, exists, delete, size) refuses an unsafe name (escapes,
    #: absolute paths, backslashes, NUL, drive letters, the empty name) with
    #: ``SuspiciousFileOperation`` before any request: an unreachable backend refuses them too.
    refuses_unsafe_names: bool = False

    #: ``listdir()`` of a folder that does not exist is ``([], [])`` (the object-store
    #: convention; ``FileSystemStorage`` raises ``FileNotFoundError``).
    lists_missing_folder_empty: bool = False

    #: Error messages (a broken configuration, a time the provider does not record) name the
    #: backend's class; without it any message is accepted (Django's own
    #: ``NotImplementedError`` text included).
    errors_name_backend: bool = False

    #: With this package's ``collectstatic`` command, files already stored are recognised by
    #: content: a second run copies nothing even where modified times cannot tell.
    collectstatic_by_content: bool = False

    def __post_init__(self) -> None:
        unknown = sorted(set(self.misconfigurations) - set(MISCONFIGURATIONS))
        if unknown:
            raise ValueError(
                f"Capabilities.misconfigurations: unknown {', '.join(unknown)}; "
                f"valid: {', '.join(MISCONFIGURATIONS)}"
            )

    @classmethod
    def strict(cls, **fields: Any) -> Capabilities:
        """Capabilities with every policy flag on (what this package's own backends meet)."""
        return cls(**{**dict.fromkeys(POLICIES, True), **fields})

    @property
    def recorded_times(self) -> tuple[str, ...]:
        """The times the provider records: ``modified``, ``created``, ``accessed``."""
        return tuple(k for k in TIMES if getattr(self, f"{k}_time"))

    @property
    def unrecorded_times(self) -> tuple[str, ...]:
        """The times whose getter must raise ``NotImplementedError``."""
        return tuple(k for k in TIMES if not getattr(self, f"{k}_time"))

    def has(self, needed: str | Callable[[Capabilities], bool]) -> bool:
        """Whether the flag (or list) ``needed`` is set (non-empty), or the predicate holds."""
        return bool(needed(self) if callable(needed) else getattr(self, needed))


@dataclass
class BackendConfig:
    """How to build the backend under test: its class path and OPTIONS."""

    #: Dotted path of the storage class (as in ``STORAGES[...]["BACKEND"]``).
    path: str
    #: Keyword arguments of the storage (as in ``STORAGES[...]["OPTIONS"]``).
    options: dict[str, Any]
    #: Strings that must never appear in ``deconstruct()``, reprs or error messages.
    secrets: list[str] = field(default_factory=list)
    #: Option that moves the storage to another prefix (``location``, ``root_path``...).
    location_option: str = "location"
    #: Options for serving static files (stable, unsigned URLs), used by the manifest test.
    static_options: dict[str, Any] = field(default_factory=dict)

    @property
    def cls(self) -> type:
        return import_string(self.path)

    def make(self, **overrides: Any) -> Any:
        return self.cls(**{**self.options, **overrides})


@dataclass
class BrokenConfigs:
    """Misconfigurations a backend must report clearly; None: cannot be produced here (leave the
    kind out of :attr:`Capabilities.misconfigurations` too, and no test of it is collected)."""

    bad_credentials: BackendConfig | None = None
    missing_container: BackendConfig | None = None
    unreachable: BackendConfig | None = None


def use_storages(settings: Any, mapping: dict[str, Any]) -> None:
    """Point STORAGES at ``mapping`` for one test.

    Django 4.2's settings override also sets DEFAULT_FILE_STORAGE from STORAGES,
    which then wins and drops OPTIONS; hand the storage handler the mapping itself.
    """
    settings.STORAGES = mapping
    import django

    if django.VERSION < (5, 1):
        from django.core.files.storage import storages

        storages.__dict__.pop("backends", None)
        storages._backends = dict(mapping)
        storages._storages = {}


Need = Union[str, Callable[["Capabilities"], bool]]


def needs(*flags: Need) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Collect the decorated test only for a backend whose capabilities have every flag (a
    field or property name, set or non-empty; or a predicate of the capabilities)."""
    for flag in flags:
        if isinstance(flag, str) and not hasattr(Capabilities, flag):
            raise ValueError(f"needs(): {flag!r} is not a Capabilities field or property")

    def mark(test: Callable[..., Any]) -> Callable[..., Any]:
        test.conformance_needs = flags  # type: ignore[attr-defined]
        return test

    return mark


class ConformanceBase:
    """Fixtures every area shares; a backend's test class supplies ``storage_config`` (and
    ``broken_configs`` when its capabilities list misconfigurations).

    Tests marked with :func:`needs` are replaced by ``None`` (so pytest does not collect them)
    in a class whose capabilities lack the flag; parameters that depend on capabilities
    (``overwrite``, ``kind``, ``recorded_time``, ``unrecorded_time``) are generated from them;
    a test over a list that can be empty also ``needs`` that list, so it is never generated
    with no parameters (which pytest would report as skipped).
    """

    capabilities: ClassVar[Capabilities] = Capabilities()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.capabilities, Capabilities):
            raise TypeError(f"{cls.__name__}.capabilities must be a Capabilities")
        dropped = {}
        for name in dir(cls):
            if not name.startswith("test_"):
                continue
            test = _declared_test(cls, name)
            wanted = getattr(test, "conformance_needs", ())
            if wanted and not all(cls.capabilities.has(flag) for flag in wanted):
                dropped[name] = test
                setattr(cls, name, None)
            elif wanted and test is not getattr(cls, name):
                setattr(cls, name, test)  # a parent dropped it; this class has the flags
        cls._conformance_dropped = dropped

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        caps = self.capabilities
        if "overwrite" in metafunc.fixturenames:
            values = [True, False] if caps.overwrite_option else [False]
            metafunc.parametrize("overwrite", values)
        if "kind" in metafunc.fixturenames:
            metafunc.parametrize("kind", list(caps.misconfigurations))
        if "recorded_time" in metafunc.fixturenames:
            metafunc.parametrize("recorded_time", list(caps.recorded_times))
        if "unrecorded_time" in metafunc.fixturenames:
            metafunc.parametrize("unrecorded_time", list(caps.unrecorded_times))

    # -- fixtures built from the backend's storage_config ------------------
    @pytest.fixture
    def storage(self, storage_config: BackendConfig) -> Any:
        return storage_config.make()

    @pytest.fixture
    def make_storage(self, storage_config: BackendConfig) -> Callable[..., Any]:
        return storage_config.make

    @pytest.fixture
    def overwrite_on(self, storage_config: BackendConfig) -> Any:
        """The storage with overwriting on (None: it has no switch)."""
        option = self.capabilities.overwrite_option
        return storage_config.make(**{option: True}) if option else None

    @pytest.fixture
    def overwrite_off(self, storage_config: BackendConfig) -> Any:
        """The storage with overwriting off (without a switch: as configured, Django's
        default)."""
        option = self.capabilities.overwrite_option
        return storage_config.make(**{option: False}) if option else storage_config.make()

    @pytest.fixture
    def as_default_storage(self, settings: Any, storage_config: BackendConfig) -> None:
        use_storages(
            settings,
            {
                "default": {
                    "BACKEND": storage_config.path,
                    "OPTIONS": dict(storage_config.options),
                },
                "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
            },
        )

    def default_options(self, storage_config: BackendConfig, overwrite: bool) -> dict[str, Any]:
        """OPTIONS of ``storage_config`` with overwriting set (when the backend has a switch)."""
        option = self.capabilities.overwrite_option
        return {**storage_config.options, **({option: overwrite} if option else {})}


def _declared_test(cls: type, name: str) -> Any:
    """The test function ``name`` as its area defined it (not the ``None`` a class put there
    because its capabilities lacked a flag)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            value = vars(klass)[name]
            if value is None:
                return vars(klass).get("_conformance_dropped", {}).get(name)
            return value
    return None

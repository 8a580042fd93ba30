"""BaseStorage: the shared core under every backend.

It owns everything that is not provider-specific: settings resolution, names (through
:mod:`storages.naming`), the overwrite policy, content types, gzip, times and the upload/download
plumbing. The backend contract is at the top of :class:`BaseStorage`: its traits (class
attributes), the required hooks a backend implements over already-normalised keys (``_stat``,
``_open_reader``, ``_upload``, ``_delete``, ``_list``, ``_probe_root``, ``url``) and the
optional hooks with generic defaults (``_translate_error``, ``_scan``, ``_delete_many``,
``_copy_from``...). docs/architecture.rst walks through it.

The plumbing backends share lives here once: ``_call()`` (timing, DEBUG line, errors through
``unreachable_errors`` and ``_translate_error``), ``_each()`` (an SDK iterator's requests through
``_call``), ``_lazy()`` / ``_per_thread()`` clients, upload parameters (``get_object_parameters()``,
``content_parameters``, ``acl_parameter``, ``object_parameter_keys``), ``_scrub()``, and the
helpers ``batches()``, ``poll()`` and ``name_lock()``.

``save()`` hands its content to ``_upload()`` directly; ``open(name, "wb")`` writes into a
:class:`~storages.transfer.PipeWriter` that feeds the same ``_upload()`` in bounded memory.

The core knows no feature: collectstatic's listing run (:mod:`storages.snapshot`) is a mixin the
command puts in front of the storage for the run.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
import mimetypes
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator
from typing import Any, ClassVar

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from storages import naming
from storages.aio import ASYNC_SETTINGS, AsyncStorageMixin
from storages.compress import GzipWriter
from storages.conf import Legacy, Setting, notice_missing_app, resolve
from storages.errors import StorageError, StorageUnavailable
from storages.files import (
    Leftover,
    ObjectInfo,
    ReadAhead,
    ReadResult,
    RemoteFile,
    UploadSpec,
    is_temp_name,
)
from storages.transfer import PipeWriter, UploadSource, WriteBuffer
from storages.utils import get_available_overwrite_name

logger = logging.getLogger(__name__)

__all__ = ["BaseStorage", "GZIP_CONTENT_TYPES", "batches", "common_settings", "name_lock", "poll"]

GZIP_CONTENT_TYPES = (
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/x-javascript",
    "image/svg+xml",
)

# The max_length that Storage.save() was given, for name retries in _save().
_MAX_LENGTH: contextvars.ContextVar[int | None] = contextvars.ContextVar("max_length", default=None)

NAME_ATTEMPTS = 100
_END = object()


_NAME_LOCKS: weakref.WeakValueDictionary[tuple[Any, ...], Any] = weakref.WeakValueDictionary()
_NAME_LOCKS_GUARD = threading.Lock()


def name_lock(*ident: Any) -> Any:
    """One ``threading.Lock`` per stored name (``ident``: where and which) in this process, kept
    while in use: where a provider has no atomic create-if-absent, this process's savers of a name
    take turns."""
    with _NAME_LOCKS_GUARD:
        return _NAME_LOCKS.setdefault(ident, threading.Lock())


def poll(
    check: Callable[[], Any],
    done: Callable[[Any], bool],
    *,
    wait: float = 0.05,
    most: float = 2.0,
    limit: float | None = None,
) -> Any:
    """``check()`` until ``done(result)`` (a provider's asynchronous job): ``wait`` seconds between
    tries, doubling up to ``most``; after ``limit`` seconds the last result is returned as it is."""
    deadline = None if limit is None else time.monotonic() + limit
    while not done(result := check()) and (deadline is None or time.monotonic() < deadline):
        time.sleep(wait)
        wait = min(wait * 2, most)
    return result


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of at most ``size`` (a provider's batch-request limit)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def common_settings(
    prefix: str,
    *,
    overwrite: tuple[str, str, bool] | None = None,
    gzip_setting: str | None = None,
    memory_setting: str | None = None,
    memory_default: int = 0,
) -> tuple[Setting, ...]:
    """Settings most backends share, under the backend's own setting names."""
    rows = [
        Setting("location", (f"{prefix}LOCATION",), "", doc="Prefix for every name."),
        Setting(
            "read_ahead",
            (f"{prefix}READ_AHEAD",),
            None,
            doc="Parallel ranged reads of large objects read in order, and the memory bound of a "
            "read: a dict of threshold / part_size / concurrency (defaults 8 MiB / 2 MiB / 10, "
            "S3: 16 connections), or False; a read holds at most (concurrency + 1) x part_size "
            "bytes of the object.",
        ),
        Setting(
            "write_buffer",
            (f"{prefix}WRITE_BUFFER",),
            None,
            doc="The memory bound of a write (save() and open('wb')): a dict of part_size / "
            "concurrency, or False (one part at a time); a write holds at most "
            "(concurrency + 2) x part_size bytes of the file. Unset: the provider's own "
            "settings, then the backend's defaults; set, it wins over them (see Behaviour).",
        ),
    ]
    if overwrite:
        option, name, default = overwrite
        rows.append(
            Setting(option, (name,), default, doc="Save over an existing file of the same name.")
        )
    if gzip_setting:
        rows.append(
            Setting("gzip", (gzip_setting,), False, doc="Gzip uploads of GZIP_CONTENT_TYPES.")
        )
        rows.append(Setting("gzip_content_types", ("GZIP_CONTENT_TYPES",), GZIP_CONTENT_TYPES))
    if memory_setting:
        rows.append(
            Setting(
                "max_memory_size",
                (memory_setting,),
                memory_default,
                doc=(
                    "Accepted for compatibility: reads and writes stream in parts, nothing is "
                    "spooled whole."
                ),
            )
        )
    return tuple(rows)


class _ThreadSlots:
    """Per-thread SDK objects of one storage, and those of ended threads, kept for new threads."""

    def __init__(self) -> None:
        self.local = threading.local()
        self.idle: dict[str, list[Any]] = {}


class _Held:
    """Holds a thread's object; its end (with the thread's locals) hands the object back."""

    __slots__ = ("value", "__weakref__")

    def __init__(self, value: Any) -> None:
        self.value = value


#: Objects of ended threads kept per slot (more threads than this at once make new ones).
_IDLE_PER_SLOT = 16


def _give_back(idle: list[Any], value: Any) -> None:
    if len(idle) < _IDLE_PER_SLOT:
        idle.append(value)


def _missing_hook(storage: BaseStorage, hook: str) -> NotImplementedError:
    return NotImplementedError(
        f"{type(storage).__name__} does not implement {hook}(), a hook every storage built on "
        f"storages.base.BaseStorage must provide (see BaseStorage.{hook})"
    )


@deconstructible
class BaseStorage(AsyncStorageMixin, Storage):
    """Common behaviour of every django-storages backend.

    The backend contract is the first part of this class: the traits (class attributes a backend
    sets), the required hooks (a backend implements each one; a missing one raises
    ``NotImplementedError`` naming the class and the hook) and the optional hooks (defaults a
    backend overrides where its provider does better). Everything after them is the core, which a
    backend uses and does not override. Hooks receive keys: names already normalised under
    ``location`` by the core.
    """

    # == Traits ==================================================================================
    # -- settings and migrations
    #: Setting declarations (``storages.conf.Setting``); backends extend this.
    settings_table: ClassVar[tuple[Setting, ...]] = ()
    #: Older settings translated with a DeprecationWarning.
    legacy_settings: ClassVar[tuple[Legacy, ...]] = ()
    #: Name of the boolean option that turns overwriting on (None: the storage never overwrites).
    overwrite_option: ClassVar[str | None] = "file_overwrite"
    #: Whether ``location`` is a key prefix the core checks and joins names under.
    uses_key_prefix: ClassVar[bool] = True
    #: Secret keys inside dict options (e.g. SFTP's ``params``), kept out of ``deconstruct()``.
    secret_option_keys: ClassVar[dict[str, Collection[str]]] = {}
    #: Options never recorded by ``deconstruct()`` besides the secret settings.
    deconstruct_exclude: ClassVar[tuple[str, ...]] = ()
    #: Whether positional constructor arguments may hold secrets (then none is recorded).
    positional_args_are_secret: ClassVar[bool] = False

    # -- connections and errors
    #: Attributes holding connections, clients or other SDK objects that are not made by
    #: ``_lazy()`` (which drops its own): dropped when the storage is pickled or copied, and
    #: rebuilt on first use. A subclass lists only its own; the parents' lists still apply.
    transient_attributes: ClassVar[tuple[str, ...]] = ()
    #: Where the server address is set, named when it can't be reached.
    endpoint_setting: ClassVar[str] = ""
    #: SDK errors that mean the server could not be reached (or did not answer in time).
    unreachable_errors: ClassVar[tuple[type[BaseException], ...]] = ()
    #: Errors of ``_probe_root()`` that mean the root (bucket, container, folder) does not exist.
    root_missing_errors: ClassVar[tuple[type[BaseException], ...]] = (ImproperlyConfigured,)

    # -- names
    #: Provider limit on a whole key in UTF-8 bytes, checked before any request (None: none).
    max_key_bytes: ClassVar[int | None] = None
    #: Provider limit on one path component in UTF-8 bytes (None: none).
    max_component_bytes: ClassVar[int | None] = None

    # -- files, content and uploads
    #: The file class ``open()`` returns.
    file_class: ClassVar[type[RemoteFile]] = RemoteFile
    #: The content type of a name ``mimetypes`` can't guess.
    default_content_type: ClassVar[str] = "application/octet-stream"
    #: Why a time is not available, per kind ("created", "accessed"); absent: available.
    missing_times: ClassVar[dict[str, str]] = {}
    #: Read-ahead when ``read_ahead`` is not set (None: ReadAhead() defaults).
    default_read_ahead: ClassVar[Any] = None
    #: Whether the SDK holds each range of the read-ahead whole before it is copied out (Azure,
    #: libcloud): the read bound counts the ranges in flight twice.
    sdk_holds_ranges: ClassVar[bool] = False
    #: What a write holds where neither ``write_buffer`` nor a provider setting says: parts of
    #: ``part_size`` bytes, ``concurrency`` sent at once (see :meth:`_apply_write_buffer`).
    default_write_buffer: ClassVar[WriteBuffer] = WriteBuffer(
        part_size=8 * 1024 * 1024, concurrency=1
    )
    #: Whether ``_upload()`` calls ``source.checkpoint()`` while the SDK uploads from
    #: ``source.path`` (else a stoppable upload is given the content as a stream).
    path_uploads_checkpoint: ClassVar[bool] = False
    #: Bytes ``open(name, "wb")`` holds before it streams: below it, a file is one request.
    upload_threshold: int = 8 * 1024 * 1024
    #: The part size of uploads sent in parts.
    upload_part_size: int = 8 * 1024 * 1024
    #: The upload parameters that set the content type and encoding (S3: "ContentType",
    #: "ContentEncoding").
    content_parameters: ClassVar[tuple[str, str]] = ("content_type", "content_encoding")
    #: The upload parameter that ``default_acl`` sets when a file's parameters have none.
    acl_parameter: ClassVar[str | None] = None
    #: The upload parameters the backend accepts, checked before any request (None: not checked).
    object_parameter_keys: ClassVar[Collection[str] | None] = None

    # -- read by the features (system checks, checkstorages, copystorage, direct uploads); the
    # features never name a provider, and a plain Django storage has none of these (they use
    # getattr() defaults)
    #: Credential option groups: the storage is credentialed when every option of one group is
    #: set; ``manage.py check`` warns (storages.W002) when none is. Empty: not checked.
    credential_options: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: Option pairs where one half set without the other is always a mistake (storages.W001).
    paired_options: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Boolean options that turn TLS off when False (storages.W003 for a remote endpoint).
    tls_options: ClassVar[tuple[str, ...]] = ()
    #: The option naming the bucket or container (``checkstorages`` names it when it is missing).
    container_option: ClassVar[str] = ""
    #: How files are made readable by everyone (static files served by unsigned URLs), named by
    #: ``checkstorages`` when such a URL answers 403. Empty: nothing provider-specific to say.
    public_read_setup: ClassVar[str] = ""
    #: The key of ``object_parameters`` that sets an upload's Cache-Control (copystorage keeps the
    #: source's); None: the provider stores no Cache-Control.
    cache_control_param: ClassVar[str | None] = None
    #: The most bytes one direct upload from a browser can take; None: no provider limit.
    direct_upload_max_size: ClassVar[int | None] = None
    #: Optional hook ``direct_upload_ticket(request: TicketRequest) -> UploadTicket``: what a
    #: browser needs to upload ``request.name`` straight to the provider (see
    #: :mod:`storages.direct`). None: direct uploads are not supported.
    direct_upload_ticket: ClassVar[Callable[..., Any] | None] = None
    #: Optional hook ``direct_upload_cors_problems(origin: str) -> list[str]``: what in the
    #: provider's CORS rules would stop a page on ``origin`` uploading directly (empty: nothing).
    #: None: the provider needs no rule.
    direct_upload_cors_problems: ClassVar[Callable[[str], list[str]] | None] = None

    # == Required hooks ==========================================================================
    def _stat(self, key: str) -> ObjectInfo:
        """One request: the :class:`~storages.files.ObjectInfo` of the object ``key`` (size,
        modified time, content type and encoding, the hashes the provider keeps). Raise
        ``FileNotFoundError`` when there is none."""
        raise _missing_hook(self, "_stat")

    def _open_reader(self, key: str, offset: int, end: int | None = None) -> ReadResult:
        """Start reading bytes ``[offset, end)`` of ``key`` (``end`` None: to the end): a
        :class:`~storages.files.ReadResult` with a stream of those bytes and the object's info.
        Raise ``FileNotFoundError`` when there is no such object."""
        raise _missing_hook(self, "_open_reader")

    def _upload(self, spec: UploadSpec, source: UploadSource) -> None:
        """Store ``source`` under ``spec.key`` through the SDK's own transfer helper, with
        ``spec.content_type``, ``spec.content_encoding`` and ``spec.params``. With
        ``spec.create_only`` it must be atomic and raise ``FileExistsError`` when the name is
        taken; a failed upload leaves nothing behind."""
        raise _missing_hook(self, "_upload")

    def _delete(self, key: str) -> None:
        """Delete ``key``; a missing key is fine (do nothing, or raise ``FileNotFoundError``,
        which the core ignores)."""
        raise _missing_hook(self, "_delete")

    def _list(self, prefix: str) -> Iterable[tuple[list[str], list[str]]]:
        """Pages of ``(directory keys, file keys)`` directly below ``prefix`` (a key ending in
        "/", or "" for the root); a missing prefix yields nothing."""
        raise _missing_hook(self, "_list")

    def _probe_root(self) -> Any:
        """One request about the bucket, container or root folder: False (or one of
        ``root_missing_errors`` raised) when it does not exist, anything else when it does."""
        raise _missing_hook(self, "_probe_root")

    def url(self, name: str | None) -> str:
        """The URL of ``name`` (no request where the provider allows: signed or public)."""
        raise _missing_hook(self, "url")

    # == Optional hooks (generic defaults) =======================================================
    def configure(self) -> None:
        """Validate and derive attributes once settings are resolved (raise
        ``ImproperlyConfigured`` naming the setting)."""

    def _apply_write_buffer(self, config: WriteBuffer | None) -> WriteBuffer:
        """Set the SDK's upload knobs from ``write_buffer`` (``config``; None when it is unset:
        the provider's own settings and :attr:`default_write_buffer` stay) and return what a
        write holds (part size and parts sent at once), the bound the docs and the conformance
        suite hold the backend to. Called once, after :meth:`configure`.

        This default suits an SDK that streams one part at a time: ``part_size`` is the part
        size of uploads and the most ``open(name, "wb")`` holds before it streams."""
        if config is None or config.part_size is None:
            part = int(self.default_write_buffer.part_size or self.upload_part_size)
        else:
            part = int(config.part_size)
        self.upload_part_size = part
        self.upload_threshold = min(int(self.upload_threshold), part)
        return WriteBuffer(part_size=part, concurrency=1)

    def read_bound(self) -> int:
        """Bytes of an object a read holds at most: the read-ahead window,
        ``(concurrency + 1) x part_size`` of ``read_ahead`` (0 when it is off: one stream, in
        the SDK's own small buffers), and each range in flight once more where the SDK holds
        it whole before it is copied out (``sdk_holds_ranges``). The conformance suite holds
        reads to it."""
        value = getattr(self, "read_ahead", None)
        config = ReadAhead.coerce(value if value is not None else self.default_read_ahead)
        copies = config.concurrency * config.part_size if self.sdk_holds_ranges else 0
        return config.window + (copies if config.enabled else 0)

    def _translate_error(
        self, exc: BaseException, name: str | None, op: str
    ) -> BaseException | None:
        """The Python exception for a provider error raised during ``op`` on ``name``
        (``FileNotFoundError``, ``PermissionError``, ``StorageUnavailable``...); None: raise it
        unchanged. Errors in ``unreachable_errors`` never get here."""
        return None

    def _endpoint_label(self) -> str:
        """What ``StorageUnavailable`` messages call the server (no credential in it)."""
        return "its server"

    def _scan(self, prefix: str) -> Iterator[tuple[str, ObjectInfo]]:
        """Every object whose key is below ``prefix`` (a directory key ending in "/", or ""),
        recursively, with its info (size, modified time, hashes). Override with the
        provider's flat listing; this default lists each folder and stats each file."""
        for dirs, files in self._list(prefix):
            for key in files:
                try:
                    yield key, self._stat(key)
                except FileNotFoundError:
                    continue
            for sub in dirs:
                yield from self._scan(sub.rstrip("/") + "/")

    def _delete_many(self, keys: list[str]) -> None:
        """Delete ``keys`` (missing ones are fine); override with the provider's batch delete."""
        for key in keys:
            with contextlib.suppress(FileNotFoundError):  # already gone: what was asked
                self._delete(key)

    def _copy_from(self, source: BaseStorage, source_key: str, spec: UploadSpec) -> bool:
        """Copy ``source_key`` of ``source`` to ``spec.key`` on the server; False when this pair
        of storages can't (different provider or account): the caller streams it instead."""
        return False

    def _dir_exists(self, key: str) -> bool:
        """Whether ``key`` is an existing directory. Object stores have none (a bare prefix is
        not a file: False, as ``exists()`` always answered there); file servers override it."""
        return False

    def _remove_empty_folder(self, key: str) -> None:
        """Remove the folder ``key`` if it is empty; a folder that holds anything, or is missing,
        stays as it is, and the root is never removed. Object stores have no folders (an emptied
        prefix is gone by itself): nothing to do. File servers override it."""

    def _stored_parameters(self, key: str) -> dict[str, Any] | None:
        """The upload parameters ``key`` is stored with, in ``object_parameters``' vocabulary
        (the content type under ``content_parameters[0]``), as far as one request can read
        them; None when it is gone. Used by :mod:`storages.metadata` (``syncmetadata``)."""
        raise _missing_hook(self, "_stored_parameters")

    def _replace_parameters(self, key: str, params: dict[str, Any], stored: dict[str, Any]) -> None:
        """Rewrite the stored headers of ``key`` to ``params`` on the server (no content moves),
        keeping its content encoding. Optional: :mod:`storages.metadata` checks for it."""
        raise _missing_hook(self, "_replace_parameters")

    def get_object_parameters(self, name: str) -> dict[str, Any]:
        """Upload parameters for ``name`` (``object_parameters``): override to vary them per
        object."""
        return dict(getattr(self, "object_parameters", None) or {})

    def ambient_credentials(self) -> bool | None:
        """Whether the SDK finds credentials by itself without the network (environment, files).

        None (the default): the SDK has no credential chain of its own. Read by the system checks
        when no group of :attr:`credential_options` is set.
        """
        return None

    def unsigned_url_option(self) -> str | None:
        """The option that makes ``url()`` give unsigned links, if one does (None: links are
        signed, or the provider has no signing). Read by the system checks (W006)."""
        return None

    def endpoint_urls(self) -> list[tuple[str, str]]:
        """``(option, URL)`` of servers this storage talks to that its settings do not spell
        out as URLs (an Azure connection string's account host, a ``ClientOptions`` object's
        endpoint). The system checks (W003) read these beside the URLs in the settings."""
        return []

    def system_checks(self, alias: str) -> list[Any]:
        """The provider's own findings (``django.core.checks`` messages) about this configured
        storage, added to the system checks of ``STORAGES[alias]``. Read configuration only: no
        request may leave the machine."""
        return []

    # -- leftovers of killed uploads (``checkstorages --leftovers-older-than/--remove-leftovers``)
    #: Why the provider has nothing to list (e.g. GCS: resumable sessions expire by themselves);
    #: read when :meth:`_list_leftovers` answers None.
    leftovers_note: ClassVar[str] = "this backend has no way to list unfinished uploads"

    def _list_leftovers(self, older_than: dt.datetime) -> Iterable[Leftover] | None:
        """What uploads that never finished (their process was killed: SIGKILL, the OOM killer)
        left below ``location`` and started before ``older_than``: uploads still running
        elsewhere are younger than that and never listed. None (the default): nothing to list
        (see :attr:`leftovers_note`)."""
        return None

    def _remove_leftover(self, item: Leftover) -> None:
        """Remove one item of :meth:`_list_leftovers` (already gone: nothing to do)."""
        raise NotImplementedError

    def leftovers_policy(self) -> tuple[bool, str] | None:
        """Whether the provider removes leftovers by itself, and how (S3: a lifecycle rule that
        aborts incomplete multipart uploads); None: nothing to say. One request at most."""
        return None

    def presigned_upload_url(
        self, name: str, expire: int = 600, content_type: str = "text/plain"
    ) -> tuple[str, dict[str, str]] | None:
        """A URL that lets one plain HTTP PUT of ``content_type`` create ``name`` within
        ``expire`` seconds, and the headers that PUT must send. None (the default): the provider
        has no such URL. ``checkstorages`` tries it.
        """
        return None

    # == The core ================================================================================
    def __init__(self, **options: Any) -> None:
        notice_missing_app()  # once per process: an upgraded 1.14 site without the app
        self._options = dict(options)
        resolve(self, self.get_settings(), options, self.legacy_settings, stop=BaseStorage)
        if hasattr(self, "location") and self.uses_key_prefix:
            self.location = naming.check_location(self.location, self._setting_label("location"))
        self._lock = threading.RLock()
        self._check_async_settings()
        # Unset (None) stays None, so the backend's default_read_ahead applies when reading.
        if self.__dict__.get("read_ahead") is not None:
            self.read_ahead = ReadAhead.coerce(self.read_ahead, self._setting_label("read_ahead"))
        # Unset (None) leaves the provider's own upload settings in charge.
        if self.__dict__.get("write_buffer") is not None:
            self.write_buffer = WriteBuffer.coerce(
                self.write_buffer, self._setting_label("write_buffer")
            )
        self._check_parameters(
            getattr(self, "object_parameters", None) or {}, self._setting_label("object_parameters")
        )
        self.configure()
        #: What a write holds at most: ``effective_write_buffer.bound`` bytes of the file.
        self.effective_write_buffer = self._apply_write_buffer(self.__dict__.get("write_buffer"))

    @classmethod
    def get_settings(cls) -> tuple[Setting, ...]:
        """The backend's settings, then the core's own (the async API's: storages.aio)."""
        declared = {s.name for s in cls.settings_table}
        return cls.settings_table + tuple(s for s in ASYNC_SETTINGS if s.name not in declared)

    def get_default_settings(self) -> dict[str, Any]:
        """Today's defaults for every option (kept for code that calls it)."""
        return {s.name: s.default_value() for s in self.get_settings()}

    def _setting_label(self, option: str) -> str:
        for s in self.get_settings():
            if s.name == option:
                return s.places()
        return f'OPTIONS["{option}"]'

    # -- pickling and migrations -----------------------------------------
    # One mechanism for pickle, copy.copy() and copy.deepcopy() (Django's cache pickles objects
    # holding storages; model fields are deep-copied): the state is the configuration only.
    # Whatever talks to a server (clients, sessions, pools, locks, per-thread objects) is made
    # through _lazy() / _per_thread(), or named in transient_attributes, and is left out: the
    # copy makes its own on first use, so every operation works on it at any point of its life.
    def _transient_names(self) -> set[str]:
        names = {"_lock", "_thread_local", "_lazily_made", "_async_executor"}
        names.update(self.__dict__.get("_lazily_made", ()))
        for klass in type(self).__mro__:
            names.update(vars(klass).get("transient_attributes", ()))
        return names

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for attr in self._transient_names():
            state.pop(attr, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        where = getattr(self, "location", "")
        return f"<{type(self).__name__} location={where!r}>"

    def _lazy(self, attr: str, factory: Any) -> Any:
        """The value of attribute ``attr``, made once (thread-safe) by ``factory()``; transient:
        a pickled or copied storage leaves it out and makes its own on first use."""
        value = self.__dict__.get(attr)
        if value is None:
            with self._lock:
                value = self.__dict__.get(attr)
                if value is None:
                    value = factory()
                    self.__dict__.setdefault("_lazily_made", set()).add(attr)
                    setattr(self, attr, value)
        return value

    def _per_thread(self, factory: Callable[[], Any], slot: str = "value") -> Any:
        """This thread's ``factory()`` under ``slot``, made once per thread: for SDK clients that
        are not thread-safe (several slots: several such objects per thread). When a thread ends,
        its object waits for the next new thread, so short-lived threads (one per request, as
        under runserver) reuse its connections and credentials instead of opening new ones."""
        slots = self._lazy("_thread_local", _ThreadSlots)
        held = getattr(slots.local, slot, None)
        if held is None:
            idle = slots.idle.setdefault(slot, [])
            try:
                value = idle.pop()
            except IndexError:
                value = factory()
            held = _Held(value)
            weakref.finalize(held, _give_back, idle, value)  # when this thread's locals go
            setattr(slots.local, slot, held)
        return held.value

    # -- requests ----------------------------------------------------------
    def _call(
        self, op: str, name: str | None, fn: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        """One provider request: timed, logged at DEBUG, its error translated by
        ``_translate_error``."""
        start = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except (StorageError, ImproperlyConfigured, SuspiciousFileOperation):
            raise
        except Exception as exc:
            new = self._error_for(exc, name, op)
            if new is None or new is exc:
                raise
            raise new from exc
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s %r %.1fms",
                type(self).__name__,
                op,
                name,
                (time.perf_counter() - start) * 1000,
            )
        return result

    def _error_for(self, exc: BaseException, name: str | None, op: str) -> BaseException | None:
        """``StorageUnavailable`` for one of ``unreachable_errors``, else ``_translate_error()``'s
        answer."""
        if isinstance(exc, self.unreachable_errors):
            return self._unavailable(exc, op)
        return self._translate_error(exc, name, op)

    def _each(self, op: str, name: str | None, items: Iterable[Any]) -> Iterator[Any]:
        """The items of an SDK iterator (pages, chunks) that makes requests as it goes: each step
        through ``_call``, so its errors are translated like any other request's."""
        items = iter(items)
        while (item := self._call(op, name, next, items, _END)) is not _END:
            yield item

    def _unavailable(
        self, exc: BaseException, op: str, where: str | None = None
    ) -> StorageUnavailable:
        """``StorageUnavailable`` for a server that can't be reached, naming the setting to
        check."""
        where = where or self._endpoint_label()
        hint = (
            f"; check {self.endpoint_setting} and the network"
            if self.endpoint_setting
            else "; check the network"
        )
        return StorageUnavailable(
            f"{type(self).__name__} could not reach {where} ({type(exc).__name__} during "
            f"{op}){hint}"
        )

    def _scrub(self, text: str) -> str:
        """``text`` (say, an SDK's error message) with the value of every secret option replaced by
        ***."""
        for s in self.get_settings():
            value = getattr(self, s.name, None) if s.secret else None
            if isinstance(value, str) and value:
                text = text.replace(value, "***")
        return text

    # -- names -------------------------------------------------------------
    def _key(self, name: str, *, allow_root: bool = False) -> str:
        key = naming.to_key(getattr(self, "location", ""), name, allow_root=allow_root)
        if self.max_key_bytes or self.max_component_bytes:
            naming.check_length(
                key,
                name,
                max_key_bytes=self.max_key_bytes,
                max_component_bytes=self.max_component_bytes,
                provider=type(self).__name__,
            )
        return key

    def _name(self, key: str) -> str:
        return naming.from_key(getattr(self, "location", ""), key)

    @property
    def overwrite(self) -> bool:
        return bool(self.overwrite_option and getattr(self, self.overwrite_option, False))

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        name = naming.clean_name(name)
        if self.overwrite:
            return get_available_overwrite_name(name, max_length)
        return super().get_available_name(name, max_length)

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        # Django >= 5.1 asks this in get_available_name's loop; exists() stays literal.
        if self.overwrite:
            return not (max_length and len(name) > max_length)
        return not self.exists(name) and not (max_length and len(name) > max_length)

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        token = _MAX_LENGTH.set(max_length)
        try:
            return super().save(name, content, max_length=max_length)
        finally:
            _MAX_LENGTH.reset(token)

    # -- content type and gzip -------------------------------------------
    def _content_type(self, name: str, content: Any = None) -> tuple[str, str | None]:
        ctype = getattr(content, "content_type", None)
        guessed, encoding = mimetypes.guess_type(name)
        if encoding in ("gzip", "bzip2", "xz", "br", "compress"):
            # A .gz file is an archive, not gzip-encoded content: serving it
            # with Content-Encoding would make browsers unpack it silently.
            ctype = ctype or {
                "gzip": "application/gzip",
                "bzip2": "application/x-bzip2",
                "xz": "application/x-xz",
                "br": "application/x-brotli",
            }.get(encoding, self.default_content_type)
        return ctype or guessed or self.default_content_type, None

    def _should_gzip(self, content_type: str, content_encoding: str | None) -> bool:
        return (
            bool(getattr(self, "gzip", False))
            and not content_encoding
            and (content_type in getattr(self, "gzip_content_types", ()))
        )

    def _decompress_on_read(self, info: ObjectInfo) -> bool:
        return bool(getattr(self, "gzip", False)) and info.content_encoding == "gzip"

    def _upload_spec(
        self,
        name: str,
        content: Any = None,
        create_only: bool = False,
        part_size: int | None = None,
    ) -> tuple[UploadSpec, bool]:
        """What the core decided about an upload of ``name``, and whether to gzip it."""
        ctype, encoding = self._content_type(name, content)
        spec = UploadSpec(
            name=name,
            key=self._key(name),
            content_type=ctype,
            content_encoding=encoding,
            create_only=create_only,
            part_size=part_size,
        )
        self._prepare_upload(spec)
        gzip = self._should_gzip(spec.content_type, spec.content_encoding)
        if gzip:
            spec.content_encoding = "gzip"
        return spec, gzip

    def _writer_for(
        self,
        name: str,
        content: Any = None,
        create_only: bool = False,
        part_size: int | None = None,
    ) -> Any:
        """A writer for a new object ``name``: write(), close() commits, abort() discards."""
        spec, gzip = self._upload_spec(name, content, create_only, part_size)
        # The upload may run on a worker thread: it runs in this context, so what a caller set in
        # context variables (a command's run) still applies to it.
        ctx = contextvars.copy_context()
        pipe = PipeWriter(
            lambda source: ctx.run(self._timed_upload, spec, source),
            threshold=self._pipe_threshold(spec),
        )
        return GzipWriter(pipe) if gzip else pipe

    def _pipe_threshold(self, spec: UploadSpec) -> int:
        """Bytes ``open(name, "wb")`` holds before streaming: below it a file is one request."""
        return int(spec.part_size or self.upload_threshold)

    def _timed_upload(self, spec: UploadSpec, source: UploadSource) -> None:
        start = time.perf_counter()
        # One stop aborts the upload, whoever sets it: a cancelled async call (storages.aio),
        # or Ctrl-C / SIGTERM inside a command (storages.transfer.stoppable_uploads).
        source = source.stoppable(keep_path=self.path_uploads_checkpoint)
        self._upload(spec, source)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s upload %r bytes=%s path=%s %.1fms",
                type(self).__name__,
                spec.name,
                source.size,
                bool(source.path),
                (time.perf_counter() - start) * 1000,
            )

    # -- upload parameters (``object_parameters`` / ``get_object_parameters()``) ----
    def _default_parameters(self) -> dict[str, Any]:
        """Parameters every upload gets unless ``get_object_parameters()`` sets them
        (``default_acl``)."""
        acl = getattr(self, "default_acl", None)
        return {self.acl_parameter: acl} if self.acl_parameter and acl else {}

    def _check_parameters(self, params: dict[str, Any], where: str) -> None:
        keys = self.object_parameter_keys
        if keys is not None and (unknown := sorted(set(params) - set(keys))):
            raise ImproperlyConfigured(
                f"{type(self).__name__}: {where} has unknown key(s) "
                f"{', '.join(map(repr, unknown))}; valid keys are {', '.join(sorted(keys))}."
            )

    def _prepare_upload(self, spec: UploadSpec) -> None:
        """Content type, encoding and the other parameters of an upload, from
        ``get_object_parameters()``."""
        params = self.get_object_parameters(spec.name)
        self._check_parameters(params, f"{type(self).__name__}.get_object_parameters()")
        params = {**self._default_parameters(), **params}
        ctype, encoding = self.content_parameters
        spec.content_type = params.pop(ctype, None) or spec.content_type
        spec.content_encoding = params.pop(encoding, None) or spec.content_encoding
        spec.params = params

    # -- Storage API -----------------------------------------------------
    def _open(self, name: str, mode: str = "rb") -> RemoteFile:
        return self.file_class(name, mode, self)

    def _save(self, name: str, content: Any) -> str:
        name = naming.clean_name(name)
        for attempt in range(NAME_ATTEMPTS):
            spec, gzip = self._upload_spec(name, content, create_only=not self.overwrite)
            source = UploadSource.from_content(content, gzip=gzip)
            if attempt and not source.rewind() and not gzip:
                raise FileExistsError(
                    17,
                    f"{type(self).__name__}: {name!r} was taken while a one-shot stream "
                    "was being uploaded; save it again",
                    name,
                )
            try:
                self._timed_upload(spec, source)
                return name
            except FileExistsError:
                if self.overwrite:
                    raise
                logger.debug(
                    "%s: %r was taken meanwhile; trying another name", type(self).__name__, name
                )
                name = self.get_available_name(name, max_length=_MAX_LENGTH.get())
        raise FileExistsError(f"{type(self).__name__}: no free name found for {name!r}")

    def delete(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):  # already gone: what was asked
            self._delete(self._key(name))

    def _object_info(self, key: str) -> ObjectInfo:
        """What ``size()`` and the ``get_*_time()`` methods read about ``key``."""
        return self._stat(key)

    def exists(self, name: str) -> bool:
        """True when a file (or, on file servers, a directory) is stored under ``name``.

        Literal: the overwrite policy never changes the answer, and nothing seen earlier in this
        process does either.
        """
        key = self._key(self._root_alias(name), allow_root=True)
        if key == self._key("", allow_root=True):
            return self._root_exists()
        try:
            self._stat(key)
            return True
        except FileNotFoundError:
            return self._dir_exists(key.rstrip("/"))

    @staticmethod
    def _root_alias(path: str) -> str:
        # "/" has always meant the storage root in listdir("/") (FTP, Dropbox, libcloud);
        # every other absolute name is still refused by naming.to_key().
        return "" if isinstance(path, str) and path and path.strip("/") == "" else path

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = self._key(self._root_alias(path), allow_root=True)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        dirs: dict[str, None] = {}
        files: dict[str, None] = {}
        for dir_keys, file_keys in self._list(prefix):
            for key in dir_keys:
                rel = key[len(prefix) :].strip("/")
                if rel:
                    dirs[rel] = None
            for key in file_keys:
                rel = key[len(prefix) :]
                if rel and "/" not in rel and not is_temp_name(rel):
                    files[rel] = None
        return list(dirs), list(files)

    def size(self, name: str) -> int:
        return self._object_info(self._key(name)).size

    def _time(self, name: str, kind: str) -> dt.datetime:
        if kind in self.missing_times:
            raise NotImplementedError(
                f"{type(self).__name__} can't report {kind} times: {self.missing_times[kind]}"
            )
        value = getattr(self._object_info(self._key(name)), kind)
        if value is None:
            raise NotImplementedError(f"{type(self).__name__} has no {kind} time for {name!r}")
        return _django_time(value)

    def get_modified_time(self, name: str) -> dt.datetime:
        return self._time(name, "modified")

    def get_created_time(self, name: str) -> dt.datetime:
        return self._time(name, "created")

    def get_accessed_time(self, name: str) -> dt.datetime:
        return self._time(name, "accessed")

    def _root_exists(self) -> bool:
        """Whether the storage's root exists: ``_probe_root()`` answers False, or raises one of
        ``root_missing_errors``, when it does not."""
        try:
            return self._probe_root() is not False
        except self.root_missing_errors:
            return False

    # -- public helpers over the hooks ---------------------------------------------
    def scan(self, path: str = "") -> Iterator[tuple[str, ObjectInfo]]:
        """``(name, info)`` of every file below ``path`` (recursively), names relative to
        ``location``."""
        prefix = self._key(path, allow_root=True)
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        for key, info in self._scan(prefix):
            if not is_temp_name(key.rsplit("/", 1)[-1]):
                yield self._name(key), info

    def delete_many(self, names: Iterable[str]) -> None:
        """Delete every name in ``names`` with as few requests as the provider allows."""
        keys = [self._key(name) for name in names]
        if keys:
            self._delete_many(keys)


def _django_time(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime as Django expects it: aware if USE_TZ, else naive local."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    if getattr(django_settings, "USE_TZ", False):
        return value.astimezone(dt.timezone.utc)
    return timezone.make_naive(value, timezone.get_current_timezone())


def _get_constructor_args(self: BaseStorage) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return self.__dict__.get("_safe_constructor_args", ((), {}))


def _set_constructor_args(self: BaseStorage, value: tuple[tuple[Any, ...], dict[str, Any]]) -> None:
    """Keep what migrations record (``deconstruct()``) free of credentials.

    ``@deconstructible`` stores the constructor arguments here; secret options
    are dropped on the way in, so they can't reach a migration file. They come
    back from settings (or the environment) when the storage is rebuilt.
    """
    args, kwargs = value
    cls = type(self)
    hidden = {s.name for s in cls.get_settings() if s.secret} | set(cls.deconstruct_exclude)
    if cls.positional_args_are_secret:
        args = ()
    safe = {}
    for option, val in kwargs.items():
        if option in hidden:
            continue
        if isinstance(val, dict) and option in cls.secret_option_keys:
            # A dict option holding secrets: keep its other keys.
            val = {k: v for k, v in val.items() if k not in cls.secret_option_keys[option]}
        safe[option] = val
    self.__dict__["_safe_constructor_args"] = (args, safe)


BaseStorage._constructor_args = property(_get_constructor_args, _set_constructor_args)  # type: ignore[attr-defined]


def join_url(base: str, key: str, query: dict[str, Any] | None = None) -> str:
    """``base`` + the percent-quoted key (+ a query string); no network."""
    from urllib.parse import quote, urlencode

    url = base.rstrip("/") + "/" + quote(key, safe="/~")
    if query:
        url += ("&" if "?" in url else "?") + urlencode(query)
    return url


__all__ += ["join_url"]

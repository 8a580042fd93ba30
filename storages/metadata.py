"""Re-apply a storage's upload parameters to the files it already holds, in place.

After a change to ``object_parameters`` (Cache-Control, Content-Disposition, metadata, storage
class...) or to ``get_object_parameters()``, only new uploads get the new headers. The engine
behind ``manage.py syncmetadata`` compares, file by file, what an upload of that name would get
today (content type by name included; the stored content encoding is kept) with what the
provider holds, and rewrites the headers of the files that differ, on the server: S3 copies the
object onto itself with ``MetadataDirective=REPLACE``, GCS patches the object, Azure sets its
HTTP headers and metadata. No content goes through this machine.

A rerun skips the files already right, so an interrupted run resumes where it stopped.
Parameters a provider cannot read back cheaply (S3's ACL) are sent along whenever a file is
rewritten but never cause a rewrite on their own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from storages.base import BaseStorage
from storages.copy import list_files
from storages.utils import resolve_storage

logger = logging.getLogger(__name__)

__all__ = ["SyncReport", "desired_parameters", "supports_metadata_sync", "sync_metadata"]

DEFAULT_WORKERS = 8


@dataclass
class SyncReport:
    """What :func:`sync_metadata` did (or, with ``dry_run``, would do)."""

    #: name -> {parameter: (stored value, new value)} for each file rewritten (or to rewrite).
    changed: dict[str, dict[str, tuple[Any, Any]]] = field(default_factory=dict)
    already_right: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted

    def summary(self, dry_run: bool = False) -> str:
        verb = "would rewrite" if dry_run else "rewrote"
        text = f"{verb} {len(self.changed)}, already right {self.already_right}"
        if self.failed:
            text += f", failed {len(self.failed)}"
        return text


def supports_metadata_sync(storage: Any) -> bool:
    """Whether ``storage`` (or the storage behind ``default_storage``) can read and rewrite its
    files' headers in place."""
    storage = resolve_storage(storage)
    return (
        isinstance(storage, BaseStorage)
        and type(storage)._replace_parameters is not BaseStorage._replace_parameters
    )


def desired_parameters(storage: Any, name: str) -> dict[str, Any]:
    """The parameters an upload of ``name`` gets today, content type included, in the
    provider's own vocabulary (the keys of ``object_parameters``)."""
    spec, _ = storage._upload_spec(name)
    content_type = storage.content_parameters[0]
    return {**spec.params, content_type: spec.content_type}


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):  # metadata: providers lowercase the keys (S3) or keep them
        return {str(k).lower(): str(v) for k, v in value.items()}
    return value


def differences(desired: dict[str, Any], stored: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{parameter: (stored, desired)} for every readable parameter that differs."""
    return {
        key: (stored.get(key), value)
        for key, value in desired.items()
        if key in stored and _normalise(stored.get(key)) != _normalise(value)
    }


def _each_file(
    listing: Iterator[tuple[str, Any]],
    one: Callable[[str], None],
    workers: int,
    report: SyncReport,
) -> None:
    """Run ``one(name)`` for every listed file on ``workers`` threads, at most twice as many
    queued; a failure is recorded, an interrupt stops the queue after the files in flight."""
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="storages-meta")
    running: dict[Future[None], str] = {}

    def settle(done: set[Future[None]]) -> None:
        for future in done:
            name = running.pop(future)
            exc = future.exception()
            if isinstance(exc, KeyboardInterrupt):
                raise exc
            if exc is not None:
                logger.warning("syncmetadata: %s failed: %s", name, exc)
                report.failed[name] = f"{type(exc).__name__}: {exc}"

    try:
        for name, _info in listing:
            if len(running) >= 2 * max(1, workers):
                settle(wait(running, return_when=FIRST_COMPLETED)[0])
            running[pool.submit(one, name)] = name
        while running:
            settle(wait(running, return_when=FIRST_COMPLETED)[0])
    except KeyboardInterrupt:
        for future in running:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)


def sync_metadata(
    storage: Any,
    path: str = "",
    *,
    dry_run: bool = False,
    workers: int = DEFAULT_WORKERS,
    on_file: Callable[[str, dict[str, tuple[Any, Any]] | None], None] | None = None,
) -> SyncReport:
    """Rewrite the headers of every file below ``path`` whose stored parameters differ from
    what an upload would get today. ``on_file(name, changes)`` is called after each file
    (``changes`` is None when it was already right). A ``KeyboardInterrupt`` stops it after
    the files in flight; the report then has ``interrupted`` set."""
    storage = resolve_storage(storage)  # default_storage: the hooks are on the wrapped storage
    if not supports_metadata_sync(storage):
        raise NotImplementedError(
            f"{type(storage).__name__} can't rewrite stored headers in place "
            "(supported: S3Storage, GoogleCloudStorage, AzureStorage)"
        )
    report = SyncReport()
    lock = threading.Lock()

    def one(name: str) -> None:
        key = storage._key(name)
        stored = storage._stored_parameters(key)
        if stored is None:  # deleted since it was listed
            return
        desired = desired_parameters(storage, name)
        changes = differences(desired, stored)
        if changes and not dry_run:
            storage._replace_parameters(key, desired, stored)
        with lock:
            if changes:
                report.changed[name] = changes
            else:
                report.already_right += 1
        if on_file is not None:
            on_file(name, changes or None)

    try:
        _each_file(list_files(storage, path, workers), one, workers, report)
    except KeyboardInterrupt:
        report.interrupted = True
    return report

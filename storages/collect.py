"""The engine behind the package's ``collectstatic``: one listing, content-hash skips, parallel
uploads and a batched ``--clear``.

It works on any :class:`~storages.base.BaseStorage` inside a :func:`storages.snapshot.listing`
run. Skip rule for a file already stored under its destination name:

1. the provider stores a content hash (S3 single-part ETag/MD5 or a SHA-256 checksum, GCS
   MD5/CRC32C, Azure Content-MD5, Dropbox content_hash): skip when the local file's hash of the
   same kind is equal (for a file the storage gzips: the hash of its gzip-compressed bytes),
   upload otherwise, whatever the modification times;
2. no hash (SFTP, FTP, multipart or SSE-KMS S3 objects): skip when the sizes are equal (not
   compared for gzip uploads) and the stored copy is not older than the local file, as Django
   does.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from django.contrib.staticfiles.finders import get_finders
from django.core import checks

from storages.compress import GzipCompressionWrapper
from storages.files import ObjectInfo
from storages.hashing import compare, compute
from storages.progress import CommandOutput, Progress, human_bytes, human_duration
from storages.snapshot import Snapshot

__all__ = [
    "DEFAULT_WORKERS",
    "Collector",
    "Outcome",
    "check_command_order",
    "find_files",
    "same_content",
]

DEFAULT_WORKERS = 8


@dataclass
class Outcome:
    """What the engine did with one found file."""

    copied: bool
    size: int = 0


def find_files(ignore_patterns: list[str]) -> dict[str, tuple[Any, str]]:
    """``{destination name: (source storage, path)}`` as the finders list them (first one wins)."""
    found: dict[str, tuple[Any, str]] = {}
    for finder in get_finders():
        for path, source in finder.list(ignore_patterns):
            prefix = getattr(source, "prefix", None)
            found.setdefault(os.path.join(prefix, path) if prefix else path, (source, path))
    return found


def same_content(storage: Any, name: str, info: ObjectInfo, source: Any, path: str) -> bool:
    """Whether the stored ``info`` of ``name`` holds the bytes of ``source``'s ``path`` (see the
    rules above)."""
    _, gzip = storage._upload_spec(name)
    if info.hashes:
        with source.open(path, "rb") as fileobj:
            # A gzipped upload stores the compressed bytes: compress the same way (no time or name
            # in the header, so equal input gives equal output under one zlib) and hash those.
            stream = GzipCompressionWrapper(fileobj) if gzip else fileobj
            verdict = compare(compute(stream, info.hashes), info.hashes)
        if verdict is not None:
            return verdict
    if not gzip and info.size != source.size(path):
        return False
    if info.modified is None:
        return False
    try:
        target = storage.get_modified_time(name)
        local = source.get_modified_time(path)
    except (OSError, NotImplementedError):
        return False
    return target.replace(microsecond=0) >= local.replace(microsecond=0)


def _took(start: float) -> str:
    seconds = time.monotonic() - start
    return f"{seconds:.1f}s" if seconds < 60 else human_duration(seconds)


class Collector:
    """Compares and uploads found files for one run of collectstatic."""

    def __init__(
        self,
        storage: Any,
        snap: Snapshot,
        *,
        workers: int = DEFAULT_WORKERS,
        dry_run: bool = False,
        stdout: Any = None,
        verbosity: int = 1,
        log: Callable[..., None] | None = None,
    ) -> None:
        self.storage = storage
        self.snap = snap
        self.workers = max(1, int(workers))
        self.dry_run = dry_run
        self.stream = CommandOutput(stdout) if stdout is not None else None
        self.verbosity = verbosity if stdout is not None else 0
        self.log = log or (lambda msg, level=2: None)
        self._listed = False
        self.outcomes: dict[str, Outcome] = {}

    def _say(self, text: str) -> None:
        if self.verbosity >= 1 and self.stream is not None:
            self.stream.write(text + "\n")

    def listing(self) -> dict[str, ObjectInfo | None]:
        start = time.monotonic()
        files = self.snap.files()
        if not self._listed:
            total = sum(info.size for info in files.values() if info is not None)
            self._say(f"Listed {len(files)} stored files ({human_bytes(total)}) in {_took(start)}")
        self._listed = True
        return files

    def clear(self) -> list[str]:
        """Delete every stored file under the location (batched); the names, sorted."""
        names = sorted(self.listing())
        verb = "Pretending to delete" if self.dry_run else "Deleting"
        for name in names:
            self.log(f"{verb} '{name}'", level=1)
        if names and not self.dry_run:
            start = time.monotonic()
            self.storage.delete_many(names)
            self._say(f"Deleted {len(names)} files in {_took(start)}")
        return names

    def run(self, found: dict[str, tuple[Any, str]]) -> dict[str, Outcome]:
        """Skip or upload every found file, ``workers`` at a time."""
        stored = self.listing()
        progress = Progress(
            self.stream, "Collecting", total_files=len(found), verbosity=self.verbosity
        )
        outcomes: dict[str, Outcome] = {}
        self.outcomes = outcomes  # what is done so far, for a report after an interruption

        def one(name: str) -> None:
            source, path = found[name]
            outcome = self._one(name, source, path, stored.get(name), name in stored)
            outcomes[name] = outcome
            progress.advance(
                1, outcome.size if outcome.copied else 0, skipped=0 if outcome.copied else 1
            )

        with ThreadPoolExecutor(self.workers, thread_name_prefix="collectstatic") as pool:
            # Each task runs in a copy of this context: it sees the run's snapshot.
            futures = [pool.submit(contextvars.copy_context().run, one, name) for name in found]
            try:
                done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            except BaseException:  # Ctrl-C, SIGTERM: start no other file
                for future in futures:
                    future.cancel()
                raise
            failed = [f for f in done if f.exception() is not None]
            if failed:
                for future in futures:
                    future.cancel()
                progress.advance(0, failed=len(failed))
                progress.finish()
                raise failed[0].exception()  # type: ignore[misc]
        copied = sum(1 for o in outcomes.values() if o.copied)
        progress.finish(
            f"{'Would upload' if self.dry_run else 'Uploaded'} {copied} files "
            f"({human_bytes(progress.bytes)}), {len(found) - copied} unchanged, in "
            f"{_took(progress.started)}"
        )
        if not self.dry_run:
            self.snap.add_sources(found)
        return outcomes

    def _one(
        self, name: str, source: Any, path: str, info: ObjectInfo | None, exists: bool
    ) -> Outcome:
        if info is not None and same_content(self.storage, name, info, source, path):
            return Outcome(copied=False)
        size = source.size(path)
        if self.dry_run:
            return Outcome(copied=True, size=size)
        if exists and not self.storage.overwrite:
            self.storage.delete(name)  # as Django does, so save() keeps the name
        with source.open(path, "rb") as fileobj:
            self.storage.save(name, fileobj)
        return Outcome(copied=True, size=size)


def check_command_order(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when ``"storages"`` comes after ``"django.contrib.staticfiles"``: Django then runs its
    own collectstatic, not this package's."""
    from django.apps import apps

    names = [config.name for config in apps.get_app_configs()]
    if (
        "storages" in names
        and "django.contrib.staticfiles" in names
        and (names.index("storages") > names.index("django.contrib.staticfiles"))
    ):
        return [
            checks.Warning(
                "'storages' is listed after 'django.contrib.staticfiles' in INSTALLED_APPS, so "
                "collectstatic is Django's command: no listing snapshot, no content-hash skips, "
                "no parallel uploads.",
                hint="Move 'storages' before 'django.contrib.staticfiles' in INSTALLED_APPS.",
                id="storages.W100",
            )
        ]
    return []

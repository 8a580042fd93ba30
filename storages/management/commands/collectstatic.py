"""``collectstatic`` for remote storages: Django's command (same options, same output) that runs
inside one listing snapshot, skips files whose content is already stored, uploads ``--workers``
files at a time (post-processed files too) and clears with the provider's batch delete.

Active when ``"storages"`` is listed in ``INSTALLED_APPS`` before ``"django.contrib.staticfiles"``
(Django takes a command from the first app that has it). For a storage that is not one of this
package's, it is Django's command unchanged.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from django.contrib.staticfiles.management.commands.collectstatic import Command as StaticCommand
from django.core.management.base import CommandError

from storages import snapshot
from storages.collect import DEFAULT_WORKERS, Collector, Outcome, find_files
from storages.management.interrupt import Interruption


class Command(StaticCommand):
    help = (
        StaticCommand.help
        + " Remote storages: unchanged files skipped by content hash, parallel uploads."
    )

    def add_arguments(self, parser: Any) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            metavar="N",
            help=f"Upload N files at a time (default {DEFAULT_WORKERS}).",
        )

    def set_options(self, **options: Any) -> None:
        super().set_options(**options)
        self.workers = options.get("workers") or DEFAULT_WORKERS
        if self.workers < 1:
            raise CommandError("--workers must be at least 1.")

    def handle(self, **options: Any) -> str | None:
        # Ctrl-C and SIGTERM (docker stop, Kubernetes, systemd): uploads in flight are aborted,
        # no new one starts, the command says what it did and exits 130 / 143.
        self._engine: Collector | None = None
        interruption = Interruption()
        try:
            # The run's scope: the listing is made on first need and dropped on return.
            with interruption, snapshot.listing(self.storage, defer_deletes=True) as snap:
                self._snap = snap
                self._outcomes: dict[str, Outcome] | None = None
                return super().handle(**options)
        except KeyboardInterrupt:
            self._report_interruption(interruption)
            sys.exit(interruption.exit_status if interruption.interrupted else 130)

    def _report_interruption(self, interruption: Interruption) -> None:
        outcomes = self._engine.outcomes if self._engine is not None else {}
        uploaded = sum(1 for o in outcomes.values() if o.copied)
        cause = interruption.name if interruption.interrupted else "KeyboardInterrupt"
        self.stderr.write(
            f"\nStopped by {cause}: {uploaded} file(s) uploaded and "
            f"{len(outcomes) - uploaded} unchanged before the stop; uploads in flight were "
            "aborted (nothing half-written is left). Run collectstatic again to finish: what "
            "was uploaded is skipped."
        )

    def collect(self) -> dict[str, Any]:
        snap = getattr(self, "_snap", None)
        if snap is None or self.symlink:
            return super().collect()
        engine = Collector(
            snap.storage,
            snap,
            workers=self.workers,
            dry_run=self.dry_run,
            stdout=self.stdout,
            verbosity=self.verbosity,
            log=self.log,
        )
        self._engine = engine
        if self.clear:
            engine.clear()
        self._outcomes = engine.run(find_files(self.ignore_patterns))
        # Django's collect() now only reports the outcomes (copy_file below) and post-processes;
        # post-processing saves upload in the background unless the manifest goes elsewhere.
        clear, self.clear = self.clear, False
        storage = snap.storage
        parallel = getattr(storage, "manifest_storage", storage) is storage
        try:
            with snap.background(self.workers) if parallel else contextlib.nullcontext():
                return super().collect()
        finally:
            self.clear = clear

    def copy_file(self, path: str, prefixed_path: str, source_storage: Any) -> None:
        outcome = (self._outcomes or {}).get(prefixed_path)
        if outcome is None:
            return super().copy_file(path, prefixed_path, source_storage)
        if not outcome.copied:
            if prefixed_path not in self.unmodified_files:
                self.unmodified_files.append(prefixed_path)
            return self.log(f"Skipping '{path}' (not modified)")
        source_path = source_storage.path(path)
        if self.dry_run:
            self.log(f"Pretending to copy '{source_path}'", level=1)
        else:
            self.log(f"Copying '{source_path}'", level=2)
        if prefixed_path not in self.copied_files:
            self.copied_files.append(prefixed_path)
        return None

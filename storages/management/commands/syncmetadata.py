"""``manage.py syncmetadata ALIAS [PATH]``: re-apply a storage's upload parameters to the files it
already holds (Cache-Control, Content-Type by name, Content-Disposition, metadata...), in place.

See :mod:`storages.metadata`. A rerun skips the files already right, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from storages.metadata import DEFAULT_WORKERS, supports_metadata_sync, sync_metadata
from storages.progress import CommandOutput, Progress

MAX_LISTED_FAILURES = 50


class Command(BaseCommand):
    help = (
        "Rewrite the stored headers of every file below PATH of the storage ALIAS whose "
        "Cache-Control, Content-Type, Content-Disposition, metadata... differ from what an "
        "upload gets today (object_parameters). Server-side; a rerun skips files already right."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("alias", help="Storage alias (a key of STORAGES).")
        parser.add_argument(
            "path", nargs="?", default="", help="Only files below this path (default: all)."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would change; write nothing."
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            help=f"Files handled at once (default {DEFAULT_WORKERS}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["alias"]
        if alias not in storages.backends:
            raise CommandError(
                f"No storage alias {alias!r} in STORAGES (have: {', '.join(storages.backends)})"
            )
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        storage, dry_run = storages[alias], options["dry_run"]
        if not supports_metadata_sync(storage):
            raise CommandError(
                f"{type(storage).__name__} can't rewrite stored headers in place (supported: "
                "S3Storage, GoogleCloudStorage, AzureStorage)"
            )
        verbosity = options["verbosity"]
        output = CommandOutput(self.stdout)
        progress = Progress(output, alias, verbosity=verbosity, every=1000)
        lock = threading.Lock()

        def on_file(name: str, changes: dict[str, tuple[Any, Any]] | None) -> None:
            if changes and verbosity >= 2:
                verb = "would set" if dry_run else "set"
                what = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in changes.items())
                with lock:
                    output.write(f"{verb} {name}: {what}\n")
            progress.advance(skipped=0 if changes else 1)

        report = sync_metadata(
            storage, options["path"], dry_run=dry_run, workers=options["workers"], on_file=on_file
        )
        progress.finish(report.summary(dry_run))
        for name, error in sorted(report.failed.items())[:MAX_LISTED_FAILURES]:
            self.stderr.write(f"failed: {name}: {error}")
        if report.interrupted:
            self.stderr.write(
                "Interrupted: the files above were done; run the same command again to continue "
                "(files already right are skipped)."
            )
            sys.exit(130)
        if report.failed:
            raise CommandError(f"{len(report.failed)} files failed; run again to retry them")

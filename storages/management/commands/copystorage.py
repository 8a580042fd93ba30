"""``manage.py copystorage SOURCE DEST [PATH]``: copy files between two configured storage aliases.

Resumable (a rerun skips what arrived), parallel, streaming; see :mod:`storages.copy`.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from storages.copy import DEFAULT_LARGE_WORKERS, DEFAULT_WORKERS, ListingError, copy_files
from storages.management.interrupt import SIGNAL_NAMES, Interruption
from storages.progress import CommandOutput, Progress
from storages.shard import parse_shard

MAX_LISTED_FAILURES = 50


class Command(BaseCommand):
    help = (
        "Copy every file below PATH of the SOURCE storage alias to DEST (another alias of "
        "STORAGES). A rerun skips files already copied (same size and content hash)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("source", help="Storage alias to copy from (a key of STORAGES).")
        parser.add_argument("destination", help="Storage alias to copy to.")
        parser.add_argument(
            "path", nargs="?", default="", help="Only files below this path (default: all)."
        )
        parser.add_argument(
            "--to",
            dest="dest_path",
            default=None,
            help="Put them below this path of DEST (default: the same path).",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=DEFAULT_WORKERS,
            help=f"Files copied at once (default {DEFAULT_WORKERS}).",
        )
        parser.add_argument(
            "--large-workers",
            type=int,
            default=DEFAULT_LARGE_WORKERS,
            help="Of those, files above the destination's multipart threshold streamed at once "
            f"(default {DEFAULT_LARGE_WORKERS}; each uses the SDK's parallel parts).",
        )
        parser.add_argument(
            "--verify", action="store_true", help="Compare every copied file by hash."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Say what would be copied; write nothing."
        )
        parser.add_argument(
            "--shard",
            default=None,
            metavar="K/N",
            help="Copy only shard K of N (1 <= K <= N): N processes or machines, one shard "
            "each, copy every file exactly once. Not with --delete.",
        )
        parser.add_argument(
            "--delete",
            action="store_true",
            help="Delete files below the destination path that the source does not have.",
        )

    def _storage(self, alias: str) -> Any:
        if alias not in storages.backends:
            raise CommandError(
                f"No storage alias {alias!r} in STORAGES (have: {', '.join(storages.backends)})"
            )
        return storages[alias]

    def _shard(self, options: dict[str, Any]) -> tuple[int, int] | None:
        """``--shard K/N`` as ``(K - 1, N)``, or None."""
        if options["shard"] is None:
            return None
        try:
            shard = parse_shard(options["shard"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if options["delete"]:
            raise CommandError(
                "--delete can't be combined with --shard (each shard sees only its own "
                "files); run one unsharded --delete pass after the shards"
            )
        return shard

    def handle(self, *args: Any, **options: Any) -> None:
        source, dest = options["source"], options["destination"]
        if options["workers"] < 1 or options["large_workers"] < 1:
            raise CommandError("--workers and --large-workers must be at least 1")
        shard = self._shard(options)
        src, dst = self._storage(source), self._storage(dest)
        verbosity = options["verbosity"]
        progress = Progress(
            CommandOutput(self.stdout), f"{source} -> {dest}", verbosity=verbosity, every=1000
        )
        stop = threading.Event()

        def interrupt(signum: int) -> None:
            stop.set()
            self.stderr.write(
                f"\nStopping ({SIGNAL_NAMES.get(signum, signum)}): starting nothing new, "
                "aborting uploads in flight..."
            )

        dry_run = options["dry_run"]

        def on_file(action: str, name: str) -> None:
            verb = f"would {action}" if dry_run and action in ("copy", "delete") else action
            self.stdout.write(f"{verb} {name}")

        interruption = Interruption(interrupt)
        try:
            with interruption:
                report = copy_files(
                    src,
                    dst,
                    options["path"],
                    dest_path=options["dest_path"],
                    workers=options["workers"],
                    large_workers=options["large_workers"],
                    verify=options["verify"],
                    dry_run=dry_run,
                    delete=options["delete"],
                    shard=shard,
                    progress=progress,
                    stop=stop,
                    on_file=on_file if verbosity >= 2 else None,
                )
        except ListingError as exc:
            alias = source if exc.side == "source" else dest
            raise CommandError(f"{alias}: {exc.__cause__}") from exc
        progress.finish(report.summary() if verbosity else None)
        if report.verified and verbosity:
            self.stdout.write(report.verify_summary())
        if report.failed:
            self.stderr.write(f"{len(report.failed)} file(s) failed:")
            for name in sorted(report.failed)[:MAX_LISTED_FAILURES]:
                self.stderr.write(f"  {name}: {report.failed[name]}")
            if len(report.failed) > MAX_LISTED_FAILURES:
                self.stderr.write(f"  ... and {len(report.failed) - MAX_LISTED_FAILURES} more")
        if report.interrupted:
            # 130 after Ctrl-C, 143 after SIGTERM (a KeyboardInterrupt raised elsewhere: 130).
            sys.exit(interruption.exit_status if interruption.interrupted else 130)
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} of {report.total_files} files were not copied", returncode=1
            )

"""Conformance over a storage's whole life: copied at any point, interrupted in mid-save.

Django's cache pickles objects that hold storages and model fields are deep-copied, so a
storage must come out of ``pickle`` and ``copy.deepcopy()`` whole, however far into its life it
was (clients made, uploads done, reads and listings served), and every operation must work on
the copy. And a Ctrl-C during a large ``save()`` must stop it: ``KeyboardInterrupt`` within
seconds, the in-flight upload aborted, nothing stored under the name.

A backend joins next to :class:`~storages.testing.StorageConformance` (the same
``storage_config`` fixture serves both):

    class TestS3Conformance(StorageConformance, StorageLifecycle):
        lifecycle_options = {"transfer_config": TransferConfig(multipart_threshold=5 * MB, ...)}

        def interrupted_leftovers(self, storage, name):
            # what the provider still holds of an aborted upload (multipart uploads...)
            return [...]
"""

from __future__ import annotations

import copy
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any, ClassVar

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile, File

from storages.testing.helpers import PatternFile, fetch, sha256_of

__all__ = ["StorageLifecycle"]

KB = 1024
MB = 1024 * KB

COPIES: dict[str, Callable[[Any], Any]] = {
    "pickle": lambda storage: pickle.loads(pickle.dumps(storage)),
    "deepcopy": copy.deepcopy,
}

# The child of the interrupt test: it builds the storage from (class path, options), uses it
# once (so pooled connections are reused, as in a running app), then saves a large stream and
# says "mid-transfer" once the backend has read well into it. From there the stream slows to
# about 10 MB/s until the interrupt, so the save can't finish first on a fast or loaded
# machine. Ctrl-C is handled as Python does by default (KeyboardInterrupt in the main thread),
# even when the test runner's own SIGINT is ignored (a CI job started in the background).
_CHILD = r"""
import pickle, signal, sys, threading
import django
from django.core.files.base import ContentFile, File
from django.utils.module_loading import import_string

path, options, name, size, mark, settings = pickle.load(sys.stdin.buffer)
from django.conf import settings as django_settings

for setting, value in settings.items():
    setattr(django_settings, setting, value)
django.setup()
from storages.testing.helpers import PatternFile

interrupted = threading.Event()


def on_sigint(signum, frame):
    interrupted.set()
    raise KeyboardInterrupt


signal.signal(signal.SIGINT, on_sigint)
storage = import_string(path)(**options)
storage.save(name + ".used", ContentFile(b"used"))


class Source(PatternFile):
    told = False

    def readinto(self, buffer):
        n = super().readinto(buffer)
        if self.tell() >= mark:
            if not self.told:
                self.told = True
                print("mid-transfer", flush=True)
            interrupted.wait(n / 10e6)
        return n


storage.save(name, File(Source(size), name=name))
print("finished", flush=True)
"""


class StorageLifecycle:
    """Mixin of tests; the backend's test class supplies ``storage_config`` (a BackendConfig)."""

    #: Options added to ``storage_config`` that lower the backend's multipart (resumable,
    #: block, chunked) threshold, so a multipart-sized save stays small.
    lifecycle_options: ClassVar[dict[str, Any]] = {}
    #: Bytes of the multipart-sized save (None: just above the storage's single-request
    #: threshold and one part, ``upload_threshold`` / ``upload_part_size``).
    multipart_size: ClassVar[int | None] = None
    #: Size of the stream the interrupt test saves: far more than is sent before the signal.
    interrupt_size: ClassVar[int] = 1024 * MB
    #: Django settings the storage reads (credentials, provider tables) that the interrupt
    #: test's child process must get from this one (its DJANGO_SETTINGS_MODULE lacks them).
    child_settings: ClassVar[tuple[str, ...]] = ()
    #: Seconds the interrupted process may take to exit (generous: the machine may be loaded;
    #: a save that swallowed the interrupt would still be sending the stream).
    interrupt_exit_within: ClassVar[float] = 60.0

    def interrupted_leftovers(self, storage: Any, name: str) -> list[Any]:
        """What the provider still holds of the interrupted upload of ``name``: unfinished multipart
        uploads, uncommitted blocks, temporary files. Override where it can be checked."""
        return []

    @pytest.fixture
    def lifecycle_storage(self, storage_config: Any) -> Any:
        return storage_config.make(**self.lifecycle_options)

    def _multipart_size(self, storage: Any) -> int:
        if self.multipart_size is not None:
            return self.multipart_size
        threshold = int(getattr(storage, "upload_threshold", 8 * MB))
        part = int(getattr(storage, "upload_part_size", threshold))
        return max(threshold, part) + 64 * KB

    @staticmethod
    def _cycle(storage: Any, folder: str, size: int, seed: int) -> None:
        """Small save, multipart save, read both back, exists, listdir, delete: on ``storage``."""
        small = storage.save(f"{folder}/small-{seed}.txt", ContentFile(b"small %d" % seed))
        big = storage.save(f"{folder}/big-{seed}.bin", File(PatternFile(size, seed), name="big"))
        with storage.open(small, "rb") as f:
            assert f.read() == b"small %d" % seed
        with storage.open(big, "rb") as f:
            assert sha256_of(f.chunks()) == PatternFile(size, seed).digest()
        assert storage.size(big) == size
        assert storage.exists(small) and storage.exists(big)
        files = storage.listdir(folder)[1]
        assert {small.rsplit("/", 1)[1], big.rsplit("/", 1)[1]} <= set(files)
        storage.delete(small)
        storage.delete(big)
        assert not storage.exists(small) and not storage.exists(big)

    # -- pickle and deepcopy ------------------------------------------------------------
    @pytest.mark.parametrize("how", sorted(COPIES))
    def test_copy_at_any_point_works_whole(self, lifecycle_storage: Any, how: str) -> None:
        """Copies taken new, after a small save, a multipart save, a read and a listing + url():
        each saves, reads and deletes; the last one, then a copy of that copy, does the full
        cycle."""
        storage, copy_of = lifecycle_storage, COPIES[how]
        folder = f"life-{uuid.uuid4().hex[:10]}"
        size = self._multipart_size(storage)
        copies = [copy_of(storage)]
        small = storage.save(f"{folder}/used.txt", ContentFile(b"used"))
        copies.append(copy_of(storage))
        big = storage.save(f"{folder}/used.bin", File(PatternFile(size, 1), name="used.bin"))
        copies.append(copy_of(storage))
        with storage.open(big, "rb") as f:
            assert sha256_of(f.chunks()) == PatternFile(size, 1).digest()
        assert storage.open(small, "rb").read() == b"used"
        copies.append(copy_of(storage))
        assert set(storage.listdir(folder)[1]) >= {"used.txt", "used.bin"}
        storage.url(small)  # signing keys, URL bases, delegation keys: made on first use
        copies.append(copy_of(storage))

        for i, clone in enumerate(copies[:-1]):
            assert type(clone) is type(storage)
            name = clone.save(f"{folder}/copy-{i}.txt", ContentFile(b"copy %d" % i))
            assert clone.open(name, "rb").read() == b"copy %d" % i
            clone.delete(name)
            assert not clone.exists(name)
        last = copies[-1]
        link = last.url(small)
        if getattr(getattr(self, "capabilities", None), "url_fetchable", True):
            assert fetch(link) == (200, b"used")
        self._cycle(last, folder, size, seed=2)
        self._cycle(copy_of(last), folder, size, seed=3)
        # and the original is untouched by its copies
        assert storage.open(small, "rb").read() == b"used"
        storage.delete(small)
        storage.delete(big)
        assert storage.listdir(folder)[1] == []

    # -- Ctrl-C during a large save ---------------------------------------------------------
    def test_sigint_during_large_save_stops_it_and_stores_nothing(
        self, storage_config: Any, lifecycle_storage: Any
    ) -> None:
        """A process saving 1 GiB gets SIGINT mid-transfer: it dies of KeyboardInterrupt (not
        retried, not swallowed), nothing is stored under the name, and the upload was aborted
        (no multipart upload, uncommitted block or temporary file, where the backend can tell)."""
        storage = lifecycle_storage
        name = f"interrupted-{uuid.uuid4().hex[:10]}/large.bin"
        mark = 2 * self._multipart_size(storage)
        options = {**storage_config.options, **self.lifecycle_options}
        settings = {s: getattr(django_settings, s) for s in self.child_settings}
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", ""))
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        lines: queue.Queue[bytes] = queue.Queue()
        errors: list[bytes] = []

        def read_stdout() -> None:
            for line in iter(child.stdout.readline, b""):
                lines.put(line)
            lines.put(b"")  # the child is gone

        readers = [
            threading.Thread(target=read_stdout, daemon=True),
            threading.Thread(target=lambda: errors.append(child.stderr.read()), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            child.stdin.write(
                pickle.dumps(
                    (storage_config.path, options, name, self.interrupt_size, mark, settings)
                )
            )
            child.stdin.close()
            try:
                line = lines.get(timeout=120)
            except queue.Empty:
                pytest.fail("the child never got into the middle of its save")
            if line != b"mid-transfer\n":
                child.wait(10)
                for reader in readers:
                    reader.join(10)
                pytest.fail(
                    f"the child ended before it was interrupted: {b''.join(errors)[-3000:]!r}"
                )
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=self.interrupt_exit_within)
            except subprocess.TimeoutExpired:
                pytest.fail(
                    f"save() was still running {self.interrupt_exit_within:g} s after SIGINT: "
                    "the interrupt was swallowed (or the upload retried)"
                )
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        for reader in readers:
            reader.join(10)
        stderr = b"".join(errors).decode(errors="replace")
        assert child.returncode == -signal.SIGINT, (child.returncode, stderr[-2000:])
        assert "KeyboardInterrupt" in stderr, stderr[-2000:]
        assert not storage.exists(name)
        assert storage.listdir(name.rsplit("/", 1)[0])[1] == ["large.bin.used"]
        assert self.interrupted_leftovers(storage, name) == []
        storage.delete(name + ".used")

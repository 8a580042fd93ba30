"""Checks the SFTP and FTP tests share (both backends stand on storages.fileserver)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile, File

from storages.testing.helpers import PatternFile

#: What stops a program rather than reports a failure: never retried, never swallowed.
INTERRUPTS = [KeyboardInterrupt, SystemExit, asyncio.CancelledError, GeneratorExit]

ROOT_OR_FOLDER_NAMES = ["./", ".\\", "a/..", "sub/"]


def wait_for(predicate: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def unfinished_uploads(storage: Any, name: str) -> list[str]:
    """Entries of ``name``'s folder on the server, hidden temporary uploads too, other than ``name``
    + ".used" (the file the interrupt test's process saved first)."""
    folder, leaf = name.rsplit("/", 1)
    path = storage._path(storage._key(folder))
    entries = storage._run("list", folder, lambda session: storage._entries(session, path))
    return sorted(e.name for e in entries if e.name not in (".", "..", f"{leaf}.used"))


class _Interrupted(PatternFile):
    """A large upload's source that raises ``interrupt`` once, a megabyte in (a Ctrl-C, a task
    cancelled mid-save); ``sent`` counts the bytes read from it (all of it: it was sent again)."""

    def __init__(self, size: int, interrupt: type[BaseException]) -> None:
        super().__init__(size)
        self.interrupt, self.sent, self.raised = interrupt, 0, False

    def readinto(self, buffer) -> int:  # type: ignore[override]
        if self.tell() >= 1024 * 1024 and not self.raised:
            self.raised = True
            raise self.interrupt()
        n = super().readinto(buffer)
        self.sent += n
        return n


def interrupt_is_not_retried(storage: Any, interrupt: type[BaseException]) -> None:
    """An interrupt during an upload on a reused pooled session goes straight out: the upload is
    not sent again on a new connection, and neither the file nor its temporary upload is left."""
    storage.save("used.txt", ContentFile(b"used"))  # its session is pooled: the upload reuses it
    source = _Interrupted(4 * 1024 * 1024, interrupt)
    with pytest.raises(interrupt):
        storage.save("stopped/big.bin", File(source, name="big.bin"))
    assert source.sent < source.size, "the interrupted upload was sent again"
    assert not storage.exists("stopped/big.bin")
    assert unfinished_uploads(storage, "stopped/big.bin") == []
    assert storage.open("used.txt").read() == b"used"  # the storage goes on working


def same_name_race(storage: Any, name: str, threads: int = 16) -> None:
    """``threads`` threads save ``name`` at once (overwrite off): every upload is kept under its own
    name."""
    barrier = threading.Barrier(threads)

    def save(i: int) -> str:
        barrier.wait()
        return storage.save(name, ContentFile(b"content %d" % i))

    with ThreadPoolExecutor(threads) as pool:
        names = list(pool.map(save, range(threads)))
    assert len(set(names)) == threads
    assert {storage.open(n).read() for n in names} == {b"content %d" % i for i in range(threads)}


def file_class_signature(storage: Any, file_class: type) -> None:
    """``XStorageFile(name, storage, mode)`` as in django-storages 1.14."""
    storage.save("sig.txt", ContentFile(b"sig"))
    f = file_class("sig.txt", storage, "rb")
    assert f.read() == b"sig" and f.name == "sig.txt" and f.mode == "rb" and f.storage is storage
    f.close()
    with file_class("new.txt", storage, "wb") as w:
        w.write(b"written")
    assert storage.open("new.txt").read() == b"written"


def refused_before_any_request(storage: Any, name: str, sent: list) -> None:
    """Root and folder names are refused before anything reaches the server (``sent`` records
    requests)."""
    with pytest.raises(SuspiciousFileOperation):
        storage.delete(name)
    with pytest.raises(SuspiciousFileOperation):
        storage.save(name, ContentFile(b"x"))
    assert sent == []


def long_components_refused(storage: Any, sent: list) -> None:
    for name in ["a" * 256 + ".txt", "dir/" + "é" * 128, "x" * 1100 + "/f.txt"]:
        with pytest.raises(SuspiciousFileOperation, match="255") as info:
            storage.save(name, ContentFile(b"x"))
        assert type(storage).__name__ in str(info.value)
        with pytest.raises(SuspiciousFileOperation, match="255"):
            storage.exists(name)
    assert sent == []
    # 255 bytes is fine.
    assert storage.save("a" * 251 + ".txt", ContentFile(b"x")) == "a" * 251 + ".txt"


def stale_uploads_removed(storage: Any, root: Path) -> None:
    """A temporary upload older than stale_upload_age goes with the next listing; a fresh one
    stays."""
    storage.save("kept.txt", ContentFile(b"x"))
    old, fresh = (
        root / ".~storages-0123456789abcdef0123.part",
        root / ".~storages-fedcba9876543210fedc.part",
    )
    old.write_bytes(b"cut off two hours ago")
    fresh.write_bytes(b"still uploading")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    assert storage.listdir("") == ([], ["kept.txt"])  # never shown
    assert not old.exists()  # older than stale_upload_age (1 hour): removed
    assert fresh.exists()  # an upload that may still be running stays
    assert [n for n, _ in storage.scan("")] == ["kept.txt"]


def scan_and_ranges(
    storage: Any,
    start_counting: Callable[[], Callable[[], list[str]]],
    listing: set[str],
    stat: set[str],
) -> None:
    """scan() is one listing per folder (no per-file stat), with sizes and times; ranged reads are
    exact."""
    for name in ["a.txt", "d/b.txt", "d/e/c.txt"]:
        storage.save(name, ContentFile(name.encode() * 3))
    storage.listdir("")  # a connection learns its server's listing dialect
    counted = start_counting()  # returns what has been sent since
    found = dict(storage.scan(""))
    sent = counted()
    assert sorted(found) == ["a.txt", "d/b.txt", "d/e/c.txt"]
    assert found["d/e/c.txt"].size == 27 and found["d/e/c.txt"].modified is not None
    assert found["a.txt"].hashes == {}  # file servers store no content hash
    assert len([c for c in sent if c in listing]) == 3 and not stat & set(sent)
    body = storage._open_reader("d/e/c.txt", 5, 12).body
    assert body.read() == (b"d/e/c.txt" * 3)[5:12] and body.read() == b""


def aborted_write_leaves_nothing(storage: Any, root: Path) -> None:
    """An exception inside ``with storage.open(name, "wb")`` (past the pipe's threshold) stores
    nothing."""
    storage.upload_threshold = 4
    with pytest.raises(RuntimeError), storage.open("gone.txt", "wb") as f:
        f.write(b"x" * 100_000)
        raise RuntimeError("boom")
    wait_for(lambda: not root.exists() or list(root.iterdir()) == [])


def unresponsive_within_60_s(storage: Any) -> str:
    """The error message of a call to a server that accepts TCP and never answers (default
    settings)."""
    from storages.errors import StorageUnavailable

    start = time.monotonic()
    with pytest.raises(StorageUnavailable) as info:
        storage.exists("x")
    assert time.monotonic() - start < 60
    return str(info.value)


def frozen_during_a_read(storage: Any, freeze: Callable[[bool], None], setting: str) -> None:
    """A server paused (SIGSTOP) in the middle of a read: StorageUnavailable naming ``setting``
    within its timeout (2 s here); once it runs again, the storage works again with the content
    intact."""
    from django.core.files.base import File

    from storages.errors import StorageUnavailable
    from storages.testing.helpers import PatternFile

    payload = PatternFile(8 * 1024 * 1024, seed=7)
    storage.save("frozen.bin", File(payload, name="frozen.bin"))
    f = storage.open("frozen.bin")
    payload.seek(0)
    assert f.read(1000) == payload.read(1000)  # the transfer is under way
    freeze(True)
    try:
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match=setting):
            f.read()
        assert time.monotonic() - start < 10
    finally:
        freeze(False)
    f.close()
    payload.seek(0)
    assert storage.open("frozen.bin").read() == payload.read()


def empty_folder_removal(storage: Any, root: Path) -> None:
    """``_remove_empty_folder()``: only an empty folder goes. One holding a file, or the temporary
    file of an upload in progress (a race with a real upload), stays and the upload completes; the
    root, a parent and a missing folder are left alone."""
    from storages.files import TEMP_PREFIX

    storage.save("box/keep.txt", ContentFile(b"keep"))
    storage._remove_empty_folder("box")
    assert storage.open("box/keep.txt").read() == b"keep"
    storage.delete("box/keep.txt")
    storage.upload_threshold = 64 * 1024
    with storage.open("box/new.bin", "wb") as f:
        f.write(b"x" * 200_000)  # past the threshold: streaming into a temporary file in the folder
        wait_for(lambda: any(p.name.startswith(TEMP_PREFIX) for p in (root / "box").iterdir()))
        storage._remove_empty_folder("box")
        f.write(b"y" * 1000)
    assert storage.open("box/new.bin").read() == b"x" * 200_000 + b"y" * 1000
    storage.delete("box/new.bin")
    storage._remove_empty_folder("box")
    assert not (root / "box").exists() and "box" not in storage.listdir("")[0]
    storage.save("a/b/c.txt", ContentFile(b"c"))
    storage.delete("a/b/c.txt")
    storage._remove_empty_folder("a/b")
    assert storage.listdir("a") == ([], []) and (root / "a").is_dir()
    storage._remove_empty_folder("missing")
    for name in ("", "/", "."):
        storage._remove_empty_folder(name)  # never the root
    assert root.is_dir() and storage.listdir("")[0] == ["a"]

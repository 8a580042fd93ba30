"""copystorage --shard K/N on moto: N shards together copy every file exactly once (server-side
within S3), each lists only its own folders below the top levels, and each resumes."""

from __future__ import annotations

import io
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError

from storages.copy import copy_files
from storages.shard import owner, parse_shard, units
from storages.testing.suite import use_storages
from tests.backends.test_s3 import s3_options, s3_server  # noqa: F401

FOLDERS = [f"albums/{i:02d}" for i in range(12)] + ["docs", "misc/a/b"]


@pytest.fixture
def tree(s3_server):
    """A source storage with 44 files in folders two levels deep and loose top-level files."""
    from storages.backends.s3 import S3Storage

    source = S3Storage(**s3_options(s3_server, location=f"shards/{uuid.uuid4().hex}/src"))
    names = [f"{folder}/f{j}.txt" for folder in FOLDERS for j in range(3)] + [
        "top1.txt",
        "top2.txt",
    ]
    for name in names:
        source.save(name, ContentFile(name.encode()))
    return source, sorted(names)


def destination(s3_server, source):
    from storages.backends.s3 import S3Storage

    return S3Storage(**s3_options(s3_server, location=source.location.replace("/src", "/dst")))


def listings(recorded: list[dict]) -> list[tuple[str, bool]]:
    """(prefix, recursive) of every ListObjectsV2 the server received."""
    found = []
    for request in recorded:
        query = parse_qs(urlsplit(request.get("url", "")).query)
        if "list-type" in query:
            found.append((query.get("prefix", [""])[0], "delimiter" not in query))
    return found


def test_parse_shard_takes_k_of_n():
    assert parse_shard("1/4") == (0, 4) and parse_shard("4/4") == (3, 4)
    for bad in ("0/4", "5/4", "x", "2"):
        with pytest.raises(ValueError, match="JOB_COMPLETION_INDEX"):
            parse_shard(bad)


def test_two_shards_copy_every_file_exactly_once(s3_server, tree):
    source, names = tree
    dest = destination(s3_server, source)
    folders, _ = units(source, "", 2)
    copied: list[list[str]] = []
    for index in range(2):
        done: list[str] = []
        with s3_server.recording() as recorded:
            report = copy_files(
                source,
                dest,
                shard=(index, 2),
                on_file=lambda action, name, done=done: done.append(name),
            )
        assert report.ok and report.server_side == len(report.copied)
        copied.append(done)
        # Another shard's folder is listed at most once, by the shared walk of the top levels
        # (non-recursive); nothing below it is ever listed by this shard.
        seen = listings(recorded)
        prefixes = [prefix for prefix, _ in seen]
        mine = [f"{source.location}/{f}/" for f in folders if owner(f, 2) == index]
        assert mine and any(p.startswith(mine[0]) for p in prefixes)
        # Recursive listings only below this shard's own folders (in the source and the
        # destination): never the whole tree.
        own = tuple(mine + [p.replace("/src/", "/dst/") for p in mine])
        assert [p for p, recursive in seen if recursive and not p.startswith(own)] == []
        for other in (f for f in folders if owner(f, 2) != index):
            below = [p for p in prefixes if p.startswith(f"{source.location}/{other}/")]
            assert below in ([], [f"{source.location}/{other}/"]), (other, below)
    assert not set(copied[0]) & set(copied[1])
    assert sorted(copied[0] + copied[1]) == names
    assert copied[0] and copied[1]  # the work is split
    _, files = dest.listdir("albums/03")
    assert len(files) == 3 and dest.open("top1.txt").read() == b"top1.txt"
    again = copy_files(source, dest, shard=(0, 2))  # resumable: a rerun copies nothing
    assert again.copied == [] and again.skipped == len(copied[0])


def test_the_command_shards_and_refuses_delete(s3_server, tree, settings):
    source, names = tree
    dest = destination(s3_server, source)
    use_storages(
        settings,
        {
            "old": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": s3_options(s3_server, location=source.location),
            },
            "new": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": s3_options(s3_server, location=dest.location),
            },
        },
    )
    for k in (1, 2, 3):
        call_command("copystorage", "old", "new", "--shard", f"{k}/3", stdout=io.StringIO())
    assert sorted(name for name, _ in dest.scan("")) == names
    with pytest.raises(CommandError, match="--delete can't be combined with --shard"):
        call_command("copystorage", "old", "new", "--shard", "1/2", "--delete")
    with pytest.raises(CommandError, match="1 <= K <= N"):
        call_command("copystorage", "old", "new", "--shard", "3/2")

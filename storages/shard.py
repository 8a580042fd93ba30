"""Split a copy across processes or machines: ``copystorage --shard K/N``.

Every shard lists the same few top levels below the path (one listing per folder, three levels
at most, until there are at least ``8 * N`` folders), which gives the same *units* everywhere:
those folders, and the loose files met on the way. Each unit belongs to exactly one shard, by a
stable hash of its name (CRC-32: the same in every process and Python version), so N shards
together copy every file exactly once, and each lists only its own folders below the top levels
(the provider's listings fan out by prefix). A shard is an ordinary copy: resumable, parallel,
server-side within one provider.
"""

from __future__ import annotations

import posixpath
import zlib
from typing import Any

__all__ = ["UNITS_PER_SHARD", "owner", "parse_shard", "units"]

#: Folders wanted per shard before the top-level walk stops going deeper.
UNITS_PER_SHARD = 8
MAX_DEPTH = 3


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` (1 <= K <= N) -> ``(K - 1, N)``; ``ValueError`` with a clear message."""
    try:
        k, n = (int(part) for part in str(text).split("/"))
    except ValueError:
        k = n = 0
    if not 1 <= k <= n:
        raise ValueError(
            f"--shard takes K/N with 1 <= K <= N (this is shard K of N), got {text!r}; in a "
            "Kubernetes Indexed Job K is $JOB_COMPLETION_INDEX + 1"
        )
    return k - 1, n


def owner(unit: str, count: int) -> int:
    """The shard (0-based) that copies ``unit``."""
    return zlib.crc32(unit.encode("utf-8")) % count


def units(storage: Any, path: str, count: int) -> tuple[list[str], list[str]]:
    """``(folders, files)``: the units below ``path`` every shard agrees on (see the module).

    The top level is always listed; while there are fewer than ``UNITS_PER_SHARD * count``
    folders, the folders holding subfolders are opened one level further (at most
    ``MAX_DEPTH`` levels): their subfolders become units and their own files loose units.
    A folder without subfolders stays one unit.
    """

    def join(where: str, name: str) -> str:
        return posixpath.join(where, name) if where else name

    dirs, names = storage.listdir(path)
    folders, files = [join(path, d) for d in dirs], [join(path, f) for f in names]
    leaves: list[str] = []
    for _ in range(MAX_DEPTH - 1):
        if not folders or len(folders) + len(leaves) >= UNITS_PER_SHARD * count:
            break
        deeper: list[str] = []
        for folder in folders:
            sub, names = storage.listdir(folder)
            if sub:
                deeper += [join(folder, d) for d in sub]
                files += [join(folder, f) for f in names]
            else:
                leaves.append(folder)
        folders = deeper
    return sorted(folders + leaves), sorted(files)

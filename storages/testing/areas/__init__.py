"""The conformance suite by area; a backend joins one area, several, or all of them
(:class:`storages.testing.StorageConformance`). docs/testing.rst lists what each area holds a
backend to.

- ``IOConformance`` (fileio): save/open/read in every mode, writes, seeks, delete, threads,
  pickling, ``deconstruct()``, the storage walkthrough
- ``NamesConformance`` (names): literal ``exists()``, the overwrite policy, refused names, the
  FileField walkthroughs
- ``ErrorsConformance`` (errors): missing files, unrecorded times, broken configurations
- ``BoundedMemoryConformance`` (memory): a large file in bounded memory
- ``ListingConformance`` (listing): ``listdir()`` and the recorded times
- ``URLConformance`` (urls): ``url()`` of awkward names, fetched
- ``CollectstaticConformance`` (collectstatic): Django's and this package's command
"""

from storages.testing.areas.collectstatic import CollectstaticConformance
from storages.testing.areas.errors import ErrorsConformance
from storages.testing.areas.fileio import IOConformance
from storages.testing.areas.listing import ListingConformance
from storages.testing.areas.memory import BoundedMemoryConformance
from storages.testing.areas.names import NamesConformance
from storages.testing.areas.urls import URLConformance

__all__ = [
    "BoundedMemoryConformance",
    "CollectstaticConformance",
    "ErrorsConformance",
    "IOConformance",
    "ListingConformance",
    "NamesConformance",
    "URLConformance",
]

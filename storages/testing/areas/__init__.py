"""The conformance suite by area; a backend joins one area, several, or all of them
(:class:`storages.testing.StorageConformance`).

=====================  ==========================================================
Area                   What it holds a backend to
=====================  ==========================================================
IOConformance          save/open/read in every mode, writes, seeks, delete,
                       threads, pickling, ``deconstruct()``, the storage walkthrough
NamesConformance       names and overwrite: literal ``exists()``, the overwrite
                       policy (32 threads racing for one name), refused names,
                       the FileField walkthroughs
ErrorsConformance      missing files, times the provider does not record, broken
                       configurations (credentials, container, unreachable)
BoundedMemoryConformance  a large file saved, read and written in bounded memory
ListingConformance     ``listdir()`` (past 1000 entries, scoped to the location)
                       and the times a provider records
URLConformance         ``url()`` of awkward names, fetched with a plain HTTP client
CollectstaticConformance  Django's and this package's ``collectstatic``, with
                       ``--clear`` and the manifest storage
=====================  ==========================================================
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

"""The whole conformance suite in one class: every area of ``storages.testing.areas``.

Kept for whoever joins everything at once (this package's backends do); a backend may join
single areas instead. The names this module exported before the split still import from here.
"""

from __future__ import annotations

from storages.testing.areas import (
    BoundedMemoryConformance,
    CollectstaticConformance,
    ErrorsConformance,
    IOConformance,
    ListingConformance,
    NamesConformance,
    URLConformance,
)
from storages.testing.areas.collectstatic import manifest_class
from storages.testing.areas.names import BAD_NAMES, REFUSED_ON_SAVE
from storages.testing.areas.urls import SPECIAL_NAMES
from storages.testing.config import (
    MB,
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    ConformanceBase,
    needs,
    use_storages,
)

__all__ = [
    "BAD_NAMES",
    "MB",
    "REFUSED_ON_SAVE",
    "SPECIAL_NAMES",
    "BackendConfig",
    "BrokenConfigs",
    "Capabilities",
    "ConformanceBase",
    "StorageConformance",
    "manifest_class",
    "needs",
    "use_storages",
]


class StorageConformance(
    IOConformance,
    NamesConformance,
    ErrorsConformance,
    BoundedMemoryConformance,
    ListingConformance,
    URLConformance,
    CollectstaticConformance,
):
    """Every area; a backend's ``Test...`` class supplies the fixtures and capabilities."""

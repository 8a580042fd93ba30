"""The storage contract, stated once, as tests a backend joins (see docs/testing.rst).

A backend joins every area with one class (see ``tests/backends/test_s3.py``):

    class TestS3Conformance(StorageConformance):
        capabilities = Capabilities.strict(overwrite_option="file_overwrite")

        @pytest.fixture
        def storage_config(self, s3_server): return BackendConfig(...)

        @pytest.fixture
        def broken_configs(self, ...): return BrokenConfigs(...)

or one area (``IOConformance``, ``NamesConformance``, ``ErrorsConformance``,
``BoundedMemoryConformance``, ``ListingConformance``, ``URLConformance``,
``CollectstaticConformance``) with a one-line class when ``storage_config`` is a module or
conftest fixture.

Storages copied at any point of their life and interrupted saves: join
:class:`StorageLifecycle` too (``storages.testing.lifecycle``).
"""

from storages.testing.areas import (
    BoundedMemoryConformance,
    CollectstaticConformance,
    ErrorsConformance,
    IOConformance,
    ListingConformance,
    NamesConformance,
    URLConformance,
)
from storages.testing.config import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    ConformanceBase,
    needs,
)
from storages.testing.lifecycle import StorageLifecycle
from storages.testing.suite import StorageConformance

__all__ = [
    "BackendConfig",
    "BoundedMemoryConformance",
    "BrokenConfigs",
    "Capabilities",
    "CollectstaticConformance",
    "ConformanceBase",
    "ErrorsConformance",
    "IOConformance",
    "ListingConformance",
    "NamesConformance",
    "StorageConformance",
    "StorageLifecycle",
    "URLConformance",
    "needs",
]

"""The storage contract every backend must meet, stated once.

A backend joins with a one-class test module (see ``tests/backends/test_s3.py``):

    class TestS3Conformance(StorageConformance):
        capabilities = Capabilities(created_time=False, ...)

        @pytest.fixture
        def storage_config(self, s3_server): return BackendConfig(...)

        @pytest.fixture
        def broken_configs(self, ...): return BrokenConfigs(...)

Storages copied at any point of their life and interrupted saves: join
:class:`StorageLifecycle` too (``storages.testing.lifecycle``).
"""

from storages.testing.lifecycle import StorageLifecycle
from storages.testing.suite import BackendConfig, BrokenConfigs, Capabilities, StorageConformance

__all__ = [
    "BackendConfig",
    "BrokenConfigs",
    "Capabilities",
    "StorageConformance",
    "StorageLifecycle",
]

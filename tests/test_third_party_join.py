"""A third-party backend (a plain Django ``Storage``, tests/examples/dict_storage.py) joins areas
of the conformance suite with one-line classes, exactly as docs/testing.rst shows, and the whole
suite with capabilities that declare what it lacks."""

import pytest

from storages.testing import Capabilities, StorageConformance
from tests.examples.dict_storage import (  # noqa: F401 - pytest collects these
    TestDictStorageIO,
    TestDictStorageListing,
    TestDictStorageNames,
    storage_config,
)

MB = 1024 * 1024


class TestDictStorageConformance(StorageConformance):
    """Every area: no server (URLs are not fetchable, no misconfiguration to produce), no
    recorded times, objects in memory (a smaller large file)."""

    capabilities = Capabilities(
        url_fetchable=False, modified_time=False, misconfigurations=(), large_size=8 * MB
    )


def test_tests_a_backend_lacks_are_not_collected(request):
    """What the capabilities rule out is absent, not skipped; what they allow is there."""
    session = request.session
    names = {
        item.name.split("[")[0] for item in session.items if "DictStorageConformance" in item.nodeid
    }
    if not names:
        pytest.fail("run with the whole module: the conformance class was not collected")
    assert "test_save_and_read_back" in names and "test_unrecorded_time_is_not_implemented" in names
    for absent in [
        "test_clear_errors",
        "test_overwrite_on_replaces",
        "test_recorded_time",
        "test_modified_time_aware_with_use_tz",
        "test_bad_names_refused_before_any_request",
        "test_write_error_inside_with_stores_nothing",
        "test_listdir_of_a_missing_folder_is_empty",
        "test_collectstatic_clear",
    ]:
        assert absent not in names

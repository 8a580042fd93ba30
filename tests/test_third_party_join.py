"""A third-party backend (a plain Django ``Storage``, tests/examples/dict_storage.py) joins areas
of the conformance suite with one-line classes, exactly as docs/testing.rst shows, and the whole
suite with capabilities that declare what it lacks."""

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


def test_tests_a_backend_lacks_are_not_collected():
    """What the capabilities rule out is absent from the class (pytest collects only callable
    ``test_*`` attributes), not skipped; what they allow is there; a subclass that declares a
    flag gets its test back."""
    cls = TestDictStorageConformance
    assert callable(cls.test_save_and_read_back)
    assert callable(cls.test_unrecorded_time_is_not_implemented)
    absent = [
        "test_clear_errors",
        "test_overwrite_on_replaces",
        "test_recorded_time",
        "test_modified_time_aware_with_use_tz",
        "test_bad_names_refused_before_any_request",
        "test_write_error_inside_with_stores_nothing",
        "test_listdir_of_a_missing_folder_is_empty",
        "test_collectstatic_clear",
    ]
    for name in absent:
        assert getattr(cls, name) is None, name

    class Stricter(cls):
        capabilities = Capabilities(lists_missing_folder_empty=True, modified_time=False)

    assert callable(Stricter.test_listdir_of_a_missing_folder_is_empty)
    assert Stricter.test_clear_errors is not None  # all three misconfigurations by default


def test_every_capability_is_documented_and_read():
    """docs/testing.rst's table lists exactly the Capabilities fields, and the suite reads each
    one (a flag nothing reads would promise a check that never happens)."""
    import dataclasses
    import re
    from pathlib import Path

    import storages.testing

    fields = {f.name for f in dataclasses.fields(Capabilities)}
    docs = (Path(__file__).parent.parent / "docs" / "testing.rst").read_text()
    table = docs.split(".. list-table:: ``storages.testing.Capabilities``")[1].split("\n\n\n")[0]
    assert set(re.findall(r"^   \* - ``(\w+)``", table, re.M)) == fields
    package = Path(storages.testing.__file__).parent
    source = "\n".join(
        path.read_text()
        for path in [package / "config.py", *sorted((package / "areas").glob("*.py"))]
    )
    body = source.split("class Capabilities")[1].split("class BackendConfig")[0]
    elsewhere = source.replace(body, "")
    for name in fields:
        used = re.search(rf"(caps|capabilities)\.{name}\b|needs\(\"{name}\"\)", elsewhere)
        derived = name.endswith("_time") and '_time")' in body  # read by recorded_times
        assert used or derived, f"Capabilities.{name} is read by no test"

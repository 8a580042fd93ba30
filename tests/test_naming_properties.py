"""Property-based test of the one name-to-key gate (storages.naming) over adversarial names.

Every name is either refused with the documented exception (SuspiciousFileOperation, of
which NameTooLong is one) before any request, or mapped to a key under the location that
round-trips: written, listed by listdir() of its folder, and read back.
"""

from __future__ import annotations

import posixpath
import uuid

import pytest
from django.core.exceptions import SuspiciousFileOperation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storages.testing.memory import MemoryStorage, create_bucket, drop_bucket

LOCATION = "media/uploads"
PIECES = [
    "..",
    ".",
    "",
    "a",
    "b.txt",
    "\\",
    "/",
    "\x00",
    "..\\",
    "./",
    "%2e%2e",
    "%2f",
    "C:",
    "c:\\",
    "\u2024\u2024",
    "\uff0e\uff0e",
    "\u2215",
    "\uff0f",
    "\u2044",
    "\u00b7",
    " ",
    "~",
    "$HOME",
    "\u202e",
    "名前",
    "e\u0301",
    "x" * 200,
    "y" * 1100,
]
names = st.lists(
    st.sampled_from(PIECES) | st.text(min_size=1, max_size=8), min_size=1, max_size=6
).map(lambda parts: "/".join(parts)) | st.lists(
    st.sampled_from(PIECES), min_size=1, max_size=5
).map("".join)


@pytest.fixture(scope="module")
def storage():
    name = f"props-{uuid.uuid4().hex[:8]}"
    create_bucket(name)
    yield MemoryStorage(bucket_name=name, location=LOCATION, file_overwrite=True)
    drop_bucket(name)


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names)
def test_a_name_is_refused_or_stays_under_the_location_and_round_trips(storage, name):
    try:
        key = storage._key(name)
    except SuspiciousFileOperation:
        # Refused names are refused on every file operation, before any request; a name of
        # the root or of a directory ("dir/") is still meaningful to exists() and listdir().
        try:
            folder = storage._key(storage._root_alias(name), allow_root=True)
            assert folder == LOCATION + "/" or (
                folder.startswith(LOCATION + "/") and folder.endswith("/")
            )
            folder_ok = True
        except SuspiciousFileOperation:
            folder_ok = False
        calls = (
            (storage.delete, storage.size, storage.open)
            if folder_ok
            else (storage.exists, storage.delete, storage.size, storage.open)
        )
        for call in calls:
            if name:
                with pytest.raises(SuspiciousFileOperation):
                    call(name)
        return
    assert key.startswith(LOCATION + "/")
    parts = key.split("/")
    assert ".." not in parts and "." not in parts and "" not in parts and "\x00" not in key
    assert "\\" not in key
    relative = storage._name(key)
    with storage.open(name, "wb") as f:
        f.write(name.encode("utf-8", "surrogatepass"))
    folder, base = posixpath.split(relative)
    assert base in storage.listdir(folder)[1]
    assert storage.open(relative).read() == name.encode("utf-8", "surrogatepass")
    assert storage.exists(name)
    storage.delete(name)
    assert not storage.exists(relative)


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a/../../x",
        "/etc/passwd",
        "..\\..\\x",
        "C:/x",
        "c:\\x",
        "x\x00y",
        "./",
        ".\\",
        ".",
        "a/..",
        "dir/",
        "a" * 1100,
    ],
)
def test_known_bad_names_are_refused(storage, name):
    with pytest.raises(SuspiciousFileOperation):
        storage._key(name)

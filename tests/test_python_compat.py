"""What differs between the supported Pythons (3.9-3.13) and the package handles itself."""

from __future__ import annotations

import datetime as dt

import pytest

from storages.files import parse_time

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-05-01T10:20:30Z", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01T10:20:30.1Z", dt.datetime(2024, 5, 1, 10, 20, 30, 100000, tzinfo=UTC)),
        ("2024-05-01T10:20:30.123Z", dt.datetime(2024, 5, 1, 10, 20, 30, 123000, tzinfo=UTC)),
        # Seven digits, as Azure writes them.
        ("2024-05-01T10:20:30.1234567Z", dt.datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC)),
        # Nanoseconds.
        ("2024-05-01T10:20:30.123456789Z", dt.datetime(2024, 5, 1, 10, 20, 30, 123456, tzinfo=UTC)),
        ("2024-05-01T10:20:30.000+0000", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01T12:20:30+02:00", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("2024-05-01T12:20:30.5+0200", dt.datetime(2024, 5, 1, 10, 20, 30, 500000, tzinfo=UTC)),
        ("2024-05-01 10:20:30", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),  # naive: UTC
        ("Wed, 01 May 2024 10:20:30 GMT", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),
        ("20240501102030.123", dt.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)),  # FTP MDTM
    ],
)
def test_provider_times_parse_the_same_on_every_python(text, expected) -> None:
    """Python < 3.11's fromisoformat() refuses fractions of other than 3 or 6 digits and "+0000"."""
    assert parse_time(text) == expected


def test_text_that_is_no_time_is_none() -> None:
    assert parse_time("yesterday") is None and parse_time("") is None

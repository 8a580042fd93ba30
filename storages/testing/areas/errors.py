"""Errors: missing files, times the provider does not record, broken configurations."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile

from storages.testing.config import ConformanceBase, needs


class ErrorsConformance(ConformanceBase):
    """What goes wrong is reported with the exception Django code expects, quickly, and
    without a secret in the message."""

    def test_missing_file_errors(self, storage) -> None:
        with pytest.raises(FileNotFoundError):
            storage.open("missing.txt")
        with pytest.raises(FileNotFoundError):
            storage.size("missing.txt")
        for kind in self.capabilities.recorded_times:
            with pytest.raises(FileNotFoundError):
                getattr(storage, f"get_{kind}_time")("missing.txt")

    @needs("unrecorded_times")
    def test_unrecorded_time_is_not_implemented(self, storage, settings, unrecorded_time) -> None:
        settings.USE_TZ = True
        name = storage.save("times.txt", ContentFile(b"x"))
        method = getattr(storage, f"get_{unrecorded_time}_time")
        match = type(storage).__name__ if self.capabilities.errors_name_backend else None
        with pytest.raises(NotImplementedError, match=match):
            method(name)

    @needs("misconfigurations")
    @pytest.mark.timeout(120)
    def test_clear_errors(self, broken_configs, storage_config, kind) -> None:
        config = getattr(broken_configs, kind)
        assert config is not None, (
            f"broken_configs.{kind} is None: leave {kind!r} out of "
            "Capabilities.misconfigurations if it cannot be produced"
        )
        broken = config.make()
        start = time.monotonic()
        with pytest.raises(
            (PermissionError, ImproperlyConfigured, ConnectionError, OSError)
        ) as info:
            broken.save("x.txt", ContentFile(b"x"))
        assert time.monotonic() - start < 90
        message = str(info.value)
        if self.capabilities.errors_name_backend:
            assert type(broken).__name__ in message
        assert not isinstance(info.value, FileNotFoundError)
        for secret in config.secrets + storage_config.secrets:
            assert secret not in message
            assert secret not in repr(info.value.__cause__ or "")

"""Django's own storages join the shipped conformance suite with documented capabilities and
no subclass: ``FileSystemStorage`` (its URLs served by a web server over its folder, as
MEDIA_URL would be) and ``InMemoryStorage``. What Django itself states, they meet; the
package's stricter policies stay off (Capabilities flags), except those Django's storages
happen to meet too."""

import django
import pytest

from storages.testing import (
    BackendConfig,
    BrokenConfigs,
    Capabilities,
    CollectstaticConformance,
    StorageConformance,
)
from tests.servers.ftp import serve_directory

FS = "django.core.files.storage.FileSystemStorage"
MEMORY = "django.core.files.storage.InMemoryStorage"
MB = 1024 * 1024


@pytest.fixture
def media_http(tmp_path):
    """A web server over the media folder, as a deployment serves MEDIA_ROOT at MEDIA_URL."""
    root = tmp_path / "media"
    root.mkdir()
    http = serve_directory(root)
    yield http
    http.stop()


class TestFileSystemStorageConformance(StorageConformance):
    capabilities = Capabilities(
        created_time=True,
        accessed_time=True,
        # allow_overwrite is new in Django 5.1; before it FileSystemStorage never overwrites
        overwrite_option="allow_overwrite" if django.VERSION >= (5, 1) else None,
        folders_exist=True,
        joins_names_safely=True,
        misconfigurations=("missing_container",),
    )

    @pytest.fixture
    def storage_config(self, media_http):
        # MEDIA_ROOT exists on a deployed site: open(name, "w") of a new name needs its folder.
        location = media_http.root / "site" / "uploads"
        location.mkdir(parents=True)
        return BackendConfig(
            FS, {"location": str(location), "base_url": media_http.url + "site/uploads/"}
        )

    @pytest.fixture
    def broken_configs(self, tmp_path):
        a_file = tmp_path / "a-file"
        a_file.write_text("not a folder")
        return BrokenConfigs(missing_container=BackendConfig(FS, {"location": str(a_file / "x")}))


class TestInMemoryStorageConformance(StorageConformance):
    capabilities = Capabilities(
        url_fetchable=False,
        created_time=True,
        accessed_time=True,
        atomic_create=False,
        folders_exist=True,
        shared_files=False,
        joins_names_safely=True,
        misconfigurations=(),
        large_size=8 * MB,
    )

    @pytest.fixture
    def storage_config(self, tmp_path):
        return BackendConfig(MEMORY, {"location": str(tmp_path / "site" / "uploads")})


class TestCollectstaticWithoutTheAppsConformance(CollectstaticConformance):
    """The collectstatic area runs both commands by class: this package's runs without
    ``"storages"`` in INSTALLED_APPS (Django's needs ``"django.contrib.staticfiles"``, its app
    config holds the default ignore patterns)."""

    capabilities = TestFileSystemStorageConformance.capabilities
    storage_config = TestFileSystemStorageConformance.storage_config

    @pytest.fixture(autouse=True)
    def _without_the_apps(self, settings):
        settings.INSTALLED_APPS = [app for app in settings.INSTALLED_APPS if app != "storages"]
        from django.apps import apps as registry

        assert not registry.is_installed("storages")

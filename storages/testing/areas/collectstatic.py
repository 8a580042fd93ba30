"""collectstatic: Django's command and this package's, with ``--clear`` and the manifest.

Both commands are run by class, so the tests do not depend on which one ``INSTALLED_APPS``
makes ``collectstatic`` (this package's wins when ``"storages"`` is listed before
``"django.contrib.staticfiles"``).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from django.contrib.staticfiles.storage import ManifestFilesMixin
from django.core.management import call_command
from django.utils.module_loading import import_string

from storages.testing.config import (
    BackendConfig,
    Capabilities,
    ConformanceBase,
    needs,
    use_storages,
)

#: The commands the tests run: Django's own, and this package's (the same for a storage that is
#: not one of this package's).
COMMANDS = {
    "django": "django.contrib.staticfiles.management.commands.collectstatic.Command",
    "storages": "storages.management.commands.collectstatic.Command",
}


def clearing_commands(caps: Capabilities) -> list[str]:
    """The commands whose ``--clear`` empties the storage: Django's descends only into folders
    that ``exists()``; this package's lists every file of its own backends."""
    return [
        command
        for command in COMMANDS
        if caps.folders_exist or (command == "storages" and caps.collectstatic_by_content)
    ]


_MANIFEST_CLASSES: dict[type, type] = {}


def manifest_class(cls: type) -> str:
    """A ManifestFilesMixin variant of ``cls``, importable by dotted path."""
    here = sys.modules[__name__]
    if cls not in _MANIFEST_CLASSES:
        name = f"Manifest{cls.__name__}"
        _MANIFEST_CLASSES[cls] = type(
            name, (ManifestFilesMixin, cls), {"__module__": here.__name__}
        )
        setattr(here, name, _MANIFEST_CLASSES[cls])
    return f"{here.__name__}.{_MANIFEST_CLASSES[cls].__name__}"


def collectstatic(command: str, **options: Any) -> str:
    """Run the ``command`` ("django" or "storages") by class; its output."""
    out = io.StringIO()
    options.setdefault("verbosity", 1)
    call_command(import_string(COMMANDS[command])(), interactive=False, stdout=out, **options)
    return out.getvalue()


def _static_tree(tmp_path: Path) -> Path:
    root = tmp_path / "static_src"
    (root / "css").mkdir(parents=True)
    (root / "img").mkdir()
    (root / "css" / "site.css").write_text("body { background: url('../img/dot.svg'); }\n")
    (root / "img" / "dot.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>\n")
    (root / "app.js").write_text("console.log('hi');\n")
    return root


def _use_static_tree(settings: Any, tmp_path: Path) -> Path:
    source = _static_tree(tmp_path)
    settings.STATICFILES_DIRS = [str(source)]
    # Only this tree: installed apps' own static files (storages ships the direct-upload
    # widget's) don't count.
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    return source


def _as_staticfiles(settings: Any, path: str, options: dict[str, Any]) -> Any:
    """Make ``path`` the staticfiles storage; the instance the commands will use."""
    use_storages(
        settings,
        {
            "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            "staticfiles": {"BACKEND": path, "OPTIONS": options},
        },
    )
    from django.core.files.storage import storages

    return storages["staticfiles"]


class CollectstaticConformance(ConformanceBase):
    """The backend as ``STORAGES["staticfiles"]`` for ``collectstatic``."""

    @pytest.mark.parametrize("command", list(COMMANDS))
    def test_collectstatic(self, settings, storage_config: BackendConfig, tmp_path, command):
        source = _use_static_tree(settings, tmp_path)
        target = _as_staticfiles(settings, storage_config.path, dict(storage_config.options))
        assert "3 static files copied" in collectstatic(command)
        for name in ["css/site.css", "img/dot.svg", "app.js"]:
            assert target.open(name).read() == (source / name).read_bytes()
        again = collectstatic(command)
        by_content = command == "storages" and self.capabilities.collectstatic_by_content
        if self.capabilities.modified_time or by_content:
            assert "0 static files copied" in again and "3 unmodified" in again, again
        else:
            # Django's command copies what it cannot date.
            assert "3 static files copied" in again, again

    @needs(lambda caps: bool(clearing_commands(caps)))
    def test_collectstatic_clear(
        self, settings, storage_config: BackendConfig, tmp_path, clear_command
    ) -> None:
        source = _use_static_tree(settings, tmp_path)
        target = _as_staticfiles(settings, storage_config.path, dict(storage_config.options))
        target.save("css/stale.css", io.BytesIO(b"old"))
        target.save("stale.js", io.BytesIO(b"old"))
        cleared = collectstatic(clear_command, clear=True)
        assert "3 static files copied" in cleared, cleared
        assert not target.exists("css/stale.css") and not target.exists("stale.js")
        for name in ["css/site.css", "img/dot.svg", "app.js"]:
            assert target.open(name).read() == (source / name).read_bytes()

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        super().pytest_generate_tests(metafunc)
        if "clear_command" in metafunc.fixturenames:
            metafunc.parametrize("clear_command", clearing_commands(self.capabilities))

    @pytest.mark.parametrize("command", list(COMMANDS))
    def test_collectstatic_manifest(
        self, settings, storage_config: BackendConfig, tmp_path, command
    ) -> None:
        _use_static_tree(settings, tmp_path)
        target = _as_staticfiles(
            settings,
            manifest_class(storage_config.cls),
            {**storage_config.options, **storage_config.static_options},
        )
        collectstatic(command, verbosity=0)
        manifest = json.loads(target.open("staticfiles.json").read())
        hashed = manifest["paths"]["css/site.css"]
        assert hashed != "css/site.css" and hashed.startswith("css/site.")
        css = target.open(hashed).read().decode()
        assert manifest["paths"]["img/dot.svg"].split("/")[-1] in css, css
        from django.contrib.staticfiles.storage import staticfiles_storage

        assert staticfiles_storage.url("css/site.css").split("?")[0].endswith(hashed.split("/")[-1])

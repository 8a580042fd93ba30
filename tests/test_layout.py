"""The package layout: each provider's code in its own package, reached by the core and the
features only through the hooks and traits declared on BaseStorage (issue 18).

Imports are read with ``ast`` (function-level ones included), so a lazy import inside a method
counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "storages"
BACKENDS = ROOT / "backends"

#: Every class path 1.14 documented (and the aliases it kept); public import paths never change.
CLASS_PATHS_1_14 = [
    "storages.backends.s3.S3Storage",
    "storages.backends.s3.S3StaticStorage",
    "storages.backends.s3.S3ManifestStaticStorage",
    "storages.backends.s3.S3File",
    "storages.backends.s3boto3.S3Boto3Storage",
    "storages.backends.s3boto3.S3Boto3StorageFile",
    "storages.backends.s3boto3.S3StaticStorage",
    "storages.backends.s3boto3.S3ManifestStaticStorage",
    "storages.backends.s3boto.S3BotoStorage",
    "storages.backends.gcloud.GoogleCloudStorage",
    "storages.backends.gcloud.GoogleCloudFile",
    "storages.backends.azure_storage.AzureStorage",
    "storages.backends.azure_storage.AzureStorageFile",
    "storages.backends.dropbox.DropboxStorage",
    "storages.backends.dropbox.DropboxFile",
    "storages.backends.dropbox.DropboxStorageException",
    "storages.backends.sftpstorage.SFTPStorage",
    "storages.backends.sftpstorage.SFTPStorageFile",
    "storages.backends.ftp.FTPStorage",
    "storages.backends.ftp.FTPStorageFile",
    "storages.backends.ftp.FTPStorageException",
    "storages.backends.apache_libcloud.LibCloudStorage",
    "storages.backends.apache_libcloud.LibCloudFile",
    # What the tests (and so users) patch.
    "storages.backends.gcloud.Client",
    "storages.backends.gcloud.Blob",
    "storages.backends.azure_storage.EMULATOR_BLOB_ENDPOINT",
]

#: The SDKs (top-level import names) only a provider package may import.
SDKS = {
    "boto3",
    "botocore",
    "s3transfer",
    "google",
    "azure",
    "dropbox",
    "paramiko",
    "ftplib",
    "libcloud",
    "requests",
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


MODULES = _modules()


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under ``if TYPE_CHECKING:`` (never run, so never part of a cycle)."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def _imports(name: str, path: pathlib.Path) -> set[str]:
    """Every module ``name`` imports, anywhere in it (``from x import y`` gives x, and x.y when
    x.y is a module of the package)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def _provider_of(module: str) -> str | None:
    """The provider package (or compat alias module) ``module`` belongs to, if any."""
    parts = module.split(".")
    if parts[:2] == ["storages", "backends"] and len(parts) > 2:
        return ".".join(parts[:3])
    return None


@pytest.mark.parametrize("path", CLASS_PATHS_1_14)
def test_public_paths_import(path):
    module, _, attr = path.rpartition(".")
    assert hasattr(importlib.import_module(module), attr), path


def test_provider_packages():
    for provider in ("s3", "gcloud", "azure_storage", "dropbox", "sftpstorage", "ftp"):
        assert (BACKENDS / provider / "__init__.py").is_file(), provider
    assert (BACKENDS / "apache_libcloud" / "__init__.py").is_file()
    for gone in ("legacy", "sdk_compat", "direct.s3", "direct.gcs", "direct.azure"):
        assert f"storages.{gone}" not in MODULES, gone


@pytest.mark.parametrize(
    "name", [n for n in MODULES if not n.startswith("storages.backends")], ids=str
)
def test_core_and_features_import_no_provider(name):
    """Outside storages/backends/, no module imports a provider module or an SDK."""
    bad = sorted(
        module
        for module in _imports(name, MODULES[name])
        if _provider_of(module) or module.split(".")[0] in SDKS
    )
    assert not bad, f"{name} imports {bad}"


def test_no_provider_imports_another():
    for name, path in MODULES.items():
        own = _provider_of(name)
        if own is None or name in ("storages.backends.s3boto", "storages.backends.s3boto3"):
            continue
        others = {
            _provider_of(m) for m in _imports(name, path) if _provider_of(m) not in (None, own)
        }
        assert not others, f"{name} imports {sorted(others)}"


#: Edges the cycle check leaves out: none (the last one, base <-> snapshot, ended when the
#: snapshot became a mixin the collectstatic run applies).
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()

#: The core: what every backend is built on. It knows no feature.
CORE = (
    "storages.base",
    "storages.conf",
    "storages.naming",
    "storages.files",
    "storages.transfer",
    "storages.compress",
    "storages.errors",
    "storages.utils",
    "storages.hashing",
    "storages.pool",
)
#: The features: they reach the core (and, through its hooks, the providers), never the reverse.
FEATURES = (
    "storages.snapshot",
    "storages.collect",
    "storages.copy",
    "storages.checks",
    "storages.direct",
    "storages.management",
    "storages.progress",
)


@pytest.mark.parametrize("name", CORE)
def test_the_core_imports_no_feature(name):
    bad = sorted(
        module
        for module in _imports(name, MODULES[name])
        if any(module == f or module.startswith(f + ".") for f in FEATURES)
    )
    assert not bad, f"{name} imports {bad}"


def test_no_import_cycle():
    graph = {
        name: {
            m
            for m in _imports(name, path)
            if m in MODULES and m != name and (name, m) not in KNOWN_CYCLE_EDGES
        }
        for name, path in MODULES.items()
    }
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)


def test_the_checker_sees_function_level_imports():
    """The graph is not blind to a lazy import (the kind the old legacy -> azure cycle used)."""
    code = "def f():\n    from storages.backends import azure_storage as azure\n"
    path = ROOT.parent / "_layout_probe.py"
    path.write_text(code)
    try:
        found = _imports("storages.checks", path)
    finally:
        path.unlink()
    assert "storages.backends.azure_storage" in found

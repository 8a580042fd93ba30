"""Import a backend in a fresh interpreter where its SDK can't be imported (a missing extra)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CODE = """
import sys; sys.modules[{hidden!r}] = None
import django; from django.conf import settings; settings.configure(); django.setup()
from django.core.exceptions import ImproperlyConfigured
try:
    import {module}
except Exception as exc:
    print(isinstance(exc, ImproperlyConfigured), exc)
"""


def import_without(hidden: str, module: str) -> str:
    """What importing ``module`` printed with ``hidden`` unimportable: "True <message>" when it
    raised ImproperlyConfigured (and the child's stderr after it, for the assertion message)."""
    out = subprocess.run(
        [sys.executable, "-c", _CODE.format(hidden=hidden, module=module)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return out.stdout + out.stderr

"""django-storages 1.14 in a virtualenv of its own, for side-by-side benchmarks.

The reference is installed from PyPI into ``.bench-venvs/django-storages-1.14`` (or
``$STORAGES_REFERENCE_VENV``) the first time it is needed; a bench then runs a snippet in it
with :func:`run_reference`, which returns the JSON object the snippet printed last.
Nothing of it is imported into this package's process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REFERENCE_VERSION = "1.14.6"
VENV = Path(
    os.environ.get(
        "STORAGES_REFERENCE_VENV", ROOT / ".bench-venvs" / f"django-storages-{REFERENCE_VERSION}"
    )
)
PACKAGES = [
    f"django-storages[s3,google,azure,dropbox,sftp,libcloud]=={REFERENCE_VERSION}",
    "Django>=5.2,<5.3",
]


def python() -> Path:
    return VENV / "bin" / "python"


def ensure_reference(extra: list[str] | None = None) -> Path:
    """Create the reference virtualenv (once) and return its python."""
    marker = VENV / ".installed"
    if not marker.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python()), "-m", "pip", "install", "-q", *PACKAGES, *(extra or [])], check=True
        )
        marker.write_text(REFERENCE_VERSION)
    return python()


def run_reference(
    code: str, env: dict[str, str] | None = None, timeout: float = 1800
) -> dict[str, Any]:
    """Run ``code`` with the reference's python; it must print one JSON object as its last line.

    The snippet runs with ``DJANGO_SETTINGS_MODULE`` unset: configure Django inside it
    (``settings.configure(...)``). ``bench/`` is on its path, this package is not.
    """
    exe = ensure_reference()
    full_env = {
        k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE" and k != "PYTHONPATH"
    }
    full_env.update(env or {})
    full_env["PYTHONPATH"] = str(ROOT / "bench")
    out = subprocess.run(
        [str(exe), "-c", code],
        env=full_env,
        cwd=str(VENV),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if out.returncode != 0:
        raise RuntimeError(f"reference run failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(ensure_reference())

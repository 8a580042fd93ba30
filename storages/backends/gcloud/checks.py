"""Google Cloud Storage's part of the system checks: does Google's auth find credentials?"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from storages.checks import is_local_host


def _endpoint(storage: Any) -> str | None:
    options = getattr(storage, "client_options", None)
    endpoint = (
        options.get("api_endpoint")
        if isinstance(options, dict)
        else getattr(options, "api_endpoint", None)
    )
    return endpoint or getattr(storage, "custom_endpoint", None)


def ambient_credentials(storage: Any) -> bool:
    """An emulator needs none; else a key file or gcloud's application-default login."""
    endpoint = _endpoint(storage)
    if os.environ.get("STORAGE_EMULATOR_HOST") or (
        endpoint and is_local_host(urlsplit(endpoint).hostname)
    ):
        return True
    adc = os.path.join(
        os.environ.get("CLOUDSDK_CONFIG", os.path.expanduser("~/.config/gcloud")),
        "application_default_credentials.json",
    )
    return bool(os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")) or os.path.exists(adc)

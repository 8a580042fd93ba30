"""Azure Blob Storage's part of the system checks: are the values of the options ones Azure
accepts?"""

from __future__ import annotations

import re
from typing import Any

from django.core import checks

from storages.checks import bad_seconds, bad_value

# Container names: 3-63 lowercase letters, digits and single hyphens, beginning and ending with a
# letter or digit; $root and $web are the two special containers.
_CONTAINER = re.compile(r"^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$|^\$root$|^\$web$")
_CONTAINER_RULE = (
    "Azure container names are 3 to 63 lowercase letters, digits and single hyphens, beginning "
    "and ending with a letter or digit."
)
_HOST = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::\d+)?$")


def system_checks(storage: Any, alias: str) -> list[checks.CheckMessage]:
    """Azure's value rules (no network): the container name, the URL lifetime, and the two host
    options (a host name, not a URL). ``object_parameters`` is refused when the storage is built
    (storages.E002)."""
    found: list[checks.CheckMessage] = []
    container = storage.azure_container
    if container and (not isinstance(container, str) or not _CONTAINER.match(container)):
        found.append(
            bad_value(
                alias,
                storage,
                "azure_container",
                container,
                "not a name Azure accepts for a container",
                _CONTAINER_RULE,
                "E006",
            )
        )
    found += bad_seconds(alias, storage, "expiration_secs", storage.expiration_secs, zero_ok=True)
    for option, example in (("custom_domain", "cdn.example.com"), ("endpoint_suffix", None)):
        value = getattr(storage, option, None)
        if value and (not isinstance(value, str) or not _HOST.match(value)):
            host = str(value).split("://", 1)[-1].strip("/")
            suggestion = host if _HOST.match(host) else example
            found.append(
                bad_value(
                    alias,
                    storage,
                    option,
                    value,
                    "not a host name (write it without a scheme or path)",
                    f"Did you mean {suggestion!r}?"
                    if suggestion
                    else "Give the host name alone, e.g. 'core.windows.net'.",
                    "E003",
                )
            )
    return found

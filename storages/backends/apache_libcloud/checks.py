"""Apache Libcloud's part of the system checks."""

from __future__ import annotations

from typing import Any

from django.core import checks

from storages.checks import is_local_host


def system_checks(storage: Any, alias: str) -> list[checks.CheckMessage]:
    """TLS turned off in the provider's LIBCLOUD_PROVIDERS entry, for a remote host."""
    providers = getattr(storage, "providers", None)
    name = getattr(storage, "provider_name", None)
    conf = providers.get(name) if isinstance(providers, dict) else None
    if (
        isinstance(conf, dict)
        and conf.get("secure") is False
        and not is_local_host(conf.get("host"))
    ):
        return [
            checks.Warning(
                f"{alias}: LIBCLOUD_PROVIDERS[{name!r}]['secure'] is False.",
                hint="Remove it (TLS is the default).",
                obj=alias,
                id="storages.W003",
            )
        ]
    return []

"""SFTP's part of the system checks."""

from __future__ import annotations

from typing import Any

from django.core import checks


def system_checks(storage: Any, alias: str) -> list[checks.CheckMessage]:
    """A host-key policy that accepts unknown servers."""
    if str(storage.unknown_host).lower() in ("accept", "autoadd", "ignore"):
        return [
            checks.Warning(
                f"{alias}: {storage._setting_label('unknown_host')} accepts unknown host keys.",
                hint="Use 'reject' with a known_hosts file.",
                obj=alias,
                id="storages.W004",
            )
        ]
    return []

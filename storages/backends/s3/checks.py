"""S3's part of the system checks: does botocore find credentials by itself?"""

from __future__ import annotations

import os


def ambient_credentials() -> bool:
    """Whether botocore's own chain finds credentials without the network (no instance metadata)."""
    try:
        import botocore.session

        session = botocore.session.get_session()
        resolver = session.get_component("credential_provider")
        for name in ("iam-role", "container-role"):
            if resolver.get_provider(name) is not None:
                resolver.remove(name)
        if os.environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") or os.environ.get(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI"
        ):
            return True
        return resolver.load_credentials() is not None
    except Exception:
        return False

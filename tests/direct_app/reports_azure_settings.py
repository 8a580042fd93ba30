"""The docs' example project (docs/examples/direct) with Azure as ``STORAGES["default"]``.

The docs say any of the four storages works; only the storage changes here.
"""

import os

from project.settings import *  # noqa: F403

STORAGES = {
    **STORAGES,  # noqa: F405
    "default": {
        "BACKEND": "storages.backends.azure_storage.AzureStorage",
        "OPTIONS": {
            "connection_string": os.environ["REPORTS_AZURE_CONNECTION_STRING"],
            "azure_container": "acme-media",
        },
    },
}

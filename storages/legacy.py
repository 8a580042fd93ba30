"""Older settings of every backend, translated into today's options in one place.

Each backend's table is a tuple of :class:`~storages.conf.Legacy` rows; the
backend module lists it as its ``legacy_settings``. Each translation warns
(``DeprecationWarning``) and says what to write instead.
"""

from __future__ import annotations

from storages.conf import Legacy

__all__ = ["S3_LEGACY", "GCS_LEGACY", "AZURE_LEGACY", "SFTP_LEGACY", "FTP_LEGACY", "DROPBOX_LEGACY",
           "LIBCLOUD_LEGACY"]

# -- Amazon S3 -----------------------------------------------------------------------

S3_LEGACY: tuple[Legacy, ...] = ()

# -- Google Cloud Storage ------------------------------------------------------------

GCS_LEGACY: tuple[Legacy, ...] = (
    Legacy(("GS_AUTO_CREATE_BUCKET",), "auto_create_bucket", bool,
           "create the bucket once, outside Django (gcloud storage buckets create gs://NAME)"),
    Legacy(("GS_AUTO_CREATE_ACL",), "auto_create_acl", lambda v: v,
           "create the bucket with its ACL outside Django"),
    Legacy(("GS_CACHE_CONTROL",), "object_parameters", lambda v: {"cache_control": v} if v else {},
           "write GS_OBJECT_PARAMETERS = {'cache_control': '...'}", merge=True),
    Legacy(("GS_FILE_CHARSET",), "file_charset", lambda v: v, "remove GS_FILE_CHARSET: it has no effect"),
)

# -- Azure ---------------------------------------------------------------------------

def _azure_emulator(on: object) -> str | None:
    if not on:
        return None
    from storages.backends import azure_storage as azure  # looked up now: tests point it at their Azurite

    return (f"DefaultEndpointsProtocol=http;AccountName={azure.EMULATOR_ACCOUNT_NAME};"
            f"AccountKey={azure.EMULATOR_ACCOUNT_KEY};BlobEndpoint={azure.EMULATOR_BLOB_ENDPOINT};")


AZURE_LEGACY: tuple[Legacy, ...] = (
    Legacy(("AZURE_EMULATED_MODE",), "connection_string", _azure_emulator,
           "write AZURE_CONNECTION_STRING = 'UseDevelopmentStorage=true' (or Azurite's full connection string)"),
    Legacy(("AZURE_CUSTOM_CONNECTION_STRING",), "connection_string", lambda value: value or None,
           "write AZURE_CONNECTION_STRING instead"),
)

# -- SFTP ----------------------------------------------------------------------------

SFTP_LEGACY: tuple[Legacy, ...] = ()

# -- FTP -----------------------------------------------------------------------------

FTP_LEGACY: tuple[Legacy, ...] = ()

# -- Dropbox -------------------------------------------------------------------------

DROPBOX_LEGACY: tuple[Legacy, ...] = ()

# -- Apache Libcloud -----------------------------------------------------------------

LIBCLOUD_LEGACY: tuple[Legacy, ...] = ()

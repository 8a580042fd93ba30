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

GCS_LEGACY: tuple[Legacy, ...] = ()

# -- Azure ---------------------------------------------------------------------------

AZURE_LEGACY: tuple[Legacy, ...] = ()

# -- SFTP ----------------------------------------------------------------------------

SFTP_LEGACY: tuple[Legacy, ...] = ()

# -- FTP -----------------------------------------------------------------------------

FTP_LEGACY: tuple[Legacy, ...] = ()

# -- Dropbox -------------------------------------------------------------------------

DROPBOX_LEGACY: tuple[Legacy, ...] = ()

# -- Apache Libcloud -----------------------------------------------------------------

LIBCLOUD_LEGACY: tuple[Legacy, ...] = ()

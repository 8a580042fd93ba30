"""The names used before 1.14 (``S3Boto3Storage``...), kept for existing settings."""

from storages.backends.s3 import S3File, S3ManifestStaticStorage, S3StaticStorage, S3Storage

S3Boto3Storage = S3Storage
S3Boto3StorageFile = S3File

__all__ = ["S3Boto3Storage", "S3Boto3StorageFile", "S3StaticStorage", "S3ManifestStaticStorage"]

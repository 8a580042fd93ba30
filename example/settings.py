"""An example Django project that keeps media and static files in S3.

Point it at any S3-compatible service with environment variables; ``make demo``
starts a local S3 server and sets them for you.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "example-only"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "storages",  # before staticfiles: the package's fast collectstatic, checks and commands
    "django.contrib.staticfiles",
    "example.gallery",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DEMO_DB", BASE_DIR / "db.sqlite3"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"
MEDIA_URL = "/media/"

# Credentials and endpoint come from the environment (AWS_S3_ACCESS_KEY_ID, AWS_S3_SECRET_ACCESS_KEY
# are read by the storage itself); nothing secret lives in this file.
AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL")
AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME", "us-east-1")

STORAGES = {
    # Uploads: private objects, signed URLs, never overwrite an existing upload.
    "default": {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ.get("MEDIA_BUCKET", "example-media"),
            "location": "uploads",
            "file_overwrite": False,
            "object_parameters": {"CacheControl": "private, max-age=3600"},
        },
    },
    # Static files: public, hashed names, stable unsigned URLs.
    "staticfiles": {
        "BACKEND": "storages.backends.s3.S3ManifestStaticStorage",
        "OPTIONS": {
            "bucket_name": os.environ.get("STATIC_BUCKET", "example-static"),
            "default_acl": "public-read",
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    },
}

LOGGING = {
    "version": 1,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "storages": {
            "handlers": ["console"],
            "level": os.environ.get("STORAGES_LOG_LEVEL", "WARNING"),
        }
    },
}

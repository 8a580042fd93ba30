"""Django settings for the test suite (servers are configured by fixtures)."""

SECRET_KEY = "tests-only"
USE_TZ = True
TIME_ZONE = "America/Chicago"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "storages",
    "django.contrib.staticfiles",
    "storages.testing",
    "tests.testapp",
    "tests.direct_app",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STATIC_URL = "/static/"
MEDIA_URL = "/media/"
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"

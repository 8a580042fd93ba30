"""django-storages: Django storage backends for cloud and remote file services."""

__version__ = "2.0.0"

"""The HTTP fault proxy moved into the shipped test kit: :mod:`storages.testing.http_proxy`."""

from storages.testing.http_proxy import Fault, HTTPFaultProxy, Served

__all__ = ["HTTPFaultProxy", "Fault", "Served"]

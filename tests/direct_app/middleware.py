"""Records what every request Django served carried, to prove no file body went through Django."""

from __future__ import annotations

import threading

LOG: list[tuple[str, str, int]] = []
_lock = threading.Lock()


class RequestLog:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        with _lock:
            LOG.append((request.method, request.path, size))
        return self.get_response(request)

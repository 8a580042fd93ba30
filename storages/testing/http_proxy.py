"""A local HTTP proxy that forwards to a server and answers chosen requests with an error.

For fault tests a TCP proxy can't do: "the 2nd chunk PUT of a resumable upload gets a
503", "every listing request gets a 429 once". Requests are matched by method, a path
substring and an optional predicate; the Nth matching request (1-based), and the ``times - 1``
matching requests after it, get ``status`` without reaching the server. Everything else is
forwarded unchanged (HTTP/1.1, keep-alive), and a ``Location`` header that points at the
server is rewritten to point at the proxy, so a resumable-upload session URL keeps going
through it.

    with HTTPFaultProxy("127.0.0.1", server_port) as proxy:
        proxy.fail(method="PUT", path="/upload/", nth=2, status=503)
        client = make_client(endpoint=proxy.url)
        ...
        assert proxy.injected() == [("PUT", "/upload/...", 503)]

Two modes break what every reply says about its body, for the read-integrity tests
(:mod:`storages.testing.integrity`): ``ignore_range`` drops the ``Range`` header of requests
(the server answers ``200`` with the whole object, as some proxies and CDNs do), and
``truncate_after`` ends a reply's body after that many bytes by closing the connection, and
``corrupt_at`` flips one byte of every reply body (what a checksum is for).
``tls=(cert, key)`` serves HTTPS (for an HTTPS server, with ``target_tls`` true).
``connections`` counts the client connections accepted; ``served`` lists every request
(:class:`Served`: method, path, status, and the reply's ``Location``).

Only 127.0.0.1 is used; request bodies are read whole (fine for test-sized requests), reply
bodies are streamed.
"""

from __future__ import annotations

import http.client
import ssl
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["HTTPFaultProxy", "Fault", "Served"]

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
}


@dataclass
class Fault:
    """Answer the ``nth`` matching request (and ``times - 1`` after it) with ``status``."""

    status: int
    method: str | None = None
    path: str = ""
    match: Callable[[str, str, dict[str, str]], bool] | None = None
    nth: int = 1
    times: int = 1
    body: bytes = b'{"error": {"code": 503, "message": "injected by the test proxy"}}'
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    seen: int = 0

    def applies(self, method: str, path: str, headers: dict[str, str]) -> bool:
        """Count a matching request; True when this one gets the fault."""
        if self.method and method != self.method.upper():
            return False
        if self.path not in path or (
            self.match is not None and not self.match(method, path, headers)
        ):
            return False
        self.seen += 1
        return self.nth <= self.seen < self.nth + self.times


@dataclass(frozen=True)
class Served:
    method: str
    path: str
    status: int
    injected: bool
    #: The reply's ``Location`` (pointing at the proxy), e.g. a resumable upload's session URI.
    location: str | None = None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if not size:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def setup(self) -> None:
        super().setup()
        with self.server.proxy._lock:
            self.server.proxy.connections += 1

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        fault = proxy._fault_for(self.command, self.path, headers)
        if fault is not None:
            self._reply(fault.status, fault.headers, fault.body)
            proxy._record(Served(self.command, self.path, fault.status, True))
            return
        if proxy.ignore_range:
            headers = {k: v for k, v in headers.items() if k.lower() != "range"}
        if proxy.target_tls:
            context = ssl.create_default_context()
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # 127.0.0.1 only
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                *proxy.target, timeout=proxy.timeout, context=context
            )
        else:
            conn = http.client.HTTPConnection(*proxy.target, timeout=proxy.timeout)
        try:
            headers["Host"] = f"{proxy.target[0]}:{proxy.target[1]}"
            headers["Content-Length"] = str(len(body))
            conn.request(self.command, self.path, body=body, headers=headers)
            response = conn.getresponse()
            reply = {
                k: v
                for k, v in response.getheaders()
                if k.lower() not in _HOP_BY_HOP | {"content-length"}
            }
            if "Location" in reply:
                reply["Location"] = reply["Location"].replace(proxy.target_url, proxy.url)
            proxy._record(
                Served(self.command, self.path, response.status, False, reply.get("Location"))
            )
            if self.command == "HEAD":  # no body, but the length of the one a GET would get
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_BY_HOP:
                        self.send_header(key, value)
                self.end_headers()
                return
            if response.length is None:
                self._reply(response.status, reply, response.read(), reason=response.reason)
                return
            self._stream(response, reply, proxy.truncate_after, proxy.corrupt_at)
        finally:
            conn.close()

    def _stream(
        self, response: Any, headers: dict[str, str], cut: int | None, corrupt: int | None
    ) -> None:
        self.send_response(response.status, response.reason)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(response.length))
        self.end_headers()
        sent = 0
        while chunk := response.read(64 * 1024):
            if corrupt is not None and sent <= corrupt < sent + len(chunk):
                flipped = bytearray(chunk)
                flipped[corrupt - sent] ^= 0xFF
                chunk = bytes(flipped)
            if cut is not None and sent + len(chunk) > cut:
                self.wfile.write(chunk[: cut - sent])
                self.wfile.flush()
                self.close_connection = True  # the rest never comes
                return
            self.wfile.write(chunk)
            sent += len(chunk)

    def _reply(
        self, status: int, headers: dict[str, str], body: bytes, reason: str | None = None
    ) -> None:
        self.send_response(status, reason)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_POST = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle  # noqa: N815


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: HTTPFaultProxy
    context: ssl.SSLContext | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-reply (a cancelled read, a closed connection) is ordinary
        # here: only other errors are printed.
        if not isinstance(sys.exc_info()[1], (ConnectionError, ssl.SSLError)):
            super().handle_error(request, client_address)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is not None:  # the handshake in the request's thread, not in accept()
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


class HTTPFaultProxy:
    """Forward HTTP to ``target_host:target_port``, injecting the :class:`Fault` rules given to
    :meth:`fail`."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        timeout: float = 60.0,
        tls: tuple[str, str] | None = None,
        target_tls: bool = False,
    ) -> None:
        self.target = (target_host, target_port)
        self.timeout = timeout
        self.tls, self.target_tls = tls, target_tls
        #: Drop the Range header of every request (the server answers with the whole object).
        self.ignore_range = False
        #: Cut every reply body after this many bytes (closing the connection).
        self.truncate_after: int | None = None
        #: Flip the byte at this offset of every reply body (same length, wrong bytes).
        self.corrupt_at: int | None = None
        #: Client connections accepted so far.
        self.connections = 0
        self.faults: list[Fault] = []
        self.served: list[Served] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def target_url(self) -> str:
        return f"{'https' if self.target_tls else 'http'}://{self.target[0]}:{self.target[1]}"

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the proxy first"
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def set(self, **modes: Any) -> None:
        """Change ``ignore_range`` / ``truncate_after`` / ``corrupt_at`` while it runs."""
        for key, value in modes.items():
            if key not in ("ignore_range", "truncate_after", "corrupt_at"):
                raise TypeError(f"unknown mode {key!r}")
            setattr(self, key, value)

    def fail(self, status: int = 503, **rule: Any) -> Fault:
        """Add a fault rule (see :class:`Fault` for the keywords); returns it (its ``seen`` counts
        matches)."""
        fault = Fault(status=status, **rule)
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self.faults.clear()
            self.served.clear()

    def injected(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request answered by a fault rule."""
        with self._lock:
            return [(s.method, s.path, s.status) for s in self.served if s.injected]

    def _fault_for(self, method: str, path: str, headers: dict[str, str]) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.applies(method, path, headers):
                    return fault
        return None

    def _record(self, served: Served) -> None:
        with self._lock:
            self.served.append(served)

    def start(self) -> HTTPFaultProxy:
        server = _Server(("127.0.0.1", 0), _Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            server.context = context
        server.proxy = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, daemon=True, name="http-fault-proxy"
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> HTTPFaultProxy:
        return self.start() if self._server is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

"""A local TCP proxy that makes loopback behave like a network, or like a broken one.

Used by the benchmarks (WAN mode: latency and a per-connection bandwidth cap, so request
counts and connection concurrency cost time as they do on a real network) and by the
fault tests (cut a transfer after N bytes, accept connections and never answer).

    proxy = TCPProxy("127.0.0.1", server_port, latency=0.020, bandwidth=20e6).start()
    endpoint = f"http://127.0.0.1:{proxy.port}"
    ...
    proxy.stop()

``latency`` is one way (seconds), so a round trip costs ``2 * latency``. ``bandwidth`` is
bytes per second per connection and direction. ``cut_after`` closes a connection once that
many bytes went through it in ``cut_direction`` ("up": client to server, "down", "any");
``cut_once`` limits it to the first connection that reaches the count; ``cut_reset`` makes the
cut a reset (RST to both ends, as a dropped NAT entry or a rejecting firewall does) instead of a
close. ``stall_after`` stops forwarding client-to-server bytes once that many went through a
connection (the connection stays open: the client's sends block, as behind a dead link), until
the setting is lifted; ``stats.stalls`` counts the connections it held. ``mode="blackhole"``
accepts connections and never answers nor forwards. Settings may be changed while it runs
with :meth:`set`. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TCPProxy", "ProxyStats"]

_CHUNK = 64 * 1024
#: Bytes one direction holds in flight before it stops reading: back-pressure, so a sender
#: behind a bandwidth cap is slowed down as on a real network instead of filling memory.
_WINDOW = 256 * 1024


@dataclass
class ProxyStats:
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0
    cuts: int = 0
    stalls: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


class _Pipe:
    """One direction of one connection: read, then deliver after ``latency`` at ``bandwidth``."""

    def __init__(
        self, proxy: TCPProxy, conn: _Conn, src: socket.socket, dst: socket.socket, up: bool
    ) -> None:
        self.proxy, self.conn, self.src, self.dst, self.up = proxy, conn, src, dst, up
        self.queue: list[tuple[float, int, bytes | None]] = []
        self.cond = threading.Condition()
        self.seq = itertools.count()
        self.queued = 0

    def start(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _push(self, data: bytes | None) -> None:
        with self.cond:
            while data is not None and self.queued >= self._window() and not self.conn.closed:
                self.cond.wait(0.5)
            heapq.heappush(
                self.queue, (time.monotonic() + self.proxy.latency, next(self.seq), data)
            )
            self.queued += len(data or b"")
            self.cond.notify_all()

    def _window(self) -> float:
        # Four times the bandwidth-delay product, as a TCP window would allow.
        proxy = self.proxy
        return max(_WINDOW, 4 * (proxy.bandwidth or 100e6) * max(proxy.latency, 0.005))

    def _read(self) -> None:
        try:
            while True:
                data = self.src.recv(_CHUNK)
                if not data:
                    break
                self._push(data)
        except OSError:
            pass
        self._push(None)

    def _write(self) -> None:
        try:
            while True:
                with self.cond:
                    while not self.queue:
                        self.cond.wait()
                    due, _, data = self.queue[0]
                    wait = due - time.monotonic()
                    if wait > 0:
                        self.cond.wait(wait)
                        continue
                    heapq.heappop(self.queue)
                    self.queued -= len(data or b"")
                    self.cond.notify_all()
                if data is None:
                    try:
                        self.dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                self._send(data)
        except OSError:
            self.conn.close()

    def _stall(self) -> None:
        """Hold this direction while ``stall_after`` says so (the reader stops once the window is
        full, so the client's sends block)."""
        proxy, conn = self.proxy, self.conn
        if not conn.stalled:
            conn.stalled = True
            with proxy.stats.lock:
                proxy.stats.stalls += 1
        while (
            not conn.closed
            and proxy.stall_after is not None
            and conn.sent[True] >= proxy.stall_after
        ):
            time.sleep(0.05)
        if conn.closed:
            raise OSError("closed while stalled")

    def _send(self, data: bytes) -> None:
        proxy = self.proxy
        view = memoryview(data)
        while view:
            step = len(view)
            if proxy.bandwidth:
                step = min(step, max(1024, int(proxy.bandwidth / 50)))
            if self.up and proxy.stall_after is not None:
                room = proxy.stall_after - self.conn.sent[True]
                if room <= 0:
                    self._stall()
                    continue
                step = min(step, room)
            allowed = self.conn.allow(self.up, step)
            if allowed <= 0:
                self.conn.cut()
                raise OSError("cut by the proxy")
            start = time.monotonic()
            self.dst.sendall(view[:allowed])
            with proxy.stats.lock:
                if self.up:
                    proxy.stats.bytes_up += allowed
                else:
                    proxy.stats.bytes_down += allowed
            view = view[allowed:]
            if proxy.bandwidth:
                spare = allowed / proxy.bandwidth - (time.monotonic() - start)
                if spare > 0:
                    time.sleep(spare)


class _Conn:
    def __init__(self, proxy: TCPProxy, client: socket.socket) -> None:
        self.proxy = proxy
        self.client = client
        self.server: socket.socket | None = None
        self.sent = {True: 0, False: 0}
        self.lock = threading.Lock()
        self.closed = False
        self.stalled = False

    def allow(self, up: bool, count: int) -> int:
        """How many of ``count`` bytes may pass before the cut (0: cut now)."""
        proxy = self.proxy
        with self.lock:
            limit = proxy.cut_after
            if limit is None or (proxy.cut_once and proxy.stats.cuts):
                self.sent[up] += count
                return count
            if proxy.cut_direction == "any":
                done = self.sent[True] + self.sent[False]
            elif (proxy.cut_direction == "up") != up:
                self.sent[up] += count
                return count
            else:
                done = self.sent[up]
            n = max(0, min(count, limit - done))
            self.sent[up] += n
            return n

    def cut(self) -> None:
        with self.proxy.stats.lock:
            self.proxy.stats.cuts += 1
        if self.proxy.cut_reset:
            # A plain close sends FIN, and RST only if unread data is left when the socket is
            # released. While the reader thread is inside recv() that happens after it drained
            # the buffer, and after SHUT_RD Linux sends no window update: a client blocked on a
            # full window then sees nothing until its own timeout (a stall, not a cut).
            for sock in (self.client, self.server):
                if sock is not None:
                    try:
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                    except OSError:
                        pass
        self.close()

    def close(self) -> None:
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for sock in (self.client, self.server):
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()


class TCPProxy:
    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        latency: float = 0.0,
        bandwidth: float | None = None,
        cut_after: int | None = None,
        cut_direction: str = "any",
        cut_once: bool = False,
        cut_reset: bool = False,
        stall_after: int | None = None,
        mode: str = "forward",
    ) -> None:
        self.target = (target_host, target_port)
        self.latency = latency
        self.bandwidth = bandwidth
        self.cut_after = cut_after
        self.cut_direction = cut_direction
        self.cut_once = cut_once
        self.cut_reset = cut_reset
        self.stall_after = stall_after
        self.mode = mode
        self.stats = ProxyStats()
        self.port = 0
        self._listener: socket.socket | None = None
        self._conns: list[_Conn] = []
        self._held: list[socket.socket] = []

    def set(self, **changes: Any) -> TCPProxy:
        for key, value in changes.items():
            if not hasattr(self, key) or key in ("target", "stats", "port"):
                raise AttributeError(f"TCPProxy has no setting {key!r}")
            setattr(self, key, value)
        return self

    def start(self) -> TCPProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self._listener = listener
        self.port = listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True, name="tcp-proxy").start()
        return self

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            with self.stats.lock:
                self.stats.connections += 1
            if self.mode == "blackhole":
                self._held.append(client)  # accepted, never read nor answered
                continue
            conn = _Conn(self, client)
            self._conns.append(conn)
            threading.Thread(target=self._connect, args=(conn,), daemon=True).start()

    def _connect(self, conn: _Conn) -> None:
        try:
            server = socket.create_connection(self.target, timeout=10)
            server.settimeout(None)
        except OSError:
            conn.close()
            return
        conn.server = server
        for sock in (conn.client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        _Pipe(self, conn, conn.client, server, up=True).start()
        _Pipe(self, conn, server, conn.client, up=False).start()

    def close_connections(self) -> None:
        """Drop every open connection (clients see a reset or EOF)."""
        for conn in self._conns:
            conn.close()
        self._conns = []
        for sock in self._held:
            sock.close()
        self._held = []

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        self.close_connections()

    def __enter__(self) -> TCPProxy:
        return self.start() if self._listener is None else self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

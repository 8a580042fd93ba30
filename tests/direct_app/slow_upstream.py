"""A TCP forwarder that reads from the client slowly (real back-pressure).

tests/servers/proxy.py queues what it reads and delays delivery, so a browser's
upload progress races ahead of the server; here the client can only send as
fast as the forwarder reads, like on a slow uplink, so a progress bar shows
real progress.
"""

from __future__ import annotations

import socket
import threading
import time


class SlowUpstream:
    def __init__(self, port: int, rate: float, chunk: int = 16 * 1024) -> None:
        self.target, self.rate, self.chunk = port, rate, chunk
        self.listener = socket.socket()
        # Small buffers, inherited by accepted sockets: little can queue up unseen.
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.bytes_up = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, False), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket, slow: bool) -> None:
        try:
            while data := src.recv(self.chunk):
                dst.sendall(data)
                if slow:
                    self.bytes_up += len(data)
                    time.sleep(len(data) / self.rate)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        self.closed = True
        self.listener.close()

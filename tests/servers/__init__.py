"""Start and stop the real servers the backend tests talk to (127.0.0.1, free ports)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TOOLS_DIR = Path(os.environ.get("STORAGES_SERVERS_TOOLS", Path(__file__).resolve().parents[2] / ".servers"))


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} after {timeout}s")


class ServerProcess:
    """A server started as a child process, stopped (and reaped) by ``stop()``."""

    def __init__(self, argv: Sequence[str], port: int, *, env: dict[str, str] | None = None,
                 log: Path | None = None, timeout: float = 30.0) -> None:
        self.port = port
        self.log = log
        out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                     env={**os.environ, **(env or {})}, start_new_session=True)
        try:
            wait_for_port(port, timeout, self.proc)
        except Exception:
            self.stop()
            raise

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def python() -> str:
    return sys.executable


def which(name: str) -> str | None:
    return shutil.which(name)

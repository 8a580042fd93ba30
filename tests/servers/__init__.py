"""Start and stop the real servers the backend tests talk to (127.0.0.1, free ports)."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

TOOLS_DIR = Path(
    os.environ.get("STORAGES_SERVERS_TOOLS", Path(__file__).resolve().parents[2] / ".servers")
)


_PORTS_LOW, _PORTS_HIGH = 12000, 32000  # below Linux's ephemeral range (32768-60999)
_handed_out: set[int] = set()


def _worker_slice() -> range:
    """This pytest-xdist worker's own share of the port range (the whole range outside xdist)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    index = int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0
    size = (_PORTS_HIGH - _PORTS_LOW) // max(count, 1)
    start = _PORTS_LOW + (index % max(count, 1)) * size
    return range(start, start + size)


def free_port() -> int:
    """A TCP port that nothing listens on right now, for a server this process is about to start.

    Taken from below the ephemeral range, so the client sockets of a busy test run (which get
    ephemeral local ports) cannot take it between this call and the server's bind; each xdist
    worker has its own slice, and a number is never handed out twice in one process.
    """
    ports = _worker_slice()
    for _ in range(200):
        port = random.choice(ports)
        if port in _handed_out:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port in {ports.start}-{ports.stop - 1}")


def wait_for_port(port: int, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"server exited with {proc.returncode} before listening on {port}{_log_tail(proc)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                if proc is None or _listener_is_ours(port, proc.pid):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(
        f"nothing of ours listened on 127.0.0.1:{port} after {timeout}s{_log_tail(proc)}"
    )


def _listener_is_ours(port: int, session: int) -> bool:
    """Whether the socket listening on ``port`` belongs to a process of ``session`` (the server
    and its children: ServerProcess starts each server in a new session). Another test run on
    this machine may have started a server on the same port in the same instant; the tests
    must never talk to that one. True where /proc can't tell (not Linux)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            return True
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # 0A: LISTEN
                inodes.add(f"socket:[{fields[9]}]")
    for proc_dir in Path("/proc").glob("[0-9]*"):
        try:
            if int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[3]) != session:
                continue
            if any(os.readlink(fd) in inodes for fd in (proc_dir / "fd").iterdir()):
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def _log_tail(proc: subprocess.Popen | None) -> str:
    log = getattr(proc, "log_path", None)
    if not log:
        return ""
    try:
        lines = Path(log).read_text(errors="replace").splitlines()[-15:]
    except OSError:
        return ""
    return "; its log ends:\n" + "\n".join(lines) if lines else "; its log is empty"


class ServerProcess:
    """A server started as a child process, stopped (and reaped) by ``stop()``."""

    def __init__(
        self,
        argv: Sequence[str],
        port: int,
        *,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.port = port
        self.log = log
        out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
        self.proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
        self.proc.log_path = log  # type: ignore[attr-defined]  # named in a start-up failure
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


def make_self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (its own CA): (cert.pem, key.pem).

    Shared by every TLS test server (Azurite's OAuth mode, FTPS, the Dropbox stand-in).
    """
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def python() -> str:
    """The interpreter that server processes run on: STORAGES_SERVERS_PYTHON, else this one.

    ``make test-matrix`` points it at its Python 3.13 venv's, so both Python/Django pairs meet the
    same servers (moto 5.2 needs Python 3.10+; the servers stand in for the providers and are
    not what the matrix tests)."""
    return os.environ.get("STORAGES_SERVERS_PYTHON") or sys.executable


def which(name: str) -> str | None:
    return shutil.which(name)

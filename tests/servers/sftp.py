"""OpenSSH's sshd serving SFTP only (``internal-sftp``) on 127.0.0.1, with generated keys.

The server runs from a private directory: its own ed25519 host key, an
``authorized_keys`` file with a generated client key, and a ``known_hosts``
file that names the host key (``[127.0.0.1]:PORT ssh-ed25519 ...``).
"""

from __future__ import annotations

import getpass
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.servers import ServerProcess, free_port, wait_for_port

SSHD = "/usr/sbin/sshd"


def make_ed25519_key(path: Path, passphrase: bytes | None = None) -> str:
    """Write an OpenSSH private key to ``path``; return its public line (``ssh-ed25519
    AAAA...``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    encryption = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, encryption
        )
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    return public.decode()


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@dataclass
class SFTPServer:
    """A running sshd; ``restart()`` kills it (and every session) and starts it again on the same
    port."""

    root: Path
    port: int
    user: str
    host_public: str
    client_key: Path
    known_hosts: Path
    process: ServerProcess | None = None
    extra_keys: dict[str, Path] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "sshd_config"

    def params(self, **extra) -> dict:
        """SFTP_STORAGE_PARAMS for this server (key auth only, no agent, no ~/.ssh keys)."""
        return {
            "port": self.port,
            "username": self.user,
            "key_filename": str(self.client_key),
            "allow_agent": False,
            "look_for_keys": False,
            "timeout": 10,
            **extra,
        }

    def start(self) -> None:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
        self.process = ServerProcess(
            [SSHD, "-D", "-e", "-f", str(self.config)], self.port, log=self.root / "sshd.log"
        )

    def kill_all(self) -> None:
        """Stop the listener and drop every open session (the children live in its process
        group)."""
        if self.process is None:
            return
        proc = self.process.proc
        # Each session runs in its own process session (sshd calls setsid), so walk the tree.
        for pid in [proc.pid, *_descendants(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(10)
        self.process = None

    def restart(self) -> None:
        self.kill_all()
        deadline = time.monotonic() + 10
        while True:
            try:
                self.start()
                return
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> None:
        self.kill_all()


def start_sftp(root: Path | None = None) -> SFTPServer:
    """Start sshd (as the current user, who must be allowed to run it: root here)."""
    root = Path(root or tempfile.mkdtemp(prefix="sftp-server-")).resolve()
    root.mkdir(parents=True, exist_ok=True)
    port = free_port()
    host_key = root / "ssh_host_ed25519_key"
    host_public = make_ed25519_key(host_key)
    client_key = root / "client_ed25519"
    client_public = make_ed25519_key(client_key)
    (root / "authorized_keys").write_text(client_public + "\n")
    known_hosts = root / "known_hosts"
    known_hosts.write_text(f"[127.0.0.1]:{port} {host_public}\n")
    user = getpass.getuser()
    (root / "sshd_config").write_text(
        "\n".join(
            [
                f"Port {port}",
                "ListenAddress 127.0.0.1",
                f"HostKey {host_key}",
                f"PidFile {root / 'sshd.pid'}",
                f"AuthorizedKeysFile {root / 'authorized_keys'}",
                "UsePAM no",
                "StrictModes no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PubkeyAuthentication yes",
                "PermitRootLogin prohibit-password",
                f"AllowUsers {user}",
                "Subsystem sftp internal-sftp",
                "ForceCommand internal-sftp",
                # Many threads each open a connection at once: don't drop unauthenticated ones
                # early.
                "MaxStartups 200:30:400",
                "MaxSessions 50",
                "LogLevel ERROR",
                "",
            ]
        )
    )
    server = SFTPServer(
        root=root,
        port=port,
        user=user,
        host_public=host_public,
        client_key=client_key,
        known_hosts=known_hosts,
    )
    server.start()
    wait_for_port(port)
    return server

"""FTP servers for the tests: pyftpdlib (plain, TLS, or without MLSD) and vsftpd, on 127.0.0.1.

Also a small HTTP server over a directory, the way a web server publishes the
files an FTP/SFTP storage uploads (so ``url()`` can be fetched in tests), and
a self-signed certificate for 127.0.0.1.

Run as ``python -m tests.servers.ftp --port N --root DIR [--tls CERT] [--no-mlsd]``
to start pyftpdlib in the foreground (the fixtures do this in a subprocess).
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.servers import ServerProcess, free_port, make_self_signed_cert, python

USER = "storages"
# Characters that must be percent-encoded in FTP_STORAGE_LOCATION; the tests check it never leaks.
PASSWORD = "s3cret p@ss:w/rd%42"
#: A second user (same password) who may do everything but delete files.
KEEPER = "keeper"
VSFTPD = "/usr/sbin/vsftpd"
REPO = Path(__file__).resolve().parents[2]


def make_certificate(folder: Path) -> Path:
    """A self-signed certificate and its key in one PEM file (what pyftpdlib and vsftpd take)."""
    cert, key = make_self_signed_cert(folder)
    combined = folder / "cert-and-key.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    return combined


# -- HTTP over a directory ---------------------------------------------------------
class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002
        pass


@dataclass
class HTTPDirectory:
    """Serves ``root`` at ``http://127.0.0.1:PORT/`` from a thread of this process."""

    root: Path
    server: ThreadingHTTPServer

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def url_for(self, relative: str) -> str:
        return self.url + quote(relative.strip("/")) + "/"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_directory(root: Path) -> HTTPDirectory:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return HTTPDirectory(root, server)


# -- pyftpdlib ------------------------------------------------------------------------
@dataclass
class FTPServer:
    """A running FTP server; ``location(path)`` is an FTP_STORAGE_LOCATION for it."""

    root: Path
    port: int
    scheme: str
    user: str
    password: str
    process: ServerProcess | None
    cert: Path | None = None
    argv: list[str] | None = None
    #: The directory under ``root`` that the FTP user may write (vsftpd: ``pub``).
    writable: str = ""

    def location(self, path: str = "", scheme: str | None = None) -> str:
        auth = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        where = "/".join(p for p in (self.writable, path.strip("/")) if p)
        return f"{scheme or self.scheme}://{auth}@127.0.0.1:{self.port}/{quote(where)}"

    def restart(self) -> None:
        self.stop()
        assert self.argv is not None
        self.process = ServerProcess(
            self.argv,
            self.port,
            env={"PYTHONPATH": str(REPO)},
            log=self.root.parent / f"ftp-{self.port}.log",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


def start_pyftpdlib(
    root: Path | None = None,
    *,
    tls: bool = False,
    mlsd: bool = True,
    idle_timeout: int = 300,
    max_connections: int = 0,
    passive_port: int | None = None,
    read_limit: int = 0,
) -> FTPServer:
    """pyftpdlib in a subprocess: plain FTP, explicit FTPS (``tls``), or a dialect without
    MLSD/MLST. ``read_limit``: bytes per second it takes in on each upload's data connection
    (plain FTP; 0: no limit).

    ``passive_port``: every data connection uses that one port (so a test can put a proxy in front
    of it)."""
    base = Path(root or tempfile.mkdtemp(prefix="ftp-server-")).resolve()
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    argv = [
        python(),
        "-m",
        "tests.servers.ftp",
        "--port",
        str(port),
        "--root",
        str(data),
        "--idle-timeout",
        str(idle_timeout),
        "--max-connections",
        str(max_connections),
    ]
    cert = None
    if tls:
        cert = make_certificate(base)
        argv += ["--tls", str(cert)]
    if not mlsd:
        argv.append("--no-mlsd")
    if passive_port:
        argv += ["--passive-port", str(passive_port)]
    if read_limit:
        argv += ["--read-limit", str(read_limit)]
    server = FTPServer(
        root=data,
        port=port,
        scheme="ftps" if tls else "ftp",
        user=USER,
        password=PASSWORD,
        process=None,
        cert=cert,
        argv=argv,
    )
    server.restart()
    return server


def _run_pyftpdlib(
    port: int,
    root: str,
    cert: str | None,
    mlsd: bool,
    idle_timeout: int,
    max_connections: int,
    passive_port: int | None = None,
    read_limit: int = 0,
) -> None:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer as Server

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, root, perm="elradfmwMT")
    authorizer.add_user(KEEPER, PASSWORD, root, perm="elrafmwMT")
    if cert:
        from pyftpdlib.handlers import TLS_DTPHandler, TLS_FTPHandler

        class DTPHandler(TLS_DTPHandler):
            """pyftpdlib closes an empty transfer before its TLS handshake ends; wait for the
            handshake."""

            _close_after_handshake = False
            _handshaking = False

            def close(self) -> None:
                if (
                    self._ssl_accepting
                    and not self._handshaking
                    and not self._error
                    and self.connected
                ):
                    self._close_after_handshake = True
                    return
                super().close()

            def _do_ssl_handshake(self) -> None:
                self._handshaking = True  # a close() from a failed handshake really closes
                try:
                    super()._do_ssl_handshake()
                finally:
                    self._handshaking = False

            def handle_ssl_established(self) -> None:
                super().handle_ssl_established()
                if self._close_after_handshake:
                    self._close_after_handshake = False
                    self.close()

        class Handler(TLS_FTPHandler):
            certfile = cert
            tls_control_required = True
            tls_data_required = True
            dtp_handler = DTPHandler

    else:

        class Handler(FTPHandler):  # type: ignore[no-redef]
            pass

        if read_limit:
            from pyftpdlib.handlers import ThrottledDTPHandler

            class SlowDTPHandler(ThrottledDTPHandler):
                pass

            SlowDTPHandler.read_limit = read_limit
            Handler.dtp_handler = SlowDTPHandler

    original_cwd = Handler.ftp_CWD

    def ftp_cwd(self: Any, path: str) -> None:
        # pyftpdlib checks a path by moving the whole process's working directory into it and
        # reads that back after its reply; a folder a test removes on disk in between made the
        # read-back raise and left the server in a deleted directory, failing every later CWD
        # of every client. The reply is already sent then: just come back to the root.
        try:
            original_cwd(self, path)
        except FileNotFoundError:
            pass
        finally:
            os.chdir(root)

    os.chdir(root)
    Handler.ftp_CWD = ftp_cwd
    Handler.authorizer = authorizer
    Handler.timeout = idle_timeout
    Handler.banner = "storages test server"
    if passive_port:
        Handler.passive_ports = [passive_port]
    if not mlsd:
        # A server of the older dialect: LIST, SIZE and MDTM only.
        Handler.proto_cmds = {
            k: v for k, v in Handler.proto_cmds.items() if k not in ("MLSD", "MLST")
        }
    server = Server(("127.0.0.1", port), Handler)
    server.max_cons_per_ip = max_connections  # 0: unlimited
    server.serve_forever()


# -- vsftpd ----------------------------------------------------------------------------
def start_vsftpd(root: Path | None = None, *, cert: Path | None = None) -> FTPServer:
    """vsftpd with anonymous uploads under ``pub/`` (vsftpd refuses a writable chroot root)."""
    base = Path(root or tempfile.mkdtemp(prefix="vsftpd-")).resolve()
    data = base / "data"
    (data / "pub").mkdir(parents=True, exist_ok=True)
    empty = base / "empty"
    empty.mkdir(exist_ok=True)
    for folder in (base, data, empty):
        folder.chmod(0o755)
    shutil.chown(data / "pub", "ftp", "ftp")
    port = free_port()
    lines = [
        "listen=YES",
        "listen_ipv6=NO",
        "listen_address=127.0.0.1",
        f"listen_port={port}",
        "background=NO",
        "anonymous_enable=YES",
        "local_enable=NO",
        "no_anon_password=YES",
        f"anon_root={data}",
        "write_enable=YES",
        "anon_upload_enable=YES",
        "anon_mkdir_write_enable=YES",
        "anon_other_write_enable=YES",
        "anon_world_readable_only=NO",
        "anon_umask=022",
        "seccomp_sandbox=NO",
        f"secure_chroot_dir={empty}",
        "pasv_enable=YES",
        "connect_from_port_20=NO",
        "dirmessage_enable=NO",
        "xferlog_enable=NO",
        "max_clients=0",
        "max_per_ip=0",
        "idle_session_timeout=300",
        "data_connection_timeout=60",
    ]
    if cert:
        lines += [
            "ssl_enable=YES",
            f"rsa_cert_file={cert}",
            f"rsa_private_key_file={cert}",
            "allow_anon_ssl=YES",
            "force_anon_logins_ssl=NO",
            "force_anon_data_ssl=NO",
            "require_ssl_reuse=YES",
            "ssl_ciphers=HIGH",
        ]
    config = base / "vsftpd.conf"
    config.write_text("\n".join(lines) + "\n")
    process = ServerProcess([VSFTPD, str(config)], port, log=base / "vsftpd.log")
    return FTPServer(
        root=data,
        port=port,
        scheme="ftp",
        user="anonymous",
        password="guest@example.com",
        process=process,
        cert=cert,
        writable="pub",
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--tls")
    parser.add_argument("--no-mlsd", action="store_true")
    parser.add_argument("--idle-timeout", type=int, default=300)
    parser.add_argument("--max-connections", type=int, default=0)
    parser.add_argument("--passive-port", type=int)
    parser.add_argument("--read-limit", type=int, default=0)
    args = parser.parse_args()
    os.chdir(args.root)
    _run_pyftpdlib(
        args.port,
        args.root,
        args.tls,
        not args.no_mlsd,
        args.idle_timeout,
        args.max_connections,
        args.passive_port,
        args.read_limit,
    )


if __name__ == "__main__":
    main()


__all__ = [
    "FTPServer",
    "HTTPDirectory",
    "make_certificate",
    "serve_directory",
    "start_pyftpdlib",
    "start_vsftpd",
    "free_port",
]

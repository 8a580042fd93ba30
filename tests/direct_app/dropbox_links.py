"""The Dropbox stand-in plus temporary *upload* links, for the direct-upload tests.

tests/servers/dropbox_api.py (owned by the backend's tests) has no
``files/get_temporary_upload_link``; this module adds it without changing that file: the route,
following the documented API (``commit_info`` + ``duration`` -> ``{"link"}``), and the link itself
on the stand-in's plain-HTTP link port: ``POST /apitul/1/<token>`` with an
``application/octet-stream`` body commits the file with the link's write mode (a link works once,
then 410) (409 ``path/conflict`` for ``add`` on an existing file) and answers CORS like Dropbox's
content host (any origin). Run like the stand-in: ``python -m tests.direct_app.dropbox_links ...``.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.servers import ServerProcess, dropbox_api, free_port, make_self_signed_cert, python

UPLOAD_LINKS: dict[str, tuple[dict[str, Any], float]] = {}
USED: set[str] = set()


def get_temporary_upload_link(self: Any) -> None:
    arg = self._rpc_arg()
    commit = arg.get("commit_info") or {}
    self.store.check_path(commit.get("path", ""), "path")
    duration = float(arg.get("duration", 14400))
    if not 60 <= duration <= 14400:
        raise dropbox_api.RouteError(400, None, "duration: out of range")
    token = secrets.token_urlsafe(16)
    UPLOAD_LINKS[token] = (commit, time.time() + duration)
    self._json(200, {"link": f"http://127.0.0.1:{self.config.link_port}/apitul/1/{token}"})


class UploadLinks(dropbox_api.LinkHandler):
    def _cors(self) -> dict[str, str]:
        return {
            "Access-Control-Allow-Origin": self.headers.get("Origin") or "*",
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }

    def do_OPTIONS(self) -> None:  # noqa: N802 - stdlib naming
        self._send(200, b"", "text/plain", self._cors())

    def do_POST(self) -> None:  # noqa: N802
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        token = parts[-1] if parts[:2] == ["apitul", "1"] and len(parts) == 3 else ""
        found = UPLOAD_LINKS.get(token)
        self._consumed = False
        if found is None or found[1] < time.time():
            self._drain()
            self._send(
                404 if token not in USED else 410,
                b"link not found, used or expired",
                "text/plain",
                self._cors(),
            )
            return
        commit = found[0]
        del UPLOAD_LINKS[token]
        USED.add(token)
        try:
            blob = self._receive(None, "upload")
            entry = self.store.commit(
                commit.get("path", ""),
                blob,
                commit.get("mode", "add"),
                commit.get("autorename", False),
                commit.get("strict_conflict", False),
                None,
                "path",
            )
        except dropbox_api.RouteError as exc:
            self._drain()
            self._send(
                exc.status,
                json.dumps({"error_summary": exc.summary, "error": exc.error}).encode(),
                "application/json",
                self._cors(),
            )
            return
        self._send(
            200,
            json.dumps({"content-hash": entry.content_hash}).encode(),
            "application/json",
            self._cors(),
        )


def start(workdir: Path | None = None) -> dropbox_api.DropboxStandIn:
    """The stand-in with upload links, as a child process on free ports."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="dropbox-links-"))
    cert, key = make_self_signed_cert(workdir / "tls")
    port, link_port = free_port(), free_port()
    argv = [
        python(),
        "-m",
        "tests.direct_app.dropbox_links",
        "--port",
        str(port),
        "--link-port",
        str(link_port),
        "--data",
        str(workdir / "data"),
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--token",
        dropbox_api.TOKEN,
    ]
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = ServerProcess(argv, port, env=env, log=workdir / "server.log")
    return dropbox_api.DropboxStandIn(f"127.0.0.1:{port}", link_port, cert, proc, workdir, True)


if __name__ == "__main__":
    dropbox_api.ROUTES["/2/files/get_temporary_upload_link"] = get_temporary_upload_link
    dropbox_api.LinkHandler = UploadLinks  # serve() builds the link port's handler from this name
    dropbox_api.main(sys.argv[1:])

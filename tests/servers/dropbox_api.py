"""A small HTTPS stand-in for the Dropbox API v2 endpoints DropboxStorage uses.

No Dropbox server can run locally, so the tests talk to this one through the
official SDK. It follows the documented wire format (RPC, upload and download
styles; the argument in ``Dropbox-API-Arg``, the result in
``Dropbox-API-Result``; 409 route errors, 401 auth errors, 400 bad input) and
the JSON shapes the SDK validates. It keeps file bodies on disk, so 100 MB
uploads don't live in memory, and runs as a separate process (so the tests'
memory probes see only the client).

Routes: ``files/get_metadata``, ``files/list_folder`` (+ ``/continue``, pages
of ``--page-size`` entries, ``recursive``), ``files/delete_v2``,
``files/delete_batch`` (+ ``/check``: the batch runs as a job), ``files/get_temporary_link``,
``files/upload``, ``files/upload_session/start|append_v2|finish``,
``files/download`` (with ``Range``), ``oauth2/token`` (refresh tokens).
Paths are case-insensitive and case-preserving; parents are created as
folders; ``add`` mode without autorename reports ``path/conflict/file`` (under
one lock, so concurrent creates are atomic), and a file in an ancestor's place
reports ``conflict/file_ancestor``. Temporary links are served over plain HTTP
on a second port.

Test-only controls (not Dropbox API): ``POST /_standin/expire_tokens`` expires
issued access tokens; ``GET /_standin/stats`` returns request counts per route;
``POST /_standin/reset_stats`` clears them.

Run: ``python -m tests.servers.dropbox_api --port P --link-port L --data DIR
--cert CERT --key KEY --token T --app-key K --app-secret S --refresh-token R``.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import socket
import ssl
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from tests.servers import ServerProcess, free_port, make_self_signed_cert, python

TOKEN = "standin-access-token-0123456789abcdef"
APP_KEY = "standin-app-key"
APP_SECRET = "standin-app-secret-fedcba9876543210"
REFRESH_TOKEN = "standin-refresh-token-5566778899"

BLOCK = 4 * 1024 * 1024  # Dropbox content_hash block size
IO_CHUNK = 1024 * 1024


class ContentHasher:
    """Dropbox's content_hash: SHA-256 over the SHA-256 of each 4 MiB block."""

    def __init__(self) -> None:
        self._outer = hashlib.sha256()
        self._block = hashlib.sha256()
        self._in_block = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), BLOCK - self._in_block)
            self._block.update(view[:take])
            self._in_block += take
            view = view[take:]
            if self._in_block == BLOCK:
                self._outer.update(self._block.digest())
                self._block = hashlib.sha256()
                self._in_block = 0

    def hexdigest(self) -> str:
        outer = self._outer.copy()
        if self._in_block:
            outer.update(self._block.digest())
        return outer.hexdigest()


def file_content_hash(path: Path) -> str:
    hasher = ContentHasher()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(IO_CHUNK), b""):
            hasher.update(chunk)
    return hasher.hexdigest()


def _stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Entry:
    kind: str  # "file" or "folder"
    path_display: str
    id: str
    rev: str = ""
    size: int = 0
    server_modified: str = ""
    client_modified: str = ""
    content_hash: str = ""
    blob: Path | None = None
    children: set[str] = field(default_factory=set)  # path_lower of children (folders)

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]

    def metadata(self, tagged: bool = True) -> dict[str, Any]:
        md: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "path_lower": self.path_display.lower(),
            "path_display": self.path_display,
        }
        if self.kind == "file":
            md.update(
                client_modified=self.client_modified,
                server_modified=self.server_modified,
                rev=self.rev,
                size=self.size,
                is_downloadable=True,
                content_hash=self.content_hash,
            )
        if tagged:
            md = {".tag": self.kind, **md}
        return md


class RouteError(Exception):
    """A documented API error: HTTP status + JSON (or text) body."""

    def __init__(self, status: int, error: Any, summary: str = "") -> None:
        super().__init__(summary)
        self.status = status
        self.error = error
        self.summary = summary


def _lookup(tag: str) -> dict[str, Any]:
    return {".tag": tag}


def _path_error(outer: str, inner: dict[str, Any]) -> RouteError:
    summary = f"{outer}/{inner['.tag']}/" + (
        f"{inner[inner['.tag']]['.tag']}/" if inner[".tag"] == "conflict" else ""
    )
    return RouteError(409, {".tag": outer, outer: inner}, summary + ".")


def _write_error(outer: str, inner: dict[str, Any]) -> RouteError:
    """A WriteError/LookupError under ``outer``; files/upload wraps it in UploadWriteFailed."""
    if outer == "upload":
        error = {".tag": "path", "reason": inner, "upload_session_id": uuid.uuid4().hex}
        return RouteError(409, error, _path_error("path", inner).summary)
    return _path_error(outer, inner)


class Store:
    """The account's files: metadata in memory, bodies on disk, one lock for changes."""

    def __init__(self, data_dir: Path, page_size: int) -> None:
        self.data_dir = data_dir
        self.page_size = page_size
        self.lock = threading.Lock()
        self.entries: dict[str, Entry] = {"": Entry("folder", "", "id:root")}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.links: dict[str, tuple[str, float]] = {}
        self.jobs: dict[str, list[dict[str, Any]]] = {}  # delete_batch results by job id
        self._rev = 0x100000000

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def check_path(path: str, outer: str = "path") -> str:
        if path == "":
            return ""
        if not path.startswith("/") or path.endswith("/") or "//" in path:
            raise _write_error(outer, {".tag": "malformed_path"})
        return path

    def _next_rev(self) -> str:
        self._rev += 1
        return f"{self._rev:015x}"

    def blob_path(self) -> Path:
        return self.data_dir / f"blob-{uuid.uuid4().hex}"

    def lookup(self, path: str, outer: str = "path") -> Entry:
        entry = self.entries.get(self.check_path(path, outer).lower())
        if entry is None or path == "":
            raise _path_error(outer, _lookup("not_found"))
        return entry

    # -- changes ---------------------------------------------------------------
    def commit(
        self,
        path: str,
        blob: Path,
        mode: Any,
        autorename: bool,
        strict: bool,
        client_modified: str | None,
        outer: str,
    ) -> Entry:
        """Store ``blob`` at ``path`` following WriteMode semantics (atomic under the lock)."""
        self.check_path(path, outer)
        if path == "":
            raise _write_error(outer, {".tag": "malformed_path"})
        tag = mode if isinstance(mode, str) else mode.get(".tag", "add")
        content_hash = file_content_hash(blob)
        size = blob.stat().st_size
        with self.lock:
            parts = path.split("/")[1:]
            # ancestors: folders, created when missing; a file in the way fails
            for i in range(1, len(parts)):
                ancestor = "/" + "/".join(parts[:i])
                found = self.entries.get(ancestor.lower())
                if found is not None and found.kind == "file":
                    blob.unlink(missing_ok=True)
                    raise self._conflict(outer, "file_ancestor")
            low = path.lower()
            existing = self.entries.get(low)
            if existing is not None and existing.kind == "folder":
                blob.unlink(missing_ok=True)
                raise self._conflict(outer, "folder")
            if existing is not None:
                same = existing.content_hash == content_hash
                conflict = (tag == "add" and (strict or not same)) or (
                    tag == "update" and existing.rev != mode.get("update")
                )
                if tag == "add" and same and not strict:
                    blob.unlink(missing_ok=True)
                    return existing
                if conflict:
                    if not autorename:
                        blob.unlink(missing_ok=True)
                        raise self._conflict(outer, "file")
                    path = self._free_name(path)
                    low = path.lower()
                    existing = None
            for i in range(1, len(parts)):
                self._ensure_folder("/" + "/".join(path.split("/")[1:][:i]))
            now = _stamp(dt.datetime.now(dt.timezone.utc))
            old_blob = existing.blob if existing is not None else None
            entry = Entry(
                "file",
                path if existing is None else self._display(path, existing),
                existing.id if existing else f"id:{secrets.token_urlsafe(12)}",
                rev=self._next_rev(),
                size=size,
                server_modified=now,
                client_modified=client_modified or now,
                content_hash=content_hash,
                blob=blob,
            )
            self.entries[low] = entry
            self.entries[self._parent(low)].children.add(low)
        if old_blob is not None:
            old_blob.unlink(missing_ok=True)
        return entry

    @staticmethod
    def _display(path: str, existing: Entry) -> str:
        # Dropbox keeps the casing of the first upload for an existing path
        return existing.path_display

    @staticmethod
    def _parent(low: str) -> str:
        return low.rsplit("/", 1)[0]

    def _conflict(self, outer: str, what: str) -> RouteError:
        return _write_error(outer, {".tag": "conflict", "conflict": {".tag": what}})

    def _free_name(self, path: str) -> str:
        stem, dot, ext = path.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = path, ""
        for n in range(1, 10000):
            candidate = f"{stem} ({n}){'.' + ext if ext else ''}"
            if candidate.lower() not in self.entries:
                return candidate
        raise RouteError(
            409, {".tag": "path", "path": {".tag": "too_many_files"}}, "path/too_many_files/."
        )

    def _ensure_folder(self, path: str) -> None:
        low = path.lower()
        if low not in self.entries:
            self.entries[low] = Entry("folder", path, f"id:{secrets.token_urlsafe(12)}")
            self.entries[self._parent(low)].children.add(low)

    def delete(self, path: str) -> Entry:
        self.check_path(path, "path_lookup")
        with self.lock:
            entry = self.entries.get(path.lower())
            if entry is None or path == "":
                raise _path_error("path_lookup", _lookup("not_found"))
            removed = self._remove(path.lower())
        for blob in removed:
            blob.unlink(missing_ok=True)
        return entry

    def _remove(self, low: str) -> list[Path]:
        entry = self.entries.pop(low)
        self.entries[self._parent(low)].children.discard(low)
        blobs = [entry.blob] if entry.blob else []
        for child in list(entry.children):
            blobs += self._remove(child)
        return blobs

    # -- listing ---------------------------------------------------------------
    def list_page(
        self, path: str, after: str, limit: int | None, outer: str, recursive: bool = False
    ) -> dict[str, Any]:
        with self.lock:
            low = self.check_path(path, outer).lower()
            folder = self.entries.get(low)
            if folder is None:
                raise _path_error(outer, _lookup("not_found"))
            if folder.kind != "folder":
                raise _path_error(outer, _lookup("not_folder"))
            # recursive: every entry below the folder, files and folders, in path order
            below = (
                [k for k in self.entries if k.startswith(low + "/")]
                if recursive
                else folder.children
            )
            names = sorted(c for c in below if c > after)
            size = min(limit or self.page_size, self.page_size)
            page = names[:size]
            entries = [self.entries[c].metadata() for c in page]
        last = page[-1] if page else after
        state = {"p": path, "a": last, "r": recursive}
        cursor = base64.urlsafe_b64encode(json.dumps(state).encode()).decode()
        return {"entries": entries, "cursor": cursor, "has_more": len(names) > size}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DropboxStandIn/1.0"
    timeout = 120

    store: Store
    config: argparse.Namespace
    tokens: dict[str, float]  # issued access token -> expiry (epoch seconds)
    stats: dict[str, int]
    stats_lock = threading.Lock()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if self.config.verbose:
            sys.stderr.write(f"{self.address_string()} - {format % args}\n")

    # -- plumbing ---------------------------------------------------------------
    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Dropbox-Request-Id", uuid.uuid4().hex)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj: Any) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _text(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _drain(self) -> None:
        """Discard an unread request body so the keep-alive connection stays in step."""
        if getattr(self, "_consumed", False):
            return
        self._consumed = True
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining:
            chunk = self.rfile.read(min(IO_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)

    def _read_body_to(self, fh: Any, hasher: ContentHasher | None = None) -> int:
        self._consumed = True
        remaining = int(self.headers.get("Content-Length") or 0)
        total = 0
        while remaining:
            chunk = self.rfile.read(min(IO_CHUNK, remaining))
            if not chunk:
                raise ConnectionError("client went away")
            remaining -= len(chunk)
            total += len(chunk)
            fh.write(chunk)
            if hasher is not None:
                hasher.update(chunk)
        return total

    def _read_small_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1024 * 1024:
            raise RouteError(400, None, "request body too large")
        self._consumed = True
        return self.rfile.read(length)

    def _arg_header(self) -> dict[str, Any]:
        raw = self.headers.get("Dropbox-API-Arg")
        if raw is None:
            raise RouteError(
                400, None, 'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".'
            )
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise RouteError(
                400, None, f"Dropbox-API-Arg: could not decode input as JSON ({exc})"
            ) from exc

    def _rpc_arg(self) -> dict[str, Any]:
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            raise RouteError(
                400, None, 'Bad HTTP "Content-Type" header. Expecting "application/json".'
            )
        body = self._read_small_body()
        try:
            value = json.loads(body or b"null")
        except ValueError as exc:
            raise RouteError(
                400, None, f"request body: could not decode input as JSON ({exc})"
            ) from exc
        return value if isinstance(value, dict) else {}

    def _authorize(self) -> None:
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise RouteError(
                400,
                None,
                'Error in call to API function: Must provide HTTP header "Authorization".',
            )
        token = auth[len("Bearer ") :]
        if token in self.config.token:
            return
        expiry = self.tokens.get(token)
        if expiry is None:
            raise RouteError(401, {".tag": "invalid_access_token"}, "invalid_access_token/...")
        if expiry < time.time():
            raise RouteError(401, {".tag": "expired_access_token"}, "expired_access_token/...")

    def _count(self, route: str) -> None:
        with self.stats_lock:
            self.stats[route] = self.stats.get(route, 0) + 1

    # -- dispatch ------------------------------------------------------------------
    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        route = self.path.split("?", 1)[0]
        self._consumed = False
        self._count(route)
        handler = ROUTES.get(route)
        try:
            if route == "/oauth2/token":
                self._token()
            elif route.startswith("/_standin/"):
                self._control(route)
            elif handler is None:
                self._text(404, f"Unknown API function: {route!r}")
            else:
                self._authorize()
                handler(self)
        except RouteError as exc:
            self._drain()
            if exc.status == 400:
                self._text(400, f'Error in call to API function "{route[3:]}": {exc.summary}')
            else:
                self._json(exc.status, {"error_summary": exc.summary, "error": exc.error})
        except ConnectionError:
            self.close_connection = True

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/_standin/stats":
            with self.stats_lock:
                self._json(200, dict(self.stats))
        else:
            self._text(405, "use POST")

    def _control(self, route: str) -> None:
        self._read_small_body()
        if route == "/_standin/expire_tokens":
            for token in list(self.tokens):
                self.tokens[token] = 0
        elif route == "/_standin/reset_stats":
            with self.stats_lock:
                self.stats.clear()
        else:
            self._text(404, "unknown control")
            return
        self._json(200, {})

    def _token(self) -> None:
        form = {k: v[0] for k, v in parse_qs(self._read_small_body().decode()).items()}
        if form.get("grant_type") != "refresh_token":
            self._json(
                400,
                {"error": "unsupported_grant_type", "error_description": "unsupported grant_type"},
            )
            return
        if form.get("client_id") != self.config.app_key or (
            "client_secret" in form and form["client_secret"] != self.config.app_secret
        ):
            self._json(
                400,
                {
                    "error": "invalid_client",
                    "error_description": "Invalid client_id or client_secret",
                },
            )
            return
        if form.get("refresh_token") not in self.config.refresh_token:
            self._json(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "refresh token is invalid or revoked",
                },
            )
            return
        token = "sl." + secrets.token_urlsafe(24)
        self.tokens[token] = time.time() + self.config.token_lifetime
        self._json(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.config.token_lifetime,
            },
        )

    # -- RPC routes -------------------------------------------------------------------
    def get_metadata(self) -> None:
        arg = self._rpc_arg()
        if arg.get("path") == "":
            raise RouteError(400, None, "request body: path: The root folder is unsupported.")
        self._json(200, self.store.lookup(arg.get("path", ""), "path").metadata())

    def list_folder(self) -> None:
        arg = self._rpc_arg()
        limit = arg.get("limit")
        self._json(
            200,
            self.store.list_page(
                arg.get("path", ""), "", limit, "path", bool(arg.get("recursive"))
            ),
        )

    def list_folder_continue(self) -> None:
        arg = self._rpc_arg()
        try:
            state = json.loads(base64.urlsafe_b64decode(arg.get("cursor", "").encode()))
        except ValueError as exc:
            raise RouteError(400, None, "request body: cursor: invalid cursor") from exc
        try:
            self._json(
                200,
                self.store.list_page(state["p"], state["a"], None, "path", bool(state.get("r"))),
            )
        except RouteError as exc:
            if exc.status == 409:
                raise RouteError(409, {".tag": "reset"}, "reset/...") from exc
            raise

    def delete_v2(self) -> None:
        arg = self._rpc_arg()
        entry = self.store.delete(arg.get("path", ""))
        self._json(200, {"metadata": entry.metadata()})

    def delete_batch(self) -> None:
        # Dropbox runs the batch as a job: the reply is its id, delete_batch/check gives the result.
        entries = []
        for item in self._rpc_arg().get("entries", []):
            try:
                entries.append(
                    {
                        ".tag": "success",
                        "metadata": self.store.delete(item.get("path", "")).metadata(),
                    }
                )
            except RouteError as exc:
                entries.append({".tag": "failure", "failure": exc.error})
        job = "dbjid:" + secrets.token_urlsafe(24)
        self.store.jobs[job] = entries
        self._json(200, {".tag": "async_job_id", "async_job_id": job})

    def delete_batch_check(self) -> None:
        entries = self.store.jobs.get(self._rpc_arg().get("async_job_id", ""))
        if entries is None:
            raise RouteError(409, {".tag": "invalid_async_job_id"}, "invalid_async_job_id/.")
        self._json(200, {".tag": "complete", "entries": entries})

    def get_temporary_link(self) -> None:
        arg = self._rpc_arg()
        entry = self.store.lookup(arg.get("path", ""), "path")
        if entry.kind != "file":
            raise _path_error("path", _lookup("not_file"))
        token = secrets.token_urlsafe(16)
        self.store.links[token] = (entry.path_display.lower(), time.time() + 4 * 3600)
        link = f"http://127.0.0.1:{self.config.link_port}/{token}/{quote(entry.name)}"
        self._json(200, {"metadata": entry.metadata(tagged=False), "link": link})

    # -- upload routes --------------------------------------------------------------------
    def _receive(self, expected_hash: str | None, outer: str, target: Path | None = None) -> Path:
        """Stream the request body into a file (a new one or appended to ``target``)."""
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/octet-stream":
            raise RouteError(
                400, None, 'Bad HTTP "Content-Type" header. Expecting "application/octet-stream".'
            )
        hasher = ContentHasher()
        path = target or self.store.blob_path()
        with open(path, "ab") as fh:
            start = fh.tell()
            self._read_body_to(fh, hasher)
            if expected_hash and hasher.hexdigest() != expected_hash:
                fh.truncate(start)
                if target is None:
                    path.unlink(missing_ok=True)
                raise RouteError(409, {".tag": "content_hash_mismatch"}, "content_hash_mismatch/..")
        return path

    def upload(self) -> None:
        arg = self._arg_header()
        blob = self._receive(arg.get("content_hash"), "upload")
        entry = self.store.commit(
            arg.get("path", ""),
            blob,
            arg.get("mode", "add"),
            arg.get("autorename", False),
            arg.get("strict_conflict", False),
            arg.get("client_modified"),
            "upload",
        )
        self._json(200, entry.metadata(tagged=False))

    def _session(self, cursor: dict[str, Any]) -> dict[str, Any]:
        session = self.store.sessions.get(cursor.get("session_id", ""))
        if session is None:
            raise RouteError(409, {".tag": "not_found"}, "not_found/..")
        if session["offset"] != cursor.get("offset"):
            raise RouteError(
                409,
                {".tag": "incorrect_offset", "correct_offset": session["offset"]},
                "incorrect_offset/..",
            )
        if session["closed"]:
            raise RouteError(409, {".tag": "closed"}, "closed/..")
        return session

    def upload_session_start(self) -> None:
        arg = self._arg_header()
        blob = self._receive(arg.get("content_hash"), "start")
        session_id = "pid_upload_session:" + secrets.token_urlsafe(24)
        self.store.sessions[session_id] = {
            "blob": blob,
            "offset": blob.stat().st_size,
            "closed": bool(arg.get("close")),
        }
        self._json(200, {"session_id": session_id})

    def upload_session_append_v2(self) -> None:
        arg = self._arg_header()
        session = self._session(arg.get("cursor", {}))
        self._receive(arg.get("content_hash"), "append", target=session["blob"])
        session["offset"] = session["blob"].stat().st_size
        session["closed"] = bool(arg.get("close"))
        self._json(200, None)

    def upload_session_finish(self) -> None:
        arg = self._arg_header()
        try:
            session = self._session(arg.get("cursor", {}))
        except RouteError as exc:
            raise RouteError(
                409,
                {".tag": "lookup_failed", "lookup_failed": exc.error},
                f"lookup_failed/{exc.summary}",
            ) from exc
        self._receive(arg.get("content_hash"), "finish", target=session["blob"])
        self.store.sessions.pop(arg["cursor"]["session_id"], None)
        commit = arg.get("commit", {})
        entry = self.store.commit(
            commit.get("path", ""),
            session["blob"],
            commit.get("mode", "add"),
            commit.get("autorename", False),
            commit.get("strict_conflict", False),
            commit.get("client_modified"),
            "path",
        )
        self._json(200, entry.metadata(tagged=False))

    # -- download ---------------------------------------------------------------------------
    def download(self) -> None:
        arg = self._arg_header()
        entry = self.store.lookup(arg.get("path", ""), "path")
        if entry.kind != "file":
            raise _path_error("path", _lookup("not_file"))
        self._stream_file(entry, {"Dropbox-API-Result": json.dumps(entry.metadata(tagged=False))})

    def _stream_file(self, entry: Entry, extra: dict[str, str]) -> None:
        assert entry.blob is not None
        try:
            fh = open(entry.blob, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:  # replaced meanwhile
            raise _path_error("path", _lookup("not_found")) from None
        with fh:
            size = os.fstat(fh.fileno()).st_size
            start, status = 0, 200
            headers = dict(extra)
            wanted = self.headers.get("Range")
            if wanted:
                match = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
                if not match or int(match.group(1)) >= size:
                    self._send(416, b"", "text/plain", {"Content-Range": f"bytes */{size}"})
                    return
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
                status = 206
                headers["Content-Range"] = f"bytes {start}-{end}/{size}"
                size_to_send = end - start + 1
            else:
                size_to_send = size
            self.send_response(status)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(size_to_send))
            self.send_header("X-Dropbox-Request-Id", uuid.uuid4().hex)
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            fh.seek(start)
            remaining = size_to_send
            try:
                while remaining:
                    chunk = fh.read(min(IO_CHUNK, remaining))
                    if not chunk:
                        break
                    self.wfile.write(chunk)
                    remaining -= len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True


ROUTES = {
    "/2/files/get_metadata": Handler.get_metadata,
    "/2/files/list_folder": Handler.list_folder,
    "/2/files/list_folder/continue": Handler.list_folder_continue,
    "/2/files/delete_v2": Handler.delete_v2,
    "/2/files/delete_batch": Handler.delete_batch,
    "/2/files/delete_batch/check": Handler.delete_batch_check,
    "/2/files/get_temporary_link": Handler.get_temporary_link,
    "/2/files/upload": Handler.upload,
    "/2/files/upload_session/start": Handler.upload_session_start,
    "/2/files/upload_session/append_v2": Handler.upload_session_append_v2,
    "/2/files/upload_session/finish": Handler.upload_session_finish,
    "/2/files/download": Handler.download,
}


class LinkHandler(Handler):
    """Serves temporary links (what a browser fetches; plain HTTP here)."""

    def do_POST(self) -> None:  # noqa: N802
        self._text(405, "use GET")

    def do_GET(self) -> None:  # noqa: N802
        token = unquote(self.path.lstrip("/").split("/", 1)[0])
        found = self.store.links.get(token)
        entry = self.store.entries.get(found[0]) if found and found[1] > time.time() else None
        if entry is None or entry.kind != "file":
            self._text(410 if found else 404, "link not found or expired")
            return
        try:
            self._stream_file(entry, {})
        except RouteError:  # the file went away meanwhile
            self._text(404, "file not found")


class TLSServer(ThreadingHTTPServer):
    """Does the TLS handshake in the request thread, so a slow client can't block accept()."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext) -> None:
        self.context = context
        super().__init__(address, handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(120)
        # headers and body go out as separate writes: without NODELAY, Nagle +
        # delayed ACKs add 40 ms to every request.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        super().finish_request(tls, client_address)


class PlainServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().finish_request(request, client_address)


def serve(config: argparse.Namespace) -> None:
    data = Path(config.data)
    data.mkdir(parents=True, exist_ok=True)
    store = Store(data, config.page_size)
    shared = {"store": store, "config": config, "tokens": {}, "stats": {}}
    api_handler = type("ApiHandler", (Handler,), shared)
    link_handler = type("Links", (LinkHandler,), shared)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config.cert, config.key)
    api = TLSServer(("127.0.0.1", config.port), api_handler, context)
    links = PlainServer(("127.0.0.1", config.link_port), link_handler)
    threading.Thread(target=links.serve_forever, daemon=True).start()
    api.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--link-port", type=int, required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument(
        "--token", action="append", default=[], help="a long-lived access token (repeatable)"
    )
    parser.add_argument("--app-key", default=APP_KEY)
    parser.add_argument("--app-secret", default=APP_SECRET)
    parser.add_argument("--refresh-token", action="append", default=[])
    parser.add_argument("--token-lifetime", type=int, default=14400)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--verbose", action="store_true")
    serve(parser.parse_args(argv))


# -- starting it from tests and benchmarks ---------------------------------------------------


@dataclass
class DropboxStandIn:
    """A running stand-in: where it listens and how to reach it."""

    host: str  # "127.0.0.1:PORT", for DropboxStorage's api_host option
    link_port: int
    ca_cert: Path
    process: ServerProcess
    workdir: Path
    owns_workdir: bool = False

    def options(self, **extra: Any) -> dict[str, Any]:
        """DropboxStorage OPTIONS that point at this server (long-lived token)."""
        return {
            "oauth2_access_token": TOKEN,
            "api_host": self.host,
            "ca_certs": str(self.ca_cert),
            **extra,
        }

    def _control(self, route: str, method: str = "POST") -> Any:
        import requests

        session = requests.Session()
        session.trust_env = False  # REQUESTS_CA_BUNDLE would override verify=
        reply = session.request(
            method, f"https://{self.host}{route}", verify=str(self.ca_cert), timeout=10
        )
        reply.raise_for_status()
        return reply.json()

    def stats(self) -> dict[str, int]:
        return self._control("/_standin/stats", "GET")

    def reset_stats(self) -> None:
        self._control("/_standin/reset_stats")

    def expire_tokens(self) -> None:
        self._control("/_standin/expire_tokens")

    def stop(self, remove_data: bool = True) -> None:
        """Stop the server and delete the files it stored (they can be large)."""
        import shutil

        self.process.stop()
        if remove_data:
            shutil.rmtree(self.workdir / "data", ignore_errors=True)
            if self.owns_workdir:
                shutil.rmtree(self.workdir, ignore_errors=True)


def start_dropbox_standin(
    workdir: Path | None = None, page_size: int = 500, app_key: str = APP_KEY
) -> DropboxStandIn:
    """Start the stand-in as a child process on free ports (``app_key``: the app it knows)."""
    owns = workdir is None
    workdir = Path(workdir or tempfile.mkdtemp(prefix="dropbox-standin-"))
    cert, key = make_self_signed_cert(workdir / "tls")
    port, link_port = free_port(), free_port()
    argv = [
        python(),
        "-m",
        "tests.servers.dropbox_api",
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
        TOKEN,
        "--app-key",
        app_key,
        "--app-secret",
        APP_SECRET,
        "--refresh-token",
        REFRESH_TOKEN,
        "--page-size",
        str(page_size),
    ]
    root = Path(__file__).resolve().parents[2]
    env = {"PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = ServerProcess(argv, port, env=env, log=workdir / "server.log")
    return DropboxStandIn(f"127.0.0.1:{port}", link_port, cert, proc, workdir, owns)


if __name__ == "__main__":
    main()

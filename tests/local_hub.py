"""A stand-in for the Hugging Face hub on 127.0.0.1, for tests that pull models (via HF_ENDPOINT).

It speaks what ``huggingface_hub`` and ``resonant_studio.core.model_hub`` use:

- ``GET /api/models/{repo}[/revision/{rev}]`` -> ``sha`` and ``siblings`` with size, blobId and
  LFS metadata (the file's sha256) when ``?blobs=true``;
- ``POST /api/models/{repo}/paths-info/{rev}`` -> the same per path;
- ``HEAD``/``GET /{repo}/resolve/{rev}/{path}`` with ETag, X-Repo-Commit, Content-Length,
  X-Linked-Size/Etag for LFS files, and ``Range: bytes=N-`` answered 206.

Repositories are folders (the tiny checkpoints in tests/fixtures); files bigger than 10 kB count
as LFS files. Knobs for failure tests: ``rate`` (bytes/s for resolve bodies), ``corrupt`` (paths
served with one byte flipped), ``drop_after`` (close the connection after N body bytes),
``token`` (answer 401 unless ``Authorization: Bearer <token>`` comes). ``requests`` logs every request. It serves only 127.0.0.1 and stops itself after ``max_seconds``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlparse

LFS_MIN = 10_000


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class LocalHub:
    def __init__(self, repos: dict[str, Path], max_seconds: float = 300.0) -> None:
        self.repos = {repo: Path(folder) for repo, folder in repos.items()}
        self.rate: float | None = None
        self.corrupt: set[tuple[str, str]] = set()
        self.drop_after: int | None = None
        self.token: str | None = None
        self.requests: list[tuple[str, str, str | None]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="local-hub", daemon=True)
        self._timer = threading.Timer(max_seconds, self.stop)
        self._timer.daemon = True
        self._stopped = False

    # --- lifecycle ----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "LocalHub":
        self._thread.start()
        self._timer.start()
        return self

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> "LocalHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- content ------------------------------------------------------------------------------
    def files(self, repo: str) -> dict[str, bytes]:
        folder = self.repos[repo]
        return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}

    def commit(self, repo: str) -> str:
        h = hashlib.sha1(repo.encode())
        for name, data in self.files(repo).items():
            h.update(name.encode() + hashlib.sha256(data).digest())
        return h.hexdigest()

    def body(self, repo: str, path: str) -> bytes:
        data = self.files(repo)[path]
        if (repo, path) in self.corrupt:
            middle = len(data) // 2
            data = data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]
        return data

    def sibling(self, repo: str, path: str, data: bytes) -> dict:
        entry = {"rfilename": path, "size": len(data), "blobId": git_blob_sha1(data)}
        if len(data) > LFS_MIN:
            entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    # --- HTTP ---------------------------------------------------------------------------------
    def _handler(self):
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet in test output
                pass

            def _json(self, data, status: int = 200) -> None:
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _not_found(self, what: str) -> None:
                self.send_response(404)
                self.send_header("X-Error-Code", "RepoNotFound")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _route(self, method: str) -> None:
                url = urlparse(self.path)
                path = unquote(url.path)
                hub.requests.append((method, path, self.headers.get("Range")))
                if hub.token and path.startswith(("/api/models", "/")) and "agent-harnesses" not in path \
                        and self.headers.get("Authorization") != f"Bearer {hub.token}":
                    self.send_response(401)
                    self.send_header("X-Error-Message", "Access to this repo is restricted")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)(?:/revision/[^/]+)?", path)
                if m and method == "GET":
                    repo = m.group(1)
                    if repo not in hub.repos:
                        return self._not_found(repo)
                    blobs = "blobs=true" in url.query.lower()
                    siblings = [hub.sibling(repo, p, d) if blobs else {"rfilename": p}
                                for p, d in hub.files(repo).items()]
                    return self._json({"id": repo, "modelId": repo, "sha": hub.commit(repo), "siblings": siblings,
                                       "private": False, "gated": False, "disabled": False, "tags": []})
                m = re.fullmatch(r"/api/models/([^/]+/[^/]+)/paths-info/[^/]+", path)
                if m and method == "POST":
                    repo = m.group(1)
                    length = int(self.headers.get("Content-Length") or 0)
                    raw = self.rfile.read(length).decode()
                    asked = json.loads(raw).get("paths", []) if raw.startswith("{") else \
                        [unquote(v) for k, v in (kv.split("=", 1) for kv in raw.split("&") if "=" in kv) if k == "paths"]
                    out = []
                    for p in asked:
                        data = hub.files(repo).get(p)
                        if data is not None:
                            s = hub.sibling(repo, p, data)
                            item = {"type": "file", "path": p, "size": len(data), "oid": s["blobId"]}
                            if "lfs" in s:
                                item["lfs"] = {"oid": s["lfs"]["sha256"], "size": len(data), "pointerSize": 134}
                            out.append(item)
                    return self._json(out)
                m = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
                if m and method in ("GET", "HEAD"):
                    return self._resolve(method, m.group(1), m.group(3))
                self._not_found(path)

            def _resolve(self, method: str, repo: str, name: str) -> None:
                if repo not in hub.repos or name not in hub.files(repo):
                    return self._not_found(name)
                data = hub.body(repo, name)
                clean = hub.files(repo)[name]
                etag = hashlib.sha256(clean).hexdigest() if len(clean) > LFS_MIN else git_blob_sha1(clean)
                start = 0
                wanted = self.headers.get("Range")
                if wanted:
                    m = re.fullmatch(r"bytes=(\d+)-", wanted.strip())
                    start = int(m.group(1)) if m else 0
                if start >= len(data) and len(data):
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if start else 200)
                self.send_header("ETag", f'"{etag}"')
                self.send_header("X-Repo-Commit", hub.commit(repo))
                self.send_header("Accept-Ranges", "bytes")
                if len(clean) > LFS_MIN:
                    self.send_header("X-Linked-Etag", f'"{etag}"')
                    self.send_header("X-Linked-Size", str(len(clean)))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.send_header("Content-Length", str(len(data) - start))
                self.end_headers()
                if method == "HEAD":
                    return
                sent, chunk = 0, 16384
                for offset in range(start, len(data), chunk):
                    piece = data[offset: offset + chunk]
                    if hub.drop_after is not None and sent + len(piece) > hub.drop_after:
                        self.wfile.write(piece[: max(0, hub.drop_after - sent)])
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.wfile.write(piece)
                    sent += len(piece)
                    if hub.rate:
                        time.sleep(len(piece) / hub.rate)

            def do_GET(self) -> None:  # noqa: N802
                self._route("GET")

            def do_HEAD(self) -> None:  # noqa: N802
                self._route("HEAD")

            def do_POST(self) -> None:  # noqa: N802
                self._route("POST")

        return Handler

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""A Hugging Face Hub stand-in: the three endpoints the model weights cache uses, on loopback.

Tests cannot reach huggingface.co, so this serves repositories built from bytes in memory with
the Hub's semantics for what the collection relies on:

- ``GET /api/models/<repo>/revision/<revision>[?blobs=true]``: ``sha`` (the commit) and
  ``siblings``; with ``blobs=true`` each has ``size`` and ``blobId`` (the git blob id), and LFS
  files an ``lfs`` object with ``sha256`` and ``size``. Unknown repository or revision: 404.
- ``GET|HEAD /<repo>/resolve/<revision>/<file>``: ``X-Repo-Commit`` and ``ETag`` on every answer;
  an LFS file answers 302 to ``/cdn/<sha256>`` with ``X-Linked-Etag`` and ``X-Linked-Size``, a
  small file is served directly. A gated repository answers 401 without a token and 403 with a
  wrong one.
- ``GET|HEAD /cdn/<sha256>``: the bytes, with ``Range`` (206 and ``Content-Range``; 416 past the end).

Test controls: ``cut_after``/``cut_times`` close the connection after that many body bytes of the
next ``cut_times`` file responses (to test resuming), ``tampered`` serves other bytes than the
listing describes (to test verification), and every request is recorded with its ``Range`` and
whether it carried ``Authorization``. Run as a script to serve a directory of repositories
(``<dir>/<owner>/<name>/...``) for manual tries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

# The Hub stores files of 10 MiB and more, and weights of any size, in LFS; tests use small
# files, so the threshold is a parameter.
DEFAULT_LFS_MIN_BYTES = 1024
LFS_SUFFIXES = (".safetensors", ".gguf", ".bin", ".pt", ".pth", ".onnx")
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


def git_blob_id(data: bytes) -> str:
    """The git blob id of ``data``: ``sha1("blob <size>\\0" + data)``."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


@dataclass
class StandinRepo:
    """One repository with one commit; ``branches`` name it (``main`` by default)."""

    files: dict[str, bytes]
    gated_token: str | None = None
    lfs_min_bytes: int = DEFAULT_LFS_MIN_BYTES
    tampered: dict[str, bytes] = field(default_factory=dict)
    branches: tuple[str, ...] = ("main",)

    @property
    def commit(self) -> str:
        """A commit sha derived from the contents, so equal repositories have equal commits."""
        digest = hashlib.sha1(usedforsecurity=False)
        for name in sorted(self.files):
            digest.update(name.encode() + b"\0" + git_blob_id(self.files[name]).encode())
        return digest.hexdigest()

    def is_lfs(self, name: str) -> bool:
        """Weights and large files are LFS files."""
        return name.endswith(LFS_SUFFIXES) or len(self.files[name]) >= self.lfs_min_bytes

    def sibling(self, name: str, blobs: bool) -> dict[str, Any]:
        """The listing entry of ``name``."""
        if not blobs:
            return {"rfilename": name}
        data = self.files[name]
        entry: dict[str, Any] = {"rfilename": name, "size": len(data), "blobId": git_blob_id(data)}
        if self.is_lfs(name):
            entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    def served(self, name: str) -> bytes:
        """The bytes the server sends for ``name`` (other ones when tampered)."""
        return self.tampered.get(name, self.files[name])


@dataclass(frozen=True)
class RecordedRequest:
    """What the stand-in saw of one request."""

    method: str
    path: str
    range: str | None
    authorized: bool


class HubStandin:
    """Serves ``repos`` on 127.0.0.1 (ephemeral port) until :meth:`close`."""

    def __init__(
        self, repos: dict[str, StandinRepo], cut_after: int | None = None, cut_times: int = 0
    ) -> None:
        self.repos = repos
        self.cut_after = cut_after
        self.cut_times = cut_times
        self.requests: list[RecordedRequest] = []
        self.bytes_served = 0
        self._lock = threading.Lock()
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def paths(self, prefix: str) -> list[str]:
        """Recorded request paths that start with ``prefix``."""
        return [r.path for r in self.requests if r.path.startswith(prefix)]

    def take_cut(self) -> int | None:
        """The byte count at which to cut the current response, if it is to be cut."""
        with self._lock:
            if self.cut_after is None or self.cut_times <= 0:
                return None
            self.cut_times -= 1
            return self.cut_after

    def count(self, sent: int) -> None:
        """Add to the body bytes served."""
        with self._lock:
            self.bytes_served += sent

    def find_blob(self, sha256: str) -> bytes | None:
        """The bytes served for an LFS object."""
        for repo in self.repos.values():
            for name, data in repo.files.items():
                if hashlib.sha256(data).hexdigest() == sha256:
                    return repo.served(name)
        return None

    def revision(self, repo: StandinRepo, revision: str) -> bool:
        """Whether ``revision`` names the repository's commit."""
        return revision == repo.commit or revision in repo.branches


def _handler_for(hub: HubStandin) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to ``hub``."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "hf-hub-standin"

        def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
            return

        def do_HEAD(self) -> None:
            self._dispatch(head=True)

        def do_GET(self) -> None:
            self._dispatch(head=False)

        def _dispatch(self, head: bool) -> None:
            url = urlsplit(self.path)
            hub.requests.append(
                RecordedRequest(
                    method=self.command,
                    path=unquote(url.path),
                    range=self.headers.get("Range"),
                    authorized="Authorization" in self.headers,
                )
            )
            if url.path.startswith("/api/models/"):
                self._listing(url.path.removeprefix("/api/models/"), parse_qs(url.query))
            elif url.path.startswith("/cdn/"):
                data = hub.find_blob(url.path.removeprefix("/cdn/"))
                if data is None:
                    self._error(404, "EntryNotFound")
                else:
                    self._body(data, head, {})
            else:
                self._resolve(unquote(url.path).lstrip("/").split("/"), head)

        def _listing(self, rest: str, query: dict[str, list[str]]) -> None:
            repo_id, _sep, revision = rest.partition("/revision/")
            repo = hub.repos.get(unquote(repo_id))
            if repo is None:
                self._error(404, "RepoNotFound")
                return
            if not hub.revision(repo, unquote(revision)):
                self._error(404, "RevisionNotFound")
                return
            blobs = query.get("blobs", ["false"])[0] == "true"
            document = {
                "id": unquote(repo_id),
                "sha": repo.commit,
                "gated": "manual" if repo.gated_token else False,
                "siblings": [repo.sibling(name, blobs) for name in sorted(repo.files)],
            }
            payload = json.dumps(document).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _resolve(self, parts: list[str], head: bool) -> None:
            if len(parts) < 5 or parts[2] != "resolve":
                self._error(404, "EntryNotFound")
                return
            repo = hub.repos.get("/".join(parts[:2]))
            revision, name = parts[3], "/".join(parts[4:])
            if repo is None or not hub.revision(repo, revision):
                self._error(404, "RepoNotFound" if repo is None else "RevisionNotFound")
                return
            if repo.gated_token is not None:
                given = self.headers.get("Authorization")
                if given is None:
                    self._error(401, "GatedRepo")
                    return
                if given != f"Bearer {repo.gated_token}":
                    self._error(403, "GatedRepo")
                    return
            if name not in repo.files:
                self._error(404, "EntryNotFound")
                return
            data = repo.files[name]
            headers = {"X-Repo-Commit": repo.commit}
            if repo.is_lfs(name):
                digest = hashlib.sha256(data).hexdigest()
                self.send_response(302)
                self.send_header("Location", f"/cdn/{digest}?name={quote(name)}")
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("X-Linked-Etag", f'"{digest}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", f'"{git_blob_id(data)}"')
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            headers["ETag"] = f'"{git_blob_id(data)}"'
            self._body(repo.served(name), head, headers)

        def _body(self, data: bytes, head: bool, headers: dict[str, str]) -> None:
            start, end, status = 0, len(data), 200
            requested = self.headers.get("Range")
            if requested:
                match = _RANGE.match(requested)
                if match is None or int(match[1]) >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                start = int(match[1])
                end = min(int(match[2]) + 1, len(data)) if match[2] else len(data)
                status = 206
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Accept-Ranges", "bytes")
            self.send_header("Content-Length", str(end - start))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(data)}")
            self.end_headers()
            if head:
                return
            body = data[start:end]
            cut = hub.take_cut()
            if cut is not None and cut < len(body):
                self.wfile.write(body[:cut])
                self.wfile.flush()
                hub.count(cut)
                self.close_connection = True
                self.connection.shutdown(2)
                return
            self.wfile.write(body)
            hub.count(len(body))

        def _error(self, code: int, kind: str) -> None:
            payload = json.dumps({"error": kind}).encode()
            self.send_response(code)
            self.send_header("X-Error-Code", kind)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


def repos_from_directory(root: Path) -> dict[str, StandinRepo]:
    """Every ``<root>/<owner>/<name>/`` folder as a repository of its files."""
    repos: dict[str, StandinRepo] = {}
    for folder in sorted(p for p in root.glob("*/*") if p.is_dir()):
        files = {
            str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*"))
            if path.is_file()
        }
        repos[f"{folder.parent.name}/{folder.name}"] = StandinRepo(files=files)
    return repos


def main() -> None:
    """Serve a directory of repositories until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path, help="folder holding <owner>/<name>/<files>")
    args = parser.parse_args()
    hub = HubStandin(repos_from_directory(args.directory))
    for name, repo in hub.repos.items():
        print(f"{name}@{repo.commit}")
    print(f"serving on {hub.base} (sovereign_hf_endpoint); Ctrl-C stops", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        hub.close()


if __name__ == "__main__":
    main()

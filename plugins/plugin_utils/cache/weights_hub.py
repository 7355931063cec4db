# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The two Hugging Face Hub requests the weights cache makes: list a revision, open a file.

``GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true`` answers the commit sha and
every file with its size, git blob id and, for LFS files, sha256; ``GET {endpoint}/{repo}/resolve/
{commit}/{file}`` serves a file (LFS files through a redirect to a CDN), honouring ``Range``.
An internal mirror with the same layout is just another endpoint.

``huggingface_hub`` would do this, but it is not part of ansible-core's dependencies and the
collection adds none to the controller; its cache layout (symlinked blobs) is also not one the
engine role can copy from. Requests go through Ansible's ``open_url`` (urllib underneath), so
proxies and CA settings behave as for every other Ansible download. The token is sent as an
unredirected header: the CDN a download is redirected to never sees it.
"""

from __future__ import annotations

import json
import os
import urllib.error
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import quote, urlsplit

from ansible.module_utils.urls import open_url
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_sources import (
    RemoteFile,
    WeightsError,
)

DEFAULT_ENDPOINT = "https://huggingface.co"
TOKEN_VAR = "sovereign_hf_token"
ENDPOINT_VAR = "sovereign_hf_endpoint"
TOKEN_HELP = (
    f"give a token with read access as {TOKEN_VAR} (inventory, in a vault), as HF_TOKEN in the "
    "controller's environment, or with `hf auth login` (it writes ~/.cache/huggingface/token)"
)
_TIMEOUT = 60
_LISTING_MAX_BYTES = 64 << 20
_COMMIT_LENGTH = 40


@dataclass(frozen=True)
class Token:
    """A Hugging Face token and where it was found; ``value`` is never shown."""

    value: str = field(repr=False)
    source: str


@dataclass(frozen=True)
class Listing:
    """A repository at one commit: the commit sha and every file."""

    commit: str
    files: Mapping[str, RemoteFile]


@dataclass
class Response:
    """An open file download: status 200 (whole file) or 206 (from ``Range``) and its body."""

    status: int
    headers: Mapping[str, str]
    body: IO[bytes]


Opener = Callable[..., Any]


def find_token(explicit: str | None, environ: Mapping[str, str], home: Path) -> Token | None:
    """``sovereign_hf_token``, else ``HF_TOKEN``, else the token file ``hf auth login`` writes."""
    if explicit:
        return Token(explicit.strip(), TOKEN_VAR)
    if environ.get("HF_TOKEN", "").strip():
        return Token(environ["HF_TOKEN"].strip(), "HF_TOKEN")
    hf_home = Path(environ["HF_HOME"]).expanduser() if environ.get("HF_HOME") else home / ".cache/huggingface"
    path = hf_home / "token"
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return Token(text, str(path)) if text else None


def is_commit(revision: str) -> bool:
    """True for a full 40-hex commit sha (which cannot move, unlike a branch or tag)."""
    return len(revision) == _COMMIT_LENGTH and all(c in "0123456789abcdef" for c in revision)


def checked_endpoint(endpoint: str) -> str:
    """The endpoint without a trailing slash; an error for anything but an http(s) URL."""
    parts = urlsplit(endpoint)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise WeightsError(
            f"{ENDPOINT_VAR}: {endpoint!r} is not an http(s) URL; give e.g. {DEFAULT_ENDPOINT} "
            "or the base URL of an internal mirror with the Hub's layout"
        )
    return endpoint.rstrip("/")


def safe_file_name(name: object, repo: str) -> str:
    """A file name from the listing, refused when it could leave the cache directory."""
    text = str(name)
    parts = PurePosixPath(text).parts
    if not text or text.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\\" in text:
        raise WeightsError(f"the listing of {repo} names a file {text!r} outside the repository; refusing it")
    return text


def parse_listing(document: object, repo: str, revision: str) -> Listing:
    """The commit and files of a ``/api/models/{repo}/revision/{revision}?blobs=true`` answer."""
    if not isinstance(document, Mapping) or not is_commit(str(document.get("sha", ""))):
        raise WeightsError(
            f"the Hub's answer for {repo}@{revision} has no commit sha; is the endpoint a Hub?"
        )
    files: dict[str, RemoteFile] = {}
    for entry in document.get("siblings") or []:
        if not isinstance(entry, Mapping) or "rfilename" not in entry:
            continue
        name = safe_file_name(entry["rfilename"], repo)
        lfs = entry.get("lfs") if isinstance(entry.get("lfs"), Mapping) else None
        size = entry.get("size", lfs.get("size") if lfs else None)
        blob_id = str(entry.get("blobId") or "")
        if not isinstance(size, int) or (lfs is None and not blob_id):
            raise WeightsError(
                f"the Hub's answer for {repo}@{revision} has no size or hash for {name}; "
                "it must be asked with ?blobs=true"
            )
        sha256 = str(lfs["sha256"]).lower() if lfs and lfs.get("sha256") else None
        files[name] = RemoteFile(name=name, size=size, blob_id=blob_id, lfs_sha256=sha256)
    return Listing(commit=str(document["sha"]), files=files)


def default_opener(url: str, **kwargs: Any) -> Any:
    """Ansible's ``open_url``; responses are not decompressed, so byte offsets stay byte offsets."""
    return open_url(url, timeout=_TIMEOUT, follow_redirects="all", decompress=False, **kwargs)


class HubClient:
    """Requests to one endpoint, with the token (if any) on every request to that endpoint only."""

    def __init__(self, endpoint: str, token: Token | None, opener: Opener | None = None) -> None:
        self.endpoint = checked_endpoint(endpoint)
        self.host = urlsplit(self.endpoint).netloc
        self.token = token
        self._open = opener or default_opener

    def _headers(self) -> tuple[dict[str, str], list[str]]:
        """Request headers and which of them must not follow a redirect."""
        if self.token is None:
            return {}, []
        return {"Authorization": f"Bearer {self.token.value}"}, ["Authorization"]

    def listing(self, repo: str, revision: str) -> Listing:
        """The files of ``repo`` at ``revision`` (a branch, tag or commit)."""
        url = f"{self.endpoint}/api/models/{repo}/revision/{quote(revision, safe='')}?blobs=true"
        headers, unredirected = self._headers()
        try:
            response = self._open(url, headers=headers, unredirected_headers=unredirected)
            try:
                raw = response.read(_LISTING_MAX_BYTES)
            finally:
                response.close()
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc, repo, revision, "list") from exc
        except (OSError, HTTPException) as exc:
            raise self._unreachable(exc, f"{repo}@{revision}") from exc
        try:
            document = json.loads(raw)
        except ValueError as exc:
            raise WeightsError(f"{url} did not answer JSON; is {self.endpoint} a Hugging Face Hub?") from exc
        return parse_listing(document, repo, revision)

    def file_url(self, repo: str, commit: str, name: str) -> str:
        """``{endpoint}/{repo}/resolve/{commit}/{file}``."""
        return f"{self.endpoint}/{repo}/resolve/{commit}/{quote(name)}"

    def open_file(self, repo: str, commit: str, name: str, offset: int) -> Response:
        """Open a file for reading from ``offset`` (a ``Range`` request when it is not 0).

        HTTP errors become :class:`WeightsError`; connection problems stay ``OSError`` so the
        caller can resume.
        """
        headers, unredirected = self._headers()
        if offset:
            headers["Range"] = f"bytes={offset}-"
        try:
            response = self._open(
                self.file_url(repo, commit, name), headers=headers, unredirected_headers=unredirected
            )
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc, repo, commit, f"download {name} of") from exc
        status = int(getattr(response, "status", None) or response.getcode())
        return Response(status=status, headers=dict(response.headers.items()), body=response)

    def _http_error(self, exc: urllib.error.HTTPError, repo: str, revision: str, doing: str) -> WeightsError:
        """A message for an HTTP error status that says what to do about it."""
        code = exc.code
        where = f"{repo}@{revision} at {self.endpoint}"
        if code in (401, 403):
            if self.token is None:
                return WeightsError(
                    f"{self.host} answered {code} to the request to {doing} {where}: the repository is "
                    f"gated or private and no Hugging Face token was found. Accept its terms on "
                    f"{self.endpoint}/{repo} with your account, then {TOKEN_HELP}"
                )
            return WeightsError(
                f"{self.host} answered {code} to the request to {doing} {where} with the token from "
                f"{self.token.source}: the token is not valid or its account has no access to this "
                f"repository (accept the terms on {self.endpoint}/{repo}, or use a token that has access)"
            )
        if code == 404:
            return WeightsError(
                f"{self.host} answered 404 to the request to {doing} {where}: no such repository, "
                f"revision or file (check the repo and revision in sovereign_model_sources)"
            )
        return WeightsError(f"{self.host} answered {code} {exc.reason} to the request to {doing} {where}")

    def _unreachable(self, exc: BaseException, what: str) -> WeightsError:
        """A connection failure, with the ways out: a mirror or offline mode."""
        return WeightsError(
            f"could not reach {self.endpoint} for {what}: {exc}. If this controller cannot reach it, set "
            f"{ENDPOINT_VAR} to an internal mirror, or set sovereign_artifact_offline: true and fill "
            "the cache from a connected controller (docs/model-weights.md)"
        )


def home_directory() -> Path:
    """The controller user's home, for the default token file."""
    return Path(os.path.expanduser("~"))

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Model weights in the controller's artifact cache: fetched once, resumable, verified, recorded.

Layout under the artifact cache directory::

    models/<repo>/<commit>/<file>            the repository's files, as named in the repository
    models/<repo>/<commit>/<file>.part       a download in progress (resumed with Range)
    models/<repo>/<commit>.manifest.json     what is known and what was fetched at that commit
    models/<repo>/refs.json                  revision asked -> commit, for offline runs

The manifest sits beside the commit directory rather than in it, so a repository file called
``manifest.json`` cannot collide with it and the directory holds only the repository's files.
A file is verified against the Hub's LFS sha256 or, for small non-LFS files, its git blob id
(``sha1("blob <size>\\0" + bytes)``); its sha256 is recorded either way, because that is what the
engine role checks on the controller and on the host.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.artifacts import Feedback, sha256_of
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_hub import (
    HubClient,
    Listing,
    Response,
    is_commit,
    parse_listing,
    safe_file_name,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_sources import (
    DIRECTORY_FORMATS,
    ModelSource,
    RemoteFile,
    WantedModel,
    WeightsError,
    select_files,
)

MODELS_DIR = "models"
MANIFEST_SUFFIX = ".manifest.json"
PART_SUFFIX = ".part"
_CHUNK = 1 << 20
# Same threshold as the artifact cache: smaller files are done before a percentage helps.
_PROGRESS_MIN_BYTES = 16 << 20
_MIB = 1 << 20


@dataclass(frozen=True)
class FileRef:
    """One file of one repository at one commit."""

    repo: str
    commit: str
    remote: RemoteFile

    @property
    def label(self) -> str:
        """How messages name it: ``Qwen/Qwen3-8B-GGUF@0123abcd4567 Qwen3-8B-Q4_K_M.gguf``."""
        return f"{self.repo}@{self.commit[:12]} {self.remote.name}"


@dataclass
class FetchReport:
    """What :meth:`WeightsCache.ensure` did, and the ``engine_models`` entries it made."""

    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)
    changed: bool = False

    def count(self, state: str) -> int:
        """How many files ended in ``state``."""
        return sum(1 for entry in self.files if entry["state"] == state)


class _Hashes:
    """sha256 and, for files the Hub keeps in git rather than LFS, the git blob sha1, fed chunk by chunk."""

    def __init__(self, size: int, git: bool = True) -> None:
        self.sha256 = hashlib.sha256()
        self.git = hashlib.sha1(f"blob {size}\0".encode(), usedforsecurity=False) if git else None

    def update(self, chunk: bytes) -> None:
        self.sha256.update(chunk)
        if self.git is not None:
            self.git.update(chunk)

    def git_id(self) -> str:
        """The git blob id (only for a file hashed with ``git=True``)."""
        if self.git is None:
            raise AssertionError("the git blob id of an LFS file is not computed")
        return self.git.hexdigest()


def _feed_file(hashes: _Hashes, path: Path) -> None:
    """Hash what a partial download already holds."""
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            hashes.update(chunk)


def git_blob_id(path: Path) -> str:
    """The git blob id of a file: ``sha1("blob <size>\\0" + bytes)``."""
    hashes = _Hashes(path.stat().st_size)
    _feed_file(hashes, path)
    return hashes.git_id()


def _write_json(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        json.dump(document, stream, indent=2, sort_keys=True)
        stream.write("\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def _read_json(path: Path) -> dict[str, Any]:
    """A JSON object from the cache, or an empty one when there is none."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise WeightsError(f"{path} is not readable JSON ({exc}); delete it and run again") from exc
    return document if isinstance(document, dict) else {}


class WeightsCache:
    """``<cache>/models/<repo>/<commit>/<file>`` with a manifest per repository and commit."""

    def __init__(
        self, cache_dir: str | Path, client: HubClient, feedback: Feedback | None = None, retries: int = 3
    ) -> None:
        self.root = Path(os.path.expanduser(str(cache_dir))) / MODELS_DIR
        self.client = client
        self._feedback = feedback or Feedback()
        self._retries = retries

    # ----------------------------------------------------------------------------- layout
    def snapshot(self, repo: str, commit: str) -> Path:
        """The directory holding ``repo``'s files at ``commit``."""
        return self.root.joinpath(*repo.split("/"), commit)

    def manifest_path(self, repo: str, commit: str) -> Path:
        """``<cache>/models/<repo>/<commit>.manifest.json``."""
        return self.root.joinpath(*repo.split("/"), commit + MANIFEST_SUFFIX)

    def refs_path(self, repo: str) -> Path:
        """``<cache>/models/<repo>/refs.json``: revision asked -> commit."""
        return self.root.joinpath(*repo.split("/"), "refs.json")

    def manifest(self, repo: str, commit: str) -> dict[str, Any]:
        """The manifest of ``repo`` at ``commit`` (empty when there is none yet)."""
        return _read_json(self.manifest_path(repo, commit))

    # ----------------------------------------------------------------------------- the work
    def ensure(
        self, wanted: Iterable[tuple[WantedModel, ModelSource]], *, offline: bool, check_mode: bool
    ) -> FetchReport:
        """Make every wanted model's files present and verified; describe them as engine_models entries.

        Offline mode makes no request and fails once listing everything missing; check mode makes
        listing requests only, writes nothing and reports what would be fetched.
        """
        pairs = list(wanted)
        listings, missing = self._listings(pairs, offline, check_mode)
        needs = {
            model.model_path: (model, source, self._refs(model, source, listings[source.key]))
            for model, source in pairs
            if source.key in listings
        }
        states: dict[FileRef, tuple[str, str | None]] = {}
        todo: list[FileRef] = []
        for ref in dict.fromkeys(ref for _model, _source, refs in needs.values() for ref in refs):
            found = self._cached(ref, check_mode)
            if found is None:
                todo.append(ref)
            else:
                states[ref] = found
        if offline and (todo or missing):
            raise WeightsError(self._offline_message(todo, missing))
        self._check_space(todo)
        for ref in todo:
            if check_mode:
                self._feedback.say(f"model weights {ref.label}: would download {_mib(ref.remote.size)}")
                states[ref] = ("would_download", ref.remote.lfs_sha256)
            else:
                states[ref] = ("downloaded", self._download(ref))
        report = FetchReport()
        for model, source, refs in needs.values():
            self._record_models(report, model, source, refs, states)
        report.files = [self._describe(ref, state, digest) for ref, (state, digest) in states.items()]
        if not check_mode:
            report.changed |= self._write_manifests(pairs, listings, states)
        report.changed |= any(state != "cached" for state, _digest in states.values())
        return report

    def _listings(
        self, pairs: list[tuple[WantedModel, ModelSource]], offline: bool, check_mode: bool
    ) -> tuple[dict[tuple[str, str], Listing], list[str]]:
        """Each source's listing, once per repository and revision; and the ones offline mode lacks."""
        listings: dict[tuple[str, str], Listing] = {}
        missing: list[str] = []
        for source in dict.fromkeys(source for _model, source in pairs):
            if source.key in listings:
                continue
            listing = self._listing(source, offline, check_mode)
            if listing is None:
                missing.append(
                    f"  - {source.repo}@{source.revision}: no listing in the cache (expected "
                    f"{self.refs_path(source.repo)} naming its commit, and that commit's manifest)"
                )
            else:
                listings[source.key] = listing
        return listings, missing

    def _refs(self, model: WantedModel, source: ModelSource, listing: Listing) -> list[FileRef]:
        """The files ``model`` needs from ``listing``."""
        names = select_files(model, source, list(listing.files.values()))
        return [FileRef(source.repo, listing.commit, listing.files[name]) for name in names]

    def _describe(self, ref: FileRef, state: str, digest: str | None) -> dict[str, Any]:
        """One file of the result."""
        return {
            "repo": ref.repo,
            "commit": ref.commit,
            "file": ref.remote.name,
            "size": ref.remote.size,
            "sha256": digest,
            "path": str(self.snapshot(ref.repo, ref.commit) / ref.remote.name),
            "state": state,
        }

    def _check_space(self, todo: list[FileRef]) -> None:
        """Fail before the first byte when the cache's file system cannot hold what is to come."""
        needed = 0
        for ref in todo:
            part = self.snapshot(ref.repo, ref.commit) / (ref.remote.name + PART_SUFFIX)
            needed += ref.remote.size - (part.stat().st_size if part.is_file() else 0)
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        free = shutil.disk_usage(existing).free
        if needed > free:
            raise WeightsError(
                f"the weights to fetch need {_mib(needed)} but {existing} has {_mib(free)} free: free space "
                "there or set sovereign_artifact_cache_dir to a larger file system. Files: "
                + ", ".join(f"{ref.label} ({_mib(ref.remote.size)})" for ref in todo)
            )

    def _listing(self, source: ModelSource, offline: bool, check_mode: bool) -> Listing | None:
        """The repository's files at the source's revision: from the cache when it cannot have moved."""
        commit = source.revision if is_commit(source.revision) else None
        if commit is None and offline:
            commit = _read_json(self.refs_path(source.repo)).get(source.revision)
        if commit is not None:
            known = self.manifest(source.repo, str(commit)).get("listing")
            if known:
                return parse_listing({"sha": commit, "siblings": known}, source.repo, source.revision)
        if offline:
            return None
        listing = self.client.listing(source.repo, source.revision)
        if not check_mode:
            refs = _read_json(self.refs_path(source.repo))
            if refs.get(source.revision) != listing.commit:
                _write_json(self.refs_path(source.repo), {**refs, source.revision: listing.commit})
        return listing

    def _cached(self, ref: FileRef, check_mode: bool) -> tuple[str, str] | None:
        """``("cached", sha256)`` for a verified cached copy, ``("adopted", sha256)`` for a verified
        file the manifest did not know yet (copied in by hand), else None."""
        path = self.snapshot(ref.repo, ref.commit) / ref.remote.name
        if not path.is_file() or path.stat().st_size != ref.remote.size:
            return None
        recorded = self.manifest(ref.repo, ref.commit).get("files", {}).get(ref.remote.name, {})
        digest = sha256_of(path)
        if ref.remote.lfs_sha256 is not None:
            verified = digest == ref.remote.lfs_sha256
        else:
            verified = git_blob_id(path) == ref.remote.blob_id
        if not verified:
            self._feedback.say(f"model weights {ref.label}: cached copy does not verify; fetching it again")
            return None
        if recorded.get("sha256") == digest and recorded.get("size") == ref.remote.size:
            self._feedback.say(f"model weights {ref.label}: in cache, sha256 {digest}")
            return ("cached", digest)
        self._feedback.say(
            f"model weights {ref.label}: found in the cache unrecorded, verified; recording it"
        )
        return ("would_adopt" if check_mode else "adopted", digest)

    def _download(self, ref: FileRef) -> str:
        """Fetch ``ref`` to ``<file>.part`` (resuming what is there), verify, rename; its sha256."""
        target = self.snapshot(ref.repo, ref.commit) / safe_file_name(ref.remote.name, ref.repo)
        part = target.with_name(target.name + PART_SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        size = ref.remote.size
        failures = 0
        while True:
            offset = part.stat().st_size if part.is_file() else 0
            if offset > size:
                part.unlink()
                offset = 0
            try:
                hashes = self._fetch_into(ref, part, offset)
                break
            except (OSError, HTTPException) as exc:
                failures += 1
                held = part.stat().st_size if part.is_file() else 0
                if failures > self._retries:
                    raise WeightsError(
                        f"download of {ref.label} from {self.client.host} failed {failures} times, last "
                        f"after {held} of {size} bytes ({exc}); {part} is kept: run again to resume from "
                        "there. If this controller cannot reach the Hub, set sovereign_hf_endpoint to a "
                        "mirror or fill the cache from a connected controller (docs/model-weights.md)"
                    ) from exc
                self._feedback.say(
                    f"model weights {ref.label}: connection lost after {held} of {size} bytes ({exc}); "
                    "resuming"
                )
        self._verify(ref, part, hashes)
        part.chmod(0o644)
        os.replace(part, target)
        return hashes.sha256.hexdigest()

    def _fetch_into(self, ref: FileRef, part: Path, offset: int) -> _Hashes:
        """One request: append from ``offset`` on a 206, restart on a 200; the hashes of the whole file."""
        size = ref.remote.size
        hashes = _Hashes(size, git=ref.remote.lfs_sha256 is None)
        if offset == size and offset > 0:
            _feed_file(hashes, part)
            return hashes
        response = self.client.open_file(ref.repo, ref.commit, ref.remote.name, offset)
        try:
            resumed = offset > 0 and _resumes_at(response, offset)
            declared = _declared_size(response, resumed)
            if declared is not None and declared != size:
                part.unlink(missing_ok=True)
                raise WeightsError(
                    f"{self.client.file_url(ref.repo, ref.commit, ref.remote.name)} serves {declared} bytes, "
                    f"the Hub lists {size} for {ref.label}; nothing was put in the cache. The endpoint (or a "
                    "proxy) serves another file than the repository holds"
                )
            if offset and not resumed:
                self._feedback.say(
                    f"model weights {ref.label}: the server did not resume at byte {offset}; starting over"
                )
            if resumed:
                _feed_file(hashes, part)
                self._feedback.say(
                    f"model weights {ref.label}: resuming at {_mib(offset)} of {_mib(size)} "
                    f"from {self.client.host}"
                )
            else:
                offset = 0
                self._feedback.say(
                    f"model weights {ref.label}: downloading {_mib(size)} from {self.client.host}"
                )
            done = offset
            next_report = (done * 100 // size // 10 + 1) * 10 if size else 100
            with part.open("ab" if resumed else "wb") as sink:
                for chunk in iter(lambda: response.body.read(_CHUNK), b""):
                    hashes.update(chunk)
                    sink.write(chunk)
                    done += len(chunk)
                    if size >= _PROGRESS_MIN_BYTES and done * 100 >= next_report * size:
                        self._feedback.detail(
                            f"model weights {ref.label}: {done * 100 // size}% of {_mib(size)}"
                        )
                        next_report = done * 100 // size // 10 * 10 + 10
        finally:
            response.body.close()
        if done != size:
            raise ConnectionError(f"the response ended after {done} of {size} bytes")
        return hashes

    def _verify(self, ref: FileRef, part: Path, hashes: _Hashes) -> None:
        """Compare with the Hub's LFS sha256 (or git blob id); delete the download when it differs."""
        if ref.remote.lfs_sha256 is not None:
            kind, expected, actual = "sha256", ref.remote.lfs_sha256, hashes.sha256.hexdigest()
        else:
            kind, expected, actual = "git blob id", ref.remote.blob_id, hashes.git_id()
        if actual == expected:
            return
        part.unlink(missing_ok=True)
        raise WeightsError(
            f"{kind} mismatch for {ref.label} downloaded from "
            f"{self.client.file_url(ref.repo, ref.commit, ref.remote.name)}: the Hub lists {expected}, "
            f"the download has {actual}. The download was deleted and nothing was put in the cache; "
            "if it happens again, the endpoint (or a proxy) serves other bytes than the repository holds"
        )

    def _record_models(
        self,
        report: FetchReport,
        model: WantedModel,
        source: ModelSource,
        refs: list[FileRef],
        states: Mapping[FileRef, tuple[str, str | None]],
    ) -> None:
        """The engine_models entry of ``model``: ``{src, sha256}`` or ``{src: dir, files: {...}}``."""
        snapshot = self.snapshot(source.repo, refs[0].commit)
        if model.format in DIRECTORY_FORMATS:
            report.models[model.model_path] = {
                "src": str(snapshot),
                "files": {ref.remote.name: states[ref][1] for ref in refs},
            }
        else:
            (ref,) = refs
            report.models[model.model_path] = {
                "src": str(snapshot / ref.remote.name),
                "sha256": states[ref][1],
            }

    def _write_manifests(
        self,
        pairs: list[tuple[WantedModel, ModelSource]],
        listings: Mapping[tuple[str, str], Listing],
        states: Mapping[FileRef, tuple[str, str | None]],
    ) -> bool:
        """Record listings and verified files per repository and commit; True when a manifest changed."""
        changed = False
        revisions = {source.key: source.revision for _model, source in pairs}
        for key, listing in listings.items():
            repo = key[0]
            path = self.manifest_path(repo, listing.commit)
            old = self.manifest(repo, listing.commit)
            files = dict(old.get("files", {}))
            for ref, (state, digest) in states.items():
                if ref.repo != repo or ref.commit != listing.commit:
                    continue
                entry = files.get(ref.remote.name, {})
                if state != "cached" or entry.get("sha256") != digest:
                    entry = {
                        "size": ref.remote.size,
                        "sha256": digest,
                        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    }
                files[ref.remote.name] = entry
            new = {
                "repo": repo,
                "revision": old.get("revision", revisions[key]),
                "commit": listing.commit,
                "endpoint": old.get("endpoint", self.client.host),
                "listing": [_listed(item) for item in sorted(listing.files.values(), key=lambda f: f.name)],
                "files": files,
            }
            if new != old:
                _write_json(path, new)
                changed = True
        return changed

    def _offline_message(self, todo: list[FileRef], missing: list[str]) -> str:
        """The one failure offline mode gives: everything missing, where it belongs, where to get it."""
        lines = list(missing)
        for ref in todo:
            lines.append(
                f"  - {ref.label} ({_mib(ref.remote.size)})\n"
                f"      expected at: {self.snapshot(ref.repo, ref.commit) / ref.remote.name}\n"
                f"      get it from: {self.client.file_url(ref.repo, ref.commit, ref.remote.name)}"
            )
        return (
            f"sovereign_artifact_offline is true and {len(lines)} model weight item(s) are not in the cache "
            f"{self.root}:\n" + "\n".join(lines) + "\n"
            "Run the same play on a controller that can reach the Hub (or sovereign_hf_endpoint), then "
            f"copy its {self.root} directory here (docs/model-weights.md)."
        )


def _resumes_at(response: Response, offset: int) -> bool:
    """A 206 whose Content-Range starts where the partial file ends."""
    content_range = response.headers.get("Content-Range") or response.headers.get("content-range") or ""
    return response.status == 206 and content_range.startswith(f"bytes {offset}-")


def _declared_size(response: Response, resumed: bool) -> int | None:
    """The whole file's size as the response states it (Content-Range total or Content-Length)."""
    headers = {key.lower(): value for key, value in response.headers.items()}
    text = (
        headers.get("content-range", "").rpartition("/")[2] if resumed else headers.get("content-length", "")
    )
    return int(text) if text.isdigit() else None


def _listed(item: RemoteFile) -> dict[str, Any]:
    """A listing entry as the Hub spells it, so the manifest's listing parses like an answer."""
    entry: dict[str, Any] = {"rfilename": item.name, "size": item.size, "blobId": item.blob_id}
    if item.lfs_sha256 is not None:
        entry["lfs"] = {"sha256": item.lfs_sha256, "size": item.size}
    return entry


def _mib(size: int) -> str:
    """A size for progress lines."""
    return f"{size / _MIB:.1f} MiB" if size >= _MIB else f"{size} bytes"

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The controller-side artifact cache: catalog resolution, download, verification and seeding.

Hosts never download. Every release file a role installs (``catalogs/artifacts.yml``) is fetched
once into a cache on the controller, verified against its sha256, and pushed to hosts from there
(role ``artifacts``). Cache layout and mirror layout are the same,
``<name>/<version>/<filename>`` with ``<filename>.sha256`` beside it, so serving a cache directory
over HTTP makes a mirror. docs/artifact-cache.md is the user-facing description.

``ansible.builtin.get_url`` is not used: the cache needs one failure that lists every missing file
(offline mode), a shared download per platform across hosts, mirror rewriting and seeding from a
directory, none of which a per-host module can give. Downloads go through Ansible's own
``open_url`` so proxies and CA settings behave as they do for every other Ansible download.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from http.client import HTTPException
from pathlib import Path, PurePosixPath
from typing import IO, Any
from urllib.parse import urlsplit

import yaml
from ansible.module_utils.urls import open_url
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import catalog_path

DEFAULT_CATALOG_PATH = catalog_path("artifacts.yml")
DEFAULT_CACHE_DIR = "~/.cache/sovereign-stack/artifacts"
SEED_COMMAND = (
    "ansible-playbook -i <your inventory> sovereign.stack.artifacts_seed -e artifacts_seed_dir=<dir>"
)
RECORD_SUFFIX = ".sha256"
OVERRIDES_VAR = "sovereign_artifacts"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_MODE = re.compile(r"^0[0-7]{3}$")
_CHUNK = 1 << 20
# Below this size a download is over before a percentage would be worth printing.
_PROGRESS_MIN_BYTES = 16 << 20
_CHECKSUM_FILE_MAX_BYTES = 1 << 20
# ansible_facts['architecture'] spellings (and Debian/Go ones seen in file names) per catalog arch.
_ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
# Apple and Go call 64-bit ARM "arm64"; Linux kernels and the catalog's Linux keys say "aarch64".
_ARCH_NAME_PER_OS = {"darwin": {"aarch64": "arm64"}}

Opener = Callable[[str], tuple[IO[bytes], int | None]]
Say = Callable[[str], None]


class ArtifactError(ValueError):
    """A catalog, cache or download problem, worded so the user knows what to change."""


def _quiet(_message: str) -> None:
    """Feedback sink for callers that want none."""


@dataclass(frozen=True)
class Feedback:
    """Where progress goes: ``say`` for one line per artifact, ``detail`` for percentages."""

    say: Say = _quiet
    detail: Say = _quiet


@dataclass(frozen=True)
class Variant:
    """One platform's file of an artifact, as the catalog (plus inventory overrides) gives it."""

    platform: str
    url: str
    filename: str
    mode: str
    sha256: str | None
    checksum_url: str | None


@dataclass(frozen=True)
class ArtifactSpec:
    """One catalog entry: a named, versioned release with a file per platform."""

    name: str
    version: str
    source: str
    variants: Mapping[str, Variant]

    def resolve(self, platform: str, needed_by: str) -> ArtifactFile:
        """The file for ``platform``; an error naming the available platforms when there is none."""
        variant = self.variants.get(platform)
        if variant is None:
            available = ", ".join(sorted(self.variants)) or "none"
            raise ArtifactError(
                f"artifact {self.name!r} {self.version} has no variant for platform {platform!r} "
                f"(needed by {needed_by}); available: {available}. Add one under "
                f"{OVERRIDES_VAR}.{self.name}.variants.{platform} (url, filename, sha256 or checksum_url)."
            )
        return ArtifactFile(name=self.name, version=self.version, variant=variant)


@dataclass(frozen=True)
class ArtifactFile:
    """One file to have in the cache: an artifact's variant for one platform."""

    name: str
    version: str
    variant: Variant

    @property
    def label(self) -> str:
        """How messages name this file: ``qdrant 1.19.1 (linux-x86_64)``."""
        return f"{self.name} {self.version} ({self.variant.platform})"

    @property
    def relative_path(self) -> PurePosixPath:
        """``<name>/<version>/<filename>``: the layout of the cache, of mirrors and of hosts."""
        return PurePosixPath(self.name, self.version, self.variant.filename)

    def where_to_get(self) -> str:
        """The download URL and how it is verified, for messages."""
        how = (
            f"sha256 {self.variant.sha256}"
            if self.variant.sha256
            else f"sha256 from {self.variant.checksum_url}"
        )
        return f"{self.variant.url} ({how})"


# ---------------------------------------------------------------------------------------------
# Catalog
# ---------------------------------------------------------------------------------------------


def platform_key(system: str, architecture: str) -> str:
    """Catalog platform key (``linux-x86_64``, ``linux-aarch64``, ``darwin-arm64``) for host facts.

    ``system`` and ``architecture`` are ``ansible_facts['system']`` and
    ``ansible_facts['architecture']``; Debian/Go spellings (amd64, arm64) are accepted too.
    """
    os_name = str(system).strip().lower()
    arch = _ARCH_ALIASES.get(str(architecture).strip().lower())
    if not os_name or arch is None:
        raise ArtifactError(
            f"cannot map system={system!r} architecture={architecture!r} to an artifact platform; "
            f"known architectures: {', '.join(sorted(_ARCH_ALIASES))}"
        )
    return f"{os_name}-{_ARCH_NAME_PER_OS.get(os_name, {}).get(arch, arch)}"


def load_catalog(
    overrides: Mapping[str, Any] | None = None,
    catalog_path: Path = DEFAULT_CATALOG_PATH,
) -> dict[str, ArtifactSpec]:
    """Read the shipped catalog, apply ``sovereign_artifacts`` overrides and validate every entry."""
    try:
        document = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ArtifactError(f"{catalog_path}: cannot read the artifact catalog ({exc})") from exc
    entries = document.get("artifacts") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise ArtifactError(f"{catalog_path}: expected a mapping under 'artifacts'")
    merged = merge_overrides(entries, overrides or {})
    return {
        name: parse_spec(
            name, raw, f"{OVERRIDES_VAR}.{name}" if name in (overrides or {}) else f"{catalog_path}: {name}"
        )
        for name, raw in merged.items()
    }


def merge_overrides(catalog: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Merge inventory overrides into the catalog, per artifact.

    Keys given for an artifact replace the catalog's; ``variants``, when given, replace the
    catalog's variants as a whole, because a version's files and hashes only make sense together.
    Changing ``version`` without giving ``variants`` is refused: the old files would be cached
    under the new version's name.
    """
    if not isinstance(overrides, Mapping):
        raise ArtifactError(
            f"{OVERRIDES_VAR} must be a mapping of artifact name to settings, got {type(overrides).__name__}"
        )
    merged: dict[str, Any] = {name: dict(entry) for name, entry in catalog.items()}
    for name, override in overrides.items():
        if not isinstance(override, Mapping):
            raise ArtifactError(
                f"{OVERRIDES_VAR}.{name} must be a mapping (version, source, variants), "
                f"got {type(override).__name__}"
            )
        base = merged.get(name, {})
        version_changed = "version" in override and str(override["version"]) != str(base.get("version"))
        if base and version_changed and "variants" not in override:
            raise ArtifactError(
                f"{OVERRIDES_VAR}.{name}.version changes {name} from {base.get('version')} to "
                f"{override['version']} but gives no variants; give {OVERRIDES_VAR}.{name}.variants "
                "with the new version's url, filename and sha256 (or checksum_url) per platform"
            )
        merged[name] = {**base, **override}
    return merged


def parse_spec(name: str, raw: object, where: str) -> ArtifactSpec:
    """Validate one catalog entry; ``where`` names it in errors (catalog key or inventory path)."""
    if not isinstance(raw, Mapping):
        raise ArtifactError(f"{where}: expected a mapping with version, source and variants")
    version = _required_text(raw, "version", where)
    source = _required_text(raw, "source", where)
    default_mode = _mode(raw.get("mode", "0644"), f"{where}.mode")
    variants_raw = raw.get("variants")
    if not isinstance(variants_raw, Mapping) or not variants_raw:
        raise ArtifactError(f"{where}.variants: expected a mapping of platform (e.g. linux-x86_64) to file")
    variants = {
        str(platform): _parse_variant(str(platform), body, default_mode, f"{where}.variants.{platform}")
        for platform, body in variants_raw.items()
    }
    return ArtifactSpec(name=name, version=version, source=source, variants=variants)


def _parse_variant(platform: str, raw: object, default_mode: str, where: str) -> Variant:
    """Validate one platform's file entry."""
    if not isinstance(raw, Mapping):
        raise ArtifactError(f"{where}: expected a mapping with url, filename and sha256 or checksum_url")
    url = _required_text(raw, "url", where)
    filename = _required_text(raw, "filename", where)
    if "/" in filename or filename in (".", ".."):
        raise ArtifactError(f"{where}.filename: {filename!r} must be a plain file name, without '/'")
    sha256 = raw.get("sha256")
    checksum_url = raw.get("checksum_url")
    if (sha256 is None) == (checksum_url is None):
        raise ArtifactError(
            f"{where}: give exactly one of sha256 (the pinned upstream hash) or checksum_url "
            "(the upstream's published checksum file)"
        )
    if sha256 is not None:
        sha256 = str(sha256).strip().lower()
        if not _SHA256.match(sha256):
            raise ArtifactError(f"{where}.sha256: {raw.get('sha256')!r} is not 64 hexadecimal digits")
    return Variant(
        platform=platform,
        url=url,
        filename=filename,
        mode=_mode(raw.get("mode", default_mode), f"{where}.mode"),
        sha256=sha256,
        checksum_url=str(checksum_url) if checksum_url is not None else None,
    )


def _required_text(raw: Mapping[str, Any], key: str, where: str) -> str:
    """A non-empty string field, or an error naming it."""
    value = raw.get(key)
    if value is None or str(value).strip() == "":
        raise ArtifactError(f"{where}.{key} is required")
    return str(value).strip()


def _mode(value: object, where: str) -> str:
    """A file mode as a quoted four-digit octal string."""
    text = str(value)
    if not _MODE.match(text):
        raise ArtifactError(f"{where}: {value!r} is not a quoted octal mode such as '0644' or '0755'")
    return text


def select(catalog: Mapping[str, ArtifactSpec], names: Iterable[str]) -> list[ArtifactSpec]:
    """The catalog entries for ``names``, or an error listing the unknown ones and the known ones."""
    names = list(names)
    unknown = [name for name in names if name not in catalog]
    if unknown:
        raise ArtifactError(
            f"unknown artifact(s) {', '.join(map(repr, unknown))}; the catalog has: "
            f"{', '.join(sorted(catalog))}. Add new ones under {OVERRIDES_VAR}."
        )
    return [catalog[name] for name in dict.fromkeys(names)]


# ---------------------------------------------------------------------------------------------
# Mirror and checksum files
# ---------------------------------------------------------------------------------------------


def with_mirror(artifact: ArtifactFile, mirror: str | None) -> ArtifactFile:
    """The same file fetched from ``mirror``: ``<mirror>/<name>/<version>/<filename>``.

    A ``checksum_url`` entry is verified against ``<mirror>/<name>/<version>/<filename>.sha256``,
    the record the cache writes beside every file; pinned hashes stay pinned.
    """
    if not mirror:
        return artifact
    base = mirror.rstrip("/")
    if not urlsplit(base).scheme:
        raise ArtifactError(
            f"sovereign_artifact_mirror {mirror!r} is not a URL; give a base such as https://mirror.lan/artifacts"
        )
    url = f"{base}/{artifact.relative_path}"
    checksum_url = f"{url}{RECORD_SUFFIX}" if artifact.variant.checksum_url else None
    return replace(artifact, variant=replace(artifact.variant, url=url, checksum_url=checksum_url))


def parse_checksum_file(text: str, filename: str, source: str) -> str:
    """The sha256 for ``filename`` in a checksum file's ``text`` (``source`` names it in errors).

    Accepts a file holding one bare hash (``<file>.sha256`` style), ``sha256sum`` output
    (``<hash>  <path>``, ``<hash> *<path>``; the path's last component must equal ``filename``)
    and BSD ``SHA256 (<path>) = <hash>`` lines.
    """
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    bsd = re.compile(r"^SHA256 \((?P<path>.+)\) = (?P<hash>[0-9a-fA-F]{64})$")
    named: dict[str, str] = {}
    for line in lines:
        match = bsd.match(line)
        if match:
            named[PurePosixPath(match["path"]).name] = match["hash"].lower()
            continue
        digest, _separator, path = line.partition(" ")
        if not _SHA256.match(digest.lower()):
            continue
        path = path.strip().lstrip("*")
        if not path:
            if len(lines) == 1:
                return digest.lower()
            continue
        named[PurePosixPath(path).name] = digest.lower()
    if filename in named:
        return named[filename]
    listed = ", ".join(sorted(named)) or "no sha256 lines"
    raise ArtifactError(f"checksum file {source} has no sha256 for {filename!r} (it lists: {listed})")


# ---------------------------------------------------------------------------------------------
# Files and hashes
# ---------------------------------------------------------------------------------------------


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def default_opener(url: str) -> tuple[IO[bytes], int | None]:
    """Open ``url`` with Ansible's HTTP client; the stream and its Content-Length, when sent."""
    response = open_url(url, timeout=60, follow_redirects="all")
    length = response.headers.get("Content-Length")
    return response, int(length) if length and length.isdigit() else None


def _download_error(artifact: ArtifactFile, url: str, exc: Exception) -> ArtifactError:
    """A download failure with the ways out: mirror, offline mode and seeding."""
    return ArtifactError(
        f"could not download {artifact.label} from {url}: {exc}. If this controller cannot reach it, "
        "set sovereign_artifact_mirror to an internal mirror, or set sovereign_artifact_offline: true "
        f"and seed the cache: {SEED_COMMAND}"
    )


@dataclass
class CacheState:
    """What the cache holds for one file: ``present`` (verified), ``missing`` or ``corrupt``."""

    state: str
    expected: str | None = None
    actual: str | None = None


@dataclass
class CacheReport:
    """The outcome of :func:`ArtifactCache.ensure` for a set of files."""

    downloaded: list[ArtifactFile] = field(default_factory=list)
    cached: list[ArtifactFile] = field(default_factory=list)
    would_download: list[ArtifactFile] = field(default_factory=list)
    hashes: dict[ArtifactFile, str] = field(default_factory=dict)


@dataclass
class SeedReport:
    """The outcome of :func:`ArtifactCache.seed`."""

    seeded: list[str] = field(default_factory=list)
    already_cached: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class ArtifactCache:
    """``<root>/<name>/<version>/<filename>`` plus a ``<filename>.sha256`` record of the verified hash."""

    def __init__(self, root: str | Path, opener: Opener | None = None, feedback: Feedback | None = None):
        self.root = Path(os.path.expanduser(str(root)))
        self._open = opener or default_opener
        self._feedback = feedback or Feedback()

    def path(self, artifact: ArtifactFile) -> Path:
        """Where ``artifact`` lives in the cache."""
        return self.root.joinpath(*artifact.relative_path.parts)

    def _record(self, artifact: ArtifactFile) -> Path:
        """The ``<filename>.sha256`` record written once a file is verified."""
        path = self.path(artifact)
        return path.with_name(path.name + RECORD_SUFFIX)

    def _recorded_hash(self, artifact: ArtifactFile) -> str | None:
        """The hash recorded when the file was verified, if there is a readable record."""
        try:
            return parse_checksum_file(
                self._record(artifact).read_text(encoding="utf-8"),
                artifact.variant.filename,
                str(self._record(artifact)),
            )
        except (OSError, ArtifactError):
            return None

    def state(self, artifact: ArtifactFile) -> CacheState:
        """Whether the cached copy exists and matches the pinned hash (or the recorded one)."""
        path = self.path(artifact)
        if not path.is_file():
            return CacheState("missing", expected=artifact.variant.sha256)
        expected = artifact.variant.sha256 or self._recorded_hash(artifact)
        if expected is None:
            # A checksum_url file with no record was put there by hand: nothing to verify it against.
            return CacheState("missing")
        actual = sha256_of(path)
        if actual != expected:
            return CacheState("corrupt", expected=expected, actual=actual)
        return CacheState("present", expected=expected, actual=actual)

    def ensure(
        self,
        artifacts: Iterable[ArtifactFile],
        *,
        mirror: str | None = None,
        offline: bool = False,
        check_mode: bool = False,
    ) -> CacheReport:
        """Make every file present and verified, downloading what is missing.

        Offline mode downloads nothing and fails once listing every missing file; check mode
        downloads nothing and reports what would be downloaded.
        """
        report = CacheReport()
        todo: list[tuple[ArtifactFile, CacheState]] = []
        for artifact in dict.fromkeys(artifacts):
            state = self.state(artifact)
            if state.state == "present":
                self._feedback.say(f"artifact {artifact.label}: in cache, sha256 {state.actual}")
                report.cached.append(artifact)
                report.hashes[artifact] = str(state.actual)
            else:
                todo.append((artifact, state))
        if offline and todo:
            raise ArtifactError(self.offline_message(todo))
        for artifact, state in todo:
            if check_mode:
                self._feedback.say(f"artifact {artifact.label}: would download {artifact.variant.url}")
                report.would_download.append(artifact)
                continue
            if state.state == "corrupt":
                self._feedback.say(
                    f"artifact {artifact.label}: cached copy has sha256 {state.actual}, expected "
                    f"{state.expected}; downloading it again"
                )
            report.hashes[artifact] = self.download(with_mirror(artifact, mirror), artifact)
            report.downloaded.append(artifact)
        return report

    def offline_message(self, todo: Iterable[tuple[ArtifactFile, CacheState]]) -> str:
        """The one failure offline mode gives: every missing file, where it belongs, where to get it."""
        entries = []
        for artifact, state in todo:
            why = (
                f"      cached copy has sha256 {state.actual}, expected {state.expected}\n"
                if state.state == "corrupt"
                else ""
            )
            entries.append(
                f"  - {artifact.label}: {artifact.variant.filename}\n"
                f"      expected at: {self.path(artifact)}\n{why}"
                f"      get it from: {artifact.where_to_get()}"
            )
        return (
            f"sovereign_artifact_offline is true and {len(entries)} artifact file(s) are not in the "
            f"cache {self.root}:\n" + "\n".join(entries) + "\n"
            "Copy these files (and, for checksum_url entries, their checksum files) into one "
            f"directory on this controller and run:\n  {SEED_COMMAND}"
        )

    def download(self, source: ArtifactFile, artifact: ArtifactFile) -> str:
        """Stream ``source`` (``artifact``, mirror applied) to a temp file, verify, rename; its sha256."""
        expected = artifact.variant.sha256 or self._fetch_checksum(source)
        target = self.path(artifact)
        target.parent.mkdir(parents=True, exist_ok=True)
        self._feedback.say(f"artifact {artifact.label}: downloading {source.variant.url}")
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        ) as temp:
            temp_path = Path(temp.name)
            try:
                actual = self._stream(source, temp)
            except BaseException:
                temp.close()
                temp_path.unlink(missing_ok=True)
                raise
        if actual != expected:
            temp_path.unlink(missing_ok=True)
            raise ArtifactError(
                f"sha256 mismatch for artifact {artifact.label} downloaded from {source.variant.url}: "
                f"expected {expected}, got {actual}. The download was deleted and nothing was installed. "
                "If the upstream file really changed, update the catalog entry's sha256 (or your "
                f"{OVERRIDES_VAR}.{artifact.name} override) after checking why."
            )
        self._install(temp_path, artifact, actual)
        return actual

    def _stream(self, source: ArtifactFile, sink: IO[bytes]) -> str:
        """Copy the download into ``sink`` while hashing it; percentages go to ``detail``."""
        url = source.variant.url
        try:
            stream, total = self._open(url)
        except Exception as exc:  # urllib and Ansible raise many kinds; all end the same way
            raise _download_error(source, url, exc) from exc
        digest = hashlib.sha256()
        done = 0
        next_report = 10
        try:
            for chunk in iter(lambda: stream.read(_CHUNK), b""):
                digest.update(chunk)
                sink.write(chunk)
                done += len(chunk)
                if total and total >= _PROGRESS_MIN_BYTES and done * 100 >= next_report * total:
                    self._feedback.detail(
                        f"artifact {source.label}: {done * 100 // total}% of {total // (1 << 20)} MiB"
                    )
                    next_report = done * 100 // total // 10 * 10 + 10
        except (OSError, HTTPException) as exc:
            raise _download_error(source, url, exc) from exc
        finally:
            stream.close()
        return digest.hexdigest()

    def _fetch_checksum(self, source: ArtifactFile) -> str:
        """The expected hash from the (possibly mirrored) checksum file of a ``checksum_url`` entry."""
        url = str(source.variant.checksum_url)
        try:
            stream, _length = self._open(url)
            try:
                text = stream.read(_CHECKSUM_FILE_MAX_BYTES).decode("utf-8", errors="replace")
            finally:
                stream.close()
        except Exception as exc:  # same as _stream: every failure means "cannot verify, so no download"
            raise _download_error(source, url, exc) from exc
        return parse_checksum_file(text, source.variant.filename, url)

    def _install(self, verified: Path, artifact: ArtifactFile, digest: str) -> None:
        """Move a verified file into place (atomic rename) and write its hash record."""
        verified.chmod(0o644)
        os.replace(verified, self.path(artifact))
        record = self._record(artifact)
        temp_record = record.with_name(f".{record.name}.part")
        temp_record.write_text(f"{digest}  {artifact.variant.filename}\n", encoding="utf-8")
        os.replace(temp_record, record)

    def seed(self, catalog: Mapping[str, ArtifactSpec], directory: str | Path) -> SeedReport:
        """Copy every file in ``directory`` (recursively) that verifies against a catalog entry.

        A file is recognised by its name (a variant's ``filename``). Its expected hash is the
        pinned sha256, or for ``checksum_url`` entries the upstream checksum file (same base name
        as the checksum URL) or a ``<filename>.sha256`` record found beside it. Files that do not
        verify are reported and skipped.
        """
        seed_dir = Path(os.path.expanduser(str(directory)))
        if not seed_dir.is_dir():
            raise ArtifactError(f"artifacts_seed_dir {str(seed_dir)!r} is not a directory")
        index: dict[str, list[Path]] = {}
        for path in sorted(_walk_files(seed_dir)):
            index.setdefault(path.name, []).append(path)
        report = SeedReport()
        for spec in catalog.values():
            for variant in spec.variants.values():
                artifact = ArtifactFile(spec.name, spec.version, variant)
                for candidate in index.get(variant.filename, []):
                    if self._seed_one(artifact, candidate, index, report):
                        break
        return report

    def _seed_one(
        self, artifact: ArtifactFile, candidate: Path, index: Mapping[str, list[Path]], report: SeedReport
    ) -> bool:
        """Verify ``candidate`` and copy it into the cache; False when it was rejected."""
        try:
            expected = artifact.variant.sha256 or _seed_checksum(artifact, candidate, index)
        except ArtifactError as exc:
            report.rejected.append(f"{candidate}: {exc}")
            return False
        actual = sha256_of(candidate)
        if actual != expected:
            report.rejected.append(
                f"{candidate}: sha256 {actual} does not match {artifact.label}, expected {expected}"
            )
            return False
        if self.state(artifact).state == "present":
            report.already_cached.append(artifact.label)
            return True
        target = self.path(artifact)
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=target.parent, prefix=f".{target.name}.", suffix=".part", delete=False
        ) as temp, candidate.open("rb") as source:
            shutil.copyfileobj(source, temp, _CHUNK)
        self._install(Path(temp.name), artifact, actual)
        self._feedback.say(f"artifact {artifact.label}: seeded from {candidate}")
        report.seeded.append(artifact.label)
        return True


def _walk_files(root: Path) -> Iterator[Path]:
    """Every regular file under ``root``, following no symlinked directories."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder, name)
            if path.is_file():
                yield path


def _seed_checksum(artifact: ArtifactFile, candidate: Path, index: Mapping[str, list[Path]]) -> str:
    """Expected hash of a ``checksum_url`` file being seeded, from a checksum file near it."""
    names = [PurePosixPath(urlsplit(str(artifact.variant.checksum_url)).path).name]
    names.append(artifact.variant.filename + RECORD_SUFFIX)
    # A checksum file in the candidate's own folder wins over one of the same name elsewhere.
    found = [path for name in names for path in index.get(name, []) if path.parent == candidate.parent]
    found += [path for name in names for path in index.get(name, []) if path.parent != candidate.parent]
    for path in found:
        try:
            return parse_checksum_file(path.read_text(encoding="utf-8"), artifact.variant.filename, str(path))
        except (OSError, ArtifactError):
            continue
    raise ArtifactError(
        f"cannot verify {artifact.label}: its catalog entry has no pinned sha256, and no "
        f"{' or '.join(dict.fromkeys(names))} with its hash was found in the seed directory "
        f"(download it from {artifact.variant.checksum_url})"
    )

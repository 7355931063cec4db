# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which Hugging Face repository holds a planned model, and which of its files the plan needs.

Pure functions over plain data: ``sovereign_model_sources`` and the plan's deployments in, a
repository, a revision and a list of file names out. The network and the cache are in
weights_hub.py and weights_cache.py; docs/model-weights.md is the user-facing description.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

SOURCES_VAR = "sovereign_model_sources"
DEFAULT_REVISION = "main"
# Formats whose model_path is a directory of safetensors files plus config and tokenizer.
DIRECTORY_FORMATS = ("safetensors", "mlx")
FORMATS = ("gguf", *DIRECTORY_FORMATS)
# Formats whose checkpoints the model's authors publish in the model's own repository.
OWN_REPO_FORMATS = ("safetensors",)
_SOURCE_KEYS = {"repo", "revision", "files"}
_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*(/[A-Za-z0-9][A-Za-z0-9_.-]*)?$")
# Besides weights, what transformers-style loaders read: config, tokenizer, chat template.
_DIRECTORY_PATTERNS = (
    "*.safetensors",
    "*.json",
    "tokenizer.model",
    "*.tiktoken",
    "*.txt",
    "*.jinja",
)
_PICKLE_WEIGHTS = (".bin", ".pt", ".pth")
# original/ holds the authors' own checkpoint format (Meta's consolidated.*.pth) and onnx/ an
# export; neither is loaded by vLLM, SGLang or mlx-lm, and each can be as large as the weights.
_SKIPPED_DIRECTORIES = ("original", "onnx")
# Mistral repositories carry their native consolidated.safetensors beside the transformers
# shards: the same weights twice.
_CONSOLIDATED = re.compile(r"^consolidated(\.|-).*safetensors$")


class WeightsError(ValueError):
    """A source, selection, hub or cache problem, worded so the user knows what to change."""


@dataclass(frozen=True)
class ModelSource:
    """Where one deployment's weights come from: a repository at a revision, optional globs."""

    repo: str
    revision: str
    files: tuple[str, ...] | None
    origin: str

    @property
    def key(self) -> tuple[str, str]:
        """Deployments with the same key are listed once."""
        return (self.repo, self.revision)


@dataclass(frozen=True)
class WantedModel:
    """One planned model file or directory: what the plan asks for and where it goes on hosts."""

    model: str
    quant: str
    format: str
    model_path: str

    @property
    def label(self) -> str:
        """How messages name it: ``Qwen/Qwen3-8B Q4_K_M (gguf)``."""
        return f"{self.model} {self.quant} ({self.format})"


@dataclass(frozen=True)
class RemoteFile:
    """One file of a repository at a commit, as the Hub lists it."""

    name: str
    size: int
    blob_id: str
    lfs_sha256: str | None


def wanted_models(deployments: Iterable[Mapping[str, object]]) -> list[WantedModel]:
    """One entry per distinct model_path of plan deployments, each checked for the keys it needs."""
    found: dict[str, WantedModel] = {}
    problems: list[str] = []
    for index, item in enumerate(deployments):
        missing = [key for key in ("model", "quant", "format", "model_path") if not item.get(key)]
        if missing:
            problems.append(
                f"deployment {index} ({item.get('name', 'unnamed')}) has no {', '.join(missing)}: "
                "pass the plan's deployments (plan.json hosts.<host>.deployments)"
            )
            continue
        wanted = WantedModel(
            str(item["model"]), str(item["quant"]), str(item["format"]), str(item["model_path"])
        )
        if wanted.format not in FORMATS:
            problems.append(
                f"deployment {item.get('name', index)}: format {wanted.format!r} is not one of "
                f"{', '.join(FORMATS)}"
            )
            continue
        earlier = found.setdefault(wanted.model_path, wanted)
        if earlier != wanted:
            problems.append(
                f"model_path {wanted.model_path} is planned for both {earlier.label} and {wanted.label}"
            )
    if problems:
        raise WeightsError("cannot fetch model weights:\n- " + "\n- ".join(problems))
    return list(found.values())


def resolve_source(sources: Mapping[str, object], wanted: WantedModel) -> ModelSource:
    """The source of ``wanted``: an entry for its quant, else for its format, else the default.

    The default is the model id's own repository at ``main`` for safetensors (the checkpoint the
    authors publish); GGUF and MLX files are published in other repositories, so they need an entry.
    """
    entries = sources.get(wanted.model)
    if entries is not None and not isinstance(entries, Mapping):
        raise WeightsError(
            f"{SOURCES_VAR}[{wanted.model!r}] must be a mapping of format or quant to "
            f"{{repo, revision, files}}, got {type(entries).__name__}"
        )
    for key in (wanted.quant, wanted.format):
        if entries is not None and key in entries:
            return parse_source(entries[key], f"{SOURCES_VAR}[{wanted.model!r}][{key!r}]")
    if wanted.format in OWN_REPO_FORMATS:
        return ModelSource(
            repo=_checked_repo(wanted.model, f"model id {wanted.model!r}"),
            revision=DEFAULT_REVISION,
            files=None,
            origin=f"the model's own repository (no {SOURCES_VAR} entry)",
        )
    example = (
        f"{wanted.model}-GGUF" if wanted.format == "gguf" else f"mlx-community/<{wanted.quant} conversion>"
    )
    raise WeightsError(
        f"{SOURCES_VAR} has no {wanted.format} source for model {wanted.model!r} at quant "
        f"{wanted.quant!r} (needed for {wanted.model_path}); {wanted.format} files are not in the "
        f"model's own repository. Set {SOURCES_VAR}[{wanted.model!r}].{wanted.format} (or "
        f".{wanted.quant}) to {{repo: <repository, e.g. {example}>, revision: <commit sha or main>}}"
    )


def parse_source(raw: object, where: str) -> ModelSource:
    """Validate one ``{repo, revision, files}`` entry."""
    if not isinstance(raw, Mapping):
        raise WeightsError(f"{where} must be a mapping {{repo, revision, files}}, got {raw!r}")
    unknown = sorted(set(map(str, raw)) - _SOURCE_KEYS)
    if unknown:
        raise WeightsError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: repo, revision, files")
    repo = _checked_repo(raw.get("repo"), f"{where}.repo")
    revision = raw.get("revision", DEFAULT_REVISION)
    if not isinstance(revision, str) or not revision.strip() or ".." in revision:
        raise WeightsError(
            f"{where}.revision: {revision!r} is not a branch, tag or commit sha (e.g. main or 40 hex digits)"
        )
    files = raw.get("files")
    if files is not None and (
        isinstance(files, str)
        or not isinstance(files, Sequence)
        or not files
        or not all(isinstance(g, str) and g for g in files)
    ):
        raise WeightsError(f"{where}.files: {files!r} must be a non-empty list of glob patterns")
    return ModelSource(
        repo=repo,
        revision=revision.strip(),
        files=tuple(files) if files is not None else None,
        origin=where,
    )


def _checked_repo(value: object, where: str) -> str:
    """A repository id, ``owner/name`` (or a bare legacy ``name``)."""
    if not isinstance(value, str) or not _REPO.match(value) or ".." in value:
        raise WeightsError(f"{where}: {value!r} is not a Hugging Face repository id such as Qwen/Qwen3-8B")
    return value


def select_files(wanted: WantedModel, source: ModelSource, listing: Sequence[RemoteFile]) -> list[str]:
    """The files of ``listing`` that ``wanted`` needs, sorted; an error when that is not usable."""
    names = [item.name for item in listing]
    where = f"{source.repo}@{source.revision}"
    if source.files is not None:
        chosen = sorted(n for n in names if any(fnmatch.fnmatchcase(n, g) for g in source.files))
        if not chosen:
            raise WeightsError(
                f"{source.origin}.files {list(source.files)} match no file of {where} "
                f"(it has: {_some(names)})"
            )
        if wanted.format == "gguf":
            ggufs = [n for n in chosen if n.lower().endswith(".gguf")]
            if len(ggufs) != 1:
                raise WeightsError(
                    f"{source.origin}.files must select exactly one .gguf file for {wanted.label}, "
                    f"selected: {_some(ggufs) if ggufs else 'none'}"
                )
            return ggufs
        return chosen
    if wanted.format == "gguf":
        return [gguf_file(wanted, source, names)]
    return directory_files(wanted, source, names)


def gguf_file(wanted: WantedModel, source: ModelSource, names: Sequence[str]) -> str:
    """The one GGUF file whose name ends in ``<quant>.gguf`` (after ``-``, ``.`` or ``_``)."""
    quant = re.escape(wanted.quant)
    single = re.compile(rf"(^|[-._]){quant}\.gguf$", re.IGNORECASE)
    split = re.compile(rf"(^|[-._]){quant}-\d{{5}}-of-\d{{5}}\.gguf$", re.IGNORECASE)
    where = f"{source.repo}@{source.revision}"
    matches = [n for n in names if single.search(PurePosixPath(n).name)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise WeightsError(
            f"{where} has {len(matches)} GGUF files for quant {wanted.quant}: {', '.join(sorted(matches))}; "
            f"choose one with {SOURCES_VAR}[{wanted.model!r}].gguf.files: [<its name>]"
        )
    parts = sorted(n for n in names if split.search(PurePosixPath(n).name))
    if parts:
        raise WeightsError(
            f"{where} publishes {wanted.label} only as a split GGUF ({', '.join(parts)}). The plan "
            "gives llama.cpp one model file, so split GGUFs are not supported yet: merge the parts with "
            "llama-gguf-split --merge and serve the merged file, or choose a repository with a single file"
        )
    ggufs = [n for n in names if n.lower().endswith(".gguf")]
    raise WeightsError(
        f"{where} has no GGUF file ending in {wanted.quant}.gguf for {wanted.label} "
        f"(its GGUF files: {_some(ggufs) if ggufs else 'none'}); set {SOURCES_VAR}[{wanted.model!r}]"
        f".{wanted.quant} to a repository that has one, or .files to the file's name"
    )


def directory_files(wanted: WantedModel, source: ModelSource, names: Sequence[str]) -> list[str]:
    """safetensors / MLX: weights, config, tokenizer and chat template, nothing else."""
    kept = [n for n in names if PurePosixPath(n).parts[0] not in _SKIPPED_DIRECTORIES]
    basename = {n: PurePosixPath(n).name for n in kept}
    weights = [n for n in kept if n.endswith(".safetensors")]
    if any(not _CONSOLIDATED.match(basename[n]) for n in weights):
        weights = [n for n in weights if not _CONSOLIDATED.match(basename[n])]
    chosen = set(weights)
    chosen |= {
        n
        for n in kept
        if not n.endswith(".safetensors")
        and any(fnmatch.fnmatchcase(basename[n], pattern) for pattern in _DIRECTORY_PATTERNS)
    }
    if not weights:
        # Only pickled weights: the engines still load them, but say so when there are none either.
        pickled = {n for n in kept if n.endswith(_PICKLE_WEIGHTS)}
        if not pickled:
            raise WeightsError(
                f"{source.repo}@{source.revision} has no *.safetensors (or .bin/.pt) weights for "
                f"{wanted.label} (it has: {_some(names)}); set {SOURCES_VAR}[{wanted.model!r}]"
                f".{wanted.quant} to the repository of that checkpoint"
            )
        chosen |= pickled
    return sorted(chosen)


def _some(names: Sequence[str], limit: int = 12) -> str:
    """A short list of names for messages."""
    shown = ", ".join(sorted(names)[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "") if names else "no files"

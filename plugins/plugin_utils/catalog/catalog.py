# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The one reader of ``catalogs/*.yml``: devices, models, quantizations and engines, and the one
place that says where the catalogs are (:func:`catalog_path`; the artifact cache and the GPU driver
rules read their own files, artifacts.yml and gpu_drivers.yml, from there).

``load_catalog`` validates the shipped files (parsed once per directory and cached), applies the
inventory's ``sovereign_catalog_extensions`` (an entry with an existing id replaces it whole) and
returns an immutable :class:`Catalog`. Inline device and model specs from an inventory are
validated by :meth:`Catalog.device` and :meth:`Catalog.model` with the same rules.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_schema import (
    CatalogError,
    closest_hint,
    describe,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_specs import (
    AttentionSpec,
    DeviceSpec,
    EngineSpec,
    ModelSpec,
    MoeSpec,
    QuantSpec,
    checked_id,
    parse_device,
    parse_engine,
    parse_model,
    parse_quantization,
)

__all__ = [
    "DEFAULT_CATALOG_DIR",
    "AttentionSpec",
    "Catalog",
    "CatalogError",
    "DeviceSpec",
    "EngineSpec",
    "ModelSpec",
    "MoeSpec",
    "QuantSpec",
    "catalog_path",
    "load_catalog",
]

DEFAULT_CATALOG_DIR = Path(__file__).resolve().parents[3] / "catalogs"


def catalog_path(name: str) -> Path:
    """The shipped catalog file ``name`` (``gpu_drivers.yml``, ``artifacts.yml``, ...)."""
    return DEFAULT_CATALOG_DIR / name


SECTIONS = ("devices", "models", "quantizations", "engines")

SpecT = TypeVar("SpecT")
Parser = Callable[[str, object, str, "str | None"], Any]

# The kind of id each section holds (catalog_specs.checked_id applies that kind's rule).
_ID_KINDS = {"devices": "device", "models": "model", "quantizations": "quantization", "engines": "engine"}

_PARSERS: Mapping[str, Parser] = {
    "devices": parse_device,
    "models": parse_model,
    "quantizations": parse_quantization,
    "engines": parse_engine,
}


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader (libyaml when present) that rejects duplicate keys instead of keeping the last."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                mark = key_node.start_mark
                raise CatalogError(
                    f"{mark.name}:{mark.line + 1}: duplicate key {key!r}; each id may appear once"
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping
)


def _boundary_pattern(text: str) -> re.Pattern[str]:
    """Match ``text`` as whole words, so that ``L4`` does not match ``L40S``."""
    return re.compile(rf"(?<![a-z0-9]){re.escape(text.lower())}(?![a-z0-9])")


def _name_score(device: DeviceSpec, name: str) -> int:
    """Length of the longest ``match`` string found in ``name`` (0: none), so specific beats generic."""
    lowered = name.lower()
    return max((len(m) for m in device.match if _boundary_pattern(m).search(lowered)), default=0)


@dataclass(frozen=True)
class Catalog:
    """All catalog entries by id, after extensions; read-only."""

    devices: Mapping[str, DeviceSpec]
    models: Mapping[str, ModelSpec]
    quantizations: Mapping[str, QuantSpec]
    engines: Mapping[str, EngineSpec]

    def device(self, ref: str | Mapping[str, Any], where: str) -> DeviceSpec:
        """A device by catalog id, or an inline spec (same keys as a catalog entry, plus ``id``)."""
        if isinstance(ref, Mapping):
            return parse_device(where, ref, where, f"inline spec at {where}", inline=True)
        return _lookup(self.devices, ref, where, "device")

    def model(self, ref: str | Mapping[str, Any], where: str) -> ModelSpec:
        """A model by Hugging Face id, or an inline spec (same keys as a catalog entry, plus ``id``)."""
        if isinstance(ref, Mapping):
            return parse_model(where, ref, where, f"inline spec at {where}", inline=True)
        return _lookup(self.models, ref, where, "model")

    def quantization(self, name: str, where: str) -> QuantSpec:
        """A quantization by name, e.g. ``Q4_K_M`` or ``FP8``."""
        return _lookup(self.quantizations, name, where, "quantization")

    def engine(self, name: str, where: str) -> EngineSpec:
        """An engine by name, e.g. ``vllm``."""
        return _lookup(self.engines, name, where, "engine")

    def match_device(self, detected_gpu: Mapping[str, Any]) -> DeviceSpec | None:
        """The catalog device for one ``sovereign_hardware.gpus[]`` item: PCI device id first, then name.

        Candidates are limited to the detected vendor when it is known. Among devices that share a
        PCI id, or when matching by name, the device with the longest ``match`` string found in the
        detected name wins (``RTX 5080 Laptop`` over ``RTX 5080``); ``None`` when nothing matches.
        """
        vendor = detected_gpu.get("vendor")
        candidates = [d for d in self.devices.values() if vendor is None or d.vendor == vendor]
        name = detected_gpu.get("name")
        name = name if isinstance(name, str) else ""
        pci_id = detected_gpu.get("pci_device_id")
        if isinstance(pci_id, str) and pci_id:
            by_pci = [d for d in candidates if pci_id.lower() in d.pci_device_ids]
            if by_pci:
                return max(by_pci, key=lambda d: _name_score(d, name))
        scored = [(score, d) for d in candidates if (score := _name_score(d, name)) > 0]
        if not scored:
            return None
        return max(scored, key=lambda pair: pair[0])[1]


def _lookup(entries: Mapping[str, SpecT], ref: object, where: str, kind: str) -> SpecT:
    if not isinstance(ref, str):
        raise CatalogError(f"{where}: expected a {kind} id (string) or spec, got {describe(ref)}")
    if ref not in entries:
        raise CatalogError(f"{where}: unknown {kind} {ref!r}; {closest_hint(ref, entries)}")
    return entries[ref]


def _read_section(path: Path, section: str) -> Mapping[str, Any]:
    """The ``section:`` mapping of one catalog file."""
    if not path.is_file():
        raise CatalogError(f"{path}: catalog file is missing; the collection ships it in catalogs/")
    with path.open(encoding="utf-8") as stream:
        try:
            document = yaml.load(stream, Loader=_UniqueKeyLoader)
        except yaml.YAMLError as error:
            raise CatalogError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(document, Mapping) or set(document) != {section}:
        keys = sorted(document) if isinstance(document, Mapping) else describe(document)
        raise CatalogError(f"{path}: expected exactly one top-level key {section!r}, got {keys}")
    entries = document[section]
    if not isinstance(entries, Mapping):
        raise CatalogError(f"{path}: {section}: expected a mapping of id to entry, got {describe(entries)}")
    return entries


def _parse_section(
    section: str, entries: Mapping[Any, Any], where: str, from_inventory: bool
) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse every entry of a section; also return where each entry came from, for later checks.

    Shipped entries must cite a ``source``; an inventory entry without one is attributed to its path.
    """
    parser = _PARSERS[section]
    specs: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for entry_id, entry in entries.items():
        if not isinstance(entry_id, str) or not entry_id:
            raise CatalogError(f"{where}: ids must be non-empty strings, got {describe(entry_id)}")
        # Before the id becomes part of any path in a message: it may hold a newline.
        checked_id(entry_id, where, _ID_KINDS[section])
        entry_where = f"{where}.{entry_id}"
        source_default = f"inventory: {entry_where}" if from_inventory else None
        specs[entry_id] = parser(entry_id, entry, entry_where, source_default)
        origins[entry_id] = entry_where
    return specs, origins


def _check_quantization_engines(
    quantizations: Mapping[str, QuantSpec], engines: Mapping[str, EngineSpec], origins: Mapping[str, str]
) -> None:
    """Every engine a quantization names exists and loads the quantization's format."""
    for quant in quantizations.values():
        for index, engine_id in enumerate(quant.engines):
            where = f"{origins[quant.id]}.engines[{index}]"
            engine = engines.get(engine_id)
            if engine is None:
                raise CatalogError(
                    f"{where}: unknown engine {engine_id!r}; {closest_hint(engine_id, engines)}"
                )
            if quant.format not in engine.formats:
                raise CatalogError(
                    f"{where}: engine {engine_id!r} does not load format {quant.format!r} "
                    f"(its formats: {', '.join(engine.formats)})"
                )


def _file_signature(directory: Path) -> tuple[tuple[str, int, int], ...]:
    """Modification time and size of each catalog file; a change invalidates the cache."""
    signature = []
    for section in SECTIONS:
        path = directory / f"{section}.yml"
        stat = path.stat() if path.is_file() else None
        signature.append((section, stat.st_mtime_ns if stat else -1, stat.st_size if stat else -1))
    return tuple(signature)


Signature = tuple[tuple[str, int, int], ...]
Sections = dict[str, dict[str, Any]]
_BASE_CACHE: dict[Path, tuple[Signature, Sections, dict[str, str]]] = {}


def _load_base(directory: Path) -> tuple[Sections, dict[str, str]]:
    """Validated shipped entries per section, cached per directory until a file changes."""
    signature = _file_signature(directory)
    cached = _BASE_CACHE.get(directory)
    if cached is not None and cached[0] == signature:
        return cached[1], cached[2]
    sections: dict[str, dict[str, Any]] = {}
    quant_origins: dict[str, str] = {}
    for section in SECTIONS:
        path = directory / f"{section}.yml"
        specs, origins = _parse_section(section, _read_section(path, section), f"{path}: {section}", False)
        sections[section] = specs
        if section == "quantizations":
            quant_origins = origins
    _check_quantization_engines(sections["quantizations"], sections["engines"], quant_origins)
    _BASE_CACHE[directory] = (signature, sections, quant_origins)
    return sections, quant_origins


def load_catalog(
    extensions: Mapping[str, Any] | None = None,
    where: str = "sovereign_catalog_extensions",
    catalog_dir: Path | None = None,
) -> Catalog:
    """Load the catalogs from ``catalog_dir`` (default: the collection's) and apply inventory extensions.

    ``extensions`` has the shape of ``sovereign_catalog_extensions``: ``{devices: {id: entry}, models:
    {...}, quantizations: {...}, engines: {...}}``; an extension entry with an existing id replaces
    the shipped entry whole. ``where`` prefixes the paths in error messages.
    """
    directory = (catalog_dir or DEFAULT_CATALOG_DIR).resolve()
    base, base_origins = _load_base(directory)
    sections = {name: dict(specs) for name, specs in base.items()}
    quant_origins = dict(base_origins)

    if extensions is not None:
        if not isinstance(extensions, Mapping):
            raise CatalogError(
                f"{where}: expected a mapping with keys {', '.join(SECTIONS)}, got {describe(extensions)}"
            )
        for section, entries in extensions.items():
            if section not in SECTIONS:
                raise CatalogError(
                    f"{where}: unknown section {section!r}; valid sections: {', '.join(SECTIONS)}"
                )
            if entries is None:
                continue
            section_where = f"{where}.{section}"
            if not isinstance(entries, Mapping):
                raise CatalogError(
                    f"{section_where}: expected a mapping of id to entry, got {describe(entries)}"
                )
            specs, origins = _parse_section(section, entries, section_where, True)
            sections[section].update(specs)
            if section == "quantizations":
                quant_origins.update(origins)
        _check_quantization_engines(sections["quantizations"], sections["engines"], quant_origins)

    return Catalog(
        devices=MappingProxyType(sections["devices"]),
        models=MappingProxyType(sections["models"]),
        quantizations=MappingProxyType(sections["quantizations"]),
        engines=MappingProxyType(sections["engines"]),
    )

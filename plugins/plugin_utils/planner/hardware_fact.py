# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The detected ``sovereign_hardware`` fact, checked field by field before the planner reads it.

The fact comes from module hardware_facts on the host, from a fact cache or from an inventory that
sets it by hand, so it is read like any other input: every field the planner uses is checked for
type, NaN, infinity and range (docs/dev/contracts.md section 1), and every problem is reported at
once with its path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_schema import VENDORS
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError

UNIFIED_KINDS = ("apple", "nvidia_gb10", "amd_apu")
_COMPUTE_CAPABILITY = re.compile(r"[0-9]{1,2}\.[0-9]{1,2}")


@dataclass(frozen=True)
class DetectedGpu:
    """The checked fields of one ``gpus[]`` entry; ``raw`` is the entry itself, for catalog matching."""

    position: int
    index: int
    name: str | None
    vendor: str | None
    memory_bytes: int | None
    compute_capability: str | None
    unified_memory: bool
    nvlink_peers: tuple[int, ...]
    raw: Mapping[str, Any]


@dataclass(frozen=True)
class DetectedHardware:
    """The checked fact: system memory, GPUs, and the unified pool where there is one."""

    memory_bytes: int
    gpus: tuple[DetectedGpu, ...]
    unified_kind: str | None
    unified_total_bytes: int | None
    unified_gpu_limit_bytes: int | None


class _Reader:
    """Collects the problems of one fact so that all of them are reported together."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problems: list[str] = []

    def fail(self, path: str, value: object, expected: str) -> None:
        self.problems.append(f"{self.where}.{path}: {value!r} is not valid; expected {expected}")

    def number(
        self, path: str, value: object, limits: input_rules.Range, optional: bool = True
    ) -> int | None:
        if value is None and optional:
            return None
        if not limits.accepts(value) or not isinstance(value, (int, float)):
            self.fail(path, value, limits.expected() + " (bytes)")
            return None
        return int(value)

    def text(self, path: str, value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str):
            self.fail(path, value, "a string")
            return None
        return value

    def mapping(self, path: str, value: object) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(path, value, "a mapping")
            return {}
        return value


def _gpu(reader: _Reader, position: int, raw: object) -> DetectedGpu | None:
    path = f"gpus[{position}]"
    if not isinstance(raw, Mapping):
        reader.fail(path, raw, "a mapping (docs/dev/contracts.md section 1)")
        return None
    before = len(reader.problems)
    index = raw.get("index", position)
    if not input_rules.GPU_INDEX.accepts(index):
        reader.fail(f"{path}.index", index, input_rules.GPU_INDEX.expected())
    vendor = reader.text(f"{path}.vendor", raw.get("vendor"))
    if vendor is not None and vendor not in VENDORS:
        reader.fail(f"{path}.vendor", vendor, f"one of {', '.join(VENDORS)}")
    memory = reader.number(
        f"{path}.memory_total_bytes", raw.get("memory_total_bytes"), input_rules.DEVICE_MEMORY_BYTES
    )
    capability = reader.text(f"{path}.compute_capability", raw.get("compute_capability"))
    if capability is not None and not _COMPUTE_CAPABILITY.fullmatch(capability):
        reader.fail(f"{path}.compute_capability", capability, 'a "major.minor" string such as "8.6"')
    peers = raw.get("nvlink_peers") or []
    if not isinstance(peers, list) or not all(input_rules.GPU_INDEX.accepts(peer) for peer in peers):
        reader.fail(
            f"{path}.nvlink_peers", peers, f"a list of GPU indexes ({input_rules.GPU_INDEX.expected()})"
        )
    unified = raw.get("unified_memory", False)
    if not isinstance(unified, bool):
        reader.fail(f"{path}.unified_memory", unified, "true or false")
    name = reader.text(f"{path}.name", raw.get("name"))
    if len(reader.problems) != before:
        return None
    return DetectedGpu(
        position=position,
        index=int(index),
        name=name,
        vendor=vendor,
        memory_bytes=memory,
        compute_capability=capability,
        unified_memory=bool(unified),
        nvlink_peers=tuple(int(peer) for peer in peers),
        raw=raw,
    )


def read_fact(host: str, fact: object) -> DetectedHardware:
    """The checked fact of ``host``; PlanInputError listing every field that cannot be used."""
    reader = _Reader(f"hosts.{host}.sovereign_hardware")
    if not isinstance(fact, Mapping):
        raise PlanInputError(
            [f"{reader.where}: {fact!r} is not valid; expected a mapping (docs/dev/contracts.md section 1)"]
        )
    memory = reader.mapping("memory", fact.get("memory"))
    total = reader.number(
        "memory.total_bytes", memory.get("total_bytes"), input_rules.HOST_MEMORY_BYTES, False
    )
    raw_gpus = fact.get("gpus") or []
    gpus: list[DetectedGpu] = []
    if not isinstance(raw_gpus, list):
        reader.fail("gpus", raw_gpus, "a list of GPUs ([] on a CPU-only host)")
    elif len(raw_gpus) > input_rules.GPUS_PER_HOST:
        reader.fail("gpus", f"{len(raw_gpus)} GPUs", f"at most {input_rules.GPUS_PER_HOST} GPUs per host")
    else:
        gpus = [
            gpu for position, raw in enumerate(raw_gpus) if (gpu := _gpu(reader, position, raw)) is not None
        ]
    unified = reader.mapping("unified_memory", fact.get("unified_memory"))
    kind = reader.text("unified_memory.kind", unified.get("kind"))
    if kind is not None and kind not in UNIFIED_KINDS:
        reader.fail("unified_memory.kind", kind, f"one of {', '.join(UNIFIED_KINDS)}")
    unified_total = reader.number(
        "unified_memory.total_bytes", unified.get("total_bytes"), input_rules.REPORTED_MEMORY_BYTES
    )
    limit = reader.number(
        "unified_memory.gpu_limit_bytes", unified.get("gpu_limit_bytes"), input_rules.REPORTED_MEMORY_BYTES
    )
    if reader.problems or total is None:
        raise PlanInputError(reader.problems)
    return DetectedHardware(
        memory_bytes=total,
        gpus=tuple(gpus),
        unified_kind=kind or None,
        unified_total_bytes=unified_total or None,
        unified_gpu_limit_bytes=limit or None,
    )

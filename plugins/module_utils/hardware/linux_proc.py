# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parsers for /proc/cpuinfo, /proc/meminfo and /etc/os-release."""

from __future__ import annotations

import shlex
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import KIB, ParseError

# Arm Ltd (implementer 0x41) core part numbers, from the Linux kernel's
# arch/arm64/include/asm/cputype.h (ARM_CPU_PART_*); aarch64 /proc/cpuinfo has no "model name".
_ARM_PARTS = {
    "0xd0c": "Neoverse-N1",
    "0xd40": "Neoverse-V1",
    "0xd49": "Neoverse-N2",
    "0xd4f": "Neoverse-V2",
    "0xd85": "Cortex-X925",
    "0xd87": "Cortex-A725",
}


class CpuInfo(NamedTuple):
    """What /proc/cpuinfo says about the processors."""

    model: str
    cores: int
    threads: int
    features: Dict[str, bool]


def parse_cpuinfo(text: str) -> CpuInfo:
    """Model, physical cores, hardware threads and the SIMD features the engines care about."""
    blocks = [_fields(block) for block in text.split("\n\n") if block.strip()]
    processors = [block for block in blocks if "processor" in block]
    if not processors:
        raise ParseError("/proc/cpuinfo: no 'processor' entries")
    flags: Set[str] = set()
    for block in processors:
        flags.update(block.get("flags", block.get("features", "")).split())
    return CpuInfo(
        model=_model(processors),
        cores=_physical_cores(processors),
        threads=len(processors),
        features={
            "avx2": "avx2" in flags,
            "avx512": "avx512f" in flags,
            "amx": "amx_tile" in flags,
            "neon": "asimd" in flags,
        },
    )


def _fields(block: str) -> Dict[str, str]:
    """``key : value`` lines of one cpuinfo block, keys lower-cased."""
    fields: Dict[str, str] = {}
    for line in block.splitlines():
        key, separator, value = line.partition(":")
        if separator:
            fields[key.strip().lower()] = value.strip()
    return fields


def _model(processors: List[Dict[str, str]]) -> str:
    """x86 names its model; on Arm the distinct core parts are named instead."""
    name = processors[0].get("model name")
    if name:
        return " ".join(name.split())
    parts: List[str] = []
    for block in processors:
        part = block.get("cpu part", "").lower()
        label = _ARM_PARTS.get(part, f"part {part}") if part else "unknown core"
        if label not in parts:
            parts.append(label)
    implementer = processors[0].get("cpu implementer", "").lower()
    prefix = "Arm" if implementer == "0x41" else "implementer %s" % (implementer or "unknown")
    return "{} {}".format(prefix, " + ".join(parts))


def _physical_cores(processors: List[Dict[str, str]]) -> int:
    """Distinct (package, core) pairs; without core ids (Arm) every processor is a core."""
    pairs: Set[Tuple[str, str]] = set()
    for block in processors:
        if "core id" not in block:
            return len(processors)
        pairs.add((block.get("physical id", "0"), block["core id"]))
    return len(pairs)


class MemInfo(NamedTuple):
    """System memory from /proc/meminfo, in bytes."""

    total_bytes: int
    available_bytes: Optional[int]


def parse_meminfo(text: str) -> MemInfo:
    """MemTotal and MemAvailable (kB in the file) as bytes."""
    values: Dict[str, int] = {}
    for line in text.splitlines():
        key, separator, rest = line.partition(":")
        words = rest.split()
        if separator and words and words[0].isdigit():
            values[key.strip()] = int(words[0]) * (KIB if words[1:] == ["kB"] else 1)
    if "MemTotal" not in values:
        raise ParseError("/proc/meminfo: no MemTotal line")
    return MemInfo(values["MemTotal"], values.get("MemAvailable"))


def parse_os_release(text: str) -> Tuple[Optional[str], Optional[str]]:
    """Distribution name and version from os-release (NAME without " GNU/Linux", VERSION_ID)."""
    values: Dict[str, str] = {}
    for line in text.splitlines():
        key, separator, raw = line.partition("=")
        if separator and key.strip() and not key.startswith("#"):
            words = shlex.split(raw, comments=False) if raw.strip() else [""]
            values[key.strip()] = words[0] if words else ""
    name = values.get("NAME")
    if name and name.endswith(" GNU/Linux"):
        name = name[: -len(" GNU/Linux")]
    return name, values.get("VERSION_ID")

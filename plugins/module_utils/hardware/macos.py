# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parsers for macOS: ``system_profiler SPDisplaysDataType SPHardwareDataType -json``, ``sysctl -n``,
``vm_stat`` and ``sw_vers``; and the GPU wired-memory default of Apple Silicon.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, NamedTuple, Optional

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import (
    MIB,
    ParseError,
    load_json,
    optional_int,
    optional_text,
)

GIB = 1024 * MIB

# With iogpu.wired_limit_mb at 0 macOS applies its own cap on GPU-wired memory (Metal's
# recommendedMaxWorkingSetSize): about 2/3 of RAM on machines with up to 36 GiB, 3/4 above.
# Sources: https://github.com/gpustack/gpustack/issues/1375 (75% read from Metal),
# https://stencel.io/posts/apple-silicon-limitations-with-usage-on-local-llm%20.html (96 GB of
# 128 GB, ~2/3 on 32 GB), https://www.thinkdifferent.blog/blog/the-macbook-pro-setting-that-doubles-your-ai-performance/
# (~65-70% up to 36 GB, ~75% above). Apple does not document the rule; newer macOS may allow more
# (107.52 GiB of 128 GiB measured on macOS 26, https://github.com/antirez/ds4/pull/893), so this
# default errs on the safe side.
DEFAULT_WIRED_SMALL_RAM_LIMIT_BYTES = 36 * GIB


class MacHardware(NamedTuple):
    """What system_profiler says about an Apple Silicon Mac."""

    chip: str
    gpu_name: str
    machine: Optional[str]


def parse_system_profiler(text: str) -> MacHardware:
    """Chip and GPU names from ``system_profiler SPDisplaysDataType SPHardwareDataType -json``."""
    payload = load_json(text, "system_profiler")
    hardware = _first_item(payload, "SPHardwareDataType")
    chip = optional_text(hardware.get("chip_type")) or optional_text(hardware.get("cpu_type"))
    if chip is None:
        raise ParseError("system_profiler: SPHardwareDataType has no chip_type")
    displays = _first_item(payload, "SPDisplaysDataType")
    gpu_name = optional_text(displays.get("sppci_model")) or optional_text(displays.get("_name")) or chip
    machine = optional_text(hardware.get("machine_name"))
    model = optional_text(hardware.get("machine_model"))
    if machine and model:
        machine = f"{machine} ({model})"
    return MacHardware(chip=chip, gpu_name=gpu_name, machine=machine)


def _first_item(payload: Any, data_type: str) -> Dict[str, Any]:
    """The first entry of one system_profiler data type."""
    items = payload.get(data_type) if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items or not isinstance(items[0], dict):
        raise ParseError(f"system_profiler: no {data_type} entries in the output")
    return items[0]


def parse_sysctl_int(text: str, key: str) -> int:
    """The integer printed by ``sysctl -n <key>``."""
    value: Optional[int] = optional_int(text.strip(), f"sysctl {key}")
    if value is None:
        raise ParseError(f"sysctl {key}: expected a number, got {text.strip()!r}")
    return value


def parse_vm_stat(text: str) -> int:
    """Memory macOS can hand out without swapping: free, inactive and speculative pages."""
    page = re.search(r"page size of (\d+) bytes", text)
    if page is None:
        raise ParseError("vm_stat: no 'page size of N bytes' header")
    counts: Dict[str, int] = {}
    for line in text.splitlines():
        match = re.match(r"^Pages ([a-z ]+):\s+(\d+)\.?\s*$", line.strip())
        if match:
            counts[match.group(1)] = int(match.group(2))
    wanted: List[str] = ["free", "inactive", "speculative"]
    missing = [name for name in wanted if name not in counts]
    if missing:
        raise ParseError(f"vm_stat: no 'Pages {missing[0]}' line")
    return sum(counts[name] for name in wanted) * int(page.group(1))


def default_wired_limit_bytes(total_bytes: int) -> int:
    """macOS's own GPU wired-memory cap when iogpu.wired_limit_mb is 0 (see the sources above)."""
    if total_bytes <= DEFAULT_WIRED_SMALL_RAM_LIMIT_BYTES:
        return total_bytes * 2 // 3
    return total_bytes * 3 // 4


def gpu_limit_bytes(total_bytes: int, wired_limit_mb: Optional[int]) -> int:
    """What the GPU may wire: the sysctl when set (MiB), else macOS's default."""
    if wired_limit_mb:
        limit: int = wired_limit_mb * MIB
        return limit
    return default_wired_limit_bytes(total_bytes)

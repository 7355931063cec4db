# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parsers for ``amd-smi static --json``, ``amd-smi metric --mem-usage --json``, ``amd-smi topology --json``.

amd-smi up to ROCm 6.x prints a JSON list of per-GPU objects; ROCm 7 wraps the list as
``{"gpu_data": [...]}``. Sizes come as ``{"value": N, "unit": "MB"}`` where the number is MiB
(the CLI divides bytes by 1024*1024, see ROCm/amdsmi amdsmi_cli/amdsmi_commands.py); older builds
print ``vram_size_mb`` as a bare number.
"""

from __future__ import annotations

from typing import Any, Dict, List, NamedTuple, Optional

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import (
    KIB,
    MIB,
    ParseError,
    hex_id,
    load_json,
    new_gpu,
    optional_int,
    optional_text,
)

_UNIT_BYTES = {"B": 1, "KB": KIB, "KIB": KIB, "MB": MIB, "MIB": MIB, "GB": 1024 * MIB, "GIB": 1024 * MIB}


class AmdGpu(NamedTuple):
    """One AMD GPU: its fact entry and the GTT size, which only matters for APUs."""

    gpu: Dict[str, Any]
    gtt_total_bytes: Optional[int]


def gpu_entries(payload: Any, tool: str) -> List[Dict[str, Any]]:
    """The per-GPU objects of an amd-smi JSON answer, in either the list or the gpu_data form."""
    if isinstance(payload, dict) and isinstance(payload.get("gpu_data"), list):
        payload = payload["gpu_data"]
    if isinstance(payload, dict) and "gpu" in payload:
        payload = [payload]
    if not isinstance(payload, list) or not all(isinstance(entry, dict) for entry in payload):
        raise ParseError(f'{tool}: expected a list of per-GPU objects or {{"gpu_data": [...]}}')
    return payload


def size_bytes(node: Any, what: str) -> Optional[int]:
    """Bytes from an amd-smi size: ``{"value": N, "unit": "MB"}`` or a bare number of MiB."""
    if isinstance(node, dict):
        unit = str(node.get("unit", "MB")).upper()
        if unit not in _UNIT_BYTES:
            raise ParseError(
                "{}: unknown unit {!r} (expected one of {})".format(what, unit, ", ".join(_UNIT_BYTES))
            )
        value = optional_int(node.get("value"), what)
        return None if value is None else value * _UNIT_BYTES[unit]
    value = optional_int(node, what)
    return None if value is None else value * MIB


def parse_static(text: str) -> List[AmdGpu]:
    """Parse ``amd-smi static --json`` (asic, bus, vram and driver sections are used)."""
    readings: List[AmdGpu] = []
    for entry in gpu_entries(load_json(text, "amd-smi static"), "amd-smi static"):
        index = optional_int(entry.get("gpu"), "amd-smi static gpu")
        if index is None:
            raise ParseError('amd-smi static: a GPU object has no "gpu" index')
        asic = _section(entry, "asic")
        gpu = new_gpu(index, "amd", optional_text(asic.get("market_name")) or f"AMD GPU {index}")
        gpu["pci_device_id"] = hex_id(asic.get("device_id"))
        gpu["gfx_arch"] = optional_text(asic.get("target_graphics_version"))
        gpu["pci_bus_id"] = optional_text(_section(entry, "bus").get("bdf"))
        vram = _section(entry, "vram")
        vram_size = vram.get("size", vram.get("vram_size_mb", vram.get("vram_size")))
        gpu["memory_total_bytes"] = size_bytes(vram_size, "amd-smi static vram size")
        driver = _section(entry, "driver")
        gpu["driver_version"] = optional_text(driver.get("version", driver.get("driver_version")))
        readings.append(AmdGpu(gpu, None))
    if not readings:
        raise ParseError("amd-smi static: no GPUs in the output")
    return readings


class MemoryUsage(NamedTuple):
    """What ``amd-smi metric --mem-usage`` says about one GPU."""

    vram_total_bytes: Optional[int]
    vram_free_bytes: Optional[int]
    gtt_total_bytes: Optional[int]


def parse_memory_usage(text: str) -> Dict[int, MemoryUsage]:
    """Parse ``amd-smi metric --mem-usage --json`` into usage per GPU index."""
    usage: Dict[int, MemoryUsage] = {}
    for entry in gpu_entries(load_json(text, "amd-smi metric"), "amd-smi metric"):
        index = optional_int(entry.get("gpu"), "amd-smi metric gpu")
        memory = _section(entry, "mem_usage")
        if index is None:
            continue
        usage[index] = MemoryUsage(
            size_bytes(memory.get("total_vram"), "amd-smi metric total_vram"),
            size_bytes(memory.get("free_vram"), "amd-smi metric free_vram"),
            size_bytes(memory.get("total_gtt"), "amd-smi metric total_gtt"),
        )
    return usage


def parse_xgmi_peers(text: str) -> Dict[int, List[int]]:
    """Parse ``amd-smi topology --json``: GPUs whose ``link_type`` to each other is XGMI."""
    peers: Dict[int, List[int]] = {}
    for entry in gpu_entries(load_json(text, "amd-smi topology"), "amd-smi topology"):
        index = optional_int(entry.get("gpu"), "amd-smi topology gpu")
        links = entry.get("link_type")
        if index is None or not isinstance(links, dict):
            continue
        peers[index] = sorted(
            int(name.split("_")[-1])
            for name, kind in links.items()
            if str(kind).upper() == "XGMI" and name.split("_")[-1].isdigit()
        )
    return peers


def _section(entry: Dict[str, Any], name: str) -> Dict[str, Any]:
    """A sub-object of a GPU entry; amd-smi prints "N/A" in place of a section it could not read."""
    section = entry.get(name)
    return section if isinstance(section, dict) else {}

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Shared pieces of every parser: the error they raise, the GPU record they return, number helpers."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

MIB = 1024 * 1024
KIB = 1024

# Spellings tools use for "no value": nvidia-smi prints "[N/A]" or "[Not Supported]", amd-smi "N/A".
_UNKNOWN_MARKERS = frozenset({"", "n/a", "[n/a]", "[not supported]", "not supported", "na", "unknown"})


class ParseError(ValueError):
    """Output of a hardware tool could not be understood; the message names the tool and the part."""


def is_unknown(raw: Optional[str]) -> bool:
    """Tell whether a tool printed one of its "no value" markers instead of a value."""
    return raw is None or raw.strip().lower() in _UNKNOWN_MARKERS


def optional_int(raw: Any, what: str) -> Optional[int]:
    """Read an integer that a tool may report as N/A; other non-numbers are a ParseError."""
    if isinstance(raw, bool):
        raise ParseError(f"{what}: expected a number, got {raw!r}")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float):
        return int(raw)
    if raw is None or is_unknown(str(raw)):
        return None
    text = str(raw).strip()
    try:
        return int(text, 16) if text.lower().startswith("0x") else int(float(text))
    except ValueError:
        raise ParseError(f"{what}: expected a number, got {raw!r}") from None


def optional_text(raw: Any) -> Optional[str]:
    """Return a stripped string, or None where the tool printed an N/A marker."""
    if raw is None:
        return None
    text = str(raw).strip()
    return None if is_unknown(text) else text


def hex_id(raw: Any) -> Optional[str]:
    """Normalise a PCI id to the fact's form: lower-case, 0x-prefixed, four hex digits."""
    text = optional_text(raw)
    if text is None:
        return None
    digits = text.lower()[2:] if text.lower().startswith("0x") else text.lower()
    try:
        value = int(digits, 16)
    except ValueError:
        raise ParseError(f"PCI id: expected hex digits, got {raw!r}") from None
    return f"0x{value:04x}"


def bus_key(bus_id: Optional[str]) -> Optional[str]:
    """Comparable form of a PCI address: nvidia-smi writes 00000000:1B:00.0, lspci 0000:1b:00.0."""
    if not bus_id:
        return None
    parts = bus_id.strip().lower().split(":")
    if len(parts) == 2:
        parts.insert(0, "0")
    if len(parts) != 3:
        return bus_id.strip().lower()
    domain, bus, slot = parts
    try:
        return f"{int(domain, 16):04x}:{bus.zfill(2)}:{slot}"
    except ValueError:
        return bus_id.strip().lower()


def load_json(text: str, tool: str) -> Any:
    """Parse a tool's JSON output, naming the tool when it is not JSON."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise ParseError(f"{tool}: output is not JSON ({error})") from None


def new_gpu(index: int, vendor: str, name: str) -> Dict[str, Any]:
    """One entry of ``sovereign_hardware.gpus`` with every contract key present and unknowns null."""
    return {
        "index": index,
        "vendor": vendor,
        "name": name,
        "pci_device_id": None,
        "pci_bus_id": None,
        "memory_total_bytes": None,
        "memory_free_bytes": None,
        "compute_capability": None,
        "gfx_arch": None,
        "driver_version": None,
        "unified_memory": False,
        "nvlink_peers": [],
    }


GpuList = List[Dict[str, Any]]

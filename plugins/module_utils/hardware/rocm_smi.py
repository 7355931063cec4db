# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parser for ``rocm-smi --showproductname --showmeminfo vram gtt --showbus --json``.

rocm-smi prints one object per card (``card0``, ``card1``, ... numbered like ``GPU[n]``) with every
value a string, plus a ``system`` object. Key spelling changed across releases ("Card series" in
ROCm 5, "Card Series" with "GFX Version" in ROCm 6), so keys are matched case-insensitively.
In ROCm 6 "Card Model" is the PCI device id; ROCm 5 printed the subsystem there, so the device
id is only taken when the ROCm 6 "Subsystem ID" key is also present.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.amd_smi import AmdGpu
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import (
    ParseError,
    hex_id,
    load_json,
    new_gpu,
    optional_int,
    optional_text,
)

_CARD_KEY = re.compile(r"^card(\d+)$")


def parse(text: str) -> List[AmdGpu]:
    """Parse the combined rocm-smi JSON answer into AMD GPUs with their GTT size."""
    payload = load_json(text, "rocm-smi")
    if not isinstance(payload, dict):
        raise ParseError("rocm-smi: expected a JSON object keyed by card0, card1, ...")
    readings: List[AmdGpu] = []
    for key in sorted(payload, key=_card_number):
        match = _CARD_KEY.match(key)
        values = payload[key]
        if match is None or not isinstance(values, dict):
            continue
        card = {str(name).strip().lower(): value for name, value in values.items()}
        index = int(match.group(1))
        gpu = new_gpu(index, "amd", optional_text(card.get("card series")) or f"AMD GPU {index}")
        if "subsystem id" in card:
            gpu["pci_device_id"] = hex_id(card.get("card model"))
        gpu["gfx_arch"] = optional_text(card.get("gfx version"))
        gpu["pci_bus_id"] = optional_text(card.get("pci bus"))
        total = optional_int(card.get("vram total memory (b)"), "rocm-smi VRAM Total Memory (B)")
        used = optional_int(card.get("vram total used memory (b)"), "rocm-smi VRAM Total Used Memory (B)")
        gpu["memory_total_bytes"] = total
        gpu["memory_free_bytes"] = None if total is None or used is None else total - used
        gpu["driver_version"] = _driver_version(payload)
        gtt_total = optional_int(card.get("gtt total memory (b)"), "rocm-smi GTT Total Memory (B)")
        readings.append(AmdGpu(gpu, gtt_total))
    if not readings:
        raise ParseError("rocm-smi: no card objects (card0, card1, ...) in the output")
    return readings


def _card_number(key: str) -> int:
    """Sort card10 after card9 and non-card keys last."""
    match = _CARD_KEY.match(key)
    return int(match.group(1)) if match else 1 << 30


def _driver_version(payload: Dict[str, Any]) -> Optional[str]:
    """The amdgpu driver version from the ``system`` object, when rocm-smi printed one."""
    system = payload.get("system")
    if not isinstance(system, dict):
        return None
    version: Optional[str] = optional_text(system.get("Driver version"))
    return version

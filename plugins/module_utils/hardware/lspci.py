# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Parser for ``lspci -nn -D``: the GPUs on the PCI bus, named even where no vendor tool is installed.

A line reads ``0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102
[GeForce RTX 3090] [10de:2204] (rev a1)``. Only display classes (0300 VGA, 0302 3D, 0380 other)
from GPU vendors count: a server's ASPEED or Matrox BMC display is not an accelerator. AMD and
NVIDIA data-centre boards may enumerate as "Processing accelerators" (1200) instead, e.g. the
MI300X; Intel's NPU uses that class too, so 1200 counts for AMD and NVIDIA only.
"""

from __future__ import annotations

import re
from typing import List, NamedTuple, Optional

DISPLAY_CLASSES = frozenset({"0300", "0302", "0380"})
ACCELERATOR_CLASS = "1200"
GPU_VENDORS = {"10de": "nvidia", "1002": "amd", "8086": "intel"}

_LINE = re.compile(
    r"^(?P<bus>[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7])\s+"
    r"(?P<class_name>.+?) \[(?P<class_id>[0-9a-fA-F]{4})\]:\s+"
    r"(?P<description>.+?) \[(?P<vendor>[0-9a-fA-F]{4}):(?P<device>[0-9a-fA-F]{4})\]"
    r"(?: \(rev [0-9a-fA-F]+\))?(?: \(prog-if [^)]*\))?\s*$"
)


class PciGpu(NamedTuple):
    """A display-class PCI function made by a GPU vendor."""

    bus_id: str
    vendor: str
    device_id: str
    name: str


def parse(text: str) -> List[PciGpu]:
    """List the GPU vendors' display devices; lines of other devices and unknown shapes are skipped."""
    gpus: List[PciGpu] = []
    for line in text.splitlines():
        device = _gpu_from_line(line.strip())
        if device is not None:
            gpus.append(device)
    return gpus


def _gpu_from_line(line: str) -> Optional[PciGpu]:
    """One lspci line as a PciGpu, or None when it is not a GPU vendor's display device."""
    match = _LINE.match(line)
    if match is None:
        return None
    vendor = GPU_VENDORS.get(match.group("vendor").lower())
    device_class = match.group("class_id")
    accelerator = device_class == ACCELERATOR_CLASS and vendor in ("amd", "nvidia")
    if vendor is None or (device_class not in DISPLAY_CLASSES and not accelerator):
        return None
    return PciGpu(
        bus_id=match.group("bus").lower(),
        vendor=vendor,
        device_id="0x" + match.group("device").lower(),
        name=match.group("description").strip(),
    )

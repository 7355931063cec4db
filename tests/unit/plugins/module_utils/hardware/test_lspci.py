# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""lspci -nn -D: which PCI functions are GPUs."""

from __future__ import annotations

from ansible_collections.sovereign.stack.plugins.module_utils.hardware.lspci import PciGpu, parse

LINES = (
    "0000:00:02.0 VGA compatible controller [0300]: Intel Corporation Arrow Lake-S"
    " [Intel Graphics] [8086:7d67] (rev 06)\n"
    "0000:00:0b.0 Processing accelerators [1200]: Intel Corporation Arrow Lake NPU"
    " [8086:ad1d] (rev 01)\n"
    "0000:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102"
    " [GeForce RTX 3090] [10de:2204] (rev a1)\n"
    "0000:01:00.1 Audio device [0403]: NVIDIA Corporation GA102 High Definition"
    " Audio Controller [10de:1aef] (rev a1)\n"
    "0000:83:00.0 Processing accelerators [1200]: Advanced Micro Devices, Inc."
    " [AMD/ATI] Aqua Vanjaram [Instinct MI300X] [1002:74a1]\n"
    "0000:c2:00.0 VGA compatible controller [0300]: ASPEED Technology, Inc. ASPEED"
    " Graphics Family [1a03:2000] (rev 52)\n"
    "0000:c5:00.0 Display controller [0380]: Advanced Micro Devices, Inc. [AMD/ATI]"
    " Strix Halo [Radeon Graphics / 8050S / 8060S] [1002:1586] (rev c1)\n"
    "000f:01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GB20B [GB10]"
    " [10de:2e12] (rev a1)\n"
    "0000:08:00.0 3D controller [0302]: NVIDIA Corporation GH100 [H100 SXM5 80GB]"
    " [10de:2330] (rev a1)\n"
    "not an lspci line\n"
)


def test_gpu_vendors_display_and_accelerator_functions_only() -> None:
    assert parse(LINES) == [
        PciGpu("0000:00:02.0", "intel", "0x7d67", "Intel Corporation Arrow Lake-S [Intel Graphics]"),
        PciGpu("0000:01:00.0", "nvidia", "0x2204", "NVIDIA Corporation GA102 [GeForce RTX 3090]"),
        PciGpu(
            "0000:83:00.0",
            "amd",
            "0x74a1",
            "Advanced Micro Devices, Inc. [AMD/ATI] Aqua Vanjaram [Instinct MI300X]",
        ),
        PciGpu(
            "0000:c5:00.0",
            "amd",
            "0x1586",
            "Advanced Micro Devices, Inc. [AMD/ATI] Strix Halo [Radeon Graphics / 8050S / 8060S]",
        ),
        PciGpu("000f:01:00.0", "nvidia", "0x2e12", "NVIDIA Corporation GB20B [GB10]"),
        PciGpu("0000:08:00.0", "nvidia", "0x2330", "NVIDIA Corporation GH100 [H100 SXM5 80GB]"),
    ]


def test_empty_and_unrelated_output_gives_no_gpus() -> None:
    assert parse("") == []
    assert parse("pcilib: Cannot open /proc/bus/pci\nlspci: Cannot find any working access method.\n") == []

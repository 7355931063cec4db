# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/filter/rocm_driver.py and plugins/plugin_utils/drivers/amd_rules.py, every machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.filter.rocm_driver import (
    FilterModule,
    amd_apu_memory,
    rocm_plan,
)

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "hardware"
GIB = 1024**3
MIB = 1024**2

# machine -> (Debian 13 source, gfx targets, APU); None: no AMD GPU.
EXPECTED: dict[str, tuple[str, list[str], bool] | None] = {
    "cpu-only-epyc": None,
    "dgx-spark-gb10": None,
    "h100-sxm": None,
    "mac-studio-m3-ultra": None,
    "macbook-pro-m4-max": None,
    "rtx3090-nvlink-x2": None,
    "rtx4090": None,
    "rtx5090": None,
    # Debian 13's HIP runtime is 5.7.1: MI300X (gfx942, ROCm 6.0+) and Strix Halo (gfx1151, 6.4.1+) need
    # AMD's repository; the RX 7900 XTX (gfx1100, 5.7+) is served by Debian.
    "mi300x": ("amd", ["gfx942"], False),
    "rx7900xtx": ("distro", ["gfx1100"], False),
    "strix-halo": ("amd", ["gfx1151"], True),
}


def machine(name: str) -> dict[str, Any]:
    fact: dict[str, Any] = yaml.safe_load((FIXTURES / name / "expected.yml").read_text())[
        "sovereign_hardware"
    ]
    return fact


def test_every_recorded_machine_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yml").exists())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_source_and_packages_of_every_recorded_machine(name: str) -> None:
    expected = EXPECTED[name]
    if expected is None:
        with pytest.raises(AnsibleFilterError, match="lists no AMD GPU"):
            rocm_plan(machine(name), "Debian", "13")
        return
    source, archs, apu = expected
    plan = rocm_plan(machine(name), "Debian", "13")
    assert (plan["source"], plan["gfx_archs"], plan["apu"], plan["gpu_count"]) == (source, archs, apu, 1)
    if source == "distro":
        assert plan["packages"] == ["rocminfo", "rocm-smi", "libamdhip64-5"]
        assert plan["source_reason"] == "the Debian 13 archive carries ROCm 5.7.1"
    else:
        assert plan["packages"] == ["rocm-hip-runtime", "rocminfo", "amd-smi-lib"]


def test_debian_12_is_too_old_for_the_7900_xtx() -> None:
    plan = rocm_plan(machine("rx7900xtx"), "Debian", "12")
    assert plan["source"] == "amd"
    assert (
        plan["source_reason"] == "GPU 0 (Radeon RX 7900 XTX, gfx1100) needs ROCm 5.7; Debian 12 carries 5.2.3"
    )


def test_distro_forced_where_it_cannot_serve_fails() -> None:
    with pytest.raises(AnsibleFilterError, match=r"'distro' cannot serve this host.*valid here: auto or amd"):
        rocm_plan(machine("mi300x"), "Debian", "13", source="distro")
    with pytest.raises(AnsibleFilterError, match="'rocky' is not valid; expected auto, distro or amd"):
        rocm_plan(machine("mi300x"), "Debian", "13", source="rocky")


def test_strix_halo_gtt_sized_from_the_plan() -> None:
    # Strix Halo: MemTotal 132468948992 B (fixture total minus the 4 GiB carve-out), 8 GiB reserve.
    memory_total = 136763916288 - 4 * GIB
    params = amd_apu_memory({"system_memory_bytes": memory_total, "reserve_bytes": 8 * GIB})
    gtt_mib = (memory_total - 8 * GIB) // MIB
    assert gtt_mib == 118140  # 123879014400 / 1048576 = 118140.1
    assert params == {
        "gttsize_mib": 118140,
        "pages_limit": 118140 * 256,
        "page_pool_size": 118140 * 256,
        "bytes": 118140 * MIB,
    }


def test_explicit_gtt_and_errors() -> None:
    hardware = {"system_memory_bytes": 64 * GIB, "reserve_bytes": 8 * GIB}
    assert amd_apu_memory(hardware, 49152)["pages_limit"] == 49152 * 256
    with pytest.raises(
        AnsibleFilterError, match="rocm_gtt_size_mib: 70000 is not valid; expected 1 to 65536"
    ):
        amd_apu_memory(hardware, 70000)
    with pytest.raises(AnsibleFilterError, match="leave no memory for the GPU"):
        amd_apu_memory({"system_memory_bytes": 8 * GIB, "reserve_bytes": 8 * GIB})


def test_filters_are_registered() -> None:
    assert sorted(FilterModule().filters()) == ["amd_apu_memory", "rocm_plan"]

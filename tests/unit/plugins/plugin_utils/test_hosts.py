# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/hosts.py: declared and detected hardware, budgets, differences."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import GIB, read_host
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError

CATALOG = load_catalog()


def detected_3090(count: int = 2, memory: int = 25769803776) -> dict[str, Any]:
    return {
        "source": "detected",
        "memory": {"total_bytes": 128 * GIB, "available_bytes": 100 * GIB},
        "gpus": [
            {
                "index": index,
                "vendor": "nvidia",
                "name": "NVIDIA GeForce RTX 3090",
                "pci_device_id": "0x2204",
                "memory_total_bytes": memory,
                "compute_capability": "8.6",
                "nvlink_peers": [1 - index] if count == 2 else [],
            }
            for index in range(count)
        ],
        "unified_memory": None,
    }


def test_declared_discrete_pair() -> None:
    declared = {"gpus": [{"device": "rtx-3090", "count": 2, "nvlink": True}], "memory_gib": 64}
    host = read_host("ws", {"sovereign_hardware_declared": declared}, CATALOG).resources
    assert host.platform == "discrete"
    assert host.source == "declared"
    assert [g.index for g in host.gpus] == [0, 1]
    assert host.gpus[0].nvlink_peers == (1,)
    assert host.gpus[1].memory_bytes == 24 * GIB
    assert host.gpus[0].bandwidth_bytes_s == 936.2e9
    # Discrete hosts: the pool is the RAM available for CPU offload, less the default 8 GiB reserve.
    assert host.pool_bytes == 56 * GIB


def test_declared_gb10_pool_is_total_minus_reserve() -> None:
    hostvars = {
        "sovereign_hardware_declared": {"gpus": [{"device": "gb10"}]},
        "sovereign_memory_reserve_gib": 10,
    }
    host = read_host("spark", hostvars, CATALOG).resources
    assert host.platform == "nvidia_gb10"
    assert host.pool_bytes == 118 * GIB
    assert host.gpus[0].memory_bytes == 128 * GIB


def test_apple_default_wired_limit_is_three_quarters_above_36_gib() -> None:
    hostvars = {"sovereign_hardware_declared": {"gpus": [{"device": "m3-ultra"}], "memory_gib": 192}}
    host = read_host("mac", hostvars, CATALOG).resources
    assert host.platform == "apple"
    assert host.pool_bytes == 144 * GIB


def test_apple_small_mac_uses_two_thirds() -> None:
    hostvars = {"sovereign_hardware_declared": {"gpus": [{"device": "m4-pro"}], "memory_gib": 24}}
    assert read_host("mini", hostvars, CATALOG).resources.pool_bytes == 16 * GIB


def test_apple_raised_wired_limit_still_keeps_the_reserve() -> None:
    declared = {"gpus": [{"device": "m3-ultra"}], "memory_gib": 192, "unified_memory_gpu_limit_gib": 188}
    assert (
        read_host("mac", {"sovereign_hardware_declared": declared}, CATALOG).resources.pool_bytes == 184 * GIB
    )


def test_cpu_device_gives_bandwidth_not_a_gpu() -> None:
    declared = {"gpus": [{"device": "cpu-ddr5-dual-channel"}], "memory_gib": 96}
    host = read_host("box", {"sovereign_hardware_declared": declared}, CATALOG).resources
    assert host.platform == "cpu"
    assert host.gpus == ()
    assert host.vendor == "cpu"
    assert host.cpu_bandwidth_bytes_s == 89.6e9
    assert host.pool_bytes == 88 * GIB


def test_detected_matches_the_catalog_for_bandwidth() -> None:
    reading = read_host("ws", {"sovereign_hardware": detected_3090()}, CATALOG)
    assert reading.warnings == ()
    assert reading.resources.source == "detected"
    assert reading.resources.gpus[0].device_id == "rtx-3090"
    assert reading.resources.gpus[0].memory_bytes == 25769803776


def test_detected_in_ansible_facts_is_read_too() -> None:
    reading = read_host("ws", {"ansible_facts": {"sovereign_hardware": detected_3090(1)}}, CATALOG)
    assert len(reading.resources.gpus) == 1


def test_detected_gb10_reports_no_gpu_memory() -> None:
    fact = {
        "memory": {"total_bytes": 128 * GIB},
        "gpus": [{"index": 0, "vendor": "nvidia", "name": "NVIDIA GB10", "pci_device_id": "0x2e12",
                  "memory_total_bytes": None, "compute_capability": "12.1"}],
        "unified_memory": {"kind": "nvidia_gb10", "total_bytes": 128 * GIB, "gpu_limit_bytes": 128 * GIB},
    }  # fmt: skip
    host = read_host("spark", {"sovereign_hardware": fact}, CATALOG).resources
    assert host.platform == "nvidia_gb10"
    assert host.gpus[0].memory_bytes == 128 * GIB
    assert host.pool_bytes == 120 * GIB


def test_unknown_detected_gpu_warns_about_speed() -> None:
    fact = detected_3090(1)
    fact["gpus"][0].update(name="Mystery Accelerator 9000", pci_device_id="0xffff")
    reading = read_host("lab", {"sovereign_hardware": fact}, CATALOG)
    assert reading.resources.gpus[0].bandwidth_bytes_s is None
    assert reading.warnings == (
        "hosts.lab.sovereign_hardware.gpus[0]: 'Mystery Accelerator 9000' matches no catalog device; "
        "bandwidth unknown, so no speed prediction (add the device to sovereign_catalog_extensions.devices)",
    )


def test_detected_and_declared_differences_are_reported() -> None:
    hostvars = {
        "sovereign_hardware": detected_3090(1, memory=20 * GIB),
        "sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 64},
    }
    reading = read_host("ws", hostvars, CATALOG)
    assert reading.resources.source == "detected"
    assert reading.warnings == (
        "hosts.ws: GPU count differs: detected 1, declared 2 (sovereign_hardware_declared.gpus)",
        "hosts.ws: GPU 0 memory differs: detected 20.0 GiB, declared 24.0 GiB",
        "hosts.ws: system memory differs: detected 128.0 GiB, declared 64.0 GiB "
        "(sovereign_hardware_declared.memory_gib)",
    )


def test_matching_detected_and_declared_report_nothing() -> None:
    hostvars = {
        "sovereign_hardware": detected_3090(2),
        "sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 127},
    }
    assert read_host("ws", hostvars, CATALOG).warnings == ()


def test_a_different_model_is_reported() -> None:
    hostvars = {
        "sovereign_hardware": detected_3090(1),
        "sovereign_hardware_declared": {"gpus": [{"device": "rtx-4090"}], "memory_gib": 128},
    }
    assert read_host("ws", hostvars, CATALOG).warnings == (
        "hosts.ws: GPU 0 model differs: detected 'NVIDIA GeForce RTX 3090', declared "
        "'NVIDIA GeForce RTX 4090' (sovereign_hardware_declared.gpus)",
    )


@pytest.mark.parametrize(
    ("hostvars", "message"),
    [
        ({}, "hosts.h: neither sovereign_hardware (run the sovereign.stack.hardware role) nor"),
        (
            {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090"}]}},
            "hosts.h.sovereign_hardware_declared.memory_gib: missing; expected the host's system RAM in GiB",
        ),
        (
            {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 0}], "memory_gib": 8}},
            "hosts.h.sovereign_hardware_declared.gpus[0].count: 0 is not valid; "
            "expected an integer of at least 1",
        ),
        (
            {"sovereign_hardware_declared": {"gpus": [], "memory_gib": -4}},
            "hosts.h.sovereign_hardware_declared.memory_gib: -4 is not valid; "
            "expected a number greater than 0",
        ),
        (
            {
                "sovereign_hardware_declared": {"gpus": [{"device": "gb10"}]},
                "sovereign_memory_reserve_gib": 200,
            },
            "hosts.h.sovereign_memory_reserve_gib: reserve 200.0 GiB leaves "
            "no memory of 128.0 GiB for models",
        ),
        (
            {"sovereign_hardware": {"memory": {"total_bytes": 0}, "gpus": []}},
            "hosts.h.sovereign_hardware.memory.total_bytes: 0 is not valid; "
            "expected an integer greater than 0",
        ),
    ],
)
def test_unusable_hardware_is_explained(hostvars: dict[str, Any], message: str) -> None:
    with pytest.raises(PlanInputError) as caught:
        read_host("h", hostvars, CATALOG)
    assert message in str(caught.value)


HARDWARE_FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "hardware"


def recorded_fact(machine: str) -> dict[str, Any]:
    """The sovereign_hardware fact hardware_facts produces from a recorded machine (its expected.yml)."""
    document = yaml.safe_load((HARDWARE_FIXTURES / machine / "expected.yml").read_text(encoding="utf-8"))
    fact: dict[str, Any] = document["sovereign_hardware"]
    return fact


@pytest.mark.parametrize(
    ("machine", "platform", "devices", "pool_bytes"),
    [
        # GB10: nvidia-smi has no memory figure; the pool is all RAM less the 8 GiB reserve.
        ("dgx-spark-gb10", "nvidia_gb10", ["gb10"], 130661117952 - 8 * GIB),
        # Strix Halo: the GPU's own figure is the 4 GiB carve-out; the budget is the 96 GiB GTT.
        ("strix-halo", "amd_apu", ["strix-halo"], 103079215104),
        # Mac Studio 512 GB with the wired limit raised to 480 GiB.
        ("mac-studio-m3-ultra", "apple", ["m3-ultra"], 515396075520),
        ("rtx3090-nvlink-x2", "discrete", ["rtx-3090", "rtx-3090"], None),
        # The Arrow Lake iGPU has no memory figure and no catalog entry: skipped, with a warning.
        ("rtx5090", "discrete", ["rtx-5090"], None),
        ("cpu-only-epyc", "cpu", [], 134758711296 - 8 * GIB),
    ],
)
def test_recorded_machines(machine: str, platform: str, devices: list[str], pool_bytes: int | None) -> None:
    reading = read_host(machine, {"sovereign_hardware": recorded_fact(machine)}, CATALOG)
    host = reading.resources
    assert host.platform == platform
    assert [gpu.device_id for gpu in host.gpus] == devices
    if pool_bytes is not None:
        assert host.pool_bytes == pool_bytes
    assert [w for w in reading.warnings if "ignored" in w] == (
        [
            "hosts.rtx5090.sovereign_hardware.gpus[1]: 'Intel Corporation Arrow Lake-S [Intel Graphics]' "
            "ignored: memory unknown and no catalog device matches "
            "(declare it in sovereign_hardware_declared or sovereign_catalog_extensions.devices)"
        ]
        if machine == "rtx5090"
        else []
    )

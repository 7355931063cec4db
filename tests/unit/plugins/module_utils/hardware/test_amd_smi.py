# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""amd-smi static, metric and topology JSON, in the ROCm 6 list form and the ROCm 7 gpu_data form."""

from __future__ import annotations

import json

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.amd_smi import (
    MemoryUsage,
    parse_memory_usage,
    parse_static,
    parse_xgmi_peers,
    size_bytes,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import ParseError

MIB = 1 << 20
ROCM6_STATIC = [
    {
        "gpu": 0,
        "asic": {
            "market_name": "AMD Instinct MI300X",
            "device_id": "0x74a1",
            "target_graphics_version": "gfx942",
        },
        "bus": {"bdf": "0000:0c:00.0"},
        "vram": {"vram_type": "HBM", "vram_vendor": "HYNIX", "vram_size_mb": 196592},
        "driver": {"driver_name": "amdgpu", "driver_version": "6.7.0"},
    },
    {"gpu": 1, "asic": "N/A", "bus": "N/A", "vram": "N/A", "driver": "N/A"},
]


def test_rocm6_list_form_with_bare_mib_sizes() -> None:
    first, second = parse_static(json.dumps(ROCM6_STATIC))
    assert first.gpu["memory_total_bytes"] == 196592 * MIB == 206141652992
    assert (first.gpu["gfx_arch"], first.gpu["pci_device_id"], first.gpu["driver_version"]) == (
        "gfx942",
        "0x74a1",
        "6.7.0",
    )
    assert first.gtt_total_bytes is None
    assert second.gpu["name"] == "AMD GPU 1"
    assert second.gpu["memory_total_bytes"] is None


def test_rocm7_gpu_data_form_with_value_unit_sizes() -> None:
    payload = {
        "gpu_data": [
            {
                "gpu": 0,
                "asic": {
                    "market_name": "AMD Radeon AI PRO R9700",
                    "device_id": "0x7551",
                    "target_graphics_version": "gfx1201",
                },
                "bus": {"bdf": "0000:0a:00.0"},
                "vram": {"size": {"value": 32624, "unit": "MB"}},
                "driver": {"name": "amdgpu", "version": "6.14.14"},
            }
        ]
    }
    (reading,) = parse_static(json.dumps(payload))
    assert reading.gpu["memory_total_bytes"] == 32624 * MIB
    assert reading.gpu["pci_bus_id"] == "0000:0a:00.0"


def test_static_without_gpu_index_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match='no "gpu" index'):
        parse_static(json.dumps([{"asic": {}}]))


def test_static_that_is_not_json_names_the_tool() -> None:
    with pytest.raises(ParseError, match="amd-smi static: output is not JSON"):
        parse_static("AMD SMI could not initialize")


def test_static_of_the_wrong_shape_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="expected a list of per-GPU objects"):
        parse_static(json.dumps({"gpus": 3}))


def test_memory_usage_reads_vram_and_gtt() -> None:
    payload = [
        {
            "gpu": 0,
            "mem_usage": {
                "total_vram": {"value": 16368, "unit": "MB"},
                "free_vram": {"value": 15000, "unit": "MB"},
                "total_gtt": {"value": 31000, "unit": "MB"},
            },
        }
    ]
    assert parse_memory_usage(json.dumps(payload)) == {0: MemoryUsage(16368 * MIB, 15000 * MIB, 31000 * MIB)}


def test_memory_usage_na_values_are_null() -> None:
    payload = {
        "gpu_data": [{"gpu": 0, "mem_usage": {"total_vram": "N/A", "free_vram": "N/A", "total_gtt": "N/A"}}]
    }
    assert parse_memory_usage(json.dumps(payload)) == {0: MemoryUsage(None, None, None)}


def test_xgmi_links_become_peers() -> None:
    payload = [
        {
            "gpu": index,
            "link_type": {
                f"gpu_{other}": "SELF" if other == index else ("XGMI" if other < 2 and index < 2 else "PCIE")
                for other in range(3)
            },
        }
        for index in range(3)
    ]
    assert parse_xgmi_peers(json.dumps(payload)) == {0: [1], 1: [0], 2: []}


def test_sizes_in_other_units_and_unknown_units() -> None:
    assert size_bytes({"value": 2, "unit": "GB"}, "x") == 2 << 30
    assert size_bytes(512, "x") == 512 * MIB
    with pytest.raises(ParseError, match="unknown unit 'PB'"):
        size_bytes({"value": 1, "unit": "PB"}, "x")

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""nvidia-smi query CSV and topology matrix."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.nvidia_smi import (
    QUERY_FIELDS,
    parse_query,
    parse_topology,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import ParseError

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "hardware"


def test_query_fields_are_the_ones_nvidia_smi_documents() -> None:
    assert QUERY_FIELDS == (
        "index",
        "name",
        "pci.device_id",
        "pci.bus_id",
        "memory.total",
        "memory.free",
        "compute_cap",
        "driver_version",
    )


def test_h100_line_becomes_bytes_and_a_short_device_id() -> None:
    (gpu,) = parse_query(
        "0, NVIDIA H100 80GB HBM3, 0x233010DE, 00000000:1B:00.0, 81559, 81049, 9.0, 550.54.15\n"
    )
    assert gpu["pci_device_id"] == "0x2330"
    assert gpu["pci_bus_id"] == "00000000:1B:00.0"
    assert gpu["memory_total_bytes"] == 85520809984
    assert gpu["memory_free_bytes"] == 81049 * 1048576
    assert gpu["compute_capability"] == "9.0"
    assert gpu["driver_version"] == "550.54.15"
    assert gpu["vendor"] == "nvidia" and gpu["unified_memory"] is False and gpu["nvlink_peers"] == []


def test_gb10_na_memory_is_null() -> None:
    (gpu,) = parse_query("0, NVIDIA GB10, 0x2E1210DE, 0000000F:01:00.0, [N/A], [N/A], 12.1, 580.95.05")
    assert (gpu["memory_total_bytes"], gpu["memory_free_bytes"]) == (None, None)
    assert gpu["pci_device_id"] == "0x2e12"


def test_not_supported_marker_is_null_too() -> None:
    (gpu,) = parse_query("0, NVIDIA GB10, [N/A], 0000000F:01:00.0, [Not Supported], [N/A], [N/A], 580.95.05")
    assert (gpu["pci_device_id"], gpu["memory_total_bytes"], gpu["compute_capability"]) == (None, None, None)


def test_wrong_field_count_names_the_expected_fields() -> None:
    with pytest.raises(ParseError, match=r"expected 8 comma-separated fields \(index,name,pci.device_id"):
        parse_query("NVIDIA GeForce RTX 4090, 24564\n")


def test_driver_error_text_is_a_parse_error() -> None:
    with pytest.raises(ParseError):
        parse_query("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.\n")


def test_empty_output_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no GPU lines"):
        parse_query("\n")


def test_non_numeric_memory_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match=r"memory\.total"):
        parse_query("0, X, 0x233010DE, 00000000:1B:00.0, lots, 1, 9.0, 550")


def test_bridged_3090_pair_are_peers() -> None:
    text = (FIXTURES / "rtx3090-nvlink-x2" / "commands" / "nvidia-smi-topo.txt").read_text()
    assert parse_topology(text) == {0: [1], 1: [0]}


def test_pcie_only_pair_has_no_peers() -> None:
    text = (
        "\tGPU0\tGPU1\tCPU Affinity\tNUMA Affinity\tGPU NUMA ID\n"
        "GPU0\t X \tPHB\t0-63\t0\t\tN/A\n"
        "GPU1\tPHB\t X \t0-63\t0\t\tN/A\n"
    )
    assert parse_topology(text) == {0: [], 1: []}


def test_quad_3090_in_nvlinked_pairs() -> None:
    text = """        GPU0    GPU1    GPU2    GPU3    CPU Affinity    NUMA Affinity   GPU NUMA ID
GPU0     X      PHB     NV4     NODE    0-23    0               N/A
GPU1    PHB      X      NODE    NV4     0-23    0               N/A
GPU2    NV4     NODE     X      PHB     0-23    0               N/A
GPU3    NODE    NV4     PHB      X      0-23    0               N/A
"""
    assert parse_topology(text) == {0: [2], 1: [3], 2: [0], 3: [1]}


def test_dgx_matrix_with_nics_counts_gpus_only() -> None:
    text = """        GPU0    GPU1    GPU2    NIC0    CPU Affinity    NUMA Affinity   GPU NUMA ID
GPU0     X      NV18    NV18    PXB     0-55    0               N/A
GPU1    NV18     X      NV18    SYS     0-55    0               N/A
GPU2    NV18    NV18     X      SYS     56-111  1               N/A
NIC0    PXB     SYS     SYS      X
"""
    assert parse_topology(text) == {0: [1, 2], 1: [0, 2], 2: [0, 1]}


def test_topology_without_a_matrix_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no GPU matrix"):
        parse_topology("Failed to initialize NVML: Driver/library version mismatch\n")

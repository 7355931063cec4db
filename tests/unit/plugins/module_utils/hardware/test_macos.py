# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""system_profiler, sysctl, vm_stat and the macOS GPU wired-memory default."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.macos import (
    MacHardware,
    default_wired_limit_bytes,
    gpu_limit_bytes,
    parse_sysctl_int,
    parse_system_profiler,
    parse_vm_stat,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import ParseError

FIXTURES = Path(__file__).resolve().parents[4] / "fixtures" / "hardware"
GIB = 1 << 30


def test_system_profiler_names_chip_gpu_and_machine() -> None:
    text = (FIXTURES / "mac-studio-m3-ultra" / "commands" / "system_profiler.txt").read_text()
    assert parse_system_profiler(text) == MacHardware(
        "Apple M3 Ultra", "Apple M3 Ultra", "Mac Studio (Mac15,14)"
    )


def test_system_profiler_without_hardware_section_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="no SPHardwareDataType entries"):
        parse_system_profiler(json.dumps({"SPDisplaysDataType": []}))


def test_intel_mac_profile_has_no_chip_type() -> None:
    payload = {"SPHardwareDataType": [{"machine_name": "MacBook Pro"}], "SPDisplaysDataType": [{}]}
    with pytest.raises(ParseError, match="no chip_type"):
        parse_system_profiler(json.dumps(payload))


def test_sysctl_integer_and_garbage() -> None:
    assert parse_sysctl_int("137438953472\n", "hw.memsize") == 128 * GIB
    with pytest.raises(ParseError, match=r"sysctl hw\.memsize"):
        parse_sysctl_int("unknown oid\n", "hw.memsize")


def test_vm_stat_counts_free_inactive_and_speculative_pages() -> None:
    text = (FIXTURES / "macbook-pro-m4-max" / "commands" / "vm_stat.txt").read_text()
    assert parse_vm_stat(text) == (402113 + 2101234 + 45012) * 16384


def test_vm_stat_without_page_size_is_a_parse_error() -> None:
    with pytest.raises(ParseError, match="page size"):
        parse_vm_stat("Pages free: 1.\n")


def test_default_wired_limit_two_thirds_up_to_36_gib_then_three_quarters() -> None:
    assert default_wired_limit_bytes(16 * GIB) == 16 * GIB * 2 // 3
    assert default_wired_limit_bytes(36 * GIB) == 24 * GIB
    assert default_wired_limit_bytes(48 * GIB) == 36 * GIB
    assert default_wired_limit_bytes(128 * GIB) == 96 * GIB


def test_gpu_limit_prefers_the_sysctl() -> None:
    assert gpu_limit_bytes(512 * GIB, 491520) == 480 * GIB
    assert gpu_limit_bytes(128 * GIB, 0) == 96 * GIB
    assert gpu_limit_bytes(128 * GIB, None) == 96 * GIB

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The rocm role's GRUB drop-in and apt sources, rendered with the decisions of the recorded machines."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible_collections.sovereign.stack.plugins.filter.rocm_driver import amd_apu_memory, rocm_plan

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "rocm"
TEMPLATES = ROLE / "templates" / "etc"
GIB = 1024**3


def fact(machine: str) -> dict[str, Any]:
    path = REPO / "tests" / "fixtures" / "hardware" / machine / "expected.yml"
    hardware: dict[str, Any] = yaml.safe_load(path.read_text())["sovereign_hardware"]
    return hardware


def render(template: Path, **extra: Any) -> str:
    """Render ``template`` with the role's defaults, as the template task does."""
    variables: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(ansible_managed="Ansible managed", **extra)
    templar = Templar(loader=DataLoader(), variables=variables)
    return str(templar.template(trust_as_template(template.read_text())))


def test_strix_halo_drop_in_carries_the_plan_budget() -> None:
    # (132468948992 - 8 GiB) // 2^20 = 118140 MiB; 118140 * 256 pages of 4 KiB = 30243840.
    memory = amd_apu_memory({"system_memory_bytes": 132468948992, "reserve_bytes": 8 * GIB})
    text = render(TEMPLATES / "default" / "grub.d" / "60-sovereign-amdgpu.cfg.j2", __rocm_apu_memory=memory)
    settings = [line for line in text.splitlines() if not line.startswith("#")]
    assert settings == [
        'GRUB_CMDLINE_LINUX_DEFAULT="${GRUB_CMDLINE_LINUX_DEFAULT} amdgpu.gttsize=118140 '
        'ttm.pages_limit=30243840 ttm.page_pool_size=30243840"'
    ]
    assert "the plan's budget" in text
    assert subprocess.run(["sh", "-n"], input=text, text=True, check=False).returncode == 0


def test_drop_in_names_an_explicit_gtt_size() -> None:
    memory = amd_apu_memory({"system_memory_bytes": 132468948992, "reserve_bytes": 8 * GIB}, 65536)
    text = render(
        TEMPLATES / "default" / "grub.d" / "60-sovereign-amdgpu.cfg.j2",
        __rocm_apu_memory=memory,
        rocm_gtt_size_mib=65536,
    )
    assert "amdgpu.gttsize=65536 ttm.pages_limit=16777216 ttm.page_pool_size=16777216" in text
    assert "rocm_gtt_size_mib" in text


@pytest.mark.parametrize(("version", "suite"), [("12", "jammy"), ("13", "noble")])
def test_amd_repository_sources_use_amds_suite_for_debian(version: str, suite: str) -> None:
    decision = rocm_plan(fact("strix-halo"), "Debian", version)
    assert decision["source"] == "amd"
    text = render(
        TEMPLATES / "apt" / "sources.list.d" / "sovereign-rocm.sources.j2",
        __rocm=decision,
        rocm_repo_url="https://mirror.example/rocm/apt/6.4.1/",
    )
    fields = dict(
        line.split(": ", 1) for line in text.splitlines() if ": " in line and not line.startswith("#")
    )
    assert fields["URIs"] == "https://mirror.example/rocm/apt/6.4.1"
    assert fields["Suites"] == suite
    assert fields["Components"] == "main"
    assert fields["Signed-By"] == "/etc/apt/keyrings/sovereign-rocm.asc"


def test_firmware_sources_enable_only_non_free_firmware() -> None:
    text = render(
        TEMPLATES / "apt" / "sources.list.d" / "sovereign-rocm-debian-firmware.sources.j2",
        ansible_facts={"distribution_release": "trixie"},
    )
    assert "Suites: trixie trixie-updates" in text.splitlines()
    assert "Components: non-free-firmware" in text.splitlines()
    assert "URIs: http://deb.debian.org/debian" in text.splitlines()


def test_discrete_gpu_on_trixie_takes_debians_packages() -> None:
    decision = rocm_plan(fact("rx7900xtx"), "Debian", "13")
    assert (decision["source"], decision["apu"], decision["gpu_count"]) == ("distro", False, 1)
    assert decision["packages"] == ["rocminfo", "rocm-smi", "libamdhip64-5"]

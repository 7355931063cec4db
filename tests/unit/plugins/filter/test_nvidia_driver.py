# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/filter/nvidia_driver.py and plugins/plugin_utils/drivers/nvidia_rules.py.

Every recorded machine in tests/fixtures/hardware is decided; expected values are worked out by hand
from catalogs/gpu_drivers.yml and the machine's recorded PCI ids and compute capabilities.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.filter.nvidia_driver import (
    FilterModule,
    nvidia_driver_plan,
    nvidia_gpu_visibility,
    nvidia_kernel_module_flavour,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.drivers import nvidia_rules

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "hardware"
NO_NVIDIA = "lists no NVIDIA GPU"

# machine -> (flavour under auto, architecture, Debian 13 source/branch, Ubuntu 24.04 packages)
EXPECTED: dict[str, tuple[str, str, str, str, list[str]] | None] = {
    "cpu-only-epyc": None,
    "mac-studio-m3-ultra": None,
    "macbook-pro-m4-max": None,
    "mi300x": None,
    "rx7900xtx": None,
    "strix-halo": None,
    "h100-sxm": (
        "open",
        "hopper",
        "distro",
        "550",
        ["nvidia-headless-580-server-open", "nvidia-utils-580-server"],
    ),
    "rtx3090-nvlink-x2": (
        "open",
        "ampere",
        "distro",
        "550",
        ["nvidia-headless-580-server-open", "nvidia-utils-580-server"],
    ),
    "rtx4090": (
        "open",
        "ada",
        "distro",
        "550",
        ["nvidia-headless-580-server-open", "nvidia-utils-580-server"],
    ),
    "rtx5090": (
        "open",
        "blackwell",
        "nvidia",
        "580",
        ["nvidia-headless-580-server-open", "nvidia-utils-580-server"],
    ),
    "dgx-spark-gb10": (
        "open",
        "blackwell",
        "nvidia",
        "580",
        ["nvidia-headless-580-server-open", "nvidia-utils-580-server"],
    ),
}


def machine(name: str) -> dict[str, Any]:
    """The sovereign_hardware fact recorded for one machine."""
    fact: dict[str, Any] = yaml.safe_load((FIXTURES / name / "expected.yml").read_text())[
        "sovereign_hardware"
    ]
    return fact


def test_every_recorded_machine_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yml").exists())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_flavour_and_packages_of_every_recorded_machine(name: str) -> None:
    hardware = machine(name)
    expected = EXPECTED[name]
    if expected is None:
        with pytest.raises(AnsibleFilterError, match=NO_NVIDIA):
            nvidia_kernel_module_flavour(hardware)
        with pytest.raises(AnsibleFilterError, match=NO_NVIDIA):
            nvidia_driver_plan(hardware, "Debian", "13")
        return
    flavour, arch, source, branch, ubuntu_packages = expected
    assert nvidia_kernel_module_flavour(hardware) == flavour
    debian = nvidia_driver_plan(hardware, "Debian", "13")
    assert (debian["flavour"], debian["architectures"], debian["source"], debian["branch"]) == (
        flavour,
        [arch],
        source,
        branch,
    )
    if source == "distro":
        assert debian["packages"] == [
            "nvidia-open-kernel-dkms",
            "firmware-nvidia-gsp",
            "nvidia-smi",
            "libcuda1",
            "nvidia-persistenced",
        ]
    else:
        assert debian["packages"] == ["nvidia-open-580"]
        assert debian["source_reason"] == "Debian 13 carries branch 550; blackwell needs 570 or newer"
    ubuntu = nvidia_driver_plan(hardware, "Ubuntu", "24.04")
    assert (ubuntu["source"], ubuntu["branch"], ubuntu["packages"]) == ("distro", "580", ubuntu_packages)
    assert ubuntu["services"] == ["nvidia-persistenced"]
    assert ubuntu["gpu_count"] == len([g for g in hardware["gpus"] if g["vendor"] == "nvidia"])


def test_debian_12_prefers_proprietary_modules_that_security_updates_keep_current() -> None:
    plan = nvidia_driver_plan(machine("h100-sxm"), "Debian", "12")
    assert (plan["flavour"], plan["source"], plan["branch"]) == ("proprietary", "distro", "535")
    assert plan["packages"] == [
        "nvidia-kernel-dkms",
        "firmware-nvidia-gsp",
        "nvidia-smi",
        "libcuda1",
        "nvidia-persistenced",
    ]
    assert "the only ones the distribution keeps current" in plan["flavour_reason"]


def test_debian_12_with_open_forced_uses_nvidia_repository() -> None:
    plan = nvidia_driver_plan(machine("rtx4090"), "Debian", "12", flavour="open")
    assert (plan["flavour"], plan["source"], plan["branch"], plan["packages"]) == (
        "open",
        "nvidia",
        "580",
        ["nvidia-open-580"],
    )
    assert plan["source_reason"] == "Debian 12 keeps only the proprietary modules current with its updates"


def test_compute_capability_wins_over_pci_id() -> None:
    gpu = {"index": 0, "vendor": "nvidia", "pci_device_id": "0x1b06", "compute_capability": "9.0"}
    arch, how = nvidia_rules.classify(gpu)
    assert (arch.name, how) == ("hopper", "compute capability 9.0")


@pytest.mark.parametrize(
    ("device_id", "arch"),
    [
        ("0x13c2", "maxwell"),  # GTX 970
        ("0x1b06", "pascal"),  # GTX 1080 Ti
        ("0x1db4", "volta"),  # V100 PCIe
        ("0x1e04", "turing"),  # RTX 2080 Ti (first rows of the open-modules table)
        ("0x2182", "turing"),  # GTX 1660 Ti (TU116)
        ("0x20b2", "ampere"),  # A100 SXM4 80GB
        ("0x2330", "hopper"),  # H100 SXM5
        ("0x2684", "ada"),  # RTX 4090
        ("0x2901", "blackwell"),  # B200
        ("0x2b85", "blackwell"),  # RTX 5090
        ("0x2e12", "blackwell"),  # GB10
    ],
)
def test_pci_device_id_places_gpus_without_a_driver(device_id: str, arch: str) -> None:
    placed, how = nvidia_rules.classify(
        {"vendor": "nvidia", "pci_device_id": device_id, "compute_capability": None}
    )
    assert (placed.name, how) == (arch, f"PCI device id {device_id}")


def lspci_only(hardware: dict[str, Any]) -> dict[str, Any]:
    """The fact as lspci alone would give it (no driver yet): no compute capability."""
    stripped = copy.deepcopy(hardware)
    for gpu in stripped["gpus"]:
        gpu["compute_capability"] = None
    return stripped


@pytest.mark.parametrize(
    ("name", "flavour"), [("rtx5090", "open"), ("h100-sxm", "open"), ("rtx4090", "open")]
)
def test_fresh_hosts_decide_from_pci_ids(name: str, flavour: str) -> None:
    assert nvidia_kernel_module_flavour(lspci_only(machine(name))) == flavour


def pascal_host() -> dict[str, Any]:
    return {"gpus": [{"index": 0, "vendor": "nvidia", "name": "GTX 1080 Ti", "pci_device_id": "0x1b06"}]}


def test_pascal_gets_proprietary_modules_and_rejects_open() -> None:
    assert nvidia_kernel_module_flavour(pascal_host()) == "proprietary"
    with pytest.raises(AnsibleFilterError, match=r"'open' cannot drive .* valid here: auto, proprietary"):
        nvidia_kernel_module_flavour(pascal_host(), "open")


def test_blackwell_rejects_proprietary_override() -> None:
    with pytest.raises(
        AnsibleFilterError, match=r"'proprietary' cannot drive .*blackwell.*valid here: auto, open"
    ):
        nvidia_kernel_module_flavour(machine("rtx5090"), "proprietary")


def test_proprietary_override_on_ampere_is_kept() -> None:
    plan = nvidia_driver_plan(
        machine("rtx3090-nvlink-x2"), "Ubuntu", "22.04", flavour="proprietary", branch="570"
    )
    assert plan["packages"] == ["nvidia-headless-570-server", "nvidia-utils-570-server"]
    assert plan["flavour_reason"].startswith("set by nvidia_kernel_module_flavour")


def test_mixed_pascal_and_blackwell_fails_naming_both() -> None:
    hardware = {"gpus": [*pascal_host()["gpus"], {"index": 1, "vendor": "nvidia", "pci_device_id": "0x2b85"}]}
    with pytest.raises(AnsibleFilterError, match="pascal needs proprietary, blackwell needs open"):
        nvidia_kernel_module_flavour(hardware)


def test_mixed_pascal_and_turing_takes_proprietary() -> None:
    hardware = {"gpus": [*pascal_host()["gpus"], {"index": 1, "vendor": "nvidia", "pci_device_id": "0x1e04"}]}
    assert nvidia_kernel_module_flavour(hardware) == "proprietary"


def test_unknown_gpu_asks_for_the_override() -> None:
    kepler = {"gpus": [{"index": 0, "vendor": "nvidia", "name": "Tesla K80", "pci_device_id": "0x102d"}]}
    with pytest.raises(AnsibleFilterError, match="set nvidia_kernel_module_flavour"):
        nvidia_kernel_module_flavour(kepler)


def test_bad_flavour_value_names_the_choices() -> None:
    with pytest.raises(AnsibleFilterError, match="'closed' is not valid; expected auto, open or proprietary"):
        nvidia_kernel_module_flavour(machine("rtx4090"), "closed")


def test_pinned_branch_debian_lacks_selects_nvidia_repository() -> None:
    plan = nvidia_driver_plan(machine("rtx4090"), "Debian", "13", branch="570")
    assert (plan["source"], plan["branch"], plan["packages"]) == ("nvidia", "570", ["nvidia-open-570"])
    assert plan["source_reason"] == "Debian 13 carries branch 550, not 570"


def test_distro_source_forced_for_blackwell_fails() -> None:
    with pytest.raises(
        AnsibleFilterError, match=r"'distro' cannot serve this host.*valid here: auto or nvidia"
    ):
        nvidia_driver_plan(machine("rtx5090"), "Debian", "13", source="distro")


def test_branch_too_old_and_too_new() -> None:
    with pytest.raises(AnsibleFilterError, match="560 is too old for blackwell; expected 570 or newer"):
        nvidia_driver_plan(machine("rtx5090"), "Ubuntu", "24.04", branch="560")
    with pytest.raises(AnsibleFilterError, match="590 no longer supports pascal; expected 580 or older"):
        nvidia_driver_plan(pascal_host(), "Ubuntu", "24.04", branch="590")
    with pytest.raises(AnsibleFilterError, match="'latest' is not valid"):
        nvidia_driver_plan(machine("rtx4090"), "Ubuntu", "24.04", branch="latest")


def test_unsupported_distribution_lists_supported() -> None:
    with pytest.raises(AnsibleFilterError, match=r"Fedora Linux 42 is not supported.*Debian 12, Debian 13"):
        nvidia_driver_plan(machine("rtx4090"), "Fedora Linux", "42")


def hgx(count: int, device_id: str = "0x2330") -> dict[str, Any]:
    return {"gpus": [{"index": i, "vendor": "nvidia", "pci_device_id": device_id} for i in range(count)]}


def test_fabric_manager_on_eight_sxm_gpus_only() -> None:
    eight = nvidia_driver_plan(hgx(8), "Ubuntu", "24.04")
    assert eight["fabric_manager"] is True
    assert eight["packages"][-1] == "nvidia-fabricmanager-580"
    assert eight["services"] == ["nvidia-persistenced", "nvidia-fabricmanager"]
    assert nvidia_driver_plan(hgx(4), "Ubuntu", "24.04")["fabric_manager"] is False
    assert nvidia_driver_plan(hgx(8, "0x2331"), "Ubuntu", "24.04")["fabric_manager"] is False  # H100 PCIe
    assert nvidia_driver_plan(hgx(1), "Ubuntu", "24.04", fabric_manager=True)["fabric_manager"] is True


def test_fabric_manager_on_debian_needs_nvidia_repository() -> None:
    plan = nvidia_driver_plan(hgx(8), "Debian", "13")
    assert (plan["source"], plan["packages"]) == ("nvidia", ["nvidia-open-580", "nvidia-fabricmanager-580"])
    assert plan["source_reason"] == "Debian does not package Fabric Manager"


def test_optional_components() -> None:
    plan = nvidia_driver_plan(
        machine("rtx4090"), "Debian", "13", persistenced=False, cuda_toolkit=True, container_toolkit=True
    )
    assert plan["packages"] == [
        "nvidia-open-kernel-dkms",
        "firmware-nvidia-gsp",
        "nvidia-smi",
        "libcuda1",
        "nvidia-cuda-toolkit",
        "nvidia-container-toolkit",
    ]
    assert plan["services"] == []


LSPCI_H100 = (
    "0000:00:00.0 0600: 8086:09a2 (rev 04)\n"
    "0000:08:00.0 0302: 10de:2330 (rev a1)\n"
    "0000:09:00.0 0680: 10de:22a3 (rev a1)\n"  # NVSwitch: a bridge, not a GPU
)


def test_visibility_all_gpus_driven() -> None:
    result = nvidia_gpu_visibility(LSPCI_H100, "00000000:08:00.0\n", 0)
    assert result == {
        "ok": True,
        "lspci": ["0000:08:00.0"],
        "nvidia_smi": ["0000:08:00.0"],
        "missing": [],
        "message": "nvidia-smi drives all 1 NVIDIA GPU(s) on the PCI bus",
    }


def test_visibility_one_gpu_missing() -> None:
    lspci = LSPCI_H100 + "0000:41:00.0 0300: 10de:2204 (rev a1)\n"
    result = nvidia_gpu_visibility(lspci, "00000000:08:00.0\n", 0)
    assert (result["ok"], result["missing"]) == (False, ["0000:41:00.0"])
    assert "drives 1 of the 2 NVIDIA GPUs" in result["message"]


def test_visibility_driver_not_loaded() -> None:
    error = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
    result = nvidia_gpu_visibility(LSPCI_H100, "", 9, error)
    assert result["ok"] is False
    assert result["message"].startswith(
        "lspci shows 1 NVIDIA GPU(s) (0000:08:00.0) but nvidia-smi exited with 9: NVIDIA"
    )


def test_visibility_no_gpu_on_the_bus() -> None:
    result = nvidia_gpu_visibility("0000:00:00.0 0600: 8086:09a2 (rev 04)\n", "", 2, "No such file")
    assert result["ok"] is False
    assert result["message"].startswith("no NVIDIA GPU is visible on the PCI bus")


def test_filters_are_registered() -> None:
    assert sorted(FilterModule().filters()) == [
        "nvidia_driver_plan",
        "nvidia_gpu_visibility",
        "nvidia_kernel_module_flavour",
    ]

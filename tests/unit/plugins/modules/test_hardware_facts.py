# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""hardware_facts against recorded machines (tests/fixtures/hardware/<machine>/) and broken tools."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sovereign.stack.plugins.module_utils.hardware import collect as collect_module
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.collect import (
    ALL_COMMANDS,
    CommandResult,
    collect,
    nearest_existing,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.module_host import ModuleHost
from ansible_collections.sovereign.stack.plugins.modules import hardware_facts

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "hardware"
MACHINES = sorted(path.name for path in FIXTURES.iterdir() if path.is_dir())
GIB = 1 << 30


class FixtureHost:
    """Serves one recorded machine: commands/<key>.txt, files under their own paths, disk.json."""

    def __init__(
        self,
        folder: Path,
        replies: Optional[Dict[str, CommandResult]] = None,
        missing_tools: Sequence[str] = (),
    ) -> None:
        self.folder = folder
        self.replies = replies or {}
        self.by_argv = {command.argv: command.key for command in ALL_COMMANDS}
        present = {c.argv[0] for c in ALL_COMMANDS if c.key in self.replies or self._recorded(c.key)}
        self.tools: Set[str] = present - set(missing_tools)
        self.ran: List[str] = []
        self.disk = json.loads((folder / "disk.json").read_text())

    def _recorded(self, key: str) -> bool:
        return (self.folder / "commands" / (key + ".txt")).is_file()

    def which(self, tool: str) -> Optional[str]:
        return "/usr/bin/" + tool if tool in self.tools else None

    def run(self, argv: Sequence[str]) -> CommandResult:
        key = self.by_argv[tuple(argv)]
        self.ran.append(key)
        if key in self.replies:
            return self.replies[key]
        if not self._recorded(key):
            return CommandResult(1, "", f"{key}: not recorded for this machine", False)
        return CommandResult(0, (self.folder / "commands" / (key + ".txt")).read_text(), "", False)

    def read_text(self, path: str) -> Optional[str]:
        local = self.folder / path.lstrip("/")
        return local.read_text() if local.is_file() else None

    def list_dir(self, path: str) -> List[str]:
        local = self.folder / path.lstrip("/")
        return sorted(entry.name for entry in local.iterdir()) if local.is_dir() else []

    def exists(self, path: str) -> bool:
        existing = self.disk["existing_path"]
        return path in ("/", existing) or existing.startswith(path.rstrip("/") + "/")

    def disk_usage(self, path: str) -> Tuple[int, int]:
        assert path == self.disk["existing_path"], f"disk measured at {path}, not the nearest existing path"
        return self.disk["total_bytes"], self.disk["free_bytes"]


def expected(machine: str) -> Dict[str, Any]:
    return yaml.safe_load((FIXTURES / machine / "expected.yml").read_text())["sovereign_hardware"]


def test_there_are_at_least_eleven_recorded_machines() -> None:
    assert len(MACHINES) >= 11
    for machine in MACHINES:
        assert (FIXTURES / machine / "SOURCE.md").is_file(), machine
        assert (FIXTURES / machine / "expected.yml").is_file(), machine


@pytest.mark.parametrize("machine", MACHINES)
def test_recorded_machine_gives_the_expected_fact(machine: str) -> None:
    assert collect(FixtureHost(FIXTURES / machine)) == expected(machine)


@pytest.mark.parametrize("machine", MACHINES)
def test_fact_has_exactly_the_contract_keys(machine: str) -> None:
    fact = collect(FixtureHost(FIXTURES / machine))
    assert set(fact) == {"source", "os", "cpu", "memory", "gpus", "unified_memory", "disk", "warnings"}
    assert set(fact["os"]) == {"system", "distribution", "version", "kernel", "arch"}
    assert set(fact["cpu"]) == {"model", "cores", "threads", "arch", "features"}
    assert set(fact["cpu"]["features"]) == {"avx2", "avx512", "amx", "neon"}
    assert set(fact["memory"]) == {"total_bytes", "available_bytes"}
    assert set(fact["disk"]) == {"path", "total_bytes", "free_bytes"}
    for gpu in fact["gpus"]:
        assert set(gpu) == {
            "index",
            "vendor",
            "name",
            "pci_device_id",
            "pci_bus_id",
            "memory_total_bytes",
            "memory_free_bytes",
            "compute_capability",
            "gfx_arch",
            "driver_version",
            "unified_memory",
            "nvlink_peers",
        }
    if fact["unified_memory"] is not None:
        assert set(fact["unified_memory"]) == {"kind", "total_bytes", "gpu_limit_bytes", "carveout_bytes"}


def test_single_gpu_hosts_do_not_ask_for_the_nvlink_matrix() -> None:
    host = FixtureHost(FIXTURES / "rtx4090")
    collect(host)
    assert "nvidia-smi-topo" not in host.ran
    assert "nvidia-smi-query" in host.ran


def test_model_dir_that_does_not_exist_is_measured_at_its_nearest_parent() -> None:
    host = FixtureHost(FIXTURES / "h100-sxm")
    fact = collect(host, "/var/lib/sovereign/models/llama")
    assert fact["disk"] == {
        "path": "/var/lib/sovereign/models/llama",
        "total_bytes": 1429034139648,
        "free_bytes": 1201763581952,
    }


def test_nearest_existing_walks_up_to_the_root() -> None:
    assert nearest_existing("/a/b/c", lambda path: path in ("/", "/a")) == "/a"
    assert nearest_existing("/a/b/c", lambda path: path == "/") == "/"
    assert nearest_existing("/a/b/", lambda path: path == "/a/b") == "/a/b"


def test_missing_nvidia_smi_falls_back_to_lspci_names_with_a_warning() -> None:
    fact = collect(FixtureHost(FIXTURES / "rtx3090-nvlink-x2", missing_tools=["nvidia-smi"]))
    assert [
        (g["vendor"], g["index"], g["name"], g["pci_device_id"], g["pci_bus_id"]) for g in fact["gpus"]
    ] == [
        ("nvidia", 0, "NVIDIA Corporation GA102 [GeForce RTX 3090]", "0x2204", "0000:08:00.0"),
        ("nvidia", 1, "NVIDIA Corporation GA102 [GeForce RTX 3090]", "0x2204", "0000:41:00.0"),
    ]
    assert all(g["memory_total_bytes"] is None for g in fact["gpus"])
    assert (
        fact["warnings"][0]
        == "nvidia-smi not found: NVIDIA GPUs are named from lspci only, their memory is unknown"
    )
    assert len(fact["warnings"]) == 3


def test_nvidia_smi_timing_out_is_a_warning_and_lspci_still_names_the_gpu() -> None:
    host = FixtureHost(FIXTURES / "rtx4090", replies={"nvidia-smi-query": CommandResult(-9, "", "", True)})
    fact = collect(host)
    assert fact["gpus"][0]["name"] == "NVIDIA Corporation AD102 [GeForce RTX 4090]"
    assert fact["gpus"][0]["memory_total_bytes"] is None
    assert fact["warnings"][0].startswith("'nvidia-smi --query-gpu=index,name,pci.device_id")
    assert fact["warnings"][0].endswith("timed out; its facts are missing (raise tools_timeout)")


def test_nvidia_smi_without_a_driver_reports_its_own_message() -> None:
    failure = CommandResult(
        9,
        "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. "
        "Make sure that the latest NVIDIA driver is installed and running.\n",
        "",
        False,
    )
    fact = collect(FixtureHost(FIXTURES / "rtx4090", replies={"nvidia-smi-query": failure}))
    assert "exited with 9: NVIDIA-SMI has failed because it couldn't communicate" in fact["warnings"][0]
    assert fact["gpus"][0]["pci_bus_id"] == "0000:01:00.0"


def test_garbage_from_a_tool_is_a_clear_warning_not_a_crash() -> None:
    garbage = CommandResult(0, "Segmentation fault\n", "", False)
    fact = collect(FixtureHost(FIXTURES / "mi300x", replies={"amd-smi-static": garbage}))
    assert fact["warnings"][0].startswith("could not read the output of 'amd-smi static --asic --bus --vram")
    assert "amd-smi static: output is not JSON" in fact["warnings"][0]
    # The MI300X is still named from lspci (class 1200) so the planner sees it exists.
    assert [g["name"] for g in fact["gpus"]] == [
        "Advanced Micro Devices, Inc. [AMD/ATI] Aqua Vanjaram [Instinct MI300X]"
    ]


def test_gb10_memory_reported_as_na_becomes_unified_memory() -> None:
    fact = collect(FixtureHost(FIXTURES / "dgx-spark-gb10"))
    gpu = fact["gpus"][0]
    assert (gpu["memory_total_bytes"], gpu["memory_free_bytes"], gpu["unified_memory"]) == (None, None, True)
    assert fact["unified_memory"]["kind"] == "nvidia_gb10"
    assert fact["unified_memory"]["gpu_limit_bytes"] == 127598748 * 1024


def test_na_memory_on_a_discrete_gpu_is_a_warning_not_unified_memory() -> None:
    reply = CommandResult(
        0, "0, NVIDIA GeForce RTX 4090, 0x268410DE, 00000000:01:00.0, [N/A], [N/A], 8.9, 570.1\n", "", False
    )
    fact = collect(FixtureHost(FIXTURES / "rtx4090", replies={"nvidia-smi-query": reply}))
    assert fact["unified_memory"] is None
    assert fact["warnings"] == ["nvidia-smi reports no memory size for GPU 0 (NVIDIA GeForce RTX 4090)"]


def test_strix_halo_gtt_comes_from_sysfs_when_amd_smi_has_no_figure(tmp_path: Path) -> None:
    folder = tmp_path / "strix"
    shutil.copytree(FIXTURES / "strix-halo", folder)
    metric = json.loads((folder / "commands" / "amd-smi-metric.txt").read_text())
    metric["gpu_data"][0]["mem_usage"]["total_gtt"] = "N/A"
    (folder / "commands" / "amd-smi-metric.txt").write_text(json.dumps(metric))
    card = folder / "sys" / "class" / "drm" / "card1" / "device"
    card.mkdir(parents=True)
    (card / "uevent").write_text("DRIVER=amdgpu\nPCI_CLASS=38000\nPCI_SLOT_NAME=0000:c5:00.0\n")
    (card / "mem_info_gtt_total").write_text("68719476736\n")
    (folder / "sys" / "class" / "drm" / "renderD128").mkdir()
    fact = collect(FixtureHost(folder))
    assert fact["unified_memory"]["gpu_limit_bytes"] == 64 * GIB
    assert fact["unified_memory"]["carveout_bytes"] == 4 * GIB


def test_amd_apu_without_any_gtt_figure_falls_back_to_the_carveout_with_a_warning(tmp_path: Path) -> None:
    folder = tmp_path / "strix"
    shutil.copytree(FIXTURES / "strix-halo", folder)
    metric = json.loads((folder / "commands" / "amd-smi-metric.txt").read_text())
    metric["gpu_data"][0]["mem_usage"]["total_gtt"] = "N/A"
    (folder / "commands" / "amd-smi-metric.txt").write_text(json.dumps(metric))
    fact = collect(FixtureHost(folder))
    assert fact["unified_memory"]["gpu_limit_bytes"] == 4 * GIB
    assert fact["warnings"] == [
        "AMD APU AMD Radeon 8060S Graphics: GTT size unknown "
        "(no rocm-smi/amd-smi figure, no mem_info_gtt_total): GPU limit set to the VRAM carve-out"
    ]


def test_amd_gpu_without_rocm_tools_gets_memory_from_amdgpu_sysfs(tmp_path: Path) -> None:
    folder = tmp_path / "xtx"
    shutil.copytree(FIXTURES / "rx7900xtx", folder)
    (folder / "commands" / "rocm-smi.txt").unlink()
    card = folder / "sys" / "class" / "drm" / "card0" / "device"
    card.mkdir(parents=True)
    (card / "uevent").write_text("DRIVER=amdgpu\nPCI_SLOT_NAME=0000:03:00.0\n")
    (card / "mem_info_vram_total").write_text("25753026560\n")
    (card / "mem_info_vram_used").write_text("1395433472\n")
    fact = collect(FixtureHost(folder))
    gpu = fact["gpus"][0]
    assert (gpu["vendor"], gpu["pci_device_id"], gpu["memory_total_bytes"], gpu["memory_free_bytes"]) == (
        "amd",
        "0x744c",
        25753026560,
        24357593088,
    )
    assert fact["warnings"] == [
        "neither amd-smi nor rocm-smi found: AMD GPUs are named from lspci, memory from sysfs"
    ]


def test_host_without_lspci_or_vendor_tools_says_gpus_cannot_be_listed() -> None:
    fact = collect(FixtureHost(FIXTURES / "cpu-only-epyc", missing_tools=["lspci"]))
    assert fact["gpus"] == []
    assert fact["warnings"] == [
        "lspci not found (package pciutils) and no GPU vendor tool answered: GPUs cannot be listed"
    ]


def test_unreadable_proc_files_leave_nulls_and_warnings(tmp_path: Path) -> None:
    folder = tmp_path / "box"
    shutil.copytree(FIXTURES / "cpu-only-epyc", folder)
    (folder / "proc" / "meminfo").unlink()
    (folder / "proc" / "cpuinfo").write_text("garbage without processors\n")
    fact = collect(FixtureHost(folder))
    assert fact["memory"] == {"total_bytes": None, "available_bytes": None}
    assert fact["cpu"]["cores"] is None
    assert fact["warnings"] == [
        "could not read the output of '/proc/cpuinfo': /proc/cpuinfo: no 'processor' entries",
        "/proc/meminfo could not be read",
    ]


def test_mac_wired_limit_zero_uses_the_macos_default() -> None:
    fact = collect(FixtureHost(FIXTURES / "macbook-pro-m4-max"))
    assert fact["unified_memory"]["gpu_limit_bytes"] == 96 * GIB


def test_mac_without_the_wired_limit_sysctl_still_uses_the_default() -> None:
    failure = CommandResult(1, "", "sysctl: unknown oid 'iogpu.wired_limit_mb'\n", False)
    fact = collect(
        FixtureHost(FIXTURES / "mac-studio-m3-ultra", replies={"sysctl-iogpu.wired_limit_mb": failure})
    )
    assert fact["unified_memory"]["gpu_limit_bytes"] == 512 * GIB * 3 // 4
    assert fact["warnings"] == [
        "'sysctl -n iogpu.wired_limit_mb' exited with 1: sysctl: unknown oid 'iogpu.wired_limit_mb'"
    ]


def run_module(
    args: Dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    machine: str = "rtx3090-nvlink-x2",
) -> Dict[str, Any]:
    monkeypatch.setattr(hardware_facts, "ModuleHost", lambda module, timeout: FixtureHost(FIXTURES / machine))
    with patch_module_args(args), pytest.raises(SystemExit):
        hardware_facts.main()
    result: Dict[str, Any] = json.loads(capsys.readouterr().out)
    return result


def test_module_returns_the_fact_and_never_changes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({}, monkeypatch, capsys)
    assert result["changed"] is False
    assert result["ansible_facts"]["sovereign_hardware"] == expected("rtx3090-nvlink-x2")


def test_module_runs_unchanged_in_check_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({"_ansible_check_mode": True}, monkeypatch, capsys)
    assert result["changed"] is False
    assert result["ansible_facts"]["sovereign_hardware"]["gpus"][0]["nvlink_peers"] == [1]


def test_module_refuses_a_timeout_below_one_second(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({"tools_timeout": 0}, monkeypatch, capsys)
    assert result["failed"] is True
    assert result["msg"] == "tools_timeout must be a whole number of seconds >= 1, got 0"


def test_module_host_kills_a_command_that_outlives_the_timeout() -> None:
    with patch_module_args({}):
        module = hardware_facts.AnsibleModule(argument_spec={})
    host = ModuleHost(module, 0.2)
    result = host.run(["sleep", "30"])
    assert result.timed_out is True
    assert result.rc != 0


def test_module_host_runs_commands_in_the_c_locale(tmp_path: Path) -> None:
    with patch_module_args({}):
        module = hardware_facts.AnsibleModule(argument_spec={})
    host = ModuleHost(module, 10)
    result = host.run(["sh", "-c", "echo $LC_ALL"])
    assert result == CommandResult(0, "C\n", "", False)
    (tmp_path / "file").write_text("content")
    assert host.read_text(str(tmp_path / "file")) == "content"
    assert host.read_text(str(tmp_path / "absent")) is None
    assert host.list_dir(str(tmp_path)) == ["file"]
    assert host.list_dir(str(tmp_path / "absent")) == []
    total, free = host.disk_usage(str(tmp_path))
    assert total >= free > 0


def test_every_command_has_a_distinct_fixture_key() -> None:
    keys = [command.key for command in collect_module.ALL_COMMANDS]
    assert len(keys) == len(set(keys))


def test_hardware_role_defaults_agree_with_its_argument_specs() -> None:
    role = Path(__file__).resolve().parents[4] / "roles" / "hardware"
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text())
    options = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"
    ]
    assert set(defaults) == set(options)
    for name, spec in options.items():
        assert name.startswith("hardware_")
        assert spec["default"] == defaults[name], name
        assert spec["type"] and spec["description"], name
    assert defaults["hardware_model_dir"] == collect_module.DEFAULT_MODEL_DIR

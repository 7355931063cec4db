# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Assemble the ``sovereign_hardware`` fact (docs/dev/contracts.md section 1) from a host's tools.

Everything the host is asked goes through a :class:`HostAccess`, so tests can serve recorded
outputs (tests/fixtures/hardware/<machine>/) and the module can serve the real machine. A tool
that is missing, fails or prints something unreadable becomes a line in ``warnings``, never an
exception: a CPU-only host, or one whose driver is not installed yet, is a valid answer.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple, TypeVar

from ansible_collections.sovereign.stack.plugins.module_utils.hardware import (
    amd_smi,
    linux_proc,
    lspci,
    macos,
    nvidia_smi,
    rocm_smi,
)
from ansible_collections.sovereign.stack.plugins.module_utils.hardware.parsing import (
    GpuList,
    ParseError,
    bus_key,
    new_gpu,
    optional_int,
)

try:
    from typing import Protocol
except ImportError:  # Python 3.7 hosts: the protocol is documentation only there.
    Protocol = object  # type: ignore[assignment]

Parsed = TypeVar("Parsed")


class CommandResult(NamedTuple):
    """Outcome of one command run on the host."""

    rc: int
    stdout: str
    stderr: str
    timed_out: bool


class Command(NamedTuple):
    """A command the collector may run; ``key`` names its recorded output in fixtures."""

    key: str
    argv: Tuple[str, ...]


class HostAccess(Protocol):
    """The questions the collector asks a host."""

    def which(self, tool: str) -> Optional[str]:
        """Path of an executable, or None when it is not installed."""

    def run(self, argv: Sequence[str]) -> CommandResult:
        """Run a command (with the module's timeout) and return its outcome."""

    def read_text(self, path: str) -> Optional[str]:
        """Contents of a file, or None when it does not exist or cannot be read."""

    def list_dir(self, path: str) -> List[str]:
        """Names in a directory, or [] when it does not exist."""

    def exists(self, path: str) -> bool:
        """Whether a path exists."""

    def disk_usage(self, path: str) -> Tuple[int, int]:
        """Total and free (for unprivileged users) bytes of the filesystem holding an existing path."""


UNAME = Command("uname", ("uname", "-s", "-r", "-m"))
NVIDIA_QUERY = Command(
    "nvidia-smi-query",
    ("nvidia-smi", "--query-gpu=" + ",".join(nvidia_smi.QUERY_FIELDS), "--format=csv,noheader,nounits"),
)
NVIDIA_TOPOLOGY = Command("nvidia-smi-topo", ("nvidia-smi", "topo", "-m"))
AMD_SMI_STATIC = Command(
    "amd-smi-static", ("amd-smi", "static", "--asic", "--bus", "--vram", "--driver", "--json")
)
AMD_SMI_MEMORY = Command("amd-smi-metric", ("amd-smi", "metric", "--mem-usage", "--json"))
AMD_SMI_TOPOLOGY = Command("amd-smi-topology", ("amd-smi", "topology", "--json"))
ROCM_SMI = Command(
    "rocm-smi",
    ("rocm-smi", "--showproductname", "--showmeminfo", "vram", "gtt", "--showbus", "--json"),
)
LSPCI = Command("lspci", ("lspci", "-nn", "-D"))
SYSTEM_PROFILER = Command(
    "system_profiler", ("system_profiler", "SPDisplaysDataType", "SPHardwareDataType", "-json")
)
SW_VERS = Command("sw_vers", ("sw_vers", "-productVersion"))
VM_STAT = Command("vm_stat", ("vm_stat",))
SYSCTL_MEMSIZE = Command("sysctl-hw.memsize", ("sysctl", "-n", "hw.memsize"))
SYSCTL_WIRED_LIMIT = Command("sysctl-iogpu.wired_limit_mb", ("sysctl", "-n", "iogpu.wired_limit_mb"))
SYSCTL_BRAND = Command("sysctl-machdep.cpu.brand_string", ("sysctl", "-n", "machdep.cpu.brand_string"))
SYSCTL_PHYSICAL_CPU = Command("sysctl-hw.physicalcpu", ("sysctl", "-n", "hw.physicalcpu"))
SYSCTL_LOGICAL_CPU = Command("sysctl-hw.logicalcpu", ("sysctl", "-n", "hw.logicalcpu"))

ALL_COMMANDS = (
    UNAME,
    NVIDIA_QUERY,
    NVIDIA_TOPOLOGY,
    AMD_SMI_STATIC,
    AMD_SMI_MEMORY,
    AMD_SMI_TOPOLOGY,
    ROCM_SMI,
    LSPCI,
    SYSTEM_PROFILER,
    SW_VERS,
    VM_STAT,
    SYSCTL_MEMSIZE,
    SYSCTL_WIRED_LIMIT,
    SYSCTL_BRAND,
    SYSCTL_PHYSICAL_CPU,
    SYSCTL_LOGICAL_CPU,
)

DEFAULT_MODEL_DIR = "/var/lib/sovereign/models"
DRM_CLASS_DIR = "/sys/class/drm"

# AMD GPUs that share system memory (APUs), by gfx target: the "APU" rows of the LLVM AMDGPU
# processor table, https://llvm.org/docs/AMDGPUUsage.html#processors. gfx942 is both MI300X
# (discrete) and MI300A (APU), so MI300A is recognised by name instead.
AMD_APU_GFX_TARGETS = frozenset(
    {
        "gfx902",
        "gfx909",
        "gfx90c",
        "gfx1033",
        "gfx1035",
        "gfx1036",
        "gfx1103",
        "gfx1150",
        "gfx1151",
        "gfx1152",
    }
)
GB10_PCI_DEVICE_ID = "0x2e12"


def collect(host: HostAccess, model_dir: str = DEFAULT_MODEL_DIR) -> Dict[str, Any]:
    """Detect the host's hardware and return the ``sovereign_hardware`` fact."""
    return _Collector(host).fact(model_dir)


def nearest_existing(path: str, exists: Callable[[str], bool]) -> str:
    """The path itself when it exists, else its closest existing parent (``/`` at worst)."""
    current = posixpath.normpath(path) if path else "/"
    while not exists(current) and current != "/":
        current = posixpath.dirname(current)
    return current


class _Collector:
    """One detection run: the host, and the warnings gathered along the way."""

    def __init__(self, host: HostAccess) -> None:
        self.host = host
        self.warnings: List[str] = []

    def fact(self, model_dir: str) -> Dict[str, Any]:
        """The whole fact; macOS and Linux differ in everything but the disk."""
        system, kernel, arch = self._uname()
        parts = self._macos(kernel, arch) if system == "Darwin" else self._linux(system, kernel, arch)
        parts["disk"] = self._disk(model_dir)
        parts["warnings"] = self.warnings
        return {"source": "detected", **parts}

    def _output(self, command: Command, missing_warning: bool = True) -> Optional[str]:
        """Stdout of a command; None (and a warning) when missing, timed out or failed."""
        tool = command.argv[0]
        if self.host.which(tool) is None:
            if missing_warning:
                self.warnings.append(f"{tool} not found on the host")
            return None
        result = self.host.run(command.argv)
        shown = " ".join(command.argv)
        if result.timed_out:
            self.warnings.append(f"'{shown}' timed out; its facts are missing (raise tools_timeout)")
            return None
        if result.rc != 0:
            detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
            self.warnings.append(f"'{shown}' exited with {result.rc}" + (": " + detail[0] if detail else ""))
            return None
        return result.stdout

    def _parsed(
        self, command: Command, parser: Callable[[str], Parsed], missing_warning: bool = True
    ) -> Optional[Parsed]:
        """Run a command and parse its output; any failure is a warning and None."""
        text = self._output(command, missing_warning)
        if text is None:
            return None
        return self._parse_text(" ".join(command.argv), parser, text)

    def _parse_text(self, source: str, parser: Callable[[str], Parsed], text: str) -> Optional[Parsed]:
        """Apply a parser, turning a ParseError into a warning that names the source."""
        try:
            return parser(text)
        except ParseError as error:
            self.warnings.append(f"could not read the output of '{source}': {error}")
            return None

    def _uname(self) -> Tuple[str, Optional[str], Optional[str]]:
        """System, kernel release and machine architecture."""
        text = self._output(UNAME)
        words = text.split() if text else []
        if len(words) != 3:
            if text is not None:
                self.warnings.append(f"could not read 'uname -s -r -m' output: {text.strip()!r}")
            return "Linux", None, None
        return words[0], words[1], words[2]

    # Linux

    def _linux(self, system: str, kernel: Optional[str], arch: Optional[str]) -> Dict[str, Any]:
        """OS, CPU, memory, GPUs and unified memory of a Linux host."""
        distribution, version = self._read("/etc/os-release", linux_proc.parse_os_release) or (None, None)
        cpu = self._read("/proc/cpuinfo", linux_proc.parse_cpuinfo)
        memory = self._read("/proc/meminfo", linux_proc.parse_meminfo)
        gpus, unified = self._linux_gpus(arch, memory)
        return {
            "os": {
                "system": system,
                "distribution": distribution,
                "version": version,
                "kernel": kernel,
                "arch": arch,
            },
            "cpu": {
                "model": cpu.model if cpu else None,
                "cores": cpu.cores if cpu else None,
                "threads": cpu.threads if cpu else None,
                "arch": arch,
                "features": cpu.features if cpu else _no_cpu_features(),
            },
            "memory": {
                "total_bytes": memory.total_bytes if memory else None,
                "available_bytes": memory.available_bytes if memory else None,
            },
            "gpus": gpus,
            "unified_memory": unified,
        }

    def _read(self, path: str, parser: Callable[[str], Parsed]) -> Optional[Parsed]:
        """Parse a file; a missing or unreadable file is a warning."""
        text = self.host.read_text(path)
        if text is None:
            self.warnings.append(f"{path} could not be read")
            return None
        return self._parse_text(path, parser, text)

    def _linux_gpus(
        self, arch: Optional[str], memory: Optional[linux_proc.MemInfo]
    ) -> Tuple[GpuList, Optional[Dict[str, Any]]]:
        """GPUs from the vendor tools, lspci for those without one, and the unified-memory block."""
        pci_gpus = self._parsed(LSPCI, lspci.parse, missing_warning=False)
        pci_known = pci_gpus is not None
        on_bus = pci_gpus or []
        nvidia = self._nvidia(on_bus)
        amd = self._amd(on_bus)
        gpus: GpuList = list(nvidia)
        gpus.extend(reading.gpu for reading in amd)
        listed = {bus_key(gpu["pci_bus_id"]) for gpu in gpus}
        unnamed = [device for device in on_bus if bus_key(device.bus_id) not in listed]
        gpus.extend(self._from_lspci(unnamed, gpus))
        if not pci_known and not gpus:
            self.warnings.append(
                "lspci not found (package pciutils) and no GPU vendor tool answered: GPUs cannot be listed"
            )
        _fill_device_ids(gpus, on_bus)
        total = memory.total_bytes if memory else None
        unified = _gb10_unified(nvidia, arch, total) or self._amd_apu_unified(amd, total)
        return gpus, unified

    def _nvidia(self, on_bus: List[lspci.PciGpu]) -> GpuList:
        """NVIDIA GPUs from nvidia-smi, with NVLink peers when there are several."""
        expected = any(device.vendor == "nvidia" for device in on_bus)
        if self.host.which("nvidia-smi") is None:
            if expected:
                self.warnings.append(
                    "nvidia-smi not found: NVIDIA GPUs are named from lspci only, their memory is unknown"
                )
            return []
        gpus = self._parsed(NVIDIA_QUERY, nvidia_smi.parse_query) or []
        if len(gpus) > 1:
            peers = self._parsed(NVIDIA_TOPOLOGY, nvidia_smi.parse_topology) or {}
            for gpu in gpus:
                gpu["nvlink_peers"] = peers.get(gpu["index"], [])
        for gpu in gpus:
            if gpu["memory_total_bytes"] is None and not _is_gb10(gpu):
                self.warnings.append(
                    f"nvidia-smi reports no memory size for GPU {gpu['index']} ({gpu['name']})"
                )
        return gpus

    def _amd(self, on_bus: List[lspci.PciGpu]) -> List[amd_smi.AmdGpu]:
        """AMD GPUs from amd-smi, else rocm-smi; GTT from sysfs where the tool has none."""
        expected = any(device.vendor == "amd" for device in on_bus)
        readings: List[amd_smi.AmdGpu] = []
        if self.host.which("amd-smi") is not None:
            readings = self._amd_smi()
        elif self.host.which("rocm-smi") is not None:
            readings = self._parsed(ROCM_SMI, rocm_smi.parse) or []
        elif expected:
            self.warnings.append(
                "neither amd-smi nor rocm-smi found: AMD GPUs are named from lspci, memory from sysfs"
            )
        completed: List[amd_smi.AmdGpu] = []
        for reading in readings:
            gtt = reading.gtt_total_bytes
            if gtt is None:
                gtt = self._amdgpu_sysfs(reading.gpu["pci_bus_id"]).get("mem_info_gtt_total")
            completed.append(amd_smi.AmdGpu(reading.gpu, gtt))
        return completed

    def _amd_smi(self) -> List[amd_smi.AmdGpu]:
        """amd-smi static for identity, metric for free memory and GTT, topology for xGMI."""
        readings = self._parsed(AMD_SMI_STATIC, amd_smi.parse_static) or []
        if not readings:
            return []
        usage = self._parsed(AMD_SMI_MEMORY, amd_smi.parse_memory_usage) or {}
        peers = self._parsed(AMD_SMI_TOPOLOGY, amd_smi.parse_xgmi_peers) if len(readings) > 1 else {}
        completed: List[amd_smi.AmdGpu] = []
        for reading in readings:
            gpu = reading.gpu
            memory = usage.get(gpu["index"])
            if memory is not None:
                gpu["memory_total_bytes"] = gpu["memory_total_bytes"] or memory.vram_total_bytes
                gpu["memory_free_bytes"] = memory.vram_free_bytes
            gpu["nvlink_peers"] = (peers or {}).get(gpu["index"], [])
            completed.append(amd_smi.AmdGpu(gpu, memory.gtt_total_bytes if memory else None))
        return completed

    def _from_lspci(self, devices: List[lspci.PciGpu], listed: GpuList) -> GpuList:
        """GPUs no vendor tool described: named by lspci, AMD memory from the amdgpu driver's sysfs.

        Indexes count per vendor, as CUDA_VISIBLE_DEVICES and HIP_VISIBLE_DEVICES do.
        """
        gpus: GpuList = []
        for device in devices:
            index = sum(1 for gpu in listed + gpus if gpu["vendor"] == device.vendor)
            gpu = new_gpu(index, device.vendor, device.name)
            gpu["pci_device_id"] = device.device_id
            gpu["pci_bus_id"] = device.bus_id
            if device.vendor == "amd":
                sysfs = self._amdgpu_sysfs(device.bus_id)
                total, used = sysfs.get("mem_info_vram_total"), sysfs.get("mem_info_vram_used")
                gpu["memory_total_bytes"] = total
                gpu["memory_free_bytes"] = None if total is None or used is None else total - used
            if gpu["memory_total_bytes"] is None:
                self.warnings.append(
                    f"GPU {device.bus_id} ({device.name}) is known from lspci only: its memory is unknown"
                )
            gpus.append(gpu)
        return gpus

    def _amdgpu_sysfs(self, bus_id: Optional[str]) -> Dict[str, int]:
        """Memory counters the amdgpu driver exposes for the DRM card at a PCI address."""
        wanted = bus_key(bus_id)
        if wanted is None:
            return {}
        for card in sorted(self.host.list_dir(DRM_CLASS_DIR)):
            if not re.match(r"^card\d+$", card):
                continue
            device_dir = f"{DRM_CLASS_DIR}/{card}/device"
            uevent = self.host.read_text(device_dir + "/uevent") or ""
            slot = re.search(r"^PCI_SLOT_NAME=(\S+)$", uevent, re.MULTILINE)
            if slot is None or bus_key(slot.group(1)) != wanted:
                continue
            counters: Dict[str, int] = {}
            for name in ("mem_info_vram_total", "mem_info_vram_used", "mem_info_gtt_total"):
                path = device_dir + "/" + name
                text = self.host.read_text(path)
                value = None if text is None else self._parse_text(path, _sysfs_int, text)
                if value is not None:
                    counters[name] = value
            return counters
        return {}

    def _amd_apu_unified(self, amd: List[amd_smi.AmdGpu], total: Optional[int]) -> Optional[Dict[str, Any]]:
        """The unified-memory block of an AMD APU: carve-out is its VRAM, the GPU limit its GTT."""
        for reading in amd:
            gpu = reading.gpu
            if gpu["gfx_arch"] not in AMD_APU_GFX_TARGETS and "MI300A" not in gpu["name"]:
                continue
            gpu["unified_memory"] = True
            carveout = gpu["memory_total_bytes"]
            limit = reading.gtt_total_bytes
            if limit is None:
                self.warnings.append(
                    "AMD APU {}: GTT size unknown (no rocm-smi/amd-smi figure, no mem_info_gtt_total): "
                    "GPU limit set to the VRAM carve-out".format(gpu["name"])
                )
                limit = carveout
            return {
                "kind": "amd_apu",
                # MemTotal leaves out the BIOS carve-out; the physical pool holds both.
                "total_bytes": None if total is None else total + (carveout or 0),
                "gpu_limit_bytes": limit,
                "carveout_bytes": carveout,
            }
        return None

    # macOS

    def _macos(self, kernel: Optional[str], arch: Optional[str]) -> Dict[str, Any]:
        """OS, CPU, memory, the Apple GPU and its wired-memory limit."""
        version = self._output(SW_VERS)
        total = self._sysctl(SYSCTL_MEMSIZE)
        available = self._parsed(VM_STAT, macos.parse_vm_stat)
        brand = self._output(SYSCTL_BRAND)
        gpus: GpuList = []
        unified: Optional[Dict[str, Any]] = None
        if arch == "arm64":
            hardware = self._parsed(SYSTEM_PROFILER, macos.parse_system_profiler)
            gpu = new_gpu(0, "apple", hardware.gpu_name if hardware else (brand or "Apple GPU").strip())
            gpu["unified_memory"] = True
            gpus.append(gpu)
            if total is not None:
                wired_mb = self._sysctl(SYSCTL_WIRED_LIMIT)
                unified = {
                    "kind": "apple",
                    "total_bytes": total,
                    "gpu_limit_bytes": macos.gpu_limit_bytes(total, wired_mb),
                    "carveout_bytes": None,
                }
        else:
            self.warnings.append("macOS on %s: only Apple Silicon GPUs are used" % (arch or "an unknown CPU"))
        return {
            "os": {
                "system": "Darwin",
                "distribution": "macOS",
                "version": version.strip() if version else None,
                "kernel": kernel,
                "arch": arch,
            },
            "cpu": {
                "model": brand.strip() if brand else None,
                "cores": self._sysctl(SYSCTL_PHYSICAL_CPU),
                "threads": self._sysctl(SYSCTL_LOGICAL_CPU),
                "arch": arch,
                "features": {"avx2": False, "avx512": False, "amx": False, "neon": arch == "arm64"},
            },
            "memory": {"total_bytes": total, "available_bytes": available},
            "gpus": gpus,
            "unified_memory": unified,
        }

    def _sysctl(self, command: Command) -> Optional[int]:
        """An integer sysctl."""
        key = command.argv[-1]
        return self._parsed(command, lambda text: macos.parse_sysctl_int(text, key))

    # Disk

    def _disk(self, model_dir: str) -> Dict[str, Any]:
        """Size and free space of the filesystem that holds (or will hold) the model directory."""
        measured = nearest_existing(model_dir, self.host.exists)
        try:
            total, free = self.host.disk_usage(measured)
        except OSError as error:
            self.warnings.append(f"free disk of {model_dir} (measured at {measured}) unknown: {error}")
            return {"path": model_dir, "total_bytes": None, "free_bytes": None}
        return {"path": model_dir, "total_bytes": total, "free_bytes": free}


def _no_cpu_features() -> Dict[str, bool]:
    """Feature flags when /proc/cpuinfo could not be read."""
    return {"avx2": False, "avx512": False, "amx": False, "neon": False}


def _sysfs_int(text: str) -> int:
    """A sysfs counter file: one decimal number."""
    value: Optional[int] = optional_int(text.strip(), "sysfs counter")
    if value is None:
        raise ParseError(f"expected a number, got {text.strip()!r}")
    return value


def _is_gb10(gpu: Dict[str, Any]) -> bool:
    """DGX Spark's GB10, by PCI id or name."""
    return gpu["pci_device_id"] == GB10_PCI_DEVICE_ID or "GB10" in gpu["name"]


def _gb10_unified(nvidia: GpuList, arch: Optional[str], total: Optional[int]) -> Optional[Dict[str, Any]]:
    """GB10 shares LPDDR5X with the Grace CPU; nvidia-smi reports its memory as [N/A]."""
    for gpu in nvidia:
        if gpu["memory_total_bytes"] is None and (_is_gb10(gpu) or arch == "aarch64"):
            gpu["unified_memory"] = True
            # The whole of MemTotal: the planner takes the OS reserve off.
            return {
                "kind": "nvidia_gb10",
                "total_bytes": total,
                "gpu_limit_bytes": total,
                "carveout_bytes": None,
            }
    return None


def _fill_device_ids(gpus: GpuList, on_bus: List[lspci.PciGpu]) -> None:
    """Take PCI device ids from lspci for GPUs whose tool did not print one."""
    by_bus = {bus_key(device.bus_id): device.device_id for device in on_bus}
    for gpu in gpus:
        if gpu["pci_device_id"] is None:
            gpu["pci_device_id"] = by_bus.get(bus_key(gpu["pci_bus_id"]))

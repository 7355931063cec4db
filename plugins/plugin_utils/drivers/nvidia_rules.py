# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""NVIDIA driver decisions from the sovereign_hardware fact: module flavour, branch, source, packages.

The rules are data (catalogs/gpu_drivers.yml, section ``nvidia``); this module only applies them,
so every decision can be unit-tested over the recorded machines in tests/fixtures/hardware.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import catalog_path

RULES_FILE = catalog_path("gpu_drivers.yml")
FLAVOURS = ("open", "proprietary")
SOURCES = ("distro", "nvidia")
# lspci -n classes of GPUs: VGA (0300), 3D controller (0302), display controller (0380). NVSwitch
# chips are bridges (0680) and are not counted.
GPU_CLASSES = ("0300", "0302", "0380")
NVIDIA_VENDOR = "10de"


class DriverRuleError(ValueError):
    """A decision that cannot be made; the message names the variable, the value and what is valid."""


@dataclass(frozen=True)
class Architecture:
    """One GPU generation and the kernel module flavours that drive it."""

    name: str
    cc_min: tuple[int, int]
    cc_max: tuple[int, int]
    pci_ranges: tuple[tuple[int, int], ...]
    flavours: tuple[str, ...]
    recommended: str
    min_branch: int
    max_branch: int | None


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Mapping[str, Any]:
    """The ``nvidia`` section of the driver rule file."""
    with path.open(encoding="utf-8") as handle:
        rules: Mapping[str, Any] = yaml.safe_load(handle)["nvidia"]
    return rules


def _version(text: str) -> tuple[int, int]:
    major, _dot, minor = str(text).partition(".")
    return int(major), int(minor or 0)


def architectures(rules: Mapping[str, Any] | None = None) -> tuple[Architecture, ...]:
    """The architecture table, oldest first."""
    table = (rules or load_rules())["architectures"]
    return tuple(
        Architecture(
            name=entry["name"],
            cc_min=_version(entry["compute_capability"]["min"]),
            cc_max=_version(entry["compute_capability"]["max"]),
            pci_ranges=tuple((int(low), int(high)) for low, high in entry["pci_device_ids"]),
            flavours=tuple(entry["flavours"]),
            recommended=entry["recommended"],
            min_branch=int(entry["min_branch"]),
            max_branch=None if entry["max_branch"] is None else int(entry["max_branch"]),
        )
        for entry in table
    )


def nvidia_gpus(hardware: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The NVIDIA entries of a sovereign_hardware fact."""
    return [gpu for gpu in hardware.get("gpus") or [] if gpu.get("vendor") == "nvidia"]


def classify(gpu: Mapping[str, Any], rules: Mapping[str, Any] | None = None) -> tuple[Architecture, str]:
    """The architecture of one GPU and what it was told by: compute capability, else PCI device id."""
    table = architectures(rules)
    capability = gpu.get("compute_capability")
    if capability:
        version = _version(capability)
        for arch in table:
            if arch.cc_min <= version <= arch.cc_max:
                return arch, f"compute capability {capability}"
    device_id = gpu.get("pci_device_id")
    if device_id:
        number = int(str(device_id), 16)
        for arch in table:
            if any(low <= number <= high for low, high in arch.pci_ranges):
                return arch, f"PCI device id {device_id}"
    raise DriverRuleError(
        f"GPU {gpu.get('index')} ({gpu.get('name')!r}, PCI device id {device_id!r}, compute capability "
        f"{capability!r}) matches no architecture in catalogs/gpu_drivers.yml (Maxwell or newer is "
        "supported); set nvidia_kernel_module_flavour to open or proprietary to decide for it"
    )


@dataclass(frozen=True)
class FlavourDecision:
    """The kernel module flavour for a host and why."""

    flavour: str
    reason: str
    architectures: tuple[str, ...]
    min_branch: int
    max_branch: int | None


def kernel_module_flavour(
    hardware: Mapping[str, Any], requested: str = "auto", rules: Mapping[str, Any] | None = None
) -> FlavourDecision:
    """Open or proprietary modules for every NVIDIA GPU of the host, or an error naming the conflict.

    ``auto`` takes the recommended flavour of each architecture; a host that mixes an open-only
    architecture (Blackwell) with a proprietary-only one (Pascal) cannot be driven by one driver.
    """
    if requested not in ("auto", *FLAVOURS):
        raise DriverRuleError(
            f"nvidia_kernel_module_flavour: {requested!r} is not valid; expected auto, open or proprietary"
        )
    gpus = nvidia_gpus(hardware)
    if not gpus:
        raise DriverRuleError(
            "sovereign_hardware lists no NVIDIA GPU on this host (gpus: "
            f"{[gpu.get('name') for gpu in hardware.get('gpus') or []]}); run the nvidia role only on "
            "hosts with NVIDIA GPUs"
        )
    placed = [(gpu, *classify(gpu, rules)) for gpu in gpus]
    names = tuple(dict.fromkeys(arch.name for _gpu, arch, _told_by in placed))
    min_branch = max(arch.min_branch for _gpu, arch, _told_by in placed)
    caps = [arch.max_branch for _gpu, arch, _told_by in placed if arch.max_branch is not None]
    max_branch = min(caps) if caps else None
    candidates = [f for f in FLAVOURS if all(f in arch.flavours for _gpu, arch, _told_by in placed)]
    basis = "; ".join(f"GPU {gpu.get('index')} {arch.name} ({how})" for gpu, arch, how in placed)
    if not candidates:
        raise DriverRuleError(
            f"no kernel module flavour drives every NVIDIA GPU of this host: {basis}; "
            + ", ".join(f"{arch.name} needs {'/'.join(arch.flavours)}" for _gpu, arch, _told_by in placed)
            + ". Move the GPUs to separate hosts"
        )
    if requested != "auto":
        if requested not in candidates:
            raise DriverRuleError(
                f"nvidia_kernel_module_flavour: {requested!r} cannot drive this host's GPUs ({basis}); "
                f"valid here: auto, {', '.join(candidates)}"
            )
        return FlavourDecision(
            requested, f"set by nvidia_kernel_module_flavour ({basis})", names, min_branch, max_branch
        )
    recommended = [arch.recommended for _gpu, arch, _told_by in placed]
    flavour = "open" if "open" in candidates and all(r == "open" for r in recommended) else candidates[-1]
    if len(candidates) == 1:
        reason = f"{flavour} modules are the only ones that drive {', '.join(names)}"
    else:
        reason = f"{flavour} modules are recommended for {', '.join(names)}"
    return FlavourDecision(flavour, f"{reason} ({basis})", names, min_branch, max_branch)


def _release(rules: Mapping[str, Any], distribution: str, version: str) -> Mapping[str, Any]:
    releases = rules["distributions"].get(distribution)
    if releases is None or str(version) not in releases:
        supported = ", ".join(f"{d} {v}" for d, entries in rules["distributions"].items() for v in entries)
        raise DriverRuleError(
            f"{distribution} {version} is not supported by the nvidia role; supported: {supported}"
        )
    release: Mapping[str, Any] = releases[str(version)]
    return release


def needs_fabric_manager(
    hardware: Mapping[str, Any], requested: str | bool = "auto", rules: Mapping[str, Any] | None = None
) -> bool:
    """True on NVSwitch baseboards: more than four GPUs of an SXM part, unless set explicitly."""
    if isinstance(requested, bool):
        return requested
    if requested != "auto":
        raise DriverRuleError(
            f"nvidia_fabric_manager: {requested!r} is not valid; expected auto, true or false"
        )
    table = rules or load_rules()
    sxm = {str(i).lower() for i in table["nvswitch_sxm_pci_device_ids"]}
    count = sum(1 for gpu in nvidia_gpus(hardware) if str(gpu.get("pci_device_id") or "").lower() in sxm)
    return count >= int(table["fabric_manager_min_gpus"])


def _branch_number(branch: str, where: str) -> int:
    if not re.fullmatch(r"[0-9]{3}", str(branch)):
        raise DriverRuleError(
            f"{where}: {branch!r} is not valid; expected auto or a driver branch such as 580"
        )
    return int(branch)


def _distro_problems(
    table: Mapping[str, Any],
    distribution: str,
    version: str,
    *,
    decision: FlavourDecision,
    wanted: int | None,
    fabric: bool,
) -> list[str]:
    """Why the distribution's own archive cannot serve the host (empty: it can)."""
    distro_branch = _release(table, distribution, version).get("branch")
    if distro_branch is None:
        return []
    problems = []
    if wanted is not None and wanted != int(distro_branch):
        problems.append(f"{distribution} {version} carries branch {distro_branch}, not {wanted}")
    if int(distro_branch) < decision.min_branch:
        problems.append(
            f"{distribution} {version} carries branch {distro_branch}; "
            f"{', '.join(decision.architectures)} needs {decision.min_branch} or newer"
        )
    if fabric and not table["packages"][distribution]["distro"]["fabric_manager"]:
        problems.append(f"{distribution} does not package Fabric Manager")
    offered = _release(table, distribution, version)["flavours"]
    if decision.flavour not in offered:
        problems.append(
            f"{distribution} {version} keeps only the {'/'.join(offered)} modules current with its updates"
        )
    return problems


def _choose_source(source: str, problems: list[str], distribution: str, version: str) -> tuple[str, str]:
    """The package source and the reason for it."""
    if source not in ("auto", *SOURCES):
        raise DriverRuleError(
            f"nvidia_package_source: {source!r} is not valid; expected auto, distro or nvidia"
        )
    if source == "distro" and problems:
        raise DriverRuleError(
            "nvidia_package_source: 'distro' cannot serve this host: "
            + "; ".join(problems)
            + "; valid here: auto or nvidia (with nvidia_repo_url)"
        )
    if source != "auto":
        return source, "set by nvidia_package_source"
    if problems:
        return "nvidia", "; ".join(problems)
    return "distro", f"the {distribution} {version} archive carries a suitable driver"


def _check_branch(branch: int, decision: FlavourDecision) -> None:
    """Fail when the branch does not know, or no longer supports, the host's GPUs."""
    if branch < decision.min_branch:
        raise DriverRuleError(
            f"nvidia_driver_branch: {branch} is too old for {', '.join(decision.architectures)}; "
            f"expected {decision.min_branch} or newer"
        )
    if decision.max_branch is not None and branch > decision.max_branch:
        raise DriverRuleError(
            f"nvidia_driver_branch: {branch} no longer supports {', '.join(decision.architectures)}; "
            f"expected {decision.max_branch} or older"
        )


def _prefer_distro_flavour(
    hardware: Mapping[str, Any],
    decision: FlavourDecision,
    *,
    requested: str,
    source: str,
    release: Mapping[str, Any],
    table: Mapping[str, Any],
) -> FlavourDecision:
    """Under ``auto``, the other flavour when only it is current in the distribution and drives the GPUs.

    The distribution's archive gets security updates from the distribution; that outweighs the
    recommendation of the open modules where the proprietary ones drive the GPUs as well.
    """
    offered = release["flavours"]
    if requested != "auto" or source == "nvidia" or decision.flavour in offered:
        return decision
    for other in offered:
        try:
            alternative = kernel_module_flavour(hardware, other, table)
        except DriverRuleError:
            continue
        return FlavourDecision(
            other,
            f"{other} modules: the only ones the distribution keeps current; they drive "
            f"{', '.join(alternative.architectures)} too ({decision.reason})",
            alternative.architectures,
            alternative.min_branch,
            alternative.max_branch,
        )
    return decision


def driver_plan(
    hardware: Mapping[str, Any],
    distribution: str,
    version: str,
    *,
    flavour: str = "auto",
    branch: str = "auto",
    source: str = "auto",
    fabric_manager: str | bool = "auto",
    persistenced: bool = True,
    cuda_toolkit: bool = False,
    container_toolkit: bool = False,
    rules: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything the nvidia role installs for a host, with the reason for each choice."""
    table = rules or load_rules()
    decision = kernel_module_flavour(hardware, flavour, table)
    release = _release(table, distribution, version)
    decision = _prefer_distro_flavour(
        hardware, decision, requested=flavour, source=source, release=release, table=table
    )
    fabric = needs_fabric_manager(hardware, fabric_manager, table)
    wanted = None if str(branch) == "auto" else _branch_number(str(branch), "nvidia_driver_branch")
    problems = _distro_problems(table, distribution, version, decision=decision, wanted=wanted, fabric=fabric)
    chosen, source_reason = _choose_source(source, problems, distribution, version)
    if chosen == "distro" and release.get("branch") is not None:
        effective = int(release["branch"])
    else:
        effective = wanted if wanted is not None else int(table["default_branch"])
    _check_branch(effective, decision)

    names = table["packages"][distribution][chosen]
    selected = list(names[decision.flavour])
    extras = (
        (persistenced, names["persistenced"]),
        (fabric, names["fabric_manager"]),
        (cuda_toolkit, names["cuda_toolkit"]),
        (container_toolkit, table["container_toolkit"]),
    )
    for wanted_extra, extra in extras:
        if wanted_extra:
            selected += extra
    services = [
        name for on, name in ((persistenced, "nvidia-persistenced"), (fabric, "nvidia-fabricmanager")) if on
    ]
    return {
        "flavour": decision.flavour,
        "flavour_reason": decision.reason,
        "architectures": list(decision.architectures),
        "branch": str(effective),
        "source": chosen,
        "source_reason": source_reason,
        "repo_path": release["repo_path"],
        "fabric_manager": fabric,
        "packages": list(dict.fromkeys(name.format(branch=effective) for name in selected)),
        "services": services,
        "gpu_count": len(nvidia_gpus(hardware)),
    }


def _bus_key(bus_id: str) -> str:
    """``00000000:1B:00.0`` (nvidia-smi) and ``0000:1b:00.0`` (lspci) as one comparable key."""
    parts = bus_id.strip().lower().split(":")
    domain = parts[0] if len(parts) == 3 else "0"
    return f"{int(domain, 16):04x}:{parts[-2]}:{parts[-1]}"


def lspci_nvidia_gpus(lspci_output: str) -> list[str]:
    """Bus ids of NVIDIA GPUs in ``lspci -D -n`` output (``0000:01:00.0 0302: 10de:2330 (rev a1)``)."""
    found = []
    for line in lspci_output.splitlines():
        parts = line.split()
        if (
            len(parts) >= 3
            and parts[1].rstrip(":") in GPU_CLASSES
            and parts[2].lower().startswith(f"{NVIDIA_VENDOR}:")
        ):
            found.append(_bus_key(parts[0]))
    return found


def gpu_visibility(lspci_output: str, smi_output: str, smi_rc: int, smi_error: str = "") -> dict[str, Any]:
    """Compare the GPUs the PCI bus shows with those nvidia-smi drives; ``ok`` and a message to act on.

    ``smi_output`` is ``nvidia-smi --query-gpu=pci.bus_id --format=csv,noheader``.
    """
    on_bus = sorted(lspci_nvidia_gpus(lspci_output))
    driven = sorted(_bus_key(line) for line in smi_output.splitlines() if line.strip()) if smi_rc == 0 else []
    missing = [bus for bus in on_bus if bus not in driven]
    if not on_bus:
        message = (
            "no NVIDIA GPU is visible on the PCI bus (lspci -D -n shows no 10de device of class "
            "0300/0302/0380): check that the GPU is seated and passed through to this machine, or do not "
            "apply the nvidia role to this host"
        )
    elif smi_rc != 0:
        detail = (smi_error or smi_output).strip().splitlines()
        message = (
            f"lspci shows {len(on_bus)} NVIDIA GPU(s) ({', '.join(on_bus)}) but nvidia-smi exited with "
            f"{smi_rc}: {detail[0] if detail else 'no output'}. The driver is not loaded: reboot the host "
            "(nvidia_reboot: true does it), check Secure Boot enrolment and `dkms status`"
        )
    elif missing:
        message = (
            f"nvidia-smi drives {len(driven)} of the {len(on_bus)} NVIDIA GPUs on the PCI bus; missing "
            f"{', '.join(missing)}: see `dmesg | grep -i nvrm` (wrong module flavour, GPU off the bus)"
        )
    else:
        message = f"nvidia-smi drives all {len(on_bus)} NVIDIA GPU(s) on the PCI bus"
    return {
        "ok": bool(on_bus) and smi_rc == 0 and not missing,
        "lspci": on_bus,
        "nvidia_smi": driven,
        "missing": missing,
        "message": message,
    }

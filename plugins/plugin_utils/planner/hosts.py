# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Turn a host's detected or declared hardware into the resources the planner places work on.

Detected hardware is the ``sovereign_hardware`` fact (docs/dev/contracts.md section 1); declared
hardware is ``sovereign_hardware_declared`` (section 2). Detected wins when both exist, and the two
are compared so that an inventory that no longer matches the machine is reported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    Catalog,
    CatalogError,
    DeviceSpec,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hardware_fact import (
    DetectedHardware,
    read_fact,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.host_settings import (
    DEFAULT_MODELS_DIR,
    HOST_SETTING_VARIABLES,
    HostSettings,
    read_settings,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError

GIB = 1024**3
# Memory mismatch between declared and detected above this share is reported.
MEMORY_MISMATCH_TOLERANCE = 0.02
# OS reserve kept out of the model budget on unified-memory and CPU-only hosts unless the host sets
# sovereign_memory_reserve_gib: enough for macOS/DGX OS, the desktop session and the engine's process.
DEFAULT_MEMORY_RESERVE_GIB = 8.0
# macOS caps GPU wired memory at a share of RAM unless iogpu.wired_limit_mb is raised: about 2/3 up to
# 36 GiB and 3/4 above (Metal recommendedMaxWorkingSetSize, as reported by llama.cpp's Metal backend in
# ggml-org/llama.cpp discussions #2182); the exact share is not documented by Apple.
APPLE_SMALL_RAM_LIMIT_BYTES = 36 * GIB
APPLE_SMALL_RAM_GPU_SHARE = 2 / 3
APPLE_LARGE_RAM_GPU_SHARE = 3 / 4
__all__ = ["DEFAULT_MODELS_DIR", "HOST_VARIABLES", "Gpu", "HostReading", "HostResources", "read_host"]
# Vendors whose GPUs the engines in catalogs/engines.yml can run models on.
MODEL_VENDORS = ("nvidia", "amd", "apple")

HOST_VARIABLES = (
    "sovereign_hardware",
    "sovereign_hardware_declared",
    "sovereign_memory_reserve_gib",
    "sovereign_memory_bandwidth_gbs",
    "sovereign_catalog_extensions",
    "sovereign_calibration",
    *HOST_SETTING_VARIABLES,
)
DECLARED_KEYS = ("cpu", "gpus", "memory_gib", "unified_memory_gpu_limit_gib")


@dataclass(frozen=True)
class Gpu:
    """One accelerator as the planner sees it.

    ``index`` is the vendor's device number (CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES); ``slot`` is
    the position in the host's list, unique even when two vendors both number from 0.
    """

    slot: int
    index: int
    name: str
    vendor: str
    device_id: str | None
    memory_bytes: int
    bandwidth_bytes_s: float | None
    compute_capability: str | None
    nvlink_peers: tuple[int, ...]
    # The GPU draws on the host's memory (Apple, GB10, an AMD APU), as its catalog entry or inline
    # spec says: such a GPU makes the host one pool, whether or not the catalog knows its id.
    unified: bool = False
    # The decode class of its catalog entry (throughput.py); "" for a GPU no entry matches.
    decode_class: str = ""


@dataclass(frozen=True)
class HostResources:
    """What one host offers: its GPUs, its memory pool(s) and how that memory is shared.

    ``platform`` is ``discrete`` (GPUs with their own memory), ``apple``, ``nvidia_gb10`` or
    ``amd_apu`` (one memory pool shared by CPU and GPU), or ``cpu`` (no accelerator).
    ``pool_bytes`` is the budget of the shared pool on unified and CPU-only hosts, and the system
    memory available for llama.cpp CPU offload on discrete hosts.
    """

    name: str
    source: str
    platform: str
    gpus: tuple[Gpu, ...]
    system_memory_bytes: int
    pool_bytes: int
    reserve_bytes: int
    cpu_bandwidth_bytes_s: float | None
    models_dir: str
    # False when the host's sovereign_layers leave out the engine layer: it gets no deployment.
    serves_models: bool = True
    # Ports the stack's own services hold on this host: port -> the variable that sets it.
    stack_ports: Mapping[int, str] = field(default_factory=dict, compare=False)

    @property
    def unified(self) -> bool:
        """True when the GPU draws on the same memory as the CPU (or there is no GPU)."""
        return self.platform != "discrete"

    @property
    def vendor(self) -> str:
        """The accelerator vendor the engines must support (``cpu`` when there is none).

        An integrated Intel GPU beside an NVIDIA or AMD card does not make an Intel host.
        """
        return self.vendors[0]

    @property
    def vendors(self) -> tuple[str, ...]:
        """Every accelerator vendor of the host that engines can run on, in GPU order (``cpu``: none).

        A host may hold an NVIDIA and an AMD card; each deployment then runs on one vendor's GPUs.
        """
        preferred = tuple(dict.fromkeys(gpu.vendor for gpu in self.gpus if gpu.vendor in MODEL_VENDORS))
        return preferred or ((self.gpus[0].vendor,) if self.gpus else ("cpu",))

    def signature(self) -> tuple[Any, ...]:
        """Everything but the name: hosts with equal signatures are interchangeable for placement."""
        return (
            self.platform,
            self.gpus,
            self.system_memory_bytes,
            self.pool_bytes,
            self.cpu_bandwidth_bytes_s,
            self.models_dir,
        )


@dataclass(frozen=True)
class HostReading:
    """The resources of a host plus the detected-vs-declared differences found on the way."""

    resources: HostResources
    warnings: tuple[str, ...]


def _number(value: Any, where: str, limits: input_rules.Range, unit: str) -> float:
    """A finite number within ``limits`` from the inventory, or a PlanInputError naming the variable."""
    if not limits.accepts(value):
        hint = " (write the number alone, without quotes or a unit)" if isinstance(value, str) else ""
        raise PlanInputError(
            [f"{where}: {value!r} is not valid; expected {limits.expected()} ({unit}){hint}"]
        )
    return float(value)


def _declared_gpus(host: str, declared: Mapping[str, Any], catalog: Catalog) -> list[Gpu]:
    base = f"hosts.{host}.sovereign_hardware_declared.gpus"
    if "gpus" not in declared:
        # Ansible replaces a mapping whole: a host_vars entry with only memory_gib would silently
        # drop the GPUs a group_vars entry declared.
        raise PlanInputError(
            [
                f"{base}: missing; list the host's GPUs, or write gpus: [] for a host without one "
                "(a sovereign_hardware_declared in host_vars replaces the group's whole mapping, "
                "its gpus included)"
            ]
        )
    entries = declared["gpus"]
    if not isinstance(entries, list):
        raise PlanInputError(
            [f"{base}: {entries!r} is not valid; expected a list of {{device, count, nvlink}} ([] for none)"]
        )
    gpus: list[Gpu] = []
    problems: list[str] = []
    numbered: dict[str, int] = {}
    for position, entry in enumerate(entries):
        where = f"{base}[{position}]"
        if not isinstance(entry, Mapping) or "device" not in entry:
            problems.append(f"{where}: {entry!r} is not valid; expected a mapping with a 'device' key")
            continue
        unknown = sorted(set(map(str, entry)) - {"device", "count", "nvlink"})
        if unknown:
            problems.append(
                f"{where}: unknown key(s) {', '.join(unknown)}; valid keys are count, device, nvlink"
            )
            continue
        try:
            spec = catalog.device(entry["device"], f"{where}.device")
        except CatalogError as error:
            problems.append(str(error))
            continue
        count = entry.get("count", 1)
        if not input_rules.GPU_COUNT.accepts(count):
            problems.append(
                f"{where}.count: {count!r} is not valid; expected {input_rules.GPU_COUNT.expected()}"
            )
            continue
        if len(gpus) + count > input_rules.GPUS_PER_HOST:
            problems.append(
                f"{where}.count: {count} GPUs make {len(gpus) + count} on the host; expected at most "
                f"{input_rules.GPUS_PER_HOST} GPUs per host"
            )
            continue
        nvlink = entry.get("nvlink", False)
        if not isinstance(nvlink, bool):
            problems.append(f"{where}.nvlink: {nvlink!r} is not valid; expected true or false")
            continue
        first = len(gpus)
        # Each vendor numbers its own GPUs from 0 (CUDA_VISIBLE_DEVICES, HIP_VISIBLE_DEVICES).
        first_index = numbered.get(spec.vendor, 0)
        numbered[spec.vendor] = first_index + count
        for offset in range(count):
            peers = tuple(first_index + i for i in range(count) if i != offset) if nvlink else ()
            gpus.append(_gpu_from_spec(first + offset, first_index + offset, spec, peers))
    if problems:
        raise PlanInputError(problems)
    return gpus


def _gpu_from_spec(slot: int, index: int, spec: DeviceSpec, peers: tuple[int, ...]) -> Gpu:
    return Gpu(
        slot=slot,
        index=index,
        name=spec.name,
        vendor=spec.vendor,
        device_id=spec.id,
        memory_bytes=spec.memory_bytes,
        bandwidth_bytes_s=spec.bandwidth_bytes_s,
        compute_capability=spec.compute_capability,
        nvlink_peers=peers,
        unified=spec.unified_memory,
        decode_class=spec.decode_class,
    )


def _detected_gpus(host: str, fact: DetectedHardware, catalog: Catalog, warnings: list[str]) -> list[Gpu]:
    """GPUs that can run a model: a display adapter with no memory figure and no catalog entry is skipped."""
    gpus: list[Gpu] = []
    for detected in fact.gpus:
        where = f"hosts.{host}.sovereign_hardware.gpus[{detected.position}]"
        spec = catalog.match_device(detected.raw)
        memory = detected.memory_bytes
        if fact.unified_total_bytes and (memory is None or detected.unified_memory):
            # Unified memory: the GPU's own figure is the BIOS carve-out (APU) or missing (GB10, Apple).
            memory = fact.unified_total_bytes
        if memory is None and spec is not None:
            memory = spec.memory_bytes
        if not memory:
            warnings.append(
                f"{where}: {detected.name!r} ignored: memory unknown and no catalog device matches "
                "(declare it in sovereign_hardware_declared or sovereign_catalog_extensions.devices)"
            )
            continue
        if spec is None:
            warnings.append(
                f"{where}: {detected.name!r} matches no catalog device; bandwidth unknown, so no speed "
                "prediction (add the device to sovereign_catalog_extensions.devices)"
            )
        gpus.append(
            Gpu(
                slot=len(gpus),
                index=detected.index,
                name=detected.name or (spec.name if spec else "unknown"),
                vendor=detected.vendor or (spec.vendor if spec else "unknown"),
                device_id=spec.id if spec else None,
                memory_bytes=memory,
                bandwidth_bytes_s=spec.bandwidth_bytes_s if spec else None,
                compute_capability=detected.compute_capability or (spec.compute_capability if spec else None),
                nvlink_peers=detected.nvlink_peers,
                unified=detected.unified_memory or bool(spec and spec.unified_memory),
                decode_class=spec.decode_class if spec else "",
            )
        )
    return gpus


def _platform(gpus: Sequence[Gpu], unified_kind: str | None) -> str:
    if not gpus:
        return "cpu"
    if unified_kind:
        return unified_kind
    first = gpus[0]
    if first.unified:
        return {"apple": "apple", "nvidia": "nvidia_gb10", "amd": "amd_apu"}.get(first.vendor, "discrete")
    return "discrete"


def _pool_bytes(
    host: str,
    platform: str,
    total: int,
    gpu_limit: int | None,
    *,
    reserve_setting: tuple[int, bool],
    warnings: list[str],
) -> int:
    """The budget of the shared pool: unified memory the GPU may use, or RAM for CPU work.

    ``reserve`` is the bytes kept for the OS and whether the inventory chose them. A reserve the
    inventory chose that leaves nothing is an input error; the default one only keeps the host
    (an 8 GB Mac, say) out of the plan, with a warning.
    """
    reserve, chosen = reserve_setting
    available = total - reserve
    if platform == "apple":
        if gpu_limit is None:
            share = (
                APPLE_SMALL_RAM_GPU_SHARE
                if total <= APPLE_SMALL_RAM_LIMIT_BYTES
                else APPLE_LARGE_RAM_GPU_SHARE
            )
            gpu_limit = int(total * share)
        # The wired limit already leaves macOS its share; the reserve guards a raised limit.
        available = min(gpu_limit, available)
    elif platform == "amd_apu" and gpu_limit is not None:
        available = min(gpu_limit, available)
    if available <= 0 and chosen:
        raise PlanInputError(
            [
                f"hosts.{host}.sovereign_memory_reserve_gib: reserve {reserve / GIB:.1f} GiB leaves "
                f"no memory of {total / GIB:.1f} GiB for models; expected a reserve below the host's memory"
            ]
        )
    if available <= 0:
        warnings.append(
            f"hosts.{host}: the default reserve of {reserve / GIB:.1f} GiB for the operating system leaves "
            f"none of its {total / GIB:.1f} GiB for models, so it gets no deployment; set "
            "sovereign_memory_reserve_gib lower to use it"
        )
        return 0
    return available


def _compare(host: str, detected: HostResources, declared: HostResources) -> list[str]:
    """Differences an operator should know about: the inventory no longer describes the machine."""
    where = f"hosts.{host}"
    found: list[str] = []
    if len(detected.gpus) != len(declared.gpus):
        found.append(
            f"{where}: GPU count differs: detected {len(detected.gpus)}, "
            f"declared {len(declared.gpus)} (sovereign_hardware_declared.gpus)"
        )
    for mine, theirs in zip(detected.gpus, declared.gpus):
        if mine.device_id != theirs.device_id:
            found.append(
                f"{where}: GPU {mine.index} model differs: detected '{mine.name}', declared "
                f"'{theirs.name}' (sovereign_hardware_declared.gpus)"
            )
        elif abs(mine.memory_bytes - theirs.memory_bytes) > MEMORY_MISMATCH_TOLERANCE * theirs.memory_bytes:
            found.append(
                f"{where}: GPU {mine.index} memory differs: detected {mine.memory_bytes / GIB:.1f} GiB, "
                f"declared {theirs.memory_bytes / GIB:.1f} GiB"
            )
    if (
        abs(detected.system_memory_bytes - declared.system_memory_bytes)
        > MEMORY_MISMATCH_TOLERANCE * declared.system_memory_bytes
    ):
        found.append(
            f"{where}: system memory differs: detected {detected.system_memory_bytes / GIB:.1f} GiB, "
            f"declared {declared.system_memory_bytes / GIB:.1f} GiB (sovereign_hardware_declared.memory_gib)"
        )
    return found


def _reserve_bytes(host: str, hostvars: Mapping[str, Any]) -> tuple[int, bool]:
    """The bytes kept for the OS, and whether the inventory chose them."""
    raw = hostvars.get("sovereign_memory_reserve_gib", DEFAULT_MEMORY_RESERVE_GIB)
    value = _number(raw, f"hosts.{host}.sovereign_memory_reserve_gib", input_rules.RESERVE_GIB, "GiB")
    return int(value * GIB), "sovereign_memory_reserve_gib" in hostvars


def _cpu_bandwidth(host: str, hostvars: Mapping[str, Any]) -> float | None:
    raw = hostvars.get("sovereign_memory_bandwidth_gbs")
    if raw is None:
        return None
    return (
        _number(raw, f"hosts.{host}.sovereign_memory_bandwidth_gbs", input_rules.BANDWIDTH_GBS, "GB/s") * 1e9
    )


def _from_declared(
    host: str,
    declared: Mapping[str, Any],
    hostvars: Mapping[str, Any],
    catalog: Catalog,
    settings: HostSettings,
    *,
    warnings: list[str],
) -> HostResources:
    where = f"hosts.{host}.sovereign_hardware_declared"
    if not isinstance(declared, Mapping):
        raise PlanInputError(
            [f"{where}: {declared!r} is not valid; expected a mapping (docs/dev/contracts.md section 2)"]
        )
    unknown = sorted(set(map(str, declared)) - set(DECLARED_KEYS))
    if unknown:
        raise PlanInputError(
            [f"{where}: unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(DECLARED_KEYS)}"]
        )
    devices = _declared_gpus(host, declared, catalog)
    # A "cpu" catalog device describes the host's RAM (its bandwidth), not an accelerator.
    cpu_devices = [gpu for gpu in devices if gpu.vendor == "cpu"]
    # Slots are positions in the host's GPU list, which the CPU entries are not part of.
    gpus = [
        dataclasses.replace(gpu, slot=slot)
        for slot, gpu in enumerate(g for g in devices if g.vendor != "cpu")
    ]
    platform = _platform(gpus, None)
    if "memory_gib" in declared:
        system = int(
            _number(declared["memory_gib"], f"{where}.memory_gib", input_rules.HOST_MEMORY_GIB, "GiB") * GIB
        )
    elif platform in ("apple", "nvidia_gb10", "amd_apu"):
        system = gpus[0].memory_bytes
    elif cpu_devices:
        system = cpu_devices[0].memory_bytes
    else:
        raise PlanInputError([f"{where}.memory_gib: missing; expected the host's system RAM in GiB"])
    limit_raw = declared.get("unified_memory_gpu_limit_gib")
    limit = (
        int(
            _number(limit_raw, f"{where}.unified_memory_gpu_limit_gib", input_rules.HOST_MEMORY_GIB, "GiB")
            * GIB
        )
        if limit_raw is not None
        else None
    )
    reserve = _reserve_bytes(host, hostvars)
    if platform != "discrete" and gpus:
        # One pool: the GPU entry carries the pool size as the machine was declared.
        gpus = [dataclasses.replace(gpu, memory_bytes=system) for gpu in gpus]
    return HostResources(
        name=host,
        source="declared",
        platform=platform,
        gpus=tuple(gpus),
        system_memory_bytes=system,
        pool_bytes=_pool_bytes(host, platform, system, limit, reserve_setting=reserve, warnings=warnings),
        reserve_bytes=reserve[0],
        cpu_bandwidth_bytes_s=_cpu_bandwidth(host, hostvars)
        or (cpu_devices[0].bandwidth_bytes_s if cpu_devices else None),
        models_dir=settings.models_dir,
        serves_models=settings.serves_models,
        stack_ports=settings.stack_ports,
    )


def _from_detected(
    host: str,
    fact: DetectedHardware,
    hostvars: Mapping[str, Any],
    catalog: Catalog,
    *,
    settings: HostSettings,
    warnings: list[str],
) -> HostResources:
    gpus = _detected_gpus(host, fact, catalog, warnings)
    platform = _platform(gpus, fact.unified_kind)
    reserve = _reserve_bytes(host, hostvars)
    pool_total = fact.unified_total_bytes or fact.memory_bytes
    return HostResources(
        name=host,
        source="detected",
        platform=platform,
        gpus=tuple(gpus),
        system_memory_bytes=fact.memory_bytes,
        pool_bytes=_pool_bytes(
            host,
            platform,
            pool_total,
            fact.unified_gpu_limit_bytes,
            reserve_setting=reserve,
            warnings=warnings,
        ),
        reserve_bytes=reserve[0],
        cpu_bandwidth_bytes_s=_cpu_bandwidth(host, hostvars),
        models_dir=settings.models_dir,
        serves_models=settings.serves_models,
        stack_ports=settings.stack_ports,
    )


def read_host(host: str, hostvars: Mapping[str, Any], catalog: Catalog) -> HostReading:
    """Resources of ``host`` from its variables; detected facts win over declared ones.

    Raises PlanInputError when the host has neither, or when what it has cannot be used; problems
    of its settings and of its hardware are reported together.
    """
    problems: list[str] = []
    settings: HostSettings | None = None
    try:
        settings = read_settings(host, hostvars)
    except PlanInputError as error:
        problems.extend(error.problems)
    facts = hostvars.get("ansible_facts")
    facts = facts if isinstance(facts, Mapping) else {}
    detected = hostvars.get("sovereign_hardware") or facts.get("sovereign_hardware")
    declared = hostvars.get("sovereign_hardware_declared")
    if not detected and not declared:
        problems.append(
            f"hosts.{host}: neither sovereign_hardware (run the sovereign.stack.hardware role) nor "
            "sovereign_hardware_declared is set; declare the host's GPUs and memory_gib"
        )
    fact: DetectedHardware | None = None
    if detected:
        try:
            fact = read_fact(host, detected)
        except PlanInputError as error:
            problems.extend(error.problems)
    if problems or settings is None:
        raise PlanInputError(problems)
    warnings: list[str] = []
    if fact is not None:
        resources = _from_detected(host, fact, hostvars, catalog, settings=settings, warnings=warnings)
        if declared:
            as_declared = _from_declared(host, declared, hostvars, catalog, settings, warnings=[])
            warnings.extend(_compare(host, resources, as_declared))
        return HostReading(resources, tuple(warnings))
    # Neither detected nor declared was reported above, so the host declares its hardware.
    resources = _from_declared(host, declared or {}, hostvars, catalog, settings, warnings=warnings)
    return HostReading(resources, tuple(warnings))

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""AMD ROCm decisions from the sovereign_hardware fact and the plan: package source, APU memory.

The rules are data (catalogs/gpu_drivers.yml, section ``amd``); this module applies them.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import catalog_path

RULES_FILE = catalog_path("gpu_drivers.yml")
SOURCES = ("distro", "amd")
MIB = 1024**2


class RocmRuleError(ValueError):
    """A decision that cannot be made; the message names the variable, the value and what is valid."""


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Mapping[str, Any]:
    """The ``amd`` section of the driver rule file."""
    with path.open(encoding="utf-8") as handle:
        rules: Mapping[str, Any] = yaml.safe_load(handle)["amd"]
    return rules


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split("."))


def amd_gpus(hardware: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The AMD entries of a sovereign_hardware fact."""
    return [gpu for gpu in hardware.get("gpus") or [] if gpu.get("vendor") == "amd"]


def rocm_plan(
    hardware: Mapping[str, Any],
    distribution: str,
    version: str,
    *,
    source: str = "auto",
    rules: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Where ROCm comes from for this host and which packages it installs, with the reason."""
    table = rules or load_rules()
    gpus = amd_gpus(hardware)
    if not gpus:
        raise RocmRuleError(
            "sovereign_hardware lists no AMD GPU on this host (gpus: "
            f"{[gpu.get('name') for gpu in hardware.get('gpus') or []]}); run the rocm role only on "
            "hosts with AMD GPUs"
        )
    releases = table["distributions"].get(distribution) or {}
    if str(version) not in releases:
        supported = ", ".join(f"{d} {v}" for d, entries in table["distributions"].items() for v in entries)
        raise RocmRuleError(
            f"{distribution} {version} is not supported by the rocm role; supported: {supported}"
        )
    if source not in ("auto", *SOURCES):
        raise RocmRuleError(f"rocm_package_source: {source!r} is not valid; expected auto, distro or amd")
    release = releases[str(version)]
    distro_rocm = str(release["rocm"])
    problems = []
    for gpu in gpus:
        arch = gpu.get("gfx_arch")
        needed = table["min_rocm"].get(arch) if arch else None
        if needed is not None and _version(distro_rocm) < _version(str(needed)):
            problems.append(
                f"GPU {gpu.get('index')} ({gpu.get('name')}, {arch}) needs ROCm {needed}; "
                f"{distribution} {version} carries {distro_rocm}"
            )
    if source == "distro" and problems:
        raise RocmRuleError(
            "rocm_package_source: 'distro' cannot serve this host: "
            + "; ".join(problems)
            + "; valid here: auto or amd (with rocm_repo_url)"
        )
    if source == "auto":
        chosen = "amd" if problems else "distro"
        reason = (
            "; ".join(problems)
            if problems
            else f"the {distribution} {version} archive carries ROCm {distro_rocm}"
        )
    else:
        chosen, reason = source, "set by rocm_package_source"
    return {
        "source": chosen,
        "source_reason": reason,
        "repo_codename": release["repo_codename"],
        "packages": list(table["packages"][distribution][chosen]),
        "gfx_archs": sorted({str(gpu.get("gfx_arch")) for gpu in gpus if gpu.get("gfx_arch")}),
        "apu": (hardware.get("unified_memory") or {}).get("kind") == "amd_apu",
        "gpu_count": len(gpus),
    }


def apu_memory_parameters(
    system_memory_bytes: int,
    reserve_bytes: int,
    gtt_mib: int | None = None,
    rules: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """Kernel parameters that let an APU's GPU map the plan's budget of system RAM.

    The budget is the host's RAM less the plan's OS reserve (plan.json ``hardware``), or ``gtt_mib``
    when set. ``amdgpu.gttsize`` counts MiB; ``ttm.pages_limit`` and ``ttm.page_pool_size`` count pages.
    """
    page = int((rules or load_rules())["page_bytes"])
    if gtt_mib is None:
        if system_memory_bytes <= 0 or reserve_bytes < 0 or reserve_bytes >= system_memory_bytes:
            raise RocmRuleError(
                f"rocm_plan.hardware: system_memory_bytes {system_memory_bytes} and reserve_bytes "
                f"{reserve_bytes} leave no memory for the GPU; expected a reserve below the host's memory"
            )
        gtt_mib = (system_memory_bytes - reserve_bytes) // MIB
    if gtt_mib < 1 or (system_memory_bytes > 0 and gtt_mib * MIB > system_memory_bytes):
        raise RocmRuleError(
            f"rocm_gtt_size_mib: {gtt_mib} is not valid; expected 1 to {system_memory_bytes // MIB} "
            "MiB (the host's memory)"
        )
    pages = gtt_mib * MIB // page
    return {"gttsize_mib": gtt_mib, "pages_limit": pages, "page_pool_size": pages, "bytes": gtt_mib * MIB}

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""ROCm filters: rocm_plan, amd_apu_memory (documentation: the .yml files beside this one).

The rules live in catalogs/gpu_drivers.yml and are applied by plugins/plugin_utils/drivers/amd_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.plugin_utils.drivers import amd_rules


def _guard(name: str, call: Callable[[], Any]) -> Any:
    """Turn a rule error into AnsibleFilterError naming the filter."""
    try:
        return call()
    except (amd_rules.RocmRuleError, KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"{name}: {error}") from error


def rocm_plan(
    hardware: Mapping[str, Any], distribution: str, version: str, source: str = "auto"
) -> dict[str, Any]:
    """Package source and packages of ROCm for one host."""
    result: dict[str, Any] = _guard(
        "rocm_plan",
        lambda: amd_rules.rocm_plan(hardware, str(distribution), str(version), source=str(source)),
    )
    return result


def amd_apu_memory(plan_hardware: Mapping[str, Any], gtt_mib: int | None = None) -> dict[str, int]:
    """Kernel parameters (GTT MiB, TTM pages) for an APU from the ``hardware`` block of a plan slice."""
    result: dict[str, int] = _guard(
        "amd_apu_memory",
        lambda: amd_rules.apu_memory_parameters(
            int(plan_hardware["system_memory_bytes"]),
            int(plan_hardware["reserve_bytes"]),
            None if gtt_mib is None else int(gtt_mib),
        ),
    )
    return result


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        """The filters this file provides."""
        return {"rocm_plan": rocm_plan, "amd_apu_memory": amd_apu_memory}

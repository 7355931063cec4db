# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""NVIDIA driver filters: nvidia_kernel_module_flavour, nvidia_driver_plan, nvidia_gpu_visibility.

Documentation: the .yml files beside this one. The rules live in catalogs/gpu_drivers.yml and are
applied by plugins/plugin_utils/drivers/nvidia_rules.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.plugin_utils.drivers import nvidia_rules


def _guard(name: str, call: Callable[[], Any]) -> Any:
    """Turn a rule error into AnsibleFilterError naming the filter."""
    try:
        return call()
    except (nvidia_rules.DriverRuleError, KeyError, TypeError, ValueError) as error:
        raise AnsibleFilterError(f"{name}: {error}") from error


def nvidia_kernel_module_flavour(hardware: Mapping[str, Any], requested: str = "auto") -> str:
    """``open`` or ``proprietary`` for every NVIDIA GPU of a sovereign_hardware fact."""
    flavour: str = _guard(
        "nvidia_kernel_module_flavour",
        lambda: nvidia_rules.kernel_module_flavour(hardware, requested).flavour,
    )
    return flavour


def nvidia_driver_plan(
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
) -> dict[str, Any]:
    """Flavour, branch, package source, packages and services for one host."""
    result: dict[str, Any] = _guard(
        "nvidia_driver_plan",
        lambda: nvidia_rules.driver_plan(
            hardware,
            str(distribution),
            str(version),
            flavour=str(flavour),
            branch=str(branch),
            source=str(source),
            fabric_manager=fabric_manager,
            persistenced=bool(persistenced),
            cuda_toolkit=bool(cuda_toolkit),
            container_toolkit=bool(container_toolkit),
        ),
    )
    return result


def nvidia_gpu_visibility(
    lspci_output: str, smi_output: str, smi_rc: int = 0, smi_error: str = ""
) -> dict[str, Any]:
    """Whether nvidia-smi drives exactly the NVIDIA GPUs that lspci shows, with a message."""
    result: dict[str, Any] = _guard(
        "nvidia_gpu_visibility",
        lambda: nvidia_rules.gpu_visibility(str(lspci_output), str(smi_output), int(smi_rc), str(smi_error)),
    )
    return result


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        """The filters this file provides."""
        return {
            "nvidia_kernel_module_flavour": nvidia_kernel_module_flavour,
            "nvidia_driver_plan": nvidia_driver_plan,
            "nvidia_gpu_visibility": nvidia_gpu_visibility,
        }

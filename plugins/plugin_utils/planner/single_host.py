# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The planner on one imagined host: what the filters answer (best quant, argv, speed) for a device."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import Catalog, load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

HOST = "device"
NAME = "model"
# System RAM assumed beside a discrete GPU when the caller gives none: enough that CPU offload never
# decides the answer, which is about the device.
DISCRETE_SYSTEM_MEMORY_GIB = 1024


class NoFitError(ValueError):
    """The model fits the imagined host in no way; the message is the planner's reason."""


def catalog_with(extensions: Mapping[str, Any] | None) -> Catalog:
    """The shipped catalog plus ``extensions`` (the shape of sovereign_catalog_extensions)."""
    return load_catalog(dict(extensions) if extensions else None)


def plan_one(
    catalog: Catalog,
    device: str | Mapping[str, Any],
    count: int,
    deployment: Mapping[str, Any],
    memory_gib: float | None = None,
) -> dict[str, Any]:
    """Plan entry of ``deployment`` on a host with ``count`` x ``device``; NoFitError if it fits nowhere."""
    spec = catalog.device(device, "device")
    declared: dict[str, Any] = {"gpus": [{"device": device, "count": count}]}
    if memory_gib is not None:
        declared["memory_gib"] = memory_gib
    elif spec.unified_memory:
        declared["memory_gib"] = spec.memory_bytes / 1024**3
    else:
        declared["memory_gib"] = DISCRETE_SYSTEM_MEMORY_GIB
    wanted = {"name": NAME, "allow_cpu_offload": False, **deployment}
    document, _warnings = compute_plan({HOST: {"sovereign_hardware_declared": declared}}, [wanted], catalog)
    if document["unplaced"]:
        raise NoFitError(document["unplaced"][0]["reason"])
    entry: dict[str, Any] = document["hosts"][HOST]["deployments"][0]
    return entry

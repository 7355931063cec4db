# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The plan's three outputs: plan.json (the contract other tools read), plan.md and plan-memory.svg."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    DEFAULT_CATALOG_DIR,
    Catalog,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_argv import (
    LaunchInput,
    launch,
    model_path,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fit import HostState
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.placement import FleetPlan, Placement
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.throughput import decode_tps

SCHEMA_VERSION = 1
GIB = 1024**3
# Depths (tokens already in the context) at which plan.json predicts decode speed, up to the context.
PREDICTION_DEPTHS = (0, 4096, 16384, 32768, 65536, 131072)
CATALOG_FILES = ("devices.yml", "models.yml", "quantizations.yml", "engines.yml")


def catalog_version(catalog: Catalog) -> dict[str, Any]:
    """Engine versions and a digest of the shipped catalog files plus the effective entries' ids."""
    digest = hashlib.sha256()
    for name in CATALOG_FILES:
        path = DEFAULT_CATALOG_DIR / name
        if path.is_file():
            digest.update(path.read_bytes())
    for section in ("devices", "models", "quantizations", "engines"):
        digest.update(json.dumps(sorted(getattr(catalog, section)), sort_keys=True).encode())
    return {
        "sha256": digest.hexdigest(),
        "engines": {
            engine.id: engine.version for engine in sorted(catalog.engines.values(), key=lambda e: e.id)
        },
    }


def _by_depth(item: Placement) -> dict[str, float]:
    """Predicted decode tokens/s at each depth up to the context (calibrated like the headline figure)."""
    fit = item.fit
    if fit.setup is None:
        return {}
    return {
        str(depth): round(
            decode_tps(
                item.request.model, fit.quant, fit.engine, fit.setup, filled=depth, kv_dtype=fit.kv_dtype
            )
            * fit.calibration,
            1,
        )
        for depth in PREDICTION_DEPTHS
        if depth < fit.context
    }


def _deployment(item: Placement, state: HostState) -> dict[str, Any]:
    fit = item.fit
    request = item.request
    host = state.resources
    devices = max(len(fit.gpus), 1)
    path = model_path(host.models_dir, request.model.id, fit.quant.id, fit.quant.format)
    if not input_rules.path_inside(path, host.models_dir):
        # The id grammars make this impossible; the check keeps it so if a grammar is ever loosened.
        raise PlanInputError(
            [
                f"hosts.{host.name}: {request.name}: model path {path!r} leaves "
                f"sovereign_models_dir {host.models_dir!r}"
            ]
        )
    gpu = host.gpus[fit.slots[0]] if fit.slots else None
    # On a host with NVIDIA and AMD cards, the deployment's own GPUs decide its variables and devices.
    gpu_vendor = gpu.vendor if gpu else "cpu"
    started = launch(
        fit.engine,
        LaunchInput(
            name=request.name,
            model_path=path,
            port=item.port,
            context=fit.context,
            concurrency=request.concurrency,
            tensor_parallel=fit.tensor_parallel,
            gpu_layers=fit.gpu_layers,
            kv_dtype=fit.kv_dtype,
            quant=fit.quant.id,
            gpus=fit.gpus,
            vendor=gpu_vendor,
            unified=fit.unified,
            compute_capability=gpu.compute_capability if gpu else None,
            device_memory_bytes=gpu.memory_bytes if gpu else host.pool_bytes,
            weights_bytes=fit.per_device.weights_bytes,
            kv_cache_bytes=fit.per_device.kv_cache_bytes,
            overhead_bytes=fit.per_device.overhead_bytes,
        ),
    )
    notes: list[str] = []
    if fit.context < request.context:
        notes.append(
            f"context reduced from {request.context} to {fit.context} to fit (allow_context_reduction)"
        )
    if fit.offloaded_bytes:
        notes.append(
            f"{fit.gpu_layers} of {request.model.layers} layers on GPU, "
            f"{fit.offloaded_bytes / GIB:.1f} GiB in system RAM (allow_cpu_offload)"
        )
    return {
        "name": request.name,
        "replica": item.replica,
        "model": request.model.id,
        "engine": fit.engine.id,
        "engine_version": fit.engine.version,
        "quant": fit.quant.id,
        "format": fit.quant.format,
        "context": fit.context,
        "requested_context": request.context,
        "concurrency": request.concurrency,
        "tags": list(request.tags),
        "kv_cache_dtype": fit.kv_dtype,
        "tensor_parallel": fit.tensor_parallel,
        "gpus": list(fit.gpus),
        "gpu_vendor": gpu_vendor,
        "gpu_layers": fit.gpu_layers,
        "port": item.port,
        "bind": "127.0.0.1",
        "model_path": path,
        "argv": list(started.argv),
        "env": dict(sorted(started.env.items())),
        "predicted_decode_tps": fit.predicted_tps,
        "predicted_decode_tps_by_depth": _by_depth(item),
        "memory": {
            "weights_bytes": fit.per_device.weights_bytes * devices,
            "kv_cache_bytes": fit.per_device.kv_cache_bytes * devices,
            "overhead_bytes": fit.per_device.overhead_bytes * devices,
            "total_bytes": fit.per_device.total_bytes * devices,
            "budget_bytes": fit.budget_bytes,
            "offloaded_bytes": fit.offloaded_bytes,
        },
        "notes": notes,
    }


def _devices(state: HostState, placements: list[Placement]) -> list[dict[str, Any]]:
    """One entry per memory the plan fills: each discrete GPU, or the shared pool."""
    host = state.resources
    slots: list[tuple[str, str, int, tuple[int, ...]]]
    if host.platform == "discrete":
        slots = [(f"gpu{gpu.index}", gpu.name, gpu.memory_bytes, (gpu.slot,)) for gpu in host.gpus]
    else:
        kind = "RAM" if host.platform == "cpu" else "unified memory"
        slots = [("pool", f"{host.gpus[0].name if host.gpus else 'CPU'} {kind}", host.pool_bytes, ())]
    result = []
    for slot_id, name, capacity, indexes in slots:
        allocations: list[dict[str, Any]] = []
        for item in placements:
            on_slot = not indexes and (item.fit.unified or not item.fit.slots)
            on_slot = on_slot or any(index in item.fit.slots for index in indexes)
            if not on_slot:
                continue
            need = item.fit.per_device
            allocations.append(
                {
                    "deployment": item.request.name,
                    "replica": item.replica,
                    "weights_bytes": need.weights_bytes,
                    "kv_cache_bytes": need.kv_cache_bytes,
                    "overhead_bytes": need.overhead_bytes,
                }
            )
        used = sum(a["weights_bytes"] + a["kv_cache_bytes"] + a["overhead_bytes"] for a in allocations)
        result.append(
            {
                "id": slot_id,
                "name": name,
                "capacity_bytes": capacity,
                "used_bytes": used,
                "free_bytes": capacity - used,
                "allocations": allocations,
            }
        )
    return result


def _hardware(state: HostState) -> dict[str, Any]:
    host = state.resources
    return {
        "source": host.source,
        "platform": host.platform,
        "system_memory_bytes": host.system_memory_bytes,
        "pool_bytes": host.pool_bytes,
        "reserve_bytes": host.reserve_bytes,
        "gpus": [
            {
                "index": gpu.index,
                "name": gpu.name,
                "device": gpu.device_id,
                "vendor": gpu.vendor,
                "memory_bytes": gpu.memory_bytes,
                "bandwidth_bytes_s": gpu.bandwidth_bytes_s,
                "compute_capability": gpu.compute_capability,
            }
            for gpu in host.gpus
        ],
    }


def _calibration(fleet: FleetPlan) -> dict[str, Any]:
    """The calibration the plan used (sovereign_calibration) and the replicas it changed."""
    calibration = fleet.calibration
    if not calibration.factors:
        return {}
    applied = [
        {
            "host": item.host,
            "deployment": item.request.name,
            "replica": item.replica,
            "factor": item.fit.calibration,
        }
        for item in sorted(fleet.placements, key=lambda p: (p.host, p.request.name, p.replica))
        if item.fit.calibration != 1.0
    ]
    return {
        "benchmark": calibration.benchmark,
        "measured_at": calibration.measured_at,
        "decode": [
            {"device": device, "engine": engine, "factor": factor}
            for (device, engine), factor in sorted(calibration.factors.items())
        ],
        "applied": applied,
    }


def _placement(fleet: FleetPlan) -> dict[str, Any]:
    """How the placement was found, its score and the score no plan can beat (objective.py)."""
    result = fleet.search_result
    bound = fleet.bound
    if result is None or bound is None:
        return {}
    why = {
        f"{item.request.name}#{item.replica}": item.why
        for item in sorted(fleet.placements, key=lambda p: (p.request.name, p.replica))
    }
    return {
        "method": result.method,
        "proven_optimal": result.proven,
        "nodes": result.nodes,
        "objective": {"placed": result.score.placed, "value": round(result.score.value, 4)},
        "bound": {"placed": bound.placed, "value": round(bound.value, 4)},
        "why": why,
    }


def plan_document(fleet: FleetPlan, catalog: Catalog) -> dict[str, Any]:
    """plan.json's content: deterministic for equal input (sorted hosts, no timestamps)."""
    by_host: dict[str, list[Placement]] = {name: [] for name in fleet.states}
    for item in fleet.placements:
        by_host[item.host].append(item)
    hosts: dict[str, Any] = {}
    warnings = list(fleet.warnings)
    for name in sorted(fleet.states):
        state = fleet.states[name]
        placed = sorted(by_host[name], key=lambda p: (p.request.name, p.replica))
        deployments = [_deployment(item, state) for item in placed]
        for entry in deployments:
            warnings.extend(f"hosts.{name}: {entry['name']}: {note}" for note in entry["notes"])
            if entry["predicted_decode_tps"] is None:
                warnings.append(
                    f"hosts.{name}: {entry['name']}: device bandwidth unknown, no speed prediction"
                )
        hosts[name] = {
            "models_dir": state.resources.models_dir,
            "hardware": _hardware(state),
            "devices": _devices(state, placed),
            "deployments": deployments,
        }
    return {
        "schema_version": SCHEMA_VERSION,
        "catalog": catalog_version(catalog),
        "placement": _placement(fleet),
        "calibration": _calibration(fleet),
        "hosts": hosts,
        "unplaced": [
            {"name": u.request.name, "replica": u.replica, "model": u.request.model.id, "reason": u.reason}
            for u in fleet.unplaced
        ],
        "warnings": warnings,
    }


def _gib(value: float) -> str:
    return f"{value / GIB:.1f}"


def _md(value: object) -> str:
    """Inventory text as one Markdown table cell or list item: no line breaks, no cell breaks, no tags."""
    text = " ".join(str(value).split())
    for raw, escaped in (("\\", "\\\\"), ("|", "\\|"), ("`", "\\`"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(raw, escaped)
    return text


def plan_markdown(document: Mapping[str, Any]) -> str:
    """plan.md: what runs where, how much memory it takes, how fast it should decode."""
    lines = [
        "# Fleet plan",
        "",
        f"Catalog {document['catalog']['sha256'][:12]}; engines: "
        + ", ".join(f"{k} {v}" for k, v in document["catalog"]["engines"].items()),
        "",
        "## Deployments",
        "",
        "| Host | Deployment | Model | Engine | Quant | Context x seqs | TP / GPUs | Port "
        "| Memory GiB (used / budget) | Decode tok/s | Tags |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for host, entry in document["hosts"].items():
        for item in entry["deployments"]:
            memory = item["memory"]
            gpus = ",".join(str(g) for g in item["gpus"]) or "CPU"
            tps = "n/a" if item["predicted_decode_tps"] is None else f"{item['predicted_decode_tps']:.1f}"
            name = item["name"] + (f" #{item['replica']}" if item["replica"] else "")
            lines.append(
                f"| {_md(host)} | {_md(name)} | {_md(item['model'])} "
                f"| {item['engine']} {item['engine_version']} "
                f"| {_md(item['quant'])} | {item['context']} x {item['concurrency']} "
                f"| {item['tensor_parallel']} / {gpus} | {item['port']} "
                f"| {_gib(memory['total_bytes'])} / {_gib(memory['budget_bytes'])} | {tps} "
                f"| {_md(', '.join(item['tags']))} |"
            )
    lines += [
        "",
        "## Memory per device",
        "",
        "| Host | Device | Weights | KV cache | Overhead | Free | Capacity |",
    ]
    lines.append("|---|---|---|---|---|---|---|")
    for host, entry in document["hosts"].items():
        for device in entry["devices"]:
            totals = {
                k: sum(a[k] for a in device["allocations"])
                for k in ("weights_bytes", "kv_cache_bytes", "overhead_bytes")
            }
            lines.append(
                f"| {_md(host)} | {device['id']} {_md(device['name'])} | {_gib(totals['weights_bytes'])} | "
                f"{_gib(totals['kv_cache_bytes'])} | {_gib(totals['overhead_bytes'])} | "
                f"{_gib(device['free_bytes'])} | {_gib(device['capacity_bytes'])} |"
            )
    lines += ["", "![memory per device](plan-memory.svg)", ""]
    lines += _placement_markdown(document.get("placement") or {})
    lines += ["## Unplaced", ""]
    if document["unplaced"]:
        lines += ["| Deployment | Replica | Model | Reason |", "|---|---|---|---|"]
        lines += [
            f"| {_md(u['name'])} | {u['replica']} | {_md(u['model'])} | {_md(u['reason'])} |"
            for u in document["unplaced"]
        ]
    else:
        lines.append("Every deployment is placed.")
    lines += ["", "## Warnings", ""]
    lines += [f"- {_md(warning)}" for warning in document["warnings"]] or ["None."]
    lines.append("")
    return "\n".join(lines)


def _placement_markdown(placement: Mapping[str, Any]) -> list[str]:
    """plan.md's account of the placement: how it was found, its score, and a line per replica."""
    if not placement:
        return []
    objective = placement["objective"]
    bound = placement["bound"]
    proof = "proven best" if placement["proven_optimal"] else "best found, not proven"
    lines = [
        "## Placement",
        "",
        f"Method: {placement['method']} ({proof}, {placement['nodes']} search nodes). Objective: "
        f"{objective['placed']} replicas placed (priority-weighted) of at most {bound['placed']}, value "
        f'{objective["value"]:.2f} of at most {bound["value"]:.2f} (docs/planner.md, "Objective").',
        "",
        "| Replica | Why this way |",
        "|---|---|",
    ]
    lines += [f"| {_md(label)} | {_md(line)} |" for label, line in placement["why"].items()]
    return [*lines, ""]


SVG_COLOURS = (
    ("weights_bytes", "#4e79a7", "weights"),
    ("kv_cache_bytes", "#f28e2b", "KV cache"),
    ("overhead_bytes", "#e15759", "overhead"),
)
FREE_COLOUR = "#d9d9d9"
ROW_HEIGHT = 34
BAR_HEIGHT = 18
MIN_LABEL_WIDTH = 330
# Average advance of a 12 px sans-serif character; the label column grows with the longest label.
CHAR_WIDTH = 7
BAR_WIDTH = 560


def plan_svg(document: Mapping[str, Any]) -> str:
    """plan-memory.svg: one bar per device, full width = capacity, stacked weights, KV, overhead, free."""
    rows = [(host, device) for host, entry in document["hosts"].items() for device in entry["devices"]]
    labels = [f"{host} {device['id']} ({device['name']})" for host, device in rows]
    bar_x = max([MIN_LABEL_WIDTH] + [len(label) * CHAR_WIDTH + 20 for label in labels])
    height = 40 + ROW_HEIGHT * max(len(rows), 1) + 30
    width = bar_x + BAR_WIDTH + 140
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        "<title>Memory per device</title>",
    ]
    legend_x = 10
    for _kind, colour, label in (*SVG_COLOURS, ("", FREE_COLOUR, "free")):
        parts.append(f'<rect x="{legend_x}" y="10" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 16}" y="20">{label}</text>')
        legend_x += 100
    for row, ((_host, device), label) in enumerate(zip(rows, labels)):
        y = 40 + row * ROW_HEIGHT
        parts.append(f'<text x="10" y="{y + 13}">{escape(label)}</text>')
        capacity = max(device["capacity_bytes"], 1)
        x = float(bar_x)
        for key, colour, name in SVG_COLOURS:
            for allocation in device["allocations"]:
                share = allocation[key] / capacity * BAR_WIDTH
                title = escape(f"{allocation['deployment']} {name}: {_gib(allocation[key])} GiB")
                parts.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{share:.1f}" height="{BAR_HEIGHT}" fill="{colour}">'
                    f"<title>{title}</title></rect>"
                )
                x += share
        free = max(bar_x + BAR_WIDTH - x, 0.0)
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{free:.1f}" height="{BAR_HEIGHT}" fill="{FREE_COLOUR}"/>'
        )
        used = _gib(device["capacity_bytes"] - device["free_bytes"])
        capacity = _gib(device["capacity_bytes"])
        parts.append(f'<text x="{bar_x + BAR_WIDTH + 8}" y="{y + 13}">{used} / {capacity} GiB</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

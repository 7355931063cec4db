# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which hosts may hold a replica of a deployment at all, and why the others may not, in the
inventory's own terms: the host's layers, the pinned engine against the host's platform, the pinned
quantization against the host's vendor and GPUs.

Memory is not looked at here (fit.py decides whether a replica fits); these are the reasons no
amount of free memory would change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import Catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import engine_choice, quant_choice
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_names import ENGINES_WITH_ARGV
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import HostResources
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import (
    VARIABLE,
    DeploymentRequest,
)

LAYERS = "layers"


@dataclass(frozen=True)
class Reason:
    """Why one host cannot hold the deployment: the deployment key to blame and the words."""

    key: str
    text: str


def _label(host: HostResources) -> str:
    return f"{host.name} ({', '.join(host.vendors)})"


def engines_for(host: HostResources, catalog: Catalog) -> list[str]:
    """Engines that run on ``host``: the rule table's order first, then the others by name."""
    runs = [
        engine.id
        for engine in catalog.engines.values()
        if engine.id in ENGINES_WITH_ARGV and set(engine.vendors) & set(host.vendors)
    ]
    preferred = [a.engine for a in engine_choice.attempts(host.platform, host.vendor, 2, None, False)]
    preferred += [a.engine for a in engine_choice.attempts(host.platform, host.vendor, 1, None, False)]
    order = {engine: rank for rank, engine in enumerate(dict.fromkeys(preferred))}
    return sorted(runs, key=lambda engine: (order.get(engine, len(order)), engine))


def _vendors_text(vendors: Sequence[str], minimum: object) -> str:
    """'nvidia (compute capability 8.9 or newer), amd': the capability applies to NVIDIA only."""
    return ", ".join(
        f"{vendor} (compute capability {minimum} or newer)" if vendor == "nvidia" and minimum else vendor
        for vendor in vendors
    )


def _capabilities(host: HostResources) -> list[str]:
    return [gpu.compute_capability for gpu in host.gpus if gpu.vendor == "nvidia" and gpu.compute_capability]


def _meets(minimum: str | None, host: HostResources) -> bool:
    """Whether one of the host's GPUs meets an NVIDIA compute capability (always true without a minimum)."""
    if not minimum or "nvidia" not in host.vendors:
        return True
    needed = quant_choice.capability_tuple(minimum)
    return any(quant_choice.capability_tuple(cc) >= needed for cc in _capabilities(host))


def why_not(request: DeploymentRequest, host: HostResources, catalog: Catalog) -> Reason | None:
    """Why ``host`` cannot hold a replica of ``request`` whatever its free memory; None when it can."""
    if not host.serves_models:
        return Reason(LAYERS, host.name)
    if request.engine:
        engine = catalog.engines[request.engine]
        usable = [vendor for vendor in host.vendors if vendor in engine.vendors]
        minimum = engine.tuning.get("min_compute_capability")
        if not usable or (usable == ["nvidia"] and not _meets(str(minimum) if minimum else None, host)):
            return Reason("engine", _label(host))
    if request.quant:
        quant = catalog.quantizations[request.quant]
        if not set(host.vendors) & set(quant.vendors):
            return Reason("quant", _label(host))
        if set(host.vendors) & set(quant.vendors) == {"nvidia"} and not _meets(
            quant.min_compute_capability, host
        ):
            capabilities = ", ".join(_capabilities(host)) or "unknown"
            return Reason("quant", f"{host.name} (compute capability {capabilities})")
    return None


def eligible(
    request: DeploymentRequest, hosts: Mapping[str, HostResources], catalog: Catalog
) -> tuple[list[str], dict[str, Reason]]:
    """Hosts that may hold a replica (pinned ones, or all), and the reason of each host that may not."""
    names = list(request.hosts) if request.hosts else sorted(hosts)
    reasons = {
        name: reason for name in names if (reason := why_not(request, hosts[name], catalog)) is not None
    }
    return [name for name in names if name not in reasons], reasons


def _engine_text(
    request: DeploymentRequest, blocked: Sequence[str], hosts: Mapping[str, HostResources], catalog: Catalog
) -> str:
    by_vendor: dict[str, list[str]] = {}
    for name in blocked:
        by_vendor.setdefault(", ".join(hosts[name].vendors), engines_for(hosts[name], catalog))
    engine = catalog.engines[str(request.engine)]
    where_runs = "; ".join(
        f"on {vendor}: {', '.join(engines) or 'none'}" for vendor, engines in by_vendor.items()
    )
    if len(by_vendor) == 1:
        where_runs = ", ".join(next(iter(by_vendor.values()))) or "none"
    runs_on = _vendors_text(engine.vendors, engine.tuning.get("min_compute_capability"))
    return (
        f"{engine.id} does not run on {', '.join(_label(hosts[name]) for name in blocked)} "
        f"({engine.id} runs on {runs_on}); engines that do: {where_runs}"
    )


def _quant_text(
    request: DeploymentRequest, blocked: Sequence[str], reasons: Mapping[str, Reason], catalog: Catalog
) -> str:
    quant = catalog.quantizations[str(request.quant)]
    needs = (
        f" with compute capability {quant.min_compute_capability} or newer"
        if quant.min_compute_capability
        else ""
    )
    return (
        f"{quant.id!r} cannot run on {', '.join(reasons[name].text for name in blocked)}; "
        f"{quant.id} runs on {', '.join(quant.vendors)}{needs}"
    )


def _layers_text(blocked: Sequence[str]) -> str:
    return (
        f"{', '.join(blocked)} {'leaves' if len(blocked) == 1 else 'leave'} out the engine layer "
        "(sovereign_layers); add 'engine' to sovereign_layers there or choose other hosts"
    )


def explain_blocked(
    request: DeploymentRequest,
    hosts: Mapping[str, HostResources],
    reasons: Mapping[str, Reason],
    catalog: Catalog,
) -> dict[str, str]:
    """Per deployment key, one sentence naming the hosts that key rules out and why."""
    by_key: dict[str, list[str]] = {}
    for name, reason in reasons.items():
        by_key.setdefault(reason.key, []).append(name)
    texts: dict[str, str] = {}
    for key, blocked in by_key.items():
        if key == LAYERS:
            texts["hosts" if request.hosts else "replicas"] = _layers_text(blocked)
        elif key == "engine":
            texts[key] = _engine_text(request, blocked, hosts, catalog)
        else:
            texts[key] = _quant_text(request, blocked, reasons, catalog)
    return texts


def model_problem(request: DeploymentRequest, catalog: Catalog) -> str | None:
    """A pinned quantization the model is not published in, whatever the host; None otherwise."""
    if not request.quant:
        return None
    reason = quant_choice.model_reason(catalog.quantizations[request.quant], request.model)
    if reason is None:
        return None
    return f"{VARIABLE} (name {request.name!r}).quant: {request.quant!r} is not available: {reason}"

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet pass: every replica of every deployment on a host, or unplaced with the reason.

search.py decides where each replica goes (greedy passes, then an exact branch and bound where the
fleet is small enough); this module checks the requests against the hosts first, turns the chosen
moves into placements, explains what stayed unplaced and gives each deployment its port.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import Catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.input_rules import MAX_PORT
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import (
    choice_notes,
    eligibility,
    engine_choice,
    objective,
    quant_choice,
    search,
    tensor_parallel,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.calibration import NONE, Calibration
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fit import (
    GIB,
    MIN_REDUCED_CONTEXT,
    Fit,
    FitSearch,
    HostState,
    consume,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import HostResources
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import (
    VARIABLE,
    DeploymentRequest,
)


@dataclass(frozen=True)
class Placement:
    """One replica of a deployment on one host."""

    host: str
    request: DeploymentRequest
    replica: int
    fit: Fit
    port: int = 0
    # plan.md's line on why it runs this way (choice_notes.py).
    why: str = ""


@dataclass(frozen=True)
class Unplaced:
    """One replica that fits nowhere, and why."""

    request: DeploymentRequest
    replica: int
    reason: str


@dataclass
class FleetPlan:
    """Result of the pass: host states after placement, placements, unplaced replicas, warnings."""

    states: dict[str, HostState]
    placements: list[Placement] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    holders: dict[str, list[str]] = field(default_factory=dict)
    search_result: search.Result | None = None
    bound: objective.Score | None = None
    calibration: Calibration = NONE


def check_requests(
    requests: Sequence[DeploymentRequest], hosts: Mapping[str, HostResources], catalog: Catalog
) -> None:
    """Problems that need the hosts to see: pins no host can honour, more replicas than hosts."""
    problems: list[str] = []
    for request in requests:
        where = f"{VARIABLE} (name {request.name!r})"
        unpublished = eligibility.model_problem(request, catalog)
        if unpublished is not None:
            problems.append(unpublished)
            continue
        eligible, reasons = eligibility.eligible(request, hosts, catalog)
        if request.replicas <= len(eligible) or (request.allow_partial_placement and eligible):
            continue
        texts = eligibility.explain_blocked(request, hosts, reasons, catalog)
        if not eligible and len(texts) == 1:
            key, text = next(iter(texts.items()))
            problems.append(f"{where}.{key}: {text}")
            continue
        others = "".join(f"; {text}" for text in texts.values())
        problems.append(
            f"{where}.replicas: {request.replicas} replicas need as many different hosts, "
            f"but {len(eligible)} can run it ({', '.join(eligible) or 'none'}){others}; lower replicas, "
            "add hosts or set allow_partial_placement: true"
        )
    if problems:
        raise PlanInputError(problems)


def _build(
    problem: search.Problem, result: search.Result, catalog: Catalog, calibration: Calibration
) -> FleetPlan:
    """The placements of ``result`` on fresh host states; unplaced replicas explained against them."""
    plan = FleetPlan(states=problem.states())
    plan.holders = {name: [] for name in plan.states}
    plan.search_result = result
    plan.bound = problem.bound()
    plan.calibration = calibration
    for decision, move in zip(problem.decisions, result.moves):
        if move is None:
            continue
        request = problem.requests[decision.request]
        name = search.label(request, decision.replica)
        consume(plan.states[move.host], move.fit, name)
        plan.holders[move.host].append(name)
    for decision, move in zip(problem.decisions, result.moves):
        if move is not None:
            request = problem.requests[decision.request]
            line = choice_notes.why(problem, decision, move, plan.holders)
            plan.placements.append(Placement(move.host, request, decision.replica, move.fit, why=line))
    for decision, move in zip(problem.decisions, result.moves):
        if move is not None:
            continue
        request = problem.requests[decision.request]
        states = [plan.states[n] for n in problem.eligible[decision.request]]
        plan.unplaced.append(
            Unplaced(request, decision.replica, explain(request, states, plan.holders, catalog))
        )
    return plan


def _largest_budget(request: DeploymentRequest, state: HostState, catalog: Catalog) -> tuple[int, str]:
    """The most memory one deployment could get on an empty copy of this host, and how."""
    host = state.resources
    if host.platform != "discrete":
        kind = {"cpu": "RAM"}.get(host.platform, "unified memory")
        return host.pool_bytes, kind
    first = engine_choice.attempts(host.platform, host.vendor, request.concurrency, request.engine, False)[0]
    engine = catalog.engines[first.engine]
    utilisation = float(engine.tuning.get("memory_utilization", 1.0))
    best = (0, "")
    for gpu in host.gpus:
        same = [g for g in host.gpus if g.device_id == gpu.device_id and g.memory_bytes == gpu.memory_bytes]
        budget = int(sum(g.memory_bytes for g in same) * utilisation)
        best = max(best, (budget, f"{len(same)}x {gpu.name}"))
    return best


def _fmt_context(tokens: int) -> str:
    return f"{tokens // 1024}k" if tokens % 1024 == 0 else str(tokens)


def explain(
    request: DeploymentRequest,
    states: Sequence[HostState],
    holders: Mapping[str, list[str]],
    catalog: Catalog,
) -> str:
    """Why no eligible host takes the replica, sized against the largest budget, and what would fit."""
    if not states:
        return "no host in the play can run it (its hosts, engine and quant pins rule out every host)"
    # One empty copy per distinct hardware shape: a fleet of identical hosts is searched once.
    shapes: dict[tuple[object, ...], HostState] = {}
    for state in sorted(states, key=lambda s: s.resources.name):
        shapes.setdefault(state.resources.signature(), HostState(state.resources))
    empties = {state.resources.name: state for state in shapes.values()}
    finder = FitSearch(request, catalog)
    for state in states:
        fit = finder.best(empties[state.resources.name]) if state.resources.name in empties else None
        name = state.resources.name
        if fit is not None:
            taken = ", ".join(holders.get(name, [])) or "other replicas of this deployment"
            return (
                f"fits on {name} only while its memory is free "
                f"({fit.quant.id}, {_fmt_context(fit.context)} context), "
                f"but it is used by {taken}; add a host or lower replicas/context"
            )
    budgets = [(*_largest_budget(request, empties[name], catalog), name) for name in sorted(empties)]
    budget, how, host_name = max(budgets, key=lambda item: (item[0], item[2]))
    state = empties[host_name]
    need_text = _need_text(request, state, catalog)
    relaxed = dataclasses.replace(request, quant=None, allow_context_reduction=True, allow_cpu_offload=True)
    fallback = FitSearch(relaxed, catalog).best(state)
    if fallback is not None:
        offload = " with CPU offload" if fallback.offloaded_bytes else ""
        advice = f"fits at {fallback.quant.id} with {_fmt_context(fallback.context)} context{offload}"
    else:
        advice = f"does not fit at any quantization down to {_fmt_context(MIN_REDUCED_CONTEXT)} context"
    rejected = ""
    if state.resources.platform == "discrete" and len(state.resources.gpus) > 1:
        reasons = tensor_parallel.options(request.model, len(state.resources.gpus)).rejections
        rejected = f" ({'; '.join(reasons)})" if reasons else ""
    largest = f"the largest budget is {budget / GIB:.1f} GiB on {host_name} ({how}){rejected}"
    return f"{need_text}, {largest}; {advice}"


def _need_text(request: DeploymentRequest, state: HostState, catalog: Catalog) -> str:
    """'needs 43.1 GiB at Q8_0 with 32k context x 1' for the preferred engine on one device."""
    host = state.resources
    attempt = engine_choice.attempts(host.platform, host.vendor, request.concurrency, request.engine, False)[
        0
    ]
    engine = catalog.engines[attempt.engine]
    capability = host.gpus[0].compute_capability if host.gpus else None
    quants = quant_choice.candidates(
        catalog,
        engine,
        host.vendor,
        capability,
        pinned=request.quant,
        model=request.model,
    )
    if not quants:
        return f"no quantization runs with {engine.id} on {host.vendor}"
    finder = FitSearch(request, catalog)
    kv_dtype = request.kv_cache_dtype or str(engine.tuning.get("default_kv_cache_dtype", "fp16"))
    need = finder.need(engine, quants[0], request.context, kv_dtype, 1)
    return (
        f"needs {need.total_bytes / GIB:.1f} GiB ({engine.id}, {quants[0].id}, "
        f"{_fmt_context(request.context)} context x {request.concurrency})"
    )


def _stack_port_problem(item: Placement, host: HostResources, port: int) -> str:
    taken = ", ".join(str(p) for p in sorted(host.stack_ports))
    return (
        f"{VARIABLE} (name {item.request.name!r}).port: {port} on host {host.name} is "
        f"{host.stack_ports[port]}; expected a port that no stack service uses there (taken: {taken})"
    )


def _assign_ports(plan: FleetPlan) -> None:
    """Per host: pinned ports first, then each engine's default port upward, stepping over the ports
    of the stack's own services; a pinned port that collides is an error."""
    problems: list[str] = []
    by_host: dict[str, list[int]] = {}
    for index, item in enumerate(plan.placements):
        by_host.setdefault(item.host, []).append(index)
    for host, indexes in sorted(by_host.items()):
        resources = plan.states[host].resources
        used: dict[int, str] = {}
        ordered = sorted(indexes, key=lambda i: (plan.placements[i].request.name, plan.placements[i].replica))
        for index in ordered:
            item = plan.placements[index]
            port = item.request.port
            if port is None:
                continue
            if port in resources.stack_ports:
                problems.append(_stack_port_problem(item, resources, port))
            elif port in used:
                problems.append(
                    f"{VARIABLE} (name {item.request.name!r}).port: {port} on host {host} is already used by "
                    f"{used[port]}; expected a different port per deployment on a host"
                )
            else:
                used[port] = item.request.name
        for index in ordered:
            item = plan.placements[index]
            port = item.request.port
            if port is None:
                port = item.fit.engine.default_port
                while port in used or port in resources.stack_ports:
                    port += 1
                if port > MAX_PORT:
                    problems.append(
                        f"{VARIABLE} (name {item.request.name!r}).port: no free port above "
                        f"{item.fit.engine.default_port} on host {host}; pin a port"
                    )
                    continue
                used[port] = item.request.name
            plan.placements[index] = dataclasses.replace(item, port=port)
    if problems:
        raise PlanInputError(problems)


def plan_fleet(
    requests: Sequence[DeploymentRequest],
    hosts: Mapping[str, HostResources],
    catalog: Catalog,
    calibration: Calibration = NONE,
) -> FleetPlan:
    """Place every replica; PlanInputError for input that cannot be planned at all."""
    check_requests(requests, hosts, catalog)
    problem = search.Problem(requests, hosts, catalog, calibration.factors)
    plan = _build(problem, search.solve(problem), catalog, calibration)
    _assign_ports(plan)
    return plan

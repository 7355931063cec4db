# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The placement search (plugins/plugin_utils/planner/search.py): the plan a small team expects, priorities
and preferences, and the exact search against an exhaustive one on random small fleets.

SOVEREIGN_PLACEMENT_EXAMPLES and SOVEREIGN_PLACEMENT_DEPLOYMENTS raise the number of random fleets
and their deployments: the exhaustive search grows steeply with the deployments, so the CI run
keeps 40 fleets of up to 6; the figures in docs/planner.md come from 832 fleets of up to 8.
"""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import objective, search
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fit import HostState, consume
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import parse_deployments
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan, read_hosts

CATALOG = load_catalog()
EXAMPLES = int(os.environ.get("SOVEREIGN_PLACEMENT_EXAMPLES", "40"))
MAX_DEPLOYMENTS = int(os.environ.get("SOVEREIGN_PLACEMENT_DEPLOYMENTS", "6"))


def declared(device: str, memory_gib: int, count: int = 1) -> dict[str, Any]:
    return {
        "sovereign_hardware_declared": {
            "gpus": [{"device": device, "count": count}],
            "memory_gib": memory_gib,
        }
    }


SMALL_TEAM = {"mini": declared("m4", 24), "rig": declared("rtx-4090", 64)}
SMALL_TEAM_WANTS = [
    {"name": "chat", "model": "Qwen/Qwen3-8B", "context": 32768},
    {"name": "coder", "model": "Qwen/Qwen3-Coder-30B-A3B-Instruct", "context": 65536},
    {"name": "big", "model": "meta-llama/Llama-3.3-70B-Instruct", "context": 8192},
]


def where(document: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    return {
        item["name"]: (host, item)
        for host, entry in document["hosts"].items()
        for item in entry["deployments"]
    }


def test_a_small_team_gets_all_three_with_the_coder_on_the_gpu() -> None:
    """The greedy planner gave the 4090 to the 70B (41 of 80 layers offloaded, 2 tok/s) and left the
    coder out; the search serves all three: the coder wholly on the GPU, the 70B from system RAM."""
    document, fleet = compute_plan(SMALL_TEAM, SMALL_TEAM_WANTS)
    placed = where(document)
    assert document["unplaced"] == []
    assert set(placed) == {"chat", "coder", "big"}
    host, coder = placed["coder"]
    assert host == "rig" and coder["gpus"] == [0]
    assert coder["gpu_layers"] == 48 + 1 and coder["memory"]["offloaded_bytes"] == 0
    assert placed["big"][0] == "rig" and placed["big"][1]["gpus"] == []
    assert placed["chat"][0] == "mini"
    assert fleet.search_result is not None and fleet.search_result.proven


def test_priority_decides_who_gets_a_scarce_gpu() -> None:
    hosts = {"ws": declared("rtx-3060", 16)}
    wanted = [
        {"name": "a", "model": "Qwen/Qwen3-8B", "context": 16384, "allow_cpu_offload": False},
        {"name": "b", "model": "Qwen/Qwen3-8B", "context": 16384, "allow_cpu_offload": False},
    ]
    plain, _fleet = compute_plan(hosts, wanted)
    assert [item["name"] for item in plain["unplaced"]] == ["b"]
    preferred, _fleet = compute_plan(hosts, [wanted[0], {**wanted[1], "priority": 5}])
    assert [item["name"] for item in preferred["unplaced"]] == ["a"]


def test_prefer_speed_and_quality_move_the_trade_off() -> None:
    """A 70B model on a 192 GB Mac: 8-bit at about 6 tok/s, 4-bit at about twice that."""
    hosts = {"mac": declared("m3-ultra", 192)}
    model = {"name": "big", "model": "meta-llama/Llama-3.3-70B-Instruct", "context": 8192}
    quants = {}
    for prefer in objective.PREFER_CHOICES:
        document, _fleet = compute_plan(hosts, [{**model, "prefer": prefer}])
        quants[prefer] = where(document)["big"][1]["quant"]
    assert quants["speed"] == "mlx-4bit"
    assert quants["quality"] == "mlx-8bit"


def test_the_plan_states_how_it_was_found() -> None:
    document, _fleet = compute_plan(SMALL_TEAM, SMALL_TEAM_WANTS)
    placement = document["placement"]
    assert placement["method"] == "exact" and placement["proven_optimal"] is True
    assert placement["objective"]["placed"] == 3
    assert 0 < placement["objective"]["value"] <= placement["bound"]["value"]


# ------------------------------------------------------------------ exact search vs exhaustive

DEVICES = (
    ("rtx-3060", 32, 1), ("rtx-4090", 64, 1), ("rtx-3090", 64, 2), ("rx-7900-xtx", 64, 1),
    ("m4", 24, 1), ("m4-pro", 48, 1), ("cpu-ddr5-dual-channel", 64, 1), ("gb10", 128, 1),
)  # fmt: skip
MODELS = (
    "Qwen/Qwen3-0.6B", "Qwen/Qwen3-4B", "Qwen/Qwen3-8B", "Qwen/Qwen3-14B", "Qwen/Qwen3-30B-A3B",
    "Qwen/Qwen3-32B", "openai/gpt-oss-20b", "meta-llama/Llama-3.3-70B-Instruct",
)  # fmt: skip


def random_fleet(seed: int, max_deployments: int = 8) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Up to 6 hosts (some with an NVIDIA and an AMD card) and ``max_deployments``, offload allowed."""
    rng = random.Random(seed)
    hosts: dict[str, Any] = {}
    for index in range(rng.randint(1, 6)):
        device, memory, count = rng.choice(DEVICES)
        gpus = [{"device": device, "count": rng.randint(1, count)}] if not device.startswith("cpu") else []
        if not gpus:
            gpus = [{"device": device}]
        if rng.random() < 0.15 and device.startswith("rtx"):
            gpus.append({"device": "rx-7900-xtx"})
        hosts[f"h{index}"] = {"sovereign_hardware_declared": {"gpus": gpus, "memory_gib": memory}}
    wanted = []
    for index in range(rng.randint(1, max_deployments)):
        wanted.append(
            {
                "name": f"d{index}",
                "model": rng.choice(MODELS),
                "context": rng.choice((4096, 8192, 32768)),
                "concurrency": rng.choice((1, 1, 2)),
                "replicas": 2 if rng.random() < 0.1 else 1,
                "allow_partial_placement": True,
                "priority": rng.choice((1, 1, 1, 3)),
            }
        )
    return hosts, wanted


def host_subsets(problem: search.Problem, name: str) -> dict[frozenset[int], objective.Score]:
    """Every subset of the decisions host ``name`` can hold, with its best score: a walk over the
    decisions in order (skip, or every way each fits as the host is then); equal sub-walks are
    remembered, nothing is pruned."""
    decisions = problem.decisions
    memo: dict[tuple[object, ...], dict[frozenset[int], objective.Score]] = {}

    def walk(i: int, state: HostState, here: frozenset[int]) -> dict[frozenset[int], objective.Score]:
        key = (i, state.key(), here)
        if key in memo:
            return memo[key]
        found: dict[frozenset[int], objective.Score] = {frozenset(): objective.ZERO}
        if i < len(decisions):
            found = dict(walk(i + 1, state, here))
            decision = decisions[i]
            request = problem.requests[decision.request]
            if decision.request not in here and name in problem.eligible_set[decision.request]:
                for fit in problem.searches[decision.request].options(state):
                    placed = state.copy()
                    consume(placed, fit, search.label(request, decision.replica))
                    gain = problem.score(decision, fit)
                    for subset, score in walk(i + 1, placed, here | {decision.request}).items():
                        whole = subset | {i}
                        if whole not in found or gain + score > found[whole]:
                            found[whole] = gain + score
        memo[key] = found
        return found

    return walk(0, HostState(problem.hosts[name]), frozenset())


def exhaustive(problem: search.Problem) -> objective.Score:
    """The best score over every assignment: each host's subsets combined over disjoint subsets."""
    best: dict[frozenset[int], objective.Score] = {frozenset(): objective.ZERO}
    for name in sorted(problem.hosts):
        combined = dict(best)
        for subset, gain in host_subsets(problem, name).items():
            for taken, score in best.items():
                if subset and not subset & taken:
                    key = taken | subset
                    if key not in combined or score + gain > combined[key]:
                        combined[key] = score + gain
        best = combined
    return max(best.values())


@pytest.mark.parametrize("seed", range(EXAMPLES))
def test_the_search_matches_an_exhaustive_one_on_small_fleets(seed: int) -> None:
    hostvars, wanted = random_fleet(seed, MAX_DEPLOYMENTS)
    hosts, _warnings = read_hosts(hostvars, CATALOG)
    requests = parse_deployments(wanted, CATALOG, sorted(hostvars))
    problem = search.Problem(requests, hosts, CATALOG)
    found = search.solve(problem)
    reference = exhaustive(problem)
    assert found.score.placed >= reference.placed, (seed, found.score, reference)
    assert found.score.value >= 0.99 * reference.value - 1e-9, (seed, found.score, reference)


# Fleets where the branch and bound once ran out of its work budget (seed 627: 98.45 % of the best,
# unproven) or took minutes (760: 277 s, 167: 64 s): every replica wants the few GPUs, and only a
# bound that shares their memory among the replicas cuts the plans near the best one. Seed -> the
# exhaustive optimum (placed, value): exhaustive() at commit efde1fd (minutes each, hence constants;
# the 832-fleet run's own references predate the decode model, so its values differ).
CONTESTED_FLEETS = {627: (10, 9.23722779), 760: (12, 10.670603756), 167: (18, 16.376814047)}


@pytest.mark.parametrize("seed", sorted(CONTESTED_FLEETS))
def test_the_branch_and_bound_proves_fleets_where_the_gpus_are_contested(seed: int) -> None:
    hostvars, wanted = random_fleet(seed)
    hosts, _warnings = read_hosts(hostvars, CATALOG)
    problem = search.Problem(parse_deployments(wanted, CATALOG, sorted(hostvars)), hosts, CATALOG)
    start = search.greedy(problem, range(len(problem.requests)), "greedy, largest first")
    found = search.branch_and_bound(problem, start)
    placed, value = CONTESTED_FLEETS[seed]
    assert found.proven, (seed, found.nodes)
    # Well inside the work budget: before the shared-memory bound these took 117,000 to 875,000 nodes.
    assert found.nodes <= 60_000, (seed, found.nodes)
    assert found.score.placed == placed, (seed, found.score)
    assert found.score.value >= value / (1 + search.GAP) - 1e-9, (seed, found.score, value)

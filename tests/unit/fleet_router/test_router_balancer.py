# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Replica choice (least requests in flight, healthy only) and ``auto`` (smallest fitting deployment
with the tags, the next size when it is down or saturated)."""

from __future__ import annotations

import json

import pytest
from sovereign_fleet_router.balancer import Balancer
from sovereign_fleet_router.errors import ApiError
from sovereign_fleet_router.table import Deployment, Replica


def replica(host: str, concurrency: int = 2) -> Replica:
    return Replica(
        host=host,
        url=f"http://127.0.0.1:{8000 + len(host)}",
        engine="llama_cpp",
        context=8192,
        concurrency=concurrency,
    )


def fleet() -> list[Deployment]:
    """Smallest first, as the table is written."""
    return [
        Deployment("tiny", 4096, 1_000, ["llama_cpp"], frozenset({"code"}), [replica("a"), replica("bb")]),
        Deployment("mid", 16384, 5_000, ["vllm"], frozenset({"code", "long-context"}), [replica("ccc")]),
        Deployment("big", 65536, 40_000, ["vllm"], frozenset({"long-context"}), [replica("dddd")]),
    ]


def test_least_in_flight_wins_and_ties_take_turns() -> None:
    deployments = fleet()
    balancer = Balancer(deployments)
    first, second = deployments[0].replicas
    picks = [balancer.pick_replica(deployments[0]) for _pick in range(4)]
    assert picks == [first, second, first, second]
    first.in_flight = 3
    assert balancer.pick_replica(deployments[0]) is second


def test_unhealthy_and_tried_replicas_are_skipped() -> None:
    deployments = fleet()
    balancer = Balancer(deployments)
    first, second = deployments[0].replicas
    first.healthy = False
    assert balancer.pick_replica(deployments[0]) is second
    assert balancer.pick_replica(deployments[0], tried=[second]) is None


def test_a_name_gives_its_deployment_and_an_unknown_one_a_404_naming_the_known() -> None:
    balancer = Balancer(fleet())
    assert [d.name for d in balancer.deployments_for("mid", 10**9)] == ["mid"]
    with pytest.raises(ApiError) as unknown:
        balancer.deployments_for("gpt-4", 10)
    error = json.loads(unknown.value.body())["error"]
    assert unknown.value.status == 404
    assert error["code"] == "model_not_found"
    assert "tiny, mid, big, auto, auto:code, auto:long-context" in error["message"]


@pytest.mark.parametrize(
    ("model", "context", "expected"),
    [
        ("auto", 100, ["tiny", "mid", "big"]),
        ("auto:code", 100, ["tiny", "mid"]),
        ("auto:long-context", 100, ["mid", "big"]),
        ("auto:code,long-context", 100, ["mid"]),
        ("auto:code", 8000, ["mid"]),
        ("auto", 20000, ["big"]),
    ],
)
def test_auto_gives_the_fitting_deployments_smallest_first(
    model: str, context: int, expected: list[str]
) -> None:
    assert [d.name for d in Balancer(fleet()).deployments_for(model, context)] == expected


def test_auto_puts_down_and_saturated_sizes_last() -> None:
    deployments = fleet()
    balancer = Balancer(deployments)
    for tiny_replica in deployments[0].replicas:
        tiny_replica.in_flight = tiny_replica.concurrency
    assert [d.name for d in balancer.deployments_for("auto:code", 10)] == ["mid", "tiny"]
    deployments[1].replicas[0].healthy = False
    assert [d.name for d in balancer.deployments_for("auto:code", 10)] == ["tiny", "mid"]


def test_auto_without_a_match_says_why() -> None:
    balancer = Balancer(fleet())
    with pytest.raises(ApiError) as no_tag:
        balancer.deployments_for("auto:vision", 10)
    assert no_tag.value.status == 404
    assert "vision" in no_tag.value.message
    with pytest.raises(ApiError) as too_long:
        balancer.deployments_for("auto:code", 20000)
    assert (too_long.value.status, too_long.value.code) == (400, "context_length_exceeded")

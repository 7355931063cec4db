# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet router's routing table from plan.json: grouping, order, URLs, tags, and bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.filter.fleet_routes import FilterModule
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fleet_routes import (
    FleetRouteError,
    fleet_routes,
)
from hypothesis import given, settings
from hypothesis import strategies as st

fleet_routes_filter = FilterModule().filters()["fleet_routes"]


def deployment(name: str, port: int, context: int, weights: int, **extra: Any) -> dict[str, Any]:
    """A deployment entry of plan.json with the fields the table reads."""
    return {
        "name": name,
        "replica": extra.pop("replica", 0),
        "engine": extra.pop("engine", "llama_cpp"),
        "port": port,
        "bind": "127.0.0.1",
        "context": context,
        "concurrency": 4,
        "memory": {"weights_bytes": weights},
        **extra,
    }


# Three hosts, three deployments: two on host a, one replicated on a and b (context reduced on b).
PLAN = {
    "plan": {
        "hosts": {
            "a": {
                "deployments": [
                    deployment("chat", 8000, 8192, 4_000),
                    deployment("coder", 8001, 16384, 9_000),
                ]
            },
            "b": {"deployments": [deployment("chat", 8000, 4096, 4_000, replica=1, engine="vllm")]},
            "c": {"deployments": [deployment("big", 8000, 32768, 40_000)]},
        }
    }
}


def by_name(table: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["name"]: entry for entry in table["deployments"]}


def test_every_deployment_once_smallest_first() -> None:
    table = fleet_routes(PLAN, "a", {"b": "https://100.64.0.2", "c": "https://100.64.0.3:8443"})
    assert [entry["name"] for entry in table["deployments"]] == ["chat", "coder", "big"]
    assert table["host"] == "a"


def test_replicas_local_on_loopback_and_peers_through_their_proxy() -> None:
    table = by_name(fleet_routes(PLAN, "b", {"a": "https://100.64.0.1/", "c": "https://100.64.0.3:8443"}))
    chat = table["chat"]
    assert [replica["host"] for replica in chat["replicas"]] == ["b", "a"]  # the local one first
    assert chat["replicas"][0]["url"] == "http://127.0.0.1:8000"
    assert chat["replicas"][1]["url"] == "https://100.64.0.1/sovereign-replica/8000"
    assert table["big"]["replicas"][0]["url"] == "https://100.64.0.3:8443/sovereign-replica/8000"


def test_context_is_the_smallest_replicas_and_engines_are_all_of_them() -> None:
    chat = by_name(fleet_routes(PLAN, "a", {}))["chat"]
    assert chat["context"] == 4096
    assert chat["engines"] == ["llama_cpp", "vllm"]
    assert chat["weights_bytes"] == 4_000


def test_a_peer_without_an_origin_is_listed_without_a_url() -> None:
    big = by_name(fleet_routes(PLAN, "a", {"b": "https://100.64.0.2"}))["big"]
    assert big["replicas"][0]["url"] is None


def test_tags_come_from_the_plan_merged_over_replicas() -> None:
    plan = json.loads(json.dumps(PLAN))
    plan["plan"]["hosts"]["c"]["deployments"][0]["tags"] = ["long-context", "code"]
    plan["plan"]["hosts"]["a"]["deployments"][0]["tags"] = ["code", "code"]
    table = by_name(fleet_routes(plan, "a", {}))
    assert table["big"]["tags"] == ["code", "long-context"]
    assert table["chat"]["tags"] == ["code"]
    assert table["coder"]["tags"] == []


def tagged(tags: Any) -> dict[str, Any]:
    return {"hosts": {"a": {"deployments": [deployment("chat", 8000, 4096, 1, tags=tags)]}}}


def test_an_ipv6_bind_is_bracketed() -> None:
    plan = {"hosts": {"a": {"deployments": [deployment("chat", 8000, 4096, 1, bind="::1")]}}}
    assert fleet_routes(plan, "a")["deployments"][0]["replicas"][0]["url"] == "http://[::1]:8000"


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ({"plan": {}}, "no 'hosts'"),
        ([], "must be a mapping"),
        ({"hosts": {"a": {"deployments": {}}}}, "must be a list"),
        ({"hosts": {"a": {"deployments": ["chat"]}}}, "must be a mapping"),
        (
            {"hosts": {"a": {"deployments": [deployment("auto", 8000, 4096, 1)]}}},
            "fleet endpoint's own model name",
        ),
        ({"hosts": {"a": {"deployments": [deployment("Chat", 8000, 4096, 1)]}}}, "deployment name"),
        # A name or tag that ends in a line break is not the word it starts with.
        ({"hosts": {"a": {"deployments": [deployment("chat\n", 8000, 4096, 1)]}}}, "deployment name"),
        ({"hosts": {"a": {"deployments": [deployment("chat", 0, 4096, 1)]}}}, "port"),
        ({"hosts": {"a": {"deployments": [deployment("chat", 8000, True, 1)]}}}, "context"),
        ({"hosts": {"a": {"deployments": [deployment("chat", 8000, 4096, float("nan"))]}}}, "weights"),
        (tagged(["Code!"]), r"tags is \['Code!'\]: tag 'Code!' is not valid"),
        (tagged(["code\n"]), r"tag 'code\\n' is not valid"),
        (tagged("code"), "list of at most 16"),
        (tagged([f"t{number}" for number in range(17)]), "list of at most 16"),
    ],
)
def test_bad_input_is_refused_with_where(plan: Any, message: str) -> None:
    with pytest.raises(FleetRouteError, match=message):
        fleet_routes(plan, "a", {})


def test_the_filter_raises_what_ansible_reports() -> None:
    with pytest.raises(AnsibleFilterError, match=r"fleet_routes: .*port"):
        fleet_routes_filter({"hosts": {"a": {"deployments": [deployment("chat", 70000, 4096, 1)]}}}, "a")
    assert fleet_routes_filter(PLAN, "a", {})["deployments"][0]["name"] == "chat"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
DEPLOYMENTS = st.fixed_dictionaries(
    {"name": st.text(max_size=10) | st.sampled_from(["chat", "auto", "code"]), "port": JSON_VALUES},
    optional={"context": JSON_VALUES, "memory": JSON_VALUES, "tags": JSON_VALUES, "replica": JSON_VALUES},
)
PLANS = st.dictionaries(
    st.text(max_size=6),
    st.fixed_dictionaries({"deployments": st.lists(DEPLOYMENTS | JSON_VALUES, max_size=3)}) | JSON_VALUES,
    max_size=3,
)


@settings(max_examples=300, deadline=None)
@given(hosts=PLANS)
def test_any_plan_gives_a_table_or_a_route_error(hosts: dict[str, Any]) -> None:
    try:
        table = fleet_routes({"hosts": hosts}, "a", {"b": "https://100.64.0.2"})
    except FleetRouteError:
        return
    weights = [entry["weights_bytes"] for entry in table["deployments"]]
    assert weights == sorted(weights)
    json.dumps(table, allow_nan=False)  # the table is written as JSON for the router

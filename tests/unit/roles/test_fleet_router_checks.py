# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The fleet_router role's inventory checks (tasks/validate.yml) and the routing table it writes
(vars/main.yml ``__fleet_router_table``), run by ansible-playbook on localhost: one inventory host per
case, a good one passes and gets the table with the plan's tags, each bad one stops saying why."""

from __future__ import annotations

from typing import Any

import local_playbook
import pytest

PLAYBOOK = [
    {
        "name": "Check the settings and make the table as the role does",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [
            {
                "name": "Run the role's checks",
                "ansible.builtin.include_role": {
                    "name": "sovereign.stack.fleet_router",
                    "tasks_from": "validate",
                    "public": True,
                },
            },
            {"name": "Show the table", "ansible.builtin.debug": {"var": "__fleet_router_table"}},
        ],
    }
]


def _deployment(name: str, port: int, weights: int, tags: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "replica": 0,
        "engine": "llama.cpp",
        "port": port,
        "bind": "127.0.0.1",
        "context": 8192,
        "concurrency": 2,
        "tags": tags,
        "memory": {"weights_bytes": weights},
    }


# As playbooks/plan.yml registers it: the plan under "plan", hosts keyed by inventory name.
PLAN = {
    "plan": {
        "hosts": {
            "good": {"deployments": [_deployment("chat", 8000, 4_000, ["chat"])]},
            "peer": {"deployments": [_deployment("coder", 8001, 9_000, ["code", "long-context"])]},
        }
    }
}
PEERS = {
    "fleet_router_peer_origins": {"peer": "https://100.64.0.2"},
    "fleet_router_peer_ca_cert": "/ctl/ca.pem",
    "fleet_router_peer_token": "token",
}
GOOD: dict[str, Any] = {"sovereign_plan": PLAN, **PEERS}
# case -> (overrides of the good variables, text the failure must contain)
BAD: dict[str, tuple[dict[str, Any], str]] = {
    "wildcard": ({"fleet_router_listen_address": "0.0.0.0"}, "fleet_router_listen_address is '0.0.0.0'"),
    "wildcard6": (
        {"fleet_router_listen_address": "::"},
        "wildcard addresses such as 0.0.0.0 or :: are refused",
    ),
    "no_plan": ({"sovereign_plan": {}}, "fleet_router_plan has no hosts: the routing table is made from"),
    "plain_http": (
        {"fleet_router_peer_origins": {"peer": "http://100.64.0.2"}},
        "so plain http is refused",
    ),
    "origin_path": (
        {"fleet_router_peer_origins": {"peer": "https://100.64.0.2/v1"}},
        "https://<address or name>[:port] with no path",
    ),
    "no_token": (
        {"fleet_router_peer_token": ""},
        "fleet_router_peer_ca_cert or fleet_router_peer_token is empty",
    ),
    "no_ca": (
        {"fleet_router_peer_ca_cert": ""},
        "fleet_router_peer_ca_cert or fleet_router_peer_token is empty",
    ),
}


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, str], dict[str, Any]]:
    hosts = {"good": GOOD, "alone": {"sovereign_plan": {"hosts": PLAN["plan"]["hosts"]}}}
    hosts.update({case: {**GOOD, **overrides} for case, (overrides, _text) in BAD.items()})
    report = local_playbook.run(tmp_path_factory.mktemp("fleet-router"), PLAYBOOK, hosts)
    tables = {
        host: result.get("__fleet_router_table")
        for task in report["plays"][0]["tasks"]
        if task["task"]["name"] == "Show the table"
        for host, result in task["hosts"].items()
    }
    return local_playbook.failure_messages(report, hosts), tables


def test_a_good_inventory_passes_and_gets_the_table_with_the_plans_tags(
    outcome: tuple[dict[str, str], dict[str, Any]],
) -> None:
    failures, tables = outcome
    assert failures["good"] == ""
    table = {entry["name"]: entry for entry in tables["good"]["deployments"]}
    assert table["chat"]["tags"] == ["chat"]
    assert table["coder"]["tags"] == ["code", "long-context"]
    assert table["chat"]["replicas"][0]["url"] == "http://127.0.0.1:8000"
    assert table["coder"]["replicas"][0]["url"] == "https://100.64.0.2/sovereign-replica/8001"


def test_without_peer_origins_a_peers_replicas_are_listed_without_a_url(
    outcome: tuple[dict[str, str], dict[str, Any]],
) -> None:
    """plan.json given whole (not as registered), and no peers: the default until the proxy fronts them."""
    failures, tables = outcome
    assert failures["alone"] == ""
    table = {entry["name"]: entry for entry in tables["alone"]["deployments"]}
    assert table["coder"]["replicas"][0]["url"] is None


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_inventory_stops_saying_why(outcome: tuple[dict[str, str], dict[str, Any]], case: str) -> None:
    failures, _tables = outcome
    assert BAD[case][1] in " ".join(failures[case].split()), failures[case]

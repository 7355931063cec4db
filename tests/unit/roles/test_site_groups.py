# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""playbooks/site.yml sorts each host into one group per layer, service and accelerator runtime
(issue 23: the plays repeated ``__site_linux and '<layer>' in __site_layers`` sixteen times), and
applies baseline once: sshd's tailnet address comes from a unit of role baseline, not a second
baseline play after the tailnet joined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import local_playbook
import pytest
import yaml

SITE = local_playbook.REPO / "playbooks" / "site.yml"
LAYERS = local_playbook.REPO / "playbooks" / "vars" / "site_layers.yml"
GROUPING_PLAY = "Sort the hosts into the layers they get"


def _plays() -> list[dict[str, Any]]:
    return list(yaml.safe_load(SITE.read_text()))


def _slice(*vendors: str, deployments: int = 0) -> dict[str, Any]:
    return {"hardware": {"gpus": [{"vendor": vendor} for vendor in vendors]},
            "deployments": [{"name": f"d{index}"} for index in range(deployments)]}  # fmt: skip


# host -> (its variables, the sovereign_* groups it must end up in)
CASES: dict[str, tuple[dict[str, Any], set[str]]] = {
    "linux-all": (
        {"system": "Linux", "slice": _slice("nvidia", deployments=1),
         "sovereign_services": ["qdrant", "opa"]},
        {"sovereign_layer_" + layer for layer in
         ("baseline", "engine", "services", "tailscale", "tls_proxy", "firewall", "backup", "health")}
        | {"sovereign_service_qdrant", "sovereign_service_opa", "sovereign_accelerator_nvidia"},
    ),
    # A Linux host the plan gives nothing still runs the engine role (it removes old engines).
    "linux-amd-narrow": (
        {"system": "Linux", "slice": _slice("amd", "amd"), "sovereign_layers": ["accelerator", "engine"],
         "sovereign_services": ["qdrant"]},
        {"sovereign_layer_engine", "sovereign_accelerator_rocm"},
    ),
    "mac-serving": (
        {"system": "Darwin", "slice": _slice("apple", deployments=2), "sovereign_services": ["qdrant"]},
        {"sovereign_layer_engine", "sovereign_layer_tailscale", "sovereign_accelerator_mlx"},
    ),
    "mac-idle": (
        {"system": "Darwin", "slice": _slice("apple")},
        {"sovereign_layer_tailscale", "sovereign_accelerator_mlx"},
    ),
    "mac-no-accelerator": (
        {"system": "Darwin", "slice": _slice("apple", deployments=1), "sovereign_layers": ["engine"]},
        {"sovereign_layer_engine"},
    ),
    "peer": ({"system": "Linux", "slice": {}, "sovereign_layers": []}, set()),
    # An Apple GPU on Linux (Asahi) gets no MLX, an NVIDIA one on macOS no driver.
    "odd-vendors": (
        {"system": "Linux", "slice": _slice("apple", "intel"), "sovereign_layers": ["accelerator"]},
        set(),
    ),
}  # fmt: skip


def test_each_host_lands_in_the_groups_of_its_layers_services_and_accelerator(tmp_path: Path) -> None:
    grouping = next(play for play in _plays() if play["name"] == GROUPING_PLAY)
    grouping = {**grouping, "vars_files": [str(LAYERS)]}
    setup = {
        "name": "Stand in for the hardware play and the plan",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"name": "Set the system fact and the plan", "ansible.builtin.set_fact": {
            "ansible_system": "{{ system }}", "cacheable": True,
            "sovereign_plan": "{{ {'plan': {'hosts': {inventory_hostname: slice}}} }}"}}],
    }  # fmt: skip
    show = {
        "name": "Show the groups",
        "hosts": "all",
        "gather_facts": False,
        "tasks": [{"name": "Groups", "ansible.builtin.debug": {
            "msg": "{{ group_names | select('match', 'sovereign_') | list }}"}}],
    }  # fmt: skip
    hosts = {name: variables for name, (variables, _groups) in CASES.items()}
    report = local_playbook.run(tmp_path, [setup, grouping, show], hosts)
    (shown,) = [task for task in report["plays"][-1]["tasks"] if task["task"]["name"] == "Groups"]
    got = {host: set(outcome["msg"]) for host, outcome in shown["hosts"].items()}
    assert got == {name: groups for name, (_variables, groups) in CASES.items()}
    # Grouping changes nothing, so a converged fleet's rerun still reports 0 changed.
    grouped = report["plays"][1]["tasks"]
    assert not any(outcome.get("changed") for task in grouped for outcome in task["hosts"].values())


def test_every_play_after_the_grouping_names_its_group_and_none_repeats_the_layer_conditions() -> None:
    plays = _plays()
    names = [play["name"] for play in plays]
    for play in plays[names.index(GROUPING_PLAY) + 1 :]:
        assert play["hosts"].startswith("{{ groups['sovereign_"), play["name"]
        assert play["hosts"].endswith("| default([]) }}"), play["name"]
    assert "__site_linux" not in SITE.read_text().split("- name: Harden the base system", 1)[1]


@pytest.mark.parametrize("role", ["sovereign.stack.baseline", "sovereign.stack.tls_proxy"])
def test_a_role_is_applied_once_per_run(role: str) -> None:
    """Baseline ran a second time after tailscale, for sshd's tailnet address; tls_proxy has two
    include_role tasks (plan or inventory locations), of which one runs."""
    includes = [
        task for play in _plays() for task in play.get("tasks", [])
        if task.get("ansible.builtin.include_role", {}).get("name") == role
    ]  # fmt: skip
    if role == "sovereign.stack.baseline":
        assert len(includes) == 1
    else:
        assert len(includes) == 2 and all("__site_tls_locations" in task["when"] for task in includes)

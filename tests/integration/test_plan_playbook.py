# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""playbooks/plan.yml on inventories/example: the plan files, the contract, and no host contacted."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import yaml
from conftest import REPO_ROOT, run_playbook

PLAYBOOK = REPO_ROOT / "playbooks" / "plan.yml"
EXAMPLE = REPO_ROOT / "inventories" / "example"
PLAN_TASK = "Compute and write the fleet plan"
DEPLOYMENT_KEYS = {"model", "engine", "quant", "context", "tensor_parallel", "gpus", "port", "argv",
                   "predicted_decode_tps", "memory"}  # fmt: skip
MEMORY_KEYS = {"weights_bytes", "kv_cache_bytes", "overhead_bytes", "total_bytes", "budget_bytes"}


def _delegated_hosts(events: list[dict[str, object]]) -> set[str]:
    """Where each task really ran: the delegated host, else the inventory host."""
    found = set()
    for event in events:
        if event.get("event") not in ("runner_on_ok", "runner_on_failed", "runner_on_unreachable"):
            continue
        data = event["event_data"]
        assert isinstance(data, dict)
        delegated = data.get("res", {}).get("_ansible_delegated_vars", {})
        found.add(str(delegated.get("ansible_host") or data.get("host")))
    return found


def test_plan_playbook_on_the_example_fleet(tmp_path: Path) -> None:
    out = tmp_path / "plan-output"
    started = time.perf_counter()
    run = run_playbook(PLAYBOOK, EXAMPLE, tmp_path, extravars={"sovereign_plan_output_dir": str(out)})
    wall = time.perf_counter() - started
    print(f"plan.yml on inventories/example: {wall:.2f} s wall (goal < 10 s)")
    assert run.status == "successful", run.stdout
    assert run.task_results("unreachable") == []
    assert _delegated_hosts(run.events) == {"localhost"}
    assert {host for host, task in run.task_results("changed")} == {"spark-1"}
    for name in ("plan.json", "plan.md", "plan-memory.svg"):
        assert (out / name).is_file()
    plan = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    inventory = yaml.safe_load((EXAMPLE / "hosts.yml").read_text(encoding="utf-8"))
    hosts = {h for group in inventory["all"]["children"].values() for h in group["hosts"]}
    assert set(plan["hosts"]) == hosts
    assert plan["unplaced"] == []
    engines = set()
    for entry in plan["hosts"].values():
        ports = [item["port"] for item in entry["deployments"]]
        assert len(ports) == len(set(ports))
        for item in entry["deployments"]:
            assert set(item) >= DEPLOYMENT_KEYS
            assert set(item["memory"]) >= MEMORY_KEYS
            assert item["memory"]["total_bytes"] <= item["memory"]["budget_bytes"]
            assert "0.0.0.0" not in item["argv"]
            engines.add(item["engine"])
    assert engines == {"vllm", "sglang", "llama.cpp", "ollama", "mlx-lm"}
    replicas = [i for e in plan["hosts"].values() for i in e["deployments"] if i["name"] == "coder"]
    assert len({i["replica"] for i in replicas}) == 2


def test_plan_playbook_fails_in_the_plan_task_on_bad_input(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    deployments_file = inventory / "group_vars" / "all" / "deployments.yml"
    data = yaml.safe_load(deployments_file.read_text(encoding="utf-8"))
    data["sovereign_deployments"][0]["replica"] = 2
    deployments_file.write_text(yaml.safe_dump(data), encoding="utf-8")
    run = run_playbook(
        PLAYBOOK, inventory, tmp_path, extravars={"sovereign_plan_output_dir": str(tmp_path / "o")}
    )
    assert run.status == "failed"
    assert [task for _unused, task in run.task_results("failed")] == [PLAN_TASK]
    (message,) = run.failure_messages()
    assert "sovereign_deployments[0] (name 'oss-120b'): unknown key 'replica'" in message
    assert _delegated_hosts(run.events) == {"localhost"}
    assert not (tmp_path / "o").exists()


def _example_copy(tmp_path: Path) -> Path:
    inventory = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, inventory)
    return inventory


def test_an_inventory_without_hosts_stops_the_plan(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yml"
    empty.write_text("all:\n  hosts: {}\n", encoding="utf-8")
    run = run_playbook(
        PLAYBOOK, empty, tmp_path, extravars={"sovereign_plan_output_dir": str(tmp_path / "o")}
    )
    assert run.status == "failed"
    (message,) = run.failure_messages()
    assert "has no host: nothing can be planned" in message
    assert not (tmp_path / "o").exists()


def test_a_misspelt_variable_stops_the_plan_with_the_closest_name(tmp_path: Path) -> None:
    inventory = _example_copy(tmp_path)
    host_vars = inventory / "host_vars" / "ws-3090.yml"
    host_vars.write_text(host_vars.read_text(encoding="utf-8") + "sovereign_model_dir: /srv/models\n")
    run = run_playbook(
        PLAYBOOK, inventory, tmp_path, extravars={"sovereign_plan_output_dir": str(tmp_path / "o")}
    )
    assert run.status == "failed"
    assert [task for _unused, task in run.task_results("failed")] == [PLAN_TASK]
    (message,) = run.failure_messages()
    assert "unknown variable 'sovereign_model_dir' (set on ws-3090)" in message
    assert "did you mean 'sovereign_models_dir'" in message
    assert not (tmp_path / "o").exists()


def test_deployments_set_differently_on_one_host_stop_the_plan(tmp_path: Path) -> None:
    inventory = _example_copy(tmp_path)
    host_vars = inventory / "host_vars" / "cpu-box.yml"
    extra = {"sovereign_deployments": [{"name": "solo", "model": "Qwen/Qwen3-4B"}]}
    host_vars.write_text(host_vars.read_text(encoding="utf-8") + yaml.safe_dump(extra), encoding="utf-8")
    run = run_playbook(
        PLAYBOOK, inventory, tmp_path, extravars={"sovereign_plan_output_dir": str(tmp_path / "o")}
    )
    assert run.status == "failed"
    (message,) = run.failure_messages()
    assert "sovereign_deployments: differs between hosts (cpu-box: solo;" in message, message


def test_a_duplicate_key_is_named_even_where_ansible_only_warns(tmp_path: Path) -> None:
    inventory = _example_copy(tmp_path)
    host_vars = inventory / "host_vars" / "ws-3090.yml"
    host_vars.write_text(host_vars.read_text(encoding="utf-8") + "sovereign_memory_reserve_gib: 4\n" * 2)
    run = run_playbook(
        PLAYBOOK,
        inventory,
        tmp_path,
        extravars={"sovereign_plan_output_dir": str(tmp_path / "o")},
        # A user's own ansible.cfg keeps Ansible's default, a warning.
        envvars={"ANSIBLE_DUPLICATE_YAML_DICT_KEY": "warn"},
    )
    assert run.status == "failed"
    (message,) = run.failure_messages()
    assert f"{host_vars}:" in message and "duplicate key 'sovereign_memory_reserve_gib'" in message, message

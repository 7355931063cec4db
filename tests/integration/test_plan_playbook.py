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

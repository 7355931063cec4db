# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/action/fleet_plan.py: files written, check mode, failures listing every problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock

import pytest
from ansible_collections.sovereign.stack.plugins.action.fleet_plan import (
    ActionModule,
    host_inputs,
    write_files,
)

HOSTVARS: dict[str, Any] = {
    "ws": {
        "sovereign_hardware_declared": {"gpus": [{"device": "rtx-3090", "count": 2}], "memory_gib": 64},
        "unrelated": "{{ never templated }}",
    },
    "mac": {"sovereign_hardware_declared": {"gpus": [{"device": "m3-ultra"}], "memory_gib": 192}},
}
DEPLOYMENTS = ({"name": "chat", "model": "Qwen/Qwen3-8B", "replicas": 2},)


def action(args: dict[str, Any], check_mode: bool = False) -> ActionModule:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    templar = MagicMock()
    templar.template.side_effect = lambda value: value
    return ActionModule(task, MagicMock(), MagicMock(), MagicMock(), templar, MagicMock())


def task_vars(tmp_path: Path, deployments: Any = None) -> dict[str, Any]:
    return {
        "hostvars": HOSTVARS,
        "ansible_play_hosts_all": ["ws", "mac"],
        "sovereign_deployments": [dict(d) for d in DEPLOYMENTS] if deployments is None else deployments,
        "playbook_dir": str(tmp_path / "playbooks"),
    }


def test_plan_is_written_next_to_the_playbook_dir(tmp_path: Path) -> None:
    result = action({}).run(task_vars=task_vars(tmp_path))
    assert not result.get("failed"), result
    assert result["changed"] is True
    out = tmp_path / "plan-output"
    assert result["files"] == [str(out / "plan.json"), str(out / "plan.md"), str(out / "plan-memory.svg")]
    written = json.loads((out / "plan.json").read_text(encoding="utf-8"))
    assert written == result["plan"]
    assert sorted(written["hosts"]) == ["mac", "ws"]
    assert (out / "plan-memory.svg").read_text(encoding="utf-8").startswith("<svg")
    assert (out / "plan.md").stat().st_mode & 0o777 == 0o644


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    action({"output_dir": str(tmp_path / "o")}).run(task_vars=task_vars(tmp_path))
    result = action({"output_dir": str(tmp_path / "o")}).run(task_vars=task_vars(tmp_path))
    assert result["changed"] is False


def test_check_mode_writes_nothing_but_reports_the_change(tmp_path: Path) -> None:
    result = action({"output_dir": str(tmp_path / "o")}, check_mode=True).run(task_vars=task_vars(tmp_path))
    assert result["changed"] is True
    assert "plan" in result
    assert not (tmp_path / "o").exists()


def test_deployments_argument_wins_over_the_variable(tmp_path: Path) -> None:
    args = {"output_dir": str(tmp_path), "deployments": [{"name": "solo", "model": "Qwen/Qwen3-4B"}]}
    result = action(args).run(task_vars=task_vars(tmp_path))
    names = {item["name"] for entry in result["plan"]["hosts"].values() for item in entry["deployments"]}
    assert names == {"solo"}


def test_bad_input_fails_with_every_problem(tmp_path: Path) -> None:
    bad = [{"name": "chat", "model": "Qwen/Qwen3-8B", "replica": 2, "engine": "tgi"}]
    result = action({"output_dir": str(tmp_path / "o")}).run(task_vars=task_vars(tmp_path, bad))
    assert result["failed"] is True
    assert len(result["problems"]) == 2
    assert result["msg"].startswith("The fleet cannot be planned; fix the inventory:\n- ")
    assert "unknown key 'replica'" in result["msg"]
    assert not (tmp_path / "o").exists()


def test_unplaced_fails_after_writing_the_files_unless_allowed(tmp_path: Path) -> None:
    huge = [{"name": "huge", "model": "deepseek-ai/DeepSeek-V3", "allow_cpu_offload": False}]
    failed = action({"output_dir": str(tmp_path / "a")}).run(task_vars=task_vars(tmp_path, huge))
    assert failed["failed"] is True
    assert failed["msg"].startswith("Deployments that fit nowhere (see plan.md; set fail_on_unplaced: false")
    assert "huge (replica 0, deepseek-ai/DeepSeek-V3): needs " in failed["msg"]
    assert (tmp_path / "a" / "plan.md").is_file()
    allowed = action({"output_dir": str(tmp_path / "b"), "fail_on_unplaced": False}).run(
        task_vars=task_vars(tmp_path, huge)
    )
    assert not allowed.get("failed")
    assert allowed["plan"]["unplaced"][0]["name"] == "huge"


def test_unknown_host_is_refused(tmp_path: Path) -> None:
    result = action({"hosts": ["ghost"], "output_dir": str(tmp_path)}).run(task_vars=task_vars(tmp_path))
    assert result == {**result, "failed": True, "msg": "hosts: ghost not in the inventory"}


def test_host_inputs_pick_only_planner_variables() -> None:
    facts = {"sovereign_hardware": {"x": 1}}
    picked = host_inputs({"h": {"sovereign_memory_reserve_gib": 4, "ansible_facts": facts,
                                "other": 1}}, ["h"])  # fmt: skip
    assert picked == {"h": {"sovereign_memory_reserve_gib": 4, "sovereign_hardware": {"x": 1}}}


def test_write_files_replaces_only_what_differs(tmp_path: Path) -> None:
    assert write_files(tmp_path, {"a.txt": "one\n", "b.txt": "two\n"}, check_mode=False) is True
    before = (tmp_path / "a.txt").stat().st_mtime_ns
    assert write_files(tmp_path, {"a.txt": "one\n", "b.txt": "three\n"}, check_mode=False) is True
    assert (tmp_path / "a.txt").stat().st_mtime_ns == before
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "three\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def hostvars_with(host: str, **variables: Any) -> dict[str, Any]:
    changed = {name: dict(values) for name, values in HOSTVARS.items()}
    changed[host].update(variables)
    return changed


def run_with(tmp_path: Path, hostvars: dict[str, Any], deployments: Any = None) -> dict[str, Any]:
    variables = {**task_vars(tmp_path, deployments), "hostvars": hostvars}
    return action({"output_dir": str(tmp_path / "o")}).run(task_vars=variables)


def test_a_misspelt_collection_variable_is_an_error_with_the_closest_name(tmp_path: Path) -> None:
    result = run_with(
        tmp_path, hostvars_with("ws", sovereign_deployment=[{"name": "x", "model": "Qwen/Qwen3-4B"}])
    )
    assert result["failed"] is True
    assert "sovereign_deployment" in result["msg"] and "did you mean 'sovereign_deployments'" in result["msg"]
    assert "ws" in result["msg"] and "sovereign_allowed_variables" in result["msg"]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("name", "closest"),
    [
        ("sovereign_memory_reserve_gb", "sovereign_memory_reserve_gib"),
        ("sovereign_model_dir", "sovereign_models_dir"),
        ("engine_purge_weight", "engine_purge_weights"),
        ("tls_proxy_client", "tls_proxy_clients"),
    ],
)
def test_misspelt_variables_name_the_closest_known_one(tmp_path: Path, name: str, closest: str) -> None:
    result = run_with(tmp_path, hostvars_with("mac", **{name: 4}))
    assert result["failed"] is True
    assert f"'{name}'" in result["msg"] and f"did you mean '{closest}'" in result["msg"], result["msg"]


def test_known_variables_and_role_results_pass(tmp_path: Path) -> None:
    known = {
        "sovereign_memory_reserve_gib": 4,
        "engine_purge_weights": True,
        "tailscale_ipv4": "100.64.0.1",
        "artifacts_paths": {},
        "qdrant_endpoint": "http://127.0.0.1:6333",
        "sovereign_plan": {},
    }
    result = run_with(tmp_path, hostvars_with("mac", **known))
    assert not result.get("failed"), result.get("msg")


def test_an_allowed_unknown_variable_passes(tmp_path: Path) -> None:
    hostvars = hostvars_with("ws", sovereign_my_site="lab", backup_extra=1)
    for values in hostvars.values():
        values["sovereign_allowed_variables"] = ["sovereign_my_site", "backup_*"]
    result = run_with(tmp_path, hostvars)
    assert not result.get("failed"), result.get("msg")


def test_deployments_defined_differently_on_two_hosts_are_refused(tmp_path: Path) -> None:
    group = [{"name": "chat", "model": "Qwen/Qwen3-8B", "replicas": 2}]
    hostvars = hostvars_with("ws", sovereign_deployments=[{"name": "solo", "model": "Qwen/Qwen3-4B"}])
    hostvars["mac"]["sovereign_deployments"] = group
    result = run_with(tmp_path, hostvars)
    assert result["failed"] is True
    for fragment in ("sovereign_deployments", "ws", "mac", "group_vars"):
        assert fragment in result["msg"], result["msg"]


def test_deployments_are_read_from_the_hosts_whatever_their_order(tmp_path: Path) -> None:
    group = [{"name": "chat", "model": "Qwen/Qwen3-8B"}]
    hostvars = hostvars_with("mac", sovereign_deployments=group)
    hostvars["ws"]["sovereign_deployments"] = group
    forward = run_with(tmp_path / "a", hostvars, deployments=[])
    backward = run_with(tmp_path / "b", dict(reversed(list(hostvars.items()))), deployments=[])
    assert forward["plan"] == backward["plan"]
    assert forward["plan"]["hosts"]["mac"]["deployments"] or forward["plan"]["hosts"]["ws"]["deployments"]


def test_an_empty_play_is_refused(tmp_path: Path) -> None:
    variables = {**task_vars(tmp_path), "hostvars": {}, "ansible_play_hosts_all": []}
    result = action({"output_dir": str(tmp_path / "o")}).run(task_vars=variables)
    assert result["failed"] is True
    assert "no host" in result["msg"], result["msg"]

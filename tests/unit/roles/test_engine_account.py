# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine account has one name and one maker (issue 23, docs/architecture.md "Wiring").

Roles rocm and mlx need the engine's account before the engine role runs (rocm adds it to the GPU
device groups, mlx makes it on macOS). They once carried copies of ``engine_user``
(``rocm_engine_user``, ``mlx_engine_user``: ``sovereign-engine``), so an inventory that renamed the
engine's account got the GPU groups on the old one. Now both include the engine role's
``tasks/account.yml``, which names the account by ``engine_user``.

One ``ansible-playbook --check`` run on localhost: a stand-in role per caller holds that caller's
defaults and its task that makes the account, so each variable has its real precedence (role
defaults, then the inventory); each inventory host is one case, and the user module's arguments
show the account each caller would make.
"""

from __future__ import annotations

from typing import Any

import local_playbook
import pytest
import yaml

ROLES = local_playbook.REPO / "roles"
# The caller roles and the name of their task that makes or joins the engine account.
CALLERS = {
    "rocm": ("groups.yml", "Add the engine account to the GPU device groups"),
    "mlx": ("main.yml", "Create the engine account"),
}
# host -> inventory variables
HOSTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "renamed": {"engine_user": "sovereign-llm"},
    # An inventory that still sets the old per-role names keeps its account.
    "legacy": {
        "engine_user": "sovereign-llm",
        "rocm_engine_user": "gpu-runner",
        "mlx_engine_user": "mac-runner",
    },
}
# (host, caller) -> the account the caller makes
EXPECTED = {
    ("defaults", "rocm"): "sovereign-engine",
    ("defaults", "mlx"): "sovereign-engine",
    ("renamed", "rocm"): "sovereign-llm",
    ("renamed", "mlx"): "sovereign-llm",
    ("legacy", "rocm"): "gpu-runner",
    ("legacy", "mlx"): "mac-runner",
}


def _account_task(role: str) -> dict[str, Any]:
    file_name, task_name = CALLERS[role]
    tasks = yaml.safe_load((ROLES / role / "tasks" / file_name).read_text())
    task: dict[str, Any] = next(item for item in tasks if item["name"] == task_name)
    # The check-mode guard of rocm's task reads the result of its group task, not run here.
    return {key: value for key, value in task.items() if key != "when"}


@pytest.fixture(scope="module")
def accounts(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], dict[str, Any]]:
    """(host, caller) -> the arguments of the user module the caller's task ran."""
    root = tmp_path_factory.mktemp("engine_account")
    for role in CALLERS:
        stand_in = root / "roles" / f"as_{role}"
        (stand_in / "defaults").mkdir(parents=True)
        (stand_in / "tasks").mkdir(parents=True)
        (stand_in / "defaults" / "main.yml").write_text((ROLES / role / "defaults" / "main.yml").read_text())
        (stand_in / "tasks" / "main.yml").write_text(yaml.safe_dump([_account_task(role)]))
    play = [
        {
            "name": "Make the engine account as each caller does",
            "hosts": "all",
            "gather_facts": True,
            "gather_subset": ["!all", "!min", "distribution"],
            "tasks": [
                {"name": f"As role {role}", "ansible.builtin.include_role": {"name": f"as_{role}"}}
                for role in CALLERS
            ],
        }
    ]
    report = local_playbook.run(
        root, play, HOSTS, check_mode=True, env={"ANSIBLE_ROLES_PATH": str(root / "roles")}
    )
    found: dict[tuple[str, str], dict[str, Any]] = {}
    caller = ""
    for task in report["plays"][0]["tasks"]:
        path = str(task["task"].get("path", ""))
        for role in CALLERS:
            if f"/as_{role}/" in path:
                caller = role
        for host, outcome in task["hosts"].items():
            assert not outcome.get("failed"), f"{host}, {task['task']['name']}: {outcome.get('msg')}"
            arguments = outcome.get("invocation", {}).get("module_args", {})
            if outcome.get("action") == "ansible.builtin.user":
                found[(host, caller)] = arguments
    return found


@pytest.mark.parametrize(("host", "caller"), sorted(EXPECTED))
def test_each_caller_makes_the_account_the_inventory_names(
    host: str, caller: str, accounts: dict[tuple[str, str], dict[str, Any]]
) -> None:
    assert accounts[(host, caller)]["name"] == EXPECTED[(host, caller)]


@pytest.mark.parametrize("caller", sorted(CALLERS))
def test_the_account_is_made_as_the_engine_role_makes_it(
    caller: str, accounts: dict[tuple[str, str], dict[str, Any]]
) -> None:
    engine_vars = yaml.safe_load((ROLES / "engine" / "vars" / "Debian.yml").read_text())
    made = accounts[("defaults", caller)]
    assert made["system"] is True
    assert made["create_home"] is False
    assert made["shell"] == engine_vars["__engine_account_shell"]
    assert made["home"] == engine_vars["__engine_account_home"]


def test_rocm_adds_the_account_to_the_gpu_groups(accounts: dict[tuple[str, str], dict[str, Any]]) -> None:
    assert accounts[("renamed", "rocm")]["groups"] == ["render", "video"]
    assert accounts[("renamed", "rocm")]["append"] is True


def test_only_the_engine_role_makes_the_engine_account() -> None:
    """No other role carries a user task of its own for it, nor a copy of its name."""
    makers = []
    for path in sorted(ROLES.glob("*/tasks/*.yml")):
        for task in yaml.safe_load(path.read_text()) or []:
            user = task.get("ansible.builtin.user", {})
            if "engine" in str(user.get("name", "")):
                makers.append(str(path.relative_to(ROLES)))
    assert makers == ["engine/tasks/account.yml"]
    for role in CALLERS:
        assert "sovereign-engine" not in (ROLES / role / "defaults" / "main.yml").read_text()

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The nvidia role's interface beyond the checks every role gets (test_role_interfaces.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import local_playbook
import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "nvidia"


def test_verify_entry_point_and_safe_defaults() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    assert specs["verify"]["options"] == {}
    assert defaults["nvidia_reboot"] is False
    assert defaults["nvidia_kernel_module_flavour"] == "auto"


def test_every_task_file_named_in_main_exists() -> None:
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    named = [
        task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks") for task in main
    ]
    assert all((ROLE / "tasks" / name).is_file() for name in named)
    assert (ROLE / "tasks" / "verify.yml").is_file()


PLAN_CHECK = "Check that the driver drives every NVIDIA GPU the plan counted on"


def _gpus(*vendors: str) -> dict[str, Any]:
    return {"hardware": {"gpus": [{"vendor": vendor} for vendor in vendors]}}


# host -> (nvidia_plan, nvidia-smi's bus id lines, whether the check fails)
PLAN_CASES: dict[str, tuple[dict[str, Any], list[str], bool]] = {
    "two-planned-two-driven": (_gpus("nvidia", "nvidia"), ["00000000:01:00.0", "00000000:02:00.0"], False),
    "two-planned-one-driven": (_gpus("nvidia", "nvidia"), ["00000000:01:00.0"], True),
    "planned-none-driven": (_gpus("nvidia"), [], True),
    "only-amd-planned": (_gpus("amd"), [], False),
    "no-plan": ({}, [], False),
}


def test_the_plan_check_fails_when_the_driver_drives_fewer_gpus_than_the_plan_counted(tmp_path: Path) -> None:
    """Issue 23: the three accelerator roles take the host's plan slice alike; nvidia's is its check."""
    tasks = yaml.safe_load((ROLE / "tasks" / "verify.yml").read_text())
    check = next(task for task in tasks if task["name"] == PLAN_CHECK)
    play = [{"name": "The plan check", "hosts": "all", "gather_facts": False, "tasks": [check]}]
    hosts = {
        name: {"nvidia_plan": plan, "__nvidia_smi": {"stdout_lines": lines}}
        for name, (plan, lines, _fails) in PLAN_CASES.items()
    }
    report = local_playbook.run(tmp_path, play, hosts)
    failed = local_playbook.failure_messages(report, hosts)
    assert {name: bool(message) for name, message in failed.items()} == {
        name: fails for name, (_plan, _lines, fails) in PLAN_CASES.items()
    }
    assert "counted on 2 NVIDIA GPU(s) but nvidia-smi drives 1" in failed["two-planned-one-driven"]

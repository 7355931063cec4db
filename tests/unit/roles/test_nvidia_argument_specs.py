# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The nvidia role's interface beyond the checks every role gets (test_role_interfaces.py)."""

from __future__ import annotations

from pathlib import Path

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

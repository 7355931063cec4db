# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The rocm role's interface beyond the checks every role gets (test_role_interfaces.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "rocm"


def test_verify_entry_point_and_safe_defaults() -> None:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    specs = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    verify = specs["verify"]["options"]
    assert set(verify) == {"rocm_hardware"}
    assert verify["rocm_hardware"]["default"] == defaults["rocm_hardware"]
    assert defaults["rocm_repo_url"] == ""


def test_engine_user_is_not_a_copy_of_the_engine_roles_account() -> None:
    """Issue 23: empty names the engine role's engine_user (tests/unit/roles/test_engine_account.py)."""
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert defaults["rocm_engine_user"] == ""


def test_every_task_file_named_in_main_exists() -> None:
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    named = [
        task.get("ansible.builtin.import_tasks") or task.get("ansible.builtin.include_tasks") for task in main
    ]
    assert named == ["decide.yml", "configure.yml", "install.yml", "groups.yml", "kernel.yml", "verify.yml"]
    assert all((ROLE / "tasks" / name).is_file() for name in named)


def test_every_distribution_the_role_lists_has_its_vars_file() -> None:
    platforms = yaml.safe_load((ROLE / "meta" / "main.yml").read_text())["galaxy_info"]["platforms"]
    for platform in platforms:
        names = yaml.safe_load((ROLE / "vars" / f"{platform['name']}.yml").read_text())
        assert set(names) == {"__rocm_firmware_package", "__rocm_debian_components"}

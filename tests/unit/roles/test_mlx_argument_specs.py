# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The mlx role's interface beyond the checks every role gets (test_role_interfaces.py): it matches
the engine role."""

from __future__ import annotations

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "mlx"


def defaults() -> dict[str, object]:
    values: dict[str, object] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    return values


def test_no_package_index_by_default() -> None:
    """Hosts have no internet: the index is the user's internal mirror, never a public default."""
    assert defaults()["mlx_pip_index_url"] == ""


def test_environment_and_account_are_the_ones_the_engine_role_reads() -> None:
    engine = yaml.safe_load((REPO / "roles" / "engine" / "defaults" / "main.yml").read_text())
    assert defaults()["mlx_venv"] == engine["engine_mlx_venv"]
    # Empty names the engine role's engine_user itself (tests/unit/roles/test_engine_account.py).
    assert defaults()["mlx_engine_user"] == ""


def test_mlx_lm_pin_is_the_version_the_planner_plans_for() -> None:
    engines = yaml.safe_load((REPO / "catalogs" / "engines.yml").read_text())["engines"]
    assert defaults()["mlx_lm_version"] == engines["mlx-lm"]["version"] == "0.32.2"


def test_every_task_file_named_in_main_exists() -> None:
    main = yaml.safe_load((ROLE / "tasks" / "main.yml").read_text())
    named = [
        task.get("ansible.builtin.import_tasks") for task in main if "ansible.builtin.import_tasks" in task
    ]
    assert named == ["decide.yml", "venv.yml", "wired_limit.yml"]
    assert all((ROLE / "tasks" / name).is_file() for name in named)

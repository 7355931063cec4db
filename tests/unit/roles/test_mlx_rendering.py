# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The mlx role's wired-limit decision and LaunchDaemon, rendered with its defaults and parsed as plists."""

from __future__ import annotations

import plistlib
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "mlx"
WIRED_LIMIT_PLIST = (
    ROLE / "templates" / "Library" / "LaunchDaemons" / "org.sovereign.iogpu-wired-limit.plist.j2"
)
ENGINE_PLIST = (
    REPO / "roles" / "engine" / "templates" / "Library" / "LaunchDaemons" / "sovereign-engine.plist.j2"
)
GIB = 1024**3
# tests/fixtures/hardware/mac-studio-m3-ultra: 512 GiB of unified memory.
MAC_STUDIO_BYTES = 549755813888


def templar(**extra: Any) -> Templar:
    variables: dict[str, Any] = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(ansible_managed="Ansible managed", **extra)
    return Templar(loader=DataLoader(), variables=variables)


def decided(**extra: Any) -> dict[str, Any]:
    """The facts the role's "Decide the wired limit" task sets, templated as Ansible would."""
    tasks = yaml.safe_load((ROLE / "tasks" / "decide.yml").read_text())
    task = next(item for item in tasks if item["name"] == "Decide the wired limit")
    values: dict[str, Any] = {
        key: templar(**extra).template(trust_as_template(value)) if isinstance(value, str) else value
        for key, value in task["ansible.builtin.set_fact"].items()
    }
    return values


def render_wired_limit(**extra: Any) -> dict[str, Any]:
    facts = decided(**extra)
    text = templar(**extra, **facts).template(trust_as_template(WIRED_LIMIT_PLIST.read_text()))
    job: dict[str, Any] = plistlib.loads(str(text).encode())
    return job


def test_wired_limit_is_the_plan_budget_in_mib() -> None:
    plan = {"hardware": {"system_memory_bytes": MAC_STUDIO_BYTES, "reserve_bytes": 16 * GIB}}
    # (512 - 16) GiB = 496 * 1024 MiB = 507904 MiB.
    assert int(decided(mlx_plan=plan)["__mlx_wired_limit_mb"]) == 507904


def test_explicit_wired_limit_wins_over_the_plan() -> None:
    plan = {"hardware": {"system_memory_bytes": MAC_STUDIO_BYTES, "reserve_bytes": 16 * GIB}}
    assert int(decided(mlx_plan=plan, mlx_wired_limit_mb=400000)["__mlx_wired_limit_mb"]) == 400000


def test_launch_daemon_sets_the_limit_at_boot() -> None:
    plan = {"hardware": {"system_memory_bytes": 128 * GIB, "reserve_bytes": 8 * GIB}}
    job = render_wired_limit(mlx_plan=plan)
    assert job["Label"] == "org.sovereign.iogpu-wired-limit"
    assert job["ProgramArguments"] == ["/usr/sbin/sysctl", "-w", "iogpu.wired_limit_mb=122880"]
    assert job["RunAtLoad"] is True
    assert "KeepAlive" not in job
    assert job["StandardErrorPath"] == "/var/log/org.sovereign.iogpu-wired-limit.log"


def test_launch_daemon_needs_a_decided_limit() -> None:
    with pytest.raises(AnsibleError):
        templar().template(trust_as_template(WIRED_LIMIT_PLIST.read_text()))


def test_engine_job_runs_mlx_lm_server_from_this_roles_environment() -> None:
    venv_bin = f"{yaml.safe_load((ROLE / 'defaults' / 'main.yml').read_text())['mlx_venv']}/bin"
    deployment = {"argv": ["mlx_lm.server", "--model", "/srv/m/mlx-q4", "--port", "8080"], "env": {}}
    text = Templar(
        loader=DataLoader(),
        variables={
            "ansible_managed": "Ansible managed",
            "engine_user": "sovereign-engine",
            "__engine_launchd_label": "org.sovereign-stack.engine.chat",
            "__engine_deployment": deployment,
            "__engine_exec_path": venv_bin,
        },
    ).template(trust_as_template(ENGINE_PLIST.read_text()))
    job = plistlib.loads(str(text).encode())
    assert job["ProgramArguments"] == deployment["argv"]
    assert job["EnvironmentVariables"]["PATH"] == "/opt/sovereign/mlx/venv/bin:/usr/bin:/bin"
    assert job["UserName"] == "sovereign-engine"
    assert job["RunAtLoad"] is True

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""playbooks/site.yml stops in the plan, before any layer changes a host, when a deployment does
not fit."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import REPO_ROOT, run_playbook

if TYPE_CHECKING:  # imported at run time, pytest would try to collect the class as tests
    from conftest import TestContainer

SITE = REPO_ROOT / "playbooks" / "site.yml"
PLAN_TASK = "Compute and write the fleet plan"
# Files the baseline layer (the first layer that changes a host) would write.
BASELINE_FILES = ["/etc/ssh/sshd_config", "/etc/sysctl.d/60-sovereign-baseline.conf"]


def _state(host: TestContainer) -> str:
    """Checksums (or absence) of the files the first changing layer writes, and the package list."""
    listing = host.exec("sh", "-c", "sha256sum " + " ".join(BASELINE_FILES) + " 2>&1; dpkg -l | sha256sum")
    return listing.stdout


@pytest.mark.integration
def test_site_stops_in_the_plan_before_any_host_is_changed(
    debian_host: TestContainer, tmp_path: Path
) -> None:
    before = _state(debian_host)
    inventory = {
        "all": {
            "hosts": {debian_host.name: debian_host.inventory_host()},
            "vars": {
                # A 400B MoE model at a context no container's memory holds, with nothing allowed to shrink.
                "sovereign_deployments": [
                    {
                        "name": "too-big",
                        "model": "meta-llama/Llama-4-Maverick-17B-128E-Instruct",
                        "context": 131072,
                    }
                ],
                "baseline_updates_mirror_host": "deb.debian.org",
                "baseline_timesync_servers": ["ntp.sovereign.test"],
                "baseline_ssh_admin_networks": ["172.16.0.0/12"],
            },
        }
    }
    run = run_playbook(
        SITE, inventory, tmp_path, extravars={"sovereign_plan_output_dir": str(tmp_path / "plan")}
    )
    assert run.status == "failed", run.stdout
    assert [task for _unused, task in run.task_results("failed")] == [PLAN_TASK]
    (message,) = run.failure_messages()
    assert "too-big" in message
    assert run.task_results("changed") == []
    ran = {task for _unused, task in run.task_results("ok") + run.task_results("skipped")}
    assert not any(task.startswith("Apply the baseline role") for task in ran)
    assert _state(debian_host) == before

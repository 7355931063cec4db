# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The rocm role's final check: the GPU agents counted in rocminfo's listing and the failure message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

REPO = Path(__file__).resolve().parents[3]
TASKS = REPO / "roles" / "rocm" / "tasks" / "verify.yml"
# The shape of rocminfo's agent listing (written for this test, not a recording): a CPU agent, one
# GPU agent, its marketing name and its ISA, whose names must not count as agents.
LISTING = """\
*******
Agent 1
*******
  Name:                    AMD Ryzen 7 5800X3D 8-Core Processor
  Marketing Name:          AMD Ryzen 7 5800X3D 8-Core Processor
*******
Agent 2
*******
  Name:                    gfx1100
  Marketing Name:          Radeon RX 7900 XTX
  ISA Info:
    ISA 1
      Name:                    amdgcn-amd-amdhsa--gfx1100
"""
# What Debian 13's rocminfo printed in the molecule container without /dev/kfd (colours included).
NO_KFD = "\x1b[31mROCk module is NOT loaded, possibly no GPU devices\x1b[0m"


def check(rocminfo: dict[str, Any], machine: str = "rx7900xtx") -> dict[str, Any]:
    """The comparison task's variables and messages, templated as Ansible would."""
    task = next(
        item for item in yaml.safe_load(TASKS.read_text()) if item["name"] == "Compare rocminfo with the fact"
    )
    fixture = REPO / "tests" / "fixtures" / "hardware" / machine / "expected.yml"
    variables: dict[str, Any] = {
        "inventory_hostname": "gpu1",
        "rocm_hardware": yaml.safe_load(fixture.read_text())["sovereign_hardware"],
        "__rocm_rocminfo": rocminfo,
    }
    found: dict[str, Any] = {}
    for name, expression in task["vars"].items():
        found[name] = Templar(loader=DataLoader(), variables=variables).template(
            trust_as_template(expression)
        )
        variables[name] = found[name]
    templar = Templar(loader=DataLoader(), variables=variables)
    found["fail_msg"] = " ".join(
        str(templar.template(trust_as_template(task["ansible.builtin.assert"]["fail_msg"]))).split()
    )
    found["ok"] = all(
        templar.evaluate_expression(trust_as_template(test))
        for test in task["ansible.builtin.assert"]["that"]
    )
    return found


def test_one_gpu_agent_matches_the_fact() -> None:
    found = check({"rc": 0, "stdout": LISTING, "stderr": ""})
    assert found["__rocm_seen"] == ["gfx1100"]
    assert found["ok"] is True


def test_no_kfd_fails_naming_the_fact_and_rocminfos_words() -> None:
    found = check({"rc": 1, "stdout": "", "stderr": NO_KFD})
    assert found["ok"] is False
    assert found["fail_msg"] == (
        "gpu1: no AMD GPU is visible to ROCm: sovereign_hardware lists 1 (gfx1100); rocminfo exited 1: "
        "ROCk module is NOT loaded, possibly no GPU devices. Check that the amdgpu module is loaded "
        "(lsmod), /dev/kfd exists, the firmware is installed and the host was rebooted after a kernel "
        "parameter change."
    )


def test_missing_rocminfo_fails_saying_so() -> None:
    found = check({"rc": 2, "msg": "[Errno 2] No such file or directory: b'rocminfo'"})
    assert found["ok"] is False
    assert "rocminfo exited 2: [Errno 2] No such file or directory" in found["fail_msg"]


def test_more_agents_than_the_fact_fails_with_both_counts() -> None:
    second = LISTING.split("*******\nAgent 2\n")[1]
    found = check({"rc": 0, "stdout": LISTING + "*******\nAgent 3\n" + second, "stderr": ""})
    assert found["__rocm_seen"] == ["gfx1100", "gfx1100"]
    assert found["ok"] is False
    assert found["fail_msg"].startswith(
        "gpu1: ROCm sees 2 GPU agents (gfx1100, gfx1100): sovereign_hardware lists 1 (gfx1100). "
        "Check the kernel log (dmesg)"
    )

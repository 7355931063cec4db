# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine role's interface beyond the checks every role gets (test_role_interfaces.py)."""

from __future__ import annotations

from pathlib import Path

import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

ROLE = Path(__file__).resolve().parents[3] / "roles" / "engine"


def test_plan_deployment_options_cover_every_key_plan_json_writes() -> None:
    """The keys of a deployment the planner writes: the role's validation rejects a plan with any other."""
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"
    ]["engine_plan"]["options"]
    hosts = {"rig": {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-4090"}], "memory_gib": 64}}}
    document, _fleet = compute_plan(hosts, [{"name": "chat", "model": "Qwen/Qwen3-8B"}])
    assert set(options) == set(document["hosts"]["rig"]["deployments"][0])
    assert options["bind"]["choices"] == ["127.0.0.1"]
    assert {name for name, spec in options.items() if spec.get("required")} == {
        "name", "engine", "engine_version", "port", "model_path", "argv",
    }  # fmt: skip

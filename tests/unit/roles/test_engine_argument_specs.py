# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine role's interface beyond the checks every role gets (test_role_interfaces.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

ROLE = Path(__file__).resolve().parents[3] / "roles" / "engine"


def test_plan_deployment_options_cover_every_key_plan_json_writes() -> None:
    """plan_report._deployment's keys; the role's validation would reject a plan with any other."""
    options = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"][
        "options"
    ]["engine_plan"]["options"]
    assert set(options) == {
        "name", "replica", "model", "engine", "engine_version", "quant", "format", "context",
        "requested_context", "concurrency", "kv_cache_dtype", "tensor_parallel", "gpus", "gpu_layers",
        "port", "bind", "model_path", "argv", "env", "predicted_decode_tps", "memory", "notes",
    }  # fmt: skip
    assert options["bind"]["choices"] == ["127.0.0.1"]
    assert {name for name, spec in options.items() if spec.get("required")} == {
        "name", "engine", "engine_version", "port", "model_path", "argv",
    }  # fmt: skip

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/action/model_weights.py: the deployments it reads when none are given."""

from __future__ import annotations

import pytest
from ansible_collections.sovereign.stack.plugins.action.model_weights import _planned_deployments
from ansible_collections.sovereign.stack.plugins.plugin_utils.cache.weights_sources import WeightsError

CHAT = {"name": "chat", "model": "m/m", "quant": "Q4_K_M", "format": "gguf", "model_path": "/m/chat.gguf"}
DENSE = {"name": "dense", "model": "m/m", "quant": "BF16", "format": "safetensors", "model_path": "/m/dense"}


def plan(host: str, *deployments: dict[str, str]) -> dict[str, object]:
    """A registered sovereign_plan with one host's slice."""
    return {"plan": {"hosts": {host: {"deployments": list(deployments)}}}}


def test_every_play_host_slice_is_read_less_its_engine_models_paths() -> None:
    task_vars = {
        "ansible_play_hosts": ["a", "b", "c"],
        "hostvars": {
            "a": {"sovereign_plan": plan("a", CHAT)},
            "b": {"sovereign_plan": plan("b", DENSE, CHAT), "engine_models": {"/m/chat.gguf": {}}},
            "c": {},
        },
    }
    assert _planned_deployments(task_vars) == [CHAT, DENSE]


def test_without_a_plan_the_error_says_to_run_the_plan_first() -> None:
    with pytest.raises(WeightsError, match=r"run playbooks/plan\.yml first"):
        _planned_deployments({"ansible_play_hosts": ["a"], "hostvars": {"a": {}}})

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/engine_choice.py: the rule table."""

from __future__ import annotations

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_choice import (
    UNLIMITED,
    Attempt,
    attempts,
)


@pytest.mark.parametrize(
    ("platform", "vendor", "concurrency", "expected"),
    [
        ("apple", "apple", 4, [Attempt("mlx-lm"), Attempt("llama.cpp")]),
        ("cpu", "cpu", 1, [Attempt("llama.cpp")]),
        ("amd_apu", "amd", 8, [Attempt("llama.cpp")]),
        ("nvidia_gb10", "nvidia", 4, [Attempt("vllm"), Attempt("llama.cpp")]),
        ("nvidia_gb10", "nvidia", 1, [Attempt("llama.cpp"), Attempt("vllm")]),
        ("discrete", "nvidia", 8, [Attempt("vllm"), Attempt("llama.cpp", allow_offload=True)]),
        (
            "discrete",
            "amd",
            1,
            [Attempt("llama.cpp", max_gpus=1), Attempt("vllm"), Attempt("llama.cpp", allow_offload=True)],
        ),
        ("discrete", "intel", 1, [Attempt("llama.cpp", allow_offload=True)]),
    ],
)
def test_rule_table(platform: str, vendor: str, concurrency: int, expected: list[Attempt]) -> None:
    assert attempts(platform, vendor, concurrency, None, True) == expected


def test_pin_wins_and_offload_only_for_gguf_engines() -> None:
    assert attempts("discrete", "nvidia", 8, "sglang", True) == [Attempt("sglang", UNLIMITED, False)]
    assert attempts("discrete", "nvidia", 1, "ollama", True) == [Attempt("ollama", UNLIMITED, True)]
    assert attempts("discrete", "nvidia", 1, "llama.cpp", False) == [Attempt("llama.cpp", UNLIMITED, False)]

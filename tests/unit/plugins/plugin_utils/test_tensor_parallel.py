# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/tensor_parallel.py: allowed sizes and the reasons for rejections."""

from __future__ import annotations

import dataclasses

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.tensor_parallel import (
    options,
    rejection,
)


def test_llama_8b_allows_powers_of_two_up_to_the_gpu_count() -> None:
    model = load_catalog().models["meta-llama/Llama-3.1-8B-Instruct"]
    assert options(model, 8).sizes == (1, 2, 4, 8)
    assert options(model, 3).sizes == (1, 2)
    assert options(model, 8).rejections == ()


def test_more_ranks_than_kv_heads_replicates_heads() -> None:
    model = load_catalog().models["Qwen/Qwen3-30B-A3B"]  # 32 heads, 4 KV heads
    assert options(model, 8).sizes == (1, 2, 4, 8)


def test_heads_not_divisible_are_rejected_with_a_reason() -> None:
    base = load_catalog().models["meta-llama/Llama-3.1-8B-Instruct"]
    odd = dataclasses.replace(base, id="test/odd", attention_heads=6, kv_heads=6)
    result = options(odd, 8)
    assert result.sizes == (1, 2)
    assert result.rejections == (
        "tensor parallel 4 does not divide the 6 attention heads of test/odd",
        "tensor parallel 8 does not divide the 6 attention heads of test/odd",
    )


def test_kv_heads_neither_dividing_nor_divided() -> None:
    base = load_catalog().models["meta-llama/Llama-3.1-8B-Instruct"]
    model = dataclasses.replace(base, id="test/kv6", attention_heads=48, kv_heads=6)
    assert rejection(model, 4) == (
        "tensor parallel 4 and the 6 KV heads of test/kv6: neither divides the other, "
        "so heads can be neither split nor replicated evenly"
    )
    assert rejection(model, 2) is None


def test_mla_ignores_kv_heads() -> None:
    model = load_catalog().models["deepseek-ai/DeepSeek-V3"]
    assert options(model, 8).sizes == (1, 2, 4, 8)

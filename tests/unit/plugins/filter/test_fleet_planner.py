# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/filter/fleet_planner.py: model_memory, best_quant, engine_argv, decode_tps."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.sovereign.stack.plugins.filter.fleet_planner import (
    FilterModule,
    best_quant,
    decode_tps,
    engine_argv,
    model_memory,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog


def test_filters_are_registered() -> None:
    assert sorted(FilterModule().filters()) == ["best_quant", "decode_tps", "engine_argv", "model_memory"]


def test_model_memory_llama_8b_q4_k_m_32k_for_4_users() -> None:
    tuning = load_catalog().engines["llama.cpp"].tuning["overhead"]
    result = model_memory("meta-llama/Llama-3.1-8B-Instruct", "Q4_K_M", context=32768, concurrency=4)
    # 131072 B of KV per token (2 x 8 heads x 128 x 32 layers x 2 B) x 131072 tokens = 16 GiB.
    assert result["kv_cache_bytes"] == 16 * 1024**3
    # Tensor by tensor (llama-quantize's Q4_K_M recipe): bartowski's file is 4920739232 bytes, the
    # 7.8 MB difference being its metadata (tokenizer) and the 256-byte rope_freqs tensor.
    assert result["weights_bytes"] == 4_912_898_048
    assert result["overhead_bytes"] == (
        tuning["base_bytes"]
        + 512 * (4 * 128256 + 16 * 4096)
        + 512 * 131072 * tuning["kq_mask_bytes_per_token"]
    )
    assert result["total_bytes"] == sum(
        result[k] for k in ("weights_bytes", "kv_cache_bytes", "overhead_bytes")
    )


def test_model_memory_tensor_parallel_sums_over_gpus() -> None:
    one = model_memory("Qwen/Qwen3-8B", "BF16", engine="vllm")
    two = model_memory("Qwen/Qwen3-8B", "BF16", engine="vllm", tensor_parallel=2)
    assert two["kv_cache_bytes"] == one["kv_cache_bytes"]
    assert two["overhead_bytes"] == 2 * one["overhead_bytes"]


def test_best_quant_is_the_best_that_fits() -> None:
    # llama.cpp may fill 98 % of a 3090 (23.5 GiB; its CUDA context is in the 0.7 GiB overhead).
    # 16k: Q5_K_S needs 21.1 + 4.0 (KV) + 0.7 GiB > 23.5; Q4_K_M 18.4 + 4.0 + 0.7 = 23.1 GiB fits.
    assert best_quant("Qwen/Qwen3-32B", "rtx-3090", context=16384) == "Q4_K_M"
    # 4k: Q6_K needs 25.0 GiB of weights alone; Q5_K_M by its tensor sum 21.6 + 1.0 + 0.7 = 23.3 GiB fits.
    assert best_quant("Qwen/Qwen3-32B", "rtx-3090", context=4096) == "Q5_K_M"


def test_best_quant_none_when_nothing_fits() -> None:
    assert best_quant("deepseek-ai/DeepSeek-V3", "rtx-3090") is None


def test_engine_argv_vllm_on_two_3090() -> None:
    result = engine_argv("Qwen/Qwen3-14B", "rtx-3090", count=2, engine="vllm", concurrency=8, name="chat")
    assert result == {
        "argv": [
            "vllm", "serve", "/var/lib/sovereign/models/Qwen--Qwen3-14B/BF16", "--served-model-name", "chat",
            "--host", "127.0.0.1", "--port", "8000", "--tensor-parallel-size", "2", "--max-model-len", "8192",
            "--max-num-seqs", "8", "--gpu-memory-utilization", "0.90", "--kv-cache-dtype", "auto",
        ],
        "env": {"CUDA_VISIBLE_DEVICES": "0,1"},
        "engine": "vllm",
        "quant": "BF16",
        "port": 8000,
        "tensor_parallel": 2,
    }  # fmt: skip


def test_decode_tps_by_hand() -> None:
    catalog = load_catalog()
    engine = catalog.engines["llama.cpp"]
    bits = catalog.quantizations["Q4_K_M"].bits_per_weight
    per_token = (8_030_000_000 - 128256 * 4096) * bits / 8 + 4096 * 131072
    seconds = (
        per_token / (1008e9 * engine.tuning["decode_efficiency"]["nvidia"])
        + 32 * engine.tuning["layer_overhead_s"]["nvidia"]  # 32 layers at the CUDA per-layer cost
    )
    assert decode_tps("meta-llama/Llama-3.1-8B-Instruct", "rtx-4090", quant="Q4_K_M") == pytest.approx(
        1 / seconds, abs=0.06
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: model_memory("Qwen/Qwen3-8B", "Q9_Z"), "model_memory: quant: unknown quantization 'Q9_Z'"),
        (
            lambda: model_memory("Qwen/Qwen3-8B", "Q4_K_M", engine="vllm"),
            "engine 'vllm' does not load Q4_K_M",
        ),
        (lambda: best_quant("Qwen/Qwen3-8B", "rtx-0000"), "best_quant: device: unknown device 'rtx-0000'"),
        (
            lambda: decode_tps("Qwen/Qwen3-8B", "rtx-3090", quant="mlx-4bit"),
            "decode_tps: sovereign_deployments",
        ),
        (
            lambda: engine_argv("No/Such-Model", "rtx-3090"),
            "engine_argv: sovereign_deployments[0] (name 'model')",
        ),
    ],
)
def test_errors_name_the_filter_and_the_value(call: object, message: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        call()  # type: ignore[operator]
    assert message in str(caught.value)

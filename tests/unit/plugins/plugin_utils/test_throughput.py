# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/throughput.py: the roofline by hand, and calibration on published rates."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import (
    AttentionSpec,
    Catalog,
    ModelSpec,
    QuantSpec,
    load_catalog,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.throughput import (
    DecodeSetup,
    bytes_per_token,
    decode_tps,
    naive_tps,
)

MEASUREMENTS = Path(__file__).resolve().parents[3] / "fixtures" / "planner" / "decode_measurements.yml"
FULL = AttentionSpec("full", None, 0, 0, None, None)
# Measured models that are not in catalogs/models.yml, from their config.json files.
EXTRA_MODELS = {
    # https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json
    "meta-llama/Llama-2-7b-hf": ModelSpec(
        "meta-llama/Llama-2-7b-hf", 6_740_000_000, 6_740_000_000, 32, 4096, 32, 32, 128, 32000, 4096,
        False, FULL, None, "config.json",
    ),
    # https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Qwen-14B/blob/main/config.json
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B": ModelSpec(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", 14_770_000_000, 14_770_000_000, 48, 5120, 40, 8, 128,
        152064, 131072, False, FULL, None, "config.json",
    ),
}  # fmt: skip
# Same architecture as a catalog entry (base vs instruct, or another publisher's quantization).
SAME_AS = {
    "meta-llama/Llama-3.1-8B": "meta-llama/Llama-3.1-8B-Instruct",
    "nvidia/Llama-3.3-70B-Instruct-NVFP4": "meta-llama/Llama-3.3-70B-Instruct",
}
# ggml block_q4_0: 32 weights in 18 bytes (ggml/src/ggml-common.h); not in the catalog.
Q4_0 = QuantSpec("Q4_0", "gguf", ("llama.cpp",), 4.5, 0.9, None, ("nvidia", "amd", "apple", "cpu"), "ggml")


def _resolve(catalog: Catalog, row: dict[str, Any]) -> tuple[ModelSpec, QuantSpec]:
    name = SAME_AS.get(row["model"], row["model"])
    spec = catalog.models.get(name) or EXTRA_MODELS[name]
    quant_id = "MXFP4_MOE" if row["quant"] == "MXFP4" and row["engine"] == "llama.cpp" else row["quant"]
    return spec, Q4_0 if quant_id == "Q4_0" else catalog.quantizations[quant_id]


def _rows() -> list[dict[str, Any]]:
    """The rows the engines.yml efficiencies were fitted on (``first_fixture``), bandwidth-bound: the
    README's caveat excludes the overhead-bound TinyLlama rows."""
    rows = yaml.safe_load(MEASUREMENTS.read_text(encoding="utf-8"))["measurements"]
    return [row for row in rows if row.get("first_fixture") and "TinyLlama" not in row["model"]]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def test_decode_tps_matches_published_measurements() -> None:
    catalog = load_catalog()
    errors: list[float] = []
    naive_errors: list[float] = []
    for row in _rows():
        spec, quant = _resolve(catalog, row)
        device = catalog.devices[row["device"]]
        engine = catalog.engines[row["engine"]]
        setup = DecodeSetup(device.bandwidth_bytes_s, device.vendor, tensor_parallel=row["gpus"])
        predicted = decode_tps(spec, quant, engine, setup, filled=row["context"] or 128, kv_dtype="fp16")
        naive = naive_tps(spec, quant, engine, device.bandwidth_bytes_s)
        errors.append(abs(predicted - row["decode_tps"]) / row["decode_tps"] * 100)
        naive_errors.append(abs(naive - row["decode_tps"]) / row["decode_tps"] * 100)
    median, p90 = statistics.median(errors), _percentile(errors, 0.9)
    naive_median, naive_p90 = statistics.median(naive_errors), _percentile(naive_errors, 0.9)
    print(
        f"decode tok/s over {len(errors)} measurements: roofline median {median:.1f}% p90 {p90:.1f}%; "
        f"bandwidth/size rule median {naive_median:.1f}% p90 {naive_p90:.1f}%"
    )
    assert len(errors) >= 20
    assert median < 15.0
    assert median < naive_median


def test_roofline_by_hand() -> None:
    catalog = load_catalog()
    spec = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    quant = catalog.quantizations["Q4_K_M"]
    engine = catalog.engines["llama.cpp"]
    per_token = bytes_per_token(spec, quant, engine, 4096, "fp16")
    # Every weight but the input embedding (one row per token), at the file's bits, plus 4096 tokens
    # x 131072 B of KV cache.
    read = (8_030_000_000 - 128256 * 4096) * quant.bits_per_weight / 8
    assert per_token == pytest.approx(read + 4096 * 131072, abs=1)
    efficiency = engine.tuning["decode_efficiency"]["nvidia"]
    seconds = per_token / (1.0e12 * efficiency) + engine.tuning["decode_overhead_s"]
    setup = DecodeSetup(1.0e12, "nvidia")
    assert decode_tps(spec, quant, engine, setup, filled=4096, kv_dtype="fp16") == pytest.approx(1 / seconds)


def test_moe_reads_active_weights_only() -> None:
    catalog = load_catalog()
    moe = catalog.models["Qwen/Qwen3-30B-A3B"]
    dense = catalog.models["Qwen/Qwen3-32B"]
    quant = catalog.quantizations["Q4_K_M"]
    engine = catalog.engines["llama.cpp"]
    assert (
        bytes_per_token(moe, quant, engine, 0, "fp16") < bytes_per_token(dense, quant, engine, 0, "fp16") / 5
    )


def test_tensor_parallel_adds_bandwidth_with_efficiency() -> None:
    catalog = load_catalog()
    spec = catalog.models["Qwen/Qwen3-32B"]
    quant = catalog.quantizations["BF16"]
    engine = catalog.engines["vllm"]
    one = decode_tps(spec, quant, engine, DecodeSetup(1e12, "nvidia"), filled=1024, kv_dtype="bf16")
    two = decode_tps(spec, quant, engine, DecodeSetup(1e12, "nvidia", 2), filled=1024, kv_dtype="bf16")
    assert two == pytest.approx(one * 2 * engine.tuning["tp_efficiency"])


def test_cpu_offload_is_slower_than_gpu() -> None:
    catalog = load_catalog()
    spec = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    quant = catalog.quantizations["Q8_0"]
    engine = catalog.engines["llama.cpp"]
    full = decode_tps(spec, quant, engine, DecodeSetup(936e9, "nvidia"), filled=128, kv_dtype="fp16")
    half = decode_tps(
        spec, quant, engine, DecodeSetup(936e9, "nvidia", 1, 0.5, 76.8e9), filled=128, kv_dtype="fp16"
    )
    assert half < full / 3


def test_missing_efficiency_names_the_engine_and_vendor() -> None:
    catalog = load_catalog()
    spec = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    with pytest.raises(
        KeyError, match=r"engines\.mlx-lm\.tuning\.decode_efficiency has no entry for vendor 'nvidia'"
    ):
        decode_tps(
            spec,
            catalog.quantizations["mlx-4bit"],
            catalog.engines["mlx-lm"],
            DecodeSetup(1e12, "nvidia"),
            filled=1,
            kv_dtype="fp16",
        )

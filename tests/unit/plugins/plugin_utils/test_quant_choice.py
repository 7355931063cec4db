# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/quant_choice.py: which quantizations an engine may use,
best first."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    CatalogError,
    QuantSpec,
    load_catalog,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.quant_choice import (
    candidates,
    capability_tuple,
    ranked,
    unsupported_reason,
)

CATALOGS = Path(__file__).resolve().parents[4] / "catalogs"
RAW_MXFP4 = yaml.safe_load((CATALOGS / "quantizations.yml").read_text())["quantizations"]["MXFP4"]


def quant(quant_id: str, quality: float, bits: float) -> QuantSpec:
    return QuantSpec(quant_id, "gguf", ("llama.cpp",), bits, quality, None, ("nvidia",), "test")


def test_ranked_orders_by_quality_then_bits_then_id() -> None:
    order = ranked([quant("B", 0.9, 4.0), quant("A", 0.9, 4.0), quant("C", 0.9, 5.0), quant("D", 1.0, 3.0)])
    assert [q.id for q in order] == ["D", "C", "A", "B"]


def test_capability_tuple() -> None:
    assert capability_tuple("8.9") == (8, 9)
    assert capability_tuple("12.0") > capability_tuple("8.9")
    assert capability_tuple(None) == ()


def test_fp8_needs_ada_or_newer() -> None:
    catalog = load_catalog()
    fp8 = catalog.quantizations["FP8"]
    vllm = catalog.engines["vllm"]
    assert (
        unsupported_reason(fp8, vllm, "nvidia", "8.6") == "FP8 needs compute capability 8.9, the GPU has 8.6"
    )
    assert unsupported_reason(fp8, vllm, "nvidia", "8.9") is None


def test_engine_and_vendor_mismatches_are_explained() -> None:
    catalog = load_catalog()
    mlx = catalog.quantizations["mlx-4bit"]
    assert "vllm does not load mlx-4bit" in str(
        unsupported_reason(mlx, catalog.engines["vllm"], "nvidia", "9.0")
    )
    reason = unsupported_reason(mlx, catalog.engines["mlx-lm"], "nvidia", None)
    assert reason == "mlx-4bit does not run on nvidia devices (mlx-4bit runs on apple)"


def test_moe_only_quantization_is_skipped_for_dense_models() -> None:
    catalog = load_catalog()
    engine = catalog.engines["llama.cpp"]
    dense = [
        q.id for q in candidates(catalog, engine, "nvidia", "8.6", model=catalog.models["Qwen/Qwen3-32B"])
    ]
    moe = [
        q.id for q in candidates(catalog, engine, "nvidia", "8.6", model=catalog.models["Qwen/Qwen3-30B-A3B"])
    ]
    assert "MXFP4_MOE" not in dense
    assert "MXFP4_MOE" in moe


def test_candidates_for_vllm_on_ampere_start_with_bf16_and_exclude_fp8() -> None:
    catalog = load_catalog()
    found = [
        q.id
        for q in candidates(
            catalog, catalog.engines["vllm"], "nvidia", "8.6", model=catalog.models["Qwen/Qwen3-32B"]
        )
    ]
    assert found[0] == "BF16"
    assert "FP8" not in found
    assert "NVFP4" not in found
    assert all(catalog.quantizations[q].format == "safetensors" for q in found)


def test_pinned_candidate_only() -> None:
    catalog = load_catalog()
    engine = catalog.engines["llama.cpp"]
    assert [q.id for q in candidates(catalog, engine, "cpu", None, pinned="Q4_K_M")] == ["Q4_K_M"]
    assert candidates(catalog, engine, "cpu", None, pinned="AWQ") == []


def test_mxfp4_checkpoints_exist_for_gpt_oss_only() -> None:
    catalog = load_catalog()
    vllm = catalog.engines["vllm"]
    mxfp4 = catalog.quantizations["MXFP4"]
    assert (
        unsupported_reason(mxfp4, vllm, "nvidia", "9.0", model=catalog.models["openai/gpt-oss-120b"]) is None
    )
    reason = unsupported_reason(mxfp4, vllm, "nvidia", "9.0", model=catalog.models["Qwen/Qwen3-32B"])
    assert reason is not None
    assert "openai/gpt-oss-20b, openai/gpt-oss-120b only" in reason
    assert "quantizations.MXFP4.models" in reason
    dense = candidates(catalog, vllm, "nvidia", "9.0", model=catalog.models["Qwen/Qwen3-32B"])
    assert "MXFP4" not in [q.id for q in dense]
    gpt_oss = candidates(catalog, vllm, "nvidia", "9.0", model=catalog.models["openai/gpt-oss-20b"])
    assert "MXFP4" in [q.id for q in gpt_oss]


def test_models_restriction_is_validated_like_other_lists(tmp_path: Path) -> None:
    extension = {"quantizations": {"MXFP4": {**RAW_MXFP4, "models": ["openai/gpt-oss-20b", 7]}}}
    with pytest.raises(CatalogError, match=r"quantizations\.MXFP4\.models\[1\]: expected a non-empty string"):
        load_catalog(extension)


def test_gpt_oss_is_offered_only_in_its_published_formats() -> None:
    catalog = load_catalog()
    model = catalog.models["openai/gpt-oss-20b"]
    llama_cpp = [
        q.id for q in candidates(catalog, catalog.engines["llama.cpp"], "nvidia", "8.6", model=model)
    ]
    assert llama_cpp == ["MXFP4_MOE"]
    q8 = catalog.quantizations["Q8_0"]
    reason = unsupported_reason(q8, catalog.engines["llama.cpp"], "nvidia", "8.6", model=model)
    assert reason == (
        "openai/gpt-oss-20b is published as MXFP4, MXFP4_MOE only (models.openai/gpt-oss-20b.quantizations)"
    )

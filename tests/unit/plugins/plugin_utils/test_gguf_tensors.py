# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/catalog/gguf_tensors.py: tensor lists from catalog shapes."""

from __future__ import annotations

import dataclasses

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import Catalog, load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_tensors import (
    ModelShape,
    model_shape,
)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def shape_of(catalog: Catalog, model_id: str) -> ModelShape:
    shape = model_shape(catalog.models[model_id])
    assert shape is not None, model_id
    return shape


@pytest.mark.parametrize(
    ("model_id", "tensors"),
    [
        # llama.cpp load logs: Qwen3-4B Q4_K_M 145 + 216 + 37 = 398 tensors (tied, no output.weight);
        # a Qwen3-30B-A3B Q4_K_M "loaded meta data with 25 key-value pairs and 579 tensors".
        ("Qwen/Qwen3-4B", 398),
        ("Qwen/Qwen3-30B-A3B", 579),
        # 32 layers x 9 + token_embd, output_norm, output (the GGUF also has a 64-value rope_freqs).
        ("meta-llama/Llama-3.1-8B-Instruct", 291),
    ],
)
def test_tensor_counts(catalog: Catalog, model_id: str, tensors: int) -> None:
    assert len(shape_of(catalog, model_id).tensors()) == tensors


@pytest.mark.parametrize(
    ("model_id", "billions"),
    [
        ("meta-llama/Llama-3.1-8B-Instruct", 8.030),
        ("Qwen/Qwen3-235B-A22B", 235.094),
        ("deepseek-ai/DeepSeek-V3", 671.026),
        ("openai/gpt-oss-20b", 20.915),
        ("openai/gpt-oss-120b", 116.829),
        # text_config only: 23,572,403,200 parameters; the 0.44B vision tower is a separate mmproj file.
        ("mistralai/Mistral-Small-3.2-24B-Instruct-2506", 23.572),
    ],
)
def test_parameters_add_up_to_the_model_cards(catalog: Catalog, model_id: str, billions: float) -> None:
    total = sum(t.elements for t in shape_of(catalog, model_id).tensors())
    assert round(total / 1e9, 3) == billions


def test_every_shape_sums_close_to_the_catalog_count(catalog: Catalog) -> None:
    """Within 1 % once the vision towers that card counts include (GGUFs keep them apart) are taken off.

    Gemma 3: the 0.4B SigLIP tower (models.yml comment); Mistral Small 3.2: 438,958,080 vision parameters.
    """
    with_vision = {
        "google/gemma-3-4b-it": 0.4,
        "google/gemma-3-12b-it": 0.4,
        "google/gemma-3-27b-it": 0.4,
        "mistralai/Mistral-Small-3.2-24B-Instruct-2506": 0.439,
    }
    for model in catalog.models.values():
        shape = model_shape(model)
        if shape is None:
            continue
        total = sum(t.elements for t in shape.tensors())
        expected = model.params_total - with_vision.get(model.id, 0) * 1e9
        assert abs(total - expected) / expected < 0.01, model.id


def test_deepseek_layout(catalog: Catalog) -> None:
    names = {t.name: t for t in shape_of(catalog, "deepseek-ai/DeepSeek-V3").tensors()}
    assert "blk.2.ffn_down.weight" in names and "blk.2.ffn_down_exps.weight" not in names
    assert names["blk.3.ffn_down_exps.weight"].shape == (2048, 7168, 256)
    assert names["blk.3.ffn_down_shexp.weight"].shape == (2048, 7168)
    assert names["blk.0.attn_q_b.weight"].shape == (1536, 128 * 192)
    assert names["blk.0.attn_kv_a_mqa.weight"].shape == (7168, 512 + 64)
    assert names["blk.0.attn_k_b.weight"].shape == (128, 512, 128)
    assert names["blk.0.attn_v_b.weight"].shape == (512, 128, 128)


def test_architecture_extras(catalog: Catalog) -> None:
    gemma = {t.name for t in shape_of(catalog, "google/gemma-3-27b-it").tensors()}
    assert {"blk.0.post_ffw_norm.weight", "blk.0.attn_q_norm.weight"} <= gemma
    assert "output.weight" not in gemma
    qwen2 = {t.name for t in shape_of(catalog, "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B").tensors()}
    assert "blk.0.attn_q.bias" in qwen2
    oss = {t.name: t for t in shape_of(catalog, "openai/gpt-oss-20b").tensors()}
    assert oss["blk.0.ffn_gate_exps.weight"].shape == (2880, 2880, 32)
    assert oss["blk.0.ffn_down_exps.bias"].source_type == "F32"


def test_models_without_shape_fields_have_no_tensor_list(catalog: Catalog) -> None:
    for model_id in (
        "zai-org/GLM-4.5-Air",
        "Qwen/Qwen3-Next-80B-A3B-Instruct",
        "meta-llama/Llama-4-Scout-17B-16E-Instruct",
    ):
        assert model_shape(catalog.models[model_id]) is None
    llama = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    assert model_shape(dataclasses.replace(llama, intermediate_size=None)) is None
    assert model_shape(dataclasses.replace(llama, model_type="falcon")) is None
    moe = catalog.models["Qwen/Qwen3-30B-A3B"]
    assert moe.moe is not None
    no_width = dataclasses.replace(moe, moe=dataclasses.replace(moe.moe, expert_intermediate_size=None))
    assert model_shape(no_width) is None

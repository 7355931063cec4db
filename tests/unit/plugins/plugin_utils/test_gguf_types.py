# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/catalog/gguf_types.py: ggml block sizes and llama-quantize's
per-tensor recipe."""

from __future__ import annotations

from collections import Counter

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_tensors import (
    ModelShape,
    model_shape,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_types import (
    FTYPE_DEFAULT_TYPE,
    GGML_TYPES,
    gguf_tensor_bytes,
    tensor_bytes,
    tensor_types,
    type_counts,
)

GIB = 2**30


def shape_of(model_id: str) -> ModelShape:
    shape = model_shape(load_catalog().models[model_id])
    assert shape is not None, model_id
    return shape


def types_by_name(shape: ModelShape, ftype: str, *, imatrix: bool = True) -> dict[str, str]:
    tensors = shape.tensors()
    return {
        t.name: kind
        for t, kind in zip(tensors, tensor_types(shape, tensors, ftype, imatrix=imatrix), strict=True)
    }


def test_block_sizes_agree_with_the_gguf_package() -> None:
    constants = pytest.importorskip("gguf.constants")
    sizes = {kind.name: value for kind, value in constants.GGML_QUANT_SIZES.items()}
    for name, ggml_type in GGML_TYPES.items():
        assert sizes[name] == (ggml_type.block_elements, ggml_type.block_bytes), name
    assert set(FTYPE_DEFAULT_TYPE.values()) <= set(GGML_TYPES)


@pytest.mark.parametrize(
    ("model_id", "counts", "gib", "bpw"),
    [
        # llama.cpp's load log of unsloth's Qwen3-4B Q4_K_M (general.file_type 15): "type f32: 145
        # tensors, type q4_K: 216 tensors, type q6_K: 37 tensors", "file size = 2.32 GiB (4.95 BPW)".
        ("Qwen/Qwen3-4B", {"F32": 145, "Q4_K": 216, "Q6_K": 37}, 2.32, 4.95),
        # The same for unsloth's Qwen3-30B-A3B Q4_K_M: 241 / 289 / 49 tensors, 17.28 GiB (4.86 BPW).
        ("Qwen/Qwen3-30B-A3B", {"F32": 241, "Q4_K": 289, "Q6_K": 49}, 17.28, 4.86),
    ],
)
def test_q4_k_m_matches_published_load_logs(
    model_id: str, counts: dict[str, int], gib: float, bpw: float
) -> None:
    shape = shape_of(model_id)
    size = gguf_tensor_bytes(shape, "Q4_K_M")
    elements = sum(t.elements for t in shape.tensors())
    assert type_counts(shape, "Q4_K_M") == Counter(counts)
    assert round(size / GIB, 2) == gib
    assert round(size * 8 / elements, 2) == bpw


@pytest.mark.parametrize(
    ("model_id", "matrices_bytes"),
    [
        # tests/fixtures/planner/gguf_tensor_types.yml "checks": the same rules applied by hand to the
        # 2-D tensors only; the F32 vectors (norms) come on top. (Its Llama-3.1-8B figure also counts
        # the vectors and the 64-value rope_freqs tensor, which the tensor list leaves out.)
        ("Qwen/Qwen3-8B", 5_020_594_176),
        ("meta-llama/Llama-3.2-1B-Instruct", 799_592_448),
    ],
)
def test_q4_k_m_matches_the_fixture_hand_computation(model_id: str, matrices_bytes: int) -> None:
    shape = shape_of(model_id)
    vectors = sum(4 * t.elements for t in shape.tensors() if len(t.shape) == 1)
    assert gguf_tensor_bytes(shape, "Q4_K_M") == matrices_bytes + vectors


def test_tied_embedding_takes_the_output_type() -> None:
    tied = types_by_name(shape_of("meta-llama/Llama-3.2-1B-Instruct"), "Q4_K_M")
    untied = types_by_name(shape_of("meta-llama/Llama-3.1-8B-Instruct"), "Q4_K_M")
    assert tied["token_embd.weight"] == "Q6_K" and "output.weight" not in tied
    assert untied["token_embd.weight"] == "Q4_K" and untied["output.weight"] == "Q6_K"
    assert types_by_name(shape_of("meta-llama/Llama-3.1-8B-Instruct"), "Q8_0")["output.weight"] == "Q8_0"


def test_q4_k_m_gives_half_the_layers_more_bits() -> None:
    types = types_by_name(shape_of("meta-llama/Llama-3.1-8B-Instruct"), "Q4_K_M")
    wide = [i for i in range(32) if types[f"blk.{i}.ffn_down.weight"] == "Q6_K"]
    # use_more_bits for 32 layers: 0-3, 6, 9, ..., 27, 28-31.
    assert wide == [0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31]
    assert [i for i in range(32) if types[f"blk.{i}.attn_v.weight"] == "Q6_K"] == wide
    assert types["blk.5.attn_q.weight"] == "Q4_K" and types["blk.5.attn_norm.weight"] == "F32"


def test_llama_70b_keeps_attn_v_at_q5_k() -> None:
    shape = shape_of("meta-llama/Llama-3.3-70B-Instruct")
    assert shape.llama_70b
    q4_k_s = types_by_name(shape, "Q4_K_S")
    assert {q4_k_s[f"blk.{i}.attn_v.weight"] for i in range(80)} == {"Q5_K"}
    q3_k_m = types_by_name(shape, "Q3_K_M")
    assert [q3_k_m[f"blk.{i}.attn_v.weight"] for i in range(3)] == ["Q5_K", "Q5_K", "Q5_K"]
    assert not shape_of("Qwen/Qwen3-32B").llama_70b


def test_mxfp4_moe_keeps_experts_in_mxfp4_and_the_rest_in_q8_0() -> None:
    shape = shape_of("openai/gpt-oss-20b")
    types = types_by_name(shape, "MXFP4_MOE")
    assert types["blk.0.ffn_down_exps.weight"] == "MXFP4"
    assert types["blk.0.attn_q.weight"] == "Q8_0"
    assert types["output.weight"] == "Q8_0" and types["token_embd.weight"] == "Q8_0"
    assert types["blk.0.ffn_gate_inp.weight"] == "F32" and types["blk.0.attn_sinks.weight"] == "F32"
    # ggml-org/gpt-oss-20b-GGUF gpt-oss-20b-MXFP4.gguf: 12109566624 bytes (gguf_sizes.yml).
    assert gguf_tensor_bytes(shape, "MXFP4_MOE") == pytest.approx(12_109_566_624, rel=0.002)


def test_rows_that_do_not_fit_a_block_fall_back() -> None:
    # gpt-oss rows are 2880 wide: not a multiple of 256, a multiple of 32.
    types = types_by_name(shape_of("openai/gpt-oss-20b"), "Q4_K_M")
    assert types["blk.0.attn_q.weight"] == "Q5_0"
    assert types["output.weight"] == "Q8_0"
    assert tensor_bytes("Q5_0", (2880, 4096)) == 4096 * 90 * 22


def test_very_low_bit_files_keep_sensitive_tensors_wider() -> None:
    types = types_by_name(shape_of("meta-llama/Llama-3.1-8B-Instruct"), "IQ2_XXS")
    assert types["token_embd.weight"] == "Q2_K"
    assert types["output.weight"] == "Q5_K"
    assert types["blk.0.attn_v.weight"] == "Q4_K"  # 32 / 8 query heads per KV head >= 4
    assert [types[f"blk.{i}.ffn_down.weight"] for i in (3, 4)] == ["Q2_K", "IQ2_XXS"]
    assert types["blk.9.ffn_up.weight"] == "IQ2_XXS"


def test_importance_matrix_changes_only_what_the_recipe_says() -> None:
    shape = shape_of("meta-llama/Llama-3.1-8B-Instruct")
    with_matrix = types_by_name(shape, "IQ4_XS", imatrix=True)
    without = types_by_name(shape, "IQ4_XS", imatrix=False)
    assert [name for name in with_matrix if with_matrix[name] != without[name]] == [
        f"blk.{i}.ffn_down.weight" for i in range(4)
    ]
    assert types_by_name(shape, "Q4_0", imatrix=True)["blk.0.ffn_down.weight"] == "Q4_1"
    assert types_by_name(shape, "Q4_0", imatrix=False)["blk.0.ffn_down.weight"] == "Q4_0"


def test_float_files_store_matrices_in_the_file_type() -> None:
    counts = type_counts(shape_of("Qwen/Qwen3-8B"), "BF16")
    assert counts == Counter({"BF16": 36 * 7 + 2, "F32": 36 * 4 + 1})


def test_unknown_file_type_is_a_key_error() -> None:
    shape = shape_of("Qwen/Qwen3-8B")
    with pytest.raises(KeyError, match=r"unknown llama\.cpp file type 'Q4_K_XL'"):
        tensor_types(shape, shape.tensors(), "Q4_K_XL")

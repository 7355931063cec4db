# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""catalogs/quantizations.yml against llama.cpp's file types (issue 21: every type with a source).

Each GGUF entry's bits_per_weight comes from llama.cpp's tools/quantize/README.md table (Llama 3.1
8B) or, for the types that table lacks, from quantize.cpp's QUANT_OPTIONS sizes (Llama 3 8B);
gguf_types.py's per-tensor recipe must land on the same figure for that model, which checks both the
catalog numbers and the recipe for every type.
"""

from __future__ import annotations

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_tensors import model_shape
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_types import (
    FTYPE_DEFAULT_TYPE,
    LLAMA_FTYPES,
    gguf_tensor_bytes,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.quant_choice import candidates

# llama.cpp file types the catalog leaves out, and why.
NOT_IN_CATALOG = {
    "F32": "twice F16's bytes for no gain in inference",
    "BF16": "the id would collide with safetensors BF16; F16 reads as many bytes",
    "TQ1_0": "ternary types hold only models trained ternary (BitNet b1.58); the catalog has none",
    "TQ2_0": "ternary types hold only models trained ternary (BitNet b1.58); the catalog has none",
}
QUANTIZE_SOURCES = (
    "https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/README.md",
    "https://github.com/ggml-org/llama.cpp/blob/master/tools/quantize/quantize.cpp",
)


def _gguf() -> dict[str, object]:
    catalog = load_catalog()
    return {q.llama_ftype: q for q in catalog.quantizations.values() if q.format == "gguf"}


def test_every_llama_cpp_file_type_is_in_the_catalog() -> None:
    listed = _gguf()
    missing = [ftype for ftype in LLAMA_FTYPES if ftype not in listed and ftype not in NOT_IN_CATALOG]
    assert missing == []
    issue_21 = ("Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q3_K_S", "Q2_K_S", "IQ1_S", "IQ1_M", "IQ2_XXS", "IQ2_XS",
                "IQ2_S", "IQ2_M", "IQ3_XXS", "IQ3_XS", "IQ3_S", "IQ3_M", "IQ4_XS", "IQ4_NL")  # fmt: skip
    assert [ftype for ftype in issue_21 if ftype not in listed] == []


@pytest.mark.parametrize("ftype", sorted(set(FTYPE_DEFAULT_TYPE) - set(NOT_IN_CATALOG) - {"MXFP4_MOE"}))
def test_bits_per_weight_match_the_recipe_on_llama_3_1_8b(ftype: str) -> None:
    """The recipe (gguf_types.py) on Llama 3.1 8B's shapes gives the catalog's figure within 1 %:
    the README's rows agree to 0.01 %, quantize.cpp's two-decimal GiB sizes to 0.2 %, the README's
    IQ4 rows (measured on an older recipe) to 0.8 %."""
    catalog = load_catalog()
    quant = _gguf()[ftype]
    model = catalog.models["meta-llama/Llama-3.1-8B-Instruct"]
    shape = model_shape(model)
    assert shape is not None
    recipe_bits = gguf_tensor_bytes(shape, ftype) * 8 / model.params_total
    assert recipe_bits == pytest.approx(quant.bits_per_weight, rel=0.01)  # type: ignore[attr-defined]
    assert quant.source in QUANTIZE_SOURCES  # type: ignore[attr-defined]


def test_new_types_never_displace_a_k_quant_they_do_not_beat() -> None:
    """A legacy type of a k-quant's size ranks below it: it is chosen only when pinned or when
    nothing better fits (quant_choice.ranked: quality first)."""
    listed = _gguf()
    for legacy, k_quant in (("Q4_0", "Q4_K_S"), ("Q4_1", "Q4_K_S"), ("Q5_0", "Q5_K_S"), ("Q5_1", "Q5_K_S")):
        assert listed[legacy].quality < listed[k_quant].quality  # type: ignore[attr-defined]
        assert listed[legacy].bits_per_weight >= listed[k_quant].bits_per_weight - 0.03  # type: ignore[attr-defined]


def test_low_bit_and_dominated_types_only_when_pinned() -> None:
    """Unpinned, the planner offers neither the types below Q2_K's quality nor a legacy type a
    k-quant beats at no more bits; pinned, each of them is used."""
    catalog = load_catalog()
    engine = catalog.engines["llama.cpp"]
    model = catalog.models["Qwen/Qwen3-32B"]
    offered = [q.id for q in candidates(catalog, engine, "nvidia", "8.6", model=model)]
    assert "Q2_K" in offered and "IQ3_XXS" in offered and "IQ4_XS" in offered
    for hidden in ("IQ1_S", "IQ2_XXS", "IQ2_M", "Q2_K_S", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL"):
        assert hidden not in offered
        pinned = candidates(catalog, engine, "nvidia", "8.6", pinned=hidden, model=model)
        assert [q.id for q in pinned] == [hidden]

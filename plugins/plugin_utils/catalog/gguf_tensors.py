# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The tensors of a model as llama.cpp's GGUF files hold them: name, shape (ggml order) and layer.

Shapes follow ggml's convention, ``ne[0]`` first: a projection from width ``a`` to width ``b`` is
``(a, b)``; stacked MoE experts are ``(in, out, experts)``. Names and shapes are those llama.cpp
creates in ``llama_model::load_tensors`` (src/llama-model.cpp) for the architectures the catalog
holds: llama/mistral (LLM_ARCH_LLAMA), qwen2, qwen3, qwen3moe, gemma3, gpt-oss (LLM_ARCH_OPENAI_MOE)
and deepseek2 with multi-head latent attention (DeepSeek V3/R1; the split ``attn_k_b``/``attn_v_b``
form current converters write). One-dimensional tensors, biases and MoE routers are F32 in every
file (convert_hf_to_gguf.py writes them so and llama-quantize leaves them alone).

A model only has a tensor list when its catalog entry carries the shape fields
(``model_type``, ``intermediate_size``, the MoE widths, the MLA ranks); :func:`model_shape`
returns ``None`` otherwise and the memory model keeps its parameter-count formula.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # catalog_specs validates llama_ftype names with gguf_types, which imports this module
    from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_specs import ModelSpec

# config.json model_type values (of the text model) whose tensor layout this module knows.
LLAMA_FAMILY = ("llama", "mistral")
SUPPORTED_MODEL_TYPES = (
    *LLAMA_FAMILY,
    "qwen2",
    "qwen3",
    "qwen3_moe",
    "gemma3_text",
    "gpt_oss",
    "deepseek_v3",
)
# Model types that put a norm on each head's query and key (attn_q_norm / attn_k_norm).
_QK_NORM = ("qwen3", "qwen3_moe", "gemma3_text")
# Model types with biases on the q/k/v projections (qwen2) or on all four and the experts (gpt-oss).
_QKV_BIAS = ("qwen2", "gpt_oss")
# llama.cpp's LLM_TYPE_70B (the quantizer gives its attn_v more bits): a LLaMA-architecture model
# with 80 layers and grouped-query attention (src/llama-model.cpp, LLM_ARCH_LLAMA case 80;
# llama_quant_model_from_metadata at llama.cpp 007dbbf3 infers it the same way).
_LLAMA_70B_LAYERS = 80


@dataclass(frozen=True)
class Tensor:
    """One tensor of a GGUF file; ``layer`` is None for tensors outside the blocks."""

    name: str
    shape: tuple[int, ...]
    layer: int | None = None
    # The type the converter writes before any quantization: F32 for vectors and routers,
    # "weight" for matrices (they take the file type's types).
    source_type: str = "F32"

    @property
    def elements(self) -> int:
        """Number of values in the tensor."""
        count = 1
        for extent in self.shape:
            count *= extent
        return count


@dataclass(frozen=True)
class ModelShape:
    """The architecture numbers a tensor list needs, from a catalog model that has them all."""

    model_type: str
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    vocab: int
    tied: bool
    ffn: int
    experts: int = 0
    expert_ffn: int = 0
    shared_ffn: int = 0
    dense_layers: int = 0
    q_lora_rank: int = 0
    kv_lora_rank: int = 0
    qk_nope_head_dim: int = 0
    qk_rope_head_dim: int = 0
    v_head_dim: int = 0

    @property
    def gqa_ratio(self) -> int:
        """Query heads per KV head (llama.cpp's n_gqa)."""
        return self.heads // self.kv_heads

    @property
    def llama_70b(self) -> bool:
        """Whether llama.cpp classes the model as LLM_TYPE_70B."""
        return (
            self.model_type in LLAMA_FAMILY
            and self.layers == _LLAMA_70B_LAYERS
            and self.heads != self.kv_heads
        )

    def tensors(self) -> list[Tensor]:
        """Every tensor of the model's GGUF, in file order (globals, then layer by layer)."""
        return list(_tensor_list(self))

    def build_tensors(self) -> tuple[Tensor, ...]:
        """The tensor list, built anew (:meth:`tensors` returns a cached copy)."""
        h, vocab = self.hidden, self.vocab
        tensors = [Tensor("token_embd.weight", (h, vocab), source_type="weight")]
        tensors.append(Tensor("output_norm.weight", (h,)))
        if not self.tied:
            tensors.append(Tensor("output.weight", (h, vocab), source_type="weight"))
        for layer in range(self.layers):
            tensors.extend(self._layer(layer))
        return tuple(tensors)

    @staticmethod
    def _weight(layer: int, name: str, *shape: int) -> Tensor:
        """A matrix of layer ``layer``: it takes the file type's types."""
        return Tensor(f"blk.{layer}.{name}", shape, layer, "weight")

    @staticmethod
    def _f32(layer: int, name: str, *shape: int) -> Tensor:
        """A norm, bias or router of layer ``layer``: F32 in every file."""
        return Tensor(f"blk.{layer}.{name}", shape, layer)

    def _layer(self, i: int) -> list[Tensor]:
        h, weight, f32 = self.hidden, self._weight, self._f32
        tensors = [f32(i, "attn_norm.weight", h), f32(i, "ffn_norm.weight", h)]
        tensors.extend(self._attention(i))
        if self.model_type == "gemma3_text":
            tensors += [f32(i, "post_attention_norm.weight", h), f32(i, "post_ffw_norm.weight", h)]
        if self.experts and i >= self.dense_layers:
            tensors.extend(self._experts(i))
        else:
            tensors += [
                weight(i, "ffn_gate.weight", h, self.ffn),
                weight(i, "ffn_up.weight", h, self.ffn),
                weight(i, "ffn_down.weight", self.ffn, h),
            ]
        return tensors

    def _attention(self, i: int) -> list[Tensor]:
        h, weight, f32 = self.hidden, self._weight, self._f32
        if self.kv_lora_rank:
            heads, nope, rope, v = self.heads, self.qk_nope_head_dim, self.qk_rope_head_dim, self.v_head_dim
            return [
                weight(i, "attn_q_a.weight", h, self.q_lora_rank),
                f32(i, "attn_q_a_norm.weight", self.q_lora_rank),
                weight(i, "attn_q_b.weight", self.q_lora_rank, heads * (nope + rope)),
                weight(i, "attn_kv_a_mqa.weight", h, self.kv_lora_rank + rope),
                f32(i, "attn_kv_a_norm.weight", self.kv_lora_rank),
                weight(i, "attn_k_b.weight", nope, self.kv_lora_rank, heads),
                weight(i, "attn_v_b.weight", self.kv_lora_rank, v, heads),
                weight(i, "attn_output.weight", heads * v, h),
            ]
        q_width, kv_width = self.heads * self.head_dim, self.kv_heads * self.head_dim
        tensors = [
            weight(i, "attn_q.weight", h, q_width),
            weight(i, "attn_k.weight", h, kv_width),
            weight(i, "attn_v.weight", h, kv_width),
            weight(i, "attn_output.weight", q_width, h),
        ]
        if self.model_type in _QKV_BIAS:
            tensors += [
                f32(i, "attn_q.bias", q_width),
                f32(i, "attn_k.bias", kv_width),
                f32(i, "attn_v.bias", kv_width),
            ]
        if self.model_type == "gpt_oss":
            tensors += [f32(i, "attn_output.bias", h), f32(i, "attn_sinks.weight", self.heads)]
        if self.model_type in _QK_NORM:
            tensors += [
                f32(i, "attn_q_norm.weight", self.head_dim),
                f32(i, "attn_k_norm.weight", self.head_dim),
            ]
        return tensors

    def _experts(self, i: int) -> list[Tensor]:
        h, n, width, weight, f32 = self.hidden, self.experts, self.expert_ffn, self._weight, self._f32
        tensors = [
            f32(i, "ffn_gate_inp.weight", h, n),
            weight(i, "ffn_gate_exps.weight", h, width, n),
            weight(i, "ffn_up_exps.weight", h, width, n),
            weight(i, "ffn_down_exps.weight", width, h, n),
        ]
        if self.model_type == "gpt_oss":
            tensors += [
                f32(i, "ffn_gate_inp.bias", n),
                f32(i, "ffn_gate_exps.bias", width, n),
                f32(i, "ffn_up_exps.bias", width, n),
                f32(i, "ffn_down_exps.bias", h, n),
            ]
        if self.model_type == "deepseek_v3":
            tensors.append(f32(i, "exp_probs_b.bias", n))
        if self.shared_ffn:
            tensors += [
                weight(i, "ffn_gate_shexp.weight", h, self.shared_ffn),
                weight(i, "ffn_up_shexp.weight", h, self.shared_ffn),
                weight(i, "ffn_down_shexp.weight", self.shared_ffn, h),
            ]
        return tensors


# The planner sizes the same few models for every host it tries; each list is built once.
@functools.lru_cache(maxsize=256)
def _tensor_list(shape: ModelShape) -> tuple[Tensor, ...]:
    return shape.build_tensors()


def model_shape(model: ModelSpec) -> ModelShape | None:
    """The model's :class:`ModelShape`, or None when its catalog entry lacks a field the list needs."""
    model_type = model.model_type
    if model_type not in SUPPORTED_MODEL_TYPES or model.intermediate_size is None:
        return None
    moe, attention = model.moe, model.attention
    if model_type == "deepseek_v3" and (
        attention.kind != "mla"
        or not (attention.q_lora_rank and attention.qk_nope_head_dim and attention.v_head_dim)
    ):
        return None
    if moe is not None and moe.expert_intermediate_size is None:
        return None
    return ModelShape(
        model_type=model_type,
        layers=model.layers,
        hidden=model.hidden_size,
        heads=model.attention_heads,
        kv_heads=model.kv_heads,
        head_dim=model.head_dim,
        vocab=model.vocab_size,
        tied=model.tie_embeddings,
        ffn=model.intermediate_size,
        experts=moe.experts if moe else 0,
        expert_ffn=(moe.expert_intermediate_size or 0) if moe else 0,
        shared_ffn=(moe.shared_expert_intermediate_size or 0) if moe else 0,
        dense_layers=moe.dense_layers if moe else 0,
        q_lora_rank=attention.q_lora_rank or 0,
        kv_lora_rank=(attention.kv_lora_rank or 0) if attention.kind == "mla" else 0,
        qk_nope_head_dim=attention.qk_nope_head_dim or 0,
        qk_rope_head_dim=attention.qk_rope_head_dim or 0,
        v_head_dim=attention.v_head_dim or 0,
    )

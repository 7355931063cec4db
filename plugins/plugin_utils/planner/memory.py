# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The memory model: weights, KV cache and runtime overhead of one deployment, per GPU.

Formulas (docs/planner.md explains them with sources):
  weights  = GGUF with a known tensor layout: the sum over the model's tensors of each tensor's bytes
             in the type llama-quantize gives it (gguf_tensors.py, gguf_types.py); otherwise
             body params x quant bits / 8 + embedding and output tensors at the bits the format keeps
  KV cache = sum over layers of per-layer bytes for ``tokens`` cached tokens per sequence
  overhead = engine base + activation peak of one prefill step + logits buffer (engines.yml tuning)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    EngineSpec,
    ModelSpec,
    QuantSpec,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_tensors import model_shape
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.gguf_types import gguf_tensor_bytes

# Bytes per cached element. Block formats include their per-block scale: q8_0 stores 32 values in
# 34 bytes, q4_0 in 18 (ggml/src/ggml-common.h, block_q8_0 / block_q4_0).
KV_ELEMENT_BYTES: Mapping[str, Fraction] = {
    "fp32": Fraction(4),
    "fp16": Fraction(2),
    "bf16": Fraction(2),
    "fp8": Fraction(1),
    "q8_0": Fraction(34, 32),
    "q4_0": Fraction(18, 32),
}
# Linear-attention and state-space layers keep a constant state per sequence; engines hold it in
# fp32. Estimated as hidden_size x head_dim values (Qwen3-Next: 32 value heads x 128 x 128 = 2048 x 256).
LINEAR_STATE_ELEMENT_BYTES = 4


@dataclass(frozen=True)
class MemoryNeed:
    """Bytes one deployment needs on each GPU it uses (all GPUs of a deployment hold equal shares)."""

    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int

    @property
    def total_bytes(self) -> int:
        """Weights, KV cache and overhead together."""
        return self.weights_bytes + self.kv_cache_bytes + self.overhead_bytes


def embedding_params(model: ModelSpec) -> int:
    """Parameters of the token embedding and output tensors (one tensor when they are tied)."""
    return int(model.vocab_size * model.hidden_size * (1 if model.tie_embeddings else 2))


def _tensor_bits(quant_bits: float, kept_bits: Any) -> float:
    """Formats never store embedding/output narrower than the body, only wider."""
    return max(quant_bits, float(kept_bits)) if kept_bits is not None else quant_bits


def weights_bytes(model: ModelSpec, quant: QuantSpec, engine: EngineSpec) -> int:
    """Resident weight bytes of the whole model; every expert of a MoE is resident (total params).

    A GGUF quantization with a llama.cpp file type, on a model whose catalog entry gives its tensor
    shapes, is summed tensor by tensor with llama-quantize's per-tensor types (norms, routers and
    biases in F32, output at Q6_K, the recipe's wider attn_v/ffn_down layers, shape fallbacks); the
    GGUF metadata (tokenizer, a few MB) is not counted. Otherwise: parameters x bits per weight.
    """
    shape = model_shape(model)
    if (
        shape is not None
        and quant.format == "gguf"
        and quant.format in engine.formats
        and quant.llama_ftype is not None
    ):
        return gguf_tensor_bytes(shape, quant.llama_ftype)
    table = model.vocab_size * model.hidden_size
    bits = quant.bits_per_weight
    embed_bits = _tensor_bits(bits, engine.tuning.get("embedding_bits"))
    output_bits = _tensor_bits(bits, engine.tuning.get("output_bits"))
    body = max(model.params_total - embedding_params(model), 0)
    # A tied table doubles as the output tensor, and formats store it as one (llama-quantize gives
    # token_embd the output type when there is no output.weight).
    table_bits = output_bits * table + (0.0 if model.tie_embeddings else embed_bits * table)
    size: int = math.ceil((body * bits + table_bits) / 8)
    return size


def active_weight_bytes_per_token(model: ModelSpec, quant: QuantSpec, engine: EngineSpec) -> int:
    """Weight bytes read to decode one token: active body params plus the whole output tensor.

    The input embedding contributes one row per token, which is negligible.
    """
    table = model.vocab_size * model.hidden_size
    bits = quant.bits_per_weight
    output_bits = _tensor_bits(bits, engine.tuning.get("output_bits"))
    body = max(model.params_active - embedding_params(model), 0)
    size: int = math.ceil((body * bits + table * output_bits) / 8)
    return size


def kv_element_bytes(kv_dtype: str) -> Fraction:
    """Bytes per cached element of ``kv_dtype``; KeyError for names outside KV_ELEMENT_BYTES."""
    return KV_ELEMENT_BYTES[kv_dtype]


def kv_cache_bytes(model: ModelSpec, tokens: int, sequences: int, kv_dtype: str) -> int:
    """Exact KV cache bytes for ``sequences`` sequences of ``tokens`` cached tokens each.

    Full attention layers: 2 (K and V) x kv_heads x head_dim x tokens. Sliding layers cache at most
    the window. MLA layers cache one latent of kv_lora_rank + qk_rope_head_dim per token, shared by
    all heads (no factor 2). Linear/state-space layers keep a constant state.
    """
    attention = model.attention
    element = kv_element_bytes(kv_dtype)
    linear_layers = attention.linear_layers
    sliding_layers = attention.sliding_layers if attention.sliding_window else 0
    attention_layers = model.layers - linear_layers
    if attention.kind == "mla":
        per_token = (attention.kv_lora_rank or 0) + (attention.qk_rope_head_dim or 0)
        elements = per_token * tokens * attention_layers
    else:
        per_token = 2 * model.kv_heads * model.head_dim
        window_tokens = min(tokens, attention.sliding_window or tokens)
        full_layers = attention_layers - sliding_layers
        elements = per_token * (full_layers * tokens + sliding_layers * window_tokens)
    kv = math.ceil(elements * sequences * element)
    state = linear_layers * model.hidden_size * model.head_dim * LINEAR_STATE_ELEMENT_BYTES * sequences
    return int(kv + state)


def kv_share_per_gpu(model: ModelSpec, tensor_parallel: int) -> Fraction:
    """Share of the whole KV cache each of ``tensor_parallel`` GPUs holds.

    KV heads are split across ranks; when there are fewer KV heads than ranks, vLLM and SGLang
    replicate each head on tp / kv_heads ranks. An MLA latent is shared by all heads, so every rank
    keeps all of it.
    """
    if model.attention.kind == "mla":
        return Fraction(1)
    heads_per_rank = max(Fraction(model.kv_heads, tensor_parallel), Fraction(1))
    return Fraction(heads_per_rank / model.kv_heads)


def overhead_bytes(engine: EngineSpec, model: ModelSpec, total_context_tokens: int) -> int:
    """Per-GPU runtime memory of ``engine`` besides weights and KV cache (engines.yml ``tuning``).

    llama.cpp-style engines size a compute buffer from the micro-batch (logits dominate) plus a KQ
    mask that grows with the total context; vLLM-style engines peak at one prefill batch of
    activations plus the sampler's fp32 logits.
    """
    tuning = engine.tuning.get("overhead", {})
    base = int(tuning.get("base_bytes", 0))
    per_hidden = int(tuning.get("activation_bytes_per_hidden", 0))
    if "ubatch" in tuning:
        ubatch = int(tuning["ubatch"])
        compute = ubatch * (4 * model.vocab_size + per_hidden * model.hidden_size)
        mask = ubatch * total_context_tokens * int(tuning.get("kq_mask_bytes_per_token", 0))
        return int(base + compute + mask)
    activations = int(tuning.get("activation_tokens", 0)) * model.hidden_size * per_hidden
    logits = int(tuning.get("logits_tokens", 0)) * model.vocab_size * 4
    return int(base + activations + logits)


def memory_need(
    model: ModelSpec,
    quant: QuantSpec,
    engine: EngineSpec,
    *,
    context: int,
    concurrency: int,
    kv_dtype: str,
    devices: int,
) -> MemoryNeed:
    """Per-GPU need of a deployment spread over ``devices`` GPUs, weights split evenly."""
    weights = weights_bytes(model, quant, engine)
    kv = kv_cache_bytes(model, context, concurrency, kv_dtype)
    share = (
        kv_share_per_gpu(model, devices) if engine.tuning.get("exclusive_devices") else Fraction(1, devices)
    )
    return MemoryNeed(
        weights_bytes=math.ceil(weights / devices),
        kv_cache_bytes=math.ceil(kv * share),
        overhead_bytes=overhead_bytes(engine, model, context * concurrency),
    )

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Which tensor-parallel sizes a model allows, and why the others are rejected.

vLLM and SGLang split attention heads across ranks, so the size must divide the attention heads
(vllm/config/model.py, ModelConfig.verify_with_parallel_config). KV heads are split too; when there
are fewer KV heads than ranks each KV head is replicated, which needs the size to be a multiple of
the KV heads (vllm/model_executor/layers/linear.py, QKVParallelLinear). The vocabulary is padded to
a multiple of 64 per rank (VocabParallelEmbedding), so it never blocks a size. Sizes are powers of
two: NCCL all-reduce and the engines' custom all-reduce kernels support 2, 4 and 8 GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import ModelSpec


@dataclass(frozen=True)
class TensorParallelOptions:
    """Allowed sizes, smallest first, and one sentence per rejected size."""

    sizes: tuple[int, ...]
    rejections: tuple[str, ...]


def rejection(model: ModelSpec, size: int) -> str | None:
    """Why ``size`` ranks cannot split ``model``; None when they can."""
    if model.attention_heads % size:
        heads = model.attention_heads
        return f"tensor parallel {size} does not divide the {heads} attention heads of {model.id}"
    kv_heads = model.kv_heads
    if model.attention.kind != "mla" and kv_heads % size and size % kv_heads:
        return (
            f"tensor parallel {size} and the {kv_heads} KV heads of {model.id}: neither divides the other, "
            "so heads can be neither split nor replicated evenly"
        )
    return None


def options(model: ModelSpec, gpu_count: int) -> TensorParallelOptions:
    """Power-of-two sizes from 1 up to ``gpu_count`` that split ``model`` evenly."""
    sizes: list[int] = []
    rejected: list[str] = []
    size = 1
    while size <= gpu_count:
        reason = rejection(model, size)
        if reason is None:
            sizes.append(size)
        else:
            rejected.append(reason)
        size *= 2
    return TensorParallelOptions(tuple(sizes), tuple(rejected))

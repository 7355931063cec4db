# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engine rule table: which engine to try first on which platform (docs/planner.md).

| platform                 | concurrency > 1                 | concurrency 1                      |
|--------------------------|---------------------------------|------------------------------------|
| Apple Silicon            | mlx-lm, then llama.cpp          | mlx-lm, then llama.cpp             |
| NVIDIA/AMD discrete GPUs | vLLM, then llama.cpp (offload)  | llama.cpp on 1 GPU, then vLLM with |
|                          |                                 | TP, then llama.cpp (offload)       |
| NVIDIA GB10 (unified)    | vLLM, then llama.cpp            | llama.cpp, then vLLM               |
| AMD APU (unified)        | llama.cpp                       | llama.cpp                          |
| CPU only                 | llama.cpp                       | llama.cpp                          |

vLLM batches many sequences well (paged KV, continuous batching); llama.cpp is the lighter choice
for one user and the only one that splits a model between GPU and CPU. SGLang and Ollama run only
when a deployment pins them.
"""

from __future__ import annotations

from dataclasses import dataclass

UNLIMITED = 1 << 16
# Engines that place layers on GPU or CPU one by one (llama.cpp's -ngl; Ollama runs llama.cpp).
LAYER_OFFLOAD_ENGINES = ("llama.cpp", "ollama")


@dataclass(frozen=True)
class Attempt:
    """One engine to try, with at most ``max_gpus`` GPUs, and whether CPU offload is allowed."""

    engine: str
    max_gpus: int = UNLIMITED
    allow_offload: bool = False


def attempts(
    platform: str, vendor: str, concurrency: int, pinned: str | None, allow_offload: bool
) -> list[Attempt]:
    """Engines to try in order for a deployment on a host of ``platform``/``vendor``."""
    if pinned:
        return [Attempt(pinned, allow_offload=allow_offload and pinned in LAYER_OFFLOAD_ENGINES)]
    if platform == "apple":
        return [Attempt("mlx-lm"), Attempt("llama.cpp")]
    if platform == "nvidia_gb10":
        ordered = ["vllm", "llama.cpp"] if concurrency > 1 else ["llama.cpp", "vllm"]
        return [Attempt(engine) for engine in ordered]
    if platform != "discrete" or vendor not in ("nvidia", "amd"):
        return [Attempt("llama.cpp", allow_offload=allow_offload and platform == "discrete")]
    if concurrency > 1:
        return [Attempt("vllm"), Attempt("llama.cpp", allow_offload=allow_offload)]
    return [
        Attempt("llama.cpp", max_gpus=1),
        Attempt("vllm"),
        Attempt("llama.cpp", allow_offload=allow_offload),
    ]

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/engine_argv.py: whole command lines per engine."""

from __future__ import annotations

import dataclasses

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import EngineSpec, load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.engine_argv import (
    LaunchInput,
    launch,
    model_path,
)

GIB = 1024**3
BASE = LaunchInput(
    name="chat",
    model_path="/m/x",
    port=8000,
    context=16384,
    concurrency=4,
    tensor_parallel=2,
    gpu_layers=None,
    kv_dtype="bf16",
    quant="AWQ",
    gpus=(0, 1),
    vendor="nvidia",
    unified=False,
    compute_capability="8.6",
    device_memory_bytes=24 * GIB,
    weights_bytes=10 * GIB,
    kv_cache_bytes=8 * GIB,
    overhead_bytes=2 * GIB,
)


def engine(name: str) -> EngineSpec:
    return load_catalog().engines[name]


def test_model_path_per_format() -> None:
    assert (
        model_path("/srv/m", "Qwen/Qwen3-8B", "Q4_K_M", "gguf")
        == "/srv/m/Qwen--Qwen3-8B/Qwen--Qwen3-8B-Q4_K_M.gguf"
    )
    assert model_path("/srv/m", "Qwen/Qwen3-8B", "AWQ", "safetensors") == "/srv/m/Qwen--Qwen3-8B/AWQ"


def test_vllm_discrete() -> None:
    started = launch(engine("vllm"), BASE)
    assert started.argv == (
        "vllm", "serve", "/m/x", "--served-model-name", "chat", "--host", "127.0.0.1", "--port", "8000",
        "--tensor-parallel-size", "2", "--max-model-len", "16384", "--max-num-seqs", "4",
        "--gpu-memory-utilization", "0.90", "--kv-cache-dtype", "auto",
    )  # fmt: skip
    assert started.env == {"CUDA_VISIBLE_DEVICES": "0,1"}


def test_vllm_unified_uses_absolute_kv_bytes_and_fp8_flags() -> None:
    item = dataclasses.replace(
        BASE, unified=True, quant="FP8", kv_dtype="fp8", tensor_parallel=1, gpus=(0,),
        device_memory_bytes=128 * GIB, kv_cache_bytes=8 * GIB + 1,
    )  # fmt: skip
    started = launch(engine("vllm"), item)
    assert started.argv == (
        "vllm", "serve", "/m/x", "--served-model-name", "chat", "--host", "127.0.0.1", "--port", "8000",
        "--tensor-parallel-size", "1", "--max-model-len", "16384", "--max-num-seqs", "4",
        # KV rounded up to whole MiB; utilisation = (10 + 8 + 2 GiB) / 128 GiB = 0.156 -> 0.16.
        "--kv-cache-memory-bytes", str(8 * GIB + 1024**2), "--gpu-memory-utilization", "0.16",
        "--quantization", "fp8", "--kv-cache-dtype", "fp8",
    )  # fmt: skip
    assert started.env == {}


def test_sglang_on_blackwell_sets_the_triton_backend() -> None:
    item = dataclasses.replace(BASE, compute_capability="12.0", kv_dtype="fp8")
    started = launch(engine("sglang"), item)
    # static = max((10 + 8) / 24, 0.90 - 2 / 24) = 0.8167 -> floor to 0.81
    assert started.argv == (
        "python", "-m", "sglang.launch_server", "--model-path", "/m/x", "--served-model-name", "chat",
        "--host", "127.0.0.1", "--port", "8000", "--tp", "2", "--context-length", "16384",
        "--mem-fraction-static", "0.81", "--max-running-requests", "4", "--kv-cache-dtype", "fp8_e4m3",
        "--attention-backend", "triton",
    )  # fmt: skip


def test_llama_cpp_total_context_is_per_slot_times_slots() -> None:
    item = dataclasses.replace(
        BASE,
        kv_dtype="q8_0",
        gpu_layers=33,
        tensor_parallel=1,
        gpus=(1,),
        quant="Q4_K_M",
        model_path="/m/x.gguf",
    )
    started = launch(engine("llama.cpp"), item)
    assert started.argv == (
        "llama-server", "-m", "/m/x.gguf", "--host", "127.0.0.1", "--port", "8000", "-c", "65536",
        "--parallel", "4", "-ngl", "33", "--alias", "chat", "-fa", "on", "-ctk", "q8_0", "-ctv", "q8_0",
    )  # fmt: skip
    assert started.env == {"CUDA_VISIBLE_DEVICES": "1"}


def test_llama_cpp_on_cpu_offloads_nothing_and_pins_no_gpu() -> None:
    item = dataclasses.replace(BASE, kv_dtype="fp16", gpu_layers=0, gpus=(), vendor="cpu", unified=True)
    started = launch(engine("llama.cpp"), item)
    assert started.argv[started.argv.index("-ngl") + 1] == "0"
    assert started.env == {}


def test_ollama_is_configured_by_environment() -> None:
    item = dataclasses.replace(BASE, kv_dtype="q8_0", gpus=(0,), vendor="amd", port=11435)
    started = launch(engine("ollama"), item)
    assert started.argv == ("ollama", "serve")
    assert started.env == {
        "OLLAMA_HOST": "127.0.0.1:11435",
        "OLLAMA_CONTEXT_LENGTH": "16384",
        "OLLAMA_NUM_PARALLEL": "4",
        "OLLAMA_KV_CACHE_TYPE": "q8_0",
        "OLLAMA_FLASH_ATTENTION": "1",
        "OLLAMA_MAX_LOADED_MODELS": "1",
        "HIP_VISIBLE_DEVICES": "0",
    }


def test_mlx_lm() -> None:
    item = dataclasses.replace(BASE, vendor="apple", unified=True, port=8080)
    assert launch(engine("mlx-lm"), item).argv == (
        "mlx_lm.server", "--model", "/m/x", "--host", "127.0.0.1", "--port", "8080",
    )  # fmt: skip


def test_every_engine_binds_loopback_only() -> None:
    for name in ("vllm", "sglang", "llama.cpp", "ollama", "mlx-lm"):
        started = launch(engine(name), BASE)
        text = " ".join(started.argv) + " " + " ".join(started.env.values())
        assert "0.0.0.0" not in text
        assert "127.0.0.1" in text


def test_unknown_engine_is_refused() -> None:
    custom = dataclasses.replace(engine("vllm"), id="tgi")
    with pytest.raises(ValueError, match=r"engines\.tgi: the planner has no command line for this engine"):
        launch(custom, BASE)


def test_fp16_checkpoint_on_volta_asks_for_half() -> None:
    item = dataclasses.replace(BASE, quant="FP16", compute_capability="7.0", kv_dtype="fp16")
    argv = launch(engine("vllm"), item).argv
    assert argv[-4:] == ("--dtype", "half", "--kv-cache-dtype", "auto")
    assert "--dtype" in launch(engine("sglang"), item).argv

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Tests for plugins/plugin_utils/planner/engine_argv.py: whole command lines per engine."""

from __future__ import annotations

import dataclasses

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import EngineSpec, load_catalog
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_argv import (
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
        "--host", "127.0.0.1", "--port", "8000", "--tp-size", "2", "--context-length", "16384",
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


# Every flag (and Ollama variable) a builder may emit, with the file of the pinned release where it
# was read (docs/engine-flags.md gives the detail). A pin moved without re-reading its flags fails
# the version check; a flag added to a builder without a row here fails the flag check.
VERIFIED_FLAGS: dict[str, tuple[str, dict[str, str]]] = {
    "vllm": ("0.34.0", {
        "--served-model-name": "vllm/engine/arg_utils.py (ModelConfig group)",
        "--host": "vllm/entrypoints/common/cli_args.py (FrontendArgs.host)",
        "--port": "vllm/entrypoints/common/cli_args.py (FrontendArgs.port, 8000)",
        "--tensor-parallel-size": "vllm/engine/arg_utils.py (ParallelConfig group, alias -tp)",
        "--max-model-len": "vllm/engine/arg_utils.py (ModelConfig group)",
        "--max-num-seqs": "vllm/engine/arg_utils.py (SchedulerConfig group)",
        "--gpu-memory-utilization": "vllm/config/cache.py (float in (0, 1]; default None)",
        "--kv-cache-memory-bytes": "vllm/config/cache.py (overrides the utilisation for the KV size)",
        "--quantization": "vllm/engine/arg_utils.py (alias -q; fp8 in layers/quantization/__init__.py)",
        "--dtype": "vllm/config/model.py (ModelDType: auto, half, float16, bfloat16, float, float32)",
        "--kv-cache-dtype": "vllm/config/cache.py (CacheDType: auto, fp8, fp8_e4m3, ...)",
    }),
    "sglang": ("0.5.23", {
        "--model-path": "sglang/srt/arg_groups/fields/model.py (alias --model)",
        "--served-model-name": "sglang/srt/arg_groups/fields/serving.py",
        "--host": "sglang/srt/arg_groups/fields/serving.py (127.0.0.1)",
        "--port": "sglang/srt/arg_groups/fields/serving.py (30000)",
        "--tp-size": "sglang/srt/arg_groups/fields/parallel.py (alias --tensor-parallel-size; no --tp)",
        "--context-length": "sglang/srt/arg_groups/fields/model.py",
        "--mem-fraction-static": "sglang/srt/arg_groups/fields/schedule.py",
        "--max-running-requests": "sglang/srt/arg_groups/fields/schedule.py",
        "--kv-cache-dtype": "sglang/srt/arg_groups/fields/model.py (choices include fp8_e4m3)",
        "--quantization": "sglang/srt/arg_groups/choices.py (QUANTIZATION_CHOICES: fp8)",
        "--dtype": "sglang/srt/arg_groups/fields/model.py (choices include half)",
        "--attention-backend": "sglang/srt/arg_groups/choices.py (ATTENTION_BACKEND_CHOICES: triton)",
    }),
    "mlx-lm": ("0.32.2", {
        "--model": "mlx_lm/server.py",
        "--host": "mlx_lm/server.py (127.0.0.1)",
        "--port": "mlx_lm/server.py (8080)",
    }),
    "llama.cpp": ("b6710", {
        flag: "tools/server/README.md (generated from common/arg.cpp)"
        for flag in ("-m", "--host", "--port", "-c", "--parallel", "-ngl", "--alias", "-fa", "-ctk", "-ctv")
    }),
    "ollama": ("0.13.1", {
        variable: "envconfig/config.go"
        for variable in ("OLLAMA_HOST", "OLLAMA_CONTEXT_LENGTH", "OLLAMA_NUM_PARALLEL",
                         "OLLAMA_KV_CACHE_TYPE", "OLLAMA_FLASH_ATTENTION", "OLLAMA_MAX_LOADED_MODELS")
    }),
}  # fmt: skip

# Inputs that between them reach every branch of every builder.
VARIANTS = (
    BASE,
    dataclasses.replace(
        BASE, unified=True, quant="FP8", kv_dtype="fp8", gpus=(0,), device_memory_bytes=128 * GIB
    ),
    dataclasses.replace(BASE, quant="FP16", compute_capability="7.0"),
    dataclasses.replace(BASE, compute_capability="12.0", kv_dtype="fp8"),
    dataclasses.replace(BASE, quant="Q4_K_M", kv_dtype="q8_0", gpu_layers=20),
)


@pytest.mark.parametrize("engine_id", sorted(VERIFIED_FLAGS))
def test_every_emitted_flag_was_read_in_the_pinned_release(engine_id: str) -> None:
    version, verified = VERIFIED_FLAGS[engine_id]
    spec = engine(engine_id)
    assert spec.version == version, f"{engine_id} pin moved to {spec.version}: re-read its flags"
    emitted: set[str] = set()
    for item in VARIANTS:
        started = launch(spec, item)
        # "python -m sglang.launch_server": -m is the interpreter's, not the engine's.
        argv = started.argv[3:] if started.argv[:2] == ("python", "-m") else started.argv
        emitted |= {token for token in argv if token.startswith("-")}
        emitted |= {name for name in started.env if name.startswith("OLLAMA_")}
    unverified = emitted - set(verified)
    assert not unverified, f"{engine_id} {version}: flags without a verified source: {sorted(unverified)}"

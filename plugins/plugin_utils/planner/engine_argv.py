# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The exact command line (and environment) that starts each engine at its pinned version.

Every service binds 127.0.0.1; the TLS proxy is the only listener on the tailnet address. The flags
used here are listed, with the upstream source of each, in docs/engine-flags.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import EngineSpec
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.engine_names import ENGINES_WITH_ARGV

LOOPBACK = "127.0.0.1"
MIB = 1024**2


@dataclass(frozen=True)
class LaunchInput:
    """What the engine needs to know, decided by the planner; memory is per GPU."""

    name: str
    model_path: str
    port: int
    context: int
    concurrency: int
    tensor_parallel: int
    gpu_layers: int | None
    kv_dtype: str
    quant: str
    gpus: tuple[int, ...]
    vendor: str
    unified: bool
    compute_capability: str | None
    device_memory_bytes: int
    weights_bytes: int
    kv_cache_bytes: int
    overhead_bytes: int


@dataclass(frozen=True)
class Launch:
    """argv to exec and environment variables to set (both plain strings)."""

    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)


def model_path(models_dir: str, model_id: str, quant: str, weight_format: str) -> str:
    """Where the artifact role puts the weights of ``model_id`` at ``quant`` on the host."""
    slug = model_id.replace("/", "--")
    if weight_format == "gguf":
        return f"{models_dir}/{slug}/{slug}-{quant}.gguf"
    return f"{models_dir}/{slug}/{quant}"


def _visible_devices(item: LaunchInput) -> dict[str, str]:
    """Pin the engine to its GPUs, so that several deployments can share a host."""
    if item.unified or not item.gpus:
        return {}
    variable = {"nvidia": "CUDA_VISIBLE_DEVICES", "amd": "HIP_VISIBLE_DEVICES"}.get(item.vendor)
    return {variable: ",".join(str(gpu) for gpu in item.gpus)} if variable else {}


def _kv_flag_value(engine: EngineSpec, kv_dtype: str) -> str | None:
    value = engine.tuning.get("kv_cache_dtypes", {}).get(kv_dtype)
    return None if value is None else str(value)


def _weight_flags(engine: EngineSpec, item: LaunchInput) -> list[str]:
    """--quantization for on-the-fly quantization, --dtype where the checkpoint's dtype cannot run."""
    flags: list[str] = []
    quantization = engine.tuning.get("quantization_flags", {}).get(item.quant)
    if quantization:
        flags += ["--quantization", str(quantization)]
    dtype = engine.tuning.get("dtype_flags", {}).get(item.quant)
    if dtype:
        flags += ["--dtype", str(dtype)]
    return flags


def _vllm(engine: EngineSpec, item: LaunchInput) -> Launch:
    argv = [
        "vllm", "serve", item.model_path,
        "--served-model-name", item.name,
        "--host", LOOPBACK,
        "--port", str(item.port),
        "--tensor-parallel-size", str(item.tensor_parallel),
        "--max-model-len", str(item.context),
        "--max-num-seqs", str(item.concurrency),
    ]  # fmt: skip
    if item.unified:
        # The GPU shares the host's memory with the OS and other deployments: the KV cache gets an
        # absolute size, and the start-up check (free memory >= utilisation x total) asks only for
        # what this deployment needs (docs/engine-flags.md, vLLM).
        need = item.weights_bytes + item.kv_cache_bytes + item.overhead_bytes
        argv += [
            str(engine.tuning["unified_memory_flag"]), str(math.ceil(item.kv_cache_bytes / MIB) * MIB),
            "--gpu-memory-utilization", f"{math.ceil(need / item.device_memory_bytes * 100) / 100:.2f}",
        ]  # fmt: skip
    else:
        argv += ["--gpu-memory-utilization", f"{float(engine.tuning['memory_utilization']):.2f}"]
    argv += _weight_flags(engine, item)
    argv += ["--kv-cache-dtype", _kv_flag_value(engine, item.kv_dtype) or "auto"]
    return Launch(tuple(argv), _visible_devices(item))


def _sglang(engine: EngineSpec, item: LaunchInput) -> Launch:
    # --mem-fraction-static covers weights and the KV pool; activations and CUDA graphs use the rest.
    static = (item.weights_bytes + item.kv_cache_bytes) / item.device_memory_bytes
    if not item.unified:
        utilisation = float(engine.tuning["memory_utilization"])
        static = max(static, utilisation - item.overhead_bytes / item.device_memory_bytes)
    fraction = math.floor(static * 100) / 100 if not item.unified else math.ceil(static * 100) / 100
    argv = [
        "python", "-m", "sglang.launch_server",
        "--model-path", item.model_path,
        "--served-model-name", item.name,
        "--host", LOOPBACK,
        "--port", str(item.port),
        "--tp-size", str(item.tensor_parallel),
        "--context-length", str(item.context),
        "--mem-fraction-static", f"{fraction:.2f}",
        "--max-running-requests", str(item.concurrency),
    ]  # fmt: skip
    argv += _weight_flags(engine, item)
    kv = _kv_flag_value(engine, item.kv_dtype)
    if kv and kv != "auto":
        argv += ["--kv-cache-dtype", kv]
    backend = engine.tuning.get("attention_backend_by_compute_capability", {}).get(
        item.compute_capability or ""
    )
    if backend:
        argv += ["--attention-backend", str(backend)]
    return Launch(tuple(argv), _visible_devices(item))


def _llama_cpp(engine: EngineSpec, item: LaunchInput) -> Launch:
    kv = _kv_flag_value(engine, item.kv_dtype) or "f16"
    argv = [
        "llama-server",
        "-m", item.model_path,
        "--host", LOOPBACK,
        "--port", str(item.port),
        # -c is the total KV size shared by all slots: each of --parallel slots gets c / parallel.
        "-c", str(item.context * item.concurrency),
        "--parallel", str(item.concurrency),
        "-ngl", str(item.gpu_layers if item.gpu_layers is not None else 0),
        "--alias", item.name,
        "-fa", str(engine.tuning.get("flash_attn", "auto")),
        "-ctk", kv,
        "-ctv", kv,
    ]  # fmt: skip
    return Launch(tuple(argv), _visible_devices(item))


def _ollama(engine: EngineSpec, item: LaunchInput) -> Launch:
    env = {
        "OLLAMA_HOST": f"{LOOPBACK}:{item.port}",
        "OLLAMA_CONTEXT_LENGTH": str(item.context),
        "OLLAMA_NUM_PARALLEL": str(item.concurrency),
        "OLLAMA_KV_CACHE_TYPE": _kv_flag_value(engine, item.kv_dtype) or "f16",
        "OLLAMA_FLASH_ATTENTION": "1",
        # One model per server: the plan budgets memory for this deployment only.
        "OLLAMA_MAX_LOADED_MODELS": "1",
    }
    env.update(_visible_devices(item))
    return Launch(("ollama", "serve"), env)


def _mlx_lm(engine: EngineSpec, item: LaunchInput) -> Launch:
    argv = ("mlx_lm.server", "--model", item.model_path, "--host", LOOPBACK, "--port", str(item.port))
    return Launch(argv, {})


_BUILDER_BY_ENGINE: dict[str, Callable[[EngineSpec, LaunchInput], Launch]] = {
    "vllm": _vllm,
    "sglang": _sglang,
    "llama.cpp": _llama_cpp,
    "ollama": _ollama,
    "mlx-lm": _mlx_lm,
}
# Keyed by engine_names.ENGINES_WITH_ARGV, the list the input reader offers: a name there without a
# builder here fails at import, not at the first plan that pins it.
BUILDERS: Mapping[str, Callable[[EngineSpec, LaunchInput], Launch]] = {
    engine: _BUILDER_BY_ENGINE[engine] for engine in ENGINES_WITH_ARGV
}


def launch(engine: EngineSpec, item: LaunchInput) -> Launch:
    """The command for ``engine``; ValueError for an engine this planner cannot start."""
    builder = BUILDERS.get(engine.id)
    if builder is None:
        raise ValueError(
            f"engines.{engine.id}: the planner has no command line for this engine; "
            f"supported engines are {', '.join(sorted(BUILDERS))}"
        )
    return builder(engine, item)

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Predicted single-stream decode speed: a memory-bandwidth roofline with measured efficiencies.

Decoding one token reads every active weight once plus the KV cache of the sequence so far, so
  seconds/token = (active weight bytes + KV bytes for the filled context) / (bandwidth x efficiency)
                  + a fixed per-token overhead,
with efficiency lowered for mixture-of-experts models.
With tensor parallel the GPUs read their shares at once (bandwidth x tp x tp_efficiency); with
llama.cpp CPU offload the GPU part and the CPU part are read one after the other.
Efficiencies are per engine and vendor in engines.yml ``tuning.decode_efficiency``, calibrated
against tests/fixtures/planner/decode_measurements.yml (tests/unit/plugins/plugin_utils/test_throughput.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import EngineSpec, ModelSpec, QuantSpec
from ansible_collections.sovereign.stack.plugins.plugin_utils.memory import (
    active_weight_bytes_per_token,
    kv_cache_bytes,
    weights_bytes,
)

# Context fill at which the plan states the speed: a typical chat turn, or the whole window if smaller.
REPORTED_CONTEXT_FILL = 4096


@dataclass(frozen=True)
class DecodeSetup:
    """Where and how a model decodes: the parts that decide bytes per token and bandwidth."""

    bandwidth_bytes_s: float
    vendor: str
    tensor_parallel: int = 1
    offloaded_share: float = 0.0
    cpu_bandwidth_bytes_s: float | None = None


def bytes_per_token(
    model: ModelSpec, quant: QuantSpec, engine: EngineSpec, filled: int, kv_dtype: str
) -> int:
    """Bytes read from memory to decode one token at ``filled`` cached tokens (one sequence)."""
    weights = active_weight_bytes_per_token(model, quant, engine)
    return int(weights + kv_cache_bytes(model, filled, 1, kv_dtype))


def decode_efficiency(engine: EngineSpec, vendor: str) -> float:
    """The share of bandwidth ``engine`` reaches on ``vendor``; KeyError names a missing calibration."""
    table = engine.tuning["decode_efficiency"]
    if vendor not in table:
        raise KeyError(f"engines.{engine.id}.tuning.decode_efficiency has no entry for vendor '{vendor}'")
    return float(table[vendor])


def decode_tps(
    model: ModelSpec,
    quant: QuantSpec,
    engine: EngineSpec,
    setup: DecodeSetup,
    *,
    filled: int,
    kv_dtype: str,
    per_token: int | None = None,
) -> float:
    """Predicted decode tokens/s of one sequence with ``filled`` tokens already in its KV cache.

    ``per_token`` is bytes_per_token() when the caller has it already (the planner sizes one model
    on many setups).
    """
    if per_token is None:
        per_token = bytes_per_token(model, quant, engine, filled, kv_dtype)
    efficiency = decode_efficiency(engine, setup.vendor)
    if model.moe is not None:
        efficiency *= float(engine.tuning.get("moe_efficiency", 1.0))
    bandwidth = setup.bandwidth_bytes_s * setup.tensor_parallel * efficiency
    if setup.tensor_parallel > 1:
        bandwidth *= float(engine.tuning.get("tp_efficiency", 1.0))
    gpu_seconds = per_token * (1.0 - setup.offloaded_share) / bandwidth
    cpu_seconds = 0.0
    if setup.offloaded_share > 0.0:
        cpu_bandwidth = (setup.cpu_bandwidth_bytes_s or 0.0) * float(
            engine.tuning.get("cpu_offload_efficiency", 0.5)
        )
        cpu_seconds = per_token * setup.offloaded_share / cpu_bandwidth
    return 1.0 / (gpu_seconds + cpu_seconds + float(engine.tuning.get("decode_overhead_s", 0.0)))


def naive_tps(model: ModelSpec, quant: QuantSpec, engine: EngineSpec, bandwidth_bytes_s: float) -> float:
    """The common rule of thumb, bandwidth / model size: the baseline the roofline is compared with."""
    return float(bandwidth_bytes_s / weights_bytes(model, quant, engine))

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Predicted single-stream decode speed: a memory-bandwidth roofline with measured efficiencies.

Decoding one token reads every active weight once plus the KV cache of the sequence so far, so
  seconds/token = (active weight bytes + KV bytes at the depth) / (bandwidth x efficiency)
                  + layers x per-layer cost + (GPUs of a layer split - 1) x hop cost.
``efficiency`` is the share of the data-sheet bandwidth one stream reaches, per device class
(devices.yml ``decode_class``: the same kernels on the same kind of memory system reach the same
share), lowered for mixture-of-experts models (many small expert matrices per token). The per-layer
cost is the fixed work of each layer that does not shrink with the bytes read (kernel launches,
synchronisation, the host's graph work): a fast GPU with a small model is bound by it.
With tensor parallel (vLLM, SGLang) the GPUs read their shares at once (bandwidth x tp x
tp_efficiency). A llama.cpp layer split runs its GPUs one after the other, so it reads at one GPU's
bandwidth and pays a hop per extra GPU. With llama.cpp CPU offload the GPU part and the CPU part are
read one after the other.
Every number is per engine in engines.yml ``tuning`` (keyed by device class), fitted by
tests/benchmarks/decode_accuracy.py on tests/fixtures/planner/decode_measurements.yml.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    EngineSpec,
    ModelSpec,
    QuantSpec,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.memory import (
    active_weight_bytes_per_token,
    kv_cache_bytes,
    weights_bytes,
)

# Context fill at which the plan states the speed: a typical chat turn, or the whole window if smaller.
REPORTED_CONTEXT_FILL = 4096
# The key of a per-class table that applies to every class the table does not name.
DEFAULT_CLASS = "default"


@dataclass(frozen=True)
class DecodeSetup:
    """Where and how a model decodes: the parts that decide bytes per token and bandwidth.

    ``device_class`` is the device's decode class (devices.yml ``decode_class``); None means the
    vendor's own class. ``tensor_parallel`` GPUs read at once (vLLM, SGLang); ``layer_split`` GPUs
    each hold some layers and run one after the other (llama.cpp).
    """

    bandwidth_bytes_s: float
    vendor: str
    tensor_parallel: int = 1
    offloaded_share: float = 0.0
    cpu_bandwidth_bytes_s: float | None = None
    device_class: str | None = None
    layer_split: int = 1

    @property
    def decode_class(self) -> str:
        """The class the engine's tables are looked up by."""
        return self.device_class or self.vendor


def bytes_per_token(
    model: ModelSpec, quant: QuantSpec, engine: EngineSpec, filled: int, kv_dtype: str
) -> int:
    """Bytes read from memory to decode one token at ``filled`` cached tokens (one sequence)."""
    weights = active_weight_bytes_per_token(model, quant, engine)
    return int(weights + kv_cache_bytes(model, filled, 1, kv_dtype))


def class_value(engine: EngineSpec, key: str, decode_class: str, vendor: str | None = None) -> float:
    """``engine.tuning[key]`` for ``decode_class``: the class's entry, else the vendor's, else
    ``default``; a plain number applies to every class. KeyError names what is missing."""
    table: Any = engine.tuning.get(key)
    if table is None:
        raise KeyError(f"engines.{engine.id}.tuning.{key} is missing")
    if not isinstance(table, Mapping):
        return float(table)
    for name in (decode_class, vendor, DEFAULT_CLASS):
        if name is not None and name in table:
            return float(table[name])
    raise KeyError(
        f"engines.{engine.id}.tuning.{key} has no entry for device class '{decode_class}'"
        + (f" or vendor '{vendor}'" if vendor and vendor != decode_class else "")
    )


def decode_efficiency(engine: EngineSpec, vendor: str, decode_class: str | None = None) -> float:
    """The share of bandwidth ``engine`` reaches on a device of ``decode_class`` (default: the vendor's)."""
    return class_value(engine, "decode_efficiency", decode_class or vendor, vendor)


@dataclass(frozen=True)
class _Rates:
    """What decode_seconds reads of an engine's tables for one setup: computed once per pair."""

    engine: EngineSpec
    bandwidth: float
    cpu_bandwidth: float
    layer_s: float
    hop_s: float


# (id of the engine, setup, MoE) -> rates; the entry keeps its engine, so the id is not reused while
# cached. The planner asks for the same few pairs for thousands of templates.
_RATES: dict[tuple[int, DecodeSetup, bool], _Rates] = {}
_RATES_LIMIT = 4096


def _rates(engine: EngineSpec, setup: DecodeSetup, moe: bool) -> _Rates:
    key = (id(engine), setup, moe)
    found = _RATES.get(key)
    if found is not None and found.engine is engine:
        return found
    decode_class = setup.decode_class
    efficiency = decode_efficiency(engine, setup.vendor, decode_class)
    if moe:
        efficiency *= class_value(engine, "moe_efficiency", decode_class, setup.vendor)
    bandwidth = setup.bandwidth_bytes_s * efficiency
    if setup.tensor_parallel > 1:
        bandwidth *= setup.tensor_parallel * float(engine.tuning.get("tp_efficiency", 1.0))
    cpu_bandwidth = (setup.cpu_bandwidth_bytes_s or 0.0) * float(
        engine.tuning.get("cpu_offload_efficiency", 0.5)
    )
    hop_s = float(engine.tuning.get("layer_split_hop_s", 0.0)) if setup.layer_split > 1 else 0.0
    found = _Rates(
        engine,
        bandwidth,
        cpu_bandwidth,
        class_value(engine, "layer_overhead_s", decode_class, setup.vendor),
        (setup.layer_split - 1) * hop_s,
    )
    if len(_RATES) >= _RATES_LIMIT:
        _RATES.clear()
    _RATES[key] = found
    return found


def decode_seconds(
    per_token: int,
    engine: EngineSpec,
    setup: DecodeSetup,
    *,
    layers: int,
    moe: bool,
) -> float:
    """Seconds to decode one token that reads ``per_token`` bytes, on ``setup``."""
    rates = _rates(engine, setup, moe)
    seconds = per_token * (1.0 - setup.offloaded_share) / rates.bandwidth
    if setup.offloaded_share > 0.0:
        seconds += per_token * setup.offloaded_share / rates.cpu_bandwidth
    return seconds + layers * rates.layer_s + rates.hop_s


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
    seconds = decode_seconds(per_token, engine, setup, layers=model.layers, moe=model.moe is not None)
    return 1.0 / seconds


def naive_tps(model: ModelSpec, quant: QuantSpec, engine: EngineSpec, bandwidth_bytes_s: float) -> float:
    """The common rule of thumb, bandwidth / model size: the baseline the roofline is compared with."""
    return float(bandwidth_bytes_s / weights_bytes(model, quant, engine))

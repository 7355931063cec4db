# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Does a deployment fit on one host as it is now, and how: engine, quantization, GPUs, offload.

One host is searched in the order of the engine rule table (engine_choice.py); within an engine,
the best quantization that fits wins, on the fewest GPUs. llama.cpp may keep some layers in system
RAM when nothing fits whole and the deployment allows it. Contexts are halved only when the
deployment allows it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ansible_collections.sovereign.stack.plugins.plugin_utils import (
    engine_choice,
    quant_choice,
    tensor_parallel,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog import Catalog, EngineSpec, QuantSpec
from ansible_collections.sovereign.stack.plugins.plugin_utils.hosts import Gpu, HostResources
from ansible_collections.sovereign.stack.plugins.plugin_utils.memory import MemoryNeed, memory_need
from ansible_collections.sovereign.stack.plugins.plugin_utils.plan_inputs import DeploymentRequest
from ansible_collections.sovereign.stack.plugins.plugin_utils.throughput import (
    REPORTED_CONTEXT_FILL,
    DecodeSetup,
    decode_tps,
)

# Contexts are halved down to this when a deployment allows context reduction.
MIN_REDUCED_CONTEXT = 2048
# With CPU offload, prefer the best quantization that keeps at least this share of the model on GPU.
MAX_PREFERRED_OFFLOAD_SHARE = 0.5
GIB = 1024**3


@dataclass
class HostState:
    """A host and what placed deployments already use of it (mutated by placement only)."""

    resources: HostResources
    gpu_used: list[int] = field(default_factory=list)
    gpu_holder: list[str | None] = field(default_factory=list)
    pool_used: int = 0

    def __post_init__(self) -> None:
        if not self.gpu_used:
            self.gpu_used = [0] * len(self.resources.gpus)
            self.gpu_holder = [None] * len(self.resources.gpus)


@dataclass(frozen=True)
class Fit:
    """How a deployment runs on one host; memory is per GPU (or for the pool when there is no GPU)."""

    engine: EngineSpec
    quant: QuantSpec
    context: int
    kv_dtype: str
    gpus: tuple[int, ...]
    slots: tuple[int, ...]
    tensor_parallel: int
    gpu_layers: int | None
    per_device: MemoryNeed
    offloaded_bytes: int
    budget_bytes: int
    predicted_tps: float | None
    attempt_index: int
    unified: bool

    def rank(self, requested_context: int) -> tuple[float, ...]:
        """Smaller is better: full context, no offload, GPU, engine order, quality, speed, GPUs, tight fit.

        Speed counts in factors of two (log2 of tok/s, rounded down), so that hosts of similar speed
        are told apart by how tightly the deployment fits them rather than by a few tokens/s.
        """
        used = self.per_device.total_bytes * max(len(self.gpus), 1)
        speed_class = math.floor(math.log2(self.predicted_tps)) if self.predicted_tps else -1
        return (
            float(self.context < requested_context),
            float(self.offloaded_bytes > 0),
            float(not self.gpus),
            float(self.attempt_index),
            -self.quant.quality,
            -float(speed_class),
            float(len(self.gpus)),
            float(self.budget_bytes - used),
        )


def _kv_dtype(request: DeploymentRequest, engine: EngineSpec) -> str | None:
    """The deployment's KV dtype if this engine supports it, else the engine's default."""
    supported = engine.tuning.get("kv_cache_dtypes", {})
    if request.kv_cache_dtype is None:
        return str(engine.tuning.get("default_kv_cache_dtype", "fp16"))
    return request.kv_cache_dtype if request.kv_cache_dtype in supported else None


def _engine_runs_on(engine: EngineSpec, vendor: str, capability: str | None) -> bool:
    minimum = engine.tuning.get("min_compute_capability")
    if vendor not in engine.vendors:
        return False
    return not (
        vendor == "nvidia"
        and minimum
        and quant_choice.capability_tuple(capability) < quant_choice.capability_tuple(minimum)
    )


def _gpu_groups(gpus: Sequence[Gpu]) -> list[list[Gpu]]:
    """GPUs that may work together: same model and memory (tensor parallel needs equal memory)."""
    groups: dict[tuple[object, ...], list[Gpu]] = {}
    for gpu in gpus:
        groups.setdefault(
            (gpu.device_id or gpu.name, gpu.memory_bytes, gpu.vendor, gpu.compute_capability), []
        ).append(gpu)
    return sorted(groups.values(), key=lambda g: (-g[0].memory_bytes, g[0].slot))


class FitSearch:
    """Searches hosts for one deployment; each (engine, quant, context, GPUs) need is computed once."""

    def __init__(self, request: DeploymentRequest, catalog: Catalog) -> None:
        self.request = request
        self.catalog = catalog
        self._needs: dict[tuple[str, str, int, str, int], MemoryNeed] = {}
        self._quant_lists: dict[tuple[str, str, str | None], list[QuantSpec]] = {}

    def need(
        self, engine: EngineSpec, quant: QuantSpec, context: int, kv_dtype: str, devices: int
    ) -> MemoryNeed:
        """Per-device need, memoised: hosts of a fleet share few shapes."""
        key = (engine.id, quant.id, context, kv_dtype, devices)
        found = self._needs.get(key)
        if found is None:
            found = memory_need(
                self.request.model,
                quant,
                engine,
                context=context,
                concurrency=self.request.concurrency,
                kv_dtype=kv_dtype,
                devices=max(devices, 1),
            )
            self._needs[key] = found
        return found

    def _quants(self, engine: EngineSpec, vendor: str, capability: str | None) -> list[QuantSpec]:
        key = (engine.id, vendor, capability)
        if key in self._quant_lists:
            return self._quant_lists[key]
        quants: list[QuantSpec] = quant_choice.candidates(
            self.catalog,
            engine,
            vendor,
            capability,
            pinned=self.request.quant,
            model=self.request.model,
        )
        self._quant_lists[key] = quants
        return quants

    def contexts(self) -> list[int]:
        """The requested context, then halvings when the deployment allows reduction."""
        contexts = [self.request.context]
        if self.request.allow_context_reduction:
            while contexts[-1] // 2 >= MIN_REDUCED_CONTEXT:
                contexts.append(contexts[-1] // 2)
        return contexts

    def best(self, state: HostState) -> Fit | None:
        """The best way to run the deployment on ``state``'s host as it is now; None when none fits."""
        host = state.resources
        plan = engine_choice.attempts(
            host.platform,
            host.vendor,
            self.request.concurrency,
            self.request.engine,
            self.request.allow_cpu_offload,
        )
        for context in self.contexts():
            for index, attempt in enumerate(plan):
                engine = self.catalog.engines.get(attempt.engine)
                if engine is None:
                    continue
                kv_dtype = _kv_dtype(self.request, engine)
                if kv_dtype is None:
                    continue
                found = self._attempt(
                    state, engine=engine, attempt=attempt, index=index, context=context, kv_dtype=kv_dtype
                )
                if found is not None:
                    return found
        return None

    def _attempt(
        self,
        state: HostState,
        *,
        engine: EngineSpec,
        attempt: engine_choice.Attempt,
        index: int,
        context: int,
        kv_dtype: str,
    ) -> Fit | None:
        host = state.resources
        if host.platform != "discrete":
            return self._pooled(state, engine, index, context, kv_dtype)
        fits = [
            found
            for group in _gpu_groups(host.gpus)
            if (
                found := self._on_gpus(
                    state,
                    group=group,
                    engine=engine,
                    attempt=attempt,
                    index=index,
                    context=context,
                    kv_dtype=kv_dtype,
                )
            )
            is not None
        ]
        if fits:
            return min(fits, key=lambda f: f.rank(context))
        if attempt.allow_offload:
            return self._offloaded(state, engine, index, context, kv_dtype)
        return None

    def _tps(
        self, engine: EngineSpec, quant: QuantSpec, setup: DecodeSetup | None, context: int, kv_dtype: str
    ) -> float | None:
        if setup is None:
            return None
        filled = min(context, REPORTED_CONTEXT_FILL)
        speed = decode_tps(self.request.model, quant, engine, setup, filled=filled, kv_dtype=kv_dtype)
        return round(float(speed), 1)

    def _pooled(
        self, state: HostState, engine: EngineSpec, index: int, context: int, kv_dtype: str
    ) -> Fit | None:
        """Unified memory or CPU only: one pool, no tensor parallel."""
        host = state.resources
        vendor = host.vendor
        capability = host.gpus[0].compute_capability if host.gpus else None
        if not _engine_runs_on(engine, vendor, capability):
            return None
        budget = host.pool_bytes - state.pool_used
        for quant in self._quants(engine, vendor, capability):
            need = self.need(engine, quant, context, kv_dtype, 1)
            if need.total_bytes > budget:
                continue
            if host.gpus:
                bandwidth = host.gpus[0].bandwidth_bytes_s
            else:
                default = engine.tuning.get("cpu_memory_bandwidth_gbs_default")
                bandwidth = host.cpu_bandwidth_bytes_s or (float(default) * 1e9 if default else None)
            setup = DecodeSetup(bandwidth, vendor) if bandwidth else None
            return Fit(
                engine=engine,
                quant=quant,
                context=context,
                kv_dtype=kv_dtype,
                gpus=tuple(gpu.index for gpu in host.gpus[:1]),
                slots=tuple(gpu.slot for gpu in host.gpus[:1]),
                tensor_parallel=1,
                gpu_layers=self._all_layers(engine, on_gpu=bool(host.gpus)),
                per_device=need,
                offloaded_bytes=0,
                budget_bytes=budget,
                predicted_tps=self._tps(engine, quant, setup, context, kv_dtype),
                attempt_index=index,
                unified=True,
            )
        return None

    def _all_layers(self, engine: EngineSpec, on_gpu: bool) -> int | None:
        """llama.cpp's -ngl for the whole model (layers + output layer), 0 on CPU; None for other engines."""
        if engine.id not in engine_choice.LAYER_OFFLOAD_ENGINES:
            return None
        return self.request.model.layers + 1 if on_gpu else 0

    def _free(self, state: HostState, gpu: Gpu, engine: EngineSpec) -> int:
        budget = int(gpu.memory_bytes * float(engine.tuning.get("memory_utilization", 1.0)))
        used: int = state.gpu_used[gpu.slot]
        return budget - used

    def _available(self, state: HostState, group: Sequence[Gpu], engine: EngineSpec) -> list[Gpu]:
        exclusive = bool(engine.tuning.get("exclusive_devices"))
        usable = [
            gpu
            for gpu in group
            if state.gpu_holder[gpu.slot] is None and (not exclusive or state.gpu_used[gpu.slot] == 0)
        ]
        return sorted(usable, key=lambda gpu: (-self._free(state, gpu, engine), gpu.slot))

    def _on_gpus(
        self,
        state: HostState,
        *,
        group: Sequence[Gpu],
        engine: EngineSpec,
        attempt: engine_choice.Attempt,
        index: int,
        context: int,
        kv_dtype: str,
    ) -> Fit | None:
        first = group[0]
        if not _engine_runs_on(engine, first.vendor, first.compute_capability):
            return None
        available = self._available(state, group, engine)
        limit = min(len(available), attempt.max_gpus)
        exclusive = bool(engine.tuning.get("exclusive_devices"))
        sizes = (
            tensor_parallel.options(self.request.model, limit).sizes
            if exclusive
            else tuple(range(1, limit + 1))
        )
        for quant in self._quants(engine, first.vendor, first.compute_capability):
            for size in sizes:
                chosen = available[:size]
                budget = min(self._free(state, gpu, engine) for gpu in chosen)
                need = self.need(engine, quant, context, kv_dtype, size)
                if need.total_bytes > budget:
                    continue
                setup = (
                    DecodeSetup(first.bandwidth_bytes_s, first.vendor, tensor_parallel=size)
                    if first.bandwidth_bytes_s
                    else None
                )
                return Fit(
                    engine=engine,
                    quant=quant,
                    context=context,
                    kv_dtype=kv_dtype,
                    gpus=tuple(gpu.index for gpu in sorted(chosen, key=lambda g: g.slot)),
                    slots=tuple(sorted(gpu.slot for gpu in chosen)),
                    tensor_parallel=size if exclusive else 1,
                    gpu_layers=self._all_layers(engine, on_gpu=True),
                    per_device=need,
                    offloaded_bytes=0,
                    budget_bytes=budget * size,
                    predicted_tps=self._tps(engine, quant, setup, context, kv_dtype),
                    attempt_index=index,
                    unified=False,
                )
        return None

    def _offloaded(
        self, state: HostState, engine: EngineSpec, index: int, context: int, kv_dtype: str
    ) -> Fit | None:
        """llama.cpp with some layers in system RAM: the most GPU memory of one GPU model, the rest on CPU."""
        host = state.resources
        model = self.request.model
        options: list[Fit] = []
        for group in _gpu_groups(host.gpus):
            first = group[0]
            if not _engine_runs_on(engine, first.vendor, first.compute_capability):
                continue
            chosen = self._available(state, group, engine)
            if not chosen:
                continue
            gpu_free = sum(self._free(state, gpu, engine) for gpu in chosen)
            ram_free = host.pool_bytes - state.pool_used
            for quant in self._quants(engine, first.vendor, first.compute_capability):
                whole = self.need(engine, quant, context, kv_dtype, 1)
                per_layer = (whole.weights_bytes + whole.kv_cache_bytes) / model.layers
                gpu_layers = min(
                    math.floor((gpu_free - whole.overhead_bytes * len(chosen)) / per_layer), model.layers - 1
                )
                cpu_bytes = math.ceil((model.layers - gpu_layers) * per_layer)
                if gpu_layers < 1 or cpu_bytes > ram_free:
                    continue
                on_gpu = (whole.weights_bytes + whole.kv_cache_bytes) - cpu_bytes
                share = cpu_bytes / (whole.weights_bytes + whole.kv_cache_bytes)
                weight_share = whole.weights_bytes / (whole.weights_bytes + whole.kv_cache_bytes)
                per_gpu = MemoryNeed(
                    weights_bytes=math.ceil(on_gpu * weight_share / len(chosen)),
                    kv_cache_bytes=math.ceil(on_gpu * (1 - weight_share) / len(chosen)),
                    overhead_bytes=whole.overhead_bytes,
                )
                cpu_bandwidth = (
                    host.cpu_bandwidth_bytes_s
                    or float(engine.tuning.get("cpu_memory_bandwidth_gbs_default", 0)) * 1e9
                )
                setup = (
                    DecodeSetup(first.bandwidth_bytes_s, first.vendor, len(chosen), share, cpu_bandwidth)
                    if first.bandwidth_bytes_s and cpu_bandwidth
                    else None
                )
                options.append(
                    Fit(
                        engine=engine,
                        quant=quant,
                        context=context,
                        kv_dtype=kv_dtype,
                        gpus=tuple(gpu.index for gpu in sorted(chosen, key=lambda g: g.slot)),
                        slots=tuple(sorted(gpu.slot for gpu in chosen)),
                        tensor_parallel=1,
                        gpu_layers=gpu_layers,
                        per_device=per_gpu,
                        offloaded_bytes=cpu_bytes,
                        budget_bytes=gpu_free,
                        predicted_tps=self._tps(engine, quant, setup, context, kv_dtype),
                        attempt_index=index,
                        unified=False,
                    )
                )
        if not options:
            return None
        mostly_on_gpu = [
            f for f in options if f.offloaded_bytes <= MAX_PREFERRED_OFFLOAD_SHARE * self._size(f)
        ]
        if mostly_on_gpu:
            return min(mostly_on_gpu, key=lambda f: (-f.quant.quality, -(f.gpu_layers or 0), f.gpus))
        return min(options, key=lambda f: (-(f.gpu_layers or 0), -f.quant.quality, f.gpus))

    def _size(self, fit: Fit) -> int:
        whole = self.need(fit.engine, fit.quant, fit.context, fit.kv_dtype, 1)
        return int(whole.weights_bytes + whole.kv_cache_bytes)

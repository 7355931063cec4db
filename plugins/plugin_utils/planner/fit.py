# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The ways a deployment can run on one host, and which of them fit the host as it is now.

For each host shape (hosts with equal hardware share it) a deployment gets a list of templates,
sized once on the empty host: every engine of the rule table (engine_choice.py), every quantization
it may load there, every context the deployment allows, every GPU count of every group of equal
GPUs, and for llama.cpp-style engines a few splits between GPU and system RAM (CPU offload) down to
all in RAM. Templates that another template beats in value while needing no more memory or GPUs
are dropped; the rest are ordered by value (objective.py). Whether a template fits a host as it is
now is a cheap check of the GPUs' and the pool's free bytes.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    Catalog,
    EngineSpec,
    QuantSpec,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog_specs import (
    default_decode_class,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import (
    engine_choice,
    objective,
    quant_choice,
    tensor_parallel,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import Gpu, HostResources
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.memory import MemoryNeed, memory_need
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import DeploymentRequest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.throughput import (
    DecodeSetup,
    bytes_per_token,
    decode_tps,
)

# Contexts are halved down to this when a deployment allows context reduction.
MIN_REDUCED_CONTEXT = 2048
# CPU offload splits tried, as shares of the most layers the empty GPUs hold; 0 is all in RAM.
OFFLOAD_SHARES = (1.0, 0.5, 0.0)
# Ways the search tries per host and decision, best value first (besides the best of each GPU share).
SEARCH_OPTIONS = 4
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

    def key(self) -> tuple[object, ...]:
        """What the host's fits depend on besides its hardware."""
        return (tuple(self.gpu_used), tuple(h is None for h in self.gpu_holder), self.pool_used)

    def copy(self) -> HostState:
        """An independent copy (the search tries placements on copies)."""
        return HostState(self.resources, list(self.gpu_used), list(self.gpu_holder), self.pool_used)


@dataclass(frozen=True)
class Template:
    """One way of running a replica on a host shape, sized on the empty host.

    ``group`` holds the slots of the GPUs it may take ``size`` of; a template with ``size`` 0 on a
    discrete host runs from system RAM only. ``ram_bytes`` is what it keeps in system RAM (CPU
    offload, or the whole replica on a CPU), ``per_device`` what each of its GPUs (or the pool)
    must hold.
    """

    engine: EngineSpec
    quant: QuantSpec
    context: int
    kv_dtype: str
    attempt_index: int
    group: tuple[int, ...]
    size: int
    tensor_parallel: int
    gpu_layers: int | None
    per_device: MemoryNeed
    ram_bytes: int
    exclusive: bool
    pooled: bool
    predicted_tps: float | None
    value: float
    # How it decodes (for predictions at other depths); the calibration factor it was given.
    setup: DecodeSetup | None = None
    calibration: float = 1.0

    def resources(self) -> tuple[int, int, int]:
        """GPUs, GPU bytes and RAM/pool bytes it takes, for comparing templates."""
        gpu_bytes = self.per_device.total_bytes * self.size if not self.pooled else 0
        ram = self.per_device.total_bytes if self.pooled else self.ram_bytes
        return (self.size, gpu_bytes, ram)

    def order(self) -> tuple[object, ...]:
        """Best first: value, then fewer GPUs and bytes, then ids (a total, deterministic order)."""
        gpus, gpu_bytes, ram = self.resources()
        return (
            -self.value,
            gpus,
            gpu_bytes + ram,
            self.attempt_index,
            self.engine.id,
            self.quant.id,
            self.group,
        )


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
    value: float = 0.0
    setup: DecodeSetup | None = None
    calibration: float = 1.0

    def used_bytes(self) -> int:
        """Bytes the replica takes of the host: on its GPUs (or the pool) and in system RAM."""
        return self.per_device.total_bytes * max(len(self.slots), 1) + self.offloaded_bytes


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


def gpu_groups(gpus: Sequence[Gpu]) -> list[list[Gpu]]:
    """GPUs that may work together: same model and memory (tensor parallel needs equal memory)."""
    groups: dict[tuple[object, ...], list[Gpu]] = {}
    for gpu in gpus:
        groups.setdefault(
            (gpu.device_id or gpu.name, gpu.memory_bytes, gpu.vendor, gpu.compute_capability), []
        ).append(gpu)
    return sorted(groups.values(), key=lambda g: (-g[0].memory_bytes, g[0].slot))


def _decode_class(gpu: Gpu) -> str:
    """The GPU's decode class: its catalog entry's, or its vendor's for a GPU no entry matches."""
    return gpu.decode_class or default_decode_class(gpu.vendor, gpu.unified)


def _utilisation(engine: EngineSpec) -> float:
    return float(engine.tuning.get("memory_utilization", 1.0))


def _dominated(candidate: Template, kept: Sequence[tuple[Template, tuple[int, int, int]]]) -> bool:
    """True when a kept template (on the same GPUs) is worth as much and needs no more of anything.

    ``kept`` holds templates of higher or equal value with their resources.
    """
    gpus, gpu_bytes, ram = candidate.resources()
    return any(
        other_gpus <= gpus
        and other_bytes <= gpu_bytes
        and other_ram <= ram
        and (candidate.exclusive or not other.exclusive)
        for other, (other_gpus, other_bytes, other_ram) in kept
    )


@dataclass(frozen=True)
class _Way:
    """An engine of the rule table at one context: what every template built from it shares."""

    engine: EngineSpec
    index: int
    context: int
    kv_dtype: str


class FitSearch:
    """The templates of one deployment per host shape, and their fit on a host as it is now.

    Each (engine, quant, context, kv dtype, GPU count) memory need is computed once, and each host
    shape's templates once.
    """

    def __init__(
        self,
        request: DeploymentRequest,
        catalog: Catalog,
        calibration: Mapping[tuple[str, str], float] | None = None,
    ) -> None:
        self.request = request
        self.catalog = catalog
        # Measured / predicted decode speed per (device id or "cpu", engine), from a benchmark.
        self.calibration = calibration or {}
        self._needs: dict[tuple[str, str, int, str, int], MemoryNeed] = {}
        self._quant_lists: dict[tuple[str, str, str | None], list[QuantSpec]] = {}
        self._templates: dict[tuple[object, ...], tuple[Template, ...]] = {}
        self._per_token: dict[tuple[str, str, int, str], int] = {}

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

    def quants(self, engine: EngineSpec, vendor: str, capability: str | None) -> list[QuantSpec]:
        """Quantizations ``engine`` may load for this deployment on a ``vendor`` device, best first."""
        key = (engine.id, vendor, capability)
        if key not in self._quant_lists:
            self._quant_lists[key] = quant_choice.candidates(
                self.catalog, engine, vendor, capability, pinned=self.request.quant, model=self.request.model
            )
        return self._quant_lists[key]

    def contexts(self) -> list[int]:
        """The requested context, then halvings when the deployment allows reduction."""
        contexts = [self.request.context]
        if self.request.allow_context_reduction:
            while contexts[-1] // 2 >= MIN_REDUCED_CONTEXT:
                contexts.append(contexts[-1] // 2)
        return contexts

    # ---------------------------------------------------------------- templates of a host shape

    def templates(self, host: HostResources) -> tuple[Template, ...]:
        """Every non-dominated way of running one replica on an empty ``host``, best value first."""
        key = host.signature()
        found = self._templates.get(key)
        if found is None:
            found = self._build(host)
            self._templates[key] = found
        return found

    def _template(
        self, way: _Way, quant: QuantSpec, setup: DecodeSetup | None, device: str | None, **shape: object
    ) -> Template:
        """A template of ``way`` and ``quant`` decoding with ``setup`` on ``device`` (a catalog id or
        "cpu"); ``shape`` holds its GPUs, need and RAM."""
        factor = self.calibration.get((device or "", way.engine.id), 1.0)
        tps = self._tps(way, quant, setup)
        if tps is not None:
            tps = round(tps * factor, 1)
        value = objective.replica_value(
            prefer=self.request.prefer,
            tps=tps,
            quality=quant.quality,
            context=way.context,
            requested_context=self.request.context,
            offloaded=bool(shape.get("ram_bytes")),
            attempt_index=way.index,
        )
        return Template(
            engine=way.engine,
            quant=quant,
            context=way.context,
            kv_dtype=way.kv_dtype,
            attempt_index=way.index,
            predicted_tps=tps,
            value=value,
            setup=setup,
            calibration=factor,
            **shape,  # type: ignore[arg-type]  # the keyword names are Template's own fields
        )

    def _build(self, host: HostResources) -> tuple[Template, ...]:
        found: list[Template] = []
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
                way = _Way(engine, index, context, kv_dtype)
                if host.platform != "discrete":
                    found += self._pooled(host, way)
                    continue
                for group in gpu_groups(host.gpus):
                    found += self._on_gpus(group, way, attempt.max_gpus)
                    if attempt.allow_offload:
                        found += self._offloaded(host, group, way)
        kept: dict[tuple[int, ...], list[tuple[Template, tuple[int, int, int]]]] = {}
        for template in sorted(found, key=Template.order):
            same = kept.setdefault(template.group, [])
            if not _dominated(template, same):
                same.append((template, template.resources()))
        return tuple(sorted((t for group in kept.values() for t, _r in group), key=Template.order))

    def _tps(self, way: _Way, quant: QuantSpec, setup: DecodeSetup | None) -> float | None:
        if setup is None:
            return None
        # The deployment's own depth, within the context this template keeps.
        filled = min(self.request.depth, way.context)
        key = (way.engine.id, quant.id, filled, way.kv_dtype)
        if key not in self._per_token:
            self._per_token[key] = bytes_per_token(
                self.request.model, quant, way.engine, filled, way.kv_dtype
            )
        speed = decode_tps(
            self.request.model,
            quant,
            way.engine,
            setup,
            filled=filled,
            kv_dtype=way.kv_dtype,
            per_token=self._per_token[key],
        )
        return round(float(speed), 1)

    def _all_layers(self, engine: EngineSpec, on_gpu: bool) -> int | None:
        """llama.cpp's -ngl for the whole model (layers + output layer), 0 on CPU; None for other engines."""
        if engine.id not in engine_choice.LAYER_OFFLOAD_ENGINES:
            return None
        return self.request.model.layers + 1 if on_gpu else 0

    def _pooled(self, host: HostResources, way: _Way) -> list[Template]:
        """Unified memory or CPU only: one pool, no tensor parallel."""
        if self.request.gpus is not None and (self.request.gpus != 1 or not host.gpus):
            # One pool is one GPU: a pin to more, or to a GPU on a CPU host, cannot be met here.
            return []
        vendor = host.vendor
        capability = host.gpus[0].compute_capability if host.gpus else None
        if not _engine_runs_on(way.engine, vendor, capability):
            return []
        if host.gpus:
            bandwidth: float | None = host.gpus[0].bandwidth_bytes_s
        else:
            default = way.engine.tuning.get("cpu_memory_bandwidth_gbs_default")
            bandwidth = host.cpu_bandwidth_bytes_s or (float(default) * 1e9 if default else None)
        setup = (
            DecodeSetup(bandwidth, vendor, device_class=_decode_class(host.gpus[0]) if host.gpus else None)
            if bandwidth
            else None
        )
        found = []
        for quant in self.quants(way.engine, vendor, capability):
            need = self.need(way.engine, quant, way.context, way.kv_dtype, 1)
            if need.total_bytes > host.pool_bytes:
                continue
            found.append(
                self._template(
                    way,
                    quant,
                    setup,
                    host.gpus[0].device_id if host.gpus else "cpu",
                    group=tuple(gpu.slot for gpu in host.gpus[:1]),
                    size=len(host.gpus[:1]),
                    tensor_parallel=1,
                    gpu_layers=self._all_layers(way.engine, on_gpu=bool(host.gpus)),
                    per_device=need,
                    ram_bytes=0,
                    exclusive=False,
                    pooled=True,
                )
            )
        return found

    def _on_gpus(self, group: Sequence[Gpu], way: _Way, max_gpus: int) -> list[Template]:
        first = group[0]
        engine = way.engine
        if not _engine_runs_on(engine, first.vendor, first.compute_capability):
            return []
        limit = min(len(group), max_gpus)
        exclusive = bool(engine.tuning.get("exclusive_devices"))
        sizes = (
            tensor_parallel.options(self.request.model, limit).sizes
            if exclusive
            else tuple(range(1, limit + 1))
        )
        if self.request.gpus is not None:
            sizes = tuple(size for size in sizes if size == self.request.gpus)
        budget = int(first.memory_bytes * _utilisation(engine))
        found: list[Template] = []
        for quant in self.quants(engine, first.vendor, first.compute_capability):
            for size in sizes:
                need = self.need(engine, quant, way.context, way.kv_dtype, size)
                if need.total_bytes > budget:
                    continue
                if not exclusive and found and found[-1].quant is quant:
                    # llama.cpp splits layers: more GPUs than it needs are slower, not faster.
                    break
                setup = (
                    DecodeSetup(
                        first.bandwidth_bytes_s,
                        first.vendor,
                        tensor_parallel=size if exclusive else 1,
                        device_class=_decode_class(first),
                        layer_split=1 if exclusive else size,
                    )
                    if first.bandwidth_bytes_s
                    else None
                )
                found.append(
                    self._template(
                        way,
                        quant,
                        setup,
                        first.device_id,
                        group=tuple(gpu.slot for gpu in group),
                        size=size,
                        tensor_parallel=size if exclusive else 1,
                        gpu_layers=self._all_layers(engine, on_gpu=True),
                        per_device=need,
                        ram_bytes=0,
                        exclusive=exclusive,
                        pooled=False,
                    )
                )
        return found

    def _offloaded(self, host: HostResources, group: Sequence[Gpu], way: _Way) -> list[Template]:
        """llama.cpp with layers in system RAM: splits of the group's GPUs down to all in RAM."""
        model = self.request.model
        engine = way.engine
        count = self.request.gpus or len(group)
        if count > len(group):
            return []
        group = group[:count]
        first = group[0]
        if not _engine_runs_on(engine, first.vendor, first.compute_capability):
            return []
        cpu_bandwidth = (
            host.cpu_bandwidth_bytes_s
            or float(engine.tuning.get("cpu_memory_bandwidth_gbs_default", 0)) * 1e9
        )
        gpu_free = int(first.memory_bytes * _utilisation(engine)) * len(group)
        found = []
        for quant in self.quants(engine, first.vendor, first.compute_capability):
            whole = self.need(engine, quant, way.context, way.kv_dtype, 1)
            layer_bytes = whole.weights_bytes + whole.kv_cache_bytes
            per_layer = layer_bytes / model.layers
            most = min(
                math.floor((gpu_free - whole.overhead_bytes * len(group)) / per_layer), model.layers - 1
            )
            for gpu_layers in sorted(
                {max(0, math.floor(most * share)) for share in OFFLOAD_SHARES}, reverse=True
            ):
                cpu_bytes = math.ceil((model.layers - gpu_layers) * per_layer)
                if gpu_layers == 0:
                    if self.request.gpus is None:
                        found += self._in_ram(host, way, quant, whole, cpu_bandwidth)
                    continue
                if cpu_bytes > host.pool_bytes:
                    continue
                on_gpu = layer_bytes - cpu_bytes
                weight_share = whole.weights_bytes / layer_bytes
                per_gpu = MemoryNeed(
                    weights_bytes=math.ceil(on_gpu * weight_share / len(group)),
                    kv_cache_bytes=math.ceil(on_gpu * (1 - weight_share) / len(group)),
                    overhead_bytes=whole.overhead_bytes,
                )
                setup = (
                    DecodeSetup(
                        first.bandwidth_bytes_s,
                        first.vendor,
                        offloaded_share=cpu_bytes / layer_bytes,
                        cpu_bandwidth_bytes_s=cpu_bandwidth,
                        device_class=_decode_class(first),
                        layer_split=len(group),
                    )
                    if first.bandwidth_bytes_s and cpu_bandwidth
                    else None
                )
                found.append(
                    self._template(
                        way,
                        quant,
                        setup,
                        first.device_id,
                        group=tuple(gpu.slot for gpu in group),
                        size=len(group),
                        tensor_parallel=1,
                        gpu_layers=gpu_layers,
                        per_device=per_gpu,
                        ram_bytes=cpu_bytes,
                        exclusive=False,
                        pooled=False,
                    )
                )
        return found

    def _in_ram(
        self, host: HostResources, way: _Way, quant: QuantSpec, whole: MemoryNeed, cpu_bandwidth: float
    ) -> list[Template]:
        """The whole replica in system RAM of a GPU host, decoded by the CPU (llama.cpp -ngl 0)."""
        if whole.total_bytes > host.pool_bytes:
            return []
        setup = DecodeSetup(cpu_bandwidth, "cpu") if cpu_bandwidth else None
        return [
            self._template(
                way,
                quant,
                setup,
                "cpu",
                group=(),
                size=0,
                tensor_parallel=1,
                gpu_layers=0,
                per_device=whole,
                ram_bytes=whole.total_bytes,
                exclusive=False,
                pooled=False,
            )
        ]

    # ---------------------------------------------------------------- fit on a host as it is now

    def place(self, template: Template, state: HostState) -> Fit | None:
        """``template`` on the host as it is now, with the GPUs it takes; None when it does not fit."""
        chosen = self._room(template, state)
        if chosen is None:
            return None
        host = state.resources
        if template.pooled or template.size == 0:
            return self._fit(template, chosen, host.pool_bytes - state.pool_used)
        budget = int(host.gpus[template.group[0]].memory_bytes * _utilisation(template.engine))
        free = min(budget - state.gpu_used[gpu.slot] for gpu in chosen)
        return self._fit(template, chosen, free * template.size)

    def _room(self, template: Template, state: HostState) -> list[Gpu] | None:
        """The GPUs ``template`` takes on the host as it is now, or None when it does not fit."""
        host = state.resources
        in_ram = template.per_device.total_bytes if template.pooled else template.ram_bytes
        if in_ram > host.pool_bytes - state.pool_used:
            return None
        if template.pooled or template.size == 0:
            return list(host.gpus[: template.size])
        chosen = self._gpus(template, state)
        if len(chosen) < template.size:
            return None
        budget = int(host.gpus[template.group[0]].memory_bytes * _utilisation(template.engine))
        need = template.per_device.total_bytes
        return chosen if all(budget - state.gpu_used[gpu.slot] >= need for gpu in chosen) else None

    @staticmethod
    def _gpus(template: Template, state: HostState) -> list[Gpu]:
        """The GPUs of the template's group it would take: free of exclusive holders (and unused, for an
        exclusive engine), the least used first."""
        usable = [
            state.resources.gpus[slot]
            for slot in template.group
            if state.gpu_holder[slot] is None and (not template.exclusive or state.gpu_used[slot] == 0)
        ]
        usable.sort(key=lambda gpu: (state.gpu_used[gpu.slot], gpu.slot))
        return usable[: template.size]

    def _fit(self, template: Template, chosen: Sequence[Gpu], budget: int) -> Fit:
        ordered = sorted(chosen, key=lambda g: g.slot)
        return Fit(
            engine=template.engine,
            quant=template.quant,
            context=template.context,
            kv_dtype=template.kv_dtype,
            gpus=tuple(gpu.index for gpu in ordered),
            slots=tuple(gpu.slot for gpu in ordered),
            tensor_parallel=template.tensor_parallel,
            gpu_layers=template.gpu_layers,
            per_device=template.per_device,
            offloaded_bytes=template.ram_bytes,
            budget_bytes=budget,
            predicted_tps=template.predicted_tps,
            attempt_index=template.attempt_index,
            unified=template.pooled,
            value=template.value,
            setup=template.setup,
            calibration=template.calibration,
        )

    def best(self, state: HostState) -> Fit | None:
        """The most valuable way to run the deployment on ``state``'s host as it is now, or None."""
        for template in self.templates(state.resources):
            fit = self.place(template, state)
            if fit is not None:
                return fit
        return None

    def frontier(self, state: HostState) -> tuple[tuple[int, float], ...]:
        """The (fast bytes, value) pairs of the templates that fit the host as it is now, fewest bytes
        first, each worth more than the one before (what a bound of the search needs: a template that
        does not fit now never fits further down, as hosts only fill up). Fast bytes: see fast_bytes."""
        host = state.resources
        points = sorted(
            (fast_bytes(template, host), -template.value)
            for template in self.templates(host)
            if self._room(template, state) is not None
        )
        kept: list[tuple[int, float]] = []
        for used, negated in points:
            if not kept or -negated > kept[-1][1]:
                kept.append((used, -negated))
        return tuple(kept)

    def options(self, state: HostState) -> list[Fit]:
        """The ways that fit the host as it is now that the search tries, best value first: the
        SEARCH_OPTIONS most valuable, and the most valuable of each share of the GPUs' memory
        (none, up to a quarter, a half, three quarters, all), so that a way that leaves the GPUs to
        others is always among them."""
        host = state.resources
        capacity = sum(gpu.memory_bytes for gpu in host.gpus) if host.platform == "discrete" else 0
        kept: list[Template] = []
        buckets: set[int] = set()
        for template in self.templates(host):
            bucket = math.ceil(4 * template.resources()[1] / capacity) if capacity else 0
            if len(kept) >= SEARCH_OPTIONS and bucket in buckets:
                continue
            if self._room(template, state) is None:
                continue
            kept.append(template)
            buckets.add(bucket)
        return [fit for template in kept if (fit := self.place(template, state)) is not None]


def fast_bytes(template: Template, host: HostResources) -> int:
    """The bytes of the host's scarce memory ``template`` takes: its GPUs' memory on a discrete host
    (all of each GPU for an exclusive engine: no other replica may use it), the pool on the others.
    System RAM of a discrete host is left out: it is plentiful beside the GPUs, and a bound that
    leaves a resource out stays a bound."""
    if template.pooled:
        return template.per_device.total_bytes
    if template.exclusive:
        return sum(host.gpus[slot].memory_bytes for slot in template.group[: template.size])
    return template.per_device.total_bytes * template.size


def free_fast_bytes(state: HostState) -> int:
    """The scarce memory (fast_bytes) the host has left: GPUs that an exclusive engine holds have none."""
    host = state.resources
    if host.platform != "discrete":
        return max(0, host.pool_bytes - state.pool_used)
    return sum(
        max(0, gpu.memory_bytes - state.gpu_used[gpu.slot])
        for gpu in host.gpus
        if state.gpu_holder[gpu.slot] is None
    )


def consume(state: HostState, fit: Fit, label: str) -> None:
    """Take ``fit``'s memory and GPUs from ``state``."""
    if fit.unified:
        state.pool_used += fit.per_device.total_bytes
        return
    for slot in fit.slots:
        state.gpu_used[slot] += fit.per_device.total_bytes
        if fit.engine.tuning.get("exclusive_devices"):
            state.gpu_holder[slot] = label
    state.pool_used += fit.offloaded_bytes

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""How well the planner's decode speed model predicts published measurements (issue 21, item 2).

Run: ``.venv/bin/python tests/benchmarks/decode_accuracy.py`` (``make accuracy``); ``--rows`` lists
every row, ``--yaml`` prints the fitted tuning blocks for catalogs/engines.yml.

Every row of tests/fixtures/planner/decode_measurements.yml whose model and quantization the
planner can describe is fed through the planner's own prediction path: ``throughput.bytes_per_token``
(active weights plus the KV cache at the row's depth) and ``throughput.decode_tps`` with the row's
device (catalogs/devices.yml), engine and GPU count, exactly as ``fit.py`` builds a ``DecodeSetup``.

The model's free numbers (per device class: bandwidth efficiency, MoE efficiency, per-layer cost;
per engine: a speed factor against llama.cpp; the layer-split hop) are fitted by coordinate descent
on the sum of absolute log errors (a median-like, outlier-robust criterion), starting from the same
priors every time, so the fit is reproducible. A class with no rows in the training set takes its
vendor's values (then the pooled default), as the planner does for a class the catalog does not
name. The headline is leave-one-source-out: for each ``source_id`` the model is refitted on the
other sources and scored on that one; the errors of all rows are then pooled. In-sample (fitted and
scored on everything: the values engines.yml holds) comes second.
tests/unit/plugins/plugin_utils/test_decode_accuracy.py imports :func:`evaluate` and holds the gates.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / ".build" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (  # noqa: E402
    AttentionSpec,
    Catalog,
    DeviceSpec,
    EngineSpec,
    ModelSpec,
    QuantSpec,
    load_catalog,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.throughput import (  # noqa: E402
    DEFAULT_CLASS,
    DecodeSetup,
    bytes_per_token,
    decode_tps,
)

MEASUREMENTS = REPO / "tests" / "fixtures" / "planner" / "decode_measurements.yml"
FULL = AttentionSpec("full", None, 0, 0, None, None)
# Measured models the catalog lacks, from their config.json files.
EXTRA_MODELS = {
    # https://huggingface.co/meta-llama/Llama-2-7b-hf/blob/main/config.json
    "meta-llama/Llama-2-7b-hf": ModelSpec(
        "meta-llama/Llama-2-7b-hf", 6_740_000_000, 6_740_000_000, 32, 4096, 32, 32, 128, 32000, 4096,
        False, FULL, None, "config.json",
    ),
    # https://huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Qwen-14B/blob/main/config.json
    "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B": ModelSpec(
        "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B", 14_770_000_000, 14_770_000_000, 48, 5120, 40, 8, 128,
        152064, 131072, False, FULL, None, "config.json",
    ),
    # https://huggingface.co/jeff31415/TinyLlama-1.1B-1T-OpenOrca/blob/main/config.json (TinyLlama 1.1B)
    "jeff31415/TinyLlama-1.1B-1T-OpenOrca": ModelSpec(
        "jeff31415/TinyLlama-1.1B-1T-OpenOrca", 1_100_000_000, 1_100_000_000, 22, 2048, 32, 4, 64, 32000,
        2048, False, FULL, None, "config.json",
    ),
}  # fmt: skip
# Same language model as a catalog entry: base vs instruct, a 2507 refresh, another publisher's
# quantization, the vision-language sibling (the vision tower is not read per decoded token), the
# coder release of the same architecture.
SAME_AS = {
    "meta-llama/Llama-3.1-8B": "meta-llama/Llama-3.1-8B-Instruct",
    "nvidia/Llama-3.3-70B-Instruct-NVFP4": "meta-llama/Llama-3.3-70B-Instruct",
    "Qwen/Qwen3-30B-A3B-Instruct-2507": "Qwen/Qwen3-30B-A3B",
    "Qwen/Qwen3-235B-A22B-Instruct-2507": "Qwen/Qwen3-235B-A22B",
    "Qwen/Qwen3-VL-32B-Instruct": "Qwen/Qwen3-32B",
    "Qwen/Qwen3-Coder-Next": "Qwen/Qwen3-Next-80B-A3B-Instruct",
}
# Row labels that are not catalog ids: Unsloth Dynamic mixes take the llama.cpp type they are built
# around (their few wider tensors are not modelled), MLX labels are the catalog's mlx ids, a GGUF
# "BF16" file reads as many bytes as F16.
QUANT_LABELS = {
    "UD-Q3_K_XL": "Q3_K_M",
    "UD-Q4_K_XL": "Q4_K_M",
    "UD-Q4_K_M": "Q4_K_M",
    "UD-Q6_K_XL": "Q6_K",
    "UD-Q8_K_XL": "Q8_0",
    "MLX-4bit": "mlx-4bit",
    "MLX-8bit": "mlx-8bit",
}
# ik_llama.cpp is a llama.cpp fork with the same kernels for these types.
ENGINE_ALIASES = {"ik_llama.cpp": "llama.cpp"}
# The engine whose speed the other engines' factors are relative to.
REFERENCE_ENGINE = "llama.cpp"
# Engines sharing llama.cpp's tables (their factor scales them).
GGUF_ENGINES = ("llama.cpp", "ollama")


@dataclass(frozen=True)
class Row:
    """One measurement resolved to catalog specs, with the bytes it reads per token."""

    index: int
    source_id: str
    device: DeviceSpec
    engine: str
    model: ModelSpec
    quant: QuantSpec
    gpus: int
    depth: int
    kv_dtype: str
    per_token: int
    measured: float
    label: str

    def setup(self, exclusive: bool) -> DecodeSetup:
        """The DecodeSetup fit.py builds for this device, engine and GPU count."""
        if self.gpus == 0:
            return DecodeSetup(self.device.bandwidth_bytes_s, "cpu")
        return DecodeSetup(
            self.device.bandwidth_bytes_s,
            self.device.vendor,
            tensor_parallel=self.gpus if exclusive else 1,
            device_class=self.device.decode_class,
            layer_split=1 if exclusive else self.gpus,
        )


@dataclass(frozen=True)
class Scored:
    """A row with its prediction."""

    row: Row
    predicted: float

    @property
    def error(self) -> float:
        """Signed error in percent of the measured rate."""
        return (self.predicted - self.row.measured) / self.row.measured * 100


def _device_id(raw: Mapping[str, Any]) -> str:
    slug = str(raw.get("device") or raw.get("device_proposed"))
    # "a100-80gb-sxm or a100-80gb-pcie": the source does not say; both read at about 2 TB/s.
    return slug.split(" or ", maxsplit=1)[0]


def _model(catalog: Catalog, name: str) -> ModelSpec | None:
    name = SAME_AS.get(name, name)
    return catalog.models.get(name) or EXTRA_MODELS.get(name)


def _quant(catalog: Catalog, raw: Mapping[str, Any], engine: EngineSpec) -> QuantSpec | None:
    label = QUANT_LABELS.get(raw["quant"], raw["quant"])
    if "gguf" in engine.formats:
        label = {"MXFP4": "MXFP4_MOE", "BF16": "F16"}.get(label, label)
    return catalog.quantizations.get(label)


def load_rows(catalog: Catalog | None = None) -> tuple[list[Row], dict[str, int]]:
    """Every usable row, and how many rows each exclusion reason removed."""
    catalog = catalog or load_catalog()
    document = yaml.safe_load(MEASUREMENTS.read_text(encoding="utf-8"))
    rows: list[Row] = []
    excluded: dict[str, int] = defaultdict(int)
    for index, raw in enumerate(document["measurements"]):
        engine_id = ENGINE_ALIASES.get(raw["engine"], raw["engine"])
        engine = catalog.engines.get(engine_id)
        device = catalog.devices.get(_device_id(raw))
        model = _model(catalog, raw["model"])
        if engine is None or device is None:
            excluded["engine or device not in the catalog"] += 1
            continue
        if model is None:
            excluded["model's config.json not in the catalog or this script"] += 1
            continue
        quant = _quant(catalog, raw, engine)
        if quant is None:
            excluded["quantization not in the catalog"] += 1
            continue
        depth = int(raw.get("depth") or 0)
        kv_dtype = "fp8" if raw.get("kv_cache") == "fp8" else str(engine.tuning["default_kv_cache_dtype"])
        rows.append(
            Row(
                index=index,
                source_id=raw["source_id"],
                device=device,
                engine=engine_id,
                model=model,
                quant=quant,
                gpus=int(raw["gpus"]),
                depth=depth,
                kv_dtype=kv_dtype,
                per_token=bytes_per_token(model, quant, engine, depth, kv_dtype),
                measured=float(raw["decode_tps"]),
                label=f"{raw['source_id']}: {device.id} x{raw['gpus']} {raw['engine']} {raw['model']} "
                f"{raw['quant']} d{depth}",
            )
        )
    return rows, dict(excluded)


# ---------------------------------------------------------------------------------------- fitting


@dataclass
class Params:
    """The free numbers of the model (see the module docstring)."""

    efficiency: dict[str, float]
    moe: dict[str, float]
    layer_s: dict[str, float]
    engine_factor: dict[str, float]
    hop_s: float

    def copy(self) -> Params:
        """An independent copy."""
        return Params(
            dict(self.efficiency), dict(self.moe), dict(self.layer_s), dict(self.engine_factor), self.hop_s
        )


# Starting values of every fit (and what a class or engine without training rows keeps).
PRIOR_EFFICIENCY = 0.6
PRIOR_MOE = 0.7
PRIOR_LAYER_S = 20e-6
PRIOR_HOP_S = 0.0


def tuning_for(params: Params, engine: EngineSpec) -> dict[str, Any]:
    """engines.yml speed keys of ``engine`` for ``params`` (what the catalog holds after a fit)."""
    factor = params.engine_factor.get(engine.id, 1.0)

    def runs_on(key: str) -> bool:
        # llama.cpp's tables keep every class (Intel GPUs run it through Vulkan, outside the planner).
        return (
            engine.id in GGUF_ENGINES
            or key == DEFAULT_CLASS
            or key.split("-", maxsplit=1)[0] in engine.vendors
        )

    tuning = dict(engine.tuning)
    tuning["decode_efficiency"] = {
        k: round(v * factor, 3) for k, v in sorted(params.efficiency.items()) if runs_on(k)
    }
    tuning["moe_efficiency"] = {k: round(v, 3) for k, v in sorted(params.moe.items()) if runs_on(k)}
    tuning["layer_overhead_s"] = {k: round(v, 7) for k, v in sorted(params.layer_s.items()) if runs_on(k)}
    if engine.id in GGUF_ENGINES:
        tuning["layer_split_hop_s"] = round(params.hop_s, 6)
    return tuning


def _engines(catalog: Catalog, params: Params, used: Iterable[str] | None = None) -> dict[str, EngineSpec]:
    return {
        engine_id: dataclasses.replace(engine, tuning=tuning_for(params, engine))
        for engine_id, engine in catalog.engines.items()
        if used is None or engine_id in used
    }


def predict(rows: Iterable[Row], engines: Mapping[str, EngineSpec]) -> list[Scored]:
    """Each row through throughput.decode_tps with ``engines``' tuning."""
    scored = []
    for row in rows:
        engine = engines[row.engine]
        setup = row.setup(bool(engine.tuning.get("exclusive_devices")))
        tps = decode_tps(
            row.model,
            row.quant,
            engine,
            setup,
            filled=row.depth,
            kv_dtype=row.kv_dtype,
            per_token=row.per_token,
        )
        scored.append(Scored(row, tps))
    return scored


def _loss(rows: Sequence[Row], catalog: Catalog, params: Params) -> float:
    engines = _engines(catalog, params, {row.engine for row in rows})
    return sum(abs(math.log(s.predicted / s.row.measured)) for s in predict(rows, engines))


def _class(row: Row) -> str:
    return "cpu" if row.gpus == 0 else row.device.decode_class


def _vendor(row: Row) -> str:
    return "cpu" if row.gpus == 0 else row.device.vendor


# Multiplicative steps tried per sweep, coarse to fine.
STEPS = (1.5, 1.2, 1.07, 1.02)


def _tune(
    current: float,
    loss: Callable[[float], float],
    *,
    additive: float | None = None,
    low: float = 0.0,
    high: float = math.inf,
) -> float:
    """One coordinate: try the value scaled up and down by each step, keep the best."""
    best, best_loss = current, loss(current)
    for step in STEPS:
        improved = True
        while improved:
            improved = False
            for candidate in (
                (best * step, best / step) if additive is None else (best + additive, best - additive)
            ):
                if not low <= candidate <= high:
                    continue
                value = loss(candidate)
                if value < best_loss - 1e-12:
                    best, best_loss, improved = candidate, value, True
        if additive is not None:
            additive /= 3
    return best


# A class (or vendor) gets entries of its own only when at least this many independent sources
# measured it; otherwise its rows are fitted with, and read, the next entry of the fallback chain
# (class -> vendor -> default), as throughput.class_value reads a table that lacks the class. One
# source's rows alone would fit that source's build and harness, not the hardware.
MIN_SOURCES = 2
# The MoE factor has entries per unified-memory class (expert matrices read from LPDDR by an
# integrated GPU fare differently per chip: issue 21 found GB10's under-predicted) and one shared
# entry for discrete GPUs.
MOE_CLASSES = ("apple", "apple-ultra", "amd-unified", "nvidia-unified")


@dataclass(frozen=True)
class Keys:
    """Which entry of each table a row is fitted with and reads."""

    efficiency: str
    layer_s: str
    moe: str


def table_keys(rows: Sequence[Row]) -> dict[int, Keys]:
    """Per row (by index): its efficiency entry (device class), per-layer cost entry (vendor: the
    driver's kernel launch path, CUDA, ROCm/Vulkan, Metal, CPU threads) and MoE entry, each falling
    back while fewer than MIN_SOURCES sources back it."""
    sources: dict[tuple[str, str], set[str]] = defaultdict(set)
    for row in rows:
        sources[("class", _class(row))].add(row.source_id)
        sources[("vendor", _vendor(row))].add(row.source_id)
        if row.model.moe is not None:
            sources[("moe", _class(row))].add(row.source_id)

    def backed(kind: str, name: str) -> bool:
        return len(sources[(kind, name)]) >= MIN_SOURCES

    keys = {}
    for row in rows:
        decode_class, vendor = _class(row), _vendor(row)
        efficiency = decode_class
        moe = decode_class if decode_class in MOE_CLASSES and backed("moe", decode_class) else DEFAULT_CLASS
        layer = vendor if backed("vendor", vendor) else DEFAULT_CLASS
        keys[row.index] = Keys(efficiency, layer, moe)
    return keys


def fit(rows: Sequence[Row], catalog: Catalog, sweeps: int = 3) -> Params:
    """The parameters that minimise the summed absolute log error over ``rows``."""
    engines = sorted({row.engine for row in rows} - {REFERENCE_ENGINE})
    tables: dict[str, dict[str, list[Row]]] = {"efficiency": {}, "layer_s": {}, "moe": {}}
    keys = table_keys(rows)
    for row in rows:
        tables["efficiency"].setdefault(keys[row.index].efficiency, []).append(row)
        tables["layer_s"].setdefault(keys[row.index].layer_s, []).append(row)
        if row.model.moe is not None:
            tables["moe"].setdefault(keys[row.index].moe, []).append(row)
    priors = {"efficiency": PRIOR_EFFICIENCY, "layer_s": PRIOR_LAYER_S, "moe": PRIOR_MOE}
    params = Params(
        efficiency={k: PRIOR_EFFICIENCY for k in sorted(tables["efficiency"])},
        moe={k: PRIOR_MOE for k in sorted(tables["moe"])},
        layer_s={k: PRIOR_LAYER_S for k in sorted(tables["layer_s"])},
        engine_factor={e: 1.0 for e in engines},
        hop_s=PRIOR_HOP_S,
    )
    by_engine: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_engine[row.engine].append(row)
    split_rows = [row for row in rows if row.gpus > 1]

    def setter(table: str, key: str, subset: Sequence[Row]) -> Callable[[float], float]:
        def loss(value: float) -> float:
            trial = params.copy()
            getattr(trial, table)[key] = value
            return _loss(subset, catalog, trial)

        return loss

    for _sweep in range(sweeps):
        for table in ("efficiency", "layer_s", "moe"):
            current = getattr(params, table)
            for key in sorted(tables[table]):
                # No stream reads faster than the data sheet's bandwidth, nor MoE faster than dense.
                high = 1.0 if table in ("efficiency", "moe") else math.inf
                current[key] = _tune(current[key], setter(table, key, tables[table][key]), high=high)
        for e in engines:
            # Ollama runs llama.cpp's kernels behind its own runner: never faster than llama.cpp.
            high = 1.0 if e == "ollama" else math.inf
            params.engine_factor[e] = _tune(
                params.engine_factor[e], setter("engine_factor", e, by_engine[e]), high=high
            )
        if split_rows:

            def hop_loss(value: float) -> float:
                trial = params.copy()
                trial.hop_s = value
                return _loss(split_rows, catalog, trial)

            params.hop_s = _tune(params.hop_s, hop_loss, additive=0.002)
    for table, prior in priors.items():
        current = getattr(params, table)
        if DEFAULT_CLASS not in current:
            # What a class the fit never saw reads: the median over the ones it did see.
            current[DEFAULT_CLASS] = statistics.median(current.values()) if current else prior
    return params


# ---------------------------------------------------------------------------------------- scoring


def median_p90(errors: Iterable[float]) -> tuple[float, float]:
    """Median and 90th percentile (inclusive interpolation) of absolute errors, in percent."""
    values = sorted(abs(error) for error in errors)
    if not values:
        return math.nan, math.nan
    if len(values) == 1:
        return values[0], values[0]
    return statistics.median(values), statistics.quantiles(values, n=10, method="inclusive")[-1]


def _is_moe_unified(s: Scored) -> bool:
    return s.row.model.moe is not None and s.row.device.unified_memory and s.row.gpus > 0


# The groups of issue 21's table, each a test on a scored row.
GROUPS: Mapping[str, Callable[[Scored], bool]] = {
    "Apple": lambda s: s.row.device.vendor == "apple",
    "AMD (incl. Strix Halo)": lambda s: s.row.device.vendor == "amd" and s.row.gpus > 0,
    "NVIDIA": lambda s: s.row.device.vendor == "nvidia" and s.row.gpus > 0,
    "multi-GPU llama.cpp": lambda s: s.row.gpus > 1 and s.row.engine in GGUF_ENGINES,
    "MoE on unified memory": _is_moe_unified,
    "Q4_0": lambda s: s.row.quant.id == "Q4_0",
    "CPU": lambda s: s.row.gpus == 0,
}


@dataclass(frozen=True)
class Evaluation:
    """Leave-one-source-out and in-sample predictions, the in-sample fit, and the exclusions."""

    loso: list[Scored]
    in_sample: list[Scored]
    params: Params
    excluded: dict[str, int]


def evaluate(catalog: Catalog | None = None, sweeps: int = 3) -> Evaluation:
    """Fit on everything (in-sample) and once per left-out source (LOSO)."""
    catalog = catalog or load_catalog()
    rows, excluded = load_rows(catalog)
    params = fit(rows, catalog, sweeps)
    in_sample = predict(rows, _engines(catalog, params))
    loso: list[Scored] = []
    for source in sorted({row.source_id for row in rows}):
        train = [row for row in rows if row.source_id != source]
        held = [row for row in rows if row.source_id == source]
        loso += predict(held, _engines(catalog, fit(train, catalog, sweeps)))
    loso.sort(key=lambda s: s.row.index)
    return Evaluation(loso, in_sample, params, excluded)


def group_figures(scored: Sequence[Scored]) -> dict[str, tuple[int, float, float]]:
    """Rows, median and p90 absolute error overall and per group."""
    figures = {"overall": (len(scored), *median_p90(s.error for s in scored))}
    for name, test in GROUPS.items():
        chosen = [s for s in scored if test(s)]
        figures[name] = (len(chosen), *median_p90(s.error for s in chosen))
    return figures


def _table(title: str, scored: Sequence[Scored]) -> list[str]:
    lines = [title, f"  {'group':28s} {'rows':>5s} {'median':>8s} {'p90':>8s}"]
    for name, (count, median, p90) in group_figures(scored).items():
        lines.append(f"  {name:28s} {count:5d} {median:7.1f}% {p90:7.1f}%")
    return lines


def _by_source(scored: Sequence[Scored]) -> list[str]:
    groups: dict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        groups[s.row.source_id].append(s)
    lines = ["Leave-one-source-out, per left-out source:"]
    for name in sorted(groups, key=lambda n: (-len(groups[n]), n)):
        median, p90 = median_p90(s.error for s in groups[name])
        lines.append(f"  {name:28s} {len(groups[name]):5d} {median:7.1f}% {p90:7.1f}%")
    return lines


def _params_lines(params: Params) -> list[str]:
    lines = ["Fitted on all sources (engines.yml holds these; llama.cpp's values):"]
    lines.append("  efficiency: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(params.efficiency.items())))
    lines.append("  MoE factor: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(params.moe.items())))
    lines.append(
        "  per-layer cost: " + ", ".join(f"{k} {v * 1e6:.1f} us" for k, v in sorted(params.layer_s.items()))
    )
    for e, factor in sorted(params.engine_factor.items()):
        lines.append(f"  engine factor {e}: {factor:.3f} (x llama.cpp)")
    lines.append(f"  layer-split hop: {params.hop_s * 1e3:.2f} ms per extra GPU")
    return lines


def report(evaluation: Evaluation, *, every_row: bool = False) -> str:
    """The printed report: LOSO first, in-sample second, then the fit and the exclusions."""
    lines = _table(
        f"Leave-one-source-out ({len({s.row.source_id for s in evaluation.loso})} sources, "
        f"{len(evaluation.loso)} rows): absolute error of predicted decode tokens/s",
        evaluation.loso,
    )
    lines += ["", *_table("In-sample (fitted on every source):", evaluation.in_sample)]
    lines += ["", *_by_source(evaluation.loso)]
    lines += ["", *_params_lines(evaluation.params)]
    lines += ["", "Rows not scored:"] + [
        f"  {count:4d} {reason}" for reason, count in evaluation.excluded.items()
    ]
    worst = sorted(evaluation.loso, key=lambda s: -abs(s.error))[:10]
    lines += ["", "Worst ten (LOSO):"] + [
        f"  {s.error:+7.1f}%  {s.predicted:8.2f} vs {s.row.measured:8.2f}  {s.row.label}" for s in worst
    ]
    if every_row:
        lines += ["", "Every row (LOSO, in-sample):"] + [
            f"  {a.error:+7.1f}% {b.error:+7.1f}%  {a.row.label}"
            for a, b in zip(evaluation.loso, evaluation.in_sample, strict=True)
        ]
    return "\n".join(lines)


def tuning_yaml(params: Params, catalog: Catalog) -> str:
    """The fitted speed keys per engine, for catalogs/engines.yml."""
    blocks = []
    for engine_id, engine in sorted(catalog.engines.items()):
        tuning = tuning_for(params, engine)
        keys = ("decode_efficiency", "moe_efficiency", "layer_overhead_s", "layer_split_hop_s")
        blocks.append(
            f"{engine_id}:\n"
            + "\n".join(
                f"  {key}: {tuning[key]}" for key in keys if key in tuning and tuning[key] is not None
            )
        )
    return "\n".join(blocks)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", action="store_true", help="list every row's error")
    parser.add_argument("--yaml", action="store_true", help="print the fitted engines.yml keys")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    evaluation = evaluate(catalog)
    print(report(evaluation, every_row=args.rows))
    if args.yaml:
        print()
        print(tuning_yaml(evaluation.params, catalog))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Gates on the decode speed model's accuracy over published measurements (issue 21, item 2).

tests/benchmarks/decode_accuracy.py feeds every usable row of tests/fixtures/planner/decode_measurements.yml
through throughput.decode_tps, refitting the model once per left-out source. The issue's goal (LOSO
median <= 10 %, p90 <= 25 %) is not reached by this model; the gates hold the achieved figures,
rounded up a little, so that a change that makes the model generalise worse fails. Tighten them when
the model improves. Set at LOSO median 20.5 %, p90 46.7 %; tightened to 15.0 % / 45.3 % when 53 rows
from six more independent sources were added (Strix Halo, Apple M1/M2 Max, MoE on unified memory).
The same rows raised the in-sample p90 from 22.4 % to 30.1 %: they disagree with the Apple rows of
llama.cpp discussion #4167 by more than one efficiency per device class can reconcile (docs/planner.md).
Issue 27's catalog models (Qwen3.5/3.6 and others) brought 26 rows in that had been skipped for an
unknown model (23 of them hiesch-m3max-bench: mlx-lm, llama.cpp and the first GPU rows of Ollama on
Apple). Refitted: LOSO 15.6 % / 44.9 % over 350 rows (gates unchanged and met); in-sample median 6.7 %
-> 7.3 % (the 26 rows alone: 12.9 % in-sample), so that gate moved from 7.0 % to 7.5 %, p90 29.3 %.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import load_catalog

# Achieved leave-one-source-out figures, rounded up (the goal is 10 % / 25 %).
LOSO_MEDIAN_GATE = 16.0
LOSO_P90_GATE = 47.0
IN_SAMPLE_MEDIAN_GATE = 7.5  # 7.0 until issue 27 added 26 rows (module docstring)
IN_SAMPLE_P90_GATE = 32.0


@pytest.fixture(scope="module")
def accuracy(benchmark_script: Callable[[str], ModuleType]) -> ModuleType:
    return benchmark_script("decode_accuracy")


@pytest.fixture(scope="module")
def evaluation(accuracy: ModuleType) -> object:
    return accuracy.evaluate(load_catalog())


def test_enough_rows_and_sources(evaluation: object) -> None:
    loso = evaluation.loso  # type: ignore[attr-defined]
    assert len(loso) >= 250
    assert len({s.row.source_id for s in loso}) >= 15


def test_leave_one_source_out_gate(accuracy: ModuleType, evaluation: object) -> None:
    count, median, p90 = accuracy.group_figures(evaluation.loso)["overall"]  # type: ignore[attr-defined]
    print(f"LOSO over {count} rows: median {median:.1f} %, p90 {p90:.1f} %")
    assert median <= LOSO_MEDIAN_GATE
    assert p90 <= LOSO_P90_GATE


def test_in_sample_gate(accuracy: ModuleType, evaluation: object) -> None:
    _count, median, p90 = accuracy.group_figures(evaluation.in_sample)["overall"]  # type: ignore[attr-defined]
    assert median <= IN_SAMPLE_MEDIAN_GATE
    assert p90 <= IN_SAMPLE_P90_GATE


def test_catalog_holds_the_in_sample_fit(accuracy: ModuleType, evaluation: object) -> None:
    """engines.yml's llama.cpp tables are the fit on every source (rounded as the script writes them)."""
    catalog = load_catalog()
    engine = catalog.engines["llama.cpp"]
    fitted = accuracy.tuning_for(evaluation.params, engine)  # type: ignore[attr-defined]
    for key in ("decode_efficiency", "moe_efficiency", "layer_overhead_s"):
        for name, value in fitted[key].items():
            assert engine.tuning[key][name] == pytest.approx(value, rel=0.02), (key, name)


def test_model_beats_the_old_flat_efficiency_on_layer_splits(
    accuracy: ModuleType, evaluation: object
) -> None:
    """Issue 21: 3+ GPU llama.cpp splits had a p90 of 152 % with N x 0.5 bandwidth."""
    _count, _median, p90 = accuracy.group_figures(evaluation.loso)["multi-GPU llama.cpp"]  # type: ignore[attr-defined]
    assert p90 < 60.0

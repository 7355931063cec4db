# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""plugins/plugin_utils/planner/benchmark_compare.py: figures beside predictions, flags, calibration factors
(also of a plan that was already calibrated), per-host summaries, and every deployment that could not
be measured kept with its reason."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.benchmark_compare import (
    NO_RESULT,
    Settings,
    build_report,
    calibration,
    device_of,
    host_summaries,
    measurements_from_result,
)

SETTINGS = Settings(0.25, "2026-12-06T21:50:00Z", "/srv/plan/plan.json", "/srv/plan/benchmark.json")


def planned(name: str, gpus: list[int], by_depth: dict[str, float], **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "replica": 0,
        "engine": "llama.cpp",
        "gpus": gpus,
        "port": 8080,
        "context": 8192,
        "predicted_decode_tps": by_depth.get("4096"),
        "predicted_decode_tps_by_depth": by_depth,
        "memory": {"total_bytes": 10 * 1024**3},
        **changes,
    }


def gpu(index: int, device: str | None) -> dict[str, Any]:
    return {"index": index, "vendor": "nvidia", "device": device}


PLAN: dict[str, Any] = {
    "catalog": {"sha256": "ab" * 32},
    "calibration": {},
    "hosts": {
        "ws": {
            "hardware": {"gpus": [gpu(0, "rtx-4090"), gpu(1, "rtx-4090")]},
            "deployments": [
                planned("chat", [0], {"0": 100.0, "4096": 80.0}),
                planned("code", [1], {"0": 50.0, "4096": 40.0}, port=8081),
            ],
        },
        "box": {"hardware": {"gpus": []}, "deployments": [planned("small", [], {"0": 20.0})]},
        "idle": {"hardware": {"gpus": []}, "deployments": []},
    },
}


def measured(name: str, decode: dict[int, float], **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "replica": 0,
        "measured_at": "2026-12-06T21:49:00Z",
        "depths": [
            {"depth": depth, "runs": 3, "prompt_tokens": depth + 20, "decode_tps": tps, "ttft_s": 0.1}
            for depth, tps in decode.items()
        ],
        "memory": {},
        "error": None,
        **changes,
    }


def rows(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in report["deployments"]}


def test_each_deployment_is_compared_depth_by_depth() -> None:
    report = build_report(
        PLAN,
        {"ws": [measured("chat", {0: 95.0, 4096: 84.0}), measured("code", {0: 20.0, 4096: 18.0})], "box": []},
        SETTINGS,
    )
    chat, code, small = (rows(report)[name] for name in ("chat", "code", "small"))
    assert [(d["depth"], d["predicted_decode_tps"], d["ratio"]) for d in chat["depths"]] == [
        (0, 100.0, 0.95),
        (4096, 80.0, 1.05),
    ]
    assert (chat["status"], chat["decode_ratio"], chat["raw_factor"], chat["device"]) == (
        "ok",
        1.0,
        1.0,
        "rtx-4090",
    )
    assert code["status"] == "flagged" and code["decode_ratio"] == 0.425
    assert code["reason"] == (
        "decode 20.0 tok/s at depth 0 against 50.0 predicted; median ratio 0.43, more than 25% below the plan"
    )
    # A host that answered but left a deployment out: that deployment is not measured.
    assert (small["status"], small["error"]) == ("failed", "not measured: the host returned no result for it")
    assert report["flagged"] == [{"host": "ws", "name": "code", "replica": 0}]
    assert report["failed"] == [{"host": "box", "name": "small", "replica": 0}]
    assert (report["measured_at"], report["plan"], report["tolerance"]) == (
        SETTINGS.measured_at,
        SETTINGS.plan_file,
        0.25,
    )


def test_the_tolerance_decides_the_flag() -> None:
    results = {"ws": [measured("chat", {0: 74.0, 4096: 59.0})]}
    assert rows(build_report(PLAN, results, SETTINGS))["chat"]["status"] == "flagged"
    lenient = Settings(0.3, SETTINGS.measured_at, SETTINGS.plan_file, SETTINGS.benchmark_file)
    assert rows(build_report(PLAN, results, lenient))["chat"]["status"] == "ok"


def test_unreachable_hosts_and_engine_errors_are_reported_per_deployment() -> None:
    down = measured("chat", {}, error="engine down: http://127.0.0.1:8080/v1/models cannot be reached")
    report = build_report(PLAN, {"ws": [down, measured("code", {0: 50.0, 4096: 40.0})]}, SETTINGS)
    chat, code, small = (rows(report)[name] for name in ("chat", "code", "small"))
    assert (chat["status"], chat["error"]) == ("failed", down["error"])
    assert code["status"] == "ok"
    assert (small["status"], small["error"]) == ("failed", NO_RESULT)


def test_measured_without_a_prediction_is_unpredicted() -> None:
    plan = copy.deepcopy(PLAN)
    plan["hosts"]["box"]["deployments"][0]["predicted_decode_tps_by_depth"] = {}
    row = rows(build_report(plan, {"box": [measured("small", {0: 30.0})]}, SETTINGS))["small"]
    assert (row["status"], row["raw_factor"]) == ("unpredicted", None)


def test_a_calibrated_plan_is_calibrated_from_its_raw_prediction() -> None:
    plan = copy.deepcopy(PLAN)
    # The plan multiplied chat's raw predictions (200 and 160) by 0.5.
    plan["calibration"] = {
        "benchmark": "/old/benchmark.json",
        "measured_at": "2026-11-01T00:00:00Z",
        "decode": [{"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.5}],
        "applied": [{"host": "ws", "deployment": "chat", "replica": 0, "factor": 0.5}],
    }
    report = build_report(plan, {"ws": [measured("chat", {0: 120.0, 4096: 96.0})]}, SETTINGS)
    chat = rows(report)["chat"]
    assert (chat["applied_factor"], chat["decode_ratio"], chat["raw_factor"]) == (0.5, 1.2, 0.6)
    document, _notes = calibration(report, SETTINGS.benchmark_file)
    assert document is not None
    assert document["decode"] == [{"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.6, "samples": 1}]


def test_factors_are_medians_per_device_and_engine() -> None:
    plan = copy.deepcopy(PLAN)
    plan["hosts"]["ws"]["deployments"].append(planned("third", [1], {"0": 10.0}, port=8082))
    results = {
        "ws": [
            measured("chat", {0: 50.0, 4096: 40.0}),
            measured("code", {0: 40.0, 4096: 32.0}),
            measured("third", {0: 9.0}),
        ],
        "box": [measured("small", {0: 30.0})],
    }
    document, notes = calibration(build_report(plan, results, SETTINGS), SETTINGS.benchmark_file)
    assert document == {
        "benchmark": SETTINGS.benchmark_file,
        "measured_at": SETTINGS.measured_at,
        "decode": [
            {"device": "cpu", "engine": "llama.cpp", "factor": 1.5, "samples": 1},
            {"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.8, "samples": 3},
        ],
    }
    assert notes == []


def test_pairs_not_measured_keep_the_plans_factor() -> None:
    plan = copy.deepcopy(PLAN)
    plan["calibration"] = {
        "benchmark": "/old/benchmark.json",
        "measured_at": "2026-11-01T00:00:00Z",
        "decode": [
            {"device": "cpu", "engine": "llama.cpp", "factor": 1.3},
            {"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.9},
        ],
        "applied": [
            {"host": "box", "deployment": "small", "replica": 0, "factor": 1.3},
            {"host": "ws", "deployment": "chat", "replica": 0, "factor": 0.9},
        ],
    }
    report = build_report(plan, {"ws": [measured("chat", {0: 80.0, 4096: 64.0})]}, SETTINGS)
    document, notes = calibration(report, SETTINGS.benchmark_file)
    assert document is not None
    assert document["decode"] == [
        {"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.72, "samples": 1},
        {"device": "cpu", "engine": "llama.cpp", "factor": 1.3},
    ]
    assert notes == ["cpu/llama.cpp: not measured this time, factor 1.3 kept"]


def test_a_deployment_flagged_against_a_calibrated_prediction_keeps_the_factor() -> None:
    plan = copy.deepcopy(PLAN)
    plan["calibration"] = {
        "benchmark": "/old/benchmark.json",
        "measured_at": "2026-11-01T00:00:00Z",
        "decode": [{"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.8}],
        "applied": [
            {"host": "ws", "deployment": "chat", "replica": 0, "factor": 0.8},
            {"host": "ws", "deployment": "code", "replica": 0, "factor": 0.8},
        ],
    }
    # chat is throttled to a fifth of its calibrated speed, code runs as calibrated.
    results = {"ws": [measured("chat", {0: 20.0, 4096: 16.0}), measured("code", {0: 50.0, 4096: 40.0})]}
    report = build_report(plan, results, SETTINGS)
    assert [row["status"] for row in report["deployments"]] == ["failed", "flagged", "ok"]
    document, notes = calibration(report, SETTINGS.benchmark_file)
    assert document is not None
    assert document["decode"] == [{"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.8, "samples": 1}]
    assert notes == [
        "ws: chat: flagged against a calibrated prediction, so not used for the factor (a fault is not a "
        "calibration); remove its device and engine from the calibration file to start over"
    ]
    # Every deployment flagged: nothing new to write, the calibration file stays as it is.
    throttled = {"ws": [measured("chat", {0: 20.0, 4096: 16.0}), measured("code", {0: 10.0, 4096: 8.0})]}
    document, notes = calibration(build_report(plan, throttled, SETTINGS), SETTINGS.benchmark_file)
    assert document is None and len(notes) == 2


def test_factors_outside_the_planners_range_are_clamped_and_said() -> None:
    report = build_report(PLAN, {"box": [measured("small", {0: 0.02})]}, SETTINGS)
    document, notes = calibration(report, SETTINGS.benchmark_file)
    assert document is not None and document["decode"][0]["factor"] == 0.01
    assert notes[0].startswith("cpu/llama.cpp: measured factor 0.001 is outside 0.01..100.0; written as 0.01")


def test_nothing_measured_writes_no_calibration() -> None:
    report = build_report(PLAN, {}, SETTINGS)
    assert calibration(report, SETTINGS.benchmark_file) == (None, [])
    assert {row["status"] for row in report["deployments"]} == {"failed"}


def test_unmatched_gpus_and_odd_ids_calibrate_nothing() -> None:
    plan = copy.deepcopy(PLAN)
    plan["hosts"]["ws"]["hardware"]["gpus"][0]["device"] = None
    plan["hosts"]["ws"]["hardware"]["gpus"][1]["device"] = "sovereign_hardware_declared.gpus[1]"
    results = {"ws": [measured("chat", {0: 50.0}), measured("code", {0: 50.0})]}
    document, notes = calibration(build_report(plan, results, SETTINGS), SETTINGS.benchmark_file)
    assert document is None
    assert notes == [
        "ws: chat: its GPU matched no catalog device, so it calibrates nothing",
        "ws: code: device 'sovereign_hardware_declared.gpus[1]' / engine 'llama.cpp' "
        "cannot be a calibration key",
    ]


@pytest.mark.parametrize(("gpus", "expected"), [([], "cpu"), ([1], "rtx-4090"), ([7], None)])
def test_device_of(gpus: list[int], expected: str | None) -> None:
    assert device_of(PLAN["hosts"]["ws"], {"gpus": gpus}) == expected


def test_memory_is_compared_where_the_figure_is_the_whole_footprint() -> None:
    ollama = measured("chat", {0: 100.0}, memory={"engine_bytes": 11 * 1024**3, "service_bytes": 2 * 1024**3})
    on_gpu = measured("code", {0: 50.0}, memory={"service_bytes": 2 * 1024**3})
    on_cpu = measured("small", {0: 20.0}, memory={"service_bytes": 5 * 1024**3})
    report = rows(build_report(PLAN, {"ws": [ollama, on_gpu], "box": [on_cpu]}, SETTINGS))
    assert report["chat"]["memory"]["ratio"] == 1.1
    # The service's memory of a GPU deployment is host RAM only: not its footprint.
    assert report["code"]["memory"]["ratio"] is None
    assert report["small"]["memory"] == {
        "planned_bytes": 10 * 1024**3,
        "service_bytes": 5 * 1024**3,
        "ratio": 0.5,
    }


def test_host_summaries() -> None:
    results = {"ws": [measured("chat", {0: 100.0, 4096: 80.0}), measured("code", {0: 10.0, 4096: 8.0})]}
    summaries = host_summaries(build_report(PLAN, results, SETTINGS), SETTINGS.benchmark_file)
    assert set(summaries) == {"ws", "box"}
    ws = summaries["ws"]
    assert {key: ws[key] for key in ("schema_version", "measured_at", "benchmark", "tolerance")} == {
        "schema_version": 1,
        "measured_at": SETTINGS.measured_at,
        "benchmark": SETTINGS.benchmark_file,
        "tolerance": 0.25,
    }
    assert (ws["flagged"], ws["failed"]) == ([{"name": "code", "replica": 0}], [])
    assert ws["deployments"][0] == {
        "name": "chat",
        "replica": 0,
        "engine": "llama.cpp",
        "status": "ok",
        "decode_ratio": 1.0,
        "depths": [
            {"depth": 0, "predicted_decode_tps": 100.0, "measured_decode_tps": 100.0},
            {"depth": 4096, "predicted_decode_tps": 80.0, "measured_decode_tps": 80.0},
        ],
        "error": None,
    }
    assert summaries["box"]["failed"] == [{"name": "small", "replica": 0}]


def test_registered_loop_results_become_measurements() -> None:
    registered = {
        "changed": False,
        "results": [
            {"measurement": measured("chat", {0: 1.0}), "item": {"name": "chat"}},
            {
                "failed": True,
                "msg": "deployment.port: 'x' is not valid",
                "item": {"name": "code", "replica": 0},
            },
        ],
    }
    found = measurements_from_result(registered)
    assert found is not None
    assert [m["name"] for m in found] == ["chat", "code"]
    assert found[1]["error"] == "deployment.port: 'x' is not valid"
    assert measurements_from_result({"skipped": True, "results": []}) is None
    assert measurements_from_result(None) is None

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""plugins/action/benchmark_report.py over plans the real planner made: the files written, check mode,
and the calibration loop (the file it writes moves the next plan's predictions onto what was measured,
and calibrating a calibrated plan converges)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock
from xml.etree import ElementTree

import pytest
import yaml
from ansible_collections.sovereign.stack.plugins.action.benchmark_report import (
    MEASURED_VARIABLE,
    ActionModule,
)
from ansible_collections.sovereign.stack.plugins.action.fleet_plan import calibration_from_file
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import compute_plan

HOSTS: dict[str, Any] = {
    "ws": {"sovereign_hardware_declared": {"gpus": [{"device": "rtx-4090"}], "memory_gib": 64}},
    "box": {
        "sovereign_hardware_declared": {"gpus": [{"device": "cpu-ddr5-dual-channel"}], "memory_gib": 96},
    },
}
DEPLOYMENTS = [
    {"name": "chat", "model": "Qwen/Qwen3-8B", "engine": "llama.cpp", "quant": "Q4_K_M", "hosts": ["ws"],
     "context": 8192},
    {"name": "small", "model": "Qwen/Qwen3-0.6B", "engine": "llama.cpp", "quant": "Q8_0", "hosts": ["box"],
     "context": 4096},
]  # fmt: skip
# How much faster than predicted each deployment really runs, in the measurements below.
TRUE_SPEED = {"chat": 0.6, "small": 1.8}


def plan(calibration_file: Path | None = None) -> dict[str, Any]:
    calibration = calibration_from_file(calibration_file) if calibration_file else None
    document: dict[str, Any] = compute_plan(HOSTS, DEPLOYMENTS, calibration=calibration)[0]
    return document


def raw_prediction(document: dict[str, Any], host: str, entry: dict[str, Any], depth: str) -> float:
    applied: dict[tuple[str, str], float] = {
        (a["host"], a["deployment"]): a["factor"]
        for a in (document.get("calibration") or {}).get("applied", [])
    }
    return float(entry["predicted_decode_tps_by_depth"][depth]) / applied.get((host, entry["name"]), 1.0)


def measurements(document: dict[str, Any], speed: dict[str, float]) -> dict[str, Any]:
    """Each host's registered loop result: every planned depth measured at ``speed`` x the raw model."""
    hostvars: dict[str, Any] = {}
    for host, entry in document["hosts"].items():
        results = []
        for deployment in entry["deployments"]:
            depths = [
                {
                    "depth": int(depth),
                    "runs": 3,
                    "prompt_tokens": int(depth) + 30,
                    "completion_tokens": 128,
                    "ttft_s": 0.2,
                    "decode_tps": round(
                        raw_prediction(document, host, deployment, depth) * speed[deployment["name"]], 2
                    ),
                    "decode_source": "engine",
                    "prefill_tps": 900.0,
                    "prefill_source": "engine",
                }
                for depth in deployment["predicted_decode_tps_by_depth"]
            ]
            measurement = {
                "name": deployment["name"],
                "replica": deployment["replica"],
                "engine": deployment["engine"],
                "port": deployment["port"],
                "model_id": deployment["name"],
                "measured_at": "2026-12-06T21:49:00Z",
                "depths": depths,
                "memory": {},
                "error": None,
            }
            results.append({"measurement": measurement, "item": {"name": deployment["name"]}})
        hostvars[host] = {**HOSTS[host], MEASURED_VARIABLE: {"results": results, "changed": False}}
    return hostvars


def run(args: dict[str, Any], hostvars: dict[str, Any], check_mode: bool = False) -> dict[str, Any]:
    task = MagicMock()
    task.args = args
    task.check_mode = check_mode
    task.async_val = 0
    action = ActionModule(task, MagicMock(), MagicMock(), MagicMock(), MagicMock(), MagicMock())
    result: dict[str, Any] = action.run(
        task_vars={"hostvars": hostvars, "ansible_play_hosts_all": sorted(hostvars), "playbook_dir": "/x"}
    )
    return result


def test_report_files_calibration_and_summaries_are_written(tmp_path: Path) -> None:
    document = plan()
    result = run({"plan": document, "output_dir": str(tmp_path)}, measurements(document, TRUE_SPEED))
    assert not result.get("failed"), result
    names = ["benchmark.json", "benchmark.md", "benchmark.svg", "calibration.yml"]
    assert result["files"] == [str(tmp_path / name) for name in names]
    assert result["changed"] is True
    report = json.loads((tmp_path / "benchmark.json").read_text(encoding="utf-8"))
    assert report == json.loads(json.dumps(result["report"]))
    statuses = {row["name"]: row["status"] for row in report["deployments"]}
    # chat runs at 0.6 of its prediction: more than 25% below, flagged; small runs faster.
    assert statuses == {"chat": "flagged", "small": "ok"}
    assert result["flagged"] == [{"host": "ws", "name": "chat", "replica": 0}]
    assert result["lines"][1:] == [
        f"box small: ok ({report['deployments'][0]['reason']})",
        f"ws chat: flagged ({report['deployments'][1]['reason']})",
    ]
    markdown = (tmp_path / "benchmark.md").read_text(encoding="utf-8")
    assert "| ws chat | llama.cpp | rtx-4090 | 0 (30) |" in markdown
    assert "## Flagged\n\n- ws chat: decode" in markdown
    svg = ElementTree.fromstring((tmp_path / "benchmark.svg").read_text(encoding="utf-8"))
    bars = [
        node for node in svg.iter("{http://www.w3.org/2000/svg}rect") if node.find("{*}title") is not None
    ]
    depths = sum(len(row["depths"]) for row in report["deployments"])
    assert len(bars) == 2 * depths
    written = yaml.safe_load((tmp_path / "calibration.yml").read_text(encoding="utf-8"))
    assert written["sovereign_calibration"]["decode"] == [
        {"device": "cpu", "engine": "llama.cpp", "factor": 1.8, "samples": 1},
        {"device": "rtx-4090", "engine": "llama.cpp", "factor": 0.6, "samples": 1},
    ]
    assert result["summaries"]["ws"]["flagged"] == [{"name": "chat", "replica": 0}]


def test_the_next_plan_predicts_what_was_measured_and_calibrating_again_converges(tmp_path: Path) -> None:
    first = plan()
    run({"plan": first, "output_dir": str(tmp_path)}, measurements(first, TRUE_SPEED))
    second = plan(tmp_path / "calibration.yml")
    assert second["calibration"]["benchmark"] == str(tmp_path / "benchmark.json")
    for host in ("ws", "box"):
        before, after = first["hosts"][host]["deployments"][0], second["hosts"][host]["deployments"][0]
        ratio = after["predicted_decode_tps"] / before["predicted_decode_tps"]
        assert ratio == pytest.approx(TRUE_SPEED[before["name"]], rel=0.01)
    # Measured again at the same speeds against the calibrated plan: nothing flagged, same factors.
    result = run({"plan": second, "output_dir": str(tmp_path)}, measurements(second, TRUE_SPEED))
    assert result["flagged"] == []
    assert {row["name"]: row["decode_ratio"] for row in result["report"]["deployments"]} == {
        "chat": pytest.approx(1.0, abs=0.01),
        "small": pytest.approx(1.0, abs=0.01),
    }
    factors = {entry["device"]: entry["factor"] for entry in result["calibration"]["decode"]}
    assert factors == {
        "cpu": pytest.approx(1.8, abs=0.01),
        "rtx-4090": pytest.approx(0.6, abs=0.01),
    }


def test_check_mode_writes_nothing(tmp_path: Path) -> None:
    document = plan()
    result = run({"plan": document, "output_dir": str(tmp_path)}, measurements(document, TRUE_SPEED), True)
    assert result["changed"] is True and result["report"]["flagged"]
    assert list(tmp_path.iterdir()) == []


def test_calibrate_false_and_a_calibration_file_elsewhere(tmp_path: Path) -> None:
    document = plan()
    hostvars = measurements(document, TRUE_SPEED)
    result = run({"plan": document, "output_dir": str(tmp_path), "calibrate": False}, hostvars)
    assert not (tmp_path / "calibration.yml").exists()
    assert result["report"]["calibration"]["written"] is False
    assert "Not written (sovereign_benchmark_calibrate is false)" in (tmp_path / "benchmark.md").read_text(
        encoding="utf-8"
    )
    elsewhere = tmp_path / "site" / "calibration.yml"
    run({"plan": document, "output_dir": str(tmp_path), "calibration_file": str(elsewhere)}, hostvars)
    assert calibration_from_file(elsewhere) is not None


def test_an_unreachable_host_leaves_its_deployments_failed(tmp_path: Path) -> None:
    document = plan()
    hostvars = measurements(document, TRUE_SPEED)
    del hostvars["box"][MEASURED_VARIABLE]
    result = run({"plan": document, "output_dir": str(tmp_path)}, hostvars)
    assert result["failed_deployments"] == [{"host": "box", "name": "small", "replica": 0}]
    assert "## Not measured\n\n- box small: no measurement from the host" in (
        tmp_path / "benchmark.md"
    ).read_text(encoding="utf-8")
    assert "box small, not measured" in (tmp_path / "benchmark.svg").read_text(encoding="utf-8")
    # The calibration holds what was measured: only the GPU.
    assert [entry["device"] for entry in result["calibration"]["decode"]] == ["rtx-4090"]


def test_an_inventory_calibration_is_named_as_what_the_planner_reads_instead(tmp_path: Path) -> None:
    document = plan()
    hostvars = measurements(document, TRUE_SPEED)
    hostvars["ws"]["sovereign_calibration"] = {"decode": []}
    result = run({"plan": document, "output_dir": str(tmp_path)}, hostvars)
    assert any(
        "the inventory sets sovereign_calibration" in note for note in result["report"]["calibration_notes"]
    )


@pytest.mark.parametrize("tolerance", [-0.1, 1.0])
def test_a_tolerance_outside_0_to_1_is_refused(tmp_path: Path, tolerance: float) -> None:
    result = run({"plan": plan(), "output_dir": str(tmp_path), "tolerance": tolerance}, {})
    assert result["failed"] is True and "expected a share from 0 to below 1" in result["msg"]

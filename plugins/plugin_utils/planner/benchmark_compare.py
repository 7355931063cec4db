# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""A running fleet against its plan: measured figures beside the predictions, deployments flagged,
and the calibration that makes the next plan predict this fleet's own speed.

Input: plan.json's document and what ``sovereign.stack.engine_benchmark`` measured on each host.
Output: benchmark.json's document, the calibration file's ``sovereign_calibration`` mapping, and the
summary left on each host. docs/benchmark.md describes all three.

The plan's decode predictions may already be calibrated: ``calibration.applied`` names the factor f
each replica's prediction was multiplied by, so the raw model predicted ``predicted / f``. A new
factor is always measured / raw, which makes a calibration converge instead of compounding.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.calibration import FACTOR

SCHEMA_VERSION = 1
DEFAULT_TOLERANCE = 0.25
CPU_DEVICE = "cpu"
NO_RESULT = "no measurement from the host (unreachable, or the play stopped before measuring it)"


@dataclass(frozen=True)
class Settings:
    """How the comparison is made and where its files are."""

    tolerance: float
    measured_at: str
    plan_file: str
    benchmark_file: str


def measurements_from_result(registered: Any) -> list[dict[str, Any]] | None:
    """The measurements in a host's registered loop result; None when the host measured nothing.

    A loop item whose module failed (a plan entry it refused) is kept as that deployment's error.
    """
    if not isinstance(registered, Mapping) or registered.get("skipped"):
        return None
    found: list[dict[str, Any]] = []
    for item in registered.get("results") or []:
        if not isinstance(item, Mapping) or item.get("skipped"):
            continue
        measurement = item.get("measurement")
        if isinstance(measurement, Mapping):
            found.append(dict(measurement))
            continue
        asked = item["item"] if isinstance(item.get("item"), Mapping) else {}
        found.append(
            {
                "name": asked.get("name"),
                "replica": asked.get("replica", 0),
                "depths": [],
                "memory": {},
                "error": str(item.get("msg") or "the measuring module failed"),
            }
        )
    return found


def device_of(host_entry: Mapping[str, Any], deployment: Mapping[str, Any]) -> str | None:
    """The calibration key's device: the catalog id of the deployment's first GPU, or ``cpu``."""
    if not deployment.get("gpus"):
        return CPU_DEVICE
    first = deployment["gpus"][0]
    for gpu in host_entry.get("hardware", {}).get("gpus") or []:
        if gpu.get("index") == first:
            device = gpu.get("device")
            return str(device) if device is not None else None
    return None


def applied_factor(plan: Mapping[str, Any], host: str, deployment: Mapping[str, Any]) -> float:
    """The calibration factor the plan multiplied this replica's predictions by (1 without one)."""
    for entry in (plan.get("calibration") or {}).get("applied") or []:
        if (entry.get("host"), entry.get("deployment"), entry.get("replica")) == (
            host,
            deployment["name"],
            deployment["replica"],
        ):
            return float(entry["factor"])
    return 1.0


def _depth_rows(deployment: Mapping[str, Any], measurement: Mapping[str, Any]) -> list[dict[str, Any]]:
    predicted = deployment.get("predicted_decode_tps_by_depth") or {}
    rows = []
    for measured in measurement.get("depths") or []:
        row = dict(measured)
        expected = predicted.get(str(measured.get("depth")))
        row["predicted_decode_tps"] = expected
        decode = measured.get("decode_tps")
        row["ratio"] = round(decode / expected, 4) if decode and expected else None
        rows.append(row)
    return rows


def _memory(deployment: Mapping[str, Any], measurement: Mapping[str, Any]) -> dict[str, Any]:
    """Planned bytes beside what the engine (or, for CPU deployments, the service) reported."""
    planned = (deployment.get("memory") or {}).get("total_bytes")
    reported = dict(measurement.get("memory") or {})
    memory: dict[str, Any] = {"planned_bytes": planned, **reported}
    # The service's memory is host RAM: it is the deployment's whole footprint only without GPUs.
    compared = reported.get("engine_bytes")
    if compared is None and not deployment.get("gpus"):
        compared = reported.get("service_bytes")
    memory["ratio"] = round(compared / planned, 4) if compared and planned else None
    return memory


def compare_deployment(
    plan: Mapping[str, Any],
    host: str,
    deployment: Mapping[str, Any],
    measurement: Mapping[str, Any] | None,
    tolerance: float,
) -> dict[str, Any]:
    """One deployment's row of benchmark.json: figures, ratios, status and the calibration sample."""
    host_entry = plan["hosts"][host]
    factor = applied_factor(plan, host, deployment)
    row: dict[str, Any] = {
        "host": host,
        "name": deployment["name"],
        "replica": deployment["replica"],
        "engine": deployment["engine"],
        "device": device_of(host_entry, deployment),
        "port": deployment["port"],
        "context": deployment.get("context"),
        "predicted_decode_tps": deployment.get("predicted_decode_tps"),
        "applied_factor": factor,
        "depths": [],
        "memory": {},
        "decode_ratio": None,
        "raw_factor": None,
        "status": "failed",
        "reason": NO_RESULT,
        "error": NO_RESULT,
    }
    if measurement is None:
        return row
    row["measured_at"] = measurement.get("measured_at")
    row["depths"] = _depth_rows(deployment, measurement)
    row["memory"] = _memory(deployment, measurement)
    if measurement.get("error"):
        row["error"] = row["reason"] = str(measurement["error"])
        return row
    row["error"] = None
    ratios = [depth["ratio"] for depth in row["depths"] if depth.get("ratio")]
    if not ratios:
        row["status"] = "unpredicted"
        row["reason"] = "measured, but the plan has no decode prediction at these depths to compare with"
        return row
    ratio = statistics.median(ratios)
    row["decode_ratio"] = round(ratio, 4)
    row["raw_factor"] = round(ratio * factor, 4)
    slowest = min((depth for depth in row["depths"] if depth.get("ratio")), key=lambda depth: depth["ratio"])
    described = (
        f"decode {slowest['decode_tps']:.1f} tok/s at depth {slowest['depth']} against "
        f"{slowest['predicted_decode_tps']:.1f} predicted; median ratio {ratio:.2f}"
    )
    if ratio < 1 - tolerance:
        row["status"] = "flagged"
        row["reason"] = f"{described}, more than {tolerance:.0%} below the plan"
    else:
        row["status"] = "ok"
        row["reason"] = described
    return row


def build_report(
    plan: Mapping[str, Any], measured: Mapping[str, list[dict[str, Any]] | None], settings: Settings
) -> dict[str, Any]:
    """benchmark.json's document: every planned deployment, measured or with the reason it is not."""
    rows = []
    for host in sorted(plan["hosts"]):
        found = measured.get(host)
        by_key = {(m.get("name"), int(m.get("replica") or 0)): m for m in found or []}
        for deployment in plan["hosts"][host]["deployments"]:
            measurement = by_key.get((deployment["name"], deployment["replica"]))
            if found is not None and measurement is None:
                measurement = {"error": "not measured: the host returned no result for it"}
            rows.append(compare_deployment(plan, host, deployment, measurement, settings.tolerance))
    return {
        "schema_version": SCHEMA_VERSION,
        "measured_at": settings.measured_at,
        "plan": settings.plan_file,
        "catalog": (plan.get("catalog") or {}).get("sha256"),
        "tolerance": settings.tolerance,
        "calibration_used": dict(plan.get("calibration") or {}),
        "deployments": rows,
        "flagged": [_key(row) for row in rows if row["status"] == "flagged"],
        "failed": [_key(row) for row in rows if row["status"] == "failed"],
    }


def _key(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"host": row["host"], "name": row["name"], "replica": row["replica"]}


def calibration(report: Mapping[str, Any], benchmark_file: str) -> tuple[dict[str, Any] | None, list[str]]:
    """The ``sovereign_calibration`` mapping to write (None when nothing was measured), and notes.

    Per device and engine, the median of the deployments' measured / raw-predicted decode; pairs this
    benchmark did not measure keep the factor the plan used, so a host that was down loses nothing.
    A deployment flagged against an already calibrated prediction is a fault (a throttled or broken
    engine), not new knowledge of the hardware: it does not move its pair's factor.
    """
    samples: dict[tuple[str, str], list[float]] = {}
    notes: list[str] = []
    previous = (report.get("calibration_used") or {}).get("decode") or []
    calibrated = {(entry["device"], entry["engine"]) for entry in previous}
    for row in report["deployments"]:
        if row["raw_factor"] is None:
            continue
        device, engine = row["device"], row["engine"]
        label = f"{row['host']}: {row['name']}"
        if row["status"] == "flagged" and (device, engine) in calibrated:
            notes.append(
                f"{label}: flagged against a calibrated prediction, so not used for the factor (a fault is "
                "not a calibration); remove its device and engine from the calibration file to start over"
            )
            continue
        if device is None:
            notes.append(f"{label}: its GPU matched no catalog device, so it calibrates nothing")
            continue
        problem = input_rules.token_problem(device) or input_rules.token_problem(engine)
        if problem is not None:
            notes.append(f"{label}: device {device!r} / engine {engine!r} cannot be a calibration key")
            continue
        samples.setdefault((device, engine), []).append(row["raw_factor"])
    if not samples:
        return None, notes
    entries = []
    for (device, engine), factors in sorted(samples.items()):
        factor = round(statistics.median(factors), 4)
        kept = min(max(factor, FACTOR.minimum), FACTOR.maximum)
        if kept != factor:
            notes.append(
                f"{device}/{engine}: measured factor {factor} is outside {FACTOR.minimum}..{FACTOR.maximum}; "
                f"written as {kept} (check that deployment: such a gap is a fault, not a calibration)"
            )
        entries.append({"device": device, "engine": engine, "factor": kept, "samples": len(factors)})
    for entry in previous:
        if (entry["device"], entry["engine"]) not in samples:
            entries.append({"device": entry["device"], "engine": entry["engine"], "factor": entry["factor"]})
            notes.append(
                f"{entry['device']}/{entry['engine']}: not measured this time, factor {entry['factor']} kept"
            )
    document = {"benchmark": benchmark_file, "measured_at": report["measured_at"], "decode": entries}
    return document, notes


def host_summaries(report: Mapping[str, Any], benchmark_file: str) -> dict[str, dict[str, Any]]:
    """Per host, the small JSON left on it (docs/benchmark.md, "The summary on each host")."""
    summaries: dict[str, dict[str, Any]] = {}
    for row in report["deployments"]:
        summary = summaries.setdefault(
            row["host"],
            {
                "schema_version": SCHEMA_VERSION,
                "measured_at": report["measured_at"],
                "benchmark": benchmark_file,
                "tolerance": report["tolerance"],
                "flagged": [],
                "failed": [],
                "deployments": [],
            },
        )
        if row["status"] in ("flagged", "failed"):
            summary[row["status"]].append({"name": row["name"], "replica": row["replica"]})
        summary["deployments"].append(
            {
                "name": row["name"],
                "replica": row["replica"],
                "engine": row["engine"],
                "status": row["status"],
                "decode_ratio": row["decode_ratio"],
                "depths": [
                    {
                        "depth": depth["depth"],
                        "predicted_decode_tps": depth.get("predicted_decode_tps"),
                        "measured_decode_tps": depth.get("decode_tps"),
                    }
                    for depth in row["depths"]
                ],
                "error": row["error"],
            }
        )
    return summaries

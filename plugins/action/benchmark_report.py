# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Controller-side action ``sovereign.stack.benchmark_report``: compare what the hosts measured with the
plan, write benchmark.json, benchmark.md, benchmark.svg and the calibration file.

Documentation: plugins/modules/benchmark_report.py. The comparison lives in
plugins/plugin_utils/planner/benchmark_compare.py, the rendering in
plugins/plugin_utils/planner/benchmark_render.py.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.plugins.action import ActionBase
from ansible_collections.sovereign.stack.plugins.action.fleet_plan import CALIBRATION_FILE, write_files
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.benchmark_compare import (
    DEFAULT_TOLERANCE,
    Settings,
    build_report,
    calibration,
    host_summaries,
    measurements_from_result,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.benchmark_render import (
    benchmark_markdown,
    benchmark_svg,
    label,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.calibration import (
    VARIABLE as CALIBRATION_VARIABLE,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.play_settings import plain

ARGUMENT_SPEC: dict[str, Any] = {
    "plan": {"type": "dict", "required": True},
    "output_dir": {"type": "path"},
    "tolerance": {"type": "float", "default": DEFAULT_TOLERANCE},
    "calibrate": {"type": "bool", "default": True},
    "calibration_file": {"type": "path"},
    "hosts": {"type": "list", "elements": "str"},
}
# What playbooks/benchmark.yml registers on each host: the loop of sovereign.stack.engine_benchmark.
MEASURED_VARIABLE = "sovereign_benchmark_measured"
REPORT_FILES = ("benchmark.json", "benchmark.md", "benchmark.svg")
CALIBRATION_HEADER = (
    "# Written by playbooks/benchmark.yml: measured / raw predicted decode speed per device and engine.\n"
    '# The planner multiplies its predictions by these factors (docs/benchmark.md, "Calibration").\n'
)


def calibration_text(document: Mapping[str, Any]) -> str:
    """The calibration file: a header and one ``sovereign_calibration`` mapping."""
    body = yaml.safe_dump({CALIBRATION_VARIABLE: dict(document)}, sort_keys=False, default_flow_style=False)
    return CALIBRATION_HEADER + body


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class ActionModule(ActionBase):  # type: ignore[misc]  # ansible-core ships no type information
    """Runs once on the controller over every host's measurements; never connects to a host."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Compare, write the files (not in check mode), return the report and each host's summary."""
        task_vars = task_vars or {}
        result: dict[str, Any] = super().run(tmp, task_vars)
        _validated, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if not 0 <= args["tolerance"] < 1:
            result.update(
                failed=True,
                msg=f"tolerance: {args['tolerance']} is not valid; expected a share from 0 to below 1 "
                "(0.25: flag a deployment more than 25% slower than planned)",
            )
            return result
        plan = plain(args["plan"])
        if not isinstance(plan.get("hosts"), Mapping):
            result.update(failed=True, msg="plan: expected plan.json's document (sovereign_plan.plan)")
            return result
        output_dir = Path(
            args["output_dir"] or Path(str(task_vars.get("playbook_dir", "."))).parent / "plan-output"
        )
        hostvars = task_vars.get("hostvars") or {}
        hosts = args["hosts"] or list(task_vars.get("ansible_play_hosts_all") or [])
        measured = {
            host: measurements_from_result(plain(hostvars[host].get(MEASURED_VARIABLE)))
            for host in hosts
            if host in hostvars and host in plan["hosts"]
        }
        benchmark_file = str(output_dir / "benchmark.json")
        settings = Settings(args["tolerance"], now(), str(output_dir / "plan.json"), benchmark_file)
        report = build_report(plan, measured, settings)
        document, notes = calibration(report, benchmark_file)
        calibration_path = Path(args["calibration_file"] or output_dir / CALIBRATION_FILE)
        if document is not None and any(
            CALIBRATION_VARIABLE in hostvars[host] for host in hosts if host in hostvars
        ):
            notes.append(
                f"the inventory sets {CALIBRATION_VARIABLE}, which the planner reads instead of "
                f"{calibration_path}: replace its value with the file's"
            )
        report["calibration"] = (
            None
            if document is None
            else {"file": str(calibration_path), "written": args["calibrate"], "decode": document["decode"]}
        )
        report["calibration_notes"] = notes
        check_mode = bool(self._task.check_mode)
        contents = {
            "benchmark.json": json.dumps(report, indent=2) + "\n",
            "benchmark.md": benchmark_markdown(report),
            "benchmark.svg": benchmark_svg(report),
        }
        changed = write_files(output_dir, contents, check_mode)
        files = [str(output_dir / name) for name in REPORT_FILES]
        if document is not None and args["calibrate"]:
            changed |= write_files(
                calibration_path.parent, {calibration_path.name: calibration_text(document)}, check_mode
            )
            files.append(str(calibration_path))
        lines = [f"Report: {', '.join(files)}"] + [
            f"{label(row)}: {row['status']} ({row['reason']})" for row in report["deployments"]
        ]
        result.update(
            changed=changed,
            files=files,
            lines=lines,
            report=report,
            calibration=document,
            flagged=report["flagged"],
            failed_deployments=report["failed"],
            summaries=host_summaries(report, benchmark_file),
        )
        return result

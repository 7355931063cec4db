# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Documentation of the sovereign.stack.benchmark_report action (code: plugins/action/benchmark_report.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: benchmark_report
short_description: Compare a fleet's measured speed with its plan, flag slow deployments, write a calibration
version_added: 0.1.0
description:
  - Runs once on the controller after C(sovereign.stack.engine_benchmark) measured each host's deployments
    (registered on every host as C(sovereign_benchmark_measured)); no host is contacted.
  - Puts every deployment of the plan beside its measured figures, depth by depth, and flags those whose
    measured decode speed is more than O(tolerance) below the plan's prediction (the median ratio over
    the depths measured). A deployment that could not be measured is listed with the reason.
  - Writes C(benchmark.json), C(benchmark.md) and C(benchmark.svg) (predicted and measured decode per
    deployment and depth) to O(output_dir), and, with O(calibrate), the calibration file the planner
    reads on its next run. See docs/benchmark.md.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  plan:
    description: The plan the fleet runs, as plan.json holds it (C(sovereign_plan.plan)).
    type: dict
    required: true
  output_dir:
    description:
      - Directory on the controller for the report files, normally the plan's.
      - Defaults to C(plan-output) next to the playbook directory.
    type: path
  tolerance:
    description:
      - How far below its prediction a deployment's measured decode may fall before it is flagged,
        as a share (V(0.25) flags a deployment decoding at less than 75% of the predicted speed).
    type: float
    default: 0.25
  calibrate:
    description: Write the calibration file (measured / raw predicted decode per device and engine).
    type: bool
    default: true
  calibration_file:
    description:
      - Where the calibration is written. Defaults to C(calibration.yml) in O(output_dir), where
        C(sovereign.stack.fleet_plan) reads it by default.
    type: path
  hosts:
    description: The hosts whose measurements are read. Defaults to every host of the play.
    type: list
    elements: str
attributes:
  check_mode:
    support: full
    details: Compares and returns the report; writes no file and reports whether the files would change.
  diff_mode:
    support: none
    details: The report is a new measurement each time; it is not diffed.
extends_documentation_fragment:
  - sovereign.stack.platform.controller
  - action_common_attributes
notes:
  - A calibration factor is measured decode / the raw model's prediction. Where the plan was already
    calibrated, the raw prediction is the plan's divided by the factor it applied, so calibrating again
    converges. Device and engine pairs this run did not measure keep the factor the plan used.
  - The collection's C(docs/benchmark.md) says what is measured, the files, the tolerance and the
    calibration loop.
"""

EXAMPLES = r"""
- name: Compare the measurements with the plan and write the report
  sovereign.stack.benchmark_report:
    plan: "{{ sovereign_plan.plan }}"
    tolerance: 0.25
  run_once: true
  delegate_to: localhost
  register: benchmark
"""

RETURN = r"""
report:
  description: The report, exactly as written to benchmark.json (docs/benchmark.md).
  returned: success
  type: dict
  contains:
    measured_at:
      description: When the report was made, UTC.
      type: str
    deployments:
      description:
        - Per deployment C(host), C(name), C(replica), C(engine), C(device), C(depths) (measured figures
          beside C(predicted_decode_tps) and their C(ratio)), C(decode_ratio), C(raw_factor), C(memory),
          C(status) (ok, flagged, unpredicted or failed), C(reason) and C(error).
      type: list
      elements: dict
    flagged:
      description: C(host), C(name) and C(replica) of each flagged deployment.
      type: list
      elements: dict
    failed:
      description: C(host), C(name) and C(replica) of each deployment that could not be measured.
      type: list
      elements: dict
calibration:
  description:
    - The C(sovereign_calibration) mapping written (or that would be written); null when nothing was measured.
  returned: success
  type: dict
  sample:
    benchmark: /srv/fleet/plan-output/benchmark.json
    measured_at: "2026-12-06T21:50:00Z"
    decode: [{device: rtx-4090, engine: llama.cpp, factor: 0.83, samples: 4}]
flagged:
  description: The report's C(flagged) list.
  returned: success
  type: list
  elements: dict
failed_deployments:
  description: The report's C(failed) list.
  returned: success
  type: list
  elements: dict
summaries:
  description: Per host, the summary playbooks/benchmark.yml leaves on it (docs/benchmark.md).
  returned: success
  type: dict
lines:
  description: After the files, one line per deployment with its host, name, replica, status and reason.
  returned: success
  type: list
  elements: str
files:
  description: The files written (in check mode, that would be written).
  returned: success
  type: list
  elements: str
"""

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Documentation of the sovereign.stack.fleet_plan action; the code is in plugins/action/fleet_plan.py."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fleet_plan
short_description: Plan which model runs where, how, and prove that it fits, on the controller
version_added: 0.1.0
description:
  - Reads the hardware of every host in the play (the detected C(sovereign_hardware) fact, or
    C(sovereign_hardware_declared) from the inventory) and the deployments in C(sovereign_deployments),
    and computes one fleet plan on the controller; no host is contacted.
  - For each replica it chooses a host, an engine, a quantization, a tensor-parallel size and the GPUs,
    proves that weights, KV cache and runtime overhead fit the memory budget, predicts decode tokens/s
    and builds the engine's command line. See docs/planner.md for the formulas and rule tables.
  - Writes C(plan.json), C(plan.md) and C(plan-memory.svg) to O(output_dir) and returns the plan.
  - Fails, listing every problem, when the input is invalid or (unless O(fail_on_unplaced=false))
    when a replica cannot be placed; the plan files are still written so the reasons can be read.
author:
  - sovereign.stack contributors (@sovereign-stack)
options:
  deployments:
    description:
      - The deployments to plan, in the shape of C(sovereign_deployments) (see docs/planner.md).
      - Defaults to the C(sovereign_deployments) variable of the play's hosts, which must agree where
        they set it.
    type: list
    elements: dict
  hosts:
    description:
      - Inventory hosts to plan for. Defaults to every host of the play (C(ansible_play_hosts_all)).
    type: list
    elements: str
  output_dir:
    description:
      - Directory on the controller for the three plan files. Created when missing.
      - Defaults to C(plan-output) next to the playbook directory (C({{ playbook_dir }}/../plan-output)).
    type: path
  fail_on_unplaced:
    description:
      - Fail when any replica cannot be placed. With V(false) the plan lists them under C(unplaced).
    type: bool
    default: true
  calibration_file:
    description:
      - A calibration written by C(playbooks/benchmark.yml) (a file with C(sovereign_calibration)),
        read when no host sets C(sovereign_calibration). Defaults to C(calibration.yml) in O(output_dir);
        a missing file is no calibration.
    type: path
attributes:
  check_mode:
    support: full
    details: In check mode the plan is computed and returned but no file is written; C(changed) says
      whether the files would change.
  diff_mode:
    support: none
    details: The plan files are not diffed; plan.json itself is the reviewable artifact.
extends_documentation_fragment:
  - sovereign.stack.platform.controller
  - action_common_attributes
notes:
  - The plan is deterministic for equal input; plan.json carries no timestamp.
  - Roles read their slice as C(plan.hosts[inventory_hostname]) from the registered result.
  - The collection's C(docs/planner.md) gives the formulas, rule tables and every input variable.
"""

EXAMPLES = r"""
- name: Plan the fleet without touching any host
  sovereign.stack.fleet_plan:
    output_dir: "{{ playbook_dir }}/../plan-output"
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Show what runs on this host
  ansible.builtin.debug:
    var: fleet.plan.hosts[inventory_hostname].deployments

- name: Plan but keep going with what fits
  sovereign.stack.fleet_plan:
    fail_on_unplaced: false
  run_once: true
  delegate_to: localhost
"""

RETURN = r"""
plan:
  description: The plan, exactly as written to plan.json.
  returned: success, and on failure for unplaced replicas
  type: dict
  contains:
    hosts:
      description: Per inventory host, C(hardware), C(devices) (memory per GPU or pool) and C(deployments[]).
      type: dict
    unplaced:
      description: Replicas that fit nowhere, with C(name), C(replica), C(model) and C(reason).
      type: list
    warnings:
      description: Detected-vs-declared hardware differences, context reductions, CPU offload.
      type: list
    catalog:
      description: Engine versions and a digest of the catalogs the plan was computed from.
      type: dict
    placement:
      description:
        - How the placement was found (C(method), C(proven_optimal), C(nodes)), its C(objective), a C(bound)
          no plan can beat, and C(why), one line per replica.
      type: dict
    calibration:
      description:
        - The C(sovereign_calibration) the predictions used (C(benchmark), C(measured_at), C(decode) factors)
          and the replicas it C(applied) to; empty without one.
      type: dict
  sample:
    hosts:
      ws-3090:
        deployments:
          - name: chat
            model: Qwen/Qwen3-14B
            engine: vllm
            quant: AWQ
            context: 16384
            tensor_parallel: 2
            gpus: [0, 1]
            port: 8000
            argv: [vllm, serve, /var/lib/sovereign/models/Qwen--Qwen3-14B/AWQ]
            predicted_decode_tps: 61.2
            memory: {weights_bytes: 1, kv_cache_bytes: 1, overhead_bytes: 1, total_bytes: 3, budget_bytes: 4}
    unplaced: []
    warnings: []
files:
  description: Paths of plan.json, plan.md and plan-memory.svg (not written in check mode).
  returned: always
  type: list
  elements: str
problems:
  description: Every input problem found, one line each, when the input is invalid.
  returned: failure on invalid input
  type: list
  elements: str
"""

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Controller-side action ``sovereign.stack.fleet_plan``: plan the fleet from hostvars, write the plan files.

Documentation: plugins/modules/fleet_plan.py. The computation lives in
plugins/plugin_utils/planner/planner.py.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from ansible.plugins.action import ActionBase
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import known_variables
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.calibration import (
    VARIABLE as CALIBRATION_VARIABLE,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.calibration import (
    Calibration,
    read_calibration,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import HOST_VARIABLES
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.inventory_files import (
    duplicate_keys,
    inventory_files,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_report import (
    plan_markdown,
    plan_svg,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.planner import (
    compute_plan,
    unplaced_messages,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.play_settings import plain

ARGUMENT_SPEC: dict[str, Any] = {
    "deployments": {"type": "list", "elements": "dict"},
    "hosts": {"type": "list", "elements": "str"},
    "output_dir": {"type": "path"},
    "fail_on_unplaced": {"type": "bool", "default": True},
    "calibration_file": {"type": "path"},
}
# What playbooks/benchmark.yml writes beside the plan; read when no host sets sovereign_calibration.
CALIBRATION_FILE = "calibration.yml"
PLAN_FILES = ("plan.json", "plan.md", "plan-memory.svg")
DEPLOYMENTS = "sovereign_deployments"


def host_inputs(hostvars: Mapping[str, Any], hosts: list[str]) -> dict[str, dict[str, Any]]:
    """Only the variables the planner reads, per host: reading all of hostvars would template everything."""
    inputs: dict[str, dict[str, Any]] = {}
    for host in hosts:
        variables = hostvars[host]
        picked = {name: variables[name] for name in HOST_VARIABLES if name in variables}
        facts = variables.get("ansible_facts") if "ansible_facts" in variables else None
        if (
            isinstance(facts, Mapping)
            and "sovereign_hardware" in facts
            and "sovereign_hardware" not in picked
        ):
            picked["sovereign_hardware"] = facts["sovereign_hardware"]
        inputs[host] = plain(picked)
    return inputs


def unknown_variable_problems(hostvars: Mapping[str, Any], hosts: list[str]) -> list[str]:
    """Misspelt or foreign variables in the collection's name spaces, on any host of the play.

    Only the names are read (iterating a host's variables templates nothing), and the allow list.
    """
    names: dict[str, list[str]] = {}
    allowed: dict[str, list[str]] = {}
    problems: list[str] = []
    for host in hosts:
        variables = hostvars[host]
        names[host] = list(variables)
        raw = (
            plain(variables[known_variables.ALLOW_VARIABLE])
            if known_variables.ALLOW_VARIABLE in variables
            else None
        )
        allowed[host], bad = known_variables.allowed_patterns(host, raw)
        problems += bad
    return problems + known_variables.unknown_variables(names, allowed)


def calibration_from_file(path: Path) -> Calibration | None:
    """The calibration a benchmark wrote to ``path``; None when there is no such file."""
    if not path.is_file():
        return None
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise PlanInputError([f"{path}: not a readable calibration file: {error}"]) from error
    if not isinstance(document, Mapping) or CALIBRATION_VARIABLE not in document:
        raise PlanInputError(
            [f"{path}: expected a mapping with {CALIBRATION_VARIABLE} (benchmark.yml writes it)"]
        )
    return read_calibration(document[CALIBRATION_VARIABLE], f"{path}: {CALIBRATION_VARIABLE}")


def fleet_deployments(hostvars: Mapping[str, Any], hosts: list[str], fallback: Any) -> Any:
    """The one ``sovereign_deployments`` list of the fleet, read from every host that sets it.

    Hosts that set it must agree: with a different list on one host (a host_vars or group_vars entry
    replaces the list whole), the plan would depend on which host Ansible runs the planner for.
    ``fallback`` (the play's own value) is used when no host sets it.
    """
    definitions: dict[str, tuple[Any, list[str]]] = {}
    for host in hosts:
        variables = hostvars[host]
        if DEPLOYMENTS not in variables:
            continue
        value = plain(variables[DEPLOYMENTS])
        key = json.dumps(value, sort_keys=True)
        definitions.setdefault(key, (value, []))[1].append(host)
    if not definitions:
        return fallback
    if len(definitions) == 1:
        return next(iter(definitions.values()))[0]
    described = "; ".join(
        f"{known_variables.hosts_text(sorted(owners))}: "
        + (
            ", ".join(str(d.get("name")) for d in value if isinstance(d, Mapping))
            if isinstance(value, list)
            else repr(value)
        )
        for value, owners in sorted(definitions.values(), key=lambda item: sorted(item[1]))
    )
    raise PlanInputError(
        [
            f"{DEPLOYMENTS}: differs between hosts ({described}); set it once, in group_vars/all: a "
            "host_vars or group_vars entry replaces the whole list, so the plan would depend on host order"
        ]
    )


def render(document: Mapping[str, Any]) -> dict[str, str]:
    """The three files' contents."""
    return {
        "plan.json": json.dumps(document, indent=2, sort_keys=False) + "\n",
        "plan.md": plan_markdown(document),
        "plan-memory.svg": plan_svg(document),
    }


def write_files(directory: Path, contents: Mapping[str, str], check_mode: bool) -> bool:
    """Write files that differ (atomically); True when any differs. In check mode only compare."""
    changed = False
    for name, text in contents.items():
        path = directory / name
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        changed = True
        if check_mode:
            continue
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    return changed


class ActionModule(ActionBase):  # type: ignore[misc]  # ansible-core ships no type information
    """Runs the planner once on the controller; never connects to a host."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: str | None = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        """Compute the plan, write the files, fail with every problem when the plan cannot be made."""
        task_vars = task_vars or {}
        result: dict[str, Any] = super().run(tmp, task_vars)
        _validated, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        hosts = args["hosts"] or list(task_vars.get("ansible_play_hosts_all") or [])
        output_dir = Path(
            args["output_dir"] or Path(str(task_vars.get("playbook_dir", "."))).parent / "plan-output"
        )
        result["files"] = [str(output_dir / name) for name in PLAN_FILES]
        if not hosts:
            result.update(
                failed=True,
                msg="no host in the play: the inventory is empty or its host pattern matched nothing; "
                "nothing can be planned",
            )
            return result
        hostvars = task_vars["hostvars"]
        missing = [host for host in hosts if host not in hostvars]
        if missing:
            result.update(failed=True, msg=f"hosts: {', '.join(missing)} not in the inventory")
            return result
        try:
            document = self._plan(args, task_vars, hosts, output_dir)
        except PlanInputError as error:
            result.update(
                failed=True,
                problems=list(error.problems),
                msg="The fleet cannot be planned; fix the inventory:\n- " + "\n- ".join(error.problems),
            )
            return result
        result["plan"] = document
        result["changed"] = write_files(output_dir, render(document), bool(self._task.check_mode))
        if document["unplaced"] and args["fail_on_unplaced"]:
            result.update(
                failed=True,
                msg="Deployments that fit nowhere (see plan.md; set fail_on_unplaced: false to continue):\n- "
                + "\n- ".join(unplaced_messages(document)),
            )
        return result

    def _plan(
        self, args: Mapping[str, Any], task_vars: Mapping[str, Any], hosts: list[str], output_dir: Path
    ) -> dict[str, Any]:
        """The plan document; PlanInputError with every problem of the inventory, found before planning."""
        hostvars = task_vars["hostvars"]
        sources = [str(source) for source in task_vars.get("ansible_inventory_sources") or []]
        problems = duplicate_keys(inventory_files(sources, task_vars.get("playbook_dir")))
        problems += unknown_variable_problems(hostvars, hosts)
        deployments = args["deployments"]
        try:
            if deployments is None:
                fallback = self._templar.template(task_vars.get(DEPLOYMENTS, []))
                deployments = fleet_deployments(hostvars, hosts, plain(fallback))
            inputs = host_inputs(hostvars, hosts)
            calibration = None
            if not any(CALIBRATION_VARIABLE in values for values in inputs.values()):
                calibration = calibration_from_file(
                    Path(args["calibration_file"] or output_dir / CALIBRATION_FILE)
                )
            document, _fleet = compute_plan(inputs, plain(deployments), calibration=calibration)
        except PlanInputError as error:
            problems += error.problems
        if problems:
            raise PlanInputError(problems)
        return document

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""From inventory variables to a fleet plan: the one entry point the action plugin and tools call."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils.catalog.catalog import (
    Catalog,
    CatalogError,
    load_catalog,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.calibration import (
    NONE,
    Calibration,
    read_calibration,
)
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.hosts import HostResources, read_host
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.placement import FleetPlan, plan_fleet
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_inputs import parse_deployments
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_report import plan_document

EXTENSIONS_VARIABLE = "sovereign_catalog_extensions"
CALIBRATION_VARIABLE = "sovereign_calibration"


def _same(left: Any, right: Any) -> bool:
    return json.dumps(left, sort_keys=True, default=str) == json.dumps(right, sort_keys=True, default=str)


def merged_extensions(hostvars: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every host's ``sovereign_catalog_extensions`` merged; one id with two definitions is an error.

    Usually the variable is set once in group_vars/all and every host carries the same copy.
    """
    merged: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    problems: list[str] = []
    for host in sorted(hostvars):
        where = f"hosts.{host}.{EXTENSIONS_VARIABLE}"
        extensions = hostvars[host].get(EXTENSIONS_VARIABLE) or {}
        sections = extensions.items() if isinstance(extensions, Mapping) else [("", extensions)]
        for section, entries in sections:
            if not isinstance(entries, Mapping):
                problems.append(
                    f"{where}{'.' + str(section) if section else ''}: {entries!r} is not valid; "
                    "expected a mapping of id to entry (sections: devices, models, quantizations, engines)"
                )
                continue
            known = merged.setdefault(str(section), {})
            for entry_id, entry in entries.items():
                if entry_id in known and not _same(known[entry_id], entry):
                    problems.append(
                        f"{where}.{section}.{entry_id}: differs from the definition on "
                        f"{origin[(str(section), entry_id)]}; expected one definition per id "
                        "(set it in group_vars/all)"
                    )
                    continue
                known[entry_id] = entry
                origin.setdefault((str(section), entry_id), host)
    if problems:
        raise PlanInputError(problems)
    return merged


def read_hosts(
    hostvars: Mapping[str, Mapping[str, Any]], catalog: Catalog
) -> tuple[dict[str, HostResources], list[str]]:
    """Resources of every host, and detected-vs-declared warnings; all host problems at once."""
    resources: dict[str, HostResources] = {}
    warnings: list[str] = []
    problems: list[str] = []
    for host in sorted(hostvars):
        try:
            reading = read_host(host, hostvars[host], catalog)
        except PlanInputError as error:
            problems.extend(error.problems)
        except CatalogError as error:
            problems.append(str(error))
        else:
            resources[host] = reading.resources
            warnings.extend(reading.warnings)
    if problems:
        raise PlanInputError(problems)
    return resources, warnings


def fleet_calibration(hostvars: Mapping[str, Mapping[str, Any]]) -> Calibration:
    """The hosts' ``sovereign_calibration`` (one definition for the fleet), checked."""
    definitions: dict[str, tuple[Any, list[str]]] = {}
    for host in sorted(hostvars):
        if CALIBRATION_VARIABLE in hostvars[host]:
            value = hostvars[host][CALIBRATION_VARIABLE]
            definitions.setdefault(json.dumps(value, sort_keys=True, default=str), (value, []))[1].append(
                host
            )
    if len(definitions) > 1:
        hosts = "; ".join(", ".join(owners) for _value, owners in definitions.values())
        raise PlanInputError(
            [
                f"{CALIBRATION_VARIABLE}: differs between hosts ({hosts}); "
                "expected one definition (group_vars/all)"
            ]
        )
    if not definitions:
        return NONE
    return read_calibration(next(iter(definitions.values()))[0])


def compute_plan(
    hostvars: Mapping[str, Mapping[str, Any]],
    deployments: Any,
    catalog: Catalog | None = None,
    calibration: Calibration | None = None,
) -> tuple[dict[str, Any], FleetPlan]:
    """The plan document (plan.json's content) and the placement behind it.

    ``calibration`` defaults to the hosts' ``sovereign_calibration``. Raises PlanInputError listing
    every problem when the inventory cannot be planned.
    """
    if catalog is None:
        extensions = merged_extensions(hostvars)
        try:
            catalog = load_catalog(extensions or None)
        except CatalogError as error:
            raise PlanInputError([str(error)]) from error
    problems: list[str] = []
    hosts: dict[str, HostResources] = {}
    warnings: list[str] = []
    try:
        hosts, warnings = read_hosts(hostvars, catalog)
    except PlanInputError as error:
        problems.extend(error.problems)
    try:
        requests = parse_deployments(deployments, catalog, sorted(hostvars))
    except PlanInputError as error:
        problems.extend(error.problems)
    if calibration is None:
        try:
            calibration = fleet_calibration(hostvars)
        except PlanInputError as error:
            problems.extend(error.problems)
    if problems:
        raise PlanInputError(problems)
    fleet = plan_fleet(requests, hosts, catalog, calibration or NONE)
    fleet.warnings[:0] = warnings
    return plan_document(fleet, catalog), fleet


def unplaced_messages(document: Mapping[str, Any]) -> Sequence[str]:
    """One line per unplaced replica, for the action's failure message."""
    return [
        f"{item['name']} (replica {item['replica']}, {item['model']}): {item['reason']}"
        for item in document["unplaced"]
    ]

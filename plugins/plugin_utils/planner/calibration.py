# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""``sovereign_calibration``: measured / predicted decode speed per device and engine, written by
playbooks/benchmark.yml from a running fleet and read by the planner, so the next plan's
predictions follow the user's own hardware (docs/planner.md, "Calibration").

    sovereign_calibration:
      benchmark: /path/to/benchmark.json      # where the factors come from
      measured_at: "2026-12-06T21:50:00Z"
      decode:
        - {device: rtx-4090, engine: llama.cpp, factor: 0.83, samples: 4}
        - {device: cpu, engine: llama.cpp, factor: 1.4, samples: 1}

``device`` is a catalog device id, or ``cpu`` for deployments decoded by the CPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ansible_collections.sovereign.stack.plugins.plugin_utils import input_rules
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.plan_errors import PlanInputError

VARIABLE = "sovereign_calibration"
KEYS = ("benchmark", "measured_at", "decode")
ENTRY_KEYS = ("device", "engine", "factor", "samples")
# A factor outside this range is a broken measurement, not a calibration.
FACTOR = input_rules.Range(0.01, 100.0)
SAMPLES = input_rules.Range(1, 1_000_000, integer=True)


@dataclass(frozen=True)
class Calibration:
    """Factors by (device, engine) and where they come from."""

    factors: Mapping[tuple[str, str], float]
    benchmark: str
    measured_at: str


NONE = Calibration({}, "", "")


def _text(where: str, value: object, problems: list[str]) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or "\n" in value:
        problems.append(f"{where}: {value!r} is not valid; expected one line of text")
        return ""
    return value


def read_calibration(raw: Any, where: str = VARIABLE) -> Calibration:
    """The checked calibration; PlanInputError naming every entry that cannot be used."""
    if raw is None:
        return NONE
    if not isinstance(raw, Mapping):
        raise PlanInputError([f"{where}: {raw!r} is not valid; expected a mapping with {', '.join(KEYS)}"])
    problems: list[str] = []
    unknown = sorted(set(map(str, raw)) - set(KEYS))
    if unknown:
        problems.append(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys are {', '.join(KEYS)}")
    entries = raw.get("decode") or []
    if not isinstance(entries, list):
        problems.append(
            f"{where}.decode: {entries!r} is not valid; expected a list of {{device, engine, factor}}"
        )
        entries = []
    factors: dict[tuple[str, str], float] = {}
    for position, entry in enumerate(entries):
        at = f"{where}.decode[{position}]"
        if not isinstance(entry, Mapping) or set(map(str, entry)) - set(ENTRY_KEYS):
            problems.append(f"{at}: {entry!r} is not valid; expected a mapping with {', '.join(ENTRY_KEYS)}")
            continue
        device, engine, factor = entry.get("device"), entry.get("engine"), entry.get("factor")
        for key, value in (("device", device), ("engine", engine)):
            problem = input_rules.token_problem(value)
            if problem is not None:
                problems.append(f"{at}.{key}: {value!r} is not valid; {problem}")
        if not FACTOR.accepts(factor):
            problems.append(f"{at}.factor: {factor!r} is not valid; expected {FACTOR.expected()}")
        samples = entry.get("samples", 1)
        if not SAMPLES.accepts(samples):
            problems.append(f"{at}.samples: {samples!r} is not valid; expected {SAMPLES.expected()}")
        if not problems:
            factors[(str(device), str(engine))] = float(factor)  # type: ignore[arg-type]  # checked by FACTOR
    benchmark = _text(f"{where}.benchmark", raw.get("benchmark"), problems)
    measured_at = _text(f"{where}.measured_at", raw.get("measured_at"), problems)
    if problems:
        raise PlanInputError(problems)
    return Calibration(factors, benchmark, measured_at)

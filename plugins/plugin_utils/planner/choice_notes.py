# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""One line per placed replica for plan.md: the way it runs, the best alternatives the search had,
and, where one of them was worth more, who took its place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ansible_collections.sovereign.stack.plugins.plugin_utils.planner import search
from ansible_collections.sovereign.stack.plugins.plugin_utils.planner.fit import Fit, Template

# Alternatives named per line.
SHOWN = 2


def _speed(tps: float | None) -> str:
    return "speed unknown" if tps is None else f"{tps:g} tok/s"


def _way(quant: str, engine: str, tps: float | None, ram_bytes: int, gpus: int) -> str:
    where = "" if not ram_bytes else (", in RAM" if not gpus else ", partly in RAM")
    return f"{quant} with {engine}, {_speed(tps)}{where}"


def _same(template: Template, fit: Fit) -> bool:
    return (
        template.engine.id == fit.engine.id
        and template.quant.id == fit.quant.id
        and template.context == fit.context
        and template.gpu_layers == fit.gpu_layers
        and template.size == len(fit.slots)
    )


def why(
    problem: search.Problem,
    decision: search.Decision,
    move: search.Move,
    holders: Mapping[str, Sequence[str]],
) -> str:
    """'Q8_0 with llama.cpp, 98 tok/s on rig, value 0.99; next: ... ; <host>'s better way went to ...'."""
    index = decision.request
    finder = problem.searches[index]
    fit = move.fit
    chosen = _way(fit.quant.id, fit.engine.id, fit.predicted_tps, fit.offloaded_bytes, len(fit.slots))
    alternatives: list[tuple[float, str, Template]] = []
    shapes: set[int] = set()
    for name in problem.eligible[index]:
        if problem.shape[name] in shapes and name != move.host:
            continue
        shapes.add(problem.shape[name])
        for template in finder.templates(problem.hosts[name])[: SHOWN + 1]:
            if not (name == move.host and _same(template, fit)):
                alternatives.append((template.value, name, template))
    alternatives.sort(key=lambda item: (-item[0], item[1]))
    line = f"{chosen} on {move.host}, value {fit.value:.2f}"
    if alternatives:
        line += "; next: " + ", ".join(
            f"{_way(t.quant.id, t.engine.id, t.predicted_tps, t.ram_bytes, t.size)} on {host} {value:.2f}"
            for value, host, t in alternatives[:SHOWN]
        )
    better = [item for item in alternatives if item[0] > fit.value + 1e-9]
    if better:
        _value, host, _template = better[0]
        me = search.label(problem.requests[index], decision.replica)
        others = [name for name in holders.get(host, []) if name != me]
        line += (
            f"; the better way on {host} went to {', '.join(others)}"
            if others
            else "; the better way would leave a replica unplaced or worth less elsewhere"
        )
    return line

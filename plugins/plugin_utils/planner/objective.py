# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""What makes one plan better than another (docs/planner.md, "Objective").

A plan is compared with another on, in this order:
  1. replicas placed, each weighted by its deployment's ``priority``;
  2. the sum of the placed replicas' values (below), weighted by priority;
  3. GPUs and bytes used, fewer first; then host names, for a deterministic choice.

A replica's value, from 0 to 1, says how useful the way it runs is:
  value = context kept x offload factor x engine factor x (w_service x service + w_quality x quality)
where service = sqrt(min(1, predicted decode tokens/s / target)) (the first tokens/s count most: 1
to 4 tok/s is the step from unusable to usable, 16 to 20 hardly matters) and quality rescales the
quantization's catalog ``quality`` from QUALITY_FLOOR..1 to 0..1 (Q2_K 0.6, Q4_K_M 0.93, Q8_0 0.99).
The context kept is planned / requested context, a replica with layers in system RAM counts
OFFLOAD_FACTOR, and each step down the engine rule table costs ENGINE_STEP. A deployment's
``prefer`` picks the weights and the target: ``balanced`` (the default) asks for a fluent stream and
weighs quality as much, so above the target the best quality wins and below it speed and quality
are traded; ``speed`` keeps rewarding tokens/s up to a much higher target; ``quality`` weighs the
quantization most.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Tokens/s at which a single stream feels immediate for chat: several times reading speed (about
# 4 words, 5-6 tokens, per second), so faster counts no more unless the deployment prefers speed.
TARGET_TPS = 20.0
SPEED_TARGET_TPS = 200.0
# (service weight, quality weight, target tokens/s) per `prefer`.
PREFERENCES: dict[str, tuple[float, float, float]] = {
    "balanced": (0.5, 0.5, TARGET_TPS),
    "speed": (0.8, 0.2, SPEED_TARGET_TPS),
    "quality": (0.1, 0.9, TARGET_TPS),
}
# Catalog quality that counts as nothing: a model no better than a coin (the catalog's Q2_K is 0.80).
QUALITY_FLOOR = 0.5
PREFER_CHOICES = tuple(PREFERENCES)
# Without a bandwidth figure the speed is unknown: counted as half the target.
UNKNOWN_SERVICE = 0.5
# Layers in system RAM make a replica slower (in its tokens/s) and less robust (RAM is shared).
OFFLOAD_FACTOR = 0.9
# Engines later in the rule table (engine_choice.py) are a weaker fit for the platform.
ENGINE_STEP = 0.02


def replica_value(
    *,
    prefer: str,
    tps: float | None,
    quality: float,
    context: int,
    requested_context: int,
    offloaded: bool,
    attempt_index: int,
) -> float:
    """The value of one way of running a replica, from 0 to 1 (see the module docstring)."""
    service_weight, quality_weight, target = PREFERENCES[prefer]
    service = UNKNOWN_SERVICE if tps is None else math.sqrt(min(1.0, tps / target))
    kept = min(1.0, max(0.0, (quality - QUALITY_FLOOR) / (1.0 - QUALITY_FLOOR)))
    value = service_weight * service + quality_weight * kept
    value *= context / requested_context
    if offloaded:
        value *= OFFLOAD_FACTOR
    value *= max(0.0, 1.0 - ENGINE_STEP * attempt_index)
    return round(value, 9)


@dataclass(frozen=True, order=True)
class Score:
    """A plan's score; a larger score is a better plan (compared field by field)."""

    placed: int
    value: float
    # Negated resource use: fewer GPUs and bytes is better.
    gpus_saved: int
    bytes_saved: int

    def __add__(self, other: Score) -> Score:
        return Score(
            self.placed + other.placed,
            round(self.value + other.value, 9),
            self.gpus_saved + other.gpus_saved,
            self.bytes_saved + other.bytes_saved,
        )


ZERO = Score(0, 0.0, 0, 0)


def replica_score(priority: int, value: float, gpus: int, used_bytes: int) -> Score:
    """The contribution of one placed replica."""
    return Score(priority, round(priority * value, 9), -gpus, -used_bytes)

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The one exception the planner raises for bad input, carrying every problem found at once."""

from __future__ import annotations

from collections.abc import Iterable


class PlanInputError(ValueError):
    """Inventory input the planner cannot use; ``problems`` lists each one, fully described.

    The planner collects problems across all hosts and deployments before raising, so one run shows
    the user everything to fix rather than one error per attempt.
    """

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        super().__init__("\n".join(self.problems))

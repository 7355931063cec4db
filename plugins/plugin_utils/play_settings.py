# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Controller-side actions' options that fall back to collection-wide play variables."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol


class Templar(Protocol):
    """The part of Ansible's templar an action hands over."""

    def template(self, variable: Any) -> Any:
        """Render ``variable``."""


def plain(value: Any) -> Any:
    """Inventory values as plain JSON types (Ansible wraps strings, lists and dicts in tagged subclasses)."""
    return json.loads(json.dumps(value, default=str))


def setting(
    args: Mapping[str, Any],
    option: str,
    task_vars: Mapping[str, Any],
    defaults: Mapping[str, tuple[str, Any]],
    templar: Templar,
) -> Any:
    """The option if given, else its play variable (templated), else the built-in default.

    ``defaults`` maps each option to ``(play variable, built-in default)``.
    """
    if args.get(option) is not None:
        return args[option]
    variable, default = defaults[option]
    if variable in task_vars:
        value = templar.template(task_vars[variable])
        if value is not None:
            return value
    return default

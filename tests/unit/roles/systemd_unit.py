# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Reads a rendered systemd unit the way the rendering tests of every role compare it."""

from __future__ import annotations


def directives(unit: str) -> dict[str, list[str]]:
    """Every ``Key=value`` of the unit (continuation lines joined), values in order of appearance."""
    found: dict[str, list[str]] = {}
    for line in unit.replace("\\\n", " ").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key, []).append(value)
    return found

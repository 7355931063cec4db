# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Test ``wildcard_address`` (documentation: wildcard_address.yml beside this one).

Every role that opens a socket refuses an address that would listen on every interface; one test
here rather than a list of spellings in each role, so ``0:0::0`` or ``[::]`` cannot slip past one
of them.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

WILDCARD_WORDS = frozenset({"", "*", "any", "all"})
"""Spellings that servers read as "every address" but that are not IP addresses."""


def wildcard_address(value: Any) -> bool:
    """True when ``value`` would make a server listen on every address (0.0.0.0, ::, '' or '*')."""
    text = str(value).strip().strip("[]").lower()
    if text in WILDCARD_WORDS:
        return True
    try:
        return ipaddress.ip_address(text).is_unspecified
    except ValueError:
        return False


class TestModule:
    """The collection's Jinja tests."""

    def tests(self) -> dict[str, Callable[[Any], bool]]:
        """Name to function."""
        return {"wildcard_address": wildcard_address}

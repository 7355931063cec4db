# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Where the collection's modules run, written once (issue 23: the block was copied by hand).

A module lists this fragment before ``ansible.builtin.action_common_attributes`` (which describes
each attribute): fragments are merged in order and the module's own entries win, so its
``support`` values survive the generic fragment's ``N/A``.
"""

from __future__ import annotations


class ModuleDocFragment:
    """``sovereign.stack.platform``: a module that runs on the managed host."""

    DOCUMENTATION = r"""
attributes:
  platform:
    support: full
    platforms: posix
    details: Needs only Python's standard library on the host (Linux or macOS).
"""

    # sovereign.stack.platform.controller: a module that plans or reports for the whole fleet.
    CONTROLLER = r"""
attributes:
  platform:
    support: full
    platforms: all
    details: Runs on the controller only; use it with C(run_once) (and C(delegate_to=localhost)).
"""

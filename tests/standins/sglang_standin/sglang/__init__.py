# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Stand-in for the ``sglang`` package (test-only, not SGLang).

tests/standins/build_standins.py builds it into a wheel named ``sglang`` at the version
catalogs/engines.yml pins, so ``pip install --no-index --find-links <dir> sglang==<version>``
resolves it exactly as it would the real wheel. ``python -m sglang.launch_server`` is the only
entry point.
"""

from __future__ import annotations

STANDIN = True

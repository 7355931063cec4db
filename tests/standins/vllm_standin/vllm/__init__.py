# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Stand-in for the ``vllm`` package (test-only, not vLLM).

tests/standins/build_standins.py builds it into a wheel named ``vllm`` at the version
catalogs/engines.yml pins, so ``pip install --no-index --find-links <dir> vllm==<version>`` resolves
it exactly as it would the real wheel. It installs the ``vllm`` console script; see
``vllm.standin_cli``.
"""

from __future__ import annotations

STANDIN = True

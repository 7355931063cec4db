# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""The engines the planner can start: those engine_argv.py has a command line for.

The deployment reader (plan_inputs.py) and the eligibility rules need these names only; they read
them here, so neither imports the command-line builders. engine_argv.py keys its builders by these
names (tests/unit/plugins/plugin_utils/test_engine_names.py checks that the two agree).
"""

from __future__ import annotations

ENGINES_WITH_ARGV: tuple[str, ...] = ("vllm", "sglang", "llama.cpp", "ollama", "mlx-lm")

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Stand-in for vLLM's ``vllm serve`` command line (test-only).

``vllm serve MODEL [--served-model-name NAME] [--host H] [--port P] ...`` prints its argv, then
serves ``GET /health`` and ``GET /v1/models`` (listing NAME, or MODEL when no name is given, as vLLM
does). Every other flag is accepted and ignored.
"""

from __future__ import annotations

import sys
from typing import List, Optional

from vllm._standin_http import option, serve_models


def main(argv: Optional[List[str]] = None) -> None:
    """Entry point of the ``vllm`` console script."""
    words = sys.argv[1:] if argv is None else argv
    if len(words) < 2 or words[0] != "serve":
        print("vllm stand-in: only 'vllm serve MODEL ...' is implemented", file=sys.stderr)
        raise SystemExit(2)
    model = words[1]
    serve_models(
        "vllm",
        ["vllm", *words],
        model_path=model,
        served_name=option(words, "--served-model-name", model),
        host=option(words, "--host", "127.0.0.1"),
        port=int(option(words, "--port", "8000")),
    )

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Stand-in for SGLang's ``python -m sglang.launch_server`` (test-only).

``--model-path MODEL [--served-model-name NAME] [--host H] [--port P] ...`` prints its argv, then
serves ``GET /health`` and ``GET /v1/models`` (listing NAME, or MODEL when no name is given, as
SGLang does). Every other flag is accepted and ignored.
"""

from __future__ import annotations

import sys

from sglang._standin_http import option, serve_models

if __name__ == "__main__":
    words = sys.argv[1:]
    model = option(words, "--model-path", "")
    if not model:
        print("sglang stand-in: --model-path is required", file=sys.stderr)
        raise SystemExit(2)
    serve_models(
        "sglang",
        ["python", "-m", "sglang.launch_server", *words],
        model_path=model,
        served_name=option(words, "--served-model-name", model),
        host=option(words, "--host", "127.0.0.1"),
        port=int(option(words, "--port", "30000")),
    )

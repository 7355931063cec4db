# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Stand-in HTTP front of an OpenAI-compatible engine, shared by the vLLM and SGLang stand-ins.

Test-only. tests/standins/build_standins.py copies this file into each stand-in wheel as
``<package>/_standin_http.py``. It answers only what the engine role and its tests ask:
``GET /health`` and ``GET /v1/models`` listing the one served model, on the host and port given.
It runs on the test host's Python (3.8+, standard library only).
"""

from __future__ import annotations

import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List


def serve_models(
    engine: str, argv: List[str], *, model_path: str, served_name: str, host: str, port: int
) -> None:
    """Print argv, refuse a missing model like the real engine, then serve until killed."""
    print(f"{engine} stand-in argv: {json.dumps(argv)}", flush=True)
    if not os.path.exists(model_path):
        print(f"{engine} stand-in: model path {model_path} does not exist", file=sys.stderr, flush=True)
        raise SystemExit(1)
    listing: Dict[str, object] = {
        "object": "list",
        "data": [{"id": served_name, "object": "model", "owned_by": engine, "root": model_path}],
    }

    class Handler(BaseHTTPRequestHandler):
        """GET /health and GET /v1/models; everything else is 404."""

        def do_GET(self) -> None:
            if self.path == "/health":
                self._reply(200, b"")
            elif self.path == "/v1/models":
                self._reply(200, json.dumps(listing).encode())
            else:
                self._reply(404, b'{"error": "not served by the stand-in"}')

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer((host, port), Handler).serve_forever()


def option(argv: List[str], flag: str, default: str) -> str:
    """The value after ``flag`` in ``argv`` (``--flag value`` or ``--flag=value``)."""
    for index, word in enumerate(argv):
        if word == flag and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith(flag + "="):
            return word.split("=", 1)[1]
    return default

# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Test helper: ``python stdio_recorder.py LOG -- COMMAND ARGS...`` runs the real downstream server
and passes stdio through unchanged, appending the tool name of every tools/call it forwards to LOG.

The end-to-end tests put it between the gateway and the real servers, to prove that a denied call
never reached the downstream server at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading


def _pump_stdout(child: subprocess.Popen[bytes]) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()


def main() -> int:
    """Run the wrapped server until its stdin closes; return its exit status."""
    log_path, separator, *command = sys.argv[1:]
    if separator != "--" or not command:
        print("usage: stdio_recorder.py LOG -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None
    threading.Thread(target=_pump_stdout, args=(child,), daemon=True).start()
    with open(log_path, "a", encoding="utf-8") as log:
        for line in sys.stdin.buffer:
            try:
                message = json.loads(line)
            except ValueError:
                message = None
            if isinstance(message, dict) and message.get("method") == "tools/call":
                log.write(json.dumps({"tool": message.get("params", {}).get("name")}) + "\n")
                log.flush()
            child.stdin.write(line)
            child.stdin.flush()
    child.stdin.close()
    return child.wait()


if __name__ == "__main__":
    sys.exit(main())

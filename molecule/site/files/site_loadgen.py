# SPDX-License-Identifier: Apache-2.0
# Copyright: (c) 2026, sovereign.stack contributors
"""Load generator of the site scenario's rolling restart, run on the tailnet peer.

Sends one chat completion every 100 ms to URL through the TLS proxy (trusting CA, with the bearer
token read from TOKEN_FILE) until STOP_FILE exists, then writes a JSON summary to OUT: requests
sent, answered (200 with tokens), failed, the first failures, the slowest answer and the answers
slower than a second. A request gets TIMEOUT seconds: llama-server holds requests it accepts after
SIGTERM until it exits (about 11 s on the test machine), when the proxy hands them to a peer, so
a shorter client timeout would count as failed a request the fleet did answer. Standard library
only: the peer is a plain Debian host.

Usage: python3 site_loadgen.py URL CA TOKEN_FILE OUT STOP_FILE
"""

from __future__ import annotations

import json
import ssl
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

INTERVAL = 0.1
TIMEOUT = 60
SLOW = 1.0
BODY = json.dumps(
    {
        "model": "tiny-chat",
        "messages": [{"role": "user", "content": "hello"}],
        "max_tokens": 4,
        "ignore_eos": True,
        "temperature": 0,
    }
).encode()


def one_request(url: str, context: ssl.SSLContext, token: str) -> str:
    """An empty string when the request was answered with tokens, else what went wrong."""
    request = urllib.request.Request(
        url,
        data=BODY,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT, context=context) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}"
    except (OSError, ValueError) as error:
        return repr(error)
    if answer.get("usage", {}).get("completion_tokens", 0) > 0:
        return ""
    return f"no tokens: {answer!r}"[:200]


def main() -> None:
    url, ca, token_file, out, stop = sys.argv[1:6]
    context = ssl.create_default_context(cafile=ca)
    token = Path(token_file).read_text(encoding="utf-8").strip()
    sent = answered = 0
    failures: list[str] = []
    slow: list[str] = []
    slowest = 0.0
    started = time.monotonic()
    due = started
    while not Path(stop).exists():
        sent_at = time.monotonic()
        problem = one_request(url, context, token)
        took = time.monotonic() - sent_at
        slowest = max(slowest, took)
        if took > SLOW:
            slow.append(f"{sent_at - started:.1f}s took {took:.1f}s")
        sent += 1
        if problem:
            failures.append(f"{time.monotonic() - started:.1f}s {problem}")
        else:
            answered += 1
        # After a slow answer the next request goes at once, without catching up on the missed
        # ones: a burst would only meet the proxy's rate limit.
        due = max(due + INTERVAL, time.monotonic())
        time.sleep(max(0.0, due - time.monotonic()))
    summary = {
        "sent": sent,
        "answered": answered,
        "failed": len(failures),
        "seconds": round(time.monotonic() - started, 1),
        "first_failures": failures[:20],
        "slowest_s": round(slowest, 3),
        "slower_than_1s": slow[:20],
    }
    Path(out).write_text(json.dumps(summary) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
